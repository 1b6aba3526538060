// Session state invariants through the C API, bit for bit, on every fixture model:
//   save → load into a fresh session → continue  ≡  never having stopped (buffer and file);
//   a state loaded into another handle of the same model directory continues identically;
//   clone ≡ original, and the two are independent afterwards;
//   copy_state snapshot → detour → copy_state back ≡ never having taken the detour (rollback);
//   reset ≡ a fresh session;
//   four threads feeding their own sessions of one shared model at once ≡ the single-threaded run,
//   each thread seeing only its own last error;
//   a state saved without logits (XLSTM_LOGITS_NONE) restores without logits and continues;
//   across processes: this program re-executes itself — process 1 feeds half the tokens, saves the
//   state to a file and records the logits of an uninterrupted run; process 2 loads the file,
//   continues, and compares bit for bit.
//
// Usage: test_state [FIXTURES_DIR]
//        test_state --child-save FIXTURES_DIR FIXTURE STATE_FILE     (process 1)
//        test_state --child-resume FIXTURES_DIR FIXTURE STATE_FILE   (process 2)

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

// The logits after every token of an uninterrupted run: rows [n_tokens, vocab].
typedef struct {
    fixture f;
    xlstm_model *model;
    float *rows;
} run;

static const float *row(const run *r, size_t t) { return r->rows + t * r->f.vocab_size; }

static int open_run(run *r, const char *name) {
    memset(r, 0, sizeof *r);
    if (!fixture_open(&r->f, name)) return 0;
    r->model = load_fixture_model(name, NULL);
    if (!r->model) return 0;
    r->rows = malloc(r->f.n_tokens * r->f.vocab_size * sizeof(float));
    xlstm_session *session = new_session(r->model);
    for (size_t t = 0; session && t < r->f.n_tokens; t++) {
        CHECK_STATUS(xlstm_session_feed_token(session, r->f.tokens[t]), XLSTM_OK);
        CHECK_STATUS(xlstm_session_copy_logits(session, r->rows + t * r->f.vocab_size, r->f.vocab_size), XLSTM_OK);
    }
    xlstm_session_free(session);
    return session != NULL;
}

static void close_run(run *r) {
    free(r->rows);
    xlstm_model_free(r->model);
    fixture_close(&r->f);
}

// The session's current logits equal row t of the uninterrupted run, bit for bit.
static int logits_are_row(const xlstm_session *session, const run *r, size_t t) {
    const float *logits = xlstm_session_logits(session);
    return logits && memcmp(logits, row(r, t), r->f.vocab_size * sizeof(float)) == 0;
}

// Feeds tokens [from, to) one by one; every row must equal the uninterrupted run's bit for bit.
static int continues_identically(xlstm_session *session, const run *r, size_t from, size_t to, const char *what) {
    for (size_t t = from; t < to; t++) {
        CHECK_STATUS(xlstm_session_feed_token(session, r->f.tokens[t]), XLSTM_OK);
        if (!logits_are_row(session, r, t)) {
            CHECK(0, "%s: %s: logits after token %zu differ from the uninterrupted run", r->f.name, what, t);
            return 0;
        }
    }
    CHECK(xlstm_session_n_tokens(session) == (int64_t)to, "%s: %s: n_tokens %lld, expected %zu", r->f.name, what,
          (long long)xlstm_session_n_tokens(session), to);
    return 1;
}

// A session of r's model that has consumed the first k tokens one at a time, as the uninterrupted
// run did. (xlstm_session_feed_tokens prefills a span in parallel: the same state "up to float
// rounding", so it is not used where bit-identity with the token-by-token run is asserted.)
static xlstm_session *session_at(const run *r, size_t k) {
    xlstm_session *session = new_session(r->model);
    for (size_t t = 0; session && t < k; t++) CHECK_STATUS(xlstm_session_feed_token(session, r->f.tokens[t]), XLSTM_OK);
    return session;
}

// Logits of a and b are both absent or equal bit for bit.
static int same_logits(const xlstm_session *a, const xlstm_session *b, size_t vocab) {
    const float *x = xlstm_session_logits(a), *y = xlstm_session_logits(b);
    return (!x && !y) || (x && y && memcmp(x, y, vocab * sizeof(float)) == 0);
}

static char scratch_dir[1024];
static const char *current_name;
static void (*current_body)(const run *);

// --- the invariants, each for one fixture ---------------------------------------------------------

static void save_load_continue(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_session *original = session_at(r, k);
    state_blob blob = snapshot(original);

    // Into a fresh session, and into one with other history (it is replaced).
    for (int dirty = 0; dirty <= 1; dirty++) {
        xlstm_session *restored = new_session(r->model);
        if (dirty) CHECK_STATUS(xlstm_session_feed_tokens(restored, r->f.tokens + 1, 3, XLSTM_LOGITS_NONE), XLSTM_OK);
        CHECK_STATUS(xlstm_session_load_state(restored, blob.bytes, blob.size), XLSTM_OK);
        CHECK(xlstm_session_n_tokens(restored) == (int64_t)k, "restored n_tokens %lld",
              (long long)xlstm_session_n_tokens(restored));
        CHECK(logits_are_row(restored, r, k - 1), "%s: restored logits differ from the saved ones", r->f.name);
        CHECK(unchanged(restored, blob), "%s: a restored session saves a different blob", r->f.name);
        continues_identically(restored, r, k, n, dirty ? "load into a used session" : "load into a fresh session");
        xlstm_session_free(restored);
    }
    continues_identically(original, r, k, n, "the saved session itself");
    free(blob.bytes);
    xlstm_session_free(original);
}

static void file_round_trip(const run *r) {
    size_t n = r->f.n_tokens, k = n / 3;
    char path[1024 + 256 + 64];
    snprintf(path, sizeof path, "%s/%s.state", scratch_dir, r->f.name);
    xlstm_session *original = session_at(r, k);
    CHECK_STATUS(xlstm_session_save_state_file(original, path), XLSTM_OK);
    xlstm_session_free(original);

    xlstm_session *restored = new_session(r->model);
    CHECK_STATUS(xlstm_session_load_state_file(restored, path), XLSTM_OK);
    CHECK(logits_are_row(restored, r, k - 1), "%s: logits restored from the file differ", r->f.name);
    continues_identically(restored, r, k, n, "load_state_file");
    xlstm_session_free(restored);
    unlink(path);
}

static void state_moves_between_model_handles(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_model *second = load_fixture_model(r->f.name, NULL);
    if (!second) return;
    xlstm_session *original = session_at(r, k);
    state_blob blob = snapshot(original);
    xlstm_session *elsewhere = new_session(second);
    CHECK_STATUS(xlstm_session_load_state(elsewhere, blob.bytes, blob.size), XLSTM_OK);
    continues_identically(elsewhere, r, k, n, "load into a second model handle");
    free(blob.bytes);
    xlstm_session_free(elsewhere);
    xlstm_session_free(original);
    xlstm_model_free(second);
}

static void clone_equals_original(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_session *original = session_at(r, k);
    xlstm_session *clone = NULL;
    CHECK_STATUS(xlstm_session_clone(original, &clone), XLSTM_OK);
    if (!clone) return;
    state_blob a = snapshot(original), b = snapshot(clone);
    CHECK(same_blob(a, b), "%s: the clone saves a different blob", r->f.name);
    CHECK(xlstm_session_model(clone) == r->model, "the clone's model differs");
    CHECK(logits_are_row(clone, r, k - 1), "%s: the clone's logits differ", r->f.name);

    // Independent: the clone takes a detour; the original continues undisturbed, and vice versa.
    CHECK_STATUS(xlstm_session_feed_token(clone, (r->f.tokens[k] + 1) % (int32_t)r->f.vocab_size), XLSTM_OK);
    continues_identically(original, r, k, n, "original after its clone diverged");
    xlstm_session *second = NULL;
    CHECK_STATUS(xlstm_session_clone(clone, &second), XLSTM_OK);
    xlstm_session_free(clone);  // a clone outlives the session it was cloned from
    CHECK_STATUS(xlstm_session_feed_token(second, 0), XLSTM_OK);
    xlstm_session_free(second);
    free(a.bytes);
    free(b.bytes);
    xlstm_session_free(original);
}

static void copy_state_rolls_back(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_session *session = session_at(r, k);
    xlstm_session *checkpoint = new_session(r->model);
    CHECK_STATUS(xlstm_session_copy_state(checkpoint, session), XLSTM_OK);
    CHECK(xlstm_session_n_tokens(checkpoint) == (int64_t)k, "checkpoint n_tokens %lld",
          (long long)xlstm_session_n_tokens(checkpoint));
    // A detour: some real tokens, then some others, ending without logits.
    const float *logits_before = xlstm_session_logits(session);
    CHECK_STATUS(xlstm_session_feed_tokens(session, r->f.tokens + k, n - k < 5 ? n - k : 5, XLSTM_LOGITS_LAST), XLSTM_OK);
    int32_t detour[3] = {0, 1, 2};
    CHECK_STATUS(xlstm_session_feed_tokens(session, detour, 3, XLSTM_LOGITS_NONE), XLSTM_OK);
    // Roll back without allocating: the logits pointer stays the session's own buffer.
    CHECK_STATUS(xlstm_session_copy_state(session, checkpoint), XLSTM_OK);
    CHECK(xlstm_session_n_tokens(session) == (int64_t)k, "n_tokens %lld after rollback",
          (long long)xlstm_session_n_tokens(session));
    CHECK(xlstm_session_logits(session) == logits_before, "rollback moved the logits buffer");
    CHECK(logits_are_row(session, r, k - 1), "%s: logits after rollback differ", r->f.name);
    continues_identically(session, r, k, n, "after copy_state rollback");
    continues_identically(checkpoint, r, k, n, "the checkpoint itself");
    xlstm_session_free(checkpoint);
    xlstm_session_free(session);
}

static void reset_equals_fresh(const run *r) {
    xlstm_session *fresh = new_session(r->model);
    state_blob initial = snapshot(fresh);
    xlstm_session *used = session_at(r, r->f.n_tokens / 2);
    CHECK_STATUS(xlstm_session_reset(used), XLSTM_OK);
    CHECK(xlstm_session_n_tokens(used) == 0 && xlstm_session_logits(used) == NULL, "reset left history behind");
    CHECK(unchanged(used, initial), "%s: a reset session saves a different blob from a fresh one", r->f.name);
    continues_identically(used, r, 0, r->f.n_tokens, "after reset");
    continues_identically(fresh, r, 0, r->f.n_tokens, "a fresh session");
    free(initial.bytes);
    xlstm_session_free(used);
    xlstm_session_free(fresh);
}

static void state_without_logits(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_session *original = new_session(r->model);
    CHECK_STATUS(xlstm_session_feed_tokens(original, r->f.tokens, k, XLSTM_LOGITS_NONE), XLSTM_OK);
    state_blob blob = snapshot(original);
    xlstm_session *restored = session_at(r, 3);
    CHECK_STATUS(xlstm_session_load_state(restored, blob.bytes, blob.size), XLSTM_OK);
    CHECK(xlstm_session_logits(restored) == NULL, "a state saved without logits restored some");
    CHECK(xlstm_session_n_tokens(restored) == (int64_t)k, "n_tokens %lld", (long long)xlstm_session_n_tokens(restored));
    // Restored and original continue side by side, token by token, identically.
    for (size_t t = k; t < n; t++) {
        CHECK_STATUS(xlstm_session_feed_token(original, r->f.tokens[t]), XLSTM_OK);
        CHECK_STATUS(xlstm_session_feed_token(restored, r->f.tokens[t]), XLSTM_OK);
        if (!same_logits(original, restored, r->f.vocab_size)) {
            CHECK(0, "%s: logits after token %zu differ between the original and the restored session", r->f.name, t);
            break;
        }
    }
    free(blob.bytes);
    xlstm_session_free(restored);
    xlstm_session_free(original);
}

// The parallel prefill path is deterministic too: prefill to k, save, load elsewhere, and both
// sessions prefill the rest in the same spans with identical logits after every span.
static void prefill_save_load_continue(const run *r) {
    size_t n = r->f.n_tokens, k = n / 2;
    xlstm_session *original = new_session(r->model);
    CHECK_STATUS(xlstm_session_feed_tokens(original, r->f.tokens, k, XLSTM_LOGITS_LAST), XLSTM_OK);
    state_blob blob = snapshot(original);
    xlstm_session *restored = new_session(r->model);
    CHECK_STATUS(xlstm_session_load_state(restored, blob.bytes, blob.size), XLSTM_OK);
    CHECK(same_logits(original, restored, r->f.vocab_size), "%s: restored logits differ", r->f.name);
    for (size_t start = k, span = 7; start < n; start += span) {
        size_t count = span < n - start ? span : n - start;
        CHECK_STATUS(xlstm_session_feed_tokens(original, r->f.tokens + start, count, XLSTM_LOGITS_LAST), XLSTM_OK);
        CHECK_STATUS(xlstm_session_feed_tokens(restored, r->f.tokens + start, count, XLSTM_LOGITS_LAST), XLSTM_OK);
        if (!same_logits(original, restored, r->f.vocab_size)) {
            CHECK(0, "%s: logits after the span ending at %zu differ", r->f.name, start + count - 1);
            break;
        }
    }
    state_blob a = snapshot(original), b = snapshot(restored);
    CHECK(same_blob(a, b), "%s: the two sessions end in different states", r->f.name);
    free(a.bytes);
    free(b.bytes);
    free(blob.bytes);
    xlstm_session_free(restored);
    xlstm_session_free(original);
}

// Four threads share one model; each feeds its own session and compares every row with the
// single-threaded run, and checks that a failure on another thread does not change its last error.
typedef struct {
    const run *r;
    int thread_index;
    int mismatches;
    int wrong_messages;
} worker_result;

static void *concurrent_worker(void *argument) {
    worker_result *result = argument;
    const run *r = result->r;
    xlstm_session *session = NULL;
    if (xlstm_session_create(r->model, &session) != XLSTM_OK) {
        result->mismatches = -1;
        return NULL;
    }
    // This thread's own failure, with its index in the token id.
    int32_t bad = -1000 - result->thread_index;
    char expected[32];
    snprintf(expected, sizeof expected, "%d", (int)bad);
    for (size_t t = 0; t < r->f.n_tokens; t++) {
        if (xlstm_session_feed_token(session, r->f.tokens[t]) != XLSTM_OK) result->mismatches++;
        const float *logits = xlstm_session_logits(session);
        if (!logits || memcmp(logits, row(r, t), r->f.vocab_size * sizeof(float)) != 0) result->mismatches++;
        if (t % 8 == 0) {
            xlstm_session_feed_token(session, bad);  // fails, changes nothing
            if (!strstr(xlstm_last_error_message(), expected)) result->wrong_messages++;
        }
    }
    xlstm_session_free(session);
    return NULL;
}

static void concurrent_sessions_share_a_model(const run *r) {
    enum { n_workers = 4 };
    pthread_t threads[n_workers];
    worker_result results[n_workers];
    for (int i = 0; i < n_workers; i++) {
        results[i] = (worker_result){r, i, 0, 0};
        CHECK(pthread_create(&threads[i], NULL, concurrent_worker, &results[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < n_workers; i++) {
        pthread_join(threads[i], NULL);
        CHECK(results[i].mismatches == 0, "%s: thread %d: %d rows differ from the single-threaded run", r->f.name, i,
              results[i].mismatches);
        CHECK(results[i].wrong_messages == 0, "%s: thread %d saw another thread's last error %d times", r->f.name, i,
              results[i].wrong_messages);
    }
}

// --- across processes -------------------------------------------------------------------------

// The first half of the tokens is fed before the save; the expected logits of the rest, and of
// the last token before the save, are written next to the state file (STATE_FILE.expected).
static size_t split_point(const fixture *f) { return f->n_tokens / 2; }

static int child_save(const char *name, const char *state_path) {
    run r;
    if (!open_run(&r, name)) return 2;
    size_t k = split_point(&r.f);
    xlstm_session *session = session_at(&r, k);
    int ok = session && xlstm_session_save_state_file(session, state_path) == XLSTM_OK;
    char expected_path[4096 + 16];
    snprintf(expected_path, sizeof expected_path, "%s.expected", state_path);
    ok = ok && write_whole_file(expected_path, row(&r, k - 1), (r.f.n_tokens - k + 1) * r.f.vocab_size * sizeof(float));
    if (!ok) printf("  child-save %s: %s\n", name, xlstm_last_error_message());
    xlstm_session_free(session);
    close_run(&r);
    return ok && case_checks_failed == 0 ? 0 : 1;
}

static int child_resume(const char *name, const char *state_path) {
    fixture f;
    if (!fixture_open(&f, name)) return 2;
    char expected_path[4096 + 16];
    snprintf(expected_path, sizeof expected_path, "%s.expected", state_path);
    size_t k = split_point(&f), size = 0;
    float *expected = read_whole_file(expected_path, &size);  // rows k-1 … n-1
    xlstm_model *model = load_fixture_model(name, NULL);
    xlstm_session *session = model ? new_session(model) : NULL;
    int ok = expected && size == (f.n_tokens - k + 1) * f.vocab_size * sizeof(float) && session &&
             xlstm_session_load_state_file(session, state_path) == XLSTM_OK;
    if (!ok) printf("  child-resume %s: cannot restore: %s\n", name, xlstm_last_error_message());
    const float *logits = session ? xlstm_session_logits(session) : NULL;
    if (ok && (!logits || memcmp(logits, expected, f.vocab_size * sizeof(float)) != 0)) {
        printf("  child-resume %s: the restored logits differ from process 1's\n", name);
        ok = 0;
    }
    for (size_t t = k; ok && t < f.n_tokens; t++) {
        ok = xlstm_session_feed_token(session, f.tokens[t]) == XLSTM_OK && (logits = xlstm_session_logits(session)) &&
             memcmp(logits, expected + (t - k + 1) * f.vocab_size, f.vocab_size * sizeof(float)) == 0;
        if (!ok) printf("  child-resume %s: logits after token %zu differ from process 1's uninterrupted run\n", name, t);
    }
    xlstm_session_free(session);
    xlstm_model_free(model);
    free(expected);
    fixture_close(&f);
    return ok && case_checks_failed == 0 ? 0 : 1;
}

// This program, to run again: argv[0] when it names a path (under valgrind /proc/self/exe would be
// valgrind itself), else /proc/self/exe.
static const char *self = "/proc/self/exe";

// Runs this program again as `mode`; returns its exit status (or -1).
static int run_child(const char *mode, const char *name, const char *state_path) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *const arguments[] = {"test_state", (char *)mode, (char *)fixtures_dir, (char *)name,
                                   (char *)state_path, NULL};
        execv(self, arguments);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void across_processes(const run *r) {
    char path[1024 + 256 + 64];
    snprintf(path, sizeof path, "%s/%s.cross.state", scratch_dir, r->f.name);
    int saved = run_child("--child-save", r->f.name, path);
    CHECK(saved == 0, "%s: process 1 (save) exited with %d", r->f.name, saved);
    if (saved != 0) return;
    int resumed = run_child("--child-resume", r->f.name, path);
    CHECK(resumed == 0, "%s: process 2 (resume) exited with %d", r->f.name, resumed);
    // The file is also what this process would have saved.
    xlstm_session *here = session_at(r, split_point(&r->f));
    state_blob blob = snapshot(here);
    size_t size = 0;
    unsigned char *file = read_whole_file(path, &size);
    CHECK(file && size == blob.size && memcmp(file, blob.bytes, size) == 0,
          "%s: process 1 saved a different blob than this process does", r->f.name);
    free(file);
    free(blob.bytes);
    xlstm_session_free(here);
    unlink(path);
    char expected_path[1024 + 256 + 96];
    snprintf(expected_path, sizeof expected_path, "%s.expected", path);
    unlink(expected_path);
}

// ----------------------------------------------------------------------------------------------

static void run_current(void) {
    run r;
    if (open_run(&r, current_name)) current_body(&r);
    close_run(&r);
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int main(int argc, char **argv) {
    if (argc == 5 && strncmp(argv[1], "--child-", 8) == 0) {
        program_name = argv[1] + 2;
        fixtures_dir = argv[2];
        return strcmp(argv[1], "--child-save") == 0 ? child_save(argv[3], argv[4]) : child_resume(argv[3], argv[4]);
    }
    parse_common_arguments("test_state", argc, argv);
    if (strchr(argv[0], '/')) self = argv[0];
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/xlstm-test-state-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        return 1;
    }

    char names[64][256];
    size_t n_names = 0;
    DIR *dir = opendir(fixtures_dir);
    for (struct dirent *entry; dir && (entry = readdir(dir)) != NULL && n_names < 64;) {
        size_t size = 0;
        void *probe = entry->d_name[0] == '.' ? NULL : read_whole_file(fixture_path(entry->d_name, "tokens.i32"), &size);
        if (probe) snprintf(names[n_names++], sizeof names[0], "%s", entry->d_name);
        free(probe);
    }
    if (dir) closedir(dir);
    qsort(names, n_names, sizeof names[0], by_name);

    struct {
        const char *name;
        void (*body)(const run *);
        int every_fixture;  // else only the first paper and first 7B-family fixture
    } const cases[] = {
        {"save_load_continue", save_load_continue, 1},
        {"file_round_trip", file_round_trip, 1},
        {"state_moves_between_model_handles", state_moves_between_model_handles, 0},
        {"clone_equals_original", clone_equals_original, 1},
        {"copy_state_rolls_back", copy_state_rolls_back, 1},
        {"reset_equals_fresh", reset_equals_fresh, 1},
        {"state_without_logits", state_without_logits, 0},
        {"prefill_save_load_continue", prefill_save_load_continue, 1},
        {"concurrent_sessions_share_a_model", concurrent_sessions_share_a_model, 0},
        {"across_processes", across_processes, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int paper_done = 0, large_done = 0;
        for (size_t i = 0; i < n_names; i++) {
            int paper = strncmp(names[i], "paper", 5) == 0;
            if (!cases[c].every_fixture && (paper ? paper_done++ : large_done++)) continue;
            char name[320];
            snprintf(name, sizeof name, "%.60s %.255s", cases[c].name, names[i]);
            current_name = names[i];
            current_body = cases[c].body;
            run_case(name, run_current);
        }
    }
    rmdir(scratch_dir);
    if (n_names == 0) printf("FAIL test_state: no fixtures in %s\n", fixtures_dir);
    return finish();
}

// Out of memory (README "Reliability"): when the system refuses memory — here an address-space
// limit (RLIMIT_AS, what `ulimit -v` sets; strict overcommit fails the same calls) — loading a
// model, creating or cloning a session, a span feed and a batched feed return
// XLSTM_ERROR_OUT_OF_MEMORY with a message, hand back NULL handles, change no session and keep no
// memory; once the limit is lifted the same calls succeed and compute what they compute without
// ever having failed (the fixture's reference logits, or bit for bit the same process's results).
//
// Each refused call runs on a thread started before the limit is set (its stack is mapped
// already) and holding no scratch yet, so the limit only stands between that call and the memory
// it asks for. glibc's malloc is pinned to one arena and a fixed mmap threshold (128 KiB), and the
// heap's free chunks are taken before the limit is set: otherwise it would serve a request from
// address space it holds already (another thread's 64 MiB arena, a heap grown by a freed model),
// which no limit refuses. Plain build only: AddressSanitizer reserves terabytes of shadow address space,
// which RLIMIT_AS forbids.
// Usage: test_oom FIXTURES_DIR BIG_MODEL_DIR (run.sh's vocab-131072 copy of large_basic: 32 MiB
// embedding and lm_head, so its load maps a 64 MiB file and then needs 32 MiB of panels).

#define _GNU_SOURCE
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *big_model_dir;
static const xlstm_model_params *serial;   // n_threads 1: no worker threads to start under the limit
static char refusal[1024];                  // the last error message of the limited thread

// Address space of the process now (VmSize), in bytes.
static long address_space(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0;
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1) pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

// Runs `body(argument)` on a fresh thread while the address space may grow by at most `headroom`
// bytes beyond what the process holds when the limit is set; lifts the limit afterwards. With
// `fill_heap` the heap's free chunks, which serve small requests without new address space, are
// taken (1 KiB at a time) before and given back after.
typedef struct {
    void (*body)(void *);
    void *argument;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int go;
} limited_call;

static void *limited_thread(void *raw) {
    limited_call *call = raw;
    pthread_mutex_lock(&call->mutex);
    while (!call->go) pthread_cond_wait(&call->cond, &call->mutex);
    pthread_mutex_unlock(&call->mutex);
    call->body(call->argument);
    // The last error message is per thread: keep the refused call's for the checks.
    snprintf(refusal, sizeof refusal, "%s", xlstm_last_error_message());
    return NULL;
}

static void run_limited_filled(long headroom, int fill_heap, void (*body)(void *), void *argument) {
    limited_call call = {body, argument, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pthread_t thread;
    if (pthread_create(&thread, NULL, limited_thread, &call) != 0) {
        CHECK(0, "pthread_create failed");
        return;
    }
    // The heap's free chunks serve small requests without new address space: take them first.
    static void *held[8192];
    size_t n_held = 0;
    while (fill_heap && n_held < 8192 && mallinfo2().fordblks > 2048) held[n_held++] = malloc(1024);
    struct rlimit saved, limit;
    getrlimit(RLIMIT_AS, &saved);
    limit = saved;
    limit.rlim_cur = (rlim_t)(address_space() + headroom);
    CHECK(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit(RLIMIT_AS) failed");
    pthread_mutex_lock(&call.mutex);
    call.go = 1;
    pthread_cond_signal(&call.cond);
    pthread_mutex_unlock(&call.mutex);
    pthread_join(thread, NULL);
    CHECK(setrlimit(RLIMIT_AS, &saved) == 0, "lifting RLIMIT_AS failed");
    while (n_held > 0) free(held[--n_held]);
}

// With the heap's free chunks taken first (every case but the loads, which check the address space
// itself around refusals).
static void run_limited(long headroom, void (*body)(void *), void *argument) {
    run_limited_filled(headroom, 1, body, argument);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int says_out_of_memory(void) {
    return strstr(refusal, "out of memory") != NULL || strstr(refusal, "Cannot allocate memory") != NULL;
}

static void noop(void *unused) { (void)unused; }

// ---- load ----------------------------------------------------------------------------------------

typedef struct {
    xlstm_model *model;
    xlstm_status status;
} load_attempt;

static void load_big(void *raw) {
    load_attempt *attempt = raw;
    attempt->model = (xlstm_model *)0x1;   // must come back NULL
    attempt->status = xlstm_model_load(big_model_dir, serial, &attempt->model);
}

// A limit below the file's size (its mapping is refused) and one above it but below file + panels
// (the weight panels are refused): OUT_OF_MEMORY, NULL, and the address space back where it was —
// three refused loads in a row take no more than one. Then without the limit the load succeeds.
static void refused_load_keeps_nothing(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", big_model_dir);
    long size = file_size(path);
    CHECK(size > (48L << 20), "%s: %ld bytes, expected the vocab-131072 model (> 48 MiB)", path, size);
    if (size <= (48L << 20)) return;
    run_limited_filled(1L << 40, 0, noop, NULL);   // glibc keeps a finished thread's stack for the next one
    const long headrooms[] = {size / 2, size + (6L << 20)};
    for (int k = 0; k < 2; k++) {
        long before = address_space(), after_first = 0;
        for (int round = 0; round < 3; round++) {
            load_attempt attempt;
            run_limited_filled(headrooms[k], 0, load_big, &attempt);
            CHECK(attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory(), "headroom %ld MiB, round %d: %s (%s)", headrooms[k] >> 20,
                  round, xlstm_status_string(attempt.status), refusal);
            CHECK(attempt.model == NULL, "a refused load must leave *model NULL");
            if (attempt.model && attempt.model != (xlstm_model *)0x1) xlstm_model_free(attempt.model);
            if (round == 0) after_first = address_space();
        }
        long after = address_space();
        CHECK(after - before <= (2L << 20), "headroom %ld MiB: the address space grew by %ld KiB over 3 refused loads",
              headrooms[k] >> 20, (after - before) >> 10);
        CHECK(after - after_first <= (256L << 10), "refused loads 2 and 3 kept %ld KiB", (after - after_first) >> 10);
    }
    xlstm_model *model = NULL;
    CHECK_STATUS(xlstm_model_load(big_model_dir, serial, &model), XLSTM_OK);
    xlstm_model_free(model);
    snprintf(case_note, sizeof case_note, "file %ld MiB; refused at %ld and %ld MiB of headroom", size >> 20,
             headrooms[0] >> 20, headrooms[1] >> 20);
}

// ---- sessions ------------------------------------------------------------------------------------

typedef struct {
    const xlstm_model *model;
    xlstm_session *source;
    xlstm_session *made;
    xlstm_status status;
} session_attempt;

static void create_session(void *raw) {
    session_attempt *attempt = raw;
    attempt->made = (xlstm_session *)0x1;
    attempt->status = xlstm_session_create(attempt->model, &attempt->made);
}

static void clone_session(void *raw) {
    session_attempt *attempt = raw;
    attempt->made = (xlstm_session *)0x1;
    attempt->status = xlstm_session_clone(attempt->source, &attempt->made);
}

// A session whose logits (512 KiB) do not fit: create and clone are refused, the source unchanged;
// without the limit both work and the clone equals its source.
static void refused_session_and_clone(void) {
    xlstm_model *model = NULL;
    CHECK_STATUS(xlstm_model_load(big_model_dir, serial, &model), XLSTM_OK);
    if (!model) return;
    xlstm_session *source = new_session(model);
    const int32_t tokens[] = {3, 70000, 129999};
    CHECK_STATUS(xlstm_session_feed_tokens(source, tokens, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
    state_blob before = snapshot(source);
    session_attempt attempt = {model, source, NULL, XLSTM_OK};
    run_limited(64L << 10, create_session, &attempt);
    CHECK(attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory(), "create: %s (%s)",
          xlstm_status_string(attempt.status), refusal);
    CHECK(attempt.made == NULL, "a refused create must leave *session NULL");
    run_limited(64L << 10, clone_session, &attempt);
    CHECK(attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory(), "clone: %s (%s)",
          xlstm_status_string(attempt.status), refusal);
    CHECK(attempt.made == NULL, "a refused clone must leave *clone NULL");
    CHECK(unchanged(source, before), "a refused clone changed its source");
    xlstm_session *clone = NULL;
    CHECK_STATUS(xlstm_session_clone(source, &clone), XLSTM_OK);
    CHECK(clone && unchanged(clone, before), "the clone after the refused ones differs from its source");
    xlstm_session_free(clone);
    xlstm_session_free(source);
    free(before.bytes);
    xlstm_model_free(model);
}

// ---- feeds ---------------------------------------------------------------------------------------

typedef struct {
    xlstm_session *session;
    const int32_t *tokens;
    size_t n;
    xlstm_session **sessions;
    xlstm_status status;
} feed_attempt;

static void feed_span(void *raw) {
    feed_attempt *attempt = raw;
    attempt->status = xlstm_session_feed_tokens(attempt->session, attempt->tokens, attempt->n, XLSTM_LOGITS_LAST);
}

static void feed_batch(void *raw) {
    feed_attempt *attempt = raw;
    attempt->status = xlstm_batch_feed(attempt->sessions, attempt->tokens, attempt->n, XLSTM_LOGITS_LAST);
}

// large_basic's tokens as one span on a thread whose prefill scratch does not fit: refused, the
// session unchanged; then the same span fed without the limit gives the reference logits of the
// official implementation after the last token.
static void refused_prefill_changes_nothing(void) {
    fixture f;
    if (!fixture_open(&f, "large_basic")) return;
    xlstm_model *model = load_fixture_model("large_basic", serial);
    xlstm_session *session = new_session(model);
    CHECK_STATUS(xlstm_session_feed_token(session, f.tokens[0]), XLSTM_OK);
    state_blob before = snapshot(session);
    feed_attempt attempt = {session, f.tokens + 1, f.n_tokens - 1, NULL, XLSTM_OK};
    // This span's scratch (its window is its length) is below the mmap threshold: with the heap's
    // free chunks taken (run_limited) and no headroom, it is refused.
    run_limited(0, feed_span, &attempt);
    CHECK(attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory(), "span feed (%zu tokens, no headroom): %s (%s)",
          f.n_tokens - 1, xlstm_status_string(attempt.status), refusal);
    CHECK(unchanged(session, before), "a refused span feed changed the session");
    CHECK_STATUS(xlstm_session_feed_tokens(session, f.tokens + 1, f.n_tokens - 1, XLSTM_LOGITS_LAST), XLSTM_OK);
    const float *logits = xlstm_session_logits(session);
    const float *expected = f.logits + (f.n_tokens - 1) * f.vocab_size;
    double worst = 0;
    for (size_t v = 0; logits && v < f.vocab_size; v++) {
        double d = fabs((double)logits[v] - expected[v]) / (fabs(expected[v]) + 1e-2);
        if (d > worst) worst = d;
    }
    CHECK(logits && worst <= 1e-4, "after the refused feed: max rel Δlogit %.3g vs the reference", worst);
    snprintf(case_note, sizeof case_note, "a %zu-token span refused with the heap full; then Δ %.2g vs reference",
             f.n_tokens - 1, worst);
    xlstm_session_free(session);
    free(before.bytes);
    xlstm_model_free(model);
    fixture_close(&f);
}

// 16 sessions of the big model at mixed positions, batched with logits (8 MiB of batch scratch)
// under a limit of 1 MiB: refused, no session changed; without the limit the batch runs and equals,
// bit for bit, the same batch on copies that never saw a refusal.
static void refused_batch_changes_nothing(void) {
    enum { N = 16 };
    xlstm_model *model = NULL;
    CHECK_STATUS(xlstm_model_load(big_model_dir, serial, &model), XLSTM_OK);
    if (!model) return;
    xlstm_session *sessions[N], *twins[N];
    state_blob before[N];
    int32_t tokens[N];
    for (int i = 0; i < N; i++) {
        sessions[i] = new_session(model);
        for (int k = 0; k <= i % 4; k++) {
            const int32_t token = (int32_t)((i * 7919 + k * 131) % 131072);
            CHECK_STATUS(xlstm_session_feed_tokens(sessions[i], &token, 1, XLSTM_LOGITS_NONE), XLSTM_OK);
        }
        before[i] = snapshot(sessions[i]);
        CHECK_STATUS(xlstm_session_clone(sessions[i], &twins[i]), XLSTM_OK);
        tokens[i] = (int32_t)((i * 104729 + 11) % 131072);
    }
    feed_attempt attempt = {NULL, tokens, N, sessions, XLSTM_OK};
    run_limited(1L << 20, feed_batch, &attempt);
    CHECK(attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory(), "batch: %s (%s)",
          xlstm_status_string(attempt.status), refusal);
    int changed = 0;
    for (int i = 0; i < N; i++) changed += !unchanged(sessions[i], before[i]);
    CHECK(changed == 0, "a refused batch changed %d of %d sessions", changed, N);
    CHECK_STATUS(xlstm_batch_feed(sessions, tokens, N, XLSTM_LOGITS_LAST), XLSTM_OK);
    CHECK_STATUS(xlstm_batch_feed(twins, tokens, N, XLSTM_LOGITS_LAST), XLSTM_OK);
    int differ = 0;
    for (int i = 0; i < N; i++) {
        state_blob twin = snapshot(twins[i]);
        differ += !unchanged(sessions[i], twin);
        free(twin.bytes);
        free(before[i].bytes);
        xlstm_session_free(sessions[i]);
        xlstm_session_free(twins[i]);
    }
    CHECK(differ == 0, "%d of %d sessions differ from their twins after the batch", differ, N);
    xlstm_model_free(model);
}

// Every headroom from 0 to 2 MiB in 32 KiB steps for a 300-token span on a 2-thread model loaded
// anew each time: the feed's scratch and the kernels' per-thread buffers (the caller's, reserved
// with it) are refused in turn; the worker grows to the marks the caller raised before it claims
// a part (a worker refused them would claim none and leave its parts to the caller — a path this
// sweep was not seen to reach: its workers got their buffers whenever the caller got its; the
// Swift suite's KernelScratchTests reach it by fault injection). Each feed is
// OK with the state bit for bit the unlimited run's (computed after the sweep: the same on any
// thread split), or OUT_OF_MEMORY with the session unchanged.
static void span_feed_at_every_limit(void) {
    enum { STEPS = 65 };
    xlstm_model_params two = *serial;
    two.n_threads = 2;
    int32_t tokens[300];
    for (int i = 0; i < 300; i++) tokens[i] = (int32_t)((i * 7919 + 13) % 131072);
    state_blob initial = {NULL, 0}, results[STEPS];
    int accepted = 0, refused = 0, wrong = 0;
    long first_accepted = -1;
    for (int step = 0; step < STEPS; step++) {
        long headroom = step * (32L << 10);
        results[step].bytes = NULL;
        xlstm_model *model = NULL;
        if (xlstm_model_load(big_model_dir, &two, &model) != XLSTM_OK) { wrong++; continue; }
        xlstm_session *session = new_session(model);
        if (!initial.bytes) initial = snapshot(session);
        feed_attempt attempt = {session, tokens, 300, NULL, XLSTM_OK};
        run_limited(headroom, feed_span, &attempt);
        if (attempt.status == XLSTM_OK) {
            accepted++;
            if (first_accepted < 0) first_accepted = headroom;
            results[step] = snapshot(session);
        } else if (attempt.status == XLSTM_ERROR_OUT_OF_MEMORY && says_out_of_memory()) {
            refused++;
            if (!unchanged(session, initial)) { wrong++; CHECK(0, "headroom %ld KiB: refused, but the session changed", headroom >> 10); }
        } else {
            wrong++;
            CHECK(0, "headroom %ld KiB: %s (%s)", headroom >> 10, xlstm_status_string(attempt.status), refusal);
        }
        xlstm_session_free(session);
        xlstm_model_free(model);
    }
    xlstm_model *model = NULL;
    CHECK_STATUS(xlstm_model_load(big_model_dir, &two, &model), XLSTM_OK);
    if (model) {
        xlstm_session *reference = new_session(model);
        CHECK_STATUS(xlstm_session_feed_tokens(reference, tokens, 300, XLSTM_LOGITS_LAST), XLSTM_OK);
        for (int step = 0; step < STEPS; step++) {
            if (results[step].bytes && !unchanged(reference, results[step])) {
                wrong++;
                CHECK(0, "headroom %ld KiB: accepted, but not the unlimited result", step * 32L);
            }
            free(results[step].bytes);
        }
        xlstm_session_free(reference);
        xlstm_model_free(model);
    }
    CHECK(accepted > 0 && refused > 0, "%d accepted, %d refused: the sweep did not cross the feed's needs", accepted, refused);
    snprintf(case_note, sizeof case_note, "%d refused, %d accepted (from %ld KiB of headroom), %d wrong", refused, accepted,
             first_accepted >> 10, wrong);
    free(initial.bytes);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_oom", argc, argv);
    big_model_dir = argc > 2 ? argv[2] : NULL;
    if (!big_model_dir) {
        fprintf(stderr, "usage: test_oom FIXTURES_DIR BIG_MODEL_DIR\n");
        return 2;
    }
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 << 10);   // also stops the threshold from rising after frees
    static xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.n_threads = 1;
    serial = &params;
    RUN(refused_load_keeps_nothing);
    RUN(refused_session_and_clone);
    RUN(refused_prefill_changes_nothing);
    RUN(refused_batch_changes_nothing);
    RUN(span_feed_at_every_limit);
    return finish();
}

// Sampler state and batched sampling through the C API. Expected tokens are always those of the
// same objects run without interruption, or of single calls (invariants, not reference values):
//   save a session and its sampler mid-generation → restore both into fresh objects (a sampler
//   created with other options) → the next 100 sampled tokens equal the uninterrupted run's; the
//   restored sampler saves the same blob; a sampler NOT restored draws other tokens (the check bites);
//   the same through files (atomic: no temporary file is left behind);
//   xlstm_sampler_sample_batch over N = 1, 3, 17, 64 sessions at mixed positions ≡ N single
//   xlstm_sampler_sample calls, frame after frame; a session repeated at several indices;
//   a rejected batch (NULL element, repeated sampler, session without logits) names the index,
//   advances no sampler and writes no token.
//
// Usage: test_sampler [FIXTURES_DIR]

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <unistd.h>

#include "check.h"

static char scratch_dir[1024];

// Hot sampling with both penalties and a 7-token window (it wraps), so the generator position and
// the history both decide the tokens.
static xlstm_sampler *hot_sampler(uint64_t seed) {
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = seed;
    params.temperature = 1.3f;
    params.top_k = 0;
    params.top_p = 0.98f;
    params.min_p = 0;
    params.repetition_penalty = 1.7f;
    params.presence_penalty = 0.8f;
    params.penalty_window = 7;
    xlstm_sampler *sampler = NULL;
    CHECK_STATUS(xlstm_sampler_create(&params, &sampler), XLSTM_OK);
    return sampler;
}

// Samples n tokens, feeding each back.
static void generate(xlstm_sampler *sampler, xlstm_session *session, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = -1;
        CHECK_STATUS(xlstm_sampler_sample(sampler, session, &out[i]), XLSTM_OK);
        CHECK_STATUS(xlstm_session_feed_token(session, out[i]), XLSTM_OK);
    }
}

typedef struct {
    unsigned char *bytes;
    size_t size;
} sampler_blob;

static sampler_blob sampler_snapshot(const xlstm_sampler *sampler) {
    sampler_blob blob = {NULL, xlstm_sampler_state_size(sampler)};
    blob.bytes = malloc(blob.size ? blob.size : 1);
    size_t written = 0;
    CHECK_STATUS(xlstm_sampler_save_state(sampler, blob.bytes, blob.size, &written), XLSTM_OK);
    CHECK(written == blob.size, "xlstm_sampler_save_state wrote %zu of %zu bytes", written, blob.size);
    return blob;
}

static int same_sampler_blob(sampler_blob a, sampler_blob b) {
    return a.size == b.size && memcmp(a.bytes, b.bytes, a.size) == 0;
}

enum { before_save = 23, after_save = 100 };

// A session of `model` after a 5-token prompt and 23 sampled tokens, with its sampler.
static void mid_generation(xlstm_model *model, const fixture *f, xlstm_session **session, xlstm_sampler **sampler) {
    *session = new_session(model);
    *sampler = hot_sampler(1234);
    CHECK_STATUS(xlstm_session_feed_tokens(*session, f->tokens, 5, XLSTM_LOGITS_LAST), XLSTM_OK);
    for (size_t i = 0; i < 5; i++) CHECK_STATUS(xlstm_sampler_accept(*sampler, f->tokens[i]), XLSTM_OK);
    int32_t warmup[before_save];
    generate(*sampler, *session, before_save, warmup);
}

static void restored_pair_continues(const char *name) {
    fixture f;
    if (!fixture_open(&f, name)) return;
    xlstm_model *model = load_fixture_model(name, NULL);
    if (!model) return;
    xlstm_session *session;
    xlstm_sampler *sampler;
    mid_generation(model, &f, &session, &sampler);
    state_blob saved_session = snapshot(session);
    sampler_blob saved_sampler = sampler_snapshot(sampler);
    int32_t expected[after_save], got[after_save], unrestored[after_save];
    generate(sampler, session, after_save, expected);

    xlstm_session *resumed_session = new_session(model);
    xlstm_sampler *resumed = NULL;
    CHECK_STATUS(xlstm_sampler_create(NULL, &resumed), XLSTM_OK);  // other options: the blob carries them
    CHECK_STATUS(xlstm_session_load_state(resumed_session, saved_session.bytes, saved_session.size), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_load_state(resumed, saved_sampler.bytes, saved_sampler.size), XLSTM_OK);
    xlstm_sampler_params loaded, original;
    CHECK_STATUS(xlstm_sampler_get_params(resumed, &loaded), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_get_params(sampler, &original), XLSTM_OK);
    CHECK(memcmp(&loaded, &original, sizeof loaded) == 0 && loaded.penalty_window == 7 && loaded.seed == 1234,
          "%s: the restored sampler reports other options", name);
    generate(resumed, resumed_session, after_save, got);
    CHECK(memcmp(got, expected, sizeof got) == 0, "%s: the restored pair samples other tokens", name);
    sampler_blob a = sampler_snapshot(sampler), b = sampler_snapshot(resumed);
    CHECK(same_sampler_blob(a, b), "%s: the restored sampler saves another blob after 100 tokens", name);

    // Without the sampler's state (same options, same restored session): other tokens.
    xlstm_session *restart = new_session(model);
    xlstm_sampler *fresh = hot_sampler(1234);
    CHECK_STATUS(xlstm_session_load_state(restart, saved_session.bytes, saved_session.size), XLSTM_OK);
    generate(fresh, restart, after_save, unrestored);
    CHECK(memcmp(unrestored, expected, sizeof unrestored) != 0, "%s: an unrestored sampler gives the same tokens", name);
    snprintf(case_note, sizeof case_note, "(%s: 100 tokens after restore; sampler blob %zu bytes)", name, saved_sampler.size);

    free(a.bytes);
    free(b.bytes);
    free(saved_session.bytes);
    free(saved_sampler.bytes);
    xlstm_sampler_free(fresh);
    xlstm_sampler_free(resumed);
    xlstm_sampler_free(sampler);
    xlstm_session_free(restart);
    xlstm_session_free(resumed_session);
    xlstm_session_free(session);
    xlstm_model_free(model);
    fixture_close(&f);
}

static void restored_pair_continues_paper(void) { restored_pair_continues("paper_mixed"); }
static void restored_pair_continues_large(void) { restored_pair_continues("large_basic"); }

static int directory_entries(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) return -1;
    int n = 0;
    for (struct dirent *entry; (entry = readdir(dir));) n += strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..");
    closedir(dir);
    return n;
}

static void files_round_trip(void) {
    fixture f;
    if (!fixture_open(&f, "paper_mixed")) return;
    xlstm_model *model = load_fixture_model("paper_mixed", NULL);
    if (!model) return;
    char session_path[1100], sampler_path[1100];
    snprintf(session_path, sizeof session_path, "%s/npc.state", scratch_dir);
    snprintf(sampler_path, sizeof sampler_path, "%s/npc.sampler", scratch_dir);
    xlstm_session *session;
    xlstm_sampler *sampler;
    mid_generation(model, &f, &session, &sampler);
    CHECK_STATUS(xlstm_session_save_state_file(session, session_path), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_save_state_file(sampler, sampler_path), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_save_state_file(sampler, sampler_path), XLSTM_OK);  // replaces it
    CHECK(directory_entries(scratch_dir) == 2, "%d files in the save directory (a temporary file left?)",
          directory_entries(scratch_dir));
    int32_t expected[after_save], got[after_save];
    generate(sampler, session, after_save, expected);

    xlstm_session *resumed_session = new_session(model);
    xlstm_sampler *resumed = hot_sampler(7);
    CHECK_STATUS(xlstm_session_load_state_file(resumed_session, session_path), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_load_state_file(resumed, sampler_path), XLSTM_OK);
    generate(resumed, resumed_session, after_save, got);
    CHECK(memcmp(got, expected, sizeof got) == 0, "tokens after restoring from files differ");

    // A session file is not a sampler file: refused, the sampler unchanged.
    sampler_blob before = sampler_snapshot(resumed);
    CHECK_FAILS(xlstm_sampler_load_state_file(resumed, session_path), XLSTM_ERROR_STATE_CORRUPT);
    CHECK(strstr(xlstm_last_error_message(), session_path) != NULL, "the message does not name the file: %s",
          xlstm_last_error_message());
    sampler_blob after = sampler_snapshot(resumed);
    CHECK(same_sampler_blob(before, after), "a refused file changed the sampler");
    free(before.bytes);
    free(after.bytes);
    unlink(session_path);
    unlink(sampler_path);
    xlstm_sampler_free(resumed);
    xlstm_sampler_free(sampler);
    xlstm_session_free(resumed_session);
    xlstm_session_free(session);
    xlstm_model_free(model);
    fixture_close(&f);
}

// N sessions at mixed positions and N samplers, twice over: one set driven by sample_batch, its
// twin by single calls; 40 frames of "sample all, feed each its token".
static void batch_equals_single_calls_n(xlstm_model *model, const fixture *f, size_t n) {
    xlstm_session **batch_sessions = calloc(n, sizeof *batch_sessions), **single_sessions = calloc(n, sizeof *single_sessions);
    xlstm_sampler **batch_samplers = calloc(n, sizeof *batch_samplers), **single_samplers = calloc(n, sizeof *single_samplers);
    int32_t *batch_tokens = calloc(n, sizeof *batch_tokens), *single_tokens = calloc(n, sizeof *single_tokens);
    for (size_t i = 0; i < n; i++) {
        size_t position = 1 + (i * 7) % (f->n_tokens - 1);  // mixed positions
        batch_sessions[i] = new_session(model);
        single_sessions[i] = new_session(model);
        CHECK_STATUS(xlstm_session_feed_tokens(batch_sessions[i], f->tokens, position, XLSTM_LOGITS_LAST), XLSTM_OK);
        CHECK_STATUS(xlstm_session_feed_tokens(single_sessions[i], f->tokens, position, XLSTM_LOGITS_LAST), XLSTM_OK);
        batch_samplers[i] = hot_sampler(100 + i);
        single_samplers[i] = hot_sampler(100 + i);
    }
    int mismatches = 0, distinct = 0;
    for (int frame = 0; frame < 40; frame++) {
        CHECK_STATUS(xlstm_sampler_sample_batch(batch_samplers, batch_sessions, n, batch_tokens), XLSTM_OK);
        for (size_t i = 0; i < n; i++) {
            CHECK_STATUS(xlstm_sampler_sample(single_samplers[i], single_sessions[i], &single_tokens[i]), XLSTM_OK);
            mismatches += batch_tokens[i] != single_tokens[i];
            distinct += i > 0 && batch_tokens[i] != batch_tokens[0];
            CHECK_STATUS(xlstm_session_feed_token(batch_sessions[i], batch_tokens[i]), XLSTM_OK);
            CHECK_STATUS(xlstm_session_feed_token(single_sessions[i], single_tokens[i]), XLSTM_OK);
        }
    }
    CHECK(mismatches == 0, "N = %zu: %d of %zu batched tokens differ from single calls", n, mismatches, 40 * n);
    if (n > 1) CHECK(distinct > 0, "N = %zu: every index drew the same tokens (seeds not used?)", n);
    for (size_t i = 0; i < n; i++) {
        xlstm_session_free(batch_sessions[i]);
        xlstm_session_free(single_sessions[i]);
        xlstm_sampler_free(batch_samplers[i]);
        xlstm_sampler_free(single_samplers[i]);
    }
    free(batch_sessions);
    free(single_sessions);
    free(batch_samplers);
    free(single_samplers);
    free(batch_tokens);
    free(single_tokens);
}

static void batch_equals_single_calls(void) {
    fixture f;
    if (!fixture_open(&f, "paper_mixed")) return;
    xlstm_model *model = load_fixture_model("paper_mixed", NULL);
    if (!model) return;
    const size_t sizes[] = {1, 3, 17, 64};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) batch_equals_single_calls_n(model, &f, sizes[k]);
    snprintf(case_note, sizeof case_note, "(N = 1, 3, 17, 64; 40 frames each)");
    xlstm_model_free(model);
    fixture_close(&f);
}

// One session at three indices: three samplers read the same logits, as three single calls would.
static void batch_with_a_repeated_session(void) {
    xlstm_model *model = load_fixture_model("paper_mixed", NULL);
    if (!model) return;
    xlstm_session *session = new_session(model);
    const int32_t prompt[] = {4, 8, 15};
    CHECK_STATUS(xlstm_session_feed_tokens(session, prompt, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
    xlstm_sampler *batch[3] = {hot_sampler(1), hot_sampler(2), hot_sampler(3)};
    xlstm_sampler *single[3] = {hot_sampler(1), hot_sampler(2), hot_sampler(3)};
    xlstm_session *sessions[3] = {session, session, session};
    for (int frame = 0; frame < 20; frame++) {
        int32_t tokens[3], expected[3];
        CHECK_STATUS(xlstm_sampler_sample_batch(batch, sessions, 3, tokens), XLSTM_OK);
        for (int i = 0; i < 3; i++) CHECK_STATUS(xlstm_sampler_sample(single[i], session, &expected[i]), XLSTM_OK);
        CHECK(memcmp(tokens, expected, sizeof tokens) == 0, "frame %d: batched tokens differ", frame);
        CHECK_STATUS(xlstm_session_feed_token(session, tokens[frame % 3]), XLSTM_OK);
    }
    for (int i = 0; i < 3; i++) {
        xlstm_sampler_free(batch[i]);
        xlstm_sampler_free(single[i]);
    }
    xlstm_session_free(session);
    xlstm_model_free(model);
}

// A rejected batch: the status, a message naming the index, no token written, no sampler advanced.
static void expect_batch_rejected(xlstm_sampler *const *samplers, xlstm_session *const *sessions, size_t n,
                                  xlstm_status expected, const char *needle, xlstm_sampler *const *watched,
                                  size_t n_watched) {
    sampler_blob before[8];
    for (size_t i = 0; i < n_watched; i++) before[i] = sampler_snapshot(watched[i]);
    int32_t tokens[8];
    for (int i = 0; i < 8; i++) tokens[i] = -77;
    CHECK_FAILS(xlstm_sampler_sample_batch(samplers, sessions, n, tokens), expected);
    CHECK(strstr(xlstm_last_error_message(), needle) != NULL, "message \"%s\" does not name %s",
          xlstm_last_error_message(), needle);
    for (int i = 0; i < 8; i++) CHECK(tokens[i] == -77, "tokens[%d] was written by a rejected batch", i);
    for (size_t i = 0; i < n_watched; i++) {
        sampler_blob after = sampler_snapshot(watched[i]);
        CHECK(same_sampler_blob(before[i], after), "a rejected batch (%s) advanced sampler %zu", needle, i);
        free(after.bytes);
        free(before[i].bytes);
    }
}

static void batch_validation(void) {
    xlstm_model *model = load_fixture_model("paper_mixed", NULL);
    if (!model) return;
    xlstm_session *s0 = new_session(model), *s1 = new_session(model), *empty = new_session(model);
    CHECK_STATUS(xlstm_session_feed_token(s0, 3), XLSTM_OK);
    CHECK_STATUS(xlstm_session_feed_token(s1, 9), XLSTM_OK);
    xlstm_sampler *a = hot_sampler(1), *b = hot_sampler(2), *c = hot_sampler(3);
    xlstm_sampler *all[3] = {a, b, c};
    {
        xlstm_sampler *samplers[3] = {a, b, c};
        xlstm_session *sessions[3] = {s0, s1, empty};
        expect_batch_rejected(samplers, sessions, 3, XLSTM_ERROR_NO_LOGITS, "sessions[2]", all, 3);
    }
    {
        xlstm_sampler *samplers[3] = {a, b, a};
        xlstm_session *sessions[3] = {s0, s1, s0};
        expect_batch_rejected(samplers, sessions, 3, XLSTM_ERROR_INVALID_ARGUMENT, "samplers[2]", all, 3);
    }
    {
        xlstm_sampler *samplers[3] = {a, NULL, c};
        xlstm_session *sessions[3] = {s0, s1, s0};
        expect_batch_rejected(samplers, sessions, 3, XLSTM_ERROR_INVALID_ARGUMENT, "samplers[1]", all, 3);
    }
    {
        xlstm_sampler *samplers[3] = {a, b, c};
        xlstm_session *sessions[3] = {s0, s1, NULL};
        expect_batch_rejected(samplers, sessions, 3, XLSTM_ERROR_INVALID_ARGUMENT, "sessions[2]", all, 3);
    }
    {
        xlstm_sampler *samplers[3] = {a, b, c};
        expect_batch_rejected(samplers, NULL, 3, XLSTM_ERROR_INVALID_ARGUMENT, "sessions", all, 3);
        xlstm_session *sessions[3] = {s0, s1, s0};
        expect_batch_rejected(NULL, sessions, 3, XLSTM_ERROR_INVALID_ARGUMENT, "samplers", all, 3);
        CHECK_FAILS(xlstm_sampler_sample_batch(samplers, sessions, 3, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
        expect_batch_rejected(samplers, sessions, (size_t)XLSTM_SAMPLE_BATCH_MAX + 1, XLSTM_ERROR_INVALID_ARGUMENT, "n is",
                              all, 3);
        // n = 0 does nothing, NULL arrays included.
        CHECK_STATUS(xlstm_sampler_sample_batch(NULL, NULL, 0, NULL), XLSTM_OK);
    }
    {
        // A repeat beyond the small-n scan (n > 32): 40 samplers, the last one repeats index 5.
        enum { big = 40 };
        xlstm_sampler *samplers[big];
        xlstm_session *sessions[big];
        for (int i = 0; i < big - 1; i++) {
            samplers[i] = hot_sampler(50 + (uint64_t)i);
            sessions[i] = s0;
        }
        samplers[big - 1] = samplers[5];
        sessions[big - 1] = s1;
        int32_t tokens[big];
        CHECK_FAILS(xlstm_sampler_sample_batch(samplers, sessions, big, tokens), XLSTM_ERROR_INVALID_ARGUMENT);
        CHECK(strstr(xlstm_last_error_message(), "samplers[39]") && strstr(xlstm_last_error_message(), "samplers[5]"),
              "message: %s", xlstm_last_error_message());
        for (int i = 0; i < big - 1; i++) xlstm_sampler_free(samplers[i]);
    }
    xlstm_sampler_free(a);
    xlstm_sampler_free(b);
    xlstm_sampler_free(c);
    xlstm_session_free(s0);
    xlstm_session_free(s1);
    xlstm_session_free(empty);
    xlstm_model_free(model);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_sampler", argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/xlstm-test-sampler-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(restored_pair_continues_paper);
    RUN(restored_pair_continues_large);
    RUN(files_round_trip);
    RUN(batch_equals_single_calls);
    RUN(batch_with_a_repeated_session);
    RUN(batch_validation);
    rmdir(scratch_dir);
    return finish();
}

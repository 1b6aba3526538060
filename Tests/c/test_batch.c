// Batched decode through the C API (xlstm_batch_feed, issue 11), under ASan/UBSan/LSan in c-test:
//   * on every fixture and every kernel path this CPU runs, N = 1, 3, 17, 64 sessions at mixed
//     positions fed one token each per call equal the same sessions fed one token at a time
//     (xlstm_session_feed_token) within 1e-5 relative, match the official logits (logits.f32)
//     within 1e-4, and a session's logits are bit-identical across N;
//   * batched prefill (xlstm_batch_feed_tokens): N = 1, 3, 17, 64 sessions at mixed positions, each
//     given a span of its own length (some empty; together more than one 256-row window, so spans
//     cross windows), equal each span fed alone (xlstm_session_feed_tokens) within 1e-5 and the
//     official logits within 1e-4, after the span and after one more batched step;
//   * bad input (NULL array, NULL session, sessions of two models, a repeated session, a token out of
//     range, an unknown mode) fails with a message naming the index, and no session changes —
//     for both calls;
//   * xlstm_model_get_memory_info: one more session costs its state + logits + < 64 KiB.
//
// Usage: test_batch [FIXTURES_DIR]

#include <dirent.h>
#include <math.h>

#include "check.h"

#define ROUNDS 3
static const size_t batch_sizes[] = {1, 3, 17, 64};

static size_t primed(size_t i) { return (i * 5) % 13; }

static double relative(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = isfinite(a[i]) ? fabs((double)a[i] - (double)b[i]) : INFINITY;
        if (d > worst) worst = d;
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    }
    return scale > 0 ? worst / scale : worst;
}

static const char *current_name;
static xlstm_cpu_path current_path;

// The current fixture and its model on the current kernel path (NULL, fixture closed, on failure).
static xlstm_model *open_current(fixture *f) {
    if (!fixture_open(f, current_name)) return NULL;
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.cpu_path = current_path;
    xlstm_model *model = load_fixture_model(current_name, &params);
    if (!model) fixture_close(f);
    return model;
}

static void batch_matches_single(void) {
    fixture f;
    xlstm_model *model = open_current(&f);
    if (!model) return;
    size_t V = f.vocab_size;
    // first[r][i]: session i's logits after round r in the first batch (N = 3 onwards compared).
    float *first = calloc(ROUNDS * 64 * V, sizeof(float));
    size_t first_n = 0;
    double worst_step = 0, worst_reference = 0;
    int identical = 1;
    for (size_t b = 0; b < sizeof batch_sizes / sizeof batch_sizes[0]; b++) {
        size_t n = batch_sizes[b];
        xlstm_session *sessions[64], *single[64];
        for (size_t i = 0; i < n; i++) {
            sessions[i] = new_session(model);
            single[i] = new_session(model);
            for (size_t t = 0; t < primed(i); t++) {
                CHECK_STATUS(xlstm_session_feed_token(sessions[i], f.tokens[t]), XLSTM_OK);
                CHECK_STATUS(xlstm_session_feed_token(single[i], f.tokens[t]), XLSTM_OK);
            }
        }
        for (size_t r = 0; r < ROUNDS; r++) {
            int32_t tokens[64];
            for (size_t i = 0; i < n; i++) tokens[i] = f.tokens[primed(i) + r];
            CHECK_STATUS(xlstm_batch_feed(sessions, tokens, n, XLSTM_LOGITS_LAST), XLSTM_OK);
            for (size_t i = 0; i < n; i++) {
                CHECK_STATUS(xlstm_session_feed_token(single[i], tokens[i]), XLSTM_OK);
                const float *batched = xlstm_session_logits(sessions[i]), *alone = xlstm_session_logits(single[i]);
                CHECK(batched && alone, "no logits");
                if (!batched || !alone) continue;
                double step = relative(batched, alone, V);
                double reference = relative(batched, f.logits + (primed(i) + r) * V, V);
                if (step > worst_step) worst_step = step;
                if (reference > worst_reference) worst_reference = reference;
                float *kept = first + (r * 64 + i) * V;
                if (first_n == 0 || (n > 1 && i >= first_n)) memcpy(kept, batched, V * sizeof(float));
                else if (memcmp(kept, batched, V * sizeof(float)) != 0) identical = 0;
            }
        }
        for (size_t i = 0; i < n; i++) {
            CHECK(xlstm_session_n_tokens(sessions[i]) == (int64_t)(primed(i) + ROUNDS), "session %zu: token count", i);
            xlstm_session_free(sessions[i]);
            xlstm_session_free(single[i]);
        }
        if (n > first_n) first_n = n;
    }
    CHECK(worst_step <= 1e-5, "%s: batched vs one at a time: %g", current_name, worst_step);
    CHECK(worst_reference <= 1e-4, "%s: batched vs official: %g", current_name, worst_reference);
    CHECK(identical, "%s: a session's logits differ between batch sizes", current_name);
    snprintf(case_note, sizeof case_note, "(N = 1, 3, 17, 64; vs single %.1e, vs official %.1e, bit-identical across N)",
             worst_step, worst_reference);
    free(first);
    xlstm_model_free(model);
    fixture_close(&f);
}

// Span i's length: 0–10 tokens (so 64 sessions fill more than one window), and on a long fixture
// also 0, 400 or 800 more (one session's span crosses windows).
static size_t span_length(size_t i, size_t n_tokens) {
    return (i * 7) % 11 + (n_tokens > 1000 ? 400 * (i % 3) : 0);
}

static void prompts_match_single(void) {
    fixture f;
    xlstm_model *model = open_current(&f);
    if (!model) return;
    size_t V = f.vocab_size, most_rows = 0;
    double worst_single = 0, worst_reference = 0;
    for (size_t b = 0; b < sizeof batch_sizes / sizeof batch_sizes[0]; b++) {
        size_t n = batch_sizes[b], rows = 0;
        xlstm_session *sessions[64], *single[64];
        const int32_t *spans[64];
        size_t lengths[64];
        for (size_t i = 0; i < n; i++) {
            sessions[i] = new_session(model);
            single[i] = new_session(model);
            for (size_t t = 0; t < primed(i); t++) {
                CHECK_STATUS(xlstm_session_feed_token(sessions[i], f.tokens[t]), XLSTM_OK);
                CHECK_STATUS(xlstm_session_feed_token(single[i], f.tokens[t]), XLSTM_OK);
            }
            spans[i] = f.tokens + primed(i);
            lengths[i] = span_length(i, f.n_tokens);
            rows += lengths[i];
        }
        if (rows > most_rows) most_rows = rows;
        CHECK_STATUS(xlstm_batch_feed_tokens(sessions, spans, lengths, n, XLSTM_LOGITS_LAST), XLSTM_OK);
        int32_t next[64];
        for (size_t i = 0; i < n; i++) {
            CHECK_STATUS(xlstm_session_feed_tokens(single[i], spans[i], lengths[i], XLSTM_LOGITS_LAST), XLSTM_OK);
            size_t at = primed(i) + lengths[i];   // tokens fed so far
            CHECK(xlstm_session_n_tokens(sessions[i]) == (int64_t)at, "session %zu: token count", i);
            next[i] = f.tokens[at];
            const float *batched = xlstm_session_logits(sessions[i]), *alone = xlstm_session_logits(single[i]);
            CHECK((batched == NULL) == (alone == NULL), "session %zu: logits present in one only", i);
            if (!batched || !alone) continue;
            double d = relative(batched, alone, V), r = relative(batched, f.logits + (at - 1) * V, V);
            if (d > worst_single) worst_single = d;
            if (r > worst_reference) worst_reference = r;
        }
        // One more token each, batched: the states the spans left are the right ones.
        CHECK_STATUS(xlstm_batch_feed(sessions, next, n, XLSTM_LOGITS_LAST), XLSTM_OK);
        for (size_t i = 0; i < n; i++) {
            const float *batched = xlstm_session_logits(sessions[i]);
            CHECK(batched != NULL, "session %zu: no logits after the step", i);
            if (!batched) continue;
            double r = relative(batched, f.logits + (primed(i) + lengths[i]) * V, V);
            if (r > worst_reference) worst_reference = r;
            xlstm_session_free(sessions[i]);
            xlstm_session_free(single[i]);
        }
    }
    CHECK(worst_single <= 1e-5, "%s: batched prefill vs each span alone: %g", current_name, worst_single);
    CHECK(worst_reference <= 1e-4, "%s: batched prefill vs official: %g", current_name, worst_reference);
    snprintf(case_note, sizeof case_note, "(N = 1, 3, 17, 64, up to %zu rows; vs alone %.1e, vs official %.1e)", most_rows,
             worst_single, worst_reference);
    xlstm_model_free(model);
    fixture_close(&f);
}

static int message_has(const char *fragment) { return strstr(xlstm_last_error_message(), fragment) != NULL; }

static void bad_input_changes_nothing(void) {
    xlstm_model *model = load_fixture_model("paper_mixed", NULL), *other = load_fixture_model("paper_mixed", NULL);
    if (!model || !other) return;
    xlstm_session *s[4];
    state_blob before[4];
    for (int i = 0; i < 4; i++) {
        s[i] = new_session(model);
        CHECK_STATUS(xlstm_session_feed_token(s[i], i + 1), XLSTM_OK);
        before[i] = snapshot(s[i]);
    }
    xlstm_session *foreign = new_session(other);
    int32_t tokens[5] = {1, 2, 3, 4, 5};
    CHECK_FAILS(xlstm_batch_feed(NULL, tokens, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed(s, NULL, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed(s, tokens, 4, (xlstm_logits_mode)7), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_session *with_null[4] = {s[0], s[1], NULL, s[3]};
    CHECK_FAILS(xlstm_batch_feed(with_null, tokens, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 2 is NULL"), "message: %s", xlstm_last_error_message());
    xlstm_session *mixed[5] = {s[0], s[1], s[2], s[3], foreign};
    CHECK_FAILS(xlstm_batch_feed(mixed, tokens, 5, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 4"), "message: %s", xlstm_last_error_message());
    xlstm_session *repeated[4] = {s[0], s[1], s[2], s[1]};
    CHECK_FAILS(xlstm_batch_feed(repeated, tokens, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 3 is the same session as 1"), "message: %s", xlstm_last_error_message());
    int32_t bad[4] = {1, 2, 100, 4};
    CHECK_FAILS(xlstm_batch_feed(s, bad, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
    CHECK(message_has("at index 2"), "message: %s", xlstm_last_error_message());
    int32_t negative[4] = {1, 2, 3, -5};
    CHECK_FAILS(xlstm_batch_feed(s, negative, 4, XLSTM_LOGITS_NONE), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
    CHECK(message_has("at index 3"), "message: %s", xlstm_last_error_message());
    CHECK_STATUS(xlstm_batch_feed(NULL, NULL, 0, XLSTM_LOGITS_LAST), XLSTM_OK);  // n = 0: nothing
    // The same for spans.
    const int32_t *spans[5] = {tokens, tokens, tokens, tokens, tokens};
    size_t lengths[5] = {5, 2, 0, 3, 1};
    CHECK_FAILS(xlstm_batch_feed_tokens(NULL, spans, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed_tokens(s, NULL, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed_tokens(s, spans, NULL, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed_tokens(s, spans, lengths, 4, (xlstm_logits_mode)7), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_batch_feed_tokens(with_null, spans, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 2 is NULL"), "message: %s", xlstm_last_error_message());
    CHECK_FAILS(xlstm_batch_feed_tokens(mixed, spans, lengths, 5, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 4"), "message: %s", xlstm_last_error_message());
    CHECK_FAILS(xlstm_batch_feed_tokens(repeated, spans, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("session 3 is the same session as 1"), "message: %s", xlstm_last_error_message());
    const int32_t *null_span[4] = {tokens, NULL, tokens, tokens};
    CHECK_FAILS(xlstm_batch_feed_tokens(s, null_span, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(message_has("tokens[1] is NULL"), "message: %s", xlstm_last_error_message());
    size_t huge[4] = {1, SIZE_MAX, 1, 1};
    CHECK_FAILS(xlstm_batch_feed_tokens(s, spans, huge, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    const int32_t *bad_span[4] = {tokens, tokens, tokens, bad};   // bad[2] = 100: session 3, position 2
    CHECK_FAILS(xlstm_batch_feed_tokens(s, bad_span, lengths, 4, XLSTM_LOGITS_LAST), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
    CHECK(message_has("session 3 at position 2"), "message: %s", xlstm_last_error_message());
    null_span[1] = NULL;
    size_t empty[4] = {1, 0, 1, 1};   // a NULL span of no tokens is fine; n = 0 does nothing
    CHECK_STATUS(xlstm_batch_feed_tokens(NULL, NULL, NULL, 0, XLSTM_LOGITS_LAST), XLSTM_OK);
    for (int i = 0; i < 4; i++) {
        CHECK(unchanged(s[i], before[i]), "session %d changed by a failed batch", i);
        CHECK(xlstm_session_n_tokens(s[i]) == 1, "session %d: token count", i);
        free(before[i].bytes);
    }
    // XLSTM_LOGITS_NONE: states advance, no logits.
    CHECK_STATUS(xlstm_batch_feed(s, tokens, 4, XLSTM_LOGITS_NONE), XLSTM_OK);
    for (int i = 0; i < 4; i++) {
        CHECK(xlstm_session_logits(s[i]) == NULL && xlstm_session_n_tokens(s[i]) == 2, "session %d after NONE", i);
        xlstm_session_free(s[i]);
    }
    // Spans with XLSTM_LOGITS_NONE, one of them NULL and empty: the others advance and have no
    // logits; the empty one keeps its logits and count.
    for (int i = 0; i < 4; i++) {
        s[i] = new_session(model);
        CHECK_STATUS(xlstm_session_feed_token(s[i], i + 1), XLSTM_OK);
    }
    CHECK_STATUS(xlstm_batch_feed_tokens(s, null_span, empty, 4, XLSTM_LOGITS_NONE), XLSTM_OK);
    for (int i = 0; i < 4; i++) {
        if (i == 1) {
            CHECK(xlstm_session_logits(s[i]) != NULL && xlstm_session_n_tokens(s[i]) == 1, "the empty span's session changed");
        } else {
            CHECK(xlstm_session_logits(s[i]) == NULL && xlstm_session_n_tokens(s[i]) == 2, "session %d after NONE spans", i);
        }
        xlstm_session_free(s[i]);
    }
    xlstm_session_free(foreign);
    xlstm_model_free(model);
    xlstm_model_free(other);
    snprintf(case_note, sizeof case_note, "(NULLs, two models, a repeat, bad ids, bad mode, for tokens and spans: index named, nothing changed)");
}

static void memory_info(void) {
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.n_threads = 2;
    xlstm_model *model = load_fixture_model("large_basic", &params);
    if (!model) return;
    xlstm_model_info info;
    xlstm_memory_info memory;
    CHECK_STATUS(xlstm_model_get_info(model, &info), XLSTM_OK);
    CHECK_STATUS(xlstm_model_get_memory_info(model, &memory), XLSTM_OK);
    uint64_t floor = info.state_bytes_in_memory + (uint64_t)info.vocab_size * sizeof(float);
    CHECK(memory.session_bytes >= floor && memory.session_bytes <= floor + 65536,
          "session_bytes %llu vs state + logits %llu", (unsigned long long)memory.session_bytes, (unsigned long long)floor);
    CHECK(memory.n_threads == 2 && memory.batch_window >= 1 && memory.step_scratch_bytes > 0
          && memory.prefill_scratch_bytes > memory.step_scratch_bytes && memory.batch_scratch_bytes_per_session > 0,
          "memory info fields");
    CHECK_FAILS(xlstm_model_get_memory_info(NULL, &memory), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_memory_info(model, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    snprintf(case_note, sizeof case_note, "(session %llu bytes = state + logits + %llu)",
             (unsigned long long)memory.session_bytes, (unsigned long long)(memory.session_bytes - floor));
    xlstm_model_free(model);
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int main(int argc, char **argv) {
    parse_common_arguments("test_batch", argc, argv);
    DIR *dir = opendir(fixtures_dir);
    if (!dir) {
        printf("FAIL test_batch: cannot open %s\n", fixtures_dir);
        return 1;
    }
    char (*names)[256] = NULL;
    size_t n_names = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (entry->d_name[0] == '.') continue;
        size_t size = 0;
        void *probe = read_whole_file(fixture_path(entry->d_name, "tokens.i32"), &size);
        if (!probe) continue;
        free(probe);
        names = realloc(names, (n_names + 1) * sizeof *names);
        snprintf(names[n_names++], sizeof names[0], "%s", entry->d_name);
    }
    closedir(dir);
    qsort(names, n_names, sizeof *names, by_name);
    const xlstm_cpu_path paths[] = {XLSTM_CPU_PORTABLE, XLSTM_CPU_AVX2, XLSTM_CPU_AVX512};
    for (size_t i = 0; i < n_names; i++) {
        for (size_t p = 0; p < 3; p++) {
            if (!xlstm_cpu_supports_path(paths[p])) continue;
            char label[320];
            snprintf(label, sizeof label, "%s %.255s", xlstm_cpu_path_name(paths[p]), names[i]);
            current_name = names[i];
            current_path = paths[p];
            run_case(label, batch_matches_single);
            snprintf(label, sizeof label, "prompts %s %.255s", xlstm_cpu_path_name(paths[p]), names[i]);
            run_case(label, prompts_match_single);
        }
    }
    free(names);
    RUN(bad_input_changes_nothing);
    RUN(memory_info);
    return finish();
}

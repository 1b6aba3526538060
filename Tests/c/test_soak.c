// Long runs (issue #13): N tokens (default 1 000 000; `make soak`) stepped through one session of a
// small model of each family, tokens drawn by a seeded sampler from the session's own logits. Every
// 1 000 tokens: the logits and the whole saved state are finite, the state size is what it was at
// the start, the token count is exact. `make c-test` runs a short variant (20 000 tokens).
// Prints tokens, seconds and the largest |state| value seen. Usage: test_soak [FIXTURES_DIR] [N]

#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <time.h>

#include "check.h"

static long tokens_to_run = 1000000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void soak(const char *fixture_name) {
    xlstm_model *model = load_fixture_model(fixture_name, NULL);
    if (!model) return;
    xlstm_model_info info;
    xlstm_model_get_info(model, &info);
    xlstm_session *s = new_session(model);
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = 2026;
    params.temperature = 1.0f;
    xlstm_sampler *sampler = NULL;
    CHECK_STATUS(xlstm_sampler_create(&params, &sampler), XLSTM_OK);
    const size_t size = xlstm_session_state_size(s);
    unsigned char *blob = malloc(size);
    const size_t header = 56, n_state = (size - header - 8) / 4 - (size_t)info.vocab_size;
    double start = now(), worst_state = 0;
    long bad = 0, checks = 0;
    CHECK_STATUS(xlstm_session_feed_token(s, 1), XLSTM_OK);
    for (long t = 1; t < tokens_to_run && bad == 0; t++) {
        int32_t token = 0;
        if (xlstm_sampler_sample(sampler, s, &token) != XLSTM_OK) bad++;
        if (t % 997 == 0) token = (int32_t)(t % info.vocab_size);  // and now and then an unlikely one
        if (xlstm_session_feed_token(s, token) != XLSTM_OK) bad++;
        if (t % 1000 == 0 || t == tokens_to_run - 1) {
            checks++;
            const float *logits = xlstm_session_logits(s);
            for (int j = 0; j < info.vocab_size; j++) bad += !isfinite(logits[j]);
            size_t written = 0;
            if (xlstm_session_state_size(s) != size || xlstm_session_save_state(s, blob, size, &written) != XLSTM_OK
                || written != size)
                bad++;
            for (size_t i = 0; i < n_state; i++) {
                float v;
                memcpy(&v, blob + header + 4 * i, 4);
                if (!isfinite(v)) bad++;
                if (fabs(v) > worst_state) worst_state = fabs(v);
            }
            if (xlstm_session_n_tokens(s) != t + 1) bad++;
        }
    }
    double seconds = now() - start;
    CHECK(bad == 0, "%s: %ld bad values or calls (NaN/Inf, size change, failed call)", fixture_name, bad);
    CHECK(xlstm_session_n_tokens(s) == tokens_to_run, "%s: n_tokens %lld", fixture_name,
          (long long)xlstm_session_n_tokens(s));
    snprintf(case_note, sizeof case_note, "(%ld tokens in %.1f s, %ld checks, state %zu bytes throughout, max |state| %.3g)",
             tokens_to_run, seconds, checks, size, worst_state);
    free(blob);
    xlstm_sampler_free(sampler);
    xlstm_session_free(s);
    xlstm_model_free(model);
}

static void paper_family(void) { soak("paper_mixed"); }
static void large_family(void) { soak("large_basic"); }

int main(int argc, char **argv) {
    parse_common_arguments("test_soak", argc, argv);
    if (argc > 2) tokens_to_run = atol(argv[2]);
    RUN(paper_family);
    RUN(large_family);
    return finish();
}

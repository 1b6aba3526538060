// Through the C API, the logits after every token equal the official implementation's, for every
// fixture in Tests/Fixtures (model/, tokens.i32, logits.f32 = float32 [n_tokens, vocab]):
// max|Δ| / max|reference logit| ≤ 1e-4 over the whole sequence, in four configurations —
//   one thread, token by token (xlstm_session_feed_token + xlstm_session_logits);
//   one thread, in spans of 1, 2, 3, … tokens (xlstm_session_feed_tokens, XLSTM_LOGITS_LAST /
//     XLSTM_LOGITS_NONE) compared at the end of each span (xlstm_session_copy_logits);
//   n_threads = 2, token by token;
//   XLSTM_WEIGHTS_FLOAT32 (bf16 and f16 fixtures widened at load), token by token;
//   XLSTM_PRECISION_FAST, n_threads 2, token by token: the quantized fixtures within the fast bound
//     (int8 activations), every other fixture within 1e-4 (fast leaves float weights alone).
// The fixtures' matrices are all smaller than the library's threshold for splitting a matrix–vector
// product across threads (Matrix.parallelThreshold, 65536 elements), so n_threads = 2 runs their
// kernels on one thread. Given a model with larger matrices (Tests/c/make_byte_model.py … 2048, whose
// lm_head is 2048 × 64), `threads_agree` also checks that n_threads 2 and 3 give logits bit-identical
// to n_threads 1, token by token and in prefill spans.
//
// Usage: test_logits [FIXTURES_DIR [LARGE_VOCAB_MODEL_DIR]]   (default Tests/Fixtures)

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>

#include "check.h"

// The bound of the whole suite (README "Correctness"): max|Δlogit| / max|logit| ≤ 1e-4.
static const double relative_tolerance = 1e-4;
// XLSTM_PRECISION_FAST on a quantized fixture (int8 activations in the step's matvecs): the bound of
// README "Precision" (measured 0.016–0.145 on these tiny random-weight models).
static const double fast_tolerance = 0.2;

// Running max|Δ| and max|reference| over the rows compared so far.
typedef struct {
    double max_difference;
    double max_reference;
    size_t rows;
} comparison;

static void compare_row(comparison *c, const float *logits, const float *reference, size_t vocab) {
    for (size_t i = 0; i < vocab; i++) {
        double difference = isfinite(logits[i]) ? fabs((double)logits[i] - (double)reference[i]) : INFINITY;
        if (!(difference <= c->max_difference)) c->max_difference = difference;  // NaN-safe
        if (fabs((double)reference[i]) > c->max_reference) c->max_reference = fabs((double)reference[i]);
    }
    c->rows++;
}

static double relative_error(const comparison *c) {
    return c->max_reference > 0 ? c->max_difference / c->max_reference : c->max_difference;
}

// The kernel path the running case loads models with (XLSTM_CPU_AUTO but in the cpu_* cases).
static xlstm_cpu_path load_cpu_path = XLSTM_CPU_AUTO;
// The precision the running case loads models with (EXACT but in the precision_fast case).
static xlstm_precision load_precision = XLSTM_PRECISION_EXACT;
// The precision the last loaded model reports.
static xlstm_precision loaded_precision = XLSTM_PRECISION_EXACT;

// Loads the fixture's model with the given options and checks it describes the fixture.
static xlstm_model *load_checked(const fixture *f, int32_t n_threads, xlstm_weight_policy policy) {
    xlstm_model_params params;
    CHECK_STATUS(xlstm_model_default_params(&params), XLSTM_OK);
    params.n_threads = n_threads;
    params.weight_policy = policy;
    params.cpu_path = load_cpu_path;
    params.precision = load_precision;
    xlstm_model *model = load_fixture_model(f->name, &params);
    if (!model) return NULL;
    CHECK_STATUS(xlstm_model_get_precision(model, &loaded_precision), XLSTM_OK);
    CHECK(loaded_precision == load_precision || (load_precision == XLSTM_PRECISION_FAST && loaded_precision == XLSTM_PRECISION_EXACT),
          "%s: loaded with precision %d, runs %d", f->name, (int)load_precision, (int)loaded_precision);
    if (load_cpu_path != XLSTM_CPU_AUTO) {
        xlstm_cpu_path used = XLSTM_CPU_AUTO;
        CHECK_STATUS(xlstm_model_get_cpu_path(model, &used), XLSTM_OK);
        CHECK(used == load_cpu_path, "%s: loaded with cpu_path %s, runs %s", f->name, xlstm_cpu_path_name(load_cpu_path),
              xlstm_cpu_path_name(used));
    }
    xlstm_model_info info;
    CHECK_STATUS(xlstm_model_get_info(model, &info), XLSTM_OK);
    CHECK((size_t)info.vocab_size == f->vocab_size, "%s: vocab_size %d, the reference has %zu columns", f->name,
          (int)info.vocab_size, f->vocab_size);
    if ((size_t)info.vocab_size != f->vocab_size) {
        xlstm_model_free(model);
        return NULL;
    }
    return model;
}

// Token by token; every row compared.
static void run_token_by_token(const fixture *f, int32_t n_threads, xlstm_weight_policy policy, const char *label) {
    xlstm_model *model = load_checked(f, n_threads, policy);
    if (!model) return;
    xlstm_session *session = new_session(model);
    comparison c = {0, 0, 0};
    for (size_t t = 0; session && t < f->n_tokens; t++) {
        xlstm_status status = xlstm_session_feed_token(session, f->tokens[t]);
        const float *logits = xlstm_session_logits(session);
        CHECK(status == XLSTM_OK && logits != NULL, "%s: token %zu: %s", f->name, t, xlstm_last_error_message());
        if (status != XLSTM_OK || logits == NULL) break;
        compare_row(&c, logits, f->logits + t * f->vocab_size, f->vocab_size);
    }
    CHECK(c.rows == f->n_tokens, "%s (%s): compared %zu of %zu rows", f->name, label, c.rows, f->n_tokens);
    CHECK(xlstm_session_n_tokens(session) == (int64_t)f->n_tokens, "%s: n_tokens %lld", f->name,
          (long long)xlstm_session_n_tokens(session));
    double error = relative_error(&c);
    // fast changes the quantized projections, and the bf16 ones on a CPU with AVX-512 BF16: every
    // other fixture keeps the exact bound.
    const int quantized = strncmp(f->name, "q8_", 3) == 0 || strncmp(f->name, "q4_", 3) == 0;
    const int bf16 = strstr(f->name, "bf16") != NULL;
    const double tolerance = loaded_precision == XLSTM_PRECISION_FAST && (quantized || bf16) ? fast_tolerance : relative_tolerance;
    CHECK(error <= tolerance, "%s (%s): max|Δ|/max|logit| = %.3g > %.0e", f->name, label, error, tolerance);
    snprintf(case_note, sizeof case_note, "(max|Δ|/max|logit| %.1e over %zu tokens)", error, c.rows);
    xlstm_session_free(session);
    xlstm_model_free(model);
}

// Spans of 1, 2, 3, … tokens (the last one shorter); alternate spans skip their logits, and the next
// span's logits must not depend on that.
static void run_in_spans(const fixture *f) {
    xlstm_model *model = load_checked(f, 1, XLSTM_WEIGHTS_NATIVE);
    if (!model) return;
    xlstm_session *session = new_session(model);
    float *logits = malloc(f->vocab_size * sizeof(float));
    comparison c = {0, 0, 0};
    size_t start = 0;
    for (size_t span = 1; session && start < f->n_tokens; span++) {
        size_t count = span < f->n_tokens - start ? span : f->n_tokens - start;
        int skip = span % 3 == 2 && start + count < f->n_tokens;
        CHECK_STATUS(xlstm_session_feed_tokens(session, f->tokens + start, count,
                                               skip ? XLSTM_LOGITS_NONE : XLSTM_LOGITS_LAST),
                     XLSTM_OK);
        start += count;
        CHECK(xlstm_session_n_tokens(session) == (int64_t)start, "n_tokens %lld, expected %zu",
              (long long)xlstm_session_n_tokens(session), start);
        if (skip) {
            CHECK_STATUS(xlstm_session_copy_logits(session, logits, f->vocab_size), XLSTM_ERROR_NO_LOGITS);
            continue;
        }
        CHECK_STATUS(xlstm_session_copy_logits(session, logits, f->vocab_size), XLSTM_OK);
        compare_row(&c, logits, f->logits + (start - 1) * f->vocab_size, f->vocab_size);
    }
    double error = relative_error(&c);
    CHECK(error <= relative_tolerance, "%s (spans): max|Δ|/max|logit| = %.3g", f->name, error);
    snprintf(case_note, sizeof case_note, "(max|Δ|/max|logit| %.1e at %zu span ends)", error, c.rows);
    free(logits);
    xlstm_session_free(session);
    xlstm_model_free(model);
}

static char (*fixture_names)[256];
static size_t n_fixtures;
static const char *current_name;                       // the fixture of the running case
static void (*current_configuration)(const fixture *);  // and its configuration

static void token_by_token(const fixture *f) { run_token_by_token(f, 1, XLSTM_WEIGHTS_NATIVE, "1 thread"); }
static void two_threads(const fixture *f) { run_token_by_token(f, 2, XLSTM_WEIGHTS_NATIVE, "n_threads 2"); }
static void weights_float32(const fixture *f) {
    run_token_by_token(f, 1, XLSTM_WEIGHTS_FLOAT32, "XLSTM_WEIGHTS_FLOAT32");
}

// Token by token and in spans on one forced kernel path (registered only where this CPU runs it).
static void on_path(const fixture *f, xlstm_cpu_path path) {
    load_cpu_path = path;
    char label[64];
    snprintf(label, sizeof label, "cpu_path %s", xlstm_cpu_path_name(path));
    run_token_by_token(f, 1, XLSTM_WEIGHTS_NATIVE, label);
    char steps[sizeof case_note], spans[sizeof case_note];
    snprintf(steps, sizeof steps, "%s", case_note);
    run_in_spans(f);
    snprintf(spans, sizeof spans, "%s", case_note);
    snprintf(case_note, sizeof case_note, "%.90s %.90s", steps, spans);
    load_cpu_path = XLSTM_CPU_AUTO;
}
static void cpu_portable(const fixture *f) { on_path(f, XLSTM_CPU_PORTABLE); }
static void precision_fast(const fixture *f) {
    load_precision = XLSTM_PRECISION_FAST;
    run_token_by_token(f, 2, XLSTM_WEIGHTS_NATIVE, "XLSTM_PRECISION_FAST, n_threads 2");
    load_precision = XLSTM_PRECISION_EXACT;
}
static void cpu_avx2(const fixture *f) { on_path(f, XLSTM_CPU_AVX2); }
static void cpu_avx512(const fixture *f) { on_path(f, XLSTM_CPU_AVX512); }

static void run_current(void) {
    fixture f;
    if (fixture_open(&f, current_name)) current_configuration(&f);
    fixture_close(&f);
}

// Logits after each of n tokens of a model loaded with `n_threads`, fed one by one (spans == 0) or
// in spans of `spans` tokens (rows at span ends only; the others stay NaN). Returns malloc'd [n, vocab].
static float *logits_with_threads(const char *directory, int32_t n_threads, const int32_t *tokens, size_t n,
                                  size_t spans, size_t *vocab) {
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.n_threads = n_threads;
    xlstm_model *model = NULL;
    xlstm_model_info info;
    CHECK_STATUS(xlstm_model_load(directory, &params, &model), XLSTM_OK);
    if (!model) return NULL;
    xlstm_model_get_info(model, &info);
    *vocab = (size_t)info.vocab_size;
    float *rows = malloc(n * *vocab * sizeof(float));
    for (size_t i = 0; i < n * *vocab; i++) rows[i] = NAN;
    xlstm_session *session = new_session(model);
    for (size_t t = 0; session && t < n;) {
        size_t count = spans ? (spans < n - t ? spans : n - t) : 1;
        int32_t span_tokens[64];
        for (size_t i = 0; i < count; i++) span_tokens[i] = tokens[t + i] % info.vocab_size;
        CHECK_STATUS(spans ? xlstm_session_feed_tokens(session, span_tokens, count, XLSTM_LOGITS_LAST)
                           : xlstm_session_feed_token(session, span_tokens[0]),
                     XLSTM_OK);
        t += count;
        CHECK_STATUS(xlstm_session_copy_logits(session, rows + (t - 1) * *vocab, *vocab), XLSTM_OK);
    }
    xlstm_session_free(session);
    xlstm_model_free(model);
    return rows;
}

static const char *large_model_dir;

static void threads_agree(void) {
    int32_t tokens[48];
    for (size_t i = 0; i < 48; i++) tokens[i] = (int32_t)((i * 977 + 13) % 2048);
    for (size_t spans = 0; spans <= 7; spans += 7) {
        size_t vocab = 0, vocab_threaded = 0;
        float *one = logits_with_threads(large_model_dir, 1, tokens, 48, spans, &vocab);
        for (int32_t threads = 2; one && threads <= 3; threads++) {
            float *many = logits_with_threads(large_model_dir, threads, tokens, 48, spans, &vocab_threaded);
            CHECK(many && vocab == vocab_threaded && memcmp(one, many, 48 * vocab * sizeof(float)) == 0,
                  "n_threads %d: logits (%s) differ from n_threads 1", (int)threads, spans ? "spans of 7" : "token by token");
            free(many);
        }
        CHECK(vocab * 64 >= 65536, "the model's lm_head (%zu x 64) is too small to be split across threads", vocab);
        free(one);
    }
    snprintf(case_note, sizeof case_note, "(n_threads 1, 2, 3 bit-identical, token by token and in spans)");
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int main(int argc, char **argv) {
    parse_common_arguments("test_logits", argc, argv);
    if (xlstm_api_version() != XLSTM_API_VERSION) {
        printf("FAIL test_logits: library API version %d, header %d\n", (int)xlstm_api_version(), XLSTM_API_VERSION);
        return 1;
    }
    DIR *dir = opendir(fixtures_dir);
    if (!dir) {
        printf("FAIL test_logits: cannot open %s\n", fixtures_dir);
        return 1;
    }
    // Every directory holding tokens.i32 is a fixture.
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (entry->d_name[0] == '.') continue;
        size_t size = 0;
        void *probe = read_whole_file(fixture_path(entry->d_name, "tokens.i32"), &size);
        if (!probe) continue;
        free(probe);
        fixture_names = realloc(fixture_names, (n_fixtures + 1) * sizeof *fixture_names);
        snprintf(fixture_names[n_fixtures++], sizeof fixture_names[0], "%s", entry->d_name);
    }
    closedir(dir);
    qsort(fixture_names, n_fixtures, sizeof *fixture_names, by_name);
    if (n_fixtures == 0) {
        printf("FAIL test_logits: no fixtures in %s\n", fixtures_dir);
        return 1;
    }

    // One case per fixture and configuration, named "<configuration> <fixture>".
    // cpu_*: every kernel path this CPU runs (the suite on an AVX-512 machine also proves avx2 and portable).
    void (*const configurations[])(const fixture *) = {token_by_token, run_in_spans, two_threads, weights_float32,
                                                       cpu_portable, cpu_avx2, cpu_avx512, precision_fast};
    const char *const configuration_names[] = {"token_by_token", "spans", "n_threads_2", "weights_float32",
                                               "cpu_portable", "cpu_avx2", "cpu_avx512", "precision_fast"};
    const xlstm_cpu_path configuration_paths[] = {XLSTM_CPU_AUTO, XLSTM_CPU_AUTO, XLSTM_CPU_AUTO, XLSTM_CPU_AUTO,
                                                  XLSTM_CPU_PORTABLE, XLSTM_CPU_AVX2, XLSTM_CPU_AVX512, XLSTM_CPU_AUTO};
    for (size_t i = 0; i < n_fixtures; i++) {
        for (size_t k = 0; k < sizeof configurations / sizeof configurations[0]; k++) {
            if (!xlstm_cpu_supports_path(configuration_paths[k])) continue;
            char name[320];
            snprintf(name, sizeof name, "%.60s %.255s", configuration_names[k], fixture_names[i]);
            current_name = fixture_names[i];
            current_configuration = configurations[k];
            run_case(name, run_current);
        }
    }
    free(fixture_names);
    if (argc > 2) {
        large_model_dir = argv[2];
        run_case("threads_agree", threads_agree);
    }
    return finish();
}

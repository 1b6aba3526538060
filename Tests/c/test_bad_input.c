// The bad-input table (issue #13): every function of the C API called with NULL pointers,
// out-of-range ids and indices, zero / huge sizes, buffers too small, state blobs from another
// model / format version / truncated / bit-flipped, and sessions of two models mixed. Each ROW
// checks, around ONE call:
//   - the documented status, and a non-empty last error message when it is not XLSTM_OK;
//   - that nothing changed: three sessions (model A with logits, model A without, model B) save to
//     the same bytes as before (state, token count, logits), the sampler draws the same token as its
//     untouched twin, and a fresh session of each model still gives the reference logits.
// The functions that return no status (versions, strings, getters, frees) are called with the same
// bad arguments in `non_status_functions`. Prints the number of rows.
//
// Usage: test_bad_input [FIXTURES_DIR]

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static xlstm_model *model_a, *model_b;       // paper_mixed (vocab 100), large_basic (vocab 100)
static xlstm_session *with_logits;            // of A, 4 tokens fed, logits present
static xlstm_session *without_logits;         // of A, fresh: no logits
static xlstm_session *other_model;            // of B, 3 tokens fed
static xlstm_sampler *sampler, *sampler_twin; // same seed; only `sampler` is passed to the rows
static xlstm_model_info info_a;
static float reference_a[100], reference_b[100];  // logits of a fresh session after `probe`
static const int32_t probe[] = {5, 17, 42};
static char scratch[4096];
static int rows;

// Objects a row might create if it wrongly succeeds; freed after every row.
static xlstm_model *out_model;
static xlstm_session *out_session;
static xlstm_sampler *out_sampler;

static state_blob before_with, before_without, before_other;

static void fresh_logits(const xlstm_model *model, float *out) {
    xlstm_session *s = new_session(model);
    if (!s) return;
    CHECK_STATUS(xlstm_session_feed_tokens(s, probe, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
    CHECK_STATUS(xlstm_session_copy_logits(s, out, 100), XLSTM_OK);
    xlstm_session_free(s);
}

static void begin_row(void) {
    before_with = snapshot(with_logits);
    before_without = snapshot(without_logits);
    before_other = snapshot(other_model);
    out_model = NULL;
    out_session = NULL;
    out_sampler = NULL;
}

static void end_row(const char *call, xlstm_status got, xlstm_status expected) {
    rows++;
    const char *message = xlstm_last_error_message();
    CHECK(got == expected, "%s returned %d (%s), expected %d (%s); last error: \"%s\"", call, (int)got,
          xlstm_status_string(got), (int)expected, xlstm_status_string(expected), message);
    if (expected != XLSTM_OK) CHECK(message && message[0], "%s: empty last error message", call);
    CHECK(unchanged(with_logits, before_with), "%s changed the session with logits", call);
    CHECK(unchanged(without_logits, before_without), "%s changed the session without logits", call);
    CHECK(unchanged(other_model, before_other), "%s changed the session of model B", call);
    CHECK(xlstm_session_logits(without_logits) == NULL, "%s gave logits to a session that had none", call);
    free(before_with.bytes);
    free(before_without.bytes);
    free(before_other.bytes);
    float logits[100] = {0};
    for (int i = 0; i < 100; i++) logits[i] = (float)((i * 37) % 11) * 0.5f;
    int32_t drawn = -1, twin = -2;
    xlstm_sampler_sample_logits(sampler, logits, 100, &drawn);
    xlstm_sampler_sample_logits(sampler_twin, logits, 100, &twin);
    CHECK(drawn == twin, "%s changed the sampler (draws %d, its twin %d)", call, (int)drawn, (int)twin);
    float now[100];
    fresh_logits(model_a, now);
    CHECK(memcmp(now, reference_a, sizeof now) == 0, "%s changed model A's logits", call);
    fresh_logits(model_b, now);
    CHECK(memcmp(now, reference_b, sizeof now) == 0, "%s changed model B's logits", call);
    if (expected != XLSTM_OK) {
        CHECK(out_model == NULL && out_session == NULL && out_sampler == NULL, "%s: an output was not NULL", call);
    }
    xlstm_model_free(out_model);
    xlstm_session_free(out_session);
    xlstm_sampler_free(out_sampler);
}

#define ROW(expected, call)                       \
    do {                                          \
        begin_row();                              \
        xlstm_status got_ = (call);               \
        end_row(#call, got_, (expected));         \
    } while (0)

#define IA XLSTM_ERROR_INVALID_ARGUMENT

static const char *scratch_file(const char *name) {
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    return path;
}

// A model directory in scratch with `config` and a copy of paper_mixed's safetensors.
static const char *model_dir_with_config(const char *name, const char *config) {
    static char directory[8192];
    snprintf(directory, sizeof directory, "%s/%s", scratch, name);
    mkdir(directory, 0755);
    char path[8192 + 64];
    snprintf(path, sizeof path, "%s/config.json", directory);
    CHECK(write_whole_file(path, config, strlen(config)), "writing %s", path);
    size_t size = 0;
    void *weights = read_whole_file(fixture_path("paper_mixed", "model/model.safetensors"), &size);
    snprintf(path, sizeof path, "%s/model.safetensors", directory);
    CHECK(weights && write_whole_file(path, weights, size), "writing %s", path);
    free(weights);
    return directory;
}

static void model_functions(void) {
    const char *good = fixture_path("paper_mixed", "model");
    static char good_path[4096];
    snprintf(good_path, sizeof good_path, "%s", good);
    ROW(IA, xlstm_model_default_params(NULL));
    ROW(IA, xlstm_model_load(good_path, NULL, NULL));
    ROW(IA, xlstm_model_load(NULL, NULL, &out_model));
    ROW(XLSTM_ERROR_IO, xlstm_model_load("", NULL, &out_model));
    ROW(XLSTM_ERROR_IO, xlstm_model_load(scratch_file("no-such-directory"), NULL, &out_model));
    ROW(XLSTM_ERROR_IO, xlstm_model_load(fixture_path("paper_mixed", "tokens.i32"), NULL, &out_model));
    const int32_t threads[] = {0, -1, 1025, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.n_threads = threads[i];
        ROW(IA, xlstm_model_load(good_path, &params, &out_model));
    }
    const int32_t policies[] = {-1, 2, INT32_MAX};
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.weight_policy = (xlstm_weight_policy)policies[i];
        ROW(IA, xlstm_model_load(good_path, &params, &out_model));
    }
    const int32_t modes[] = {-1, 3, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.load_mode = (xlstm_load_mode)modes[i];
        ROW(IA, xlstm_model_load(good_path, &params, &out_model));
    }
    const int32_t precisions[] = {-1, 2, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof precisions / sizeof precisions[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.precision = (xlstm_precision)precisions[i];
        ROW(IA, xlstm_model_load(good_path, &params, &out_model));
    }
    const xlstm_load_mode good_modes[] = {XLSTM_LOAD_MMAP, XLSTM_LOAD_COPY, XLSTM_LOAD_MLOCK};
    for (size_t i = 0; i < 3; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.load_mode = good_modes[i];
        ROW(XLSTM_OK, xlstm_model_load(good_path, &params, &out_model));
        // the missing directory with every mode
        ROW(XLSTM_ERROR_IO, xlstm_model_load(scratch_file("no-such-directory"), &params, &out_model));
    }
    // Hostile config.json files: absurd counts are refused before anything is allocated by them.
    const char *absurd[] = {
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"num_blocks\": 1000000000000}",
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"num_blocks\": 1000000000}",
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"num_blocks\": 100, \"embedding_dim\": 64,"
        " \"mlstm_block\": {\"mlstm\": {}}, \"slstm_block\": null}",
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 1000000000000}",
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"embedding_dim\": 1000000000000}",
        "{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"mlstm_block\": {\"mlstm\": {\"proj_factor\": 1e300}}}",
        "{\"model_type\": \"xlstm\", \"vocab_size\": 100, \"embedding_dim\": 64, \"num_blocks\": 1000000000000}",
        "{\"model_type\": \"xlstm\", \"vocab_size\": 100, \"embedding_dim\": 64, \"num_blocks\": 2,"
        " \"qk_dim_factor\": 1e300}",
        "{\"model_type\": \"xlstm\", \"vocab_size\": 100, \"embedding_dim\": 64, \"num_blocks\": 2,"
        " \"num_heads\": -5}",
        "[1, 2, 3]",
        "",
    };
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "absurd-%zu", i);
        ROW(XLSTM_ERROR_INVALID_MODEL, xlstm_model_load(model_dir_with_config(name, absurd[i]), NULL, &out_model));
    }

    // quantization_config that cannot be honoured (issue 10): refused while config.json is read,
    // before any tensor; paper_mixed's own config with the member added.
    size_t config_size = 0;
    char *config = read_whole_file(fixture_path("paper_mixed", "model/config.json"), &config_size);
    CHECK(config != NULL, "reading paper_mixed's config.json");
    struct {
        const char *member;
        xlstm_status expected;
    } quantization[] = {
        {"{\"quant_method\": \"xlstm\", \"format\": \"q3_k\"}", XLSTM_ERROR_UNSUPPORTED},
        {"{\"quant_method\": \"xlstm\", \"format\": \"q8_0\", \"bits\": 8, \"group_size\": 64}", XLSTM_ERROR_UNSUPPORTED},
        {"{\"quant_method\": \"gptq\", \"bits\": 4}", XLSTM_ERROR_UNSUPPORTED},
        {"{\"quant_method\": \"xlstm\", \"format\": \"q4_0\", \"bits\": 8}", XLSTM_ERROR_INVALID_MODEL},
        {"{\"quant_method\": \"xlstm\", \"format\": \"q8_0\", \"scale_dtype\": \"bfloat16\"}", XLSTM_ERROR_UNSUPPORTED},
        {"{\"format\": \"q8_0\"}", XLSTM_ERROR_INVALID_MODEL},
        {"\"q8_0\"", XLSTM_ERROR_INVALID_MODEL},
    };
    for (size_t i = 0; config && i < sizeof quantization / sizeof quantization[0]; i++) {
        size_t end = config_size;
        while (end > 0 && config[end - 1] != '}') end--;
        char text[16384];
        snprintf(text, sizeof text, "%.*s, \"quantization_config\": %s}\n", (int)(end - 1), config, quantization[i].member);
        char name[32];
        snprintf(name, sizeof name, "quantization-%zu", i);
        ROW(quantization[i].expected, xlstm_model_load(model_dir_with_config(name, text), NULL, &out_model));
    }
    free(config);

    ROW(IA, xlstm_model_get_info(NULL, &info_a));
    ROW(IA, xlstm_model_get_info(model_a, NULL));
    xlstm_block_kind kind;
    const int32_t indices[] = {-1, 4, 5, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof indices / sizeof indices[0]; i++) {
        ROW(IA, xlstm_model_get_block_kind(model_a, indices[i], &kind));
    }
    ROW(IA, xlstm_model_get_block_kind(NULL, 0, &kind));
    ROW(IA, xlstm_model_get_block_kind(model_a, 0, NULL));
    ROW(XLSTM_OK, xlstm_model_get_block_kind(model_a, 3, &kind));
}

static void quantize_functions(void) {
    xlstm_quantize_params params;
    const char *good = fixture_path("paper_mixed", "model");
    char good_path[4096];
    snprintf(good_path, sizeof good_path, "%s", good);
    ROW(IA, xlstm_quantize_default_params(NULL));
    ROW(IA, xlstm_model_quantize(NULL, scratch_file("q"), NULL, NULL, NULL));
    ROW(IA, xlstm_model_quantize(good_path, NULL, NULL, NULL, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_model_quantize("", scratch_file("q"), NULL, NULL, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_model_quantize(scratch_file("no-such-directory"), scratch_file("q"), NULL, NULL, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_model_quantize(fixture_path("paper_mixed", "tokens.i32"), scratch_file("q"), NULL, NULL, NULL));
    ROW(XLSTM_ERROR_UNSUPPORTED, xlstm_model_quantize(fixture_path("official_qk96", "model"), scratch_file("q"), NULL, NULL, NULL));
    ROW(IA, xlstm_model_quantize(good_path, "", NULL, NULL, NULL));
    ROW(IA, xlstm_model_quantize(good_path, good_path, NULL, NULL, NULL));          // exists
    ROW(XLSTM_ERROR_IO, xlstm_model_quantize(good_path, scratch_file("no-such-dir/q"), NULL, NULL, NULL));
    const int32_t types[] = {0, 3, -1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        xlstm_quantize_default_params(&params);
        params.type = (xlstm_quant_type)types[i];
        ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    }
    const uint32_t keeps[] = {8, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++) {
        xlstm_quantize_default_params(&params);
        params.keep = keeps[i];
        ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    }
    xlstm_quantize_default_params(&params);
    params.reserved0 = 1;
    ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    xlstm_quantize_default_params(&params);
    params.reserved4 = -1;
    ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    xlstm_quantize_default_params(&params);
    params.overwrite = -1;
    ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    xlstm_quantize_default_params(&params);
    params.max_shard_bytes = UINT64_MAX;
    ROW(IA, xlstm_model_quantize(good_path, scratch_file("q"), &params, NULL, NULL));
    struct stat info;
    CHECK(stat(scratch_file("q"), &info) != 0, "a failed xlstm_model_quantize left its output directory");
}

static void session_functions(void) {
    ROW(IA, xlstm_session_create(NULL, &out_session));
    ROW(IA, xlstm_session_create(model_a, NULL));
    ROW(IA, xlstm_session_reset(NULL));
    ROW(IA, xlstm_session_clone(NULL, &out_session));
    ROW(IA, xlstm_session_clone(with_logits, NULL));
    ROW(IA, xlstm_session_copy_state(NULL, with_logits));
    ROW(IA, xlstm_session_copy_state(without_logits, NULL));
    // Sessions of two models mixed.
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_copy_state(without_logits, other_model));
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_copy_state(other_model, with_logits));
    ROW(XLSTM_OK, xlstm_session_copy_state(with_logits, with_logits));

    const int32_t tokens[] = {-1, 100, 101, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_token(with_logits, tokens[i]));
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_token(without_logits, tokens[i]));
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_token(other_model, tokens[i]));
        int32_t span[6] = {1, 2, 3, 4, 5, 6};
        span[5] = tokens[i];  // the bad id last: nothing of the span may be consumed
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_tokens(with_logits, span, 6, XLSTM_LOGITS_LAST));
        span[5] = 6;
        span[0] = tokens[i];
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_tokens(other_model, span, 6, XLSTM_LOGITS_NONE));
        // one token takes the step path
        ROW(XLSTM_ERROR_TOKEN_OUT_OF_RANGE, xlstm_session_feed_tokens(without_logits, span, 1, XLSTM_LOGITS_LAST));
    }
    ROW(IA, xlstm_session_feed_token(NULL, 1));
    const int32_t span[3] = {1, 2, 3};
    ROW(IA, xlstm_session_feed_tokens(NULL, span, 3, XLSTM_LOGITS_LAST));
    ROW(IA, xlstm_session_feed_tokens(with_logits, NULL, 3, XLSTM_LOGITS_LAST));
    ROW(IA, xlstm_session_feed_tokens(with_logits, span, 3, (xlstm_logits_mode)2));
    ROW(IA, xlstm_session_feed_tokens(with_logits, span, 3, (xlstm_logits_mode)-1));
    ROW(IA, xlstm_session_feed_tokens(with_logits, span, SIZE_MAX, XLSTM_LOGITS_LAST));
    ROW(IA, xlstm_session_feed_tokens(with_logits, span, SIZE_MAX / 2, XLSTM_LOGITS_NONE));
    ROW(XLSTM_OK, xlstm_session_feed_tokens(with_logits, span, 0, XLSTM_LOGITS_LAST));
    ROW(XLSTM_OK, xlstm_session_feed_tokens(with_logits, NULL, 0, XLSTM_LOGITS_NONE));

    float logits[128];
    ROW(IA, xlstm_session_copy_logits(NULL, logits, 100));
    ROW(IA, xlstm_session_copy_logits(with_logits, NULL, 100));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_copy_logits(with_logits, logits, 99));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_copy_logits(with_logits, logits, 1));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_copy_logits(with_logits, logits, 0));
    ROW(XLSTM_ERROR_NO_LOGITS, xlstm_session_copy_logits(without_logits, logits, 100));
    ROW(XLSTM_ERROR_NO_LOGITS, xlstm_session_copy_logits(without_logits, logits, 0));
    ROW(XLSTM_OK, xlstm_session_copy_logits(with_logits, logits, 128));
}

// A copy of `blob` (malloc'd, `size` bytes; the tail zero-filled when longer).
static unsigned char *blob_copy(state_blob blob, size_t size) {
    unsigned char *copy = calloc(size ? size : 1, 1);
    memcpy(copy, blob.bytes, size < blob.size ? size : blob.size);
    return copy;
}

// A blob loader under test: `target` is the session or the sampler the blob is loaded into.
typedef xlstm_status (*blob_loader)(void *target, const void *bytes, size_t size);
static xlstm_status load_session_blob(void *target, const void *bytes, size_t size) {
    return xlstm_session_load_state(target, bytes, size);
}
static xlstm_status load_sampler_blob(void *target, const void *bytes, size_t size) {
    return xlstm_sampler_load_state(target, bytes, size);
}

// The damage every blob format must refuse (the session's and the sampler's share the header: magic
// [0, 8), format version [8, 12)): truncated or over-long copies (`lengths`), one-bit flips at
// `offsets` (bits 0 and 7; the version field gives STATE_VERSION, every other byte STATE_CORRUPT),
// format versions 0, 2 and UINT32_MAX with everything else intact, all zeros and all ones.
static void damaged_blob_rows(state_blob good, const size_t *lengths, size_t n_lengths, const size_t *offsets,
                              size_t n_offsets, blob_loader load, void *target) {
    for (size_t i = 0; i < n_lengths; i++) {
        unsigned char *copy = blob_copy(good, lengths[i]);
        ROW(XLSTM_ERROR_STATE_CORRUPT, load(target, copy, lengths[i]));
        free(copy);
    }
    for (size_t i = 0; i < n_offsets; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            unsigned char *copy = blob_copy(good, good.size);
            copy[offsets[i]] ^= (unsigned char)(1u << bit);
            xlstm_status expected = (offsets[i] >= 8 && offsets[i] < 12) ? XLSTM_ERROR_STATE_VERSION
                                                                          : XLSTM_ERROR_STATE_CORRUPT;
            ROW(expected, load(target, copy, good.size));
            free(copy);
        }
    }
    const uint32_t versions[] = {0, 2, UINT32_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        unsigned char *copy = blob_copy(good, good.size);
        memcpy(copy + 8, &versions[i], 4);
        ROW(XLSTM_ERROR_STATE_VERSION, load(target, copy, good.size));
        free(copy);
    }
    unsigned char *copy = calloc(good.size, 1);
    ROW(XLSTM_ERROR_STATE_CORRUPT, load(target, copy, good.size));
    memset(copy, 0xFF, good.size);
    ROW(XLSTM_ERROR_STATE_CORRUPT, load(target, copy, good.size));
    free(copy);
}

static void state_functions(void) {
    const size_t size = xlstm_session_state_size(with_logits);
    unsigned char *buffer = malloc(size + 64);
    size_t written = 0;
    ROW(IA, xlstm_session_save_state(NULL, buffer, size, &written));
    ROW(IA, xlstm_session_save_state(with_logits, NULL, size, &written));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_save_state(with_logits, buffer, size - 1, &written));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_save_state(with_logits, buffer, 0, NULL));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_session_save_state(other_model, buffer, 1, &written));
    ROW(XLSTM_OK, xlstm_session_save_state(with_logits, buffer, size + 64, NULL));

    state_blob good = snapshot(with_logits);
    state_blob foreign = snapshot(other_model);
    ROW(IA, xlstm_session_load_state(NULL, good.bytes, good.size));
    ROW(IA, xlstm_session_load_state(without_logits, NULL, good.size));
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_load_state(without_logits, foreign.bytes, foreign.size));
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_load_state(other_model, good.bytes, good.size));
    // Truncated and over-long; bit flips in every header field, the state, the logits and the
    // checksum (the checksum is checked before identity); other versions; zeros and ones.
    const size_t lengths[] = {0, 1, 8, 55, 56, 63, 64, good.size / 2, good.size - 8, good.size - 1, good.size + 1,
                              good.size + 4096};
    const size_t offsets[] = {0, 7, 8, 11, 12, 16, 23, 24, 32, 40, 44, 48, 55, 56, 57, 100, good.size / 2,
                              good.size - 4 * 100 - 8, good.size - 9, good.size - 8, good.size - 1};
    damaged_blob_rows(good, lengths, sizeof lengths / sizeof lengths[0], offsets, sizeof offsets / sizeof offsets[0],
                      load_session_blob, without_logits);

    // Files.
    ROW(IA, xlstm_session_save_state_file(NULL, scratch_file("a.state")));
    ROW(IA, xlstm_session_save_state_file(with_logits, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_session_save_state_file(with_logits, scratch_file("no-such-dir/a.state")));
    ROW(XLSTM_ERROR_IO, xlstm_session_save_state_file(with_logits, scratch));  // a directory
    ROW(XLSTM_ERROR_IO, xlstm_session_save_state_file(with_logits, ""));
    ROW(IA, xlstm_session_load_state_file(NULL, scratch_file("a.state")));
    ROW(IA, xlstm_session_load_state_file(without_logits, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_session_load_state_file(without_logits, scratch_file("missing.state")));
    ROW(XLSTM_ERROR_IO, xlstm_session_load_state_file(without_logits, scratch));
    ROW(XLSTM_ERROR_IO, xlstm_session_load_state_file(without_logits, ""));
    CHECK(write_whole_file(scratch_file("empty.state"), "", 0), "writing empty.state");
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_session_load_state_file(without_logits, scratch_file("empty.state")));
    CHECK(write_whole_file(scratch_file("foreign.state"), foreign.bytes, foreign.size), "writing foreign.state");
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_load_state_file(without_logits, scratch_file("foreign.state")));
    CHECK(write_whole_file(scratch_file("short.state"), good.bytes, good.size - 3), "writing short.state");
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_session_load_state_file(without_logits, scratch_file("short.state")));
    ROW(XLSTM_OK, xlstm_session_save_state_file(with_logits, scratch_file("good.state")));
    ROW(XLSTM_ERROR_STATE_MISMATCH, xlstm_session_load_state_file(other_model, scratch_file("good.state")));
    free(good.bytes);
    free(foreign.bytes);
    free(buffer);
}

static void sampler_functions(void) {
    ROW(IA, xlstm_sampler_default_params(NULL));
    ROW(IA, xlstm_sampler_create(NULL, NULL));
    struct {
        const char *field;
        float value;
    } bad_floats[] = {
        {"temperature", -1}, {"temperature", NAN}, {"temperature", INFINITY}, {"top_p", 0}, {"top_p", 1.5f},
        {"top_p", NAN}, {"min_p", -0.1f}, {"min_p", 2}, {"min_p", NAN}, {"repetition_penalty", 0},
        {"repetition_penalty", -1}, {"repetition_penalty", INFINITY}, {"presence_penalty", NAN},
        {"presence_penalty", -INFINITY},
    };
    for (size_t i = 0; i < sizeof bad_floats / sizeof bad_floats[0]; i++) {
        xlstm_sampler_params params;
        xlstm_sampler_default_params(&params);
        if (!strcmp(bad_floats[i].field, "temperature")) params.temperature = bad_floats[i].value;
        if (!strcmp(bad_floats[i].field, "top_p")) params.top_p = bad_floats[i].value;
        if (!strcmp(bad_floats[i].field, "min_p")) params.min_p = bad_floats[i].value;
        if (!strcmp(bad_floats[i].field, "repetition_penalty")) params.repetition_penalty = bad_floats[i].value;
        if (!strcmp(bad_floats[i].field, "presence_penalty")) params.presence_penalty = bad_floats[i].value;
        ROW(IA, xlstm_sampler_create(&params, &out_sampler));
    }
    const int32_t windows[] = {-1, INT32_MIN, (1 << 20) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        xlstm_sampler_params params;
        xlstm_sampler_default_params(&params);
        params.penalty_window = windows[i];
        ROW(IA, xlstm_sampler_create(&params, &out_sampler));
    }
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.top_k = -1;
    ROW(IA, xlstm_sampler_create(&params, &out_sampler));

    xlstm_sampler_params got;
    ROW(IA, xlstm_sampler_get_params(NULL, &got));
    ROW(IA, xlstm_sampler_get_params(sampler, NULL));
    ROW(XLSTM_OK, xlstm_sampler_get_params(sampler, &got));
    ROW(IA, xlstm_sampler_reset(NULL));
    ROW(IA, xlstm_sampler_accept(NULL, 1));
    int32_t token;
    ROW(IA, xlstm_sampler_sample(NULL, with_logits, &token));
    ROW(IA, xlstm_sampler_sample(sampler, NULL, &token));
    ROW(IA, xlstm_sampler_sample(sampler, with_logits, NULL));
    ROW(XLSTM_ERROR_NO_LOGITS, xlstm_sampler_sample(sampler, without_logits, &token));
    float logits[4] = {1, 2, 3, 4};
    float nans[4] = {NAN, NAN, -INFINITY, NAN};
    ROW(IA, xlstm_sampler_sample_logits(NULL, logits, 4, &token));
    ROW(IA, xlstm_sampler_sample_logits(sampler, NULL, 4, &token));
    ROW(IA, xlstm_sampler_sample_logits(sampler, logits, 0, &token));
    ROW(IA, xlstm_sampler_sample_logits(sampler, logits, 4, NULL));
    ROW(IA, xlstm_sampler_sample_logits(sampler, logits, (size_t)INT32_MAX + 1, &token));
    ROW(IA, xlstm_sampler_sample_logits(sampler, logits, SIZE_MAX, &token));
    ROW(IA, xlstm_sampler_sample_logits(sampler, nans, 4, &token));
}

// A sampler state blob of `sampler` (its own copy).
static state_blob sampler_blob(const xlstm_sampler *of) {
    state_blob blob = {NULL, xlstm_sampler_state_size(of)};
    blob.bytes = malloc(blob.size);
    size_t written = 0;
    CHECK_STATUS(xlstm_sampler_save_state(of, blob.bytes, blob.size, &written), XLSTM_OK);
    CHECK(written == blob.size, "xlstm_sampler_save_state wrote %zu of %zu bytes", written, blob.size);
    return blob;
}

static void sampler_state_functions(void) {
    const size_t size = xlstm_sampler_state_size(sampler);
    CHECK(size == 72 + 4 * 64 + 8, "sampler state size %zu for the default window", size);
    unsigned char *buffer = malloc(size + 64);
    size_t written = 0;
    ROW(IA, xlstm_sampler_save_state(NULL, buffer, size, &written));
    ROW(IA, xlstm_sampler_save_state(sampler, NULL, size, &written));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_sampler_save_state(sampler, buffer, size - 1, &written));
    ROW(XLSTM_ERROR_BUFFER_TOO_SMALL, xlstm_sampler_save_state(sampler, buffer, 0, NULL));
    ROW(XLSTM_OK, xlstm_sampler_save_state(sampler, buffer, size + 64, NULL));

    // A blob of another sampler (other seed, options and history): loading it must fail only when damaged.
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = 77;
    params.penalty_window = 5;
    params.presence_penalty = 0.5f;
    xlstm_sampler *donor = NULL;
    CHECK_STATUS(xlstm_sampler_create(&params, &donor), XLSTM_OK);
    for (int32_t t = 0; t < 9; t++) xlstm_sampler_accept(donor, t);
    state_blob good = sampler_blob(donor);
    xlstm_sampler_free(donor);
    state_blob session_blob = snapshot(with_logits);
    ROW(IA, xlstm_sampler_load_state(NULL, good.bytes, good.size));
    ROW(IA, xlstm_sampler_load_state(sampler, NULL, good.size));
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_sampler_load_state(sampler, session_blob.bytes, session_blob.size));
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_sampler_load_state(sampler, session_blob.bytes, good.size));
    // ...and the other way round: a sampler blob is no session state.
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_session_load_state(without_logits, good.bytes, good.size));
    // Truncated and over-long; bit flips in every header field, the history and the checksum;
    // other versions; zeros and ones.
    const size_t lengths[] = {0, 1, 7, 8, 12, 71, 72, 79, good.size / 2, good.size - 8, good.size - 1, good.size + 1,
                              good.size + 4096};
    const size_t offsets[] = {0, 7, 8, 11, 12, 16, 24, 32, 36, 40, 44, 48, 52, 56, 60, 64, 71, 72, 80, good.size - 9,
                              good.size - 8, good.size - 1};
    damaged_blob_rows(good, lengths, sizeof lengths / sizeof lengths[0], offsets, sizeof offsets / sizeof offsets[0],
                      load_sampler_blob, sampler);

    // Files.
    ROW(IA, xlstm_sampler_save_state_file(NULL, scratch_file("a.sampler")));
    ROW(IA, xlstm_sampler_save_state_file(sampler, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_sampler_save_state_file(sampler, scratch_file("no-such-dir/a.sampler")));
    ROW(XLSTM_ERROR_IO, xlstm_sampler_save_state_file(sampler, scratch));  // a directory
    ROW(XLSTM_ERROR_IO, xlstm_sampler_save_state_file(sampler, ""));
    ROW(IA, xlstm_sampler_load_state_file(NULL, scratch_file("a.sampler")));
    ROW(IA, xlstm_sampler_load_state_file(sampler, NULL));
    ROW(XLSTM_ERROR_IO, xlstm_sampler_load_state_file(sampler, scratch_file("missing.sampler")));
    ROW(XLSTM_ERROR_IO, xlstm_sampler_load_state_file(sampler, scratch));
    ROW(XLSTM_ERROR_IO, xlstm_sampler_load_state_file(sampler, ""));
    CHECK(write_whole_file(scratch_file("empty.sampler"), "", 0), "writing empty.sampler");
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_sampler_load_state_file(sampler, scratch_file("empty.sampler")));
    CHECK(write_whole_file(scratch_file("session.state"), session_blob.bytes, session_blob.size), "writing session.state");
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_sampler_load_state_file(sampler, scratch_file("session.state")));
    CHECK(write_whole_file(scratch_file("short.sampler"), good.bytes, good.size - 3), "writing short.sampler");
    ROW(XLSTM_ERROR_STATE_CORRUPT, xlstm_sampler_load_state_file(sampler, scratch_file("short.sampler")));
    ROW(XLSTM_OK, xlstm_sampler_save_state_file(sampler, scratch_file("good.sampler")));
    free(session_blob.bytes);
    free(good.bytes);
    free(buffer);
}

static void sampler_batch_functions(void) {
    xlstm_sampler *second = NULL;
    CHECK_STATUS(xlstm_sampler_create(NULL, &second), XLSTM_OK);
    xlstm_sampler *samplers[2] = {sampler, second};
    xlstm_sampler *repeated[2] = {sampler, sampler};
    xlstm_sampler *with_null[2] = {sampler, NULL};
    xlstm_session *sessions[2] = {with_logits, with_logits};
    xlstm_session *one_without[2] = {with_logits, without_logits};
    xlstm_session *session_null[2] = {with_logits, NULL};
    int32_t tokens[2];
    ROW(IA, xlstm_sampler_sample_batch(NULL, sessions, 2, tokens));
    ROW(IA, xlstm_sampler_sample_batch(samplers, NULL, 2, tokens));
    ROW(IA, xlstm_sampler_sample_batch(samplers, sessions, 2, NULL));
    ROW(IA, xlstm_sampler_sample_batch(with_null, sessions, 2, tokens));
    ROW(IA, xlstm_sampler_sample_batch(samplers, session_null, 2, tokens));
    ROW(IA, xlstm_sampler_sample_batch(repeated, sessions, 2, tokens));
    ROW(IA, xlstm_sampler_sample_batch(samplers, sessions, SIZE_MAX, tokens));
    ROW(IA, xlstm_sampler_sample_batch(samplers, sessions, (size_t)XLSTM_SAMPLE_BATCH_MAX + 1, tokens));
    ROW(XLSTM_ERROR_NO_LOGITS, xlstm_sampler_sample_batch(samplers, one_without, 2, tokens));
    ROW(XLSTM_OK, xlstm_sampler_sample_batch(NULL, NULL, 0, NULL));
    ROW(XLSTM_OK, xlstm_sampler_sample_batch(samplers, sessions, 0, tokens));
    xlstm_sampler_free(second);
}

// Functions without a status: the same bad arguments give documented neutral results.
static void non_status_functions(void) {
    CHECK(xlstm_api_version() == XLSTM_API_VERSION, "api version");
    CHECK(xlstm_version_string() && xlstm_version_string()[0], "version string");
    const int statuses[] = {-1, 11, 1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *text = xlstm_status_string((xlstm_status)statuses[i]);
        CHECK(text && text[0], "xlstm_status_string(%d) is empty", statuses[i]);
        rows++;
    }
    CHECK(xlstm_session_model(NULL) == NULL, "xlstm_session_model(NULL)");
    CHECK(xlstm_session_logits(NULL) == NULL, "xlstm_session_logits(NULL)");
    CHECK(xlstm_session_logits(without_logits) == NULL, "logits of a session without");
    CHECK(xlstm_session_n_tokens(NULL) == -1, "xlstm_session_n_tokens(NULL)");
    CHECK(xlstm_session_state_size(NULL) == 0, "xlstm_session_state_size(NULL)");
    CHECK(xlstm_sampler_state_size(NULL) == 0, "xlstm_sampler_state_size(NULL)");
    xlstm_model_free(NULL);
    xlstm_session_free(NULL);
    xlstm_sampler_free(NULL);
    rows += 9;
    snprintf(case_note, sizeof case_note, "(%d rows in the whole table)", rows);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_bad_input", argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/xlstm-bad-input-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    model_a = load_fixture_model("paper_mixed", NULL);
    model_b = load_fixture_model("large_basic", NULL);
    if (!model_a || !model_b) return 1;
    xlstm_model_get_info(model_a, &info_a);
    with_logits = new_session(model_a);
    without_logits = new_session(model_a);
    other_model = new_session(model_b);
    const int32_t fed[] = {3, 14, 15, 92};
    xlstm_session_feed_tokens(with_logits, fed, 4, XLSTM_LOGITS_LAST);
    xlstm_session_feed_tokens(other_model, fed, 3, XLSTM_LOGITS_LAST);
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = 99;
    params.repetition_penalty = 1.3f;  // penalties on, so a changed history changes the draws
    params.presence_penalty = 2.0f;
    xlstm_sampler_create(&params, &sampler);
    xlstm_sampler_create(&params, &sampler_twin);
    fresh_logits(model_a, reference_a);
    fresh_logits(model_b, reference_b);

    RUN(model_functions);
    RUN(quantize_functions);
    RUN(session_functions);
    RUN(state_functions);
    RUN(sampler_functions);
    RUN(sampler_state_functions);
    RUN(sampler_batch_functions);
    RUN(non_status_functions);

    xlstm_session_free(with_logits);
    xlstm_session_free(without_logits);
    xlstm_session_free(other_model);
    xlstm_sampler_free(sampler);
    xlstm_sampler_free(sampler_twin);
    xlstm_model_free(model_a);
    xlstm_model_free(model_b);
    char command[8192 + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    return finish();
}

// xlstm_model_quantize through the header: the output directory and its safetensors files (the
// header parsed here by hand: 8-byte length, JSON, contiguous data to the end of the file), the
// progress callback (monotonic, ends at total, user_data passed through), cancelling (status
// XLSTM_ERROR_CANCELLED, no output directory, no temporary directory left), an existing output, an
// already quantized input, overwrite, and the params checks.
//
// Usage: test_quantize [FIXTURES_DIR]

#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char scratch[4096];

static const char *scratch_path(const char *name) {
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    return path;
}

/// Entries of `dir` other than . and .., or -1 if it cannot be opened.
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

static int is_directory(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

typedef struct {
    int calls;
    uint64_t last_done, total;
    int monotonic;
    uint64_t cancel_after;   // cancel once done > cancel_after (UINT64_MAX: never)
} progress_log;

static int32_t record_progress(uint64_t done, uint64_t total, void *user_data) {
    progress_log *log = user_data;
    if (log->calls > 0 && (done < log->last_done || total != log->total)) log->monotonic = 0;
    log->calls++;
    log->last_done = done;
    log->total = total;
    return done > log->cancel_after ? 1 : 0;
}

/// The JSON text of a safetensors file's header (malloc'd), after checking the framing.
static char *safetensors_header(const char *path, size_t *file_size) {
    size_t size = 0;
    unsigned char *bytes = read_whole_file(path, &size);
    if (!bytes || size < 8) { free(bytes); return NULL; }
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)bytes[i] << (8 * i);
    CHECK(n <= size - 8 && (8 + n) % 64 == 0, "%s: header length %llu (file %zu bytes)", path, (unsigned long long)n, size);
    if (n > size - 8) { free(bytes); return NULL; }
    char *text = malloc(n + 1);
    memcpy(text, bytes + 8, n);
    text[n] = '\0';
    free(bytes);
    *file_size = size;
    return text;
}

static void quantize_and_check_files(void) {
    char out[8192];
    snprintf(out, sizeof out, "%s", scratch_path("q8"));
    progress_log log = {0, 0, 0, 1, UINT64_MAX};
    xlstm_quantize_params params;
    CHECK_STATUS(xlstm_quantize_default_params(&params), XLSTM_OK);
    CHECK(params.type == XLSTM_QUANT_Q8_0 && params.keep == 0 && params.overwrite == 0 && params.max_shard_bytes == 0,
          "default params");
    CHECK_STATUS(xlstm_model_quantize(fixture_path("paper_mixed", "model"), out, &params, record_progress, &log), XLSTM_OK);
    CHECK(log.calls >= 3 && log.monotonic && log.last_done == log.total && log.total > 0,
          "progress: %d calls, monotonic %d, last %llu of %llu", log.calls, log.monotonic,
          (unsigned long long)log.last_done, (unsigned long long)log.total);
    CHECK(count_entries(out) == 2, "%s holds %d entries (config.json, model.safetensors)", out, count_entries(out));
    CHECK(count_entries(scratch) == 1, "a temporary directory was left next to the output");
    char path[8192 + 32];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    size_t size = 0;
    char *header = safetensors_header(path, &size);
    CHECK(header != NULL, "%s: not a safetensors file", path);
    if (header) {
        // proj_up [256, 64] → I8 [256, 64] + F16 scales [256, 2]; a norm stays F32.
        const char *expected[] = {
            "\"xlstm_block_stack.blocks.0.xlstm.proj_up.weight\":{\"dtype\":\"I8\",\"shape\":[256,64]",
            "\"xlstm_block_stack.blocks.0.xlstm.proj_up.weight_scale\":{\"dtype\":\"F16\",\"shape\":[256,2]",
            "\"xlstm_block_stack.blocks.0.xlstm.conv1d.conv.weight\":{\"dtype\":\"F32\",\"shape\":[128,1,4]",
            "\"__metadata__\":{\"format\":\"pt\"}",
        };
        for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
            CHECK(strstr(header, expected[i]) != NULL, "header lacks %s", expected[i]);
        }
        free(header);
    }
    snprintf(path, sizeof path, "%s/config.json", out);
    size_t config_size = 0;
    char *config = read_whole_file(path, &config_size);
    CHECK(config && strstr(config, "\"quantization_config\"") && strstr(config, "\"q8_0\""), "config.json lacks quantization_config");
    free(config);
    // Quantizing the quantized model is refused; so is an existing output without overwrite.
    CHECK_FAILS(xlstm_model_quantize(out, scratch_path("again"), NULL, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(xlstm_last_error_message(), "already quantized") != NULL, "message: %s", xlstm_last_error_message());
    CHECK_FAILS(xlstm_model_quantize(fixture_path("paper_mixed", "model"), out, NULL, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    params.overwrite = 1;
    params.type = XLSTM_QUANT_Q4_0;
    CHECK_STATUS(xlstm_model_quantize(fixture_path("paper_mixed", "model"), out, &params, NULL, NULL), XLSTM_OK);
    snprintf(path, sizeof path, "%s/config.json", out);
    config = read_whole_file(path, &config_size);
    CHECK(config && strstr(config, "\"q4_0\""), "overwrite did not replace the output");
    free(config);
    CHECK(count_entries(scratch) == 1, "overwrite left a directory behind");
}

static void cancel_leaves_nothing(void) {
    const uint64_t points[] = {0, 1000, 100000};
    char out[8192];
    snprintf(out, sizeof out, "%s", scratch_path("cancelled"));
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        progress_log log = {0, 0, 0, 1, points[i]};
        xlstm_status status = xlstm_model_quantize(fixture_path("large_bf16_sharded", "model"), out, NULL,
                                                   record_progress, &log);
        CHECK(status == XLSTM_ERROR_CANCELLED, "cancel after %llu bytes: status %d (%s)", (unsigned long long)points[i],
              (int)status, xlstm_last_error_message());
        CHECK(xlstm_last_error_message()[0] != '\0', "empty message");
        CHECK(!is_directory(out), "the cancelled run left %s", out);
        CHECK(count_entries(scratch) == 0, "the cancelled run left %d entries in %s", count_entries(scratch), scratch);
    }
}

static void bad_params(void) {
    xlstm_quantize_params params;
    char in[4096], out[8192];
    snprintf(in, sizeof in, "%s", fixture_path("paper_mixed", "model"));
    snprintf(out, sizeof out, "%s", scratch_path("bad"));
    xlstm_quantize_default_params(&params);
    params.type = 0;
    CHECK_FAILS(xlstm_model_quantize(in, out, &params, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    params.type = 3;
    CHECK_FAILS(xlstm_model_quantize(in, out, &params, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_quantize_default_params(&params);
    params.keep = 8;
    CHECK_FAILS(xlstm_model_quantize(in, out, &params, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_quantize_default_params(&params);
    params.reserved3 = 1;
    CHECK_FAILS(xlstm_model_quantize(in, out, &params, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_quantize_default_params(&params);
    params.overwrite = 2;
    CHECK_FAILS(xlstm_model_quantize(in, out, &params, NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(count_entries(scratch) == 0, "a failed call left something in %s", scratch);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_quantize", argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/xlstm-test-quantize-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(bad_params);
    RUN(cancel_leaves_nothing);
    RUN(quantize_and_check_files);
    char command[8192 + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    return finish();
}

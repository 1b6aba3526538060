// The C API's contract on its error paths, through the public header only: every pointer parameter
// given NULL, out-of-range token ids, undersized buffers, missing logits, foreign / damaged /
// truncated / newer state blobs, unloadable model directories, option validation, versions and
// status strings. Every failure must return the documented status with a non-empty
// xlstm_last_error_message(), set output handles to NULL, and leave sessions exactly as they were
// (compared as saved state blobs).
//
// Usage: test_api [FIXTURES_DIR]   (default Tests/Fixtures)

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

// The main fixture and a fixture of a different architecture (for foreign state blobs).
static const char *const main_fixture = "paper_mixed";     // paper family, blocks m,s,m,s, vocab 100
static const char *const foreign_fixture = "large_basic";  // 7B family, 2 mLSTM blocks, vocab 100

static xlstm_model *model;          // main_fixture's model
static xlstm_model_info info;       // its description
static char scratch_dir[4096];      // a temporary directory for files

// Garbage a function must overwrite with NULL when it fails.
#define NOT_NULL_SENTINEL ((void *)(uintptr_t)0x1)

static const int32_t some_tokens[] = {3, 14, 15, 92, 65, 35, 89, 79};
#define N_SOME_TOKENS (sizeof some_tokens / sizeof some_tokens[0])

// A session of the main model that has consumed `n` tokens (with logits when n > 0).
static xlstm_session *session_after(size_t n) {
    xlstm_session *session = new_session(model);
    if (session && n > 0) CHECK_STATUS(xlstm_session_feed_tokens(session, some_tokens, n, XLSTM_LOGITS_LAST), XLSTM_OK);
    return session;
}

static const char *scratch_path(const char *name) {
    static char path[4096 + 256];
    snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
    return path;
}

static int contains(const char *haystack, const char *needle) {
    return haystack && needle && strstr(haystack, needle) != NULL;
}

// ---------------------------------------------------------------------------------------------
// Versions, status strings, the last error

static void versions_match_header(void) {
    CHECK(xlstm_api_version() == XLSTM_API_VERSION, "xlstm_api_version() %d != XLSTM_API_VERSION %d",
          (int)xlstm_api_version(), (int)XLSTM_API_VERSION);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", (int)XLSTM_VERSION_MAJOR, (int)XLSTM_VERSION_MINOR,
             (int)XLSTM_VERSION_PATCH);
    const char *version = xlstm_version_string();
    CHECK(version && strcmp(version, expected) == 0, "xlstm_version_string() \"%s\" != header's \"%s\"",
          version ? version : "(null)", expected);
    CHECK(xlstm_version_string() == version, "xlstm_version_string() is not one static string");

    // The blob's version field is XLSTM_STATE_FORMAT_VERSION.
    xlstm_session *session = session_after(0);
    state_blob blob = snapshot(session);
    uint32_t version_field = 0;
    if (blob.size >= 12) memcpy(&version_field, blob.bytes + 8, 4);  // little-endian host
    CHECK(version_field == (uint32_t)XLSTM_STATE_FORMAT_VERSION, "blob version %u != XLSTM_STATE_FORMAT_VERSION %d",
          version_field, (int)XLSTM_STATE_FORMAT_VERSION);
    CHECK(blob.size >= 8 && memcmp(blob.bytes, "XLSTMSTA", 8) == 0, "blob magic is not XLSTMSTA");
    free(blob.bytes);
    xlstm_session_free(session);
}

static void status_strings(void) {
    const char *seen[XLSTM_ERROR_OUT_OF_MEMORY + 1];
    for (int status = XLSTM_OK; status <= XLSTM_ERROR_OUT_OF_MEMORY; status++) {
        const char *text = xlstm_status_string((xlstm_status)status);
        seen[status] = text;
        CHECK(text && text[0] && strcmp(text, "unknown status") != 0, "status %d has no string", status);
        for (int other = XLSTM_OK; text && other < status; other++) {
            CHECK(seen[other] && strcmp(seen[other], text) != 0, "statuses %d and %d share \"%s\"", other, status, text);
        }
    }
    CHECK(strcmp(xlstm_status_string(XLSTM_OK), "ok") == 0, "XLSTM_OK is \"%s\"", xlstm_status_string(XLSTM_OK));
    CHECK(strcmp(xlstm_status_string(XLSTM_ERROR_TOKEN_OUT_OF_RANGE), "token out of range") == 0, "%s",
          xlstm_status_string(XLSTM_ERROR_TOKEN_OUT_OF_RANGE));
    const int unknown[] = {-1, XLSTM_ERROR_OUT_OF_MEMORY + 1, 1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *text = xlstm_status_string((xlstm_status)unknown[i]);
        CHECK(text && strcmp(text, "unknown status") == 0, "status %d: \"%s\"", unknown[i], text ? text : "(null)");
    }
    // The documented enum values are stable.
    CHECK(XLSTM_OK == 0 && XLSTM_ERROR_INVALID_ARGUMENT == 1 && XLSTM_ERROR_IO == 2 && XLSTM_ERROR_INVALID_MODEL == 3 &&
              XLSTM_ERROR_UNSUPPORTED == 4 && XLSTM_ERROR_TOKEN_OUT_OF_RANGE == 5 &&
              XLSTM_ERROR_BUFFER_TOO_SMALL == 6 && XLSTM_ERROR_STATE_MISMATCH == 7 &&
              XLSTM_ERROR_STATE_VERSION == 8 && XLSTM_ERROR_STATE_CORRUPT == 9 && XLSTM_ERROR_NO_LOGITS == 10 &&
              XLSTM_ERROR_CANCELLED == 11 && XLSTM_ERROR_OUT_OF_MEMORY == 12,
          "status values differ from the Swift enum");
}

static void *fresh_thread_last_error(void *argument) {
    const char **messages = argument;
    messages[0] = xlstm_last_error_message();  // nothing failed on this thread yet
    xlstm_model_default_params(NULL);
    messages[1] = strdup(xlstm_last_error_message());
    return NULL;
}

static void last_error_is_per_thread_and_kept_by_successes(void) {
    CHECK_FAILS(xlstm_session_reset(NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    char *main_message = strdup(xlstm_last_error_message());
    CHECK(contains(main_message, "session"), "message \"%s\" does not name the argument", main_message);

    const char *messages[2] = {NULL, NULL};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, fresh_thread_last_error, messages) == 0, "pthread_create");
    pthread_join(thread, NULL);
    CHECK(messages[0] && messages[0][0] == '\0', "a fresh thread's last error is \"%s\", not \"\"",
          messages[0] ? messages[0] : "(null)");
    CHECK(contains(messages[1], "params"), "the other thread's message is \"%s\"", messages[1] ? messages[1] : "(null)");
    CHECK(strcmp(xlstm_last_error_message(), main_message) == 0, "another thread's error replaced this thread's");

    // Successful calls leave it unchanged.
    xlstm_model_params params;
    CHECK_STATUS(xlstm_model_default_params(&params), XLSTM_OK);
    xlstm_session *session = session_after(2);
    xlstm_session_free(session);
    CHECK(strcmp(xlstm_last_error_message(), main_message) == 0, "a successful call changed the last error to \"%s\"",
          xlstm_last_error_message());
    free((void *)messages[1]);
    free(main_message);
}

// ---------------------------------------------------------------------------------------------
// Models

static void model_default_params_and_null(void) {
    CHECK_FAILS(xlstm_model_default_params(NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_model_params params;
    memset(&params, 0x5a, sizeof params);
    CHECK_STATUS(xlstm_model_default_params(&params), XLSTM_OK);
    CHECK(params.n_threads == 1 && params.weight_policy == XLSTM_WEIGHTS_NATIVE, "defaults: n_threads %d, policy %d",
          (int)params.n_threads, (int)params.weight_policy);
    CHECK(params.cpu_path == XLSTM_CPU_AUTO, "defaults: cpu_path %d", (int)params.cpu_path);
    CHECK(params.precision == XLSTM_PRECISION_EXACT, "defaults: precision %d", (int)params.precision);
    CHECK(params.reserved1 == 0 && params.reserved2 == 0 && params.reserved3 == 0, "defaults: reserved fields not 0");
}

// Kernel paths: names, what this CPU runs, forcing each one, refusing unknown and unsupported ones.
static void model_cpu_paths(void) {
    CHECK(strcmp(xlstm_cpu_path_name(XLSTM_CPU_AUTO), "auto") == 0, "auto");
    CHECK(strcmp(xlstm_cpu_path_name(XLSTM_CPU_PORTABLE), "portable") == 0, "portable");
    CHECK(strcmp(xlstm_cpu_path_name(XLSTM_CPU_AVX2), "avx2") == 0, "avx2");
    CHECK(strcmp(xlstm_cpu_path_name(XLSTM_CPU_AVX512), "avx512") == 0, "avx512");
    CHECK(strcmp(xlstm_cpu_path_name((xlstm_cpu_path)77), "unknown") == 0, "unknown");
    xlstm_cpu_path best = xlstm_cpu_best_path();
    CHECK(best >= XLSTM_CPU_PORTABLE && best <= XLSTM_CPU_AVX512, "best path %d", (int)best);
    CHECK(xlstm_cpu_supports_path(XLSTM_CPU_PORTABLE) && xlstm_cpu_supports_path(best), "best/portable unsupported");
    CHECK(!xlstm_cpu_supports_path((xlstm_cpu_path)77) && !xlstm_cpu_supports_path((xlstm_cpu_path)-1), "77/-1");
    int tried = 0;
    for (int p = XLSTM_CPU_PORTABLE; p <= XLSTM_CPU_AVX512; p++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.cpu_path = (xlstm_cpu_path)p;
        xlstm_model *loaded = NOT_NULL_SENTINEL;
        xlstm_status status = xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded);
        if (xlstm_cpu_supports_path((xlstm_cpu_path)p)) {
            tried++;
            CHECK(status == XLSTM_OK, "cpu_path %s: %s", xlstm_cpu_path_name((xlstm_cpu_path)p), xlstm_last_error_message());
            if (status != XLSTM_OK) continue;
            xlstm_cpu_path used = XLSTM_CPU_AUTO;
            CHECK_STATUS(xlstm_model_get_cpu_path(loaded, &used), XLSTM_OK);
            CHECK((int)used == p, "cpu_path %d: runs %d", p, (int)used);
            xlstm_model_free(loaded);
        } else {
            CHECK(status == XLSTM_ERROR_UNSUPPORTED && loaded == NULL, "cpu_path %s on a CPU without it: status %d",
                  xlstm_cpu_path_name((xlstm_cpu_path)p), (int)status);
            CHECK(contains(xlstm_last_error_message(), xlstm_cpu_path_name((xlstm_cpu_path)p)), "message \"%s\"",
                  xlstm_last_error_message());
        }
    }
    CHECK(tried >= 1, "no path loaded");
    // AUTO runs the best path unless XLSTM_CPU caps it.
    xlstm_model *loaded = NULL;
    CHECK_STATUS(xlstm_model_load(fixture_path(main_fixture, "model"), NULL, &loaded), XLSTM_OK);
    if (loaded) {
        xlstm_cpu_path used = XLSTM_CPU_AUTO;
        CHECK_STATUS(xlstm_model_get_cpu_path(loaded, &used), XLSTM_OK);
        const char *cap = getenv("XLSTM_CPU");
        if (!cap || !*cap || strcmp(cap, "auto") == 0) CHECK(used == best, "auto runs %d, best is %d", (int)used, (int)best);
        else CHECK(strcmp(xlstm_cpu_path_name(used), cap) == 0, "XLSTM_CPU=%s, runs %s", cap, xlstm_cpu_path_name(used));
        xlstm_model_free(loaded);
    }
    CHECK_FAILS(xlstm_model_get_cpu_path(NULL, &best), XLSTM_ERROR_INVALID_ARGUMENT);
    // Unknown paths and non-zero reserved fields are refused, naming the field.
    const int32_t bad_paths[] = {-1, 4, 99};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.cpu_path = (xlstm_cpu_path)bad_paths[i];
        loaded = NOT_NULL_SENTINEL;
        CHECK_FAILS(xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded), XLSTM_ERROR_INVALID_ARGUMENT);
        CHECK(loaded == NULL && contains(xlstm_last_error_message(), "cpu_path"), "cpu_path %d: \"%s\"", (int)bad_paths[i],
              xlstm_last_error_message());
    }
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.reserved2 = 1;
    loaded = NOT_NULL_SENTINEL;
    CHECK_FAILS(xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(loaded == NULL && contains(xlstm_last_error_message(), "reserved"), "reserved: \"%s\"",
          xlstm_last_error_message());
}

static void model_load_null_arguments(void) {
    xlstm_model *loaded = NOT_NULL_SENTINEL;
    CHECK_FAILS(xlstm_model_load(NULL, NULL, &loaded), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(loaded == NULL, "*model not set to NULL on failure (path NULL)");
    CHECK(contains(xlstm_last_error_message(), "path"), "message: %s", xlstm_last_error_message());
    CHECK_FAILS(xlstm_model_load(fixture_path(main_fixture, "model"), NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    // params NULL = defaults.
    loaded = NOT_NULL_SENTINEL;
    CHECK_STATUS(xlstm_model_load(fixture_path(main_fixture, "model"), NULL, &loaded), XLSTM_OK);
    CHECK(loaded != NULL && loaded != NOT_NULL_SENTINEL, "no model");
    if (loaded != NOT_NULL_SENTINEL) xlstm_model_free(loaded);
    xlstm_model_free(NULL);  // ignored
}

static void model_load_option_validation(void) {
    const int32_t bad_threads[] = {0, -1, 1025, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_threads / sizeof bad_threads[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.n_threads = bad_threads[i];
        xlstm_model *loaded = NOT_NULL_SENTINEL;
        CHECK_FAILS(xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded), XLSTM_ERROR_INVALID_ARGUMENT);
        CHECK(loaded == NULL, "n_threads %d: *model not NULL", (int)bad_threads[i]);
        CHECK(contains(xlstm_last_error_message(), "n_threads"), "n_threads %d: message \"%s\"", (int)bad_threads[i],
              xlstm_last_error_message());
    }
    const int32_t bad_policies[] = {-1, 2, 100};
    for (size_t i = 0; i < sizeof bad_policies / sizeof bad_policies[0]; i++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.weight_policy = (xlstm_weight_policy)bad_policies[i];
        xlstm_model *loaded = NOT_NULL_SENTINEL;
        CHECK_FAILS(xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded), XLSTM_ERROR_INVALID_ARGUMENT);
        CHECK(loaded == NULL, "weight_policy %d: *model not NULL", (int)bad_policies[i]);
        CHECK(contains(xlstm_last_error_message(), "weight_policy"), "policy %d: message \"%s\"", (int)bad_policies[i],
              xlstm_last_error_message());
    }
    // The boundaries that are valid.
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.n_threads = 2;
    params.weight_policy = XLSTM_WEIGHTS_FLOAT32;
    xlstm_model *loaded = NULL;
    CHECK_STATUS(xlstm_model_load(fixture_path(main_fixture, "model"), &params, &loaded), XLSTM_OK);
    xlstm_model_free(loaded);
}

// Copies fixture `name`'s model directory into scratch_dir/<copy> (flat directory).
static const char *copy_model_dir(const char *name, const char *copy) {
    static char target[4096 + 256];
    snprintf(target, sizeof target, "%s/%s", scratch_dir, copy);
    mkdir(target, 0755);
    char source_dir[4096];
    snprintf(source_dir, sizeof source_dir, "%s", fixture_path(name, "model"));
    DIR *dir = opendir(source_dir);
    CHECK(dir != NULL, "cannot list %s", source_dir);
    if (!dir) return target;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (entry->d_name[0] == '.') continue;
        char from[4096 + 512], to[4096 + 512];
        snprintf(from, sizeof from, "%s/%s", source_dir, entry->d_name);
        snprintf(to, sizeof to, "%s/%s", target, entry->d_name);
        size_t size = 0;
        void *bytes = read_whole_file(from, &size);
        CHECK(bytes && write_whole_file(to, bytes, size), "copying %s", from);
        free(bytes);
    }
    closedir(dir);
    return target;
}

// Loading `directory` fails with `expected`, *model = NULL, and the message contains `named`.
static void check_load_fails(const char *directory, xlstm_status expected, const char *named) {
    xlstm_model *loaded = NOT_NULL_SENTINEL;
    xlstm_status status = xlstm_model_load(directory, NULL, &loaded);
    const char *message = xlstm_last_error_message();
    CHECK(status == expected, "loading %s: %d (%s), expected %s; message \"%s\"", directory,
          (int)status, xlstm_status_string(status), xlstm_status_string(expected), message);
    CHECK(loaded == NULL, "loading %s: *model not NULL on failure", directory);
    CHECK(contains(message, named), "loading %s: message \"%s\" does not name %s", directory, message, named);
    if (status == XLSTM_OK && loaded != NOT_NULL_SENTINEL) xlstm_model_free(loaded);
}

static void model_load_missing_and_malformed(void) {
    char path[4096 + 512];

    snprintf(path, sizeof path, "%s/no-such-model", scratch_dir);
    check_load_fails(path, XLSTM_ERROR_IO, path);

    // A regular file where a directory is expected.
    snprintf(path, sizeof path, "%s", fixture_path(main_fixture, "tokens.i32"));
    check_load_fails(path, XLSTM_ERROR_IO, path);

    // An empty directory: no config.json.
    snprintf(path, sizeof path, "%s/empty-model", scratch_dir);
    mkdir(path, 0755);
    check_load_fails(path, XLSTM_ERROR_INVALID_MODEL, path);

    // config.json that is not JSON.
    const char *directory = copy_model_dir(main_fixture, "bad-json");
    snprintf(path, sizeof path, "%s/config.json", directory);
    CHECK(write_whole_file(path, "{\"model_type\": \"xlstm_lm\", ", 27), "writing %s", path);
    check_load_fails(directory, XLSTM_ERROR_INVALID_MODEL, path);

    // A model_type this library does not know.
    directory = copy_model_dir(main_fixture, "bad-type");
    snprintf(path, sizeof path, "%s/config.json", directory);
    CHECK(write_whole_file(path, "{\"model_type\": \"gpt2\"}", 22), "writing %s", path);
    check_load_fails(directory, XLSTM_ERROR_UNSUPPORTED, path);

    // Truncated weights.
    directory = copy_model_dir(main_fixture, "truncated");
    snprintf(path, sizeof path, "%s/model.safetensors", directory);
    size_t size = 0;
    void *bytes = read_whole_file(path, &size);
    CHECK(bytes && write_whole_file(path, bytes, size / 2), "truncating %s", path);
    free(bytes);
    check_load_fails(directory, XLSTM_ERROR_INVALID_MODEL, path);

    // Weights missing altogether.
    unlink(path);
    check_load_fails(directory, XLSTM_ERROR_INVALID_MODEL, directory);
}

static void model_info_and_block_kinds(void) {
    CHECK_FAILS(xlstm_model_get_info(NULL, &info), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_info(model, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_model_info described;
    CHECK_STATUS(xlstm_model_get_info(model, &described), XLSTM_OK);
    CHECK(described.family == XLSTM_FAMILY_PAPER, "family %d", (int)described.family);
    CHECK(described.vocab_size == 100 && described.embedding_dim == 64 && described.n_blocks == 4,
          "vocab %d, embedding %d, blocks %d", (int)described.vocab_size, (int)described.embedding_dim,
          (int)described.n_blocks);
    CHECK(described.n_parameters == 140240, "n_parameters %llu (meta.json: 140240)",
          (unsigned long long)described.n_parameters);
    CHECK(described.state_size > 0 && described.state_bytes_in_memory > 0 && described.fingerprint != 0,
          "state_size %llu, state_bytes_in_memory %llu", (unsigned long long)described.state_size,
          (unsigned long long)described.state_bytes_in_memory);

    const xlstm_block_kind expected[] = {XLSTM_BLOCK_MLSTM, XLSTM_BLOCK_SLSTM, XLSTM_BLOCK_MLSTM, XLSTM_BLOCK_SLSTM};
    for (int32_t i = 0; i < 4; i++) {
        xlstm_block_kind kind = (xlstm_block_kind)-7;
        CHECK_STATUS(xlstm_model_get_block_kind(model, i, &kind), XLSTM_OK);
        CHECK(kind == expected[i], "block %d: kind %d", (int)i, (int)kind);
    }
    xlstm_block_kind kind;
    CHECK_FAILS(xlstm_model_get_block_kind(NULL, 0, &kind), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_block_kind(model, 0, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_block_kind(model, -1, &kind), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_block_kind(model, 4, &kind), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_model_get_block_kind(model, INT32_MAX, &kind), XLSTM_ERROR_INVALID_ARGUMENT);

    // The other family.
    xlstm_model *other = load_fixture_model(foreign_fixture, NULL);
    if (other) {
        CHECK_STATUS(xlstm_model_get_info(other, &described), XLSTM_OK);
        CHECK(described.family == XLSTM_FAMILY_LARGE && described.n_blocks == 2, "large_basic: family %d, blocks %d",
              (int)described.family, (int)described.n_blocks);
        CHECK(described.fingerprint != info.fingerprint, "two architectures share a fingerprint");
        CHECK_STATUS(xlstm_model_get_block_kind(other, 1, &kind), XLSTM_OK);
        CHECK(kind == XLSTM_BLOCK_MLSTM, "large block 1: kind %d", (int)kind);
        xlstm_model_free(other);
    }
}

static void model_outlives_its_handle_while_sessions_exist(void) {
    xlstm_model *transient = load_fixture_model(main_fixture, NULL);
    if (!transient) return;
    xlstm_session *session = new_session(transient);
    CHECK(xlstm_session_model(session) == transient, "xlstm_session_model is not the model");
    xlstm_model_free(transient);  // the session keeps it alive
    CHECK_STATUS(xlstm_session_feed_tokens(session, some_tokens, 4, XLSTM_LOGITS_LAST), XLSTM_OK);
    xlstm_model_info described;
    CHECK_STATUS(xlstm_model_get_info(xlstm_session_model(session), &described), XLSTM_OK);
    CHECK(described.vocab_size == info.vocab_size, "vocab %d", (int)described.vocab_size);
    xlstm_session_free(session);
}

// ---------------------------------------------------------------------------------------------
// Sessions

static void session_create_free_model_null(void) {
    xlstm_session *session = NOT_NULL_SENTINEL;
    CHECK_FAILS(xlstm_session_create(NULL, &session), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(session == NULL, "*session not NULL on failure");
    CHECK_FAILS(xlstm_session_create(model, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_session_free(NULL);
    CHECK(xlstm_session_model(NULL) == NULL, "xlstm_session_model(NULL) is not NULL");
    CHECK(xlstm_session_n_tokens(NULL) == -1, "xlstm_session_n_tokens(NULL) = %lld",
          (long long)xlstm_session_n_tokens(NULL));
    CHECK(xlstm_session_logits(NULL) == NULL, "xlstm_session_logits(NULL) is not NULL");
    CHECK(xlstm_session_state_size(NULL) == 0, "xlstm_session_state_size(NULL) = %zu",
          (size_t)xlstm_session_state_size(NULL));

    session = new_session(model);
    CHECK(xlstm_session_model(session) == model, "xlstm_session_model is not the model");
    CHECK(xlstm_session_n_tokens(session) == 0, "fresh session has %lld tokens", (long long)xlstm_session_n_tokens(session));
    CHECK(xlstm_session_state_size(session) == info.state_size, "state size %zu, info says %llu",
          (size_t)xlstm_session_state_size(session), (unsigned long long)info.state_size);
    xlstm_session_free(session);
}

static void session_reset_clone_copy_null(void) {
    CHECK_FAILS(xlstm_session_reset(NULL), XLSTM_ERROR_INVALID_ARGUMENT);

    xlstm_session *session = session_after(3);
    state_blob before = snapshot(session);
    xlstm_session *clone = NOT_NULL_SENTINEL;
    CHECK_FAILS(xlstm_session_clone(NULL, &clone), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(clone == NULL, "*clone not NULL on failure");
    CHECK_FAILS(xlstm_session_clone(session, NULL), XLSTM_ERROR_INVALID_ARGUMENT);

    CHECK_FAILS(xlstm_session_copy_state(NULL, session), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_session_copy_state(session, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "a failed copy_state changed the session");
    CHECK_STATUS(xlstm_session_copy_state(session, session), XLSTM_OK);
    CHECK(unchanged(session, before), "copy_state onto itself changed the session");

    // Sessions of different models: XLSTM_ERROR_STATE_MISMATCH, destination unchanged.
    xlstm_model *other_model = load_fixture_model(foreign_fixture, NULL);
    if (other_model) {
        xlstm_session *other = new_session(other_model);
        CHECK_STATUS(xlstm_session_feed_token(other, 7), XLSTM_OK);
        state_blob other_before = snapshot(other);
        CHECK_FAILS(xlstm_session_copy_state(session, other), XLSTM_ERROR_STATE_MISMATCH);
        CHECK(unchanged(session, before), "a failed copy_state changed the destination");
        CHECK_FAILS(xlstm_session_copy_state(other, session), XLSTM_ERROR_STATE_MISMATCH);
        CHECK(unchanged(other, other_before), "a failed copy_state changed the destination");
        free(other_before.bytes);
        xlstm_session_free(other);
        xlstm_model_free(other_model);
    }
    free(before.bytes);
    xlstm_session_free(session);
}

static void feed_token_null_and_out_of_range(void) {
    CHECK_FAILS(xlstm_session_feed_token(NULL, 0), XLSTM_ERROR_INVALID_ARGUMENT);
    const int32_t bad[] = {-1, info.vocab_size, info.vocab_size + 1, INT32_MAX, INT32_MIN};
    for (size_t fed = 0; fed <= 2; fed += 2) {  // before any feed, and with logits
        xlstm_session *session = session_after(fed);
        state_blob before = snapshot(session);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK_FAILS(xlstm_session_feed_token(session, bad[i]), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
            CHECK(contains(xlstm_last_error_message(), "token"), "message \"%s\"", xlstm_last_error_message());
            CHECK(unchanged(session, before), "token %d (after %zu tokens) changed the session", (int)bad[i], fed);
            CHECK(xlstm_session_n_tokens(session) == (int64_t)fed, "token count changed");
            CHECK((xlstm_session_logits(session) != NULL) == (fed > 0), "logits availability changed");
        }
        // The edges that are valid.
        CHECK_STATUS(xlstm_session_feed_token(session, 0), XLSTM_OK);
        CHECK_STATUS(xlstm_session_feed_token(session, info.vocab_size - 1), XLSTM_OK);
        free(before.bytes);
        xlstm_session_free(session);
    }
}

static void feed_tokens_null_mode_and_bad_span(void) {
    CHECK_FAILS(xlstm_session_feed_tokens(NULL, some_tokens, 2, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_session *session = session_after(2);
    state_blob before = snapshot(session);
    CHECK_FAILS(xlstm_session_feed_tokens(session, NULL, 3, XLSTM_LOGITS_LAST), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "NULL tokens changed the session");
    CHECK_FAILS(xlstm_session_feed_tokens(session, some_tokens, 2, (xlstm_logits_mode)2), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_session_feed_tokens(session, some_tokens, 2, (xlstm_logits_mode)-1), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "a bad logits mode changed the session");
    CHECK_FAILS(xlstm_session_feed_tokens(session, some_tokens, SIZE_MAX, XLSTM_LOGITS_LAST),
                XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "an absurd n_tokens changed the session");

    // n_tokens 0 is a no-op, with or without a pointer.
    CHECK_STATUS(xlstm_session_feed_tokens(session, NULL, 0, XLSTM_LOGITS_LAST), XLSTM_OK);
    CHECK_STATUS(xlstm_session_feed_tokens(session, some_tokens, 0, XLSTM_LOGITS_NONE), XLSTM_OK);
    CHECK(unchanged(session, before), "feeding 0 tokens changed the session");

    // One bad id anywhere in a span: nothing is consumed.
    const int32_t bad_ids[] = {-1, info.vocab_size, INT32_MAX};
    for (size_t b = 0; b < sizeof bad_ids / sizeof bad_ids[0]; b++) {
        for (size_t position = 0; position < 5; position += 2) {
            int32_t span[5] = {1, 2, 3, 4, 5};
            span[position] = bad_ids[b];
            CHECK_FAILS(xlstm_session_feed_tokens(session, span, 5, XLSTM_LOGITS_LAST), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
            CHECK_FAILS(xlstm_session_feed_tokens(session, span, 5, XLSTM_LOGITS_NONE), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
            CHECK(unchanged(session, before), "span with %d at %zu changed the session", (int)bad_ids[b], position);
        }
    }
    CHECK(xlstm_session_n_tokens(session) == 2, "n_tokens %lld after failed feeds", (long long)xlstm_session_n_tokens(session));
    free(before.bytes);
    xlstm_session_free(session);
}

static void logits_absent_before_feed_and_after_logits_none(void) {
    float buffer[256];
    xlstm_session *session = session_after(0);
    CHECK(xlstm_session_logits(session) == NULL, "logits before any feed");
    CHECK_FAILS(xlstm_session_copy_logits(session, buffer, 256), XLSTM_ERROR_NO_LOGITS);

    CHECK_STATUS(xlstm_session_feed_tokens(session, some_tokens, 3, XLSTM_LOGITS_NONE), XLSTM_OK);
    CHECK(xlstm_session_n_tokens(session) == 3, "n_tokens %lld", (long long)xlstm_session_n_tokens(session));
    CHECK(xlstm_session_logits(session) == NULL, "logits after XLSTM_LOGITS_NONE");
    CHECK_FAILS(xlstm_session_copy_logits(session, buffer, 256), XLSTM_ERROR_NO_LOGITS);
    xlstm_sampler *sampler = NULL;
    CHECK_STATUS(xlstm_sampler_create(NULL, &sampler), XLSTM_OK);
    int32_t token = -5;
    state_blob before = snapshot(session);
    CHECK_FAILS(xlstm_sampler_sample(sampler, session, &token), XLSTM_ERROR_NO_LOGITS);
    CHECK(unchanged(session, before), "a failed sample changed the session");

    CHECK_STATUS(xlstm_session_feed_token(session, 4), XLSTM_OK);
    CHECK(xlstm_session_logits(session) != NULL, "no logits after feed_token");
    CHECK_STATUS(xlstm_session_feed_tokens(session, some_tokens, 1, XLSTM_LOGITS_NONE), XLSTM_OK);
    CHECK(xlstm_session_logits(session) == NULL, "logits survived an XLSTM_LOGITS_NONE feed");

    CHECK_STATUS(xlstm_session_reset(session), XLSTM_OK);
    CHECK(xlstm_session_logits(session) == NULL, "logits after reset");
    xlstm_sampler_free(sampler);
    free(before.bytes);
    xlstm_session_free(session);
}

static void copy_logits_null_and_small_buffer(void) {
    float buffer[256];
    CHECK_FAILS(xlstm_session_copy_logits(NULL, buffer, 256), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_session *session = session_after(3);
    state_blob before = snapshot(session);
    CHECK_FAILS(xlstm_session_copy_logits(session, NULL, 256), XLSTM_ERROR_INVALID_ARGUMENT);

    size_t vocab = (size_t)info.vocab_size;
    for (size_t i = 0; i < 256; i++) buffer[i] = -12345.0f;
    CHECK_FAILS(xlstm_session_copy_logits(session, buffer, vocab - 1), XLSTM_ERROR_BUFFER_TOO_SMALL);
    CHECK(contains(xlstm_last_error_message(), "100"), "message \"%s\" does not say 100 floats are needed",
          xlstm_last_error_message());
    CHECK_FAILS(xlstm_session_copy_logits(session, buffer, 0), XLSTM_ERROR_BUFFER_TOO_SMALL);
    int untouched = 1;
    for (size_t i = 0; i < 256; i++) untouched &= buffer[i] == -12345.0f;
    CHECK(untouched, "a failed copy_logits wrote into the buffer");
    CHECK(unchanged(session, before), "a failed copy_logits changed the session");

    CHECK_STATUS(xlstm_session_copy_logits(session, buffer, vocab), XLSTM_OK);
    const float *logits = xlstm_session_logits(session);
    CHECK(logits && memcmp(logits, buffer, vocab * sizeof(float)) == 0, "copy differs from xlstm_session_logits");
    CHECK(buffer[vocab] == -12345.0f, "copy_logits wrote past vocab_size floats");
    CHECK_STATUS(xlstm_session_copy_logits(session, buffer, 256), XLSTM_OK);  // larger is fine
    free(before.bytes);
    xlstm_session_free(session);
}

// ---------------------------------------------------------------------------------------------
// State blobs

static void save_state_null_and_small_buffer(void) {
    xlstm_session *session = session_after(3);
    size_t size = xlstm_session_state_size(session);
    unsigned char *buffer = malloc(size + 16);
    size_t written = 999;
    CHECK_FAILS(xlstm_session_save_state(NULL, buffer, size, &written), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(written == 0, "*written %zu after failure", written);
    written = 999;
    CHECK_FAILS(xlstm_session_save_state(session, NULL, size, &written), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(written == 0, "*written %zu after failure", written);

    memset(buffer, 0xa5, size + 16);
    written = 999;
    CHECK_FAILS(xlstm_session_save_state(session, buffer, size - 1, &written), XLSTM_ERROR_BUFFER_TOO_SMALL);
    CHECK(written == 0, "*written %zu after buffer too small", written);
    char needed[32];
    snprintf(needed, sizeof needed, "%zu", size);
    CHECK(contains(xlstm_last_error_message(), needed), "message \"%s\" does not say %s bytes are needed",
          xlstm_last_error_message(), needed);
    CHECK_FAILS(xlstm_session_save_state(session, buffer, 0, NULL), XLSTM_ERROR_BUFFER_TOO_SMALL);

    // written may be NULL; a larger buffer is fine and only `size` bytes are written.
    CHECK_STATUS(xlstm_session_save_state(session, buffer, size + 16, NULL), XLSTM_OK);
    CHECK(buffer[size] == 0xa5, "save_state wrote past state_size bytes");
    CHECK_STATUS(xlstm_session_save_state(session, buffer, size + 16, &written), XLSTM_OK);
    CHECK(written == size, "written %zu, state size %zu", written, size);
    free(buffer);
    xlstm_session_free(session);
}

// Loading `blob` (size bytes) into a session with some history fails with `expected`, changes nothing.
static void check_rejected_blob(const void *blob, size_t size, xlstm_status expected, const char *what) {
    xlstm_session *session = session_after(5);
    state_blob before = snapshot(session);
    const float *logits_before = xlstm_session_logits(session);
    xlstm_status status = xlstm_session_load_state(session, blob, size);
    CHECK(status == expected, "%s: %d (%s), expected %s; message \"%s\"", what, (int)status, xlstm_status_string(status),
          xlstm_status_string(expected), xlstm_last_error_message());
    CHECK(xlstm_last_error_message()[0] != '\0', "%s: empty message", what);
    CHECK(unchanged(session, before), "%s: the rejected blob changed the session", what);
    CHECK(xlstm_session_n_tokens(session) == 5 && xlstm_session_logits(session) == logits_before,
          "%s: the rejected blob changed the session", what);
    free(before.bytes);
    xlstm_session_free(session);
}

static void load_state_null_foreign_corrupt_truncated_version(void) {
    // A good blob from a session with 3 tokens.
    xlstm_session *source = session_after(3);
    state_blob good = snapshot(source);
    xlstm_session_free(source);

    CHECK_FAILS(xlstm_session_load_state(NULL, good.bytes, good.size), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_session *session = session_after(5);
    state_blob before = snapshot(session);
    CHECK_FAILS(xlstm_session_load_state(session, NULL, good.size), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "load_state(NULL buffer) changed the session");
    free(before.bytes);
    xlstm_session_free(session);

    // Foreign: saved from the other fixture model.
    xlstm_model *other_model = load_fixture_model(foreign_fixture, NULL);
    if (other_model) {
        xlstm_session *other = new_session(other_model);
        CHECK_STATUS(xlstm_session_feed_tokens(other, some_tokens, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
        state_blob foreign = snapshot(other);
        check_rejected_blob(foreign.bytes, foreign.size, XLSTM_ERROR_STATE_MISMATCH, "blob of another model");
        CHECK(contains(xlstm_last_error_message(), "different model"), "message \"%s\"", xlstm_last_error_message());
        // ... and the other way round.
        state_blob other_before = snapshot(other);
        CHECK_FAILS(xlstm_session_load_state(other, good.bytes, good.size), XLSTM_ERROR_STATE_MISMATCH);
        CHECK(unchanged(other, other_before), "a foreign blob changed the session");
        free(other_before.bytes);
        free(foreign.bytes);
        xlstm_session_free(other);
        xlstm_model_free(other_model);
    }

    // Same size, valid checksum, different fingerprint: a copy of the foreign fixture whose config
    // differs only in gate_soft_cap (part of the fingerprint, not of the state layout).
    const char *variant_dir = copy_model_dir(foreign_fixture, "soft-cap-variant");
    char config_path[4096 + 512];
    snprintf(config_path, sizeof config_path, "%s/config.json", variant_dir);
    size_t config_size = 0;
    char *config = read_whole_file(config_path, &config_size);
    char *cap = config ? strstr(config, "\"gate_soft_cap\": 15.0") : NULL;
    CHECK(cap != NULL, "%s has no \"gate_soft_cap\": 15.0", config_path);
    if (cap) {
        cap[18] = '4';  // 15.0 -> 14.0
        CHECK(write_whole_file(config_path, config, config_size), "writing %s", config_path);
        xlstm_model *original = load_fixture_model(foreign_fixture, NULL), *variant = NULL;
        CHECK_STATUS(xlstm_model_load(variant_dir, NULL, &variant), XLSTM_OK);
        xlstm_model_info a, b;
        if (original && variant && xlstm_model_get_info(original, &a) == XLSTM_OK &&
            xlstm_model_get_info(variant, &b) == XLSTM_OK) {
            CHECK(a.state_size == b.state_size && a.fingerprint != b.fingerprint,
                  "the variant should have the same state size and another fingerprint");
            xlstm_session *source = new_session(original), *target = new_session(variant);
            CHECK_STATUS(xlstm_session_feed_token(source, 5), XLSTM_OK);
            CHECK_STATUS(xlstm_session_feed_token(target, 6), XLSTM_OK);
            state_blob blob = snapshot(source), target_before = snapshot(target);
            CHECK(blob.size == target_before.size, "blob sizes differ");
            CHECK_FAILS(xlstm_session_load_state(target, blob.bytes, blob.size), XLSTM_ERROR_STATE_MISMATCH);
            CHECK(unchanged(target, target_before), "a same-size foreign blob changed the session");
            free(blob.bytes);
            free(target_before.bytes);
            xlstm_session_free(source);
            xlstm_session_free(target);
        }
        xlstm_model_free(original);
        xlstm_model_free(variant);
    }
    free(config);

    unsigned char *damaged = malloc(good.size + 8);
    // One flipped byte anywhere the checksum covers (header, state, logits) or in the checksum itself.
    const size_t flips[] = {20, 24, 56, 60, 56 + (good.size - 64) / 2, good.size - 9, good.size - 1};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(damaged, good.bytes, good.size);
        damaged[flips[i]] ^= 0x01;
        char what[64];
        snprintf(what, sizeof what, "blob with byte %zu flipped", flips[i]);
        check_rejected_blob(damaged, good.size, XLSTM_ERROR_STATE_CORRUPT, what);
    }
    // Bad magic.
    memcpy(damaged, good.bytes, good.size);
    damaged[0] = 'Y';
    check_rejected_blob(damaged, good.size, XLSTM_ERROR_STATE_CORRUPT, "blob with bad magic");
    // A sampler's blob handed to the session loader: rejected, and the message says what it is.
    xlstm_sampler_params sampler_params;
    xlstm_sampler_default_params(&sampler_params);
    xlstm_sampler *sampler = NULL;
    CHECK_STATUS(xlstm_sampler_create(&sampler_params, &sampler), XLSTM_OK);
    if (sampler) {
        xlstm_sampler_accept(sampler, 3);
        size_t sampler_size = xlstm_sampler_state_size(sampler), written = 0;
        unsigned char *sampler_blob = malloc(sampler_size);
        CHECK_STATUS(xlstm_sampler_save_state(sampler, sampler_blob, sampler_size, &written), XLSTM_OK);
        check_rejected_blob(sampler_blob, written, XLSTM_ERROR_STATE_CORRUPT, "a sampler state blob");
        xlstm_session *probe = session_after(1);
        CHECK_FAILS(xlstm_session_load_state(probe, sampler_blob, written), XLSTM_ERROR_STATE_CORRUPT);
        CHECK(strstr(xlstm_last_error_message(), "sampler state blob") != NULL, "message: %s", xlstm_last_error_message());
        xlstm_session_free(probe);
        free(sampler_blob);
        xlstm_sampler_free(sampler);
    }
    // Truncated (at several lengths, including below the header) and over-long.
    const size_t lengths[] = {0, 8, 55, 63, 64, good.size / 2, good.size - 8, good.size - 1, good.size + 1, good.size + 8};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        memcpy(damaged, good.bytes, good.size);
        memset(damaged + good.size, 0, 8);
        char what[64];
        snprintf(what, sizeof what, "blob of %zu bytes (of %zu)", lengths[i], good.size);
        check_rejected_blob(damaged, lengths[i], XLSTM_ERROR_STATE_CORRUPT, what);
    }
    // Another format version, nothing else changed: StateBlob.load checks the version right after
    // the magic, before sizes and the checksum, so the answer is XLSTM_ERROR_STATE_VERSION.
    const uint32_t versions[] = {0, (uint32_t)XLSTM_STATE_FORMAT_VERSION + 1, 0xffffffffu};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        memcpy(damaged, good.bytes, good.size);
        memcpy(damaged + 8, &versions[i], 4);  // little-endian host
        char what[64];
        snprintf(what, sizeof what, "blob with format version %u", versions[i]);
        check_rejected_blob(damaged, good.size, XLSTM_ERROR_STATE_VERSION, what);
        CHECK(contains(xlstm_last_error_message(), "version"), "message \"%s\"", xlstm_last_error_message());
    }
    // The good blob still loads.
    session = session_after(5);
    CHECK_STATUS(xlstm_session_load_state(session, good.bytes, good.size), XLSTM_OK);
    CHECK(xlstm_session_n_tokens(session) == 3, "n_tokens %lld after load", (long long)xlstm_session_n_tokens(session));
    xlstm_session_free(session);
    free(damaged);
    free(good.bytes);
}

static void state_files_null_missing_unwritable_damaged(void) {
    xlstm_session *session = session_after(4);
    state_blob before = snapshot(session);
    const char *good_path = scratch_path("good.state");
    CHECK_FAILS(xlstm_session_save_state_file(NULL, good_path), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_session_save_state_file(session, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_session_load_state_file(NULL, good_path), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_session_load_state_file(session, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "failed state-file calls changed the session");

    // Unwritable: a missing directory; a path that is a directory (the temporary file is removed).
    char path[4096 + 256];
    snprintf(path, sizeof path, "%s/no-such-dir/x.state", scratch_dir);
    CHECK_FAILS(xlstm_session_save_state_file(session, path), XLSTM_ERROR_IO);
    CHECK(contains(xlstm_last_error_message(), path), "message \"%s\" does not name %s", xlstm_last_error_message(), path);
    snprintf(path, sizeof path, "%s/a-directory", scratch_dir);
    mkdir(path, 0755);
    CHECK_FAILS(xlstm_session_save_state_file(session, path), XLSTM_ERROR_IO);
    DIR *dir = opendir(scratch_dir);
    for (struct dirent *entry; dir && (entry = readdir(dir)) != NULL;) {
        CHECK(strstr(entry->d_name, ".tmp-") == NULL, "temporary file %s left behind", entry->d_name);
    }
    if (dir) closedir(dir);
    CHECK(unchanged(session, before), "failed save_state_file changed the session");

    // Round trip works.
    CHECK_STATUS(xlstm_session_save_state_file(session, good_path), XLSTM_OK);
    size_t size = 0;
    unsigned char *file = read_whole_file(good_path, &size);
    CHECK(file && size == before.size && memcmp(file, before.bytes, size) == 0, "the file is not the saved blob");

    xlstm_session *target = session_after(2);
    state_blob target_before = snapshot(target);
    // Missing file, a directory, an empty file, a damaged file: IO / IO / CORRUPT / CORRUPT, and the
    // message names the file.
    snprintf(path, sizeof path, "%s/missing.state", scratch_dir);
    CHECK_FAILS(xlstm_session_load_state_file(target, path), XLSTM_ERROR_IO);
    CHECK(contains(xlstm_last_error_message(), path), "message \"%s\"", xlstm_last_error_message());
    snprintf(path, sizeof path, "%s/a-directory", scratch_dir);
    CHECK_FAILS(xlstm_session_load_state_file(target, path), XLSTM_ERROR_IO);
    snprintf(path, sizeof path, "%s/empty.state", scratch_dir);
    CHECK(write_whole_file(path, "", 0), "writing %s", path);
    CHECK_FAILS(xlstm_session_load_state_file(target, path), XLSTM_ERROR_STATE_CORRUPT);
    CHECK(contains(xlstm_last_error_message(), path), "message \"%s\"", xlstm_last_error_message());
    if (file) {
        snprintf(path, sizeof path, "%s/damaged.state", scratch_dir);
        file[size / 2] ^= 0x40;
        CHECK(write_whole_file(path, file, size), "writing %s", path);
        CHECK_FAILS(xlstm_session_load_state_file(target, path), XLSTM_ERROR_STATE_CORRUPT);
        CHECK(contains(xlstm_last_error_message(), path), "message \"%s\"", xlstm_last_error_message());
        snprintf(path, sizeof path, "%s/truncated.state", scratch_dir);
        CHECK(write_whole_file(path, file, size - 100), "writing %s", path);
        CHECK_FAILS(xlstm_session_load_state_file(target, path), XLSTM_ERROR_STATE_CORRUPT);
    }
    CHECK(unchanged(target, target_before), "failed load_state_file changed the session");
    CHECK_STATUS(xlstm_session_load_state_file(target, good_path), XLSTM_OK);
    CHECK(unchanged(target, before), "load_state_file did not restore the saved state");

    free(file);
    free(target_before.bytes);
    free(before.bytes);
    xlstm_session_free(target);
    xlstm_session_free(session);
}

// ---------------------------------------------------------------------------------------------
// Samplers

static void sampler_defaults_and_null(void) {
    CHECK_FAILS(xlstm_sampler_default_params(NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_sampler_params params;
    memset(&params, 0x5a, sizeof params);
    CHECK_STATUS(xlstm_sampler_default_params(&params), XLSTM_OK);
    CHECK(params.seed == 0 && params.temperature == 0.8f && params.top_k == 40 && params.top_p == 0.95f &&
              params.min_p == 0.05f && params.repetition_penalty == 1.0f && params.presence_penalty == 0.0f &&
              params.penalty_window == 64 && params.reserved == 0,
          "defaults: seed %llu temperature %g top_k %d top_p %g min_p %g repetition %g presence %g window %d",
          (unsigned long long)params.seed, (double)params.temperature, (int)params.top_k, (double)params.top_p,
          (double)params.min_p, (double)params.repetition_penalty, (double)params.presence_penalty,
          (int)params.penalty_window);

    xlstm_sampler *sampler = NOT_NULL_SENTINEL;
    CHECK_FAILS(xlstm_sampler_create(&params, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(xlstm_sampler_create(NULL, &sampler), XLSTM_OK);  // NULL params = defaults
    CHECK(sampler != NULL && sampler != NOT_NULL_SENTINEL, "no sampler");
    xlstm_sampler_free(NULL);

    xlstm_session *session = session_after(2);
    state_blob before = snapshot(session);
    int32_t token = 0;
    float logits[4] = {0, 1, 2, 3};
    CHECK_FAILS(xlstm_sampler_reset(NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_accept(NULL, 3), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample(NULL, session, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample(sampler, NULL, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample(sampler, session, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample_logits(NULL, logits, 4, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample_logits(sampler, NULL, 4, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample_logits(sampler, logits, 4, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample_logits(sampler, logits, 0, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_sampler_sample_logits(sampler, logits, (size_t)INT32_MAX + 1, &token), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(unchanged(session, before), "failed sampler calls changed the session");

    // Sampling never changes the session.
    CHECK_STATUS(xlstm_sampler_sample(sampler, session, &token), XLSTM_OK);
    CHECK(token >= 0 && token < info.vocab_size, "sampled %d", (int)token);
    CHECK(unchanged(session, before), "xlstm_sampler_sample changed the session");
    free(before.bytes);
    xlstm_session_free(session);
    xlstm_sampler_free(sampler);
}

// One invalid sampler option: creation fails with XLSTM_ERROR_INVALID_ARGUMENT naming the field.
#define BAD_SAMPLER_OPTION(field, value)                                                                \
    do {                                                                                              \
        xlstm_sampler_params params_;                                                                 \
        xlstm_sampler_default_params(&params_);                                                       \
        params_.field = (value);                                                                      \
        xlstm_sampler *sampler_ = NOT_NULL_SENTINEL;                                                  \
        CHECK_FAILS(xlstm_sampler_create(&params_, &sampler_), XLSTM_ERROR_INVALID_ARGUMENT);         \
        CHECK(sampler_ == NULL, #field " = " #value ": *sampler not NULL on failure");                \
        CHECK(contains(xlstm_last_error_message(), #field), #field " = " #value ": message \"%s\"",   \
              xlstm_last_error_message());                                                            \
        if (sampler_ != NULL && sampler_ != NOT_NULL_SENTINEL) xlstm_sampler_free(sampler_);          \
    } while (0)

#define GOOD_SAMPLER_OPTION(field, value)                                                 \
    do {                                                                                \
        xlstm_sampler_params params_;                                                   \
        xlstm_sampler_default_params(&params_);                                         \
        params_.field = (value);                                                        \
        xlstm_sampler *sampler_ = NULL;                                                 \
        CHECK_STATUS(xlstm_sampler_create(&params_, &sampler_), XLSTM_OK);              \
        xlstm_sampler_free(sampler_);                                                   \
    } while (0)

static void sampler_option_validation(void) {
    BAD_SAMPLER_OPTION(temperature, -0.5f);
    BAD_SAMPLER_OPTION(temperature, NAN);
    BAD_SAMPLER_OPTION(temperature, INFINITY);
    BAD_SAMPLER_OPTION(top_k, -1);
    BAD_SAMPLER_OPTION(top_k, INT32_MIN);
    BAD_SAMPLER_OPTION(top_p, 0.0f);
    BAD_SAMPLER_OPTION(top_p, -0.1f);
    BAD_SAMPLER_OPTION(top_p, 1.5f);
    BAD_SAMPLER_OPTION(top_p, NAN);
    BAD_SAMPLER_OPTION(min_p, -0.01f);
    BAD_SAMPLER_OPTION(min_p, 1.01f);
    BAD_SAMPLER_OPTION(min_p, NAN);
    BAD_SAMPLER_OPTION(repetition_penalty, 0.0f);
    BAD_SAMPLER_OPTION(repetition_penalty, -1.0f);
    BAD_SAMPLER_OPTION(repetition_penalty, INFINITY);
    BAD_SAMPLER_OPTION(presence_penalty, INFINITY);
    BAD_SAMPLER_OPTION(presence_penalty, NAN);
    BAD_SAMPLER_OPTION(penalty_window, -1);
    BAD_SAMPLER_OPTION(penalty_window, (1 << 20) + 1);
    // The valid edges.
    GOOD_SAMPLER_OPTION(temperature, 0.0f);
    GOOD_SAMPLER_OPTION(top_k, 0);
    GOOD_SAMPLER_OPTION(top_p, 1.0f);
    GOOD_SAMPLER_OPTION(min_p, 0.0f);
    GOOD_SAMPLER_OPTION(min_p, 1.0f);
    GOOD_SAMPLER_OPTION(presence_penalty, -2.0f);
    GOOD_SAMPLER_OPTION(penalty_window, 0);
    GOOD_SAMPLER_OPTION(penalty_window, 1 << 20);
    GOOD_SAMPLER_OPTION(seed, UINT64_MAX);
}

static int32_t draw(xlstm_sampler *sampler, const float *logits, size_t n) {
    int32_t token = -1;
    CHECK_STATUS(xlstm_sampler_sample_logits(sampler, logits, n, &token), XLSTM_OK);
    return token;
}

static void sampler_is_deterministic(void) {
    float logits[100];
    for (int i = 0; i < 100; i++) logits[i] = (float)((i * 37) % 100) / 25.0f;  // max at i = 27 (37·27 mod 100 = 99)
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = 42;
    params.top_k = 0;
    params.min_p = 0;
    params.top_p = 1;
    params.temperature = 2;
    xlstm_sampler *a = NULL, *b = NULL;
    CHECK_STATUS(xlstm_sampler_create(&params, &a), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_create(&params, &b), XLSTM_OK);
    int32_t first[32];
    int distinct = 0;
    for (int i = 0; i < 32; i++) {
        first[i] = draw(a, logits, 100);
        CHECK(first[i] == draw(b, logits, 100), "same seed, step %d: different tokens", i);
        CHECK(first[i] >= 0 && first[i] < 100, "token %d", (int)first[i]);
        distinct += i > 0 && first[i] != first[i - 1];
    }
    CHECK(distinct > 4, "temperature 2 over 100 tokens gave a near-constant sequence");
    CHECK_STATUS(xlstm_sampler_reset(a), XLSTM_OK);
    for (int i = 0; i < 32; i++) CHECK(draw(a, logits, 100) == first[i], "after reset, step %d differs", i);

    // Greedy: temperature 0, and top_k 1.
    xlstm_sampler *greedy = NULL;
    params.temperature = 0;
    CHECK_STATUS(xlstm_sampler_create(&params, &greedy), XLSTM_OK);
    CHECK(draw(greedy, logits, 100) == 27, "temperature 0 did not pick the argmax");
    xlstm_sampler_free(greedy);
    params.temperature = 1;
    params.top_k = 1;
    CHECK_STATUS(xlstm_sampler_create(&params, &greedy), XLSTM_OK);
    CHECK(draw(greedy, logits, 100) == 27, "top_k 1 did not pick the argmax");
    xlstm_sampler_free(greedy);

    // A huge repetition penalty on the argmax moves a greedy sampler off it.
    params.temperature = 0;
    params.top_k = 0;
    params.repetition_penalty = 1000;
    CHECK_STATUS(xlstm_sampler_create(&params, &greedy), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_accept(greedy, 27), XLSTM_OK);
    int32_t token = draw(greedy, logits, 100);
    CHECK(token != 27, "repetition penalty ignored");
    xlstm_sampler_free(greedy);

    // xlstm_sampler_sample ≡ xlstm_sampler_sample_logits on the session's logits.
    xlstm_session *session = session_after(6);
    xlstm_sampler_params defaults;
    xlstm_sampler_default_params(&defaults);
    defaults.seed = 7;
    xlstm_sampler *from_session = NULL, *from_copy = NULL;
    CHECK_STATUS(xlstm_sampler_create(&defaults, &from_session), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_create(&defaults, &from_copy), XLSTM_OK);
    float copy[100];
    CHECK_STATUS(xlstm_session_copy_logits(session, copy, 100), XLSTM_OK);
    for (int i = 0; i < 16; i++) {
        int32_t x = -1;
        CHECK_STATUS(xlstm_sampler_sample(from_session, session, &x), XLSTM_OK);
        CHECK(x == draw(from_copy, copy, 100), "sample and sample_logits disagree at draw %d", i);
    }
    xlstm_sampler_free(from_session);
    xlstm_sampler_free(from_copy);
    xlstm_session_free(session);
    xlstm_sampler_free(a);
    xlstm_sampler_free(b);
}

// ---------------------------------------------------------------------------------------------

static void remove_tree(const char *path) {
    DIR *dir = opendir(path);
    if (dir) {
        for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            char child[4096 + 512];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            remove_tree(child);
        }
        closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int main(int argc, char **argv) {
    parse_common_arguments("test_api", argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/xlstm-test-api-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        return 1;
    }
    // Errors before anything else: the main thread has no last error yet.
    const char *initial = xlstm_last_error_message();
    if (!initial || initial[0] != '\0') printf("  note: initial last error is \"%s\"\n", initial ? initial : "(null)");

    RUN(status_strings);
    RUN(model_default_params_and_null);
    RUN(model_cpu_paths);
    RUN(model_load_null_arguments);
    RUN(model_load_option_validation);
    RUN(model_load_missing_and_malformed);

    model = load_fixture_model(main_fixture, NULL);
    if (!model || xlstm_model_get_info(model, &info) != XLSTM_OK) {
        printf("FAIL %s: cannot load %s: %s\n", program_name, main_fixture, xlstm_last_error_message());
        return 1;
    }
    RUN(versions_match_header);
    RUN(last_error_is_per_thread_and_kept_by_successes);
    RUN(model_info_and_block_kinds);
    RUN(model_outlives_its_handle_while_sessions_exist);
    RUN(session_create_free_model_null);
    RUN(session_reset_clone_copy_null);
    RUN(feed_token_null_and_out_of_range);
    RUN(feed_tokens_null_mode_and_bad_span);
    RUN(logits_absent_before_feed_and_after_logits_none);
    RUN(copy_logits_null_and_small_buffer);
    RUN(save_state_null_and_small_buffer);
    RUN(load_state_null_foreign_corrupt_truncated_version);
    RUN(state_files_null_missing_unwritable_damaged);
    RUN(sampler_defaults_and_null);
    RUN(sampler_option_validation);
    RUN(sampler_is_deterministic);

    xlstm_model_free(model);
    remove_tree(scratch_dir);
    return finish();
}

// The small harness the C tests share: named cases, CHECK, fixture files, state snapshots.
//
// A test program is a list of `RUN(case_function)`; a case passes when none of its CHECKs fail.
// Each case prints "ok   PROGRAM: CASE" or "FAIL PROGRAM: CASE" (after the failing checks), and
// `finish()` prints "PROGRAM: N passed, M failed" and returns the exit status.
// Fixture directories are Tests/Fixtures/<name>/ (model/, tokens.i32, logits.f32, meta.json).

#ifndef XLSTM_TESTS_CHECK_H
#define XLSTM_TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

static const char *program_name = "test";
static const char *fixtures_dir = "Tests/Fixtures";
static int cases_passed, cases_failed, case_checks_failed;
static char case_note[192];  // a case may leave a short note for its "ok"/"FAIL" line

// Records one failed check (with a printf-style explanation) in the current case.
#define CHECK(condition, ...)                                                  \
    do {                                                                       \
        if (!(condition)) {                                                    \
            case_checks_failed++;                                              \
            fprintf(stdout, "  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, \
                    #condition);                                               \
            fprintf(stdout, __VA_ARGS__);                                      \
            fputc('\n', stdout);                                               \
        }                                                                      \
    } while (0)

// CHECK that a call returned `expected`, naming both statuses and the last error message.
#define CHECK_STATUS(call, expected)                                                           \
    do {                                                                                       \
        xlstm_status got_ = (call);                                                            \
        CHECK(got_ == (expected), "%s returned %d (%s), expected %d (%s); last error: \"%s\"", \
              #call, (int)got_, xlstm_status_string(got_), (int)(expected),                    \
              xlstm_status_string(expected), xlstm_last_error_message());                     \
    } while (0)

// CHECK a call's failure: the expected status and a non-empty last error message.
#define CHECK_FAILS(call, expected)                                                   \
    do {                                                                              \
        CHECK_STATUS(call, expected);                                                 \
        const char *message_ = xlstm_last_error_message();                            \
        CHECK(message_ != NULL && message_[0] != '\0', "%s: empty last error message", \
              #call);                                                                 \
    } while (0)

#define RUN(case_function) run_case(#case_function, case_function)

static inline void run_case(const char *name, void (*body)(void)) {
    case_checks_failed = 0;
    case_note[0] = '\0';
    body();
    const char *space = case_note[0] ? " " : "";
    if (case_checks_failed == 0) {
        cases_passed++;
        printf("ok   %s: %s%s%s\n", program_name, name, space, case_note);
    } else {
        cases_failed++;
        printf("FAIL %s: %s%s%s (%d failed checks)\n", program_name, name, space, case_note, case_checks_failed);
    }
    fflush(stdout);
}

static inline int finish(void) {
    printf("%s: %d passed, %d failed\n", program_name, cases_passed, cases_failed);
    return cases_failed == 0 && cases_passed > 0 ? 0 : 1;
}

// Usage of every test program: PROGRAM [FIXTURES_DIR].
static inline void parse_common_arguments(const char *name, int argc, char **argv) {
    program_name = name;
    if (argc > 1) fixtures_dir = argv[1];
}

// "<fixtures_dir>/<name>/<relative>" in a per-thread static buffer (valid until the thread's next
// call): test_threads loads fixtures from 8 threads at once, and with one shared buffer a load once
// read a path another thread was writing, and failed.
static inline const char *fixture_path(const char *name, const char *relative) {
    static _Thread_local char path[4096];
    snprintf(path, sizeof path, "%s/%s%s%s", fixtures_dir, name, relative[0] ? "/" : "", relative);
    return path;
}

// Reads a whole file into a malloc'd buffer (*size bytes, plus a terminating NUL so text files are
// C strings); NULL if it cannot be read.
static inline void *read_whole_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *bytes = NULL;
    long length = -1;
    if (fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) >= 0 && fseek(file, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)length + 1);
        if (bytes && fread(bytes, 1, (size_t)length, file) != (size_t)length) {
            free(bytes);
            bytes = NULL;
        }
        if (bytes) bytes[length] = '\0';
    }
    fclose(file);
    if (bytes) *size = (size_t)length;
    return bytes;
}

static inline int write_whole_file(const char *path, const void *bytes, size_t size) {
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    int ok = fwrite(bytes, 1, size, file) == size;
    return fclose(file) == 0 && ok;
}

// A reference fixture: its tokens [n_tokens] and the official logits [n_tokens, vocab_size].
typedef struct {
    char name[256];
    int32_t *tokens;
    size_t n_tokens;
    float *logits;
    size_t vocab_size;
} fixture;

// Loads the tokens and reference logits of fixture `name`; returns 0 (after a failed CHECK) on error.
static inline int fixture_open(fixture *f, const char *name) {
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    size_t token_bytes = 0, logit_bytes = 0;
    f->tokens = read_whole_file(fixture_path(name, "tokens.i32"), &token_bytes);
    f->logits = read_whole_file(fixture_path(name, "logits.f32"), &logit_bytes);
    CHECK(f->tokens && f->logits, "%s: cannot read tokens.i32 / logits.f32", name);
    if (!f->tokens || !f->logits) return 0;
    f->n_tokens = token_bytes / sizeof(int32_t);
    CHECK(f->n_tokens > 0 && logit_bytes % (f->n_tokens * sizeof(float)) == 0,
          "%s: logits.f32 (%zu bytes) is not [%zu, vocab] floats", name, logit_bytes, f->n_tokens);
    if (f->n_tokens == 0) return 0;
    f->vocab_size = logit_bytes / (f->n_tokens * sizeof(float));
    return 1;
}

static inline void fixture_close(fixture *f) {
    free(f->tokens);
    free(f->logits);
    memset(f, 0, sizeof *f);
}

// Loads fixture `name`'s model (params may be NULL); NULL after a failed CHECK.
static inline xlstm_model *load_fixture_model(const char *name, const xlstm_model_params *params) {
    xlstm_model *model = NULL;
    xlstm_status status = xlstm_model_load(fixture_path(name, "model"), params, &model);
    CHECK(status == XLSTM_OK && model != NULL, "loading fixture %s: %s: %s", name, xlstm_status_string(status),
          xlstm_last_error_message());
    return status == XLSTM_OK ? model : NULL;
}

static inline xlstm_session *new_session(const xlstm_model *model) {
    xlstm_session *session = NULL;
    xlstm_status status = xlstm_session_create(model, &session);
    CHECK(status == XLSTM_OK && session != NULL, "xlstm_session_create: %s", xlstm_last_error_message());
    return session;
}

// A saved session state (xlstm_session_save_state), to compare sessions byte for byte.
typedef struct {
    unsigned char *bytes;
    size_t size;
} state_blob;

static inline state_blob snapshot(const xlstm_session *session) {
    state_blob blob = {NULL, xlstm_session_state_size(session)};
    blob.bytes = malloc(blob.size ? blob.size : 1);
    size_t written = 0;
    xlstm_status status = xlstm_session_save_state(session, blob.bytes, blob.size, &written);
    CHECK(status == XLSTM_OK && written == blob.size, "xlstm_session_save_state: %s (%zu of %zu bytes)",
          xlstm_last_error_message(), written, blob.size);
    return blob;
}

static inline int same_blob(state_blob a, state_blob b) {
    return a.size == b.size && a.bytes && b.bytes && memcmp(a.bytes, b.bytes, a.size) == 0;
}

// True when `session` saves to exactly `before` (i.e. it was not changed).
static inline int unchanged(const xlstm_session *session, state_blob before) {
    state_blob now = snapshot(session);
    int same = same_blob(now, before);
    free(now.bytes);
    return same;
}

#endif

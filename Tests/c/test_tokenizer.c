// The tokenizer C API through the public header: ids equal the `tokenizers` package's on every
// corpus line of every fixture (Tests/Fixtures/tokenizers, made by tools/make_tokenizer_fixtures.py),
// the buffer-size protocol, streaming detokenization (valid UTF-8 per chunk, equal to the whole
// decode), invalid UTF-8, bad ids, NULL arguments, and a tokenizer shared by threads.
//
// Usage: test_tokenizer [FIXTURES_DIR]   (default Tests/Fixtures)

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "check.h"

static const char *const names[] = {"neox_style", "gpt2_style", "split_template", "prefix_space", "fallback_unk"};
#define N_NAMES (sizeof names / sizeof names[0])
#define N_BYTE_LEVEL 4  // the first four have a ByteLevel decoder (fallback_unk joins tokens with spaces)

static const char *tok_path(const char *name, const char *file) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/%s%s%s", fixtures_dir, name, file[0] ? "/" : "", file);
    return path;
}

static xlstm_tokenizer *load(const char *name) {
    xlstm_tokenizer *tokenizer = NULL;
    CHECK_STATUS(xlstm_tokenizer_load(tok_path(name, ""), &tokenizer), XLSTM_OK);
    return tokenizer;
}

// Parses "1 2 3" into ids (malloc'd); *n receives the count.
static int32_t *parse_ids(const char *line, size_t length, size_t *n) {
    int32_t *ids = malloc((length / 2 + 1) * sizeof *ids);
    *n = 0;
    size_t i = 0;
    while (i < length) {
        while (i < length && line[i] == ' ') i++;
        if (i >= length) break;
        long value = 0;
        while (i < length && line[i] >= '0' && line[i] <= '9') value = value * 10 + (line[i++] - '0');
        ids[(*n)++] = (int32_t)value;
    }
    return ids;
}

// The n-th line (0-based) of `text`: start and length (without the newline); 0 if absent.
static int nth_line(const char *text, size_t size, size_t n, const char **start, size_t *length) {
    const char *p = text, *end = text + size;
    for (size_t k = 0; k < n; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return 0;
        p = nl + 1;
    }
    if (p > end) return 0;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *start = p;
    *length = nl ? (size_t)(nl - p) : (size_t)(end - p);
    return 1;
}

static int is_valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return 0;
        for (size_t k = 1; k < len; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

static void ids_equal_the_reference_on_every_line(void) {
    size_t lines_checked = 0;
    for (size_t t = 0; t < N_NAMES; t++) {
        xlstm_tokenizer *tokenizer = load(names[t]);
        size_t corpus_size = 0, expected_size = 0, whole_size = 0;
        char *corpus = read_whole_file(tok_path(names[t], "corpus.txt"), &corpus_size);
        char *expected = read_whole_file(tok_path(names[t], "expected_lines.txt"), &expected_size);
        char *whole = read_whole_file(tok_path(names[t], "expected_whole.txt"), &whole_size);
        CHECK(tokenizer && corpus && expected && whole, "%s: cannot load the fixture", names[t]);
        if (!tokenizer || !corpus || !expected || !whole) continue;
        int32_t buffer[4096];
        const char *line, *ids_line;
        size_t line_len, ids_len;
        for (size_t i = 0; nth_line(expected, expected_size, i, &ids_line, &ids_len) && ids_len + 1 > 0; i++) {
            if (ids_line >= expected + expected_size) break;
            CHECK(nth_line(corpus, corpus_size, i, &line, &line_len), "%s: corpus line %zu missing", names[t], i);
            size_t n_expected = 0, n = 0;
            int32_t *want = parse_ids(ids_line, ids_len, &n_expected);
            CHECK_STATUS(xlstm_tokenize(tokenizer, line, line_len, XLSTM_TOKENIZE_ADD_SPECIAL, buffer, 4096, &n), XLSTM_OK);
            CHECK(n == n_expected && memcmp(buffer, want, n * sizeof *want) == 0,
                  "%s line %zu: %zu ids, expected %zu", names[t], i + 1, n, n_expected);
            free(want);
            lines_checked++;
        }
        size_t n_expected = 0, n = 0;
        int32_t *want = parse_ids(whole, whole_size - 1, &n_expected);
        int32_t *got = malloc(n_expected * sizeof *got + 4);
        CHECK_STATUS(xlstm_tokenize(tokenizer, corpus, corpus_size, XLSTM_TOKENIZE_ADD_SPECIAL, got, n_expected, &n), XLSTM_OK);
        CHECK(n == n_expected && memcmp(got, want, n * sizeof *got) == 0, "%s: whole corpus differs", names[t]);
        free(got);
        free(want);
        free(corpus);
        free(expected);
        free(whole);
        xlstm_tokenizer_free(tokenizer);
    }
    CHECK(lines_checked > 160, "only %zu lines checked", lines_checked);
    snprintf(case_note, sizeof case_note, "(%zu lines, %zu tokenizers)", lines_checked, N_NAMES);
}

static void buffer_protocol(void) {
    xlstm_tokenizer *tokenizer = load("neox_style");
    if (!tokenizer) return;
    const char *text = "Hello world, the quick brown fox.";
    size_t n = 99;
    CHECK_FAILS(xlstm_tokenize(tokenizer, text, strlen(text), 0, NULL, 0, &n), XLSTM_ERROR_BUFFER_TOO_SMALL);
    CHECK(n > 3, "needed size %zu", n);
    int32_t ids[64];
    for (int i = 0; i < 64; i++) ids[i] = -7;
    size_t needed = n;
    CHECK_FAILS(xlstm_tokenize(tokenizer, text, strlen(text), 0, ids, needed - 1, &n), XLSTM_ERROR_BUFFER_TOO_SMALL);
    CHECK(n == needed && ids[0] == -7, "a too-small buffer is not written");
    CHECK_STATUS(xlstm_tokenize(tokenizer, text, strlen(text), 0, ids, needed, &n), XLSTM_OK);
    CHECK(n == needed, "n %zu", n);
    // Detokenize: size query, exact fit (no NUL), room for a NUL.
    size_t len = 0;
    CHECK_FAILS(xlstm_detokenize(tokenizer, ids, n, 0, NULL, 0, &len), XLSTM_ERROR_BUFFER_TOO_SMALL);
    CHECK(len == strlen(text), "needed %zu bytes, expected %zu", len, strlen(text));
    char out[128];
    memset(out, 'x', sizeof out);
    CHECK_STATUS(xlstm_detokenize(tokenizer, ids, n, 0, out, len, &len), XLSTM_OK);
    CHECK(memcmp(out, text, len) == 0 && out[len] == 'x', "exact fit, no terminator written");
    CHECK_STATUS(xlstm_detokenize(tokenizer, ids, n, 0, out, sizeof out, &len), XLSTM_OK);
    CHECK(strcmp(out, text) == 0, "got \"%s\"", out);
    // Empty text: no ids.
    CHECK_STATUS(xlstm_tokenize(tokenizer, NULL, 0, 0, NULL, 0, &n), XLSTM_OK);
    CHECK(n == 0, "empty text gives %zu ids", n);
    // Pieces and info.
    xlstm_tokenizer_info info;
    CHECK_STATUS(xlstm_tokenizer_get_info(tokenizer, &info), XLSTM_OK);
    CHECK(info.bos_id == 0 && info.eos_id == 0 && info.pad_id == 1 && info.vocab_size > 1000,
          "info: vocab %d bos %d eos %d pad %d", info.vocab_size, info.bos_id, info.eos_id, info.pad_id);
    char piece[64];
    CHECK_STATUS(xlstm_tokenizer_token_to_piece(tokenizer, info.eos_id, piece, sizeof piece, &len), XLSTM_OK);
    CHECK(strcmp(piece, "<|endoftext|>") == 0, "eos piece \"%s\"", piece);
    // An id without a token (past the vocabulary: a model's padded rows) has no text.
    CHECK_STATUS(xlstm_tokenizer_token_to_piece(tokenizer, info.vocab_size, piece, sizeof piece, &len), XLSTM_OK);
    CHECK(len == 0, "piece of an id past the vocabulary: %zu bytes", len);
    CHECK_FAILS(xlstm_tokenizer_token_to_piece(tokenizer, -1, piece, sizeof piece, &len), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
    xlstm_tokenizer_free(tokenizer);
}

static void special_token_flags(void) {
    xlstm_tokenizer *tokenizer = load("split_template");
    if (!tokenizer) return;
    xlstm_tokenizer_info info;
    CHECK_STATUS(xlstm_tokenizer_get_info(tokenizer, &info), XLSTM_OK);
    const char *text = "hi </s> there";
    int32_t with[32], without[32], split[32];
    size_t n_with = 0, n_without = 0, n_split = 0;
    CHECK_STATUS(xlstm_tokenize(tokenizer, text, strlen(text), XLSTM_TOKENIZE_ADD_SPECIAL, with, 32, &n_with), XLSTM_OK);
    CHECK_STATUS(xlstm_tokenize(tokenizer, text, strlen(text), 0, without, 32, &n_without), XLSTM_OK);
    CHECK_STATUS(xlstm_tokenize(tokenizer, text, strlen(text), XLSTM_TOKENIZE_SPLIT_SPECIAL, split, 32, &n_split), XLSTM_OK);
    CHECK(n_with == n_without + 2 && with[0] == info.bos_id && with[n_with - 1] == info.eos_id,
          "the template adds <s> ... </s> (%zu vs %zu ids)", n_with, n_without);
    int found = 0;
    for (size_t i = 0; i < n_without; i++) found |= without[i] == info.eos_id;
    CHECK(found, "</s> in the text is the special id");
    found = 0;
    for (size_t i = 0; i < n_split; i++) found |= split[i] == info.eos_id;
    CHECK(!found && n_split > n_without, "with SPLIT_SPECIAL </s> is plain text");
    char out[64];
    size_t len = 0;
    CHECK_STATUS(xlstm_detokenize(tokenizer, with, n_with, XLSTM_DETOKENIZE_SKIP_SPECIAL, out, sizeof out, &len), XLSTM_OK);
    CHECK(strcmp(out, "hi  there") == 0, "skip special: \"%s\"", out);
    CHECK_FAILS(xlstm_tokenize(tokenizer, text, strlen(text), 8, with, 32, &n_with), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_tokenizer_free(tokenizer);
}

static void streaming_detokenizer(void) {
    for (size_t t = 0; t < N_BYTE_LEVEL; t++) {
        xlstm_tokenizer *tokenizer = load(names[t]);
        size_t whole_size = 0;
        char *whole = read_whole_file(tok_path(names[t], "expected_whole.txt"), &whole_size);
        if (!tokenizer || !whole) { CHECK(0, "%s: cannot load", names[t]); continue; }
        size_t n = 0;
        int32_t *ids = parse_ids(whole, whole_size - 1, &n);
        size_t full_len = 0;
        CHECK_FAILS(xlstm_detokenize(tokenizer, ids, n, 0, NULL, 0, &full_len), XLSTM_ERROR_BUFFER_TOO_SMALL);
        char *full = malloc(full_len + 1);
        char *streamed = malloc(full_len + 64);
        CHECK_STATUS(xlstm_detokenize(tokenizer, ids, n, 0, full, full_len + 1, &full_len), XLSTM_OK);
        xlstm_detokenizer *stream = NULL;
        CHECK_STATUS(xlstm_detokenizer_create(tokenizer, 0, &stream), XLSTM_OK);
        size_t total = 0, held = 0;
        for (size_t i = 0; i < n && stream; i++) {
            char chunk[256];
            size_t len = 0;
            // A 0-byte buffer is refused without consuming the token when text is due.
            xlstm_status status = xlstm_detokenizer_push(stream, ids[i], NULL, 0, &len);
            CHECK(status == XLSTM_OK || status == XLSTM_ERROR_BUFFER_TOO_SMALL, "push status %d", (int)status);
            if (status == XLSTM_OK) { held++; continue; }
            CHECK_STATUS(xlstm_detokenizer_push(stream, ids[i], chunk, sizeof chunk, &len), XLSTM_OK);
            CHECK(is_valid_utf8((const unsigned char *)chunk, len), "%s: chunk %zu is not valid UTF-8", names[t], i);
            memcpy(streamed + total, chunk, len);
            total += len;
        }
        char tail[16];
        size_t len = 0;
        CHECK_STATUS(xlstm_detokenizer_flush(stream, tail, sizeof tail, &len), XLSTM_OK);
        memcpy(streamed + total, tail, len);
        total += len;
        CHECK(total == full_len && memcmp(streamed, full, total) == 0, "%s: streamed text differs from detokenize", names[t]);
        CHECK(held > 0, "%s: no token was held back (the corpus splits multi-byte chars)", names[t]);
        CHECK_FAILS(xlstm_detokenizer_push(stream, -5, tail, sizeof tail, &len), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
        xlstm_detokenizer_free(stream);
        free(full);
        free(streamed);
        free(ids);
        free(whole);
        xlstm_tokenizer_free(tokenizer);
    }
}

static void incomplete_tail_flushes_as_replacement(void) {
    xlstm_tokenizer *tokenizer = load("gpt2_style");
    if (!tokenizer) return;
    // "😀" is 4 bytes; with this small vocabulary it takes several byte-level tokens.
    const char *text = "\xF0\x9F\x98\x80";
    int32_t ids[8];
    size_t n = 0, len = 0;
    CHECK_STATUS(xlstm_tokenize(tokenizer, text, 4, 0, ids, 8, &n), XLSTM_OK);
    xlstm_detokenizer *stream = NULL;
    CHECK_STATUS(xlstm_detokenizer_create(tokenizer, 0, &stream), XLSTM_OK);
    if (n >= 2 && stream) {
        char out[16];
        CHECK_STATUS(xlstm_detokenizer_push(stream, ids[0], out, sizeof out, &len), XLSTM_OK);
        CHECK(len == 0, "an incomplete sequence is held back (%zu bytes out)", len);
        CHECK_STATUS(xlstm_detokenizer_flush(stream, out, sizeof out, &len), XLSTM_OK);
        CHECK(len == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "flush emits U+FFFD (%zu bytes)", len);
        // The whole detokenize of a partial sequence: U+FFFD too.
        CHECK_STATUS(xlstm_detokenize(tokenizer, ids, 1, 0, out, sizeof out, &len), XLSTM_OK);
        CHECK(len == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "detokenize repairs as from_utf8_lossy");
    } else {
        CHECK(0, "the emoji is one token (%zu)", n);
    }
    xlstm_detokenizer_free(stream);
    xlstm_tokenizer_free(tokenizer);
}

static void bad_input_is_an_error(void) {
    xlstm_tokenizer *tokenizer = load("neox_style");
    if (!tokenizer) return;
    int32_t ids[16];
    size_t n = 77;
    const char invalid[][4] = {{'a', (char)0xC3, '(', 0}, {(char)0xED, (char)0xA0, (char)0x80, 0}, {(char)0xFF, 0, 0, 0}, {(char)0xE4, (char)0xBD, 0, 0}};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        CHECK_FAILS(xlstm_tokenize(tokenizer, invalid[i], strlen(invalid[i]), 0, ids, 16, &n), XLSTM_ERROR_INVALID_ARGUMENT);
        CHECK(strstr(xlstm_last_error_message(), "UTF-8") != NULL, "message: %s", xlstm_last_error_message());
        CHECK(n == 0, "n_tokens is 0 on error");
    }
    const int32_t bad_ids[] = {5, -3};
    char out[32];
    size_t len = 0;
    CHECK_FAILS(xlstm_detokenize(tokenizer, bad_ids, 2, 0, out, sizeof out, &len), XLSTM_ERROR_TOKEN_OUT_OF_RANGE);
    // NULL arguments.
    CHECK_FAILS(xlstm_tokenize(NULL, "a", 1, 0, ids, 16, &n), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_tokenize(tokenizer, NULL, 1, 0, ids, 16, &n), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_tokenize(tokenizer, "a", 1, 0, ids, 16, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_detokenize(tokenizer, NULL, 2, 0, out, sizeof out, &len), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_detokenize(tokenizer, bad_ids, 1, 0, out, sizeof out, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_tokenizer_get_info(NULL, NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_detokenizer *stream = (xlstm_detokenizer *)(uintptr_t)1;
    CHECK_FAILS(xlstm_detokenizer_create(NULL, 0, &stream), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK(stream == NULL, "output handle set to NULL on failure");
    CHECK_FAILS(xlstm_detokenizer_push(NULL, 1, out, sizeof out, &len), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_detokenizer_flush(NULL, out, sizeof out, &len), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_tokenizer_free(NULL);
    xlstm_detokenizer_free(NULL);
    xlstm_tokenizer_free(tokenizer);
}

static void loading_errors(void) {
    xlstm_tokenizer *tokenizer = (xlstm_tokenizer *)(uintptr_t)1;
    CHECK_FAILS(xlstm_tokenizer_load("/nonexistent/dir", &tokenizer), XLSTM_ERROR_IO);
    CHECK(tokenizer == NULL, "NULL on failure");
    CHECK_FAILS(xlstm_tokenizer_load(NULL, &tokenizer), XLSTM_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xlstm_tokenizer_load(tok_path("neox_style", ""), NULL), XLSTM_ERROR_INVALID_ARGUMENT);
    // A byte-level model directory has no tokenizer.json.
    xlstm_model *model = NULL;
    CHECK_STATUS(xlstm_model_load(fixture_path("paper_mixed", "model"), NULL, &model), XLSTM_OK);
    tokenizer = (xlstm_tokenizer *)(uintptr_t)1;
    CHECK_FAILS(xlstm_tokenizer_from_model(model, &tokenizer), XLSTM_ERROR_IO);
    CHECK(tokenizer == NULL, "NULL on failure");
    CHECK_FAILS(xlstm_tokenizer_from_model(NULL, &tokenizer), XLSTM_ERROR_INVALID_ARGUMENT);
    xlstm_model_free(model);
    // The tokenizer.json file itself is accepted.
    CHECK_STATUS(xlstm_tokenizer_load(tok_path("gpt2_style", "tokenizer.json"), &tokenizer), XLSTM_OK);
    xlstm_tokenizer_free(tokenizer);
}

typedef struct {
    xlstm_tokenizer *tokenizer;
    const char *text;
    size_t size;
    int32_t *expected;
    size_t n_expected;
    int mismatches;
} thread_job;

static void *tokenize_repeatedly(void *arg) {
    thread_job *job = arg;
    int32_t *ids = malloc((job->n_expected + 8) * sizeof *ids);
    for (int round = 0; round < 20; round++) {
        size_t n = 0;
        if (xlstm_tokenize(job->tokenizer, job->text, job->size, XLSTM_TOKENIZE_ADD_SPECIAL, ids, job->n_expected + 8, &n) != XLSTM_OK
            || n != job->n_expected || memcmp(ids, job->expected, n * sizeof *ids) != 0)
            job->mismatches++;
    }
    free(ids);
    return NULL;
}

static void one_tokenizer_many_threads(void) {
    xlstm_tokenizer *tokenizer = load("neox_style");
    size_t corpus_size = 0, whole_size = 0;
    char *corpus = read_whole_file(tok_path("neox_style", "corpus.txt"), &corpus_size);
    char *whole = read_whole_file(tok_path("neox_style", "expected_whole.txt"), &whole_size);
    if (!tokenizer || !corpus || !whole) { CHECK(0, "cannot load"); return; }
    thread_job jobs[4];
    pthread_t threads[4];
    size_t n_expected = 0;
    int32_t *expected = parse_ids(whole, whole_size - 1, &n_expected);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){tokenizer, corpus, corpus_size, expected, n_expected, 0};
        pthread_create(&threads[i], NULL, tokenize_repeatedly, &jobs[i]);
    }
    int mismatches = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        mismatches += jobs[i].mismatches;
    }
    CHECK(mismatches == 0, "%d of 80 concurrent runs differ", mismatches);
    free(expected);
    free(corpus);
    free(whole);
    xlstm_tokenizer_free(tokenizer);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_tokenizer", argc, argv);
    RUN(ids_equal_the_reference_on_every_line);
    RUN(buffer_protocol);
    RUN(special_token_flags);
    RUN(streaming_detokenizer);
    RUN(incomplete_tail_flushes_as_replacement);
    RUN(bad_input_is_an_error);
    RUN(loading_errors);
    RUN(one_tokenizer_many_threads);
    return finish();
}

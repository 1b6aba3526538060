// text — text in, text out with a model's tokenizer.json: tokenize a prompt, generate, and stream
// the reply through the streaming detokenizer (never half a UTF-8 character on screen).
//
//   text MODEL_DIR PROMPT [--n N] [--seed S]
//
// MODEL_DIR must hold a tokenizer.json (xLSTM 7B ships GPT-NeoX-20B's). Generation stops after N
// tokens or at the tokenizer's end-of-sequence token. The prompt is echoed, then the generated text
// follows as it is produced; a one-line summary goes to stderr.
//
// Build: cc text.c $(pkg-config --cflags --libs xlstm) -o text

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

static void usage(void) {
    fprintf(stderr, "usage: text MODEL_DIR PROMPT [--n N] [--seed S]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3) usage();
    const char *model_dir = argv[1], *prompt = argv[2];
    long n_generate = 32;
    unsigned long long seed = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--n") == 0) n_generate = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
        else usage();
    }

    xlstm_model *model = NULL;
    xlstm_tokenizer *tokenizer = NULL;
    xlstm_session *session = NULL;
    xlstm_sampler *sampler = NULL;
    xlstm_detokenizer *stream = NULL;
    int32_t *tokens = NULL;
    xlstm_status status;
    // 1. The model and its tokenizer (from the same directory).
    if ((status = xlstm_model_load(model_dir, NULL, &model)) != XLSTM_OK) goto done;
    if ((status = xlstm_tokenizer_from_model(model, &tokenizer)) != XLSTM_OK) goto done;
    xlstm_tokenizer_info info;
    xlstm_tokenizer_get_info(tokenizer, &info);

    // 2. Tokenize: ask for the size first (BUFFER_TOO_SMALL tells it), then fill a buffer that big.
    size_t n_prompt = 0;
    status = xlstm_tokenize(tokenizer, prompt, strlen(prompt), XLSTM_TOKENIZE_ADD_SPECIAL, NULL, 0, &n_prompt);
    if (status != XLSTM_OK && status != XLSTM_ERROR_BUFFER_TOO_SMALL) goto done;
    tokens = malloc((n_prompt + 1) * sizeof *tokens);
    if ((status = xlstm_tokenize(tokenizer, prompt, strlen(prompt), XLSTM_TOKENIZE_ADD_SPECIAL, tokens, n_prompt,
                                 &n_prompt)) != XLSTM_OK)
        goto done;
    if (n_prompt == 0) {
        fprintf(stderr, "text: the prompt has no tokens\n");
        status = XLSTM_ERROR_INVALID_ARGUMENT;
        goto done;
    }

    // 3. Feed the prompt, then sample and stream.
    xlstm_sampler_params sampling;
    xlstm_sampler_default_params(&sampling);
    sampling.seed = seed;
    if ((status = xlstm_session_create(model, &session)) != XLSTM_OK) goto done;
    if ((status = xlstm_sampler_create(&sampling, &sampler)) != XLSTM_OK) goto done;
    if ((status = xlstm_detokenizer_create(tokenizer, 0, &stream)) != XLSTM_OK) goto done;
    if ((status = xlstm_session_feed_tokens(session, tokens, n_prompt, XLSTM_LOGITS_LAST)) != XLSTM_OK) goto done;
    for (size_t i = 0; i < n_prompt; i++) xlstm_sampler_accept(sampler, tokens[i]);
    fputs(prompt, stdout);
    char piece[256];
    size_t length = 0;
    long n_generated = 0;
    for (; n_generated < n_generate; n_generated++) {
        int32_t token;
        if ((status = xlstm_sampler_sample(sampler, session, &token)) != XLSTM_OK) goto done;
        if (token == info.eos_id) break;
        if ((status = xlstm_session_feed_token(session, token)) != XLSTM_OK) goto done;
        // The text that is complete now: often the token's, nothing while a character is split.
        if ((status = xlstm_detokenizer_push(stream, token, piece, sizeof piece, &length)) != XLSTM_OK) goto done;
        fwrite(piece, 1, length, stdout);
        fflush(stdout);
    }
    if ((status = xlstm_detokenizer_flush(stream, piece, sizeof piece, &length)) != XLSTM_OK) goto done;
    fwrite(piece, 1, length, stdout);
    putchar('\n');
    fflush(stdout);
    fprintf(stderr, "text: prompt %zu tokens, generated %ld tokens, seed %llu\n", n_prompt, n_generated, seed);

done:
    if (status != XLSTM_OK) fprintf(stderr, "text: %s\n", xlstm_last_error_message());
    xlstm_detokenizer_free(stream);
    xlstm_sampler_free(sampler);
    xlstm_session_free(session);
    xlstm_tokenizer_free(tokenizer);
    xlstm_model_free(model);
    free(tokens);
    return status == XLSTM_OK ? 0 : 1;
}

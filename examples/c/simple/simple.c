// simple — the smallest complete xlstm program: load a model, feed a prompt, sample tokens.
//
//   simple MODEL_DIR [--tokens 1,2,3 | --prompt TEXT] [--n N] [--seed S]
//                    [--temperature T] [--top-k K] [--top-p P]
//
// The prompt is a list of token ids (no tokenizer here); sampled ids are printed the same way. For
// byte-level models (vocab_size ≥ 256) --prompt TEXT feeds the text's bytes as ids instead; then
// the prompt is echoed and sampled ids < 256 are printed as bytes, others as <id>.
// Tokens go to stdout as they are produced; a one-line summary goes to stderr.
//
// Build: cc simple.c $(pkg-config --cflags --libs xlstm) -o simple

#define _POSIX_C_SOURCE 200809L  // clock_gettime

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xlstm.h"

static void usage(void) {
    fprintf(stderr,
            "usage: simple MODEL_DIR [--tokens 1,2,3 | --prompt TEXT] [--n N] [--seed S]\n"
            "                        [--temperature T] [--top-k K] [--top-p P]\n");
    exit(2);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Parses "1,2,3" into tokens[0..capacity); returns the count, 0 if malformed.
static size_t parse_token_list(const char *text, int32_t *tokens, size_t capacity) {
    size_t count = 0;
    while (*text && count < capacity) {
        char *end;
        long id = strtol(text, &end, 10);
        if (end == text || (*end != ',' && *end != '\0')) return 0;
        tokens[count++] = (int32_t)id;
        text = *end == ',' ? end + 1 : end;
    }
    return *text ? 0 : count;
}

// Prints one sampled token: as a byte (text mode) or as an id.
static void print_token(int32_t token, int as_text, int first) {
    if (as_text && token < 256) putchar(token);
    else if (as_text) printf("<%d>", (int)token);
    else printf(first ? "%d" : " %d", (int)token);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') usage();
    const char *model_dir = argv[1];
    const char *token_list = NULL, *prompt = NULL;
    long n_generate = 32;
    xlstm_sampler_params sampling;
    xlstm_sampler_default_params(&sampling);
    for (int i = 2; i < argc; i += 2) {
        const char *option = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) usage();
        if (strcmp(option, "--tokens") == 0) token_list = value;
        else if (strcmp(option, "--prompt") == 0) prompt = value;
        else if (strcmp(option, "--n") == 0) n_generate = strtol(value, NULL, 10);
        else if (strcmp(option, "--seed") == 0) sampling.seed = strtoull(value, NULL, 10);
        else if (strcmp(option, "--temperature") == 0) sampling.temperature = strtof(value, NULL);
        else if (strcmp(option, "--top-k") == 0) sampling.top_k = (int32_t)strtol(value, NULL, 10);
        else if (strcmp(option, "--top-p") == 0) sampling.top_p = strtof(value, NULL);
        else usage();
    }
    if (!token_list == !prompt) usage();  // exactly one of the two
    if (xlstm_api_version() != XLSTM_API_VERSION) {
        fprintf(stderr, "simple: libxlstm has API version %d, this program was built for %d\n",
                (int)xlstm_api_version(), XLSTM_API_VERSION);
        return 1;
    }

    xlstm_model *model = NULL;
    xlstm_session *session = NULL;
    xlstm_sampler *sampler = NULL;
    int32_t *tokens = NULL;
    size_t n_prompt = 0;
    long n_generated = 0;

    // 1. The model (weights are memory-mapped; one model can serve many sessions), a session (one
    //    sequence's recurrent state) and a sampler (seeded: the same seed gives the same tokens).
    xlstm_status status = xlstm_model_load(model_dir, NULL, &model);
    if (status == XLSTM_OK) status = xlstm_session_create(model, &session);
    if (status == XLSTM_OK) status = xlstm_sampler_create(&sampling, &sampler);
    if (status != XLSTM_OK) goto done;
    xlstm_model_info info;
    xlstm_model_get_info(model, &info);

    // 2. The prompt, as token ids: a list, or a text's bytes for a byte-level model.
    if (prompt && info.vocab_size < 256) {
        fprintf(stderr, "simple: --prompt needs a byte-level model (vocab_size >= 256, not %d): use --tokens\n",
                (int)info.vocab_size);
        goto done;
    }
    size_t capacity = prompt ? strlen(prompt) : strlen(token_list) / 2 + 1;
    tokens = malloc((capacity + 1) * sizeof *tokens);
    if (prompt) {
        for (n_prompt = 0; n_prompt < capacity; n_prompt++) tokens[n_prompt] = (unsigned char)prompt[n_prompt];
    } else {
        n_prompt = parse_token_list(token_list, tokens, capacity);
    }
    if (n_prompt == 0) {
        fprintf(stderr, "simple: the prompt is empty or not a list of ids like 1,2,3\n");
        goto done;
    }

    // 3. Feed the prompt in one call (every id is checked first: a bad one consumes nothing), and
    //    let the sampler know it (for repetition penalties).
    double start = now_seconds();
    if ((status = xlstm_session_feed_tokens(session, tokens, n_prompt, XLSTM_LOGITS_LAST)) != XLSTM_OK) goto done;
    for (size_t i = 0; i < n_prompt; i++) xlstm_sampler_accept(sampler, tokens[i]);
    double prompt_done = now_seconds();
    if (prompt) fputs(prompt, stdout);

    // 4. Generate: sample from the current logits, print, feed the token back.
    for (; n_generated < n_generate; n_generated++) {
        int32_t token;
        if ((status = xlstm_sampler_sample(sampler, session, &token)) != XLSTM_OK) break;
        print_token(token, prompt != NULL, n_generated == 0);
        if ((status = xlstm_session_feed_token(session, token)) != XLSTM_OK) break;
    }
    putchar('\n');
    fflush(stdout);  // the text before the summary line on stderr
    double end = now_seconds();
    if (status == XLSTM_OK) {
        fprintf(stderr, "simple: prompt %zu tokens (%.0f tokens/s), generated %ld tokens (%.0f tokens/s), "
                "state %llu bytes per session, seed %llu\n",
                n_prompt, n_prompt / (prompt_done > start ? prompt_done - start : 1e-9), n_generated,
                n_generated / (end > prompt_done ? end - prompt_done : 1e-9),
                (unsigned long long)info.state_bytes_in_memory, (unsigned long long)sampling.seed);
    }

done:
    if (status != XLSTM_OK) fprintf(stderr, "simple: %s\n", xlstm_last_error_message());
    xlstm_sampler_free(sampler);  // each free accepts NULL
    xlstm_session_free(session);
    xlstm_model_free(model);
    free(tokens);
    return status == XLSTM_OK && n_prompt > 0 ? 0 : 1;
}

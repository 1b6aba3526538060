// state — a conversation that survives process restarts.
//
//   state MODEL_DIR save FILE --tokens 1,2,3 [--n N] [--seed S]
//       feeds the tokens, generates N tokens (default 16), saves the session to FILE
//   state MODEL_DIR resume FILE [--n N] [--seed S]
//       restores the session from FILE in this new process, generates N more tokens, saves it back
//
// Both print the generated ids on stdout, one line; a summary goes to stderr.
//
// Why the continuation is identical. An xLSTM's whole history is its fixed-size recurrent state:
// xlstm_session_save_state_file writes that state, the token count and the last logits, and
// xlstm_session_load_state_file restores them bit for bit (in any process, on any machine with this
// library). The other half of generation is the sampler's random sequence, which is not part of
// the session; so this program derives the random draw for the token at position p from
// (seed, p) alone — a sampler seeded with seed ^ (p · 0x9E3779B97F4A7C15) draws it — and position p is
// xlstm_session_n_tokens(), which the state file restores. Hence, with the same seed,
//
//   state M save F --tokens 1,2,3 --n 16;  state M resume F --n 8;  state M resume F --n 8
//
// prints, over its three lines, exactly the 32 ids of the uninterrupted
//
//   state M save G --tokens 1,2,3 --n 32
//
// (the test suite checks this: mk/c.mk, c-test). A sampler with repetition penalties would also need
// its token history saved; this example keeps them off.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

static void usage(void) {
    fprintf(stderr,
            "usage: state MODEL_DIR save FILE --tokens 1,2,3 [--n N] [--seed S]\n"
            "       state MODEL_DIR resume FILE [--n N] [--seed S]\n");
    exit(2);
}

// Samples the next token with randomness that depends only on (seed, position in the sequence).
static xlstm_status sample_at_position(const xlstm_session *session, uint64_t seed, int32_t *token) {
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = seed ^ ((uint64_t)xlstm_session_n_tokens(session) * 0x9E3779B97F4A7C15u);
    xlstm_sampler *sampler = NULL;
    xlstm_status status = xlstm_sampler_create(&params, &sampler);
    if (status == XLSTM_OK) status = xlstm_sampler_sample(sampler, session, token);
    xlstm_sampler_free(sampler);
    return status;
}

// Parses "1,2,3" into tokens[0..capacity); returns the count, 0 if malformed.
static size_t parse_tokens(const char *text, int32_t *tokens, size_t capacity) {
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

int main(int argc, char **argv) {
    if (argc < 4) usage();
    const char *model_dir = argv[1], *mode = argv[2], *file = argv[3];
    int saving = strcmp(mode, "save") == 0;
    if (!saving && strcmp(mode, "resume") != 0) usage();
    const char *token_list = NULL;
    long n_generate = 16;
    uint64_t seed = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tokens") == 0) token_list = argv[i + 1];
        else if (strcmp(argv[i], "--n") == 0) n_generate = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
        else usage();
    }
    if ((argc - 4) % 2 != 0 || (saving && !token_list) || (!saving && token_list)) usage();

    int32_t prompt[1024];
    size_t n_prompt = saving ? parse_tokens(token_list, prompt, sizeof prompt / sizeof prompt[0]) : 0;
    if (saving && n_prompt == 0) usage();

    xlstm_model *model = NULL;
    xlstm_session *session = NULL;
    const char *doing = model_dir;  // what failed, for the message
    xlstm_status status = xlstm_model_load(model_dir, NULL, &model);
    if (status == XLSTM_OK) status = xlstm_session_create(model, &session);
    if (status != XLSTM_OK) goto done;

    if (saving) {
        // A new conversation: the prompt.
        doing = "prompt";
        status = xlstm_session_feed_tokens(session, prompt, n_prompt, XLSTM_LOGITS_LAST);
    } else {
        // The conversation so far, including the logits for its next token.
        doing = "resume";
        status = xlstm_session_load_state_file(session, file);
    }
    if (status != XLSTM_OK) goto done;
    long long history = (long long)xlstm_session_n_tokens(session);

    doing = "generate";
    for (long i = 0; i < n_generate && status == XLSTM_OK; i++) {
        int32_t token;
        if ((status = sample_at_position(session, seed, &token)) != XLSTM_OK) break;
        printf(i ? " %d" : "%d", (int)token);
        fflush(stdout);
        status = xlstm_session_feed_token(session, token);
    }
    printf("\n");
    if (status != XLSTM_OK) goto done;

    // Written to a temporary file and renamed: FILE is never half-written.
    doing = "save";
    if ((status = xlstm_session_save_state_file(session, file)) != XLSTM_OK) goto done;
    fprintf(stderr, "state: %s %lld tokens of history, generated %ld, saved %lld tokens (%zu bytes) to %s\n",
            saving ? "started with" : "resumed", history, n_generate, (long long)xlstm_session_n_tokens(session),
            (size_t)xlstm_session_state_size(session), file);

done:
    if (status != XLSTM_OK) fprintf(stderr, "state: %s: %s\n", doing, xlstm_last_error_message());
    xlstm_session_free(session);
    xlstm_model_free(model);
    return status == XLSTM_OK ? 0 : 1;
}

// npc — a crowd of characters sharing one xLSTM model, the way a game would run them.
//
//   * one model, loaded once and shared (read-only, thread-safe);
//   * one session per NPC: a fixed-size recurrent state, no growing KV cache;
//   * the crowd's personas go in with one xlstm_batch_feed_tokens: eight prompts of different
//     lengths in one prefill, each weight read once for all of them;
//   * a frame loop: every frame each NPC gets a small token budget, so no frame stalls; the NPCs
//     with budget left advance together, one xlstm_batch_feed per token (each weight read once for
//     the whole crowd, not once per NPC), and one xlstm_sampler_sample_batch draws every NPC's next
//     token — two calls per round, whatever the crowd's size;
//   * a dialogue branch: snapshot an NPC before it, explore, roll back (xlstm_session_copy_state);
//   * persistence: every NPC's session state and sampler state (random position, penalty history)
//     go into one save file; the next run resumes from it and says exactly what it would have said.
//
// usage: npc MODEL_DIR SAVE_FILE [--frames N] [--budget TOKENS_PER_FRAME] [--seed S]
// Run it twice with the same SAVE_FILE: the second run continues every NPC where the first stopped.
// The model must be byte-level (vocabulary of 256 bytes + a few specials), e.g. examples/models/*.

#define _POSIX_C_SOURCE 200809L  // clock_gettime
#include <xlstm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPC_COUNT 8
#define LINE_MAX_BYTES 48

typedef struct npc {
    const char *name;
    const char *persona;          // fed once, as the character's "memory"
    xlstm_session *session;
    xlstm_sampler *sampler;
    char line[LINE_MAX_BYTES + 1]; // what the NPC is saying this scene
    size_t line_length;
} npc;

static npc crowd[NPC_COUNT] = {
    {"Blacksmith", "The blacksmith says: ", NULL, NULL, {0}, 0},
    {"Innkeeper", "The innkeeper laughs and says: ", NULL, NULL, {0}, 0},
    {"Guard", "The guard frowns. \"", NULL, NULL, {0}, 0},
    {"Bard", "The bard sings: ", NULL, NULL, {0}, 0},
    {"Merchant", "A merchant whispers: ", NULL, NULL, {0}, 0},
    {"Wizard", "The old wizard said, ", NULL, NULL, {0}, 0},
    {"Farmer", "The farmer sighs: ", NULL, NULL, {0}, 0},
    {"Child", "A child asks: ", NULL, NULL, {0}, 0},
};

static void check(xlstm_status status, const char *what) {
    if (status != XLSTM_OK) {
        fprintf(stderr, "npc: %s: %s (%s)\n", what, xlstm_status_string(status), xlstm_last_error_message());
        exit(1);
    }
}

// Feeds a string as bytes (one parallel prefill).
static void say_to(npc *character, const char *text) {
    int32_t tokens[256] = {0};
    size_t n = strlen(text);
    if (n > 256) n = 256;
    for (size_t i = 0; i < n; i++) tokens[i] = (unsigned char)text[i];
    check(xlstm_session_feed_tokens(character->session, tokens, n, XLSTM_LOGITS_LAST), "feed");
    for (size_t i = 0; i < n; i++) xlstm_sampler_accept(character->sampler, tokens[i]);
}

// Feeds every NPC its persona in one batched prefill (prompts of different lengths).
static void introduce_crowd(void) {
    static int32_t bytes[NPC_COUNT][256];
    const int32_t *spans[NPC_COUNT];
    size_t lengths[NPC_COUNT];
    xlstm_session *sessions[NPC_COUNT];
    for (int i = 0; i < NPC_COUNT; i++) {
        size_t n = strlen(crowd[i].persona);
        if (n > 256) n = 256;
        for (size_t t = 0; t < n; t++) bytes[i][t] = (unsigned char)crowd[i].persona[t];
        spans[i] = bytes[i];
        lengths[i] = n;
        sessions[i] = crowd[i].session;
    }
    check(xlstm_batch_feed_tokens(sessions, spans, lengths, NPC_COUNT, XLSTM_LOGITS_LAST), "batch prefill");
    for (int i = 0; i < NPC_COUNT; i++) {
        for (size_t t = 0; t < lengths[i]; t++) xlstm_sampler_accept(crowd[i].sampler, bytes[i][t]);
    }
}

// Generates up to `budget` bytes of the NPC's current line; returns 1 when the line is finished.
static int think(npc *character, int budget) {
    for (int i = 0; i < budget; i++) {
        int32_t token;
        check(xlstm_sampler_sample(character->sampler, character->session, &token), "sample");
        check(xlstm_session_feed_token(character->session, token), "feed");
        if (token == '\n' || character->line_length == LINE_MAX_BYTES) return 1;
        if (token < 256) character->line[character->line_length++] = (char)token;
        character->line[character->line_length] = '\0';
    }
    return 0;
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// One frame: every NPC may say up to `budget` more bytes. Each round, every NPC with budget left
// samples its next byte from its logits, then one batched feed advances all of them at once.
// Returns the number of tokens fed.
static int frame_step(int frame, int budget) {
    int left[NPC_COUNT], tokens_fed = 0;
    for (int i = 0; i < NPC_COUNT; i++) left[i] = budget;
    for (;;) {
        xlstm_session *sessions[NPC_COUNT];
        xlstm_sampler *samplers[NPC_COUNT];
        int32_t tokens[NPC_COUNT];
        int who[NPC_COUNT], n = 0;
        for (int i = 0; i < NPC_COUNT; i++) {
            if (left[i] == 0) continue;
            sessions[n] = crowd[i].session;
            samplers[n] = crowd[i].sampler;
            who[n++] = i;
        }
        if (n == 0) return tokens_fed;
        // Two calls per round for the whole crowd: sample every NPC's next byte, feed them all.
        check(xlstm_sampler_sample_batch(samplers, sessions, (size_t)n, tokens), "batch sample");
        check(xlstm_batch_feed(sessions, tokens, (size_t)n, XLSTM_LOGITS_LAST), "batch feed");
        tokens_fed += n;
        for (int k = 0; k < n; k++) {
            npc *character = &crowd[who[k]];
            int32_t token = tokens[k];
            left[who[k]]--;
            if (token == '\n' || character->line_length == LINE_MAX_BYTES) {
                printf("[frame %2d] %-10s %s\n", frame, character->name, character->line);
                character->line_length = 0;
                character->line[0] = '\0';
                left[who[k]] = 0;  // the line is finished: this NPC waits for the next frame
                continue;
            }
            if (token < 256) character->line[character->line_length++] = (char)token;
            character->line[character->line_length] = '\0';
        }
    }
}

// Save file: "NPCSAVE2", count (u32), frames played (u32), session state size (u64), sampler state
// size (u64), then for each NPC: its session state blob, its sampler state blob, the length (u32) and
// bytes of the line it is in the middle of.
static int save_all(const char *path, uint32_t frames_played) {
    size_t size = xlstm_session_state_size(crowd[0].session);
    size_t sampler_size = xlstm_sampler_state_size(crowd[0].sampler);
    unsigned char *blob = malloc(size), *sampler_blob = malloc(sampler_size);
    FILE *file = fopen(path, "wb");
    if (!blob || !sampler_blob || !file) { free(blob); free(sampler_blob); if (file) fclose(file); return 0; }
    uint32_t count = NPC_COUNT;
    uint64_t size64 = size, sampler_size64 = sampler_size;
    fwrite("NPCSAVE2", 1, 8, file);
    fwrite(&count, sizeof count, 1, file);
    fwrite(&frames_played, sizeof frames_played, 1, file);
    fwrite(&size64, sizeof size64, 1, file);
    fwrite(&sampler_size64, sizeof sampler_size64, 1, file);
    for (int i = 0; i < NPC_COUNT; i++) {
        size_t written = 0;
        check(xlstm_session_save_state(crowd[i].session, blob, size, &written), "save state");
        fwrite(blob, 1, written, file);
        check(xlstm_sampler_save_state(crowd[i].sampler, sampler_blob, sampler_size, &written), "save sampler");
        fwrite(sampler_blob, 1, written, file);
        uint32_t line_length = (uint32_t)crowd[i].line_length;
        fwrite(&line_length, sizeof line_length, 1, file);
        fwrite(crowd[i].line, 1, line_length, file);
    }
    free(blob);
    free(sampler_blob);
    return fclose(file) == 0;
}

// Returns 1 if every NPC was restored from `path` (and `*frames_played` from it), 0 if there is no
// usable save (a fresh start).
static int load_all(const char *path, uint32_t *frames_played) {
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    char magic[8];
    uint32_t count = 0;
    uint64_t size = 0, sampler_size = 0;
    size_t expected = xlstm_session_state_size(crowd[0].session);
    size_t sampler_expected = xlstm_sampler_state_size(crowd[0].sampler);
    int ok = fread(magic, 1, 8, file) == 8 && memcmp(magic, "NPCSAVE2", 8) == 0
          && fread(&count, sizeof count, 1, file) == 1 && count == NPC_COUNT
          && fread(frames_played, sizeof *frames_played, 1, file) == 1
          && fread(&size, sizeof size, 1, file) == 1 && size == expected
          && fread(&sampler_size, sizeof sampler_size, 1, file) == 1 && sampler_size == sampler_expected;
    unsigned char *blob = ok ? malloc(expected) : NULL, *sampler_blob = ok ? malloc(sampler_expected) : NULL;
    for (int i = 0; ok && i < NPC_COUNT; i++) {
        ok = blob && sampler_blob && fread(blob, 1, expected, file) == expected
          && fread(sampler_blob, 1, sampler_expected, file) == sampler_expected;
        uint32_t line_length = 0;
        ok = ok && fread(&line_length, sizeof line_length, 1, file) == 1 && line_length <= LINE_MAX_BYTES
          && fread(crowd[i].line, 1, line_length, file) == line_length;
        if (ok) { crowd[i].line_length = line_length; crowd[i].line[line_length] = '\0'; }
        // A blob from another model or a damaged file is refused and leaves the NPC as it was.
        if (ok && (xlstm_session_load_state(crowd[i].session, blob, expected) != XLSTM_OK
                   || xlstm_sampler_load_state(crowd[i].sampler, sampler_blob, sampler_expected) != XLSTM_OK)) {
            fprintf(stderr, "npc: %s: %s\n", crowd[i].name, xlstm_last_error_message());
            ok = 0;
        }
    }
    free(blob);
    free(sampler_blob);
    fclose(file);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR SAVE_FILE [--frames N] [--budget TOKENS_PER_FRAME] [--seed S]\n", argv[0]);
        return 2;
    }
    int frames = 12, budget = 4;
    uint64_t seed = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--frames") == 0) frames = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--budget") == 0) budget = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    }

    xlstm_model *model;
    check(xlstm_model_load(argv[1], NULL, &model), "load model");
    xlstm_model_info info;
    check(xlstm_model_get_info(model, &info), "model info");
    if (info.vocab_size < 256) {
        fprintf(stderr, "npc: %s is not a byte-level model\n", argv[1]);
        return 1;
    }

    xlstm_sampler_params sampling;
    xlstm_sampler_default_params(&sampling);
    sampling.temperature = 0.7f;
    for (int i = 0; i < NPC_COUNT; i++) {
        sampling.seed = seed * 1000 + (uint64_t)i;
        check(xlstm_session_create(model, &crowd[i].session), "create session");
        check(xlstm_sampler_create(&sampling, &crowd[i].sampler), "create sampler");
    }

    uint32_t first_frame = 0;
    int resumed = load_all(argv[2], &first_frame);
    if (!resumed) first_frame = 0;
    if (!resumed) {
        introduce_crowd();
    }
    printf("%d NPCs, one model (%llu parameters), %llu bytes of state each; %s\n", NPC_COUNT,
           (unsigned long long)info.n_parameters, (unsigned long long)info.state_bytes_in_memory,
           resumed ? "resumed from the save file" : "fresh start");

    // The frame loop: every NPC advances by at most `budget` tokens per frame, all in batches.
    double start = seconds();
    long total = 0;
    for (int frame = 0; frame < frames; frame++) total += frame_step((int)first_frame + frame, budget);
    double elapsed = seconds() - start;
    // Timing goes to stderr: stdout stays the same for the same seed.
    fprintf(stderr, "npc: %ld tokens in %d frames, %.1f tokens/s aggregate (batched feeds of up to %d NPCs)\n",
            total, frames, elapsed > 0 ? (double)total / elapsed : 0.0, NPC_COUNT);

    // A dialogue branch: the player insults the guard... then reloads. Snapshot, explore, roll back:
    // the session's state, the sampler's state and the line in progress.
    npc *guard = &crowd[2];
    xlstm_session *snapshot;
    check(xlstm_session_clone(guard->session, &snapshot), "snapshot");
    unsigned char sampler_snapshot[4096];
    size_t sampler_snapshot_size = 0;
    check(xlstm_sampler_save_state(guard->sampler, sampler_snapshot, sizeof sampler_snapshot, &sampler_snapshot_size),
          "snapshot sampler");
    char line_snapshot[LINE_MAX_BYTES + 1];
    size_t line_snapshot_length = guard->line_length;
    memcpy(line_snapshot, guard->line, sizeof line_snapshot);
    say_to(guard, "\nYou insult the guard. The guard says: ");
    guard->line_length = 0;
    while (!think(guard, budget)) {}
    printf("[branch]   %-10s %s\n", guard->name, guard->line);
    check(xlstm_session_copy_state(guard->session, snapshot), "roll back");
    check(xlstm_sampler_load_state(guard->sampler, sampler_snapshot, sampler_snapshot_size), "roll back sampler");
    memcpy(guard->line, line_snapshot, sizeof line_snapshot);
    guard->line_length = line_snapshot_length;
    printf("[rollback] %-10s back to %lld tokens of history\n", guard->name,
           (long long)xlstm_session_n_tokens(guard->session));
    xlstm_session_free(snapshot);

    if (!save_all(argv[2], first_frame + (uint32_t)frames)) {
        fprintf(stderr, "npc: cannot write %s\n", argv[2]);
        return 1;
    }
    printf("saved %d NPC session and sampler states to %s\n", NPC_COUNT, argv[2]);

    for (int i = 0; i < NPC_COUNT; i++) {
        xlstm_sampler_free(crowd[i].sampler);
        xlstm_session_free(crowd[i].session);
    }
    xlstm_model_free(model);
    return 0;
}

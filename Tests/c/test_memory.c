// Memory (issue #13): 10 000 sessions and 1 000 models created and freed in loops (with a feed,
// a clone, a state save/load and a sampler each time) — the resident set size must not grow.
// RSS is read from /proc/self/statm after a warm-up round (allocator pools, the Swift runtime's
// one-time metadata) and after the loops; growth beyond RSS_SLACK fails. Leaks proper are checked
// by the same program under LeakSanitizer (c-test) and valgrind (make c-valgrind).
// Prints the figures. Usage: test_memory [FIXTURES_DIR] [SESSIONS] [MODELS]

#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KB (1L << 30)  // ASan's quarantine holds freed memory: RSS says nothing; leaks are LSan's
#else
#define RSS_SLACK_KB 2048L  // allocator noise; a leaked session of paper_mixed is ~60 KB, a model ~600 KB
#endif

static int sessions_to_make = 10000, models_to_make = 1000;
static long rss_before_sessions, rss_after_sessions, rss_before_models, rss_after_models;

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int session_round(const xlstm_model *model, int i, unsigned char *blob, size_t size) {
    int failures = 0;
    xlstm_session *s = NULL, *c = NULL;
    xlstm_sampler *sampler = NULL;
    if (xlstm_session_create(model, &s) != XLSTM_OK) return 1;
    const int32_t tokens[] = {1, 2, 3, (int32_t)(i % 100)};
    failures += xlstm_session_feed_tokens(s, tokens, 4, XLSTM_LOGITS_LAST) != XLSTM_OK;
    failures += xlstm_session_clone(s, &c) != XLSTM_OK;
    failures += xlstm_session_save_state(s, blob, size, NULL) != XLSTM_OK;
    failures += xlstm_session_load_state(c, blob, size) != XLSTM_OK;
    failures += xlstm_session_load_state(c, blob, size - 1) == XLSTM_OK;  // an error path too
    failures += xlstm_sampler_create(NULL, &sampler) != XLSTM_OK;
    int32_t token;
    failures += xlstm_sampler_sample(sampler, c, &token) != XLSTM_OK;
    xlstm_sampler_free(sampler);
    xlstm_session_free(c);
    xlstm_session_free(s);
    return failures;
}

static void sessions_do_not_grow_rss(void) {
    xlstm_model *model = load_fixture_model("paper_mixed", NULL);
    if (!model) return;
    xlstm_session *probe = new_session(model);
    size_t size = xlstm_session_state_size(probe);
    xlstm_session_free(probe);
    unsigned char *blob = malloc(size);
    int failures = 0;
    for (int i = 0; i < 200; i++) failures += session_round(model, i, blob, size);  // warm-up
    rss_before_sessions = rss_kb();
    for (int i = 0; i < sessions_to_make; i++) failures += session_round(model, i, blob, size);
    rss_after_sessions = rss_kb();
    free(blob);
    xlstm_model_free(model);
    CHECK(failures == 0, "%d failed calls", failures);
    CHECK(rss_after_sessions - rss_before_sessions <= RSS_SLACK_KB, "RSS grew by %ld KB over %d sessions",
          rss_after_sessions - rss_before_sessions, sessions_to_make);
    snprintf(case_note, sizeof case_note, "(%d sessions: RSS %ld KB before, %ld KB after)", sessions_to_make,
             rss_before_sessions, rss_after_sessions);
}

static char half_way_dir[4096];  // paper_mixed's config.json with large_basic's weights

static void make_half_way_dir(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(half_way_dir, sizeof half_way_dir, "%s/xlstm-memory-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    CHECK(mkdtemp(half_way_dir) != NULL, "mkdtemp");
    const char *from[] = {"paper_mixed", "large_basic"}, *file[] = {"model/config.json", "model/model.safetensors"};
    for (int i = 0; i < 2; i++) {
        size_t size = 0;
        void *bytes = read_whole_file(fixture_path(from[i], file[i]), &size);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", half_way_dir, file[i] + 6);
        CHECK(bytes && write_whole_file(path, bytes, size), "writing %s", path);
        free(bytes);
    }
}

static void remove_half_way_dir(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", half_way_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", half_way_dir);
    unlink(path);
    rmdir(half_way_dir);
}

static int model_round(int i) {
    const char *names[] = {"paper_mixed", "large_basic", "large_bf16_sharded", "paper_slstm_only"};
    xlstm_model *m = NULL;
    int failures = xlstm_model_load(fixture_path(names[i % 4], "model"), NULL, &m) != XLSTM_OK;
    xlstm_session *s = NULL;
    failures += xlstm_session_create(m, &s) != XLSTM_OK;
    failures += xlstm_session_feed_token(s, 7) != XLSTM_OK;
    xlstm_session_free(s);
    xlstm_model_free(m);
    // and a load that fails half-way (weights mapped, then a missing tensor): nothing may stay behind
    failures += xlstm_model_load(half_way_dir, NULL, &m) != XLSTM_ERROR_INVALID_MODEL || m != NULL;
    return failures;
}

static void models_do_not_grow_rss(void) {
    int failures = 0;
    for (int i = 0; i < 40; i++) failures += model_round(i);  // warm-up
    rss_before_models = rss_kb();
    for (int i = 0; i < models_to_make; i++) failures += model_round(i);
    rss_after_models = rss_kb();
    CHECK(failures == 0, "%d failed calls", failures);
    CHECK(rss_after_models - rss_before_models <= RSS_SLACK_KB, "RSS grew by %ld KB over %d models",
          rss_after_models - rss_before_models, models_to_make);
    snprintf(case_note, sizeof case_note, "(%d models: RSS %ld KB before, %ld KB after)", models_to_make,
             rss_before_models, rss_after_models);
}

int main(int argc, char **argv) {
    parse_common_arguments("test_memory", argc, argv);
    if (argc > 2) sessions_to_make = atoi(argv[2]);
    if (argc > 3) models_to_make = atoi(argv[3]);
    make_half_way_dir();
    RUN(sessions_do_not_grow_rss);
    RUN(models_do_not_grow_rss);
    remove_half_way_dir();
    return finish();
}

// Threads (issue #13): one model shared by 32 threads, each with its own sessions, feeding (step and
// prefill), saving, loading, cloning, copying state and sampling concurrently; a second model with
// a 2-thread pool (n_threads 2: one pool owned by the model, issue 11) shared by 8 threads, and by
// 4 threads running batched feeds (xlstm_batch_feed) and single feeds on it at once; 32 threads
// saving to the SAME state file. Every thread's results (logits, state blobs, sampled tokens) must equal, bit for bit,
// the same work done serially. Built against the library compiled with -sanitize=thread
// (`make tsan-test`), where any ThreadSanitizer report fails the run; also run under ASan by c-test.
//
// Usage: test_threads [FIXTURES_DIR]

#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <unistd.h>

#include "check.h"

#define THREADS 32
#define POOLED_THREADS 8
#define STEPS 24

typedef struct {
    const xlstm_model *model;
    int index;
    size_t state_size;
    unsigned char *blob;    // [state_size] final state of the main session
    unsigned char *forked;  // [state_size] final state of the clone
    float logits[100];
    int32_t sampled[STEPS];
    int failures;
    char path[4200];        // a state file of its own
} work;

static const char *shared_path;  // one state file every thread writes

static void *run_work(void *argument) {
    work *w = argument;
    xlstm_session *s = NULL, *fork = NULL, *snapshot_session = NULL;
    xlstm_sampler *sampler = NULL;
    xlstm_sampler_params params;
    xlstm_sampler_default_params(&params);
    params.seed = (uint64_t)w->index;
    if (xlstm_session_create(w->model, &s) != XLSTM_OK || xlstm_session_create(w->model, &snapshot_session) != XLSTM_OK
        || xlstm_sampler_create(&params, &sampler) != XLSTM_OK) {
        w->failures++;
        return NULL;
    }
    unsigned char *saved = malloc(w->state_size);
    int32_t prompt[16];
    size_t n_prompt = 2 + (size_t)(w->index % 11);
    for (size_t i = 0; i < n_prompt; i++) prompt[i] = (int32_t)((w->index * 13 + (int)i * 7) % 100);
    if (xlstm_session_feed_tokens(s, prompt, n_prompt, XLSTM_LOGITS_LAST) != XLSTM_OK) w->failures++;
    for (int k = 0; k < STEPS; k++) {
        int32_t token = 0;
        if (xlstm_sampler_sample(sampler, s, &token) != XLSTM_OK) w->failures++;
        w->sampled[k] = token;
        if (xlstm_session_feed_token(s, token) != XLSTM_OK) w->failures++;
        if (k % 6 == 2) {  // save, diverge, restore
            size_t written = 0;
            if (xlstm_session_save_state(s, saved, w->state_size, &written) != XLSTM_OK) w->failures++;
            if (xlstm_session_copy_state(snapshot_session, s) != XLSTM_OK) w->failures++;
            xlstm_session_feed_token(s, (token + 1) % 100);
            xlstm_session_feed_tokens(s, prompt, n_prompt, XLSTM_LOGITS_NONE);
            if (xlstm_session_load_state(s, saved, written) != XLSTM_OK) w->failures++;
        }
        if (k % 6 == 4) {  // fork, roll back through the snapshot session, file round trip
            xlstm_session_free(fork);
            fork = NULL;
            if (xlstm_session_clone(s, &fork) != XLSTM_OK) w->failures++;
            xlstm_session_feed_token(fork, (token + 3) % 100);
            if (xlstm_session_save_state_file(s, w->path) != XLSTM_OK) w->failures++;
            xlstm_session_feed_token(s, 1);
            if (xlstm_session_load_state_file(s, w->path) != XLSTM_OK) w->failures++;
            if (shared_path && xlstm_session_save_state_file(s, shared_path) != XLSTM_OK) w->failures++;
        }
    }
    size_t written = 0;
    if (xlstm_session_save_state(s, w->blob, w->state_size, &written) != XLSTM_OK) w->failures++;
    if (xlstm_session_save_state(fork, w->forked, w->state_size, &written) != XLSTM_OK) w->failures++;
    if (xlstm_session_copy_logits(s, w->logits, 100) != XLSTM_OK) w->failures++;
    free(saved);
    xlstm_session_free(s);
    xlstm_session_free(fork);
    xlstm_session_free(snapshot_session);
    xlstm_sampler_free(sampler);
    return NULL;
}

static void init_work(work *w, const xlstm_model *model, int index, size_t state_size, const char *dir) {
    memset(w, 0, sizeof *w);
    w->model = model;
    w->index = index;
    w->state_size = state_size;
    w->blob = calloc(state_size, 1);
    w->forked = calloc(state_size, 1);
    snprintf(w->path, sizeof w->path, "%s/thread-%d.state", dir, index);
}

static int same_work(const work *a, const work *b) {
    return memcmp(a->blob, b->blob, a->state_size) == 0 && memcmp(a->forked, b->forked, a->state_size) == 0
        && memcmp(a->logits, b->logits, sizeof a->logits) == 0 && memcmp(a->sampled, b->sampled, sizeof a->sampled) == 0;
}

static char scratch[4096];

// `count` threads on `model` at once vs the same work serially.
static void concurrent_equals_serial(const xlstm_model *model, int count, int shared_file) {
    xlstm_session *probe = new_session(model);
    size_t state_size = xlstm_session_state_size(probe);
    xlstm_session_free(probe);
    work serial[THREADS], parallel[THREADS];
    static char shared[4300];
    snprintf(shared, sizeof shared, "%s/shared.state", scratch);
    shared_path = NULL;
    for (int i = 0; i < count; i++) {
        init_work(&serial[i], model, i, state_size, scratch);
        run_work(&serial[i]);
    }
    shared_path = shared_file ? shared : NULL;
    pthread_t threads[THREADS];
    for (int i = 0; i < count; i++) {
        init_work(&parallel[i], model, i, state_size, scratch);
        CHECK(pthread_create(&threads[i], NULL, run_work, &parallel[i]) == 0, "pthread_create %d", i);
    }
    for (int i = 0; i < count; i++) pthread_join(threads[i], NULL);
    int identical = 0;
    for (int i = 0; i < count; i++) {
        CHECK(serial[i].failures == 0 && parallel[i].failures == 0, "thread %d: %d / %d failed calls", i,
              serial[i].failures, parallel[i].failures);
        CHECK(same_work(&serial[i], &parallel[i]), "thread %d: results differ from the serial run", i);
        identical += same_work(&serial[i], &parallel[i]);
    }
    if (shared_file) {
        // Written by every thread at once, atomically: it holds one complete blob, which loads.
        xlstm_session *s = new_session(model);
        CHECK_STATUS(xlstm_session_load_state_file(s, shared), XLSTM_OK);
        xlstm_session_free(s);
    }
    for (int i = 0; i < count; i++) {
        free(serial[i].blob);
        free(serial[i].forked);
        free(parallel[i].blob);
        free(parallel[i].forked);
    }
    snprintf(case_note, sizeof case_note, "(%d threads × 3 sessions, %d steps each: %d/%d bit-identical to serial)",
             count, STEPS, identical, count);
}

// Batches on one pool: each thread feeds 5 sessions of its own in batches (and one of them alone
// every third step) on the model whose pool has 2 threads; while one thread's kernels hold the
// pool, the others run theirs on their own threads. Same bits as the same work done serially.
#define BATCH_SESSIONS 5
typedef struct {
    const xlstm_model *model;
    int index;
    float logits[BATCH_SESSIONS][100];
    int failures;
} batch_work;

static void *run_batch_work(void *argument) {
    batch_work *w = argument;
    xlstm_session *s[BATCH_SESSIONS] = {0};
    for (int i = 0; i < BATCH_SESSIONS; i++) {
        if (xlstm_session_create(w->model, &s[i]) != XLSTM_OK) { w->failures++; return NULL; }
        for (int t = 0; t < i + w->index % 3; t++) {
            if (xlstm_session_feed_token(s[i], (w->index * 11 + t) % 100) != XLSTM_OK) w->failures++;
        }
    }
    for (int k = 0; k < STEPS; k++) {
        int32_t tokens[BATCH_SESSIONS];
        for (int i = 0; i < BATCH_SESSIONS; i++) tokens[i] = (w->index * 7 + i * 3 + k) % 100;
        if (xlstm_batch_feed(s, tokens, BATCH_SESSIONS, XLSTM_LOGITS_LAST) != XLSTM_OK) w->failures++;
        if (k % 3 == 1 && xlstm_session_feed_token(s[k % BATCH_SESSIONS], (k * 13) % 100) != XLSTM_OK) w->failures++;
    }
    for (int i = 0; i < BATCH_SESSIONS; i++) {
        if (xlstm_session_copy_logits(s[i], w->logits[i], 100) != XLSTM_OK) w->failures++;
        xlstm_session_free(s[i]);
    }
    return NULL;
}

static xlstm_model *shared_model, *pooled_model;

static void batches_share_one_pool(void) {
    enum { COUNT = 4 };
    static batch_work serial[COUNT], parallel[COUNT];
    for (int i = 0; i < COUNT; i++) {
        memset(&serial[i], 0, sizeof serial[i]);
        serial[i].model = pooled_model;
        serial[i].index = i;
        parallel[i] = serial[i];
        run_batch_work(&serial[i]);
    }
    pthread_t threads[COUNT];
    for (int i = 0; i < COUNT; i++) CHECK(pthread_create(&threads[i], NULL, run_batch_work, &parallel[i]) == 0, "create");
    for (int i = 0; i < COUNT; i++) pthread_join(threads[i], NULL);
    int identical = 0;
    for (int i = 0; i < COUNT; i++) {
        CHECK(serial[i].failures == 0 && parallel[i].failures == 0, "thread %d: failed calls", i);
        int same = memcmp(serial[i].logits, parallel[i].logits, sizeof serial[i].logits) == 0;
        CHECK(same, "thread %d: batched results differ from the serial run", i);
        identical += same;
    }
    snprintf(case_note, sizeof case_note, "(%d threads × %d sessions in batches on one 2-thread pool: %d/%d bit-identical)",
             COUNT, BATCH_SESSIONS, identical, COUNT);
}

static void one_model_32_threads(void) { concurrent_equals_serial(shared_model, THREADS, 1); }
static void pooled_sessions_8_threads(void) { concurrent_equals_serial(pooled_model, POOLED_THREADS, 0); }

// Models loaded and freed on many threads at once while sessions of them run elsewhere.
static void *load_and_free(void *argument) {
    (void)argument;
    int failures = 0;
    for (int k = 0; k < 4; k++) {
        xlstm_model *m = NULL;
        if (xlstm_model_load(fixture_path("large_basic", "model"), NULL, &m) != XLSTM_OK) {
            failures++;
            fprintf(stderr, "load %d failed: %s\n", k, xlstm_last_error_message());
        }
        xlstm_session *s = NULL;
        if (xlstm_session_create(m, &s) != XLSTM_OK) failures++;
        xlstm_model_free(m);  // the session keeps it alive
        if (xlstm_session_feed_token(s, 5) != XLSTM_OK) failures++;
        xlstm_session_free(s);
        if (xlstm_model_load("/nonexistent", NULL, &m) == XLSTM_OK) failures++;  // per-thread errors
        if (!strstr(xlstm_last_error_message(), "/nonexistent")) failures++;
    }
    return (void *)(intptr_t)failures;
}

static void concurrent_loads_and_frees(void) {
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) CHECK(pthread_create(&threads[i], NULL, load_and_free, NULL) == 0, "create");
    for (int i = 0; i < 8; i++) {
        void *failures = NULL;
        pthread_join(threads[i], &failures);
        CHECK(failures == NULL, "thread %d: %d failures", i, (int)(intptr_t)failures);
    }
    snprintf(case_note, sizeof case_note, "(8 threads × 4 loads, sessions outliving their model handle)");
}

int main(int argc, char **argv) {
    parse_common_arguments("test_threads", argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/xlstm-threads-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch)) return 1;
    shared_model = load_fixture_model("paper_mixed", NULL);
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.n_threads = 2;
    pooled_model = load_fixture_model("paper_mixed", &params);
    if (!shared_model || !pooled_model) return 1;
    RUN(one_model_32_threads);
    RUN(pooled_sessions_8_threads);
    RUN(batches_share_one_pool);
    RUN(concurrent_loads_and_frees);
    xlstm_model_free(shared_model);
    xlstm_model_free(pooled_model);
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    return finish();
}

// Zero allocations per token (issue 9): after a warm-up, feeding tokens — one at a time, in spans,
// in batches of sessions, in batches of spans — and sampling call no allocator function at all, on every fixture
// (the quantized ones included), in both precisions, on 1 thread and on a 2-thread pool (whose
// parallel regions get values, not closures: `ParallelJob`, `IndexedBody`; README "Reliability"), also
// with another thread spinning meanwhile (the pool's worker then misses jobs and claims parts late);
// also on LARGE_MODEL_DIR (run.sh's vocab-2048 model, whose lm_head the pool splits). The program
// defines malloc & co. itself, so every allocation of the process — libxlstm.so, the Swift runtime linked
// into it, libstdc++ — comes through here (ELF interposition) and is counted while `counting` is set.
// Plain build only (AddressSanitizer has its own allocator). Usage: test_alloc [FIXTURES_DIR [LARGE_MODEL_DIR]]
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "check.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_long allocations;

static inline void note(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&allocations, 1);
}
void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    note();
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static void start_counting(void) { atomic_store(&allocations, 0); atomic_store(&counting, 1); }
static long stop_counting(void) { atomic_store(&counting, 0); return atomic_load(&allocations); }

static char (*names)[256];
static size_t n_names;
static const char *current;
static xlstm_precision current_precision;
static int32_t current_threads;

// "busy" cases: a thread spins for the whole case, so on a small machine the pool's worker is often
// not running when a job starts and the caller claims its parts (ThreadPool.swift); the worker then
// meets kinds of parts for the first time after the warm-up, and its scratch must already fit.
static atomic_int busy_stop;
static void *spin_until_stopped(void *unused) {
    (void)unused;
    while (!atomic_load_explicit(&busy_stop, memory_order_relaxed)) {}
    return NULL;
}

static void feeds_allocate_nothing(void) {
    fixture f;
    if (!fixture_open(&f, current)) return;
    xlstm_model_params params;
    xlstm_model_default_params(&params);
    params.precision = current_precision;
    params.n_threads = current_threads;
    xlstm_model *model = load_fixture_model(current, &params);
    xlstm_session *s[3] = {NULL, NULL, NULL};
    xlstm_sampler *sampler = NULL;
    for (int i = 0; model && i < 3; i++) s[i] = new_session(model);
    xlstm_sampler_params sp;
    xlstm_sampler_default_params(&sp);
    sp.temperature = 0.8f;
    sp.top_k = 20;
    sp.repetition_penalty = 1.1f;
    sp.seed = 7;
    if (model) CHECK_STATUS(xlstm_sampler_create(&sp, &sampler), XLSTM_OK);
    if (!model || !s[0] || !s[1] || !s[2] || !sampler) goto done;
    const size_t n = f.n_tokens < 24 ? f.n_tokens : 24;
    int32_t tokens[3];
    int32_t next = 0;
    // Warm-up: the calling thread's step, prefill-window and batch scratch, the sampler's buffers.
    for (size_t t = 0; t < 4; t++) CHECK_STATUS(xlstm_session_feed_token(s[0], f.tokens[t]), XLSTM_OK);
    CHECK_STATUS(xlstm_session_feed_tokens(s[1], f.tokens, 8, XLSTM_LOGITS_LAST), XLSTM_OK);
    for (int i = 0; i < 3; i++) tokens[i] = f.tokens[i];
    CHECK_STATUS(xlstm_batch_feed(s, tokens, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
    const int32_t *prompt[3] = {f.tokens, f.tokens + 1, f.tokens + 2};
    const size_t lengths[3] = {5, 2, 7};
    CHECK_STATUS(xlstm_batch_feed_tokens(s, prompt, lengths, 3, XLSTM_LOGITS_LAST), XLSTM_OK);
    CHECK_STATUS(xlstm_sampler_sample(sampler, s[0], &next), XLSTM_OK);

    start_counting();
    for (size_t t = 4; t < n; t++) {
        if (xlstm_session_feed_token(s[0], f.tokens[t]) != XLSTM_OK || !xlstm_session_logits(s[0])) break;
    }
    const long step = stop_counting();
    start_counting();
    for (size_t t = 0; t + 8 <= n; t += 8) {
        if (xlstm_session_feed_tokens(s[1], f.tokens + t, 8, XLSTM_LOGITS_LAST) != XLSTM_OK) break;
    }
    const long spans = stop_counting();
    start_counting();
    for (size_t t = 0; t + 3 <= n; t += 3) {
        if (xlstm_batch_feed(s, f.tokens + t, 3, XLSTM_LOGITS_LAST) != XLSTM_OK) break;
    }
    const long batch = stop_counting();
    start_counting();
    for (int round = 0; round < 3; round++) {
        if (xlstm_batch_feed_tokens(s, prompt, lengths, 3, XLSTM_LOGITS_LAST) != XLSTM_OK) break;
    }
    const long prompts = stop_counting();
    start_counting();
    for (int i = 0; i < 16; i++) {
        if (xlstm_sampler_sample(sampler, s[i % 3], &next) != XLSTM_OK) break;
    }
    const long sample = stop_counting();
    CHECK(step == 0, "%s: %ld allocations in %zu single-token feeds", current, step, n - 4);
    CHECK(spans == 0, "%s: %ld allocations in feeds of 8-token spans", current, spans);
    CHECK(batch == 0, "%s: %ld allocations in batched feeds of 3 sessions", current, batch);
    CHECK(prompts == 0, "%s: %ld allocations in batched spans of 3 sessions", current, prompts);
    CHECK(sample == 0, "%s: %ld allocations in 16 samples", current, sample);
    snprintf(case_note, sizeof case_note, "(allocations: step %ld, spans %ld, batch %ld, batched spans %ld, sample %ld)", step,
             spans, batch, prompts, sample);
done:
    xlstm_sampler_free(sampler);
    for (int i = 0; i < 3; i++) xlstm_session_free(s[i]);
    xlstm_model_free(model);
    fixture_close(&f);
}

static const char *large_model_dir;

// A model whose lm_head the 2-thread pool splits: the step must still allocate nothing.
static void threaded_step_allocates_nothing(void) {
    long counts[2] = {-1, -1};
    for (int precision = XLSTM_PRECISION_EXACT; precision <= XLSTM_PRECISION_FAST; precision++) {
        xlstm_model_params params;
        xlstm_model_default_params(&params);
        params.n_threads = 2;
        params.precision = (xlstm_precision)precision;
        xlstm_model *model = NULL;
        CHECK_STATUS(xlstm_model_load(large_model_dir, &params, &model), XLSTM_OK);
        xlstm_session *session = model ? new_session(model) : NULL;
        if (!session) {
            xlstm_model_free(model);
            return;
        }
        for (int32_t t = 0; t < 4; t++) CHECK_STATUS(xlstm_session_feed_token(session, t * 37 % 2048), XLSTM_OK);
        start_counting();
        for (int32_t t = 4; t < 68; t++) {
            if (xlstm_session_feed_token(session, t * 37 % 2048) != XLSTM_OK) break;
        }
        const long step = stop_counting();
        counts[precision] = step;
        CHECK(step == 0, "%s: %ld allocations in 64 feeds with a 2-thread pool", precision ? "fast" : "exact", step);
        CHECK(xlstm_session_n_tokens(session) == 68, "fed %lld tokens", (long long)xlstm_session_n_tokens(session));
        xlstm_session_free(session);
        xlstm_model_free(model);
    }
    snprintf(case_note, sizeof case_note, "(vocab-2048 model, lm_head split across 2 threads: %ld / %ld allocations in 64 steps, exact / fast)",
             counts[0], counts[1]);
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int main(int argc, char **argv) {
    parse_common_arguments("test_alloc", argc, argv);
    // The counter must see the library's allocations: a load allocates, so count one as a probe.
    start_counting();
    xlstm_model *probe = NULL;
    xlstm_status status = xlstm_model_load(fixture_path("paper_mixed", "model"), NULL, &probe);
    const long at_load = stop_counting();
    xlstm_model_free(probe);
    if (status != XLSTM_OK || at_load == 0) {
        printf("FAIL test_alloc: the allocation counter saw %ld allocations in a model load (status %d)\n", at_load,
               (int)status);
        return 1;
    }
    DIR *dir = opendir(fixtures_dir);
    if (!dir) {
        printf("FAIL test_alloc: cannot open %s\n", fixtures_dir);
        return 1;
    }
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (entry->d_name[0] == '.') continue;
        size_t size = 0;
        void *tokens = read_whole_file(fixture_path(entry->d_name, "tokens.i32"), &size);
        if (!tokens) continue;
        free(tokens);
        names = realloc(names, (n_names + 1) * sizeof *names);
        snprintf(names[n_names++], sizeof names[0], "%s", entry->d_name);
    }
    closedir(dir);
    qsort(names, n_names, sizeof *names, by_name);
    for (size_t i = 0; i < n_names; i++) {
        static const char *const configs[] = {"exact", "exact_2_threads", "fast", "exact_2_threads_busy", "fast_2_threads_busy"};
        for (int config = 0; config < 5; config++) {
            current = names[i];
            current_precision = config == 2 || config == 4 ? XLSTM_PRECISION_FAST : XLSTM_PRECISION_EXACT;
            current_threads = config == 0 || config == 2 ? 1 : 2;
            pthread_t busy;
            const int spinning = config >= 3 && pthread_create(&busy, NULL, spin_until_stopped, NULL) == 0;
            char name[320];
            snprintf(name, sizeof name, "%s %.255s", configs[config], names[i]);
            run_case(name, feeds_allocate_nothing);
            if (spinning) {
                atomic_store(&busy_stop, 1);
                pthread_join(busy, NULL);
                atomic_store(&busy_stop, 0);
            }
        }
    }
    free(names);
    if (argc > 2) {
        large_model_dir = argv[2];
        run_case("threaded_step_allocates_nothing", threaded_step_allocates_nothing);
    }
    return finish();
}

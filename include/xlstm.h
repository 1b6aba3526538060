// xlstm.h -- the C API of libxlstm, a CPU inference runtime for xLSTM language models.
//
// GENERATED FILE, do not edit: tools/header-gen writes it from the declarations in
// Sources/XLSTMCABI/*.swift. Change those and run `make header` (tools/header-gen/run.sh).
// include/xlstm.abi.json describes the same API for tools (types, enum values, struct layouts).
//
// Conventions
//   Errors     Every fallible function returns an xlstm_status and passes results through
//              out-parameters. After a status other than XLSTM_OK, xlstm_last_error_message()
//              says what failed (per thread). The library never prints and never exits.
//   Ownership  A handle made by xlstm_model_load or an xlstm_*_create function is released
//              with the matching xlstm_*_free, which ignores NULL. Output handles are set to
//              NULL on failure. Pointers the library returns belong to it; each function says
//              how long they stay valid.
//   Threads    A model is immutable: any number of threads may use it at once. A session or a
//              sampler must be used by one thread at a time (it may move between threads).
//   Types      Token ids are int32_t in [0, vocab_size); element and byte counts are size_t.
//   Versions   Check xlstm_api_version() == XLSTM_API_VERSION at start-up.
//
// Example (error checks shortened):
//     xlstm_model *model = NULL;
//     xlstm_session *session = NULL;
//     xlstm_sampler *sampler = NULL;
//     if (xlstm_model_load("path/to/model", NULL, &model) != XLSTM_OK) {
//         fprintf(stderr, "%s\n", xlstm_last_error_message());
//         return 1;
//     }
//     xlstm_session_create(model, &session);
//     xlstm_sampler_create(NULL, &sampler);
//     xlstm_session_feed_tokens(session, prompt, n_prompt, XLSTM_LOGITS_LAST);
//     for (int i = 0; i < 64; i++) {
//         int32_t token;
//         xlstm_sampler_sample(sampler, session, &token);
//         xlstm_session_feed_token(session, token);
//     }
//     xlstm_sampler_free(sampler);
//     xlstm_session_free(session);
//     xlstm_model_free(model);

#ifndef XLSTM_H
#define XLSTM_H

#include <stddef.h>
#include <stdint.h>

// XLSTM_API marks the functions libxlstm exports. Define it before including this header to
// override it; on Windows define XLSTM_STATIC when linking a static build.
#ifndef XLSTM_API
#  if defined(_WIN32) || defined(__CYGWIN__)
#    ifdef XLSTM_STATIC
#      define XLSTM_API
#    else
#      define XLSTM_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) || defined(__clang__)
#    define XLSTM_API __attribute__((visibility("default")))
#  else
#    define XLSTM_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

// ---- Constants ----------------------------------------------------------------------------------

// Major version of the library: incremented for incompatible API changes.
#define XLSTM_VERSION_MAJOR 0

// Minor version of the library: incremented for compatible additions.
#define XLSTM_VERSION_MINOR 5

// Patch version of the library.
#define XLSTM_VERSION_PATCH 0

// Version of the C API this header describes; `xlstm_api_version()` returns the library's. A
// program should check that they are equal at start-up.
#define XLSTM_API_VERSION 6

// Version of the state blob format written by `xlstm_session_save_state`.
#define XLSTM_STATE_FORMAT_VERSION 1

// Version of the sampler state blob format written by `xlstm_sampler_save_state`.
#define XLSTM_SAMPLER_STATE_FORMAT_VERSION 1

// The most samplers one `xlstm_sampler_sample_batch` call takes.
#define XLSTM_SAMPLE_BATCH_MAX 1048576

// In `xlstm_quantize_params.keep`: leave the token embedding in its source dtype.
#define XLSTM_QUANT_KEEP_EMBEDDING 1

// In `xlstm_quantize_params.keep`: leave the lm_head in its source dtype (for a tied model: the
// shared embedding).
#define XLSTM_QUANT_KEEP_LM_HEAD 2

// In `xlstm_quantize_params.keep`: leave the mLSTM input and forget gate projections in their
// source dtype.
#define XLSTM_QUANT_KEEP_GATES 4

// `xlstm_tokenize` flag: apply the tokenizer's post-processor (e.g. add BOS/EOS), as `tokenizers`'
// `encode(text, add_special_tokens=True)` does.
#define XLSTM_TOKENIZE_ADD_SPECIAL 1

// `xlstm_tokenize` flag: special tokens written in the text (e.g. "<|endoftext|>") are tokenized as
// plain text instead of becoming their ids (`tokenizers`' `encode_special_tokens`).
#define XLSTM_TOKENIZE_SPLIT_SPECIAL 2

// `xlstm_detokenize` / `xlstm_detokenizer_create` flag: special tokens produce no text.
#define XLSTM_DETOKENIZE_SKIP_SPECIAL 1

// ---- Handles (opaque types) ---------------------------------------------------------------------

// A loaded model: immutable weights and configuration, and the model's thread pool
// (`xlstm_model_params.n_threads`). Thread-safe: any number of threads may create sessions from one
// model and feed them (one session or a batch each) concurrently.
//
// Threads: the n_threads - 1 worker threads are started at load and shared by every session and
// batch call of the model; no session starts threads. The pool runs one call's kernels at a time: a
// feed that finds it busy (another thread's feed of the same model is running on it) runs its
// kernels single-threaded on its calling thread instead of waiting, with the same results bit for
// bit. Concurrent feeds therefore never deadlock and never block each other. Idle workers spin for
// about 50 microseconds after a job, then sleep on a condition variable (no CPU use between feeds).
//
// Scratch: a feed's intermediate buffers belong to the calling thread (reused by every session it
// feeds, freed when the thread exits), so one more session costs `xlstm_memory_info.session_bytes`.
typedef struct xlstm_model xlstm_model;

// One sequence's recurrent state and its last logits. Not thread-safe: use a session from one
// thread at a time (it may move between threads); a session in a running `xlstm_batch_feed` is in
// use by that call's thread.
typedef struct xlstm_session xlstm_session;

// A token sampler with its own seeded random generator and penalty history. Not thread-safe.
typedef struct xlstm_sampler xlstm_sampler;

// A tokenizer loaded from a Hugging Face `tokenizer.json` (byte-level BPE: GPT-NeoX / xLSTM 7B,
// GPT-2, Llama-3-style pipelines). Immutable and thread-safe: any number of threads may tokenize
// and detokenize with one tokenizer at once.
typedef struct xlstm_tokenizer xlstm_tokenizer;

// A streaming detokenizer: token ids in, UTF-8 text out, never a split UTF-8 sequence. Not
// thread-safe: use it from one thread at a time.
typedef struct xlstm_detokenizer xlstm_detokenizer;

// ---- Enumerations -------------------------------------------------------------------------------

// Result of every fallible function. Values are stable across versions. On any status other than
// XLSTM_OK, `xlstm_last_error_message()` describes the failure.
typedef enum xlstm_status {
    // Success.
    XLSTM_OK = 0,
    // An argument is invalid: a NULL pointer where one is required, a bad option value.
    XLSTM_ERROR_INVALID_ARGUMENT = 1,
    // A file could not be opened, read, mapped or written.
    XLSTM_ERROR_IO = 2,
    // A model directory or file is malformed: bad JSON, missing or misshapen tensor, truncated
    // file.
    XLSTM_ERROR_INVALID_MODEL = 3,
    // The model uses a feature this library does not implement.
    XLSTM_ERROR_UNSUPPORTED = 4,
    // A token id is outside [0, vocab_size).
    XLSTM_ERROR_TOKEN_OUT_OF_RANGE = 5,
    // A caller-supplied buffer is too small; the message says how large it must be.
    XLSTM_ERROR_BUFFER_TOO_SMALL = 6,
    // A state blob was saved from a different model.
    XLSTM_ERROR_STATE_MISMATCH = 7,
    // A state blob has a format version this library does not read.
    XLSTM_ERROR_STATE_VERSION = 8,
    // A state blob is truncated or damaged.
    XLSTM_ERROR_STATE_CORRUPT = 9,
    // Logits were requested but the last feed did not compute them, or nothing was fed yet.
    XLSTM_ERROR_NO_LOGITS = 10,
    // A long operation (`xlstm_model_quantize`) was cancelled by its progress callback.
    XLSTM_ERROR_CANCELLED = 11,
    // The system refused memory the call needs (weight panels at load, a session's state, a feed's
    // scratch): `ulimit -v`, strict overcommit, a full address space. The model and every session
    // are as they were; the call may be retried once memory is free.
    XLSTM_ERROR_OUT_OF_MEMORY = 12
} xlstm_status;

// The architecture family of a model.
typedef enum xlstm_family {
    // The paper architecture (`xlstm.xLSTMLMModel`): mLSTM and sLSTM blocks.
    XLSTM_FAMILY_PAPER = 1,
    // The xLSTM 7B architecture (`xlstm_large`, transformers `xLSTMForCausalLM`).
    XLSTM_FAMILY_LARGE = 2
} xlstm_family;

// The kind of one residual block.
typedef enum xlstm_block_kind {
    // Matrix-memory block (parallelizable).
    XLSTM_BLOCK_MLSTM = 0,
    // Scalar-memory block with recurrent memory mixing.
    XLSTM_BLOCK_SLSTM = 1
} xlstm_block_kind;

// How weights stored in reduced precision are held in memory.
typedef enum xlstm_weight_policy {
    // bf16 matrices are read in place from the memory-mapped file; f16 is widened to f32 at load.
    XLSTM_WEIGHTS_NATIVE = 0,
    // Every tensor is widened to float32 at load (more memory, no bf16 rounding in the kernels'
    // inputs).
    XLSTM_WEIGHTS_FLOAT32 = 1
} xlstm_weight_policy;

// The instruction-set path of a model's kernels. Values are stable; later versions may add paths.
typedef enum xlstm_cpu_path {
    // Not a path: in `xlstm_model_params`, "the fastest path this CPU runs" (or the one the
    // XLSTM_CPU environment variable names: portable, avx2 or avx512).
    XLSTM_CPU_AUTO = 0,
    // Swift SIMD for the architecture's baseline (SSE2 on x86-64, NEON on arm64); runs anywhere.
    XLSTM_CPU_PORTABLE = 1,
    // AVX2 + FMA (x86-64).
    XLSTM_CPU_AVX2 = 2,
    // AVX-512 F/BW/DQ/VL (x86-64).
    XLSTM_CPU_AVX512 = 3
} xlstm_cpu_path;

// How `xlstm_model_load` brings the model's files into memory (README "Reliability").
typedef enum xlstm_load_mode {
    // Memory-mapped (the default): no copy, pages shared with the page cache. Replacing the files
    // by rename is safe; truncating them while loaded makes later reads raise SIGBUS, and
    // overwriting them in place changes the weights of the loaded model.
    XLSTM_LOAD_MMAP = 0,
    // Read into private memory at load: the loaded model is immune to any later change of its
    // files.
    XLSTM_LOAD_COPY = 1,
    // Memory-mapped and locked in RAM with mlock(2): no page faults or disk reads during inference.
    // Fails with XLSTM_ERROR_IO when RLIMIT_MEMLOCK is too small. Does not protect against
    // truncation.
    XLSTM_LOAD_MLOCK = 2
} xlstm_load_mode;

// How the projections treat activations (README "Precision"), chosen per model load.
typedef enum xlstm_precision {
    // float32 activations everywhere: the results the reference fixtures check (<= 1e-4). Default.
    XLSTM_PRECISION_EXACT = 0,
    // The q8 / q4 projections quantize their input to int8 per block of 32 and sum integer products
    // (AVX-512 VNNI or AVX2); on a CPU with AVX-512 BF16 the bf16 projections round their input to
    // bfloat16 and sum with `vdpbf16ps`. Both in the single-session step's matvecs (decode near the
    // memory bandwidth) and in prefill's and batches' GEMMs (each token's result bit for bit its
    // step's), at a measured error (README). f32 weights (and bf16 without AVX-512 BF16) run as in
    // exact; on a path without int8 kernels (portable) the model loads as exact, which
    // `xlstm_model_get_precision` reports.
    XLSTM_PRECISION_FAST = 1
} xlstm_precision;

// Which logits a multi-token feed computes.
typedef enum xlstm_logits_mode {
    // The logits after the last token (what generation needs).
    XLSTM_LOGITS_LAST = 0,
    // None: the feed only advances the state (e.g. a prompt prefix); `xlstm_session_logits` is then
    // NULL.
    XLSTM_LOGITS_NONE = 1
} xlstm_logits_mode;

// The block formats `xlstm_model_quantize` writes (README "Quantized models" documents the layout).
typedef enum xlstm_quant_type {
    // int8 values, one float16 scale per block of 32 (8.5 bits per weight).
    XLSTM_QUANT_Q8_0 = 1,
    // 4-bit values, one float16 scale per block of 32 (4.5 bits per weight).
    XLSTM_QUANT_Q4_0 = 2
} xlstm_quant_type;

// ---- Callbacks ----------------------------------------------------------------------------------

// Progress of `xlstm_model_quantize`: `done` of `total` input bytes processed. Called on the
// calling thread of `xlstm_model_quantize`, at the start, after every block of rows (at most a few
// MB apart) and at the end (done == total). Return 0 to continue, any other value to cancel: the
// call then returns XLSTM_ERROR_CANCELLED and leaves no output directory.
typedef int32_t (*xlstm_progress_callback)(uint64_t done, uint64_t total, void *user_data);

// ---- Structures ---------------------------------------------------------------------------------

// Options for `xlstm_model_load`. Initialise with `xlstm_model_default_params`, then change fields.
typedef struct xlstm_model_params {
    // Threads of the model's pool, the calling thread included (>= 1): every feed of every session
    // of this model (and every batch) uses up to this many threads; n_threads - 1 workers are
    // started at load and shared (see `xlstm_model`).
    int32_t n_threads;
    // How reduced-precision weights are held (`xlstm_weight_policy`).
    xlstm_weight_policy weight_policy;
    // The kernels' instruction-set path (`xlstm_cpu_path`): XLSTM_CPU_AUTO (default) for the
    // fastest this CPU runs, or a lower one to force it (tests, bug reports). A path this CPU
    // cannot run fails the load with XLSTM_ERROR_UNSUPPORTED.
    xlstm_cpu_path cpu_path;
    // How the files are brought into memory (`xlstm_load_mode`); default XLSTM_LOAD_MMAP.
    xlstm_load_mode load_mode;
    // Activations of the projections (`xlstm_precision`); default XLSTM_PRECISION_EXACT (this field
    // was reserved, and 0, before API version 4).
    xlstm_precision precision;
    // Reserved for future options; must be 0 (as set by `xlstm_model_default_params`).
    int32_t reserved1;
    // Reserved; must be 0.
    int32_t reserved2;
    // Reserved; must be 0.
    int32_t reserved3;
} xlstm_model_params;

// What `xlstm_model_get_info` reports.
typedef struct xlstm_model_info {
    // The architecture family (`xlstm_family`).
    xlstm_family family;
    // Number of token ids; valid ids are [0, vocab_size).
    int32_t vocab_size;
    // Width of the residual stream.
    int32_t embedding_dim;
    // Number of residual blocks; `xlstm_model_get_block_kind` tells each one's kind.
    int32_t n_blocks;
    // Number of parameters (a tied embedding counts once).
    uint64_t n_parameters;
    // Bytes of a saved session state (`xlstm_session_state_size`); the same for every session.
    uint64_t state_size;
    // Bytes of recurrent state held in memory per session.
    uint64_t state_bytes_in_memory;
    // Identifies the architecture and tensor layout (not the weight values); stored in state blobs.
    uint64_t fingerprint;
} xlstm_model_info;

// Options for `xlstm_sampler_create`. Initialise with `xlstm_sampler_default_params`, then change
// fields.
typedef struct xlstm_sampler_params {
    // Seed of the sampler's random generator: the same seed and logits give the same tokens.
    uint64_t seed;
    // 0 always picks the most likely token (greedy); otherwise logits are divided by it. Default
    // 0.8.
    float temperature;
    // Keep only the k most likely tokens; 0 keeps all. Default 40.
    int32_t top_k;
    // Keep the smallest set of most likely tokens whose probability reaches top_p; 1 keeps all.
    // Default 0.95.
    float top_p;
    // Drop tokens less likely than min_p times the most likely one; 0 keeps all. Default 0.05.
    float min_p;
    // Penalise tokens seen in the last penalty_window tokens: positive logits are divided by it,
    // negative ones multiplied; 1 is off. Default 1.
    float repetition_penalty;
    // Subtracted from the logit of every token seen in the window; 0 is off. Default 0.
    float presence_penalty;
    // How many recent tokens (accepted or sampled) the penalties look at. Default 64.
    int32_t penalty_window;
    // Reserved; set to 0.
    int32_t reserved;
} xlstm_sampler_params;

// What `xlstm_model_get_memory_info` reports: the memory one more session costs, and the scratch a
// thread holds after feeding this model (shared by all the sessions it feeds).
typedef struct xlstm_memory_info {
    // Bytes one session holds: its recurrent state, its logits (vocab_size floats) and bookkeeping.
    uint64_t session_bytes;
    // Bytes of scratch a thread holds after single-token feeds (any number of sessions).
    uint64_t step_scratch_bytes;
    // Bytes of scratch a thread holds after a multi-token feed (a 256-token prefill window).
    uint64_t prefill_scratch_bytes;
    // Bytes of scratch a thread holds per session of a batch (up to `batch_window` sessions).
    uint64_t batch_scratch_bytes_per_session;
    // Sessions `xlstm_batch_feed` processes per pass over the weights; larger batches take several.
    uint32_t batch_window;
    // Threads of the model's pool (n_threads), the calling one included.
    uint32_t n_threads;
    // Reserved; 0.
    uint64_t reserved0;
    // Reserved; 0.
    uint64_t reserved1;
} xlstm_memory_info;

// Options for `xlstm_model_quantize`. Initialise with `xlstm_quantize_default_params`, then change
// fields.
typedef struct xlstm_quantize_params {
    // The format (`xlstm_quant_type`); default XLSTM_QUANT_Q8_0.
    xlstm_quant_type type;
    // Matrices left unquantized: an OR of XLSTM_QUANT_KEEP_EMBEDDING, XLSTM_QUANT_KEEP_LM_HEAD and
    // XLSTM_QUANT_KEEP_GATES; default 0 (every weight matrix quantized).
    uint32_t keep;
    // 1: replace an existing output directory (only once the new one is complete); 0 (default): an
    // existing output directory is an error.
    int32_t overwrite;
    // Reserved; must be 0.
    int32_t reserved0;
    // Split the output into shards of at most this many bytes; 0 (default): shard like the input.
    uint64_t max_shard_bytes;
    // Reserved for future options; must be 0 (as set by `xlstm_quantize_default_params`).
    int32_t reserved1;
    // Reserved; must be 0.
    int32_t reserved2;
    // Reserved; must be 0.
    int32_t reserved3;
    // Reserved; must be 0.
    int32_t reserved4;
} xlstm_quantize_params;

// What `xlstm_tokenizer_get_info` reports. Ids are -1 when the tokenizer files name none.
typedef struct xlstm_tokenizer_info {
    // Token ids are in [0, vocab_size): the model's vocabulary and the added tokens.
    int32_t vocab_size;
    // Beginning-of-sequence id (tokenizer_config.json / special_tokens_map.json `bos_token`, else
    // config.json `bos_token_id`).
    int32_t bos_id;
    // End-of-sequence id (`eos_token`, else `eos_token_id`).
    int32_t eos_id;
    // Padding id (`pad_token`, else `pad_token_id`).
    int32_t pad_id;
    // The BPE model's unknown-token id.
    int32_t unk_id;
} xlstm_tokenizer_info;

// ---- Versions, status strings and the last error ------------------------------------------------

// The C API version of the loaded library. Compare with `XLSTM_API_VERSION` from the header the
// program was compiled with. Thread-safe.
XLSTM_API int32_t xlstm_api_version(void);

// The library version as "MAJOR.MINOR.PATCH" (the XLSTM_VERSION_* of the library, which may differ
// from the header's). The string is static: never free it. Thread-safe.
XLSTM_API const char *xlstm_version_string(void);

// A short static English description of `status` ("ok", "token out of range", ...); "unknown
// status" for a value this library does not define. Never NULL, never freed. Thread-safe.
XLSTM_API const char *xlstm_status_string(xlstm_status status);

// The message of the last failed call on the calling thread (one line, naming the file, tensor or
// argument involved), or "" if none failed yet. Valid until the next failing call on this thread;
// never freed by the caller. Successful calls leave it unchanged. Thread-safe (per-thread).
XLSTM_API const char *xlstm_last_error_message(void);

// ---- Models: load, free, describe ---------------------------------------------------------------

// Writes the default options into `*params`: one thread, native weight policy, XLSTM_CPU_AUTO,
// memory-mapped files (XLSTM_LOAD_MMAP), reserved fields 0. Returns XLSTM_ERROR_INVALID_ARGUMENT if
// `params` is NULL. Thread-safe.
XLSTM_API xlstm_status xlstm_model_default_params(xlstm_model_params *params);

// Loads the model directory `path` (config.json + safetensors, or an official xlstm_large
// checkpoint's config.yaml + safetensors; see README "Model formats"). `params` may be NULL for the
// defaults. On success `*model` receives a new model, to be released with `xlstm_model_free`.
// Weight matrices are repacked at load into the kernels' layout; the rest (token embeddings,
// vectors) is memory-mapped unless `load_mode` says otherwise. On failure `*model` is set to NULL,
// nothing stays loaded and the last error names the file and tensor at fault
// (XLSTM_ERROR_OUT_OF_MEMORY when the system refuses the mapping or the panels' memory).
// Thread-safe.
XLSTM_API xlstm_status xlstm_model_load(const char *path, const xlstm_model_params *params,
                                        xlstm_model **model);

// Releases a model. Sessions created from it keep it alive until they are freed, so it may be
// called while sessions exist. NULL is ignored. Not to be called twice on the same pointer.
XLSTM_API void xlstm_model_free(xlstm_model *model);

// Describes the model in `*info`. Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument.
// Thread-safe.
XLSTM_API xlstm_status xlstm_model_get_info(const xlstm_model *model, xlstm_model_info *info);

// Writes the kind of block `index` (0-based, < n_blocks) into `*kind`. Returns
// XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument or an index out of range. Thread-safe.
XLSTM_API xlstm_status xlstm_model_get_block_kind(const xlstm_model *model, int32_t index,
                                                  xlstm_block_kind *kind);

// The instruction-set path the kernels of `model` run (never XLSTM_CPU_AUTO), into `*path`. Returns
// XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
XLSTM_API xlstm_status xlstm_model_get_cpu_path(const xlstm_model *model, xlstm_cpu_path *path);

// The precision `model` runs (`xlstm_precision`) into `*precision`: what was asked at load, except
// that XLSTM_PRECISION_FAST on a path without int8 kernels (portable) loads as exact. Returns
// XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
XLSTM_API xlstm_status xlstm_model_get_precision(const xlstm_model *model,
                                                 xlstm_precision *precision);

// The fastest kernel path this CPU runs (what XLSTM_CPU_AUTO picks when XLSTM_CPU is unset).
// Thread-safe.
XLSTM_API xlstm_cpu_path xlstm_cpu_best_path(void);

// 1 if this CPU runs the kernels of `path` (XLSTM_CPU_AUTO: always), else 0. Thread-safe.
XLSTM_API int32_t xlstm_cpu_supports_path(xlstm_cpu_path path);

// The name of `path` ("auto", "portable", "avx2", "avx512"; "unknown" for another value), as
// XLSTM_CPU spells it. The string is static: never free it. Thread-safe.
XLSTM_API const char *xlstm_cpu_path_name(xlstm_cpu_path path);

// ---- Sessions: create, free, reset, clone, feed, logits -----------------------------------------

// Creates a session of `model` in the initial (empty-history) state; `*session` receives it, to be
// released with `xlstm_session_free`. The session holds a reference to the model. On failure
// `*session` is set to NULL: XLSTM_ERROR_OUT_OF_MEMORY when the system refuses the session's state
// (`xlstm_memory_info.session_bytes`). Thread-safe with respect to the model.
XLSTM_API xlstm_status xlstm_session_create(const xlstm_model *model, xlstm_session **session);

// Releases a session and its state. NULL is ignored. Not to be called twice on the same pointer.
XLSTM_API void xlstm_session_free(xlstm_session *session);

// Returns the session's model (borrowed: not to be freed; valid while the session lives), or NULL
// for a NULL session.
XLSTM_API const xlstm_model *xlstm_session_model(const xlstm_session *session);

// Returns the session to the initial state (no tokens consumed, no logits).
XLSTM_API xlstm_status xlstm_session_reset(xlstm_session *session);

// Forks a session: `*clone` receives a new session with a copy of the state, token count and logits
// of `session`, which is unchanged. Release the clone with `xlstm_session_free`. On failure
// (XLSTM_ERROR_OUT_OF_MEMORY) `*clone` is NULL.
XLSTM_API xlstm_status xlstm_session_clone(const xlstm_session *session, xlstm_session **clone);

// Copies the state, token count and logits of `source` into `destination` without allocating: the
// way to snapshot and roll back. The sessions must belong to the same model (or to two loads of the
// same model: equal fingerprints), else XLSTM_ERROR_STATE_MISMATCH. On error `destination` is
// unchanged.
XLSTM_API xlstm_status xlstm_session_copy_state(xlstm_session *destination,
                                                const xlstm_session *source);

// Feeds one token and computes the logits of the next one (`xlstm_session_logits`). A token outside
// [0, vocab_size) returns XLSTM_ERROR_TOKEN_OUT_OF_RANGE and leaves the session unchanged.
// Invalidates pointers from `xlstm_session_logits`.
XLSTM_API xlstm_status xlstm_session_feed_token(xlstm_session *session, int32_t token);

// Feeds `n_tokens` tokens in order. With XLSTM_LOGITS_LAST the logits after the last token are
// computed; with XLSTM_LOGITS_NONE none are (cheaper for a prompt prefix). Every id is checked
// first: if any is out of range nothing is consumed and the session is unchanged. Two or more
// tokens are processed in parallel (chunkwise mLSTM, matrix-matrix projections): the result equals
// feeding them one by one with `xlstm_session_feed_token` up to float rounding (about 1e-6
// relative), not bit for bit; a single token takes the step path and is bit-identical. `n_tokens`
// may be 0 (nothing happens). Invalidates pointers from `xlstm_session_logits`. The first span feed
// on a thread takes its prefill scratch (`xlstm_memory_info`); if the system refuses it,
// XLSTM_ERROR_OUT_OF_MEMORY and the session is unchanged (so for every feed and batch).
XLSTM_API xlstm_status xlstm_session_feed_tokens(xlstm_session *session, const int32_t *tokens,
                                                 size_t n_tokens, xlstm_logits_mode mode);

// The logits after the last token fed, vocab_size floats, or NULL if the last feed computed none
// (or nothing was fed, or `session` is NULL). The buffer belongs to the session and stays at the
// same address for the session's whole life; its contents change with every feed, reset and state
// load, and it is freed with the session.
XLSTM_API const float *xlstm_session_logits(const xlstm_session *session);

// Copies the logits after the last token fed into `logits`, which holds `n_floats` floats (at least
// vocab_size). Returns XLSTM_ERROR_NO_LOGITS if there are none and XLSTM_ERROR_BUFFER_TOO_SMALL if
// the buffer is smaller than vocab_size.
XLSTM_API xlstm_status xlstm_session_copy_logits(const xlstm_session *session, float *logits,
                                                 size_t n_floats);

// Tokens consumed since the initial state (or as restored from a state blob); -1 for NULL.
XLSTM_API int64_t xlstm_session_n_tokens(const xlstm_session *session);

// -------------------------------------------------------------------------------------------------
// Session state: save to / load from a caller buffer or a file (format: README "State blobs")

// Bytes needed by `xlstm_session_save_state` (fixed per model; 0 for NULL).
XLSTM_API size_t xlstm_session_state_size(const xlstm_session *session);

// Saves the session (recurrent state, token count, last logits) into `buffer` of `capacity` bytes;
// `*written` (may be NULL) receives the byte count. Returns XLSTM_ERROR_BUFFER_TOO_SMALL if
// `capacity` < `xlstm_session_state_size(session)`. The session is not changed.
XLSTM_API xlstm_status xlstm_session_save_state(const xlstm_session *session, void *buffer,
                                                size_t capacity, size_t *written);

// Restores a state saved by `xlstm_session_save_state` from `size` bytes at `buffer`. A blob from
// another model gives XLSTM_ERROR_STATE_MISMATCH, another format version XLSTM_ERROR_STATE_VERSION,
// a truncated or damaged one XLSTM_ERROR_STATE_CORRUPT; in every error case the session is left
// exactly as it was. Invalidates pointers from `xlstm_session_logits`.
XLSTM_API xlstm_status xlstm_session_load_state(xlstm_session *session, const void *buffer,
                                                size_t size);

// Saves the session's state to the file `path`, replacing it atomically (written to a temporary
// file in the same directory, then renamed). The session is not changed.
XLSTM_API xlstm_status xlstm_session_save_state_file(const xlstm_session *session,
                                                     const char *path);

// Restores a state from a file written by `xlstm_session_save_state_file` (or any file holding a
// blob). Errors as `xlstm_session_load_state`, plus XLSTM_ERROR_IO; the session is unchanged on
// error.
XLSTM_API xlstm_status xlstm_session_load_state_file(xlstm_session *session, const char *path);

// ---- Samplers: seeded, deterministic token selection with penalties -----------------------------

// Writes the default sampler options into `*params`: seed 0, temperature 0.8, top_k 40, top_p 0.95,
// min_p 0.05, no penalties, penalty_window 64. Thread-safe.
XLSTM_API xlstm_status xlstm_sampler_default_params(xlstm_sampler_params *params);

// Writes the options `sampler` samples with into `*params` (those it was created with, or those of
// the last state it loaded). The sampler is not changed.
XLSTM_API xlstm_status xlstm_sampler_get_params(const xlstm_sampler *sampler,
                                                xlstm_sampler_params *params);

// Creates a sampler; `*sampler` receives it, to be released with `xlstm_sampler_free`. `params` may
// be NULL for the defaults. Out-of-range options give XLSTM_ERROR_INVALID_ARGUMENT and `*sampler` =
// NULL.
XLSTM_API xlstm_status xlstm_sampler_create(const xlstm_sampler_params *params,
                                            xlstm_sampler **sampler);

// Releases a sampler. NULL is ignored.
XLSTM_API void xlstm_sampler_free(xlstm_sampler *sampler);

// Clears the penalty history and restarts the random sequence from the seed.
XLSTM_API xlstm_status xlstm_sampler_reset(xlstm_sampler *sampler);

// Records `token` in the penalty history without sampling (e.g. the prompt's tokens).
XLSTM_API xlstm_status xlstm_sampler_accept(xlstm_sampler *sampler, int32_t token);

// Draws the next token from the session's current logits into `*token` and records it in the
// history. Returns XLSTM_ERROR_NO_LOGITS if the session has none. The session is not changed.
XLSTM_API xlstm_status xlstm_sampler_sample(xlstm_sampler *sampler, const xlstm_session *session,
                                            int32_t *token);

// Draws a token from `n_vocab` caller-supplied logits into `*token` and records it in the history.
// NaN logits count as -infinity; if no logit is finite the call fails with
// XLSTM_ERROR_INVALID_ARGUMENT.
XLSTM_API xlstm_status xlstm_sampler_sample_logits(xlstm_sampler *sampler, const float *logits,
                                                   size_t n_vocab, int32_t *token);

// Bytes needed by `xlstm_sampler_save_state` (fixed per sampler: it depends only on the penalty
// window; 0 for NULL).
XLSTM_API size_t xlstm_sampler_state_size(const xlstm_sampler *sampler);

// Saves the sampler's whole state -- its options, the random generator's position and the penalty
// history -- into `buffer` of `capacity` bytes; `*written` (may be NULL) receives the byte count.
// Returns XLSTM_ERROR_BUFFER_TOO_SMALL if `capacity` < `xlstm_sampler_state_size(sampler)`. The
// sampler is not changed. Saved next to a session's state, a restored pair continues with the same
// sampled tokens as the original.
XLSTM_API xlstm_status xlstm_sampler_save_state(const xlstm_sampler *sampler, void *buffer,
                                                size_t capacity, size_t *written);

// Restores a state saved by `xlstm_sampler_save_state` from `size` bytes at `buffer`: the sampler
// takes the blob's options (whatever it was created with), generator position and history. Another
// format version gives XLSTM_ERROR_STATE_VERSION; a truncated or damaged blob, or one that is not a
// sampler's (e.g. a session state blob), XLSTM_ERROR_STATE_CORRUPT; in every error case the sampler
// is left exactly as it was.
XLSTM_API xlstm_status xlstm_sampler_load_state(xlstm_sampler *sampler, const void *buffer,
                                                size_t size);

// Saves the sampler's state to the file `path`, replacing it atomically (written to a temporary
// file in the same directory, then renamed). The sampler is not changed.
XLSTM_API xlstm_status xlstm_sampler_save_state_file(const xlstm_sampler *sampler,
                                                     const char *path);

// Restores the sampler's state from a file written by `xlstm_sampler_save_state_file`. Errors as
// `xlstm_sampler_load_state`, plus XLSTM_ERROR_IO; the sampler is unchanged on error.
XLSTM_API xlstm_status xlstm_sampler_load_state_file(xlstm_sampler *sampler, const char *path);

// Draws one token for each of `n` sampler/session pairs: `tokens[i]` receives what
// `xlstm_sampler_sample(samplers[i], sessions[i], &tokens[i])` would, for i in order, with one call
// (a frame loop: one batched feed, one batched sample). The same session may appear at several
// indices (it is only read); a sampler may not. Everything is checked before any draw: NULL arrays
// (allowed only when `n` is 0), a NULL element, a repeated sampler, a session without logits
// (XLSTM_ERROR_NO_LOGITS) or whose logits are all NaN/-infinity, `n` above XLSTM_SAMPLE_BATCH_MAX
// -- the status and a message naming the index; then no sampler has advanced and no token is
// written. The sessions are not changed. Each sampler and session must not be used by another
// thread during the call.
XLSTM_API xlstm_status xlstm_sampler_sample_batch(xlstm_sampler *const *samplers,
                                                  xlstm_session *const *sessions, size_t n,
                                                  int32_t *tokens);

// -------------------------------------------------------------------------------------------------
// Batches: one token (or a span of tokens) for each of N sessions of one model, each weight read
// once per pass (Batch.swift, BatchPrefill.swift)

// Feeds `tokens[i]` to `sessions[i]` for i in [0, n): one decode step for N sessions of the same
// model in one pass over the weights (matrix-matrix products over the N rows; each session's
// recurrent state advances on its own; the sessions may be at any positions). With
// XLSTM_LOGITS_LAST each session's logits are computed (`xlstm_session_logits`); with
// XLSTM_LOGITS_NONE none are.
//
// Everything is checked before anything runs: `sessions` and `tokens` non-NULL (when n > 0), no
// NULL session, every session created from the same `xlstm_model` handle's load, no session twice,
// every token in [0, vocab_size). On failure (XLSTM_ERROR_INVALID_ARGUMENT, or
// XLSTM_ERROR_TOKEN_OUT_OF_RANGE; the message names the index) no session is changed.
//
// Results: a session's logits and state are bit-identical whatever n is and whichever other
// sessions are in the batch, and on any n_threads; they equal feeding its token with
// `xlstm_session_feed_token` up to float rounding (about 1e-6 relative; not bit for bit -- the
// projections are summed in another order). A batch of one runs at about a step's speed (README
// "Crowds"); for a single session `xlstm_session_feed_token` is the call. n = 0 does nothing.
// Allocates nothing once the calling thread's batch scratch has grown to n sessions (see
// `xlstm_memory_info`).
//
// Threads: the call uses the model's pool (see `xlstm_model`). The sessions must not be used by
// another thread during the call; other threads may feed other sessions of the same model, alone or
// in batches, at the same time. Invalidates pointers from `xlstm_session_logits` of the sessions.
XLSTM_API xlstm_status xlstm_batch_feed(xlstm_session *const *sessions, const int32_t *tokens,
                                        size_t n, xlstm_logits_mode mode);

// Feeds `n_tokens[i]` tokens from `tokens[i]` to `sessions[i]` for i in [0, n): a prompt (or any
// span) for each of N sessions of the same model in one pass over the weights per window -- the
// spans laid end to end, every projection one matrix-matrix product over all their rows, each
// session's recurrent state advancing along its own span. Spans may have any lengths (a session
// with n_tokens[i] = 0 is left as it is, logits included); sessions may be at any positions. With
// XLSTM_LOGITS_LAST each fed session's logits after its last token are computed
// (`xlstm_session_logits`); with XLSTM_LOGITS_NONE none are.
//
// Everything is checked before anything runs: `sessions`, `tokens` and `n_tokens` non-NULL (when n
// > 0), no NULL session, `tokens[i]` non-NULL where n_tokens[i] > 0, every session created from the
// same `xlstm_model` handle's load, no session twice, every token in [0, vocab_size). On failure
// (XLSTM_ERROR_INVALID_ARGUMENT, or XLSTM_ERROR_TOKEN_OUT_OF_RANGE; the message names the session
// index and the position) no session is changed.
//
// Results equal feeding each span with `xlstm_session_feed_tokens` up to float rounding (about 1e-6
// relative). Many short prompts gain the most: 16 prompts of 20 tokens read each weight once, as
// one 320-token prompt does, instead of 16 times. n = 0 does nothing. Allocates nothing once the
// calling thread's prefill and batch scratch have grown (see `xlstm_memory_info`).
//
// Threads: as `xlstm_batch_feed`. Invalidates pointers from `xlstm_session_logits` of the sessions.
XLSTM_API xlstm_status xlstm_batch_feed_tokens(xlstm_session *const *sessions,
                                               const int32_t *const *tokens, const size_t *n_tokens,
                                               size_t n, xlstm_logits_mode mode);

// ---- Memory: what one more session costs, and the calling threads' shared scratch ---------------

// Describes the memory of `model`'s sessions and feeds in `*info` (see `xlstm_memory_info`).
// Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
XLSTM_API xlstm_status xlstm_model_get_memory_info(const xlstm_model *model,
                                                   xlstm_memory_info *info);

// ---- Quantization: write a q8_0 / q4_0 copy of a model directory (README "Quantized models") ----

// Writes the default options into `*params`: XLSTM_QUANT_Q8_0, nothing kept, no overwrite, shards
// like the input, reserved fields 0. Returns XLSTM_ERROR_INVALID_ARGUMENT if `params` is NULL.
// Thread-safe.
XLSTM_API xlstm_status xlstm_quantize_default_params(xlstm_quantize_params *params);

// Writes a copy of the model directory `input` (config.json + safetensors in f32, bf16 or f16) into
// the new directory `output`, with every weight matrix whose input dimension is a multiple of 32
// stored in the format `params->type` (README "Quantized models"); norms, biases, conv and
// recurrent kernels are copied unchanged, and so are tokenizer.json and the other small files.
// `params` may be NULL for the defaults; `progress` may be NULL; `user_data` is passed to it. The
// copy is streamed tensor by tensor (memory stays at a few MB whatever the model's size) into a
// temporary directory next to `output`, renamed to `output` only when complete. On any failure
// (XLSTM_ERROR_IO, XLSTM_ERROR_INVALID_MODEL for NaN or infinite weights,
// XLSTM_ERROR_INVALID_ARGUMENT for an already quantized input or an existing `output` without
// `overwrite`, XLSTM_ERROR_UNSUPPORTED for an official xlstm_large checkpoint) or a cancel
// (XLSTM_ERROR_CANCELLED), no output directory is left and an existing one is unchanged.
// Thread-safe (distinct output directories).
XLSTM_API xlstm_status xlstm_model_quantize(const char *input, const char *output,
                                            const xlstm_quantize_params *params,
                                            xlstm_progress_callback progress, void *user_data);

// -------------------------------------------------------------------------------------------------
// Tokenizers: text <-> token ids with a model's Hugging Face tokenizer.json, and streaming
// detokenization for generation

// Loads a tokenizer: `path` is a directory holding `tokenizer.json` (a model directory, or one with
// only the tokenizer files, as `AutoTokenizer.from_pretrained` accepts) or the `tokenizer.json`
// file itself. `tokenizer_config.json`, `special_tokens_map.json` and `config.json` beside it give
// the bos/eos/pad ids. A component the library does not implement gives XLSTM_ERROR_UNSUPPORTED
// naming it (never silently different ids); a malformed file XLSTM_ERROR_INVALID_MODEL; a missing
// one XLSTM_ERROR_IO. On success `*tokenizer` receives a new tokenizer (free with
// `xlstm_tokenizer_free`); on failure it is set to NULL. Thread-safe.
XLSTM_API xlstm_status xlstm_tokenizer_load(const char *path, xlstm_tokenizer **tokenizer);

// Loads the tokenizer of `model` from the model's directory (as `xlstm_tokenizer_load` on it).
// XLSTM_ERROR_IO when the directory has no tokenizer.json (byte-level models need none: their ids
// are the bytes). The tokenizer is independent of the model afterwards. Thread-safe.
XLSTM_API xlstm_status xlstm_tokenizer_from_model(const xlstm_model *model,
                                                  xlstm_tokenizer **tokenizer);

// Releases a tokenizer. Detokenizers created from it keep it alive until they are freed. NULL is
// ignored. Not to be called twice on the same pointer.
XLSTM_API void xlstm_tokenizer_free(xlstm_tokenizer *tokenizer);

// Describes the tokenizer in `*info`. XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument.
// Thread-safe.
XLSTM_API xlstm_status xlstm_tokenizer_get_info(const xlstm_tokenizer *tokenizer,
                                                xlstm_tokenizer_info *info);

// Tokenizes `text_len` bytes of UTF-8 at `text` (no terminator needed; NULL allowed when `text_len`
// is 0) into `tokens`, room for `capacity` ids. `flags`: XLSTM_TOKENIZE_ADD_SPECIAL,
// XLSTM_TOKENIZE_SPLIT_SPECIAL, or 0. `*n_tokens` receives the number of ids; when it exceeds
// `capacity` the call returns XLSTM_ERROR_BUFFER_TOO_SMALL and writes no id (call with capacity 0
// and tokens NULL to ask for the size). Text that is not valid UTF-8 is refused with
// XLSTM_ERROR_INVALID_ARGUMENT naming the byte offset. Thread-safe.
XLSTM_API xlstm_status xlstm_tokenize(const xlstm_tokenizer *tokenizer, const char *text,
                                      size_t text_len, uint32_t flags, int32_t *tokens,
                                      size_t capacity, size_t *n_tokens);

// Writes the UTF-8 text of `n_tokens` ids at `tokens` into `text` (room for `capacity` bytes).
// `flags`: XLSTM_DETOKENIZE_SKIP_SPECIAL or 0. Byte sequences the ids leave invalid become U+FFFD,
// as `tokenizers`' decode does, so the text is always valid UTF-8. `*text_len` receives its length
// in bytes (no terminator counted); a NUL is appended when `capacity` > `*text_len`. When the text
// does not fit: XLSTM_ERROR_BUFFER_TOO_SMALL, `*text_len` = the size needed, nothing written. An id
// the tokenizer has no token for (>= vocab_size, e.g. a model's padded vocabulary rows, or a hole
// in the vocabulary) has no text, as in `tokenizers`' decode; a negative id gives
// XLSTM_ERROR_TOKEN_OUT_OF_RANGE. Thread-safe.
XLSTM_API xlstm_status xlstm_detokenize(const xlstm_tokenizer *tokenizer, const int32_t *tokens,
                                        size_t n_tokens, uint32_t flags, char *text,
                                        size_t capacity, size_t *text_len);

// Writes the raw bytes token `token` stands for into `piece` (the decoder applied to it alone; for
// byte-level tokenizers this may be part of a UTF-8 sequence, so it is NOT always valid UTF-8).
// Same size protocol as `xlstm_detokenize`; an id without a token gives 0 bytes, a negative one
// XLSTM_ERROR_TOKEN_OUT_OF_RANGE. Thread-safe.
XLSTM_API xlstm_status xlstm_tokenizer_token_to_piece(const xlstm_tokenizer *tokenizer,
                                                      int32_t token, char *piece, size_t capacity,
                                                      size_t *piece_len);

// Creates a streaming detokenizer over `tokenizer` (which it keeps alive). `flags`:
// XLSTM_DETOKENIZE_SKIP_SPECIAL or 0. Free with `xlstm_detokenizer_free`. Thread-safe.
XLSTM_API xlstm_status xlstm_detokenizer_create(const xlstm_tokenizer *tokenizer, uint32_t flags,
                                                xlstm_detokenizer **detokenizer);

// Releases a detokenizer (what it holds back is dropped). NULL is ignored.
XLSTM_API void xlstm_detokenizer_free(xlstm_detokenizer *detokenizer);

// Feeds one token and writes the text that is now complete into `text` (often all of the token's
// text; nothing while a UTF-8 sequence split across tokens is incomplete -- those bytes are held
// back, at most 3). The text written is always valid UTF-8 and, concatenated over a stream with
// `xlstm_detokenizer_flush` at the end, equals `xlstm_detokenize` of all the ids. Size protocol as
// `xlstm_detokenize` (16 bytes more than the longest piece always suffice); on
// XLSTM_ERROR_BUFFER_TOO_SMALL or XLSTM_ERROR_TOKEN_OUT_OF_RANGE the token is not consumed and the
// detokenizer is unchanged.
XLSTM_API xlstm_status xlstm_detokenizer_push(xlstm_detokenizer *detokenizer, int32_t token,
                                              char *text, size_t capacity, size_t *text_len);

// Ends the stream: writes what is held back (an incomplete UTF-8 sequence becomes U+FFFD) and
// resets the detokenizer for a new stream. Size protocol as `xlstm_detokenize`; on
// XLSTM_ERROR_BUFFER_TOO_SMALL nothing changes.
XLSTM_API xlstm_status xlstm_detokenizer_flush(xlstm_detokenizer *detokenizer, char *text,
                                               size_t capacity, size_t *text_len);

#ifdef __cplusplus
}
#endif

#endif // XLSTM_H

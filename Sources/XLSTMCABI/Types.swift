// The C ABI's types. `make header` (tools/header-gen) turns the declarations in this folder into
// include/xlstm.h and include/xlstm.abi.json; these conventions are what it reads:
//
//   public enum NAME: COpaqueType {}                  typedef struct NAME NAME;        (opaque handle)
//   public enum NAME: Int32, CEnum { case X = 0 }     typedef enum NAME { X = 0 } NAME;
//   public struct NAME: CStruct { public var f: T }   typedef struct NAME { T f; } NAME;
//   public let XLSTM_NAME: Int32 = 1                  #define XLSTM_NAME 1
//   @c public func name(…) -> T                       XLSTM_API T name(…);
//   public typealias NAME = @convention(c) (_ a: T, …) -> R    typedef R (*NAME)(T a, …);  (callback)
//
// and in signatures and fields: Handle<T> → T *, ConstHandle<T> → const T *,
// StructPointer<T> → T *, ConstStructPointer<T> → const T *, CEnumValue<E> → E,
// UnsafePointer<X> → const X *, UnsafeMutablePointer<X> → X * (X mapped recursively, so
// UnsafeMutablePointer<Handle<T>?> → T **), UnsafePointer<CChar> → const char *, UInt → size_t,
// Int → ptrdiff_t, IntN/UIntN → intN_t/uintN_t, Float → float, Double → double,
// UnsafeRawPointer → const void *, UnsafeMutableRawPointer → void *. A `?` marks a nullable pointer.
// `///` doc comments are carried into the header.

/// Marks an uninhabited type that names a C opaque handle type.
public protocol COpaqueType {}
/// Marks an Int32-backed enum exported as a C enum.
public protocol CEnum: RawRepresentable where RawValue == Int32 {}
/// Marks a struct exported as a plain C struct (fixed-width fields only, laid out as C lays them out).
public protocol CStruct {}

/// A pointer to an opaque object of type T (C: `T *`).
public typealias Handle<T> = OpaquePointer
/// A pointer to an opaque object of type T that the callee does not modify (C: `const T *`).
public typealias ConstHandle<T> = OpaquePointer
/// A pointer to a C struct T written by the callee (C: `T *`).
public typealias StructPointer<T> = UnsafeMutableRawPointer
/// A pointer to a C struct T read by the callee (C: `const T *`).
public typealias ConstStructPointer<T> = UnsafeRawPointer
/// A C enum value of type E, passed as its 32-bit integer (C: `E`).
public typealias CEnumValue<E> = Int32

// MARK: Versions

/// Major version of the library: incremented for incompatible API changes.
public let XLSTM_VERSION_MAJOR: Int32 = 0
/// Minor version of the library: incremented for compatible additions.
public let XLSTM_VERSION_MINOR: Int32 = 5
/// Patch version of the library.
public let XLSTM_VERSION_PATCH: Int32 = 0
/// Version of the C API this header describes; `xlstm_api_version()` returns the library's.
/// A program should check that they are equal at start-up.
public let XLSTM_API_VERSION: Int32 = 6
/// Version of the state blob format written by `xlstm_session_save_state`.
public let XLSTM_STATE_FORMAT_VERSION: Int32 = 1
/// Version of the sampler state blob format written by `xlstm_sampler_save_state`.
public let XLSTM_SAMPLER_STATE_FORMAT_VERSION: Int32 = 1
/// The most samplers one `xlstm_sampler_sample_batch` call takes.
public let XLSTM_SAMPLE_BATCH_MAX: Int32 = 1048576

// MARK: Handles

/// A loaded model: immutable weights and configuration, and the model's thread pool
/// (`xlstm_model_params.n_threads`). Thread-safe: any number of threads may create sessions from one
/// model and feed them (one session or a batch each) concurrently.
///
/// Threads: the n_threads − 1 worker threads are started at load and shared by every session and
/// batch call of the model; no session starts threads. The pool runs one call's kernels at a time:
/// a feed that finds it busy (another thread's feed of the same model is running on it) runs its
/// kernels single-threaded on its calling thread instead of waiting, with the same results bit for
/// bit. Concurrent feeds therefore never deadlock and never block each other. Idle workers spin for
/// about 50 microseconds after a job, then sleep on a condition variable (no CPU use between feeds).
///
/// Scratch: a feed's intermediate buffers belong to the calling thread (reused by every session it
/// feeds, freed when the thread exits), so one more session costs `xlstm_memory_info.session_bytes`.
public enum xlstm_model: COpaqueType {}
/// One sequence's recurrent state and its last logits. Not thread-safe: use a session from one
/// thread at a time (it may move between threads); a session in a running `xlstm_batch_feed` is in
/// use by that call's thread.
public enum xlstm_session: COpaqueType {}
/// A token sampler with its own seeded random generator and penalty history. Not thread-safe.
public enum xlstm_sampler: COpaqueType {}

// MARK: Enums

/// Result of every fallible function. Values are stable across versions.
/// On any status other than XLSTM_OK, `xlstm_last_error_message()` describes the failure.
public enum xlstm_status: Int32, CEnum {
    /// Success.
    case XLSTM_OK = 0
    /// An argument is invalid: a NULL pointer where one is required, a bad option value.
    case XLSTM_ERROR_INVALID_ARGUMENT = 1
    /// A file could not be opened, read, mapped or written.
    case XLSTM_ERROR_IO = 2
    /// A model directory or file is malformed: bad JSON, missing or misshapen tensor, truncated file.
    case XLSTM_ERROR_INVALID_MODEL = 3
    /// The model uses a feature this library does not implement.
    case XLSTM_ERROR_UNSUPPORTED = 4
    /// A token id is outside [0, vocab_size).
    case XLSTM_ERROR_TOKEN_OUT_OF_RANGE = 5
    /// A caller-supplied buffer is too small; the message says how large it must be.
    case XLSTM_ERROR_BUFFER_TOO_SMALL = 6
    /// A state blob was saved from a different model.
    case XLSTM_ERROR_STATE_MISMATCH = 7
    /// A state blob has a format version this library does not read.
    case XLSTM_ERROR_STATE_VERSION = 8
    /// A state blob is truncated or damaged.
    case XLSTM_ERROR_STATE_CORRUPT = 9
    /// Logits were requested but the last feed did not compute them, or nothing was fed yet.
    case XLSTM_ERROR_NO_LOGITS = 10
    /// A long operation (`xlstm_model_quantize`) was cancelled by its progress callback.
    case XLSTM_ERROR_CANCELLED = 11
    /// The system refused memory the call needs (weight panels at load, a session's state, a feed's
    /// scratch): `ulimit -v`, strict overcommit, a full address space. The model and every session
    /// are as they were; the call may be retried once memory is free.
    case XLSTM_ERROR_OUT_OF_MEMORY = 12
}

/// The architecture family of a model.
public enum xlstm_family: Int32, CEnum {
    /// The paper architecture (`xlstm.xLSTMLMModel`): mLSTM and sLSTM blocks.
    case XLSTM_FAMILY_PAPER = 1
    /// The xLSTM 7B architecture (`xlstm_large`, transformers `xLSTMForCausalLM`).
    case XLSTM_FAMILY_LARGE = 2
}

/// The kind of one residual block.
public enum xlstm_block_kind: Int32, CEnum {
    /// Matrix-memory block (parallelizable).
    case XLSTM_BLOCK_MLSTM = 0
    /// Scalar-memory block with recurrent memory mixing.
    case XLSTM_BLOCK_SLSTM = 1
}

/// How weights stored in reduced precision are held in memory.
public enum xlstm_weight_policy: Int32, CEnum {
    /// bf16 matrices are read in place from the memory-mapped file; f16 is widened to f32 at load.
    case XLSTM_WEIGHTS_NATIVE = 0
    /// Every tensor is widened to float32 at load (more memory, no bf16 rounding in the kernels' inputs).
    case XLSTM_WEIGHTS_FLOAT32 = 1
}

/// The instruction-set path of a model's kernels. Values are stable; later versions may add paths.
public enum xlstm_cpu_path: Int32, CEnum {
    /// Not a path: in `xlstm_model_params`, "the fastest path this CPU runs" (or the one the
    /// XLSTM_CPU environment variable names: portable, avx2 or avx512).
    case XLSTM_CPU_AUTO = 0
    /// Swift SIMD for the architecture's baseline (SSE2 on x86-64, NEON on arm64); runs anywhere.
    case XLSTM_CPU_PORTABLE = 1
    /// AVX2 + FMA (x86-64).
    case XLSTM_CPU_AVX2 = 2
    /// AVX-512 F/BW/DQ/VL (x86-64).
    case XLSTM_CPU_AVX512 = 3
}

/// How `xlstm_model_load` brings the model's files into memory (README "Reliability").
public enum xlstm_load_mode: Int32, CEnum {
    /// Memory-mapped (the default): no copy, pages shared with the page cache. Replacing the files by
    /// rename is safe; truncating them while loaded makes later reads raise SIGBUS, and overwriting
    /// them in place changes the weights of the loaded model.
    case XLSTM_LOAD_MMAP = 0
    /// Read into private memory at load: the loaded model is immune to any later change of its files.
    case XLSTM_LOAD_COPY = 1
    /// Memory-mapped and locked in RAM with mlock(2): no page faults or disk reads during inference.
    /// Fails with XLSTM_ERROR_IO when RLIMIT_MEMLOCK is too small. Does not protect against truncation.
    case XLSTM_LOAD_MLOCK = 2
}

/// How the projections treat activations (README "Precision"), chosen per model load.
public enum xlstm_precision: Int32, CEnum {
    /// float32 activations everywhere: the results the reference fixtures check (≤ 1e-4). Default.
    case XLSTM_PRECISION_EXACT = 0
    /// The q8 / q4 projections quantize their input to int8 per block of 32 and sum integer
    /// products (AVX-512 VNNI or AVX2); on a CPU with AVX-512 BF16 the bf16 projections round their
    /// input to bfloat16 and sum with `vdpbf16ps`. Both in the single-session step's matvecs (decode
    /// near the memory bandwidth) and in prefill's and batches' GEMMs (each token's result bit for
    /// bit its step's), at a measured error (README). f32 weights (and bf16 without AVX-512 BF16)
    /// run as in exact; on a path without int8 kernels (portable) the model loads as exact, which
    /// `xlstm_model_get_precision` reports.
    case XLSTM_PRECISION_FAST = 1
}

/// Which logits a multi-token feed computes.
public enum xlstm_logits_mode: Int32, CEnum {
    /// The logits after the last token (what generation needs).
    case XLSTM_LOGITS_LAST = 0
    /// None: the feed only advances the state (e.g. a prompt prefix); `xlstm_session_logits` is then NULL.
    case XLSTM_LOGITS_NONE = 1
}

// MARK: Structs

/// Options for `xlstm_model_load`. Initialise with `xlstm_model_default_params`, then change fields.
public struct xlstm_model_params: CStruct {
    /// Threads of the model's pool, the calling thread included (≥ 1): every feed of every session
    /// of this model (and every batch) uses up to this many threads; n_threads − 1 workers are
    /// started at load and shared (see `xlstm_model`).
    public var n_threads: Int32
    /// How reduced-precision weights are held (`xlstm_weight_policy`).
    public var weight_policy: CEnumValue<xlstm_weight_policy>
    /// The kernels' instruction-set path (`xlstm_cpu_path`): XLSTM_CPU_AUTO (default) for the
    /// fastest this CPU runs, or a lower one to force it (tests, bug reports). A path this CPU
    /// cannot run fails the load with XLSTM_ERROR_UNSUPPORTED.
    public var cpu_path: CEnumValue<xlstm_cpu_path>
    /// How the files are brought into memory (`xlstm_load_mode`); default XLSTM_LOAD_MMAP.
    public var load_mode: CEnumValue<xlstm_load_mode>
    /// Activations of the projections (`xlstm_precision`); default XLSTM_PRECISION_EXACT (this
    /// field was reserved, and 0, before API version 4).
    public var precision: CEnumValue<xlstm_precision>
    /// Reserved for future options; must be 0 (as set by `xlstm_model_default_params`).
    public var reserved1: Int32
    /// Reserved; must be 0.
    public var reserved2: Int32
    /// Reserved; must be 0.
    public var reserved3: Int32
}

/// What `xlstm_model_get_info` reports.
public struct xlstm_model_info: CStruct {
    /// The architecture family (`xlstm_family`).
    public var family: CEnumValue<xlstm_family>
    /// Number of token ids; valid ids are [0, vocab_size).
    public var vocab_size: Int32
    /// Width of the residual stream.
    public var embedding_dim: Int32
    /// Number of residual blocks; `xlstm_model_get_block_kind` tells each one's kind.
    public var n_blocks: Int32
    /// Number of parameters (a tied embedding counts once).
    public var n_parameters: UInt64
    /// Bytes of a saved session state (`xlstm_session_state_size`); the same for every session.
    public var state_size: UInt64
    /// Bytes of recurrent state held in memory per session.
    public var state_bytes_in_memory: UInt64
    /// Identifies the architecture and tensor layout (not the weight values); stored in state blobs.
    public var fingerprint: UInt64
}

/// Options for `xlstm_sampler_create`. Initialise with `xlstm_sampler_default_params`, then change fields.
public struct xlstm_sampler_params: CStruct {
    /// Seed of the sampler's random generator: the same seed and logits give the same tokens.
    public var seed: UInt64
    /// 0 always picks the most likely token (greedy); otherwise logits are divided by it. Default 0.8.
    public var temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all. Default 40.
    public var top_k: Int32
    /// Keep the smallest set of most likely tokens whose probability reaches top_p; 1 keeps all. Default 0.95.
    public var top_p: Float
    /// Drop tokens less likely than min_p times the most likely one; 0 keeps all. Default 0.05.
    public var min_p: Float
    /// Penalise tokens seen in the last penalty_window tokens: positive logits are divided by it,
    /// negative ones multiplied; 1 is off. Default 1.
    public var repetition_penalty: Float
    /// Subtracted from the logit of every token seen in the window; 0 is off. Default 0.
    public var presence_penalty: Float
    /// How many recent tokens (accepted or sampled) the penalties look at. Default 64.
    public var penalty_window: Int32
    /// Reserved; set to 0.
    public var reserved: Int32
}

/// What `xlstm_model_get_memory_info` reports: the memory one more session costs, and the scratch
/// a thread holds after feeding this model (shared by all the sessions it feeds).
public struct xlstm_memory_info: CStruct {
    /// Bytes one session holds: its recurrent state, its logits (vocab_size floats) and bookkeeping.
    public var session_bytes: UInt64
    /// Bytes of scratch a thread holds after single-token feeds (any number of sessions).
    public var step_scratch_bytes: UInt64
    /// Bytes of scratch a thread holds after a multi-token feed (a 256-token prefill window).
    public var prefill_scratch_bytes: UInt64
    /// Bytes of scratch a thread holds per session of a batch (up to `batch_window` sessions).
    public var batch_scratch_bytes_per_session: UInt64
    /// Sessions `xlstm_batch_feed` processes per pass over the weights; larger batches take several.
    public var batch_window: UInt32
    /// Threads of the model's pool (n_threads), the calling one included.
    public var n_threads: UInt32
    /// Reserved; 0.
    public var reserved0: UInt64
    /// Reserved; 0.
    public var reserved1: UInt64
}

// The C types of quantization (QuantizeAPI.swift): the format enum, the keep flags, the progress
// callback and the options struct.

/// The block formats `xlstm_model_quantize` writes (README "Quantized models" documents the layout).
public enum xlstm_quant_type: Int32, CEnum {
    /// int8 values, one float16 scale per block of 32 (8.5 bits per weight).
    case XLSTM_QUANT_Q8_0 = 1
    /// 4-bit values, one float16 scale per block of 32 (4.5 bits per weight).
    case XLSTM_QUANT_Q4_0 = 2
}

/// In `xlstm_quantize_params.keep`: leave the token embedding in its source dtype.
public let XLSTM_QUANT_KEEP_EMBEDDING: Int32 = 1
/// In `xlstm_quantize_params.keep`: leave the lm_head in its source dtype (for a tied model: the
/// shared embedding).
public let XLSTM_QUANT_KEEP_LM_HEAD: Int32 = 2
/// In `xlstm_quantize_params.keep`: leave the mLSTM input and forget gate projections in their source dtype.
public let XLSTM_QUANT_KEEP_GATES: Int32 = 4

/// Progress of `xlstm_model_quantize`: `done` of `total` input bytes processed. Called on the
/// calling thread of `xlstm_model_quantize`, at the start, after every block of rows (at most a few
/// MB apart) and at the end (done == total). Return 0 to continue, any other value to cancel: the
/// call then returns XLSTM_ERROR_CANCELLED and leaves no output directory.
public typealias xlstm_progress_callback = @convention(c) (_ done: UInt64, _ total: UInt64,
                                                            _ user_data: UnsafeMutableRawPointer?) -> Int32

/// Options for `xlstm_model_quantize`. Initialise with `xlstm_quantize_default_params`, then change fields.
public struct xlstm_quantize_params: CStruct {
    /// The format (`xlstm_quant_type`); default XLSTM_QUANT_Q8_0.
    public var type: CEnumValue<xlstm_quant_type>
    /// Matrices left unquantized: an OR of XLSTM_QUANT_KEEP_EMBEDDING, XLSTM_QUANT_KEEP_LM_HEAD and
    /// XLSTM_QUANT_KEEP_GATES; default 0 (every weight matrix quantized).
    public var keep: UInt32
    /// 1: replace an existing output directory (only once the new one is complete); 0 (default): an
    /// existing output directory is an error.
    public var overwrite: Int32
    /// Reserved; must be 0.
    public var reserved0: Int32
    /// Split the output into shards of at most this many bytes; 0 (default): shard like the input.
    public var max_shard_bytes: UInt64
    /// Reserved for future options; must be 0 (as set by `xlstm_quantize_default_params`).
    public var reserved1: Int32
    /// Reserved; must be 0.
    public var reserved2: Int32
    /// Reserved; must be 0.
    public var reserved3: Int32
    /// Reserved; must be 0.
    public var reserved4: Int32
}

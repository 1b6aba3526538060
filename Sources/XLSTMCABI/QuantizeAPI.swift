// Quantization: write a q8_0 / q4_0 copy of a model directory (README "Quantized models").

import XLSTM

/// Writes the default options into `*params`: XLSTM_QUANT_Q8_0, nothing kept, no overwrite, shards
/// like the input, reserved fields 0. Returns XLSTM_ERROR_INVALID_ARGUMENT if `params` is NULL. Thread-safe.
@c public func xlstm_quantize_default_params(_ params: StructPointer<xlstm_quantize_params>?) -> CEnumValue<xlstm_status> {
    guard let params else { return argumentError("xlstm_quantize_default_params: params is NULL") }
    params.storeBytes(of: defaultQuantizeParams, as: xlstm_quantize_params.self)
    return ok
}

/// Writes a copy of the model directory `input` (config.json + safetensors in f32, bf16 or f16)
/// into the new directory `output`, with every weight matrix whose input dimension is a multiple
/// of 32 stored in the format `params->type` (README "Quantized models"); norms, biases, conv and
/// recurrent kernels are copied unchanged, and so are tokenizer.json and the other small files.
/// `params` may be NULL for the defaults; `progress` may be NULL; `user_data` is passed to it.
/// The copy is streamed tensor by tensor (memory stays at a few MB whatever the model's size) into a
/// temporary directory next to `output`, renamed to `output` only when complete. On any failure
/// (XLSTM_ERROR_IO, XLSTM_ERROR_INVALID_MODEL for NaN or infinite weights, XLSTM_ERROR_INVALID_ARGUMENT
/// for an already quantized input or an existing `output` without `overwrite`, XLSTM_ERROR_UNSUPPORTED
/// for an official xlstm_large checkpoint) or a cancel (XLSTM_ERROR_CANCELLED), no output directory is
/// left and an existing one is unchanged. Thread-safe (distinct output directories).
@c public func xlstm_model_quantize(_ input: UnsafePointer<CChar>?, _ output: UnsafePointer<CChar>?,
                                    _ params: ConstStructPointer<xlstm_quantize_params>?,
                                    _ progress: xlstm_progress_callback?,
                                    _ user_data: UnsafeMutableRawPointer?) -> CEnumValue<xlstm_status> {
    guard let input else { return argumentError("xlstm_model_quantize: input is NULL") }
    guard let output else { return argumentError("xlstm_model_quantize: output is NULL") }
    var options = defaultQuantizeParams
    if let params { options = params.loadUnaligned(as: xlstm_quantize_params.self) }
    guard options.reserved0 == 0, options.reserved1 == 0, options.reserved2 == 0, options.reserved3 == 0,
          options.reserved4 == 0 else {
        return argumentError("xlstm_model_quantize: the reserved fields of params must be 0 (start from xlstm_quantize_default_params)")
    }
    let format: QuantFormat
    switch xlstm_quant_type(rawValue: options.type) {
    case .XLSTM_QUANT_Q8_0?: format = .q8
    case .XLSTM_QUANT_Q4_0?: format = .q4
    case nil: return argumentError("xlstm_model_quantize: unknown quantization type \(options.type) (XLSTM_QUANT_Q8_0 or XLSTM_QUANT_Q4_0)")
    }
    let known = UInt32(XLSTM_QUANT_KEEP_EMBEDDING | XLSTM_QUANT_KEEP_LM_HEAD | XLSTM_QUANT_KEEP_GATES)
    guard options.keep & ~known == 0 else {
        return argumentError("xlstm_model_quantize: unknown bits 0x\(String(options.keep & ~known, radix: 16)) in keep")
    }
    guard options.overwrite == 0 || options.overwrite == 1 else {
        return argumentError("xlstm_model_quantize: overwrite must be 0 or 1 (is \(options.overwrite))")
    }
    guard options.max_shard_bytes <= UInt64(Int.max) else {
        return argumentError("xlstm_model_quantize: max_shard_bytes is too large")
    }
    var keep = Set<QuantizedTensorClass>()
    if options.keep & UInt32(XLSTM_QUANT_KEEP_EMBEDDING) != 0 { keep.insert(.embedding) }
    if options.keep & UInt32(XLSTM_QUANT_KEEP_LM_HEAD) != 0 { keep.insert(.lmHead) }
    if options.keep & UInt32(XLSTM_QUANT_KEEP_GATES) != 0 { keep.insert(.gates) }
    let quantizeOptions = QuantizeOptions(format: format, keep: keep, overwrite: options.overwrite == 1,
                                          maxShardBytes: options.max_shard_bytes == 0 ? nil : Int(options.max_shard_bytes))
    return guarded { () throws(XLSTMError) in
        _ = try Quantizer.quantize(input: String(cString: input), output: String(cString: output), options: quantizeOptions) { p in
            guard let progress else { return true }
            return progress(UInt64(p.bytesDone), UInt64(p.bytesTotal), user_data) == 0
        }
    }
}

/// The options `xlstm_quantize_default_params` writes.
var defaultQuantizeParams: xlstm_quantize_params { xlstm_quantize_params(
    type: xlstm_quant_type.XLSTM_QUANT_Q8_0.rawValue, keep: 0, overwrite: 0, reserved0: 0, max_shard_bytes: 0,
    reserved1: 0, reserved2: 0, reserved3: 0, reserved4: 0) }

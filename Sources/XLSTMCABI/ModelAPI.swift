// Models: load, free, describe.

import XLSTM

/// Writes the default options into `*params`: one thread, native weight policy, XLSTM_CPU_AUTO,
/// memory-mapped files (XLSTM_LOAD_MMAP), reserved fields 0.
/// Returns XLSTM_ERROR_INVALID_ARGUMENT if `params` is NULL. Thread-safe.
@c public func xlstm_model_default_params(_ params: StructPointer<xlstm_model_params>?) -> CEnumValue<xlstm_status> {
    guard let params else { return argumentError("xlstm_model_default_params: params is NULL") }
    params.storeBytes(of: defaultModelParams, as: xlstm_model_params.self)
    return ok
}

/// Loads the model directory `path` (config.json + safetensors, or an official xlstm_large checkpoint's
/// config.yaml + safetensors; see README "Model formats").
/// `params` may be NULL for the defaults. On success `*model` receives a new model, to be released
/// with `xlstm_model_free`. Weight matrices are repacked at load into the kernels' layout; the
/// rest (token embeddings, vectors) is memory-mapped unless `load_mode` says otherwise. On failure
/// `*model` is set to NULL, nothing stays loaded and the last error names the file and tensor at fault
/// (XLSTM_ERROR_OUT_OF_MEMORY when the system refuses the mapping or the panels' memory).
/// Thread-safe.
@c public func xlstm_model_load(_ path: UnsafePointer<CChar>?, _ params: ConstStructPointer<xlstm_model_params>?,
                                _ model: UnsafeMutablePointer<Handle<xlstm_model>?>?) -> CEnumValue<xlstm_status> {
    guard let model else { return argumentError("xlstm_model_load: model (the output pointer) is NULL") }
    model.pointee = nil
    guard let path else { return argumentError("xlstm_model_load: path is NULL") }
    var options = defaultModelParams
    if let params { options = params.loadUnaligned(as: xlstm_model_params.self) }
    guard options.reserved1 == 0, options.reserved2 == 0, options.reserved3 == 0 else {
        return argumentError("xlstm_model_load: the reserved fields of params must be 0 (start from xlstm_model_default_params)")
    }
    let cpuPath: CPUPath?
    if options.cpu_path == xlstm_cpu_path.XLSTM_CPU_AUTO.rawValue {
        cpuPath = nil
    } else if let path = CPUPath(rawValue: Int(options.cpu_path)) {
        cpuPath = path
    } else {
        return argumentError("xlstm_model_load: unknown cpu_path \(options.cpu_path)")
    }
    guard options.n_threads >= 1, options.n_threads <= 1024 else {
        return argumentError("xlstm_model_load: n_threads must be in [1, 1024] (is \(options.n_threads))")
    }
    let policy: WeightPolicy
    switch xlstm_weight_policy(rawValue: options.weight_policy) {
    case .XLSTM_WEIGHTS_NATIVE?: policy = .native
    case .XLSTM_WEIGHTS_FLOAT32?: policy = .float32
    case nil: return argumentError("xlstm_model_load: unknown weight_policy \(options.weight_policy)")
    }
    let loadMode: LoadMode
    switch xlstm_load_mode(rawValue: options.load_mode) {
    case .XLSTM_LOAD_MMAP?: loadMode = .map
    case .XLSTM_LOAD_COPY?: loadMode = .copy
    case .XLSTM_LOAD_MLOCK?: loadMode = .lock
    case nil: return argumentError("xlstm_model_load: unknown load_mode \(options.load_mode)")
    }
    guard let precision = Precision(rawValue: Int(options.precision)) else {
        return argumentError("xlstm_model_load: unknown precision \(options.precision)")
    }
    return guarded { () throws(XLSTMError) in
        let loaded = try Model(directory: String(cString: path), policy: policy, cpuPath: cpuPath, loadMode: loadMode,
                               threads: Int(options.n_threads), precision: precision)
        model.pointee = retained(ModelBox(model: loaded))
    }
}

/// Releases a model. Sessions created from it keep it alive until they are freed, so it may be
/// called while sessions exist. NULL is ignored. Not to be called twice on the same pointer.
@c public func xlstm_model_free(_ model: Handle<xlstm_model>?) {
    release(model, as: ModelBox.self)
}

/// Describes the model in `*info`. Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument.
/// Thread-safe.
@c public func xlstm_model_get_info(_ model: ConstHandle<xlstm_model>?,
                                    _ info: StructPointer<xlstm_model_info>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_model_get_info: model is NULL") }
    guard let info else { return argumentError("xlstm_model_get_info: info is NULL") }
    let m = box.model
    let family: xlstm_family = m.family == .paper ? .XLSTM_FAMILY_PAPER : .XLSTM_FAMILY_LARGE
    info.storeBytes(of: xlstm_model_info(
        family: family.rawValue, vocab_size: Int32(m.vocabSize), embedding_dim: Int32(m.embeddingDim),
        n_blocks: Int32(m.blockKinds.count), n_parameters: UInt64(m.parameterCount),
        state_size: UInt64(StateBlob.size(for: m)), state_bytes_in_memory: UInt64(m.stateBytes),
        fingerprint: m.fingerprint), as: xlstm_model_info.self)
    return ok
}

/// Writes the kind of block `index` (0-based, < n_blocks) into `*kind`.
/// Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument or an index out of range. Thread-safe.
@c public func xlstm_model_get_block_kind(_ model: ConstHandle<xlstm_model>?, _ index: Int32,
                                          _ kind: UnsafeMutablePointer<CEnumValue<xlstm_block_kind>>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_model_get_block_kind: model is NULL") }
    guard let kind else { return argumentError("xlstm_model_get_block_kind: kind is NULL") }
    let kinds = box.model.blockKinds
    guard index >= 0, Int(index) < kinds.count else {
        return argumentError("xlstm_model_get_block_kind: index \(index) is out of range [0, \(kinds.count))")
    }
    kind.pointee = (kinds[Int(index)] == .mLSTM ? xlstm_block_kind.XLSTM_BLOCK_MLSTM : .XLSTM_BLOCK_SLSTM).rawValue
    return ok
}

/// The instruction-set path the kernels of `model` run (never XLSTM_CPU_AUTO), into `*path`.
/// Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
@c public func xlstm_model_get_cpu_path(_ model: ConstHandle<xlstm_model>?,
                                        _ path: UnsafeMutablePointer<CEnumValue<xlstm_cpu_path>>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_model_get_cpu_path: model is NULL") }
    guard let path else { return argumentError("xlstm_model_get_cpu_path: path is NULL") }
    path.pointee = Int32(box.model.cpuPath.rawValue)
    return ok
}

/// The precision `model` runs (`xlstm_precision`) into `*precision`: what was asked at load, except
/// that XLSTM_PRECISION_FAST on a path without int8 kernels (portable) loads as exact. Returns
/// XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
@c public func xlstm_model_get_precision(_ model: ConstHandle<xlstm_model>?,
                                         _ precision: UnsafeMutablePointer<CEnumValue<xlstm_precision>>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_model_get_precision: model is NULL") }
    guard let precision else { return argumentError("xlstm_model_get_precision: precision is NULL") }
    precision.pointee = Int32(box.model.precision.rawValue)
    return ok
}

/// The fastest kernel path this CPU runs (what XLSTM_CPU_AUTO picks when XLSTM_CPU is unset).
/// Thread-safe.
@c public func xlstm_cpu_best_path() -> CEnumValue<xlstm_cpu_path> {
    Int32(CPUInfo.current.bestPath.rawValue)
}

/// 1 if this CPU runs the kernels of `path` (XLSTM_CPU_AUTO: always), else 0. Thread-safe.
@c public func xlstm_cpu_supports_path(_ path: CEnumValue<xlstm_cpu_path>) -> Int32 {
    if path == xlstm_cpu_path.XLSTM_CPU_AUTO.rawValue { return 1 }
    guard let known = CPUPath(rawValue: Int(path)) else { return 0 }
    return CPUInfo.current.supports(known) ? 1 : 0
}

/// The name of `path` ("auto", "portable", "avx2", "avx512"; "unknown" for another value), as
/// XLSTM_CPU spells it. The string is static: never free it. Thread-safe.
@c public func xlstm_cpu_path_name(_ path: CEnumValue<xlstm_cpu_path>) -> UnsafePointer<CChar> {
    switch xlstm_cpu_path(rawValue: path) {
    case .XLSTM_CPU_AUTO?: return staticCString("auto")
    case .XLSTM_CPU_PORTABLE?: return staticCString("portable")
    case .XLSTM_CPU_AVX2?: return staticCString("avx2")
    case .XLSTM_CPU_AVX512?: return staticCString("avx512")
    case nil: return staticCString("unknown")
    }
}

/// The options `xlstm_model_default_params` writes.
var defaultModelParams: xlstm_model_params { xlstm_model_params(
    n_threads: 1, weight_policy: xlstm_weight_policy.XLSTM_WEIGHTS_NATIVE.rawValue,
    cpu_path: xlstm_cpu_path.XLSTM_CPU_AUTO.rawValue, load_mode: xlstm_load_mode.XLSTM_LOAD_MMAP.rawValue,
    precision: xlstm_precision.XLSTM_PRECISION_EXACT.rawValue, reserved1: 0, reserved2: 0, reserved3: 0) }

// Port of xlstm/xlstm_large/model.py `xLSTMLargeConfig` as `from_pretrained.load_from_pretrained`
// reads it (xlstm 2.0.6): `xLSTMLargeConfig(**yaml.safe_load(config.yaml))`. Every key must be a field
// of the dataclass (an unknown one is a TypeError there, an error here); the four without a default
// are required; the rest default as below. Derived dimensions as `xlstm_large.model`:
//   qk = int(embedding_dim · qk_dim_factor), v = int(embedding_dim · v_dim_factor)   (mLSTMLayer)
//   ffn = round_up_to_next_multiple_of(embedding_dim · ffn_proj_factor, ffn_round_up_to_multiple_of)
// The kernel names, `mode`, `chunk_size`, `return_last_states` and the kernel/state dtypes only pick
// how the official code computes the same recurrence (this runtime always computes in float32);
// `weight_mode` is ignored by the official loader (it forces "single") and here the tensors present
// decide (see Model.swift).

/// The type of one `xLSTMLargeConfig` field and its default (nil: required).
private enum OfficialField {
    case int(Int?)
    case float(Double)
    case optionalFloat(Double?)
    case bool(Bool)
    case string(String, allowed: [String]?)
}

private let officialLargeFields: [(String, OfficialField)] = [
    ("embedding_dim", .int(nil)),
    ("num_heads", .int(nil)),
    ("num_blocks", .int(nil)),
    ("vocab_size", .int(nil)),
    ("use_bias", .bool(false)),
    ("norm_eps", .float(1e-6)),
    ("norm_reduction_force_float32", .bool(true)),
    ("add_out_norm", .bool(true)),
    ("qk_dim_factor", .float(0.5)),
    ("v_dim_factor", .float(1.0)),
    ("chunkwise_kernel", .string("chunkwise--triton_limit_chunk", allowed: nil)),
    ("sequence_kernel", .string("native_sequence__triton", allowed: nil)),
    ("step_kernel", .string("triton", allowed: nil)),
    ("mode", .string("train", allowed: nil)),
    ("chunk_size", .int(64)),
    ("return_last_states", .bool(false)),
    ("autocast_kernel_dtype", .string("bfloat16", allowed: ["float32", "bfloat16", "float16"])),
    ("eps", .float(1e-6)),
    ("inference_state_dtype", .string("float32", allowed: ["float32", "bfloat16", "float16"])),
    ("ffn_proj_factor", .float(2.6667)),
    ("ffn_round_up_to_multiple_of", .int(64)),
    ("gate_soft_cap", .optionalFloat(15.0)),
    ("output_logit_soft_cap", .optionalFloat(30.0)),
    ("weight_mode", .string("single", allowed: ["single", "fused"])),
]

/// Dimensions above this are refused before any arithmetic on them (no real model comes close).
private let maxDimension = 1 << 31

/// Typed access to the entries of a config.yaml, naming the file and line in every error.
private struct OfficialConfigReader {
    let file: String
    let values: [String: YAMLEntry]

    func fail(_ entry: YAMLEntry, _ why: String) -> XLSTMError {
        XLSTMError(.invalidModel, "\(file):\(entry.line): \(entry.key) \(why)")
    }

    /// A hint for values PyYAML reads as strings although they look like numbers (`1e-6`).
    func numberHint(_ value: YAMLScalar) -> String {
        guard case let .string(text) = value,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || "+-.eE".utf8.contains($0) }) else { return "" }
        return " (YAML 1.1, as PyYAML reads it, takes \(text) for a string: a float needs a dot and a signed "
            + "exponent, e.g. 1.0e-06)"
    }

    func int(_ key: String, default value: Int?, min: Int) throws(XLSTMError) -> Int {
        guard let entry = values[key] else {
            if let value { return value }
            throw XLSTMError(.invalidModel, "\(file): required field '\(key)' is missing")
        }
        guard case let .int(v) = entry.value else {
            throw fail(entry, "must be an integer, got \(entry.value.display)\(numberHint(entry.value))")
        }
        guard v >= min, v <= maxDimension else {
            throw fail(entry, "must be in \(min)...\(maxDimension), got \(v)")
        }
        return v
    }

    func number(_ entry: YAMLEntry) -> Double? {
        switch entry.value {
        case let .int(v): return Double(v)
        case let .float(v): return v
        default: return nil
        }
    }

    func float(_ key: String, default value: Double) throws(XLSTMError) -> Double {
        guard let entry = values[key] else { return value }
        guard let v = number(entry), v.isFinite else {
            throw fail(entry, "must be a finite number, got \(entry.value.display)\(numberHint(entry.value))")
        }
        return v
    }

    func optionalFloat(_ key: String, default value: Double?) throws(XLSTMError) -> Double? {
        guard let entry = values[key] else { return value }
        if entry.value == .null { return nil }
        guard let v = number(entry), v.isFinite else {
            throw fail(entry, "must be a finite number or null, got \(entry.value.display)\(numberHint(entry.value))")
        }
        return v
    }

    func bool(_ key: String, default value: Bool) throws(XLSTMError) -> Bool {
        guard let entry = values[key] else { return value }
        guard case let .bool(v) = entry.value else { throw fail(entry, "must be true or false, got \(entry.value.display)") }
        return v
    }

    func string(_ key: String, default value: String, allowed: [String]?) throws(XLSTMError) -> String {
        guard let entry = values[key] else { return value }
        guard case let .string(v) = entry.value else { throw fail(entry, "must be a string, got \(entry.value.display)") }
        if let allowed, !allowed.contains(v) {
            throw fail(entry, "must be one of \(allowed.joined(separator: ", ")), got \"\(v)\"")
        }
        return v
    }
}

extension ModelConfig {
    /// The `LargeConfig` of an official xlstm_large checkpoint's config.yaml (`entries` from `FlatYAML`).
    /// `fusedWeights` is left false: the checkpoint's tensors decide it (Model.swift).
    static func parseOfficialLarge(_ entries: [YAMLEntry], file: String) throws(XLSTMError) -> LargeConfig {
        var values: [String: YAMLEntry] = [:]
        let known = Set(officialLargeFields.map(\.0))
        for entry in entries {
            guard known.contains(entry.key) else {
                throw XLSTMError(.invalidModel,
                    "\(file):\(entry.line): unknown xLSTMLargeConfig field '\(entry.key)' (the official loader, "
                    + "xLSTMLargeConfig(**yaml.safe_load(...)), refuses it too)")
            }
            values[entry.key] = entry
        }
        let reader = OfficialConfigReader(file: file, values: values)
        // Type-check every field, including those that do not shape the computation.
        for (name, field) in officialLargeFields {
            switch field {
            case let .int(value): _ = try reader.int(name, default: value, min: 1)
            case let .float(value): _ = try reader.float(name, default: value)
            case let .optionalFloat(value): _ = try reader.optionalFloat(name, default: value)
            case let .bool(value): _ = try reader.bool(name, default: value)
            case let .string(value, allowed): _ = try reader.string(name, default: value, allowed: allowed)
            }
        }
        let embeddingDim = try reader.int("embedding_dim", default: nil, min: 1)
        let numHeads = try reader.int("num_heads", default: nil, min: 1)
        func scaled(_ key: String, _ factor: Double) throws(XLSTMError) -> Int {
            let product = Double(embeddingDim) * factor
            guard product >= 1, product < Double(maxDimension) else {
                throw XLSTMError(.invalidModel, "\(file): \(key) = \(factor) gives int(embedding_dim · \(key)) = "
                                 + "\(product.rounded(.towardZero)), outside 1...\(maxDimension)")
            }
            return Int(product)   // Python int(): truncation toward zero
        }
        let qkDim = try scaled("qk_dim_factor", try reader.float("qk_dim_factor", default: 0.5))
        let vDim = try scaled("v_dim_factor", try reader.float("v_dim_factor", default: 1.0))
        guard qkDim % numHeads == 0, vDim % numHeads == 0 else {
            throw XLSTMError(.invalidModel, "\(file): num_heads = \(numHeads) must divide the q/k dimension "
                             + "\(qkDim) and the v dimension \(vDim) (the official model cannot run it either)")
        }
        let ffnProduct = Double(embeddingDim) * (try reader.float("ffn_proj_factor", default: 2.6667))
        guard ffnProduct > 0, ffnProduct < Double(maxDimension) else {
            throw XLSTMError(.invalidModel, "\(file): ffn_proj_factor gives a feed-forward dimension outside 1...\(maxDimension)")
        }
        let ffnDim = roundUpToMultiple(ffnProduct, try reader.int("ffn_round_up_to_multiple_of", default: 64, min: 1))
        guard ffnDim > 0, ffnDim <= maxDimension else {
            throw XLSTMError(.invalidModel, "\(file): the feed-forward dimension \(ffnDim) is outside 1...\(maxDimension)")
        }
        return LargeConfig(
            vocabSize: try reader.int("vocab_size", default: nil, min: 1), embeddingDim: embeddingDim,
            numBlocks: try reader.int("num_blocks", default: nil, min: 1), numHeads: numHeads,
            useBias: try reader.bool("use_bias", default: false),
            normEps: Float(try reader.float("norm_eps", default: 1e-6)),
            cellEps: Float(try reader.float("eps", default: 1e-6)),
            addOutNorm: try reader.bool("add_out_norm", default: true),
            qkDim: qkDim, vDim: vDim, ffnDim: ffnDim,
            gateSoftCap: (try reader.optionalFloat("gate_soft_cap", default: 15.0)).map { Float($0) },
            outputLogitSoftCap: (try reader.optionalFloat("output_logit_soft_cap", default: 30.0)).map { Float($0) },
            tieWordEmbeddings: false, fusedWeights: false)
    }
}

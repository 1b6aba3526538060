// Model configurations of the two supported families, parsed from a model directory's config.json.
// Derived dimensions are recomputed from the primary fields exactly as the official code derives them;
// `_`-prefixed fields written by the official dataclasses are not trusted.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ModelFamily: String, Sendable {
    /// The paper architecture: `xlstm.xLSTMLMModel` (mLSTM and sLSTM blocks).
    case paper = "xlstm_lm"
    /// The xLSTM 7B architecture: `xlstm.xlstm_large` / transformers `xLSTMForCausalLM`.
    case large = "xlstm"
}

/// Feed-forward activation of the paper family's gated feed-forward (`_act_fn_registry`).
public enum Activation: String, Sendable {
    case gelu, relu, reluSquared = "relu^2", sigmoid, swish, selu
}

// MARK: Paper family

public struct PaperMLSTMConfig: Sendable, Equatable {
    public var numHeads: Int
    public var convKernelSize: Int
    public var qkvProjBlockSize: Int
    /// inner (up-projected) dimension: round(proj_factor · embedding_dim) to a multiple, as UpProjConfigMixin.
    public var innerDim: Int
}

public struct PaperSLSTMConfig: Sendable, Equatable {
    public var numHeads: Int
    public var convKernelSize: Int
    public var groupNormWeight: Bool
}

public struct PaperFeedForwardConfig: Sendable, Equatable {
    public var upDim: Int
    public var activation: Activation
    public var bias: Bool
}

public struct PaperConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var embeddingDim: Int
    public var numBlocks: Int
    public var bias: Bool
    public var tieWeights: Bool
    public var addPostBlocksNorm: Bool
    /// true at the indices of sLSTM blocks.
    public var isSLSTM: [Bool]
    public var mlstm: PaperMLSTMConfig?
    public var slstm: PaperSLSTMConfig?
    /// The sLSTM block's feed-forward (nil when the config has `feedforward: null`).
    public var feedForward: PaperFeedForwardConfig?
}

// MARK: 7B family

public struct LargeConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var embeddingDim: Int
    public var numBlocks: Int
    public var numHeads: Int
    public var useBias: Bool
    public var normEps: Float
    public var cellEps: Float
    public var addOutNorm: Bool
    public var qkDim: Int
    public var vDim: Int
    public var ffnDim: Int
    public var gateSoftCap: Float?
    public var outputLogitSoftCap: Float?
    public var tieWordEmbeddings: Bool
    /// "single" (separate q/k/v/o/i/f weights) or "fused".
    public var fusedWeights: Bool
}

public enum ModelConfig: Sendable, Equatable {
    case paper(PaperConfig)
    case large(LargeConfig)

    public var family: ModelFamily {
        switch self {
        case .paper: return .paper
        case .large: return .large
        }
    }

    public var vocabSize: Int {
        switch self {
        case let .paper(c): return c.vocabSize
        case let .large(c): return c.vocabSize
        }
    }

    public var embeddingDim: Int {
        switch self {
        case let .paper(c): return c.embeddingDim
        case let .large(c): return c.embeddingDim
        }
    }

    public var numBlocks: Int {
        switch self {
        case let .paper(c): return c.numBlocks
        case let .large(c): return c.numBlocks
        }
    }
}

// MARK: Parsing

/// Reads typed fields out of a JSON object, naming the file and the field path in every error.
struct ConfigReader {
    let json: JSON
    let path: String   // dotted path inside the file, for messages
    let file: String

    func fail(_ field: String, _ why: String) -> XLSTMError {
        XLSTMError(.invalidModel, "\(file): field '\(path.isEmpty ? field : path + "." + field)' \(why)")
    }

    func has(_ key: String) -> Bool {
        if let v = json[key], !v.isNull { return true }
        return false
    }

    func int(_ key: String, default value: Int? = nil, min: Int = Int.min, max: Int = Int.max) throws(XLSTMError) -> Int {
        guard let raw = json[key], !raw.isNull else {
            if let value { return value }
            throw fail(key, "is missing")
        }
        guard let v = raw.intValue else { throw fail(key, "must be an integer") }
        guard v >= min else { throw fail(key, "must be ≥ \(min) (is \(v))") }
        guard v <= max else { throw fail(key, "must be ≤ \(max) (is \(v))") }
        return v
    }

    /// A projection factor: a number in (0, Limits.maxProjectionFactor].
    func factor(_ key: String, default value: Double) throws(XLSTMError) -> Double {
        let v = try double(key, default: value)
        guard v > 0, v <= Limits.maxProjectionFactor else {
            throw fail(key, "must be in (0, \(Limits.maxProjectionFactor)] (is \(v))")
        }
        return v
    }

    /// A derived width must be in [1, Limits.maxDimension].
    func checkDimension(_ v: Int, _ key: String, _ what: String) throws(XLSTMError) {
        guard v >= 1, v <= Limits.maxDimension else {
            throw fail(key, "gives \(what) \(v), outside [1, \(Limits.maxDimension)]")
        }
    }

    func double(_ key: String, default value: Double? = nil) throws(XLSTMError) -> Double {
        guard let raw = json[key], !raw.isNull else {
            if let value { return value }
            throw fail(key, "is missing")
        }
        guard let v = raw.doubleValue, v.isFinite else { throw fail(key, "must be a number") }
        return v
    }

    /// A number or null (null → nil); absent → `default`.
    func optionalDouble(_ key: String, default value: Double?) throws(XLSTMError) -> Double? {
        guard let raw = json[key] else { return value }
        if raw.isNull { return nil }
        guard let v = raw.doubleValue, v.isFinite else { throw fail(key, "must be a number or null") }
        return v
    }

    func bool(_ key: String, default value: Bool? = nil) throws(XLSTMError) -> Bool {
        guard let raw = json[key], !raw.isNull else {
            if let value { return value }
            throw fail(key, "is missing")
        }
        guard let v = raw.boolValue else { throw fail(key, "must be true or false") }
        return v
    }

    func string(_ key: String, default value: String? = nil) throws(XLSTMError) -> String {
        guard let raw = json[key], !raw.isNull else {
            if let value { return value }
            throw fail(key, "is missing")
        }
        guard let v = raw.stringValue else { throw fail(key, "must be a string") }
        return v
    }

    /// The nested object at `key`, or nil when absent or null.
    func object(_ key: String) throws(XLSTMError) -> ConfigReader? {
        guard let raw = json[key], !raw.isNull else { return nil }
        guard raw.members != nil else { throw fail(key, "must be an object or null") }
        return ConfigReader(json: raw, path: path.isEmpty ? key : path + "." + key, file: file)
    }
}

/// `UpProjConfigMixin._set_proj_up_dim`: proj_factor · dim rounded up (or down) to a multiple.
func upProjectionDim(factor: Double, embeddingDim: Int, roundUp: Bool, multipleOf: Int) -> Int {
    let multiplier = factor * Double(embeddingDim) / Double(multipleOf)
    let rounded = roundUp ? multiplier.rounded(.up) : multiplier.rounded(.down)
    return Int(rounded) * multipleOf
}

/// `xlstm_large.utils.round_up_to_next_multiple_of` on a float: int(((x + m − 1) // m) · m).
func roundUpToMultiple(_ x: Double, _ multiple: Int) -> Int {
    let m = Double(multiple)
    return Int(((x + m - 1) / m).rounded(.down) * m)
}

extension ModelConfig {
    /// Parses a config.json. `file` names it in error messages.
    public static func parse(_ json: JSON, file: String) throws(XLSTMError) -> ModelConfig {
        let root = ConfigReader(json: json, path: "", file: file)
        guard json.members != nil else { throw XLSTMError(.invalidModel, "\(file): not a JSON object") }
        let modelType = try root.string("model_type", default: "")
        switch modelType {
        case ModelFamily.paper.rawValue: return .paper(try parsePaper(root))
        case ModelFamily.large.rawValue: return .large(try parseLarge(root))
        case "":
            throw XLSTMError(.invalidModel, "\(file): no model_type (expected \"xlstm_lm\" for the paper family or \"xlstm\" for xLSTM 7B)")
        default:
            throw XLSTMError(.unsupported, "\(file): model_type \"\(modelType)\" is not an xLSTM model (expected \"xlstm_lm\" or \"xlstm\")")
        }
    }

    static func parsePaper(_ root: ConfigReader) throws(XLSTMError) -> PaperConfig {
        let embeddingDim = try root.int("embedding_dim", default: 128, min: 1, max: Limits.maxDimension)
        let numBlocks = try root.int("num_blocks", default: 1, min: 1, max: Limits.maxBlocks)
        let vocabSize = try root.int("vocab_size", min: 1, max: Limits.maxVocabSize)
        let bias = try root.bool("bias", default: false)
        let mlstmBlock = try root.object("mlstm_block")
        let slstmBlock = try root.object("slstm_block")

        // slstm_at: list of indices or "all"; with no mLSTM block every block is an sLSTM block.
        var isSLSTM = [Bool](repeating: false, count: numBlocks)
        if mlstmBlock == nil {
            isSLSTM = [Bool](repeating: true, count: numBlocks)
        } else if let at = root.json["slstm_at"], !at.isNull {
            if at.stringValue == "all" {
                isSLSTM = [Bool](repeating: true, count: numBlocks)
            } else if let items = at.arrayValue {
                for item in items {
                    guard let index = item.intValue, index >= 0, index < numBlocks else {
                        throw root.fail("slstm_at", "has an index outside 0..<\(numBlocks)")
                    }
                    isSLSTM[index] = true
                }
            } else {
                throw root.fail("slstm_at", "must be a list of block indices or \"all\"")
            }
        }
        if isSLSTM.contains(true) && slstmBlock == nil {
            throw root.fail("slstm_block", "is null but the block map places sLSTM blocks")
        }

        var mlstm: PaperMLSTMConfig?
        if let block = mlstmBlock, isSLSTM.contains(false) {
            guard let layer = try block.object("mlstm") else { throw block.fail("mlstm", "is missing") }
            let numHeads = try layer.int("num_heads", default: 4, min: 1, max: Limits.maxHeads)
            let factor = try layer.factor("proj_factor", default: 2.0)
            let inner = upProjectionDim(
                factor: factor, embeddingDim: embeddingDim,
                roundUp: try layer.bool("round_proj_up_dim_up", default: true),
                multipleOf: try layer.int("round_proj_up_to_multiple_of", default: 64, min: 1, max: Limits.maxMultiple))
            try layer.checkDimension(inner, "proj_factor", "an inner dimension")
            let blockSize = try layer.int("qkv_proj_blocksize", default: 4, min: 1, max: Limits.maxMultiple)
            guard inner > 0, inner % numHeads == 0 else {
                throw layer.fail("num_heads", "must divide the inner dimension \(inner)")
            }
            guard inner % blockSize == 0 else {
                throw layer.fail("qkv_proj_blocksize", "must divide the inner dimension \(inner)")
            }
            mlstm = PaperMLSTMConfig(numHeads: numHeads,
                                     convKernelSize: try layer.int("conv1d_kernel_size", default: 4, min: 0,
                                                                   max: Limits.maxConvKernel),
                                     qkvProjBlockSize: blockSize, innerDim: inner)
        }

        var slstm: PaperSLSTMConfig?
        var feedForward: PaperFeedForwardConfig?
        if let block = slstmBlock, isSLSTM.contains(true) {
            guard let layer = try block.object("slstm") else { throw block.fail("slstm", "is missing") }
            let numHeads = try layer.int("num_heads", default: 4, min: 1, max: Limits.maxHeads)
            guard embeddingDim % numHeads == 0 else {
                throw layer.fail("num_heads", "must divide embedding_dim \(embeddingDim)")
            }
            let function = try layer.string("function", default: "slstm")
            guard function == "slstm" else {
                throw XLSTMError(.unsupported, "\(root.file): sLSTM function \"\(function)\" is not supported (only \"slstm\")")
            }
            slstm = PaperSLSTMConfig(numHeads: numHeads,
                                     convKernelSize: try layer.int("conv1d_kernel_size", default: 4, min: 0,
                                                                   max: Limits.maxConvKernel),
                                     groupNormWeight: try layer.bool("group_norm_weight", default: true))
            if let ff = try block.object("feedforward") {
                let kind = try ff.string("ff_type", default: "ffn_gated")
                guard kind == "ffn_gated" else {
                    throw XLSTMError(.unsupported, "\(root.file): feedforward ff_type \"\(kind)\" is not supported")
                }
                let actName = try ff.string("act_fn", default: "gelu")
                guard let activation = Activation(rawValue: actName) else {
                    throw XLSTMError(.unsupported, "\(root.file): feedforward act_fn \"\(actName)\" is not supported")
                }
                let upDim = upProjectionDim(
                    factor: try ff.factor("proj_factor", default: 1.3), embeddingDim: embeddingDim,
                    roundUp: try ff.bool("round_proj_up_dim_up", default: true),
                    multipleOf: try ff.int("round_proj_up_to_multiple_of", default: 64, min: 1, max: Limits.maxMultiple))
                guard upDim > 0 else { throw ff.fail("proj_factor", "gives an empty up-projection") }
                try ff.checkDimension(upDim, "proj_factor", "an up-projection")
                feedForward = PaperFeedForwardConfig(upDim: upDim, activation: activation,
                                                     bias: try ff.bool("bias", default: false))
            }
        }

        return PaperConfig(vocabSize: vocabSize, embeddingDim: embeddingDim, numBlocks: numBlocks, bias: bias,
                           tieWeights: try root.bool("tie_weights", default: false),
                           addPostBlocksNorm: try root.bool("add_post_blocks_norm", default: true),
                           isSLSTM: isSLSTM, mlstm: mlstm, slstm: slstm, feedForward: feedForward)
    }

    static func parseLarge(_ root: ConfigReader) throws(XLSTMError) -> LargeConfig {
        // HF: embedding_dim falls back to hidden_size; num_blocks to num_hidden_layers.
        let embeddingDim = root.has("embedding_dim")
            ? try root.int("embedding_dim", min: 1, max: Limits.maxDimension)
            : try root.int("hidden_size", min: 1, max: Limits.maxDimension)
        let numBlocks = root.has("num_blocks")
            ? try root.int("num_blocks", min: 1, max: Limits.maxBlocks)
            : try root.int("num_hidden_layers", min: 1, max: Limits.maxBlocks)
        let numHeads = try root.int("num_heads", default: 8, min: 1, max: Limits.maxHeads)
        // xlstm_large.mLSTMLayer: int(embedding_dim · factor).
        let qkDim = Int(Double(embeddingDim) * (try root.factor("qk_dim_factor", default: 0.5)))
        let vDim = Int(Double(embeddingDim) * (try root.factor("v_dim_factor", default: 1.0)))
        try root.checkDimension(qkDim, "qk_dim_factor", "a q/k dimension")
        try root.checkDimension(vDim, "v_dim_factor", "a v dimension")
        guard qkDim > 0, vDim > 0, qkDim % numHeads == 0, vDim % numHeads == 0 else {
            throw root.fail("num_heads", "must divide the q/k dimension \(qkDim) and the v dimension \(vDim)")
        }
        let ffnDim = roundUpToMultiple(Double(embeddingDim) * (try root.factor("ffn_proj_factor", default: 2.6667)),
                                       try root.int("ffn_round_up_to_multiple_of", default: 64, min: 1,
                                                    max: Limits.maxMultiple))
        guard ffnDim > 0 else { throw root.fail("ffn_proj_factor", "gives an empty feed-forward") }
        try root.checkDimension(ffnDim, "ffn_proj_factor", "a feed-forward dimension")
        let weightMode = try root.string("weight_mode", default: "single")
        guard weightMode == "single" || weightMode == "fused" else {
            throw root.fail("weight_mode", "must be \"single\" or \"fused\"")
        }
        return LargeConfig(
            vocabSize: try root.int("vocab_size", min: 1, max: Limits.maxVocabSize), embeddingDim: embeddingDim, numBlocks: numBlocks,
            numHeads: numHeads, useBias: try root.bool("use_bias", default: false),
            normEps: Float(try root.double("norm_eps", default: 1e-6)),
            cellEps: Float(try root.double("eps", default: 1e-6)),
            addOutNorm: try root.bool("add_out_norm", default: true),
            qkDim: qkDim, vDim: vDim, ffnDim: ffnDim,
            gateSoftCap: (try root.optionalDouble("gate_soft_cap", default: 15.0)).map { Float($0) },
            outputLogitSoftCap: (try root.optionalDouble("output_logit_soft_cap", default: 30.0)).map { Float($0) },
            tieWordEmbeddings: try root.bool("tie_word_embeddings", default: false),
            fusedWeights: weightMode == "fused")
    }
}

extension ModelConfig {
    /// A stable text form of every field that shapes the computation; part of the model fingerprint
    /// (state blob format 1), so its spelling must not change within a format version.
    public var canonicalDescription: String {
        switch self {
        case let .paper(c):
            var parts = ["family=xlstm_lm", "vocab=\(c.vocabSize)", "embedding=\(c.embeddingDim)",
                         "blocks=\(c.isSLSTM.map { $0 ? "s" : "m" }.joined())", "bias=\(c.bias)",
                         "tie=\(c.tieWeights)", "post_norm=\(c.addPostBlocksNorm)"]
            if let m = c.mlstm {
                parts.append("mlstm=\(m.numHeads),\(m.convKernelSize),\(m.qkvProjBlockSize),\(m.innerDim)")
            }
            if let s = c.slstm {
                parts.append("slstm=\(s.numHeads),\(s.convKernelSize),\(s.groupNormWeight)")
            }
            if let f = c.feedForward {
                parts.append("ffn=\(f.upDim),\(f.activation.rawValue),\(f.bias)")
            }
            return parts.joined(separator: ";")
        case let .large(c):
            return ["family=xlstm", "vocab=\(c.vocabSize)", "embedding=\(c.embeddingDim)", "blocks=\(c.numBlocks)",
                    "heads=\(c.numHeads)", "bias=\(c.useBias)", "norm_eps=\(c.normEps.bitPattern)",
                    "eps=\(c.cellEps.bitPattern)", "out_norm=\(c.addOutNorm)", "qk=\(c.qkDim)", "v=\(c.vDim)",
                    "ffn=\(c.ffnDim)", "gate_cap=\(c.gateSoftCap?.bitPattern ?? 0)",
                    "logit_cap=\(c.outputLogitSoftCap?.bitPattern ?? 0)", "tie=\(c.tieWordEmbeddings)",
                    "fused=\(c.fusedWeights)"].joined(separator: ";")
        }
    }
}

extension ModelConfig {
    /// config.json's `quantization_config` (HF convention; the layout is BlockQuant.swift's):
    /// `{"quant_method": "xlstm", "format": "q8_0" | "q4_0", "bits": 8 | 4, "group_size": 32,
    /// "scale_dtype": "float16"}`. Absent or null: nil (no quantized tensors allowed). `bits`,
    /// `group_size` and `scale_dtype` may be left out; when present they must agree with the format.
    public static func parseQuantization(_ json: JSON, file: String) throws(XLSTMError) -> QuantFormat? {
        let root = ConfigReader(json: json, path: "", file: file)
        guard let config = try root.object("quantization_config") else { return nil }
        let method = try config.string("quant_method")
        guard method == "xlstm" else {
            throw XLSTMError(.unsupported, "\(file): quantization_config.quant_method \"\(method)\" is not supported "
                             + "(only \"xlstm\": the q8_0 / q4_0 block formats)")
        }
        let name = try config.string("format")
        guard let format = QuantFormat(rawValue: name) else {
            throw XLSTMError(.unsupported, "\(file): quantization_config.format \"\(name)\" is not supported "
                             + "(\(QuantFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if config.has("bits") {
            let bits = try config.int("bits")
            guard bits == format.bits else {
                throw config.fail("bits", "is \(bits), but format \(format.rawValue) has \(format.bits)-bit codes")
            }
        }
        if config.has("group_size") {
            let group = try config.int("group_size")
            guard group == QuantFormat.blockSize else {
                throw XLSTMError(.unsupported, "\(file): quantization_config.group_size \(group) is not supported "
                                 + "(\(format.rawValue) has blocks of \(QuantFormat.blockSize))")
            }
        }
        if config.has("scale_dtype") {
            let scale = try config.string("scale_dtype")
            guard scale == "float16" else {
                throw XLSTMError(.unsupported, "\(file): quantization_config.scale_dtype \"\(scale)\" is not supported (float16)")
            }
        }
        return format
    }
}

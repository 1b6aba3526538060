// A loaded model: immutable config and weights (views into the mmap), shareable across threads.
// Sessions (Session.swift) hold the per-sequence state.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The normalisation applied to the last hidden state before the lm_head.
enum FinalNorm: @unchecked Sendable {
    case none
    /// Paper family: `LayerNorm` with residual weight (stored here as 1 + w), eps 1e-5.
    case layer(weight: UnsafePointer<Float>)
    /// 7B family: `RMSNorm`.
    case rms(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, eps: Float)

    func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .none: return
        case let .layer(weight): layerNorm(x, count: count, weight: weight, bias: nil, eps: 1e-5, into: x)
        case let .rms(weight, bias, eps): rmsNorm(x, count: count, weight: weight, bias: bias, eps: eps, into: x)
        }
    }
}

/// The on-disk layout a model directory was read from (README "Model formats").
public enum CheckpointLayout: Sendable, Equatable {
    /// config.json `model_type: "xlstm_lm"` (tools/export_paper_model.py).
    case paper
    /// transformers' `xLSTMForCausalLM.save_pretrained`: config.json `model_type: "xlstm"`.
    case transformers
    /// The official `xlstm_large` checkpoint: config.yaml + model.safetensors / model_{n}.safetensors.
    case xlstmLarge
}

public final class Model: @unchecked Sendable {
    public let config: ModelConfig
    public let directory: String
    public let layout: CheckpointLayout
    public let weights: WeightStore
    /// The kernel table (ISA path) every product of this model runs.
    public let kernels: KernelSet
    public var cpuPath: CPUPath { kernels.path }
    /// The precision the model was loaded with (`KernelSet.int8MatVec` says whether it changed a kernel).
    public var precision: Precision { kernels.precision }

    let embedding: EmbeddingTable        // [V, E], row-major
    let blocks: [any RecurrentBlock]
    /// Offset of each block's state within a session's state buffer (floats).
    let stateOffsets: [Int]
    let finalNorm: FinalNorm
    let lmHead: Matrix                   // [V, E]
    let logitSoftCap: Float?

    /// Floats of recurrent state per session (fixed; independent of tokens fed).
    public let stateCount: Int
    /// Identifies the model's architecture and tensor layout (not its weight values): a hash of
    /// `config.canonicalDescription`, the state size, the quantization format (if any) and every
    /// tensor's name, dtype and shape.
    public let fingerprint: UInt64
    /// Floats of step scratch (per calling thread, shared by all sessions: CallerScratch.swift).
    let scratchCount: Int
    /// What a step's kernels may ask of a thread's own buffers (`kernelScratchNeed(rows: 1, …)`).
    let stepKernelNeed: ThreadScratch.Need
    /// The worker threads every session and batch call of this model shares (nil when
    /// single-threaded); see ThreadPool.swift for what runs concurrently.
    public let pool: ThreadPool?
    /// Threads the kernels of one feed use, the calling one included.
    public var threads: Int { pool?.parts ?? 1 }

    public var family: ModelFamily { config.family }
    public var vocabSize: Int { config.vocabSize }
    public var embeddingDim: Int { config.embeddingDim }
    public var blockKinds: [BlockKind] { blocks.map(\.kind) }
    public var parameterCount: Int { weights.parameterCount }
    public var stateBytes: Int { stateCount * MemoryLayout<Float>.size }
    /// Bytes of weights one step reads: every matrix's panels once (the lm_head included; the
    /// embedding row is negligible).
    public let stepWeightBytes: Int

    /// Loads a model directory (see README "Model formats"). Nothing is half-loaded: on error
    /// every mapping made so far is released.
    ///
    /// `cpuPath` forces the kernels of one ISA path (default: `XLSTM_CPU`, else the fastest this CPU
    /// runs); `loadMode` says how the files are brought into memory; `threads` (≥ 1, the caller
    /// included) sizes the model's thread pool, which all its sessions share; `precision` picks the
    /// step's quantized matvecs (`Precision`).
    public init(directory: String, policy: WeightPolicy = .native, cpuPath: CPUPath? = nil,
                loadMode: LoadMode = .map, threads: Int = 1, precision: Precision = .exact) throws(XLSTMError) {
        kernels = try KernelSet.select(cpuPath, precision: precision)
        guard isDirectory(directory) else {
            throw XLSTMError(.io, fileExists(directory) ? "\(directory): not a directory (a model is a directory)"
                                                          : "\(directory): no such model directory")
        }
        self.directory = directory
        // Started first: the load repacks the weights on all its threads.
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        let configPath = joinPath(directory, "config.json")
        let yamlPath = joinPath(directory, "config.yaml")
        let config: ModelConfig
        let store: WeightStore
        let officialLayout: Bool
        if fileExists(configPath) {
            let configBytes = try readSmallFile(configPath, limit: Limits.maxConfigBytes)
            let json = try JSON.parse(configBytes, context: configPath)
            config = try ModelConfig.parse(json, file: configPath)
            let quantization = try ModelConfig.parseQuantization(json, file: configPath)
            store = try WeightStore(files: try Model.openSafeTensors(directory, mode: loadMode), policy: policy,
                                    kernels: kernels, quantization: quantization, pool: pool)
            officialLayout = false
        } else if fileExists(yamlPath) {
            // An official xlstm_large checkpoint (xlstm.xlstm_large.from_pretrained): config.yaml +
            // model.safetensors or model_0.safetensors, model_1.safetensors, … (a later file wins a key).
            let entries = try FlatYAML.parse(try readSmallFile(yamlPath, limit: 1 << 20), file: yamlPath)
            var large = try ModelConfig.parseOfficialLarge(entries, file: yamlPath)
            store = try WeightStore(files: try Model.openOfficialSafeTensors(directory, mode: loadMode), policy: policy,
                                    duplicates: .laterFileWins, kernels: kernels, pool: pool)
            // The official loader ignores weight_mode (it builds "single" modules); fused checkpoints
            // (utils.convert_single_weights_to_fused_weights) are recognised by their keys.
            large.fusedWeights = store.contains("backbone.blocks.0.mlstm_layer.qkv_opreact.weight")
            config = .large(large)
            officialLayout = true
        } else {
            throw XLSTMError(.invalidModel,
                "\(directory): no config.json (nor the config.yaml of an official xlstm_large checkpoint)")
        }
        self.config = config
        self.weights = store
        layout = officialLayout ? .xlstmLarge : config.family == .paper ? .paper : .transformers
        try Model.checkBlocksPresent(config, store, configPath: officialLayout ? yamlPath : configPath)

        var blocks: [any RecurrentBlock] = []
        let E = config.embeddingDim, V = config.vocabSize
        switch config {
        case let .paper(c):
            embedding = try store.embeddingTable("token_embedding.weight", rows: V, cols: E)
            for index in 0..<c.numBlocks {
                let loader = WeightLoader(store: store, prefix: "xlstm_block_stack.blocks.\(index).")
                if c.isSLSTM[index] {
                    blocks.append(try SLSTMBlock(config: c.slstm!, feedForward: c.feedForward, embeddingDim: E,
                                                 weights: loader))
                } else {
                    blocks.append(try PaperMLSTMBlock(config: c.mlstm!, embeddingDim: E, bias: c.bias, weights: loader))
                }
            }
            let top = WeightLoader(store: store, prefix: "")
            finalNorm = c.addPostBlocksNorm
                ? .layer(weight: try top.residualNormWeight("xlstm_block_stack.post_blocks_norm.weight", E)) : .none
            lmHead = try store.matrix(c.tieWeights ? "token_embedding.weight" : "lm_head.weight", rows: V, cols: E)
            logitSoftCap = nil
        case let .large(c):
            // transformers layout (backbone.embeddings) or the official xlstm_large keys (embedding).
            let embeddingKey = officialLayout
                || !store.contains("backbone.embeddings.weight") && store.contains("embedding.weight")
                ? "embedding.weight" : "backbone.embeddings.weight"
            embedding = try store.embeddingTable(embeddingKey, rows: V, cols: E)
            for index in 0..<c.numBlocks {
                blocks.append(try LargeMLSTMBlock(config: c, weights: WeightLoader(store: store,
                                                                                  prefix: "backbone.blocks.\(index).")))
            }
            // transformers' xLSTMModel always applies out_norm (RMSNorm, no bias); xlstm_large only with
            // add_out_norm, with a bias when use_bias. Apply it when the checkpoint has it; require it
            // (and, in the official layout, its bias) when the config asks for it.
            if store.contains("backbone.out_norm.weight") || c.addOutNorm {
                let bias = officialLayout && c.useBias
                    ? try store.tensor("backbone.out_norm.bias", shape: [E])
                    : try store.optionalTensor("backbone.out_norm.bias", shape: [E])
                finalNorm = .rms(weight: try store.tensor("backbone.out_norm.weight", shape: [E]).data,
                                 bias: bias?.data, eps: c.normEps)
            } else {
                finalNorm = .none
            }
            let tied = c.tieWordEmbeddings && !store.contains("lm_head.weight")
            lmHead = try store.matrix(tied ? embeddingKey : "lm_head.weight", rows: V, cols: E)
            logitSoftCap = c.outputLogitSoftCap
        }
        self.blocks = blocks
        if officialLayout, let extra = store.unusedTensorNames.first {
            // load_from_pretrained's strict load_state_dict refuses tensors the config does not describe.
            let count = store.unusedTensorNames.count
            throw XLSTMError(.invalidModel,
                "\(directory): tensor '\(extra)'\(count > 1 ? " (and \(count - 1) more)" : "") is not part of the "
                + "model config.yaml describes (the official loader's strict load_state_dict refuses it too)")
        }
        stepWeightBytes = store.matrixBytes
        var offsets: [Int] = []
        var total = 0
        for block in blocks {
            offsets.append(total)
            total += block.stateCount
        }
        stateOffsets = offsets
        stateCount = total
        let scratch = blocks.map(\.scratchCount).max() ?? 0
        let prefillScratch = blocks.map { $0.prefillScratchCount(tokens: 256, chunkSize: 64) }.max() ?? 0
        for (floats, what) in [(total, "recurrent state"), (scratch, "step scratch"), (prefillScratch, "prefill scratch")]
        where floats > Limits.maxSessionFloats {
            throw XLSTMError(.invalidModel,
                             "\(configPath): each session would need \(floats) floats of \(what) (limit \(Limits.maxSessionFloats))")
        }
        var text = config.canonicalDescription + ";state=\(total)"
        // A quantized model's tensors already differ in dtype (I8 / U8) and names (`_scale`); the
        // format is named as well. Unquantized models keep the fingerprint of before.
        if let format = store.quantization { text += ";quantization=\(format.rawValue)" }
        for name in store.tensorNames.sorted() {
            text += ";\(name):\(store.dtype(of: name)!.rawValue):\(store.shape(of: name)!)"
        }
        fingerprint = fnv1a64(Array(text.utf8))
        scratchCount = scratch
        stepKernelNeed = Model.kernelScratchNeed(rows: 1, batch: false, chunkSize: 1, blocks: blocks,
                                                 shapes: store.matrixShapes, kernels: kernels)
        self.pool = pool
    }

    /// The block count of config.json against what the files hold: tensors of the last block must be
    /// present (checked before any per-block work or allocation; each block's own tensors are
    /// checked when it is built).
    static func checkBlocksPresent(_ config: ModelConfig, _ store: WeightStore, configPath: String) throws(XLSTMError) {
        let prefix: String
        switch config {
        case .paper: prefix = "xlstm_block_stack.blocks."
        case .large: prefix = "backbone.blocks."
        }
        var highest = -1
        for name in store.tensorNames where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]) else { continue }
            highest = max(highest, index)
        }
        let count = config.numBlocks
        guard highest >= count - 1 else {
            let held = highest < 0 ? "no block tensors (\(prefix)N.…)" : "blocks 0…\(highest)"
            throw XLSTMError(.invalidModel, "\(configPath): num_blocks is \(count) but the safetensors files hold \(held)")
        }
    }

    /// model.safetensors, or the shards listed by model.safetensors.index.json.
    static func openSafeTensors(_ directory: String, mode: LoadMode = .map) throws(XLSTMError) -> [SafeTensorsFile] {
        let single = joinPath(directory, "model.safetensors")
        let indexPath = joinPath(directory, "model.safetensors.index.json")
        if fileExists(indexPath) {
            let bytes = try readSmallFile(indexPath, limit: Limits.maxIndexBytes)
            let index = try JSON.parse(bytes, context: indexPath)
            guard let map = index["weight_map"]?.members else {
                throw XLSTMError(.invalidModel, "\(indexPath): no weight_map object")
            }
            var names = Set<String>()
            for (tensor, file) in map {
                guard let name = file.stringValue, !name.isEmpty, !name.contains("/"), name != ".." else {
                    throw XLSTMError(.invalidModel, "\(indexPath): tensor '\(tensor)' maps to an invalid file name")
                }
                names.insert(name)
                guard names.count <= Limits.maxShards else {
                    throw XLSTMError(.invalidModel, "\(indexPath): names more than \(Limits.maxShards) shard files")
                }
            }
            guard !names.isEmpty else { throw XLSTMError(.invalidModel, "\(indexPath): weight_map is empty") }
            var files: [SafeTensorsFile] = []
            var held: [String: Set<String>] = [:]   // shard file name → tensor names in it
            for name in names.sorted() {
                let shard = try SafeTensorsFile(path: joinPath(directory, name), mode: mode)
                files.append(shard)
                held[name] = Set(shard.entries.map(\.name))
            }
            // Every tensor the index names must be in the file it names.
            for (tensor, file) in map {
                let name = file.stringValue!
                guard held[name]?.contains(tensor) == true else {
                    throw XLSTMError(.invalidModel, "\(joinPath(directory, name)): missing tensor '\(tensor)' listed in \(indexPath)")
                }
            }
            return files
        }
        if fileExists(single) { return [try SafeTensorsFile(path: single, mode: mode)] }
        throw XLSTMError(.invalidModel, "\(directory): no model.safetensors or model.safetensors.index.json")
    }

    /// An official xlstm_large checkpoint's weights, found as `load_from_pretrained` finds them:
    /// model.safetensors if it exists, otherwise model_0.safetensors, model_1.safetensors, … up to the
    /// first missing number (files after a gap are not read).
    static func openOfficialSafeTensors(_ directory: String, mode: LoadMode = .map) throws(XLSTMError) -> [SafeTensorsFile] {
        let single = joinPath(directory, "model.safetensors")
        if fileExists(single) { return [try SafeTensorsFile(path: single, mode: mode)] }
        var files: [SafeTensorsFile] = []
        while fileExists(joinPath(directory, "model_\(files.count).safetensors")) {
            guard files.count < Limits.maxShards else {
                throw XLSTMError(.invalidModel, "\(directory): more than \(Limits.maxShards) model_N.safetensors files")
            }
            files.append(try SafeTensorsFile(path: joinPath(directory, "model_\(files.count).safetensors"), mode: mode))
        }
        guard !files.isEmpty else {
            throw XLSTMError(.invalidModel, "\(directory): config.yaml but no model.safetensors or model_0.safetensors")
        }
        return files
    }

    /// Floats of prefill scratch for a window of `tokens` tokens (the largest block's).
    func prefillScratchCount(tokens: Int, chunkSize: Int) -> Int {
        var largest = 0   // a loop, not map + max: called on every prefill, it must not allocate
        for block in blocks { largest = max(largest, block.prefillScratchCount(tokens: tokens, chunkSize: chunkSize)) }
        return largest
    }

    /// Bytes of scratch a thread that feeds this model holds (CallerScratch), shared by every session
    /// it feeds: a step; a prefill window of `window` tokens (default 256, chunk 64).
    public var stepScratchBytes: Int { (embeddingDim + scratchCount) * 4 }
    public func prefillScratchBytes(window: Int = 256, chunkSize: Int = 64) -> Int {
        (window * embeddingDim + prefillScratchCount(tokens: window, chunkSize: chunkSize)) * 4
    }

    /// Embedding row of `token` → x [E].
    func embed(_ token: Int, into x: UnsafeMutablePointer<Float>) {
        embedding.copyRow(token, into: x)
    }

    /// `computeLogits` for `count` rows: hidden [count, E] (normalised in place) → logits [count, V].
    func computeLogits(_ hidden: UnsafeMutablePointer<Float>, count: Int, into logits: UnsafeMutablePointer<Float>,
                       pool: ThreadPool?) {
        for t in 0..<count { finalNorm.apply(hidden + t * embeddingDim, count: embeddingDim) }
        lmHead.applyBatch(hidden, xStride: embeddingDim, count: count, into: logits, yStride: vocabSize, pool: pool)
        if let cap = logitSoftCap {
            kernels.softCap(logits, count * vocabSize, cap)
        }
    }

    /// Final norm, lm_head and soft cap: hidden [E] (normalised in place) → logits [V].
    func computeLogits(_ hidden: UnsafeMutablePointer<Float>, into logits: UnsafeMutablePointer<Float>,
                       pool: ThreadPool?) {
        finalNorm.apply(hidden, count: embeddingDim)
        lmHead.apply(hidden, into: logits, pool: pool)
        if let cap = logitSoftCap {
            kernels.softCap(logits, vocabSize, cap)
        }
    }
}

/// FNV-1a, 64-bit.
func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}

// Port of xlstm/xlstm_large/model.py `mLSTMBlock` / `mLSTMLayer` / `FeedForward` and
// mlstm_kernels/torch/recurrent/native_step.py (xlstm 2.0.6, mlstm-kernels 2.0.6) — also what
// transformers' `xLSTMForCausalLM` runs — in step form.
//
//   h  = RMSNorm(x)
//   q, k, v, õ = W h;  ĩ = cap·tanh((W_i h + b_i)/cap);  f̃ likewise   (gate_soft_cap)
//   cell per head (q scaled by DHQK^−½; see `mLSTMCellStep`), state starts at C = 0, n = 0, m = 0
//   x ← x + out_proj(σ(õ) ⊙ MultiHeadLayerNorm(h_cell))
//   x ← x + proj_down(silu(W_gate h') ⊙ W_up h'),  h' = RMSNorm(x)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct LargeMLSTMBlock: RecurrentBlock, @unchecked Sendable {
    let config: LargeConfig
    let qkHeadDim: Int
    let vHeadDim: Int

    let norm: UnsafePointer<Float>          // [E]
    let normBias: UnsafePointer<Float>?     // [E]
    /// q | k | v | õ | ĩ | f̃ stacked: [2QK + 2V + 2NH, E] (+ bias; the gates' always present).
    let projections: Linear
    let headNorm: UnsafePointer<Float>      // [V]
    let headNormBias: UnsafePointer<Float>? // [V]
    let outProjection: Linear               // [E, V]
    let ffnNorm: UnsafePointer<Float>       // [E]
    let ffnNormBias: UnsafePointer<Float>?  // [E]
    /// proj_up_gate | proj_up stacked: [2P, E].
    let ffnUp: Linear
    let ffnDown: Linear                     // [E, P]

    var kind: BlockKind { .mLSTM }

    init(config: LargeConfig, weights w: WeightLoader) throws(XLSTMError) {
        let E = config.embeddingDim, QK = config.qkDim, V = config.vDim, NH = config.numHeads, P = config.ffnDim
        let bias = config.useBias
        self.config = config
        qkHeadDim = QK / NH
        vHeadDim = V / NH
        norm = try w.tensor("norm_mlstm.weight", [E]).data
        normBias = try w.bias("norm_mlstm.bias", E, present: bias)
        let layer = w.scoped("mlstm_layer.")
        if config.fusedWeights {
            projections = try layer.fusedLinear([
                .init(name: "qkv_opreact", rows: 2 * QK + 2 * V, bias: bias),
                .init(name: "ifgate_preact", rows: 2 * NH, bias: true),
            ], in: E)
        } else {
            projections = try layer.fusedLinear([
                .init(name: "q", rows: QK, bias: bias), .init(name: "k", rows: QK, bias: bias),
                .init(name: "v", rows: V, bias: bias), .init(name: "ogate_preact", rows: V, bias: bias),
                .init(name: "igate_preact", rows: NH, bias: true), .init(name: "fgate_preact", rows: NH, bias: true),
            ], in: E)
        }
        headNorm = try layer.tensor("multihead_norm.weight", [V]).data
        headNormBias = try layer.bias("multihead_norm.bias", V, present: bias)
        outProjection = try layer.linear("out_proj", out: E, in: V, bias: bias)
        ffnNorm = try w.tensor("norm_ffn.weight", [E]).data
        ffnNormBias = try w.bias("norm_ffn.bias", E, present: bias)
        if config.fusedWeights {
            ffnUp = try w.fusedLinear([.init(name: "ffn.proj_up_gate_z", rows: 2 * P, bias: bias)], in: E)
        } else {
            ffnUp = try w.fusedLinear([.init(name: "ffn.proj_up_gate", rows: P, bias: bias),
                                       .init(name: "ffn.proj_up", rows: P, bias: bias)], in: E)
        }
        ffnDown = try w.linear("ffn.proj_down", out: E, in: P, bias: bias)
    }

    // State layout: C [NH, DHQK, DHV] | n [NH, DHQK] | m [NH]
    var stateCount: Int { config.numHeads * (qkHeadDim * vHeadDim + qkHeadDim + 1) }

    // Scratch: normed [E] | q [QK] | k [QK] | v [V] | o [V] | gates [2NH] | h [V] | out [E] | ffn [2P]
    var scratchCount: Int {
        2 * config.embeddingDim + 2 * config.qkDim + 3 * config.vDim + 2 * config.numHeads + 2 * config.ffnDim
    }

    func resetState(_ state: UnsafeMutablePointer<Float>) {
        state.update(repeating: 0, count: stateCount)
    }

    func step(_ x: UnsafeMutablePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
              pool: ThreadPool?) {
        let E = config.embeddingDim, QK = config.qkDim, V = config.vDim, NH = config.numHeads, P = config.ffnDim
        let DQK = qkHeadDim, DV = vHeadDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(E)
        let q = carve.take(QK), k = carve.take(QK), v = carve.take(V), o = carve.take(V)
        let gates = carve.take(2 * NH)
        let h = carve.take(V)
        let out = carve.take(E)
        let ffn = carve.take(2 * P)

        rmsNorm(x, count: E, weight: norm, bias: normBias, eps: config.normEps, into: normed)
        projections.apply(normed, into: q, pool: pool)   // q, k, v, o, gates: contiguous in scratch
        if let cap = config.gateSoftCap {
            for i in 0..<(2 * NH) { gates[i] = softCap(gates[i], cap) }
        }

        let queryScale = Float(1 / Double(DQK).squareRoot())
        withUnsafePointer(to: state) { states in
            forEachStepCell(StepCells(q: q, k: k, v: v, rowStride: 0, gates: gates, gateStride: 0, h: h, hStride: 0,
                                      states: states, stateOffset: 0, heads: NH, qkDim: DQK, vDim: DV, keyScale: 1,
                                      queryScale: queryScale, eps: config.cellEps, kernels: projections.weight.kernels),
                            pool: pool)
        }
        multiHeadLayerNorm(h, heads: NH, headDim: DV, weight: headNorm, bias: headNormBias, eps: config.normEps)
        projections.weight.kernels.multiplyBySigmoid(h, o, V)
        outProjection.apply(h, into: out, pool: pool)
        add(out, into: x, count: E)

        rmsNorm(x, count: E, weight: ffnNorm, bias: ffnNormBias, eps: config.normEps, into: normed)
        let gate = ffn, up = ffn + P
        ffnUp.apply(normed, into: ffn, pool: pool)        // gate | up
        projections.weight.kernels.siluProduct(gate, up, P)
        ffnDown.apply(gate, into: out, pool: pool)
        add(out, into: x, count: E)
    }
}

extension LargeMLSTMBlock {
    // Prefill scratch for T tokens: normed [T,E] | projections [T,R] (R = 2QK+2V+2NH: q k v o gates per
    //                               row) | h [T,V] | out [T,E] | ffn [T,2P]; the cell's scratch is per thread
    func cellScratchCount(chunkSize: Int) -> Int { mLSTMChunkScratchCount(chunkSize: chunkSize, qkDim: qkHeadDim) }

    func prefillScratchCount(tokens T: Int, chunkSize: Int) -> Int {
        let R = 2 * config.qkDim + 2 * config.vDim + 2 * config.numHeads
        return T * (2 * config.embeddingDim + R + config.vDim + 2 * config.ffnDim)
    }

    func prefill(_ x: UnsafeMutablePointer<Float>, spans: Spans, scratch: UnsafeMutablePointer<Float>,
                 pool: ThreadPool?, chunkSize: Int) {
        let T = spans.rows
        let E = config.embeddingDim, QK = config.qkDim, V = config.vDim, NH = config.numHeads, P = config.ffnDim
        let DQK = qkHeadDim, DV = vHeadDim
        let R = 2 * QK + 2 * V + 2 * NH
        var carve = ScratchCarver(scratch)
        let normed = carve.take(T * E)
        let projected = carve.take(T * R)
        let h = carve.take(T * V)
        let out = carve.take(T * E)
        let ffn = carve.take(T * 2 * P)
        let q = projected, k = projected + QK, v = projected + 2 * QK, o = projected + 2 * QK + V
        let gates = projected + 2 * QK + 2 * V

        // The row-wise work between the GEMMs is spread over the pool too (rows are independent).
        forEachRow(T, pool: pool, NormRows(x: x, normed: normed, width: E, weight: norm, bias: normBias, eps: config.normEps))
        projections.applyBatch(normed, xStride: E, count: T, into: projected, yStride: R, pool: pool)
        if let cap = config.gateSoftCap {
            for t in 0..<T {
                for i in 0..<(2 * NH) { gates[t * R + i] = softCap(gates[t * R + i], cap) }
            }
        }

        let rows = MLSTMSpan(q: q, qStride: R, k: k, kStride: R, v: v, vStride: R, inputGate: gates, gateStride: R,
                             forgetGate: gates + NH, h: h, hStride: V)
        forEachHead(spans.count * NH, pool: pool,
                    ChunkwiseHeads(rows: rows, spans: spans, heads: NH, qkDim: DQK, vDim: DV, keyScale: 1,
                                   queryScale: Float(1 / Double(DQK).squareRoot()), eps: config.cellEps,
                                   chunkSize: chunkSize, kernels: projections.weight.kernels))
        forEachRow(T, pool: pool, OutputGateRows(block: self, h: h, o: o, rowStride: R))
        outProjection.applyBatch(h, xStride: V, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)

        forEachRow(T, pool: pool, NormRows(x: x, normed: normed, width: E, weight: ffnNorm, bias: ffnNormBias,
                                           eps: config.normEps))
        ffnUp.applyBatch(normed, xStride: E, count: T, into: ffn, yStride: 2 * P, pool: pool)   // gate | up
        forEachRow(T, pool: pool, SiluRows(ffn: ffn, width: P, kernels: projections.weight.kernels))
        ffnDown.applyBatch(ffn, xStride: 2 * P, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)
    }
}

extension LargeMLSTMBlock {
    // Batch scratch for N sessions: the prefill layout for N rows (normed | projections | h | out | ffn).
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count N: Int, states: UnsafePointer<UnsafeMutablePointer<Float>>,
                   stateOffset: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = config.embeddingDim, QK = config.qkDim, V = config.vDim, NH = config.numHeads, P = config.ffnDim
        let DQK = qkHeadDim, DV = vHeadDim
        let R = 2 * QK + 2 * V + 2 * NH
        var carve = ScratchCarver(scratch)
        let normed = carve.take(N * E)
        let projected = carve.take(N * R)
        let h = carve.take(N * V)
        let out = carve.take(N * E)
        let ffn = carve.take(N * 2 * P)
        let q = projected, k = projected + QK, v = projected + 2 * QK, o = projected + 2 * QK + V
        let gates = projected + 2 * QK + 2 * V

        forEachRow(N, pool: pool, NormRows(x: x, normed: normed, width: E, weight: norm, bias: normBias, eps: config.normEps))
        projections.applyRows(normed, xStride: E, count: N, into: projected, yStride: R, pool: pool)
        if let cap = config.gateSoftCap {
            for t in 0..<N {
                for i in 0..<(2 * NH) { gates[t * R + i] = softCap(gates[t * R + i], cap) }
            }
        }

        let queryScale = Float(1 / Double(DQK).squareRoot())
        forEachRow(N * NH, pool: pool, StepCells(q: q, k: k, v: v, rowStride: R, gates: gates, gateStride: R, h: h, hStride: V,
                                                 states: states, stateOffset: stateOffset, heads: NH, qkDim: DQK, vDim: DV,
                                                 keyScale: 1, queryScale: queryScale, eps: config.cellEps,
                                                 kernels: projections.weight.kernels))
        forEachRow(N, pool: pool, OutputGateRows(block: self, h: h, o: o, rowStride: R))
        outProjection.applyRows(h, xStride: V, count: N, into: out, yStride: E, pool: pool)
        add(out, into: x, count: N * E)

        forEachRow(N, pool: pool, NormRows(x: x, normed: normed, width: E, weight: ffnNorm, bias: ffnNormBias,
                                           eps: config.normEps))
        ffnUp.applyRows(normed, xStride: E, count: N, into: ffn, yStride: 2 * P, pool: pool)   // gate | up
        forEachRow(N, pool: pool, SiluRows(ffn: ffn, width: P, kernels: projections.weight.kernels))
        ffnDown.applyRows(ffn, xStride: 2 * P, count: N, into: out, yStride: E, pool: pool)
        add(out, into: x, count: N * E)
    }
}

extension LargeMLSTMBlock {
    /// Prefill's and a batch's pre-norm, one row per index: normed[t] = rmsNorm(x[t]).
    struct NormRows: IndexedBody {
        let x: UnsafeMutablePointer<Float>, normed: UnsafeMutablePointer<Float>, width: Int
        let weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float

        func callAsFunction(_ t: Int) {
            rmsNorm(x + t * width, count: width, weight: weight, bias: bias, eps: eps, into: normed + t * width)
        }
    }

    /// The cell output of prefill and batches, one row per index: the heads' norm, then the output gate σ(o).
    struct OutputGateRows: IndexedBody {
        let block: LargeMLSTMBlock
        let h: UnsafeMutablePointer<Float>, o: UnsafeMutablePointer<Float>, rowStride: Int

        func callAsFunction(_ t: Int) {
            let V = block.config.vDim, row = h + t * V
            multiHeadLayerNorm(row, heads: block.config.numHeads, headDim: block.vHeadDim, weight: block.headNorm,
                               bias: block.headNormBias, eps: block.config.normEps)
            block.projections.weight.kernels.multiplyBySigmoid(row, o + t * rowStride, V)
        }
    }

    /// The SwiGLU of prefill and batches, one row per index: gate ← silu(gate) ⊙ up over the row's [gate | up].
    struct SiluRows: IndexedBody {
        let ffn: UnsafeMutablePointer<Float>, width: Int
        let kernels: KernelSet

        func callAsFunction(_ t: Int) {
            let row = ffn + t * 2 * width
            kernels.siluProduct(row, row + width, width)
        }
    }
}

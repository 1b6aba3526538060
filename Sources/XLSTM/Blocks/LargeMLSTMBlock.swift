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
    let query: Linear                       // [QK, E]
    let key: Linear                         // [QK, E]
    let value: Linear                       // [V, E]
    let outputGate: Linear                  // [V, E]
    let inputGate: Linear                   // [NH, E] + bias
    let forgetGate: Linear                  // [NH, E] + bias
    let headNorm: UnsafePointer<Float>      // [V]
    let headNormBias: UnsafePointer<Float>? // [V]
    let outProjection: Linear               // [E, V]
    let ffnNorm: UnsafePointer<Float>       // [E]
    let ffnNormBias: UnsafePointer<Float>?  // [E]
    let ffnGate: Linear                     // [P, E]
    let ffnUp: Linear                       // [P, E]
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
            let rows = 2 * QK + 2 * V
            query = try layer.linearRows("qkv_opreact", rows: 0, count: QK, totalRows: rows, in: E, bias: bias)
            key = try layer.linearRows("qkv_opreact", rows: QK, count: QK, totalRows: rows, in: E, bias: bias)
            value = try layer.linearRows("qkv_opreact", rows: 2 * QK, count: V, totalRows: rows, in: E, bias: bias)
            outputGate = try layer.linearRows("qkv_opreact", rows: 2 * QK + V, count: V, totalRows: rows, in: E, bias: bias)
            inputGate = try layer.linearRows("ifgate_preact", rows: 0, count: NH, totalRows: 2 * NH, in: E, bias: true)
            forgetGate = try layer.linearRows("ifgate_preact", rows: NH, count: NH, totalRows: 2 * NH, in: E, bias: true)
        } else {
            query = try layer.linear("q", out: QK, in: E, bias: bias)
            key = try layer.linear("k", out: QK, in: E, bias: bias)
            value = try layer.linear("v", out: V, in: E, bias: bias)
            outputGate = try layer.linear("ogate_preact", out: V, in: E, bias: bias)
            inputGate = try layer.linear("igate_preact", out: NH, in: E, bias: true)
            forgetGate = try layer.linear("fgate_preact", out: NH, in: E, bias: true)
        }
        headNorm = try layer.tensor("multihead_norm.weight", [V]).data
        headNormBias = try layer.bias("multihead_norm.bias", V, present: bias)
        outProjection = try layer.linear("out_proj", out: E, in: V, bias: bias)
        ffnNorm = try w.tensor("norm_ffn.weight", [E]).data
        ffnNormBias = try w.bias("norm_ffn.bias", E, present: bias)
        if config.fusedWeights {
            ffnGate = try w.linearRows("ffn.proj_up_gate_z", rows: 0, count: P, totalRows: 2 * P, in: E, bias: bias)
            ffnUp = try w.linearRows("ffn.proj_up_gate_z", rows: P, count: P, totalRows: 2 * P, in: E, bias: bias)
        } else {
            ffnGate = try w.linear("ffn.proj_up_gate", out: P, in: E, bias: bias)
            ffnUp = try w.linear("ffn.proj_up", out: P, in: E, bias: bias)
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
        query.apply(normed, into: q, pool: pool)
        key.apply(normed, into: k, pool: pool)
        value.apply(normed, into: v, pool: pool)
        outputGate.apply(normed, into: o, pool: pool)
        inputGate.apply(normed, into: gates)
        forgetGate.apply(normed, into: gates + NH)
        if let cap = config.gateSoftCap {
            for i in 0..<(2 * NH) { gates[i] = softCap(gates[i], cap) }
        }

        let cState = state
        let nState = cState + NH * DQK * DV
        let mState = nState + NH * DQK
        let queryScale = Float(1 / Double(DQK).squareRoot())
        for head in 0..<NH {
            mLSTMCellStep(q: q + head * DQK, k: k + head * DQK, v: v + head * DV,
                          inputPreactivation: gates[head], forgetPreactivation: gates[NH + head],
                          c: cState + head * DQK * DV, n: nState + head * DQK, m: mState + head,
                          qkDim: DQK, vDim: DV, keyScale: 1, queryScale: queryScale, eps: config.cellEps,
                          h: h + head * DV, kernels: query.weight.kernels)
        }
        multiHeadLayerNorm(h, heads: NH, headDim: DV, weight: headNorm, bias: headNormBias, eps: config.normEps)
        for i in 0..<V { h[i] *= sigmoid(o[i]) }
        outProjection.apply(h, into: out, pool: pool)
        add(out, into: x, count: E)

        rmsNorm(x, count: E, weight: ffnNorm, bias: ffnNormBias, eps: config.normEps, into: normed)
        let gate = ffn, up = ffn + P
        ffnGate.apply(normed, into: gate, pool: pool)
        ffnUp.apply(normed, into: up, pool: pool)
        for i in 0..<P { gate[i] = silu(gate[i]) * up[i] }
        ffnDown.apply(gate, into: out, pool: pool)
        add(out, into: x, count: E)
    }
}

extension LargeMLSTMBlock {
    // Prefill scratch for T tokens: normed [T,E] | q,k [T,QK] | v,o,h [T,V] | gates [T,2NH] | out [T,E]
    //                               | ffn [T,2P] | chunk scratch
    func prefillScratchCount(tokens T: Int, chunkSize: Int) -> Int {
        T * (2 * config.embeddingDim + 2 * config.qkDim + 3 * config.vDim + 2 * config.numHeads + 2 * config.ffnDim)
            + mLSTMChunkScratchCount(chunkSize: chunkSize)
    }

    func prefill(_ x: UnsafeMutablePointer<Float>, count T: Int, state: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?, chunkSize: Int) {
        let E = config.embeddingDim, QK = config.qkDim, V = config.vDim, NH = config.numHeads, P = config.ffnDim
        let DQK = qkHeadDim, DV = vHeadDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(T * E)
        let q = carve.take(T * QK), k = carve.take(T * QK)
        let v = carve.take(T * V), o = carve.take(T * V), h = carve.take(T * V)
        let gates = carve.take(T * 2 * NH)
        let out = carve.take(T * E)
        let ffn = carve.take(T * 2 * P)
        let chunkScratch = carve.take(mLSTMChunkScratchCount(chunkSize: chunkSize))

        for t in 0..<T { rmsNorm(x + t * E, count: E, weight: norm, bias: normBias, eps: config.normEps, into: normed + t * E) }
        query.applyBatch(normed, xStride: E, count: T, into: q, yStride: QK, pool: pool)
        key.applyBatch(normed, xStride: E, count: T, into: k, yStride: QK, pool: pool)
        value.applyBatch(normed, xStride: E, count: T, into: v, yStride: V, pool: pool)
        outputGate.applyBatch(normed, xStride: E, count: T, into: o, yStride: V, pool: pool)
        inputGate.applyBatch(normed, xStride: E, count: T, into: gates, yStride: 2 * NH, pool: pool)
        forgetGate.applyBatch(normed, xStride: E, count: T, into: gates + NH, yStride: 2 * NH, pool: pool)
        if let cap = config.gateSoftCap {
            for i in 0..<(T * 2 * NH) { gates[i] = softCap(gates[i], cap) }
        }

        let cState = state
        let nState = cState + NH * DQK * DV
        let mState = nState + NH * DQK
        let queryScale = Float(1 / Double(DQK).squareRoot())
        for head in 0..<NH {
            let span = MLSTMSpan(q: q + head * DQK, qStride: QK, k: k + head * DQK, kStride: QK,
                                 v: v + head * DV, vStride: V, inputGate: gates + head, gateStride: 2 * NH,
                                 forgetGate: gates + NH + head, h: h + head * DV, hStride: V)
            mLSTMChunkwise(span, count: T, qkDim: DQK, vDim: DV, keyScale: 1, queryScale: queryScale,
                           eps: config.cellEps, c: cState + head * DQK * DV, n: nState + head * DQK,
                           m: mState + head, chunkSize: chunkSize, scratch: chunkScratch)
        }
        for t in 0..<T {
            let row = h + t * V, gate = o + t * V
            multiHeadLayerNorm(row, heads: NH, headDim: DV, weight: headNorm, bias: headNormBias, eps: config.normEps)
            for i in 0..<V { row[i] *= sigmoid(gate[i]) }
        }
        outProjection.applyBatch(h, xStride: V, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)

        for t in 0..<T { rmsNorm(x + t * E, count: E, weight: ffnNorm, bias: ffnNormBias, eps: config.normEps, into: normed + t * E) }
        ffnGate.applyBatch(normed, xStride: E, count: T, into: ffn, yStride: 2 * P, pool: pool)
        ffnUp.applyBatch(normed, xStride: E, count: T, into: ffn + P, yStride: 2 * P, pool: pool)
        for t in 0..<T {
            let row = ffn + t * 2 * P
            for i in 0..<P { row[i] = silu(row[i]) * row[P + i] }
        }
        ffnDown.applyBatch(ffn, xStride: 2 * P, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)
    }
}

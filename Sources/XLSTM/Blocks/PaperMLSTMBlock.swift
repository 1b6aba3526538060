// Port of xlstm/blocks/mlstm/{layer,cell,backends}.py (xlstm 2.0.6): the paper family's mLSTM block
// in step form (`mLSTMLayer.step`, `recurrent_step_stabilized_simple`).
//
//   x ← x + proj_down( (mhln(cell(q, k, v)) + skip ⊙ c) ⊙ silu(z) )
//   where [m̃, z] = proj_up(LN(x)), c = silu(conv1d(m̃)), q = Wq c, k = Wk c, v = Wv m̃  (head-wise)
//
// Cell, per head (DH = inner / heads), from `recurrent_step_stabilized_simple`:
//   m' = max(logσ(f̃) + m, ĩ);  f = exp(logσ(f̃) + m − m');  i = exp(ĩ − m')
//   C' = f C + i (k/√DH) vᵀ;  n' = f n + i k/√DH
//   h = (qᵀC') / (max(|qᵀn'|, exp(−m')) + 1e-6)
// The state starts at C = 0, n = 0, m = 0 (as `mLSTMCell.step` with mlstm_state=None).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct PaperMLSTMBlock: RecurrentBlock, @unchecked Sendable {
    let embeddingDim: Int
    let innerDim: Int
    let numHeads: Int
    let headDim: Int

    let norm: UnsafePointer<Float>          // [E], 1 + w
    let projUp: Linear                      // [2I, E]
    let conv: CausalConv1D?                 // [I, K]; nil when kernel size is 0
    let qProj: HeadwiseLinear               // [I/bs, bs, bs]
    let kProj: HeadwiseLinear
    let vProj: HeadwiseLinear
    let gates: NarrowLinear                 // [ĩ | f̃]: igate [NH, 3I] then fgate [NH, 3I], biases [2NH]
    let outNorm: UnsafePointer<Float>       // [I], 1 + w
    let learnableSkip: UnsafePointer<Float> // [I]
    let projDown: Linear                    // [E, I]

    var kind: BlockKind { .mLSTM }

    init(config: PaperMLSTMConfig, embeddingDim: Int, bias: Bool, weights w: WeightLoader) throws(XLSTMError) {
        let inner = config.innerDim
        self.embeddingDim = embeddingDim
        self.innerDim = inner
        self.numHeads = config.numHeads
        self.headDim = inner / config.numHeads
        norm = try w.residualNormWeight("xlstm_norm.weight", embeddingDim)
        projUp = try w.linear("xlstm.proj_up", out: 2 * inner, in: embeddingDim, bias: bias)
        let kernel = config.convKernelSize
        if kernel > 0 {
            conv = CausalConv1D(weight: try w.tensor("xlstm.conv1d.conv.weight", [inner, 1, kernel]).data,
                                bias: try w.tensor("xlstm.conv1d.conv.bias", [inner]).data,
                                features: inner, kernel: kernel,
                                taps: try w.store.derivedBuffer(count: inner * kernel))
        } else {
            conv = nil
        }
        let blockSize = config.qkvProjBlockSize
        let projHeads = inner / blockSize
        func headwise(_ name: String) throws(XLSTMError) -> HeadwiseLinear {
            try HeadwiseLinear(kernels: w.store.kernels, weight: try w.tensor("xlstm.\(name).weight", [projHeads, blockSize, blockSize]).data,
                           bias: try w.bias("xlstm.\(name).bias", inner, present: bias),
                           heads: projHeads, inPerHead: blockSize, outPerHead: blockSize, store: w.store)
        }
        qProj = try headwise("q_proj")
        kProj = try headwise("k_proj")
        vProj = try headwise("v_proj")
        gates = try NarrowLinear([("xlstm.mlstm_cell.igate", config.numHeads), ("xlstm.mlstm_cell.fgate", config.numHeads)],
                                 cols: 3 * inner, bias: true, weights: w)
        outNorm = try w.residualNormWeight("xlstm.mlstm_cell.outnorm.weight", inner)
        learnableSkip = try w.tensor("xlstm.learnable_skip", [inner]).data
        projDown = try w.linear("xlstm.proj_down", out: embeddingDim, in: inner, bias: bias)
    }

    // State layout: conv [K−1, I] | C [NH, DH, DH] | n [NH, DH] | m [NH]
    var convStateCount: Int { conv?.stateCount ?? 0 }
    var stateCount: Int { convStateCount + numHeads * headDim * headDim + numHeads * headDim + numHeads }

    // Scratch: normed [E] | up [2I] | convOut [I] | qkv [3I] | gates [2NH] | h [I] | out [E]
    var scratchCount: Int { 2 * embeddingDim + 2 * innerDim + innerDim + 3 * innerDim + 2 * numHeads + innerDim }

    func resetState(_ state: UnsafeMutablePointer<Float>) {
        state.update(repeating: 0, count: stateCount)
    }

    func step(_ x: UnsafeMutablePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
              pool: ThreadPool?) {
        let E = embeddingDim, I = innerDim, NH = numHeads, DH = headDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(E)
        let up = carve.take(2 * I)          // [m̃ | z]
        let convOut = carve.take(I)
        let qkv = carve.take(3 * I)         // [q | k | v], the gates' input
        let gates = carve.take(2 * NH)      // [ĩ | f̃]
        let h = carve.take(I)
        let out = carve.take(E)

        layerNorm(x, count: E, weight: norm, bias: nil, eps: 1e-5, into: normed)
        projUp.apply(normed, into: up, pool: pool)
        let mBranch = up, z = up + I

        let convState = state
        if let conv {
            conv.step(mBranch, state: convState, into: convOut)
        } else {
            convOut.update(from: mBranch, count: I)
        }
        projUp.weight.kernels.silu(convOut, I)

        let q = qkv, k = qkv + I, v = qkv + 2 * I
        qProj.apply(convOut, into: q)
        kProj.apply(convOut, into: k)
        vProj.apply(mBranch, into: v)
        self.gates.apply(qkv, into: gates)

        let keyScale = 1 / sqrtf(Float(DH))
        withUnsafePointer(to: state) { states in
            forEachStepCell(StepCells(q: q, k: k, v: v, rowStride: 0, gates: gates, gateStride: 0, h: h, hStride: 0,
                                      states: states, stateOffset: convStateCount, heads: NH, qkDim: DH, vDim: DH,
                                      keyScale: keyScale, queryScale: 1, eps: 1e-6, kernels: projUp.weight.kernels),
                            pool: pool)
        }
        multiHeadLayerNorm(h, heads: NH, headDim: DH, weight: outNorm, bias: nil, eps: 1e-5)
        projUp.weight.kernels.skipSiluGate(h, learnableSkip, convOut, z, I)
        projDown.apply(h, into: out, pool: pool)
        add(out, into: x, count: E)
    }
}

extension PaperMLSTMBlock {
    // Prefill scratch for T tokens: normed [T,E] | up [T,2I] | convOut [T,I] | qkv [T,3I] | gates [T,2NH]
    //                               | h [T,I] | out [T,E] | chunk scratch
    func cellScratchCount(chunkSize: Int) -> Int { mLSTMChunkScratchCount(chunkSize: chunkSize, qkDim: headDim) }

    func prefillScratchCount(tokens T: Int, chunkSize: Int) -> Int {
        T * (2 * embeddingDim + 7 * innerDim + 2 * numHeads)
    }

    func prefill(_ x: UnsafeMutablePointer<Float>, spans: Spans, scratch: UnsafeMutablePointer<Float>,
                 pool: ThreadPool?, chunkSize: Int) {
        let T = spans.rows
        let E = embeddingDim, I = innerDim, NH = numHeads, DH = headDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(T * E)
        let up = carve.take(T * 2 * I)
        let convOut = carve.take(T * I)
        let qkv = carve.take(T * 3 * I)
        let gates = carve.take(T * 2 * NH)
        let h = carve.take(T * I)
        let out = carve.take(T * E)

        forEachLightRow(T, width: E, pool: pool, LayerNormRows(x: x, normed: normed, width: E, weight: norm))
        projUp.applyBatch(normed, xStride: E, count: T, into: up, yStride: 2 * I, pool: pool)
        for span in 0..<spans.count {   // the convolution runs along each span on its state
            let state = spans.state(span)
            for t in spans.start(span)..<spans.start(span + 1) {
                let mBranch = up + t * 2 * I, target = convOut + t * I
                if let conv { conv.step(mBranch, state: state, into: target) } else { target.update(from: mBranch, count: I) }
                projUp.weight.kernels.silu(target, I)
                let row = qkv + t * 3 * I
                qProj.apply(target, into: row)
                kProj.apply(target, into: row + I)
                vProj.apply(mBranch, into: row + 2 * I)
            }
        }
        forEachLightRow(T, width: 6 * I * NH, pool: pool, GateRows(block: self, qkv: qkv, gates: gates))

        let rows = MLSTMSpan(q: qkv, qStride: 3 * I, k: qkv + I, kStride: 3 * I, v: qkv + 2 * I, vStride: 3 * I,
                             inputGate: gates, gateStride: 2 * NH, forgetGate: gates + NH, h: h, hStride: I)
        forEachHead(spans.count * NH, pool: pool,
                    ChunkwiseHeads(rows: rows, spans: spans.at(stateOffset: spans.stateOffset + convStateCount), heads: NH,
                                   qkDim: DH, vDim: DH, keyScale: 1 / sqrtf(Float(DH)), queryScale: 1, eps: 1e-6,
                                   chunkSize: chunkSize, kernels: projUp.weight.kernels))
        forEachLightRow(T, width: I, pool: pool, OutputRows(block: self, h: h, up: up, convOut: convOut))
        projDown.applyBatch(h, xStride: I, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)
    }
}

extension PaperMLSTMBlock {
    /// A batch's convolution and q/k/v projections, one session's row per index (each row's
    /// convolution state is its session's).
    struct ConvRows: IndexedBody {
        let block: PaperMLSTMBlock
        let up: UnsafeMutablePointer<Float>, convOut: UnsafeMutablePointer<Float>, qkv: UnsafeMutablePointer<Float>
        let gates: UnsafeMutablePointer<Float>
        let states: UnsafePointer<UnsafeMutablePointer<Float>>, stateOffset: Int

        func callAsFunction(_ t: Int) {
            let I = block.innerDim
            let mBranch = up + t * 2 * I, target = convOut + t * I
            if let conv = block.conv {
                conv.step(mBranch, state: states[t] + stateOffset, into: target)
            } else {
                target.update(from: mBranch, count: I)
            }
            block.projUp.weight.kernels.silu(target, I)
            let row = qkv + t * 3 * I
            block.qProj.apply(target, into: row)
            block.kProj.apply(target, into: row + I)
            block.vProj.apply(mBranch, into: row + 2 * I)
            block.gates.apply(row, into: gates + t * 2 * block.numHeads)
        }
    }

    /// The input and forget gate pre-activations of one row (prefill: after the convolution's
    /// sequential pass; a batch does them in ConvRows).
    struct GateRows: IndexedBody {
        let block: PaperMLSTMBlock
        let qkv: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>

        func callAsFunction(_ t: Int) {
            block.gates.apply(qkv + t * 3 * block.innerDim, into: gates + t * 2 * block.numHeads)
        }
    }

    /// The cell output of one row: the heads' norm, then the learnable skip and the output gate
    /// silu(z) (prefill and batches).
    struct OutputRows: IndexedBody {
        let block: PaperMLSTMBlock
        let h: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, convOut: UnsafePointer<Float>

        func callAsFunction(_ t: Int) {
            let I = block.innerDim
            let row = h + t * I, z = up + t * 2 * I + I, c = convOut + t * I
            multiHeadLayerNorm(row, heads: block.numHeads, headDim: block.headDim, weight: block.outNorm, bias: nil, eps: 1e-5)
            block.projUp.weight.kernels.skipSiluGate(row, block.learnableSkip, c, z, I)
        }
    }
}

extension PaperMLSTMBlock {
    // Batch scratch for N sessions: the prefill layout for N rows.
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count N: Int, states: UnsafePointer<UnsafeMutablePointer<Float>>,
                   stateOffset: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = embeddingDim, I = innerDim, NH = numHeads, DH = headDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(N * E)
        let up = carve.take(N * 2 * I)
        let convOut = carve.take(N * I)
        let qkv = carve.take(N * 3 * I)
        let gates = carve.take(N * 2 * NH)
        let h = carve.take(N * I)
        let out = carve.take(N * E)

        forEachLightRow(N, width: E, pool: pool, LayerNormRows(x: x, normed: normed, width: E, weight: norm))
        projUp.applyRows(normed, xStride: E, count: N, into: up, yStride: 2 * I, pool: pool)
        forEachRow(N, pool: pool, ConvRows(block: self, up: up, convOut: convOut, qkv: qkv, gates: gates, states: states,
                                           stateOffset: stateOffset))

        forEachRow(N * NH, pool: pool, StepCells(q: qkv, k: qkv + I, v: qkv + 2 * I, rowStride: 3 * I, gates: gates,
                                                 gateStride: 2 * NH, h: h, hStride: I, states: states,
                                                 stateOffset: stateOffset + convStateCount, heads: NH, qkDim: DH, vDim: DH,
                                                 keyScale: 1 / sqrtf(Float(DH)), queryScale: 1, eps: 1e-6,
                                                 kernels: projUp.weight.kernels))
        forEachLightRow(N, width: I, pool: pool, OutputRows(block: self, h: h, up: up, convOut: convOut))
        projDown.applyRows(h, xStride: I, count: N, into: out, yStride: E, pool: pool)
        add(out, into: x, count: N * E)
    }
}

/// One stabilised mLSTM cell step for one head; shared by both families.
/// q, k [qkDim], v [vDim]; c [qkDim, vDim], n [qkDim], m scalar; h [vDim] out.
/// The paper family scales k by 1/√DH (keyScale), the 7B family scales q by DHQK^−½ (queryScale);
/// the other scale is 1.
@inline(__always)
func mLSTMCellStep(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                   inputPreactivation: Float, forgetPreactivation: Float,
                   c: UnsafeMutablePointer<Float>, n: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                   qkDim: Int, vDim: Int, keyScale: Float, queryScale: Float, eps: Float,
                   h: UnsafeMutablePointer<Float>, kernels: KernelSet) {
    let logForget = logSigmoid(forgetPreactivation)
    let mOld = m.pointee
    let mNew = max(logForget + mOld, inputPreactivation)
    let forget = expf(logForget + mOld - mNew)
    let input = expf(inputPreactivation - mNew)
    m.pointee = mNew

    // C' = f C + i k vᵀ and h_num = qᵀ C' in one pass over C (the path's kernel).
    let qn = kernels.mLSTMCellUpdate(c, n, q, k, v, h, qkDim, vDim, forget, input * keyScale, queryScale)
    let denominator = max(abs(qn), expf(-mNew)) + eps
    for j in 0..<vDim { h[j] /= denominator }
}

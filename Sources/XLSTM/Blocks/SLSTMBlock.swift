// Port of xlstm/blocks/slstm/{layer,cell}.py and src/vanilla/{__init__,slstm}.py (xlstm 2.0.6):
// the paper family's sLSTM block followed by its gated feed-forward, in step form.
//
//   c = silu(conv1d(LN(x)))  (or LN(x) when conv1d_kernel_size = 0)
//   pre-activations, head-wise: i = W_fgate c, f = W_igate c, z = W_z LN(x), o = W_o LN(x)
//     (sic: `sLSTMLayer` passes `self.fgate(x_conv)` as the cell's first ("i") chunk and
//      `self.igate(x_conv)` as the second ("f") — reproduced as is)
//   raw[g] = pre[g] + R[g] y_prev + b[g]      (R, b head-wise; external layout [NH, DH, 4, DH], [NH, 4, DH])
//   `slstm_forward_pointwise`:
//     m' = ĩ if all n == 0 (the first step) else max(ĩ, m + logσ(f̃))
//     i = min(exp(ĩ − m'), 1);  f = min(exp(m + logσ(f̃) − m'), 1);  o = σ(õ)
//     c' = f c + i tanh(z̃);  n' = f n + i;  y' = o c' / n'
//   x ← x + groupnorm(y')
//   x ← x + proj_down(act(gate) ⊙ up), [gate, up] = proj_up(LN_ffn(x))

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct SLSTMBlock: RecurrentBlock, @unchecked Sendable {
    let embeddingDim: Int
    let numHeads: Int
    let headDim: Int

    let norm: UnsafePointer<Float>             // [E], 1 + w
    let conv: CausalConv1D?                    // [E, K]
    let gateProjections: [HeadwiseLinear]      // cell order i, f, z, o: fgate, igate, zgate, ogate
    /// The same weights as [pair (i f | z o), NH, DH (input), 2 · DH (the pair's outputs)], for
    /// `projectGates` when there are ≥ 2 heads (nil otherwise).
    let gatePairs: UnsafePointer<Float>?
    let kernels: KernelSet
    let recurrentKernel: UnsafePointer<Float>  // [NH, DH, 4, DH]
    let cellBias: UnsafePointer<Float>         // [NH, 4, DH]
    let groupNorm: UnsafePointer<Float>?       // [E], 1 + w
    let feedForward: GatedFeedForward?

    var kind: BlockKind { .sLSTM }

    init(config: PaperSLSTMConfig, feedForward ffConfig: PaperFeedForwardConfig?, embeddingDim: Int,
         weights w: WeightLoader) throws(XLSTMError) {
        let E = embeddingDim, NH = config.numHeads, DH = embeddingDim / config.numHeads
        self.embeddingDim = E
        self.numHeads = NH
        self.headDim = DH
        norm = try w.residualNormWeight("xlstm_norm.weight", E)
        if config.convKernelSize > 0 {
            conv = CausalConv1D(weight: try w.tensor("xlstm.conv1d.conv.weight", [E, 1, config.convKernelSize]).data,
                                bias: try w.tensor("xlstm.conv1d.conv.bias", [E]).data,
                                features: E, kernel: config.convKernelSize,
                                taps: try w.store.derivedBuffer(count: E * config.convKernelSize))
        } else {
            conv = nil
        }
        func headwise(_ name: String) throws(XLSTMError) -> HeadwiseLinear {
            try HeadwiseLinear(kernels: w.store.kernels, weight: try w.tensor("xlstm.\(name).weight", [NH, DH, DH]).data, bias: nil,
                           heads: NH, inPerHead: DH, outPerHead: DH, store: w.store)
        }
        gateProjections = [try headwise("fgate"), try headwise("igate"), try headwise("zgate"), try headwise("ogate")]
        kernels = w.store.kernels
        if NH >= 2 {
            let pairs = try w.store.derivedBuffer(count: 2 * NH * DH * 2 * DH)
            for (g, projection) in gateProjections.enumerated() {
                let p = g / 2, half = g % 2
                for h in 0..<NH {
                    let source = projection.weight + h * DH * DH, target = pairs + (p * NH + h) * DH * 2 * DH + half * DH
                    for o in 0..<DH {
                        for d in 0..<DH { target[d * 2 * DH + o] = source[o * DH + d] }
                    }
                }
            }
            gatePairs = UnsafePointer(pairs)
        } else {
            gatePairs = nil
        }
        recurrentKernel = try w.tensor("xlstm.slstm_cell.recurrent_kernel", [NH, DH, 4, DH]).data
        cellBias = try w.tensor("xlstm.slstm_cell.bias", [NH, 4, DH]).data
        groupNorm = config.groupNormWeight ? try w.residualNormWeight("xlstm.group_norm.weight", E) : nil
        if let ffConfig {
            feedForward = try GatedFeedForward(config: ffConfig, embeddingDim: E, weights: w)
        } else {
            feedForward = nil
        }
    }

    /// The four gate pre-activations' input projections → raw [4, E] (i, f from `gateInput`, z, o
    /// from `normed`). Per head and pair of gates one vector–matrix product over the transposed
    /// weights (`combineRows`: 2·DH outputs in registers, no horizontal sums; the 16 row-major
    /// matvecs of DH × DH were ~12% of a 0.5 M-parameter model's step, perf). `temp` [2·DH] ≤ E.
    @inline(__always)
    func projectGates(_ gateInput: UnsafePointer<Float>, _ normed: UnsafePointer<Float>,
                      into raw: UnsafeMutablePointer<Float>, temp: UnsafeMutablePointer<Float>) {
        guard let gatePairs else {
            gateProjections[0].apply(gateInput, into: raw)
            gateProjections[1].apply(gateInput, into: raw + embeddingDim)
            gateProjections[2].apply(normed, into: raw + 2 * embeddingDim)
            gateProjections[3].apply(normed, into: raw + 3 * embeddingDim)
            return
        }
        let E = embeddingDim, NH = numHeads, DH = headDim
        for p in 0..<2 {
            let input = p == 0 ? gateInput : normed
            for h in 0..<NH {
                kernels.combineRows(input + h * DH, DH, gatePairs + (p * NH + h) * DH * 2 * DH, 2 * DH, 2 * DH, temp, false)
                (raw + 2 * p * E + h * DH).update(from: temp, count: DH)
                (raw + (2 * p + 1) * E + h * DH).update(from: temp + DH, count: DH)
            }
        }
    }

    /// The recurrent part of one step: raw [4, E] pre-activations (i, f, z, o; input projections only)
    /// plus R y_prev + b, then `slstm_forward_pointwise`. cell [y | c | n | m], each [E], updated.
    @inline(__always)
    func recur(_ raw: UnsafeMutablePointer<Float>, state cell: UnsafeMutablePointer<Float>) {
        let E = embeddingDim, NH = numHeads, DH = headDim
        let y = cell, c = y + E, n = c + E, m = n + E

        // raw[g, h, o] += (Σ_d y[h, d] · R[h, d, g, o]) + b[h, g, o]: per head one vector–matrix
        // product over R's DH rows of [4, DH] (`combineRows`: the 4·DH outputs in registers, one FMA
        // chain each in d order), then added with the bias. (It was a loop adding each y[d] · R row
        // into raw in memory, 8 floats at a time at the baseline ISA: 16% of the 0.5 M-parameter
        // paper model's step, perf, for its one sLSTM block of four.)
        let rowFloats = 4 * DH
        let product = ThreadScratch.buffer(.cell, floats: rowFloats)
        let rawBytes = UnsafeMutableRawPointer(raw)
        let productBytes = UnsafeRawPointer(product), biasBytes = UnsafeRawPointer(cellBias)
        let vectorDH = DH & ~7
        for h in 0..<NH {
            kernels.combineRows(y + h * DH, DH, recurrentKernel + h * DH * rowFloats, rowFloats, rowFloats, product, false)
            for g in 0..<4 {
                let target = g * E + h * DH, source = g * DH, bias = (h * 4 + g) * DH
                var o = 0
                while o < vectorDH {
                    let t = rawBytes.loadUnaligned(fromByteOffset: (target + o) * 4, as: SIMD8<Float>.self)
                    let r = productBytes.loadUnaligned(fromByteOffset: (source + o) * 4, as: SIMD8<Float>.self)
                    let b = biasBytes.loadUnaligned(fromByteOffset: (bias + o) * 4, as: SIMD8<Float>.self)
                    rawBytes.storeBytes(of: t + r + b, toByteOffset: (target + o) * 4, as: SIMD8<Float>.self)
                    o += 8
                }
                while o < DH { raw[target + o] = raw[target + o] + product[source + o] + cellBias[bias + o]; o += 1 }
            }
        }

        // `torch.all(n == 0.0)`: true exactly on the first step from the initial state.
        var firstStep = true
        for i in 0..<E where n[i] != 0 { firstStep = false; break }
        // `slstm_forward_pointwise`, 8 lanes at a time (libm's expf/log1pf/tanhf per element were
        // ~13% of a 0.5 M-parameter model's step, perf), the scalar form for the tail.
        let cr = UnsafeMutableRawPointer(c), nr = UnsafeMutableRawPointer(n), mr = UnsafeMutableRawPointer(m)
        let yr = UnsafeMutableRawPointer(y)
        var i = 0
        while i + 8 <= E {
            @inline(__always) func load(_ offset: Int) -> SIMD8<Float> {
                rawBytes.loadUnaligned(fromByteOffset: (offset + i) * 4, as: SIMD8<Float>.self)
            }
            let iRaw = load(0), fRaw = load(E), zRaw = load(2 * E), oRaw = load(3 * E)
            let mOld = mr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let absF = fRaw.replacing(with: -fRaw, where: fRaw .< 0)
            let logSigmoidF = fRaw.replacing(with: 0, where: fRaw .> 0) - log1p8(exp8(-absF))
            let logFPlusM = mOld + logSigmoidF
            let mNew = firstStep ? iRaw : iRaw.replacing(with: logFPlusM, where: logFPlusM .> iRaw)
            let outputGate = 1 / (1 + exp8(-oRaw))
            let one = SIMD8<Float>(repeating: 1)
            let inputExp = exp8(iRaw - mNew), forgetExp = exp8(logFPlusM - mNew)
            let inputGate = inputExp.replacing(with: one, where: inputExp .> one)
            let forgetGate = forgetExp.replacing(with: one, where: forgetExp .> one)
            let cNew = forgetGate * cr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + inputGate * tanh8(zRaw)
            let nNew = forgetGate * nr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + inputGate
            cr.storeBytes(of: cNew, toByteOffset: i * 4, as: SIMD8<Float>.self)
            nr.storeBytes(of: nNew, toByteOffset: i * 4, as: SIMD8<Float>.self)
            mr.storeBytes(of: mNew, toByteOffset: i * 4, as: SIMD8<Float>.self)
            yr.storeBytes(of: outputGate * cNew / nNew, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < E {
            let iRaw = raw[i], fRaw = raw[E + i], zRaw = raw[2 * E + i], oRaw = raw[3 * E + i]
            let logFPlusM = m[i] + logSigmoid(fRaw)
            let mNew = firstStep ? iRaw : max(iRaw, logFPlusM)
            let outputGate = sigmoid(oRaw)
            let inputGate = min(expf(iRaw - mNew), 1)
            let forgetGate = min(expf(logFPlusM - mNew), 1)
            let cNew = forgetGate * c[i] + inputGate * tanhf(zRaw)
            let nNew = forgetGate * n[i] + inputGate
            c[i] = cNew
            n[i] = nNew
            m[i] = mNew
            y[i] = outputGate * cNew / nNew
            i += 1
        }
    }

    // State layout: conv [K−1, E] | y [E] | c [E] | n [E] | m [E]
    var convStateCount: Int { conv?.stateCount ?? 0 }
    var stateCount: Int { convStateCount + 4 * embeddingDim }

    // Scratch: normed [E] | convOut [E] | raw [4, E] | out [E], then the feed-forward's
    var scratchCount: Int { 7 * embeddingDim + (feedForward?.scratchCount ?? 0) }

    func resetState(_ state: UnsafeMutablePointer<Float>) {
        state.update(repeating: 0, count: stateCount)
    }

    func step(_ x: UnsafeMutablePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
              pool: ThreadPool?) {
        let E = embeddingDim, NH = numHeads, DH = headDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(E)
        let convOut = carve.take(E)
        let raw = carve.take(4 * E)      // [gate i|f|z|o, head, DH]
        let out = carve.take(E)

        layerNorm(x, count: E, weight: norm, bias: nil, eps: 1e-5, into: normed)
        let gateInput: UnsafePointer<Float>
        if let conv {
            conv.step(normed, state: state, into: convOut)
            kernels.silu(convOut, E)
            gateInput = UnsafePointer(convOut)
        } else {
            gateInput = UnsafePointer(normed)
        }
        projectGates(gateInput, normed, into: raw, temp: out)   // out is free until the recurrence

        recur(raw, state: state + convStateCount)
        let y = state + convStateCount

        out.update(from: y, count: E)
        multiHeadLayerNorm(out, heads: NH, headDim: DH, weight: groupNorm, bias: nil, eps: 1e-5)
        add(out, into: x, count: E)

        feedForward?.step(x, scratch: carve.take(feedForward!.scratchCount), pool: pool)
    }
}

extension SLSTMBlock {
    // Prefill scratch for T tokens: normed [T,E] | convOut [T,E] | raw [T,4E] | out [T,E], then the
    // feed-forward's. The recurrence itself is sequential; everything around it is batched.
    func cellScratchCount(chunkSize: Int) -> Int { 4 * headDim }   // recur's R·y of one head

    func prefillScratchCount(tokens T: Int, chunkSize: Int) -> Int {
        T * 7 * embeddingDim + (feedForward?.prefillScratchCount(tokens: T) ?? 0)
    }

    func prefill(_ x: UnsafeMutablePointer<Float>, spans: Spans, scratch: UnsafeMutablePointer<Float>,
                 pool: ThreadPool?, chunkSize: Int) {
        let E = embeddingDim, T = spans.rows
        var carve = ScratchCarver(scratch)
        let normed = carve.take(T * E)
        let convOut = carve.take(T * E)
        let raw = carve.take(T * 4 * E)
        let out = carve.take(T * E)

        forEachLightRow(T, width: E, pool: pool, LayerNormRows(x: x, normed: normed, width: E, weight: norm))
        let gateInput: UnsafePointer<Float>
        if let conv {
            for span in 0..<spans.count {
                let first = spans.start(span)
                conv.run(normed + first * E, count: spans.length(span), state: spans.state(span), into: convOut + first * E)
            }
            kernels.silu(convOut, T * E)
            gateInput = UnsafePointer(convOut)
        } else {
            gateInput = UnsafePointer(normed)
        }
        forEachLightRow(T, width: 4 * E * E / numHeads, pool: pool,
                        GateProjectionRows(block: self, gateInput: gateInput, normed: normed, raw: raw, temp: out))
        for span in 0..<spans.count {   // the recurrence runs along each span on its state
            let cell = spans.state(span) + convStateCount
            for t in spans.start(span)..<spans.start(span + 1) {
                recur(raw + t * 4 * E, state: cell)
                let target = out + t * E
                target.update(from: cell, count: E)   // y
                multiHeadLayerNorm(target, heads: numHeads, headDim: headDim, weight: groupNorm, bias: nil, eps: 1e-5)
            }
        }
        add(out, into: x, count: T * E)
        feedForward?.prefill(x, count: T, scratch: carve.take(feedForward!.prefillScratchCount(tokens: T)), pool: pool)
    }
}

extension SLSTMBlock {
    // Batch scratch for N sessions: the prefill layout for N rows. Each row's convolution and
    // recurrence run on its own session's state; the feed-forward is batched.
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count N: Int, states: UnsafePointer<UnsafeMutablePointer<Float>>,
                   stateOffset: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = embeddingDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(N * E)
        let convOut = carve.take(N * E)
        let raw = carve.take(N * 4 * E)
        let out = carve.take(N * E)

        forEachRow(N, pool: pool, Rows(block: self, x: x, normed: normed, convOut: convOut, raw: raw, out: out,
                                       states: states, stateOffset: stateOffset))
        add(out, into: x, count: N * E)
        feedForward?.stepBatch(x, count: N, scratch: carve.take(feedForward!.prefillScratchCount(tokens: N)), pool: pool)
    }
}

extension GatedFeedForward {
    /// `prefill`'s computation for N independent rows, through the GEMM always (Batch.swift).
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count N: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = embeddingDim, P = upDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(N * E)
        let up = carve.take(N * 2 * P)
        let out = carve.take(N * E)
        forEachLightRow(N, width: E, pool: pool, LayerNormRows(x: x, normed: normed, width: E, weight: norm))
        projUp.applyRows(normed, xStride: E, count: N, into: up, yStride: 2 * P, pool: pool)
        forEachLightRow(N, width: P, pool: pool, GateProductRows(ffn: self, up: up))
        projDown.applyRows(up, xStride: 2 * P, count: N, into: out, yStride: E, pool: pool)
        add(out, into: x, count: N * E)
    }
}

/// Port of xlstm/components/feedforward.py `GatedFeedForward` with the block's pre-LayerNorm:
/// x ← x + proj_down(act(gate) ⊙ up), [gate, up] = proj_up(LN(x)).
struct GatedFeedForward: @unchecked Sendable {
    let embeddingDim: Int
    let upDim: Int
    let activation: Activation
    let norm: UnsafePointer<Float>   // [E], 1 + w
    let projUp: Linear               // [2P, E]
    let projDown: Linear             // [E, P]

    init(config: PaperFeedForwardConfig, embeddingDim: Int, weights w: WeightLoader) throws(XLSTMError) {
        self.embeddingDim = embeddingDim
        upDim = config.upDim
        activation = config.activation
        norm = try w.residualNormWeight("ffn_norm.weight", embeddingDim)
        projUp = try w.linear("ffn.proj_up", out: 2 * config.upDim, in: embeddingDim, bias: config.bias)
        projDown = try w.linear("ffn.proj_down", out: embeddingDim, in: config.upDim, bias: config.bias)
    }

    // Scratch: normed [E] | up [2P] | out [E]
    var scratchCount: Int { 2 * embeddingDim + 2 * upDim }

    func step(_ x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = embeddingDim, P = upDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(E)
        let up = carve.take(2 * P)
        let out = carve.take(E)
        layerNorm(x, count: E, weight: norm, bias: nil, eps: 1e-5, into: normed)
        projUp.apply(normed, into: up, pool: pool)
        gateProduct(up)
        projDown.apply(up, into: out, pool: pool)
        add(out, into: x, count: E)
    }

    // Prefill scratch for T tokens: normed [T,E] | up [T,2P] | out [T,E]
    func prefillScratchCount(tokens T: Int) -> Int { T * (2 * embeddingDim + 2 * upDim) }

    func prefill(_ x: UnsafeMutablePointer<Float>, count T: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let E = embeddingDim, P = upDim
        var carve = ScratchCarver(scratch)
        let normed = carve.take(T * E)
        let up = carve.take(T * 2 * P)
        let out = carve.take(T * E)
        forEachLightRow(T, width: E, pool: pool, LayerNormRows(x: x, normed: normed, width: E, weight: norm))
        projUp.applyBatch(normed, xStride: E, count: T, into: up, yStride: 2 * P, pool: pool)
        forEachLightRow(T, width: P, pool: pool, GateProductRows(ffn: self, up: up))
        projDown.applyBatch(up, xStride: 2 * P, count: T, into: out, yStride: E, pool: pool)
        add(out, into: x, count: T * E)
    }

    /// The gate product of one row of [T, 2P] (prefill and batches).
    struct GateProductRows: IndexedBody {
        let ffn: GatedFeedForward
        let up: UnsafeMutablePointer<Float>

        func callAsFunction(_ t: Int) { ffn.gateProduct(up + t * 2 * ffn.upDim) }
    }

    /// row [P] ← act(row [P]) ⊙ row [P ..< 2P]: the gate times the up-projection. GELU (the paper's
    /// default) and swish through the path's vector kernels (libm's erff per element was ~3% of the
    /// 0.5 M-parameter model's step, perf), the rest element by element.
    @inline(__always)
    fileprivate func gateProduct(_ row: UnsafeMutablePointer<Float>) {
        let P = upDim
        switch activation {
        case .gelu: projUp.weight.kernels.geluProduct(row, row + P, P)
        case .swish: projUp.weight.kernels.siluProduct(row, row + P, P)
        default: for i in 0..<P { row[i] = activate(row[i]) * row[P + i] }
        }
    }

    @inline(__always)
    fileprivate func activate(_ v: Float) -> Float {
        switch activation {
        case .gelu: return geluExact(v)
        case .relu: return relu(v)
        case .reluSquared: let r = relu(v); return r * r
        case .sigmoid: return sigmoid(v)
        case .swish: return silu(v)
        case .selu: return selu(v)
        }
    }
}

extension SLSTMBlock {
    /// A batch's rows, one session per index: norm, convolution, gate projections and the
    /// recurrence on the session's state, then the group norm of its output.
    /// Prefill's gate projections of one row (`projectGates`; `temp` is the row's out, free until the
    /// recurrence writes it).
    struct GateProjectionRows: IndexedBody {
        let block: SLSTMBlock
        let gateInput: UnsafePointer<Float>, normed: UnsafePointer<Float>
        let raw: UnsafeMutablePointer<Float>, temp: UnsafeMutablePointer<Float>

        func callAsFunction(_ t: Int) {
            let E = block.embeddingDim
            block.projectGates(gateInput + t * E, normed + t * E, into: raw + t * 4 * E, temp: temp + t * E)
        }
    }

    struct Rows: IndexedBody {
        let block: SLSTMBlock
        let x: UnsafeMutablePointer<Float>, normed: UnsafeMutablePointer<Float>, convOut: UnsafeMutablePointer<Float>
        let raw: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
        let states: UnsafePointer<UnsafeMutablePointer<Float>>, stateOffset: Int

        func callAsFunction(_ t: Int) {
            let E = block.embeddingDim
            let state = states[t] + stateOffset
            let rowIn = normed + t * E, row = raw + t * 4 * E
            layerNorm(x + t * E, count: E, weight: block.norm, bias: nil, eps: 1e-5, into: rowIn)
            let gateInput: UnsafePointer<Float>
            if let conv = block.conv {
                conv.step(rowIn, state: state, into: convOut + t * E)
                block.kernels.silu(convOut + t * E, E)
                gateInput = UnsafePointer(convOut + t * E)
            } else {
                gateInput = UnsafePointer(rowIn)
            }
            block.projectGates(gateInput, rowIn, into: row, temp: out + t * E)
            block.recur(row, state: state + block.convStateCount)
            let target = out + t * E
            target.update(from: state + block.convStateCount, count: E)   // y
            multiHeadLayerNorm(target, heads: block.numHeads, headDim: block.headDim, weight: block.groupNorm, bias: nil,
                               eps: 1e-5)
        }
    }
}

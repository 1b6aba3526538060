// The seam between the model and its blocks. A block owns weight views (never state); a session
// owns one contiguous float32 state buffer and one scratch buffer, and hands each block its slices.

/// One residual block of either family, in step (recurrent) mode.
protocol RecurrentBlock: Sendable {
    /// Floats of recurrent state this block keeps per session.
    var stateCount: Int { get }
    /// Floats of scratch the block needs during one step (shared between blocks).
    var scratchCount: Int { get }
    /// Human-readable kind, for `info`: "mLSTM" or "sLSTM".
    var kind: BlockKind { get }
    /// Writes the initial (empty-history) state.
    func resetState(_ state: UnsafeMutablePointer<Float>)
    /// x [embeddingDim] ← x + block(x), advancing `state` by one token.
    func step(_ x: UnsafeMutablePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
              pool: ThreadPool?)
    /// Floats of scratch `prefill` needs for spans of up to `tokens` tokens.
    func prefillScratchCount(tokens: Int, chunkSize: Int) -> Int
    /// Floats of the kernels' per-thread `.cell` buffer (ThreadScratch) its cells ask for, in any
    /// of step, batch and prefill (chunks of `chunkSize`): reserved by every feed beforehand.
    func cellScratchCount(chunkSize: Int) -> Int
    /// x [spans.rows, embeddingDim] ← x + block(x) for spans of tokens laid end to end (one
    /// session's span, or several sessions' in a batched prefill), advancing each span's state over
    /// its tokens: the same result as a `step` per token, computed with matrix–matrix projections
    /// over all the rows and (mLSTM) the chunkwise-parallel cell per span.
    func prefill(_ x: UnsafeMutablePointer<Float>, spans: Spans, scratch: UnsafeMutablePointer<Float>,
                 pool: ThreadPool?, chunkSize: Int)
    /// x [count, embeddingDim] ← x + block(x) for `count` independent sequences, one token each:
    /// row i advances the state at states[i] + stateOffset (Batch.swift). The same as `step` on each
    /// row up to float rounding (its projections are matrix–matrix products through the GEMM).
    /// Scratch: `prefillScratchCount(tokens: count, chunkSize: 1)` floats.
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count: Int, states: UnsafePointer<UnsafeMutablePointer<Float>>,
                   stateOffset: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?)
}

/// The rows of a prefill: `count` spans of tokens laid end to end, span i being rows
/// [starts[i], starts[i + 1]) of the block's input, on the state at states[i] + stateOffset.
struct Spans {
    let count: Int
    let starts: UnsafePointer<Int>                            // [count + 1], starts[0] = 0
    let states: UnsafePointer<UnsafeMutablePointer<Float>>    // [count]: each session's state base
    let stateOffset: Int                                      // floats from a base to this block's state

    /// Rows in all.
    var rows: Int { starts[count] }
    func start(_ i: Int) -> Int { starts[i] }
    func length(_ i: Int) -> Int { starts[i + 1] - starts[i] }
    /// Span i's state for this block.
    func state(_ i: Int) -> UnsafeMutablePointer<Float> { states[i] + stateOffset }
    /// The same spans for the block whose state starts `offset` floats into each base.
    func at(stateOffset offset: Int) -> Spans {
        Spans(count: count, starts: starts, states: states, stateOffset: offset)
    }
}

public enum BlockKind: String, Sendable {
    case mLSTM, sLSTM
}

/// A bump allocator over a block's scratch slice: carves named buffers in a fixed order.
struct ScratchCarver {
    private var next: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { next = base }
    mutating func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        defer { next += count }
        return next
    }
}

/// Causal depthwise conv1d (`xlstm.components.conv.CausalConv1d`, groups = features) in step form.
/// weight [features, 1, kernel] as nn.Conv1d stores it; state holds the previous kernel−1 inputs.
struct CausalConv1D: @unchecked Sendable {
    let weight: UnsafePointer<Float>  // [features, kernel]
    let taps: UnsafePointer<Float>    // [kernel, features]: the weight transposed, one tap per row
    let bias: UnsafePointer<Float>?   // [features]
    let features: Int
    let kernel: Int

    /// `taps` is filled from `weight` here (a buffer of the weight store, kernel · features floats).
    init(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, features: Int, kernel: Int,
         taps: UnsafeMutablePointer<Float>) {
        for f in 0..<features {
            for j in 0..<kernel { taps[j * features + f] = weight[f * kernel + j] }
        }
        self.weight = weight
        self.taps = UnsafePointer(taps)
        self.bias = bias
        self.features = features
        self.kernel = kernel
    }

    /// Floats of state: the last kernel−1 inputs, oldest first. [kernel − 1, features]
    var stateCount: Int { (kernel - 1) * features }

    /// y[f] = bias[f] + Σ_j weight[f, j] · window[j][f], window = (state…, x); then the window slides.
    /// y must not alias x. Eight features at a time over the transposed taps (the strided scalar
    /// loop over [features, kernel] was ~30% of a small model's batched mLSTM block, perf); each
    /// lane adds its products in the same order as the scalar tail, so both give the same sums.
    @inline(__always)
    func step(_ x: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let history = kernel - 1, F = features
        let sr = UnsafeRawPointer(state), tr = UnsafeRawPointer(taps), xr = UnsafeRawPointer(x)
        let yr = UnsafeMutableRawPointer(y)
        var f = 0
        while f + 8 <= F {
            var sum = SIMD8<Float>()
            for j in 0..<history {
                sum += sr.loadUnaligned(fromByteOffset: (j * F + f) * 4, as: SIMD8<Float>.self)
                    * tr.loadUnaligned(fromByteOffset: (j * F + f) * 4, as: SIMD8<Float>.self)
            }
            sum += xr.loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self)
                * tr.loadUnaligned(fromByteOffset: (history * F + f) * 4, as: SIMD8<Float>.self)
            if let bias { sum += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self) }
            yr.storeBytes(of: sum, toByteOffset: f * 4, as: SIMD8<Float>.self)
            f += 8
        }
        while f < F {
            var sum: Float = 0
            for j in 0..<history { sum += state[j * F + f] * taps[j * F + f] }
            sum += x[f] * taps[history * F + f]
            if let bias { sum += bias[f] }
            y[f] = sum
            f += 1
        }
        if history > 0 {
            (state).update(from: state + F, count: (history - 1) * F)
            (state + (history - 1) * F).update(from: x, count: F)
        }
    }
}

/// `LinearHeadwiseExpand`: a block-diagonal projection. weight [heads, outPerHead, inPerHead].
/// out[h·outPerHead + o] = Σ_d W[h, o, d] · x[h·inPerHead + d] (+ bias).
struct HeadwiseLinear: @unchecked Sendable {
    let kernels: KernelSet
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let heads: Int
    let inPerHead: Int
    let outPerHead: Int
    /// For blocks of 4 × 4 (the default qkv_proj_blocksize): the weight as [heads, inPerHead, 4],
    /// so a head's 4 outputs are one vector; nil otherwise.
    let columns: UnsafePointer<Float>?

    /// `store` gives the buffer of the transposed 4 × 4 blocks (`columns`).
    init(kernels: KernelSet, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, heads: Int,
         inPerHead: Int, outPerHead: Int, store: WeightStore) throws(XLSTMError) {
        self.kernels = kernels
        self.weight = weight
        self.bias = bias
        self.heads = heads
        self.inPerHead = inPerHead
        self.outPerHead = outPerHead
        if inPerHead == 4 && outPerHead == 4 {
            let buffer = try store.derivedBuffer(count: heads * 16)
            for h in 0..<heads {
                for o in 0..<4 {
                    for d in 0..<4 { buffer[h * 16 + d * 4 + o] = weight[h * 16 + o * 4 + d] }
                }
            }
            columns = UnsafePointer(buffer)
        } else {
            columns = nil
        }
    }

    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if let columns {
            // 4 × 4 blocks: a head's outputs as one vector, Σ_d column_d · x[d] in d order (the
            // scalar loop's order, so the same sums; the scalar loop was ~10% of a small model's
            // mLSTM block, perf).
            let cr = UnsafeRawPointer(columns), yr = UnsafeMutableRawPointer(y)
            for h in 0..<heads {
                let xh = x + h * 4, base = h * 64
                var sum = cr.loadUnaligned(fromByteOffset: base, as: SIMD4<Float>.self) * SIMD4(repeating: xh[0])
                sum += cr.loadUnaligned(fromByteOffset: base + 16, as: SIMD4<Float>.self) * SIMD4(repeating: xh[1])
                sum += cr.loadUnaligned(fromByteOffset: base + 32, as: SIMD4<Float>.self) * SIMD4(repeating: xh[2])
                sum += cr.loadUnaligned(fromByteOffset: base + 48, as: SIMD4<Float>.self) * SIMD4(repeating: xh[3])
                yr.storeBytes(of: sum, toByteOffset: h * 16, as: SIMD4<Float>.self)
            }
            if let bias { add(bias, into: y, count: heads * 4) }
            return
        }
        if inPerHead <= 8 && outPerHead <= 8 {
            // Small blocks: a call per block would cost more than its multiply-adds; a plain loop.
            for h in 0..<heads {
                let w = weight + h * outPerHead * inPerHead, xh = x + h * inPerHead, yh = y + h * outPerHead
                for o in 0..<outPerHead {
                    var sum: Float = 0
                    for d in 0..<inPerHead { sum += w[o * inPerHead + d] * xh[d] }
                    yh[o] = sum
                }
            }
            if let bias { add(bias, into: y, count: heads * outPerHead) }
            return
        }
        for h in 0..<heads {
            kernels.matVecRowMajorF32(weight + h * outPerHead * inPerHead, outPerHead, inPerHead,
                              x + h * inPerHead, y + h * outPerHead)
        }
        if let bias { add(bias, into: y, count: heads * outPerHead) }
    }
}

/// A projection with very few output rows (the paper mLSTM's input and forget gates: one row per
/// head), kept row-major in float32 and computed with the row-major matvec. In the packed layout
/// (MatrixPacking.swift) such a matrix is padded to the panel height (32 rows on AVX-512), so 4
/// gate rows read 8× their bytes: ~25% of a 0.5 M-parameter model's step traffic (perf, issue 9).
/// weight [rows, cols] (the stacked parts' rows in order), bias [rows].
struct NarrowLinear: @unchecked Sendable {
    let kernels: KernelSet
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let rows: Int
    let cols: Int

    /// The `parts` (checkpoint names, each [count, cols] with a bias [count]) stacked.
    init(_ parts: [(name: String, rows: Int)], cols: Int, bias: Bool, weights w: WeightLoader) throws(XLSTMError) {
        let rows = parts.reduce(0) { $0 + $1.rows }
        let stacked = try w.store.derivedBuffer(count: rows * cols)
        let biases: UnsafeMutablePointer<Float>? = bias ? try w.store.derivedBuffer(count: rows) : nil
        var row = 0
        for part in parts {
            stacked.advanced(by: row * cols).update(from: try w.tensor(part.name + ".weight", [part.rows, cols]).data,
                                                    count: part.rows * cols)
            if let biases { (biases + row).update(from: try w.tensor(part.name + ".bias", [part.rows]).data, count: part.rows) }
            row += part.rows
        }
        kernels = w.store.kernels
        weight = UnsafePointer(stacked)
        self.bias = biases.map { UnsafePointer($0) }
        self.rows = rows
        self.cols = cols
    }

    /// x [cols] -> y [rows]
    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        kernels.matVecRowMajorF32(weight, rows, cols, x, y)
        if let bias { add(bias, into: y, count: rows) }
    }
}

extension CausalConv1D {
    /// The step applied to `count` tokens in order: x [count, features] → y [count, features].
    func run(_ x: UnsafePointer<Float>, count: Int, state: UnsafeMutablePointer<Float>,
             into y: UnsafeMutablePointer<Float>) {
        for t in 0..<count { step(x + t * features, state: state, into: y + t * features) }
    }
}

/// Per-head LayerNorm (`MultiHeadLayerNorm` of both families = group norm with one group per head).
/// x [heads·headDim] normalised head by head; weight/bias [heads·headDim] applied after.
@inline(__always)
func multiHeadLayerNorm(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int,
                        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float) {
    for h in 0..<heads {
        let offset = h * headDim
        layerNorm(x + offset, count: headDim, weight: weight.map { $0 + offset }, bias: bias.map { $0 + offset },
                  eps: eps, into: x + offset)
    }
}

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
    /// x [count, embeddingDim] ← x + block(x) for a span of tokens, advancing `state` over all of them:
    /// the same result as `count` calls of `step`, computed with matrix–matrix products and (mLSTM)
    /// the chunkwise-parallel cell.
    func prefill(_ x: UnsafeMutablePointer<Float>, count: Int, state: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?, chunkSize: Int)
    /// x [count, embeddingDim] ← x + block(x) for `count` independent sequences, one token each:
    /// row i advances the state at states[i] + stateOffset (Batch.swift). The same as `step` on each
    /// row up to float rounding (its projections are matrix–matrix products through the GEMM).
    /// Scratch: `prefillScratchCount(tokens: count, chunkSize: 1)` floats.
    func stepBatch(_ x: UnsafeMutablePointer<Float>, count: Int, states: UnsafePointer<UnsafeMutablePointer<Float>>,
                   stateOffset: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?)
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
    let bias: UnsafePointer<Float>?   // [features]
    let features: Int
    let kernel: Int

    /// Floats of state: the last kernel−1 inputs, oldest first. [kernel − 1, features]
    var stateCount: Int { (kernel - 1) * features }

    /// y[f] = bias[f] + Σ_j weight[f, j] · window[j][f], window = (state…, x); then the window slides.
    /// y must not alias x.
    @inline(__always)
    func step(_ x: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let history = kernel - 1
        for f in 0..<features {
            let w = weight + f * kernel
            var sum: Float = 0
            for j in 0..<history { sum += state[j * features + f] * w[j] }
            sum += x[f] * w[history]
            if let bias { sum += bias[f] }
            y[f] = sum
        }
        if history > 0 {
            (state).update(from: state + features, count: (history - 1) * features)
            (state + (history - 1) * features).update(from: x, count: features)
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

    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if inPerHead <= 8 && outPerHead <= 8 {
            // Blocks of 4 (the default qkv_proj_blocksize): a call per block would cost more than
            // its 16 multiply-adds; a plain loop over every head instead.
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

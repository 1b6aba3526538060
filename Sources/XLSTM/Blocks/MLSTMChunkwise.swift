// The mLSTM cell over a span of tokens in chunkwise-parallel form, for one head, shared by both
// families. It is the step recurrence (`mLSTMCellStep`) reorganised, not an approximation of it:
//
// With b_t = Σ_{s≤t} logσ(f̃_s) inside a chunk that starts from the stabilised state (C₀, n₀, m₀),
// the step recursion m_t = max(logσ(f̃_t) + m_{t−1}, ĩ_t) unrolls to
//     m_t = max(b_t + m₀, max_{s≤t} (b_t − b_s + ĩ_s)),
// and with D_ts = exp(b_t − b_s + ĩ_s − m_t), g_t = exp(b_t + m₀ − m_t), q' = q·queryScale, k' = k·keyScale:
//     h_num,t = g_t q'_tᵀC₀ + Σ_{s≤t} D_ts (q'_t·k'_s) v_s
//     (q'n)_t = g_t q'_t·n₀ + Σ_{s≤t} D_ts (q'_t·k'_s)
//     h_t     = h_num,t / (max(|(q'n)_t|, exp(−m_t)) + eps)
// and the state after the chunk (t = L) is C_L = g_L C₀ + Σ_s D_Ls k'_s v_sᵀ, n_L likewise, m_L.
// Inside a chunk the work is matrix products (the L×L score matrix, its product with V, Qᵀ C₀);
// across chunks only (C, n, m) is carried — the structure of mlstm_kernels' chunkwise kernels.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Strided views of one head's inputs and output over a span of tokens.
struct MLSTMSpan {
    var q: UnsafePointer<Float>; var qStride: Int            // [count, qkDim]
    var k: UnsafePointer<Float>; var kStride: Int            // [count, qkDim]
    var v: UnsafePointer<Float>; var vStride: Int            // [count, vDim]
    var inputGate: UnsafePointer<Float>; var gateStride: Int // ĩ [count]
    var forgetGate: UnsafePointer<Float>                     // f̃ [count], same stride
    var h: UnsafeMutablePointer<Float>; var hStride: Int     // out [count, vDim]
}

/// Floats of scratch `mLSTMChunkwise` needs for chunks of `chunkSize` tokens and heads of (at most) `qkDim`.
func mLSTMChunkScratchCount(chunkSize: Int, qkDim: Int) -> Int {
    chunkSize * chunkSize + 3 * chunkSize + 4 * max(chunkSize, qkDim)
}

/// One index of a loop that `forEachHead` deals to the pool: a value holding what the loop body
/// reads, not a closure. Swift hands a closure to another thread only through
/// `withoutActuallyEscaping`, which boxes it on the heap (one allocation per parallel region); a
/// value goes to the workers by pointer and allocates nothing.
protocol IndexedBody {
    func callAsFunction(_ index: Int)
}

/// Runs `body(i)` for every i in 0..<count, the indices dealt round-robin to the pool's parts
/// (each index touches its own data: a head's columns and state, a session's row).
@inline(__always)
func forEachHead<Body: IndexedBody>(_ count: Int, pool: ThreadPool?, _ body: Body) {
    if let pool, pool.parts > 1, count > 1 {
        pool.run(RoundRobin(body: body, count: count, parts: pool.parts))
    } else {
        for i in 0..<count { body(i) }
    }
}

/// `body(i)` for i in 0..<count, part p taking p, p + parts, … (forEachHead's job).
struct RoundRobin<Body: IndexedBody>: ParallelJob {
    let body: Body
    let count: Int
    let parts: Int

    func run(part: Int) {
        var i = part
        while i < count { body(i); i += parts }
    }
}

/// Prefill's mLSTM cells, one (span, head) pair per index (index = span · heads + head): the
/// chunkwise cell over the span's rows, on head `head`'s columns (q, k at head · qkDim; v, h at
/// head · vDim; the gates at head) and the span's state (c | n | m from `spans.state`). Both families.
struct ChunkwiseHeads: IndexedBody {
    /// Row 0's views, head 0.
    let rows: MLSTMSpan
    let spans: Spans
    let heads: Int, qkDim: Int, vDim: Int
    let keyScale: Float, queryScale: Float, eps: Float
    let chunkSize: Int
    let kernels: KernelSet

    func callAsFunction(_ job: Int) {
        let span = job / heads, head = job % heads
        let first = spans.start(span)
        var s = rows
        s.q += first * s.qStride + head * qkDim
        s.k += first * s.kStride + head * qkDim
        s.v += first * s.vStride + head * vDim
        s.h += first * s.hStride + head * vDim
        s.inputGate += first * s.gateStride + head
        s.forgetGate += first * s.gateStride + head
        let c = spans.state(span)
        let n = c + heads * qkDim * vDim
        let m = n + heads * qkDim
        mLSTMChunkwise(s, count: spans.length(span), qkDim: qkDim, vDim: vDim, keyScale: keyScale, queryScale: queryScale,
                       eps: eps, c: c + head * qkDim * vDim, n: n + head * qkDim, m: m + head, chunkSize: chunkSize,
                       scratch: ThreadScratch.buffer(.cell, floats: mLSTMChunkScratchCount(chunkSize: chunkSize, qkDim: qkDim)),
                       kernels: kernels)
    }
}

/// A batch's mLSTM cells, one (session, head) pair per index (index = session · heads + head): one
/// step of the cell on the session's row and state. Both families.
struct StepCells: IndexedBody {
    /// Session 0's q, k, v (head 0), rows `rowStride` apart; its input gates (head 0; the forget
    /// gates follow `heads` later), rows `gateStride` apart; its h, rows `hStride` apart.
    let q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int
    let gates: UnsafePointer<Float>, gateStride: Int
    let h: UnsafeMutablePointer<Float>, hStride: Int
    /// Each session's state base; its cell state (c | n | m) starts `stateOffset` floats in.
    let states: UnsafePointer<UnsafeMutablePointer<Float>>, stateOffset: Int
    let heads: Int, qkDim: Int, vDim: Int
    let keyScale: Float, queryScale: Float, eps: Float
    let kernels: KernelSet

    func callAsFunction(_ job: Int) {
        let t = job / heads, head = job % heads
        let c = states[t] + stateOffset
        let n = c + heads * qkDim * vDim
        let m = n + heads * qkDim
        let row = t * rowStride, gate = gates + t * gateStride
        mLSTMCellStep(q: q + row + head * qkDim, k: k + row + head * qkDim, v: v + row + head * vDim,
                      inputPreactivation: gate[head], forgetPreactivation: gate[heads + head],
                      c: c + head * qkDim * vDim, n: n + head * qkDim, m: m + head,
                      qkDim: qkDim, vDim: vDim, keyScale: keyScale, queryScale: queryScale, eps: eps,
                      h: h + t * hStride + head * vDim, kernels: kernels)
    }
}

/// One token's cells (`cells` of one session, one index per head): on the pool when the block's
/// matrix memory holds at least `Matrix.streamingBytes` (the xLSTM-7B shape: 4 MB per block, read
/// and written each token — from memory, where two cores move it faster than one), else on the
/// calling thread (a few hundred KB stay in cache, where a hand-off costs more than it saves).
/// Every head computes alike either way, so the bits do not depend on it.
@inline(__always)
func forEachStepCell(_ cells: StepCells, pool: ThreadPool?) {
    if cells.heads * cells.qkDim * cells.vDim * 4 >= Matrix.streamingBytes {
        forEachHead(cells.heads, pool: pool, cells)
    } else {
        for head in 0..<cells.heads { cells(head) }
    }
}

/// Runs the cell over `count` tokens in chunks of `chunkSize`, updating c [qkDim, vDim], n [qkDim], m.
func mLSTMChunkwise(_ span: MLSTMSpan, count: Int, qkDim: Int, vDim: Int, keyScale: Float, queryScale: Float,
                    eps: Float, c: UnsafeMutablePointer<Float>, n: UnsafeMutablePointer<Float>,
                    m: UnsafeMutablePointer<Float>, chunkSize: Int, scratch: UnsafeMutablePointer<Float>,
                    kernels: KernelSet) {
    var start = 0
    while start < count {
        let length = min(chunkSize, count - start)
        var chunk = span
        chunk.q += start * span.qStride
        chunk.k += start * span.kStride
        chunk.v += start * span.vStride
        chunk.inputGate += start * span.gateStride
        chunk.forgetGate += start * span.gateStride
        chunk.h += start * span.hStride
        mLSTMChunk(chunk, length: length, qkDim: qkDim, vDim: vDim, keyScale: keyScale, queryScale: queryScale,
                   eps: eps, c: c, n: n, m: m, scratch: scratch, kernels: kernels)
        start += length
    }
}

/// One chunk of `length` tokens (see the file comment). Its products go through the path's
/// `dot`, `combineRows` and `combineRowsFour` kernels (the passes over C and V four outputs at a
/// time: each row read once for four, the same sums). scratch: scores [L, L] | b [L] | m_t [L] |
/// w [L] | weights [4, max(L, qkDim)].
@inline(never)
func mLSTMChunk(_ s: MLSTMSpan, length L: Int, qkDim: Int, vDim: Int, keyScale: Float, queryScale: Float,
                eps: Float, c: UnsafeMutablePointer<Float>, n: UnsafeMutablePointer<Float>,
                m: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, kernels: KernelSet) {
    let scores = scratch, b = scratch + L * L, rowMax = b + L, sourceWeight = rowMax + L, weights = sourceWeight + L
    let m0 = m.pointee
    let qkScale = queryScale * keyScale

    // Cumulative log forget gates and the stabiliser of every position.
    var cumulative: Float = 0
    var bestSource = -Float.infinity   // max_{s≤t} (ĩ_s − b_s)
    for t in 0..<L {
        cumulative += logSigmoid(s.forgetGate[t * s.gateStride])
        b[t] = cumulative
        bestSource = max(bestSource, s.inputGate[t * s.gateStride] - cumulative)
        rowMax[t] = max(cumulative + m0, cumulative + bestSource)
    }

    // Scores D_ts (q'_t·k'_s), lower triangle.
    for t in 0..<L {
        let qt = s.q + t * s.qStride
        let row = scores + t * L
        for j in 0...t {
            let decay = expf(b[t] - b[j] + s.inputGate[j * s.gateStride] - rowMax[t])
            row[j] = decay * qkScale * kernels.dot(qt, s.k + j * s.kStride, qkDim)
        }
    }

    // Outputs: inter-chunk part from (C₀, n₀): h = Cᵀ (g q'), then the intra-chunk part from the
    // scores: h += Σ_j D_tj v_j. The inter-chunk part goes four positions at a time (one pass
    // over C for four) when all four have g ≠ 0; a position with g = 0 gets h = 0 without reading C.
    let stride = max(L, qkDim)
    let g = sourceWeight   // each position's inter-chunk weight (sourceWeight is free until the carry)
    for t in 0..<L { g[t] = expf(b[t] + m0 - rowMax[t]) * queryScale }
    var t = 0
    while t < L {
        let four = t + 4 <= L && g[t] != 0 && g[t + 1] != 0 && g[t + 2] != 0 && g[t + 3] != 0
        if four {   // the four h rows are s.hStride apart
            for k in 0..<4 {
                let qt = s.q + (t + k) * s.qStride, w = weights + k * stride
                for r in 0..<qkDim { w[r] = g[t + k] * qt[r] }
            }
            kernels.combineRowsFour(weights, stride, qkDim, c, vDim, vDim, s.h + t * s.hStride, s.hStride, false)
        }
        for position in t..<(t + (four ? 4 : 1)) {
            let h = s.h + position * s.hStride
            var qn: Float = 0
            if four {
                qn = kernels.dot(weights + (position - t) * stride, n, qkDim)
            } else if g[position] != 0 {
                let qt = s.q + position * s.qStride
                for r in 0..<qkDim { weights[r] = g[position] * qt[r] }
                kernels.combineRows(weights, qkDim, c, vDim, vDim, h, false)
                qn = kernels.dot(weights, n, qkDim)
            } else {
                h.update(repeating: 0, count: vDim)
            }
            let row = scores + position * L
            kernels.combineRows(row, position + 1, s.v, s.vStride, vDim, h, true)
            for j in 0...position { qn += row[j] }
            let denominator = max(abs(qn), expf(-rowMax[position])) + eps
            let inverse = 1 / denominator
            for j in 0..<vDim { h[j] = h[j] * inverse }
        }
        t += four ? 4 : 1
    }

    // Carry the state to the end of the chunk: C ← decay·C + Σ_j w_j k'_j v_jᵀ, row by row.
    let mEnd = rowMax[L - 1]
    let decay = expf(b[L - 1] + m0 - mEnd)
    for i in 0..<(qkDim * vDim) { c[i] *= decay }
    for r in 0..<qkDim { n[r] *= decay }
    for j in 0..<L {
        sourceWeight[j] = expf(b[L - 1] - b[j] + s.inputGate[j * s.gateStride] - mEnd) * keyScale
    }
    // Four rows of C per pass over V, then the rest one by one.
    var r = 0
    while r < qkDim {
        let count = r + 4 <= qkDim ? 4 : 1
        for k in 0..<count {
            var total: Float = 0
            let w = weights + k * stride
            for j in 0..<L {
                let weight = sourceWeight[j] * s.k[j * s.kStride + r + k]
                w[j] = weight
                total += weight
            }
            n[r + k] += total
        }
        if count == 4 {
            kernels.combineRowsFour(weights, stride, L, s.v, s.vStride, vDim, c + r * vDim, vDim, true)
        } else {
            kernels.combineRows(weights, L, s.v, s.vStride, vDim, c + r * vDim, true)
        }
        r += count
    }
    m.pointee = mEnd
}

// The machine's limits, measured in the same run as the engine.

import XLSTM

/// FLOP/s of the FMA (multiply-add on the portable path) of `kernels`' ISA on every thread of
/// `pool`: its peak loop, 12 independent register-wide chains per thread.
func measurePeakFMA(pool: ThreadPool, kernels: KernelSet) -> Double {
    let iterations = 20_000_000
    var sinks = [Float](repeating: 0, count: pool.parts)
    var best = 0.0
    for _ in 0..<3 {
        let start = now()
        sinks.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            pool.run { part in base[part] = kernels.runPeakLoop(iterations: iterations) }
        }
        let seconds = now() - start
        best = max(best, Double(iterations) * Double(kernels.peakFlopsPerIteration) * Double(pool.parts) / seconds)
    }
    if sinks.contains(.nan) { print("(sink)") }
    return best
}

/// Bytes/s of streaming reads of a 1 GiB buffer, split across the threads of `pool`.
func measureBandwidth(pool: ThreadPool) -> Double {
    let count = (1 << 30) / 4
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 1, count: count)
    let parts = pool.parts
    var sums = [Float](repeating: 0, count: parts)
    var best = 0.0
    for _ in 0..<3 {
        let start = now()
        sums.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            pool.run { part in
                let per = count / parts
                base[part] = streamSum(buffer + part * per, count: per)
            }
        }
        best = max(best, Double(count * 4) / (now() - start))
    }
    if sums.contains(.nan) { print("(sink)") }
    return best
}

/// Sum of `count` floats read as four interleaved sequential streams (one per quarter), so the
/// prefetchers of several pages work at once, as in a matvec over consecutive weight panels.
@inline(never)
func streamSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    let quarter = count / 4 & ~63
    let q0 = UnsafeRawPointer(p), q1 = q0 + quarter * 4, q2 = q1 + quarter * 4, q3 = q2 + quarter * 4
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    while i + 16 <= quarter {
        a0 += q0.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        a1 += q1.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        a2 += q2.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        a3 += q3.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    return (a0 + a1 + a2 + a3).sum()
}

/// FLOPs of a prefill of `tokens` tokens: every projection (2·rows·cols per token; the lm_head once)
/// and, for mLSTM, the chunkwise cell (scores, intra, inter and state update per chunk and head).
func prefillFlops(_ model: Model, tokens: Int, chunkSize: Int) -> Double {
    let head = Double(model.vocabSize * model.embeddingDim) * 2
    let matrices = Double(model.weights.matrixElements) * 2
    var flops = (matrices - head) * Double(tokens) + head
    if case let .large(c) = model.config {
        let dqk = Double(c.qkDim / c.numHeads), dv = Double(c.vDim / c.numHeads)
        let chunks = Double((tokens + chunkSize - 1) / chunkSize), l = Double(chunkSize)
        let perChunk = (l * (l + 1) / 2) * (dqk + dv) * 2 + 2 * l * dqk * dv * 2
        flops += perChunk * chunks * Double(c.numHeads * c.numBlocks)
    }
    return flops
}

/// FLOP/s of the largest up-projection of the model over `tokens` tokens.
func measureGEMM(_ model: Model, tokens: Int, pool: ThreadPool) throws -> (Double, String) {
    guard case let .large(c) = model.config else { return (0, "n/a") }
    let name = c.fusedWeights ? "backbone.blocks.0.ffn.proj_up_gate_z.weight" : "backbone.blocks.0.ffn.proj_up.weight"
    let rows = c.fusedWeights ? 2 * c.ffnDim : c.ffnDim
    let matrix = try model.weights.matrix(name, rows: rows, cols: c.embeddingDim)
    var x = [Float](repeating: 0.01, count: tokens * c.embeddingDim)
    var y = [Float](repeating: 0, count: tokens * rows)
    var best = 0.0
    for _ in 0..<3 {
        let start = now()
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                matrix.applyBatch(xb.baseAddress!, xStride: c.embeddingDim, count: tokens, into: yb.baseAddress!,
                                  yStride: rows, pool: pool)
            }
        }
        best = max(best, 2 * Double(rows * c.embeddingDim * tokens) / (now() - start))
    }
    return (best, "[\(rows) × \(c.embeddingDim)]")
}

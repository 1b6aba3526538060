// The machine's limits, measured in the same run as the engine.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

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

/// Ops/s (2 per integer multiply-add) of AVX-512 VNNI `vpdpbusd` on every thread of `pool`: 12
/// independent chains per thread; nil where the CPU has no VNNI. The ceiling of `fast`'s int8 GEMM.
func measurePeakInt8(pool: ThreadPool) -> Double? {
    guard KernelSet.runInt8PeakLoop(iterations: 1) != nil else { return nil }
    let iterations = 20_000_000
    var sinks = [Int32](repeating: 0, count: pool.parts)
    var best = 0.0
    for _ in 0..<3 {
        let start = now()
        sinks.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            pool.run { part in base[part] = KernelSet.runInt8PeakLoop(iterations: iterations) ?? 0 }
        }
        let seconds = now() - start
        best = max(best, Double(iterations) * Double(KernelSet.int8PeakOpsPerIteration) * Double(pool.parts) / seconds)
    }
    if sinks.contains(Int32.min) { print("(sink)") }
    return best
}

/// Bytes/s of streaming reads, the ceiling a bandwidth-bound step is held against: the most this
/// machine reads, so a figure above 100 % means the step is served partly from cache (a model whose
/// weights are not ≫ L3), never that the reference loop was slow. Hence:
///   - the widest loads this CPU has (`kernels`, default its best path's `streamRead`: 64-byte
///     AVX-512 loads on an AVX-512 CPU, whatever path the engine is forced to). The loop this
///     replaces was compiled with the bench for baseline x86-64 (16-byte SSE loads, 4 streams): on
///     the Xeon model 207 of issue 9 it read 13–14 GB/s on one thread, less than the f32 matvec
///     streams (14–15 GB/s); this one reads 16–17 GB/s;
///   - 8 independent sequential streams per thread (the prefetchers and line-fill buffers are the
///     limit, not the loop), each thread of `pool` on its own contiguous share;
///   - a buffer ≫ L3 (max(1 GiB, 8 × L3), at most 4 GiB) backed by transparent huge pages when the
///     system allows (no TLB misses in the way), written once before timing (no page faults);
///   - the best of `runs` passes (the machine is shared; the best pass is the least disturbed).
func measureBandwidth(pool: ThreadPool, kernels: KernelSet? = nil, runs: Int = 5) -> Double {
    let loop = kernels ?? KernelSet.table(CPUInfo.current.bestPath)
    let level3 = max(0, sysconf(Int32(_SC_LEVEL3_CACHE_SIZE)))
    let bytes = min(max(1 << 30, 8 * level3), 4 << 30) & ~((1 << 21) - 1)
    guard let buffer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
          buffer != MAP_FAILED else { return 0 }
    defer { munmap(buffer, bytes) }
    _ = madvise(buffer, bytes, 14)   // MADV_HUGEPAGE (best effort)
    buffer.initializeMemory(as: Float.self, repeating: 1, count: bytes / 4)
    let parts = pool.parts
    let share = bytes / parts & ~4095
    var sums = [Float](repeating: 0, count: parts)
    var best = 0.0
    for _ in 0..<runs {
        let start = now()
        sums.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            pool.run { part in base[part] = loop.runStreamRead(UnsafeRawPointer(buffer + part * share), bytes: share) }
        }
        best = max(best, Double(share * parts) / (now() - start))
    }
    if sums.contains(.nan) { print("(sink)") }
    return best
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
    for _ in 0..<12 {   // best of 12: one product is ~10 ms, short enough for a neighbour's burst to spoil
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

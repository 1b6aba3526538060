// The machine's limits, measured in the same run as the engine.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// FLOP/s of the FMA (multiply-add on the portable path) of `kernels`' ISA on every thread of
/// `pool`: its peak loop, 12 independent register-wide chains per thread, best of `runs` passes of
/// `iterations` (20 M: ~50 ms a pass here; a short pass paired with a measured run, see `paired`).
func measurePeakFMA(pool: ThreadPool, kernels: KernelSet, iterations: Int = 20_000_000, runs: Int = 3) -> Double {
    measurePeak(pool: pool, opsPerIteration: kernels.peakFlopsPerIteration, iterations: iterations, runs: runs) {
        Double(kernels.runPeakLoop(iterations: $0))
    } ?? 0
}

/// Ops/s (2 per integer multiply-add) of AVX-512 VNNI `vpdpbusd` on every thread of `pool`: 12
/// independent chains per thread; nil where the CPU has no VNNI. The ceiling of `fast`'s int8 GEMM.
func measurePeakInt8(pool: ThreadPool) -> Double? {
    measurePeak(pool: pool, opsPerIteration: KernelSet.int8PeakOpsPerIteration) {
        KernelSet.runInt8PeakLoop(iterations: $0).map(Double.init)
    }
}

/// FLOP/s (4 per lane and instruction: two multiply-adds) of AVX-512 BF16 `vdpbf16ps` on every
/// thread of `pool`: 20 independent chains per thread; nil where the CPU has no AVX-512 BF16. The
/// ceiling of `fast`'s bf16 GEMM.
func measurePeakBF16(pool: ThreadPool) -> Double? {
    measurePeak(pool: pool, opsPerIteration: KernelSet.bf16PeakFlopsPerIteration) {
        KernelSet.runBF16PeakLoop(iterations: $0).map(Double.init)
    }
}

/// The best of `runs` passes of `loop` (iterations -> its sink, nil where this CPU lacks the
/// instructions) on every thread of `pool` at once: ops/s, counting `opsPerIteration` per iteration
/// and thread; nil if `loop` is.
func measurePeak(pool: ThreadPool, opsPerIteration: Int, iterations: Int = 20_000_000, runs: Int = 3,
                 _ loop: @escaping @Sendable (Int) -> Double?) -> Double? {
    guard loop(1) != nil else { return nil }
    var sinks = [Double](repeating: 0, count: pool.parts)
    var best = 0.0
    for _ in 0..<runs {
        let start = now()
        sinks.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            pool.run { part in base[part] = loop(iterations) ?? 0 }
        }
        let seconds = now() - start
        best = max(best, Double(iterations) * Double(opsPerIteration) * Double(pool.parts) / seconds)
    }
    if sinks.contains(.nan) { print("(sink)") }
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
///     system allows (no TLB misses in the way), written once before timing (no page faults).
/// The buffer stays mapped while the probe lives, so that passes can be interleaved with the
/// engine's work (`Bench` pairs each burst of steps with the passes beside it).
final class StreamProbe {
    let pool: ThreadPool
    let loop: KernelSet
    let buffer: UnsafeMutableRawPointer
    let bytes: Int

    init?(pool: ThreadPool, kernels: KernelSet? = nil) {
        self.pool = pool
        loop = kernels ?? KernelSet.table(CPUInfo.current.bestPath)
        bytes = min(max(1 << 30, 8 * level3CacheBytes()), 4 << 30) & ~((1 << 21) - 1)
        guard let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return nil }
        buffer = mapped
        _ = madvise(buffer, bytes, 14)   // MADV_HUGEPAGE (best effort)
        buffer.initializeMemory(as: Float.self, repeating: 1, count: bytes / 4)
    }

    deinit { munmap(buffer, bytes) }

    /// Bytes/s of one pass over the whole buffer, every thread of the pool on its own share: the
    /// better of a plain pass and one whose streams also prefetch far ahead into L2 (the streaming
    /// kernels' prefetch: without it, they read faster than this "ceiling" on the Xeon model 207).
    func pass() -> Double { max(pass(prefetchL2: false), pass(prefetchL2: true)) }

    func pass(prefetchL2: Bool) -> Double {
        let parts = pool.parts, share = bytes / parts & ~4095
        var sums = [Float](repeating: 0, count: parts)
        let start = now()
        sums.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            let buffer = self.buffer, loop = self.loop
            pool.run { part in
                base[part] = loop.runStreamRead(UnsafeRawPointer(buffer + part * share), bytes: share, prefetchL2: prefetchL2)
            }
        }
        let rate = Double(share * parts) / (now() - start)
        if sums.contains(.nan) { print("(sink)") }
        return rate
    }

    /// The best of `runs` passes (the machine is shared; the best pass is the least disturbed).
    func best(of runs: Int = 5) -> Double { (0..<runs).map { _ in pass() }.max() ?? 0 }
}

/// The L3 of cpu0 as the kernel describes it (/sys/devices/system/cpu/cpu0/cache/index*/: the
/// index whose level is 3, its size like "32768K"), else glibc's sysconf — which on the Zen 4 KVM
/// guest reported 320 MiB for a 32 MiB L3 (its cpuid leaf's sharing count taken for a multiplier).
func level3CacheBytes() -> Int {
    func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.filter { !$0.isWhitespace }
    }
    for index in 0..<8 {
        let base = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
        guard let level = read(base + "level") else { break }
        guard level == "3", let size = read(base + "size"), let unit = size.last else { continue }
        let scale = unit == "K" ? 1 << 10 : unit == "M" ? 1 << 20 : unit == "G" ? 1 << 30 : 1
        if let value = Int(scale == 1 ? size : String(size.dropLast())), value > 0 { return value * scale }
    }
    return max(0, sysconf(Int32(_SC_LEVEL3_CACHE_SIZE)))
}

/// Ratios of the engine's rate to the machine's limit, each measured next to the other: for each
/// of `rounds`, `work()` (returns its rate) and then `limit()`, the ratio taken against the mean of
/// the limit passes before and after it. On a shared machine the neighbours' load moves both
/// alike within a round; a limit measured once at the start would not have seen it.
struct Paired {
    var rates: [Double] = []
    var limits: [Double] = []
    var ratios: [Double] = []

    init(rounds: Int, work: () throws -> Double, limit: () -> Double) rethrows {
        var before = limit()
        for _ in 0..<rounds {
            let rate = try work()
            let after = limit()
            rates.append(rate)
            limits.append((before + after) / 2)
            ratios.append(rate / ((before + after) / 2))
            before = after
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// "median M% (lo–hi%) of the L <unit> measured beside each of N <what>"
    func describe(scale: Double, unit: String, what: String) -> String {
        let percent = ratios.map { 100 * $0 }
        return "median \(fmt(Paired.median(percent)))% (\(fmt(percent.min() ?? 0))–\(fmt(percent.max() ?? 0))%) of the "
            + "\(fmt(Paired.median(limits) / scale)) \(unit) measured beside each of \(ratios.count) \(what)"
    }
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

/// FLOP/s of the largest up-projection of the model over `tokens` tokens: the best of 12 products,
/// and each product held against a short peak-FMA pass after it (`Paired`).
func measureGEMM(_ model: Model, tokens: Int, pool: ThreadPool, kernels: KernelSet) throws -> (Double, String, Paired?) {
    guard case let .large(c) = model.config else { return (0, "n/a", nil) }
    let name = c.fusedWeights ? "backbone.blocks.0.ffn.proj_up_gate_z.weight" : "backbone.blocks.0.ffn.proj_up.weight"
    let rows = c.fusedWeights ? 2 * c.ffnDim : c.ffnDim
    let matrix = try model.weights.matrix(name, rows: rows, cols: c.embeddingDim)
    var x = [Float](repeating: 0.01, count: tokens * c.embeddingDim)
    var y = [Float](repeating: 0, count: tokens * rows)
    // 12 products (one is ~10 ms for the 162 M model, short enough for a neighbour's burst to spoil),
    // each followed by the best of two 4 M-iteration peak passes (~10 ms each): after a long product
    // (the 7B shape's, ~80 ms) the pool's worker has gone to sleep, and on a KVM guest its wake-up
    // can outlast a single short pass, whose parts the caller then runs alone (one core's rate: the
    // 7B exact GEMM was held against 223 GFLOP/s of a 2-thread peak of 480 on the Zen 5 machine).
    let pairs = Paired(rounds: 12, work: {
        let start = now()
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                matrix.applyBatch(xb.baseAddress!, xStride: c.embeddingDim, count: tokens, into: yb.baseAddress!,
                                  yStride: rows, pool: pool)
            }
        }
        return 2 * Double(rows * c.embeddingDim * tokens) / (now() - start)
    }, limit: { measurePeakFMA(pool: pool, kernels: kernels, iterations: 4_000_000, runs: 2) })
    return (pairs.rates.max() ?? 0, "[\(rows) × \(c.embeddingDim)]", pairs)
}

// The batch GEMM alone (`--batch-gemm 1,16,64`): the projections of n sessions as xlstm_batch_feed
// runs them (Matrix.applyRows), over a set of weight matrices far larger than the caches, as a
// batch streams its model's weights; GFLOP/s vs the peak and the weights' read rate vs the bandwidth.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// Random panels of `count` matrices alternating [up × embedding] and [embedding × up] (a
/// feed-forward's two shapes) in `dtype`, `bytes` in all; then, per n, the best of 5 passes of
/// applyRows with n rows over every matrix. Prints one line per n.
func measureBatchGEMM(kernels: KernelSet, pool: ThreadPool, dtype: String, embedding: Int, counts: [Int],
                      peak: Double, bandwidth: Double, bytes: Int) {
    let up = embedding * 8 / 3 / 64 * 64
    let shapes = [(up, embedding), (embedding, up)]
    let element = dtype == "bf16" ? 2 : 4
    var matrices: [Matrix] = []
    var total = 0, elements = 0
    var seed: UInt32 = 12345
    // One anonymous mapping advised for huge pages, as the model's panels (WeightStore.allocatePanels).
    let arenaBytes = bytes + (64 << 20)
    guard let arena = mmap(nil, arenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
          arena != MAP_FAILED else { print("batch GEMM: out of memory"); return }
    _ = madvise(arena, arenaBytes, 14)   // MADV_HUGEPAGE
    defer { munmap(arena, arenaBytes) }
    var arenaUsed = 0
    while total < max(bytes, 1) {
        let (rows, cols) = shapes[matrices.count % 2]
        let stored = (rows + kernels.mr - 1) / kernels.mr * kernels.mr * cols
        let raw = arena + arenaUsed
        arenaUsed += (stored * element + 63) & ~63
        if element == 2 {
            let p = raw.bindMemory(to: UInt16.self, capacity: stored)
            for i in 0..<stored {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                p[i] = UInt16(0x3C00 | (seed >> 16 & 0x7F) | (seed & 0x8000))   // ±[2^-7, 2^-6)
            }
            matrices.append(Matrix(panels: .bf16(UnsafePointer(p)), rows: rows, cols: cols, kernels: kernels))
        } else {
            let p = raw.bindMemory(to: Float.self, capacity: stored)
            for i in 0..<stored {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                p[i] = Float(Int32(bitPattern: seed) >> 8) * 1e-9
            }
            matrices.append(Matrix(panels: .f32(UnsafePointer(p)), rows: rows, cols: cols, kernels: kernels))
        }
        total += stored * element
        elements += rows * cols
    }
    let widest = max(embedding, up)
    for n in counts {
        var x = [Float](repeating: 0.01, count: n * widest)
        var y = [Float](repeating: 0, count: n * widest)
        for i in x.indices { x[i] = Float(i % 97) * 0.01 - 0.5 }
        var best = Double.infinity
        for _ in 0..<5 {
            let start = now()
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    for m in matrices {
                        m.applyRows(xb.baseAddress!, xStride: m.cols, count: n, into: yb.baseAddress!, yStride: m.rows, pool: pool)
                    }
                }
            }
            best = min(best, now() - start)
        }
        let flops = 2 * Double(elements) * Double(n) / best, rate = Double(total) / best
        print("batch GEMM n = \(n): \(fmt(flops / 1e9)) GFLOP/s = \(fmt(100 * flops / peak))% of peak; weights (\(dtype), "
              + "\(total >> 20) MiB) read at \(fmt(rate / 1e9)) GB/s = \(fmt(100 * rate / bandwidth))% of bandwidth")
    }
}

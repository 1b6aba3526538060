// Matrix–matrix products for prefill: a span of tokens through one weight matrix in one pass.
// Contract: W [rows, cols] · X[t] [cols] -> Y[t] [rows] for t in 0..<count, X and Y row-major with
// the given row strides.
//
// The BLIS loop nest (bli_gemm_ker_var2) around the ISA's register-blocked micro-kernel
// (KernelSet.microKernel, MR rows × NR tokens of accumulators):
//
//   for pc in K by KC:                    pack X[·, pc..] → B̃ [KC][NR] slivers, all tokens (L2/L3)
//     for ic in M by MC:                  pack W[ic.., pc..] → Ã [KC][MR] slivers, widened to f32 (L2)
//       for jr in tokens by NR:           one B̃ sliver (KC·NR floats) stays in L1
//         for ir in MC by MR:             micro-kernel: C[jr.., ir..] (+)= Ã sliver · B̃ sliver
//
// Packing makes every micro-kernel load contiguous and widens bf16 weights once per span instead
// of once per token. Threads split the rows (each packs its own B̃). Edge tiles go through a small
// tile buffer, so the micro-kernel only ever sees full MR × NR tiles.

extension Matrix {
    /// K per packed block: a B̃ sliver (KC · NR floats) fits L1, an Ã block (MC · KC) fits L2.
    static let gemmKC = 256
    /// Rows per packed Ã block.
    static let gemmMC = 256

    /// Y[t] = W · X[t] for `count` tokens; rows split across `pool`. One token: the matvec.
    public func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int,
                           into y: UnsafeMutablePointer<Float>, yStride: Int, pool: ThreadPool? = nil) {
        if count == 1 {
            apply(x, into: y, pool: pool)
            return
        }
        let parts = pool?.parts ?? 1
        let mr = kernels.mr
        if let pool, parts > 1, rows * cols * count >= Matrix.parallelThreshold, rows >= 2 * mr * parts {
            let slivers = (rows + mr - 1) / mr
            let rowsPerPart = (slivers + parts - 1) / parts * mr
            pool.run { part in
                let start = part * rowsPerPart
                let n = min(rowsPerPart, rows - start)
                if n > 0 {
                    self.rows(start, count: n).gemm(x, xStride: xStride, count: count, into: y + start, yStride: yStride)
                }
            }
        } else {
            gemm(x, xStride: xStride, count: count, into: y, yStride: yStride)
        }
    }

    /// The loop nest above on the calling thread.
    func gemm(_ x: UnsafePointer<Float>, xStride: Int, count n: Int, into y: UnsafeMutablePointer<Float>, yStride: Int) {
        let mr = kernels.mr, nr = kernels.nr, micro = kernels.microKernel
        let M = rows, K = cols
        let KC = Matrix.gemmKC, MC = Matrix.gemmMC
        let tokenSlivers = (n + nr - 1) / nr
        let packedB = ThreadScratch.buffer(.packedB, floats: min(KC, K) * tokenSlivers * nr)
        let packedA = ThreadScratch.buffer(.packedA, floats: min(KC, K) * ((min(MC, M) + mr - 1) / mr) * mr)
        let tile = ThreadScratch.buffer(.edgeTile, floats: mr * nr)
        var pc = 0
        while pc < K {
            let kc = min(KC, K - pc)
            for sliver in 0..<tokenSlivers {
                packTokens(x + pc, xStride: xStride, first: sliver * nr, count: n, kc: kc, nr: nr,
                           into: packedB + sliver * kc * nr)
            }
            var ic = 0
            while ic < M {
                let mc = min(MC, M - ic)
                let rowSlivers = (mc + mr - 1) / mr
                for sliver in 0..<rowSlivers {
                    packRows(first: ic + sliver * mr, count: M, k: pc, kc: kc, mr: mr, into: packedA + sliver * kc * mr)
                }
                for jr in 0..<tokenSlivers {
                    let n0 = jr * nr, tokens = min(nr, n - n0)
                    let b = packedB + jr * kc * nr
                    for ir in 0..<rowSlivers {
                        let m0 = ic + ir * mr, rowCount = min(mr, M - m0)
                        let a = packedA + ir * kc * mr
                        let c = y + n0 * yStride + m0
                        if rowCount == mr && tokens == nr {
                            micro(kc, a, b, c, yStride, pc > 0)
                        } else {
                            micro(kc, a, b, tile, mr, false)
                            for j in 0..<tokens {
                                let row = c + j * yStride, part = tile + j * mr
                                if pc > 0 {
                                    for i in 0..<rowCount { row[i] += part[i] }
                                } else {
                                    row.update(from: part, count: rowCount)
                                }
                            }
                        }
                    }
                }
                ic += mc
            }
            pc += kc
        }
    }

    /// Ã sliver: rows [first, first + mr) × columns [k, k + kc) of W → out [kc][mr], widened to
    /// float32; rows past `count` are zero.
    @inline(__always)
    func packRows(first: Int, count: Int, k: Int, kc: Int, mr: Int, into out: UnsafeMutablePointer<Float>) {
        let valid = min(mr, count - first)
        if valid < mr {
            out.update(repeating: 0, count: kc * mr)
        }
        switch storage {
        case let .f32(w):
            for i in 0..<valid {
                let source = w + (first + i) * cols + k
                for kk in 0..<kc { out[kk * mr + i] = source[kk] }
            }
        case let .bf16(w):
            for i in 0..<valid {
                let source = w + (first + i) * cols + k
                for kk in 0..<kc { out[kk * mr + i] = Float(bitPattern: UInt32(source[kk]) << 16) }
            }
        }
    }
}

/// B̃ sliver: tokens [first, first + nr) × columns [0, kc) of X (already offset to the block's
/// first column) → out [kc][nr]; tokens past `count` are zero.
@inline(__always)
func packTokens(_ x: UnsafePointer<Float>, xStride: Int, first: Int, count: Int, kc: Int, nr: Int,
                into out: UnsafeMutablePointer<Float>) {
    let valid = min(nr, count - first)
    if valid < nr {
        out.update(repeating: 0, count: kc * nr)
    }
    for j in 0..<valid {
        let source = x + (first + j) * xStride
        for kk in 0..<kc { out[kk * nr + j] = source[kk] }
    }
}

// Matrix–matrix products for prefill: a span of tokens through one weight matrix in one pass.
// Contract: W [rows, cols] · X[t] [cols] -> Y[t] [rows] for t in 0..<count, X and Y row-major with
// the given row strides.
//
// The loop nest around the ISA's register-blocked micro-kernel (KernelSet.microKernel*, MR rows × NR
// tokens of accumulators). W is already in panels of MR rows (packed once at load:
// MatrixPacking.swift), so only the tokens' inputs are packed here:
//
//   for tokens in blocks of NC:           pack X[block, ·] → B̃, all of K, in NR-token slivers (L2)
//     for ir over W's panels:             W streams once per block, in memory order …
//       for pc in K by KC:                … the panel's rows [pc, pc + KC) stay in L1
//         for jr in the block by NR:      while every B̃ sliver passes
//           micro-kernel: C[jr.., ir..] (+)= panel[pc..] · B̃ sliver
//
// (Sources/XLSTM/Model/Batch.swift `batchGEMM` is one block.) NC keeps a block's B̃ within 384 KiB
// (`gemmTokenBlock`); each (panel, token sliver) tile of C is finished — all of K — before the next,
// so C is written once from L1/L2. The loop nest this replaced (BLIS's var2: K blocks outermost,
// all tokens per K block) re-read and re-wrote all of C once per KC = 128 columns: for the
// xLSTM-7B shape's [10944 × 4096] × 256 that is 32 passes over 11 MB of C per product, and the GEMM
// ran at 75% of the FMA peak where this one runs at 89% (2 threads; prefill 18.3 → 21.6 tokens/s).
// Each output is the same sum as before — KC-block sums added in K order, each block's sum one FMA
// chain — so prefill's results are bit-identical to the old nest's.
//
// Threads split the panels (each packs its own B̃). Edge tiles (the last panel's padding rows, a
// partial token sliver) go through a small tile buffer, so the micro-kernel only sees full tiles.
// Quantized panels (q8_0 / q4_0) are dequantized, one panel's KC rows at a time, into the thread's
// f32 tile (KC · MR floats, in L1; scale · code, the reference values), which the f32 micro-kernel
// then runs against every B̃ sliver: the dequantization is paid once per panel block and token block.
// bf16 panels are widened the same way, once per panel block and token block, but by the first
// sliver's micro-kernel as it computes (no separate pass: that one took the block's first touch
// from memory and was slower for a batch's two slivers); the other slivers run the f32 kernels.
// Under `Precision.fast` (KernelSet.int8GEMM) quantized panels take the int8 GEMM instead
// (Sources/CXLSTMCPU/int8_gemm.c): X's rows quantized once per call, each token computed exactly as
// the fast step's matvec.

import CXLSTMCPU

extension Matrix {
    /// K per block: a panel's block (KC · MR floats, 16 KiB at MR = 32) and a B̃ sliver fit L1, and
    /// every accumulator sums at most KC products before it is added to C (rounding).
    static let gemmKC = 128

    /// Y[t] = W · X[t] for `count` tokens; rows split across `pool`. One token: the matvec.
    public func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int,
                           into y: UnsafeMutablePointer<Float>, yStride: Int, pool: ThreadPool? = nil) {
        if count == 1 {
            apply(x, into: y, pool: pool)
            return
        }
        if case let .stacked(s) = storage {
            s.applyBatch(x, xStride: xStride, count: count, into: y, yStride: yStride, pool: pool)
            return
        }
        let parts = pool?.parts ?? 1
        let panels = panelCount, mr = kernels.mr
        if let pool, parts > 1, rows * cols * count >= Matrix.parallelThreshold, panels >= 2 * parts {
            pool.run(GEMMSplit(matrix: self, x: x, xStride: xStride, count: count, y: y, yStride: yStride,
                               perPart: (panels + parts - 1) / parts, mr: mr, batch: false))
        } else {
            gemm(x, xStride: xStride, count: count, into: y, yStride: yStride)
        }
    }

    /// One part of a threaded GEMM (prefill's `gemm` or a batch's `batchGEMM`): a run of panels,
    /// handed to the pool as a value (no allocation).
    struct GEMMSplit: ParallelJob {
        let matrix: Matrix
        let x: UnsafePointer<Float>
        let xStride: Int
        let count: Int
        let y: UnsafeMutablePointer<Float>
        let yStride: Int
        let perPart: Int
        let mr: Int
        let batch: Bool

        func run(part: Int) {
            let first = part * perPart
            let n = min(perPart, matrix.panelCount - first)
            guard n > 0 else { return }
            let rows = matrix.panels(first, count: n)
            if batch {
                rows.batchGEMM(x, xStride: xStride, count: count, into: y + first * mr, yStride: yStride)
            } else {
                rows.gemm(x, xStride: xStride, count: count, into: y + first * mr, yStride: yStride)
            }
        }
    }

    /// Tokens per block of prefill's GEMM: as many NR-token slivers as keep one block's B̃
    /// (cols · tokens floats) within `gemmPackedBBytes`, at least `minimumSlivers` — eight for
    /// quantized panels, which are dequantized once per (panel, K block) and token block (xLSTM-7B
    /// shape q4 `exact`, 2 threads: GEMM [10944 × 4096] × 256 312–314 → 324–326 GFLOP/s, prefill
    /// 22.2–22.8 → 23.2–23.5 tokens/s; the old nest 267–296 GFLOP/s, 20.7–21.8 tokens/s).
    static func gemmTokenBlock(cols: Int, nr: Int, minimumSlivers: Int = 4) -> Int {
        max(minimumSlivers * nr, gemmPackedBBytes / (cols * 4) / nr * nr)
    }

    /// B̃ of one token block: in L2 beside the W stream and C (paired runs, 162 M bf16 prefill,
    /// 1 thread: 192 KiB 814–815 tokens/s, 384 KiB 806–820, 768 KiB 795, 1.5 MiB 714–804).
    static let gemmPackedBBytes = 384 << 10

    /// The loop nest above on the calling thread: the tokens in blocks of `gemmTokenBlock`, each
    /// through `batchGEMM`.
    func gemm(_ x: UnsafePointer<Float>, xStride: Int, count n: Int, into y: UnsafeMutablePointer<Float>, yStride: Int) {
        if fastGEMM(x, xStride: xStride, count: n, into: y, yStride: yStride) { return }
        let block = Matrix.gemmTokenBlock(cols: cols, nr: kernels.nr, minimumSlivers: quantFormat == nil ? 4 : 8)
        var first = 0
        while first < n {
            let count = min(block, n - first)
            batchGEMM(x + first * xStride, xStride: xStride, count: count, into: y + first * yStride, yStride: yStride)
            first += count
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
    // Written in order, k-row by k-row (reading the sliver's `valid` token rows side by side, a
    // cache line of each in L1 for 16 k): token by token, each store went to another line of the
    // 264 KB B̃, and this loop was ~85% of `gemm`'s own time (perf, 162 M prefill).
    let base = x + first * xStride
    var target = out
    for kk in 0..<kc {
        var source = base + kk
        for j in 0..<valid {
            target[j] = source.pointee
            source += xStride
        }
        target += nr
    }
}

extension Matrix {
    /// `fast`'s int8 GEMM on the calling thread, for q8 / q4 storage when `kernels` has one, or its
    /// bf16 GEMM for bf16 storage (AVX-512 BF16; else false, nothing done): X's `n` rows quantized
    /// (rounded to bf16 pairs) once into the thread's buffer, then every panel (unpacked into the
    /// thread's panel buffer); no allocation once the buffers have grown. Each token's row of Y is
    /// bit-identical to the fast matvec's (xlstm_int8.h, xlstm_bf16.h), so it depends neither on n,
    /// nor on the other rows of X, nor on the thread split.
    @inline(__always)
    func fastGEMM(_ x: UnsafePointer<Float>, xStride: Int, count n: Int, into y: UnsafeMutablePointer<Float>,
                  yStride: Int) -> Bool {
        if case let .bf16(w) = storage {
            guard let bf16 = kernels.bf16GEMM, cols % 2 == 0 else { return false }
            if n == 1 {   // the same bits from the matvec
                applySerial(x, into: y)
                return true
            }
            let tokens = ThreadScratch.buffer(.int8Tokens, floats: (bf16_gemm_activation_bytes(n, cols) + 3) / 4)
            let panel = ThreadScratch.buffer(.int8Panel, floats: (bf16_gemm_panel_scratch_bytes() + 3) / 4)
            bf16.pack(x, xStride, n, cols, tokens)
            bf16.product(w, rows, cols, tokens, n, y, yStride, panel)
            return true
        }
        guard let int8 = kernels.int8GEMM else { return false }
        let product: KernelSet.Int8GEMM.Product, offset: Int32, w: UnsafeRawPointer
        switch storage {
        case let .q8(p): (product, offset, w) = (int8.q8, 128, p)
        case let .q4(p): (product, offset, w) = (int8.q4, 8, p)
        case .f32, .bf16, .stacked: return false
        }
        if n == 1 {   // the same bits from the matvec, without unpacking panels for one token
            applySerial(x, into: y)
            return true
        }
        let tokens = ThreadScratch.buffer(.int8Tokens, floats: (int8_gemm_activation_bytes(n, cols) + 3) / 4)
        let panel = ThreadScratch.buffer(.int8Panel, floats: (int8_gemm_panel_scratch_bytes(cols) + 3) / 4)
        int8.quantize(x, xStride, n, cols, offset, tokens)
        product(w, rows, cols, tokens, n, y, yStride, panel)
        return true
    }

    /// Rows [pc, pc + kc) of quantized panel `panel` (pc and kc multiples of 32) → out [kc][mr] f32, the
    /// panel layout of the f32 micro-kernels: each value scale · code, the reference dequantization.
    /// Prefill's and the batch's GEMMs run the f32 micro-kernels on it.
    func dequantizePanelBlock(_ panel: Int, pc: Int, kc: Int, into out: UnsafeMutablePointer<Float>) {
        let blocksPerPanel = cols / QuantFormat.blockSize, first = pc / QuantFormat.blockSize
        switch storage {
        case let .q8(w):
            let blockBytes = QuantFormat.q8.panelBlockBytes(mr: kernels.mr)
            kernels.dequantizePanelQ8(w + (panel * blocksPerPanel + first) * blockBytes, kc / QuantFormat.blockSize, out)
        case let .q4(w):
            let blockBytes = QuantFormat.q4.panelBlockBytes(mr: kernels.mr)
            kernels.dequantizePanelQ4(w + (panel * blocksPerPanel + first) * blockBytes, kc / QuantFormat.blockSize, out)
        case .f32, .bf16, .stacked:
            preconditionFailure("dequantizePanelBlock: not a quantized matrix")
        }
    }
}

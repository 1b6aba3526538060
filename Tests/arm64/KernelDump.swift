// The portable kernels on arm64 (NEON), checked against the same kernels on x86-64 (`make
// arm64-test`, Tests/arm64/run.sh). This file is compiled together with
// Sources/XLSTM/Kernels/PortableKernels.swift — the library's own source, unchanged — once for
// x86-64 and once for arm64, as Embedded Swift (the toolchain has no arm64 Linux standard library
// here, but the kernels need none: SIMD types and pointers). Each build runs every portable kernel
// on the same inputs (an integer generator, so both architectures see the same bits) and hands
// each result to `emit`; main.c writes them (x86-64) or compares them (arm64 under qemu-user).
//
// The x86-64 results are the portable path that the engine's suite checks against the official
// implementation's logits on every fixture (`XLSTM_CPU=portable`); on arm64 `multiplyAdd` is one
// fused multiply-add (NEON `fmla`), on x86-64 a multiply and an add, so the two agree up to the
// rounding of the separate multiply (about 1e-7 relative per operation).

import CXLSTMCPU

/// xorshift64*: the same sequence on every architecture.
struct Inputs {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in [-scale, scale): 24 random bits, exactly representable.
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(Int32(truncatingIfNeeded: next() >> 40)) / 8_388_608 - 1) * scale
    }

    mutating func floats(_ count: Int, _ scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        for i in 0..<count { p[i] = float(scale) }
        return p
    }

    /// bf16 values of magnitude < 2 (sign, exponent ≤ 127, any mantissa).
    mutating func bf16(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        for i in 0..<count {
            let r = next()
            let exponent = UInt16(112 + (r >> 32) % 16)   // 2^-15 ..< 2^1
            p[i] = UInt16((r >> 16) & 0x8000) | exponent << 7 | UInt16(r & 0x7F)
        }
        return p
    }

    /// Bytes ≤ 0x3B: as codes any value works; as binary16 scales (two such bytes) they are finite
    /// and below 2.
    mutating func bytes(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        for i in 0..<count { p[i] = UInt8(next() >> 56) % 0x3C }
        return p
    }
}

public typealias Emit = @convention(c) (UnsafePointer<CChar>, UnsafePointer<Float>, Int) -> Void

@inline(__always)
func name(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("xlstm_portable_kernel_dump")
public func portableKernelDump(_ emit: Emit) {
    var g = Inputs(seed: 2024)
    // Matrix–vector products: rows not a multiple of a panel, columns not of a register.
    do {
        let rows = 37, cols = 70, panels = (rows + 7) / 8
        let w = g.floats(rows * cols), x = g.floats(cols), y = UnsafeMutablePointer<Float>.allocate(capacity: panels * 8)
        matVecRowMajorF32Portable(w, rows, cols, x, y); emit(name("matVecRowMajorF32"), y, rows)
        let packed = g.floats(panels * 8 * cols)
        matVecPackedF32Portable(packed, rows, cols, x, y); emit(name("matVecPackedF32"), y, rows)
        matVecPackedF32SingleStreamPortable(packed, rows, cols, x, y); emit(name("matVecPackedF32SingleStream"), y, rows)
        matVecPackedF32StreamingPortable(packed, rows, cols, x, y); emit(name("matVecPackedF32Streaming"), y, rows)
        let half = g.bf16(panels * 8 * cols)
        matVecPackedBF16Portable(half, rows, cols, x, y); emit(name("matVecPackedBF16"), y, rows)
        matVecPackedBF16SingleStreamPortable(half, rows, cols, x, y); emit(name("matVecPackedBF16SingleStream"), y, rows)
        matVecPackedBF16StreamingPortable(half, rows, cols, x, y); emit(name("matVecPackedBF16Streaming"), y, rows)
    }
    // Quantized panels (q8_0: 272 bytes per panel block, q4_0: 144; the inputs are any bytes).
    do {
        let rows = 29, cols = 96, panels = (rows + 7) / 8, blocks = cols / 32
        let x = g.floats(cols), y = UnsafeMutablePointer<Float>.allocate(capacity: panels * 8)
        let q8 = g.bytes(panels * blocks * 272), q4 = g.bytes(panels * blocks * 144)
        matVecPackedQ8Portable(q8, rows, cols, x, y); emit(name("matVecPackedQ8"), y, rows)
        matVecPackedQ4Portable(q4, rows, cols, x, y); emit(name("matVecPackedQ4"), y, rows)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 32 * blocks * 8)
        dequantizePanelQ8Portable(UnsafeRawPointer(q8), blocks, out); emit(name("dequantizePanelQ8"), out, 32 * blocks * 8)
        dequantizePanelQ4Portable(UnsafeRawPointer(q4), blocks, out); emit(name("dequantizePanelQ4"), out, 32 * blocks * 8)
    }
    // GEMM micro-kernels: MR = 8 rows × NR = 4 tokens (narrow: 1), C row stride 11, both with and
    // without accumulating into C.
    do {
        let kc = 67, ldc = 11, mr = 8, nr = 4
        let a = g.floats(kc * mr), b = g.floats(kc * nr), c0 = g.floats(nr * ldc)
        let half = g.bf16(kc * mr)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: nr * ldc)
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: kc * mr)
        for accumulate in [false, true] {
            c.update(from: c0, count: nr * ldc)
            gemmMicroKernelF32Portable(kc, a, b, c, ldc, accumulate, UnsafeRawPointer(a))
            emit(accumulate ? name("gemmMicroKernelF32 +=") : name("gemmMicroKernelF32"), c, nr * ldc)
            c.update(from: c0, count: nr * ldc)
            gemmMicroKernelBF16Portable(kc, half, b, c, ldc, accumulate, UnsafeRawPointer(half))
            emit(accumulate ? name("gemmMicroKernelBF16 +=") : name("gemmMicroKernelBF16"), c, nr * ldc)
            c.update(from: c0, count: nr * ldc)
            gemmMicroKernelWideningBF16Portable(kc, half, b, c, ldc, accumulate, UnsafeRawPointer(half), widened)
            emit(accumulate ? name("gemmMicroKernelWideningBF16 +=") : name("gemmMicroKernelWideningBF16"), c, nr * ldc)
            emit(name("gemmMicroKernelWideningBF16 widened"), widened, kc * mr)
            c.update(from: c0, count: nr * ldc)
            gemmMicroKernelNarrowF32Portable(kc, a, b, c, ldc, accumulate, UnsafeRawPointer(a))
            emit(accumulate ? name("gemmMicroKernelNarrowF32 +=") : name("gemmMicroKernelNarrowF32"), c, ldc)
            c.update(from: c0, count: nr * ldc)
            gemmMicroKernelNarrowBF16Portable(kc, half, b, c, ldc, accumulate, UnsafeRawPointer(half))
            emit(accumulate ? name("gemmMicroKernelNarrowBF16 +=") : name("gemmMicroKernelNarrowBF16"), c, ldc)
        }
    }
    // The few-token micro-kernels: one token over 8 panels, two over 4, three over 3 (panel stride
    // 5 k-rows past the block, token rows 70 apart, C rows 70 apart), with and without accumulating.
    do {
        let kc = 67, mr = 8, stride = (kc + 5) * mr, ld = 70
        let a = g.floats(8 * stride), half = g.bf16(8 * stride), b = g.floats(3 * ld), c0 = g.floats(3 * ld)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: 3 * ld)
        for accumulate in [false, true] {
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelSingleF32Portable(kc, a, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelSingleF32 +=") : name("gemmMicroKernelSingleF32"), c, 8 * mr)
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelSingleBF16Portable(kc, half, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelSingleBF16 +=") : name("gemmMicroKernelSingleBF16"), c, 8 * mr)
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelPairF32Portable(kc, a, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelPairF32 +=") : name("gemmMicroKernelPairF32"), c, ld + 4 * mr)
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelPairBF16Portable(kc, half, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelPairBF16 +=") : name("gemmMicroKernelPairBF16"), c, ld + 4 * mr)
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelTripleF32Portable(kc, a, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelTripleF32 +=") : name("gemmMicroKernelTripleF32"), c, 2 * ld + 3 * mr)
            c.update(from: c0, count: 3 * ld)
            gemmMicroKernelTripleBF16Portable(kc, half, stride, b, ld, c, ld, accumulate)
            emit(accumulate ? name("gemmMicroKernelTripleBF16 +=") : name("gemmMicroKernelTripleBF16"), c, 2 * ld + 3 * mr)
        }
    }
    // The mLSTM step cell (a 96-wide key and a 40-wide value: a 32-wide block and a tail).
    do {
        let qk = 96, v = 40
        let c = g.floats(qk * v), n = g.floats(qk), q = g.floats(qk), k = g.floats(qk), vv = g.floats(v)
        let h = UnsafeMutablePointer<Float>.allocate(capacity: v)
        var normaliser = mLSTMCellUpdatePortable(c, n, q, k, vv, h, qk, v, 0.93, 0.41, 0.1)
        emit(name("mLSTMCellUpdate C"), c, qk * v); emit(name("mLSTMCellUpdate n"), n, qk)
        emit(name("mLSTMCellUpdate h"), h, v); emit(name("mLSTMCellUpdate q.n"), &normaliser, 1)
    }
    // The chunkwise cell's row combinations and dot product.
    do {
        let count = 19, cols = 45, stride = 48
        let weights = g.floats(4 * 24), rows = g.floats(count * stride), out0 = g.floats(4 * 50)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 50)
        for accumulate in [false, true] {
            out.update(from: out0, count: 4 * 50)
            combineRowsPortable(weights, count, rows, stride, cols, out, accumulate)
            emit(accumulate ? name("combineRows +=") : name("combineRows"), out, cols)
            out.update(from: out0, count: 4 * 50)
            combineRowsFourPortable(weights, 24, count, rows, stride, cols, out, 50, accumulate)
            emit(accumulate ? name("combineRowsFour +=") : name("combineRowsFour"), out, 4 * 50)
        }
        var d = dotPortable(rows, rows + stride, 131)
        emit(name("dot"), &d, 1)
    }
    // Transcendental lanes over their ranges, and the pointwise kernels built on them.
    do {
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 8 * 64)
        for i in 0..<64 {
            var lanes = SIMD8<Float>()
            for l in 0..<8 { lanes[l] = g.float(30) }
            UnsafeMutableRawPointer(out + 8 * i).storeBytes(of: expLanesPortable(lanes), as: SIMD8<Float>.self)
        }
        emit(name("expLanes"), out, 8 * 64)
        for i in 0..<64 {
            var lanes = SIMD8<Float>()
            for l in 0..<8 { lanes[l] = g.float(5) }
            UnsafeMutableRawPointer(out + 8 * i).storeBytes(of: erfLanesPortable(lanes), as: SIMD8<Float>.self)
        }
        emit(name("erfLanes"), out, 8 * 64)
        let n = 203
        let x0 = g.floats(n, 12), y = g.floats(n, 12), skip = g.floats(n), c = g.floats(n, 3), gate = g.floats(n, 8)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n)
        x.update(from: x0, count: n); siluPortable(x, n); emit(name("silu"), x, n)
        x.update(from: x0, count: n); skipSiluGatePortable(x, skip, c, gate, n); emit(name("skipSiluGate"), x, n)
        x.update(from: x0, count: n); geluProductPortable(x, y, n); emit(name("geluProduct"), x, n)
        x.update(from: x0, count: n); siluProductPortable(x, y, n); emit(name("siluProduct"), x, n)
        x.update(from: x0, count: n); multiplyBySigmoidPortable(x, y, n); emit(name("multiplyBySigmoid"), x, n)
        x.update(from: x0, count: n); softCapPortable(x, n, 15); emit(name("softCap"), x, n)
    }
    // The bench's read loop (a plain sum over a buffer).
    do {
        let floats = 4096
        let buffer = g.floats(floats)
        var sum = streamReadPortable(UnsafeRawPointer(buffer), floats * 4, false)
        emit(name("streamRead"), &sum, 1)
        sum = streamReadPortable(UnsafeRawPointer(buffer), floats * 4, true)
        emit(name("streamRead prefetching"), &sum, 1)
    }
}

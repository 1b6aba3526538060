// AVX-512 (F, BW, DQ, VL) kernels. This module is compiled for that ISA (Package.swift) and reached only through
// the dispatch table (Sources/XLSTM/Kernels/KernelSet.swift) once the CPU is known to run it. Same
// contracts as the portable reference kernels in Sources/XLSTM/Kernels/PortableKernels.swift:
//
//   matVecF32AVX512   W [rows, cols] (f32) · x [cols] -> y [rows]
//   matVecBF16AVX512  W [rows, cols] (bf16, read in place) · x [cols] -> y [rows]; scratch [cols]
//   gemmMicroKernelAVX512  C [NR][MR] (+)= packed A [kc][MR] · packed B [kc][NR]
//
// Only stdlib SIMD operations that inline appear here, so no code compiled for AVX-512 (F, BW, DQ, VL) is ever
// shared with (or picked by the linker for) another path; `make test` checks the library's
// disassembly for that (tools/check-isa.sh).

#if arch(x86_64)

/// Lanes of one register, 16 floats.
public let lanesAVX512 = 16
/// The micro-kernel's tile: MR rows of W × NR tokens.
public let microTileAVX512 = (mr: 32, nr: 12)

@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    let p = q.lowHalf + q.highHalf
    return p[0] + p[1]
}

/// W [rows, cols] (f32) · x [cols] -> y [rows]; four rows per pass, two 16-wide chains per row.
@inline(never)
public func matVecF32AVX512(_ w: UnsafePointer<Float>, _ rows: Int, _ cols: Int,
                        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let step = 16, stride = cols * 4
    let xr = UnsafeRawPointer(x)
    var row = 0
    while row + 4 <= rows {
        let r0 = UnsafeRawPointer(w + row * cols), r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
        var c = 0
        while c + 2 * step <= cols {
            let o = c * 4, o2 = o + step * 4
            let x0 = xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let x1 = xr.loadUnaligned(fromByteOffset: o2, as: SIMD16<Float>.self)
            a0.addProduct(r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0); b0.addProduct(r0.loadUnaligned(fromByteOffset: o2, as: SIMD16<Float>.self), x1)
            a1.addProduct(r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0); b1.addProduct(r1.loadUnaligned(fromByteOffset: o2, as: SIMD16<Float>.self), x1)
            a2.addProduct(r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0); b2.addProduct(r2.loadUnaligned(fromByteOffset: o2, as: SIMD16<Float>.self), x1)
            a3.addProduct(r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0); b3.addProduct(r3.loadUnaligned(fromByteOffset: o2, as: SIMD16<Float>.self), x1)
            c += 2 * step
        }
        if c + step <= cols {
            let o = c * 4
            let x0 = xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a0.addProduct(r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0)
            a1.addProduct(r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0)
            a2.addProduct(r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0)
            a3.addProduct(r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), x0)
            c += step
        }
        var s0 = horizontalSum(a0 + b0), s1 = horizontalSum(a1 + b1)
        var s2 = horizontalSum(a2 + b2), s3 = horizontalSum(a3 + b3)
        let w0 = w + row * cols
        while c < cols {
            let xc = x[c]
            s0 += w0[c] * xc; s1 += w0[cols + c] * xc; s2 += w0[2 * cols + c] * xc; s3 += w0[3 * cols + c] * xc
            c += 1
        }
        y[row] = s0; y[row + 1] = s1; y[row + 2] = s2; y[row + 3] = s3
        row += 4
    }
    while row < rows {
        let r = UnsafeRawPointer(w + row * cols)
        var a = SIMD16<Float>()
        var c = 0
        while c + step <= cols {
            a.addProduct(r.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self), xr.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self))
            c += step
        }
        var s = horizontalSum(a)
        while c < cols { s += w[row * cols + c] * x[c]; c += 1 }
        y[row] = s
        row += 1
    }
}

/// bf16 W [rows, cols] · x [cols] -> y [rows], W read in place; scratch [cols].
/// Each 16-lane word vector holds 32 bf16 values, element 2i in the low half of word i:
/// `word << 16` and `word & 0xFFFF0000` are the float32 bit patterns of the even and odd elements.
/// x is first permuted into scratch so that every 32-column block holds its 16 even
/// elements, then its 16 odd ones: the inner loop has no shuffles.
@inline(never)
public func matVecBF16AVX512(_ w: UnsafePointer<UInt16>, _ rows: Int, _ cols: Int, _ x: UnsafePointer<Float>,
                         _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
    let block = 32, half = 16
    let vectorCols = cols - cols % block
    var c = 0
    while c < vectorCols {
        for i in 0..<half {
            scratch[c + i] = x[c + 2 * i]
            scratch[c + half + i] = x[c + 2 * i + 1]
        }
        c += block
    }
    let xp = UnsafeRawPointer(scratch)
    let mask = SIMD16<UInt32>(repeating: 0xFFFF_0000)
    @inline(__always) func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
    let rowBytes = cols * 2
    var row = 0
    while row + 4 <= rows {
        let r0 = UnsafeRawPointer(w + row * cols), r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes
        var e0 = SIMD16<Float>(), e1 = SIMD16<Float>(), e2 = SIMD16<Float>(), e3 = SIMD16<Float>()
        var o0 = SIMD16<Float>(), o1 = SIMD16<Float>(), o2 = SIMD16<Float>(), o3 = SIMD16<Float>()
        c = 0
        while c < vectorCols {
            let xe = xp.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
            let xo = xp.loadUnaligned(fromByteOffset: (c + half) * 4, as: SIMD16<Float>.self)
            let w0 = r0.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt32>.self)
            let w1 = r1.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt32>.self)
            let w2 = r2.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt32>.self)
            let w3 = r3.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt32>.self)
            e0.addProduct(unsafeBitCast(w0 &<< 16, to: SIMD16<Float>.self), xe); o0.addProduct(unsafeBitCast(w0 & mask, to: SIMD16<Float>.self), xo)
            e1.addProduct(unsafeBitCast(w1 &<< 16, to: SIMD16<Float>.self), xe); o1.addProduct(unsafeBitCast(w1 & mask, to: SIMD16<Float>.self), xo)
            e2.addProduct(unsafeBitCast(w2 &<< 16, to: SIMD16<Float>.self), xe); o2.addProduct(unsafeBitCast(w2 & mask, to: SIMD16<Float>.self), xo)
            e3.addProduct(unsafeBitCast(w3 &<< 16, to: SIMD16<Float>.self), xe); o3.addProduct(unsafeBitCast(w3 & mask, to: SIMD16<Float>.self), xo)
            c += block
        }
        var s0 = horizontalSum(e0 + o0), s1 = horizontalSum(e1 + o1)
        var s2 = horizontalSum(e2 + o2), s3 = horizontalSum(e3 + o3)
        let q = w + row * cols
        while c < cols {
            let xc = x[c]
            s0 += widen(q[c]) * xc; s1 += widen(q[cols + c]) * xc
            s2 += widen(q[2 * cols + c]) * xc; s3 += widen(q[3 * cols + c]) * xc
            c += 1
        }
        y[row] = s0; y[row + 1] = s1; y[row + 2] = s2; y[row + 3] = s3
        row += 4
    }
    while row < rows {
        let r = UnsafeRawPointer(w + row * cols)
        var e = SIMD16<Float>(), o = SIMD16<Float>()
        c = 0
        while c < vectorCols {
            let words = r.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt32>.self)
            e.addProduct(unsafeBitCast(words &<< 16, to: SIMD16<Float>.self), xp.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self))
            o.addProduct(unsafeBitCast(words & mask, to: SIMD16<Float>.self), xp.loadUnaligned(fromByteOffset: (c + half) * 4, as: SIMD16<Float>.self))
            c += block
        }
        var s = horizontalSum(e + o)
        while c < cols { s += widen(w[row * cols + c]) * x[c]; c += 1 }
        y[row] = s
        row += 1
    }
}

/// AVX-512 micro-kernel: 32 × 12 accumulators in 24 zmm registers.
/// C [NR=12 tokens][MR=32 rows] (+)= A · B over k in 0..<kc: a packed [kc][32] (rows of W), b packed
/// [kc][12] (tokens of X), c[j·ldc + i] = row i of token j. The only code of the GEMM that multiplies.
@inline(never)
public func gemmMicroKernelAVX512(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c0_0 = SIMD16<Float>(), c0_1 = SIMD16<Float>()
    var c1_0 = SIMD16<Float>(), c1_1 = SIMD16<Float>()
    var c2_0 = SIMD16<Float>(), c2_1 = SIMD16<Float>()
    var c3_0 = SIMD16<Float>(), c3_1 = SIMD16<Float>()
    var c4_0 = SIMD16<Float>(), c4_1 = SIMD16<Float>()
    var c5_0 = SIMD16<Float>(), c5_1 = SIMD16<Float>()
    var c6_0 = SIMD16<Float>(), c6_1 = SIMD16<Float>()
    var c7_0 = SIMD16<Float>(), c7_1 = SIMD16<Float>()
    var c8_0 = SIMD16<Float>(), c8_1 = SIMD16<Float>()
    var c9_0 = SIMD16<Float>(), c9_1 = SIMD16<Float>()
    var c10_0 = SIMD16<Float>(), c10_1 = SIMD16<Float>()
    var c11_0 = SIMD16<Float>(), c11_1 = SIMD16<Float>()
    var pa = UnsafeRawPointer(a), pb = b
    for _ in 0..<kc {
        let a0 = pa.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self); let a1 = pa.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let b0 = SIMD16<Float>(repeating: pb[0]); c0_0.addProduct(a0, b0); c0_1.addProduct(a1, b0)
        let b1 = SIMD16<Float>(repeating: pb[1]); c1_0.addProduct(a0, b1); c1_1.addProduct(a1, b1)
        let b2 = SIMD16<Float>(repeating: pb[2]); c2_0.addProduct(a0, b2); c2_1.addProduct(a1, b2)
        let b3 = SIMD16<Float>(repeating: pb[3]); c3_0.addProduct(a0, b3); c3_1.addProduct(a1, b3)
        let b4 = SIMD16<Float>(repeating: pb[4]); c4_0.addProduct(a0, b4); c4_1.addProduct(a1, b4)
        let b5 = SIMD16<Float>(repeating: pb[5]); c5_0.addProduct(a0, b5); c5_1.addProduct(a1, b5)
        let b6 = SIMD16<Float>(repeating: pb[6]); c6_0.addProduct(a0, b6); c6_1.addProduct(a1, b6)
        let b7 = SIMD16<Float>(repeating: pb[7]); c7_0.addProduct(a0, b7); c7_1.addProduct(a1, b7)
        let b8 = SIMD16<Float>(repeating: pb[8]); c8_0.addProduct(a0, b8); c8_1.addProduct(a1, b8)
        let b9 = SIMD16<Float>(repeating: pb[9]); c9_0.addProduct(a0, b9); c9_1.addProduct(a1, b9)
        let b10 = SIMD16<Float>(repeating: pb[10]); c10_0.addProduct(a0, b10); c10_1.addProduct(a1, b10)
        let b11 = SIMD16<Float>(repeating: pb[11]); c11_0.addProduct(a0, b11); c11_1.addProduct(a1, b11)
        pa += 128; pb += 12
    }
    let out = UnsafeMutableRawPointer(c)
    @inline(__always) func put(_ value: SIMD16<Float>, _ offset: Int) {
        let v = accumulate ? value + out.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) : value
        out.storeBytes(of: v, toByteOffset: offset, as: SIMD16<Float>.self)
    }
    put(c0_0, (0 * ldc + 0) * 4); put(c0_1, (0 * ldc + 16) * 4)
    put(c1_0, (1 * ldc + 0) * 4); put(c1_1, (1 * ldc + 16) * 4)
    put(c2_0, (2 * ldc + 0) * 4); put(c2_1, (2 * ldc + 16) * 4)
    put(c3_0, (3 * ldc + 0) * 4); put(c3_1, (3 * ldc + 16) * 4)
    put(c4_0, (4 * ldc + 0) * 4); put(c4_1, (4 * ldc + 16) * 4)
    put(c5_0, (5 * ldc + 0) * 4); put(c5_1, (5 * ldc + 16) * 4)
    put(c6_0, (6 * ldc + 0) * 4); put(c6_1, (6 * ldc + 16) * 4)
    put(c7_0, (7 * ldc + 0) * 4); put(c7_1, (7 * ldc + 16) * 4)
    put(c8_0, (8 * ldc + 0) * 4); put(c8_1, (8 * ldc + 16) * 4)
    put(c9_0, (9 * ldc + 0) * 4); put(c9_1, (9 * ldc + 16) * 4)
    put(c10_0, (10 * ldc + 0) * 4); put(c10_1, (10 * ldc + 16) * 4)
    put(c11_0, (11 * ldc + 0) * 4); put(c11_1, (11 * ldc + 16) * 4)
}

/// The peak-rate loop of this ISA for the benchmark: 12 independent 16-wide FMA chains, in
/// registers. Returns a value that depends on every chain (so nothing is optimised away).
@inline(never)
public func fmaChainsAVX512(_ iterations: Int) -> Float {
    let m = SIMD16<Float>(repeating: 0.999_999), b = SIMD16<Float>(repeating: 1e-7)
    var a0 = SIMD16<Float>(repeating: 1), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
    var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
    for _ in 0..<iterations {
        a0 = b.addingProduct(a0, m); a1 = b.addingProduct(a1, m); a2 = b.addingProduct(a2, m)
        a3 = b.addingProduct(a3, m); a4 = b.addingProduct(a4, m); a5 = b.addingProduct(a5, m)
        a6 = b.addingProduct(a6, m); a7 = b.addingProduct(a7, m); a8 = b.addingProduct(a8, m)
        a9 = b.addingProduct(a9, m); a10 = b.addingProduct(a10, m); a11 = b.addingProduct(a11, m)
    }
    return horizontalSum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11)
}

#endif

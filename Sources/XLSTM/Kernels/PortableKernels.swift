// The portable kernels: the readable reference every ISA's variant is tested against, and the path
// for any CPU. Compiled, like the whole engine, for the baseline of the architecture: SSE2 on
// x86-64, where a multiply and an add replace FMA (`multiplyAdd`), NEON FMA on arm64. The AVX2 and
// AVX-512 modules (Sources/XLSTMKernelsAVX2, Sources/XLSTMKernelsAVX512) have the same contracts:
//
//   matVecF32Portable        W [rows, cols] (f32) · x [cols] -> y [rows]
//   matVecBF16Portable       W [rows, cols] (bf16, read in place) · x [cols] -> y [rows]; scratch [cols]
//   gemmMicroKernelPortable  C [NR][MR] (+)= packed A [kc][MR] · packed B [kc][NR]

/// Lanes of one register, 8 floats.
let lanesPortable = 8
/// The micro-kernel's tile: MR rows of W × NR tokens.
let microTilePortable = (mr: 8, nr: 4)

@inline(__always)
func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let h = v
    let q = h.lowHalf + h.highHalf
    let p = q.lowHalf + q.highHalf
    return p[0] + p[1]
}

/// W [rows, cols] (f32) · x [cols] -> y [rows]; four rows per pass, two 8-wide chains per row.
@inline(never)
func matVecF32Portable(_ w: UnsafePointer<Float>, _ rows: Int, _ cols: Int,
                        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let step = 8, stride = cols * 4
    let xr = UnsafeRawPointer(x)
    var row = 0
    while row + 4 <= rows {
        let r0 = UnsafeRawPointer(w + row * cols), r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var c = 0
        while c + 2 * step <= cols {
            let o = c * 4, o2 = o + step * 4
            let x0 = xr.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let x1 = xr.loadUnaligned(fromByteOffset: o2, as: SIMD8<Float>.self)
            multiplyAdd(&a0, r0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0); multiplyAdd(&b0, r0.loadUnaligned(fromByteOffset: o2, as: SIMD8<Float>.self), x1)
            multiplyAdd(&a1, r1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0); multiplyAdd(&b1, r1.loadUnaligned(fromByteOffset: o2, as: SIMD8<Float>.self), x1)
            multiplyAdd(&a2, r2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0); multiplyAdd(&b2, r2.loadUnaligned(fromByteOffset: o2, as: SIMD8<Float>.self), x1)
            multiplyAdd(&a3, r3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0); multiplyAdd(&b3, r3.loadUnaligned(fromByteOffset: o2, as: SIMD8<Float>.self), x1)
            c += 2 * step
        }
        if c + step <= cols {
            let o = c * 4
            let x0 = xr.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            multiplyAdd(&a0, r0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0)
            multiplyAdd(&a1, r1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0)
            multiplyAdd(&a2, r2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0)
            multiplyAdd(&a3, r3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0)
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
        var a = SIMD8<Float>()
        var c = 0
        while c + step <= cols {
            multiplyAdd(&a, r.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self))
            c += step
        }
        var s = horizontalSum(a)
        while c < cols { s += w[row * cols + c] * x[c]; c += 1 }
        y[row] = s
        row += 1
    }
}

/// bf16 W [rows, cols] · x [cols] -> y [rows], W read in place; scratch [cols].
/// Each 8-lane word vector holds 16 bf16 values, element 2i in the low half of word i:
/// `word << 16` and `word & 0xFFFF0000` are the float32 bit patterns of the even and odd elements.
/// x is first permuted into scratch so that every 16-column block holds its 8 even
/// elements, then its 8 odd ones: the inner loop has no shuffles.
@inline(never)
func matVecBF16Portable(_ w: UnsafePointer<UInt16>, _ rows: Int, _ cols: Int, _ x: UnsafePointer<Float>,
                         _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
    let block = 16, half = 8
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
    let mask = SIMD8<UInt32>(repeating: 0xFFFF_0000)
    @inline(__always) func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
    let rowBytes = cols * 2
    var row = 0
    while row + 4 <= rows {
        let r0 = UnsafeRawPointer(w + row * cols), r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes
        var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
        var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
        c = 0
        while c < vectorCols {
            let xe = xp.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
            let xo = xp.loadUnaligned(fromByteOffset: (c + half) * 4, as: SIMD8<Float>.self)
            let w0 = r0.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
            let w1 = r1.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
            let w2 = r2.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
            let w3 = r3.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
            multiplyAdd(&e0, unsafeBitCast(w0 &<< 16, to: SIMD8<Float>.self), xe); multiplyAdd(&o0, unsafeBitCast(w0 & mask, to: SIMD8<Float>.self), xo)
            multiplyAdd(&e1, unsafeBitCast(w1 &<< 16, to: SIMD8<Float>.self), xe); multiplyAdd(&o1, unsafeBitCast(w1 & mask, to: SIMD8<Float>.self), xo)
            multiplyAdd(&e2, unsafeBitCast(w2 &<< 16, to: SIMD8<Float>.self), xe); multiplyAdd(&o2, unsafeBitCast(w2 & mask, to: SIMD8<Float>.self), xo)
            multiplyAdd(&e3, unsafeBitCast(w3 &<< 16, to: SIMD8<Float>.self), xe); multiplyAdd(&o3, unsafeBitCast(w3 & mask, to: SIMD8<Float>.self), xo)
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
        var e = SIMD8<Float>(), o = SIMD8<Float>()
        c = 0
        while c < vectorCols {
            let words = r.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
            multiplyAdd(&e, unsafeBitCast(words &<< 16, to: SIMD8<Float>.self), xp.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self))
            multiplyAdd(&o, unsafeBitCast(words & mask, to: SIMD8<Float>.self), xp.loadUnaligned(fromByteOffset: (c + half) * 4, as: SIMD8<Float>.self))
            c += block
        }
        var s = horizontalSum(e + o)
        while c < cols { s += widen(w[row * cols + c]) * x[c]; c += 1 }
        y[row] = s
        row += 1
    }
}

/// Portable micro-kernel: 8 × 4 accumulators.
/// C [NR=4 tokens][MR=8 rows] (+)= A · B over k in 0..<kc: a packed [kc][8] (rows of W), b packed
/// [kc][4] (tokens of X), c[j·ldc + i] = row i of token j. The only code of the GEMM that multiplies.
@inline(never)
func gemmMicroKernelPortable(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c0_0 = SIMD8<Float>()
    var c1_0 = SIMD8<Float>()
    var c2_0 = SIMD8<Float>()
    var c3_0 = SIMD8<Float>()
    var pa = UnsafeRawPointer(a), pb = b
    for _ in 0..<kc {
        let a0 = pa.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
        let b0 = SIMD8<Float>(repeating: pb[0]); multiplyAdd(&c0_0, a0, b0)
        let b1 = SIMD8<Float>(repeating: pb[1]); multiplyAdd(&c1_0, a0, b1)
        let b2 = SIMD8<Float>(repeating: pb[2]); multiplyAdd(&c2_0, a0, b2)
        let b3 = SIMD8<Float>(repeating: pb[3]); multiplyAdd(&c3_0, a0, b3)
        pa += 32; pb += 4
    }
    let out = UnsafeMutableRawPointer(c)
    @inline(__always) func put(_ value: SIMD8<Float>, _ offset: Int) {
        let v = accumulate ? value + out.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) : value
        out.storeBytes(of: v, toByteOffset: offset, as: SIMD8<Float>.self)
    }
    put(c0_0, (0 * ldc + 0) * 4)
    put(c1_0, (1 * ldc + 0) * 4)
    put(c2_0, (2 * ldc + 0) * 4)
    put(c3_0, (3 * ldc + 0) * 4)
}

/// The peak-rate loop of this ISA for the benchmark: 12 independent 8-wide multiply-add chains, in
/// registers. Returns a value that depends on every chain (so nothing is optimised away).
@inline(never)
func fmaChainsPortable(_ iterations: Int) -> Float {
    let m = SIMD8<Float>(repeating: 0.999_999), b = SIMD8<Float>(repeating: 1e-7)
    var a0 = SIMD8<Float>(repeating: 1), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
    var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
    for _ in 0..<iterations {
        a0 = multipliedAdding(a0, m, b); a1 = multipliedAdding(a1, m, b); a2 = multipliedAdding(a2, m, b)
        a3 = multipliedAdding(a3, m, b); a4 = multipliedAdding(a4, m, b); a5 = multipliedAdding(a5, m, b)
        a6 = multipliedAdding(a6, m, b); a7 = multipliedAdding(a7, m, b); a8 = multipliedAdding(a8, m, b)
        a9 = multipliedAdding(a9, m, b); a10 = multipliedAdding(a10, m, b); a11 = multipliedAdding(a11, m, b)
    }
    return horizontalSum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11)
}


/// acc += a · b: one fused multiply-add on arm64 (NEON), a multiply and an add on baseline x86-64,
/// which has no FMA (a software fmaf call per lane would be ~10× slower).
@inline(__always)
func multiplyAdd(_ acc: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
#if arch(arm64)
    acc.addProduct(a, b)
#else
    acc = acc + a * b
#endif
}

/// a · m + b through `multiplyAdd`.
@inline(__always)
func multipliedAdding(_ a: SIMD8<Float>, _ m: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    var acc = b
    multiplyAdd(&acc, a, m)
    return acc
}

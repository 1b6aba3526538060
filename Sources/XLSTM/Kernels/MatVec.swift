// Matrix–vector kernels: the per-token hot path. Every weight matrix is reached through `Matrix`,
// the seam where bf16 / int8 / 4-bit variants and a thread pool will plug in.

/// A row-major weight matrix `[rows, cols]` (a view; not owned): float32, or bfloat16 read straight
/// from the checkpoint's mmap and widened in registers.
public struct Matrix: @unchecked Sendable {
    public enum Storage: @unchecked Sendable {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)
    }

    public let storage: Storage
    public let rows: Int
    public let cols: Int

    public init(data: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.init(storage: .f32(data), rows: rows, cols: cols)
    }

    public init(storage: Storage, rows: Int, cols: Int) {
        self.storage = storage
        self.rows = rows
        self.cols = cols
    }

    /// Bytes the kernels read for one pass over the matrix.
    public var storageBytes: Int {
        switch storage {
        case .f32: return rows * cols * 4
        case .bf16: return rows * cols * 2
        }
    }

    /// Whether both matrices view the same memory.
    public func sharesStorage(with other: Matrix) -> Bool {
        switch (storage, other.storage) {
        case let (.f32(a), .f32(b)): return a == b
        case let (.bf16(a), .bf16(b)): return a == b
        default: return false
        }
    }

    /// Rows [start, start + count) as a matrix of their own (row ranges are contiguous).
    public func rows(_ start: Int, count: Int) -> Matrix {
        switch storage {
        case let .f32(p): return Matrix(storage: .f32(p + start * cols), rows: count, cols: cols)
        case let .bf16(p): return Matrix(storage: .bf16(p + start * cols), rows: count, cols: cols)
        }
    }

    /// W [rows, cols] · x [cols] -> y [rows]; rows split across `pool` when the matrix is large enough.
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil) {
        if let pool, pool.parts > 1, rows * cols >= Matrix.parallelThreshold, rows >= 8 * pool.parts {
            let parts = pool.parts
            let rowsPerPart = ((rows + parts - 1) / parts + 3) & ~3
            pool.run { part in
                let start = part * rowsPerPart
                let count = min(rowsPerPart, rows - start)
                if count > 0 { self.rows(start, count: count).applySerial(x, into: y + start) }
            }
        } else {
            applySerial(x, into: y)
        }
    }

    /// Matrices smaller than this many elements are not worth waking the pool for.
    public static let parallelThreshold = 1 << 16

    @inline(__always)
    func applySerial(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        switch storage {
        case let .f32(w): matVec(w, rows: rows, cols: cols, x, y)
        case let .bf16(w): matVecBF16(w, rows: rows, cols: cols, x, y)
        }
    }

    /// Row `index` widened to float32 → out [cols] (embedding lookup).
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        switch storage {
        case let .f32(w): out.update(from: w + index * cols, count: cols)
        case let .bf16(w):
            let row = w + index * cols
            for c in 0..<cols { out[c] = Float(bitPattern: UInt32(row[c]) << 16) }
        }
    }
}

/// A linear layer `y = W x (+ b)`, W [out, in] as stored by torch.nn.Linear.
public struct Linear: @unchecked Sendable {
    public let weight: Matrix             // [out, in]
    public let bias: UnsafePointer<Float>? // [out]

    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(weight: Matrix, bias: UnsafePointer<Float>?) {
        self.weight = weight
        self.bias = bias
    }

    /// x [in] -> y [out]
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil) {
        weight.apply(x, into: y, pool: pool)
        if let bias { add(bias, into: y, count: weight.rows) }
    }
}

extension Linear {
    /// Y[t] = W X[t] (+ b) for `count` tokens; X [count, in], Y [count, out] with the given strides.
    @inline(__always)
    public func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int,
                           into y: UnsafeMutablePointer<Float>, yStride: Int, pool: ThreadPool? = nil) {
        weight.applyBatch(x, xStride: xStride, count: count, into: y, yStride: yStride, pool: pool)
        if let bias {
            for t in 0..<count { add(bias, into: y + t * yStride, count: weight.rows) }
        }
    }
}

/// W [rows, cols] · x [cols] -> y [rows]; four rows per pass, 16-wide FMA accumulators.
@inline(never)
public func matVec(_ w: UnsafePointer<Float>, rows: Int, cols: Int,
                   _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    var row = 0
    while row + 4 <= rows {
        dot4(w + row * cols, cols: cols, x, y + row)
        row += 4
    }
    while row < rows {
        y[row] = dot(w + row * cols, x, count: cols)
        row += 1
    }
}

/// The f32 micro-kernel: rows 0..<4 of W [·, cols] · x [cols] -> y [4]. Every kernel that multiplies
/// f32 weights (matVec, and the prefill GEMM that reuses a 4-row slice across tokens) goes through
/// it, so a product is bit-identical whichever path computed it.
@inline(__always)
func dot4(_ w: UnsafePointer<Float>, cols: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let vectorCols = cols & ~15
    let r0 = UnsafeRawPointer(w)
    let r1 = r0 + cols * 4, r2 = r1 + cols * 4, r3 = r2 + cols * 4
    let xRaw = UnsafeRawPointer(x)
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var c = 0
    while c < vectorCols {
        let xv = xRaw.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
        a0.addProduct(r0.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self), xv)
        a1.addProduct(r1.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self), xv)
        a2.addProduct(r2.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self), xv)
        a3.addProduct(r3.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self), xv)
        c += 16
    }
    var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
    while c < cols {
        let xc = x[c]
        s0 += w[c] * xc
        s1 += w[cols + c] * xc
        s2 += w[2 * cols + c] * xc
        s3 += w[3 * cols + c] * xc
        c += 1
    }
    y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3
}

/// a [n] · b [n] -> scalar
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD16<Float>()
    let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
    var i = 0
    while i + 16 <= count {
        acc.addProduct(ar.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                       br.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        i += 16
    }
    var sum = acc.sum()
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}

/// y [n] += x [n]
@inline(__always)
public func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

/// bf16 W [rows, cols] · x [cols] -> y [rows], W read in place.
@inline(never)
public func matVecBF16(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int,
                       _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    var row = 0
    while row + 4 <= rows {
        dot4BF16(w + row * cols, cols: cols, x, y + row)
        row += 4
    }
    while row < rows {
        let r = w + row * cols
        var sum: Float = 0
        for c in 0..<cols { sum += Float(bitPattern: UInt32(r[c]) << 16) * x[c] }
        y[row] = sum
        row += 1
    }
}

/// The bf16 micro-kernel: rows 0..<4 of W [·, cols] (bf16) · x [cols] -> y [4]. Each 32-bit word of W
/// holds two bf16 values (element 2i in the low half): `word << 16` and `word & 0xFFFF0000` are their
/// float32 bit patterns, multiplied with the even and odd lanes of x.
@inline(__always)
func dot4BF16(_ w: UnsafePointer<UInt16>, cols: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    @inline(__always) func accumulate(_ row: UnsafeRawPointer, _ c: Int, _ xe: SIMD8<Float>, _ xo: SIMD8<Float>,
                                      _ evens: inout SIMD8<Float>, _ odds: inout SIMD8<Float>) {
        let words = row.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
        evens.addProduct(unsafeBitCast(words &<< 16, to: SIMD8<Float>.self), xe)
        odds.addProduct(unsafeBitCast(words & 0xFFFF_0000, to: SIMD8<Float>.self), xo)
    }
    @inline(__always) func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
    let vectorCols = cols & ~15
    let rowBytes = cols * 2
    let r0 = UnsafeRawPointer(w)
    let r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes
    let xRaw = UnsafeRawPointer(x)
    var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
    var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
    var c = 0
    while c < vectorCols {
        let xv = xRaw.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
        let xe = SIMD8<Float>(xv[0], xv[2], xv[4], xv[6], xv[8], xv[10], xv[12], xv[14])
        let xo = SIMD8<Float>(xv[1], xv[3], xv[5], xv[7], xv[9], xv[11], xv[13], xv[15])
        accumulate(r0, c, xe, xo, &e0, &o0)
        accumulate(r1, c, xe, xo, &e1, &o1)
        accumulate(r2, c, xe, xo, &e2, &o2)
        accumulate(r3, c, xe, xo, &e3, &o3)
        c += 16
    }
    var s0 = (e0 + o0).sum(), s1 = (e1 + o1).sum(), s2 = (e2 + o2).sum(), s3 = (e3 + o3).sum()
    while c < cols {
        let xc = x[c]
        s0 += widen(w[c]) * xc
        s1 += widen(w[cols + c]) * xc
        s2 += widen(w[2 * cols + c]) * xc
        s3 += widen(w[3 * cols + c]) * xc
        c += 1
    }
    y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3
}

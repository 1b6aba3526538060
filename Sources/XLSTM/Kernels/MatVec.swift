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

/// W [rows, cols] · x [cols] -> y [rows]; four rows per pass, 16-wide FMA accumulators.
@inline(never)
public func matVec(_ w: UnsafePointer<Float>, rows: Int, cols: Int,
                   _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let vectorCols = cols & ~15
    let raw = UnsafeRawPointer(w)
    let xRaw = UnsafeRawPointer(x)
    var row = 0
    while row + 4 <= rows {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let r0 = raw + row * cols * 4
        let r1 = r0 + cols * 4, r2 = r1 + cols * 4, r3 = r2 + cols * 4
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
        let w0 = w + row * cols
        while c < cols {
            let xc = x[c]
            s0 += w0[c] * xc
            s1 += w0[cols + c] * xc
            s2 += w0[2 * cols + c] * xc
            s3 += w0[3 * cols + c] * xc
            c += 1
        }
        y[row] = s0; y[row + 1] = s1; y[row + 2] = s2; y[row + 3] = s3
        row += 4
    }
    while row < rows {
        y[row] = dot(w + row * cols, x, count: cols)
        row += 1
    }
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

/// bf16 W [rows, cols] · x [cols] -> y [rows], W read in place. Each 32-bit word holds two bf16
/// values (element 2i in the low half): `word << 16` and `word & 0xFFFF0000` are their float32 bit
/// patterns, multiplied with the even and odd lanes of x.
@inline(never)
public func matVecBF16(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int,
                       _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    @inline(__always) func accumulate(_ row: UnsafeRawPointer, _ c: Int, _ xe: SIMD8<Float>, _ xo: SIMD8<Float>,
                                      _ evens: inout SIMD8<Float>, _ odds: inout SIMD8<Float>) {
        let words = row.loadUnaligned(fromByteOffset: c * 2, as: SIMD8<UInt32>.self)
        evens.addProduct(unsafeBitCast(words &<< 16, to: SIMD8<Float>.self), xe)
        odds.addProduct(unsafeBitCast(words & 0xFFFF_0000, to: SIMD8<Float>.self), xo)
    }
    @inline(__always) func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
    let vectorCols = cols & ~15
    let raw = UnsafeRawPointer(w)
    let xRaw = UnsafeRawPointer(x)
    let rowBytes = cols * 2
    var row = 0
    while row + 4 <= rows {
        var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
        var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
        let r0 = raw + row * rowBytes
        let r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes
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
        let w0 = w + row * cols
        while c < cols {
            let xc = x[c]
            s0 += widen(w0[c]) * xc
            s1 += widen(w0[cols + c]) * xc
            s2 += widen(w0[2 * cols + c]) * xc
            s3 += widen(w0[3 * cols + c]) * xc
            c += 1
        }
        y[row] = s0; y[row + 1] = s1; y[row + 2] = s2; y[row + 3] = s3
        row += 4
    }
    while row < rows {
        let r = w + row * cols
        var sum: Float = 0
        for c in 0..<cols { sum += widen(r[c]) * x[c] }
        y[row] = sum
        row += 1
    }
}

// Matrix–vector kernels: the per-token hot path. Every weight matrix is reached through `Matrix`,
// the seam where bf16 / int8 / 4-bit variants and a thread pool will plug in.

/// A row-major float32 weight matrix `[rows, cols]` (a view; not owned).
public struct Matrix: @unchecked Sendable {
    public let data: UnsafePointer<Float>  // [rows, cols]
    public let rows: Int
    public let cols: Int

    public init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2)
        self.init(data: tensor.data, rows: tensor.shape[0], cols: tensor.shape[1])
    }

    public init(data: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.data = data
        self.rows = rows
        self.cols = cols
    }

    /// W [rows, cols] · x [cols] -> y [rows]
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        matVec(data, rows: rows, cols: cols, x, y)
    }
}

/// A linear layer `y = W x (+ b)`, W [out, in] as stored by torch.nn.Linear.
public struct Linear: @unchecked Sendable {
    public let weight: Matrix             // [out, in]
    public let bias: UnsafePointer<Float>? // [out]

    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = Matrix(weight)
        self.bias = bias?.data
    }

    /// x [in] -> y [out]
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        weight.apply(x, into: y)
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

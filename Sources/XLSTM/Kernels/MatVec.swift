// Matrix–vector products: the per-token hot path. Every weight matrix is reached through `Matrix`,
// which carries its storage (f32 / bf16 views into the mmap) and the kernel table of the ISA path
// its model was loaded with (KernelSet.swift); the kernels themselves live in PortableKernels.swift
// and the per-ISA modules.

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
    /// The kernels every product with this matrix runs.
    public let kernels: KernelSet

    public init(data: UnsafePointer<Float>, rows: Int, cols: Int, kernels: KernelSet) {
        self.init(storage: .f32(data), rows: rows, cols: cols, kernels: kernels)
    }

    public init(storage: Storage, rows: Int, cols: Int, kernels: KernelSet) {
        self.storage = storage
        self.rows = rows
        self.cols = cols
        self.kernels = kernels
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
        case let .f32(p): return Matrix(storage: .f32(p + start * cols), rows: count, cols: cols, kernels: kernels)
        case let .bf16(p): return Matrix(storage: .bf16(p + start * cols), rows: count, cols: cols, kernels: kernels)
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
        case let .f32(w): kernels.matVecF32(w, rows, cols, x, y)
        case let .bf16(w): kernels.matVecBF16(w, rows, cols, x, y, ThreadScratch.buffer(.matVec, floats: cols))
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

/// a [n] · b [n] -> scalar (the engine's baseline code: cell dot products, not weight matrices)
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
    var i = 0
    while i + 16 <= count {
        multiplyAdd(&acc0, ar.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                    br.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        multiplyAdd(&acc1, ar.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self),
                    br.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
        i += 16
    }
    var sum = horizontalSum(acc0 + acc1)
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}

/// y [n] += x [n]
@inline(__always)
public func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

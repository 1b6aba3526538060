// Matrix–vector products: the per-token hot path. Every weight matrix is reached through `Matrix`:
// its weights repacked at load into the panel layout of its model's kernel path (MatrixPacking.swift)
// and the kernel table of that path (KernelSet.swift). The kernels live in PortableKernels.swift and
// the per-ISA modules.

/// A weight matrix `[rows, cols]` in panels of `kernels.mr` rows (each panel [cols][mr], the row index
/// fastest; rows past `rows` zero), float32 or bfloat16 (widened in registers), or block-quantized
/// (q8_0 / q4_0 panels, Quant/QuantPanels.swift), or a stack of such matrices (a fused projection
/// whose parts are stored differently). The storage belongs to the WeightStore that packed it.
public struct Matrix: @unchecked Sendable {
    public enum Storage: @unchecked Sendable {
        case f32(UnsafePointer<Float>)      // [panels][cols][mr]
        case bf16(UnsafePointer<UInt16>)    // [panels][cols][mr], rows j and j + mr/2 in one 32-bit word
        case q8(UnsafeRawPointer)           // [panels][cols / 32] blocks of 34·mr bytes (QuantPanels.swift)
        case q4(UnsafeRawPointer)           // [panels][cols / 32] blocks of 18·mr bytes
        case stacked(StackedMatrices)       // parts of `cols` columns, their rows one after another
    }

    public let storage: Storage
    public let rows: Int
    public let cols: Int
    /// The kernels every product with this matrix runs; their `mr` is the panel height.
    public let kernels: KernelSet

    /// A matrix over panels already laid out for `kernels` (see `Matrix.pack`).
    public init(panels storage: Storage, rows: Int, cols: Int, kernels: KernelSet) {
        self.storage = storage
        self.rows = rows
        self.cols = cols
        self.kernels = kernels
    }

    public var panelCount: Int { (rows + kernels.mr - 1) / kernels.mr }

    /// Bytes the kernels read for one pass over the matrix (padding rows included).
    public var storageBytes: Int {
        switch storage {
        case .f32: return panelCount * kernels.mr * cols * 4
        case .bf16: return panelCount * kernels.mr * cols * 2
        case .q8: return QuantFormat.q8.panelBytes(rows: rows, cols: cols, mr: kernels.mr)
        case .q4: return QuantFormat.q4.panelBytes(rows: rows, cols: cols, mr: kernels.mr)
        case let .stacked(s): return s.parts.reduce(0) { $0 + $1.storageBytes }
        }
    }

    /// Multiply-adds of one product with one token (padding rows included, as the kernels run them).
    public var storedElements: Int {
        if case let .stacked(s) = storage { return s.parts.reduce(0) { $0 + $1.storedElements } }
        return panelCount * kernels.mr * cols
    }

    /// The block format of quantized storage (nil for f32 / bf16 / stacked).
    public var quantFormat: QuantFormat? {
        switch storage {
        case .q8: return .q8
        case .q4: return .q4
        default: return nil
        }
    }

    /// Panels [first, first + count) as a matrix of their own (rows clipped to this one's).
    func panels(_ first: Int, count: Int) -> Matrix {
        let mr = kernels.mr
        let rowCount = min(count * mr, rows - first * mr)
        switch storage {
        case let .f32(p): return Matrix(panels: .f32(p + first * cols * mr), rows: rowCount, cols: cols, kernels: kernels)
        case let .bf16(p): return Matrix(panels: .bf16(p + first * cols * mr), rows: rowCount, cols: cols, kernels: kernels)
        case let .q8(p):
            let bytes = first * (cols / QuantFormat.blockSize) * QuantFormat.q8.panelBlockBytes(mr: mr)
            return Matrix(panels: .q8(p + bytes), rows: rowCount, cols: cols, kernels: kernels)
        case let .q4(p):
            let bytes = first * (cols / QuantFormat.blockSize) * QuantFormat.q4.panelBlockBytes(mr: mr)
            return Matrix(panels: .q4(p + bytes), rows: rowCount, cols: cols, kernels: kernels)
        case .stacked: preconditionFailure("a stack of matrices is split by its parts")
        }
    }

    /// W [rows, cols] · x [cols] -> y [rows]; panels split across `pool` when the matrix is large enough.
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil) {
        if case let .stacked(s) = storage {
            s.apply(x, into: y, pool: pool)
            return
        }
        let panels = panelCount
        if let pool, pool.parts > 1, rows * cols >= Matrix.parallelThreshold, panels >= 2 * pool.parts {
            let parts = pool.parts
            pool.run(PanelSplit(matrix: self, x: x, y: y, perPart: (panels + parts - 1) / parts))
        } else {
            applySerial(x, into: y)
        }
    }

    /// One part of a threaded `apply`: a run of panels (a value job: the step allocates nothing).
    struct PanelSplit: ParallelJob {
        let matrix: Matrix
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let perPart: Int

        func run(part: Int) {
            let first = part * perPart
            let count = min(perPart, matrix.panelCount - first)
            if count > 0 { matrix.panels(first, count: count).applySerial(x, into: y + first * matrix.kernels.mr) }
        }
    }

    /// Panels of at least this many bytes (a matrix, or a thread's part of one) take the streaming
    /// matvec: too large to stay in a core's 1–2 MB L2 from one token to the next, they come from L3
    /// or DRAM, where the far L2 prefetch keeps more of the stream in flight (the xLSTM-7B shape's
    /// bf16 step +15–16% on 1 and 2 threads). Smaller ones are read from cache, where the extra
    /// prefetches would only take load slots (the 0.5 M-parameter model's f32 step: −7–11%).
    public static let streamingBytes = 1 << 20

    /// Matrices smaller than this many elements are not worth waking the pool for.
    public static let parallelThreshold = 1 << 16

    @inline(__always)
    func applySerial(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        switch storage {
        case let .f32(w):
            (rows * cols * 4 >= Matrix.streamingBytes ? kernels.matVecStreamingF32 : kernels.matVecPackedF32)(w, rows, cols, x, y)
        case let .bf16(w):
            (rows * cols * 2 >= Matrix.streamingBytes ? kernels.matVecStreamingBF16 : kernels.matVecPackedBF16)(w, rows, cols, x, y)
        case let .q8(w): kernels.matVecPackedQ8(w.assumingMemoryBound(to: UInt8.self), rows, cols, x, y)
        case let .q4(w): kernels.matVecPackedQ4(w.assumingMemoryBound(to: UInt8.self), rows, cols, x, y)
        case let .stacked(s): s.apply(x, into: y, pool: nil)
        }
    }

    /// The f32 / bf16 matvec kernels a step chooses from (the same sums, so the same bits: the tests
    /// check it): `cached` for a matrix below `streamingBytes`; `twoStreams` (two panel streams, each
    /// also prefetched 16 KiB ahead into L2) or `oneStream` (one panel at a time, the L1 prefetch only)
    /// for one streamed from memory, as `KernelSet.oneStream` says.
    public enum MatVecVariant: CaseIterable, Sendable { case cached, twoStreams, oneStream }

    /// y = W · x on the calling thread with the given kernel variant (f32 / bf16 storage; others as `apply`).
    public func applySerial(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, variant: MatVecVariant) {
        switch (storage, variant) {
        case let (.f32(w), .cached): kernels.matVecPackedF32(w, rows, cols, x, y)
        case let (.f32(w), .twoStreams): kernels.matVecTwoStreamsF32(w, rows, cols, x, y)
        case let (.f32(w), .oneStream): kernels.matVecOneStreamF32(w, rows, cols, x, y)
        case let (.bf16(w), .cached): kernels.matVecPackedBF16(w, rows, cols, x, y)
        case let (.bf16(w), .twoStreams): kernels.matVecTwoStreamsBF16(w, rows, cols, x, y)
        case let (.bf16(w), .oneStream): kernels.matVecOneStreamBF16(w, rows, cols, x, y)
        default: applySerial(x, into: y)
        }
    }

    /// Row `index` widened to float32 → out [cols] (a tied lm_head's embedding lookup goes through
    /// `EmbeddingTable` instead; this is for tests and tools).
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        let mr = kernels.mr
        let panel = index / mr, lane = index % mr
        switch storage {
        case let .f32(w):
            let base = w + panel * cols * mr + lane
            for c in 0..<cols { out[c] = base[c * mr] }
        case let .bf16(w):
            let half = mr / 2
            let slot = lane < half ? 2 * lane : 2 * (lane - half) + 1
            let base = w + panel * cols * mr + slot
            for c in 0..<cols { out[c] = Float(bitPattern: UInt32(base[c * mr]) << 16) }
        case let .q8(w):
            QuantPanelLayout(format: .q8, mr: mr, lanes: kernels.lanes).unpackRow(w, index: index, cols: cols, into: out)
        case let .q4(w):
            QuantPanelLayout(format: .q4, mr: mr, lanes: kernels.lanes).unpackRow(w, index: index, cols: cols, into: out)
        case let .stacked(s):
            var part = 0
            while index >= s.offsets[part] + s.parts[part].rows { part += 1 }
            s.parts[part].copyRow(index - s.offsets[part], into: out)
        }
    }
}

/// The parts of a stacked matrix: part i gives rows [offsets[i], offsets[i] + parts[i].rows).
public final class StackedMatrices: @unchecked Sendable {
    public let parts: [Matrix]
    public let offsets: [Int]

    init(_ parts: [Matrix]) {
        self.parts = parts
        var offsets: [Int] = []
        var total = 0
        for part in parts {
            offsets.append(total)
            total += part.rows
        }
        self.offsets = offsets
    }

    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        for i in 0..<parts.count { parts[i].apply(x, into: y + offsets[i], pool: pool) }
    }

    func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int, into y: UnsafeMutablePointer<Float>,
                    yStride: Int, pool: ThreadPool?) {
        for i in 0..<parts.count {
            parts[i].applyBatch(x, xStride: xStride, count: count, into: y + offsets[i], yStride: yStride, pool: pool)
        }
    }
}

/// A row-major table `[rows, cols]` read one row at a time (token embeddings): a view into the
/// checkpoint's mmap (f32 or bf16 in place) or into a buffer of the WeightStore.
public struct EmbeddingTable: @unchecked Sendable {
    public enum Storage: @unchecked Sendable {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)
        /// The file's quantized rows in place: codes [rows, dataBytes(cols)], scales [rows, cols / 32].
        case quantized(QuantFormat, data: UnsafeRawPointer, scales: UnsafeRawPointer)
    }
    public let storage: Storage
    public let rows: Int
    public let cols: Int

    /// Row `index` widened to float32 → out [cols].
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        switch storage {
        case let .f32(w): out.update(from: w + index * cols, count: cols)
        case let .bf16(w):
            let row = w + index * cols
            for c in 0..<cols { out[c] = Float(bitPattern: UInt32(row[c]) << 16) }
        case let .quantized(format, data, scales):
            format.dequantizeRow(unaligned: data + index * format.dataBytes(cols: cols),
                                 scales: scales + index * (cols / QuantFormat.blockSize) * 2, cols: cols, into: out)
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

/// y [n] += x [n]
@inline(__always)
public func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

// The model's weights: every tensor of the checkpoint, looked up by its checkpoint key and handed
// out as a float32 view.
//
// Storage policy (measured in the README):
//  - F32 tensors whose data is 4-byte aligned in the file are views straight into the mmap: no copy.
//  - BF16 / F16 tensors (and the rare misaligned F32 one) are widened to float32 once, at load, into
//    buffers owned here. The float32 kernels then run at full speed; bf16 kernels that read the mmap
//    directly are the planned next step and will slot in behind `Matrix`.
//  - Block-quantized tensors (config.json `quantization_config`; BlockQuant.swift): the codes `N`
//    (I8 for q8_0, U8 for q4_0) and their binary16 scales `N_scale` [rows, cols / 32] are checked
//    when the store opens (dtype, shapes, the scale tensor present). Matrices are repacked into
//    q8_0 / q4_0 panels (Quant/QuantPanels.swift); a quantized embedding is read in place and a row
//    dequantized per lookup; a quantized tensor asked for as a plain tensor is dequantized to f32.
//    A fused projection whose parts are stored differently (some quantized, some kept f32/bf16)
//    becomes a stack of matrices, each part in its own storage (no part is requantized or widened).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How weight matrices stored in reduced precision are held.
public enum WeightPolicy: Sendable {
    /// bf16 matrices are read straight from the mmap by bf16 kernels (half the memory traffic);
    /// f16 ones are widened to float32 at load; quantized ones run the q8_0 / q4_0 kernels.
    case native
    /// Every tensor is widened to float32 at load; quantized tensors are dequantized (scale · code,
    /// the values a quantized model stands for), so the f32 kernels compute the same function.
    case float32
}

/// A block-quantized tensor of the files: codes, scales and the matrix they stand for.
struct QuantizedTensor {
    let format: QuantFormat
    let data: TensorEntry      // [rows, dataBytes(cols)] codes
    let scales: TensorEntry    // [rows, cols / 32] binary16
    let rows: Int
    let cols: Int
}

/// A float32 view of one weight tensor. Valid while the `WeightStore` that produced it is alive.
public struct Tensor: @unchecked Sendable {
    public let data: UnsafePointer<Float>
    public let shape: [Int]
    public var count: Int { shape.reduce(1, *) }
}

public final class WeightStore: @unchecked Sendable {
    private var entries: [String: TensorEntry] = [:]
    private var owned: [UnsafeMutablePointer<Float>] = []
    /// The storage dtypes seen, for `info`.
    public private(set) var dtypes: Set<DType> = []
    public private(set) var files: [SafeTensorsFile] = []
    /// Bytes of float32 copies made at load (widened bf16/f16, misaligned f32).
    public private(set) var widenedBytes = 0
    /// Elements of every distinct tensor handed out (a tied tensor counts once).
    public private(set) var parameterCount = 0
    /// Bytes of every matrix handed out by `matrix` (its panels, as the kernels read them).
    public private(set) var matrixBytes = 0
    /// The distinct (columns, storage) of the matrices handed out: what the kernels' per-thread
    /// scratch depends on (`Model.kernelScratchNeed`).
    public private(set) var matrixShapes: [MatrixShape] = []
    private var used: Set<String> = []
    /// Tensors read in place (so their file pages stay mapped).
    private var viewed: Set<String> = []
    /// Chunks of anonymous memory the panels are carved from: (base, bytes).
    private var panelChunks: [(UnsafeMutableRawPointer, Int)] = []
    private var panelChunkUsed = 0
    /// Quantized tensors by name (their `_scale` tensors are in `entries` too).
    private var quantized: [String: QuantizedTensor] = [:]
    /// Multiply-adds of one token through every matrix handed out (padding rows included).
    public private(set) var matrixElements = 0

    public let policy: WeightPolicy
    /// The block format of the quantized tensors (config.json `quantization_config`), or nil.
    public let quantization: QuantFormat?
    /// The kernels of every matrix handed out.
    public let kernels: KernelSet
    /// The model's thread pool, which repacks each matrix on all its threads (nil: the calling one).
    let pool: ThreadPool?

    /// What a tensor name found in two files means.
    public enum DuplicatePolicy: Sendable {
        /// An error (transformers' sharded layout: each tensor is in exactly one shard).
        case reject
        /// The later file's tensor is used (the official xlstm_large loader merges its model_{n}
        /// files with `dict.update`).
        case laterFileWins
    }

    public init(files: [SafeTensorsFile], policy: WeightPolicy = .native,
                duplicates: DuplicatePolicy = .reject, kernels: KernelSet,
                quantization: QuantFormat? = nil, pool: ThreadPool? = nil) throws(XLSTMError) {
        self.files = files
        self.pool = pool
        self.policy = policy
        self.kernels = kernels
        self.quantization = quantization
        for file in files {
            for entry in file.entries {
                if let other = entries[entry.name], duplicates == .reject {
                    throw XLSTMError(.invalidModel,
                                     "tensor '\(entry.name)' appears twice (\(other.file.path) and \(entry.file.path))")
                }
                entries[entry.name] = entry
            }
        }
        for entry in entries.values where entry.dtype == .i8 || entry.dtype == .u8 {
            quantized[entry.name] = try WeightStore.checkQuantized(entry, entries: entries, format: quantization)
        }
    }

    /// The quantized tensor `entry` (I8 / U8 codes) against the config's format and its scale tensor.
    static func checkQuantized(_ entry: TensorEntry, entries: [String: TensorEntry],
                               format: QuantFormat?) throws(XLSTMError) -> QuantizedTensor {
        let path = entry.file.path, name = entry.name
        guard let format else {
            throw XLSTMError(.invalidModel, "\(path): tensor '\(name)' has dtype \(entry.dtype.rawValue) (block-quantized "
                             + "codes), but the model's config.json has no quantization_config")
        }
        let expected: DType = format == .q8 ? .i8 : .u8
        guard entry.dtype == expected else {
            throw XLSTMError(.invalidModel, "\(path): tensor '\(name)' has dtype \(entry.dtype.rawValue), but "
                             + "quantization_config.format \(format.rawValue) stores \(expected.rawValue) codes")
        }
        guard entry.shape.count == 2, entry.shape[0] > 0, entry.shape[1] > 0 else {
            throw XLSTMError(.invalidModel, "\(path): quantized tensor '\(name)' has shape \(entry.shape) (expected [rows, "
                             + (format == .q8 ? "cols" : "cols / 2") + "])")
        }
        let rows = entry.shape[0]
        let cols = format == .q8 ? entry.shape[1] : 2 * entry.shape[1]
        guard QuantFormat.canQuantize(cols: cols) else {
            throw XLSTMError(.invalidModel, "\(path): quantized tensor '\(name)' has \(cols) columns, not a multiple of "
                             + "the block size \(QuantFormat.blockSize)")
        }
        let scaleName = QuantFormat.scaleName(of: name)
        guard let scales = entries[scaleName] else {
            throw XLSTMError(.invalidModel, "\(path): missing tensor '\(scaleName)', the float16 block scales of the "
                             + "quantized tensor '\(name)'")
        }
        guard scales.dtype == .f16 else {
            throw XLSTMError(.invalidModel, "\(scales.file.path): tensor '\(scaleName)' has dtype \(scales.dtype.rawValue); "
                             + "the block scales of '\(name)' must be F16")
        }
        let scaleShape = [rows, cols / QuantFormat.blockSize]
        guard scales.shape == scaleShape else {
            throw XLSTMError(.invalidModel, "\(scales.file.path): tensor '\(scaleName)' has shape \(scales.shape), expected "
                             + "\(scaleShape) (one scale per block of \(QuantFormat.blockSize) of '\(name)' \([rows, cols]))")
        }
        return QuantizedTensor(format: format, data: entry, scales: scales, rows: rows, cols: cols)
    }

    /// Marks `name` (and its scales, when quantized) as used; counts its parameters once.
    private func markUsed(_ name: String) {
        guard let entry = entries[name] else { return }
        dtypes.insert(entry.dtype)
        guard used.insert(name).inserted else { return }
        if let q = quantized[name] {
            parameterCount += q.rows * q.cols
            used.insert(q.scales.name)
        } else {
            parameterCount += entry.elementCount
        }
    }

    /// The logical shape of `name`: [rows, cols] of a quantized tensor, else its stored shape.
    private func logicalShape(_ entry: TensorEntry) -> [Int] {
        if let q = quantized[entry.name] { return [q.rows, q.cols] }
        return entry.shape
    }

    deinit {
        for buffer in owned { free(buffer) }
        for (base, bytes) in panelChunks { munmap(base, bytes) }
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }
    /// Tensors of the files that no `tensor`/`matrix` call has asked for (sorted).
    public var unusedTensorNames: [String] { entries.keys.filter { !used.contains($0) }.sorted() }
    public var tensorNames: [String] { Array(entries.keys) }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func dtype(of name: String) -> DType? { entries[name]?.dtype }

    /// The tensor `name`, which must have exactly `shape`.
    public func tensor(_ name: String, shape: [Int]) throws(XLSTMError) -> Tensor {
        guard let entry = entries[name] else {
            let where_ = files.count == 1 ? files[0].file.path : "the model's safetensors files"
            throw XLSTMError(.invalidModel, "missing tensor '\(name)' in \(where_)")
        }
        guard logicalShape(entry) == shape else {
            throw XLSTMError(.invalidModel,
                             "\(entry.file.path): tensor '\(name)' has shape \(logicalShape(entry)), expected \(shape)")
        }
        markUsed(name)
        if let q = quantized[name] {
            // A quantized tensor the engine reads row-major (not through a Matrix): dequantized once.
            guard QuantFormat.scalesAreFinite(q.scales.bytes.baseAddress!, count: q.scales.elementCount) else {
                throw XLSTMError(.invalidModel, "\(q.scales.file.path): tensor '\(q.scales.name)' holds a scale that is not finite")
            }
            let buffer = try systemAllocate(Float.self, count: q.rows * q.cols, for: "tensor '\(name)' widened to float32")
            owned.append(buffer)
            widenedBytes += q.rows * q.cols * 4
            let data = UnsafeRawPointer(q.data.bytes.baseAddress!), scales = UnsafeRawPointer(q.scales.bytes.baseAddress!)
            for r in 0..<q.rows {
                q.format.dequantizeRow(unaligned: data + r * q.format.dataBytes(cols: q.cols),
                                       scales: scales + r * (q.cols / QuantFormat.blockSize) * 2, cols: q.cols,
                                       into: buffer + r * q.cols)
            }
            return Tensor(data: UnsafePointer(buffer), shape: shape)
        }
        let source = entry.bytes
        let count = entry.elementCount
        if entry.dtype == .f32, Int(bitPattern: source.baseAddress) % MemoryLayout<Float>.alignment == 0 {
            return Tensor(data: source.baseAddress!.assumingMemoryBound(to: Float.self), shape: shape)
        }
        let buffer = try systemAllocate(Float.self, count: count, for: "tensor '\(name)' widened to float32")
        owned.append(buffer)
        widenedBytes += count * 4
        switch entry.dtype {
        case .f32:
            for i in 0..<count { buffer[i] = Float(bitPattern: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .bf16:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                buffer[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
            }
        case .f16:
            for i in 0..<count {
                buffer[i] = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .i8, .u8:
            preconditionFailure("I8 / U8 tensors are quantized (checked when the store opens)")
        }
        return Tensor(data: UnsafePointer(buffer), shape: shape)
    }

    /// Rows [first, first + count) of the 2-D tensor `name` [rows, cols] (all rows by default).
    public struct RowRange {
        public let name: String
        public let rows: Int
        public let first: Int
        public let count: Int
        public init(_ name: String, rows: Int, first: Int = 0, count: Int? = nil) {
            self.name = name
            self.rows = rows
            self.first = first
            self.count = count ?? rows
        }
    }

    /// The 2-D tensor `name` [rows, cols] — or its rows [first, first + count) — repacked into the
    /// panel layout of `kernels` (MatrixPacking.swift).
    public func matrix(_ name: String, rows: Int, cols: Int, first: Int = 0, count: Int? = nil) throws(XLSTMError) -> Matrix {
        try matrix(stacking: [RowRange(name, rows: rows, first: first, count: count)], cols: cols)
    }

    /// The row ranges `parts` of tensors with `cols` columns, stacked in order into one matrix
    /// (projections that read the same input, fused into one pass), repacked into the panel
    /// layout of `kernels`: under `.native`, q8_0 / q4_0 panels when every part is quantized in
    /// that format, bf16 panels when every part is bf16, f32 panels otherwise (bf16 / f16 widened);
    /// parts of different kinds (quantized and not) become a stack of one matrix per run of parts
    /// of one kind. The panels are owned here; the file's pages of a tensor used only through its
    /// panels are then dropped from memory (madvise).
    public func matrix(stacking parts: [RowRange], cols: Int) throws(XLSTMError) -> Matrix {
        var sources: [(entry: TensorEntry, part: RowRange)] = []
        for part in parts {
            guard let entry = entries[part.name] else {
                let where_ = files.count == 1 ? files[0].file.path : "the model's safetensors files"
                throw XLSTMError(.invalidModel, "missing tensor '\(part.name)' in \(where_)")
            }
            guard logicalShape(entry) == [part.rows, cols] else {
                throw XLSTMError(.invalidModel,
                                 "\(entry.file.path): tensor '\(part.name)' has shape \(logicalShape(entry)), expected \([part.rows, cols])")
            }
            precondition(part.first >= 0 && part.count >= 0 && part.first + part.count <= part.rows, "row range out of the tensor")
            sources.append((entry, part))
        }
        // Runs of parts of one kind: a quantized format (native policy), or float.
        func kind(_ entry: TensorEntry) -> QuantFormat? { policy == .native ? quantized[entry.name]?.format : nil }
        var runs: [[(entry: TensorEntry, part: RowRange)]] = []
        for source in sources {
            if let last = runs.last?.last, kind(last.entry) == kind(source.entry) {
                runs[runs.count - 1].append(source)
            } else {
                runs.append([source])
            }
        }
        let matrix: Matrix
        if runs.count == 1 {
            matrix = try packRun(sources, cols: cols)
        } else {
            var stacked: [Matrix] = []
            for run in runs { stacked.append(try packRun(run, cols: cols)) }
            let rows = stacked.reduce(0) { $0 + $1.rows }
            matrix = Matrix(panels: .stacked(StackedMatrices(stacked)), rows: rows, cols: cols, kernels: kernels)
        }
        for (entry, part) in sources {
            markUsed(part.name)
            if !viewed.contains(part.name) {
                entry.file.dropPages(entry.bytes)
                if let q = quantized[part.name] { q.scales.file.dropPages(q.scales.bytes) }
            }
        }
        return matrix
    }

    /// Parts of one kind (all quantized in one format under `.native`, or all float) as one matrix.
    private func packRun(_ sources: [(entry: TensorEntry, part: RowRange)], cols: Int) throws(XLSTMError) -> Matrix {
        // Stacked row r → (source, row within its tensor).
        var starts: [Int] = []
        var total = 0
        for (_, part) in sources {
            starts.append(total)
            total += part.count
        }
        func locate(_ r: Int) -> (Int, Int) {
            var s = sources.count - 1
            while starts[s] > r { s -= 1 }
            return (s, sources[s].part.first + r - starts[s])
        }
        let mr = kernels.mr
        let elements = Matrix.panelElements(rows: total, cols: cols, mr: mr)
        let matrix: Matrix
        if policy == .native, let format = quantized[sources[0].entry.name]?.format {
            let layout = QuantPanelLayout(format: format, mr: mr, lanes: kernels.lanes)
            let panels = try allocatePanels(bytes: format.panelBytes(rows: total, cols: cols, mr: mr))
            do {
                try layout.pack(rows: total, cols: cols, into: panels, pool: pool) { r in
                    let (s, row) = locate(r)
                    let q = quantized[sources[s].entry.name]!
                    return (UnsafeRawPointer(q.data.bytes.baseAddress!) + row * format.dataBytes(cols: cols),
                            UnsafeRawPointer(q.scales.bytes.baseAddress!) + row * (cols / QuantFormat.blockSize) * 2)
                }
            } catch {
                let names = sources.map { QuantFormat.scaleName(of: $0.part.name) }.joined(separator: "', '")
                throw XLSTMError(.invalidModel, "\(sources[0].entry.file.path): tensor '\(names)': \(error.message)")
            }
            matrix = Matrix(panels: format == .q8 ? .q8(UnsafeRawPointer(panels)) : .q4(UnsafeRawPointer(panels)),
                            rows: total, cols: cols, kernels: kernels)
        } else if policy == .native && sources.allSatisfy({ $0.entry.dtype == .bf16 }) {
            let panels = try allocatePanels(bytes: elements * 2).assumingMemoryBound(to: UInt16.self)
            Matrix.packBF16(rows: total, cols: cols, mr: mr, into: panels, pool: pool) { r in
                let (s, row) = locate(r)
                return UnsafeRawPointer(sources[s].entry.bytes.baseAddress!) + row * cols * 2
            }
            matrix = Matrix(panels: .bf16(UnsafePointer(panels)), rows: total, cols: cols, kernels: kernels)
        } else {
            for (entry, _) in sources {
                if let q = quantized[entry.name],
                   !QuantFormat.scalesAreFinite(q.scales.bytes.baseAddress!, count: q.scales.elementCount) {
                    throw XLSTMError(.invalidModel, "\(q.scales.file.path): tensor '\(q.scales.name)' holds a scale that is not finite")
                }
            }
            let panels = try allocatePanels(bytes: elements * 4).assumingMemoryBound(to: Float.self)
            Matrix.packF32(rows: total, cols: cols, mr: mr, into: panels, pool: pool) { r in
                let (s, row) = locate(r)
                let entry = sources[s].entry
                if let q = quantized[entry.name] {
                    return Matrix.Source.quantized(q.format, data: UnsafeRawPointer(q.data.bytes.baseAddress!),
                                                   scales: UnsafeRawPointer(q.scales.bytes.baseAddress!)).row(row, cols: cols)
                }
                let base = UnsafeRawPointer(entry.bytes.baseAddress!)
                switch entry.dtype {
                case .f32: return .f32(base + row * cols * 4)
                case .bf16: return .bf16(base + row * cols * 2)
                case .f16: return .f16(base + row * cols * 2)
                case .i8, .u8: preconditionFailure("I8 / U8 tensors are quantized (checked when the store opens)")
                }
            }
            matrix = Matrix(panels: .f32(UnsafePointer(panels)), rows: total, cols: cols, kernels: kernels)
        }
        matrixBytes += matrix.storageBytes
        matrixElements += matrix.storedElements
        let kind: MatrixShape.Storage
        switch matrix.storage {
        case .q8: kind = .q8
        case .q4: kind = .q4
        case .bf16: kind = .bf16
        case .f32, .stacked: kind = .f32
        }
        let shape = MatrixShape(cols: cols, storage: kind)
        if !matrixShapes.contains(shape) { matrixShapes.append(shape) }
        return matrix
    }

    /// The 2-D tensor `name` [rows, cols] as a row-major table read a row at a time (token
    /// embeddings): f32, bf16 and (under `.native`) quantized rows in place in the mmap, f16
    /// widened once.
    public func embeddingTable(_ name: String, rows: Int, cols: Int) throws(XLSTMError) -> EmbeddingTable {
        if policy == .native, let q = quantized[name], q.rows == rows, q.cols == cols {
            guard QuantFormat.scalesAreFinite(q.scales.bytes.baseAddress!, count: q.scales.elementCount) else {
                throw XLSTMError(.invalidModel, "\(q.scales.file.path): tensor '\(q.scales.name)' holds a scale that is not finite")
            }
            markUsed(name)
            viewed.insert(name)
            return EmbeddingTable(storage: .quantized(q.format, data: UnsafeRawPointer(q.data.bytes.baseAddress!),
                                                      scales: UnsafeRawPointer(q.scales.bytes.baseAddress!)),
                                  rows: rows, cols: cols)
        }
        if let entry = entries[name], entry.shape == [rows, cols], entry.dtype == .bf16,
           Int(bitPattern: entry.bytes.baseAddress) % MemoryLayout<UInt16>.alignment == 0 {
            markUsed(name)
            viewed.insert(name)
            return EmbeddingTable(storage: .bf16(entry.bytes.baseAddress!.assumingMemoryBound(to: UInt16.self)),
                                  rows: rows, cols: cols)
        }
        let table = try tensor(name, shape: [rows, cols])
        viewed.insert(name)
        return EmbeddingTable(storage: .f32(table.data), rows: rows, cols: cols)
    }

    /// 64-byte aligned storage for panels, owned by the store.
    /// Memory for `bytes` of panels, 64-byte aligned, zeroed. Carved one after another from chunks
    /// of ≥ 32 MiB of anonymous memory, 2 MiB aligned and (Linux) advised for transparent huge
    /// pages: the kernels stream the panels, and with 4 KiB pages the GEMM's and the matvec's
    /// streams cross a page (a TLB miss, and a stop for the prefetchers) every 4 KiB. Measured on the
    /// Xeon model 207 (xlstm-bench --batch-gemm, 384 MiB of bf16 panels, 1 thread): the batch GEMM's
    /// weights read at 14.4 vs 12.6 GB/s (4 sessions), 8.3 vs 7.7 GB/s (16 sessions).
    private func allocatePanels(bytes: Int) throws(XLSTMError) -> UnsafeMutableRawPointer {
        let size = (max(bytes, 64) + 63) & ~63
        if let (base, capacity) = panelChunks.last, panelChunkUsed + size <= capacity {
            defer { panelChunkUsed += size }
            return base + panelChunkUsed
        }
        let huge = 2 << 20
        let capacity = max(32 << 20, (size + huge - 1) / huge * huge)
        // Over-map by one huge page, then trim both ends to a 2 MiB-aligned region.
        guard let raw = mmap(nil, capacity + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else {
            throw XLSTMError(.outOfMemory, "out of memory: the system refused \(capacity) bytes of weight panels "
                             + "(\(panelChunks.reduce(0) { $0 + $1.1 }) bytes held so far)")
        }
        let address = Int(bitPattern: raw)
        let aligned = (address + huge - 1) / huge * huge
        if aligned > address { munmap(raw, aligned - address) }
        if aligned + capacity < address + capacity + huge {
            munmap(UnsafeMutableRawPointer(bitPattern: aligned + capacity), address + capacity + huge - aligned - capacity)
        }
        let base = UnsafeMutableRawPointer(bitPattern: aligned)!
        #if os(Linux)
        _ = madvise(base, capacity, 14)   // MADV_HUGEPAGE (best effort: ignored where THP is off)
        #endif
        panelChunks.append((base, capacity))
        panelChunkUsed = size
        return base
    }

    /// A new float32 buffer owned by the store (for tensors derived at load, e.g. `1 + weight`).
    public func derivedBuffer(count: Int) throws(XLSTMError) -> UnsafeMutablePointer<Float> {
        let buffer = try systemAllocate(Float.self, count: count, for: "a tensor derived at load")
        buffer.initialize(repeating: 0, count: max(count, 1))
        owned.append(buffer)
        return buffer
    }

    /// `tensor(name, shape:)` when the tensor is present, nil when it is absent.
    public func optionalTensor(_ name: String, shape: [Int]) throws(XLSTMError) -> Tensor? {
        entries[name] == nil ? nil : try tensor(name, shape: shape)
    }
}

/// A packed matrix's column count and storage kind.
public struct MatrixShape: Equatable, Sendable {
    public enum Storage: Sendable { case f32, bf16, q8, q4 }
    public let cols: Int
    public let storage: Storage
}

/// IEEE 754 binary16 → binary32, exact for every input (subnormals, infinities, NaN).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // zero or subnormal: mantissa * 2^-24
        return Float(bitPattern: sign) + (sign != 0 ? -1 : 1) * Float(mantissa) * 0x1p-24
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

// Weights are repacked once, at load, into the panel layout of the model's kernel path (as ggml-cpu
// repacks weights for its AVX-512/AMX and aarch64 kernels): panel p holds rows [mr·p, mr·p + mr) of
// W [rows, cols] as [cols][mr], the row index fastest, rows past the end zero.
//
// Both products then read every weight sequentially with no shuffles and no horizontal sums: the
// matvec broadcasts x[k] against one panel row (mr outputs at once), and the GEMM micro-kernel
// takes its A operand straight from the panel — prefill packs only the tokens' inputs, which are
// small next to the weights. bf16 panels keep bf16 (half the bytes per token); each 32-bit word
// holds rows j and j + mr/2, so one shift and one mask widen a panel row into two float vectors.

extension Matrix {
    /// The source of a repack: a row-major tensor (or one of its rows) in the checkpoint's dtype.
    public enum Source {
        case f32(UnsafeRawPointer)     // little-endian float32, any alignment
        case bf16(UnsafeRawPointer)    // little-endian bfloat16
        case f16(UnsafeRawPointer)     // little-endian IEEE half
        /// Block-quantized rows as in the file (BlockQuant.swift): codes and binary16 scales.
        case quantized(QuantFormat, data: UnsafeRawPointer, scales: UnsafeRawPointer)

        /// Where row `index` of this tensor, with `cols` columns, starts.
        func row(_ index: Int, cols: Int) -> Source {
            switch self {
            case let .f32(p): return .f32(p + index * cols * 4)
            case let .bf16(p): return .bf16(p + index * cols * 2)
            case let .f16(p): return .f16(p + index * cols * 2)
            case let .quantized(format, data, scales):
                return .quantized(format, data: data + index * format.dataBytes(cols: cols),
                                  scales: scales + index * (cols / QuantFormat.blockSize) * 2)
            }
        }
    }

    /// Elements of panel storage for `rows` rows: whole panels of `mr`.
    static func panelElements(rows: Int, cols: Int, mr: Int) -> Int { (rows + mr - 1) / mr * mr * cols }

    /// The walk both repacks share: for each panel (its storage zeroed first when it has fewer
    /// than `mr` rows), for each tile of 64 columns, for each valid row i of the panel:
    /// `copy(base, stored row index, i, c0, c1)` writes columns [c0, c1) of that row. A tile of
    /// 64 columns × mr rows (8 KiB at mr = 32) is written while mr rows are read, so both sides
    /// stay in L1.
    /// With a `pool` the panels are split into one contiguous run per thread (a load repacks
    /// gigabytes: the copy, and the first touch of the fresh pages, run on every thread); `copy` is
    /// then called from several threads at once, on disjoint panels.
    @inline(__always)
    static func forEachPanelTile<Element>(rows: Int, cols: Int, mr: Int, into out: UnsafeMutablePointer<Element>,
                                          zero: Element, pool: ThreadPool? = nil,
                                          _ copy: (_ base: UnsafeMutablePointer<Element>, _ row: Int, _ lane: Int,
                                                   _ c0: Int, _ c1: Int) -> Void) {
        let tile = 64
        forEachPanelRun((rows + mr - 1) / mr, pool: pool) { _, run in
            for panel in run {
                let base = out + panel * cols * mr
                let valid = min(mr, rows - panel * mr)
                if valid < mr { base.update(repeating: zero, count: cols * mr) }
                var c0 = 0
                while c0 < cols {
                    let c1 = min(c0 + tile, cols)
                    for i in 0..<valid { copy(base, panel * mr + i, i, c0, c1) }
                    c0 = c1
                }
            }
        }
    }

    /// `body(part, panels)` for `count` panels split into one contiguous run per part of `pool`
    /// (all of them in part 0 without one). Load-time only: the pool gets a closure.
    static func forEachPanelRun(_ count: Int, pool: ThreadPool?, _ body: (Int, Range<Int>) -> Void) {
        let parts = pool?.parts ?? 1
        guard let pool, parts > 1, count >= parts else {
            body(0, 0..<count)
            return
        }
        let perPart = (count + parts - 1) / parts
        pool.run { part in
            let first = min(count, part * perPart)
            body(part, first..<min(count, first + perPart))
        }
    }

    /// Repacks `rows` rows into `out` (`panelElements` floats) as f32 panels; `row(r)` is where row r
    /// starts (f32 as is, bf16 and f16 widened).
    static func packF32(rows: Int, cols: Int, mr: Int, into out: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil,
                        row: (Int) -> Source) {
        forEachPanelTile(rows: rows, cols: cols, mr: mr, into: out, zero: 0, pool: pool) { base, r, i, c0, c1 in
            switch row(r) {
            case let .f32(p):
                for c in c0..<c1 { base[c * mr + i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: c * 4, as: UInt32.self))) }
            case let .bf16(p):
                for c in c0..<c1 { base[c * mr + i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: c * 2, as: UInt16.self))) << 16) }
            case let .f16(p):
                for c in c0..<c1 { base[c * mr + i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: c * 2, as: UInt16.self))) }
            case let .quantized(format, data, scales):
                // Tiles are 64 columns: whole blocks (cols is a multiple of 32).
                withUnsafeTemporaryAllocation(of: Float.self, capacity: c1 - c0) { values in
                    let first = c0 / QuantFormat.blockSize
                    format.dequantizeRow(unaligned: data + format.dataBytes(cols: c0), scales: scales + 2 * first,
                                         cols: c1 - c0, into: values.baseAddress!)
                    for c in c0..<c1 { base[c * mr + i] = values[c - c0] }
                }
            }
        }
    }

    /// Repacks `rows` bf16 rows into `out` (`panelElements` UInt16) as bf16 panels: in panel row k,
    /// UInt16 2j is row j and 2j + 1 is row j + mr/2. `row(r)` is where row r starts.
    static func packBF16(rows: Int, cols: Int, mr: Int, into out: UnsafeMutablePointer<UInt16>, pool: ThreadPool? = nil,
                         row: (Int) -> UnsafeRawPointer) {
        let half = mr / 2
        forEachPanelTile(rows: rows, cols: cols, mr: mr, into: out, zero: 0, pool: pool) { base, r, i, c0, c1 in
            let slot = i < half ? 2 * i : 2 * (i - half) + 1
            let p = row(r)
            for c in c0..<c1 { base[c * mr + slot] = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: c * 2, as: UInt16.self)) }
        }
    }
}

/// A matrix that owns its panels (for tests, tools and benchmarks; a model's matrices belong to its
/// WeightStore). The panels are freed with this object: keep it alive while `matrix` is used.
public final class OwnedMatrix: @unchecked Sendable {
    public let matrix: Matrix
    private let buffer: UnsafeMutableRawPointer

    /// Repacks the row-major `source` [rows, cols] for `kernels`: bf16 panels when `bf16Panels`
    /// (the source must then be bf16), f32 panels otherwise.
    public init(_ source: Matrix.Source, rows: Int, cols: Int, kernels: KernelSet, bf16Panels: Bool = false) {
        let elements = Matrix.panelElements(rows: rows, cols: cols, mr: kernels.mr)
        if bf16Panels {
            guard case let .bf16(raw) = source else { preconditionFailure("bf16 panels need a bf16 source") }
            buffer = .allocate(byteCount: max(elements * 2, 64), alignment: 64)
            let panels = buffer.assumingMemoryBound(to: UInt16.self)
            Matrix.packBF16(rows: rows, cols: cols, mr: kernels.mr, into: panels) { raw + $0 * cols * 2 }
            matrix = Matrix(panels: .bf16(UnsafePointer(panels)), rows: rows, cols: cols, kernels: kernels)
        } else {
            buffer = .allocate(byteCount: max(elements * 4, 64), alignment: 64)
            let panels = buffer.assumingMemoryBound(to: Float.self)
            Matrix.packF32(rows: rows, cols: cols, mr: kernels.mr, into: panels) { source.row($0, cols: cols) }
            matrix = Matrix(panels: .f32(UnsafePointer(panels)), rows: rows, cols: cols, kernels: kernels)
        }
    }

    /// Repacks row-major block-quantized rows (the file layout: `data` codes, `scales` binary16)
    /// [rows, cols] into q8_0 / q4_0 panels for `kernels`; cols must be a multiple of 32.
    public init(quantized format: QuantFormat, data: UnsafeRawPointer, scales: UnsafeRawPointer, rows: Int, cols: Int,
                kernels: KernelSet) throws(XLSTMError) {
        precondition(QuantFormat.canQuantize(cols: cols), "quantized matrices have a multiple of 32 columns")
        let layout = QuantPanelLayout(format: format, mr: kernels.mr, lanes: kernels.lanes)
        buffer = .allocate(byteCount: max(format.panelBytes(rows: rows, cols: cols, mr: kernels.mr), 64), alignment: 64)
        do {
            try layout.pack(rows: rows, cols: cols, into: buffer) { r in
                (data + r * format.dataBytes(cols: cols), scales + r * (cols / QuantFormat.blockSize) * 2)
            }
        } catch {
            buffer.deallocate()
            throw error
        }
        let storage: Matrix.Storage = format == .q8 ? .q8(UnsafeRawPointer(buffer)) : .q4(UnsafeRawPointer(buffer))
        matrix = Matrix(panels: storage, rows: rows, cols: cols, kernels: kernels)
    }

    deinit { buffer.deallocate() }

    // The products through this object, so the panels are alive while they run (`matrix` alone does
    // not keep them alive).
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil) {
        matrix.apply(x, into: y, pool: pool)
    }

    public func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int, into y: UnsafeMutablePointer<Float>,
                           yStride: Int, pool: ThreadPool? = nil) {
        matrix.applyBatch(x, xStride: xStride, count: count, into: y, yStride: yStride, pool: pool)
    }

    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) { matrix.copyRow(index, into: out) }
}

// The q8_0 / q4_0 kernels of every ISA path this CPU runs (matvec, the GEMM through dequantized
// panels, the thread split, the panel layout) against a plain double-precision product over the
// reference dequantization (`QuantFormat.dequantizeRow`), on shapes with tails: rows not a
// multiple of MR, one block of columns and several, token counts not a multiple of NR or KC.

import Testing
import XLSTM

@Suite struct QuantKernelTests {
    static let paths = CPUInfo.current.supportedPaths
    static let formats = QuantFormat.allCases
    /// (rows, cols): cols = 32·k; the last two past the fast kernels' 64-block chunks (and the
    /// exact ones' former 32), the widest as the xLSTM-7B FFN's down projection.
    static let shapes: [(Int, Int)] = [(1, 32), (5, 64), (8, 32), (33, 96), (67, 160), (130, 256), (16, 288), (40, 2080), (9, 10944)]

    /// Quantized rows of a random [rows, cols] matrix (some rows scaled down to give subnormal scales,
    /// one row all zero) and the values they stand for.
    struct Quantized {
        var data: [UInt8]
        var scales: [UInt16]
        var values: [Float]   // dequantizeRow of every row, [rows, cols]
    }

    static func quantized(_ format: QuantFormat, rows: Int, cols: Int, seed: UInt64) -> Quantized {
        var w = KernelTests.randomFloats(rows * cols, seed: seed)
        for r in 0..<rows {
            let factor: Float = r % 7 == 3 ? 2e-4 : (r % 5 == 4 ? 0 : 1)   // subnormal half scales (q8), zero rows
            for c in 0..<cols { w[r * cols + c] *= factor }
        }
        var q = Quantized(data: .init(repeating: 0, count: rows * format.dataBytes(cols: cols)),
                          scales: .init(repeating: 0, count: rows * cols / 32), values: .init(repeating: 0, count: rows * cols))
        w.withUnsafeBufferPointer { wp in
            q.data.withUnsafeMutableBufferPointer { d in
                q.scales.withUnsafeMutableBufferPointer { s in
                    q.values.withUnsafeMutableBufferPointer { v in
                        for r in 0..<rows {
                            let data = d.baseAddress! + r * format.dataBytes(cols: cols), scales = s.baseAddress! + r * cols / 32
                            format.quantizeRow(wp.baseAddress! + r * cols, cols: cols, data: data, scales: scales)
                            format.dequantizeRow(data: data, scales: scales, cols: cols, into: v.baseAddress! + r * cols)
                        }
                    }
                }
            }
        }
        return q
    }

    static func matrix(_ q: Quantized, _ format: QuantFormat, rows: Int, cols: Int, path: CPUPath) throws -> OwnedMatrix {
        try q.data.withUnsafeBytes { d in
            try q.scales.withUnsafeBytes { s in
                try OwnedMatrix(quantized: format, data: d.baseAddress!, scales: s.baseAddress!, rows: rows, cols: cols,
                                kernels: .table(path))
            }
        }
    }

    /// max |a − b| / max |b| over doubles.
    static func relative(_ a: [Float], _ b: [Double]) -> Double {
        var diff = 0.0, reference = 0.0
        for i in a.indices {
            diff = max(diff, abs(Double(a[i]) - b[i]))
            reference = max(reference, abs(b[i]))
        }
        if diff.isNaN { return .infinity }
        return reference > 0 ? diff / reference : diff
    }

    @Test(arguments: formats, paths)
    func matVecMatchesDequantizedReference(_ format: QuantFormat, _ path: CPUPath) throws {
        for (rows, cols) in Self.shapes {
            let q = Self.quantized(format, rows: rows, cols: cols, seed: UInt64(rows * 131 + cols))
            let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
            let x = KernelTests.randomFloats(cols, seed: 11)
            var y = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { m.apply(xp.baseAddress!, into: $0.baseAddress!) } }
            let expected = KernelTests.reference(q.values, rows: rows, cols: cols, x)
            #expect(Self.relative(y, expected) <= 1e-5, "\(format) \(path) [\(rows) × \(cols)]")
            #expect(m.matrix.storageBytes == format.panelBytes(rows: rows, cols: cols, mr: m.matrix.kernels.mr))
        }
    }

    /// Prefill's product: token counts around NR, columns past KC (several dequantized blocks).
    @Test(arguments: formats, paths)
    func gemmMatchesDequantizedReference(_ format: QuantFormat, _ path: CPUPath) throws {
        for (rows, cols) in [(5, 64), (67, 160), (130, 288), (33, 32)] {
            let q = Self.quantized(format, rows: rows, cols: cols, seed: UInt64(rows * 17 + cols))
            let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
            for tokens in [2, 5, 13, 29] {
                let x = KernelTests.randomFloats(tokens * cols, seed: UInt64(tokens))
                var y = [Float](repeating: .nan, count: tokens * rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer {
                        m.applyBatch(xp.baseAddress!, xStride: cols, count: tokens, into: $0.baseAddress!, yStride: rows)
                    }
                }
                var expected: [Double] = []
                for t in 0..<tokens {
                    expected += KernelTests.reference(q.values, rows: rows, cols: cols, Array(x[(t * cols)..<((t + 1) * cols)]))
                }
                #expect(Self.relative(y, expected) <= 1e-5, "\(format) \(path) [\(rows) × \(cols)] × \(tokens)")
            }
        }
    }

    /// Large enough for the pool: the split matvec and GEMM equal the serial ones bit for bit.
    @Test(arguments: formats, paths)
    func threadSplitEqualsSerial(_ format: QuantFormat, _ path: CPUPath) throws {
        let rows = 1000, cols = 128
        let q = Self.quantized(format, rows: rows, cols: cols, seed: 99)
        let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
        let pool = ThreadPool(threads: 2)
        let tokens = 7
        let x = KernelTests.randomFloats(tokens * cols, seed: 5)
        var serial = [Float](repeating: 0, count: tokens * rows), split = serial
        x.withUnsafeBufferPointer { xp in
            serial.withUnsafeMutableBufferPointer { m.applyBatch(xp.baseAddress!, xStride: cols, count: tokens, into: $0.baseAddress!, yStride: rows) }
            split.withUnsafeMutableBufferPointer {
                m.applyBatch(xp.baseAddress!, xStride: cols, count: tokens, into: $0.baseAddress!, yStride: rows, pool: pool)
            }
        }
        #expect(serial == split)
        var one = [Float](repeating: 0, count: rows), onePooled = one
        x.withUnsafeBufferPointer { xp in
            one.withUnsafeMutableBufferPointer { m.apply(xp.baseAddress!, into: $0.baseAddress!) }
            onePooled.withUnsafeMutableBufferPointer { m.apply(xp.baseAddress!, into: $0.baseAddress!, pool: pool) }
        }
        #expect(one == onePooled)
    }

    /// The panels hold the rows: every row read back is exactly the reference dequantization.
    @Test(arguments: formats, paths)
    func panelsHoldTheDequantizedRows(_ format: QuantFormat, _ path: CPUPath) throws {
        let (rows, cols) = (67, 96)
        let q = Self.quantized(format, rows: rows, cols: cols, seed: 3)
        let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
        var row = [Float](repeating: .nan, count: cols)
        for r in 0..<rows {
            row.withUnsafeMutableBufferPointer { m.copyRow(r, into: $0.baseAddress!) }
            #expect(row == Array(q.values[(r * cols)..<((r + 1) * cols)]), "row \(r)")
        }
    }

    /// A non-finite scale is refused when the panels are packed (the kernels assume finite scales).
    @Test func nonFiniteScaleIsRefused() throws {
        var q = Self.quantized(.q8, rows: 3, cols: 64, seed: 1)
        q.scales[4] = 0x7C00   // +inf, row 2 block 0
        let error = #expect(throws: XLSTMError.self) { try Self.matrix(q, .q8, rows: 3, cols: 64, path: .portable) }
        #expect(error?.message.contains("not finite") == true)
    }
}

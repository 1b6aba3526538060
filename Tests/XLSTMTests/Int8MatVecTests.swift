// The `fast` precision's int8 matvecs (Sources/CXLSTMCPU/int8_matvec.c) on every path this CPU
// runs them: against a double-precision product of the dequantized weights with x quantized per
// block of 32 the way the header says (d = max|x| / 127, q = round-to-nearest-even(x · 127 / max|x|)),
// on shapes with row tails, one block and several, and more than one 2 048-column chunk; the thread
// split; a NaN in x; and how far `fast` is from `exact` on random data.

import Testing
import XLSTM

@Suite struct Int8MatVecTests {
    /// The paths whose `fast` table has int8 matvecs on this CPU.
    static let paths = CPUInfo.current.supportedPaths.filter { KernelSet.table($0, precision: .fast).int8MatVec != nil }
    static let shapes: [(Int, Int)] = [(1, 32), (5, 64), (16, 32), (33, 96), (67, 160), (130, 256), (40, 2112), (130, 4160)]

    /// x quantized per block: (codes, scales).
    static func quantizeActivations(_ x: [Float]) -> ([Int32], [Float]) {
        var q = [Int32](repeating: 0, count: x.count), d = [Float](repeating: 0, count: x.count / 32)
        for b in 0..<(x.count / 32) {
            var amax: Float = 0
            for c in (32 * b)..<(32 * b + 32) { amax = max(amax, abs(x[c])) }
            let inverse: Float = amax > 0 ? 127 / amax : 0
            d[b] = amax / 127
            for c in (32 * b)..<(32 * b + 32) { q[c] = max(-128, min(127, Int32((x[c] * inverse).rounded(.toNearestOrEven)))) }
        }
        return (q, d)
    }

    /// Σ_b d[b] · Σ_{c in b} W[r][c] · q[c], in doubles (W = the dequantized weights d_w · code, exact).
    static func int8Reference(_ w: [Float], rows: Int, cols: Int, _ x: [Float]) -> [Double] {
        let (q, d) = quantizeActivations(x)
        return (0..<rows).map { r in
            var sum = 0.0
            for b in 0..<(cols / 32) {
                var block = 0.0
                for c in (32 * b)..<(32 * b + 32) { block += Double(w[r * cols + c]) * Double(q[c]) }
                sum += block * Double(d[b])
            }
            return sum
        }
    }

    static func matrix(_ q: QuantKernelTests.Quantized, _ format: QuantFormat, rows: Int, cols: Int,
                       path: CPUPath) throws -> OwnedMatrix {
        try q.data.withUnsafeBytes { d in
            try q.scales.withUnsafeBytes { s in
                try OwnedMatrix(quantized: format, data: d.baseAddress!, scales: s.baseAddress!, rows: rows, cols: cols,
                                kernels: .table(path, precision: .fast))
            }
        }
    }

    static func apply(_ m: OwnedMatrix, _ x: [Float], pool: ThreadPool? = nil) -> [Float] {
        var y = [Float](repeating: .nan, count: m.matrix.rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { m.apply(xp.baseAddress!, into: $0.baseAddress!, pool: pool) }
        }
        return y
    }

    @Test func fastTablesWhereTheCPUHasTheInstructions() {
        let cpu = CPUInfo.current
        let f16c = cpu.featureNames.contains("f16c"), vnni = cpu.featureNames.contains("avx512vnni")
        for path in cpu.supportedPaths {
            let fast = KernelSet.table(path, precision: .fast)
            #expect(fast.path == path)
            let exactInt8: String? = switch path {
            case .portable: nil
            case .avx2: f16c ? "avx2, 3 digits" : nil
            case .avx512: vnni && f16c ? "avx512-vnni, 3 digits" : nil
            }
            #expect(KernelSet.table(path).int8MatVec == exactInt8)
            #expect(KernelSet.table(path).precision == .exact)
            switch path {
            case .portable: #expect(fast.int8MatVec == nil && fast.precision == .exact)
            case .avx2: #expect(fast.int8MatVec == (f16c ? "avx2" : nil))
            case .avx512:
                #expect(fast.int8MatVec == (vnni && f16c ? "avx512-vnni" : nil))
            }
        }
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func matchesTheInt8Reference(_ format: QuantFormat, _ path: CPUPath) throws {
        for (rows, cols) in Self.shapes {
            let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: UInt64(rows * 131 + cols))
            let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
            var x = KernelTests.randomFloats(cols, seed: 23)
            for c in 0..<min(cols, 64) where c % 9 == 4 { x[c] *= 1e-3 }   // a block with a small outlier pattern
            if cols >= 96 { for c in 64..<96 { x[c] = 0 } }                   // an all-zero block: d = 0
            let y = Self.apply(m, x)
            let expected = Self.int8Reference(q.values, rows: rows, cols: cols, x)
            #expect(QuantKernelTests.relative(y, expected) <= 1e-5, "\(format) \(path) [\(rows) × \(cols)]")
            // What `fast` costs against `exact` on this data (a random x: ~0.3% of max |y|).
            let exact = KernelTests.reference(q.values, rows: rows, cols: cols, x)
            #expect(QuantKernelTests.relative(y, exact) <= 2e-2, "\(format) \(path) [\(rows) × \(cols)] vs exact")
        }
    }

    /// The exact precision's three-digit kernels and the float kernels they replace (`KernelSet.avx2`
    /// / `.avx512`, still the tables where the CPU lacks F16C / VNNI) against a
    /// double-precision product, on x of every magnitude from 1e-20 to 1e20 and with mixed blocks.
    @Test(arguments: QuantFormat.allCases, [CPUPath.avx2, .avx512])
    func threeDigitExactKernelsMatchTheFloatProduct(_ format: QuantFormat, _ path: CPUPath) throws {
        guard CPUInfo.current.supports(path) else { return }
        let exact = KernelSet.table(path)
        guard exact.int8MatVec != nil else { return }
        #if arch(x86_64)
        let float: KernelSet = path == .avx2 ? .avx2 : .avx512
        #else
        let float: KernelSet = .portable
        #endif
        for (rows, cols) in Self.shapes {
            let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: UInt64(rows * 7 + cols))
            for scale: Float in [1e-20, 1e-3, 1, 1e20] {
                var x = KernelTests.randomFloats(cols, seed: 31).map { $0 * scale }
                for c in 0..<cols where c % 11 == 5 { x[c] *= 1e-4 }   // small values beside large ones in a block
                let expected = KernelTests.reference(q.values, rows: rows, cols: cols, x)
                for kernels in [exact, float] {
                    let m = try q.data.withUnsafeBytes { d in
                        try q.scales.withUnsafeBytes { s in
                            try OwnedMatrix(quantized: format, data: d.baseAddress!, scales: s.baseAddress!, rows: rows, cols: cols,
                                            kernels: kernels)
                        }
                    }
                    let error = QuantKernelTests.relative(Self.apply(m, x), expected)
                    #expect(error <= 1e-5, "\(format) \(kernels.int8MatVec ?? "float") [\(rows) × \(cols)] x·\(scale): \(error)")
                }
            }
        }
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func threadSplitIsBitIdentical(_ format: QuantFormat, _ path: CPUPath) throws {
        let (rows, cols) = (130, 4160)
        let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: 5)
        let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
        let x = KernelTests.randomFloats(cols, seed: 6)
        let pool = ThreadPool(threads: 2)
        #expect(Self.apply(m, x, pool: pool) == Self.apply(m, x))
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func aNaNInTheInputGivesNaN(_ format: QuantFormat, _ path: CPUPath) throws {
        let (rows, cols) = (33, 96)
        let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: 8)
        let m = try Self.matrix(q, format, rows: rows, cols: cols, path: path)
        var x = KernelTests.randomFloats(cols, seed: 9)
        x[40] = .nan
        let withNaN = Self.apply(m, x)
        #expect(withNaN.allSatisfy { $0.isNaN })
        x[40] = .infinity
        let withInfinity = Self.apply(m, x)
        #expect(withInfinity.allSatisfy { !$0.isFinite })
    }
}

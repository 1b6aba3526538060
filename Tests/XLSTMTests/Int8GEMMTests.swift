// The `fast` precision's int8 GEMM (Sources/CXLSTMCPU/int8_gemm.c), prefill's (`applyBatch`) and
// batches' (`applyRows`) q8 / q4 projections: every token against the int8 arithmetic computed
// here in doubles (x quantized per block as the header says: Int8MatVecTests.int8Reference), and
// bit for bit against the fast matvec of that token alone (the documented contract: a token's
// prefill / batch result is its step's), on every path with one (AVX-512 VNNI tiles of 6 tokens, AVX2
// tiles of 4); on row tails, token counts 1 … 13 (two full 6-token tiles and a tail), one
// and several 64-block chunks; NaN / ∞ in one token's row (only that token's outputs are hit);
// the thread split; and which tables carry it.

import Testing
import XLSTM

@Suite struct Int8GEMMTests {
    /// The paths whose `fast` table has the int8 GEMM on this CPU.
    static let paths = CPUInfo.current.supportedPaths.filter { KernelSet.table($0, precision: .fast).int8GEMMName != nil }
    /// (rows, cols): a row tail in every panel count, one block, several blocks, one chunk plus a
    /// block (2 112), two chunks plus a block (4 160).
    static let shapes: [(Int, Int)] = [(1, 32), (33, 96), (67, 160), (130, 768), (40, 2112), (70, 4160)]
    static let tokenCounts = Array(1...13)

    /// `count` token rows of `cols`, `stride` apart, each its own random values with a small-value
    /// pattern and (where there are 3+ blocks) one all-zero block at a token-dependent position.
    static func tokens(_ count: Int, cols: Int, stride: Int, seed: UInt64) -> [Float] {
        var x = [Float](repeating: 0, count: count * stride)
        for t in 0..<count {
            var row = KernelTests.randomFloats(cols, seed: seed &+ UInt64(t) * 977)
            for c in 0..<min(cols, 64) where c % 9 == (t % 9) { row[c] *= 1e-3 }
            if cols >= 96 { let z = 32 * (t % (cols / 32)); for c in z..<(z + 32) { row[c] = 0 } }
            for c in 0..<cols { x[t * stride + c] = row[c] }
        }
        return x
    }

    /// Y through prefill's GEMM (`batch` false: applyBatch, the matvec when count = 1) or a batch's
    /// (`applyRows`, the GEMM always); NaN-filled beforehand, rows `yStride` apart.
    static func product(_ m: Matrix, _ x: [Float], xStride: Int, count: Int, yStride: Int, batch: Bool,
                        pool: ThreadPool? = nil) -> [Float] {
        var y = [Float](repeating: .nan, count: count * yStride)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                if batch {
                    m.applyRows(xp.baseAddress!, xStride: xStride, count: count, into: yp.baseAddress!, yStride: yStride, pool: pool)
                } else {
                    m.applyBatch(xp.baseAddress!, xStride: xStride, count: count, into: yp.baseAddress!, yStride: yStride, pool: pool)
                }
            }
        }
        return y
    }

    /// Only the `fast` tables with int8 matvecs carry it (so `exact` stays as it was).
    @Test func onlyTheFastInt8TablesHaveIt() {
        for path in CPUInfo.current.supportedPaths {
            #expect(KernelSet.table(path).int8GEMMName == nil, "exact \(path)")
            #expect(KernelSet.table(path, precision: .fast).int8GEMMName == KernelSet.table(path, precision: .fast).int8MatVec)
        }
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func matchesTheInt8ReferenceAndTheMatVec(_ format: QuantFormat, _ path: CPUPath) throws {
        for (rows, cols) in Self.shapes {
            let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: UInt64(rows * 17 + cols))
            let m = try Int8MatVecTests.matrix(q, format, rows: rows, cols: cols, path: path)
            let xStride = cols + 3, yStride = rows + 5
            let x = Self.tokens(Self.tokenCounts.last!, cols: cols, stride: xStride, seed: UInt64(cols))
            // Each token alone: the double-precision int8 arithmetic and the fast matvec.
            var expected: [[Double]] = [], step: [[Float]] = []
            for t in 0..<Self.tokenCounts.last! {
                let row = Array(x[(t * xStride)..<(t * xStride + cols)])
                expected.append(Int8MatVecTests.int8Reference(q.values, rows: rows, cols: cols, row))
                step.append(Int8MatVecTests.apply(m, row))
            }
            for count in Self.tokenCounts {
                for batch in [false, true] {
                    let y = Self.product(m.matrix, x, xStride: xStride, count: count, yStride: yStride, batch: batch)
                    for t in 0..<count {
                        let row = Array(y[(t * yStride)..<(t * yStride + rows)])
                        let label = "\(format) \(path) [\(rows) × \(cols)] n \(count) token \(t) \(batch ? "batch" : "prefill")"
                        #expect(QuantKernelTests.relative(row, expected[t]) <= 1e-5, "\(label) vs int8 arithmetic")
                        #expect(row == step[t], "\(label) vs the fast matvec")
                        // Padding after each row untouched.
                        #expect(y[(t * yStride + rows)..<(t * yStride + yStride)].allSatisfy { $0.isNaN }, "\(label): wrote past rows")
                    }
                }
            }
        }
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func aNaNOrInfinityHitsOnlyItsToken(_ format: QuantFormat, _ path: CPUPath) throws {
        let (rows, cols, count) = (67, 160, 8)
        let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: 4)
        let m = try Int8MatVecTests.matrix(q, format, rows: rows, cols: cols, path: path)
        let clean = Self.tokens(count, cols: cols, stride: cols, seed: 12)
        for (bad, value) in [(2, Float.nan), (7, Float.infinity), (0, -Float.infinity)] {
            var x = clean
            x[bad * cols + 45] = value
            for batch in [false, true] {
                let y = Self.product(m.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch)
                let reference = Self.product(m.matrix, clean, xStride: cols, count: count, yStride: rows, batch: batch)
                for t in 0..<count {
                    let row = y[(t * rows)..<((t + 1) * rows)]
                    if t == bad {
                        #expect(row.allSatisfy { value.isNaN ? $0.isNaN : !$0.isFinite }, "\(format) \(path) token \(t): \(value)")
                    } else {
                        #expect(Array(row) == Array(reference[(t * rows)..<((t + 1) * rows)]), "\(format) \(path) token \(t)")
                    }
                }
            }
        }
    }

    @Test(arguments: QuantFormat.allCases, paths)
    func threadSplitIsBitIdentical(_ format: QuantFormat, _ path: CPUPath) throws {
        let (rows, cols, count) = (290, 2112, 11)
        let q = QuantKernelTests.quantized(format, rows: rows, cols: cols, seed: 5)
        let m = try Int8MatVecTests.matrix(q, format, rows: rows, cols: cols, path: path)
        let x = Self.tokens(count, cols: cols, stride: cols, seed: 6)
        let pool = ThreadPool(threads: 2)
        for batch in [false, true] {
            let one = Self.product(m.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch)
            #expect(Self.product(m.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch, pool: pool) == one)
            #expect(one.allSatisfy { $0.isFinite })
        }
    }
}

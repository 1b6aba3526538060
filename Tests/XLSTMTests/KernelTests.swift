// The matrix kernels of every ISA path this CPU runs against a plain double-precision loop, on
// shapes with every kind of tail (rows not a multiple of 4 or of the micro-tile, columns not a
// multiple of the vector width or of KC, token counts not a multiple of NR), and the thread split
// against serial.

import Dispatch
import Testing
import XLSTM

@Suite struct KernelTests {
    /// Deterministic pseudo-random floats in [-1, 1) (xorshift), so failures reproduce.
    static func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
        var state: UInt64 = (seed &* 0x9E37_79B9_7F4A_7C15) | 1
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let unit = Float(state >> 40) / Float(1 << 24)   // [0, 1)
            out[i] = 2 * unit - 1
        }
        return out
    }

    static func reference(_ w: [Float], rows: Int, cols: Int, _ x: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var sum: Double = 0
            for c in 0..<cols { sum += Double(w[r * cols + c]) * Double(x[c]) }
            out[r] = sum
        }
        return out
    }

    /// W [rows, cols] repacked for `path`: f32 panels, or (`bf16`) bf16 panels of `bits`, its upper halves.
    static func panels(_ w: [Float], _ bits: [UInt16], rows: Int, cols: Int, path: CPUPath, bf16: Bool) -> OwnedMatrix {
        bf16
            ? bits.withUnsafeBufferPointer {
                OwnedMatrix(.bf16(UnsafeRawPointer($0.baseAddress!)), rows: rows, cols: cols, kernels: .table(path), bf16Panels: true)
            }
            : w.withUnsafeBufferPointer {
                OwnedMatrix(.f32(UnsafeRawPointer($0.baseAddress!)), rows: rows, cols: cols, kernels: .table(path))
            }
    }

    static let shapes: [(Int, Int)] = [(1, 1), (3, 15), (4, 16), (5, 17), (9, 33), (64, 64), (67, 130), (130, 257)]
    static let paths = CPUInfo.current.supportedPaths

    @Test func everyPathOfThisCPUIsTested() {
        // The portable path always; on x86-64 with AVX2+FMA also avx2, and with AVX-512 also avx512.
        #expect(Self.paths.first == .portable)
        #expect(Self.paths.last == CPUInfo.current.bestPath)
        #expect(try! KernelSet.select(.portable).path == .portable)
    }

    @Test(arguments: shapes, paths)
    func float32MatVecMatchesReference(_ shape: (Int, Int), _ path: CPUPath) {
        let (rows, cols) = shape
        let w = Self.randomFloats(rows * cols, seed: UInt64(rows * 1000 + cols))
        let x = Self.randomFloats(cols, seed: 7)
        var y = [Float](repeating: .nan, count: rows)
        w.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    OwnedMatrix(.f32(UnsafeRawPointer(wp.baseAddress!)), rows: rows, cols: cols, kernels: .table(path))
                        .apply(xp.baseAddress!, into: yp.baseAddress!)
                }
            }
        }
        let expected = Self.reference(w, rows: rows, cols: cols, x)
        for r in 0..<rows {
            #expect(abs(Double(y[r]) - expected[r]) <= 1e-5 * Double(cols), "row \(r)")
        }
    }

    /// The panel layout round-trips: every row read back from f32 and bf16 panels is the source row.
    /// The streaming variants (two panel streams with the far L2 prefetch, one panel stream) and the
    /// cached kernel sum the same products in the same order: bit-identical, f32 and bf16, every path
    /// (the step takes one or the other by matrix size and CPU: `KernelSet.oneStream`).
    @Test(arguments: [(1, 3), (33, 64), (67, 130), (130, 257), (200, 1030)], paths)
    func streamingVariantsAreBitIdentical(_ shape: (Int, Int), _ path: CPUPath) {
        let (rows, cols) = shape
        let w = Self.randomFloats(rows * cols, seed: UInt64(rows * 7 + cols))
        let bits = w.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let x = Self.randomFloats(cols, seed: UInt64(cols) &+ 3)
        for bf16 in [false, true] {
            let m = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
            var results: [[Float]] = []
            for variant in Matrix.MatVecVariant.allCases {
                var y = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { m.matrix.applySerial(xp.baseAddress!, into: $0.baseAddress!, variant: variant) }
                }
                results.append(y)
            }
            #expect(results.allSatisfy { $0 == results[0] } && !results[0].contains { $0.isNaN },
                    "\(path) \(bf16 ? "bf16" : "f32") [\(rows) × \(cols)]")
        }
    }

    @Test(arguments: [(5, 17), (67, 130)], paths)
    func panelsHoldTheRows(_ shape: (Int, Int), _ path: CPUPath) {
        let (rows, cols) = shape
        let w = Self.randomFloats(rows * cols, seed: 23)
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        var row = [Float](repeating: 0, count: cols)
        let f32 = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: false)
        let bf16 = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: true)
        for r in 0..<rows {
            row.withUnsafeMutableBufferPointer { f32.copyRow(r, into: $0.baseAddress!) }
            #expect(row == Array(w[(r * cols)..<((r + 1) * cols)]), "f32 row \(r)")
            row.withUnsafeMutableBufferPointer { bf16.copyRow(r, into: $0.baseAddress!) }
            #expect(row == bits[(r * cols)..<((r + 1) * cols)].map { Float(bitPattern: UInt32($0) << 16) }, "bf16 row \(r)")
        }
    }

    @Test(arguments: shapes, paths)
    func bfloat16MatVecMatchesReference(_ shape: (Int, Int), _ path: CPUPath) {
        let (rows, cols) = shape
        // bf16 weights: the upper halves of random floats; the reference uses the same values widened.
        let bits = Self.randomFloats(rows * cols, seed: UInt64(rows + cols)).map { UInt16($0.bitPattern >> 16) }
        let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
        let x = Self.randomFloats(cols, seed: 11)
        var y = [Float](repeating: .nan, count: rows)
        bits.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    OwnedMatrix(.bf16(UnsafeRawPointer(wp.baseAddress!)), rows: rows, cols: cols, kernels: .table(path),
                                bf16Panels: true).apply(xp.baseAddress!, into: yp.baseAddress!)
                }
            }
        }
        let expected = Self.reference(widened, rows: rows, cols: cols, x)
        for r in 0..<rows {
            #expect(abs(Double(y[r]) - expected[r]) <= 1e-5 * Double(cols), "row \(r)")
        }
    }

    /// Rows × cols × tokens: tails of MR (32/16/8), of KC (128), of NR (12/6/4); one K block and
    /// several; (70, 2500, 131): three token blocks of prefill's GEMM (Matrix.gemmTokenBlock: 48 / 36 / 36
    /// tokens on avx512 / avx2 / portable), the last one with narrow slivers.
    static let gemmShapes: [(Int, Int, Int)] = [(1, 1, 2), (5, 17, 3), (33, 40, 13), (64, 256, 12), (67, 257, 25),
                                                (300, 600, 7), (130, 513, 64), (70, 2500, 131)]

    @Test(arguments: gemmShapes, paths)
    func gemmMatchesReference(_ shape: (Int, Int, Int), _ path: CPUPath) {
        let (rows, cols, tokens) = shape
        let w = Self.randomFloats(rows * cols, seed: UInt64(rows * 31 + cols))
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
        let xStride = cols + 3, yStride = rows + 5   // strided rows, as the blocks use them
        let x = Self.randomFloats(tokens * xStride, seed: 13)
        for bf16 in [false, true] {
            var y = [Float](repeating: .nan, count: tokens * yStride)
            let owned = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    owned.applyBatch(xp.baseAddress!, xStride: xStride, count: tokens, into: yp.baseAddress!, yStride: yStride)
                }
            }
            var worst = 0.0
            for t in 0..<tokens {
                let expected = Self.reference(bf16 ? widened : w, rows: rows, cols: cols,
                                              Array(x[(t * xStride)..<(t * xStride + cols)]))
                for r in 0..<rows { worst = max(worst, abs(Double(y[t * yStride + r]) - expected[r])) }
            }
            #expect(worst <= 1e-5 * Double(cols), "\(path) bf16=\(bf16) \(shape): max |Δ| = \(worst)")
        }
    }

    /// A token's row of Y does not depend on the token block or sliver it lands in (prefill splits
    /// spans into windows and the GEMM into token blocks): the last 37 of 131 tokens alone give the
    /// same bits as inside the whole product, whose blocks split them differently; and a token alone
    /// (one sliver) the same bits as among 16. With bf16 panels the first sliver of a block widens A
    /// in its kernel and the others run the f32 kernel on the widened rows: the same bits too. One,
    /// two and three tokens alone run the few-token micro-kernels on whole groups of panels (300
    /// rows: groups of 4, 2 and 2 panels on avx512, 4, 2 and 1 on avx2, 8, 4 and 3 on portable) and
    /// the narrow one on the panels past them.
    @Test(arguments: paths)
    func gemmTokenRowsDoNotDependOnTheirBlock(_ path: CPUPath) {
        let rows = 300, cols = 2500, tokens = 131, tail = 37
        let w = Self.randomFloats(rows * cols, seed: 23)
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        let x = Self.randomFloats(tokens * cols, seed: 29)
        for bf16 in [false, true] {
            var whole = [Float](repeating: 0, count: rows * tokens), part = [Float](repeating: 0, count: rows * tail)
            var sixteen = [Float](repeating: 0, count: rows * 16), one = [Float](repeating: 0, count: rows)
            var two = [Float](repeating: 0, count: rows * 2), three = [Float](repeating: 0, count: rows * 3)
            let owned = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
            x.withUnsafeBufferPointer { xp in
                func run(_ first: Int, _ count: Int, _ out: inout [Float]) {
                    out.withUnsafeMutableBufferPointer {
                        owned.applyBatch(xp.baseAddress! + first * cols, xStride: cols, count: count,
                                         into: $0.baseAddress!, yStride: rows)
                    }
                }
                run(0, tokens, &whole)
                run(tokens - tail, tail, &part)
                run(0, 16, &sixteen)
                // one token alone (applyBatch would take the matvec): the GEMM, as a batch of one does
                one.withUnsafeMutableBufferPointer {
                    owned.matrix.applyRows(xp.baseAddress! + 15 * cols, xStride: cols, count: 1, into: $0.baseAddress!,
                                           yStride: rows, pool: nil)
                }
                two.withUnsafeMutableBufferPointer {
                    owned.matrix.applyRows(xp.baseAddress! + 14 * cols, xStride: cols, count: 2, into: $0.baseAddress!,
                                           yStride: rows, pool: nil)
                }
                three.withUnsafeMutableBufferPointer {
                    owned.matrix.applyRows(xp.baseAddress! + 13 * cols, xStride: cols, count: 3, into: $0.baseAddress!,
                                           yStride: rows, pool: nil)
                }
            }
            #expect(Array(whole[((tokens - tail) * rows)...]) == part, "bf16 \(bf16)")
            #expect(Array(whole[..<(16 * rows)]) == sixteen, "bf16 \(bf16)")
            #expect(Array(sixteen[(15 * rows)...]) == one, "bf16 \(bf16)")
            #expect(Array(sixteen[(14 * rows)...]) == two, "bf16 \(bf16)")
            #expect(Array(sixteen[(13 * rows)...]) == three, "bf16 \(bf16)")
        }
    }

    /// A batch of any size on a matrix that stays in cache gives each token the bits it has among
    /// 16: the tokens past the full slivers (one to three) take a second pass through the few-token
    /// micro-kernels (`batchGEMM`), the others the slivers — n = 1 … 16 against the first n of 16,
    /// f32 and bf16 panels, 300 rows (whole groups of panels and the narrow kernel's leftovers).
    @Test(arguments: paths)
    func gemmBatchTokensDoNotDependOnTheBatchSize(_ path: CPUPath) {
        let rows = 300, cols = 200   // 240 KB of f32: below Matrix.streamingBytes
        let w = Self.randomFloats(rows * cols, seed: 31)
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        let x = Self.randomFloats(16 * cols, seed: 37)
        for bf16 in [false, true] {
            let owned = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
            func run(_ count: Int) -> [Float] {
                var out = [Float](repeating: .nan, count: rows * count)
                x.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer {
                        owned.matrix.applyRows(xp.baseAddress!, xStride: cols, count: count, into: $0.baseAddress!,
                                               yStride: rows, pool: nil)
                    }
                }
                return out
            }
            let sixteen = run(16)
            for count in 1...15 {
                #expect(run(count) == Array(sixteen[..<(count * rows)]), "\(path) bf16 \(bf16): \(count) tokens")
            }
        }
    }

    @Test(arguments: paths)
    func gemmThreadSplitEqualsSerialBitForBit(_ path: CPUPath) {
        let rows = 517, cols = 300, tokens = 29
        let w = Self.randomFloats(rows * cols, seed: 17)
        let x = Self.randomFloats(tokens * cols, seed: 19)
        let pool = ThreadPool(threads: 2)
        var serial = [Float](repeating: 0, count: rows * tokens), parallel = serial
        w.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                let owned = OwnedMatrix(.f32(UnsafeRawPointer(wp.baseAddress!)), rows: rows, cols: cols, kernels: .table(path))
                serial.withUnsafeMutableBufferPointer {
                    owned.applyBatch(xp.baseAddress!, xStride: cols, count: tokens, into: $0.baseAddress!, yStride: rows)
                }
                parallel.withUnsafeMutableBufferPointer {
                    owned.applyBatch(xp.baseAddress!, xStride: cols, count: tokens, into: $0.baseAddress!, yStride: rows,
                                      pool: pool)
                }
            }
        }
        #expect(serial == parallel)
        // Batches of one to three (the batch path's GEMM, split in whole groups of the few-token
        // kernels' panels) on f32 and bf16 panels: the same bits split as serial.
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        for bf16 in [false, true] {
            let owned = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
            for count in 1...3 {
                var one = [Float](repeating: .nan, count: rows * count), two = one
                x.withUnsafeBufferPointer { xp in
                    one.withUnsafeMutableBufferPointer {
                        owned.matrix.applyRows(xp.baseAddress!, xStride: cols, count: count, into: $0.baseAddress!, yStride: rows,
                                               pool: nil)
                    }
                    two.withUnsafeMutableBufferPointer {
                        owned.matrix.applyRows(xp.baseAddress!, xStride: cols, count: count, into: $0.baseAddress!, yStride: rows,
                                               pool: pool)
                    }
                }
                #expect(one == two, "\(path) bf16 \(bf16): \(count) tokens")
            }
        }
    }

    /// A matrix of at least `Matrix.streamingBytes` takes the streaming matvec (its far L2
    /// prefetch); split three ways, each part is below the threshold and takes the plain one. The
    /// two compute the same sums, so the whole and the split agree bit for bit, f32 and bf16, on
    /// every path; and the whole matches the double-precision reference.
    @Test(arguments: paths, [false, true])
    func streamingMatVecEqualsPlainBitForBit(_ path: CPUPath, _ bf16: Bool) {
        let rows = 1056, cols = 640
        let bytes = rows * cols * (bf16 ? 2 : 4)
        #expect(bytes >= Matrix.streamingBytes && bytes / 3 + cols * 64 < Matrix.streamingBytes)
        let w = Self.randomFloats(rows * cols, seed: 21)
        let bits = w.map { UInt16($0.bitPattern >> 16) }
        let x = Self.randomFloats(cols, seed: 23)
        let owned = Self.panels(w, bits, rows: rows, cols: cols, path: path, bf16: bf16)
        let pool = ThreadPool(threads: 3)
        var whole = [Float](repeating: .nan, count: rows), split = [Float](repeating: .nan, count: rows)
        x.withUnsafeBufferPointer { xp in
            whole.withUnsafeMutableBufferPointer { owned.apply(xp.baseAddress!, into: $0.baseAddress!) }
            split.withUnsafeMutableBufferPointer { owned.apply(xp.baseAddress!, into: $0.baseAddress!, pool: pool) }
        }
        #expect(whole == split)
        let expected = Self.reference(bf16 ? bits.map { Float(bitPattern: UInt32($0) << 16) } : w, rows: rows, cols: cols, x)
        #expect((0..<rows).allSatisfy { abs(Double(whole[$0]) - expected[$0]) <= 1e-5 * Double(cols) })
    }

    @Test(arguments: [2, 3])
    func threadSplitEqualsSerialBitForBit(_ threads: Int) {
        let rows = 1031, cols = Matrix.parallelThreshold / 512 + 77   // large enough to be split
        let w = Self.randomFloats(rows * cols, seed: 3)
        let x = Self.randomFloats(cols, seed: 5)
        let pool = ThreadPool(threads: threads)
        #expect(pool.parts == threads)
        var serial = [Float](repeating: 0, count: rows), parallel = [Float](repeating: 0, count: rows)
        w.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                let owned = OwnedMatrix(.f32(UnsafeRawPointer(wp.baseAddress!)), rows: rows, cols: cols,
                                        kernels: try! .select())
                serial.withUnsafeMutableBufferPointer { owned.apply(xp.baseAddress!, into: $0.baseAddress!) }
                for _ in 0..<20 {   // repeated jobs exercise the pool's wake/finish cycle
                    parallel.withUnsafeMutableBufferPointer { owned.apply(xp.baseAddress!, into: $0.baseAddress!, pool: pool) }
                }
            }
        }
        #expect(serial == parallel)
    }

    @Test func poolRunsEveryPartOnce() {
        let pool = ThreadPool(threads: 4)
        var hits = [Int](repeating: 0, count: pool.parts)
        hits.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for _ in 0..<100 { pool.run { part in base[part] += 1 } }
        }
        #expect(hits == [Int](repeating: 100, count: pool.parts))
    }

    /// Parts are claimed by whichever thread gets to them (ThreadPool.swift): with more workers than
    /// cores, some are not running when a job starts and the caller takes their parts; with two user
    /// threads at once, one finds the pool busy and runs all of its parts itself. Every part of every
    /// job still runs exactly once.
    @Test func poolClaimsEveryPartOnceUnderContention() {
        struct Counters: @unchecked Sendable { let base: UnsafeMutablePointer<Int> }
        let pool = ThreadPool(threads: 8), parts = pool.parts, jobs = 4_000
        let counters = Counters(base: .allocate(capacity: 2 * parts))
        counters.base.initialize(repeating: 0, count: 2 * parts)
        defer { counters.base.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { user in
            for _ in 0..<jobs { pool.run { part in counters.base[user * parts + part] += 1 } }
        }
        #expect(Array(UnsafeBufferPointer(start: counters.base, count: 2 * parts)) == [Int](repeating: jobs, count: 2 * parts))
    }
}

@Suite struct WeightPolicyTests {
    /// bf16 checkpoints give the same logits whether read in place (bf16 kernels) or widened at load.
    @Test(arguments: ["paper_bf16", "large_bf16_sharded"])
    func bf16InPlaceEqualsWidened(_ name: String) throws {
        let native = try Model(directory: Fixtures.modelDirectory(name), policy: .native)
        let widened = try Model(directory: Fixtures.modelDirectory(name), policy: .float32)
        #expect(native.parameterCount == widened.parameterCount)
        let a = try Session(model: native), b = try Session(model: widened)
        var worst: Float = 0
        for token in Fixtures.tokens(name) {
            try a.feed(token)
            try b.feed(token)
            worst = max(worst, relativeError(UnsafeBufferPointer(a.logits), UnsafeBufferPointer(b.logits)))
        }
        #expect(worst <= Tolerance.reference)
    }

    @Test(arguments: ["paper_mixed", "large_bias_tied_caps"])
    func multithreadedSessionEqualsSingleThreaded(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let one = try Session(model: model, pool: nil), two = try Session(model: model, pool: ThreadPool(threads: 2))
        for token in Fixtures.tokens(name).prefix(20) {
            try one.feed(token)
            try two.feed(token)
        }
        #expect(Array(one.logits) == Array(two.logits))
    }
}

// The `fast` precision's bf16 kernels (Sources/CXLSTMCPU/bf16_gemm.c, AVX-512 BF16 `vdpbf16ps`):
// the matvec against the same sum computed here in doubles from x rounded to bf16 (round to
// nearest even, as the header says) — within the float32 summation bound, so a wrong pairing,
// a missed rounding or a dropped chunk fails; prefill's and batches' GEMM bit for bit against the
// matvec of each token alone, for token counts 1 … 13 and 25 (two 12-token tiles and a tail), row
// tails, one and several 512-column chunks; the thread split; an odd column count (the exact
// kernel); which tables carry it; and the bf16 reference fixtures in `fast` — within the fast bound of
// the official logits in step, prefill and batch mode, prefill near the step, batches bit-identical
// across N. Runs where this CPU has AVX-512 BF16 (else only the table check).

import Testing
import XLSTM

@Suite struct BF16FastTests {
    static let paths = CPUInfo.current.supportedPaths.filter { KernelSet.table($0, precision: .fast).bf16GEMMName != nil }
    static let shapes: [(Int, Int)] = [(1, 2), (33, 64), (67, 1026), (130, 768), (40, 2112)]
    static let tokenCounts = Array(1...13) + [25]
    static let fixtures = ["paper_bf16", "large_bf16_sharded", "official_bias_sharded_bf16"]

    /// float → bf16 bits, round to nearest even (no NaN in these inputs).
    static func bf16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    static func float(_ b: UInt16) -> Double { Double(Float(bitPattern: UInt32(b) << 16)) }

    /// A random bf16 matrix [rows, cols] (row-major bits) and its fast-table panels.
    static func matrix(rows: Int, cols: Int, path: CPUPath, seed: UInt64) -> ([UInt16], OwnedMatrix) {
        let w = KernelTests.randomFloats(rows * cols, seed: seed).map(bf16)
        let m = w.withUnsafeBytes { OwnedMatrix(.bf16($0.baseAddress!), rows: rows, cols: cols,
                                                kernels: .table(path, precision: .fast), bf16Panels: true) }
        return (w, m)
    }

    /// (Σ_c w[r][c] · bf16(x[c]) in doubles, Σ_c |w[r][c] · bf16(x[c])|) per row.
    static func reference(_ w: [UInt16], rows: Int, cols: Int, _ x: [Float]) -> [(Double, Double)] {
        let xr = x.map { float(bf16($0)) }
        return (0..<rows).map { r in
            var sum = 0.0, magnitude = 0.0
            for c in 0..<cols {
                let term = float(w[r * cols + c]) * xr[c]
                sum += term
                magnitude += abs(term)
            }
            return (sum, magnitude)
        }
    }

    @Test func onlyFastAVX512WithBF16HasIt() {
        let cpu = CPUInfo.current
        for path in cpu.supportedPaths {
            #expect(KernelSet.table(path).bf16GEMMName == nil, "exact \(path)")
            let expected = path == .avx512 && cpu.featureNames.contains("avx512bf16") && cpu.featureNames.contains("avx512vnni")
                && cpu.featureNames.contains("f16c") ? "avx512-bf16" : nil
            #expect(KernelSet.table(path, precision: .fast).bf16GEMMName == expected, "fast \(path)")
        }
    }

    @Test(arguments: paths)
    func matchesTheBF16SumAndTheMatVec(_ path: CPUPath) throws {
        for (rows, cols) in Self.shapes {
            let (w, m) = Self.matrix(rows: rows, cols: cols, path: path, seed: UInt64(rows * 31 + cols))
            let xStride = cols + 3, yStride = rows + 5, most = Self.tokenCounts.last!
            let x = Int8GEMMTests.tokens(most, cols: cols, stride: xStride, seed: UInt64(cols) &+ 7)
            var step: [[Float]] = []
            for t in 0..<most {
                let row = Array(x[(t * xStride)..<(t * xStride + cols)])
                let y = Int8MatVecTests.apply(m, row)
                step.append(y)
                // Sequential float32 summation: |error| ≤ (additions) · 2⁻²⁴ · Σ|terms|, cols additions per row.
                for (r, (sum, magnitude)) in Self.reference(w, rows: rows, cols: cols, row).enumerated() {
                    let bound = Double(cols + 2) * 0x1p-24 * magnitude
                    #expect(abs(Double(y[r]) - sum) <= bound, "\(path) [\(rows) × \(cols)] token \(t) row \(r): \(y[r]) vs \(sum)")
                }
            }
            for count in Self.tokenCounts {
                for batch in [false, true] {
                    let y = Int8GEMMTests.product(m.matrix, x, xStride: xStride, count: count, yStride: yStride, batch: batch)
                    for t in 0..<count {
                        let label = "\(path) [\(rows) × \(cols)] n \(count) token \(t) \(batch ? "batch" : "prefill")"
                        #expect(Array(y[(t * yStride)..<(t * yStride + rows)]) == step[t], "\(label) vs the fast matvec")
                        #expect(y[(t * yStride + rows)..<(t * yStride + yStride)].allSatisfy { $0.isNaN }, "\(label): wrote past rows")
                    }
                }
            }
        }
    }

    @Test(arguments: paths)
    func threadSplitIsBitIdentical(_ path: CPUPath) throws {
        let (rows, cols, count) = (290, 2112, 11)
        let (_, m) = Self.matrix(rows: rows, cols: cols, path: path, seed: 9)
        let x = Int8GEMMTests.tokens(count, cols: cols, stride: cols, seed: 10)
        let pool = ThreadPool(threads: 2)
        for batch in [false, true] {
            let one = Int8GEMMTests.product(m.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch)
            let two = Int8GEMMTests.product(m.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch, pool: pool)
            #expect(one == two, "\(path) \(batch ? "batch" : "prefill")")
        }
        let row = Array(x[0..<cols])
        #expect(Int8MatVecTests.apply(m, row) == Int8MatVecTests.apply(m, row, pool: pool), "\(path) matvec")
    }

    /// No engine matrix has an odd column count, but the kernels must not misread one: the exact kernels run.
    @Test(arguments: paths)
    func oddColumnsRunTheExactKernels(_ path: CPUPath) throws {
        let (rows, cols, count) = (45, 65, 5)
        let w = KernelTests.randomFloats(rows * cols, seed: 11).map(Self.bf16)
        let (fast, exact) = w.withUnsafeBytes {
            (OwnedMatrix(.bf16($0.baseAddress!), rows: rows, cols: cols, kernels: .table(path, precision: .fast), bf16Panels: true),
             OwnedMatrix(.bf16($0.baseAddress!), rows: rows, cols: cols, kernels: .table(path), bf16Panels: true))
        }
        let x = Int8GEMMTests.tokens(count, cols: cols, stride: cols, seed: 12)
        for batch in [false, true] {
            #expect(Int8GEMMTests.product(fast.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch)
                == Int8GEMMTests.product(exact.matrix, x, xStride: cols, count: count, yStride: rows, batch: batch))
        }
    }

    @Test(arguments: fixtures, paths)
    func bf16FixturesWithinTheFastBound(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        #expect(model.kernels.bf16GEMMName == "avx512-bf16")
        let tokens = Fixtures.tokens(name), expected = Fixtures.logits(name)
        let step = try FastPrecisionTests.stepLogits(model, tokens)
        let exact = try FastPrecisionTests.stepLogits(try Model(directory: Fixtures.modelDirectory(name), cpuPath: path), tokens)
        #expect(step != exact, "\(name) [\(path)]: fast should round the bf16 projections' activations")
        let stepError = relativeError(step, expected)
        #expect(stepError <= Tolerance.fast, "\(name) [\(path), fast step] vs official: \(stepError)")
        let prefill = try prefillAll(try Session(model: model), tokens)
        let prefillError = relativeError(prefill, expected), vsStep = relativeError(prefill, step)
        #expect(prefillError <= Tolerance.fast, "\(name) [\(path), fast prefill] vs official: \(prefillError)")
        #expect(vsStep <= Tolerance.fastPrefillVsStep, "\(name) [\(path), fast prefill] vs fast step: \(vsStep)")
        print("fast-precision bf16 \(name) [\(path)]: step vs official \(stepError), prefill vs official \(prefillError), "
              + "prefill vs step \(vsStep)")
    }

    @Test(arguments: fixtures, paths)
    func bf16BatchesBitIdenticalAcrossN(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        let threaded = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path, threads: 2, precision: .fast)
        let tokens = Fixtures.tokens(name), expected = Fixtures.logits(name), V = model.vocabSize
        func primed(_ i: Int) -> Int { (i * 5) % 11 }
        func run(_ model: Model, _ count: Int) throws -> [[Float]] {
            let sessions = try (0..<count).map { _ in try Session(model: model) }
            for (i, session) in sessions.enumerated() {
                for t in 0..<primed(i) { try session.feed(tokens[t], computeLogits: false) }
            }
            try model.feedBatch(sessions, sessions.indices.map { tokens[primed($0)] })
            return sessions.map { Array($0.logits) }
        }
        let wide = try run(model, 17)
        #expect(try run(threaded, 17) == wide, "\(name) [\(path)]: 2 threads")
        for count in [1, 3] { #expect(Array(wide.prefix(count)) == (try run(model, count)), "\(name) [\(path)]: N = \(count) vs 17") }
        var worst: Float = 0
        for i in 0..<17 {
            let row = primed(i)
            worst = max(worst, relativeError(wide[i], Array(expected[(row * V)..<((row + 1) * V)])))
        }
        #expect(worst <= Tolerance.fast, "\(name) [\(path)]: fast batch vs official: \(worst)")
    }
}

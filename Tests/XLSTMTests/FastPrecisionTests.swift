// Models loaded with `Precision.fast`: the quantized fixtures' step, prefill and batch logits
// against the OFFICIAL model's (the same logits.f32 `exact` meets within 1e-4), within the
// documented bound of the int8 activations; prefill and batches near the fast step (their int8
// GEMM computes each token as the step's matvec) and batches bit-identical across N; what `fast`
// leaves alone (f32 weights, bf16 without AVX-512 BF16, prefill without an int8 GEMM: bit-identical
// to `exact`; bf16 with it: BF16FastTests); and
// the paths without int8 kernels loading as `exact`.

import Testing
import XLSTM

@Suite struct FastPrecisionTests {
    static let int8Paths = Int8MatVecTests.paths

    static func stepLogits(_ model: Model, _ tokens: [Int32]) throws -> [Float] {
        let session = try Session(model: model)
        var out: [Float] = []
        for token in tokens {
            try session.feed(token)
            out += session.logits
        }
        return out
    }

    @Test(arguments: QuantizedFixtures.names, int8Paths)
    func quantizedFixturesWithinTheFastBound(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: QuantizedFixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        #expect(model.precision == .fast && model.kernels.int8MatVec != nil)
        let expected = QuantizedFixtures.logits(name)
        let actual = try Self.stepLogits(model, QuantizedFixtures.tokens(name))
        try #require(actual.count == expected.count)
        let error = actual.withUnsafeBufferPointer { a in expected.withUnsafeBufferPointer { relativeError(a, $0) } }
        #expect(error <= Tolerance.fast, "\(name) [\(path), fast]: max|Δ|/max|logit| = \(error)")
        print("fast-precision \(name) [\(path)]: max|Δ|/max|logit| = \(error)")
    }

    /// Prefill in `fast`: within the fast bound of the official logits, and — where the path has the
    /// int8 GEMM — near the fast step (Tolerance.fastPrefillVsStep); without it, exactly `exact`'s prefill.
    @Test(arguments: QuantizedFixtures.names, int8Paths)
    func prefillWithinTheFastBoundAndNearTheStep(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: QuantizedFixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        let tokens = QuantizedFixtures.tokens(name)
        let prefill = try prefillAll(try Session(model: model), tokens)
        let reference = relativeError(prefill, QuantizedFixtures.logits(name))
        #expect(reference <= Tolerance.fast, "\(name) [\(path), fast prefill] vs official: \(reference)")
        if model.kernels.int8GEMMName != nil {
            let step = relativeError(prefill, try Self.stepLogits(model, tokens))
            #expect(step <= Tolerance.fastPrefillVsStep, "\(name) [\(path), fast prefill] vs fast step: \(step)")
            print("fast-precision prefill \(name) [\(path)]: vs official \(reference), vs fast step \(step)")
        } else {
            let exact = try Model(directory: QuantizedFixtures.modelDirectory(name), cpuPath: path)
            #expect(prefill == (try prefillAll(try Session(model: exact), tokens)), "\(name) [\(path)]: prefill without an int8 GEMM is exact's")
        }
    }

    /// Batches in `fast`: a session's logits are bit-identical for N = 1, 3, 17 sessions at mixed
    /// positions (and with 2 threads), near its own one-token feeds, within the fast bound of the
    /// official logits.
    @Test(arguments: QuantizedFixtures.names, int8Paths)
    func batchesBitIdenticalAcrossNAndNearTheStep(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: QuantizedFixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        let threaded = try Model(directory: QuantizedFixtures.modelDirectory(name), cpuPath: path, threads: 2, precision: .fast)
        let tokens = QuantizedFixtures.tokens(name), expected = QuantizedFixtures.logits(name)
        let V = model.vocabSize, rounds = 3
        func primed(_ i: Int) -> Int { (i * 5) % 13 }
        func run(_ model: Model, _ count: Int) throws -> [[[Float]]] {
            let sessions = try (0..<count).map { _ in try Session(model: model) }
            for (i, session) in sessions.enumerated() {
                for t in 0..<primed(i) { try session.feed(tokens[t], computeLogits: false) }
            }
            var out: [[[Float]]] = []
            for r in 0..<rounds {
                try model.feedBatch(sessions, sessions.indices.map { tokens[primed($0) + r] })
                out.append(sessions.map { Array($0.logits) })
            }
            return out
        }
        let wide = try run(model, 17)
        #expect(try run(threaded, 17) == wide, "\(name) [\(path)]: 2 threads")
        for count in [1, 3] {
            let narrow = try run(model, count)
            for r in 0..<rounds { #expect(Array(wide[r].prefix(count)) == narrow[r], "\(name) [\(path)]: N = \(count) vs 17, round \(r)") }
        }
        var worstStep: Float = 0, worstReference: Float = 0
        for i in 0..<17 {
            let single = try Session(model: model)
            for t in 0..<primed(i) { try single.feed(tokens[t], computeLogits: false) }
            for r in 0..<rounds {
                try single.feed(tokens[primed(i) + r])
                let row = primed(i) + r
                worstStep = max(worstStep, relativeError(wide[r][i], Array(single.logits)))
                worstReference = max(worstReference, relativeError(wide[r][i], Array(expected[(row * V)..<((row + 1) * V)])))
            }
        }
        let bound = model.kernels.int8GEMMName != nil ? Tolerance.fastPrefillVsStep : Tolerance.fast
        #expect(worstStep <= bound, "\(name) [\(path)]: fast batch vs fast step: \(worstStep)")
        #expect(worstReference <= Tolerance.fast, "\(name) [\(path)]: fast batch vs official: \(worstReference)")
        print("fast-precision batch \(name) [\(path)]: vs fast step \(worstStep), vs official \(worstReference)")
    }

    /// `fast` leaves f32 weights alone, and bf16 weights where the CPU has no AVX-512 BF16 (with it they
    /// take the bf16 kernels: BF16FastTests): those models' logits are exactly `exact`'s.
    @Test(arguments: ["paper_bf16", "large_basic"], int8Paths)
    func floatWeightsAreUnchanged(_ name: String, _ path: CPUPath) throws {
        let tokens = Fixtures.tokens(name)
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path, precision: .fast)
        if name == "paper_bf16" && model.kernels.bf16GEMMName != nil { return }
        let fast = try Self.stepLogits(model, tokens)
        let exact = try Self.stepLogits(try Model(directory: Fixtures.modelDirectory(name), cpuPath: path), tokens)
        #expect(fast == exact)
    }

    @Test func portableLoadsAsExact() throws {
        let model = try Model(directory: QuantizedFixtures.modelDirectory(QuantizedFixtures.names[0]), cpuPath: .portable,
                              precision: .fast)
        #expect(model.precision == .exact && model.kernels.int8MatVec == nil)
    }
}

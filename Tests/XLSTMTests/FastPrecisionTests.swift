// Models loaded with `Precision.fast`: the quantized fixtures' step logits against the OFFICIAL
// model's (the same logits.f32 `exact` meets within 1e-4), within the documented bound of the int8
// activations; what `fast` leaves alone (f32 / bf16 weights: bit-identical to `exact`); and the
// paths without int8 kernels loading as `exact`.

import Testing
import XLSTM

@Suite struct FastPrecisionTests {
    static let int8Paths = Int8MatVecTests.paths

    static func stepLogits(_ model: Model, _ tokens: [Int32]) throws -> [Float] {
        let session = Session(model: model)
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

    /// `fast` changes only the quantized matvecs: an f32 / bf16 model's logits are exactly `exact`'s.
    @Test(arguments: ["paper_bf16", "large_basic"], int8Paths)
    func floatWeightsAreUnchanged(_ name: String, _ path: CPUPath) throws {
        let tokens = Fixtures.tokens(name)
        let fast = try Self.stepLogits(try Model(directory: Fixtures.modelDirectory(name), cpuPath: path, precision: .fast), tokens)
        let exact = try Self.stepLogits(try Model(directory: Fixtures.modelDirectory(name), cpuPath: path), tokens)
        #expect(fast == exact)
    }

    @Test func portableLoadsAsExact() throws {
        let model = try Model(directory: QuantizedFixtures.modelDirectory(QuantizedFixtures.names[0]), cpuPath: .portable,
                              precision: .fast)
        #expect(model.precision == .exact && model.kernels.int8MatVec == nil)
    }
}

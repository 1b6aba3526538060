// Step-mode logits of the engine vs the official implementation's, on every committed fixture
// (tools/make_fixtures.py; expected values were produced by xlstm 2.0.6 / transformers).

import Testing
import XLSTM

@Suite struct ReferenceFixtureTests {
    @Test func fixturesArePresent() {
        #expect(Fixtures.names.count >= 10, "expected the committed fixtures under \(Fixtures.root)")
    }

    /// On every kernel path this CPU runs (portable, and avx2 / avx512 where present).
    @Test(arguments: Fixtures.names, CPUInfo.current.supportedPaths)
    func stepLogitsMatchReference(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path)
        #expect(model.cpuPath == path)
        let tokens = Fixtures.tokens(name)
        let expected = Fixtures.logits(name)
        let vocab = model.vocabSize
        try #require(!tokens.isEmpty)
        try #require(expected.count == tokens.count * vocab, "logits.f32 does not have [n_tokens, vocab] floats")

        let session = try Session(model: model)
        var actual = [Float](repeating: 0, count: expected.count)
        for (t, token) in tokens.enumerated() {
            try session.feed(token)
            for j in 0..<vocab { actual[t * vocab + j] = session.logits[j] }
        }
        let error = actual.withUnsafeBufferPointer { a in expected.withUnsafeBufferPointer { relativeError(a, $0) } }
        #expect(error <= Tolerance.reference, "\(name) [\(path)]: max|Δ|/max|logit| = \(error)")
    }

    /// Parameter count and vocabulary as the official model reports them (meta.json).
    @Test(arguments: Fixtures.names)
    func describesModelAsReference(_ name: String) throws {
        let meta = try JSON.parse(readBytes(Fixtures.root + "/" + name + "/meta.json"), context: "meta.json")
        let model = try Model(directory: Fixtures.modelDirectory(name))
        #expect(model.parameterCount == meta["n_parameters"]?.intValue)
        #expect(model.vocabSize == meta["vocab_size"]?.intValue)
        #expect(model.family == (meta["family"]?.stringValue == "paper" ? .paper : .large))
    }
}

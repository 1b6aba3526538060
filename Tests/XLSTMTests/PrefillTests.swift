// Parallel prefill (issue 4): logits vs the official implementation, vs our own step mode, the state
// it leaves behind, odd span lengths around the chunk size, and prefill after stepping.

import Testing
import XLSTM

@Suite struct PrefillTests {
    /// Step-mode logits for every position, and the session after all tokens.
    func stepAll(_ model: Model, _ tokens: [Int32]) throws -> ([Float], Session) {
        let session = try Session(model: model)
        var out: [Float] = []
        out.reserveCapacity(tokens.count * model.vocabSize)
        for token in tokens {
            try session.feed(token)
            out += Array(session.logits)
        }
        return (out, session)
    }

    /// On every kernel path this CPU runs: the path's GEMM vs the reference and vs the path's matvec.
    @Test(arguments: Fixtures.names, CPUInfo.current.supportedPaths)
    func prefillMatchesReferenceAndStep(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path)
        let tokens = Fixtures.tokens(name)
        let (stepLogits, stepped) = try stepAll(model, tokens)
        let session = try Session(model: model)
        let prefillLogits = try prefillAll(session, tokens)
        #expect(relativeError(prefillLogits, Fixtures.logits(name)) <= Tolerance.reference, "vs reference")
        #expect(relativeError(prefillLogits, Fixtures.logits(name, file: "logits_parallel.f32")) <= Tolerance.reference,
                "vs the reference's own whole-sequence forward")
        #expect(relativeError(prefillLogits, stepLogits) <= Tolerance.prefillVsStep, "vs step")
        #expect(Array(session.logits) == Array(prefillLogits.suffix(model.vocabSize)))
        #expect(session.tokenCount == tokens.count)

        // Stepping on from the prefilled state follows stepping all along.
        let more: [Int32] = (0..<16).map { Int32(($0 * 7 + 3) % model.vocabSize) }
        for token in more {
            try session.feed(token)
            try stepped.feed(token)
            #expect(relativeError(UnsafeBufferPointer(session.logits), UnsafeBufferPointer(stepped.logits))
                    <= Tolerance.prefillVsStep)
        }
    }

    /// Span lengths around a small chunk (8) and window (20), starting fresh and after some steps.
    @Test(arguments: ["paper_mixed", "paper_mlstm_only", "large_bias_tied_caps", "large_basic"])
    func oddLengthsAndPrefillAfterStepping(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let tokens = Fixtures.tokens(name)
        let (stepLogits, _) = try stepAll(model, tokens)
        let vocab = model.vocabSize
        for stepsFirst in [0, 5] {
            for length in [1, 7, 8, 9, 19, 20, 21, 8 * 5 + 3] where stepsFirst + length <= tokens.count {
                let session = try Session(model: model)
                session.mLSTMChunkSize = 8
                session.prefillWindow = 20
                for token in tokens.prefix(stepsFirst) { try session.feed(token) }
                let span = Array(tokens[stepsFirst..<(stepsFirst + length)])
                let logits = try prefillAll(session, span)
                let expected = Array(stepLogits[(stepsFirst * vocab)..<((stepsFirst + length) * vocab)])
                #expect(relativeError(logits, expected) <= Tolerance.prefillVsStep, "steps \(stepsFirst), length \(length)")
                // and the state continues like stepping
                let next = tokens[(stepsFirst + length) % tokens.count]
                let reference = try Session(model: model)
                for token in tokens.prefix(stepsFirst + length) { try reference.feed(token) }
                try session.feed(next)
                try reference.feed(next)
                #expect(relativeError(UnsafeBufferPointer(session.logits), UnsafeBufferPointer(reference.logits))
                        <= Tolerance.prefillVsStep, "continue after steps \(stepsFirst), length \(length)")
            }
        }
    }

    @Test func lastAndNoneModes() throws {
        let model = try Model(directory: Fixtures.modelDirectory("large_basic"))
        let tokens = Array(Fixtures.tokens("large_basic").prefix(30))
        let all = try Session(model: model)
        let allLogits = try prefillAll(all, tokens)
        let last = try Session(model: model)
        try tokens.withUnsafeBufferPointer { ids throws(XLSTMError) in try last.prefill(ids, logits: .last) }
        // `.last` computes one row (the lm_head's matvec), `.all` every row (the GEMM micro-kernel):
        // the same sums in another order, so equal to float rounding; the state is bit-identical.
        let lastRow = Array(allLogits.suffix(model.vocabSize))
        #expect(Array(last.logits).withUnsafeBufferPointer { a in lastRow.withUnsafeBufferPointer { relativeError(a, $0) } }
                <= Tolerance.prefillVsStep)
        #expect(Array(last.state) == Array(all.state))
        let none = try Session(model: model)
        try tokens.withUnsafeBufferPointer { ids throws(XLSTMError) in try none.prefill(ids, logits: .none) }
        #expect(!none.hasLogits)
        #expect(Array(none.state) == Array(all.state))
    }

    @Test func badTokenInSpanConsumesNothing() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: model)
        try session.feed(1)
        let before = Array(session.state)
        let span: [Int32] = [2, 3, Int32(model.vocabSize)]
        #expect(throws: XLSTMError.self) {
            try span.withUnsafeBufferPointer { ids throws(XLSTMError) in try session.prefill(ids, logits: .last) }
        }
        #expect(Array(session.state) == before)
        #expect(session.tokenCount == 1)
    }

    @Test func multithreadedPrefillMatches() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_long"))
        let tokens = Array(Fixtures.tokens("paper_long").prefix(300))
        let one = try Session(model: model, pool: nil), two = try Session(model: model, pool: ThreadPool(threads: 2))
        let a = try prefillAll(one, tokens), b = try prefillAll(two, tokens)
        #expect(a == b)
    }
}

// Invariants of sessions, checked bit for bit: clone ≡ original, reset ≡ fresh, span feed ≡ single
// feeds, a rejected token changes nothing, and the state never grows.

import Testing
import XLSTM

@Suite struct SessionInvariantTests {
    static let fixtures = ["paper_mixed", "large_basic"]

    func logitsCopy(_ session: Session) -> [Float] { Array(session.logits) }
    func stateCopy(_ session: Session) -> [Float] { Array(session.state) }

    @Test(arguments: fixtures)
    func cloneContinuesIdentically(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let tokens = Fixtures.tokens(name)
        let original = try Session(model: model)
        for token in tokens.prefix(10) { try original.feed(token) }
        let fork = try original.clone()
        #expect(fork.tokenCount == original.tokenCount)
        #expect(stateCopy(fork) == stateCopy(original))
        for token in tokens.dropFirst(10).prefix(10) {
            try original.feed(token)
            try fork.feed(token)
            #expect(logitsCopy(fork) == logitsCopy(original))
        }
    }

    @Test(arguments: fixtures)
    func resetEqualsFreshSession(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let tokens = Array(Fixtures.tokens(name).prefix(8))
        let used = try Session(model: model)
        for token in tokens.reversed() { try used.feed(token) }
        used.reset()
        #expect(used.tokenCount == 0)
        let fresh = try Session(model: model)
        #expect(stateCopy(used) == stateCopy(fresh))
        for token in tokens {
            try used.feed(token)
            try fresh.feed(token)
        }
        #expect(logitsCopy(used) == logitsCopy(fresh))
    }

    @Test(arguments: fixtures)
    func spanFeedMatchesSingleFeeds(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let tokens = Array(Fixtures.tokens(name).prefix(12))
        let single = try Session(model: model)
        for token in tokens { try single.feed(token) }
        let span = try Session(model: model)
        try tokens.withUnsafeBufferPointer { buffer throws(XLSTMError) in try span.feed(buffer) }
        #expect(span.tokenCount == tokens.count)
        #expect(span.hasLogits)
        // A span goes through the parallel prefill: equal up to float rounding (PrefillTests has the rest).
        #expect(relativeError(UnsafeBufferPointer(span.logits), UnsafeBufferPointer(single.logits)) <= Tolerance.prefillVsStep)
    }

    @Test(arguments: fixtures)
    func rejectedTokensLeaveSessionUnchanged(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let session = try Session(model: model)
        for token in Fixtures.tokens(name).prefix(5) { try session.feed(token) }
        let state = stateCopy(session), logits = logitsCopy(session), count = session.tokenCount
        for bad: Int32 in [-1, Int32(model.vocabSize), Int32.max, Int32.min] {
            let error = #expect(throws: XLSTMError.self) { try session.feed(bad) }
            #expect(error?.kind == .tokenOutOfRange)
            #expect(error?.message.contains("\(bad)") == true)
        }
        // A span with one bad id is rejected whole.
        let span: [Int32] = [0, 1, Int32(model.vocabSize)]
        #expect(throws: XLSTMError.self) {
            try span.withUnsafeBufferPointer { buffer throws(XLSTMError) in try session.feed(buffer) }
        }
        #expect(stateCopy(session) == state)
        #expect(logitsCopy(session) == logits)
        #expect(session.tokenCount == count)
    }

    @Test(arguments: fixtures)
    func stateSizeIsFixed(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let session = try Session(model: model)
        #expect(session.state.count == model.stateCount)
        #expect(model.stateBytes == model.stateCount * 4)
        for token in Fixtures.tokens(name) { try session.feed(token, computeLogits: false) }
        #expect(session.state.count == model.stateCount)
        #expect(session.state.allSatisfy { $0.isFinite })
    }
}

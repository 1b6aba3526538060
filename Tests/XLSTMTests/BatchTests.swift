// Batched decode (Model.feedBatch, issue 11): N sessions at mixed positions fed one token each in one
// pass equal the same sessions fed one at a time, on every fixture and kernel path; the official
// implementation's logits (the fixtures') are matched along the way; a session's batched results do
// not depend on N, on the other sessions or on the thread count; bad input changes nothing.

import Testing
import XLSTM

/// Session i starts `primed(i)` tokens into the fixture's sequence (fed one at a time), then takes
/// `rounds` batched tokens: the fixture's tokens primed(i), primed(i) + 1, … — so after round r its
/// logits are the reference's row primed(i) + r.
private func primed(_ i: Int) -> Int { (i * 5) % 13 }
private let rounds = 3

/// Runs N sessions through `rounds` batched feeds; returns each session's logits after each round
/// ([round][session] → [vocab]) and the sessions.
private func runBatch(_ model: Model, _ tokens: [Int32], count: Int) throws -> ([[[Float]]], [Session]) {
    let sessions = try (0..<count).map { _ in try Session(model: model) }
    for (i, session) in sessions.enumerated() {
        for t in 0..<primed(i) { try session.feed(tokens[t], computeLogits: false) }
    }
    var out: [[[Float]]] = []
    for r in 0..<rounds {
        try model.feedBatch(sessions, sessions.indices.map { tokens[primed($0) + r] })
        out.append(sessions.map { Array($0.logits) })
    }
    return (out, sessions)
}

/// A new session restored from a state blob of `session`.
@inline(never)
private func roundTrip(_ session: Session) throws -> Session {
    var blob = [UInt8](repeating: 0, count: StateBlob.size(for: session.model))
    let written = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(session, into: raw) }
    let restored = try Session(model: session.model)
    let result = blob.withUnsafeBytes { raw in
        Result { () throws(XLSTMError) in try StateBlob.load(UnsafeRawBufferPointer(rebasing: raw[..<written]), into: restored) }
    }
    try result.get()
    return restored
}

@Suite struct BatchTests {
    /// Batched ≡ one-at-a-time (≤ Tolerance.batchVsStep) and ≈ the official logits (≤ Tolerance.reference),
    /// for N = 1, 2, 3, 17, 64 on every fixture and every kernel path this CPU runs; results for a
    /// session are bit-identical across N.
    @Test(arguments: Fixtures.names, CPUInfo.current.supportedPaths)
    func batchEqualsSingleFeeds(_ name: String, _ path: CPUPath) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name), cpuPath: path)
        let tokens = Fixtures.tokens(name), expected = Fixtures.logits(name)
        let V = model.vocabSize
        var first: [[[Float]]]?
        var worstStep: Float = 0, worstReference: Float = 0
        for count in [1, 2, 3, 17, 64] {
            let (batched, sessions) = try runBatch(model, tokens, count: count)
            // The same sessions' histories, one token at a time.
            for i in 0..<count {
                let single = try Session(model: model)
                for t in 0..<primed(i) { try single.feed(tokens[t], computeLogits: false) }
                for r in 0..<rounds {
                    try single.feed(tokens[primed(i) + r])
                    let row = primed(i) + r
                    worstStep = max(worstStep, batched[r][i].withUnsafeBufferPointer { relativeError($0, UnsafeBufferPointer(single.logits)) })
                    worstReference = max(worstReference, batched[r][i].withUnsafeBufferPointer { b in
                        expected.withUnsafeBufferPointer { relativeError(b, UnsafeBufferPointer(rebasing: $0[(row * V)..<((row + 1) * V)])) }
                    })
                }
                #expect(sessions[i].tokenCount == primed(i) + rounds)
                #expect(sessions[i].hasLogits)
                withExtendedLifetime(single) {}
            }
            // Session i's results are the same bit for bit in every batch size it is part of.
            if let first {
                for r in 0..<rounds {
                    for i in 0..<min(count, first[r].count) {
                        #expect(batched[r][i] == first[r][i], "\(name) [\(path)]: session \(i), round \(r): N = \(count) differs from N = \(first[r].count)")
                    }
                }
            } else {
                first = batched
            }
            if count > 1 { first = batched }
        }
        #expect(worstStep <= Tolerance.batchVsStep, "\(name) [\(path)]: batched vs one-at-a-time: \(worstStep)")
        #expect(worstReference <= Tolerance.reference, "\(name) [\(path)]: batched vs official: \(worstReference)")
    }

    /// The model's thread pool (2 threads) gives the same bits as one thread.
    @Test(arguments: ["paper_mixed", "large_bias_tied_caps"])
    func threadedBatchEqualsSingleThreaded(_ name: String) throws {
        let one = try Model(directory: Fixtures.modelDirectory(name))
        let two = try Model(directory: Fixtures.modelDirectory(name), threads: 2)
        #expect(two.threads == 2)
        let tokens = Fixtures.tokens(name)
        let (a, _) = try runBatch(one, tokens, count: 17)
        let (b, _) = try runBatch(two, tokens, count: 17)
        #expect(a == b)
    }

    /// Without logits: states advance exactly as with them, and no session has logits.
    @Test func noLogitsMode() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let a = try (0..<3).map { _ in try Session(model: model) }, b = try (0..<3).map { _ in try Session(model: model) }
        try model.feedBatch(a, [1, 2, 3], computeLogits: true)
        try model.feedBatch(b, [1, 2, 3], computeLogits: false)
        withExtendedLifetime((a, b)) {
            for i in 0..<3 {
                #expect(Array(a[i].state) == Array(b[i].state))
                #expect(!b[i].hasLogits && a[i].hasLogits && b[i].tokenCount == 1)
            }
        }
    }

    /// Save → load → continue in a batch ≡ uninterrupted, bit for bit.
    @Test func saveLoadContinue() throws {
        let model = try Model(directory: Fixtures.modelDirectory("large_bias_tied_caps"))
        let tokens = Fixtures.tokens("large_bias_tied_caps")
        let (_, sessions) = try runBatch(model, tokens, count: 5)
        let restored = try roundTrip(sessions[2])
        var twins = sessions
        twins[2] = restored
        let clones = try sessions.map { try $0.clone() }
        try model.feedBatch(clones, [7, 8, 9, 10, 11])
        try model.feedBatch(twins, [7, 8, 9, 10, 11])
        // (The buffers are the sessions' memory: keep the sessions alive while they are read.)
        withExtendedLifetime((clones, twins, restored)) {
            #expect(Array(clones[2].logits) == Array(restored.logits))
            #expect(Array(clones[2].state) == Array(restored.state))
        }
    }

    /// A session of another model, a repeated session, a token out of range: an error naming the
    /// index, and no session changed.
    @Test func badInputChangesNothing() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let other = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let sessions = try (0..<4).map { _ in try Session(model: model) }
        for (i, s) in sessions.enumerated() { try s.feed(Int32(i + 1)) }
        let before = sessions.map { (Array($0.state), Array($0.logits), $0.tokenCount, $0.hasLogits) }
        func unchanged() -> Bool {
            zip(sessions, before).allSatisfy { s, b in Array(s.state) == b.0 && Array(s.logits) == b.1 && s.tokenCount == b.2 && s.hasLogits == b.3 }
        }
        let cases: [([Session], [Int32], String)] = [
            (sessions + [try Session(model: other)], [1, 2, 3, 4, 5], "session 4"),
            ([sessions[0], sessions[1], sessions[2], sessions[1]], [1, 2, 3, 4], "session 3 is the same session as 1"),
            (sessions, [1, 2, Int32(model.vocabSize), 4], "at index 2"),
            (sessions, [-1, 2, 3, 4], "at index 0"),
        ]
        for (batch, ids, fragment) in cases {
            do {
                try model.feedBatch(batch, ids)
                Issue.record("no error for \(fragment)")
            } catch {
                #expect(error.message.contains(fragment), "\(error.message)")
            }
            #expect(unchanged())
        }
        withExtendedLifetime(sessions) {}
    }
}

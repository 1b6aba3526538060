// Sampler state blobs: save mid-generation → restore (with the session's blob) into fresh objects →
// the same next tokens as never having stopped; every damaged, foreign or future blob is refused
// with its own error and leaves the sampler untouched. The expected tokens are the uninterrupted
// run's (an invariant, not a reference value).

#if canImport(Glibc)
import Glibc
#endif
import Testing
import XLSTM

@Suite struct SamplerStateTests {
    func save(_ sampler: Sampler) throws -> [UInt8] {
        var blob = [UInt8](repeating: 0xAA, count: SamplerStateBlob.size(for: sampler))
        let written = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try SamplerStateBlob.save(sampler, into: raw) }
        #expect(written == blob.count)
        return blob
    }

    func load(_ blob: [UInt8], into sampler: Sampler) throws(XLSTMError) {
        let result = blob.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try SamplerStateBlob.load(raw, into: sampler) } }
        try result.get()
    }

    func loadSession(_ blob: [UInt8], into session: Session) throws(XLSTMError) {
        let result = blob.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try StateBlob.load(raw, into: session) } }
        try result.get()
    }

    func sessionBlob(_ session: Session) throws -> [UInt8] {
        var blob = [UInt8](repeating: 0, count: StateBlob.size(for: session.model))
        _ = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(session, into: raw) }
        return blob
    }

    /// Samples `count` tokens, feeding each back (a generation loop).
    func generate(_ sampler: Sampler, _ session: Session, _ count: Int) throws -> [Int32] {
        var out: [Int32] = []
        for _ in 0..<count {
            let token = try sampler.sample(UnsafeBufferPointer(session.logits))
            try session.feed(token)
            out.append(token)
        }
        return out
    }

    /// Hot sampling with both penalties and a small window, so the generator position and the
    /// (wrapped) history both decide the tokens.
    static var options: SamplerParameters {
        var p = SamplerParameters()
        p.seed = 1234; p.temperature = 1.3; p.topK = 0; p.topP = 0.98; p.minP = 0
        p.repetitionPenalty = 1.7; p.presencePenalty = 0.8; p.penaltyWindow = 7
        return p
    }

    @Test(arguments: ["paper_mixed", "large_basic"])
    func restoredPairContinuesWithTheSameTokens(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let prompt = Array(Fixtures.tokens(name).prefix(5))
        let session = try Session(model: model)
        let sampler = try Sampler(Self.options)
        for token in prompt { try session.feed(token); sampler.accept(token) }
        _ = try generate(sampler, session, 23)   // mid-generation; the 7-token ring has wrapped
        let savedSession = try sessionBlob(session), savedSampler = try save(sampler)
        let uninterrupted = try generate(sampler, session, 100)

        // Fresh objects; the sampler created with other options (the blob carries them).
        let resumedSession = try Session(model: model)
        var other = SamplerParameters()
        other.seed = 99; other.penaltyWindow = 3
        let resumed = try Sampler(other)
        try loadSession(savedSession, into: resumedSession)
        try load(savedSampler, into: resumed)
        #expect(resumed.parameters == Self.options)
        let continued = try generate(resumed, resumedSession, 100)
        #expect(continued == uninterrupted)
        let resavedResumed = try save(resumed), resavedOriginal = try save(sampler)
        #expect(resavedResumed == resavedOriginal)

        // The test can tell: a sampler with the same options but without the saved position/history
        // draws other tokens from the same restored session.
        let restart = try Session(model: model)
        try loadSession(savedSession, into: restart)
        let unrestored = try generate(try Sampler(Self.options), restart, 100)
        #expect(unrestored != uninterrupted)
    }

    @Test func penaltyHistoryIsRestored() throws {
        // Greedy (no randomness) with a large presence penalty: only the history decides.
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        var p = SamplerParameters()
        p.temperature = 0; p.presencePenalty = 50; p.penaltyWindow = 5
        let sampler = try Sampler(p)
        let session = try Session(model: model)
        try session.feed(3)
        _ = try generate(sampler, session, 12)
        let blob = try save(sampler), state = try sessionBlob(session)
        let uninterrupted = try generate(sampler, session, 100)

        for withHistory in [true, false] {
            let again = try Session(model: model)
            try loadSession(state, into: again)
            let resumed = try Sampler(p)
            if withHistory { try load(blob, into: resumed) }
            let tokens = try generate(resumed, again, 100)
            if withHistory { #expect(tokens == uninterrupted) } else { #expect(tokens != uninterrupted) }
        }
    }

    @Test func saveLoadSaveIsStable() throws {
        let sampler = try Sampler(Self.options)
        for token: Int32 in [5, -1, 7, 2_000_000_000, 5] { sampler.accept(token) }   // accept takes any id
        let blob = try save(sampler)
        let other = try Sampler(SamplerParameters())
        try load(blob, into: other)
        #expect(other.recentTokens == [5, -1, 7, 2_000_000_000, 5])
        #expect(try save(other) == blob)
        // Window 0: no history at all.
        var p = SamplerParameters(); p.penaltyWindow = 0
        let none = try Sampler(p)
        none.accept(4)
        #expect(try save(none).count == 72 + 8)
    }

    @Test func headerLayoutIsAsDocumented() throws {
        let sampler = try Sampler(Self.options)
        for token: Int32 in 1...9 { sampler.accept(token) }   // 9 into a window of 7: 3...9 remain
        let logits: [Float] = [0.1, 0.5, 0.2]
        _ = try logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
        let blob = try save(sampler)
        let p = Self.options
        #expect(Array(blob[0..<8]) == Array("XLSTMSMP".utf8))
        #expect(le(blob, 8, 4) == 1)
        #expect(le(blob, 12, 4) == 72)
        #expect(le(blob, 16, 8) == p.seed)
        #expect(le(blob, 24, 8) == sampler.generatorPosition)
        #expect(sampler.generatorPosition != p.seed, "one draw advances the generator")
        #expect(le(blob, 32, 4) == UInt64(p.temperature.bitPattern))
        #expect(le(blob, 36, 4) == UInt64(p.topK))
        #expect(le(blob, 40, 4) == UInt64(p.topP.bitPattern))
        #expect(le(blob, 44, 4) == UInt64(p.minP.bitPattern))
        #expect(le(blob, 48, 4) == UInt64(p.repetitionPenalty.bitPattern))
        #expect(le(blob, 52, 4) == UInt64(p.presencePenalty.bitPattern))
        #expect(le(blob, 56, 4) == 7)
        #expect(le(blob, 60, 4) == 7)
        #expect(le(blob, 64, 8) == 0)
        let drawn = Int32(le(blob, 72 + 4 * 6, 4))
        #expect((72..<(72 + 28)).striding(4).map { Int32(le(blob, $0, 4)) } == [4, 5, 6, 7, 8, 9, drawn])
        #expect(blob.count == 72 + 4 * 7 + 8)
        let sum = blob.withUnsafeBytes { StateBlob.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(blob.count - 8)])) }
        #expect(le(blob, blob.count - 8, 8) == sum)
    }

    /// Loads `blob` into a used sampler; expects `kind` and no change (same blob, same next draws).
    func expectRejected(_ blob: [UInt8], _ kind: XLSTMError.Kind, _ note: String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let sampler = try Sampler(Self.options), twin = try Sampler(Self.options)
        for s in [sampler, twin] { s.accept(2); s.accept(4) }
        let before = try save(sampler)
        let error = #expect(throws: XLSTMError.self, sourceLocation: sourceLocation) { try load(blob, into: sampler) }
        #expect(error?.kind == kind, "\(note): \(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(error?.message.isEmpty == false, sourceLocation: sourceLocation)
        #expect(try save(sampler) == before, "\(note): a rejected blob changed the sampler", sourceLocation: sourceLocation)
        let logits: [Float] = [1, 2, 0.5, 3, 2.5]
        for _ in 0..<20 {
            let a = try logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
            let b = try logits.withUnsafeBufferPointer { b throws(XLSTMError) in try twin.sample(b) }
            #expect(a == b, sourceLocation: sourceLocation)
        }
    }

    @Test func rejectsDamagedTruncatedAndForeignBlobs() throws {
        let sampler = try Sampler(Self.options)
        for token: Int32 in [1, 2, 3] { sampler.accept(token) }
        let good = try save(sampler)
        // Every single bit flip anywhere: version bytes → stateVersion, everything else → stateCorrupt.
        for offset in 0..<good.count {
            for bit in [0, 7] {
                var damaged = good
                damaged[offset] ^= UInt8(1 << bit)
                try expectRejected(damaged, (8..<12).contains(offset) ? .stateVersion : .stateCorrupt, "flip at \(offset)")
            }
        }
        for length in [0, 1, 7, 8, 71, 72, 79, good.count - 8, good.count - 1] {
            try expectRejected(Array(good.prefix(length)), .stateCorrupt, "truncated to \(length)")
        }
        try expectRejected(good + [0], .stateCorrupt, "one byte too long")
        try expectRejected(good + [UInt8](repeating: 0, count: 4096), .stateCorrupt, "4 KiB too long")
        try expectRejected([UInt8](repeating: 0, count: good.count), .stateCorrupt, "zeros")
        try expectRejected([UInt8](repeating: 0xFF, count: good.count), .stateCorrupt, "ones")

        // A session's blob: refused, and the message says what it is.
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: model)
        try session.feed(1)
        let foreign = try sessionBlob(session)
        try expectRejected(foreign, .stateCorrupt, "session blob")
        let error = #expect(throws: XLSTMError.self) { try load(foreign, into: sampler) }
        #expect(error?.message.contains("session state blob") == true)
        // And the other way round: a sampler blob is not a session's.
        let reverse = #expect(throws: XLSTMError.self) { try loadSession(good, into: session) }
        #expect(reverse?.kind == .stateCorrupt)
    }

    @Test func rejectsWellSealedBlobsWithImpossibleContents() throws {
        let sampler = try Sampler(Self.options)
        for token: Int32 in [1, 2, 3] { sampler.accept(token) }
        let good = try save(sampler)
        func sealed(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var blob = good
            edit(&blob)
            reseal(&blob)
            return blob
        }
        func put(_ blob: inout [UInt8], _ offset: Int, _ value: UInt32) {
            for i in 0..<4 { blob[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        try expectRejected(sealed { blob in blob[8] = 2 }, .stateVersion, "version 2")
        try expectRejected(sealed { blob in put(&blob, 8, 0) }, .stateVersion, "version 0")
        try expectRejected(sealed { blob in put(&blob, 12, 56) }, .stateCorrupt, "header size")
        try expectRejected(sealed { blob in put(&blob, 32, Float(-1).bitPattern) }, .stateCorrupt, "temperature -1")
        try expectRejected(sealed { blob in put(&blob, 32, Float.nan.bitPattern) }, .stateCorrupt, "temperature NaN")
        try expectRejected(sealed { blob in put(&blob, 36, UInt32(bitPattern: -1)) }, .stateCorrupt, "top_k -1")
        try expectRejected(sealed { blob in put(&blob, 40, 0) }, .stateCorrupt, "top_p 0")
        try expectRejected(sealed { blob in put(&blob, 44, Float(2).bitPattern) }, .stateCorrupt, "min_p 2")
        try expectRejected(sealed { blob in put(&blob, 48, 0) }, .stateCorrupt, "repetition_penalty 0")
        try expectRejected(sealed { blob in put(&blob, 52, Float.infinity.bitPattern) }, .stateCorrupt, "presence_penalty inf")
        try expectRejected(sealed { blob in put(&blob, 56, 6) }, .stateCorrupt, "window 6: size mismatch")
        try expectRejected(sealed { blob in put(&blob, 56, UInt32.max) }, .stateCorrupt, "window 2^32-1")
        try expectRejected(sealed { blob in put(&blob, 60, 8) }, .stateCorrupt, "count 8 > window 7")
        try expectRejected(sealed { blob in blob[64] = 1 }, .stateCorrupt, "reserved")
        try expectRejected(sealed { blob in blob[72 + 4 * 3] = 1 }, .stateCorrupt, "an unused slot")
        // The same edits that ARE valid load: a different count with its tokens, a different seed.
        let valid = sealed { blob in put(&blob, 60, 4); blob[72 + 4 * 3] = 9; blob[16] ^= 1 }
        let other = try Sampler(SamplerParameters())
        try load(valid, into: other)
        #expect(other.recentTokens == [1, 2, 3, 9])
        #expect(other.parameters.seed == Self.options.seed ^ 1)
    }

    @Test func saveNeedsLargeEnoughBuffer() throws {
        let sampler = try Sampler(Self.options)
        var small = [UInt8](repeating: 0, count: SamplerStateBlob.size(for: sampler) - 1)
        let error = #expect(throws: XLSTMError.self) {
            _ = try small.withUnsafeMutableBytes { raw throws(XLSTMError) in try SamplerStateBlob.save(sampler, into: raw) }
        }
        #expect(error?.kind == .bufferTooSmall)
        #expect(error?.message.contains("\(SamplerStateBlob.size(for: sampler))") == true)
    }

    @Test func fileRoundTrip() throws {
        var template = Array("/tmp/xlstm-sampler-state-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { rmdir(directory) }
        let path = directory + "/npc.sampler"
        defer { unlink(path) }
        let sampler = try Sampler(Self.options)
        sampler.accept(11)
        try SamplerStateBlob.save(sampler, toFile: path)
        let other = try Sampler(SamplerParameters())
        try SamplerStateBlob.load(fromFile: path, into: other)
        #expect(try save(other) == save(sampler))
        let missing = #expect(throws: XLSTMError.self) { try SamplerStateBlob.load(fromFile: directory + "/none", into: other) }
        #expect(missing?.kind == .io)
        #expect(missing?.message.contains(directory + "/none") == true)
    }

    func le(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    func reseal(_ blob: inout [UInt8]) {
        let n = blob.count - 8
        let sum = blob.withUnsafeBytes { StateBlob.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        for i in 0..<8 { blob[n + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
    }
}

extension Range where Bound == Int {
    fileprivate func striding(_ step: Int) -> StrideTo<Int> { Swift.stride(from: lowerBound, to: upperBound, by: step) }
}

// State blobs: save → load → continue is bit-identical to never stopping; every damaged, foreign or
// future blob is refused with its own error and leaves the session untouched.

import Testing
import XLSTM

@Suite struct StateBlobTests {
    func save(_ session: Session) throws -> [UInt8] {
        var blob = [UInt8](repeating: 0, count: StateBlob.size(for: session.model))
        let written = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(session, into: raw) }
        #expect(written == blob.count)
        return blob
    }

    func load(_ blob: [UInt8], into session: Session) throws(XLSTMError) {
        let result = blob.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try StateBlob.load(raw, into: session) } }
        try result.get()
    }

    @Test(arguments: ["paper_mixed", "paper_slstm_only", "large_basic"])
    func saveLoadContinueIsBitIdentical(_ name: String) throws {
        let model = try Model(directory: Fixtures.modelDirectory(name))
        let tokens = Fixtures.tokens(name)
        let uninterrupted = try Session(model: model)
        for token in tokens.prefix(20) { try uninterrupted.feed(token) }
        let blob = try save(uninterrupted)

        let resumed = try Session(model: model)
        try load(blob, into: resumed)
        #expect(resumed.tokenCount == 20)
        #expect(resumed.hasLogits)
        #expect(Array(resumed.logits) == Array(uninterrupted.logits))
        for token in tokens.dropFirst(20).prefix(20) {
            try uninterrupted.feed(token)
            try resumed.feed(token)
            #expect(Array(resumed.logits) == Array(uninterrupted.logits))
        }
        #expect(try save(resumed) == save(uninterrupted))
    }

    @Test func blobWithoutLogitsRestoresNoLogits() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: model)
        try session.feed(3, computeLogits: false)
        let other = try Session(model: model)
        try other.feed(5)
        try load(try save(session), into: other)
        #expect(!other.hasLogits)
        #expect(other.tokenCount == 1)
    }

    /// Loads `blob` into a session that has consumed a few tokens; expects `kind` and no change.
    func expectRejected(_ blob: [UInt8], _ kind: XLSTMError.Kind, model: Model) throws {
        let session = try Session(model: model)
        for token in Fixtures.tokens("paper_mixed").prefix(3) { try session.feed(token) }
        let before = try save(session)
        let error = #expect(throws: XLSTMError.self) { try load(blob, into: session) }
        #expect(error?.kind == kind, "\(error?.message ?? "")")
        #expect(try save(session) == before)
    }

    @Test func rejectsBlobOfAnotherModel() throws {
        let mixed = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let other = try Model(directory: Fixtures.modelDirectory("paper_noconv"))
        #expect(mixed.fingerprint != other.fingerprint)
        let foreign = try Session(model: other)
        try foreign.feed(1)
        try expectRejected(try save(foreign), .stateMismatch, model: mixed)
    }

    @Test func rejectsSameSizedBlobOfAnotherModel() throws {
        // A well-formed blob of the right size whose fingerprint names another model.
        let mixed = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: mixed)
        var blob = try save(session)
        blob[16] ^= 0xFF   // a fingerprint byte; the checksum is resealed so only the fingerprint differs
        resealChecksum(&blob)
        try expectRejected(blob, .stateMismatch, model: mixed)
    }

    @Test func rejectsDamage() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: model)
        try session.feed(7)
        let blob = try save(session)
        for offset in [0, 30, StateBlob.size(for: model) / 2, blob.count - 1] {
            var damaged = blob
            damaged[offset] ^= 0x01
            try expectRejected(damaged, .stateCorrupt, model: model)
        }
        try expectRejected(Array(blob.prefix(blob.count - 1)), .stateCorrupt, model: model)
        try expectRejected(Array(blob.prefix(10)), .stateCorrupt, model: model)
        try expectRejected([], .stateCorrupt, model: model)
        try expectRejected(blob + [0], .stateCorrupt, model: model)
    }

    @Test func rejectsOtherFormatVersion() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        var blob = try save(try Session(model: model))
        blob[8] = 2
        try expectRejected(blob, .stateVersion, model: model)
    }

    @Test func saveNeedsLargeEnoughBuffer() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        var small = [UInt8](repeating: 0, count: StateBlob.size(for: model) - 1)
        let error = #expect(throws: XLSTMError.self) {
            _ = try small.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(try Session(model: model), into: raw) }
        }
        #expect(error?.kind == .bufferTooSmall)
        #expect(error?.message.contains("\(StateBlob.size(for: model))") == true)
    }

    @Test func headerLayoutIsAsDocumented() throws {
        let model = try Model(directory: Fixtures.modelDirectory("large_basic"))
        let session = try Session(model: model)
        for token in Fixtures.tokens("large_basic").prefix(4) { try session.feed(token) }
        let blob = try save(session)
        #expect(Array(blob[0..<8]) == Array("XLSTMSTA".utf8))
        #expect(le(blob, 8, 4) == 1)
        #expect(le(blob, 12, 4) == 56)
        #expect(le(blob, 16, 8) == model.fingerprint)
        #expect(le(blob, 24, 8) == 4)
        #expect(le(blob, 32, 8) == UInt64(model.stateCount))
        #expect(le(blob, 40, 4) == UInt64(model.vocabSize))
        #expect(le(blob, 44, 4) == 1)
        #expect(blob.count == 56 + 4 * model.stateCount + 4 * model.vocabSize + 8)
    }

    func le(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    func resealChecksum(_ blob: inout [UInt8]) {
        let n = blob.count - 8
        let sum = blob.withUnsafeBytes { StateBlob.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        for i in 0..<8 { blob[n + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
    }
}

// Fuzz harness: state blobs. Two fixture models are loaded once (paper_mixed, large_basic); input
// byte 0 picks one (bit 0) and whether the harness repairs the checksum (bit 1) so that mutations
// also reach the checks behind it (fingerprint, flags, sizes); the rest is the blob.
// Invariants: a rejected blob leaves the session exactly as it was; an accepted one continues.

nonisolated(unsafe) var stateModels: [Model] = []

func fuzzStateBlob(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 1 else { return }
    if stateModels.isEmpty {
        for name in ["paper_mixed", "large_basic"] {
            do { stateModels.append(try Model(directory: fixturesRoot + "/" + name + "/model")) } catch {
                fuzzCheck(false, "cannot load fixture \(name): \(error)")
            }
        }
    }
    let model = stateModels[Int(data[0] & 1)]
    var blob = Array(data[1...])
    if data[0] & 2 != 0, blob.count >= 8 {
        let sum = blob.withUnsafeBytes { StateBlob.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(blob.count - 8)])) }
        for i in 0..<8 { blob[blob.count - 8 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
    }
    guard let session = try? Session(model: model) else { return }
    try? session.feed(7)
    let stateBefore = Array(session.state), logitsBefore = Array(session.logits)
    let tokensBefore = session.tokenCount, hadLogits = session.hasLogits
    if let error = loadBlob(blob, into: session) {
        fuzzCheck(Array(session.state).elementsEqual(stateBefore, by: { $0.bitPattern == $1.bitPattern })
                  && Array(session.logits).elementsEqual(logitsBefore, by: { $0.bitPattern == $1.bitPattern })
                  && session.tokenCount == tokensBefore && session.hasLogits == hadLogits,
                  "a rejected blob (\(error)) changed the session")
        return
    }
    fuzzCheck(blob.count == StateBlob.size(for: model), "accepted a blob of \(blob.count) bytes")
    try? session.feed(3)
}

/// StateBlob.load's error, or nil when the blob was accepted.
@inline(never)
func loadBlob(_ blob: [UInt8], into session: Session) -> XLSTMError? {
    blob.withUnsafeBytes { raw -> XLSTMError? in
        do throws(XLSTMError) { try StateBlob.load(raw, into: session) } catch { return error }
        return nil
    }
}

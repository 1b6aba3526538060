// Fuzz harness: sampler state blobs (SamplerStateBlob.swift). Input byte 0, bit 0: repair the
// checksum (so mutations also reach the checks behind it: parameters, window, count, padding);
// the rest is the blob. Invariants: a rejected blob leaves the sampler exactly as it was; an
// accepted one has the size its window gives, saves back to the very same bytes (the format is
// canonical) and samples.

func fuzzSamplerState(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 1 else { return }
    var blob = Array(data[1...])
    if data[0] & 1 != 0, blob.count >= 8 {
        let sum = blob.withUnsafeBytes { StateBlob.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(blob.count - 8)])) }
        for i in 0..<8 { blob[blob.count - 8 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
    }
    var options = SamplerParameters()
    options.seed = 5; options.penaltyWindow = 4; options.presencePenalty = 0.5
    guard let sampler = try? Sampler(options) else { fuzzCheck(false, "cannot create a sampler"); return }
    sampler.accept(3); sampler.accept(1)
    let before = saveSampler(sampler)
    if let error = loadSamplerBlob(blob, into: sampler) {
        fuzzCheck(!error.message.isEmpty, "an error without a message")
        fuzzCheck(saveSampler(sampler) == before, "a rejected blob (\(error)) changed the sampler")
        return
    }
    fuzzCheck(blob.count == SamplerStateBlob.size(for: sampler), "accepted a blob of \(blob.count) bytes")
    fuzzCheck(saveSampler(sampler) == blob, "an accepted blob does not save back to the same bytes")
    let logits: [Float] = [0.5, -1, 2, 0, 1.5, -.infinity, .nan, 3]
    for _ in 0..<3 {
        let token = logits.withUnsafeBufferPointer { try? sampler.sample($0) }
        fuzzCheck(token.map { $0 >= 0 && $0 < 8 } ?? false, "a loaded sampler drew \(String(describing: token))")
    }
}

func saveSampler(_ sampler: Sampler) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: SamplerStateBlob.size(for: sampler))
    let written = bytes.withUnsafeMutableBytes { try? SamplerStateBlob.save(sampler, into: $0) }
    fuzzCheck(written == bytes.count, "save wrote \(String(describing: written)) bytes")
    return bytes
}

/// SamplerStateBlob.load's error, or nil when the blob was accepted.
@inline(never)
func loadSamplerBlob(_ blob: [UInt8], into sampler: Sampler) -> XLSTMError? {
    blob.withUnsafeBytes { raw -> XLSTMError? in
        do throws(XLSTMError) { try SamplerStateBlob.load(raw, into: sampler) } catch { return error }
        return nil
    }
}

// The portable, versioned serialisation of a sampler: its parameters, the random generator's
// position and the penalty history — everything that decides the next tokens it draws. Saved with a
// session's blob (StateBlob.swift), a restored NPC continues with the same sampled tokens, not just
// the same logits. Same conventions as the session blob: magic, version, header size, checksum
// (`StateBlob.checksum`), caller buffers sized by a query, atomic file writes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Format version 1 (all integers and floats little-endian):
//   offset  size
//   0       8     magic "XLSTMSMP"
//   8       4     format version (1)
//   12      4     header size in bytes (72)
//   16      8     seed
//   24      8     random generator position (SplitMix64 state)
//   32      4     temperature (f32)
//   36      4     top_k (i32)
//   40      4     top_p (f32)
//   44      4     min_p (f32)
//   48      4     repetition_penalty (f32)
//   52      4     presence_penalty (f32)
//   56      4     penalty_window W (u32, ≤ 2^20)
//   60      4     history count H (u32, ≤ W)
//   64      8     reserved (0)
//   72      4·W   penalty history, oldest first: H token ids (i32), then W − H zero slots
//   …       8     checksum of every byte before it (`StateBlob.checksum`)
// The size depends only on the penalty window: a caller can size one buffer per sampler once.

public enum SamplerStateBlob {
    public static let magic: [UInt8] = Array("XLSTMSMP".utf8)
    public static let formatVersion: UInt32 = 1
    static let headerSize = 72

    /// Bytes of a blob of a sampler with penalty window `window`.
    public static func size(window: Int) -> Int { headerSize + 4 * window + 8 }

    /// Bytes of `sampler`'s blob (fixed for its parameters).
    public static func size(for sampler: Sampler) -> Int { size(window: sampler.parameters.penaltyWindow) }

    /// Writes `sampler`'s blob into `buffer`; returns the bytes written. Throws `.bufferTooSmall`.
    /// The sampler is not changed.
    public static func save(_ sampler: Sampler, into buffer: UnsafeMutableRawBufferPointer) throws(XLSTMError) -> Int {
        let p = sampler.parameters
        let total = size(for: sampler)
        guard let base = buffer.baseAddress, buffer.count >= total else {
            throw XLSTMError(.bufferTooSmall, "sampler state buffer of \(buffer.count) bytes is too small: \(total) bytes needed")
        }
        let recent = sampler.recentTokens
        var writer = ByteWriter(base)
        writer.bytes(magic)
        writer.u32(formatVersion)
        writer.u32(UInt32(headerSize))
        writer.u64(p.seed)
        writer.u64(sampler.generatorPosition)
        writer.u32(p.temperature.bitPattern)
        writer.u32(UInt32(bitPattern: Int32(p.topK)))
        writer.u32(p.topP.bitPattern)
        writer.u32(p.minP.bitPattern)
        writer.u32(p.repetitionPenalty.bitPattern)
        writer.u32(p.presencePenalty.bitPattern)
        writer.u32(UInt32(p.penaltyWindow))
        writer.u32(UInt32(recent.count))
        writer.u64(0)
        for token in recent { writer.u32(UInt32(bitPattern: token)) }
        writer.zeros(4 * (p.penaltyWindow - recent.count))
        writer.u64(StateBlob.checksum(UnsafeRawBufferPointer(start: base, count: writer.offset)))
        return writer.offset
    }

    /// Replaces `sampler`'s whole state (parameters included) with the blob's. Everything is
    /// validated first: on any error the sampler is left exactly as it was.
    public static func load(_ blob: UnsafeRawBufferPointer, into sampler: Sampler) throws(XLSTMError) {
        let state = try parse(blob)
        try sampler.restore(parameters: state.parameters, generatorPosition: state.generatorPosition,
                            recentTokens: state.recentTokens)
    }

    /// What a blob holds, validated.
    public struct Contents: Sendable, Equatable {
        public var parameters: SamplerParameters
        public var generatorPosition: UInt64
        public var recentTokens: [Int32]
    }

    /// Validates `blob` completely and returns its contents; throws `.stateCorrupt` (truncated,
    /// damaged, not a sampler blob) or `.stateVersion`.
    public static func parse(_ blob: UnsafeRawBufferPointer) throws(XLSTMError) -> Contents {
        guard let base = blob.baseAddress, blob.count >= 8 else {
            throw XLSTMError(.stateCorrupt, "sampler state blob is truncated (\(blob.count) bytes)")
        }
        let head = Array(blob[0..<8])
        guard head == magic else {
            if head == StateBlob.magic {
                throw XLSTMError(.stateCorrupt, "this is a session state blob, not a sampler state blob (load it with xlstm_session_load_state)")
            }
            throw XLSTMError(.stateCorrupt, "not an xlstm sampler state blob (bad magic)")
        }
        guard blob.count >= headerSize + 8 else {
            throw XLSTMError(.stateCorrupt, "sampler state blob is truncated (\(blob.count) bytes)")
        }
        var reader = ByteReader(base, offset: 8)
        let version = reader.u32()
        guard version == formatVersion else {
            throw XLSTMError(.stateVersion, "sampler state blob format version \(version) is not supported (this runtime reads \(formatVersion))")
        }
        guard reader.u32() == UInt32(headerSize) else {
            throw XLSTMError(.stateCorrupt, "sampler state blob header size is wrong")
        }
        var p = SamplerParameters()
        p.seed = reader.u64()
        let position = reader.u64()
        p.temperature = Float(bitPattern: reader.u32())
        p.topK = Int(Int32(bitPattern: reader.u32()))
        p.topP = Float(bitPattern: reader.u32())
        p.minP = Float(bitPattern: reader.u32())
        p.repetitionPenalty = Float(bitPattern: reader.u32())
        p.presencePenalty = Float(bitPattern: reader.u32())
        let window = reader.u32()
        let count = reader.u32()
        let reserved = reader.u64()
        guard window <= 1 << 20 else {
            throw XLSTMError(.stateCorrupt, "sampler state blob has a penalty window of \(window) (at most 2^20)")
        }
        let expected = size(window: Int(window))
        guard blob.count == expected else {
            throw XLSTMError(.stateCorrupt, "sampler state blob is \(blob.count) bytes; \(expected) expected for its penalty window \(window)")
        }
        let stored = UnsafeRawBufferPointer(start: base + expected - 8, count: 8).loadLittleEndianU64()
        guard stored == StateBlob.checksum(UnsafeRawBufferPointer(start: base, count: expected - 8)) else {
            throw XLSTMError(.stateCorrupt, "sampler state blob checksum does not match (damaged data)")
        }
        guard reserved == 0 else { throw XLSTMError(.stateCorrupt, "sampler state blob has nonzero reserved bytes") }
        guard count <= window else {
            throw XLSTMError(.stateCorrupt, "sampler state blob holds \(count) history tokens, more than its window \(window)")
        }
        p.penaltyWindow = Int(window)
        do throws(XLSTMError) { try p.validate() } catch {
            throw XLSTMError(.stateCorrupt, "sampler state blob holds invalid parameters (\(error.message))")
        }
        var recent: [Int32] = []
        recent.reserveCapacity(Int(count))
        for _ in 0..<count { recent.append(Int32(bitPattern: reader.u32())) }
        for _ in count..<window where reader.u32() != 0 {
            throw XLSTMError(.stateCorrupt, "sampler state blob has nonzero unused history slots")
        }
        return Contents(parameters: p, generatorPosition: position, recentTokens: recent)
    }
}

extension SamplerStateBlob {
    /// Saves `sampler` to the file `path`, replacing it atomically (temporary file + rename).
    public static func save(_ sampler: Sampler, toFile path: String) throws(XLSTMError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size(for: sampler), alignment: 16)
        defer { buffer.deallocate() }
        let count = try save(sampler, into: buffer)
        try writeFileAtomically(path, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    /// Restores `sampler` from a file holding a blob; errors name the file; the sampler is unchanged on error.
    public static func load(fromFile path: String, into sampler: Sampler) throws(XLSTMError) {
        // Read, not mapped (a file truncated meanwhile cannot raise SIGBUS); never more than the
        // largest blob there is.
        let limit = size(window: 1 << 20)
        let file = try MappedFile(path: path, mode: .copy, maxSize: limit, tooLarge: { size in
            XLSTMError(.stateCorrupt, "\(path): sampler state file is \(size) bytes; no sampler blob exceeds \(limit)")
        })
        do throws(XLSTMError) {
            try load(file.bytes, into: sampler)
        } catch {
            throw XLSTMError(error.kind, "\(path): \(error.message)")
        }
    }
}

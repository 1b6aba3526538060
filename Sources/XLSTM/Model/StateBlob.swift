// The portable, versioned serialisation of a session: everything needed to continue a sequence
// bit for bit in another process or on another machine.
//
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Format version 1 (all integers and floats little-endian):
//   offset  size
//   0       8     magic "XLSTMSTA"
//   8       4     format version (1)
//   12      4     header size in bytes (56)
//   16      8     model fingerprint (Model.fingerprint: family, dimensions, tensor names/dtypes/shapes)
//   24      8     tokens consumed so far
//   32      8     state float count (Model.stateCount)
//   40      4     vocab size
//   44      4     flags: bit 0 = the logits below are the last token's
//   48      8     reserved (0)
//   56      4·S   recurrent state, every block in order (f32)
//   …       4·V   logits of the last token (f32; zeros when flag bit 0 is clear)
//   …       8     checksum of every byte before it (`StateBlob.checksum`)

public enum StateBlob {
    public static let magic: [UInt8] = Array("XLSTMSTA".utf8)
    /// What loading a sampler's blob into a session says.
    static let samplerBlobMessage = "this is a sampler state blob, not a session state blob (load it with xlstm_sampler_load_state)"
    public static let formatVersion: UInt32 = 1
    static let headerSize = 56

    /// Bytes of a blob for `model` (the same for every session of the model).
    public static func size(for model: Model) -> Int {
        headerSize + 4 * model.stateCount + 4 * model.vocabSize + 8
    }

    /// Writes `session`'s blob into `buffer`; returns the bytes written. Throws `.bufferTooSmall`.
    public static func save(_ session: Session, into buffer: UnsafeMutableRawBufferPointer) throws(XLSTMError) -> Int {
        let model = session.model
        let total = size(for: model)
        guard let base = buffer.baseAddress, buffer.count >= total else {
            throw XLSTMError(.bufferTooSmall, "state buffer of \(buffer.count) bytes is too small: \(total) bytes needed")
        }
        var writer = ByteWriter(base)
        writer.bytes(magic)
        writer.u32(formatVersion)
        writer.u32(UInt32(headerSize))
        writer.u64(model.fingerprint)
        writer.u64(UInt64(session.tokenCount))
        writer.u64(UInt64(model.stateCount))
        writer.u32(UInt32(model.vocabSize))
        writer.u32(session.hasLogits ? 1 : 0)
        writer.u64(0)
        writer.floats(UnsafeBufferPointer(session.state))
        if session.hasLogits {
            writer.floats(UnsafeBufferPointer(session.logits))
        } else {
            writer.zeros(4 * model.vocabSize)
        }
        let sum = checksum(UnsafeRawBufferPointer(start: base, count: writer.offset))
        writer.u64(sum)
        return writer.offset
    }

    /// Replaces `session`'s state with the blob's. Everything is validated first: on any error the
    /// session is left exactly as it was.
    public static func load(_ blob: UnsafeRawBufferPointer, into session: Session) throws(XLSTMError) {
        let model = session.model
        if blob.count >= 8, Array(blob[0..<8]) == SamplerStateBlob.magic {
            throw XLSTMError(.stateCorrupt, StateBlob.samplerBlobMessage)
        }
        guard let base = blob.baseAddress, blob.count >= headerSize + 8 else {
            throw XLSTMError(.stateCorrupt, "state blob is truncated (\(blob.count) bytes)")
        }
        guard Array(blob[0..<8]) == magic else {
            throw XLSTMError(.stateCorrupt, "not an xlstm state blob (bad magic)")
        }
        var reader = ByteReader(base, offset: 8)
        let version = reader.u32()
        guard version == formatVersion else {
            throw XLSTMError(.stateVersion, "state blob format version \(version) is not supported (this runtime reads \(formatVersion))")
        }
        guard reader.u32() == UInt32(headerSize) else {
            throw XLSTMError(.stateCorrupt, "state blob header size is wrong")
        }
        let fingerprint = reader.u64()
        let tokenCount = reader.u64()
        let stateCount = reader.u64()
        let vocab = reader.u32()
        let flags = reader.u32()
        let expected = size(for: model)
        guard blob.count == expected, stateCount == UInt64(model.stateCount), vocab == UInt32(model.vocabSize) else {
            if fingerprint != model.fingerprint {
                throw XLSTMError(.stateMismatch, "state blob was saved from a different model (fingerprint \(hex(fingerprint)), this model \(hex(model.fingerprint)))")
            }
            throw XLSTMError(.stateCorrupt, "state blob is \(blob.count) bytes; \(expected) expected for this model")
        }
        let stored = UnsafeRawBufferPointer(start: base + expected - 8, count: 8).loadLittleEndianU64()
        guard stored == checksum(UnsafeRawBufferPointer(start: base, count: expected - 8)) else {
            throw XLSTMError(.stateCorrupt, "state blob checksum does not match (damaged data)")
        }
        guard fingerprint == model.fingerprint else {
            throw XLSTMError(.stateMismatch, "state blob was saved from a different model (fingerprint \(hex(fingerprint)), this model \(hex(model.fingerprint)))")
        }
        guard flags & ~1 == 0, tokenCount <= UInt64(Int.max) else {
            throw XLSTMError(.stateCorrupt, "state blob has unknown flags")
        }
        // Valid: copy in.
        var payload = ByteReader(base, offset: headerSize)
        payload.floats(into: session.state)
        payload.floats(into: session.logits)
        session.tokenCount = Int(tokenCount)
        session.hasLogits = flags & 1 != 0
    }

    /// 64-bit checksum: FNV-1a over 8-byte little-endian words (a multiply per word), then the tail
    /// bytes, then the length. Detects damage; it is not a cryptographic hash.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01B3
        let words = bytes.count / 8
        for i in 0..<words {
            hash = (hash ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) &* prime
        }
        for i in (8 * words)..<bytes.count { hash = (hash ^ UInt64(bytes[i])) &* prime }
        return (hash ^ UInt64(bytes.count)) &* prime
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension StateBlob {
    /// Saves `session` to the file `path`, replacing it atomically (temporary file + rename).
    public static func save(_ session: Session, toFile path: String) throws(XLSTMError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size(for: session.model), alignment: 16)
        defer { buffer.deallocate() }
        let count = try save(session, into: buffer)
        try writeFileAtomically(path, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    /// Restores `session` from a file holding a blob; errors name the file; the session is unchanged on error.
    public static func load(fromFile path: String, into session: Session) throws(XLSTMError) {
        // Read (not mapped: a file truncated by someone else meanwhile cannot raise SIGBUS), and only
        // when its size is the one a blob of this model has.
        let expected = size(for: session.model)
        let model = session.model
        let file = try MappedFile(path: path, mode: .copy, maxSize: expected, tooLarge: { size in
            // Too large for this model: another model's blob (say which) or damage, from the header alone.
            var header = [UInt8](repeating: 0, count: headerSize)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            let n = fd < 0 ? -1 : header.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, headerSize, 0) }
            if fd >= 0 { close(fd) }
            if n >= 8, Array(header[0..<8]) == SamplerStateBlob.magic {
                return XLSTMError(.stateCorrupt, "\(path): \(StateBlob.samplerBlobMessage)")
            }
            if n == headerSize, Array(header[0..<8]) == magic {
                let version = header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
                if version != formatVersion {
                    return XLSTMError(.stateVersion, "\(path): state blob format version \(version) is not supported (this runtime reads \(formatVersion))")
                }
                let fingerprint = header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self)) }
                if fingerprint != model.fingerprint {
                    return XLSTMError(.stateMismatch, "\(path): state blob was saved from a different model (fingerprint \(hex(fingerprint)), this model \(hex(model.fingerprint)))")
                }
            }
            return XLSTMError(.stateCorrupt, "\(path): state file is \(size) bytes; \(expected) expected for this model")
        })
        do throws(XLSTMError) {
            try load(file.bytes, into: session)
        } catch {
            throw XLSTMError(error.kind, "\(path): \(error.message)")
        }
    }
}

/// Distinguishes the temporary files of concurrent writers in one process.
private let temporaryFileCounter = Atomic<Int>(0)

/// Writes `bytes` to `path` atomically: a reader (or a crash) sees the old file or the new one,
/// never a mix. The bytes go to a new temporary file in the same directory (a unique name per call,
/// so threads saving to the same path at once do not collide), which is fsync'ed, renamed over
/// `path`, and the directory fsync'ed so the rename itself survives a power loss.
public func writeFileAtomically(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(XLSTMError) {
    guard !path.isEmpty else { throw XLSTMError(.io, "state file path is empty") }
    func reason() -> String { String(cString: strerror(errno)) }
    var temporary = ""
    var fd: Int32 = -1
    for _ in 0..<100 {
        let serial = temporaryFileCounter.add(1, ordering: .relaxed).newValue
        temporary = path + ".tmp-\(getpid())-\(serial)"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd >= 0 || errno != EEXIST { break }
    }
    guard fd >= 0 else { throw XLSTMError(.io, "\(path): cannot create \(temporary) (\(reason()))") }
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            let why = reason()
            close(fd)
            unlink(temporary)
            throw XLSTMError(.io, "\(path): write failed (\(why))")
        }
        offset += n
    }
    if fsync(fd) != 0 {
        let why = reason()
        close(fd)
        unlink(temporary)
        throw XLSTMError(.io, "\(path): fsync failed (\(why))")
    }
    if close(fd) != 0 {
        let why = reason()
        unlink(temporary)
        throw XLSTMError(.io, "\(path): write failed (\(why))")
    }
    guard rename(temporary, path) == 0 else {
        let why = reason()
        unlink(temporary)
        throw XLSTMError(.io, "\(path): cannot rename \(temporary) into place (\(why))")
    }
    // The directory entry: best effort (some file systems refuse fsync on directories).
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 {
        _ = fsync(directoryFD)
        close(directoryFD)
    }
}

struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var offset = 0
    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    mutating func bytes(_ values: [UInt8]) {
        for v in values { base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self); offset += 1 }
    }
    mutating func u32(_ v: UInt32) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self); offset += 4 }
    mutating func u64(_ v: UInt64) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self); offset += 8 }
    mutating func zeros(_ count: Int) { (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: count); offset += count }
    mutating func floats(_ values: UnsafeBufferPointer<Float>) {
        #if _endian(little)
        (base + offset).copyMemory(from: values.baseAddress!, byteCount: 4 * values.count)
        offset += 4 * values.count
        #else
        for v in values { u32(v.bitPattern) }
        #endif
    }
}

struct ByteReader {
    let base: UnsafeRawPointer
    var offset: Int
    init(_ base: UnsafeRawPointer, offset: Int) { self.base = base; self.offset = offset }

    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    mutating func u64() -> UInt64 {
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    mutating func floats(into values: UnsafeMutableBufferPointer<Float>) {
        #if _endian(little)
        UnsafeMutableRawPointer(values.baseAddress!).copyMemory(from: base + offset, byteCount: 4 * values.count)
        offset += 4 * values.count
        #else
        for i in values.indices { values[i] = Float(bitPattern: u32()) }
        #endif
    }
}

extension UnsafeRawBufferPointer {
    func loadLittleEndianU64() -> UInt64 { UInt64(littleEndian: loadUnaligned(as: UInt64.self)) }
}

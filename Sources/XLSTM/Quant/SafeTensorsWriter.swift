// safetensors writer: the header (every tensor's dtype, shape and byte range) is fixed before any
// data is written, then the data of each tensor is written at its place with pwrite(2), in any
// order and in pieces — so a quantizer can stream a tensor row block by row block and write its
// codes and its scales (two tensors) as it goes, holding only one block in memory.
//
// Layout written (what the safetensors format requires, plus two alignment choices):
//   u64 little endian N | N bytes of JSON header, padded with spaces so that 8 + N is a multiple of
//   64 | the tensors' data, contiguous, in the order given (no gaps: the format forbids them).
// Callers order the tensors by element size (4-byte first, then 2-byte, then 1-byte) so that every
// tensor starts at a multiple of its element size.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct SafeTensorsWriter {
    /// One tensor of the file: its header entry and its size.
    struct Entry {
        let name: String
        let dtype: String          // "F32", "F16", "BF16", "I8", "U8"
        let shape: [Int]
        let byteCount: Int
    }

    let path: String
    let entries: [Entry]
    /// Byte offset of each entry's data in the file (header included).
    private(set) var fileOffsets: [Int] = []
    private(set) var fileSize = 0
    private var fd: Int32 = -1
    private var written: [Int]

    /// Creates `path` (which must not exist) and writes its header.
    init(path: String, entries: [Entry], metadata: [(String, String)]) throws(XLSTMError) {
        self.path = path
        self.entries = entries
        written = Array(repeating: 0, count: entries.count)
        var header: [(String, JSON)] = []
        if !metadata.isEmpty {
            header.append(("__metadata__", .object(metadata.map { ($0.0, JSON.string($0.1)) })))
        }
        var offset = 0
        var dataOffsets: [Int] = []
        for entry in entries {
            header.append((entry.name, .object([
                ("dtype", .string(entry.dtype)),
                ("shape", .array(entry.shape.map { .int(Int64($0)) })),
                ("data_offsets", .array([.int(Int64(offset)), .int(Int64(offset + entry.byteCount))])),
            ])))
            dataOffsets.append(offset)
            offset += entry.byteCount
        }
        var text = Array(JSON.object(header).serialized().utf8)
        while (8 + text.count) % 64 != 0 { text.append(0x20) }
        let dataStart = 8 + text.count
        fileOffsets = dataOffsets.map { $0 + dataStart }
        fileSize = dataStart + offset
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw XLSTMError(.io, "\(path): cannot create (\(errnoString()))") }
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(text.count) >> (8 * UInt64(i))) }
        do throws(XLSTMError) {
            let head = prefix + text
            try head.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try pwriteAll(raw, at: 0) } }.get()
            // Size the file now: a full disk shows up as an error here or at the first write.
            guard ftruncate(fd, off_t(fileSize)) == 0 else {
                throw XLSTMError(.io, "\(path): cannot extend to \(fileSize) bytes (\(errnoString()))")
            }
        } catch {
            close(fd)
            fd = -1
            throw error
        }
    }

    /// Writes `bytes` into entry `index` at byte `offset` within the entry's data.
    mutating func write(_ index: Int, at offset: Int, _ bytes: UnsafeRawBufferPointer) throws(XLSTMError) {
        precondition(offset >= 0 && offset + bytes.count <= entries[index].byteCount, "write past the tensor's data")
        try pwriteAll(bytes, at: fileOffsets[index] + offset)
        written[index] += bytes.count
    }

    private func pwriteAll(_ bytes: UnsafeRawBufferPointer, at position: Int) throws(XLSTMError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw XLSTMError(.io, "\(path): cannot write (\(errnoString()))") }
            done += n
        }
    }

    /// Checks every tensor was written in full, flushes the file to disk and closes it.
    mutating func finish() throws(XLSTMError) {
        defer { if fd >= 0 { close(fd); fd = -1 } }
        for (i, entry) in entries.enumerated() where written[i] != entry.byteCount {
            throw XLSTMError(.io, "\(path): tensor '\(entry.name)': \(written[i]) of \(entry.byteCount) bytes written")
        }
        guard fsync(fd) == 0 else { throw XLSTMError(.io, "\(path): cannot flush to disk (\(errnoString()))") }
        guard close(fd) == 0 else { fd = -1; throw XLSTMError(.io, "\(path): cannot close (\(errnoString()))") }
        fd = -1
    }

    /// Closes the file without checks (after an error; the caller removes it).
    mutating func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
    }
}

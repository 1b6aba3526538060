// A read-only memory mapping of a whole file. Small tensors and token embeddings are views into
// these mappings (weight matrices are repacked at load): the model keeps its MappedFile objects
// alive for as long as any view may be read.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The mapped bytes (count == file size). Immutable for the object's lifetime.
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(XLSTMError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw XLSTMError(.io, "\(path): cannot open (\(errnoString()))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw XLSTMError(.io, "\(path): cannot stat (\(errnoString()))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw XLSTMError(.io, "\(path): not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw XLSTMError(.io, "\(path): cannot map \(size) bytes (\(errnoString()))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Drops the whole pages inside `range` (a part of `bytes`) from this process's memory: for
    /// tensors that were copied (repacked) and will not be read here again. Reading them later is
    /// still correct — the pages come back from the file.
    func dropPages(_ range: UnsafeRawBufferPointer) {
        guard let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(address, end - first, Int32(MADV_DONTNEED))
    }
}

/// Reads a small file (config, index) whole into a byte array.
func readSmallFile(_ path: String, limit: Int = 64 << 20) throws(XLSTMError) -> [UInt8] {
    let file = try MappedFile(path: path)
    guard file.bytes.count <= limit else {
        throw XLSTMError(.invalidModel, "\(path): \(file.bytes.count) bytes is too large for this kind of file")
    }
    return Array(file.bytes)
}

func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}

func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

func errnoString() -> String {
    String(cString: strerror(errno))
}

func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

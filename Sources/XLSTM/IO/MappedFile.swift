// A read-only view of a whole file: memory-mapped by default, or read into private memory. Small
// tensors and token embeddings are views into these (weight matrices are repacked at load): the
// model keeps its MappedFile objects alive for as long as any view may be read.
//
// What a mapping implies (README "Reliability"): the pages are the file's. Replacing the file by
// rename (how installers and downloaders replace files) leaves the mapping on the old inode, so a
// loaded model is unaffected. But truncating the file while it is mapped makes reads of the lost
// pages raise SIGBUS, and overwriting it in place (`cp` over it, a partial download into the same
// file) changes the mapped tensors under a running model silently. `LoadMode.copy` reads the file
// into private memory instead and is immune to both; `LoadMode.lock` keeps the mapping but
// mlock(2)s it (no page faults, no disk reads during inference), which does NOT protect against
// truncation.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a model's files are brought into memory.
public enum LoadMode: Sendable {
    /// mmap(2), shared with the page cache (the default: no copy, pages loaded on demand).
    case map
    /// Read into private anonymous memory: later changes to the file cannot reach the model.
    case copy
    /// mmap(2) + mlock(2): every page resident for the model's life (fails under RLIMIT_MEMLOCK).
    case lock
}

public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The mapped bytes (count == file size). Immutable for the object's lifetime.
    public let bytes: UnsafeRawBufferPointer
    private let locked: Bool
    /// Whether `bytes` is a mapping of the file (not a private copy).
    private let mapped: Bool

    /// `tooLarge`: the error for a file of more than `maxSize` bytes, thrown before anything is mapped or read.
    public init(path: String, mode: LoadMode = .map, maxSize: Int = Int.max,
                tooLarge: (Int) -> XLSTMError = { XLSTMError(.invalidModel, "too large (\($0) bytes)") }) throws(XLSTMError) {
        locked = mode == .lock
        mapped = mode != .copy
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
        guard size <= maxSize else { throw tooLarge(size) }
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        if mode == .copy {
            guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  address != MAP_FAILED else {
                throw XLSTMError(errno == ENOMEM ? .outOfMemory : .io,
                                 "\(path): cannot allocate \(size) bytes to copy it into (\(errnoString()))")
            }
            var offset = 0
            while offset < size {
                let n = pread(fd, address + offset, size - offset, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let why = n == 0 ? "the file shrank while being read" : errnoString()
                    munmap(address, size)
                    throw XLSTMError(.io, "\(path): cannot read \(size) bytes (\(why))")
                }
                offset += n
            }
            mprotect(address, size, PROT_READ)
            bytes = UnsafeRawBufferPointer(start: address, count: size)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            // ENOMEM: no address space left for it (`ulimit -v`), not a file problem.
            throw XLSTMError(errno == ENOMEM ? .outOfMemory : .io, "\(path): cannot map \(size) bytes (\(errnoString()))")
        }
        if mode == .lock, mlock(address, size) != 0 {
            let why = errnoString()
            munmap(address, size)
            throw XLSTMError(.io, "\(path): cannot lock \(size) bytes in memory (\(why); see RLIMIT_MEMLOCK, ulimit -l)")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            if locked { munlock(base, bytes.count) }
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    /// Drops the whole pages inside `range` (a part of `bytes`) from this process's memory: for
    /// tensors that were copied (repacked) and will not be read here again. Reading them later is
    /// still correct — the pages come back from the file.
    /// Only for a plain mapping: a private copy's pages would come back as zeros, and locked ones
    /// stay locked.
    func dropPages(_ range: UnsafeRawBufferPointer) {
        guard mapped, !locked, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(address, end - first, Int32(MADV_DONTNEED))
    }
}

/// Reads a small file (config, index) whole into a byte array: the size is checked first, and the
/// bytes are read, not mapped (a file truncated meanwhile gives an error, never SIGBUS).
func readSmallFile(_ path: String, limit: Int = 64 << 20) throws(XLSTMError) -> [UInt8] {
    let file = try MappedFile(path: path, mode: .copy, maxSize: limit, tooLarge: {
        XLSTMError(.invalidModel, "\(path): \($0) bytes is too large for this kind of file")
    })
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

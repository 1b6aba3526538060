// Errors raised by the engine. Each carries a kind (mapped 1:1 onto the C ABI's status enum by the
// C layer) and a one-line message that names the file and tensor involved where there is one.

public struct XLSTMError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A file could not be opened, read or mapped.
        case io
        /// A file was read but its contents are not what the format requires.
        case invalidModel
        /// A caller-supplied argument is out of range (token id, buffer size, option value).
        case invalidArgument
        /// The model uses a feature this runtime does not implement.
        case unsupported
        /// A token id is outside [0, vocab size).
        case tokenOutOfRange
        /// A caller-supplied buffer is too small; the message says how many bytes are needed.
        case bufferTooSmall
        /// A state blob was saved from a different model.
        case stateMismatch
        /// A state blob has a format version this runtime does not read.
        case stateVersion
        /// A state blob is truncated or damaged (bad magic, sizes or checksum).
        case stateCorrupt
        /// Logits were asked for but the last feed did not compute them (or nothing was fed).
        case noLogits
        /// A long operation (quantization) was cancelled by its progress callback.
        case cancelled
        /// Memory for weight panels, a session or a feed's scratch could not be obtained (the system
        /// refused it: `ulimit -v`, strict overcommit). Nothing was changed.
        case outOfMemory
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory that scales with the model or the feed (weight panels, widened tensors, a session's
/// state, a feed's scratch) comes from here, not from Swift's `allocate`, which stops the process
/// when the system refuses (`ulimit -v`, strict overcommit): this throws `.outOfMemory` naming
/// `what` instead, before anything was changed. 64-byte aligned, uninitialised; release with `free`.
func systemAllocate(bytes: Int, for what: @autoclosure () -> String) throws(XLSTMError) -> UnsafeMutableRawPointer {
    var memory: UnsafeMutableRawPointer?
    guard bytes >= 0, posix_memalign(&memory, 64, max(bytes, 64)) == 0, let memory else {
        throw XLSTMError(.outOfMemory, "out of memory: the system refused \(bytes) bytes for \(what())")
    }
    return memory
}

/// `systemAllocate` for `count` values of `T`.
func systemAllocate<T>(_: T.Type, count: Int, for what: @autoclosure () -> String) throws(XLSTMError)
    -> UnsafeMutablePointer<T> {
    let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard !overflow else { throw XLSTMError(.outOfMemory, "out of memory: \(count) values for \(what()) overflow the address space") }
    return try systemAllocate(bytes: bytes, for: what()).bindMemory(to: T.self, capacity: max(count, 1))
}

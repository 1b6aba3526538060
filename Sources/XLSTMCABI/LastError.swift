// The thread-local last error message and the mapping from engine errors to statuses.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// Per-thread storage of the last error message as a malloc'd C string (freed when replaced and
/// when the thread exits).
final class LastError: Sendable {
    static let shared = LastError()
    private let key: pthread_key_t

    private init() {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in free(pointer) }
        self.key = key
    }

    func set(_ message: String) {
        let copy = strdup(message)
        let old = pthread_getspecific(key)
        pthread_setspecific(key, copy)
        free(old)
    }

    /// The message, or "" when this thread has had no error.
    func current() -> UnsafePointer<CChar> {
        if let pointer = pthread_getspecific(key) { return UnsafePointer(pointer.assumingMemoryBound(to: CChar.self)) }
        return emptyMessage
    }
}

private var emptyMessage: UnsafePointer<CChar> {
    UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}

extension xlstm_status {
    init(_ kind: XLSTMError.Kind) {
        switch kind {
        case .io: self = .XLSTM_ERROR_IO
        case .invalidModel: self = .XLSTM_ERROR_INVALID_MODEL
        case .invalidArgument: self = .XLSTM_ERROR_INVALID_ARGUMENT
        case .unsupported: self = .XLSTM_ERROR_UNSUPPORTED
        case .tokenOutOfRange: self = .XLSTM_ERROR_TOKEN_OUT_OF_RANGE
        case .bufferTooSmall: self = .XLSTM_ERROR_BUFFER_TOO_SMALL
        case .stateMismatch: self = .XLSTM_ERROR_STATE_MISMATCH
        case .stateVersion: self = .XLSTM_ERROR_STATE_VERSION
        case .stateCorrupt: self = .XLSTM_ERROR_STATE_CORRUPT
        case .noLogits: self = .XLSTM_ERROR_NO_LOGITS
        case .cancelled: self = .XLSTM_ERROR_CANCELLED
        case .outOfMemory: self = .XLSTM_ERROR_OUT_OF_MEMORY
        }
    }
}

/// Records `message` as this thread's last error and returns `status` as the C value.
func failure(_ status: xlstm_status, _ message: String) -> CEnumValue<xlstm_status> {
    LastError.shared.set(message)
    return status.rawValue
}

func failure(_ error: XLSTMError) -> CEnumValue<xlstm_status> {
    failure(xlstm_status(error.kind), error.message)
}

func argumentError(_ message: String) -> CEnumValue<xlstm_status> {
    failure(.XLSTM_ERROR_INVALID_ARGUMENT, message)
}

let ok = xlstm_status.XLSTM_OK.rawValue

/// Runs `body`, turning a thrown engine error into its status and message.
@inline(__always)
func guarded(_ body: () throws(XLSTMError) -> Void) -> CEnumValue<xlstm_status> {
    do {
        try body()
        return ok
    } catch {
        return failure(error)
    }
}

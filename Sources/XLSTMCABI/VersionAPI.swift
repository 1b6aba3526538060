// Versions, status strings and the last error.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// The C API version of the loaded library. Compare with `XLSTM_API_VERSION` from the header the
/// program was compiled with. Thread-safe.
@c public func xlstm_api_version() -> Int32 {
    XLSTM_API_VERSION
}

/// The library version as "MAJOR.MINOR.PATCH" (the XLSTM_VERSION_* of the library, which may differ
/// from the header's). The string is static: never free it. Thread-safe.
@c public func xlstm_version_string() -> UnsafePointer<CChar> {
    VersionString.pointer
}

/// "MAJOR.MINOR.PATCH" built once from the version constants (a lazily initialised static: thread-safe).
enum VersionString {
    nonisolated(unsafe) static let pointer: UnsafePointer<CChar> = {
        UnsafePointer(strdup("\(XLSTM_VERSION_MAJOR).\(XLSTM_VERSION_MINOR).\(XLSTM_VERSION_PATCH)")!)
    }()
}

/// A short static English description of `status` ("ok", "token out of range", …); "unknown status"
/// for a value this library does not define. Never NULL, never freed. Thread-safe.
@c public func xlstm_status_string(_ status: CEnumValue<xlstm_status>) -> UnsafePointer<CChar> {
    switch xlstm_status(rawValue: status) {
    case .XLSTM_OK?: return staticCString("ok")
    case .XLSTM_ERROR_INVALID_ARGUMENT?: return staticCString("invalid argument")
    case .XLSTM_ERROR_IO?: return staticCString("input/output error")
    case .XLSTM_ERROR_INVALID_MODEL?: return staticCString("invalid model")
    case .XLSTM_ERROR_UNSUPPORTED?: return staticCString("unsupported model feature")
    case .XLSTM_ERROR_TOKEN_OUT_OF_RANGE?: return staticCString("token out of range")
    case .XLSTM_ERROR_BUFFER_TOO_SMALL?: return staticCString("buffer too small")
    case .XLSTM_ERROR_STATE_MISMATCH?: return staticCString("state from a different model")
    case .XLSTM_ERROR_STATE_VERSION?: return staticCString("unsupported state format version")
    case .XLSTM_ERROR_STATE_CORRUPT?: return staticCString("corrupt state")
    case .XLSTM_ERROR_NO_LOGITS?: return staticCString("no logits")
    case .XLSTM_ERROR_CANCELLED?: return staticCString("cancelled")
    case .XLSTM_ERROR_OUT_OF_MEMORY?: return staticCString("out of memory")
    case nil: return staticCString("unknown status")
    }
}

/// The message of the last failed call on the calling thread (one line, naming the file, tensor or
/// argument involved), or "" if none failed yet. Valid until the next failing call on this thread;
/// never freed by the caller. Successful calls leave it unchanged. Thread-safe (per-thread).
@c public func xlstm_last_error_message() -> UnsafePointer<CChar> {
    LastError.shared.current()
}

@inline(__always)
func staticCString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}

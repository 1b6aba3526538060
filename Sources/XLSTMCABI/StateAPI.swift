// Session state: save to / load from a caller buffer or a file (format: README "State blobs").

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// Bytes needed by `xlstm_session_save_state` (fixed per model; 0 for NULL).
@c public func xlstm_session_state_size(_ session: ConstHandle<xlstm_session>?) -> UInt {
    guard let box = borrowed(session, as: SessionBox.self) else { return 0 }
    return UInt(StateBlob.size(for: box.session.model))
}

/// Saves the session (recurrent state, token count, last logits) into `buffer` of `capacity` bytes;
/// `*written` (may be NULL) receives the byte count. Returns XLSTM_ERROR_BUFFER_TOO_SMALL if
/// `capacity` < `xlstm_session_state_size(session)`. The session is not changed.
@c public func xlstm_session_save_state(_ session: ConstHandle<xlstm_session>?, _ buffer: UnsafeMutableRawPointer?,
                                        _ capacity: UInt, _ written: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    written?.pointee = 0
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_save_state: session is NULL") }
    guard let buffer else { return argumentError("xlstm_session_save_state: buffer is NULL") }
    return guarded { () throws(XLSTMError) in
        let count = try StateBlob.save(box.session,
                                       into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(clamping: capacity)))
        written?.pointee = UInt(count)
    }
}

/// Restores a state saved by `xlstm_session_save_state` from `size` bytes at `buffer`. A blob from
/// another model gives XLSTM_ERROR_STATE_MISMATCH, another format version XLSTM_ERROR_STATE_VERSION,
/// a truncated or damaged one XLSTM_ERROR_STATE_CORRUPT; in every error case the session is left
/// exactly as it was. Invalidates pointers from `xlstm_session_logits`.
@c public func xlstm_session_load_state(_ session: Handle<xlstm_session>?, _ buffer: UnsafeRawPointer?,
                                        _ size: UInt) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_load_state: session is NULL") }
    guard let buffer else { return argumentError("xlstm_session_load_state: buffer is NULL") }
    return guarded { () throws(XLSTMError) in
        try StateBlob.load(UnsafeRawBufferPointer(start: buffer, count: Int(clamping: size)), into: box.session)
    }
}

/// Saves the session's state to the file `path`, replacing it atomically (written to a temporary
/// file in the same directory, then renamed). The session is not changed.
@c public func xlstm_session_save_state_file(_ session: ConstHandle<xlstm_session>?,
                                             _ path: UnsafePointer<CChar>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_save_state_file: session is NULL") }
    guard let path else { return argumentError("xlstm_session_save_state_file: path is NULL") }
    let target = String(cString: path)
    let size = StateBlob.size(for: box.session.model)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    defer { buffer.deallocate() }
    return guarded { () throws(XLSTMError) in
        let count = try StateBlob.save(box.session, into: buffer)
        try writeFileAtomically(target, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }
}

/// Restores a state from a file written by `xlstm_session_save_state_file` (or any file holding a
/// blob). Errors as `xlstm_session_load_state`, plus XLSTM_ERROR_IO; the session is unchanged on error.
@c public func xlstm_session_load_state_file(_ session: Handle<xlstm_session>?,
                                             _ path: UnsafePointer<CChar>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_load_state_file: session is NULL") }
    guard let path else { return argumentError("xlstm_session_load_state_file: path is NULL") }
    return guarded { () throws(XLSTMError) in
        let file = try MappedFile(path: String(cString: path))
        do throws(XLSTMError) {
            try StateBlob.load(file.bytes, into: box.session)
        } catch {
            throw XLSTMError(error.kind, "\(file.path): \(error.message)")
        }
    }
}

/// Writes `bytes` to `path` via a temporary file in the same directory and rename(2).
func writeFileAtomically(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(XLSTMError) {
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw XLSTMError(.io, "\(path): cannot create \(temporary) (\(String(cString: strerror(errno))))") }
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw XLSTMError(.io, "\(path): write failed (\(reason))")
        }
        offset += n
    }
    if fsync(fd) != 0 || close(fd) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw XLSTMError(.io, "\(path): write failed (\(reason))")
    }
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw XLSTMError(.io, "\(path): cannot rename \(temporary) into place (\(reason))")
    }
}

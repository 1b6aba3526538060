// Session state: save to / load from a caller buffer or a file (format: README "State blobs").

import XLSTM

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
    return guarded { () throws(XLSTMError) in try StateBlob.save(box.session, toFile: String(cString: path)) }
}

/// Restores a state from a file written by `xlstm_session_save_state_file` (or any file holding a
/// blob). Errors as `xlstm_session_load_state`, plus XLSTM_ERROR_IO; the session is unchanged on error.
@c public func xlstm_session_load_state_file(_ session: Handle<xlstm_session>?,
                                             _ path: UnsafePointer<CChar>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_load_state_file: session is NULL") }
    guard let path else { return argumentError("xlstm_session_load_state_file: path is NULL") }
    return guarded { () throws(XLSTMError) in try StateBlob.load(fromFile: String(cString: path), into: box.session) }
}


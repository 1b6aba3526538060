// Sessions: create, free, reset, clone, feed, logits.

import XLSTM

/// Creates a session of `model` in the initial (empty-history) state; `*session` receives it, to be
/// released with `xlstm_session_free`. The session holds a reference to the model.
/// On failure `*session` is set to NULL: XLSTM_ERROR_OUT_OF_MEMORY when the system refuses the
/// session's state (`xlstm_memory_info.session_bytes`). Thread-safe with respect to the model.
@c public func xlstm_session_create(_ model: ConstHandle<xlstm_model>?,
                                    _ session: UnsafeMutablePointer<Handle<xlstm_session>?>?) -> CEnumValue<xlstm_status> {
    guard let session else { return argumentError("xlstm_session_create: session (the output pointer) is NULL") }
    session.pointee = nil
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_session_create: model is NULL") }
    return guarded { () throws(XLSTMError) in
        session.pointee = retained(SessionBox(session: try Session(model: box.model), modelBox: box))
    }
}

/// Releases a session and its state. NULL is ignored. Not to be called twice on the same pointer.
@c public func xlstm_session_free(_ session: Handle<xlstm_session>?) {
    release(session, as: SessionBox.self)
}

/// Returns the session's model (borrowed: not to be freed; valid while the session lives), or NULL
/// for a NULL session.
@c public func xlstm_session_model(_ session: ConstHandle<xlstm_session>?) -> ConstHandle<xlstm_model>? {
    guard let box = borrowed(session, as: SessionBox.self) else { return nil }
    return OpaquePointer(Unmanaged.passUnretained(box.modelBox).toOpaque())
}

/// Returns the session to the initial state (no tokens consumed, no logits).
@c public func xlstm_session_reset(_ session: Handle<xlstm_session>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_reset: session is NULL") }
    box.session.reset()
    return ok
}

/// Forks a session: `*clone` receives a new session with a copy of the state, token count and logits
/// of `session`, which is unchanged. Release the clone with `xlstm_session_free`. On failure
/// (XLSTM_ERROR_OUT_OF_MEMORY) `*clone` is NULL.
@c public func xlstm_session_clone(_ session: ConstHandle<xlstm_session>?,
                                   _ clone: UnsafeMutablePointer<Handle<xlstm_session>?>?) -> CEnumValue<xlstm_status> {
    guard let clone else { return argumentError("xlstm_session_clone: clone (the output pointer) is NULL") }
    clone.pointee = nil
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_clone: session is NULL") }
    return guarded { () throws(XLSTMError) in
        clone.pointee = retained(SessionBox(session: try box.session.clone(), modelBox: box.modelBox))
    }
}

/// Copies the state, token count and logits of `source` into `destination` without allocating: the
/// way to snapshot and roll back. The sessions must belong to the same model (or to two loads of the
/// same model: equal fingerprints), else XLSTM_ERROR_STATE_MISMATCH. On error `destination` is unchanged.
@c public func xlstm_session_copy_state(_ destination: Handle<xlstm_session>?,
                                        _ source: ConstHandle<xlstm_session>?) -> CEnumValue<xlstm_status> {
    guard let target = borrowed(destination, as: SessionBox.self) else {
        return argumentError("xlstm_session_copy_state: destination is NULL")
    }
    guard let origin = borrowed(source, as: SessionBox.self) else { return argumentError("xlstm_session_copy_state: source is NULL") }
    let a = target.session.model, b = origin.session.model
    guard a.fingerprint == b.fingerprint, a.stateCount == b.stateCount, a.vocabSize == b.vocabSize else {
        return failure(.XLSTM_ERROR_STATE_MISMATCH, "xlstm_session_copy_state: the sessions belong to different models")
    }
    if target !== origin { target.session.copyState(from: origin.session) }
    return ok
}

/// Feeds one token and computes the logits of the next one (`xlstm_session_logits`).
/// A token outside [0, vocab_size) returns XLSTM_ERROR_TOKEN_OUT_OF_RANGE and leaves the session
/// unchanged. Invalidates pointers from `xlstm_session_logits`.
@c public func xlstm_session_feed_token(_ session: Handle<xlstm_session>?, _ token: Int32) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_feed_token: session is NULL") }
    return guarded { () throws(XLSTMError) in try box.session.feed(token) }
}

/// Feeds `n_tokens` tokens in order. With XLSTM_LOGITS_LAST the logits after the last token are
/// computed; with XLSTM_LOGITS_NONE none are (cheaper for a prompt prefix). Every id is checked
/// first: if any is out of range nothing is consumed and the session is unchanged.
/// Two or more tokens are processed in parallel (chunkwise mLSTM, matrix–matrix projections): the
/// result equals feeding them one by one with `xlstm_session_feed_token` up to float rounding
/// (about 1e-6 relative), not bit for bit; a single token takes the step path and is bit-identical.
/// `n_tokens` may be 0 (nothing happens). Invalidates pointers from `xlstm_session_logits`.
/// The first span feed on a thread takes its prefill scratch (`xlstm_memory_info`); if the system
/// refuses it, XLSTM_ERROR_OUT_OF_MEMORY and the session is unchanged (so for every feed and batch).
@c public func xlstm_session_feed_tokens(_ session: Handle<xlstm_session>?, _ tokens: UnsafePointer<Int32>?,
                                         _ n_tokens: UInt, _ mode: CEnumValue<xlstm_logits_mode>) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_feed_tokens: session is NULL") }
    guard let logitsMode = xlstm_logits_mode(rawValue: mode) else {
        return argumentError("xlstm_session_feed_tokens: unknown logits mode \(mode)")
    }
    if n_tokens == 0 { return ok }
    guard let tokens else { return argumentError("xlstm_session_feed_tokens: tokens is NULL") }
    guard n_tokens <= UInt(Int.max / 4) else { return argumentError("xlstm_session_feed_tokens: n_tokens is too large") }
    return guarded { () throws(XLSTMError) in
        try box.session.feed(UnsafeBufferPointer(start: tokens, count: Int(n_tokens)),
                             computeLogits: logitsMode == .XLSTM_LOGITS_LAST)
    }
}

/// The logits after the last token fed, vocab_size floats, or NULL if the last feed computed none
/// (or nothing was fed, or `session` is NULL). The buffer belongs to the session and stays at the same
/// address for the session's whole life; its contents change with every feed, reset and state load,
/// and it is freed with the session.
@c public func xlstm_session_logits(_ session: ConstHandle<xlstm_session>?) -> UnsafePointer<Float>? {
    guard let box = borrowed(session, as: SessionBox.self), box.session.hasLogits else { return nil }
    return UnsafePointer(box.session.logits.baseAddress)
}

/// Copies the logits after the last token fed into `logits`, which holds `n_floats` floats
/// (at least vocab_size). Returns XLSTM_ERROR_NO_LOGITS if there are none and
/// XLSTM_ERROR_BUFFER_TOO_SMALL if the buffer is smaller than vocab_size.
@c public func xlstm_session_copy_logits(_ session: ConstHandle<xlstm_session>?, _ logits: UnsafeMutablePointer<Float>?,
                                         _ n_floats: UInt) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_session_copy_logits: session is NULL") }
    guard let logits else { return argumentError("xlstm_session_copy_logits: logits is NULL") }
    let s = box.session
    guard s.hasLogits else { return failure(.XLSTM_ERROR_NO_LOGITS, "xlstm_session_copy_logits: the last feed computed no logits") }
    guard n_floats >= UInt(s.logits.count) else {
        return failure(.XLSTM_ERROR_BUFFER_TOO_SMALL,
                       "xlstm_session_copy_logits: buffer holds \(n_floats) floats, \(s.logits.count) needed")
    }
    logits.update(from: s.logits.baseAddress!, count: s.logits.count)
    return ok
}

/// Tokens consumed since the initial state (or as restored from a state blob); -1 for NULL.
@c public func xlstm_session_n_tokens(_ session: ConstHandle<xlstm_session>?) -> Int64 {
    guard let box = borrowed(session, as: SessionBox.self) else { return -1 }
    return Int64(box.session.tokenCount)
}

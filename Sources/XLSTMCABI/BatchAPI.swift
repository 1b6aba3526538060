// Batches: one token (or a span of tokens) for each of N sessions of one model, each weight read
// once per pass (Batch.swift, BatchPrefill.swift).

import XLSTM

/// Feeds `tokens[i]` to `sessions[i]` for i in [0, n): one decode step for N sessions of the same
/// model in one pass over the weights (matrix–matrix products over the N rows; each session's
/// recurrent state advances on its own; the sessions may be at any positions). With
/// XLSTM_LOGITS_LAST each session's logits are computed (`xlstm_session_logits`); with
/// XLSTM_LOGITS_NONE none are.
///
/// Everything is checked before anything runs: `sessions` and `tokens` non-NULL (when n > 0), no
/// NULL session, every session created from the same `xlstm_model` handle's load, no session twice,
/// every token in [0, vocab_size). On failure (XLSTM_ERROR_INVALID_ARGUMENT, or
/// XLSTM_ERROR_TOKEN_OUT_OF_RANGE; the message names the index) no session is changed.
///
/// Results: a session's logits and state are bit-identical whatever n is and whichever other
/// sessions are in the batch, and on any n_threads; they equal feeding its token with
/// `xlstm_session_feed_token` up to float rounding (about 1e-6 relative; not bit for bit — the
/// projections are summed in another order). A batch of one runs at about a step's speed (README
/// "Crowds"); for a single session `xlstm_session_feed_token` is the call. n = 0 does nothing. Allocates nothing once the calling thread's batch scratch has grown to
/// n sessions (see `xlstm_memory_info`).
///
/// Threads: the call uses the model's pool (see `xlstm_model`). The sessions must not be used by
/// another thread during the call; other threads may feed other sessions of the same model, alone
/// or in batches, at the same time. Invalidates pointers from `xlstm_session_logits` of the sessions.
@c public func xlstm_batch_feed(_ sessions: UnsafePointer<Handle<xlstm_session>?>?, _ tokens: UnsafePointer<Int32>?,
                                _ n: UInt, _ mode: CEnumValue<xlstm_logits_mode>) -> CEnumValue<xlstm_status> {
    guard let logitsMode = xlstm_logits_mode(rawValue: mode) else {
        return argumentError("xlstm_batch_feed: unknown logits mode \(mode)")
    }
    if n == 0 { return ok }
    guard let sessions else { return argumentError("xlstm_batch_feed: sessions is NULL") }
    guard let tokens else { return argumentError("xlstm_batch_feed: tokens is NULL") }
    guard n <= UInt(Int32.max) else { return argumentError("xlstm_batch_feed: n is too large (\(n))") }
    let count = Int(n)
    for i in 0..<count where sessions[i] == nil {
        return argumentError("xlstm_batch_feed: session \(i) is NULL")
    }
    let first = borrowed(sessions[0], as: SessionBox.self)!
    for i in 1..<max(count, 1) where borrowed(sessions[i], as: SessionBox.self)!.modelBox !== first.modelBox {
        return argumentError("xlstm_batch_feed: session \(i) belongs to another xlstm_model than session 0 "
                             + "(a batch needs sessions of one loaded model)")
    }
    return guarded { () throws(XLSTMError) in
        do throws(XLSTMError) {
            try first.session.model.feedBatch(count: count, sessions: { borrowed(sessions[$0], as: SessionBox.self)!.session },
                                              tokens: { tokens[$0] }, computeLogits: logitsMode == .XLSTM_LOGITS_LAST)
        } catch {
            throw XLSTMError(error.kind, "xlstm_batch_feed: \(error.message)")
        }
    }
}

/// Feeds `n_tokens[i]` tokens from `tokens[i]` to `sessions[i]` for i in [0, n): a prompt (or any
/// span) for each of N sessions of the same model in one pass over the weights per window — the
/// spans laid end to end, every projection one matrix–matrix product over all their rows, each
/// session's recurrent state advancing along its own span. Spans may have any lengths (a session
/// with n_tokens[i] = 0 is left as it is, logits included); sessions may be at any positions. With
/// XLSTM_LOGITS_LAST each fed session's logits after its last token are computed
/// (`xlstm_session_logits`); with XLSTM_LOGITS_NONE none are.
///
/// Everything is checked before anything runs: `sessions`, `tokens` and `n_tokens` non-NULL (when
/// n > 0), no NULL session, `tokens[i]` non-NULL where n_tokens[i] > 0, every session created from
/// the same `xlstm_model` handle's load, no session twice, every token in [0, vocab_size). On failure
/// (XLSTM_ERROR_INVALID_ARGUMENT, or XLSTM_ERROR_TOKEN_OUT_OF_RANGE; the message names the session
/// index and the position) no session is changed.
///
/// Results equal feeding each span with `xlstm_session_feed_tokens` up to float rounding (about
/// 1e-6 relative). Many short prompts gain the most: 16 prompts of 20 tokens read each weight
/// once, as one 320-token prompt does, instead of 16 times. n = 0 does nothing. Allocates nothing
/// once the calling thread's prefill and batch scratch have grown (see `xlstm_memory_info`).
///
/// Threads: as `xlstm_batch_feed`. Invalidates pointers from `xlstm_session_logits` of the sessions.
@c public func xlstm_batch_feed_tokens(_ sessions: UnsafePointer<Handle<xlstm_session>?>?,
                                       _ tokens: UnsafePointer<UnsafePointer<Int32>?>?, _ n_tokens: UnsafePointer<UInt>?,
                                       _ n: UInt, _ mode: CEnumValue<xlstm_logits_mode>) -> CEnumValue<xlstm_status> {
    guard let logitsMode = xlstm_logits_mode(rawValue: mode) else {
        return argumentError("xlstm_batch_feed_tokens: unknown logits mode \(mode)")
    }
    if n == 0 { return ok }
    guard let sessions else { return argumentError("xlstm_batch_feed_tokens: sessions is NULL") }
    guard let tokens else { return argumentError("xlstm_batch_feed_tokens: tokens is NULL") }
    guard let n_tokens else { return argumentError("xlstm_batch_feed_tokens: n_tokens is NULL") }
    guard n <= UInt(Int32.max) else { return argumentError("xlstm_batch_feed_tokens: n is too large (\(n))") }
    let count = Int(n)
    var total: UInt = 0
    for i in 0..<count {
        guard sessions[i] != nil else { return argumentError("xlstm_batch_feed_tokens: session \(i) is NULL") }
        guard n_tokens[i] <= UInt(Int.max / 4) - total else {
            return argumentError("xlstm_batch_feed_tokens: n_tokens[\(i)] is too large (\(n_tokens[i]))")
        }
        total += n_tokens[i]
        guard n_tokens[i] == 0 || tokens[i] != nil else {
            return argumentError("xlstm_batch_feed_tokens: tokens[\(i)] is NULL but n_tokens[\(i)] is \(n_tokens[i])")
        }
    }
    let first = borrowed(sessions[0], as: SessionBox.self)!
    for i in 1..<max(count, 1) where borrowed(sessions[i], as: SessionBox.self)!.modelBox !== first.modelBox {
        return argumentError("xlstm_batch_feed_tokens: session \(i) belongs to another xlstm_model than session 0 "
                             + "(a batch needs sessions of one loaded model)")
    }
    return guarded { () throws(XLSTMError) in
        do throws(XLSTMError) {
            try first.session.model.feedBatch(count: count, sessions: { borrowed(sessions[$0], as: SessionBox.self)!.session },
                                              spans: { UnsafeBufferPointer(start: tokens[$0], count: Int(n_tokens[$0])) },
                                              computeLogits: logitsMode == .XLSTM_LOGITS_LAST)
        } catch {
            throw XLSTMError(error.kind, "xlstm_batch_feed_tokens: \(error.message)")
        }
    }
}

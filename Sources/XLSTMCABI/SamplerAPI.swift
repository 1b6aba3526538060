// Samplers: seeded, deterministic token selection with penalties.

import XLSTM

/// Writes the default sampler options into `*params`: seed 0, temperature 0.8, top_k 40, top_p 0.95,
/// min_p 0.05, no penalties, penalty_window 64. Thread-safe.
@c public func xlstm_sampler_default_params(_ params: StructPointer<xlstm_sampler_params>?) -> CEnumValue<xlstm_status> {
    guard let params else { return argumentError("xlstm_sampler_default_params: params is NULL") }
    params.storeBytes(of: cParams(SamplerParameters()), as: xlstm_sampler_params.self)
    return ok
}

/// Writes the options `sampler` samples with into `*params` (those it was created with, or those of
/// the last state it loaded). The sampler is not changed.
@c public func xlstm_sampler_get_params(_ sampler: ConstHandle<xlstm_sampler>?,
                                        _ params: StructPointer<xlstm_sampler_params>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_get_params: sampler is NULL") }
    guard let params else { return argumentError("xlstm_sampler_get_params: params is NULL") }
    params.storeBytes(of: cParams(s.parameters), as: xlstm_sampler_params.self)
    return ok
}

func cParams(_ d: SamplerParameters) -> xlstm_sampler_params {
    xlstm_sampler_params(
        seed: d.seed, temperature: d.temperature, top_k: Int32(d.topK), top_p: d.topP, min_p: d.minP,
        repetition_penalty: d.repetitionPenalty, presence_penalty: d.presencePenalty,
        penalty_window: Int32(d.penaltyWindow), reserved: 0)
}

/// Creates a sampler; `*sampler` receives it, to be released with `xlstm_sampler_free`. `params` may be
/// NULL for the defaults. Out-of-range options give XLSTM_ERROR_INVALID_ARGUMENT and `*sampler` = NULL.
@c public func xlstm_sampler_create(_ params: ConstStructPointer<xlstm_sampler_params>?,
                                    _ sampler: UnsafeMutablePointer<Handle<xlstm_sampler>?>?) -> CEnumValue<xlstm_status> {
    guard let sampler else { return argumentError("xlstm_sampler_create: sampler (the output pointer) is NULL") }
    sampler.pointee = nil
    var options = SamplerParameters()
    if let params {
        let p = params.loadUnaligned(as: xlstm_sampler_params.self)
        options.seed = p.seed
        options.temperature = p.temperature
        options.topK = Int(p.top_k)
        options.topP = p.top_p
        options.minP = p.min_p
        options.repetitionPenalty = p.repetition_penalty
        options.presencePenalty = p.presence_penalty
        options.penaltyWindow = Int(p.penalty_window)
    }
    return guarded { () throws(XLSTMError) in
        sampler.pointee = retained(try Sampler(options))
    }
}

/// Releases a sampler. NULL is ignored.
@c public func xlstm_sampler_free(_ sampler: Handle<xlstm_sampler>?) {
    release(sampler, as: Sampler.self)
}

/// Clears the penalty history and restarts the random sequence from the seed.
@c public func xlstm_sampler_reset(_ sampler: Handle<xlstm_sampler>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_reset: sampler is NULL") }
    s.reset()
    return ok
}

/// Records `token` in the penalty history without sampling (e.g. the prompt's tokens).
@c public func xlstm_sampler_accept(_ sampler: Handle<xlstm_sampler>?, _ token: Int32) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_accept: sampler is NULL") }
    s.accept(token)
    return ok
}

/// Draws the next token from the session's current logits into `*token` and records it in the
/// history. Returns XLSTM_ERROR_NO_LOGITS if the session has none. The session is not changed.
@c public func xlstm_sampler_sample(_ sampler: Handle<xlstm_sampler>?, _ session: ConstHandle<xlstm_session>?,
                                    _ token: UnsafeMutablePointer<Int32>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_sample: sampler is NULL") }
    guard let box = borrowed(session, as: SessionBox.self) else { return argumentError("xlstm_sampler_sample: session is NULL") }
    guard let token else { return argumentError("xlstm_sampler_sample: token is NULL") }
    guard box.session.hasLogits else { return failure(.XLSTM_ERROR_NO_LOGITS, "xlstm_sampler_sample: the session has no logits") }
    return guarded { () throws(XLSTMError) in
        token.pointee = try s.sample(UnsafeBufferPointer(box.session.logits))
    }
}

/// Draws a token from `n_vocab` caller-supplied logits into `*token` and records it in the history.
/// NaN logits count as -infinity; if no logit is finite the call fails with XLSTM_ERROR_INVALID_ARGUMENT.
@c public func xlstm_sampler_sample_logits(_ sampler: Handle<xlstm_sampler>?, _ logits: UnsafePointer<Float>?,
                                           _ n_vocab: UInt, _ token: UnsafeMutablePointer<Int32>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_sample_logits: sampler is NULL") }
    guard let logits else { return argumentError("xlstm_sampler_sample_logits: logits is NULL") }
    guard let token else { return argumentError("xlstm_sampler_sample_logits: token is NULL") }
    guard n_vocab > 0, n_vocab <= UInt(Int32.max) else {
        return argumentError("xlstm_sampler_sample_logits: n_vocab must be in [1, 2^31)")
    }
    return guarded { () throws(XLSTMError) in
        token.pointee = try s.sample(UnsafeBufferPointer(start: logits, count: Int(n_vocab)))
    }
}

// MARK: Sampler state (format: README "Sampler state blobs")

/// Bytes needed by `xlstm_sampler_save_state` (fixed per sampler: it depends only on the penalty
/// window; 0 for NULL).
@c public func xlstm_sampler_state_size(_ sampler: ConstHandle<xlstm_sampler>?) -> UInt {
    guard let s = borrowed(sampler, as: Sampler.self) else { return 0 }
    return UInt(SamplerStateBlob.size(for: s))
}

/// Saves the sampler's whole state — its options, the random generator's position and the penalty
/// history — into `buffer` of `capacity` bytes; `*written` (may be NULL) receives the byte count.
/// Returns XLSTM_ERROR_BUFFER_TOO_SMALL if `capacity` < `xlstm_sampler_state_size(sampler)`. The
/// sampler is not changed. Saved next to a session's state, a restored pair continues with the
/// same sampled tokens as the original.
@c public func xlstm_sampler_save_state(_ sampler: ConstHandle<xlstm_sampler>?, _ buffer: UnsafeMutableRawPointer?,
                                        _ capacity: UInt, _ written: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    written?.pointee = 0
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_save_state: sampler is NULL") }
    guard let buffer else { return argumentError("xlstm_sampler_save_state: buffer is NULL") }
    return guarded { () throws(XLSTMError) in
        let count = try SamplerStateBlob.save(s, into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(clamping: capacity)))
        written?.pointee = UInt(count)
    }
}

/// Restores a state saved by `xlstm_sampler_save_state` from `size` bytes at `buffer`: the sampler
/// takes the blob's options (whatever it was created with), generator position and history. Another
/// format version gives XLSTM_ERROR_STATE_VERSION; a truncated or damaged blob, or one that is not
/// a sampler's (e.g. a session state blob), XLSTM_ERROR_STATE_CORRUPT; in every error case the
/// sampler is left exactly as it was.
@c public func xlstm_sampler_load_state(_ sampler: Handle<xlstm_sampler>?, _ buffer: UnsafeRawPointer?,
                                        _ size: UInt) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_load_state: sampler is NULL") }
    guard let buffer else { return argumentError("xlstm_sampler_load_state: buffer is NULL") }
    return guarded { () throws(XLSTMError) in
        try SamplerStateBlob.load(UnsafeRawBufferPointer(start: buffer, count: Int(clamping: size)), into: s)
    }
}

/// Saves the sampler's state to the file `path`, replacing it atomically (written to a temporary
/// file in the same directory, then renamed). The sampler is not changed.
@c public func xlstm_sampler_save_state_file(_ sampler: ConstHandle<xlstm_sampler>?,
                                             _ path: UnsafePointer<CChar>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_save_state_file: sampler is NULL") }
    guard let path else { return argumentError("xlstm_sampler_save_state_file: path is NULL") }
    return guarded { () throws(XLSTMError) in try SamplerStateBlob.save(s, toFile: String(cString: path)) }
}

/// Restores the sampler's state from a file written by `xlstm_sampler_save_state_file`. Errors as
/// `xlstm_sampler_load_state`, plus XLSTM_ERROR_IO; the sampler is unchanged on error.
@c public func xlstm_sampler_load_state_file(_ sampler: Handle<xlstm_sampler>?,
                                             _ path: UnsafePointer<CChar>?) -> CEnumValue<xlstm_status> {
    guard let s = borrowed(sampler, as: Sampler.self) else { return argumentError("xlstm_sampler_load_state_file: sampler is NULL") }
    guard let path else { return argumentError("xlstm_sampler_load_state_file: path is NULL") }
    return guarded { () throws(XLSTMError) in try SamplerStateBlob.load(fromFile: String(cString: path), into: s) }
}

// MARK: Batches

/// Draws one token for each of `n` sampler/session pairs: `tokens[i]` receives what
/// `xlstm_sampler_sample(samplers[i], sessions[i], &tokens[i])` would, for i in order, with one
/// call (a frame loop: one batched feed, one batched sample). The same session may appear at
/// several indices (it is only read); a sampler may not. Everything is checked before any draw:
/// NULL arrays (allowed only when `n` is 0), a NULL element, a repeated sampler, a session without
/// logits (XLSTM_ERROR_NO_LOGITS) or whose logits are all NaN/-infinity, `n` above
/// XLSTM_SAMPLE_BATCH_MAX — the status and a message naming the index; then no sampler has advanced
/// and no token is written. The sessions are not changed. Each sampler and session must not be used
/// by another thread during the call.
@c public func xlstm_sampler_sample_batch(_ samplers: UnsafePointer<Handle<xlstm_sampler>?>?,
                                          _ sessions: UnsafePointer<Handle<xlstm_session>?>?, _ n: UInt,
                                          _ tokens: UnsafeMutablePointer<Int32>?) -> CEnumValue<xlstm_status> {
    let name = "xlstm_sampler_sample_batch"
    guard n > 0 else { return ok }
    guard n <= UInt(XLSTM_SAMPLE_BATCH_MAX) else { return argumentError("\(name): n is \(n); at most \(XLSTM_SAMPLE_BATCH_MAX)") }
    guard let samplers else { return argumentError("\(name): samplers is NULL (n is \(n))") }
    guard let sessions else { return argumentError("\(name): sessions is NULL (n is \(n))") }
    guard let tokens else { return argumentError("\(name): tokens is NULL (n is \(n))") }
    let count = Int(n)
    for i in 0..<count {
        guard samplers[i] != nil else { return argumentError("\(name): samplers[\(i)] is NULL") }
        guard let box = borrowed(sessions[i], as: SessionBox.self) else { return argumentError("\(name): sessions[\(i)] is NULL") }
        guard box.session.hasLogits else { return failure(.XLSTM_ERROR_NO_LOGITS, "\(name): sessions[\(i)] has no logits") }
        if let reason = Sampler.unusableLogitsReason(UnsafeBufferPointer(box.session.logits)) {
            return argumentError("\(name): sessions[\(i)]: \(reason)")
        }
    }
    if let (first, second) = firstRepeat(samplers, count) {
        return argumentError("\(name): samplers[\(second)] is the same sampler as samplers[\(first)]")
    }
    for i in 0..<count {
        let sampler = borrowed(samplers[i], as: Sampler.self)!
        let session = borrowed(sessions[i], as: SessionBox.self)!.session
        do throws(XLSTMError) {
            tokens[i] = try sampler.sample(UnsafeBufferPointer(session.logits))
        } catch {
            // Unreachable after the checks above (sample fails only on unusable logits).
            return failure(xlstm_status(error.kind), "\(name): index \(i): \(error.message)")
        }
    }
    return ok
}

/// The first pair of indices (earlier, later) holding the same pointer, or nil.
private func firstRepeat(_ pointers: UnsafePointer<OpaquePointer?>, _ count: Int) -> (Int, Int)? {
    if count <= 32 {
        for j in 1..<max(count, 1) {
            for i in 0..<j where pointers[i] == pointers[j] { return (i, j) }
        }
        return nil
    }
    var seen: [OpaquePointer: Int] = [:]
    seen.reserveCapacity(count)
    for j in 0..<count {
        if let i = seen.updateValue(j, forKey: pointers[j]!) { return (i, j) }
    }
    return nil
}

// Samplers: seeded, deterministic token selection with penalties.

import XLSTM

/// Writes the default sampler options into `*params`: seed 0, temperature 0.8, top_k 40, top_p 0.95,
/// min_p 0.05, no penalties, penalty_window 64. Thread-safe.
@c public func xlstm_sampler_default_params(_ params: StructPointer<xlstm_sampler_params>?) -> CEnumValue<xlstm_status> {
    guard let params else { return argumentError("xlstm_sampler_default_params: params is NULL") }
    let d = SamplerParameters()
    params.storeBytes(of: xlstm_sampler_params(
        seed: d.seed, temperature: d.temperature, top_k: Int32(d.topK), top_p: d.topP, min_p: d.minP,
        repetition_penalty: d.repetitionPenalty, presence_penalty: d.presencePenalty,
        penalty_window: Int32(d.penaltyWindow), reserved: 0), as: xlstm_sampler_params.self)
    return ok
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

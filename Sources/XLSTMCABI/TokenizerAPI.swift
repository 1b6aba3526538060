// Tokenizers: text ↔ token ids with a model's Hugging Face tokenizer.json, and streaming
// detokenization for generation.

import XLSTM

/// The Swift object behind an `xlstm_detokenizer *`.
final class DetokenizerBox {
    let decoder: StreamingDecoder
    init(_ decoder: StreamingDecoder) { self.decoder = decoder }
}

/// Copies `bytes` into a caller buffer: the size protocol every text-returning function shares.
private func deliver(_ bytes: [UInt8], _ function: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                     _ length: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    length?.pointee = UInt(bytes.count)
    guard UInt(bytes.count) <= capacity else {
        return failure(.XLSTM_ERROR_BUFFER_TOO_SMALL,
                       "\(function): the text needs \(bytes.count) bytes, the buffer holds \(capacity)")
    }
    guard let buffer else {
        if bytes.isEmpty && capacity == 0 { return ok }
        return argumentError("\(function): the text buffer is NULL")
    }
    bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }
    if UInt(bytes.count) < capacity { buffer[bytes.count] = 0 }
    return ok
}

// MARK: Loading

/// Loads a tokenizer: `path` is a directory holding `tokenizer.json` (a model directory, or one with
/// only the tokenizer files, as `AutoTokenizer.from_pretrained` accepts) or the `tokenizer.json`
/// file itself. `tokenizer_config.json`, `special_tokens_map.json` and `config.json` beside it give
/// the bos/eos/pad ids. A component the library does not implement gives XLSTM_ERROR_UNSUPPORTED
/// naming it (never silently different ids); a malformed file XLSTM_ERROR_INVALID_MODEL; a missing
/// one XLSTM_ERROR_IO. On success `*tokenizer` receives a new tokenizer (free with
/// `xlstm_tokenizer_free`); on failure it is set to NULL. Thread-safe.
@c public func xlstm_tokenizer_load(_ path: UnsafePointer<CChar>?,
                                    _ tokenizer: UnsafeMutablePointer<Handle<xlstm_tokenizer>?>?) -> CEnumValue<xlstm_status> {
    guard let tokenizer else { return argumentError("xlstm_tokenizer_load: tokenizer (the output pointer) is NULL") }
    tokenizer.pointee = nil
    guard let path else { return argumentError("xlstm_tokenizer_load: path is NULL") }
    return guarded { () throws(XLSTMError) in
        tokenizer.pointee = retained(try Tokenizer(path: String(cString: path)))
    }
}

/// Loads the tokenizer of `model` from the model's directory (as `xlstm_tokenizer_load` on it).
/// XLSTM_ERROR_IO when the directory has no tokenizer.json (byte-level models need none: their ids
/// are the bytes). The tokenizer is independent of the model afterwards. Thread-safe.
@c public func xlstm_tokenizer_from_model(_ model: ConstHandle<xlstm_model>?,
                                          _ tokenizer: UnsafeMutablePointer<Handle<xlstm_tokenizer>?>?) -> CEnumValue<xlstm_status> {
    guard let tokenizer else { return argumentError("xlstm_tokenizer_from_model: tokenizer (the output pointer) is NULL") }
    tokenizer.pointee = nil
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_tokenizer_from_model: model is NULL") }
    return guarded { () throws(XLSTMError) in
        tokenizer.pointee = retained(try Tokenizer(path: box.model.directory))
    }
}

/// Releases a tokenizer. Detokenizers created from it keep it alive until they are freed. NULL is
/// ignored. Not to be called twice on the same pointer.
@c public func xlstm_tokenizer_free(_ tokenizer: Handle<xlstm_tokenizer>?) {
    release(tokenizer, as: Tokenizer.self)
}

/// Describes the tokenizer in `*info`. XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
@c public func xlstm_tokenizer_get_info(_ tokenizer: ConstHandle<xlstm_tokenizer>?,
                                        _ info: StructPointer<xlstm_tokenizer_info>?) -> CEnumValue<xlstm_status> {
    guard let t = borrowed(tokenizer, as: Tokenizer.self) else { return argumentError("xlstm_tokenizer_get_info: tokenizer is NULL") }
    guard let info else { return argumentError("xlstm_tokenizer_get_info: info is NULL") }
    info.storeBytes(of: xlstm_tokenizer_info(vocab_size: Int32(clamping: t.vocabSize), bos_id: t.bosId, eos_id: t.eosId,
                                             pad_id: t.padId, unk_id: t.unkId), as: xlstm_tokenizer_info.self)
    return ok
}

// MARK: Text ↔ ids

/// Tokenizes `text_len` bytes of UTF-8 at `text` (no terminator needed; NULL allowed when
/// `text_len` is 0) into `tokens`, room for `capacity` ids. `flags`: XLSTM_TOKENIZE_ADD_SPECIAL,
/// XLSTM_TOKENIZE_SPLIT_SPECIAL, or 0. `*n_tokens` receives the number of ids; when it exceeds
/// `capacity` the call returns XLSTM_ERROR_BUFFER_TOO_SMALL and writes no id (call with
/// capacity 0 and tokens NULL to ask for the size). Text that is not valid UTF-8 is refused with
/// XLSTM_ERROR_INVALID_ARGUMENT naming the byte offset. Thread-safe.
@c public func xlstm_tokenize(_ tokenizer: ConstHandle<xlstm_tokenizer>?, _ text: UnsafePointer<CChar>?, _ text_len: UInt,
                              _ flags: UInt32, _ tokens: UnsafeMutablePointer<Int32>?, _ capacity: UInt,
                              _ n_tokens: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    n_tokens?.pointee = 0
    guard let t = borrowed(tokenizer, as: Tokenizer.self) else { return argumentError("xlstm_tokenize: tokenizer is NULL") }
    guard let n_tokens else { return argumentError("xlstm_tokenize: n_tokens is NULL") }
    guard text != nil || text_len == 0 else { return argumentError("xlstm_tokenize: text is NULL") }
    guard flags & ~UInt32(3) == 0 else { return argumentError("xlstm_tokenize: unknown flags 0x\(String(flags, radix: 16))") }
    guard text_len <= UInt(Int.max / 8) else { return argumentError("xlstm_tokenize: text_len \(text_len) is too large") }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(text)?.assumingMemoryBound(to: UInt8.self), count: Int(text_len))
    do {
        let ids = try t.encode(bytes, addSpecialTokens: flags & 1 != 0, splitSpecialTokens: flags & 2 != 0)
        n_tokens.pointee = UInt(ids.count)
        guard UInt(ids.count) <= capacity else {
            return failure(.XLSTM_ERROR_BUFFER_TOO_SMALL, "xlstm_tokenize: the text has \(ids.count) tokens, the buffer holds \(capacity)")
        }
        guard let tokens else {
            if ids.isEmpty { return ok }
            return argumentError("xlstm_tokenize: tokens is NULL")
        }
        for (i, id) in ids.enumerated() { tokens[i] = id }
        return ok
    } catch {
        return failure(error)
    }
}

/// Writes the UTF-8 text of `n_tokens` ids at `tokens` into `text` (room for `capacity` bytes).
/// `flags`: XLSTM_DETOKENIZE_SKIP_SPECIAL or 0. Byte sequences the ids leave invalid become U+FFFD,
/// as `tokenizers`' decode does, so the text is always valid UTF-8. `*text_len` receives its length
/// in bytes (no terminator counted); a NUL is appended when `capacity` > `*text_len`. When the text
/// does not fit: XLSTM_ERROR_BUFFER_TOO_SMALL, `*text_len` = the size needed, nothing written.
/// An id the tokenizer has no token for (≥ vocab_size, e.g. a model's padded vocabulary rows, or a
/// hole in the vocabulary) has no text, as in `tokenizers`' decode; a negative id gives
/// XLSTM_ERROR_TOKEN_OUT_OF_RANGE. Thread-safe.
@c public func xlstm_detokenize(_ tokenizer: ConstHandle<xlstm_tokenizer>?, _ tokens: UnsafePointer<Int32>?, _ n_tokens: UInt,
                                _ flags: UInt32, _ text: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                                _ text_len: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    text_len?.pointee = 0
    guard let t = borrowed(tokenizer, as: Tokenizer.self) else { return argumentError("xlstm_detokenize: tokenizer is NULL") }
    guard let text_len else { return argumentError("xlstm_detokenize: text_len is NULL") }
    guard tokens != nil || n_tokens == 0 else { return argumentError("xlstm_detokenize: tokens is NULL") }
    guard flags & ~UInt32(1) == 0 else { return argumentError("xlstm_detokenize: unknown flags 0x\(String(flags, radix: 16))") }
    guard n_tokens <= UInt(Int.max / 8) else { return argumentError("xlstm_detokenize: n_tokens \(n_tokens) is too large") }
    do {
        let bytes = try t.decode(UnsafeBufferPointer(start: tokens, count: Int(n_tokens)), skipSpecialTokens: flags & 1 != 0)
        return deliver(bytes, "xlstm_detokenize", text, capacity, text_len)
    } catch {
        return failure(error)
    }
}

/// Writes the raw bytes token `token` stands for into `piece` (the decoder applied to it alone; for
/// byte-level tokenizers this may be part of a UTF-8 sequence, so it is NOT always valid UTF-8).
/// Same size protocol as `xlstm_detokenize`; an id without a token gives 0 bytes, a negative one
/// XLSTM_ERROR_TOKEN_OUT_OF_RANGE. Thread-safe.
@c public func xlstm_tokenizer_token_to_piece(_ tokenizer: ConstHandle<xlstm_tokenizer>?, _ token: Int32,
                                              _ piece: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                                              _ piece_len: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    piece_len?.pointee = 0
    guard let t = borrowed(tokenizer, as: Tokenizer.self) else { return argumentError("xlstm_tokenizer_token_to_piece: tokenizer is NULL") }
    guard let piece_len else { return argumentError("xlstm_tokenizer_token_to_piece: piece_len is NULL") }
    do {
        return deliver(try t.piece(token), "xlstm_tokenizer_token_to_piece", piece, capacity, piece_len)
    } catch {
        return failure(error)
    }
}

// MARK: Streaming

/// Creates a streaming detokenizer over `tokenizer` (which it keeps alive). `flags`:
/// XLSTM_DETOKENIZE_SKIP_SPECIAL or 0. Free with `xlstm_detokenizer_free`. Thread-safe.
@c public func xlstm_detokenizer_create(_ tokenizer: ConstHandle<xlstm_tokenizer>?, _ flags: UInt32,
                                        _ detokenizer: UnsafeMutablePointer<Handle<xlstm_detokenizer>?>?) -> CEnumValue<xlstm_status> {
    guard let detokenizer else { return argumentError("xlstm_detokenizer_create: detokenizer (the output pointer) is NULL") }
    detokenizer.pointee = nil
    guard let t = borrowed(tokenizer, as: Tokenizer.self) else { return argumentError("xlstm_detokenizer_create: tokenizer is NULL") }
    guard flags & ~UInt32(1) == 0 else { return argumentError("xlstm_detokenizer_create: unknown flags 0x\(String(flags, radix: 16))") }
    detokenizer.pointee = retained(DetokenizerBox(StreamingDecoder(tokenizer: t, skipSpecial: flags & 1 != 0)))
    return ok
}

/// Releases a detokenizer (what it holds back is dropped). NULL is ignored.
@c public func xlstm_detokenizer_free(_ detokenizer: Handle<xlstm_detokenizer>?) {
    release(detokenizer, as: DetokenizerBox.self)
}

/// Feeds one token and writes the text that is now complete into `text` (often all of the token's
/// text; nothing while a UTF-8 sequence split across tokens is incomplete — those bytes are held
/// back, at most 3). The text written is always valid UTF-8 and, concatenated over a stream with
/// `xlstm_detokenizer_flush` at the end, equals `xlstm_detokenize` of all the ids. Size protocol as
/// `xlstm_detokenize` (16 bytes more than the longest piece always suffice); on
/// XLSTM_ERROR_BUFFER_TOO_SMALL or XLSTM_ERROR_TOKEN_OUT_OF_RANGE the token is not consumed and
/// the detokenizer is unchanged.
@c public func xlstm_detokenizer_push(_ detokenizer: Handle<xlstm_detokenizer>?, _ token: Int32,
                                      _ text: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                                      _ text_len: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    text_len?.pointee = 0
    guard let box = borrowed(detokenizer, as: DetokenizerBox.self) else { return argumentError("xlstm_detokenizer_push: detokenizer is NULL") }
    guard let text_len else { return argumentError("xlstm_detokenizer_push: text_len is NULL") }
    do {
        let limit = text == nil ? 0 : Int(clamping: capacity)
        let (bytes, committed) = try box.decoder.push(token, capacity: limit)
        if !committed {
            text_len.pointee = UInt(bytes.count)
            return failure(.XLSTM_ERROR_BUFFER_TOO_SMALL,
                           "xlstm_detokenizer_push: the text needs \(bytes.count) bytes, the buffer holds \(text == nil ? 0 : capacity)")
        }
        return deliver(bytes, "xlstm_detokenizer_push", text, capacity, text_len)
    } catch {
        return failure(error)
    }
}

/// Ends the stream: writes what is held back (an incomplete UTF-8 sequence becomes U+FFFD) and
/// resets the detokenizer for a new stream. Size protocol as `xlstm_detokenize`; on
/// XLSTM_ERROR_BUFFER_TOO_SMALL nothing changes.
@c public func xlstm_detokenizer_flush(_ detokenizer: Handle<xlstm_detokenizer>?, _ text: UnsafeMutablePointer<CChar>?,
                                       _ capacity: UInt, _ text_len: UnsafeMutablePointer<UInt>?) -> CEnumValue<xlstm_status> {
    text_len?.pointee = 0
    guard let box = borrowed(detokenizer, as: DetokenizerBox.self) else { return argumentError("xlstm_detokenizer_flush: detokenizer is NULL") }
    guard let text_len else { return argumentError("xlstm_detokenizer_flush: text_len is NULL") }
    let bytes = box.decoder.peekFinish()
    let status = deliver(bytes, "xlstm_detokenizer_flush", text, capacity, text_len)
    if status == ok { _ = box.decoder.finish() }
    return status
}

// Incremental detokenization for generation: ids in, UTF-8 out, never a broken sequence.
// The bytes of a token whose UTF-8 sequence is not complete yet (a CJK char or an emoji split
// across byte-level tokens) are held back until the next token completes them; `finish` emits
// what is left, an incomplete tail as U+FFFD. The concatenated output equals
// `Tokenizer.decode` of all the ids (the same repair rule, applied at the same places).

public final class StreamingDecoder {
    public let tokenizer: Tokenizer
    public let skipSpecial: Bool
    /// Bytes decoded but not yet emitted (at most an incomplete UTF-8 sequence: ≤ 3 bytes).
    private var pending: [UInt8] = []
    private var isFirst = true

    public init(tokenizer: Tokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one token; returns the UTF-8 text that is now complete (possibly empty).
    public func push(_ id: Int32) throws(XLSTMError) -> [UInt8] {
        try push(id, capacity: Int.max).bytes
    }

    /// As `push(_:)`, but when the text would exceed `capacity` bytes nothing changes: the token is
    /// not consumed and `committed` is false (`bytes` is then the text that needs the room).
    public func push(_ id: Int32, capacity: Int) throws(XLSTMError) -> (bytes: [UInt8], committed: Bool) {
        guard let raw = try tokenizer.rawBytes(of: id, skipSpecial: skipSpecial, isFirst: isFirst) else { return ([], true) }
        let joined = pending + raw
        var out: [UInt8] = []
        let held = joined.withUnsafeBufferPointer { Utf8Repair.repair($0, holdIncomplete: true, into: &out) }
        guard out.count <= capacity else { return (out, false) }
        isFirst = false
        pending = Array(joined[(joined.count - held)...])
        return (out, true)
    }

    /// The text `finish()` would emit now, without emitting it.
    public func peekFinish() -> [UInt8] {
        var out: [UInt8] = []
        _ = pending.withUnsafeBufferPointer { Utf8Repair.repair($0, holdIncomplete: false, into: &out) }
        return out
    }

    /// Emits what is held back (an incomplete sequence becomes U+FFFD) and resets the stream.
    public func finish() -> [UInt8] {
        let out = peekFinish()
        pending.removeAll()
        isFirst = true
        return out
    }

    /// Bytes currently held back.
    public var pendingCount: Int { pending.count }
}

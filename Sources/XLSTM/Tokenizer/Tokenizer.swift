// A Hugging Face `tokenizers` pipeline (tokenizer.json) running inside the runtime.
// Port of `TokenizerImpl::encode_single_sequence` / `decode` (tokenizers 0.23, src/tokenizer/mod.rs):
//   text → added tokens with normalized:false split out of the raw text → each remaining piece
//   normalized → added tokens with normalized:true split out → pre-tokenizer → BPE per word
//   (with a word cache) → post-processor (when special tokens are added).
// Loading is in TokenizerJSON.swift. Thread-safe: the only mutable state is the word cache,
// behind a mutex that a concurrent caller skips (it then tokenizes without the cache).

import Synchronization

public final class Tokenizer: Sendable {
    /// The directory the tokenizer was loaded from.
    public let directory: String
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor
    let decoder: TokenDecoder
    let addedTokens: [AddedToken]
    /// id → index into addedTokens.
    let addedById: [Int32: Int]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Ids are in [0, vocabSize): the model's ids and the added tokens'.
    public let vocabSize: Int
    /// Beginning / end of sequence, padding and unknown ids, -1 when the files name none.
    public let bosId: Int32
    public let eosId: Int32
    public let padId: Int32
    public let unkId: Int32

    private let cache = Mutex<[ScalarKey: [Int32]]>([:])
    private static let cacheLimit = 1 << 16

    init(directory: String, model: BPEModel, normalizer: Normalizer?, preTokenizer: PreTokenizer?,
         postProcessor: PostProcessor, decoder: TokenDecoder, addedTokens: [AddedToken],
         specials: (bos: Int32, eos: Int32, pad: Int32)) {
        self.directory = directory
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        var byId: [Int32: Int] = [:]
        var raw = AddedTokenMatcher(), normalized = AddedTokenMatcher()
        for (i, token) in addedTokens.enumerated() {
            byId[token.id] = i
            let scalars = token.content.unicodeScalars.map(\.value)
            if token.normalized {
                let pattern = normalizer?.apply(scalars) ?? scalars
                normalized.insert(pattern, tokenIndex: Int32(i))
            } else {
                raw.insert(scalars, tokenIndex: Int32(i))
            }
        }
        addedById = byId
        rawMatcher = raw
        normalizedMatcher = normalized
        let maxAdded = addedTokens.map { Int($0.id) }.max() ?? -1
        vocabSize = max(model.tokens.count, maxAdded + 1)
        bosId = specials.bos
        eosId = specials.eos
        padId = specials.pad
        unkId = model.unkId ?? -1
    }

    // MARK: Encoding

    /// Token ids of UTF-8 `text`. `addSpecialTokens`: apply the post-processor (BOS/EOS templates).
    /// `splitSpecialTokens`: special tokens written in the text are tokenized as plain text.
    /// Invalid UTF-8 is an error (`.invalidArgument`, naming the byte offset).
    public func encode(_ text: UnsafeBufferPointer<UInt8>, addSpecialTokens: Bool = true,
                       splitSpecialTokens: Bool = false) throws(XLSTMError) -> [Int32] {
        let (decoded, bad) = Utf8Repair.scalars(text)
        guard let scalars = decoded else {
            throw XLSTMError(.invalidArgument, "text is not valid UTF-8 (at byte \(bad))")
        }
        return encode(scalars: scalars, addSpecialTokens: addSpecialTokens, splitSpecialTokens: splitSpecialTokens)
    }

    public func encode(_ text: String, addSpecialTokens: Bool = true, splitSpecialTokens: Bool = false) -> [Int32] {
        encode(scalars: text.unicodeScalars.map(\.value), addSpecialTokens: addSpecialTokens,
               splitSpecialTokens: splitSpecialTokens)
    }

    func encode(scalars: [UInt32], addSpecialTokens: Bool, splitSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        let outer = AddedTokenSplitter.split(scalars, matcher: rawMatcher, tokens: addedTokens,
                                              skipSpecial: splitSpecialTokens)
        var words: [[UInt32]] = []
        for (range, id) in outer {
            if let id { ids.append(id); continue }
            if range.isEmpty { continue }
            let piece = Array(scalars[range])
            let normalized = normalizer?.apply(piece) ?? piece
            let inner = AddedTokenSplitter.split(normalized, matcher: normalizedMatcher, tokens: addedTokens,
                                                  skipSpecial: splitSpecialTokens)
            for (innerRange, innerId) in inner {
                if let innerId { ids.append(innerId); continue }
                if innerRange.isEmpty { continue }
                let text = Array(normalized[innerRange])
                words = preTokenizer?.apply([text]) ?? [text]
                tokenizeWords(words, into: &ids)
            }
        }
        return addSpecialTokens ? postProcessor.apply(ids) : ids
    }

    private func tokenizeWords(_ words: [[UInt32]], into ids: inout [Int32]) {
        let done: Bool = cache.withLockIfAvailable { cache -> Bool in
            for word in words {
                let key = ScalarKey(word)
                if let hit = cache[key] {
                    ids.append(contentsOf: hit)
                    continue
                }
                let start = ids.count
                model.tokenize(word, into: &ids)
                if word.count < 256 {
                    if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                    cache[key] = Array(ids[start...])
                }
            }
            return true
        } ?? false
        if !done {
            for word in words { model.tokenize(word, into: &ids) }
        }
    }

    // MARK: Decoding

    /// The token string of `id` (added-token content or vocabulary entry), nil for an unused id.
    public func tokenString(_ id: Int32) -> String? {
        if let index = addedById[id] { return addedTokens[index].content }
        guard id >= 0, Int(id) < model.tokens.count else { return nil }
        return model.tokens[Int(id)]
    }

    public func isSpecial(_ id: Int32) -> Bool {
        if let index = addedById[id] { return addedTokens[index].special }
        return false
    }

    /// The decoder's bytes for `id` alone (may be part of a UTF-8 sequence); nil when skipped.
    /// An id the tokenizer has no token for — a hole in the vocabulary, or one ≥ vocabSize such as
    /// a model's padded embedding rows — has no text, as in the package's decode; a negative id is
    /// an error.
    func rawBytes(of id: Int32, skipSpecial: Bool, isFirst: Bool) throws(XLSTMError) -> [UInt8]? {
        guard id >= 0 else {
            throw XLSTMError(.tokenOutOfRange, "token id \(id) is negative")
        }
        if skipSpecial && isSpecial(id) { return nil }
        guard let token = tokenString(id) else { return nil }
        var out: [UInt8] = []
        decoder.bytes(of: token, isFirst: isFirst, into: &out)
        return out
    }

    /// The raw bytes token `id` stands for (the decoder applied to it alone): a piece of UTF-8 that
    /// may be incomplete on its own. Empty for an id the tokenizer has no token for.
    public func piece(_ id: Int32) throws(XLSTMError) -> [UInt8] {
        try rawBytes(of: id, skipSpecial: false, isFirst: true) ?? []
    }

    /// UTF-8 text of `ids` (invalid sequences replaced by U+FFFD, as `from_utf8_lossy`).
    public func decode(_ ids: UnsafeBufferPointer<Int32>, skipSpecialTokens: Bool = false) throws(XLSTMError) -> [UInt8] {
        var bytes: [UInt8] = []
        var first = true
        for id in ids {
            guard let raw = try rawBytes(of: id, skipSpecial: skipSpecialTokens, isFirst: first) else { continue }
            first = false
            bytes.append(contentsOf: raw)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        _ = bytes.withUnsafeBufferPointer { Utf8Repair.repair($0, holdIncomplete: false, into: &out) }
        return out
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) throws(XLSTMError) -> [UInt8] {
        let result = ids.withUnsafeBufferPointer { buffer in
            Result { () throws(XLSTMError) -> [UInt8] in try decode(buffer, skipSpecialTokens: skipSpecialTokens) }
        }
        return try result.get()
    }

    /// The normalizer applied to `text` (identity without one): what decode(encode(text)) gives back.
    public func normalize(_ text: String) -> String {
        let scalars = text.unicodeScalars.map(\.value)
        var view = String.UnicodeScalarView()
        for cp in normalizer?.apply(scalars) ?? scalars { if let s = Unicode.Scalar(cp) { view.append(s) } }
        return String(view)
    }
}

// The BPE model of a tokenizer.json. Port of tokenizers/src/models/bpe (tokenizers 0.23):
// `Word::merge_all` — a binary heap of candidate merges ordered by (rank, position), merging the
// lowest rank first and the leftmost on ties, stale entries skipped — with `ignore_merges` (a word
// that is itself in the vocabulary is one token), `byte_fallback` (<0xXX> tokens for unknown
// chars), `unk_token` and `fuse_unk`. Without an unk token, unknown chars are dropped, as there.
// `dropout`, `continuing_subword_prefix` and `end_of_word_suffix` are refused at load.

final class BPEModel: Sendable {
    /// Token (as scalar values) → id, in the model's alphabet (byte-level chars for byte-level
    /// models). Keyed by scalars, not String: Swift Strings compare by canonical equivalence, and
    /// "é" and "e\u{301}" are two different tokens.
    let vocab: [ScalarKey: Int32]
    /// id → token string; nil for ids the vocabulary does not define.
    let tokens: [String?]
    /// (left id << 32 | right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    /// Single-scalar tokens for scalars < 0x400: id or -1 (the byte-level alphabet lives here).
    let smallCharIds: [Int32]
    let unkId: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// <0xXX> ids for byte fallback (-1 where missing).
    let byteTokenIds: [Int32]

    init(json: JSON, path: String) throws(XLSTMError) {
        guard let vocabMembers = json["vocab"]?.members else {
            throw XLSTMError(.invalidModel, "\(path).vocab: missing or not an object")
        }
        for key in ["dropout", "continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = json[key], !value.isNull {
                if key == "dropout", let d = value.doubleValue, d == 0 { continue }
                throw XLSTMError(.unsupported, "\(path).\(key): BPE with \(key) is not supported")
            }
        }
        let maxTokens = 1 << 24
        guard vocabMembers.count <= maxTokens else {
            throw XLSTMError(.invalidModel, "\(path).vocab: \(vocabMembers.count) entries (at most \(maxTokens))")
        }
        var vocab: [ScalarKey: Int32] = [:]
        vocab.reserveCapacity(vocabMembers.count)
        var maxId = -1
        for (token, value) in vocabMembers {
            guard let id = value.intValue, id >= 0, id < maxTokens else {
                throw XLSTMError(.invalidModel, "\(path).vocab[\"\(token)\"]: id must be an integer in [0, \(maxTokens))")
            }
            vocab[ScalarKey(token.unicodeScalars.map(\.value))] = Int32(id)
            maxId = max(maxId, id)
        }
        // A sparse vocabulary with a huge id would allocate a huge table: bound it by the entry count.
        guard maxId < vocabMembers.count * 2 + 1024 else {
            throw XLSTMError(.invalidModel, "\(path).vocab: largest id \(maxId) is far beyond the \(vocabMembers.count) entries")
        }
        var tokens = [String?](repeating: nil, count: maxId + 1)
        var small = [Int32](repeating: -1, count: 0x400)
        for (token, value) in vocabMembers {
            let scalars = token.unicodeScalars.map(\.value)
            guard let id = vocab[ScalarKey(scalars)], Int(id) == value.intValue else { continue }   // the last duplicate wins
            tokens[Int(id)] = token
            if scalars.count == 1, scalars[0] < 0x400 { small[Int(scalars[0])] = id }
        }

        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        let mergeItems = json["merges"]?.arrayValue ?? []
        guard mergeItems.count <= maxTokens else {
            throw XLSTMError(.invalidModel, "\(path).merges: \(mergeItems.count) entries (at most \(maxTokens))")
        }
        merges.reserveCapacity(mergeItems.count)
        for (rank, item) in mergeItems.enumerated() {
            let left: String, right: String
            if let text = item.stringValue {
                // "a b": split at the first space (tokens never contain a raw space in this form).
                // (Searched by scalar: " " followed by a combining mark is one Character.)
                let scalars = text.unicodeScalars
                guard let space = scalars.firstIndex(of: " ") else {
                    throw XLSTMError(.invalidModel, "\(path).merges[\(rank)]: \"\(text)\" is not \"left right\"")
                }
                left = String(scalars[..<space])
                right = String(scalars[scalars.index(after: space)...])
            } else if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                left = a
                right = b
            } else {
                throw XLSTMError(.invalidModel, "\(path).merges[\(rank)]: neither \"a b\" nor [\"a\", \"b\"]")
            }
            let leftScalars = left.unicodeScalars.map(\.value), rightScalars = right.unicodeScalars.map(\.value)
            guard let a = vocab[ScalarKey(leftScalars)], let b = vocab[ScalarKey(rightScalars)] else {
                throw XLSTMError(.invalidModel, "\(path).merges[\(rank)]: \"\(left)\" or \"\(right)\" is not in the vocabulary")
            }
            guard let merged = vocab[ScalarKey(leftScalars + rightScalars)] else {
                throw XLSTMError(.invalidModel, "\(path).merges[\(rank)]: the merge \"\(left + right)\" is not in the vocabulary")
            }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
            merges[key] = (Int32(rank), merged)     // a repeated pair: the last one wins, as there
        }

        var unkId: Int32?
        if let unk = json["unk_token"]?.stringValue {
            guard let id = vocab[ScalarKey(unk.unicodeScalars.map(\.value))] else {
                throw XLSTMError(.invalidModel, "\(path).unk_token \"\(unk)\" is not in the vocabulary")
            }
            unkId = id
        }
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let hex = String(b, radix: 16, uppercase: true)
            let name = "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
            if let id = vocab[ScalarKey(name.unicodeScalars.map(\.value))] { byteIds[b] = id }
        }
        self.vocab = vocab
        self.tokens = tokens
        self.merges = merges
        self.smallCharIds = small
        self.unkId = unkId
        self.fuseUnk = json["fuse_unk"]?.boolValue ?? false
        self.byteFallback = json["byte_fallback"]?.boolValue ?? false
        self.ignoreMerges = json["ignore_merges"]?.boolValue ?? false
        self.byteTokenIds = byteIds
    }

    @inline(__always)
    private func charId(_ cp: UInt32) -> Int32? {
        if cp < 0x400 {
            let id = smallCharIds[Int(cp)]
            return id >= 0 ? id : nil
        }
        return vocab[ScalarKey([cp])]
    }

    /// Appends the ids of one pre-tokenized word (scalar values) to `out`.
    func tokenize(_ word: [UInt32], into out: inout [Int32]) {
        if word.isEmpty { return }
        if ignoreMerges, word.count > 1, let id = vocab[ScalarKey(word)] {
            out.append(id)
            return
        }
        // Initial symbols: one per char, or its <0xXX> bytes, or unk. As in `BPE::merge_word`, an
        // unk is held pending (fused with the next unknown char under fuse_unk) and written only
        // when a char of the vocabulary follows or the word ends — so byte-fallback tokens that
        // come in between are written BEFORE it.
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk = false
        for cp in word {
            if let id = charId(cp) {
                if pendingUnk, let unk = unkId { symbols.append(unk) }
                pendingUnk = false
                symbols.append(id)
                continue
            }
            if byteFallback {
                let bytes = utf8Bytes(cp)
                if bytes.allSatisfy({ byteTokenIds[Int($0)] >= 0 }) {
                    for byte in bytes { symbols.append(byteTokenIds[Int(byte)]) }
                    continue
                }
            }
            if let unk = unkId {
                if pendingUnk && !fuseUnk { symbols.append(unk) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unk = unkId { symbols.append(unk) }
        if symbols.count < 2 {
            out.append(contentsOf: symbols)
            return
        }
        mergeAll(&symbols)
        out.append(contentsOf: symbols)
    }

    /// `Word::merge_all`: symbols as a doubly linked list over an array, a min-heap of merges.
    private func mergeAll(_ symbols: inout [Int32]) {
        let n = symbols.count
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        // Heap entries: (rank << 32 | position) ascending; the merged id is looked up again.
        var heap = MinHeap()
        @inline(__always) func push(_ pos: Int) {
            let nx = next[pos]
            guard nx >= 0 else { return }
            let key = UInt64(UInt32(symbols[pos])) << 32 | UInt64(UInt32(symbols[Int(nx)]))
            if let merge = merges[key] { heap.push(UInt64(UInt32(merge.rank)) << 32 | UInt64(pos), id: merge.id) }
        }
        for i in 0..<(n - 1) { push(i) }
        while let (entry, newId) = heap.pop() {
            let pos = Int(entry & 0xFFFF_FFFF)
            guard alive[pos] else { continue }
            let nx = next[pos]
            guard nx >= 0 else { continue }
            let key = UInt64(UInt32(symbols[pos])) << 32 | UInt64(UInt32(symbols[Int(nx)]))
            guard let merge = merges[key], merge.id == newId else { continue }
            // Merge pos and nx into pos.
            symbols[pos] = newId
            alive[Int(nx)] = false
            let after = next[Int(nx)]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = prev[pos]
            if before >= 0 { push(Int(before)) }
            push(pos)
        }
        var result: [Int32] = []
        result.reserveCapacity(n)
        var i: Int32 = 0
        while i >= 0 {
            result.append(symbols[Int(i)])
            i = next[Int(i)]
        }
        symbols = result
    }
}

/// A token or word as scalar values, hashed as one block of bytes (Hasher's per-element combine is
/// the slow part of an [UInt32] key).
struct ScalarKey: Hashable, Sendable {
    let scalars: [UInt32]
    init(_ scalars: [UInt32]) { self.scalars = scalars }

    func hash(into hasher: inout Hasher) {
        scalars.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ScalarKey, b: ScalarKey) -> Bool { a.scalars == b.scalars }
}

@inline(__always)
func utf8Bytes(_ cp: UInt32) -> [UInt8] {
    if cp < 0x80 { return [UInt8(cp)] }
    if cp < 0x800 { return [UInt8(0xC0 | (cp >> 6)), UInt8(0x80 | (cp & 0x3F))] }
    if cp < 0x10000 {
        return [UInt8(0xE0 | (cp >> 12)), UInt8(0x80 | ((cp >> 6) & 0x3F)), UInt8(0x80 | (cp & 0x3F))]
    }
    return [UInt8(0xF0 | (cp >> 18)), UInt8(0x80 | ((cp >> 12) & 0x3F)),
            UInt8(0x80 | ((cp >> 6) & 0x3F)), UInt8(0x80 | (cp & 0x3F))]
}

/// A binary min-heap of (key, payload) pairs.
struct MinHeap {
    private var keys: [UInt64] = []
    private var ids: [Int32] = []

    mutating func push(_ key: UInt64, id: Int32) {
        keys.append(key)
        ids.append(id)
        var i = keys.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if keys[parent] <= keys[i] { break }
            keys.swapAt(parent, i)
            ids.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (UInt64, Int32)? {
        guard let top = keys.first else { return nil }
        let topId = ids[0]
        let lastKey = keys.removeLast(), lastId = ids.removeLast()
        if !keys.isEmpty {
            keys[0] = lastKey
            ids[0] = lastId
            var i = 0
            let n = keys.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && keys[l] < keys[m] { m = l }
                if r < n && keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i)
                ids.swapAt(m, i)
                i = m
            }
        }
        return (top, topId)
    }
}

// Added and special tokens, matched in the text before the model sees it.
// Port of tokenizers/src/tokenizer/added_vocabulary.rs (tokenizers 0.23): tokens with
// `normalized: false` are found in the raw text, the others in the normalized text (their own
// content normalized too); leftmost-longest, non-overlapping matches (aho-corasick
// MatchKind::LeftmostLongest); then `single_word` (no word char touching either side),
// `lstrip` / `rstrip` (the match swallows the white space beside it).

struct AddedToken: Sendable {
    let id: Int32
    let content: String
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    let normalized: Bool
    let special: Bool
}

/// A set of patterns (scalar sequences) with a trie for leftmost-longest matching.
struct AddedTokenMatcher: Sendable {
    /// Trie: node → (scalar → child). Node 0 is the root.
    private var children: [[UInt32: Int32]] = [[:]]
    /// The token index (into the tokenizer's added tokens) ending at each node, or -1.
    private var terminal: [Int32] = [-1]
    /// Scalars that start some pattern, for scalars < 0x80 a table.
    private var asciiFirst = [Bool](repeating: false, count: 128)
    private var otherFirst = Set<UInt32>()
    var isEmpty: Bool { terminal.count == 1 }

    mutating func insert(_ pattern: [UInt32], tokenIndex: Int32) {
        guard let first = pattern.first else { return }
        if first < 0x80 { asciiFirst[Int(first)] = true } else { otherFirst.insert(first) }
        var node = 0
        for cp in pattern {
            if let child = children[node][cp] {
                node = Int(child)
            } else {
                children.append([:])
                terminal.append(-1)
                children[node][cp] = Int32(children.count - 1)
                node = children.count - 1
            }
        }
        if terminal[node] < 0 { terminal[node] = tokenIndex }
    }

    /// Leftmost-longest matches, non-overlapping, left to right: (range, token index).
    func matches(in text: [UInt32]) -> [(Range<Int>, Int32)] {
        var result: [(Range<Int>, Int32)] = []
        guard !isEmpty else { return result }
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            let maybe = c < 0x80 ? asciiFirst[Int(c)] : otherFirst.contains(c)
            if !maybe { i += 1; continue }
            var node = 0, j = i
            var best: (end: Int, token: Int32)?
            while j < n, let child = children[node][text[j]] {
                node = Int(child)
                j += 1
                if terminal[node] >= 0 { best = (j, terminal[node]) }
            }
            if let best {
                result.append((i..<best.end, best.token))
                i = best.end
            } else {
                i += 1
            }
        }
        return result
    }
}

enum AddedTokenSplitter {
    /// Unicode `\w` as the `regex` crate has it: alphabetic, marks, decimal digits, connector punctuation, join controls.
    static func isWordChar(_ cp: UInt32) -> Bool {
        if cp < 0x80 {
            return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5A) || (cp >= 0x61 && cp <= 0x7A) || cp == 0x5F
        }
        guard let scalar = Unicode.Scalar(cp) else { return false }
        let props = scalar.properties
        if props.isAlphabetic || props.isJoinControl { return true }
        switch props.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Splits `text` into (range, added-token id or nil) segments covering it, in order (port of
    /// `AddedVocabulary::find_matches`). `skipSpecial`: special tokens are left as text.
    static func split(_ text: [UInt32], matcher: AddedTokenMatcher, tokens: [AddedToken],
                      skipSpecial: Bool) -> [(Range<Int>, Int32?)] {
        if text.isEmpty { return [(0..<0, nil)] }
        var splits: [(Range<Int>, Int32?)] = []
        var startOffset = 0
        for (range, index) in matcher.matches(in: text) {
            let token = tokens[Int(index)]
            var start = range.lowerBound, stop = range.upperBound
            if skipSpecial && token.special { continue }
            if token.singleWord {
                let startSpace = start == 0 || !isWordChar(text[start - 1])
                let stopSpace = stop == text.count || !isWordChar(text[stop])
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                var s = start
                while s > 0 && ScalarClass.isWhitespace(text[s - 1]) { s -= 1 }
                start = max(s, startOffset)
            }
            if token.rstrip {
                while stop < text.count && ScalarClass.isWhitespace(text[stop]) { stop += 1 }
            }
            if startOffset < start { splits.append((startOffset..<start, nil)) }
            splits.append((start..<stop, token.id))
            startOffset = stop
        }
        if startOffset != text.count { splits.append((startOffset..<text.count, nil)) }
        return splits
    }
}

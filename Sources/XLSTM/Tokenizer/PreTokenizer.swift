// The `pre_tokenizer` of a tokenizer.json: splits normalized text into words for the model.
// Port of tokenizers/src/pre_tokenizers (tokenizers 0.23): ByteLevel (GPT-2 regex + byte → char
// map), Split (String or Regex pattern, the five delimiter behaviours, invert), Digits, Sequence.
//
// The GPT-2 pattern  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// is matched by hand over Unicode scalars (general categories from Unicode.Scalar.Properties, \s =
// the White_Space property, as Oniguruma has it). Split's arbitrary regex uses the standard
// library's Regex (_StringProcessing) with Unicode-scalar semantics; its syntax is close to but not
// the same as Oniguruma's (the library the package uses): a pattern it cannot parse is refused at
// load, naming the pattern. Tested with the Llama-3 pattern (Tests/Fixtures/tokenizers/split_template).

/// How a Split keeps its delimiters (tokenizers `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// A compiled Split pattern.
enum SplitPattern: @unchecked Sendable {
    case literal([UInt32])
    case regex(Regex<AnyRegexOutput>)
}

indirect enum PreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(pattern: SplitPattern, behavior: SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    static func parse(_ json: JSON, path: String) throws(XLSTMError) -> PreTokenizer {
        guard let type = json["type"]?.stringValue else {
            throw XLSTMError(.invalidModel, "\(path): a pre-tokenizer without a \"type\"")
        }
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: json["add_prefix_space"]?.boolValue ?? true,
                              useRegex: json["use_regex"]?.boolValue ?? true)
        case "Digits":
            return .digits(individual: json["individual_digits"]?.boolValue ?? false)
        case "Split":
            let behaviorName = json["behavior"]?.stringValue ?? ""
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw XLSTMError(.unsupported, "\(path): Split behavior \"\(behaviorName)\" is not supported")
            }
            let invert = json["invert"]?.boolValue ?? false
            if let literal = json["pattern"]?["String"]?.stringValue {
                guard !literal.isEmpty else { throw XLSTMError(.invalidModel, "\(path): Split with an empty String pattern") }
                return .split(pattern: .literal(literal.unicodeScalars.map(\.value)), behavior: behavior, invert: invert)
            }
            if let source = json["pattern"]?["Regex"]?.stringValue {
                let regex: Regex<AnyRegexOutput>
                do {
                    regex = try Regex(source).matchingSemantics(.unicodeScalar)
                } catch {
                    throw XLSTMError(.unsupported, "\(path): Split regex \(source) is not supported by this runtime's regex engine (\(error))")
                }
                return .split(pattern: .regex(regex), behavior: behavior, invert: invert)
            }
            throw XLSTMError(.invalidModel, "\(path): Split needs a pattern {\"String\": …} or {\"Regex\": …}")
        case "Sequence":
            guard let items = json["pretokenizers"]?.arrayValue else {
                throw XLSTMError(.invalidModel, "\(path): Sequence pre-tokenizer without a \"pretokenizers\" array")
            }
            var parts: [PreTokenizer] = []
            for (i, item) in items.enumerated() { parts.append(try parse(item, path: "\(path).pretokenizers[\(i)]")) }
            return .sequence(parts)
        default:
            throw XLSTMError(.unsupported, "\(path): pre-tokenizer \"\(type)\" is not supported (supported: ByteLevel, Split, Digits, Sequence)")
        }
    }

    /// True when the words this produces are in the byte-level alphabet (a ByteLevel step ran).
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case let .sequence(parts): return parts.contains { $0.isByteLevel }
        default: return false
        }
    }

    /// Splits every piece; empty pieces are dropped (as the package does).
    func apply(_ pieces: [[UInt32]]) -> [[UInt32]] {
        switch self {
        case let .sequence(parts):
            var value = pieces
            for part in parts { value = part.apply(value) }
            return value
        case let .byteLevel(addPrefixSpace, useRegex):
            var out: [[UInt32]] = []
            out.reserveCapacity(pieces.count * 4)
            for var piece in pieces {
                if addPrefixSpace && piece.first != 0x20 { piece.insert(0x20, at: 0) }
                if useRegex {
                    GPT2Splitter.split(piece) { range in out.append(ByteLevelAlphabet.map(piece[range])) }
                } else if !piece.isEmpty {
                    out.append(ByteLevelAlphabet.map(piece[...]))
                }
            }
            return out
        case let .digits(individual):
            var out: [[UInt32]] = []
            for piece in pieces {
                let matches = Self.characterMatches(piece) { ScalarClass.isNumeric($0) }
                Self.applyBehavior(piece, matches: matches, behavior: individual ? .isolated : .contiguous, into: &out)
            }
            return out
        case let .split(pattern, behavior, invert):
            var out: [[UInt32]] = []
            for piece in pieces {
                var matches = Self.patternMatches(piece, pattern: pattern)
                if invert { matches = matches.map { ($0.0, !$0.1) } }
                Self.applyBehavior(piece, matches: matches, behavior: behavior, into: &out)
            }
            return out
        }
    }

    /// Covers `piece` with (range, isMatch) segments, one per scalar satisfying `predicate`.
    private static func characterMatches(_ piece: [UInt32], _ predicate: (UInt32) -> Bool) -> [(Range<Int>, Bool)] {
        var result: [(Range<Int>, Bool)] = []
        var start = 0
        for (i, cp) in piece.enumerated() where predicate(cp) {
            if start < i { result.append((start..<i, false)) }
            result.append((i..<i + 1, true))
            start = i + 1
        }
        if start < piece.count { result.append((start..<piece.count, false)) }
        return result
    }

    private static func patternMatches(_ piece: [UInt32], pattern: SplitPattern) -> [(Range<Int>, Bool)] {
        var result: [(Range<Int>, Bool)] = []
        var start = 0
        func add(_ range: Range<Int>) {
            if start < range.lowerBound { result.append((start..<range.lowerBound, false)) }
            result.append((range, true))
            start = range.upperBound
        }
        switch pattern {
        case let .literal(needle):
            var i = 0
            while i + needle.count <= piece.count {
                if piece[i] == needle[0], piece[i..<i + needle.count].elementsEqual(needle) {
                    add(i..<i + needle.count)
                    i += needle.count
                } else {
                    i += 1
                }
            }
        case let .regex(regex):
            var text = String.UnicodeScalarView()
            for cp in piece { text.append(Unicode.Scalar(cp) ?? "\u{FFFD}") }
            let string = String(text)
            let scalars = string.unicodeScalars
            var cursor = scalars.startIndex, cursorOffset = 0
            func offset(of index: String.Index) -> Int {
                cursorOffset += scalars.distance(from: cursor, to: index)
                cursor = index
                return cursorOffset
            }
            for match in string.matches(of: regex) where !match.range.isEmpty {
                let lower = offset(of: match.range.lowerBound)
                let upper = offset(of: match.range.upperBound)
                add(lower..<upper)
            }
        }
        if start < piece.count { result.append((start..<piece.count, false)) }
        return result
    }

    /// Port of `NormalizedString::split`: turns matched / unmatched segments into pieces.
    private static func applyBehavior(_ piece: [UInt32], matches: [(Range<Int>, Bool)], behavior: SplitBehavior,
                                      into out: inout [[UInt32]]) {
        var ranges: [Range<Int>] = []
        switch behavior {
        case .isolated:
            ranges = matches.map(\.0)
        case .removed:
            ranges = matches.filter { !$0.1 }.map(\.0)
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in matches {
                if isMatch && previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in matches {
                if isMatch && !previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in matches.reversed() {
                if isMatch && !previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = range.lowerBound..<last.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
            ranges.reverse()
        }
        for range in ranges where !range.isEmpty { out.append(Array(piece[range])) }
    }
}

/// Character classes of the GPT-2 pattern, with an ASCII table in front of the Unicode properties.
enum ScalarClass {
    static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 4

    @inline(__always)
    static func of(_ cp: UInt32) -> UInt8 {
        if cp < 0x80 {
            if (cp >= 0x41 && cp <= 0x5A) || (cp >= 0x61 && cp <= 0x7A) { return letter }
            if cp >= 0x30 && cp <= 0x39 { return number }
            if cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) { return space }
            return 0
        }
        return slowClass(cp)
    }

    @inline(never)
    static func slowClass(_ cp: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(cp) else { return 0 }
        let props = scalar.properties
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return props.isWhitespace ? space : 0
        }
    }

    /// Rust `char::is_numeric` (general categories Nd, Nl, No).
    @inline(__always)
    static func isNumeric(_ cp: UInt32) -> Bool { of(cp) == number }

    @inline(__always)
    static func isWhitespace(_ cp: UInt32) -> Bool { of(cp) == space }
}

/// The GPT-2 pre-tokenization pattern, matched by hand.
enum GPT2Splitter {
    /// Calls `emit` with each match's range, left to right, covering all of `s`.
    static func split(_ s: [UInt32], emit: (Range<Int>) -> Void) {
        let n = s.count
        var i = 0
        @inline(__always) func cls(_ k: Int) -> UInt8 { ScalarClass.of(s[k]) }
        @inline(__always) func run(from k: Int, _ c: UInt8) -> Int {
            var j = k
            while j < n && cls(j) == c { j += 1 }
            return j
        }
        @inline(__always) func runOther(from k: Int) -> Int {
            var j = k
            while j < n && cls(j) == 0 { j += 1 }
            return j
        }
        while i < n {
            let c = s[i]
            // 's 't 're 've 'm 'll 'd
            if c == 0x27, i + 1 < n {
                let a = s[i + 1]
                if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { emit(i..<i + 2); i += 2; continue }
                if i + 2 < n {
                    let b = s[i + 2]
                    if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) {
                        emit(i..<i + 3); i += 3; continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            let start = i
            var k = i
            if c == 0x20, i + 1 < n, cls(i + 1) != ScalarClass.space { k = i + 1 }
            let kc = cls(k)
            if k > i || kc != ScalarClass.space {
                let end = kc == 0 ? runOther(from: k) : run(from: k, kc)
                emit(start..<end)
                i = end
                continue
            }
            // `\s+(?!\S)` then `\s+`
            let end = run(from: i, ScalarClass.space)
            if end == n || end - i == 1 {
                emit(i..<end)
                i = end
            } else {
                emit(i..<end - 1)
                i = end - 1
            }
        }
    }
}

/// GPT-2's reversible byte → printable-char map (`bytes_to_unicode`).
enum ByteLevelAlphabet {
    /// byte → scalar value.
    static let byteToChar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// scalar value (< 0x144) → byte, or -1 for scalars outside the alphabet.
    static let charToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, c) in byteToChar.enumerated() { table[Int(c)] = Int16(b) }
        return table
    }()

    /// The UTF-8 bytes of `scalars`, each mapped to its printable char.
    static func map(_ scalars: ArraySlice<UInt32>) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(scalars.count)
        let table = byteToChar
        for cp in scalars {
            if cp < 0x80 {
                out.append(table[Int(cp)])
            } else if cp < 0x800 {
                out.append(table[Int(0xC0 | (cp >> 6))]); out.append(table[Int(0x80 | (cp & 0x3F))])
            } else if cp < 0x10000 {
                out.append(table[Int(0xE0 | (cp >> 12))]); out.append(table[Int(0x80 | ((cp >> 6) & 0x3F))])
                out.append(table[Int(0x80 | (cp & 0x3F))])
            } else {
                out.append(table[Int(0xF0 | (cp >> 18))]); out.append(table[Int(0x80 | ((cp >> 12) & 0x3F))])
                out.append(table[Int(0x80 | ((cp >> 6) & 0x3F))]); out.append(table[Int(0x80 | (cp & 0x3F))])
            }
        }
        return out
    }
}

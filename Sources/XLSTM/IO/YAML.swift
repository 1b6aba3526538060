// A strict reader for the flat YAML files the official xlstm_large code reads as its config:
// `xlstm.xlstm_large.from_pretrained.load_from_pretrained` does
// `xLSTMLargeConfig(**yaml.safe_load(open("config.yaml")))` (xlstm 2.0.6), and such files are written
// with `yaml.safe_dump(dataclasses.asdict(config))`, one `key: value` line per field:
//
//     embedding_dim: 4096
//     eps: 1.0e-06
//     gate_soft_cap: 15.0
//     output_logit_soft_cap: null
//     use_bias: false
//     weight_mode: single
//
// The subset read here, with the values PyYAML's `safe_load` gives them (YAML 1.1 resolvers):
//   - one `key: value` per line, the key a plain identifier at column 0, immediately followed by `:`;
//     blank lines, `# comments` (whole-line or after whitespace), a leading UTF-8 BOM, a `---` line
//     before the first entry and a `...` line after the last;
//   - plain scalars: null (`~`, `null`, `Null`, `NULL`, nothing), bools (`true`/`false`, `yes`/`no`,
//     `on`/`off` in the three spellings PyYAML knows), decimal ints (`-3`, `64`), floats
//     (`1.0e-06`, `2.6667`, `3.`, `.5`, `.inf`, `-.inf`, `.nan`), and any other plain text as a
//     string (so `1e-6`, which has no dot, is the *string* "1e-6", exactly as PyYAML reads it);
//   - 'single-quoted' (with '' for ') and "double-quoted" strings without backslash escapes.
// Everything else — indentation (nested mappings), sequences, flow collections, anchors, aliases,
// tags, block scalars, multi-line scalars, `0x`/octal/`1_000`/sexagesimal numbers, duplicate keys —
// is refused with an error naming the file and the line, never guessed at.
//
// Hostile input: nothing is sized from a value in the file; the file size is bounded by the caller.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One scalar of a flat YAML file, typed as PyYAML's `safe_load` types it.
public enum YAMLScalar: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)

    /// How the value reads in a message.
    public var display: String {
        switch self {
        case .null: return "null"
        case let .bool(v): return v ? "true" : "false"
        case let .int(v): return String(v)
        case let .float(v): return String(v)
        case let .string(v): return "\"" + v + "\""
        }
    }
}

/// A `key: value` line of a flat YAML file.
public struct YAMLEntry: Sendable, Equatable {
    public let key: String
    public let value: YAMLScalar
    /// 1-based line number, for messages.
    public let line: Int
}

public enum FlatYAML {
    /// Parses `bytes` (the contents of `file`, named in every error) into its entries, in file order.
    public static func parse(_ bytes: [UInt8], file: String) throws(XLSTMError) -> [YAMLEntry] {
        var entries: [YAMLEntry] = []
        var seen: [String: Int] = [:]
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        var lineNumber = 0
        var started = false // a `---` line was seen
        var ended = false   // after a `...` line only blanks and comments may follow
        var lineStart = start
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            lineNumber += 1
            var end = lineEnd
            if end > lineStart, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = bytes[lineStart..<end]
            lineStart = lineEnd + 1

            func fail(_ why: String) -> XLSTMError {
                XLSTMError(.invalidModel, "\(file):\(lineNumber): \(why)")
            }
            // Skip blank and comment-only lines.
            var first = line.startIndex
            while first < line.endIndex, line[first] == UInt8(ascii: " ") { first += 1 }
            if first < line.endIndex, line[first] == UInt8(ascii: "\t") {
                throw fail("a tab character: YAML allows only spaces here")
            }
            if first == line.endIndex || line[first] == UInt8(ascii: "#") { continue }
            if first != line.startIndex {
                throw fail("indented line: nested values (and multi-line values) are not part of this flat "
                           + "config format (xLSTMLargeConfig has only scalar fields)")
            }
            if ended { throw fail("content after the document end marker '...'") }
            for byte in line where byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
                throw fail("control character 0x\(String(byte, radix: 16)) in the line")
            }
            if isMarker(line, "---") {
                guard entries.isEmpty, !started else {
                    throw fail("a second YAML document ('---'): one document expected")
                }
                started = true
                continue
            }
            if isMarker(line, "...") {
                ended = true
                continue
            }
            let entry = try parseEntry(line, line: lineNumber, fail: fail)
            if let previous = seen[entry.key] {
                throw fail("duplicate key '\(entry.key)' (first set on line \(previous))")
            }
            seen[entry.key] = lineNumber
            entries.append(entry)
        }
        return entries
    }

    /// `---` or `...` alone on a line, optionally followed by whitespace and a comment.
    static func isMarker(_ line: ArraySlice<UInt8>, _ marker: String) -> Bool {
        let m = Array(marker.utf8)
        guard line.count >= 3, Array(line.prefix(3)) == m else { return false }
        let rest = line.dropFirst(3)
        guard let next = rest.first else { return true }
        guard next == UInt8(ascii: " ") else { return false }
        let tail = rest.drop { $0 == UInt8(ascii: " ") }
        return tail.isEmpty || tail.first == UInt8(ascii: "#")
    }

    static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
    }

    static func isIdentifierByte(_ b: UInt8) -> Bool { isIdentifierStart(b) || (b >= 0x30 && b <= 0x39) }

    static func parseEntry(_ line: ArraySlice<UInt8>, line lineNumber: Int,
                           fail: (String) -> XLSTMError) throws(XLSTMError) -> YAMLEntry {
        var i = line.startIndex
        guard isIdentifierStart(line[i]) else {
            if line[i] == UInt8(ascii: "-") {
                throw fail("a sequence item ('- …'): expected 'key: value'")
            }
            if line[i] == UInt8(ascii: "%") { throw fail("a YAML directive: not supported here") }
            throw fail("expected 'key: value' with a plain identifier as the key")
        }
        while i < line.endIndex, isIdentifierByte(line[i]) { i += 1 }
        let key = String(decoding: line[line.startIndex..<i], as: UTF8.self)
        guard i < line.endIndex, line[i] == UInt8(ascii: ":") else {
            throw fail("expected ':' right after the key '\(key)'")
        }
        i += 1
        if i < line.endIndex, line[i] != UInt8(ascii: " ") {
            throw fail(line[i] == UInt8(ascii: "\t") ? "a tab character after '\(key):': YAML allows only spaces here"
                                                     : "expected a space after '\(key):'")
        }
        while i < line.endIndex, line[i] == UInt8(ascii: " ") { i += 1 }
        let value = try parseValue(line[i...], key: key, fail: fail)
        return YAMLEntry(key: key, value: value, line: lineNumber)
    }

    /// The value part of a line (leading whitespace already skipped).
    static func parseValue(_ text: ArraySlice<UInt8>, key: String,
                           fail: (String) -> XLSTMError) throws(XLSTMError) -> YAMLScalar {
        guard let first = text.first, first != UInt8(ascii: "#") else { return .null }
        if first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") {
            return .string(try quoted(text, key: key, fail: fail))
        }
        switch first {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            throw fail("the value of '\(key)' is a flow collection: only scalar values are supported")
        case UInt8(ascii: "&"), UInt8(ascii: "*"):
            throw fail("the value of '\(key)' uses an anchor or alias: not supported")
        case UInt8(ascii: "!"):
            throw fail("the value of '\(key)' has a tag: not supported")
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            throw fail("the value of '\(key)' is a block scalar: not supported")
        case UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: "%"), UInt8(ascii: "@"),
             UInt8(ascii: "`"):
            throw fail("the value of '\(key)' starts with the reserved character '\(Character(Unicode.Scalar(first)))'")
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            if text.count == 1 || text[text.startIndex + 1] == UInt8(ascii: " ") {
                throw fail("the value of '\(key)' is a nested collection: only scalar values are supported")
            }
        default: break
        }
        // A plain scalar runs to a ' #' comment; trailing whitespace is not part of it.
        var end = text.startIndex
        var last = text.startIndex   // one past the last non-blank byte
        while end < text.endIndex {
            let b = text[end]
            if b == UInt8(ascii: "#"), end > text.startIndex, text[end - 1] == UInt8(ascii: " ") { break }
            if b == UInt8(ascii: "\t") { throw fail("a tab character in the value of '\(key)': not allowed here") }
            if b == UInt8(ascii: ":"), end + 1 == text.endIndex || text[end + 1] == UInt8(ascii: " ") {
                throw fail("the value of '\(key)' contains ': ' (a nested mapping?): quote it if it is text")
            }
            if b >= 0x80 { throw fail("non-ASCII characters in the value of '\(key)'") }
            if b != UInt8(ascii: " ") { last = end + 1 }
            end += 1
        }
        return try resolvePlain(Array(text[text.startIndex..<last]), key: key, fail: fail)
    }

    /// 'text' ('' is a quote) or "text" (no escapes), then only whitespace and an optional comment.
    static func quoted(_ text: ArraySlice<UInt8>, key: String, fail: (String) -> XLSTMError) throws(XLSTMError) -> String {
        let quote = text.first!
        var out: [UInt8] = []
        var i = text.startIndex + 1
        var closed = false
        while i < text.endIndex {
            let b = text[i]
            if b == quote {
                if quote == UInt8(ascii: "'"), i + 1 < text.endIndex, text[i + 1] == quote {
                    out.append(quote)
                    i += 2
                    continue
                }
                closed = true
                i += 1
                break
            }
            if quote == UInt8(ascii: "\""), b == UInt8(ascii: "\\") {
                throw fail("the value of '\(key)' uses a backslash escape: not supported (use 'single quotes')")
            }
            if b >= 0x80 { throw fail("non-ASCII characters in the value of '\(key)'") }
            out.append(b)
            i += 1
        }
        guard closed else { throw fail("the quoted value of '\(key)' is not closed on its line") }
        let rest = text[i...].drop { $0 == UInt8(ascii: " ") }
        if let next = rest.first {
            guard next == UInt8(ascii: "#"), rest.startIndex > i else {
                throw fail("unexpected text after the quoted value of '\(key)'")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: PyYAML's implicit resolvers (yaml/resolver.py, YAML 1.1)

    static let nulls: Set<String> = ["~", "null", "Null", "NULL"]
    static let trues: Set<String> = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
    static let falses: Set<String> = ["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]

    static func resolvePlain(_ bytes: [UInt8], key: String, fail: (String) -> XLSTMError) throws(XLSTMError) -> YAMLScalar {
        let text = String(decoding: bytes, as: UTF8.self)
        if nulls.contains(text) { return .null }
        if text == "=" { throw fail("the value of '\(key)' is '=', a YAML 1.1 value key: not supported") }
        if trues.contains(text) { return .bool(true) }
        if falses.contains(text) { return .bool(false) }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        guard let head = bytes.first, head == UInt8(ascii: "-") || head == UInt8(ascii: "+")
                || head == UInt8(ascii: ".") || isDigit(head) else { return .string(text) }
        // Numbers in a form PyYAML reads but this subset does not: refuse rather than misread.
        if bytes.contains(UInt8(ascii: "_")) && looksNumeric(bytes) {
            throw fail("the value of '\(key)' (\(text)) uses '_' digit separators: write the number without them")
        }
        if bytes.contains(UInt8(ascii: ":")) && looksNumeric(bytes) {
            throw fail("the value of '\(key)' (\(text)) is a base-60 number: not supported")
        }
        // yyyy-m[m]-d[d]…: PyYAML's timestamp resolver makes a date of it.
        if bytes.count >= 8, bytes[0..<4].allSatisfy(isDigit), bytes[4] == UInt8(ascii: "-") {
            throw fail("the value of '\(key)' (\(text)) reads as a date in YAML 1.1: quote it if it is text")
        }
        var digits = bytes[...]
        var negative = false
        if let s = digits.first, s == UInt8(ascii: "-") || s == UInt8(ascii: "+") {
            negative = s == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        // int: 0 | [1-9][0-9]*
        if !digits.isEmpty, digits.allSatisfy(isDigit) {
            if digits.count > 1, digits.first == UInt8(ascii: "0") {
                throw fail("the value of '\(key)' (\(text)) has a leading zero, which YAML 1.1 reads as octal: not supported")
            }
            var value = 0
            for d in digits {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(d) - 48)
                guard !o1, !o2 else { throw fail("the value of '\(key)' (\(text)) is too large an integer") }
                value = sum
            }
            return .int(negative ? -value : value)
        }
        if digits.count > 2, digits.first == UInt8(ascii: "0"),
           digits[digits.startIndex + 1] == UInt8(ascii: "x") || digits[digits.startIndex + 1] == UInt8(ascii: "b") {
            throw fail("the value of '\(key)' (\(text)) is a hexadecimal or binary integer: not supported")
        }
        // float: [-+]?[0-9]+\.[0-9]*([eE][-+][0-9]+)?  |  \.[0-9]+([eE][-+][0-9]+)?   (unsigned only)
        if isYAML11Float(bytes) {
            let value = bytes.withUnsafeBufferPointer { raw -> Double in
                var zeroTerminated = Array(raw)
                zeroTerminated.append(0)
                return zeroTerminated.withUnsafeBufferPointer { p in
                    strtod(UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: CChar.self), nil)
                }
            }
            return .float(value)
        }
        return .string(text)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Digits, signs, dots, exponent letters, separators only: text that PyYAML might read as a number.
    static func looksNumeric(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { isDigit($0) || "+-._:eE".utf8.contains($0) }
    }

    static func isYAML11Float(_ bytes: [UInt8]) -> Bool {
        var i = 0
        let n = bytes.count
        var signed = false
        if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1; signed = true }
        let intStart = i
        while i < n, isDigit(bytes[i]) { i += 1 }
        let intDigits = i - intStart
        guard i < n, bytes[i] == UInt8(ascii: ".") else { return false }
        i += 1
        let fracStart = i
        while i < n, isDigit(bytes[i]) { i += 1 }
        let fracDigits = i - fracStart
        if intDigits == 0 && (signed || fracDigits == 0) { return false }   // "-.5" and "." are strings
        if i < n {
            guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return false }
            i += 1
            guard i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") else { return false }
            i += 1
            let expStart = i
            while i < n, isDigit(bytes[i]) { i += 1 }
            guard i > expStart else { return false }
        }
        return i == n
    }
}

// Doc comments: reading `///` lines from Swift trivia, and writing them as C `//` comments —
// paragraphs re-wrapped to the header's width, in ASCII.

import SwiftSyntax

enum DocComments {
    /// The `///` comment block directly above a declaration. A blank line or an ordinary `//`
    /// comment between the block and the declaration detaches it. `/** */` is refused.
    static func doc(from trivia: Trivia) -> (doc: Doc, hasBlockDoc: Bool) {
        var lines: [String] = []
        var newlines = 0
        var hasBlockDoc = false
        for piece in trivia {
            switch piece {
            case .docLineComment(let text):
                if newlines >= 2 { lines = [] }
                var body = Substring(text.dropFirst(3))
                if body.first == " " { body = body.dropFirst() }
                while let last = body.last, last == " " || last == "\t" || last == "\r" { body = body.dropLast() }
                lines.append(String(body))
                newlines = 0
            case .newlines(let n), .carriageReturnLineFeeds(let n), .carriageReturns(let n):
                newlines += n
            case .lineComment, .blockComment:
                lines = []
                newlines = 0
            case .docBlockComment:
                hasBlockDoc = true
                lines = []
                newlines = 0
            default:
                break
            }
        }
        if newlines >= 2 { lines = [] }
        return (Doc(lines: lines), hasBlockDoc)
    }

    /// The ordinary `//` comment lines at the very top of a file, up to the first blank line.
    static func fileTitle(from trivia: Trivia) -> String? {
        var lines: [String] = []
        var newlines = 0
        for piece in trivia {
            switch piece {
            case .lineComment(let text):
                if newlines >= 2 { return lines.isEmpty ? nil : lines.joined(separator: " ") }
                var body = Substring(text.dropFirst(2))
                if body.first == " " { body = body.dropFirst() }
                lines.append(body.trimmingSpaces)
                newlines = 0
            case .newlines(let n), .carriageReturnLineFeeds(let n), .carriageReturns(let n):
                newlines += n
            case .spaces, .tabs:
                break
            default:
                return lines.isEmpty ? nil : lines.joined(separator: " ")
            }
        }
        return lines.isEmpty ? nil : lines.joined(separator: " ")
    }

    // MARK: Writing

    /// Non-ASCII characters the header spells in ASCII. Any other non-ASCII character in a doc
    /// comment is an error: the header is ASCII so that every compiler reads it in every locale.
    static let asciiSpellings: [Character: String] = [
        "\u{2026}": "...",  // …
        "\u{2192}": "->",   // →
        "\u{2190}": "<-",   // ←
        "\u{2194}": "<->",  // ↔
        "\u{21D2}": "=>",   // ⇒
        "\u{2265}": ">=",   // ≥
        "\u{2264}": "<=",   // ≤
        "\u{2260}": "!=",   // ≠
        "\u{2248}": "~",    // ≈
        "\u{00B1}": "+/-",  // ±
        "\u{00D7}": "x",    // ×
        "\u{00B7}": "*",    // ·
        "\u{22C5}": "*",    // ⋅
        "\u{2212}": "-",    // − (minus)
        "\u{2013}": "-",    // –
        "\u{2014}": "--",   // —
        "\u{2018}": "'",    // ‘
        "\u{2019}": "'",    // ’
        "\u{201C}": "\"",   // “
        "\u{201D}": "\"",   // ”
        "\u{00A0}": " ",    // no-break space
        "\u{00B2}": "^2",   // ²
        "\u{221A}": "sqrt", // √
        "\u{03A3}": "sum",  // Σ
        "\u{2211}": "sum",  // ∑
        "\u{2208}": "in",   // ∈
    ]

    /// `text` in ASCII, or the first character that has no ASCII spelling.
    static func ascii(_ text: String) -> Result<String, UnmappedCharacter> {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            if character.isASCII {
                out.append(character)
            } else if let spelling = asciiSpellings[character] {
                out += spelling
            } else {
                return .failure(UnmappedCharacter(character: character))
            }
        }
        return .success(out)
    }

    struct UnmappedCharacter: Error {
        var character: Character
        var description: String {
            let codes = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }
            return "'\(character)' (\(codes.joined(separator: " ")))"
        }
    }

    /// The doc as C `//` comment lines indented by `indent`, at most `width` columns where words
    /// allow. Paragraphs (separated by blank lines) are re-wrapped; a paragraph with a list item,
    /// an indented (code) line or a code fence is kept line for line.
    static func commentLines(_ doc: Doc, indent: String, width: Int) -> [String] {
        let available = max(width - indent.count - 3, 20)
        var out: [String] = []
        var paragraph: [String] = []
        func flush() {
            guard !paragraph.isEmpty else { return }
            if paragraph.contains(where: isVerbatimLine) {
                out += paragraph.map { $0.isEmpty ? indent + "//" : indent + "// " + $0 }
            } else {
                let words = paragraph.joined(separator: " ").split(separator: " ", omittingEmptySubsequences: true)
                var line = ""
                for word in words {
                    if line.isEmpty {
                        line = String(word)
                    } else if line.count + 1 + word.count <= available {
                        line += " " + word
                    } else {
                        out.append(indent + "// " + line)
                        line = String(word)
                    }
                }
                if !line.isEmpty { out.append(indent + "// " + line) }
            }
            paragraph = []
        }
        for line in doc.lines {
            if line.trimmingSpaces.isEmpty {
                flush()
                if !out.isEmpty { out.append(indent + "//") }
            } else {
                paragraph.append(line)
            }
        }
        flush()
        while out.last == indent + "//" { out.removeLast() }
        return out
    }

    private static func isVerbatimLine(_ line: String) -> Bool {
        if line.hasPrefix("  ") || line.hasPrefix("\t") { return true }
        let trimmed = line.trimmingSpaces
        if trimmed.hasPrefix("```") { return true }
        for bullet in ["- ", "* ", "+ "] where trimmed.hasPrefix(bullet) { return true }
        // "1. " / "2) "
        let digits = trimmed.prefix(while: \.isNumber)
        if !digits.isEmpty {
            let rest = trimmed.dropFirst(digits.count)
            if rest.hasPrefix(". ") || rest.hasPrefix(") ") { return true }
        }
        return false
    }

    // MARK: Cross-references

    /// The `xlstm_…` / `XLSTM_…` identifiers a text mentions. Words ending in '_' are prefixes of
    /// patterns such as `xlstm_*_free`, not names, and are skipped.
    static func mentionedNames(in text: String) -> [String] {
        var names: [String] = []
        var word = ""
        for character in text + " " {
            if character.isASCII && (character.isLetter || character.isNumber || character == "_") {
                word.append(character)
                continue
            }
            if (word.hasPrefix("xlstm_") || word.hasPrefix("XLSTM_")) && !word.hasSuffix("_") { names.append(word) }
            word = ""
        }
        return names
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}

// JSON text from the `JSON` tree (JSON.swift): what the quantizer writes (config.json with its
// `quantization_config`, safetensors headers, the shard index). Members keep their order; doubles
// are written in Swift's shortest round-trip form, so a parsed file is rewritten with the same
// values. json-c parses; writing needs no parser, only correct escaping, so it is done here.

extension JSON {
    /// The tree as JSON text: `indent` spaces per level (0: one line, no spaces).
    /// Non-finite doubles have no JSON form and are written as `null`.
    public func serialized(indent: Int = 0) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int, level: Int) {
        func newline(_ depth: Int) {
            guard indent > 0 else { return }
            out += "\n" + String(repeating: " ", count: indent * depth)
        }
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if !d.isFinite { out += "null"; return }
            if d == d.rounded(), abs(d) < 1e15 {
                out += String(Int64(d)) + ".0"     // keep it a float (Python writes 2.0 for float fields)
            } else {
                out += d.description
            }
        case let .string(s): JSON.quote(s, into: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent > 0 ? "," : "," }
                newline(level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case let .object(members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                JSON.quote(key, into: &out)
                out += indent > 0 ? ": " : ":"
                value.write(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped; other
    /// characters (UTF-8) as they are.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// This object with `key` set to `value` (replaced in place if present, appended otherwise).
    public func setting(_ key: String, to value: JSON) -> JSON {
        guard case var .object(members) = self else { return self }
        if let i = members.firstIndex(where: { $0.0 == key }) {
            members[i].1 = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}

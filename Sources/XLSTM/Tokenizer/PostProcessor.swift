// The `post_processor` of a tokenizer.json: what `add_special_tokens` adds around the ids.
// Port of tokenizers/src/processors (tokenizers 0.23): ByteLevel (offsets only: ids unchanged),
// TemplateProcessing (its `single` template: special tokens around sequence A), Sequence.

indirect enum PostProcessor: Sendable {
    case identity
    /// The `single` template: each item is either the sequence (nil) or special-token ids.
    case template([[Int32]?])
    case sequence([PostProcessor])

    static func parse(_ json: JSON, path: String) throws(XLSTMError) -> PostProcessor {
        guard let type = json["type"]?.stringValue else {
            throw XLSTMError(.invalidModel, "\(path): a post-processor without a \"type\"")
        }
        switch type {
        case "ByteLevel":
            return .identity
        case "TemplateProcessing":
            guard let single = json["single"]?.arrayValue else {
                throw XLSTMError(.invalidModel, "\(path).single: missing or not an array")
            }
            var items: [[Int32]?] = []
            for (i, item) in single.enumerated() {
                if item["Sequence"] != nil {
                    items.append(nil)
                } else if let name = item["SpecialToken"]?["id"]?.stringValue {
                    guard let ids = json["special_tokens"]?[name]?["ids"]?.arrayValue else {
                        throw XLSTMError(.invalidModel, "\(path).special_tokens: \"\(name)\" used by single[\(i)] is not defined")
                    }
                    var values: [Int32] = []
                    for id in ids {
                        guard let v = id.intValue, v >= 0, v < Int(Int32.max) else {
                            throw XLSTMError(.invalidModel, "\(path).special_tokens[\"\(name)\"].ids: not a valid id")
                        }
                        values.append(Int32(v))
                    }
                    items.append(values)
                } else {
                    throw XLSTMError(.invalidModel, "\(path).single[\(i)]: neither a Sequence nor a SpecialToken")
                }
            }
            return .template(items)
        case "Sequence":
            guard let items = json["processors"]?.arrayValue else {
                throw XLSTMError(.invalidModel, "\(path): Sequence post-processor without a \"processors\" array")
            }
            var parts: [PostProcessor] = []
            for (i, item) in items.enumerated() { parts.append(try parse(item, path: "\(path).processors[\(i)]")) }
            return .sequence(parts)
        default:
            throw XLSTMError(.unsupported, "\(path): post-processor \"\(type)\" is not supported (supported: ByteLevel, TemplateProcessing, Sequence)")
        }
    }

    /// Every id the processor may add (for validation against the vocabulary).
    var specialIds: [Int32] {
        switch self {
        case .identity: return []
        case let .template(items): return items.compactMap { $0 }.flatMap { $0 }
        case let .sequence(parts): return parts.flatMap(\.specialIds)
        }
    }

    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .identity:
            return ids
        case let .template(items):
            var out: [Int32] = []
            out.reserveCapacity(ids.count + items.count)
            for item in items {
                if let special = item { out.append(contentsOf: special) } else { out.append(contentsOf: ids) }
            }
            return out
        case let .sequence(parts):
            var value = ids
            for part in parts { value = part.apply(value) }
            return value
        }
    }
}

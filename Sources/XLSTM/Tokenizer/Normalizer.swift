// The `normalizer` of a tokenizer.json. Port of tokenizers/src/normalizers (tokenizers 0.23):
// NFC, NFD, NFKC, NFKD (unicode_normalization), Lowercase (per scalar `char::to_lowercase`, the
// full mapping with no context rule: Σ always becomes σ), Sequence. Anything else is refused at load.

indirect enum Normalizer: Sendable {
    case form(NormalizationForm)
    case lowercase
    case sequence([Normalizer])

    /// Builds a normalizer from its JSON object; `path` names it in error messages.
    static func parse(_ json: JSON, path: String) throws(XLSTMError) -> Normalizer {
        guard let type = json["type"]?.stringValue else {
            throw XLSTMError(.invalidModel, "\(path): a normalizer without a \"type\"")
        }
        switch type {
        case "NFC": return .form(.nfc)
        case "NFD": return .form(.nfd)
        case "NFKC": return .form(.nfkc)
        case "NFKD": return .form(.nfkd)
        case "Lowercase": return .lowercase
        case "Sequence":
            guard let items = json["normalizers"]?.arrayValue else {
                throw XLSTMError(.invalidModel, "\(path): Sequence normalizer without a \"normalizers\" array")
            }
            var parts: [Normalizer] = []
            for (i, item) in items.enumerated() { parts.append(try parse(item, path: "\(path).normalizers[\(i)]")) }
            return .sequence(parts)
        default:
            throw XLSTMError(.unsupported, "\(path): normalizer \"\(type)\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)")
        }
    }

    /// Applies the normalizer to scalar values.
    func apply(_ scalars: [UInt32]) -> [UInt32] {
        switch self {
        case let .form(form):
            return UnicodeNormalizer.normalize(scalars, form: form)
        case .lowercase:
            return Self.lowercased(scalars)
        case let .sequence(parts):
            var value = scalars
            for part in parts { value = part.apply(value) }
            return value
        }
    }

    static func lowercased(_ scalars: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(scalars.count)
        for cp in scalars {
            if cp < 0x80 {
                out.append(cp >= 0x41 && cp <= 0x5A ? cp + 0x20 : cp)
            } else if let scalar = Unicode.Scalar(cp) {
                let props = scalar.properties
                if !props.changesWhenLowercased { out.append(cp); continue }
                for s in props.lowercaseMapping.unicodeScalars { out.append(s.value) }
            } else {
                out.append(cp)
            }
        }
        return out
    }
}

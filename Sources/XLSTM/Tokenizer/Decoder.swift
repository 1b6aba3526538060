// The `decoder` of a tokenizer.json: token strings back to bytes.
// Port of tokenizers/src/decoders (tokenizers 0.23): ByteLevel (each token's chars mapped back
// through GPT-2's byte alphabet; a token with a char outside it, such as an added token holding a
// raw space, contributes its own UTF-8), and no decoder (tokens joined with spaces). The final
// text is made valid UTF-8 as `String::from_utf8_lossy` does (see Utf8Repair).

enum TokenDecoder: Sendable {
    case byteLevel
    case none

    static func parse(_ json: JSON?, path: String) throws(XLSTMError) -> TokenDecoder {
        guard let json, !json.isNull else { return .none }
        guard let type = json["type"]?.stringValue else {
            throw XLSTMError(.invalidModel, "\(path): a decoder without a \"type\"")
        }
        switch type {
        case "ByteLevel": return .byteLevel
        default:
            throw XLSTMError(.unsupported, "\(path): decoder \"\(type)\" is not supported (supported: ByteLevel)")
        }
    }

    /// The bytes one token contributes (`isFirst`: no separator before it for `.none`).
    func bytes(of token: String, isFirst: Bool, into out: inout [UInt8]) {
        switch self {
        case .none:
            if !isFirst { out.append(0x20) }
            out.append(contentsOf: token.utf8)
        case .byteLevel:
            let start = out.count
            let table = ByteLevelAlphabet.charToByte
            for scalar in token.unicodeScalars {
                let v = scalar.value
                let b: Int16 = v < 0x144 ? table[Int(v)] : -1
                if b < 0 {
                    out.removeSubrange(start...)
                    out.append(contentsOf: token.utf8)
                    return
                }
                out.append(UInt8(b))
            }
        }
    }
}

/// UTF-8 validation and repair with `String::from_utf8_lossy`'s rule: every maximal invalid
/// subsequence becomes one U+FFFD.
enum Utf8Repair {
    /// Length of the valid sequence starting at `i`, 0 if invalid; `needMore` when the bytes up to
    /// the end are a valid but incomplete prefix. `invalidLength` is how many bytes one U+FFFD replaces.
    static func sequence(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (valid: Int, invalidLength: Int, needMore: Bool) {
        let b0 = bytes[i]
        if b0 < 0x80 { return (1, 0, false) }
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return (0, 1, false)
        }
        for k in 1...need {
            guard i + k < bytes.count else { return (0, k, true) }
            let b = bytes[i + k]
            let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
            if b < l || b > h { return (0, k, false) }
        }
        return (need + 1, 0, false)
    }

    /// Appends the repaired text of `bytes` to `out`. With `holdIncomplete`, a valid but incomplete
    /// sequence at the end is not emitted: the count of bytes held back is returned.
    static func repair(_ bytes: UnsafeBufferPointer<UInt8>, holdIncomplete: Bool, into out: inout [UInt8]) -> Int {
        var i = 0
        let n = bytes.count
        while i < n {
            let (valid, invalid, needMore) = sequence(bytes, at: i)
            if valid > 0 {
                for k in 0..<valid { out.append(bytes[i + k]) }
                i += valid
            } else if needMore && holdIncomplete {
                return n - i
            } else {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += invalid
            }
        }
        return 0
    }

    /// Decodes strictly valid UTF-8 into scalar values; nil and the offset of the first bad byte otherwise.
    static func scalars(_ bytes: UnsafeBufferPointer<UInt8>) -> (scalars: [UInt32]?, badOffset: Int) {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            if b0 < 0x80 { out.append(UInt32(b0)); i += 1; continue }
            let (valid, _, _) = sequence(bytes, at: i)
            guard valid > 0 else { return (nil, i) }
            var cp: UInt32
            switch valid {
            case 2: cp = UInt32(b0 & 0x1F)
            case 3: cp = UInt32(b0 & 0x0F)
            default: cp = UInt32(b0 & 0x07)
            }
            for k in 1..<valid { cp = cp << 6 | UInt32(bytes[i + k] & 0x3F) }
            out.append(cp)
            i += valid
        }
        return (out, 0)
    }
}

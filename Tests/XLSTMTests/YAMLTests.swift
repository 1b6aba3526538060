// The config.yaml reader (FlatYAML) against PyYAML's safe_load, the parser the official xlstm_large
// loader uses: Tests/Fixtures/yaml_cases.json is written by tools/make_yaml_cases.py from PyYAML 6.0.4.
// Inside the subset the reader must give exactly PyYAML's keys and values (floats bit for bit);
// outside it, it must refuse with an error naming the file and line — never read something else.

import Testing
import XLSTM

@Suite struct YAMLTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let index: Int
        let yaml: String
        let subset: Bool
        let expected: [(String, YAMLScalar)]?
        var testDescription: String { "case \(index): \(String(reflecting: yaml).prefix(60))" }
    }

    static let cases: [Case] = {
        let path = Fixtures.root + "/yaml_cases.json"
        guard let json = try? JSON.parse(readBytes(path), context: path), let items = json.arrayValue else { return [] }
        return items.enumerated().map { index, item in
            var expected: [(String, YAMLScalar)]?
            if let pairs = item["pyyaml"]?["items"]?.arrayValue {
                expected = pairs.compactMap { pair -> (String, YAMLScalar)? in
                    guard let kv = pair.arrayValue, kv.count == 2, let key = kv[0].stringValue else { return nil }
                    let v = kv[1]
                    if v["null"] != nil { return (key, .null) }
                    if let b = v["bool"]?.boolValue { return (key, .bool(b)) }
                    if let i = v["int"]?.intValue { return (key, .int(i)) }
                    if let hex = v["float"]?.stringValue, let bits = UInt64(littleEndianHex: hex) {
                        return (key, .float(Double(bitPattern: bits)))
                    }
                    if let s = v["string"]?.stringValue { return (key, .string(s)) }
                    return (key, .string("<not a scalar>"))
                }
            }
            return Case(index: index, yaml: item["yaml"]?.stringValue ?? "", subset: item["subset"]?.boolValue ?? false,
                        expected: expected)
        }
    }()

    @Test func casesArePresent() {
        #expect(Self.cases.count >= 50, "expected \(Fixtures.root)/yaml_cases.json")
        #expect(Self.cases.contains { $0.subset } && Self.cases.contains { !$0.subset })
    }

    @Test(arguments: cases)
    func readsLikePyYAMLOrRefuses(_ c: Case) throws {
        let bytes = Array(c.yaml.utf8)
        if c.subset {
            let expected = try #require(c.expected)
            let entries = try FlatYAML.parse(bytes, file: "cases.yaml")
            #expect(entries.map(\.key) == expected.map(\.0))
            for (entry, (_, value)) in zip(entries, expected) {
                #expect(same(entry.value, value), "\(entry.key): \(entry.value) vs PyYAML \(value)")
            }
        } else {
            let error = #expect(throws: XLSTMError.self) { try FlatYAML.parse(bytes, file: "cases.yaml") }
            #expect(error?.kind == .invalidModel)
            #expect(error?.message.hasPrefix("cases.yaml:") == true, "\(error?.message ?? "")")
        }
    }

    /// Floats compared by bit pattern (NaN == NaN, −0 ≠ +0).
    func same(_ a: YAMLScalar, _ b: YAMLScalar) -> Bool {
        if case let .float(x) = a, case let .float(y) = b { return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
        return a == b
    }

    @Test func linesAreCountedFromOne() {
        let error = #expect(throws: XLSTMError.self) {
            try FlatYAML.parse(Array("# c\n\nembedding_dim: 64\nnested:\n  x: 1\n".utf8), file: "x/config.yaml")
        }
        #expect(error?.message.hasPrefix("x/config.yaml:5:") == true, "\(error?.message ?? "")")
    }

    /// Hostile input never crashes, whatever its bytes.
    @Test func arbitraryBytesNeverCrash() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("ab_:# -+.0123456789eE'\"\t\r\n~[]{}&*!|>%@`,?".utf8) + [0, 0x7F, 0xC3, 0xA9, 0xFF]
        for _ in 0..<3000 {
            let count = Int(generator.next() % 40)
            let bytes = (0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            _ = try? FlatYAML.parse(bytes, file: "fuzz.yaml")
        }
    }
}

extension UInt64 {
    /// 16 hex digits of 8 little-endian bytes (Python `struct.pack("<d", x).hex()`).
    init?(littleEndianHex hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 16 else { return nil }
        var value: UInt64 = 0
        for byte in 0..<8 {
            guard let b = UInt8(String(decoding: digits[2 * byte..<2 * byte + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            value |= UInt64(b) << (8 * UInt64(byte))
        }
        self = value
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// The quantized reference fixtures (Tests/Fixtures/q8_*, q4_*, tools/make_quant_fixtures.py): models
// written by `xlstm quantize`, with the logits the OFFICIAL model computes on their numpy-dequantized
// tensors. Their logits are checked by the fixture suites with every other fixture (Swift, CLI, C,
// Python, every CPU path); this file checks their files against the documented layout.

import Testing
import XLSTM

enum QuantizedFixtures {
    static let root: String = Fixtures.root
    static let names: [String] = directoryEntries(root).filter {
        ($0.hasPrefix("q8_") || $0.hasPrefix("q4_")) && fileExists(root + "/" + $0 + "/tokens.i32")
    }
    static func modelDirectory(_ name: String) -> String { root + "/" + name + "/model" }
    static func tokens(_ name: String) -> [Int32] {
        words(readBytes(root + "/" + name + "/tokens.i32")).map { Int32(bitPattern: $0) }
    }
    static func logits(_ name: String, file: String = "logits.f32") -> [Float] {
        words(readBytes(root + "/" + name + "/" + file)).map { Float(bitPattern: $0) }
    }
}

@Suite struct QuantizedFixtureTests {
    @Test func fixturesArePresent() {
        #expect(QuantizedFixtures.names.count >= 6, "expected the committed fixtures under \(QuantizedFixtures.root)")
    }

    /// Every quantized tensor has the dtype and shapes of the documented layout, and the tensors
    /// meta.json lists as quantized are exactly those with a scale.
    @Test(arguments: QuantizedFixtures.names)
    func structureMatchesDocumentedLayout(_ name: String) throws {
        let meta = try JSON.parse(readBytes(QuantizedFixtures.root + "/" + name + "/meta.json"), context: "meta.json")
        let format = try #require(QuantFormat(rawValue: meta["dtype"]?.stringValue ?? ""))
        let config = try JSON.parse(readBytes(QuantizedFixtures.modelDirectory(name) + "/config.json"), context: "config.json")
        #expect(config["quantization_config"]?["format"]?.stringValue == format.rawValue)
        let tensors = try rawModelTensors(QuantizedFixtures.modelDirectory(name))
        var withScale: [String] = []
        for (tensor, entry) in tensors where !tensor.hasSuffix("_scale") {
            guard let scale = tensors[tensor + "_scale"] else {
                #expect(["F32", "BF16", "F16"].contains(entry.dtype), "\(tensor)")
                continue
            }
            withScale.append(tensor)
            #expect(entry.dtype == (format == .q8 ? "I8" : "U8"))
            #expect(scale.dtype == "F16" && scale.shape.count == 2 && scale.shape[0] == entry.shape[0])
            #expect(entry.shape[1] * (format == .q8 ? 1 : 2) == scale.shape[1] * 32)
        }
        #expect(withScale.sorted() == (meta["quantized_tensors"]?.arrayValue ?? []).compactMap(\.stringValue))
    }
}

// The json-c wrapper: values, errors and limits.

import Testing
import XLSTM

@Suite struct JSONTests {
    @Test func parsesValues() throws {
        let json = try JSON.parse(#"{"a": 1, "b": [true, null, 2.5, "x\u00e9"], "c": {"d": -3}}"#, context: "t")
        #expect(json["a"]?.intValue == 1)
        #expect(json["b"]?.arrayValue?.count == 4)
        #expect(json["b"]?.arrayValue?[0].boolValue == true)
        #expect(json["b"]?.arrayValue?[1].isNull == true)
        #expect(json["b"]?.arrayValue?[2].doubleValue == 2.5)
        #expect(json["b"]?.arrayValue?[3].stringValue == "xé")
        #expect(json["c"]?["d"]?.intValue == -3)
        #expect(json["missing"] == nil)
    }

    @Test func integralDoublesReadAsIntegers() throws {
        let json = try JSON.parse(#"{"a": 4.0, "b": 4.5}"#, context: "t")
        #expect(json["a"]?.intValue == 4)
        #expect(json["b"]?.intValue == nil)
    }

    @Test(arguments: ["", "{", "[1,", "{\"a\": }", "{} x", "nul"])
    func rejectsMalformed(_ text: String) {
        let error = #expect(throws: XLSTMError.self) { try JSON.parse(text, context: "file.json") }
        #expect(error?.message.hasPrefix("file.json") == true)
    }

    @Test func rejectsDeepNesting() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: XLSTMError.self) { try JSON.parse(text, context: "deep.json") }
    }
}

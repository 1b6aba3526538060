// Absurd counts in hostile files (issue #13): every count in config.json (both families), the shard
// index and safetensors headers is bounded (Limits) and checked against what the files hold before
// anything is allocated, looped over or multiplied by it. Before the fix `"num_blocks":
// 1000000000000` aborted the process inside the loader ("failed to allocate … bytes", signal 6),
// `1e9` allocated ~1 GB first, and factors like 1e300 trapped converting to Int.

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// `text` with the value of the first `"key": value` after `anchor` replaced by `value`
/// (fixture configs are pretty-printed, one member per line).
func settingField(_ text: String, _ key: String, to value: String, after anchor: String = "") -> String {
    let bytes = Array(text.utf8)
    func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
    let from = anchor.isEmpty ? 0 : find(Array(anchor.utf8), from: 0)!
    let pattern = Array("\"\(key)\": ".utf8)
    guard let at = find(pattern, from: from) else {
        // Absent: add it as the first member of the root object.
        return "{\"\(key)\": \(value), " + String(text.drop { $0 != "{" }.dropFirst())
    }
    var end = at + pattern.count
    var depth = 0
    while end < bytes.count {
        let c = bytes[end]
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
        if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { if depth == 0 { break }; depth -= 1 }
        if depth == 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "\n")) { break }
        end += 1
    }
    return String(decoding: bytes[..<(at + pattern.count)], as: UTF8.self) + value
        + String(decoding: bytes[end...], as: UTF8.self)
}

@Suite struct AbsurdDimensionTests {
    /// Loads a copy of `fixture` whose config.json has `key` (the first one after `anchor`) set to
    /// `value`; returns the error (nil when the load succeeds).
    func loadWith(_ fixture: String, _ key: String, _ value: String, after anchor: String = "") -> XLSTMError? {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory(fixture)
        copyFile(source + "/model.safetensors", directory + "/model.safetensors")
        let config = String(decoding: readBytes(source + "/config.json"), as: UTF8.self)
        writeBytes(directory + "/config.json", Array(settingField(config, key, to: value, after: anchor).utf8))
        do {
            _ = try Model(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    /// (key, anchor, value, text the message must contain)
    static let paperCases: [(String, String, String, String)] = [
        ("num_blocks", "\"context_length\": 64,\n  \"num_blocks\"", "1000000000000", "'num_blocks' must be ≤ 4096"),
        ("num_blocks", "\"context_length\": 64,\n  \"num_blocks\"", "1000000000", "'num_blocks' must be ≤"),
        ("num_blocks", "\"context_length\": 64,\n  \"num_blocks\"", "100", "num_blocks is 100 but the safetensors files hold blocks 0…3"),
        ("vocab_size", "", "1000000000000", "'vocab_size' must be ≤"),
        ("embedding_dim", "\"num_blocks\": 4,\n", "1e12", "'embedding_dim' must be ≤"),
        ("embedding_dim", "\"num_blocks\": 4,\n", "1000000000", "'embedding_dim' must be ≤"),
        ("num_heads", "\"mlstm\": {", "1000000000000", "'mlstm_block.mlstm.num_heads' must be ≤"),
        ("proj_factor", "\"mlstm\": {", "1e300", "'mlstm_block.mlstm.proj_factor' must be in"),
        ("proj_factor", "\"mlstm\": {", "-2.0", "'mlstm_block.mlstm.proj_factor' must be in"),
        ("round_proj_up_to_multiple_of", "\"mlstm\": {", "1000000000000000", "round_proj_up_to_multiple_of' must be ≤"),
        ("qkv_proj_blocksize", "\"mlstm\": {", "1000000000000", "'mlstm_block.mlstm.qkv_proj_blocksize' must be ≤"),
        ("conv1d_kernel_size", "\"mlstm\": {", "1000000000000", "conv1d_kernel_size' must be ≤"),
        ("num_heads", "\"slstm\": {", "1000000000000", "'slstm_block.slstm.num_heads' must be ≤"),
        ("conv1d_kernel_size", "\"slstm\": {", "1000000000", "'slstm_block.slstm.conv1d_kernel_size' must be ≤"),
        ("proj_factor", "\"feedforward\": {", "1e300", "'slstm_block.feedforward.proj_factor' must be in"),
        ("slstm_at", "", "[1, 1000000000000]", "'slstm_at' has an index outside"),
    ]

    static let largeCases: [(String, String, String, String)] = [
        ("num_blocks", "", "1000000000000", "'num_blocks' must be ≤ 4096"),
        ("num_blocks", "", "1000000000", "'num_blocks' must be ≤"),
        ("num_blocks", "", "1000", "num_blocks is 1000 but the safetensors files hold blocks 0…1"),
        ("vocab_size", "", "100000000000", "'vocab_size' must be ≤"),
        ("embedding_dim", "", "1000000000000", "'embedding_dim' must be ≤"),
        ("num_heads", "", "1000000000000", "'num_heads' must be ≤"),
        ("qk_dim_factor", "", "1e300", "'qk_dim_factor' must be in"),
        ("v_dim_factor", "", "-5", "'v_dim_factor' must be in"),
        ("ffn_proj_factor", "", "1e300", "'ffn_proj_factor' must be in"),
        ("ffn_round_up_to_multiple_of", "", "1000000000000000", "'ffn_round_up_to_multiple_of' must be ≤"),
        ("qk_dim_factor", "", "0.0001", "'qk_dim_factor' gives a q/k dimension 0"),
    ]

    @Test(arguments: paperCases.indices)
    func paperFamily(_ index: Int) {
        let (key, anchor, value, expected) = Self.paperCases[index]
        let error = loadWith("paper_mixed", key, value, after: anchor)
        #expect(error?.kind == .invalidModel, "\(key) = \(value): \(String(describing: error))")
        #expect(error?.message.contains(expected) == true, "\(key) = \(value): \(error?.message ?? "loaded")")
        #expect(error?.message.contains("config.json") == true)
    }

    @Test(arguments: largeCases.indices)
    func largeFamily(_ index: Int) {
        let (key, anchor, value, expected) = Self.largeCases[index]
        let error = loadWith("large_basic", key, value, after: anchor)
        #expect(error?.kind == .invalidModel, "\(key) = \(value): \(String(describing: error))")
        #expect(error?.message.contains(expected) == true, "\(key) = \(value): \(error?.message ?? "loaded")")
        #expect(error?.message.contains("config.json") == true)
    }

    /// HF configs without num_blocks fall back to num_hidden_layers: bounded the same way.
    @Test func largeFamilyHiddenLayersFallback() {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory("large_basic")
        copyFile(source + "/model.safetensors", directory + "/model.safetensors")
        var config = String(decoding: readBytes(source + "/config.json"), as: UTF8.self)
        config = settingField(config, "num_blocks", to: "null")
        config = settingField(config, "num_hidden_layers", to: "1000000000000")
        writeBytes(directory + "/config.json", Array(config.utf8))
        let error = #expect(throws: XLSTMError.self) { try Model(directory: directory) }
        #expect(error?.message.contains("'num_hidden_layers' must be ≤") == true, "\(error?.message ?? "")")
    }

    /// The unedited fixtures still load (the limits reject nothing real).
    @Test func fixturesStillLoad() throws {
        for name in Fixtures.names { _ = try Model(directory: Fixtures.modelDirectory(name)) }
    }

    @Test func safetensorsRankIsBounded() throws {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory("paper_mixed")
        copyFile(source + "/config.json", directory + "/config.json")
        var editor = try SafeTensorsEditor(path: source + "/model.safetensors")
        editor.items.append(.init(name: "extra", dtype: "F32", shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data: [0, 0, 0, 0]))
        writeBytes(directory + "/model.safetensors", editor.bytes())
        let error = #expect(throws: XLSTMError.self) { try Model(directory: directory) }
        #expect(error?.message.contains("tensor 'extra': shape has 9 dimensions") == true, "\(error?.message ?? "")")
    }

    /// A config.json above Limits.maxConfigBytes is refused by its size, before it is read or parsed.
    @Test func hugeConfigIsRefusedBySize() {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        copyFile(Fixtures.modelDirectory("paper_mixed") + "/model.safetensors", directory + "/model.safetensors")
        var config = Array("{\"model_type\": \"xlstm_lm\", \"vocab_size\": 100, \"pad\": [".utf8)
        config += [UInt8](repeating: UInt8(ascii: "0"), count: Limits.maxConfigBytes)
        config += Array("]}".utf8)
        writeBytes(directory + "/config.json", config)
        let error = #expect(throws: XLSTMError.self) { try Model(directory: directory) }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("is too large for this kind of file") == true, "\(error?.message ?? "")")
    }

    /// An index naming a huge number of tensors and shards is refused by count, not walked quadratically.
    @Test func shardIndexShardCountIsBounded() {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory("large_basic")
        copyFile(source + "/config.json", directory + "/config.json")
        var index = "{\"weight_map\": {"
        for i in 0..<(Limits.maxShards + 1) {
            index += (i > 0 ? "," : "") + "\"t\(i)\": \"shard-\(i).safetensors\""
        }
        index += "}}"
        writeBytes(directory + "/model.safetensors.index.json", Array(index.utf8))
        let error = #expect(throws: XLSTMError.self) { try Model(directory: directory) }
        #expect(error?.message.contains("more than \(Limits.maxShards) shard files") == true, "\(error?.message ?? "")")
    }
}

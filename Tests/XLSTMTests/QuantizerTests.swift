// `Quantizer.quantize` (xlstm quantize): the files it writes are safetensors with the documented
// dtypes and shapes (read here from the raw header, not through the engine's reader), every kept
// tensor is byte-identical to its source, every quantized value is within the format's rounding
// bound of its source, and failures (existing OUT_DIR, a quantized or official input, NaN, cancel)
// leave nothing behind.

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file parsed from its bytes: header entries and each tensor's data.
struct RawSafeTensors {
    struct Entry { let dtype: String; let shape: [Int]; let data: [UInt8] }
    let entries: [String: Entry]
    let metadata: JSON?
    let headerLength: Int

    init(_ path: String) throws {
        let bytes = readBytes(path)
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        headerLength = n
        let header = try JSON.parse(Array(bytes[8..<(8 + n)]), context: path)
        var entries: [String: Entry] = [:]
        var ranges: [(Int, Int)] = []
        for (name, value) in header.members ?? [] where name != "__metadata__" {
            let offsets = value["data_offsets"]!.arrayValue!.map { $0.intValue! }
            ranges.append((offsets[0], offsets[1]))
            entries[name] = Entry(dtype: value["dtype"]!.stringValue!, shape: value["shape"]!.arrayValue!.map { $0.intValue! },
                                  data: Array(bytes[(8 + n + offsets[0])..<(8 + n + offsets[1])]))
        }
        // The format's rule: the tensors cover the data contiguously, from 0 to the end of the file.
        ranges.sort { $0.0 < $1.0 }
        var end = 0
        for (begin, stop) in ranges {
            #expect(begin == end, "\(path): data not contiguous at \(begin)")
            end = stop
        }
        #expect(8 + n + end == bytes.count, "\(path): data does not end at the end of the file")
        self.entries = entries
        metadata = header["__metadata__"]
    }
}

func halfBitsToFloat(_ h: UInt16) -> Float {
    let exponent = Int(h >> 10) & 0x1F, mantissa = Float(h & 0x3FF)
    let sign: Float = h & 0x8000 != 0 ? -1 : 1
    if exponent == 0 { return sign * mantissa * 0x1p-24 }
    return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
}

func floats(_ e: RawSafeTensors.Entry) -> [Float] {
    let b = e.data
    switch e.dtype {
    case "F32": return stride(from: 0, to: b.count, by: 4).map { (i: Int) -> Float in
        let lo = UInt32(b[i]) | UInt32(b[i + 1]) << 8
        let hi = UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        return Float(bitPattern: lo | hi)
    }
    case "BF16": return stride(from: 0, to: b.count, by: 2).map { (i: Int) -> Float in
        let bits = UInt32(b[i]) | UInt32(b[i + 1]) << 8
        return Float(bitPattern: bits << 16)
    }
    case "F16": return stride(from: 0, to: b.count, by: 2).map { (i: Int) -> Float in
        let bits = UInt16(b[i]) | UInt16(b[i + 1]) << 8
        return halfBitsToFloat(bits)
    }
    default: return []
    }
}

func removeRecursively(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR, let dir = opendir(path) {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { removeRecursively(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Every tensor of a model directory (single file or shards), by name.
func rawModelTensors(_ directory: String) throws -> [String: RawSafeTensors.Entry] {
    var all: [String: RawSafeTensors.Entry] = [:]
    for name in directoryEntries(directory) where name.hasSuffix(".safetensors") {
        for (k, v) in try RawSafeTensors(directory + "/" + name).entries {
            #expect(all[k] == nil, "\(k) in two shards")
            all[k] = v
        }
    }
    return all
}

@Suite struct QuantizerTests {
    /// The quantized files against their source, tensor by tensor.
    func checkOutput(source: String, output: String, format: QuantFormat,
                     expectKept: Set<String> = []) throws {
        let src = try rawModelTensors(source), out = try rawModelTensors(output)
        var quantized = 0
        for (name, s) in src {
            let isMatrix = s.shape.count == 2 && name.hasSuffix(".weight") && s.shape[1] % 32 == 0
            guard let o = out[name] else { Issue.record("\(name) missing from the output"); continue }
            if !isMatrix || expectKept.contains(name) {
                #expect(o.dtype == s.dtype && o.shape == s.shape && o.data == s.data, "\(name): kept tensors are copied unchanged")
                #expect(out[name + "_scale"] == nil)
                continue
            }
            quantized += 1
            let rows = s.shape[0], cols = s.shape[1]
            #expect(o.dtype == (format == .q8 ? "I8" : "U8"))
            #expect(o.shape == [rows, format == .q8 ? cols : cols / 2])
            let scale = try #require(out[name + "_scale"], "\(name)_scale")
            #expect(scale.dtype == "F16" && scale.shape == [rows, cols / 32])
            let x = floats(s), d = floats(scale)
            // Dequantize by the documented layout (independently of BlockQuant.swift) and bound the error:
            // q8 rounds to the nearest multiple of d (|Δ| ≤ d/2); q4 too, except that the value opposite the
            // block's extreme may clip at +7·d (|Δ| ≤ d).
            var worst: Float = 0
            for r in 0..<rows {
                for c in 0..<cols {
                    let block = c / 32, i = c % 32
                    let value: Float
                    if format == .q8 {
                        value = Float(Int8(bitPattern: o.data[r * cols + c]))
                    } else {
                        let byte = o.data[r * cols / 2 + block * 16 + (i % 16)]
                        value = Float(Int(i < 16 ? byte & 0x0F : byte >> 4) - 8)
                    }
                    let scaleValue = d[r * cols / 32 + block]
                    let error = abs(scaleValue * value - x[r * cols + c])
                    let bound = (format == .q8 ? 0.5 : 1.0) * abs(scaleValue) * 1.0001 + 1e-30
                    worst = max(worst, error / bound)
                }
            }
            #expect(worst <= 1, "\(name): a value is off by \(worst) × its bound")
        }
        #expect(quantized > 0)
        #expect(out.count == src.count + quantized, "one scale tensor per quantized tensor, nothing else")
    }

    @Test(arguments: [QuantFormat.q8, .q4])
    func paperModelQuantizes(_ format: QuantFormat) throws {
        let tmp = makeTemporaryDirectory()
        defer { removeRecursively(tmp) }
        let source = Fixtures.modelDirectory("paper_mixed")
        let report = try Quantizer.quantize(input: source, output: tmp + "/out", options: QuantizeOptions(format: format))
        #expect(directoryEntries(tmp) == ["out"], "no temporary directory left next to OUT_DIR")
        #expect(directoryEntries(tmp + "/out") == ["config.json", "model.safetensors"])
        #expect(report.outputBytes < report.inputBytes / (format == .q8 ? 2 : 3))
        try checkOutput(source: source, output: tmp + "/out", format: format)
        let header = try RawSafeTensors(tmp + "/out/model.safetensors")
        #expect((8 + header.headerLength) % 64 == 0)
        #expect(header.metadata?["format"]?.stringValue == "pt")
        // config.json: the source's members in order, plus quantization_config.
        let before = try JSON.parse(readBytes(source + "/config.json"), context: "source")
        let after = try JSON.parse(readBytes(tmp + "/out/config.json"), context: "output")
        let qc = try #require(after["quantization_config"])
        #expect(qc == JSON.object([("quant_method", .string("xlstm")), ("format", .string(format.rawValue)),
                                   ("bits", .int(Int64(format.bits))), ("group_size", .int(32)), ("scale_dtype", .string("float16"))]))
        #expect(after.members!.dropLast().map(\.0) == before.members!.map(\.0))
        for (key, value) in before.members! { #expect(after[key] == value, "config.json \(key) changed") }
    }

    @Test func shardedBF16ModelKeepsItsShards() throws {
        let tmp = makeTemporaryDirectory()
        defer { removeRecursively(tmp) }
        let source = Fixtures.modelDirectory("large_bf16_sharded")
        _ = try Quantizer.quantize(input: source, output: tmp + "/out", options: QuantizeOptions(format: .q4))
        let files = directoryEntries(tmp + "/out")
        #expect(files == directoryEntries(source), "the same files: shards, index, config, generation_config")
        try checkOutput(source: source, output: tmp + "/out", format: .q4)
        let index = try JSON.parse(readBytes(tmp + "/out/model.safetensors.index.json"), context: "index")
        let map = try #require(index["weight_map"]?.members)
        var total = 0
        for name in files where name.hasSuffix(".safetensors") {
            let shard = try RawSafeTensors(tmp + "/out/" + name)
            for tensor in shard.entries.keys { #expect(index["weight_map"]?[tensor]?.stringValue == name) }
            total += readBytes(tmp + "/out/" + name).count
        }
        #expect(map.count == (try rawModelTensors(tmp + "/out")).count)
        #expect(index["metadata"]?["total_size"]?.intValue == total)
    }

    @Test func shardSizeLimitSplitsTheOutput() throws {
        let tmp = makeTemporaryDirectory()
        defer { removeRecursively(tmp) }
        let source = Fixtures.modelDirectory("paper_mixed")
        _ = try Quantizer.quantize(input: source, output: tmp + "/out",
                                   options: QuantizeOptions(format: .q8, maxShardBytes: 64 << 10))
        let shards = directoryEntries(tmp + "/out").filter { $0.hasSuffix(".safetensors") }
        #expect(shards.count >= 3 && shards.first == "model-00001-of-\(String(repeating: "0", count: 5 - String(shards.count).count))\(shards.count).safetensors")
        #expect(fileExists(tmp + "/out/model.safetensors.index.json"))
        try checkOutput(source: source, output: tmp + "/out", format: .q8)
    }

    @Test func keepLeavesClassesInTheirSourceDtype() throws {
        let tmp = makeTemporaryDirectory()
        defer { removeRecursively(tmp) }
        _ = try Quantizer.quantize(input: Fixtures.modelDirectory("large_basic"), output: tmp + "/a",
                                   options: QuantizeOptions(format: .q8, keep: [.embedding, .lmHead, .gates]))
        let kept: Set<String> = ["backbone.embeddings.weight", "lm_head.weight", "backbone.blocks.0.mlstm_layer.igate_preact.weight",
                                 "backbone.blocks.0.mlstm_layer.fgate_preact.weight", "backbone.blocks.1.mlstm_layer.igate_preact.weight",
                                 "backbone.blocks.1.mlstm_layer.fgate_preact.weight"]
        try checkOutput(source: Fixtures.modelDirectory("large_basic"), output: tmp + "/a", format: .q8, expectKept: kept)
        // Tied model (no lm_head tensor): keeping the lm_head keeps the shared embedding.
        _ = try Quantizer.quantize(input: Fixtures.modelDirectory("paper_mlstm_only"), output: tmp + "/b",
                                   options: QuantizeOptions(format: .q4, keep: [.lmHead]))
        try checkOutput(source: Fixtures.modelDirectory("paper_mlstm_only"), output: tmp + "/b", format: .q4,
                        expectKept: ["token_embedding.weight"])
    }

    @Test func errorsLeaveNothingBehind() throws {
        let tmp = makeTemporaryDirectory()
        defer { removeRecursively(tmp) }
        let source = Fixtures.modelDirectory("paper_mixed")
        func failure(_ input: String, _ output: String, _ options: QuantizeOptions = QuantizeOptions(format: .q8),
                     progress: @escaping (QuantizeProgress) -> Bool = { _ in true }) -> XLSTMError? {
            do {
                _ = try Quantizer.quantize(input: input, output: output, options: options, progress: progress)
                return nil
            } catch {
                return error
            }
        }
        // Cancel half-way: .cancelled, no OUT_DIR, no temporary directory.
        var calls = 0
        let cancelled = failure(source, tmp + "/c") { p in calls += 1; return p.tensorsDone < p.tensorsTotal / 2 }
        #expect(cancelled?.kind == .cancelled && calls > 1)
        #expect(directoryEntries(tmp).isEmpty)
        // An existing OUT_DIR is an error unless overwrite; with it, it is replaced.
        mkdir(tmp + "/exists", 0o755)
        writeBytes(tmp + "/exists/keep.txt", Array("old".utf8))
        let existing = failure(source, tmp + "/exists")
        #expect(existing?.kind == .invalidArgument && existing!.message.contains("already exists"))
        #expect(directoryEntries(tmp + "/exists") == ["keep.txt"])
        _ = try Quantizer.quantize(input: source, output: tmp + "/exists", options: QuantizeOptions(format: .q8, overwrite: true))
        #expect(directoryEntries(tmp + "/exists") == ["config.json", "model.safetensors"])
        #expect(directoryEntries(tmp) == ["exists"])
        // A quantized model is not quantized again.
        let again = failure(tmp + "/exists", tmp + "/again")
        #expect(again?.kind == .invalidArgument && again!.message.contains("already quantized"))
        // Official xlstm_large layout, missing directory, OUT_DIR = IN_DIR.
        #expect(failure(Fixtures.modelDirectory("official_qk96"), tmp + "/o")?.kind == .unsupported)
        #expect(failure(tmp + "/nope", tmp + "/o")?.kind == .io)
        #expect(failure(tmp + "/exists", tmp + "/exists", QuantizeOptions(format: .q4, overwrite: true))?.kind == .invalidArgument)
        // NaN in a weight matrix.
        mkdir(tmp + "/nan", 0o755)
        copyFile(source + "/config.json", tmp + "/nan/config.json")
        var bytes = readBytes(source + "/model.safetensors")
        let raw = try RawSafeTensors(source + "/model.safetensors")
        let name = "xlstm_block_stack.blocks.0.xlstm.proj_up.weight"
        #expect(raw.entries[name]?.dtype == "F32")
        let needle = Array(raw.entries[name]!.data.prefix(64))
        let at = try #require((0..<(bytes.count - 64)).first { Array(bytes[$0..<($0 + 64)]) == needle })
        bytes[at + 40] = 0x00; bytes[at + 41] = 0x00; bytes[at + 42] = 0xC0; bytes[at + 43] = 0x7F   // element 10 = NaN
        writeBytes(tmp + "/nan/model.safetensors", bytes)
        let nan = failure(tmp + "/nan", tmp + "/nanout")
        #expect(nan?.kind == .invalidModel && nan!.message.contains(name) && nan!.message.contains("NaN"))
        #expect(directoryEntries(tmp) == ["exists", "nan"])
    }

    @Test func jsonWriterRoundTrips() throws {
        let text = #"{"a": [1, -2, 3.5, 1e-05, 2.0, true, null], "b\"\n": {"c": "é\u0001"}, "d": 0.1}"#
        let parsed = try JSON.parse(text, context: "test")
        for indent in [0, 2] {
            #expect(try JSON.parse(parsed.serialized(indent: indent), context: "round trip") == parsed)
        }
    }
}

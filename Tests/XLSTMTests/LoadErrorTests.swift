// Bad model directories: each gives a clear error naming the file (and tensor), never a crash.

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// Rewrites safetensors files with chosen changes (test-only writer: header JSON + raw data).
struct SafeTensorsEditor {
    struct Item {
        var name: String
        var dtype: String
        var shape: [Int]
        var data: [UInt8]
    }
    var items: [Item]

    init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        items = file.entries.map { Item(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape, data: Array($0.bytes)) }
    }

    func bytes() -> [UInt8] {
        var header = "{"
        var offset = 0
        for (i, item) in items.enumerated() {
            if i > 0 { header += "," }
            header += "\"\(item.name)\":{\"dtype\":\"\(item.dtype)\",\"shape\":\(item.shape),\"data_offsets\":[\(offset),\(offset + item.data.count)]}"
            offset += item.data.count
        }
        header += "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var out: [UInt8] = []
        var length = UInt64(header.utf8.count)
        for _ in 0..<8 { out.append(UInt8(length & 0xFF)); length >>= 8 }
        out += Array(header.utf8)
        for item in items { out += item.data }
        return out
    }
}

@Suite struct LoadErrorTests {
    /// A copy of a fixture's model directory, edited by `edit`, then loaded; returns the error.
    func loadEdited(_ fixture: String = "paper_mixed",
                    _ edit: (String) throws -> Void) throws -> XLSTMError? {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory(fixture)
        for name in ["config.json", "model.safetensors"] { copyFile(source + "/" + name, directory + "/" + name) }
        try edit(directory)
        do {
            _ = try Model(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingDirectory() {
        let error = #expect(throws: XLSTMError.self) { try Model(directory: "/nonexistent/model") }
        #expect(error?.kind == .io)
        #expect(error?.message.contains("/nonexistent/model") == true)
    }

    @Test func missingConfig() throws {
        let error = try loadEdited { unlink($0 + "/config.json") }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("config.json") == true)
    }

    @Test func malformedConfig() throws {
        let error = try loadEdited { writeBytes($0 + "/config.json", Array("{\"model_type\": \"xlstm_lm\", ".utf8)) }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("config.json") == true)
        #expect(error?.message.contains("invalid JSON") == true)
    }

    @Test func unknownModelType() throws {
        let error = try loadEdited { writeBytes($0 + "/config.json", Array("{\"model_type\": \"llama\"}".utf8)) }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("llama") == true)
    }

    @Test func wrongFieldType() throws {
        let error = try loadEdited { directory in
            writeBytes(directory + "/config.json",
                       Array(#"{"model_type": "xlstm_lm", "vocab_size": 10, "embedding_dim": "64"}"#.utf8))
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("'embedding_dim' must be an integer") == true)
    }

    @Test func missingTensor() throws {
        let victim = "xlstm_block_stack.blocks.1.xlstm.slstm_cell.recurrent_kernel"
        let error = try loadEdited { directory in
            var editor = try SafeTensorsEditor(path: directory + "/model.safetensors")
            editor.items.removeAll { $0.name == victim }
            writeBytes(directory + "/model.safetensors", editor.bytes())
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("missing tensor '\(victim)'") == true)
        #expect(error?.message.contains("model.safetensors") == true)
    }

    @Test func wrongShape() throws {
        let victim = "token_embedding.weight"
        let error = try loadEdited { directory in
            var editor = try SafeTensorsEditor(path: directory + "/model.safetensors")
            let index = editor.items.firstIndex { $0.name == victim }!
            editor.items[index].shape = [editor.items[index].shape[1], editor.items[index].shape[0]]
            writeBytes(directory + "/model.safetensors", editor.bytes())
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains(victim) == true)
        #expect(error?.message.contains("shape") == true)
    }

    @Test func unsupportedDType() throws {
        let victim = "lm_head.weight"
        let error = try loadEdited { directory in
            var editor = try SafeTensorsEditor(path: directory + "/model.safetensors")
            let index = editor.items.firstIndex { $0.name == victim }!
            editor.items[index].dtype = "I32"
            writeBytes(directory + "/model.safetensors", editor.bytes())
        }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains(victim) == true)
        #expect(error?.message.contains("I32") == true)
    }

    @Test func truncatedFile() throws {
        let error = try loadEdited { directory in
            let bytes = readBytes(directory + "/model.safetensors")
            writeBytes(directory + "/model.safetensors", Array(bytes.prefix(bytes.count - 100)))
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("model.safetensors") == true)
        #expect(error?.message.contains("past the end") == true)
    }

    @Test func headerLengthBeyondFile() throws {
        let error = try loadEdited { directory in
            var bytes = readBytes(directory + "/model.safetensors")
            for i in 0..<8 { bytes[i] = 0x7F }
            writeBytes(directory + "/model.safetensors", bytes)
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("header length") == true)
    }

    @Test func emptyFile() throws {
        let error = try loadEdited { writeBytes($0 + "/model.safetensors", []) }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("truncated") == true)
    }

    @Test func shardIndexNamesMissingFile() throws {
        let error = try loadEdited("large_basic") { directory in
            unlink(directory + "/model.safetensors")
            writeBytes(directory + "/model.safetensors.index.json",
                       Array("{\"metadata\": {}, \"weight_map\": {\"lm_head.weight\": \"model-00001-of-00002.safetensors\"}}".utf8))
        }
        #expect(error?.kind == .io)
        #expect(error?.message.contains("model-00001-of-00002.safetensors") == true)
    }

    @Test func shardIndexEscapingDirectoryIsRejected() throws {
        let error = try loadEdited("large_basic") { directory in
            writeBytes(directory + "/model.safetensors.index.json",
                       Array("{\"weight_map\": {\"lm_head.weight\": \"../model.safetensors\"}}".utf8))
        }
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("invalid file name") == true)
    }
}

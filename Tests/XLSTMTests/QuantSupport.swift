// Test support for quantized models: a fixture's model directory turned into a q8_0 / q4_0 one
// with the reference row quantizer (QuantFormat.quantizeRow, BlockQuant.swift), and the f32
// model a quantized directory stands for (every quantized tensor replaced by dequantizeRow's
// values). Not the quantizer command (tools / `xlstm quantize` write real models); only what the
// engine tests need.

import XLSTM

enum QuantizedCopy {
    /// float32 values of a safetensors item of dtype F32, BF16 or F16.
    static func floats(_ item: SafeTensorsEditor.Item) -> [Float] {
        let d = item.data
        switch item.dtype {
        case "F32":
            return (0..<(d.count / 4)).map { i -> Float in
                var bits: UInt32 = 0
                for j in 0..<4 { bits |= UInt32(d[4 * i + j]) << (8 * UInt32(j)) }
                return Float(bitPattern: bits)
            }
        case "BF16":
            return (0..<(d.count / 2)).map { i in Float(bitPattern: (UInt32(d[2 * i]) | UInt32(d[2 * i + 1]) << 8) << 16) }
        case "F16":
            return (0..<(d.count / 2)).map { i in Float(Float16(bitPattern: UInt16(d[2 * i]) | UInt16(d[2 * i + 1]) << 8)) }
        default:
            preconditionFailure("not a float dtype: \(item.dtype)")
        }
    }

    static func bytes(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 4)
        for v in values { for j in 0..<4 { out.append(UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32(j)))) } }
        return out
    }

    /// `config` with `"quantization_config": {…}` added as its last member (or replaced by `member`).
    static func withQuantizationConfig(_ config: String, _ member: String) -> String {
        let end = config.lastIndex(of: "}")!
        return String(config[..<end]) + ", \"quantization_config\": " + member + "}\n"
    }

    static func configMember(_ format: QuantFormat) -> String {
        "{\"quant_method\": \"xlstm\", \"format\": \"\(format.rawValue)\", \"bits\": \(format.bits), "
            + "\"group_size\": 32, \"scale_dtype\": \"float16\"}"
    }

    /// Copies the fixture model `source` into `directory`, every 2-D float tensor with a multiple of
    /// 32 columns quantized in `format` except those `keep` selects. Returns the quantized names.
    @discardableResult
    static func write(from source: String, to directory: String, format: QuantFormat,
                      keep: (String) -> Bool = { _ in false }) throws -> [String] {
        var editor = try SafeTensorsEditor(path: source + "/model.safetensors")
        var items: [SafeTensorsEditor.Item] = []
        var names: [String] = []
        for item in editor.items {
            guard item.shape.count == 2, QuantFormat.canQuantize(cols: item.shape[1]), !keep(item.name) else {
                items.append(item)
                continue
            }
            let rows = item.shape[0], cols = item.shape[1]
            let values = floats(item)
            var data = [UInt8](repeating: 0, count: rows * format.dataBytes(cols: cols))
            var scales = [UInt16](repeating: 0, count: rows * cols / 32)
            values.withUnsafeBufferPointer { v in
                data.withUnsafeMutableBufferPointer { d in
                    scales.withUnsafeMutableBufferPointer { s in
                        for r in 0..<rows {
                            format.quantizeRow(v.baseAddress! + r * cols, cols: cols,
                                               data: d.baseAddress! + r * format.dataBytes(cols: cols),
                                               scales: s.baseAddress! + r * cols / 32)
                        }
                    }
                }
            }
            items.append(.init(name: item.name, dtype: format == .q8 ? "I8" : "U8",
                               shape: [rows, format == .q8 ? cols : cols / 2], data: data))
            items.append(.init(name: QuantFormat.scaleName(of: item.name), dtype: "F16", shape: [rows, cols / 32],
                               data: scales.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }))
            names.append(item.name)
        }
        editor.items = items
        writeBytes(directory + "/model.safetensors", editor.bytes())
        let config = String(decoding: readBytes(source + "/config.json"), as: UTF8.self)
        writeBytes(directory + "/config.json", Array(withQuantizationConfig(config, configMember(format)).utf8))
        return names
    }

    /// The f32 model the quantized directory `source` stands for: each quantized tensor replaced by
    /// its dequantized values (F32), scales dropped, no quantization_config.
    static func writeDequantized(from source: String, original: String, to directory: String) throws {
        var editor = try SafeTensorsEditor(path: source + "/model.safetensors")
        let byName = Dictionary(uniqueKeysWithValues: editor.items.map { ($0.name, $0) })
        var items: [SafeTensorsEditor.Item] = []
        for item in editor.items where !(item.name.hasSuffix("_scale") && byName[String(item.name.dropLast(6))] != nil) {
            guard item.dtype == "I8" || item.dtype == "U8" else {
                items.append(item)
                continue
            }
            let format: QuantFormat = item.dtype == "I8" ? .q8 : .q4
            let rows = item.shape[0], cols = format == .q8 ? item.shape[1] : 2 * item.shape[1]
            let scales = byName[QuantFormat.scaleName(of: item.name)]!.data
            var values = [Float](repeating: 0, count: rows * cols)
            item.data.withUnsafeBufferPointer { d in
                scales.withUnsafeBytes { s in
                    values.withUnsafeMutableBufferPointer { v in
                        let halves = s.bindMemory(to: UInt16.self)
                        for r in 0..<rows {
                            format.dequantizeRow(data: d.baseAddress! + r * format.dataBytes(cols: cols),
                                                 scales: halves.baseAddress! + r * cols / 32, cols: cols,
                                                 into: v.baseAddress! + r * cols)
                        }
                    }
                }
            }
            items.append(.init(name: item.name, dtype: "F32", shape: [rows, cols], data: bytes(values)))
        }
        editor.items = items
        writeBytes(directory + "/model.safetensors", editor.bytes())
        copyFile(original + "/config.json", directory + "/config.json")
    }
}

// A random-weight model of the 7B family in the transformers layout, for benchmarking without
// downloads: config.json + model.safetensors written here, then loaded like any other model.

import XLSTM

#if canImport(Glibc)
import Glibc
#endif

func writeRandomLargeModel(_ directory: String, embedding E: Int, blocks: Int, vocab: Int = 8192, bf16: Bool) throws {
    let heads = 4
    let qk = E / 2, v = E, ffn = ((E * 8 / 3) + 63) / 64 * 64
    let config = """
    {"model_type": "xlstm", "vocab_size": \(vocab), "hidden_size": \(E), "embedding_dim": \(E), \
    "num_blocks": \(blocks), "num_hidden_layers": \(blocks), "num_heads": \(heads), "use_bias": false, \
    "qk_dim_factor": 0.5, "v_dim_factor": 1.0, "ffn_proj_factor": \(Double(ffn) / Double(E)), \
    "ffn_round_up_to_multiple_of": 64, "gate_soft_cap": 15.0, "output_logit_soft_cap": 30.0, \
    "tie_word_embeddings": false, "add_out_norm": true, "norm_eps": 1e-6}
    """
    try write(directory + "/config.json", Array(config.utf8))

    var tensors: [(String, [Int])] = [("backbone.embeddings.weight", [vocab, E])]
    for b in 0..<blocks {
        let p = "backbone.blocks.\(b)."
        tensors += [(p + "norm_mlstm.weight", [E]), (p + "mlstm_layer.q.weight", [qk, E]), (p + "mlstm_layer.k.weight", [qk, E]),
                    (p + "mlstm_layer.v.weight", [v, E]), (p + "mlstm_layer.ogate_preact.weight", [v, E]),
                    (p + "mlstm_layer.igate_preact.weight", [heads, E]), (p + "mlstm_layer.igate_preact.bias", [heads]),
                    (p + "mlstm_layer.fgate_preact.weight", [heads, E]), (p + "mlstm_layer.fgate_preact.bias", [heads]),
                    (p + "mlstm_layer.multihead_norm.weight", [v]), (p + "mlstm_layer.out_proj.weight", [E, v]),
                    (p + "norm_ffn.weight", [E]), (p + "ffn.proj_up_gate.weight", [ffn, E]),
                    (p + "ffn.proj_up.weight", [ffn, E]), (p + "ffn.proj_down.weight", [E, ffn])]
    }
    tensors += [("backbone.out_norm.weight", [E]), ("lm_head.weight", [vocab, E])]

    let elementSize = bf16 ? 2 : 4
    var header = "{"
    var offset = 0
    for (i, (name, shape)) in tensors.enumerated() {
        let bytes = shape.reduce(1, *) * elementSize
        header += (i > 0 ? "," : "") + "\"\(name)\":{\"dtype\":\"\(bf16 ? "BF16" : "F32")\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}"
        offset += bytes
    }
    header += "}"
    while (8 + header.utf8.count) % 64 != 0 { header += " " }

    guard let file = fopen(directory + "/model.safetensors", "wb") else { throw BenchError("cannot write the model") }
    defer { fclose(file) }
    var length = UInt64(header.utf8.count).littleEndian
    fwrite(&length, 8, 1, file)
    fwrite(Array(header.utf8), 1, header.utf8.count, file)
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    for (name, shape) in tensors {
        let count = shape.reduce(1, *)
        let isNorm = name.hasSuffix("norm_mlstm.weight") || name.hasSuffix("norm_ffn.weight")
            || name.hasSuffix("out_norm.weight") || name.hasSuffix("multihead_norm.weight")
        let scale = isNorm ? 0 : 1 / Float(shape.last!).squareRoot()
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            values[i] = (isNorm ? 1 : 0) + scale * (Float(state >> 40) / Float(1 << 24) * 2 - 1)
        }
        if bf16 {
            let halves = values.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            _ = halves.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        } else {
            _ = values.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func write(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else { throw BenchError("\(path): cannot write") }
    fwrite(bytes, 1, bytes.count, file)
    fclose(file)
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/xlstm-bench-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: result!)
}

func removeTree(_ path: String) {
    unlink(path + "/config.json")
    unlink(path + "/model.safetensors")
    rmdir(path)
}

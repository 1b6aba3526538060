// Quantized model directories (q8_0 / q4_0, written from the fixtures by QuantizedCopy): on every
// kernel path they compute the model their dequantized weights describe, prefill ≡ step, state
// blobs round-trip bit-exactly, their fingerprint is their own, and bad quantized files give clear
// errors. (The comparison with the official implementation on dequantized weights is the
// quantizer's fixture, tools/.)

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@Suite struct QuantModelTests {
    static let fixtures = ["large_basic", "large_bias_tied_caps", "paper_mixed", "paper_mlstm_only"]

    /// A quantized copy of `fixture` and the f32 model it stands for, in temporary directories.
    struct Pair {
        let quantized: String
        let dequantized: String
        func remove() { removeTree(quantized); removeTree(dequantized) }
    }

    static func pair(_ fixture: String, _ format: QuantFormat, keep: (String) -> Bool = { _ in false }) throws -> Pair {
        let q = makeTemporaryDirectory(), f = makeTemporaryDirectory()
        let source = Fixtures.modelDirectory(fixture)
        try QuantizedCopy.write(from: source, to: q, format: format, keep: keep)
        try QuantizedCopy.writeDequantized(from: q, original: source, to: f)
        return Pair(quantized: q, dequantized: f)
    }

    static func stepAll(_ model: Model, _ tokens: [Int32]) throws -> [Float] {
        let session = try Session(model: model)
        var out: [Float] = []
        for token in tokens {
            try session.feed(token)
            out += Array(session.logits)
        }
        return out
    }

    @Test(arguments: fixtures, QuantFormat.allCases)
    func quantizedModelComputesItsDequantizedWeights(_ fixture: String, _ format: QuantFormat) throws {
        let dirs = try Self.pair(fixture, format)
        defer { dirs.remove() }
        let tokens = Fixtures.tokens(fixture)
        let original = try Model(directory: Fixtures.modelDirectory(fixture))
        for path in CPUInfo.current.supportedPaths {
            let model = try Model(directory: dirs.quantized, cpuPath: path)
            let reference = try Model(directory: dirs.dequantized, cpuPath: path)
            #expect(model.weights.quantization == format)
            #expect(model.weights.dtypes.contains(format == .q8 ? .i8 : .u8))
            #expect(model.stepWeightBytes < reference.stepWeightBytes)
            let step = try Self.stepAll(model, tokens)
            let expected = try Self.stepAll(reference, tokens)
            #expect(relativeError(step, expected) <= Tolerance.reference, "\(path): vs the dequantized f32 model")
            let prefillError = relativeError(try prefillAll(try Session(model: model), tokens), step)
            let referencePrefillError = relativeError(try prefillAll(try Session(model: reference), tokens), expected)
            // large_bias_tied_caps' quantized weights make prefill and step differ by up to 9e-5 in the
            // f32 engine too (its dequantized f32 model, measured: 0.9e-5 … 9.0e-5), so 1e-4 there.
            let bound = fixture == "large_bias_tied_caps" ? Tolerance.reference : Tolerance.prefillVsStep
            #expect(prefillError <= bound, "\(path): prefill vs step \(prefillError), dequantized f32 model's \(referencePrefillError)")
            // Its own fingerprint: not the f32 model's, not the dequantized one's.
            #expect(model.fingerprint != original.fingerprint)
            #expect(model.fingerprint != reference.fingerprint)
        }
    }

    @Test func q8AndQ4FingerprintsDiffer() throws {
        let q8 = try Self.pair("large_basic", .q8), q4 = try Self.pair("large_basic", .q4)
        defer { q8.remove(); q4.remove() }
        #expect(try Model(directory: q8.quantized).fingerprint != Model(directory: q4.quantized).fingerprint)
        // Same files, same fingerprint (it names the layout, not a load).
        #expect(try Model(directory: q8.quantized).fingerprint == Model(directory: q8.quantized).fingerprint)
    }

    /// weight_policy float32: quantized tensors dequantized to f32 panels compute exactly what the
    /// dequantized f32 directory computes (same values, same kernels).
    @Test(arguments: ["large_basic", "paper_mixed"], QuantFormat.allCases)
    func float32PolicyIsTheDequantizedModel(_ fixture: String, _ format: QuantFormat) throws {
        let dirs = try Self.pair(fixture, format)
        defer { dirs.remove() }
        let tokens = Array(Fixtures.tokens(fixture).prefix(12))
        let widened = try Model(directory: dirs.quantized, policy: .float32)
        let reference = try Model(directory: dirs.dequantized)
        #expect(try Self.stepAll(widened, tokens) == Self.stepAll(reference, tokens))
    }

    /// Some matrices kept f32 (the gates, the embedding): fused projections mix quantized and f32
    /// parts (a stack of matrices), the quantized lm_head beside an f32 embedding.
    @Test(arguments: QuantFormat.allCases, CPUInfo.current.supportedPaths)
    func mixedStorageModel(_ format: QuantFormat, _ path: CPUPath) throws {
        for fixture in ["large_basic", "paper_mixed"] {
            let dirs = try Self.pair(fixture, format) { name in
                name.contains("igate") || name.contains("fgate") || name.contains("embedding") || name.contains("proj_up_gate")
            }
            defer { dirs.remove() }
            let tokens = Fixtures.tokens(fixture)
            let model = try Model(directory: dirs.quantized, cpuPath: path)
            let reference = try Model(directory: dirs.dequantized, cpuPath: path)
            let step = try Self.stepAll(model, tokens)
            #expect(relativeError(step, try Self.stepAll(reference, tokens)) <= Tolerance.reference, "\(fixture) \(path)")
            #expect(relativeError(try prefillAll(try Session(model: model), tokens), step) <= Tolerance.prefillVsStep, "\(fixture) \(path)")
        }
    }

    func save(_ session: Session) throws -> [UInt8] {
        var blob = [UInt8](repeating: 0, count: StateBlob.size(for: session.model))
        _ = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(session, into: raw) }
        return blob
    }

    @Test(arguments: ["large_basic", "paper_mixed"], QuantFormat.allCases)
    func stateSaveLoadContinueIsBitExact(_ fixture: String, _ format: QuantFormat) throws {
        let dirs = try Self.pair(fixture, format)
        defer { dirs.remove() }
        let tokens = Fixtures.tokens(fixture)
        for path in CPUInfo.current.supportedPaths {
            let model = try Model(directory: dirs.quantized, cpuPath: path)
            let uninterrupted = try Session(model: model)
            for token in tokens.prefix(10) { try uninterrupted.feed(token) }
            let blob = try save(uninterrupted)
            let resumed = try Session(model: model)
            let result = blob.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try StateBlob.load(raw, into: resumed) } }
            try result.get()
            for token in tokens.dropFirst(10).prefix(10) {
                try uninterrupted.feed(token)
                try resumed.feed(token)
                #expect(Array(resumed.logits) == Array(uninterrupted.logits), "\(path)")
            }
            // The f32 model refuses the quantized model's state (another fingerprint).
            let f32 = try Session(model: try Model(directory: Fixtures.modelDirectory(fixture), cpuPath: path))
            let refused = blob.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try StateBlob.load(raw, into: f32) } }
            #expect(throws: XLSTMError.self) { try refused.get() }
        }
    }

    // MARK: bad quantized files

    /// A q8_0 (or q4_0) copy of large_basic, edited (safetensors items; `config` makes config.json
    /// from the fixture's unquantized one, by default adding the format's quantization_config), then loaded.
    func loadEdited(_ format: QuantFormat = .q8, items edit: (inout [SafeTensorsEditor.Item]) -> Void = { _ in },
                    config: ((String) -> String)? = nil, threads: Int = 1) throws -> XLSTMError? {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        try QuantizedCopy.write(from: Fixtures.modelDirectory("large_basic"), to: directory, format: format)
        var editor = try SafeTensorsEditor(path: directory + "/model.safetensors")
        edit(&editor.items)
        writeBytes(directory + "/model.safetensors", editor.bytes())
        let original = String(decoding: readBytes(Fixtures.modelDirectory("large_basic") + "/config.json"), as: UTF8.self)
        let text = config?(original) ?? QuantizedCopy.withQuantizationConfig(original, QuantizedCopy.configMember(format))
        writeBytes(directory + "/config.json", Array(text.utf8))
        do {
            _ = try Model(directory: directory, threads: threads)
            return nil
        } catch {
            return error
        }
    }

    static let victim = "backbone.blocks.1.mlstm_layer.v.weight"

    func replacingMember(_ original: String, _ member: String) -> String {
        QuantizedCopy.withQuantizationConfig(original, member)
    }

    @Test func editedCopyStillLoads() throws {
        #expect(try loadEdited() == nil)
        #expect(try loadEdited(.q4) == nil)
    }

    @Test func wrongCodeDType() throws {
        let error = try loadEdited(items: { items in
            items[items.firstIndex { $0.name == Self.victim }!].dtype = "U8"
        })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains(Self.victim) == true)
        #expect(error?.message.contains("q8_0 stores I8") == true)
    }

    @Test func quantizedCodesWithoutQuantizationConfig() throws {
        let error = try loadEdited(config: { $0 })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("no quantization_config") == true)
    }

    @Test func missingScale() throws {
        let error = try loadEdited(items: { items in items.removeAll { $0.name == Self.victim + "_scale" } })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("missing tensor '\(Self.victim)_scale'") == true)
    }

    @Test func wrongScaleShape() throws {
        let error = try loadEdited(items: { items in
            let i = items.firstIndex { $0.name == Self.victim + "_scale" }!
            items[i].shape = [items[i].shape[0] * items[i].shape[1], 1]
        })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("\(Self.victim)_scale' has shape [128, 1], expected [64, 2]") == true)
    }

    @Test func wrongScaleDType() throws {
        let error = try loadEdited(items: { items in items[items.firstIndex { $0.name == Self.victim + "_scale" }!].dtype = "BF16" })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("must be F16") == true)
    }

    @Test func q4CodesOfTooFewColumns() throws {
        let error = try loadEdited(.q4, items: { items in
            let i = items.firstIndex { $0.name == Self.victim }!
            items[i].shape = [items[i].shape[0] * 4, items[i].shape[1] / 4]   // 8 bytes = 16 columns a row
        })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("not a multiple of the block size 32") == true)
    }

    /// A non-finite scale, also with the repack split across two threads: the fused projection of
    /// block 1 (q | k | v | ogate | gates, 200 rows = 7 panels) puts v's row 1 in the first thread's
    /// panels and ogate's row 10 in the second's. Both loads report the same (first) bad row.
    @Test(arguments: [["v.weight"], ["ogate_preact.weight"], ["v.weight", "ogate_preact.weight"]])
    func nonFiniteScale(_ victims: [String]) throws {
        var messages: [String] = []
        for threads in [1, 2] {
            let error = try loadEdited(items: { items in
                for victim in victims {
                    let i = items.firstIndex { $0.name == "backbone.blocks.1.mlstm_layer.\(victim)_scale" }!
                    let at = (victim == "v.weight" ? 1 : 10) * items[i].shape[1] * 2   // that row's first scale
                    items[i].data[at] = 0x00; items[i].data[at + 1] = 0x7C   // +inf
                }
            }, threads: threads)
            #expect(error?.kind == .invalidModel)
            #expect(error?.message.contains("the scale is not finite") == true)
            messages.append(String((error?.message ?? "").split(separator: ":").dropFirst().joined(separator: ":")))
        }
        #expect(messages[0] == messages[1], "\(messages)")
        #expect(messages[0].contains(victims[0] == "v.weight" ? "row 65, block 0" : "row 138, block 0"), "\(messages[0])")
    }

    @Test func unknownFormat() throws {
        let error = try loadEdited(config: { replacingMember($0, "{\"quant_method\": \"xlstm\", \"format\": \"q3_k\"}") })
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("format \"q3_k\" is not supported (q8_0, q4_0)") == true)
    }

    @Test func groupSize64() throws {
        let error = try loadEdited(config: {
            replacingMember($0, "{\"quant_method\": \"xlstm\", \"format\": \"q8_0\", \"bits\": 8, \"group_size\": 64}")
        })
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("group_size 64 is not supported") == true)
    }

    @Test func otherQuantMethodBitsAndScaleType() throws {
        let method = try loadEdited(config: { replacingMember($0, "{\"quant_method\": \"gptq\", \"bits\": 4}") })
        #expect(method?.kind == .unsupported)
        #expect(method?.message.contains("quant_method \"gptq\" is not supported") == true)
        let bits = try loadEdited(config: { replacingMember($0, "{\"quant_method\": \"xlstm\", \"format\": \"q8_0\", \"bits\": 4}") })
        #expect(bits?.kind == .invalidModel)
        #expect(bits?.message.contains("'quantization_config.bits' is 4, but format q8_0 has 8-bit codes") == true)
        let scale = try loadEdited(config: {
            replacingMember($0, "{\"quant_method\": \"xlstm\", \"format\": \"q8_0\", \"scale_dtype\": \"float32\"}")
        })
        #expect(scale?.kind == .unsupported)
        let notObject = try loadEdited(config: { replacingMember($0, "\"q8_0\"") })
        #expect(notObject?.kind == .invalidModel)
        #expect(notObject?.message.contains("'quantization_config' must be an object") == true)
    }

    @Test func q8CodesUnderQ4Config() throws {
        let error = try loadEdited(config: { replacingMember($0, QuantizedCopy.configMember(.q4)) })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("q4_0 stores U8") == true)
    }
}

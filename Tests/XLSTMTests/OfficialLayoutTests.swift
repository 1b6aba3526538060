// Official xlstm_large checkpoints (config.yaml + model.safetensors / model_{n}.safetensors, as
// xlstm.xlstm_large.from_pretrained.load_from_pretrained reads them): what is found where, and clear
// errors naming the file and line for configs the official loader would refuse or misread.
// (Logits against the official xLSTMLarge: ReferenceFixtureTests / PrefillTests on official_*.)

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@Suite struct OfficialLayoutTests {
    /// Names of the regular files in `directory`.
    func fileNames(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// A copy of an official fixture's model directory, edited by `edit`, then loaded.
    func loadEdited(_ fixture: String, _ edit: (String) throws -> Void) throws -> Result<Model, XLSTMError> {
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory(fixture)
        for name in fileNames(source) { copyFile(source + "/" + name, directory + "/" + name) }
        try edit(directory)
        do {
            return .success(try Model(directory: directory))
        } catch {
            return .failure(error)
        }
    }

    func failure(_ result: Result<Model, XLSTMError>) -> XLSTMError? {
        if case let .failure(error) = result { return error }
        return nil
    }

    func editConfig(_ directory: String, _ change: (String) -> String) {
        let path = directory + "/config.yaml"
        writeBytes(path, Array(change(String(decoding: readBytes(path), as: UTF8.self)).utf8))
    }

    @Test func fixturesUseTheOfficialLayout() {
        #expect(fileNames(Fixtures.modelDirectory("official_qk96")) == ["config.yaml", "model.safetensors"])
        #expect(fileNames(Fixtures.modelDirectory("official_bias_sharded_bf16"))
                == ["config.yaml", "model_0.safetensors", "model_1.safetensors", "model_2.safetensors"])
    }

    @Test func describesTheOfficialConfig() throws {
        let model = try Model(directory: Fixtures.modelDirectory("official_bias_sharded_bf16"))
        guard case let .large(c) = model.config else { Issue.record("not the 7B family"); return }
        #expect(c.embeddingDim == 64 && c.numHeads == 2 && c.numBlocks == 2 && c.vocabSize == 80)
        #expect(c.qkDim == 24 && c.vDim == 48 && c.ffnDim == 96 && c.useBias && c.addOutNorm)
        #expect(c.normEps == Float(1e-5) && c.cellEps == Float(1e-5))
        #expect(c.gateSoftCap == 10 && c.outputLogitSoftCap == nil && !c.fusedWeights && !c.tieWordEmbeddings)
        let fused = try Model(directory: Fixtures.modelDirectory("official_fused_no_out_norm"))
        guard case let .large(f) = fused.config else { Issue.record("not the 7B family"); return }
        #expect(f.fusedWeights && !f.addOutNorm && f.gateSoftCap == nil && f.outputLogitSoftCap == nil)
        #expect(f.normEps == Float(1e-6) && f.ffnDim == 64)   // defaults of xLSTMLargeConfig
    }

    @Test func shardsStopAtTheFirstGap() throws {
        // model_3 after a missing model_2 is not read (load_from_pretrained stops at the first gap).
        let error = failure(try loadEdited("official_bias_sharded_bf16") { directory in
            rename(directory + "/model_2.safetensors", directory + "/model_3.safetensors")
        })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains("missing tensor") == true, "\(error?.message ?? "")")
    }

    @Test func aLaterShardWinsADuplicateTensor() throws {
        // dict.update: a tensor repeated in a later model_{n} replaces the earlier one. A zero lm_head
        // (this fixture has no logit cap) makes every logit exactly zero.
        let result = try loadEdited("official_bias_sharded_bf16") { directory in
            let shard = SafeTensorsEditor.Item(name: "lm_head.weight", dtype: "BF16", shape: [80, 64],
                                               data: [UInt8](repeating: 0, count: 80 * 64 * 2))
            writeBytes(directory + "/model_3.safetensors", SafeTensorsEditor(items: [shard]).bytes())
        }
        let model = try result.get()
        let session = try Session(model: model)
        try session.feed(Fixtures.tokens("official_bias_sharded_bf16")[0])
        #expect(session.logits.allSatisfy { $0 == 0 })
    }

    @Test func tensorsTheConfigDoesNotDescribeAreRefused() throws {
        // num_blocks 1 while the file holds 2 blocks: the official strict load_state_dict refuses it.
        let error = failure(try loadEdited("official_qk96") { directory in
            editConfig(directory) { $0.replacingNumBlocks(with: 1) }
        })
        #expect(error?.message.contains("backbone.blocks.1.") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("is not part of the model config.yaml describes") == true)
    }

    @Test func modelSafetensorsTakesPrecedenceOverShards() throws {
        let result = try loadEdited("official_qk96") { directory in
            writeBytes(directory + "/model_0.safetensors", Array("not a safetensors file".utf8))
        }
        #expect(throws: Never.self) { try result.get() }
    }

    @Test func outNormBiasIsRequiredWithUseBias() throws {
        let error = failure(try loadEdited("official_bias_sharded_bf16") { directory in
            for n in 0..<3 {
                let path = directory + "/model_\(n).safetensors"
                var editor = try SafeTensorsEditor(path: path)
                editor.items.removeAll { $0.name == "backbone.out_norm.bias" }
                writeBytes(path, editor.bytes())
            }
        })
        #expect(error?.message.contains("backbone.out_norm.bias") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [
        ("bogus_field: 1\n", "config.yaml:25: unknown xLSTMLargeConfig field 'bogus_field'"),
        ("hidden_size: 64\n", "unknown xLSTMLargeConfig field 'hidden_size'"),
        ("norm_eps: 1e-6\n", "norm_eps must be a finite number, got \"1e-6\" (YAML 1.1"),
        ("use_bias: 1\n", "use_bias must be true or false"),
        ("nested:\n  x: 1\n", "config.yaml:26: indented line"),
        ("num_heads: 5\n", "num_heads = 5 must divide"),
        ("weight_mode: packed\n", "weight_mode must be one of single, fused"),
        ("gate_soft_cap: .nan\n", "gate_soft_cap must be a finite number or null"),
        ("embedding_dim: 99999999999999\n", "embedding_dim must be in 1...2147483648"),
        ("qk_dim_factor: 1.0e+300\n", "qk_dim_factor = 1e+300 gives"),
        ("vocab_size: 0\n", "vocab_size must be in 1"),
    ])
    func configErrorsNameFileAndLine(_ appended: String, _ expected: String) throws {
        // Appending a line: a duplicate key is an error of its own, so the fixture's key is removed first.
        let key = String(appended.prefix { $0 != ":" })
        let error = failure(try loadEdited("official_qk96") { directory in
            editConfig(directory) { text in
                text.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix(key + ":") }.joined(separator: "\n") + appended
            }
        })
        #expect(error?.kind == .invalidModel)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains("/config.yaml") == true)
    }

    @Test func requiredFieldMissing() throws {
        let error = failure(try loadEdited("official_qk96") { directory in
            editConfig(directory) { $0.split(separator: "\n").filter { !$0.hasPrefix("num_blocks:") }.joined(separator: "\n") }
        })
        #expect(error?.message.contains("required field 'num_blocks' is missing") == true, "\(error?.message ?? "")")
    }

    @Test func configJsonWinsOverConfigYaml() throws {
        // A transformers directory that also carries the original config.yaml is read as transformers'.
        let directory = makeTemporaryDirectory()
        defer { removeTree(directory) }
        let source = Fixtures.modelDirectory("large_basic")
        for name in ["config.json", "model.safetensors"] { copyFile(source + "/" + name, directory + "/" + name) }
        writeBytes(directory + "/config.yaml", Array("this: [is, not, read]\n".utf8))
        #expect(throws: Never.self) { try Model(directory: directory) }
    }

    @Test func noConfigAtAll() throws {
        let error = failure(try loadEdited("official_qk96") { unlink($0 + "/config.yaml") })
        #expect(error?.message.contains("no config.json (nor the config.yaml") == true, "\(error?.message ?? "")")
    }
}

extension SafeTensorsEditor {
    init(items: [Item]) { self.items = items }
}

extension String {
    /// This config.yaml text with its `num_blocks:` line replaced.
    func replacingNumBlocks(with count: Int) -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("num_blocks:") ? "num_blocks: \(count)" : String($0) }.joined(separator: "\n")
    }
}

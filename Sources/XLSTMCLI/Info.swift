import ArgumentParser
import XLSTM

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model directory: family, blocks, dimensions, parameters, dtype, state size, kernel path.")

    @Argument(help: "Model directory (config.json or an official xlstm_large config.yaml, + safetensors).")
    var modelDirectory: String

    @Option(help: precisionHelp)
    var precision: Precision = .exact

    func run() throws {
        let model = loadModel(modelDirectory, precision: precision)
        let kinds = model.blockKinds
        let mlstmCount = kinds.filter { $0 == .mLSTM }.count
        let familyName: String
        switch model.layout {
        case .paper: familyName = "paper (xLSTMLMModel)"
        case .transformers: familyName = "xLSTM 7B (transformers xLSTMForCausalLM layout)"
        case .xlstmLarge: familyName = "xLSTM 7B (official xlstm_large checkpoint: config.yaml)"
        }
        let dtypes = model.weights.dtypes.map(\.rawValue).sorted().joined(separator: ", ")
        print("family:          \(familyName)")
        print("blocks:          \(kinds.count) (\(mlstmCount) mLSTM, \(kinds.count - mlstmCount) sLSTM)")
        print("block map:       \(kinds.map(\.rawValue).joined(separator: " "))")
        print("embedding dim:   \(model.embeddingDim)")
        print("vocab size:      \(model.vocabSize)")
        switch model.config {
        case let .paper(c):
            if let m = c.mlstm {
                print("mLSTM:           inner dim \(m.innerDim), \(m.numHeads) heads, conv \(m.convKernelSize), qkv block \(m.qkvProjBlockSize)")
            }
            if let s = c.slstm {
                print("sLSTM:           \(s.numHeads) heads, conv \(s.convKernelSize)")
            }
            if let f = c.feedForward {
                print("feed-forward:    \(f.upDim) (\(f.activation.rawValue))")
            }
        case let .large(c):
            print("heads:           \(c.numHeads) (q/k dim \(c.qkDim), v dim \(c.vDim))")
            print("feed-forward:    \(c.ffnDim) (SwiGLU)")
            print("soft caps:       gates \(c.gateSoftCap.map { "\($0)" } ?? "none"), logits \(c.outputLogitSoftCap.map { "\($0)" } ?? "none")")
        }
        print("parameters:      \(model.parameterCount)")
        print("weight dtype:    \(dtypes)")
        print("state / session: \(model.stateBytes) bytes")
        print("memory / session: \(Session.bytes(for: model)) bytes (state + logits + bookkeeping; a feeding thread's "
              + "scratch is shared by all its sessions: step \(model.stepScratchBytes), prefill window "
              + "\(model.prefillScratchBytes()), batch \(model.batchScratchBytesPerSession) per session)")
        let cpu = CPUInfo.current
        print("kernels:         \(model.cpuPath) (\(cpu.brand); runs \(cpu.supportedPaths.map(\.description).joined(separator: ", "))"
              + "; XLSTM_CPU=portable|avx2|avx512 forces a lower path; streamed matvecs: "
              + (model.kernels.oneStream ? "one panel stream" : "two panel streams") + ")")
        let int8 = model.kernels.int8MatVec
        print("precision:       \(model.precision)" + (model.precision == .fast
            ? " (the q8/q4 projections: int8 activations, \(int8 ?? "?")"
                + (model.kernels.bf16GEMMName.map { "; bf16 projections: bf16 activations, \($0)" } ?? "") + ")"
            : " (float32 activations" + (int8.map { "; q8/q4 matvecs: \($0)" } ?? "") + ")"))
    }
}

import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bits per byte (or per token) of a text under a model.",
        discussion: """
        The text is one stream fed from the initial state: the result is the mean of −log2 p(x[t+1] | x[0…t])
        over t = 0…n−2. Byte-level models read FILE as bytes; other models read it as raw little-endian
        int32 token ids (--token-file). Windows of tokens go through the parallel prefill (--step: one token
        at a time). A progress bar is drawn on stderr when it is a terminal.
        """)

    @Argument(help: "Model directory.")
    var modelDirectory: String

    @Argument(help: "Text file (byte-level models) or int32 token file (with --token-file).")
    var file: String

    @Flag(name: .customLong("token-file"), help: "FILE holds raw little-endian int32 token ids.")
    var tokenFile = false

    @Flag(help: "Feed one token at a time (the step, as generation does; what --precision fast changes) instead of prefill windows.")
    var step = false

    @Option(help: "Worker threads (≥ 1).")
    var threads: Int = 1

    @Option(help: precisionHelp)
    var precision: Precision = .exact

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let model = loadModel(modelDirectory, threads: threads, precision: precision)
        let bytes = readFile(file)
        let tokens: [Int32]
        if tokenFile {
            guard bytes.count % 4 == 0 else { fail("\(file): size \(bytes.count) is not a multiple of 4 (int32 tokens)") }
            tokens = int32LittleEndian(bytes)
        } else {
            guard isByteLevel(model) else {
                fail("this model's vocabulary (\(model.vocabSize)) is not byte-level: pass int32 token ids with --token-file")
            }
            tokens = bytes.map { Int32($0) }
        }
        guard tokens.count >= 2 else { fail("\(file): at least 2 tokens are needed") }

        let session = makeSession(model)
        let vocab = model.vocabSize, window = session.prefillWindow
        var logits = [Float](repeating: 0, count: window * vocab)
        var totalBits = 0.0
        let progress = Progress(total: tokens.count - 1)
        var start = 0
        while start < tokens.count - 1 {
            let count = min(window, tokens.count - 1 - start)
            do {
                if step {
                    for t in 0..<count {
                        try session.feed(tokens[start + t])
                        for j in 0..<vocab { logits[t * vocab + j] = session.logits[j] }
                    }
                } else {
                    try tokens[start..<(start + count)].withUnsafeBufferPointer { ids throws(XLSTMError) in
                        let result = logits.withUnsafeMutableBufferPointer { out in
                            Result { () throws(XLSTMError) in try session.prefill(ids, logits: .all(out.baseAddress!)) }
                        }
                        try result.get()
                    }
                }
            } catch {
                fail("token \(start): \(error.message)")
            }
            for t in 0..<count {
                totalBits += negativeLog2Probability(logits, row: t, vocab: vocab, target: Int(tokens[start + t + 1]))
            }
            start += count
            progress.update(start)
        }
        progress.finish()
        let predicted = Double(tokens.count - 1)
        let unit = tokenFile ? "token" : "byte"
        print("bits per \(unit): \(format(totalBits / predicted))")
        print("perplexity: \(format(exp2(totalBits / predicted)))")
        print("\(unit)s predicted: \(tokens.count - 1)")
    }

    func format(_ value: Double) -> String {
        let scaled = (value * 100_000).rounded() / 100_000
        return "\(scaled)"
    }
}

/// −log2 softmax(logits[row])[target], in double precision.
func negativeLog2Probability(_ logits: [Float], row: Int, vocab: Int, target: Int) -> Double {
    let base = row * vocab
    var maxLogit = -Double.infinity
    for j in 0..<vocab { maxLogit = max(maxLogit, Double(logits[base + j])) }
    var sum = 0.0
    for j in 0..<vocab { sum += exp(Double(logits[base + j]) - maxLogit) }
    let logProbability = Double(logits[base + target]) - maxLogit - log(sum)
    return -logProbability / log(2.0)
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class Progress {
    let total: Int
    let enabled: Bool
    var lastPercent = -1

    init(total: Int) {
        self.total = total
        enabled = isatty(2) != 0 && total >= 4096
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let percent = done * 100 / max(total, 1)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let filled = percent * 30 / 100
        let bar = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] \(percent)%"
        _ = Array(bar.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    func finish() {
        guard enabled else { return }
        _ = Array("\r\u{1B}[K".utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

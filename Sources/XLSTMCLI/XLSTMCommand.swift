// `xlstm` — the command-line face of the engine. Subcommands share one contract: results on stdout
// (or in the named output file), a one-line message on stderr and a non-zero exit on any error.

import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@main
struct XLSTMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xlstm",
        abstract: "Run xLSTM language models (paper family and xLSTM 7B) on the CPU.",
        subcommands: [Generate.self, Tokenize.self, Detokenize.self, Perplexity.self, Info.self, Eval.self, Quantize.self]
    )
}

/// Prints `message` as one line on stderr and exits with status 1.
func fail(_ message: String) -> Never {
    let line = Array("xlstm: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func loadModel(_ directory: String, threads: Int = 1, precision: Precision = .exact) -> Model {
    do {
        return try Model(directory: directory, threads: threads, precision: precision)
    } catch {
        fail(error.message)
    }
}

/// A session of `model`, or the process ends with the message (out of memory).
func makeSession(_ model: Model) -> Session {
    do {
        return try Session(model: model)
    } catch {
        fail(error.message)
    }
}

/// Byte-level models (vocabulary of 256 bytes plus at most 4 specials) read and write text directly;
/// other models take token ids until a tokenizer is available.
func isByteLevel(_ model: Model) -> Bool {
    (256...260).contains(model.vocabSize)
}

/// "1,2,3" → [1, 2, 3], or a one-line error.
func parseTokenList(_ text: String) -> [Int32] {
    text.split(separator: ",").map { part in
        guard let value = Int32(part.trimmingWhitespace()) else { fail("--tokens: '\(part)' is not a token id") }
        return value
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}

/// Writes bytes to stdout immediately (unbuffered streaming).
func writeOut(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n <= 0 { if errno == EINTR { continue }; exit(1) }
        offset += n
    }
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

extension Precision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

/// What `--precision` does, for the help of every command that loads a model.
let precisionHelp: ArgumentHelp = """
    exact (float32 activations: the official code's results within 1e-4) or fast (q8/q4 projections \
    take int8 activations, bf16 ones bf16 activations on AVX-512 BF16: faster prefill, README "Precision").
    """

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
        subcommands: [Info.self, Eval.self]
    )
}

/// Prints `message` as one line on stderr and exits with status 1.
func fail(_ message: String) -> Never {
    let line = Array("xlstm: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func loadModel(_ directory: String) -> Model {
    do {
        return try Model(directory: directory)
    } catch {
        fail(error.message)
    }
}

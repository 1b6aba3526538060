import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Logits after every token of a token file.",
        discussion: """
        TOKENS is raw little-endian int32 token ids. LOGITS is written as raw little-endian float32 of
        shape [n_tokens, vocab_size]: row t holds the logits after consuming tokens[0...t].
        """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case step, prefill
    }

    @Argument(help: "Model directory (config.json or an official xlstm_large config.yaml, + safetensors).")
    var modelDirectory: String

    @Option(name: .customLong("tokens"), help: "Input token ids (raw little-endian int32).")
    var tokensPath: String

    @Option(name: .customLong("logits-out"), help: "Output logits (raw little-endian float32, [n_tokens, vocab]).")
    var logitsPath: String

    @Option(help: "step: one token at a time; prefill: the whole sequence in one call.")
    var mode: Mode = .step

    @Option(help: "Worker threads for the matrix kernels (≥ 1).")
    var threads: Int = 1

    @Option(help: precisionHelp)
    var precision: Precision = .exact

    @Option(name: .customLong("chunk-size"), help: "Chunk size of the chunkwise-parallel mLSTM cell (prefill mode).")
    var chunkSize: Int = 64

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1") }
    }

    func run() throws {
        let model = loadModel(modelDirectory, threads: threads, precision: precision)
        let bytes = readFile(tokensPath)
        guard bytes.count % 4 == 0 else { fail("\(tokensPath): size \(bytes.count) is not a multiple of 4 (int32 tokens)") }
        let tokens = int32LittleEndian(bytes)
        guard !tokens.isEmpty else { fail("\(tokensPath): no tokens") }
        let session = makeSession(model)
        session.mLSTMChunkSize = chunkSize
        let vocab = model.vocabSize
        guard let out = fopen(logitsPath, "wb") else { fail("\(logitsPath): cannot open for writing") }
        var row = [UInt8](repeating: 0, count: vocab * 4)
        func writeRow(_ values: UnsafePointer<Float>) {
            for j in 0..<vocab {
                let bits = values[j].bitPattern
                row[4 * j] = UInt8(truncatingIfNeeded: bits)
                row[4 * j + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                row[4 * j + 2] = UInt8(truncatingIfNeeded: bits >> 16)
                row[4 * j + 3] = UInt8(truncatingIfNeeded: bits >> 24)
            }
            guard fwrite(row, 1, row.count, out) == row.count else {
                fclose(out)
                fail("\(logitsPath): write failed")
            }
        }
        switch mode {
        case .step:
            for (position, token) in tokens.enumerated() {
                do {
                    try session.feed(token)
                } catch {
                    fclose(out)
                    fail("token \(position): \(error.message)")
                }
                writeRow(session.logits.baseAddress!)
            }
        case .prefill:
            // Window by window (prefill's own windows: the same results as one call), so the logits
            // held at once are [window, vocab], not [n_tokens, vocab].
            let window = session.prefillWindow
            let rowBytes = min(window, tokens.count) * vocab * 4
            guard let raw = malloc(rowBytes) else {
                fclose(out)
                fail("out of memory: the system refused \(rowBytes) bytes for \(min(window, tokens.count)) rows of logits")
            }
            defer { free(raw) }
            let rows = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: rowBytes / 4), count: rowBytes / 4)
            var start = 0
            while start < tokens.count {
                let count = min(window, tokens.count - start)
                let status = tokens.withUnsafeBufferPointer { ids in
                    Result { () throws(XLSTMError) in
                        try session.prefill(UnsafeBufferPointer(rebasing: ids[start..<(start + count)]),
                                            logits: .all(rows.baseAddress!))
                    }
                }
                if case let .failure(error) = status {
                    fclose(out)
                    fail(error.message)
                }
                for t in 0..<count { writeRow(rows.baseAddress! + t * vocab) }
                start += count
            }
        }
        guard fclose(out) == 0 else { fail("\(logitsPath): write failed") }
    }
}

/// The whole file, or a one-line error and exit.
func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fail("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(file) != 0 { fail("\(path): read error") }
            break
        }
    }
    return bytes
}

/// Raw little-endian int32 values (bytes.count must be a multiple of 4).
func int32LittleEndian(_ bytes: [UInt8]) -> [Int32] {
    var out = [Int32](repeating: 0, count: bytes.count / 4)
    for i in out.indices {
        var word: UInt32 = 0
        for j in 0..<4 { word |= UInt32(bytes[4 * i + j]) << (8 * UInt32(j)) }
        out[i] = Int32(bitPattern: word)
    }
    return out
}

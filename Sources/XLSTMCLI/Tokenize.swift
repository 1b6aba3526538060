import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

func loadTokenizer(_ path: String) -> Tokenizer {
    do { return try Tokenizer(path: path) } catch { fail(error.message) }
}

/// The whole content of FILE, or of stdin when `path` is nil or "-".
func readInput(_ path: String?) -> [UInt8] {
    let fd: Int32
    if let path, path != "-" {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { fail("\(path): \(String(cString: strerror(errno)))") }
    } else {
        fd = 0
    }
    defer { if fd != 0 { close(fd) } }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; fail("\(path ?? "stdin"): \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text, space-separated (tokenizer.json).",
        discussion: """
        DIR is a model directory or a directory holding tokenizer.json (or the file itself). The ids
        are those of the whole content of FILE (stdin without FILE), as the `tokenizers` package's
        `encode(text)` gives them: special tokens written in the text become their ids and the
        post-processor's (e.g. BOS/EOS) are added. --lines encodes each line separately (without its
        newline) and prints one line of ids per input line. Input must be valid UTF-8.
        """)

    @Argument(help: "Model or tokenizer directory (or tokenizer.json).")
    var directory: String

    @Argument(help: "Input file (default: stdin).")
    var file: String?

    @Flag(help: "Encode each line separately; one line of ids per input line.")
    var lines = false

    @Flag(name: .customLong("no-add-special"), help: "Do not add the post-processor's special tokens (BOS/EOS).")
    var noAddSpecial = false

    @Flag(name: .customLong("split-special"), help: "Tokenize special tokens written in the text as plain text.")
    var splitSpecial = false

    func run() throws {
        let tokenizer = loadTokenizer(directory)
        let input = readInput(file)
        var texts: [ArraySlice<UInt8>] = []
        if lines {
            texts = input.split(separator: 0x0A, omittingEmptySubsequences: false)
            if input.last == 0x0A { texts.removeLast() }
        } else {
            texts = [input[...]]
        }
        var out: [UInt8] = []
        for (index, text) in texts.enumerated() {
            let ids: [Int32]
            do {
                ids = try text.withUnsafeBufferPointer { buffer throws(XLSTMError) in
                    try tokenizer.encode(buffer, addSpecialTokens: !noAddSpecial, splitSpecialTokens: splitSpecial)
                }
            } catch {
                fail("\(file ?? "stdin")\(lines ? " line \(index + 1)" : ""): \(error.message)")
            }
            out.append(contentsOf: ids.map(String.init).joined(separator: " ").utf8)
            out.append(0x0A)
            if out.count > 1 << 16 { writeOut(out); out.removeAll(keepingCapacity: true) }
        }
        writeOut(out)
    }
}

struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the text of token ids (tokenizer.json) to stdout.",
        discussion: """
        The ids come from --tokens 1,2,3, or else from stdin (separated by spaces, commas or newlines,
        as `xlstm tokenize` prints them). Invalid UTF-8 that the ids leave is written as U+FFFD.
        """)

    @Argument(help: "Model or tokenizer directory (or tokenizer.json).")
    var directory: String

    @Option(help: "Comma-separated token ids (default: read them from stdin).")
    var tokens: String?

    @Flag(name: .customLong("skip-special"), help: "Special tokens produce no text.")
    var skipSpecial = false

    func run() throws {
        let tokenizer = loadTokenizer(directory)
        var ids: [Int32]
        if let tokens {
            ids = parseTokenList(tokens)
        } else {
            let text = readInput(nil)
            ids = []
            for part in text.split(whereSeparator: { $0 == 0x20 || $0 == 0x2C || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }) {
                guard let id = Int32(String(decoding: part, as: UTF8.self)) else {
                    fail("stdin: '\(String(decoding: part, as: UTF8.self))' is not a token id")
                }
                ids.append(id)
            }
        }
        do { writeOut(try tokenizer.decode(ids, skipSpecialTokens: skipSpecial)) } catch { fail(error.message) }
    }
}

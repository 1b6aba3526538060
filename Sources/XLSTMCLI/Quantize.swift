import ArgumentParser
import Synchronization
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT / SIGTERM during `xlstm quantize`: the run stops at the next block of rows and
/// removes its temporary directory.
let quantizeInterrupted = Atomic<Bool>(false)

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a copy of a model with its weight matrices in 8-bit (q8) or 4-bit (q4) blocks.",
        discussion: """
        Every 2-D weight matrix whose input dimension is a multiple of 32 is stored as q8_0 (int8 + one \
        float16 scale per 32 values) or q4_0 (4-bit + one float16 scale per 32 values); norms, biases, conv \
        kernels and the sLSTM recurrent kernels are copied unchanged (README "Quantized models"). The run \
        streams tensor by tensor (memory stays at a few MB whatever the model's size) into a temporary \
        directory next to OUT_DIR that becomes OUT_DIR only when complete: a failed or interrupted run \
        leaves no OUT_DIR.
        """)

    @Argument(help: "Model directory to read (config.json + safetensors, f32/bf16/f16).")
    var inputDirectory: String

    @Argument(help: "Directory to create.")
    var outputDirectory: String

    @Option(name: .customLong("type"), help: "q8 or q4.")
    var type: String

    @Option(help: ArgumentHelp("Matrices kept in their source dtype, comma-separated: embedding, lm_head, gates, or none (default: none — everything quantized).",
                               valueName: "classes"))
    var keep: String?

    @Option(name: .customLong("max-shard-size"), help: ArgumentHelp(
        "Split the output into shards of at most this many bytes (e.g. 2GB, 500MB); default: shard like the input.",
        valueName: "size"))
    var maxShardSize: String?

    @Flag(help: "Replace OUT_DIR if it exists (only once the new one is complete).")
    var force = false

    func run() throws {
        let format: QuantFormat
        switch type.lowercased() {
        case "q8", "q8_0": format = .q8
        case "q4", "q4_0": format = .q4
        default: fail("--type: unknown quantization type '\(type)' (q8 or q4)")
        }
        var keepSet: Set<QuantizedTensorClass>? = nil
        if let keep {
            var set = Set<QuantizedTensorClass>()
            for part in keep.split(separator: ",") {
                let name = part.trimmingWhitespace()
                if name == "none" { continue }
                guard let cls = QuantizedTensorClass(rawValue: String(name)) else {
                    fail("--keep: unknown class '\(name)' (embedding, lm_head, gates, none)")
                }
                set.insert(cls)
            }
            keepSet = set
        }
        var shardBytes: Int? = nil
        if let maxShardSize {
            guard let bytes = parseByteSize(maxShardSize), bytes > 0 else {
                fail("--max-shard-size: '\(maxShardSize)' is not a size (e.g. 2GB, 500MB, 1048576)")
            }
            shardBytes = bytes
        }
        let options = QuantizeOptions(format: format, keep: keepSet, overwrite: force, maxShardBytes: shardBytes)
        signal(SIGINT) { _ in quantizeInterrupted.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in quantizeInterrupted.store(true, ordering: .relaxed) }

        let terminal = isatty(2) != 0
        let start = monotonicSeconds()
        var lastTenth = -1
        var lastDraw = 0.0
        let report: QuantizeReport
        do {
            report = try Quantizer.quantize(input: inputDirectory, output: outputDirectory, options: options) { p in
                if quantizeInterrupted.load(ordering: .relaxed) { return false }
                let fraction = Double(p.bytesDone) / Double(max(p.bytesTotal, 1))
                if terminal {
                    let now = monotonicSeconds()
                    guard now - lastDraw >= 0.1 || p.tensorsDone == p.tensorsTotal else { return true }
                    lastDraw = now
                    let filled = Int(fraction * 30)
                    var name = p.tensor
                    if name.count > 48 { name = "…" + String(name.suffix(47)) }
                    let line = "\r\u{1B}[K[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
                        + "] \(Int(fraction * 100))%  \(p.tensorsDone)/\(p.tensorsTotal) tensors  \(name)"
                    writeError(line)
                } else {
                    let tenth = Int(fraction * 10)
                    if tenth > lastTenth {
                        lastTenth = tenth
                        writeError("quantize: \(tenth * 10)% (\(p.tensorsDone)/\(p.tensorsTotal) tensors, "
                                   + "\(formatBytes(p.bytesDone)) of \(formatBytes(p.bytesTotal)))\n")
                    }
                }
                return true
            }
        } catch {
            if terminal { writeError("\r\u{1B}[K") }
            fail(error.message)
        }
        if terminal { writeError("\r\u{1B}[K") }
        let seconds = monotonicSeconds() - start
        print("quantized \(inputDirectory) -> \(outputDirectory) (\(format.rawValue))")
        print("tensors:   \(report.quantizedTensors) quantized, \(report.keptTensors) kept")
        print("bytes in:  \(report.inputBytes) (\(formatBytes(report.inputBytes)))")
        print("bytes out: \(report.outputBytes) (\(formatBytes(report.outputBytes)), "
              + "\(formatRatio(Double(report.outputBytes) / Double(max(report.inputBytes, 1)))) of the input)")
        print("time:      \(formatSeconds(seconds)) s")
        if !report.skippedFiles.isEmpty {
            print("not copied (over 256 MB): \(report.skippedFiles.joined(separator: ", "))")
        }
    }
}

/// "2GB", "500MB", "64KiB", "1048576" → bytes (K/M/G/T, decimal; KiB/MiB/GiB binary).
func parseByteSize(_ text: String) -> Int? {
    let s = text.uppercased()
    let units: [(String, Int)] = [("TIB", 1 << 40), ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10),
                                  ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000),
                                  ("B", 1)]
    for (suffix, scale) in units where s.hasSuffix(suffix) {
        guard let value = Double(s.dropLast(suffix.count)), value > 0 else { return nil }
        return Int(value * Double(scale))
    }
    return Int(s)
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n), unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(n) B" : "\(formatRatio(value)) \(units[unit])"
}

/// Two decimals.
func formatRatio(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

func formatSeconds(_ s: Double) -> String { formatRatio(s) }

func writeError(_ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

// libFuzzer entry points for the engine's parsers (issue #13). Built by mk/fuzz.mk with the XLSTM
// sources compiled into the same module under `-sanitize=fuzzer,address`, so the coverage and the
// AddressSanitizer checks are inside the Swift loader code itself (a C harness over libxlstm.so
// would see no coverage in the uninstrumented Swift library).
//
// One binary, one harness per run: the harness is the suffix of the program name
// (`xlstm-fuzz-config` → `config`; mk/fuzz.mk makes those links) or XLSTM_FUZZ_TARGET.
// Every harness must return normally for any input; a trap, an ASan report, a leak, an allocation
// above -malloc_limit_mb or a violated invariant (`fuzzCheck`) is a finding.

#if canImport(Glibc)
import Glibc
#endif

/// A harness: called once per input.
typealias Harness = (UnsafeRawBufferPointer) -> Void

/// Harness names → entry points. A new parser (e.g. the tokenizer) adds its line here, a file
/// beside this one, a seed folder Tests/Fuzz/corpus/NAME and its name in FUZZ_HARNESSES (mk/fuzz.mk).
nonisolated(unsafe) let harnesses: [String: Harness] = [
    "config": fuzzConfig,
    "safetensors": fuzzSafeTensors,
    "index": fuzzShardIndex,
    "loader": fuzzLoader,
    "state": fuzzStateBlob,
    "sampler": fuzzSamplerState,
    "tokenizer": fuzzTokenizerJSON,
    "text": fuzzTokenizerText,
]

nonisolated(unsafe) var selectedHarness: Harness?
nonisolated(unsafe) var fixturesRoot = "Tests/Fixtures"
/// A private scratch directory for harnesses that need files (on tmpfs when there is one).
nonisolated(unsafe) var scratchDirectory = ""

/// Writes `text` to standard error.
func say(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
}

/// An invariant of the code under test; a violation aborts, which libFuzzer reports as a crash.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        say("fuzz invariant violated: \(message())\n")
        abort()
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> Int32 {
    var name = getenv("XLSTM_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name.isEmpty, let program = argv.pointee[0] {
        let path = String(cString: program)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        if base.hasPrefix("xlstm-fuzz-") { name = String(base.dropFirst("xlstm-fuzz-".count)) }
    }
    guard let harness = harnesses[name] else {
        say("xlstm-fuzz: no harness '\(name)'; run as xlstm-fuzz-NAME or set XLSTM_FUZZ_TARGET to one of: \(harnesses.keys.sorted().joined(separator: ", "))\n")
        exit(2)
    }
    selectedHarness = harness
    if let root = getenv("XLSTM_FUZZ_FIXTURES") { fixturesRoot = String(cString: root) }
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    var template = Array("\(base)/xlstm-fuzz-XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        say("xlstm-fuzz: cannot create a scratch directory in \(base)\n")
        exit(2)
    }
    scratchDirectory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    atexit { removeScratch() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selectedHarness!(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

// MARK: helpers

/// Writes `bytes` (any number of parts) to `path`, replacing it.
func writeFile(_ path: String, _ parts: UnsafeRawBufferPointer...) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    fuzzCheck(fd >= 0, "cannot write \(path)")
    for part in parts where part.count > 0 {
        var offset = 0
        while offset < part.count {
            let n = write(fd, part.baseAddress! + offset, part.count - offset)
            fuzzCheck(n > 0, "write failed for \(path)")
            offset += n
        }
    }
    close(fd)
}

func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    fuzzCheck(fd >= 0, "cannot read \(path) (is XLSTM_FUZZ_FIXTURES right? run from the repository root)")
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 65536) }
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return out
}

func removeScratch() {
    guard !scratchDirectory.isEmpty, let dir = opendir(scratchDirectory) else { return }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { unlink(scratchDirectory + "/" + name) }
    }
    closedir(dir)
    rmdir(scratchDirectory)
}

/// 1 MiB of 0x3C bytes (small finite f32/bf16/f16 values): the data section harnesses append.
nonisolated(unsafe) let dataPattern: UnsafeRawBufferPointer = {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    buffer.initializeMemory(as: UInt8.self, repeating: 0x3C)
    return UnsafeRawBufferPointer(buffer)
}()

/// Reads a little-endian UInt32 at `offset` (0 past the end).
func u32(_ data: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    var v: UInt32 = 0
    for i in 0..<4 where offset + i < data.count { v |= UInt32(data[offset + i]) << (8 * UInt32(i)) }
    return v
}

/// Every tensor of `store` read whole (widened to f32): any out-of-bounds view is touched.
func touchEveryTensor(_ store: WeightStore) {
    for name in store.tensorNames {
        guard let shape = store.shape(of: name) else { continue }
        if let tensor = try? store.tensor(name, shape: shape) {
            var sum: Float = 0
            for i in 0..<tensor.count { sum += tensor.data[i] }
            _ = sum
        }
        // 2-D tensors also through the repacking into kernel panels (what a model load does).
        if shape.count == 2, let matrix = try? store.matrix(name, rows: shape[0], cols: shape[1]), matrix.rows > 0 {
            var row = [Float](repeating: 0, count: matrix.cols)
            row.withUnsafeMutableBufferPointer { matrix.copyRow(matrix.rows - 1, into: $0.baseAddress!) }
        }
    }
}

/// Loads a model from `directory`; when it loads, runs every session operation once.
func exerciseModel(directory: String) {
    guard let model = try? Model(directory: directory) else { return }
    guard let session = try? Session(model: model) else { return }
    let vocab = Int32(model.vocabSize)
    let tokens: [Int32] = [0, 1 % vocab, 2 % vocab, vocab - 1, 3 % vocab]
    try? session.feed(tokens[0])
    _ = tokens.withUnsafeBufferPointer { try? session.feed($0) }
    fuzzCheck(session.tokenCount == 6, "token count \(session.tokenCount) after 6 tokens")
    let blob = UnsafeMutableRawBufferPointer.allocate(byteCount: StateBlob.size(for: model), alignment: 16)
    defer { blob.deallocate() }
    let written = try? StateBlob.save(session, into: blob)
    fuzzCheck(written == StateBlob.size(for: model), "save wrote \(String(describing: written)) bytes")
    guard let other = try? Session(model: model) else { return }
    do { try StateBlob.load(UnsafeRawBufferPointer(blob), into: other) } catch {
        fuzzCheck(false, "a blob just saved does not load: \(error)")
    }
    fuzzCheck(other.tokenCount == session.tokenCount, "restored token count differs")
    _ = try? session.clone()
}

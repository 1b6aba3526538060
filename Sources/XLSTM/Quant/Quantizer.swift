// `xlstm quantize`: a model directory → the same model with its weight matrices in q8_0 / q4_0
// (BlockQuant.swift fixes the formats and the on-disk layout), streamed tensor by tensor.
//
// What is quantized: every 2-D tensor `….weight` [rows, cols] with cols a multiple of 32 — in both
// families these are exactly the matrices the engine applies as linear projections (Blocks/*.swift:
// proj_up/proj_down, the mLSTM q/k/v/o and gate projections, out_proj, the feed-forward layers) plus
// the token embedding and the lm_head, which `keep` can leave in their source dtype. Everything
// else — norms, biases, learnable skips, conv kernels (3-D), the paper family's headwise q/k/v
// (3-D), the sLSTM recurrent kernels (4-D) and gate biases — is copied byte for byte.
//
// Memory: the input files are memory-mapped and read one block of rows at a time; the pages read
// are dropped again (madvise), each output block is written with pwrite at its final place, so the
// resident set stays at a few MB plus one block whatever the model's size.
//
// Atomicity: everything is written into a new directory next to OUT_DIR (`.NAME.quantize-XXXXXX`)
// that is renamed to OUT_DIR only when every file is complete and flushed; on any error or a
// cancel, the temporary directory is removed and OUT_DIR is untouched (absent, or the old one).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A class of weight matrices that `QuantizeOptions.keep` can leave in their source dtype.
public enum QuantizedTensorClass: String, Sendable, CaseIterable {
    /// The token embedding (`token_embedding.weight`, `backbone.embeddings.weight`, `embedding.weight`).
    case embedding
    /// `lm_head.weight`; for a tied model (no lm_head tensor) the embedding is kept if either is kept.
    case lmHead = "lm_head"
    /// The mLSTM input/forget gate projections (`igate`, `fgate`, `igate_preact`, `fgate_preact`,
    /// `ifgate_preact`): a few rows each.
    case gates
}

public struct QuantizeOptions: Sendable {
    public var format: QuantFormat
    /// Matrix classes stored unquantized (in their source dtype).
    public var keep: Set<QuantizedTensorClass>
    /// Replace an existing OUT_DIR (only once the new one is complete).
    public var overwrite: Bool
    /// Start a new output shard before a shard would exceed this many data bytes; nil: shard like
    /// the input (one file for one, the same tensors per shard for a sharded model).
    public var maxShardBytes: Int?

    /// The defaults: every weight matrix quantized, embedding and lm_head included, for both formats.
    /// Measured (README "Quantized models", tools/quant_error.py, official model on the bundled
    /// model's validation text): Δ bits/byte q8 +0.0001, q4 +0.0071 with everything quantized
    /// (q4 keeping both: +0.0034) — far inside the targets (0.01 / 0.1) for 5–7 % fewer bytes.
    public static func defaultKeep(for format: QuantFormat) -> Set<QuantizedTensorClass> { [] }

    public init(format: QuantFormat, keep: Set<QuantizedTensorClass>? = nil, overwrite: Bool = false,
                maxShardBytes: Int? = nil) {
        self.format = format
        self.keep = keep ?? QuantizeOptions.defaultKeep(for: format)
        self.overwrite = overwrite
        self.maxShardBytes = maxShardBytes
    }
}

/// Where a quantization run is, for progress bars; a callback returns false to cancel.
public struct QuantizeProgress: Sendable {
    public let tensorsDone: Int
    public let tensorsTotal: Int
    /// Input tensor bytes processed so far, of `bytesTotal`.
    public let bytesDone: Int
    public let bytesTotal: Int
    /// The tensor being processed (or the last one, at the end).
    public let tensor: String
}

public struct QuantizeReport: Sendable {
    /// Bytes of the input's safetensors files and of the output's.
    public let inputBytes: Int
    public let outputBytes: Int
    public let quantizedTensors: Int
    public let keptTensors: Int
    /// Files written into OUT_DIR (names).
    public let files: [String]
    /// Files of IN_DIR not copied (too large to be metadata, e.g. another checkpoint format).
    public let skippedFiles: [String]
}

public enum Quantizer {
    /// Largest non-tensor file copied from IN_DIR (tokenizer.json of a big vocabulary is ~10 MB).
    static let maxCopiedFileBytes = 256 << 20
    /// Input bytes converted per block of rows.
    static let blockBytes = 4 << 20

    static let embeddingNames: Set<String> = ["token_embedding.weight", "backbone.embeddings.weight", "embedding.weight"]
    static let gateSuffixes = ["igate.weight", "fgate.weight", "igate_preact.weight", "fgate_preact.weight",
                               "ifgate_preact.weight"]

    /// Quantizes the model directory `input` into the new directory `output`. `progress` is called
    /// after every block of rows (at most every few MB) and may return false to cancel (→ an error
    /// of kind `.cancelled`). Nothing is left behind on failure.
    public static func quantize(input: String, output: String, options: QuantizeOptions,
                                progress: (QuantizeProgress) -> Bool = { _ in true }) throws(XLSTMError) -> QuantizeReport {
        // ---- the input: a config.json model directory, not yet quantized
        guard isDirectory(input) else {
            throw XLSTMError(.io, fileExists(input) ? "\(input): not a directory (a model is a directory)"
                                                   : "\(input): no such model directory")
        }
        let configPath = joinPath(input, "config.json")
        guard fileExists(configPath) else {
            if fileExists(joinPath(input, "config.yaml")) {
                throw XLSTMError(.unsupported, "\(input): an official xlstm_large checkpoint (config.yaml) cannot be quantized "
                    + "directly: convert it to the transformers layout first (tools/convert_xlstm_large.py)")
            }
            throw XLSTMError(.invalidModel, "\(input): no config.json")
        }
        let config = try JSON.parse(try readSmallFile(configPath, limit: Limits.maxConfigBytes), context: configPath)
        if let existing = config["quantization_config"], !existing.isNull {
            let what = existing["format"]?.stringValue ?? existing["quant_method"]?.stringValue ?? "quantized"
            throw XLSTMError(.invalidArgument, "\(input): the model is already quantized (config.json has a quantization_config: "
                + "\(what)); quantize the original f32/bf16/f16 model instead")
        }
        _ = try ModelConfig.parse(config, file: configPath)   // a model this engine reads, before any work
        let files = try Model.openSafeTensors(input)
        var names = Set<String>()
        for file in files {
            for entry in file.entries {
                names.insert(entry.name)
                let dtype = entry.dtype.rawValue
                guard dtype == "F32" || dtype == "BF16" || dtype == "F16" else {
                    throw XLSTMError(.invalidArgument, "\(file.file.path): tensor '\(entry.name)' is \(dtype): the model is already "
                        + "quantized; quantize the original f32/bf16/f16 model instead")
                }
            }
        }

        // ---- what becomes of each tensor
        let tied = !names.contains("lm_head.weight")
        func quantized(_ entry: TensorEntry) -> Bool {
            guard entry.shape.count == 2, entry.name.hasSuffix(".weight"), QuantFormat.canQuantize(cols: entry.shape[1]),
                  entry.shape[0] > 0 else { return false }
            if embeddingNames.contains(entry.name) {
                if options.keep.contains(.embedding) { return false }
                return !(tied && options.keep.contains(.lmHead))
            }
            if entry.name == "lm_head.weight" { return !options.keep.contains(.lmHead) }
            if gateSuffixes.contains(where: { entry.name.hasSuffix("." + $0) || entry.name == $0 }) {
                return !options.keep.contains(.gates)
            }
            return true
        }
        let format = options.format
        struct Job {
            let entry: TensorEntry
            let quantize: Bool
            var outputBytes: Int
        }
        // Input tensors in file order (sequential reads), per input file.
        var groups: [[Job]] = []
        var shardNames: [String] = []
        for file in files {
            var jobs: [Job] = []
            for entry in file.entries.sorted(by: { $0.byteOffset < $1.byteOffset }) {
                let q = quantized(entry)
                if q, names.contains(QuantFormat.scaleName(of: entry.name)) {
                    throw XLSTMError(.invalidModel, "\(file.file.path): tensor '\(QuantFormat.scaleName(of: entry.name))' "
                        + "would clash with the scales of '\(entry.name)'")
                }
                let rows = q ? entry.shape[0] : 0, cols = q ? entry.shape[1] : 0
                let bytes = q ? rows * (format.dataBytes(cols: cols) + cols / QuantFormat.blockSize * 2) : entry.byteCount
                jobs.append(Job(entry: entry, quantize: q, outputBytes: bytes))
            }
            groups.append(jobs)
            shardNames.append(baseName(file.file.path))
        }
        if let limit = options.maxShardBytes {
            guard limit > 0 else { throw XLSTMError(.invalidArgument, "quantize: the shard size limit must be positive") }
            var regrouped: [[Job]] = [[]]
            var size = 0
            for job in groups.joined() {
                if size > 0 && size + job.outputBytes > limit { regrouped.append([]); size = 0 }
                regrouped[regrouped.count - 1].append(job)
                size += job.outputBytes
            }
            groups = regrouped
            shardNames = []
        }
        let sharded = groups.count > 1 || fileExists(joinPath(input, "model.safetensors.index.json"))
        if shardNames.isEmpty || !sharded {
            shardNames = groups.count == 1 && !sharded ? ["model.safetensors"]
                : (1...groups.count).map { "model-\(pad5($0))-of-\(pad5(groups.count)).safetensors" }
        }

        // ---- the output directory
        let target = stripTrailingSlashes(output)
        guard !target.isEmpty else { throw XLSTMError(.invalidArgument, "quantize: the output directory name is empty") }
        if let a = realPath(input), let b = realPath(target), a == b {
            throw XLSTMError(.invalidArgument, "quantize: OUT_DIR is IN_DIR (\(input))")
        }
        var info = stat()
        let exists = lstat(target, &info) == 0
        if exists {
            guard options.overwrite else {
                throw XLSTMError(.invalidArgument, "\(target): already exists (pass --force / overwrite to replace it)")
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw XLSTMError(.invalidArgument, "\(target): exists and is not a directory; not replacing it")
            }
            try checkOnlyFiles(target)
        }
        let parent = parentDirectory(target)
        guard isDirectory(parent) else { throw XLSTMError(.io, "\(parent): no such directory (the parent of OUT_DIR)") }
        let temporary = try makeTemporaryDirectory(parent, "." + baseName(target) + ".quantize-")
        var writer: SafeTensorsWriter?
        do throws(XLSTMError) {
            var inputBytes = 0, outputBytes = 0
            for file in files { inputBytes += file.file.bytes.count }
            let tensorsTotal = groups.reduce(0) { $0 + $1.count }
            let bytesTotal = groups.joined().reduce(0) { $0 + $1.entry.byteCount }
            var tensorsDone = 0, bytesDone = 0
            var weightMap: [(String, String)] = []
            var quantizedCount = 0
            func report(_ name: String) throws(XLSTMError) {
                let state = QuantizeProgress(tensorsDone: tensorsDone, tensorsTotal: tensorsTotal, bytesDone: bytesDone,
                                             bytesTotal: bytesTotal, tensor: name)
                guard progress(state) else {
                    throw XLSTMError(.cancelled, "quantize: cancelled (nothing was written to \(target))")
                }
            }
            try report(groups.first?.first?.entry.name ?? "")
            for (shard, jobs) in groups.enumerated() {
                // Output entries: per job its data (and scales); laid out 4-byte, 2-byte, 1-byte first.
                var entries: [SafeTensorsWriter.Entry] = []
                var slots: [(data: Int, scales: Int)] = []
                for job in jobs {
                    let e = job.entry
                    if job.quantize {
                        let rows = e.shape[0], cols = e.shape[1]
                        entries.append(.init(name: e.name, dtype: format == .q8 ? "I8" : "U8",
                                             shape: [rows, format == .q8 ? cols : cols / 2],
                                             byteCount: rows * format.dataBytes(cols: cols)))
                        entries.append(.init(name: QuantFormat.scaleName(of: e.name), dtype: "F16",
                                             shape: [rows, cols / QuantFormat.blockSize],
                                             byteCount: rows * cols / QuantFormat.blockSize * 2))
                        slots.append((entries.count - 2, entries.count - 1))
                    } else {
                        entries.append(.init(name: e.name, dtype: e.dtype.rawValue, shape: e.shape, byteCount: e.byteCount))
                        slots.append((entries.count - 1, -1))
                    }
                }
                func elementSize(_ dtype: String) -> Int { dtype == "F32" ? 4 : dtype == "I8" || dtype == "U8" ? 1 : 2 }
                let order = entries.indices.sorted { a, b in
                    let (sa, sb) = (elementSize(entries[a].dtype), elementSize(entries[b].dtype))
                    return sa != sb ? sa > sb : a < b
                }
                var position = [Int](repeating: 0, count: entries.count)
                for (p, i) in order.enumerated() { position[i] = p }
                let path = joinPath(temporary, shardNames[shard])
                writer = try SafeTensorsWriter(path: path, entries: order.map { entries[$0] },
                                               metadata: [("format", "pt")])
                for (j, job) in jobs.enumerated() {
                    let e = job.entry
                    if job.quantize {
                        try quantizeTensor(e, format: format, into: &writer!, data: position[slots[j].data],
                                           scales: position[slots[j].scales]) { (rowsBytes) throws(XLSTMError) in
                            bytesDone += rowsBytes
                            try report(e.name)
                        }
                        quantizedCount += 1
                    } else {
                        try copyTensor(e, into: &writer!, entry: position[slots[j].data])
                        bytesDone += e.byteCount
                    }
                    e.file.dropPages(e.bytes)
                    tensorsDone += 1
                    try report(e.name)
                    weightMap.append((e.name, shardNames[shard]))
                    if job.quantize { weightMap.append((QuantFormat.scaleName(of: e.name), shardNames[shard])) }
                }
                try writer!.finish()
                outputBytes += writer!.fileSize
                writer = nil
            }
            var written = shardNames
            if sharded {
                weightMap.sort { $0.0 < $1.0 }
                let index = JSON.object([
                    ("metadata", .object([("total_size", .int(Int64(outputBytes)))])),
                    ("weight_map", .object(weightMap.map { ($0.0, JSON.string($0.1)) })),
                ])
                try writeTextFile(joinPath(temporary, "model.safetensors.index.json"), index.serialized(indent: 2) + "\n")
                written.append("model.safetensors.index.json")
            }
            let quantizationConfig = JSON.object([
                ("quant_method", .string("xlstm")), ("format", .string(format.rawValue)),
                ("bits", .int(Int64(format.bits))), ("group_size", .int(Int64(QuantFormat.blockSize))),
                ("scale_dtype", .string("float16")),
            ])
            try writeTextFile(joinPath(temporary, "config.json"),
                              config.setting("quantization_config", to: quantizationConfig).serialized(indent: 2) + "\n")
            written.append("config.json")
            let skipped = try copyOtherFiles(from: input, to: temporary, copied: &written)
            _ = chmod(temporary, 0o755)    // mkdtemp makes it 0700; a model directory is readable like any other
            try syncDirectory(temporary)
            try install(temporary, as: target, replacing: exists)
            return QuantizeReport(inputBytes: inputBytes, outputBytes: outputBytes, quantizedTensors: quantizedCount,
                                  keptTensors: tensorsTotal - quantizedCount, files: written.sorted(), skippedFiles: skipped)
        } catch {
            writer?.abandon()
            removeDirectory(temporary)
            throw error
        }
    }

    // MARK: Tensors

    /// Quantizes `entry` [rows, cols] block of rows by block of rows into writer entries `data` and
    /// `scales`; `advanced(bytes)` after each block (input bytes consumed).
    static func quantizeTensor(_ entry: TensorEntry, format: QuantFormat, into writer: inout SafeTensorsWriter,
                               data: Int, scales: Int,
                               advanced: (Int) throws(XLSTMError) -> Void) throws(XLSTMError) {
        let rows = entry.shape[0], cols = entry.shape[1]
        let elementSize = entry.dtype.byteSize
        let rowsPerBlock = max(1, min(rows, blockBytes / (cols * elementSize)))
        let rowData = format.dataBytes(cols: cols), rowScales = cols / QuantFormat.blockSize
        let values = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: rowsPerBlock * rowData)
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: rowsPerBlock * rowScales)
        defer { values.deallocate(); codes.deallocate(); halves.deallocate() }
        let source = entry.bytes
        let dtype = entry.dtype.rawValue
        var first = 0
        while first < rows {
            let count = min(rowsPerBlock, rows - first)
            for r in 0..<count {
                let rowBase = (first + r) * cols * elementSize
                for i in 0..<cols {
                    let offset = rowBase + i * elementSize
                    let v: Float
                    if dtype == "F32" {
                        v = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    } else if dtype == "BF16" {
                        v = Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) << 16)
                    } else {
                        v = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    }
                    guard v.isFinite else {
                        throw XLSTMError(.invalidModel, "\(entry.file.path): tensor '\(entry.name)' holds \(v) at [\(first + r), \(i)]: "
                            + "weights with NaN or infinity cannot be quantized")
                    }
                    values[i] = v
                }
                format.quantizeRow(values, cols: cols, data: codes + r * rowData, scales: halves + r * rowScales)
                // Scales in binary16 are finite for any finite row except magnitudes beyond 65504·127.
                for b in 0..<rowScales where halves[r * rowScales + b] & 0x7C00 == 0x7C00 {
                    throw XLSTMError(.invalidModel, "\(entry.file.path): tensor '\(entry.name)' row \(first + r): a block's "
                        + "values are too large for a float16 scale (|x| > \(format == .q8 ? "8.3e6" : "5.2e5"))")
                }
            }
            for i in 0..<(count * rowScales) { halves[i] = halves[i].littleEndian }
            try writer.write(data, at: first * rowData, UnsafeRawBufferPointer(start: codes, count: count * rowData))
            try writer.write(scales, at: first * rowScales * 2, UnsafeRawBufferPointer(start: halves, count: count * rowScales * 2))
            entry.file.dropPages(UnsafeRawBufferPointer(rebasing: source[(first * cols * elementSize)..<((first + count) * cols * elementSize)]))
            first += count
            try advanced(count * cols * elementSize)
        }
    }

    /// Copies `entry`'s bytes unchanged into writer entry `index`.
    static func copyTensor(_ entry: TensorEntry, into writer: inout SafeTensorsWriter, entry index: Int) throws(XLSTMError) {
        let source = entry.bytes
        var offset = 0
        while offset < source.count {
            let n = min(blockBytes, source.count - offset)
            try writer.write(index, at: offset, UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
            offset += n
        }
    }

    // MARK: Files

    /// Copies IN_DIR's other regular files (tokenizer.json, generation_config.json, …); returns the
    /// names of those skipped for their size.
    static func copyOtherFiles(from input: String, to output: String, copied: inout [String]) throws(XLSTMError) -> [String] {
        var skipped: [String] = []
        for name in try listDirectory(input).sorted() {
            if name == "config.json" || name == "model.safetensors.index.json" || name.hasSuffix(".safetensors") { continue }
            let path = joinPath(input, name)
            guard fileExists(path) else { continue }       // subdirectories, sockets, broken links
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if Int(info.st_size) > maxCopiedFileBytes { skipped.append(name); continue }
            let file = try MappedFile(path: path, mode: .copy)
            try writeFile(joinPath(output, name), file.bytes)
            copied.append(name)
        }
        return skipped
    }
}

// MARK: POSIX helpers (no Foundation)

fileprivate func writeTextFile(_ path: String, _ text: String) throws(XLSTMError) {
    let bytes = Array(text.utf8)
    try bytes.withUnsafeBytes { raw in Result { () throws(XLSTMError) in try writeFile(path, raw) } }.get()
}

/// Creates `path` (which must not exist) holding `bytes`, flushed to disk.
fileprivate func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(XLSTMError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw XLSTMError(.io, "\(path): cannot create (\(errnoString()))") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw XLSTMError(.io, "\(path): cannot write (\(errnoString()))") }
        done += n
    }
    guard fsync(fd) == 0 else { throw XLSTMError(.io, "\(path): cannot flush to disk (\(errnoString()))") }
}

fileprivate func listDirectory(_ path: String) throws(XLSTMError) -> [String] {
    guard let dir = opendir(path) else { throw XLSTMError(.io, "\(path): cannot list (\(errnoString()))") }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Removes a directory the quantizer created, with the regular files in it.
fileprivate func removeDirectory(_ path: String) {
    if let names = try? listDirectory(path) {
        for name in names { unlink(joinPath(path, name)) }
    }
    rmdir(path)
}

/// A directory whose contents `--force` may delete must hold regular files only.
fileprivate func checkOnlyFiles(_ path: String) throws(XLSTMError) {
    for name in try listDirectory(path) {
        var info = stat()
        guard lstat(joinPath(path, name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw XLSTMError(.invalidArgument, "\(path): holds '\(name)', which is not a regular file; not replacing the directory")
        }
    }
}

fileprivate func makeTemporaryDirectory(_ parent: String, _ prefix: String) throws(XLSTMError) -> String {
    var template = Array(joinPath(parent, prefix + "XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
    guard made else { throw XLSTMError(.io, "\(parent): cannot create a temporary directory (\(errnoString()))") }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

fileprivate func syncDirectory(_ path: String) throws(XLSTMError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw XLSTMError(.io, "\(path): cannot open (\(errnoString()))") }
    defer { close(fd) }
    _ = fsync(fd)
}

/// Renames the finished `temporary` directory to `target`; an existing target (checked to hold
/// regular files only) is moved aside first and deleted after.
fileprivate func install(_ temporary: String, as target: String, replacing: Bool) throws(XLSTMError) {
    let parent = parentDirectory(target)
    if replacing {
        let aside = try makeTemporaryDirectory(parent, "." + baseName(target) + ".old-")
        guard rename(target, aside) == 0 else {
            let why = errnoString()
            rmdir(aside)
            throw XLSTMError(.io, "\(target): cannot move the old directory aside (\(why))")
        }
        guard rename(temporary, target) == 0 else {
            let why = errnoString()
            _ = rename(aside, target)
            throw XLSTMError(.io, "\(target): cannot rename \(temporary) to it (\(why))")
        }
        removeDirectory(aside)
    } else {
        guard rename(temporary, target) == 0 else {
            throw XLSTMError(.io, "\(target): cannot rename \(temporary) to it (\(errnoString()))")
        }
    }
    try syncDirectory(parent)
}

fileprivate func stripTrailingSlashes(_ path: String) -> String {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p
}

fileprivate func baseName(_ path: String) -> String {
    let p = stripTrailingSlashes(path)
    if let slash = p.lastIndex(of: "/") { return String(p[p.index(after: slash)...]) }
    return p
}

fileprivate func parentDirectory(_ path: String) -> String {
    let p = stripTrailingSlashes(path)
    guard let slash = p.lastIndex(of: "/") else { return "." }
    return slash == p.startIndex ? "/" : String(p[..<slash])
}

fileprivate func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

private func pad5(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 5 - s.count)) + s
}

// xlstm-bench: speed figures measured against this machine's own limits, in one run.
//
//   peak FMA rate      independent FMA chains in registers, on every thread, in the kernels' ISA
//   memory bandwidth   streaming reads of a buffer far larger than the caches
//   step               tokens/s one at a time; weight bytes read per token ÷ time vs the bandwidth
//   prefill            tokens/s for a prompt; ratio to step
//   GEMM               one projection over the prompt; GFLOP/s vs the peak (and, for `fast` on
//                      q8 / q4, vs the int8 `vpdpbusd` peak measured the same way)
//   sessions           (--sessions 1,4,16,64) batched decode of N sessions at mixed positions:
//                      aggregate tokens/s, its ratio to one session's step, resident memory per session,
//                      and that ratio's roofline (n × the step's FLOPs at the peak; the weights once and n
//                      states in and out, from memory when they outgrow the L3)
//   prompts            (--prompts 16x20) batched prefill of N prompts of about L tokens each
//                      (xlstm_batch_feed_tokens) against the same prompts prefilled one session at a time
//
// Without --model it writes a ~100 M-parameter model of the 7B family with random weights to a
// temporary directory and loads it through the normal path (safetensors, mmap).

import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xlstm-bench",
        abstract: "Measure step and prefill speed against the machine's peak FMA rate and memory bandwidth.")

    @Option(help: "Model directory; by default a random 7B-family model is written to a temporary directory.")
    var model: String?

    @Option(help: "Write the generated random model into this (new or empty) directory and keep it, e.g. for tools/bench_vs_torch.py or an A/B of two builds on one model.")
    var saveModel: String?

    @Option(help: "Storage dtype of the generated model: f32 or bf16.")
    var dtype: String = "f32"

    @Option(help: "Embedding width of the generated model.")
    var embedding: Int = 768

    @Option(help: "Blocks of the generated model.")
    var blocks: Int = 12

    @Option(help: "Vocabulary of the generated model (50304 for the GPT-NeoX vocabulary of xLSTM 7B).")
    var vocab: Int = 8192

    @Option(help: "Threads (the calling one included).")
    var threads: Int = 1

    @Option(help: "Prompt length for prefill.")
    var prompt: Int = 512

    @Option(help: "Tokens to time in step mode.")
    var steps: Int = 64

    @Option(name: .customLong("chunk-size"), help: "Chunk size of the chunkwise mLSTM cell.")
    var chunkSize: Int = 64

    @Option(help: "Kernel path: auto (the fastest this CPU runs), portable, avx2 or avx512.")
    var cpu: String = "auto"

    @Option(help: "Precision: exact (float32 activations) or fast (int8 activations in q8/q4 projections, bf16 in bf16 ones on AVX-512 BF16).")
    var precision: String = "exact"

    @Option(help: "Session counts for batched decode (xlstm_batch_feed), e.g. 1,4,16,64; none by default.")
    var sessions: String?

    var sessionCounts: [Int] { (sessions ?? "").split(separator: ",").compactMap { Int($0) } }

    @Option(help: "Batched prefill (xlstm_batch_feed_tokens): N prompts of about L tokens each, as NxL, e.g. 16x20; comma-separated for several.")
    var prompts: String?

    var promptShapes: [(count: Int, length: Int)] {
        (prompts ?? "").split(separator: ",").compactMap { item in
            let parts = item.split(separator: "x").compactMap { Int($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    @Option(name: .customLong("batch-gemm"),
            help: "Row counts for the batch GEMM alone (the projections of n sessions over 384 MiB of --dtype weights), e.g. 1,16,64; then exits.")
    var batchGEMM: String?

    @Option(name: .customLong("batch-gemm-mib"), help: "MiB of weights for --batch-gemm (small: from cache).")
    var batchGEMMMiB: Int = 384

    func validate() throws {
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16") }
        guard cpu == "auto" || CPUPath(name: cpu) != nil else {
            throw ValidationError("--cpu must be auto, \(CPUPath.allCases.map(\.description).joined(separator: ", "))")
        }
        guard Precision(name: precision) != nil else { throw ValidationError("--precision must be exact or fast") }
        guard threads >= 1, prompt >= 1, steps >= 1, chunkSize >= 1 else { throw ValidationError("counts must be ≥ 1") }
        guard embedding % 64 == 0, embedding >= 64, blocks >= 1 else { throw ValidationError("--embedding must be a multiple of 64") }
        if let prompts {
            let items = prompts.split(separator: ",", omittingEmptySubsequences: false)
            guard !items.isEmpty, items.count == promptShapes.count,
                  promptShapes.allSatisfy({ (1...4096).contains($0.count) && (2...8192).contains($0.length) }) else {
                throw ValidationError("--prompts must be NxL (N prompts of about L tokens; N in [1, 4096], L in [2, 8192]), e.g. 16x20")
            }
        }
        if let sessions {
            let counts = sessions.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
                throw ValidationError("--sessions must be a comma-separated list of counts in [1, 4096], e.g. 1,4,16,64")
            }
        }
    }

    func run() throws {
        let kernels: KernelSet
        do { kernels = try KernelSet.select(cpu == "auto" ? nil : CPUPath(name: cpu)) } catch { throw ValidationError(error.message) }
        let info = CPUInfo.current
        print("cpu       \(info.brand); \(info.featureNames.joined(separator: " ")); kernels: \(kernels.path) "
              + "(this CPU runs \(info.supportedPaths.map(\.description).joined(separator: ", "))); streamed matvecs: "
              + (kernels.oneStream ? "one panel stream" : "two panel streams + L2 prefetch") + " (XLSTM_STREAMS=1|2)")
        let pool = ThreadPool(threads: threads)
        let peak = measurePeakFMA(pool: pool, kernels: kernels)
        // The best of 5 passes: the ceiling printed here (and the bandwidth of --batch-gemm). The
        // buffer stays mapped for the passes beside the step's bursts: mapped now, before the model,
        // it gets its huge pages (mapped after a 13 GB model, it did not always, and read slower).
        let probe = StreamProbe(pool: pool)
        let bandwidth = probe?.best() ?? 0
        print("machine   peak \(kernels.path) FMA \(fmt(peak / 1e9)) GFLOP/s, memory bandwidth \(fmt(bandwidth / 1e9)) GB/s  "
              + "(\(threads) thread\(threads == 1 ? "" : "s"))")
        if let batchGEMM {
            let counts = batchGEMM.split(separator: ",").compactMap { Int($0) }.filter { $0 >= 1 }
            measureBatchGEMM(kernels: kernels, pool: pool, dtype: dtype, embedding: embedding, counts: counts,
                             peak: peak, bandwidth: bandwidth, bytes: batchGEMMMiB << 20)
            return
        }

        var directory = model ?? ""
        var temporary: String?
        if model == nil {
            let made: String
            if let saveModel {
                mkdir(saveModel, 0o755)
                made = saveModel
            } else {
                made = makeTemporaryDirectory()
                temporary = made
            }
            directory = made
            try writeRandomLargeModel(directory, embedding: embedding, blocks: blocks, vocab: vocab, bf16: dtype == "bf16")
        }
        defer { if let temporary { removeTree(temporary) } }

        let loaded: Model
        let rssBefore = residentBytes()
        let loadStart = now()
        do {
            loaded = try Model(directory: directory, cpuPath: kernels.path, threads: threads, precision: Precision(name: precision)!)
        } catch { throw ValidationError(error.message) }
        let loadSeconds = now() - loadStart
        let params = Double(loaded.parameterCount)
        print("model     \(loaded.family == .large ? "7B family" : "paper family"), \(fmt(params / 1e6)) M parameters, "
              + "\(loaded.weights.dtypes.map(\.rawValue).sorted().joined(separator: "+")), step reads \(fmt(Double(loaded.stepWeightBytes) / 1e6)) MB")

        print("precision \(loaded.precision)" + (loaded.kernels.int8MatVec.map { " (q8/q4 matvecs: int8, \($0)" } ?? " (float32 activations")
              + (loaded.kernels.bf16GEMMName.map { "; bf16 projections: bf16 activations, \($0)" } ?? "") + ")")
        print("load      \(fmt(loadSeconds)) s (weights repacked for \(kernels.path)), resident memory +\(fmt(Double(residentBytes() - rssBefore) / 1e6)) MB")
        let tokens = (0..<max(prompt, steps + 1)).map { Int32(($0 * 7919 + 13) % loaded.vocabSize) }

        // Step. A model ≫ L3 decodes in bursts with a bandwidth pass before and after each (its
        // weights then come from memory at every burst's start, as they would in an application that
        // does anything else between tokens), and each burst's rate is held against the passes beside
        // it; the fraction of the best pass above is printed too. A model that fits the caches runs
        // its steps in one burst (a pass between bursts would evict it and measure something else).
        let session = try Session(model: loaded)
        try session.feed(tokens[0])
        let stepBytes = Double(loaded.stepWeightBytes), trafficBytes = Double(loaded.stepWeightBytes + 2 * loaded.stateBytes)
        let streamed = loaded.stepWeightBytes >= 2 * level3CacheBytes()
        let rounds = streamed ? min(steps, 8) : 1
        let stepProbe = rounds > 1 ? probe : nil
        var next = 1, stepSeconds = 0.0
        func burst(_ round: Int) throws -> Double {
            let count = steps / rounds + (round < steps % rounds ? 1 : 0)
            let start = now()
            for _ in 0..<count { try session.feed(tokens[next]); next += 1 }
            let seconds = now() - start
            stepSeconds += seconds
            return Double(count) / seconds
        }
        var round = 0
        let pairs = try stepProbe.map { probe in
            try Paired(rounds: rounds, work: { defer { round += 1 }; return try burst(round) * stepBytes }, limit: probe.pass)
        }
        if stepProbe == nil { for r in 0..<rounds { _ = try burst(r) } }
        let stepRate = Double(steps) / stepSeconds
        let stepBandwidth = stepBytes * stepRate
        print("step      \(fmt(stepRate)) tokens/s, weights streamed at \(fmt(stepBandwidth / 1e9)) GB/s = "
              + "\(fmt(100 * stepBandwidth / bandwidth))% of the best bandwidth pass")
        if let pairs {
            print("          per burst of tokens: " + pairs.describe(scale: 1e9, unit: "GB/s", what: "bursts"))
        }
        // The session's recurrent state is read and written once per token as well (the mLSTM's C).
        let stepTraffic = trafficBytes * stepRate
        print("          weights + state read and written (\(fmt(trafficBytes / 1e6)) MB "
              + "per token): \(fmt(stepTraffic / 1e9)) GB/s = \(fmt(100 * stepTraffic / bandwidth))% of the best pass"
              + (pairs.map { "; per burst median \(fmt(100 * Paired.median($0.ratios) * trafficBytes / stepBytes))%" } ?? ""))

        // Prefill.
        let prefillSession = try Session(model: loaded)
        prefillSession.mLSTMChunkSize = chunkSize
        let span = Array(tokens.prefix(prompt))
        // Warm-up: the first prefill allocates the session's prefill scratch; time the second.
        try span.withUnsafeBufferPointer { ids throws(XLSTMError) in try prefillSession.prefill(ids, logits: .last) }
        prefillSession.reset()
        let prefillStart = now()
        try span.withUnsafeBufferPointer { ids throws(XLSTMError) in try prefillSession.prefill(ids, logits: .last) }
        let prefillSeconds = now() - prefillStart
        let prefillRate = Double(prompt) / prefillSeconds
        let flops = prefillFlops(loaded, tokens: prompt, chunkSize: chunkSize)
        // `fast` on q8 / q4 runs its projections on int8 dot products: held against that peak too.
        let int8Peak = loaded.kernels.int8GEMMName != nil && loaded.weights.quantization != nil
            ? measurePeakInt8(pool: pool) : nil
        if let int8Peak {
            print("machine   int8 peak (vpdpbusd, 2 ops per multiply-add) \(fmt(int8Peak / 1e9)) GOP/s  "
                  + "(\(threads) thread\(threads == 1 ? "" : "s"))")
        }
        // `fast` on bf16 weights with AVX-512 BF16 runs `vdpbf16ps`: held against its peak too.
        let bf16Peak = int8Peak == nil && loaded.kernels.bf16GEMMName != nil && loaded.weights.dtypes.contains(.bf16)
            ? measurePeakBF16(pool: pool) : nil
        if let bf16Peak {
            print("machine   bf16 peak (vdpbf16ps, 4 FLOP per lane) \(fmt(bf16Peak / 1e9)) GFLOP/s  "
                  + "(\(threads) thread\(threads == 1 ? "" : "s"))")
        }
        func ofPeaks(_ rate: Double) -> String {
            "\(fmt(100 * rate / peak))% of the FMA peak" + (int8Peak.map { ", \(fmt(100 * rate / $0))% of the int8 peak" } ?? "")
                + (bf16Peak.map { ", \(fmt(100 * rate / $0))% of the bf16 peak" } ?? "")
        }
        print("prefill   \(fmt(prefillRate)) tokens/s for \(prompt) tokens = \(fmt(prefillRate / stepRate))× step; "
              + "\(fmt(flops / prefillSeconds / 1e9)) GFLOP/s overall = \(ofPeaks(flops / prefillSeconds))")

        // One projection GEMM over the prompt.
        let (gemmRate, shape, gemmPairs) = try measureGEMM(loaded, tokens: prompt, pool: pool, kernels: kernels)
        print("GEMM      \(shape) × \(prompt) tokens: \(fmt(gemmRate / 1e9)) GFLOP/s = \(ofPeaks(gemmRate))")
        if let gemmPairs {
            print("          per product: " + gemmPairs.describe(scale: 1e9, unit: "GFLOP/s FMA peak", what: "products"))
        }

        // A batch's projections run on the GEMM of the precision: bf16 or int8 dot products under
        // `fast` where the model has them, else float FMAs.
        let batchPeak = bf16Peak.map { ($0, "bf16 peak") } ?? int8Peak.map { ($0, "int8 peak") } ?? (peak, "FMA peak")
        for count in sessionCounts {
            try measureSessions(loaded, count: count, tokens: tokens, cpu: "\(info.brand), \(kernels.path)",
                                peak: batchPeak, bandwidth: bandwidth)
        }
        for shape in promptShapes {
            try measurePrompts(loaded, count: shape.count, length: shape.length, cpu: "\(info.brand), \(kernels.path)")
        }
    }

    /// N prompts of L/2 … 3L/2 tokens (about L on average) for N fresh sessions: one batched prefill
    /// (`Model.feedBatch(spans:)`) against the same prompts prefilled session by session, repeated
    /// alternately for ~2.4 s in all; tokens/s of both and their ratio.
    func measurePrompts(_ model: Model, count: Int, length: Int, cpu: String) throws {
        let spans = (0..<count).map { i in
            (0..<(length / 2 + (i * 7919) % (length + 1))).map { Int32(($0 * 131 + i * 17 + 3) % model.vocabSize) }
        }
        let total = spans.reduce(0) { $0 + $1.count }
        let crowd = try (0..<count).map { _ in try Session(model: model) }
        try model.feedBatch(crowd, spans: spans)   // warm-up: the calling thread's scratch
        for session in crowd {
            session.reset()
            try spans[0].withUnsafeBufferPointer { ids throws(XLSTMError) in try session.prefill(ids, logits: .last) }
        }
        var batchSeconds = 0.0, aloneSeconds = 0.0, batchTokens = 0, aloneTokens = 0
        repeat {
            for session in crowd { session.reset() }
            var start = now()
            try model.feedBatch(crowd, spans: spans)
            batchSeconds += now() - start
            batchTokens += total
            for session in crowd { session.reset() }
            start = now()
            for (session, span) in zip(crowd, spans) {
                try span.withUnsafeBufferPointer { ids throws(XLSTMError) in try session.prefill(ids, logits: .last) }
            }
            aloneSeconds += now() - start
            aloneTokens += total
        } while batchSeconds + aloneSeconds < 2.4
        let batched = Double(batchTokens) / batchSeconds, alone = Double(aloneTokens) / aloneSeconds
        print("prompts   \(count) × ~\(length) tokens (\(total) in all): batched prefill \(fmt(batched)) tokens/s vs "
              + "\(fmt(alone)) one session at a time = \(fmt(batched / alone))×  [\(cpu), \(model.threads) thread\(model.threads == 1 ? "" : "s")]")
    }

    /// N sessions at mixed positions (each primed with 1…8 tokens), then batched feeds of one token
    /// each, interleaved with one session's step feeds in bursts of ~0.2 s for ~2.4 s in all (so a
    /// change of the machine's load hits both alike): aggregate tokens/s, one session's tokens/s over
    /// the same period, their ratio; resident memory added by creating the N sessions, per session.
    /// Then the roofline of that ratio, from the same run's step rate, peak and bandwidth: a batch
    /// computes every session's projections (n × the step's FLOPs, at best at the peak of its GEMM),
    /// and reads the weights once but every session's recurrent state (read and written, as a step
    /// does): when the weights and the n states outgrow the L3, those bytes come from memory.
    func measureSessions(_ model: Model, count: Int, tokens: [Int32], cpu: String,
                         peak: (rate: Double, name: String), bandwidth: Double) throws {
        let rssBefore = residentBytes()
        var crowd: [Session] = []
        for _ in 0..<count { crowd.append(try Session(model: model)) }
        let perSession = Double(residentBytes() - rssBefore) / Double(count)
        for (i, session) in crowd.enumerated() {
            for k in 0...(i % 8) { try session.feed(tokens[(i + k) % tokens.count], computeLogits: false) }
        }
        let solo = try Session(model: model)
        try solo.feed(tokens[0])
        var next = crowd.indices.map { tokens[($0 * 31 + 5) % tokens.count] }
        try model.feedBatch(crowd, next)   // warm-up: the calling thread's batch scratch
        var soloTokens = 0, batchTokens = 0, soloSeconds = 0.0, batchSeconds = 0.0, round = 0
        repeat {
            var start = now(), fed = 0
            repeat {
                try solo.feed(tokens[(round + fed) % tokens.count])
                fed += 1
            } while now() - start < 0.2
            soloSeconds += now() - start
            soloTokens += fed
            start = now()
            fed = 0
            repeat {
                for i in next.indices { next[i] = Int32((Int(next[i]) * 17 + round + i) % model.vocabSize) }
                try model.feedBatch(crowd, next)
                fed += count
                round += 1
            } while now() - start < 0.2
            batchSeconds += now() - start
            batchTokens += fed
        } while soloSeconds + batchSeconds < 2.4
        let rate = Double(batchTokens) / batchSeconds, one = Double(soloTokens) / soloSeconds
        print("sessions  \(count): \(fmt(rate)) tokens/s aggregate vs \(fmt(one)) for one session's step, interleaved "
              + "= \(fmt(rate / one))×; +\(fmt(perSession / 1024)) KiB resident per session (state + logits = "
              + "\(fmt(Double(Session.bytes(for: model)) / 1024)) KiB)  [\(cpu), \(model.threads) thread\(model.threads == 1 ? "" : "s")]")
        let flops = prefillFlops(model, tokens: 1, chunkSize: 1)   // every projection once, the head included
        let computeBound = peak.rate / (flops * one)
        let batchBytes = Double(model.stepWeightBytes + count * 2 * model.stateBytes)
        let fromMemory = batchBytes > Double(level3CacheBytes()) && bandwidth > 0
        let memoryBound = fromMemory ? Double(count) / one / (batchBytes / bandwidth) : Double.infinity
        print("          roofline ≤ \(fmt(min(computeBound, memoryBound)))×: \(fmt(flops / 1e6)) MFLOP per token, the step at "
              + "\(fmt(100 * flops * one / peak.rate))% of the \(peak.name) (\(fmt(peak.rate / 1e9)) GFLOP/s): ≤ \(fmt(computeBound))×; "
              + "weights + \(count) state\(count == 1 ? "" : "s") in and out, \(fmt(batchBytes / 1e6)) MB per batch, "
              + (fromMemory ? "from memory at \(fmt(bandwidth / 1e9)) GB/s: ≤ \(fmt(memoryBound))×" : "within the L3"))
    }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func fmt(_ value: Double) -> String {
    let rounded = value >= 100 ? value.rounded() : (value * 10).rounded() / 10
    return value >= 100 ? String(Int(rounded)) : String(rounded)
}

/// Resident set size of this process (the second field of /proc/self/statm, in pages); 0 where unavailable.
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = fread(&buffer, 1, buffer.count - 1, file)
    let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

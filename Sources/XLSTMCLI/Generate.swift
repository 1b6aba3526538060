import ArgumentParser
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream generated text (byte-level models) or token ids to stdout.",
        discussion: """
        The prompt is fed in one parallel prefill, then tokens are sampled one at a time and written as
        they are produced. With --state-out the session (recurrent state, token count, last logits) is
        saved at the end; --state-in resumes from such a file, so a conversation survives restarts:
        `generate M "Hello" --state-out s.bin` then `generate M " more" --state-in s.bin`. With
        --sampler-state-out / --sampler-state-in the sampler resumes too: the same sampled tokens as one run.
        A model directory with a tokenizer.json tokenizes PROMPT with it (special tokens of its
        post-processor added) and streams text, stopping at its end-of-sequence token; byte-level
        models (vocabulary 256–260) read PROMPT as UTF-8 bytes and print bytes; other models take
        --tokens and print ids, one per line.
        """)

    @Argument(help: "Model directory.")
    var modelDirectory: String

    @Argument(help: "Prompt text (models with a tokenizer.json, and byte-level models).")
    var prompt: String?

    @Option(help: "Prompt as comma-separated token ids (any model).")
    var tokens: String?

    @Option(name: .customLong("max-tokens"), help: "Tokens to generate.")
    var maxTokens: Int = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens; 0 keeps all.")
    var topK: Int = 40

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold; 1 keeps all.")
    var topP: Float = 0.95

    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the most likely one.")
    var minP: Float = 0.05

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty over the last 64 tokens; 1 is off.")
    var repeatPenalty: Float = 1.0

    @Option(help: "Random seed: the same seed gives the same text.")
    var seed: UInt64 = 0

    @Option(name: .customLong("state-in"), help: "Resume from a saved session state.")
    var stateIn: String?

    @Option(name: .customLong("state-out"), help: "Save the session state here at the end.")
    var stateOut: String?

    @Option(name: .customLong("sampler-state-in"),
            help: "Resume the sampler (options, random position, penalty history) from a saved sampler state; it replaces the sampling options.")
    var samplerStateIn: String?

    @Option(name: .customLong("sampler-state-out"), help: "Save the sampler state here at the end.")
    var samplerStateOut: String?

    @Option(help: "Worker threads (≥ 1).")
    var threads: Int = 1

    @Option(help: precisionHelp)
    var precision: Precision = .exact

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard prompt == nil || tokens == nil else { throw ValidationError("give a PROMPT or --tokens, not both") }
    }

    func run() throws {
        let model = loadModel(modelDirectory, threads: threads, precision: precision)
        let tokenizer: Tokenizer? = Tokenizer.exists(in: modelDirectory) ? loadTokenizer(modelDirectory) : nil
        let byteLevel = tokenizer == nil && isByteLevel(model)
        var promptTokens: [Int32] = []
        if let tokens {
            promptTokens = parseTokenList(tokens)
        } else if let prompt {
            if let tokenizer {
                promptTokens = tokenizer.encode(prompt)
            } else {
                guard byteLevel else {
                    fail("this model has no tokenizer.json and its vocabulary (\(model.vocabSize)) is not byte-level: give --tokens")
                }
                promptTokens = prompt.utf8.map { Int32($0) }
            }
        }
        let stream = tokenizer.map { StreamingDecoder(tokenizer: $0) }

        var parameters = SamplerParameters()
        parameters.temperature = temperature
        parameters.topK = topK
        parameters.topP = topP
        parameters.minP = minP
        parameters.repetitionPenalty = repeatPenalty
        parameters.seed = seed
        let sampler: Sampler
        do { sampler = try Sampler(parameters) } catch { fail(error.message) }
        if let samplerStateIn {
            do { try SamplerStateBlob.load(fromFile: samplerStateIn, into: sampler) } catch { fail(error.message) }
        }

        let session = makeSession(model)
        if let stateIn {
            do { try StateBlob.load(fromFile: stateIn, into: session) } catch { fail(error.message) }
        }
        guard !promptTokens.isEmpty || session.hasLogits else {
            fail("nothing to continue from: give a prompt (or --state-in with a saved state)")
        }
        let started = monotonicSeconds()
        do {
            try promptTokens.withUnsafeBufferPointer { ids throws(XLSTMError) in
                if !ids.isEmpty { try session.prefill(ids, logits: .last) }
            }
        } catch {
            fail(error.message)
        }
        for token in promptTokens { sampler.accept(token) }
        let prefilled = monotonicSeconds()

        var generated = 0
        for _ in 0..<maxTokens {
            let next: Int32
            do {
                next = try sampler.sample(UnsafeBufferPointer(session.logits))
                try session.feed(next)
            } catch {
                fail(error.message)
            }
            generated += 1
            if let stream, let tokenizer {
                if next == tokenizer.eosId { break }
                // Ids past the tokenizer's vocabulary (a model's padded embedding rows) have no text.
                do { writeOut(try stream.push(next)) } catch { fail(error.message) }
                continue
            }
            writeOut(byteLevel && next < 256 ? [UInt8(next)] : Array((byteLevel ? "<\(next)>" : "\(next)\n").utf8))
        }
        let finished = monotonicSeconds()
        if let stream { writeOut(stream.finish()) }
        if byteLevel || stream != nil { writeOut([0x0A]) }
        if let stateOut {
            do { try StateBlob.save(session, toFile: stateOut) } catch { fail(error.message) }
        }
        if let samplerStateOut {
            do { try SamplerStateBlob.save(sampler, toFile: samplerStateOut) } catch { fail(error.message) }
        }
        let prefillRate = promptTokens.isEmpty ? 0 : Double(promptTokens.count) / max(prefilled - started, 1e-9)
        let stepRate = Double(generated) / max(finished - prefilled, 1e-9)
        let summary = "[\(promptTokens.count) prompt tokens at \(Int(prefillRate)) tokens/s, \(generated) generated at "
            + "\(Int(stepRate)) tokens/s, state \(model.stateBytes) bytes]\n"
        _ = Array(summary.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

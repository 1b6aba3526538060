// A session: one sequence's recurrent state (a fixed-size contiguous float32 buffer) and its
// logits. Single-threaded; movable between threads. Its scratch belongs to the calling thread
// (CallerScratch.swift) and its worker threads to the model (`Model.pool`), so one more session
// costs `Session.bytes(for:)`. Nothing is allocated per token.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class Session: @unchecked Sendable {
    public let model: Model
    /// [model.stateCount] — every block's state, concatenated in block order.
    public let state: UnsafeMutableBufferPointer<Float>
    /// [vocabSize] — logits after the last token fed with logits requested.
    public let logits: UnsafeMutableBufferPointer<Float>
    /// Tokens consumed since the initial state.
    public internal(set) var tokenCount: Int = 0
    /// Whether `logits` holds the logits of the last token fed.
    public internal(set) var hasLogits = false

    /// The threads this session's kernels use: the model's pool unless given at creation.
    let pool: ThreadPool?

    /// A session whose feeds use the model's thread pool.
    public convenience init(model: Model) throws(XLSTMError) {
        try self.init(model: model, pool: model.pool)
    }

    /// A session whose feeds use `pool` (nil: the calling thread alone) instead of the model's.
    /// Throws `.outOfMemory` when the system refuses its state or logits.
    public init(model: Model, pool: ThreadPool?) throws(XLSTMError) {
        let state = try systemAllocate(Float.self, count: model.stateCount, for: "a session's state")
        let logits: UnsafeMutablePointer<Float>
        do {
            logits = try systemAllocate(Float.self, count: model.vocabSize, for: "a session's logits")
        } catch {
            free(state)
            throw error
        }
        self.model = model
        self.pool = pool
        self.state = UnsafeMutableBufferPointer(start: state, count: max(model.stateCount, 1))
        self.logits = UnsafeMutableBufferPointer(start: logits, count: model.vocabSize)
        self.logits.initialize(repeating: 0)
        reset()
    }

    deinit {
        free(state.baseAddress)
        free(logits.baseAddress)
    }

    /// Bytes one session of `model` holds: its state, its logits and the object itself. (The
    /// scratch of a feed is the calling thread's; see `Model.scratchBytes`.)
    public static func bytes(for model: Model) -> Int {
        max(model.stateCount, 1) * 4 + model.vocabSize * 4 + 128
    }

    /// Back to the initial (empty-history) state.
    public func reset() {
        for (block, offset) in zip(model.blocks, model.stateOffsets) {
            block.resetState(state.baseAddress! + offset)
        }
        tokenCount = 0
        hasLogits = false
    }

    /// A new session with a copy of this one's state and logits.
    public func clone() throws(XLSTMError) -> Session {
        let copy = try Session(model: model, pool: pool)
        copy.prefillWindow = prefillWindow
        copy.mLSTMChunkSize = mLSTMChunkSize
        copy.copyState(from: self)
        return copy
    }

    /// Makes this session's state, token count and logits equal to `other`'s. The models must have
    /// the same fingerprint (the same model, possibly loaded twice).
    public func copyState(from other: Session) {
        precondition(other.model.fingerprint == model.fingerprint && other.model.stateCount == model.stateCount
                     && other.model.vocabSize == model.vocabSize)
        state.baseAddress!.update(from: other.state.baseAddress!, count: model.stateCount)
        logits.baseAddress!.update(from: other.logits.baseAddress!, count: model.vocabSize)
        tokenCount = other.tokenCount
        hasLogits = other.hasLogits
    }

    public func checkToken(_ token: Int32) throws(XLSTMError) {
        guard token >= 0, Int(token) < model.vocabSize else {
            throw XLSTMError(.tokenOutOfRange, "token id \(token) is out of range [0, \(model.vocabSize))")
        }
    }

    /// Consumes one token; with `computeLogits` the logits of the next token are left in `logits`.
    /// An out-of-range id throws and leaves the session unchanged.
    public func feed(_ token: Int32, computeLogits: Bool = true) throws(XLSTMError) {
        try checkToken(token)
        try stepUnchecked(Int(token), computeLogits: computeLogits)
    }

    /// Consumes `tokens` in order (in parallel: see `prefill`); logits are computed for the last one
    /// only (when requested). All ids are validated first: on error nothing is consumed.
    public func feed(_ tokens: UnsafeBufferPointer<Int32>, computeLogits: Bool = true) throws(XLSTMError) {
        try prefill(tokens, logits: computeLogits ? .last : .none)
    }

    /// Which logits `prefill` computes.
    public enum LogitsRequest {
        /// None; `hasLogits` becomes false.
        case none
        /// The last token's, into `logits`.
        case last
        /// Every position's, into a caller buffer of [tokens.count, vocabSize] floats (row t = the logits
        /// after tokens[0…t]); the last row also goes into `logits`.
        case all(UnsafeMutablePointer<Float>)
    }

    /// Tokens per prefill window: a span is processed in windows of this many tokens, which bounds
    /// the prefill scratch (the calling thread's, allocated on first use).
    public var prefillWindow = 256 {
        didSet { prefillWindow = max(1, prefillWindow) }
    }
    /// Chunk size of the chunkwise-parallel mLSTM cell.
    public var mLSTMChunkSize = 64 {
        didSet { mLSTMChunkSize = max(1, mLSTMChunkSize) }
    }

    /// Consumes a span of tokens the parallel way: each window of tokens goes through every block as
    /// a whole (matrix–matrix projections; the chunkwise mLSTM cell; sLSTM's recurrence alone stays
    /// sequential). Same state and logits as feeding one token at a time, up to float rounding.
    /// All ids are validated first: on error nothing is consumed.
    public func prefill(_ tokens: UnsafeBufferPointer<Int32>, logits request: LogitsRequest) throws(XLSTMError) {
        for token in tokens { try checkToken(token) }
        guard !tokens.isEmpty else { return }
        if tokens.count == 1 {   // one token: the step path (bit-identical to feed(_:))
            switch request {
            case .none: try stepUnchecked(Int(tokens[0]), computeLogits: false)
            case .last: try stepUnchecked(Int(tokens[0]), computeLogits: true)
            case let .all(out):
                try stepUnchecked(Int(tokens[0]), computeLogits: true)
                out.update(from: logits.baseAddress!, count: model.vocabSize)
            }
            return
        }
        let E = model.embeddingDim, window = min(prefillWindow, tokens.count)
        let hiddenRows = try CallerScratch.floats(.prefillHidden, count: window * E)
        let scratchBase = try CallerScratch.floats(.prefill, count: model.prefillScratchCount(tokens: window,
                                                                                         chunkSize: mLSTMChunkSize))
        try ThreadScratch.reserve(model.kernelScratchNeed(rows: window, batch: false, chunkSize: mLSTMChunkSize))
        var base = state.baseAddress!
        var bounds = (0, 0)   // the one span's rows [0, count)
        var start = 0
        while start < tokens.count {
            let count = min(window, tokens.count - start)
            for t in 0..<count { model.embed(Int(tokens[start + t]), into: hiddenRows + t * E) }
            bounds.1 = count
            withUnsafePointer(to: &bounds) { bounds in
                withUnsafePointer(to: &base) { base in
                    let span = Spans(count: 1, starts: UnsafeRawPointer(bounds).assumingMemoryBound(to: Int.self), states: base,
                                     stateOffset: 0)
                    for (block, offset) in zip(model.blocks, model.stateOffsets) {
                        block.prefill(hiddenRows, spans: span.at(stateOffset: offset), scratch: scratchBase, pool: pool,
                                      chunkSize: mLSTMChunkSize)
                    }
                }
            }
            let isLastWindow = start + count == tokens.count
            switch request {
            case .none:
                break
            case .last:
                if isLastWindow { model.computeLogits(hiddenRows + (count - 1) * E, into: logits.baseAddress!, pool: pool) }
            case let .all(out):
                model.computeLogits(hiddenRows, count: count, into: out + start * model.vocabSize, pool: pool)
                if isLastWindow {
                    logits.baseAddress!.update(from: out + (start + count - 1) * model.vocabSize, count: model.vocabSize)
                }
            }
            start += count
        }
        tokenCount += tokens.count
        if case .none = request { hasLogits = false } else { hasLogits = true }
    }

    func stepUnchecked(_ token: Int, computeLogits: Bool) throws(XLSTMError) {
        let E = model.embeddingDim
        let hidden = try CallerScratch.floats(.step, count: E + model.scratchCount)
        try ThreadScratch.reserve(model.stepKernelNeed)
        let scratch = hidden + E
        model.embed(token, into: hidden)
        let base = state.baseAddress!
        for (block, offset) in zip(model.blocks, model.stateOffsets) {
            block.step(hidden, state: base + offset, scratch: scratch, pool: pool)
        }
        tokenCount += 1
        if computeLogits {
            model.computeLogits(hidden, into: logits.baseAddress!, pool: pool)
            hasLogits = true
        } else {
            hasLogits = false
        }
    }
}

// Batched prefill: a span of tokens for each of N sessions of one model (prompts of any lengths,
// sessions at any positions) in one pass over the weights per window.
//
// The spans are laid end to end, session after session, and processed in windows of
// `batchPrefillWindow` rows: every projection of a window is one matrix–matrix product over all
// its rows (so 16 NPC prompts of 20 tokens read each weight once, as one 320-token prompt would);
// the recurrent parts run per span on its session's state — the chunkwise mLSTM cell per
// (span, head), the causal convolutions and the sLSTM recurrence along each span (`Spans`,
// RecurrentBlock.swift). A session whose span crosses a window boundary continues in the next
// window from the state the first part left, so a window holds at most one piece of each session.
// The logits of the sessions whose span ends in a window go through the lm_head as one GEMM.
//
// Results equal feeding each session its span alone (`Session.prefill`) up to float rounding: the
// same operations, but the chunkwise cell's chunks start where the window cuts a span, and the
// logits come from the GEMM rather than the matvec (about 1e-6 relative).

extension Model {
    /// Rows (tokens of all sessions together) per window of a batched prefill: bounds the calling
    /// thread's scratch (`prefillScratchBytes(window:)`).
    public static let batchPrefillWindow = 256

    /// Feeds span `tokens(i)` to `sessions(i)` for i in 0..<count, computing the logits after each
    /// session's last token when `computeLogits` (a session given no tokens is left as it is).
    /// Everything is checked first — every session belongs to this model, none appears twice,
    /// every token is in range — and on an error (which names the session index and position) no
    /// session is changed. Uses the model's thread pool and the first session's `mLSTMChunkSize`.
    public func feedBatch(count: Int, sessions: (Int) -> Session, spans tokens: (Int) -> UnsafeBufferPointer<Int32>,
                          computeLogits: Bool) throws(XLSTMError) {
        guard count > 0 else { return }
        let states = try batchStates(count: count, sessions: sessions)
        for i in 0..<count {
            let span = tokens(i)
            for (position, token) in span.enumerated() where token < 0 || Int(token) >= vocabSize {
                throw XLSTMError(.tokenOutOfRange,
                                 "token id \(token) of session \(i) at position \(position) is out of range [0, \(vocabSize))")
            }
        }

        let E = embeddingDim, V = vocabSize, W = Model.batchPrefillWindow
        let chunkSize = sessions(0).mLSTMChunkSize
        let finishing = min(count, W)   // at most one span ends per row, and one per session
        // Every buffer is taken before any session changes (a refused one changes nothing).
        let hidden = try CallerScratch.floats(.prefillHidden, count: W * E)
        let blockScratch = prefillScratchCount(tokens: W, chunkSize: chunkSize)
        let scratch = try CallerScratch.floats(.prefill, count: blockScratch)
        let last = try CallerScratch.floats(.batch, count: computeLogits ? finishing * (E + V) : 1), logits = last + finishing * E
        // starts [W + 1] | the window's sessions [W] | the finishing spans' sessions [W] and rows [W] |
        // the window's state bases [W].
        let table = try CallerScratch.raw(.batchSpans, bytes: (5 * W + 1) * 8)
        try ThreadScratch.reserve(kernelScratchNeed(rows: W, batch: false, chunkSize: chunkSize)
            .union(kernelScratchNeed(rows: finishing, batch: true, chunkSize: chunkSize)))
        let starts = table.bindMemory(to: Int.self, capacity: 4 * W + 1)
        let members = starts + W + 1, ended = members + W, endRows = ended + W
        let windowStates = (table + (4 * W + 1) * 8).bindMemory(to: UnsafeMutablePointer<Float>.self, capacity: W)

        var session = 0, offset = 0   // the next token: tokens(session)[offset]
        while session < count {
            var rows = 0, spanCount = 0, endCount = 0
            while session < count && rows < W {
                let span = tokens(session)
                if offset == span.count { session += 1; offset = 0; continue }   // done, or no tokens
                let piece = min(span.count - offset, W - rows)
                starts[spanCount] = rows
                members[spanCount] = session
                windowStates[spanCount] = states[session]
                for t in 0..<piece { embed(Int(span[offset + t]), into: hidden + (rows + t) * E) }
                rows += piece
                offset += piece
                spanCount += 1
                if offset == span.count {
                    ended[endCount] = session
                    endRows[endCount] = rows - 1
                    endCount += 1
                }
            }
            guard spanCount > 0 else { break }
            starts[spanCount] = rows
            let spans = Spans(count: spanCount, starts: starts, states: windowStates, stateOffset: 0)
            for (block, stateOffset) in zip(blocks, stateOffsets) {
                block.prefill(hidden, spans: spans.at(stateOffset: stateOffset), scratch: scratch, pool: pool,
                              chunkSize: chunkSize)
            }
            if computeLogits && endCount > 0 {
                for j in 0..<endCount {
                    last.advanced(by: j * E).update(from: hidden + endRows[j] * E, count: E)
                    finalNorm.apply(last + j * E, count: E)
                }
                // Through the GEMM always (`applyRows`), and capped row by row, as a batched feed: a
                // session's logits do not depend on how many spans end beside it.
                lmHead.applyRows(last, xStride: E, count: endCount, into: logits, yStride: V, pool: pool)
                for j in 0..<endCount {
                    if let cap = logitSoftCap { kernels.softCap(logits + j * V, V, cap) }
                    sessions(ended[j]).logits.baseAddress!.update(from: logits + j * V, count: V)
                }
            }
        }
        for i in 0..<count where !tokens(i).isEmpty {
            let fed = sessions(i)
            fed.tokenCount += tokens(i).count
            fed.hasLogits = computeLogits
        }
    }

    /// `feedBatch(count:sessions:spans:)` over arrays (tests, tools).
    public func feedBatch(_ sessions: [Session], spans: [[Int32]], computeLogits: Bool = true) throws(XLSTMError) {
        guard sessions.count == spans.count else {
            throw XLSTMError(.invalidArgument, "\(sessions.count) sessions but \(spans.count) spans")
        }
        // Each array's buffer, valid for the call (the arrays outlive it).
        var buffers: [UnsafeBufferPointer<Int32>] = []
        var owned: [UnsafeMutableBufferPointer<Int32>] = []
        defer { for buffer in owned { buffer.deallocate() } }
        for span in spans {
            let copy = UnsafeMutableBufferPointer<Int32>.allocate(capacity: span.count)
            _ = copy.initialize(from: span)
            owned.append(copy)
            buffers.append(UnsafeBufferPointer(copy))
        }
        try feedBatch(count: sessions.count, sessions: { sessions[$0] }, spans: { buffers[$0] }, computeLogits: computeLogits)
    }

    /// Checks a batch's sessions — each of this model (this `Model` object), none twice — and
    /// returns their state bases ([count], the calling thread's batch scratch). Names the index.
    func batchStates(count: Int, sessions: (Int) -> Session) throws(XLSTMError) -> UnsafeMutablePointer<UnsafeMutablePointer<Float>> {
        let states = try CallerScratch.raw(.batchStates, bytes: count * MemoryLayout<UnsafeMutablePointer<Float>>.stride)
            .bindMemory(to: UnsafeMutablePointer<Float>.self, capacity: count)
        for i in 0..<count {
            let session = sessions(i)
            guard session.model === self else {
                throw XLSTMError(.invalidArgument, session.model.fingerprint == fingerprint
                    ? "session \(i) belongs to another load of this model (a batch needs sessions of one loaded model)"
                    : "session \(i) belongs to a different model")
            }
            let base = session.state.baseAddress!
            for j in 0..<i where states[j] == base {
                throw XLSTMError(.invalidArgument, "session \(i) is the same session as \(j) (each may appear once)")
            }
            states[i] = base
        }
        return states
    }
}

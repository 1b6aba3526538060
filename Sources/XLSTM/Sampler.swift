// Token sampling with its own seeded RNG: same seed and same logits ⇒ same tokens, on any machine.
// Order, as llama.cpp's default chain: penalties → (greedy when temperature is 0) → top-k →
// temperature softmax → top-p → min-p → draw. No allocation per call after the first.
// A sampler's whole state (parameters, generator position, penalty history) saves to a blob and
// restores: SamplerStateBlob.swift.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct SamplerParameters: Sendable, Equatable {
    /// 0 picks the most likely token (greedy); otherwise logits are divided by it.
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens; 0 = all.
    public var topK: Int = 40
    /// Keep the smallest set whose probability reaches p; 1 = all.
    public var topP: Float = 0.95
    /// Drop tokens less likely than min_p × the most likely one; 0 = none.
    public var minP: Float = 0.05
    /// CTRL-style: a seen token's logit is divided by this when positive, multiplied when negative; 1 = off.
    public var repetitionPenalty: Float = 1.0
    /// Subtracted from the logit of every token seen in the window; 0 = off.
    public var presencePenalty: Float = 0.0
    /// How many recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    public func validate() throws(XLSTMError) {
        func bad(_ what: String) -> XLSTMError { XLSTMError(.invalidArgument, "sampler: \(what)") }
        guard temperature.isFinite, temperature >= 0 else { throw bad("temperature must be ≥ 0 (is \(temperature))") }
        guard topK >= 0 else { throw bad("top_k must be ≥ 0 (is \(topK))") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw bad("top_p must be in (0, 1] (is \(topP))") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw bad("min_p must be in [0, 1] (is \(minP))") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw bad("repetition_penalty must be > 0 (is \(repetitionPenalty))")
        }
        guard presencePenalty.isFinite else { throw bad("presence_penalty must be finite") }
        guard penaltyWindow >= 0, penaltyWindow <= 1 << 20 else { throw bad("penalty_window must be in [0, 2^20]") }
    }
}

public final class Sampler: @unchecked Sendable {
    /// Replaced only by `restore` (a loaded state blob).
    public private(set) var parameters: SamplerParameters
    private var rng: SplitMix64
    /// The last `penaltyWindow` accepted tokens (a ring): [min(accepted, penaltyWindow)]
    private var history: [Int32]
    private var historyStart = 0
    // Work buffers, grown to the vocabulary on first use.
    private var adjusted: [Float] = []
    private var order: [Int32] = []
    private var probabilities: [Float] = []

    public init(_ parameters: SamplerParameters) throws(XLSTMError) {
        try parameters.validate()
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed)
        history = []
        history.reserveCapacity(parameters.penaltyWindow)
    }

    /// Forgets the history and restarts the random sequence from the seed.
    public func reset() {
        rng = SplitMix64(seed: parameters.seed)
        history.removeAll(keepingCapacity: true)
        historyStart = 0
    }

    /// Records a token (prompt or generated) for the penalties.
    public func accept(_ token: Int32) {
        let window = parameters.penaltyWindow
        guard window > 0 else { return }
        if history.count < window {
            history.append(token)
        } else {
            history[historyStart] = token
            historyStart = (historyStart + 1) % window
        }
    }

    /// The random generator's position (its 64-bit state; the seed before the first draw).
    public var generatorPosition: UInt64 { rng.state }

    /// The penalty history, oldest first: [min(tokens accepted, penaltyWindow)]
    public var recentTokens: [Int32] {
        Array(history[historyStart...] + history[..<historyStart])
    }

    /// Makes this sampler's whole state the given one (what a loaded blob holds). The parameters are
    /// validated and `recentTokens.count ≤ parameters.penaltyWindow` is required first: on error the
    /// sampler is unchanged.
    public func restore(parameters: SamplerParameters, generatorPosition: UInt64,
                        recentTokens: [Int32]) throws(XLSTMError) {
        try parameters.validate()
        guard recentTokens.count <= parameters.penaltyWindow else {
            throw XLSTMError(.invalidArgument, "sampler: \(recentTokens.count) recent tokens exceed penalty_window \(parameters.penaltyWindow)")
        }
        var restored = recentTokens
        restored.reserveCapacity(parameters.penaltyWindow)
        self.parameters = parameters
        rng = SplitMix64(state: generatorPosition)
        history = restored
        historyStart = 0
    }

    /// Why `sample(logits)` would fail, or nil: lets a batch check every input before drawing any.
    public static func unusableLogitsReason(_ logits: UnsafeBufferPointer<Float>) -> String? {
        let vocab = logits.count
        guard vocab > 0, vocab <= Int(Int32.max) else { return "empty logits" }
        for value in logits where value > -Float.infinity { return nil }   // NaN compares false
        return "every logit is NaN or -infinity"
    }

    /// Draws a token from `logits` [vocab] and accepts it.
    public func sample(_ logits: UnsafeBufferPointer<Float>) throws(XLSTMError) -> Int32 {
        if let reason = Self.unusableLogitsReason(logits) { throw XLSTMError(.invalidArgument, "sampler: \(reason)") }
        let vocab = logits.count
        if adjusted.count < vocab {
            adjusted = [Float](repeating: 0, count: vocab)
            order = [Int32](repeating: 0, count: vocab)
            probabilities = [Float](repeating: 0, count: vocab)
        }
        let token = adjusted.withUnsafeMutableBufferPointer { adjusted in
            order.withUnsafeMutableBufferPointer { order in
                probabilities.withUnsafeMutableBufferPointer { probabilities in
                    draw(logits, adjusted: adjusted, order: order, probabilities: probabilities)
                }
            }
        }
        accept(token)
        return token
    }

    private func draw(_ logits: UnsafeBufferPointer<Float>, adjusted: UnsafeMutableBufferPointer<Float>,
                      order: UnsafeMutableBufferPointer<Int32>, probabilities: UnsafeMutableBufferPointer<Float>) -> Int32 {
        let vocab = logits.count
        for i in 0..<vocab { adjusted[i] = logits[i].isNaN ? -.infinity : logits[i] }

        // Penalties: each distinct token in the window once.
        let p = parameters
        if p.repetitionPenalty != 1 || p.presencePenalty != 0 {
            for (index, token) in history.enumerated() where Int(token) < vocab && token >= 0 {
                if history[..<index].contains(token) { continue }
                var value = adjusted[Int(token)]
                if p.repetitionPenalty != 1 { value = value > 0 ? value / p.repetitionPenalty : value * p.repetitionPenalty }
                value -= p.presencePenalty
                adjusted[Int(token)] = value
            }
        }

        if p.temperature == 0 {
            var best = 0
            for i in 1..<max(vocab, 1) where adjusted[i] > adjusted[best] { best = i }
            return Int32(best)
        }

        // Candidates sorted by logit, descending (ties by id for determinism), cut to top-k.
        for i in 0..<vocab { order[i] = Int32(i) }
        var count = vocab
        let k = p.topK > 0 ? min(p.topK, vocab) : vocab
        if k < vocab {
            partialSort(order, count: vocab, keep: k, by: adjusted)
            count = k
        } else {
            fullSort(order, count: vocab, by: adjusted)
        }

        // Softmax with temperature over the candidates. Penalties can overflow a finite logit to
        // ±inf: candidates equal to the maximum weigh 1 (exp(0), and the limit for +inf), and if
        // every candidate is -inf the best by id is taken (as greedy would), not a NaN draw.
        let maxLogit = adjusted[Int(order[0])]
        if maxLogit == -.infinity { return order[0] }
        var total: Float = 0
        for i in 0..<count {
            let value = adjusted[Int(order[i])]
            let e = value == maxLogit ? 1 : expf((value - maxLogit) / p.temperature)
            probabilities[i] = e
            total += e
        }
        for i in 0..<count { probabilities[i] /= total }

        // top-p: the smallest prefix whose mass reaches p (at least one token).
        if p.topP < 1 {
            var mass: Float = 0
            var keep = count
            for i in 0..<count {
                mass += probabilities[i]
                if mass >= p.topP { keep = i + 1; break }
            }
            count = keep
        }
        // min-p: relative to the most likely candidate.
        if p.minP > 0 {
            let threshold = p.minP * probabilities[0]
            var keep = 1
            while keep < count && probabilities[keep] >= threshold { keep += 1 }
            count = keep
        }

        var kept: Float = 0
        for i in 0..<count { kept += probabilities[i] }
        let target = Float(rng.nextUnit()) * kept
        var running: Float = 0
        for i in 0..<count {
            running += probabilities[i]
            if target < running { return order[i] }
        }
        return order[count - 1]
    }

    /// Sorts order[0..<count] by logit descending, id ascending on ties.
    private func fullSort(_ order: UnsafeMutableBufferPointer<Int32>, count: Int, by logits: UnsafeMutableBufferPointer<Float>) {
        var slice = UnsafeMutableBufferPointer(rebasing: order[0..<count])
        slice.sort { a, b in
            let la = logits[Int(a)], lb = logits[Int(b)]
            return la > lb || (la == lb && a < b)
        }
    }

    /// Moves the `keep` best ids to the front, sorted; the rest in any order. O(n log k).
    private func partialSort(_ order: UnsafeMutableBufferPointer<Int32>, count: Int, keep: Int,
                             by logits: UnsafeMutableBufferPointer<Float>) {
        @inline(__always) func better(_ a: Int32, _ b: Int32) -> Bool {
            let la = logits[Int(a)], lb = logits[Int(b)]
            return la > lb || (la == lb && a < b)
        }
        // Insertion into a sorted front of size `keep`.
        var filled = 0
        for i in 0..<count {
            let candidate = order[i]
            if filled == keep && !better(candidate, order[keep - 1]) { continue }
            var position = min(filled, keep - 1)
            if filled < keep { filled += 1 }
            while position > 0 && better(candidate, order[position - 1]) {
                order[position] = order[position - 1]
                position -= 1
            }
            order[position] = candidate
        }
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SplitMix64 {
    /// The whole generator: the seed, advanced by a constant per draw.
    private(set) var state: UInt64
    init(seed: UInt64) { state = seed }
    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

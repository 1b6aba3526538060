// Sampling: determinism by seed, greedy, and what each filter keeps.

import Testing
import XLSTM

@Suite struct SamplerTests {
    static let logits: [Float] = [2.0, 1.0, 0.5, -1.0, 3.0, 0.0, -2.0, 1.5]

    func draws(_ parameters: SamplerParameters, _ n: Int, logits: [Float] = logits) throws -> [Int32] {
        let sampler = try Sampler(parameters)
        var out: [Int32] = []
        for _ in 0..<n {
            out.append(try logits.withUnsafeBufferPointer { buffer throws(XLSTMError) in try sampler.sample(buffer) })
        }
        return out
    }

    @Test func sameSeedSameTokens() throws {
        var p = SamplerParameters()
        p.temperature = 1.5; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 42
        let a = try draws(p, 200), b = try draws(p, 200)
        #expect(a == b)
        p.seed = 43
        #expect(try draws(p, 200) != a)
        #expect(Set(a).count > 3, "a hot sampler over 8 tokens should visit several")
    }

    @Test func resetRestartsTheSequence() throws {
        var p = SamplerParameters()
        p.temperature = 1; p.seed = 9
        let sampler = try Sampler(p)
        let first = try (0..<20).map { _ in try Self.logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) } }
        sampler.reset()
        let second = try (0..<20).map { _ in try Self.logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) } }
        #expect(first == second)
    }

    @Test func greedyPicksTheMaximum() throws {
        var p = SamplerParameters()
        p.temperature = 0
        #expect(try draws(p, 5) == [4, 4, 4, 4, 4])
    }

    @Test func topKOneIsGreedy() throws {
        var p = SamplerParameters()
        p.temperature = 2; p.topK = 1; p.seed = 1
        #expect(Set(try draws(p, 50)) == [4])
    }

    @Test func topKKeepsTheKBest() throws {
        var p = SamplerParameters()
        p.temperature = 5; p.topK = 3; p.topP = 1; p.minP = 0; p.seed = 3
        #expect(Set(try draws(p, 400)) == [4, 0, 7])
    }

    @Test func topPKeepsTheSmallestSufficientSet() throws {
        // probabilities ≈ [0.9, 0.09, 0.01]: top_p 0.5 keeps only the first.
        var p = SamplerParameters()
        p.temperature = 1; p.topK = 0; p.topP = 0.5; p.minP = 0; p.seed = 5
        let logits: [Float] = [0, logf(0.09 / 0.9), logf(0.01 / 0.9)]
        #expect(Set(try draws(p, 100, logits: logits)) == [0])
        p.topP = 0.95
        #expect(Set(try draws(p, 400, logits: logits)) == [0, 1])
    }

    @Test func minPDropsUnlikelyTokens() throws {
        var p = SamplerParameters()
        p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0.2; p.seed = 5
        let logits: [Float] = [0, logf(0.5), logf(0.1)]   // relative probabilities 1, 0.5, 0.1
        #expect(Set(try draws(p, 400, logits: logits)) == [0, 1])
    }

    @Test func repetitionPenaltyDemotesSeenTokens() throws {
        var p = SamplerParameters()
        p.temperature = 0; p.repetitionPenalty = 2
        let sampler = try Sampler(p)
        sampler.accept(4)   // logit 3.0 → 1.5, below token 0's 2.0
        let token = try Self.logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
        #expect(token == 0)
    }

    /// Penalties large enough to overflow the penalised logits to ±inf: the draw stays a proper
    /// one (before: every probability NaN, and the *last* candidate — the least likely — returned).
    @Test func overflowingPenaltiesStillDrawSensibly() throws {
        var p = SamplerParameters()
        p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 11
        p.repetitionPenalty = 3e38
        var sampler = try Sampler(p)
        for token: Int32 in [0, 1, 2] { sampler.accept(token) }
        let negative: [Float] = [-2, -3, -4]                    // all penalised to -inf
        var drawn = try negative.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
        #expect(drawn == 0, "every candidate -inf: the best by id, not the last")
        p.repetitionPenalty = 1e-38                             // 2 / 1e-38 = +inf
        sampler = try Sampler(p)
        sampler.accept(0)
        let positive: [Float] = [2, 1, 0.5]
        var seen = Set<Int32>()
        for _ in 0..<50 {
            drawn = try positive.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
            seen.insert(drawn)
        }
        #expect(seen == [0], "a +inf logit takes all the mass")
    }

    @Test func presencePenaltyAndWindow() throws {
        var p = SamplerParameters()
        p.temperature = 0; p.presencePenalty = 5; p.penaltyWindow = 2
        let sampler = try Sampler(p)
        sampler.accept(4); sampler.accept(1); sampler.accept(2)   // 4 has left the 2-token window
        let token = try Self.logits.withUnsafeBufferPointer { b throws(XLSTMError) in try sampler.sample(b) }
        #expect(token == 4)
    }

    @Test func invalidParametersAreRejected() {
        var p = SamplerParameters()
        p.temperature = -1
        #expect(throws: XLSTMError.self) { try Sampler(p) }
        p = SamplerParameters(); p.topP = 0
        #expect(throws: XLSTMError.self) { try Sampler(p) }
        p = SamplerParameters(); p.repetitionPenalty = 0
        #expect(throws: XLSTMError.self) { try Sampler(p) }
        p = SamplerParameters(); p.topK = -2
        #expect(throws: XLSTMError.self) { try Sampler(p) }
    }
}

#if canImport(Glibc)
import Glibc
#endif

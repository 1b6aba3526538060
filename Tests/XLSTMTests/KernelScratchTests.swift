// The kernels' per-thread buffers are reserved by every feed before it changes a session
// (Model.kernelScratchNeed, ThreadScratch.reserve), so that a refusal by the system is a status
// and not a stop half-way through: the bounds must cover every request the kernels make. Each case
// feeds one way — steps, spans shorter and longer than a prefill window (and with a small window
// and chunk), all logits, batches of 1 to 130 sessions, batched spans crossing windows — on a new
// thread (empty buffers), then checks that no kernel on that thread ever had to grow a buffer
// itself (`KernelScratchStatistics.unreservedGrowthsOnThisThread`). The pool's workers grow theirs
// to the high-water marks the caller's reservation raised, before they claim a part.

import Testing
import XLSTM
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

private final class ThreadBox: @unchecked Sendable {
    let body: () -> Int
    var result = 0
    init(_ body: @escaping () -> Int) { self.body = body }
}

/// Runs `body` on a new thread (empty per-thread buffers) and returns what it returned.
func onNewThread(_ body: @escaping () -> Int) -> Int {
    let box = ThreadBox(body)
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<ThreadBox>.fromOpaque(raw!).takeUnretainedValue()
        box.result = box.body()
        return nil
    }, Unmanaged.passUnretained(box).toOpaque())
    precondition(started == 0, "pthread_create failed")
    pthread_join(thread, nil)
    return box.result
}

@Suite struct KernelScratchTests {
    /// The ways of feeding a model, each run alone on a new thread: the first feed of its kind on
    /// that thread, so nothing an earlier feed reserved can hide a request this one did not.
    static let ways = ["step", "span 2", "span 5", "span 300", "all logits 40", "window 7 chunk 3", "batch 1",
                       "batch 3", "batch 17", "batch 17 no logits", "batch 130", "spans 200+0+120", "spans 1+9+2 no logits"]

    /// Feeds `model` one `way` on the calling thread; returns the thread's unreserved growths.
    static func feed(_ model: Model, _ way: String) throws -> Int {
        let long = (0..<300).map { Int32(($0 * 7919 + 13) % model.vocabSize) }
        let session = try Session(model: model)
        func span(_ n: Int) throws { try Array(long.prefix(n)).withUnsafeBufferPointer { try session.feed($0) } }
        func batch(_ n: Int, logits: Bool = true) throws {
            let crowd = try (0..<n).map { _ in try Session(model: model) }
            try model.feedBatch(crowd, (0..<n).map { long[$0 % long.count] }, computeLogits: logits)
        }
        switch way {
        case "step": for token in long.prefix(3) { try session.feed(token) }
        case "span 2": try span(2)
        case "span 5": try span(5)
        case "span 300": try span(300)
        case "all logits 40":
            var all = [Float](repeating: 0, count: 40 * model.vocabSize)
            try Array(long.prefix(40)).withUnsafeBufferPointer { ids in
                try all.withUnsafeMutableBufferPointer { out in try session.prefill(ids, logits: .all(out.baseAddress!)) }
            }
        case "window 7 chunk 3":
            session.prefillWindow = 7
            session.mLSTMChunkSize = 3
            try span(50)
        case "batch 1": try batch(1)
        case "batch 3": try batch(3)
        case "batch 17": try batch(17)
        case "batch 17 no logits": try batch(17, logits: false)
        case "batch 130": try batch(130)
        case "spans 200+0+120":
            let crowd = try (0..<3).map { _ in try Session(model: model) }
            try model.feedBatch(crowd, spans: [Array(long.prefix(200)), [], Array(long.prefix(120))])
        case "spans 1+9+2 no logits":
            let crowd = try (0..<3).map { _ in try Session(model: model) }
            try model.feedBatch(crowd, spans: [[long[1]], Array(long.prefix(9)), Array(long.prefix(2))], computeLogits: false)
        default: preconditionFailure(way)
        }
        return KernelScratchStatistics.unreservedGrowthsOnThisThread
    }

    @Test(arguments: Fixtures.names, CPUInfo.current.supportedPaths)
    func everyKernelRequestIsReserved(_ fixture: String, _ path: CPUPath) throws {
        for precision in [Precision.exact, .fast] {
            let model = try Model(directory: Fixtures.modelDirectory(fixture), cpuPath: path, precision: precision)
            for way in KernelScratchTests.ways {
                let growths = onNewThread { (try? KernelScratchTests.feed(model, way)) ?? -1 }
                #expect(growths == 0, "\(fixture), \(path), \(precision), \(way): \(growths < 0 ? "the feed failed" : "\(growths) buffers grown by a kernel")")
            }
        }
    }

    /// A pool worker whose scratch the system refuses (fault injection at the allocation: the
    /// worker's buffers emptied, then every growth on that thread failing as posix_memalign's
    /// refusal would) claims no part of the jobs
    /// after it: the caller, which reserved its own buffers for the feed, runs them all — the same
    /// parts, so bit-identical results to a pool whose worker takes part; once the system gives
    /// again, the worker syncs and declines no more.
    @Test(arguments: Fixtures.names)
    func aWorkerRefusedItsScratchLeavesItsPartsToTheCaller(_ fixture: String) throws {
        let directory = Fixtures.modelDirectory(fixture)
        let normal = try Model(directory: directory, threads: 2)
        let refused = try Model(directory: directory, threads: 2)
        let pool = try #require(refused.pool)
        #expect(pool.declinedJobs == 0)
        let tokens = (0..<300).map { Int32(($0 * 7919 + 13) % normal.vocabSize) }
        func feeds(_ model: Model) throws -> [[Float]] {
            var seen: [[Float]] = []
            let session = try Session(model: model)
            try tokens.withUnsafeBufferPointer { try session.feed($0) }
            seen.append(Array(session.logits))
            for token in tokens.prefix(5) { try session.feed(token); seen.append(Array(session.logits)) }
            let crowd = try (0..<17).map { _ in try Session(model: model) }
            try model.feedBatch(crowd, Array(tokens.prefix(17)))
            seen += crowd.map { Array($0.logits) }
            try model.feedBatch(Array(crowd.prefix(3)), spans: [Array(tokens.prefix(200)), [], Array(tokens.prefix(70))])
            seen += crowd.prefix(3).map { Array($0.logits) }
            return seen
        }
        let expected = try feeds(normal)
        pool.refusesWorkerScratchForTesting = true
        let declining = try feeds(refused)
        // The caller does not wait for a worker that declines, so its count may land a moment later.
        for _ in 0..<200 where pool.declinedJobs == 0 { usleep(10_000) }
        let declined = pool.declinedJobs
        #expect(declined > 0, "\(fixture): the worker never declined a job (its scratch grew despite the refusal)")
        #expect(declining == expected, "\(fixture): results changed when the worker left its parts to the caller")
        pool.refusesWorkerScratchForTesting = false
        let recovered = try feeds(refused)
        #expect(recovered == expected, "\(fixture): results changed after the worker's scratch grew again")
        // (≤ 1: the caller does not wait for a worker that declines, so the last refused job's
        // count may land after `declined` was read.)
        #expect(pool.declinedJobs - declined <= 1, "\(fixture): the worker kept declining after the refusal ended (\(pool.declinedJobs - declined) more jobs)")
    }

    /// The same, deterministically at the pool: part 0 of each job holds the caller until part 1
    /// has started (up to 5 s), so a worker that is willing claims part 1 before the caller could;
    /// refused, it declines (part 0 holds 100 ms) and the caller runs part 1 itself; once the
    /// refusal ends it claims again.
    @Test func aRefusedWorkerClaimsNoPart() throws {
        // The high-water marks are > 0 once any feed has reserved kernel scratch (so an emptied
        // worker must grow before it may claim).
        let model = try Model(directory: Fixtures.modelDirectory("large_basic"))
        try [Int32](repeating: 3, count: 20).withUnsafeBufferPointer { try Session(model: model).feed($0) }
        let pool = ThreadPool(threads: 2)
        let caller = pthread_self()
        /// Part 0 holds the caller until part 1 has started or `holdMilliseconds` have passed.
        func partOneRanOnCaller(holdMilliseconds: Int) -> Bool {
            let started = Atomic<Bool>(false), ranOnCaller = Atomic<Bool>(false)
            pool.run { part in
                if part == 0 {
                    for _ in 0..<holdMilliseconds where !started.load(ordering: .acquiring) { usleep(1_000) }
                }
                if part == 1 {
                    ranOnCaller.store(pthread_equal(pthread_self(), caller) != 0, ordering: .relaxed)
                    started.store(true, ordering: .releasing)
                }
            }
            return ranOnCaller.load(ordering: .relaxed)
        }
        // Willing: the worker has seconds to take part 1 (a loaded machine may be slow to run it).
        #expect(!partOneRanOnCaller(holdMilliseconds: 5_000), "a willing worker left part 1 to the caller")
        pool.refusesWorkerScratchForTesting = true
        for round in 0..<3 {
            #expect(partOneRanOnCaller(holdMilliseconds: 100), "round \(round): the refused worker claimed part 1")
        }
        for _ in 0..<200 where pool.declinedJobs == 0 { usleep(10_000) }
        #expect(pool.declinedJobs >= 1)
        pool.refusesWorkerScratchForTesting = false
        #expect(!partOneRanOnCaller(holdMilliseconds: 5_000), "after the refusal ended the worker still left part 1 to the caller")
    }
}

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
}

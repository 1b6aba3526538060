// A small fixed pool of worker threads that runs one data-parallel job at a time: the caller
// thread takes part 0, then every thread — workers and caller — claims the parts not yet taken,
// one at a time (an atomic word), until none are left. Used by the matrix kernels to split rows.
//
// Claiming, not a fixed part per worker: a worker the OS has not scheduled yet (the other core
// busy with a game's frame, a neighbour's job) leaves its part to the caller instead of stalling
// it. With part i fixed to worker i, the 0.5 M-parameter model's step on 2 threads fell from
// ~40 000 to 6 400 tokens/s while a busy loop ran on the other core (1 thread: 40 500).
// A thread may thus run a kind of part for the first time long after the warm-up; its kernel
// scratch is sized up front (ThreadScratch's high-water marks: the caller syncs at each dispatch,
// and a job during which a mark rose is followed by a sync job that every worker runs), so steady-
// state feeds still allocate nothing on any thread.
//
// One pool belongs to one model (`Model.pool`, sized by `n_threads`) and is shared by all its
// sessions and batch calls, whichever user threads make them. It runs one caller's job at a time:
// a caller that finds it busy (another user thread's job, or a nested call) runs every part of its
// job itself, in order, on its own thread. Parts write disjoint outputs, so the result is the same
// bit for bit either way, and no caller ever waits for another (no deadlock is possible).
//
// Hand-offs are frequent and short (every projection of every token), so after a job a worker
// spins on an atomic for a short while (`spinNanoseconds`) before it sleeps on a condition
// variable; a caller wakes sleepers only when there are some. Idle workers therefore cost no CPU
// beyond the first ~50 µs after the last job (a game frame's other work runs undisturbed).

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A parallel region's work as a value (the allocation-free form of `ThreadPool.run`): `run(part:)`
/// for every part in 0..<parts, parts writing disjoint outputs. The pool reads the job through a
/// pointer to the caller's copy, so handing it to the workers allocates nothing — unlike a closure,
/// which Swift can only hand to another thread through `withoutActuallyEscaping` (one heap context
/// per call). The per-token paths (`Matrix.apply`) use this form.
public protocol ParallelJob {
    func run(part: Int)
}

public final class ThreadPool: @unchecked Sendable {
    /// Shared with the worker threads (they retain the core, not the pool, so `deinit` can stop them).
    private final class Core: @unchecked Sendable {
        let generation = Atomic<Int>(0)      // bumped after `job` is set
        let pending = Atomic<Int>(0)         // parts 1..<parts of the current job not yet finished
        /// The current job's tag (`tag(generation)`) << 24 | its parts << 12 | the next unclaimed part:
        /// one word, so a claim can only succeed for the job it was meant for.
        let claim = Atomic<Int>(0)
        /// The generation of the last sync job (every worker syncs its scratch and counts down `pending`).
        let syncGeneration = Atomic<Int>(-1)
        /// The ThreadScratch epoch every worker has synced to (written by the caller holding `busy`).
        var workersEpoch = 0
        let sleepingWorkers = Atomic<Int>(0) // workers waiting on `wake` (or about to)
        let callerSleeping = Atomic<Bool>(false)
        let shuttingDown = Atomic<Bool>(false)
        let busy = Atomic<Bool>(false)       // a caller's job is in the pool
        /// Fault injection for tests: every worker's scratch growth fails as a refusal by the system.
        let refuseWorkerScratch = Atomic<Bool>(false)
        /// Jobs a worker left to the others because its scratch could not grow to the marks.
        let declinedJobs = Atomic<Int>(0)
        var job: ((Int) -> Void)?
        var jobValue: UnsafeRawPointer?              // or a ParallelJob value of type `jobType`
        var jobType: (any ParallelJob.Type)?
        var mutex = pthread_mutex_t()
        var wake = pthread_cond_t()
        var done = pthread_cond_t()
        /// How long a thread spins on an atomic before it sleeps: about one projection's gap.
        static let spinNanoseconds: UInt64 = 50_000

        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&wake, nil)
            pthread_cond_init(&done, nil)
        }

        deinit {
            pthread_cond_destroy(&wake)
            pthread_cond_destroy(&done)
            pthread_mutex_destroy(&mutex)
        }

        /// Spins until `ready()` or the spin time is over; returns `ready()`.
        @inline(__always)
        static func spin(until ready: () -> Bool) -> Bool {
            if ready() { return true }
            let start = monotonicNanoseconds()
            var round = 0
            while true {
                for _ in 0..<64 where ready() { return true }
                round += 1
                if round & 7 == 0 && monotonicNanoseconds() - start > spinNanoseconds { return ready() }
            }
        }

        static func invoke<Job: ParallelJob>(_: Job.Type, _ value: UnsafeRawPointer, part: Int) {
            value.assumingMemoryBound(to: Job.self).pointee.run(part: part)
        }

        /// The next unclaimed part of the job of generation `g`, claimed for the calling thread, or nil
        /// when that job has none left (or is not the current one). A claim is made before the job's
        /// fields are read, and the caller returns only when every claimed part is finished, so a
        /// claimed part's job is alive.
        @inline(__always)
        func claimPart(_ g: Int) -> Int? {
            var current = claim.load(ordering: .acquiring)
            while current >> 24 == Core.tag(g) {
                let next = current & 0xFFF, parts = (current >> 12) & 0xFFF
                if next >= parts { return nil }
                let (exchanged, original) = claim.compareExchange(expected: current, desired: current + 1,
                                                                  ordering: .acquiringAndReleasing)
                if exchanged { return next }
                current = original
            }
            return nil
        }

        /// The low 39 bits of a generation: the claim word's field, which stays non-negative; it wraps
        /// after 5.5 · 10¹¹ jobs (days of a game at 10⁶ jobs per second), long after any stale claim.
        @inline(__always)
        static func tag(_ g: Int) -> Int { g & ((1 << 39) - 1) }

        /// A part in 1..<parts (or a worker's sync) finished; the last one wakes a sleeping caller.
        @inline(__always)
        func finishPart() {
            if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0
                && callerSleeping.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(&mutex)
                pthread_cond_signal(&done)
                pthread_mutex_unlock(&mutex)
            }
        }

        /// Publishes generation `g` (its fields already set) and wakes sleeping workers.
        @inline(__always)
        func publish(_ g: Int) {
            generation.store(g, ordering: .sequentiallyConsistent)
            if sleepingWorkers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
        }

        /// Waits until `pending` is 0: spinning, then on `done`.
        @inline(__always)
        func waitForPending() {
            if !Core.spin(until: { pending.load(ordering: .acquiring) == 0 }) {
                pthread_mutex_lock(&mutex)
                callerSleeping.store(true, ordering: .sequentiallyConsistent)
                while pending.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_wait(&done, &mutex) }
                callerSleeping.store(false, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
            }
        }

        /// Runs a sync job if a ThreadScratch mark rose since the workers last synced: every worker
        /// grows its scratch to the marks, and the caller waits for all of them (once per rise, so
        /// in the warm-up only). Called by the caller holding `busy`.
        @inline(__always)
        func syncWorkersIfNeeded(workers: Int) {
            let epoch = ThreadScratch.epoch
            if epoch == workersEpoch { return }
            let g = generation.load(ordering: .relaxed) &+ 1
            pending.store(workers, ordering: .relaxed)
            syncGeneration.store(g, ordering: .relaxed)
            publish(g)
            waitForPending()
            workersEpoch = epoch
        }

        /// Starts the job set in `job` / `jobValue` (`parts` parts) on the workers, runs part 0 on
        /// the calling thread and then every part no worker has claimed, and returns when every part
        /// is done.
        @inline(__always)
        func dispatchAndWait(parts: Int, run: (Int) -> Void) {
            ThreadScratch.sync()
            syncWorkersIfNeeded(workers: parts - 1)
            let g = generation.load(ordering: .relaxed) &+ 1   // only the caller holding `busy` writes it
            pending.store(parts - 1, ordering: .relaxed)
            claim.store(Core.tag(g) << 24 | parts << 12 | 1, ordering: .relaxed)
            publish(g)                                         // publishes the job, claim and pending
            run(0)
            while let part = claimPart(g) {
                run(part)
                finishPart()
            }
            waitForPending()
            syncWorkersIfNeeded(workers: parts - 1)
        }

        func workerLoop() {
            var seen = 0
            while true {
                let arrived = Core.spin {
                    generation.load(ordering: .acquiring) != seen || shuttingDown.load(ordering: .relaxed)
                }
                if !arrived {
                    // Sleep. Dekker with the caller (sequentially consistent): either the caller sees
                    // this sleeper and signals under the mutex, or this thread sees the new generation.
                    pthread_mutex_lock(&mutex)
                    sleepingWorkers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen
                            && !shuttingDown.load(ordering: .sequentiallyConsistent) {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepingWorkers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                }
                if shuttingDown.load(ordering: .acquiring) { return }
                seen = generation.load(ordering: .acquiring)
                let refusing = refuseWorkerScratch.load(ordering: .relaxed)
                if syncGeneration.load(ordering: .acquiring) == seen {
                    // The caller waits for every worker here, so no newer job can start before this
                    // worker has counted down (it cannot miss a sync job or count one twice).
                    ThreadScratch.sync(refusingGrowth: refusing)
                    finishPart()
                    continue
                }
                // A worker whose scratch could not grow to the marks (the system refused memory)
                // claims nothing: the caller, which reserved its own for this feed, runs the parts.
                guard ThreadScratch.sync(refusingGrowth: refusing) else {
                    declinedJobs.add(1, ordering: .relaxed)
                    continue
                }
                while let part = claimPart(seen) {
                    if let jobType { Core.invoke(jobType, jobValue!, part: part) } else { job!(part) }
                    finishPart()
                }
            }
        }
    }

    private final class Start {
        let core: Core
        init(core: Core) { self.core = core }
    }

    private let core = Core()
    private var workers: [pthread_t] = []

    /// Parts a job is split into: the caller plus each worker thread that started.
    public var parts: Int { workers.count + 1 }

    /// Jobs (counted per worker) that a worker left to the other threads because the system refused
    /// to grow its kernel scratch to the sizes the feeds reserved: the job's parts ran on the
    /// threads that had them — the same parts, so the same results, only fewer threads.
    public var declinedJobs: Int { core.declinedJobs.load(ordering: .relaxed) }

    /// Fault injection for tests: while true, every growth of a worker's kernel scratch fails as a
    /// refusal by the system would (each worker takes the setting at its next job).
    public var refusesWorkerScratchForTesting: Bool {
        get { core.refuseWorkerScratch.load(ordering: .relaxed) }
        set { core.refuseWorkerScratch.store(newValue, ordering: .relaxed) }
    }

    /// `threads` ≥ 1 threads in all (the caller counts; at most 4 095, the claim word's field); with 1
    /// no thread is started.
    public init(threads: Int) {
        for _ in 1..<min(max(1, threads), 0xFFF) {
            let start = Unmanaged.passRetained(Start(core: core)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                start.core.workerLoop()
                return nil
            }, start)
            if status == 0 {
                workers.append(thread)
            } else {
                Unmanaged<Start>.fromOpaque(start).release()
                break
            }
        }
    }

    deinit {
        core.shuttingDown.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&core.mutex)
        pthread_cond_broadcast(&core.wake)
        pthread_mutex_unlock(&core.mutex)
        for thread in workers { pthread_join(thread, nil) }
    }

    /// Runs body(part) for every part in 0..<parts and returns when all are done: part 0 on the
    /// calling thread and the others on whichever threads claim them first (workers or the caller),
    /// or — when another caller's job holds the pool — every part on the calling thread, in order. Safe to call from any number of threads at once.
    public func run(_ body: (Int) -> Void) {
        if workers.isEmpty { body(0); return }
        guard core.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            core.job = escaping
            core.dispatchAndWait(parts: parts) { escaping($0) }
            core.job = nil
        }
        core.busy.store(false, ordering: .releasing)
    }

    /// `job.run(part:)` for every part, as `run(_ body:)` does — without allocating.
    public func run<Job: ParallelJob>(_ job: Job) {
        if workers.isEmpty { job.run(part: 0); return }
        guard core.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { job.run(part: part) }
            return
        }
        withUnsafePointer(to: job) { value in
            core.jobValue = UnsafeRawPointer(value)
            core.jobType = Job.self
            core.dispatchAndWait(parts: parts) { job.run(part: $0) }
            core.jobType = nil
            core.jobValue = nil
        }
        core.busy.store(false, ordering: .releasing)
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
}

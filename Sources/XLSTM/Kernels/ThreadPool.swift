// A small fixed pool of worker threads that runs one data-parallel job at a time: the caller
// thread takes part 0, worker i takes part i. Used by the matrix kernels to split rows.
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
        let pending = Atomic<Int>(0)         // workers still running the current job
        let sleepingWorkers = Atomic<Int>(0) // workers waiting on `wake` (or about to)
        let callerSleeping = Atomic<Bool>(false)
        let shuttingDown = Atomic<Bool>(false)
        let busy = Atomic<Bool>(false)       // a caller's job is in the pool
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

        /// Starts the job set in `job` / `jobValue` on the workers, runs part 0 on the calling
        /// thread, and returns when every part is done.
        @inline(__always)
        func dispatchAndWait(workers: Int, part0: () -> Void) {
            pending.store(workers, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepingWorkers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            part0()
            if !Core.spin(until: { pending.load(ordering: .acquiring) == 0 }) {
                pthread_mutex_lock(&mutex)
                callerSleeping.store(true, ordering: .sequentiallyConsistent)
                while pending.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_wait(&done, &mutex) }
                callerSleeping.store(false, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
            }
        }

        func workerLoop(index: Int) {
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
                if let jobType { Core.invoke(jobType, jobValue!, part: index) } else { job!(index) }
                if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0
                    && callerSleeping.load(ordering: .sequentiallyConsistent) {
                    pthread_mutex_lock(&mutex)
                    pthread_cond_signal(&done)
                    pthread_mutex_unlock(&mutex)
                }
            }
        }
    }

    private final class Start {
        let core: Core
        let index: Int
        init(core: Core, index: Int) { self.core = core; self.index = index }
    }

    private let core = Core()
    private var workers: [pthread_t] = []

    /// Parts a job is split into: the caller plus each worker thread that started.
    public var parts: Int { workers.count + 1 }

    /// `threads` ≥ 1 threads in all (the caller counts); with 1 no thread is started.
    public init(threads: Int) {
        for index in 1..<max(1, threads) {
            let start = Unmanaged.passRetained(Start(core: core, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                start.core.workerLoop(index: start.index)
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
    /// calling thread and the others on the workers, or — when another caller's job holds the pool
    /// — every part on the calling thread, in order. Safe to call from any number of threads at once.
    public func run(_ body: (Int) -> Void) {
        if workers.isEmpty { body(0); return }
        guard core.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            core.job = escaping
            core.dispatchAndWait(workers: workers.count) { escaping(0) }
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
            core.dispatchAndWait(workers: workers.count) { job.run(part: 0) }
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

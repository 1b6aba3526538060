// A small fixed pool of worker threads that runs one data-parallel job at a time: the caller
// thread takes part 0, worker i takes part i. Used by the matrix kernels to split rows.
// One pool belongs to one session (sessions are single-threaded), so jobs never overlap.
//
// Hand-offs are frequent and short (every projection of every token), so both sides spin on
// atomics for a few microseconds before falling back to a mutex and condition variable: a worker
// that has just finished a job picks up the next one without a futex round trip.

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

public final class ThreadPool: @unchecked Sendable {
    /// Shared with the worker threads (they retain the core, not the pool, so `deinit` can stop them).
    private final class Core: @unchecked Sendable {
        let generation = Atomic<Int>(0)      // bumped (release) after `job` is set
        let pending = Atomic<Int>(0)         // workers still running the current job
        let shuttingDown = Atomic<Bool>(false)
        var job: ((Int) -> Void)?
        var mutex = pthread_mutex_t()
        var wake = pthread_cond_t()
        var done = pthread_cond_t()
        static let spins = 200_000

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

        func workerLoop(index: Int) {
            var seen = 0
            while true {
                var current = generation.load(ordering: .acquiring)
                var spins = 0
                while current == seen && spins < Core.spins && !shuttingDown.load(ordering: .relaxed) {
                    spins += 1
                    current = generation.load(ordering: .acquiring)
                }
                if current == seen {
                    pthread_mutex_lock(&mutex)
                    while generation.load(ordering: .acquiring) == seen && !shuttingDown.load(ordering: .acquiring) {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    pthread_mutex_unlock(&mutex)
                    current = generation.load(ordering: .acquiring)
                }
                if shuttingDown.load(ordering: .acquiring) { return }
                seen = current
                job!(index)
                if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
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
        core.shuttingDown.store(true, ordering: .releasing)
        pthread_mutex_lock(&core.mutex)
        pthread_cond_broadcast(&core.wake)
        pthread_mutex_unlock(&core.mutex)
        for thread in workers { pthread_join(thread, nil) }
    }

    /// Runs body(part) for every part in 0..<parts — part 0 on the calling thread — and returns
    /// when all are done.
    public func run(_ body: (Int) -> Void) {
        if workers.isEmpty { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            core.job = escaping
            core.pending.store(workers.count, ordering: .relaxed)
            core.generation.add(1, ordering: .releasing)
            pthread_mutex_lock(&core.mutex)
            pthread_cond_broadcast(&core.wake)
            pthread_mutex_unlock(&core.mutex)
            escaping(0)
            var spins = 0
            while core.pending.load(ordering: .acquiring) > 0 && spins < Core.spins { spins += 1 }
            if core.pending.load(ordering: .acquiring) > 0 {
                pthread_mutex_lock(&core.mutex)
                while core.pending.load(ordering: .acquiring) > 0 { pthread_cond_wait(&core.done, &core.mutex) }
                pthread_mutex_unlock(&core.mutex)
            }
            core.job = nil
        }
    }
}

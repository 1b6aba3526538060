// A small fixed pool of worker threads that runs one data-parallel job at a time: the caller
// thread takes part 0, worker i takes part i. Used by the matrix kernels to split rows.
// One pool belongs to one session (sessions are single-threaded), so jobs never overlap.

#if canImport(Glibc)
import Glibc
#endif

public final class ThreadPool: @unchecked Sendable {
    /// Shared with the worker threads (they retain the core, not the pool, so `deinit` can stop them).
    private final class Core: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var wake = pthread_cond_t()
        var done = pthread_cond_t()
        var generation = 0
        var pending = 0
        var shuttingDown = false
        var job: ((Int) -> Void)?

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
            pthread_mutex_lock(&mutex)
            while true {
                while generation == seen && !shuttingDown { pthread_cond_wait(&wake, &mutex) }
                if shuttingDown { break }
                seen = generation
                let body = job!
                pthread_mutex_unlock(&mutex)
                body(index)
                pthread_mutex_lock(&mutex)
                pending -= 1
                if pending == 0 { pthread_cond_signal(&done) }
            }
            pthread_mutex_unlock(&mutex)
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
        pthread_mutex_lock(&core.mutex)
        core.shuttingDown = true
        pthread_cond_broadcast(&core.wake)
        pthread_mutex_unlock(&core.mutex)
        for thread in workers { pthread_join(thread, nil) }
    }

    /// Runs body(part) for every part in 0..<parts — part 0 on the calling thread — and returns
    /// when all are done.
    public func run(_ body: (Int) -> Void) {
        if workers.isEmpty { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            pthread_mutex_lock(&core.mutex)
            core.job = escaping
            core.pending = workers.count
            core.generation &+= 1
            pthread_cond_broadcast(&core.wake)
            pthread_mutex_unlock(&core.mutex)
            escaping(0)
            pthread_mutex_lock(&core.mutex)
            while core.pending > 0 { pthread_cond_wait(&core.done, &core.mutex) }
            core.job = nil
            pthread_mutex_unlock(&core.mutex)
        }
    }
}

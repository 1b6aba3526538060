// Per-thread scratch for the kernels: the GEMM's packed token inputs and its edge tile, the int8
// GEMM's quantized tokens and unpacked panel, the exact int8 matvecs' digits of x, and the
// chunkwise mLSTM cell's (heads run on the pool's threads). Each thread (a caller's or a pool
// worker's) owns its buffers; they grow to the largest size asked for and are then reused, so
// steady-state feeds allocate nothing. Freed when the thread exits.
//
// The pool's parts are claimed by whichever thread gets to them (ThreadPool.swift), so a thread may
// run a kind of part for the first time long after the warm-up (a worker the OS did not schedule
// then). So a buffer grows to the largest size any thread has asked for in that slot (the
// process's high-water marks, `packedBMark` …, and an `epoch` counting their rises), and `sync()`
// grows all of a thread's slots to them: the pool calls it on the caller at each dispatch and on
// every worker whenever a mark has risen (a sync job, which every worker runs), so in the steady
// state no thread meets a request larger than its buffers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

enum ThreadScratch {
    /// Independent buffers of one thread (a kernel may hold several at once).
    enum Slot: Int, CaseIterable {
        case packedB = 0     // [K · columns]: one token block's inputs, packed in NR-token slivers (batchGEMM)
        case edgeTile = 1    // [NR · MR]: a partial micro-tile
        case cell = 2        // the chunkwise mLSTM cell of one head (mLSTMChunkScratchCount); the sLSTM's R·y of one head
        case int8Tokens = 3  // the fast GEMMs' token rows: int8 (int8_gemm_activation_bytes) or bf16 pairs (bf16_gemm_activation_bytes)
        case int8Panel = 4   // the fast GEMMs' unpacked panel (int8_gemm_panel_scratch_bytes, bf16_gemm_panel_scratch_bytes)
        case int8Digits = 5  // the exact int8 matvecs' digits of x (int8_matvec_exact_scratch_bytes); the fast bf16 matvec's pairs
    }

    /// The thread's table: per slot, a 64-byte aligned buffer and its capacity in floats; the
    /// high-water epoch it was last synced to.
    private struct Table {
        var buffers: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                      UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (nil, nil, nil, nil, nil, nil)
        var capacities: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0)
        var epoch = 0
        /// Buffers `buffer` had to grow (a request no `reserve` or sync covered): 0 when the feeds'
        /// bounds (`Model.kernelScratchNeed`) hold (KernelScratchTests).
        var unreservedGrowths = 0
        /// Every growth refused as if by the system (`sync(refusingGrowth:)`: the pool's fault
        /// injection for tests, ThreadPool.refusesWorkerScratchForTesting).
        var refusesGrowth = false
    }

    /// Per slot, the largest size (floats) any thread's buffer has grown to; `epoch` counts the rises.
    private static let packedBMark = Atomic<Int>(0), edgeTileMark = Atomic<Int>(0), cellMark = Atomic<Int>(0),
                       int8TokensMark = Atomic<Int>(0), int8PanelMark = Atomic<Int>(0), int8DigitsMark = Atomic<Int>(0)
    private static let epochCounter = Atomic<Int>(0)

    /// The number of times a high-water mark has risen (a thread synced to this epoch needs no growth
    /// for any request seen so far).
    static var epoch: Int { epochCounter.load(ordering: .acquiring) }

    @inline(__always)
    private static func mark(_ slot: Slot) -> Int {
        switch slot {
        case .packedB: packedBMark.load(ordering: .relaxed)
        case .edgeTile: edgeTileMark.load(ordering: .relaxed)
        case .cell: cellMark.load(ordering: .relaxed)
        case .int8Tokens: int8TokensMark.load(ordering: .relaxed)
        case .int8Panel: int8PanelMark.load(ordering: .relaxed)
        case .int8Digits: int8DigitsMark.load(ordering: .relaxed)
        }
    }

    /// Raises slot's mark to `size` if it is lower (and then the epoch).
    private static func raise(_ slot: Slot, to size: Int) {
        let raised: Bool
        switch slot {
        case .packedB: raised = packedBMark.max(size, ordering: .relaxed).oldValue < size
        case .edgeTile: raised = edgeTileMark.max(size, ordering: .relaxed).oldValue < size
        case .cell: raised = cellMark.max(size, ordering: .relaxed).oldValue < size
        case .int8Tokens: raised = int8TokensMark.max(size, ordering: .relaxed).oldValue < size
        case .int8Panel: raised = int8PanelMark.max(size, ordering: .relaxed).oldValue < size
        case .int8Digits: raised = int8DigitsMark.max(size, ordering: .relaxed).oldValue < size
        }
        if raised { epochCounter.add(1, ordering: .releasing) }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            let table = raw.assumingMemoryBound(to: Table.self)
            free(table.pointee.buffers.0)
            free(table.pointee.buffers.1)
            free(table.pointee.buffers.2)
            free(table.pointee.buffers.3)
            free(table.pointee.buffers.4)
            free(table.pointee.buffers.5)
            table.deinitialize(count: 1)
            free(raw)
        }
        precondition(status == 0, "pthread_key_create failed")
        return key
    }()

    /// The calling thread's table (created on first use), or nil when the system refused its few
    /// bytes (or the thread-specific slot): then the thread has no buffers and can reserve none.
    @inline(__always)
    private static func table() -> UnsafeMutablePointer<Table>? {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: Table.self) }
        guard let raw = malloc(MemoryLayout<Table>.stride) else { return nil }
        raw.initializeMemory(as: Table.self, repeating: Table(), count: 1)
        guard pthread_setspecific(key, raw) == 0 else {
            raw.assumingMemoryBound(to: Table.self).deinitialize(count: 1)
            free(raw)
            return nil
        }
        return raw.assumingMemoryBound(to: Table.self)
    }

    /// A buffer of at least `floats` floats for the calling thread, valid until this thread asks
    /// for the same slot again or syncs (contents are not preserved when it grows). A buffer that
    /// must grow grows to the slot's high-water mark if that is larger. Feeds reserve what their
    /// kernels ask for first (`reserve`), so inside a feed no buffer grows here.
    static func buffer(_ slot: Slot, floats: Int) -> UnsafeMutablePointer<Float> {
        guard let table = table() else { preconditionFailure("out of memory (kernel scratch not reserved by the feed)") }
        let (capacity, current) = entry(table, slot)
        if let current, capacity >= floats { return current.assumingMemoryBound(to: Float.self) }
        table.pointee.unreservedGrowths += 1
        guard let grown = grow(table, slot, to: max(floats, 16, mark(slot))) else {
            preconditionFailure("out of memory (kernel scratch not reserved by the feed)")
        }
        return grown
    }

    /// Floats per slot that a feed's kernels may ask for (`Model.kernelScratchNeed`).
    struct Need: Equatable, Sendable {
        var packedB = 0, edgeTile = 0, cell = 0, int8Tokens = 0, int8Panel = 0, int8Digits = 0

        subscript(slot: Slot) -> Int {
            switch slot {
            case .packedB: packedB
            case .edgeTile: edgeTile
            case .cell: cell
            case .int8Tokens: int8Tokens
            case .int8Panel: int8Panel
            case .int8Digits: int8Digits
            }
        }
    }

    /// Grows the calling thread's buffers to `need` (and the high-water marks with them, so the
    /// pool's workers follow at their next sync), or throws `.outOfMemory`, keeping what it had:
    /// called by a feed before it changes a session. A few compares when nothing must grow.
    static func reserve(_ need: Need) throws(XLSTMError) {
        guard let table = table() else {
            throw XLSTMError(.outOfMemory, "out of memory: the system refused this thread's kernel scratch table")
        }
        for slot in Slot.allCases where need[slot] > entry(table, slot).capacity {
            let size = max(need[slot], 16)
            guard grow(table, slot, to: size) != nil else {
                throw XLSTMError(.outOfMemory, "out of memory: the system refused \(size * 4) bytes of kernel scratch (\(slot))")
            }
        }
    }

    /// How often a kernel on the calling thread found its buffer too small (see `Table`).
    static var unreservedGrowths: Int { table()?.pointee.unreservedGrowths ?? 0 }

    /// Grows every buffer of the calling thread to its slot's high-water mark, if the marks have
    /// risen since this thread last synced (an atomic load and a compare when they have not). Only
    /// between jobs: buffers handed out before are invalid if they grow. False when the system
    /// refused memory (the buffers stay as they were, valid, and the thread unsynced: a pool
    /// worker then leaves the parts to the threads that are). `refusingGrowth` (the pool's fault
    /// injection for tests) first empties the thread's buffers — a thread that never got its
    /// scratch — and then makes every growth on it fail as a refusal by the system would, until a
    /// sync without it.
    @inline(__always)
    @discardableResult
    static func sync(refusingGrowth: Bool = false) -> Bool {
        let now = epoch
        guard let table = table() else { return false }
        if table.pointee.refusesGrowth != refusingGrowth { startRefusing(table, refusingGrowth) }
        if table.pointee.epoch == now { return true }
        for slot in Slot.allCases {
            let size = mark(slot)
            if size > entry(table, slot).capacity, grow(table, slot, to: size) == nil { return false }
        }
        table.pointee.epoch = now
        return true
    }

    /// Fault injection (`sync(refusingGrowth:)`): on, the buffers are freed and the thread unsynced.
    @inline(never)
    private static func startRefusing(_ table: UnsafeMutablePointer<Table>, _ on: Bool) {
        table.pointee.refusesGrowth = on
        guard on else { return }
        let t = table.pointee.buffers
        free(t.0); free(t.1); free(t.2); free(t.3); free(t.4); free(t.5)
        table.pointee.buffers = (nil, nil, nil, nil, nil, nil)
        table.pointee.capacities = (0, 0, 0, 0, 0, 0)
        table.pointee.epoch = -1
    }

    @inline(__always)
    private static func entry(_ table: UnsafeMutablePointer<Table>, _ slot: Slot) -> (capacity: Int, buffer: UnsafeMutableRawPointer?) {
        switch slot {
        case .packedB: (table.pointee.capacities.0, table.pointee.buffers.0)
        case .edgeTile: (table.pointee.capacities.1, table.pointee.buffers.1)
        case .cell: (table.pointee.capacities.2, table.pointee.buffers.2)
        case .int8Tokens: (table.pointee.capacities.3, table.pointee.buffers.3)
        case .int8Panel: (table.pointee.capacities.4, table.pointee.buffers.4)
        case .int8Digits: (table.pointee.capacities.5, table.pointee.buffers.5)
        }
    }

    /// The slot's buffer replaced by one of `size` floats, or nil (the old one kept) when refused.
    private static func grow(_ table: UnsafeMutablePointer<Table>, _ slot: Slot, to size: Int) -> UnsafeMutablePointer<Float>? {
        var fresh: UnsafeMutableRawPointer?
        guard !table.pointee.refusesGrowth, posix_memalign(&fresh, 64, size * 4) == 0, fresh != nil else { return nil }
        free(entry(table, slot).buffer)
        switch slot {
        case .packedB: (table.pointee.capacities.0, table.pointee.buffers.0) = (size, fresh)
        case .edgeTile: (table.pointee.capacities.1, table.pointee.buffers.1) = (size, fresh)
        case .cell: (table.pointee.capacities.2, table.pointee.buffers.2) = (size, fresh)
        case .int8Tokens: (table.pointee.capacities.3, table.pointee.buffers.3) = (size, fresh)
        case .int8Panel: (table.pointee.capacities.4, table.pointee.buffers.4) = (size, fresh)
        case .int8Digits: (table.pointee.capacities.5, table.pointee.buffers.5) = (size, fresh)
        }
        raise(slot, to: size)
        return fresh!.assumingMemoryBound(to: Float.self)
    }
}

/// Counters of the kernels' per-thread buffers, for tests.
public enum KernelScratchStatistics {
    /// How often, on the calling thread, a kernel found its buffer smaller than its request: a
    /// request no feed reserved (`Model.kernelScratchNeed`), so one the system could refuse
    /// mid-feed. Zero after any feeds when the bounds hold.
    public static var unreservedGrowthsOnThisThread: Int { ThreadScratch.unreservedGrowths }
}

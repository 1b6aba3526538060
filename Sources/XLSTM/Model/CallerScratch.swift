// Scratch of the thread that calls a feed: the residual stream and the blocks' intermediate
// buffers of a step, a prefill window or a batch. They belong to the calling thread, not to a
// session, so one more session costs only its state and logits: a thread feeding 64 sessions (one
// after another or in one batch) holds one set of buffers, sized for the largest use so far and
// then reused (steady-state feeds allocate nothing). Freed when the thread exits.
// (The kernels' own per-thread buffers, on the pool's threads too, are in ThreadScratch.swift.)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum CallerScratch {
    /// Independent buffers of one thread (a feed holds several at once).
    enum Slot: Int, CaseIterable {
        case step = 0          // hidden [E] | the blocks' step scratch (Model.scratchCount)
        case prefillHidden     // [window, E]
        case prefill           // the blocks' prefill scratch for a window
        case batchHidden       // [N, E]
        case batch             // the blocks' batch scratch for N sessions, then logits [N, V]
        case batchStates       // [N] state pointers (stored as raw words)
        case batchSpans        // a batched prefill window's span table (BatchPrefill.swift)
    }

    /// The thread's table: per slot, a 64-byte aligned buffer and its capacity in bytes.
    private struct Entry {
        var buffer: UnsafeMutableRawPointer?
        var capacity: Int
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            let table = raw.assumingMemoryBound(to: Entry.self)
            for slot in 0..<Slot.allCases.count { free(table[slot].buffer) }
            free(raw)
        }
        precondition(status == 0, "pthread_key_create failed")
        return key
    }()

    /// The calling thread's table (created on first use), or nil when the system refused its few
    /// bytes (or the thread-specific slot).
    @inline(__always)
    private static func table() -> UnsafeMutablePointer<Entry>? {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: Entry.self) }
        let count = Slot.allCases.count
        guard let raw = malloc(count * MemoryLayout<Entry>.stride) else { return nil }
        let table = raw.bindMemory(to: Entry.self, capacity: count)
        table.initialize(repeating: Entry(buffer: nil, capacity: 0), count: count)
        guard pthread_setspecific(key, raw) == 0 else { free(raw); return nil }
        return table
    }

    /// A buffer of at least `bytes` bytes for the calling thread, valid until this thread asks for
    /// the same slot again (contents are not preserved when it grows). Throws `.outOfMemory` when
    /// the system refuses a larger buffer (the slot then keeps its old one): feeds take their
    /// buffers before they change a session, so a refused feed changes nothing.
    static func raw(_ slot: Slot, bytes: Int) throws(XLSTMError) -> UnsafeMutableRawPointer {
        guard let table = table() else {
            throw XLSTMError(.outOfMemory, "out of memory: the system refused this thread's scratch table")
        }
        let entry = table + slot.rawValue
        if let current = entry.pointee.buffer, entry.pointee.capacity >= bytes { return current }
        let size = max(bytes, 64)
        let fresh = try systemAllocate(bytes: size, for: "a feed's scratch (\(slot))")
        free(entry.pointee.buffer)
        entry.pointee = Entry(buffer: fresh, capacity: size)
        return fresh
    }

    /// `raw` as floats.
    static func floats(_ slot: Slot, count: Int) throws(XLSTMError) -> UnsafeMutablePointer<Float> {
        try raw(slot, bytes: max(count, 1) * MemoryLayout<Float>.stride).assumingMemoryBound(to: Float.self)
    }

    /// Bytes this thread's buffers hold now (for `info` and tests).
    static func bytesHeld() -> Int {
        guard let t = table() else { return 0 }
        return (0..<Slot.allCases.count).reduce(0) { $0 + t[$1].capacity }
    }
}

// Per-thread scratch for the kernels: the GEMM's packed token inputs and its edge tile, the int8
// GEMM's quantized tokens and unpacked panel, and the chunkwise mLSTM cell's (heads run on the pool's threads). Each thread (a caller's or a pool worker's) owns its buffers; they grow
// to the largest size asked for and are then reused, so steady-state feeds allocate nothing.
// Freed when the thread exits.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ThreadScratch {
    /// Independent buffers of one thread (a kernel may hold several at once).
    enum Slot: Int, CaseIterable {
        case packedB = 0     // [K · columns]: one token block's inputs, packed in NR-token slivers (batchGEMM)
        case edgeTile = 1    // [NR · MR]: a partial micro-tile
        case cell = 2        // the chunkwise mLSTM cell of one head (mLSTMChunkScratchCount); the sLSTM's R·y of one head
        case int8Tokens = 3  // the int8 GEMM's quantized token rows (int8_gemm_activation_bytes)
        case int8Panel = 4   // the int8 GEMM's unpacked panel (int8_gemm_panel_scratch_bytes)
    }

    /// The thread's table: per slot, a 64-byte aligned buffer and its capacity in floats.
    private struct Table {
        var buffers: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                      UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (nil, nil, nil, nil, nil)
        var capacities: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)
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
            table.deinitialize(count: 1)
            free(raw)
        }
        precondition(status == 0, "pthread_key_create failed")
        return key
    }()

    /// A buffer of at least `floats` floats for the calling thread, valid until this thread asks
    /// for the same slot again (contents are not preserved when it grows).
    static func buffer(_ slot: Slot, floats: Int) -> UnsafeMutablePointer<Float> {
        var raw = pthread_getspecific(key)
        if raw == nil {
            raw = malloc(MemoryLayout<Table>.stride)
            precondition(raw != nil, "out of memory")
            raw!.initializeMemory(as: Table.self, repeating: Table(), count: 1)
            pthread_setspecific(key, raw)
        }
        let table = raw!.assumingMemoryBound(to: Table.self)
        let capacity: Int
        let current: UnsafeMutableRawPointer?
        switch slot {
        case .packedB: (capacity, current) = (table.pointee.capacities.0, table.pointee.buffers.0)
        case .edgeTile: (capacity, current) = (table.pointee.capacities.1, table.pointee.buffers.1)
        case .cell: (capacity, current) = (table.pointee.capacities.2, table.pointee.buffers.2)
        case .int8Tokens: (capacity, current) = (table.pointee.capacities.3, table.pointee.buffers.3)
        case .int8Panel: (capacity, current) = (table.pointee.capacities.4, table.pointee.buffers.4)
        }
        if let current, capacity >= floats { return current.assumingMemoryBound(to: Float.self) }
        free(current)
        let size = max(floats, 16)
        var fresh: UnsafeMutableRawPointer?
        precondition(posix_memalign(&fresh, 64, size * 4) == 0 && fresh != nil, "out of memory")
        switch slot {
        case .packedB: (table.pointee.capacities.0, table.pointee.buffers.0) = (size, fresh)
        case .edgeTile: (table.pointee.capacities.1, table.pointee.buffers.1) = (size, fresh)
        case .cell: (table.pointee.capacities.2, table.pointee.buffers.2) = (size, fresh)
        case .int8Tokens: (table.pointee.capacities.3, table.pointee.buffers.3) = (size, fresh)
        case .int8Panel: (table.pointee.capacities.4, table.pointee.buffers.4) = (size, fresh)
        }
        return fresh!.assumingMemoryBound(to: Float.self)
    }
}

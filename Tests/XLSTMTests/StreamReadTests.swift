// The benchmark's read-bandwidth loop (`KernelSet.runStreamRead`, generated per ISA): it must read
// every byte it is timed for — exactly once — or the bandwidth xlstm-bench reports is not what it
// says. Checked on every path of this CPU with integers small enough that every f32 sum is exact.

import Testing
import XLSTM

@Suite struct StreamReadTests {
    @Test(arguments: [512, 4096, 8 * 64 * 37, 1 << 20], CPUInfo.current.supportedPaths)
    func readsEveryByteOnce(_ bytes: Int, _ path: CPUPath) {
        for prefetchL2 in [false, true] { check(bytes, path, prefetchL2: prefetchL2) }
    }

    func check(_ bytes: Int, _ path: CPUPath, prefetchL2: Bool) {
        let count = bytes / 4
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        // Value i % 7 at float i: a skipped or repeated line, stream or vector changes the sum.
        var expected: Float = 0
        for i in 0..<count {
            buffer[i] = Float(i % 7)
            expected += Float(i % 7)
        }
        let sum = KernelSet.table(path).runStreamRead(UnsafeRawPointer(buffer), bytes: bytes, prefetchL2: prefetchL2)
        #expect(sum == expected, "\(path), \(bytes) bytes, L2 prefetch \(prefetchL2)")
    }
}

// The paper family's elementwise kernels (KernelSet.silu / skipSiluGate / geluProduct, generated per
// ISA) on every path this CPU runs, against the double-precision formulas with libm's exp and erf;
// and the padded-tail contract: an element's bits do not depend on where in the array it lies.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import XLSTM

@Suite struct PointwiseKernelTests {
    static let paths = CPUInfo.current.supportedPaths
    /// Lengths with every kind of tail for 8- and 16-lane paths.
    static let lengths = [1, 7, 8, 15, 16, 17, 33, 100]

    /// Values over [-12, 12) plus the edges the approximations clamp (erf at ±4·√2, exp at −87.3).
    static func inputs(_ n: Int, seed: UInt64) -> [Float] {
        var v = KernelTests.randomFloats(n, seed: seed).map { 12 * $0 }
        let specials: [Float] = [0, -0.0, 5.6, -5.7, 30, -30, 100, -100, 1e-6, -1e-6]
        for (i, s) in specials.enumerated() where i * 3 < n { v[i * 3] = s }
        return v
    }

    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x * 0.70710678118654752440)) }

    @Test(arguments: paths)
    func siluMatchesTheDoubleFormula(_ path: CPUPath) {
        let kernels = KernelSet.table(path)
        for n in Self.lengths {
            let x = Self.inputs(n, seed: UInt64(n))
            var y = x
            y.withUnsafeMutableBufferPointer { kernels.silu($0.baseAddress!, n) }
            for i in 0..<n {
                let expected = Self.silu(Double(x[i]))
                #expect(abs(Double(y[i]) - expected) <= 4e-7 * abs(expected) + 1e-30, "n \(n), x \(x[i])")
            }
        }
    }

    @Test(arguments: paths)
    func skipSiluGateMatchesTheDoubleFormula(_ path: CPUPath) {
        let kernels = KernelSet.table(path)
        for n in Self.lengths {
            let h = KernelTests.randomFloats(n, seed: 11), skip = KernelTests.randomFloats(n, seed: 12)
            let c = KernelTests.randomFloats(n, seed: 13), gate = Self.inputs(n, seed: UInt64(n) + 14)
            var out = h
            out.withUnsafeMutableBufferPointer { kernels.skipSiluGate($0.baseAddress!, skip, c, gate, n) }
            for i in 0..<n {
                let sum = Double(h[i]) + Double(skip[i]) * Double(c[i])
                let expected = sum * Self.silu(Double(gate[i]))
                let bound = 5e-7 * (abs(sum) + 1) * abs(Self.silu(Double(gate[i]))) + 1e-30
                #expect(abs(Double(out[i]) - expected) <= bound, "n \(n), i \(i)")
            }
        }
    }

    @Test(arguments: paths)
    func geluProductMatchesTheErfFormula(_ path: CPUPath) {
        let kernels = KernelSet.table(path)
        for n in Self.lengths {
            let x = Self.inputs(n, seed: UInt64(n) + 20), up = KernelTests.randomFloats(n, seed: 21)
            var out = x
            out.withUnsafeMutableBufferPointer { kernels.geluProduct($0.baseAddress!, up, n) }
            for i in 0..<n {
                let expected = Self.gelu(Double(x[i])) * Double(up[i])
                // erfLanes is within 4.2e-7 of erf, so 0.5·|x|·4.2e-7·|up| of the product, plus rounding.
                let bound = (0.5 * abs(Double(x[i])) * 5e-7 + 3e-7 * abs(Self.gelu(Double(x[i])))) * abs(Double(up[i])) + 1e-30
                #expect(abs(Double(out[i]) - expected) <= bound, "n \(n), x \(x[i])")
            }
        }
    }

    /// The same values computed at offsets 0 and 5 of an array (so different lanes, the tail vector
    /// for some): bit-identical, as the kernels' padded tail promises (a token's row in prefill, step
    /// and batch goes through the same kernel at different array lengths).
    @Test(arguments: paths)
    func anElementsBitsDoNotDependOnItsPosition(_ path: CPUPath) {
        let kernels = KernelSet.table(path)
        let n = 37, x = Self.inputs(n, seed: 31), y = KernelTests.randomFloats(n, seed: 32)
        func run(_ offset: Int, _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void) -> [Float] {
            var v = Array(x[offset...])
            let w = Array(y[offset...])
            v.withUnsafeMutableBufferPointer { vp in w.withUnsafeBufferPointer { body(vp.baseAddress!, $0.baseAddress!, n - offset) } }
            return v
        }
        let cases: [(String, (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void)] = [
            ("silu", { x, _, n in kernels.silu(x, n) }),
            ("skipSiluGate", { x, y, n in kernels.skipSiluGate(x, y, y, y, n) }),
            ("geluProduct", { x, y, n in kernels.geluProduct(x, y, n) }),
        ]
        for (name, body) in cases {
            let whole = run(0, body), shifted = run(5, body)
            for i in 5..<n {
                #expect(whole[i].bitPattern == shifted[i - 5].bitPattern, "\(name), element \(i)")
            }
        }
    }
}

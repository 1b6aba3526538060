// Element-wise and normalisation kernels over raw float32 buffers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// log(sigmoid(x)) = -softplus(-x), computed without overflow for large |x| (as torch's logsigmoid).
@inline(__always) func logSigmoid(_ x: Float) -> Float {
    // torch: min(x, 0) - log1p(exp(-|x|))
    min(x, 0) - log1pf(expf(-abs(x)))
}

@inline(__always) func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// The exact (erf) GELU, torch.nn.GELU(approximate="none").
@inline(__always) func geluExact(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752440)) }

/// The tanh approximation, torch.nn.GELU(approximate="tanh").
@inline(__always) func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.79788456080286535588 * (x + 0.044715 * x * x * x)))
}

@inline(__always) func relu(_ x: Float) -> Float { max(x, 0) }

/// cap · tanh(x / cap): the soft cap of the xLSTM 7B gates and logits.
@inline(__always) func softCap(_ x: Float, _ cap: Float) -> Float { cap * tanhf(x / cap) }

/// LayerNorm over x [n]: (x − mean) / sqrt(var + eps) · weight + bias (biased variance).
/// `weight`/`bias` nil means 1/0. y may alias x. Sums in 8 lanes (then across them); the
/// scalar three-pass loop was a visible share of a small model's step (perf).
func layerNorm(_ x: UnsafePointer<Float>, count n: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
               eps: Float, into y: UnsafeMutablePointer<Float>) {
    let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
    let body = n & ~7
    var lanes = SIMD8<Float>()
    var i = 0
    while i < body { lanes += xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self); i += 8 }
    var mean = lanes.sum()
    while i < n { mean += x[i]; i += 1 }
    mean /= Float(n)
    let m8 = SIMD8<Float>(repeating: mean)
    lanes = SIMD8<Float>()
    i = 0
    while i < body {
        let d = xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m8
        lanes += d * d
        i += 8
    }
    var variance = lanes.sum()
    while i < n { let d = x[i] - mean; variance += d * d; i += 1 }
    variance /= Float(n)
    let inv = 1 / sqrtf(variance + eps)
    let inv8 = SIMD8<Float>(repeating: inv)
    i = 0
    while i < body {
        var v = (xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m8) * inv8
        if let weight { v *= UnsafeRawPointer(weight).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) }
        if let bias { v += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) }
        yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        var v = (x[i] - mean) * inv
        if let weight { v *= weight[i] }
        if let bias { v += bias[i] }
        y[i] = v
        i += 1
    }
}

/// RMSNorm over x [n]: x / sqrt(mean(x²) + eps) · weight (+ bias). y may alias x. Sums in 8
/// lanes as `layerNorm` (the scalar loop, one dependent add per element, was ~5% of a fast q4
/// prefill of the 162 M model: perf).
func rmsNorm(_ x: UnsafePointer<Float>, count n: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
             eps: Float, into y: UnsafeMutablePointer<Float>) {
    let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
    let body = n & ~7
    var lanes = SIMD8<Float>()
    var i = 0
    while i < body {
        let v = xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes += v * v
        i += 8
    }
    var meanSquare = lanes.sum()
    while i < n { meanSquare += x[i] * x[i]; i += 1 }
    meanSquare /= Float(n)
    let inv = 1 / sqrtf(meanSquare + eps)
    let inv8 = SIMD8<Float>(repeating: inv)
    i = 0
    while i < body {
        var v = xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * inv8
        if let weight { v *= UnsafeRawPointer(weight).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) }
        if let bias { v += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) }
        yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        var v = x[i] * inv
        if let weight { v *= weight[i] }
        if let bias { v += bias[i] }
        y[i] = v
        i += 1
    }
}

/// torch.nn.functional.selu: scale · (max(0, x) + min(0, α (exp(x) − 1))).
@inline(__always) func selu(_ x: Float) -> Float {
    let alpha: Float = 1.6732632423543772848170429916717
    let scale: Float = 1.0507009873554804934193349852946
    return scale * (x > 0 ? x : alpha * (expf(x) - 1))
}

// MARK: Vectorised exp and the gates built on it (8 lanes of the baseline ISA; libm's expf is a
// call per element, which showed up at ~5% of a small model's step).

/// e^x for 8 lanes: Cephes' expf (n = round(x·log₂e), r = x − n·ln 2 in two parts, a degree-6
/// polynomial, then ·2ⁿ through the exponent bits); relative error ≤ 2 ulp on [−87.3, 88.7]. Below
/// the range it returns ~1e-38 instead of 0 or a subnormal, above ~2.4e38 instead of +inf: every
/// caller divides by 1 + e^x, where the difference is below float resolution.
@inline(__always)
func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let low = SIMD8<Float>(repeating: -87.3), high = SIMD8<Float>(repeating: 88.7)
    let x = input.replacing(with: low, where: input .< low).replacing(with: high, where: input .> high)
    // n = round(x·log₂e) by the 1.5·2²³ trick: the sum's low mantissa bits are n itself (no
    // float→int conversion, which the stdlib does element by element for SIMD types).
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.44269504088896341 + magic
    let n = shifted - magic
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * (r * r) + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    return y * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
}

/// log(1 + e) for 8 lanes of e ∈ [0, 1] (the softplus of logσ): Cephes' logf on u = 1 + e (u = m·2ᵏ,
/// m ∈ [√½, √2), a degree-8 polynomial) plus the rounding of u corrected by (e − (u − 1)) / u;
/// absolute error ≲ 1e-7 over the range.
@inline(__always)
func log1p8(_ e: SIMD8<Float>) -> SIMD8<Float> {
    let u = 1 + e
    let big = u .> 1.41421356
    let k = SIMD8<Float>(repeating: 0).replacing(with: 1, where: big)
    let m = u.replacing(with: u * 0.5, where: big)
    let x = m - 1
    var p = SIMD8<Float>(repeating: 7.0376836292e-2)
    p = p * x - 1.1514610310e-1
    p = p * x + 1.1676998740e-1
    p = p * x - 1.2420140846e-1
    p = p * x + 1.4249322787e-1
    p = p * x - 1.6668057665e-1
    p = p * x + 2.0000714765e-1
    p = p * x - 2.4999993993e-1
    p = p * x + 3.3333331174e-1
    let x2 = x * x
    var y = x * x2 * p
    y = y + k * -2.12194440e-4
    y = y - 0.5 * x2
    let log = x + y + k * 0.693359375
    return log + (e - (u - 1)) / u
}

/// tanh for 8 lanes: Cephes' tanhf (an odd polynomial below |x| = 0.625, else 1 − 2 / (e^{2|x|} + 1)
/// with the sign of x); error ≲ 2e-7 absolute.
@inline(__always)
func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let a = x.replacing(with: -x, where: x .< 0)
    let z = x * x
    var p = SIMD8<Float>(repeating: -5.70498872745e-3)
    p = p * z + 2.06390887954e-2
    p = p * z - 5.37397155531e-2
    p = p * z + 1.33314422036e-1
    p = p * z - 3.33332819422e-1
    let small = x + x * z * p
    var large = 1 - 2 / (exp8(2 * a) + 1)
    large = large.replacing(with: -large, where: x .< 0)
    return large.replacing(with: small, where: a .< 0.625)
}

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
/// `weight`/`bias` nil means 1/0. y may alias x.
func layerNorm(_ x: UnsafePointer<Float>, count n: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
               eps: Float, into y: UnsafeMutablePointer<Float>) {
    var mean: Float = 0
    for i in 0..<n { mean += x[i] }
    mean /= Float(n)
    var variance: Float = 0
    for i in 0..<n { let d = x[i] - mean; variance += d * d }
    variance /= Float(n)
    let inv = 1 / sqrtf(variance + eps)
    for i in 0..<n {
        var v = (x[i] - mean) * inv
        if let weight { v *= weight[i] }
        if let bias { v += bias[i] }
        y[i] = v
    }
}

/// RMSNorm over x [n]: x / sqrt(mean(x²) + eps) · weight (+ bias). y may alias x.
func rmsNorm(_ x: UnsafePointer<Float>, count n: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
             eps: Float, into y: UnsafeMutablePointer<Float>) {
    var meanSquare: Float = 0
    for i in 0..<n { meanSquare += x[i] * x[i] }
    meanSquare /= Float(n)
    let inv = 1 / sqrtf(meanSquare + eps)
    for i in 0..<n {
        var v = x[i] * inv
        if let weight { v *= weight[i] }
        if let bias { v += bias[i] }
        y[i] = v
    }
}

/// torch.nn.functional.selu: scale · (max(0, x) + min(0, α (exp(x) − 1))).
@inline(__always) func selu(_ x: Float) -> Float {
    let alpha: Float = 1.6732632423543772848170429916717
    let scale: Float = 1.0507009873554804934193349852946
    return scale * (x > 0 ? x : alpha * (expf(x) - 1))
}

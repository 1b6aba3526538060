// Block quantization of weight rows: the formats `q8` and `q4`, the on-disk layout, and the
// reference quantize / dequantize of one row. Port of ggml's Q8_0 and Q4_0 (ggml-quants.c,
// quantize_row_q8_0_ref / quantize_row_q4_0_ref), with the scale rounded to binary16 *before*
// the values are divided by it, so that dequantize(quantize(x)) is exactly what the kernels compute.
//
// A weight matrix W [rows, cols] (out × in) is cut along its input dimension into blocks of
// `QuantFormat.blockSize` (32) consecutive values of one row; cols must be a multiple of 32 (a
// matrix that is not stays in its source dtype). Each block has one scale d (float16).
//
//   q8:  q = round(x / d), d = amax / 127            value = d · q,        q ∈ [-127, 127]
//   q4:  q = round(x / d) + 8, d = m / -8            value = d · (q − 8),  q ∈ [0, 15]
//        (m is the value of largest magnitude, sign kept, so the extreme maps to -8 exactly)
//
// On disk (safetensors, little endian), for a tensor named `N` (e.g. `….q.weight`):
//   q8:  N           I8  [rows, cols]          q, row-major
//        N_scale     F16 [rows, cols / 32]     d of each block
//   q4:  N           U8  [rows, cols / 2]      per block of 32: byte i (0 ≤ i < 16) holds value i in
//                                              its low nibble and value i + 16 in its high nibble
//        N_scale     F16 [rows, cols / 32]
// and config.json gains `"quantization_config": {"quant_method": "xlstm", "format": "q8_0" | "q4_0",
// "bits": 8 | 4, "group_size": 32, "scale_dtype": "float16"}`.

public enum QuantFormat: String, Sendable, CaseIterable {
    case q8 = "q8_0"
    case q4 = "q4_0"

    /// Values per block (one scale each).
    public static let blockSize = 32

    public var bits: Int { self == .q8 ? 8 : 4 }

    /// Bytes of quantized data in one row of `cols` values (scales not included).
    public func dataBytes(cols: Int) -> Int { self == .q8 ? cols : cols / 2 }

    /// Bytes per block, data plus its binary16 scale.
    public var bytesPerBlock: Int { dataBytes(cols: QuantFormat.blockSize) + 2 }

    /// Name of the scale tensor of the quantized tensor `name`.
    public static func scaleName(of name: String) -> String { name + "_scale" }

    /// Whether a matrix with `cols` inputs can be stored in this format.
    public static func canQuantize(cols: Int) -> Bool { cols > 0 && cols % blockSize == 0 }

    /// Quantizes one row of `cols` values (cols a multiple of 32): `data` receives dataBytes(cols)
    /// bytes, `scales` cols / 32 binary16 scales. Non-finite inputs must be rejected by the caller.
    public func quantizeRow(_ x: UnsafePointer<Float>, cols: Int, data: UnsafeMutablePointer<UInt8>,
                            scales: UnsafeMutablePointer<UInt16>) {
        let B = QuantFormat.blockSize
        for b in 0..<(cols / B) {
            let v = x + b * B
            switch self {
            case .q8:
                var amax: Float = 0
                for i in 0..<B { amax = max(amax, abs(v[i])) }
                let h = floatToHalf(amax / 127)
                scales[b] = h
                let d = halfToFloat(h)
                let id: Float = d != 0 ? 1 / d : 0
                for i in 0..<B {
                    let q = max(-127, min(127, (v[i] * id).rounded(.toNearestOrEven)))
                    data[b * B + i] = UInt8(bitPattern: Int8(q))
                }
            case .q4:
                var amax: Float = 0, m: Float = 0
                for i in 0..<B where abs(v[i]) > amax { amax = abs(v[i]); m = v[i] }
                let h = floatToHalf(m / -8)
                scales[b] = h
                let d = halfToFloat(h)
                let id: Float = d != 0 ? 1 / d : 0
                func code(_ value: Float) -> UInt8 {
                    UInt8(max(0, min(15, (value * id).rounded(.toNearestOrEven) + 8)))
                }
                for i in 0..<(B / 2) {
                    data[b * B / 2 + i] = code(v[i]) | (code(v[i + B / 2]) << 4)
                }
            }
        }
    }

    /// The values a quantized row stands for (the inverse of `quantizeRow` up to its rounding).
    public func dequantizeRow(data: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, cols: Int,
                              into out: UnsafeMutablePointer<Float>) {
        let B = QuantFormat.blockSize
        for b in 0..<(cols / B) {
            let d = halfToFloat(scales[b])
            switch self {
            case .q8:
                for i in 0..<B { out[b * B + i] = d * Float(Int8(bitPattern: data[b * B + i])) }
            case .q4:
                for i in 0..<(B / 2) {
                    let byte = data[b * B / 2 + i]
                    out[b * B + i] = d * Float(Int(byte & 0x0F) - 8)
                    out[b * B + i + B / 2] = d * Float(Int(byte >> 4) - 8)
                }
            }
        }
    }
}

/// binary32 → binary16, round to nearest even; overflow gives ±infinity, NaN stays NaN.
@inline(__always)
public func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF)
    let mantissa = bits & 0x7F_FFFF
    if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
    let e = exponent - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        // subnormal half (or zero): the value is m · 2^-24 with m = round(|f| · 2^24)
        if e < -10 { return sign }
        let full = mantissa | 0x80_0000                  // 24-bit significand
        let shift = UInt32(14 - e)                       // ≥ 14
        var m = full >> shift
        let rest = full & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
        if rest > half || (rest == half && (m & 1) == 1) { m += 1 }
        return sign | UInt16(m)
    }
    var h = UInt32(e) << 10 | (mantissa >> 13)
    let rest = mantissa & 0x1FFF
    if rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1) { h += 1 }   // may carry into the exponent: correct
    return sign | UInt16(h)
}

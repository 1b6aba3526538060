// Runtime ISA dispatch: the CPU is detected once, and each model picks one table of kernel entry
// points at load (`KernelSet.select`); every weight matrix carries that table, so the hot loops
// never test a feature. `XLSTM_CPU=portable|avx2|avx512` (or `xlstm_model_params.cpu_path`) forces
// a lower path, for tests and bug reports (as oneDNN's ONEDNN_MAX_CPU_ISA).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CXLSTMCPU
#if arch(x86_64)
import XLSTMKernelsAVX2
import XLSTMKernelsAVX512
#endif

/// The kernel paths, lowest first. The raw values are those of the C enum `xlstm_cpu_path`.
public enum CPUPath: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// Swift SIMD for the architecture's baseline: SSE2 on x86-64 (multiply + add), NEON on arm64.
    case portable = 1
    /// AVX2 + FMA (x86-64, Haswell / Zen and later).
    case avx2 = 2
    /// AVX-512 F/BW/DQ/VL (Skylake-SP / Zen 4 and later).
    case avx512 = 3

    public static func < (a: CPUPath, b: CPUPath) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    public init?(name: String) {
        guard let path = CPUPath.allCases.first(where: { $0.description == name }) else { return nil }
        self = path
    }
}

/// What this machine's CPU offers, detected once per process.
public struct CPUInfo: Sendable {
    /// `CPU_FEATURE_*` bits (Sources/CXLSTMCPU): set only where the OS also saves the registers.
    public let features: UInt32
    /// The CPU's brand string, e.g. "Intel(R) Xeon(R) Processor".
    public let brand: String

    public static let current: CPUInfo = {
        var raw = [CChar](repeating: 0, count: 49)
        cpu_brand(&raw)
        let brand = raw.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return CPUInfo(features: cpu_detect_features(), brand: brand.isEmpty ? "unknown CPU" : brand)
    }()

    public func has(_ feature: Int) -> Bool { features & UInt32(truncatingIfNeeded: feature) != 0 }

    /// An AMD Zen 4 or later: family 0x1A and up (Zen 5), or family 0x19 with AVX-512 (Zen 4; Zen 3
    /// shares the family without it). Its streaming matvecs read one panel stream at a time
    /// (`KernelSet.oneStreamCPU`, measured on both). Earlier AMD families are unmeasured and keep two.
    public var isZen4OrLater: Bool {
        var family: UInt32 = 0
        guard cpu_vendor(&family) == 1 else { return false }
        return family >= 0x1A || (family == 0x19 && has(CPU_FEATURE_AVX512F))
    }

    /// Whether this CPU runs the kernels of `path`.
    public func supports(_ path: CPUPath) -> Bool {
        switch path {
        case .portable: return true
        case .avx2:
            #if arch(x86_64)
            return has(CPU_FEATURE_AVX2) && has(CPU_FEATURE_FMA)
            #else
            return false
            #endif
        case .avx512:
            #if arch(x86_64)
            let needed = [CPU_FEATURE_AVX512F, CPU_FEATURE_AVX512BW, CPU_FEATURE_AVX512DQ, CPU_FEATURE_AVX512VL]
            return supports(.avx2) && needed.allSatisfy { has($0) }
            #else
            return false
            #endif
        }
    }

    /// Every path this CPU runs, lowest first.
    public var supportedPaths: [CPUPath] { CPUPath.allCases.filter(supports) }
    /// The fastest path this CPU runs.
    public var bestPath: CPUPath { supportedPaths.last! }

    /// Names of the detected features that matter to the kernels, for `xlstm info` and the bench.
    public var featureNames: [String] {
        let names: [(Int, String)] = [
            (CPU_FEATURE_FMA, "fma"), (CPU_FEATURE_F16C, "f16c"), (CPU_FEATURE_AVX2, "avx2"),
            (CPU_FEATURE_AVX512F, "avx512f"), (CPU_FEATURE_AVX512BW, "avx512bw"), (CPU_FEATURE_AVX512DQ, "avx512dq"),
            (CPU_FEATURE_AVX512VL, "avx512vl"), (CPU_FEATURE_AVX512VNNI, "avx512vnni"),
            (CPU_FEATURE_AVX512BF16, "avx512bf16"), (CPU_FEATURE_AVX512FP16, "avx512fp16"),
            (CPU_FEATURE_AVXVNNI, "avxvnni"), (CPU_FEATURE_AMX_TILE, "amx-tile"), (CPU_FEATURE_AMX_BF16, "amx-bf16"),
            (CPU_FEATURE_AMX_INT8, "amx-int8"),
        ]
        return names.filter { has($0.0) }.map(\.1)
    }
}

/// How the projections treat activations, chosen per model at load (`xlstm_precision`).
public enum Precision: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// float32 activations everywhere: every fixture within 1e-4 of the official code (the default).
    case exact = 0
    /// The quantized (q8 / q4) projections quantize their input to int8 per block of 32 and sum
    /// integer products (AVX-512 VNNI, AVX2), and on a CPU with AVX-512 BF16 the bf16 projections
    /// round theirs to bfloat16 (`vdpbf16ps`): the step's matvecs — decode at the memory bandwidth —
    /// and prefill's and batches' GEMMs, each token computed bit for bit as the step's matvec would;
    /// at a measured error (README "Precision"). f32 weights (bf16 without AVX-512 BF16) run as `exact`.
    case fast = 1

    public var description: String { self == .exact ? "exact" : "fast" }

    public init?(name: String) {
        guard let precision = Precision.allCases.first(where: { $0.description == name }) else { return nil }
        self = precision
    }
}

/// One ISA's kernel entry points. Chosen per model at load; the engine calls nothing else for
/// matrix products.
public final class KernelSet: Sendable {
    public let path: CPUPath
    /// The precision this table was made for (`KernelSet.select`).
    public let precision: Precision
    /// The int8 kernels the step's quantized matvecs run, nil where they widen codes to float:
    /// `fast` — x as one int8 digit per block ("avx512-vnni", "avx2"); `exact` — x as three int8
    /// digits, equal to the float product within float32 rounding ("avx512-vnni, 3 digits",
    /// "avx2, 3 digits"; Sources/CXLSTMCPU/include/xlstm_int8.h).
    public let int8MatVec: String?
    /// `fast` only: the int8 GEMM prefill's and batches' q8 / q4 projections run (Sources/CXLSTMCPU/
    /// int8_gemm.c), each token as the fast matvec; nil where they dequantize panels to f32.
    let int8GEMM: Int8GEMM?
    /// Its name ("avx512-vnni", "avx2"), nil without one.
    public var int8GEMMName: String? { int8GEMM?.name }
    /// `fast` on a CPU with AVX-512 BF16: the bf16 projections' activations rounded to bf16 and summed
    /// by `vdpbf16ps` — the step's matvecs (`matVecPackedBF16` / `matVecStreamingBF16` are then these)
    /// and prefill's and batches' GEMM, each token bit for bit as the step (Sources/CXLSTMCPU/
    /// include/xlstm_bf16.h); nil where bf16 weights run as in `exact`.
    let bf16GEMM: BF16GEMM?
    /// Its name ("avx512-bf16"), nil without one.
    public var bf16GEMMName: String? { bf16GEMM?.name }
    /// Row-major W [rows, cols] (f32) · x [cols] -> y [rows] (small per-head matrices, used in place).
    let matVecRowMajorF32: MatVec<Float>
    /// W in f32 / bf16 panels of `mr` rows · x [cols] -> y [rows] (MatrixPacking.swift).
    let matVecPackedF32: MatVec<Float>
    let matVecPackedBF16: MatVec<UInt16>
    /// The same for matrices streamed from memory (`Matrix.streamingBytes`); the same sums, so the
    /// same bits. Two panel streams, each also prefetched far ahead into L2 — or, where
    /// `oneStream`, one panel at a time with the L1 prefetch only (`MatVecVariant`).
    let matVecStreamingF32: MatVec<Float>
    let matVecStreamingBF16: MatVec<UInt16>
    /// The variants `matVecStreaming*` is chosen from (for the tests and the benchmark).
    let matVecTwoStreamsF32: MatVec<Float>, matVecTwoStreamsBF16: MatVec<UInt16>
    let matVecOneStreamF32: MatVec<Float>, matVecOneStreamBF16: MatVec<UInt16>
    /// Whether the streaming matvecs read one panel stream (`KernelSet.oneStreamCPU`).
    public let oneStream: Bool
    /// W in q8_0 / q4_0 panels (Quant/QuantPanels.swift) · x [cols] -> y [rows].
    let matVecPackedQ8: MatVec<UInt8>
    let matVecPackedQ4: MatVec<UInt8>
    /// `blocks` blocks of a q8_0 / q4_0 panel -> f32 panel rows [32·blocks][mr] (the quantized GEMM).
    let dequantizePanelQ8: Dequantize
    let dequantizePanelQ4: Dequantize
    /// C [nr][mr] (+)= panel rows [kc][mr] · packed B [kc][nr]: (kc, a, b, c, ldc, accumulate, next), prefetching
    /// kc rows' bytes of A at `next` into L2 meanwhile (the block the caller runs next).
    let microKernelF32: MicroKernel<Float>
    let microKernelBF16: MicroKernel<UInt16>
    /// The bf16 one that also stores the widened A rows ([kc][mr] f32) at its last argument, for the f32
    /// micro-kernels of the block's other token slivers.
    let microKernelWideningBF16: WideningMicroKernel
    /// The same over `narrowNR` tokens (C [narrowNR][mr], B [kc][narrowNR]): batched decode's edge slivers.
    let microKernelNarrowF32: MicroKernel<Float>
    let microKernelNarrowBF16: MicroKernel<UInt16>
    public let narrowNR: Int
    /// One token over `fewTokenKernels.single.panels` panels, two and three likewise (C
    /// [tokens][panels · mr], token j's kc values at b + j·ldb, unpacked): (kc, a, panelStride in
    /// elements, b, ldb, c, ldc, accumulate) — batches of one to three sessions, each element the
    /// narrow micro-kernel's chain.
    let fewTokenKernels: (single: FewMicroKernels, pair: FewMicroKernels, triple: FewMicroKernels)
    /// The few-token micro-kernels of `tokens` (1 … 3) tokens and their panels per call.
    func fewToken(_ tokens: Int) -> FewMicroKernels {
        tokens == 1 ? fewTokenKernels.single : tokens == 2 ? fewTokenKernels.pair : fewTokenKernels.triple
    }
    /// Panels per call of the few-token micro-kernel of `tokens` (1 … 3) tokens.
    public func fewTokenPanels(_ tokens: Int) -> Int { fewToken(tokens).panels }
    /// One head's mLSTM step: (C, n, q, k, v, h, qkDim, vDim, forget, input·keyScale, queryScale) -> qᵀn.
    let mLSTMCellUpdate: CellUpdate
    /// out [cols] (+)= Σ_i w[i] · rows[i·stride …]: (w, count, rows, stride, cols, out, accumulate).
    let combineRows: @Sendable (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>,
                                Bool) -> Void
    /// The same for four outputs, each row loaded once: (w, wStride, count, rows, stride, cols, out, outStride,
    /// accumulate) — out + k·outStride (+)= Σ_i w[k·wStride + i] · rows[i·stride …], k in 0..<4, the bits of four
    /// `combineRows` calls.
    let combineRowsFour: CombineFour
    /// x [n] ← silu(x) ⊙ y and x [n] ← x ⊙ σ(y): (x, y, n), at this path's width (the 7B family's gates).
    let siluProduct: Gate
    let multiplyBySigmoid: Gate
    /// x [n] ← cap · tanh(x / cap): (x, n, cap), at this path's width (the 7B family's logit soft cap).
    let softCap: SoftCap
    /// x [n] ← silu(x); x [n] ← (x + skip ⊙ c) ⊙ silu(gate): (x, skip, c, gate, n); x [n] ← gelu(x) ⊙ y (erf GELU):
    /// the paper family's convolution activation, mLSTM output gate and gated feed-forward, at this path's width.
    public let silu: Unary
    public let skipSiluGate: SkipGate
    public let geluProduct: Gate
    /// a [n] · b [n].
    let dot: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float
    /// The micro-kernel's tile: mr rows of W (the panel height) × nr tokens.
    public let mr: Int, nr: Int
    /// Floats per vector register of the path (the quantized panels interleave rows by it).
    public let lanes: Int
    /// The peak-rate loop (12 independent chains) and the FLOPs of one of its iterations.
    let peakLoop: @Sendable (Int) -> Float
    public let peakFlopsPerIteration: Int
    /// The read-bandwidth loop (8 sequential streams, this ISA's widest loads): (p, bytes, L2 prefetch) -> sum.
    let streamRead: @Sendable (UnsafeRawPointer, Int, Bool) -> Float

    typealias MatVec<Element> = @Sendable (UnsafePointer<Element>, Int, Int, UnsafePointer<Float>,
                                           UnsafeMutablePointer<Float>) -> Void
    typealias CellUpdate = @Sendable (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<Float>,
                                      UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int,
                                      Float, Float, Float) -> Float
    typealias Dequantize = @Sendable (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void
    public typealias Gate = @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void
    typealias SoftCap = @Sendable (UnsafeMutablePointer<Float>, Int, Float) -> Void
    public typealias Unary = @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    public typealias SkipGate = @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                    UnsafePointer<Float>, Int) -> Void
    typealias CombineFour = @Sendable (UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, Int, Int,
                                       UnsafeMutablePointer<Float>, Int, Bool) -> Void

    /// The int8 GEMM of one ISA (xlstm_int8.h): `quantize` (x, xStride, n, cols, offset, out) the
    /// token rows once per call, then `q8` / `q4` (panels, rows, cols, tokens, n, y, yStride, scratch).
    struct Int8GEMM: Sendable {
        typealias Quantize = @Sendable (UnsafePointer<Float>, Int, Int, Int, Int32, UnsafeMutableRawPointer) -> Void
        typealias Product = @Sendable (UnsafeRawPointer, Int, Int, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>, Int,
                                       UnsafeMutableRawPointer) -> Void
        let name: String
        let quantize: Quantize
        let q8: Product
        let q4: Product
    }

    /// The bf16 GEMM of `fast` (xlstm_bf16.h): `pack` (x, xStride, n, cols, out) the token rows once per
    /// call, then `product` (panels, rows, cols, tokens, n, y, yStride, scratch).
    struct BF16GEMM: Sendable {
        typealias Pack = @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutableRawPointer) -> Void
        typealias Product = @Sendable (UnsafePointer<UInt16>, Int, Int, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>, Int,
                                       UnsafeMutableRawPointer) -> Void
        let name: String
        let pack: Pack
        let product: Product
    }
    typealias WideningMicroKernel = @Sendable (Int, UnsafePointer<UInt16>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                                               Int, Bool, UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void
    typealias MicroKernel<Element> = @Sendable (Int, UnsafePointer<Element>, UnsafePointer<Float>,
                                                UnsafeMutablePointer<Float>, Int, Bool, UnsafeRawPointer) -> Void
    typealias FewMicroKernel<Element> = @Sendable (Int, UnsafePointer<Element>, Int, UnsafePointer<Float>, Int,
                                                   UnsafeMutablePointer<Float>, Int, Bool) -> Void
    typealias FewMicroKernels = (f32: FewMicroKernel<Float>, bf16: FewMicroKernel<UInt16>, panels: Int)

    private init(path: CPUPath, rowMajor: @escaping MatVec<Float>, packedF32: @escaping MatVec<Float>,
                 packedBF16: @escaping MatVec<UInt16>, streamingF32: @escaping MatVec<Float>,
                 streamingBF16: @escaping MatVec<UInt16>,
                 oneStream: (f32: MatVec<Float>, bf16: MatVec<UInt16>), packedQ8: @escaping MatVec<UInt8>,
                 packedQ4: @escaping MatVec<UInt8>, dequantizeQ8: @escaping Dequantize,
                 dequantizeQ4: @escaping Dequantize, microF32: @escaping MicroKernel<Float>,
                 microBF16: @escaping MicroKernel<UInt16>, wideningBF16: @escaping WideningMicroKernel,
                 narrow: (f32: MicroKernel<Float>, bf16: MicroKernel<UInt16>, nr: Int),
                 few: (single: FewMicroKernels, pair: FewMicroKernels, triple: FewMicroKernels), cell: @escaping CellUpdate,
                 combine: @escaping @Sendable (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Int,
                                               UnsafeMutablePointer<Float>, Bool) -> Void,
                 combineFour: @escaping CombineFour, gates: (silu: Gate, sigmoid: Gate, softCap: SoftCap),
                 paperGates: (silu: Unary, skip: SkipGate, gelu: Gate),
                 dot: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float, tile: (mr: Int, nr: Int), lanes: Int,
                 peakLoop: @escaping @Sendable (Int) -> Float,
                 streamRead: @escaping @Sendable (UnsafeRawPointer, Int, Bool) -> Float) {
        self.path = path
        precision = .exact
        int8MatVec = nil
        int8GEMM = nil
        bf16GEMM = nil
        matVecRowMajorF32 = rowMajor
        matVecPackedF32 = packedF32
        matVecPackedBF16 = packedBF16
        self.oneStream = KernelSet.oneStreamCPU
        matVecStreamingF32 = self.oneStream ? oneStream.f32 : streamingF32
        matVecStreamingBF16 = self.oneStream ? oneStream.bf16 : streamingBF16
        matVecTwoStreamsF32 = streamingF32
        matVecTwoStreamsBF16 = streamingBF16
        matVecOneStreamF32 = oneStream.f32
        matVecOneStreamBF16 = oneStream.bf16
        matVecPackedQ8 = packedQ8
        matVecPackedQ4 = packedQ4
        dequantizePanelQ8 = dequantizeQ8
        dequantizePanelQ4 = dequantizeQ4
        microKernelF32 = microF32
        microKernelBF16 = microBF16
        microKernelWideningBF16 = wideningBF16
        microKernelNarrowF32 = narrow.f32
        microKernelNarrowBF16 = narrow.bf16
        narrowNR = narrow.nr
        fewTokenKernels = few
        mLSTMCellUpdate = cell
        combineRows = combine
        combineRowsFour = combineFour
        siluProduct = gates.silu
        multiplyBySigmoid = gates.sigmoid
        softCap = gates.softCap
        silu = paperGates.silu
        skipSiluGate = paperGates.skip
        geluProduct = paperGates.gelu
        self.dot = dot
        mr = tile.mr
        nr = tile.nr
        self.lanes = lanes
        self.peakLoop = peakLoop
        self.streamRead = streamRead
        peakFlopsPerIteration = 12 * lanes * 2
    }

    /// `base` with the quantized matvecs replaced by int8 kernels named `name` (and, with `bf16`, the
    /// bf16 matvecs by `bf16Matvec` and the bf16 GEMM by `bf16`).
    private init(_ base: KernelSet, int8Q8: @escaping MatVec<UInt8>, int8Q4: @escaping MatVec<UInt8>, name: String,
                 precision: Precision = .fast, gemm: Int8GEMM? = nil,
                 bf16: (matVec: MatVec<UInt16>, gemm: BF16GEMM)? = nil) {
        path = base.path
        self.precision = precision
        int8MatVec = name
        int8GEMM = gemm
        bf16GEMM = bf16?.gemm
        matVecRowMajorF32 = base.matVecRowMajorF32
        matVecPackedF32 = base.matVecPackedF32
        matVecPackedBF16 = bf16?.matVec ?? base.matVecPackedBF16
        matVecStreamingF32 = base.matVecStreamingF32
        matVecStreamingBF16 = bf16?.matVec ?? base.matVecStreamingBF16
        matVecTwoStreamsF32 = base.matVecTwoStreamsF32
        matVecTwoStreamsBF16 = base.matVecTwoStreamsBF16
        matVecOneStreamF32 = base.matVecOneStreamF32
        matVecOneStreamBF16 = base.matVecOneStreamBF16
        oneStream = base.oneStream
        matVecPackedQ8 = int8Q8
        matVecPackedQ4 = int8Q4
        dequantizePanelQ8 = base.dequantizePanelQ8
        dequantizePanelQ4 = base.dequantizePanelQ4
        microKernelF32 = base.microKernelF32
        microKernelBF16 = base.microKernelBF16
        microKernelWideningBF16 = base.microKernelWideningBF16
        microKernelNarrowF32 = base.microKernelNarrowF32
        microKernelNarrowBF16 = base.microKernelNarrowBF16
        narrowNR = base.narrowNR
        fewTokenKernels = base.fewTokenKernels
        mLSTMCellUpdate = base.mLSTMCellUpdate
        combineRows = base.combineRows
        combineRowsFour = base.combineRowsFour
        siluProduct = base.siluProduct
        multiplyBySigmoid = base.multiplyBySigmoid
        softCap = base.softCap
        silu = base.silu
        skipSiluGate = base.skipSiluGate
        geluProduct = base.geluProduct
        dot = base.dot
        mr = base.mr
        nr = base.nr
        lanes = base.lanes
        peakLoop = base.peakLoop
        streamRead = base.streamRead
        peakFlopsPerIteration = base.peakFlopsPerIteration
    }

    public static let portable = KernelSet(
        path: .portable, rowMajor: matVecRowMajorF32Portable, packedF32: matVecPackedF32Portable,
        packedBF16: matVecPackedBF16Portable, streamingF32: matVecPackedF32StreamingPortable,
        streamingBF16: matVecPackedBF16StreamingPortable,
        oneStream: (matVecPackedF32SingleStreamPortable, matVecPackedBF16SingleStreamPortable), packedQ8: matVecPackedQ8Portable, packedQ4: matVecPackedQ4Portable,
        dequantizeQ8: dequantizePanelQ8Portable, dequantizeQ4: dequantizePanelQ4Portable, microF32: gemmMicroKernelF32Portable,
        microBF16: gemmMicroKernelBF16Portable, wideningBF16: gemmMicroKernelWideningBF16Portable,
        narrow: (gemmMicroKernelNarrowF32Portable, gemmMicroKernelNarrowBF16Portable, microNarrowNRPortable),
        few: ((gemmMicroKernelSingleF32Portable, gemmMicroKernelSingleBF16Portable, microSinglePanelsPortable),
              (gemmMicroKernelPairF32Portable, gemmMicroKernelPairBF16Portable, microPairPanelsPortable),
              (gemmMicroKernelTripleF32Portable, gemmMicroKernelTripleBF16Portable, microTriplePanelsPortable)), cell: mLSTMCellUpdatePortable,
        combine: combineRowsPortable, combineFour: combineRowsFourPortable,
        gates: (siluProductPortable, multiplyBySigmoidPortable, softCapPortable),
        paperGates: (siluPortable, skipSiluGatePortable, geluProductPortable), dot: dotPortable, tile: microTilePortable, lanes: lanesPortable,
        peakLoop: fmaChainsPortable, streamRead: streamReadPortable)

    #if arch(x86_64)
    static let avx2Fast = KernelSet(.avx2, int8Q8: { int8_matvec_q8_avx2($0, $1, $2, $3, $4) },
                                    int8Q4: { int8_matvec_q4_avx2($0, $1, $2, $3, $4) }, name: "avx2",
                                    gemm: Int8GEMM(name: "avx2",
                                                   quantize: { int8_gemm_quantize_avx2($0, $1, $2, $3, $4, $5) },
                                                   q8: { int8_gemm_q8_avx2($0.assumingMemoryBound(to: UInt8.self), $1, $2, $3, $4, $5, $6, $7) },
                                                   q4: { int8_gemm_q4_avx2($0.assumingMemoryBound(to: UInt8.self), $1, $2, $3, $4, $5, $6, $7) }))
    static let avx512Fast = KernelSet(.avx512, int8Q8: { int8_matvec_q8_vnni512($0, $1, $2, $3, $4) },
                                      int8Q4: { int8_matvec_q4_vnni512($0, $1, $2, $3, $4) }, name: "avx512-vnni",
                                      gemm: Int8GEMM(name: "avx512-vnni",
                                                     quantize: { int8_gemm_quantize_vnni512($0, $1, $2, $3, $4, $5) },
                                                     q8: { int8_gemm_q8_vnni512($0.assumingMemoryBound(to: UInt8.self), $1, $2, $3, $4, $5, $6, $7) },
                                                     q4: { int8_gemm_q4_vnni512($0.assumingMemoryBound(to: UInt8.self), $1, $2, $3, $4, $5, $6, $7) }))
    static let avx512FastBF16 = KernelSet(.avx512, int8Q8: { int8_matvec_q8_vnni512($0, $1, $2, $3, $4) },
                                          int8Q4: { int8_matvec_q4_vnni512($0, $1, $2, $3, $4) }, name: "avx512-vnni",
                                          gemm: avx512Fast.int8GEMM,
                                          bf16: (matVec: bf16MatVecAVX512,
                                                 gemm: BF16GEMM(name: "avx512-bf16",
                                                                pack: { bf16_gemm_pack_avx512bf16($0, $1, $2, $3, $4) },
                                                                product: { bf16_gemm_avx512bf16($0, $1, $2, $3, $4, $5, $6, $7) })))
    static let avx2ExactInt8 = KernelSet(.avx2, int8Q8: { int8_matvec_q8_exact_avx2($0, $1, $2, $3, $4, exactInt8Scratch(cols: $2)) },
                                         int8Q4: { int8_matvec_q4_exact_avx2($0, $1, $2, $3, $4, exactInt8Scratch(cols: $2)) },
                                         name: "avx2, 3 digits", precision: .exact)
    static let avx512ExactVNNI = KernelSet(.avx512, int8Q8: { int8_matvec_q8_exact_vnni512($0, $1, $2, $3, $4, exactInt8Scratch(cols: $2)) },
                                           int8Q4: { int8_matvec_q4_exact_vnni512($0, $1, $2, $3, $4, exactInt8Scratch(cols: $2)) },
                                           name: "avx512-vnni, 3 digits", precision: .exact)

    public static let avx2 = KernelSet(
        path: .avx2, rowMajor: matVecRowMajorF32AVX2, packedF32: matVecPackedF32AVX2,
        packedBF16: matVecPackedBF16AVX2, streamingF32: matVecPackedF32StreamingAVX2,
        streamingBF16: matVecPackedBF16StreamingAVX2,
        oneStream: (matVecPackedF32SingleStreamAVX2, matVecPackedBF16SingleStreamAVX2), packedQ8: matVecPackedQ8AVX2, packedQ4: matVecPackedQ4AVX2,
        dequantizeQ8: dequantizePanelQ8AVX2, dequantizeQ4: dequantizePanelQ4AVX2, microF32: gemmMicroKernelF32AVX2,
        microBF16: gemmMicroKernelBF16AVX2, wideningBF16: gemmMicroKernelWideningBF16AVX2,
        narrow: (gemmMicroKernelNarrowF32AVX2, gemmMicroKernelNarrowBF16AVX2, microNarrowNRAVX2),
        few: ((gemmMicroKernelSingleF32AVX2, gemmMicroKernelSingleBF16AVX2, microSinglePanelsAVX2),
              (gemmMicroKernelPairF32AVX2, gemmMicroKernelPairBF16AVX2, microPairPanelsAVX2),
              (gemmMicroKernelTripleF32AVX2, gemmMicroKernelTripleBF16AVX2, microTriplePanelsAVX2)), cell: mLSTMCellUpdateAVX2,
        combine: combineRowsAVX2, combineFour: combineRowsFourAVX2,
        gates: (siluProductAVX2, multiplyBySigmoidAVX2, softCapAVX2),
        paperGates: (siluAVX2, skipSiluGateAVX2, geluProductAVX2), dot: dotAVX2, tile: microTileAVX2, lanes: lanesAVX2, peakLoop: fmaChainsAVX2,
        streamRead: streamReadAVX2)

    public static let avx512 = KernelSet(
        path: .avx512, rowMajor: matVecRowMajorF32AVX512, packedF32: matVecPackedF32AVX512,
        packedBF16: matVecPackedBF16AVX512, streamingF32: matVecPackedF32StreamingAVX512,
        streamingBF16: matVecPackedBF16StreamingAVX512,
        oneStream: (matVecPackedF32SingleStreamAVX512, matVecPackedBF16SingleStreamAVX512), packedQ8: matVecPackedQ8AVX512, packedQ4: matVecPackedQ4AVX512,
        dequantizeQ8: dequantizePanelQ8AVX512, dequantizeQ4: dequantizePanelQ4AVX512, microF32: gemmMicroKernelF32AVX512,
        microBF16: gemmMicroKernelBF16AVX512, wideningBF16: gemmMicroKernelWideningBF16AVX512,
        narrow: (gemmMicroKernelNarrowF32AVX512, gemmMicroKernelNarrowBF16AVX512, microNarrowNRAVX512),
        few: ((gemmMicroKernelSingleF32AVX512, gemmMicroKernelSingleBF16AVX512, microSinglePanelsAVX512),
              (gemmMicroKernelPairF32AVX512, gemmMicroKernelPairBF16AVX512, microPairPanelsAVX512),
              (gemmMicroKernelTripleF32AVX512, gemmMicroKernelTripleBF16AVX512, microTriplePanelsAVX512)), cell: mLSTMCellUpdateAVX512,
        combine: combineRowsAVX512, combineFour: combineRowsFourAVX512,
        gates: (siluProductAVX512, multiplyBySigmoidAVX512, softCapAVX512),
        paperGates: (siluAVX512, skipSiluGateAVX512, geluProductAVX512), dot: dotAVX512, tile: microTileAVX512, lanes: lanesAVX512, peakLoop: fmaChainsAVX512,
        streamRead: streamReadAVX512)
    #endif

    /// The table of `path` (which the caller has checked this CPU supports) for `precision`: `fast`
    /// gets the int8 matvecs where the path has them and this CPU runs them (AVX2 + F16C; AVX-512
    /// also VNNI), else the `exact` table; `exact` gets the three-digit int8 matvecs where the CPU
    /// has them (AVX2 + F16C; AVX-512 with VNNI: as exact as the float ones, and not bound by
    /// arithmetic), elsewhere the float ones (`KernelSet.avx2` / `.avx512` themselves keep the float
    /// kernels: the tests run both).
    public static func table(_ path: CPUPath, precision: Precision = .exact) -> KernelSet {
        #if arch(x86_64)
        let cpu = CPUInfo.current
        let f16c = cpu.has(CPU_FEATURE_F16C), vnni = cpu.has(CPU_FEATURE_AVX512VNNI), bf16 = cpu.has(CPU_FEATURE_AVX512BF16)
        switch path {
        case .portable: return .portable
        case .avx2:
            guard f16c else { return .avx2 }
            return precision == .fast ? .avx2Fast : .avx2ExactInt8
        case .avx512:
            guard f16c && vnni else { return .avx512 }
            guard precision == .fast else { return .avx512ExactVNNI }
            return bf16 ? .avx512FastBF16 : .avx512Fast
        }
        #else
        return .portable
        #endif
    }

    /// The path a model loads with: `requested` if given, else the `XLSTM_CPU` environment variable
    /// if set, else the fastest path of this CPU. Asking for a path this CPU cannot run, or an
    /// unknown name in XLSTM_CPU, is an error (never a silent fallback).
    public static func select(_ requested: CPUPath? = nil, precision: Precision = .exact) throws(XLSTMError) -> KernelSet {
        let cpu = CPUInfo.current
        var path = cpu.bestPath
        var origin = "the CPU"
        if let requested {
            path = requested
            origin = "the model parameters"
        } else if let raw = getenv("XLSTM_CPU"), case let name = String(cString: raw), !name.isEmpty, name != "auto" {
            guard let named = CPUPath(name: name) else {
                throw XLSTMError(.invalidArgument,
                                 "XLSTM_CPU=\(name): expected one of auto, \(CPUPath.allCases.map(\.description).joined(separator: ", "))")
            }
            path = named
            origin = "XLSTM_CPU"
        }
        guard cpu.supports(path) else {
            throw XLSTMError(.unsupported,
                             "\(origin) asks for the \(path) kernels, but this CPU (\(cpu.brand)) runs only \(cpu.supportedPaths.map(\.description).joined(separator: ", "))")
        }
        return table(path, precision: precision)
    }

    /// Integer multiply-adds of one iteration of `runInt8PeakLoop` (12 chains of 64), counted as 2 ops each.
    public static let int8PeakOpsPerIteration = 12 * 64 * 2

    /// The int8 dot-product peak loop (12 independent `vpdpbusd` chains) on the calling thread, for
    /// the benchmark's `fast` figures: a sink, or nil where this CPU has no AVX-512 VNNI.
    public static func runInt8PeakLoop(iterations: Int) -> Int32? {
        #if arch(x86_64)
        let cpu = CPUInfo.current
        guard cpu.supports(.avx512), cpu.has(CPU_FEATURE_AVX512VNNI) else { return nil }
        return int8_gemm_peak_vnni512(iterations)
        #else
        return nil
        #endif
    }

    /// Whether this CPU's streaming matvecs read one panel stream at a time: AMD Zen 4 and later
    /// (measured, README "Kernels and CPUs"); `XLSTM_STREAMS=1|2` overrides (to measure both on one
    /// machine; the results are the same bits either way).
    public static let oneStreamCPU: Bool = {
        if let raw = getenv("XLSTM_STREAMS") {
            let value = String(cString: raw)
            if value == "1" { return true }
            if value == "2" { return false }
        }
        return CPUInfo.current.isZen4OrLater
    }()

    /// FLOPs of one iteration of `runBF16PeakLoop` (20 chains of 16 lanes, two multiply-adds each).
    public static let bf16PeakFlopsPerIteration = 20 * 16 * 2 * 2

    /// The bf16 dot-product peak loop (20 independent `vdpbf16ps` chains) on the calling thread, for
    /// the benchmark's `fast` figures: a sink, or nil where this CPU has no AVX-512 BF16.
    public static func runBF16PeakLoop(iterations: Int) -> Float? {
        #if arch(x86_64)
        let cpu = CPUInfo.current
        guard cpu.supports(.avx512), cpu.has(CPU_FEATURE_AVX512BF16) else { return nil }
        return bf16_peak_avx512bf16(iterations)
        #else
        return nil
        #endif
    }

    /// FLOP/s of this path's peak loop on the calling thread over `iterations` (for the benchmark).
    public func runPeakLoop(iterations: Int) -> Float { peakLoop(iterations) }

    /// Reads `bytes` (a multiple of 512) at `p` with this path's bandwidth loop on the calling thread
    /// (for the benchmark), each stream also prefetching far ahead into L2 if `prefetchL2` (as the
    /// streaming kernels do); returns the sum of the floats read.
    public func runStreamRead(_ p: UnsafeRawPointer, bytes: Int, prefetchL2: Bool = false) -> Float {
        streamRead(p, bytes, prefetchL2)
    }
}

#if arch(x86_64)
/// `fast`'s bf16 matvec (AVX-512 BF16): x rounded into column pairs in the calling thread's buffer,
/// then `vdpbf16ps` over the panels. An odd `cols` (no engine matrix has one) runs the exact kernel.
@Sendable
func bf16MatVecAVX512(_ w: UnsafePointer<UInt16>, _ rows: Int, _ cols: Int, _ x: UnsafePointer<Float>,
                      _ y: UnsafeMutablePointer<Float>) {
    guard cols % 2 == 0 else {
        KernelSet.avx512.matVecPackedBF16(w, rows, cols, x, y)
        return
    }
    let pairs = ThreadScratch.buffer(.int8Digits, floats: cols / 2)
    pairs.withMemoryRebound(to: UInt32.self, capacity: cols / 2) { p in
        bf16_pack_pairs_avx512bf16(x, cols, p)
        bf16_matvec_avx512bf16(w, rows, cols, p, y)
    }
}
#endif

/// The calling thread's buffer for an exact int8 matvec's digits of x (`cols` columns).
@inline(__always)
func exactInt8Scratch(cols: Int) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(ThreadScratch.buffer(.int8Digits, floats: (int8_matvec_exact_scratch_bytes(cols) + 3) / 4))
}

// The `fast` precision's quantized matvecs: W in q8_0 / q4_0 panels (Sources/XLSTM/Quant/
// QuantPanels.swift) · x [cols] -> y [rows], with x quantized on the fly to int8, one scale per
// block of 32 (d = max|x| / 127, q = round-to-nearest-even(x · 127 / max|x|)), and the products
// summed as integers per block: AVX-512 VNNI `vpdpbusd`, or AVX2 `vpmaddubsw` + `vpmaddwd`. Swift
// has no spelling for these instructions, so these few kernels are C, each function compiled for
// its ISA by a `target` attribute (the rest of the library is built for baseline x86-64).
//
//   y[r] = Σ_b  float(Σ_{c in b} (code[r][c] − offset) · xq[c])  ·  (scale[r][b] · d[b])
//
// summed over the blocks b in order, one fused multiply-add per block (offset 128 for q8's stored
// q + 128, 8 for q4); the integer part is exact, so the result does not depend on the thread split.
// Rows past `rows` in the last panel are not written. `cols` is a multiple of 32.
//
// The panels must be those of the path: MR = 32 rows (AVX-512) or 16 (AVX2), as KernelSet's `mr`.
// Call a function only on a CPU with its features (KernelSet checks CPU_FEATURE_AVX512VNNI /
// AVX2 + F16C). Nothing here is exported from libxlstm.so (the version script keeps only xlstm_*).
#ifndef XLSTM_INT8_H
#define XLSTM_INT8_H

#include <stdint.h>

/// AVX-512 F/BW/VL + VNNI, panels of 32 rows.
void int8_matvec_q8_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y);
void int8_matvec_q4_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y);

/// The exact precision's AVX-512 VNNI kernels (panels of 32 rows): x as three int8 digits per
/// block, x ≈ d1·q1 + d2·q2 + d3·q3 (d1 = max|x| / 127, d2 = d1 / 252, d3 = d2 / 252), three exact
/// integer dot products; the result equals the float32 product within float32 rounding. `scratch`
/// (the calling thread's, 64-byte aligned, `int8_matvec_exact_scratch_bytes(cols)` bytes) holds the
/// digits of the whole row.
intptr_t int8_matvec_exact_scratch_bytes(intptr_t cols);
void int8_matvec_q8_exact_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y, void *scratch);
void int8_matvec_q4_exact_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y, void *scratch);

/// AVX2 + FMA + F16C, panels of 16 rows: the exact precision's three-digit kernels (scratch as
/// above), then `fast`'s.
void int8_matvec_q8_exact_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y, void *scratch);
void int8_matvec_q4_exact_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y, void *scratch);
void int8_matvec_q8_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y);
void int8_matvec_q4_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const float *x, float *y);

// ---- The `fast` int8 GEMM (int8_gemm.c): prefill's and batches' q8 / q4 projections -----------
//
//   Y[t][r] = the matvec's y[r] for x = X[t], bit for bit (the same quantization of each token
//   row, the same integer block sums, the same per-block multiply and FMA, the same chunks of 64
//   blocks), for t in 0..<n; Y rows `yStride` floats apart, X rows `xStride` apart.
//
// A call is two steps: `int8_gemm_quantize_*` writes X's n rows, quantized, into a caller buffer of
// `int8_gemm_activation_bytes(n, cols)` bytes (4-byte aligned; `offset` is 128 for q8 panels, 8
// for q4); `int8_gemm_q*_*` then runs the panels against it, unpacking each panel into `scratch`
// (`int8_gemm_panel_scratch_bytes(cols)` bytes, 64-byte aligned). Both buffers belong to the
// calling thread. The panels are the path's, as the matvecs': 32 rows (AVX-512 VNNI), 16 (AVX2 +
// FMA + F16C); quantize with the same path's function (the buffer's order is its tiles').
intptr_t int8_gemm_activation_bytes(intptr_t n, intptr_t cols);
intptr_t int8_gemm_panel_scratch_bytes(intptr_t cols);
void int8_gemm_quantize_vnni512(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, int32_t offset, void *out);
void int8_gemm_q8_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                          intptr_t yStride, void *scratch);
void int8_gemm_q4_vnni512(const uint8_t *panels, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                          intptr_t yStride, void *scratch);
void int8_gemm_quantize_avx2(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, int32_t offset, void *out);
void int8_gemm_q8_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                       intptr_t yStride, void *scratch);
void int8_gemm_q4_avx2(const uint8_t *panels, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                       intptr_t yStride, void *scratch);

/// The benchmark's int8 peak: 12 independent `vpdpbusd` chains for `iterations` rounds (12 · 16 · 4
/// multiply-adds per round); returns a sum of the accumulators (a sink). AVX-512 VNNI only.
int32_t int8_gemm_peak_vnni512(intptr_t iterations);

#endif

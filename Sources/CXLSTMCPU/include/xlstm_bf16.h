// The `fast` precision's bf16 products (bf16_gemm.c): W in the AVX-512 path's bf16 panels
// (MatrixPacking.swift: 32 rows, each 32-bit word of a panel row holding rows j and j + 16) times
// activations rounded to bfloat16, summed by AVX-512 BF16 `vdpbf16ps` (two products per f32 lane
// and instruction: twice the multiply-adds of an f32 FMA, and no widening of the weights). Swift
// cannot spell `vdpbf16ps`, so these kernels are C with a per-function `target` attribute.
//
//   y[r] = Σ_chunks ( Σ_{p in chunk} W[r][2p]·x̂[2p] + W[r][2p+1]·x̂[2p+1] )       x̂ = bf16(x), RNE
//
// Each chunk of BF16_CHUNK_COLS columns is one `vdpbf16ps` chain from zero over its column pairs in
// order (its own rounding: the instruction's, which flushes denormals); the chunks' partial sums
// are added to y in order. The step's matvec and the GEMM (prefill, batches) run exactly these
// operations, so a token's result is bit-identical whichever computes it, whatever the token
// count or the thread split. `cols` must be even (the engine's bf16 matrices all are; an odd one
// runs the `exact` kernels). Rows past `rows` in the last panel are not written.
//
// Call only on a CPU with AVX-512 F/BW + BF16 (KernelSet checks CPU_FEATURE_AVX512BF16). Nothing
// here is exported from libxlstm.so.
#ifndef XLSTM_BF16_H
#define XLSTM_BF16_H

#include <stdint.h>

enum { BF16_CHUNK_COLS = 512 };

/// x [cols] rounded to bf16, as column pairs: word p = bf16(x[2p]) | bf16(x[2p+1]) << 16 → out
/// [cols / 2] (4-byte aligned). The matvec's activation operand.
void bf16_pack_pairs_avx512bf16(const float *x, intptr_t cols, uint32_t *out);

/// y [rows] = W · x̂ (the sum above); `xp` is `bf16_pack_pairs_avx512bf16`'s output for x.
void bf16_matvec_avx512bf16(const uint16_t *panels, intptr_t rows, intptr_t cols, const uint32_t *xp, float *y);

// ---- The GEMM ------------------------------------------------------------------------------------
//
// Y[t] = W · x̂_t for t in 0..<n (Y rows `yStride` floats apart, X rows `xStride` apart), each row
// the matvec's bits. Two steps, as the int8 GEMM: `bf16_gemm_pack` writes X's n rows, rounded and
// paired, into a caller buffer of `bf16_gemm_activation_bytes(n, cols)` bytes (4-byte aligned) in
// the order of the register tiles; `bf16_gemm` runs the panels against it, each panel's chunk
// first interleaved into `vdpbf16ps` operand form in `scratch` (`bf16_gemm_panel_scratch_bytes()`
// bytes, 64-byte aligned). Both buffers belong to the calling thread.
intptr_t bf16_gemm_activation_bytes(intptr_t n, intptr_t cols);
intptr_t bf16_gemm_panel_scratch_bytes(void);
void bf16_gemm_pack_avx512bf16(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, void *out);
void bf16_gemm_avx512bf16(const uint16_t *panels, intptr_t rows, intptr_t cols, const void *xp, intptr_t n, float *y,
                          intptr_t yStride, void *scratch);

/// The benchmark's bf16 peak: 20 independent `vdpbf16ps` chains for `iterations` rounds (20 · 16 · 2
/// multiply-adds per round: 12 chains, as the FMA and int8 peaks use, leave Zen 5's `vdpbf16ps`
/// latency-bound at ~90%); returns a sum of the accumulators (a sink).
float bf16_peak_avx512bf16(intptr_t iterations);

#endif

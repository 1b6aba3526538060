// The `fast` precision's quantized matvecs (see xlstm_int8.h for what they compute).
//
// Panel layout (QuantPanels.swift), for a path of L float lanes and MR = 2L rows: a block (32
// columns of one panel) is its codes, in chunks of one vector (4L bytes; 32-bit word j of a chunk
// belongs to lane j), then MR binary16 scales as L words (row j in the low half, row j + L in the
// high half).
//   q4: chunk k holds columns 4k .. 4k+3; byte t of word j holds column 4k + t, row j in its low
//       nibble and row j + L in its high one. So `word & 0x0F0F0F0F` is row j's 4 codes and
//       `(word >> 4) & 0x0F0F0F0F` row j + L's: exactly the u8 operand of a 4-way dot product with
//       the 4 activations of those columns broadcast.
//   q8 on AVX-512 (QuantPanels.swift `rowWords`): chunk c is two vectors, rows 0–15 then rows
//       16–31, word j of each holding columns 4c .. 4c+3 of its row, codes q + 128: like q4's, the
//       u8 operand of a 4-way dot product with the 4 activations of those columns broadcast.
//   q8 on AVX2: chunk k holds columns 2k, 2k+1 as bytes (row j, 2k) (row j+L, 2k) (row j, 2k+1)
//       (row j+L, 2k+1), codes q + 128. Broadcasting (x[2k], 0, x[2k+1], 0) gives row j's two
//       products, (0, x[2k], 0, x[2k+1]) row j + L's (these words are x's bytes zero-extended to
//       16 bits, and that shifted left by 8). `vpmaddubsw` needs that zero: its int16 pair sums
//       would saturate at 2 · 255 · 127. (AVX-512 had this layout too, at two `vpdpbusd` per 4
//       useful products and 4× the activation bytes; the row words halved its q8 instructions.)
// The integer sums are exact (q4: |Σ| ≤ 32·15·127; q8: ≤ 32·255·127); the offsets are removed
// with Σ xq of the block. On AVX2, `vpmaddubsw` sums byte pairs into int16 with saturation: q4's
// pairs are ≤ 2·15·127 and eight chunks of them ≤ 30 480, so they add up in int16 before one
// `vpmaddwd`; q8's pairs hold one zero term each (≤ 255·127), so they never saturate either.
//
// x is quantized in chunks of CHUNK_BLOCKS blocks into buffers on the stack (no allocation); each
// thread quantizes what it reads (a few hundred instructions against its rows · cols products).

#include "xlstm_int8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "int8_quantize.h"
#include "panel_store.h"

enum { CHUNK_BLOCKS = 64 };   // 2 048 columns: 8 KB of q4 activation words, 16 KB of q8's
#ifndef PF
#define PF 4096   // prefetch distance in bytes (measured: 1 024 → 75%, 4 096 → 86–96% of the read bandwidth)
#endif
// How far ahead each kernel also prefetches into L2 (`prefetcht1`; bytes, 0: not at all), as the
// f32 / bf16 streaming matvecs do: an L1 prefetch holds one of the core's few line-fill buffers
// until its line arrives from DRAM, an L2 one does not, so more of each stream is in flight.
// Measured on the Xeon model 207 (kbv-style driver: every variant's four kernels alternating over
// a 570 MB matrix of 4 096 columns, 41 rounds, medians, an 8-stream read loop measured in the same
// rounds at 24.8 GB/s), 2 threads, GB/s without → with 16 KiB: q8 fast 22.4 → 26.2, q4 fast 21.4 →
// 24.1, q8 exact 22.2 → 24.7, q4 exact 21.8 → 22.7; 1 thread 12.3–12.8 → 13.2–13.5 each; 8 KiB
// the same as 16. The AVX2 kernels, forced on the same machine (read loop 28.9 GB/s): fast q8
// 22.5 → 23.8, q4 23.2 → 24.6, exact (bound by `vpmaddubsw` arithmetic) +0–2%; not measured on
// an AVX2-only CPU. (An earlier try, `pointer + 16 KiB` without the piece-to-piece jump of
// WALK_PANELS, lost 16% on q4 fast: near each 64-block piece's end it fetched the panel's next
// piece, read only a chunk later.)
#ifndef FAR_FAST_512
#define FAR_FAST_512 16384
#endif
#ifndef FAR_EXACT_512
#define FAR_EXACT_512 16384
#endif
#ifndef FAR_FAST_256
#define FAR_FAST_256 16384
#endif
#ifndef FAR_EXACT_256
#define FAR_EXACT_256 16384
#endif


// The panel walk every kernel shares, for one chunk of blocks [b0, b0 + nb): panels two at a time
// (two read streams), then the odd one; BLOCK_AT(pointer, ahead, far, &y0, &y1) adds block b (a
// variable of the loop) of the panel at `pointer` into the panel's two row vectors, prefetching the
// bytes at `ahead` into L1 and, unless FAR is 0, those at `far` into L2, and STORE writes them. A
// stream's next bytes are its panel's piece of this chunk (nb blocks), then the same piece two
// panels on (the next pair's): `ahead` is PF bytes and `far` FAR bytes on along that path. (Plain
// `pointer + PF` ran past each piece's end into the panel's next piece, read only one chunk later
// and evicted by then: with 7B-wide rows, 11% of a q4 step's prefetched bytes (22% for the exact
// kernels' 1 024-column chunks) were fetched twice, and each piece started unprefetched.)
#define WALK_PANELS(V, ZERO, STORE, BLOCK_AT, FAR)                                                   \
    do {                                                                                             \
        const intptr_t tail = nb * BLOCK - PF, farTail = nb * BLOCK - (FAR), jump = (2 * blocks - nb) * BLOCK; \
        intptr_t p = 0;                                                                              \
        for (; p + 2 <= panels; p += 2) {                                                            \
            const uint8_t *pa = a + (p * blocks + b0) * BLOCK, *pb = pa + blocks * BLOCK;            \
            V a0 = ZERO, a1 = a0, c0 = a0, c1 = a0;                                                  \
            for (intptr_t b = 0; b < nb; b++, pa += BLOCK, pb += BLOCK) {                            \
                const intptr_t ahead = PF + (b * BLOCK >= tail ? jump : 0);                          \
                const intptr_t far = (FAR) + (b * BLOCK >= farTail ? jump : 0);                      \
                BLOCK_AT(pa, pa + ahead, (FAR) ? pa + far : NULL, &a0, &a1);                         \
                BLOCK_AT(pb, pb + ahead, (FAR) ? pb + far : NULL, &c0, &c1);                         \
            }                                                                                        \
            STORE(y + p * MR, rows - p * MR, b0 > 0, a0, a1);                                        \
            STORE(y + p * MR + MR, rows - p * MR - MR, b0 > 0, c0, c1);                              \
        }                                                                                            \
        if (p < panels) {                                                                            \
            const uint8_t *pa = a + (p * blocks + b0) * BLOCK;                                       \
            V a0 = ZERO, a1 = a0;                                                                    \
            for (intptr_t b = 0; b < nb; b++, pa += BLOCK)                                           \
                BLOCK_AT(pa, pa + PF, (FAR) ? pa + (FAR) : NULL, &a0, &a1);                          \
            STORE(y + p * MR, rows - p * MR, b0 > 0, a0, a1);                                        \
        }                                                                                            \
    } while (0)

/// The prefetches of one line `offset` bytes into a block: `ahead` into L1, `far` (unless NULL) into L2.
static inline __attribute__((always_inline)) void prefetch_line(const uint8_t *ahead, const uint8_t *far, intptr_t offset) {
    _mm_prefetch((const char *)ahead + offset, _MM_HINT_T0);
    if (far) _mm_prefetch((const char *)far + offset, _MM_HINT_T1);
}

// ---- AVX-512 --------------------------------------------------------------------------------


/// The 32 scales of a block (16 words: low halves rows 0–15, high halves rows 16–31) times d.
static inline __attribute__((always_inline)) TARGET_512 void block_scales_512(const uint8_t *p, float d, __m512 *lo, __m512 *hi) {
    const __m512i words = _mm512_loadu_si512(p);
    const __m512 vd = _mm512_set1_ps(d);
    *lo = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(words)), vd);
    *hi = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16))), vd);
}

/// One q4 block of one panel: y0 (rows 0–15), y1 (rows 16–31) += its products with xq.
static inline __attribute__((always_inline)) TARGET_512 void block_q4_512(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4, int32_t off,
                                                                         float d, __m512 *y0, __m512 *y1) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    __m512i l0 = _mm512_setzero_si512(), l1 = l0, h0 = l0, h1 = l0;
    for (int k = 0; k < 8; k += 2) {
        prefetch_line(ahead, far, 64 * k);
        prefetch_line(ahead, far, 64 * k + 64);
        const __m512i w0 = _mm512_loadu_si512(blk + 64 * k), w1 = _mm512_loadu_si512(blk + 64 * k + 64);
        const __m512i x0 = _mm512_set1_epi32((int)w4[k]), x1 = _mm512_set1_epi32((int)w4[k + 1]);
        l0 = _mm512_dpbusd_epi32(l0, _mm512_and_si512(w0, nibble), x0);
        h0 = _mm512_dpbusd_epi32(h0, _mm512_and_si512(_mm512_srli_epi16(w0, 4), nibble), x0);
        l1 = _mm512_dpbusd_epi32(l1, _mm512_and_si512(w1, nibble), x1);
        h1 = _mm512_dpbusd_epi32(h1, _mm512_and_si512(_mm512_srli_epi16(w1, 4), nibble), x1);
    }
    prefetch_line(ahead, far, 512);
    const __m512i o = _mm512_set1_epi32(off);
    __m512 slo, shi;
    block_scales_512(blk + 512, d, &slo, &shi);
    *y0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(l0, l1), o)), slo, *y0);
    *y1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(h0, h1), o)), shi, *y1);
}

/// One q8 block of one panel, as block_q4_512 (w4: the block's 8 activation words).
static inline __attribute__((always_inline)) TARGET_512 void block_q8_512(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4,
                                                                         int32_t off, float d, __m512 *y0, __m512 *y1) {
    __m512i l0 = _mm512_setzero_si512(), l1 = l0, h0 = l0, h1 = l0;
    for (int c = 0; c < 8; c += 2) {
        for (int line = 0; line < 4; line++) prefetch_line(ahead, far, 128 * c + 64 * line);
        const __m512i x0 = _mm512_set1_epi32((int)w4[c]), x1 = _mm512_set1_epi32((int)w4[c + 1]);
        l0 = _mm512_dpbusd_epi32(l0, _mm512_loadu_si512(blk + 128 * c), x0);
        h0 = _mm512_dpbusd_epi32(h0, _mm512_loadu_si512(blk + 128 * c + 64), x0);
        l1 = _mm512_dpbusd_epi32(l1, _mm512_loadu_si512(blk + 128 * c + 128), x1);
        h1 = _mm512_dpbusd_epi32(h1, _mm512_loadu_si512(blk + 128 * c + 192), x1);
    }
    prefetch_line(ahead, far, 1024);
    const __m512i o = _mm512_set1_epi32(off);
    __m512 slo, shi;
    block_scales_512(blk + 1024, d, &slo, &shi);
    *y0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(l0, l1), o)), slo, *y0);
    *y1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(h0, h1), o)), shi, *y1);
}

// Both kernels run two panels side by side (two read streams: one sustains ~80% of the
// bandwidth, two ~90%), then the odd one.

TARGET_512 void int8_matvec_q4_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y) {
    enum { MR = 32, BLOCK = 18 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t xq[CHUNK_BLOCKS * 32] __attribute__((aligned(64)));
    float dx[CHUNK_BLOCKS];
    int32_t sx[CHUNK_BLOCKS];
    for (intptr_t b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
        const intptr_t nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
        for (intptr_t b = 0; b < nb; b++) sx[b] = 8 * quantize_block_512(x + 32 * (b0 + b), xq + 32 * b, &dx[b]);
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q4_512(pointer, ahead, far, xw + 8 * b, sx[b], dx[b], y0, y1)
        WALK_PANELS(__m512, _mm512_setzero_ps(), store_panel_512, BLOCK_AT, FAR_FAST_512);
#undef BLOCK_AT
    }
}

TARGET_512 void int8_matvec_q8_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y) {
    enum { MR = 32, BLOCK = 34 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t xq[CHUNK_BLOCKS * 32] __attribute__((aligned(64)));
    float dx[CHUNK_BLOCKS];
    int32_t sx[CHUNK_BLOCKS];
    for (intptr_t b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
        const intptr_t nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
        for (intptr_t b = 0; b < nb; b++) sx[b] = 128 * quantize_block_512(x + 32 * (b0 + b), xq + 32 * b, &dx[b]);
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q8_512(pointer, ahead, far, xw + 8 * b, sx[b], dx[b], y0, y1)
        WALK_PANELS(__m512, _mm512_setzero_ps(), store_panel_512, BLOCK_AT, FAR_FAST_512);
#undef BLOCK_AT
    }
}

// ---- AVX-512 VNNI, exact: x as three int8 digits ----------------------------------------------
//
// The exact precision's q8/q4 matvecs on VNNI: x is split per block into three int8 digits,
// x ≈ d1·q1 + d2·q2 + d3·q3 with d1 = max|x| / 127, d2 = d1 / 252, d3 = d2 / 252 (each residual is
// at most half a step of the digit above, so |q2|, |q3| ≤ 127), which leaves at most d3 / 2 =
// max|x| · 6.2e-8 — the size of float32's own rounding of the block's largest value. The three
// integer dot products are exact; the block sum is d1·S1 + d2·S2 + d3·S3 in float, so the result
// equals the float32 product within float32 rounding (the tests hold it to 1e-5 of a
// double-precision product, as the float kernels). Three vpdpbusd per 64 codes cost less than
// widening codes to float (q4: four vector operations per 16 weights, compute-bound).

/// x [32] -> three digits q1, q2, q3 [32] int8; returns the digits' sums, sets d[0..2].
static inline __attribute__((always_inline)) TARGET_512 void digits_block_512(const float *x, int8_t *q, float *d, int32_t *sums) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const __mmask16 nan = _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
    const float d1 = amax / 127.0f, d2 = d1 / 252.0f, d3 = d2 / 252.0f;
    const float inverse[3] = {amax > 0.0f ? 127.0f / amax : 0.0f, d2 > 0.0f ? 1.0f / d2 : 0.0f, d3 > 0.0f ? 1.0f / d3 : 0.0f};
    const float step[3] = {d1, d2, d3};
    __m512 r0 = v0, r1 = v1;
    for (int k = 0; k < 3; k++) {
        const __m512 vi = _mm512_set1_ps(inverse[k]), vs = _mm512_set1_ps(step[k]);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(r0, vi)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(r1, vi));
        r0 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(q0), vs, r0);   // the residual for the next digit
        r1 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(q1), vs, r1);
        _mm_storeu_si128((__m128i *)(q + 32 * k), _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(q + 32 * k + 16), _mm512_cvtsepi32_epi8(q1));
        sums[k] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
    d[0] = nan || !(amax <= 3.4e38f) ? NAN : d1;   // a NaN or infinite x gives NaN, as the float product would
    d[1] = d2;
    d[2] = d3;
}

/// The block's float sum from the three digits' integer sums (offsets removed): d1·S1 + d2·S2 + d3·S3.
static inline __attribute__((always_inline)) TARGET_512 __m512 digit_sum_512(__m512i s1, __m512i s2, __m512i s3, const float *d) {
    __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(s3), _mm512_set1_ps(d[2]));
    t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s2), _mm512_set1_ps(d[1]), t);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_set1_ps(d[0]), t);
}

/// One q4 block of one panel with the three digits (w4: the block's 3 × 8 activation words).
static inline __attribute__((always_inline)) TARGET_512 void block_q4_exact_512(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4, const int32_t *off,
                                                                               const float *d, __m512 *y0, __m512 *y1) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    __m512i l[3], h[3];
    for (int k = 0; k < 3; k++) l[k] = h[k] = _mm512_setzero_si512();
    for (int c = 0; c < 8; c++) {
        if ((c & 1) == 0) {
            prefetch_line(ahead, far, 64 * c);
            prefetch_line(ahead, far, 64 * c + 64);
        }
        const __m512i w = _mm512_loadu_si512(blk + 64 * c);
        const __m512i lo = _mm512_and_si512(w, nibble), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), nibble);
        for (int k = 0; k < 3; k++) {
            const __m512i xv = _mm512_set1_epi32((int)w4[8 * k + c]);
            l[k] = _mm512_dpbusd_epi32(l[k], lo, xv);
            h[k] = _mm512_dpbusd_epi32(h[k], hi, xv);
        }
    }
    prefetch_line(ahead, far, 512);
    __m512 slo, shi;
    block_scales_512(blk + 512, 1.0f, &slo, &shi);
    const __m512 lo = digit_sum_512(_mm512_sub_epi32(l[0], _mm512_set1_epi32(off[0])), _mm512_sub_epi32(l[1], _mm512_set1_epi32(off[1])),
                                    _mm512_sub_epi32(l[2], _mm512_set1_epi32(off[2])), d);
    const __m512 hi = digit_sum_512(_mm512_sub_epi32(h[0], _mm512_set1_epi32(off[0])), _mm512_sub_epi32(h[1], _mm512_set1_epi32(off[1])),
                                    _mm512_sub_epi32(h[2], _mm512_set1_epi32(off[2])), d);
    *y0 = _mm512_fmadd_ps(lo, slo, *y0);
    *y1 = _mm512_fmadd_ps(hi, shi, *y1);
}

/// One q8 block of one panel with the three digits (w4: the block's 3 × 8 activation words).
static inline __attribute__((always_inline)) TARGET_512 void block_q8_exact_512(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4,
                                                                               const int32_t *off, const float *d, __m512 *y0, __m512 *y1) {
    __m512i l[3], h[3];
    for (int k = 0; k < 3; k++) l[k] = h[k] = _mm512_setzero_si512();
    for (int c = 0; c < 8; c++) {
        prefetch_line(ahead, far, 128 * c);
        prefetch_line(ahead, far, 128 * c + 64);
        const __m512i lo = _mm512_loadu_si512(blk + 128 * c), hi = _mm512_loadu_si512(blk + 128 * c + 64);
        for (int k = 0; k < 3; k++) {
            const __m512i xv = _mm512_set1_epi32((int)w4[8 * k + c]);
            l[k] = _mm512_dpbusd_epi32(l[k], lo, xv);
            h[k] = _mm512_dpbusd_epi32(h[k], hi, xv);
        }
    }
    prefetch_line(ahead, far, 1024);
    __m512 slo, shi;
    block_scales_512(blk + 1024, 1.0f, &slo, &shi);
    const __m512 lo = digit_sum_512(_mm512_sub_epi32(l[0], _mm512_set1_epi32(off[0])), _mm512_sub_epi32(l[1], _mm512_set1_epi32(off[1])),
                                    _mm512_sub_epi32(l[2], _mm512_set1_epi32(off[2])), d);
    const __m512 hi = digit_sum_512(_mm512_sub_epi32(h[0], _mm512_set1_epi32(off[0])), _mm512_sub_epi32(h[1], _mm512_set1_epi32(off[1])),
                                    _mm512_sub_epi32(h[2], _mm512_set1_epi32(off[2])), d);
    *y0 = _mm512_fmadd_ps(lo, slo, *y0);
    *y1 = _mm512_fmadd_ps(hi, shi, *y1);
}

// The exact kernels take x's digits for the whole row at once (into the caller's `scratch`,
// int8_matvec_exact_scratch_bytes) and walk each panel pair through all its blocks: one pass over
// each panel stream and over y. (They walked x in chunks of 32 blocks, 1 024 columns, to keep the
// digits on the stack; with the xLSTM-7B shape's 4 096- and 10 944-column rows that made 4-11
// pieces per panel, y read and written once per piece. Paired in one process, tokens alternating
// between the two, xLSTM-7B shape, 2 threads: avx512 q4 +2-7%, q8 +5-11%; avx2 q4 +8%, q8 +8-16%
// tokens/s. The `fast` kernels keep their 64-block chunks: their int8 GEMM reproduces their bits,
// chunks included, and a whole-row walk keeping the chunks' sums measured flat.)

intptr_t int8_matvec_exact_scratch_bytes(intptr_t cols) {
    // Per block, the largest of the four kernels' (AVX2 q8's): the digit pair words 2 × 48 × 4 bytes,
    // three scales and three digit sums; 64 bytes of slack for the alignment of the word arrays.
    return cols / 32 * (2 * 48 * 4 + 3 * 4 + 3 * 4) + 64;
}

TARGET_512 void int8_matvec_q4_exact_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y,
                                             void *scratch) {
    enum { MR = 32, BLOCK = 18 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t *const xq = scratch;                       // per block: digit 1, 2, 3 (32 bytes each)
    float *const dx = (float *)(xq + 96 * blocks);
    int32_t *const sx = (int32_t *)(dx + 3 * blocks);
    {
        const intptr_t b0 = 0, nb = blocks;   // one chunk: the whole row
        for (intptr_t b = 0; b < nb; b++) {
            digits_block_512(x + 32 * (b0 + b), xq + 96 * b, dx + 3 * b, sx + 3 * b);
            for (int k = 0; k < 3; k++) sx[3 * b + k] *= 8;
        }
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q4_exact_512(pointer, ahead, far, xw + 24 * b, sx + 3 * b, dx + 3 * b, y0, y1)
        WALK_PANELS(__m512, _mm512_setzero_ps(), store_panel_512, BLOCK_AT, FAR_EXACT_512);
#undef BLOCK_AT
    }
}

TARGET_512 void int8_matvec_q8_exact_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y,
                                             void *scratch) {
    enum { MR = 32, BLOCK = 34 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t *const xq = scratch;                       // per block: digit 1, 2, 3 (32 bytes each), as q4's
    float *const dx = (float *)(xq + 96 * blocks);
    int32_t *const sx = (int32_t *)(dx + 3 * blocks);
    {
        const intptr_t b0 = 0, nb = blocks;   // one chunk: the whole row
        for (intptr_t b = 0; b < nb; b++) {
            digits_block_512(x + 32 * (b0 + b), xq + 96 * b, dx + 3 * b, sx + 3 * b);
            for (int k = 0; k < 3; k++) sx[3 * b + k] *= 128;
        }
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q8_exact_512(pointer, ahead, far, xw + 24 * b, sx + 3 * b, dx + 3 * b, y0, y1)
        WALK_PANELS(__m512, _mm512_setzero_ps(), store_panel_512, BLOCK_AT, FAR_EXACT_512);
#undef BLOCK_AT
    }
}

// ---- AVX2 -----------------------------------------------------------------------------------




/// The 16 scales of a block (8 words: low halves rows 0–7, high halves rows 8–15) times d.
static inline __attribute__((always_inline)) TARGET_256 void block_scales_256(const uint8_t *p, float d, __m256 *lo, __m256 *hi) {
    const __m128i w0 = _mm_loadu_si128((const __m128i *)p), w1 = _mm_loadu_si128((const __m128i *)(p + 16));
    const __m128i low = _mm_set1_epi32(0xFFFF);
    const __m128i l = _mm_packus_epi32(_mm_and_si128(w0, low), _mm_and_si128(w1, low));
    const __m128i h = _mm_packus_epi32(_mm_srli_epi32(w0, 16), _mm_srli_epi32(w1, 16));
    const __m256 vd = _mm256_set1_ps(d);
    *lo = _mm256_mul_ps(_mm256_cvtph_ps(l), vd);
    *hi = _mm256_mul_ps(_mm256_cvtph_ps(h), vd);
}

static inline __attribute__((always_inline)) TARGET_256 void store_panel_256(float *y, intptr_t valid, int accumulate, __m256 a, __m256 b) {
    if (valid >= 16) {
        if (accumulate) {
            a = _mm256_add_ps(a, _mm256_loadu_ps(y));
            b = _mm256_add_ps(b, _mm256_loadu_ps(y + 8));
        }
        _mm256_storeu_ps(y, a);
        _mm256_storeu_ps(y + 8, b);
        return;
    }
    float t[16];
    _mm256_storeu_ps(t, a);
    _mm256_storeu_ps(t + 8, b);
    for (intptr_t i = 0; i < valid; i++) y[i] = accumulate ? y[i] + t[i] : t[i];
}

/// One q4 block of one 16-row panel: y0 (rows 0–7), y1 (rows 8–15) += its products with xq.
static inline __attribute__((always_inline)) TARGET_256 void block_q4_256(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4, int32_t off,
                                                                         float d, __m256 *y0, __m256 *y1) {
    const __m256i nibble = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256i l = _mm256_setzero_si256(), h = l;
    for (int k = 0; k < 8; k++) {
        if ((k & 1) == 0) prefetch_line(ahead, far, 32 * k);
        const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 32 * k));
        const __m256i xv = _mm256_set1_epi32((int)w4[k]);
        l = _mm256_add_epi16(l, _mm256_maddubs_epi16(_mm256_and_si256(w, nibble), xv));
        h = _mm256_add_epi16(h, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), nibble), xv));
    }
    prefetch_line(ahead, far, 256);
    const __m256i o = _mm256_set1_epi32(off);
    __m256 slo, shi;
    block_scales_256(blk + 256, d, &slo, &shi);
    *y0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_madd_epi16(l, ones), o)), slo, *y0);
    *y1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_madd_epi16(h, ones), o)), shi, *y1);
}

/// One q8 block of one 16-row panel, as block_q4_256.
static inline __attribute__((always_inline)) TARGET_256 void block_q8_256(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *wa,
                                                                         const uint32_t *wb, int32_t off, float d,
                                                                         __m256 *y0, __m256 *y1) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i l0 = _mm256_setzero_si256(), l1 = l0, h0 = l0, h1 = l0;
    for (int k = 0; k < 16; k += 2) {
        prefetch_line(ahead, far, 32 * k);
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(blk + 32 * k));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(blk + 32 * k + 32));
        l0 = _mm256_add_epi32(l0, _mm256_madd_epi16(_mm256_maddubs_epi16(w0, _mm256_set1_epi32((int)wa[k])), ones));
        h0 = _mm256_add_epi32(h0, _mm256_madd_epi16(_mm256_maddubs_epi16(w0, _mm256_set1_epi32((int)wb[k])), ones));
        l1 = _mm256_add_epi32(l1, _mm256_madd_epi16(_mm256_maddubs_epi16(w1, _mm256_set1_epi32((int)wa[k + 1])), ones));
        h1 = _mm256_add_epi32(h1, _mm256_madd_epi16(_mm256_maddubs_epi16(w1, _mm256_set1_epi32((int)wb[k + 1])), ones));
    }
    prefetch_line(ahead, far, 512);
    const __m256i o = _mm256_set1_epi32(off);
    __m256 slo, shi;
    block_scales_256(blk + 512, d, &slo, &shi);
    *y0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_add_epi32(l0, l1), o)), slo, *y0);
    *y1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_add_epi32(h0, h1), o)), shi, *y1);
}

TARGET_256 void int8_matvec_q4_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y) {
    enum { MR = 16, BLOCK = 18 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t xq[CHUNK_BLOCKS * 32] __attribute__((aligned(32)));
    float dx[CHUNK_BLOCKS];
    int32_t sx[CHUNK_BLOCKS];
    for (intptr_t b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
        const intptr_t nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
        for (intptr_t b = 0; b < nb; b++) sx[b] = 8 * quantize_block_256(x + 32 * (b0 + b), xq + 32 * b, &dx[b]);
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q4_256(pointer, ahead, far, xw + 8 * b, sx[b], dx[b], y0, y1)
        WALK_PANELS(__m256, _mm256_setzero_ps(), store_panel_256, BLOCK_AT, FAR_FAST_256);
#undef BLOCK_AT
    }
}

TARGET_256 void int8_matvec_q8_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y) {
    enum { MR = 16, BLOCK = 34 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t xq[32] __attribute__((aligned(32)));
    uint32_t xa[CHUNK_BLOCKS * 16] __attribute__((aligned(32))), xb[CHUNK_BLOCKS * 16] __attribute__((aligned(32)));
    float dx[CHUNK_BLOCKS];
    int32_t sx[CHUNK_BLOCKS];
    for (intptr_t b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
        const intptr_t nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
        for (intptr_t b = 0; b < nb; b++) {
            sx[b] = 128 * quantize_block_256(x + 32 * (b0 + b), xq, &dx[b]);
            for (int half = 0; half < 2; half++) {
                const __m256i words = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(xq + 16 * half)));
                _mm256_store_si256((__m256i *)(xa + 16 * b + 8 * half), words);
                _mm256_store_si256((__m256i *)(xb + 16 * b + 8 * half), _mm256_slli_epi16(words, 8));
            }
        }
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q8_256(pointer, ahead, far, xa + 16 * b, xb + 16 * b, sx[b], dx[b], y0, y1)
        WALK_PANELS(__m256, _mm256_setzero_ps(), store_panel_256, BLOCK_AT, FAR_FAST_256);
#undef BLOCK_AT
    }
}

// ---- AVX2, exact: x as three int8 digits (as the AVX-512 VNNI ones above) ---------------------
//
// `vpmaddubsw` pairs stay below int16 saturation digit by digit: q4's eight chunks sum to at most
// 30 480 per pair (|q| ≤ 127, codes ≤ 15), q8's pairs hold one zero term each.

/// As digits_block_512.
static inline __attribute__((always_inline)) TARGET_256 void digits_block_256(const float *x, int8_t *q, float *d, int32_t *sums) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 r[4];
    __m256 amax = _mm256_setzero_ps(), unord = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_loadu_ps(x + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, r[i]));
        unord = _mm256_or_ps(unord, _mm256_cmp_ps(r[i], r[i], _CMP_UNORD_Q));
    }
    const float m = hmax_256(amax);
    const float d1 = m / 127.0f, d2 = d1 / 252.0f, d3 = d2 / 252.0f;
    const float inverse[3] = {m > 0.0f ? 127.0f / m : 0.0f, d2 > 0.0f ? 1.0f / d2 : 0.0f, d3 > 0.0f ? 1.0f / d3 : 0.0f};
    const float step[3] = {d1, d2, d3};
    for (int k = 0; k < 3; k++) {
        const __m256 vi = _mm256_set1_ps(inverse[k]), vs = _mm256_set1_ps(step[k]);
        __m256i qi[4];
        for (int i = 0; i < 4; i++) {
            qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(r[i], vi));
            r[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(qi[i]), vs, r[i]);
        }
        const __m256i p01 = _mm256_packs_epi32(qi[0], qi[1]), p23 = _mm256_packs_epi32(qi[2], qi[3]);
        _mm256_storeu_si256((__m256i *)(q + 32 * k),
                            _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        sums[k] = hsum_256i(_mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3])));
    }
    d[0] = _mm256_movemask_ps(unord) || !(m <= 3.4e38f) ? NAN : d1;
    d[1] = d2;
    d[2] = d3;
}

static inline __attribute__((always_inline)) TARGET_256 __m256 digit_sum_256(__m256i s1, __m256i s2, __m256i s3, const float *d) {
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(s3), _mm256_set1_ps(d[2]));
    t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2), _mm256_set1_ps(d[1]), t);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), _mm256_set1_ps(d[0]), t);
}

static inline __attribute__((always_inline)) TARGET_256 void block_q4_exact_256(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *w4, const int32_t *off,
                                                                               const float *d, __m256 *y0, __m256 *y1) {
    const __m256i nibble = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256i l[3], h[3];
    for (int k = 0; k < 3; k++) l[k] = h[k] = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        if ((c & 1) == 0) prefetch_line(ahead, far, 32 * c);
        const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 32 * c));
        const __m256i lo = _mm256_and_si256(w, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble);
        for (int k = 0; k < 3; k++) {
            const __m256i xv = _mm256_set1_epi32((int)w4[8 * k + c]);
            l[k] = _mm256_add_epi16(l[k], _mm256_maddubs_epi16(lo, xv));
            h[k] = _mm256_add_epi16(h[k], _mm256_maddubs_epi16(hi, xv));
        }
    }
    prefetch_line(ahead, far, 256);
    __m256i sl[3], sh[3];
    for (int k = 0; k < 3; k++) {
        sl[k] = _mm256_sub_epi32(_mm256_madd_epi16(l[k], ones), _mm256_set1_epi32(off[k]));
        sh[k] = _mm256_sub_epi32(_mm256_madd_epi16(h[k], ones), _mm256_set1_epi32(off[k]));
    }
    __m256 slo, shi;
    block_scales_256(blk + 256, 1.0f, &slo, &shi);
    *y0 = _mm256_fmadd_ps(digit_sum_256(sl[0], sl[1], sl[2], d), slo, *y0);
    *y1 = _mm256_fmadd_ps(digit_sum_256(sh[0], sh[1], sh[2], d), shi, *y1);
}

static inline __attribute__((always_inline)) TARGET_256 void block_q8_exact_256(const uint8_t *blk, const uint8_t *ahead, const uint8_t *far, const uint32_t *wa, const uint32_t *wb,
                                                                               const int32_t *off, const float *d, __m256 *y0, __m256 *y1) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i l[3], h[3];
    for (int k = 0; k < 3; k++) l[k] = h[k] = _mm256_setzero_si256();
    for (int c = 0; c < 16; c++) {
        if ((c & 1) == 0) prefetch_line(ahead, far, 32 * c);
        const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 32 * c));
        for (int k = 0; k < 3; k++) {
            l[k] = _mm256_add_epi32(l[k], _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_set1_epi32((int)wa[16 * k + c])), ones));
            h[k] = _mm256_add_epi32(h[k], _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_set1_epi32((int)wb[16 * k + c])), ones));
        }
    }
    prefetch_line(ahead, far, 512);
    __m256i sl[3], sh[3];
    for (int k = 0; k < 3; k++) {
        sl[k] = _mm256_sub_epi32(l[k], _mm256_set1_epi32(off[k]));
        sh[k] = _mm256_sub_epi32(h[k], _mm256_set1_epi32(off[k]));
    }
    __m256 slo, shi;
    block_scales_256(blk + 512, 1.0f, &slo, &shi);
    *y0 = _mm256_fmadd_ps(digit_sum_256(sl[0], sl[1], sl[2], d), slo, *y0);
    *y1 = _mm256_fmadd_ps(digit_sum_256(sh[0], sh[1], sh[2], d), shi, *y1);
}

TARGET_256 void int8_matvec_q4_exact_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y,
                                          void *scratch) {
    enum { MR = 16, BLOCK = 18 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t *const xq = scratch;
    float *const dx = (float *)(xq + 96 * blocks);
    int32_t *const sx = (int32_t *)(dx + 3 * blocks);
    {
        const intptr_t b0 = 0, nb = blocks;   // one chunk: the whole row
        for (intptr_t b = 0; b < nb; b++) {
            digits_block_256(x + 32 * (b0 + b), xq + 96 * b, dx + 3 * b, sx + 3 * b);
            for (int k = 0; k < 3; k++) sx[3 * b + k] *= 8;
        }
        const uint32_t *xw = (const uint32_t *)xq;
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q4_exact_256(pointer, ahead, far, xw + 24 * b, sx + 3 * b, dx + 3 * b, y0, y1)
        WALK_PANELS(__m256, _mm256_setzero_ps(), store_panel_256, BLOCK_AT, FAR_EXACT_256);
#undef BLOCK_AT
    }
}

TARGET_256 void int8_matvec_q8_exact_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const float *x, float *y,
                                          void *scratch) {
    enum { MR = 16, BLOCK = 34 * MR };
    const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;
    int8_t xq[96] __attribute__((aligned(32)));
    uint32_t *const xa = scratch, *const xb = xa + 48 * blocks;
    float *const dx = (float *)(xb + 48 * blocks);
    int32_t *const sx = (int32_t *)(dx + 3 * blocks);
    {
        const intptr_t b0 = 0, nb = blocks;   // one chunk: the whole row
        for (intptr_t b = 0; b < nb; b++) {
            digits_block_256(x + 32 * (b0 + b), xq, dx + 3 * b, sx + 3 * b);
            for (int k = 0; k < 3; k++) {
                sx[3 * b + k] *= 128;
                for (int half = 0; half < 2; half++) {
                    const __m256i words = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(xq + 32 * k + 16 * half)));
                    _mm256_store_si256((__m256i *)(xa + 48 * b + 16 * k + 8 * half), words);
                    _mm256_store_si256((__m256i *)(xb + 48 * b + 16 * k + 8 * half), _mm256_slli_epi16(words, 8));
                }
            }
        }
#define BLOCK_AT(pointer, ahead, far, y0, y1) block_q8_exact_256(pointer, ahead, far, xa + 48 * b, xb + 48 * b, sx + 3 * b, dx + 3 * b, y0, y1)
        WALK_PANELS(__m256, _mm256_setzero_ps(), store_panel_256, BLOCK_AT, FAR_EXACT_256);
#undef BLOCK_AT
    }
}

#else
// No x86-64: the engine never selects these (KernelSet offers `fast` kernels only on x86-64).
intptr_t int8_matvec_exact_scratch_bytes(intptr_t cols) { return cols / 32 * 408 + 64; }
void int8_matvec_q8_exact_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y, void *s) { (void)a; (void)r; (void)c; (void)x; (void)y; (void)s; }
void int8_matvec_q4_exact_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y, void *s) { (void)a; (void)r; (void)c; (void)x; (void)y; (void)s; }
void int8_matvec_q8_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y) { (void)a; (void)r; (void)c; (void)x; (void)y; }
void int8_matvec_q4_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y) { (void)a; (void)r; (void)c; (void)x; (void)y; }
void int8_matvec_q8_avx2(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y) { (void)a; (void)r; (void)c; (void)x; (void)y; }
void int8_matvec_q4_avx2(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y) { (void)a; (void)r; (void)c; (void)x; (void)y; }
void int8_matvec_q8_exact_avx2(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y, void *s) { (void)a; (void)r; (void)c; (void)x; (void)y; (void)s; }
void int8_matvec_q4_exact_avx2(const uint8_t *a, intptr_t r, intptr_t c, const float *x, float *y, void *s) { (void)a; (void)r; (void)c; (void)x; (void)y; (void)s; }
#endif

// The `fast` precision's bf16 matvec and GEMM (see xlstm_bf16.h for what they compute).
//
// The panels hold, per column k, 32 bf16 weights as 16 words (row j | row j + 16 << 16). A
// `vdpbf16ps` operand wants the column pair (2p, 2p + 1) of one row in each word instead, so two
// panel rows, k = 2p and 2p + 1 (128 contiguous bytes), become two operands by one `vpermt2w`
// each: rows 0–15 and rows 16–31. The activations are rounded once per call (`vcvtne2ps2bf16`:
// consecutive x, so word p is the pair 2p, 2p + 1 by construction) and each word is broadcast from
// memory into the instruction (`{1to16}`: a load-port µop, no shuffle).
//
// Matvec: a matrix streamed from memory (≥ 1 MiB) one panel at a time — a single weight stream,
// prefetched 4 KiB ahead into L1, two chains of `vdpbf16ps` (AMD Zen 5, 2 cores, 251 MB of panels,
// one interleaved run: 35 GB/s, 109–113% of the 8-stream read loop's 31–32; two panels at a time
// with the float kernels' extra 16 KiB L2 prefetch 70–84%, four 70–76%, two without it 91–99%,
// one with it 93–102%); a smaller one, from cache, two panels at a time (four chains: 105–120 GB/s
// from L2 where one panel's two latency-bound chains give 75). The permutes are paid per weight
// read; the memory stream hides them.
// GEMM: per panel and chunk of 512 columns, the permuted operands are written once into the
// thread's scratch (32 KiB, in L1) and every register tile of NR tokens runs from there — 2·NR
// accumulators, each weight vector loaded once per tile and reused by its NR tokens; the first
// tile of a chunk prefetches the next chunk's weights into L2 (a line per 64 bytes).
// Each (row, token) of a chunk is the same chain in both: from zero, pairs in order.

#include "xlstm_bf16.h"

// Pairs per token row in the GEMM's activation buffer: cols / 2 rounded up to blocks of 16.
static inline intptr_t padded_pairs(intptr_t cols) { return (cols / 2 + 15) / 16 * 16; }

intptr_t bf16_gemm_activation_bytes(intptr_t n, intptr_t cols) { return n * padded_pairs(cols) * 4; }

intptr_t bf16_gemm_panel_scratch_bytes(void) { return BF16_CHUNK_COLS / 2 * 128; }

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "panel_store.h"

#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

enum {
    CHUNK_PAIRS = BF16_CHUNK_COLS / 2,
    PAIR_BYTES = 128,              // one column pair of a 32-row panel: two operands of 64 bytes
    PANEL_ROWS = 32,
    BF16_GEMM_NR = 10,             // tokens per register tile: 20 of the 32 zmm are accumulators
};

static inline __attribute__((always_inline)) uint32_t load_word(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// `vpermt2w` indices: from the words of panel rows k (a) and k + 1 (b), rows 0–15 (lo) and
/// 16–31 (hi) as column pairs. Word j of a holds row j in its low half (16-bit index 2j) and row
/// j + 16 in its high half (2j + 1); b's halves are indices 32 + 2j and 33 + 2j.
static inline __attribute__((always_inline)) TARGET_BF16 void pair_indices(__m512i *lo, __m512i *hi) {
    uint16_t l[32], h[32];
    for (int j = 0; j < 16; j++) {
        l[2 * j] = (uint16_t)(2 * j), l[2 * j + 1] = (uint16_t)(32 + 2 * j);
        h[2 * j] = (uint16_t)(2 * j + 1), h[2 * j + 1] = (uint16_t)(33 + 2 * j);
    }
    *lo = _mm512_loadu_si512(l);
    *hi = _mm512_loadu_si512(h);
}

/// 32 consecutive floats → 16 pair words; `mask` selects the valid ones (zeros elsewhere).
static inline __attribute__((always_inline)) TARGET_BF16 __m512i round_pairs(const float *x, __mmask32 mask) {
    const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)mask, x), hi = _mm512_maskz_loadu_ps((__mmask16)(mask >> 16), x + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

TARGET_BF16 void bf16_pack_pairs_avx512bf16(const float *x, intptr_t cols, uint32_t *out) {
    intptr_t c = 0;
    for (; c + 32 <= cols; c += 32) _mm512_storeu_si512(out + c / 2, round_pairs(x + c, 0xFFFFFFFFu));
    if (c < cols) {
        // cols is even: (cols − c) / 2 whole pairs are left
        const __mmask32 mask = (__mmask32)((1ull << (cols - c)) - 1);
        _mm512_mask_storeu_epi32(out + c / 2, (__mmask16)((1u << ((cols - c) / 2)) - 1), round_pairs(x + c, mask));
    }
}

// ---- Matvec ------------------------------------------------------------------------------------

/// G panels (1 ≤ G ≤ 2, a constant after inlining) starting at `a`, all columns → y.
static inline __attribute__((always_inline)) TARGET_BF16 void matvec_group(const int G, const uint8_t *a, intptr_t rows,
                                                                          intptr_t cols, const uint32_t *xp, float *y) {
    __m512i ilo, ihi;
    pair_indices(&ilo, &ihi);
    const intptr_t panelBytes = cols * 2 * PANEL_ROWS, pairs = cols / 2;
    __m512 lo[2], hi[2];
    for (intptr_t p0 = 0; p0 < pairs; p0 += CHUNK_PAIRS) {
        const intptr_t p1 = pairs - p0 < CHUNK_PAIRS ? pairs : p0 + CHUNK_PAIRS;
        for (int g = 0; g < G; g++) lo[g] = hi[g] = _mm512_setzero_ps();
        for (intptr_t p = p0; p < p1; p++) {
            const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xp[p]);
            for (int g = 0; g < G; g++) {
                const uint8_t *w = a + g * panelBytes + p * PAIR_BYTES;
                _mm_prefetch((const char *)w + 4096, _MM_HINT_T0);
                _mm_prefetch((const char *)w + 4160, _MM_HINT_T0);
                const __m512i k0 = _mm512_loadu_si512(w), k1 = _mm512_loadu_si512(w + 64);
                lo[g] = _mm512_dpbf16_ps(lo[g], (__m512bh)_mm512_permutex2var_epi16(k0, ilo, k1), xv);
                hi[g] = _mm512_dpbf16_ps(hi[g], (__m512bh)_mm512_permutex2var_epi16(k0, ihi, k1), xv);
            }
        }
        for (int g = 0; g < G; g++) store_panel_512(y + g * PANEL_ROWS, rows - g * PANEL_ROWS, p0 > 0, lo[g], hi[g]);
    }
}

TARGET_BF16 void bf16_matvec_avx512bf16(const uint16_t *panels, intptr_t rows, intptr_t cols, const uint32_t *xp, float *y) {
    const intptr_t count = (rows + PANEL_ROWS - 1) / PANEL_ROWS, panelBytes = cols * 2 * PANEL_ROWS;
    const uint8_t *a = (const uint8_t *)panels;
    intptr_t p = 0;
    if (rows * cols * 2 >= (1 << 20)) {   // Matrix.streamingBytes: from memory, one panel stream at a time
        for (; p < count; p++) matvec_group(1, a + p * panelBytes, rows - p * PANEL_ROWS, cols, xp, y + p * PANEL_ROWS);
        return;
    }
    for (; p + 2 <= count; p += 2) matvec_group(2, a + p * panelBytes, rows - p * PANEL_ROWS, cols, xp, y + p * PANEL_ROWS);
    if (p < count) matvec_group(1, a + p * panelBytes, rows - p * PANEL_ROWS, cols, xp, y + p * PANEL_ROWS);
}

// ---- GEMM --------------------------------------------------------------------------------------
//
// Activation buffer: tokens in groups of NR (the last T = n mod NR), a group of T tokens at
// t0 · P words (P = cols / 2 rounded up to 16), in blocks of 16 pairs: block b of token t is the
// 16 words at (b · T + t) · 16 — each token's pairs as the matvec's operand, 64 bytes at a time,
// so the pack is whole-vector stores and a tile's T words of one pair are constant offsets from
// one pointer. (Pair-major, word p · T + t, made the pack a scalar scatter: 11% of a [2048 × 768]
// × 512 product; token-major rows, T strided streams: a serial chain of address adds, −25%.)


TARGET_BF16 void bf16_gemm_pack_avx512bf16(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, void *out) {
    const intptr_t P = padded_pairs(cols), blocks = P / 16;
    for (intptr_t t0 = 0; t0 < n; t0 += BF16_GEMM_NR) {
        const intptr_t T = n - t0 < BF16_GEMM_NR ? n - t0 : BF16_GEMM_NR;
        uint32_t *group = (uint32_t *)out + t0 * P;
        for (intptr_t t = 0; t < T; t++) {
            const float *xr = x + (t0 + t) * xStride;
            for (intptr_t b = 0; b < blocks; b++) {
                const intptr_t left = cols - 32 * b;
                const __mmask32 mask = left >= 32 ? 0xFFFFFFFFu : (__mmask32)((1ull << left) - 1);
                _mm512_storeu_si512(group + (b * T + t) * 16, round_pairs(xr + 32 * b, mask));
            }
        }
    }
}

/// `pairs` column pairs of one panel (at `w`) → the operand form in `u`: per pair, rows 0–15 then 16–31.
static inline __attribute__((always_inline)) TARGET_BF16 void unpack_chunk(const uint8_t *w, intptr_t pairs, uint8_t *u) {
    __m512i ilo, ihi;
    pair_indices(&ilo, &ihi);
    for (intptr_t p = 0; p < pairs; p++, w += PAIR_BYTES, u += PAIR_BYTES) {
        const __m512i k0 = _mm512_loadu_si512(w), k1 = _mm512_loadu_si512(w + 64);
        _mm512_store_si512(u, _mm512_permutex2var_epi16(k0, ilo, k1));
        _mm512_store_si512(u + 64, _mm512_permutex2var_epi16(k0, ihi, k1));
    }
}

/// T tokens (1 ≤ T ≤ NR) × the panel's 32 rows over one chunk of `pairs` pairs: `g` is the group's
/// first block of the chunk (the layout above); y_t (+)= the chunk's chains. `next` (or NULL): the
/// weights to prefetch into L2, a line per 64 bytes of this chunk.
static inline __attribute__((always_inline)) TARGET_BF16 void tile(const int T, const uint8_t *u, intptr_t pairs,
                                                                  const uint32_t *g, float *y, intptr_t yStride,
                                                                  intptr_t valid, int add, const uint8_t *next) {
    __m512 lo[BF16_GEMM_NR], hi[BF16_GEMM_NR];
    for (int t = 0; t < T; t++) lo[t] = hi[t] = _mm512_setzero_ps();
    for (intptr_t p0 = 0; p0 < pairs; p0 += 16, g += 16 * T) {
        const intptr_t m = pairs - p0 < 16 ? pairs - p0 : 16;
        for (intptr_t i = 0; i < m; i++, u += PAIR_BYTES) {
            if (next) {
                _mm_prefetch((const char *)next + (p0 + i) * PAIR_BYTES, _MM_HINT_T1);
                _mm_prefetch((const char *)next + (p0 + i) * PAIR_BYTES + 64, _MM_HINT_T1);
            }
            const __m512bh wl = (__m512bh)_mm512_load_si512(u), wh = (__m512bh)_mm512_load_si512(u + 64);
            for (int t = 0; t < T; t++) {
                const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)load_word(g + 16 * t + i));
                lo[t] = _mm512_dpbf16_ps(lo[t], wl, xv);
                hi[t] = _mm512_dpbf16_ps(hi[t], wh, xv);
            }
        }
    }
    for (int t = 0; t < T; t++) store_panel_512(y + t * yStride, valid, add, lo[t], hi[t]);
}

TARGET_BF16 void bf16_gemm_avx512bf16(const uint16_t *panels, intptr_t rows, intptr_t cols, const void *xp, intptr_t n,
                                      float *y, intptr_t yStride, void *scratch) {
    const intptr_t count = (rows + PANEL_ROWS - 1) / PANEL_ROWS, pairs = cols / 2, P = padded_pairs(cols);
    const uint8_t *a = (const uint8_t *)panels, *end = a + count * pairs * PAIR_BYTES;
    uint8_t *u = (uint8_t *)scratch;
    for (intptr_t panel = 0; panel < count; panel++) {
        const intptr_t valid = rows - panel * PANEL_ROWS;
        float *yp = y + panel * PANEL_ROWS;
        for (intptr_t p0 = 0; p0 < pairs; p0 += CHUNK_PAIRS) {
            const intptr_t np = pairs - p0 < CHUNK_PAIRS ? pairs - p0 : CHUNK_PAIRS;
            const uint8_t *w = a + (panel * pairs + p0) * PAIR_BYTES;
            unpack_chunk(w, np, u);
            const uint8_t *next = w + np * PAIR_BYTES < end ? w + np * PAIR_BYTES : NULL;
            const int add = p0 > 0;
            const uint32_t *words = (const uint32_t *)xp;
            intptr_t t0 = 0;
            for (; t0 + BF16_GEMM_NR <= n; t0 += BF16_GEMM_NR) {
                tile(BF16_GEMM_NR, u, np, words + t0 * P + p0 * BF16_GEMM_NR, yp + t0 * yStride, yStride, valid, add,
                     t0 == 0 ? next : NULL);
            }
            const intptr_t T = n - t0;
            const uint32_t *g = words + t0 * P + p0 * T;
            float *y0 = yp + t0 * yStride;
            const uint8_t *pf = t0 == 0 ? next : NULL;
            switch (T) {
            case 9: tile(9, u, np, g, y0, yStride, valid, add, pf); break;
            case 8: tile(8, u, np, g, y0, yStride, valid, add, pf); break;
            case 7: tile(7, u, np, g, y0, yStride, valid, add, pf); break;
            case 6: tile(6, u, np, g, y0, yStride, valid, add, pf); break;
            case 5: tile(5, u, np, g, y0, yStride, valid, add, pf); break;
            case 4: tile(4, u, np, g, y0, yStride, valid, add, pf); break;
            case 3: tile(3, u, np, g, y0, yStride, valid, add, pf); break;
            case 2: tile(2, u, np, g, y0, yStride, valid, add, pf); break;
            case 1: tile(1, u, np, g, y0, yStride, valid, add, pf); break;
            default: break;
            }
        }
    }
}

TARGET_BF16 float bf16_peak_avx512bf16(intptr_t iterations) {
    __m512 acc[20];
    for (int i = 0; i < 20; i++) acc[i] = _mm512_setzero_ps();
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3F803F80), b = (__m512bh)_mm512_set1_epi32(0x33803380);
    for (intptr_t i = 0; i < iterations; i++) {
#pragma clang loop unroll(full)
        for (int j = 0; j < 20; j++) {
            acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
            __asm__ volatile("" : "+v"(acc[j]));
        }
    }
    __m512 s = acc[0];
    for (int i = 1; i < 20; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

#endif

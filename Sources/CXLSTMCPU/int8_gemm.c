// The `fast` precision's int8 GEMM for prefill and batches (see xlstm_int8.h for what it computes).
//
// Activations: every token row of X is quantized once per call, per block of 32 exactly as the
// matvecs do (d = max|x| / 127, round-to-nearest-even; `quantize_block_*` are the matvecs' own,
// from int8_quantize.h), into a buffer the caller owns, in the order the register tiles read it: tokens
// in groups of NR (the last one T = n mod NR), per group and block 40·T bytes: the 8 activation
// words (4 codes) of each token, word c of token t at 4·(c·T + t); then the T scales d (f32);
// then the T values −offset · Σq (int32; offset 128 for q8, 8 for q4), the integer accumulators'
// starting value, so no subtraction is left in the inner loop. A tile's operands are all constant
// offsets of one pointer.
//
// Weights: each panel of 32 rows is first unpacked (all its K) into the thread's scratch, the
// same "dense" form for both formats, per block 1 152 bytes:
//   16 vectors of u8 codes: for c in 0..<8, rows 0–15 then rows 16–31, 32-bit word j holding that
//   row's columns 4c .. 4c+3 — the u8 operand of one `vpdpbusd` whose s8 operand is the token's
//   activation word c of the block, broadcast from memory (`vpbroadcastd zmm, m32`: a load-port
//   µop, no shuffle) and used by that token's two `vpdpbusd` (rows 0–15, 16–31);
//   then the 32 scales as f32 (rows 0–15, 16–31).
// q4's codes already are that form (`word & 0x0F0F0F0F`, `(word >> 4) & 0x0F0F0F0F`), and so are q8's
// on AVX-512 (QuantPanels.swift `rowWords`: copied as they are). The
// unpacking is paid once per panel and call; every group of NR tokens then reuses the panel from
// L1/L2 (a 768-column panel: 27 KiB), and each weight vector loaded is reused by NR tokens.
//
// Per token and block the integer sums start at −offset · Σq and take 8 `vpdpbusd` per 16 rows;
// then y += float(sum) · (scale · d), one multiply and one FMA per 16 rows, in block order, and
// blocks are summed in chunks of 64 (a chunk's partial from zero, added to y after the first) —
// the matvecs' exact operations, so a token's row of Y is bit-identical to the fast step's matvec
// of that token, whatever the tile, the token count or the thread split.

#include "xlstm_int8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "int8_quantize.h"

enum {
    GEMM_CHUNK_BLOCKS = 64,        // as int8_matvec.c's CHUNK_BLOCKS: the same partial sums
    UNPACKED_BLOCK_512 = 1152,     // 1 024 bytes of dense codes + 32 f32 scales
};
#ifndef GEMM_NR
#define GEMM_NR 6   // tokens per register tile (4·NR accumulators of 32 zmm); measured [2048 x 768] x 512 GEMM,
                    // GFLOP/s q4 / q8, 1 thread: NR 4 455 / 458, 5 469 / 471, 6 492–504 / 480–494
#endif

static inline __attribute__((always_inline)) int32_t load32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

intptr_t int8_gemm_activation_bytes(intptr_t n, intptr_t cols) { return n * (cols / 32) * 40; }

// Both ISAs' unpacked panels fit (AVX2's blocks are 1 088 / 576 bytes).
intptr_t int8_gemm_panel_scratch_bytes(intptr_t cols) { return (cols / 32) * UNPACKED_BLOCK_512; }

// X's rows → the activation buffer (the layout above) for tiles of NR tokens, each block through
// QUANTIZE (the matvec's quantize_block_*).
#define QUANTIZE_ROWS(NR, QUANTIZE)                                                                     \
    do {                                                                                                \
        const intptr_t blocks = cols / 32;                                                              \
        int8_t q[32] __attribute__((aligned(32)));                                                      \
        for (intptr_t t0 = 0; t0 < n; t0 += NR) {                                                       \
            const intptr_t T = n - t0 < NR ? n - t0 : NR;                                               \
            uint8_t *group = (uint8_t *)out + t0 * blocks * 40;                                         \
            for (intptr_t b = 0; b < blocks; b++) {                                                     \
                uint8_t *p = group + b * 40 * T;                                                        \
                for (intptr_t t = 0; t < T; t++) {                                                      \
                    float d;                                                                            \
                    const int32_t sum = QUANTIZE(x + (t0 + t) * xStride + 32 * b, q, &d);               \
                    /* wraps as the matvec's (only a NaN / ∞ row can make it overflow) */               \
                    const int32_t start = (int32_t)(0u - (uint32_t)offset * (uint32_t)sum);             \
                    for (int c = 0; c < 8; c++) memcpy(p + 4 * (c * T + t), q + 4 * c, 4);              \
                    memcpy(p + 32 * T + 4 * t, &d, 4);                                                  \
                    memcpy(p + 36 * T + 4 * t, &start, 4);                                              \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)

// ---- AVX-512 VNNI -----------------------------------------------------------------------------


TARGET_512 void int8_gemm_quantize_vnni512(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, int32_t offset,
                                           void *out) {
    QUANTIZE_ROWS(GEMM_NR, quantize_block_512);
}

/// A block's 16 binary16 scale words (low halves rows 0–15, high halves 16–31) → 32 f32 at out.
static inline __attribute__((always_inline)) TARGET_512 void unpack_scales_512(const uint8_t *p, uint8_t *out) {
    const __m512i words = _mm512_loadu_si512(p);
    _mm512_store_ps((float *)out, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words)));
    _mm512_store_ps((float *)(out + 64), _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16))));
}

/// `blocks` q4 blocks of one panel (576 bytes each) → the dense form.
static inline __attribute__((always_inline)) TARGET_512 void unpack_q4_512(const uint8_t *src, intptr_t blocks, uint8_t *dst) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    for (intptr_t b = 0; b < blocks; b++, src += 18 * 32, dst += UNPACKED_BLOCK_512) {
        for (int c = 0; c < 8; c++) {
            const __m512i w = _mm512_loadu_si512(src + 64 * c);
            _mm512_store_si512(dst + 128 * c, _mm512_and_si512(w, nibble));
            _mm512_store_si512(dst + 128 * c + 64, _mm512_and_si512(_mm512_srli_epi16(w, 4), nibble));
        }
        unpack_scales_512(src + 512, dst + 1024);
    }
}

/// `blocks` q8 blocks of one panel (1 088 bytes each) → the dense form: the codes are in it already.
static inline __attribute__((always_inline)) TARGET_512 void unpack_q8_512(const uint8_t *src, intptr_t blocks, uint8_t *dst) {
    for (intptr_t b = 0; b < blocks; b++, src += 34 * 32, dst += UNPACKED_BLOCK_512) {
        for (int v = 0; v < 16; v++) _mm512_store_si512(dst + 64 * v, _mm512_loadu_si512(src + 64 * v));
        unpack_scales_512(src + 1024, dst + 1024);
    }
}

/// T tokens (1 ≤ T ≤ GEMM_NR, a constant after inlining) × the panel's 32 rows over blocks
/// [b0, b0 + nb): y_t (+)= Σ_b float(Σ codes · xq) · (scale · d_t). `group` is the tokens' part of
/// the activation buffer; rows are masked by (ma, mb).
static inline __attribute__((always_inline)) TARGET_512 void tile_512(const int T, const uint8_t *u, intptr_t b0, intptr_t nb,
                                                                     const uint8_t *group, float *y, intptr_t yStride,
                                                                     __mmask16 ma, __mmask16 mb, const uint8_t *next,
                                                                     intptr_t nextBlockBytes) {
    __m512 f0[8], f1[8];
    for (int t = 0; t < T; t++) f0[t] = f1[t] = _mm512_setzero_ps();
    const uint8_t *ub = u + b0 * UNPACKED_BLOCK_512, *p = group + b0 * 40 * T;
    for (intptr_t b = 0; b < nb; b++, ub += UNPACKED_BLOCK_512, p += 40 * T) {
        __m512i l[8], h[8];
        for (int t = 0; t < T; t++) l[t] = h[t] = _mm512_set1_epi32(load32(p + 36 * T + 4 * t));
        if (next) {   // the next panel's block b into L2 while this one computes (batches stream W from memory)
            const uint8_t *q = next + (b0 + b) * nextBlockBytes;
            for (intptr_t k = 0; k < nextBlockBytes; k += 64) _mm_prefetch((const char *)q + k, _MM_HINT_T1);
        }
#pragma clang loop unroll(full)
        for (int c = 0; c < 8; c++) {
            const __m512i wl = _mm512_load_si512(ub + 128 * c), wh = _mm512_load_si512(ub + 128 * c + 64);
            for (int t = 0; t < T; t++) {
                const __m512i xv = _mm512_set1_epi32(load32(p + 4 * (c * T + t)));
                l[t] = _mm512_dpbusd_epi32(l[t], wl, xv);
                h[t] = _mm512_dpbusd_epi32(h[t], wh, xv);
            }
        }
        const __m512 slo = _mm512_load_ps((const float *)(ub + 1024)), shi = _mm512_load_ps((const float *)(ub + 1088));
        for (int t = 0; t < T; t++) {
            float dt;
            memcpy(&dt, p + 32 * T + 4 * t, 4);
            const __m512 vd = _mm512_set1_ps(dt);
            f0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(l[t]), _mm512_mul_ps(slo, vd), f0[t]);
            f1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h[t]), _mm512_mul_ps(shi, vd), f1[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        float *row = y + t * yStride;
        if (b0 > 0) {
            f0[t] = _mm512_add_ps(f0[t], _mm512_maskz_loadu_ps(ma, row));
            f1[t] = _mm512_add_ps(f1[t], _mm512_maskz_loadu_ps(mb, row + 16));
        }
        _mm512_mask_storeu_ps(row, ma, f0[t]);
        _mm512_mask_storeu_ps(row + 16, mb, f1[t]);
    }
}

// The loop nest both ISAs share: panel by panel (unpacked once into `scratch`; the first tile of
// each chunk prefetches the next panel), chunks of 64 blocks, then the tokens in groups of NR and
// the last n mod NR in a narrower tile (the same per-token operations). TILE(T) is the tile.
#define GEMM_DRIVER(MR, NR, UNPACK_Q8, UNPACK_Q4, TILE)                                                \
    do {                                                                                                \
        const intptr_t panels = (rows + MR - 1) / MR, blocks = cols / 32;                               \
        const intptr_t blockBytes = (q8 ? 34 : 18) * MR;                                                \
        uint8_t *u = (uint8_t *)scratch;                                                                \
        for (intptr_t p = 0; p < panels; p++) {                                                         \
            const uint8_t *panel = a + p * blocks * blockBytes;                                         \
            if (q8) UNPACK_Q8(panel, blocks, u); else UNPACK_Q4(panel, blocks, u);                      \
            const uint8_t *next = p + 1 < panels ? panel + blocks * blockBytes : NULL;                  \
            const intptr_t valid = rows - p * MR;                                                       \
            float *yp = y + p * MR;                                                                     \
            for (intptr_t b0 = 0; b0 < blocks; b0 += GEMM_CHUNK_BLOCKS) {                               \
                const intptr_t nb = blocks - b0 < GEMM_CHUNK_BLOCKS ? blocks - b0 : GEMM_CHUNK_BLOCKS;  \
                intptr_t t0 = 0;                                                                        \
                const uint8_t *g;                                                                       \
                float *y0;                                                                              \
                const uint8_t *pf;                                                                      \
                for (; t0 + NR <= n; t0 += NR) {                                                        \
                    g = (const uint8_t *)xq + t0 * blocks * 40, y0 = yp + t0 * yStride;                 \
                    pf = t0 == 0 ? next : NULL;                                                         \
                    TILE(NR);                                                                           \
                }                                                                                       \
                g = (const uint8_t *)xq + t0 * blocks * 40, y0 = yp + t0 * yStride;                     \
                pf = t0 == 0 ? next : NULL;                                                             \
                switch (n - t0) {                                                                       \
                case 0: break;                                                                          \
                case 5: TILE(5 < NR ? 5 : 1); break;                                                    \
                case 4: TILE(4 < NR ? 4 : 1); break;                                                    \
                case 3: TILE(3 < NR ? 3 : 1); break;                                                    \
                case 2: TILE(2 < NR ? 2 : 1); break;                                                    \
                default: TILE(1); break;                                                                \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)

#if GEMM_NR > 6
#error "GEMM_NR > 6: add the tails to GEMM_DRIVER"
#endif

static inline __attribute__((always_inline)) TARGET_512 void gemm_512(int q8, const uint8_t *a, intptr_t rows, intptr_t cols,
                                                                     const void *xq, intptr_t n, float *y, intptr_t yStride,
                                                                     void *scratch) {
    __mmask16 ma = 0, mb = 0;
#define TILE(T)                                                                                         \
    do {                                                                                                \
        ma = valid >= 16 ? 0xFFFF : (__mmask16)((1u << valid) - 1);                                     \
        mb = valid >= 32 ? 0xFFFF : valid <= 16 ? 0 : (__mmask16)((1u << (valid - 16)) - 1);           \
        tile_512(T, u, b0, nb, g, y0, yStride, ma, mb, pf, blockBytes);                                 \
    } while (0)
    GEMM_DRIVER(32, GEMM_NR, unpack_q8_512, unpack_q4_512, TILE);
#undef TILE
}

TARGET_512 void int8_gemm_q8_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                                     intptr_t yStride, void *scratch) {
    gemm_512(1, a, rows, cols, xq, n, y, yStride, scratch);
}

TARGET_512 void int8_gemm_q4_vnni512(const uint8_t *a, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                                     intptr_t yStride, void *scratch) {
    gemm_512(0, a, rows, cols, xq, n, y, yStride, scratch);
}

// ---- AVX2 -------------------------------------------------------------------------------------
//
// Panels of 16 rows (8 lanes). `vpmaddubsw` sums byte pairs into int16 with saturation, so the
// dense form keeps every u8 operand ≤ 15: q4's codes are nibbles already (pairs ≤ 2·15·128, eight
// chunks ≤ 30 720 < 32 767 add up in int16, as the matvec's), and q8's codes u are split into
// nibbles, u = 16·h + l, two `vpmaddubsw` per vector; `vpmaddwd` with ones (and sixteens for h)
// then widens a block's sums to int32 exactly. Unpacked block: q4 8 × (rows 0–7, rows 8–15) of
// 32 bytes + 16 f32 scales = 576 bytes; q8 8 × (rows 0–7 l, h, rows 8–15 l, h) + scales = 1 088.
// Tiles of 4 tokens (measured, 162 M, [2048 x 768] x 512 GEMM in GFLOP/s, q4 / q8: 2 tokens 137 / 87,
// 3: 170 / 97, 4: 172 / 99, 6: 185 / 55 — q8 spills). Bit-identical to
// int8_matvec_q*_avx2 as the AVX-512 GEMM is to its matvecs.

enum { GEMM_NR_256 = 4, UNPACKED_Q4_256 = 576, UNPACKED_Q8_256 = 1088 };

TARGET_256 void int8_gemm_quantize_avx2(const float *x, intptr_t xStride, intptr_t n, intptr_t cols, int32_t offset, void *out) {
    QUANTIZE_ROWS(GEMM_NR_256, quantize_block_256);
}

/// A block's 8 binary16 scale words (low halves rows 0–7, high halves 8–15) → 16 f32 at out.
static inline __attribute__((always_inline)) TARGET_256 void unpack_scales_256(const uint8_t *p, uint8_t *out) {
    const __m128i w0 = _mm_loadu_si128((const __m128i *)p), w1 = _mm_loadu_si128((const __m128i *)(p + 16));
    const __m128i low = _mm_set1_epi32(0xFFFF);
    const __m128i l = _mm_packus_epi32(_mm_and_si128(w0, low), _mm_and_si128(w1, low));
    const __m128i h = _mm_packus_epi32(_mm_srli_epi32(w0, 16), _mm_srli_epi32(w1, 16));
    _mm256_store_ps((float *)out, _mm256_cvtph_ps(l));
    _mm256_store_ps((float *)(out + 32), _mm256_cvtph_ps(h));
}

static inline __attribute__((always_inline)) TARGET_256 void unpack_q4_256(const uint8_t *src, intptr_t blocks, uint8_t *dst) {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    for (intptr_t b = 0; b < blocks; b++, src += 18 * 16, dst += UNPACKED_Q4_256) {
        for (int c = 0; c < 8; c++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(src + 32 * c));
            _mm256_store_si256((__m256i *)(dst + 64 * c), _mm256_and_si256(w, nibble));
            _mm256_store_si256((__m256i *)(dst + 64 * c + 32), _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble));
        }
        unpack_scales_256(src + 256, dst + 512);
    }
}

static inline __attribute__((always_inline)) TARGET_256 void unpack_q8_256(const uint8_t *src, intptr_t blocks, uint8_t *dst) {
    const __m256i order = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15));
    const __m256i low = _mm256_set1_epi32(0xFFFF), nibble = _mm256_set1_epi8(0x0F);
    for (intptr_t b = 0; b < blocks; b++, src += 34 * 16, dst += UNPACKED_Q8_256) {
        for (int c = 0; c < 8; c++) {
            const __m256i a = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(src + 64 * c)), order);
            const __m256i e = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(src + 64 * c + 32)), order);
            const __m256i r0 = _mm256_or_si256(_mm256_and_si256(a, low), _mm256_slli_epi32(e, 16));      // rows 0–7
            const __m256i r1 = _mm256_or_si256(_mm256_srli_epi32(a, 16), _mm256_andnot_si256(low, e));   // rows 8–15
            _mm256_store_si256((__m256i *)(dst + 128 * c), _mm256_and_si256(r0, nibble));
            _mm256_store_si256((__m256i *)(dst + 128 * c + 32), _mm256_and_si256(_mm256_srli_epi16(r0, 4), nibble));
            _mm256_store_si256((__m256i *)(dst + 128 * c + 64), _mm256_and_si256(r1, nibble));
            _mm256_store_si256((__m256i *)(dst + 128 * c + 96), _mm256_and_si256(_mm256_srli_epi16(r1, 4), nibble));
        }
        unpack_scales_256(src + 512, dst + 1024);
    }
}

/// As tile_512, 16 rows (`valid` of them stored), q8 or q4 (a constant after inlining).
static inline __attribute__((always_inline)) TARGET_256 void tile_256(const int T, const int q8, const uint8_t *u, intptr_t b0,
                                                                     intptr_t nb, const uint8_t *group, float *y,
                                                                     intptr_t yStride, intptr_t valid, const uint8_t *next,
                                                                     intptr_t nextBlockBytes) {
    const intptr_t ubytes = q8 ? UNPACKED_Q8_256 : UNPACKED_Q4_256, scales = q8 ? 1024 : 512;
    const __m256i ones = _mm256_set1_epi16(1), sixteens = _mm256_set1_epi16(16);
    __m256 f0[8], f1[8];
    for (int t = 0; t < T; t++) f0[t] = f1[t] = _mm256_setzero_ps();
    const uint8_t *ub = u + b0 * ubytes, *p = group + b0 * 40 * T;
    for (intptr_t b = 0; b < nb; b++, ub += ubytes, p += 40 * T) {
        if (next) {
            const uint8_t *q = next + (b0 + b) * nextBlockBytes;
            for (intptr_t k = 0; k < nextBlockBytes; k += 64) _mm_prefetch((const char *)q + k, _MM_HINT_T1);
        }
        __m256i l[8], h[8], lh[8], hh[8];   // int16 pair sums: rows 0–7, rows 8–15 (q8: low and high nibbles)
        for (int t = 0; t < T; t++) l[t] = h[t] = lh[t] = hh[t] = _mm256_setzero_si256();
#pragma clang loop unroll(full)
        for (int c = 0; c < 8; c++) {
            for (int t = 0; t < T; t++) {
                const __m256i xv = _mm256_set1_epi32(load32(p + 4 * (c * T + t)));
                if (q8) {
                    l[t] = _mm256_add_epi16(l[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 128 * c)), xv));
                    lh[t] = _mm256_add_epi16(lh[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 128 * c + 32)), xv));
                    h[t] = _mm256_add_epi16(h[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 128 * c + 64)), xv));
                    hh[t] = _mm256_add_epi16(hh[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 128 * c + 96)), xv));
                } else {
                    l[t] = _mm256_add_epi16(l[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 64 * c)), xv));
                    h[t] = _mm256_add_epi16(h[t], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(ub + 64 * c + 32)), xv));
                }
            }
        }
        const __m256 slo = _mm256_load_ps((const float *)(ub + scales)), shi = _mm256_load_ps((const float *)(ub + scales + 32));
        for (int t = 0; t < T; t++) {
            const __m256i start = _mm256_set1_epi32(load32(p + 36 * T + 4 * t));
            __m256i sl = _mm256_add_epi32(start, _mm256_madd_epi16(l[t], ones));
            __m256i sh = _mm256_add_epi32(start, _mm256_madd_epi16(h[t], ones));
            if (q8) {
                sl = _mm256_add_epi32(sl, _mm256_madd_epi16(lh[t], sixteens));
                sh = _mm256_add_epi32(sh, _mm256_madd_epi16(hh[t], sixteens));
            }
            float dt;
            memcpy(&dt, p + 32 * T + 4 * t, 4);
            const __m256 vd = _mm256_set1_ps(dt);
            f0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sl), _mm256_mul_ps(slo, vd), f0[t]);
            f1[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sh), _mm256_mul_ps(shi, vd), f1[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        float *row = y + t * yStride;
        if (valid >= 16) {
            if (b0 > 0) {
                f0[t] = _mm256_add_ps(f0[t], _mm256_loadu_ps(row));
                f1[t] = _mm256_add_ps(f1[t], _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, f0[t]);
            _mm256_storeu_ps(row + 8, f1[t]);
        } else {
            float r[16];
            _mm256_storeu_ps(r, f0[t]);
            _mm256_storeu_ps(r + 8, f1[t]);
            for (intptr_t i = 0; i < valid; i++) row[i] = b0 > 0 ? row[i] + r[i] : r[i];
        }
    }
}

static inline __attribute__((always_inline)) TARGET_256 void gemm_256(int q8, const uint8_t *a, intptr_t rows, intptr_t cols,
                                                                     const void *xq, intptr_t n, float *y, intptr_t yStride,
                                                                     void *scratch) {
#define TILE(T) tile_256(T, q8, u, b0, nb, g, y0, yStride, valid, pf, blockBytes)
    GEMM_DRIVER(16, GEMM_NR_256, unpack_q8_256, unpack_q4_256, TILE);
#undef TILE
}

TARGET_256 void int8_gemm_q8_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                                  intptr_t yStride, void *scratch) {
    gemm_256(1, a, rows, cols, xq, n, y, yStride, scratch);
}

TARGET_256 void int8_gemm_q4_avx2(const uint8_t *a, intptr_t rows, intptr_t cols, const void *xq, intptr_t n, float *y,
                                  intptr_t yStride, void *scratch) {
    gemm_256(0, a, rows, cols, xq, n, y, yStride, scratch);
}

// ---- The int8 peak (for the benchmark) ------------------------------------------------------

TARGET_512 int32_t int8_gemm_peak_vnni512(intptr_t iterations) {
    __m512i acc[12];
    for (int c = 0; c < 12; c++) acc[c] = _mm512_set1_epi32(c);
    const __m512i u = _mm512_set1_epi32(0x01010101), v = _mm512_set1_epi32((int)0xFF01FF01);
    for (intptr_t i = 0; i < iterations; i++) {
        for (int c = 0; c < 12; c++) acc[c] = _mm512_dpbusd_epi32(acc[c], u, v);
    }
    __m512i sum = acc[0];
    for (int c = 1; c < 12; c++) sum = _mm512_add_epi32(sum, acc[c]);
    return _mm512_reduce_add_epi32(sum);
}

#else
// No x86-64: the engine never selects these (KernelSet offers `fast` kernels only on x86-64).
intptr_t int8_gemm_activation_bytes(intptr_t n, intptr_t cols) { return n * (cols / 32) * 40; }
intptr_t int8_gemm_panel_scratch_bytes(intptr_t cols) { return (cols / 32) * 1152; }
void int8_gemm_quantize_vnni512(const float *x, intptr_t s, intptr_t n, intptr_t c, int32_t o, void *out) { (void)x; (void)s; (void)n; (void)c; (void)o; (void)out; }
void int8_gemm_q8_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const void *x, intptr_t n, float *y, intptr_t s, void *w) { (void)a; (void)r; (void)c; (void)x; (void)n; (void)y; (void)s; (void)w; }
void int8_gemm_q4_vnni512(const uint8_t *a, intptr_t r, intptr_t c, const void *x, intptr_t n, float *y, intptr_t s, void *w) { (void)a; (void)r; (void)c; (void)x; (void)n; (void)y; (void)s; (void)w; }
void int8_gemm_quantize_avx2(const float *x, intptr_t s, intptr_t n, intptr_t c, int32_t o, void *out) { (void)x; (void)s; (void)n; (void)c; (void)o; (void)out; }
void int8_gemm_q8_avx2(const uint8_t *a, intptr_t r, intptr_t c, const void *x, intptr_t n, float *y, intptr_t s, void *w) { (void)a; (void)r; (void)c; (void)x; (void)n; (void)y; (void)s; (void)w; }
void int8_gemm_q4_avx2(const uint8_t *a, intptr_t r, intptr_t c, const void *x, intptr_t n, float *y, intptr_t s, void *w) { (void)a; (void)r; (void)c; (void)x; (void)n; (void)y; (void)s; (void)w; }
int32_t int8_gemm_peak_vnni512(intptr_t iterations) { (void)iterations; return 0; }
#endif

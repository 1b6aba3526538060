// The int8 kernels' shared pieces (int8_matvec.c, int8_gemm.c): the per-ISA target attributes
// and the activation quantization x [32] -> int8 codes + scale. One definition for both, so a
// token's codes in the GEMM are by construction those of the step's matvec (a token's result
// in `fast` prefill and batches is bit-identical to its step). Private to the CXLSTMCPU target.
#ifndef XLSTM_INT8_QUANTIZE_H
#define XLSTM_INT8_QUANTIZE_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define TARGET_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))
#define TARGET_256 __attribute__((target("avx2,fma,f16c")))

// ---- AVX-512 ----

/// x [32] -> q [32] int8; returns Σ q, sets *d (NaN when x holds a NaN, so the result is NaN).
static inline __attribute__((always_inline)) TARGET_512 int32_t quantize_block_512(const float *x, int8_t *q, float *d) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const __mmask16 nan = _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    *d = nan ? NAN : amax / 127.0f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));   // round to nearest even
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtsepi32_epi8(q1));
    return _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

// ---- AVX2 ----

static inline __attribute__((always_inline)) TARGET_256 float hmax_256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline __attribute__((always_inline)) TARGET_256 int32_t hsum_256i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// quantize_block_512 on AVX2 (the same codes, scale and sum).
static inline __attribute__((always_inline)) TARGET_256 int32_t quantize_block_256(const float *x, int8_t *q, float *d) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps(), unord = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
        unord = _mm256_or_ps(unord, _mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
    }
    const float m = hmax_256(amax);
    const float id = m > 0.0f ? 127.0f / m : 0.0f;
    *d = _mm256_movemask_ps(unord) ? NAN : m / 127.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i qi[4];
    for (int i = 0; i < 4; i++) qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
    const __m256i p01 = _mm256_packs_epi32(qi[0], qi[1]), p23 = _mm256_packs_epi32(qi[2], qi[3]);
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, bytes);
    return hsum_256i(_mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3])));
}

#endif

// The C kernels' shared store of one 32-row panel's results (int8_matvec.c, bf16_gemm.c): rows
// 0–15 in `a`, 16–31 in `b`, only the `valid` rows written (the last panel's padding rows never
// reach y), added to what y holds when `accumulate`. Private to the CXLSTMCPU target; AVX-512 F
// only, so it inlines into each kernel whatever its wider target.
#ifndef XLSTM_PANEL_STORE_H
#define XLSTM_PANEL_STORE_H

#include <immintrin.h>
#include <stdint.h>

static inline __attribute__((always_inline, target("avx512f"))) void store_panel_512(float *y, intptr_t valid, int accumulate,
                                                                                     __m512 a, __m512 b) {
    const __mmask16 ma = valid >= 16 ? 0xFFFF : (__mmask16)((1u << valid) - 1);
    const __mmask16 mb = valid >= 32 ? 0xFFFF : valid <= 16 ? 0 : (__mmask16)((1u << (valid - 16)) - 1);
    if (accumulate) {
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(ma, y));
        b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(mb, y + 16));
    }
    _mm512_mask_storeu_ps(y, ma, a);
    _mm512_mask_storeu_ps(y + 16, mb, b);
}

#endif

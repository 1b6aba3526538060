// CPU feature detection: cpuid + xgetbv (+ the AMX permission request on Linux).
#include "xlstm_cpu.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int amx_permission(void) {
#if defined(__linux__)
    // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18; ARCH_GET_XCOMP_PERM = 0x1022.
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) return 0;
    unsigned long bitmask = 0;
    if (syscall(SYS_arch_prctl, 0x1022, &bitmask) != 0) return 0;
    return (bitmask & (1ul << 18)) != 0;
#else
    return 0;
#endif
}

uint32_t cpu_detect_features(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    uint32_t f = 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return 0;
    const uint64_t xcr0 = read_xcr0();
    const int ymm_saved = (xcr0 & 0x6) == 0x6;             // SSE + AVX state
    const int zmm_saved = (xcr0 & 0xE6) == 0xE6;           // + opmask, ZMM_Hi256, Hi16_ZMM
    const int tiles_saved = (xcr0 & 0x60000) == 0x60000;   // XTILECFG + XTILEDATA
    if (!ymm_saved) return 0;
    if ((c >> 12) & 1) f |= CPU_FEATURE_FMA;
    if ((c >> 29) & 1) f |= CPU_FEATURE_F16C;
    unsigned max_leaf = __get_cpuid_max(0, 0);
    if (max_leaf < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1) f |= CPU_FEATURE_AVX2;
    if (zmm_saved) {
        if ((b >> 16) & 1) f |= CPU_FEATURE_AVX512F;
        if ((b >> 17) & 1) f |= CPU_FEATURE_AVX512DQ;
        if ((b >> 30) & 1) f |= CPU_FEATURE_AVX512BW;
        if ((b >> 31) & 1) f |= CPU_FEATURE_AVX512VL;
        if ((c >> 11) & 1) f |= CPU_FEATURE_AVX512VNNI;
        if ((d >> 23) & 1) f |= CPU_FEATURE_AVX512FP16;
    }
    const unsigned d7 = d;
    __cpuid_count(7, 1, a, b, c, d);
    if (zmm_saved && ((a >> 5) & 1)) f |= CPU_FEATURE_AVX512BF16;
    if ((a >> 4) & 1) f |= CPU_FEATURE_AVXVNNI;
    if (tiles_saved && ((d7 >> 24) & 1) && amx_permission()) {
        f |= CPU_FEATURE_AMX_TILE;
        if ((d7 >> 22) & 1) f |= CPU_FEATURE_AMX_BF16;
        if ((d7 >> 25) & 1) f |= CPU_FEATURE_AMX_INT8;
    }
    return f;
}

void cpu_brand(char out[49]) {
    memset(out, 0, 49);
    unsigned regs[12];
    if (__get_cpuid_max(0x80000000, 0) < 0x80000004) return;
    for (unsigned i = 0; i < 3; i++) {
        __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
    }
    memcpy(out, regs, 48);
    // Brand strings are padded with leading spaces on some CPUs.
    size_t start = 0;
    while (start < 48 && out[start] == ' ') start++;
    if (start) memmove(out, out + start, 49 - start);
}
int cpu_vendor(uint32_t *family) {
    unsigned a, b, c, d;
    *family = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    char vendor[13];
    memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4), vendor[12] = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        const uint32_t base = (a >> 8) & 0xF;
        *family = base == 0xF ? base + ((a >> 20) & 0xFF) : base;
    }
    if (strcmp(vendor, "AuthenticAMD") == 0) return 1;
    if (strcmp(vendor, "GenuineIntel") == 0) return 2;
    return 0;
}
#else
uint32_t cpu_detect_features(void) { return 0; }
void cpu_brand(char out[49]) { memset(out, 0, 49); }
int cpu_vendor(uint32_t *family) { *family = 0; return 0; }
#endif

// CPU feature detection for the kernel dispatch (Sources/XLSTM/Kernels/CPU.swift).
// cpuid and xgetbv have no Swift spelling, so these few lines are C. Nothing here is exported
// from libxlstm.so (the linker's version script keeps only xlstm_*).
#ifndef CPU_FEATURE_H
#define CPU_FEATURE_H

#include <stdint.h>

/// Feature bits reported by `cpu_detect_features`; a bit is set only when both the CPU has
/// the instructions and the operating system saves the registers they use (XCR0 / AMX permission).
enum {
    CPU_FEATURE_FMA = 1u << 0,
    CPU_FEATURE_AVX2 = 1u << 1,
    CPU_FEATURE_AVX512F = 1u << 2,
    CPU_FEATURE_AVX512BW = 1u << 3,
    CPU_FEATURE_AVX512DQ = 1u << 4,
    CPU_FEATURE_AVX512VL = 1u << 5,
    CPU_FEATURE_AVX512VNNI = 1u << 6,
    CPU_FEATURE_AVX512BF16 = 1u << 7,
    CPU_FEATURE_AVX512FP16 = 1u << 8,
    CPU_FEATURE_AVXVNNI = 1u << 9,
    CPU_FEATURE_AMX_TILE = 1u << 10,
    CPU_FEATURE_AMX_BF16 = 1u << 11,
    CPU_FEATURE_AMX_INT8 = 1u << 12,
    CPU_FEATURE_F16C = 1u << 13,
};

/// The usable features of this CPU (0 on non-x86 machines). Asks the kernel for AMX tile-data
/// permission (arch_prctl ARCH_REQ_XCOMP_PERM) once; AMX bits are set only if that was granted.
uint32_t cpu_detect_features(void);

/// The CPU's brand string ("Intel(R) Xeon(R) …"), NUL-terminated into `out` (at least 49 bytes);
/// empty where cpuid has none.
void cpu_brand(char out[49]);

/// The cpuid vendor and family (base + extended, as AMD and Intel document it): 1 for
/// "AuthenticAMD", 2 for "GenuineIntel", 0 otherwise; *family 0 where unknown.
int cpu_vendor(uint32_t *family);

#endif

// Driver of the arm64 kernel check (Tests/arm64/run.sh): `dump write FILE` records every portable
// kernel's results (the x86-64 build), `dump compare FILE` compares this build's with them (the
// arm64 build, under qemu-user) and fails when any kernel is further than the bound from them.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*emit_fn)(const char *name, const float *values, intptr_t count);
void xlstm_portable_kernel_dump(emit_fn emit);

// |ours − x86-64| ≤ BOUND · max(1, max |x86-64|) over each kernel's outputs: an FMA instead of a
// multiply and an add moves a sum of n products by about n · 2^-24 of its terms' size. exp's
// values span many magnitudes, so each is held to BOUND of itself.
#define BOUND 1e-5

static FILE *file;
static int writing, failures, kernels, fused;

static void emit(const char *name, const float *values, intptr_t count) {
    kernels++;
    if (writing) {
        uint32_t length = (uint32_t)strlen(name), n = (uint32_t)count;
        fwrite(&length, 4, 1, file); fwrite(name, 1, length, file);
        fwrite(&n, 4, 1, file); fwrite(values, 4, (size_t)count, file);
        return;
    }
    uint32_t length = 0, n = 0;
    char recorded[128] = {0};
    if (fread(&length, 4, 1, file) != 1 || length >= sizeof recorded || fread(recorded, 1, length, file) != length ||
        fread(&n, 4, 1, file) != 1) {
        printf("FAIL %s: the x86-64 record ends before it\n", name);
        failures++;
        return;
    }
    float *reference = malloc((size_t)n * 4 + 4);
    if (fread(reference, 4, n, file) != n || strcmp(recorded, name) != 0 || n != (uint32_t)count) {
        printf("FAIL %s: the x86-64 record has %s with %u values here\n", name, recorded, n);
        failures++;
        free(reference);
        return;
    }
    const int relative = strncmp(name, "expLanes", 8) == 0;
    double scale = 1, worst = 0;
    intptr_t identical = 0;
    for (intptr_t i = 0; i < count; i++) if (fabs(reference[i]) > scale) scale = fabs(reference[i]);
    for (intptr_t i = 0; i < count; i++) {
        double d = isnan(values[i]) || isnan(reference[i]) ? INFINITY : fabs((double)values[i] - reference[i]);
        if (relative && reference[i] != 0) d /= fabs(reference[i]);
        if (d > worst) worst = d;
        identical += memcmp(&values[i], &reference[i], 4) == 0;
    }
    if (relative) scale = 1;
    const int ok = worst <= BOUND * scale;
    if (identical < count) fused++;
    printf("%s %-36s %5ld values, max |arm64 - x86-64| %.2e of %.2e%s (%ld bit-identical)\n", ok ? "ok  " : "FAIL", name,
           (long)count, worst, scale, relative ? " (each value's own size)" : "", (long)identical);
    failures += !ok;
    free(reference);
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "compare") != 0)) {
        fprintf(stderr, "usage: %s write|compare FILE\n", argv[0]);
        return 2;
    }
    writing = strcmp(argv[1], "write") == 0;
    file = fopen(argv[2], writing ? "wb" : "rb");
    if (!file) { perror(argv[2]); return 2; }
    xlstm_portable_kernel_dump(emit);
    if (!writing && fgetc(file) != EOF) { printf("FAIL: the x86-64 record has more kernels than this build\n"); failures++; }
    fclose(file);
    if (writing) { printf("%d kernel results written to %s\n", kernels, argv[2]); return 0; }
    printf("%d kernel results, %d within %.0e of x86-64's, %d of them not bit-identical (fused multiply-adds)\n",
           kernels, kernels - failures, BOUND, fused);
    return failures ? 1 : 0;
}

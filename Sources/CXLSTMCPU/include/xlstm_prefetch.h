// A software prefetch for the kernels: Swift has no spelling for it. Inlined into the caller
// (static inline); `prefetcht0` is baseline x86-64 (and `prfm pldl1keep` on arm64), and a prefetch
// never faults, so an address past the end of a buffer is harmless.
#ifndef XLSTM_PREFETCH_H
#define XLSTM_PREFETCH_H

/// Asks for the cache line holding `address` to be brought into L1 for reading.
static inline __attribute__((always_inline)) void xlstm_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Asks for the cache line holding `address` to be brought into L2 (`prefetcht1`): a stream read
/// well ahead of its use, which need not hold one of L1's few line-fill buffers meanwhile.
static inline __attribute__((always_inline)) void xlstm_prefetch_l2(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

#endif

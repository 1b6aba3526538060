#!/usr/bin/env bash
# The portable kernels as arm64 (NEON) code, on an x86-64 machine (`make arm64-test`, part of
# `make test`). Sources/XLSTM/Kernels/PortableKernels.swift is compiled twice with KernelDump.swift
# as Embedded Swift — for baseline x86-64 (the engine's `portable` path, which the suite checks
# against the official logits) and for arm64 — and both run every kernel on the same inputs: the
# arm64 build under qemu-user must agree with the x86-64 one within 1e-5 of each kernel's largest
# output (an FMA instead of a multiply and an add), and its code must multiply-add with NEON
# `fmla` and never call `fmaf`. (The rest of the engine is not built for arm64 here: this toolchain
# has no arm64 Linux standard library.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${ARM64_TEST_DIR:-$top/.build/arm64-test}
mkdir -p "$out"
kernels=$top/Sources/XLSTM/Kernels/PortableKernels.swift
flags=(-enable-experimental-feature Embedded -wmo -O -parse-as-library -module-name PortableKernelsDump
       -I "$top/Sources/CXLSTMCPU/include")

echo "== portable kernels, x86-64 (baseline) and arm64 (NEON) builds"
swiftc "${flags[@]}" -target x86_64-unknown-linux-gnu -c "$kernels" "$here/KernelDump.swift" -o "$out/x86_64.o"
cc -O2 "$here/main.c" "$out/x86_64.o" -lm -o "$out/dump-x86_64"
swiftc "${flags[@]}" -target aarch64-none-none-elf -c "$kernels" "$here/KernelDump.swift" -o "$out/arm64.o"
aarch64-linux-gnu-gcc -O2 "$here/main.c" "$out/arm64.o" -lm -o "$out/dump-arm64"

# Every kernel that multiplies and adds does it with vector FMAs; none calls libm's fmaf.
aarch64-linux-gnu-objdump -d "$out/arm64.o" > "$out/arm64.s"
missing=0
for kernel in matVecRowMajorF32 matVecPackedF32 matVecPackedBF16 matVecPackedQ8 matVecPackedQ4 \
              gemmMicroKernelF32 gemmMicroKernelBF16 gemmMicroKernelWideningBF16 gemmMicroKernelNarrowF32 \
              gemmMicroKernelNarrowBF16 gemmMicroKernelSingleF32 gemmMicroKernelSingleBF16 gemmMicroKernelPairF32 \
              gemmMicroKernelPairBF16 gemmMicroKernelTripleF32 gemmMicroKernelTripleBF16 mLSTMCellUpdate \
              combineRows combineRowsFour; do
    count=$(awk -v k="$kernel" '/>:$/ { inside = index($0, k "A0") > 0 } inside && /\tfmla\tv[0-9]+\.4s/ { n++ } END { print n + 0 }' "$out/arm64.s")
    if [ "$count" -eq 0 ]; then echo "FAIL $kernel: no NEON fmla in its arm64 code"; missing=1; fi
done
if grep -q 'bl.*<fmaf' "$out/arm64.s"; then echo "FAIL: the arm64 kernels call fmaf"; missing=1; fi
[ "$missing" -eq 0 ] && echo "ok   NEON fmla in every multiply-add kernel, no fmaf calls"

"$out/dump-x86_64" write "$out/x86_64.bin"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/dump-arm64" compare "$out/x86_64.bin"
exit "$missing"

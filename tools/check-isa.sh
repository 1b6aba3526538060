#!/usr/bin/env bash
# Checks that no code compiled for a wider ISA can run on a CPU without it: in libxlstm.so (or the
# binary given), only functions of the XLSTMKernelsAVX512 module (and the C int8 kernels compiled for
# it, `int8_matvec_*vnni512` and `int8_gemm_*_vnni512`, Sources/CXLSTMCPU/int8_matvec.c and
# int8_gemm.c, and the AVX-512 BF16 ones, `bf16_*_avx512bf16`, bf16_gemm.c) may contain EVEX (AVX-512)
# instructions, and only those or XLSTMKernelsAVX2's (and `int8_matvec_*_avx2`, `int8_gemm_*_avx2`) VEX
# (AVX/AVX2/FMA) ones.
# Everything else — the engine, the C ABI, the statically linked Swift runtime — must be baseline
# x86-64, because the kernel dispatch (Sources/XLSTM/Kernels/KernelSet.swift) is the only thing
# that may choose wider code. A shared generic specialization or an inlined helper that the linker
# took from an ISA module would show up here as a baseline function with VEX/EVEX code.
#
#   tools/check-isa.sh [.build/release/libxlstm.so]    prints a summary; exits 1 on any violation
set -euo pipefail
binary=${1:-.build/release/libxlstm.so}
case "$(uname -m)" in x86_64) ;; *) echo "isa: not x86-64, nothing to check"; exit 0 ;; esac
[ -f "$binary" ] || { echo "isa: $binary not found" >&2; exit 1; }

objdump -d "$binary" | awk -v binary="$binary" '
  /^[0-9a-f]+ <.*>:$/ { fn = $2; next }
  /^ *[0-9a-f]+:\t/ {
    split($0, parts, "\t")
    if (parts[3] == "") next     # the rest of a long instruction'"'"'s bytes, wrapped onto a line of its own
    n = split(parts[2], bytes, " ")
    if (n == 0) next
    i = 1
    while (i <= n && (bytes[i] == "67" || bytes[i] == "2e" || bytes[i] == "3e" || bytes[i] == "26" || bytes[i] == "64" || bytes[i] == "65" || bytes[i] == "36")) i++
    b = bytes[i]
    kind = ""
    if (b == "62") kind = "evex"
    else if (b == "c4" || b == "c5") kind = "vex"
    if (kind == "") next
    module = "baseline"
    if (index(fn, "XLSTMKernelsAVX512") > 0 || fn ~ /^<int8_matvec_q[48]_(exact_)?vnni512>:$/ || fn ~ /^<int8_gemm_(q[48]|quantize|peak)_vnni512>:$/ || fn ~ /^<bf16_[a-z_]+_avx512bf16>:$/) module = "avx512"
    else if (index(fn, "XLSTMKernelsAVX2") > 0 || fn ~ /^<int8_matvec_q[48]_(exact_)?avx2>:$/ || fn ~ /^<int8_gemm_(q[48]|quantize)_avx2>:$/) module = "avx2"
    count[module "," kind]++
    if ((module == "baseline") || (module == "avx2" && kind == "evex")) {
      if (!(fn in reported)) { reported[fn] = 1; print "isa: " kind " instruction in " module " function " fn ": " parts[3] > "/dev/stderr" }
      bad++
    }
  }
  END {
    printf "isa: %s: avx512 module %d evex + %d vex, avx2 module %d vex, baseline code %d vex/evex\n", binary,
      count["avx512,evex"], count["avx512,vex"], count["avx2,vex"], count["baseline,vex"] + count["baseline,evex"]
    if (count["avx512,evex"] == 0 || count["avx2,vex"] == 0) { print "isa: no ISA kernels found (stripped or not built?)" > "/dev/stderr"; exit 1 }
    exit bad > 0 ? 1 : 0
  }'

#!/usr/bin/env bash
# The library on CPUs this machine is not: the CLI (same engine, same dispatch as libxlstm.so) runs
# under qemu-x86_64's emulation of an AVX2-only Haswell and of a Nehalem (SSE4.2, no AVX), whose
# TCG has no AVX-512 at all, so any AVX-512 instruction reached — a dispatch mistake, a leaked
# specialisation — is SIGILL. On each: the detected path (avx2, portable), the fixtures' logits
# vs the official implementation's in step and prefill mode, and asking for a path the emulated CPU
# lacks failing cleanly. Skipped (with a note) on non-x86-64 hosts.
# Usage: Tests/cli/emulated.sh PATH/TO/xlstm-cli
set -uo pipefail
cli=${1:?usage: emulated.sh PATH/TO/xlstm-cli}
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../Fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

if [ "$(uname -m)" != x86_64 ]; then echo "emulated: not an x86-64 host, skipped"; echo "emulated: 0 passed, 0 failed"; exit 0; fi
command -v qemu-x86_64 >/dev/null || { echo "FAIL emulated: qemu-x86_64 missing (make installs qemu-user)"; exit 1; }

rel() {
  python3 - "$1" "$2" <<'PY'
import array, sys
a = array.array("f"); b = array.array("f")
with open(sys.argv[1], "rb") as f: a.frombytes(f.read())
with open(sys.argv[2], "rb") as f: b.frombytes(f.read())
if len(a) != len(b): print("inf"); sys.exit()
diff = max(abs(x - y) for x, y in zip(a, b)); ref = max(abs(y) for y in b)
print(diff / ref if ref else diff)
PY
}

# One paper-family fixture with every block kind, a 7B-family one with biases and soft caps, a bf16 one.
cases="paper_mixed large_bias_tied_caps paper_bf16"
for spec in Haswell:avx2 Nehalem:portable; do
  cpu=${spec%%:*} expected=${spec##*:}
  run() { qemu-x86_64 -cpu "$cpu" "$@" 2>"$work/qemu-err"; }
  line=$(run "$cli" info "$fixtures/paper_mixed/model" | grep '^kernels:')
  if echo "$line" | grep -q "^kernels: *$expected "; then ok "$cpu: detects $expected"; else bad "$cpu: '$line' $(tail -2 "$work/qemu-err")"; fi
  for name in $cases; do
    dir="$fixtures/$name"
    for mode in step prefill; do
      if run "$cli" eval "$dir/model" --tokens "$dir/tokens.i32" --logits-out "$work/out.f32" --mode $mode; then
        r=$(rel "$work/out.f32" "$dir/logits.f32")
        if python3 -c "import sys; sys.exit(0 if float('$r') <= 1e-4 else 1)"; then ok "$cpu: eval --mode $mode $name (rel $r)"
        else bad "$cpu: eval --mode $mode $name (rel $r > 1e-4)"; fi
      else
        bad "$cpu: eval --mode $mode $name exited $?: $(grep -v 'TCG doesn' "$work/qemu-err" | tail -2)"
      fi
    done
  done
  # The fast precision's int8 kernels on the emulated CPU (Haswell: the AVX2 vpmaddubsw ones;
  # Nehalem: none, the model loads as exact) on a quantized fixture, within the fast bound.
  qdir="$fixtures/q4_paper_mixed"
  want=$([ "$expected" = avx2 ] && echo "fast" || echo "exact")
  pline=$(run "$cli" info "$qdir/model" --precision fast | grep '^precision:')
  if run "$cli" eval "$qdir/model" --tokens "$qdir/tokens.i32" --logits-out "$work/out.f32" --precision fast \
     && echo "$pline" | grep -q "^precision: *$want "; then
    r=$(rel "$work/out.f32" "$qdir/logits.f32")
    bound=$([ "$want" = fast ] && echo 0.2 || echo 1e-4)
    if python3 -c "import sys; sys.exit(0 if float('$r') <= $bound else 1)"; then ok "$cpu: eval --precision fast q4_paper_mixed runs $want (rel $r)"
    else bad "$cpu: eval --precision fast q4_paper_mixed (rel $r > $bound)"; fi
  else
    bad "$cpu: --precision fast: '$pline' $(grep -v 'TCG doesn' "$work/qemu-err" | tail -2)"
  fi
  for higher in avx2 avx512; do
    [ "$higher" = "$expected" ] && continue
    [ "$expected" = avx2 ] && [ "$higher" = avx2 ] && continue
    if XLSTM_CPU=$higher run "$cli" info "$fixtures/paper_mixed/model" >/dev/null; then
      bad "$cpu: XLSTM_CPU=$higher was accepted"
    elif grep -q "asks for the $higher kernels" "$work/qemu-err"; then ok "$cpu: XLSTM_CPU=$higher refused cleanly"
    else bad "$cpu: XLSTM_CPU=$higher: $(grep -v 'TCG doesn' "$work/qemu-err" | tail -1)"; fi
  done
done
echo "emulated: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

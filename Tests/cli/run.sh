#!/usr/bin/env bash
# CLI contract checks: `xlstm eval` on every reference fixture (≤ 1e-4 relative, compared with the
# official implementation's logits), `xlstm info`, and one-line errors with non-zero exits.
# Usage: Tests/cli/run.sh PATH/TO/xlstm-cli
set -uo pipefail
cli=${1:?usage: run.sh PATH/TO/xlstm-cli}
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../Fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }

# max|a-b| / max|b| over two raw float32 files (python3 stdlib only).
compare() {
  python3 - "$1" "$2" <<'PY'
import array, sys
a = array.array("f"); b = array.array("f")
with open(sys.argv[1], "rb") as f: a.frombytes(f.read())
with open(sys.argv[2], "rb") as f: b.frombytes(f.read())
if sys.byteorder != "little": a.byteswap(); b.byteswap()
if len(a) != len(b): print("inf"); sys.exit()
diff = max(abs(x - y) for x, y in zip(a, b)); ref = max(abs(y) for y in b)
print(diff / ref if ref else diff)
PY
}

for dir in "$fixtures"/*/; do
  name=$(basename "$dir")
  [ -f "$dir/tokens.i32" ] || continue
  for mode in step prefill; do
    if "$cli" eval "$dir/model" --tokens "$dir/tokens.i32" --logits-out "$work/$name.f32" --mode $mode 2>"$work/err"; then
      rel=$(compare "$work/$name.f32" "$dir/logits.f32")
      if python3 -c "import sys; sys.exit(0 if float('$rel') <= 1e-4 else 1)"; then
        ok "eval --mode $mode $name (rel $rel)"
      else
        bad "eval --mode $mode $name (rel $rel > 1e-4)"
      fi
    else
      bad "eval --mode $mode $name: $(cat "$work/err")"
    fi
  done
done

if "$cli" info "$fixtures/paper_mixed/model" >"$work/info" 2>&1 && grep -q "sLSTM" "$work/info" \
   && grep -q "state / session:" "$work/info" && grep -q "parameters:" "$work/info" \
   && grep -qE "memory / session: [0-9]+ bytes" "$work/info"; then
  ok "info paper_mixed"
else
  bad "info paper_mixed: $(cat "$work/info")"
fi
if "$cli" info "$fixtures/official_qk96/model" >"$work/info" 2>&1 && grep -q "official xlstm_large checkpoint" "$work/info" \
   && grep -q "q/k dim 96, v dim 36" "$work/info"; then
  ok "info official_qk96 (config.yaml read directly)"
else
  bad "info official_qk96: $(cat "$work/info")"
fi

# perplexity over paper_long's tokens vs the same quantity computed from the reference logits.
if "$cli" perplexity "$fixtures/paper_long/model" "$fixtures/paper_long/tokens.i32" --token-file >"$work/ppl" 2>"$work/err"; then
  ours=$(awk '/bits per token:/ {print $4}' "$work/ppl")
  reference=$(python3 - "$fixtures/paper_long" <<'PY'
import array, math, sys
d = sys.argv[1]
t = array.array("i"); t.frombytes(open(d + "/tokens.i32", "rb").read())
l = array.array("f"); l.frombytes(open(d + "/logits.f32", "rb").read())
v = len(l) // len(t); bits = 0.0
for i in range(len(t) - 1):
    row = l[i * v:(i + 1) * v]; m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    bits -= (row[t[i + 1]] - lse) / math.log(2)
print("%.5f" % (bits / (len(t) - 1)))
PY
)
  if [ "$(printf '%.4f' "$ours")" = "$(printf '%.4f' "$reference")" ]; then ok "perplexity paper_long ($ours vs reference $reference)"
  else bad "perplexity paper_long: $ours vs reference $reference"; fi
else
  bad "perplexity paper_long: $(cat "$work/err")"
fi

# The bundled model: bits per byte of its validation text vs the official implementation's
# (examples/models/fortunes-xlstm/reference_bpb.txt, from tools/reference_bpb.py): 3 significant digits.
demo="$here/../../examples/models/fortunes-xlstm"
if "$cli" perplexity "$demo/model" "$demo/valid.txt" >"$work/demo_ppl" 2>"$work/err"; then
  ours=$(awk '/bits per byte:/ {print $4}' "$work/demo_ppl")
  reference=$(cat "$demo/reference_bpb.txt")
  if [ "$(printf '%.3g' "$ours")" = "$(printf '%.3g' "$reference")" ]; then ok "perplexity of the bundled model: $ours bits/byte (reference $reference)"
  else bad "perplexity of the bundled model: $ours vs reference $reference"; fi
else
  bad "perplexity of the bundled model: $(cat "$work/err")"
fi

# generate: deterministic for a seed; state-out then state-in continues like one run.
g() { "$cli" generate "$fixtures/paper_mixed/model" "$@" 2>/dev/null; }
if [ "$(g --tokens 1,2,3 --max-tokens 12 --seed 7)" = "$(g --tokens 1,2,3 --max-tokens 12 --seed 7)" ] \
   && [ "$(g --tokens 1,2,3 --max-tokens 12 --seed 7)" != "$(g --tokens 1,2,3 --max-tokens 12 --seed 8)" ]; then
  ok "generate is deterministic per seed"
else
  bad "generate is not deterministic per seed"
fi
whole=$(g --tokens 1,2,3 --max-tokens 10 --temperature 0)
first=$(g --tokens 1,2,3 --max-tokens 4 --temperature 0 --state-out "$work/s.bin")
rest=$(g --max-tokens 6 --temperature 0 --state-in "$work/s.bin")
if [ "$whole" = "$(printf '%s\n%s' "$first" "$rest")" ]; then ok "generate --state-out / --state-in continues the same sequence"
else bad "generate resume: '$whole' vs '$first' + '$rest'"; fi
# Sampled (not greedy), with a penalty: only the sampler's saved state continues the same tokens.
whole=$(g --tokens 1,2,3 --max-tokens 14 --seed 5 --repeat-penalty 1.3)
first=$(g --tokens 1,2,3 --max-tokens 6 --seed 5 --repeat-penalty 1.3 --state-out "$work/s2.bin" --sampler-state-out "$work/p2.bin")
rest=$(g --max-tokens 8 --state-in "$work/s2.bin" --sampler-state-in "$work/p2.bin")
unrestored=$(g --max-tokens 8 --seed 5 --repeat-penalty 1.3 --state-in "$work/s2.bin")
if [ "$whole" = "$(printf '%s\n%s' "$first" "$rest")" ] && [ "$whole" != "$(printf '%s\n%s' "$first" "$unrestored")" ]; then
  ok "generate --sampler-state-out / --sampler-state-in continues the same sampled sequence (and without it, it does not)"
else bad "generate sampler resume: '$whole' vs '$first' + '$rest' (unrestored '$unrestored')"; fi

# Errors: non-zero exit and exactly one line on stderr that says what is wrong.
expect_error() {  # label, pattern, command...
  local label=$1 pattern=$2; shift 2
  if "$@" >"$work/out" 2>"$work/err"; then bad "$label: exited 0"; return; fi
  if [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q -- "$pattern" "$work/err"; then
    ok "$label"
  else
    bad "$label: stderr was: $(cat "$work/err")"
  fi
}
printf '\x01\x00\x00' >"$work/odd.i32"
printf '\xff\xff\xff\x7f' >"$work/big.i32"
expect_error "missing model directory" "no such model directory" "$cli" info "$work/nope"
expect_error "a session state given as the sampler state" "session state blob, not a sampler" \
  "$cli" generate "$fixtures/paper_mixed/model" --max-tokens 2 --state-in "$work/s2.bin" --sampler-state-in "$work/s2.bin"
mkdir "$work/yaml_model"
cp "$fixtures/official_qk96/model/"* "$work/yaml_model/"
printf 'nested:\n  x: 1\n' >>"$work/yaml_model/config.yaml"
expect_error "config.yaml outside the flat subset" "config.yaml:26: indented line" "$cli" info "$work/yaml_model"
expect_error "token file not int32" "multiple of 4" "$cli" eval "$fixtures/paper_mixed/model" --tokens "$work/odd.i32" --logits-out "$work/x.f32"
expect_error "token id out of range" "out of range" "$cli" eval "$fixtures/paper_mixed/model" --tokens "$work/big.i32" --logits-out "$work/x.f32"
expect_error "missing token file" "cannot open" "$cli" eval "$fixtures/paper_mixed/model" --tokens "$work/none.i32" --logits-out "$work/x.f32"
expect_error "unknown XLSTM_CPU" "XLSTM_CPU=bogus" env XLSTM_CPU=bogus "$cli" info "$fixtures/paper_mixed/model"

# XLSTM_CPU forces each kernel path this CPU runs (info names it; eval still matches the reference).
for path in $("$cli" info "$fixtures/paper_mixed/model" | sed -n 's/^kernels: .*; runs \([a-z0-9, ]*\);.*/\1/p' | tr -d ','); do
  if XLSTM_CPU=$path "$cli" info "$fixtures/paper_mixed/model" | grep -q "^kernels: *$path "; then
    ok "XLSTM_CPU=$path: info reports it"
  else
    bad "XLSTM_CPU=$path: info does not report it"
  fi
done

# Tokenizers: ids equal the `tokenizers` package's (tools/make_tokenizer_fixtures.py) per line and for
# the whole file; detokenize inverts; generate streams text for a model with a tokenizer.json.
for tok in "$fixtures"/tokenizers/*/; do
  name=$(basename "$tok")
  if "$cli" tokenize "$tok" "$tok/corpus.txt" --lines >"$work/lines" 2>"$work/err" && cmp -s "$work/lines" "$tok/expected_lines.txt"; then
    ok "tokenize --lines $name ≡ tokenizers ($(wc -l <"$work/lines") lines)"
  else
    bad "tokenize --lines $name: $(diff "$work/lines" "$tok/expected_lines.txt" | head -4) $(cat "$work/err")"
  fi
  if "$cli" tokenize "$tok" "$fixtures/tokenizers/random.txt" --lines >"$work/random" 2>"$work/err" \
     && cmp -s "$work/random" "$tok/expected_random.txt"; then
    ok "tokenize --lines $name ≡ tokenizers on 200 random lines"
  else
    bad "tokenize random $name: $(diff "$work/random" "$tok/expected_random.txt" | head -4) $(cat "$work/err")"
  fi
  if "$cli" tokenize "$tok" <"$tok/corpus.txt" >"$work/whole" 2>"$work/err" && cmp -s "$work/whole" "$tok/expected_whole.txt"; then
    ok "tokenize (stdin, whole file) $name ≡ tokenizers"
  else
    bad "tokenize whole $name: $(cat "$work/err")"
  fi
  if "$cli" tokenize "$tok" "$tok/corpus.txt" --lines --no-add-special >"$work/plain" 2>/dev/null && cmp -s "$work/plain" "$tok/expected_lines_plain.txt"; then
    ok "tokenize --lines --no-add-special $name ≡ tokenizers"
  else
    bad "tokenize --no-add-special $name"
  fi
done
tok="$fixtures/tokenizers/neox_style"
if "$cli" tokenize "$tok" "$tok/corpus.txt" --no-add-special | "$cli" detokenize "$tok" >"$work/round" 2>"$work/err" \
   && python3 -c "import sys, unicodedata as u; a, b = (open(f, encoding='utf-8').read() for f in sys.argv[1:]); sys.exit(a != u.normalize('NFC', b))" \
        "$work/round" "$tok/corpus.txt"; then
  ok "tokenize | detokenize gives the (NFC) corpus back"
else
  bad "tokenize | detokenize: $(cat "$work/err")"
fi
if [ "$("$cli" detokenize "$tok" --tokens "$("$cli" tokenize "$tok" <<<'Hello, wörld 🌍' | tr ' ' ,)")" = "Hello, wörld 🌍" ]; then
  ok "detokenize --tokens"
else
  bad "detokenize --tokens"
fi
printf 'ab\xffcd' >"$work/bad.txt"
expect_error "tokenize invalid UTF-8" "not valid UTF-8 (at byte 2)" "$cli" tokenize "$tok" "$work/bad.txt"
expect_error "tokenize without tokenizer.json" "no tokenizer.json" "$cli" tokenize "$fixtures/paper_mixed/model" "$tok/corpus.txt"
expect_error "detokenize negative id" "negative" "$cli" detokenize "$tok" --tokens 1,-5
# A model whose vocabulary covers the tokenizer's (Tests/c/make_byte_model.py tiles a fixture's rows).
if python3 "$here/../c/make_byte_model.py" "$fixtures/large_basic/model" "$work/tok_model" 1100 >/dev/null 2>&1 \
   && cp "$tok"/tokenizer.json "$tok"/tokenizer_config.json "$work/tok_model/"; then
  gen() { "$cli" generate "$work/tok_model" "Hello world, 我能" --max-tokens 40 --seed "$1" 2>/dev/null; }
  a=$(gen 3); b=$(gen 3)
  if [ -n "$a" ] && [ "$a" = "$b" ] && python3 -c "import sys; sys.stdin.buffer.read().decode('utf-8')" <<<"$a"; then
    ok "generate with a tokenizer.json streams valid UTF-8 text, deterministic per seed"
  else
    bad "generate with a tokenizer.json: '$a' / '$b'"
  fi
else
  bad "could not build a model with a tokenizer"
fi

# quantize: the output directory (and only it) appears, tokenizer files are copied, bytes in/out are
# printed; bad types, an existing output and a quantized input are one-line errors that leave nothing.
mkdir "$work/qsrc" && cp "$fixtures/large_basic/model/"* "$work/qsrc/" \
  && cp "$fixtures/tokenizers/neox_style/tokenizer.json" "$work/qsrc/"
mkdir "$work/qout"
if "$cli" quantize "$work/qsrc" "$work/qout/q4" --type q4 --keep lm_head >"$work/out" 2>"$work/err" \
   && grep -q "^bytes in: " "$work/out" && grep -q "^bytes out: " "$work/out" \
   && [ "$(ls "$work/qout")" = "q4" ] && cmp -s "$work/qsrc/tokenizer.json" "$work/qout/q4/tokenizer.json" \
   && grep -q '"format": "q4_0"' "$work/qout/q4/config.json" && grep -q "^quantize: 100% (33/33 tensors" "$work/err" \
   && ! grep -q $'\r' "$work/err"; then
  ok "quantize --type q4: output directory with config, tokenizer, safetensors; plain progress lines off a TTY"
else
  bad "quantize --type q4: $(cat "$work/out" "$work/err")"
fi
expect_error "quantize unknown type" "unknown quantization type 'q5'" "$cli" quantize "$work/qsrc" "$work/qout/x" --type q5
expect_error "quantize unknown --keep class" "unknown class 'norms'" "$cli" quantize "$work/qsrc" "$work/qout/x" --type q8 --keep norms
expect_error "quantize into an existing directory" "already exists" "$cli" quantize "$work/qsrc" "$work/qout/q4" --type q8
expect_error "quantize a quantized model" "already quantized" "$cli" quantize "$work/qout/q4" "$work/qout/x" --type q8
if [ "$(ls -A "$work/qout")" = "q4" ]; then ok "failed quantize runs leave nothing next to the output"; else bad "left: $(ls -A "$work/qout")"; fi

# --precision: info names what the model runs; fast changes nothing for float weights (same bits per
# byte in step mode) and stays close on a quantized fixture; an unknown precision is a one-line error.
q4fix="$fixtures/q4_paper_mixed/model"
"$cli" info "$q4fix" --precision fast >"$work/out" 2>&1
if grep -Eq "^precision: +fast \(the q8/q4 projections: int8 activations|^precision: +exact" "$work/out" \
   && "$cli" info "$q4fix" | grep -Eq "^precision: +exact \(float32 activations"; then
  ok "info --precision: the precision the model runs"
else bad "info --precision: $(grep precision "$work/out")"; fi
bundled="$here/../../examples/models/fortunes-xlstm"
head -c 2000 "$bundled/valid.txt" >"$work/ptext"
pe=$("$cli" perplexity "$bundled/model" "$work/ptext" --step --precision exact 2>/dev/null | head -1)
pf=$("$cli" perplexity "$bundled/model" "$work/ptext" --step --precision fast 2>/dev/null | head -1)
pp=$("$cli" perplexity "$bundled/model" "$work/ptext" 2>/dev/null | head -1)
# bf16 weights: untouched by fast, unless the CPU has AVX-512 BF16 (then bf16 activations: within
# 0.001 bits/byte; README "Precision" measured +0.00003 on all of valid.txt).
if "$cli" info "$bundled/model" --precision fast 2>/dev/null | grep -q "bf16 projections: bf16 activations"; then
  if [ -n "$pe" ] && [ -n "$pf" ] && awk -v e="${pe#bits per byte: }" -v f="${pf#bits per byte: }" \
       'BEGIN { d = f - e; if (d < 0) d = -d; exit !(e > 0 && d <= 0.001) }'; then
    ok "perplexity --step: fast's bf16 activations move the bundled model by <= 0.001 ($pe -> ${pf#bits per byte: })"
  else bad "perplexity --step: exact '$pe' vs fast '$pf'"; fi
elif [ -n "$pe" ] && [ "$pe" = "$pf" ] && [ "${pe#bits per byte: }" != "$pe" ]; then
  ok "perplexity --step: fast leaves the bundled model's bf16 weights alone ($pe; prefill: ${pp#bits per byte: })"
else bad "perplexity --step: exact '$pe' vs fast '$pf'"; fi
if "$cli" info "$q4fix" --precision bogus >"$work/out" 2>"$work/err"; then bad "--precision bogus: exited 0"
elif grep -q "'exact' and 'fast'" "$work/err"; then ok "an unknown --precision is refused, naming the choices"
else bad "--precision bogus: $(head -1 "$work/err")"; fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Runs the C suite (mk/c.mk, `make c-test`, builds everything first and calls this):
#   the manifest checked against the header (Tests/c/manifest_to_c.py, compiled with -Werror);
#   the C tests and the ABI conformance test, built with AddressSanitizer + UBSan + LeakSanitizer;
#   the examples (plain and sanitized builds), run twice with a fixed seed: same output both times;
#   the state example: save, resume, resume ≡ one uninterrupted run with the same seed.
# Prints "ok …" / "FAIL …" per case and ends with exactly "c: N passed, M failed"; exits 1 on any failure.
#
# Usage: Tests/c/run.sh BUILD_DIR FIXTURES_DIR LIBXLSTM_DIR MANIFEST
#   BUILD_DIR holds simple, state (plain) and asan/{test_api,test_logits,test_state,test_batch,test_tokenizer,abi_conformance,simple,state}.
set -uo pipefail
build=${1:?usage: run.sh BUILD_DIR FIXTURES_DIR LIBXLSTM_DIR MANIFEST}
fixtures=${2:?fixtures directory}
libdir=${3:?directory of libxlstm.so}
manifest=${4:?path of xlstm.abi.json}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# Sanitizers: any report fails the program (non-zero exit). No leak suppressions are needed: the
# Swift runtime's one-time allocations inside libxlstm.so stay reachable from its globals.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TMPDIR=$work

# A test program prints its cases and a last line "NAME: N passed, M failed"; its cases count here.
# A non-zero exit with no failed case (a sanitizer report, a crash) counts as one failure more.
run_program() {  # label, command...
  local label=$1; shift
  "$@" >"$work/out" 2>"$work/err"
  local status=$?
  grep -E '^(ok|FAIL) |^  ' "$work/out"
  local summary p=0 f=0
  summary=$(grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed$' "$work/out" | tail -1)
  if [ -n "$summary" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$summary")
    f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$summary")
  fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    bad "$label exited with status $status"
    sed 's/^/    /' "$work/err" | head -60
  elif [ -s "$work/err" ]; then
    echo "  ($label wrote to stderr:)"; sed 's/^/    /' "$work/err" | head -20
  fi
}

# The manifest and the header describe the same API: a translation unit generated from the manifest
# (static assertions on every macro, enumerator and struct layout; every function assigned to a
# pointer of the manifest's signature) must compile warning-free against the header.
include_dir=$(dirname "$manifest")
if python3 "$here/manifest_to_c.py" "$manifest" >"$work/manifest_check.c" 2>"$work/manifest_count" \
   && ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -I "$include_dir" -c "$work/manifest_check.c" \
        -o "$work/manifest_check.o" 2>"$work/manifest_errors"; then
  ok "manifest ≡ header: $(cat "$work/manifest_count") compile-time checks (macros, enumerators, struct layouts, signatures)"
else
  bad "manifest ≡ header:"; head -20 "$work/manifest_errors" "$work/manifest_count" | sed 's/^/    /'
fi

run_program test_api "$build/asan/test_api" "$fixtures"
# A model whose lm_head (2048 × 64) is large enough to be split across threads (the fixtures' are not).
python3 "$here/make_byte_model.py" "$fixtures/large_basic/model" "$work/large_vocab_model" 2048 \
  || bad "make_byte_model.py could not write a vocab-2048 model"
run_program test_logits "$build/asan/test_logits" "$fixtures" "$work/large_vocab_model"
run_program test_state "$build/asan/test_state" "$fixtures"
run_program test_sampler "$build/asan/test_sampler" "$fixtures"
run_program test_bad_input "$build/asan/test_bad_input" "$fixtures"
run_program test_threads "$build/asan/test_threads" "$fixtures"
run_program test_batch "$build/asan/test_batch" "$fixtures"
# RSS over 10 000 sessions and 1 000 models (uninstrumented build: ASan's quarantine would mask it),
# then the same loops, shorter, under LeakSanitizer.
run_program test_memory "$build/plain/test_memory" "$fixtures"
run_program test_memory "$build/asan/test_memory" "$fixtures" 500 50
# Zero allocations per token (malloc interposed: uninstrumented build only).
run_program test_alloc "$build/plain/test_alloc" "$fixtures" "$work/large_vocab_model"
# Out of memory: refused loads, sessions and feeds under RLIMIT_AS (uninstrumented build: ASan's
# shadow needs the address space the limit takes away), on a model with a 64 MiB file.
python3 "$here/make_byte_model.py" "$fixtures/large_basic/model" "$work/big_vocab_model" 131072 \
  || bad "make_byte_model.py could not write a vocab-131072 model"
run_program test_oom "$build/plain/test_oom" "$fixtures" "$work/big_vocab_model"
rm -rf "$work/big_vocab_model"
# The long run, short: 20 000 tokens per family (`make soak` runs 1 000 000).
run_program test_soak "$build/plain/test_soak" "$fixtures" 20000
run_program test_tokenizer "$build/asan/test_tokenizer" "$fixtures"
run_program test_quantize "$build/asan/test_quantize" "$fixtures"
run_program abi_conformance "$build/asan/abi_conformance" "$manifest" "$libdir/libxlstm.so" "$fixtures"

# --- examples -----------------------------------------------------------------------------------
model=$fixtures/paper_mixed/model
python3 "$here/make_byte_model.py" "$fixtures/large_basic/model" "$work/byte_model" \
  || bad "make_byte_model.py could not write a byte-level model"
# A model whose vocabulary covers the neox_style test tokenizer's, with that tokenizer beside it.
python3 "$here/make_byte_model.py" "$fixtures/large_basic/model" "$work/text_model" 1100 \
  && cp "$fixtures/tokenizers/neox_style/tokenizer.json" "$fixtures/tokenizers/neox_style/tokenizer_config.json" "$work/text_model/" \
  || bad "could not write a model with a tokenizer"

# Runs an example: its stderr lands in $work/last.err and is appended to $work/examples.err,
# which sanitizer_clean checks for sanitizer reports.
ex() {
  "$@" 2>"$work/last.err"
  local status=$?
  cat "$work/last.err" >>"$work/examples.err"
  return $status
}

sanitizer_clean() {  # label
  if grep -qE "Sanitizer|runtime error:" "$work/examples.err"; then
    bad "$1: sanitizer report:"; grep -E -A12 "ERROR: |runtime error:" "$work/examples.err" | head -40 | sed 's/^/    /'
  else
    ok "$1: no sanitizer reports (error paths included)"
  fi
  : >"$work/examples.err"
}

# Runs a command twice; both runs must succeed with the same non-empty stdout (kept in $work/first,
# the first run's stderr in $work/first.err).
twice_same() {  # label, command...
  local label=$1; shift
  if ! ex "$@" >"$work/first"; then bad "$label: exited non-zero: $(head -3 "$work/last.err")"; return 1; fi
  cp "$work/last.err" "$work/first.err"
  if ! ex "$@" >"$work/second"; then bad "$label: second run exited non-zero"; return 1; fi
  if [ ! -s "$work/first" ]; then bad "$label: no output"; return 1; fi
  if ! cmp -s "$work/first" "$work/second"; then bad "$label: two runs with the same seed differ"; return 1; fi
  return 0
}

check_examples() {  # directory of the binaries, label
  local bin=$1 variant=$2
  : >"$work/examples.err"

  # simple: 24 ids, each in [0, vocab), the same twice; one summary line on stderr.
  if twice_same "simple ($variant)" "$bin/simple" "$model" --tokens 1,2,3 --n 24 --seed 1234; then
    if python3 -c "import sys; ids=[int(x) for x in open(sys.argv[1]).read().split()]; sys.exit(0 if len(ids)==24 and all(0<=i<100 for i in ids) else 1)" "$work/first" \
       && [ "$(wc -l <"$work/first.err")" -eq 1 ] && grep -q "generated 24 tokens" "$work/first.err"; then
      ok "simple ($variant): 24 ids, deterministic with --seed: $(cut -c1-40 "$work/first")…"
    else
      bad "simple ($variant): unexpected output: $(cat "$work/first") / $(cat "$work/first.err")"
    fi
    cp "$work/first" "$work/simple_ids.$variant"
  fi

  # Greedy decoding is the same with any seed.
  ex "$bin/simple" "$model" --tokens 1,2,3 --n 12 --temperature 0 --seed 1 >"$work/g1"
  ex "$bin/simple" "$model" --tokens 1,2,3 --n 12 --temperature 0 --seed 99 >"$work/g2"
  if [ -s "$work/g1" ] && cmp -s "$work/g1" "$work/g2"; then ok "simple ($variant): --temperature 0 ignores the seed"
  else bad "simple ($variant): greedy output depends on the seed"; fi

  # Byte-level model: --prompt echoes the text, then 32 sampled tokens, the same twice.
  if [ -d "$work/byte_model" ] && twice_same "simple --prompt ($variant)" "$bin/simple" "$work/byte_model" --prompt "Hello, xLSTM" --n 32 --seed 7; then
    if [ "$(head -c 12 "$work/first")" = "Hello, xLSTM" ] && [ "$(wc -c <"$work/first")" -gt 13 ]; then
      ok "simple --prompt ($variant): byte-level model, text in and out, deterministic"
    else
      bad "simple --prompt ($variant): output does not start with the prompt: $(head -c 40 "$work/first" | od -c | head -2)"
    fi
  fi

  # Errors exit 1 with one line on stderr: --prompt on a vocab-100 model; an id out of range; no model.
  local errors_ok=1
  for args in "$model --prompt hi" "$model --tokens 1,100" "$work/no-such-model --tokens 1"; do
    # shellcheck disable=SC2086
    if ex "$bin/simple" $args >/dev/null || [ "$(wc -l <"$work/last.err")" -ne 1 ]; then
      errors_ok=0; echo "  simple $args: $(cat "$work/last.err")"
    fi
  done
  grep -q "out of range" "$work/examples.err" && grep -q "no-such-model" "$work/examples.err" || errors_ok=0
  if [ $errors_ok = 1 ]; then ok "simple ($variant): bad prompt, bad id, missing model: one-line errors, exit 1"
  else bad "simple ($variant): error handling"; fi

  # state: save (16) → resume (8) → resume (8) ≡ one uninterrupted run of 32, in separate processes.
  local s="$work/state-$variant"
  if ex "$bin/state" "$model" save "$s.a" --tokens 5,6,7 --n 16 --seed 42 >"$s.1" \
     && ex "$bin/state" "$model" resume "$s.a" --n 8 --seed 42 >"$s.2" \
     && ex "$bin/state" "$model" resume "$s.a" --n 8 --seed 42 >"$s.3" \
     && ex "$bin/state" "$model" save "$s.b" --tokens 5,6,7 --n 32 --seed 42 >"$s.whole"; then
    local pieces whole
    pieces=$(cat "$s.1" "$s.2" "$s.3" | tr '\n' ' ' | sed 's/ *$//')
    whole=$(tr '\n' ' ' <"$s.whole" | sed 's/ *$//')
    if [ "$pieces" = "$whole" ] && [ "$(wc -w <<<"$whole")" -eq 32 ]; then
      ok "state ($variant): save 16 + resume 8 + resume 8 ≡ uninterrupted 32 ($(cut -c1-30 <<<"$whole")…)"
    else
      bad "state ($variant): resumed run differs: [$pieces] vs [$whole]"
    fi
    if cmp -s "$s.a" "$s.b"; then ok "state ($variant): the resumed and the uninterrupted state files are byte-identical"
    else bad "state ($variant): state files differ"; fi
    if ex "$bin/state" "$model" save "$s.c" --tokens 5,6,7 --n 32 --seed 42 | cmp -s - "$s.whole"; then
      ok "state ($variant): deterministic with --seed"
    else
      bad "state ($variant): two uninterrupted runs differ"
    fi
  else
    bad "state ($variant): a run failed: $(cat "$work/last.err")"
  fi
  # Resuming a file that is not a state: exit 1 with one line naming the file.
  printf 'not a state' >"$s.bad"
  if ! ex "$bin/state" "$model" resume "$s.bad" --n 1 >/dev/null && [ "$(wc -l <"$work/last.err")" -eq 1 ] \
     && grep -q "$s.bad" "$work/last.err"; then
    ok "state ($variant): a damaged state file is refused, naming the file"
  else
    bad "state ($variant): damaged state file: $(cat "$work/last.err")"
  fi
  # npc: the bundled byte-level model; a fresh run is deterministic, and a second run resumes every
  # NPC from the save file the first wrote.
  local demo=examples/models/fortunes-xlstm/model n="$work/npc-$variant"
  if [ -d "$demo" ]; then
    if ex "$bin/npc" "$demo" "$n.save" --frames 6 --budget 4 --seed 3 >"$n.1" \
       && rm -f "$n.other" && ex "$bin/npc" "$demo" "$n.other" --frames 6 --budget 4 --seed 3 >"$n.2" \
       && cmp -s <(grep -v '^saved' "$n.1") <(grep -v '^saved' "$n.2") \
       && grep -q "fresh start" "$n.1" && grep -q "\[rollback\]" "$n.1"; then
      ok "npc ($variant): 8 NPCs, frame budgets, branch rolled back; deterministic"
    else
      bad "npc ($variant): fresh runs failed or differ: $(cat "$work/last.err")"
    fi
    # Resuming restores sessions, samplers and lines in progress: frames 6–11 after a save equal
    # frames 6–11 of one uninterrupted 12-frame run.
    local later='^\[frame ( [6-9]|1[01])\]'
    if ex "$bin/npc" "$demo" "$n.save" --frames 6 --budget 4 --seed 3 >"$n.3" && grep -q "resumed from the save file" "$n.3" \
       && rm -f "$n.long" && ex "$bin/npc" "$demo" "$n.long" --frames 12 --budget 4 --seed 3 >"$n.4" \
       && grep -Eq "$later" "$n.4" \
       && cmp -s <(grep '^\[frame' "$n.3") <(grep -E "$later" "$n.4"); then
      ok "npc ($variant): the next run resumes every NPC (state, sampler, line) and says what one long run says"
    else
      bad "npc ($variant): resume failed or diverged: $(head -3 "$n.3") $(cat "$work/last.err")"
    fi
  else
    bad "npc ($variant): the bundled model $demo is missing"
  fi
  # text: tokenizer.json in, streamed UTF-8 text out; deterministic per seed; a model without a
  # tokenizer.json is a one-line error.
  local t="$work/text-$variant"
  if ex "$bin/text" "$work/text_model" "Hello, 世界" --n 40 --seed 5 >"$t.1" \
     && ex "$bin/text" "$work/text_model" "Hello, 世界" --n 40 --seed 5 >"$t.2" && cmp -s "$t.1" "$t.2" \
     && [ "$(head -c 13 "$t.1")" = "Hello, 世界" ] && [ "$(wc -c <"$t.1")" -gt 14 ] \
     && python3 -c "import sys; open(sys.argv[1], 'rb').read().decode('utf-8')" "$t.1"; then
    ok "text ($variant): tokenized prompt, streamed valid UTF-8, deterministic per seed"
  else
    bad "text ($variant): $(head -c 200 "$t.1") $(cat "$work/last.err")"
  fi
  if ! ex "$bin/text" "$model" "Hello" >/dev/null && [ "$(wc -l <"$work/last.err")" -eq 1 ] \
     && grep -q "no tokenizer.json" "$work/last.err"; then
    ok "text ($variant): a model without tokenizer.json is a one-line error"
  else
    bad "text ($variant): no tokenizer: $(cat "$work/last.err")"
  fi
  if [ "$variant" = asan ]; then sanitizer_clean "examples ($variant)"; fi
}

check_examples "$build" plain
check_examples "$build/asan" asan
if [ -f "$work/simple_ids.plain" ] && cmp -s "$work/simple_ids.plain" "$work/simple_ids.asan"; then
  ok "simple: the plain and sanitized builds print the same tokens"
else
  bad "simple: the plain and sanitized builds differ"
fi

echo "c: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

# Fuzzing (issue #13): libFuzzer harnesses over the engine's parsers. Included by the top-level Makefile.
#
#   make fuzz          build, then fuzz each harness for FUZZ_TIME seconds (default 300) or FUZZ_RUNS
#                      executions, whichever comes first, from its working corpus (.build-fuzz/corpus/NAME,
#                      seeded from Tests/Fuzz/corpus/NAME); any crash lands in Tests/Fuzz/crashes/NAME/
#                      and stops the run. Ends with one line per harness: runs, seconds, crashes.
#   make fuzz-replay   (part of `make test`) every committed corpus input and every crash ever found
#                      (Tests/Fuzz/crashes/NAME/*, kept as regression inputs), then FUZZ_SHORT_TIME
#                      seconds (default 5) of fuzzing per harness on a throw-away copy of the corpus
#   make fuzz-merge    adds the working corpus inputs that reach new coverage to Tests/Fuzz/corpus/
#   make fuzz-seeds    regenerates the seed corpora from the fixtures (tools/fuzz/make_seeds.py)
#
# Build: the XLSTM sources and Tests/Fuzz/*.swift compiled as ONE module by swiftc with
# -sanitize=fuzzer,address, so coverage feedback and ASan checks are inside the Swift loader code
# (a C harness over libxlstm.so would get no coverage from the uninstrumented Swift library, and a
# SwiftPM build cannot give one target -sanitize=fuzzer without giving it to every product).
# libclang_rt.fuzzer ships with the Swift toolchain (/opt/swift/usr/lib/clang/*/lib/linux/).

# Harnesses: each is Tests/Fuzz/<Name>Harness.swift + an entry in Tests/Fuzz/FuzzMain.swift + a seed
# folder Tests/Fuzz/corpus/<name>.
FUZZ_HARNESSES  ?= config safetensors index loader state sampler tokenizer text
FUZZ_DIR        := .build-fuzz
FUZZ_BIN        := $(FUZZ_DIR)/xlstm-fuzz
FUZZ_TIME       ?= 300
FUZZ_RUNS       ?= 1000000
FUZZ_SHORT_TIME ?= 5
FUZZ_DICT       := Tests/Fuzz/dict/json.dict
FUZZ_FLAGS      ?= -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20
SWIFTC          ?= swiftc
FUZZ_SOURCES    := $(shell find Sources/XLSTM -name '*.swift') $(wildcard Tests/Fuzz/*.swift)
# The engine imports the CPU detection (C) and the per-ISA kernel modules: built here as in SwiftPM,
# each kernel module for its own ISA (not instrumented: coverage is wanted in the parsers).
FUZZ_ISA_MODULES := $(if $(filter x86_64,$(shell uname -m)),XLSTMKernelsAVX2:haswell XLSTMKernelsAVX512:skylake-avx512,)
FUZZ_ISA_OBJECTS := $(foreach m,$(FUZZ_ISA_MODULES),$(FUZZ_DIR)/$(firstword $(subst :, ,$(m))).o)
# Every C file of CXLSTMCPU (cpu detection, the int8 matvecs and GEMM).
FUZZ_CPU_OBJECT  := $(patsubst Sources/CXLSTMCPU/%.c,$(FUZZ_DIR)/%.o,$(wildcard Sources/CXLSTMCPU/*.c))

.PHONY: fuzz fuzz-build fuzz-replay fuzz-merge fuzz-seeds

fuzz-build: $(FUZZ_BIN)

$(FUZZ_DIR)/%.o: Sources/CXLSTMCPU/%.c Sources/CXLSTMCPU/include/*.h
	@mkdir -p $(FUZZ_DIR)
	$(CC) -O2 -c -I Sources/CXLSTMCPU/include $< -o $@

# (The kernels import CXLSTMCPU for its inline prefetch only.)
$(FUZZ_DIR)/XLSTMKernels%.o: Sources/XLSTMKernels%/*.swift Sources/CXLSTMCPU/include/xlstm_prefetch.h
	@mkdir -p $(FUZZ_DIR)
	$(SWIFTC) -swift-version 6 -O -parse-as-library -module-name XLSTMKernels$* -target-cpu \
	  $(if $(filter AVX512,$*),skylake-avx512,haswell) -emit-module -emit-module-path $(FUZZ_DIR)/XLSTMKernels$*.swiftmodule \
	  -I Sources/CXLSTMCPU/include -c $(filter %.swift,$^) -o $@

$(FUZZ_BIN): $(FUZZ_SOURCES) $(FUZZ_ISA_OBJECTS) $(FUZZ_CPU_OBJECT) | deps
	@mkdir -p $(FUZZ_DIR)
	$(SWIFTC) -swift-version 6 -O -sanitize=fuzzer,address -parse-as-library -module-name XLSTMFuzz -use-ld=lld \
	  -I $(FUZZ_DIR) -I Sources/CJSONC -I Sources/CXLSTMCPU/include \
	  $$(pkg-config --cflags-only-I json-c | sed 's/-I/-Xcc -I/g') \
	  $(FUZZ_SOURCES) $(FUZZ_ISA_OBJECTS) $(FUZZ_CPU_OBJECT) -o $@ $$(pkg-config --libs json-c)
	@for h in $(FUZZ_HARNESSES); do ln -sf xlstm-fuzz $(FUZZ_DIR)/xlstm-fuzz-$$h; done

fuzz: $(FUZZ_BIN)
	@set -e; summary=""; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$h Tests/Fuzz/crashes/$$h; \
	  cp -n Tests/Fuzz/corpus/$$h/* $(FUZZ_DIR)/corpus/$$h/ 2>/dev/null || true; \
	  echo "== fuzz $$h: up to $(FUZZ_TIME) s or $(FUZZ_RUNS) runs (log: $(FUZZ_DIR)/$$h.log)"; \
	  status=0; $(FUZZ_DIR)/xlstm-fuzz-$$h $(FUZZ_FLAGS) -dict=$(FUZZ_DICT) -max_total_time=$(FUZZ_TIME) \
	    -runs=$(FUZZ_RUNS) -print_final_stats=1 -artifact_prefix=Tests/Fuzz/crashes/$$h/ \
	    $(FUZZ_DIR)/corpus/$$h >$(FUZZ_DIR)/$$h.log 2>&1 || status=$$?; \
	  line="fuzz $$h: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' $(FUZZ_DIR)/$$h.log | tail -1), exit $$status"; \
	  echo "$$line"; summary="$$summary$$line\n"; \
	  if [ $$status -ne 0 ]; then tail -40 $(FUZZ_DIR)/$$h.log; fi; \
	done; printf "$$summary"

fuzz-replay: $(FUZZ_BIN)
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  crashes=$$(ls Tests/Fuzz/crashes/$$h/* 2>/dev/null || true); \
	  $(FUZZ_DIR)/xlstm-fuzz-$$h $(FUZZ_FLAGS) -runs=0 Tests/Fuzz/corpus/$$h >$(FUZZ_DIR)/$$h.replay.log 2>&1 \
	    || { tail -30 $(FUZZ_DIR)/$$h.replay.log; echo "fuzz-replay: FAIL: $$h corpus"; exit 1; }; \
	  if [ -n "$$crashes" ]; then $(FUZZ_DIR)/xlstm-fuzz-$$h $(FUZZ_FLAGS) $$crashes >>$(FUZZ_DIR)/$$h.replay.log 2>&1 \
	    || { tail -30 $(FUZZ_DIR)/$$h.replay.log; echo "fuzz-replay: FAIL: $$h regression inputs"; exit 1; }; fi; \
	  work=$$(mktemp -d); cp Tests/Fuzz/corpus/$$h/* $$work/; \
	  $(FUZZ_DIR)/xlstm-fuzz-$$h $(FUZZ_FLAGS) -dict=$(FUZZ_DICT) -max_total_time=$(FUZZ_SHORT_TIME) \
	    -artifact_prefix=$$work/ $$work >$(FUZZ_DIR)/$$h.short.log 2>&1 \
	    || { tail -40 $(FUZZ_DIR)/$$h.short.log; cp $$work/crash-* $$work/leak-* $$work/oom-* $$work/timeout-* \
	         Tests/Fuzz/crashes/$$h/ 2>/dev/null; rm -rf $$work; echo "fuzz-replay: FAIL: $$h (input kept in Tests/Fuzz/crashes/$$h/)"; exit 1; }; \
	  rm -rf $$work; \
	  echo "fuzz-replay: ok: $$h: $$(ls Tests/Fuzz/corpus/$$h | wc -l) corpus inputs, $$(echo $$crashes | wc -w) regression inputs, then $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' $(FUZZ_DIR)/$$h.short.log | tail -1)"; \
	done

fuzz-merge: $(FUZZ_BIN)
	@for h in $(FUZZ_HARNESSES); do \
	  $(FUZZ_DIR)/xlstm-fuzz-$$h $(FUZZ_FLAGS) -merge=1 Tests/Fuzz/corpus/$$h $(FUZZ_DIR)/corpus/$$h 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || true; done

fuzz-seeds: build
	python3 tools/fuzz/make_seeds.py Tests/Fuzz/corpus $(BUILD_DIR)/xlstm-cli

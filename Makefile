# xlstm — front door. `make demo`, `make test`; everything installs what it needs first.
#
#   make demo         build everything and stream text from the bundled model (from C)
#   make build        release build: .build/release/libxlstm.so and .build/release/xlstm-cli
#   make test         the whole suite: Swift tests, CLI checks against the reference fixtures, header
#                     check, C tests under ASan/LSan and TSan (sanitize), Python, fuzz corpus replay
#   make c-test / python-test   the C (ASan) and Python parts of the suite alone
#   make emulated-test  the CLI under qemu-user as an AVX2-only and an SSE-only CPU
#   make arm64-test   the portable kernels built for arm64 (NEON) under qemu-user, against x86-64's
#   make sanitize     c-test plus the thread tests under ThreadSanitizer (mk/sanitize.mk)
#   make fuzz         libFuzzer harnesses (config, safetensors, index, loader, state, sampler, …) for FUZZ_TIME s each
#   make soak         1 000 000 tokens per family through one session: no NaN/Inf, constant state size
#   make bench        step/prefill speed vs the machine's measured limits (THREADS=n)
#   make kernels      regenerate the per-ISA kernel files (tools/kernel-gen)
#   make install      PREFIX=/usr/local: library, header, pkg-config file, the `xlstm` CLI
#   XLSTM_CPU=portable|avx2|avx512   run (tests, bench, CLI) on a lower kernel path than the CPU's best

SWIFT        ?= swift
PREFIX       ?= /usr/local
SWIFT_FLAGS  ?=
BUILD_DIR    := .build/release

.PHONY: all build deps test install clean bench header check-header demo kernels emulated-test arm64-test

all: build

# System packages the build needs: json-c (all JSON parsing) and pkg-config (to find it).
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists json-c; then \
	  echo "== installing libjson-c-dev and pkg-config"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libjson-c-dev pkg-config >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

test: build
	$(SWIFT) build -c release --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test -c release --skip-build $(SWIFT_FLAGS)
	bash Tests/cli/run.sh $(BUILD_DIR)/xlstm-cli
	tools/check-isa.sh $(BUILD_DIR)/libxlstm.so
	python3 tools/kernel-gen/generate.py --check
	$(MAKE) --no-print-directory emulated-test
	$(MAKE) --no-print-directory arm64-test
	$(MAKE) --no-print-directory check-header
	$(MAKE) --no-print-directory sanitize
	$(MAKE) --no-print-directory python-test
	$(MAKE) --no-print-directory fuzz-replay

# The engine on CPUs this machine is not (an AVX2-only Haswell, an SSE-only Nehalem) under
# qemu-user's emulation, which has no AVX-512: the dispatch picks their paths and the fixtures match.
emulated-test: build
	@if [ "$$(uname -m)" = x86_64 ] && ! command -v qemu-x86_64 >/dev/null 2>&1; then \
	  echo "== installing qemu-user"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq qemu-user >/dev/null; \
	fi
	bash Tests/cli/emulated.sh $(BUILD_DIR)/xlstm-cli

# The portable kernels as arm64 code (NEON FMA) under qemu-user, checked against the x86-64
# portable path (Tests/arm64/run.sh); on an arm64 host the suite itself runs them natively.
arm64-test:
	@if [ "$$(uname -m)" != x86_64 ]; then echo "== arm64-test: not an x86-64 host (the suite runs this CPU's kernels)"; exit 0; fi; \
	if ! command -v qemu-aarch64 >/dev/null 2>&1 || ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then \
	  echo "== installing qemu-user and gcc-aarch64-linux-gnu"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu >/dev/null; \
	fi; \
	bash Tests/arm64/run.sh

# The bundled model streaming text from C, through libxlstm.so.
DEMO_MODEL  ?= examples/models/fortunes-xlstm/model
DEMO_PROMPT ?= The meaning of life is
demo: build c-examples
	@echo "== $(DEMO_MODEL): \"$(DEMO_PROMPT)\""
	@$(C_BUILD)/simple $(DEMO_MODEL) --prompt "$(DEMO_PROMPT)" --n 400 --temperature 0.8 --seed $(or $(SEED),42)

# Speed vs this machine's measured peak FMA rate and memory bandwidth (prints ratios; not a test).
bench: build
	$(BUILD_DIR)/xlstm-bench --threads $(or $(THREADS),1)
	$(BUILD_DIR)/xlstm-bench --threads $(or $(THREADS),1) --dtype bf16

# The portable, AVX2 and AVX-512 kernel files are generated from one template.
kernels:
	python3 tools/kernel-gen/generate.py

# The public header is generated from Sources/XLSTMCABI (never edit include/xlstm.h by hand).
header:
	tools/header-gen/run.sh

# The committed header and manifest are what the sources generate, compile clean as C and C++,
# and list exactly the symbols libxlstm.so exports.
check-header: build
	tools/header-gen/run.sh --check
	tools/header-gen/check-header.sh $(BUILD_DIR)/libxlstm.so

install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(BUILD_DIR)/libxlstm.so $(DESTDIR)$(PREFIX)/lib/libxlstm.so
	install -m 0755 $(BUILD_DIR)/xlstm-cli $(DESTDIR)$(PREFIX)/bin/xlstm
	install -m 0644 include/xlstm.h $(DESTDIR)$(PREFIX)/include/xlstm.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(XLSTM_VERSION)|g' xlstm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/xlstm.pc

clean:
	rm -rf .build .build-fuzz .build-tsan

include mk/c.mk
include mk/python.mk
include mk/fuzz.mk
include mk/sanitize.mk

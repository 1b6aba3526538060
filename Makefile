# xlstm — front door. `make build`, `make test`; everything installs what it needs first.
#
#   make build        release build: .build/release/libxlstm.so and .build/release/xlstm-cli
#   make test         the whole suite (Swift tests + CLI checks against the reference fixtures)
#   make bench        step/prefill speed vs the machine's measured limits (THREADS=n)
#   make install      PREFIX=/usr/local: library, header, pkg-config file, the `xlstm` CLI
#   XLSTM_PORTABLE=1  build without AVX2/FMA (any x86-64 / other architectures)

SWIFT        ?= swift
PREFIX       ?= /usr/local
SWIFT_FLAGS  ?=
BUILD_DIR    := .build/release
export XLSTM_PORTABLE

.PHONY: all build deps test install clean bench

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

# Speed vs this machine's measured peak FMA rate and memory bandwidth (prints ratios; not a test).
bench: build
	$(BUILD_DIR)/xlstm-bench --threads $(or $(THREADS),1)
	$(BUILD_DIR)/xlstm-bench --threads $(or $(THREADS),1) --dtype bf16

install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(BUILD_DIR)/libxlstm.so $(DESTDIR)$(PREFIX)/lib/libxlstm.so
	install -m 0755 $(BUILD_DIR)/xlstm-cli $(DESTDIR)$(PREFIX)/bin/xlstm

clean:
	rm -rf .build

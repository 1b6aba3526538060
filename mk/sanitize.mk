# Sanitizer suites (issue #13). Included by the top-level Makefile; `make test` runs `make sanitize`.
#
#   make sanitize     c-test (the C tests and examples under AddressSanitizer + UBSan + LeakSanitizer,
#                     mk/c.mk) and tsan-test
#   make tsan-test    libxlstm.so built with -sanitize=thread in its own build directory
#                     (.build-tsan), then Tests/c/test_threads.c (32 threads on one model, pooled sessions,
#                     concurrent loads) and Tests/c/test_api.c built with the toolchain's clang
#                     -fsanitize=thread against it; any ThreadSanitizer report fails the run
#                     (suppressions: Tests/c/tsan.supp, false positives of the uninstrumented Swift runtime only)
#
# The C side must use the Swift toolchain's clang: its TSan runtime is the one the Swift code was
# instrumented for (and it wants the toolchain's libdispatch / BlocksRuntime, hence the -l flags).

TSAN_BUILD    := .build-tsan
TSAN_LIB_DIR  := $(TSAN_BUILD)/release
TSAN_CC       ?= $(dir $(realpath $(shell command -v $(SWIFT))))clang
SWIFT_LIB_DIR  = $(dir $(realpath $(shell command -v $(SWIFT))))../lib/swift/linux
TSAN_TESTS    := $(addprefix $(C_BUILD)/tsan/,test_threads test_api)
TSAN_OPTIONS_ := halt_on_error=1 exitcode=66 suppressions=$(abspath Tests/c/tsan.supp)

.PHONY: sanitize tsan-build tsan-test

sanitize: c-test tsan-test

tsan-build: deps
	$(SWIFT) build -c release --scratch-path $(TSAN_BUILD) -Xswiftc -sanitize=thread --product xlstm $(SWIFT_FLAGS)

$(C_BUILD)/tsan:
	@mkdir -p $@

$(C_BUILD)/tsan/test_%: Tests/c/test_%.c Tests/c/check.h $(C_INCLUDE)/xlstm.h tsan-build | $(C_BUILD)/tsan
	$(TSAN_CC) $(C_WARNINGS) -O1 -g -fsanitize=thread -I $(C_INCLUDE) $< -o $@ \
	  -L $(TSAN_LIB_DIR) -lxlstm -Wl,-rpath,$(abspath $(TSAN_LIB_DIR)) \
	  -L $(SWIFT_LIB_DIR) -ldispatch -lBlocksRuntime -Wl,-rpath,$(SWIFT_LIB_DIR) -pthread -lm

tsan-test: $(TSAN_TESTS)
	@status=0; for t in $(TSAN_TESTS); do \
	  log=$$t.tsan.log; TSAN_OPTIONS="$(TSAN_OPTIONS_)" TMPDIR=$${TMPDIR:-/tmp} $$t $(C_FIXTURES) >$$log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' $$log; then \
	    grep -E '^(FAIL|  )' $$log | head -20; grep -A30 'WARNING: ThreadSanitizer' $$log | head -60; \
	    echo "tsan-test: FAIL: $$t (exit $$rc; log: $$log)"; status=1; \
	  else echo "tsan-test: ok: $$(tail -1 $$log), no ThreadSanitizer reports"; \
	    grep -E '^ok .*\(' $$log | sed 's/^/  /'; fi; \
	done; exit $$status

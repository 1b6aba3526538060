# The C side of the suite: examples, C tests, ABI conformance, install check.
# Included by the top-level Makefile (which defines BUILD_DIR, PREFIX, `build` and `install`).
#
#   make c-examples       build examples/c/{simple,state,npc,text} into .build/c/
#   make c-test           build and run the C tests (AddressSanitizer + UBSan + LeakSanitizer), the
#                         libffi ABI conformance test and the examples; ends "c: N passed, M failed"
#   make c-install-check  `make install` into a temporary prefix, then build examples/c/simple there
#                         with `cc app.c $(pkg-config --cflags --libs xlstm)` and run it
#   make soak             SOAK_TOKENS (default 1 000 000) tokens through one session of a small model of
#                         each family: no NaN/Inf in logits or state, constant state size (c-test: 20 000)
#   make c-valgrind       the C tests without sanitizers under valgrind memcheck, which, unlike ASan,
#                         also checks the library's own (uninstrumented Swift) memory accesses; ~8 min
#
# CC defaults to cc; C_OPT to -O2 -g. Everything compiles with -std=c11 -Wall -Wextra -Wpedantic -Werror.

BUILD_DIR    ?= .build/release
C_BUILD      ?= .build/c
C_FIXTURES   := Tests/Fixtures
C_INCLUDE    ?= include
C_MANIFEST   := $(C_INCLUDE)/xlstm.abi.json
C_OPT        ?= -O2 -g
C_WARNINGS   := -std=c11 -Wall -Wextra -Wpedantic -Werror
C_SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
C_LINK_XLSTM := -L $(BUILD_DIR) -lxlstm -Wl,-rpath,$(abspath $(BUILD_DIR))
# The library version for xlstm.pc, from the generated header's XLSTM_VERSION_{MAJOR,MINOR,PATCH}.
XLSTM_VERSION = $(shell awk '/define XLSTM_VERSION_(MAJOR|MINOR|PATCH) / { v[$$2] = $$3 } \
                  END { print v["XLSTM_VERSION_MAJOR"] "." v["XLSTM_VERSION_MINOR"] "." v["XLSTM_VERSION_PATCH"] }' $(C_INCLUDE)/xlstm.h)

C_EXAMPLES   := $(C_BUILD)/simple $(C_BUILD)/state $(C_BUILD)/npc $(C_BUILD)/text
C_ASAN_BINS  := $(addprefix $(C_BUILD)/asan/,test_api test_logits test_state test_sampler test_bad_input test_threads test_batch test_memory test_tokenizer test_quantize abi_conformance simple state npc text)

C_PLAIN_TESTS := $(addprefix $(C_BUILD)/plain/,test_api test_logits test_state test_sampler test_bad_input test_threads test_batch test_tokenizer test_quantize)

.PHONY: c-deps c-examples c-test c-install-check c-valgrind soak

# libffi and json-c headers for the conformance test (installed like `deps` installs json-c).
c-deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libffi json-c; then \
	  echo "== installing libffi-dev, libjson-c-dev and pkg-config"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libffi-dev libjson-c-dev pkg-config >/dev/null; \
	fi

c-examples: $(C_EXAMPLES)

$(C_BUILD) $(C_BUILD)/asan $(C_BUILD)/plain:
	@mkdir -p $@

# Examples: plain builds (what people copy) and sanitized ones (for the suite).
$(C_BUILD)/simple: examples/c/simple/simple.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)
	$(CC) $(C_WARNINGS) $(C_OPT) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/state: examples/c/state/state.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)
	$(CC) $(C_WARNINGS) $(C_OPT) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/npc: examples/c/npc/npc.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)
	$(CC) $(C_WARNINGS) $(C_OPT) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/text: examples/c/text/text.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)
	$(CC) $(C_WARNINGS) $(C_OPT) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/asan/text: examples/c/text/text.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/asan/npc: examples/c/npc/npc.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/asan/simple: examples/c/simple/simple.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)
$(C_BUILD)/asan/state: examples/c/state/state.c $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM)

# Tests through the header.
$(C_BUILD)/asan/test_%: Tests/c/test_%.c Tests/c/check.h $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM) -pthread -lm

$(C_BUILD)/plain/test_%: Tests/c/test_%.c Tests/c/check.h $(C_INCLUDE)/xlstm.h | build $(C_BUILD)/plain
	$(CC) $(C_WARNINGS) $(C_OPT) -I $(C_INCLUDE) $< -o $@ $(C_LINK_XLSTM) -pthread -lm

# The ABI conformance test knows no header: it reads the manifest and dlopens the library.
$(C_BUILD)/asan/abi_conformance: Tests/c/abi_conformance.c | c-deps $(C_BUILD)/asan
	$(CC) $(C_WARNINGS) $(C_OPT) $(C_SANITIZE) $$(pkg-config --cflags libffi json-c) $< -o $@ \
	  $$(pkg-config --libs libffi json-c) -ldl -lm

c-test: build c-deps $(C_EXAMPLES) $(C_ASAN_BINS) $(C_BUILD)/plain/test_memory $(C_BUILD)/plain/test_soak $(C_BUILD)/plain/test_alloc $(C_BUILD)/plain/test_oom
	@CC="$(CC)" bash Tests/c/run.sh $(C_BUILD) $(C_FIXTURES) $(BUILD_DIR) $(C_MANIFEST)

# Install into a fresh prefix, then build and run an application the way a user would.
c-install-check: build $(C_BUILD)/simple
	@set -e; prefix=$$(mktemp -d); trap 'rm -rf "$$prefix"' EXIT; \
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) install PREFIX=$$prefix >/dev/null; \
	export PKG_CONFIG_PATH=$$prefix/lib/pkgconfig; \
	for f in lib/libxlstm.so include/xlstm.h lib/pkgconfig/xlstm.pc; do \
	  test -f $$prefix/$$f || { echo "c-install-check: FAIL: make install did not install $$f"; exit 1; }; done; \
	mkdir $$prefix/app; cp examples/c/simple/simple.c $$prefix/app/app.c; \
	echo "c-install-check: pkg-config xlstm $$(pkg-config --modversion xlstm): $$(pkg-config --cflags --libs xlstm)"; \
	(cd $$prefix/app && $(CC) $(C_WARNINGS) app.c $$(pkg-config --cflags --libs xlstm) -o app); \
	LD_LIBRARY_PATH=$$prefix/lib $$prefix/app/app $(C_FIXTURES)/paper_mixed/model --tokens 1,2,3 --n 16 --seed 9 \
	  >$$prefix/app/out 2>/dev/null; \
	$(C_BUILD)/simple $(C_FIXTURES)/paper_mixed/model --tokens 1,2,3 --n 16 --seed 9 2>/dev/null | cmp -s - $$prefix/app/out \
	  || { echo "c-install-check: FAIL: the installed build prints other tokens"; exit 1; }; \
	LD_LIBRARY_PATH=$$prefix/lib ldd $$prefix/app/app | grep -q "$$prefix/lib/libxlstm.so" \
	  || { echo "c-install-check: FAIL: app does not use the installed libxlstm.so"; exit 1; }; \
	echo "c-install-check: ok: installed to a temporary prefix, built app.c with pkg-config, ran it: $$(cat $$prefix/app/out)"

# "possibly lost" blocks are the Swift runtime's metadata caches (interior pointers); only definite
# and indirect leaks count.
c-valgrind: $(C_PLAIN_TESTS)
	@for t in $(C_PLAIN_TESTS); do \
	  valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect $$t $(C_FIXTURES) >$$t.valgrind.log 2>&1 \
	    || { grep -v '^ok' $$t.valgrind.log; echo "c-valgrind: FAIL: $$t (log: $$t.valgrind.log)"; exit 1; }; \
	  echo "c-valgrind: $$(tail -1 $$t.valgrind.log), no valgrind errors"; done

SOAK_TOKENS ?= 1000000
soak: $(C_BUILD)/plain/test_soak
	@$(C_BUILD)/plain/test_soak $(C_FIXTURES) $(SOAK_TOKENS)

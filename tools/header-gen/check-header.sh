#!/usr/bin/env bash
# Checks include/xlstm.h and include/xlstm.abi.json against each other, against the compilers and
# against the built library:
#
#   tools/header-gen/check-header.sh .build/release/libxlstm.so
#
#   1. abi-check-gen (C, json-c) reads the manifest and writes a test TU that includes the header
#      and checks, at compile time, macro and enumerator values, enum sizes, struct sizes,
#      alignments, field offsets/sizes/types, every function's prototype and every "ffi" kind's size.
#   2. That TU compiles warning-free (-Wall -Wextra -Wpedantic -Werror) with gcc and clang as C99,
#      C11 and C17, and with g++ and clang++ as C++11, C++17 and C++20.
#   3. It is linked against the library (as C and as C++: extern "C" linkage) and run: the version
#      functions must agree with the header's macros.
#   4. The xlstm_* symbols the library exports (nm -D --defined-only) are exactly the manifest's
#      functions, and so are the functions the header declares.
#   5. Swift's MemoryLayout of the structs (compiled from the Swift files that declare them) is the
#      manifest's C layout; the enums' raw values and the macros' values are the manifest's.
#
# Environment: CC_GCC, CXX_GCC, CC_CLANG, CXX_CLANG, SWIFTC override the compilers;
# XLSTM_ROOT the repository (default: the one holding this script).
set -euo pipefail

if [ $# -ne 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    echo "usage: tools/header-gen/check-header.sh PATH/TO/libxlstm.so" >&2
    exit 2
fi
lib="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -f "$lib" ] || { echo "check-header: no library at $1 (build it first: make build)" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${XLSTM_ROOT:-$(cd "$here/../.." && pwd)}"
include="$root/include"
manifest="$include/xlstm.abi.json"
header="$include/xlstm.h"
sources="$root/Sources/XLSTMCABI"

find_tool() { # first of the candidates that exists
    for candidate in "$@"; do
        if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}
cc_gcc="${CC_GCC:-$(find_tool gcc)}"
cxx_gcc="${CXX_GCC:-$(find_tool g++)}"
cc_clang="${CC_CLANG:-$(find_tool clang /opt/swift/usr/bin/clang)}"
cxx_clang="${CXX_CLANG:-$(find_tool clang++ /opt/swift/usr/bin/clang++)}"
swiftc="${SWIFTC:-$(find_tool swiftc)}"

work="$(mktemp -d "${TMPDIR:-/tmp}/xlstm-check-header.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
step() { echo "== $*"; }

step "abi-check-gen: reading $manifest"
if ! pkg-config --exists json-c; then
    echo "check-header: json-c not found (pkg-config json-c); run make deps / make build first" >&2
    exit 2
fi
# shellcheck disable=SC2046
"$cc_gcc" -std=c99 -O1 -Wall -Wextra -Werror "$here/abi-check-gen.c" $(pkg-config --cflags --libs json-c) \
    -o "$work/abi-check-gen"
"$work/abi-check-gen" "$manifest" "$work"

flags=(-Wall -Wextra -Wpedantic -Werror -I "$include")
step "compiling the header and the checks (${flags[*]})"
for compiler in "$cc_gcc" "$cc_clang"; do
    for std in c99 c11 c17; do
        if "$compiler" -std="$std" "${flags[@]}" -x c -c "$work/abi_check.c" -o "$work/abi_check.o" 2>"$work/log"; then
            echo "ok   $(basename "$compiler") -std=$std"
        else
            cat "$work/log" >&2; fail "$(basename "$compiler") -std=$std"
        fi
    done
done
for compiler in "$cxx_gcc" "$cxx_clang"; do
    for std in c++11 c++17 c++20; do
        if "$compiler" -std="$std" "${flags[@]}" -x c++ -c "$work/abi_check.c" -o "$work/abi_check.o" 2>"$work/log"; then
            echo "ok   $(basename "$compiler") -std=$std"
        else
            cat "$work/log" >&2; fail "$(basename "$compiler") -std=$std"
        fi
    done
done

step "linking against $lib and running"
libdir="$(dirname "$lib")"
if "$cc_gcc" -std=c11 "${flags[@]}" -x c "$work/abi_check.c" -x none "$lib" -Wl,-rpath,"$libdir" -o "$work/abi_check_c" 2>"$work/log" \
   && "$work/abi_check_c"; then
    echo "ok   C program"
else
    cat "$work/log" >&2; fail "C program linked against the library"
fi
if "$cxx_gcc" -std=c++17 "${flags[@]}" -x c++ "$work/abi_check.c" -x none "$lib" -Wl,-rpath,"$libdir" -o "$work/abi_check_cxx" 2>"$work/log" \
   && "$work/abi_check_cxx" >/dev/null; then
    echo "ok   C++ program"
else
    cat "$work/log" >&2; fail "C++ program linked against the library (extern \"C\")"
fi

step "exported symbols of $(basename "$lib") == functions of the manifest == functions of the header"
nm -D --defined-only "$lib" | awk '$3 ~ /^xlstm_/ { print $3 }' | sort > "$work/exported.txt"
nm -D --defined-only "$lib" | awk '$3 ~ /^xlstm_/ && $2 != "T" { print $3 " (" $2 ")" }' > "$work/not_functions.txt"
if [ -s "$work/not_functions.txt" ]; then
    fail "exported xlstm_* symbols that are not functions: $(tr '\n' ' ' < "$work/not_functions.txt")"
fi
if diff -u --label "functions in $(basename "$manifest")" --label "xlstm_* symbols exported by $(basename "$lib")" \
        "$work/functions.txt" "$work/exported.txt"; then
    echo "ok   $(wc -l < "$work/exported.txt") functions"
else
    fail "the library exports other functions than the manifest declares (rebuild the library, or run make header)"
fi
sed -n 's/^XLSTM_API .*[ *]\(xlstm_[A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort > "$work/declared.txt"
if ! diff -u --label "functions in $(basename "$manifest")" --label "functions declared in $(basename "$header")" \
        "$work/functions.txt" "$work/declared.txt"; then
    fail "the header declares other functions than the manifest (run make header)"
fi

step "Swift layout of the same declarations"
swift_files=()
while IFS= read -r file; do swift_files+=("$sources/$file"); done < "$work/swift_files.txt"
cp "$work/layout_check.swift" "$work/main.swift"
if "$swiftc" -swift-version 6 "${swift_files[@]}" "$work/main.swift" -o "$work/layout_check" 2>"$work/log" \
   && "$work/layout_check"; then
    echo "ok   Swift MemoryLayout"
else
    cat "$work/log" >&2
    fail "Swift's layout differs from the manifest's, or ${swift_files[*]##*/} do not compile on their own"
fi

if [ "$failures" -ne 0 ]; then
    echo "check-header: $failures check(s) failed" >&2
    exit 1
fi
echo "check-header: all checks passed"

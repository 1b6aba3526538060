#!/usr/bin/env bash
# Regenerates include/xlstm.h and include/xlstm.abi.json from Sources/XLSTMCABI/*.swift.
#
#   tools/header-gen/run.sh                write both files (an unchanged file keeps its mtime)
#   tools/header-gen/run.sh --check        regenerate into a temporary directory and compare with
#                                          the files in include/: exit 1 with a unified diff if
#                                          they differ (CI), 0 if they are up to date
#   tools/header-gen/run.sh --root DIR …   work on the tree at DIR instead of this repository
#
# The generator (tools/header-gen, a package of its own: swift-syntax) is built first. It is built
# in debug mode: on the 2-core development machine swift-syntax takes ~3.5 min to build cold in debug
# and ~12 min in release, and the generator runs in 0.3 s either way (with identical output).
# HEADER_GEN_CONFIGURATION=release overrides that; SWIFT overrides `swift`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
check=0
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1 ;;
        --root) [ $# -ge 2 ] || { echo "run.sh: --root needs a directory" >&2; exit 2; }
                root="$(cd "$2" && pwd)"; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

swift="${SWIFT:-swift}"
configuration="${HEADER_GEN_CONFIGURATION:-debug}"
log="$(mktemp "${TMPDIR:-/tmp}/xlstm-header-gen-build.XXXXXX")"
if ! "$swift" build --package-path "$here" -c "$configuration" --product xlstm-header-gen >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "run.sh: building the generator failed" >&2
    exit 2
fi
rm -f "$log"
generator="$("$swift" build --package-path "$here" -c "$configuration" --show-bin-path)/xlstm-header-gen"

# Paths relative to the root, so that messages and outputs do not depend on where the tree is.
cd "$root"
if [ "$check" -eq 0 ]; then
    exec "$generator" Sources/XLSTMCABI include/xlstm.h include/xlstm.abi.json
fi

fresh="$(mktemp -d "${TMPDIR:-/tmp}/xlstm-header-check.XXXXXX")"
trap 'rm -rf "$fresh"' EXIT
"$generator" Sources/XLSTMCABI "$fresh/xlstm.h" "$fresh/xlstm.abi.json" >/dev/null
stale=0
for name in xlstm.h xlstm.abi.json; do
    if ! diff -u -N --label "include/$name (committed)" --label "include/$name (generated from Sources/XLSTMCABI)" \
            "include/$name" "$fresh/$name"; then
        stale=1
    fi
done
if [ "$stale" -ne 0 ]; then
    echo "run.sh --check: include/xlstm.h or include/xlstm.abi.json is out of date with Sources/XLSTMCABI;" \
         "run tools/header-gen/run.sh (make header) and commit the result" >&2
    exit 1
fi
echo "run.sh --check: include/xlstm.h and include/xlstm.abi.json are up to date"

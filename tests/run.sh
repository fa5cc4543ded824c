#!/bin/bash
# Runs every test: the C unit tests (build/tests/test_*) and the bats system
# tests (tests/system/*.bats), and ends with one line
# "N passed, N failed, N skipped".  Extra arguments are bats files to run
# instead of all of them (unit tests then run only if "unit" is given).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BARGE_BUILD=$PWD/$BUILD
passed=0 failed=0 skipped=0
log=$(mktemp /tmp/barge-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

count_tap() { # reads TAP on stdin, echoes it, updates counters via file
        while IFS= read -r line; do
                printf '%s\n' "$line"
                case "$line" in
                "not ok "*) echo F >>"$log" ;;
                "ok "*"# skip"* | "ok "*"# SKIP"*) echo S >>"$log" ;;
                "ok "*) echo P >>"$log" ;;
                esac
        done
}

want_unit=1 bats_files=()
if [ $# -gt 0 ]; then
        want_unit=0
        for a in "$@"; do
                if [ "$a" = unit ]; then want_unit=1; else bats_files+=("$a"); fi
        done
else
        bats_files=(tests/system/*.bats)
fi

if [ "$want_unit" = 1 ]; then
        # the plain build, then the same tests under ASan/UBSan (make asan)
        for t in "$BUILD"/tests/test_* "$BUILD"/asan/tests/test_*; do
                [ -x "$t" ] || continue
                echo "# unit: $t"
                "$t" 2>&1 | count_tap
        done
fi
if [ ${#bats_files[@]} -gt 0 ] && [ -e "${bats_files[0]}" ]; then
        bats --tap --timing "${bats_files[@]}" 2>&1 | count_tap
fi
passed=$(grep -c P "$log")
failed=$(grep -c F "$log")
skipped=$(grep -c S "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ $((passed + skipped)) -gt 0 ]

#!/bin/sh
# Run every test file and end with one line: "N passed, N failed".
# Usage: tests/run.sh [FILE.bats ...]
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || set -- tests/*.bats
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bats --tap "$@" | tee "$log"
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -n 1)
# A crash of bats itself leaves tests that never reported: count them.
missing=$(( ${planned:-0} - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/bin/bash
# tests/crash/run.sh - the crash loops, CRASH_KILLS kills each (make crash)
# Usage: CRASH_KILLS=200 tests/crash/run.sh [append|handle|command|key ...]
# Each loop prints one line of figures; the exit status is 0 only when
# every loop held every check after every kill.
cd "$(dirname "$0")" || exit 1
[ $# -gt 0 ] || set -- append handle command key
failed=0
for loop in "$@"; do
	start=$(date +%s)
	if bash "./$loop.sh"; then
		echo "crash: $loop: ok in $(( $(date +%s) - start )) s"
	else
		failed=1
	fi
done
exit $failed

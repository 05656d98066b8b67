#!/bin/sh
# Run each fuzz target for FUZZ_RUNS inputs from its seed corpus, and end
# with one line per target: executions, corpus size, time.
# Usage: tests/fuzz/run.sh [TARGET...]       (after make -f tests/fuzz/fuzz.mk)
# Environment: FUZZ_RUNS, FUZZ_MAX_LEN, FUZZ_SEED (0: random), FUZZ_BUILD.
#
# Seeds are read from tests/fuzz/corpus/TARGET/ and never written: what a
# run finds goes to build/fuzz/corpus/TARGET/ (kept between runs, so each
# run starts where the last one ended), a crash to build/fuzz/artifacts/.
# Exit status 0 only when every target ran its inputs without a finding.
cd "$(dirname "$0")/../.." || exit 1
B=${FUZZ_BUILD:-build/fuzz}
runs=${FUZZ_RUNS:-200000}
max_len=${FUZZ_MAX_LEN:-4096}
seed=${FUZZ_SEED:-0}
[ $# -gt 0 ] || set -- $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')

# LeakSanitizer at the end of each input, UBSan reports fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=
for t in "$@"; do
	mkdir -p "$B/corpus/$t" "$B/artifacts" "$B/logs"
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
	[ -z "$dict" ] && [ -f tests/fuzz/json.dict ] && dict=-dict=tests/fuzz/json.dict
	log=$B/logs/$t.log
	start=$(date +%s)
	echo "fuzz: $t: $runs runs" >&2
	# shellcheck disable=SC2086
	if "$B/$t" -runs="$runs" -max_len="$max_len" -seed="$seed" \
		-timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/artifacts/$t-" $dict \
		"$B/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed=1
		tail -n 40 "$log" >&2
	fi
	secs=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	files=$(ls "$B/corpus/$t" | wc -l)
	line=$(printf '%-14s %-6s %10s execs %6s s  cov %5s  corpus %5s (seed %s)' \
		"$t" "$status" "${execs:-?}" "$secs" "${cov:-?}" "$files" \
		"$(sed -n 's/^INFO: Seed: //p' "$log" | head -n 1)")
	echo "$line"
	summary="$summary$line
"
done
printf '%s' "$summary" >"$B/summary.txt"
exit $failed

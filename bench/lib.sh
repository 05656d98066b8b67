# bench/lib.sh - the timing and arithmetic the bench scripts share (sourced
# by sh; the scripts run from the top of the tree).

# timed CMD [ARG...]: sync, then run CMD once; set t (seconds) and kb (peak
# RSS in KiB, when TIME names /usr/bin/time and tmp a scratch directory;
# else 0); return CMD's exit status.  Redirections apply to CMD.
timed() {
	sync
	t0=$(date +%s%N)
	rc=0
	if [ -n "${TIME:-}" ]; then
		"$TIME" -f %M -o "$tmp/rss" "$@" || rc=$?
	else
		"$@" || rc=$?
	fi
	t1=$(date +%s%N)
	t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
	kb=0
	[ -z "${TIME:-}" ] || kb=$(tail -n 1 "$tmp/rss")
	return $rc
}

# best-of bookkeeping: best_t is the shortest time, best_kb the largest RSS
best_reset() { best_t=; best_kb=0; }
best_note() {
	best_t=$(awk -v a="${best_t:-inf}" -v b="$t" 'BEGIN { print (a == "inf" || b + 0 < a + 0) ? b : a }')
	[ "$kb" -le "$best_kb" ] || best_kb=$kb
}

# rate N SECONDS: N per second, a whole number; commas N: 1,234,567
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", n / t }'; }
commas() { echo "$1" | awk '{ s = $1; r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } print s r }'; }
# ge A B: A >= B, as numbers
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

#!/bin/sh
# bench/tail.sh: evt-tail's commit-to-print latency and its idle CPU use.
#
#   sh bench/tail.sh                 (make bench runs it too)
#   BENCH_TAIL_N=1000                events appended (1000)
#   BENCH_TAIL_RATE=100              events per second (100)
#   BENCH_TAIL_IDLE=10               seconds evt-tail is left idle (10)
#
# Method. bench/tail_drive.c runs one evt-append process per event, on an
# absolute schedule of BENCH_TAIL_RATE a second, on a SQLite store with
# durable commits (the default). It notes CLOCK_MONOTONIC just before the
# spawn (sent; each event carries it) and just after waitpid (commit: the
# moment evt-append is known to be done). evt-tail's stdout is a pipe to
# bench/tail_stamp.c, which notes CLOCK_MONOTONIC right after the read(2)
# that completed each line (arrival). Latency is arrival - commit; a line
# that arrives before its evt-append has exited (the commit was seen while
# the process was still ending) counts as 0. arrival - sent, which adds
# process start and the commit itself, is shown beside it. Percentiles are
# nearest-rank.
#
# Idle CPU: a second evt-tail on the same store, nothing appended, for
# BENCH_TAIL_IDLE seconds after a second to settle: utime + stime from
# /proc/PID/stat (clock ticks) and the run time of /proc/PID/schedstat
# (nanoseconds), both as differences over the idle time.
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

N=${BENCH_TAIL_N:-1000}
RATE=${BENCH_TAIL_RATE:-100}
IDLE=${BENCH_TAIL_IDLE:-10}
for v in "$N" "$RATE" "$IDLE"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

bin=$root/bin
out=$root/bench/out
for p in evt-tail evt-append; do
	[ -x "$bin/$p" ] || { echo "bench: $bin/$p not built (run make)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-tail-bench.XXXXXX")
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

progress() { printf '%s\n' "bench: $*" >&2; }

# lines FILE: the number of lines of FILE (0 when missing)
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# wait_for SECONDS COMMAND...: poll COMMAND every 10 ms until it succeeds;
# fail after SECONDS
wait_for() {
	_end=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -le "$_end" ] || return 1
		sleep 0.01
	done
}

has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# cpu PID: "TICKS NS", the CPU time of PID so far: utime + stime from
# /proc/PID/stat (field 2, the command name, has no space for evt-tail),
# and the first field of /proc/PID/schedstat (0 when the kernel lacks it)
cpu() {
	_t=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
	_n=0
	[ ! -r "/proc/$1/schedstat" ] || _n=$(awk '{ print $1 }' "/proc/$1/schedstat")
	echo "$_t $_n"
}

ok() { if awk "BEGIN { exit !($1) }"; then echo ok; else echo MISS; fi; }

# ---- tools ----------------------------------------------------------------

mkdir -p "$out"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/tail_drive" bench/tail_drive.c
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/tail_stamp" bench/tail_stamp.c

# ---- latency --------------------------------------------------------------

db=$tmp/tail.db
"$bin/evt-append" -q -d "$db" warm w1 '{"type":"warm"}'

mkfifo "$tmp/fifo"
"$out/tail_stamp" <"$tmp/fifo" >"$tmp/stamps" &
stamp_pid=$!
pids="$pids $stamp_pid"
"$bin/evt-tail" -d "$db" >"$tmp/fifo" &
tail_pid=$!
pids="$pids $tail_pid"

# Ready when a marker appended after the start is printed: evt-tail prints
# only what commits after it has read the store's end.
progress "waiting for evt-tail to follow the store"
ready=
end=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -le "$end" ]; do
	"$bin/evt-append" -q -d "$db" ready r1 '{"type":"ready"}'
	if wait_for 1 has_lines "$tmp/stamps" 1; then ready=yes; break; fi
done
[ -n "$ready" ] || { echo "bench: evt-tail printed no marker in 10 s" >&2; exit 1; }
markers=$(lines "$tmp/stamps")

progress "$N events at $RATE a second, one evt-append each"
"$out/tail_drive" "$N" "$RATE" "$bin/evt-append" "$db" >"$tmp/drive"
if ! wait_for 10 has_lines "$tmp/stamps" $((markers + N)); then
	echo "bench: evt-tail printed $(( $(lines "$tmp/stamps") - markers )) of $N events in 10 s" >&2
	exit 1
fi
kill -TERM "$tail_pid"
rc=0
wait "$tail_pid" || rc=$?
[ "$rc" -eq 0 ] || { echo "bench: evt-tail exited $rc on SIGTERM" >&2; exit 1; }
wait "$stamp_pid"
pids=

# per event: i, commit to print (negative as 0), spawn to print, 1 when
# negative, the evt-append process time, commit to print (signed); in ms
awk 'NR == FNR { sent[$1] = $2; commit[$1] = $3; next }
	$1 > 0 {
		if (!($1 in commit) || ($1 in seen)) { print "bad " $1; next }
		seen[$1] = 1
		c = ($2 - commit[$1]) / 1e6
		print $1, (c < 0 ? 0 : c), ($2 - sent[$1]) / 1e6, (c < 0 ? 1 : 0),
		    (commit[$1] - sent[$1]) / 1e6, c
	}' "$tmp/drive" "$tmp/stamps" >"$tmp/lat"
if grep -q '^bad' "$tmp/lat" || [ "$(lines "$tmp/lat")" -ne "$N" ]; then
	echo "bench: evt-tail printed events twice or not at all" >&2
	exit 1
fi
# the i values in arrival order must be 1..N
awk '$1 > 0 { print $1 }' "$tmp/stamps" >"$tmp/order"
seq "$N" | cmp -s - "$tmp/order" || { echo "bench: evt-tail printed events out of order" >&2; exit 1; }

# pct COLUMN P: the nearest-rank P-th percentile of column COLUMN of lat
pct() {
	sort -g -k "$1,$1" "$tmp/lat" |
		awk -v c="$1" -v p="$2" -v n="$N" '
			BEGIN { r = int((p * n + 99) / 100); if (r < 1) r = 1 }
			NR == r { printf "%.2f", $c }'
}
c_med=$(pct 2 50); c_p99=$(pct 2 99); c_max=$(pct 2 100)
s_med=$(pct 3 50); s_p99=$(pct 3 99)
a_med=$(pct 5 50)
u_med=$(pct 6 50); u_p99=$(pct 6 99)
early=$(awk '{ n += $4 } END { print n + 0 }' "$tmp/lat")

# ---- idle CPU -------------------------------------------------------------

progress "evt-tail idle for $IDLE s"
"$bin/evt-tail" -d "$db" >/dev/null &
idle_pid=$!
pids=$idle_pid
sleep 1
c=$(cpu "$idle_pid")
t0=${c% *} n0=${c#* }
sleep "$IDLE"
c=$(cpu "$idle_pid")
t1=${c% *} n1=${c#* }
kill -TERM "$idle_pid"
rc=0
wait "$idle_pid" || rc=$?
pids=
[ "$rc" -eq 0 ] || { echo "bench: idle evt-tail exited $rc on SIGTERM" >&2; exit 1; }
hz=$(getconf CLK_TCK)
idle_ms=$(awk -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN { printf "%d", t * 1000 / hz }')
idle_ns_ms=$(awk -v n="$((n1 - n0))" 'BEGIN { printf "%.2f", n / 1e6 }')
idle_pct=$(awk -v n="$((n1 - n0))" -v s="$IDLE" 'BEGIN { printf "%.3f%%", n / 1e7 / s }')
budget=$((IDLE * 10))

# ---- report ---------------------------------------------------------------

row() { printf '%-44s %-14s %s\n' "$@"; }
echo
echo "evt-tail bench: $N events at $RATE/s, one evt-append each, SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), durable commits"
echo
row "measurement" "evt-tail" "target"
row "commit to print, median" "$c_med ms" "<= 5 ms $(ok "$c_med <= 5")"
row "commit to print, p99" "$c_p99 ms" "<= 50 ms $(ok "$c_p99 <= 50")"
row "commit to print, max" "$c_max ms" "-"
row "printed before evt-append exited (as 0)" "$early of $N" "-"
row "commit to print, negative kept, median/p99" "$u_med/$u_p99 ms" "-"
row "spawn to print, median (incl. evt-append)" "$s_med ms" "-"
row "spawn to print, p99" "$s_p99 ms" "-"
row "evt-append process, median" "$a_med ms" "-"
row "idle ${IDLE} s, utime+stime (/proc/PID/stat)" "$idle_ms ms" "< $budget ms $(ok "$idle_ms < $budget")"
row "idle ${IDLE} s, run time (/proc/PID/schedstat)" "$idle_ns_ms ms ($idle_pct)" "< 1% of a core $(ok "$((n1 - n0)) < $IDLE * 10000000")"
echo
echo "commit: CLOCK_MONOTONIC after waitpid of the evt-append that wrote the event; print: after"
echo "the read(2) of the line from evt-tail's stdout (a pipe). spawn: before posix_spawn."
echo "/proc/PID/stat counts in ticks of 1/$hz s."

#!/bin/sh
# bench/my.sh: evt on MariaDB, against a throwaway server started here
# (tests/my.bash) with durable commits (innodb_flush_log_at_trx_commit=1,
# doublewrite on; no binary log), over its unix socket.
#
#   BENCH_N=100000 sh bench/my.sh    a quicker run (default 1000000 events)
#   BENCH_RUNS=1                     runs per measurement, the best is kept (3)
#   BENCH_SINGLES=200                one-event appends timed one by one (200)
#   BENCH_TAIL_N=200                 events evt-tail is timed on (200, at 50/s)
#   BENCH_QUIET_N=15                 and again one every 2 s (15)
#   BENCH_GAP_N=100                  rolled-back foreign inserts (100)
#   BENCH_IDLE=10                    seconds of idle CPU measured (10)
#
# Measures, each from an empty database of its own:
#   evt-append      N events on one aggregate from stdin, one transaction
#   --records       N records over 1000 aggregates, one transaction
#   evt-read        the N events back (and its peak memory), and again
#                   with --after 0 (the gap-safe read)
#   one-event       evt-append processes, one event each, timed one by one
#                   by bench/spawn.c, alternating with bench/my_start.c
#                   (process start, libmariadb, connection, one INSERT of
#                   an event row, committed) so that both see the same
#                   machine
#   evt-tail        commit-to-print latency of one-event appends at 50 a
#                   second (bench/tail_drive.c and tail_stamp.c, as in
#                   bench/tail.sh: no LISTEN/NOTIFY here, evt-tail's own
#                   wake-up)
#   the gap hold    BENCH_GAP_N (100) times: a mariadb client session
#                   inserts in a transaction, evt-append commits after it,
#                   the session rolls back; the time from ROLLBACK to
#                   evt-tail printing the event held behind that gap
#                   (bench/gap_drive.py --mysql)
#   idle CPU        BENCH_IDLE seconds with nothing written: the server
#                   alone, then the server and an evt-tail following an
#                   events table; CPU time from /proc (every thread)
# and beside them what bounds them, measured in the same run:
#   server floor    the same N rows made by the server itself: INSERT ...
#                   SELECT FROM seq_1_to_N (the SEQUENCE engine; no client
#                   at all), and the read query's rows scanned and turned
#                   into text by the server (BIT_XOR(CRC32(CONCAT_WS(...)))
#                   over them: nothing sent); the mariadb client reading
#                   the same query to /dev/null is shown too
#   bench/my_start.c  process start + loading libmariadb, + connecting,
#                   + one INSERT of an event row in its own transaction
#                   (autocommit, durable): the floor of a one-event append
# Rates are events divided by the wall-clock time of the whole process.
# Then bench/ops.sh my, on the same server: evt-append --key against the
# same append without a key, evt-read --streams and --aggregates against the
# server's grouped query (issue 12; BENCH_PAIRS, see there).
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tests/my.bash

N=${BENCH_N:-1000000}
RUNS=${BENCH_RUNS:-3}
SINGLES=${BENCH_SINGLES:-200}
TAILN=${BENCH_TAIL_N:-200}
QUIETN=${BENCH_QUIET_N:-15}
IDLE=${BENCH_IDLE:-10}
for v in "$N" "$RUNS" "$SINGLES" "$TAILN" "$QUIETN" "$IDLE" "${BENCH_GAP_N:-100}"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

out=$root/bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-my.XXXXXX")
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
	my_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
progress() { printf '%s\n' "bench: $*" >&2; }

mkdir -p "$out" "$tmp/bin"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/spawn" bench/spawn.c
# shellcheck disable=SC2046 # the flags are words
${CC:-cc} -O2 -std=c11 -Wall -Wextra \
	$(pkg-config --cflags libmariadb 2>/dev/null || echo -I/usr/include/mariadb) \
	-o "$out/my_start" bench/my_start.c -ldl
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/tail_drive" bench/tail_drive.c
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/tail_stamp" bench/tail_stamp.c
for p in evt-append evt-read evt-tail; do
	[ -x "bin/$p" ] || { echo "bench: bin/$p not built (make)" >&2; exit 1; }
	cp "bin/$p" "$tmp/bin/$p"
	if ldd "bin/$p" | grep -q 'lib\(asan\|ubsan\|tsan\)'; then
		echo "bench: bin/ is a sanitizer build: run 'make clean all' first" >&2
		exit 1
	fi
done
bin=$tmp/bin

TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=

# Settings a server for this kind of load would have; commits stay durable.
progress "starting a MariaDB server in ${TMPDIR:-/tmp}"
my_start innodb_flush_log_at_trx_commit=1 innodb_doublewrite=1 \
	innodb_buffer_pool_size=512M innodb_log_file_size=512M
ver=$(my_sql -N -e 'SELECT VERSION()')
server_pid=$(cat "$EVT_TEST_MY_DIR/pid")
# the mariadb client as a program, for /usr/bin/time
client="mariadb --no-defaults -S $EVT_TEST_MY_SOCKET -u root"

n=0
# fresh: a new empty database; its URL (over the unix socket) in $url
fresh() {
	n=$((n + 1))
	my_sql -e "CREATE DATABASE b$n"
	url=$(my_url "b$n" socket)
	schema=b$n
}

. bench/lib.sh
ok() { if awk -v a="$1" -v b="$2" "BEGIN { exit !(a + 0 $3 b + 0) }"; then echo ok; else echo MISS; fi; }
pctof() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d%%", a * 100 / b }'; }

progress "$N events, best of $RUNS runs; scratch in $tmp"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"stream\":\"bench\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"incremented\",\"n\":%d}}\n", (i - 1) % 1000 + 1, i }' >"$tmp/records"

# ---- the server's own floor -------------------------------------------------

progress "server floor: INSERT ... SELECT FROM seq_1_to_$N"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	fresh
	# the table as evt makes it, emptied
	"$bin/evt-append" -q -d "$url" bench a0 '{"type":"created"}'
	my_sql -e "TRUNCATE b$n.events"
	# shellcheck disable=SC2086 # the command is words
	timed $client -D "b$n" -e "INSERT INTO b$n.events (version, stream, aggregate_id, timestamp, event)
		SELECT seq, 'bench', 'a1', UTC_TIMESTAMP(3), CONCAT('{\"type\":\"incremented\",\"n\":', seq, '}')
		FROM seq_1_to_$N"
	best_note
	i=$((i + 1))
done
floor_ins=$(rate "$N" "$best_t")
got=$(my_sql -N -e "SELECT COUNT(*) FROM b$n.events")
[ "$got" -eq "$N" ] || { echo "bench: the server floor made $got rows, not $N" >&2; exit 1; }

# ---- evt-append -------------------------------------------------------------

progress "evt-append, 1 aggregate"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	fresh
	timed "$bin/evt-append" -q -d "$url" bench a1 <"$tmp/events"
	best_note
	i=$((i + 1))
done
app=$(rate "$N" "$best_t")
read_url=$url
read_schema=$schema
last=$("$bin/evt-read" -d "$url" --last bench a1)
case $last in *"\"version\":$N,"*) ;; *) echo "bench: wrong last record: $last" >&2; exit 1 ;; esac

progress "evt-append --records, 1000 aggregates"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	fresh
	timed "$bin/evt-append" -q -d "$url" --records <"$tmp/records"
	best_note
	i=$((i + 1))
done
rec=$(rate "$N" "$best_t")

# ---- evt-read ---------------------------------------------------------------

read_sql="SELECT position, stream, aggregate_id, version, timestamp, event
	FROM $read_schema.events WHERE position > 0 ORDER BY position"
progress "server floor: the read query scanned and made text, nothing sent"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	# shellcheck disable=SC2086 # the command is words
	timed $client -N -e "SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(',', position,
		stream, aggregate_id, version, timestamp, event))) FROM ($read_sql) AS r" >"$tmp/scan"
	best_note
	i=$((i + 1))
done
floor_read=$(rate "$N" "$best_t")
read -r got _ <"$tmp/scan"
[ "$got" -eq "$N" ] || { echo "bench: the server's scan saw $got rows, not $N" >&2; exit 1; }
progress "the mariadb client reading the query to /dev/null"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	# shellcheck disable=SC2086 # the command is words
	timed $client --quick -N -e "$read_sql" >/dev/null
	best_note
	i=$((i + 1))
done
client_read=$(rate "$N" "$best_t")
progress "evt-read"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	timed "$bin/evt-read" -d "$read_url" >/dev/null
	best_note
	i=$((i + 1))
done
rd=$(rate "$N" "$best_t")
rd_kb=$best_kb
progress "evt-read --after 0 (the gap-safe read)"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	timed "$bin/evt-read" -d "$read_url" --after 0 >/dev/null
	best_note
	i=$((i + 1))
done
rd_safe=$(rate "$N" "$best_t")
rd_safe_kb=$best_kb
got=$("$bin/evt-read" -d "$read_url" | wc -l)
[ "$got" -eq "$N" ] || { echo "bench: evt-read printed $got records, not $N" >&2; exit 1; }

# ---- one-event appends ----------------------------------------------------------

progress "$SINGLES one-event evt-append processes, alternating with bench/my_start.c"
fresh
"$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}'
my_sql -D "b$n" -e "CREATE TABLE floor_rows (position bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, event longtext) ENGINE=InnoDB"
"$out/spawn" "$SINGLES" /bin/true >"$tmp/true"
"$out/spawn" "$SINGLES" "$out/my_start" load >"$tmp/myload"
"$out/spawn" "$SINGLES" "$out/my_start" connect "$url" >"$tmp/myconn"
"$out/spawn" "$SINGLES" "$bin/evt-read" -d "$url" --head >"$tmp/head"
: >"$tmp/one"
: >"$tmp/floor"
i=0
while [ $i -lt "$SINGLES" ]; do
	"$out/spawn" 1 "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}' |
		awk '{ print $1 }' >>"$tmp/one"
	"$out/spawn" 1 "$out/my_start" exec "$url" \
		"INSERT INTO floor_rows (event) VALUES ('{\"type\":\"x\"}')" |
		awk '{ print $1 }' >>"$tmp/floor"
	i=$((i + 1))
done
got=$("$bin/evt-read" -d "$url" --head)
[ "$got" -eq $((SINGLES + 1)) ] || { echo "bench: one-event appends stored $got events" >&2; exit 1; }
# med FILE N P: the nearest-rank P-th percentile of the N numbers of FILE
med() { sort -g "$1" | awk -v p="$3" -v n="$2" 'BEGIN { r = int((p * n + 99) / 100); if (r < 1) r = 1 }
	NR == r { printf "%.3f", $1 }'; }
one_med=$(med "$tmp/one" "$SINGLES" 50)
one_p90=$(med "$tmp/one" "$SINGLES" 90)
floor_med=$(med "$tmp/floor" "$SINGLES" 50)
floor_p90=$(med "$tmp/floor" "$SINGLES" 90)
read -r true_med _ <"$tmp/true"
read -r myload_med _ <"$tmp/myload"
read -r myconn_med _ <"$tmp/myconn"
read -r head_med _ <"$tmp/head"
one_ratio=$(awk -v a="$one_med" -v b="$floor_med" 'BEGIN { printf "%.2f", a / b }')
one_ratio_conn=$(awk -v a="$one_med" -v b="$myconn_med" 'BEGIN { printf "%.2f", a / b }')

# ---- evt-tail latency ---------------------------------------------------------------

progress "evt-tail: $TAILN one-event appends at 50 a second"
lines() { wc -l <"$1" | tr -d ' '; }
# tail_start STAMPS: a new database, evt-tail following it with its lines
# stamped into STAMPS, and a first marker printed; markers= their count.
tail_start() {
	fresh
	"$bin/evt-append" -q -d "$url" warm w1 '{"type":"warm"}'
	rm -f "$tmp/fifo"
	mkfifo "$tmp/fifo"
	: >"$1"
	"$out/tail_stamp" <"$tmp/fifo" >"$1" &
	stamp_pid=$!
	"$bin/evt-tail" -d "$url" >"$tmp/fifo" &
	tail_pid=$!
	pids="$stamp_pid $tail_pid"
	i=0
	until [ "$(lines "$1")" -ge 1 ]; do
		i=$((i + 1))
		[ $i -le 200 ] || { echo "bench: evt-tail printed no marker" >&2; exit 1; }
		"$bin/evt-append" -q -d "$url" ready r1 '{"type":"ready"}'
		sleep 0.05
	done
	sleep 0.2
	markers=$(lines "$1")
}
# tail_stop STAMPS N: wait until N more lines are stamped, stop evt-tail.
tail_stop() {
	i=0
	until [ "$(lines "$1")" -ge $((markers + $2)) ]; do
		i=$((i + 1))
		[ $i -le 500 ] || { echo "bench: evt-tail printed too few events" >&2; exit 1; }
		sleep 0.02
	done
	kill -TERM "$tail_pid"
	wait "$tail_pid"
	wait "$stamp_pid"
	pids=
}
# tail_run N RATE NAME: N one-event appends at RATE a second under a new
# evt-tail; the commit-to-print latencies, sorted, in $tmp/NAME.lat
tail_run() {
	tail_start "$tmp/$3.stamps"
	"$out/tail_drive" "$1" "$2" "$bin/evt-append" "$url" >"$tmp/$3.drive"
	tail_stop "$tmp/$3.stamps" "$1"
	awk 'NR == FNR { commit[$1] = $3; next }
		$1 > 0 { c = ($2 - commit[$1]) / 1e6; print (c < 0 ? 0 : c) }' \
		"$tmp/$3.drive" "$tmp/$3.stamps" | sort -g >"$tmp/$3.lat"
	[ "$(lines "$tmp/$3.lat")" -eq "$1" ] || { echo "bench: evt-tail printed events twice or not at all" >&2; exit 1; }
	awk '$1 > 0 { print $1 }' "$tmp/$3.stamps" >"$tmp/$3.order"
	seq "$1" | cmp -s - "$tmp/$3.order" || { echo "bench: evt-tail printed events out of order" >&2; exit 1; }
}
tail_run "$TAILN" 50 busy
tail_med=$(med "$tmp/busy.lat" "$TAILN" 50)
tail_p99=$(med "$tmp/busy.lat" "$TAILN" 99)

# The same after a quiet spell: one append every 2 s, a follower that saw
# nothing change for a second looks less often (store_my.c IDLE_POLL_MS).
progress "evt-tail: $QUIETN one-event appends, one every 2 s"
tail_run "$QUIETN" 0.5 quiet
quiet_med=$(med "$tmp/quiet.lat" "$QUIETN" 50)
quiet_max=$(tail -n 1 "$tmp/quiet.lat")

# ---- a permanent gap: the hold after a rollback --------------------------------------

GAPN=${BENCH_GAP_N:-100}
progress "evt-tail held at $GAPN rolled-back foreign inserts"
tail_start "$tmp/gstamps"
# shellcheck disable=SC2086 # the command is words
python3 bench/gap_drive.py --mysql "$GAPN" "$bin/evt-append" "$url" \
	$client -D "b$n" --batch --skip-column-names --unbuffered >"$tmp/gdrive"
tail_stop "$tmp/gstamps" "$GAPN"
awk 'NR == FNR { sent[$1] = $2; next }
	$1 > 0 { print ($2 - sent[$1]) / 1e6 }' \
	"$tmp/gdrive" "$tmp/gstamps" | sort -g >"$tmp/glat"
[ "$(lines "$tmp/glat")" -eq "$GAPN" ] || { echo "bench: evt-tail printed events twice or not at all" >&2; exit 1; }
if [ "$(head -n 1 "$tmp/glat" | cut -c1)" = - ]; then
	echo "bench: evt-tail printed an event before the gap below it was settled" >&2
	exit 1
fi
gap_med=$(med "$tmp/glat" "$GAPN" 50)
gap_p99=$(med "$tmp/glat" "$GAPN" 99)

# ---- idle CPU -----------------------------------------------------------------------

# cpu PID: the CPU time of every thread of PID so far, in nanoseconds (the
# run times of /proc/PID/task/*/schedstat; utime + stime of /proc/PID/stat
# in ticks when the kernel has no schedstat)
hz=$(getconf CLK_TCK)
cpu() {
	if [ -r "/proc/$1/schedstat" ]; then
		cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%d\n", n }'
	else
		awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1e9 / hz }' "/proc/$1/stat"
	fi
}
# busy NS: NS nanoseconds of CPU over IDLE seconds, as % of a core
busy() { awk -v n="$1" -v s="$IDLE" 'BEGIN { printf "%.3f", n / 1e7 / s }'; }

progress "idle CPU: the server alone for $IDLE s"
fresh
"$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}'
sleep 1
s0=$(cpu "$server_pid")
sleep "$IDLE"
s1=$(cpu "$server_pid")
srv_alone=$(busy $((s1 - s0)))

progress "idle CPU: an evt-tail following, nothing written, for $IDLE s"
"$bin/evt-tail" -d "$url" >/dev/null &
idle_pid=$!
pids=$idle_pid
sleep 1
f0=$(cpu "$idle_pid")
s0=$(cpu "$server_pid")
sleep "$IDLE"
f1=$(cpu "$idle_pid")
s1=$(cpu "$server_pid")
kill -TERM "$idle_pid"
rc=0
wait "$idle_pid" || rc=$?
pids=
[ "$rc" -eq 0 ] || { echo "bench: idle evt-tail exited $rc on SIGTERM" >&2; exit 1; }
fol_idle=$(busy $((f1 - f0)))
srv_idle=$(busy $((s1 - s0)))

# ---- the table --------------------------------------------------------------------

row() { printf '%-44s %-16s %-28s %s\n' "$@"; }
echo
echo "evt bench, MariaDB $ver (local unix socket, innodb_flush_log_at_trx_commit=1, no binary log), $N events, best of $RUNS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo
row "measurement" "evt" "target" "server floor"
row "evt-append, 1 aggregate (stdin)" "$(commas "$app")/s" ">= 80% $(pctof "$app" "$floor_ins") $(ok "$app" "$(awk -v f="$floor_ins" 'BEGIN { print f * 0.8 }')" '>=')" "$(commas "$floor_ins")/s"
row "evt-append --records, 1000 aggregates" "$(commas "$rec")/s" "" ""
row "evt-read" "$(commas "$rd")/s" ">= 80% $(pctof "$rd" "$floor_read") $(ok "$rd" "$(awk -v f="$floor_read" 'BEGIN { print f * 0.8 }')" '>=')" "$(commas "$floor_read")/s"
row "  the mariadb client, --quick, to /dev/null" "" "" "$(commas "$client_read")/s"
row "evt-read --after 0 (gap-safe)" "$(commas "$rd_safe")/s" "" ""
row "evt-read peak memory" "$(awk -v k="$rd_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "flat" ""
row "  --after 0" "$(awk -v k="$rd_safe_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "flat" ""
row "one-event evt-append, median" "$one_med ms" "<= 1.3 x floor: $one_ratio $(ok "$one_ratio" 1.3 '<=')" "$floor_med ms (my_start exec)"
row "  p90" "$one_p90 ms" "" "$floor_p90 ms"
row "  / start + libmariadb + connect" "$one_ratio_conn x" "" "$myconn_med ms (my_start connect)"
row "  evt-read --head (median)" "$head_med ms" "" "start, libmariadb, connect, queries"
row "  libmariadb loaded, no more (median)" "$myload_med ms" "" "start + dlopen(libmariadb)"
row "  /bin/true (median)" "$true_med ms" "" "process start"
row "evt-tail, commit to print, median" "$tail_med ms" "<= 5 ms $(ok "$tail_med" 5 '<=')" ""
row "  p99" "$tail_p99 ms" "<= 50 ms $(ok "$tail_p99" 50 '<=')" ""
row "  after a quiet spell (1 every 2 s), median" "$quiet_med ms" "" "max $quiet_max ms"
row "evt-tail held at a rolled-back gap, median" "$gap_med ms" "<= 100 ms $(ok "$gap_med" 100 '<=')" "rollback to print"
row "  p99" "$gap_p99 ms" "<= 100 ms $(ok "$gap_p99" 100 '<=')" ""
row "idle evt-tail, CPU" "$fol_idle%" "< 1% $(ok "$fol_idle" 1 '<')" "of a core, $IDLE s"
row "idle server with that evt-tail, CPU" "$srv_idle%" "< 1% $(ok "$srv_idle" 1 '<')" "alone: $srv_alone%"
echo
echo "server floor: the server making the same rows itself (INSERT ... SELECT FROM"
echo "seq_1_to_N) and scanning the read query's rows into text (no rows sent): no"
echo "client.  my_start exec: process start, dlopen(libmariadb), connect (option"
echo "files, utf8mb4), one INSERT committed, close; timed alternately with the"
echo "evt-append runs."

# issue 12: --key, --streams and --aggregates, on this server
sh bench/ops.sh my

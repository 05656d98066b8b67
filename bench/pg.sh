#!/bin/sh
# bench/pg.sh: evt on PostgreSQL, against a throwaway cluster started here
# (tests/pg.bash) with durable commits (fsync on, synchronous_commit on).
#
#   BENCH_N=100000 sh bench/pg.sh    a quicker run (default 1000000 events)
#   BENCH_RUNS=1                     runs per measurement, the best is kept (3)
#   BENCH_SINGLES=200                one-event appends timed one by one (200)
#   BENCH_TAIL_N=200                 events evt-tail is timed on (200, at 50/s)
#
# Measures, each from an empty events table (a schema of its own):
#   evt-append      N events on one aggregate from stdin, one transaction
#   --records       N records over 1000 aggregates, one transaction
#   evt-read        the N events back (and its peak memory), and again
#                   with --after 0 (the gap-safe read: one more statement)
#   one-event       evt-append processes, one event each, timed one by one
#                   by bench/spawn.c (process start and connection included);
#                   again through pgbouncer in transaction pooling
#   evt-tail        commit-to-print latency of one-event appends at 50 a
#                   second (bench/tail_drive.c and tail_stamp.c, as in
#                   bench/tail.sh: LISTEN/NOTIFY is the wake-up)
#   the gap hold    BENCH_GAP_N (100) times: a psql session inserts in a
#                   transaction, evt-append commits after it, psql rolls
#                   back; the time from ROLLBACK to evt-tail printing the
#                   event held behind that gap (bench/gap_drive.py)
# and beside them what bounds them, measured in the same run:
#   server floor    the same N rows made by the server itself: INSERT ...
#                   SELECT FROM generate_series (no client at all), and
#                   COPY ... TO '/dev/null' of the read query
#   evt-read --head   process start + loading libpq + connecting + 1 query
#   bench/pq_start.c  process start + loading libpq, and + connecting, and
#                   + one INSERT in its own transaction: the floor of a
#                   one-event append, alternated with it in rounds of 10
#                   (and, third in those rounds, the statements of evt's
#                   append sent by it in one round trip)
# Rates are events divided by the wall-clock time of the whole process.
# Then bench/ops.sh pg, on the same cluster: evt-append --key against the
# same append without a key, evt-read --streams and --aggregates against the
# server's grouped query (issue 12; BENCH_PAIRS, see there).
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tests/pg.bash

N=${BENCH_N:-1000000}
RUNS=${BENCH_RUNS:-3}
SINGLES=${BENCH_SINGLES:-200}
TAILN=${BENCH_TAIL_N:-200}
for v in "$N" "$RUNS" "$SINGLES" "$TAILN"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

out=$root/bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-pg.XXXXXX")
trap 'rm -rf "$tmp"; pg_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
progress() { printf '%s\n' "bench: $*" >&2; }

mkdir -p "$out" "$tmp/bin"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/spawn" bench/spawn.c
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/pq_start" bench/pq_start.c -ldl
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

# Settings a server for this kind of load would have; fsync stays on.
progress "starting a PostgreSQL cluster in ${TMPDIR:-/tmp}"
pg_start shared_buffers=256MB max_wal_size=4GB checkpoint_timeout=30min
ver=$(pg_psql -Atc 'SHOW server_version')
# psql as a program, for /usr/bin/time
psql="$(pg_bin)/psql -X -q -v ON_ERROR_STOP=1 -h $EVT_TEST_PG_DIR -p $EVT_TEST_PG_PORT -U postgres -d postgres"

n=0
# fresh: a new empty schema; its URL in $url
fresh() {
	n=$((n + 1))
	pg_psql -c "CREATE SCHEMA b$n"
	url="$EVT_TEST_PG_URL&options=-csearch_path%3Db$n"
	schema=b$n
}

. bench/lib.sh
ok() { if awk -v a="$1" -v b="$2" "BEGIN { exit !(a + 0 $3 b + 0) }"; then echo ok; else echo MISS; fi; }

progress "$N events, best of $RUNS runs; scratch in $tmp"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"stream\":\"bench\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"incremented\",\"n\":%d}}\n", (i - 1) % 1000 + 1, i }' >"$tmp/records"

# ---- the server's own floor -------------------------------------------------

progress "server floor: INSERT ... SELECT FROM generate_series"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	fresh
	"$bin/evt-append" -q -d "$url" bench a0 '{"type":"created"}'
	pg_psql -c "TRUNCATE b$n.events"
	# shellcheck disable=SC2086 # the command is words
	timed $psql -c "INSERT INTO b$n.events (version, stream, aggregate_id, timestamp, event)
		SELECT i, 'bench', 'a1', now(), '{\"type\":\"incremented\",\"n\":' || i || '}'
		FROM generate_series(1, $N) AS i"
	best_note
	i=$((i + 1))
done
floor_ins=$(rate "$N" "$best_t")

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

progress "server floor: COPY (the read query) TO '/dev/null'"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	# shellcheck disable=SC2086 # the command is words
	timed $psql -c "COPY (SELECT position, stream, aggregate_id, version, timestamp, event
		FROM $schema.events WHERE position > 0 ORDER BY position) TO '/dev/null' (FORMAT binary)"
	best_note
	i=$((i + 1))
done
floor_read=$(rate "$N" "$best_t")
# that was the --records schema; read the one-aggregate one
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
got=$("$bin/evt-read" -d "$read_url" | wc -l)
[ "$got" -eq "$N" ] || { echo "bench: evt-read printed $got records, not $N" >&2; exit 1; }

# ---- one-event appends ----------------------------------------------------------

progress "$SINGLES one-event evt-append processes"
fresh
"$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}'
"$out/spawn" "$SINGLES" /bin/true >"$tmp/true"
"$out/spawn" "$SINGLES" "$bin/evt-read" -d "$url" --head >"$tmp/head"
"$out/spawn" "$SINGLES" "$out/pq_start" load >"$tmp/pqload"
"$out/spawn" "$SINGLES" "$out/pq_start" connect "$url" >"$tmp/pqconn"
"$out/spawn" "$SINGLES" "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}' >"$tmp/one"
EVT_SYNC=normal "$out/spawn" "$SINGLES" "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}' >"$tmp/one-normal"
# Against its floor, alternated in rounds of 10 so that both see the same
# machine: process start + libpq + connecting + one INSERT of an event row
# in its own transaction (pq_start exec), beside a one-event evt-append.
PGOPTIONS="-c search_path=b$n" pg_psql -q -c "CREATE TABLE floor_rows (position bigserial PRIMARY KEY, event text)"
# Third in the rounds: a bare C program sending the statements of evt's
# append (the lock, NOTIFY, the version read, the INSERT into the events
# table with its three indexes, COMMIT) in one round trip: what the server's
# work for them costs, without evt.
same_sql="BEGIN; SET LOCAL lock_timeout = 5000; SELECT pg_advisory_xact_lock(7311159005043228672 | e), pg_notify('evt_' || e, '') FROM (SELECT to_regclass('events')::oid::int8 AS e) AS t; SELECT max(version) FROM events WHERE stream = 's' AND aggregate_id = 'a1'; INSERT INTO events (version, stream, aggregate_id, timestamp, event) SELECT coalesce(max(version), 0) + 1, 's', 'a1', now(), '{\"type\":\"x\"}' FROM events WHERE stream = 's' AND aggregate_id = 'a1'; COMMIT"
: >"$tmp/alt-one"; : >"$tmp/alt-floor"; : >"$tmp/alt-same"
i=0
while [ $i -lt $(( (SINGLES + 9) / 10 )) ]; do
	"$out/spawn" 10 "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}' >>"$tmp/alt-one"
	"$out/spawn" 10 "$out/pq_start" exec "$url" "INSERT INTO floor_rows (event) VALUES ('{\"type\":\"x\"}')" >>"$tmp/alt-floor"
	"$out/spawn" 10 "$out/pq_start" exec "$url" "$same_sql" >>"$tmp/alt-same"
	i=$((i + 1))
done
rounds=$i
# Through pgbouncer in transaction pooling (tests/pg.bash), its server
# connections warm: the table named with its schema (pgbouncer drops the
# startup parameter "options").
pgb_url=$(pgb_start transaction) || { echo "bench: cannot start pgbouncer" >&2; exit 1; }
"$bin/evt-append" -q -d "$pgb_url" --events-table "$schema.events" s a1 '{"type":"x"}'
"$out/spawn" "$SINGLES" "$bin/evt-append" -q -d "$pgb_url" --events-table "$schema.events" s a1 '{"type":"x"}' >"$tmp/one-pgb"
read -r pgb_med _ <"$tmp/one-pgb"
got=$("$bin/evt-read" -d "$url" --head)
[ "$got" -eq $((SINGLES * 3 + 2 + rounds * 20)) ] || { echo "bench: one-event appends stored $got events" >&2; exit 1; }
# the median of the rounds' medians
alt_one=$(cut -d' ' -f1 "$tmp/alt-one" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
alt_floor=$(cut -d' ' -f1 "$tmp/alt-floor" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
alt_ratio=$(awk -v a="$alt_one" -v b="$alt_floor" 'BEGIN { printf "%.2f", a / b }')
alt_same=$(cut -d' ' -f1 "$tmp/alt-same" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
same_ratio=$(awk -v a="$alt_one" -v b="$alt_same" 'BEGIN { printf "%.2f", a / b }')
read -r true_med _ <"$tmp/true"
read -r head_med head_p90 _ <"$tmp/head"
read -r pqload_med _ <"$tmp/pqload"
read -r pqconn_med _ <"$tmp/pqconn"
read -r one_med one_p90 _ <"$tmp/one"
read -r normal_med _ <"$tmp/one-normal"

# ---- evt-tail latency ---------------------------------------------------------------

progress "evt-tail: $TAILN one-event appends at 50 a second"
lines() { wc -l <"$1" | tr -d ' '; }
# tail_start STAMPS: a new schema, evt-tail following it with its lines
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
}
tail_start "$tmp/stamps"
"$out/tail_drive" "$TAILN" 50 "$bin/evt-append" "$url" >"$tmp/drive"
tail_stop "$tmp/stamps" "$TAILN"
awk 'NR == FNR { commit[$1] = $3; next }
	$1 > 0 { c = ($2 - commit[$1]) / 1e6; print (c < 0 ? 0 : c) }' \
	"$tmp/drive" "$tmp/stamps" | sort -g >"$tmp/lat"
[ "$(lines "$tmp/lat")" -eq "$TAILN" ] || { echo "bench: evt-tail printed events twice or not at all" >&2; exit 1; }
# pct FILE N P: the P-th percentile of the N sorted numbers of FILE
pct() { awk -v p="$3" -v n="$2" 'BEGIN { r = int((p * n + 99) / 100); if (r < 1) r = 1 }
	NR == r { printf "%.2f", $1 }' "$1"; }
tail_med=$(pct "$tmp/lat" "$TAILN" 50)
tail_p99=$(pct "$tmp/lat" "$TAILN" 99)

# ---- a permanent gap: the hold after a rollback --------------------------------------

GAPN=${BENCH_GAP_N:-100}
progress "evt-tail held at $GAPN rolled-back foreign inserts"
tail_start "$tmp/gstamps"
# shellcheck disable=SC2086 # the command is words
PGOPTIONS="-c search_path=b$n" python3 bench/gap_drive.py "$GAPN" \
	"$bin/evt-append" "$url" $psql >"$tmp/gdrive"
tail_stop "$tmp/gstamps" "$GAPN"
awk 'NR == FNR { sent[$1] = $2; next }
	$1 > 0 { print ($2 - sent[$1]) / 1e6 }' \
	"$tmp/gdrive" "$tmp/gstamps" | sort -g >"$tmp/glat"
[ "$(lines "$tmp/glat")" -eq "$GAPN" ] || { echo "bench: evt-tail printed events twice or not at all" >&2; exit 1; }
if [ "$(head -n 1 "$tmp/glat" | cut -c1)" = - ]; then
	echo "bench: evt-tail printed an event before the gap below it was settled" >&2
	exit 1
fi
gap_med=$(pct "$tmp/glat" "$GAPN" 50)
gap_p99=$(pct "$tmp/glat" "$GAPN" 99)

# ---- the table --------------------------------------------------------------------

row() { printf '%-44s %-16s %-20s %s\n' "$@"; }
echo
echo "evt bench, PostgreSQL $ver (local unix socket, fsync on, synchronous_commit on), $N events, best of $RUNS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo
row "measurement" "evt" "target" "server floor"
row "evt-append, 1 aggregate (stdin)" "$(commas "$app")/s" ">= 150,000/s $(ok "$app" 150000 '>=')" "$(commas "$floor_ins")/s"
row "evt-append --records, 1000 aggregates" "$(commas "$rec")/s" "" ""
row "evt-read" "$(commas "$rd")/s" ">= 1,000,000/s $(ok "$rd" 1000000 '>=')" "$(commas "$floor_read")/s"
row "evt-read --after 0 (gap-safe)" "$(commas "$rd_safe")/s" "" ""
row "evt-read peak memory" "$(awk -v k="$rd_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "flat" ""
row "one-event evt-append, median" "$one_med ms" "<= 5 ms $(ok "$one_med" 5 '<=')" ""
row "  p90" "$one_p90 ms" "" ""
row "  alternated with its floor (median)" "$alt_one ms" "<= 1.2x $(ok "$alt_ratio" 1.2 '<=')" "floor $alt_floor ms: ${alt_ratio}x"
row "  alternated: evt's statements, bare C" "$alt_same ms" "" "evt at ${same_ratio}x of it"
row "  through pgbouncer, transaction pooling" "$pgb_med ms" "<= 5 ms $(ok "$pgb_med" 5 '<=')" "pool warm"
row "  with EVT_SYNC=normal (median)" "$normal_med ms" "" "no wait for the WAL flush"
row "  evt-read --head (median)" "$head_med ms" "" "start, libpq, connect, 1 query"
row "  libpq loaded, no more (median)" "$pqload_med ms" "" "start + dlopen(libpq)"
row "  libpq loaded + connect (median)" "$pqconn_med ms" "" "the same + connection start-up"
row "  /bin/true (median)" "$true_med ms" "" "process start"
row "evt-tail, commit to print, median" "$tail_med ms" "<= 50 ms (aim 5) $(ok "$tail_med" 50 '<=')" ""
row "  p99" "$tail_p99 ms" "" ""
row "evt-tail held at a rolled-back gap, median" "$gap_med ms" "<= 100 ms $(ok "$gap_med" 100 '<=')" "rollback to print"
row "  p99" "$gap_p99 ms" "<= 100 ms $(ok "$gap_p99" 100 '<=')" ""
echo
echo "server floor: the server making the same rows itself (INSERT ... SELECT"
echo "FROM generate_series; COPY of the read query to /dev/null): no client."

# issue 12: --key, --streams and --aggregates, on this cluster
sh bench/ops.sh pg

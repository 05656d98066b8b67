#!/bin/sh
# bench/ops.sh STORE: what issue 12 asks of evt-append --key and of
# evt-read --streams and --aggregates, each beside its floor measured in the
# same run.  STORE is sqlite (run by bench/run.sh), pg (by bench/pg.sh) or my
# (by bench/my.sh); pg and my use the server of the script that runs them,
# or, run alone, start a throwaway one as those scripts do (tests/pg.bash,
# tests/my.bash, the same settings).
#
#   BENCH_N=100000 sh bench/ops.sh sqlite   a quicker run (default 1000000)
#   BENCH_PAIRS=5                    bulk appends timed, pairs (5)
#   BENCH_SINGLES=1000               one-event appends timed, pairs (1000 on
#                                    SQLite, 200 on PostgreSQL and MariaDB)
#   BENCH_RUNS=3                     runs of each read, the best is kept (3)
#
# Measures:
#   --key, bulk     N events on one aggregate from stdin in one invocation,
#                   with --key (a new key each time) and without, each from
#                   an empty store; BENCH_PAIRS pairs, the order alternating
#                   (A B, B A, ...) so that both see the same machine; the
#                   median of the pairs' ratios (key / no key; goal <= 1.10)
#   --key, one      one-event evt-append processes with --key (a new key
#                   each) and without, on one store that exists, timed one
#                   by one by bench/spawn.c (process start included),
#                   alternating the same way; the median of the pairs'
#                   differences (key - no key; goal <= 0.3 ms)
#   --streams       over a store of N events in 1000 streams (999 streams
#                   "sNNN" of 100 aggregates each, and "big"): wall time of
#                   the whole process and peak RSS (goal on SQLite: < 1 s)
#   --aggregates big  the same store's stream "big": N/5 aggregates of one
#                   event each (200,000 at the default N)
# and the floor of each read, in the same run: the plain grouped query
# (GROUP BY stream; GROUP BY aggregate_id WHERE stream = 'big') done by
# bench/bare.c on SQLite (the same lines printed), by the server itself on
# PostgreSQL (COPY ... TO '/dev/null') and MariaDB (the groups hashed with
# BIT_XOR(CRC32(...)): nothing sent).  Reads keep the best of BENCH_RUNS
# runs; peak RSS is /usr/bin/time's %M, the largest of the runs.
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

STORE=${1:-}
case $STORE in
sqlite) one_default=1000 ;;
pg|my) one_default=200 ;;
*) echo "usage: sh bench/ops.sh sqlite|pg|my" >&2; exit 2 ;;
esac
N=${BENCH_N:-1000000}
PAIRS=${BENCH_PAIRS:-5}
SINGLES=${BENCH_SINGLES:-$one_default}
RUNS=${BENCH_RUNS:-3}
for v in "$N" "$PAIRS" "$SINGLES" "$RUNS"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

out=$root/bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-ops.XXXXXX")
own=
cleanup() {
	rm -rf "$tmp"
	case $own in
	pg) pg_stop ;;
	my) my_stop ;;
	esac
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
progress() { printf '%s\n' "bench: ops: $*" >&2; }
die() { echo "bench: ops: $*" >&2; exit 1; }

mkdir -p "$out" "$tmp/bin"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/spawn" bench/spawn.c
if [ "$STORE" = sqlite ]; then
	sqlite_flags=$(pkg-config --cflags --libs sqlite3 2>/dev/null || echo -lsqlite3)
	# shellcheck disable=SC2086 # the flags are words
	${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/bare" bench/bare.c $sqlite_flags
fi
# the programs under test, copied so that a rebuild during the run changes
# nothing; a sanitizer build is no basis for figures
for p in evt-append evt-read; do
	[ -x "bin/$p" ] || die "bin/$p not built (make)"
	cp "bin/$p" "$tmp/bin/$p"
	if ldd "bin/$p" | grep -q 'lib\(asan\|ubsan\|tsan\)'; then
		die "bin/ is a sanitizer build: run 'make clean all' first"
	fi
done
bin=$tmp/bin

TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=

. bench/lib.sh
ok() { if awk -v a="$1" -v b="$2" "BEGIN { exit !(a + 0 $3 b + 0) }"; then echo ok; else echo MISS; fi; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# med FILE: the median (nearest rank) of the numbers of FILE
med() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- the store --------------------------------------------------------------

# fresh: a new empty store, its URL in $url (and its schema or database
# name in $schema); drop: remove it
n=0
case $STORE in
sqlite)
	ver="SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), WAL, synchronous=FULL"
	fresh() {
		n=$((n + 1))
		url=$tmp/o$n.db
		schema=
	}
	drop() { rm -f "$url" "$url-wal" "$url-shm" "$url-journal"; }
	;;
pg)
	. tests/pg.bash
	if [ -n "${EVT_TEST_PG_DIR:-}" ] && [ -S "$EVT_TEST_PG_DIR/.s.PGSQL.${EVT_TEST_PG_PORT:-}" ]; then
		progress "using the PostgreSQL cluster in $EVT_TEST_PG_DIR"
	else
		progress "starting a PostgreSQL cluster in ${TMPDIR:-/tmp}"
		# as bench/pg.sh
		own=pg
		pg_start shared_buffers=256MB max_wal_size=4GB checkpoint_timeout=30min
	fi
	ver="PostgreSQL $(pg_psql -Atc 'SHOW server_version') (unix socket, fsync on, synchronous_commit on)"
	psql="$(pg_bin)/psql -X -q -v ON_ERROR_STOP=1 -h $EVT_TEST_PG_DIR -p $EVT_TEST_PG_PORT -U postgres -d postgres"
	fresh() {
		n=$((n + 1))
		schema=o$n
		pg_psql -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
		url="$EVT_TEST_PG_URL&options=-csearch_path%3D$schema"
	}
	# and a checkpoint, so that no run pays for the one before it
	drop() { pg_psql -c "SET client_min_messages = warning" -c "DROP SCHEMA $schema CASCADE" -c CHECKPOINT; }
	;;
my)
	. tests/my.bash
	if [ -n "${EVT_TEST_MY_SOCKET:-}" ] && [ -S "$EVT_TEST_MY_SOCKET" ]; then
		progress "using the MariaDB server in $EVT_TEST_MY_DIR"
	else
		progress "starting a MariaDB server in ${TMPDIR:-/tmp}"
		# as bench/my.sh
		own=my
		my_start innodb_flush_log_at_trx_commit=1 innodb_doublewrite=1 \
			innodb_buffer_pool_size=512M innodb_log_file_size=512M
	fi
	ver="MariaDB $(my_sql -N -e 'SELECT VERSION()') (unix socket, innodb_flush_log_at_trx_commit=1)"
	client="mariadb --no-defaults -S $EVT_TEST_MY_SOCKET -u root"
	fresh() {
		n=$((n + 1))
		schema=o$n
		my_sql -e "DROP DATABASE IF EXISTS $schema; CREATE DATABASE $schema"
		url=$(my_url "$schema" socket)
	}
	drop() { my_sql -e "DROP DATABASE $schema"; }
	;;
esac

progress "$STORE: $N events; $PAIRS bulk pairs, $SINGLES one-event pairs, reads best of $RUNS; scratch in $tmp"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"

# ---- --key: bulk ------------------------------------------------------------

: >"$tmp/bulk"
i=1
while [ $i -le "$PAIRS" ]; do
	progress "bulk append pair $i of $PAIRS"
	if [ $((i % 2)) -eq 1 ]; then order="plain key"; else order="key plain"; fi
	for k in $order; do
		fresh
		if [ "$k" = key ]; then
			timed "$bin/evt-append" -q -d "$url" --key "bulk-$i" bench a1 <"$tmp/events" ||
				die "evt-append --key failed"
			t_key=$t
		else
			timed "$bin/evt-append" -q -d "$url" bench a1 <"$tmp/events" ||
				die "evt-append failed"
			t_plain=$t
		fi
		got=$("$bin/evt-read" -d "$url" --head)
		[ "$got" = "$N" ] || die "the $k bulk append stored $got events, not $N"
		if [ "$k" = key ] && [ $i -eq 1 ]; then
			# the key took: a retry appends nothing
			"$bin/evt-append" -q -d "$url" --key "bulk-$i" bench a1 '{"type":"again"}'
			got=$("$bin/evt-read" -d "$url" --head)
			[ "$got" = "$N" ] || die "a repeated --key appended: head $got, not $N"
		fi
		drop
	done
	echo "$t_plain $t_key" >>"$tmp/bulk"
	i=$((i + 1))
done
awk '{ print $1 }' "$tmp/bulk" >"$tmp/bulk.plain"
awk '{ print $2 }' "$tmp/bulk" >"$tmp/bulk.key"
awk '{ printf "%.6f\n", $2 / $1 }' "$tmp/bulk" >"$tmp/bulk.ratio"
bulk_plain=$(med "$tmp/bulk.plain")
bulk_key=$(med "$tmp/bulk.key")
bulk_ratio=$(awk -v r="$(med "$tmp/bulk.ratio")" 'BEGIN { printf "%.3f", r }')

# ---- --key: one event -------------------------------------------------------

progress "$SINGLES pairs of one-event appends"
fresh
# the store and its keys table exist before the first timed run
"$bin/evt-append" -q -d "$url" --key one-0 s a1 '{"type":"x"}'
sync
: >"$tmp/one"
i=1
while [ $i -le "$SINGLES" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		a=$("$out/spawn" 1 "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}')
		b=$("$out/spawn" 1 "$bin/evt-append" -q -d "$url" --key "one-$i" s a1 '{"type":"x"}')
	else
		b=$("$out/spawn" 1 "$bin/evt-append" -q -d "$url" --key "one-$i" s a1 '{"type":"x"}')
		a=$("$out/spawn" 1 "$bin/evt-append" -q -d "$url" s a1 '{"type":"x"}')
	fi
	echo "${a%% *} ${b%% *}" >>"$tmp/one"
	i=$((i + 1))
done
got=$("$bin/evt-read" -d "$url" --head)
[ "$got" -eq $((2 * SINGLES + 1)) ] || die "one-event appends stored $got events, not $((2 * SINGLES + 1))"
drop
awk '{ print $1 }' "$tmp/one" >"$tmp/one.plain"
awk '{ print $2 }' "$tmp/one" >"$tmp/one.key"
awk '{ printf "%.6f\n", $2 - $1 }' "$tmp/one" >"$tmp/one.diff"
one_plain=$(awk -v m="$(med "$tmp/one.plain")" 'BEGIN { printf "%.3f", m }')
one_key=$(awk -v m="$(med "$tmp/one.key")" 'BEGIN { printf "%.3f", m }')
one_diff=$(awk -v m="$(med "$tmp/one.diff")" 'BEGIN { printf "%+.3f", m }')

# ---- --streams and --aggregates -----------------------------------------------

# Every fifth event opens an aggregate of its own in "big"; the others go
# round 999 streams of 100 aggregates each.  $tmp/shape: the number of
# streams, and of aggregates in "big".
progress "a store of $N events in 1000 streams (evt-append --records)"
awk -v n="$N" -v shape="$tmp/shape" 'BEGIN {
	for (i = 1; i <= n; i++) {
		if (i % 5 == 0) {
			printf "{\"stream\":\"big\",\"aggregateId\":\"g%d\",\"event\":{\"type\":\"opened\",\"n\":%d}}\n", i / 5, i
			continue
		}
		j = i - int(i / 5) - 1
		printf "{\"stream\":\"s%03d\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"incremented\",\"n\":%d}}\n", j % 999, int(j / 999) % 100, i
	}
	o = n - int(n / 5)
	print (o < 999 ? o : 999) + (n >= 5), int(n / 5) >shape
}' >"$tmp/records"
read -r nstreams naggs <"$tmp/shape"
fresh
"$bin/evt-append" -q -d "$url" --records <"$tmp/records" || die "evt-append --records failed"
rm -f "$tmp/records"
case $STORE in
pg) pg_psql -c "VACUUM ANALYZE $schema.events" -c CHECKPOINT ;;
my) my_sql -e "ANALYZE TABLE $schema.events" >/dev/null ;;
esac

# best TIMES: each run of the command after it, the best time in $best_t
best() {
	_runs=$1
	shift
	best_reset
	_i=0
	while [ $_i -lt "$_runs" ]; do
		timed "$@" || return 1
		best_note
		_i=$((_i + 1))
	done
}

# the floors: the grouped queries, not through evt
streams_sql="SELECT stream, count(*), count(DISTINCT aggregate_id), max(position) FROM $schema${schema:+.}events GROUP BY stream"
aggs_sql="SELECT aggregate_id, max(version), max(position) FROM $schema${schema:+.}events WHERE stream = 'big' GROUP BY aggregate_id"
# floor streams|aggregates: time the floor, best of RUNS
floor() {
	# shellcheck disable=SC2086 # $psql and $client are words
	case $STORE.$1 in
	sqlite.streams) best "$RUNS" "$out/bare" streams "$url" >/dev/null ;;
	sqlite.aggregates) best "$RUNS" "$out/bare" aggregates "$url" big >/dev/null ;;
	pg.streams) best "$RUNS" $psql -c "COPY ($streams_sql ORDER BY stream) TO '/dev/null' (FORMAT binary)" ;;
	pg.aggregates) best "$RUNS" $psql -c "COPY ($aggs_sql ORDER BY aggregate_id) TO '/dev/null' (FORMAT binary)" ;;
	my.streams) best "$RUNS" $client -N -e "SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(',', s, e, a, p)))
		FROM (SELECT stream AS s, COUNT(*) AS e, COUNT(DISTINCT aggregate_id) AS a, MAX(position) AS p
		FROM $schema.events GROUP BY stream) AS g" >"$tmp/scan" ;;
	my.aggregates) best "$RUNS" $client -N -e "SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(',', a, v, p)))
		FROM (SELECT aggregate_id AS a, MAX(version) AS v, MAX(position) AS p
		FROM $schema.events WHERE stream = 'big' GROUP BY aggregate_id) AS g" >"$tmp/scan" ;;
	esac
}

progress "evt-read --streams ($nstreams streams)"
best "$RUNS" "$bin/evt-read" -d "$url" --streams >/dev/null || die "evt-read --streams failed"
st_t=$best_t
st_kb=$best_kb
floor streams || die "the --streams floor failed"
st_floor=$best_t
"$bin/evt-read" -d "$url" --streams >"$tmp/streams"
got=$(awk 'END { print NR }' "$tmp/streams")
[ "$got" -eq "$nstreams" ] || die "evt-read --streams printed $got lines, not $nstreams"
got=$(sed -n 's/.*"events":\([0-9]*\).*/\1/p' "$tmp/streams" | awk '{ s += $1 } END { print s }')
[ "$got" -eq "$N" ] || die "evt-read --streams counted $got events, not $N"
[ "$STORE" != sqlite ] || "$out/bare" streams "$url" | cmp -s - "$tmp/streams" ||
	die "evt-read --streams prints other lines than bare streams"
[ "$STORE" != my ] || [ "$(tail -n 1 "$tmp/scan" | cut -f1)" -eq "$nstreams" ] || die "the --streams floor saw $(tail -n 1 "$tmp/scan" | cut -f1) groups"

progress "evt-read --aggregates big ($naggs aggregates)"
best "$RUNS" "$bin/evt-read" -d "$url" --aggregates big >/dev/null || die "evt-read --aggregates failed"
ag_t=$best_t
ag_kb=$best_kb
floor aggregates || die "the --aggregates floor failed"
ag_floor=$best_t
"$bin/evt-read" -d "$url" --aggregates big >"$tmp/aggs"
got=$(awk 'END { print NR }' "$tmp/aggs")
[ "$got" -eq "$naggs" ] || die "evt-read --aggregates big printed $got lines, not $naggs"
[ "$STORE" != sqlite ] || "$out/bare" aggregates "$url" big | cmp -s - "$tmp/aggs" ||
	die "evt-read --aggregates prints other lines than bare aggregates"
[ "$STORE" != my ] || [ "$(tail -n 1 "$tmp/scan" | cut -f1)" -eq "$naggs" ] || die "the --aggregates floor saw $(tail -n 1 "$tmp/scan" | cut -f1) groups"
drop

# ---- the table --------------------------------------------------------------

s3() { awk -v t="$1" 'BEGIN { printf "%.3f s", t }'; }
x2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
case $STORE in
sqlite) floor_name="bare.c" st_goal="< 1 s $(ok "$st_t" 1 '<')" ;;
*) floor_name="server" st_goal="-" ;;
esac
row() { printf '%-46s %-20s %-22s %-10s %s\n' "$@"; }
echo
echo "evt bench, issue 12 (--key, --streams, --aggregates): $ver, $N events"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo
row "measurement" "evt" "floor" "result" "target"
row "bulk append, --key / none, $PAIRS pairs" "$(s3 "$bulk_key")" "$(s3 "$bulk_plain") (no key)" "${bulk_ratio}x" "<= 1.10x $(ok "$bulk_ratio" 1.10 '<=')"
row "one-event append, --key - none, $SINGLES pairs" "$one_key ms" "$one_plain ms (no key)" "$one_diff ms" "<= 0.3 ms $(ok "$one_diff" 0.3 '<=')"
row "evt-read --streams, $nstreams streams" "$(s3 "$st_t"), $(mib "$st_kb")" "$(s3 "$st_floor") ($floor_name)" "$(x2 "$st_t" "$st_floor")" "$st_goal"
row "evt-read --aggregates, $naggs aggregates" "$(s3 "$ag_t"), $(mib "$ag_kb")" "$(s3 "$ag_floor") ($floor_name)" "$(x2 "$ag_t" "$ag_floor")" "-"
echo
echo "--key rows: medians of the pairs, each pair run A B or B A in turn; result: the"
echo "median of the pairs' ratios (bulk, from empty stores) or differences (one event,"
echo "process start included, on a store that exists).  Reads: the best of $RUNS, whole"
echo "process; peak RSS the largest.  floor: the plain grouped query ($floor_name)."

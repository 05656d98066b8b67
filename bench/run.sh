#!/bin/sh
# make bench: evt-append and evt-read against a yardstick measured in the same
# run (bench/bare.c, the plain SQLite C API doing the same work) and beside
# evtstore's own SQLite provider (bench/evtstore.js), on durable commits.
#
#   BENCH_N=100000 make bench       a quicker run (default 1000000 events)
#   BENCH_RUNS=1                    runs per measurement, the best is kept (3)
#   BENCH_SINGLES=1000              one-event appends timed one by one (1000)
#   BENCH_EVTSTORE_RECORDS=10000    records evtstore appends one by one (10000)
#
# Method. Rates are events divided by the wall-clock time of the whole
# process (start-up included), measured with `date +%s%N` around it; the best
# of BENCH_RUNS runs is kept; ratios are evt's speed as a share of bare's.
# Peak memory is /usr/bin/time's %M, the largest of the runs. Every insert
# starts from an empty store. The one-event appends
# are timed one by one by bench/spawn.c (CLOCK_MONOTONIC around posix_spawn
# and waitpid: process start included) against a store that already exists.
# evtstore's figures are timed inside node, after its modules are loaded.
# Then bench/ops.sh sqlite: evt-append --key against the same append without
# a key, evt-read --streams and --aggregates against bench/bare.c (issue 12).
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

N=${BENCH_N:-1000000}
RUNS=${BENCH_RUNS:-3}
SINGLES=${BENCH_SINGLES:-1000}
ES_RECORDS=${BENCH_EVTSTORE_RECORDS:-10000}
for v in "$N" "$RUNS" "$SINGLES" "$ES_RECORDS"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done
AGGS=1000
[ "$N" -ge "$AGGS" ] || AGGS=$N
[ "$ES_RECORDS" -le "$N" ] || ES_RECORDS=$N
# evtstore's knex provider inserts a batch as one compound SELECT, and
# SQLite allows at most 500 terms in one: its largest append is 500 events.
ES_BATCH=500
ES_DIR=${EVTSTORE_DIR:-$root/tests/interop}

bin=$root/bin
out=$root/bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# warn MESSAGE: on stderr now, and again under the table
warn() {
	echo "bench: $*" >&2
	echo "warning: $*" >>"$tmp/warn"
}

# ---- tools ----------------------------------------------------------------

mkdir -p "$out"
sqlite_flags=$(pkg-config --cflags --libs sqlite3 2>/dev/null || echo -lsqlite3)
# shellcheck disable=SC2086 # the flags are words
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/bare" bench/bare.c $sqlite_flags
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/spawn" bench/spawn.c

TIME=/usr/bin/time
if [ ! -x "$TIME" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "bench: installing package 'time' for peak memory figures" >&2
	apt-get install -y -qq time >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; } || :
fi
if [ ! -x "$TIME" ]; then
	echo "bench: /usr/bin/time not found (apt-get install time): no peak memory figures" >&2
	TIME=
fi

# The programs under test, copied so that a rebuild during the run changes
# nothing; a sanitizer build is no basis for figures.
mkdir "$tmp/bin"
for p in evt-append evt-read evt-fold; do
	[ ! -x "$bin/$p" ] || cp "$bin/$p" "$tmp/bin/$p"
done
bin=$tmp/bin
sanitized=
for p in "$bin"/*; do
	[ -e "$p" ] || continue
	if ldd "$p" 2>/dev/null | grep -q 'lib\(asan\|ubsan\|tsan\)'; then sanitized=yes; fi
done
[ -z "$sanitized" ] || warn "bin/ is a sanitizer build, these figures do not count: run 'make clean all' first"

have_evt() { [ -x "$bin/$1" ]; }
have_evtstore=yes
es_why=
if ! command -v node >/dev/null; then
	have_evtstore=
	es_why="skipped: node not found"
elif [ ! -d "$ES_DIR/node_modules/evtstore" ] || [ ! -d "$ES_DIR/node_modules/knex" ] ||
    [ ! -d "$ES_DIR/node_modules/better-sqlite3" ]; then
	have_evtstore=
	es_why="skipped: run (cd tests/interop && npm ci)"
fi
export EVTSTORE_DIR="$ES_DIR"

# ---- helpers --------------------------------------------------------------

. bench/lib.sh

fresh() { rm -f "$1" "$1-wal" "$1-shm" "$1-journal"; }

# 1234567 -> 1,234,567
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d%%", 100 * a / b }'; }
ms2() { awk -v m="$1" 'BEGIN { printf "%.2f", m }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ok() { if "$@"; then echo ok; else echo MISS; fi; }

# evtstore.js output: {"events":..,"seconds":..[,"median":..,"p90":..]}
jfield() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" "$2"; }

fail() { # what, stderr file
	warn "$1 failed: $(head -c 300 "$2" | head -n 2)"
}

progress() { printf '%s\n' "bench: $*" >&2; }

# ---- inputs ---------------------------------------------------------------

progress "$N events, best of $RUNS runs; scratch in $tmp"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
awk -v n="$N" -v a="$AGGS" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"stream\":\"bench\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"incremented\",\"n\":%d}}\n", (i - 1) % a + 1, i }' >"$tmp/records"

# ---- (a) yardstick: bare insert -------------------------------------------

progress "bare insert"
db=$tmp/bare.db
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	fresh "$db"
	timed "$out/bare" insert "$db" "$N" || { echo "bench: bare insert failed" >&2; exit 1; }
	best_note
	i=$((i + 1))
done
bare_ins=$(rate "$N" "$best_t")

# ---- (b) evt-append, one aggregate ----------------------------------------

app1=; app1_note=
if have_evt evt-append; then
	progress "evt-append, 1 aggregate"
	db=$tmp/append.db
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		fresh "$db"
		if ! timed "$bin/evt-append" -q -d "$db" bench a1 <"$tmp/events" >/dev/null 2>"$tmp/err"; then
			fail "evt-append" "$tmp/err"; app1_note="failed"; break
		fi
		best_note
		i=$((i + 1))
	done
	if [ -z "$app1_note" ]; then
		app1=$(rate "$N" "$best_t")
		last=$("$out/bare" read "$db" | tail -n 1)
		case $last in *"\"version\":$N,"*) ;; *) app1_note="wrong result"
			warn "evt-append: last record is not version $N: $last" ;;
		esac
	fi
	fresh "$db"
else
	app1_note="not built"
fi

# ---- (c) evt-append --records, many aggregates ----------------------------

apprec=; apprec_note=
if have_evt evt-append; then
	progress "evt-append --records, $AGGS aggregates"
	db=$tmp/records.db
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		fresh "$db"
		if ! timed "$bin/evt-append" -q -d "$db" --records <"$tmp/records" >/dev/null 2>"$tmp/err"; then
			fail "evt-append --records" "$tmp/err"; apprec_note="failed"; break
		fi
		best_note
		i=$((i + 1))
	done
	if [ -z "$apprec_note" ]; then
		apprec=$(rate "$N" "$best_t")
		got=$("$out/bare" read "$db" | wc -l)
		[ "$got" -eq "$N" ] || { apprec_note="wrong result"
			warn "evt-append --records stored $got events, not $N"; }
	fi
	fresh "$db"
else
	apprec_note="not built"
fi

# ---- (d) one-event appends, one process each ------------------------------

progress "$SINGLES /bin/true and bare one-event append processes"
true_ms=$(ms2 "$("$out/spawn" "$SINGLES" true | awk '{ print $1 }')")
db=$tmp/bare-single.db
fresh "$db"
"$out/bare" one "$db"
sync
"$out/spawn" "$SINGLES" "$out/bare" one "$db" >"$tmp/spawn" || { echo "bench: bare one-event append failed" >&2; exit 1; }
read -r bare_med bare_p90 _ <"$tmp/spawn"
bare_med=$(ms2 "$bare_med")
bare_p90=$(ms2 "$bare_p90")
one_med=; one_p90=; one_note=
if have_evt evt-append; then
	progress "$SINGLES one-event evt-append processes"
	db=$tmp/single.db
	fresh "$db"
	sync
	if "$bin/evt-append" -q -d "$db" s a1 '{"type":"x"}' </dev/null 2>"$tmp/err" &&
	    "$out/spawn" "$SINGLES" "$bin/evt-append" -q -d "$db" s a1 '{"type":"x"}' >"$tmp/spawn" 2>"$tmp/err"; then
		read -r one_med one_p90 _ <"$tmp/spawn"
		one_med=$(ms2 "$one_med")
		one_p90=$(ms2 "$one_p90")
		got=$("$out/bare" read "$db" | wc -l)
		[ "$got" -eq $((SINGLES + 1)) ] || { one_note="wrong result"
			warn "one-event appends stored $got events, not $((SINGLES + 1))"; }
	else
		fail "one-event evt-append" "$tmp/err"; one_note="failed"
	fi
else
	one_note="not built"
fi

# ---- (e) reads: bare yardstick and evt-read, of the bare-inserted store ---

db=$tmp/bare.db
progress "bare read"
best_reset
i=0
while [ $i -lt "$RUNS" ]; do
	timed "$out/bare" read "$db" >/dev/null || { echo "bench: bare read failed" >&2; exit 1; }
	best_note
	i=$((i + 1))
done
bare_read=$(rate "$N" "$best_t")
bare_kb=$best_kb

rd=; rd_kb=; rd_note=
if have_evt evt-read; then
	progress "evt-read"
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		if ! timed "$bin/evt-read" -d "$db" >/dev/null 2>"$tmp/err"; then
			fail "evt-read" "$tmp/err"; rd_note="failed"; break
		fi
		best_note
		i=$((i + 1))
	done
	if [ -z "$rd_note" ]; then
		rd=$(rate "$N" "$best_t")
		rd_kb=$best_kb
		a=$("$out/bare" read "$db" | cksum)
		b=$("$bin/evt-read" -d "$db" | cksum)
		[ "$a" = "$b" ] || { rd_note="wrong output"
			warn "evt-read prints other records than the bare read"; }
	fi
else
	rd_note="not built"
fi

fold=; fold_note=
if have_evt evt-fold; then
	progress "evt-fold"
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		if ! timed "$bin/evt-fold" -d "$db" bench a1 >/dev/null 2>"$tmp/err"; then
			fail "evt-fold" "$tmp/err"; fold_note="failed"; break
		fi
		best_note
		i=$((i + 1))
	done
	[ -n "$fold_note" ] || fold=$(rate "$N" "$best_t")
else
	fold_note="not built"
fi

# ---- (f) evtstore's SQLite provider ---------------------------------------

es_app=; es_rec=; es_med=; es_p90=; es_proc=; es_read=; es_read_kb=; es_fold=
es_app_note=; es_rec_note=; es_one_note=; es_read_note=; es_fold_note=
esjs=$root/bench/evtstore.js

# es_run MODE DB ARG...: run evtstore.js, its output in $tmp/es; on failure
# es_err says why
es_run() {
	timed node "$esjs" "$@" >"$tmp/es" 2>"$tmp/err" && return 0
	es_err="fails: $(sed -n 's/^evtstore.js: //p' "$tmp/err" | head -n 1 | cut -c1-60)"
	return 1
}

if [ -n "$have_evtstore" ]; then
	progress "evtstore: append, $ES_BATCH events per append"
	db=$tmp/es-append.db
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		fresh "$db"
		es_run append "$db" "$N" "$ES_BATCH" || { es_app_note=$es_err; break; }
		t=$(jfield seconds "$tmp/es")
		best_note
		i=$((i + 1))
	done
	[ -n "$es_app_note" ] || es_app=$(rate "$N" "$best_t")
	fresh "$db"

	progress "evtstore: $ES_RECORDS records over $AGGS aggregates, one append each"
	db=$tmp/es-records.db
	fresh "$db"
	if es_run records "$db" "$ES_RECORDS" "$AGGS"; then
		es_rec=$(rate "$ES_RECORDS" "$(jfield seconds "$tmp/es")")
	else
		es_rec_note=$es_err
	fi

	progress "evtstore: $SINGLES one-event appends in one process; 20 node processes"
	db=$tmp/es-single.db
	fresh "$db"
	if ! es_run single "$db" "$SINGLES"; then
		es_one_note=$es_err
	else
		es_med=$(ms2 "$(jfield median "$tmp/es")")
		es_p90=$(ms2 "$(jfield p90 "$tmp/es")")
		if "$out/spawn" 20 node "$esjs" one "$db" >"$tmp/spawn" 2>"$tmp/err"; then
			es_proc=$(awk '{ printf "%.0f", $1 }' "$tmp/spawn")
		fi
	fi

	progress "evtstore: read (getEventsFrom, pages of 1000)"
	db=$tmp/bare.db
	best_reset
	i=0
	while [ $i -lt "$RUNS" ]; do
		es_run read "$db" 1000 || { es_read_note=$es_err; break; }
		t=$(jfield seconds "$tmp/es")
		best_note
		i=$((i + 1))
	done
	if [ -z "$es_read_note" ]; then
		es_read=$(rate "$N" "$best_t")
		es_read_kb=$best_kb
	fi

	progress "evtstore: getAggregate"
	if es_run fold "$db"; then
		es_fold=$(rate "$N" "$(jfield seconds "$tmp/es")")
	else
		es_fold_note=$es_err
	fi
fi

# ---- the table ------------------------------------------------------------

# cell VALUE NOTE: the value, or the note when there is no value
cell() { if [ -n "$1" ]; then echo "$1"; elif [ -n "$2" ]; then echo "$2"; else echo "-"; fi; }
es_cell() { if [ -n "$have_evtstore" ]; then cell "$1" "$2"; else echo "-"; fi; }
row() { printf '%-38s %-14s %-14s %-6s %-30s %s\n' "$@"; }

echo
echo "evt bench: $N events, SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), durable commits (WAL, synchronous=FULL), best of $RUNS"
echo
row "measurement" "evt" "bare SQLite" "ratio" "target" "evtstore"

v=-; r=-; s=
if [ -n "$app1" ]; then v="$(commas "$app1")/s"; r=$(pct "$app1" "$bare_ins"); s=" $(ok ge "$app1" "$(awk -v b="$bare_ins" 'BEGIN { print 0.75 * b }')")"; fi
row "append $N events, 1 aggregate" "$(cell "${app1:+$v}" "$app1_note")" "$(commas "$bare_ins")/s" "$r" ">= 75%$s" \
    "$(es_cell "${es_app:+$(commas "$es_app")/s (batches of $ES_BATCH)}" "$es_app_note")"

v=-; r=-; s=
if [ -n "$apprec" ]; then v="$(commas "$apprec")/s"; r=$(pct "$apprec" "$bare_ins"); s=" $(ok ge "$apprec" "$(awk -v b="$bare_ins" 'BEGIN { print 0.60 * b }')")"; fi
row "append --records, $AGGS aggregates" "$(cell "${apprec:+$v}" "$apprec_note")" "$(commas "$bare_ins")/s" "$r" ">= 60%$s" \
    "$(es_cell "${es_rec:+$(commas "$es_rec")/s (1 append per record, first $(commas "$ES_RECORDS"))}" "$es_rec_note")"

s=
[ -z "$one_med" ] || s=" $(ok ge 2 "$one_med")"
row "one-event append, median of $SINGLES" "$(cell "${one_med:+$one_med ms}" "$one_note")" "$bare_med ms" "$(cell "${one_med:+$(pct "$bare_med" "$one_med")}" "")" "<= 2 ms$s" \
    "$(es_cell "${es_med:+$es_med ms in-process, ${es_proc:-?} ms per node process}" "$es_one_note")"
row "one-event append, p90" "$(cell "${one_p90:+$one_p90 ms}" "$one_note")" "$bare_p90 ms" "$(cell "${one_p90:+$(pct "$bare_p90" "$one_p90")}" "")" "-" \
    "$(es_cell "${es_p90:+$es_p90 ms in-process}" "$es_one_note")"

v=-; r=-; s=
if [ -n "$rd" ]; then v="$(commas "$rd")/s"; r=$(pct "$rd" "$bare_read")
	s=" $(ok awk -v a="$rd" -v b="$bare_read" 'BEGIN { exit !(a >= 0.55 * b && a >= 2000000) }')"; fi
row "read $N events to /dev/null" "$(cell "${rd:+$v}" "$rd_note")" "$(commas "$bare_read")/s" "$r" ">= 55%, >= 2,000,000/s$s" \
    "$(es_cell "${es_read:+$(commas "$es_read")/s (getEventsFrom)}" "$es_read_note")"

v=-; s=
if [ -n "$rd_kb" ] && [ "$rd_kb" -gt 0 ]; then v=$(mib "$rd_kb"); s=" $(ok ge 16384 "$rd_kb")"; fi
row "read, peak memory" "$(cell "${rd:+$v}" "$rd_note")" "$( [ "$bare_kb" -gt 0 ] && mib "$bare_kb" || echo -)" "-" "<= 16 MiB$s" \
    "$(es_cell "${es_read_kb:+$(mib "$es_read_kb")}" "$es_read_note")"

row "fold $N events of 1 aggregate" "$(cell "${fold:+$(commas "$fold")/s}" "$fold_note")" "-" "-" "-" \
    "$(es_cell "${es_fold:+$(commas "$es_fold")/s (getAggregate)}" "$es_fold_note")"

[ -n "$have_evtstore" ] || { echo; echo "evtstore: $es_why"; }
[ ! -s "$tmp/warn" ] || { echo; cat "$tmp/warn"; }
echo
echo "Rates are events per second of wall-clock time, process start included (evtstore: timed"
echo "inside node after loading). bare SQLite is bench/bare.c, the same work on the SQLite C API."
echo "One-event appends: each process timed from spawn to exit, on a store that exists; bare is"
echo "'bare one' (open, BEGIN IMMEDIATE, max(version), insert, COMMIT, close). Ratios of times are"
echo "bare time / evt time. Process start alone (/bin/true): $true_ms ms median."
echo "evtstore: evtstore 12.0.1 knex provider on better-sqlite3, WAL, synchronous=FULL; it appends"
echo "at most $ES_BATCH events at a time and one aggregate per append, so records go one per append."

# issue 12: --key, --streams and --aggregates, beside their floors
sh bench/ops.sh sqlite

#!/bin/sh
# Benchmarks of evt-fold and evt-command (issue 3), beside evtstore's
# getAggregate and jq 1.6's own CLI, on one SQLite store.
#
#   sh bench/fold.sh                 1,000,000 events of one aggregate
#   BENCH_N=100000 sh bench/fold.sh  a quicker run
#   BENCH_RUNS=1                     runs per fold, the best is kept (3)
#   BENCH_PERSIST=50                 --persist folds after one new event (50)
#   BENCH_COMMANDS=200               evt-command runs (200)
#
# Method. The store holds N events {"type":"incremented","n":I} of bench/a1
# (as bench/evtstore.js writes them). Fold rates are N divided by the
# wall-clock time of the whole process (start-up included), best of
# BENCH_RUNS; evtstore's getAggregate is timed inside node after its modules
# are loaded. The --persist figure: BENCH_PERSIST times, one event is
# appended (not timed), then `evt-fold --persist` is timed from spawn to
# exit by bench/spawn.c; the median is shown. evt-command: BENCH_COMMANDS
# runs on one aggregate of the same store, each appending one event
# (durable commit), timed the same way.
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

N=${BENCH_N:-1000000}
RUNS=${BENCH_RUNS:-3}
PERSIST=${BENCH_PERSIST:-50}
COMMANDS=${BENCH_COMMANDS:-200}
for v in "$N" "$RUNS" "$PERSIST" "$COMMANDS"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done
ES_DIR=${EVTSTORE_DIR:-$root/tests/interop}

bin=$root/bin
out=$root/bench/out
for p in evt-append evt-read evt-fold evt-command; do
	[ -x "$bin/$p" ] || { echo "bench: $bin/$p not built (make)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-fold.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$out"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$out/spawn" bench/spawn.c

progress() { printf '%s\n' "bench: $*" >&2; }
warn() { printf '%s\n' "bench: $*" >&2; }

. bench/lib.sh
best() { awk -v a="${1:-inf}" -v b="$2" 'BEGIN { print (a == "inf" || b + 0 < a + 0) ? b : a }'; }
ok() { if "$@"; then echo ok; else echo MISS; fi; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# bestof NAME CMD...: best of RUNS wall-clock times of CMD, in $best_t;
# stdout to $tmp/NAME.out; 1 if a run fails (stderr shown).
bestof() {
	name=$1
	shift
	best_t=
	i=0
	while [ $i -lt "$RUNS" ]; do
		if ! timed "$@" >"$tmp/$name.out" 2>"$tmp/err"; then
			warn "$name failed: $(head -n 2 "$tmp/err")"
			return 1
		fi
		best_t=$(best "$best_t" "$t")
		i=$((i + 1))
	done
}

# ---- the store ------------------------------------------------------------

db=$tmp/fold.db
progress "store: $N events of bench/a1"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
EVT_SYNC=normal "$bin/evt-append" -q -d "$db" bench a1 <"$tmp/events"
want="{\"n\":$N,\"aggregateId\":\"a1\",\"version\":$N}"

# ---- folds of the whole aggregate -----------------------------------------

progress "evt-read bench a1 (the read alone)"
read_r=
if bestof read "$bin/evt-read" -d "$db" bench a1; then read_r=$(rate "$N" "$best_t"); fi

progress "evt-fold, merge"
merge_r=
if bestof merge "$bin/evt-fold" -d "$db" bench a1; then
	if [ "$(cat "$tmp/merge.out")" = "$want" ]; then merge_r=$(rate "$N" "$best_t")
	else warn "evt-fold printed $(head -c 200 "$tmp/merge.out")"; fi
fi

progress "evt-fold --jq"
jq_r=
if bestof jq "$bin/evt-fold" -d "$db" --jq '{n: .n}' bench a1; then
	if [ "$(cat "$tmp/jq.out")" = "$want" ]; then jq_r=$(rate "$N" "$best_t")
	else warn "evt-fold --jq printed $(head -c 200 "$tmp/jq.out")"; fi
fi

progress "evt-fold --jq with \$agg and \$meta"
jqam_r=
if bestof jqam "$bin/evt-fold" -d "$db" --jq '{n: .n, count: ($agg.count + 1), at: $meta.position}' --init '{"count":0}' bench a1; then
	jqam_r=$(rate "$N" "$best_t")
fi

jqcli_r=
if command -v jq >/dev/null; then
	progress "jq 1.6 CLI: reduce over the same events, from a file"
	if bestof jqcli jq -n 'reduce inputs as $e ({}; . + ($e | del(.type)))' "$tmp/events"; then
		jqcli_r=$(rate "$N" "$best_t")
	fi
fi

# evtstore's getAggregate, timed in node after loading (tests/interop/fold.js
# time). Its knex provider reads an aggregate in one query and spreads the
# rows into an array: past some 100,000 events that is "Maximum call stack
# size exceeded". So it is also timed on an aggregate of ES_N events, beside
# evt-fold on the same one.
ES_N=100000
[ "$ES_N" -le "$N" ] || ES_N=$N
es_r=; es_note="skipped: node not found"; es_small=; small_r=
if command -v node >/dev/null; then
	if [ -d "$ES_DIR/node_modules/evtstore" ]; then
		progress "evtstore: getAggregate of $N events"
		if node "$ES_DIR/fold.js" time "$db" bench a1 >"$tmp/es" 2>"$tmp/err"; then
			s=$(sed -n 's/.*"seconds":\([-0-9.e+]*\).*/\1/p' "$tmp/es")
			es_r=$(rate "$N" "$s")
		else
			es_note="fails: $(sed -n 's/^fold.js: //p' "$tmp/err" | head -n 1 | cut -c1-50)"
		fi
		progress "evtstore and evt-fold: $ES_N events"
		head -n "$ES_N" "$tmp/events" | EVT_SYNC=normal "$bin/evt-append" -q -d "$db" bench e1
		if node "$ES_DIR/fold.js" time "$db" bench e1 >"$tmp/es" 2>"$tmp/err"; then
			s=$(sed -n 's/.*"seconds":\([-0-9.e+]*\).*/\1/p' "$tmp/es")
			es_small=$(rate "$ES_N" "$s")
		fi
		if bestof small "$bin/evt-fold" -d "$db" bench e1; then small_r=$(rate "$ES_N" "$best_t"); fi
	else
		es_note="skipped: run (cd tests/interop && npm ci)"
	fi
fi

# ---- --persist after one new event ----------------------------------------

progress "evt-fold --persist: the first fold writes the snapshot"
persist_first=
if timed "$bin/evt-fold" -d "$db" --persist b1 bench a1 >/dev/null 2>"$tmp/err"; then
	persist_first=$t
else
	warn "evt-fold --persist failed: $(head -n 2 "$tmp/err")"
fi
progress "evt-fold --persist after one new event, $PERSIST times"
: >"$tmp/persist"
i=0
while [ -n "$persist_first" ] && [ $i -lt "$PERSIST" ]; do
	EVT_SYNC=normal "$bin/evt-append" -q -d "$db" bench a1 "{\"type\":\"incremented\",\"n\":-$i}"
	"$out/spawn" 1 "$bin/evt-fold" -d "$db" --persist b1 bench a1 | awk '{ print $1 }' >>"$tmp/persist"
	i=$((i + 1))
done
persist_ms=$(median <"$tmp/persist")
check=$("$bin/evt-fold" -d "$db" --persist b1 bench a1)
plain=$("$bin/evt-fold" -d "$db" bench a1)
[ "$check" = "$plain" ] || warn "--persist folds $check, without it $plain"

# ---- evt-command ----------------------------------------------------------

progress "evt-command, $COMMANDS runs with a small sh program"
cmd_ms=; cmd_p90=
if r=$("$out/spawn" "$COMMANDS" "$bin/evt-command" -d "$db" bench c1 increment '{"by":1}' -- \
	sh -c 'read -r cmd; case $cmd in *increment*) echo "{\"type\":\"incremented\",\"by\":1}" ;; esac' 2>"$tmp/err"); then
	cmd_ms=$(echo "$r" | awk '{ print $1 }')
	cmd_p90=$(echo "$r" | awk '{ print $2 }')
else
	warn "evt-command failed: $(head -n 2 "$tmp/err")"
fi
progress "evt-command --persist on the $N-event aggregate, 50 runs"
cmdp_ms=
"$bin/evt-fold" -d "$db" --persist c2 bench a1 >/dev/null
if r=$("$out/spawn" 50 "$bin/evt-command" -d "$db" --persist c2 bench a1 increment -- \
	sh -c 'cat >/dev/null; echo "{\"type\":\"incremented\",\"n\":0}"' 2>"$tmp/err"); then
	cmdp_ms=$(echo "$r" | awk '{ print $1 }')
else
	warn "evt-command --persist failed: $(head -n 2 "$tmp/err")"
fi
true_ms=$("$out/spawn" 50 /bin/true | awk '{ print $1 }')

# ---- the table ------------------------------------------------------------

cell() { if [ -n "$1" ]; then echo "$1"; else echo "failed"; fi; }
# either VALUE OTHER: VALUE when it is set, else OTHER
either() { if [ -n "$1" ]; then echo "$1"; else echo "$2"; fi; }
per_s() { [ -z "$1" ] || echo "$(commas "$1")/s"; }
row() { printf '%-38s %-14s %-22s %s\n' "$@"; }

echo
echo "evt fold bench: $N events of one aggregate, SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), best of $RUNS"
echo
row "measurement" "evt" "target" "beside it"
row "fold, merge" "$(cell "$(per_s "$merge_r")")" \
    ">= 1,000,000/s $( [ -z "$merge_r" ] || ok ge "$merge_r" 1000000)" \
    "evtstore getAggregate: $(either "${es_r:+$(per_s "$es_r") (in node, after loading)}" "$es_note")"
[ -z "$small_r$es_small" ] ||
row "fold $ES_N events, merge" "$(cell "$(per_s "$small_r")")" "-" \
    "evtstore getAggregate: $(either "${es_small:+$(per_s "$es_small") (in node, after loading)}" "failed")"
row "fold, --jq '{n: .n}'" "$(cell "$(per_s "$jq_r")")" \
    ">= 200,000/s $( [ -z "$jq_r" ] || ok ge "$jq_r" 200000)" \
    "jq 1.6 CLI reduce: $(either "$(per_s "$jqcli_r")" "not run")"
row "fold, --jq with \$agg and \$meta" "$(cell "$(per_s "$jqam_r")")" "-" "-"
row "evt-read of the aggregate" "$(cell "$(per_s "$read_r")")" "-" "what every fold reads"
row "fold --persist, first fold" "$(cell "${persist_first:+$(awk -v t="$persist_first" 'BEGIN { printf "%.2f s", t }')}")" "-" "writes the snapshot"
row "fold --persist after 1 new event" "$(cell "${persist_ms:+$persist_ms ms}")" \
    "<= 5 ms $( [ -z "$persist_ms" ] || ok ge 5 "$persist_ms")" "median of $PERSIST; /bin/true: $true_ms ms"
row "evt-command, small sh program" "$(cell "${cmd_ms:+$cmd_ms ms}")" \
    "<= 10 ms $( [ -z "$cmd_ms" ] || ok ge 10 "$cmd_ms")" "median of $COMMANDS (p90 $cmd_p90 ms), durable append"
row "evt-command --persist, big aggregate" "$(cell "${cmdp_ms:+$cmdp_ms ms}")" "-" "median of 50, on the $N-event aggregate"
echo
echo "Rates are events per second of wall-clock time, process start included. Times in ms are"
echo "from spawn to exit (bench/spawn.c). evtstore: evtstore 12.0.1 knex provider on better-sqlite3."

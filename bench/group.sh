#!/bin/sh
# bench/group.sh: evt-handle --group on PostgreSQL: N members against one
# process, over the same events, in the same run, against a throwaway
# cluster started here (tests/pg.bash) with durable commits.
#
#   sh bench/group.sh                (make bench runs it too)
#   BENCH_GROUP_N=4000               events (4000, over 400 aggregates)
#   BENCH_GROUP_MEMBERS=4            members of the group (4)
#   BENCH_GROUP_RUNS=3               runs of each; the best is kept (3)
#
# Method.  The events are appended once.  (a) one process:
# `evt-handle one s -- /bin/true`, (b) the group: MEMBERS processes
# `evt-handle --group I/MEMBERS grp s -- /bin/true` started together, timed
# from the start of the first to the end of the last.  Each run starts
# from bookmarks dropped (--drop).  Events per second of wall-clock time,
# and the ratio (b) / (a): what the group gains on this machine's cores.
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tests/pg.bash
. bench/lib.sh

N=${BENCH_GROUP_N:-4000}
M=${BENCH_GROUP_MEMBERS:-4}
RUNS=${BENCH_GROUP_RUNS:-3}
for v in "$N" "$M" "$RUNS"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench/group.sh: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

progress() { printf '%s\n' "bench/group.sh: $*" >&2; }
die() { printf '%s\n' "bench/group.sh: $*" >&2; exit 1; }
[ -x bin/evt-handle ] && [ -x bin/evt-append ] || die "build first: make"
PATH=$root/bin:$PATH
export PATH

started=
cleanup() { [ -z "$started" ] || pg_stop; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
progress "starting a PostgreSQL cluster"
pg_start >/dev/null || die "cannot start a PostgreSQL cluster"
started=1
EVT_DB=$EVT_TEST_PG_URL
export EVT_DB

progress "appending $N events over $((N / 10 + 1)) aggregates"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"stream\":\"s\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"x\"}}\n", i % (n / 10 + 1) }' |
	evt-append -q --records || die "evt-append failed"

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

one_t=; grp_t=
i=0
while [ $i -lt "$RUNS" ]; do
	evt-handle --drop one >/dev/null 2>&1 || :
	evt-handle --drop grp >/dev/null 2>&1 || :
	t0=$(now_ns)
	evt-handle one s -- /bin/true || die "evt-handle failed"
	t1=$(now_ns)
	one_t=$(least "$one_t" "$(secs "$t0" "$t1")")
	pids=
	t0=$(now_ns)
	j=0
	while [ $j -lt "$M" ]; do
		evt-handle --group "$j/$M" grp s -- /bin/true &
		pids="$pids $!"
		j=$((j + 1))
	done
	for p in $pids; do wait "$p" || die "a member failed"; done
	t1=$(now_ns)
	grp_t=$(least "$grp_t" "$(secs "$t0" "$t1")")
	# every event handled: the members' shares add up to N
	lag=$(evt-handle --status grp | sed -n 's/.*"lag":\([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	[ "$lag" = 0 ] || die "the group left $lag events"
	i=$((i + 1))
done
one_rate=$(rate "$N" "$one_t")
grp_rate=$(rate "$N" "$grp_t")
ratio=$(awk -v a="$grp_rate" -v b="$one_rate" 'BEGIN { printf "%.2f", a / b }')

row() { printf '%-44s %-14s %-16s %s\n' "$@"; }
echo
echo "evt-handle --group bench, PostgreSQL $(pg_psql -At -c 'SHOW server_version' 2>/dev/null || echo '?'), best of $RUNS"
echo
row "measurement" "rate" "target" "beside it"
row "(a) one process, -- /bin/true, $(commas "$N") events" "$(commas "$one_rate")/s" "-" ""
row "(b) --group of $M, the same events" "$(commas "$grp_rate")/s" ">= 1.8x $(if ge "$ratio" 1.8; then echo ok; else echo MISS; fi)" "${ratio}x of (a)"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') on $(nproc 2>/dev/null || echo '?') CPUs."

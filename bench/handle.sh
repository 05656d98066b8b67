#!/bin/sh
# bench/handle.sh: evt-handle's throughput, one process per event and in
# batches, and its --follow latency from commit to the handler's start.
#
#   sh bench/handle.sh               (make bench runs it too)
#   BENCH_HANDLE_N=10000             events for one process each (10000)
#   BENCH_HANDLE_BATCH_N=1000000     events for --batch 1000 (1000000)
#   BENCH_HANDLE_FOLLOW_N=200        events for the latency (200)
#   BENCH_HANDLE_RATE=50             their rate, events per second (50)
#   BENCH_HANDLE_RUNS=3              runs of (a), (b) and their floors; the
#                                    best of each is kept (3)
#
# Method.
# (a) `evt-handle NAME s -- /bin/true` over BENCH_HANDLE_N events of a
#     SQLite store, the bookmark committed after each: events per second of
#     wall-clock time, process start included. Beside it the machine's floor
#     for one process per event: a C program (compiled here) that spawns
#     /bin/true with posix_spawn and waits for it, BENCH_HANDLE_N times. The
#     ratio evt-handle / floor is the share of the floor evt-handle keeps: what
#     is lost is its own cost (reading, the pipe, the environment, the
#     bookmark commit).
# (b) `evt-handle --batch 1000 NAME s -- sh -c 'cat >/dev/null'` over
#     BENCH_HANDLE_BATCH_N events (appended first by one evt-append).
# (c) `evt-handle --follow NAME s -- stamp`: a C driver runs one evt-append
#     per event on an absolute schedule of BENCH_HANDLE_RATE a second and notes
#     CLOCK_MONOTONIC just after waitpid (commit: evt-append is known to be
#     done); the handler is a C program (static when the compiler can) whose
#     first act is to note CLOCK_MONOTONIC (start). Latency is start - commit;
#     a handler that starts before its evt-append has been reaped counts as 0.
#     Percentiles are nearest-rank.
# Stores use the default durable commits for the events; evt-handle commits
# its bookmark with synchronous=NORMAL.
set -eu
LC_ALL=C
export LC_ALL

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

N=${BENCH_HANDLE_N:-10000}
BN=${BENCH_HANDLE_BATCH_N:-1000000}
FN=${BENCH_HANDLE_FOLLOW_N:-200}
RATE=${BENCH_HANDLE_RATE:-50}
RUNS=${BENCH_HANDLE_RUNS:-3}
for v in "$N" "$BN" "$FN" "$RATE" "$RUNS"; do
	case $v in
	''|*[!0-9]*|0*) echo "bench/handle.sh: counts must be positive integers, not '$v'" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-handle.XXXXXX")
follower=
cleanup() {
	[ -z "$follower" ] || kill -TERM "$follower" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

progress() { printf '%s\n' "bench/handle.sh: $*" >&2; }
die() { printf '%s\n' "bench/handle.sh: $*" >&2; exit 1; }
. bench/lib.sh
ok() { if "$@"; then echo ok; else echo MISS; fi; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

# ---- programs -------------------------------------------------------------

[ -x bin/evt-handle ] && [ -x bin/evt-append ] || die "build first: make"
mkdir "$tmp/bin"
for p in evt-handle evt-append; do cp "bin/$p" "$tmp/bin/$p"; done
if ldd "$tmp/bin/evt-handle" 2>/dev/null | grep -q 'lib\(asan\|ubsan\|tsan\)'; then
	progress "warning: bin/ is a sanitizer build, these figures do not count: run 'make clean all' first"
fi
PATH=$tmp/bin:$PATH
export PATH

CC=${CC:-cc}

# floor COUNT PROGRAM [ARG...]: spawn PROGRAM COUNT times, one after
# another, stdin /dev/null; prints the seconds it took.
cat >"$tmp/floor.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	long n = argc > 2 ? atol(argv[1]) : 0, i;

	if (n < 1)
		return 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		pid_t pid;
		int st, err = posix_spawn(&pid, argv[2], &fa, NULL, argv + 2,
					  environ);

		if (err) {
			fprintf(stderr, "floor: cannot run '%s'\n", argv[2]);
			return 1;
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
EOF

# stamp FILE: append "$EVT_POSITION NS" to FILE, NS the CLOCK_MONOTONIC at
# its start.
cat >"$tmp/stamp.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	const char *pos = getenv("EVT_POSITION");
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc != 2 || !pos)
		return 2;
	n = snprintf(line, sizeof(line), "%s %lld\n", pos,
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		return 1;
	return close(fd) != 0;
}
EOF

# drive COUNT RATE OUT DB: COUNT runs of `evt-append -q -d DB s a EVENT`, the
# i-th at start + i/RATE seconds; appends "I NS" to OUT, NS the
# CLOCK_MONOTONIC after its waitpid.
cat >"$tmp/drive.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
static long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int main(int argc, char **argv)
{
	long n, rate, i;
	long long t0;
	FILE *out;
	char ev[64];
	char *args[] = { "evt-append", "-q", "-d", NULL, "s", "a", ev, NULL };

	if (argc != 5)
		return 2;
	n = atol(argv[1]);
	rate = atol(argv[2]);
	args[3] = argv[4];
	if (n < 1 || rate < 1 || !(out = fopen(argv[3], "w")))
		return 2;
	t0 = now();
	for (i = 1; i <= n; i++) {
		long long at = t0 + i * 1000000000LL / rate, d;
		pid_t pid;
		int st;

		while ((d = at - now()) > 0) {
			struct timespec ts = { (time_t)(d / 1000000000LL),
					       (long)(d % 1000000000LL) };
			nanosleep(&ts, NULL);
		}
		snprintf(ev, sizeof(ev), "{\"type\":\"tick\",\"i\":%ld}", i);
		if (posix_spawnp(&pid, args[0], NULL, NULL, args, environ)) {
			fprintf(stderr, "drive: cannot run evt-append\n");
			return 1;
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return 1;
		fprintf(out, "%ld %lld\n", i, now());
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "drive: evt-append failed\n");
			return 1;
		}
	}
	return fclose(out) != 0;
}
EOF

$CC -O2 -std=c11 -Wall -o "$tmp/floor" "$tmp/floor.c"
$CC -O2 -std=c11 -Wall -o "$tmp/drive" "$tmp/drive.c"
stamp_kind=static
$CC -O2 -std=c11 -Wall -static -o "$tmp/stamp" "$tmp/stamp.c" 2>/dev/null || {
	stamp_kind=dynamic
	$CC -O2 -std=c11 -Wall -o "$tmp/stamp" "$tmp/stamp.c"
}

# position NAME DB: the bookmark's position, from --status.
position() {
	evt-handle -d "$2" --status "$1" | sed -n 's/.*"position":\([0-9]*\),.*/\1/p'
}

# ---- (a) one process per event --------------------------------------------

progress "(a) $N events, one /bin/true each"
db=$tmp/a.db
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
evt-append -q -d "$db" s a <"$tmp/events"
sync
# the best of RUNS, each run alternating with one of the floor, so that
# both see the same machine
a_t=; floor_t=
i=0
while [ $i -lt "$RUNS" ]; do
	evt-handle -d "$db" --reset bench
	t0=$(now_ns)
	evt-handle -d "$db" bench s -- /bin/true || die "evt-handle -- /bin/true failed"
	t1=$(now_ns)
	[ "$(position bench "$db")" = "$N" ] || die "evt-handle did not reach position $N"
	a_t=$(least "$a_t" "$(secs "$t0" "$t1")")
	floor_t=$(least "$floor_t" "$("$tmp/floor" "$N" /bin/true)")
	i=$((i + 1))
done
a_rate=$(rate "$N" "$a_t")
floor_rate=$(rate "$N" "$floor_t")
a_ms=$(awk -v t="$a_t" -v n="$N" 'BEGIN { printf "%.3f", 1000 * t / n }')
floor_ms=$(awk -v t="$floor_t" -v n="$N" 'BEGIN { printf "%.3f", 1000 * t / n }')
own_ms=$(awk -v a="$a_ms" -v b="$floor_ms" 'BEGIN { printf "%.3f", a - b }')
a_ratio=$(awk -v a="$a_rate" -v b="$floor_rate" 'BEGIN { printf "%d%%", 100 * a / b }')
rm -f "$db" "$db"-*

# ---- (b) batches ----------------------------------------------------------

progress "(b) appending $BN events"
db=$tmp/b.db
awk -v n="$BN" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"incremented\",\"n\":%d}\n", i }' >"$tmp/events"
evt-append -q -d "$db" s a <"$tmp/events"
rm -f "$tmp/events"
sync
progress "(b) $BN events, --batch 1000"
runs=$(( (BN + 999) / 1000 ))
b_t=; bfloor_t=
i=0
while [ $i -lt "$RUNS" ]; do
	evt-handle -d "$db" --reset bench
	t0=$(now_ns)
	evt-handle -d "$db" --batch 1000 bench s -- sh -c 'cat >/dev/null' || die "evt-handle --batch failed"
	t1=$(now_ns)
	[ "$(position bench "$db")" = "$BN" ] || die "evt-handle --batch did not reach position $BN"
	b_t=$(least "$b_t" "$(secs "$t0" "$t1")")
	bfloor_t=$(least "$bfloor_t" "$("$tmp/floor" "$runs" /bin/sh -c 'cat >/dev/null')")
	i=$((i + 1))
done
b_rate=$(rate "$BN" "$b_t")
bfloor_rate=$(rate "$BN" "$bfloor_t")
b_own=$(awk -v a="$b_t" -v b="$bfloor_t" 'BEGIN { printf "%.2f", a - b }')
rm -f "$db" "$db"-*

# ---- (c) --follow latency -------------------------------------------------

progress "(c) $FN events at $RATE/s, --follow"
db=$tmp/c.db
evt-append -q -d "$db" s warm '{"type":"warm"}'
evt-handle -d "$db" --follow latency s -- "$tmp/stamp" "$tmp/starts" 2>"$tmp/follow.err" &
follower=$!
# ready once the warm-up event has been handled
i=0
until [ -s "$tmp/starts" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || die "evt-handle --follow did not start: $(head -c 300 "$tmp/follow.err")"
	sleep 0.01
done
"$tmp/drive" "$FN" "$RATE" "$tmp/commits" "$db" || die "the driver failed"
# wait for the last one (at most 10 s)
i=0
until [ "$(wc -l <"$tmp/starts")" -gt "$FN" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || die "evt-handle --follow handled $(($(wc -l <"$tmp/starts") - 1)) of $FN events"
	sleep 0.01
done
kill -TERM "$follower"
rc=0
wait "$follower" || rc=$?
follower=
[ "$rc" -eq 0 ] || die "evt-handle --follow exited $rc on SIGTERM"
# event i is at position i + 1 (the warm-up is 1)
awk 'NR == FNR { c[$1 + 1] = $2; next }
     ($1 in c) { d = ($2 - c[$1]) / 1e6; if (d < 0) d = 0; print d }' \
	"$tmp/commits" "$tmp/starts" | sort -n >"$tmp/lat"
got=$(wc -l <"$tmp/lat")
[ "$got" -eq "$FN" ] || die "$got latencies for $FN events"
# nearest rank
pctl() { sed -n "$(awk -v n="$got" -v p="$1" 'BEGIN { r = int(n * p / 100); if (r < n * p / 100) r++; if (r < 1) r = 1; print r }')p" "$tmp/lat"; }
c_med=$(awk -v v="$(pctl 50)" 'BEGIN { printf "%.2f", v }')
c_p99=$(awk -v v="$(pctl 99)" 'BEGIN { printf "%.2f", v }')
c_max=$(awk -v v="$(tail -n 1 "$tmp/lat")" 'BEGIN { printf "%.2f", v }')

# ---- the table ------------------------------------------------------------

row() { printf '%-46s %-20s %-22s %s\n' "$@"; }
echo
echo "evt-handle bench, SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), best of $RUNS"
echo
row "measurement" "evt-handle" "target" "beside it"
row "(a) -- /bin/true, $(commas "$N") events" "$(commas "$a_rate")/s" ">= 2,000/s $(ok ge "$a_rate" 2000)" \
    "spawn floor $(commas "$floor_rate")/s; evt-handle $a_ratio of it"
row "    per event" "$a_ms ms" "-" "floor $floor_ms ms; evt-handle's own $own_ms ms"
row "(b) --batch 1000, $(commas "$BN") events" "$(commas "$b_rate")/s" ">= 500,000/s $(ok ge "$b_rate" 500000)" \
    "spawns alone $(commas "$bfloor_rate")/s"
row "    time" "$(awk -v t="$b_t" 'BEGIN { printf "%.2f", t }') s" "-" \
    "$runs spawns $(awk -v t="$bfloor_t" 'BEGIN { printf "%.2f", t }') s; evt-handle's own $b_own s"
row "(c) --follow, commit to handler start, median" "$c_med ms" "<= 10 ms $(ok ge 10 "$c_med")" "$FN events at $RATE/s"
row "    p99" "$c_p99 ms" "-" "max $c_max ms"
echo
echo "(a) the floor is a C loop of posix_spawn(/bin/true) + waitpid, $(commas "$N") times; the"
echo "    share is evt-handle's rate / the floor's. (b) 'spawns alone' is the same loop running"
echo "    sh -c 'cat >/dev/null' once per 1000 events, stdin /dev/null: the ceiling for any"
echo "    evt-handle. (c) the handler is a $stamp_kind C program noting CLOCK_MONOTONIC first"
echo "    thing; commit is when the appending evt-append has been reaped."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') on $(nproc 2>/dev/null || echo '?') CPUs."

#!/bin/sh
# Run every test file and end with one line: "N passed, N failed".
# Usage: tests/run.sh [FILE.bats ...]
#
# Every file runs on SQLite; a file marked "# backends: sqlite pg" runs
# again on PostgreSQL (EVT_TEST_BACKEND=pg), one marked "# backends: sqlite
# pg my" on PostgreSQL and then on MariaDB (EVT_TEST_BACKEND=my).  For
# those, for tests/pg.bats and tests/pooler.bats (which starts pgbouncer in
# front of it), and for tests/my.bats and tests/interop-my.bats a
# throwaway PostgreSQL cluster (tests/pg.bash) or MariaDB server
# (tests/my.bash) is started here and stopped at the end.
# EVT_TEST_SERVERS names the servers the marked files run on again
# (default "pg my"; e.g. EVT_TEST_SERVERS=pg: not on MariaDB).
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || set -- tests/*.bats
. tests/pg.bash
. tests/my.bash

# VALGRIND=1 (make check VALGRIND=1): every evt program a test runs goes
# through a memcheck wrapper (tests/valgrind.sh), and the tests' time
# bounds are 20 times longer.
if [ -n "${VALGRIND:-}" ]; then
	EVT_TEST_BIN=$(sh tests/valgrind.sh) || exit 1
	EVT_TEST_SLOW=${EVT_TEST_SLOW:-20}
	export EVT_TEST_BIN EVT_TEST_SLOW VALGRIND
fi

log=$(mktemp)
trap 'rm -f "$log"; [ -z "$started" ] || pg_stop; [ -z "$my_started" ] || my_stop' EXIT
trap 'exit 130' INT TERM

both=
on_my=
need_pg=
need_my=
started=
my_started=
servers=" ${EVT_TEST_SERVERS-pg my} "
for f in "$@"; do
	for b in $(sed -n 's/^# backends: //p' "$f" | head -n 1); do
		case $servers in *" $b "*) ;; *) continue ;; esac
		case $b in
		pg) both="$both $f"; need_pg=1 ;;
		my) on_my="$on_my $f"; need_my=1 ;;
		esac
	done
	case $f in */pg.bats|pg.bats|*/pooler.bats|pooler.bats) need_pg=1 ;; esac
	case $f in */my.bats|my.bats|*/interop-my.bats|interop-my.bats)
		need_my=1 ;;
	esac
done

pg_failed=0
if [ -n "$need_pg" ] && [ -z "${EVT_TEST_PG_URL:-}" ]; then
	# fsync off: the tests do not crash the machine
	if ! pg_start fsync=off synchronous_commit=off full_page_writes=off; then
		echo "tests/run.sh: cannot start a PostgreSQL cluster" >&2
		pg_failed=1
	else
		started=1
	fi
fi

my_failed=0
if [ -n "$need_my" ] && [ -z "${EVT_TEST_MY_URL:-}" ]; then
	# my_start's settings: no binary log, the redo log flushed once a second
	if ! my_start; then
		echo "tests/run.sh: cannot start a MariaDB server" >&2
		my_failed=1
	else
		my_started=1
	fi
fi

# no test reads stdin
bats --tap "$@" </dev/null | tee "$log"
if [ -n "$both" ] && [ "$pg_failed" -eq 0 ]; then
	echo "# the same on PostgreSQL:$both"
	# shellcheck disable=SC2086
	EVT_TEST_BACKEND=pg bats --tap $both </dev/null | tee -a "$log"
fi
if [ -n "$on_my" ] && [ "$my_failed" -eq 0 ]; then
	echo "# the same on MariaDB:$on_my"
	# shellcheck disable=SC2086
	EVT_TEST_BACKEND=my bats --tap $on_my </dev/null | tee -a "$log"
fi
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" |
	awk '{ n += $1 } END { print n + 0 }')
# A crash of bats itself leaves tests that never reported: count them.
missing=$(( planned - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
failed=$((failed + pg_failed + my_failed))
if [ -n "${VALGRIND:-}" ] && ! sh tests/valgrind.sh --report; then
	echo "tests/run.sh: valgrind reported errors (above)" >&2
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/bin/sh
# Run every test file and end with one line: "N passed, N failed".
# Usage: tests/run.sh [FILE.bats ...]
#
# The files marked "# backends: sqlite pg" run twice: on SQLite, then on
# PostgreSQL (EVT_TEST_BACKEND=pg).  For those and for tests/pg.bats a
# throwaway cluster is started here (tests/pg.bash) and stopped at the end.
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || set -- tests/*.bats
. tests/pg.bash

# VALGRIND=1 (make check VALGRIND=1): every evt program a test runs goes
# through a memcheck wrapper (tests/valgrind.sh), and the tests' time
# bounds are 20 times longer.
if [ -n "${VALGRIND:-}" ]; then
	EVT_TEST_BIN=$(sh tests/valgrind.sh) || exit 1
	EVT_TEST_SLOW=${EVT_TEST_SLOW:-20}
	export EVT_TEST_BIN EVT_TEST_SLOW VALGRIND
fi

log=$(mktemp)
trap 'rm -f "$log"; [ -z "$started" ] || pg_stop' EXIT
trap 'exit 130' INT TERM

both=
need_pg=
started=
for f in "$@"; do
	if grep -q '^# backends: sqlite pg$' "$f"; then
		both="$both $f"
		need_pg=1
	fi
	case $f in */pg.bats|pg.bats) need_pg=1 ;; esac
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

# no test reads stdin
bats --tap "$@" </dev/null | tee "$log"
if [ -n "$both" ] && [ "$pg_failed" -eq 0 ]; then
	echo "# the same on PostgreSQL:$both"
	# shellcheck disable=SC2086
	EVT_TEST_BACKEND=pg bats --tap $both </dev/null | tee -a "$log"
fi
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" |
	awk '{ n += $1 } END { print n + 0 }')
# A crash of bats itself leaves tests that never reported: count them.
missing=$(( planned - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
failed=$((failed + pg_failed))
if [ -n "${VALGRIND:-}" ] && ! sh tests/valgrind.sh --report; then
	echo "tests/run.sh: valgrind reported errors (above)" >&2
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

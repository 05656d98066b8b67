# Shared set-up for every tests/*.bats file.
bats_require_minimum_version 1.5.0

EVT_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# Programs and data that several test files use (copy or read them).
EVT_FIXTURES=$EVT_TOP/tests/fixtures
# EVT_TEST_BIN (set by tests/run.sh under VALGRIND=1) comes first: the
# memcheck wrappers of the programs.
export PATH="${EVT_TEST_BIN:+$EVT_TEST_BIN:}$EVT_TOP/bin:$PATH"
export LC_ALL=C

# The store the tests use by default: EVT_TEST_BACKEND=sqlite (the default:
# events.db in the test's directory), pg (a fresh schema per test in the
# cluster at EVT_TEST_PG_URL, which tests/run.sh starts; EVT_DB points to
# it) or my (a fresh database per test on the MariaDB server at
# EVT_TEST_MY_URL, which tests/run.sh starts; EVT_DB points to it).
# tests/run.sh runs the files marked "# backends: sqlite pg" both ways, and
# those marked "# backends: sqlite pg my" the three ways.
EVT_TEST_BACKEND=${EVT_TEST_BACKEND:-sqlite}
. "$BATS_TEST_DIRNAME/pg.bash"
. "$BATS_TEST_DIRNAME/my.bash"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	unset EVT_DB EVT_EVENTS_TABLE EVT_BOOKMARKS_TABLE EVT_SYNC EVT_BUSY_TIMEOUT
	case $EVT_TEST_BACKEND in
	pg)
		pg_test_schema || return 1
		EVT_DB=$(pg_schema_url "$EVT_TEST_SCHEMA")
		export EVT_DB
		;;
	my)
		my_test_db || return 1
		EVT_DB=$(my_url "$EVT_TEST_DB")
		export EVT_DB
		;;
	esac
}

# --- every backend -------------------------------------------------------------

# A fresh schema for this test: EVT_TEST_SCHEMA.
pg_test_schema() {
	if [ -z "${EVT_TEST_PG_URL:-}" ]; then
		echo "no PostgreSQL cluster: run the tests with tests/run.sh" >&2
		return 1
	fi
	EVT_TEST_SCHEMA=t${BATS_SUITE_TEST_NUMBER}_$$_$RANDOM
	export EVT_TEST_SCHEMA
	pg_psql -c "CREATE SCHEMA $EVT_TEST_SCHEMA"
}

# The URL of the cluster with search_path set to schema $1.
pg_schema_url() {
	printf '%s&options=-csearch_path%%3D%s\n' "$EVT_TEST_PG_URL" "$1"
}

# A fresh database for this test on the MariaDB server: EVT_TEST_DB.
my_test_db() {
	if [ -z "${EVT_TEST_MY_URL:-}" ]; then
		echo "no MariaDB server: run the tests with tests/run.sh" >&2
		return 1
	fi
	EVT_TEST_DB=t${BATS_SUITE_TEST_NUMBER}_$$_$RANDOM
	export EVT_TEST_DB
	my_sql -e "CREATE DATABASE $EVT_TEST_DB"
}

# The backend: pg_backend (PostgreSQL), my_backend (MariaDB), or
# server_backend (either: not SQLite).
pg_backend() {
	[ "$EVT_TEST_BACKEND" = pg ]
}

my_backend() {
	[ "$EVT_TEST_BACKEND" = my ]
}

server_backend() {
	[ "$EVT_TEST_BACKEND" != sqlite ]
}

# Skip a test that is about SQLite files when the backend is a server.
sqlite_only() {
	if server_backend; then
		skip "sqlite only: ${1:-about SQLite files}"
	fi
}

# The schema (PostgreSQL) or database (MariaDB) of the store NAME of db
# NAME, or of the default store without NAME.
db_name() {
	local b=$EVT_TEST_SCHEMA
	my_backend && b=$EVT_TEST_DB
	if [ -z "${1:-}" ]; then
		printf '%s\n' "$b"
	else
		printf '%s_%s\n' "$b" "$(printf '%s' "$1" | tr -c 'A-Za-z0-9_' _)"
	fi
}

# A second (third...) store NAME: the file NAME on SQLite, a schema of
# its own on PostgreSQL, a database of its own on MariaDB.
db() {
	local s
	case $EVT_TEST_BACKEND in
	pg)
		s=$(db_name "$1")
		pg_psql -c "CREATE SCHEMA IF NOT EXISTS $s" 2>/dev/null >&2 ||
			return 1
		pg_schema_url "$s"
		;;
	my)
		s=$(db_name "$1")
		my_sql -e "CREATE DATABASE IF NOT EXISTS $s" || return 1
		my_url "$s"
		;;
	*)
		printf '%s\n' "$1"
		;;
	esac
}

# Run SQL on the default store (or the store NAME of db NAME), printing
# the rows as sqlite3 does: fields separated by |.  (MariaDB prints NULL
# as NULL.)
db_sql() {
	case $EVT_TEST_BACKEND in
	pg)
		PGOPTIONS="-c search_path=$(db_name "${2:-}") -c client_min_messages=warning" \
			pg_psql -At -F '|' -c "$1"
		;;
	my)
		local out
		# a backslash is itself and "x" a name, as in standard SQL
		# (PostgreSQL, SQLite)
		out=$(my_sql --batch --raw --skip-column-names \
			-D "$(db_name "${2:-}")" -e "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI_QUOTES'); $1") || return
		[ -z "$out" ] || printf '%s\n' "$out" | tr '\t' '|'
		;;
	*)
		sqlite3 "${2:-events.db}" "$1"
		;;
	esac
}

# The tables of the default store, one a line, in name order.
db_tables() {
	case $EVT_TEST_BACKEND in
	pg)
		db_sql "SELECT tablename FROM pg_tables WHERE schemaname = '$EVT_TEST_SCHEMA' ORDER BY tablename"
		;;
	my)
		db_sql "SELECT table_name FROM information_schema.tables WHERE table_schema = '$EVT_TEST_DB' ORDER BY table_name"
		;;
	*)
		sqlite3 events.db "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name"
		;;
	esac
}

# What a table name must match, as the messages say it.
if [ "$EVT_TEST_BACKEND" = pg ]; then
	NAME_RULE='must match [A-Za-z_][A-Za-z0-9_]* (optionally schema.name)'
else
	NAME_RULE='must match [A-Za-z_][A-Za-z0-9_]*'
fi

# The n-th line of $output (1-based).
line() {
	printf '%s\n' "$output" | sed -n "${1}p"
}

# The version the Makefile builds, e.g. 0.1.0.
evt_version() {
	sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$EVT_TOP/Makefile"
}

# Run a command with its stdout on /dev/full (for `run`).
to_full() {
	"$@" >/dev/full
}

# Run a command with its stdout on a pipe whose reader has already gone
# (for `run`): every write to it fails, as after `| head -1`.  The exit
# status is the command's, 128 + N when signal N killed it.
to_closed() {
	python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
rc = subprocess.call(sys.argv[1:], stdout=w)
sys.exit(128 - rc if rc < 0 else rc)' "$@"
}

# The ISO-8601 UTC time evt writes, as an extended regex.
TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# $output with each record's timestamp replaced by TS where it is a
# well-formed ISO-8601 UTC time (a malformed one stays and fails the
# comparison).
no_ts() {
	printf '%s\n' "$output" |
		sed -E "s/,\"timestamp\":\"$TS_RE\",\"event\":/,\"timestamp\":\"TS\",\"event\":/"
}

# Fail with a message when "$1" != "$2"; shows both.
same() {
	if [ "$1" != "$2" ]; then
		printf 'expected:\n%s\ngot:\n%s\n' "$2" "$1" >&2
		return 1
	fi
}

# Records with a fixed timestamp, for tests that compare whole lines.
TS=2020-01-02T03:04:05.678Z
# The column "key" of evt's own tables, quoted for the store's SQL (a
# reserved word on MariaDB).
if [ "$EVT_TEST_BACKEND" = my ]; then
	KEY_COL='`key`'
else
	KEY_COL='"key"'
fi
# The same as an SQL literal of the store's timestamp column (MariaDB's
# DATETIME takes no zone: evt's are UTC).
if [ "$EVT_TEST_BACKEND" = my ]; then
	TS_SQL='2020-01-02 03:04:05.678'
else
	TS_SQL=$TS
fi

# trec POSITION STREAM ID VERSION EVENT: a record as the programs print it.
trec() {
	printf '{"position":%s,"stream":"%s","aggregateId":"%s","version":%s,"timestamp":"%s","event":%s}' \
		"$1" "$2" "$3" "$4" "$TS" "$5"
}

# put STREAM ID EVENT...: append the events to STREAM/ID in one transaction,
# with the timestamp $TS.  Further evt-append options in $put_opts.
put() {
	local s=$1 id=$2 ev
	shift 2
	# shellcheck disable=SC2086 # the options are words
	for ev; do
		printf '{"stream":"%s","aggregateId":"%s","timestamp":"%s","event":%s}\n' "$s" "$id" "$TS" "$ev"
	done | evt-append -q --records ${put_opts:-}
}

# --- waiting -------------------------------------------------------------------

# Under valgrind (make check VALGRIND=1) every program runs 20 to 50 times
# slower: the time bounds of the tests are multiplied by EVT_TEST_SLOW
# (tests/run.sh sets it; 1 otherwise), also in the shells tests start:
# timeout $((20 * EVT_TEST_SLOW)) ...
export EVT_TEST_SLOW=${EVT_TEST_SLOW:-1}

# wait_until SECONDS COMMAND...: run COMMAND every 10 ms until it succeeds;
# fail after SECONDS (scaled).
wait_until() {
	local end=$(( ${EPOCHREALTIME/./} + $1 * EVT_TEST_SLOW * 1000000 ))
	shift
	until "$@"; do
		if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.01
	done
}

# gone PID: PID has ended.
gone() {
	if kill -0 "$1" 2>/dev/null; then return 1; fi
}

# ends PID STATUS: the background process PID ends (within 20 s, scaled)
# with exit status STATUS.
ends() {
	local rc=0
	wait_until 20 gone "$1"
	wait "$1" || rc=$?
	if [ "$rc" != "$2" ]; then
		echo "exit status $rc, expected $2" >&2
		return 1
	fi
}

# has_lines FILE N: FILE has at least N lines.
has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# awaiting PID FILE: the follower PID (evt-tail, evt-handle --follow)
# waits for its SQLite store FILE to be created: FILE does not exist and
# PID holds an inotify descriptor.
awaiting() {
	local f
	[ ! -e "$2" ] || return 1
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" != anon_inode:inotify ] || return 0
	done
	return 1
}

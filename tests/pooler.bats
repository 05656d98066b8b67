#!/usr/bin/env bats
# evt behind a connection pooler: pgbouncer (Debian's package), started
# here in front of the throwaway cluster of tests/run.sh, once in
# transaction pooling mode (a server connection goes to another client
# after each transaction) and once in session pooling mode, each with a
# pool of 4 server connections.  pgbouncer drops the startup parameter
# "options" (search_path), so every test names its tables schema.name.
#
# What needs a server session (LISTEN, the handler lock) must never be
# shared or lost silently: evt-tail polls instead of LISTEN in
# transaction mode, evt-handle refuses to run there (its lock would be
# another client's after the next statement).

EVT_TEST_BACKEND=pg
load test_helper

setup_file() {
	if [ -z "${EVT_TEST_PG_URL:-}" ]; then
		echo "no PostgreSQL cluster: run tests/run.sh tests/pooler.bats" >&2
		return 1
	fi
	PGB_TX=$(pgb_start transaction) || return 1
	PGB_SESSION=$(pgb_start session) || return 1
	PGB_ONE=$(pgb_start session 1) || return 1
	export PGB_TX PGB_SESSION PGB_ONE
}

teardown_file() {
	pgb_stop transaction
	pgb_stop session
	pgb_stop session-1
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	unset EVT_SYNC EVT_BUSY_TIMEOUT
	pg_test_schema || return 1
	EVT_EVENTS_TABLE=$EVT_TEST_SCHEMA.events
	EVT_BOOKMARKS_TABLE=$EVT_TEST_SCHEMA.bookmarks
	EVT_DB=$PGB_TX
	export EVT_EVENTS_TABLE EVT_BOOKMARKS_TABLE EVT_DB
	# the same store, not through the pooler
	DIRECT=$EVT_TEST_PG_URL
}

# Run SQL on the cluster directly.
db_sql_direct() {
	pg_psql -At -c "$1"
}

teardown() {
	local p
	for p in ${pids:-}; do
		kill -KILL "$p" 2>/dev/null || :
	done
	wait 2>/dev/null || :
}

@test "transaction pooling: evt-append, evt-read, evt-fold and evt-command work" {
	run -0 evt-append -q s a '{"type":"x","n":1}' '{"type":"y","n":2}'
	run -0 evt-append -q --key k1 s a '{"type":"z"}'
	run -0 evt-append -q --key k1 s a '{"type":"z"}'
	run -0 evt-read --after 0
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[2]}" == '{"position":3,"stream":"s","aggregateId":"a","version":3,'*'"event":{"type":"z"}}' ]]
	run -0 evt-fold s a
	same "$output" '{"n":2,"aggregateId":"a","version":3}'
	run -0 evt-fold --persist k --jq '{count: (($agg.count // 0) + 1)}' s a
	same "$output" '{"count":3,"aggregateId":"a","version":3}'
	run -0 evt-fold --persist k --jq '{count: (($agg.count // 0) + 1)}' s a
	same "$output" '{"count":3,"aggregateId":"a","version":3}'
	run -0 db_sql_direct "SELECT version FROM ${EVT_TEST_SCHEMA}.events_snapshots"
	same "$output" 3
	run -0 evt-command s a go -- sh -c 'echo "{\"type\":\"went\"}"'
	same "$output" '{"n":2,"aggregateId":"a","version":4}'
	# the same rows as a direct connection sees them
	run -0 evt-read -d "$DIRECT" s a
	[ "${#lines[@]}" -eq 4 ]
}

@test "transaction pooling: 12 evt-command and 12 evt-append at once over 4 server connections" {
	for i in $(seq 1 12); do
		evt-command --retries 50 s c inc -- sh -c 'echo "{\"type\":\"inc\"}"' >/dev/null 2>"cmd.$i.err" &
		pids="${pids:-} $!"
		evt-append -q s "a$i" '{"type":"x"}' '{"type":"y"}' 2>"app.$i.err" &
		pids="$pids $!"
	done
	for p in $pids; do ends "$p" 0; done
	same "$(cat ./*.err)" ""
	run -0 evt-fold s c
	same "$output" '{"aggregateId":"c","version":12}'
	run -0 evt-read --after 0
	[ "${#lines[@]}" -eq 36 ]
}

@test "transaction pooling: evt-handle refuses to run (its lock needs a session), and runs nothing" {
	evt-append -q s a '{"type":"x"}'
	run -1 --separate-stderr evt-handle h s -- sh -c 'echo ran'
	same "$output" ""
	same "$stderr" "evt-handle: h: cannot hold the handler lock through a pooler in transaction pooling mode ('$PGB_TX'): connect to the server directly or through session pooling"
	run -1 --separate-stderr evt-handle --group 1/2 --follow h s -- sh -c 'echo ran'
	same "$stderr" "evt-handle: h[1/2]: cannot hold the handler lock through a pooler in transaction pooling mode ('$PGB_TX'): connect to the server directly or through session pooling"
	run -0 evt-handle --status
	same "$output" ""
}

@test "the handler lock through pgbouncer: never shared, never lost" {
	evt-append -q s a '{"type":"x"}'
	# a holder connected directly: through transaction pooling a second
	# one does not run (it used to, and exit 0)
	evt-handle -d "$DIRECT" --follow h s -- /bin/true >bg.out 2>bg.err 3>&- &
	holder=$!
	pids=$holder
	wait_until 20 eval '[[ "$(evt-handle --status h)" == *"\"running\":true}" ]]'
	run -1 --separate-stderr evt-handle h s -- /bin/true
	same "$stderr" "evt-handle: h: cannot hold the handler lock through a pooler in transaction pooling mode ('$PGB_TX'): connect to the server directly or through session pooling"
	run -6 --separate-stderr evt-handle -d "$PGB_SESSION" h s -- /bin/true
	same "$stderr" "evt-handle: h: already running"
	kill -TERM "$holder"
	ends "$holder" 0
	# two through session pooling: the second is busy
	evt-handle -d "$PGB_SESSION" --follow h s -- /bin/true >bg.out 2>bg.err 3>&- &
	holder=$!
	pids=$holder
	wait_until 20 eval '[[ "$(evt-handle --status h)" == *"\"running\":true}" ]]'
	run -6 --separate-stderr evt-handle -d "$PGB_SESSION" h s -- /bin/true
	same "$stderr" "evt-handle: h: already running"
	run -6 --separate-stderr evt-handle -d "$DIRECT" h s -- /bin/true
	same "$stderr" "evt-handle: h: already running"
	kill -TERM "$holder"
	ends "$holder" 0
	run -0 --separate-stderr evt-handle -d "$PGB_SESSION" h s -- /bin/true
	same "$stderr" ""
}

@test "transaction pooling: evt-tail follows by reading again every 100 ms (no LISTEN)" {
	evt-append -q s a '{"type":"x"}'
	evt-append -q s a '{"type":"y"}'
	evt-tail --after 1 s >tail.out 2>tail.err 3>&- &
	pids=$!
	wait_until 20 has_lines tail.out 1
	evt-append -q s b '{"type":"z"}'
	wait_until 20 has_lines tail.out 2
	kill -TERM "$pids"
	ends "$pids" 0
	same "$(cat tail.err)" ""
	run -0 cut -c1-60 tail.out
	same "$output" '{"position":2,"stream":"s","aggregateId":"a","version":2,"ti
{"position":3,"stream":"s","aggregateId":"b","version":1,"ti'
}

@test "session pooling with its one server connection taken by us: the pooler test waits 5 s, then refuses the lock" {
	run -0 evt-append -q -d "$PGB_ONE" s a '{"type":"x"}'
	run -1 --separate-stderr timeout 60 evt-handle -d "$PGB_ONE" h s -- sh -c 'echo ran'
	same "$output" ""
	same "$stderr" "evt-handle: h: cannot hold the handler lock through a pooler in transaction pooling mode ('$PGB_ONE'): connect to the server directly or through session pooling"
}

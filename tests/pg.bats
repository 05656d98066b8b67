#!/usr/bin/env bats
# The PostgreSQL backend: what is special to it.  Runs against the
# throwaway cluster tests/run.sh starts (EVT_TEST_PG_URL); every test has a
# schema of its own, which EVT_DB points to (search_path).
#
# Followers run in the background; tests wait for what they print with a
# bounded poll (wait_until), never a fixed sleep.

EVT_TEST_BACKEND=pg
load test_helper

setup_file() {
	if [ -z "${EVT_TEST_PG_URL:-}" ]; then
		echo "no PostgreSQL cluster: run tests/run.sh tests/pg.bats" >&2
		return 1
	fi
	if [ ! -d "$BATS_TEST_DIRNAME/interop/node_modules/pg" ]; then
		echo "run: (cd tests/interop && npm ci)" >&2
		return 1
	fi
}

teardown() {
	local p
	for p in ${pids:-}; do
		kill -KILL "$p" 2>/dev/null || :
	done
	wait 2>/dev/null || :
}

# killed PID: SIGKILL it and reap it, quietly.
killed() {
	{ kill -KILL "$1" && wait "$1"; } 2>/dev/null || :
}

# bg OUT PROGRAM ARG...: run PROGRAM in the background with our stdin,
# stdout to OUT, stderr to OUT.err; $pid is its process id.
bg() {
	local out=$1
	shift
	"$@" <&0 >"$out" 2>"$out.err" 3>&- 4>&- &
	pid=$!
	pids="${pids:-} $pid"
}

# has_position FILE P: FILE has the record at position P (a follower that
# started after the first events does not print those: count no lines).
has_position() {
	grep -q "^{\"position\":$2," "$1" 2>/dev/null
}

# ready OUT: append markers to stream m until the follower writing OUT
# printed one: from then on it follows.
ready() {
	local i
	for i in $(seq 200); do
		evt-append -q m mark '{"type":"mark"}'
		if grep -q '"stream":"m"' "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "the follower never got ready" >&2
	return 1
}

# sqlq SQL: one query on this test's schema, rows as a|b.
sqlq() {
	db_sql "$1"
}

# evtstore SCRIPT-ARGS...: evtstore's pg provider (tests/interop/pg.js) on
# the store EVT_DB (or the one given).
evtstore() {
	local what=$1
	shift
	node "$BATS_TEST_DIRNAME/interop/pg.js" "$what" "$EVT_DB" "$@"
}

# --- connecting -----------------------------------------------------------------

@test "no evt program links libpq" {
	for p in "$EVT_TOP"/bin/*; do
		run -0 ldd "$p"
		[[ "$output" != *libpq* ]]
	done
}

@test "an unreachable server is exit 1 with libpq's first line" {
	url="postgresql://postgres@/postgres?host=$BATS_TEST_TMPDIR&port=1"
	sock="$BATS_TEST_TMPDIR/.s.PGSQL.1"
	for cmd in "evt-read" "evt-append s a {\"type\":\"a\"}" "evt-tail" "evt-fold s a" \
		"evt-handle h s -- true" "evt-handle --status"; do
		set -- $cmd
		run -1 --separate-stderr "$1" -d "$url" "${@:2}"
		[ "$output" = "" ]
		[ "$stderr" = "$1: cannot open '$url': connection to server on socket \"$sock\" failed: No such file or directory" ]
	done
	run -1 --separate-stderr evt-read -d postgres://127.0.0.1:1/db
	[ "$stderr" = "evt-read: cannot open 'postgres://127.0.0.1:1/db': connection to server at \"127.0.0.1\", port 1 failed: Connection refused" ]
	EVT_DB=$url run -1 --separate-stderr evt-read --head
	[ "$stderr" = "evt-read: cannot open '$url': connection to server on socket \"$sock\" failed: No such file or directory" ]
}

@test "a missing database is exit 1; a password is not shown" {
	url="postgresql://postgres:s3cret@/nosuchdb?host=$EVT_TEST_PG_DIR&port=$EVT_TEST_PG_PORT"
	shown="postgresql://postgres:***@/nosuchdb?host=$EVT_TEST_PG_DIR&port=$EVT_TEST_PG_PORT"
	run -1 --separate-stderr evt-read -d "$url"
	[ "$stderr" = "evt-read: cannot open '$shown': connection to server on socket \"$EVT_TEST_PG_DIR/.s.PGSQL.$EVT_TEST_PG_PORT\" failed: FATAL:  database \"nosuchdb\" does not exist" ]
	run -1 --separate-stderr evt-read -d "${url/:s3cret/}&password=s3cret&sslmode=disable"
	[ "$stderr" = "evt-read: cannot open '${shown/:\*\*\*/}&password=***&sslmode=disable': connection to server on socket \"$EVT_TEST_PG_DIR/.s.PGSQL.$EVT_TEST_PG_PORT\" failed: FATAL:  database \"nosuchdb\" does not exist" ]
}

@test "without libpq a PostgreSQL URL is exit 1; SQLite needs none" {
	EVT_LIBPQ=libpq-missing.so.5 run -1 --separate-stderr evt-read
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open '$EVT_DB': libpq-missing.so.5 not found (install libpq5)" ]
	EVT_LIBPQ=libpq-missing.so.5 run -1 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open '$EVT_DB': libpq-missing.so.5 not found (install libpq5)" ]
	EVT_LIBPQ=libpq-missing.so.5 run -0 --separate-stderr evt-append -q -d x.db s a '{"type":"a"}'
	EVT_LIBPQ=libpq-missing.so.5 run -0 --separate-stderr evt-read -d x.db --head
	[ "$output" = 1 ]
}

@test "postgres:// URLs and the PG* variables work" {
	evt-append -q s a '{"type":"a"}'
	run -0 --separate-stderr env PGHOST="$EVT_TEST_PG_DIR" PGPORT="$EVT_TEST_PG_PORT" \
		PGOPTIONS="-c search_path=$EVT_TEST_SCHEMA" evt-read -d postgres://postgres@/postgres --head
	[ "$output" = 1 ]
	run -0 --separate-stderr evt-read -d "postgres://postgres@127.0.0.1:$EVT_TEST_PG_PORT/postgres?options=-csearch_path%3D$EVT_TEST_SCHEMA" --head
	[ "$output" = 1 ]
}

# --- the schema -------------------------------------------------------------------

COLS_SQL="SELECT table_name, column_name, data_type, is_nullable, column_default
	FROM information_schema.columns WHERE table_schema = current_schema()
	ORDER BY table_name, ordinal_position"
INDEX_SQL="SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '')
	FROM pg_indexes WHERE schemaname = current_schema() ORDER BY tablename, indexname"

@test "evt creates the schema evtstore's pg migrate creates" {
	evtstore migrate
	run -0 sqlq "$COLS_SQL"
	evtstore_columns=$output
	same "$output" "bookmarks|bookmark|text|NO|
bookmarks|position|bigint|YES|
events|position|bigint|NO|nextval('events_position_seq'::regclass)
events|version|integer|YES|
events|stream|text|YES|
events|aggregate_id|text|YES|
events|timestamp|timestamp with time zone|YES|
events|event|text|YES|"
	run -0 sqlq "$INDEX_SQL"
	evtstore_indexes=$output
	same "$output" "bookmarks|bookmarks_pkey|CREATE UNIQUE INDEX bookmarks_pkey ON bookmarks USING btree (bookmark)
events|events_pkey|CREATE UNIQUE INDEX events_pkey ON events USING btree (\"position\")
events|events_stream_aggregate_version_unique|CREATE UNIQUE INDEX events_stream_aggregate_version_unique ON events USING btree (stream, aggregate_id, version)
events|events_stream_position_unique|CREATE UNIQUE INDEX events_stream_position_unique ON events USING btree (stream, \"position\")"

	export EVT_DB=$(db evt)
	evt-append -q users u1 '{"type":"created","name":"ann"}'
	run -0 db_sql "$COLS_SQL" evt
	same "$output" "$evtstore_columns"
	run -0 db_sql "$INDEX_SQL" evt
	same "$output" "$evtstore_indexes"
	run -0 db_sql "SELECT pg_typeof(timestamp), timestamp AT TIME ZONE 'UTC' = to_timestamp(0) AT TIME ZONE 'UTC' FROM events" evt
	[ "$output" = "timestamp with time zone|f" ]
}

@test "ten writers creating the schema at once all succeed" {
	pids=
	for w in 0 1 2 3 4 5 6 7 8 9; do
		evt-append -q s "a$w" '{"type":"a"}' 2>"err.$w" &
		pids="$pids $!"
	done
	evt-tail --after 0 --count 1 >tail.out 2>tail.err &
	pids="$pids $!"
	for p in $pids; do
		wait "$p" || { cat err.* tail.err >&2; return 1; }
	done
	run -0 --separate-stderr evt-read
	[ "${#lines[@]}" = 10 ]
	run -0 sqlq "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
	[ "$output" = 4 ]
}

@test "schema.name tables: the schema is made; evt's own tables go there" {
	s=${EVT_TEST_SCHEMA}_app
	opts=(--events-table "$s.ev" --bookmarks-table "$s.marks")
	run -0 --separate-stderr evt-append "${opts[@]}" users u1 '{"type":"created","name":"ann"}'
	[[ "$output" == '{"position":1,"stream":"users","aggregateId":"u1",'* ]]
	run -0 --separate-stderr evt-read "${opts[@]}" --head
	[ "$output" = 1 ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
	run -0 --separate-stderr evt-fold "${opts[@]}" --persist k1 users u1
	[ "$output" = '{"name":"ann","aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr evt-handle "${opts[@]}" --continue-on-error h users -- false
	run -0 --separate-stderr evt-handle "${opts[@]}" --status h
	[ "$output" = '{"name":"h","streams":["users"],"position":1,"head":1,"lag":0,"parked":1,"running":false}' ]
	run -0 sqlq "SELECT tablename FROM pg_tables WHERE schemaname = '$s' ORDER BY 1"
	same "$output" "ev
ev_handlers
ev_parked
ev_snapshots
marks"
	run -0 sqlq "SELECT indexname FROM pg_indexes WHERE schemaname = '$s' AND tablename = 'ev' ORDER BY 1"
	same "$output" "ev_pkey
ev_stream_aggregate_version_unique
ev_stream_position_unique"
	run -0 sqlq "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	[ "$output" = 0 ]
}

@test "63-byte table names: evt's own tables and indexes get names that fit" {
	t=e$(printf 'x%.0s' $(seq 62))
	run -0 --separate-stderr evt-append --events-table "$t" users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-fold --events-table "$t" --persist k users u1
	run -0 --separate-stderr evt-read --events-table "$t" --head
	[ "$output" = 1 ]
	run -0 sqlq "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
	[ "${#lines[@]}" = 3 ]
	[ "${lines[0]}" = bookmarks ]
	[[ "${lines[1]}" =~ ^${t:0:44}_[0-9a-f]{8}_snapshots$ ]]
	[ "${#lines[1]}" = 63 ]
	[ "${lines[2]}" = "$t" ]
	run -0 sqlq "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '$t' ORDER BY 1"
	[ "${#lines[@]}" = 3 ]
	printf '%s\n' "$output" | grep -Eqx "${t:0:22}_[0-9a-f]{8}_stream_aggregate_version_unique"
	printf '%s\n' "$output" | grep -Eqx "${t:0:31}_[0-9a-f]{8}_stream_position_unique"
	printf '%s\n' "$output" | grep -Eqx "ex*_pkey"
}

# --- appending -------------------------------------------------------------------

@test "20 writers x 50 events while evt-tail prints: each once, in order" {
	bg tail.out evt-tail
	ready tail.out
	cat >writer.sh <<'EOF'
w=$1 i=1
while [ "$i" -le 50 ]; do
	evt-append -q "s$((w % 3))" "w$w" "{\"type\":\"n\",\"w\":$w,\"i\":$i}" || exit 1
	i=$((i + 1))
done
EOF
	writers=
	for w in $(seq 20); do
		sh writer.sh "$w" &
		writers="$writers $!"
	done
	for p in $writers; do
		wait "$p"
	done
	[ "$(evt-read | wc -l)" -ge 1001 ]
	wait_until 30 has_position tail.out "$(evt-read --head)"
	kill -TERM "$pid"
	ends "$pid" 0
	[ "$(cat tail.out.err)" = "" ]
	first=$(head -n 1 tail.out | sed 's/^{"position":\([0-9]*\),.*/\1/')
	same "$(cat tail.out)" "$(evt-read --after $((first - 1)))"
	# every writer's events, each once, in its own order, versions 1..50
	for w in 1 7 20; do
		run -0 --separate-stderr evt-read "s$((w % 3))" "w$w"
		[ "${#lines[@]}" = 50 ]
		same "$(grep "\"aggregateId\":\"w$w\"" tail.out | sed 's/.*"version":\([0-9]*\),.*"i":\([0-9]*\)}}$/\1 \2/')" \
			"$(seq 50 | sed 's/.*/& &/')"
	done
}

@test "concurrent appends with one expectation: exactly one wins" {
	evt-append -q s a '{"type":"first"}'
	pids=
	for w in 1 2 3 4 5 6 7 8 9 10; do
		evt-append -q -e 1 s a "{\"type\":\"second\",\"w\":$w}" 2>"err.$w" &
		pids="$pids $!"
	done
	ok=0
	for p in $pids; do
		rc=0
		wait "$p" || rc=$?
		case $rc in
		0) ok=$((ok + 1)) ;;
		3) ;;
		*) echo "exit $rc" >&2; return 1 ;;
		esac
	done
	[ "$ok" = 1 ]
	[ "$(cat err.* | sort -u)" = "evt-append: version conflict: s/a is at version 2, expected 1" ]
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 2 ]
}

@test "a version another writer takes during the append: exit 3, nothing appended" {
	evt-append -q s a '{"type":"a"}'
	# a writer that is not evt (no append lock) inserts s/x v1 and waits
	mkfifo sqlin
	pg_psql <sqlin >psql.out 2>&1 3>&- &
	pids="$pids $!"
	exec 5>sqlin
	echo "SET search_path = $EVT_TEST_SCHEMA; BEGIN; INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'x', now(), '{\"type\":\"other\"}');" >&5
	wait_until 20 idle_in_transaction
	# evt sees no version yet, inserts v1..v3 as one batch, and waits on
	# the unique index for that writer
	bg out evt-append s x '{"type":"p"}' '{"type":"q"}' '{"type":"r"}'
	wait_until 20 waiting_for_lock
	echo "COMMIT;" >&5
	exec 5>&-
	ends "$pid" 3
	[ "$(cat out)" = "" ]
	[ "$(cat out.err)" = "evt-append: version conflict: s/x is at version 1, expected 0" ]
	run -0 --separate-stderr evt-read s x
	[[ "$output" == *'"version":1,'*'"event":{"type":"other"}}' ]]
	[ "${#lines[@]}" = 1 ]
}

# idle_in_transaction: a psql session holds a transaction open.
idle_in_transaction() {
	[ "$(sqlq "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql' AND state = 'idle in transaction'")" = 1 ]
}

@test "SIGKILL in the middle of a big append leaves none of it" {
	evt-append -q s a '{"type":"before"}'
	seq 300000 | sed 's/.*/{"type":"n","i":&}/' >big
	bg out evt-append -q s a <big
	# wait until its transaction has inserted rows, then kill it
	wait_until 30 inserting
	killed "$pid"
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 1 ]
	run -0 --separate-stderr evt-append s a '{"type":"after"}'
	[[ "$output" == *'"version":2,'* ]]
}

# inserting: an evt-append of this test's schema is inserting rows now.
inserting() {
	[ "$(sqlq "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'evt-append' AND query LIKE 'INSERT INTO \"events\"%' AND datname = current_database()")" != 0 ]
}

@test "a connection lost during an append is exit 1 and appends nothing" {
	evt-append -q s a '{"type":"before"}'
	# a long append holds the append lock; a second one waits for it
	seq 200000 | sed 's/.*/{"type":"n","i":&}/' >big
	bg big.out evt-append -q s b <big
	big=$pid
	wait_until 30 inserting
	bg one.out evt-append s a '{"type":"lost"}'
	wait_until 20 waiting_for_lock
	sqlq "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'evt-append' AND wait_event_type = 'Lock'" >/dev/null
	ends "$pid" 1
	[ "$(cat one.out)" = "" ]
	[ "$(cat one.out.err)" = "evt-append: cannot write to '$EVT_DB': terminating connection due to administrator command" ]
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 1 ]
	ends "$big" 0
}

# lock_taken: no evt-handle waits for a lock (any more).
lock_taken() {
	! waiting_for_lock evt-handle
}

# waiting_for_lock [PROGRAM]: one PROGRAM (evt-append) waits for a lock.
waiting_for_lock() {
	[ "$(sqlq "SELECT count(*) FROM pg_stat_activity WHERE application_name = '${1:-evt-append}' AND wait_event_type = 'Lock'")" = 1 ]
}

@test "EVT_BUSY_TIMEOUT bounds the wait for the append lock" {
	seq 200000 | sed 's/.*/{"type":"n","i":&}/' >big
	bg big.out evt-append -q s b <big
	wait_until 30 inserting
	EVT_BUSY_TIMEOUT=50 run -1 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot write to '$EVT_DB': canceling statement due to lock timeout" ]
	EVT_BUSY_TIMEOUT=x run -2 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: EVT_BUSY_TIMEOUT must be milliseconds" ]
	ends "$pid" 0
	run -0 --separate-stderr evt-read s a
	[ "$output" = "" ]
}

# evt(7): the key is the events table's oid with 0x65767461 ("evta") in
# the high 32 bits; the server makes it in the append's first round trip.
@test "the append lock is the key evt(7) names, on a store new or old" {
	oid=$(sqlq "SELECT 'events'::regclass::oid" 2>/dev/null || true)
	[ "$oid" = "" ]
	evt-append -q s a '{"type":"a"}'
	oid=$(sqlq "SELECT 'events'::regclass::oid")
	foreign_open
	foreign "BEGIN;" "DO \$\$ BEGIN PERFORM pg_advisory_xact_lock(7311159005043228672 | $oid); END \$\$;"
	wait_until 20 idle_in_transaction
	EVT_BUSY_TIMEOUT=50 run -1 --separate-stderr evt-append s a '{"type":"b"}'
	[ "$stderr" = "evt-append: cannot write to '$EVT_DB': canceling statement due to lock timeout" ]
	bg b.out evt-append -q s a '{"type":"b"}'
	sleep 0.2
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
	foreign "COMMIT;"
	foreign_close
	ends "$pid" 0
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
}

@test "timestamps: ISO with zones are kept as instants, printed in UTC" {
	cat >in <<'EOF'
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"t1"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678+01:30","event":{"type":"t2"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T00:00Z","event":{"type":"t3"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04-00","event":{"type":"t4"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.6789Z","event":{"type":"t5"}}
{"stream":"s","aggregateId":"a","timestamp":1764157187123,"event":{"type":"t6"}}
{"stream":"s","aggregateId":"a","timestamp":"1969-12-31T23:59:59.999Z","event":{"type":"t7"}}
EOF
	run -0 --separate-stderr env PGTZ=America/New_York evt-append --records <in
	appended=$output
	run -0 --separate-stderr evt-read
	same "$output" "$appended"
	same "$(printf '%s\n' "$output" | sed 's/.*"timestamp":"\([^"]*\)".*/\1/')" "2020-01-02T03:04:05.678Z
2020-01-02T01:34:05.678Z
2020-01-02T00:00:00.000Z
2020-01-02T03:04:00.000Z
2020-01-02T03:04:05.678Z
2025-11-26T11:39:47.123Z
1969-12-31T23:59:59.999Z"
}

@test "EVT_SYNC=normal commits without waiting for the disk" {
	EVT_SYNC=normal run -0 --separate-stderr evt-append -q s a '{"type":"a"}'
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

# --- following ------------------------------------------------------------------

# writes N FROM: append events FROM .. FROM+N-1 one by one, retrying an
# append that failed (the server may be restarting).
writes() {
	local i=$2 end=$(( $2 + $1 )) tries=0
	while [ "$i" -lt "$end" ]; do
		if evt-append -q s a "{\"type\":\"n\",\"i\":$i}" 2>/dev/null; then
			i=$((i + 1))
		else
			tries=$((tries + 1))
			[ "$tries" -lt 500 ] || return 1
			sleep 0.02
		fi
	done
}

@test "evt-tail across a server restart: nothing lost, nothing repeated" {
	bg tail.out evt-tail
	ready tail.out
	writes 20 1
	writes 200 21 &
	w=$!
	pg_restart
	wait "$w"
	writes 20 221
	wait_until 30 has_position tail.out "$(evt-read --head)"
	kill -TERM "$pid"
	ends "$pid" 0
	[ "$(cat tail.out.err)" = "" ]
	first=$(head -n 1 tail.out | sed 's/^{"position":\([0-9]*\),.*/\1/')
	same "$(cat tail.out)" "$(evt-read --after $((first - 1)))"
	[ "$(grep -c '"stream":"s"' tail.out)" -ge 240 ]
}

@test "evt-handle --follow across a server restart: each event once, lock kept" {
	writes 10 1
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	wait_until 20 has_lines handled 10
	run -0 --separate-stderr evt-handle --status h
	[ "$output" = '{"name":"h","streams":["s"],"position":10,"head":10,"lag":0,"parked":0,"running":true}' ]
	writes 100 11 &
	w=$!
	pg_restart
	wait "$w"
	writes 10 111
	n=$(evt-read s | wc -l)
	wait_until 30 has_lines handled "$n"
	same "$(cat handled)" "$(evt-read s)"
	run -0 --separate-stderr evt-handle --status h
	[ "$output" = "{\"name\":\"h\",\"streams\":[\"s\"],\"position\":$(evt-read --head),\"head\":$(evt-read --head),\"lag\":0,\"parked\":0,\"running\":true}" ]
	run -6 --separate-stderr evt-handle h s -- true
	[ "$stderr" = "evt-handle: h: already running" ]
	kill -TERM "$pid"
	ends "$pid" 0
	[ "$(cat h.out.err)" = "" ]
	run -0 --separate-stderr evt-handle --status h
	[[ "$output" == *'"running":false}' ]]
}

@test "evt-tail sees events evtstore writes (no NOTIFY: the slow poll)" {
	evtstore migrate >/dev/null
	bg tail.out evt-tail
	ready tail.out
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	wait_until 10 grep -q '"aggregateId":"u1"' tail.out
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(grep '"stream":"users"' tail.out)" "$(evt-read users)"
}

# --- gaps: writers that are not evt -----------------------------------------------------

# foreign_open: a psql session of this test's schema, as a writer that is
# not evt, fed line by line through fd 4 (foreign SQL...; foreign_close).
foreign_open() {
	mkfifo foreign.in
	PGOPTIONS="-c search_path=$EVT_TEST_SCHEMA" pg_psql <foreign.in \
		>foreign.out 2>&1 3>&- &
	foreign_pid=$!
	pids="${pids:-} $foreign_pid"
	exec 4>foreign.in
}

foreign() {
	printf '%s\n' "$@" >&4
}

foreign_close() {
	exec 4>&-
	wait "$foreign_pid"
	[ "$(cat foreign.out)" = "" ]
}

# An INSERT as evtstore's pg provider makes it, of event type T on s/ID.
foreign_insert() {
	foreign "INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', '$2', 1, now(), '{\"type\":\"$1\"}');"
}

# positions FILE: the positions of the records in FILE, one line.
positions() {
	sed 's/^{"position":\([0-9]*\),.*/\1/' "$1" | tr '\n' ' '
}

# read_loop OUT LAST: evt-read --after, again and again from the last
# position it printed, until it printed position LAST (a cron-style reader).
read_loop() {
	local after=0 p
	until grep -q "^{\"position\":$2," "$1" 2>/dev/null; do
		evt-read --after "$after" >>"$1" || return 1
		p=$(tail -n 1 "$1" | sed -n 's/^{"position":\([0-9]*\),.*/\1/p')
		after=${p:-0}
		sleep 0.01
	done
}

# now_us: the time in microseconds.
now_us() {
	echo "${EPOCHREALTIME/./}"
}

# within S T0: less than S seconds (times EVT_TEST_SLOW) passed since T0,
# a time as now_us prints it.
within() {
	local us=$(( $(now_us) - $2 ))
	if [ "$us" -ge $(( $1 * EVT_TEST_SLOW * 1000000 )) ]; then
		echo "took $((us / 1000)) ms, not under $1 s (x$EVT_TEST_SLOW)" >&2
		return 1
	fi
}

@test "a slow foreign writer: followers and evt-read --after wait for its position" {
	evt-append -q s a '{"type":"a"}'
	bg tail.out evt-tail --after 0
	tail=$pid
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	handle=$pid
	bg hb.out evt-handle --follow --batch 10 hb s -- sh -c 'cat >>batched'
	batch=$pid
	bg loop.out read_loop read.out 4
	loop=$pid
	wait_until 20 has_position tail.out 1
	wait_until 20 has_lines handled 1
	wait_until 20 has_lines batched 1
	wait_until 20 has_position read.out 1
	# evtstore's provider: BEGIN, INSERT (position 2), ... COMMIT later
	foreign_open
	foreign "BEGIN;"
	foreign_insert foreign f
	wait_until 20 idle_in_transaction
	evt-append -q s b '{"type":"b"}'
	evt-append -q s c '{"type":"c"}'
	# positions 3 and 4 are committed, 2 may still come: held at 2
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-read --after 1
	[ "$output" = "" ]
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-read --after 0
	[ "$(positions <(printf '%s\n' "$output"))" = "1 " ]
	[ "$(positions tail.out)" = "1 " ]
	[ "$(cat handled | wc -l)" = 1 ]
	[ "$(cat batched | wc -l)" = 1 ]
	[ "$(positions read.out)" = "1 " ]
	# a cron run of a handler stops before the gap too
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-handle cron s -- sh -c 'cat >>cron'
	same "$(cat cron)" "$(evt-read -n 1)"
	run -0 --separate-stderr evt-read
	[ "$(positions <(printf '%s\n' "$output"))" = "1 3 4 " ]
	foreign "COMMIT;"
	wait_until 20 has_position tail.out 4
	wait_until 20 has_lines handled 4
	wait_until 20 has_lines batched 4
	ends "$loop" 0
	foreign_close
	run -0 --separate-stderr evt-handle cron s -- sh -c 'cat >>cron'
	[ "$(positions tail.out)" = "1 2 3 4 " ]
	same "$(cat tail.out)" "$(evt-read)"
	same "$(cat handled)" "$(evt-read)"
	same "$(cat batched)" "$(evt-read)"
	same "$(cat read.out)" "$(evt-read)"
	same "$(cat cron)" "$(evt-read)"
	run -0 --separate-stderr evt-handle --status h
	[ "$output" = '{"name":"h","streams":["s"],"position":4,"head":4,"lag":0,"parked":0,"running":true}' ]
	kill -TERM "$tail" "$handle" "$batch"
	ends "$tail" 0
	ends "$handle" 0
	ends "$batch" 0
	[ "$(cat tail.out.err h.out.err hb.out.err loop.out loop.out.err)" = "" ]
}

@test "a rolled-back foreign insert: followers pass its gap once it ended" {
	evt-append -q s a '{"type":"a"}'
	bg tail.out evt-tail --after 0
	tail=$pid
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	handle=$pid
	wait_until 20 has_position tail.out 1
	foreign_open
	foreign "BEGIN;"
	foreign_insert gone g
	wait_until 20 idle_in_transaction
	evt-append -q s b '{"type":"b"}'
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-read --after 1
	[ "$output" = "" ]
	[ "$(positions tail.out)" = "1 " ]
	# the hold after the rollback: at most 100 ms by design; 1 s catches
	# a fall-back to the slow (1 s) poll
	t0=$(now_us)
	foreign "ROLLBACK;"
	wait_until 20 has_position tail.out 3
	within 1 "$t0"
	wait_until 20 has_lines handled 2
	foreign_close
	[ "$(positions tail.out)" = "1 3 " ]
	same "$(cat handled)" "$(evt-read)"
	# the gap is final now: a reader does not wait for it
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr timeout 10 evt-read --after 1
	[ "$(positions <(printf '%s\n' "$output"))" = "3 " ]
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
	[ "$(cat tail.out.err h.out.err)" = "" ]
}

@test "old gaps hold nobody; nor does a transaction that inserted nothing" {
	evt-append -q s a '{"type":"a"}'
	for i in 1 2 3; do
		sqlq "BEGIN; INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', 'r$i', 1, now(), '{\"type\":\"r\"}'); ROLLBACK;"
		evt-append -q s a "{\"type\":\"n$i\"}"
	done
	# a session in a transaction that reads the table and another table
	foreign_open
	foreign "BEGIN;" "SELECT count(*) FROM events \\g /dev/null" \
		"INSERT INTO bookmarks VALUES ('x', 1);"
	wait_until 20 idle_in_transaction
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr timeout 10 evt-read --after 0
	[ "$(positions <(printf '%s\n' "$output"))" = "1 3 5 7 " ]
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr timeout 10 evt-handle h s -- true
	run -0 --separate-stderr evt-handle --status h
	[ "$output" = '{"name":"h","streams":["s"],"position":7,"head":7,"lag":0,"parked":0,"running":false}' ]
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr timeout 10 evt-tail --after 4 --count 2
	[ "$(positions <(printf '%s\n' "$output"))" = "5 7 " ]
	foreign "ROLLBACK;"
	foreign_close
}

@test "100 old gaps and an open foreign insert: readers wait once for the insert, not once per gap" {
	evt-append -q s a '{"type":"a"}'
	# 100 rolled-back inserts (positions 2, 4 ... 200), each followed by a
	# committed one (3, 5 ... 201)
	for i in $(seq 100); do
		echo "BEGIN; INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', 'r$i', 1, now(), '{\"type\":\"r\"}'); ROLLBACK;"
		echo "INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', 'c$i', 1, now(), '{\"type\":\"c\"}');"
	done | PGOPTIONS="-c search_path=$EVT_TEST_SCHEMA" pg_psql
	# 202 inserted and not committed, 203 committed after it
	foreign_open
	foreign "BEGIN;"
	foreign_insert open o
	wait_until 20 idle_in_transaction
	evt-append -q s b '{"type":"b"}'
	bg read.out env EVT_BUSY_TIMEOUT=60000 evt-read --after 0
	read=$pid
	bg tail.out evt-tail --after 0 --count 103
	tail=$pid
	wait_until 20 has_position tail.out 1
	# the writer stays in its transaction a second; both wait for it
	sleep 1
	kill -0 "$read" "$tail"
	[ "$(grep -c '^{"position":20[23],' tail.out)" = 0 ]
	# Both must end within 1 s of the COMMIT.  This design waits once, for
	# the writers running when the gap was seen: one 20 ms poll, then the
	# reads (~50 ms in all on an idle machine).  A design that waited once
	# per old gap, were it only one 20 ms poll each, would take at least
	# 100 x 20 ms = 2 s after the COMMIT (100 ms each: 10 s) and fail.
	t0=$(now_us)
	foreign "COMMIT;"
	ends "$read" 0
	ends "$tail" 0
	within 1 "$t0"
	foreign_close
	[ "$(positions <(evt-read))" = "1 $(seq -s ' ' 3 2 201) 202 203 " ]
	same "$(cat read.out)" "$(evt-read)"
	same "$(cat tail.out)" "$(evt-read)"
	[ "$(cat read.out.err tail.out.err)" = "" ]
	# with no writer, a new reader from 0 does not wait for them either
	t0=$(now_us)
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr evt-read --after 0
	within 1 "$t0"
	same "$output" "$(evt-read)"
}

# waiting_for_writers PROGRAM: PROGRAM waits for the writers that were in
# a transaction when it started.
waiting_for_writers() {
	[ "$(sqlq "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND query LIKE 'SELECT EXISTS (SELECT 1 FROM pg_locks %'")" = 1 ]
}

@test "evt-tail started while a foreign insert is open prints it when it commits" {
	evt-append -q s a '{"type":"a"}'
	foreign_open
	foreign "BEGIN;"
	foreign_insert late l
	wait_until 20 idle_in_transaction
	evt-append -q s b '{"type":"b"}'
	bg tail.out evt-tail
	tail=$pid
	bg h.out evt-handle --follow --tail h s -- sh -c 'cat >>handled'
	handle=$pid
	wait_until 20 waiting_for_writers evt-tail
	wait_until 20 waiting_for_writers evt-handle
	foreign "COMMIT;"
	foreign_close
	evt-append -q s c '{"type":"c"}'
	wait_until 20 has_position tail.out 4
	wait_until 20 has_lines handled 3
	[ "$(positions tail.out)" = "2 3 4 " ]
	same "$(cat handled)" "$(evt-read --after 1)"
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
}

# The writers of the soak test, each until the time END (now_us); each
# writes the number of events it committed to the file committed.NAME.

# soak_psql END: a psql session, one insert per transaction, every tenth
# rolled back.
soak_psql() {
	local i=0
	{
		while [ "${EPOCHREALTIME/./}" -lt "$1" ]; do
			i=$((i + 1))
			if [ $((i % 10)) = 0 ]; then
				echo "BEGIN; INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', 'q$i', 1, now(), '{\"type\":\"q\"}'); SELECT pg_sleep(0.005) \\g /dev/null"
				echo "ROLLBACK;"
			else
				echo "BEGIN; INSERT INTO events (stream, aggregate_id, version, timestamp, event) VALUES ('s', 'p$i', 1, now(), '{\"type\":\"p\"}'); SELECT pg_sleep(0.002) \\g /dev/null"
				echo "COMMIT;"
			fi
		done
		echo $((i - i / 10)) >committed.psql
	} | PGOPTIONS="-c search_path=$EVT_TEST_SCHEMA" pg_psql
}

# soak_evt ID END: evt-append, one event at a time, on s/ID.
soak_evt() {
	local i=0
	while [ "${EPOCHREALTIME/./}" -lt "$2" ]; do
		i=$((i + 1))
		evt-append -q s "$1" "{\"type\":\"e\",\"i\":$i}" || return 1
	done
	echo "$i" >"committed.$1"
}

# soak_evtstore ID END: evtstore's provider, 100 appends on s/ID-1, then
# on s/ID-2 ...
soak_evtstore() {
	local j=0
	while [ "${EPOCHREALTIME/./}" -lt "$2" ]; do
		j=$((j + 1))
		evtstore appends s "$1-$j" 100 >/dev/null || return 1
	done
	echo $((j * 100)) >"committed.$1"
}

@test "soak: evtstore, evt-append and psql writers for 20 s; every event once, in order" {
	evtstore migrate >/dev/null
	evt-append -q s start '{"type":"start"}'
	bg tail.out evt-tail --after 0
	tail=$pid
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	handle=$pid
	wait_until 20 has_position tail.out 1
	end=$(( $(now_us) + 20000000 ))
	w=
	for k in 1 2 3 4; do
		soak_evtstore "n$k" "$end" &
		w="$w $!"
		soak_evt "e$k" "$end" &
		w="$w $!"
	done
	soak_psql "$end" &
	w="$w $!"
	for p in $w; do
		wait "$p"
	done
	evt-append -q s end '{"type":"end"}'
	wait_until 120 has_position tail.out "$(evt-read --head)"
	wait_until 120 grep -q '"aggregateId":"end"' handled
	[ "$(evt-read | wc -l)" = $(( 2 + $(cat committed.* | paste -sd+) )) ]
	[ "$(evt-read | grep -c '"aggregateId":"q')" = 0 ]
	same "$(cat tail.out)" "$(evt-read)"
	same "$(cat handled)" "$(evt-read)"
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
	[ "$(cat tail.out.err h.out.err)" = "" ]
}

# --- handler locks --------------------------------------------------------------------

@test "the handler lock: one process per NAME, freed when the holder dies" {
	evt-append -q s a '{"type":"a"}'
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	wait_until 20 has_lines handled 1
	run -6 --separate-stderr evt-handle h s -- true
	[ "$stderr" = "evt-handle: h: already running" ]
	run -6 --separate-stderr evt-handle --reset h
	[ "$stderr" = "evt-handle: h: already running" ]
	run -0 --separate-stderr evt-handle h2 s -- true
	run -0 --separate-stderr evt-handle --status
	same "$output" '{"name":"h","streams":["s"],"position":1,"head":1,"lag":0,"parked":0,"running":true}
{"name":"h2","streams":["s"],"position":1,"head":1,"lag":0,"parked":0,"running":false}'
	holder=$pid
	bg w.out evt-handle --wait --follow h s -- sh -c 'cat >>waited'
	wait_until 20 waiting_for_lock evt-handle
	killed "$holder"
	wait_until 20 lock_taken
	evt-append -q s a '{"type":"b"}'
	wait_until 20 has_lines waited 1
	same "$(cat waited)" "$(evt-read --after 1)"
}

# --- evtstore's pg provider and evt on one database ------------------------------------

# The ann and bob users, written by evtstore commands.
evtstore_users() {
	evtstore command u1 create '{"name":"ann"}'
	evtstore command u1 disable
	evtstore command u2 create '{"name":"Zoë \"b\\ob\""}'
	evtstore command u1 enable
}

@test "interop: evt-read prints what evtstore wrote, as its rows say" {
	evtstore migrate >/dev/null
	evtstore_users >/dev/null
	run -0 --separate-stderr evtstore rows
	expected=$output
	[ "${#lines[@]}" = 4 ]
	run -0 --separate-stderr evt-read
	[ "$stderr" = "" ]
	same "$output" "$expected"
	[[ ${lines[2]} =~ ^\{\"position\":3,\"stream\":\"users\",\"aggregateId\":\"u2\",\"version\":1,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"created\",\"name\":\"Zoë\ \\\"b\\\\ob\\\"\"\}\}$ ]]
	run -0 --separate-stderr evtstore events users u1
	expected=$output
	run -0 --separate-stderr evt-read users u1
	same "$output" "$expected"
	run -0 --separate-stderr evt-read --last users u1
	same "$output" "$(printf '%s\n' "$expected" | tail -n 1)"
}

@test "interop: evtstore folds and continues what evt-append wrote" {
	run -0 --separate-stderr evt-append -q users u1 '{"type":"created","name":"ann"}' '{"type":"disabled"}'
	run -0 --separate-stderr evtstore aggregate users u1
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -1 --separate-stderr evtstore command u1 create '{"name":"bob"}'
	[ "$stderr" = "pg.js: user already exists" ]
	run -0 --separate-stderr evtstore command u1 enable
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr evtstore events users u1
	expected=$output
	run -0 --separate-stderr evt-read users u1
	same "$output" "$expected"
}

@test "interop: version conflicts both ways" {
	evtstore migrate >/dev/null
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	evtstore command u1 disable >/dev/null
	run -3 --separate-stderr evt-append -e 1 users u1 '{"type":"enabled"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 1" ]
	run -3 --separate-stderr evtstore append users u1 1 '{"type":"enabled"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_version_unique"}' ]
	run -0 --separate-stderr evt-append -e 2 users u1 '{"type":"enabled"}'
	[[ "$output" == *'"version":3,'* ]]
	run -3 --separate-stderr evtstore append users u1 2 '{"type":"disabled"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_version_unique"}' ]
	run -0 --separate-stderr evtstore append users u1 3 '{"type":"disabled"}'
	[ "$output" = '{"version":4}' ]
	run -0 --separate-stderr evt-read users u1
	[ "${#lines[@]}" = 4 ]
}

@test "interop: a store with other table names, and bookmarks both ways" {
	export EVT_EVENTS_TABLE=user_events EVT_BOOKMARKS_TABLE=user_marks
	evtstore migrate >/dev/null
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	run -0 --separate-stderr evt-append -q -e 1 users u1 '{"type":"disabled"}'
	run -0 --separate-stderr evtstore aggregate users u1
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evtstore rows
	expected=$output
	run -0 --separate-stderr evt-read
	same "$output" "$expected"
	run -0 --separate-stderr evt-handle h users -- true
	run -0 sqlq "SELECT bookmark, position FROM user_marks"
	[ "$output" = "h|2" ]
	run -0 sqlq "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('events', 'bookmarks')"
	[ "$output" = 0 ]
}

@test "interop: evt copies an evtstore store into one evtstore reads the same" {
	evtstore migrate >/dev/null
	evtstore_users >/dev/null
	copy=$(db copy)
	run -0 --separate-stderr evt-read
	printf '%s\n' "$output" >records
	run -0 --separate-stderr evt-append -d "$copy" -q --records <records
	run -0 --separate-stderr evt-read -d "$copy"
	same "$output" "$(cat records)"
	for id in u1 u2; do
		run -0 --separate-stderr evtstore aggregate users "$id"
		expected=$output
		run -0 --separate-stderr node "$BATS_TEST_DIRNAME/interop/pg.js" aggregate "$copy" users "$id"
		same "$output" "$expected"
	done
	run -3 --separate-stderr evt-append -d "$copy" -q --records <records
	[ "$stderr" = "evt-append: <stdin>:1: version conflict: users/u1 is at version 3, expected 0" ]
}

#!/usr/bin/env bats
# evt and evtstore's knex provider (client mysql2) on one MariaDB database:
# the throwaway server tests/run.sh starts (EVT_TEST_MY_URL); every test
# has a database of its own, which EVT_DB points to.  evtstore makes the
# tables in some tests (its migrate), evt in the others.

EVT_TEST_BACKEND=my
load test_helper

setup_file() {
	if [ -z "${EVT_TEST_MY_URL:-}" ]; then
		echo "no MariaDB server: run tests/run.sh tests/interop-my.bats" >&2
		return 1
	fi
	if [ ! -d "$BATS_TEST_DIRNAME/interop/node_modules/mysql2" ]; then
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

# evtstore WHAT ARG...: evtstore's knex provider (tests/interop/my.js) on
# the store EVT_DB.
evtstore() {
	local what=$1
	shift
	node "$BATS_TEST_DIRNAME/interop/my.js" "$what" "$EVT_DB" "$@"
}

# The ann and bob users, written by evtstore commands.
evtstore_users() {
	evtstore command u1 create '{"name":"ann"}'
	evtstore command u1 disable
	evtstore command u2 create '{"name":"Zoë \"b\\ob\""}'
	evtstore command u1 enable
}

# evtstore's README user aggregate as a jq fold, and its create().
USER_JQ=$(cat "$EVT_FIXTURES/user.jq")
USER_INIT='{"name":"","enabled":false}'

# The columns and the indexes of the events and bookmarks tables of the
# current database.
COLS_SQL="SELECT table_name, column_name, column_type, is_nullable, extra
	FROM information_schema.columns WHERE table_schema = DATABASE()
	AND table_name IN ('events', 'bookmarks')
	ORDER BY table_name, ordinal_position"
INDEX_SQL="SELECT table_name, index_name, non_unique,
	GROUP_CONCAT(column_name ORDER BY seq_in_index)
	FROM information_schema.statistics WHERE table_schema = DATABASE()
	AND table_name IN ('events', 'bookmarks')
	GROUP BY table_name, index_name, non_unique ORDER BY table_name, index_name"
ENGINE_SQL="SELECT table_name, engine, character_set_name
	FROM information_schema.tables AS t
	JOIN information_schema.collation_character_set_applicability AS c
	ON c.collation_name = t.table_collation
	WHERE table_schema = DATABASE() AND table_name IN ('events', 'bookmarks')
	ORDER BY table_name"

@test "interop: evt creates the tables evtstore's knex migrate creates (wider event and timestamp allowed)" {
	evtstore migrate
	run -0 db_sql "$COLS_SQL"
	same "$output" "bookmarks|bookmark|varchar(255)|NO|
bookmarks|position|bigint(20)|YES|
events|position|bigint(20) unsigned|NO|auto_increment
events|version|int(11)|YES|
events|stream|varchar(255)|YES|
events|aggregate_id|varchar(255)|YES|
events|timestamp|datetime|YES|
events|event|text|YES|"
	evtstore_columns=$output
	run -0 db_sql "$INDEX_SQL"
	same "$output" "bookmarks|PRIMARY|0|bookmark
events|events_stream_aggregate_id_version_unique|0|stream,aggregate_id,version
events|events_stream_position_unique|0|stream,position
events|PRIMARY|0|position"
	evtstore_indexes=$output
	run -0 db_sql "$ENGINE_SQL"
	same "$output" "bookmarks|InnoDB|utf8mb4
events|InnoDB|utf8mb4"
	evtstore_engine=$output

	evt=$(db evt)
	evt-append -q -d "$evt" users u1 '{"type":"created","name":"ann"}'
	# evt may make event LONGTEXT and timestamp DATETIME(3): evtstore reads
	# and writes them (the tests below)
	run -0 db_sql "$COLS_SQL" evt
	output=$(printf '%s\n' "$output" |
		sed 's/^events|timestamp|datetime(3)|/events|timestamp|datetime|/
			s/^events|event|longtext|/events|event|text|/')
	same "$output" "$evtstore_columns"
	run -0 db_sql "$INDEX_SQL" evt
	same "$output" "$evtstore_indexes"
	run -0 db_sql "$ENGINE_SQL" evt
	same "$output" "$evtstore_engine"
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
	# DATETIME holds whole seconds
	[[ ${lines[2]} =~ ^\{\"position\":3,\"stream\":\"users\",\"aggregateId\":\"u2\",\"version\":1,\"timestamp\":\"[0-9-]{10}T[0-9:]{8}\.000Z\",\"event\":\{\"type\":\"created\",\"name\":\"Zoë\ \\\"b\\\\ob\\\"\"\}\}$ ]]
	run -0 --separate-stderr evtstore events users u1
	expected=$output
	[ "${#lines[@]}" = 3 ]
	run -0 --separate-stderr evt-read users u1
	same "$output" "$expected"
	run -0 --separate-stderr evt-read --last users u1
	same "$output" "$(printf '%s\n' "$expected" | tail -n 1)"
	run -0 --separate-stderr evt-read --head users
	[ "$output" = 4 ]
	run -0 --separate-stderr evt-read --after 2
	same "$output" "$(evtstore rows | tail -n 2)"
}

@test "interop: evtstore folds and continues what evt-append wrote" {
	run -0 --separate-stderr evt-append -q users u1 '{"type":"created","name":"ann"}' '{"type":"disabled"}'
	run -0 --separate-stderr evtstore aggregate users u1
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evtstore aggregate users u2
	[ "$output" = '{"name":"","enabled":false,"aggregateId":"u2","version":0}' ]
	run -1 --separate-stderr evtstore command u1 create '{"name":"bob"}'
	[ "$stderr" = "my.js: user already exists" ]
	run -0 --separate-stderr evtstore command u1 enable
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr evtstore events users u1
	expected=$output
	[ "${#lines[@]}" = 3 ]
	run -0 --separate-stderr evt-read users u1
	same "$output" "$expected"
	run -0 --separate-stderr evtstore rows
	expected=$output
	run -0 --separate-stderr evt-read
	same "$output" "$expected"
}

@test "interop: version conflicts both ways, on tables of either" {
	evtstore migrate >/dev/null
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	evtstore command u1 disable >/dev/null
	run -3 --separate-stderr evt-append -e 1 users u1 '{"type":"enabled"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 1" ]
	run -3 --separate-stderr evtstore append users u1 1 '{"type":"enabled"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_id_version_unique"}' ]
	run -0 --separate-stderr evt-append -e 2 users u1 '{"type":"enabled"}'
	[[ "$output" == *'"version":3,'* ]]
	run -3 --separate-stderr evtstore append users u1 2 '{"type":"disabled"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_id_version_unique"}' ]
	run -0 --separate-stderr evtstore append users u1 3 '{"type":"disabled"}'
	[ "$output" = '{"version":4}' ]
	run -0 --separate-stderr evt-read users u1
	[ "${#lines[@]}" = 4 ]

	export EVT_DB=$(db evt)
	run -0 --separate-stderr evt-append -q users u1 '{"type":"created","name":"ann"}' '{"type":"disabled"}'
	run -3 --separate-stderr evtstore append users u1 1 '{"type":"enabled"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_id_version_unique"}' ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
	run -0 --separate-stderr evtstore append users u1 2 '{"type":"enabled"}'
	[ "$output" = '{"version":3}' ]
	run -3 --separate-stderr evt-append -e 2 users u1 '{"type":"disabled"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 3, expected 2" ]
	run -0 --separate-stderr evtstore aggregate users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
}

@test "interop: evtstore writes to tables evt made, evt to tables evtstore made" {
	run -0 --separate-stderr evt-append -q users u1 '{"type":"created","name":"ann"}'
	run -0 --separate-stderr evtstore command u2 create '{"name":"bob"}'
	[ "$output" = '{"name":"bob","enabled":true,"aggregateId":"u2","version":1}' ]
	run -0 --separate-stderr evtstore append users u1 1 '{"type":"disabled"}'
	run -0 --separate-stderr evt-append -q -e 2 users u1 '{"type":"enabled"}'
	run -0 --separate-stderr evtstore rows
	expected=$output
	run -0 --separate-stderr evt-read
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 4 ]
	run -0 --separate-stderr evtstore aggregate users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]

	export EVT_DB=$(db evtstore)
	run -0 --separate-stderr evtstore migrate
	run -0 --separate-stderr evt-append -q -e 0 users u1 '{"type":"created","name":"ann"}'
	run -0 --separate-stderr evtstore command u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evt-append -q -e 2 users u1 '{"type":"enabled"}'
	run -0 --separate-stderr evtstore rows
	expected=$output
	run -0 --separate-stderr evt-read
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 3 ]
	# a time evt-append is given keeps its whole seconds in a DATETIME
	printf '%s\n' '{"stream":"users","aggregateId":"u3","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"created","name":"cy"}}' |
		evt-append -q --records
	run -0 --separate-stderr evt-read --last users u3
	[[ "$output" == *'"timestamp":"2020-01-02T03:04:05.000Z",'* ]]
	run -0 --separate-stderr evtstore events users u3
	[[ "$output" == *'"timestamp":"2020-01-02T03:04:05.000Z",'* ]]
}

@test "interop: handlers both ways: evt-handle and an evtstore handler share a bookmark" {
	evtstore migrate >/dev/null
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	evt-append -q -e 1 users u1 '{"type":"disabled"}'
	# evtstore's handler sees what both wrote, and keeps its bookmark
	run -0 --separate-stderr evtstore handle h users
	same "$output" '{"position":1,"stream":"users","aggregateId":"u1","version":1,"event":{"type":"created","name":"ann"}}
{"position":2,"stream":"users","aggregateId":"u1","version":2,"event":{"type":"disabled"}}'
	run -0 db_sql "SELECT bookmark, position FROM bookmarks"
	[ "$output" = "h|2" ]
	# evt-handle continues from it
	evtstore command u1 enable >/dev/null
	evt-append -q users u2 '{"type":"created","name":"bob"}'
	run -0 --separate-stderr evt-handle h users -- cat
	[ "$stderr" = "" ]
	same "$output" "$(evt-read --after 2)"
	[ "${#lines[@]}" = 2 ]
	run -0 db_sql "SELECT bookmark, position FROM bookmarks"
	[ "$output" = "h|4" ]
	# and evtstore's handler from evt-handle's
	evt-append -q -e 3 users u1 '{"type":"disabled"}'
	run -0 --separate-stderr evtstore handle h users
	same "$output" '{"position":5,"stream":"users","aggregateId":"u1","version":4,"event":{"type":"disabled"}}'
	run -0 --separate-stderr evtstore handle h users
	[ "$output" = "" ]
	run -0 --separate-stderr evt-handle h users -- cat
	[ "$output" = "" ]
	run -0 --separate-stderr evt-handle --status h
	[[ "$output" == '{"name":"h","streams":["users"],"position":5,"head":5,"lag":0,'* ]]
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
	run -0 db_sql "SELECT bookmark, position FROM user_marks"
	[ "$output" = "h|2" ]
	run -0 --separate-stderr evtstore handle h users
	[ "$output" = "" ]
	run -0 db_sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('events', 'bookmarks')"
	[ "$output" = 0 ]
}

@test "interop: evt copies an evtstore store into one evtstore reads the same" {
	evtstore migrate >/dev/null
	evtstore_users >/dev/null
	copy=$(db copy)
	run -0 --separate-stderr evt-read
	printf '%s\n' "$output" >records
	run -0 --separate-stderr evt-append -d "$copy" -q --records <records
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read -d "$copy"
	same "$output" "$(cat records)"
	for id in u1 u2; do
		run -0 --separate-stderr evtstore events users "$id"
		expected=$output
		run -0 --separate-stderr node "$BATS_TEST_DIRNAME/interop/my.js" events "$copy" users "$id"
		same "$output" "$expected"
		run -0 --separate-stderr evtstore aggregate users "$id"
		expected=$output
		run -0 --separate-stderr node "$BATS_TEST_DIRNAME/interop/my.js" aggregate "$copy" users "$id"
		same "$output" "$expected"
	done
	run -3 --separate-stderr evt-append -d "$copy" -q --records <records
	[ "$stderr" = "evt-append: <stdin>:1: version conflict: users/u1 is at version 3, expected 0" ]
	run -0 --separate-stderr evt-read -d "$copy" --head
	[ "$output" = 4 ]
}

@test "interop: evt-fold and evt-command decide like evtstore's aggregate and commands" {
	evtstore migrate >/dev/null
	evtstore_users >/dev/null
	for id in u1 u2 nobody; do
		run -0 --separate-stderr evtstore aggregate users "$id"
		expected=$output
		run -0 --separate-stderr evt-fold --jq "$USER_JQ" --init "$USER_INIT" users "$id"
		[ "$stderr" = "" ]
		same "$output" "$expected"
		run -0 --separate-stderr evt-fold --persist v1 --jq "$USER_JQ" --init "$USER_INIT" users "$id"
		same "$output" "$expected"
	done
	cp "$EVT_FIXTURES/user.sh" .
	cmd() {
		evt-command --persist v1 --jq "$USER_JQ" --init "$USER_INIT" users "$@" -- ./user.sh
	}
	run -0 --separate-stderr cmd u3 create '{"name":"cy"}'
	[ "$output" = '{"name":"cy","enabled":true,"aggregateId":"u3","version":1}' ]
	run -0 --separate-stderr evtstore command u3 disable
	[ "$output" = '{"name":"cy","enabled":false,"aggregateId":"u3","version":2}' ]
	run -0 --separate-stderr cmd u3 disable
	[ "$output" = '{"name":"cy","enabled":false,"aggregateId":"u3","version":2}' ]
	run -0 --separate-stderr cmd u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":4}' ]
	run -0 --separate-stderr evtstore command u1 enable
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":5}' ]
	run -5 --separate-stderr cmd u1 create '{"name":"bob"}'
	same "$stderr" "user already exists
evt-command: './user.sh' exited with status 1"
	run -1 --separate-stderr evtstore command u3 create '{"name":"bob"}'
	[ "$stderr" = "my.js: user already exists" ]
	run -0 --separate-stderr evtstore aggregate users u1
	expected=$output
	run -0 --separate-stderr evt-fold --persist v1 --jq "$USER_JQ" --init "$USER_INIT" users u1
	same "$output" "$expected"
}

@test "interop: evt-tail and evt-handle --follow see events evtstore writes" {
	evtstore migrate >/dev/null
	evt-tail --after 0 >tail.out 2>tail.err 3>&- &
	tail=$!
	evt-handle --follow h users -- sh -c 'cat >>handled' >h.out 2>h.err 3>&- &
	handle=$!
	pids="$tail $handle"
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	evt-append -q -e 1 users u1 '{"type":"disabled"}'
	evtstore command u1 enable >/dev/null
	wait_until 20 has_lines tail.out 3
	wait_until 20 has_lines handled 3
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
	same "$(cat tail.out)" "$(evt-read)"
	same "$(cat handled)" "$(evt-read)"
	same "$(cat tail.err h.err h.out)" ""
}

@test "interop: the position a conflicting evtstore append drew is a gap followers pass" {
	evtstore migrate >/dev/null
	evt-tail --after 0 >tail.out 2>tail.err 3>&- &
	tail=$!
	evt-handle --follow h users -- sh -c 'cat >>handled' >h.out 2>h.err 3>&- &
	handle=$!
	pids="$tail $handle"
	evtstore command u1 create '{"name":"ann"}' >/dev/null
	wait_until 20 has_lines tail.out 1
	# the failed INSERT drew position 2, then rolled back
	run -3 --separate-stderr evtstore append users u1 0 '{"type":"created","name":"bob"}'
	[ "$output" = '{"versionError":"events_stream_aggregate_id_version_unique"}' ]
	evt-append -q -e 1 users u1 '{"type":"disabled"}'
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3 ]
	wait_until 20 has_lines tail.out 2
	wait_until 20 has_lines handled 2
	evtstore command u1 enable >/dev/null
	wait_until 20 has_lines tail.out 3
	wait_until 20 has_lines handled 3
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
	same "$(cat tail.out)" "$(evt-read)"
	same "$(cat handled)" "$(evt-read)"
	[ "$(evt-read | sed 's/^{"position":\([0-9]*\),.*/\1/' | tr '\n' ' ')" = "1 3 4 " ]
	same "$(cat tail.err h.err h.out)" ""
}

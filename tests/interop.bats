#!/usr/bin/env bats
# evt and evtstore (knex provider, better-sqlite3) on the same SQLite file.

load test_helper

setup_file() {
	if [ ! -d "$BATS_TEST_DIRNAME/interop/node_modules" ]; then
		echo "run: (cd tests/interop && npm ci)" >&2
		return 1
	fi
}

# evtstore SCRIPT ARG...: run tests/interop/SCRIPT.js.
evtstore() {
	node "$BATS_TEST_DIRNAME/interop/$1.js" "${@:2}"
}

# The ann and bob users, written by evtstore commands.
evtstore_users() {
	evtstore command store.db u1 create '{"name":"ann"}'
	evtstore command store.db u1 disable
	evtstore command store.db u2 create '{"name":"Zoë \"b\\ob\""}'
	evtstore command store.db u1 enable
}

@test "evt-read prints a store written by evtstore as its rows say" {
	evtstore_users
	run -0 --separate-stderr evtstore sql store.db \
		'SELECT typeof(timestamp) AS t, count(*) AS n FROM events GROUP BY t'
	[ "$output" = '[{"t":"integer","n":4}]' ]
	run -0 --separate-stderr evtstore rows store.db
	expected=$output

	run -0 --separate-stderr evt-read -d store.db
	[ "$stderr" = "" ]
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[0]} =~ ^\{\"position\":1,\"stream\":\"users\",\"aggregateId\":\"u1\",\"version\":1,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"created\",\"name\":\"ann\"\}\}$ ]]
	[[ ${lines[2]} =~ ^\{\"position\":3,\"stream\":\"users\",\"aggregateId\":\"u2\",\"version\":1,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"created\",\"name\":\"Zoë\ \\\"b\\\\ob\\\"\"\}\}$ ]]
}

@test "evt-read prints an aggregate as evtstore's provider reads it" {
	evtstore_users
	run -0 --separate-stderr evtstore events store.db users u1
	expected=$output
	[ "${#lines[@]}" -eq 3 ]

	last=${lines[2]}

	run -0 --separate-stderr evt-read -d store.db users u1
	[ "$stderr" = "" ]
	same "$output" "$expected"

	run -0 --separate-stderr evt-read -d store.db --last users u1
	same "$output" "$last"
	run -0 --separate-stderr evt-read -d store.db --head users
	[ "$output" = 4 ]
}

@test "evtstore folds what evt-append wrote" {
	run -0 --separate-stderr evt-append -d store.db -q users u1 \
		'{"type":"created","name":"ann"}' '{"type":"disabled"}'
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evtstore aggregate store.db users u1
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]

	run -0 --separate-stderr evt-append -d store.db -q -e 2 users u1 '{"type":"enabled"}'
	run -0 --separate-stderr evtstore aggregate store.db users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr evtstore aggregate store.db users u2
	[ "$output" = '{"name":"","enabled":false,"aggregateId":"u2","version":0}' ]

	run -0 --separate-stderr evtstore events store.db users u1
	expected=$output
	run -0 --separate-stderr evt-read -d store.db users u1
	same "$output" "$expected"
}

@test "evtstore commands continue an aggregate evt-append wrote" {
	run -0 --separate-stderr evt-append -d store.db -q users u1 '{"type":"created","name":"ann"}'
	run -1 --separate-stderr evtstore command store.db u1 create '{"name":"bob"}'
	[ "$stderr" = "command.js: user already exists" ]
	run -0 --separate-stderr evtstore command store.db u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]

	run -0 --separate-stderr evt-read -d store.db --last users u1
	[[ $output =~ ^\{\"position\":2,\"stream\":\"users\",\"aggregateId\":\"u1\",\"version\":2,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"disabled\"\}\}$ ]]
}

@test "evt-append conflicts with a version evtstore wrote" {
	evtstore command store.db u1 create '{"name":"ann"}'
	evtstore command store.db u1 disable

	run -3 --separate-stderr evt-append -d store.db -e 1 users u1 '{"type":"enabled"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 1" ]
	run -3 --separate-stderr evt-append -d store.db -e 0 users u1 '{"type":"enabled"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 0" ]
	run -0 --separate-stderr evt-read -d store.db --head
	[ "$output" = 2 ]

	run -0 --separate-stderr evt-append -d store.db -e 2 users u1 '{"type":"enabled"}'
	[[ $output =~ ^\{\"position\":3,\"stream\":\"users\",\"aggregateId\":\"u1\",\"version\":3,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"enabled\"\}\}$ ]]
}

@test "evtstore conflicts with a version evt-append wrote" {
	run -0 --separate-stderr evt-append -d store.db -q users u1 \
		'{"type":"created","name":"ann"}' '{"type":"disabled"}'

	run -3 --separate-stderr evtstore append store.db users u1 1 '{"type":"enabled"}'
	[ "$output" = '{"versionError":"events.stream, events.aggregate_id, events.version"}' ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read -d store.db --head
	[ "$output" = 2 ]

	run -0 --separate-stderr evtstore append store.db users u1 2 '{"type":"enabled"}'
	[ "$output" = '{"version":3}' ]
	run -0 --separate-stderr evtstore aggregate store.db users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
}

@test "evt creates the schema evtstore's migrate creates" {
	columns='SELECT m.name AS tbl, p.name, lower(p.type) AS type, p."notnull", p.pk
		FROM sqlite_master AS m, pragma_table_info(m.name) AS p
		WHERE m.type = '\''table'\'' ORDER BY tbl, p.cid'
	unique='SELECT m.name AS tbl, l.name, l.origin, group_concat(i.name) AS cols
		FROM sqlite_master AS m, pragma_index_list(m.name) AS l,
			pragma_index_info(l.name) AS i
		WHERE m.type = '\''table'\'' AND l."unique" GROUP BY tbl, l.name
		ORDER BY tbl, l.name'
	run -0 --separate-stderr evtstore migrate evtstore.db
	run -0 --separate-stderr evtstore sql evtstore.db "$columns"
	evtstore_columns=$output
	run -0 --separate-stderr evtstore sql evtstore.db "$unique"
	evtstore_unique=$output
	[ "$evtstore_unique" = '[{"tbl":"bookmarks","name":"sqlite_autoindex_bookmarks_1","origin":"pk","cols":"bookmark"},{"tbl":"events","name":"events_stream_aggregate_id_version_unique","origin":"c","cols":"stream,aggregate_id,version"},{"tbl":"events","name":"events_stream_position_unique","origin":"c","cols":"stream,position"}]' ]

	run -0 --separate-stderr evt-append -d evt.db -q users u1 '{"type":"created","name":"ann"}'
	run -0 --separate-stderr evtstore sql evt.db "$columns"
	same "$output" "$evtstore_columns"
	run -0 --separate-stderr evtstore sql evt.db "$unique"
	same "$output" "$evtstore_unique"
}

@test "evtstore writes to a store evt created, evt to one evtstore created" {
	run -0 --separate-stderr evt-append -d evt.db -q users u1 '{"type":"created","name":"ann"}'
	run -0 --separate-stderr evtstore command evt.db u2 create '{"name":"bob"}'
	[ "$output" = '{"name":"bob","enabled":true,"aggregateId":"u2","version":1}' ]
	run -0 --separate-stderr evtstore append evt.db users u1 1 '{"type":"disabled"}'
	run -0 --separate-stderr evt-append -d evt.db -q -e 2 users u1 '{"type":"enabled"}'
	run -0 --separate-stderr evtstore rows evt.db
	expected=$output
	run -0 --separate-stderr evt-read -d evt.db
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 4 ]
	run -0 --separate-stderr evtstore aggregate evt.db users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]

	run -0 --separate-stderr evtstore migrate evtstore.db
	run -0 --separate-stderr evt-append -d evtstore.db -q -e 0 users u1 '{"type":"created","name":"ann"}'
	run -0 --separate-stderr evtstore command evtstore.db u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evt-append -d evtstore.db -q -e 2 users u1 '{"type":"enabled"}'
	run -0 --separate-stderr evtstore rows evtstore.db
	expected=$output
	run -0 --separate-stderr evt-read -d evtstore.db
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 3 ]
}

@test "evt and evtstore share a store with other table names" {
	export EVT_EVENTS_TABLE=user_events EVT_BOOKMARKS_TABLE=user_bookmarks
	evtstore command store.db u1 create '{"name":"ann"}'
	run -0 --separate-stderr evt-append -d store.db -q -e 1 users u1 '{"type":"disabled"}'
	run -0 --separate-stderr evtstore aggregate store.db users u1
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evtstore rows store.db
	expected=$output
	run -0 --separate-stderr evt-read -d store.db
	same "$output" "$expected"
	[ "${#lines[@]}" -eq 2 ]
	run -0 --separate-stderr evtstore sql store.db \
		"SELECT count(*) AS n FROM sqlite_master WHERE name IN ('events', 'bookmarks')"
	[ "$output" = '[{"n":0}]' ]
}

@test "evt copies an evtstore store into one that evtstore reads the same" {
	evtstore_users
	run -0 --separate-stderr evt-read -d store.db
	printf '%s\n' "$output" >records
	run -0 --separate-stderr evt-append -d copy.db -q --records <records
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read -d copy.db
	same "$output" "$(cat records)"

	for id in u1 u2; do
		run -0 --separate-stderr evtstore events store.db users "$id"
		expected=$output
		run -0 --separate-stderr evtstore events copy.db users "$id"
		same "$output" "$expected"
		run -0 --separate-stderr evtstore aggregate store.db users "$id"
		expected=$output
		run -0 --separate-stderr evtstore aggregate copy.db users "$id"
		same "$output" "$expected"
	done

	run -3 --separate-stderr evt-append -d copy.db -q --records <records
	[ "$stderr" = "evt-append: <stdin>:1: version conflict: users/u1 is at version 3, expected 0" ]
	run -0 --separate-stderr evt-read -d copy.db --head
	[ "$output" = 4 ]
}

#!/usr/bin/env bats
# evt-fold and evt-command beside evtstore's getAggregate and commands
# (knex provider, better-sqlite3) on the same SQLite file.

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

# canon: $output's JSON lines with sorted keys, as fold.js prints them.
canon() {
	printf '%s\n' "$output" | evtstore fold canon
}

# evtstore's README user aggregate as a jq fold, and its create().
USER_JQ=$(cat "$EVT_FIXTURES/user.jq")
USER_INIT='{"name":"","enabled":false}'

# The fold of `fold.js meta`: what evtstore passes a fold, kept.
META_JQ='{count: ($agg.count + 1),
	seen: (($agg.seen // []) + [{type: .type, prev: $agg.version, id: $agg.aggregateId}]),
	meta: $meta}'

# The ann and bob users, written by evtstore commands.
evtstore_users() {
	evtstore command store.db u1 create '{"name":"ann"}'
	evtstore command store.db u1 disable
	evtstore command store.db u2 create '{"name":"Zoë \"b\\ob\""}'
	evtstore command store.db u1 enable
	evtstore command store.db u2 disable
}

@test "evt-fold --jq folds evtstore's README user aggregate as getAggregate does" {
	evtstore_users
	run -0 --separate-stderr evtstore fold user store.db users u1 u2 nobody
	expected=$output
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"aggregateId":"u1","enabled":true,"name":"ann","version":3}' ]

	run -0 --separate-stderr evt-fold -d store.db --jq "$USER_JQ" --init "$USER_INIT" users u1
	[ "$stderr" = "" ]
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	u1=$output
	run -0 --separate-stderr evt-fold -d store.db --jq "$USER_JQ" --init "$USER_INIT" users u2
	u2=$output
	run -0 --separate-stderr evt-fold -d store.db --jq "$USER_JQ" --init "$USER_INIT" users nobody
	output=$(printf '%s\n' "$u1" "$u2" "$output")
	same "$(canon)" "$expected"

	# every aggregate of the stream, and the records on stdin, the same
	run -0 --separate-stderr evt-fold -d store.db --jq "$USER_JQ" --init "$USER_INIT" --all users
	same "$(canon)" "$(printf '%s\n' "$expected" | sed -n 1,2p)"
	evt-read -d store.db >records
	run -0 --separate-stderr evt-fold --jq "$USER_JQ" --init "$USER_INIT" <records
	same "$(canon)" "$(printf '%s\n' "$expected" | sed -n 1,2p)"
}

@test "the events, aggregate and meta evt-fold gives a jq fold are the ones evtstore gives a fold" {
	evtstore_users
	run -0 --separate-stderr evtstore fold meta store.db users u1 u2
	expected=$output
	[[ "${lines[0]}" == '{"aggregateId":"u1","count":3,"meta":{"aggregateId":"u1","position":4,"stream":"users","timestamp":"'* ]]

	run -0 --separate-stderr evt-fold -d store.db --jq "$META_JQ" --init '{"count":0}' --all users
	[ "$stderr" = "" ]
	same "$(canon)" "$expected"
	# and evtstore's fold function itself as an --exec reducer
	run -0 --separate-stderr evt-fold -d store.db --exec "node '$BATS_TEST_DIRNAME/interop/fold.js' reducer" --init '{"count":0}' --all users
	[ "$stderr" = "" ]
	same "$(canon)" "$expected"
}

@test "evt-fold's merge equals getAggregate for events evt-append wrote" {
	run -0 --separate-stderr evt-append -d store.db -q users u1 \
		'{"type":"created","name":"ann"}' '{"type":"disabled"}' '{"type":"enabled"}'
	run -0 --separate-stderr evtstore fold user store.db users u1
	[ "$output" = '{"aggregateId":"u1","enabled":true,"name":"ann","version":3}' ]
	expected=$output
	run -0 --separate-stderr evt-fold -d store.db --jq "$USER_JQ" --init "$USER_INIT" users u1
	same "$(canon)" "$expected"
	run -0 --separate-stderr evt-fold -d store.db --init '{"name":"","enabled":true}' users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
}

@test "--persist gives what getAggregate gives, across commands of both" {
	evtstore command store.db u1 create '{"name":"ann"}'
	run -0 --separate-stderr evt-fold -d store.db --persist v1 --jq "$USER_JQ" --init "$USER_INIT" users u1
	same "$(canon)" "$(evtstore fold user store.db users u1)"
	evtstore command store.db u1 disable
	run -0 --separate-stderr evt-fold -d store.db --persist v1 --jq "$USER_JQ" --init "$USER_INIT" users u1
	same "$(canon)" "$(evtstore fold user store.db users u1)"
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	# evtstore reads and writes a store that has evt's snapshots table
	run -0 --separate-stderr evtstore command store.db u1 enable
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
}

@test "evt-command decides like evtstore's createCommands, on the same store" {
	cp "$EVT_FIXTURES/user.sh" .
	cmd() {
		evt-command -d store.db --jq "$USER_JQ" --init "$USER_INIT" users "$@" -- ./user.sh
	}
	run -0 --separate-stderr cmd u1 create '{"name":"ann"}'
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr evtstore command store.db u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr cmd u1 disable
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr cmd u1 enable
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -5 --separate-stderr cmd u1 create '{"name":"bob"}'
	same "$stderr" "user already exists
evt-command: './user.sh' exited with status 1"
	run -1 --separate-stderr evtstore command store.db u1 create '{"name":"bob"}'
	[ "$stderr" = "command.js: user already exists" ]
	run -0 --separate-stderr evtstore fold user store.db users u1
	[ "$output" = '{"aggregateId":"u1","enabled":true,"name":"ann","version":3}' ]
	run -0 --separate-stderr evtstore events store.db users u1
	expected=$output
	run -0 --separate-stderr evt-read -d store.db users u1
	[ "$output" = "$expected" ]
}

#!/usr/bin/env bats
# evt-command: load an aggregate, run a command program, append what it
# decides.
# backends: sqlite pg my

load test_helper

# A record as evt-read prints it, with the timestamp as TS.
rec() {
	printf '{"position":%s,"stream":"%s","aggregateId":"%s","version":%s,"timestamp":"TS","event":%s}' "$@"
}

# The README user commands as a command program (tests/fixtures/user.sh):
# it keeps its stdin in the file input and decides by the command's type
# and the aggregate.
user_program() {
	cp "$EVT_FIXTURES/user.sh" .
}

USER_JQ=$(cat "$EVT_FIXTURES/user.jq")

@test "runs the program on the folded aggregate, appends its events, prints the result" {
	user_program
	run -0 --separate-stderr evt-command users u1 create '{"name":"ann"}' -- ./user.sh
	[ "$stderr" = "" ]
	[ "$output" = '{"name":"ann","aggregateId":"u1","version":1}' ]
	[ "$(cat input)" = '{"command":{"name":"ann","aggregateId":"u1","type":"create"},"aggregate":{"aggregateId":"u1","version":0}}' ]
	run -0 --separate-stderr evt-command --init '{"enabled":true}' users u1 disable -- ./user.sh
	[ "$output" = '{"enabled":true,"name":"ann","aggregateId":"u1","version":2}' ]
	[ "$(sed -n 2p input)" = '{"command":{"aggregateId":"u1","type":"disable"},"aggregate":{"enabled":true,"name":"ann","aggregateId":"u1","version":1}}' ]
	run -0 --separate-stderr evt-read users u1
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"created","name":"ann"}')
$(rec 2 users u1 2 '{"type":"disabled"}')"
}

@test "--key: a command done once is not run again; another aggregate is exit 3" {
	user_program
	run -0 --separate-stderr evt-command --key c1 users u1 create '{"name":"ann"}' -- ./user.sh
	[ "$output" = '{"name":"ann","aggregateId":"u1","version":1}' ]
	[ "$(wc -l <input)" = 1 ]
	run -0 --separate-stderr evt-command --key c1 users u1 create '{"name":"ann"}' -- ./user.sh
	[ "$output" = '{"name":"ann","aggregateId":"u1","version":1}' ]
	[ "$stderr" = "" ]
	[ "$(wc -l <input)" = 1 ]
	run -3 --separate-stderr evt-command --key c1 users u2 create '{"name":"bob"}' -- ./user.sh
	[ "$stderr" = "evt-command: key 'c1' was used for users/u1" ]
	[ "$(wc -l <input)" = 1 ]
	run -0 --separate-stderr evt-read
	[ "${#lines[@]}" = 1 ]
	run -0 --separate-stderr db_sql "SELECT $KEY_COL, stream, aggregate_id, first, last FROM events_keys"
	[ "$output" = "c1|users|u1|1|1" ]
}

@test "the schema is created on a new store" {
	new=$(db new.db)
	run -0 --separate-stderr evt-command -d "$new" users u1 go -- echo '{"type":"went"}'
	[ "$output" = '{"aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr evt-read -d "$new" --head
	[ "$output" = 1 ]
}

@test "nothing printed: no change, the aggregate is printed as it is" {
	user_program
	evt-command --jq "$USER_JQ" users u1 create '{"name":"ann"}' -- ./user.sh
	run -0 --separate-stderr evt-command --jq "$USER_JQ" users u1 enable -- ./user.sh
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr evt-command users u2 anything -- true
	[ "$output" = '{"aggregateId":"u2","version":0}' ]
	run -0 --separate-stderr evt-command users u2 anything -- printf '\n \n'
	[ "$output" = '{"aggregateId":"u2","version":0}' ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "BODY: aggregateId and type win over it; its values go through exactly" {
	run -0 --separate-stderr evt-command users u1 do '{ "type":"x", "n":0.10, "aggregateId":"zz", "o":{"b":1,"a":[ ]} }' -- sh -c 'cat >input'
	[ "$(cat input)" = '{"command":{"n":0.10,"o":{"b":1,"a":[]},"aggregateId":"u1","type":"do"},"aggregate":{"aggregateId":"u1","version":0}}' ]
	run -2 --separate-stderr evt-command users u1 do '[1]' -- true
	[ "$stderr" = "evt-command: invalid BODY: not a JSON object" ]
	run -2 --separate-stderr evt-command users u1 do '{"a"' -- true
	[ "$stderr" = "evt-command: invalid BODY: invalid JSON at column 5: unexpected end of input" ]
}

@test "events as NDJSON or as one JSON array, appended exactly in one transaction" {
	run -0 --separate-stderr evt-command users u1 go -- printf '{"type":"a","n":12345678901234567890}\r\n\n{ "type" : "b" }\n'
	[ "$output" = '{"n":12345678901234567890,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evt-command users u1 go -- printf ' [ {"type":"c","x":1e400}, {"type":"d"} ]\n'
	[ "$output" = '{"n":12345678901234567890,"x":1e400,"aggregateId":"u1","version":4}' ]
	run -0 --separate-stderr evt-command users u1 go -- echo '[]'
	[ "$output" = '{"n":12345678901234567890,"x":1e400,"aggregateId":"u1","version":4}' ]
	run -0 --separate-stderr evt-read users u1
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a","n":12345678901234567890}')
$(rec 2 users u1 2 '{"type":"b"}')
$(rec 3 users u1 3 '{"type":"c","x":1e400}')
$(rec 4 users u1 4 '{"type":"d"}')"
}

@test "an event without a non-empty string type is exit 4 and nothing is appended" {
	run -4 --separate-stderr evt-command users u1 go -- printf '{"type":"a"}\n{"name":"x"}\n'
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: 'printf' printed an invalid event: line 2: event has no string \"type\"" ]
	run -4 --separate-stderr evt-command users u1 go -- echo '[{"type":"a"},{"type":""}]'
	[ "$stderr" = "evt-command: 'echo' printed an invalid event: element 2: event has an empty \"type\"" ]
	run -4 --separate-stderr evt-command users u1 go -- echo '[{"type":"a"}] [1]'
	[ "$stderr" = "evt-command: 'echo' printed invalid JSON at column 16: unexpected data after the JSON value" ]
	run -4 --separate-stderr evt-command users u1 go -- echo '{"type":"a"'
	[ "$stderr" = "evt-command: 'echo' printed an invalid event: line 1: invalid JSON at column 12: unexpected end of input" ]
	run -4 --separate-stderr evt-command users u1 go -- echo '"a"'
	[ "$stderr" = "evt-command: 'echo' printed an invalid event: line 1: event is not a JSON object" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
}

@test "a program that fails rejects the command: exit 5, its stderr passed on, nothing appended" {
	user_program
	evt-command users u1 create '{"name":"ann"}' -- ./user.sh
	run -5 --separate-stderr evt-command users u1 create '{"name":"bob"}' -- ./user.sh
	[ "$output" = "" ]
	same "$stderr" "user already exists
evt-command: './user.sh' exited with status 1"
	run -5 --separate-stderr evt-command users u1 go -- sh -c 'echo "{\"type\":\"a\"}"; kill -9 $$'
	[ "$stderr" = "evt-command: 'sh' was killed by signal 9 (Killed)" ]
	run -5 --separate-stderr evt-command users u1 go -- ./nope.sh
	[ "$stderr" = "evt-command: cannot run './nope.sh': not found" ]
	printf '#!/bin/sh\r\necho {}\r\n' >crlf.sh
	chmod +x crlf.sh
	run -5 --separate-stderr evt-command users u1 go -- ./crlf.sh
	[ "$stderr" = "evt-command: cannot run './crlf.sh': its #! line ends in CR (CRLF line ends)" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "a program that does not read its stdin, or prints a lot, does not block" {
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-command users u1 go '{"pad":"'"$(head -c 100000 /dev/zero | tr '\0' x)"'"}' -- sh -c 'seq 1 100000 | sed "s/.*/{\"type\":\"n\",\"i\":&}/"'
	[ "$output" = '{"i":100000,"aggregateId":"u1","version":100000}' ]
}

# A program that appends to the aggregate behind evt-command's back on its
# first N runs (counted in the file runs), then decides {"type":"mine"}.
racer() {
	cat >racer.sh <<EOF
#!/bin/sh
cat >/dev/null
echo run >>runs
echo "\$EVT_VERSION" >>versions
if [ \$(wc -l <runs) -le $1 ]; then
	evt-append -q users u1 '{"type":"sneaky"}' || exit 9
fi
echo '{"type":"mine","m":1}'
EOF
	chmod +x racer.sh
}

@test "a version conflict folds again and reruns the program" {
	racer 2
	run -0 --separate-stderr evt-command users u1 go -- ./racer.sh
	[ "$stderr" = "" ]
	[ "$output" = '{"m":1,"aggregateId":"u1","version":3}' ]
	[ "$(wc -l <runs)" -eq 3 ]
	# each run is told the version it was folded at
	same "$(cat versions)" "0
1
2"
	run -0 --separate-stderr evt-read users u1
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"sneaky"}')
$(rec 2 users u1 2 '{"type":"sneaky"}')
$(rec 3 users u1 3 '{"type":"mine","m":1}')"
}

@test "conflicts beyond --retries are exit 3 with the conflict" {
	racer 100
	run -3 --separate-stderr evt-command users u1 go -- ./racer.sh
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: version conflict: users/u1 is at version 4, expected 3" ]
	[ "$(wc -l <runs)" -eq 4 ]
	rm runs
	run -3 --separate-stderr evt-command --retries 0 users u1 go -- ./racer.sh
	[ "$stderr" = "evt-command: version conflict: users/u1 is at version 5, expected 4" ]
	[ "$(wc -l <runs)" -eq 1 ]
	rm runs
	racer 1
	run -0 --separate-stderr evt-command --retries 1 users u1 go -- ./racer.sh
	[ "$output" = '{"m":1,"aggregateId":"u1","version":7}' ]
}

@test "PROGRAM's environment: the store, the aggregate, the command, the version folded" {
	evt-append -q users u1 '{"type":"created"}' '{"type":"renamed"}'
	cat >env.sh <<'EOF'
#!/bin/sh
for v in EVT_DB EVT_EVENTS_TABLE EVT_BOOKMARKS_TABLE EVT_STREAM EVT_AGGREGATE_ID EVT_COMMAND EVT_VERSION; do
	printf '%s=%s\n' "$v" "$(printenv "$v")" >>env.out
done
EOF
	chmod +x env.sh
	store=$EVT_DB
	server_backend || store=$(pwd -P)/events.db
	run -0 --separate-stderr evt-command users u1 disable '{"by":"x"}' -- ./env.sh
	same "$(cat env.out)" "EVT_DB=$store
EVT_EVENTS_TABLE=events
EVT_BOOKMARKS_TABLE=bookmarks
EVT_STREAM=users
EVT_AGGREGATE_ID=u1
EVT_COMMAND=disable
EVT_VERSION=2"
	# the table names given as options, the version of a new aggregate
	rm env.out
	run -0 --separate-stderr evt-command --events-table ev2 --bookmarks-table bm2 users u2 create -- ./env.sh
	same "$(cat env.out)" "EVT_DB=$store
EVT_EVENTS_TABLE=ev2
EVT_BOOKMARKS_TABLE=bm2
EVT_STREAM=users
EVT_AGGREGATE_ID=u2
EVT_COMMAND=create
EVT_VERSION=0"
}

@test "EVT_DB is absolute for a relative SQLite path, whichever way it is given" {
	sqlite_only
	mkdir sub
	dir=$(pwd -P)
	run -0 --separate-stderr evt-command -d sub/x.db users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
	EVT_DB=sub/x.db run -0 --separate-stderr evt-command users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
	run -0 --separate-stderr evt-command -d sqlite:sub/x.db users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
	run -0 --separate-stderr evt-command -d "$dir/sub/x.db" users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
	run -0 --separate-stderr evt-command -d sqlite:///sub/x.db users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
	run -0 --separate-stderr evt-command -d "sqlite:///$dir/sub/x.db" users u1 go -- sh -c 'printenv EVT_DB >&2'
	same "$stderr" "$dir/sub/x.db"
}

# The evtstore createPost rule: the author must exist, which the program
# checks by folding the user, after changing directory.
@test "PROGRAM folds another aggregate of the same store, wherever it runs" {
	mkdir -p sub elsewhere
	store=$(db sub/x.db)
	evt-append -q -d "$store" --events-table ev2 users u1 '{"type":"created","name":"ann"}'
	cat >post.sh <<'EOF'
#!/bin/sh
body=$(cat)
cd elsewhere || exit 9
author=$(printf '%s\n' "$body" | sed 's/.*"author":"\([^"]*\)".*/\1/')
user=$(evt-fold users "$author") || exit 8
case $user in *'"version":0}') echo "no such user: $author" >&2; exit 1 ;; esac
echo '{"type":"postCreated"}'
EOF
	chmod +x post.sh
	run -0 --separate-stderr evt-command -d "$store" --events-table ev2 posts p1 create '{"author":"u1"}' -- ./post.sh
	[ "$stderr" = "" ]
	[ "$output" = '{"aggregateId":"p1","version":1}' ]
	run -5 --separate-stderr evt-command -d "$store" --events-table ev2 posts p2 create '{"author":"u2"}' -- ./post.sh
	same "$stderr" "no such user: u2
evt-command: './post.sh' exited with status 1"
}

@test "fold options: --jq, --jq-file, --exec, --init, --persist" {
	user_program
	evt-command users u1 create '{"name":"ann"}' -- ./user.sh
	printf '%s\n' "$USER_JQ" >user.jq
	run -0 --separate-stderr evt-command --jq-file user.jq --init '{"name":"","enabled":false}' users u1 disable -- ./user.sh
	[ "$output" = '{"name":"ann","enabled":false,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evt-command --exec 'while read -r l; do echo "{\"n\":1}"; done' users u1 x -- true
	[ "$output" = '{"n":1,"aggregateId":"u1","version":2}' ]
	run -0 --separate-stderr evt-command --persist k --jq "$USER_JQ" users u1 enable -- ./user.sh
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr db_sql "SELECT $KEY_COL, version, position FROM events_snapshots"
	[ "$output" = "k|3|3" ]
	run -0 --separate-stderr evt-fold --persist k --jq "$USER_JQ" users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -2 --separate-stderr evt-command --jq '{' users u1 x -- true
	same "$stderr" "evt-command: jq: error: syntax error, unexpected \$end (Unix shell quoting issues?) at <top-level>, line 1:
{"
	run -4 --separate-stderr evt-command --jq '[.]' users u1 x -- true
	[ "$stderr" = "evt-command: position 1: jq program answered an array, not an object or null" ]
	run -5 --separate-stderr evt-command --exec 'exit 2' users u1 x -- true
	[ "$stderr" = "evt-command: position 1: reducer 'exit 2' exited with status 2" ]
	run -2 --separate-stderr evt-command --init 1 users u1 x -- true
	[ "$stderr" = "evt-command: invalid --init: not a JSON object" ]
}

@test "--timeout SECONDS: a program past it is stopped, exit 5 naming the timeout, nothing appended" {
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-command --timeout 0.3 users u1 go -- sleep 10
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: 'sleep' timed out after 0.3 s" ]
	# events printed before it do not count
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-command --timeout 0.3 users u1 go -- sh -c 'echo "{\"type\":\"a\"}"; exec sleep 10'
	[ "$stderr" = "evt-command: 'sh' timed out after 0.3 s" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
	# the --exec reducer has the same limit
	evt-append -q users u1 '{"type":"a"}'
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-command --timeout 0.3 --exec 'read -r l; exec sleep 10' users u1 go -- true
	[ "$stderr" = "evt-command: position 1: reducer 'read -r l; exec sleep 10' timed out after 0.3 s" ]
	# within the time
	run -0 --separate-stderr evt-command --timeout 10 --exec 'while read -r l; do echo null; done' users u1 go -- echo '{"type":"b"}'
	[ "$output" = '{"aggregateId":"u1","version":2}' ]
	run -2 --separate-stderr evt-command --timeout 0 users u1 go -- true
	[ "$stderr" = "evt-command: invalid --timeout '0': expected seconds above 0 and at most 2147483, such as 2.5" ]
}

@test "on a terminal, a program silent for 3 s is noted on stderr" {
	command -v script >/dev/null || skip "script(1) not installed"
	run -5 script -qec "evt-command --timeout 3.5 users u1 go -- sleep 10" /dev/null
	same "$output" "evt-command: waiting for 'sleep' to exit"$'\r'"
evt-command: 'sleep' timed out after 3.5 s"$'\r'
}

@test "options may follow the arguments; the program's own options are its own" {
	run -0 --separate-stderr evt-command users u1 go --init '{"a":1}' --retries 1 -- sh -c 'cat >/dev/null; echo "{\"type\":\"t\"}"' --init
	[ "$output" = '{"a":1,"aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr evt-command --persist -- users u1 go -- true
	[ "$output" = '{"aggregateId":"u1","version":1}' ]
	run -0 --separate-stderr db_sql "SELECT $KEY_COL FROM events_snapshots"
	[ "$output" = "--" ]
}

@test "usage errors are exit 2" {
	run -2 --separate-stderr evt-command users u1 go
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: expected -- PROGRAM (see evt-command --help)" ]
	run -2 --separate-stderr evt-command users u1 go --
	[ "$stderr" = "evt-command: '--' needs a PROGRAM after it" ]
	run -2 --separate-stderr evt-command users u1 -- true
	[ "$stderr" = "evt-command: expected STREAM ID COMMAND (see evt-command --help)" ]
	run -2 --separate-stderr evt-command users u1 go '{}' x -- true
	[ "$stderr" = "evt-command: too many arguments before '--' (see evt-command --help)" ]
	run -2 --separate-stderr evt-command --retries -1 users u1 go -- true
	[ "$stderr" = "evt-command: invalid --retries '-1': expected a whole number from 0 to 1000000" ]
	run -2 --separate-stderr evt-command --nope users u1 go -- true
	[ "$stderr" = "evt-command: unknown option '--nope'" ]
	run -2 --separate-stderr evt-command --jq . --exec cat users u1 go -- true
	[ "$stderr" = "evt-command: use one reducer: --jq, --jq-file or --exec" ]
	run -2 --separate-stderr evt-command '' u1 go -- true
	[ "$stderr" = "evt-command: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-command users '' go -- true
	[ "$stderr" = "evt-command: invalid aggregate id '': is empty" ]
	run -2 --separate-stderr evt-command users u1 '' -- true
	[ "$stderr" = "evt-command: invalid COMMAND '': is empty" ]
	run -2 --separate-stderr evt-command --persist '' users u1 go -- true
	[ "$stderr" = "evt-command: invalid --persist key '': is empty" ]
	[ ! -e events.db ]
}

@test "a write error on stdout is exit 1; the events are appended" {
	run -1 --separate-stderr to_full evt-command users u1 go -- echo '{"type":"t"}'
	[ "$stderr" = "evt-command: write error: No space left on device" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "an unpaired surrogate escape in BODY or in the events printed is refused" {
	run -2 --separate-stderr evt-command users u1 go '{"a":"\ud800"}' -- cat
	[ "$stderr" = 'evt-command: invalid BODY: invalid JSON at column 7: unpaired surrogate in \u escape' ]
	run -4 --separate-stderr evt-command users u1 go -- echo '{"type":"x","a":"\udc00"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: 'echo' printed an invalid event: line 1: invalid JSON at column 18: unpaired surrogate in \\u escape" ]
	run -4 --separate-stderr evt-command users u1 go -- echo '[{"type":"x","a":"\ud800x"}]'
	[ "$stderr" = "evt-command: 'echo' printed invalid JSON at column 19: unpaired surrogate in \\u escape" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
}

@test "a stream name with ',' is exit 4" {
	run -4 --separate-stderr evt-command 'users,posts' u1 go -- echo '{"type":"a"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-command: invalid stream 'users,posts': contains ',' (it separates STREAM lists)" ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

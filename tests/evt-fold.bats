#!/usr/bin/env bats
# evt-fold: fold an aggregate's events into its current state.

# backends: sqlite pg my

load test_helper

# The README user aggregate and a few more, with known timestamps:
#   1 users/u1 v1 created      4 users/u1 v2 disabled
#   2 users/u2 v1 created      5 posts/p1 v2 published
#   3 posts/p1 v1 created      6 users/u1 v3 enabled
fixture() {
	cat >fixture.ndjson <<'EOF'
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"created","name":"ann","enabled":true}}
{"stream":"users","aggregateId":"u2","timestamp":"2020-01-02T03:04:06.000Z","event":{"type":"created","name":"bob","enabled":true}}
{"stream":"posts","aggregateId":"p1","timestamp":"2020-01-02T03:04:07.000Z","event":{"type":"created","title":"hi"}}
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:08.000Z","event":{"type":"disabled","enabled":false}}
{"stream":"posts","aggregateId":"p1","timestamp":"2020-01-02T03:04:09.000Z","event":{"type":"published","at":1}}
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:10.000Z","event":{"type":"enabled","enabled":true}}
EOF
	evt-append -q --records "$@" <fixture.ndjson
}

# The jq fold of the README user aggregate (evtstore's fold function).
USER_JQ=$(cat "$EVT_FIXTURES/user.jq")

# --- merge, the default reducer ------------------------------------------------

@test "merge: the event less its type, shallow, keys in order of first appearance" {
	fixture
	run -0 --separate-stderr evt-fold users u1
	[ "$stderr" = "" ]
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr evt-fold posts p1
	[ "$output" = '{"title":"hi","at":1,"aggregateId":"p1","version":2}' ]
}

@test "merge keeps values exactly: numbers, escapes, nested key order, duplicates" {
	evt-append -q s a '{"type":"t","n":12345678901234567890,"f":0.10,"e":1e400,"s":"a\u00e9\"\\/","o":{"z":1,"a":[1, 2 ,{"b":null}]}}'
	evt-append -q s a '{"type":"t","d":1,"d":2,"f":-0.0E+1}'
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"n":12345678901234567890,"f":-0.0E+1,"e":1e400,"s":"a\u00e9\"\\/","o":{"z":1,"a":[1,2,{"b":null}]},"d":2,"aggregateId":"a","version":2}' ]
}

@test "merge: nested objects are replaced, not merged" {
	evt-append -q s a '{"type":"t","o":{"a":1,"b":2}}' '{"type":"t","o":{"c":3}}'
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"o":{"c":3},"aggregateId":"a","version":2}' ]
}

@test "merge drops type and evtstore's __persisted; aggregateId and version are the fold's" {
	evt-append -q s a '{"type":"t","aggregateId":"x","version":99,"__persisted":{"__pv":"1"},"k":1}'
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"k":1,"aggregateId":"a","version":1}' ]
	run -0 --separate-stderr evt-fold --init '{"version":7,"aggregateId":"y","z":0}' s a
	[ "$output" = '{"z":0,"k":1,"aggregateId":"a","version":1}' ]
}

@test "keys written with escapes are the same key, printed plainly" {
	evt-append -q s a '{"type":"t","ab":1,"\u00e9":1}' '{"type":"t","\u0061b":2,"é":2,"\"":3}'
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"ab":2,"é":2,"\"":3,"aggregateId":"a","version":2}' ]
}

@test "an aggregate with no events is its init with version 0" {
	fixture
	run -0 --separate-stderr evt-fold users nobody
	[ "$output" = '{"aggregateId":"nobody","version":0}' ]
	run -0 --separate-stderr evt-fold --init '{"name":"","enabled":false}' users nobody
	[ "$output" = '{"name":"","enabled":false,"aggregateId":"nobody","version":0}' ]
}

@test "--init is the aggregate before the first event" {
	fixture
	run -0 --separate-stderr evt-fold --init '{ "enabled" : false, "roles" : [ ], "n": 1.0 }' users u2
	[ "$output" = '{"enabled":true,"roles":[],"n":1.0,"name":"bob","aggregateId":"u2","version":1}' ]
}

@test "ids and streams with quotes and UTF-8 are printed as JSON strings" {
	evt-append -q 's"1' 'Zoë "b\ob"' '{"type":"t","k":1}'
	run -0 --separate-stderr evt-fold 's"1' 'Zoë "b\ob"'
	[ "$output" = '{"k":1,"aggregateId":"Zoë \"b\\ob\"","version":1}' ]
}

@test "an event that is not a JSON object is exit 4 naming its position" {
	evt-append -q s a '{"type":"t","k":1}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES
		(2, 's', 'a', '$TS_SQL', '[1]'),
		(3, 's', 'a', '$TS_SQL', '{\"type\":')"
	run -4 --separate-stderr evt-fold s a
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 2: event is not a JSON object" ]
	db_sql "DELETE FROM events WHERE version = 2"
	run -4 --separate-stderr evt-fold --all s
	[ "$stderr" = "evt-fold: position 3: event is invalid JSON at column 9: unexpected end of input" ]
}

@test "events are folded in version order" {
	evt-append -q s a '{"type":"t","k":1}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES
		(3, 's', 'a', '$TS_SQL', '{\"type\":\"t\",\"k\":3}'),
		(2, 's', 'a', '$TS_SQL', '{\"type\":\"t\",\"k\":2,\"j\":2}')"
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"k":3,"j":2,"aggregateId":"a","version":3}' ]
}

# --- --all and stdin ---------------------------------------------------------------

@test "--all STREAM: every aggregate of the stream, in order of first appearance" {
	fixture
	run -0 --separate-stderr evt-fold --all users
	[ "$stderr" = "" ]
	same "$output" '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}
{"name":"bob","enabled":true,"aggregateId":"u2","version":1}'
	run -0 --separate-stderr evt-fold --init '{"n":0}' --all posts
	[ "$output" = '{"n":0,"title":"hi","at":1,"aggregateId":"p1","version":2}' ]
	run -0 --separate-stderr evt-fold --all nope
	[ "$output" = "" ]
	[ "$stderr" = "" ]
}

@test "stdin: records grouped by stream and aggregate, in order of first appearance" {
	fixture
	evt-read >records
	run -0 --separate-stderr evt-fold <records
	[ "$stderr" = "" ]
	same "$output" '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}
{"name":"bob","enabled":true,"aggregateId":"u2","version":1}
{"title":"hi","at":1,"aggregateId":"p1","version":2}'
	# the same id in two streams is two aggregates
	printf '%s\n' '{"stream":"a","aggregateId":"x","event":{"type":"t","k":1}}' \
		'{"stream":"b","aggregateId":"x","event":{"type":"t","k":2}}' \
		'{"stream":"a","aggregateId":"x","event":{"type":"t","j":3}}' >in
	run -0 --separate-stderr evt-fold <in
	same "$output" '{"k":1,"j":3,"aggregateId":"x","version":2}
{"k":2,"aggregateId":"x","version":1}'
}

@test "stdin: versions given are kept, missing ones count on; blank lines and CRLF are fine" {
	printf '\n{"stream":"s","aggregateId":"a","version":5,"event":{"type":"t","k":1}}\r\n  \n{"stream":"s","aggregateId":"a","event":{"type":"t","k":2}}' >in
	run -0 --separate-stderr evt-fold <in
	[ "$output" = '{"k":2,"aggregateId":"a","version":6}' ]
	run -0 --separate-stderr evt-fold </dev/null
	[ "$output" = "" ]
	[ "$stderr" = "" ]
}

@test "--scan prints the aggregate after every event" {
	fixture
	evt-read users >records
	run -0 --separate-stderr evt-fold --scan <records
	same "$output" '{"name":"ann","enabled":true,"aggregateId":"u1","version":1}
{"name":"bob","enabled":true,"aggregateId":"u2","version":1}
{"name":"ann","enabled":false,"aggregateId":"u1","version":2}
{"name":"ann","enabled":true,"aggregateId":"u1","version":3}'
	run -0 --separate-stderr evt-fold --scan users u1
	same "$output" '{"name":"ann","enabled":true,"aggregateId":"u1","version":1}
{"name":"ann","enabled":false,"aggregateId":"u1","version":2}
{"name":"ann","enabled":true,"aggregateId":"u1","version":3}'
	run -0 --separate-stderr evt-fold --scan --all posts
	same "$output" '{"title":"hi","aggregateId":"p1","version":1}
{"title":"hi","at":1,"aggregateId":"p1","version":2}'
}

@test "stdin: a bad record is exit 4 naming its line" {
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"type":"t"}}' '{"aggregateId":"a","event":{"type":"t"}}' >in
	run -4 --separate-stderr evt-fold <in
	[ "$output" = "" ]
	[ "$stderr" = 'evt-fold: <stdin>:2: record has no string "stream"' ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"k":1}}' >in
	run -4 --separate-stderr evt-fold <in
	[ "$stderr" = 'evt-fold: <stdin>:1: event has no string "type"' ]
	printf '%s\n' '{"stream":"s",' >in
	run -4 --separate-stderr evt-fold --scan <in
	[ "$stderr" = 'evt-fold: <stdin>:1: invalid JSON at column 15: unexpected end of input' ]
}

# --- jq ---------------------------------------------------------------------------

@test "--jq: the README user aggregate" {
	fixture
	run -0 --separate-stderr evt-fold --jq "$USER_JQ" --init '{"name":"","enabled":false}' users u1
	[ "$stderr" = "" ]
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr evt-fold --jq "$USER_JQ" --init '{"name":"","enabled":false}' --all users
	same "$output" '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}
{"name":"bob","enabled":true,"aggregateId":"u2","version":1}'
}

@test "--jq: \$agg is the aggregate so far, \$meta the record without its event" {
	fixture
	run -0 --separate-stderr evt-fold --jq '{seen: (($agg.seen // []) + [[$agg.version, $agg.aggregateId, .type]]), meta: $meta}' users u1
	[ "$output" = '{"seen":[[0,"u1","created"],[1,"u1","disabled"],[2,"u1","enabled"]],"meta":{"position":6,"stream":"users","aggregateId":"u1","version":3,"timestamp":"2020-01-02T03:04:10.000Z"},"aggregateId":"u1","version":3}' ]
	evt-read users u1 >records
	run -0 --separate-stderr evt-fold --jq '{meta: $meta}' <records
	[ "$output" = '{"meta":{"position":6,"stream":"users","aggregateId":"u1","version":3,"timestamp":"2020-01-02T03:04:10.000Z"},"aggregateId":"u1","version":3}' ]
}

@test "--jq with --scan, --all and stdin: each aggregate keeps its own \$agg" {
	fixture
	jq='{n: (($agg.n // 0) + 1), id: $agg.aggregateId}'
	run -0 --separate-stderr evt-fold --scan --jq "$jq" --all users
	same "$output" '{"n":1,"id":"u1","aggregateId":"u1","version":1}
{"n":1,"id":"u2","aggregateId":"u2","version":1}
{"n":2,"id":"u1","aggregateId":"u1","version":2}
{"n":3,"id":"u1","aggregateId":"u1","version":3}'
	evt-read >records
	run -0 --separate-stderr evt-fold --jq "$jq" <records
	same "$output" '{"n":3,"id":"u1","aggregateId":"u1","version":3}
{"n":1,"id":"u2","aggregateId":"u2","version":1}
{"n":2,"id":"p1","aggregateId":"p1","version":2}'
}

@test "--jq: every output is merged in order, null is ignored" {
	evt-append -q s a '{"type":"t","k":1}'
	run -0 --separate-stderr evt-fold --jq '{a: 1, b: 1}, null, {b: 2}, empty' s a
	[ "$output" = '{"a":1,"b":2,"aggregateId":"a","version":1}' ]
	run -0 --separate-stderr evt-fold --jq 'null' --init '{"x":0.10}' s a
	[ "$output" = '{"x":0.10,"aggregateId":"a","version":1}' ]
}

@test "--jq: values the program sets are jq's, values it leaves stay exact" {
	evt-append -q s a '{"type":"t","big":12345678901234567890,"keep":0.10}' '{"type":"u"}'
	run -0 --separate-stderr evt-fold --jq 'if .type == "t" then {keep} else {t: .type} end' --init '{"init":1.50}' s a
	[ "$output" = '{"init":1.50,"keep":0.1,"t":"u","aggregateId":"a","version":2}' ]
}

@test "--jq: an answer that is not an object or null is exit 4 naming the position" {
	fixture
	run -4 --separate-stderr evt-fold --jq 'if .type == "disabled" then [1] else {} end' users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 4: jq program answered an array, not an object or null" ]
	run -4 --separate-stderr evt-fold --jq '.type' --all users
	[ "$stderr" = "evt-fold: position 1: jq program answered a string, not an object or null" ]
	evt-read users u1 >records
	run -4 --separate-stderr evt-fold --jq '$meta.version' <records
	[ "$stderr" = "evt-fold: <stdin>:1: jq program answered a number, not an object or null" ]
	run -4 --separate-stderr evt-fold --jq 'true' users u1
	[ "$stderr" = "evt-fold: position 1: jq program answered a boolean, not an object or null" ]
}

@test "--jq: a program that does not compile is exit 2 with jq's message" {
	fixture
	run -2 --separate-stderr evt-fold --jq '{a: }' users u1
	[ "$output" = "" ]
	same "$stderr" "evt-fold: jq: error: syntax error, unexpected '}' (Unix shell quoting issues?) at <top-level>, line 1:
{a: }"
	run -2 --separate-stderr evt-fold --jq 'nosuchfn' users u1
	same "$stderr" "evt-fold: jq: error: nosuchfn/0 is not defined at <top-level>, line 1:
nosuchfn"
	run -2 --separate-stderr evt-fold --jq '$nope' users u1
	same "$stderr" "evt-fold: jq: error: \$nope is not defined at <top-level>, line 1:
\$nope"
	run -2 --separate-stderr evt-fold --jq '' users u1
	[ "$stderr" = "evt-fold: jq program is empty" ]
}

@test "--jq: a runtime error is exit 4 naming the position" {
	fixture
	run -4 --separate-stderr evt-fold --jq 'if .type == "disabled" then error("no \(.type)") else {} end' users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 4: jq error: no disabled" ]
	run -4 --separate-stderr evt-fold --jq '{a: (.name + 1)}' users u1
	[ "$stderr" = "evt-fold: position 1: jq error: string (\"ann\") and number (1) cannot be added" ]
	run -4 --separate-stderr evt-fold --jq 'error({a: 1})' users u1
	[ "$stderr" = 'evt-fold: position 1: jq error (not a string): {"a":1}' ]
}

@test "--jq-file reads the program from a file; comments and defs work" {
	fixture
	printf '# the user aggregate\ndef on(t): .type == t;\nif on("created") then {name} else {enabled: on("enabled")} end # end\n' >user.jq
	run -0 --separate-stderr evt-fold --jq-file user.jq users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -2 --separate-stderr evt-fold --jq-file nope.jq users u1
	[ "$stderr" = "evt-fold: cannot open 'nope.jq': No such file or directory" ]
	printf '{a:\n' >bad.jq
	run -2 --separate-stderr evt-fold --jq-file bad.jq users u1
	same "$stderr" "evt-fold: jq: error: syntax error, unexpected \$end (Unix shell quoting issues?) at <top-level>, line 1:
{a:"
}

# --- exec -------------------------------------------------------------------------

@test "--exec: one co-process, a line in and a patch out per event" {
	fixture
	cat >reducer.sh <<'EOF'
echo start >>starts
while IFS= read -r line; do
	printf '%s\n' "$line" >>seen
	case $line in
	*'"type":"created"'*) echo '{"name":"created","n":1.50}' ;;
	*'"type":"disabled"'*) echo 'null' ;;
	*) echo '{"last":true}' ;;
	esac
done
EOF
	run -0 --separate-stderr evt-fold --exec 'sh reducer.sh' users u1
	[ "$stderr" = "" ]
	[ "$output" = '{"name":"created","n":1.50,"last":true,"aggregateId":"u1","version":3}' ]
	[ "$(cat starts)" = start ]
	same "$(cat seen)" '{"event":{"type":"created","name":"ann","enabled":true},"aggregate":{"aggregateId":"u1","version":0},"meta":{"position":1,"stream":"users","aggregateId":"u1","version":1,"timestamp":"2020-01-02T03:04:05.678Z"}}
{"event":{"type":"disabled","enabled":false},"aggregate":{"name":"created","n":1.50,"aggregateId":"u1","version":1},"meta":{"position":4,"stream":"users","aggregateId":"u1","version":2,"timestamp":"2020-01-02T03:04:08.000Z"}}
{"event":{"type":"enabled","enabled":true},"aggregate":{"name":"created","n":1.50,"aggregateId":"u1","version":2},"meta":{"position":6,"stream":"users","aggregateId":"u1","version":3,"timestamp":"2020-01-02T03:04:10.000Z"}}'
	rm starts
	run -0 --separate-stderr evt-fold --exec 'sh reducer.sh' --all users
	same "$output" '{"name":"created","n":1.50,"last":true,"aggregateId":"u1","version":3}
{"name":"created","n":1.50,"aggregateId":"u2","version":1}'
	[ "$(cat starts)" = start ]
}

@test "--exec: no events, no co-process" {
	fixture
	run -0 --separate-stderr evt-fold --exec 'echo start >starts' --init '{"a":1}' s nobody
	[ "$output" = '{"a":1,"aggregateId":"nobody","version":0}' ]
	[ ! -e starts ]
}

@test "--exec: a reducer that dies is exit 5 with its status" {
	fixture
	run -5 --separate-stderr evt-fold --exec 'read -r line; echo "{}"; read -r line; echo oops >&2; exit 3' users u1
	[ "$output" = "" ]
	same "$stderr" "oops
evt-fold: position 4: reducer 'read -r line; echo \"{}\"; read -r line; echo oops >&2; exit 3' exited with status 3"
	run -5 --separate-stderr evt-fold --exec 'kill -9 $$' users u1
	[ "$stderr" = "evt-fold: position 1: reducer 'kill -9 \$\$' was killed by signal 9 (Killed)" ]
	run -5 --separate-stderr evt-fold --exec 'exit 0' users u1
	[ "$stderr" = "evt-fold: position 1: reducer 'exit 0' exited with status 0 before answering" ]
	run -5 --separate-stderr evt-fold --exec 'while read -r l; do echo null; done; exit 7' users u1
	[ "$stderr" = "evt-fold: reducer 'while read -r l; do echo null; done; exit 7' exited with status 7" ]
	run -5 --separate-stderr evt-fold --exec 'nosuchcommand' users u1
	[ "$stderr" = "/bin/sh: 1: nosuchcommand: not found
evt-fold: position 1: reducer 'nosuchcommand' exited with status 127" ]
	printf '#!/bin/sh\r\ncat\r\n' >crlf.sh
	chmod +x crlf.sh
	run -5 --separate-stderr evt-fold --exec ./crlf.sh users u1
	[ "$stderr" = "/bin/sh: 1: ./crlf.sh: not found
evt-fold: position 1: reducer './crlf.sh' exited with status 127 (its #! line ends in CR: CRLF line ends)" ]
}

@test "--exec --timeout SECONDS: a reducer that does not answer is stopped, exit 5 naming the timeout" {
	fixture
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-fold --timeout 0.3 --exec 'read -r l; exec sleep 10' users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 1: reducer 'read -r l; exec sleep 10' timed out after 0.3 s" ]
	# the time counts from its start, also while it does not read
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-fold --timeout 0.3 --exec 'exec sleep 10' --init "{\"pad\":\"$(head -c 100000 /dev/zero | tr '\0' x)\"}" users u1
	[ "$stderr" = "evt-fold: position 1: reducer 'exec sleep 10' timed out after 0.3 s" ]
	# and after the last answer, until it exits
	run -5 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-fold --timeout 0.3 --exec 'while read -r l; do echo null; done; exec sleep 10' --all users
	[ "$stderr" = "evt-fold: reducer 'while read -r l; do echo null; done; exec sleep 10' timed out after 0.3 s" ]
	# a reducer within its time
	run -0 --separate-stderr evt-fold --timeout 10 --exec 'while read -r l; do echo "{\"n\":1}"; done' users u1
	[ "$output" = '{"n":1,"aggregateId":"u1","version":3}' ]
}

@test "--exec --timeout: a reducer that outlives SIGTERM gets SIGKILL 5 s later" {
	fixture
	t0=$(date +%s)
	run -5 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-fold --timeout 0.2 --exec 'trap "" TERM; read -r l; while :; do sleep 0.1; done' users u1
	t1=$(date +%s)
	[ "$stderr" = "evt-fold: position 1: reducer 'trap \"\" TERM; read -r l; while :; do sleep 0.1; done' timed out after 0.2 s" ]
	[ $((t1 - t0)) -ge 5 ]
}

@test "--timeout works with --exec only; bad values are exit 2" {
	run -2 --separate-stderr evt-fold --timeout 1 users u1
	[ "$stderr" = "evt-fold: --timeout works with --exec only" ]
	run -2 --separate-stderr evt-fold --timeout 1 --jq . users u1
	[ "$stderr" = "evt-fold: --timeout works with --exec only" ]
	for v in x 0 -1 ''; do
		run -2 --separate-stderr evt-fold --timeout "$v" --exec cat users u1
		[ "$stderr" = "evt-fold: invalid --timeout '$v': expected seconds above 0 and at most 2147483, such as 2.5" ]
	done
}

@test "--exec on a terminal: a reducer silent for 3 s is noted on stderr" {
	command -v script >/dev/null || skip "script(1) not installed"
	fixture
	run -5 script -qec "evt-fold --timeout 3.5 --exec 'read -r l; exec sleep 10' users u1" /dev/null
	same "$output" "evt-fold: waiting for reducer 'read -r l; exec sleep 10' (is its output buffered?)"$'\r'"
evt-fold: position 1: reducer 'read -r l; exec sleep 10' timed out after 3.5 s"$'\r'
	# not when stderr is not a terminal
	run -5 --separate-stderr evt-fold --timeout 3.5 --exec 'read -r l; exec sleep 10' users u1
	[ "$stderr" = "evt-fold: position 1: reducer 'read -r l; exec sleep 10' timed out after 3.5 s" ]
}

@test "--exec: a bad answer is exit 4 naming the position" {
	fixture
	run -4 --separate-stderr evt-fold --exec 'while read -r l; do echo "[1]"; done' users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 1: reducer 'while read -r l; do echo \"[1]\"; done' answered an array, not an object or null" ]
	run -4 --separate-stderr evt-fold --exec 'read -r l; echo "{}"; read -r l; echo "{"' users u1
	[ "$stderr" = "evt-fold: position 4: reducer 'read -r l; echo \"{}\"; read -r l; echo \"{\"' answered invalid JSON (column 2: unexpected end of input)" ]
	run -4 --separate-stderr evt-fold --exec 'while read -r l; do echo; done' users u1
	[ "$stderr" = "evt-fold: position 1: reducer 'while read -r l; do echo; done' answered an empty line" ]
	run -4 --separate-stderr evt-fold --exec 'while read -r l; do echo null; echo null; done' users u1
	[ "$stderr" = "evt-fold: reducer 'while read -r l; do echo null; echo null; done' answered more lines than it was given" ]
}

# --- --persist ----------------------------------------------------------------------

# A reducer that logs the versions it is given to the file seen, and
# answers {"vN":1}.  An argument changes the command, not what it does.
logger() {
	cat >logger.sh <<'EOF'
while IFS= read -r l; do
	v=$(printf '%s\n' "$l" | sed 's/.*"meta":{"position":[0-9]*,"stream":"[^"]*","aggregateId":"[^"]*","version":\([0-9]*\).*/\1/')
	echo "$v" >>seen
	echo "{\"v$v\":1}"
done
EOF
}

@test "--persist: the next fold starts from the snapshot and folds only later events" {
	fixture
	logger
	run -0 --separate-stderr evt-fold --persist k1 --exec "sh logger.sh" users u1
	first=$output
	[ "$(cat seen | tr '\n' ' ')" = "1 2 3 " ]
	run -0 --separate-stderr db_sql "SELECT stream, aggregate_id, $KEY_COL, version, position FROM events_snapshots"
	[ "$output" = "users|u1|k1|3|6" ]
	rm seen
	run -0 --separate-stderr evt-fold --persist k1 --exec "sh logger.sh" users u1
	[ "$output" = "$first" ]
	[ ! -e seen ]
	evt-append -q users u1 '{"type":"renamed","name":"cy"}'
	run -0 --separate-stderr evt-fold --persist k1 --exec "sh logger.sh" users u1
	[ "$output" = '{"v1":1,"v2":1,"v3":1,"v4":1,"aggregateId":"u1","version":4}' ]
	[ "$(cat seen)" = "4" ]
	run -0 --separate-stderr evt-fold --exec "sh logger.sh" users u1
	[ "$output" = '{"v1":1,"v2":1,"v3":1,"v4":1,"aggregateId":"u1","version":4}' ]
}

@test "--persist: another KEY, reducer or --init folds from the start and replaces it" {
	fixture
	logger
	evt-fold --persist k1 --exec "sh logger.sh" users u1
	rm seen
	run -0 --separate-stderr evt-fold --persist k2 --exec "sh logger.sh" users u1
	[ "$(cat seen | tr '\n' ' ')" = "1 2 3 " ]
	run -0 --separate-stderr db_sql "SELECT $KEY_COL, version FROM events_snapshots"
	[ "$output" = "k2|3" ]
	rm seen
	run -0 --separate-stderr evt-fold --persist k2 --exec "sh logger.sh x" users u1
	[ "$(cat seen | tr '\n' ' ')" = "1 2 3 " ]
	rm seen
	run -0 --separate-stderr evt-fold --persist k2 --exec "sh logger.sh x" --init '{"a":1}' users u1
	[ "$output" = '{"a":1,"v1":1,"v2":1,"v3":1,"aggregateId":"u1","version":3}' ]
	[ "$(cat seen | tr '\n' ' ')" = "1 2 3 " ]
	run -0 --separate-stderr evt-fold --persist k2 users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
}

@test "--persist with --exec: an edited reducer script folds from the start, an unchanged one resumes" {
	fixture
	logger
	run -0 --separate-stderr evt-fold --persist k --exec "sh logger.sh" users u1
	[ "$output" = '{"v1":1,"v2":1,"v3":1,"aggregateId":"u1","version":3}' ]
	rm seen
	# unchanged: the snapshot is used, no event is folded again
	run -0 --separate-stderr evt-fold --persist k --exec "sh logger.sh" users u1
	[ "$output" = '{"v1":1,"v2":1,"v3":1,"aggregateId":"u1","version":3}' ]
	[ ! -e seen ]
	# edited, under the same KEY: folded from the start
	sed -i 's/"{\\"v/"{\\"w/' logger.sh
	run -0 --separate-stderr evt-fold --persist k --exec "sh logger.sh" users u1
	[ "$output" = '{"w1":1,"w2":1,"w3":1,"aggregateId":"u1","version":3}' ]
	[ "$(cat seen | tr '\n' ' ')" = "1 2 3 " ]
	# an executable script named by path, quoted or not
	cp logger.sh run.sh
	chmod +x run.sh
	run -0 --separate-stderr evt-fold --persist k2 --exec "'./run.sh'" users u1
	[ "$output" = '{"w1":1,"w2":1,"w3":1,"aggregateId":"u1","version":3}' ]
	sed -i 's/"{\\"w/"{\\"x/' run.sh
	run -0 --separate-stderr evt-fold --persist k2 --exec "'./run.sh'" users u1
	[ "$output" = '{"x1":1,"x2":1,"x3":1,"aggregateId":"u1","version":3}' ]
	# a script found in PATH
	mkdir bin
	cp run.sh bin/myfold
	run -0 --separate-stderr env PATH="$PWD/bin:$PATH" evt-fold --persist k3 --exec myfold users u1
	[ "$output" = '{"x1":1,"x2":1,"x3":1,"aggregateId":"u1","version":3}' ]
	sed -i 's/"{\\"x/"{\\"y/' bin/myfold
	run -0 --separate-stderr env PATH="$PWD/bin:$PATH" evt-fold --persist k3 --exec myfold users u1
	[ "$output" = '{"y1":1,"y2":1,"y3":1,"aggregateId":"u1","version":3}' ]
}

@test "--persist: a snapshot that does not match the store is not used" {
	fixture
	evt-fold --persist k1 users u1
	db_sql "UPDATE events_snapshots SET position = 2,
		state = replace(state, '\"ann\"', '\"wrong\"')"
	run -0 --separate-stderr evt-fold --persist k1 users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	db_sql "UPDATE events_snapshots SET state = 'garbage'"
	run -0 --separate-stderr evt-fold --persist k1 users u1
	[ "$output" = '{"name":"ann","enabled":true,"aggregateId":"u1","version":3}' ]
	run -0 --separate-stderr db_sql "SELECT version, position FROM events_snapshots"
	[ "$output" = "3|6" ]
}

@test "--persist: an aggregate with no events writes no snapshot; a store without tables reads as empty" {
	db_sql "CREATE TABLE t (x integer)"
	run -0 --separate-stderr evt-fold --persist k1 users u1
	[ "$output" = '{"aggregateId":"u1","version":0}' ]
	[ "$(db_tables)" = t ]
}

@test "--persist: random histories fold the same with and without it" {
	RANDOM=7
	keys=(a b c "d\\u0065" n)
	vals=(1 0.10 12345678901234567890 '"x"' '"\u00e9"' null true '[1,{"b":2}]' '{"z":{"y":1}}' -1e-7)
	jq='{count: (($agg.count // 0) + 1), last: .type} + (if .k then {k: .k} else {} end)'
	for round in $(seq 25); do
		for n in $(seq $((RANDOM % 3 + 1))); do
			id=u$((RANDOM % 3))
			ev="{\"type\":\"t$((RANDOM % 4))\""
			for m in $(seq $((RANDOM % 3))); do
				ev="$ev,\"${keys[RANDOM % 5]}\":${vals[RANDOM % 10]}"
			done
			evt-append -q users "$id" "$ev}"
		done
		for id in u0 u1 u2; do
			plain=$(evt-fold --init '{"count":0}' users "$id")
			kept=$(evt-fold --init '{"count":0}' --persist m users "$id")
			same "$kept" "$plain"
			if [ $((round % 5)) = 0 ]; then
				plain=$(evt-fold --jq "$jq" users "$id")
				kept=$(evt-fold --jq "$jq" --persist j users "$id")
				same "$kept" "$plain"
			fi
		done
	done
	run -0 --separate-stderr db_sql "SELECT count(*) FROM events_snapshots"
	[ "$output" = 3 ]
}

# --- store, output and usage ------------------------------------------------------------

@test "-d, EVT_DB and --events-table pick the store" {
	fixture -d a.db --events-table ev
	run -0 --separate-stderr evt-fold -d a.db --events-table ev users u2
	[ "$output" = '{"name":"bob","enabled":true,"aggregateId":"u2","version":1}' ]
	EVT_DB=a.db EVT_EVENTS_TABLE=ev run -0 --separate-stderr evt-fold --all posts
	[ "$output" = '{"title":"hi","at":1,"aggregateId":"p1","version":2}' ]
	run -0 --separate-stderr evt-fold -d a.db users u2
	[ "$output" = '{"aggregateId":"u2","version":0}' ]
}

@test "a missing store is exit 1 and is not created" {
	run -1 --separate-stderr evt-fold -d x.db users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: cannot open 'x.db': no such store" ]
	run -1 --separate-stderr evt-fold -d x.db --all users
	[ "$stderr" = "evt-fold: cannot open 'x.db': no such store" ]
	[ ! -e x.db ]
}

@test "a write error on stdout is exit 1 with a message" {
	fixture
	run -1 --separate-stderr to_full evt-fold users u1
	[ "$stderr" = "evt-fold: write error: No space left on device" ]
	run -1 --separate-stderr to_full evt-fold --all users
	[ "$stderr" = "evt-fold: write error: No space left on device" ]
	evt-read >records
	run -1 --separate-stderr to_full evt-fold --scan <records
	[ "$stderr" = "evt-fold: write error: No space left on device" ]
}

@test "--init must be a JSON object" {
	fixture
	run -2 --separate-stderr evt-fold --init '[]' users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: invalid --init: not a JSON object" ]
	run -2 --separate-stderr evt-fold --init '{"a":' users u1
	[ "$stderr" = "evt-fold: invalid --init: invalid JSON at column 6: unexpected end of input" ]
	run -2 --separate-stderr evt-fold --init '' --all users
	[ "$stderr" = "evt-fold: invalid --init: invalid JSON at column 1: unexpected end of input" ]
}

@test "usage errors are exit 2" {
	fixture
	run -2 --separate-stderr evt-fold --nope users u1
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: unknown option '--nope'" ]
	run -2 --separate-stderr evt-fold --jq
	[ "$stderr" = "evt-fold: option '--jq' needs a value" ]
	run -2 --separate-stderr evt-fold --jq . --exec cat users u1
	[ "$stderr" = "evt-fold: use one reducer: --jq, --jq-file or --exec" ]
	run -2 --separate-stderr evt-fold users
	[ "$stderr" = "evt-fold: expected STREAM and ID (see evt-fold --help)" ]
	run -2 --separate-stderr evt-fold users u1 x
	[ "$stderr" = "evt-fold: too many arguments (see evt-fold --help)" ]
	run -2 --separate-stderr evt-fold --all users u1
	[ "$stderr" = "evt-fold: --all takes no STREAM ID arguments" ]
	run -2 --separate-stderr evt-fold --persist k --all users
	[ "$stderr" = "evt-fold: --persist needs STREAM and ID" ]
	run -2 --separate-stderr evt-fold --persist k --scan users u1
	[ "$stderr" = "evt-fold: --persist and --scan cannot be used together" ]
	run -2 --separate-stderr evt-fold --persist '' users u1
	[ "$stderr" = "evt-fold: invalid --persist key '': is empty" ]
	run -2 --separate-stderr evt-fold '' u1
	[ "$stderr" = "evt-fold: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-fold users ''
	[ "$stderr" = "evt-fold: invalid aggregate id '': is empty" ]
	run -2 --separate-stderr evt-fold --all ''
	[ "$stderr" = "evt-fold: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-fold --events-table 'no-pe' users u1
	[ "$stderr" = "evt-fold: invalid events table 'no-pe': $NAME_RULE" ]
}

@test "--jq: an event jq cannot read is exit 4 naming the position" {
	# an unpaired surrogate escape, stored by another program
	run -0 evt-append -q s b '{"type":"x"}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'a', '$TS_SQL', '{\"type\":\"x\",\"\\ud800\":1}')"
	run -4 --separate-stderr evt-fold --jq . s a
	[ "$stderr" = "evt-fold: position 2: jq cannot read the event: Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 8 (while parsing '\"\\ud800\"')" ]
}

@test "an unpaired surrogate escape is invalid input; one stored by others folds as it is" {
	evt-append -q s a '{"type":"x","n":1}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (2, 's', 'a', '$TS_SQL', '{\"type\":\"y\",\"s\":\"\\ud800\"}')"
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"n":1,"s":"\ud800","aggregateId":"a","version":2}' ]
	run -4 --separate-stderr evt-fold --exec 'while read -r l; do echo "{\"a\":\"\\udc00\"}"; done' s a
	[ "$output" = "" ]
	[ "$stderr" = "evt-fold: position 1: reducer 'while read -r l; do echo \"{\\\"a\\\":\\\"\\\\udc00\\\"}\"; done' answered invalid JSON (column 7: unpaired surrogate in \\u escape)" ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"type":"x","a":"\udfff"}}' >in
	run -4 --separate-stderr evt-fold <in
	[ "$stderr" = 'evt-fold: <stdin>:1: invalid JSON at column 58: unpaired surrogate in \u escape' ]
	run -2 --separate-stderr evt-fold --init '{"a":"\ud800"}' s a
	[ "$stderr" = 'evt-fold: invalid --init: invalid JSON at column 7: unpaired surrogate in \u escape' ]
}

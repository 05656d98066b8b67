#!/usr/bin/env bats
# evt-append: append events to an aggregate, atomically.
# backends: sqlite pg my

load test_helper

# A record as evt-append and evt-read print it, with the timestamp as TS.
rec() {
	printf '{"position":%s,"stream":"%s","aggregateId":"%s","version":%s,"timestamp":"TS","event":%s}' "$@"
}

# --- events from arguments and stdin --------------------------------------

@test "appends EVENT arguments and prints the stored records" {
	run -0 --separate-stderr evt-append users u1 '{"type":"created","name":"ann"}' '{"type":"renamed","name":"bo"}'
	[ "$stderr" = "" ]
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"created","name":"ann"}')
$(rec 2 users u1 2 '{"type":"renamed","name":"bo"}')"
	[[ "$(line 1)" =~ \"timestamp\":\"$TS_RE\", ]]
	appended=$output
	run -0 --separate-stderr evt-read
	same "$output" "$appended"
}

@test "reads one event per line of stdin when no EVENT is given" {
	printf '{"type":"a"}\n{"type":"b"}\n{"type":"c"}\n' >in
	run -0 --separate-stderr evt-append users u1 <in
	[ "$stderr" = "" ]
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')
$(rec 2 users u1 2 '{"type":"b"}')
$(rec 3 users u1 3 '{"type":"c"}')"
}

@test "stdin is not read when EVENT arguments are given" {
	printf '{"type":"from-stdin"}\n' >in
	run -0 --separate-stderr evt-append users u1 '{"type":"from-args"}' <in
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"from-args"}')"
}

@test "versions continue from the aggregate's version; positions are global" {
	evt-append -q users u1 '{"type":"a"}' '{"type":"b"}'
	evt-append -q posts p1 '{"type":"c"}'
	run -0 --separate-stderr evt-append users u1 '{"type":"d"}' '{"type":"e"}'
	same "$(no_ts)" "$(rec 4 users u1 3 '{"type":"d"}')
$(rec 5 users u1 4 '{"type":"e"}')"
	run -0 --separate-stderr evt-append users u2 '{"type":"f"}'
	same "$(no_ts)" "$(rec 6 users u2 1 '{"type":"f"}')"
}

@test "CRLF line ends, blank lines and a last line without a newline" {
	printf '{"type":"a"}\r\n\r\n\n   \n\t\n{"type":"b","s":"x"}\r\n\n{"type":"c"}' >in
	run -0 --separate-stderr evt-append users u1 <in
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')
$(rec 2 users u1 2 '{"type":"b","s":"x"}')
$(rec 3 users u1 3 '{"type":"c"}')"
}

# --- the payload, verbatim -------------------------------------------------

@test "numbers, escapes, key order and duplicate keys come back verbatim" {
	ev='{"type":"t","a":0.1,"b":1e400,"c":12345678901234567890,"d":"\u00e9","z":1,"m":2,"z":3,"e":-0.5E-3,"f":"tab\there \"q\" \\ \/","g":[true,false,null,{},[]]}'
	run -0 --separate-stderr evt-append users u1 "$ev"
	same "$(no_ts)" "$(rec 1 users u1 1 "$ev")"
	printf '%s\n' "$ev" >in
	run -0 --separate-stderr evt-append users u1 <in
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 "$ev")
$(rec 2 users u1 2 "$ev")"
}

@test "insignificant white space is removed, white space in strings kept" {
	printf '{ "type" :\t"t" , "s" : " a  b\\t" ,\r "n" : [ 1 , 2.50 , { "k" : null } ] }\n' >in
	run -0 --separate-stderr evt-append users u1 <in
	run -0 --separate-stderr evt-append users u1 ' {
	"type": "u" }  '
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"t","s":" a  b\t","n":[1,2.50,{"k":null}]}')
$(rec 2 users u1 2 '{"type":"u"}')"
}

@test "UTF-8 text is kept as it is" {
	run -0 --separate-stderr evt-append "usérs" "ü1" '{"type":"é","s":"😀 日本"}'
	run -0 --separate-stderr evt-read "usérs" "ü1"
	same "$(no_ts)" "$(rec 1 "usérs" "ü1" 1 '{"type":"é","s":"😀 日本"}')"
}

@test "a 16 MiB event round-trips, also through --records" {
	{
		printf '{"type":"big","s":"'
		head -c 16777216 /dev/zero | tr '\0' x
		printf '","n":1e400}'
	} >ev
	a=$(db a.db) b=$(db b.db)
	evt-append -q -d "$a" blobs b1 <ev
	{
		printf '{"position":1,"stream":"blobs","aggregateId":"b1","version":1,"timestamp":"TS","event":'
		cat ev
		printf '}\n'
	} >want
	evt-read -d "$a" >got
	sed -E "s/,\"timestamp\":\"$TS_RE\",/,\"timestamp\":\"TS\",/" got | cmp - want
	evt-append -q -d "$b" --records <got
	evt-read -d "$b" | cmp - got
}

# --- --expect ----------------------------------------------------------------

@test "-e N appends when the aggregate is at version N" {
	evt-append -q users u1 '{"type":"a"}' '{"type":"b"}'
	run -0 --separate-stderr evt-append -e 2 users u1 '{"type":"c"}' '{"type":"d"}'
	same "$(no_ts)" "$(rec 3 users u1 3 '{"type":"c"}')
$(rec 4 users u1 4 '{"type":"d"}')"
	run -0 --separate-stderr evt-append --expect 4 users u1 '{"type":"e"}'
	same "$(no_ts)" "$(rec 5 users u1 5 '{"type":"e"}')"
}

@test "-e N is a conflict when the aggregate is at another version" {
	evt-append -q users u1 '{"type":"a"}' '{"type":"b"}'
	run -3 --separate-stderr evt-append -e 1 users u1 '{"type":"c"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 1" ]
	run -3 --separate-stderr evt-append --expect 3 users u1 '{"type":"c"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 3" ]
	printf '{"type":"c"}\n{"type":"d"}\n' >in
	run -3 --separate-stderr evt-append -e 5 users u1 <in
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 2, expected 5" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
}

@test "-e 0 means the aggregate has no events" {
	evt-append -q users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-append -e 0 users u2 '{"type":"b"}'
	same "$(no_ts)" "$(rec 2 users u2 1 '{"type":"b"}')"
	run -3 --separate-stderr evt-append -e 0 users u1 '{"type":"c"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 1, expected 0" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
}

@test "-e 0 on a new store" {
	run -0 --separate-stderr evt-append -e 0 -d "$(db new.db)" users u1 '{"type":"a"}'
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')"
}

@test "-e any appends whatever the version" {
	run -0 --separate-stderr evt-append -e any users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-append -e any users u1 '{"type":"b"}'
	same "$(no_ts)" "$(rec 2 users u1 2 '{"type":"b"}')"
}

@test "-e exists appends to an aggregate with events" {
	evt-append -q users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-append -e exists users u1 '{"type":"b"}'
	same "$(no_ts)" "$(rec 2 users u1 2 '{"type":"b"}')"
}

@test "-e exists is a conflict on an aggregate without events" {
	evt-append -q users u2 '{"type":"a"}'
	run -3 --separate-stderr evt-append -e exists users u1 '{"type":"b"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 0, expected exists" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "a bad --expect value is a usage error" {
	for v in abc -1 1.5 '' 1x ANY; do
		run -2 --separate-stderr evt-append -e "$v" users u1 '{"type":"a"}'
		[ "$stderr" = "evt-append: invalid --expect '$v': use a number, 'any' or 'exists'" ]
	done
	[ ! -e events.db ]
}

@test "--expect without a value is a usage error" {
	run -2 --separate-stderr evt-append users u1 -e
	[ "$stderr" = "evt-append: option '-e' needs a value" ]
	run -2 --separate-stderr evt-append users u1 --expect
	[ "$stderr" = "evt-append: option '--expect' needs a value" ]
}

@test "two appends with the same expectation: exactly one succeeds" {
	evt-append -q other o1 '{"type":"init"}'
	pids=
	for w in 1 2 3 4 5 6 7 8; do
		evt-append -q -e 0 users u1 "{\"type\":\"a\",\"w\":$w}" 2>"err.$w" &
		pids="$pids $!"
	done
	ok=0 conflict=0
	for p in $pids; do
		rc=0
		wait "$p" || rc=$?
		case $rc in
		0) ok=$((ok + 1)) ;;
		3) conflict=$((conflict + 1)) ;;
		*) echo "exit $rc" >&2; return 1 ;;
		esac
	done
	[ "$ok" = 1 ]
	[ "$conflict" = 7 ]
	for w in 1 2 3 4 5 6 7 8; do
		err=$(cat "err.$w")
		[ "$err" = "" ] || [ "$err" = "evt-append: version conflict: users/u1 is at version 1, expected 0" ]
	done
	run -0 --separate-stderr evt-read users u1
	[ "${#lines[@]}" = 1 ]
}

@test "8 writers with --expect in a retry loop: versions 1..N, no duplicates" {
	cat >worker.sh <<'EOF'
# worker.sh W K: append K events to users/u1, each expecting the version
# read just before; retry on a conflict.
w=$1 k=$2 i=1 tries=0
while [ "$i" -le "$k" ]; do
	tries=$((tries + 1))
	[ "$tries" -le 2000 ] || { echo "worker $w: too many tries" >&2; exit 1; }
	last=$(evt-read --last users u1) || exit 1
	v=$(printf '%s\n' "$last" | sed -n 's/.*"version":\([0-9]*\),.*/\1/p')
	rc=0
	evt-append -q -e "${v:-0}" users u1 "{\"type\":\"added\",\"w\":$w,\"i\":$i}" 2>"err.$w" || rc=$?
	case $rc in
	0) i=$((i + 1)) ;;
	3) grep -Eq '^evt-append: version conflict: users/u1 is at version [0-9]+, expected [0-9]+$' "err.$w" || exit 1 ;;
	*) cat "err.$w" >&2; exit 1 ;;
	esac
done
EOF
	evt-append -q other o1 '{"type":"init"}'
	pids=
	for w in 1 2 3 4 5 6 7 8; do
		timeout $((60 * EVT_TEST_SLOW)) sh worker.sh "$w" 5 &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	run -0 --separate-stderr evt-read users u1
	[ "${#lines[@]}" = 40 ]
	printf '%s\n' "$output" |
		sed -n 's/.*"version":\([0-9]*\),.*"w":\([0-9]*\),"i":\([0-9]*\)}}$/\1 \2 \3/p' >got
	[ "$(wc -l <got)" = 40 ]
	same "$(cut -d' ' -f1 got)" "$(seq 40)"
	# each worker's events exactly once, in its own order
	for w in 1 2 3 4 5 6 7 8; do
		same "$(awk -v w="$w" '$2 == w { print $3 }' got)" "$(seq 5)"
	done
}

# --- --records ----------------------------------------------------------------

@test "--records copies a store; copying again is a conflict" {
	a=$(db a.db) b=$(db b.db)
	evt-append -q -d "$a" users u1 '{"type":"a","n":1e400}' '{"type":"b","z":1,"z":2}'
	evt-append -q -d "$a" posts p1 '{"type":"c","s":"\u00e9"}'
	evt-append -q -d "$a" users u1 '{"type":"d"}'
	evt-append -q -d "$a" users u2 '{"type":"e"}'
	run -0 --separate-stderr bash -c "set -o pipefail; evt-read -d '$a' | evt-append -d '$b' --records"
	[ "$stderr" = "" ]
	copied=$output
	run -0 --separate-stderr evt-read -d "$a"
	want=$output
	same "$copied" "$want"
	run -0 --separate-stderr evt-read -d "$b"
	same "$output" "$want"
	evt-read -d "$a" >recs
	run -3 --separate-stderr evt-append -d "$b" --records <recs
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: <stdin>:1: version conflict: users/u1 is at version 3, expected 0" ]
	run -0 --separate-stderr evt-read -d "$b"
	same "$output" "$want"
}

@test "--records ignores the given position" {
	b=$(db b.db)
	evt-append -q -d "$b" other o1 '{"type":"x"}'
	printf '%s\n' '{"position":99,"stream":"users","aggregateId":"u1","version":1,"timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"a"}}' >in
	run -0 --separate-stderr evt-append -d "$b" --records <in
	[ "$output" = '{"position":2,"stream":"users","aggregateId":"u1","version":1,"timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"a"}}' ]
}

@test "--records keeps a given timestamp, integer milliseconds as ISO" {
	cat >in <<'EOF'
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"t1"}}
{"stream":"s","aggregateId":"a","timestamp":1764157187123,"event":{"type":"t2"}}
{"stream":"s","aggregateId":"a","event":{"type":"t3"}}
EOF
	run -0 --separate-stderr evt-append --records <in
	[ "$(line 1)" = '{"position":1,"stream":"s","aggregateId":"a","version":1,"timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"t1"}}' ]
	[ "$(line 2)" = '{"position":2,"stream":"s","aggregateId":"a","version":2,"timestamp":"2025-11-26T11:39:47.123Z","event":{"type":"t2"}}' ]
	[[ "$(line 3)" =~ ^\{\"position\":3,\"stream\":\"s\",\"aggregateId\":\"a\",\"version\":3,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"t3\"\}\}$ ]]
	[[ "$(line 3)" != *2020-01-02* ]]
	appended=$output
	run -0 --separate-stderr evt-read
	same "$output" "$appended"
}

@test "--records: a timestamp with Z or an offset is stored in UTC with milliseconds" {
	cat >in <<'EOF'
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678+01:30","event":{"type":"t1"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.6789Z","event":{"type":"t2"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04Z","event":{"type":"t3"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05-0800","event":{"type":"t4"}}
{"stream":"s","aggregateId":"a","timestamp":"2024-02-29T23:59:59.9-01","event":{"type":"t5"}}
{"stream":"s","aggregateId":"a","timestamp":"0001-01-01T00:00:00Z","event":{"type":"t6"}}
{"stream":"s","aggregateId":"a","timestamp":"9999-12-31T23:59:59.999Z","event":{"type":"t7"}}
EOF
	run -0 --separate-stderr evt-append --records <in
	appended=$output
	want="2020-01-02T01:34:05.678Z
2020-01-02T03:04:05.678Z
2020-01-02T03:04:00.000Z
2020-01-02T11:04:05.000Z
2024-03-01T00:59:59.900Z
0001-01-01T00:00:00.000Z
9999-12-31T23:59:59.999Z"
	same "$(printf '%s\n' "$output" | sed 's/.*"timestamp":"\([^"]*\)".*/\1/')" "$want"
	run -0 --separate-stderr evt-read
	same "$output" "$appended"
	if my_backend; then
		run -0 db_sql "SELECT CONCAT(DATE_FORMAT(timestamp, '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND(timestamp) DIV 1000, 3, '0'), 'Z') FROM events ORDER BY position"
		same "$output" "$want"
	elif ! pg_backend; then
		run -0 sqlite3 events.db 'SELECT timestamp FROM events ORDER BY position'
		same "$output" "$want"
	fi
}

@test "--records: a timestamp out of range or without a zone is exit 4 naming the line" {
	ok='{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"ok"}}'
	form='is not YYYY-MM-DDTHH:MM[:SS[.sss]] with Z or an offset'
	while IFS='|' read -r t why; do
		printf '%s\n%s\n\n{"stream":"s","aggregateId":"a","timestamp":%s,"event":{"type":"x"}}\n' "$ok" "$ok" "$t" >in
		run -4 --separate-stderr evt-append --records <in
		[ "$output" = "" ]
		same "$stderr" "evt-append: <stdin>:4: record \"timestamp\" $t: ${why:-$form}"
	done <<'EOF'
"2020-13-45T99:99:99Z"|month out of range
"2020-00-01T00:00:00Z"|month out of range
"2021-02-29T00:00:00Z"|day out of range
"2100-02-29T00:00:00Z"|day out of range
"2020-04-31T00:00:00Z"|day out of range
"2020-01-00T00:00:00Z"|day out of range
"2020-01-01T24:00:00Z"|hour out of range
"2020-01-01T00:60:00Z"|minute out of range
"2020-01-01T00:00:60Z"|second out of range
"2020-01-01T00:00:00+24:00"|offset out of range
"2020-01-01T00:00:00-02:60"|offset out of range
"0001-01-01T00:00:00+00:01"|is not between the years 1 and 9999 in UTC
"9999-12-31T23:59:59.999-00:01"|is not between the years 1 and 9999 in UTC
"2020-01-01T00:00:00"|has no zone: add Z or an offset such as +02:00
"2020-01-01 00:00:00"|
"2020-01-01 00:00:00Z"|
"2020-01-01"|
"2020-01-01T00:00:00.Z"|
"2020-01-01T00:00:00+02:"|
"2020-01-01T00:00:00+2"|
"2020-1-01T00:00:00Z"|
"2020-01-01T00:00:00z"|
""|
"yesterday"|
EOF
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
}

@test "--records: a given version must be the aggregate's next" {
	evt-append -q s a '{"type":"x"}'
	printf '%s\n' '{"stream":"s","aggregateId":"a","version":2,"event":{"type":"y"}}' \
		'{"stream":"s","aggregateId":"a","version":3,"event":{"type":"z"}}' \
		'{"stream":"s","aggregateId":"b","version":1,"event":{"type":"w"}}' >ok
	run -0 --separate-stderr evt-append -q --records <ok
	[ "$output" = "" ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","version":5,"event":{"type":"gap"}}' >gap
	run -3 --separate-stderr evt-append --records <gap
	[ "$stderr" = "evt-append: <stdin>:1: version conflict: s/a is at version 3, expected 4" ]
	printf '%s\n' '{"stream":"s","aggregateId":"b","event":{"type":"v2"}}' \
		'{"stream":"s","aggregateId":"b","version":2,"event":{"type":"dup"}}' >dup
	run -3 --separate-stderr evt-append --records <dup
	[ "$stderr" = "evt-append: <stdin>:2: version conflict: s/b is at version 2, expected 1" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 4 ]
}

@test "--records: a record without stream, aggregateId or event is exit 4" {
	evt-append -q s a '{"type":"x"}'
	good='{"stream":"s","aggregateId":"a","event":{"type":"y"}}'
	printf '%s\n\n%s\n' "$good" '{"aggregateId":"a","event":{"type":"y"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$output" = "" ]
	[ "$stderr" = 'evt-append: <stdin>:3: record has no string "stream"' ]
	printf '%s\n' "$good" "$good" '{"stream":"s","event":{"type":"y"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:3: record has no string "aggregateId"' ]
	printf '%s\n' '{"stream":"s","aggregateId":"a"}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: record has no "event" object' ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":"x"}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: record has no "event" object' ]
	printf '%s\n' '{"stream":1,"aggregateId":"a","event":{"type":"y"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: record has no string "stream"' ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"kind":"y"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: event has no string "type"' ]
	printf '%s\n' '["s","a"]' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: record is not a JSON object' ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "--records: bad version, timestamp, stream or id is exit 4" {
	for v in 0 -1 1.5 '"2"' 1e2 true; do
		printf '{"stream":"s","aggregateId":"a","version":%s,"event":{"type":"y"}}\n' "$v" >in
		run -4 --separate-stderr evt-append --records <in
		[ "$stderr" = 'evt-append: <stdin>:1: record "version" is not a positive integer' ]
	done
	for t in true '{}' -5 1.5; do
		printf '{"stream":"s","aggregateId":"a","timestamp":%s,"event":{"type":"y"}}\n' "$t" >in
		run -4 --separate-stderr evt-append --records <in
		[ "$stderr" = 'evt-append: <stdin>:1: record "timestamp" is not a time' ]
	done
	printf '{"stream":"","aggregateId":"a","event":{"type":"y"}}\n' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: stream is empty' ]
	long=$(printf 'x%.0s' $(seq 256))
	printf '{"stream":"s","aggregateId":"%s","event":{"type":"y"}}\n' "$long" >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: aggregate id is longer than 255 bytes' ]
	[ ! -e events.db ]
}

@test "--records takes no arguments and no --expect" {
	run -2 --separate-stderr evt-append --records users
	[ "$stderr" = "evt-append: --records takes no arguments" ]
	run -2 --separate-stderr evt-append --records -e 1
	[ "$stderr" = "evt-append: --records cannot be used with --expect" ]
	[ ! -e events.db ]
}

# --- all or nothing --------------------------------------------------------------

@test "a batch with one bad line (7 of 10) writes nothing" {
	evt-append -q users u1 '{"type":"a"}' '{"type":"b"}'
	run -0 --separate-stderr evt-read
	before=$output
	for i in 1 2 3 4 5 6; do printf '{"type":"ok","i":%d}\n' "$i"; done >in
	printf '{"i":7}\n' >>in
	for i in 8 9 10; do printf '{"type":"ok","i":%d}\n' "$i"; done >>in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$output" = "" ]
	[ "$stderr" = 'evt-append: <stdin>:7: event has no string "type"' ]
	run -0 --separate-stderr evt-read
	same "$output" "$before"
	# the next append continues where the store was
	run -0 --separate-stderr evt-append users u1 '{"type":"c"}'
	same "$(no_ts)" "$(rec 3 users u1 3 '{"type":"c"}')"
}

@test "a batch with one bad line on a new store leaves it empty" {
	for i in 1 2 3 4 5 6; do printf '{"type":"ok","i":%d}\n' "$i"; done >in
	printf '{"type":"ok",\n' >>in
	for i in 8 9 10; do printf '{"type":"ok","i":%d}\n' "$i"; done >>in
	new=$(db new.db)
	run -4 --separate-stderr evt-append -d "$new" users u1 <in
	[ "$output" = "" ]
	[ "$stderr" = 'evt-append: <stdin>:7: invalid JSON at column 14: unexpected end of input' ]
	run -0 --separate-stderr evt-read -d "$new"
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read -d "$new" --head
	[ "$output" = 0 ]
}

@test "a bad EVENT argument writes none of the others" {
	run -4 --separate-stderr evt-append users u1 '{"type":"a"}' '{"type":"b"}' '{"type":""}' '{"type":"d"}'
	[ "$output" = "" ]
	[ "$stderr" = 'evt-append: argument 5: event has an empty "type"' ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

@test "--records: a conflict on line 7 of 10 writes nothing" {
	evt-append -q s x '{"type":"a"}'
	for i in 1 2 3 4 5 6; do
		printf '{"stream":"s","aggregateId":"n%d","event":{"type":"ok"}}\n' "$i"
	done >in
	printf '{"stream":"s","aggregateId":"x","version":1,"event":{"type":"dup"}}\n' >>in
	for i in 8 9 10; do
		printf '{"stream":"s","aggregateId":"n%d","event":{"type":"ok"}}\n' "$i"
	done >>in
	run -3 --separate-stderr evt-append --records <in
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: <stdin>:7: version conflict: s/x is at version 1, expected 0" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

# --- invalid input ---------------------------------------------------------------

@test "invalid UTF-8 is exit 4" {
	evt-append -q users u1 '{"type":"a"}'
	printf '{"type":"ok"}\n{"type":"b","s":"\377"}\n' >in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$stderr" = "evt-append: <stdin>:2: invalid JSON at column 18: invalid UTF-8" ]
	run -4 --separate-stderr evt-append users u1 $'{"type":"\xc3"}'
	[ "$stderr" = "evt-append: argument 3: invalid JSON at column 10: invalid UTF-8" ]
	# overlong form, surrogate, beyond U+10FFFF
	for bad in '\300\257' '\355\240\200' '\364\220\200\200'; do
		printf '{"type":"%b"}\n' "$bad" >in
		run -4 --separate-stderr evt-append users u1 <in
		[ "$stderr" = "evt-append: <stdin>:1: invalid JSON at column 10: invalid UTF-8" ]
	done
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "a \\u escape of an unpaired surrogate is exit 4, as invalid UTF-8 is" {
	evt-append -q users u1 '{"type":"a","pair":"\ud83d\ude00"}'
	run -4 --separate-stderr evt-append users u1 '{"type":"b","s":"\ud800"}'
	[ "$output" = "" ]
	[ "$stderr" = 'evt-append: argument 3: invalid JSON at column 18: unpaired surrogate in \u escape' ]
	# a lone low one, a high one without its low one, in a key
	for bad in '18 "s":"\udc00"' '18 "s":"\ud800\u0041"' '18 "s":"\ude00\ud83d"' '14 "\udbff":1'; do
		run -4 --separate-stderr evt-append users u1 "{\"type\":\"b\",${bad#* }}"
		[ "$stderr" = "evt-append: argument 3: invalid JSON at column ${bad%% *}: unpaired surrogate in \\u escape" ]
	done
	printf '%s\n' '{"type":"ok"}' '{"type":"b","\ud800":1}' >in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$stderr" = 'evt-append: <stdin>:2: invalid JSON at column 14: unpaired surrogate in \u escape' ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"type":"ok"}}' \
		'{"stream":"s","aggregateId":"a","event":{"type":"\udfff"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:2: invalid JSON at column 50: unpaired surrogate in \u escape' ]
	printf '%s\n' '{"stream":"\ud800","aggregateId":"a","event":{"type":"ok"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = 'evt-append: <stdin>:1: invalid JSON at column 12: unpaired surrogate in \u escape' ]
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a","pair":"\ud83d\ude00"}')"
}

@test "a byte order mark is named as such" {
	printf '\357\273\277{"type":"a"}\n' >in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$stderr" = "evt-append: <stdin>:1: invalid JSON at column 1: byte order mark (save the text as UTF-8 without one)" ]
	printf '\357\273\277{"stream":"s","aggregateId":"a","event":{"type":"a"}}\n' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = "evt-append: <stdin>:1: invalid JSON at column 1: byte order mark (save the text as UTF-8 without one)" ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

@test "an event that is not an object is exit 4" {
	for ev in '[{"type":"a"}]' '"a"' 1 null; do
		run -4 --separate-stderr evt-append users u1 "$ev"
		[ "$output" = "" ]
		[ "$stderr" = "evt-append: argument 3: event is not a JSON object" ]
	done
	printf '{"type":"a"}\n["x"]\n' >in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$stderr" = "evt-append: <stdin>:2: event is not a JSON object" ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

@test "an event without a non-empty string type is exit 4" {
	for ev in '{}' '{"Type":"a"}' '{"type":1}' '{"type":null}' '{"type":["a"]}' '{"type":{"a":1}}'; do
		run -4 --separate-stderr evt-append users u1 "$ev"
		[ "$stderr" = 'evt-append: argument 3: event has no string "type"' ]
	done
	run -4 --separate-stderr evt-append users u1 '{"type":""}'
	[ "$stderr" = 'evt-append: argument 3: event has an empty "type"' ]
	printf '{"type":""}\n' >in
	run -4 --separate-stderr evt-append users u1 <in
	[ "$stderr" = 'evt-append: <stdin>:1: event has an empty "type"' ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

@test "malformed JSON is exit 4 naming the column" {
	run -4 --separate-stderr evt-append users u1 '{"type":"a"'
	[ "$stderr" = "evt-append: argument 3: invalid JSON at column 12: unexpected end of input" ]
	run -4 --separate-stderr evt-append users u1 '{"type":"a"} {}'
	[ "$stderr" = "evt-append: argument 3: invalid JSON at column 14: unexpected data after the JSON value" ]
	run -4 --separate-stderr evt-append users u1 '{"type":"a","n":NaN}'
	[ "$stderr" = "evt-append: argument 3: invalid JSON at column 17: unexpected character" ]
	run -4 --separate-stderr evt-append users u1 '{"type":"a","n":01}'
	[ "$stderr" = "evt-append: argument 3: invalid JSON at column 18: expected ',' or '}'" ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
}

# --- output, quiet, nothing to do ----------------------------------------------------

@test "-q and --quiet print nothing but append" {
	run -0 --separate-stderr evt-append -q users u1 '{"type":"a"}'
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	printf '{"type":"b"}\n' >in
	run -0 --separate-stderr evt-append --quiet users u1 <in
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')
$(rec 2 users u1 2 '{"type":"b"}')"
}

@test "no events: exit 0 and nothing written" {
	evt-append -q users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-read
	before=$output
	: >in
	run -0 --separate-stderr evt-append users u1 <in
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	printf '\n\r\n  \n' >in
	run -0 --separate-stderr evt-append users u1 <in
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-append --records <in
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read
	same "$output" "$before"
}

@test "no events on a missing store: the store is made, empty" {
	run -0 --separate-stderr evt-append --records </dev/null
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	same "$(db_tables)" "bookmarks
events"
	run -0 --separate-stderr evt-read
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
	run -0 --separate-stderr evt-read --streams
	[ "$output" = "" ]
	run -0 --separate-stderr evt-fold users u1
	[ "$output" = '{"aggregateId":"u1","version":0}' ]
	# the same with STREAM ID and -q
	o=$(db other.db)
	run -0 --separate-stderr evt-append -q -d "$o" users u1 </dev/null
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read -d "$o" --head
	[ "$output" = 0 ]
}

@test "a closed stdout ends quietly with exit 0 after the commit" {
	seq 3000 | sed 's/.*/{"type":"n","i":&}/' >in
	run -0 --separate-stderr bash -c 'set -o pipefail; evt-append s a <in | head -n 1 >/dev/null; echo "status ${PIPESTATUS[*]}"'
	[ "$stderr" = "" ]
	[ "$output" = "status 0 0" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3000 ]
	run -0 --separate-stderr to_closed evt-append s a '{"type":"x"}'
	[ "$stderr" = "" ]
	printf '{"stream":"s","aggregateId":"a","event":{"type":"y"}}\n' >in
	run -0 --separate-stderr to_closed evt-append --records <in
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3002 ]
}

@test "write error on stdout is exit 1, after the events are committed" {
	run -1 --separate-stderr to_full evt-append users u1 '{"type":"a"}' '{"type":"b"}'
	[ "$stderr" = "evt-append: write error: No space left on device" ]
	run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')
$(rec 2 users u1 2 '{"type":"b"}')"
	printf '{"type":"c"}\n' >in
	run -1 --separate-stderr to_full evt-append users u1 <in
	[ "$stderr" = "evt-append: write error: No space left on device" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3 ]
	run -0 --separate-stderr to_full evt-append -q users u1 '{"type":"d"}'
	[ "$stderr" = "" ]
}

# --- stream and id -----------------------------------------------------------------

@test "a stream name with ',' is exit 4: it separates STREAM lists" {
	run -4 --separate-stderr evt-append 'users,posts' u1 '{"type":"a"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: invalid stream 'users,posts': contains ',' (it separates STREAM lists)" ]
	printf '%s\n' '{"type":"a"}' >in
	run -4 --separate-stderr evt-append , u1 <in
	[ "$stderr" = "evt-append: invalid stream ',': contains ',' (it separates STREAM lists)" ]
	printf '%s\n' '{"stream":"s","aggregateId":"a","event":{"type":"ok"}}' \
		'{"stream":"a\u002cb","aggregateId":"a","event":{"type":"x"}}' >in
	run -4 --separate-stderr evt-append --records <in
	[ "$stderr" = "evt-append: <stdin>:2: stream contains ',' (it separates STREAM lists)" ]
	# an aggregate id may hold one
	run -0 --separate-stderr evt-append -q s 'a,b' '{"type":"a"}'
	run -0 --separate-stderr evt-read s 'a,b'
	same "$(no_ts)" "$(rec 1 s a,b 1 '{"type":"a"}')"
}

@test "stream and id must be non-empty and at most 255 bytes" {
	max=$(printf 'x%.0s' $(seq 255))
	run -2 --separate-stderr evt-append '' u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-append users '' '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid aggregate id '': is empty" ]
	run -2 --separate-stderr evt-append "${max}y" u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid stream '${max}y': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-append users "${max}y" '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid aggregate id '${max}y': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-append users $'\xff' '{"type":"a"}'
	[ "$stderr" = $'evt-append: invalid aggregate id \'\xff\': is not valid UTF-8' ]
	[ ! -e events.db ]
	run -0 --separate-stderr evt-append "$max" "$max" '{"type":"a"}'
	same "$(no_ts)" "$(rec 1 "$max" "$max" 1 '{"type":"a"}')"
}

# --- --count and --key ----------------------------------------------------

@test "--count N: a producer that died half-way appends nothing, exit 4" {
	printf '{"type":"a"}\n{"type":"b"}\n' >two
	run -4 --separate-stderr evt-append --count 3 s a <two
	[ "$stderr" = "evt-append: <stdin>: 2 events, expected 3 (--count)" ]
	[ "$output" = "" ]
	run -4 --separate-stderr evt-append --count 1 s a '{"type":"a"}' '{"type":"b"}'
	[ "$stderr" = "evt-append: arguments: 2 events, expected 1 (--count)" ]
	run -0 --separate-stderr evt-read
	[ "$output" = "" ]
	run -0 --separate-stderr evt-append -q --count 2 s a <two
	[ "$output" = "" ]
	printf '{"stream":"s","aggregateId":"b","event":{"type":"c"}}\n' >rec
	run -0 --separate-stderr evt-append -q --count 1 --records <rec
	run -0 --separate-stderr evt-append --count 0 s a </dev/null
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3 ]
	run -2 --separate-stderr evt-append --count -1 s a
	[ "$stderr" = "evt-append: invalid count '-1': expected a whole number from 0 to 9223372036854775807" ]
	run -2 --separate-stderr evt-append --count x s a
	[ "$stderr" = "evt-append: invalid count 'x': expected a whole number from 0 to 9223372036854775807" ]
}

@test "--key KEY: a repeated KEY appends nothing and prints the first append's records" {
	run -0 --separate-stderr evt-append --key order-17 s a '{"type":"a"}' '{"type":"b"}'
	first=$output
	[ "${#lines[@]}" = 2 ]
	evt-append -q s a '{"type":"c"}'
	run -0 --separate-stderr evt-append --key order-17 s a '{"type":"x"}'
	[ "$stderr" = "" ]
	same "$output" "$first"
	# also with the expectation of the first run, now stale
	run -0 --separate-stderr evt-append --key order-17 -e 0 s a '{"type":"a"}' '{"type":"b"}'
	same "$output" "$first"
	run -0 --separate-stderr evt-append -q --key order-17 s a '{"type":"x"}'
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 3 ]
	run -0 --separate-stderr db_sql "SELECT $KEY_COL, stream, aggregate_id, first, last FROM events_keys"
	[ "$output" = "order-17|s|a|1|2" ]
}

@test "--key: the same KEY for another aggregate is exit 3, nothing appended" {
	evt-append -q --key k1 s a '{"type":"a"}'
	run -3 --separate-stderr evt-append --key k1 s b '{"type":"a"}'
	[ "$stderr" = "evt-append: key 'k1' was used for s/a" ]
	[ "$output" = "" ]
	run -3 --separate-stderr evt-append --key k1 t a '{"type":"a"}'
	[ "$stderr" = "evt-append: key 'k1' was used for s/a" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "--key: a failed append records no key; --records of one aggregate only" {
	evt-append -q s a '{"type":"a"}'
	run -3 --separate-stderr evt-append --key k2 -e 0 s a '{"type":"b"}'
	run -0 --separate-stderr evt-append --key k2 -e 1 s a '{"type":"b"}'
	[[ "$output" == '{"position":2,'*'"version":2,'* ]]
	printf '%s\n' '{"stream":"s","aggregateId":"c","event":{"type":"r"}}' \
		'{"stream":"s","aggregateId":"d","event":{"type":"r"}}' >recs
	run -4 --separate-stderr evt-append --key k3 --records <recs
	[ "$stderr" = "evt-append: <stdin>:2: --key goes with one aggregate: s/d is not s/c" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
	head -n 1 recs >rec
	run -0 --separate-stderr evt-append -q --key k3 --records <rec
	run -0 --separate-stderr evt-append --key k3 --records <rec
	[[ "$output" == '{"position":3,"stream":"s","aggregateId":"c",'* ]]
	run -2 --separate-stderr evt-append --key '' s a '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid key '': use 1 to 255 bytes" ]
	run -2 --separate-stderr evt-append --key "$(printf '%0256d' 0)" s a '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid key '$(printf '%0256d' 0)': use 1 to 255 bytes" ]
	# a server would refuse it at every retry: refused before anything
	run -2 --separate-stderr evt-append --key "$(printf 'k\377')" s a '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid key '$(printf 'k\377')': is not valid UTF-8" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 3 ]
}

@test "--key under 8 processes at once: exactly one append, each prints it" {
	local pids=
	for i in 1 2 3 4 5 6 7 8; do
		evt-append --key once s a "{\"type\":\"p$i\"}" >"out$i" 2>"err$i" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"	# each exit status 0
	done
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 1 ]
	for i in 1 2 3 4 5 6 7 8; do
		same "$(cat "out$i")" "$output"
		[ "$(cat "err$i")" = "" ]
	done
}

@test "STREAM and ID are required" {
	run -2 --separate-stderr evt-append
	[ "$stderr" = "evt-append: expected STREAM and ID (see evt-append --help)" ]
	run -2 --separate-stderr evt-append users
	[ "$stderr" = "evt-append: expected STREAM and ID (see evt-append --help)" ]
	[ ! -e events.db ]
}

# --- crash safety ----------------------------------------------------------------------

@test "SIGKILL in the middle of a 200,000-event append leaves all or none" {
	sqlite_only "watches the WAL file; tests/pg.bats kills one on PostgreSQL"
	seq 200000 | sed 's/.*/{"type":"n","i":&}/' >big
	evt-append -q -d crash.db s a <big &
	pid=$!
	# wait until the transaction has written megabytes to the WAL
	timeout $((20 * EVT_TEST_SLOW)) sh -c "while kill -0 $pid 2>/dev/null &&
		[ \$(stat -c %s crash.db-wal 2>/dev/null || echo 0) -lt 2000000 ]; do
		sleep 0.01; done"
	kill -9 "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 137 ] || [ "$rc" = 0 ]
	run -0 sqlite3 crash.db 'PRAGMA integrity_check'
	[ "$output" = ok ]
	run -0 --separate-stderr evt-read -d crash.db --head
	[ "$output" = 0 ] || [ "$output" = 200000 ]
	n=$output
	run -0 --separate-stderr evt-append -d crash.db s a '{"type":"after"}'
	[[ "$output" == *"\"version\":$((n + 1)),"* ]]
	run -0 --separate-stderr evt-read -d crash.db --head
	[ "$output" = "$((n + 1))" ]
}

# --- durability, busy timeout ------------------------------------------------------------

@test "EVT_SYNC=normal and EVT_SYNC=full work; another value is a usage error" {
	EVT_SYNC=normal run -0 --separate-stderr evt-append users u1 '{"type":"a"}'
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')"
	EVT_SYNC=full run -0 --separate-stderr evt-append users u1 '{"type":"b"}'
	same "$(no_ts)" "$(rec 2 users u1 2 '{"type":"b"}')"
	for v in off NORMAL 1 yes; do
		EVT_SYNC=$v run -2 --separate-stderr evt-append users u1 '{"type":"c"}'
		[ "$stderr" = "evt-append: EVT_SYNC must be 'full' or 'normal'" ]
	done
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
}

@test "a bad EVT_BUSY_TIMEOUT is a usage error" {
	EVT_BUSY_TIMEOUT=abc run -2 --separate-stderr evt-append users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: EVT_BUSY_TIMEOUT must be milliseconds" ]
	EVT_BUSY_TIMEOUT=100 run -0 --separate-stderr evt-append -q users u1 '{"type":"a"}'
}

# --- the store: schema, tables, location ---------------------------------------------------

@test "creates the evtstore schema in WAL mode" {
	sqlite_only "tests/pg.bats checks the PostgreSQL schema"
	evt-append -q users u1 '{"type":"a"}'
	run -0 sqlite3 events.db 'PRAGMA journal_mode'
	[ "$output" = wal ]
	run -0 sqlite3 events.db 'PRAGMA table_info(events)'
	same "$output" "0|position|INTEGER|1||1
1|version|INTEGER|0||0
2|stream|VARCHAR(255)|0||0
3|aggregate_id|VARCHAR(255)|0||0
4|timestamp|DATETIME|0||0
5|event|TEXT|0||0"
	run -0 sqlite3 events.db "SELECT name FROM pragma_index_list('events') WHERE \"unique\" ORDER BY name"
	same "$output" "events_stream_aggregate_id_version_unique
events_stream_position_unique"
	run -0 sqlite3 events.db 'PRAGMA table_info(bookmarks)'
	same "$output" "0|bookmark|VARCHAR(255)|0||1
1|position|BIGINT|0||0"
	run -0 sqlite3 events.db "SELECT typeof(timestamp), typeof(event) FROM events"
	[ "$output" = "text|text" ]
}

# reader PROGRAM ARG... : run PROGRAM as soon as new.db exists (a busy
# wait of builtins, bounded), to meet the writers that are making it.
reader() {
	local i=0
	while [ ! -e new.db ] && [ $i -lt 100000 ]; do
		i=$((i + 1))
	done
	exec "$@"
}

@test "six evt-append at once on a missing store, readers too: none fails, nothing lost (50 rounds)" {
	sqlite_only "about a new SQLite file"
	local r i p rc pids
	for r in $(seq "${VALGRIND:+5}${VALGRIND:-50}"); do
		mkdir "r$r"
		cd "r$r"
		pids=
		reader evt-read -d new.db --head >head 2>read.err 3>&- &
		pids="$pids $!"
		reader evt-fold -d new.db s a1 >fold 2>fold.err 3>&- &
		pids="$pids $!"
		for i in 1 2 3 4 5 6; do
			evt-append -q -d new.db s "a$i" '{"type":"x"}' 2>"a$i.err" 3>&- &
			pids="$pids $!"
		done
		for p in $pids; do
			rc=0
			wait "$p" || rc=$?
			[ $rc = 0 ] || { cat ./*.err; false; }
		done
		same "$(cat ./*.err)" ""
		run -0 --separate-stderr evt-read -d new.db s
		[ "${#lines[@]}" = 6 ]
		run -0 sqlite3 new.db 'PRAGMA journal_mode'
		[ "$output" = wal ]
		cd ..
	done
}

@test "--events-table and --bookmarks-table name the tables" {
	run -0 --separate-stderr evt-append --events-table my_events --bookmarks-table my_marks users u1 '{"type":"a"}'
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')"
	run -0 db_tables
	same "$output" "my_events
my_marks"
	run -0 --separate-stderr evt-read
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --events-table my_events
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')"
}

@test "EVT_EVENTS_TABLE and EVT_BOOKMARKS_TABLE name the tables; options win" {
	EVT_EVENTS_TABLE=env_events EVT_BOOKMARKS_TABLE=env_marks run -0 --separate-stderr evt-append -q users u1 '{"type":"a"}'
	EVT_EVENTS_TABLE=env_events run -0 --separate-stderr evt-append -q --events-table opt_events users u1 '{"type":"b"}'
	run -0 db_tables
	same "$output" "bookmarks
env_events
env_marks
opt_events"
	run -0 --separate-stderr evt-read --events-table env_events
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"a"}')"
	EVT_EVENTS_TABLE=opt_events run -0 --separate-stderr evt-read
	same "$(no_ts)" "$(rec 1 users u1 1 '{"type":"b"}')"
}

@test "a bad table name is a usage error" {
	run -2 --separate-stderr evt-append --events-table a-b users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table 'a-b': $NAME_RULE" ]
	run -2 --separate-stderr evt-append --events-table 1x users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table '1x': $NAME_RULE" ]
	run -2 --separate-stderr evt-append --events-table 'ev"; DROP TABLE x; --' users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table 'ev\"; DROP TABLE x; --': $NAME_RULE" ]
	run -2 --separate-stderr evt-append --events-table '' users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table '': is empty" ]
	long=$(printf 'a%.0s' $(seq 64))
	run -2 --separate-stderr evt-append --events-table "$long" users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table '$long': has a part longer than 63 bytes" ]
	if pg_backend; then	# schema.name is a name there
		run -2 --separate-stderr evt-append --bookmarks-table 'b.c.d' users u1 '{"type":"a"}'
		[ "$stderr" = "evt-append: invalid bookmarks table 'b.c.d': $NAME_RULE" ]
	else
		run -2 --separate-stderr evt-append --bookmarks-table 'b.c' users u1 '{"type":"a"}'
		[ "$stderr" = "evt-append: invalid bookmarks table 'b.c': $NAME_RULE" ]
	fi
	EVT_EVENTS_TABLE=a-b run -2 --separate-stderr evt-append users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: invalid events table 'a-b': $NAME_RULE" ]
	[ ! -e events.db ]
	run -0 --separate-stderr evt-append -q --events-table "_${long:2}" users u1 '{"type":"a"}'
}

@test "-d, --db, EVT_DB, sqlite:PATH and the default events.db" {
	sqlite_only "about SQLite paths"
	evt-append -q -d one.db s a '{"type":"one"}'
	evt-append -q --db two.db s a '{"type":"two"}'
	EVT_DB=three.db evt-append -q s a '{"type":"three"}'
	evt-append -q -d sqlite:four.db s a '{"type":"four"}'
	EVT_DB=sqlite:five.db evt-append -q s a '{"type":"five"}'
	EVT_DB=ignored.db evt-append -q -d six.db s a '{"type":"six"}'
	evt-append -q s a '{"type":"seven"}'
	[ ! -e ignored.db ]
	for db in one two three four five six; do
		run -0 --separate-stderr evt-read -d "$db.db"
		same "$(no_ts)" "$(rec 1 s a 1 "{\"type\":\"$db\"}")"
	done
	run -0 --separate-stderr evt-read -d events.db
	same "$(no_ts)" "$(rec 1 s a 1 '{"type":"seven"}')"
}

@test "sqlite:///REL and sqlite:////ABS as SQLAlchemy; sqlite://HOST is a usage error" {
	sqlite_only "about SQLite paths"
	mkdir sub
	evt-append -q -d sqlite:///sub/rel.db s a '{"type":"rel"}'
	evt-append -q -d "sqlite:///$PWD/sub/abs.db" s a '{"type":"abs"}'
	run -0 --separate-stderr evt-read -d sub/rel.db
	same "$(no_ts)" "$(rec 1 s a 1 '{"type":"rel"}')"
	run -0 --separate-stderr evt-read -d "$PWD/sub/abs.db"
	same "$(no_ts)" "$(rec 1 s a 1 '{"type":"abs"}')"
	run -2 --separate-stderr evt-append -d sqlite://rel.db s a '{"type":"x"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: unsupported store URL 'sqlite://rel.db': a SQLite URL has no host (a relative path is sqlite:///PATH, an absolute one sqlite:////PATH)" ]
	[ ! -e /rel.db ] && [ ! -e rel.db ]
	run -2 --separate-stderr evt-append -d sqlite:/// s a '{"type":"x"}'
	[ "$stderr" = "evt-append: invalid store URL 'sqlite:///': no path" ]
	run -2 --separate-stderr evt-append -d '' s a '{"type":"x"}'
	[ "$stderr" = "evt-append: invalid store path '': empty" ]
}

@test "another SCHEME:// is a usage error in every program" {
	url=http://example.com/x.db
	msg="unsupported store URL scheme 'http'"
	run -2 --separate-stderr evt-append -d "$url" s a '{"type":"x"}'
	[ "$stderr" = "evt-append: $msg" ]
	run -2 --separate-stderr evt-read -d "$url"
	[ "$stderr" = "evt-read: $msg" ]
	run -2 --separate-stderr evt-fold -d "$url" s a
	[ "$stderr" = "evt-fold: $msg" ]
	run -2 --separate-stderr evt-tail -d "$url"
	[ "$stderr" = "evt-tail: $msg" ]
	run -2 --separate-stderr evt-handle -d "$url" h s -- true
	[ "$stderr" = "evt-handle: $msg" ]
	run -2 --separate-stderr evt-handle -d "$url" --status
	[ "$stderr" = "evt-handle: $msg" ]
	run -2 --separate-stderr evt-command -d "$url" s a go -- true
	[ "$stderr" = "evt-command: $msg" ]
	run -2 --separate-stderr evt-read -d 'POSTGRES://db/app'
	[ "$stderr" = "evt-read: unsupported store URL scheme 'POSTGRES'" ]
	run -2 --separate-stderr env EVT_DB=file:///x.db evt-read
	[ "$stderr" = "evt-read: unsupported store URL scheme 'file'" ]
	[ "$(echo ./*.db*)" = './*.db*' ]
}

@test "a path with '?' or a SQLite file: URI is refused; after sqlite: a '?' is part of the name" {
	sqlite_only "about SQLite paths"
	run -2 --separate-stderr evt-append -d 'x.db?mode=ro' s a '{"type":"x"}'
	[ "$stderr" = "evt-append: unsupported store path 'x.db?mode=ro': URI parameters are not supported (for a file of that name, write sqlite:x.db?mode=ro)" ]
	run -2 --separate-stderr evt-append -d file:x.db s a '{"type":"x"}'
	[ "$stderr" = "evt-append: unsupported store path 'file:x.db': SQLite URIs are not supported (for a file of that name, write ./file:x.db)" ]
	run -2 --separate-stderr evt-read -d 'sqlite:file:x.db?mode=ro'
	[ "$stderr" = "evt-read: unsupported store path 'file:x.db?mode=ro': SQLite URIs are not supported (for a file of that name, write ./file:x.db?mode=ro)" ]
	[ "$(echo ./*.db* ./file:*)" = './*.db* ./file:*' ]
	evt-append -q -d 'sqlite:x.db?mode=ro' s a '{"type":"q"}'
	evt-append -q -d ./file:x.db s a '{"type":"f"}'
	[ -e 'x.db?mode=ro' ] && [ -e file:x.db ]
	run -0 --separate-stderr evt-read -d 'sqlite:x.db?mode=ro'
	same "$(no_ts)" "$(rec 1 s a 1 '{"type":"q"}')"
	# and a program evt-command runs gets it as a file name too
	evt-command -d 'sqlite:x.db?mode=ro' s a go -- sh -c 'printf "%s\n" "$EVT_DB" >envdb'
	[ "$(cat envdb)" = "sqlite:$PWD/x.db?mode=ro" ]
}

@test "a store that cannot be opened is exit 1" {
	sqlite_only "tests/pg.bats has the PostgreSQL messages"
	run -1 --separate-stderr evt-append -d nodir/x.db s a '{"type":"a"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: cannot open 'nodir/x.db': no such directory" ]
	run -1 --separate-stderr evt-command -d "$PWD/nodir/x.db" s a go -- true
	[ "$stderr" = "evt-command: cannot open '$PWD/nodir/x.db': no such directory" ]
	: >file
	run -1 --separate-stderr evt-append -d file/x.db s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open 'file/x.db': Not a directory" ]
	echo 'not a database, not at all' >bad.db
	run -1 --separate-stderr evt-append -d bad.db s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open 'bad.db': file is not a database" ]
}

# --- options -------------------------------------------------------------------

@test "an unknown option is a usage error" {
	run -2 --separate-stderr evt-append --bogus users u1 '{"type":"a"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: unknown option '--bogus'" ]
	run -2 --separate-stderr evt-append --bogus=1 users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: unknown option '--bogus'" ]
	run -2 --separate-stderr evt-append -x users u1 '{"type":"a"}'
	[ "$stderr" = "evt-append: unknown option '-x'" ]
	run -2 --separate-stderr evt-append users u1 -d
	[ "$stderr" = "evt-append: option '-d' needs a value" ]
	[ ! -e events.db ]
}

@test "an escaped stream name and a long id print whole" {
	local s id
	s=$(printf '\001%.0s' $(seq 30))
	id=$(printf 'y%.0s' $(seq 255))
	run -0 --separate-stderr evt-append -q "$s" "$id" '{"type":"x"}'
	run -0 --separate-stderr evt-read --last
	[ "$stderr" = "" ]
	[ "$(printf '%s' "$output" | sed "s/\"timestamp\":\"[^\"]*\"/T/")" = "{\"position\":1,\"stream\":\"$(printf '\\u0001%.0s' $(seq 30))\",\"aggregateId\":\"$id\",\"version\":1,T,\"event\":{\"type\":\"x\"}}" ]
}

#!/usr/bin/env bats
# evt-read: print stored events as NDJSON.
# backends: sqlite pg my

load test_helper

# A record with a fixed timestamp, as the fixture below writes them.
rec() {
	printf '{"position":%s,"stream":"%s","aggregateId":"%s","version":%s,"timestamp":"2020-01-02T03:04:05.678Z","event":%s}' "$@"
}

# A store of 7 events over three streams, with known timestamps.
#   1 users/u1 v1 created      5 posts/p1 v2 published
#   2 posts/p1 v1 created      6 users/u1 v3 disabled
#   3 users/u1 v2 renamed      7 other/o1 v1 renamed
#   4 users/u2 v1 created
fixture() {
	cat >fixture.ndjson <<'EOF'
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"created","name":"ann"}}
{"stream":"posts","aggregateId":"p1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"created"}}
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"re\u006eamed","name":"bo"}}
{"stream":"users","aggregateId":"u2","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"created"}}
{"stream":"posts","aggregateId":"p1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"published"}}
{"stream":"users","aggregateId":"u1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"disabled"}}
{"stream":"other","aggregateId":"o1","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"renamed"}}
EOF
	evt-append -q --records "$@" <fixture.ndjson
}

R1=$(rec 1 users u1 1 '{"type":"created","name":"ann"}')
R2=$(rec 2 posts p1 1 '{"type":"created"}')
R3=$(rec 3 users u1 2 '{"type":"re\u006eamed","name":"bo"}')
R4=$(rec 4 users u2 1 '{"type":"created"}')
R5=$(rec 5 posts p1 2 '{"type":"published"}')
R6=$(rec 6 users u1 3 '{"type":"disabled"}')
R7=$(rec 7 other o1 1 '{"type":"renamed"}')

join_lines() {
	printf '%s\n' "$@"
}

# --- selection -------------------------------------------------------------------

# --- what is in the store ---------------------------------------------------

@test "--streams: one line per stream, in byte order; --aggregates STREAM: one per aggregate" {
	evt-append -q users u2 '{"type":"created"}'
	evt-append -q users u1 '{"type":"created"}' '{"type":"disabled"}'
	evt-append -q posts p1 '{"type":"posted"}'
	evt-append -q Zeta 'z "q"' '{"type":"z"}'
	evt-append -q users u2 '{"type":"renamed"}'
	run -0 --separate-stderr evt-read --streams
	same "$output" '{"stream":"Zeta","events":1,"aggregates":1,"position":5}
{"stream":"posts","events":1,"aggregates":1,"position":4}
{"stream":"users","events":4,"aggregates":2,"position":6}'
	run -0 --separate-stderr evt-read --aggregates users
	same "$output" '{"stream":"users","aggregateId":"u1","version":2,"position":3}
{"stream":"users","aggregateId":"u2","version":2,"position":6}'
	run -0 --separate-stderr evt-read --aggregates Zeta
	[ "$output" = '{"stream":"Zeta","aggregateId":"z \"q\"","version":1,"position":5}' ]
	run -0 --separate-stderr evt-read --aggregates nothing
	[ "$output" = "" ]
}

@test "--streams and --aggregates: usage errors" {
	run -2 --separate-stderr evt-read --streams users
	[ "$stderr" = "evt-read: --streams takes no other option or argument" ]
	run -2 --separate-stderr evt-read --streams --after 1
	[ "$stderr" = "evt-read: --streams takes no other option or argument" ]
	run -2 --separate-stderr evt-read --aggregates users -n 1
	[ "$stderr" = "evt-read: --aggregates takes no other option or argument" ]
	run -2 --separate-stderr evt-read --streams --aggregates users
	[ "$stderr" = "evt-read: --streams and --aggregates cannot be used together" ]
	run -2 --separate-stderr evt-read --aggregates ''
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-read --aggregates
	[ "$stderr" = "evt-read: option '--aggregates' needs a value" ]
}

@test "no STREAM: every event in position order" {
	fixture
	run -0 --separate-stderr evt-read
	[ "$stderr" = "" ]
	same "$output" "$(join_lines "$R1" "$R2" "$R3" "$R4" "$R5" "$R6" "$R7")"
}

@test "STREAM: the events of that stream in position order" {
	fixture
	run -0 --separate-stderr evt-read users
	same "$output" "$(join_lines "$R1" "$R3" "$R4" "$R6")"
	run -0 --separate-stderr evt-read nope
	[ "$output" = "" ]
	[ "$stderr" = "" ]
}

@test "STREAM,STREAM: the events of those streams in position order" {
	fixture
	run -0 --separate-stderr evt-read posts,other
	same "$output" "$(join_lines "$R2" "$R5" "$R7")"
	run -0 --separate-stderr evt-read other,users,nope
	same "$output" "$(join_lines "$R1" "$R3" "$R4" "$R6" "$R7")"
}

@test "STREAM ID: that aggregate" {
	fixture
	run -0 --separate-stderr evt-read users u1
	same "$output" "$(join_lines "$R1" "$R3" "$R6")"
	run -0 --separate-stderr evt-read posts u1
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read users,posts p1
	same "$output" "$(join_lines "$R2" "$R5")"
}

@test "STREAM ID: in version order, whatever the positions" {
	evt-append -q s a '{"type":"one"}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES
		(3, 's', 'a', '$TS_SQL', '{\"type\":\"three\"}'),
		(2, 's', 'a', '$TS_SQL', '{\"type\":\"two\"}')"
	run -0 --separate-stderr evt-read s a
	same "$(no_ts)" "$(join_lines '{"position":1,"stream":"s","aggregateId":"a","version":1,"timestamp":"TS","event":{"type":"one"}}' \
		'{"position":3,"stream":"s","aggregateId":"a","version":2,"timestamp":"TS","event":{"type":"two"}}' \
		'{"position":2,"stream":"s","aggregateId":"a","version":3,"timestamp":"TS","event":{"type":"three"}}')"
	run -0 --separate-stderr evt-read --last s a
	same "$(no_ts)" '{"position":2,"stream":"s","aggregateId":"a","version":3,"timestamp":"TS","event":{"type":"three"}}'
	run -0 --separate-stderr evt-read s
	same "$(no_ts)" "$(join_lines '{"position":1,"stream":"s","aggregateId":"a","version":1,"timestamp":"TS","event":{"type":"one"}}' \
		'{"position":2,"stream":"s","aggregateId":"a","version":3,"timestamp":"TS","event":{"type":"three"}}' \
		'{"position":3,"stream":"s","aggregateId":"a","version":2,"timestamp":"TS","event":{"type":"two"}}')"
}

@test "--stream NAME: a stream with ',' written by others, exactly; repeatable, then [ID]" {
	put users u1 '{"type":"a"}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 'a,b', 'x', '$TS_SQL', '{\"type\":\"b\"}'), (1, 'a', 'x', '$TS_SQL', '{\"type\":\"c\"}'), (2, 'a,b', 'x', '$TS_SQL', '{\"type\":\"d\"}')"
	run -0 --separate-stderr evt-read --stream a,b
	same "$output" "$(join_lines "$(trec 2 a,b x 1 '{"type":"b"}')" "$(trec 4 a,b x 2 '{"type":"d"}')")"
	run -0 --separate-stderr evt-read a,b
	same "$output" "$(trec 3 a x 1 '{"type":"c"}')"
	run -0 --separate-stderr evt-read --stream=a,b --stream users --type a --type b
	same "$output" "$(join_lines "$(trec 1 users u1 1 '{"type":"a"}')" "$(trec 2 a,b x 1 '{"type":"b"}')")"
	run -0 --separate-stderr evt-read --last --stream a,b x
	same "$output" "$(trec 4 a,b x 2 '{"type":"d"}')"
	run -0 --separate-stderr evt-read --head --stream a,b
	[ "$output" = 4 ]
	run -2 --separate-stderr evt-read --stream a,b x y
	[ "$stderr" = "evt-read: too many arguments (see evt-read --help)" ]
	run -2 --separate-stderr evt-read --stream ''
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	# evt-fold takes no STREAM list: a name with ',' is one stream
	run -0 --separate-stderr evt-fold a,b x
	[ "$output" = '{"aggregateId":"x","version":2}' ]
	run -0 --separate-stderr evt-fold --all a,b
	[ "$output" = '{"aggregateId":"x","version":2}' ]
}

@test "--after POSITION: only positions greater than POSITION" {
	fixture
	run -0 --separate-stderr evt-read --after 4
	same "$output" "$(join_lines "$R5" "$R6" "$R7")"
	run -0 --separate-stderr evt-read --after=0 users
	same "$output" "$(join_lines "$R1" "$R3" "$R4" "$R6")"
	run -0 --separate-stderr evt-read --after 3 users u1
	same "$output" "$R6"
	run -0 --separate-stderr evt-read --after 7
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --after 9223372036854775807
	[ "$output" = "" ]
}

@test "-n LIMIT: at most LIMIT records" {
	fixture
	run -0 --separate-stderr evt-read -n 2
	same "$output" "$(join_lines "$R1" "$R2")"
	run -0 --separate-stderr evt-read --limit 3 --after 2 users
	same "$output" "$(join_lines "$R3" "$R4" "$R6")"
	run -0 --separate-stderr evt-read -n 1 --after 1 users u1
	same "$output" "$R3"
	run -0 --separate-stderr evt-read -n 100
	same "$output" "$(join_lines "$R1" "$R2" "$R3" "$R4" "$R5" "$R6" "$R7")"
	run -0 --separate-stderr evt-read -n 0
	[ "$output" = "" ]
	[ "$stderr" = "" ]
}

@test "--type TYPE, repeatable, also for a type written with a \\u escape" {
	fixture
	run -0 --separate-stderr evt-read --type renamed
	same "$output" "$(join_lines "$R3" "$R7")"
	run -0 --separate-stderr evt-read --type created --type disabled users
	same "$output" "$(join_lines "$R1" "$R4" "$R6")"
	run -0 --separate-stderr evt-read --type renamed --type published users,posts -n 1 --after 3
	same "$output" "$R5"
	run -0 --separate-stderr evt-read --type renamed users u1
	same "$output" "$R3"
	run -0 --separate-stderr evt-read --type Renamed --type 're\u006eamed'
	[ "$output" = "" ]
}

@test "--type matches the type member, not other members" {
	evt-append -q s a '{"kind":"x","type":"y","data":{"type":"x"}}' '{"type":"x"}'
	run -0 --separate-stderr evt-read --type x
	same "$(no_ts)" '{"position":2,"stream":"s","aggregateId":"a","version":2,"timestamp":"TS","event":{"type":"x"}}'
}

@test "--last: only the newest matching record" {
	fixture
	run -0 --separate-stderr evt-read --last
	same "$output" "$R7"
	run -0 --separate-stderr evt-read --last users
	same "$output" "$R6"
	run -0 --separate-stderr evt-read --last users,posts
	same "$output" "$R6"
	run -0 --separate-stderr evt-read --last posts p1
	same "$output" "$R5"
	run -0 --separate-stderr evt-read --last --type created
	same "$output" "$R4"
	run -0 --separate-stderr evt-read --last --type created users u1
	same "$output" "$R1"
}

@test "--last with no match prints nothing" {
	fixture
	run -0 --separate-stderr evt-read --last users u9
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read --last nope
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --last --type nope
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read --last --after 7
	[ "$output" = "" ]
}

@test "--head: the greatest matching position" {
	fixture
	run -0 --separate-stderr evt-read --head
	[ "$output" = 7 ]
	run -0 --separate-stderr evt-read --head users
	[ "$output" = 6 ]
	run -0 --separate-stderr evt-read --head posts
	[ "$output" = 5 ]
	run -0 --separate-stderr evt-read --head posts,other
	[ "$output" = 7 ]
	run -0 --separate-stderr evt-read --head --type created
	[ "$output" = 4 ]
	run -0 --separate-stderr evt-read --head --type created --type published users,posts
	[ "$output" = 5 ]
	run -0 --separate-stderr evt-read --head nope
	[ "$output" = 0 ]
	run -0 --separate-stderr evt-read --head --type nope
	[ "$output" = 0 ]
}

@test "--head is 0 on an empty store and on a new table" {
	db_sql 'CREATE TABLE other (x integer)'
	run -0 --separate-stderr evt-read --head
	[ "$output" = 0 ]
	[ "$stderr" = "" ]
	fixture
	run -0 --separate-stderr evt-read --head --events-table fresh
	[ "$output" = 0 ]
	run -0 --separate-stderr evt-read --head users --events-table fresh
	[ "$output" = 0 ]
}

@test "an unpaired surrogate escape stored by others prints verbatim" {
	evt-append -q s a '{"type":"x"}'
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (2, 's', 'a', '$TS_SQL', '{\"type\":\"y\",\"s\":\"\\ud800\",\"\\udc00\":1}')"
	run -0 --separate-stderr evt-read --type y
	[ "$output" = "$(trec 2 s a 2 '{"type":"y","s":"\ud800","\udc00":1}')" ]
}

# --- timestamps --------------------------------------------------------------------

@test "integer-millisecond timestamps print as ISO-8601" {
	sqlite_only "a timestamptz column holds no integers"
	evt-append -q s a '{"type":"a"}'
	sqlite3 events.db "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES
		(2, 's', 'a', 1764157187123, '{\"type\":\"b\"}'),
		(3, 's', 'a', 0, '{\"type\":\"c\"}'),
		(4, 's', 'a', 951782400005, '{\"type\":\"d\"}')"
	run -0 --separate-stderr evt-read --after 1
	same "$output" "$(join_lines '{"position":2,"stream":"s","aggregateId":"a","version":2,"timestamp":"2025-11-26T11:39:47.123Z","event":{"type":"b"}}' \
		'{"position":3,"stream":"s","aggregateId":"a","version":3,"timestamp":"1970-01-01T00:00:00.000Z","event":{"type":"c"}}' \
		'{"position":4,"stream":"s","aggregateId":"a","version":4,"timestamp":"2000-02-29T00:00:00.005Z","event":{"type":"d"}}')"
}

@test "ISO text with an offset, or SQLite's UTC text, stored by others prints in UTC; text that is no time as it is" {
	sqlite_only "a timestamptz column holds instants"
	evt-append -q s a '{"type":"a"}'
	sqlite3 events.db "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES
		(2, 's', 'a', '2020-01-02T03:04:05+01:00', '{\"type\":\"b\"}'),
		(3, 's', 'a', '2020-01-02T03:04:05.1234567Z', '{\"type\":\"c\"}'),
		(4, 's', 'a', '2020-01-02 03:04:05', '{\"type\":\"d\"}'),
		(5, 's', 'a', '2020-13-45T99:99:99.999Z', '{\"type\":\"e\"}')"
	run -0 --separate-stderr evt-read --after 1
	same "$output" "$(join_lines '{"position":2,"stream":"s","aggregateId":"a","version":2,"timestamp":"2020-01-02T02:04:05.000Z","event":{"type":"b"}}' \
		'{"position":3,"stream":"s","aggregateId":"a","version":3,"timestamp":"2020-01-02T03:04:05.123Z","event":{"type":"c"}}' \
		'{"position":4,"stream":"s","aggregateId":"a","version":4,"timestamp":"2020-01-02T03:04:05.000Z","event":{"type":"d"}}' \
		'{"position":5,"stream":"s","aggregateId":"a","version":5,"timestamp":"2020-13-45T99:99:99.999Z","event":{"type":"e"}}')"
}

@test "ISO timestamps written by evt-append print as stored" {
	evt-append -q s a '{"type":"a"}'
	if pg_backend; then
		run -0 db_sql "SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM events"
	elif my_backend; then
		run -0 db_sql "SELECT CONCAT(DATE_FORMAT(timestamp, '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND(timestamp) DIV 1000, 3, '0'), 'Z') FROM events"
	else
		run -0 sqlite3 events.db 'SELECT timestamp FROM events'
	fi
	[[ "$output" =~ ^$TS_RE$ ]]
	stored=$output
	run -0 --separate-stderr evt-read
	[[ "$output" == *"\"timestamp\":\"$stored\","* ]]
}

# --- the store ----------------------------------------------------------------------

@test "a missing store is exit 1 and is not created" {
	sqlite_only "about SQLite files; tests/pg.bats has PostgreSQL's"
	run -1 --separate-stderr evt-read -d x.db
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open 'x.db': no such store" ]
	run -1 --separate-stderr evt-read -d x.db --head
	[ "$stderr" = "evt-read: cannot open 'x.db': no such store" ]
	run -1 --separate-stderr evt-read -d x.db --last users
	[ "$stderr" = "evt-read: cannot open 'x.db': no such store" ]
	run -1 --separate-stderr evt-read
	[ "$stderr" = "evt-read: cannot open 'events.db': no such store" ]
	[ -z "$(ls -d x.db* events.db* 2>/dev/null)" ]
}

@test "an existing store without tables reads as empty" {
	empty=$(db empty.db) zero=$(db zero.db)
	db_sql 'CREATE TABLE other (x integer)' empty.db
	server_backend || : >zero.db
	for db in "$empty" "$zero"; do
		run -0 --separate-stderr evt-read -d "$db"
		[ "$output" = "" ]
		[ "$stderr" = "" ]
		run -0 --separate-stderr evt-read -d "$db" users u1
		[ "$output" = "" ]
		run -0 --separate-stderr evt-read -d "$db" --last
		[ "$output" = "" ]
		run -0 --separate-stderr evt-read -d "$db" --head
		[ "$output" = 0 ]
	done
	# and reading did not create the tables
	if pg_backend; then
		run -0 db_sql "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()" empty.db
	elif my_backend; then
		run -0 db_sql "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()" empty.db
	else
		run -0 sqlite3 empty.db "SELECT name FROM sqlite_master WHERE type = 'table'"
	fi
	[ "$output" = other ]
}

@test "a file that is not a database is exit 1" {
	sqlite_only "about SQLite files"
	echo 'this is not a database, it is a text file' >bad.db
	run -1 --separate-stderr evt-read -d bad.db
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open 'bad.db': file is not a database" ]
	run -1 --separate-stderr evt-read -d bad.db --head
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open 'bad.db': file is not a database" ]
}

@test "--events-table and EVT_EVENTS_TABLE choose the table" {
	fixture --events-table mine
	evt-append -q s a '{"type":"default"}'
	run -0 --separate-stderr evt-read --events-table mine users u2
	same "$output" "$R4"
	EVT_EVENTS_TABLE=mine run -0 --separate-stderr evt-read --head
	[ "$output" = 7 ]
	EVT_EVENTS_TABLE=mine run -0 --separate-stderr evt-read --events-table events
	same "$(no_ts)" '{"position":1,"stream":"s","aggregateId":"a","version":1,"timestamp":"TS","event":{"type":"default"}}'
	run -0 --separate-stderr evt-read --bookmarks-table other_marks --head
	[ "$output" = 1 ]
}

@test "a bad table name is a usage error" {
	fixture
	run -2 --separate-stderr evt-read --events-table a-b
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: invalid events table 'a-b': $NAME_RULE" ]
	EVT_EVENTS_TABLE='x y' run -2 --separate-stderr evt-read
	[ "$stderr" = "evt-read: invalid events table 'x y': $NAME_RULE" ]
	run -2 --separate-stderr evt-read --bookmarks-table 1b
	[ "$stderr" = "evt-read: invalid bookmarks table '1b': $NAME_RULE" ]
	long=$(printf 'a%.0s' $(seq 64))
	run -2 --separate-stderr evt-read --events-table "$long"
	[ "$stderr" = "evt-read: invalid events table '$long': has a part longer than 63 bytes" ]
}

@test "-d, --db, EVT_DB, sqlite:PATH and the default events.db" {
	sqlite_only "about SQLite paths"
	fixture -d a.db
	evt-append -q s a '{"type":"default"}'
	run -0 --separate-stderr evt-read -d a.db --head
	[ "$output" = 7 ]
	run -0 --separate-stderr evt-read --db a.db --last
	same "$output" "$R7"
	EVT_DB=a.db run -0 --separate-stderr evt-read --head
	[ "$output" = 7 ]
	EVT_DB=sqlite:a.db run -0 --separate-stderr evt-read -n 1
	same "$output" "$R1"
	run -0 --separate-stderr evt-read -d sqlite:a.db --head users
	[ "$output" = 6 ]
	EVT_DB=a.db run -0 --separate-stderr evt-read -d events.db --head
	[ "$output" = 1 ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 1 ]
}

@test "reads what evt-append printed, byte for byte" {
	printf '{"type":"a","n":1e400,"m":0.1,"k":12345678901234567890,"s":"\\u00e9 é","d":1,"d":2}\n{"type":"b"}\n' >in
	evt-append users u1 <in >appended
	evt-append posts p1 '{"type":"c"}' >>appended
	evt-read >got
	cmp got appended
}

# --- output errors ----------------------------------------------------------------------

@test "write error on stdout is exit 1 with a message" {
	fixture
	run -1 --separate-stderr to_full evt-read
	[ "$stderr" = "evt-read: write error: No space left on device" ]
	run -1 --separate-stderr to_full evt-read --head
	[ "$stderr" = "evt-read: write error: No space left on device" ]
	run -1 --separate-stderr to_full evt-read --last users
	[ "$stderr" = "evt-read: write error: No space left on device" ]
	# nothing to print is no error
	run -0 --separate-stderr to_full evt-read nope
	[ "$stderr" = "" ]
}

@test "evt-read | head -1 ends quietly on a store of 100,000 events" {
	seq 100000 | sed 's/.*/{"type":"n","i":&}/' | evt-append -q s a
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) bash -c 'evt-read | head -n 1; echo "status ${PIPESTATUS[0]}"'
	[ "$stderr" = "" ]
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[0]}" =~ ^\{\"position\":1,\"stream\":\"s\",\"aggregateId\":\"a\",\"version\":1,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"n\",\"i\":1\}\}$ ]]
	[ "${lines[1]}" = "status 0" ]
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) bash -c 'set -o pipefail; evt-read s a | head -n 1 >/dev/null'
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-read --head
	[ "$output" = 100000 ]
}

# --- usage ------------------------------------------------------------------------------

@test "a bad LIMIT or POSITION is a usage error" {
	fixture
	for v in abc -1 1.5 '' ' 1' +1 99999999999999999999; do
		run -2 --separate-stderr evt-read -n "$v"
		[ "$output" = "" ]
		[ "$stderr" = "evt-read: invalid limit '$v': expected a whole number from 0 to 9223372036854775807" ]
		run -2 --separate-stderr evt-read --after "$v"
		[ "$stderr" = "evt-read: invalid position '$v': expected a whole number from 0 to 9223372036854775807" ]
	done
	run -2 --separate-stderr evt-read -n
	[ "$stderr" = "evt-read: option '-n' needs a value" ]
	run -2 --separate-stderr evt-read --after
	[ "$stderr" = "evt-read: option '--after' needs a value" ]
	run -2 --separate-stderr evt-read --type
	[ "$stderr" = "evt-read: option '--type' needs a value" ]
	run -2 --separate-stderr evt-read --type ''
	[ "$stderr" = "evt-read: invalid type ''" ]
}

@test "more than STREAM and ID is a usage error" {
	fixture
	run -2 --separate-stderr evt-read users u1 extra
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: too many arguments (see evt-read --help)" ]
}

@test "bad stream and id names are usage errors" {
	fixture
	max=$(printf 'x%.0s' $(seq 255))
	run -2 --separate-stderr evt-read ''
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-read users ''
	[ "$stderr" = "evt-read: invalid aggregate id '': is empty" ]
	run -2 --separate-stderr evt-read "${max}y"
	[ "$stderr" = "evt-read: invalid stream '${max}y': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-read users "${max}y"
	[ "$stderr" = "evt-read: invalid aggregate id '${max}y': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-read $'us\xffers'
	[ "$stderr" = $'evt-read: invalid stream \'us\xffers\': is not valid UTF-8' ]
	run -0 --separate-stderr evt-read "$max" "$max"
	[ "$output" = "" ]
}

@test "an empty or bad part of STREAM,STREAM is a usage error naming it" {
	fixture
	max=$(printf 'x%.0s' $(seq 255))
	run -2 --separate-stderr evt-read 'users,,posts'
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-read 'users,'
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-read ',users'
	[ "$stderr" = "evt-read: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-read "users,${max}y"
	[ "$stderr" = "evt-read: invalid stream '${max}y': is longer than 255 bytes" ]
}

@test "--head and --last together are a usage error" {
	fixture
	run -2 --separate-stderr evt-read --head --last
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: --head and --last cannot be used together" ]
}

@test "an unknown option is a usage error" {
	fixture
	run -2 --separate-stderr evt-read --bogus
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: unknown option '--bogus'" ]
	run -2 --separate-stderr evt-read -x
	[ "$stderr" = "evt-read: unknown option '-x'" ]
	run -2 --separate-stderr evt-read -q
	[ "$stderr" = "evt-read: unknown option '-q'" ]
}

@test "usage errors come before opening the store" {
	run -2 --separate-stderr evt-read -d x.db -n abc
	[ "$stderr" = "evt-read: invalid limit 'abc': expected a whole number from 0 to 9223372036854775807" ]
	run -2 --separate-stderr evt-read -d x.db a b c
	[ "$stderr" = "evt-read: too many arguments (see evt-read --help)" ]
	[ ! -e x.db ]
}


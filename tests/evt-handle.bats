#!/usr/bin/env bats
# evt-handle: run an external program per event, with a durable bookmark.
# backends: sqlite pg my
#
# Handlers are small shell scripts written into the test's directory. A
# handler that must be caught in the act creates "started" and then waits
# for a "go" file (bounded); a holder of a NAME runs in the background and
# tests wait for it with a bounded poll (wait_until), never a fixed sleep.

load test_helper

# A store of 5 events:
#   1 posts/p1 v1 postCreated   3 users/u1 v1 created   5 posts/p2 v1 postCreated
#   2 posts/p1 v2 postEdited    4 posts/p1 v3 postDeleted
fixture() {
	put posts p1 '{"type":"postCreated","title":"hi"}' '{"type":"postEdited"}'
	put users u1 '{"type":"created"}'
	put posts p1 '{"type":"postDeleted"}'
	put posts p2 '{"type":"postCreated","title":"yo"}'
}
R1=$(trec 1 posts p1 1 '{"type":"postCreated","title":"hi"}')
R2=$(trec 2 posts p1 2 '{"type":"postEdited"}')
R3=$(trec 3 users u1 1 '{"type":"created"}')
R4=$(trec 4 posts p1 3 '{"type":"postDeleted"}')
R5=$(trec 5 posts p2 1 '{"type":"postCreated","title":"yo"}')
R_X=$(trec 1 s a 1 '{"type":"x"}')

# status NAME STREAMS POSITION HEAD LAG PARKED RUNNING: a --status line
# (STREAMS: a JSON array, or null).
status() {
	printf '{"name":"%s","streams":%s,"position":%s,"head":%s,"lag":%s,"parked":%s,"running":%s}' \
		"$1" "$2" "$3" "$4" "$5" "$6" "$7"
}

# mkprog NAME BODY: an executable /bin/sh script NAME in the test directory.
mkprog() {
	printf '#!/bin/sh\n%s\n' "$2" >"$1"
	chmod +x "$1"
}

# The body of a handler that signals "started" and waits (at most 20 s) for
# the file "go", then notes its position in "effect".
WAIT_GO='touch started
i=0
while [ ! -e go ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done
echo "$EVT_POSITION" >>effect'

# start ARG...: run `evt-handle ARG...` in the background, its stdout in
# bg.out and its stderr in bg.err; its process id in $pid. teardown kills
# those a failed test left running.
start() {
	evt-handle "$@" >bg.out 2>bg.err 3>&- &
	pid=$!
	pids="${pids:-} $pid"
}

teardown() {
	local p
	for p in ${pids:-}; do
		kill -KILL "$p" 2>/dev/null || :
	done
}

# holding NAME: a process holds NAME, as --status says.
holding() {
	[[ "$(evt-handle --status "$1")" == *'"running":true}' ]]
}

# lock_waiter PID: PID waits for the lock of a NAME.  SQLite: PID has
# opened events.db-evtlock: it has signals blocked and tries the lock (one
# that comes now ends the wait).  PostgreSQL: a session waits for an
# advisory lock.  MariaDB: a session of this test's database waits in
# GET_LOCK.
lock_waiter() {
	case $EVT_TEST_BACKEND in
	pg)
		[ "$(db_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")" -gt 0 ]
		;;
	my)
		[ "$(db_sql "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '$EVT_TEST_DB' AND STATE = 'User lock'")" -gt 0 ]
		;;
	*)
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q -- '-> .*/events\.db-evtlock$'
		;;
	esac
}

# empty_store: a store without tables: an empty SQLite file; on a server
# the test's own schema or database, which has none.
empty_store() {
	server_backend || : >events.db
}

# iso COLUMN: SQL that gives the timestamp COLUMN of one of evt's tables
# as evt prints it.
iso() {
	case $EVT_TEST_BACKEND in
	pg) printf '%s' "to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')" ;;
	my) printf '%s' "CONCAT(DATE_FORMAT($1, '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND($1) DIV 1000, 3, '0'), 'Z')" ;;
	*) printf '%s' "$1" ;;
	esac
}

# ping STREAM: append an event to STREAM/ping and tell whether a follower
# that prints its records in bg.out has printed one such event yet (a
# follower started with --tail knows its start only once it prints one).
ping() {
	put "$1" ping '{"type":"ping"}'
	grep -q '"aggregateId":"ping"' bg.out
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	echo $(( ${EPOCHREALTIME/./} / 1000 ))
}

# --- handling, the record and the environment -----------------------------

@test "handles the stream's events in position order, each record on stdin" {
	fixture
	run -0 --separate-stderr evt-handle h posts -- cat
	[ "$stderr" = "" ]
	same "$output" "$R1
$R2
$R4
$R5"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
}

@test "the record on stdin is the line evt-read prints" {
	evt-append -q s a '{"type":"x","n":1e400,"s":"\u00e9\n","k":1,"k":2}'
	evt-append -q s a '{"type":"y","deep":{"a":[1,{"b":null}]}}'
	run -0 --separate-stderr evt-handle h s -- cat
	want=$(evt-read s)
	same "$output" "$want"
}

@test "several streams are handled in position order; other streams are not" {
	fixture
	put other o1 '{"type":"created"}'
	run -0 --separate-stderr evt-handle h users,posts -- cat
	same "$output" "$R1
$R2
$R3
$R4
$R5"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["users","posts"]' 5 5 0 0 false)"
}

@test "--stream NAME: a stream with ',' written by others, in place of STREAM" {
	fixture
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 'a,b', 'x', '$TS_SQL', '{\"type\":\"b\"}')"
	run -0 --separate-stderr evt-handle --stream a,b --stream users h -- cat
	same "$output" "$R3
$(trec 6 a,b x 1 '{"type":"b"}')"
	run -0 --separate-stderr evt-handle --stream a,b h2 --on 'a,b:b=echo "$EVT_STREAM"'
	[ "$output" = "a,b" ]
	run -2 --separate-stderr evt-handle --stream a,b h3 posts -- cat
	[ "$stderr" = "evt-handle: unexpected argument 'posts'" ]
	run -2 --separate-stderr evt-handle --stream '' h3 -- cat
	[ "$stderr" = "evt-handle: invalid stream '': is empty" ]
}

@test "a second run handles only the events after the bookmark" {
	fixture
	run -0 --separate-stderr evt-handle h posts -- cat
	put posts p3 '{"type":"postCreated"}'
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" "$(trec 6 posts p3 1 '{"type":"postCreated"}')"
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" ""
	[ "$stderr" = "" ]
}

@test "nothing to handle: exit 0 and no bookmark written; the handler is remembered" {
	empty_store	# a store without tables reads as empty
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" ""
	[ "$stderr" = "" ]
	put users u1 '{"type":"created"}'
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" ""
	run -0 db_sql 'SELECT count(*) FROM bookmarks'
	[ "$output" = 0 ]
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["posts"]' 0 0 0 0 false)"
}

@test "the program gets every EVT_* variable" {
	fixture
	mkprog env.sh 'for v in EVT_HANDLER EVT_STREAM EVT_AGGREGATE_ID EVT_TYPE EVT_VERSION EVT_POSITION EVT_TIMESTAMP EVT_DB EVT_BATCH_SIZE; do
	eval "printf \"%s=%s\\n\" $v \"\$$v\""
done'
	# a SQLite path made absolute; a server's URL as given
	db=$(pwd -P)/events.db
	server_backend && db=$EVT_DB
	run -0 --separate-stderr evt-handle my-handler users -- ./env.sh
	[ "$stderr" = "" ]
	same "$output" "EVT_HANDLER=my-handler
EVT_STREAM=users
EVT_AGGREGATE_ID=u1
EVT_TYPE=created
EVT_VERSION=1
EVT_POSITION=3
EVT_TIMESTAMP=$TS
EVT_DB=$db
EVT_BATCH_SIZE=1"
}

@test "EVT_* of the event replace those evt-handle inherited" {
	fixture
	EVT_TYPE=bogus EVT_POSITION=99 EVT_HANDLER=other run -0 --separate-stderr \
		evt-handle h users -- sh -c 'echo "$EVT_HANDLER $EVT_TYPE $EVT_POSITION $HOME"'
	same "$output" "h created 3 $HOME"
}

@test "EVT_TYPE holds a long type whole" {
	t=$(printf 'x%.0s' $(seq 1000))
	put s a "{\"type\":\"$t\"}"
	run -0 --separate-stderr evt-handle h s -- sh -c 'printf "%s" "$EVT_TYPE" | wc -c'
	same "$output" "1000"
	run -0 --separate-stderr evt-handle h2 s --on "$t=echo matched"
	same "$output" "matched"
}

@test "EVT_TIMESTAMP is ISO-8601 also for a store that holds milliseconds, and empty for none" {
	put s a '{"type":"x"}'
	# milliseconds since the epoch in SQLite's column (as evtstore writes
	# them); the same time in a server's timestamp column
	t=1764160787123
	pg_backend && t="'2025-11-26T12:39:47.123Z'"
	my_backend && t="'2025-11-26 12:39:47.123'"
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (2, 's', 'a', $t, '{\"type\":\"y\"}'), (3, 's', 'a', NULL, '{\"type\":\"z\"}')"
	run -0 --separate-stderr evt-handle h s -- sh -c 'echo "[$EVT_TIMESTAMP]"; cat'
	same "$output" "[$TS]
$R_X
[2025-11-26T12:39:47.123Z]
$(trec 2 s a 2 '{"type":"y"}' | sed 's/"timestamp":"[^"]*"/"timestamp":"2025-11-26T12:39:47.123Z"/')
[]
$(trec 3 s a 3 '{"type":"z"}' | sed 's/"timestamp":"[^"]*"/"timestamp":null/')"
}

@test "EVT_DB is absolute for a relative SQLite path, whichever way it is given" {
	sqlite_only "about SQLite paths"
	mkdir -p sub work
	dir=$(pwd -P)
	put_opts="-d sub/x.db" put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle -d sub/x.db h1 s -- printenv EVT_DB
	same "$output" "$dir/sub/x.db"
	EVT_DB=sub/x.db run -0 --separate-stderr evt-handle h2 s -- printenv EVT_DB
	same "$output" "$dir/sub/x.db"
	run -0 --separate-stderr evt-handle -d sqlite:sub/x.db h3 s -- printenv EVT_DB
	same "$output" "$dir/sub/x.db"
	run -0 --separate-stderr evt-handle -d "$dir/sub/x.db" h4 s -- printenv EVT_DB
	same "$output" "$dir/sub/x.db"
	run -0 --separate-stderr evt-handle -d sqlite:///sub/x.db h6 s -- printenv EVT_DB
	same "$output" "$dir/sub/x.db"
	# so a program that changes directory still finds the store
	run -0 --separate-stderr evt-handle -d sub/x.db h5 s -- sh -c 'cd work && evt-read --head'
	same "$output" "1"
}

@test "the program's stdout and stderr are evt-handle's" {
	put s a '{"type":"x"}' '{"type":"y"}'
	run -0 --separate-stderr evt-handle h s -- sh -c 'echo "out $EVT_TYPE"; echo "err $EVT_TYPE" >&2'
	same "$output" "out x
out y"
	same "$stderr" "err x
err y"
}

@test "a program that does not read its stdin is fine, however large the record" {
	big=$(head -c 300000 /dev/zero | tr '\0' a)
	printf '{"type":"x","b":"%s"}\n{"type":"y"}\n' "$big" | evt-append -q s a
	run -0 --separate-stderr evt-handle h s -- true
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle h2 s -- sh -c 'wc -c'
	same "$output" "$(evt-read s | sed -n 1p | wc -c)
$(evt-read s | sed -n 2p | wc -c)"
}

@test "the program starts with default SIGPIPE, whatever evt-handle does with it" {
	put s a '{"type":"x"}'
	run -5 --separate-stderr evt-handle h s -- sh -c 'kill -PIPE $$; echo survived'
	same "$output" ""
	[ "$stderr" = "evt-handle: h: 'sh' was killed by signal 13 (Broken pipe) at position 1 (s/a v1 x)" ]
}

# --- dispatch ---------------------------------------------------------------

@test "--on STREAM:TYPE beats --on TYPE beats -- PROGRAM, whatever their order" {
	put posts p1 '{"type":"created"}'
	put users u1 '{"type":"created"}'
	put posts p1 '{"type":"edited"}'
	put users u1 '{"type":"other"}'
	run -0 --separate-stderr evt-handle h posts,users \
		--on 'created=echo "on created $EVT_STREAM $EVT_POSITION"' \
		--on 'posts:created=echo "on posts:created $EVT_POSITION"' \
		-- sh -c 'echo "program $EVT_TYPE $EVT_POSITION"'
	[ "$stderr" = "" ]
	same "$output" "on posts:created 1
on created users 2
program edited 3
program other 4"
}

@test "of two --on for the same event, the first one given runs" {
	put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle h s --on 'x=echo first' --on 'x=echo second' \
		--on 's:x=echo third' --on 's:x=echo fourth'
	same "$output" "third"
}

@test "an event nothing matches is skipped and the bookmark moves past it" {
	fixture
	run -0 --separate-stderr evt-handle h posts --on 'postEdited=cat'
	same "$output" "$R2"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
	run -0 --separate-stderr evt-handle h2 posts --on 'nothing=cat'
	same "$output" ""
	run -0 --separate-stderr evt-handle --status h2
	same "$output" "$(status h2 '["posts"]' 5 5 0 0 false)"
}

@test "a run in which no --on matched any event warns; a program for the rest does not" {
	fixture
	# a mistyped TYPE
	run -0 --separate-stderr evt-handle h posts --on 'postcreated=cat' --on 'posts:postedited=cat'
	same "$output" ""
	[ "$stderr" = "evt-handle: h: no --on matched any of the 4 events; the bookmark moved past them" ]
	put posts p3 '{"type":"x"}'
	run -0 --separate-stderr evt-handle h posts --on 'postcreated=cat'
	[ "$stderr" = "evt-handle: h: no --on matched the 1 event; the bookmark moved past it" ]
	# one match is enough; nothing to handle says nothing
	run -0 --separate-stderr evt-handle h2 posts --on 'postEdited=true' --on 'postcreated=cat'
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle h2 posts --on 'postcreated=cat'
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle h3 posts --on 'postcreated=cat' -- true
	[ "$stderr" = "" ]
}

@test "--on COMMAND runs by /bin/sh -c with the record on stdin" {
	fixture
	run -0 --separate-stderr evt-handle h users --on 'created=read -r line; printf "%s|%s\n" "$EVT_TYPE" "$line" | tr a-z A-Z'
	same "$output" "CREATED|$(printf '%s' "$R3" | tr a-z A-Z)"
}

@test "-- PROGRAM runs with no shell: its arguments stay as given" {
	put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle h s -- printf '%s|%s\n' '$HOME' '*;`id`'
	same "$output" '$HOME|*;`id`'
}

@test "a type like \$(touch pwned) runs no shell code" {
	put 's' 'a;touch pwned-id' '{"type":"$(touch pwned)"}' '{"type":"`touch pwned2`;touch pwned3 \"x"}'
	# a different --on type: the event goes to -- PROGRAM
	run -0 --separate-stderr evt-handle h1 s --on 'other=echo other' -- sh -c 'printf "%s|%s\n" "$EVT_TYPE" "$EVT_AGGREGATE_ID"'
	[ "$stderr" = "" ]
	same "$output" '$(touch pwned)|a;touch pwned-id
`touch pwned2`;touch pwned3 "x|a;touch pwned-id'
	# an --on command that uses the type
	run -0 --separate-stderr evt-handle h2 s --on 'other=echo other' \
		--on '$(touch pwned)=printf "on %s\n" "$EVT_TYPE"' \
		--on 's:`touch pwned2`;touch pwned3 "x=printf "on %s\n" "$EVT_TYPE"'
	same "$output" 'on $(touch pwned)
on `touch pwned2`;touch pwned3 "x'
	# and in a failure message
	run -5 --separate-stderr evt-handle h3 s -- false
	[ "$stderr" = "evt-handle: h3: 'false' exited with status 1 at position 1 (s/a;touch pwned-id v1 \$(touch pwned))" ]
	run -0 find . -name 'pwned*'
	same "$output" ""
}

# --- failure ----------------------------------------------------------------

@test "a failing program: exit 5, the bookmark stays before its event, the next run delivers it again" {
	fixture
	mkprog h.sh 'echo "$EVT_POSITION"; [ "$EVT_POSITION" != 4 ] || exit 3'
	run -5 --separate-stderr evt-handle posts-model posts -- ./h.sh
	same "$output" "1
2
4"
	[ "$stderr" = "evt-handle: posts-model: './h.sh' exited with status 3 at position 4 (posts/p1 v3 postDeleted)" ]
	run -0 --separate-stderr evt-handle --status posts-model
	same "$output" "$(status posts-model '["posts"]' 2 5 2 0 false)"
	run -5 --separate-stderr evt-handle posts-model posts -- ./h.sh
	same "$output" "4"
	mkprog h.sh 'echo "$EVT_POSITION"'
	run -0 --separate-stderr evt-handle posts-model posts -- ./h.sh
	same "$output" "4
5"
	run -0 --separate-stderr evt-handle --status posts-model
	same "$output" "$(status posts-model '["posts"]' 5 5 0 0 false)"
}

@test "a failing --on command is named by its command line" {
	fixture
	run -5 --separate-stderr evt-handle h users --on 'created=echo no >&2; exit 7'
	same "$stderr" "no
evt-handle: h: 'echo no >&2; exit 7' exited with status 7 at position 3 (users/u1 v1 created)"
}

@test "a program killed by a signal is reported as such" {
	put s a '{"type":"x"}'
	run -5 --separate-stderr evt-handle h s -- sh -c 'kill -9 $$'
	[ "$stderr" = "evt-handle: h: 'sh' was killed by signal 9 (Killed) at position 1 (s/a v1 x)" ]
	run -5 --separate-stderr evt-handle h s -- sh -c 'kill -TERM $$'
	[ "$stderr" = "evt-handle: h: 'sh' was killed by signal 15 (Terminated) at position 1 (s/a v1 x)" ]
}

@test "a program that is not found or not executable is reported as such" {
	put s a '{"type":"x"}'
	run -5 --separate-stderr evt-handle h s -- nope
	[ "$stderr" = "evt-handle: h: cannot run 'nope': not found at position 1 (s/a v1 x)" ]
	run -5 --separate-stderr evt-handle h s -- ./nope
	[ "$stderr" = "evt-handle: h: cannot run './nope': not found at position 1 (s/a v1 x)" ]
	printf '#!/bin/sh\n' >noexec
	run -5 --separate-stderr evt-handle h s -- ./noexec
	[ "$stderr" = "evt-handle: h: cannot run './noexec': not executable at position 1 (s/a v1 x)" ]
	# a script saved with CRLF line ends names the interpreter "/bin/sh\r"
	printf '#!/bin/sh\r\ncat\r\n' >crlf.sh
	chmod +x crlf.sh
	run -5 --separate-stderr evt-handle h s -- ./crlf.sh
	[ "$stderr" = "evt-handle: h: cannot run './crlf.sh': its #! line ends in CR (CRLF line ends) at position 1 (s/a v1 x)" ]
	run -5 --separate-stderr evt-handle h s --on 's:x=./crlf.sh --flag'
	same "$stderr" "/bin/sh: 1: ./crlf.sh: not found
evt-handle: h: './crlf.sh --flag' exited with status 127 (its #! line ends in CR: CRLF line ends) at position 1 (s/a v1 x)"
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["s"]' 0 1 1 0 false)"
}

@test "--retries N runs a failing program N more times" {
	put s a '{"type":"x"}' '{"type":"y"}'
	mkprog h.sh 'echo run >>runs; exit 1'
	run -5 --separate-stderr evt-handle --retries 2 --retry-delay 1 h s -- ./h.sh
	# a line per retry, then the failure
	same "$stderr" "evt-handle: h: retry 1/2 in 1 ms: './h.sh' exited with status 1 at position 1 (s/a v1 x)
evt-handle: h: retry 2/2 in 2 ms: './h.sh' exited with status 1 at position 1 (s/a v1 x)
evt-handle: h: './h.sh' exited with status 1 at position 1 (s/a v1 x)"
	[ "$(wc -l <runs)" = 3 ]
	rm runs
	run -5 --separate-stderr evt-handle --retry-delay 1 h s -- ./h.sh
	[ "$(wc -l <runs)" = 1 ]
}

@test "--retries: a program that succeeds on a retry handles the event" {
	put s a '{"type":"x"}' '{"type":"y"}'
	mkprog h.sh 'echo "$EVT_POSITION" >>runs; [ "$(wc -l <runs)" -ge 3 ]'
	run -0 --separate-stderr evt-handle --retries 2 --retry-delay 0 h s -- ./h.sh
	same "$stderr" "evt-handle: h: retry 1/2 in 0 ms: './h.sh' exited with status 1 at position 1 (s/a v1 x)
evt-handle: h: retry 2/2 in 0 ms: './h.sh' exited with status 1 at position 1 (s/a v1 x)"
	same "$(cat runs)" "1
1
1
2"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 2 2 0 0 false)"
}

@test "--retry-delay MS: the delays between runs double" {
	put s a '{"type":"x"}'
	mkprog h.sh 'date +%s%N >>runs; exit 1'
	t0=$(now_ms)
	run -5 --separate-stderr evt-handle --retries 3 --retry-delay 100 h s -- ./h.sh
	t1=$(now_ms)
	[ "$(wc -l <runs)" = 4 ]
	# 100 + 200 + 400 ms at least; each gap at least its delay
	[ $((t1 - t0)) -ge 700 ]
	mapfile -t at <runs
	[ $(( (at[1] - at[0]) / 1000000 )) -ge 100 ]
	[ $(( (at[2] - at[1]) / 1000000 )) -ge 200 ]
	[ $(( (at[3] - at[2]) / 1000000 )) -ge 400 ]
}

@test "the default retry delay is 200 ms" {
	put s a '{"type":"x"}'
	t0=$(now_ms)
	run -5 --separate-stderr evt-handle --retries 1 h s -- false
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 200 ]
}

@test "--timeout SECONDS: the program gets SIGTERM and its event fails" {
	put s a '{"type":"x"}'
	mkprog h.sh 'trap "echo TERM >>term; exit 0" TERM
while :; do sleep 0.05; done'
	run -5 --separate-stderr evt-handle --timeout 0.3 h s -- ./h.sh
	# the whole group gets SIGTERM: sh(1) tells of its sleep's end
	same "$stderr" "Terminated
evt-handle: h: './h.sh' timed out after 0.3 s at position 1 (s/a v1 x)"
	same "$(cat term)" "TERM"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 0 1 1 0 false)"
	# a program that ends in time is not touched
	run -0 --separate-stderr evt-handle --timeout 5 h s -- true
}

@test "--timeout: a program that outlives SIGTERM gets SIGKILL 5 s later" {
	put s a '{"type":"x"}'
	mkprog h.sh 'trap "echo TERM >>term" TERM
while :; do sleep 0.05; done'
	t0=$(now_ms)
	run -5 --separate-stderr evt-handle --timeout 0.2 h s -- ./h.sh
	t1=$(now_ms)
	# the whole group gets SIGTERM: sh(1) tells of its sleep's end
	same "$stderr" "Terminated
evt-handle: h: './h.sh' timed out after 0.2 s at position 1 (s/a v1 x)"
	same "$(cat term)" "TERM"
	[ $((t1 - t0)) -ge 5200 ]
}

@test "--timeout stops what the program started too: its process group" {
	put s a '{"type":"x"}'
	mkprog h.sh 'sleep 30 &
echo $! >sleep.pid
wait'
	run -5 --separate-stderr evt-handle --timeout 0.3 h s -- ./h.sh
	[ "$stderr" = "evt-handle: h: './h.sh' timed out after 0.3 s at position 1 (s/a v1 x)" ]
	wait_until 5 gone "$(cat sleep.pid)"
}

@test "--timeout: Ctrl-C on a terminal still stops the program, in a group of its own" {
	put s a '{"type":"x"}'
	mkprog h.sh 'touch started
exec sleep 30'
	run -0 python3 "$EVT_FIXTURES/ctrl_c.py" started evt-handle --timeout 60 h s -- ./h.sh
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 0 1 1 0 false)"
}

@test "--timeout also counts while the record is written to a program that does not read it" {
	big=$(head -c 300000 /dev/zero | tr '\0' a)
	printf '{"type":"x","b":"%s"}\n' "$big" | evt-append -q s a
	run -5 --separate-stderr evt-handle --timeout 0.3 h s -- sleep 4
	[ "$stderr" = "evt-handle: h: 'sleep' timed out after 0.3 s at position 1 (s/a v1 x)" ]
}

@test "--continue-on-error parks a failed event, warns and goes on" {
	fixture
	mkprog h.sh 'echo "$EVT_POSITION"; [ "$EVT_POSITION" != 2 ] || exit 3'
	run -0 --separate-stderr evt-handle --continue-on-error posts-model posts -- ./h.sh
	same "$output" "1
2
4
5"
	# the run ends saying how many it parked
	same "$stderr" "evt-handle: posts-model: './h.sh' exited with status 3 at position 2 (posts/p1 v2 postEdited); parked
evt-handle: posts-model: 1 event parked"
	run -0 --separate-stderr evt-handle --status posts-model
	same "$output" "$(status posts-model '["posts"]' 5 5 0 1 false)"
	run -0 db_sql 'SELECT handler, position, status FROM events_parked'
	same "$output" "posts-model|2|3"
	run -0 db_sql "SELECT $(iso time) FROM events_parked"
	[[ "$output" =~ ^$TS_RE$ ]]
	# a parked event is not delivered again
	run -0 --separate-stderr evt-handle --continue-on-error posts-model posts -- ./h.sh
	same "$output" ""
}

@test "--continue-on-error after the retries; the status parked for a signal, a timeout, a program not found or not executable" {
	put s a '{"type":"x"}' '{"type":"y"}' '{"type":"z"}'
	mkprog h.sh 'echo "$EVT_POSITION" >>runs
case $EVT_POSITION in 1) kill -9 $$ ;; 2) exec sleep 5 ;; esac'
	run -0 --separate-stderr evt-handle --continue-on-error --retries 1 --retry-delay 1 --timeout 0.2 h s -- ./h.sh
	same "$stderr" "evt-handle: h: retry 1/1 in 1 ms: './h.sh' was killed by signal 9 (Killed) at position 1 (s/a v1 x)
evt-handle: h: './h.sh' was killed by signal 9 (Killed) at position 1 (s/a v1 x); parked
evt-handle: h: retry 1/1 in 1 ms: './h.sh' timed out after 0.2 s at position 2 (s/a v2 y)
evt-handle: h: './h.sh' timed out after 0.2 s at position 2 (s/a v2 y); parked
evt-handle: h: 2 events parked"
	same "$(cat runs)" "1
1
2
2
3"
	run -0 --separate-stderr evt-handle --continue-on-error h2 s -- nope
	same "$stderr" "evt-handle: h2: cannot run 'nope': not found at position 1 (s/a v1 x); parked
evt-handle: h2: cannot run 'nope': not found at position 2 (s/a v2 y); parked
evt-handle: h2: cannot run 'nope': not found at position 3 (s/a v3 z); parked
evt-handle: h2: 3 events parked"
	printf '#!/bin/sh\n' >noexec
	run -0 --separate-stderr evt-handle --continue-on-error h3 s -- ./noexec
	same "$stderr" "evt-handle: h3: cannot run './noexec': not executable at position 1 (s/a v1 x); parked
evt-handle: h3: cannot run './noexec': not executable at position 2 (s/a v2 y); parked
evt-handle: h3: cannot run './noexec': not executable at position 3 (s/a v3 z); parked
evt-handle: h3: 3 events parked"
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["s"]' 3 3 0 2 false)
$(status h2 '["s"]' 3 3 0 3 false)
$(status h3 '["s"]' 3 3 0 3 false)"
	run -0 db_sql 'SELECT handler, position, status FROM events_parked ORDER BY handler, position'
	same "$output" "h|1|137
h|2|124
h2|1|127
h2|2|127
h2|3|127
h3|1|126
h3|2|126
h3|3|126"
}

@test "--continue-on-error parks into <events>_parked of --events-table" {
	put_opts="--events-table ev2" put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle --events-table ev2 --continue-on-error h s -- false
	same "$stderr" "evt-handle: h: 'false' exited with status 1 at position 1 (s/a v1 x); parked
evt-handle: h: 1 event parked"
	run -0 db_sql 'SELECT handler, position, status FROM ev2_parked'
	same "$output" "h|1|1"
	run -0 --separate-stderr evt-handle --events-table ev2 --status h
	same "$output" "$(status h '["s"]' 1 1 0 1 false)"
}

# --- --batch ----------------------------------------------------------------

@test "--batch N: up to N records per run; the environment describes the last" {
	fixture
	mkprog h.sh 'echo "run $EVT_BATCH_SIZE $EVT_POSITION $EVT_AGGREGATE_ID $EVT_VERSION $EVT_TYPE"; cat'
	run -0 --separate-stderr evt-handle --batch 2 h posts -- ./h.sh
	[ "$stderr" = "" ]
	same "$output" "run 2 2 p1 2 postEdited
$R1
$R2
run 2 5 p2 1 postCreated
$R4
$R5"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
	put posts p3 '{"type":"a"}'
	run -0 --separate-stderr evt-handle --batch 3 h posts -- ./h.sh
	same "$output" "run 1 6 p3 1 a
$(trec 6 posts p3 1 '{"type":"a"}')"
}

@test "--batch larger than what there is: one run" {
	fixture
	run -0 --separate-stderr evt-handle --batch 1000 h posts,users -- sh -c 'echo "$EVT_BATCH_SIZE"; wc -l'
	same "$output" "5
5"
}

@test "--batch: a failed run leaves the bookmark before all of its records" {
	fixture
	mkprog h.sh 'cat >/dev/null; [ "$EVT_POSITION" != 5 ] || exit 3'
	run -5 --separate-stderr evt-handle --batch 2 h posts -- ./h.sh
	[ "$stderr" = "evt-handle: h: './h.sh' exited with status 3 at positions 4-5 (2 events)" ]
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 2 5 2 0 false)"
	run -5 --separate-stderr evt-handle --batch 2 h posts -- sh -c 'cat; exit 1'
	same "$output" "$R4
$R5"
}

@test "--batch with --continue-on-error parks every record of a failed run" {
	fixture
	run -0 --separate-stderr evt-handle --batch 3 --continue-on-error h posts -- sh -c 'cat >/dev/null; exit 3'
	# a batch is named by its first and last positions and its size
	same "$stderr" "evt-handle: h: 'sh' exited with status 3 at positions 1-4 (3 events); parked
evt-handle: h: 'sh' exited with status 3 at position 5 (posts/p2 v1 postCreated); parked
evt-handle: h: 4 events parked"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 4 false)"
	run -0 db_sql 'SELECT position FROM events_parked ORDER BY position'
	same "$output" "1
2
4
5"
}

@test "--batch works with -- PROGRAM only" {
	put s a '{"type":"x"}'
	run -2 --separate-stderr evt-handle --batch 2 h s --on 'x=true'
	[ "$stderr" = "evt-handle: --batch works with -- PROGRAM only" ]
	run -2 --separate-stderr evt-handle --batch 2 h s --on 'x=true' -- true
	[ "$stderr" = "evt-handle: --batch works with -- PROGRAM only" ]
	run -2 --separate-stderr evt-handle --batch 0 h s -- true
	[ "$stderr" = "evt-handle: invalid --batch '0': expected a whole number from 1 to 2147483647" ]
	run -0 --separate-stderr evt-handle --batch 1 h s --on 'x=echo one'
	same "$output" "one"
}

# --- --tail and --always-tail -----------------------------------------------

@test "--tail: with no bookmark, start at the end and write it as the bookmark at once" {
	fixture
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
	# a bookmark of 0 that evt-handle did not write (evtstore's) is no
	# bookmark either
	db_sql "INSERT INTO bookmarks VALUES ('es', 0)"
	run -0 --separate-stderr evt-handle --tail es posts -- cat
	same "$output" ""
	run -0 --separate-stderr evt-handle --status es
	same "$output" "$(status es '["posts"]' 5 5 0 0 false)"
}

@test "--tail: --reset NAME to 0 replays a handler that ran before; --drop makes the next run a first one" {
	fixture
	evt-handle --tail h posts -- cat
	evt-handle --reset h 0
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$R1
$R2
$R4
$R5"
	evt-handle --drop h
	put posts p3 '{"type":"after"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 6 6 0 0 false)"
}

@test "--tail on an empty store writes bookmark 0 and remembers the handler: the next run loses nothing" {
	put s a '{"type":"x"}'
	db_sql 'DELETE FROM events'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	[ "$stderr" = "" ]
	run -0 db_sql 'SELECT bookmark, position FROM bookmarks'
	[ "$output" = "h|0" ]
	put posts p1 '{"type":"first"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 2 posts p1 1 '{"type":"first"}')"
}

@test "--tail from cron: each run handles what came after the run before" {
	fixture
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	put posts p3 '{"type":"between"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 6 posts p3 1 '{"type":"between"}')"
	put posts p3 '{"type":"next"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 7 posts p3 2 '{"type":"next"}')"
}

@test "--tail: streams with no events yet start at the end of the store" {
	put users u1 '{"type":"created"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 1 0 0 0 false)"
	put posts p1 '{"type":"first"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 2 posts p1 1 '{"type":"first"}')"
}

@test "--tail: a bookmark above 0 is resumed" {
	fixture
	evt-handle --reset h 2
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$R4
$R5"
}

@test "--always-tail works with --follow only" {
	fixture
	run -2 --separate-stderr evt-handle --always-tail h posts -- cat
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: --always-tail works with --follow only" ]
	run -2 --separate-stderr evt-handle --always-tail --tail h posts -- cat
	[ "$stderr" = "evt-handle: --always-tail works with --follow only" ]
	run -0 --separate-stderr evt-handle --status
	same "$output" ""
}

@test "--tail --follow handles only the events committed after the start" {
	fixture
	start --tail --follow h posts -- cat
	wait_until 10 ping posts
	put posts p9 '{"type":"late"}'
	wait_until 10 grep -q late bg.out
	kill -TERM "$pid"
	ends "$pid" 0
	run -0 grep -c . bg.out
	n=$output
	# pings, then the late event; nothing from before the start
	run -0 grep -c '"aggregateId":"ping"' bg.out
	[ "$output" = $((n - 1)) ]
	last=$(tail -n 1 bg.out)
	head=$(evt-read --head)
	same "$last" "$(trec "$head" posts p9 1 '{"type":"late"}')"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' "$head" "$head" 0 0 false)"
}

@test "--always-tail --follow: a restart skips what came while it was down" {
	fixture
	start --always-tail --follow h posts -- cat
	wait_until 10 ping posts
	kill -TERM "$pid"
	ends "$pid" 0
	put posts p7 '{"type":"while-down"}'
	start --always-tail --follow h posts -- cat
	wait_until 10 ping posts
	put posts p8 '{"type":"late"}'
	wait_until 10 grep -q late bg.out
	kill -TERM "$pid"
	ends "$pid" 0
	run -0 grep -c . bg.out
	n=$output
	run -0 grep -c '"aggregateId":"ping"' bg.out
	[ "$output" = $((n - 1)) ]
	run -1 grep -c while-down bg.out
	[ "$output" = 0 ]
}

# --- --follow and signals ---------------------------------------------------

@test "--follow handles new events until SIGTERM, then exits 0" {
	fixture
	start --follow h posts -- cat
	wait_until 10 has_lines bg.out 4
	put posts p3 '{"type":"new"}'
	put users u1 '{"type":"elsewhere"}'
	put posts p3 '{"type":"newer"}'
	wait_until 10 has_lines bg.out 6
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(cat bg.out)" "$R1
$R2
$R4
$R5
$(trec 6 posts p3 1 '{"type":"new"}')
$(trec 8 posts p3 2 '{"type":"newer"}')"
	same "$(cat bg.err)" ""
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 8 8 0 0 false)"
}

@test "--follow: SIGTERM lets the running handler finish and commits its event" {
	put s a '{"type":"x"}' '{"type":"y"}'
	mkprog h.sh "$WAIT_GO"
	start --follow h s -- ./h.sh
	wait_until 10 test -e started
	kill -TERM "$pid"
	touch go
	ends "$pid" 0
	same "$(cat effect)" "1"
	same "$(cat bg.err)" ""
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 2 1 0 false)"
}

@test "--follow: SIGINT lets the running handler finish and commits its event" {
	put s a '{"type":"x"}' '{"type":"y"}'
	mkprog h.sh "$WAIT_GO"
	start --follow h s -- ./h.sh
	wait_until 10 test -e started
	kill -INT "$pid"
	touch go
	ends "$pid" 0
	same "$(cat effect)" "1"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 2 1 0 false)"
}

@test "--follow: SIGINT while idle exits 0" {
	empty_store
	start --follow h s -- cat
	wait_until 10 holding h
	kill -INT "$pid"
	ends "$pid" 0
	same "$(cat bg.err)" ""
}

@test "without --follow, SIGTERM also ends the catch-up after the running handler" {
	put s a '{"type":"x"}' '{"type":"y"}' '{"type":"z"}'
	mkprog h.sh "$WAIT_GO"
	start h s -- ./h.sh
	wait_until 10 test -e started
	kill -TERM "$pid"
	touch go
	ends "$pid" 0
	same "$(cat effect)" "1"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 3 2 0 false)"
}

@test "--follow: a failing handler ends it with exit 5" {
	empty_store
	start --follow h s -- sh -c 'exit 2'
	wait_until 10 holding h
	put s a '{"type":"x"}'
	ends "$pid" 5
	same "$(cat bg.err)" "evt-handle: h: 'sh' exited with status 2 at position 1 (s/a v1 x)"
}

@test "SIGTERM during a retry delay ends it without another run" {
	put s a '{"type":"x"}'
	mkprog h.sh 'echo run >>runs; exit 1'
	start --follow --retries 1 --retry-delay 5000 h s -- ./h.sh
	wait_until 10 has_lines runs 1
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(cat runs)" "run"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 0 1 1 0 false)"
}

# --- at least once ----------------------------------------------------------

@test "at-least-once: evt-handle killed while handling P delivers P again, and nothing before it" {
	for i in 1 2 3 4 5; do put s a "{\"type\":\"t$i\"}"; done
	mkprog h.sh 'echo "$EVT_POSITION" >>log
if [ "$EVT_POSITION" = 3 ] && [ ! -e killed ]; then touch killed; kill -9 $PPID; fi'
	run -137 --separate-stderr evt-handle h s -- ./h.sh
	same "$(cat log)" "1
2
3"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 2 5 3 0 false)"
	run -0 --separate-stderr evt-handle h s -- ./h.sh
	same "$(cat log)" "1
2
3
3
4
5"
}

@test "at-least-once with --batch: the whole run is delivered again" {
	for i in 1 2 3 4 5; do put s a "{\"type\":\"t$i\"}"; done
	mkprog h.sh 'echo "$EVT_POSITION $(wc -l)" >>log
if [ "$EVT_POSITION" = 4 ] && [ ! -e killed ]; then touch killed; kill -9 $PPID; fi'
	run -137 --separate-stderr evt-handle --batch 2 h s -- ./h.sh
	run -0 --separate-stderr evt-handle --batch 2 h s -- ./h.sh
	same "$(cat log)" "2 2
4 2
4 2
5 1"
}

# --- one process per NAME ---------------------------------------------------

@test "a second evt-handle NAME exits 6 at once" {
	put s a '{"type":"x"}'
	start --follow posts-model s -- cat
	wait_until 10 holding posts-model
	run -6 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle posts-model s -- cat
	same "$output" ""
	[ "$stderr" = "evt-handle: posts-model: already running" ]
	# another NAME runs beside it
	run -0 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle other s -- cat
	same "$output" "$(trec 1 s a 1 '{"type":"x"}')"
	# the same NAME in another bookmarks table is another handler
	run -0 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle --bookmarks-table bm2 posts-model s -- cat
	same "$output" "$(trec 1 s a 1 '{"type":"x"}')"
	kill -TERM "$pid"
	ends "$pid" 0
}

@test "--wait runs at once when nobody holds NAME" {
	put s a '{"type":"x"}'
	run -0 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle --wait h s -- cat
	same "$output" "$(trec 1 s a 1 '{"type":"x"}')"
}

@test "--wait waits until the holder ends, then runs" {
	put s a '{"type":"x"}'
	# a holder that handles nothing: x is left for the waiter
	start --follow --always-tail h s -- true
	wait_until 10 holding h
	holder=$pid
	start --wait h s -- sh -c 'echo "$EVT_POSITION" >>waited'
	waiter=$pid
	wait_until 10 lock_waiter "$waiter"
	[ ! -e waited ]
	kill -TERM "$holder"
	ends "$holder" 0
	ends "$waiter" 0
	same "$(cat waited)" "1"
}

@test "--wait: SIGTERM or SIGINT while waiting ends it with exit 6" {
	empty_store
	start --follow h s -- true
	wait_until 10 holding h
	holder=$pid
	for sig in TERM INT; do
		evt-handle --wait h s -- true >w.out 2>w.err 3>&- &
		waiter=$!
		pids="$pids $waiter"
		wait_until 10 lock_waiter "$waiter"
		kill -$sig "$waiter"
		ends "$waiter" 6
		same "$(cat w.err)" "evt-handle: h: interrupted while waiting for the lock"
	done
	kill -TERM "$holder"
	ends "$holder" 0
}

@test "a holder killed with SIGKILL, its handler still running, never blocks its successor" {
	put s a '{"type":"x"}' '{"type":"y"}'
	mkprog h.sh 'touch started; exec sleep 2'
	start h s -- ./h.sh
	wait_until 10 test -e started
	kill -KILL "$pid"
	ends "$pid" 137
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 0 2 2 0 false)"
	run -0 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle h s -- cat
	same "$output" "$(trec 1 s a 1 '{"type":"x"}')
$(trec 2 s a 2 '{"type":"y"}')"
}

# --- --status ---------------------------------------------------------------

@test "--status: one line per bookmark, by name; or the NAMEs given, in their order" {
	fixture
	evt-handle b-handler users -- true
	evt-handle a-handler posts --on 'postEdited=exit 1' --continue-on-error -- true 2>/dev/null
	# a bookmark beyond the head (as another program may write it)
	db_sql "INSERT INTO bookmarks VALUES ('c-handler', 7)"
	run -0 --separate-stderr evt-handle --status
	[ "$stderr" = "" ]
	same "$output" "$(status a-handler '["posts"]' 5 5 0 1 false)
$(status b-handler '["users"]' 3 3 0 0 false)
$(status c-handler null 7 5 0 0 false)"
	run -0 --separate-stderr evt-handle --status c-handler nobody b-handler
	same "$output" "$(status c-handler null 7 5 0 0 false)
$(status nobody null 0 5 5 0 false)
$(status b-handler '["users"]' 3 3 0 0 false)"
}

@test "--status: head is the greatest position of its streams" {
	fixture
	evt-handle h users -- true
	put other o1 '{"type":"x"}'
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["users"]' 3 3 0 0 false)"
}

@test "--status: running is true while a process holds NAME" {
	put s a '{"type":"x"}'
	start --follow h s -- true
	wait_until 10 holding h
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 1 0 0 true)"
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["s"]' 1 1 0 0 true)"
	kill -TERM "$pid"
	ends "$pid" 0
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
}

@test "--status of an empty store prints nothing" {
	# a SQLite file without tables; a server's schema or database without
	# tables (the test's own)
	server_backend || run -0 sqlite3 events.db 'PRAGMA user_version = 1'
	run -0 --separate-stderr evt-handle --status
	same "$output" ""
	[ "$stderr" = "" ]
}

@test "--status of a missing store is exit 1 and creates nothing" {
	sqlite_only "about a missing SQLite file"
	run -1 --separate-stderr evt-handle --status
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: cannot open 'events.db': no such store" ]
	[ ! -e events.db ]
}

@test "--status with --bookmarks-table" {
	put s a '{"type":"x"}'
	evt-handle --bookmarks-table bm2 h s -- true
	run -0 --separate-stderr evt-handle --status
	same "$output" ""
	run -0 --separate-stderr evt-handle --bookmarks-table bm2 --status
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
	EVT_BOOKMARKS_TABLE=bm2 run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
}

@test "--status to a full disk is exit 1" {
	put s a '{"type":"x"}'
	evt-handle h s -- true
	run -1 --separate-stderr to_full evt-handle --status
	[ "$stderr" = "evt-handle: write error: No space left on device" ]
}

# --- remembered handlers, --parked, --retry-parked, --drop -------------------
#
# Each scenario is a function that a test runs on the file's backend, and
# that two more tests run while the file runs on SQLite: on PostgreSQL in a
# schema of its own (on_pg) and on MariaDB in a database of its own (on_my),
# where db_sql of test_helper reaches them.  So `bats tests/evt-handle.bats`
# alone tries each scenario on the three backends; when the file runs on a
# server (tests/run.sh runs it on each), the first test is the scenario
# there and the other two are skipped.

# on_server: skip when the file runs on a server.
on_server() {
	! server_backend ||
		skip "run on SQLite's pass: each server's pass has this scenario in the test without the server's name"
}

# on_pg: the rest of the test uses PostgreSQL (skipped with no server).
on_pg() {
	on_server
	[ -n "${EVT_TEST_PG_URL:-}" ] || skip "no PostgreSQL server: $(head -n 1 "$BATS_FILE_TMPDIR/pg_start.log" 2>/dev/null)"
	EVT_TEST_BACKEND=pg
	pg_test_schema
	EVT_DB=$(pg_schema_url "$EVT_TEST_SCHEMA")
	export EVT_DB
}

# on_my: the same on the MariaDB server of the file (a database of this
# test's own).
on_my() {
	on_server
	[ -n "${EVT_TEST_MY_URL:-}" ] || skip "no MariaDB server: $(head -n 1 "$BATS_FILE_TMPDIR/my_start.log" 2>/dev/null)"
	EVT_TEST_BACKEND=my
	TS_SQL='2020-01-02 03:04:05.678'
	my_test_db
	EVT_DB=$(my_url "$EVT_TEST_DB")
	export EVT_DB
}

# $output with the time of each "parked" replaced by AT where it is a
# well-formed ISO-8601 UTC time.
no_at() {
	printf '%s\n' "$output" | sed -E "s/,\"at\":\"$TS_RE\"\\}\\}\$/,\"at\":\"AT\"}}/"
}

# at_position NAME POSITION: a process holds NAME, its bookmark at POSITION.
at_position() {
	[[ "$(evt-handle --status "$1")" == *"\"position\":$2,"*'"running":true}' ]]
}

# parked_rec RECORD STATUS: RECORD with "parked" (its time AT) after "event".
parked_rec() {
	printf '%s,"parked":{"status":%s,"at":"AT"}}' "${1%\}}" "$2"
}

status_of_own_streams() {
	fixture
	evt-handle posts-model posts -- true
	# another stream is busy: a caught-up handler shows lag 0
	put users u1 '{"type":"a"}' '{"type":"b"}' '{"type":"c"}'
	run -0 --separate-stderr evt-handle --status posts-model
	[ "$stderr" = "" ]
	same "$output" "$(status posts-model '["posts"]' 5 5 0 0 false)"
	put posts p3 '{"type":"new"}'
	run -0 --separate-stderr evt-handle --status posts-model
	same "$output" "$(status posts-model '["posts"]' 5 9 1 0 false)"
	# several streams, one with a ',' (as written by others); a bookmark
	# of evtstore's (no row of evt-handle): streams null, head and lag of
	# the whole store
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 'a,b', 'x', '$TS_SQL', '{\"type\":\"y\"}')"
	evt-handle --stream 'a,b' --stream users both -- true
	db_sql "INSERT INTO bookmarks VALUES ('evtstore-handler', 3)"
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status both '["a,b","users"]' 10 10 0 0 false)
$(status evtstore-handler null 3 10 7 0 false)
$(status posts-model '["posts"]' 5 9 1 0 false)"
	# what is remembered: the bookmarks table, name, streams, no group
	# yet, the times of the last start and end
	run -0 db_sql 'SELECT bookmarks, name, streams FROM events_handlers WHERE "group" IS NULL AND started IS NOT NULL AND ended IS NOT NULL AND failed IS NULL AND failure IS NULL ORDER BY name'
	same "$output" 'bookmarks|both|["a,b","users"]
bookmarks|posts-model|["posts"]'
	# and the last failure
	run -5 --separate-stderr evt-handle posts-model posts -- false
	run -0 db_sql 'SELECT failure FROM events_handlers WHERE failed IS NOT NULL'
	same "$output" "posts-model: 'false' exited with status 1 at position 9 (posts/p3 v1 new)"
	# a run with other STREAMs replaces them
	evt-handle posts-model users -- true
	run -0 --separate-stderr evt-handle --status posts-model
	same "$output" "$(status posts-model '["users"]' 8 8 0 0 false)"
}

@test "--status: head and lag of the handler's own streams; evtstore's bookmarks show streams null" {
	status_of_own_streams
}

@test "PostgreSQL: --status: head and lag of the handler's own streams; evtstore's bookmarks show streams null" {
	on_pg
	status_of_own_streams
}

@test "MariaDB: --status: head and lag of the handler's own streams; evtstore's bookmarks show streams null" {
	on_my
	status_of_own_streams
}

# A handler h of posts that parked positions 2 and 4 (status 3).
parked_fixture() {
	fixture
	evt-handle --continue-on-error h posts -- sh -c '[ "$EVT_POSITION" != 2 ] && [ "$EVT_POSITION" != 4 ] || exit 3' 2>/dev/null
}

parked_and_retried() {
	parked_fixture
	run -0 --separate-stderr evt-handle --parked h
	[ "$stderr" = "" ]
	same "$(no_at)" "$(parked_rec "$R2" 3)
$(parked_rec "$R4" 3)"
	run -0 --separate-stderr evt-handle --parked nobody
	same "$output" ""
	# the parked events first, one at a time also with --batch; one that
	# fails again stays parked with its new status; then the new events
	put posts p3 '{"type":"new"}'
	R6=$(trec 6 posts p3 1 '{"type":"new"}')
	run -0 --separate-stderr evt-handle --retry-parked --batch 10 h posts -- sh -c 'echo "$EVT_BATCH_SIZE"; cat; [ "$EVT_POSITION" != 4 ] || exit 4'
	same "$output" "1
$R2
1
$R4
1
$R6"
	same "$stderr" "evt-handle: h: 'sh' exited with status 4 at position 4 (posts/p1 v3 postDeleted); still parked
evt-handle: h: 2 parked events retried: 1 handled, 1 still parked"
	run -0 --separate-stderr evt-handle --parked h
	same "$(no_at)" "$(parked_rec "$R4" 4)"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 6 6 0 1 false)"
	# one that nothing matches now stays parked
	run -0 --separate-stderr evt-handle --retry-parked h posts --on 'other=true'
	same "$output" ""
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle --retry-parked h posts -- cat
	same "$output" "$R4"
	[ "$stderr" = "evt-handle: h: 1 parked event retried: 1 handled, 0 still parked" ]
	run -0 --separate-stderr evt-handle --parked h
	same "$output" ""
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 6 6 0 0 false)"
}

@test "--parked NAME prints its parked events; --retry-parked runs them first, unparking each handled one" {
	parked_and_retried
}

@test "PostgreSQL: --parked NAME prints its parked events; --retry-parked runs them first, unparking each handled one" {
	on_pg
	parked_and_retried
}

@test "MariaDB: --parked NAME prints its parked events; --retry-parked runs them first, unparking each handled one" {
	on_my
	parked_and_retried
}

dropped() {
	parked_fixture
	db_sql "INSERT INTO bookmarks VALUES ('evtstore-handler', 3)"
	run -0 --separate-stderr evt-handle --drop h
	[ "$stderr" = "" ]
	same "$output" '{"name":"h","streams":["posts"],"position":5,"parked":2}'
	run -0 --separate-stderr evt-handle --status
	same "$output" "$(status evtstore-handler null 3 5 2 0 false)"
	run -0 db_sql "SELECT (SELECT count(*) FROM bookmarks WHERE bookmark = 'h') + (SELECT count(*) FROM events_parked) + (SELECT count(*) FROM events_handlers)"
	[ "$output" = 0 ]
	run -2 --separate-stderr evt-handle --drop h
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: no handler 'h'" ]
	run -0 --separate-stderr evt-handle --drop evtstore-handler
	same "$output" '{"name":"evtstore-handler","streams":null,"position":3,"parked":0}'
	run -0 --separate-stderr evt-handle --status
	same "$output" ""
	# while NAME runs: exit 6, nothing dropped
	start --follow h posts -- true
	wait_until 20 at_position h 5
	run -6 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle --drop h
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: h: already running" ]
	kill -TERM "$pid"
	ends "$pid" 0
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
}

@test "--drop NAME deletes its bookmark, parked events and remembered streams" {
	dropped
}

@test "PostgreSQL: --drop NAME deletes its bookmark, parked events and remembered streams" {
	on_pg
	dropped
}

@test "MariaDB: --drop NAME deletes its bookmark, parked events and remembered streams" {
	on_my
	dropped
}

tail_on_empty_store() {
	# a store with its tables and no event
	evt-handle --status >/dev/null 2>&1 || :
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	[ "$stderr" = "" ]
	run -0 db_sql 'SELECT bookmark, position FROM bookmarks'
	[ "$output" = "h|0" ]
	put posts p1 '{"type":"first"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 1 posts p1 1 '{"type":"first"}')"
}

@test "PostgreSQL: --tail on an empty store writes bookmark 0 and remembers the handler: the next run loses nothing" {
	on_pg
	tail_on_empty_store
}

@test "MariaDB: --tail on an empty store writes bookmark 0 and remembers the handler: the next run loses nothing" {
	on_my
	tail_on_empty_store
}

@test "--parked, --drop: usage errors and a missing store" {
	run -2 --separate-stderr evt-handle --parked
	[ "$stderr" = "evt-handle: --parked takes NAME" ]
	run -2 --separate-stderr evt-handle --parked a b
	[ "$stderr" = "evt-handle: --parked takes NAME" ]
	run -2 --separate-stderr evt-handle --drop
	[ "$stderr" = "evt-handle: --drop takes NAME" ]
	run -2 --separate-stderr evt-handle --drop h --status
	[ "$stderr" = "evt-handle: --status and --drop cannot be used together" ]
	run -2 --separate-stderr evt-handle --parked --drop h
	[ "$stderr" = "evt-handle: --parked and --drop cannot be used together" ]
	run -2 --separate-stderr evt-handle --drop h -- true
	[ "$stderr" = "evt-handle: --drop takes no programs" ]
	run -2 --separate-stderr evt-handle --parked h --on x=y
	[ "$stderr" = "evt-handle: --parked takes no programs" ]
	# an option of a run is a mistake here, not a name: --reset --follow 5
	# would reset a bookmark named 5
	run -2 --separate-stderr evt-handle --reset --follow 5
	[ "$stderr" = "evt-handle: --reset takes no --follow (an option of a run)" ]
	run -2 --separate-stderr evt-handle --retry-parked --drop h
	[ "$stderr" = "evt-handle: --drop takes no --retry-parked (an option of a run)" ]
	run -2 --separate-stderr evt-handle --status --batch 10
	[ "$stderr" = "evt-handle: --status takes no --batch (an option of a run)" ]
	run -2 --separate-stderr evt-handle --parked h --stream s --continue-on-error
	[ "$stderr" = "evt-handle: --parked takes no --stream (an option of a run)" ]
	if server_backend; then
		# no missing store on a server: the test's schema or database
		# is a store without tables
		run -0 --separate-stderr evt-handle --parked h
		[ "$output" = "" ]
		[ "$stderr" = "" ]
		run -2 --separate-stderr evt-handle --drop h
		[ "$output" = "" ]
		[ "$stderr" = "evt-handle: no handler 'h'" ]
	else
		run -1 --separate-stderr evt-handle --parked h
		[ "$stderr" = "evt-handle: cannot open 'events.db': no such store" ]
		run -1 --separate-stderr evt-handle --drop h
		[ "$stderr" = "evt-handle: cannot open 'events.db': no such store" ]
		[ ! -e events.db ]
	fi
	parked_fixture
	run -1 --separate-stderr to_full evt-handle --parked h
	[ "$stderr" = "evt-handle: write error: No space left on device" ]
	run -0 to_closed evt-handle --parked h
}

# --- --reset ----------------------------------------------------------------

@test "--reset NAME replays from the start; --reset NAME POSITION from there" {
	fixture
	evt-handle h posts -- true
	run -0 --separate-stderr evt-handle --reset h
	same "$output" '{"name":"h","from":5,"to":0}'
	[ "$stderr" = "" ]
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 0 5 4 0 false)"
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" "$R1
$R2
$R4
$R5"
	run -0 --separate-stderr evt-handle --reset h 2
	same "$output" '{"name":"h","from":5,"to":2}'
	run -0 --separate-stderr evt-handle h posts -- cat
	same "$output" "$R4
$R5"
	# a new NAME can be set too, up to the head
	run -0 --separate-stderr evt-handle --reset new 4
	same "$output" '{"name":"new","from":0,"to":4}'
	run -0 --separate-stderr evt-handle --reset new2 5
	same "$output" '{"name":"new2","from":0,"to":5}'
	run -0 --separate-stderr evt-handle new posts -- cat
	same "$output" "$R5"
}

@test "--reset while NAME is running is exit 6" {
	put s a '{"type":"x"}'
	start --follow h s -- true
	wait_until 10 holding h
	run -6 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle --reset h
	[ "$stderr" = "evt-handle: h: already running" ]
	kill -TERM "$pid"
	ends "$pid" 0
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
}

@test "--reset: usage errors" {
	run -2 --separate-stderr evt-handle --reset
	[ "$stderr" = "evt-handle: --reset takes NAME [POSITION]" ]
	run -2 --separate-stderr evt-handle --reset h 1 2
	[ "$stderr" = "evt-handle: --reset takes NAME [POSITION]" ]
	run -2 --separate-stderr evt-handle --reset h x
	[ "$stderr" = "evt-handle: invalid position 'x': expected a whole number from 0 to 9223372036854775807" ]
	run -2 --separate-stderr evt-handle --reset h 1.5
	[ "$stderr" = "evt-handle: invalid position '1.5': expected a whole number from 0 to 9223372036854775807" ]
	# past the head of the store: nothing changes
	put s a '{"type":"x"}' '{"type":"y"}'
	evt-handle --reset h 1
	run -2 --separate-stderr evt-handle --reset h 999
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: invalid position '999': past the head of the store (2)" ]
	run -2 --separate-stderr evt-handle --reset h 3
	[ "$stderr" = "evt-handle: invalid position '3': past the head of the store (2)" ]
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h null 1 2 1 0 false)"
	run -2 --separate-stderr evt-handle --reset h -- true
	[ "$stderr" = "evt-handle: --reset takes no programs" ]
	run -2 --separate-stderr evt-handle --reset --status
	[ "$stderr" = "evt-handle: --status and --reset cannot be used together" ]
	run -2 --separate-stderr evt-handle --status --on 'x=y'
	[ "$stderr" = "evt-handle: --status takes no programs" ]
}

# --- progress ---------------------------------------------------------------

@test "a long catch-up shows progress on stderr when it is a terminal" {
	command -v script >/dev/null || skip "script(1) not installed"
	for i in 1 2 3 4 5 6 7 8; do printf '{"type":"x"}\n'; done | evt-append -q s a
	run -0 script -qec "evt-handle p s -- sleep 0.15" /dev/null
	[[ "$output" == *$'\r\e[Kevt-handle: p: position '[1-8]' of 8'* ]]
	[[ "$output" == *$'\r\e[K' ]]
	run -0 --separate-stderr evt-handle --status p
	same "$output" "$(status p '["s"]' 8 8 0 0 false)"
}

@test "no progress when stderr is not a terminal" {
	for i in 1 2 3 4 5 6 7 8; do printf '{"type":"x"}\n'; done | evt-append -q s a
	run -0 --separate-stderr evt-handle p s -- sleep 0.1
	[ "$stderr" = "" ]
}

# --- usage, help, version, the store ----------------------------------------

@test "usage errors are exit 2 with a message" {
	run -2 --separate-stderr evt-handle
	[ "$stderr" = "evt-handle: expected NAME and STREAM (see evt-handle --help)" ]
	run -2 --separate-stderr evt-handle h
	[ "$stderr" = "evt-handle: expected NAME and STREAM (see evt-handle --help)" ]
	run -2 --separate-stderr evt-handle h s extra -- true
	[ "$stderr" = "evt-handle: unexpected argument 'extra'" ]
	# a program without "--" before it
	run -2 --separate-stderr evt-handle h posts ./model.sh
	[ "$stderr" = "evt-handle: unexpected argument './model.sh' (put the program after --)" ]
	run -2 --separate-stderr evt-handle h posts ./model.sh arg
	[ "$stderr" = "evt-handle: unexpected argument './model.sh' (put the program after --)" ]
	run -2 --separate-stderr evt-handle h s
	[ "$stderr" = "evt-handle: nothing to run: give --on or -- PROGRAM" ]
	run -2 --separate-stderr evt-handle h s --
	[ "$stderr" = "evt-handle: '--' needs a PROGRAM after it" ]
	run -2 --separate-stderr evt-handle --bogus h s -- true
	[ "$stderr" = "evt-handle: unknown option '--bogus'" ]
	run -2 --separate-stderr evt-handle -x h s -- true
	[ "$stderr" = "evt-handle: unknown option '-x'" ]
	run -2 --separate-stderr evt-handle h s --on
	[ "$stderr" = "evt-handle: option '--on' needs a value" ]
	run -2 --separate-stderr evt-handle "" s -- true
	[ "$stderr" = "evt-handle: invalid name '': is empty" ]
	long=$(printf 'x%.0s' $(seq 256))
	run -2 --separate-stderr evt-handle "$long" s -- true
	[ "$stderr" = "evt-handle: invalid name '$long': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-handle h s,,t -- true
	[ "$stderr" = "evt-handle: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-handle h "$long" -- true
	[ "$stderr" = "evt-handle: invalid stream '$long': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-handle --events-table 1x h s -- true
	[ "$stderr" = "evt-handle: invalid events table '1x': $NAME_RULE" ]
	[ ! -e events.db ]
}

@test "bad numbers are exit 2 with a message" {
	for o in retries retry-delay; do
		for v in x -1 1.5 ''; do
			run -2 --separate-stderr evt-handle --$o "$v" h s -- true
			[ "$stderr" = "evt-handle: invalid --$o '$v': expected a whole number from 0 to 2147483647" ]
		done
	done
	for v in x 0 -1 ''; do
		run -2 --separate-stderr evt-handle --timeout "$v" h s -- true
		[ "$stderr" = "evt-handle: invalid --timeout '$v': expected seconds above 0 and at most 2147483, such as 2.5" ]
		run -2 --separate-stderr evt-handle --batch "$v" h s -- true
		[ "$stderr" = "evt-handle: invalid --batch '$v': expected a whole number from 1 to 2147483647" ]
	done
	run -2 --separate-stderr evt-handle --batch 1.5 h s -- true
	[ "$stderr" = "evt-handle: invalid --batch '1.5': expected a whole number from 1 to 2147483647" ]
	run -2 --separate-stderr evt-handle --retries 99999999999999999999 h s -- true
	[ "$stderr" = "evt-handle: invalid --retries '99999999999999999999': expected a whole number from 0 to 2147483647" ]
}

@test "bad --on is exit 2 with a message" {
	run -2 --separate-stderr evt-handle h s --on 'x'
	[ "$stderr" = "evt-handle: invalid --on: expected [STREAM:]TYPE=COMMAND" ]
	run -2 --separate-stderr evt-handle h s --on '=true'
	[ "$stderr" = "evt-handle: invalid --on: empty TYPE" ]
	run -2 --separate-stderr evt-handle h s --on 's:=true'
	[ "$stderr" = "evt-handle: invalid --on: empty TYPE" ]
	run -2 --separate-stderr evt-handle h s --on ':x=true'
	[ "$stderr" = "evt-handle: invalid --on: empty STREAM" ]
	run -2 --separate-stderr evt-handle h s --on 'x='
	[ "$stderr" = "evt-handle: invalid --on: empty COMMAND" ]
	# a STREAM that is not the handler's would never match
	run -2 --separate-stderr evt-handle h posts --on 'users:created=true'
	[ "$stderr" = "evt-handle: invalid --on: stream 'users' is not among the STREAMs 'posts'" ]
	run -2 --separate-stderr evt-handle h posts,users --on 'users:created=true' --on 'user:x=true' -- true
	[ "$stderr" = "evt-handle: invalid --on: stream 'user' is not among the STREAMs 'posts,users'" ]
	run -2 --separate-stderr evt-handle h --stream users --on 'posts:x=true' -- true
	[ "$stderr" = "evt-handle: invalid --on: stream 'posts' is not among the STREAMs 'users'" ]
	[ ! -e events.db ]
}

@test "options may follow NAME and STREAM; the words after -- are the program's" {
	put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle h s --retries 1 -- echo --retries --bogus
	same "$output" "--retries --bogus"
	run -0 --separate-stderr evt-handle --reset h
	run -0 --separate-stderr evt-handle h --on 'x=echo on' s
	same "$output" "on"
}

@test "the store: -d, EVT_DB, --events-table and --bookmarks-table" {
	o=$(db other.db)
	put_opts="-d $o --events-table ev2" put s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle -d "$o" --events-table ev2 --bookmarks-table bm2 h s -- cat
	same "$output" "$(trec 1 s a 1 '{"type":"x"}')"
	EVT_DB=$o EVT_EVENTS_TABLE=ev2 EVT_BOOKMARKS_TABLE=bm2 run -0 --separate-stderr evt-handle --status
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
	run -0 db_sql 'SELECT bookmark, position FROM bm2' other.db
	same "$output" "h|1"
}

@test "a store that cannot be opened is exit 1" {
	sqlite_only "about SQLite paths; tests/pg.bats and tests/my.bats have the servers' messages"
	run -1 --separate-stderr evt-handle -d /nonexistent/x.db h s -- true
	[ "$stderr" = "evt-handle: cannot open '/nonexistent/x.db': no such store" ]
	run -1 --separate-stderr evt-handle -d /nonexistent/x.db --status
	[ "$stderr" = "evt-handle: cannot open '/nonexistent/x.db': no such store" ]
	run -1 --separate-stderr evt-handle -d /nonexistent/x.db --follow h s -- true
	[ "$stderr" = "evt-handle: cannot open '/nonexistent/x.db': no such directory" ]
	echo 'not a database, not at all' >bad.db
	run -1 --separate-stderr evt-handle -d bad.db h s -- true
	[ "$stderr" = "evt-handle: cannot open 'bad.db': file is not a database" ]
}

@test "a missing store: exit 1 and nothing created, without --follow and for --reset" {
	sqlite_only "about a missing SQLite file"
	run -1 --separate-stderr evt-handle h s -- true
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: cannot open 'events.db': no such store" ]
	run -1 --separate-stderr evt-handle -d x.db --tail h s --on x=true
	[ "$stderr" = "evt-handle: cannot open 'x.db': no such store" ]
	run -1 --separate-stderr evt-handle -d x.db --reset h
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: cannot open 'x.db': no such store" ]
	[ -z "$(ls -d x.db* events.db* 2>/dev/null)" ]
}

@test "--follow waits for a missing store, creating nothing, then handles every event from the first" {
	sqlite_only "about a missing SQLite file"
	start -d sub/new.db --follow h s -- cat
	[ -z "$(ls -d sub 2>/dev/null)" ] || false
	# a missing directory is not waited for: that is a mistyped path
	ends "$pid" 1
	[ "$(cat bg.err)" = "evt-handle: cannot open 'sub/new.db': no such directory" ]
	mkdir sub
	start -d sub/new.db --follow h s -- cat
	wait_until 20 awaiting "$pid" sub/new.db
	[ -z "$(ls sub)" ]
	evt-append -q -d sub/new.db s a '{"type":"x"}' '{"type":"y"}'
	wait_until 20 has_lines bg.out 2
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(cat bg.out)" "$(evt-read -d sub/new.db)"
	[ "$(cat bg.err)" = "" ]
	run -0 sqlite3 sub/new.db 'SELECT bookmark, position FROM bookmarks'
	[ "$output" = "h|2" ]
}

@test "--follow --tail on a missing store: the end at the start is 0, so every event is handled" {
	sqlite_only "about a missing SQLite file"
	start -d new.db --follow --tail h s -- cat
	wait_until 20 awaiting "$pid" new.db
	evt-append -q -d new.db s a '{"type":"x"}'
	wait_until 20 has_lines bg.out 1
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(cat bg.out)" "$(evt-read -d new.db)"
}

@test "--follow: SIGTERM while waiting for a missing store exits 0, nothing created" {
	sqlite_only "about a missing SQLite file"
	start -d new.db --follow h s -- cat
	wait_until 20 awaiting "$pid" new.db
	kill -TERM "$pid"
	ends "$pid" 0
	[ "$(cat bg.err)" = "" ]
	[ -z "$(ls -d new.db* 2>/dev/null)" ]
}

# --- PostgreSQL -------------------------------------------------------------
# While the file runs on SQLite: the PostgreSQL cluster and the MariaDB
# server of tests/run.sh, or throwaway ones of the file's own
# (tests/pg.bash, tests/my.bash); each test has tables of its own.
# Skipped when no server is installed, and when the file runs on a server
# (the tests above are these there).

setup_file() {
	server_backend && return 0
	if [ -z "${EVT_TEST_PG_URL:-}" ]; then
		. "$BATS_TEST_DIRNAME/pg.bash"
		if pg_start >"$BATS_FILE_TMPDIR/pg_start.log" 2>&1; then
			EVT_TEST_PG_OWN=1
			export EVT_TEST_PG_OWN
		fi
	fi
	if [ -z "${EVT_TEST_MY_URL:-}" ]; then
		. "$BATS_TEST_DIRNAME/my.bash"
		if my_start >"$BATS_FILE_TMPDIR/my_start.log" 2>&1; then
			EVT_TEST_MY_OWN=1
			export EVT_TEST_MY_OWN
		fi
	fi
}

teardown_file() {
	if [ -n "${EVT_TEST_PG_OWN:-}" ]; then
		. "$BATS_TEST_DIRNAME/pg.bash"
		pg_stop
	fi
	if [ -n "${EVT_TEST_MY_OWN:-}" ]; then
		. "$BATS_TEST_DIRNAME/my.bash"
		my_stop
	fi
}

# pg: use the cluster, with the tables e<N> and b<N> in a schema of this
# test's own (the cluster may be tests/run.sh's, which outlives the file).
pg() {
	on_server
	[ -n "${EVT_TEST_PG_URL:-}" ] || skip "no PostgreSQL server: $(head -n 1 "$BATS_FILE_TMPDIR/pg_start.log" 2>/dev/null)"
	pg_test_schema
	EVT_DB=$(pg_schema_url "$EVT_TEST_SCHEMA")
	export EVT_DB
	export EVT_EVENTS_TABLE=e$BATS_TEST_NUMBER EVT_BOOKMARKS_TABLE=b$BATS_TEST_NUMBER
}

# pg_lock_waiter: some session waits for an advisory lock.
pg_lock_waiter() {
	[ "$(pg_psql -Atc "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")" -gt 0 ]
}

@test "PostgreSQL: handles the events, commits the bookmark; EVT_DB is the URL" {
	pg
	fixture
	run -0 --separate-stderr evt-handle h posts -- sh -c 'cat; printenv EVT_DB'
	[ "$stderr" = "" ]
	same "$output" "$R1
$EVT_DB
$R2
$EVT_DB
$R4
$EVT_DB
$R5
$EVT_DB"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 0 false)"
}

@test "PostgreSQL: a failure keeps the bookmark; --continue-on-error parks into <events>_parked" {
	pg
	fixture
	run -5 --separate-stderr evt-handle h posts -- sh -c '[ "$EVT_POSITION" != 2 ]'
	[ "$stderr" = "evt-handle: h: 'sh' exited with status 1 at position 2 (posts/p1 v2 postEdited)" ]
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 1 5 3 0 false)"
	run -0 --separate-stderr evt-handle --continue-on-error h posts -- sh -c '[ "$EVT_POSITION" != 2 ]'
	same "$stderr" "evt-handle: h: 'sh' exited with status 1 at position 2 (posts/p1 v2 postEdited); parked
evt-handle: h: 1 event parked"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["posts"]' 5 5 0 1 false)"
	run -0 pg_psql -Atc "SELECT handler, position, status FROM $EVT_TEST_SCHEMA.e${BATS_TEST_NUMBER}_parked"
	same "$output" "h|2|1"
}

@test "PostgreSQL: one process per NAME; status shows it running; a SIGKILLed holder blocks nobody" {
	pg
	put s a '{"type":"x"}'
	start --follow h s -- true
	wait_until 20 holding h
	run -6 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle h s -- true
	[ "$stderr" = "evt-handle: h: already running" ]
	run -6 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle --reset h
	[ "$stderr" = "evt-handle: h: already running" ]
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 1 0 0 true)"
	run -0 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-handle other s -- true
	kill -KILL "$pid"
	ends "$pid" 137
	# at once, or as soon as the server has seen the connection go
	wait_until 20 evt-handle h s -- true
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 1 1 0 0 false)"
}

@test "PostgreSQL: --follow handles new events, SIGTERM ends it with exit 0" {
	pg
	start --follow h s -- cat
	wait_until 20 holding h
	put s a '{"type":"x"}' '{"type":"y"}'
	wait_until 20 has_lines bg.out 2
	kill -TERM "$pid"
	ends "$pid" 0
	same "$(cat bg.out)" "$(trec 1 s a 1 '{"type":"x"}')
$(trec 2 s a 2 '{"type":"y"}')"
	run -0 --separate-stderr evt-handle --status h
	same "$output" "$(status h '["s"]' 2 2 0 0 false)"
}

@test "PostgreSQL: at-least-once, evt-handle killed while handling P delivers P again" {
	pg
	for i in 1 2 3 4; do put s a "{\"type\":\"t$i\"}"; done
	mkprog h.sh 'echo "$EVT_POSITION" >>log
if [ "$EVT_POSITION" = 3 ] && [ ! -e killed ]; then touch killed; kill -9 $PPID; fi'
	run -137 --separate-stderr evt-handle h s -- ./h.sh
	run -0 --separate-stderr evt-handle h s -- ./h.sh
	same "$(cat log)" "1
2
3
3
4"
}

@test "PostgreSQL: --tail writes the end at once, so the next run handles what came in between; --reset past the head is exit 2" {
	pg
	fixture
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" ""
	put posts p3 '{"type":"between"}'
	run -0 --separate-stderr evt-handle --tail h posts -- cat
	same "$output" "$(trec 6 posts p3 1 '{"type":"between"}')"
	run -2 --separate-stderr evt-handle --reset h 7
	[ "$stderr" = "evt-handle: invalid position '7': past the head of the store (6)" ]
	run -0 --separate-stderr evt-handle --reset h 6
	same "$output" '{"name":"h","from":6,"to":6}'
}

@test "PostgreSQL: --wait waits for the holder; SIGTERM while waiting is exit 6" {
	pg
	put s a '{"type":"x"}'
	start --follow --always-tail h s -- true
	wait_until 20 holding h
	holder=$pid
	evt-handle --wait h s -- true >w.out 2>w.err 3>&- &
	waiter=$!
	pids="$pids $waiter"
	wait_until 20 pg_lock_waiter
	kill -TERM "$waiter"
	ends "$waiter" 6
	same "$(cat w.err)" "evt-handle: h: interrupted while waiting for the lock"
	start --wait h s -- sh -c 'echo "$EVT_POSITION" >>waited'
	waiter=$pid
	wait_until 20 pg_lock_waiter
	[ ! -e waited ]
	kill -TERM "$holder"
	ends "$holder" 0
	ends "$waiter" 0
	same "$(cat waited)" "1"
}

@test "table names given as options reach the program's environment" {
	run -0 evt-append -q --events-table ev2 --bookmarks-table bm2 s a '{"type":"x"}'
	run -0 --separate-stderr evt-handle --events-table ev2 --bookmarks-table bm2 h s \
		-- sh -c 'echo "$EVT_EVENTS_TABLE $EVT_BOOKMARKS_TABLE"; evt-read --head'
	[ "$output" = "ev2 bm2
1" ]
	[ "$stderr" = "" ]
	# and so do those of the environment; the defaults are set too
	EVT_EVENTS_TABLE=ev2 run -0 --separate-stderr evt-handle h2 s \
		-- sh -c 'echo "$EVT_EVENTS_TABLE $EVT_BOOKMARKS_TABLE"'
	[ "$output" = "ev2 bookmarks" ]
}

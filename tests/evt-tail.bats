#!/usr/bin/env bats
# evt-tail: follow the store like tail -f.
# backends: sqlite pg my
#
# A follower runs in the background with its output in a file; tests wait
# for what it prints with a bounded poll (wait_until), never a fixed sleep.
# A follower started in the default mode (new events only) is known to be
# following once it prints a marker appended after its start (ready).

load test_helper

join_lines() {
	printf '%s\n' "$@"
}

# A store of 4 events:
#   1 users/u1 v1 created      3 users/u1 v2 renamed
#   2 posts/p1 v1 created      4 users/u2 v1 created
fixture() {
	put users u1 '{"type":"created"}'
	put posts p1 '{"type":"created"}'
	put users u1 '{"type":"renamed","name":"bo"}'
	put users u2 '{"type":"created"}'
}
R1=$(trec 1 users u1 1 '{"type":"created"}')
R2=$(trec 2 posts p1 1 '{"type":"created"}')
R3=$(trec 3 users u1 2 '{"type":"renamed","name":"bo"}')
R4=$(trec 4 users u2 1 '{"type":"created"}')

# start OUT ARG...: run `evt-tail ARG...` in the background, its stdout to
# OUT and its stderr to err; its process id in $pid. teardown kills the
# followers a failed test left running.
start() {
	local out=$1
	shift
	evt-tail "$@" >"$out" 2>err 3>&- &
	pid=$!
	pids="${pids:-} $pid"
}

teardown() {
	local p
	for p in ${pids:-}; do
		kill -KILL "$p" 2>/dev/null || :
	done
}

# running PID: PID has not ended
running() {
	kill -0 "$1" 2>/dev/null
}

# stop PID: SIGTERM, then it exits 0 with nothing on stderr.
stop() {
	kill -TERM "$1"
	ends "$1" 0
	same "$(cat err)" ""
}

# ready OUT [STREAM]: append markers ({"type":"mark"} to STREAM/mark, STREAM
# m by default) until the follower writing OUT prints one: from then on, it
# is following. Markers appended before it read the store's end are never
# printed; later ones always are.
ready() {
	local out=$1 s=${2:-m}
	local end=$(( ${EPOCHREALTIME/./} + 20000000 * EVT_TEST_SLOW ))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		put "$s" mark '{"type":"mark"}'
		if wait_until 1 has_lines "$out" 1; then
			return 0
		fi
	done
	echo "the follower printed no marker" >&2
	return 1
}

# unmarked FILE: FILE without the marker lines.
unmarked() {
	grep -v '"aggregateId":"mark"' "$1" || :
}

# --- what is printed ---------------------------------------------------------

@test "by default only events committed after the start are printed" {
	fixture
	start out
	ready out
	k=$(wc -l <out)
	put users u1 '{"type":"live","i":1}' '{"type":"live","i":2}'
	put posts p1 '{"type":"live","i":3}'
	wait_until 20 has_lines out $((k + 3))
	n=$(evt-read --head)
	same "$(unmarked out)" "$(join_lines \
		"$(trec $((n - 2)) users u1 3 '{"type":"live","i":1}')" \
		"$(trec $((n - 1)) users u1 4 '{"type":"live","i":2}')" \
		"$(trec "$n" posts p1 2 '{"type":"live","i":3}')")"
	# the markers come first, then the events, nothing else
	[ "$(head -n "$k" out | grep -c '"aggregateId":"mark"')" = "$k" ]
	[ "$(wc -l <out)" = $((k + 3)) ]
	stop "$pid"
}

@test "-n 0: only events committed after the start" {
	fixture
	start out -n 0
	ready out
	k=$(wc -l <out)
	put users u1 '{"type":"live"}'
	wait_until 20 has_lines out $((k + 1))
	same "$(unmarked out)" "$(trec "$(evt-read --head)" users u1 3 '{"type":"live"}')"
	stop "$pid"
}

@test "--after POSITION: the history after POSITION, then new events" {
	fixture
	start out --after 2
	wait_until 20 has_lines out 2
	same "$(cat out)" "$(join_lines "$R3" "$R4")"
	put posts p1 '{"type":"published"}'
	wait_until 20 has_lines out 3
	put users u1 '{"type":"disabled"}' '{"type":"enabled"}'
	wait_until 20 has_lines out 5
	same "$(cat out)" "$(join_lines "$R3" "$R4" \
		"$(trec 5 posts p1 2 '{"type":"published"}')" \
		"$(trec 6 users u1 3 '{"type":"disabled"}')" \
		"$(trec 7 users u1 4 '{"type":"enabled"}')")"
	stop "$pid"
}

@test "--after 0 prints the whole history; --after=N past the end waits" {
	fixture
	start out --after=0
	wait_until 20 has_lines out 4
	same "$(cat out)" "$(join_lines "$R1" "$R2" "$R3" "$R4")"
	stop "$pid"
	start out2 --after 5
	put posts p1 '{"type":"five"}'
	put posts p1 '{"type":"six"}'
	wait_until 20 has_lines out2 1
	same "$(cat out2)" "$(trec 6 posts p1 3 '{"type":"six"}')"
	stop "$pid"
}

@test "-n N: the last N events, then new events" {
	fixture
	start out -n 2
	wait_until 20 has_lines out 2
	same "$(cat out)" "$(join_lines "$R3" "$R4")"
	put posts p1 '{"type":"published"}'
	wait_until 20 has_lines out 3
	same "$(cat out)" "$(join_lines "$R3" "$R4" "$(trec 5 posts p1 2 '{"type":"published"}')")"
	stop "$pid"
	# more than there are: all of them
	start out2 --lines 10
	wait_until 20 has_lines out2 5
	same "$(cat out2)" "$(join_lines "$R1" "$R2" "$R3" "$R4" "$(trec 5 posts p1 2 '{"type":"published"}')")"
	stop "$pid"
}

@test "-n N counts only the matching events of the streams and types asked" {
	fixture
	put users u1 '{"type":"disabled"}'
	start out -n 2 --type created users
	wait_until 20 has_lines out 2
	same "$(cat out)" "$(join_lines "$R1" "$R4")"
	put posts p2 '{"type":"created"}'
	put users u3 '{"type":"created"}'
	wait_until 20 has_lines out 3
	same "$(cat out)" "$(join_lines "$R1" "$R4" "$(trec 7 users u3 1 '{"type":"created"}')")"
	stop "$pid"
}

@test "--type TYPE, repeatable: only events of those types" {
	fixture
	start out --after 0 --type renamed --type disabled
	wait_until 20 has_lines out 1
	same "$(cat out)" "$R3"
	put users u1 '{"type":"created"}' '{"type":"disabled"}'
	put posts p1 '{"kind":"disabled","type":"x"}' '{"type":"renamed"}'
	wait_until 20 has_lines out 3
	same "$(cat out)" "$(join_lines "$R3" \
		"$(trec 6 users u1 4 '{"type":"disabled"}')" \
		"$(trec 8 posts p1 3 '{"type":"renamed"}')")"
	stop "$pid"
}

@test "several streams, as separate arguments and as STREAM,STREAM" {
	fixture
	put other o1 '{"type":"created"}'
	start out --after 0 users posts
	wait_until 20 has_lines out 4
	pid1=$pid
	start out2 --after 0 posts,other
	wait_until 20 has_lines out2 2
	pid2=$pid
	put users u1 '{"type":"a"}'
	put other o1 '{"type":"b"}'
	put posts p1 '{"type":"c"}'
	put nope n1 '{"type":"d"}'
	wait_until 20 has_lines out 6
	wait_until 20 has_lines out2 4
	same "$(cat out)" "$(join_lines "$R1" "$R2" "$R3" "$R4" \
		"$(trec 6 users u1 3 '{"type":"a"}')" \
		"$(trec 8 posts p1 2 '{"type":"c"}')")"
	same "$(cat out2)" "$(join_lines "$R2" \
		"$(trec 5 other o1 1 '{"type":"created"}')" \
		"$(trec 7 other o1 2 '{"type":"b"}')" \
		"$(trec 8 posts p1 2 '{"type":"c"}')")"
	stop "$pid1"
	stop "$pid2"
}

@test "--events-table: follows that table" {
	put_opts='--events-table mine' put s a '{"type":"mine"}'
	start out --after 0 --events-table mine
	wait_until 20 has_lines out 1
	put s a '{"type":"other"}'
	put_opts='--events-table mine' put s a '{"type":"mine2"}'
	wait_until 20 has_lines out 2
	same "$(cat out)" "$(join_lines "$(trec 1 s a 1 '{"type":"mine"}')" "$(trec 2 s a 2 '{"type":"mine2"}')")"
	stop "$pid"
}

# --- --count -----------------------------------------------------------------

@test "--count N: exit 0 after N records of history" {
	fixture
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-tail --after 0 --count 2
	[ "$stderr" = "" ]
	same "$output" "$(join_lines "$R1" "$R2")"
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-tail -n 3 --count 3
	same "$output" "$(join_lines "$R2" "$R3" "$R4")"
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-tail --after 0 --count=1 --type created posts
	same "$output" "$R2"
}

@test "--stream NAME: a stream with ',' written by others, with STREAM arguments" {
	fixture
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 'a,b', 'x', '$TS_SQL', '{\"type\":\"b\"}')"
	run -0 --separate-stderr timeout $((20 * EVT_TEST_SLOW)) evt-tail --after 0 --count 2 --stream a,b posts
	same "$output" "$(join_lines "$R2" "$(trec 5 a,b x 1 '{"type":"b"}')")"
	run -2 --separate-stderr evt-tail --stream ''
	[ "$stderr" = "evt-tail: invalid stream '': is empty" ]
}

@test "--count N: waits for new events, exits 0 after the N-th" {
	fixture
	start out --after 2 --count 4
	wait_until 20 has_lines out 2
	running "$pid"
	put posts p1 '{"type":"a"}'
	wait_until 20 has_lines out 3
	running "$pid"
	put users u9 '{"type":"b"}' '{"type":"c"}' '{"type":"d"}'
	ends "$pid" 0
	same "$(cat out)" "$(join_lines "$R3" "$R4" \
		"$(trec 5 posts p1 2 '{"type":"a"}')" \
		"$(trec 6 users u9 1 '{"type":"b"}')")"
	same "$(cat err)" ""
}

@test "--count counts only the records printed" {
	fixture
	start out --after 0 --type b --count 2
	put s a '{"type":"a"}' '{"type":"b"}' '{"type":"a"}'
	wait_until 20 has_lines out 1
	running "$pid"
	put s a '{"type":"a"}' '{"type":"b"}' '{"type":"b"}'
	ends "$pid" 0
	same "$(cat out)" "$(join_lines "$(trec 6 s a 2 '{"type":"b"}')" "$(trec 9 s a 5 '{"type":"b"}')")"
}

# --- signals, output -------------------------------------------------------------------

@test "SIGINT and SIGTERM: exit 0, quietly, output complete" {
	fixture
	for sig in INT TERM; do
		start out --after 3
		wait_until 20 has_lines out 1
		kill -s "$sig" "$pid"
		ends "$pid" 0
		same "$(cat err)" ""
		same "$(cat out)" "$R4"
	done
}

@test "SIGINT and SIGTERM stop a long catch-up between two records" {
	fixture
	# a history printed to a reader that has not read it yet: evt-tail
	# waits on a full pipe when the signal comes
	seq 20000 | sed 's/.*/{"type":"n","i":&}/' | evt-append -q big b
	for sig in INT TERM; do
		rm -f fifo
		mkfifo fifo
		start fifo --after 0
		exec 4<fifo
		IFS= read -r -t 20 -u 4 first
		[ "$first" = "$R1" ]
		kill -s "$sig" "$pid"
		timeout $((20 * EVT_TEST_SLOW)) cat <&4 >rest
		exec 4<&-
		ends "$pid" 0
		same "$(cat err)" ""
		# whole lines, in order, each once, and not all of them
		n=$(wc -l <rest)
		[ "$n" -lt 20003 ]
		same "$(cat rest)" "$(evt-read --after 1 -n "$n")"
	done
}

@test "every record is written to a file at once, while evt-tail runs" {
	fixture
	start out --after 3
	wait_until 20 has_lines out 1
	running "$pid"
	same "$(cat out)" "$R4"
	put posts p1 '{"type":"published"}'
	wait_until 20 has_lines out 2
	running "$pid"
	same "$(cat out)" "$(join_lines "$R4" "$(trec 5 posts p1 2 '{"type":"published"}')")"
	stop "$pid"
}

@test "every record is written to a pipe at once, while evt-tail runs" {
	fixture
	mkfifo fifo
	start fifo --after 3
	exec 4<fifo
	IFS= read -r -t 20 -u 4 line
	[ "$line" = "$R4" ]
	running "$pid"
	put posts p1 '{"type":"published"}'
	IFS= read -r -t 20 -u 4 line
	[ "$line" = "$(trec 5 posts p1 2 '{"type":"published"}')" ]
	running "$pid"
	stop "$pid"
	exec 4<&-
}

@test "evt-tail | head -1 ends quietly on a long history" {
	seq 20000 | sed 's/.*/{"type":"n","i":&}/' | evt-append -q s a
	run -0 --separate-stderr bash -c 'timeout $((20 * EVT_TEST_SLOW)) evt-tail --after 0 | head -n 1; echo "status ${PIPESTATUS[0]} ${PIPESTATUS[1]}"'
	[ "$stderr" = "" ]
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[0]}" =~ ^\{\"position\":1,\"stream\":\"s\",\"aggregateId\":\"a\",\"version\":1,\"timestamp\":\"$TS_RE\",\"event\":\{\"type\":\"n\",\"i\":1\}\}$ ]]
	[ "${lines[1]}" = "status 0 0" ]
}

@test "evt-tail | head -1 ends quietly when nothing more is committed" {
	# one event: evt-tail has written all it has before head exits
	put users u1 '{"type":"created"}'
	run -0 --separate-stderr bash -c 'timeout $((10 * EVT_TEST_SLOW)) evt-tail --after 0 | head -n 1; echo "status ${PIPESTATUS[0]} ${PIPESTATUS[1]}"'
	[ "$stderr" = "" ]
	same "$output" "$(join_lines "$R1" "status 0 0")"
}

@test "write error on stdout is exit 1 with a message" {
	fixture
	run -1 --separate-stderr to_full timeout $((20 * EVT_TEST_SLOW)) evt-tail --after 0
	[ "$output" = "" ]
	[ "$stderr" = "evt-tail: write error: No space left on device" ]
	# also on a live event
	start /dev/full --after 4
	put s a '{"type":"a"}'
	ends "$pid" 1
	same "$(cat err)" "evt-tail: write error: No space left on device"
}

# --- concurrency -------------------------------------------------------------------------

@test "4 concurrent writers: nothing skipped, repeated or reordered" {
	export EVT_SYNC=normal
	n=100
	start all --after 0 --count $((4 * n))
	tail_all=$pid
	start w3 --after 0 --count $n w3
	tail_w3=$pid
	cat >writer.sh <<'EOF'
# writer.sh W N: N appends to wW/a, one process each; W 4 appends 2 events
# a time
w=$1 n=$2 i=1
while [ "$i" -le "$n" ]; do
	if [ "$w" = 4 ]; then
		evt-append -q "w$w" a "{\"type\":\"e\",\"i\":$i}" "{\"type\":\"e\",\"i\":$((i + 1))}" || exit 1
		i=$((i + 2))
	else
		evt-append -q "w$w" a "{\"type\":\"e\",\"i\":$i}" || exit 1
		i=$((i + 1))
	fi
done
EOF
	writers=
	for w in 1 2 3 4; do
		timeout $((60 * EVT_TEST_SLOW)) sh writer.sh "$w" "$n" 3>&- &
		writers="$writers $!"
	done
	for p in $writers; do
		wait "$p"
	done
	ends "$tail_all" 0
	ends "$tail_w3" 0
	same "$(cat err)" ""
	[ "$(wc -l <all)" = $((4 * n)) ]
	same "$(sed 's/^{"position":\([0-9]*\),.*/\1/' all)" "$(evt-read | sed 's/^{"position":\([0-9]*\),.*/\1/')"
	same "$(cat all)" "$(evt-read)"
	same "$(cat w3)" "$(evt-read w3)"
}

# --- the store ---------------------------------------------------------------------------

# tables DB: DB has the events table
tables() {
	[ -e "$1" ] && [ "$(sqlite3 "$1" "SELECT count(*) FROM sqlite_master WHERE name = 'events'")" = 1 ]
}

@test "a store that does not exist yet is waited for, not created, then followed from its first event" {
	sqlite_only
	mkdir sub
	start out -d sub/new.db
	t1=$pid
	wait_until 20 awaiting "$t1" sub/new.db
	[ -z "$(ls sub)" ]
	# asleep, not polling: blocked in the kernel (S), not running (R)
	[ "$(sed 's/.*) \(.\).*/\1/' /proc/"$t1"/stat)" = S ]
	# -n N and no option alike: what the store holds came after the start
	start out2 -d sub/new.db -n 1
	out2=$pid
	wait_until 20 awaiting "$out2" sub/new.db
	evt-append -q -d sub/new.db s a '{"type":"a"}' '{"type":"b"}'
	evt-append -q -d sub/new.db s a '{"type":"c"}'
	wait_until 20 has_lines out 3
	wait_until 20 has_lines out2 3
	same "$(cat out)" "$(evt-read -d sub/new.db)"
	same "$(cat out2)" "$(evt-read -d sub/new.db)"
	[ "$(wc -l <out)" = 3 ]
	stop "$t1"
	stop "$out2"
}

@test "a store made elsewhere and renamed into place is followed" {
	sqlite_only
	start out -d new.db --count 2
	wait_until 20 awaiting "$pid" new.db
	evt-append -q -d other.db s a '{"type":"a"}' '{"type":"b"}'
	mv other.db new.db
	ends "$pid" 0
	same "$(cat out)" "$(evt-read -d new.db)"
}

@test "SIGTERM or SIGINT while waiting for a store: exit 0, nothing created" {
	sqlite_only
	start out -d new.db
	wait_until 20 awaiting "$pid" new.db
	stop "$pid"
	start out -d new.db --after 0
	wait_until 20 awaiting "$pid" new.db
	kill -INT "$pid"
	ends "$pid" 0
	same "$(cat err)" ""
	[ -z "$(ls -d new.db* 2>/dev/null)" ]
	[ ! -s out ]
}

@test "a store without tables is followed; sqlite:PATH and EVT_DB" {
	sqlite_only
	: >empty.db
	EVT_DB=sqlite:empty.db start out --after 0
	wait_until 20 tables empty.db
	evt-append -q -d empty.db s b '{"type":"b"}'
	wait_until 20 has_lines out 1
	output=$(cat out)
	same "$(no_ts)" '{"position":1,"stream":"s","aggregateId":"b","version":1,"timestamp":"TS","event":{"type":"b"}}'
	stop "$pid"
}

# One round of the race below in directory $1: the four appends and every
# follower succeed, and each follower prints exactly the store's 4 events.
race_round() {
	local t1 t2 h p a=
	mkdir "$1"
	cd "$1"
	# Plain evt-tail prints what is committed after it opened the store;
	# started before the file exists, that is everything.  So it goes
	# first; the others start together with the appends.
	evt-tail -d new.db --count 4 >t1 2>t1.err 3>&- &
	t1=$!
	pids="${pids:-} $t1"
	wait_until 20 awaiting "$t1" new.db
	evt-tail -d new.db --after 0 --count 4 >t2 2>t2.err 3>&- &
	t2=$!
	evt-handle -d new.db --follow h s -- cat >h 2>h.err 3>&- &
	h=$!
	pids="$pids $t2 $h"
	for i in 1 2 3 4; do
		evt-append -q -d new.db s "a$i" '{"type":"x"}' 2>"a$i.err" 3>&- &
		a="$a $!"
	done
	for p in $a; do
		ends "$p" 0
	done
	ends "$t1" 0
	ends "$t2" 0
	wait_until 20 has_lines h 4
	kill -TERM "$h"
	ends "$h" 0
	same "$(cat ./*.err)" ""
	run -0 evt-read -d new.db
	[ "${#lines[@]}" = 4 ]
	same "$(cat t1)" "$output"
	same "$(cat t2)" "$output"
	same "$(cat h)" "$output"
	cd ..
}

@test "50 rounds: evt-tail, evt-tail --after 0, evt-handle --follow and 4 evt-append at once on a missing store" {
	sqlite_only
	local r
	# each round starts 7 processes: fewer under valgrind
	for r in $(seq "${VALGRIND:+5}${VALGRIND:-50}"); do
		race_round "r$r"
	done
}

@test "a store that cannot be opened is exit 1" {
	sqlite_only
	run -1 --separate-stderr evt-tail -d nodir/x.db
	[ "$output" = "" ]
	[ "$stderr" = "evt-tail: cannot open 'nodir/x.db': no such directory" ]
	[ ! -e nodir ]
	echo 'not a database, not at all' >bad.db
	run -1 --separate-stderr evt-tail -d bad.db
	[ "$stderr" = "evt-tail: cannot open 'bad.db': file is not a database" ]
}

@test "follows across WAL checkpoints, also TRUNCATE" {
	sqlite_only
	fixture
	start out --after 0
	wait_until 20 has_lines out 4
	pos=5
	for mode in PASSIVE FULL RESTART TRUNCATE TRUNCATE; do
		run -0 sqlite3 events.db "PRAGMA wal_checkpoint($mode)"
		put s a "{\"type\":\"after\",\"mode\":\"$mode\"}"
		wait_until 20 has_lines out $pos
		same "$(tail -n 1 out)" "$(trec $pos s a $((pos - 4)) "{\"type\":\"after\",\"mode\":\"$mode\"}")"
		pos=$((pos + 1))
	done
	[ "$(stat -c %s events.db-wal)" -gt 0 ]
	same "$(cat out)" "$(evt-read)"
	stop "$pid"
}

@test "PostgreSQL: follows across server restarts, nothing skipped or repeated" {
	pg_backend || skip "PostgreSQL only"
	fixture
	start out --after 0
	wait_until 20 has_lines out 4
	# 3>&-: the new server must not hold bats' output open
	pg_restart 3>&-
	put posts p1 '{"type":"after-first"}'
	wait_until 60 has_lines out 5
	put posts p1 '{"type":"before-second"}'
	wait_until 20 has_lines out 6
	pg_restart 3>&-
	pg_restart 3>&-
	put users u1 '{"type":"after-third"}' '{"type":"and-one-more"}'
	wait_until 60 has_lines out 8
	same "$(cat out)" "$(join_lines "$R1" "$R2" "$R3" "$R4" \
		"$(trec 5 posts p1 2 '{"type":"after-first"}')" \
		"$(trec 6 posts p1 3 '{"type":"before-second"}')" \
		"$(trec 7 users u1 3 '{"type":"after-third"}')" \
		"$(trec 8 users u1 4 '{"type":"and-one-more"}')")"
	kill -TERM "$pid"
	ends "$pid" 0
}

# --- usage -------------------------------------------------------------------------------

@test "--after with -n is a usage error" {
	run -2 --separate-stderr evt-tail --after 1 -n 2
	[ "$output" = "" ]
	[ "$stderr" = "evt-tail: --after and -n cannot be used together" ]
	run -2 --separate-stderr evt-tail --lines=2 --after=0
	[ "$stderr" = "evt-tail: --after and -n cannot be used together" ]
	[ ! -e events.db ]
}

@test "a bad POSITION, N or count is a usage error" {
	for v in abc -1 1.5 '' ' 1' +1 1x 99999999999999999999; do
		run -2 --separate-stderr evt-tail --after "$v"
		[ "$output" = "" ]
		[ "$stderr" = "evt-tail: invalid position '$v': expected a whole number from 0 to 9223372036854775807" ]
		run -2 --separate-stderr evt-tail -n "$v"
		[ "$stderr" = "evt-tail: invalid number '$v': expected a whole number from 0 to 9223372036854775807" ]
		run -2 --separate-stderr evt-tail --count "$v"
		[ "$stderr" = "evt-tail: invalid count '$v': expected a whole number from 1 to 9223372036854775807" ]
	done
	run -2 --separate-stderr evt-tail --count 0
	[ "$stderr" = "evt-tail: invalid count '0': expected a whole number from 1 to 9223372036854775807" ]
	[ ! -e events.db ]
}

@test "a bad stream or type is a usage error" {
	max=$(printf 'x%.0s' $(seq 255))
	run -2 --separate-stderr evt-tail ''
	[ "$output" = "" ]
	[ "$stderr" = "evt-tail: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-tail users 'a,,b'
	[ "$stderr" = "evt-tail: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-tail 'users,'
	[ "$stderr" = "evt-tail: invalid stream '': is empty" ]
	run -2 --separate-stderr evt-tail "${max}y"
	[ "$stderr" = "evt-tail: invalid stream '${max}y': is longer than 255 bytes" ]
	run -2 --separate-stderr evt-tail --type ''
	[ "$stderr" = "evt-tail: invalid type ''" ]
	[ ! -e events.db ]
}

@test "unknown options and missing values are usage errors" {
	run -2 --separate-stderr evt-tail --bogus
	[ "$output" = "" ]
	[ "$stderr" = "evt-tail: unknown option '--bogus'" ]
	run -2 --separate-stderr evt-tail -x
	[ "$stderr" = "evt-tail: unknown option '-x'" ]
	run -2 --separate-stderr evt-tail --last
	[ "$stderr" = "evt-tail: unknown option '--last'" ]
	for opt in --after -n --lines --count --type -d --events-table; do
		run -2 --separate-stderr evt-tail "$opt"
		[ "$stderr" = "evt-tail: option '$opt' needs a value" ]
	done
	run -2 --separate-stderr evt-tail --events-table a-b
	[ "$stderr" = "evt-tail: invalid events table 'a-b': $NAME_RULE" ]
	[ ! -e events.db ]
}


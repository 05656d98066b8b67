#!/usr/bin/env bats
# The MariaDB/MySQL backend: what is special to it.  Runs against the
# throwaway server tests/run.sh starts (EVT_TEST_MY_URL); every test has a
# database of its own, which EVT_DB points to.
#
# Followers run in the background; tests wait for what they print with a
# bounded poll (wait_until), never a fixed sleep.

EVT_TEST_BACKEND=my
load test_helper

setup_file() {
	if [ -z "${EVT_TEST_MY_URL:-}" ]; then
		echo "no MariaDB server: run tests/run.sh tests/my.bats" >&2
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

# bg OUT PROGRAM ARG...: run PROGRAM in the background, stdout to OUT,
# stderr to OUT.err; $pid is its process id.
bg() {
	local out=$1
	shift
	"$@" <&0 >"$out" 2>"$out.err" 3>&- 4>&- 5>&- &
	pid=$!
	pids="${pids:-} $pid"
}

# has_position FILE P: FILE has the record at position P.
has_position() {
	grep -q "^{\"position\":$2," "$1" 2>/dev/null
}

# positions FILE: the positions of FILE's records, each followed by a space.
positions() {
	sed 's/^{"position":\([0-9]*\),.*/\1/' "$1" | tr '\n' ' '
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

# A writer that is not evt: a mariadb client session of this test's
# database reading statements from a fifo (foreign_open, foreign SQL...,
# foreign_close).
foreign_open() {
	mkfifo sqlin
	my_sql --unbuffered --batch --skip-column-names -D "$EVT_TEST_DB" <sqlin >foreign.out 2>&1 3>&- &
	pids="${pids:-} $!"
	exec 5>sqlin
}

foreign() {
	printf '%s\n' "$@" >&5
}

foreign_close() {
	exec 5>&-
}

# foreign_insert STREAM ID: the foreign session inserts one event.
foreign_insert() {
	foreign "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, '$1', '$2', UTC_TIMESTAMP(3), '{\"type\":\"$1\"}');" \
		"SELECT 'inserted';"
}

# in_transaction: the foreign session has run what it was given (it says
# so after its insert).
in_transaction() {
	grep -q '^inserted$' foreign.out
}

# waiting_for_lock: a session of this test waits in GET_LOCK.
waiting_for_lock() {
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '$EVT_TEST_DB' AND STATE = 'User lock'")" -ge 1 ]
}

# waiting_for_writers N: N sessions of this test wait for the writers of a
# gap (safe_end in lib/store_my.c).
waiting_for_writers() {
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '$EVT_TEST_DB' AND INFO LIKE 'DO SLEEP(0.02) /* evt: waiting for the writers of a gap */'")" = "$1" ]
}

# inserting: an evt-append of this test's database is inserting rows now.
inserting() {
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '$EVT_TEST_DB' AND INFO LIKE 'INSERT INTO \`events\`%'")" -ge 1 ]
}

# --- connecting -------------------------------------------------------------------

@test "no evt program links libmariadb" {
	for p in "$EVT_TOP"/bin/*; do
		run -0 ldd "$p"
		[[ "$output" != *libmariadb* ]]
		[[ "$output" != *libmysqlclient* ]]
	done
}

@test "without libmariadb a MariaDB URL is exit 1; SQLite and PostgreSQL never load it" {
	EVT_LIBMARIADB=libmariadb-missing.so.3 run -1 --separate-stderr evt-read
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open '${EVT_DB/:evt-secret@/:***@}': libmariadb-missing.so.3 not found (install libmariadb3)" ]
	EVT_LIBMARIADB=libmariadb-missing.so.3 run -1 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open '${EVT_DB/:evt-secret@/:***@}': libmariadb-missing.so.3 not found (install libmariadb3)" ]
	EVT_LIBMARIADB=libmariadb-missing.so.3 run -0 --separate-stderr evt-append -q -d x.db s a '{"type":"a"}'
	EVT_LIBMARIADB=libmariadb-missing.so.3 run -0 --separate-stderr evt-read -d x.db --head
	[ "$output" = 1 ]
	# the libraries a SQLite run maps: no libmariadb among them
	LD_DEBUG=libs run -0 --separate-stderr evt-read -d x.db --head
	[[ "$stderr" == *libsqlite3* ]]
	[[ "$stderr" != *libmariadb* ]]
	LD_DEBUG=libs run -1 --separate-stderr evt-read -d postgres://127.0.0.1:1/db --head
	[[ "$stderr" == *libpq* ]]
	[[ "$stderr" != *libmariadb* ]]
	LD_DEBUG=libs run -0 --separate-stderr evt-read --head
	[[ "$stderr" == *libmariadb.so.3* ]]
}

@test "an unreachable server or database is exit 1 with libmariadb's first line; a password is not shown" {
	run -1 --separate-stderr evt-read -d "mysql://ann:s3cret@localhost/app?socket=$BATS_TEST_TMPDIR/none.sock"
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open 'mysql://ann:***@localhost/app?socket=$BATS_TEST_TMPDIR/none.sock': Can't connect to local server through socket '$BATS_TEST_TMPDIR/none.sock' (2)" ]
	for cmd in "evt-append s a {\"type\":\"a\"}" "evt-tail" "evt-fold s a" \
		"evt-handle h s -- true" "evt-handle --status"; do
		set -- $cmd
		run -1 --separate-stderr "$1" -d "mariadb://ann@localhost/app?socket=$BATS_TEST_TMPDIR/none.sock" "${@:2}"
		[ "$stderr" = "$1: cannot open 'mariadb://ann@localhost/app?socket=$BATS_TEST_TMPDIR/none.sock': Can't connect to local server through socket '$BATS_TEST_TMPDIR/none.sock' (2)" ]
	done
	url="mysql://evt:evt-secret@127.0.0.1:$EVT_TEST_MY_PORT/nosuchdb"
	run -1 --separate-stderr evt-read -d "$url"
	[ "$stderr" = "evt-read: cannot open 'mysql://evt:***@127.0.0.1:$EVT_TEST_MY_PORT/nosuchdb': Unknown database 'nosuchdb'" ]
	run -1 --separate-stderr evt-read -d "mysql://evt:wrong@127.0.0.1:$EVT_TEST_MY_PORT/$EVT_TEST_DB"
	[ "$stderr" = "evt-read: cannot open 'mysql://evt:***@127.0.0.1:$EVT_TEST_MY_PORT/$EVT_TEST_DB': Access denied for user 'evt'@'127.0.0.1' (using password: YES)" ]
}

@test "mysql:// and mariadb:// URLs: TCP, ?socket=, %-escapes, the MYSQL_* variables" {
	evt-append -q s a '{"type":"a"}'
	run -0 --separate-stderr evt-read -d "$(my_url "$EVT_TEST_DB" socket)" --head
	[ "$output" = 1 ]
	run -0 --separate-stderr evt-read -d "mariadb://evt:evt%2Dsecret@127.0.0.1:$EVT_TEST_MY_PORT/$EVT_TEST_DB" --head
	[ "$output" = 1 ]
	run -0 --separate-stderr env MYSQL_TCP_PORT="$EVT_TEST_MY_PORT" evt-read -d "mysql://evt:evt-secret@127.0.0.1/$EVT_TEST_DB" --head
	[ "$output" = 1 ]
	run -2 --separate-stderr evt-read -d "mysql://evt:evt-secret@localhost/$EVT_TEST_DB?ssl=1"
	[ "$stderr" = "evt-read: unsupported parameter 'ssl' in store URL 'mysql://evt:***@localhost/$EVT_TEST_DB?ssl=1' (only socket=PATH)" ]
	run -2 --separate-stderr evt-read -d "mysql://evt@127.0.0.1:99999/$EVT_TEST_DB"
	[ "$stderr" = "evt-read: invalid store URL 'mysql://evt@127.0.0.1:99999/$EVT_TEST_DB' (expected mysql://USER:PASSWORD@HOST:PORT/DB?socket=PATH)" ]
	run -2 --separate-stderr evt-read -d "mysql://evt:a%zz@127.0.0.1/$EVT_TEST_DB"
	[ "$stderr" = "evt-read: invalid store URL 'mysql://evt:***@127.0.0.1/$EVT_TEST_DB' (expected mysql://USER:PASSWORD@HOST:PORT/DB?socket=PATH)" ]
	run -2 --separate-stderr evt-read --events-table a.b
	[ "$stderr" = "evt-read: invalid events table 'a.b': must match [A-Za-z_][A-Za-z0-9_]*" ]
}

# --- the schema --------------------------------------------------------------------

@test "evt creates the tables evtstore's knex migrate creates (LONGTEXT, DATETIME(3))" {
	evt-append -q s a '{"type":"a"}'
	same "$(db_tables)" "bookmarks
events"
	# (db_sql quotes names as standard SQL does: ANSI_QUOTES)
	run -0 db_sql "SHOW CREATE TABLE events"
	same "$output" 'events|CREATE TABLE "events" (
  "position" bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  "version" int(11) DEFAULT NULL,
  "stream" varchar(255) DEFAULT NULL,
  "aggregate_id" varchar(255) DEFAULT NULL,
  "timestamp" datetime(3) DEFAULT NULL,
  "event" longtext DEFAULT NULL,
  PRIMARY KEY ("position"),
  UNIQUE KEY "events_stream_position_unique" ("stream","position"),
  UNIQUE KEY "events_stream_aggregate_id_version_unique" ("stream","aggregate_id","version")
) ENGINE=InnoDB AUTO_INCREMENT=2 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin'
	run -0 db_sql "SHOW CREATE TABLE bookmarks"
	same "$output" 'bookmarks|CREATE TABLE "bookmarks" (
  "bookmark" varchar(255) NOT NULL,
  "position" bigint(20) DEFAULT NULL,
  PRIMARY KEY ("bookmark")
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin'
}

@test "ten writers creating the schema at once all succeed" {
	for w in 1 2 3 4 5 6 7 8 9 10; do
		evt-append -q s "w$w" '{"type":"a"}' 2>"err.$w" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	[ "$(cat err.*)" = "" ]
	[ "$(evt-read | wc -l)" = 10 ]
}

# The tables as evtstore 12.0.1's knex provider makes them (captured from
# its query log), on a server whose default collation is case-insensitive.
knex_schema() {
	db_sql "create table \`events\` (\`position\` bigint unsigned not null auto_increment primary key, \`version\` int, \`stream\` varchar(255), \`aggregate_id\` varchar(255), \`timestamp\` datetime, \`event\` text);
alter table \`events\` add unique \`events_stream_position_unique\`(\`stream\`, \`position\`);
alter table \`events\` add unique \`events_stream_aggregate_id_version_unique\`(\`stream\`, \`aggregate_id\`, \`version\`);
create table \`bookmarks\` (\`bookmark\` varchar(255), \`position\` bigint, primary key (\`bookmark\`));"
}

@test "evtstore's tables: an event too big for TEXT is exit 4 and nothing is written" {
	knex_schema
	evt-append -q s a '{"type":"a"}'
	printf '{"type":"big","x":"%s"}\n' "$(head -c 65600 /dev/zero | tr '\0' x)" >big
	run -4 --separate-stderr evt-append s a <big
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: cannot append to '${EVT_DB/:evt-secret@/:***@}': an event of $(( $(wc -c <big) - 1 )) bytes is too big for column event of events (at most 65535 bytes)" ]
	# with others before it in the same append: none of them is written
	{ echo '{"type":"small"}'; cat big; } >two
	run -4 --separate-stderr evt-append s a <two
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 1 ]
	# just fitting: written and read back
	printf '{"type":"fits","x":"%s"}\n' "$(head -c 65513 /dev/zero | tr '\0' x)" >fits
	[ "$(wc -c <fits)" = 65536 ]
	run -0 --separate-stderr evt-append -q s a <fits
	run -0 --separate-stderr evt-read --last s a
	[ "${#output}" -gt 65535 ]
	[[ "$output" == *'"version":2,'* ]]
}

@test "evtstore's tables: DATETIME keeps seconds; what evt-append prints is what is stored" {
	knex_schema
	run -0 --separate-stderr evt-append --records <<'EOF'
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.678Z","event":{"type":"a"}}
{"stream":"s","aggregateId":"a","timestamp":"2020-01-02T03:04:05.999+01:00","event":{"type":"b"}}
EOF
	appended=$output
	same "$(printf '%s\n' "$output" | sed 's/.*"timestamp":"\([^"]*\)".*/\1/')" "2020-01-02T03:04:05.000Z
2020-01-02T02:04:05.000Z"
	run -0 --separate-stderr evt-read
	same "$output" "$appended"
	run -0 db_sql "SELECT timestamp FROM events ORDER BY position"
	same "$output" "2020-01-02 03:04:05
2020-01-02 02:04:05"
}

@test "evtstore's tables: names are exact, whatever the table's collation" {
	knex_schema
	evt-append -q users u1 '{"type":"a"}'
	evt-append -q Users U1 '{"type":"b"}' 2>/dev/null || :
	db_sql "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 'users ', 'x', '$TS_SQL', '{\"type\":\"c\"}')"
	run -0 --separate-stderr evt-read users
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *'"type":"a"'* ]]
	run -0 --separate-stderr evt-read users u1
	[ "${#lines[@]}" = 1 ]
	run -0 --separate-stderr evt-read --stream 'users ' x
	[[ "$output" == *'"type":"c"'* ]]
}

# --- the append lock ------------------------------------------------------------------

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
	for w in 1 7 20; do
		run -0 --separate-stderr evt-read "s$((w % 3))" "w$w"
		[ "${#lines[@]}" = 50 ]
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

# Is the append lock of the events table held?
append_locked() {
	[ "$(db_sql "SELECT IS_USED_LOCK(CONCAT('evt-a-', SHA1(CONCAT_WS('.', DATABASE(), 'events')))) IS NOT NULL")" = 1 ]
}

@test "the append lock is held to the commit; EVT_BUSY_TIMEOUT bounds the wait for it" {
	# a producer that stops half-way keeps the append (and its lock) open
	mkfifo in
	exec 6<>in
	bg big.out evt-append -q s b <in 6>&-
	seq 5000 | sed 's/.*/{"type":"n","i":&}/' >&6
	wait_until 30 append_locked
	EVT_BUSY_TIMEOUT=50 run -1 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot write to '${EVT_DB/:evt-secret@/:***@}': the append lock of events is busy (waited 50 ms)" ]
	EVT_BUSY_TIMEOUT=x run -2 --separate-stderr evt-append s a '{"type":"a"}'
	[ "$stderr" = "evt-append: EVT_BUSY_TIMEOUT must be milliseconds" ]
	# without a bound it waits, then comes after the whole big append
	bg one.out evt-append s a '{"type":"a"}' 6>&-
	one=$pid
	wait_until 20 waiting_for_lock
	seq 5001 10000 | sed 's/.*/{"type":"n","i":&}/' >&6
	exec 6>&-
	ends "$one" 0
	[[ "$(cat one.out)" == '{"position":10001,'* ]]
	run -0 --separate-stderr evt-read s b
	[ "${#lines[@]}" = 10000 ]
	[ "$(cat big.out big.out.err)" = "" ]
}

@test "a big append over the unix socket: whole batches of rows, none stalled" {
	seq 30000 | sed 's/.*/{"type":"n","i":&}/' >big
	EVT_DB=$(my_url "$EVT_TEST_DB" socket)
	run -0 --separate-stderr timeout 60 evt-append -q s a <big
	[ "$output" = "" ] && [ "$stderr" = "" ]
	run -0 --separate-stderr evt-read --after 29999
	[ "$output" = "$(evt-read s a | tail -n 1)" ]
	[[ "$output" == '{"position":30000,"stream":"s","aggregateId":"a","version":30000,'*'"event":{"type":"n","i":30000}}' ]]
	run -0 --separate-stderr evt-append -q --records < <(evt-read s a | sed 's/"aggregateId":"a","version":[0-9]*,/"aggregateId":"b",/')
	[ "$(evt-read s b | wc -l)" = 30000 ]
}

@test "SIGKILL in the middle of a big append leaves none of it; the lock goes with it" {
	evt-append -q s a '{"type":"before"}'
	seq 200000 | sed 's/.*/{"type":"n","i":&}/' >big
	bg out evt-append -q s a <big
	wait_until 30 inserting
	killed "$pid"
	run -0 --separate-stderr evt-read s a
	[ "${#lines[@]}" = 1 ]
	EVT_BUSY_TIMEOUT=10000 run -0 --separate-stderr evt-append s a '{"type":"after"}'
	[[ "$output" == *'"version":2,'* ]]
}

# --- gaps: writers that are not evt -----------------------------------------------

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
	foreign_open
	foreign "BEGIN;"
	foreign_insert s f
	wait_until 20 in_transaction
	# evt-append commits positions 3 and 4 while 2 may still come
	evt-append -q s b '{"type":"b"}'
	evt-append -q s c '{"type":"c"}'
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-read --after 1
	[ "$output" = "" ]
	EVT_BUSY_TIMEOUT=300 run -0 --separate-stderr evt-read --after 0
	[ "$(positions <(printf '%s\n' "$output"))" = "1 " ]
	[ "$(positions tail.out)" = "1 " ]
	[ "$(cat handled | wc -l)" = 1 ]
	[ "$(cat batched | wc -l)" = 1 ]
	[ "$(positions read.out)" = "1 " ]
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
	wait_until 20 has_position tail.out 1
	foreign_open
	foreign "BEGIN;"
	foreign_insert gone g
	wait_until 20 in_transaction
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
	foreign_close
	[ "$(positions tail.out)" = "1 3 " ]
	# the gap is final now: a reader does not wait for it
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr timeout 10 evt-read --after 1
	[ "$(positions <(printf '%s\n' "$output"))" = "3 " ]
	kill -TERM "$tail"
	ends "$tail" 0
	[ "$(cat tail.out.err)" = "" ]
}

@test "100 old gaps and an open foreign insert: readers wait once for the insert, not once per gap" {
	evt-append -q s a '{"type":"a"}'
	# 100 rolled-back inserts (positions 2, 4 ... 200), each followed by a
	# committed one (3, 5 ... 201)
	for i in $(seq 100); do
		echo "BEGIN; INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'r$i', UTC_TIMESTAMP(3), '{\"type\":\"r\"}'); ROLLBACK;"
		echo "INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'c$i', UTC_TIMESTAMP(3), '{\"type\":\"c\"}');"
	done | my_sql --batch -D "$EVT_TEST_DB"
	# 202 inserted and not committed, 203 committed after it
	foreign_open
	foreign "BEGIN;"
	foreign_insert s o
	wait_until 20 in_transaction
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
	# the transactions running when the gap was seen: a 20 ms pause and
	# the list of transactions, then the reads (~100 ms in all on an idle
	# machine).  A design that waited once per old gap, were it only its
	# 20 ms pause each, would take at least 100 x 20 ms = 2 s after the
	# COMMIT (100 ms each: 10 s) and fail.
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
	# with no transaction open, a new reader from 0 does not wait for them
	t0=$(now_us)
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr evt-read --after 0
	within 1 "$t0"
	same "$output" "$(evt-read)"
	t0=$(now_us)
	EVT_BUSY_TIMEOUT=60000 run -0 --separate-stderr evt-tail --after 196 --count 4
	within 1 "$t0"
	[ "$(positions <(printf '%s\n' "$output"))" = "197 199 201 202 " ]
}

@test "evt-tail started while a foreign insert is open prints it when it commits" {
	evt-append -q s a '{"type":"a"}'
	foreign_open
	foreign "BEGIN;"
	foreign_insert s late
	wait_until 20 in_transaction
	evt-append -q s b '{"type":"b"}'
	bg tail.out evt-tail
	tail=$pid
	bg h.out evt-handle --follow --tail h s -- sh -c 'cat >>handled'
	handle=$pid
	# both wait for the transaction; then commit it
	wait_until 20 waiting_for_writers 2
	foreign "COMMIT;"
	foreign_close
	evt-append -q s c '{"type":"c"}'
	wait_until 20 has_position tail.out 4
	wait_until 20 has_lines handled 3 || { cat handled h.out.err >&2; false; }
	[ "$(positions tail.out)" = "2 3 4 " ]
	same "$(cat handled)" "$(evt-read --after 1)"
	kill -TERM "$tail" "$handle"
	ends "$tail" 0
	ends "$handle" 0
}

# evtstore WHAT ARG...: evtstore's knex provider (tests/interop/my.js) on
# the store EVT_DB.
evtstore() {
	local what=$1
	shift
	node "$BATS_TEST_DIRNAME/interop/my.js" "$what" "$EVT_DB" "$@"
}

# The writers of the soak test, each until the time END (now_us); each
# writes the number of events it committed to the file committed.NAME.

# soak_sql END: a mariadb client session, one insert per transaction,
# every tenth rolled back.
soak_sql() {
	local i=0
	{
		while [ "${EPOCHREALTIME/./}" -lt "$1" ]; do
			i=$((i + 1))
			if [ $((i % 10)) = 0 ]; then
				echo "BEGIN; INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'q$i', UTC_TIMESTAMP(3), '{\"type\":\"q\"}'); DO SLEEP(0.005); ROLLBACK;"
			else
				echo "BEGIN; INSERT INTO events (version, stream, aggregate_id, timestamp, event) VALUES (1, 's', 'p$i', UTC_TIMESTAMP(3), '{\"type\":\"p\"}'); DO SLEEP(0.002); COMMIT;"
			fi
		done
		echo $((i - i / 10)) >committed.sql
	} | my_sql --batch -D "$EVT_TEST_DB"
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

@test "soak: evtstore, evt-append and mariadb writers for 20 s; every event once, in order" {
	if [ ! -d "$BATS_TEST_DIRNAME/interop/node_modules/mysql2" ]; then
		echo "run: (cd tests/interop && npm ci)" >&2
		return 1
	fi
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
	soak_sql "$end" &
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

# --- following across a restart -------------------------------------------------------

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
	my_restart
	wait "$w"
	writes 20 221
	wait_until 60 has_position tail.out "$(evt-read --head)"
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
	my_restart
	wait "$w"
	writes 10 111
	n=$(evt-read s | wc -l)
	wait_until 60 has_lines handled "$n"
	same "$(cat handled)" "$(evt-read s)"
	run -6 --separate-stderr evt-handle h s -- true
	[ "$stderr" = "evt-handle: h: already running" ]
	kill -TERM "$pid"
	ends "$pid" 0
	[ "$(cat h.out.err)" = "" ]
	run -0 --separate-stderr evt-handle --status h
	[[ "$output" == *'"running":false}' ]]
}

# --- handler locks -------------------------------------------------------------------

@test "the handler lock: one process per NAME, freed when the holder dies" {
	evt-append -q s a '{"type":"a"}'
	bg h.out evt-handle --follow h s -- sh -c 'cat >>handled'
	holder=$pid
	wait_until 20 has_lines handled 1
	run -6 --separate-stderr evt-handle h s -- true
	[ "$stderr" = "evt-handle: h: already running" ]
	run -0 --separate-stderr evt-handle --status h
	[[ "$output" == *'"running":true}' ]]
	# another bookmarks table is another NAME
	run -0 --separate-stderr evt-handle --bookmarks-table other h s -- true
	bg w.out evt-handle --wait h s -- sh -c 'cat >>waited'
	waiter=$pid
	wait_until 20 waiting_for_lock
	killed "$holder"
	ends "$waiter" 0
	[ "$(cat waited)" = "" ]
	run -0 --separate-stderr evt-handle --status h
	[[ "$output" == *'"position":1,'*'"running":false}' ]]
}

@test "a holder killed with SIGKILL, its handler still running, never blocks its successor" {
	evt-append -q s a '{"type":"x"}' '{"type":"y"}'
	cat >h.sh <<'EOF2'
#!/bin/sh
touch started
exec sleep 60
EOF2
	chmod +x h.sh
	bg h.out evt-handle h s -- ./h.sh
	wait_until 10 test -e started
	killed "$pid"
	# the handler (sleep) still runs; it holds no session of evt's
	wait_until 3 not_running h
	run -0 --separate-stderr timeout 10 evt-handle h s -- cat
	[ "${#lines[@]}" = 2 ]
}

# not_running NAME: --status says NAME is not running.
not_running() {
	evt-handle --status "$1" | grep -q '"running":false}$'
}

@test "a gap-safe read needs the PROCESS privilege only at a gap, and says so" {
	my_sql -e "CREATE USER IF NOT EXISTS 'noproc'@'127.0.0.1' IDENTIFIED BY 'np';
		GRANT ALL ON \`$EVT_TEST_DB\`.* TO 'noproc'@'127.0.0.1'"
	url="mysql://noproc:np@127.0.0.1:$EVT_TEST_MY_PORT/$EVT_TEST_DB"
	evt-append -q s a '{"type":"a"}' '{"type":"b"}'
	run -0 --separate-stderr evt-read -d "$url" --after 0
	[ "${#lines[@]}" = 2 ]
	# a gap: a foreign insert inside an open transaction, then evt's
	foreign_open
	foreign "BEGIN;"
	foreign_insert s f
	wait_until 20 in_transaction
	evt-append -q s b '{"type":"c"}'
	run -1 --separate-stderr evt-read -d "$url" --after 0
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot read 'mysql://noproc:***@127.0.0.1:$EVT_TEST_MY_PORT/$EVT_TEST_DB': a gap-safe read needs the PROCESS privilege (GRANT PROCESS ON *.* TO the user)" ]
	# a read of the store as it is needs none
	run -0 --separate-stderr evt-read -d "$url"
	[ "${#lines[@]}" = 3 ]
	foreign "ROLLBACK;"
	foreign_close
}

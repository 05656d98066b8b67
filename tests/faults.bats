#!/usr/bin/env bats
# Faults of the store: a disk that fills, a read-only file system, a store
# the user may not write, a file that is not a database, a database cut
# short, and one locked by another writer beyond EVT_BUSY_TIMEOUT.  Each
# gives exit status 1 (SPEC.md: failure of the store) with its message, and
# loses nothing: the store holds afterwards exactly what it held before,
# passes PRAGMA integrity_check, and takes appends again once the fault is
# gone.  SQLite only: the PostgreSQL faults (a server stopped in the
# middle) are in tests/pg.bats.
#
# The small disks are tmpfs mounts (root only: elsewhere those tests skip,
# saying so).

load test_helper

MOUNTS=()
HOLDER=

teardown() {
	local m
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	[ -z "${OTHER_DIR:-}" ] || rm -rf "$OTHER_DIR"
}

# A tmpfs of size $2 at directory $1 (created).
small_disk() {
	local err
	mkdir -p "$1"
	if ! err=$(mount -t tmpfs -o "size=$2" tmpfs "$1" 2>&1); then
		skip "cannot mount a tmpfs: $err"
	fi
	MOUNTS+=("$1")
}

# The store $1 passes PRAGMA integrity_check.
intact() {
	run -0 sqlite3 "$1" 'PRAGMA integrity_check'
	[ "$output" = ok ]
}

# evt-read of store $1 prints exactly the file $2.
holds() {
	run -0 --separate-stderr evt-read -d "$1"
	same "$output" "$(cat "$2")"
}

# $1 events of some 100 bytes each, on stdin for evt-append.
events() {
	seq "$1" | sed 's/.*/{"type":"big","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","k":&}/'
}

# A handler that logs the position of each event it gets to ./handled.
handler() {
	printf '#!/bin/sh\ncat >/dev/null\nprintf "%%s\\n" "$EVT_POSITION" >>"%s/handled"\n' \
		"$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/h.sh"
	chmod +x "$BATS_TEST_TMPDIR/h.sh"
}

# --- disk full -------------------------------------------------------------

@test "disk full in the middle of a batch: exit 1, none of it stored, the store works on" {
	sqlite_only "a SQLite file on a small tmpfs"
	small_disk full 1m
	evt-append -q -d full/e.db s a '{"type":"before"}'
	evt-read -d full/e.db >before
	events 20000 >big
	run -1 --separate-stderr evt-append -d full/e.db s a <big
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: cannot commit to 'full/e.db': database or disk is full" ]
	holds full/e.db before
	intact full/e.db
	run -0 --separate-stderr evt-append -d full/e.db s a '{"type":"after"}'
	[[ "$output" == *'"version":2,'* ]]
}

@test "disk full when a handler's bookmark is committed: exit 1, the event is handled again" {
	sqlite_only "a SQLite file on a small tmpfs"
	small_disk full 1m
	evt-append -q -d full/e.db s a '{"type":"a"}' '{"type":"b"}' '{"type":"c"}'
	evt-read -d full/e.db >before
	# The handler of the first event fills the disk, then succeeds.
	cat >fill.sh <<-EOF
	#!/bin/sh
	cat >/dev/null
	printf '%s\n' "\$EVT_POSITION" >>"$BATS_TEST_TMPDIR/handled"
	cat /dev/zero >"$BATS_TEST_TMPDIR/full/filler" 2>/dev/null
	exit 0
	EOF
	chmod +x fill.sh
	run -1 --separate-stderr evt-handle -d full/e.db h s -- ./fill.sh
	[ "$stderr" = "evt-handle: cannot write to 'full/e.db': database or disk is full" ]
	[ "$(cat handled)" = 1 ]
	rm full/filler
	run -0 sqlite3 full/e.db "SELECT count(*) FROM bookmarks WHERE bookmark = 'h'"
	[ "$output" = 0 ]
	handler
	run -0 --separate-stderr evt-handle -d full/e.db h s -- "$BATS_TEST_TMPDIR/h.sh"
	# at least once: the event whose bookmark was lost comes again
	same "$(cat handled)" "1
1
2
3"
	run -0 sqlite3 full/e.db "SELECT position FROM bookmarks WHERE bookmark = 'h'"
	[ "$output" = 3 ]
	holds full/e.db before
	intact full/e.db
}

@test "a disk with no space left at all: every program exits 1 at open, the store is intact after" {
	sqlite_only "a SQLite file on a small tmpfs"
	small_disk full 1m
	evt-append -q -d full/e.db s a '{"type":"a"}' '{"type":"b"}'
	evt-read -d full/e.db >before
	cat /dev/zero >full/filler 2>/dev/null || true
	run -1 --separate-stderr evt-append -d full/e.db s a '{"type":"c"}'
	[ "$stderr" = "evt-append: cannot open 'full/e.db': No space left on device" ]
	# readers need room for the WAL index too
	run -1 --separate-stderr evt-read -d full/e.db
	[ "$stderr" = "evt-read: cannot open 'full/e.db': No space left on device" ]
	run -1 --separate-stderr evt-fold -d full/e.db s a
	[ "$stderr" = "evt-fold: cannot open 'full/e.db': No space left on device" ]
	rm full/filler
	holds full/e.db before
	intact full/e.db
	run -0 --separate-stderr evt-append -d full/e.db s a '{"type":"c"}'
	[[ "$output" == *'"version":3,'* ]]
}

# --- read-only -------------------------------------------------------------

@test "a store on a read-only file system: writers exit 1, nothing changes" {
	sqlite_only "a SQLite file on a read-only tmpfs"
	small_disk ro 4m
	evt-append -q -d ro/e.db s a '{"type":"a"}' '{"type":"b"}'
	evt-read -d ro/e.db >before
	cp ro/e.db copy.db
	mount -o remount,ro ro || skip "cannot remount the tmpfs read-only"
	run -1 --separate-stderr evt-append -d ro/e.db s a '{"type":"c"}'
	[ "$stderr" = "evt-append: cannot open 'ro/e.db': unable to open database file" ]
	handler
	run -1 --separate-stderr evt-handle -d ro/e.db h s -- "$BATS_TEST_TMPDIR/h.sh"
	[ "$stderr" = "evt-handle: cannot open 'ro/e.db': unable to open database file" ]
	[ ! -e handled ]
	run -1 --separate-stderr evt-command -d ro/e.db s a act -- /bin/true
	[ "$stderr" = "evt-command: cannot open 'ro/e.db': unable to open database file" ]
	cmp ro/e.db copy.db
	mount -o remount,rw ro
	holds ro/e.db before
	intact ro/e.db
}

@test "a store on a read-only file system can be read" {
	sqlite_only "a SQLite file on a read-only tmpfs"
	small_disk ro 4m
	evt-append -q -d ro/e.db s a '{"type":"a"}' '{"type":"b"}'
	evt-read -d ro/e.db >before
	mount -o remount,ro ro || skip "cannot remount the tmpfs read-only"
	run -0 --separate-stderr evt-read -d ro/e.db
	[ "$stderr" = "" ]
	same "$output" "$(cat before)"
	run -0 --separate-stderr evt-read -d ro/e.db --head
	[ "$output" = 2 ]
	run -0 --separate-stderr evt-fold -d ro/e.db s a
	[ "$output" = '{"aggregateId":"a","version":2}' ]
	# a snapshot is a cache: one that cannot be kept is a warning
	run -0 --separate-stderr evt-fold --persist k -d ro/e.db s a
	[ "$output" = '{"aggregateId":"a","version":2}' ]
	[ "$stderr" = "evt-fold: cannot keep the snapshot: cannot write to 'ro/e.db': attempt to write a readonly database" ]
}

# A directory any user can reach, for the tests run as another user.
other_dir() {
	[ "$(id -u)" = 0 ] || skip "needs root to run as another user"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	OTHER_DIR=$(mktemp -d /tmp/evt-faults.XXXXXX)
	chmod 755 "$OTHER_DIR"
}

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

@test "a store the user may not write (mode 444, directory 555): writers exit 1, nothing changes" {
	sqlite_only "SQLite file permissions"
	other_dir
	evt-append -q -d "$OTHER_DIR/e.db" s a '{"type":"a"}'
	evt-read -d "$OTHER_DIR/e.db" >before
	chmod 444 "$OTHER_DIR/e.db"
	chmod 555 "$OTHER_DIR"
	run -1 --separate-stderr as_nobody evt-append -d "$OTHER_DIR/e.db" s a '{"type":"b"}'
	[ "$stderr" = "evt-append: cannot open '$OTHER_DIR/e.db': attempt to write a readonly database" ]
	run -1 --separate-stderr as_nobody evt-append -d "$OTHER_DIR/new.db" s a '{"type":"b"}'
	[ "$stderr" = "evt-append: cannot open '$OTHER_DIR/new.db': unable to open database file" ]
	[ ! -e "$OTHER_DIR/new.db" ]
	chmod 755 "$OTHER_DIR"
	holds "$OTHER_DIR/e.db" before
	intact "$OTHER_DIR/e.db"
}

@test "a store the user may not write can be read" {
	sqlite_only "SQLite file permissions"
	other_dir
	evt-append -q -d "$OTHER_DIR/e.db" s a '{"type":"a"}'
	evt-read -d "$OTHER_DIR/e.db" >before
	run -0 --separate-stderr as_nobody evt-read -d "$OTHER_DIR/e.db"
	[ "$stderr" = "" ]
	same "$output" "$(cat before)"
	run -0 --separate-stderr as_nobody evt-handle -d "$OTHER_DIR/e.db" --status
	[ "$output" = "" ]
	# with a -wal file there (a writer at work), the file alone is not
	# the store: the reader says why it cannot open it
	printf x >"$OTHER_DIR/e.db-wal"
	run -1 --separate-stderr as_nobody evt-read -d "$OTHER_DIR/e.db"
	[ "$stderr" = "evt-read: cannot open '$OTHER_DIR/e.db': unable to open database file" ]
}

# --- not a database --------------------------------------------------------

@test "a file that is not a database: exit 1 from every program, the file untouched" {
	sqlite_only "a file that is not a SQLite database"
	for _ in $(seq 40); do echo "this is not a database"; done >x.db
	cp x.db orig
	run -1 --separate-stderr evt-append -d x.db s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open 'x.db': file is not a database" ]
	printf '{"stream":"s","aggregateId":"a","event":{"type":"r"}}\n' >records
	run -1 --separate-stderr evt-append -d x.db --records <records
	[ "$stderr" = "evt-append: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-read -d x.db
	[ "$stderr" = "evt-read: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-read -d x.db --head
	[ "$stderr" = "evt-read: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-fold -d x.db s a
	[ "$stderr" = "evt-fold: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-tail -d x.db --count 1
	[ "$stderr" = "evt-tail: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-handle -d x.db h s -- /bin/true
	[ "$stderr" = "evt-handle: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-handle -d x.db --status
	[ "$stderr" = "evt-handle: cannot open 'x.db': file is not a database" ]
	run -1 --separate-stderr evt-command -d x.db s a act -- /bin/true
	[ "$stderr" = "evt-command: cannot open 'x.db': file is not a database" ]
	cmp x.db orig
	[ ! -e x.db-wal ] && [ ! -e x.db-shm ]
}

@test "a store cut short: exit 1, 'database disk image is malformed'" {
	sqlite_only "a truncated SQLite file"
	events 2000 | evt-append -q -d t.db s a
	truncate -s 20000 t.db
	cp t.db orig
	run -1 --separate-stderr evt-read -d t.db
	[ "$output" = "" ]
	[ "$stderr" = "evt-read: cannot open 't.db': database disk image is malformed" ]
	run -1 --separate-stderr evt-append -d t.db s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open 't.db': database disk image is malformed" ]
	cmp t.db orig
}

# --- locked ----------------------------------------------------------------

# Another writer holds the write lock of store $1 (sqlite3 in a
# transaction, kept alive by a fifo) until release_lock.
hold_lock() {
	mkfifo ctl
	sqlite3 "$1" <ctl >holder.out 2>&1 &
	HOLDER=$!
	exec {CTL}>ctl
	printf "BEGIN IMMEDIATE;\nSELECT 'locked';\n" >&$CTL
	timeout $((10 * EVT_TEST_SLOW)) sh -c 'until grep -q "^locked$" holder.out; do sleep 0.01; done'
}

release_lock() {
	printf 'ROLLBACK;\n' >&$CTL
	exec {CTL}>&-
	wait "$HOLDER"
	HOLDER=
}

@test "a database locked by another writer beyond EVT_BUSY_TIMEOUT: writers exit 1, readers read, nothing lost" {
	sqlite_only "the SQLite write lock"
	evt-append -q s a '{"type":"a"}'
	evt-read >before
	handler
	hold_lock events.db
	export EVT_BUSY_TIMEOUT=100
	run -1 --separate-stderr evt-append s a '{"type":"b"}'
	[ "$output" = "" ]
	[ "$stderr" = "evt-append: cannot write to 'events.db': database is locked" ]
	printf '{"stream":"s","aggregateId":"a","event":{"type":"r"}}\n' >records
	run -1 --separate-stderr evt-append --records <records
	[ "$stderr" = "evt-append: cannot write to 'events.db': database is locked" ]
	run -1 --separate-stderr evt-command s a act -- sh -c 'cat >/dev/null; echo "{\"type\":\"c\"}"'
	[ "$stderr" = "evt-command: cannot write to 'events.db': database is locked" ]
	# the handler's run cannot be recorded: nothing runs
	run -1 --separate-stderr evt-handle h s -- "$BATS_TEST_TMPDIR/h.sh"
	[ "$stderr" = "evt-handle: cannot write to 'events.db': database is locked" ]
	[ ! -e handled ]
	# WAL: readers do not wait for the writer
	run -0 --separate-stderr evt-read
	same "$output" "$(cat before)"
	run -0 --separate-stderr evt-fold s a
	[ "$output" = '{"aggregateId":"a","version":1}' ]
	run -0 --separate-stderr evt-fold --persist k s a
	[ "$output" = '{"aggregateId":"a","version":1}' ]
	[ "$stderr" = "evt-fold: cannot keep the snapshot: cannot write to 'events.db': database is locked" ]
	release_lock
	holds events.db before
	intact events.db
	run -0 --separate-stderr evt-append s a '{"type":"b"}'
	[[ "$output" == *'"version":2,'* ]]
	run -0 --separate-stderr evt-handle h s -- "$BATS_TEST_TMPDIR/h.sh"
	same "$(cat handled)" "1
2"
}

@test "a writer waits for the lock while EVT_BUSY_TIMEOUT allows" {
	sqlite_only "the SQLite write lock"
	evt-append -q s a '{"type":"a"}'
	hold_lock events.db
	EVT_BUSY_TIMEOUT=20000 evt-append -q s a '{"type":"b"}' &
	writer=$!
	# it waits: still running half a second later (an append takes
	# milliseconds)
	run -124 timeout 0.5 tail --pid="$writer" -f /dev/null
	release_lock
	wait "$writer"
	run -0 --separate-stderr evt-read --head
	[ "$output" = 2 ]
}

# A new store, still in rollback mode (as sqlite3 makes it), whose write
# lock another process holds: switching it to WAL needs that lock, and
# SQLite does not wait for it by itself (a read lock asking for the write
# lock).
new_store_held() {
	sqlite3 new.db 'CREATE TABLE other (x)'
	hold_lock new.db
}

@test "a new store locked by another writer: every program waits for it while EVT_BUSY_TIMEOUT allows" {
	sqlite_only "the SQLite write lock"
	new_store_held
	pids=
	EVT_BUSY_TIMEOUT=20000 evt-append -q -d new.db s a '{"type":"a"}' &
	pids="$pids $!"
	EVT_BUSY_TIMEOUT=20000 evt-command -d new.db s b go -- echo '{"type":"b"}' >/dev/null &
	pids="$pids $!"
	EVT_BUSY_TIMEOUT=20000 timeout $((20 * EVT_TEST_SLOW)) evt-tail -d new.db --after 0 --count 2 >tail.out &
	pids="$pids $!"
	# they wait: still running half a second later (an append takes
	# milliseconds)
	for p in $pids; do
		run -124 timeout 0.5 tail --pid="$p" -f /dev/null
	done
	release_lock
	for p in $pids; do
		wait "$p"
	done
	run -0 --separate-stderr evt-read -d new.db --head
	[ "$output" = 2 ]
	same "$(cat tail.out)" "$(evt-read -d new.db)"
	run -0 sqlite3 new.db 'PRAGMA journal_mode'
	[ "$output" = wal ]
}

@test "a new store locked by another writer beyond EVT_BUSY_TIMEOUT: exit 1 once the timeout has passed" {
	sqlite_only "the SQLite write lock"
	new_store_held
	export EVT_BUSY_TIMEOUT=300
	# timeout: the open gives up by itself, and not much later
	run -1 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-append -d new.db s a '{"type":"a"}'
	[ "$stderr" = "evt-append: cannot open 'new.db': database is locked" ]
	run -1 --separate-stderr timeout $((10 * EVT_TEST_SLOW)) evt-tail -d new.db
	[ "$stderr" = "evt-tail: cannot open 'new.db': database is locked" ]
	# a reader reads what there is: no events table, so nothing
	run -0 --separate-stderr evt-read -d new.db
	[ "$output" = "" ]
	release_lock
	run -0 --separate-stderr evt-append -q -d new.db s a '{"type":"a"}'
}

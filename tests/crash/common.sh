# tests/crash/common.sh - what the crash loops share (sourced, bash)
#
# A crash loop starts an evt program, SIGKILLs it at a random moment,
# checks the store, and does it again until CRASH_KILLS kills have landed
# in the program itself (a kill that comes before the exec or after the
# exit does not count).  A failed check prints what went wrong and exits 1,
# leaving the work directory for a post-mortem.  The killed program's stderr
# goes to DIR/err, shown only when it exits otherwise than expected: what a
# killed program half wrote (a sanitizer's leak check cut short) is noise.

set -u
CRASH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The programs: CRASH_BIN, else bin/ of this tree.
CRASH_BIN=${CRASH_BIN:-$CRASH_TOP/bin}
PATH=$CRASH_BIN:$PATH
export PATH LC_ALL=C
unset EVT_DB EVT_EVENTS_TABLE EVT_BOOKMARKS_TABLE EVT_SYNC EVT_BUSY_TIMEOUT

# The store: a SQLite file in the loop's directory, or with CRASH_BACKEND
# pg or my the test servers' store CRASH_DB (a URL) whose schema (or
# database) is CRASH_SCHEMA; the servers' variables come from tests/run.sh.
CRASH_BACKEND=${CRASH_BACKEND:-sqlite}
case $CRASH_BACKEND in
pg) . "$CRASH_TOP/tests/pg.bash" ;;
my) . "$CRASH_TOP/tests/my.bash" ;;
esac

# The store of a loop whose directory is $1.
store() {
	if [ "$CRASH_BACKEND" = sqlite ]; then
		printf '%s\n' "$1/crash.db"
	else
		printf '%s\n' "$CRASH_DB"
	fi
}

KILLS=${CRASH_KILLS:-200}
# Give up after this many runs: a program that always ends before the kill
# would otherwise loop forever.
MAX_RUNS=$((KILLS * 20 + 100))

crash_dir() {
	if [ -n "${CRASH_DIR:-}" ]; then
		mkdir -p "$CRASH_DIR/$1" && printf '%s\n' "$CRASH_DIR/$1"
	else
		mktemp -d "${TMPDIR:-/tmp}/evt-crash-$1.XXXXXX"
	fi
}

die() {
	echo "crash: $LOOP: $*" >&2
	echo "crash: $LOOP: the store and logs are in $DIR" >&2
	exit 1
}

# A random integer in [0, $1).
rand() {
	echo $(( (RANDOM * 32768 + RANDOM) % $1 ))
}

# Sleep $1 microseconds.
sleep_us() {
	sleep "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))"
}

now_us() {
	echo $(( $(date +%s%N) / 1000 ))
}

# How long the program takes, in microseconds (per event, or per run): a
# moving average of the runs that were not killed, so that the kills stay
# spread over the program's run time however busy the machine is.
estimate=0
learn() {	# elapsed_us [count]
	local per=$(($1 / ${2:-1}))
	if [ "$estimate" = 0 ]; then
		estimate=$per
	else
		estimate=$(( (estimate * 3 + per) / 4 ))
	fi
	[ "$estimate" -gt 0 ] || estimate=1
}

# Start the killer: SIGKILL pid $1 after $2 microseconds, in the
# background, so that the program's own run time can be measured.  Its
# exit status says whether the kill landed in the program $3 (it had
# exec'd and not exited yet).
start_killer() {
	(
		sleep_us "$2"
		comm=$(cat "/proc/$1/comm" 2>/dev/null) || exit 1
		kill -9 "$1" 2>/dev/null && [ "$comm" = "$3" ]
	) &
	killer=$!
}

# The program ended with status $1: landed=1 if the killer's SIGKILL
# ended it, else the killer (still asleep) is stopped.
landed=0
stop_killer() {
	landed=0
	if [ "$1" = 137 ]; then
		if wait "$killer"; then landed=1; fi
	else
		kill "$killer" 2>/dev/null
		wait "$killer" 2>/dev/null
	fi
	return 0
}

# Is a process of group $1 still running (zombies aside: a killed program's
# orphans are reaped by whoever reaps orphans here, in its own time)?
group_running() {
	local f st rest
	for f in /proc/[0-9]*/stat; do
		read -r st 2>/dev/null <"$f" || continue
		rest=${st##*) }
		# shellcheck disable=SC2086
		set -- $rest
		[ "$3" = "$GROUP" ] && [ "$1" != Z ] && return 0
	done
	return 1
}

# Wait (at most 10 s) until no process of the group $1 is left: children
# a killed program leaves behind finish what they were doing first.
wait_group() {
	local i=0
	GROUP=$1
	while group_running; do
		i=$((i + 1))
		[ $i -lt 1000 ] || die "process group $1 still there after 10 s"
		sleep 0.01
	done
}

# The batch of events number $1, $2 of them, into DIR/in: each marked
# with its batch ("b") and its place in it ("k").
batch() {
	seq "$2" | sed "s/.*/{\"type\":\"t\",\"b\":$1,\"k\":&}/" >"$DIR/in"
}

# sq STORE SQL: run SQL on the store, rows as sqlite3 prints them (fields
# separated by |, NULL empty); sqlite3 waits for a writer's lock as evt
# programs do.
sq() {
	local out
	case $CRASH_BACKEND in
	pg)
		PGOPTIONS="-c search_path=$CRASH_SCHEMA -c client_min_messages=warning" \
			pg_psql -At -F '|' -c "$2"
		;;
	my)
		out=$(my_sql --batch --raw --skip-column-names -D "$CRASH_SCHEMA" \
			-e "$2") || return
		# a NULL prints empty, as in sqlite3 and psql
		[ -z "$out" ] || printf '%s\n' "$out" | awk -F '\t' -v OFS='|' \
			'{ for (i = 1; i <= NF; i++) if ($i == "NULL") $i = ""; $1 = $1; print }'
		;;
	*)
		sqlite3 -cmd '.timeout 10000' "$@"
		;;
	esac
}

# The SQL of the number at "$.NAME" of an event, and of the string there.
jnum() {
	case $CRASH_BACKEND in
	pg) printf "(event::json->>'%s')::bigint" "$1" ;;
	my) printf "CAST(JSON_VALUE(event, '\$.%s') AS SIGNED)" "$1" ;;
	*) printf "json_extract(event, '\$.%s')" "$1" ;;
	esac
}
jstr() {
	case $CRASH_BACKEND in
	pg) printf "(event::json->>'%s')" "$1" ;;
	my) printf "JSON_VALUE(event, '\$.%s')" "$1" ;;
	*) printf "json_extract(event, '\$.%s')" "$1" ;;
	esac
}

# Is the store there, with its events table?
has_events() {
	case $CRASH_BACKEND in
	pg) [ "$(sq "$1" "SELECT to_regclass('events') IS NOT NULL")" = t ] ;;
	my) [ "$(sq "$1" "SELECT count(*) FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name = 'events'")" = 1 ] ;;
	*) [ -e "$1" ] && [ "$(sq "$1" "SELECT count(*) FROM sqlite_master
		WHERE name = 'events'")" = 1 ] ;;
	esac
}

# SQLite's own check of the file; a server checks its own pages.  What
# the summary lines say of it:
INTEGRITY='integrity ok'
[ "$CRASH_BACKEND" = sqlite ] || INTEGRITY="checks on $CRASH_BACKEND"
integrity() {
	local out
	[ "$CRASH_BACKEND" = sqlite ] || return 0
	out=$(sq "$1" 'PRAGMA integrity_check' 2>&1) ||
		die "sqlite3 cannot check $1: $out"
	[ "$out" = ok ] || die "integrity_check: $out"
}

# Versions of each aggregate are 1..count, no gap, no duplicate.
versions_contiguous() {
	local bad
	bad=$(sq "$1" "SELECT stream, aggregate_id, count(*), min(version),
		max(version), count(DISTINCT version) FROM events GROUP BY 1, 2
		HAVING min(version) != 1 OR max(version) != count(*)
		OR count(DISTINCT version) != count(*)") || die "sqlite3 failed"
	[ -z "$bad" ] || die "versions with gaps or duplicates: $bad"
}

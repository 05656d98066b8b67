#!/bin/bash
# tests/crash/append.sh - SIGKILL evt-append in the middle of batches
#
# Each run appends a batch of 1 to 3000 events to one of five aggregates,
# every event marked with the batch's number, while (every other run) a
# second writer appends one event of its own.  The batch's writer is
# SIGKILLed after a random delay within its expected run time.  After each
# kill:
#   - the store passes PRAGMA integrity_check;
#   - every batch whose writer exited 0 (acknowledged) is there, whole;
#   - every batch is whole or absent: never half there (the rows a run
#     added are checked after each run, and the store holds exactly the
#     events expected; every batch is recounted every 25 runs);
#   - the other writer was not blocked by the killed one (it exits 0) and
#     its event is there;
#   - each aggregate's versions are 1..n without a gap.
# Usage: CRASH_KILLS=200 tests/crash/append.sh
LOOP='append'
. "$(dirname "$0")/common.sh"
DIR=$(crash_dir append) || exit 1
DB=$(store "$DIR")

# How long a batch takes here, to spread the kills over it: a start-up
# (learnt from small batches) and a time per event (from large ones).
ema() {	# variable value
	local old=${!1}
	[ "$old" = 0 ] && printf -v "$1" %d "$2" ||
		printf -v "$1" %d $(( (old * 3 + $2) / 4 ))
	[ "${!1}" -gt 0 ] || printf -v "$1" %d 1
}
start_us=0 event_us=0
# (Tables of their own: on a server the store is shared with the loop.)
calibrate() {
	EVT_EVENTS_TABLE=calibrate EVT_BOOKMARKS_TABLE=calibrate_bookmarks \
		evt-append -q -d "$1" s a <"$DIR/in" || die "calibration failed"
}
cal=$DB
[ "$CRASH_BACKEND" != sqlite ] || cal=$DIR/calibrate.db
batch 0 3
t0=$(now_us)
calibrate "$cal"
ema start_us $(( $(now_us) - t0 ))
batch 0 3000
t0=$(now_us)
calibrate "$cal"
ema event_us $(( ($(now_us) - t0 - start_us) / 3000 ))
rm -f "$DIR"/calibrate.db*

# Every batch there is whole, every acknowledged one there, versions
# without gaps, and the other writer's events all there.
full_check() {
	local b c w
	declare -A seen=()
	versions_contiguous "$DB"
	while IFS='|' read -r b c; do
		[ "$c" = "${size[$b]}" ] ||
			die "batch $b is half there: $c of ${size[$b]} events"
		seen[$b]=1
	done < <(sq "$DB" "SELECT $(jnum b), count(*)
		FROM events WHERE aggregate_id != 'w' GROUP BY 1")
	for b in "${!status[@]}"; do
		if [ "${status[$b]}" = acked ] && [ -z "${seen[$b]:-}" ]; then
			die "batch $b was acknowledged but is not there"
		fi
	done
	w=$(sq "$DB" "SELECT count(*) FROM events WHERE aggregate_id = 'w'")
	[ "$w" = "$other" ] || die "$other events of the other writer, $w there"
	full=$((full + 1))
}

declare -A size status
kills=0 runs=0 acked=0 committed_killed=0 other=0 total=0 last=0 full=0
while [ $kills -lt "$KILLS" ]; do
	runs=$((runs + 1))
	[ $runs -le "$MAX_RUNS" ] || die "only $kills kills landed in $runs runs"
	if [ $((RANDOM % 4)) -eq 0 ]; then
		n=$((1 + $(rand 10)))
	else
		n=$((1 + $(rand 3000)))
	fi
	batch "$runs" "$n"
	size[$runs]=$n
	opid=
	if [ $((RANDOM % 2)) -eq 0 ]; then
		evt-append -q -d "$DB" s w "{\"type\":\"w\",\"r\":$runs}" &
		opid=$!
	fi
	t0=$(now_us)
	evt-append -q -d "$DB" s "a$((RANDOM % 5))" <"$DIR/in" 2>"$DIR/err" &
	pid=$!
	# Spread over the start-up (about 2 ms) and the batch.
	start_killer $pid "$(rand $(( (start_us + n * event_us) * 13 / 10 )))" \
		evt-append
	st=0
	wait $pid 2>/dev/null || st=$?
	t1=$(now_us)
	stop_killer $st
	if [ $st = 0 ] && [ "$n" -le 10 ]; then
		ema start_us $((t1 - t0))
	elif [ $st = 0 ] && [ "$n" -ge 1000 ]; then
		ema event_us $(( (t1 - t0 - start_us) / n ))
	fi
	case $st in
	0) status[$runs]=acked; acked=$((acked + 1)) ;;
	137) status[$runs]=killed ;;
	*) die "run $runs: evt-append exited $st: $(cat "$DIR/err")" ;;
	esac
	[ $st = 137 ] && [ "$landed" = 1 ] && kills=$((kills + 1))
	if [ -n "$opid" ]; then
		st=0
		wait $opid || st=$?
		[ $st = 0 ] || die "run $runs: the other writer exited $st"
		other=$((other + 1))
	fi
	# Killed before the schema was there: no store or an empty one, as
	# it should.
	if ! has_events "$DB"; then
		[ "${status[$runs]}" = killed ] && [ $((total + other)) = 0 ] ||
			die "run $runs: the events table is gone"
		continue
	fi
	integrity "$DB"
	# What this run added: the rows after the last position seen, all
	# of this batch (or the other writer's event), all or none of it.
	IFS='|' read -r c bmin bmax top < <(sq "$DB" "SELECT count(*),
		min($(jnum b)), max($(jnum b)),
		(SELECT max(position) FROM events) FROM events
		WHERE position > $last AND aggregate_id != 'w'")
	case $c in
	0)	[ "${status[$runs]}" = killed ] ||
			die "batch $runs was acknowledged but is not there" ;;
	"$n")	[ "$bmin" = "$runs" ] && [ "$bmax" = "$runs" ] ||
			die "run $runs added events of batches $bmin..$bmax"
		[ "${status[$runs]}" = acked ] ||
			committed_killed=$((committed_killed + 1))
		total=$((total + n)) ;;
	*)	die "batch $runs is half there: $c of $n events" ;;
	esac
	last=${top:-0}
	# Nothing else came or went.
	c=$(sq "$DB" "SELECT count(*) FROM events")
	[ "$c" = $((total + other)) ] ||
		die "$c events in the store, $((total + other)) expected"
	# Every 25 runs and at the end, every batch counted again.
	[ $((runs % 25)) = 0 ] || [ $kills = "$KILLS" ] || continue
	full_check
done
echo "append: $kills kills landed in $runs runs; $acked batches acknowledged," \
	"all there; $committed_killed killed after their commit, whole;" \
	"0 half there; $other concurrent appends never blocked;" \
	"$INTEGRITY after every run, every batch recounted $full times;" \
	"$((total + other)) events"
[ -n "${CRASH_KEEP:-}" ] || [ -n "${CRASH_DIR:-}" ] || rm -rf "$DIR"

#!/bin/bash
# tests/crash/handle.sh - SIGKILL evt-handle while it runs handlers
#
# The handler of stream s writes the position of each event it handles to
# a file (one write, O_APPEND); events of stream o, not handled, are mixed
# in.  evt-handle runs one event at a time, or (every third run) with
# --batch 7, and is SIGKILLed after a random delay; its handler may finish
# what it was doing (the kill is evt-handle's crash, not the machine's).
# After each kill:
#   - the store passes PRAGMA integrity_check;
#   - the bookmark never moved back, and is never past an event that was
#     not handled: every position of s up to the bookmark is in the file;
#   - a crash re-delivers at most what was in flight: the positions this
#     run handled beyond the bookmark are the first one (or the first
#     batch) after it;
#   - the next evt-handle is not kept out by the killed one (never exit 6).
# New events are appended whenever fewer than 150 are left to handle.
# Usage: CRASH_KILLS=200 tests/crash/handle.sh
LOOP='handle'
. "$(dirname "$0")/common.sh"
DIR=$(crash_dir handle) || exit 1
DB=$(store "$DIR")
HANDLED=$DIR/handled
export HANDLED
: >"$HANDLED"

cat >"$DIR/one.sh" <<'SH'
#!/bin/sh
read -r line
printf '%s\n' "$EVT_POSITION" >>"$HANDLED"
SH
cat >"$DIR/batch.sh" <<'SH'
#!/bin/sh
positions=$(sed -n 's/^{"position":\([0-9]*\),.*/\1/p')
printf '%s\n' $positions >>"$HANDLED"
SH
chmod +x "$DIR/one.sh" "$DIR/batch.sh"

more() {	# append $1 events to s, a few to o in between
	for _ in 1 2 3; do
		seq $(($1 / 3)) | sed 's/.*/{"type":"t","k":&}/' |
			evt-append -q -d "$DB" s "a$((RANDOM % 7))" ||
			die "cannot append"
		evt-append -q -d "$DB" o x '{"type":"other"}' ||
			die "cannot append"
	done
}
more 300

# How long one event takes, to spread the kills over a few dozen.
seq 100 | sed 's/.*/{"type":"c"}/' | evt-append -q -d "$DB" c c ||
	die "cannot append"
t0=$(now_us)
HANDLED=/dev/null evt-handle -d "$DB" calibrate c -- "$DIR/one.sh" ||
	die "calibration failed"
learn $(( $(now_us) - t0 )) 100

kills=0 runs=0 last_bm=0 caught_up=0
while [ $kills -lt "$KILLS" ]; do
	runs=$((runs + 1))
	[ $runs -le "$MAX_RUNS" ] || die "only $kills kills landed in $runs runs"
	before=$(wc -l <"$HANDLED")
	if [ $((runs % 3)) -eq 0 ]; then
		batch=7
		setsid evt-handle -d "$DB" --batch 7 h s -- "$DIR/batch.sh" \
			2>"$DIR/err" &
	else
		batch=1
		setsid evt-handle -d "$DB" h s -- "$DIR/one.sh" 2>"$DIR/err" &
	fi
	pid=$!
	t0=$(now_us)
	start_killer $pid "$(rand $((estimate * 40 + 3000)))" evt-handle
	st=0
	wait $pid 2>/dev/null || st=$?
	t1=$(now_us)
	stop_killer $st
	case $st in
	0) caught_up=$((caught_up + 1)) ;;
	137) ;;
	6) die "run $runs: a killed evt-handle kept its successor out" ;;
	*) die "run $runs: evt-handle exited $st: $(cat "$DIR/err")" ;;
	esac
	[ $st = 137 ] && [ "$landed" = 1 ] && kills=$((kills + 1))
	wait_group $pid
	done_now=$(( $(wc -l <"$HANDLED") - before ))
	[ $st != 0 ] || [ $done_now -lt 20 ] || learn $((t1 - t0)) $done_now

	integrity "$DB"
	bm=$(sq "$DB" "SELECT position FROM bookmarks WHERE bookmark = 'h'")
	bm=${bm:-0}
	[ "$bm" -ge "$last_bm" ] || die "bookmark moved back: $last_bm to $bm"
	last_bm=$bm
	missing=$(sq "$DB" "SELECT position FROM events WHERE stream = 's'
		AND position <= $bm ORDER BY 1" | sort >"$DIR/due"
		sort -u "$HANDLED" >"$DIR/done"
		comm -23 "$DIR/due" "$DIR/done" | head -n 5)
	[ -z "$missing" ] ||
		die "bookmark at $bm, but these were never handled: $missing"
	beyond=$(tail -n +$((before + 1)) "$HANDLED" |
		awk -v bm="$bm" '$1 > bm' | sort -n -u)
	if [ -n "$beyond" ]; then
		allowed=$(sq "$DB" "SELECT position FROM events WHERE
			stream = 's' AND position > $bm ORDER BY 1 LIMIT $batch")
		extra=$(printf '%s\n' "$beyond" | sort >"$DIR/beyond"
			printf '%s\n' "$allowed" | sort >"$DIR/allowed"
			comm -23 "$DIR/beyond" "$DIR/allowed")
		[ -z "$extra" ] || die "handled beyond bookmark $bm, more" \
			"than the $batch in flight: $extra"
	fi
	pending=$(sq "$DB" "SELECT count(*) FROM events WHERE stream = 's'
		AND position > $bm")
	[ "$pending" -ge 150 ] || more 300
done
lines=$(wc -l <"$HANDLED")
unique=$(sort -u "$HANDLED" | wc -l)
echo "handle: $kills kills landed in $runs runs ($caught_up caught up" \
	"first); bookmark never past an unhandled event; $unique events" \
	"handled, $((lines - unique)) re-delivered after a kill;" \
	"$INTEGRITY after every run"
[ -n "${CRASH_KEEP:-}" ] || [ -n "${CRASH_DIR:-}" ] || rm -rf "$DIR"

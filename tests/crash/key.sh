#!/bin/bash
# tests/crash/key.sh - SIGKILL evt-append --key, then retry until it exits 0
#
# A script that retries an append until it succeeds, as a cron job or a
# queue consumer does: each key K names a batch of 1 to 3000 events for one
# of five aggregates; evt-append --key K runs again and again, SIGKILLed
# after a random delay within its expected run time (before, during or
# after its commit), until a run exits 0.  Then:
#   - the batch of K is in the store exactly once, whole (a kill after the
#     commit and before the output must not make the retry append again);
#   - the store holds exactly the events of the keys done so far;
#   - what the successful run printed is the batch as stored;
#   - the store passes PRAGMA integrity_check, versions have no gaps.
# Usage: CRASH_KILLS=200 tests/crash/key.sh
LOOP='key'
. "$(dirname "$0")/common.sh"
DIR=$(crash_dir key) || exit 1
DB=$(store "$DIR")

kills=0 runs=0 keys=0 total=0 after_commit=0
while [ $kills -lt "$KILLS" ]; do
	keys=$((keys + 1))
	n=$((1 + $(rand 3000)))
	batch "$keys" "$n"
	agg=a$((keys % 5))
	tries=0
	while :; do
		runs=$((runs + 1))
		tries=$((tries + 1))
		[ $runs -le "$MAX_RUNS" ] || die "only $kills kills landed in $runs runs"
		before=$(sq "$DB" "SELECT count(*) FROM events WHERE
			$(jnum b) = $keys" 2>/dev/null || echo 0)
		t0=$(now_us)
		evt-append --key "k$keys" -d "$DB" s "$agg" <"$DIR/in" \
			>"$DIR/out" 2>"$DIR/err" &
		pid=$!
		# the first three tries are killed at random moments, then
		# the retry is let through
		if [ $tries -le 3 ]; then
			start_killer $pid "$(rand $(( estimate > 0 ? estimate * 13 / 10 : 20000 )))" evt-append
		fi
		st=0
		wait $pid 2>/dev/null || st=$?
		t1=$(now_us)
		[ $tries -gt 3 ] || stop_killer $st
		case $st in
		0)	learn $((t1 - t0))
			break ;;
		137)	[ "$landed" = 1 ] && kills=$((kills + 1))
			[ "$before" = 0 ] && has_events "$DB" &&
				[ "$(sq "$DB" "SELECT count(*) FROM events WHERE
					$(jnum b) = $keys" 2>/dev/null)" = "$n" ] &&
				after_commit=$((after_commit + 1)) ;;
		*)	die "key k$keys: evt-append exited $st: $(cat "$DIR/err")" ;;
		esac
	done
	integrity "$DB"
	c=$(sq "$DB" "SELECT count(*) FROM events WHERE $(jnum b) = $keys")
	[ "$c" = "$n" ] || die "key k$keys: $c events of its batch of $n in the store"
	total=$((total + n))
	c=$(sq "$DB" "SELECT count(*) FROM events")
	[ "$c" = "$total" ] || die "$c events in the store, $total expected"
	[ "$(wc -l <"$DIR/out")" = "$n" ] ||
		die "key k$keys: the run that exited 0 printed $(wc -l <"$DIR/out") records, not $n"
	[ "$(evt-read -d "$DB" s "$agg" | grep -c "\"b\":$keys,")" = "$n" ] ||
		die "key k$keys: evt-read disagrees"
	grep -q "\"b\":$keys," "$DIR/out" && ! grep -vq "\"b\":$keys," "$DIR/out" ||
		die "key k$keys: printed records of other batches"
	[ $((keys % 25)) = 0 ] || [ $kills -lt "$KILLS" ] || versions_contiguous "$DB"
done
versions_contiguous "$DB"
echo "key: $kills kills landed in $runs runs over $keys keys; every key's" \
	"batch there exactly once ($after_commit kills after the commit," \
	"retried without a second append); $INTEGRITY; $total events"
[ -n "${CRASH_KEEP:-}" ] || [ -n "${CRASH_DIR:-}" ] || rm -rf "$DIR"

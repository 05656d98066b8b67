#!/bin/bash
# tests/crash/command.sh - SIGKILL evt-command while it retries
#
# A background writer appends to aggregate s/a every few milliseconds, so
# evt-command --retries 1000 on s/a keeps meeting version conflicts and
# folding and running its program again.  The program (a shell script)
# logs each run and decides two events that name the command and the
# version it saw.  evt-command is SIGKILLed after a random delay.  After
# each kill:
#   - the store passes PRAGMA integrity_check;
#   - a command's events are both there or neither, and only once;
#   - they directly follow the version the program saw (versions seen+1
#     and seen+2): what was appended was decided on the state it follows;
#   - a command that exited 0 is there; one that exited 3 is not;
#   - each aggregate's versions are 1..n without a gap.
# Usage: CRASH_KILLS=200 tests/crash/command.sh
LOOP='command'
. "$(dirname "$0")/common.sh"
DIR=$(crash_dir command) || exit 1
DB=$(store "$DIR")
RUNS=$DIR/runs
export RUNS
: >"$RUNS"

cat >"$DIR/decide.sh" <<'SH'
#!/bin/sh
in=$(cat)
v=$(printf '%s' "$in" | sed -n 's/.*"version":\([0-9]*\)}}$/\1/p')
c=$(printf '%s' "$in" | sed -n 's/^{"command":{"cmd":"\([^"]*\)".*/\1/p')
printf '%s %s\n' "$c" "$v" >>"$RUNS"
sleep 0.002
printf '{"type":"c","cmd":"%s","seen":%s,"j":1}\n' "$c" "$v"
printf '{"type":"c","cmd":"%s","seen":%s,"j":2}\n' "$c" "$v"
SH
chmod +x "$DIR/decide.sh"
evt-append -q -d "$DB" s a '{"type":"created"}' || die "cannot append"

# The other writer, until the file stop exists.
(
	while [ ! -e "$DIR/stop" ]; do
		evt-append -q -d "$DB" s a '{"type":"bump"}' ||
			{ echo "crash: command: the other writer failed" >&2; exit 1; }
		sleep 0.0$((RANDOM % 2))$((RANDOM % 9 + 1))
	done
) &
writer=$!
trap 'touch "$DIR/stop"; wait $writer 2>/dev/null' EXIT

# A first guess of how long a command takes; learnt from then on.
learn 100000
declare -A status
kills=0 runs=0 acked=0 conflicts=0 in_retry=0 killed_committed=0
while [ $kills -lt "$KILLS" ]; do
	runs=$((runs + 1))
	[ $runs -le "$MAX_RUNS" ] || die "only $kills kills landed in $runs runs"
	setsid evt-command -d "$DB" --retries 1000 s a act "{\"cmd\":\"$runs\"}" \
		-- "$DIR/decide.sh" >/dev/null 2>"$DIR/err" &
	pid=$!
	t0=$(now_us)
	start_killer $pid "$(rand $((estimate * 15 / 10 + 3000)))" evt-command
	st=0
	wait $pid 2>/dev/null || st=$?
	t1=$(now_us)
	stop_killer $st
	[ $st != 0 ] || learn $((t1 - t0))
	case $st in
	0) status[$runs]=acked; acked=$((acked + 1)) ;;
	3) status[$runs]=conflict; conflicts=$((conflicts + 1)) ;;
	137) status[$runs]=killed ;;
	*) die "run $runs: evt-command exited $st: $(cat "$DIR/err")" ;;
	esac
	if [ $st = 137 ] && [ "$landed" = 1 ]; then
		kills=$((kills + 1))
		tries=$(grep -c "^$runs " "$RUNS")
		[ "$tries" -lt 2 ] || in_retry=$((in_retry + 1))
	fi
	wait_group $pid
	kill -0 $writer 2>/dev/null || die "the other writer stopped"

	integrity "$DB"
	versions_contiguous "$DB"
	declare -A seen=()
	while IFS='|' read -r c n v1 v2 s1 s2; do
		[ "$n" = 2 ] || die "command $c has $n events"
		[ "$s1" = "$s2" ] && [ "$v1" = $((s1 + 1)) ] &&
			[ "$v2" = $((s1 + 2)) ] ||
			die "command $c saw version $s1/$s2 but its events" \
				"are versions $v1 and $v2"
		seen[$c]=1
	done < <(sq "$DB" "SELECT $(jstr cmd), count(*),
		min(version), max(version), min($(jnum seen)),
		max($(jnum seen)) FROM events
		WHERE $(jstr type) = 'c' GROUP BY 1")
	for c in "${!status[@]}"; do
		case ${status[$c]}:${seen[$c]:-} in
		acked:) die "command $c exited 0 but is not there" ;;
		conflict:1) die "command $c exited 3 but is there" ;;
		killed:1) status[$c]=killed-committed
			killed_committed=$((killed_committed + 1)) ;;
		esac
	done
	unset seen
done
touch "$DIR/stop"
wait $writer || die "the other writer failed"
trap - EXIT
retried=$(awk '{ n[$1]++ } END { for (c in n) if (n[c] > 1) r++; print r + 0 }' "$RUNS")
reruns=$(( $(wc -l <"$RUNS") - $(awk '{ print $1 }' "$RUNS" | sort -u | wc -l) ))
bumps=$(sq "$DB" "SELECT count(*) FROM events
	WHERE $(jstr type) = 'bump'")
echo "command: $kills kills landed in $runs runs ($in_retry of them after" \
	"a retry had begun); $acked commands acknowledged, all there;" \
	"$killed_committed killed after their append, whole; $conflicts" \
	"gave up (exit 3), absent; $retried commands retried, $reruns reruns" \
	"in all, against $bumps concurrent appends; every command's events" \
	"follow the version it saw; $INTEGRITY after every run"
[ -n "${CRASH_KEEP:-}" ] || [ -n "${CRASH_DIR:-}" ] || rm -rf "$DIR"

# Shared set-up for every tests/*.bats file.
bats_require_minimum_version 1.5.0

EVT_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export PATH="$EVT_TOP/bin:$PATH"
export LC_ALL=C

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	unset EVT_DB EVT_EVENTS_TABLE EVT_BOOKMARKS_TABLE EVT_SYNC EVT_BUSY_TIMEOUT
}

# The n-th line of $output (1-based).
line() {
	printf '%s\n' "$output" | sed -n "${1}p"
}

# The version the Makefile builds, e.g. 0.1.0.
evt_version() {
	sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$EVT_TOP/Makefile"
}

# Run a command with its stdout on /dev/full (for `run`).
to_full() {
	"$@" >/dev/full
}

# The ISO-8601 UTC time evt writes, as an extended regex.
TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# $output with each record's timestamp replaced by TS where it is a
# well-formed ISO-8601 UTC time (a malformed one stays and fails the
# comparison).
no_ts() {
	printf '%s\n' "$output" |
		sed -E "s/,\"timestamp\":\"$TS_RE\",\"event\":/,\"timestamp\":\"TS\",\"event\":/"
}

# Fail with a message when "$1" != "$2"; shows both.
same() {
	if [ "$1" != "$2" ]; then
		printf 'expected:\n%s\ngot:\n%s\n' "$2" "$1" >&2
		return 1
	fi
}

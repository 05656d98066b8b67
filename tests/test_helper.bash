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

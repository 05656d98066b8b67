#!/usr/bin/env bats
# backends: sqlite pg my
# The crash loops of tests/crash/ in their short form: 15 SIGKILLs each of
# evt-append, evt-handle and evt-command at random moments, the store
# checked after each (make crash runs them 200 times each), on each store.

load test_helper

# Under valgrind (make check VALGRIND=1) there is nothing to see: the
# loops SIGKILL the programs, and run the ones in bin/ anyway.
no_valgrind() {
	[ -z "${VALGRIND:-}" ] || skip "crash loops: nothing for valgrind to see"
}

# crash_loop NAME: run tests/crash/NAME.sh (CRASH_KILLS kills, 15 by
# default) on this test's store; it passes and ends with its summary line.
crash_loop() {
	no_valgrind
	CRASH_BACKEND=$EVT_TEST_BACKEND CRASH_DB=${EVT_DB:-} \
		CRASH_SCHEMA=${EVT_TEST_SCHEMA:-${EVT_TEST_DB:-}} \
		CRASH_KILLS=${CRASH_KILLS:-15} CRASH_DIR=$BATS_TEST_TMPDIR \
		run bash "$EVT_TOP/tests/crash/$1.sh"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == "$1: "*" kills landed"* ]]
	printf '# %s\n' "${lines[${#lines[@]} - 1]}" >&3
}

@test "evt-append killed at random moments: acknowledged batches whole, none half there" {
	crash_loop append
}

@test "evt-handle killed at random moments: the bookmark is never past an unhandled event" {
	crash_loop handle
}

@test "evt-command killed at random moments while it retries: all or nothing, decided on what it follows" {
	crash_loop command
}

@test "evt-append --key killed at random moments and retried: every key's events exactly once" {
	crash_loop key
}

#!/bin/sh
# Make a directory of wrappers, one per program in bin/, that run the
# program under valgrind (memcheck): any memory error or definite leak is
# exit status 99, so a test that checks the exit status (they all do)
# fails on it.  Prints the directory.
#
# Usage: tests/valgrind.sh [DIR]        (default: build/valgrind/bin)
#        tests/valgrind.sh --report [DIR]
# Put DIR first in PATH: make check VALGRIND=1 does (tests/run.sh).
# VALGRIND_OPTS adds options, e.g. VALGRIND_OPTS=--track-origins=yes;
# VALGRIND_REAL_BIN wraps the programs of another directory than bin/.
#
# valgrind writes to DIR/../logs/PROGRAM.PID.log, not to stderr: the tests
# compare stderr exactly, and valgrind 3.19 warns there about system calls
# it does not know (pidfd_open), which the programs handle.  --report
# prints the logs that hold more than such warnings, and fails if any.
#
# Only definite leaks count and are shown: a program that dies of SIGPIPE
# (evt-read | head -1) in the middle of a SQLite step leaves blocks that
# memcheck calls "possibly lost", which are not leaks.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --report ]; then
	logs=$(dirname "${2:-$top/build/valgrind/bin}")/logs
	bad=0
	for f in "$logs"/*.log; do
		[ -s "$f" ] || continue
		# the lines of an unhandled system call warning
		if grep -v -e 'WARNING: unhandled .* syscall' \
			-e 'You may be able to write your own handler' \
			-e 'Read the file README_MISSING_SYSCALL_OR_IOCTL' \
			-e 'Nevertheless we consider this a bug' \
			-e 'it at http://valgrind.org/support/bug_reports.html' \
			"$f" | grep -q .; then
			echo "== $f"
			cat "$f"
			bad=1
		fi
	done
	exit $bad
fi
dir=${1:-$top/build/valgrind/bin}
real=${VALGRIND_REAL_BIN:-$top/bin}
logs=$(dirname "$dir")/logs
if ! command -v valgrind >/dev/null 2>&1; then
	echo "tests/valgrind.sh: valgrind is not installed (Debian: valgrind)" >&2
	exit 1
fi
mkdir -p "$dir" "$logs" || exit 1
# tests that run a program as another user need to write its log too
chmod 1777 "$logs" || exit 1
rm -f "$logs"/*.log
for bin in "$real"/evt "$real"/evt-*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	cat >"$dir/.$name.tmp" <<-EOF
	#!/bin/sh
	exec valgrind -q --leak-check=full --show-leak-kinds=definite \\
		--errors-for-leak-kinds=definite --error-exitcode=99 \\
		--suppressions="$top/tests/valgrind.supp" \\
		--log-file="$logs/$name.%p.log" \\
		\${VALGRIND_OPTS:-} "$bin" "\$@"
	EOF
	chmod +x "$dir/.$name.tmp" && mv -f "$dir/.$name.tmp" "$dir/$name" ||
		exit 1
done
printf '%s\n' "$dir"

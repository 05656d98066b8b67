#!/usr/bin/env bats
# What every program shares: --help, -h and --version, and a write error
# on them; and its long options, each of which must be in its --help, its
# man page and the bash, zsh and fish completions.  The programs are those
# of cmd/*.c and their options are read from the source, so an option added
# there and missing elsewhere fails here, naming the program, the option
# and the place.

load test_helper

# The programs, one a line: cmd/NAME.c is the program NAME.
programs() {
	local f
	for f in "$EVT_TOP"/cmd/*.c; do
		f=${f##*/}
		printf '%s\n' "${f%.c}"
	done
}

# long_options PROGRAM: its long options without the "--", one a line, as
# its source defines them: the names of its getopt_long table (struct
# option, after the preprocessor, so the tables lib/ shares are in), or,
# for a program that compares its arguments itself (evt), the "--NAME"
# strings it compares them with.
long_options() {
	local src=$EVT_TOP/cmd/$1.c pre table
	# shellcheck disable=SC2046 # the flags are words
	pre=$(${CC:-cc} -E -P -D_GNU_SOURCE -I"$EVT_TOP/lib" \
		$(pkg-config --cflags sqlite3 libpq 2>/dev/null) "$src") || return 1
	table=$(printf '%s\n' "$pre" | tr '\n' ' ' |
		grep -oE 'struct option [A-Za-z_0-9]+ *\[\] *= *\{[^;]*\};') || :
	if [ -n "$table" ]; then
		printf '%s\n' "$table" | grep -oE '\{ *"[^"]+"' | sed 's/^{ *"//; s/"$//'
	else
		grep -oE 'strn?cmp\([^;()]*, *"--[a-z][a-z0-9-]*=?"' "$src" |
			sed -E 's/.*"--([a-z0-9-]*)=?"$/\1/'
	fi | sort -u
}

# options_of PROGRAM: its long options in $opts.  Every program defines
# --help and --version: a source that yields neither is one this file
# cannot read, and that is a failure, not a pass.
options_of() {
	opts=$(long_options "$1") || return 1
	if ! grep -qx help <<<"$opts" || ! grep -qx version <<<"$opts"; then
		echo "$1: cannot read the long options of cmd/$1.c (found: ${opts//$'\n'/ })" >&2
		return 1
	fi
}

# has_option TEXT OPTION: TEXT holds --OPTION as a word of its own
# (--stream is not found in --streams).
has_option() {
	grep -qE -- "(^|[^A-Za-z0-9-])--$2([^A-Za-z0-9-]|\$)" <<<"$1"
}

# check_options WHERE GET: for every program, GET PROGRAM prints the text
# that must name each of its long options; report every option missing
# from it, as "PROGRAM: --OPTION is not in WHERE" (PROGRAM in WHERE is
# the program's name).
check_options() {
	local where=$1 get=$2 p o w text missing=
	for p in $(programs); do
		options_of "$p" || return 1
		w=${where//PROGRAM/$p}
		text=$("$get" "$p") || { echo "$p: $w cannot be read" >&2; return 1; }
		for o in $opts; do
			has_option "$text" "$o" || missing="$missing$p: --$o is not in $w"$'\n'
		done
	done
	if [ -n "$missing" ]; then
		printf '%s' "$missing" >&2
		return 1
	fi
}

# --- what each program prints --------------------------------------------------

# The first line of each program's usage.
usage_line() {
	case $1 in
	evt) echo 'usage: evt [-d URL] COMMAND [ARG...]' ;;
	evt-append) echo 'usage: evt-append [-q] [-e VERSION] [--count N] [--key KEY] STREAM ID [EVENT ...]' ;;
	evt-read) echo 'usage: evt-read [-n LIMIT] [--after POSITION] [--type TYPE]... [STREAM[,STREAM...] [ID]]' ;;
	evt-fold) echo 'usage: evt-fold [REDUCER] [--init JSON] [--persist KEY] [--scan] STREAM ID' ;;
	evt-tail) echo 'usage: evt-tail [--after POSITION | -n N] [--type TYPE]... [--count N] [--stream NAME]... [STREAM[,STREAM...]...]' ;;
	evt-handle) echo 'usage: evt-handle [OPTIONS] NAME STREAM[,STREAM...] [--on [STREAM:]TYPE=COMMAND]... [-- PROGRAM [ARG...]]' ;;
	evt-command) echo 'usage: evt-command [FOLD OPTIONS] [--retries N] [--key KEY] STREAM ID COMMAND [BODY] -- PROGRAM [ARG...]' ;;
	*) echo "no usage line known for $1: add it to usage_line in tests/programs.bats" >&2; return 1 ;;
	esac
}

@test "every program: --help and -h print the usage on stdout, exit 0, and open no store" {
	local p help
	for p in $(programs); do
		echo "# $p --help"
		run -0 --separate-stderr "$p" --help
		[ "$stderr" = "" ]
		same "$(line 1)" "$(usage_line "$p")"
		help=$output
		echo "# $p -h"
		run -0 --separate-stderr "$p" -h
		same "$output" "$help"
		[ "$stderr" = "" ]
	done
	[ ! -e events.db ]
}

@test "every program: --version prints 'PROGRAM (evt) VERSION', exit 0" {
	local p
	for p in $(programs); do
		echo "# $p --version"
		run -0 --separate-stderr "$p" --version
		same "$output" "$p (evt) $(evt_version)"
		[ "$stderr" = "" ]
	done
	[ ! -e events.db ]
}

@test "every program: --help and --version on a full disk are exit 1 with a message" {
	local p o
	for p in $(programs); do
		for o in --help --version; do
			echo "# $p $o >/dev/full"
			run -1 --separate-stderr to_full "$p" "$o"
			same "$stderr" "$p: write error: No space left on device"
			[ "$output" = "" ]
		done
	done
	[ ! -e events.db ]
}

# --- every long option, in every place ------------------------------------------

help_of() {
	"$1" --help
}

@test "every long option of every program is in its --help" {
	check_options "its --help" help_of
}

# The man page: each option is an item (.It) of its list of options.
man_items() {
	grep '^\.It' "$EVT_TOP/man/$1.1" | sed 's/Fl -/--/g'
}

@test "every long option of every program is an item of its man page" {
	check_options "its man page (an .It line of man/PROGRAM.1)" man_items
}

# bash: what _evt puts in COMPREPLY for "PROGRAM --<TAB>", and for
# "evt VERB --<TAB>".
bash_complete() {
	bash --norc --noprofile -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE=$*
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_evt
		printf "%s\n" "${COMPREPLY[@]}"' bash "$EVT_TOP/completions/evt.bash" "$@"
}

bash_options() {
	local a b
	a=$(bash_complete "$1" --) || return 1
	if [ "$1" = evt ]; then
		printf '%s\n' "$a"
		return
	fi
	b=$(bash_complete evt "${1#evt-}" --) || return 1
	# an option offered one way and not the other is missing
	comm -12 <(printf '%s\n' "$a" | sort) <(printf '%s\n' "$b" | sort)
}

@test "every long option of every program is completed by bash" {
	check_options "the bash completion (completions/evt.bash)" bash_options
}

# zsh: the option specs the completion function hands to _arguments
# (evt-VERB and evt VERB both use _evt_program VERB).
zsh_options() {
	local specs
	specs=$(zsh -f -c '
		compdef() { :; }
		_arguments() { print -rl -- "$@"; }
		. "$1" || exit 1
		words=($2 --)
		CURRENT=2
		if [[ $2 == evt ]]; then
			service=evt
			_evt
		else
			_evt_program ${2#evt-}
		fi' zsh "$EVT_TOP/completions/_evt" "$1") || return 1
	printf '%s\n' "$specs" | sed -E 's/^\([^)]*\)//; s/^\*//' |
		grep -oE '^--[a-z][a-z0-9-]*' || :
}

@test "every long option of every program is completed by zsh" {
	check_options "the zsh completion (completions/_evt)" zsh_options
}

# fish: the candidates of "PROGRAM --<TAB>" and "evt VERB --<TAB>".
fish_complete() {
	local c
	c=$(fish --no-config -c 'source $argv[1]; or exit 1; complete -C"$argv[2]"' \
		"$EVT_TOP/completions/evt.fish" "$*") || return 1
	printf '%s\n' "$c" | cut -f1
}

fish_options() {
	local a b
	a=$(fish_complete "$1" --) || return 1
	if [ "$1" = evt ]; then
		printf '%s\n' "$a"
		return
	fi
	b=$(fish_complete evt "${1#evt-}" --) || return 1
	comm -12 <(printf '%s\n' "$a" | sort) <(printf '%s\n' "$b" | sort)
}

@test "every long option of every program is completed by fish" {
	check_options "the fish completion (completions/evt.fish)" fish_options
}

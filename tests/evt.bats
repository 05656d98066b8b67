#!/usr/bin/env bats
# evt: the front; "evt append ..." runs "evt-append ...".
# backends: sqlite pg my

load test_helper

@test "evt append runs evt-append" {
	a=$(db a.db)
	run -0 --separate-stderr evt append -d "$a" users u1 '{"type":"a"}' '{"type":"b"}'
	[ "$stderr" = "" ]
	[ "${#lines[@]}" = 2 ]
	appended=$output
	run -0 --separate-stderr evt-read -d "$a"
	same "$output" "$appended"
	printf '{"type":"c"}\n' >in
	run -0 --separate-stderr evt append -q -d "$a" -e 2 users u1 <in
	[ "$output" = "" ]
	run -0 --separate-stderr evt-read -d "$a" --head
	[ "$output" = 3 ]
}

@test "evt read runs evt-read with the same output" {
	evt-append -q users u1 '{"type":"a"}' '{"type":"b"}'
	evt-append -q posts p1 '{"type":"c"}'
	for args in "" "users" "users u1" "--last" "--head" "-n 1 --after 1" "--type c"; do
		run -0 --separate-stderr evt-read $args
		want=$output
		[ -n "$want" ]
		run -0 --separate-stderr evt read $args
		[ "$stderr" = "" ]
		same "$output" "$want"
	done
}

@test "exit status and messages of the program pass through" {
	evt-append -q users u1 '{"type":"a"}'
	run -3 --separate-stderr evt append -e 0 users u1 '{"type":"b"}'
	[ "$stderr" = "evt-append: version conflict: users/u1 is at version 1, expected 0" ]
	run -4 --separate-stderr evt append users u1 '{}'
	[ "$stderr" = 'evt-append: argument 3: event has no string "type"' ]
	run -2 --separate-stderr evt append --bogus
	[ "$stderr" = "evt-append: unknown option '--bogus'" ]
	run -1 --separate-stderr evt read -d x.db
	[ "$stderr" = "evt-read: cannot open 'x.db': no such store" ]
	run -0 --separate-stderr evt read --version
	[ "$output" = "evt-read (evt) $(evt_version)" ]
}

@test "evt runs the programs beside it, not those on PATH" {
	mkdir fake
	printf '#!/bin/sh\necho fake\n' >fake/evt-read
	chmod +x fake/evt-read
	PATH="$BATS_TEST_TMPDIR/fake:/usr/bin:/bin" run -0 --separate-stderr "$EVT_TOP/bin/evt" read --version
	[ "$output" = "evt-read (evt) $(evt_version)" ]
}

@test "evt --help and evt help list the programs" {
	run -0 --separate-stderr evt --help
	[ "$stderr" = "" ]
	for c in append read fold tail handle command; do
		printf '%s\n' "$output" | grep -Eq "^  $c +[a-z]"
	done
	help=$output
	run -0 --separate-stderr evt help
	same "$output" "$help"
}

@test "an unknown command is a usage error" {
	run -2 --separate-stderr evt foo
	[ "$output" = "" ]
	[ "$stderr" = "evt: 'foo' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt foo --help
	[ "$stderr" = "evt: 'foo' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt 'a b'
	[ "$stderr" = "evt: 'a b' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt ../bin/evt-read
	[ "$stderr" = "evt: '../bin/evt-read' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt Read
	[ "$stderr" = "evt: 'Read' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt ''
	[ "$stderr" = "evt: '' is not an evt command (see evt --help)" ]
}

@test "an unknown option is a usage error" {
	run -2 --separate-stderr evt --bogus
	[ "$output" = "" ]
	[ "$stderr" = "evt: unknown option '--bogus'" ]
}

@test "no arguments: usage on stderr, exit 2" {
	run -0 --separate-stderr evt --help
	help=$output
	run -2 --separate-stderr evt
	[ "$output" = "" ]
	same "$stderr" "$help"
}

@test "every program ends quietly with exit 0 when its stdout is closed" {
	put s a '{"type":"x"}'
	for cmd in "evt-read" "evt-read --head" "evt-fold s a" "evt-fold --all s" \
		"evt-tail --after 0 --count 1" "evt-handle --status" \
		"evt-handle --reset h" "evt-command s a go -- true" "evt read" \
		"evt-read --help" "evt-append --version" "evt --help" "evt --version"; do
		# shellcheck disable=SC2086 # words
		run -0 --separate-stderr to_closed $cmd
		same "$stderr" ""
	done
	# and a write error is still one
	run -1 --separate-stderr to_full evt-handle --status
	[ "$stderr" = "evt-handle: write error: No space left on device" ]
}

@test "evt help COMMAND shows evt-COMMAND --help" {
	for c in append read fold tail handle command; do
		run -0 --separate-stderr evt-$c --help
		want=$output
		run -0 --separate-stderr evt help $c
		[ "$stderr" = "" ]
		same "$output" "$want"
	done
	run -0 --separate-stderr evt --help
	want=$output
	run -0 --separate-stderr evt help
	same "$output" "$want"
	run -2 --separate-stderr evt help foo
	[ "$stderr" = "evt: 'foo' is not an evt command (see evt --help)" ]
	run -2 --separate-stderr evt help read fold
	[ "$stderr" = "evt: help takes one command (see evt --help)" ]
}

@test "evt -d URL COMMAND passes the store on, as git -C" {
	a=$(db a.db)
	run -0 --separate-stderr evt -d "$a" append -q users u1 '{"type":"a"}'
	run -0 --separate-stderr evt-read -d "$a" --head
	[ "$output" = 1 ]
	run -0 --separate-stderr evt --db "$a" append -q users u1 '{"type":"b"}'
	run -0 --separate-stderr evt --db="$a" read --head
	[ "$output" = 2 ]
	run -0 --separate-stderr evt -d "$a" fold users u1
	[ "$output" = '{"aggregateId":"u1","version":2}' ]
	# -dURL could be a name that lost its "--": refused, as in every program
	run -2 --separate-stderr evt "-d$a" fold users u1
	[ "$stderr" = "evt: ambiguous '-d$a': write '-d $a' for a store" ]
	# a store given after the command wins, as the command's own option
	run -0 --separate-stderr evt -d nowhere.db read -d "$a" --head
	[ "$output" = 2 ]
	[ ! -e nowhere.db ]
	[ ! -e events.db ] || [ "$(evt-read --head)" = 0 ]
	run -2 --separate-stderr evt -d
	[ "$stderr" = "evt: option '-d' needs a value" ]
}

@test "every program's --help ends with its exit statuses; --bookmarks-table says whether it is used" {
	while read -r c codes bookmarks; do
		run -0 --separate-stderr evt-$c --help
		[ "$stderr" = "" ]
		# shellcheck disable=SC2001
		same "$(printf '%s\n' "$output" | sed -n '/^exit status:$/,$p' | sed -n 's/^  \([0-9]\)  .*/\1/p' | tr -d '\n')" "$codes"
		if [ "$bookmarks" = yes ]; then
			[[ "$output" == *"--bookmarks-table NAME  bookmarks table (default: bookmarks)"* ]]
		elif [ "$bookmarks" = makes ]; then
			# evt-tail makes evt's tables in a store without them
			[[ "$output" == *"--bookmarks-table NAME  the bookmarks table it makes in a store"* ]]
		else
			[[ "$output" == *"--bookmarks-table NAME  accepted, not used: reads no bookmarks"* ]]
		fi
	done <<'EOF'
append 01234 yes
read 012 no
fold 01245 no
tail 012 makes
handle 01256 yes
command 012345 yes
EOF
	run -0 --separate-stderr evt --help
	[ "$(line '$')" = "exit status: the command's; 2 when COMMAND is missing or unknown" ]
	# accepted all the same
	evt-append -q s a '{"type":"x"}'
	run -0 --separate-stderr evt-read --bookmarks-table marks --head
	[ "$output" = 1 ]
}

# --- names that begin with '-' ------------------------------------------------

@test "names that begin with '-' reach every program after '--'" {
	r1='{"position":1,"stream":"-x","aggregateId":"--","version":1,"timestamp":"TS","event":{"type":"-"}}'
	r2='{"position":2,"stream":"-x","aggregateId":"--","version":2,"timestamp":"TS","event":{"type":"--","a":1}}'
	r3='{"position":3,"stream":"-","aggregateId":"-x","version":1,"timestamp":"TS","event":{"type":"-x"}}'
	run -0 --separate-stderr evt-append -- -x -- '{"type":"-"}' '{"type":"--","a":1}'
	same "$(no_ts)" "$r1
$r2"
	run -0 --separate-stderr evt-append -- - -x <<<'{"type":"-x"}'
	same "$(no_ts)" "$r3"
	run -0 --separate-stderr evt-read -- -x --
	same "$(no_ts)" "$r1
$r2"
	run -0 --separate-stderr evt-read --type - --type=-x -- -x,-
	same "$(no_ts)" "$r1
$r3"
	# '-' alone is no option
	run -0 --separate-stderr evt-read -
	same "$(no_ts)" "$r3"
	run -0 --separate-stderr evt-read --aggregates -x
	[ "$output" = '{"stream":"-x","aggregateId":"--","version":2,"position":2}' ]
	run -0 --separate-stderr evt-fold -- -x --
	[ "$output" = '{"a":1,"aggregateId":"--","version":2}' ]
	# an option's value may begin with '-'
	run -0 --separate-stderr evt-fold --all -x
	[ "$output" = '{"a":1,"aggregateId":"--","version":2}' ]
	run -0 --separate-stderr evt-tail --after 1 --count 1 --stream -x
	same "$(no_ts)" "$r2"
	run -0 --separate-stderr evt-tail --after 0 --count 1 -- -
	same "$(no_ts)" "$r3"
	run -0 --separate-stderr evt read -- - -x
	same "$(no_ts)" "$r3"
	# without '--' such a name is an option
	run -2 --separate-stderr evt-read -x
	[ "$stderr" = "evt-read: unknown option '-x'" ]
}

@test "evt-handle and evt-command: '--' NAME STREAM '--' PROGRAM" {
	r1='{"position":1,"stream":"-x","aggregateId":"--","version":1,"timestamp":"TS","event":{"type":"-"}}'
	r2='{"position":2,"stream":"-x","aggregateId":"--","version":2,"timestamp":"TS","event":{"type":"-"}}'
	evt-append -q -- -x -- '{"type":"-"}'
	# NAME '--', STREAM '-x'; the program's own '--' is its own
	run -0 --separate-stderr evt-handle -- -- -x -- sh -c 'cat; echo "$@"' sh -- -y
	same "$(no_ts)" "$r1
-- -y"
	run -0 --separate-stderr evt-handle --status -- --
	[ "$output" = '{"name":"--","streams":["-x"],"position":1,"head":1,"lag":0,"parked":0,"running":false}' ]
	run -0 --separate-stderr evt-handle --reset -- -- 0
	[ "$output" = '{"name":"--","from":1,"to":0}' ]
	# --on alone: no second '--'
	run -0 --separate-stderr evt-handle --on '-x:-=echo "$EVT_TYPE"' -- -- -x
	[ "$output" = "-" ]
	# STREAM '--' and NAME '-' too
	run -0 --separate-stderr evt-handle -- - -- -- true
	[ "$output" = "" ]
	run -0 --separate-stderr evt-handle --status -- - --
	[ "$output" = '{"name":"-","streams":["--"],"position":0,"head":0,"lag":0,"parked":0,"running":false}
{"name":"--","streams":["-x"],"position":1,"head":1,"lag":0,"parked":0,"running":false}' ]
	# STREAM '-x', ID '--', COMMAND '-'
	run -0 --separate-stderr evt-command -- -x -- - -- sh -c 'cat >in.json; echo "{\"type\":\"-\"}"'
	[ "$output" = '{"aggregateId":"--","version":2}' ]
	[ "$(cat in.json)" = '{"command":{"aggregateId":"--","type":"-"},"aggregate":{"aggregateId":"--","version":1}}' ]
	run -0 --separate-stderr evt-read -- -x --
	same "$(no_ts)" "$r1
$r2"
	# --parked and --drop: every argument after '--' is a name
	run -0 --separate-stderr evt-handle --continue-on-error -- -p -x -- false
	run -0 --separate-stderr evt-handle --parked -- -p
	[[ "$output" == '{"position":1,"stream":"-x","aggregateId":"--","version":1,'*',"parked":{"status":1,'* ]]
	# --retry-parked, through the front: the first parked event handled now
	run -0 --separate-stderr evt handle --retry-parked -- -p -x -- sh -c 'read -r l; [ "$EVT_POSITION" = 1 ]'
	same "$stderr" "evt-handle: -p: 'sh' exited with status 1 at position 2 (-x/-- v2 -); still parked
evt-handle: -p: 2 parked events retried: 1 handled, 1 still parked"
	run -0 --separate-stderr evt handle --status -- -p
	[ "$output" = '{"name":"-p","streams":["-x"],"position":2,"head":2,"lag":0,"parked":1,"running":false}' ]
	run -0 --separate-stderr evt-handle --drop -- -p
	[ "$output" = '{"name":"-p","streams":["-x"],"position":2,"parked":1}' ]
	# evt command through the front
	run -0 --separate-stderr evt command -- -x -- - -- sh -c 'cat >/dev/null; echo "{\"type\":\"-\"}"'
	[ "$output" = '{"aggregateId":"--","version":3}' ]
	run -2 --separate-stderr evt-handle -- -y -x --
	[ "$stderr" = "evt-handle: '--' needs a PROGRAM after it" ]
	run -2 --separate-stderr evt-command -- -x -- -
	[ "$stderr" = "evt-command: expected -- PROGRAM (see evt-command --help)" ]
}

@test "-dNAME is refused: it may be a name that lost its '--'" {
	run -2 --separate-stderr evt-handle -d s.db --reset -dash 1
	[ "$output" = "" ]
	[ "$stderr" = "evt-handle: ambiguous '-dash': write '-d ash' for a store; a name that begins with '-' goes after '--'" ]
	run -2 --separate-stderr evt-append -qdash s a '{"type":"x"}'
	[ "$stderr" = "evt-append: ambiguous '-qdash': write '-d ash' for a store; a name that begins with '-' goes after '--'" ]
	for c in read fold tail command; do
		run -2 --separate-stderr evt-$c -dx.db s a
		[ "$stderr" = "evt-$c: ambiguous '-dx.db': write '-d x.db' for a store; a name that begins with '-' goes after '--'" ]
	done
	[ ! -e ash ] && [ ! -e s.db ] && [ ! -e x.db ]
	# read as meant
	evt-append -d s.db --records </dev/null
	run -0 --separate-stderr evt-handle -d s.db --reset -- -dash 0
	[ "$output" = '{"name":"-dash","from":0,"to":0}' ]
	[ ! -e ash ]
	# --db=URL is one argument
	run -0 --separate-stderr evt-read --db=s.db --head
	[ "$output" = 0 ]
}

#!/usr/bin/env bats
# evt-handle --group I/N: N processes share the work of one handler NAME.
# backends: sqlite pg my

load test_helper

# gen IDS VERSIONS: VERSIONS events for each of IDS aggregates a0, a1, ...
# of stream s, interleaved (a0 v1, a1 v1, ..., a0 v2, ...), as records.
gen() {
	python3 -c '
import sys
ids, vs = int(sys.argv[1]), int(sys.argv[2])
for v in range(1, vs + 1):
    for a in range(ids):
        print("{\"stream\":\"s\",\"aggregateId\":\"a%d\",\"event\":{\"type\":\"x\",\"v\":%d}}" % (a, v))
' "$1" "$2" | evt-append -q --records
}

# The program of a member: the records it gets, one per line, into out.I.
member() {
	start_member "$1" "$2" -- sh -c 'cat >>"out.$1"' sh "$1"
}

# start_member I N ARG...: member I of N of handler h in the background.
start_member() {
	local i=$1 n=$2
	shift 2
	evt-handle --group "$i/$n" --batch 50 h s "$@" >"bg.$i.out" \
		2>"bg.$i.err" 3>&- &
	pids="${pids:-} $!"
	last=$!
}

teardown() {
	local p
	for p in ${pids:-}; do
		kill -KILL "$p" 2>/dev/null || :
	done
}

# check FILE... : what the members got, as "member id version position"
# lines, checked: each aggregate went to the member its id hashes to
# (the first 4 bytes of md5(id), big-endian, modulo N) and to no other;
# per aggregate the versions came in order (an event delivered again
# right after itself, the one in flight at a kill, is allowed when
# $again is set); every event 1..$total came (exactly once unless $again).
check() {
	python3 - "$total" "$again" "$@" <<'PY'
import hashlib, json, sys
total, again, files = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
seen, owner, vers = {}, {}, {}
for f in files:
    i, n = (int(x) for x in f.split(".")[1].split("_"))
    for line in open(f):
        r = json.loads(line)
        a = r["aggregateId"]
        h = int.from_bytes(hashlib.md5(a.encode()).digest()[:4], "big")
        if h % n != i:
            sys.exit("%s went to member %d of %d, hash says %d" % (a, i, n, h % n))
        owner.setdefault((a, n), i)
        if owner[(a, n)] != i:
            sys.exit("%s went to two members" % a)
        vs = vers.setdefault((a, f), [])
        if vs and r["version"] < vs[-1]:
            sys.exit("%s out of order in %s: %s" % (a, f, vs + [r["version"]]))
        if vs and r["version"] == vs[-1] and not again:
            sys.exit("%s v%d twice" % (a, r["version"]))
        vs.append(r["version"])
        seen[r["position"]] = seen.get(r["position"], 0) + 1
missing = [p for p in range(1, total + 1) if p not in seen]
if missing:
    sys.exit("never delivered: %s" % missing[:10])
twice = [p for p, c in seen.items() if c > 1]
if twice and not again:
    sys.exit("delivered twice: %s" % twice[:10])
PY
}

@test "--group: 3 members over 3,000 events in 300 aggregates, each event exactly once, each aggregate on one member in version order" {
	gen 300 10
	for i in 0 1 2; do
		start_member $i 3 -- sh -c 'cat >>"out.$1_3"' sh $i
	done
	for p in $pids; do ends "$p" 0; done
	for i in 0 1 2; do
		same "$(cat bg.$i.err)" ""
		[ -s out.${i}_3 ]
	done
	total=3000 again=0 check out.0_3 out.1_3 out.2_3
	run -0 evt-handle --status h
	[ "${#lines[@]}" -eq 3 ]
	for i in 0 1 2; do
		[[ "${lines[$i]}" == '{"name":"h['$i'/3]","streams":["s"],"position":'*',"lag":0,"parked":0,"running":false}' ]]
	done
	# caught up: a second run delivers nothing
	run -0 evt-handle --group 1/3 h s -- sh -c 'cat >>again'
	[ ! -e again ]
}

@test "--group: the member of an aggregate is the documented hash (md5, first 4 bytes big-endian, modulo N)" {
	# md5("u1") = e4774cdd...: 0xe4774cdd = 3833023709, % 7 = 4
	put s u1 '{"type":"x"}'
	# md5 of the UTF-8 bytes of "héllo" = be50e847...: 3192973383, % 7 = 5
	put s 'héllo' '{"type":"x"}'
	out=
	for i in 0 1 2 3 4 5 6; do
		run -0 evt-handle --group $i/7 h s -- sh -c 'echo "$EVT_HANDLER $EVT_AGGREGATE_ID"'
		out="$out$output;"
	done
	same "$out" ";;;;h[4/7] u1;h[5/7] héllo;;"
}

@test "--group: a member SIGKILLed mid-run and started again: every event at least once, none skipped, per-aggregate order kept" {
	gen 300 10
	# member 1 kills its evt-handle at its tenth batch, once
	cat >kill.sh <<'SH'
cat >>out.1_3
n=$(cat count 2>/dev/null || echo 0)
echo $((n + 1)) >count
if [ "$n" = 9 ]; then kill -9 $PPID; fi
SH
	start_member 0 3 -- sh -c 'cat >>out.0_3'
	start_member 1 3 -- sh kill.sh
	killed=$last
	start_member 2 3 -- sh -c 'cat >>out.2_3'
	ends "$killed" 137
	run -0 evt-handle --status h
	[[ "${lines[1]}" == '{"name":"h[1/3]",'*',"running":false}' ]]
	start_member 1 3 -- sh kill.sh
	for p in $pids; do wait_until 60 gone "$p"; done
	total=3000 again=1 check out.0_3 out.1_3 out.2_3
	# the batch in flight came again, and only that one
	[ "$(sort out.1_3 | uniq -d | wc -l)" -le 50 ]
}

@test "--group: a second process for the same member is exit 6; other members run; --status shows each" {
	put s a '{"type":"x"}'
	evt-handle --group 0/2 --follow h s -- /bin/true >bg.out 2>bg.err 3>&- &
	holder=$!
	pids=$holder
	wait_until 20 holding 'h[0/2]'
	run -6 --separate-stderr evt-handle --group 0/2 h s -- /bin/true
	same "$stderr" "evt-handle: h[0/2]: already running"
	run -0 --separate-stderr evt-handle --group 1/2 h s -- /bin/true
	same "$stderr" ""
	run -0 evt-handle --status h
	[[ "${lines[0]}" == '{"name":"h[0/2]",'*',"running":true}' ]]
	[[ "${lines[1]}" == '{"name":"h[1/2]",'*',"running":false}' ]]
	run -6 --separate-stderr evt-handle --drop h
	same "$stderr" "evt-handle: h[0/2]: already running"
	kill -TERM "$holder"
	ends "$holder" 0
}

# holding NAME: a process holds NAME, as --status says.
holding() {
	[[ "$(evt-handle --status "$1")" == *'"running":true}' ]]
}

@test "--group: regrouping 3 -> 2 starts each new member at the smallest old bookmark; --drop NAME drops every member" {
	gen 30 10
	for i in 0 1 2; do
		run -0 evt-handle --group $i/3 h s -- sh -c 'cat >>"out.$1_3"' sh $i
	done
	gen 30 5
	min=$(evt-handle --status h | sed -n 's/.*"position":\([0-9]*\).*/\1/p' | sort -n | head -n 1)
	[ "$min" -lt 300 ]
	for i in 0 1; do
		run -0 evt-handle --group $i/2 h s -- sh -c 'cat >>"out.$1_2"' sh $i
	done
	# the new members together got every event after the smallest
	# old bookmark, and nothing before it
	python3 - "$min" <<'PY'
import json, sys
m = int(sys.argv[1])
got = sorted(json.loads(l)["position"] for f in ("out.0_2", "out.1_2") for l in open(f))
assert got == list(range(m + 1, 451)), (got[:5], m)
PY
	total=450 again=1 check out.0_3 out.1_3 out.2_3 out.0_2 out.1_2
	run -0 evt-handle --status h
	[ "${#lines[@]}" -eq 5 ]
	run -0 evt-handle --drop h
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == '{"name":"h[0/2]","streams":["s"],"position":'* ]]
	run -0 evt-handle --status
	same "$output" ""
}

@test "--group: --tail, --continue-on-error and parking are per member" {
	put s u1 '{"type":"x"}'	# member 4 of 7 (see above)
	run -0 evt-handle --group 4/7 --tail h s -- /bin/false
	put s u1 '{"type":"y"}'
	run -0 --separate-stderr evt-handle --group 4/7 --continue-on-error h s -- /bin/false
	same "$stderr" "evt-handle: h[4/7]: '/bin/false' exited with status 1 at position 2 (s/u1 v2 y); parked
evt-handle: h[4/7]: 1 event parked"
	run -0 evt-handle --parked 'h[4/7]'
	[[ "$output" == '{"position":2,'*'"parked":{"status":1,'* ]]
	run -0 evt-handle --status 'h[4/7]'
	[[ "$output" == '{"name":"h[4/7]","streams":["s"],"position":2,"head":2,"lag":0,"parked":1,"running":false}' ]]
}

@test "--group: usage errors" {
	for g in 3/3 -1/2 1/0 a/2 1/ 01/3 0/1025; do
		run -2 --separate-stderr evt-handle --group "$g" h s -- /bin/true
		same "$stderr" "evt-handle: invalid --group '$g': expected I/N, 0 <= I < N <= 1024, such as 0/3"
	done
	run -2 --separate-stderr evt-handle --group 0/2 --status h
	same "$stderr" "evt-handle: --status takes no --group (name a member as NAME[I/N])"
}

#!/bin/sh
# make demo: a short append/read/fold pipeline on an embedded SQLite store.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/bin:$PATH"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export EVT_DB="$dir/events.db"

run() {
	printf '\n$ %s\n' "$*"
	sh -c "$*"
}

echo "evt demo: a store in $EVT_DB"
run "evt append users u1 '{\"type\":\"created\",\"name\":\"ann\",\"plan\":\"free\"}'"
run "printf '%s\n' '{\"type\":\"upgraded\",\"plan\":\"pro\"}' '{\"type\":\"disabled\",\"by\":\"admin\"}' | evt append -q users u1"
run "evt append -e 0 users u2 '{\"type\":\"created\",\"name\":\"bob\"}'"
run "evt append -e 0 users u2 '{\"type\":\"created\",\"name\":\"eve\"}' || echo \"exit status \$?\""
run "evt read users u1"
run "evt read --type created users"
run "evt read --head"
run "evt fold users u1"
run "evt fold --jq '{enabled: (.type != \"disabled\")}' users u1"

# A command program: gets the command and the folded aggregate on stdin,
# prints the events it decides, or refuses with a non-zero exit.
cat >decide <<'EOF'
#!/bin/sh
in=$(cat)
case $in in
*'"enabled":false'*) echo "decide: user is disabled" >&2; exit 1 ;;
esac
echo '{"type":"renamed","name":"robert"}'
EOF
chmod +x decide
run "cat decide"
run "evt command --jq '{enabled: (.type != \"disabled\")}' users u2 rename -- ./decide"
run "evt command --jq '{enabled: (.type != \"disabled\")}' users u1 rename -- ./decide || echo \"exit status \$?\""
run "evt handle greeter users --on created='echo hello \$EVT_AGGREGATE_ID at position \$EVT_POSITION'"
run "evt handle --status"
run "evt read | evt append -d copy.db --records -q && evt read -d copy.db --last"

# tests/pg.bash - a throwaway PostgreSQL cluster for the tests and benchmarks
#
# Source it (from sh, bash or bats), then:
#   pg_start [SETTING=VALUE ...]  initdb and start a cluster in a new
#                                 temporary directory, listening on a unix
#                                 socket there and on 127.0.0.1 on a free
#                                 port; exports EVT_TEST_PG_DIR,
#                                 EVT_TEST_PG_PORT and EVT_TEST_PG_URL
#   pg_stop                       stop it and remove the directory
#   pg_restart                    pg_ctl restart (fast shutdown)
#   pg_psql [PSQL ARGS]           psql as the superuser
#   pgb_start [MODE [SIZE]]       start pgbouncer (Debian's package) in front
#                                 of the cluster, pool_mode MODE (default
#                                 transaction), SIZE server connections
#                                 (default 4), on 127.0.0.1; prints its URL.
#                                 It ignores the startup parameter
#                                 "options": name tables schema.name.
#   pgb_stop [MODE[-SIZE]]        stop it (pg_stop stops every one)
# When run as root the server runs as the postgres user (initdb refuses
# root).  EVT_TEST_PG_BIN names the server's bin directory (default: the
# newest /usr/lib/postgresql/*/bin).

pg_bin() {
	if [ -n "${EVT_TEST_PG_BIN:-}" ]; then
		printf '%s\n' "$EVT_TEST_PG_BIN"
		return
	fi
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1
}

# Run a server command, as postgres when we are root.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Run pg_ctl with no descriptors but 0, 1 and 2: the server it starts
# keeps what it inherits, and bats waits for its fd 3 to close.
pg_ctl_run() {
	pg_as python3 -c 'import os, sys
os.closerange(3, 65536)
os.execv(sys.argv[1], sys.argv[1:])' "$(pg_bin)/pg_ctl" "$@"
}

pg_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pg_start() {
	_pg_bin=$(pg_bin)
	if [ -z "$_pg_bin" ] || [ ! -x "$_pg_bin/initdb" ]; then
		echo "pg_start: no PostgreSQL server (install postgresql)" >&2
		return 1
	fi
	_pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/evt-pg.XXXXXX") || return 1
	[ "$(id -u)" -ne 0 ] || chown postgres: "$_pg_dir" || return 1
	_pg_port=$(pg_free_port) || return 1
	if ! pg_as "$_pg_bin/initdb" -D "$_pg_dir/data" -U postgres \
		--auth=trust -E UTF8 --locale=C -N >"$_pg_dir/initdb.log" 2>&1
	then
		cat "$_pg_dir/initdb.log" >&2
		rm -rf "$_pg_dir"
		return 1
	fi
	{
		echo "unix_socket_directories = '$_pg_dir'"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $_pg_port"
		echo "max_connections = 200"
		for _pg_set in "$@"; do
			echo "${_pg_set%%=*} = '${_pg_set#*=}'"
		done
	} >>"$_pg_dir/data/postgresql.conf"
	if ! pg_ctl_run -D "$_pg_dir/data" -l "$_pg_dir/log" -w -t 60 start \
		>/dev/null 2>&1
	then
		cat "$_pg_dir/log" >&2
		rm -rf "$_pg_dir"
		return 1
	fi
	EVT_TEST_PG_DIR=$_pg_dir
	EVT_TEST_PG_PORT=$_pg_port
	EVT_TEST_PG_URL="postgresql://postgres@/postgres?host=$_pg_dir&port=$_pg_port"
	export EVT_TEST_PG_DIR EVT_TEST_PG_PORT EVT_TEST_PG_URL
}

pgb_start() {
	_pgb_dir=$EVT_TEST_PG_DIR/pgbouncer-${1:-transaction}${2:+-$2}
	if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
		echo "pgb_start: no pgbouncer (install pgbouncer)" >&2
		return 1
	fi
	mkdir -p "$_pgb_dir" || return 1
	[ "$(id -u)" -ne 0 ] || chown postgres: "$_pgb_dir" || return 1
	_pgb_port=$(pg_free_port) || return 1
	echo '"postgres" ""' >"$_pgb_dir/userlist.txt"
	cat >"$_pgb_dir/pgbouncer.ini" <<EOF_PGB
[databases]
postgres = host=$EVT_TEST_PG_DIR port=$EVT_TEST_PG_PORT dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $_pgb_port
unix_socket_dir = $_pgb_dir
auth_type = trust
auth_file = $_pgb_dir/userlist.txt
pool_mode = ${1:-transaction}
ignore_startup_parameters = extra_float_digits,options
max_client_conn = 400
default_pool_size = ${2:-4}
logfile = $_pgb_dir/log
pidfile = $_pgb_dir/pid
EOF_PGB
	[ "$(id -u)" -ne 0 ] || chown postgres: "$_pgb_dir"/* || return 1
	if ! pg_as python3 -c 'import os, sys
os.closerange(3, 65536)
os.execv(sys.argv[1], sys.argv[1:])' "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" \
		-d -q "$_pgb_dir/pgbouncer.ini" >/dev/null 2>&1; then
		cat "$_pgb_dir/log" >&2
		return 1
	fi
	_pgb_i=0
	until [ -S "$_pgb_dir/.s.PGSQL.$_pgb_port" ]; do
		_pgb_i=$((_pgb_i + 1))
		if [ $_pgb_i -gt 500 ]; then
			echo "pgb_start: pgbouncer did not start" >&2
			cat "$_pgb_dir/log" >&2
			return 1
		fi
		sleep 0.01
	done
	echo "postgresql://postgres@127.0.0.1:$_pgb_port/postgres"
}

pgb_stop() {
	for _pgb_dir in "${EVT_TEST_PG_DIR:-/nonexistent}"/pgbouncer-${1:-*}; do
		[ -f "$_pgb_dir/pid" ] || continue
		kill "$(cat "$_pgb_dir/pid")" 2>/dev/null
		_pgb_i=0
		while [ -f "$_pgb_dir/pid" ] && [ $_pgb_i -lt 500 ]; do
			_pgb_i=$((_pgb_i + 1))
			sleep 0.01
		done
		rm -rf "$_pgb_dir"
	done
}

pg_stop() {
	[ -n "${EVT_TEST_PG_DIR:-}" ] && [ -d "$EVT_TEST_PG_DIR/data" ] || return 0
	pgb_stop
	pg_as "$(pg_bin)/pg_ctl" -D "$EVT_TEST_PG_DIR/data" -m immediate -w \
		stop >/dev/null 2>&1
	rm -rf "$EVT_TEST_PG_DIR"
	unset EVT_TEST_PG_DIR EVT_TEST_PG_PORT EVT_TEST_PG_URL
}

pg_restart() {
	pg_ctl_run -D "$EVT_TEST_PG_DIR/data" -l "$EVT_TEST_PG_DIR/log" \
		-m fast -w -t 60 restart >/dev/null
}

pg_psql() {
	"$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$EVT_TEST_PG_DIR" \
		-p "$EVT_TEST_PG_PORT" -U postgres -d postgres "$@"
}

# tests/my.bash - a throwaway MariaDB server for the tests and benchmarks
#
# Source it (from sh, bash or bats), then:
#   my_start [SETTING=VALUE ...]  mariadb-install-db into a new temporary
#                                 directory and start mariadbd there,
#                                 listening on a unix socket in it and on
#                                 127.0.0.1 on a free port; extra server
#                                 settings as NAME=VALUE (e.g.
#                                 innodb_buffer_pool_size=256M); exports
#                                 EVT_TEST_MY_DIR, EVT_TEST_MY_PORT,
#                                 EVT_TEST_MY_SOCKET and EVT_TEST_MY_URL
#   my_stop                       stop it and remove the directory
#   my_restart                    stop the server (a clean shutdown) and
#                                 start it again on the same port and socket
#   my_kill                       SIGKILL the server (my_start_again starts
#                                 it again after a crash recovery)
#   my_sql [MARIADB ARGS]         the mariadb client as root on the socket
#   my_url DB [socket]            the URL of database DB: over TCP, or with
#                                 'socket' over the unix socket
#
# EVT_TEST_MY_URL is mysql://evt:PASSWORD@127.0.0.1:PORT/evt: the user evt
# may do anything (it creates and drops databases); the database evt
# exists and is empty.  Settings for speed, not for durability: the tests
# do not crash the machine (no binary log, no doublewrite, the redo log
# written at each commit but flushed once a second).  When run as root the
# server runs as the mysql user (mariadbd --user=mysql).  EVT_TEST_MY_BIN
# names the directory of mariadbd (default: found on PATH, /usr/sbin).

EVT_TEST_MY_PASSWORD=evt-secret

my_sbin() {
	if [ -n "${EVT_TEST_MY_BIN:-}" ]; then
		printf '%s\n' "$EVT_TEST_MY_BIN"
	elif [ -x /usr/sbin/mariadbd ]; then
		echo /usr/sbin
	else
		_my_d=$(command -v mariadbd 2>/dev/null) || return 1
		dirname "$_my_d"
	fi
}

my_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Start the server with the settings saved by my_start, detached (a new
# session, reparented away from this shell, with no descriptors but 0, 1
# and 2: bats waits for its fd 3 to close); its pid goes to the file pid.
_my_server() {
	# shellcheck disable=SC2046 # one setting a line, no spaces
	python3 -c 'import os, sys
os.closerange(3, 65536)
if os.fork() > 0:
    os._exit(0)
os.setsid()
pid = os.fork()
if pid > 0:
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % pid)
    os._exit(0)
os.execv(sys.argv[2], sys.argv[2:])' "$EVT_TEST_MY_DIR/pid.new" \
		"$(my_sbin)/mariadbd" --no-defaults $(cat "$EVT_TEST_MY_DIR/settings") \
		</dev/null >>"$EVT_TEST_MY_DIR/log" 2>&1 &&
	_my_n=0
	while [ ! -s "$EVT_TEST_MY_DIR/pid.new" ] && [ "$_my_n" -lt 100 ]; do
		_my_n=$((_my_n + 1))
		sleep 0.05
	done
	mv "$EVT_TEST_MY_DIR/pid.new" "$EVT_TEST_MY_DIR/pid"
}

# Whether process $1 runs (a zombie does not).
_my_alive() {
	kill -0 "$1" 2>/dev/null &&
	[ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Wait up to 60 s for the server to answer; fail (showing its log) when it
# ended or never answered.
_my_wait() {
	_my_n=0
	while ! mariadb-admin --no-defaults -S "$EVT_TEST_MY_SOCKET" -u root \
		--connect-timeout=2 ping >/dev/null 2>&1
	do
		if ! _my_alive "$(cat "$EVT_TEST_MY_DIR/pid")" ||
		   [ "$_my_n" -ge 600 ]; then
			tail -n 30 "$EVT_TEST_MY_DIR/log" >&2
			return 1
		fi
		_my_n=$((_my_n + 1))
		sleep 0.1
	done
}

my_start() {
	_my_sbin=$(my_sbin)
	if [ -z "$_my_sbin" ] || [ ! -x "$_my_sbin/mariadbd" ] ||
	   ! command -v mariadb-install-db >/dev/null; then
		echo "my_start: no MariaDB server (install mariadb-server)" >&2
		return 1
	fi
	_my_dir=$(mktemp -d "${TMPDIR:-/tmp}/evt-my.XXXXXX") || return 1
	_my_user=
	if [ "$(id -u)" -eq 0 ]; then
		_my_user=--user=mysql
		chown mysql: "$_my_dir" || return 1
	fi
	_my_port=$(my_free_port) || return 1
	if ! mariadb-install-db --no-defaults $_my_user \
		--datadir="$_my_dir/data" --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve \
		>"$_my_dir/install.log" 2>&1
	then
		cat "$_my_dir/install.log" >&2
		rm -rf "$_my_dir"
		return 1
	fi
	{
		[ -z "$_my_user" ] || echo "$_my_user"
		echo "--datadir=$_my_dir/data"
		echo "--socket=$_my_dir/sock"
		echo "--pid-file=$_my_dir/mariadbd.pid"
		echo "--port=$_my_port"
		echo "--bind-address=127.0.0.1"
		echo "--skip-name-resolve"
		echo "--skip-log-bin"
		echo "--character-set-server=utf8mb4"
		echo "--collation-server=utf8mb4_general_ci"
		echo "--max-connections=200"
		# a 16 MiB event in one statement (the default is 16M)
		echo "--max-allowed-packet=64M"
		echo "--performance-schema=OFF"
		echo "--innodb-buffer-pool-size=32M"
		echo "--innodb-log-file-size=64M"
		echo "--innodb-flush-log-at-trx-commit=0"
		echo "--innodb-doublewrite=0"
		echo "--sync-binlog=0"
		for _my_set in "$@"; do
			echo "--$_my_set"
		done
	} >"$_my_dir/settings"
	EVT_TEST_MY_DIR=$_my_dir
	EVT_TEST_MY_PORT=$_my_port
	EVT_TEST_MY_SOCKET=$_my_dir/sock
	export EVT_TEST_MY_DIR EVT_TEST_MY_PORT EVT_TEST_MY_SOCKET
	_my_server
	if ! _my_wait || ! my_sql -e "
		CREATE USER 'evt'@'127.0.0.1' IDENTIFIED BY '$EVT_TEST_MY_PASSWORD';
		CREATE USER 'evt'@'localhost' IDENTIFIED BY '$EVT_TEST_MY_PASSWORD';
		GRANT ALL ON *.* TO 'evt'@'127.0.0.1' WITH GRANT OPTION;
		GRANT ALL ON *.* TO 'evt'@'localhost' WITH GRANT OPTION;
		CREATE DATABASE evt;"
	then
		my_stop
		return 1
	fi
	EVT_TEST_MY_URL=$(my_url evt)
	export EVT_TEST_MY_URL
}

# The URL of database $1 on the server; $2 = socket: over the unix socket.
my_url() {
	if [ "${2:-}" = socket ]; then
		printf 'mysql://evt:%s@localhost/%s?socket=%s\n' \
			"$EVT_TEST_MY_PASSWORD" "$1" "$EVT_TEST_MY_SOCKET"
	else
		printf 'mysql://evt:%s@127.0.0.1:%s/%s\n' \
			"$EVT_TEST_MY_PASSWORD" "$EVT_TEST_MY_PORT" "$1"
	fi
}

# SIGKILL the server and wait for it to be gone.
my_kill() {
	_my_pid=$(cat "$EVT_TEST_MY_DIR/pid" 2>/dev/null) || return 0
	kill -KILL "$_my_pid" 2>/dev/null
	while _my_alive "$_my_pid"; do sleep 0.05; done
	rm -f "$EVT_TEST_MY_DIR/pid"
}

# Start the server again after my_kill (or after my_restart's shutdown).
my_start_again() {
	_my_server
	_my_wait
}

my_restart() {
	_my_pid=$(cat "$EVT_TEST_MY_DIR/pid") || return 1
	kill -TERM "$_my_pid"
	_my_n=0
	while _my_alive "$_my_pid"; do
		[ "$_my_n" -lt 600 ] || kill -KILL "$_my_pid" 2>/dev/null
		_my_n=$((_my_n + 1))
		sleep 0.1
	done
	my_start_again
}

my_stop() {
	[ -n "${EVT_TEST_MY_DIR:-}" ] && [ -d "$EVT_TEST_MY_DIR" ] || return 0
	# the data are thrown away: no clean shutdown
	my_kill
	rm -rf "$EVT_TEST_MY_DIR"
	unset EVT_TEST_MY_DIR EVT_TEST_MY_PORT EVT_TEST_MY_SOCKET EVT_TEST_MY_URL
}

my_sql() {
	mariadb --no-defaults -S "$EVT_TEST_MY_SOCKET" -u root "$@"
}

#!/bin/sh
# Install what evt needs on Debian, or say what to install.
# Usage: tools/deps.sh build|demo|check|bench|fuzz
# (check with VALGRIND set in the environment also needs valgrind)
# As root, missing packages are installed with apt-get; otherwise the one
# apt-get line that would install them is printed and the exit status is 1.
set -u
what=${1:-${DEPS_FOR:-build}}

# check: a file or command that tells the package is there; then the package
need_build='
/usr/bin/cc:gcc
/usr/bin/make:make
/usr/bin/pkg-config:pkg-config
/usr/include/sqlite3.h:libsqlite3-dev
/usr/include/jq.h:libjq-dev
/usr/include/postgresql/libpq-fe.h:libpq-dev
/usr/include/mariadb/mysql.h:libmariadb-dev
'
need_check='
/usr/bin/bats:bats
/usr/bin/sqlite3:sqlite3
/usr/bin/timeout:coreutils
/usr/bin/node:nodejs
/usr/bin/npm:npm
/usr/lib/postgresql:postgresql
/usr/sbin/pgbouncer:pgbouncer
/usr/sbin/mariadbd:mariadb-server
/usr/bin/mariadb-admin:mariadb-client
/usr/bin/python3:python3
/usr/bin/zsh:zsh
/usr/bin/fish:fish
'
need_bench='
/usr/bin/time:time
/usr/bin/node:nodejs
/usr/bin/npm:npm
/usr/lib/postgresql:postgresql
/usr/sbin/pgbouncer:pgbouncer
/usr/sbin/mariadbd:mariadb-server
/usr/bin/mariadb-admin:mariadb-client
/usr/bin/python3:python3
'
need_fuzz='
/usr/bin/clang:clang
/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a:libclang-rt-dev
'
list=$need_build
case $what in
check) list="$list$need_check"
	[ -z "${VALGRIND:-}" ] || list="$list /usr/bin/valgrind:valgrind" ;;
bench) list="$list$need_bench" ;;
fuzz) list="$list$need_fuzz" ;;
build|demo) ;;
*) echo "tools/deps.sh: unknown target '$what'" >&2; exit 2 ;;
esac

missing=
for pair in $list; do
	file=${pair%%:*}
	pkg=${pair#*:}
	# (a pattern: any file it matches)
	for f in $file; do [ -e "$f" ] && continue 2; done
	case " $missing " in *" $pkg "*) continue ;; esac
	missing="$missing $pkg"
done
missing=${missing# }

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "evt: missing packages; install them with:" >&2
		echo "  sudo apt-get install -y $missing" >&2
		exit 1
	fi
	echo "evt: installing $missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
	apt-get install -y -qq $missing >/dev/null || exit 1
fi

# The pinned evtstore install for the compatibility tests and benchmarks.
case $what in
check|bench)
	dir=$(dirname "$0")/../tests/interop
	# (again when a package the lockfile pins is missing: mysql2 came later)
	if [ -f "$dir/package-lock.json" ] &&
	   ! (cd "$dir" && node -e 'const fs = require("fs")
for (const p of Object.keys(require("./package.json").dependencies))
  if (!fs.existsSync("node_modules/" + p + "/package.json")) process.exit(1)'
	   ) 2>/dev/null; then
		echo "evt: installing the pinned evtstore (npm ci)" >&2
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) ||
			exit 1
	fi
	;;
esac
exit 0

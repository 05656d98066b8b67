/*
 * my_start - what a one-event evt-append on MariaDB/MySQL pays besides its
 * own work, for `make bench` (bench/my.sh), timed by bench/spawn.c.
 *
 *   my_start load            load libmariadb with dlopen, as evt does, and
 *                            exit
 *   my_start connect URL     the same, then connect (reading the option
 *                            files' [client] and [evt] groups, utf8mb4, as
 *                            evt does) and disconnect
 *   my_start exec URL SQL    the same, with one statement SQL on the
 *                            connection (autocommit: an INSERT is its own
 *                            transaction, committed as the server commits)
 *                            before it is closed
 *
 * URL is mysql://USER:PASSWORD@HOST:PORT/DB or mariadb://..., with
 * ?socket=PATH for a unix socket; each part may be left out, and %XX
 * escapes are decoded.  Subtracting /bin/true, then "load", then "connect"
 * gives the cost of loading libmariadb, of a connection's start-up and
 * of one statement.  "exec" with an INSERT of one event row is the floor
 * a one-event append is set against.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef MYSQL *(*init_fn)(MYSQL *);
typedef int (*options_fn)(MYSQL *, enum mysql_option, const void *);
typedef MYSQL *(*connect_fn)(MYSQL *, const char *, const char *,
			     const char *, const char *, unsigned int,
			     const char *, unsigned long);
typedef int (*query_fn)(MYSQL *, const char *);
typedef const char *(*error_fn)(MYSQL *);
typedef void (*close_fn)(MYSQL *);

/* Decode the %XX escapes of s in place. */
static char *unescape(char *s)
{
	char *r = s, *w = s;

	for (; *r; r++) {
		if (*r == '%' && r[1] && r[2]) {
			char h[3] = { r[1], r[2], 0 }, *end;
			long v = strtol(h, &end, 16);

			if (*end == '\0') {
				*w++ = (char)v;
				r += 2;
				continue;
			}
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

struct url {
	char *user, *pass, *host, *db, *sock;
	unsigned port;
};

/* Split mysql://USER:PASSWORD@HOST:PORT/DB?socket=PATH (in place). */
static int parse(char *s, struct url *u)
{
	char *p, *at, *slash, *q, *colon;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "mysql://", 8) == 0)
		p = s + 8;
	else if (strncmp(s, "mariadb://", 10) == 0)
		p = s + 10;
	else
		return -1;
	if ((q = strchr(p, '?'))) {
		*q++ = '\0';
		if (strncmp(q, "socket=", 7) != 0)
			return -1;
		u->sock = unescape(q + 7);
	}
	if ((slash = strchr(p, '/'))) {
		*slash = '\0';
		if (slash[1])
			u->db = unescape(slash + 1);
	}
	if ((at = strrchr(p, '@'))) {
		*at = '\0';
		if ((colon = strchr(p, ':'))) {
			*colon = '\0';
			u->pass = unescape(colon + 1);
		}
		if (*p)
			u->user = unescape(p);
		p = at + 1;
	}
	if ((colon = strrchr(p, ':'))) {
		*colon = '\0';
		u->port = (unsigned)strtoul(colon + 1, NULL, 10);
	}
	if (*p)
		u->host = unescape(p);
	return 0;
}

int main(int argc, char **argv)
{
	void *lib;
	MYSQL *m;
	init_fn my_init;
	options_fn my_options;
	connect_fn my_connect;
	query_fn my_query;
	error_fn my_error;
	close_fn my_close;
	struct url u;
	const char *sql = NULL;
	int ok;

	if (argc == 4 && strcmp(argv[1], "exec") == 0)
		sql = argv[3];
	else if (argc < 2 || (strcmp(argv[1], "load") != 0 &&
			      (strcmp(argv[1], "connect") != 0 || argc != 3))) {
		fprintf(stderr, "usage: my_start load | my_start connect URL | "
			"my_start exec URL SQL\n");
		return 2;
	}
	if (!(lib = dlopen("libmariadb.so.3", RTLD_LAZY | RTLD_LOCAL))) {
		fprintf(stderr, "my_start: %s\n", dlerror());
		return 1;
	}
	if (strcmp(argv[1], "load") == 0)
		return 0;
	if (parse(argv[2], &u) != 0) {
		fprintf(stderr, "my_start: not a mysql:// URL\n");
		return 2;
	}
	*(void **)&my_init = dlsym(lib, "mysql_init");
	*(void **)&my_options = dlsym(lib, "mysql_options");
	*(void **)&my_connect = dlsym(lib, "mysql_real_connect");
	*(void **)&my_query = dlsym(lib, "mysql_query");
	*(void **)&my_error = dlsym(lib, "mysql_error");
	*(void **)&my_close = dlsym(lib, "mysql_close");
	if (!my_init || !my_options || !my_connect || !my_query ||
	    !my_error || !my_close) {
		fprintf(stderr, "my_start: libmariadb lacks mysql_init\n");
		return 1;
	}
	if (!(m = my_init(NULL))) {
		fprintf(stderr, "my_start: out of memory\n");
		return 1;
	}
	my_options(m, MYSQL_READ_DEFAULT_GROUP, "evt");
	my_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	ok = my_connect(m, u.host, u.user, u.pass, u.db, u.port, u.sock, 0) &&
	     (!sql || my_query(m, sql) == 0);
	if (!ok)
		fprintf(stderr, "my_start: %s\n", my_error(m));
	my_close(m);
	return !ok;
}

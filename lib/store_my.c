/* store_my.c - the MariaDB/MySQL backend (evtstore's knex schema)
 *
 * libmariadb is loaded with dlopen when the first mysql:// or mariadb://
 * store is opened, so that no other run pays for loading it; each mysql_*
 * function used is resolved into the table my_api.  <mysql.h> is included
 * for its types only.
 *
 * Every value goes to the server bound to a prepared statement (the
 * binary protocol), never pasted into SQL; statements are prepared once
 * per connection and kept.
 *
 * Order: an evt writer takes the append lock of its events table (a named
 * lock, GET_LOCK) before START TRANSACTION, and releases it only after its
 * COMMIT or ROLLBACK has returned.  A named lock belongs to the session,
 * not to the transaction: so it is held over the whole transaction, and a
 * writer whose connection or process dies loses it with the session, whose
 * transaction the server rolls back.  The next writer therefore looks up
 * versions and draws positions (AUTO_INCREMENT, at INSERT) only after the
 * previous one committed: evt writers get positions in commit order, and
 * no table of ours is needed for it.  The cost: the evt writers of one
 * events table commit one at a time, and an append takes two more round
 * trips (the lock and its release).
 *
 * Inserts go in batches: one multi-row INSERT of up to 4096 rows, its
 * positions the first one the server reports and the next ones (InnoDB
 * gives the rows of one INSERT ... VALUES consecutive values).  Reads are
 * one prepared SELECT whose rows are fetched one at a time as they arrive
 * (no cursor, no buffering): memory stays flat.
 *
 * Wake-up: MariaDB has no LISTEN/NOTIFY.  A follower polls the greatest
 * position (an index lookup the optimizer answers without reading rows)
 * every POLL_MS milliseconds and reads when it grew; once it stayed the
 * same for IDLE_MS, every IDLE_POLL_MS (each look costs the server about
 * as much CPU as the follower: at 5 ms, a little over 1% of a core each).
 *
 * A store that has waited (a follower) reconnects with backoff when the
 * connection is lost, takes its handler locks again and resumes its read;
 * anything else fails with exit 1, and an unfinished transaction is never
 * committed.
 *
 * Ownership: statements (MYSQL_STMT) belong to the struct my and live as
 * long as its connection; a result is freed by the function that ran the
 * statement.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>

#include "dl.h"
#include "store_impl.h"

/* The libmariadb functions used, resolved with dlsym. */
#define MY_FUNCS(X) \
	X(mysql_init) X(mysql_options) X(mysql_real_connect) X(mysql_close) \
	X(mysql_error) X(mysql_errno) X(mysql_real_query) \
	X(mysql_store_result) X(mysql_free_result) X(mysql_fetch_row) \
	X(mysql_fetch_lengths) X(mysql_num_rows) X(mysql_stmt_init) X(mysql_stmt_prepare) \
	X(mysql_stmt_bind_param) X(mysql_stmt_bind_result) \
	X(mysql_stmt_execute) X(mysql_stmt_fetch) X(mysql_stmt_fetch_column) \
	X(mysql_stmt_close) X(mysql_stmt_error) X(mysql_stmt_errno) \
	X(mysql_stmt_insert_id) X(mysql_stmt_free_result) \
	X(mysql_stmt_affected_rows) X(mysql_stmt_param_count) \
	X(mysql_thread_id) X(mysql_get_socket) X(mysql_next_result) \
	X(mariadb_stmt_execute_direct) X(mysql_stmt_attr_set)

static struct my_api {
	MY_FUNCS(EVT_DL_MEMBER)
} my;

static void *my_lib;	/* loaded once per process, never unloaded */

/* Statements prepared once per connection. */
#define QUERIES(X) \
	X(VERSION) X(BM_GET) X(BM_SET) X(BM_ALL) X(SNAP_GET) X(SNAP_PUT) \
	X(PARK) X(PARKED) X(PARKED_LIST) X(UNPARK) X(BM_DEL) X(KEY_GET) \
	X(KEY_PUT) X(HND_GET) X(HND_START) X(HND_END) X(HND_DEL) X(HND_ALL) \
	X(TRYLOCK) X(UNLOCK) X(HELD) X(RANGE) X(GAP) X(MAX) X(TABLES) \
	X(INSERT) X(READ)
#define X(q) Q_##q,
enum { QUERIES(X) Q_N };
#undef X

/* Results here besides 0, EVT_STOP and the exit codes (EVT_E*). */
enum {
	INTERRUPTED = EVT_INTERRUPTED,	/* a reconnect stopped by SIGINT/SIGTERM */
	LOST = EVT_LOST,		/* the connection was lost; e says how */
	MISSING = -5,		/* a table is missing (no message) */
};

#define POLL_MS 5		/* the follower's look at the greatest position */
#define IDLE_POLL_MS 15		/* the same once nothing changed for IDLE_MS */
#define IDLE_MS 1000
#define HOLD_POLL_MS 20		/* held at a gap: look again this often */
#define BATCH_MAX 4096		/* rows of one INSERT */
#define WINDOW 4096		/* a follower's start: the gaps looked at */
#define GRACE_MS 20		/* from the greatest position to the list of
				   transactions (see horizon()) */

/* A transaction that may still commit a position (see horizon()). */
struct trx {
	unsigned long long thread, id;
	long long started;
};

struct my {
	MYSQL *conn;
	char *shown;		/* the URL for messages, password hidden */
	char *host, *user, *pass, *db, *sock;
	unsigned port;
	char *ev, *bm, *snap, *parked, *keys, *hnd;	/* `quoted` */
	char *ev_name, *bm_name, *keys_name;	/* bare */
	MYSQL_STMT *stmt[Q_N];
	char *read_sql;		/* the text Q_READ was prepared from */
	size_t ins_rows;	/* rows of the prepared Q_INSERT */
	MYSQL_BIND *ins_bind;
	MYSQL_TIME *ins_time;
	size_t ins_cap;
	int known;		/* the tables below were looked up */
	int have_ev, have_bm, have_keys;
	int appending;		/* holds the append lock */
	unsigned long long ev_max;	/* bytes the event column holds */
	int ts_prec;		/* digits of a second the timestamp keeps */
	int in_tx;
	int follower;		/* has waited: reconnect when lost */
	int64_t settled;	/* every position <= settled is final */
	struct trx *pend;	/* the transactions that may still commit a
				   position <= pend_upto */
	size_t npend;
	int has_pend;
	int64_t pend_upto;
	int held;		/* the last gap-safe read stopped at a gap */
	int64_t seen;		/* the greatest position the poll saw */
	int64_t seen_at;	/* when it last changed (evt_mono_ms) */
	int polled;
	int patient;		/* net_write_timeout raised on this session */
	char **locks;		/* handler locks held */
	size_t nlocks;
	struct evt_buf tmp;
	struct evt_buf rs, ri, rev;	/* a read's stream, id and event */
};

#define MY(st) ((struct my *)(st)->impl)

/* --- loading libmariadb ---------------------------------------------- */

static const char *my_load(char *why, size_t n)
{
#define X(f) EVT_DL_FN(my_api, f)
	static const struct evt_dl_fn fns[] = { MY_FUNCS(X) };
#undef X
	const char *lib = getenv("EVT_LIBMARIADB"), *missing, *err;

	if (my_lib)
		return NULL;
	if (!lib || !*lib)
		lib = "libmariadb.so.3";
	if ((my_lib = evt_dl_bind(lib, fns, sizeof(fns) / sizeof(fns[0]), &my,
				  &missing, &err)))
		return NULL;
	if (missing)
		snprintf(why, n, "%s has no %s (libmariadb 3 is needed)", lib,
			 missing);
	else if (!err || strstr(err, "No such file"))
		snprintf(why, n, "%s not found (install libmariadb3)", lib);
	else
		snprintf(why, n, "%s", err);
	return why;
}

/* --- names, URLs, messages ------------------------------------------------ */

/* name + suffix as one identifier of at most 63 bytes: a name too long
 * for that is shortened and made unique with a hash of it. */
static char *derived(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	char *out = evt_xmalloc(n + s + 1);

	if (n + s <= 63) {
		memcpy(out, name, n);
		memcpy(out + n, suffix, s + 1);
	} else {
		size_t keep = 63 - s - 9;

		memcpy(out, name, keep);
		snprintf(out + keep, n + s + 1 - keep, "_%08x%s",
			 (unsigned)(evt_fnv(EVT_FNV0, name, n) & 0xffffffffu),
			 suffix);
	}
	return out;
}

static char *quoted(const char *name)
{
	struct evt_buf b = EVT_BUF_INIT;

	evt_buf_addf(&b, "`%s`", name);
	return b.p;
}

/* The URL with its password, if any, replaced by "***". */
static char *hide_password(const char *url)
{
	struct evt_buf b = EVT_BUF_INIT;
	const char *p = strstr(url, "://"), *end, *at, *colon;

	if (!p) {
		evt_buf_addstr(&b, url);
		return b.p;
	}
	p += 3;
	end = p + strcspn(p, "/?");
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	colon = at > p ? memchr(p, ':', (size_t)(at - 1 - p)) : NULL;
	if (colon) {
		evt_buf_add(&b, url, (size_t)(colon + 1 - url));
		evt_buf_addstr(&b, "***");
		p = at - 1;
	} else {
		evt_buf_add(&b, url, (size_t)(p - url));
	}
	evt_buf_addstr(&b, p);
	return b.p;
}

/* s[0..n) with %XX decoded; NULL when empty (the default applies) or, with
 * *bad set, when a % is not followed by two hex digits or decodes to NUL. */
static char *pct(const char *s, size_t n, int *bad)
{
	char *out, *o;
	size_t i;

	if (!n)
		return NULL;
	o = out = evt_xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n ||
			    (h = evt_hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = evt_hexval((unsigned char)s[i + 2])) < 0 ||
			    (h == 0 && l == 0)) {
				*bad = 1;
				break;
			}
			*o++ = (char)(h << 4 | l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	if (*bad) {
		free(out);
		return NULL;
	}
	return out;
}

/* mysql://USER:PASSWORD@HOST:PORT/DB?socket=PATH (each part optional, as
 * libmariadb's defaults, option files and MYSQL_* variables fill in). */
static int parse_url(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	const char *p = strstr(st->url, "://") + 3, *end, *at, *colon, *q;
	const char *hend;
	int bad = 0;

	end = p + strcspn(p, "/?");
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	if (at > p) {		/* user info */
		colon = memchr(p, ':', (size_t)(at - 1 - p));
		if (colon) {
			m->user = pct(p, (size_t)(colon - p), &bad);
			m->pass = pct(colon + 1, (size_t)(at - 2 - colon), &bad);
			if (!m->pass && !bad)
				m->pass = evt_xstrdup("");
		} else {
			m->user = pct(p, (size_t)(at - 1 - p), &bad);
		}
		p = at;
	}
	/* host, [v6], :port */
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (!hend)
			goto bad_url;
		m->host = evt_xstrndup(p + 1, (size_t)(hend - p - 1));
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (!hend)
			hend = end;
		m->host = pct(p, (size_t)(hend - p), &bad);
	}
	if (hend < end) {
		int64_t port;
		char num[8];

		if (*hend != ':' || end - hend - 1 < 1 || end - hend - 1 > 5)
			goto bad_url;
		snprintf(num, sizeof(num), "%.*s", (int)(end - hend - 1),
			 hend + 1);
		if (evt_parse_i64(num, 1, 65535, &port) < 0)
			goto bad_url;
		m->port = (unsigned)port;
	}
	p = end;
	if (*p == '/') {
		q = p + 1 + strcspn(p + 1, "?");
		m->db = pct(p + 1, (size_t)(q - p - 1), &bad);
		p = q;
	}
	if (*p == '?') {
		for (p++; *p; p += *p == '&') {
			size_t n = strcspn(p, "&");

			if (n > 7 && strncmp(p, "socket=", 7) == 0) {
				free(m->sock);
				m->sock = pct(p + 7, n - 7, &bad);
			} else {
				return evt_errf(e, EVT_EUSAGE, "unsupported "
						"parameter '%.*s' in store URL "
						"'%s' (only socket=PATH)",
						(int)strcspn(p, "=&"), p,
						m->shown);
			}
			p += n;
		}
	}
	if (bad)
		goto bad_url;
	return 0;
bad_url:
	return evt_errf(e, EVT_EUSAGE, "invalid store URL '%s' (expected "
			"mysql://USER:PASSWORD@HOST:PORT/DB?socket=PATH)",
			m->shown);
}

/* The first line of a message, without its final period. */
static void first_line(const char *msg, char *out, size_t n)
{
	size_t len = strcspn(msg ? msg : "", "\n");

	if (!msg || !len) {
		snprintf(out, n, "unknown error");
		return;
	}
	while (len && (msg[len - 1] == '.' || msg[len - 1] == ' ' ||
		       msg[len - 1] == '\r'))
		len--;
	snprintf(out, n, "%.*s", (int)len, msg);
}

#define ER_DUP_ENTRY 1062
#define ER_NO_SUCH_TABLE 1146
#define ER_BAD_DB_ERROR 1049
#define ER_DATA_TOO_LONG 1406
#define ER_SERVER_SHUTDOWN 1053
#define ER_CONNECTION_KILLED 1927
#define ER_QUERY_INTERRUPTED 1317

static int lost_code(unsigned n)
{
	return (n >= 2000 && n < 2100) || n == ER_SERVER_SHUTDOWN ||
	       n == ER_CONNECTION_KILLED || n == 1152 || n == 1184;
}

/* The message of a failed statement as "cannot WHAT 'URL': ...", with
 * its exit code (LOST when the connection went). */
static int fail_msg(struct evt_store *st, unsigned n, const char *msg,
		    const char *what, struct evt_err *e)
{
	struct my *m = MY(st);
	char line[600];
	int code = n == ER_DUP_ENTRY ? EVT_ECONFLICT :
		   n == ER_DATA_TOO_LONG ? EVT_EINPUT : EVT_EFAIL;

	first_line(msg, line, sizeof(line));
	evt_errf(e, code, "cannot %s '%s': %s", what, m->shown, line);
	return lost_code(n) ? LOST : code;
}

static int fail_conn(struct evt_store *st, const char *what,
		     struct evt_err *e)
{
	struct my *m = MY(st);

	if (!m->conn)
		return fail_msg(st, 2006, "the connection was lost", what, e);
	return fail_msg(st, my.mysql_errno(m->conn), my.mysql_error(m->conn),
			what, e);
}

static int fail_stmt(struct evt_store *st, MYSQL_STMT *s, const char *what,
		     struct evt_err *e)
{
	return fail_msg(st, my.mysql_stmt_errno(s), my.mysql_stmt_error(s),
			what, e);
}

/* LOST and INTERRUPTED are internal codes (with a message in e): callers
 * outside get EVT_EFAIL. */
static int outward(int rc)
{
	return rc == LOST || rc == INTERRUPTED || rc == MISSING ? EVT_EFAIL :
								 rc;
}

/* --- connecting -------------------------------------------------------------- */

static void drop_statements(struct my *m)
{
	int q;

	for (q = 0; q < Q_N; q++)
		if (m->stmt[q]) {
			my.mysql_stmt_close(m->stmt[q]);
			m->stmt[q] = NULL;
		}
	free(m->read_sql);
	m->read_sql = NULL;
	m->ins_rows = 0;
}

static void disconnect(struct my *m)
{
	drop_statements(m);
	if (m->conn)
		my.mysql_close(m->conn);
	m->conn = NULL;
	m->in_tx = 0;
}

/* Statements of no values, separated by ';' and sent at once (one round
 * trip); the first field of the first row they give into first (n bytes,
 * "" for none), when first is not NULL.  Every result is read; the server
 * stops at the first statement that fails. */
static int exec_first(struct evt_store *st, const char *sql, const char *what,
		      char *first, size_t n, struct evt_err *e)
{
	struct my *m = MY(st);
	MYSQL_RES *res;
	MYSQL_ROW r;
	int more;

	if (first)
		first[0] = '\0';
	if (my.mysql_real_query(m->conn, sql, strlen(sql)))
		return fail_conn(st, what, e);
	for (;;) {
		if ((res = my.mysql_store_result(m->conn))) {
			if (first && (r = my.mysql_fetch_row(res)) && r[0])
				snprintf(first, n, "%s", r[0]);
			first = NULL;
			my.mysql_free_result(res);
		} else if (my.mysql_errno(m->conn)) {
			return fail_conn(st, what, e);
		}
		if ((more = my.mysql_next_result(m->conn)) < 0)
			return 0;
		if (more > 0)
			return fail_conn(st, what, e);
	}
}

/* Statements of no values and no result rows worth keeping. */
static int exec_sql(struct evt_store *st, const char *sql, const char *what,
		    struct evt_err *e)
{
	return exec_first(st, sql, what, NULL, 0, e);
}

static int connect_once(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	unsigned long packet = 1UL << 30;
	unsigned timeout = 10;
	char line[600];
	int fd;

	if (!(m->conn = my.mysql_init(NULL)))
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': out of memory",
				m->shown);
	my.mysql_options(m->conn, MYSQL_READ_DEFAULT_GROUP, "evt");
	my.mysql_options(m->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	my.mysql_options(m->conn, MYSQL_OPT_MAX_ALLOWED_PACKET, &packet);
	my.mysql_options(m->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (!my.mysql_real_connect(m->conn, m->host, m->user, m->pass, m->db,
				   m->port, m->sock, CLIENT_FOUND_ROWS |
				   CLIENT_MULTI_STATEMENTS)) {
		first_line(my.mysql_error(m->conn), line, sizeof(line));
		my.mysql_close(m->conn);
		m->conn = NULL;
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", m->shown,
				line);
	}
	/* not inherited by the programs evt-handle and evt-command run
	 * (O_CLOEXEC on every descriptor) */
	if ((fd = (int)my.mysql_get_socket(m->conn)) >= 0)
		fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	m->in_tx = 0;
	m->polled = 0;
	m->patient = 0;
	if (st->busy_timeout >= 0) {
		char sql[96];

		/* whole seconds, at least 1: what InnoDB takes */
		snprintf(sql, sizeof(sql), "SET SESSION innodb_lock_wait_timeout "
			 "= %lld", (long long)(st->busy_timeout + 999) / 1000 ?
			 (long long)(st->busy_timeout + 999) / 1000 : 1);
		return outward(exec_sql(st, sql, "open", e));
	}
	return 0;
}

static int relock(struct evt_store *st, struct evt_err *e);

/* Connect again after a lost connection: with backoff (50 ms doubling to
 * 1 s) for up to a minute.  INTERRUPTED when a signal stops it. */
static int reconnect(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	int64_t give_up = evt_mono_ms() + 60000;
	int delay = 50, rc;

	disconnect(m);
	for (;;) {
		if ((rc = connect_once(st, e)) == 0)
			break;
		disconnect(m);
		if (evt_mono_ms() + delay > give_up)
			return rc;
		if (evt_nap(delay)) {
			evt_errf(e, EVT_EFAIL, "cannot use '%s': interrupted "
				 "while reconnecting", m->shown);
			return INTERRUPTED;
		}
		delay = delay < 500 ? delay * 2 : 1000;
	}
	return relock(st, e);
}

/* Before a statement: a follower whose connection is gone gets a new one. */
static int ready(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);

	if (m->conn)
		return 0;
	if (!m->follower || m->in_tx)
		return evt_errf(e, EVT_EFAIL, "cannot use '%s': the connection "
				"was lost", m->shown);
	return reconnect(st, e);
}

/* --- statements -------------------------------------------------------------- */

/* The statements: their SQL, where %s is the name of the table given
 * (none for T_NONE).  qsql makes Q_GAP, whose SQL is not one of these. */
enum { T_NONE, T_EV, T_BM, T_SNAP, T_PARKED, T_KEYS, T_HND };

/* Handler locks: GET_LOCK names are of the whole server, at most 64
 * characters: a hash of the database, bookmarks table and NAME. */
#define LOCK_NAME "CONCAT('evt-h-', SHA1(CONCAT_WS(CHAR(0), DATABASE(), ?, ?)))"

static const struct {
	int table;
	const char *sql;
} my_sql[Q_N] = {
	[Q_VERSION] = { T_EV,
		"SELECT MAX(`version`) FROM %s WHERE `stream` = ? AND "
		"`aggregate_id` = ?" },
	[Q_BM_GET] = { T_BM,
		"SELECT `position` FROM %s WHERE `bookmark` = ?" },
	[Q_BM_SET] = { T_BM,
		"INSERT INTO %s (`bookmark`, `position`) VALUES (?, ?) ON "
		"DUPLICATE KEY UPDATE `position` = VALUES(`position`)" },
	[Q_BM_ALL] = { T_BM,
		"SELECT `bookmark`, `position` FROM %s ORDER BY "
		"CAST(`bookmark` AS BINARY)" },
	[Q_SNAP_GET] = { T_SNAP,
		"SELECT `key`, `version`, `position`, `state` FROM %s WHERE "
		"`stream` = ? AND `aggregate_id` = ?" },
	[Q_SNAP_PUT] = { T_SNAP,
		"INSERT INTO %s (`stream`, `aggregate_id`, `key`, `version`, "
		"`position`, `state`) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE "
		"KEY UPDATE `key` = VALUES(`key`), `version` = "
		"VALUES(`version`), `position` = VALUES(`position`), `state` "
		"= VALUES(`state`)" },
	[Q_PARK] = { T_PARKED,
		"INSERT INTO %s (`handler`, `position`, `status`, `time`) "
		"VALUES (?, ?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE "
		"`status` = VALUES(`status`), `time` = VALUES(`time`)" },
	[Q_PARKED] = { T_PARKED,
		"SELECT COUNT(*) FROM %s WHERE `handler` = ?" },
	[Q_PARKED_LIST] = { T_PARKED,
		"SELECT `position`, `status`, `time` FROM %s WHERE `handler` "
		"= ? ORDER BY `position`" },
	[Q_UNPARK] = { T_PARKED,
		"DELETE FROM %s WHERE `handler` = ? AND (? < 0 OR `position` "
		"= ?)" },
	[Q_BM_DEL] = { T_BM,
		"DELETE FROM %s WHERE `bookmark` = ?" },
	[Q_KEY_GET] = { T_KEYS,
		"SELECT `stream`, `aggregate_id`, `first`, `last` FROM %s "
		"WHERE `key` = ?" },
	[Q_KEY_PUT] = { T_KEYS,
		"INSERT INTO %s (`key`, `stream`, `aggregate_id`, `first`, "
		"`last`) VALUES (?, ?, ?, ?, ?)" },
	[Q_HND_GET] = { T_HND,
		"SELECT `streams` FROM %s WHERE `bookmarks` = ? AND `name` = "
		"?" },
	[Q_HND_START] = { T_HND,
		"INSERT INTO %s (`bookmarks`, `name`, `streams`, `group`, "
		"`started`) VALUES (?, ?, ?, NULL, UTC_TIMESTAMP(3)) ON "
		"DUPLICATE KEY UPDATE `streams` = VALUES(`streams`), `group` "
		"= VALUES(`group`), `started` = VALUES(`started`)" },
	[Q_HND_END] = { T_HND,
		"UPDATE %s SET `ended` = UTC_TIMESTAMP(3), `failed` = IF(? IS "
		"NULL, `failed`, UTC_TIMESTAMP(3)), `failure` = COALESCE(?, "
		"`failure`) WHERE `bookmarks` = ? AND `name` = ?" },
	[Q_HND_DEL] = { T_HND,
		"DELETE FROM %s WHERE `bookmarks` = ? AND `name` = ?" },
	[Q_HND_ALL] = { T_HND,
		"SELECT `name`, `streams` FROM %s WHERE `bookmarks` = ? ORDER "
		"BY CAST(`name` AS BINARY)" },
	[Q_TRYLOCK] = { T_NONE,
		"SELECT GET_LOCK("
		LOCK_NAME
		", ?)" },
	[Q_UNLOCK] = { T_NONE,
		"SELECT RELEASE_LOCK("
		LOCK_NAME
		")" },
	[Q_HELD] = { T_NONE,
		"SELECT IS_USED_LOCK("
		LOCK_NAME
		") IS NOT NULL" },
	[Q_RANGE] = { T_EV,
		"SELECT MAX(`position`), COUNT(*) FROM %s WHERE `position` > "
		"?" },
	[Q_MAX] = { T_EV,
		"SELECT MAX(`position`) FROM %s" },
	/* which tables exist, what the event column holds, how many
	 * digits of a second the timestamp keeps */
	[Q_TABLES] = { T_NONE,
		"SELECT `TABLE_NAME`, `COLUMN_NAME`, "
		"COALESCE(`CHARACTER_OCTET_LENGTH`, 0), "
		"COALESCE(`DATETIME_PRECISION`, 0) FROM "
		"information_schema.`COLUMNS` WHERE `TABLE_SCHEMA` = "
		"DATABASE() AND `TABLE_NAME` IN (?, ?, ?, ?) AND "
		"`COLUMN_NAME` IN ('event', 'timestamp', 'position', "
		"'bookmark', 'id', 'key')" },
};

/* Q_GAP, each %s the events table: the first position in (lo, m] with no
 * row: lo + 1, or one after a row whose next one is missing. */
#define GAP_SQL \
	"SELECT IF(NOT EXISTS (SELECT 1 FROM %s WHERE `position` = ? " \
	"+ 1), ? + 1, (SELECT MIN(e.`position`) + 1 FROM %s e WHERE " \
	"e.`position` > ? AND e.`position` < ? AND NOT EXISTS (SELECT " \
	"1 FROM %s f WHERE f.`position` = e.`position` + 1)))"

static const char *table_name(const struct my *m, int t)
{
	const char *const name[] = {
		"", m->ev, m->bm, m->snap, m->parked, m->keys, m->hnd
	};

	return name[t];
}

static void qsql(struct evt_store *st, int q, struct evt_buf *b)
{
	struct my *m = MY(st);

	if (q == Q_GAP)
		evt_buf_addf(b, GAP_SQL, m->ev, m->ev, m->ev);
	else
		evt_buf_addf(b, my_sql[q].sql, table_name(m, my_sql[q].table));
}

/* A parameter. */
struct prm {
	enum enum_field_types type;
	const void *p;
	unsigned long len;
	long long i;
	double d;
};

static struct prm pstr(const char *s)
{
	struct prm p = { MYSQL_TYPE_STRING, s, s ? strlen(s) : 0, 0, 0 };

	if (!s)
		p.type = MYSQL_TYPE_NULL;
	return p;
}

static struct prm pstrn(const char *s, size_t n)
{
	struct prm p = { MYSQL_TYPE_STRING, s, (unsigned long)n, 0, 0 };

	return p;
}

static struct prm pint(int64_t v)
{
	struct prm p = { MYSQL_TYPE_LONGLONG, NULL, 0, v, 0 };

	return p;
}

/* A result column: an integer, a string (into a buffer) or a time. */
struct col {
	char kind;		/* 'i', 's', 't' */
	struct evt_buf *b;
	long long i;
	MYSQL_TIME t;
	unsigned long len;
	my_bool null, err;
};

#define MAXP 8
#define MAXC 6

static int is_missing(unsigned n)
{
	return n == ER_NO_SUCH_TABLE;
}

static void bind_params(MYSQL_BIND *b, const struct prm *p, int n)
{
	int i;

	memset(b, 0, (size_t)n * sizeof(*b));
	for (i = 0; i < n; i++) {
		b[i].buffer_type = p[i].type;
		if (p[i].type == MYSQL_TYPE_LONGLONG) {
			b[i].buffer = (void *)&p[i].i;
		} else if (p[i].type == MYSQL_TYPE_DOUBLE) {
			b[i].buffer = (void *)&p[i].d;
		} else if (p[i].type == MYSQL_TYPE_STRING) {
			b[i].buffer = (void *)p[i].p;
			b[i].buffer_length = p[i].len;
		}
	}
}

/* Run statement s with the n values of p; 0, or the failure. */
static int execute(struct evt_store *st, MYSQL_STMT *s, const struct prm *p,
		   int n, const char *what, struct evt_err *e)
{
	MYSQL_BIND b[MAXP];

	bind_params(b, p, n);
	if ((n && my.mysql_stmt_bind_param(s, b)) || my.mysql_stmt_execute(s)) {
		unsigned code = my.mysql_stmt_errno(s);

		return is_missing(code) ? MISSING : fail_stmt(st, s, what, e);
	}
	return 0;
}

/* Parameters a statement may have to be prepared and run at once: the
 * server answers the prepare with a definition of each parameter (about
 * 30 bytes) while the client still writes the run, and neither reads
 * until its write is done; past a socket buffer's worth (a unix socket's
 * is about 200 KiB) both wait for ever.  Up to this many the answer is a
 * few KiB. */
#define DIRECT_MAX_PARAMS 64

/* Prepare and run sql with the n values of b, in one round trip for a few
 * parameters (mariadb_stmt_execute_direct; libmariadb sends the two apart
 * to a server that cannot), in two for more; *out the statement, prepared
 * for the next runs. */
static int direct(struct evt_store *st, const char *sql, size_t len,
		  MYSQL_BIND *b, unsigned n, MYSQL_STMT **out, const char *what,
		  struct evt_err *e)
{
	struct my *m = MY(st);
	MYSQL_STMT *s;
	int rc;

	*out = NULL;
	if (!(s = my.mysql_stmt_init(m->conn)))
		return fail_conn(st, what, e);
	if (n > DIRECT_MAX_PARAMS ?
		    my.mysql_stmt_prepare(s, sql, len) ||
			    my.mysql_stmt_bind_param(s, b) ||
			    my.mysql_stmt_execute(s) :
		    (n && (my.mysql_stmt_attr_set(s, STMT_ATTR_PREBIND_PARAMS,
						  &n) ||
			   my.mysql_stmt_bind_param(s, b))) ||
			    my.mariadb_stmt_execute_direct(s, sql, len)) {
		unsigned code = my.mysql_stmt_errno(s);

		rc = is_missing(code) ? MISSING : fail_stmt(st, s, what, e);
		my.mysql_stmt_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Run q, prepared on its first run. */
static int run_q(struct evt_store *st, int q, const struct prm *p, int n,
		 const char *what, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	MYSQL_BIND b[MAXP];
	int rc;

	if (m->stmt[q])
		return execute(st, m->stmt[q], p, n, what, e);
	qsql(st, q, &sql);
	bind_params(b, p, n);
	rc = direct(st, sql.p, sql.len, b, (unsigned)n, &m->stmt[q], what, e);
	evt_buf_release(&sql);
	return rc;
}

/* Run q: NULL with *rc set when it failed (MISSING: the table is missing,
 * no message).  A follower outside a transaction reconnects once and
 * tries again (every statement that goes through here may run twice). */
static MYSQL_STMT *run(struct evt_store *st, int q, const struct prm *p,
		       int n, const char *what, int *rc, struct evt_err *e)
{
	struct my *m = MY(st);
	int tries = 0;

	for (;;) {
		if ((*rc = ready(st, e)))
			break;
		if (!(*rc = run_q(st, q, p, n, what, e)))
			return m->stmt[q];
		if (*rc == MISSING)
			return NULL;
		if (*rc != LOST || !m->follower || m->in_tx || tries++)
			break;
		if ((*rc = reconnect(st, e)))
			break;
	}
	if (*rc == LOST)
		disconnect(m);
	*rc = outward(*rc);
	return NULL;
}

/* Bind the result columns of s to c. */
static int bind_cols(MYSQL_STMT *s, MYSQL_BIND *b, struct col *c, int n)
{
	int i;

	memset(b, 0, (size_t)n * sizeof(*b));
	for (i = 0; i < n; i++) {
		b[i].length = &c[i].len;
		b[i].is_null = &c[i].null;
		b[i].error = &c[i].err;
		if (c[i].kind == 'i') {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &c[i].i;
		} else if (c[i].kind == 't') {
			b[i].buffer_type = MYSQL_TYPE_DATETIME;
			b[i].buffer = &c[i].t;
		} else {
			if (c[i].b->cap < 256)
				evt_buf_grow(c[i].b, 256);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = c[i].b->p;
			b[i].buffer_length = c[i].b->cap - 1;
		}
	}
	return my.mysql_stmt_bind_result(s, b) ? -1 : 0;
}

/* The next row into c: 1, or 0 at the end, or -1 (the message in the
 * statement).  Strings longer than their buffer grow it and are fetched
 * again (the columns are bound anew for the next row). */
static int fetch(MYSQL_STMT *s, MYSQL_BIND *b, struct col *c, int n)
{
	int r = my.mysql_stmt_fetch(s), i;

	if (r == MYSQL_NO_DATA)
		return 0;
	if (r == 1)
		return -1;
	for (i = 0; i < n; i++) {
		struct evt_buf *buf = c[i].b;

		if (c[i].kind != 's')
			continue;
		if (c[i].null) {
			buf->len = 0;
			buf->p[0] = '\0';
			continue;
		}
		if (r == MYSQL_DATA_TRUNCATED && c[i].len >= buf->cap) {
			evt_buf_grow(buf, c[i].len + 1 - buf->len);
			b[i].buffer = buf->p;
			b[i].buffer_length = buf->cap - 1;
			if (my.mysql_stmt_fetch_column(s, &b[i], (unsigned)i, 0))
				return -1;
			if (my.mysql_stmt_bind_result(s, b))
				return -1;
		}
		buf->len = c[i].len;
		buf->p[buf->len] = '\0';
	}
	return 1;
}

/* Read what is left of a result, so that the connection is free. */
static void done(MYSQL_STMT *s)
{
	if (s)
		my.mysql_stmt_free_result(s);
}

/* One row of q into c (the others thrown away): 1 found, 0 none;
 * MISSING-as-0 when missing_ok. */
static int row(struct evt_store *st, int q, const struct prm *p, int np,
	       struct col *c, int nc, const char *what, int missing_ok,
	       int *found, struct evt_err *e)
{
	MYSQL_BIND b[MAXC];
	MYSQL_STMT *s;
	int rc, r;

	*found = 0;
	if (!(s = run(st, q, p, np, what, &rc, e))) {
		if (rc == MISSING && !missing_ok)
			return evt_errf(e, EVT_EFAIL, "cannot %s '%s': a table "
					"is missing", what, MY(st)->shown);
		return rc == MISSING ? 0 : rc;
	}
	if (bind_cols(s, b, c, nc) || (r = fetch(s, b, c, nc)) < 0) {
		rc = outward(fail_stmt(st, s, what, e));
		done(s);
		return rc;
	}
	*found = r;
	done(s);
	return 0;
}

/* --- times ------------------------------------------------------------------- */

/* A DATETIME (taken as UTC) as evt prints it; 0 for a zero date. */
static int time_text(const MYSQL_TIME *t, char *out)
{
	int64_t ms;

	if (!t->year || !t->month || !t->day)
		return 0;
	ms = ((evt_days_from_civil((int)t->year, (int)t->month,
				   (int)t->day) * 86400 + t->hour * 3600 +
	       t->minute * 60 + t->second) * 1000) + t->second_part / 1000;
	evt_ts_format(ms, out);
	return 1;
}

static void time_of(int64_t ms, MYSQL_TIME *t)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	struct tm tm;

	gmtime_r(&secs, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (unsigned)tm.tm_year + 1900;
	t->month = (unsigned)tm.tm_mon + 1;
	t->day = (unsigned)tm.tm_mday;
	t->hour = (unsigned)tm.tm_hour;
	t->minute = (unsigned)tm.tm_min;
	t->second = (unsigned)tm.tm_sec;
	t->second_part = (unsigned long)(ms - (int64_t)secs * 1000) * 1000;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* --- the schema -------------------------------------------------------------- */

/* Which of evt's tables exist, the event column's size and the
 * timestamp's precision. */
static int tables(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	struct prm p[4] = { pstr(m->ev_name), pstr(m->bm_name),
			    pstr(m->keys_name), pstr(m->keys_name) };
	struct evt_buf t = EVT_BUF_INIT, c = EVT_BUF_INIT;
	struct col cs[4] = { { 's', &t, 0, { 0 }, 0, 0, 0 },
			     { 's', &c, 0, { 0 }, 0, 0, 0 },
			     { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			     { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	MYSQL_BIND b[4];
	MYSQL_STMT *s;
	int rc, r;

	m->have_ev = m->have_bm = m->have_keys = 0;
	m->ev_max = 0;
	m->ts_prec = 3;
	if (!(s = run(st, Q_TABLES, p, 4, "open", &rc, e)))
		return outward(rc);
	if (bind_cols(s, b, cs, 4)) {
		rc = outward(fail_stmt(st, s, "open", e));
		goto out;
	}
	while ((r = fetch(s, b, cs, 4)) > 0) {
		if (strcmp(t.p, m->ev_name) == 0) {
			m->have_ev = 1;
			if (strcmp(c.p, "event") == 0)
				m->ev_max = (unsigned long long)cs[2].i;
			else if (strcmp(c.p, "timestamp") == 0)
				m->ts_prec = (int)cs[3].i;
		} else if (strcmp(t.p, m->bm_name) == 0) {
			m->have_bm = 1;
		} else if (strcmp(t.p, m->keys_name) == 0) {
			m->have_keys = 1;
		}
	}
	rc = r < 0 ? outward(fail_stmt(st, s, "open", e)) : 0;
	m->known = !rc;
out:
	done(s);
	evt_buf_release(&t);
	evt_buf_release(&c);
	return rc;
}

/* Run DDL statements (NUL-separated in b) under evt's DDL lock (GET_LOCK,
 * one per database), so that two processes doing it at once are safe. */
static int ddl(struct evt_store *st, const struct evt_buf *b,
	       struct evt_err *e)
{
	struct my *m = MY(st);
	const char *p;
	char sql[160];
	int rc = 0;

	snprintf(sql, sizeof(sql), "DO GET_LOCK(CONCAT('evt-ddl-', "
		 "SHA1(DATABASE())), %lld)", st->busy_timeout >= 0 ?
		 (long long)(st->busy_timeout + 999) / 1000 : 60LL);
	if ((rc = exec_sql(st, sql, "create the schema in", e)))
		return outward(rc);
	for (p = b->p; p < b->p + b->len; p += strlen(p) + 1)
		if ((rc = exec_sql(st, p, "create the schema in", e)))
			break;
	if (m->conn)
		exec_sql(st, "DO RELEASE_LOCK(CONCAT('evt-ddl-', "
			 "SHA1(DATABASE())))", "create the schema in", e);
	return outward(rc);
}

#define TABLE_OPTS " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 " \
	"COLLATE=utf8mb4_nopad_bin"

/* The tables a writer needs: events and bookmarks as evtstore's knex
 * provider makes them (with LONGTEXT and DATETIME(3), which evtstore
 * reads and writes as well), and the append lock's row. */
static int create_schema(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf s = EVT_BUF_INIT;
	char *i1 = derived(m->ev_name, "_stream_position_unique");
	char *i2 = derived(m->ev_name, "_stream_aggregate_id_version_unique");
	int rc;

	evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`position` bigint "
		     "unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, `version` "
		     "int, `stream` varchar(255), `aggregate_id` varchar(255), "
		     "`timestamp` datetime(3), `event` longtext, UNIQUE KEY "
		     "`%s` (`stream`, `position`), UNIQUE KEY `%s` (`stream`, "
		     "`aggregate_id`, `version`))" TABLE_OPTS, m->ev, i1, i2);
	evt_buf_addc(&s, '\0');
	evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`bookmark` "
		     "varchar(255) NOT NULL PRIMARY KEY, `position` bigint)"
		     TABLE_OPTS, m->bm);
	evt_buf_addc(&s, '\0');
	if (st->keys) {
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`key` "
			     "varchar(255) NOT NULL PRIMARY KEY, `stream` "
			     "varchar(255) NOT NULL, `aggregate_id` varchar(255) "
			     "NOT NULL, `first` bigint NOT NULL, `last` bigint "
			     "NOT NULL)" TABLE_OPTS, m->keys);
		evt_buf_addc(&s, '\0');
	}
	s.len--;		/* the last NUL ends the list */
	free(i1);
	free(i2);
	rc = ddl(st, &s, e);
	evt_buf_release(&s);
	return rc ? rc : tables(st, e);
}

/* evt's own tables: <events>_snapshots (1), <events>_parked (0),
 * <events>_handlers (2). */
static int create_own(struct evt_store *st, int which, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf s = EVT_BUF_INIT;
	int rc;

	if (which == 2)
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`bookmarks` "
			     "varchar(64) NOT NULL, `name` varchar(255) NOT NULL, "
			     "`streams` longtext NOT NULL, `group` varchar(64), "
			     "`started` datetime(3), `ended` datetime(3), "
			     "`failed` datetime(3), `failure` longtext, PRIMARY "
			     "KEY (`bookmarks`, `name`))" TABLE_OPTS, m->hnd);
	else if (which)
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`stream` "
			     "varchar(255) NOT NULL, `aggregate_id` varchar(255) "
			     "NOT NULL, `key` varchar(255) NOT NULL, `version` "
			     "int NOT NULL, `position` bigint NOT NULL, `state` "
			     "longtext NOT NULL, PRIMARY KEY (`stream`, "
			     "`aggregate_id`))" TABLE_OPTS, m->snap);
	else
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (`handler` "
			     "varchar(255) NOT NULL, `position` bigint NOT NULL, "
			     "`status` int, `time` datetime(3), PRIMARY KEY "
			     "(`handler`, `position`))" TABLE_OPTS, m->parked);
	rc = ddl(st, &s, e);
	evt_buf_release(&s);
	return rc;
}

/* --- open and close ---------------------------------------------------------- */

static int my_open(struct evt_store *st, struct evt_err *e)
{
	struct my *m = evt_xmalloc(sizeof(*m));
	const char *why;
	char buf[600], *d;
	int rc;

	memset(m, 0, sizeof(*m));
	st->impl = m;
	m->ts_prec = 3;
	m->shown = hide_password(st->url);
	if ((rc = parse_url(st, e)))
		return rc;
	m->ev_name = evt_xstrdup(st->events);
	m->bm_name = evt_xstrdup(st->bookmarks);
	m->keys_name = derived(st->events, "_keys");
	m->ev = quoted(m->ev_name);
	m->bm = quoted(m->bm_name);
	m->keys = quoted(m->keys_name);
	d = derived(st->events, "_snapshots");
	m->snap = quoted(d);
	free(d);
	d = derived(st->events, "_parked");
	m->parked = quoted(d);
	free(d);
	d = derived(st->events, "_handlers");
	m->hnd = quoted(d);
	free(d);
	if ((why = my_load(buf, sizeof(buf))))
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", m->shown,
				why);
	if ((rc = connect_once(st, e)))
		return rc;
	if (!st->write)
		return 0;
	if ((rc = tables(st, e)))
		return rc;
	if ((!m->have_ev || !m->have_bm ||
	     (st->keys && !m->have_keys)) && (rc = create_schema(st, e)))
		return rc;
	return 0;
}

static void my_close(struct evt_store *st)
{
	struct my *m = MY(st);
	size_t i;

	disconnect(m);
	for (i = 0; i < m->nlocks; i++)
		free(m->locks[i]);
	free(m->locks);
	free(m->ins_bind);
	free(m->ins_time);
	evt_buf_release(&m->tmp);
	evt_buf_release(&m->rs);
	evt_buf_release(&m->ri);
	evt_buf_release(&m->rev);
	free(m->shown);
	free(m->host);
	free(m->user);
	free(m->pass);
	free(m->db);
	free(m->sock);
	free(m->ev);
	free(m->bm);
	free(m->snap);
	free(m->parked);
	free(m->keys);
	free(m->hnd);
	free(m->ev_name);
	free(m->bm_name);
	free(m->keys_name);
	free(m->pend);
	free(m);
	st->impl = NULL;
}

/* --- appending ------------------------------------------------------------------ */

/* The append lock of the events table: GET_LOCK, named after the database
 * and the table, taken before the transaction starts and released after
 * it ended (see the top of this file). */
#define APPEND_LOCK "CONCAT('evt-a-', SHA1(CONCAT_WS('.', DATABASE(), '%s')))"

static void append_unlock(struct evt_store *st)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct evt_err e;

	if (!m->appending)
		return;
	m->appending = 0;
	if (!m->conn)
		return;		/* it went with the connection */
	evt_buf_addf(&sql, "DO RELEASE_LOCK(" APPEND_LOCK ")", m->ev_name);
	if (exec_sql(st, sql.p, "write to", &e) == LOST)
		disconnect(m);
	evt_buf_release(&sql);
}

static void my_rollback(struct evt_store *st);

static int my_begin(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	char got[8];
	int rc;

	if ((rc = ready(st, e)))
		return outward(rc);
	if (!m->known && (rc = tables(st, e)))
		return rc;
	if (!m->have_ev)
		return evt_errf(e, EVT_EFAIL, "cannot write to '%s': no events "
				"table", m->shown);
	/* the lock, then the transaction, in one round trip; the lock
	 * waits EVT_BUSY_TIMEOUT, else a year: as long as it takes */
	evt_buf_addf(&sql, "SELECT GET_LOCK(" APPEND_LOCK ", %.3f); START "
		     "TRANSACTION", m->ev_name, st->busy_timeout >= 0 ?
		     (double)st->busy_timeout / 1000 : 31536000.0);
	rc = exec_first(st, sql.p, "write to", got, sizeof(got), e);
	evt_buf_release(&sql);
	if (!rc && strcmp(got, "1") != 0) {
		/* not ours: end the transaction it began */
		exec_sql(st, "ROLLBACK", "write to", e);
		return evt_errf(e, EVT_EFAIL, "cannot write to '%s': the append "
				"lock of %s is busy (waited %lld ms)", m->shown,
				m->ev_name, (long long)(st->busy_timeout >= 0 ?
							st->busy_timeout : 0));
	}
	if (!rc) {
		m->appending = 1;
		m->in_tx = 1;
		return 0;
	}
	if (rc == LOST) {
		disconnect(m);
	} else {
		/* the lock may be ours, the transaction begun or not */
		m->appending = 1;
		m->in_tx = 1;
		my_rollback(st);
	}
	return outward(rc);
}

static int my_version(struct evt_store *st, const char *stream, size_t slen,
		      const char *id, size_t idlen, int64_t *v,
		      struct evt_err *e)
{
	struct prm p[2] = { pstrn(stream, slen), pstrn(id, idlen) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int found, rc;

	*v = 0;
	if ((rc = row(st, Q_VERSION, p, 2, c, 1, "read", 0, &found, e)))
		return rc;
	if (found && !c[0].null)
		*v = c[0].i;
	return 0;
}

/* Run the INSERT of n rows with the values bound in b: prepared on its
 * first run, kept for the next batch of n.  *s the statement. */
static int insert_run(struct evt_store *st, size_t n, MYSQL_BIND *b,
		      MYSQL_STMT **s, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	size_t i;
	int rc;

	if (m->stmt[Q_INSERT] && m->ins_rows == n) {
		*s = m->stmt[Q_INSERT];
		if (my.mysql_stmt_bind_param(*s, b) ||
		    my.mysql_stmt_execute(*s))
			return fail_stmt(st, *s, "append to", e);
		return 0;
	}
	if (m->stmt[Q_INSERT])
		my.mysql_stmt_close(m->stmt[Q_INSERT]);
	m->stmt[Q_INSERT] = NULL;
	m->ins_rows = 0;
	evt_buf_addf(&sql, "INSERT INTO %s (`version`, `stream`, "
		     "`aggregate_id`, `timestamp`, `event`) VALUES ", m->ev);
	for (i = 0; i < n; i++)
		evt_buf_addstr(&sql, i ? ", (?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?)");
	rc = direct(st, sql.p, sql.len, b, (unsigned)(5 * n), s, "append to",
		    e);
	evt_buf_release(&sql);
	if (rc == MISSING)
		return evt_errf(e, EVT_EFAIL, "cannot append to '%s': no events "
				"table", m->shown);
	if (!rc) {
		m->stmt[Q_INSERT] = *s;
		m->ins_rows = n;
	}
	return rc;
}

/* r's timestamp as a DATETIME; *ms its milliseconds. */
static void record_time(const struct evt_record *r, MYSQL_TIME *t,
			int64_t *ms)
{
	if (!r->ts || evt_ts_parse(r->ts, r->ts_len, ms))
		*ms = evt_now_ms();
	time_of(*ms, t);
}

/* Room for the binds and times of n rows. */
static void insert_room(struct my *m, size_t n)
{
	if (m->ins_cap >= n)
		return;
	free(m->ins_bind);
	free(m->ins_time);
	m->ins_bind = evt_xmalloc(n * 5 * sizeof(*m->ins_bind));
	m->ins_time = evt_xmalloc(n * sizeof(*m->ins_time));
	m->ins_cap = n;
}

/* Row k's time, *t, and the timestamp printed for it: the stored one, cut
 * to the column's precision (MariaDB cuts, never rounds), written in
 * m->tmp when it is not r's own. */
static void insert_time(struct my *m, struct evt_record *r, size_t k,
			MYSQL_TIME *t)
{
	char *out = m->tmp.p + k * (EVT_TS_LEN + 1);
	int64_t ms;

	record_time(r, t, &ms);
	if (m->ts_prec < 3) {
		int64_t unit = m->ts_prec == 2 ? 10 :
			       m->ts_prec == 1 ? 100 : 1000;

		ms -= ((ms % unit) + unit) % unit;
		time_of(ms, t);
	} else if (r->ts && r->ts_len == EVT_TS_LEN) {
		return;
	}
	evt_ts_format(ms, out);
	r->ts = out;
	r->ts_len = EVT_TS_LEN;
}

/* The five parameters of row r: version, stream, aggregate id, time t
 * and event. */
static void insert_bind(MYSQL_BIND *x, const struct evt_record *r,
			MYSQL_TIME *t)
{
	x[0].buffer_type = MYSQL_TYPE_LONGLONG;
	x[0].buffer = (void *)&r->version;
	x[1].buffer_type = MYSQL_TYPE_STRING;
	x[1].buffer = (void *)r->stream;
	x[1].buffer_length = r->stream_len;
	x[2].buffer_type = MYSQL_TYPE_STRING;
	x[2].buffer = (void *)r->id;
	x[2].buffer_length = r->id_len;
	x[3].buffer_type = MYSQL_TYPE_DATETIME;
	x[3].buffer = t;
	x[4].buffer_type = MYSQL_TYPE_STRING;
	x[4].buffer = (void *)r->event;
	x[4].buffer_length = r->event_len;
}

static int insert_rows(struct evt_store *st, struct evt_record *rows,
		       size_t n, struct evt_err *e)
{
	struct my *m = MY(st);
	MYSQL_STMT *s;
	MYSQL_BIND *b;
	my_ulonglong first;
	size_t k;
	int rc = 0;

	insert_room(m, n);
	b = m->ins_bind;
	memset(b, 0, n * 5 * sizeof(*b));
	evt_buf_reset(&m->tmp);
	evt_buf_grow(&m->tmp, n * (EVT_TS_LEN + 1));
	for (k = 0; k < n; k++) {
		struct evt_record *r = &rows[k];

		if (r->version < 1 || r->version > INT32_MAX)
			return evt_errf(e, EVT_EFAIL, "cannot append to '%s': "
					"version %lld is out of range",
					m->shown, (long long)r->version);
		if (m->ev_max && r->event_len > m->ev_max)
			return evt_errf(e, EVT_EINPUT, "cannot append to '%s': "
					"an event of %zu bytes is too big for "
					"column event of %s (at most %llu bytes)",
					m->shown, r->event_len, m->ev_name,
					m->ev_max);
		insert_time(m, r, k, &m->ins_time[k]);
		insert_bind(b + 5 * k, r, &m->ins_time[k]);
	}
	if ((rc = insert_run(st, n, b, &s, e))) {
		if (rc == EVT_EINPUT)
			evt_errf(e, EVT_EINPUT, "cannot append to '%s': an "
				 "event is too big for column event of %s",
				 m->shown, m->ev_name);
		if (rc == LOST)
			disconnect(m);
		return outward(rc);
	}
	first = my.mysql_stmt_insert_id(s);
	if (my.mysql_stmt_affected_rows(s) != n || !first)
		return evt_errf(e, EVT_EFAIL, "cannot append to '%s': the "
				"server did not say which positions it gave",
				m->shown);
	for (k = 0; k < n; k++)
		rows[k].position = (int64_t)(first + k);
	return 0;
}

static int my_insert_many(struct evt_store *st, struct evt_record *rows,
			  size_t n, size_t *bad, struct evt_err *e)
{
	struct my *m = MY(st);
	size_t done_rows = 0;
	int rc;

	*bad = n;
	if (!m->in_tx)
		return evt_errf(e, EVT_EFAIL, "cannot append to '%s': no "
				"transaction", m->shown);
	while (done_rows < n) {
		size_t k = n - done_rows, bytes = 0, i;

		if (k > BATCH_MAX)
			k = BATCH_MAX;
		/* a statement stays well under the server's
		 * max_allowed_packet (16 MiB by default) */
		for (i = 0; i < k; i++) {
			bytes += rows[done_rows + i].event_len + 600;
			if (i && bytes > ((size_t)8 << 20)) {
				k = i;
				break;
			}
		}
		if ((rc = insert_rows(st, rows + done_rows, k, e))) {
			if (rc == EVT_ECONFLICT && n == 1)
				*bad = 0;
			return rc;
		}
		done_rows += k;
	}
	return 0;
}

static int my_insert(struct evt_store *st, struct evt_record *r,
		     struct evt_err *e)
{
	size_t bad;

	return my_insert_many(st, r, 1, &bad, e);
}

static int my_commit(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	int rc;

	if (!m->conn)
		return evt_errf(e, EVT_EFAIL, "cannot commit to '%s': the "
				"connection was lost", m->shown);
	/* the commit, then the lock's release, in one round trip (a failed
	 * COMMIT stops there: append_unlock releases it then) */
	evt_buf_addf(&sql, "COMMIT; DO RELEASE_LOCK(" APPEND_LOCK ")",
		     m->ev_name);
	rc = exec_sql(st, sql.p, "commit to", e);
	evt_buf_release(&sql);
	m->in_tx = 0;
	if (rc == LOST)
		disconnect(m);
	if (!rc)
		m->appending = 0;
	append_unlock(st);
	return outward(rc);
}

static void my_rollback(struct evt_store *st)
{
	struct my *m = MY(st);
	struct evt_err e;

	if (!m->in_tx)
		return;
	m->in_tx = 0;
	if (m->conn && exec_sql(st, "ROLLBACK", "write to", &e) == LOST)
		disconnect(m);
	append_unlock(st);
}

/* --- reading ------------------------------------------------------------------ */

/* Each row of the executed statement s into c, handed to fn (0: go on;
 * non-zero stops and is returned).  The rest of the result is read and
 * thrown away. */
typedef int (*row_fn)(void *ctx, struct col *c);

static int each(struct evt_store *st, MYSQL_STMT *s, struct col *c, int nc,
		row_fn fn, void *ctx, const char *what, struct evt_err *e)
{
	MYSQL_BIND b[MAXC];
	int r, rc = 0;

	if (bind_cols(s, b, c, nc)) {
		rc = outward(fail_stmt(st, s, what, e));
	} else {
		while ((r = fetch(s, b, c, nc)) > 0)
			if ((rc = fn(ctx, c)))
				break;
		if (r < 0) {
			rc = fail_stmt(st, s, what, e);
			if (rc == LOST)
				disconnect(MY(st));
		}
	}
	done(s);
	return rc;
}

/* The values of a read: more than MAXP when there are many streams. */
static int execute_many(struct evt_store *st, MYSQL_STMT *s,
			const struct prm *p, int n, const char *what,
			struct evt_err *e)
{
	MYSQL_BIND *b = evt_xmalloc((size_t)(n ? n : 1) * sizeof(*b));
	int rc = 0;

	bind_params(b, p, n);
	if ((n && my.mysql_stmt_bind_param(s, b)) || my.mysql_stmt_execute(s))
		rc = is_missing(my.mysql_stmt_errno(s)) ? MISSING :
			fail_stmt(st, s, what, e);
	free(b);
	return rc;
}

/* A statement made for one use: prepared, run, its rows to fn, closed.
 * A missing table is no rows. */
static int adhoc(struct evt_store *st, const char *sql, const struct prm *p,
		 int np, struct col *c, int nc, row_fn fn, void *ctx,
		 const char *what, struct evt_err *e)
{
	struct my *m = MY(st);
	MYSQL_STMT *s;
	int rc, tries = 0;

	for (;;) {
		if ((rc = ready(st, e)))
			return outward(rc);
		if (!(s = my.mysql_stmt_init(m->conn)))
			rc = fail_conn(st, what, e);
		else if (my.mysql_stmt_prepare(s, sql, strlen(sql)))
			rc = is_missing(my.mysql_stmt_errno(s)) ? MISSING :
				fail_stmt(st, s, what, e);
		else if (!(rc = execute_many(st, s, p, np, what, e)))
			rc = each(st, s, c, nc, fn, ctx, what, e);
		if (s)
			my.mysql_stmt_close(s);
		if (rc == MISSING)
			return 0;
		if (rc != LOST)
			return outward(rc);
		disconnect(m);
		if (!m->follower || m->in_tx || tries++)
			return EVT_EFAIL;
		if ((rc = reconnect(st, e)))
			return outward(rc);
	}
}

static int one_int(void *ctx, struct col *c)
{
	*(int64_t *)ctx = c[0].null ? 0 : c[0].i;
	return 0;
}

/* WHERE of q (after it the values: after, then upto, then the streams,
 * then the id, then the group).  Names compare as bytes: a table made by
 * evtstore has the server's collation, often case-insensitive, and its
 * index finds the candidates. */
static int where(struct evt_buf *sql, const struct evt_query *q,
		 int64_t upto, struct prm *p)
{
	int n = 0, k;
	size_t i;

	evt_buf_addstr(sql, " WHERE `position` > ?");
	p[n++] = pint(q->after);
	if (upto >= 0) {
		evt_buf_addstr(sql, " AND `position` <= ?");
		p[n++] = pint(upto);
	}
	for (k = 0; q->streams && k < 2; k++) {
		evt_buf_addstr(sql, k ? " AND CAST(`stream` AS BINARY)" :
				      " AND `stream`");
		evt_buf_addstr(sql, q->nstreams == 1 ? " = ?" : " IN (");
		for (i = 0; i < q->nstreams; i++) {
			if (q->nstreams > 1)
				evt_buf_addstr(sql, i ? ", ?" : "?");
			p[n++] = pstr(q->streams[i]);
		}
		if (q->nstreams > 1)
			evt_buf_addc(sql, ')');
	}
	if (q->id) {
		evt_buf_addstr(sql, " AND `aggregate_id` = ? AND "
			       "CAST(`aggregate_id` AS BINARY) = ?");
		p[n++] = pstr(q->id);
		p[n++] = pstr(q->id);
	}
	if (q->group_n > 0) {
		/* group.h: the member's aggregates, chosen by the server */
		evt_buf_addstr(sql, " AND CAST(CONV(SUBSTR(MD5(COALESCE("
			       "`aggregate_id`, '')), 1, 8), 16, 10) AS "
			       "UNSIGNED) % ? = ?");
		p[n++] = pint(q->group_n);
		p[n++] = pint(q->group_i);
	}
	return n;
}

static struct prm *params_for(const struct evt_query *q)
{
	return evt_xmalloc((6 + 2 * (q->streams ? q->nstreams : 0)) *
			   sizeof(struct prm));
}

/* A row of the read query as a record, handed to the reader's fn. */
struct rows {
	evt_record_fn fn;
	void *ctx;
	int64_t *got, *last;
	MYSQL_TIME lt;		/* the last timestamp printed in tsbuf */
	char tsbuf[EVT_TS_LEN + 1];
	int have_ts;
};

static int record_row(void *ctx, struct col *c)
{
	struct rows *x = ctx;
	struct evt_record r;
	int rc;

	r.position = c[0].i;
	r.stream = c[1].b->p;
	r.stream_len = c[1].b->len;
	r.id = c[2].b->p;
	r.id_len = c[2].b->len;
	r.version = c[3].null ? 0 : c[3].i;
	r.ts = NULL;
	r.ts_len = 0;
	if (!c[4].null) {
		if (x->have_ts && memcmp(&x->lt, &c[4].t, sizeof(x->lt)) == 0) {
			r.ts = x->tsbuf;
		} else if (time_text(&c[4].t, x->tsbuf)) {
			x->lt = c[4].t;
			x->have_ts = 1;
			r.ts = x->tsbuf;
		}
		if (r.ts)
			r.ts_len = EVT_TS_LEN;
	}
	r.event = c[5].b->p;
	r.event_len = c[5].b->len;
	if ((rc = x->fn(x->ctx, &r)))
		return rc;
	++*x->got;
	*x->last = r.position;
	return 0;
}

/* One read query, positions up to upto (< 0: all).  *got and *last count
 * and place what reached fn. */
static int read_once(struct evt_store *st, const struct evt_query *q,
		     int64_t upto, evt_record_fn fn, void *ctx, int64_t *got,
		     int64_t *last, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct col c[6] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 's', &m->rs, 0, { 0 }, 0, 0, 0 },
			    { 's', &m->ri, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 't', NULL, 0, { 0 }, 0, 0, 0 },
			    { 's', &m->rev, 0, { 0 }, 0, 0, 0 } };
	struct rows x;
	struct prm *p = params_for(q);
	MYSQL_STMT *s;
	int n, rc;

	memset(&x, 0, sizeof(x));
	x.fn = fn;
	x.ctx = ctx;
	x.got = got;
	x.last = last;
	if (m->rev.cap < 65536)
		evt_buf_grow(&m->rev, 65536);
	if ((rc = ready(st, e)))
		goto out;
	/* rows are fetched as the reader takes them: a reader that waits
	 * (a pipe to a slow program, a pager) must not make the server give
	 * up on sending (net_write_timeout, 60 s by default) */
	if (!m->patient) {
		if ((rc = exec_sql(st, "SET SESSION net_write_timeout = 31536000",
				   "read", e)))
			goto out;
		m->patient = 1;
	}
	evt_buf_addf(&sql, "SELECT `position`, `stream`, `aggregate_id`, "
		     "`version`, `timestamp`, `event` FROM %s", m->ev);
	n = where(&sql, q, upto, p);
	evt_query_order(&sql, q);
	s = m->stmt[Q_READ];
	if (!s || !m->read_sql || strcmp(m->read_sql, sql.p) != 0) {
		if (s)
			my.mysql_stmt_close(s);
		free(m->read_sql);
		m->read_sql = NULL;
		m->stmt[Q_READ] = NULL;
		if (!(s = my.mysql_stmt_init(m->conn))) {
			rc = fail_conn(st, "read", e);
			goto out;
		}
		if (my.mysql_stmt_prepare(s, sql.p, sql.len)) {
			rc = is_missing(my.mysql_stmt_errno(s)) ? 0 :
				fail_stmt(st, s, "read", e);
			my.mysql_stmt_close(s);
			goto out;
		}
		m->stmt[Q_READ] = s;
		m->read_sql = evt_xstrdup(sql.p);
	}
	if ((rc = execute_many(st, s, p, n, "read", e))) {
		if (rc == MISSING)
			rc = 0;
		goto out;
	}
	rc = each(st, s, c, 6, record_row, &x, "read", e);
out:
	if (rc == LOST)
		disconnect(m);
	/* big events leave big buffers: keep at most 16 MiB */
	if (m->rev.cap > ((size_t)16 << 20))
		evt_buf_release(&m->rev);
	free(p);
	evt_buf_release(&sql);
	return rc;
}

/* --- the gap-free prefix -------------------------------------------------------
 *
 * A position is drawn from AUTO_INCREMENT at INSERT and becomes visible at
 * COMMIT, so a writer can commit position 7 after 8 is visible.  evt's own
 * writers serialize, but evtstore's and a plain INSERT from the mariadb
 * client do not.  A gap-safe read (q->safe) therefore stops below the
 * first position that a running transaction may still commit: the
 * horizon.
 *
 * Why it holds.  Let m be the greatest position visible to a statement S,
 * and W the transactions that SHOW ENGINE INNODB STATUS lists as active
 * in a later statement, read GRACE_MS after S (every transaction of the
 * server but the reader's own).  Every position <= m was drawn before m
 * was, hence before S (AUTO_INCREMENT hands out values in time order).
 * InnoDB draws a row's value just before it starts the transaction's
 * first write (for its first row only: it is listed from then on), so a
 * transaction that drew one is listed by then, unless that thread stood
 * still for GRACE_MS between the two; when it is not in W it has ended:
 * its rows are committed or never will be.  Hence:
 *   - no gap in (lo, m], lo final: every position <= m is final (a
 *     running writer cannot commit a position that is taken);
 *   - W empty: every position <= m is final;
 *   - else the first gap g: the positions < g are final, and once every
 *     transaction of W has ended, so is every position <= m.

 * The cost: one statement per read (the greatest position and the count
 * above the last final one, on the primary key); the list of
 * transactions (which needs the PROCESS privilege) is read only at a gap; a reader held at a gap
 * looks again every HOLD_POLL_MS until those transactions end; a settled
 * gap is never examined again (m->settled), so a permanent one (a
 * rolled-back insert) costs one wait for the transactions of that moment.
 * A long transaction of any kind on the server holds followers at a gap
 * until it ends (evt(7), "Ordering and gaps"). */

/* The transactions now running (see above) into *t, from the list that
 * SHOW ENGINE INNODB STATUS makes when asked (INNODB_TRX is a copy that
 * the server refreshes only when nobody read it for 100 ms: with
 * followers reading it often it could stay old).  A list the server cut
 * short counts as a transaction that never ends. */
static int writers(struct evt_store *st, struct trx **t, size_t *n,
		   struct evt_err *e)
{
	struct my *m = MY(st);
	static const char sql[] = "SHOW ENGINE INNODB STATUS";
	unsigned long long self;
	MYSQL_RES *res;
	MYSQL_ROW r;
	const char *p, *end;
	size_t cap = 0;
	int rc;

	*t = NULL;
	*n = 0;
	if ((rc = ready(st, e)))
		return rc;
	self = my.mysql_thread_id(m->conn);
	if (my.mysql_real_query(m->conn, sql, sizeof(sql) - 1) ||
	    !(res = my.mysql_store_result(m->conn))) {
		unsigned code = my.mysql_errno(m->conn);

		rc = fail_conn(st, "read", e);
		if (rc == LOST)
			disconnect(m);
		else if (code == 1227)
			evt_errf(e, EVT_EFAIL, "cannot read '%s': a gap-safe "
				 "read needs the PROCESS privilege (GRANT "
				 "PROCESS ON *.* TO the user)", m->shown);
		return rc;
	}
	r = my.mysql_fetch_row(res);
	p = r && r[2] ? strstr(r[2], "\nLIST OF TRANSACTIONS FOR EACH "
				  "SESSION:\n") : NULL;
	end = p ? strstr(p, "\n--------") : NULL;
	if (!p || !end || strstr(p, "truncated")) {
		/* no list, or not all of it */
		*t = evt_xmalloc(sizeof(**t));
		(*t)[0].thread = (*t)[0].id = ~0ULL;
		(*t)[0].started = -1;
		*n = 1;
		my.mysql_free_result(res);
		return 0;
	}
	while ((p = strstr(p, "\n---TRANSACTION ")) && p < end) {
		const char *next, *th;
		unsigned long long id, thread = 0;

		p += 16;
		id = strtoull(p, NULL, 10);
		next = strstr(p, "\n---TRANSACTION ");
		if (!next || next > end)
			next = end;
		if (strncmp(p + strspn(p, "0123456789"), ", ACTIVE", 8) != 0)
			continue;	/* not started */
		if ((th = strstr(p, " thread id ")) && th < next)
			thread = strtoull(th + 11, NULL, 10);
		if (thread == self)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*t = evt_xrealloc(*t, cap * sizeof(**t));
		}
		(*t)[*n].thread = thread;
		(*t)[*n].id = id;
		(*t)[*n].started = 0;
		++*n;
	}
	my.mysql_free_result(res);
	return 0;
}

/* Is one of the n transactions of w still running? */
static int any_alive(struct evt_store *st, const struct trx *w, size_t n,
		     int *alive, struct evt_err *e)
{
	struct trx *now;
	size_t k, i, nn;
	int rc;

	*alive = 0;
	if ((rc = writers(st, &now, &nn, e)))
		return rc;
	/* an entry of a list cut short: any running transaction may be
	 * one it stood for */
	for (k = 0; k < n && !*alive; k++)
		for (i = 0; i < nn; i++)
			if ((now[i].thread == w[k].thread &&
			     now[i].id == w[k].id) || now[i].started < 0 ||
			    w[k].started < 0) {
				*alive = 1;
				break;
			}
	free(now);
	return 0;
}

static int range_row(void *ctx, struct col *c)
{
	int64_t *v = ctx;

	v[0] = c[0].null ? 0 : c[0].i;
	v[1] = c[1].i;
	return 0;
}

/* Forget the transactions that may still commit a position. */
static void forget_writers(struct my *m)
{
	free(m->pend);
	m->pend = NULL;
	m->has_pend = 0;
}

/* The first position above lo, at most top, with no row into *gap (top + 1:
 * none); 0 when the table is missing. */
static int first_gap(struct evt_store *st, int64_t lo, int64_t top,
		     int64_t *gap, struct evt_err *e)
{
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	struct prm p[4] = { pint(lo), pint(lo), pint(lo), pint(top) };
	MYSQL_STMT *s;
	int rc;

	*gap = 0;
	if (!(s = run(st, Q_GAP, p, 4, "read", &rc, e)))
		return rc == MISSING ? 0 : rc;
	if ((rc = each(st, s, c, 1, one_int, gap, "read", e)))
		return rc;
	if (*gap <= lo || *gap > top)
		*gap = top + 1;	/* filled meanwhile */
	return 0;
}

/* A gap below top: note the transactions running now, which may fill
 * it (read after top was: see above), unless some are noted already.
 * With none, every position up to top is final. */
static int note_writers(struct evt_store *st, int64_t top, int64_t *h,
			struct evt_err *e)
{
	struct my *m = MY(st);
	int rc;

	if (m->has_pend || *h >= top)
		return 0;
	if (evt_nap(GRACE_MS))
		return INTERRUPTED;
	if ((rc = writers(st, &m->pend, &m->npend, e)))
		return rc;
	if (!m->npend) {
		free(m->pend);
		m->pend = NULL;
		m->settled = top;
		*h = top;
	} else {
		m->has_pend = 1;
		m->pend_upto = top;
	}
	return 0;
}

/* The horizon for a reader after position "after": *h is the greatest
 * position below which nothing can appear any more (may be <= after:
 * nothing to read yet).  Sets m->held. */
static int horizon(struct evt_store *st, int64_t after, int64_t *h,
		   struct evt_err *e)
{
	struct my *m = MY(st);
	struct col c[2] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	MYSQL_STMT *s;
	int rc;

	for (;;) {
		int64_t lo = after > m->settled ? after : m->settled, mc[2];
		int64_t gap = 0;
		struct prm p[1] = { pint(lo) };
		int alive;

		if (!(s = run(st, Q_RANGE, p, 1, "read", &rc, e))) {
			*h = after;	/* MISSING: no table (yet) */
			m->held = 0;
			return rc == MISSING ? 0 : rc;
		}
		mc[0] = mc[1] = 0;
		if ((rc = each(st, s, c, 2, range_row, mc, "read", e)))
			return rc;
		if (mc[0] <= lo || mc[1] == mc[0] - lo) {
			/* no gap above a final position */
			if (mc[0] > m->settled)
				m->settled = mc[0];
			*h = m->settled > after ? m->settled : after;
			m->held = 0;
			if (m->has_pend && m->pend_upto <= m->settled)
				forget_writers(m);
			return 0;
		}
		if (m->has_pend) {
			if ((rc = any_alive(st, m->pend, m->npend, &alive, e)))
				return rc;
			if (!alive) {
				/* they have ended: look again */
				if (m->pend_upto > m->settled)
					m->settled = m->pend_upto;
				forget_writers(m);
				continue;
			}
		}
		if ((rc = first_gap(st, lo, mc[0], &gap, e)) || !gap)
			return rc;	/* !gap: the table is missing */
		*h = gap - 1;
		/* the positions below the gap are taken, hence final */
		if (lo == m->settled && *h > m->settled)
			m->settled = *h;
		if ((rc = note_writers(st, mc[0], h, e)))
			return rc;
		if (*h < after)
			*h = after;
		m->held = m->has_pend && *h < m->pend_upto;
		return 0;
	}
}

/* How long a one-shot reader waits at a held gap: the busy timeout. */
static int read_horizon(struct evt_store *st, int64_t after, int64_t *upto,
			struct evt_err *e)
{
	return horizon(st, after, upto, e);
}

static unsigned read_state(const struct evt_store *st)
{
	const struct my *c = MY(st);

	return (c->follower ? EVT_READ_FOLLOWER : 0) |
	       (c->in_tx ? EVT_READ_IN_TX : 0) | (c->held ? EVT_READ_HELD : 0);
}

static const struct evt_read_ops read_ops = {
	.horizon = read_horizon,
	.read_once = read_once,
	.reconnect = reconnect,
	.state = read_state,
	.outward = outward,
	.hold_poll_ms = HOLD_POLL_MS,
};

static int my_read(struct evt_store *st, const struct evt_query *q,
		   evt_record_fn fn, void *ctx, struct evt_err *e)
{
	return evt_server_read(st, q, &read_ops, fn, ctx, e);
}

static int count_range(struct evt_store *st, int64_t lo, int64_t hi,
		       int64_t *n, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct prm p[2] = { pint(lo), pint(hi) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc;

	evt_buf_addf(&sql, "SELECT COUNT(*) FROM %s WHERE `position` > ? AND "
		     "`position` <= ?", m->ev);
	*n = 0;
	rc = adhoc(st, sql.p, p, 2, c, 1, one_int, n, "read", e);
	evt_buf_release(&sql);
	return rc;
}

struct posset {
	int64_t *v;
	size_t n, cap;
};

static int pos_row(void *ctx, struct col *c)
{
	struct posset *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = evt_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = c[0].i;
	return 0;
}

static int positions(struct evt_store *st, int64_t lo, int64_t hi,
		     struct posset *s, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct prm p[2] = { pint(lo), pint(hi) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc;

	evt_buf_addf(&sql, "SELECT `position` FROM %s WHERE `position` > ? "
		     "AND `position` <= ? ORDER BY `position`", m->ev);
	s->n = 0;
	rc = adhoc(st, sql.p, p, 2, c, 1, pos_row, s, "read", e);
	evt_buf_release(&sql);
	return rc;
}

/* The greatest position (0: none, or no table). */
static int adhoc_max(struct evt_store *st, int64_t *mx, struct evt_err *e)
{
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	MYSQL_STMT *s;
	int rc;

	*mx = 0;
	if (!(s = run(st, Q_MAX, NULL, 0, "read", &rc, e)))
		return rc == MISSING ? 0 : rc;
	return each(st, s, c, 1, one_int, mx, "read", e);
}

/* The start of a follower that begins "from now on" (q->safe): *h such
 * that every event committed from now on is above *h.  With no other
 * transaction running, the greatest position m.  Else wait for those
 * transactions to end (SIGINT and SIGTERM let through); when one of them
 * committed a position below m, start just below it: the events between,
 * committed just before the start, come again (never one is skipped).
 * Which positions appeared is known from the last WINDOW positions below
 * m, and from the count of those below them (and their first gap). */
static int safe_end(struct evt_store *st, int64_t *h, struct evt_err *e)
{
	struct my *m = MY(st);
	struct posset before = { NULL, 0, 0 }, after = { NULL, 0, 0 };
	struct trx *w = NULL;
	int64_t mx = 0, wlo, old0 = 0, old1 = 0, gold = 0;
	size_t nw = 0, i, j;
	int rc, alive;

	*h = 0;
	if ((rc = adhoc_max(st, &mx, e)) || !mx)
		goto out;
	*h = mx;
	wlo = mx > WINDOW ? mx - WINDOW : 0;
	if ((rc = positions(st, wlo, mx, &before, e)) ||
	    (wlo && (rc = count_range(st, 0, wlo, &old0, e))))
		goto out;
	/* no position missing: nothing a transaction could fill */
	if (old0 == wlo && before.n == (size_t)(mx - wlo))
		goto settle;
	if (evt_nap(GRACE_MS)) {
		rc = INTERRUPTED;
		goto out;
	}
	if ((rc = writers(st, &w, &nw, e)))
		goto out;
	if (!nw)
		goto settle;
	if (old0 != wlo) {
		struct prm p[4] = { pint(0), pint(0), pint(0), pint(wlo) };
		struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
		MYSQL_STMT *s;

		if (!(s = run(st, Q_GAP, p, 4, "read", &rc, e)) ||
		    (rc = each(st, s, c, 1, one_int, &gold, "read", e)))
			goto out;
	}
	for (;;) {
		if ((rc = any_alive(st, w, nw, &alive, e)))
			goto out;
		if (!alive)
			break;
		/* the pause on the server, where PROCESSLIST shows what this
		 * session waits for; then the signals that came */
		if ((rc = exec_sql(st, "DO SLEEP(0.02) /* evt: waiting for "
				   "the writers of a gap */", "read", e)))
			goto out;
		if (evt_nap(0)) {
			rc = INTERRUPTED;
			goto out;
		}
	}
	if (wlo && (rc = count_range(st, 0, wlo, &old1, e)))
		goto out;
	if (old1 != old0 && gold > 0) {
		*h = gold - 1;
		goto settle;
	}
	if ((rc = positions(st, wlo, mx, &after, e)))
		goto out;
	/* the first position that appeared */
	for (i = j = 0; i < after.n; i++) {
		while (j < before.n && before.v[j] < after.v[i])
			j++;
		if (j == before.n || before.v[j] != after.v[i]) {
			*h = after.v[i] - 1;
			break;
		}
	}
settle:
	if (mx > m->settled)
		m->settled = mx;
out:
	free(w);
	free(before.v);
	free(after.v);
	return rc == MISSING ? 0 : rc;
}

static int my_head(struct evt_store *st, const struct evt_query *q,
		   int64_t *head, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	struct prm *p = params_for(q);
	int64_t upto = -1;
	int n, rc;

	*head = 0;
	if (q->safe && (rc = safe_end(st, &upto, e))) {
		free(p);
		return outward(rc);
	}
	evt_buf_addf(&sql, "SELECT MAX(`position`) FROM %s", m->ev);
	n = where(&sql, q, upto, p);
	rc = adhoc(st, sql.p, p, n, c, 1, one_int, head, "read", e);
	evt_buf_release(&sql);
	free(p);
	return rc;
}

static int my_count(struct evt_store *st, const struct evt_query *q,
		    int64_t *n, struct evt_err *e)
{
	struct my *m = MY(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	struct evt_query cq = *q;
	struct prm *p = params_for(q);
	int np, rc;

	cq.id = NULL;
	evt_buf_addf(&sql, "SELECT COUNT(*) FROM %s", m->ev);
	np = where(&sql, &cq, -1, p);
	rc = adhoc(st, sql.p, p, np, c, 1, one_int, n, "read", e);
	evt_buf_release(&sql);
	free(p);
	return rc;
}

struct summary {
	evt_summary_fn fn;
	void *ctx;
	const char *stream;	/* --aggregates STREAM, else NULL */
	struct evt_buf id;	/* the aggregate being walked */
	int64_t version, position;
	int any;
};

/* A row of --streams: one stream. */
static int stream_row(void *ctx, struct col *c)
{
	struct summary *x = ctx;
	struct evt_summary s;

	memset(&s, 0, sizeof(s));
	s.stream = c[0].b->p;
	s.stream_len = c[0].b->len;
	s.aggregates = c[1].i;
	s.position = c[2].i;
	s.events = c[3].i;
	return x->fn(x->ctx, &s);
}

/* The aggregate walked so far, to the caller. */
static int aggregate_done(struct summary *x)
{
	struct evt_summary s;

	memset(&s, 0, sizeof(s));
	s.stream = x->stream;
	s.stream_len = strlen(x->stream);
	s.id = x->id.p;
	s.id_len = x->id.len;
	s.version = x->version;
	s.position = x->position;
	return x->fn(x->ctx, &s);
}

/* A row of --aggregates: one event of the stream, in order of the
 * aggregate's bytes; a new id ends the one before. */
static int aggregate_row(void *ctx, struct col *c)
{
	struct summary *x = ctx;
	int rc;

	if (x->any && (c[0].b->len != x->id.len ||
		       memcmp(c[0].b->p, x->id.p, x->id.len) != 0)) {
		if ((rc = aggregate_done(x)))
			return rc;
		x->any = 0;
	}
	if (!x->any) {
		evt_buf_reset(&x->id);
		evt_buf_add(&x->id, c[0].b->p, c[0].b->len);
		evt_buf_addstr(&x->id, "");
		x->version = x->position = 0;
		x->any = 1;
	}
	if (c[1].i > x->version)
		x->version = c[1].i;
	if (c[2].i > x->position)
		x->position = c[2].i;
	return 0;
}

/* --streams: grouped by the server, one row a stream (in the table's
 * collation: fast, and streams differing only in case are made by nobody
 * but a foreign writer on a table evtstore made).  --aggregates: the
 * server grouping a stream of many aggregates builds a temporary table of
 * a row per aggregate (on disk past tmp_table_size: seconds for 100,000
 * aggregates); the stream's rows in order, grouped here, stream instead.
 * Names compare as bytes (a table made by evtstore may compare them
 * without case), its index finds the candidates. */
static int my_summary(struct evt_store *st, const char *stream,
		      evt_summary_fn fn, void *ctx, struct evt_err *e)
{
	struct my *m = MY(st);
	struct summary x = { fn, ctx, stream, EVT_BUF_INIT, 0, 0, 0 };
	struct evt_buf sql = EVT_BUF_INIT, b0 = EVT_BUF_INIT;
	struct col c[4] = { { 's', &b0, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	struct prm p[2] = { pstr(stream), pstr(stream) };
	int rc;

	if (stream)
		evt_buf_addf(&sql, "SELECT `aggregate_id`, `version`, "
			     "`position` FROM %s WHERE `stream` = ? AND "
			     "CAST(`stream` AS BINARY) = ? AND `aggregate_id` IS "
			     "NOT NULL ORDER BY CAST(`aggregate_id` AS BINARY)",
			     m->ev);
	else
		evt_buf_addf(&sql, "SELECT `stream`, COUNT(DISTINCT "
			     "`aggregate_id`), MAX(`position`), COUNT(*) FROM %s "
			     "WHERE `stream` IS NOT NULL GROUP BY `stream` ORDER "
			     "BY CAST(`stream` AS BINARY)", m->ev);
	rc = adhoc(st, sql.p, p, stream ? 2 : 0, c, stream ? 3 : 4,
		   stream ? aggregate_row : stream_row, &x, "read", e);
	if (!rc && x.any)
		rc = aggregate_done(&x);
	evt_buf_release(&sql);
	evt_buf_release(&b0);
	evt_buf_release(&x.id);
	return rc;
}

/* --- snapshots, bookmarks, parked events, keys, handlers -------------------- */

/* A write of evt's own tables (which = create_own's, or -1: none to
 * make); a missing table is made and the write tried again. */
static int own_write(struct evt_store *st, int q, const struct prm *p,
		     int n, int which, struct evt_err *e)
{
	MYSQL_STMT *s;
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((s = run(st, q, p, n, "write to", &rc, e))) {
			done(s);
			return 0;
		}
		if (rc != MISSING)
			return rc;
		if (which < 0)
			return 0;	/* nothing to change */
		if ((rc = create_own(st, which, e)))
			return rc;
	}
	return evt_errf(e, EVT_EFAIL, "cannot write to '%s': a table is "
			"missing", MY(st)->shown);
}

static int my_snapshot_get(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   struct evt_buf *state, int64_t *version,
			   int64_t *position, int *found, struct evt_err *e)
{
	struct evt_buf k = EVT_BUF_INIT;
	struct prm p[2] = { pstr(stream), pstr(id) };
	struct col c[4] = { { 's', &k, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 's', state, 0, { 0 }, 0, 0, 0 } };
	int rc, got;

	rc = row(st, Q_SNAP_GET, p, 2, c, 4, "read", 1, &got, e);
	if (!rc && got && strcmp(k.p, key) == 0) {
		*found = 1;
		*version = c[1].i;
		*position = c[2].i;
	}
	evt_buf_release(&k);
	return rc;
}

static int my_snapshot_put(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   const char *state, size_t len, int64_t version,
			   int64_t position, struct evt_err *e)
{
	struct prm p[6] = { pstr(stream), pstr(id), pstr(key), pint(version),
			    pint(position), pstrn(state, len) };

	return own_write(st, Q_SNAP_PUT, p, 6, 1, e);
}

static int my_bookmark_get(struct evt_store *st, const char *name,
			   int64_t *pos, int *found, struct evt_err *e)
{
	struct prm p[1] = { pstr(name) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc;

	rc = row(st, Q_BM_GET, p, 1, c, 1, "read", 1, found, e);
	if (!rc && *found)
		*pos = c[0].null ? 0 : c[0].i;
	return rc;
}

static int my_bookmark_set(struct evt_store *st, const char *name,
			   int64_t pos, struct evt_err *e)
{
	struct prm p[2] = { pstr(name), pint(pos) };
	MYSQL_STMT *s;
	int rc;

	if (!(s = run(st, Q_BM_SET, p, 2, "write to", &rc, e)))
		return rc == MISSING ? evt_errf(e, EVT_EFAIL, "cannot write to "
						"'%s': no bookmarks table",
						MY(st)->shown) : rc;
	done(s);
	return 0;
}

struct names {
	evt_bookmark_fn bm;
	evt_handler_fn hnd;
	evt_parked_fn parked;
	void *ctx;
};

static int bm_row(void *ctx, struct col *c)
{
	struct names *x = ctx;

	return x->bm(x->ctx, c[0].b->p, c[1].null ? 0 : c[1].i);
}

static int my_bookmarks(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			struct evt_err *e)
{
	struct names x = { fn, NULL, NULL, ctx };
	struct evt_buf b = EVT_BUF_INIT;
	struct col c[2] = { { 's', &b, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	MYSQL_STMT *s;
	int rc;

	if ((s = run(st, Q_BM_ALL, NULL, 0, "read", &rc, e)))
		rc = each(st, s, c, 2, bm_row, &x, "read", e);
	evt_buf_release(&b);
	return rc == MISSING ? 0 : outward(rc);
}

static int my_park(struct evt_store *st, const char *handler,
		   int64_t position, int status, struct evt_err *e)
{
	struct prm p[3] = { pstr(handler), pint(position), pint(status) };

	return own_write(st, Q_PARK, p, 3, 0, e);
}

static int my_parked_count(struct evt_store *st, const char *handler,
			   int64_t *n, struct evt_err *e)
{
	struct prm p[1] = { pstr(handler) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc, found;

	rc = row(st, Q_PARKED, p, 1, c, 1, "read", 1, &found, e);
	if (!rc && found)
		*n = c[0].i;
	return rc;
}

static int parked_row(void *ctx, struct col *c)
{
	struct names *x = ctx;
	char at[EVT_TS_LEN + 1] = "";

	if (!c[2].null)
		time_text(&c[2].t, at);
	return x->parked(x->ctx, c[0].i, (int)c[1].i, at);
}

static int my_parked(struct evt_store *st, const char *handler,
		     evt_parked_fn fn, void *ctx, struct evt_err *e)
{
	struct names x = { NULL, NULL, fn, ctx };
	struct prm p[1] = { pstr(handler) };
	struct col c[3] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 't', NULL, 0, { 0 }, 0, 0, 0 } };
	MYSQL_STMT *s;
	int rc;

	if ((s = run(st, Q_PARKED_LIST, p, 1, "read", &rc, e)))
		rc = each(st, s, c, 3, parked_row, &x, "read", e);
	return rc == MISSING ? 0 : outward(rc);
}

static int my_unpark(struct evt_store *st, const char *handler,
		     int64_t position, struct evt_err *e)
{
	struct prm p[3] = { pstr(handler), pint(position), pint(position) };

	return own_write(st, Q_UNPARK, p, 3, -1, e);
}

static int my_bookmark_delete(struct evt_store *st, const char *name,
			      struct evt_err *e)
{
	struct prm p[1] = { pstr(name) };

	return own_write(st, Q_BM_DEL, p, 1, -1, e);
}

/* Keys: inside the append's transaction, which holds the append lock (so
 * two appends with one KEY serialize: the second finds the first's). */
static int my_key_get(struct evt_store *st, const char *key,
		      struct evt_key *k, int *found, struct evt_err *e)
{
	struct prm p[1] = { pstr(key) };
	struct col c[4] = { { 's', &k->stream, 0, { 0 }, 0, 0, 0 },
			    { 's', &k->id, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 },
			    { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc;

	rc = row(st, Q_KEY_GET, p, 1, c, 4, "read", 1, found, e);
	if (!rc && *found) {
		k->first = c[2].i;
		k->last = c[3].i;
	}
	return rc;
}

static int my_key_put(struct evt_store *st, const char *key,
		      const char *stream, size_t slen, const char *id,
		      size_t idlen, int64_t first, int64_t last,
		      struct evt_err *e)
{
	struct prm p[5] = { pstr(key), pstrn(stream, slen), pstrn(id, idlen),
			    pint(first), pint(last) };
	MYSQL_STMT *s;
	int rc;

	/* the table was made when the store was opened (DDL would end the
	 * transaction) */
	if (!(s = run(st, Q_KEY_PUT, p, 5, "write to", &rc, e)))
		return rc == MISSING ? evt_errf(e, EVT_EFAIL, "cannot write to "
						"'%s': no keys table",
						MY(st)->shown) : rc;
	done(s);
	return 0;
}

static int my_handler_get(struct evt_store *st, const char *name,
			  struct evt_buf *streams, int *found,
			  struct evt_err *e)
{
	struct prm p[2] = { pstr(st->bookmarks), pstr(name) };
	struct col c[1] = { { 's', streams, 0, { 0 }, 0, 0, 0 } };

	return row(st, Q_HND_GET, p, 2, c, 1, "read", 1, found, e);
}

static int my_handler_start(struct evt_store *st, const char *name,
			    const char *streams, struct evt_err *e)
{
	struct prm p[3] = { pstr(st->bookmarks), pstr(name), pstr(streams) };

	return own_write(st, Q_HND_START, p, 3, 2, e);
}

static int my_handler_end(struct evt_store *st, const char *name,
			  const char *failure, struct evt_err *e)
{
	struct prm p[4] = { pstr(failure), pstr(failure), pstr(st->bookmarks),
			    pstr(name) };

	return own_write(st, Q_HND_END, p, 4, -1, e);
}

static int my_handler_delete(struct evt_store *st, const char *name,
			     struct evt_err *e)
{
	struct prm p[2] = { pstr(st->bookmarks), pstr(name) };

	return own_write(st, Q_HND_DEL, p, 2, -1, e);
}

static int hnd_row(void *ctx, struct col *c)
{
	struct names *x = ctx;

	return x->hnd(x->ctx, c[0].b->p, c[1].b->p);
}

static int my_handlers(struct evt_store *st, evt_handler_fn fn, void *ctx,
		       struct evt_err *e)
{
	struct names x = { NULL, fn, NULL, ctx };
	struct evt_buf b0 = EVT_BUF_INIT, b1 = EVT_BUF_INIT;
	struct col c[2] = { { 's', &b0, 0, { 0 }, 0, 0, 0 },
			    { 's', &b1, 0, { 0 }, 0, 0, 0 } };
	struct prm p[1] = { pstr(st->bookmarks) };
	MYSQL_STMT *s;
	int rc;

	if ((s = run(st, Q_HND_ALL, p, 1, "read", &rc, e)))
		rc = each(st, s, c, 2, hnd_row, &x, "read", e);
	evt_buf_release(&b0);
	evt_buf_release(&b1);
	return rc == MISSING ? 0 : outward(rc);
}

/* --- handler locks: GET_LOCK, which dies with the connection ----------------- */

/* GET_LOCK NAME, waiting at most wait_ms on the server. */
static int try_lock(struct evt_store *st, const char *name, int wait_ms,
		    int *got, struct evt_err *e)
{
	struct prm p[3] = { pstr(st->bookmarks), pstr(name), pint(0) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc, found;

	/* the timeout in seconds, a DOUBLE: as milliseconds / 1000 */
	p[2].type = MYSQL_TYPE_DOUBLE;
	p[2].d = wait_ms / 1000.0;
	rc = row(st, Q_TRYLOCK, p, 3, c, 1, "lock", 0, &found, e);
	*got = !rc && found && !c[0].null && c[0].i == 1;
	return rc;
}

static int my_lock(struct evt_store *st, const char *name, int wait,
		   struct evt_err *e)
{
	struct my *m = MY(st);
	int rc, got = 0;

	for (;;) {
		/* --wait: on the server (PROCESSLIST says "User lock") for
		 * 200 ms at a time, then the signals that came */
		if ((rc = try_lock(st, name, wait ? 200 : 0, &got, e)))
			return rc;
		if (got)
			break;
		if (!wait)
			return evt_errf(e, EVT_EBUSY, "%s: already running",
					name);
		if (evt_nap(0))
			return evt_errf(e, EVT_EBUSY, "%s: interrupted while "
					"waiting for the lock", name);
	}
	m->locks = evt_xrealloc(m->locks, (m->nlocks + 1) * sizeof(*m->locks));
	m->locks[m->nlocks++] = evt_xstrdup(name);
	return 0;
}

static void my_unlock(struct evt_store *st, const char *name)
{
	struct my *m = MY(st);
	struct prm p[2] = { pstr(st->bookmarks), pstr(name) };
	struct evt_err e;
	MYSQL_STMT *s;
	size_t i;
	int rc;

	for (i = 0; i < m->nlocks && strcmp(m->locks[i], name) != 0; i++)
		;
	if (i == m->nlocks)
		return;
	free(m->locks[i]);
	m->locks[i] = m->locks[--m->nlocks];
	if (!m->conn)
		return;
	if ((s = run(st, Q_UNLOCK, p, 2, "unlock", &rc, &e)))
		done(s);
}

/* After a reconnect: the locks died with the old session. */
static int relock(struct evt_store *st, struct evt_err *e)
{
	struct my *m = MY(st);
	size_t i;
	int rc, got;

	for (i = 0; i < m->nlocks; i++) {
		if ((rc = try_lock(st, m->locks[i], 0, &got, e)))
			return rc;
		if (!got)
			return evt_errf(e, EVT_EBUSY, "%s: lost the lock while "
					"reconnecting: another process holds "
					"it", m->locks[i]);
	}
	return 0;
}

static int my_lock_held(struct evt_store *st, const char *name, int *held,
			struct evt_err *e)
{
	struct prm p[2] = { pstr(st->bookmarks), pstr(name) };
	struct col c[1] = { { 'i', NULL, 0, { 0 }, 0, 0, 0 } };
	int rc, found;

	rc = row(st, Q_HELD, p, 2, c, 1, "read", 0, &found, e);
	*held = !rc && found && c[0].i == 1;
	return rc;
}

/* --- the wake-up: a poll of the greatest position ---------------------------- */

static int my_wait(struct evt_store *st, int timeout_ms, struct evt_err *e)
{
	struct my *m = MY(st);
	int64_t end = timeout_ms < 0 ? -1 : evt_mono_ms() + timeout_ms;
	int rc;

	m->follower = 1;
	if (!m->conn) {
		rc = reconnect(st, e);
		return rc == INTERRUPTED ? 0 : outward(rc);
	}
	for (;;) {
		int64_t now = evt_mono_ms(), mx;
		int step = m->held ? HOLD_POLL_MS :
			   now - m->seen_at < IDLE_MS ? POLL_MS : IDLE_POLL_MS;

		if (end >= 0 && now >= end)
			return 0;
		if (end >= 0 && end - now < step)
			step = (int)(end - now);
		/* SIGINT and SIGTERM get through here (and only here) */
		if (evt_nap(step))
			return 0;	/* a signal: the caller decides */
		if (m->held)
			return 0;	/* look at the gap again */
		if ((rc = adhoc_max(st, &mx, e))) {
			if (rc != LOST)
				return outward(rc);
			rc = reconnect(st, e);
			return rc == INTERRUPTED ? 0 : outward(rc);
		}
		if (!m->polled || mx != m->seen) {
			m->polled = 1;
			m->seen = mx;
			m->seen_at = evt_mono_ms();
			return 0;
		}
	}
}

const struct evt_backend evt_my_backend = {
	.name = "mariadb",
	.schemas = 0,
	.open = my_open,
	.close = my_close,
	.begin = my_begin,
	.version = my_version,
	.insert = my_insert,
	.commit = my_commit,
	.rollback = my_rollback,
	.read = my_read,
	.head = my_head,
	.summary = my_summary,
	.snapshot_get = my_snapshot_get,
	.snapshot_put = my_snapshot_put,
	.key_get = my_key_get,
	.key_put = my_key_put,
	.bookmark_get = my_bookmark_get,
	.bookmark_set = my_bookmark_set,
	.bookmarks = my_bookmarks,
	.park = my_park,
	.parked_count = my_parked_count,
	.parked = my_parked,
	.unpark = my_unpark,
	.bookmark_delete = my_bookmark_delete,
	.handler_get = my_handler_get,
	.handler_start = my_handler_start,
	.handler_end = my_handler_end,
	.handler_delete = my_handler_delete,
	.handlers = my_handlers,
	.count = my_count,
	.lock = my_lock,
	.unlock = my_unlock,
	.lock_held = my_lock_held,
	.wait = my_wait,
	.insert_many = my_insert_many,
};

/* store_pg.c - the PostgreSQL backend (evtstore's pg schema)
 *
 * libpq is loaded with dlopen when the first PostgreSQL store is opened, so
 * a program that never sees a postgres:// URL never pays for its two dozen
 * shared libraries; each PQ* function used is resolved into the table pq.
 * <libpq-fe.h> is included for its types only.
 *
 * Order: an evt writer takes a transaction-level advisory lock on its
 * events table (pg_advisory_xact_lock, keyed by the table's oid) before it
 * looks up versions and inserts, and holds it until COMMIT.  Positions come
 * from the table's sequence, so evt writers get them in commit order, and a
 * reader that resumes after position N never skips a transaction that
 * commits late.  The cost: the evt writers of one events table commit one
 * at a time.
 *
 * Inserts go in batches: one INSERT ... SELECT unnest(...) of binary
 * arrays per batch, RETURNING the positions in order.  Reads are a binary
 * COPY of the SELECT (COPY (SELECT ...) TO STDOUT), its values quoted as
 * literals: rows come one at a time, with less work per row on both sides
 * than the DataRows of a SELECT.
 *
 * Wake-up: an append NOTIFYs a channel named after the events table's oid,
 * delivered at COMMIT; a follower LISTENs to it and polls the socket.
 *
 * A store that has waited (a follower: evt-tail, evt-handle --follow)
 * reconnects with backoff when the connection is lost, takes its handler
 * locks again, LISTENs again and resumes its read; anything else fails
 * with exit 1, and an unfinished transaction is never committed.
 *
 * Ownership: every PGresult is cleared by the function that got it; the
 * struct pg and its strings belong to the store.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "msg.h"
#include "dl.h"
#include "store_impl.h"

/* The libpq functions used, resolved with dlsym. */
#define PQ_FUNCS(X) \
	X(PQconnectdbParams) X(PQstatus) X(PQerrorMessage) X(PQfinish) \
	X(PQsetNoticeProcessor) X(PQexec) X(PQexecParams) X(PQprepare) \
	X(PQexecPrepared) X(PQsendQueryParams) \
	X(PQgetResult) X(PQresultStatus) X(PQresultErrorField) X(PQclear) \
	X(PQntuples) X(PQgetvalue) X(PQgetlength) X(PQgetisnull) \
	X(PQsocket) X(PQconsumeInput) X(PQnotifies) X(PQfreemem) \
	X(PQisBusy) X(PQgetCancel) X(PQcancel) X(PQfreeCancel) \
	X(PQsendQuery) X(PQgetCopyData) X(PQescapeLiteral) \
	X(PQbackendPID)

static struct pq_api {
	PQ_FUNCS(EVT_DL_MEMBER)
} pq;

static void *pq_lib;	/* loaded once per process, never unloaded */

/* libpq 14's pipeline mode, when the library has it (NULL: older). */
static int (*pipe_enter)(PGconn *), (*pipe_exit)(PGconn *),
	   (*pipe_sync)(PGconn *);

/* A row s of the events table's greatest visible position m (the %s)
 * and vx, the transactions that may still commit positions into it: those
 * holding RowExclusiveLock on the table of oid OID (a parameter), read
 * from pg_locks after the statement's snapshot was taken (horizon()). */
#define GREATEST_AND_WRITERS(OID) \
	"(SELECT (SELECT coalesce(max(position), 0) FROM %s) AS m, " \
	"(SELECT array_agg(virtualtransaction) FROM pg_locks WHERE locktype " \
	"= 'relation' AND database = (SELECT oid FROM pg_database WHERE " \
	"datname = current_database()) AND relation = " OID "::oid AND " \
	"mode = 'RowExclusiveLock' AND granted AND pid IS DISTINCT FROM " \
	"pg_backend_pid()) AS vx) AS s"

/* Statements prepared per connection (on their second use: a one-shot
 * program does not pay a round trip for preparing). */
#define QUERIES(X) \
	X(VERSION, version) X(INSERT, insert) X(INSERT_BLIND, insert_blind) \
	X(INSERT1, insert1) X(INSERT1_BLIND, insert1_blind) \
	X(BM_GET, bm_get) X(BM_SET, bm_set) X(BM_ALL, bm_all) \
	X(SNAP_GET, snap_get) X(SNAP_PUT, snap_put) X(PARK, park) \
	X(PARKED, parked) X(TRYLOCK, trylock) X(UNLOCK, unlock) X(HELD, held) \
	X(HORIZON, horizon) X(KEY_GET, key_get) X(KEY_PUT, key_put) \
	X(PARKED_LIST, parked_list) X(UNPARK, unpark) X(BM_DEL, bm_del) \
	X(HND_GET, hnd_get) X(HND_START, hnd_start) X(HND_END, hnd_end) \
	X(HND_DEL, hnd_del) X(HND_ALL, hnd_all)
#define X(q, name) Q_##q,
enum { QUERIES(X) Q_N };
_Static_assert(Q_N <= 32, "the prepared and used bits of struct pg");
#undef X

/* A pooler between evt and the server (pooled()): none, one that gives
 * each client its own server session (pgbouncer's session pooling), or
 * one that hands a server connection to another client after each
 * transaction (transaction or statement pooling), where nothing that
 * lives in a session (a prepared statement, LISTEN, a session advisory
 * lock) stays ours. */
enum { POOL_UNKNOWN, POOL_NONE, POOL_SESSION, POOL_TRANSACTION };

/* Results here besides 0, EVT_STOP and the exit codes (EVT_E*). */
enum {
	ROW_BAD = -2,		/* a copy_fn: the row is not as asked */
	INTERRUPTED = EVT_INTERRUPTED,	/* a reconnect stopped by SIGINT/SIGTERM */
	LOST = EVT_LOST,		/* the connection was lost; e says how */
	ROW_STOP = -5,		/* a copy_fn: the caller's EVT_STOP, carried
				   through copy_out */
};

struct pg {
	PGconn *conn;
	char *shown;		/* the URL for messages, password hidden */
	char *ev, *bm;		/* quoted table names, maybe with schema */
	char *snap, *parked, *keys, *hnd;	/* evt's own tables, quoted */
	char *ev_schema;	/* quoted schema of a schema.name, or NULL */
	char *bm_schema;
	char *ev_name;		/* unquoted name part */
	unsigned ev_oid, bm_oid;	/* 0: not known (yet) */
	unsigned keys_oid;
	char chan[24];		/* LISTEN channel of the events table */
	char *sql[Q_N];		/* statement texts, built on first use */
	unsigned prepared, used;	/* bits of Q_* on this connection */
	int in_tx;
	int begin_pending;	/* in_tx, but nothing sent yet: BEGIN and
				   the append lock go with the first
				   statement (begin_pipe()) */
	int notified;		/* the NOTIFY of this transaction is sent */
	int with_commit;	/* pg_insert_many sends COMMIT with the
				   INSERT (pg_insert_commit()) */
	int queued;		/* statements sent in pipeline mode whose
				   results are not read yet (unqueue()) */
	int pool;		/* POOL_*: what is between us and the server */
	int listening;		/* 1: LISTENs; -1: polls (pooled()) */
	int follower;		/* has waited: reconnect when lost */
	int sync_off;		/* synchronous_commit = off */
	int64_t settled;	/* every position <= settled is final */
	char *pend;		/* the writers (virtual transaction ids, a
				   text[] literal) that may still commit a
				   position <= pend_upto; NULL: none */
	int64_t pend_upto;
	int held;		/* the last gap-safe read stopped at a gap
				   that a running writer may fill */
	char **locks;		/* handler locks held */
	size_t nlocks;
	struct evt_buf arr[6];	/* the insert batch's arrays */
	struct evt_buf tmp;
};

#define PG(st) ((struct pg *)(st)->impl)

/* --- loading libpq ---------------------------------------------------- */

static const char *pq_load(char *why, size_t n)
{
#define X(f) EVT_DL_FN(pq_api, f)
	static const struct evt_dl_fn fns[] = { PQ_FUNCS(X) };
#undef X
	const char *lib = getenv("EVT_LIBPQ"), *missing, *err;

	if (pq_lib)
		return NULL;
	if (!lib || !*lib)
		lib = "libpq.so.5";
	if ((pq_lib = evt_dl_bind(lib, fns, sizeof(fns) / sizeof(fns[0]), &pq,
				  &missing, &err))) {
		*(void **)&pipe_enter = dlsym(pq_lib, "PQenterPipelineMode");
		*(void **)&pipe_exit = dlsym(pq_lib, "PQexitPipelineMode");
		*(void **)&pipe_sync = dlsym(pq_lib, "PQpipelineSync");
		if (!pipe_exit || !pipe_sync)
			pipe_enter = NULL;
		return NULL;
	}
	if (missing)
		snprintf(why, n, "%s has no %s (libpq 10 or later is needed)",
			 lib, missing);
	else if (!err || strstr(err, "No such file"))
		snprintf(why, n, "%s not found (install libpq5)", lib);
	else
		snprintf(why, n, "%s", err);
	return why;
}

/* --- names, keys, messages ---------------------------------------------- */

/* An advisory lock key: what it is for, a table's oid and a name. */
static int64_t lock_key(const char *what, unsigned oid, const char *name)
{
	uint64_t h = evt_fnv(EVT_FNV0, "evt", 4);

	h = evt_fnv(h, what, strlen(what) + 1);
	h = evt_fnv(h, &oid, sizeof(oid));
	if (name)
		h = evt_fnv(h, name, strlen(name) + 1);
	return (int64_t)h;
}

/* The key of the append lock of an events table: APPEND_KEY | its oid, so
 * that the server can make it as well (begin_pipe()).  Its LISTEN channel
 * is "evt_" and the oid in decimal. */
#define APPEND_KEY ((int64_t)0x6576746100000000LL)

static int64_t append_key(unsigned oid)
{
	return APPEND_KEY | (int64_t)oid;
}

/* The key of evt's schema changes, one per database. */
#define DDL_KEY ((int64_t)0x6576742d64646c00LL)	/* "evt-ddl" */

/* evt's table of idempotency keys (evt-append --key). */
#define KEYS_DDL "CREATE TABLE IF NOT EXISTS %s (key text PRIMARY KEY, " \
	"stream text NOT NULL, aggregate_id text NOT NULL, first bigint NOT " \
	"NULL, last bigint NOT NULL)"

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
			 (unsigned)(evt_fnv(EVT_FNV0, name, n) & 0xffffffffu), suffix);
	}
	return out;
}

/* "schema"."name<suffix>" or "name<suffix>". */
static char *quoted(const char *schema, const char *name, const char *suffix)
{
	struct evt_buf b = EVT_BUF_INIT;
	char *d = derived(name, suffix);

	if (schema)
		evt_buf_addf(&b, "%s.", schema);
	evt_buf_addf(&b, "\"%s\"", d);
	free(d);
	return b.p;
}

/* Split a checked table name "schema.name" or "name". */
static void split(const char *table, char **schema, const char **name)
{
	const char *dot = strchr(table, '.');
	struct evt_buf b = EVT_BUF_INIT;

	*schema = NULL;
	*name = table;
	if (!dot)
		return;
	evt_buf_addf(&b, "\"%.*s\"", (int)(dot - table), table);
	*schema = b.p;
	*name = dot + 1;
}

/* The URL with its password, if any, replaced by "***". */
static char *hide_password(const char *url)
{
	struct evt_buf b = EVT_BUF_INIT;
	const char *p = strstr(url, "://"), *end, *at, *colon, *q;

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
	/* and password=... in the query */
	while ((q = strstr(p, "password="))) {
		if (q > url && q[-1] != '?' && q[-1] != '&') {
			evt_buf_add(&b, p, (size_t)(q + 9 - p));
			p = q + 9;
			continue;
		}
		evt_buf_add(&b, p, (size_t)(q + 9 - p));
		evt_buf_addstr(&b, "***");
		p = q + 9 + strcspn(q + 9, "&");
	}
	evt_buf_addstr(&b, p);
	return b.p;
}

/* The first line of a libpq message, without its final period. */
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

static const char *sqlstate(const PGresult *res)
{
	const char *s = res ? pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) :
			      NULL;

	return s ? s : "";
}

/* A table (or its schema) that does not exist. */
static int missing(const PGresult *res)
{
	const char *s = sqlstate(res);

	return strcmp(s, "42P01") == 0 || strcmp(s, "3F000") == 0;
}

/* Was the connection lost (the server restarted, the network broke)? */
static int is_lost(struct pg *pg, const PGresult *res)
{
	const char *s = sqlstate(res);

	return !pg->conn || pq.PQstatus(pg->conn) == CONNECTION_BAD ||
	       strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0;
}

/* The message of a failed statement as "cannot WHAT 'URL': ...". */
static int fail(struct evt_store *st, const PGresult *res, const char *what,
		struct evt_err *e)
{
	struct pg *pg = PG(st);
	const char *m = res ? pq.PQresultErrorField(res,
						    PG_DIAG_MESSAGE_PRIMARY) :
			      NULL;
	char line[600];
	int code = strcmp(sqlstate(res), "23505") == 0 ? EVT_ECONFLICT :
							 EVT_EFAIL;

	if (!m && pg->conn) {
		m = pq.PQerrorMessage(pg->conn);
		/* the server's message, as libpq prefixes it */
		if (strncmp(m, "ERROR:  ", 8) == 0 ||
		    strncmp(m, "FATAL:  ", 8) == 0)
			m += 8;
	}
	first_line(m, line, sizeof(line));
	evt_errf(e, code, "cannot %s '%s': %s", what, pg->shown, line);
	return is_lost(pg, res) && code == EVT_EFAIL ? LOST : code;
}

/* LOST and INTERRUPTED are internal codes (with a message in e): callers
 * outside get EVT_EFAIL. */
static int outward(int rc)
{
	return rc == LOST || rc == INTERRUPTED ? EVT_EFAIL : rc;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* --- connecting -------------------------------------------------------- */

static int exec_ok(struct evt_store *st, const char *sql, const char *what,
		   struct evt_err *e)
{
	PGresult *res = pq.PQexec(PG(st)->conn, sql);
	ExecStatusType s = pq.PQresultStatus(res);
	int rc = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		rc = fail(st, res, what, e);
	pq.PQclear(res);
	return rc;
}

static int connect_once(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	static const char *const kw[] = { "dbname",
					  "fallback_application_name", NULL };
	const char *val[] = { st->path, evt_prog, NULL };
	char line[600];

	pg->conn = pq.PQconnectdbParams(kw, val, 1);
	if (!pg->conn)
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': out of memory",
				pg->shown);
	if (pq.PQstatus(pg->conn) != CONNECTION_OK) {
		first_line(pq.PQerrorMessage(pg->conn), line, sizeof(line));
		pq.PQfinish(pg->conn);
		pg->conn = NULL;
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", pg->shown,
				line);
	}
	pq.PQsetNoticeProcessor(pg->conn, quiet, NULL);
	pg->prepared = pg->used = 0;
	pg->pool = POOL_UNKNOWN;
	pg->listening = 0;
	pg->in_tx = 0;
	if (pg->sync_off)
		return outward(exec_ok(st, "SET synchronous_commit = off",
				       "open", e));
	return 0;
}

static int relock(struct evt_store *st, struct evt_err *e);

/* Connect again after a lost connection: with backoff (50 ms doubling to
 * 1 s) for up to a minute.  INTERRUPTED when a signal stops it. */
static int reconnect(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	int64_t give_up = evt_mono_ms() + 60000;
	int delay = 50, rc;

	if (pg->conn)
		pq.PQfinish(pg->conn);
	pg->conn = NULL;
	for (;;) {
		if ((rc = connect_once(st, e)) == 0)
			break;
		if (pg->conn) {
			pq.PQfinish(pg->conn);
			pg->conn = NULL;
		}
		if (evt_mono_ms() + delay > give_up)
			return rc;
		if (evt_nap(delay)) {
			evt_errf(e, EVT_EFAIL, "cannot use '%s': interrupted "
				 "while reconnecting", pg->shown);
			return INTERRUPTED;
		}
		delay = delay < 500 ? delay * 2 : 1000;
	}
	return relock(st, e);
}

/* Before a statement: a follower whose connection is gone gets a new one. */
static int begin_pipe(struct evt_store *st, const char *sql2, int n,
		      const char *const *vals, const int *lens,
		      const int *fmts, PGresult **res2, struct evt_err *e);
static int unqueue(struct evt_store *st, struct evt_err *e);

static int ready(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);

	if (pg->conn && pq.PQstatus(pg->conn) == CONNECTION_OK) {
		/* a statement of the transaction: what was put off first */
		if (pg->queued)
			return unqueue(st, e);
		if (pg->begin_pending)
			return begin_pipe(st, NULL, 0, NULL, NULL, NULL, NULL,
					  e);
		return 0;
	}
	if (!pg->follower || pg->in_tx)
		return evt_errf(e, EVT_EFAIL, "cannot use '%s': the connection "
				"was lost", pg->shown);
	return reconnect(st, e);
}

/* --- statements ---------------------------------------------------------- */

#define X(q, name) "evt_" #name,
static const char *const qname[Q_N] = { QUERIES(X) };
#undef X

/* The statements: their SQL, where %s is the name of the table given
 * (none for T_NONE).  qsql makes Q_INSERT, Q_INSERT_BLIND, Q_INSERT1,
 * Q_INSERT1_BLIND and Q_HORIZON,
 * whose SQL is not one of these. */
enum { T_NONE, T_EV, T_BM, T_SNAP, T_PARKED, T_KEYS, T_HND };

static const struct {
	int table;
	const char *sql;
} pg_sql[Q_N] = {
	[Q_VERSION] = { T_EV,
		"SELECT max(version) FROM %s WHERE stream = $1 AND "
		"aggregate_id = $2" },
	[Q_BM_GET] = { T_BM,
		"SELECT position FROM %s WHERE bookmark = $1" },
	[Q_BM_SET] = { T_BM,
		"INSERT INTO %s (bookmark, position) VALUES ($1, $2) ON "
		"CONFLICT (bookmark) DO UPDATE SET position = "
		"excluded.position" },
	[Q_BM_ALL] = { T_BM,
		"SELECT bookmark, position FROM %s ORDER BY bookmark COLLATE "
		"\"C\"" },
	[Q_SNAP_GET] = { T_SNAP,
		"SELECT key, version, position, state FROM %s WHERE stream = "
		"$1 AND aggregate_id = $2" },
	[Q_SNAP_PUT] = { T_SNAP,
		"INSERT INTO %s (stream, aggregate_id, key, version, "
		"position, state) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT "
		"(stream, aggregate_id) DO UPDATE SET key = excluded.key, "
		"version = excluded.version, position = excluded.position, "
		"state = excluded.state" },
	[Q_PARK] = { T_PARKED,
		"INSERT INTO %s (handler, position, status, time) VALUES ($1, "
		"$2, $3, now()) ON CONFLICT (handler, position) DO UPDATE SET "
		"status = excluded.status, time = excluded.time" },
	[Q_PARKED] = { T_PARKED,
		"SELECT count(*) FROM %s WHERE handler = $1" },
	[Q_TRYLOCK] = { T_NONE,
		"SELECT pg_try_advisory_lock($1::bigint)" },
	[Q_UNLOCK] = { T_NONE,
		"SELECT pg_advisory_unlock($1::bigint)" },
	[Q_HELD] = { T_NONE,
		"SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = "
		"'advisory' AND database = (SELECT oid FROM pg_database WHERE "
		"datname = current_database()) AND classid = $1::oid AND "
		"objid = $2::oid AND objsubid = 1 AND granted AND pid <> "
		"pg_backend_pid())" },
	[Q_KEY_GET] = { T_KEYS,
		"SELECT stream, aggregate_id, first, last FROM %s WHERE key = "
		"$1" },
	[Q_KEY_PUT] = { T_KEYS,
		"INSERT INTO %s (key, stream, aggregate_id, first, last) "
		"VALUES ($1, $2, $3, $4, $5)" },
	[Q_PARKED_LIST] = { T_PARKED,
		"SELECT position, status, to_char(time AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM %s WHERE handler = "
		"$1 ORDER BY position" },
	[Q_UNPARK] = { T_PARKED,
		"DELETE FROM %s WHERE handler = $1 AND ($2::bigint < 0 OR "
		"position = $2::bigint)" },
	[Q_BM_DEL] = { T_BM,
		"DELETE FROM %s WHERE bookmark = $1" },
	[Q_HND_GET] = { T_HND,
		"SELECT streams FROM %s WHERE bookmarks = $1 AND name = $2" },
	[Q_HND_START] = { T_HND,
		"INSERT INTO %s (bookmarks, name, streams, \"group\", "
		"started) VALUES ($1, $2, $3, NULL, now()) ON CONFLICT "
		"(bookmarks, name) DO UPDATE SET streams = excluded.streams, "
		"\"group\" = excluded.\"group\", started = excluded.started" },
	[Q_HND_END] = { T_HND,
		"UPDATE %s SET ended = now(), failed = CASE WHEN $3::text IS "
		"NULL THEN failed ELSE now() END, failure = "
		"coalesce($3::text, failure) WHERE bookmarks = $1 AND name = "
		"$2" },
	[Q_HND_DEL] = { T_HND,
		"DELETE FROM %s WHERE bookmarks = $1 AND name = $2" },
	[Q_HND_ALL] = { T_HND,
		"SELECT name, streams FROM %s WHERE bookmarks = $1 ORDER BY "
		"name COLLATE \"C\"" },
};

/* The INSERT of a batch, from the arrays of insert_arrays; the second %s
 * is " RETURNING position, timestamp", or nothing (Q_INSERT_BLIND).  t:
 * the timestamp in binary when it is in evt's own form, else NULL and tt
 * the text to parse.  unnest() in the select list (ProjectSet) goes
 * through the arrays in step and in order, without first copying them
 * into a tuplestore as unnest() in FROM does (a third of the server's
 * time). */
#define INSERT_SQL \
	"INSERT INTO %s (version, stream, aggregate_id, timestamp, " \
	"event) SELECT v, s, a, coalesce(t, tt::timestamptz), e FROM " \
	"(SELECT unnest($1::int4[]) AS v, unnest($2::text[]) AS s, " \
	"unnest($3::text[]) AS a, unnest($4::timestamptz[]) AS t, " \
	"unnest($5::text[]) AS tt, unnest($6::text[]) AS e) AS u%s"

/* One row, as plain parameters ($1 version and $4 timestamp as text): a
 * new connection plans this half a millisecond faster than unnest(). */
#define INSERT1_SQL \
	"INSERT INTO %s (version, stream, aggregate_id, timestamp, " \
	"event) VALUES ($1, $2, $3, $4, $5)%s"

/* The horizon of a gap-safe read (see horizon()), each %s the events
 * table: $1 lo, $2 the pending writers, $3 the table's oid, $4 look for a
 * gap.  One snapshot gives m and the gap; pg_locks is read after that
 * snapshot was taken.  A writer holds RowExclusiveLock on the table from
 * before it draws a position until it ends; a prepared transaction holds
 * it with no pid. */
#define HORIZON_SQL \
	"SELECT s.m, s.vx IS NOT NULL, coalesce($2::text[] && " \
	"s.vx, false), CASE WHEN s.vx IS NULL OR NOT $4 OR " \
	"s.m <= $1 THEN NULL WHEN (SELECT count(*) FROM %s " \
	"WHERE position > $1 AND position <= s.m) = s.m - $1 " \
	"THEN NULL ELSE (SELECT min(g) FROM (SELECT $1 + 1 AS " \
	"g WHERE NOT EXISTS (SELECT 1 FROM %s WHERE position " \
	"= $1 + 1) UNION ALL SELECT e.position + 1 FROM %s e " \
	"WHERE e.position > $1 AND e.position < s.m AND NOT " \
	"EXISTS (SELECT 1 FROM %s f WHERE f.position = " \
	"e.position + 1)) AS x) END, s.vx FROM " \
	GREATEST_AND_WRITERS("$3")

static const char *table_name(const struct pg *pg, int t)
{
	const char *const name[] = {
		"", pg->ev, pg->bm, pg->snap, pg->parked, pg->keys, pg->hnd
	};

	return name[t];
}

static const char *qsql(struct evt_store *st, int q)
{
	struct pg *pg = PG(st);
	struct evt_buf b = EVT_BUF_INIT;

	if (pg->sql[q])
		return pg->sql[q];
	if (q == Q_INSERT || q == Q_INSERT_BLIND)
		evt_buf_addf(&b, INSERT_SQL, pg->ev, q == Q_INSERT_BLIND ? "" :
			     " RETURNING position, timestamp");
	else if (q == Q_INSERT1 || q == Q_INSERT1_BLIND)
		evt_buf_addf(&b, INSERT1_SQL, pg->ev, q == Q_INSERT1_BLIND ?
			     "" : " RETURNING position, timestamp");
	else if (q == Q_HORIZON)
		evt_buf_addf(&b, HORIZON_SQL, pg->ev, pg->ev, pg->ev, pg->ev,
			     pg->ev);
	else
		evt_buf_addf(&b, pg_sql[q].sql, table_name(pg, pg_sql[q].table));
	pg->sql[q] = b.p;
	return b.p;
}

static int backend_pid(struct evt_store *st, PGconn *c, long *pid);

/* Run statement q: unnamed on its first use, prepared from the second,
 * but never behind a pooler (a prepared statement lives in one server
 * session, which a pooler may hand to another client). */
static PGresult *run_q(struct evt_store *st, int q, int n,
		       const char *const *vals, const int *lens,
		       const int *fmts, int binary)
{
	struct pg *pg = PG(st);
	unsigned bit = 1u << q;
	long pid;

	if (!(pg->prepared & bit) && (pg->used & bit) &&
	    pg->pool == POOL_UNKNOWN) {
		/* libpq's backend pid is the pooler's make-believe one */
		if (backend_pid(st, pg->conn, &pid) == 0)
			pg->pool = pid == pq.PQbackendPID(pg->conn) ?
				   POOL_NONE : POOL_SESSION;
	}
	if (!(pg->prepared & bit) && (pg->used & bit) &&
	    pg->pool == POOL_NONE) {
		PGresult *res = pq.PQprepare(pg->conn, qname[q], qsql(st, q),
					     n, NULL);

		if (pq.PQresultStatus(res) == PGRES_COMMAND_OK)
			pg->prepared |= bit;
		pq.PQclear(res);
	}
	pg->used |= bit;
	if (pg->prepared & bit)
		return pq.PQexecPrepared(pg->conn, qname[q], n, vals, lens,
					 fmts, binary);
	return pq.PQexecParams(pg->conn, qsql(st, q), n, NULL, vals, lens,
			       fmts, binary);
}

/* Run q; NULL with *rc set (and the message in e) when it failed.  A
 * follower outside a transaction reconnects once and tries again (every
 * statement that goes through here may run twice). *rc is 1 with NULL
 * returned when the table is missing and missing_ok. */
static PGresult *run(struct evt_store *st, int q, int n,
		     const char *const *vals, const int *lens, const int *fmts,
		     int binary, const char *what, int missing_ok, int *rc,
		     struct evt_err *e)
{
	struct pg *pg = PG(st);
	int tries = 0;

	for (;;) {
		PGresult *res;
		ExecStatusType s;

		if ((*rc = ready(st, e)))
			break;
		res = run_q(st, q, n, vals, lens, fmts, binary);
		s = pq.PQresultStatus(res);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
			return res;
		if (missing_ok && missing(res)) {
			pq.PQclear(res);
			*rc = 1;
			return NULL;
		}
		*rc = fail(st, res, what, e);
		pq.PQclear(res);
		if (*rc != LOST || !pg->follower || pg->in_tx || tries++)
			break;
		if ((*rc = reconnect(st, e)))
			break;
	}
	*rc = outward(*rc);
	return NULL;
}

static int64_t get_be64(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | u[i];
	return (int64_t)v;
}

static int32_t get_be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
			 (uint32_t)u[2] << 8 | u[3]);
}

static void put_be32(struct evt_buf *b, uint32_t v)
{
	char c[4];

	c[0] = (char)(v >> 24);
	c[1] = (char)(v >> 16);
	c[2] = (char)(v >> 8);
	c[3] = (char)v;
	evt_buf_add(b, c, 4);
}

/* An integer column of a text-format result. */
static int64_t int_at(const PGresult *res, int row, int col)
{
	int64_t v = 0;

	if (!pq.PQgetisnull(res, row, col))
		evt_parse_i64(pq.PQgetvalue(res, row, col), INT64_MIN,
			      INT64_MAX, &v);
	return v;
}

/* --- the schema ------------------------------------------------------------- */

/* The oids of the events and bookmarks tables (0: missing). */
static int table_oids(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	const char *vals[3] = { pg->ev, pg->bm, pg->keys };
	PGresult *res;
	int rc = 0;

	res = pq.PQexecParams(pg->conn, "SELECT to_regclass($1)::oid, "
			      "to_regclass($2)::oid, to_regclass($3)::oid", 3,
			      NULL, vals, NULL, NULL, 0);
	if (pq.PQresultStatus(res) != PGRES_TUPLES_OK ||
	    pq.PQntuples(res) != 1) {
		rc = outward(fail(st, res, "open", e));
	} else {
		pg->ev_oid = (unsigned)int_at(res, 0, 0);
		pg->bm_oid = (unsigned)int_at(res, 0, 1);
		pg->keys_oid = (unsigned)int_at(res, 0, 2);
	}
	pq.PQclear(res);
	if (!rc && pg->ev_oid)
		snprintf(pg->chan, sizeof(pg->chan), "evt_%u", pg->ev_oid);
	return rc;
}

/* Run a DDL script in a transaction under evt's DDL lock, so that two
 * processes doing it at once are safe. */
static int ddl(struct evt_store *st, const char *script, struct evt_err *e)
{
	struct evt_buf sql = EVT_BUF_INIT;
	int rc;

	evt_buf_addf(&sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld); %s; "
		     "COMMIT", (long long)DDL_KEY, script);
	rc = outward(exec_ok(st, sql.p, "create the schema in", e));
	if (rc && pq.PQstatus(PG(st)->conn) == CONNECTION_OK)
		pq.PQclear(pq.PQexec(PG(st)->conn, "ROLLBACK"));
	evt_buf_release(&sql);
	return rc;
}

static int create_schema(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct evt_buf s = EVT_BUF_INIT;
	char *i1, *i2;
	int rc;

	/* Under the lock: IF NOT EXISTS on the tables, and the indexes only
	 * with a table made here (an evtstore table has its own names). */
	i1 = derived(pg->ev_name, "_stream_position_unique");
	i2 = derived(pg->ev_name, "_stream_aggregate_version_unique");
	evt_buf_addstr(&s, "DO $evt$ BEGIN ");
	/* CREATE SCHEMA IF NOT EXISTS needs the right to create one even
	 * when it exists */
	if (pg->ev_schema)
		evt_buf_addf(&s, "IF to_regnamespace('%s') IS NULL THEN "
			     "CREATE SCHEMA %s; END IF; ", pg->ev_schema,
			     pg->ev_schema);
	if (pg->bm_schema)
		evt_buf_addf(&s, "IF to_regnamespace('%s') IS NULL THEN "
			     "CREATE SCHEMA %s; END IF; ", pg->bm_schema,
			     pg->bm_schema);
	evt_buf_addf(&s,
		"IF to_regclass('%s') IS NULL THEN "
		"CREATE TABLE %s (position BIGSERIAL PRIMARY KEY, "
		"version integer, stream text, aggregate_id text, "
		"timestamp timestamptz, event text); "
		"CREATE UNIQUE INDEX \"%s\" ON %s (stream, position); "
		"CREATE UNIQUE INDEX \"%s\" ON %s (stream, aggregate_id, "
		"version); "
		"END IF; END $evt$; "
		"CREATE TABLE IF NOT EXISTS %s (bookmark text PRIMARY KEY, "
		"position bigint)",
		pg->ev, pg->ev, i1, pg->ev, i2, pg->ev, pg->bm);
	free(i1);
	free(i2);
	rc = ddl(st, s.p, e);
	evt_buf_release(&s);
	return rc ? rc : table_oids(st, e);
}

/* evt's own tables: <events>_snapshots (1), <events>_parked (0),
 * <events>_handlers (2). */
static int create_own(struct evt_store *st, int snapshots, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct evt_buf s = EVT_BUF_INIT;
	int rc;

	if (snapshots == 2)
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (bookmarks text "
			     "NOT NULL, name text NOT NULL, streams text NOT "
			     "NULL, \"group\" text, started timestamptz, ended "
			     "timestamptz, failed timestamptz, failure text, "
			     "PRIMARY KEY (bookmarks, name))", pg->hnd);
	else if (snapshots)
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (stream text NOT "
			     "NULL, aggregate_id text NOT NULL, key text NOT "
			     "NULL, version integer NOT NULL, position bigint "
			     "NOT NULL, state text NOT NULL, PRIMARY KEY "
			     "(stream, aggregate_id))", pg->snap);
	else
		evt_buf_addf(&s, "CREATE TABLE IF NOT EXISTS %s (handler text "
			     "NOT NULL, position bigint NOT NULL, status "
			     "integer, time timestamptz, PRIMARY KEY (handler, "
			     "position))", pg->parked);
	rc = ddl(st, s.p, e);
	evt_buf_release(&s);
	return rc;
}

/* --- open and close -------------------------------------------------------- */

static int pg_open(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = evt_xmalloc(sizeof(*pg));
	const char *evname, *bmname, *why;
	char buf[600];
	int rc;

	memset(pg, 0, sizeof(*pg));
	st->impl = pg;
	pg->shown = hide_password(st->url);
	pg->sync_off = st->sync == EVT_SYNC_NORMAL || st->relaxed;
	split(st->events, &pg->ev_schema, &evname);
	split(st->bookmarks, &pg->bm_schema, &bmname);
	pg->ev_name = evt_xstrdup(evname);
	pg->ev = quoted(pg->ev_schema, evname, "");
	pg->bm = quoted(pg->bm_schema, bmname, "");
	pg->snap = quoted(pg->ev_schema, evname, "_snapshots");
	pg->parked = quoted(pg->ev_schema, evname, "_parked");
	pg->keys = quoted(pg->ev_schema, evname, "_keys");
	pg->hnd = quoted(pg->ev_schema, evname, "_handlers");
	if ((why = pq_load(buf, sizeof(buf))))
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", pg->shown,
				why);
	if ((rc = connect_once(st, e)))
		return rc;
	if (!st->write)
		return 0;
	/* an append finds the tables, or makes them, with its first
	 * statement (begin_pipe()) */
	if (st->append && !st->keys && pipe_enter)
		return 0;
	if ((rc = table_oids(st, e)))
		return rc;
	if ((!pg->ev_oid || !pg->bm_oid) && (rc = create_schema(st, e)))
		return rc;
	if (st->keys && !pg->keys_oid) {
		/* before the append's transaction: a table made by another
		 * process while a transaction runs may stay unseen in it */
		struct evt_buf s = EVT_BUF_INIT;

		evt_buf_addf(&s, KEYS_DDL, pg->keys);
		rc = ddl(st, s.p, e);
		evt_buf_release(&s);
		if (!rc)
			pg->keys_oid = 1;	/* there now */
	}
	return rc;
}

static void pg_close(struct evt_store *st)
{
	struct pg *pg = PG(st);
	size_t i;
	int q;

	if (pg->conn)
		pq.PQfinish(pg->conn);
	for (q = 0; q < Q_N; q++)
		free(pg->sql[q]);
	for (i = 0; i < pg->nlocks; i++)
		free(pg->locks[i]);
	free(pg->locks);
	for (i = 0; i < 6; i++)
		evt_buf_release(&pg->arr[i]);
	evt_buf_release(&pg->tmp);
	free(pg->shown);
	free(pg->ev);
	free(pg->bm);
	free(pg->snap);
	free(pg->parked);
	free(pg->keys);
	free(pg->hnd);
	free(pg->ev_schema);
	free(pg->bm_schema);
	free(pg->ev_name);
	free(pg->pend);
	free(pg);
	st->impl = NULL;
}

/* --- appending ------------------------------------------------------------- */

/* --- the append's transaction in few round trips ------------------------------
 *
 * With libpq's pipeline mode (libpq 14) an append costs two round trips
 * after connecting: BEGIN, the append lock, the NOTIFY of the commit and
 * the version read (begin_pipe(); the server makes the lock key and the
 * channel from the events table's oid there, and a missing table is made
 * then, not probed for at open); the INSERT and COMMIT (with --quiet
 * queued, then unqueue(), the idempotency key with them; else
 * pg_insert_commit()).  Without pipeline mode each statement is a round
 * trip of its own. */

/* Read the results of nq statements sent in pipeline mode and of the sync
 * after them, then leave pipeline mode.  r[i]: each one's result (NULL
 * when the connection broke).  -1 when not all came. */
static int pipe_collect(PGconn *c, PGresult **r, int nq)
{
	PGresult *x;
	int i, rc = 0;

	for (i = 0; i < nq; i++) {
		if (!(r[i] = pq.PQgetResult(c))) {
			rc = -1;
			continue;
		}
		while ((x = pq.PQgetResult(c)))	/* up to its end (NULL) */
			pq.PQclear(x);
	}
	while ((x = pq.PQgetResult(c))) {	/* the sync */
		int sync = pq.PQresultStatus(x) == PGRES_PIPELINE_SYNC;

		pq.PQclear(x);
		if (sync)
			break;
	}
	if (!pipe_exit(c))
		rc = -1;
	return rc;
}

static int send_q(PGconn *c, const char *sql, int n, const char *const *vals,
		  const int *lens, const int *fmts, int binary)
{
	return pq.PQsendQueryParams(c, sql, n, NULL, vals, lens, fmts, binary);
}

/* The append lock and NOTIFY of an events table whose oid is not known
 * yet, made by the server from the tables' names ($1 events, $2 bookmarks):
 * no row when either table is missing (no lock is taken then, and sql2,
 * which reads the events table, fails). */
#define FIND_LOCK "SELECT e, b, pg_advisory_xact_lock(%lld | e), " \
	"pg_notify('evt_' || e, '') FROM (SELECT to_regclass($1)::oid::int8 " \
	"AS e, to_regclass($2)::oid::int8 AS b) AS t WHERE e IS NOT NULL " \
	"AND b IS NOT NULL"

/* Send BEGIN, the lock timeout, the append lock and NOTIFY, then sql2 when
 * given, in pipeline mode; the number of statements sent. */
static int send_begin(struct evt_store *st, const char *sql2, int n,
		      const char *const *vals, const int *lens,
		      const int *fmts)
{
	struct pg *pg = PG(st);
	const char *names[2] = { pg->ev, pg->bm };
	char set[64], lock[320];
	int nq = 0;

	send_q(pg->conn, "BEGIN", 0, NULL, NULL, NULL, 0);
	nq++;
	if (st->busy_timeout >= 0) {
		snprintf(set, sizeof(set), "SET LOCAL lock_timeout = %lld",
			 (long long)st->busy_timeout);
		send_q(pg->conn, set, 0, NULL, NULL, NULL, 0);
		nq++;
	}
	if (pg->ev_oid) {
		snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock("
			 "%lld), pg_notify('%s', '')",
			 (long long)append_key(pg->ev_oid), pg->chan);
		send_q(pg->conn, lock, 0, NULL, NULL, NULL, 0);
	} else {
		snprintf(lock, sizeof(lock), FIND_LOCK, (long long)APPEND_KEY);
		send_q(pg->conn, lock, 2, names, NULL, NULL, 0);
	}
	nq++;
	if (sql2) {
		send_q(pg->conn, sql2, n, vals, lens, fmts, 0);
		nq++;
	}
	pipe_sync(pg->conn);
	return nq;
}

/* BEGIN, the lock timeout, the append lock and NOTIFY, then sql2 when
 * given (its result in *res2), in one round trip.  A connection that does
 * not know the events table's oid yet has the server find it in the same
 * round trip; when a table is missing, it is made and all is sent again. */
static int begin_pipe(struct evt_store *st, const char *sql2, int n,
		      const char *const *vals, const int *lens,
		      const int *fmts, PGresult **res2, struct evt_err *e)
{
	struct pg *pg = PG(st);
	PGresult *r[5];
	int nq, bad, i, rc, lock;

	pg->begin_pending = 0;
again:
	memset(r, 0, sizeof(r));
	if (!pipe_enter(pg->conn)) {
		rc = outward(fail(st, NULL, "write to", e));
		goto out;
	}
	nq = send_begin(st, sql2, n, vals, lens, fmts);
	lock = nq - 1 - !!sql2;
	if (pipe_collect(pg->conn, r, nq) < 0) {
		for (i = 0; i < nq; i++)
			pq.PQclear(r[i]);
		rc = outward(fail(st, NULL, "write to", e));
		goto out;
	}
	if (!pg->ev_oid && pq.PQresultStatus(r[lock]) == PGRES_TUPLES_OK) {
		if (pq.PQntuples(r[lock]) == 1) {
			pg->ev_oid = (unsigned)int_at(r[lock], 0, 0);
			pg->bm_oid = (unsigned)int_at(r[lock], 0, 1);
			snprintf(pg->chan, sizeof(pg->chan), "evt_%u",
				 pg->ev_oid);
		} else {	/* a table is missing: make it */
			for (i = 0; i < nq; i++)
				pq.PQclear(r[i]);
			pq.PQclear(pq.PQexec(pg->conn, "ROLLBACK"));
			if ((rc = create_schema(st, e)))
				goto out;
			if (!pg->ev_oid) {
				rc = evt_errf(e, EVT_EFAIL, "cannot write to "
					      "'%s': no events table",
					      pg->shown);
				goto out;
			}
			goto again;
		}
	}
	for (bad = 0; bad < nq; bad++) {
		ExecStatusType t = pq.PQresultStatus(r[bad]);

		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
			break;
	}
	rc = bad < nq ? outward(fail(st, r[bad], "write to", e)) : 0;
	if (!rc && res2)
		*res2 = r[--nq];
	for (i = 0; i < nq; i++)
		pq.PQclear(r[i]);
	if (!rc) {
		pg->notified = 1;
		return 0;
	}
	if (pg->conn && pq.PQstatus(pg->conn) == CONNECTION_OK)
		pq.PQclear(pq.PQexec(pg->conn, "ROLLBACK"));
out:
	if (rc)
		pg->in_tx = 0;
	return rc;
}

/* Send a statement of the transaction whose result only says whether it
 * worked, without waiting for it (pipeline mode). */
static int queue(struct evt_store *st, const char *sql, int n,
		 const char *const *vals, const int *lens, const int *fmts,
		 int binary, struct evt_err *e)
{
	struct pg *pg = PG(st);

	if (!pg->queued && !pipe_enter(pg->conn))
		return outward(fail(st, NULL, "write to", e));
	if (!send_q(pg->conn, sql, n, vals, lens, fmts, binary)) {
		pg->queued++;
		unqueue(st, e);
		return outward(fail(st, NULL, "write to", e));
	}
	pg->queued++;
	return 0;
}

/* Read what queue() sent: 0, or the error of the first that failed (the
 * transaction is then aborted). */
static int unqueue(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	PGresult *r[8];
	int nq = pg->queued, i, rc = 0;

	pg->queued = 0;
	if (nq > 8)
		nq = 8;		/* queue() is never asked for more */
	pipe_sync(pg->conn);
	if (pipe_collect(pg->conn, r, nq) < 0)
		rc = outward(fail(st, NULL, "write to", e));
	for (i = 0; i < nq; i++) {
		ExecStatusType t = pq.PQresultStatus(r[i]);

		if (!rc && r[i] && t != PGRES_COMMAND_OK &&
		    t != PGRES_TUPLES_OK)
			rc = outward(fail(st, r[i], "write to", e));
		pq.PQclear(r[i]);
	}
	return rc;
}

static int pg_begin(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	char sql[160];
	int rc;

	if ((rc = ready(st, e)))
		return outward(rc);
	pg->notified = 0;
	if (pipe_enter) {
		/* sent with the transaction's first statement */
		pg->in_tx = 1;
		pg->begin_pending = 1;
		return 0;
	}
	if (!pg->ev_oid && (rc = table_oids(st, e)))
		return rc;
	if (!pg->ev_oid)
		return evt_errf(e, EVT_EFAIL, "cannot write to '%s': no events "
				"table", pg->shown);
	if (st->busy_timeout >= 0)
		snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL lock_timeout = "
			 "%lld; SELECT pg_advisory_xact_lock(%lld)",
			 (long long)st->busy_timeout,
			 (long long)append_key(pg->ev_oid));
	else
		snprintf(sql, sizeof(sql), "BEGIN; SELECT "
			 "pg_advisory_xact_lock(%lld)",
			 (long long)append_key(pg->ev_oid));
	pg->in_tx = 1;
	if ((rc = exec_ok(st, sql, "write to", e))) {
		if (pq.PQstatus(pg->conn) == CONNECTION_OK)
			pq.PQclear(pq.PQexec(pg->conn, "ROLLBACK"));
		pg->in_tx = 0;
		return outward(rc);
	}
	return 0;
}

static int pg_version(struct evt_store *st, const char *stream, size_t slen,
		      const char *id, size_t idlen, int64_t *v,
		      struct evt_err *e)
{
	const char *vals[2] = { stream, id };
	int lens[2] = { (int)slen, (int)idlen }, fmts[2] = { 1, 1 }, rc;
	PGresult *res = NULL;

	if (PG(st)->begin_pending && !PG(st)->queued) {
		if ((rc = begin_pipe(st, qsql(st, Q_VERSION), 2, vals, lens,
				     fmts, &res, e)))
			return rc;
	} else if (!(res = run(st, Q_VERSION, 2, vals, lens, fmts, 0, "read",
			       0, &rc, e))) {
		return rc;
	}
	*v = pq.PQntuples(res) ? int_at(res, 0, 0) : 0;
	pq.PQclear(res);
	return 0;
}

/* 2000-01-01 (PostgreSQL's epoch) in milliseconds since 1970. */
#define PG_EPOCH_MS 946684800000LL

static int num(const char *s, int n, int *v)
{
	*v = 0;
	while (n--) {
		if (*s < '0' || *s > '9')
			return 0;
		*v = *v * 10 + (*s++ - '0');
	}
	return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", the form evt writes, as microseconds since
 * 2000-01-01; 0 when ts is in another form. */
static int ts_binary(const char *ts, size_t n, int64_t *us)
{
	static const char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				      30, 31 };
	int y, mo, d, h, mi, sec, ms, leap;
	int64_t era, yoe, doy, days;

	if (n != EVT_TS_LEN || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' ||
	    ts[13] != ':' || ts[16] != ':' || ts[19] != '.' || ts[23] != 'Z' ||
	    !num(ts, 4, &y) || !num(ts + 5, 2, &mo) || !num(ts + 8, 2, &d) ||
	    !num(ts + 11, 2, &h) || !num(ts + 14, 2, &mi) ||
	    !num(ts + 17, 2, &sec) || !num(ts + 20, 3, &ms))
		return 0;
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return 0;
	/* days since 1970-01-01 of a civil date (proleptic Gregorian) */
	y -= mo <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	*us = ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms -
	       PG_EPOCH_MS) * 1000;
	return 1;
}

/* A timestamptz (microseconds since 2000) as evt prints it; 0 for
 * infinity. */
static int ts_text(int64_t us, char *out)
{
	int64_t ms;

	if (us == INT64_MAX || us == INT64_MIN)
		return 0;
	ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
	evt_ts_format(ms + PG_EPOCH_MS, out);
	return 1;
}

/* A timestamp: binary into t, or text into tt (one without a zone is
 * UTC), the other one NULL. */
static void add_ts(struct evt_buf *t, struct evt_buf *tt, const char *ts,
		   size_t n)
{
	size_t i;
	int64_t us;
	int zone = 0;

	if (ts_binary(ts, n, &us)) {
		put_be32(t, 8);
		put_be32(t, (uint32_t)((uint64_t)us >> 32));
		put_be32(t, (uint32_t)us);
		put_be32(tt, 0xffffffffu);
		return;
	}
	put_be32(t, 0xffffffffu);
	for (i = 10; i < n; i++)
		if (ts[i] == 'Z' || ts[i] == 'z' || ts[i] == '+' ||
		    ts[i] == '-')
			zone = 1;
	if (zone) {
		put_be32(tt, (uint32_t)n);
		evt_buf_add(tt, ts, n);
	} else if (n == 10) {
		put_be32(tt, (uint32_t)n + 7);
		evt_buf_add(tt, ts, n);
		evt_buf_add(tt, "T00:00Z", 7);
	} else {
		put_be32(tt, (uint32_t)n + 1);
		evt_buf_add(tt, ts, n);
		evt_buf_addc(tt, 'Z');
	}
}

static void array_start(struct evt_buf *b, uint32_t oid, size_t n)
{
	evt_buf_reset(b);
	put_be32(b, 1);		/* dimensions */
	put_be32(b, 1);		/* may have NULLs */
	put_be32(b, oid);
	put_be32(b, (uint32_t)n);
	put_be32(b, 1);		/* lower bound */
}

#define INT4OID 23
#define TEXTOID 25
#define TIMESTAMPTZOID 1184

/* The rows as the six arrays of the INSERT, in binary (pg->arr): versions,
 * streams, aggregate ids, timestamps (binary when in evt's own form, else
 * NULL and the text to parse in the fifth) and events. */
static int insert_arrays(struct evt_store *st, const struct evt_record *rows,
			 size_t n, struct evt_err *e)
{
	struct pg *pg = PG(st);
	size_t k;

	array_start(&pg->arr[0], INT4OID, n);
	array_start(&pg->arr[1], TEXTOID, n);
	array_start(&pg->arr[2], TEXTOID, n);
	array_start(&pg->arr[3], TIMESTAMPTZOID, n);
	array_start(&pg->arr[4], TEXTOID, n);
	array_start(&pg->arr[5], TEXTOID, n);
	for (k = 0; k < n; k++) {
		const struct evt_record *r = &rows[k];
		char tsbuf[EVT_TS_LEN + 1];

		if (r->version < 1 || r->version > INT32_MAX)
			return evt_errf(e, EVT_EFAIL, "cannot append to '%s': "
					"version %lld is out of range",
					pg->shown, (long long)r->version);
		put_be32(&pg->arr[0], 4);
		put_be32(&pg->arr[0], (uint32_t)r->version);
		put_be32(&pg->arr[1], (uint32_t)r->stream_len);
		evt_buf_add(&pg->arr[1], r->stream, r->stream_len);
		put_be32(&pg->arr[2], (uint32_t)r->id_len);
		evt_buf_add(&pg->arr[2], r->id, r->id_len);
		if (r->ts) {
			add_ts(&pg->arr[3], &pg->arr[4], r->ts, r->ts_len);
		} else {
			evt_ts_format(evt_now_ms(), tsbuf);
			add_ts(&pg->arr[3], &pg->arr[4], tsbuf, EVT_TS_LEN);
		}
		put_be32(&pg->arr[5], (uint32_t)r->event_len);
		evt_buf_add(&pg->arr[5], r->event, r->event_len);
	}
	return 0;
}

/* The parameters of INSERT1_SQL for row r, whose timestamp is at most
 * EVT_TS_LEN long (version and ts: their text). */
static int insert1_params(struct evt_store *st, const struct evt_record *r,
			  const char **vals, int *lens, int *fmts,
			  char version[24], char ts[EVT_TS_LEN + 1],
			  struct evt_err *e)
{
	if (r->version < 1 || r->version > INT32_MAX)
		return evt_errf(e, EVT_EFAIL, "cannot append to '%s': version "
				"%lld is out of range", PG(st)->shown,
				(long long)r->version);
	snprintf(version, 24, "%lld", (long long)r->version);
	if (r->ts)
		snprintf(ts, EVT_TS_LEN + 1, "%.*s", (int)r->ts_len, r->ts);
	else
		evt_ts_format(evt_now_ms(), ts);
	vals[0] = version;
	vals[1] = r->stream;
	vals[2] = r->id;
	vals[3] = ts;
	vals[4] = r->event;
	lens[0] = lens[3] = 0;
	lens[1] = (int)r->stream_len;
	lens[2] = (int)r->id_len;
	lens[4] = (int)r->event_len;
	fmts[0] = fmts[3] = 0;
	return 0;
}

/* The positions the INSERT gave back, into rows.  Timestamps given in
 * another form than evt's are printed as stored, as evt-read prints them
 * (from pg->tmp). */
static void stored_rows(struct pg *pg, PGresult *res, struct evt_record *rows,
			size_t n)
{
	size_t k;

	evt_buf_reset(&pg->tmp);
	for (k = 0; k < n; k++) {
		char *out;
		int64_t us;

		rows[k].position = get_be64(pq.PQgetvalue(res, (int)k, 0));
		if ((rows[k].ts && ts_binary(rows[k].ts, rows[k].ts_len, &us)) ||
		    pq.PQgetisnull(res, (int)k, 1))
			continue;
		if (!pg->tmp.len)
			evt_buf_grow(&pg->tmp, n * (EVT_TS_LEN + 1));
		pg->tmp.len = n * (EVT_TS_LEN + 1);
		out = pg->tmp.p + k * (EVT_TS_LEN + 1);
		if (ts_text(get_be64(pq.PQgetvalue(res, (int)k, 1)), out)) {
			rows[k].ts = out;
			rows[k].ts_len = EVT_TS_LEN;
		}
	}
}

/* The INSERT (which gives back positions) and COMMIT in one round trip:
 * the INSERT's result, or NULL with *rc (the transaction is left to roll
 * back). */
static PGresult *insert_commit_pipe(struct evt_store *st, int q, int np,
				    const char *const *vals, const int *lens,
				    const int *fmts, int *rc,
				    struct evt_err *e)
{
	struct pg *pg = PG(st);
	PGresult *r[2] = { NULL, NULL };

	if (!pipe_enter(pg->conn)) {
		*rc = outward(fail(st, NULL, "append to", e));
		return NULL;
	}
	send_q(pg->conn, qsql(st, q), np, vals, lens, fmts, 1);
	send_q(pg->conn, "COMMIT", 0, NULL, NULL, NULL, 0);
	pipe_sync(pg->conn);
	if (pipe_collect(pg->conn, r, 2) < 0) {
		pq.PQclear(r[0]);
		pq.PQclear(r[1]);
		*rc = outward(fail(st, NULL, "append to", e));
		return NULL;
	}
	if (pq.PQresultStatus(r[0]) == PGRES_TUPLES_OK &&
	    pq.PQresultStatus(r[1]) != PGRES_COMMAND_OK) {
		*rc = outward(fail(st, r[1], "commit to", e));
		pq.PQclear(r[0]);
		pq.PQclear(r[1]);
		return NULL;
	}
	if (pq.PQresultStatus(r[0]) == PGRES_TUPLES_OK) {
		pg->in_tx = 0;
		pg->notified = 0;
	}
	pq.PQclear(r[1]);
	return r[0];	/* an INSERT that failed: told as without COMMIT */
}

static int pg_insert_many(struct evt_store *st, struct evt_record *rows,
			  size_t n, size_t *bad, struct evt_err *e)
{
	struct pg *pg = PG(st);
	const char *vals[6];
	int lens[6], fmts[6] = { 1, 1, 1, 1, 1, 1 }, rc, i, np = 6;
	int q = st->blind ? Q_INSERT_BLIND : Q_INSERT;
	char version[24], ts[EVT_TS_LEN + 1];
	PGresult *res;

	*bad = n;
	if (!n)
		return 0;
	if (!pg->in_tx)
		return evt_errf(e, EVT_EFAIL, "cannot append to '%s': no "
				"transaction", pg->shown);
	if (n == 1 && (!rows[0].ts || rows[0].ts_len <= EVT_TS_LEN)) {
		if ((rc = insert1_params(st, rows, vals, lens, fmts, version,
					 ts, e)))
			return rc;
		np = 5;
		q = st->blind ? Q_INSERT1_BLIND : Q_INSERT1;
	} else {
		if ((rc = insert_arrays(st, rows, n, e)))
			return rc;
		for (i = 0; i < 6; i++) {
			vals[i] = pg->arr[i].p;
			lens[i] = (int)pg->arr[i].len;
		}
	}
	/* Without RETURNING the server does a third less work per row; and
	 * nothing to give back, its result can come with COMMIT's. */
	if (st->blind && pipe_enter && (rc = ready(st, e)))
		return rc;
	if (st->blind && pipe_enter && pg->queued < 6)
		return queue(st, qsql(st, q), np, vals, lens, fmts, 1, e);
	if ((rc = ready(st, e)))
		return rc;
	if (pg->with_commit) {
		if (!(res = insert_commit_pipe(st, q, np, vals, lens, fmts,
					       &rc, e)))
			return rc;
	} else {
		res = run_q(st, q, np, vals, lens, fmts, 1);
	}
	if (st->blind && pq.PQresultStatus(res) == PGRES_COMMAND_OK) {
		pq.PQclear(res);
		return 0;
	}
	if (pq.PQresultStatus(res) != PGRES_TUPLES_OK ||
	    (size_t)pq.PQntuples(res) != n) {
		rc = outward(fail(st, res, "append to", e));
		pq.PQclear(res);
		if (rc == EVT_ECONFLICT && n == 1)
			*bad = 0;
		return rc;
	}
	stored_rows(pg, res, rows, n);
	pq.PQclear(res);
	/* big batches leave big buffers: keep at most 16 MiB of them */
	for (i = 0; i < 6; i++)
		if (pg->arr[i].cap > ((size_t)16 << 20))
			evt_buf_release(&pg->arr[i]);
	return 0;
}

static int pg_commit(struct evt_store *st, struct evt_err *e);

static int pg_insert_commit(struct evt_store *st, struct evt_record *rows,
			    size_t n, size_t *bad, struct evt_err *e)
{
	struct pg *pg = PG(st);
	int rc;

	/* in one round trip when the transaction began in a pipeline (its
	 * NOTIFY sent) and the rows' positions are wanted back (else
	 * the INSERT is queued with COMMIT anyway) */
	if (!n || !pipe_enter || st->blind || pg->queued || !pg->notified ||
	    pg->begin_pending) {
		if ((rc = pg_insert_many(st, rows, n, bad, e)))
			return rc;
		return pg_commit(st, e);
	}
	pg->with_commit = 1;
	rc = pg_insert_many(st, rows, n, bad, e);
	pg->with_commit = 0;
	return rc;
}

static int pg_insert(struct evt_store *st, struct evt_record *r,
		     struct evt_err *e)
{
	size_t bad;

	return pg_insert_many(st, r, 1, &bad, e);
}

static int pg_commit(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	char sql[64];
	int rc;

	if (pg->begin_pending) {	/* nothing was written */
		pg->begin_pending = 0;
		pg->in_tx = 0;
		return 0;
	}
	if (pg->queued) {
		if (!pg->notified) {
			snprintf(sql, sizeof(sql), "NOTIFY %s", pg->chan);
			rc = queue(st, sql, 0, NULL, NULL, NULL, 0, e);
		}
		rc = queue(st, "COMMIT", 0, NULL, NULL, NULL, 0, e);
		if (!rc)
			rc = unqueue(st, e);
		if (rc && pg->conn && pq.PQstatus(pg->conn) == CONNECTION_OK)
			pq.PQclear(pq.PQexec(pg->conn, "ROLLBACK"));
	} else {
		if (pg->notified)
			snprintf(sql, sizeof(sql), "COMMIT");
		else
			snprintf(sql, sizeof(sql), "NOTIFY %s; COMMIT",
				 pg->chan);
		rc = outward(exec_ok(st, sql, "commit to", e));
	}
	pg->in_tx = 0;
	pg->notified = 0;
	return rc;
}

static void pg_rollback(struct evt_store *st)
{
	struct pg *pg = PG(st);

	if (!pg->in_tx)
		return;
	pg->in_tx = 0;
	pg->notified = 0;
	if (pg->begin_pending) {	/* nothing was sent */
		pg->begin_pending = 0;
		return;
	}
	if (pg->queued) {
		struct evt_err e;

		unqueue(st, &e);
	}
	if (pg->conn && pq.PQstatus(pg->conn) == CONNECTION_OK)
		pq.PQclear(pq.PQexec(pg->conn, "ROLLBACK"));
}

/* --- reading ------------------------------------------------------------------ */

/* The events of one member of a group (group.h), chosen by the server:
 * the member never fetches what it skips. */
static void group_where(struct evt_buf *sql, const struct evt_query *q)
{
	if (q->group_n > 0)
		evt_buf_addf(sql, " AND ('x' || substr(md5(coalesce("
			     "aggregate_id, '')), 1, 8))::bit(32)::bigint %% %d "
			     "= %d", q->group_n, q->group_i);
}

/* WHERE for q, with its parameters: $1 after, then streams, then id. */
static void where(struct evt_buf *sql, const struct evt_query *q)
{
	size_t i;

	evt_buf_addstr(sql, " WHERE position > $1");
	if (q->streams) {
		if (q->nstreams == 1) {
			evt_buf_addstr(sql, " AND stream = $2");
		} else {
			evt_buf_addstr(sql, " AND stream IN (");
			for (i = 0; i < q->nstreams; i++)
				evt_buf_addf(sql, "%s$%zu", i ? ", " : "",
					     i + 2);
			evt_buf_addc(sql, ')');
		}
	}
	if (q->id)
		evt_buf_addf(sql, " AND aggregate_id = $%zu",
			     (q->streams ? q->nstreams : 0) + 2);
	group_where(sql, q);
}

static size_t params(const struct evt_query *q, char *after,
		     const char ***vals)
{
	size_t n = 1 + (q->streams ? q->nstreams : 0) + (q->id ? 1 : 0), i;
	const char **v = evt_xmalloc(n * sizeof(*v));

	snprintf(after, 24, "%lld", (long long)q->after);
	v[0] = after;
	for (i = 0; q->streams && i < q->nstreams; i++)
		v[i + 1] = q->streams[i];
	if (q->id)
		v[n - 1] = q->id;
	*vals = v;
	return n;
}

/* --- the gap-free prefix -------------------------------------------------------
 *
 * A position is drawn from the sequence at INSERT and becomes visible at
 * COMMIT, so a writer can commit position 7 after 8 is visible.  evt's own
 * writers serialize, but evtstore's and a plain INSERT from psql do not.
 * A gap-safe read (q->safe) therefore stops below the first position that
 * a running transaction may still commit: the horizon.
 *
 * Why it holds.  Let m be the greatest position visible in a snapshot S,
 * and W the transactions that hold RowExclusiveLock on the events table
 * when pg_locks is read, after S was taken.  Every position <= m was drawn
 * before m was, hence before S (the sequence hands out values in time
 * order: evtstore's schema keeps the default CACHE 1).  A transaction that
 * drew one of them took RowExclusiveLock before drawing (the table is
 * locked when the INSERT is planned) and keeps it until it ends; so when
 * it is not in W it had ended when pg_locks was read: its rows are
 * committed or never will be.  Hence:
 *   - W empty: every position <= m is final;
 *   - no gap in (lo, m] in S, lo final: every position <= m is final
 *     (a running writer cannot commit a position that is taken);
 *   - else the first gap g: the positions < g are final, and once every
 *     transaction of W has ended, so is every position <= m.
 * A later statement (a new snapshot) then sees every final row.
 *
 * The cost: one more statement per read (pg_locks is cheap to read with no
 * lock contention; the gap is looked for only while some writer runs, over
 * the positions about to be read); a reader held at a gap polls every few
 * milliseconds until those writers end; a settled gap, however old, is
 * never examined again (pg->settled), and a permanent one (a rolled-back
 * insert) costs one wait for the writers of that moment.  A long-running
 * foreign transaction that inserted into the table holds followers until
 * it ends (evt(7), "Ordering and gaps"). */

#define HOLD_POLL_MS 20		/* while held: look again this often */

/* The horizon for a reader after position "after": *h is the greatest
 * position below which nothing can appear any more (may be <= after:
 * nothing to read yet).  scan: look for the first gap (else an unknown
 * state counts as a gap at once).  Sets pg->held. */
static int horizon(struct evt_store *st, int64_t after, int scan, int64_t *h,
		   struct evt_err *e)
{
	struct pg *pg = PG(st);
	PGresult *res;
	int rc;

	if (!pg->ev_oid && (rc = table_oids(st, e)))
		return rc;
	for (;;) {
		int64_t lo = after > pg->settled ? after : pg->settled, m, gap;
		char los[24], oid[16];
		const char *vals[4] = { los, pg->pend, oid, scan ? "t" : "f" };
		int writers, busy;

		snprintf(los, sizeof(los), "%lld", (long long)lo);
		snprintf(oid, sizeof(oid), "%u", pg->ev_oid);
		res = run(st, Q_HORIZON, 4, vals, NULL, NULL, 0, "read", 1, &rc,
			  e);
		if (!res) {		/* 1: no table (yet) */
			*h = after;
			pg->held = 0;
			return rc == 1 ? 0 : rc;
		}
		m = int_at(res, 0, 0);
		writers = pq.PQgetvalue(res, 0, 1)[0] == 't';
		busy = pq.PQgetvalue(res, 0, 2)[0] == 't';
		gap = pq.PQgetisnull(res, 0, 3) ? 0 : int_at(res, 0, 3);
		if (pg->pend && !busy) {
			/* the writers we waited for have ended: look again */
			if (pg->pend_upto > pg->settled)
				pg->settled = pg->pend_upto;
			free(pg->pend);
			pg->pend = NULL;
			pq.PQclear(res);
			continue;
		}
		if (!writers) {
			if (m > pg->settled)
				pg->settled = m;
			*h = pg->settled;
		} else {
			if (gap)
				*h = gap - 1;
			else if (scan || m <= lo)
				*h = m > lo ? m : lo;
			else
				*h = lo;
			/* only a horizon that starts from a final position
			 * is final itself */
			if (lo == pg->settled && *h > pg->settled)
				pg->settled = *h;
			if (*h < m && !pg->pend) {
				pg->pend = evt_xstrdup(pq.PQgetvalue(res, 0, 4));
				pg->pend_upto = m;
			}
		}
		pq.PQclear(res);
		pg->held = pg->pend && *h < pg->pend_upto;
		return 0;
	}
}

/* How long a one-shot reader waits at a held gap: the busy timeout. */
/* The query of q with its values as literals (COPY takes no parameters),
 * positions up to upto (< 0: all); NULL with the message in e when one
 * cannot be quoted. */
static char *read_sql(struct evt_store *st, const struct evt_query *q,
		      int64_t upto, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct evt_buf sql = EVT_BUF_INIT;
	size_t i, n = (q->streams ? q->nstreams : 0) + (q->id ? 1 : 0);

	evt_buf_addf(&sql, "COPY (SELECT position, stream, aggregate_id, "
		     "version, timestamp, event FROM %s WHERE position > %lld",
		     pg->ev, (long long)q->after);
	if (upto >= 0)
		evt_buf_addf(&sql, " AND position <= %lld", (long long)upto);
	for (i = 0; i < n; i++) {
		const char *v = q->id && i == n - 1 ? q->id : q->streams[i];
		char *lit = pq.PQescapeLiteral(pg->conn, v, strlen(v));

		if (!lit) {
			evt_buf_release(&sql);
			fail(st, NULL, "read", e);
			return NULL;
		}
		if (q->id && i == n - 1)
			evt_buf_addf(&sql, " AND aggregate_id = %s", lit);
		else if (q->nstreams == 1)
			evt_buf_addf(&sql, " AND stream = %s", lit);
		else
			evt_buf_addf(&sql, "%s%s", i ? ", " : " AND stream IN (",
				     lit);
		if (q->nstreams > 1 && i == q->nstreams - 1)
			evt_buf_addc(&sql, ')');
		pq.PQfreemem(lit);
	}
	group_where(&sql, q);
	evt_query_order(&sql, q);
	evt_buf_addstr(&sql, ") TO STDOUT (FORMAT binary)");
	return sql.p;
}

/* The binary COPY header: signature, flags, header extension length. */
static const char copy_sig[11] = "PGCOPY\n\377\r\n";

/* Stop the running COPY and throw away what is left of it. */
static void cancel(struct pg *pg)
{
	PGcancel *c = pq.PQgetCancel(pg->conn);
	PGresult *res;
	char err[256], *buf;

	if (c) {
		pq.PQcancel(c, err, sizeof(err));
		pq.PQfreeCancel(c);
	}
	while (pq.PQgetCopyData(pg->conn, &buf, 0) > 0)
		pq.PQfreemem(buf);
	while ((res = pq.PQgetResult(pg->conn)))
		pq.PQclear(res);
}

#define COPY_MAXF 8

/* The fields of one row of binary COPY data at p[0..n): 1 (f[i] NULL for
 * a NULL), 0 at the trailer, -1 when it is not a row of nf fields. */
static int split_row(const char *p, size_t n, int nf, const char **f,
		     int32_t *len)
{
	size_t off = 2;
	int i;

	if (n < 2)
		return -1;
	if (p[0] == '\377' && p[1] == '\377')
		return 0;
	if (((unsigned char)p[0] << 8 | (unsigned char)p[1]) != nf)
		return -1;
	for (i = 0; i < nf; i++) {
		if (n - off < 4)
			return -1;
		len[i] = get_be32(p + off);
		off += 4;
		if (len[i] < 0) {
			f[i] = NULL;
			continue;
		}
		if (n - off < (size_t)len[i])
			return -1;
		f[i] = p + off;
		off += (size_t)len[i];
	}
	return 1;
}

/* Each row of the fields of a binary COPY: 0 to go on, non-zero to stop
 * (returned by copy_out), ROW_BAD when the row is not as asked. */
typedef int (*copy_fn)(void *ctx, const char **f, const int32_t *len);

/* Run "COPY (query) TO STDOUT (FORMAT binary)" and hand each row of nf
 * fields to fn: rows come one at a time (memory stays flat), with less
 * work on both sides than rows of a SELECT.  A missing table reads as
 * empty. */
static int copy_out(struct evt_store *st, const char *sql, int nf, copy_fn fn,
		    void *ctx, struct evt_err *e)
{
	struct pg *pg = PG(st);
	const char *f[COPY_MAXF];
	int32_t len[COPY_MAXF];
	PGresult *res;
	char *buf;
	int ret = 0, n, head = 1;

	if (!pq.PQsendQuery(pg->conn, sql))
		return fail(st, NULL, "read", e);
	res = pq.PQgetResult(pg->conn);
	if (pq.PQresultStatus(res) != PGRES_COPY_OUT) {
		if (!missing(res))
			ret = fail(st, res, "read", e);
		pq.PQclear(res);
		while ((res = pq.PQgetResult(pg->conn)))
			pq.PQclear(res);
		return ret;
	}
	pq.PQclear(res);
	while ((n = pq.PQgetCopyData(pg->conn, &buf, 0)) > 0) {
		const char *p = buf;
		size_t left = (size_t)n;
		int k = 1;

		if (head) {	/* the header comes before the first row */
			if (left < 19 || memcmp(p, copy_sig, 11) != 0 ||
			    left - 19 < (uint32_t)get_be32(p + 15)) {
				k = -1;
			} else {
				left -= 19 + (uint32_t)get_be32(p + 15);
				p += 19 + (uint32_t)get_be32(p + 15);
				head = 0;
			}
		}
		if (k > 0 && left > 0 && (k = split_row(p, left, nf, f, len)) > 0)
			ret = fn(ctx, f, len);
		pq.PQfreemem(buf);
		if (k < 0 || ret == ROW_BAD)
			ret = evt_errf(e, EVT_EFAIL, "cannot read '%s': a row "
				       "the server sent is not as asked",
				       pg->shown);
		if (ret) {
			if (pg->conn && pq.PQstatus(pg->conn) == CONNECTION_OK)
				cancel(pg);
			return ret;
		}
	}
	/* the end (-1) or a failure (-2): the result says which */
	while ((res = pq.PQgetResult(pg->conn))) {
		if (!ret && pq.PQresultStatus(res) != PGRES_COMMAND_OK)
			ret = fail(st, res, "read", e);
		pq.PQclear(res);
	}
	if (!ret && n == -2)
		ret = fail(st, NULL, "read", e);
	return ret;
}

/* A row of the read query as a record, handed to the reader's fn. */
struct rows {
	evt_record_fn fn;
	void *ctx;
	int64_t *got, *last;
	int64_t last_us;	/* a bulk append gives many events one time */
	char tsbuf[EVT_TS_LEN + 1];
};

static int record_row(void *ctx, const char **f, const int32_t *len)
{
	struct rows *x = ctx;
	struct evt_record r;
	int rc;

	if (!f[0] || len[0] != 8 || !f[1] || !f[2] || !f[5] ||
	    (f[3] && len[3] != 4) || (f[4] && len[4] != 8))
		return ROW_BAD;
	r.position = get_be64(f[0]);
	r.stream = f[1];
	r.stream_len = (size_t)len[1];
	r.id = f[2];
	r.id_len = (size_t)len[2];
	r.version = f[3] ? get_be32(f[3]) : 0;
	r.ts = NULL;
	r.ts_len = 0;
	if (f[4]) {
		int64_t us = get_be64(f[4]);

		if ((us / 1000 == x->last_us / 1000 && us >= 0 &&
		     x->last_us >= 0) || ts_text(us, x->tsbuf)) {
			x->last_us = us;
			r.ts = x->tsbuf;
			r.ts_len = EVT_TS_LEN;
		}
	}
	r.event = f[5];
	r.event_len = (size_t)len[5];
	if ((rc = x->fn(x->ctx, &r)))
		return rc == EVT_STOP ? ROW_STOP : rc;
	++*x->got;
	*x->last = r.position;
	return 0;
}

/* One read query.  *got and *last count and place what reached fn. */
static int read_once(struct evt_store *st, const struct evt_query *q,
		     int64_t upto, evt_record_fn fn, void *ctx, int64_t *got,
		     int64_t *last, struct evt_err *e)
{
	struct rows x = { fn, ctx, got, last, -1, "" };
	char *sql;
	int rc;

	if ((rc = ready(st, e)))
		return rc;
	if (!(sql = read_sql(st, q, upto, e)))
		return EVT_EFAIL;
	rc = copy_out(st, sql, 6, record_row, &x, e);
	free(sql);
	return rc == ROW_STOP ? EVT_STOP : rc;
}

static int read_horizon(struct evt_store *st, int64_t after, int64_t *upto,
			struct evt_err *e)
{
	return horizon(st, after, 1, upto, e);
}

static unsigned read_state(const struct evt_store *st)
{
	const struct pg *c = PG(st);

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

static int pg_read(struct evt_store *st, const struct evt_query *q,
		   evt_record_fn fn, void *ctx, struct evt_err *e)
{
	return evt_server_read(st, q, &read_ops, fn, ctx, e);
}

/* One row of a statement run once (not prepared); NULL with *rc set. */
static PGresult *row(struct evt_store *st, const char *sql, int n,
		     const char *const *vals, int *rc, struct evt_err *e)
{
	PGresult *res;

	if ((*rc = ready(st, e)))
		return NULL;
	res = pq.PQexecParams(PG(st)->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (pq.PQresultStatus(res) == PGRES_TUPLES_OK && pq.PQntuples(res) == 1)
		return res;
	*rc = missing(res) ? 1 : fail(st, res, "read", e);
	pq.PQclear(res);
	return NULL;
}

/* The writers on the table now (see horizon()), the transaction ids each
 * holds (a writer gets one when it first writes a row), and whether each
 * has one yet. */
#define WRITERS_SQL \
	"SELECT s.m, s.vx, (SELECT array_agg(transactionid::text) FROM " \
	"pg_locks WHERE locktype = 'transactionid' AND mode = " \
	"'ExclusiveLock' AND granted AND virtualtransaction = ANY(s.vx)), " \
	"(SELECT count(DISTINCT virtualtransaction) FROM pg_locks WHERE " \
	"locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted " \
	"AND virtualtransaction = ANY(s.vx)) = coalesce(cardinality(s.vx), " \
	"0) FROM " GREATEST_AND_WRITERS("$1")

/* The greatest position *m and the writers on the table now: their
 * virtual transaction ids *vx and the transaction ids *xids they hold
 * (NULL: none).  A writer that drew a position has its transaction id a
 * moment later: asked again until each has one, or 50 ms passed. */
static int writers_now(struct evt_store *st, const char *oid, int64_t *m,
		       char **vx, char **xids, struct evt_err *e)
{
	struct evt_buf sql = EVT_BUF_INIT;
	const char *vals[1] = { oid };
	int64_t until = evt_mono_ms() + 50;
	PGresult *res;
	int rc = 0;

	evt_buf_addf(&sql, WRITERS_SQL, PG(st)->ev);
	for (;;) {
		if (!(res = row(st, sql.p, 1, vals, &rc, e)))
			goto out;
		if (pq.PQgetvalue(res, 0, 3)[0] == 't' ||
		    evt_mono_ms() >= until)
			break;
		pq.PQclear(res);
		if (evt_nap(1)) {
			rc = INTERRUPTED;
			goto out;
		}
	}
	*m = int_at(res, 0, 0);
	if (!pq.PQgetisnull(res, 0, 1)) {
		*vx = evt_xstrdup(pq.PQgetvalue(res, 0, 1));
		if (!pq.PQgetisnull(res, 0, 2))
			*xids = evt_xstrdup(pq.PQgetvalue(res, 0, 2));
	}
	pq.PQclear(res);
out:
	evt_buf_release(&sql);
	return rc;
}

/* Wait until none of the writers vx holds the table any more (SIGINT and
 * SIGTERM let through). */
static int writers_gone(struct evt_store *st, const char *oid,
			const char *vx, struct evt_err *e)
{
	const char *vals[2] = { oid, vx };
	PGresult *res;
	int held, rc = 0;

	for (;;) {
		if (!(res = row(st, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE "
				"locktype = 'relation' AND relation = $1::oid "
				"AND mode = 'RowExclusiveLock' AND "
				"virtualtransaction = ANY($2::text[]))", 2, vals,
				&rc, e)))
			return rc;
		held = pq.PQgetvalue(res, 0, 0)[0] == 't';
		pq.PQclear(res);
		if (!held)
			return 0;
		if (evt_nap(HOLD_POLL_MS))
			return INTERRUPTED;
	}
}

/* Just below the first position up to m that the transactions xids
 * committed, into *h; *h stays as it is when they committed none. */
static int below_committed(struct evt_store *st, int64_t m, const char *xids,
			   int64_t *h, struct evt_err *e)
{
	struct evt_buf sql = EVT_BUF_INIT;
	char ms[24];
	const char *vals[2] = { ms, xids };
	PGresult *res;
	int rc = 0;

	snprintf(ms, sizeof(ms), "%lld", (long long)m);
	evt_buf_addf(&sql, "SELECT min(position) FROM %s WHERE position <= $1 "
		     "AND xmin::text = ANY($2::text[])", PG(st)->ev);
	if ((res = row(st, sql.p, 2, vals, &rc, e))) {
		if (!pq.PQgetisnull(res, 0, 0))
			*h = int_at(res, 0, 0) - 1;
		pq.PQclear(res);
	}
	evt_buf_release(&sql);
	return rc;
}

/* The start of a follower that begins "from now on" (q->safe): *h such
 * that every event committed from now on is above *h.  With no writer in a
 * transaction on the table, the greatest position m.  Else wait for those
 * writers to end (SIGINT and SIGTERM let through): when one of them
 * committed a position below m, start just below it; the events between,
 * committed just before the start, come again (never one is skipped). */
static int safe_end(struct evt_store *st, int64_t *h, struct evt_err *e)
{
	struct pg *pg = PG(st);
	char oid[16], *vx = NULL, *xids = NULL;
	int64_t m = 0;
	int rc;

	*h = 0;
	if (!pg->ev_oid && (rc = table_oids(st, e)))
		return rc;
	if (!pg->ev_oid)
		return 0;
	snprintf(oid, sizeof(oid), "%u", pg->ev_oid);
	if (!(rc = writers_now(st, oid, &m, &vx, &xids, e))) {
		*h = m;
		if (vx && !(rc = writers_gone(st, oid, vx, e)) && xids)
			rc = below_committed(st, m, xids, h, e);
	}
	if (!rc && m > pg->settled)
		pg->settled = m;
	free(vx);
	free(xids);
	return rc == 1 ? 0 : rc;
}

struct summary {
	evt_summary_fn fn;
	void *ctx;
	int aggregates;		/* rows of aggregates, else of streams */
};

static int summary_row(void *ctx, const char **f, const int32_t *len)
{
	struct summary *x = ctx;
	struct evt_summary m;
	int i, rc;

	for (i = 0; i < 4; i++)
		if (!f[i] || (i >= (x->aggregates ? 2 : 1) && len[i] != 8))
			return ROW_BAD;
	memset(&m, 0, sizeof(m));
	m.stream = f[0];
	m.stream_len = (size_t)len[0];
	if (x->aggregates) {
		m.id = f[1];
		m.id_len = (size_t)len[1];
		m.version = get_be64(f[2]);
	} else {
		m.events = get_be64(f[1]);
		m.aggregates = get_be64(f[2]);
	}
	m.position = get_be64(f[3]);
	rc = x->fn(x->ctx, &m);
	return rc == EVT_STOP ? ROW_STOP : rc;
}

static int pg_summary(struct evt_store *st, const char *stream,
		      evt_summary_fn fn, void *ctx, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct summary x = { fn, ctx, stream != NULL };
	struct evt_buf sql = EVT_BUF_INIT;
	char *lit = NULL;
	int rc;

	if ((rc = ready(st, e)))
		return outward(rc);
	/* grouped on the (stream, aggregate_id, version) index; the groups
	 * (not the table) sorted in byte order */
	if (stream) {
		if (!(lit = pq.PQescapeLiteral(pg->conn, stream,
					       strlen(stream))))
			return fail(st, NULL, "read", e);
		evt_buf_addf(&sql, "COPY (SELECT stream, aggregate_id, "
			     "max(version)::int8, max(position) FROM %s WHERE "
			     "stream = %s AND aggregate_id IS NOT NULL GROUP BY "
			     "stream, aggregate_id ORDER BY aggregate_id COLLATE "
			     "\"C\") TO STDOUT (FORMAT binary)", pg->ev, lit);
		pq.PQfreemem(lit);
	} else {
		evt_buf_addf(&sql, "COPY (SELECT stream, count(*), count("
			     "DISTINCT aggregate_id), max(position) FROM %s "
			     "WHERE stream IS NOT NULL GROUP BY stream ORDER BY "
			     "stream COLLATE \"C\") TO STDOUT (FORMAT binary)",
			     pg->ev);
	}
	rc = copy_out(st, sql.p, 4, summary_row, &x, e);
	evt_buf_release(&sql);
	return rc == ROW_STOP ? EVT_STOP : outward(rc);
}

static int pg_head(struct evt_store *st, const struct evt_query *q,
		   int64_t *head, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct evt_buf sql = EVT_BUF_INIT;
	const char **vals;
	char after[24];
	PGresult *res = NULL;
	int64_t upto = -1;
	size_t n;
	int rc = 0, tries = 0;

	*head = 0;
	if (q->safe && (rc = safe_end(st, &upto, e)))
		return outward(rc);
	evt_buf_addf(&sql, "SELECT max(position) FROM %s", pg->ev);
	where(&sql, q);
	if (upto >= 0)
		evt_buf_addf(&sql, " AND position <= %lld", (long long)upto);
	n = params(q, after, &vals);
	for (;;) {
		if ((rc = ready(st, e)))
			break;
		res = pq.PQexecParams(pg->conn, sql.p, (int)n, NULL, vals, NULL,
				      NULL, 0);
		if (pq.PQresultStatus(res) == PGRES_TUPLES_OK) {
			*head = int_at(res, 0, 0);
			break;
		}
		if (missing(res))
			break;
		rc = fail(st, res, "read", e);
		if (rc != LOST || !pg->follower || pg->in_tx || tries++)
			break;
		pq.PQclear(res);
		res = NULL;
		if ((rc = reconnect(st, e)))
			break;
	}
	pq.PQclear(res);
	evt_buf_release(&sql);
	free(vals);
	return outward(rc);
}

static int pg_count(struct evt_store *st, const struct evt_query *q,
		    int64_t *n, struct evt_err *e)
{
	struct pg *pg = PG(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct evt_query cq = *q;
	const char **vals;
	char after[24];
	PGresult *res;
	size_t np;
	int rc = 0;

	if ((rc = ready(st, e)))
		return outward(rc);
	cq.id = NULL;
	evt_buf_addf(&sql, "SELECT count(*) FROM %s", pg->ev);
	where(&sql, &cq);
	np = params(&cq, after, &vals);
	res = pq.PQexecParams(pg->conn, sql.p, (int)np, NULL, vals, NULL,
			      NULL, 0);
	if (pq.PQresultStatus(res) == PGRES_TUPLES_OK)
		*n = int_at(res, 0, 0);
	else if (!missing(res))
		rc = outward(fail(st, res, "read", e));
	pq.PQclear(res);
	evt_buf_release(&sql);
	free(vals);
	return rc;
}

/* --- snapshots, bookmarks, parked events ------------------------------------ */

static int pg_snapshot_get(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   struct evt_buf *state, int64_t *version,
			   int64_t *position, int *found, struct evt_err *e)
{
	const char *vals[2] = { stream, id };
	PGresult *res;
	int rc;

	res = run(st, Q_SNAP_GET, 2, vals, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	if (pq.PQntuples(res) == 1 &&
	    strcmp(pq.PQgetvalue(res, 0, 0), key) == 0) {
		*found = 1;
		*version = int_at(res, 0, 1);
		*position = int_at(res, 0, 2);
		evt_buf_reset(state);
		evt_buf_add(state, pq.PQgetvalue(res, 0, 3),
			    (size_t)pq.PQgetlength(res, 0, 3));
	}
	pq.PQclear(res);
	return 0;
}

static int pg_snapshot_put(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   const char *state, size_t len, int64_t version,
			   int64_t position, struct evt_err *e)
{
	char v[24], p[24];
	const char *vals[6] = { stream, id, key, v, p, state };
	int lens[6] = { 0, 0, 0, 0, 0, (int)len };
	int fmts[6] = { 0, 0, 0, 0, 0, 1 };
	PGresult *res;
	int rc, tries;

	snprintf(v, sizeof(v), "%lld", (long long)version);
	snprintf(p, sizeof(p), "%lld", (long long)position);
	for (tries = 0; tries < 2; tries++) {
		res = run(st, Q_SNAP_PUT, 6, vals, lens, fmts, 0, "write to",
			  1, &rc, e);
		if (res) {
			pq.PQclear(res);
			return 0;
		}
		if (rc != 1 || (rc = create_own(st, 1, e)))
			return rc;
	}
	return evt_errf(e, EVT_EFAIL, "cannot write to '%s': no snapshots "
			"table", PG(st)->shown);
}

static int pg_bookmark_get(struct evt_store *st, const char *name,
			   int64_t *pos, int *found, struct evt_err *e)
{
	const char *vals[1] = { name };
	PGresult *res;
	int rc;

	res = run(st, Q_BM_GET, 1, vals, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	if (pq.PQntuples(res) == 1) {
		*found = 1;
		*pos = int_at(res, 0, 0);
	}
	pq.PQclear(res);
	return 0;
}

static int pg_bookmark_set(struct evt_store *st, const char *name,
			   int64_t pos, struct evt_err *e)
{
	char p[24];
	const char *vals[2] = { name, p };
	PGresult *res;
	int rc;

	snprintf(p, sizeof(p), "%lld", (long long)pos);
	res = run(st, Q_BM_SET, 2, vals, NULL, NULL, 0, "write to", 0, &rc,
		  e);
	pq.PQclear(res);
	return rc;
}

static int pg_bookmarks(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			struct evt_err *e)
{
	PGresult *res;
	int i, rc = 0;

	res = run(st, Q_BM_ALL, 0, NULL, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	for (i = 0; i < pq.PQntuples(res) && !rc; i++)
		rc = fn(ctx, pq.PQgetvalue(res, i, 0), int_at(res, i, 1));
	pq.PQclear(res);
	return rc;
}

static int pg_park(struct evt_store *st, const char *handler,
		   int64_t position, int status, struct evt_err *e)
{
	char p[24], s[24];
	const char *vals[3] = { handler, p, s };
	PGresult *res;
	int rc, tries;

	snprintf(p, sizeof(p), "%lld", (long long)position);
	snprintf(s, sizeof(s), "%d", status);
	for (tries = 0; tries < 2; tries++) {
		res = run(st, Q_PARK, 3, vals, NULL, NULL, 0, "write to", 1,
			  &rc, e);
		if (res) {
			pq.PQclear(res);
			return 0;
		}
		if (rc != 1 || (rc = create_own(st, 0, e)))
			return rc;
	}
	return evt_errf(e, EVT_EFAIL, "cannot write to '%s': no parked "
			"table", PG(st)->shown);
}

/* Keys: inside the append's transaction, which holds the append lock (so
 * two appends with one KEY serialize: the second finds the first's). */
static int pg_key_get(struct evt_store *st, const char *key,
		      struct evt_key *k, int *found, struct evt_err *e)
{
	const char *vals[1] = { key };
	PGresult *res;
	int rc;

	/* Not there when the store was opened: look again, now that the
	 * append lock is held (a failed statement would end the
	 * transaction). */
	if (!PG(st)->keys_oid && (rc = table_oids(st, e)))
		return rc;
	if (!PG(st)->keys_oid)
		return 0;
	res = NULL;
	if (PG(st)->begin_pending && !PG(st)->queued) {
		if ((rc = begin_pipe(st, qsql(st, Q_KEY_GET), 1, vals, NULL,
				     NULL, &res, e)))
			return rc;
	} else if (!(res = run(st, Q_KEY_GET, 1, vals, NULL, NULL, 0, "read",
			       0, &rc, e))) {
		return rc;
	}
	if (pq.PQntuples(res) == 1) {
		*found = 1;
		evt_buf_reset(&k->stream);
		evt_buf_addstr(&k->stream, pq.PQgetvalue(res, 0, 0));
		evt_buf_reset(&k->id);
		evt_buf_addstr(&k->id, pq.PQgetvalue(res, 0, 1));
		k->first = int_at(res, 0, 2);
		k->last = int_at(res, 0, 3);
	}
	pq.PQclear(res);
	return 0;
}

static int pg_key_put(struct evt_store *st, const char *key,
		      const char *stream, size_t slen, const char *id,
		      size_t idlen, int64_t first, int64_t last,
		      struct evt_err *e)
{
	struct pg *pg = PG(st);
	char f[24], l[24];
	const char *vals[5] = { key, stream, id, f, l };
	int lens[5] = { (int)strlen(key), (int)slen, (int)idlen, 0, 0 };
	int fmts[5] = { 0, 1, 1, 0, 0 };
	PGresult *res;
	int rc;

	if (!pg->keys_oid) {
		struct evt_buf sql = EVT_BUF_INIT;

		/* in this transaction, under evt's DDL lock */
		evt_buf_addf(&sql, "SELECT pg_advisory_xact_lock(%lld); ",
			     (long long)DDL_KEY);
		evt_buf_addf(&sql, KEYS_DDL, pg->keys);
		rc = exec_ok(st, sql.p, "write to", e);
		evt_buf_release(&sql);
		if (rc)
			return outward(rc);
		pg->keys_oid = 1;	/* there now */
	}
	snprintf(f, sizeof(f), "%lld", (long long)first);
	snprintf(l, sizeof(l), "%lld", (long long)last);
	/* its result comes with COMMIT's */
	if (pipe_enter && pg->in_tx && !pg->begin_pending &&
	    pg->queued < 6)
		return queue(st, qsql(st, Q_KEY_PUT), 5, vals, lens, fmts, 0,
			     e);
	res = run(st, Q_KEY_PUT, 5, vals, lens, fmts, 0, "write to", 0, &rc, e);
	if (!res)
		return rc;
	pq.PQclear(res);
	return 0;
}

static int pg_parked_count(struct evt_store *st, const char *handler,
			   int64_t *n, struct evt_err *e)
{
	const char *vals[1] = { handler };
	PGresult *res;
	int rc;

	res = run(st, Q_PARKED, 1, vals, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	*n = int_at(res, 0, 0);
	pq.PQclear(res);
	return 0;
}

static int pg_parked(struct evt_store *st, const char *handler,
		     evt_parked_fn fn, void *ctx, struct evt_err *e)
{
	const char *vals[1] = { handler };
	PGresult *res;
	int i, rc = 0;

	res = run(st, Q_PARKED_LIST, 1, vals, NULL, NULL, 0, "read", 1, &rc,
		  e);
	if (!res)
		return rc == 1 ? 0 : rc;
	for (i = 0; i < pq.PQntuples(res) && !rc; i++)
		rc = fn(ctx, int_at(res, i, 0), (int)int_at(res, i, 1),
			pq.PQgetvalue(res, i, 2));
	pq.PQclear(res);
	return rc;
}

/* A write of evt's own tables; a missing table is nothing to do. */
static int own_write(struct evt_store *st, int q, int n,
		     const char *const *vals, struct evt_err *e)
{
	PGresult *res;
	int rc;

	res = run(st, q, n, vals, NULL, NULL, 0, "write to", 1, &rc, e);
	pq.PQclear(res);
	return rc == 1 ? 0 : rc;
}

static int pg_unpark(struct evt_store *st, const char *handler,
		     int64_t position, struct evt_err *e)
{
	char p[24];
	const char *vals[2] = { handler, p };

	snprintf(p, sizeof(p), "%lld", (long long)position);
	return own_write(st, Q_UNPARK, 2, vals, e);
}

static int pg_bookmark_delete(struct evt_store *st, const char *name,
			      struct evt_err *e)
{
	const char *vals[1] = { name };

	return own_write(st, Q_BM_DEL, 1, vals, e);
}

static int pg_handler_delete(struct evt_store *st, const char *name,
			     struct evt_err *e)
{
	const char *vals[2] = { st->bookmarks, name };

	return own_write(st, Q_HND_DEL, 2, vals, e);
}

static int pg_handler_end(struct evt_store *st, const char *name,
			  const char *failure, struct evt_err *e)
{
	const char *vals[3] = { st->bookmarks, name, failure };

	return own_write(st, Q_HND_END, 3, vals, e);
}

static int pg_handler_get(struct evt_store *st, const char *name,
			  struct evt_buf *streams, int *found,
			  struct evt_err *e)
{
	const char *vals[2] = { st->bookmarks, name };
	PGresult *res;
	int rc;

	res = run(st, Q_HND_GET, 2, vals, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	if (pq.PQntuples(res) == 1) {
		*found = 1;
		evt_buf_reset(streams);
		evt_buf_addstr(streams, pq.PQgetvalue(res, 0, 0));
	}
	pq.PQclear(res);
	return 0;
}

static int pg_handler_start(struct evt_store *st, const char *name,
			    const char *streams, struct evt_err *e)
{
	const char *vals[3] = { st->bookmarks, name, streams };
	PGresult *res;
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		res = run(st, Q_HND_START, 3, vals, NULL, NULL, 0, "write to",
			  1, &rc, e);
		if (res) {
			pq.PQclear(res);
			return 0;
		}
		if (rc != 1 || (rc = create_own(st, 2, e)))
			return rc;
	}
	return evt_errf(e, EVT_EFAIL, "cannot write to '%s': no handlers "
			"table", PG(st)->shown);
}

static int pg_handlers(struct evt_store *st, evt_handler_fn fn, void *ctx,
		       struct evt_err *e)
{
	const char *vals[1] = { st->bookmarks };
	PGresult *res;
	int i, rc = 0;

	res = run(st, Q_HND_ALL, 1, vals, NULL, NULL, 0, "read", 1, &rc, e);
	if (!res)
		return rc == 1 ? 0 : rc;
	for (i = 0; i < pq.PQntuples(res) && !rc; i++)
		rc = fn(ctx, pq.PQgetvalue(res, i, 0),
			pq.PQgetvalue(res, i, 1));
	pq.PQclear(res);
	return rc;
}

/* --- poolers ------------------------------------------------------------------- */

/* The server process behind connection c now; -1 when it cannot say. */
static int backend_pid(struct evt_store *st, PGconn *c, long *pid)
{
	PGresult *res = pq.PQexec(c, "SELECT pg_backend_pid()");
	int rc = -1;

	(void)st;
	*pid = -1;
	if (pq.PQresultStatus(res) == PGRES_TUPLES_OK &&
	    pq.PQntuples(res) == 1) {
		*pid = strtol(pq.PQgetvalue(res, 0, 0), NULL, 10);
		rc = 0;
	}
	pq.PQclear(res);
	return rc;
}

/* backend_pid on c, waiting at most ms: -2 when no answer came by then
 * (the query is cancelled). */
static int backend_pid_within(PGconn *c, int ms, long *pid)
{
	int64_t end = evt_mono_ms() + ms;
	PGresult *res, *last = NULL;
	int rc = -1;

	*pid = -1;
	if (!pq.PQsendQuery(c, "SELECT pg_backend_pid()"))
		return -1;
	while (pq.PQisBusy(c)) {
		struct pollfd p = { pq.PQsocket(c), POLLIN, 0 };
		int64_t left = end - evt_mono_ms();

		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			PGcancel *k = pq.PQgetCancel(c);
			char err[256];

			if (k) {
				pq.PQcancel(k, err, sizeof(err));
				pq.PQfreeCancel(k);
			}
			return -2;
		}
		if (!pq.PQconsumeInput(c))
			break;
	}
	while ((res = pq.PQgetResult(c))) {
		pq.PQclear(last);
		last = res;
	}
	if (pq.PQresultStatus(last) == PGRES_TUPLES_OK &&
	    pq.PQntuples(last) == 1) {
		*pid = strtol(pq.PQgetvalue(last, 0, 0), NULL, 10);
		rc = 0;
	}
	pq.PQclear(last);
	return rc;
}

/* What is between us and the server (pg->pool).  libpq's backend pid is
 * the server's own on a direct connection, a pooler's make-believe one
 * through pgbouncer.  Behind a pooler: a second connection asks for its
 * server process right after ours ended a statement.  A pooler that
 * pools transactions hands it ours, the server connection used last
 * (pgbouncer reuses them last in, first out), and may hand ours another
 * between two statements; a session pooler never does either.  Three
 * rounds, so that a third client taking our server connection between
 * the two cannot hide it. */
static int pooled(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	static const char *const kw[] = { "dbname",
					  "fallback_application_name", NULL };
	const char *val[] = { st->path, evt_prog, NULL };
	PGconn *c2;
	long mine, again = -1, theirs;
	int round, rc;

	if (pg->pool != POOL_UNKNOWN && pg->pool != POOL_SESSION)
		return 0;
	if ((rc = ready(st, e)))
		return outward(rc);
	if (backend_pid(st, pg->conn, &mine) < 0)
		return outward(fail(st, NULL, "use", e));
	if (mine == pq.PQbackendPID(pg->conn)) {
		pg->pool = POOL_NONE;
		return 0;
	}
	pg->pool = POOL_SESSION;
	c2 = pq.PQconnectdbParams(kw, val, 1);
	if (!c2 || pq.PQstatus(c2) != CONNECTION_OK) {
		char line[600];

		first_line(c2 ? pq.PQerrorMessage(c2) : "out of memory", line,
			   sizeof(line));
		if (c2)
			pq.PQfinish(c2);
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
				pg->shown, line);
	}
	for (round = 0; round < 3 && pg->pool == POOL_SESSION; round++) {
		/* A session pooler whose pool is all taken (by us, among
		 * others) keeps the second connection waiting: after 5 s,
		 * take it for a pooler of transactions, the safe side. */
		if ((rc = backend_pid_within(c2, 5000, &theirs)) == -2) {
			pg->pool = POOL_TRANSACTION;
			break;
		}
		if (rc < 0 || backend_pid(st, pg->conn, &again) < 0) {
			pq.PQfinish(c2);
			return outward(fail(st, NULL, "use", e));
		}
		if (theirs == mine || again != mine)
			pg->pool = POOL_TRANSACTION;
		mine = again;
	}
	pq.PQfinish(c2);
	return 0;
}

/* --- handler locks: session advisory locks ------------------------------------- */

/* The bookmarks table's oid, which handler lock keys are made of. */
static int bm_oid(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	int rc;

	if (pg->bm_oid)
		return 0;
	if ((rc = ready(st, e)))
		return outward(rc);
	return table_oids(st, e);
}

static void key_text(struct evt_store *st, const char *name, char *out)
{
	snprintf(out, 24, "%lld",
		 (long long)lock_key("handler", PG(st)->bm_oid, name));
}

static int try_lock(struct evt_store *st, const char *name, int *got,
		    struct evt_err *e)
{
	char k[24];
	const char *vals[1] = { k };
	PGresult *res;
	int rc;

	key_text(st, name, k);
	res = run(st, Q_TRYLOCK, 1, vals, NULL, NULL, 0, "lock", 0, &rc, e);
	if (!res)
		return rc;
	*got = pq.PQgetvalue(res, 0, 0)[0] == 't';
	pq.PQclear(res);
	return 0;
}

/* Block in pg_advisory_lock, letting SIGINT and SIGTERM through. */
static int wait_lock(struct evt_store *st, const char *name, struct evt_err *e)
{
	struct pg *pg = PG(st);
	char k[24];
	const char *vals[1] = { k };
	PGresult *res, *last = NULL;
	int rc = 0;

	key_text(st, name, k);
	if (!pq.PQsendQueryParams(pg->conn, "SELECT pg_advisory_lock($1::"
				  "bigint)", 1, NULL, vals, NULL, NULL, 0))
		return outward(fail(st, NULL, "lock", e));
	while (pq.PQisBusy(pg->conn)) {
		struct pollfd p = { pq.PQsocket(pg->conn), POLLIN, 0 };

		if (evt_poll_signals(&p, 1, -1) < 0 && errno == EINTR) {
			cancel(pg);
			return evt_errf(e, EVT_EBUSY, "%s: interrupted while "
					"waiting for the lock", name);
		}
		if (!pq.PQconsumeInput(pg->conn))
			break;
	}
	while ((res = pq.PQgetResult(pg->conn))) {
		if (last)
			pq.PQclear(last);
		last = res;
	}
	if (pq.PQresultStatus(last) != PGRES_TUPLES_OK)
		rc = outward(fail(st, last, "lock", e));
	pq.PQclear(last);
	return rc;
}

static int pg_lock(struct evt_store *st, const char *name, int wait,
		   struct evt_err *e)
{
	struct pg *pg = PG(st);
	int rc, got = 0;

	if ((rc = bm_oid(st, e)))
		return rc;
	/* A session advisory lock behind a pooler of transactions would be
	 * another client's at the next statement: never shared, never
	 * lost silently, so not taken there at all. */
	if ((rc = pooled(st, e)))
		return rc;
	if (pg->pool == POOL_TRANSACTION)
		return evt_errf(e, EVT_EFAIL, "%s: cannot hold the handler "
				"lock through a pooler in transaction pooling "
				"mode ('%s'): connect to the server directly or "
				"through session pooling", name, pg->shown);
	if ((rc = try_lock(st, name, &got, e)))
		return rc;
	if (!got && !wait)
		return evt_errf(e, EVT_EBUSY, "%s: already running", name);
	if (!got && (rc = wait_lock(st, name, e)))
		return rc;
	pg->locks = evt_xrealloc(pg->locks, (pg->nlocks + 1) *
					    sizeof(*pg->locks));
	pg->locks[pg->nlocks++] = evt_xstrdup(name);
	return 0;
}

static void pg_unlock(struct evt_store *st, const char *name)
{
	struct pg *pg = PG(st);
	char k[24];
	const char *vals[1] = { k };
	struct evt_err e;
	PGresult *res;
	size_t i;
	int rc;

	for (i = 0; i < pg->nlocks && strcmp(pg->locks[i], name) != 0; i++)
		;
	if (i == pg->nlocks)
		return;
	free(pg->locks[i]);
	pg->locks[i] = pg->locks[--pg->nlocks];
	if (!pg->conn || pq.PQstatus(pg->conn) != CONNECTION_OK)
		return;
	key_text(st, name, k);
	res = run(st, Q_UNLOCK, 1, vals, NULL, NULL, 0, "unlock", 0, &rc, &e);
	pq.PQclear(res);
}

/* After a reconnect: the locks died with the old session. */
static int relock(struct evt_store *st, struct evt_err *e)
{
	struct pg *pg = PG(st);
	size_t i;
	int rc, got;

	for (i = 0; i < pg->nlocks; i++) {
		if ((rc = try_lock(st, pg->locks[i], &got, e)))
			return rc;
		if (!got)
			return evt_errf(e, EVT_EBUSY, "%s: lost the lock while "
					"reconnecting: another process holds "
					"it", pg->locks[i]);
	}
	return 0;
}

static int pg_lock_held(struct evt_store *st, const char *name, int *held,
			struct evt_err *e)
{
	struct pg *pg = PG(st);
	uint64_t k;
	char hi[16], lo[16];
	const char *vals[2] = { hi, lo };
	PGresult *res;
	int rc;

	if ((rc = bm_oid(st, e)))
		return rc;
	if (!pg->bm_oid)
		return 0;	/* no bookmarks table: nobody runs */
	k = (uint64_t)lock_key("handler", pg->bm_oid, name);
	snprintf(hi, sizeof(hi), "%u", (unsigned)(k >> 32));
	snprintf(lo, sizeof(lo), "%u", (unsigned)(k & 0xffffffffu));
	res = run(st, Q_HELD, 2, vals, NULL, NULL, 0, "read", 0, &rc, e);
	if (!res)
		return rc;
	*held = pq.PQgetvalue(res, 0, 0)[0] == 't';
	pq.PQclear(res);
	return 0;
}

/* --- the wake-up: LISTEN/NOTIFY ---------------------------------------------- */

/* How often a follower behind a pooler of transactions, where LISTEN
 * cannot work, reads again. */
#define POOL_POLL_MS 100

static int pg_wait(struct evt_store *st, int timeout_ms, struct evt_err *e)
{
	struct pg *pg = PG(st);
	int64_t end = timeout_ms < 0 ? -1 : evt_mono_ms() + timeout_ms;
	char sql[48];
	int rc;

	pg->follower = 1;
	/* held at a gap: look again soon; its writer sends no NOTIFY */
	if (pg->held && (timeout_ms < 0 || timeout_ms > HOLD_POLL_MS)) {
		timeout_ms = HOLD_POLL_MS;
		end = evt_mono_ms() + timeout_ms;
	}
	if (!pg->conn || pq.PQstatus(pg->conn) != CONNECTION_OK) {
		rc = reconnect(st, e);
		return rc == INTERRUPTED ? 0 : outward(rc);
	}
	if (pg->listening < 0) {
		/* behind a pooler of transactions: look every POLL_MS */
		evt_nap(timeout_ms < 0 || timeout_ms > POOL_POLL_MS ? POOL_POLL_MS :
								  timeout_ms);
		return 0;
	}
	if (!pg->listening) {
		if (!pg->ev_oid && (rc = table_oids(st, e)))
			return rc;
		if (!pg->ev_oid) {	/* no table yet: just sleep */
			evt_nap(timeout_ms < 0 ? 1000 : timeout_ms);
			return 0;
		}
		/* LISTEN lives in a server session, which a pooler of
		 * transactions hands to others: there, poll instead */
		if ((rc = pooled(st, e)))
			return rc;
		if (pg->pool == POOL_TRANSACTION) {
			pg->listening = -1;
			return 0;
		}
		snprintf(sql, sizeof(sql), "LISTEN %s", pg->chan);
		rc = exec_ok(st, sql, "listen to", e);
		if (rc == LOST) {
			rc = reconnect(st, e);
			return rc == INTERRUPTED ? 0 : outward(rc);
		}
		if (rc)
			return rc;
		pg->listening = 1;
		return 0;	/* listening now: the caller looks once more */
	}
	for (;;) {
		struct pollfd p = { pq.PQsocket(pg->conn), POLLIN, 0 };
		int left = end < 0 ? -1 : (int)(end - evt_mono_ms());
		PGnotify *n;
		int hit = 0;

		while ((n = pq.PQnotifies(pg->conn))) {
			pq.PQfreemem(n);
			hit = 1;
		}
		if (hit || (end >= 0 && left <= 0))
			return 0;
		/* SIGINT and SIGTERM get through here (and only here) */
		if (evt_poll_signals(&p, 1, left) < 0)
			return 0;	/* a signal: the caller decides */
		if (p.revents && (!pq.PQconsumeInput(pg->conn) ||
				  pq.PQstatus(pg->conn) != CONNECTION_OK)) {
			rc = reconnect(st, e);
			return rc == INTERRUPTED ? 0 : outward(rc);
		}
	}
}

const struct evt_backend evt_pg_backend = {
	.name = "postgresql",
	.schemas = 1,
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.version = pg_version,
	.insert = pg_insert,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.read = pg_read,
	.head = pg_head,
	.summary = pg_summary,
	.snapshot_get = pg_snapshot_get,
	.snapshot_put = pg_snapshot_put,
	.key_get = pg_key_get,
	.key_put = pg_key_put,
	.bookmark_get = pg_bookmark_get,
	.bookmark_set = pg_bookmark_set,
	.bookmarks = pg_bookmarks,
	.park = pg_park,
	.parked_count = pg_parked_count,
	.parked = pg_parked,
	.unpark = pg_unpark,
	.bookmark_delete = pg_bookmark_delete,
	.handler_get = pg_handler_get,
	.handler_start = pg_handler_start,
	.handler_end = pg_handler_end,
	.handler_delete = pg_handler_delete,
	.handlers = pg_handlers,
	.count = pg_count,
	.lock = pg_lock,
	.unlock = pg_unlock,
	.lock_held = pg_lock_held,
	.wait = pg_wait,
	.insert_many = pg_insert_many,
	.insert_commit = pg_insert_commit,
};

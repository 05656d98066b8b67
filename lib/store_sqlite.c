/* store_sqlite.c - the SQLite backend (evtstore's knex schema) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "group.h"
#include "store_impl.h"

enum { S_SNAP_GET, S_SNAP_PUT, S_BM_GET, S_BM_SET, S_BM_ALL, S_PARK,
       S_PARKED, S_KEY_GET, S_KEY_PUT, S_PARKED_LIST, S_UNPARK, S_BM_DEL,
       S_HND_GET, S_HND_START, S_HND_END, S_HND_DEL, S_HND_ALL, S_N };

struct sq {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *rollback, *version, *insert;
	sqlite3_stmt *stmt[S_N];	/* prepared on first use */
	int tables;		/* the events table exists */
	int in_tx;
	int group_fn;		/* evt_group_hash() is registered */
	int err;		/* the SQLite code of the last failure */
	int lockfd;		/* <path>-evtlock, for handler locks */
	int ifd;		/* inotify, for evt_store_wait */
	char *dir_name;		/* what the inotify watch reports */
	char *base, *wal;	/* the names that matter in that directory */
};

#define SQ(st) ((struct sq *)(st)->impl)

static int fail(struct evt_store *st, struct evt_err *e, const char *what)
{
	struct sq *q = SQ(st);
	int rc = sqlite3_errcode(q->db);

	q->err = rc;
	if (rc == SQLITE_CONSTRAINT)
		return evt_errf(e, EVT_ECONFLICT, "cannot %s '%s': %s", what,
				st->path, sqlite3_errmsg(q->db));
	/* "disk I/O error" says less than the system's error behind it
	 * (No space left on device, Input/output error). */
	if (rc == SQLITE_IOERR && sqlite3_system_errno(q->db) > 0)
		return evt_errf(e, EVT_EFAIL, "cannot %s '%s': %s", what,
				st->path,
				strerror(sqlite3_system_errno(q->db)));
	return evt_errf(e, EVT_EFAIL, "cannot %s '%s': %s", what, st->path,
			sqlite3_errmsg(q->db));
}

static int prep(struct evt_store *st, sqlite3_stmt **s, const char *sql,
		struct evt_err *e)
{
	if (*s)
		return 0;
	if (sqlite3_prepare_v3(SQ(st)->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       s, NULL) != SQLITE_OK)
		return fail(st, e, "read");
	return 0;
}

/* Run a statement that returns no rows of interest. */
static int run(struct evt_store *st, sqlite3_stmt *s, const char *what,
	       struct evt_err *e)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, e, what);
	return 0;
}

static int exec(struct evt_store *st, const char *sql, const char *what,
		struct evt_err *e)
{
	if (sqlite3_exec(SQ(st)->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, e, what);
	return 0;
}

static int table_count(struct evt_store *st, int *n, struct evt_err *e)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(SQ(st)->db,
			       "SELECT (SELECT count(*) FROM sqlite_master "
			       "WHERE type='table' AND name=?1), "
			       "(SELECT count(*) FROM sqlite_master "
			       "WHERE type='table' AND name=?2)",
			       -1, &s, NULL) != SQLITE_OK)
		return fail(st, e, "open");
	sqlite3_bind_text(s, 1, st->events, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, st->bookmarks, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int(s, 0) + 2 * sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return fail(st, e, "open");
	return 0;
}

/* Whether a reader's open failed for want of the -shm file, with no
 * -wal file there: the database file alone is the whole store. */
static int unshared(struct evt_store *st)
{
	struct evt_buf wal = EVT_BUF_INIT;
	struct stat sb;
	int rc = sqlite3_errcode(SQ(st)->db), none;

	if (rc != SQLITE_CANTOPEN && rc != SQLITE_READONLY)
		return 0;
	evt_buf_addf(&wal, "%s-wal", st->path);
	none = stat(wal.p, &sb) < 0 ? errno == ENOENT : sb.st_size == 0;
	evt_buf_release(&wal);
	return none;
}

/* Open the store read-only as immutable: SQLite takes no locks and reads
 * the file alone (a file: URI, its path %-escaped where it must be). */
static int open_immutable(struct evt_store *st, struct evt_err *e)
{
	struct evt_buf uri = EVT_BUF_INIT;
	const char *p;
	int rc;

	evt_buf_addstr(&uri, st->path[0] == '/' ? "file://" : "file:");
	for (p = st->path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			evt_buf_addf(&uri, "%%%02X", (unsigned char)*p);
		else
			evt_buf_add(&uri, p, 1);
	}
	evt_buf_addstr(&uri, "?immutable=1");
	rc = sqlite3_open_v2(uri.p, &SQ(st)->db, SQLITE_OPEN_READONLY |
			     SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	evt_buf_release(&uri);
	if (rc != SQLITE_OK) {
		if (!SQ(st)->db)
			return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
					st->path, sqlite3_errstr(rc));
		return fail(st, e, "open");
	}
	sqlite3_extended_result_codes(SQ(st)->db, 0);
	return 0;
}

static int create_schema(struct evt_store *st, struct evt_err *e)
{
	struct evt_buf sql = EVT_BUF_INIT;
	const char *t = st->events;
	int rc;

	evt_buf_addf(&sql,
		"BEGIN IMMEDIATE;"
		"CREATE TABLE IF NOT EXISTS \"%s\" (position INTEGER NOT NULL "
		"PRIMARY KEY AUTOINCREMENT, version INTEGER, stream VARCHAR(255), "
		"aggregate_id VARCHAR(255), timestamp DATETIME, event TEXT);"
		"CREATE UNIQUE INDEX IF NOT EXISTS \"%s_stream_position_unique\" "
		"ON \"%s\" (stream, position);"
		"CREATE UNIQUE INDEX IF NOT EXISTS "
		"\"%s_stream_aggregate_id_version_unique\" "
		"ON \"%s\" (stream, aggregate_id, version);"
		"CREATE TABLE IF NOT EXISTS \"%s\" (bookmark VARCHAR(255) "
		"PRIMARY KEY, position BIGINT);"
		"COMMIT;", t, t, t, t, t, st->bookmarks);
	rc = exec(st, sql.p, "create the schema in", e);
	if (rc)
		sqlite3_exec(SQ(st)->db, "ROLLBACK", NULL, NULL, NULL);
	evt_buf_release(&sql);
	return rc;
}

/* When the directory of the file is not there, say so (SQLite says
 * "unable to open database file"): EVT_EFAIL with the message, else 0. */
static int no_dir(struct evt_store *st, struct evt_err *e)
{
	const char *slash = strrchr(st->path, '/');
	struct stat sb;
	char *dir;
	int rc = 0;

	if (!slash || slash == st->path)
		return 0;
	dir = evt_xstrndup(st->path, (size_t)(slash - st->path));
	if (stat(dir, &sb) < 0)
		rc = evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", st->path,
			      errno == ENOENT ? "no such directory" :
					        strerror(errno));
	free(dir);
	return rc;
}

/* Opening a store that others open at the same moment.
 *
 * A new store is made in steps: sqlite3_open_v2 creates an empty file,
 * "PRAGMA journal_mode=WAL" writes the WAL format into its header, and
 * the schema is created.  Any number of evt programs (and evtstore) may
 * take these steps on one file at once, and the busy timeout alone does
 * not make that safe, because SQLite does not always wait for a lock:
 *
 * - It returns SQLITE_BUSY at once, without calling the busy handler,
 *   where waiting could deadlock: a connection that holds a read lock and
 *   asks for the write lock (the busy handler documentation's example).
 *   Switching a rollback-journal file to WAL is such an upgrade: the
 *   pragma reads page 1 under a shared lock, then writes it.  Two
 *   processes switching a new file at once: one of them fails with
 *   "database is locked" however long its timeout.  The same holds for
 *   any transaction that reads before it writes; hence the schema is
 *   created in one transaction that takes the write lock first (BEGIN
 *   IMMEDIATE, which waits for it through the busy handler), and IF NOT
 *   EXISTS checks again under that lock, since another process may have
 *   created the tables after we looked.
 * - WAL recovery and the wal-index: a connection that reads a WAL file
 *   first rebuilds the -shm index under an exclusive lock; others see
 *   SQLITE_BUSY (SQLITE_BUSY_RECOVERY) and, when the locks keep moving,
 *   SQLITE_PROTOCOL after SQLite's own retries.
 * - A reader (evt-read, evt-fold) of a file still in rollback mode meets
 *   the pending and exclusive locks of a writer switching it to WAL.
 *
 * A failed attempt has ended its statement and so let go of its locks,
 * which is what the process it collided with needs.  So each step of the
 * open that fails with SQLITE_BUSY, SQLITE_LOCKED or SQLITE_PROTOCOL is
 * run again after a short nap (1, 2, 4 ... 16 ms), and the busy handler
 * gets only what is left of the busy timeout: the whole open waits at
 * most EVT_BUSY_TIMEOUT, and a store held by a writer for longer still
 * fails with "database is locked". */
struct patience {
	int64_t end;		/* evt_mono_ms() past which we give up */
	int nap;		/* ms, the next sleep */
};

static int retry_open(struct evt_store *st, struct patience *p)
{
	struct sq *q = SQ(st);
	int64_t left = p->end - evt_mono_ms();
	struct timespec ts;

	if ((q->err != SQLITE_BUSY && q->err != SQLITE_LOCKED &&
	     q->err != SQLITE_PROTOCOL) || left <= 0)
		return 0;
	q->err = 0;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(p->nap < left ? p->nap : left) * 1000000L;
	nanosleep(&ts, NULL);
	if (p->nap < 16)
		p->nap *= 2;
	left = p->end - evt_mono_ms();
	sqlite3_busy_timeout(q->db, left > 1 ? (int)left : 1);
	return 1;
}

/* sqlite3_open_v2 with what went wrong said of the path. */
static int open_db(struct evt_store *st, int flags, struct evt_err *e)
{
	struct sq *q = SQ(st);
	struct stat sb;
	int rc = sqlite3_open_v2(st->path, &q->db, flags, NULL);

	if (rc != SQLITE_OK) {
		if (!q->db)
			return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
					st->path, sqlite3_errstr(rc));
		if (st->create && stat(st->path, &sb) < 0 && errno != ENOENT)
			return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
					st->path, strerror(errno));
		if (st->create && (rc = no_dir(st, e)))
			return rc;
		return fail(st, e, "open");
	}
	sqlite3_extended_result_codes(q->db, 0);
	return 0;
}

/* A writer's connection: WAL, EVT_SYNC (full by default; normal where
 * commits may be lost) and a larger page cache, which keeps a batch over
 * many aggregates from spilling index pages to the WAL early. */
static int writer_pragmas(struct evt_store *st, struct patience *pat,
			  struct evt_err *e)
{
	const char *sync = st->sync == EVT_SYNC_NORMAL ||
			   (st->relaxed && st->sync != EVT_SYNC_FULL) ?
				   "NORMAL" : "FULL";
	char pragma[64];
	int rc;

	while ((rc = exec(st, "PRAGMA journal_mode=WAL", "open", e)) &&
	       retry_open(st, pat))
		;
	if (rc)
		return rc;
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s;"
		 "PRAGMA cache_size=-32768", sync);
	return exec(st, pragma, "open", e);
}

static int sq_open(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = evt_xmalloc(sizeof(*q));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int64_t busy = st->busy_timeout >= 0 ? st->busy_timeout : 10000;
	struct patience pat;
	struct stat sb;
	int n = 0, rc;

	memset(q, 0, sizeof(*q));
	q->lockfd = q->ifd = -1;
	st->impl = q;
	/* Only a program that appends makes a missing file: any other
	 * would leave an empty store behind a mistyped -d. */
	if (st->create)
		flags |= SQLITE_OPEN_CREATE;
	else if (stat(st->path, &sb) < 0)
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", st->path,
				errno == ENOENT ? "no such store" :
						  strerror(errno));
	if ((rc = open_db(st, flags, e)))
		return rc;
	sqlite3_busy_timeout(q->db, (int)busy);
	pat.end = evt_mono_ms() + busy;
	pat.nap = 1;
	while ((rc = table_count(st, &n, e)) && retry_open(st, &pat))
		;
	if (rc && !st->write && unshared(st)) {
		/* A reader that may not make the -shm file beside a WAL
		 * store (read-only media, another user's directory): with no
		 * -wal file the database file holds every commit, and there
		 * is no writer to share memory with. */
		sqlite3_close(q->db);
		q->db = NULL;
		if ((rc = open_immutable(st, e)))
			return rc;
		sqlite3_busy_timeout(q->db, (int)busy);
		rc = table_count(st, &n, e);
	}
	if (rc)
		return rc;
	q->tables = n & 1;
	if (!st->write) {
		sqlite3_busy_timeout(q->db, (int)busy);
		return st->relaxed ? exec(st, "PRAGMA synchronous=NORMAL",
					  "open", e) : 0;
	}
	if ((rc = writer_pragmas(st, &pat, e)))
		return rc;
	if (n != 3) {
		while ((rc = create_schema(st, e)) && retry_open(st, &pat))
			;
		if (rc)
			return rc;
		q->tables = 1;
	}
	sqlite3_busy_timeout(q->db, (int)busy);
	return 0;
}

static void sq_close(struct evt_store *st)
{
	struct sq *q = SQ(st);
	int n;

	if (q->in_tx)
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(q->begin);
	sqlite3_finalize(q->commit);
	sqlite3_finalize(q->rollback);
	sqlite3_finalize(q->version);
	sqlite3_finalize(q->insert);
	for (n = 0; n < S_N; n++)
		sqlite3_finalize(q->stmt[n]);
	sqlite3_close(q->db);
	if (q->lockfd >= 0)
		close(q->lockfd);
	if (q->ifd >= 0)
		close(q->ifd);
	free(q->dir_name);
	free(q->base);
	free(q->wal);
	free(q);
	st->impl = NULL;
}

static int sq_begin(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = SQ(st);
	int rc;

	if ((rc = prep(st, &q->begin, "BEGIN IMMEDIATE", e)))
		return rc;
	if ((rc = run(st, q->begin, "write to", e)))
		return rc;
	q->in_tx = 1;
	return 0;
}

static int sq_version(struct evt_store *st, const char *stream, size_t slen,
		      const char *id, size_t idlen, int64_t *v,
		      struct evt_err *e)
{
	struct sq *q = SQ(st);
	int rc;

	if (!q->version) {
		struct evt_buf sql = EVT_BUF_INIT;

		evt_buf_addf(&sql, "SELECT max(version) FROM \"%s\" WHERE "
			     "stream = ?1 AND aggregate_id = ?2", st->events);
		rc = prep(st, &q->version, sql.p, e);
		evt_buf_release(&sql);
		if (rc)
			return rc;
	}
	sqlite3_bind_text(q->version, 1, stream, (int)slen, SQLITE_STATIC);
	sqlite3_bind_text(q->version, 2, id, (int)idlen, SQLITE_STATIC);
	rc = sqlite3_step(q->version);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(q->version, 0);
	sqlite3_reset(q->version);
	if (rc != SQLITE_ROW)
		return fail(st, e, "read");
	return 0;
}

static int sq_insert(struct evt_store *st, struct evt_record *r,
		     struct evt_err *e)
{
	struct sq *q = SQ(st);
	int rc;

	if (!q->insert) {
		struct evt_buf sql = EVT_BUF_INIT;

		evt_buf_addf(&sql, "INSERT INTO \"%s\" (version, stream, "
			     "aggregate_id, timestamp, event) "
			     "VALUES (?1, ?2, ?3, ?4, ?5)", st->events);
		rc = prep(st, &q->insert, sql.p, e);
		evt_buf_release(&sql);
		if (rc)
			return rc;
	}
	sqlite3_bind_int64(q->insert, 1, r->version);
	sqlite3_bind_text(q->insert, 2, r->stream, (int)r->stream_len,
			  SQLITE_STATIC);
	sqlite3_bind_text(q->insert, 3, r->id, (int)r->id_len, SQLITE_STATIC);
	sqlite3_bind_text(q->insert, 4, r->ts, (int)r->ts_len, SQLITE_STATIC);
	sqlite3_bind_text64(q->insert, 5, r->event, r->event_len,
			    SQLITE_STATIC, SQLITE_UTF8);
	rc = sqlite3_step(q->insert);
	sqlite3_reset(q->insert);
	if (rc != SQLITE_DONE)
		return fail(st, e, "append to");
	r->position = sqlite3_last_insert_rowid(q->db);
	return 0;
}

static int sq_commit(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = SQ(st);
	int rc;

	if ((rc = prep(st, &q->commit, "COMMIT", e)))
		return rc;
	if ((rc = run(st, q->commit, "commit to", e)))
		return rc;
	q->in_tx = 0;
	return 0;
}

static void sq_rollback(struct evt_store *st)
{
	struct sq *q = SQ(st);

	if (!q->in_tx)
		return;
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	q->in_tx = 0;
}

/* WHERE and ORDER BY for q; parameters: ?1 after, then streams, then id. */
static void where(struct evt_buf *sql, const struct evt_query *q)
{
	size_t i;

	/* With no position to start after, leave position out of the
	 * query's shape, so that SQLite walks the (stream, aggregate_id,
	 * version) index for an aggregate instead of sorting its stream. */
	evt_buf_addstr(sql, q->after ? " WHERE position > ?1" : " WHERE ?1 = 0");
	if (q->streams) {
		evt_buf_addstr(sql, q->nstreams == 1 ? " AND stream = ?2" :
						       " AND stream IN (");
		for (i = 0; q->nstreams > 1 && i < q->nstreams; i++)
			evt_buf_addf(sql, "%s?%zu", i ? ", " : "", i + 2);
		if (q->nstreams > 1)
			evt_buf_addc(sql, ')');
	}
	if (q->id)
		evt_buf_addf(sql, " AND aggregate_id = ?%zu",
			     (q->streams ? q->nstreams : 0) + 2);
	if (q->group_n > 0)
		evt_buf_addf(sql, " AND evt_group_hash(aggregate_id) %% %d = %d",
			     q->group_n, q->group_i);
}

/* evt_group_hash(TEXT): the group hash of group.h, a NULL id as ''. */
static void group_hash_sql(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	const unsigned char *id = sqlite3_value_text(v[0]);
	int n = sqlite3_value_bytes(v[0]);

	(void)argc;
	sqlite3_result_int64(cx, evt_group_hash(id ? id : (const unsigned char
							  *)"", id ? (size_t)n :
						0));
}

/* Register evt_group_hash() before a query of a group member. */
static int group_fn(struct evt_store *st, const struct evt_query *q,
		    struct evt_err *e)
{
	struct sq *sq = SQ(st);

	if (q->group_n <= 0 || sq->group_fn)
		return 0;
	if (sqlite3_create_function(sq->db, "evt_group_hash", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    group_hash_sql, NULL, NULL) != SQLITE_OK)
		return fail(st, e, "read");
	sq->group_fn = 1;
	return 0;
}

static void bind_where(sqlite3_stmt *s, const struct evt_query *q)
{
	size_t i;

	sqlite3_bind_int64(s, 1, q->after);
	for (i = 0; q->streams && i < q->nstreams; i++)
		sqlite3_bind_text(s, (int)i + 2, q->streams[i], -1,
				  SQLITE_STATIC);
	if (q->id)
		sqlite3_bind_text(s, (int)(q->streams ? q->nstreams : 0) + 2,
				  q->id, -1, SQLITE_STATIC);
}

static int sq_read(struct evt_store *st, const struct evt_query *q,
		   evt_record_fn fn, void *ctx, struct evt_err *e)
{
	struct sq *sq = SQ(st);
	struct evt_buf sql = EVT_BUF_INIT;
	sqlite3_stmt *s = NULL;
	char tsbuf[EVT_TS_LEN + 1];
	int rc, ret = 0;

	if (!sq->tables)
		return 0;
	if ((rc = group_fn(st, q, e)))
		return rc;
	evt_buf_addf(&sql, "SELECT position, stream, aggregate_id, version, "
		     "timestamp, event FROM \"%s\"", st->events);
	where(&sql, q);
	evt_query_order(&sql, q);
	rc = sqlite3_prepare_v2(sq->db, sql.p, -1, &s, NULL);
	evt_buf_release(&sql);
	if (rc != SQLITE_OK)
		return fail(st, e, "read");
	bind_where(s, q);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct evt_record r;
		int tt = sqlite3_column_type(s, 4);

		r.position = sqlite3_column_int64(s, 0);
		r.stream = (const char *)sqlite3_column_text(s, 1);
		r.stream_len = (size_t)sqlite3_column_bytes(s, 1);
		r.id = (const char *)sqlite3_column_text(s, 2);
		r.id_len = (size_t)sqlite3_column_bytes(s, 2);
		r.version = sqlite3_column_int64(s, 3);
		if (tt == SQLITE_INTEGER || tt == SQLITE_FLOAT) {
			evt_ts_format(sqlite3_column_int64(s, 4), tsbuf);
			r.ts = tsbuf;
			r.ts_len = EVT_TS_LEN;
		} else if (tt == SQLITE_NULL) {
			r.ts = NULL;
			r.ts_len = 0;
		} else {
			r.ts = evt_ts_normalize(
				(const char *)sqlite3_column_text(s, 4),
				(size_t)sqlite3_column_bytes(s, 4), tsbuf,
				&r.ts_len);
		}
		r.event = (const char *)sqlite3_column_text(s, 5);
		r.event_len = (size_t)sqlite3_column_bytes(s, 5);
		if (!r.stream)
			r.stream = "";
		if (!r.id)
			r.id = "";
		if ((ret = fn(ctx, &r)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(st, e, "read");
	sqlite3_finalize(s);
	return ret;
}

static int sq_summary(struct evt_store *st, const char *stream,
		      evt_summary_fn fn, void *ctx, struct evt_err *e)
{
	struct sq *sq = SQ(st);
	struct evt_buf sql = EVT_BUF_INIT;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if (!sq->tables)
		return 0;
	/* a covering scan of (stream, aggregate_id, version); position is
	 * the rowid, in every index */
	if (stream)
		evt_buf_addf(&sql, "SELECT stream, aggregate_id, max(version), "
			     "max(position) FROM \"%s\" WHERE stream = ?1 "
			     "GROUP BY aggregate_id ORDER BY aggregate_id",
			     st->events);
	else
		evt_buf_addf(&sql, "SELECT stream, count(*), count(DISTINCT "
			     "aggregate_id), max(position) FROM \"%s\" GROUP BY "
			     "stream ORDER BY stream", st->events);
	rc = sqlite3_prepare_v2(sq->db, sql.p, -1, &s, NULL);
	evt_buf_release(&sql);
	if (rc != SQLITE_OK)
		return fail(st, e, "read");
	if (stream)
		sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct evt_summary m;

		memset(&m, 0, sizeof(m));
		m.stream = (const char *)sqlite3_column_text(s, 0);
		m.stream_len = (size_t)sqlite3_column_bytes(s, 0);
		if (!m.stream)
			continue;	/* a NULL stream (not evt's) */
		if (stream) {
			m.id = (const char *)sqlite3_column_text(s, 1);
			m.id_len = (size_t)sqlite3_column_bytes(s, 1);
			if (!m.id)
				continue;
			m.version = sqlite3_column_int64(s, 2);
		} else {
			m.events = sqlite3_column_int64(s, 1);
			m.aggregates = sqlite3_column_int64(s, 2);
		}
		m.position = sqlite3_column_int64(s, 3);
		if ((ret = fn(ctx, &m)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(st, e, "read");
	sqlite3_finalize(s);
	return ret;
}

static int sq_head(struct evt_store *st, const struct evt_query *q,
		   int64_t *head, struct evt_err *e)
{
	struct sq *sq = SQ(st);
	struct evt_buf sql = EVT_BUF_INIT;
	sqlite3_stmt *s = NULL;
	int rc;

	*head = 0;
	if (!sq->tables)
		return 0;
	if ((rc = group_fn(st, q, e)))
		return rc;
	evt_buf_addf(&sql, "SELECT max(position) FROM \"%s\"", st->events);
	where(&sql, q);
	rc = sqlite3_prepare_v2(sq->db, sql.p, -1, &s, NULL);
	evt_buf_release(&sql);
	if (rc != SQLITE_OK)
		return fail(st, e, "read");
	bind_where(s, q);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*head = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return fail(st, e, "read");
	return 0;
}

/* The statements of evt's own tables: their SQL, where %s is the name of
 * the events table, or of the bookmarks table for those of bookmarks. */
static const struct {
	int bookmarks;
	const char *sql;
} own_sql[S_N] = {
	[S_SNAP_GET] = { 0,
		"SELECT key, version, position, state FROM \"%s_snapshots\" "
		"WHERE stream = ?1 AND aggregate_id = ?2" },
	[S_SNAP_PUT] = { 0,
		"INSERT INTO \"%s_snapshots\" (stream, aggregate_id, key, "
		"version, position, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON "
		"CONFLICT (stream, aggregate_id) DO UPDATE SET key = "
		"excluded.key, version = excluded.version, position = "
		"excluded.position, state = excluded.state" },
	[S_BM_GET] = { 1,
		"SELECT position FROM \"%s\" WHERE bookmark = ?1" },
	[S_BM_SET] = { 1,
		"INSERT INTO \"%s\" (bookmark, position) VALUES (?1, ?2) ON "
		"CONFLICT (bookmark) DO UPDATE SET position = "
		"excluded.position" },
	[S_BM_ALL] = { 1,
		"SELECT bookmark, position FROM \"%s\" ORDER BY bookmark" },
	[S_PARK] = { 0,
		"INSERT OR REPLACE INTO \"%s_parked\" (handler, position, "
		"status, time) VALUES (?1, ?2, ?3, ?4)" },
	[S_PARKED] = { 0,
		"SELECT count(*) FROM \"%s_parked\" WHERE handler = ?1" },
	[S_KEY_GET] = { 0,
		"SELECT stream, aggregate_id, first, last FROM \"%s_keys\" "
		"WHERE key = ?1" },
	[S_KEY_PUT] = { 0,
		"INSERT INTO \"%s_keys\" (key, stream, aggregate_id, first, "
		"last) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[S_PARKED_LIST] = { 0,
		"SELECT position, status, time FROM \"%s_parked\" WHERE "
		"handler = ?1 ORDER BY position" },
	[S_UNPARK] = { 0,
		"DELETE FROM \"%s_parked\" WHERE handler = ?1 AND (?2 < 0 OR "
		"position = ?2)" },
	[S_BM_DEL] = { 1,
		"DELETE FROM \"%s\" WHERE bookmark = ?1" },
	[S_HND_GET] = { 0,
		"SELECT streams FROM \"%s_handlers\" WHERE bookmarks = ?1 AND "
		"name = ?2" },
	[S_HND_START] = { 0,
		"INSERT INTO \"%s_handlers\" (bookmarks, name, streams, "
		"\"group\", started) VALUES (?1, ?2, ?3, NULL, ?4) ON "
		"CONFLICT (bookmarks, name) DO UPDATE SET streams = "
		"excluded.streams, \"group\" = excluded.\"group\", started = "
		"excluded.started" },
	[S_HND_END] = { 0,
		"UPDATE \"%s_handlers\" SET ended = ?3, failed = CASE WHEN ?4 "
		"IS NULL THEN failed ELSE ?3 END, failure = coalesce(?4, "
		"failure) WHERE bookmarks = ?1 AND name = ?2" },
	[S_HND_DEL] = { 0,
		"DELETE FROM \"%s_handlers\" WHERE bookmarks = ?1 AND name = "
		"?2" },
	[S_HND_ALL] = { 0,
		"SELECT name, streams FROM \"%s_handlers\" WHERE bookmarks = "
		"?1 ORDER BY name" },
};

/* A statement of evt's own tables, prepared once.  Returns NULL with
 * *missing set when its table does not exist (yet). */
static sqlite3_stmt *own_stmt(struct evt_store *st, int which, int *missing,
			      struct evt_err *e, int *rc)
{
	struct sq *q = SQ(st);
	struct evt_buf sql = EVT_BUF_INIT;
	int tries;

	*missing = 0;
	*rc = 0;
	if (q->stmt[which])
		return q->stmt[which];
	evt_buf_addf(&sql, own_sql[which].sql, own_sql[which].bookmarks ?
		     st->bookmarks : st->events);
	for (tries = 0; sqlite3_prepare_v3(q->db, sql.p, -1,
					   SQLITE_PREPARE_PERSISTENT,
					   &q->stmt[which], NULL) != SQLITE_OK;
	     tries++) {
		const char *m = sqlite3_errmsg(q->db);

		q->stmt[which] = NULL;
		if (strncmp(m, "no such table", 13) != 0) {
			*rc = fail(st, e, "read");
			break;
		}
		/* The schema this connection read may be older than a
		 * table another process made since: a statement that reads
		 * the schema cookie reloads it when it changed. */
		if (tries || sqlite3_exec(q->db, "SELECT 1 FROM sqlite_master "
					  "LIMIT 1", NULL, NULL, NULL) !=
			     SQLITE_OK) {
			*missing = 1;
			break;
		}
	}
	evt_buf_release(&sql);
	return q->stmt[which];
}

static int create_own(struct evt_store *st, const char *what,
		      struct evt_err *e);

/* The statement which of evt's own table what (see create_own), for a
 * write: the table is created when missing.  NULL with *rc set. */
static sqlite3_stmt *own_stmt_create(struct evt_store *st, int which,
				     const char *what, int *rc,
				     struct evt_err *e)
{
	int missing;
	sqlite3_stmt *s = own_stmt(st, which, &missing, e, rc);

	if (!s && missing) {
		if ((*rc = create_own(st, what, e)))
			return NULL;
		s = own_stmt(st, which, &missing, e, rc);
	}
	if (!s && !*rc)
		*rc = fail(st, e, "write to");
	return s;
}

static int create_own(struct evt_store *st, const char *what,
		      struct evt_err *e)
{
	struct evt_buf sql = EVT_BUF_INIT;
	int rc;

	if (strcmp(what, "snapshots") == 0)
		evt_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS "
			     "\"%s_snapshots\" (stream VARCHAR(255) NOT NULL, "
			     "aggregate_id VARCHAR(255) NOT NULL, key TEXT NOT "
			     "NULL, version INTEGER NOT NULL, position INTEGER "
			     "NOT NULL, state TEXT NOT NULL, PRIMARY KEY "
			     "(stream, aggregate_id))", st->events);
	else if (strcmp(what, "keys") == 0)
		evt_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS \"%s_keys\" "
			     "(key VARCHAR(255) NOT NULL PRIMARY KEY, stream "
			     "VARCHAR(255) NOT NULL, aggregate_id VARCHAR(255) "
			     "NOT NULL, first INTEGER NOT NULL, last INTEGER "
			     "NOT NULL)", st->events);
	else if (strcmp(what, "handlers") == 0)
		evt_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS "
			     "\"%s_handlers\" (bookmarks VARCHAR(255) NOT NULL, "
			     "name VARCHAR(255) NOT NULL, streams TEXT NOT NULL, "
			     "\"group\" TEXT, started DATETIME, ended DATETIME, "
			     "failed DATETIME, failure TEXT, PRIMARY KEY "
			     "(bookmarks, name))", st->events);
	else
		evt_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS \"%s_parked\" "
			     "(handler VARCHAR(255) NOT NULL, position INTEGER "
			     "NOT NULL, status INTEGER, time DATETIME, "
			     "PRIMARY KEY (handler, position))", st->events);
	rc = exec(st, sql.p, "write to", e);
	evt_buf_release(&sql);
	return rc;
}

static int sq_snapshot_get(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   struct evt_buf *state, int64_t *version,
			   int64_t *position, int *found, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_SNAP_GET, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);

		if (k && strcmp(k, key) == 0) {
			*found = 1;
			*version = sqlite3_column_int64(s, 1);
			*position = sqlite3_column_int64(s, 2);
			evt_buf_reset(state);
			evt_buf_add(state, sqlite3_column_text(s, 3),
				    (size_t)sqlite3_column_bytes(s, 3));
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return 0;
}

static int sq_snapshot_put(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   const char *state, size_t len, int64_t version,
			   int64_t position, struct evt_err *e)
{
	int rc;
	sqlite3_stmt *s = own_stmt_create(st, S_SNAP_PUT, "snapshots", &rc, e);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, version);
	sqlite3_bind_int64(s, 5, position);
	sqlite3_bind_text64(s, 6, state, len, SQLITE_STATIC, SQLITE_UTF8);
	return run(st, s, "write to", e);
}

static int sq_bookmark_get(struct evt_store *st, const char *name,
			   int64_t *pos, int *found, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_BM_GET, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = 1;
		*pos = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return 0;
}

static int sq_bookmark_set(struct evt_store *st, const char *name,
			   int64_t pos, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_BM_SET, &missing, e, &rc);

	if (!s)
		return rc ? rc : fail(st, e, "write to");
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, pos);
	return run(st, s, "write to", e);
}

static int sq_bookmarks(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			struct evt_err *e)
{
	int missing, rc, ret = 0;
	sqlite3_stmt *s = own_stmt(st, S_BM_ALL, &missing, e, &rc);

	if (!s)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if ((ret = fn(ctx, name ? name : "",
			      sqlite3_column_int64(s, 1))))
			break;
	}
	sqlite3_reset(s);
	if (!ret && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return ret;
}

static int sq_park(struct evt_store *st, const char *handler,
		   int64_t position, int status, struct evt_err *e)
{
	char ts[EVT_TS_LEN + 1];
	int rc;
	sqlite3_stmt *s = own_stmt_create(st, S_PARK, "parked", &rc, e);

	if (!s)
		return rc;
	evt_ts_format(evt_now_ms(), ts);
	sqlite3_bind_text(s, 1, handler, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, position);
	sqlite3_bind_int(s, 3, status);
	sqlite3_bind_text(s, 4, ts, -1, SQLITE_TRANSIENT);
	return run(st, s, "write to", e);
}

static int sq_key_get(struct evt_store *st, const char *key,
		      struct evt_key *k, int *found, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_KEY_GET, &missing, e, &rc);

	if (!s)
		return rc;	/* no table: a new key */
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = 1;
		evt_buf_reset(&k->stream);
		evt_buf_add(&k->stream, sqlite3_column_text(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0));
		evt_buf_reset(&k->id);
		evt_buf_add(&k->id, sqlite3_column_text(s, 1),
			    (size_t)sqlite3_column_bytes(s, 1));
		k->first = sqlite3_column_int64(s, 2);
		k->last = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return 0;
}

static int sq_key_put(struct evt_store *st, const char *key,
		      const char *stream, size_t slen, const char *id,
		      size_t idlen, int64_t first, int64_t last,
		      struct evt_err *e)
{
	int rc;
	sqlite3_stmt *s = own_stmt_create(st, S_KEY_PUT, "keys", &rc, e);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, stream, (int)slen, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, id, (int)idlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, first);
	sqlite3_bind_int64(s, 5, last);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, e, "write to");
	return 0;
}

static int sq_parked_count(struct evt_store *st, const char *handler,
			   int64_t *n, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_PARKED, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, handler, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return fail(st, e, "read");
	return 0;
}

static int sq_parked(struct evt_store *st, const char *handler,
		     evt_parked_fn fn, void *ctx, struct evt_err *e)
{
	int missing, rc, ret = 0;
	sqlite3_stmt *s = own_stmt(st, S_PARKED_LIST, &missing, e, &rc);

	if (!s)
		return rc;	/* no table: none parked */
	sqlite3_bind_text(s, 1, handler, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *at = (const char *)sqlite3_column_text(s, 2);

		if ((ret = fn(ctx, sqlite3_column_int64(s, 0),
			      sqlite3_column_int(s, 1), at ? at : "")))
			break;
	}
	sqlite3_reset(s);
	if (!ret && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return ret;
}

/* Run the write which of evt's own statements with parameters a, then b
 * (or n when b is NULL, for S_UNPARK); a missing table is nothing to do. */
static int sq_own_write(struct evt_store *st, int which, const char *a,
			const char *b, int64_t n, struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, which, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	else if (which == S_UNPARK)
		sqlite3_bind_int64(s, 2, n);
	return run(st, s, "write to", e);
}

static int sq_unpark(struct evt_store *st, const char *handler,
		     int64_t position, struct evt_err *e)
{
	return sq_own_write(st, S_UNPARK, handler, NULL, position, e);
}

static int sq_bookmark_delete(struct evt_store *st, const char *name,
			      struct evt_err *e)
{
	return sq_own_write(st, S_BM_DEL, name, NULL, 0, e);
}

static int sq_handler_delete(struct evt_store *st, const char *name,
			     struct evt_err *e)
{
	return sq_own_write(st, S_HND_DEL, st->bookmarks, name, 0, e);
}

static int sq_handler_get(struct evt_store *st, const char *name,
			  struct evt_buf *streams, int *found,
			  struct evt_err *e)
{
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_HND_GET, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, st->bookmarks, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = 1;
		evt_buf_reset(streams);
		evt_buf_add(streams, sqlite3_column_text(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return 0;
}

static int sq_handler_start(struct evt_store *st, const char *name,
			    const char *streams, struct evt_err *e)
{
	char ts[EVT_TS_LEN + 1];
	int rc;
	sqlite3_stmt *s = own_stmt_create(st, S_HND_START, "handlers", &rc, e);

	if (!s)
		return rc;
	evt_ts_format(evt_now_ms(), ts);
	sqlite3_bind_text(s, 1, st->bookmarks, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, streams, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ts, -1, SQLITE_TRANSIENT);
	return run(st, s, "write to", e);
}

static int sq_handler_end(struct evt_store *st, const char *name,
			  const char *failure, struct evt_err *e)
{
	char ts[EVT_TS_LEN + 1];
	int missing, rc;
	sqlite3_stmt *s = own_stmt(st, S_HND_END, &missing, e, &rc);

	if (!s)
		return rc;
	evt_ts_format(evt_now_ms(), ts);
	sqlite3_bind_text(s, 1, st->bookmarks, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	if (failure)
		sqlite3_bind_text(s, 4, failure, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	return run(st, s, "write to", e);
}

static int sq_handlers(struct evt_store *st, evt_handler_fn fn, void *ctx,
		       struct evt_err *e)
{
	int missing, rc, ret = 0;
	sqlite3_stmt *s = own_stmt(st, S_HND_ALL, &missing, e, &rc);

	if (!s)
		return rc;
	sqlite3_bind_text(s, 1, st->bookmarks, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *streams = (const char *)sqlite3_column_text(s, 1);

		if ((ret = fn(ctx, name ? name : "", streams)))
			break;
	}
	sqlite3_reset(s);
	if (!ret && rc != SQLITE_DONE)
		return fail(st, e, "read");
	return ret;
}

static int sq_count(struct evt_store *st, const struct evt_query *q,
		    int64_t *n, struct evt_err *e)
{
	struct sq *sq = SQ(st);
	struct evt_buf sql = EVT_BUF_INIT;
	struct evt_query cq = *q;
	sqlite3_stmt *s = NULL;
	int rc;

	if (!sq->tables)
		return 0;
	if ((rc = group_fn(st, q, e)))
		return rc;
	cq.id = NULL;
	evt_buf_addf(&sql, "SELECT count(*) FROM \"%s\"", st->events);
	where(&sql, &cq);
	rc = sqlite3_prepare_v2(sq->db, sql.p, -1, &s, NULL);
	evt_buf_release(&sql);
	if (rc != SQLITE_OK)
		return fail(st, e, "read");
	bind_where(s, &cq);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return fail(st, e, "read");
	return 0;
}

/* Handler locks: one byte per (bookmarks table, NAME) of <path>-evtlock,
 * locked with an open-file-description lock, which dies with the process. */
static int lock_file(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = SQ(st);
	struct evt_buf path = EVT_BUF_INIT;

	if (q->lockfd >= 0)
		return 0;
	evt_buf_addf(&path, "%s-evtlock", st->path);
	q->lockfd = open(path.p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (q->lockfd < 0) {
		int err = errno;

		evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", path.p,
			 strerror(err));
		evt_buf_release(&path);
		return EVT_EFAIL;
	}
	evt_buf_release(&path);
	return 0;
}

static off_t lock_byte(struct evt_store *st, const char *name)
{
	uint64_t h = evt_fnv(EVT_FNV0, st->bookmarks, strlen(st->bookmarks));

	h = evt_fnv(evt_fnv(h, "\xff", 1), name, strlen(name));
	return (off_t)(h & 0x3fffffffffffffffULL);
}

static int sq_lock(struct evt_store *st, const char *name, int wait,
		   struct evt_err *e)
{
	struct flock fl;
	int nap = 1;

	if (lock_file(st, e))
		return EVT_EFAIL;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = lock_byte(st, name);
	fl.l_len = 1;
	/* Waiting tries again at 1, 2, 4 ... 100 ms, sleeping in ppoll with
	 * SIGINT and SIGTERM let through (a caller may block them), as the
	 * PostgreSQL backend does: one that is pending or comes interrupts
	 * the wait.  (A blocking F_OFD_SETLKW would miss a signal that comes
	 * between unblocking it and going to sleep.) */
	while (fcntl(SQ(st)->lockfd, F_OFD_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES)
			return evt_errf(e, EVT_EFAIL, "cannot lock "
					"'%s-evtlock': %s", st->path,
					strerror(errno));
		if (!wait)
			return evt_errf(e, EVT_EBUSY, "%s: already running",
					name);
		if (evt_poll_signals(NULL, 0, nap) < 0 && errno == EINTR)
			return evt_errf(e, EVT_EBUSY, "%s: interrupted while "
					"waiting for the lock", name);
		nap = nap < 50 ? nap * 2 : 100;
	}
	return 0;
}

static void sq_unlock(struct evt_store *st, const char *name)
{
	struct flock fl;

	if (SQ(st)->lockfd < 0)
		return;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = lock_byte(st, name);
	fl.l_len = 1;
	fcntl(SQ(st)->lockfd, F_OFD_SETLK, &fl);
}

static int sq_lock_held(struct evt_store *st, const char *name, int *held,
			struct evt_err *e)
{
	struct flock fl;

	*held = 0;
	if (lock_file(st, e))
		return 0;	/* nobody can hold a lock we cannot open */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = lock_byte(st, name);
	fl.l_len = 1;
	if (fcntl(SQ(st)->lockfd, F_OFD_GETLK, &fl) < 0)
		return evt_errf(e, EVT_EFAIL, "cannot read lock '%s-evtlock': "
				"%s", st->path, strerror(errno));
	*held = fl.l_type != F_UNLCK;
	return 0;
}

/* The wake-up: inotify on the store's directory, for writes to the
 * database file and its WAL (a watch on the directory survives the WAL
 * being deleted and made anew). */
static int watch(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = SQ(st);
	const char *slash = strrchr(st->path, '/');
	char *dir;

	if (q->ifd >= 0)
		return 0;
	q->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (q->ifd < 0)
		return evt_errf(e, EVT_EFAIL, "cannot watch '%s': %s",
				st->path, strerror(errno));
	dir = slash ? evt_xstrndup(st->path, (size_t)(slash - st->path)) :
		      evt_xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = evt_xstrdup("/");
	}
	q->base = evt_xstrdup(slash ? slash + 1 : st->path);
	q->wal = evt_xmalloc(strlen(q->base) + 5);
	sprintf(q->wal, "%s-wal", q->base);
	if (inotify_add_watch(q->ifd, dir, IN_MODIFY | IN_CREATE |
					   IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		int err = errno;

		free(dir);
		return evt_errf(e, EVT_EFAIL, "cannot watch '%s': %s",
				st->path, strerror(err));
	}
	q->dir_name = dir;
	return 0;
}

static int sq_wait(struct evt_store *st, int timeout_ms, struct evt_err *e)
{
	struct sq *q = SQ(st);
	int64_t end = timeout_ms < 0 ? -1 : evt_mono_ms() + timeout_ms;
	int rc;

	if ((rc = watch(st, e)))
		return rc;
	for (;;) {
		char buf[4096] __attribute__((aligned(8)));
		struct pollfd p = { q->ifd, POLLIN, 0 };
		int left = end < 0 ? -1 : (int)(end - evt_mono_ms());
		int hit = 0;
		ssize_t n;

		if (end >= 0 && left <= 0)
			return 0;
		/* SIGINT and SIGTERM get through here (and only here) */
		if (evt_poll_signals(&p, 1, left) < 0)
			return 0;	/* a signal: the caller decides */
		while ((n = read(q->ifd, buf, sizeof(buf))) > 0) {
			char *b = buf;

			while (b < buf + n) {
				struct inotify_event *ev = (void *)b;

				if (ev->len && (strcmp(ev->name, q->wal) == 0 ||
						strcmp(ev->name, q->base) == 0))
					hit = 1;
				if (ev->mask & IN_Q_OVERFLOW)
					hit = 1;
				b += sizeof(*ev) + ev->len;
			}
		}
		if (hit)
			return 0;
	}
}

/* A follower started before the store exists: wait for the file.  The
 * watch is on the directory (IN_CREATE: evt-append's open(O_CREAT);
 * IN_MOVED_TO: a store renamed into place), added before the file is
 * looked for again, so that one made in between is not missed.  A check
 * once a second is the safety net (a full inotify queue, a directory
 * replaced). */
static int sq_await(const char *path, volatile sig_atomic_t *stop,
		    int *waited, struct evt_err *e)
{
	const char *slash = strrchr(path, '/');
	struct stat sb;
	char *dir;
	int fd, rc = 0;

	*waited = 0;
	if (stat(path, &sb) == 0 || errno != ENOENT)
		return 0;	/* evt_store_open says what is wrong */
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return evt_errf(e, EVT_EFAIL, "cannot watch '%s': %s", path,
				strerror(errno));
	dir = slash ? evt_xstrndup(path, (size_t)(slash - path)) :
		      evt_xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = evt_xstrdup("/");
	}
	if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0) {
		/* no directory: a mistyped path, not one to wait for */
		rc = evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", path,
			      errno == ENOENT ? "no such directory" :
						strerror(errno));
		goto out;
	}
	*waited = 1;
	while (stat(path, &sb) < 0 && errno == ENOENT && !*stop) {
		char buf[4096] __attribute__((aligned(8)));
		struct pollfd p = { fd, POLLIN, 0 };

		/* SIGINT and SIGTERM get through here (and only here) */
		if (evt_poll_signals(&p, 1, 1000) < 0 && errno != EINTR) {
			rc = evt_errf(e, EVT_EFAIL, "cannot wait for '%s': %s",
				      path, strerror(errno));
			break;
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			;	/* what came does not matter: stat again */
	}
out:
	free(dir);
	close(fd);
	return rc;
}

const struct evt_backend evt_sqlite_backend = {
	.name = "sqlite",
	.schemas = 0,
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.version = sq_version,
	.insert = sq_insert,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.read = sq_read,
	.head = sq_head,
	.summary = sq_summary,
	.snapshot_get = sq_snapshot_get,
	.snapshot_put = sq_snapshot_put,
	.key_get = sq_key_get,
	.key_put = sq_key_put,
	.bookmark_get = sq_bookmark_get,
	.bookmark_set = sq_bookmark_set,
	.bookmarks = sq_bookmarks,
	.park = sq_park,
	.parked_count = sq_parked_count,
	.parked = sq_parked,
	.unpark = sq_unpark,
	.bookmark_delete = sq_bookmark_delete,
	.handler_get = sq_handler_get,
	.handler_start = sq_handler_start,
	.handler_end = sq_handler_end,
	.handler_delete = sq_handler_delete,
	.handlers = sq_handlers,
	.count = sq_count,
	.lock = sq_lock,
	.unlock = sq_unlock,
	.lock_held = sq_lock_held,
	.wait = sq_wait,
	.insert_many = NULL,	/* one by one */
	.await = sq_await,
};

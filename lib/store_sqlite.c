/* store_sqlite.c - the SQLite backend (evtstore's knex schema) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store_impl.h"

struct sq {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *rollback, *version, *insert;
	int tables;		/* the events table exists */
	int in_tx;
};

#define SQ(st) ((struct sq *)(st)->impl)

static int fail(struct evt_store *st, struct evt_err *e, const char *what)
{
	struct sq *q = SQ(st);
	int rc = sqlite3_errcode(q->db);

	if (rc == SQLITE_CONSTRAINT)
		return evt_errf(e, EVT_ECONFLICT, "cannot %s '%s': %s", what,
				st->path, sqlite3_errmsg(q->db));
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

static int sq_open(struct evt_store *st, struct evt_err *e)
{
	struct sq *q = evt_xmalloc(sizeof(*q));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	const char *env, *sync = "FULL";
	int64_t busy = 10000;
	struct stat sb;
	int n = 0, rc;

	memset(q, 0, sizeof(*q));
	st->impl = q;
	if ((env = getenv("EVT_SYNC")) && *env) {
		if (strcmp(env, "normal") == 0)
			sync = "NORMAL";
		else if (strcmp(env, "full") != 0)
			return evt_errf(e, EVT_EUSAGE,
					"EVT_SYNC must be 'full' or 'normal'");
	}
	if ((env = getenv("EVT_BUSY_TIMEOUT")) && *env &&
	    evt_parse_i64(env, 0, 86400000, &busy) < 0)
		return evt_errf(e, EVT_EUSAGE,
				"EVT_BUSY_TIMEOUT must be milliseconds");
	if (st->write)
		flags |= SQLITE_OPEN_CREATE;
	else if (stat(st->path, &sb) < 0)
		return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s", st->path,
				errno == ENOENT ? "no such store" :
						  strerror(errno));
	rc = sqlite3_open_v2(st->path, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (!q->db)
			return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
					st->path, sqlite3_errstr(rc));
		if (st->write && stat(st->path, &sb) < 0 && errno != ENOENT)
			return evt_errf(e, EVT_EFAIL, "cannot open '%s': %s",
					st->path, strerror(errno));
		return fail(st, e, "open");
	}
	sqlite3_extended_result_codes(q->db, 0);
	sqlite3_busy_timeout(q->db, (int)busy);
	if ((rc = table_count(st, &n, e)))
		return rc;
	q->tables = n & 1;
	if (!st->write)
		return 0;
	{
		char pragma[64];

		if ((rc = exec(st, "PRAGMA journal_mode=WAL", "open", e)))
			return rc;
		snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", sync);
		if ((rc = exec(st, pragma, "open", e)))
			return rc;
	}
	if (n != 3) {
		if ((rc = create_schema(st, e)))
			return rc;
		q->tables = 1;
	}
	return 0;
}

static void sq_close(struct evt_store *st)
{
	struct sq *q = SQ(st);

	if (q->in_tx)
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(q->begin);
	sqlite3_finalize(q->commit);
	sqlite3_finalize(q->rollback);
	sqlite3_finalize(q->version);
	sqlite3_finalize(q->insert);
	sqlite3_close(q->db);
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

	evt_buf_addstr(sql, " WHERE position > ?1");
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
	evt_buf_addf(&sql, "SELECT position, stream, aggregate_id, version, "
		     "timestamp, event FROM \"%s\"", st->events);
	where(&sql, q);
	evt_buf_addf(&sql, " ORDER BY %s%s",
		     q->id && q->streams && q->nstreams == 1 ? "version" :
							       "position",
		     q->last ? " DESC" : "");
	if (q->limit > 0)
		evt_buf_addf(&sql, " LIMIT %lld", (long long)q->limit);
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

const struct evt_backend evt_sqlite_backend = {
	"sqlite", sq_open, sq_close, sq_begin, sq_version, sq_insert,
	sq_commit, sq_rollback, sq_read, sq_head
};

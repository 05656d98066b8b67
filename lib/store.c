/* store.c - the backend-neutral half of the store */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "store_impl.h"

const char *evt_table_name_check(const char *name, int dotted)
{
	const char *p = name;
	size_t part = 0;
	int parts = 1;

	if (!*p)
		return "is empty";
	for (; *p; p++) {
		if (*p == '.' && dotted && parts == 1 && part) {
			parts++;
			part = 0;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      *p == '_' || (part && *p >= '0' && *p <= '9')))
			return dotted ? "must match [A-Za-z_][A-Za-z0-9_]* "
					"(optionally schema.name)" :
					"must match [A-Za-z_][A-Za-z0-9_]*";
		if (++part > 63)
			return "has a part longer than 63 bytes";
	}
	if (!part)
		return "must match [A-Za-z_][A-Za-z0-9_]*";
	return NULL;
}

static const char *env_or(const char *v, const char *env, const char *def)
{
	const char *s;

	if (v)
		return v;
	s = getenv(env);
	return s && *s ? s : def;
}

/* The length of "x" in "x://...", a URL scheme (RFC 3986), or 0. */
static size_t scheme_len(const char *url)
{
	size_t i = 0;

	if (!((url[0] >= 'A' && url[0] <= 'Z') || (url[0] >= 'a' &&
						    url[0] <= 'z')))
		return 0;
	while ((url[i] >= 'A' && url[i] <= 'Z') ||
	       (url[i] >= 'a' && url[i] <= 'z') ||
	       (url[i] >= '0' && url[i] <= '9') || url[i] == '+' ||
	       url[i] == '-' || url[i] == '.')
		i++;
	return strncmp(url + i, "://", 3) == 0 ? i : 0;
}

/* The backends that a URL scheme names: "SCHEME://...".  A path and
 * sqlite:PATH are the SQLite backend's (classify).  A backend is added
 * here, with its file lib/store_<name>.c. */
static const struct scheme {
	const char *name[2];		/* NAME://..., a second name or NULL */
	const struct evt_backend *be;
} schemes[] = {
	{ { "postgres", "postgresql" }, &evt_pg_backend },
	{ { "mysql", "mariadb" }, &evt_my_backend },
};

static const struct scheme *find_scheme(const char *url, size_t n)
{
	size_t i, k;

	for (i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
		for (k = 0; k < 2 && schemes[i].name[k]; k++)
			if (strlen(schemes[i].name[k]) == n &&
			    memcmp(schemes[i].name[k], url, n) == 0)
				return &schemes[i];
	return NULL;
}

/* What a store URL names (SPEC.md section 2): a SCHEME:// of the table
 * (*path: the URL); sqlite:PATH, sqlite:///RELATIVE, sqlite:////ABSOLUTE
 * and a plain path (without '?', no URI parameters) a SQLite file (*path:
 * its file name, pointing into url).  Any other SCHEME://, sqlite://HOST,
 * an empty path are EVT_EUSAGE. */
static int classify(const char *url, const struct scheme **sch,
		    const char **path, struct evt_err *e)
{
	size_t n = scheme_len(url);

	*path = url;
	if ((*sch = find_scheme(url, n)))
		return 0;
	if (strncmp(url, "sqlite:", 7) == 0) {
		/* sqlite:PATH, or as SQLAlchemy: sqlite:///RELATIVE and
		 * sqlite:////ABSOLUTE, never with a host */
		*path = url + 7;
		if (strncmp(*path, "//", 2) == 0 && (*path)[2] != '/')
			return evt_errf(e, EVT_EUSAGE, "unsupported store URL "
					"'%s': a SQLite URL has no host (a "
					"relative path is sqlite:///PATH, an "
					"absolute one sqlite:////PATH)", url);
		if (strncmp(*path, "///", 3) == 0)
			*path += 3;
		if (!**path)
			return evt_errf(e, EVT_EUSAGE, "invalid store URL '%s': "
					"no path", url);
	} else if (n) {
		return evt_errf(e, EVT_EUSAGE, "unsupported store URL scheme "
				"'%.*s'", (int)n, url);
	} else if (!*url) {
		return evt_errf(e, EVT_EUSAGE, "invalid store path '': empty");
	} else if (strchr(url, '?')) {
		/* so that x.db?mode=ro is never taken for a file name */
		return evt_errf(e, EVT_EUSAGE, "unsupported store path '%s': "
				"URI parameters are not supported (for a file "
				"of that name, write sqlite:%s)", url, url);
	}
	/* SQLite would take file:... for a URI: a path is a file name. */
	if (strncmp(*path, "file:", 5) == 0)
		return evt_errf(e, EVT_EUSAGE, "unsupported store path '%s': "
				"SQLite URIs are not supported (for a file of "
				"that name, write ./%s)", *path, *path);
	return 0;
}

/* The store o names: its URL classified, its table names checked. */
static int resolve(const struct evt_store_opts *o, const char **url,
		   const struct evt_backend **be, const char **path,
		   const char **ev, const char **bm, struct evt_err *e)
{
	const struct scheme *sch;
	const char *why;
	int dotted, r;

	*url = env_or(o->url, "EVT_DB", "events.db");
	*ev = env_or(o->events_table, "EVT_EVENTS_TABLE", "events");
	*bm = env_or(o->bookmarks_table, "EVT_BOOKMARKS_TABLE", "bookmarks");
	if ((r = classify(*url, &sch, path, e)))
		return r;
	*be = sch ? sch->be : &evt_sqlite_backend;
	dotted = (*be)->schemas;
	if ((why = evt_table_name_check(*ev, dotted)))
		return evt_errf(e, EVT_EUSAGE, "invalid events table '%s': %s",
				*ev, why);
	if ((why = evt_table_name_check(*bm, dotted)))
		return evt_errf(e, EVT_EUSAGE,
				"invalid bookmarks table '%s': %s", *bm, why);
	return 0;
}

/* EVT_SYNC and EVT_BUSY_TIMEOUT, for every backend. */
static int settings(struct evt_store *st, struct evt_err *e)
{
	const char *env;

	st->sync = EVT_SYNC_UNSET;
	st->busy_timeout = -1;
	if ((env = getenv("EVT_SYNC")) && *env) {
		if (strcmp(env, "normal") == 0)
			st->sync = EVT_SYNC_NORMAL;
		else if (strcmp(env, "full") == 0)
			st->sync = EVT_SYNC_FULL;
		else
			return evt_errf(e, EVT_EUSAGE,
					"EVT_SYNC must be 'full' or 'normal'");
	}
	if ((env = getenv("EVT_BUSY_TIMEOUT")) && *env &&
	    evt_parse_i64(env, 0, 86400000, &st->busy_timeout) < 0)
		return evt_errf(e, EVT_EUSAGE,
				"EVT_BUSY_TIMEOUT must be milliseconds");
	return 0;
}

int evt_store_open(struct evt_store **stp, const struct evt_store_opts *o,
		   struct evt_err *e)
{
	const char *url, *path, *ev, *bm;
	const struct evt_backend *be;
	struct evt_store *st;
	int r;

	*stp = NULL;
	if ((r = resolve(o, &url, &be, &path, &ev, &bm, e)))
		return r;
	st = evt_xmalloc(sizeof(*st));
	memset(st, 0, sizeof(*st));
	st->be = be;
	st->url = evt_xstrdup(url);
	st->path = evt_xstrdup(path);
	st->events = evt_xstrdup(ev);
	st->bookmarks = evt_xstrdup(bm);
	st->write = o->write;
	st->create = o->create;
	st->relaxed = o->relaxed;
	st->blind = o->blind;
	st->keys = o->keys;
	st->append = o->append;
	if ((r = settings(st, e)) || (r = st->be->open(st, e))) {
		evt_store_close(st);
		return r;
	}
	*stp = st;
	return 0;
}

int evt_store_await(const struct evt_store_opts *o,
		    volatile sig_atomic_t *stop, int *waited,
		    struct evt_err *e)
{
	const char *url, *path, *ev, *bm;
	const struct evt_backend *be;
	struct evt_store set;
	int r;

	*waited = 0;
	/* a usage error is said at once, not once the store exists */
	if ((r = resolve(o, &url, &be, &path, &ev, &bm, e)) ||
	    (r = settings(&set, e)))
		return r;
	return be->await ? be->await(path, stop, waited, e) : 0;
}

void evt_store_close(struct evt_store *st)
{
	if (!st)
		return;
	if (st->impl)
		st->be->close(st);
	free(st->url);
	free(st->path);
	free(st->events);
	free(st->bookmarks);
	free(st);
}

const char *evt_store_url(const struct evt_store *st)
{
	return st->url;
}

void evt_store_child_env(const struct evt_store *st, struct evt_buf *b,
			 char *env[4])
{
	char cwd[PATH_MAX];
	size_t at[3], i;
	/* a path with '?' is a file name only after sqlite: */
	const char *pfx = strchr(st->path, '?') ? "sqlite:" : "";

	evt_buf_reset(b);
	at[0] = 0;
	if (st->be != &evt_sqlite_backend)
		evt_buf_addf(b, "EVT_DB=%s", st->url);
	else if (st->path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		evt_buf_addf(b, "EVT_DB=%s%s", pfx, st->path);
	else
		evt_buf_addf(b, "EVT_DB=%s%s%s%s", pfx, cwd,
			     strcmp(cwd, "/") ? "/" : "", st->path);
	evt_buf_addc(b, '\0');
	at[1] = b->len;
	evt_buf_addf(b, "EVT_EVENTS_TABLE=%s", st->events);
	evt_buf_addc(b, '\0');
	at[2] = b->len;
	evt_buf_addf(b, "EVT_BOOKMARKS_TABLE=%s", st->bookmarks);
	for (i = 0; i < 3; i++)
		env[i] = b->p + at[i];
	env[3] = NULL;
}

int evt_store_begin(struct evt_store *st, struct evt_err *e)
{
	return st->be->begin(st, e);
}

int evt_store_version(struct evt_store *st, const char *stream, size_t slen,
		      const char *id, size_t idlen, int64_t *version,
		      struct evt_err *e)
{
	return st->be->version(st, stream, slen, id, idlen, version, e);
}

int evt_store_insert(struct evt_store *st, struct evt_record *r,
		     struct evt_err *e)
{
	return st->be->insert(st, r, e);
}

int evt_store_insert_many(struct evt_store *st, struct evt_record *rows,
			  size_t n, size_t *bad, struct evt_err *e)
{
	size_t i;
	int rc;

	*bad = n;
	if (st->be->insert_many)
		return st->be->insert_many(st, rows, n, bad, e);
	for (i = 0; i < n; i++)
		if ((rc = st->be->insert(st, &rows[i], e))) {
			*bad = i;
			return rc;
		}
	return 0;
}

int evt_store_commit(struct evt_store *st, struct evt_err *e)
{
	return st->be->commit(st, e);
}

int evt_store_insert_commit(struct evt_store *st, struct evt_record *rows,
			    size_t n, size_t *bad, struct evt_err *e)
{
	int rc;

	*bad = n;
	if (st->be->insert_commit)
		return st->be->insert_commit(st, rows, n, bad, e);
	if ((rc = evt_store_insert_many(st, rows, n, bad, e)))
		return rc;
	return evt_store_commit(st, e);
}

void evt_store_rollback(struct evt_store *st)
{
	st->be->rollback(st);
}

/* Type filtering and the limit that goes with it, around the callback. */
struct typed {
	const struct evt_query *q;
	evt_record_fn fn;
	void *ctx;
	int64_t left;
	struct evt_buf scratch, type;
	int64_t matched;
};

static int type_matches(struct typed *t, const struct evt_record *r)
{
	struct evt_jfield f = { "type", EVT_J_NONE, 0, 0 };
	const char *why;
	size_t col, i;
	const char *ty;
	size_t tl;

	evt_buf_reset(&t->scratch);
	if (evt_json_compact_stored(r->event, r->event_len, &t->scratch, &f, 1,
				    &why, &col) != EVT_J_OBJECT ||
	    f.kind != EVT_J_STRING)
		return 0;
	ty = t->scratch.p + f.off + 1;
	tl = f.len - 2;
	if (memchr(ty, '\\', tl)) {
		if (evt_json_unquote(t->scratch.p + f.off, f.len, &t->type) < 0)
			return 0;
		ty = t->type.p;
		tl = t->type.len;
	}
	for (i = 0; i < t->q->ntypes; i++)
		if (strlen(t->q->types[i]) == tl &&
		    memcmp(t->q->types[i], ty, tl) == 0)
			return 1;
	return 0;
}

static int typed_row(void *ctx, const struct evt_record *r)
{
	struct typed *t = ctx;
	int rc;

	if (!type_matches(t, r))
		return 0;
	t->matched = r->position;
	if (t->fn && (rc = t->fn(t->ctx, r)))
		return rc;
	if (t->left > 0 && --t->left == 0)
		return EVT_STOP;	/* enough */
	return 0;
}

static int read_typed(struct evt_store *st, const struct evt_query *q,
		      evt_record_fn fn, void *ctx, struct evt_err *e)
{
	struct evt_query bq = *q;
	struct typed t;
	int rc;

	if (q->limit == 0)
		return 0;
	memset(&t, 0, sizeof(t));
	t.q = q;
	t.fn = fn;
	t.ctx = ctx;
	t.left = q->limit;
	bq.types = NULL;
	bq.ntypes = 0;
	bq.limit = -1;
	rc = st->be->read(st, &bq, typed_row, &t, e);
	evt_buf_release(&t.scratch);
	evt_buf_release(&t.type);
	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_read(struct evt_store *st, const struct evt_query *q,
		   evt_record_fn fn, void *ctx, struct evt_err *e)
{
	int rc;

	if (q->types)
		return read_typed(st, q, fn, ctx, e);
	if (q->limit == 0)
		return 0;
	rc = st->be->read(st, q, fn, ctx, e);
	return rc == EVT_STOP ? 0 : rc;
}

static int head_row(void *ctx, const struct evt_record *r)
{
	*(int64_t *)ctx = r->position;
	return EVT_STOP;
}

int evt_store_head(struct evt_store *st, const struct evt_query *q,
		   int64_t *head, struct evt_err *e)
{
	struct evt_query bq = *q;
	int rc;

	*head = 0;
	if (!q->types)
		return st->be->head(st, q, head, e);
	bq.last = 1;
	bq.limit = 1;
	rc = read_typed(st, &bq, head_row, head, e);
	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_snapshot_get(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   struct evt_buf *state, int64_t *version,
			   int64_t *position, int *found, struct evt_err *e)
{
	*found = 0;
	*version = *position = 0;
	return st->be->snapshot_get(st, stream, id, key, state, version,
				    position, found, e);
}

int evt_store_snapshot_put(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   const char *state, size_t len, int64_t version,
			   int64_t position, struct evt_err *e)
{
	return st->be->snapshot_put(st, stream, id, key, state, len, version,
				    position, e);
}

int evt_store_bookmark_get(struct evt_store *st, const char *name,
			   int64_t *pos, int *found, struct evt_err *e)
{
	*pos = 0;
	*found = 0;
	return st->be->bookmark_get(st, name, pos, found, e);
}

int evt_store_bookmark_set(struct evt_store *st, const char *name,
			   int64_t pos, struct evt_err *e)
{
	return st->be->bookmark_set(st, name, pos, e);
}

int evt_store_bookmarks(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			struct evt_err *e)
{
	int rc = st->be->bookmarks(st, fn, ctx, e);

	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_summary(struct evt_store *st, const char *stream,
		      evt_summary_fn fn, void *ctx, struct evt_err *e)
{
	int rc = st->be->summary(st, stream, fn, ctx, e);

	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_key_get(struct evt_store *st, const char *key,
		      struct evt_key *k, int *found, struct evt_err *e)
{
	*found = 0;
	return st->be->key_get(st, key, k, found, e);
}

int evt_store_key_put(struct evt_store *st, const char *key,
		      const char *stream, size_t slen, const char *id,
		      size_t idlen, int64_t first, int64_t last,
		      struct evt_err *e)
{
	return st->be->key_put(st, key, stream, slen, id, idlen, first, last,
			       e);
}

int evt_store_park(struct evt_store *st, const char *handler,
		   int64_t position, int status, struct evt_err *e)
{
	return st->be->park(st, handler, position, status, e);
}

int evt_store_parked_count(struct evt_store *st, const char *handler,
			   int64_t *n, struct evt_err *e)
{
	*n = 0;
	return st->be->parked_count(st, handler, n, e);
}

int evt_store_parked(struct evt_store *st, const char *handler,
		     evt_parked_fn fn, void *ctx, struct evt_err *e)
{
	int rc = st->be->parked(st, handler, fn, ctx, e);

	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_unpark(struct evt_store *st, const char *handler,
		     int64_t position, struct evt_err *e)
{
	return st->be->unpark(st, handler, position, e);
}

int evt_store_bookmark_delete(struct evt_store *st, const char *name,
			      struct evt_err *e)
{
	return st->be->bookmark_delete(st, name, e);
}

int evt_store_handler_get(struct evt_store *st, const char *name,
			  struct evt_buf *streams, int *found,
			  struct evt_err *e)
{
	*found = 0;
	return st->be->handler_get(st, name, streams, found, e);
}

int evt_store_handler_start(struct evt_store *st, const char *name,
			    const char *streams, struct evt_err *e)
{
	return st->be->handler_start(st, name, streams, e);
}

int evt_store_handler_end(struct evt_store *st, const char *name,
			  const char *failure, struct evt_err *e)
{
	return st->be->handler_end(st, name, failure, e);
}

int evt_store_handler_delete(struct evt_store *st, const char *name,
			     struct evt_err *e)
{
	return st->be->handler_delete(st, name, e);
}

int evt_store_handlers(struct evt_store *st, evt_handler_fn fn, void *ctx,
		       struct evt_err *e)
{
	int rc = st->be->handlers(st, fn, ctx, e);

	return rc == EVT_STOP ? 0 : rc;
}

int evt_store_count(struct evt_store *st, const struct evt_query *q,
		    int64_t *n, struct evt_err *e)
{
	*n = 0;
	return st->be->count(st, q, n, e);
}

int evt_store_lock(struct evt_store *st, const char *name, int wait,
		   struct evt_err *e)
{
	return st->be->lock(st, name, wait, e);
}

void evt_store_unlock(struct evt_store *st, const char *name)
{
	st->be->unlock(st, name);
}

int evt_store_lock_held(struct evt_store *st, const char *name, int *held,
			struct evt_err *e)
{
	*held = 0;
	return st->be->lock_held(st, name, held, e);
}

int evt_store_wait(struct evt_store *st, int timeout_ms, struct evt_err *e)
{
	return st->be->wait(st, timeout_ms, e);
}

void evt_query_order(struct evt_buf *sql, const struct evt_query *q)
{
	evt_buf_addf(sql, " ORDER BY %s%s",
		     q->id && q->streams && q->nstreams == 1 ? "version" :
							       "position",
		     q->last ? " DESC" : "");
	if (q->limit > 0)
		evt_buf_addf(sql, " LIMIT %lld", (long long)q->limit);
}

int evt_server_read(struct evt_store *st, const struct evt_query *q0,
		    const struct evt_read_ops *ops, evt_record_fn fn,
		    void *ctx, struct evt_err *e)
{
	struct evt_query q = *q0;
	int resumable = !q.last && !(q.id && q.streams && q.nstreams == 1);
	int64_t upto = -1, deadline = 0;
	int tries = 0, rc;
	unsigned s;

	for (;;) {
		int64_t got = 0, last = q.after;

		if (q.safe && (rc = ops->horizon(st, q.after, &upto, e))) {
			s = ops->state(st);
			if (rc == EVT_LOST && (s & EVT_READ_FOLLOWER) &&
			    !(s & EVT_READ_IN_TX) && tries++ < 3) {
				if ((rc = ops->reconnect(st, e)))
					return rc == EVT_INTERRUPTED ? 0 :
					       ops->outward(rc);
				continue;
			}
			return rc == EVT_INTERRUPTED ? 0 : ops->outward(rc);
		}
		if (q.safe && upto <= q.after)
			rc = 0;
		else
			rc = ops->read_once(st, &q, upto, fn, ctx, &got, &last,
					    e);
		s = ops->state(st);
		if (rc == EVT_LOST) {
			if (!(s & EVT_READ_FOLLOWER) || (s & EVT_READ_IN_TX) ||
			    (got && !resumable) || tries++ >= 3)
				return EVT_EFAIL;
			if ((rc = ops->reconnect(st, e)))
				return rc == EVT_INTERRUPTED ? 0 :
				       ops->outward(rc);
		} else if (rc || !q.safe || !(s & EVT_READ_HELD) ||
			   (s & EVT_READ_FOLLOWER) || (got && !resumable)) {
			/* a follower comes back through the backend's wait */
			return rc == EVT_INTERRUPTED ? 0 : rc;
		} else {
			/* one-shot, held at a gap: wait for the writers
			 * that may fill it, at most the busy timeout */
			if (!deadline)
				deadline = evt_mono_ms() +
					   (st->busy_timeout >= 0 ?
						    st->busy_timeout : 10000);
			if (evt_mono_ms() >= deadline ||
			    evt_nap(ops->hold_poll_ms))
				return 0;
		}
		if (got) {
			q.after = last;
			if (q.limit > 0 && (q.limit -= got) == 0)
				return 0;
		}
	}
}

/* fold.c - folding events into aggregates */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "json.h"

/* (stream, id) with a separator: ("ab", "c") is not ("a", "bc"). */
static uint64_t hash2(const char *stream, size_t slen, const char *id,
		      size_t idlen)
{
	uint64_t h = evt_fnv(EVT_FNV0, stream, slen);

	return evt_fnv(evt_fnv(h, "\xff", 1), id, idlen);
}

int evt_fold_init(struct evt_fold *f, struct evt_reducer *r,
		  const char *init, struct evt_err *e)
{
	const char *why;
	size_t col;
	enum evt_jkind k;

	memset(f, 0, sizeof(*f));
	f->r = r;
	f->snap_version = -1;
	if (!init)
		init = "{}";
	k = evt_json_compact(init, strlen(init), &f->init, NULL, 0, &why,
			     &col);
	if (k == EVT_J_NONE)
		return evt_errf(e, EVT_EUSAGE, "invalid --init: invalid JSON "
				"at column %zu: %s", col, why);
	if (k != EVT_J_OBJECT)
		return evt_errf(e, EVT_EUSAGE, "invalid --init: not a JSON "
				"object");
	snprintf(f->what, sizeof(f->what), "%s:%016llx", r->what,
		 (unsigned long long)evt_fnv(EVT_FNV0, f->init.p,
						     f->init.len));
	return 0;
}

void evt_fold_start(struct evt_fold *f, struct evt_agg *a, const char *stream,
		    size_t slen, const char *id, size_t idlen)
{
	evt_agg_init(a, stream, slen, id, idlen);
	evt_agg_merge(a, f->init.p, f->init.len, 0, &f->tmp);
}

void evt_fold_sync(struct evt_fold *f, struct evt_agg *a)
{
	evt_reducer_sync(f->r, a);
}

void evt_fold_drop(struct evt_fold *f, struct evt_agg *a)
{
	evt_reducer_forget(f->r, a);
	evt_agg_release(a);
}

void evt_fold_release(struct evt_fold *f)
{
	size_t i;

	for (i = 0; i < f->naggs; i++) {
		evt_fold_drop(f, f->aggs[i]);
		free(f->aggs[i]);
	}
	free(f->aggs);
	evt_index_release(&f->index);
	evt_buf_release(&f->init);
	evt_buf_release(&f->ev);
	evt_buf_release(&f->tmp);
	f->aggs = NULL;
	f->naggs = f->cap = 0;
}

/* "position N": made only when needed, not per event of a merge. */
static const char *place_of(struct evt_fold *f, const struct evt_record *r)
{
	snprintf(f->place, sizeof(f->place), "position %lld",
		 (long long)r->position);
	return f->place;
}

int evt_fold_event(struct evt_fold *f, struct evt_agg *a,
		   const struct evt_record *r, int valid, const char *place,
		   struct evt_err *e)
{
	struct evt_record ev = *r;
	int rc;

	if (!valid) {
		const char *why;
		size_t col;
		enum evt_jkind k;

		evt_buf_reset(&f->ev);
		k = evt_json_compact_stored(r->event, r->event_len, &f->ev,
					    NULL, 0, &why, &col);
		if (k == EVT_J_NONE)
			return evt_errf(e, EVT_EINPUT, "%s: event is invalid "
					"JSON at column %zu: %s",
					place ? place : place_of(f, r), col,
					why);
		if (k != EVT_J_OBJECT)
			return evt_errf(e, EVT_EINPUT, "%s: event is not a "
					"JSON object",
					place ? place : place_of(f, r));
		ev.event = f->ev.p;
		ev.event_len = f->ev.len;
	}
	if (!ev.version)
		ev.version = a->version + 1;
	if ((rc = evt_reducer_apply(f->r, a, &ev, e)))
		return evt_errprefix(e, rc, "%s", place ? place :
				     place_of(f, r));
	a->version = ev.version;
	a->position = ev.position;
	if (f->each) {
		evt_reducer_sync(f->r, a);
		return f->each(f->each_ctx, a);
	}
	return 0;
}

/* ---- one aggregate of the store ---------------------------------------- */

/* The member named name (a plain key token, with quotes) of the compact
 * object s, or NULL. */
static const char *member(const char *s, size_t n, const char *name,
			  size_t *vlen)
{
	const char *key, *val;
	size_t at = 0, klen, nl = strlen(name);

	while (evt_json_next(s, n, &at, &key, &klen, &val, vlen))
		if (klen == nl && memcmp(key, name, nl) == 0)
			return val;
	return NULL;
}

int evt_fold_snapshot(struct evt_fold *f, struct evt_store *st,
		      struct evt_agg *a, const char *key, struct evt_err *e)
{
	struct evt_buf text = EVT_BUF_INIT, state = EVT_BUF_INIT;
	int64_t version = 0, position = 0;
	const char *why, *what, *agg;
	size_t col, wlen, alen;
	int found = 0, rc;

	f->snap_version = -1;
	rc = evt_store_snapshot_get(st, a->stream, a->id, key, &text,
				    &version, &position, &found, e);
	if (rc || !found || version <= 0 || position <= 0)
		goto out;
	/* {"reducer":"...","aggregate":{...}}; anything else is ignored
	 * and the aggregate folded from the start. */
	if (evt_json_compact_stored(text.p, text.len, &state, NULL, 0, &why,
				    &col) != EVT_J_OBJECT)
		goto out;
	what = member(state.p, state.len, "\"reducer\"", &wlen);
	agg = member(state.p, state.len, "\"aggregate\"", &alen);
	if (!what || !agg || agg[0] != '{' || wlen != strlen(f->what) + 2 ||
	    memcmp(what + 1, f->what, wlen - 2) != 0)
		goto out;
	evt_reducer_forget(f->r, a);
	evt_agg_clear(a);
	evt_agg_merge(a, agg, alen, 0, &f->tmp);
	a->version = version;
	a->position = position;
	f->snap_version = version;
	f->snap_position = position;
out:
	evt_buf_release(&text);
	evt_buf_release(&state);
	return rc;
}

struct catch_up {
	struct evt_fold *f;
	struct evt_agg *a;
	struct evt_err *e;
	int verify;		/* the first row must be the snapshot's */
	int bad;		/* it was not */
};

static int catch_row(void *ctx, const struct evt_record *r)
{
	struct catch_up *c = ctx;

	if (c->verify) {
		c->verify = 0;
		if (r->position == c->a->position &&
		    r->version == c->a->version)
			return 0;
		c->bad = 1;
		return EVT_STOP;
	}
	return evt_fold_event(c->f, c->a, r, 0, NULL, c->e);
}

int evt_fold_catch_up(struct evt_fold *f, struct evt_store *st,
		      struct evt_agg *a, int64_t limit, struct evt_err *e)
{
	const char *streams[1] = { a->stream };
	struct evt_query q;
	struct catch_up c = { f, a, e, 0, 0 };
	int rc;

	memset(&q, 0, sizeof(q));
	q.streams = streams;
	q.nstreams = 1;
	q.id = a->id;
	q.after = a->position;
	q.limit = limit;
	/* Resuming from a snapshot: read from its own event, and check that
	 * it is still there (a store rebuilt since has other positions). */
	if (f->snap_version > 0 && a->version == f->snap_version &&
	    a->position == f->snap_position) {
		c.verify = 1;
		q.after = a->position - 1;
		if (limit >= 0)
			q.limit = limit + 1;
	}
	rc = evt_store_read(st, &q, catch_row, &c, e);
	if (!rc && (c.bad || c.verify)) {
		/* The snapshot does not match the store: fold it all. */
		evt_reducer_forget(f->r, a);
		evt_agg_clear(a);
		evt_agg_merge(a, f->init.p, f->init.len, 0, &f->tmp);
		f->snap_version = -1;
		return evt_fold_catch_up(f, st, a, limit, e);
	}
	return rc;
}

void evt_fold_save(struct evt_fold *f, struct evt_store *st,
		   struct evt_agg *a, const char *key)
{
	struct evt_buf text = EVT_BUF_INIT;
	struct evt_err se;
	int rc;

	if (a->version <= 0 || a->position <= 0 ||
	    (f->snap_version == a->version && f->snap_position == a->position))
		return;
	evt_reducer_sync(f->r, a);
	evt_buf_addstr(&text, "{\"reducer\":");
	evt_json_quote(&text, f->what, strlen(f->what));
	evt_buf_addstr(&text, ",\"aggregate\":");
	evt_agg_print(a, &text);
	evt_buf_addc(&text, '}');
	rc = evt_store_snapshot_put(st, a->stream, a->id, key, text.p,
				    text.len, a->version, a->position, &se);
	evt_buf_release(&text);
	if (rc) {
		/* The snapshot is a cache: the fold stands without it. */
		if (f->warn) {
			evt_errprefix(&se, rc, "cannot keep the snapshot");
			f->warn(se.msg);
		}
		return;
	}
	f->snap_version = a->version;
	f->snap_position = a->position;
}

/* ---- many aggregates ----------------------------------------------------- */

static uint64_t agg_hash(const void *ctx, size_t i)
{
	const struct evt_agg *a = ((const struct evt_fold *)ctx)->aggs[i];

	return hash2(a->stream, a->stream_len, a->id, a->id_len);
}

/* An aggregate looked for. */
struct wanted {
	const struct evt_fold *f;
	const char *stream, *id;
	size_t slen, idlen;
};

static int same_agg(const void *ctx, size_t i)
{
	const struct wanted *w = ctx;
	const struct evt_agg *a = w->f->aggs[i];

	return a->id_len == w->idlen && a->stream_len == w->slen &&
	       memcmp(a->id, w->id, w->idlen) == 0 &&
	       memcmp(a->stream, w->stream, w->slen) == 0;
}

/* The aggregate (stream, id), made at its first event. */
static struct evt_agg *agg_for(struct evt_fold *f, const char *stream,
			       size_t slen, const char *id, size_t idlen)
{
	struct wanted w = { f, stream, id, slen, idlen };
	struct evt_agg *a;
	uint32_t *slot;

	evt_index_grow(&f->index, f->naggs, 64, agg_hash, f);
	slot = evt_index_find(&f->index, hash2(stream, slen, id, idlen),
			      same_agg, &w);
	if (*slot)
		return f->aggs[*slot - 1];
	if (f->naggs == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->aggs = evt_xrealloc(f->aggs, f->cap * sizeof(*f->aggs));
	}
	a = evt_xmalloc(sizeof(*a));
	evt_fold_start(f, a, stream, slen, id, idlen);
	f->aggs[f->naggs++] = a;
	*slot = (uint32_t)f->naggs;
	return a;
}

struct stream_ctx {
	struct evt_fold *f;
	struct evt_err *e;
};

static int stream_row(void *ctx, const struct evt_record *r)
{
	struct stream_ctx *c = ctx;
	struct evt_agg *a = agg_for(c->f, r->stream, r->stream_len, r->id,
				    r->id_len);

	return evt_fold_event(c->f, a, r, 0, NULL, c->e);
}

int evt_fold_stream(struct evt_fold *f, struct evt_store *st,
		    const char *stream, struct evt_err *e)
{
	const char *streams[1] = { stream };
	struct stream_ctx c = { f, e };
	struct evt_query q;

	memset(&q, 0, sizeof(q));
	q.streams = streams;
	q.nstreams = 1;
	q.limit = -1;
	return evt_store_read(st, &q, stream_row, &c, e);
}

/* The record's "position" (ignored by evt_record_parse), or 0. */
static int64_t record_position(const struct evt_record_parser *p)
{
	size_t vlen;
	const char *v = member(p->line.p, p->line.len, "\"position\"", &vlen);
	char num[24];
	int64_t pos;

	if (!v || vlen >= sizeof(num) || v[0] < '0' || v[0] > '9')
		return 0;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	if (evt_parse_i64(num, 0, INT64_MAX, &pos) < 0)
		return 0;
	return pos;
}

int evt_fold_lines(struct evt_fold *f, struct evt_lines *in,
		   struct evt_err *e)
{
	struct evt_record_parser rp;
	struct evt_record r;
	const char *line;
	size_t n;
	int got, rc = 0;

	memset(&rp, 0, sizeof(rp));
	rp.any_stream = 1;	/* records read, not written */
	while ((got = evt_lines_next(in, &line, &n)) > 0) {
		struct evt_agg *a;

		if (evt_blank(line, n))
			continue;
		snprintf(f->place, sizeof(f->place), "%s:%zu", in->name,
			 in->lineno);
		if ((rc = evt_record_parse(&rp, line, n, &r, e))) {
			evt_errprefix(e, rc, "%s", f->place);
			break;
		}
		a = agg_for(f, r.stream, r.stream_len, r.id, r.id_len);
		r.position = record_position(&rp);
		if ((rc = evt_fold_event(f, a, &r, 1, f->place, e)))
			break;
	}
	if (got < 0)
		rc = evt_errf(e, EVT_EFAIL, "cannot read %s: %s", in->name,
			      strerror(errno));
	evt_record_parser_release(&rp);
	return rc;
}

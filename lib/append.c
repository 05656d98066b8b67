/* append.c - append events in one transaction, with optimistic concurrency */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "append.h"
#include "index.h"

#define SPOOL_MEM (4 * 1024 * 1024)
#define BATCH_ROWS 4096
#define BATCH_MEM (4 * 1024 * 1024)

/* A row waiting in the batch: offsets into ap->batch. */
struct prow {
	size_t stream, slen, id, idlen, ts, tslen, event, elen;
	size_t place;			/* NUL-terminated; (size_t)-1: none */
	int64_t version;
};

/* The current version of each aggregate touched by this transaction. */
struct vslot {
	char *key;		/* stream NUL id, owned */
	size_t klen;
	uint64_t hash;
	int64_t version;
};

struct vmap {
	struct vslot *slot;		/* in order of first use */
	size_t n, cap;
	struct evt_index index;
};

static uint64_t hash(const char *s, size_t n)
{
	return evt_fnv(EVT_FNV0, s, n);
}

static uint64_t vslot_hash(const void *ctx, size_t i)
{
	return ((const struct vmap *)ctx)->slot[i].hash;
}

/* An aggregate looked for. */
struct wanted {
	const struct vmap *m;
	const char *key;
	size_t klen;
	uint64_t hash;
};

static int same_vslot(const void *ctx, size_t i)
{
	const struct wanted *w = ctx;
	const struct vslot *v = &w->m->slot[i];

	return v->hash == w->hash && v->klen == w->klen &&
	       memcmp(v->key, w->key, w->klen) == 0;
}

/* The version of key (stream NUL id) in this transaction, or NULL. */
static struct vslot *vmap_find(struct vmap *m, const char *key, size_t klen,
			       uint64_t h)
{
	struct wanted w = { m, key, klen, h };
	uint32_t *slot;

	evt_index_grow(&m->index, m->n, 64, vslot_hash, m);
	slot = evt_index_find(&m->index, h, same_vslot, &w);
	return *slot ? &m->slot[*slot - 1] : NULL;
}

/* key with its version, not in m yet. */
static struct vslot *vmap_add(struct vmap *m, const char *key, size_t klen,
			      uint64_t h, int64_t version)
{
	struct wanted w = { m, key, klen, h };
	struct vslot *v;
	uint32_t *slot;

	evt_index_grow(&m->index, m->n, 64, vslot_hash, m);
	slot = evt_index_find(&m->index, h, same_vslot, &w);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->slot = evt_xrealloc(m->slot, m->cap * sizeof(*m->slot));
	}
	v = &m->slot[m->n];
	v->key = evt_xstrndup(key, klen);
	v->klen = klen;
	v->hash = h;
	v->version = version;
	*slot = (uint32_t)++m->n;
	return v;
}

static void vmap_free(struct vmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->slot[i].key);
	free(m->slot);
	evt_index_release(&m->index);
	free(m);
}

void evt_appender_init(struct evt_appender *ap, const struct evt_store_opts *so,
		       int quiet)
{
	memset(ap, 0, sizeof(*ap));
	ap->so = so;
	ap->quiet = quiet;
	ap->last_ms = -1;
	ap->versions = evt_xmalloc(sizeof(struct vmap));
	memset(ap->versions, 0, sizeof(struct vmap));
}

static int spool(struct evt_appender *ap, struct evt_err *e)
{
	if (ap->spool.len < SPOOL_MEM)
		return 0;
	if (!ap->spill && !(ap->spill = tmpfile()))
		return evt_errf(e, EVT_EFAIL, "cannot create a temporary "
				"file: %s", strerror(errno));
	if (fwrite(ap->spool.p, 1, ap->spool.len, ap->spill) != ap->spool.len)
		return evt_errf(e, EVT_EFAIL, "cannot write a temporary "
				"file: %s", strerror(errno));
	evt_buf_reset(&ap->spool);
	return 0;
}

static int conflict(struct evt_err *e, const char *place, const char *stream,
		    size_t slen, const char *id, size_t idlen, int64_t at,
		    const char *expected)
{
	return evt_errf(e, EVT_ECONFLICT, "%s%sversion conflict: %.*s/%.*s "
			"is at version %lld, expected %s",
			place ? place : "", place ? ": " : "", (int)slen,
			stream, (int)idlen, id, (long long)at, expected);
}

/* A conflict in a batch: name the row (the first one whose version is
 * taken, when the store could not tell) and the version it found. */
static int batch_conflict(struct evt_appender *ap, size_t n, size_t bad,
			  struct evt_err *e)
{
	const struct prow *p = ap->rows;
	const struct evt_record *r = ap->recs;
	const char *place;
	int64_t at = -1, cur = 0;
	struct evt_err e2;
	char want[32];
	size_t i;

	if (bad >= n) {
		evt_store_rollback(ap->st);
		for (i = 0; i < n; i++) {
			if ((i == 0 || r[i].stream_len != r[i - 1].stream_len ||
			     r[i].id_len != r[i - 1].id_len ||
			     memcmp(r[i].stream, r[i - 1].stream,
				    r[i].stream_len) ||
			     memcmp(r[i].id, r[i - 1].id, r[i].id_len)) &&
			    evt_store_version(ap->st, r[i].stream,
					      r[i].stream_len, r[i].id,
					      r[i].id_len, &cur, &e2))
				break;
			if (r[i].version <= cur) {
				bad = i;
				at = cur;
				break;
			}
		}
		if (bad >= n)
			bad = 0;
	}
	if (at < 0)
		at = r[bad].version;
	place = p[bad].place == (size_t)-1 ? NULL : ap->batch.p + p[bad].place;
	snprintf(want, sizeof(want), "%lld", (long long)r[bad].version - 1);
	return conflict(e, place, r[bad].stream, r[bad].stream_len, r[bad].id,
			r[bad].id_len, at, want);
}

/* Insert the batch, then spool what was stored.  committed: NULL, or the
 * last batch, committed with it (*committed: it was). */
static int flush(struct evt_appender *ap, int *committed, struct evt_err *e)
{
	const struct prow *p = ap->rows;
	const char *b = ap->batch.p;
	size_t i, n = ap->nrows, bad;
	int rc;

	if (!n)
		return 0;
	ap->recs = evt_xrealloc(ap->recs, ap->rows_cap * sizeof(*ap->recs));
	for (i = 0; i < n; i++) {
		struct evt_record *r = &ap->recs[i];

		r->position = 0;
		r->stream = b + p[i].stream;
		r->stream_len = p[i].slen;
		r->id = b + p[i].id;
		r->id_len = p[i].idlen;
		r->version = p[i].version;
		r->ts = b + p[i].ts;
		r->ts_len = p[i].tslen;
		r->event = b + p[i].event;
		r->event_len = p[i].elen;
	}
	rc = committed ? evt_store_insert_commit(ap->st, ap->recs, n, &bad, e) :
			 evt_store_insert_many(ap->st, ap->recs, n, &bad, e);
	if (!rc && committed)
		*committed = 1;
	if (rc == EVT_ECONFLICT)
		return batch_conflict(ap, n, bad, e);
	if (rc)
		return rc;
	if (!ap->k.first)
		ap->k.first = ap->recs[0].position;
	ap->k.last = ap->recs[n - 1].position;
	for (i = 0; !ap->quiet && i < n; i++)
		evt_record_print(&ap->spool, &ap->recs[i]);
	ap->nrows = 0;
	evt_buf_reset(&ap->batch);
	if (ap->batch.cap > 4 * BATCH_MEM)
		evt_buf_release(&ap->batch);
	return ap->quiet ? 0 : spool(ap, e);
}

static int same_name(const struct evt_buf *b, const char *s, size_t n)
{
	return b->len == n && memcmp(b->p, s, n) == 0;
}

/* The first event of an append with a key: is KEY known? */
static int key_first(struct evt_appender *ap, const char *stream, size_t slen,
		     const char *id, size_t idlen, struct evt_err *e)
{
	int found, rc;

	if ((rc = evt_store_key_get(ap->st, ap->key, &ap->k, &found, e)))
		return rc;
	if (found && (!same_name(&ap->k.stream, stream, slen) ||
		      !same_name(&ap->k.id, id, idlen)))
		return evt_errf(e, EVT_ECONFLICT, "key '%s' was used for "
				"%s/%s", ap->key, ap->k.stream.p, ap->k.id.p);
	if (found) {
		ap->replay = 1;
		return 0;
	}
	evt_buf_reset(&ap->k.stream);
	evt_buf_add(&ap->k.stream, stream, slen);
	evt_buf_reset(&ap->k.id);
	evt_buf_add(&ap->k.id, id, idlen);
	ap->k.first = ap->k.last = 0;
	return 0;
}

/* adding: a write follows, which finds (or makes) the tables; else the
 * store is opened only to be made */
static int open_store(struct evt_appender *ap, int adding, struct evt_err *e)
{
	struct evt_store_opts so = *ap->so;

	/* nothing printed: no positions needed back (a key keeps them) */
	so.blind = ap->quiet && !ap->key;
	so.keys = ap->key != NULL;
	so.append = adding && !ap->key;
	return evt_store_open(&ap->st, &so, e);
}

/* The aggregate's version in this transaction (read from the store at its
 * first event and checked against --expect there), in *out. */
static int version_of(struct evt_appender *ap, const struct evt_record *r,
		      const char *place, struct vslot **out, struct evt_err *e)
{
	struct vmap *m = ap->versions;
	char key[2 * EVT_NAME_MAX + 1], want[32];
	size_t klen = r->stream_len + 1 + r->id_len;
	int64_t cur = 0;
	uint64_t h;
	int rc;

	memcpy(key, r->stream, r->stream_len);
	key[r->stream_len] = '\0';
	memcpy(key + r->stream_len + 1, r->id, r->id_len);
	h = hash(key, klen);
	if ((*out = vmap_find(m, key, klen, h)))
		return 0;
	if ((rc = evt_store_version(ap->st, r->stream, r->stream_len, r->id,
				    r->id_len, &cur, e)))
		return rc;
	if (ap->expect == EVT_EXPECT_VERSION && cur != ap->expect_version) {
		snprintf(want, sizeof(want), "%lld",
			 (long long)ap->expect_version);
		return conflict(e, place, r->stream, r->stream_len, r->id,
				r->id_len, cur, want);
	}
	if (ap->expect == EVT_EXPECT_EXISTS && cur == 0)
		return conflict(e, place, r->stream, r->stream_len, r->id,
				r->id_len, cur, "exists");
	*out = vmap_add(m, key, klen, h, cur);
	return 0;
}

/* Copy r into the batch as the next version of v. */
static void queue_row(struct evt_appender *ap, const struct evt_record *r,
		      struct vslot *v, const char *place)
{
	struct evt_buf *b = &ap->batch;
	const char *ts = r->ts;
	size_t tslen = r->ts_len;
	struct prow *p;

	if (!ts) {
		int64_t now = evt_now_ms();

		if (now != ap->last_ms) {
			evt_ts_format(now, ap->ts);
			ap->last_ms = now;
		}
		ts = ap->ts;
		tslen = EVT_TS_LEN;
	}
	if (ap->nrows == ap->rows_cap) {
		ap->rows_cap = ap->rows_cap ? ap->rows_cap * 2 : 64;
		ap->rows = evt_xrealloc(ap->rows, ap->rows_cap *
						  sizeof(struct prow));
	}
	p = (struct prow *)ap->rows + ap->nrows++;
	p->version = ++v->version;
	p->stream = b->len;
	p->slen = r->stream_len;
	evt_buf_add(b, r->stream, r->stream_len);
	p->id = b->len;
	p->idlen = r->id_len;
	evt_buf_add(b, r->id, r->id_len);
	p->ts = b->len;
	p->tslen = tslen;
	evt_buf_add(b, ts, tslen);
	p->event = b->len;
	p->elen = r->event_len;
	evt_buf_add(b, r->event, r->event_len);
	p->place = (size_t)-1;
	if (place) {
		p->place = b->len;
		evt_buf_add(b, place, strlen(place) + 1);
	}
	ap->count++;
}

int evt_appender_add(struct evt_appender *ap, const struct evt_record *r,
		     const char *place, struct evt_err *e)
{
	struct vslot *v;
	int rc;

	if (!ap->st) {
		if ((rc = open_store(ap, 1, e)))
			return rc;
		if ((rc = evt_store_begin(ap->st, e)))
			return rc;
		if (ap->key && (rc = key_first(ap, r->stream, r->stream_len,
					       r->id, r->id_len, e)))
			return rc;
	}
	if (ap->replay)
		return 0;
	if (ap->key && (!same_name(&ap->k.stream, r->stream, r->stream_len) ||
			!same_name(&ap->k.id, r->id, r->id_len)))
		return evt_errf(e, EVT_EINPUT, "%s%s--key goes with one "
				"aggregate: %.*s/%.*s is not %s/%s",
				place ? place : "", place ? ": " : "",
				(int)r->stream_len, r->stream, (int)r->id_len,
				r->id, ap->k.stream.p, ap->k.id.p);
	if ((rc = version_of(ap, r, place, &v, e)))
		return rc;
	if (r->version && r->version != v->version + 1) {
		char want[32];

		snprintf(want, sizeof(want), "%lld",
			 (long long)r->version - 1);
		return conflict(e, place, r->stream, r->stream_len, r->id,
				r->id_len, v->version, want);
	}
	queue_row(ap, r, v, place);
	if (ap->nrows >= BATCH_ROWS || ap->batch.len >= BATCH_MEM)
		return flush(ap, NULL, e);
	return 0;
}

static int copy_spill(struct evt_appender *ap, struct evt_out *out)
{
	char buf[65536];
	size_t n;

	if (fflush(ap->spill) || fseek(ap->spill, 0, SEEK_SET))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), ap->spill)) > 0) {
		evt_buf_add(&out->b, buf, n);
		if (evt_out_flush(out) < 0)
			return 0;	/* evt_out_close reports it */
	}
	return ferror(ap->spill) ? -1 : 0;
}

struct replay {
	struct evt_out *out;
	int64_t last;
};

static int replay_row(void *ctx, const struct evt_record *r)
{
	struct replay *p = ctx;

	if (r->position > p->last)
		return EVT_STOP;
	evt_record_print(&p->out->b, r);
	return evt_out_flush(p->out) < 0 ? EVT_STOP : 0;
}

/* KEY was used: nothing appended; print the records of its append. */
static int replay(struct evt_appender *ap, struct evt_out *out,
		  struct evt_err *e)
{
	const char *streams[1] = { ap->k.stream.p };
	struct replay p = { out, ap->k.last };
	struct evt_query q;

	evt_store_rollback(ap->st);
	if (ap->quiet || !out)
		return 0;
	memset(&q, 0, sizeof(q));
	q.streams = streams;
	q.nstreams = 1;
	q.id = ap->k.id.p;
	q.after = ap->k.first - 1;
	q.limit = -1;
	return evt_store_read(ap->st, &q, replay_row, &p, e);
}

int evt_appender_commit(struct evt_appender *ap, struct evt_out *out,
			struct evt_err *e)
{
	int rc, committed = 0;

	if (!ap->st)		/* nothing added: the store made if missing */
		return open_store(ap, 0, e);
	if (ap->replay)
		return replay(ap, out, e);
	/* without a key to record, the last batch commits with its insert */
	if ((rc = flush(ap, ap->key ? NULL : &committed, e)))
		return rc;
	if (ap->key && (rc = evt_store_key_put(ap->st, ap->key,
					       ap->k.stream.p, ap->k.stream.len,
					       ap->k.id.p, ap->k.id.len,
					       ap->k.first, ap->k.last, e)))
		return rc;
	if (!committed && (rc = evt_store_commit(ap->st, e)))
		return rc;
	if (ap->quiet || !out)
		return 0;
	if (ap->spill && copy_spill(ap, out) < 0)
		return evt_errf(e, EVT_EFAIL, "cannot read a temporary file: "
				"%s", strerror(errno));
	evt_buf_add(&out->b, ap->spool.p ? ap->spool.p : "", ap->spool.len);
	evt_out_flush(out);
	return 0;
}

void evt_appender_release(struct evt_appender *ap)
{
	if (ap->st) {
		evt_store_rollback(ap->st);
		evt_store_close(ap->st);
	}
	if (ap->spill)
		fclose(ap->spill);
	evt_buf_release(&ap->spool);
	evt_buf_release(&ap->line);
	evt_buf_release(&ap->batch);
	free(ap->rows);
	free(ap->recs);
	evt_buf_release(&ap->k.stream);
	evt_buf_release(&ap->k.id);
	vmap_free(ap->versions);
	memset(ap, 0, sizeof(*ap));
}

/* Put "NAME:LINE: " in front of e's message. */
static int at_line(struct evt_err *e, const struct evt_lines *in, int rc)
{
	return evt_errprefix(e, rc, "%s:%zu", in->name, in->lineno);
}

int evt_append_lines(struct evt_appender *ap, struct evt_lines *in,
		     const char *stream, const char *id, struct evt_err *e)
{
	struct evt_record_parser rp;
	struct evt_record r;
	struct evt_buf ev = EVT_BUF_INIT;
	char place[64];
	const char *line;
	size_t n, slen = stream ? strlen(stream) : 0;
	size_t idlen = id ? strlen(id) : 0;
	int got, rc = 0;

	memset(&rp, 0, sizeof(rp));
	while ((got = evt_lines_next(in, &line, &n)) > 0) {
		if (evt_blank(line, n))
			continue;
		snprintf(place, sizeof(place), "%s:%zu", in->name, in->lineno);
		if (stream) {
			evt_buf_reset(&ev);
			if ((rc = evt_event_parse(line, n, &ev, e))) {
				rc = at_line(e, in, rc);
				break;
			}
			r = evt_record_of(stream, slen, id, idlen, ev.p,
					  ev.len);
			rc = evt_appender_add(ap, &r, NULL, e);
		} else {
			if ((rc = evt_record_parse(&rp, line, n, &r, e))) {
				rc = at_line(e, in, rc);
				break;
			}
			rc = evt_appender_add(ap, &r, place, e);
		}
		if (rc)
			break;
	}
	if (got < 0)
		rc = evt_errf(e, EVT_EFAIL, "cannot read %s: %s", in->name,
			      strerror(errno));
	evt_buf_release(&ev);
	evt_record_parser_release(&rp);
	return rc;
}

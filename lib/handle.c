/* handle.c - run an external program per event, with a durable bookmark */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "group.h"
#include "out.h"
#include "handle.h"
#include "json.h"
#include "proc.h"

#define CHUNK 256

/* A record read ahead, owned: its NDJSON line and the strings the
 * program's environment needs, NUL-terminated, in chunk.text. */
struct rec {
	int64_t position, version;
	size_t line, line_len, stream, id, type, ts;
};

struct chunk {
	struct evt_buf text, lines, scratch, type;
	struct evt_buf dbenv;	/* the store's variables, in storeenv */
	char *storeenv[4];
	struct evt_strvec env;	/* the program's, per run */
	struct rec *r;
	size_t n, cap;
};

const char *evt_on_parse(char *arg, struct evt_on *on)
{
	char *eq = strchr(arg, '='), *colon;

	if (!eq)
		return "expected [STREAM:]TYPE=COMMAND";
	*eq = '\0';
	on->command = eq + 1;
	colon = strchr(arg, ':');
	on->stream = NULL;
	on->type = arg;
	if (colon) {
		*colon = '\0';
		on->stream = arg;
		on->type = colon + 1;
		if (!*on->stream)
			return "empty STREAM";
	}
	if (!*on->type)
		return "empty TYPE";
	if (!*on->command)
		return "empty COMMAND";
	return NULL;
}

/* STREAMs as a JSON array text: ["posts","users"]. */
static void streams_json(struct evt_buf *b, const char *const *streams,
			 size_t n)
{
	size_t i;

	evt_buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			evt_buf_addc(b, ',');
		evt_json_quote(b, streams[i], strlen(streams[i]));
	}
	evt_buf_addc(b, ']');
}

/* The strings of a JSON array of strings (as streams_json writes it, or
 * anything equal in JSON), each NUL-terminated in text; *n of them, their
 * offsets in (*off)[].  -1 when it is not such an array. */
static int streams_parse(const char *json, struct evt_buf *text,
			 size_t **off, size_t *n)
{
	struct evt_buf c = EVT_BUF_INIT, one = EVT_BUF_INIT;
	const char *why, *p, *end;
	size_t col;
	int rc = -1;

	*n = 0;
	*off = NULL;
	evt_buf_reset(text);
	if (evt_json_compact_stored(json, strlen(json), &c, NULL, 0, &why,
				    &col) != EVT_J_ARRAY)
		goto out;
	p = c.p + 1;
	end = c.p + c.len - 1;	/* the ']' */
	while (p < end) {
		const char *q = p + 1;

		if (*p != '"')
			goto out;
		while (*q != '"')
			q += *q == '\\' ? 2 : 1;
		q++;
		if (evt_json_unquote(p, (size_t)(q - p), &one) < 0)
			goto out;
		*off = evt_xrealloc(*off, (*n + 1) * sizeof(**off));
		(*off)[(*n)++] = text->len;
		if (one.len)
			evt_buf_add(text, one.p, one.len);
		evt_buf_addc(text, '\0');
		p = *q == ',' ? q + 1 : q;
	}
	rc = 0;
out:
	evt_buf_release(&c);
	evt_buf_release(&one);
	if (rc) {
		free(*off);
		*off = NULL;
		*n = 0;
	}
	return rc;
}

static size_t keep(struct evt_buf *b, const char *s, size_t n)
{
	size_t off = b->len;

	evt_buf_add(b, s, n);
	evt_buf_addc(b, '\0');
	return off;
}

static int collect(void *ctx, const struct evt_record *r)
{
	struct chunk *c = ctx;
	struct evt_jfield f = { "type", EVT_J_NONE, 0, 0 };
	struct rec *x;
	const char *why, *ty = "";
	size_t col, tl = 0;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : CHUNK;
		c->r = evt_xrealloc(c->r, c->cap * sizeof(*c->r));
	}
	x = &c->r[c->n++];
	x->position = r->position;
	x->version = r->version;
	x->line = c->lines.len;
	evt_record_print(&c->lines, r);
	x->line_len = c->lines.len - x->line;
	x->stream = keep(&c->text, r->stream, r->stream_len);
	x->id = keep(&c->text, r->id, r->id_len);
	x->ts = keep(&c->text, r->ts ? r->ts : "", r->ts ? r->ts_len : 0);
	evt_buf_reset(&c->scratch);
	if (evt_json_compact_stored(r->event, r->event_len, &c->scratch, &f, 1,
				    &why, &col) == EVT_J_OBJECT &&
	    f.kind == EVT_J_STRING &&
	    evt_json_unquote(c->scratch.p + f.off, f.len, &c->type) == 0) {
		ty = c->type.p;
		tl = c->type.len;
	}
	x->type = keep(&c->text, ty, tl);
	return 0;
}

#define T(c, x, field) ((c)->text.p + (x)->field)

/* What match returns when no --on matches. */
enum { ON_PROGRAM = -1, ON_NONE = -2 };

/* The first --on that matches, or ON_PROGRAM, or ON_NONE when there is
 * no PROGRAM either. */
static int match(const struct evt_handler *h, const struct chunk *c,
		 const struct rec *x)
{
	size_t i;

	for (i = 0; i < h->non; i++)
		if (h->on[i].stream && strcmp(h->on[i].stream,
					      T(c, x, stream)) == 0 &&
		    strcmp(h->on[i].type, T(c, x, type)) == 0)
			return (int)i;
	for (i = 0; i < h->non; i++)
		if (!h->on[i].stream && strcmp(h->on[i].type,
					       T(c, x, type)) == 0)
			return (int)i;
	return h->argv ? ON_PROGRAM : ON_NONE;
}

/* What a failure message says of records first..first+n-1: "position 17
 * (posts/p1 v2 postCreated)", or for a batch "positions 1-4 (4 events)". */
#define WHERE_MAX (64 + 3 * EVT_NAME_MAX)
static void where(const struct chunk *c, size_t first, size_t n, char *buf,
		  size_t size)
{
	const struct rec *x = &c->r[first];

	if (n > 1)
		snprintf(buf, size, "positions %lld-%lld (%zu events)",
			 (long long)x->position,
			 (long long)c->r[first + n - 1].position, n);
	else
		snprintf(buf, size, "position %lld (%s/%s v%lld %s)",
			 (long long)x->position, T(c, x, stream), T(c, x, id),
			 (long long)x->version, T(c, x, type));
}

struct run {
	int status;		/* for parking: exit status, 128+signal, ... */
	char why[1200];		/* "'x' exited with status 3" */
};

/* The program's environment for the records of a run ending at x, n of
 * them: the handler, the last record, the batch size and the store. */
static char **handler_env(const struct evt_handler *h, struct chunk *c,
			  const struct rec *x, size_t n)
{
	struct evt_strvec *env = &c->env;
	size_t i;

	evt_strvec_reset(env);
	evt_strvec_addf(env, "EVT_HANDLER=%s", h->name);
	evt_strvec_addf(env, "EVT_STREAM=%s", T(c, x, stream));
	evt_strvec_addf(env, "EVT_AGGREGATE_ID=%s", T(c, x, id));
	evt_strvec_addf(env, "EVT_TYPE=%s", T(c, x, type));
	evt_strvec_addf(env, "EVT_VERSION=%lld", (long long)x->version);
	evt_strvec_addf(env, "EVT_POSITION=%lld", (long long)x->position);
	evt_strvec_addf(env, "EVT_TIMESTAMP=%s", T(c, x, ts));
	evt_strvec_addf(env, "EVT_BATCH_SIZE=%zu", n);
	for (i = 0; c->storeenv[i]; i++)	/* EVT_DB and the tables */
		evt_strvec_addf(env, "%s", c->storeenv[i]);
	return evt_strvec_get(env);
}

/* How a run failed, for the message and for parking: the exit status,
 * 124 for a timeout, 128+N for signal N (as timeout(1) and sh(1)). */
static void run_failed(struct run *out, const char *prog, int shell,
		       int status, int timed_out, int timeout_ms)
{
	char how[160];

	out->status = timed_out ? 124 : WIFEXITED(status) ?
		      WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (shell)
		evt_shell_status_str(status, timed_out, timeout_ms, prog, how,
				     sizeof(how));
	else
		evt_status_str(status, timed_out, timeout_ms, how,
			       sizeof(how));
	snprintf(out->why, sizeof(out->why), "'%s' %s", prog, how);
}

/* Run the program once for records first..first+n-1 of c: --on's COMMAND
 * by sh -c (which >= 0), or PROGRAM.  EVT_EPROG when it failed, with out
 * telling how. */
static int run_once(const struct evt_handler *h, int which,
		    struct chunk *c, size_t first, size_t n,
		    struct run *out, struct evt_err *e)
{
	const struct rec *x = &c->r[first + n - 1];
	char *sh[4] = { "/bin/sh", "-c", NULL, NULL };
	struct evt_spawn sp = { .argv = h->argv, .pipe_in = 1 };
	struct evt_child ch;
	struct evt_err se;
	int status, timed_out, rc, late;
	int64_t deadline;

	if (which >= 0) {
		sh[2] = (char *)h->on[which].command;
		sp.argv = sh;
	}
	sp.env_add = handler_env(h, c, x, n);
	sp.group = h->timeout_ms >= 0;
	if (evt_spawn(&sp, &ch, &se)) {
		snprintf(out->why, sizeof(out->why), "%s", se.msg);
		/* as sh(1): 127 not found, 126 found but not run */
		out->status = ch.err == ENOENT ? 127 : 126;
		return EVT_EPROG;
	}
	/* The lines of a run are adjacent in c->lines: one write.  The
	 * timeout counts from the start, also while the program is not
	 * reading its stdin. */
	deadline = h->timeout_ms >= 0 ? evt_mono_ms() + h->timeout_ms : -1;
	if ((rc = evt_child_write_until(&ch, c->lines.p + c->r[first].line,
					x->line + x->line_len -
					c->r[first].line, deadline, &late, e))) {
		evt_child_wait(&ch, 0, 0, &status, &timed_out, &se);
		return rc;
	}
	if ((rc = evt_child_wait(&ch, evt_ms_until(deadline), EVT_KILL_MS,
				 &status, &timed_out, e)))
		return rc;
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	run_failed(out, which >= 0 ? h->on[which].command : h->argv[0],
		   which >= 0, status, timed_out, h->timeout_ms);
	return EVT_EPROG;
}

/* Sleep ms, or until SIGINT or SIGTERM (blocked by the caller) come: then
 * *stop is set. */
static void sleep_ms(int64_t ms, volatile sig_atomic_t *stop)
{
	int64_t end = evt_mono_ms() + ms, left;

	/* the handler of evt_follow_signals sets *stop */
	while ((left = end - evt_mono_ms()) > 0 && !evt_follow_stopping(stop))
		evt_poll_signals(NULL, 0, left > 86400000 ? 86400000 :
						       (int)left);
}

/* Run with retries; 0 when handled, EVT_EPROG when it kept failing. */
static int run(const struct evt_handler *h, int which, struct chunk *c,
	       size_t first, size_t n, const char *at, struct run *out,
	       volatile sig_atomic_t *stop, struct evt_err *e)
{
	int64_t delay = h->retry_delay_ms;
	int attempt, rc = 0;

	for (attempt = 0; attempt <= h->retries; attempt++) {
		if (attempt) {
			if (h->warn) {
				char msg[sizeof(out->why) + 3 * EVT_NAME_MAX +
					 128];

				snprintf(msg, sizeof(msg), "%s: retry %d/%d in "
					 "%lld ms: %s at %s", h->name, attempt,
					 h->retries, (long long)delay, out->why,
					 at);
				h->warn(msg);
			}
			sleep_ms(delay, stop);
			if (evt_follow_stopping(stop))
				return rc;
			if (delay < INT64_MAX / 2)
				delay *= 2;
		}
		rc = run_once(h, which, c, first, n, out, e);
		if (rc != EVT_EPROG || evt_follow_stopping(stop))
			return rc;
	}
	return rc;
}

/* Tell of progress at most every 250 ms, after the first 500 ms. */
static void progress(const struct evt_handler *h, int64_t *next, int64_t pos,
		     int64_t head)
{
	int64_t now;

	if (!h->progress)
		return;
	now = evt_mono_ms();
	if (!*next)
		*next = now + 500;
	if (now < *next)
		return;
	*next = now + 250;
	h->progress(pos, head, 0);
}

static int handle(struct evt_store *st, const struct evt_handler *h,
		  volatile sig_atomic_t *stop, struct evt_err *e);
static void chunk_release(struct chunk *c);
static int add_parked(void *ctx, int64_t position, int status,
		      const char *at);

/* The parked events of a handler, read whole before anything else is
 * read. */
struct parked {
	int64_t position;
	int status;
	char at[EVT_TS_LEN + 8];
};

/* The records q asks for into c (c->n of them). */
static int read_chunk(struct evt_store *st, const struct evt_query *q,
		      struct chunk *c, struct evt_err *e)
{
	c->n = 0;
	evt_buf_reset(&c->text);
	evt_buf_reset(&c->lines);
	return evt_store_read(st, q, collect, c, e);
}

/* Read the record at position into c (c->n is 0 when it is not in the
 * store any more). */
static int read_at(struct evt_store *st, struct chunk *c, int64_t position,
		   struct evt_err *e)
{
	struct evt_query q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.after = position - 1;
	q.limit = 1;
	if ((rc = read_chunk(st, &q, c, e)))
		return rc;
	if (c->n && c->r[0].position != position)
		c->n = 0;
	return 0;
}

/* --retry-parked: run the parked events of h again, one at a time in
 * position order (never in batches); remove each that is handled.  One
 * that fails again stays parked with its new status and time; one that no
 * --on or PROGRAM matches now stays parked as it was. */
static int retry_parked(struct evt_store *st, const struct evt_handler *h,
			struct chunk *c, volatile sig_atomic_t *stop,
			struct evt_err *e)
{
	struct evt_buf rows = EVT_BUF_INIT;
	const struct parked *r;
	int64_t tried = 0, handled = 0;
	size_t i, n;
	int rc;

	if ((rc = evt_store_parked(st, h->name, add_parked, &rows, e)))
		goto out;
	r = (const struct parked *)rows.p;
	n = rows.len / sizeof(*r);
	for (i = 0; i < n && !rc && !evt_follow_stopping(stop); i++) {
		struct run res;
		char at[WHERE_MAX];
		int which;

		if ((rc = read_at(st, c, r[i].position, e)))
			break;
		if (!c->n || (which = match(h, c, &c->r[0])) == ON_NONE)
			continue;	/* gone, or nothing to run it now */
		tried++;
		where(c, 0, 1, at, sizeof(at));
		rc = run(h, which, c, 0, 1, at, &res, stop, e);
		if (rc == 0) {
			handled++;
			rc = evt_store_unpark(st, h->name, r[i].position, e);
		} else if (rc == EVT_EPROG && evt_follow_stopping(stop)) {
			rc = 0;
		} else if (rc == EVT_EPROG) {
			if (h->warn) {
				char msg[sizeof(res.why) + sizeof(at) +
					 EVT_NAME_MAX + 32];

				snprintf(msg, sizeof(msg), "%s: %s at %s; "
					 "still parked", h->name, res.why, at);
				h->warn(msg);
			}
			rc = evt_store_park(st, h->name, r[i].position,
					    res.status, e);
		}
	}
	if (h->warn && tried) {
		char msg[EVT_NAME_MAX + 128];

		snprintf(msg, sizeof(msg), "%s: %lld parked event%s retried: "
			 "%lld handled, %lld still parked", h->name,
			 (long long)tried, tried == 1 ? "" : "s",
			 (long long)handled, (long long)(tried - handled));
		h->warn(msg);
	}
out:
	evt_buf_release(&rows);
	return rc;
}

int evt_handle(struct evt_store *st, const struct evt_handler *h,
	       volatile sig_atomic_t *stop, struct evt_err *e)
{
	int rc = handle(st, h, stop, e);
	struct evt_err e2;
	int r2;

	/* the end of the run, and how it failed (best effort when it
	 * did) */
	r2 = evt_store_handler_end(st, h->name, rc ? e->msg : NULL, &e2);
	if (r2 && !rc) {
		*e = e2;
		rc = r2;
	}
	return rc;
}

/* Where a handler with no bookmark of its own starts when the same NAME
 * ran with another shape: a member of a group of N, when the plain NAME or
 * members of a group of another N have bookmarks; the plain NAME, when
 * members have.  The smallest of those bookmarks: events are delivered
 * again, none is skipped. */
struct regroup {
	const char *base;
	size_t baselen;
	int n;				/* 0: the plain NAME */
	int found;
	int64_t min;
};

static int regroup_one(void *ctx, const char *name, int64_t pos)
{
	struct regroup *g = ctx;
	size_t bl;
	int i, n;

	if (strncmp(name, g->base, g->baselen) != 0)
		return 0;
	if (!name[g->baselen]) {
		if (!g->n)
			return 0;	/* itself */
	} else if (!evt_group_member(name, &bl, &i, &n) || bl != g->baselen ||
		   n == g->n) {
		return 0;
	}
	if (!g->found || pos < g->min)
		g->min = pos;
	g->found = 1;
	return 0;
}

static int regroup(struct evt_store *st, const struct evt_handler *h,
		   struct regroup *g, struct evt_err *e)
{
	int i, n;

	memset(g, 0, sizeof(*g));
	g->base = h->name;
	g->baselen = strlen(h->name);
	if (evt_group_member(h->name, &g->baselen, &i, &n))
		g->n = n;
	return evt_store_bookmarks(st, regroup_one, g, e);
}

/* Where a run of a handler is, and what it did. */
struct pass {
	int64_t pos;		/* the last record dealt with */
	int64_t committed;	/* the bookmark as stored */
	int64_t head, next;	/* for h->progress */
	int64_t events, matched, parked;
	int seen;		/* a record was read */
};

/* A first --tail run starts at the end of the store, which is past the
 * end of the streams, and writes it at once, so that the next run (from
 * cron) starts there, also when the streams or the whole store are still
 * empty (0: the handler row says that it is not a first run any more).
 * --always-tail starts there every time and writes nothing. */
static int tail_start(struct evt_store *st, const struct evt_handler *h,
		      const struct evt_query *q, int found, struct pass *p,
		      struct evt_err *e)
{
	struct evt_query end = *q;
	int64_t bookmark = p->pos;
	int rc;

	end.streams = NULL;
	end.nstreams = 0;
	end.group_n = 0;
	if ((rc = evt_store_head(st, &end, &p->pos, e)))
		return rc;
	if (!h->always_tail && (p->pos > bookmark || !found)) {
		if ((rc = evt_store_bookmark_set(st, h->name, p->pos, e)))
			return rc;
		p->committed = p->pos;
	}
	return 0;
}

/* Where the run starts: NAME's bookmark; for a handler new under this
 * NAME, the smallest bookmark of another shape of its group (regroup);
 * with --tail on a first run, the end of the store.  The run is recorded
 * in <events>_handlers with its streams. */
static int start_at(struct evt_store *st, const struct evt_handler *h,
		    const struct evt_query *q, struct pass *p,
		    struct evt_err *e)
{
	struct evt_buf known = EVT_BUF_INIT;
	struct regroup g;
	int64_t bookmark;
	int found, ran, rc;

	g.found = 0;
	/* ran: evt-handle has run NAME before (its row in
	 * <events>_handlers), so a bookmark of 0 is a place, not "none" */
	if ((rc = evt_store_bookmark_get(st, h->name, &bookmark, &found, e)) ||
	    (rc = evt_store_handler_get(st, h->name, &known, &ran, e)))
		goto out;
	evt_buf_reset(&known);
	streams_json(&known, h->streams, h->nstreams);
	if (!found && !ran && (rc = regroup(st, h, &g, e)))
		goto out;
	if (g.found) {
		/* written at once: a member killed before its first event
		 * starts there again, not at 0 nor at the end */
		bookmark = g.min;
		if ((rc = evt_store_bookmark_set(st, h->name, bookmark, e)))
			goto out;
	}
	if ((rc = evt_store_handler_start(st, h->name, known.p, e)))
		goto out;
	p->pos = p->committed = bookmark;
	if (h->always_tail || (h->tail && bookmark == 0 && !ran && !g.found))
		rc = tail_start(st, h, q, found, p, e);
out:
	evt_buf_release(&known);
	return rc;
}

/* A run of records first..first+n-1 failed: that ends the handler, or
 * with --continue-on-error the records are parked. */
static int failed(struct evt_store *st, const struct evt_handler *h,
		  const struct chunk *c, size_t first, size_t n,
		  const struct run *out, const char *at, struct pass *p,
		  struct evt_err *e)
{
	size_t k;
	int rc = 0;

	if (!h->continue_on_error)
		return evt_errf(e, EVT_EPROG, "%s: %s at %s", h->name,
				out->why, at);
	if (h->warn) {
		char msg[sizeof(out->why) + WHERE_MAX + EVT_NAME_MAX + 16];

		snprintf(msg, sizeof(msg), "%s: %s at %s; parked", h->name,
			 out->why, at);
		h->warn(msg);
	}
	for (k = first; k < first + n && !rc; k++)
		rc = evt_store_park(st, h->name, c->r[k].position, out->status,
				    e);
	if (!rc)
		p->parked += (int64_t)n;
	return rc;
}

/* Run the program for records first..first+n-1 of c (which: as match
 * says), then move the bookmark past them (past parked ones too).  A
 * signal that stopped the program leaves the bookmark where it was. */
static int deliver(struct evt_store *st, const struct evt_handler *h,
		   struct chunk *c, size_t first, size_t n, int which,
		   struct pass *p, volatile sig_atomic_t *stop,
		   struct evt_err *e)
{
	char at[WHERE_MAX];
	struct run out;
	int rc;

	where(c, first, n, at, sizeof(at));
	rc = run(h, which, c, first, n, at, &out, stop, e);
	if (rc == EVT_EPROG && evt_follow_stopping(stop))
		return 0;	/* stopped by the signal: not a failure */
	if (rc == EVT_EPROG)
		rc = failed(st, h, c, first, n, &out, at, p, e);
	if (rc)
		return rc;
	p->pos = c->r[first + n - 1].position;
	if ((rc = evt_store_bookmark_set(st, h->name, p->pos, e)))
		return rc;
	p->committed = p->pos;
	progress(h, &p->next, p->pos, p->head);
	return 0;
}

/* The records of c in order: each that an --on matches runs alone, up to
 * --batch of those for PROGRAM run together, the others are skipped. */
static int handle_chunk(struct evt_store *st, const struct evt_handler *h,
			struct chunk *c, struct pass *p,
			volatile sig_atomic_t *stop, struct evt_err *e)
{
	size_t i = 0, n;
	int which, rc = 0;

	while (i < c->n && !rc && !evt_follow_stopping(stop)) {
		p->seen = 1;
		which = match(h, c, &c->r[i]);
		if (which == ON_NONE) {
			p->events++;
			p->pos = c->r[i++].position;	/* no match: skip */
			continue;
		}
		n = 1;
		if (which == ON_PROGRAM)
			while (n < (size_t)h->batch && i + n < c->n)
				n++;
		if (which >= 0)
			p->matched++;
		p->events += (int64_t)n;
		rc = deliver(st, h, c, i, n, which, p, stop, e);
		i += n;
	}
	return rc;
}

/* Skipped events move the bookmark too. */
static int commit_skipped(struct evt_store *st, const struct evt_handler *h,
			  struct pass *p, struct evt_err *e)
{
	int rc;

	if (p->pos <= p->committed || !p->seen)
		return 0;
	if ((rc = evt_store_bookmark_set(st, h->name, p->pos, e)))
		return rc;
	p->committed = p->pos;
	return 0;
}

/* What a run says at its end: its last progress, how many events it
 * parked, and that no --on matched any event. */
static void tell_end(const struct evt_handler *h, const struct pass *p,
		     int rc)
{
	char msg[EVT_NAME_MAX + 128];

	if (h->progress && p->next)
		h->progress(p->pos, p->head, 1);
	if (h->warn && p->parked) {
		snprintf(msg, sizeof(msg), "%s: %lld event%s parked", h->name,
			 (long long)p->parked, p->parked == 1 ? "" : "s");
		h->warn(msg);
	}
	/* Only --on, and none of them matched: a mistyped TYPE, most
	 * likely, while the bookmark moved past every event. */
	if (h->warn && !rc && !h->argv && p->events && !p->matched) {
		snprintf(msg, sizeof(msg), "%s: no --on matched %s %lld "
			 "event%s; the bookmark moved past %s", h->name,
			 p->events == 1 ? "the" : "any of the",
			 (long long)p->events, p->events == 1 ? "" : "s",
			 p->events == 1 ? "it" : "them");
		h->warn(msg);
	}
}

static int handle(struct evt_store *st, const struct evt_handler *h,
		  volatile sig_atomic_t *stop, struct evt_err *e)
{
	struct evt_query q;
	struct chunk c;
	struct pass p;
	struct evt_err e2;
	size_t chunk = h->batch > CHUNK ? (size_t)h->batch : CHUNK;
	int recheck = 0, rc, r2;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	q.streams = h->streams;
	q.nstreams = h->nstreams;
	q.safe = 1;
	q.group_n = h->group_n;
	q.group_i = h->group_i;
	if ((rc = start_at(st, h, &q, &p, e)))
		goto out;
	if (h->progress) {	/* for the display only */
		struct evt_query all = q;

		all.safe = 0;
		if ((rc = evt_store_head(st, &all, &p.head, e)))
			goto out;
	}
	evt_store_child_env(st, &c.dbenv, c.storeenv);
	if (h->retry_parked && (rc = retry_parked(st, h, &c, stop, e)))
		goto out;
	for (;;) {
		q.after = p.pos;
		q.limit = (int64_t)chunk;
		if ((rc = read_chunk(st, &q, &c, e)) ||
		    (rc = handle_chunk(st, h, &c, &p, stop, e)) ||
		    evt_follow_stopping(stop))
			break;
		if (c.n < chunk && !h->follow)
			break;
		/* Before sleeping, move the bookmark past skipped events. */
		if (h->follow && c.n == 0 &&
		    (rc = commit_skipped(st, h, &p, e)))
			break;
		if (h->follow && (rc = evt_follow_wait(st, &recheck, c.n > 0,
						       stop, e)))
			break;
		if (evt_follow_stopping(stop))
			break;
	}
	/* also after a failure (best effort then) */
	r2 = commit_skipped(st, h, &p, &e2);
	if (r2 && !rc) {
		*e = e2;
		rc = r2;
	}
	tell_end(h, &p, rc);
out:
	chunk_release(&c);
	return rc;
}

int evt_handle_reset(struct evt_store *st, const char *name, int64_t to,
		     struct evt_buf *out, struct evt_err *e)
{
	struct evt_query all;
	int64_t head, from;
	int found, rc;

	memset(&all, 0, sizeof(all));
	if ((rc = evt_store_head(st, &all, &head, e)))
		return rc;
	if (to > head)
		return evt_errf(e, EVT_EUSAGE, "invalid position '%lld': past "
				"the head of the store (%lld)", (long long)to,
				(long long)head);
	if ((rc = evt_store_bookmark_get(st, name, &from, &found, e)) ||
	    (rc = evt_store_bookmark_set(st, name, to, e)))
		return rc;
	evt_buf_addstr(out, "{\"name\":");
	evt_json_quote(out, name, strlen(name));
	evt_buf_addf(out, ",\"from\":%lld,\"to\":%lld}\n", (long long)from,
		     (long long)to);
	return 0;
}

/* One handler as --status, --parked and --drop see it: the bookmark and
 * what <events>_handlers remembers. */
struct known {
	int64_t position;
	int bookmark;			/* has a row in the bookmarks table */
	int remembered;			/* has a row in <events>_handlers */
	struct evt_buf streams;		/* the JSON array text, if remembered */
};

static int lookup(struct evt_store *st, const char *name, struct known *k,
		  struct evt_err *e)
{
	int rc;

	if ((rc = evt_store_bookmark_get(st, name, &k->position, &k->bookmark,
					 e)))
		return rc;
	return evt_store_handler_get(st, name, &k->streams, &k->remembered, e);
}

/* {"name":..,"streams":[..] or null, into out. */
static int put_name(struct evt_buf *out, const char *name,
		    const struct known *k, struct evt_buf *text, size_t **off,
		    size_t *n)
{
	size_t i;

	evt_buf_addstr(out, "{\"name\":");
	evt_json_quote(out, name, strlen(name));
	evt_buf_addstr(out, ",\"streams\":");
	*n = 0;
	*off = NULL;
	if (!k->remembered || streams_parse(k->streams.p ? k->streams.p : "",
					    text, off, n) < 0) {
		evt_buf_addstr(out, "null");
		return 0;
	}
	evt_buf_addc(out, '[');
	for (i = 0; i < *n; i++) {
		if (i)
			evt_buf_addc(out, ',');
		evt_json_quote(out, text->p + (*off)[i],
			       strlen(text->p + (*off)[i]));
	}
	evt_buf_addc(out, ']');
	return 1;
}

static int status_line(struct evt_store *st, const char *name,
		       const struct known *k, struct evt_buf *out,
		       struct evt_err *e)
{
	struct evt_buf text = EVT_BUF_INIT;
	struct evt_query q;
	const char **streams = NULL;
	size_t *off, n, i;
	int64_t parked, head, lag;
	int held, rc;
	size_t bl;

	memset(&q, 0, sizeof(q));
	/* a member: head and lag of its share */
	if (!evt_group_member(name, &bl, &q.group_i, &q.group_n))
		q.group_n = 0;
	if (put_name(out, name, k, &text, &off, &n) && n) {
		/* head and lag of its own streams; unknown streams: of the
		 * whole store */
		streams = evt_xmalloc(n * sizeof(*streams));
		for (i = 0; i < n; i++)
			streams[i] = text.p + off[i];
		q.streams = streams;
		q.nstreams = n;
	}
	if (!(rc = evt_store_head(st, &q, &head, e))) {
		q.after = k->position;
		rc = evt_store_count(st, &q, &lag, e);
	}
	if (!rc)
		rc = evt_store_parked_count(st, name, &parked, e);
	if (!rc)
		rc = evt_store_lock_held(st, name, &held, e);
	if (!rc)
		evt_buf_addf(out, ",\"position\":%lld,\"head\":%lld,\"lag\":"
			     "%lld,\"parked\":%lld,\"running\":%s}\n",
			     (long long)k->position, (long long)head,
			     (long long)lag, (long long)parked,
			     held ? "true" : "false");
	free(streams);
	free(off);
	evt_buf_release(&text);
	return rc;
}

/* Every name of the bookmarks table and of <events>_handlers, each once,
 * in byte order (both lists come in that order). */
struct names {
	char **v;
	size_t n;
};

static int add_bookmark(void *ctx, const char *name, int64_t pos)
{
	struct names *x = ctx;

	(void)pos;
	x->v = evt_xrealloc(x->v, (x->n + 1) * sizeof(*x->v));
	x->v[x->n++] = evt_xstrdup(name);
	return 0;
}

static int add_handler(void *ctx, const char *name, const char *streams)
{
	(void)streams;
	return add_bookmark(ctx, name, 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int evt_handle_status(struct evt_store *st, char *const *names, size_t n,
		      struct evt_buf *out, struct evt_err *e)
{
	struct names all = { NULL, 0 };
	struct known k;
	size_t i;
	int rc = 0;

	memset(&k, 0, sizeof(k));
	if (!n) {
		if ((rc = evt_store_bookmarks(st, add_bookmark, &all, e)) ||
		    (rc = evt_store_handlers(st, add_handler, &all, e)))
			goto out;
		if (all.n)
			qsort(all.v, all.n, sizeof(*all.v), by_name);
		names = all.v;
		n = all.n;
	}
	for (i = 0; i < n && !rc; i++) {
		char **mv = NULL;
		size_t mn = 0, j;

		if (all.n && i && strcmp(names[i], names[i - 1]) == 0)
			continue;	/* both a bookmark and a handler */
		if ((rc = lookup(st, names[i], &k, e)))
			break;
		/* a group NAME given: a line per member */
		if (!all.n && !k.bookmark && !k.remembered &&
		    (rc = evt_handle_members(st, names[i], &mv, &mn, e)))
			break;
		if (!mn)
			rc = status_line(st, names[i], &k, out, e);
		for (j = 0; j < mn; j++) {
			if (!rc && !(rc = lookup(st, mv[j], &k, e)))
				rc = status_line(st, mv[j], &k, out, e);
			free(mv[j]);
		}
		free(mv);
	}
out:
	for (i = 0; i < all.n; i++)
		free(all.v[i]);
	free(all.v);
	evt_buf_release(&k.streams);
	return rc;
}

struct members {
	const char *base;
	size_t baselen;
	struct names *names;
};

static int add_member(void *ctx, const char *name, int64_t pos)
{
	struct members *m = ctx;
	size_t bl;
	int i, n;

	if (strncmp(name, m->base, m->baselen) != 0 ||
	    !evt_group_member(name, &bl, &i, &n) || bl != m->baselen)
		return 0;
	return add_bookmark(m->names, name, pos);
}

static int add_member_handler(void *ctx, const char *name,
			      const char *streams)
{
	(void)streams;
	return add_member(ctx, name, 0);
}

int evt_handle_members(struct evt_store *st, const char *name, char ***v,
		       size_t *n, struct evt_err *e)
{
	struct names all = { NULL, 0 };
	struct members m = { name, strlen(name), &all };
	size_t i, k = 0;
	int rc;

	if (!(rc = evt_store_bookmarks(st, add_member, &m, e)))
		rc = evt_store_handlers(st, add_member_handler, &m, e);
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), by_name);
	for (i = 0; i < all.n; i++) {
		if (rc || (k && strcmp(all.v[i], all.v[k - 1]) == 0))
			free(all.v[i]);
		else
			all.v[k++] = all.v[i];
	}
	if (rc) {
		free(all.v);
		all.v = NULL;
		k = 0;
	}
	*v = all.v;
	*n = k;
	return rc;
}

static int add_parked(void *ctx, int64_t position, int status,
		      const char *at)
{
	struct evt_buf *b = ctx;
	struct parked r;

	memset(&r, 0, sizeof(r));
	r.position = position;
	r.status = status;
	snprintf(r.at, sizeof(r.at), "%s", at);
	evt_buf_add(b, &r, sizeof(r));
	return 0;
}

static void chunk_release(struct chunk *c)
{
	evt_buf_release(&c->dbenv);
	evt_strvec_release(&c->env);
	evt_buf_release(&c->text);
	evt_buf_release(&c->lines);
	evt_buf_release(&c->scratch);
	evt_buf_release(&c->type);
	free(c->r);
}

int evt_handle_parked(struct evt_store *st, const char *name,
		      struct evt_out *out, struct evt_err *e)
{
	struct evt_buf rows = EVT_BUF_INIT;
	const struct parked *r;
	struct chunk c;
	size_t i, n;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = evt_store_parked(st, name, add_parked, &rows, e)))
		goto out;
	r = (const struct parked *)rows.p;
	n = rows.len / sizeof(*r);
	for (i = 0; i < n && !rc; i++) {
		struct evt_buf *b = &out->b;

		if ((rc = read_at(st, &c, r[i].position, e)) || !c.n)
			continue;	/* or no longer in the store */
		/* the record less its "}\n", then "parked" */
		evt_buf_add(b, c.lines.p, c.r[0].line_len - 2);
		evt_buf_addf(b, ",\"parked\":{\"status\":%d,\"at\":",
			     r[i].status);
		evt_json_quote(b, r[i].at, strlen(r[i].at));
		evt_buf_addstr(b, "}}\n");
		if (evt_out_record(out) < 0)
			rc = -1;	/* evt_out_close says why */
	}
out:
	evt_buf_release(&rows);
	chunk_release(&c);
	return rc;
}

int evt_handle_drop(struct evt_store *st, const char *name,
		    struct evt_buf *out, struct evt_err *e)
{
	struct evt_buf text = EVT_BUF_INIT;
	struct known k;
	size_t *off = NULL, n;
	int64_t parked = 0;
	int rc;

	memset(&k, 0, sizeof(k));
	if ((rc = lookup(st, name, &k, e)) ||
	    (rc = evt_store_parked_count(st, name, &parked, e)))
		goto out;
	if (!k.bookmark && !k.remembered && !parked) {
		rc = evt_errf(e, EVT_EUSAGE, "no handler '%s'", name);
		goto out;
	}
	/* the bookmark last: a drop cut short can be done again */
	if ((rc = evt_store_unpark(st, name, -1, e)) ||
	    (rc = evt_store_handler_delete(st, name, e)) ||
	    (rc = evt_store_bookmark_delete(st, name, e)))
		goto out;
	put_name(out, name, &k, &text, &off, &n);
	evt_buf_addf(out, ",\"position\":%lld,\"parked\":%lld}\n",
		     (long long)k.position, (long long)parked);
out:
	free(off);
	evt_buf_release(&text);
	evt_buf_release(&k.streams);
	return rc;
}

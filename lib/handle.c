/* handle.c - run an external program per event, with a durable bookmark */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "handle.h"
#include "json.h"
#include "proc.h"

#define CHUNK 256
#define KILL_MS 5000

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

/* The first --on that matches, or -1 for PROGRAM, or -2 for none. */
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
	return h->argv ? -1 : -2;
}

/* What a failure message says of records first..first+n-1: "position 17
 * (posts/p1 v2 postCreated)", or for a batch "positions 1-4 (4 events)". */
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

/* Run the program once for records first..first+n-1 of c. */
static int run_once(const struct evt_handler *h, int which,
		    const struct chunk *c, size_t first, size_t n,
		    struct run *out, struct evt_err *e)
{
	const struct rec *x = &c->r[first + n - 1];
	char *env[12], b[8][64 + 2 * EVT_NAME_MAX];
	char *sh[4] = { "/bin/sh", "-c", NULL, NULL };
	const char *prog;
	struct evt_spawn sp;
	struct evt_child ch;
	struct evt_err se;
	struct evt_buf ty = EVT_BUF_INIT;
	int status, timed_out, rc, late;
	int64_t deadline, left;
	size_t i;

	snprintf(b[0], sizeof(b[0]), "EVT_HANDLER=%s", h->name);
	snprintf(b[1], sizeof(b[1]), "EVT_STREAM=%s", T(c, x, stream));
	snprintf(b[2], sizeof(b[2]), "EVT_AGGREGATE_ID=%s", T(c, x, id));
	evt_buf_addf(&ty, "EVT_TYPE=%s", T(c, x, type));	/* any length */
	snprintf(b[4], sizeof(b[4]), "EVT_VERSION=%lld",
		 (long long)x->version);
	snprintf(b[5], sizeof(b[5]), "EVT_POSITION=%lld",
		 (long long)x->position);
	snprintf(b[6], sizeof(b[6]), "EVT_TIMESTAMP=%s", T(c, x, ts));
	snprintf(b[7], sizeof(b[7]), "EVT_BATCH_SIZE=%zu", n);
	for (i = 0; i < 8; i++)
		env[i] = b[i];
	env[3] = ty.p;
	for (i = 0; i < 4; i++)	/* EVT_DB and the tables, NULL */
		env[8 + i] = c->storeenv[i];
	memset(&sp, 0, sizeof(sp));
	if (which >= 0) {
		sh[2] = (char *)h->on[which].command;
		sp.argv = sh;
		prog = h->on[which].command;
	} else {
		sp.argv = h->argv;
		prog = h->argv[0];
	}
	sp.env_add = env;
	sp.pipe_in = 1;
	rc = evt_spawn(&sp, &ch, &se);
	evt_buf_release(&ty);
	if (rc) {
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
	left = deadline < 0 ? -1 : late ? 0 : deadline - evt_mono_ms();
	if (deadline >= 0 && left < 0)
		left = 0;
	if ((rc = evt_child_wait(&ch, (int)left, KILL_MS, &status,
				 &timed_out, e)))
		return rc;
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	out->status = timed_out ? 124 : WIFEXITED(status) ?
		      WEXITSTATUS(status) : 128 + WTERMSIG(status);
	{
		char st[128];

		snprintf(out->why, sizeof(out->why), "'%s' %s", prog,
			 evt_status_str(status, timed_out, h->timeout_ms, st,
					sizeof(st)));
	}
	return EVT_EPROG;
}

/* Sleep ms, or until SIGINT or SIGTERM (blocked by the caller) come: then
 * *stop is set. */
static void sleep_ms(int64_t ms, volatile sig_atomic_t *stop)
{
	int64_t end = evt_mono_ms() + ms, left;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while ((left = end - evt_mono_ms()) > 0 && !evt_follow_stopping(stop)) {
		struct timespec ts = { (time_t)(left / 1000),
				       (long)(left % 1000) * 1000000 };

		if (sigtimedwait(&set, NULL, &ts) > 0)
			*stop = 1;
	}
}

/* Run with retries; 0 when handled, EVT_EPROG when it kept failing. */
static int run(const struct evt_handler *h, int which, const struct chunk *c,
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

int evt_handle(struct evt_store *st, const struct evt_handler *h,
	       volatile sig_atomic_t *stop, struct evt_err *e)
{
	struct evt_query q;
	struct chunk c;
	int64_t bookmark, pos, committed, head = 0, next = 0;
	int found, recheck = 0, rc = 0, seen = 0;
	int64_t events = 0, matched = 0, parked = 0;
	size_t i, k, chunk = h->batch > CHUNK ? (size_t)h->batch : CHUNK;

	memset(&c, 0, sizeof(c));
	memset(&q, 0, sizeof(q));
	q.streams = h->streams;
	q.nstreams = h->nstreams;
	q.safe = 1;
	if ((rc = evt_store_bookmark_get(st, h->name, &bookmark, &found, e)))
		return rc;
	pos = committed = bookmark;
	if (h->always_tail || (h->tail && bookmark == 0)) {
		/* The end of the store, which is past the end of the streams:
		 * a first --tail run writes it at once, so that the next run
		 * (from cron) starts there, and also when the streams are
		 * still empty. */
		struct evt_query end = q;

		end.streams = NULL;
		end.nstreams = 0;
		if ((rc = evt_store_head(st, &end, &pos, e)))
			return rc;
		if (!h->always_tail && pos > bookmark) {
			if ((rc = evt_store_bookmark_set(st, h->name, pos, e)))
				return rc;
			committed = pos;
		}
	}
	if (h->progress) {	/* for the display only */
		struct evt_query all = q;

		all.safe = 0;
		if ((rc = evt_store_head(st, &all, &head, e)))
			return rc;
	}
	evt_store_child_env(st, &c.dbenv, c.storeenv);
	for (;;) {
		q.after = pos;
		q.limit = (int64_t)chunk;
		c.n = 0;
		evt_buf_reset(&c.text);
		evt_buf_reset(&c.lines);
		if ((rc = evt_store_read(st, &q, collect, &c, e)))
			break;
		for (i = 0; i < c.n && !rc; ) {
			struct rec *x = &c.r[i];
			int which = match(h, &c, x);
			size_t n = 1;
			struct run out;
			char at[64 + 3 * EVT_NAME_MAX];

			if (evt_follow_stopping(stop))
				break;
			seen = 1;
			events++;
			if (which == -2) {
				pos = x->position;	/* no match: skip */
				i++;
				continue;
			}
			if (which >= 0)
				matched++;
			if (which == -1)
				while (n < (size_t)h->batch && i + n < c.n)
					n++;
			events += (int64_t)n - 1;
			x = &c.r[i + n - 1];
			where(&c, i, n, at, sizeof(at));
			rc = run(h, which, &c, i, n, at, &out, stop, e);
			if (rc == EVT_EPROG && evt_follow_stopping(stop)) {
				rc = 0;	/* stopped by the signal: not a failure */
				break;
			}
			if (rc == EVT_EPROG) {
				if (!h->continue_on_error) {
					rc = evt_errf(e, EVT_EPROG, "%s: %s at "
						      "%s", h->name, out.why,
						      at);
					break;
				}
				if (h->warn) {
					char msg[sizeof(out.why) + sizeof(at) +
						 EVT_NAME_MAX + 16];

					snprintf(msg, sizeof(msg), "%s: %s at "
						 "%s; parked", h->name,
						 out.why, at);
					h->warn(msg);
				}
				rc = 0;
				for (k = i; k < i + n && !rc; k++)
					rc = evt_store_park(st, h->name,
							    c.r[k].position,
							    out.status, e);
				if (!rc)
					parked += (int64_t)n;
			}
			if (rc)
				break;
			pos = x->position;
			if ((rc = evt_store_bookmark_set(st, h->name, pos, e)))
				break;
			committed = pos;
			i += n;
			progress(h, &next, pos, head);
		}
		if (rc || evt_follow_stopping(stop))
			break;
		if (c.n < chunk && !h->follow)
			break;
		/* Before sleeping, move the bookmark past skipped events. */
		if (h->follow && c.n == 0 && pos > committed && seen) {
			if ((rc = evt_store_bookmark_set(st, h->name, pos, e)))
				break;
			committed = pos;
		}
		if (h->follow && (rc = evt_follow_wait(st, &recheck, c.n > 0,
						       stop, e)))
			break;
		if (evt_follow_stopping(stop))
			break;
	}
	/* Skipped events move the bookmark too. */
	if (pos > committed && seen) {
		struct evt_err e2;
		int r2 = evt_store_bookmark_set(st, h->name, pos, &e2);

		if (r2 && !rc) {
			*e = e2;
			rc = r2;
		}
	}
	if (h->progress && next)
		h->progress(pos, head, 1);
	if (h->warn && parked) {
		char msg[EVT_NAME_MAX + 64];

		snprintf(msg, sizeof(msg), "%s: %lld event%s parked", h->name,
			 (long long)parked, parked == 1 ? "" : "s");
		h->warn(msg);
	}
	/* Only --on, and none of them matched: a mistyped TYPE, most
	 * likely, while the bookmark moved past every event. */
	if (h->warn && !rc && !h->argv && events && !matched) {
		char msg[EVT_NAME_MAX + 128];

		snprintf(msg, sizeof(msg), "%s: no --on matched %s %lld "
			 "event%s; the bookmark moved past %s", h->name,
			 events == 1 ? "the" : "any of the", (long long)events,
			 events == 1 ? "" : "s", events == 1 ? "it" : "them");
		h->warn(msg);
	}
	evt_buf_release(&c.dbenv);
	evt_buf_release(&c.text);
	evt_buf_release(&c.lines);
	evt_buf_release(&c.scratch);
	evt_buf_release(&c.type);
	free(c.r);
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

struct status {
	struct evt_store *st;
	struct evt_buf *out;
	int64_t head;
	struct evt_err *e;
};

static int status_line(void *ctx, const char *name, int64_t pos)
{
	struct status *s = ctx;
	int64_t parked;
	int held, rc;

	if ((rc = evt_store_parked_count(s->st, name, &parked, s->e)) ||
	    (rc = evt_store_lock_held(s->st, name, &held, s->e)))
		return rc;
	evt_buf_addstr(s->out, "{\"name\":");
	evt_json_quote(s->out, name, strlen(name));
	evt_buf_addf(s->out, ",\"position\":%lld,\"head\":%lld,\"lag\":%lld,"
		     "\"parked\":%lld,\"running\":%s}\n", (long long)pos,
		     (long long)s->head, (long long)(s->head > pos ?
						     s->head - pos : 0),
		     (long long)parked, held ? "true" : "false");
	return 0;
}

int evt_handle_status(struct evt_store *st, char *const *names, size_t n,
		      struct evt_buf *out, struct evt_err *e)
{
	struct evt_query all;
	struct status s = { st, out, 0, e };
	size_t i;
	int rc;

	memset(&all, 0, sizeof(all));
	if ((rc = evt_store_head(st, &all, &s.head, e)))
		return rc;
	if (!n)
		return evt_store_bookmarks(st, status_line, &s, e);
	for (i = 0; i < n; i++) {
		int64_t pos;
		int found;

		if ((rc = evt_store_bookmark_get(st, names[i], &pos, &found,
						 e)) ||
		    (rc = status_line(&s, names[i], pos)))
			return rc;
	}
	return 0;
}

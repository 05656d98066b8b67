/* reduce_jq.c - the jq reducer: a jq program run by libjq in this process
 *
 * The user's PROGRAM is compiled once inside a wrapper,
 *     .agg as $agg | .meta as $meta | .event | (PROGRAM)
 * and run per event on {"agg":..,"meta":..,"event":..}.  Each output must be
 * an object (merged) or null (ignored).
 *
 * jv ownership (jq's rule: a function consumes the jv it is given, except
 * jv_copy and the accessors noted in jv.h):
 *   struct jqr keeps its jq_state and the key strings k_*, freed at the end;
 *   each aggregate's a->priv is a struct jq_agg that owns "agg", the
 *   aggregate as $agg sees it (kept between events, patched in step with
 *   the exact text state), and its "stream" and "id" strings.
 * Values the program answers are printed back to text with jv_dump_string:
 * they are numbers as jq 1.6 knows them (doubles).  Members the program
 * does not touch keep their exact text.
 */
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "json.h"
#include "reduce.h"

struct jqr {
	struct evt_reducer base;
	jq_state *jq;
	struct evt_buf errs;		/* messages of a compile */
	jv k_agg, k_meta, k_event, k_position, k_stream, k_id, k_version,
	   k_timestamp;
	struct evt_buf key;
};

struct jq_agg {
	jv agg, stream, id;
};

static const char wrap_head[] = ".agg as $agg | .meta as $meta | .event | (\n";
static const char wrap_tail[] = "\n)";

/* Keep jq's messages, less the "jq: N compile error(s)" summary and the
 * padding jq puts after the line of the program it quotes. */
static void on_error(void *ctx, jv msg)
{
	struct evt_buf *b = ctx;
	const char *s, *end;

	if (jv_get_kind(msg) != JV_KIND_STRING) {
		msg = jv_dump_string(msg, 0);
		if (jv_get_kind(msg) != JV_KIND_STRING) {
			jv_free(msg);
			return;
		}
	}
	s = jv_string_value(msg);
	if (strncmp(s, "jq: ", 4) == 0 && strstr(s, " compile error") &&
	    !strchr(s, '\n')) {
		jv_free(msg);
		return;
	}
	if (b->len)
		evt_buf_addc(b, '\n');
	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		end = s + n;
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		evt_buf_add(b, s, (size_t)(end - s));
		if (!nl)
			break;
		evt_buf_addc(b, '\n');
		s = nl + 1;
	}
	jv_free(msg);
}

static void jq_forget(struct evt_reducer *r, struct evt_agg *a)
{
	struct jq_agg *pa = a->priv;

	(void)r;
	if (!pa)
		return;
	jv_free(pa->agg);
	jv_free(pa->stream);
	jv_free(pa->id);
	free(pa);
	a->priv = NULL;
}

static struct jq_agg *agg_of(struct jqr *q, struct evt_agg *a)
{
	struct jq_agg *pa = a->priv;

	if (pa)
		return pa;
	pa = evt_xmalloc(sizeof(*pa));
	evt_buf_reset(&q->base.tmp);
	evt_agg_print(a, &q->base.tmp);
	pa->agg = jv_parse_sized(q->base.tmp.p, (int)q->base.tmp.len);
	pa->stream = jv_string_sized(a->stream, (int)a->stream_len);
	pa->id = jv_string_sized(a->id, (int)a->id_len);
	a->priv = pa;
	return pa;
}

/* Merge the object out (consumed) into the text state and into $agg. */
static void merge(struct jqr *q, struct evt_agg *a, struct jq_agg *pa, jv out)
{
	jv_object_foreach(out, k, v) {
		jv d;

		evt_buf_reset(&q->key);
		evt_json_quote(&q->key, jv_string_value(k),
			       (size_t)jv_string_length_bytes(jv_copy(k)));
		jv_free(k);
		if (evt_agg_reserved(q->key.p, q->key.len)) {
			jv_free(v);
			continue;
		}
		d = jv_dump_string(v, 0);
		evt_agg_set(a, q->key.p, q->key.len, jv_string_value(d),
			    (size_t)jv_string_length_bytes(jv_copy(d)));
		jv_free(d);
	}
	pa->agg = jv_object_merge(pa->agg, out);
}

static const char *jv_kind_article(jv_kind k)
{
	switch (k) {
	case JV_KIND_ARRAY: return "an array";
	case JV_KIND_STRING: return "a string";
	case JV_KIND_NUMBER: return "a number";
	case JV_KIND_TRUE: case JV_KIND_FALSE: return "a boolean";
	default: return "something else";
	}
}

/* The message of a jq runtime error (msg consumed). */
static int runtime_error(struct evt_err *e, const char *place, jv msg)
{
	int rc;

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		rc = evt_errf(e, EVT_EINPUT, "%s: jq error: %s", place,
			      jv_string_value(msg));
	} else {
		jv d = jv_dump_string(msg, 0);

		rc = evt_errf(e, EVT_EINPUT, "%s: jq error (not a string): %s",
			      place, jv_string_value(d));
		msg = d;
	}
	jv_free(msg);
	return rc;
}

static int jq_apply(struct evt_reducer *r, struct evt_agg *a,
		    const struct evt_record *ev, const char *place,
		    struct evt_err *e)
{
	struct jqr *q = (struct jqr *)r;
	struct jq_agg *pa = agg_of(q, a);
	jv meta, in, out, event;

	pa->agg = jv_object_set(pa->agg, jv_copy(q->k_id), jv_copy(pa->id));
	pa->agg = jv_object_set(pa->agg, jv_copy(q->k_version),
				jv_number((double)a->version));
	event = jv_parse_sized(ev->event, (int)ev->event_len);
	if (!jv_is_valid(event))
		return runtime_error(e, place, jv_invalid_get_msg(event));
	meta = jv_object();
	meta = jv_object_set(meta, jv_copy(q->k_position),
			     jv_number((double)ev->position));
	meta = jv_object_set(meta, jv_copy(q->k_stream), jv_copy(pa->stream));
	meta = jv_object_set(meta, jv_copy(q->k_id), jv_copy(pa->id));
	meta = jv_object_set(meta, jv_copy(q->k_version),
			     jv_number((double)ev->version));
	meta = jv_object_set(meta, jv_copy(q->k_timestamp),
			     ev->ts ? jv_string_sized(ev->ts, (int)ev->ts_len)
				    : jv_null());
	in = jv_object();
	in = jv_object_set(in, jv_copy(q->k_agg), jv_copy(pa->agg));
	in = jv_object_set(in, jv_copy(q->k_meta), meta);
	in = jv_object_set(in, jv_copy(q->k_event), event);
	jq_start(q->jq, in, 0);
	for (;;) {
		jv_kind k;

		out = jq_next(q->jq);
		k = jv_get_kind(out);
		if (k == JV_KIND_INVALID)
			break;
		if (k == JV_KIND_NULL) {
			jv_free(out);
			continue;
		}
		if (k != JV_KIND_OBJECT) {
			jv_free(out);
			return evt_errf(e, EVT_EINPUT, "%s: jq program "
					"answered %s, not an object or null",
					place, jv_kind_article(k));
		}
		merge(q, a, pa, out);
	}
	if (jv_invalid_has_msg(jv_copy(out)))
		return runtime_error(e, place, jv_invalid_get_msg(out));
	jv_free(out);
	if (jq_halted(q->jq)) {
		jv msg = jq_get_error_message(q->jq);

		if (jv_get_kind(msg) == JV_KIND_STRING)
			return runtime_error(e, place, msg);
		jv_free(msg);
		return evt_errf(e, EVT_EINPUT, "%s: jq program halted", place);
	}
	return 0;
}

static void jq_free(struct evt_reducer *r)
{
	struct jqr *q = (struct jqr *)r;

	if (q->jq)
		jq_teardown(&q->jq);
	jv_free(q->k_agg);
	jv_free(q->k_meta);
	jv_free(q->k_event);
	jv_free(q->k_position);
	jv_free(q->k_stream);
	jv_free(q->k_id);
	jv_free(q->k_version);
	jv_free(q->k_timestamp);
	evt_buf_release(&q->errs);
	evt_buf_release(&q->key);
	free(q);
}

static const struct evt_reducer_ops jq_ops = {
	jq_apply, jq_forget, NULL, jq_free
};

/* The messages of compiling program alone, with $agg and $meta defined:
 * they quote the user's own lines, not the wrapper's. */
static void user_errors(const char *program, struct evt_buf *errs)
{
	jq_state *jq = jq_init();
	jv args;

	if (!jq)
		return;
	evt_buf_reset(errs);
	jq_set_error_cb(jq, on_error, errs);
	args = jv_object_set(jv_object(), jv_string("agg"), jv_null());
	args = jv_object_set(args, jv_string("meta"), jv_null());
	jq_compile_args(jq, program, args);
	jq_teardown(&jq);
}

int evt_reducer_jq(struct evt_reducer **rp, const char *program,
		   struct evt_err *e)
{
	struct jqr *q = evt_xmalloc(sizeof(*q));
	struct evt_buf src = EVT_BUF_INIT;

	*rp = NULL;
	memset(q, 0, sizeof(*q));
	q->base.ops = &jq_ops;
	evt_reducer_name(&q->base, "jq", program);
	q->k_agg = jv_string("agg");
	q->k_meta = jv_string("meta");
	q->k_event = jv_string("event");
	q->k_position = jv_string("position");
	q->k_stream = jv_string("stream");
	q->k_id = jv_string("aggregateId");
	q->k_version = jv_string("version");
	q->k_timestamp = jv_string("timestamp");
	if (!(q->jq = jq_init())) {
		jq_free(&q->base);
		return evt_errf(e, EVT_EFAIL, "cannot start jq");
	}
	if (strlen(program) == 0 || !evt_utf8_valid(program, strlen(program))) {
		jq_free(&q->base);
		return evt_errf(e, EVT_EUSAGE, "jq program is %s",
				*program ? "not valid UTF-8" : "empty");
	}
	jq_set_error_cb(q->jq, on_error, &q->errs);
	evt_buf_addstr(&src, wrap_head);
	evt_buf_addstr(&src, program);
	evt_buf_addstr(&src, wrap_tail);
	if (!jq_compile(q->jq, src.p)) {
		struct evt_buf errs = EVT_BUF_INIT;
		int rc;

		user_errors(program, &errs);
		rc = evt_errf(e, EVT_EUSAGE, "%s", errs.len ? errs.p :
			      q->errs.len ? q->errs.p :
			      "jq: error: the program does not compile");
		evt_buf_release(&errs);
		evt_buf_release(&src);
		jq_free(&q->base);
		return rc;
	}
	evt_buf_release(&src);
	*rp = &q->base;
	return 0;
}

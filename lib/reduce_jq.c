/* reduce_jq.c - the jq reducer: a jq program run by libjq in this process
 *
 * The user's PROGRAM is compiled once inside a wrapper and run once for the
 * whole fold:
 *     inputs as $agg | input as $meta | input | [PROGRAM]
 * (less the $agg or $meta parts when PROGRAM does not name them).  Its
 * inputs come from a callback that hands out, per event, the aggregate, the
 * meta and the event, built when jq asks for them; each event gives one
 * output, the array of what PROGRAM answered.  Every element must be an
 * object (merged in order) or null (ignored).  One run, not one per event,
 * spares jq 1.6's start-up per event, and the event's jv is built from its
 * checked text (value_jv), not by jq's slower parser.
 *
 * jv ownership (jq's rule: a function consumes the jv it is given, except
 * jv_copy and the accessors noted in jv.h):
 *   struct jqr owns its jq_state, the key strings k_* and the member
 *   names in keys (see key_jv);
 *   each aggregate's a->priv is a struct jq_agg that owns
 *     "agg"      the aggregate as $agg sees it,
 *     "patches"  the last answer, merged into "agg" when the next $agg is
 *                handed out,
 *     "dirty"    the members answered since the text state was last
 *                brought up to date (jq_sync), and
 *     "stream", "id".
 * Values the program answers are printed back to text with jv_dump_string
 * (by jq_sync, before the aggregate is printed or saved): they are numbers
 * as jq 1.6 knows them (doubles).  Members the program does not touch keep
 * their exact text.
 */
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "dl.h"
#include "json.h"
#include "reduce.h"

/* libjq (and the oniguruma it needs) is loaded when a jq reducer is made,
 * not at every start: linking it costs every run of evt-fold and
 * evt-command half a millisecond, merge folds included.  Every jq and jv
 * function used here goes through this table. */
#define JQ_FUNCS(X) \
	X(jq_init) X(jq_set_error_cb) X(jq_set_input_cb) X(jq_compile) \
	X(jq_compile_args) X(jq_start) X(jq_next) X(jq_teardown) X(jq_halted) \
	X(jq_get_error_message) X(jv_parse_sized) X(jv_true) X(jv_false) \
	X(jv_array) X(jv_array_append) X(jv_dump_string) X(jv_free) X(jv_copy) \
	X(jv_get_kind) X(jv_null) X(jv_invalid) X(jv_invalid_get_msg) \
	X(jv_invalid_has_msg) X(jv_number) X(jv_string) X(jv_string_sized) \
	X(jv_string_value) X(jv_string_length_bytes) X(jv_array_get) \
	X(jv_array_length) X(jv_object) X(jv_object_set) X(jv_object_merge) \
	X(jv_object_length) X(jv_object_iter) X(jv_object_iter_next) \
	X(jv_object_iter_valid) X(jv_object_iter_key) X(jv_object_iter_value)

static struct jq_api {
	JQ_FUNCS(EVT_DL_MEMBER)
} J;
static void *jq_lib;	/* loaded once per process, never unloaded */

static int load_jq(struct evt_err *e)
{
#define X(f) EVT_DL_FN(jq_api, f)
	static const struct evt_dl_fn fns[] = { JQ_FUNCS(X) };
#undef X
	const char *missing, *err;

	if (jq_lib)
		return 0;
	if ((jq_lib = evt_dl_bind("libjq.so.1", fns, sizeof(fns) /
				  sizeof(fns[0]), &J, &missing, &err)))
		return 0;
	if (missing)
		return evt_errf(e, EVT_EFAIL, "cannot load libjq: no %s",
				missing);
	return evt_errf(e, EVT_EFAIL, "cannot load libjq: %s",
			err ? err : "unknown error");
}

/* jv.h's own jv_is_valid and foreach macros would call libjq directly. */
#define array_foreach(a, i, x)						\
	for (int n__ = J.jv_array_length(J.jv_copy(a)), i = 0, once__ = 1; \
	     once__; once__ = 0)					\
		for (jv x; i < n__ ? (x = J.jv_array_get(J.jv_copy(a), i), 1) \
				   : 0; i++)
#define object_foreach(t, k, v)						\
	for (int it__ = J.jv_object_iter(t), once__ = 1; once__;	\
	     once__ = 0)						\
		for (jv k, v; J.jv_object_iter_valid((t), it__) ?	\
		     (k = J.jv_object_iter_key(t, it__),		\
		      v = J.jv_object_iter_value(t, it__), 1) : 0;	\
		     it__ = J.jv_object_iter_next(t, it__))
#define is_valid(x) (J.jv_get_kind(x) != JV_KIND_INVALID)

/* Member names seen before, as jv strings: a name that comes with every
 * event is made (and hashed by jq) once, not per event. */
#define KEYS 256
struct key_slot {
	char tok[48];			/* the name's token, with its quotes */
	size_t len;
	jv s;				/* invalid: empty slot */
};

struct jqr {
	struct evt_reducer base;
	jq_state *jq;
	int compiled;
	int started;			/* jq_start was called */
	int uses_agg, uses_meta;	/* PROGRAM names $agg, $meta */
	struct evt_buf errs;		/* messages of a compile */
	jv k_position, k_stream, k_id, k_version, k_timestamp;
	struct evt_buf key;
	/* The event jq is to get next, for the input callback, and what of
	 * it jq has been given: 0 nothing, 1 $agg, 2 $meta, 3 the event. */
	struct evt_agg *cur;
	const struct evt_record *ev;
	int stage;
	jv bad;				/* the event did not parse: why */
	struct key_slot *keys;
};

struct jq_agg {
	jv agg, patches, dirty, stream, id;
};

/* Keep jq's messages, less the "jq: N compile error(s)" summary and the
 * padding jq puts after the line of the program it quotes. */
static void on_error(void *ctx, jv msg)
{
	struct evt_buf *b = ctx;
	const char *s, *end;

	if (J.jv_get_kind(msg) != JV_KIND_STRING) {
		msg = J.jv_dump_string(msg, 0);
		if (J.jv_get_kind(msg) != JV_KIND_STRING) {
			J.jv_free(msg);
			return;
		}
	}
	s = J.jv_string_value(msg);
	if (strncmp(s, "jq: ", 4) == 0 && strstr(s, " compile error") &&
	    !strchr(s, '\n')) {
		J.jv_free(msg);
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
	J.jv_free(msg);
}

static void jq_forget(struct evt_reducer *r, struct evt_agg *a)
{
	struct jq_agg *pa = a->priv;

	(void)r;
	if (!pa)
		return;
	J.jv_free(pa->agg);
	J.jv_free(pa->patches);
	J.jv_free(pa->dirty);
	J.jv_free(pa->stream);
	J.jv_free(pa->id);
	free(pa);
	a->priv = NULL;
}

static jv value_jv(struct jqr *q, const char *s, size_t n, int depth);

/* The jv string of a member name token, from the cache when it is there. */
static jv key_jv(struct jqr *q, const char *tok, size_t n)
{
	struct key_slot *k;
	uint64_t h;

	if (n > sizeof(k->tok) || memchr(tok, '\\', n))
		return value_jv(q, tok, n, 0);
	h = evt_fnv(EVT_FNV0, tok, n);
	k = &q->keys[h & (KEYS - 1)];
	if (k->len != n || memcmp(k->tok, tok, n) != 0) {
		J.jv_free(k->s);
		memcpy(k->tok, tok, n);
		k->len = n;
		k->s = J.jv_string_sized(tok + 1, (int)n - 2);
	}
	return J.jv_copy(k->s);
}

/* The jv of a compact JSON value that evt_json_compact has checked, built
 * directly: jq 1.6's parser spends several times as long on an event.
 * Strings that do not decode to UTF-8 without NUL (\u0000), numbers of
 * more than 63 characters and values nested deeper than 32 go to
 * jv_parse_sized, which gives what jq's own parser gives.  depth < 0: s is
 * a member name. */
static jv value_jv(struct jqr *q, const char *s, size_t n, int depth)
{
	const char *key, *val;
	size_t at = 0, klen, vlen;
	char num[64];
	jv v;

	switch (s[0]) {
	case '"':
		if (depth < 0)
			return key_jv(q, s, n);
		if (!memchr(s, '\\', n))
			return J.jv_string_sized(s + 1, (int)n - 2);
		if (evt_json_unquote(s, n, &q->key) < 0)
			break;
		return J.jv_string_sized(q->key.p, (int)q->key.len);
	case 't':
		return J.jv_true();
	case 'f':
		return J.jv_false();
	case 'n':
		return J.jv_null();
	case '{':
		if (depth > 32)
			break;
		v = J.jv_object();
		while (evt_json_next(s, n, &at, &key, &klen, &val, &vlen)) {
			jv k = value_jv(q, key, klen, -1), x;

			/* What jq cannot read (a lone surrogate) makes the
			 * whole value unreadable, as with jq's own parser. */
			if (J.jv_get_kind(k) != JV_KIND_STRING) {
				J.jv_free(v);
				return is_valid(k) ? (J.jv_free(k), J.jv_invalid())
						   : k;
			}
			x = value_jv(q, val, vlen, depth + 1);
			if (!is_valid(x)) {
				J.jv_free(k);
				J.jv_free(v);
				return x;
			}
			v = J.jv_object_set(v, k, x);
		}
		return v;
	case '[':
		if (depth > 32)
			break;
		v = J.jv_array();
		while (evt_json_next(s, n, &at, &key, &klen, &val, &vlen)) {
			jv x = value_jv(q, val, vlen, depth + 1);

			if (!is_valid(x)) {
				J.jv_free(v);
				return x;
			}
			v = J.jv_array_append(v, x);
		}
		return v;
	default:
		if (n >= sizeof(num))
			break;
		memcpy(num, s, n);
		num[n] = '\0';
		return J.jv_number(strtod(num, NULL));
	}
	return J.jv_parse_sized(s, (int)n);
}

static struct jq_agg *agg_of(struct jqr *q, struct evt_agg *a)
{
	struct jq_agg *pa = a->priv;

	if (pa)
		return pa;
	pa = evt_xmalloc(sizeof(*pa));
	pa->agg = J.jv_null();
	if (q->uses_agg) {
		J.jv_free(pa->agg);
		evt_buf_reset(&q->base.tmp);
		evt_agg_print(a, &q->base.tmp);
		pa->agg = J.jv_parse_sized(q->base.tmp.p, (int)q->base.tmp.len);
	}
	pa->patches = J.jv_invalid();
	pa->dirty = J.jv_object();
	pa->stream = J.jv_string_sized(a->stream, (int)a->stream_len);
	pa->id = J.jv_string_sized(a->id, (int)a->id_len);
	a->priv = pa;
	return pa;
}

/* $agg for the current event. */
static jv input_agg(struct jqr *q, struct jq_agg *pa)
{
	if (is_valid(pa->patches)) {
		array_foreach(pa->patches, i, p) {
			if (J.jv_get_kind(p) == JV_KIND_OBJECT)
				pa->agg = J.jv_object_merge(pa->agg, p);
			else
				J.jv_free(p);
		}
		J.jv_free(pa->patches);
		pa->patches = J.jv_invalid();
	}
	pa->agg = J.jv_object_set(pa->agg, J.jv_copy(q->k_id), J.jv_copy(pa->id));
	pa->agg = J.jv_object_set(pa->agg, J.jv_copy(q->k_version),
				J.jv_number((double)q->cur->version));
	return J.jv_copy(pa->agg);
}

/* $meta for the current event. */
static jv input_meta(struct jqr *q, struct jq_agg *pa)
{
	const struct evt_record *ev = q->ev;
	jv meta = J.jv_object();

	meta = J.jv_object_set(meta, J.jv_copy(q->k_position),
			     J.jv_number((double)ev->position));
	meta = J.jv_object_set(meta, J.jv_copy(q->k_stream), J.jv_copy(pa->stream));
	meta = J.jv_object_set(meta, J.jv_copy(q->k_id), J.jv_copy(pa->id));
	meta = J.jv_object_set(meta, J.jv_copy(q->k_version),
			     J.jv_number((double)ev->version));
	return J.jv_object_set(meta, J.jv_copy(q->k_timestamp), ev->ts ?
			     J.jv_string_sized(ev->ts, (int)ev->ts_len) :
			     J.jv_null());
}

/* jq asks for its next input: $agg, $meta (those the program names), then
 * the event; after that there is no more until the next event. */
static jv next_input(jq_state *jq, void *data)
{
	struct jqr *q = data;
	struct jq_agg *pa;
	jv event;

	(void)jq;
	if (!q->ev)
		return J.jv_invalid();
	pa = agg_of(q, q->cur);
	if (q->stage < 1) {
		q->stage = 1;
		if (q->uses_agg)
			return input_agg(q, pa);
	}
	if (q->stage < 2) {
		q->stage = 2;
		if (q->uses_meta)
			return input_meta(q, pa);
	}
	/* The fold checked that the event is a compact object. */
	event = value_jv(q, q->ev->event, q->ev->event_len, 0);
	q->ev = NULL;
	q->stage = 3;
	if (!is_valid(event)) {
		q->bad = J.jv_invalid_has_msg(J.jv_copy(event)) ?
			 J.jv_invalid_get_msg(event) :
			 J.jv_string("incomplete JSON");
		return J.jv_invalid();
	}
	return event;
}

/* Print the members answered since the last time into the text state, in
 * the order they first came: those already there keep their place, new
 * ones follow in order of first appearance. */
static void jq_sync(struct evt_reducer *r, struct evt_agg *a)
{
	struct jqr *q = (struct jqr *)r;
	struct jq_agg *pa = a->priv;

	if (!pa || J.jv_object_length(J.jv_copy(pa->dirty)) == 0)
		return;
	object_foreach(pa->dirty, k, v) {
		jv d;

		evt_buf_reset(&q->key);
		evt_json_quote(&q->key, J.jv_string_value(k),
			       (size_t)J.jv_string_length_bytes(J.jv_copy(k)));
		J.jv_free(k);
		if (evt_agg_reserved(q->key.p, q->key.len)) {
			J.jv_free(v);
			continue;
		}
		d = J.jv_dump_string(v, 0);
		evt_agg_set(a, q->key.p, q->key.len, J.jv_string_value(d),
			    (size_t)J.jv_string_length_bytes(J.jv_copy(d)));
		J.jv_free(d);
	}
	J.jv_free(pa->dirty);
	pa->dirty = J.jv_object();
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

/* The message of a jq error (msg consumed). */
static int jq_error(struct evt_err *e, const char *what, jv msg)
{
	int rc;

	if (J.jv_get_kind(msg) == JV_KIND_STRING) {
		rc = evt_errf(e, EVT_EINPUT, "%s: %s", what,
			      J.jv_string_value(msg));
	} else {
		jv d = J.jv_dump_string(msg, 0);

		rc = evt_errf(e, EVT_EINPUT, "%s (not a string): %s", what,
			      J.jv_string_value(d));
		msg = d;
	}
	J.jv_free(msg);
	return rc;
}

static int jq_apply(struct evt_reducer *r, struct evt_agg *a,
		    const struct evt_record *ev, struct evt_err *e)
{
	struct jqr *q = (struct jqr *)r;
	struct jq_agg *pa;
	jv out;

	q->cur = a;
	q->ev = ev;
	q->stage = 0;
	if (!q->started) {
		J.jq_start(q->jq, J.jv_null(), 0);
		q->started = 1;
	}
	out = J.jq_next(q->jq);
	if (J.jv_get_kind(out) != JV_KIND_ARRAY) {
		q->ev = NULL;
		if (J.jv_invalid_has_msg(J.jv_copy(out)))
			return jq_error(e, "jq error", J.jv_invalid_get_msg(out));
		J.jv_free(out);
		if (is_valid(q->bad)) {
			jv bad = q->bad;

			q->bad = J.jv_invalid();
			return jq_error(e, "jq cannot read the event", bad);
		}
		if (J.jq_halted(q->jq)) {
			jv msg = J.jq_get_error_message(q->jq);

			if (J.jv_get_kind(msg) == JV_KIND_STRING)
				return jq_error(e, "jq program halted", msg);
			J.jv_free(msg);
			return evt_errf(e, EVT_EINPUT, "jq program halted");
		}
		return evt_errf(e, EVT_EINPUT, "jq program ended");
	}
	pa = a->priv;
	array_foreach(out, i, p) {
		jv_kind k = J.jv_get_kind(p);

		if (k == JV_KIND_OBJECT) {
			pa->dirty = J.jv_object_merge(pa->dirty, p);
		} else if (k != JV_KIND_NULL) {
			J.jv_free(p);
			J.jv_free(out);
			return evt_errf(e, EVT_EINPUT, "jq program answered "
					"%s, not an object or null",
					jv_kind_article(k));
		} else {
			J.jv_free(p);
		}
	}
	if (q->uses_agg) {
		J.jv_free(pa->patches);
		pa->patches = out;
	} else {
		J.jv_free(out);
	}
	return 0;
}

static void jq_free(struct evt_reducer *r)
{
	struct jqr *q = (struct jqr *)r;

	if (q->jq)
		J.jq_teardown(&q->jq);
	J.jv_free(q->k_position);
	J.jv_free(q->k_stream);
	J.jv_free(q->k_id);
	J.jv_free(q->k_version);
	J.jv_free(q->k_timestamp);
	J.jv_free(q->bad);
	if (q->keys) {
		size_t i;

		for (i = 0; i < KEYS; i++)
			J.jv_free(q->keys[i].s);
		free(q->keys);
	}
	evt_buf_release(&q->errs);
	evt_buf_release(&q->key);
	free(q);
}

static const struct evt_reducer_ops jq_ops = {
	jq_apply, jq_sync, jq_forget, NULL, jq_free
};

/* The messages of compiling program alone, with $agg and $meta defined:
 * they quote the user's own lines, not the wrapper's. */
static void user_errors(const char *program, struct evt_buf *errs)
{
	jq_state *jq = J.jq_init();
	jv args;

	if (!jq)
		return;
	evt_buf_reset(errs);
	J.jq_set_error_cb(jq, on_error, errs);
	args = J.jv_object_set(J.jv_object(), J.jv_string("agg"), J.jv_null());
	args = J.jv_object_set(args, J.jv_string("meta"), J.jv_null());
	J.jq_compile_args(jq, program, args);
	J.jq_teardown(&jq);
}

/* Does the program name the variable $name?  (A mention in a string or a
 * comment counts too: it only costs building what is not used.) */
static int names_var(const char *program, const char *name)
{
	const char *p = program;
	size_t n = strlen(name);

	while ((p = strchr(p, '$'))) {
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (strncmp(p, name, n) == 0 &&
		    !(p[n] == '_' || (p[n] >= '0' && p[n] <= '9') ||
		      (p[n] >= 'A' && p[n] <= 'Z') ||
		      (p[n] >= 'a' && p[n] <= 'z')))
			return 1;
	}
	return 0;
}

/* Compile the wrapped program; q->compiled says whether it did. */
static int compile(struct jqr *q, const char *program, struct evt_buf *src)
{
	evt_buf_reset(src);
	evt_buf_reset(&q->errs);
	evt_buf_addstr(src, "inputs ");
	evt_buf_addstr(src, q->uses_agg ? "as $agg | input " : "");
	evt_buf_addstr(src, q->uses_meta ? "as $meta | input " : "");
	evt_buf_addstr(src, "| [\n");
	evt_buf_addstr(src, program);
	evt_buf_addstr(src, "\n]");
	return q->compiled = J.jq_compile(q->jq, src->p);
}

int evt_reducer_jq(struct evt_reducer **rp, const char *program,
		   struct evt_err *e)
{
	struct jqr *q;
	struct evt_buf src = EVT_BUF_INIT;
	size_t i;
	int rc;

	*rp = NULL;
	if ((rc = load_jq(e)))
		return rc;
	q = evt_xmalloc(sizeof(*q));
	memset(q, 0, sizeof(*q));
	q->base.ops = &jq_ops;
	evt_reducer_name(&q->base, "jq", program);
	q->k_position = J.jv_string("position");
	q->k_stream = J.jv_string("stream");
	q->k_id = J.jv_string("aggregateId");
	q->k_version = J.jv_string("version");
	q->k_timestamp = J.jv_string("timestamp");
	q->bad = J.jv_invalid();
	q->keys = evt_xmalloc(KEYS * sizeof(*q->keys));
	for (i = 0; i < KEYS; i++) {
		q->keys[i].len = 0;
		q->keys[i].s = J.jv_invalid();
	}
	q->uses_agg = names_var(program, "agg");
	q->uses_meta = names_var(program, "meta");
	if (!*program || !evt_utf8_valid(program, strlen(program))) {
		jq_free(&q->base);
		return evt_errf(e, EVT_EUSAGE, "jq program is %s",
				*program ? "not valid UTF-8" : "empty");
	}
	if (!(q->jq = J.jq_init())) {
		jq_free(&q->base);
		return evt_errf(e, EVT_EFAIL, "cannot start jq");
	}
	J.jq_set_error_cb(q->jq, on_error, &q->errs);
	J.jq_set_input_cb(q->jq, next_input, q);
	if (!compile(q, program, &src) && !(q->uses_agg && q->uses_meta)) {
		/* Perhaps it names one in a way names_var missed. */
		q->uses_agg = q->uses_meta = 1;
		compile(q, program, &src);
	}
	if (!q->compiled) {
		struct evt_buf errs = EVT_BUF_INIT;

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

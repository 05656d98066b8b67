/* reduce.c - reducers: the interface, and merge, the default */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reduce.h"

int evt_reducer_apply(struct evt_reducer *r, struct evt_agg *a,
		      const struct evt_record *ev, struct evt_err *e)
{
	return r->ops->apply(r, a, ev, e);
}

void evt_reducer_sync(struct evt_reducer *r, struct evt_agg *a)
{
	if (r->ops->sync)
		r->ops->sync(r, a);
}

void evt_reducer_forget(struct evt_reducer *r, struct evt_agg *a)
{
	if (r->ops->forget)
		r->ops->forget(r, a);
}

int evt_reducer_finish(struct evt_reducer *r, struct evt_err *e)
{
	return r->ops->finish ? r->ops->finish(r, e) : 0;
}

void evt_reducer_free(struct evt_reducer *r)
{
	if (!r)
		return;
	evt_buf_release(&r->tmp);
	r->ops->free(r);
}

void evt_reducer_name(struct evt_reducer *r, const char *kind,
		      const char *text)
{
	uint64_t h = evt_fnv(EVT_FNV0, text, strlen(text));

	snprintf(r->what, sizeof(r->what), "%s:%016llx", kind,
		 (unsigned long long)h);
}

static const char *kind_name(enum evt_jkind k)
{
	switch (k) {
	case EVT_J_ARRAY: return "an array";
	case EVT_J_STRING: return "a string";
	case EVT_J_NUMBER: return "a number";
	case EVT_J_TRUE: case EVT_J_FALSE: return "a boolean";
	case EVT_J_OBJECT: return "an object";
	case EVT_J_NULL: return "null";
	default: return "nothing";
	}
}

int evt_reducer_patch(struct evt_agg *a, const char *patch, size_t n,
		      const char *who, struct evt_buf *tmp, struct evt_err *e)
{
	enum evt_jkind k = EVT_J_NONE;

	switch (n ? patch[0] : 0) {
	case '{': k = EVT_J_OBJECT; break;
	case '[': k = EVT_J_ARRAY; break;
	case '"': k = EVT_J_STRING; break;
	case 't': k = EVT_J_TRUE; break;
	case 'f': k = EVT_J_FALSE; break;
	case 'n': k = EVT_J_NULL; break;
	case 0: break;
	default: k = EVT_J_NUMBER; break;
	}
	if (k == EVT_J_NULL)
		return 0;
	if (k != EVT_J_OBJECT)
		return evt_errf(e, EVT_EINPUT, "%s answered %s, not an object "
				"or null", who, kind_name(k));
	evt_agg_merge(a, patch, n, 0, tmp);
	return 0;
}

void evt_meta_print(struct evt_buf *out, const struct evt_record *r)
{
	evt_buf_addstr(out, "{\"position\":");
	evt_buf_addi64(out, r->position);
	evt_buf_addstr(out, ",\"stream\":");
	evt_json_quote(out, r->stream, r->stream_len);
	evt_buf_addstr(out, ",\"aggregateId\":");
	evt_json_quote(out, r->id, r->id_len);
	evt_buf_addstr(out, ",\"version\":");
	evt_buf_addi64(out, r->version);
	evt_buf_addstr(out, ",\"timestamp\":");
	if (r->ts)
		evt_json_quote(out, r->ts, r->ts_len);
	else
		evt_buf_addstr(out, "null");
	evt_buf_addc(out, '}');
}

/* merge: the event is the patch. */

static int merge_apply(struct evt_reducer *r, struct evt_agg *a,
		       const struct evt_record *ev, struct evt_err *e)
{
	evt_agg_merge(a, ev->event, ev->event_len, EVT_AGG_SKIP_TYPE, &r->tmp);
	return 0;
}

static void merge_free(struct evt_reducer *r)
{
	free(r);
}

static const struct evt_reducer_ops merge_ops = {
	merge_apply, NULL, NULL, NULL, merge_free
};

struct evt_reducer *evt_reducer_merge(void)
{
	struct evt_reducer *r = evt_xmalloc(sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->ops = &merge_ops;
	snprintf(r->what, sizeof(r->what), "merge");
	return r;
}

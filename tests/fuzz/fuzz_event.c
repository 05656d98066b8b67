/* fuzz_event.c - evt_event_parse and the merge reducer
 *
 * An event line (evt-append's stdin and arguments, evt-command's program
 * output) is checked by evt_event_parse and, folded by the default
 * reducer, merged into an aggregate member by member.  Checks:
 *   - a refused line is EVT_EINPUT with a message, the buffer as it was;
 *   - an accepted event is a compact object with a non-empty string
 *     "type", accepted again unchanged;
 *   - merged into an aggregate (twice: merging is idempotent), the printed
 *     aggregate is a compact object with unique keys, no "type" or
 *     "__persisted", each member the last value the event gave it, and
 *     "aggregateId" and "version" last.
 */
#include "fuzz.h"

static int reserved_or_skipped(const char *k, size_t n)
{
	return evt_agg_reserved(k, n) ||
	       (n == 6 && memcmp(k, "\"type\"", 6) == 0) ||
	       (n == 13 && memcmp(k, "\"__persisted\"", 13) == 0);
}

/* The value the event gives canonical key k last, or NULL. */
static const char *last_value(const char *ev, size_t n, const char *k,
			      size_t kn, size_t *vlen)
{
	struct evt_buf tmp = EVT_BUF_INIT;
	const char *key, *val, *found = NULL;
	size_t at = 0, klen, vl;

	while (evt_json_next(ev, n, &at, &key, &klen, &val, &vl)) {
		size_t cl;
		const char *c = evt_json_key(key, klen, &cl, &tmp);

		if (cl == kn && memcmp(c, k, kn) == 0) {
			found = val;
			*vlen = vl;
		}
	}
	evt_buf_release(&tmp);
	return found;
}

static void check_merge(const char *ev, size_t n)
{
	struct evt_agg a;
	struct evt_buf tmp = EVT_BUF_INIT, p1 = EVT_BUF_INIT, p2 = EVT_BUF_INIT;
	const char *key, *val;
	size_t at = 0, klen, vlen, members = 0, i;
	static const char tail[] = ",\"aggregateId\":\"a\\\"1\",\"version\":0}";

	evt_agg_init(&a, "s", 1, "a\"1", 3);
	evt_agg_merge(&a, ev, n, EVT_AGG_SKIP_TYPE, &tmp);
	evt_agg_print(&a, &p1);
	CHECK_NUL(&p1);
	evt_agg_merge(&a, ev, n, EVT_AGG_SKIP_TYPE, &tmp);
	evt_agg_print(&a, &p2);
	CHECK(p1.len == p2.len && memcmp(p1.p, p2.p, p1.len) == 0,
	      "merging twice: %s then %s", p1.p, p2.p);
	fuzz_check_compact(p1.p, p1.len, EVT_J_OBJECT);
	fuzz_check_unique_keys(p1.p, p1.len);
	if (a.n)
		CHECK(p1.len > sizeof(tail) - 1 &&
		      strcmp(p1.p + p1.len - (sizeof(tail) - 1), tail) == 0,
		      "aggregate does not end as it should: %s", p1.p);
	else
		CHECK(strcmp(p1.p, "{\"aggregateId\":\"a\\\"1\",\"version\":0}")
		      == 0, "empty aggregate prints as %s", p1.p);
	/* Every member: canonical key, the event's last value for it. */
	for (i = 0; i < a.n; i++) {
		const struct evt_agg_member *m = &a.m[i];
		size_t vl = 0;
		const char *v = last_value(ev, n, m->key, m->klen, &vl);

		CHECK(!reserved_or_skipped(m->key, m->klen), "member %s kept",
		      m->key);
		CHECK(v && vl == m->vlen && memcmp(v, m->val, vl) == 0,
		      "member %s is %s, not the event's last value", m->key,
		      m->val);
	}
	/* And the other way: every key the event has is a member. */
	while (evt_json_next(ev, n, &at, &key, &klen, &val, &vlen)) {
		size_t cl;
		const char *c = evt_json_key(key, klen, &cl, &tmp);

		if (reserved_or_skipped(c, cl))
			continue;
		for (i = 0; i < a.n; i++)
			if (a.m[i].klen == cl && memcmp(a.m[i].key, c, cl) == 0)
				break;
		CHECK(i < a.n, "key %.*s of the event is not a member",
		      (int)cl, c);
		members++;
	}
	CHECK(a.n <= members, "%zu members from %zu keys", a.n, members);
	evt_agg_release(&a);
	evt_buf_release(&tmp);
	evt_buf_release(&p1);
	evt_buf_release(&p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evt_buf out = EVT_BUF_INIT, again = EVT_BUF_INIT;
	struct evt_err e;
	int rc;

	evt_buf_addstr(&out, "X");
	rc = evt_event_parse((const char *)data, size, &out, &e);
	if (rc) {
		CHECK(rc == EVT_EINPUT && e.code == rc, "code %d", rc);
		fuzz_check_msg(&e);
		CHECK(out.len == 1 && out.p[0] == 'X', "output not restored");
		CHECK_NUL(&out);
	} else {
		const char *ev = out.p + 1;
		size_t n = out.len - 1;
		struct evt_jfield f = { "type", EVT_J_NONE, 0, 0 };
		const char *why;
		size_t col;

		CHECK_NUL(&out);
		CHECK(evt_json_compact(ev, n, &again, &f, 1, &why, &col) ==
		      EVT_J_OBJECT, "event is not an object: %s", ev);
		CHECK(again.len == n && memcmp(again.p, ev, n) == 0,
		      "event not compact: %s", ev);
		CHECK(f.kind == EVT_J_STRING && f.len > 2,
		      "event without a non-empty type: %s", ev);
		evt_buf_reset(&again);
		CHECK(evt_event_parse(ev, n, &again, &e) == 0 &&
		      again.len == n && memcmp(again.p, ev, n) == 0,
		      "event not accepted again unchanged: %s", ev);
		check_merge(ev, n);
	}
	evt_buf_release(&out);
	evt_buf_release(&again);
	return 0;
}

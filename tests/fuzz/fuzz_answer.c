/* fuzz_answer.c - reducer answers (evt-fold --exec, evt-command --exec)
 *
 * The input is what an --exec reducer prints: one answer per line, read by
 * evt_lines, checked by evt_json_compact and merged by evt_reducer_patch,
 * exactly the steps of reduce_exec.c's apply.  Checks:
 *   - an answer that is not an object or null is EVT_EINPUT naming the
 *     reducer, and leaves the aggregate as it was;
 *   - after each merged answer the aggregate prints as a compact object
 *     with unique keys, every key of the answer (but the two the aggregate
 *     owns) holding the answer's last value for it.
 */
#include <unistd.h>

#include "fuzz.h"

static const char who[] = "reducer 'fuzz'";

static void check_patched(struct evt_agg *a, const char *patch, size_t n)
{
	struct evt_buf p = EVT_BUF_INIT, tmp = EVT_BUF_INIT;
	const char *key, *val;
	size_t at = 0, klen, vlen, i;

	evt_agg_print(a, &p);
	CHECK_NUL(&p);
	fuzz_check_compact(p.p, p.len, EVT_J_OBJECT);
	fuzz_check_unique_keys(p.p, p.len);
	if (patch[0] == 'n')
		goto out;
	while (evt_json_next(patch, n, &at, &key, &klen, &val, &vlen)) {
		size_t cl;
		const char *c = evt_json_key(key, klen, &cl, &tmp);
		const char *v2, *k2;
		size_t at2 = 0, kl2, vl2, last = 0;
		const char *lastv = NULL;

		if (evt_agg_reserved(c, cl))
			continue;
		/* the answer's last value for this key */
		while (evt_json_next(patch, n, &at2, &k2, &kl2, &v2, &vl2)) {
			struct evt_buf t2 = EVT_BUF_INIT;
			size_t c2l;
			const char *c2 = evt_json_key(k2, kl2, &c2l, &t2);

			if (c2l == cl && memcmp(c2, c, cl) == 0) {
				lastv = v2;
				last = vl2;
			}
			evt_buf_release(&t2);
		}
		for (i = 0; i < a->n; i++)
			if (a->m[i].klen == cl && memcmp(a->m[i].key, c, cl) == 0)
				break;
		CHECK(i < a->n, "key %.*s answered but not a member", (int)cl,
		      c);
		CHECK(lastv && a->m[i].vlen == last &&
		      memcmp(a->m[i].val, lastv, last) == 0,
		      "member %.*s is %s, not the answer's last value", (int)cl,
		      c, a->m[i].val);
	}
out:
	evt_buf_release(&p);
	evt_buf_release(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evt_lines in;
	struct evt_agg a;
	struct evt_buf answer = EVT_BUF_INIT, tmp = EVT_BUF_INIT;
	struct evt_buf before = EVT_BUF_INIT, after = EVT_BUF_INIT;
	struct evt_err e;
	const char *line, *why;
	size_t n, col;
	int fd = fuzz_fd(data, size), got;

	evt_agg_init(&a, "s", 1, "a1", 2);
	evt_agg_set(&a, "\"n\"", 3, "1", 1);
	evt_lines_init(&in, fd, "reducer");
	while ((got = evt_lines_next(&in, &line, &n)) > 0) {
		int rc;

		if (!n)
			continue;	/* apply: "answered an empty line" */
		evt_buf_reset(&answer);
		if (evt_json_compact(line, n, &answer, NULL, 0, &why, &col) ==
		    EVT_J_NONE) {
			CHECK(answer.len == 0, "answer buffer not restored");
			continue;
		}
		evt_buf_reset(&before);
		evt_agg_print(&a, &before);
		rc = evt_reducer_patch(&a, answer.p, answer.len, who, &tmp,
				       &e);
		if (rc) {
			CHECK(rc == EVT_EINPUT && e.code == rc, "code %d", rc);
			fuzz_check_msg(&e);
			CHECK(strncmp(e.msg, who, sizeof(who) - 1) == 0,
			      "message does not name the reducer: %s", e.msg);
			evt_buf_reset(&after);
			evt_agg_print(&a, &after);
			CHECK(after.len == before.len &&
			      memcmp(after.p, before.p, after.len) == 0,
			      "a refused answer changed the aggregate");
			continue;
		}
		check_patched(&a, answer.p, answer.len);
	}
	CHECK(got == 0, "read error");
	evt_lines_release(&in);
	evt_agg_release(&a);
	evt_buf_release(&answer);
	evt_buf_release(&tmp);
	evt_buf_release(&before);
	evt_buf_release(&after);
	close(fd);
	return 0;
}

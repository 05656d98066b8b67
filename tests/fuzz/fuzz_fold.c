/* fuzz_fold.c - records folded from stdin (evt-fold with no STREAM)
 *
 * The first byte picks the reducer and the mode; the rest is stdin for
 * evt_fold_lines: records, grouped by (stream, aggregateId).  Reducers:
 * merge, and three jq programs (one reading the event, one $agg, one $meta)
 * whose answers come back as jq's own values and are printed to text by the
 * reducer.  Checks:
 *   - a refused line is EVT_EINPUT naming "<stdin>:LINE";
 *   - every aggregate (after each event with --scan, else at the end)
 *     prints as a compact object with unique keys, ending in its
 *     "aggregateId" and "version", in order of first appearance.
 * A jq reducer is compiled once and kept while its runs succeed, as one
 * evt-fold keeps it for a whole fold: jq 1.6 takes some 50 ms to compile
 * a program (its builtins each time).  jq keeps its stack through a
 * pointer to the end of the block, which LeakSanitizer takes for a leak
 * while the jq state lives; so a new jq reducer is first run on a few
 * records with leak detection off, which allocates that stack at its
 * working size, and the reducers are freed at exit.
 */
#include <sanitizer/lsan_interface.h>
#include <unistd.h>

#include "fuzz.h"

static const char *programs[] = {
	NULL,	/* merge */
	".",
	"{n: (($agg.n // 0) + 1), last: .type, keys: (. | keys)}",
	"if .type == \"null\" then null else {at: $meta.position, "
	"v: $meta.version, ts: $meta.timestamp, e: .} end",
};
#define NP (sizeof(programs) / sizeof(programs[0]))
static struct evt_reducer *cache[NP];

static const char warm_up[] =
	"{\"stream\":\"s\",\"aggregateId\":\"a\",\"event\":{\"type\":\"x\",\"n\":1}}\n"
	"{\"stream\":\"s\",\"aggregateId\":\"a\",\"event\":{\"type\":\"null\"}}\n"
	"{\"stream\":\"t\",\"aggregateId\":\"b\",\"version\":3,\"event\":"
	"{\"type\":\"y\",\"a\":[1,{\"b\":null}],\"s\":\"\\u00e9\"}}\n";

static void free_cache(void)
{
	size_t i;

	for (i = 0; i < NP; i++) {
		evt_reducer_free(cache[i]);
		cache[i] = NULL;
	}
}

static struct evt_reducer *make(size_t which)
{
	struct evt_reducer *r;
	struct evt_fold f;
	struct evt_lines in;
	struct evt_err e;
	int fd;

	if (!programs[which])
		return evt_reducer_merge();
	__lsan_disable();
	CHECK(evt_reducer_jq(&r, programs[which], &e) == 0, "jq: %s", e.msg);
	CHECK(evt_fold_init(&f, r, NULL, &e) == 0, "init: %s", e.msg);
	fd = fuzz_fd((const uint8_t *)warm_up, sizeof(warm_up) - 1);
	evt_lines_init(&in, fd, "<warm-up>");
	CHECK(evt_fold_lines(&f, &in, &e) == 0, "warm-up: %s", e.msg);
	evt_fold_release(&f);
	evt_lines_release(&in);
	close(fd);
	__lsan_enable();
	return r;
}

static int each(void *ctx, struct evt_agg *a)
{
	struct evt_buf p = EVT_BUF_INIT;
	char tail[64];
	size_t tl;

	(void)ctx;
	evt_agg_print(a, &p);
	CHECK_NUL(&p);
	fuzz_check_compact(p.p, p.len, EVT_J_OBJECT);
	fuzz_check_unique_keys(p.p, p.len);
	tl = (size_t)snprintf(tail, sizeof(tail), ",\"version\":%lld}",
			      (long long)a->version);
	CHECK(p.len > tl && memcmp(p.p + p.len - tl, tail, tl) == 0,
	      "aggregate does not end in its version: %s", p.p);
	CHECK(strstr(p.p, "\"aggregateId\":"), "no aggregateId: %s", p.p);
	evt_buf_release(&p);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evt_fold f;
	struct evt_lines in;
	struct evt_err e;
	size_t which, i;
	int scan, fd, rc;

	if (size < 1)
		return 0;
	which = (data[0] >> 1) % NP;
	scan = data[0] & 1;
	if (!cache[which]) {
		static int once;

		if (!once++)
			atexit(free_cache);
		cache[which] = make(which);
	}
	CHECK(evt_fold_init(&f, cache[which], "{\"init\":true}", &e) == 0,
	      "init: %s", e.msg);
	if (scan)
		f.each = each;
	fd = fuzz_fd(data + 1, size - 1);
	evt_lines_init(&in, fd, "<stdin>");
	rc = evt_fold_lines(&f, &in, &e);
	if (rc) {
		CHECK(rc == EVT_EINPUT && e.code == rc, "code %d: %s", rc,
		      e.msg);
		fuzz_check_msg(&e);
		CHECK(strncmp(e.msg, "<stdin>:", 8) == 0,
		      "message does not name the line: %s", e.msg);
	} else {
		CHECK(evt_reducer_finish(f.r, &e) == 0, "finish: %s", e.msg);
		for (i = 0; i < f.naggs; i++) {
			evt_fold_sync(&f, f.aggs[i]);
			each(NULL, f.aggs[i]);
		}
	}
	evt_fold_release(&f);
	evt_lines_release(&in);
	close(fd);
	/* A jq program that failed may be left mid-run: start afresh.  (A
	 * record refused before it reached jq leaves jq as it was.) */
	if (rc && programs[which] && strstr(e.msg, ": jq ")) {
		evt_reducer_free(cache[which]);
		cache[which] = NULL;
	}
	return 0;
}

/* fuzz_command.c - command program output and BODY (evt-command)
 *
 * evt_command_events parses what a command program prints: NDJSON events
 * or one JSON array of them.  evt_command_body checks the BODY argument.
 * Checks:
 *   - refused output is EVT_EINPUT with a message naming the program;
 *   - accepted output gives n events at increasing offsets, each one
 *     accepted again unchanged by evt_event_parse; as many as the
 *     non-blank lines (NDJSON) or the array's elements;
 *   - BODY: accepted means a compact JSON object (a fixed point),
 *     refused means EVT_EUSAGE.
 */
#include "fuzz.h"

static const char who[] = "'fuzz.sh'";

/* How many events the output holds if it is valid: the elements of the
 * array, or the lines that are not blank. */
static size_t expected(const char *s, size_t len)
{
	size_t i = 0, n = 0, at = 0, klen, vlen;
	const char *key, *val;
	struct evt_buf arr = EVT_BUF_INIT;

	while (i < len && strchr(" \t\r\n", s[i]) && s[i])
		i++;
	if (i < len && s[i] == '[') {
		fuzz_compact(s, len, &arr);
		while (evt_json_next(arr.p, arr.len, &at, &key, &klen, &val,
				     &vlen))
			n++;
		evt_buf_release(&arr);
		return n;
	}
	for (i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len, j;

		for (j = i; j < end; j++)
			if (!strchr(" \t\r", s[j]) || !s[j])
				break;
		if (j < end)
			n++;
		i = end + 1;
	}
	return n;
}

static void check_events(const char *s, size_t len)
{
	struct evt_buf evs = EVT_BUF_INIT, one = EVT_BUF_INIT;
	struct evt_err e;
	size_t *ends = NULL, n = 7777, i, start = 0;
	int rc = evt_command_events(s, len, &evs, &ends, &n, who, &e);

	if (rc) {
		CHECK(rc == EVT_EINPUT && e.code == rc, "code %d", rc);
		fuzz_check_msg(&e);
		CHECK(strncmp(e.msg, who, sizeof(who) - 1) == 0,
		      "message does not name the program: %s", e.msg);
		goto out;
	}
	CHECK(n == 0 || ends, "n %zu without ends", n);
	for (i = 0; i < n; i++) {
		CHECK(ends[i] > start && ends[i] <= evs.len,
		      "event %zu ends at %zu (start %zu, %zu bytes)", i,
		      ends[i], start, evs.len);
		evt_buf_reset(&one);
		CHECK(evt_event_parse(evs.p + start, ends[i] - start, &one,
				      &e) == 0 &&
		      one.len == ends[i] - start &&
		      memcmp(one.p, evs.p + start, one.len) == 0,
		      "event %zu not valid and compact: %.*s", i,
		      (int)(ends[i] - start), evs.p + start);
		start = ends[i];
	}
	CHECK(start == evs.len, "%zu bytes of events, %zu accounted for",
	      evs.len, start);
	CHECK(n == expected(s, len), "%zu events from %zu lines or elements",
	      n, expected(s, len));
out:
	free(ends);
	evt_buf_release(&evs);
	evt_buf_release(&one);
}

static void check_body(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct evt_buf out = EVT_BUF_INIT;
	struct evt_err e;
	int rc = evt_command_body(s, &out, &e);

	if (rc) {
		CHECK(rc == EVT_EUSAGE && e.code == rc, "code %d", rc);
		fuzz_check_msg(&e);
	} else {
		CHECK_NUL(&out);
		fuzz_check_compact(out.p, out.len, EVT_J_OBJECT);
	}
	evt_buf_release(&out);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_events((const char *)data, size);
	check_body(data, size);
	return 0;
}

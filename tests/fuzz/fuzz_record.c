/* fuzz_record.c - records for --records (evt_record_parse), read as NDJSON
 *
 * The input is a whole stdin: evt_lines splits it (any line length, \r\n,
 * a last line without \n) and one parser, reused as evt-append --records
 * and evt-fold's stdin mode reuse it, parses each line.  Checks:
 *   - a refused line is EVT_EINPUT with a message;
 *   - an accepted record has a valid stream and id (1..255 bytes of UTF-8,
 *     no NUL), an event evt_event_parse accepts unchanged, a version >= 0
 *     and a timestamp that is ISO-8601;
 *   - printed back as evt-read prints it (evt_record_print), the line is
 *     compact JSON and parses to the same record: the evt-read |
 *     evt-append --records round trip;
 *   - evt_ts_normalize of the timestamp is stable.
 */
#include <unistd.h>

#include "fuzz.h"

static void same(const char *what, const char *a, size_t an, const char *b,
		 size_t bn)
{
	CHECK(an == bn && (an == 0 || memcmp(a, b, an) == 0),
	      "%s differs after a round trip: %.*s vs %.*s", what, (int)an, a,
	      (int)bn, b);
}

static void check_record(const struct evt_record *r, int64_t pos)
{
	struct evt_record_parser p2;
	struct evt_record r2;
	struct evt_record out;
	struct evt_buf line = EVT_BUF_INIT, ev = EVT_BUF_INIT;
	struct evt_err e;
	char tmp[EVT_TS_LEN + 1];
	size_t tl;

	CHECK(!evt_name_check(r->stream, r->stream_len), "stream accepted: %s",
	      evt_name_check(r->stream, r->stream_len));
	CHECK(!evt_name_check(r->id, r->id_len), "id accepted: %s",
	      evt_name_check(r->id, r->id_len));
	CHECK(evt_event_parse(r->event, r->event_len, &ev, &e) == 0 &&
	      ev.len == r->event_len && memcmp(ev.p, r->event, ev.len) == 0,
	      "event accepted but not valid and compact: %.*s",
	      (int)r->event_len, r->event);
	CHECK(r->version >= 0, "version %lld", (long long)r->version);
	if (r->ts) {
		const char *t;

		CHECK(evt_ts_valid(r->ts, r->ts_len), "timestamp %.*s",
		      (int)r->ts_len, r->ts);
		t = evt_ts_normalize(r->ts, r->ts_len, tmp, &tl);
		CHECK(tl > 0, "empty normalized timestamp");
		(void)t;
	}

	memset(&out, 0, sizeof(out));
	out.position = pos;
	out.stream = r->stream;
	out.stream_len = r->stream_len;
	out.id = r->id;
	out.id_len = r->id_len;
	out.version = r->version ? r->version : 1;
	out.ts = r->ts;
	out.ts_len = r->ts_len;
	out.event = r->event;
	out.event_len = r->event_len;
	evt_record_print(&line, &out);
	CHECK_NUL(&line);
	CHECK(line.len > 1 && line.p[line.len - 1] == '\n',
	      "printed record does not end in a newline");
	fuzz_check_compact(line.p, line.len - 1, EVT_J_OBJECT);

	memset(&p2, 0, sizeof(p2));
	CHECK(evt_record_parse(&p2, line.p, line.len - 1, &r2, &e) == 0,
	      "printed record refused: %s: %s", e.msg, line.p);
	same("stream", r->stream, r->stream_len, r2.stream, r2.stream_len);
	same("id", r->id, r->id_len, r2.id, r2.id_len);
	same("event", r->event, r->event_len, r2.event, r2.event_len);
	CHECK(r2.version == out.version, "version %lld, printed %lld",
	      (long long)r2.version, (long long)out.version);
	CHECK(!r->ts == !r2.ts, "timestamp lost or made up");
	if (r->ts)
		same("timestamp", r->ts, r->ts_len, r2.ts, r2.ts_len);
	evt_record_parser_release(&p2);
	evt_buf_release(&line);
	evt_buf_release(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evt_record_parser p;
	struct evt_record r;
	struct evt_lines in;
	struct evt_err e;
	const char *line;
	size_t n, bytes = 0;
	int fd = fuzz_fd(data, size), got;

	memset(&p, 0, sizeof(p));
	evt_lines_init(&in, fd, "<stdin>");
	while ((got = evt_lines_next(&in, &line, &n)) > 0) {
		CHECK(n <= size, "line longer than the input");
		bytes += n;
		if (evt_record_parse(&p, line, n, &r, &e)) {
			CHECK(e.code == EVT_EINPUT, "code %d", e.code);
			fuzz_check_msg(&e);
			continue;
		}
		check_record(&r, (int64_t)in.lineno);
	}
	CHECK(got == 0, "read error");
	CHECK(bytes <= size, "lines longer than the input");
	evt_lines_release(&in);
	evt_record_parser_release(&p);
	close(fd);
	return 0;
}

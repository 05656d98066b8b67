/* record.h - the stored event record and its NDJSON line */
#ifndef EVT_RECORD_H
#define EVT_RECORD_H

#include <stdint.h>
#include "util.h"

/* A record as it is printed.  The strings are borrowed, not owned: they
 * point into a database row or an input line and live as long as it. */
struct evt_record {
	int64_t position;
	const char *stream;
	size_t stream_len;
	const char *id;
	size_t id_len;
	int64_t version;
	const char *ts;		/* ISO-8601 text; NULL prints null */
	size_t ts_len;
	const char *event;	/* compact JSON text of the event object */
	size_t event_len;
};

#define EVT_NAME_MAX 255
#define EVT_TS_LEN 24		/* 2026-11-26T11:39:47.123Z */

/* A new event of stream and id to append: the next version, now. */
static inline struct evt_record evt_record_of(const char *stream, size_t slen,
					      const char *id, size_t idlen,
					      const char *event, size_t elen)
{
	struct evt_record r = { 0, stream, slen, id, idlen, 0, NULL, 0,
				event, elen };

	return r;
}

/* Append r as one compact JSON line with its "\n". */
void evt_record_print(struct evt_buf *b, const struct evt_record *r);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t evt_days_from_civil(int y, int m, int d);

/* Milliseconds since the epoch as ISO-8601 UTC; out gets EVT_TS_LEN + 1. */
void evt_ts_format(int64_t ms, char *out);

/* A timestamp as a store may hold it, normalized to ISO-8601 UTC with
 * milliseconds: text made only of digits (with an optional '-') is taken as
 * milliseconds (evtstore's SQLite providers write those), a time that
 * evt_ts_parse takes, or SQLite's "YYYY-MM-DD HH:MM:SS" (UTC), is given in
 * UTC; other text is kept.  Returns the text
 * to print, which may be tmp (EVT_TS_LEN + 1 bytes). */
const char *evt_ts_normalize(const char *s, size_t n, char *tmp, size_t *len);

/* An ISO-8601 date-time with a zone, each field in range:
 * YYYY-MM-DDTHH:MM[:SS[.f...]] then Z, +HH, +HH:MM or +HHMM (or -), between
 * the years 1 and 9999 in UTC.  Sets *ms to milliseconds since the epoch
 * (finer digits cut off) and returns NULL, or returns what is wrong. */
const char *evt_ts_parse(const char *s, size_t n, int64_t *ms);
/* evt_ts_parse takes s[0..n). */
int evt_ts_valid(const char *s, size_t n);

/* Check a stream name or aggregate id: 1..255 bytes of UTF-8.  Returns NULL
 * or what is wrong with it. */
const char *evt_name_check(const char *s, size_t n);
/* The same for a stream name evt writes: no ',' in it either (SPEC.md
 * section 3; names with ',' written by others are still read). */
const char *evt_stream_check(const char *s, size_t n);

/* Check one event line and append its compact form to out.  Returns 0, or
 * EVT_EINPUT with the reason (place not included) in e. */
int evt_event_parse(const char *s, size_t n, struct evt_buf *out,
		    struct evt_err *e);

/* A record line (as evt-read prints them) parsed for --records into a
 * struct evt_record whose strings point into the parser's buffers:
 * position 0 (the line's "position" is not read), version 0 when the
 * line gives none, ts NULL when it gives none. */
struct evt_record_parser {
	struct evt_buf line, stream, id, event, ts;
	char tsfmt[EVT_TS_LEN + 1];
	int any_stream;		/* take a stream name with ',' (records read,
				   not to be written) */
};
int evt_record_parse(struct evt_record_parser *p, const char *s, size_t n,
		     struct evt_record *r, struct evt_err *e);
void evt_record_parser_release(struct evt_record_parser *p);

#endif

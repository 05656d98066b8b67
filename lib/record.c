/* record.c - the stored event record and its NDJSON line */
#include <string.h>

#include "json.h"
#include "record.h"

/* Is s[0..n) printable inside quotes as it is? */
static int plain(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	for (; p < e; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

static void put_str(struct evt_buf *b, const char *s, size_t n)
{
	if (plain(s, n)) {
		evt_buf_grow(b, n + 2);
		b->p[b->len++] = '"';
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len++] = '"';
		return;
	}
	evt_json_quote(b, s, n);
	evt_buf_grow(b, 64);
}

static void put_lit(struct evt_buf *b, const char *s, size_t n)
{
	evt_buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void evt_record_print(struct evt_buf *b, const struct evt_record *r)
{
	/* Room for the fixed parts; put_str grows for escaped strings. */
	evt_buf_grow(b, r->stream_len + r->id_len + r->ts_len +
			     r->event_len + 160);
	put_lit(b, "{\"position\":", 12);
	evt_buf_addi64(b, r->position);
	put_lit(b, ",\"stream\":", 10);
	put_str(b, r->stream, r->stream_len);
	put_lit(b, ",\"aggregateId\":", 15);
	put_str(b, r->id, r->id_len);
	put_lit(b, ",\"version\":", 11);
	evt_buf_addi64(b, r->version);
	put_lit(b, ",\"timestamp\":", 13);
	if (r->ts)
		put_str(b, r->ts, r->ts_len);
	else
		put_lit(b, "null", 4);
	put_lit(b, ",\"event\":", 9);
	evt_buf_grow(b, r->event_len + 3);
	if (r->event_len)
		put_lit(b, r->event, r->event_len);
	else
		put_lit(b, "null", 4);
	put_lit(b, "}\n", 2);
	b->p[b->len] = '\0';
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void evt_ts_format(int64_t ms, char *out)
{
	int64_t days, s;
	unsigned rem, mo, d;
	int y;

	days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	s = ms - days * 86400000;	/* 0 .. 86399999 */
	civil(days, &y, &mo, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999;
	put2(out, (unsigned)y / 100);
	put2(out + 2, (unsigned)y % 100);
	out[4] = '-';
	put2(out + 5, mo);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	rem = (unsigned)(s / 1000);
	put2(out + 11, rem / 3600);
	out[13] = ':';
	put2(out + 14, rem / 60 % 60);
	out[16] = ':';
	put2(out + 17, rem % 60);
	out[19] = '.';
	rem = (unsigned)(s % 1000);
	out[20] = (char)('0' + rem / 100);
	put2(out + 21, rem % 100);
	out[23] = 'Z';
	out[24] = '\0';
}

/* Is s[0..n) in the form evt writes, digits and all?  Such text is
 * printed as it is: valid, it is its own normal form; invalid, it is kept
 * anyway. */
static int evt_form(const char *s, size_t n)
{
	static const char form[] = "0000-00-00T00:00:00.000Z";
	size_t i;

	if (n != EVT_TS_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (form[i] == '0' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return 0;
	return 1;
}

/* SQLite's own form of a time, "YYYY-MM-DD HH:MM:SS[.SSS]", UTC (that of
 * CURRENT_TIMESTAMP and datetime()): 1 with *ms, or 0 when s is not. */
static int sqlite_utc(const char *s, size_t n, int64_t *ms)
{
	char t[32];

	if (n < 16 || n > 29 || s[10] != ' ')
		return 0;
	memcpy(t, s, n);
	t[10] = 'T';
	t[n] = 'Z';
	return evt_ts_parse(t, n + 1, ms) == NULL;
}

const char *evt_ts_normalize(const char *s, size_t n, char *tmp, size_t *len)
{
	size_t i = (n && s[0] == '-') ? 1 : 0;
	int number = i < n && n - i <= 15;
	int64_t v = 0;

	for (; number && i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			number = 0;
		else
			v = v * 10 + (s[i] - '0');
	}
	if (number) {
		v = s[0] == '-' ? -v : v;
	} else if (evt_form(s, n) || evt_ts_parse(s, n, &v)) {
		if (!sqlite_utc(s, n, &v)) {
			*len = n;
			return s;
		}
	}
	evt_ts_format(v, tmp);
	*len = EVT_TS_LEN;
	return tmp;
}

const char *evt_name_check(const char *s, size_t n)
{
	if (n == 0)
		return "is empty";
	if (n > EVT_NAME_MAX)
		return "is longer than 255 bytes";
	if (!evt_utf8_valid(s, n))
		return "is not valid UTF-8";
	if (memchr(s, '\0', n))
		return "contains a NUL byte";
	return NULL;
}

/* The number of k digits at s[*i], moved past; -1 if they are not
 * there. */
const char *evt_stream_check(const char *s, size_t n)
{
	const char *why = evt_name_check(s, n);

	if (!why && memchr(s, ',', n))
		why = "contains ',' (it separates STREAM lists)";
	return why;
}

static int digits(const char *s, size_t n, size_t *i, size_t k)
{
	size_t j;
	int v = 0;

	for (j = 0; j < k; j++) {
		if (*i + j >= n || s[*i + j] < '0' || s[*i + j] > '9')
			return -1;
		v = v * 10 + (s[*i + j] - '0');
	}
	*i += k;
	return v;
}

static int leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int64_t evt_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define TS_MIN (-62135596800000LL)
#define TS_MAX 253402300799999LL

const char *evt_ts_parse(const char *s, size_t n, int64_t *ms)
{
	static const char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				      30, 31 };
	const char *form = "is not YYYY-MM-DDTHH:MM[:SS[.sss]] with Z or an "
			   "offset";
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0, sign = 0;
	size_t i = 0, k;
	int64_t v;

	if ((y = digits(s, n, &i, 4)) < 0 || i >= n || s[i++] != '-' ||
	    (mo = digits(s, n, &i, 2)) < 0 || i >= n || s[i++] != '-' ||
	    (d = digits(s, n, &i, 2)) < 0 || i >= n || s[i++] != 'T' ||
	    (h = digits(s, n, &i, 2)) < 0 || i >= n || s[i++] != ':' ||
	    (mi = digits(s, n, &i, 2)) < 0)
		return form;
	if (i < n && s[i] == ':') {
		i++;
		if ((sec = digits(s, n, &i, 2)) < 0)
			return form;
		if (i < n && s[i] == '.') {
			i++;
			for (k = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				if (k++ < 3)
					frac = frac * 10 + (s[i] - '0');
			if (k == 0)
				return form;
			for (; k < 3; k++)
				frac *= 10;
		}
	}
	if (i == n)
		return "has no zone: add Z or an offset such as +02:00";
	if (s[i] == 'Z') {
		if (++i != n)
			return form;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i++] == '-' ? -1 : 1;
		if ((oh = digits(s, n, &i, 2)) < 0)
			return form;
		if (i < n) {
			if (s[i] == ':')
				i++;
			if ((om = digits(s, n, &i, 2)) < 0 || i != n)
				return form;
		}
	} else {
		return form;
	}
	if (mo < 1 || mo > 12)
		return "month out of range";
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return "day out of range";
	if (h > 23)
		return "hour out of range";
	if (mi > 59)
		return "minute out of range";
	if (sec > 59)
		return "second out of range";
	if (oh > 23 || om > 59)
		return "offset out of range";
	v = evt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	v = v * 1000 + frac;
	if (v < TS_MIN || v > TS_MAX)
		return "is not between the years 1 and 9999 in UTC";
	*ms = v;
	return NULL;
}

int evt_ts_valid(const char *s, size_t n)
{
	int64_t ms;

	return evt_ts_parse(s, n, &ms) == NULL;
}

int evt_event_parse(const char *s, size_t n, struct evt_buf *out,
		    struct evt_err *e)
{
	struct evt_jfield f = { "type", EVT_J_NONE, 0, 0 };
	size_t base = out->len, col;
	const char *why;
	enum evt_jkind k;

	k = evt_json_compact(s, n, out, &f, 1, &why, &col);
	if (k == EVT_J_NONE)
		return evt_errf(e, EVT_EINPUT, "invalid JSON at column %zu: %s",
				col, why);
	if (k != EVT_J_OBJECT) {
		out->len = base;
		out->p[base] = '\0';
		return evt_errf(e, EVT_EINPUT, "event is not a JSON object");
	}
	if (f.kind != EVT_J_STRING) {
		out->len = base;
		out->p[base] = '\0';
		return evt_errf(e, EVT_EINPUT, "event has no string \"type\"");
	}
	if (f.len == 2) {
		out->len = base;
		out->p[base] = '\0';
		return evt_errf(e, EVT_EINPUT, "event has an empty \"type\"");
	}
	return 0;
}

/* A string member as UTF-8, into b; NULL or what is wrong, as check
 * says. */
static const char *member_str(const char *tok, size_t len, struct evt_buf *b,
			      const char *(*check)(const char *, size_t))
{
	if (memchr(tok, '\\', len)) {
		if (evt_json_unquote(tok, len, b) < 0)
			return "is not valid UTF-8";
	} else {
		evt_buf_reset(b);
		evt_buf_add(b, tok + 1, len - 2);
	}
	return check(b->p, b->len);
}

enum { F_STREAM, F_ID, F_EVENT, F_VERSION, F_TS, F_N };

/* A JSON number token of at most 23 bytes as an integer in [min, max]. */
static int number_in(const char *tok, size_t len, int64_t min, int64_t max,
		     int64_t *v)
{
	char num[24];

	if (len >= sizeof(num))
		return -1;
	memcpy(num, tok, len);
	num[len] = '\0';
	return evt_parse_i64(num, min, max, v);
}

/* "version": absent or null (0), or a positive integer. */
static int record_version(const struct evt_record_parser *p,
			  const struct evt_jfield *f, int64_t *version,
			  struct evt_err *e)
{
	const char *tok = p->line.p + f->off;

	*version = 0;
	if (f->kind == EVT_J_NONE || f->kind == EVT_J_NULL)
		return 0;
	if (f->kind != EVT_J_NUMBER || !memchr("123456789", tok[0], 9) ||
	    number_in(tok, f->len, 1, INT64_MAX, version) < 0)
		return evt_errf(e, EVT_EINPUT,
				"record \"version\" is not a positive integer");
	return 0;
}

/* "timestamp": absent or null (now), a time (evt_ts_parse) or milliseconds
 * since the epoch; stored as evt writes it, whatever the backend. */
static int record_ts(struct evt_record_parser *p, const struct evt_jfield *f,
		     struct evt_record *r, struct evt_err *e)
{
	const char *tok = p->line.p + f->off, *why = NULL;
	int64_t ms = 0;

	r->ts = NULL;
	r->ts_len = 0;
	if (f->kind == EVT_J_NONE || f->kind == EVT_J_NULL)
		return 0;
	if (f->kind == EVT_J_NUMBER) {
		if (number_in(tok, f->len, 0, 253402300799999LL, &ms) < 0)
			why = "";
	} else if (f->kind != EVT_J_STRING) {
		why = "";
	} else if (evt_json_unquote(tok, f->len, &p->ts) < 0) {
		why = "is not a time";
	} else {
		why = evt_ts_parse(p->ts.p, p->ts.len, &ms);
	}
	if (why && !*why)
		return evt_errf(e, EVT_EINPUT,
				"record \"timestamp\" is not a time");
	if (why && f->len > 48) {
		size_t cut = 40;

		while (cut > 1 && (tok[cut] & 0xC0) == 0x80)
			cut--;	/* not in the middle of a character */
		return evt_errf(e, EVT_EINPUT, "record \"timestamp\" "
				"%.*s...\": %s", (int)cut, tok, why);
	}
	if (why)
		return evt_errf(e, EVT_EINPUT, "record \"timestamp\" %.*s: %s",
				(int)f->len, tok, why);
	evt_ts_format(ms, p->tsfmt);
	r->ts = p->tsfmt;
	r->ts_len = EVT_TS_LEN;
	return 0;
}

int evt_record_parse(struct evt_record_parser *p, const char *s, size_t n,
		     struct evt_record *r, struct evt_err *e)
{
	struct evt_jfield f[F_N] = {
		{ "stream", 0, 0, 0 }, { "aggregateId", 0, 0, 0 },
		{ "event", 0, 0, 0 }, { "version", 0, 0, 0 },
		{ "timestamp", 0, 0, 0 }
	};
	const char *why;
	size_t col;
	enum evt_jkind k;
	int rc;

	evt_buf_reset(&p->line);
	k = evt_json_compact(s, n, &p->line, f, F_N, &why, &col);
	if (k == EVT_J_NONE)
		return evt_errf(e, EVT_EINPUT, "invalid JSON at column %zu: %s",
				col, why);
	if (k != EVT_J_OBJECT)
		return evt_errf(e, EVT_EINPUT, "record is not a JSON object");
	if (f[F_STREAM].kind != EVT_J_STRING)
		return evt_errf(e, EVT_EINPUT, "record has no string \"stream\"");
	if (f[F_ID].kind != EVT_J_STRING)
		return evt_errf(e, EVT_EINPUT,
				"record has no string \"aggregateId\"");
	if (f[F_EVENT].kind != EVT_J_OBJECT)
		return evt_errf(e, EVT_EINPUT, "record has no \"event\" object");
	if ((why = member_str(p->line.p + f[F_STREAM].off, f[F_STREAM].len,
			      &p->stream, p->any_stream ? evt_name_check :
							  evt_stream_check)))
		return evt_errf(e, EVT_EINPUT, "stream %s", why);
	if ((why = member_str(p->line.p + f[F_ID].off, f[F_ID].len, &p->id,
			      evt_name_check)))
		return evt_errf(e, EVT_EINPUT, "aggregate id %s", why);
	evt_buf_reset(&p->event);
	if ((rc = evt_event_parse(p->line.p + f[F_EVENT].off, f[F_EVENT].len,
				  &p->event, e)) ||
	    (rc = record_version(p, &f[F_VERSION], &r->version, e)) ||
	    (rc = record_ts(p, &f[F_TS], r, e)))
		return rc;
	r->position = 0;
	r->stream = p->stream.p;
	r->stream_len = p->stream.len;
	r->id = p->id.p;
	r->id_len = p->id.len;
	r->event = p->event.p;
	r->event_len = p->event.len;
	return 0;
}

void evt_record_parser_release(struct evt_record_parser *p)
{
	evt_buf_release(&p->line);
	evt_buf_release(&p->stream);
	evt_buf_release(&p->id);
	evt_buf_release(&p->event);
	evt_buf_release(&p->ts);
}

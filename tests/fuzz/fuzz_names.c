/* fuzz_names.c - URLs, table names, stream lists, numbers, timestamps
 *
 * The arguments every program takes from the user, each checked against a
 * reference written here from SPEC.md alone.  The input is split at '\n'
 * into: URL, events table, bookmarks table, STREAM[,STREAM...], a number
 * (as -e, --after, -n take them) and a timestamp (as records give them).
 * Checks:
 *   - evt_table_name_check: [A-Za-z_][A-Za-z0-9_]* of at most 63 bytes a
 *     part, "schema.name" only for PostgreSQL;
 *   - evt_store_open (backends stubbed out in common.c: nothing is ever
 *     opened): a URL of another scheme, sqlite://HOST, an empty path, a
 *     path with '?' (URI parameters) or a SQLite file: URI is EVT_EUSAGE;
 *     then a bad table name is EVT_EUSAGE with the message of the spec;
 *     otherwise postgres:// and postgresql:// choose PostgreSQL, mysql://
 *     and mariadb:// MariaDB and the rest SQLite,
 *     with the file of sqlite:PATH, sqlite:///RELATIVE,
 *     sqlite:////ABSOLUTE or the path;
 *   - evt_split_streams: the parts between commas, each 1..255 bytes of
 *     UTF-8 without NUL, else the part at fault;
 *   - evt_parse_i64: exactly -?[0-9]+ in range;
 *   - evt_ts_parse, evt_ts_valid: an ISO-8601 date-time with Z or an
 *     offset, every field in range (leap years, 00-23 hours, no leap
 *     second), years 1-9999 in UTC, checked by the C library's timegm;
 *     evt_ts_normalize: digits become an ISO time evt_ts_valid accepts, a
 *     time it accepts becomes its UTC form with milliseconds (finer digits
 *     cut off), the rest is kept.  Milliseconds in the years 1-9999 come
 *     back from the time they become.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <time.h>

#include "fuzz.h"
#include "store_impl.h"

extern const struct evt_backend *fuzz_chosen;
extern char fuzz_path[4096];

static int ref_table(const char *s, int dotted)
{
	size_t part = 0;
	int parts = 1;

	for (; *s; s++) {
		int alpha = (*s >= 'A' && *s <= 'Z') ||
			    (*s >= 'a' && *s <= 'z') || *s == '_';
		int digit = *s >= '0' && *s <= '9';

		if (*s == '.' && dotted && parts == 1 && part > 0) {
			parts++;
			part = 0;
			continue;
		}
		if (!(alpha || (digit && part > 0)))
			return 0;
		if (++part > 63)
			return 0;
	}
	return part > 0;
}

/* UTF-8 by decoding code points: shortest form, no surrogates, at most
 * U+10FFFF. */
static int ref_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned long cp;
		size_t k, j;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0) {
			k = 2;
			cp = s[i] & 0x1F;
		} else if ((s[i] & 0xF0) == 0xE0) {
			k = 3;
			cp = s[i] & 0x0F;
		} else if ((s[i] & 0xF8) == 0xF0) {
			k = 4;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (i + k > n)
			return 0;
		for (j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
		    (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k;
	}
	return 1;
}

static int ref_name(const char *s, size_t n)
{
	return n >= 1 && n <= 255 && !memchr(s, '\0', n) &&
	       ref_utf8((const unsigned char *)s, n);
}

static void check_table(const char *name)
{
	int d;

	for (d = 0; d < 2; d++) {
		const char *why = evt_table_name_check(name, d);

		CHECK((why == NULL) == ref_table(name, d), "table '%s' (dotted %d): %s",
		      name, d, why ? why : "accepted");
	}
}

/* The store a URL names, by SPEC.md section 2: 'p' PostgreSQL, 'm'
 * MariaDB/MySQL, 's' SQLite with its file in *path, 'u' a usage error. */
static int ref_url(const char *url, const char **path)
{
	const char *p = url;

	*path = url;
	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
		return 'p';
	if (!strncmp(url, "mysql://", 8) || !strncmp(url, "mariadb://", 10))
		return 'm';
	if (!strncmp(url, "sqlite:", 7)) {
		*path = url + 7;
		if (!strncmp(*path, "///", 3))
			*path += 3;
		else if (!strncmp(*path, "//", 2))
			return 'u';		/* sqlite://HOST */
	} else {
		if (isalpha((unsigned char)*p))
			while (isalnum((unsigned char)*p) || *p == '+' ||
			       *p == '-' || *p == '.')
				p++;
		if (p > url && !strncmp(p, "://", 3))
			return 'u';		/* another SCHEME:// */
		if (strchr(url, '?'))
			return 'u';		/* no URI parameters */
	}
	/* empty, or a SQLite URI */
	return !**path || !strncmp(*path, "file:", 5) ? 'u' : 's';
}

static void check_open(const char *url, const char *ev, const char *bm)
{
	struct evt_store_opts o = { .url = url, .events_table = ev,
				    .bookmarks_table = bm };
	struct evt_store *st = (struct evt_store *)&o;
	struct evt_err e;
	char msg[sizeof(e.msg)];
	const char *path;
	int kind = ref_url(url, &path), pg = kind == 'p';
	int rc;

	fuzz_chosen = NULL;
	rc = evt_store_open(&st, &o, &e);
	CHECK(st == NULL, "a store after a failed open");
	CHECK(rc == e.code, "code %d, message code %d", rc, e.code);
	if (kind == 'u') {
		CHECK(rc == EVT_EUSAGE && !fuzz_chosen, "URL '%s' taken: %d %s",
		      url, rc, e.msg);
		return;
	}
	CHECK(rc != EVT_EUSAGE || strncmp(e.msg, "invalid events", 14) == 0 ||
	      strncmp(e.msg, "invalid bookmarks", 17) == 0,
	      "URL '%s' refused: %s", url, e.msg);
	if (!ref_table(ev, pg)) {
		CHECK(rc == EVT_EUSAGE && !fuzz_chosen, "events table '%s' "
		      "(pg %d): code %d: %s", ev, pg, rc, e.msg);
		snprintf(msg, sizeof(msg), "invalid events table '%s': %s", ev,
			 evt_table_name_check(ev, pg));
		CHECK(strcmp(msg, e.msg) == 0, "message %s", e.msg);
		return;
	}
	if (!ref_table(bm, pg)) {
		CHECK(rc == EVT_EUSAGE && !fuzz_chosen, "bookmarks table '%s' "
		      "(pg %d): code %d: %s", bm, pg, rc, e.msg);
		snprintf(msg, sizeof(msg), "invalid bookmarks table '%s': %s",
			 bm, evt_table_name_check(bm, pg));
		CHECK(strcmp(msg, e.msg) == 0, "message %s", e.msg);
		return;
	}
	CHECK(rc == EVT_EFAIL && fuzz_chosen, "not opened: %d %s", rc, e.msg);
	CHECK(fuzz_chosen == (pg ? &evt_pg_backend : kind == 'm' ?
			      &evt_my_backend : &evt_sqlite_backend),
	      "URL '%s' chose %s", url, fuzz_chosen->name);
	CHECK(strcmp(fuzz_path, path) == 0 ||
	      strlen(url) >= sizeof(fuzz_path) - 8,
	      "URL '%s' gave the path '%s'", url, fuzz_path);
}

static void check_streams(const char *arg)
{
	char **list = NULL;
	size_t n = 0, i, k = 0;
	const char *bad = NULL, *why = evt_split_streams(arg, &list, &n, &bad);
	const char *p = arg;

	/* The parts up to the first bad one, as the reference splits. */
	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		CHECK(k < n, "part %zu of '%s' missing", k, arg);
		CHECK(strlen(list[k]) == len && memcmp(list[k], p, len) == 0,
		      "part %zu of '%s' is '%s'", k, arg, list[k]);
		if (!ref_name(p, len)) {
			CHECK(why && bad == list[k], "bad part '%.*s' of '%s' "
			      "accepted", (int)len, p, arg);
			CHECK(k + 1 == n, "parts after the bad one");
			break;
		}
		k++;
		if (!c) {
			CHECK(!why && k == n, "'%s' refused: %s", arg, why);
			break;
		}
		p = c + 1;
	}
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void check_number(const char *s)
{
	static const int64_t lim[][2] = {
		{ INT64_MIN, INT64_MAX }, { 0, INT64_MAX }, { 1, 100 },
	};
	const char *p = s + (*s == '-');
	int well = *p != '\0';
	size_t i;

	for (; *p; p++)
		if (*p < '0' || *p > '9')
			well = 0;
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		int64_t v = 12345;
		int r = evt_parse_i64(s, lim[i][0], lim[i][1], &v);
		int expect = 0;

		if (well) {
			long long ref;

			errno = 0;
			ref = strtoll(s, NULL, 10);
			expect = errno == 0 && ref >= lim[i][0] &&
				 ref <= lim[i][1];
			if (expect)
				CHECK(r == 0 && v == ref, "'%s' is %lld, not "
				      "%lld", s, (long long)v, ref);
		}
		CHECK((r == 0) == expect, "'%s' in [%lld, %lld]: %s", s,
		      (long long)lim[i][0], (long long)lim[i][1],
		      r == 0 ? "accepted" : "refused");
		if (r)
			CHECK(v == 12345, "refused but stored");
	}
}

/* The reference of a timestamp: NULL for text the spec refuses, else its
 * normal form in out (EVT_TS_LEN + 1 bytes), by the C library's timegm and
 * gmtime_r. */
static const char *ref_ts(const char *s, char *out)
{
	static regex_t re;
	static int ready;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
	long long ms, frac = 0;
	const char *p, *z;
	struct tm tm, back;
	time_t t;

	if (!ready) {
		CHECK(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
			      "T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?"
			      "(Z|[+-][0-9]{2}(:?[0-9]{2})?)$",
			      REG_EXTENDED | REG_NOSUB) == 0, "regcomp");
		ready = 1;
	}
	if (regexec(&re, s, 0, NULL, 0) != 0)
		return NULL;
	sscanf(s, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi);
	p = s + 16;
	if (*p == ':') {
		sec = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == '.') {
			int k;

			for (k = 0, p++; *p >= '0' && *p <= '9'; p++, k++)
				if (k < 3)
					frac = frac * 10 + (*p - '0');
			for (; k < 3; k++)
				frac *= 10;
		}
	}
	z = p;
	if (*z != 'Z') {
		oh = (z[1] - '0') * 10 + (z[2] - '0');
		if (z[3] == ':')
			om = (z[4] - '0') * 10 + (z[5] - '0');
		else if (z[3])
			om = (z[3] - '0') * 10 + (z[4] - '0');
		if (oh > 23 || om > 59)
			return NULL;
	}
	if (h > 23 || mi > 59 || sec > 59)
		return NULL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* a day or month out of range comes back as another date */
	if (!gmtime_r(&t, &back) || back.tm_year != y - 1900 ||
	    back.tm_mon != mo - 1 || back.tm_mday != d)
		return NULL;
	if (*z != 'Z')
		t -= (z[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	ms = (long long)t * 1000 + frac;
	if (ms < -62135596800000LL || ms > 253402300799999LL)
		return NULL;
	gmtime_r(&t, &back);
	snprintf(out, EVT_TS_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ",
		 back.tm_year + 1900, back.tm_mon + 1, back.tm_mday,
		 back.tm_hour, back.tm_min, back.tm_sec, frac);
	return out;
}

static void check_ts(const char *in, size_t n)
{
	char *s = fuzz_strndup((const uint8_t *)in, n);
	char tmp[EVT_TS_LEN + 1], ref[EVT_TS_LEN + 1];
	const char *t, *norm = NULL;
	size_t tl, i = (n && s[0] == '-');
	int digits = i < n && n - i <= 15;
	int64_t ms = -1;

	if (!memchr(s, '\0', n)) {
		norm = ref_ts(s, ref);
		CHECK(evt_ts_valid(s, n) == (norm != NULL), "timestamp '%s': %d",
		      s, evt_ts_valid(s, n));
		CHECK((evt_ts_parse(s, n, &ms) == NULL) == (norm != NULL),
		      "timestamp '%s' parsed", s);
	}
	for (; i < n && digits; i++)
		if (s[i] < '0' || s[i] > '9')
			digits = 0;
	t = evt_ts_normalize(s, n, tmp, &tl);
	if (digits) {
		long long v = strtoll(s, NULL, 10);

		CHECK(t == tmp && tl == EVT_TS_LEN && strlen(t) == EVT_TS_LEN &&
		      t[10] == 'T' && t[19] == '.' && t[23] == 'Z',
		      "'%s' normalized to '%.*s'", s, (int)tl, t);
		/* in years 1-9999, it is the time it counts */
		if (v >= -62135596800000LL && v <= 253402300799999LL)
			CHECK(evt_ts_parse(t, tl, &ms) == NULL && ms == v,
			      "'%s' normalized to '%s'", s, t);
	} else if (norm) {
		CHECK(tl == EVT_TS_LEN && memcmp(t, norm, tl) == 0,
		      "'%s' normalized to '%.*s', not '%s'", s, (int)tl, t,
		      norm);
		evt_ts_format(ms, tmp);
		CHECK(strcmp(tmp, norm) == 0, "'%s' is %lld ms, '%s'", s,
		      (long long)ms, tmp);
	} else {
		/* SQLite's "YYYY-MM-DD HH:MM[:SS[.s]]" is UTC: as the same
		 * with 'T' and 'Z'; any other text is kept */
		char iso[40];
		const char *norm2 = NULL;

		if (n >= 16 && n <= 29 && s[10] == ' ' &&
		    !memchr(s, '\0', n)) {
			memcpy(iso, s, n);
			iso[10] = 'T';
			iso[n] = 'Z';
			iso[n + 1] = '\0';
			norm2 = ref_ts(iso, ref);
		}
		if (norm2)
			CHECK(tl == EVT_TS_LEN && memcmp(t, norm2, tl) == 0,
			      "'%s' normalized to '%.*s', not '%s'", s,
			      (int)tl, t, norm2);
		else
			CHECK(t == s && tl == n, "'%s' changed", s);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), *part[6] = { "", "", "", "", "",
							 "" };
	char *p = s;
	size_t k = 0;

	/* Split at '\n'; the last part keeps the rest. */
	while (k < 6) {
		char *nl = strchr(p, '\n');

		part[k++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	check_table(part[1]);
	check_table(part[2]);
	check_open(part[0], part[1], part[2]);
	check_streams(part[3]);
	check_number(part[4]);
	check_ts(part[5], strlen(part[5]));
	/* The whole input, NULs and all, as a stream name and timestamp. */
	CHECK((evt_name_check((const char *)data, size) == NULL) ==
	      ref_name((const char *)data, size), "name check of the input");
	check_ts((const char *)data, size);
	free(s);
	return 0;
}

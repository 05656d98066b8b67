/* fuzz_json.c - evt_json_compact, evt_json_next, evt_json_unquote/quote
 *
 * The verbatim JSON scanner every input line goes through.  Checks:
 *   - rejected input leaves the output buffer as it was, with a reason and
 *     a column inside the input (or just past it);
 *   - accepted input compacts to valid UTF-8 no longer than the input, and
 *     compact(compact(x)) == compact(x), of the same kind;
 *   - evt_json_next walks every container back to the same text, member
 *     by member, at every depth;
 *   - the fields found are the last member of that (decoded) name;
 *   - evt_json_unquote agrees with an independent decoder, and
 *     quote(unquote(s)) unquotes to the same bytes;
 *   - accepted input has no \u escape of an unpaired surrogate (SPEC.md
 *     section 3: invalid input, as invalid UTF-8 is), and
 *     evt_json_compact_stored accepts it the same; what it accepts beyond
 *     that differs only by such escapes;
 *   - differential against jansson (built with FUZZ_JANSSON, as fuzz.mk
 *     does when jansson is installed): what jansson accepts, evt accepts
 *     as the same kind; what evt accepts and jansson refuses, it refuses only
 *     for limits of its own (number range, depth, \u0000 in a key).
 */
#ifdef FUZZ_JANSSON
#include <jansson.h>
#endif

#include "fuzz.h"

static const char *names[] = { "type", "a", "", "\xc3\xa9", "aggregateId" };
#define NF (sizeof(names) / sizeof(names[0]))

static enum evt_jkind kind_of(char c)
{
	switch (c) {
	case '{': return EVT_J_OBJECT;
	case '[': return EVT_J_ARRAY;
	case '"': return EVT_J_STRING;
	case 't': return EVT_J_TRUE;
	case 'f': return EVT_J_FALSE;
	case 'n': return EVT_J_NULL;
	default: return EVT_J_NUMBER;
	}
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned long u4(const char *p)
{
	return (unsigned long)(hexv(p[0]) << 12 | hexv(p[1]) << 8 |
			       hexv(p[2]) << 4 | hexv(p[3]));
}

/* A second decoder of a valid compact string token, written apart from
 * json.c: -1 for a lone surrogate or a NUL, as evt_json_unquote. */
static int ref_unquote(const char *t, size_t n, struct evt_buf *out)
{
	size_t i;

	evt_buf_reset(out);
	for (i = 1; i + 1 < n; i++) {
		unsigned long cp;
		char u[4];
		size_t k;

		if (t[i] != '\\') {
			evt_buf_addc(out, t[i]);
			continue;
		}
		i++;
		switch (t[i]) {
		case 'b': evt_buf_addc(out, 8); continue;
		case 'f': evt_buf_addc(out, 12); continue;
		case 'n': evt_buf_addc(out, 10); continue;
		case 'r': evt_buf_addc(out, 13); continue;
		case 't': evt_buf_addc(out, 9); continue;
		case 'u': break;
		default: evt_buf_addc(out, t[i]); continue;
		}
		cp = u4(t + i + 1);
		i += 4;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			unsigned long lo;

			if (i + 6 >= n - 1 || t[i + 1] != '\\' || t[i + 2] != 'u')
				return -1;
			lo = u4(t + i + 3);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return -1;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 6;
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			return -1;
		}
		if (cp == 0)
			return -1;
		if (cp < 0x80) {
			u[0] = (char)cp;
			k = 1;
		} else if (cp < 0x800) {
			u[0] = (char)(0xC0 | cp >> 6);
			u[1] = (char)(0x80 | (cp & 63));
			k = 2;
		} else if (cp < 0x10000) {
			u[0] = (char)(0xE0 | cp >> 12);
			u[1] = (char)(0x80 | (cp >> 6 & 63));
			u[2] = (char)(0x80 | (cp & 63));
			k = 3;
		} else {
			u[0] = (char)(0xF0 | cp >> 18);
			u[1] = (char)(0x80 | (cp >> 12 & 63));
			u[2] = (char)(0x80 | (cp >> 6 & 63));
			u[3] = (char)(0x80 | (cp & 63));
			k = 4;
		}
		evt_buf_add(out, u, k);
	}
	return 0;
}

/* A string token: the two decoders agree; quoting the text back gives a
 * token that is compact and decodes to the same bytes. */
static void check_string(const char *t, size_t n)
{
	struct evt_buf a = EVT_BUF_INIT, b = EVT_BUF_INIT, q = EVT_BUF_INIT;
	int ra = evt_json_unquote(t, n, &a), rb = ref_unquote(t, n, &b);

	CHECK_NUL(&a);
	CHECK(ra == rb, "unquote %.*s: %d, reference %d", (int)n, t, ra, rb);
	if (ra == 0) {
		CHECK(a.len == b.len && (!a.len || memcmp(a.p, b.p, a.len) == 0),
		      "unquote %.*s differs from the reference", (int)n, t);
		CHECK(evt_utf8_valid(a.p, a.len), "unquote %.*s: bad UTF-8",
		      (int)n, t);
		evt_json_quote(&q, a.p, a.len);
		CHECK_NUL(&q);
		fuzz_check_compact(q.p, q.len, EVT_J_STRING);
		CHECK(evt_json_unquote(q.p, q.len, &b) == 0 &&
		      b.len == a.len && (!a.len || memcmp(a.p, b.p, a.len) == 0),
		      "quote/unquote round trip of %.*s", (int)n, t);
	}
	evt_buf_release(&a);
	evt_buf_release(&b);
	evt_buf_release(&q);
}

/* Walk the compact value c[0..n) of kind k with evt_json_next, checking
 * that its members put together give c again. */
static void walk(const char *c, size_t n, int depth)
{
	struct evt_buf re = EVT_BUF_INIT;
	const char *key, *val;
	size_t at = 0, klen, vlen, count = 0;
	enum evt_jkind k = kind_of(c[0]);

	if (k == EVT_J_STRING) {
		check_string(c, n);
		return;
	}
	if (k != EVT_J_OBJECT && k != EVT_J_ARRAY)
		return;
	evt_buf_addc(&re, c[0]);
	while (evt_json_next(c, n, &at, &key, &klen, &val, &vlen)) {
		CHECK(at <= n, "evt_json_next went past the end");
		CHECK(vlen > 0, "empty value in %.*s", (int)n, c);
		if (count++)
			evt_buf_addc(&re, ',');
		if (k == EVT_J_OBJECT) {
			CHECK(key && klen >= 2 && key[0] == '"',
			      "bad key in %.*s", (int)n, c);
			evt_buf_add(&re, key, klen);
			evt_buf_addc(&re, ':');
			if (depth < 8)
				check_string(key, klen);
		} else {
			CHECK(!key, "array member with a key");
		}
		evt_buf_add(&re, val, vlen);
		if (depth < 8) {
			fuzz_check_compact(val, vlen, kind_of(val[0]));
			walk(val, vlen, depth + 1);
		}
	}
	evt_buf_addc(&re, k == EVT_J_OBJECT ? '}' : ']');
	CHECK(re.len == n && memcmp(re.p, c, n) == 0,
	      "members of %.*s put together give %.*s", (int)n, c,
	      (int)re.len, re.p);
	evt_buf_release(&re);
}

/* The fields: the last top-level member of each name, found again by
 * walking the members and decoding their keys. */
static void check_fields(const struct evt_buf *out, size_t base,
			 const struct evt_jfield *f, enum evt_jkind k)
{
	const char *c = out->p + base, *key, *val;
	size_t n = out->len - base, at = 0, klen, vlen, i;
	struct evt_buf d = EVT_BUF_INIT;

	for (i = 0; i < NF; i++) {
		size_t off = 0, len = 0;
		int found = 0;

		if (k != EVT_J_OBJECT) {
			CHECK(f[i].kind == EVT_J_NONE, "field in a non-object");
			continue;
		}
		at = 0;
		while (evt_json_next(c, n, &at, &key, &klen, &val, &vlen))
			if (ref_unquote(key, klen, &d) == 0 &&
			    d.len == strlen(names[i]) &&
			    (!d.len || memcmp(d.p, names[i], d.len) == 0)) {
				found = 1;
				off = (size_t)(val - out->p);
				len = vlen;
			}
		if (!found) {
			CHECK(f[i].kind == EVT_J_NONE, "field '%s' found in "
			      "%.*s", names[i], (int)n, c);
			continue;
		}
		CHECK(f[i].kind == kind_of(out->p[off]) && f[i].off == off &&
		      f[i].len == len, "field '%s' of %.*s: kind %d at %zu+%zu,"
		      " expected %zu+%zu", names[i], (int)n, c, (int)f[i].kind,
		      f[i].off, f[i].len, off, len);
	}
	evt_buf_release(&d);
}

/* Does the string token t[0..n) hold a \u escape of an unpaired
 * surrogate? */
static int lone_surrogate(const char *t, size_t n)
{
	size_t i;

	for (i = 1; i + 1 < n; i++) {
		unsigned long cp;

		if (t[i] != '\\')
			continue;
		if (t[++i] != 'u')
			continue;
		cp = u4(t + i + 1);
		i += 4;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return 1;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (i + 6 >= n - 1 || t[i + 1] != '\\' ||
			    t[i + 2] != 'u' || u4(t + i + 3) < 0xDC00 ||
			    u4(t + i + 3) > 0xDFFF)
				return 1;
			i += 6;
		}
	}
	return 0;
}

/* Any string token of the compact value c[0..n) with one? */
static int has_lone(const char *c, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j;

		if (c[i] != '"') {
			i++;
			continue;
		}
		for (j = i + 1; c[j] != '"'; j++)
			if (c[j] == '\\')
				j++;
		if (lone_surrogate(c + i, j + 1 - i))
			return 1;
		i = j + 1;
	}
	return 0;
}

/* evt_json_compact_stored, the reader of stored text, against
 * evt_json_compact (k, c[0..n) its result): the same where the input has
 * no unpaired surrogate escape; else it accepts what evt_json_compact
 * refused for that reason alone. */
static void check_stored(const char *s, size_t size, enum evt_jkind k,
			 const char *c, size_t n)
{
	struct evt_buf out = EVT_BUF_INIT;
	const char *why = NULL;
	size_t col = 0;
	enum evt_jkind ks;

	ks = evt_json_compact_stored(s, size, &out, NULL, 0, &why, &col);
	if (k != EVT_J_NONE) {
		CHECK(!has_lone(c, n), "accepted an unpaired surrogate: %.*s",
		      (int)n, c);
		CHECK(ks == k && out.len == n && memcmp(out.p, c, n) == 0,
		      "the stored reader differs on %.*s", (int)n, c);
	} else if (ks != EVT_J_NONE) {
		CHECK(has_lone(out.p, out.len), "the stored reader accepts "
		      "%.*s, refused for no surrogate", (int)out.len, out.p);
	}
	evt_buf_release(&out);
}

#ifdef FUZZ_JANSSON
static enum evt_jkind jansson_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return EVT_J_OBJECT;
	case JSON_ARRAY: return EVT_J_ARRAY;
	case JSON_STRING: return EVT_J_STRING;
	case JSON_INTEGER: case JSON_REAL: return EVT_J_NUMBER;
	case JSON_TRUE: return EVT_J_TRUE;
	case JSON_FALSE: return EVT_J_FALSE;
	default: return EVT_J_NULL;
	}
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *why = NULL;
	struct evt_jfield f[NF];
	struct evt_buf out = EVT_BUF_INIT;
	size_t col = 0, i;
	enum evt_jkind k;
#ifdef FUZZ_JANSSON
	json_error_t jerr;
	json_t *j;
#endif

	for (i = 0; i < NF; i++) {
		f[i].name = names[i];
		f[i].kind = (enum evt_jkind)77;
	}
	evt_buf_addstr(&out, "PFX");
	k = evt_json_compact(s, size, &out, f, NF, &why, &col);
	CHECK_NUL(&out);
	check_stored(s, size, k, out.len > 3 ? out.p + 3 : "", out.len - 3);
	if (k == EVT_J_NONE) {
		CHECK(out.len == 3 && memcmp(out.p, "PFX", 3) == 0,
		      "output not restored after a failure");
		CHECK(why && *why, "no reason given");
		CHECK(col >= 1 && col <= size + 1, "column %zu of %zu", col,
		      size);
		for (i = 0; i < NF; i++)
			CHECK(f[i].kind == EVT_J_NONE, "field left set");
	} else {
		const char *c = out.p + 3;
		size_t n = out.len - 3;

		CHECK(n > 0 && n <= size, "compact length %zu of %zu", n, size);
		CHECK(evt_utf8_valid(c, n), "compact output is not UTF-8");
		CHECK(!memchr(c, '\0', n), "NUL in compact output");
		CHECK(kind_of(c[0]) == k, "kind %d for %.*s", (int)k, (int)n,
		      c);
		fuzz_check_compact(c, n, k);
		check_fields(&out, 3, f, k);
		walk(c, n, 0);
	}

	/* A raw NUL byte is never JSON (jansson takes it for the end of the
	 * input, so it is left out of the comparison). */
	if (memchr(s, '\0', size)) {
		CHECK(k == EVT_J_NONE, "accepted a NUL byte");
		evt_buf_release(&out);
		return 0;
	}
#ifdef FUZZ_JANSSON
	j = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j) {
		CHECK(k != EVT_J_NONE, "jansson accepts what evt refuses "
		      "(column %zu: %s)", col, why);
		CHECK(k == jansson_kind(j), "kind %d, jansson %d", (int)k,
		      (int)jansson_kind(j));
		json_decref(j);
	} else if (k != EVT_J_NONE) {
		CHECK(strstr(jerr.text, "too big") ||
		      strstr(jerr.text, "real number overflow") ||
		      strstr(jerr.text, "maximum parsing depth") ||
		      strstr(jerr.text, "NUL byte in object key"),
		      "evt accepts what jansson refuses: %s", jerr.text);
	}
#endif
	evt_buf_release(&out);
	return 0;
}

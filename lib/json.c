/* json.c - JSON text: validate and compact verbatim, escape, decode */
#include <string.h>

#include "json.h"

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;	/* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;	/* above U+10FFFF */
		return 4;
	}
	return 0;
}

int evt_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		size_t k;

		if (*p < 0x80) {
			p++;
			continue;
		}
		k = utf8_seq(p, (size_t)(e - p));
		if (!k)
			return 0;
		p += k;
	}
	return 1;
}

static unsigned long hex4(const char *p)
{
	return (unsigned long)(evt_hexval(p[0]) << 12 | evt_hexval(p[1]) << 8 |
			       evt_hexval(p[2]) << 4 | evt_hexval(p[3]));
}

/* Is s[i..n) a \u escape of 4 hex digits? */
static int u_escape(const unsigned char *s, size_t n, size_t i)
{
	return i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
	       evt_hexval(s[i + 2]) >= 0 && evt_hexval(s[i + 3]) >= 0 &&
	       evt_hexval(s[i + 4]) >= 0 && evt_hexval(s[i + 5]) >= 0;
}

/* A string token starting at s[i] == '"'.  Returns the index just past the
 * closing quote, or 0 with *why set.  strict: a \u escape of a surrogate
 * must be a high one followed by a low one. */
static size_t scan_string(const unsigned char *s, size_t n, size_t i,
			  int strict, int *has_escape, const char **why,
			  size_t *at)
{
	i++;
	*has_escape = 0;
	for (;;) {
		while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' &&
		       s[i] != '\\')
			i++;
		if (i >= n) {
			*why = "unterminated string";
			*at = i;
			return 0;
		}
		if (s[i] == '"')
			return i + 1;
		if (s[i] == '\\') {
			*has_escape = 1;
			if (i + 1 >= n) {
				*why = "unterminated string";
				*at = i;
				return 0;
			}
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				i += 2;
				break;
			case 'u': {
				unsigned long cp;

				if (!u_escape(s, n, i)) {
					*why = "invalid \\u escape";
					*at = i;
					return 0;
				}
				cp = hex4((const char *)s + i + 2);
				i += 6;
				if (!strict || cp < 0xD800 || cp > 0xDFFF)
					break;
				if (cp <= 0xDBFF && u_escape(s, n, i) &&
				    (cp = hex4((const char *)s + i + 2)) >=
					    0xDC00 && cp <= 0xDFFF) {
					i += 6;
					break;
				}
				*why = "unpaired surrogate in \\u escape";
				*at = i - 6;
				return 0;
			}
			default:
				*why = "invalid escape in string";
				*at = i;
				return 0;
			}
			continue;
		}
		if (s[i] < 0x20) {
			*why = "control character in string";
			*at = i;
			return 0;
		}
		{
			size_t k = utf8_seq(s + i, n - i);
			if (!k) {
				*why = "invalid UTF-8";
				*at = i;
				return 0;
			}
			i += k;
		}
	}
}

static size_t scan_number(const unsigned char *s, size_t n, size_t i,
			  const char **why, size_t *at)
{
	size_t st = i;

	if (s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		goto bad;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i;
bad:
	*why = "invalid number";
	*at = st;
	return 0;
}

static size_t skip_ws(const unsigned char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
			 s[i] == '\r'))
		i++;
	return i;
}

/* Does the key token (with quotes) equal name? */
static int key_is(const char *tok, size_t len, int esc, const char *name,
		  struct evt_buf *tmp)
{
	size_t nl = strlen(name);

	if (!esc)
		return len == nl + 2 && memcmp(tok + 1, name, nl) == 0;
	if (evt_json_unquote(tok, len, tmp) < 0)
		return 0;
	return tmp->len == nl && memcmp(tmp->p, name, nl) == 0;
}

static enum evt_jkind compact(const char *str, size_t n, struct evt_buf *out,
			      struct evt_jfield *fields, size_t nfields,
			      int strict, const char **why, size_t *col)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t base = out->len, i, at = 0;
	/* Nesting: one byte per level, '{' or '['; small levels inline. */
	char stack_small[64];
	struct evt_buf stack_big = EVT_BUF_INIT;
	char *stack = stack_small;
	size_t depth = 0, stack_cap = sizeof(stack_small);
	enum evt_jkind top = EVT_J_NONE, kind;
	long cur_field = -1;	/* field index of the member being read */
	size_t val_off = 0;
	struct evt_buf tmp = EVT_BUF_INIT;
	size_t f;

	for (f = 0; f < nfields; f++)
		fields[f].kind = EVT_J_NONE;
	*why = NULL;
	/* The compact form is never longer than the input. */
	evt_buf_grow(out, n);
	i = skip_ws(s, n, 0);

value:
	if (i >= n) {
		*why = "unexpected end of input";
		at = i;
		goto fail;
	}
	if (depth == 1 && stack[0] == '{')
		val_off = out->len;
	switch (s[i]) {
	case '{':
	case '[': {
		char open = (char)s[i], close = open == '{' ? '}' : ']';

		out->p[out->len++] = open;
		i = skip_ws(s, n, i + 1);
		if (i < n && s[i] == close) {
			out->p[out->len++] = close;
			i++;
			kind = open == '{' ? EVT_J_OBJECT : EVT_J_ARRAY;
			goto done;
		}
		if (depth == stack_cap) {
			if (stack == stack_small) {
				evt_buf_add(&stack_big, stack_small, depth);
				stack_big.len = depth;
			}
			evt_buf_grow(&stack_big, stack_cap);
			stack = stack_big.p;
			stack_cap = stack_big.cap - 1;
		}
		stack[depth++] = open;
		if (depth == 1)
			top = open == '{' ? EVT_J_OBJECT : EVT_J_ARRAY;
		if (open == '{')
			goto key;
		goto value;
	}
	case '"': {
		int esc;
		size_t e = scan_string(s, n, i, strict, &esc, why, &at);
		if (!e)
			goto fail;
		memcpy(out->p + out->len, s + i, e - i);
		out->len += e - i;
		i = e;
		kind = EVT_J_STRING;
		goto done;
	}
	case 't':
		if (n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
			memcpy(out->p + out->len, "true", 4);
			out->len += 4;
			i += 4;
			kind = EVT_J_TRUE;
			goto done;
		}
		break;
	case 'f':
		if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
			memcpy(out->p + out->len, "false", 5);
			out->len += 5;
			i += 5;
			kind = EVT_J_FALSE;
			goto done;
		}
		break;
	case 'n':
		if (n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
			memcpy(out->p + out->len, "null", 4);
			out->len += 4;
			i += 4;
			kind = EVT_J_NULL;
			goto done;
		}
		break;
	default:
		if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			size_t e = scan_number(s, n, i, why, &at);
			if (!e)
				goto fail;
			memcpy(out->p + out->len, s + i, e - i);
			out->len += e - i;
			i = e;
			kind = EVT_J_NUMBER;
			goto done;
		}
		break;
	}
	if (i == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		*why = "byte order mark (save the text as UTF-8 without one)";
	else
		*why = "unexpected character";
	at = i;
	goto fail;

done:
	/* A value ended; kind is its kind (for containers, set on close). */
	if (depth == 0) {
		if (top == EVT_J_NONE)
			top = kind;
		i = skip_ws(s, n, i);
		if (i != n) {
			*why = "unexpected data after the JSON value";
			at = i;
			goto fail;
		}
		evt_buf_release(&stack_big);
		evt_buf_release(&tmp);
		out->p[out->len] = '\0';
		return top;
	}
	if (depth == 1 && stack[0] == '{' && cur_field >= 0) {
		fields[cur_field].kind = kind;
		fields[cur_field].off = val_off;
		fields[cur_field].len = out->len - val_off;
		cur_field = -1;
	}
	i = skip_ws(s, n, i);
	if (i >= n) {
		*why = "unexpected end of input";
		at = i;
		goto fail;
	}
	if (s[i] == ',') {
		out->p[out->len++] = ',';
		i = skip_ws(s, n, i + 1);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if ((stack[depth - 1] == '{' && s[i] == '}') ||
	    (stack[depth - 1] == '[' && s[i] == ']')) {
		out->p[out->len++] = (char)s[i];
		i++;
		kind = stack[--depth] == '{' ? EVT_J_OBJECT : EVT_J_ARRAY;
		goto done;
	}
	*why = stack[depth - 1] == '{' ? "expected ',' or '}'" :
					 "expected ',' or ']'";
	at = i;
	goto fail;

key:
	if (i >= n || s[i] != '"') {
		*why = i >= n ? "unexpected end of input" :
				"expected a string key";
		at = i;
		goto fail;
	}
	{
		int esc;
		size_t e = scan_string(s, n, i, strict, &esc, why, &at);
		if (!e)
			goto fail;
		if (depth == 1) {
			cur_field = -1;
			for (f = 0; f < nfields; f++)
				if (key_is(str + i, e - i, esc, fields[f].name,
					   &tmp)) {
					cur_field = (long)f;
					break;
				}
		}
		memcpy(out->p + out->len, s + i, e - i);
		out->len += e - i;
		i = skip_ws(s, n, e);
	}
	if (i >= n || s[i] != ':') {
		*why = i >= n ? "unexpected end of input" : "expected ':'";
		at = i;
		goto fail;
	}
	out->p[out->len++] = ':';
	i = skip_ws(s, n, i + 1);
	goto value;

fail:
	evt_buf_release(&stack_big);
	evt_buf_release(&tmp);
	out->len = base;
	out->p[base] = '\0';
	*col = at + 1;
	for (f = 0; f < nfields; f++)
		fields[f].kind = EVT_J_NONE;
	return EVT_J_NONE;
}

enum evt_jkind evt_json_compact(const char *s, size_t n, struct evt_buf *out,
				struct evt_jfield *fields, size_t nfields,
				const char **why, size_t *col)
{
	return compact(s, n, out, fields, nfields, 1, why, col);
}

enum evt_jkind evt_json_compact_stored(const char *s, size_t n,
				       struct evt_buf *out,
				       struct evt_jfield *fields,
				       size_t nfields, const char **why,
				       size_t *col)
{
	return compact(s, n, out, fields, nfields, 0, why, col);
}

static void put_utf8(struct evt_buf *b, unsigned long cp)
{
	char u[4];
	size_t k;

	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	evt_buf_add(b, u, k);
}

int evt_json_unquote(const char *tok, size_t len, struct evt_buf *out)
{
	const char *p = tok + 1, *e = tok + len - 1;

	evt_buf_reset(out);
	evt_buf_grow(out, len);
	out->p[0] = '\0';
	while (p < e) {
		const char *q = p;

		while (q < e && *q != '\\')
			q++;
		if (q > p)
			evt_buf_add(out, p, (size_t)(q - p));
		if (q >= e)
			break;
		switch (q[1]) {
		case 'b': evt_buf_addc(out, '\b'); break;
		case 'f': evt_buf_addc(out, '\f'); break;
		case 'n': evt_buf_addc(out, '\n'); break;
		case 'r': evt_buf_addc(out, '\r'); break;
		case 't': evt_buf_addc(out, '\t'); break;
		case 'u': {
			unsigned long cp = hex4(q + 2);

			q += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return -1;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				unsigned long lo;

				if (e - q < 8 || q[2] != '\\' || q[3] != 'u')
					return -1;
				lo = hex4(q + 4);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				     (lo - 0xDC00);
				q += 6;
			}
			if (cp == 0)
				return -1;
			put_utf8(out, cp);
			break;
		}
		default: evt_buf_addc(out, q[1]); break;
		}
		p = q + 2;
	}
	return 0;
}

void evt_json_quote(struct evt_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	evt_buf_grow(out, n + 2);
	out->p[out->len++] = '"';
	while (p < e) {
		const unsigned char *q = p;

		while (q < e && *q >= 0x20 && *q != '"' && *q != '\\')
			q++;
		if (q > p)
			evt_buf_add(out, p, (size_t)(q - p));
		if (q >= e)
			break;
		switch (*q) {
		case '"': evt_buf_add(out, "\\\"", 2); break;
		case '\\': evt_buf_add(out, "\\\\", 2); break;
		case '\b': evt_buf_add(out, "\\b", 2); break;
		case '\f': evt_buf_add(out, "\\f", 2); break;
		case '\n': evt_buf_add(out, "\\n", 2); break;
		case '\r': evt_buf_add(out, "\\r", 2); break;
		case '\t': evt_buf_add(out, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[*q >> 4],
				      hex[*q & 15] };
			evt_buf_add(out, u, 6);
		}
		}
		p = q + 1;
	}
	evt_buf_addc(out, '"');
}

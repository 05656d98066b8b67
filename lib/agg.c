/* agg.c - an aggregate's state: top-level members as exact JSON text */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "json.h"

static uint64_t hash(const char *s, size_t n)
{
	return evt_fnv(EVT_FNV0, s, n);
}

void evt_agg_init(struct evt_agg *a, const char *stream, size_t slen,
		  const char *id, size_t idlen)
{
	memset(a, 0, sizeof(*a));
	a->stream = evt_xstrndup(stream, slen);
	a->stream_len = slen;
	a->id = evt_xstrndup(id, idlen);
	a->id_len = idlen;
}

void evt_agg_clear(struct evt_agg *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->m[i].key);
		free(a->m[i].val);
	}
	a->n = 0;
	evt_index_clear(&a->index);
	a->version = 0;
	a->position = 0;
}

void evt_agg_release(struct evt_agg *a)
{
	evt_agg_clear(a);
	free(a->m);
	evt_index_release(&a->index);
	free(a->stream);
	free(a->id);
	a->m = NULL;
	a->stream = a->id = NULL;
	a->cap = 0;
}

static uint64_t member_hash(const void *ctx, size_t i)
{
	return ((const struct evt_agg *)ctx)->m[i].hash;
}

/* A member looked for: its key and the key's hash. */
struct wanted {
	const struct evt_agg *a;
	const char *key;
	size_t klen;
	uint64_t hash;
};

static int same_member(const void *ctx, size_t i)
{
	const struct wanted *w = ctx;
	const struct evt_agg_member *m = &w->a->m[i];

	return m->hash == w->hash && m->klen == w->klen &&
	       memcmp(m->key, w->key, w->klen) == 0;
}

static void set_val(struct evt_agg_member *m, const char *val, size_t vlen)
{
	if (vlen + 1 > m->vcap) {
		size_t cap = m->vcap ? m->vcap : 16;

		while (cap < vlen + 1)
			cap *= 2;
		m->val = evt_xrealloc(m->val, cap);
		m->vcap = cap;
	}
	memcpy(m->val, val, vlen);
	m->val[vlen] = '\0';
	m->vlen = vlen;
}

void evt_agg_set(struct evt_agg *a, const char *key, size_t klen,
		 const char *val, size_t vlen)
{
	struct wanted w = { a, key, klen, hash(key, klen) };
	struct evt_agg_member *m;
	uint32_t *slot;

	evt_index_grow(&a->index, a->n, 16, member_hash, a);
	slot = evt_index_find(&a->index, w.hash, same_member, &w);
	if (*slot) {
		set_val(&a->m[*slot - 1], val, vlen);
		return;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->m = evt_xrealloc(a->m, a->cap * sizeof(*a->m));
	}
	m = &a->m[a->n];
	memset(m, 0, sizeof(*m));
	m->key = evt_xstrndup(key, klen);
	m->klen = klen;
	m->hash = w.hash;
	set_val(m, val, vlen);
	*slot = (uint32_t)++a->n;
}

int evt_agg_reserved(const char *key, size_t klen)
{
	return (klen == 13 && memcmp(key, "\"aggregateId\"", 13) == 0) ||
	       (klen == 9 && memcmp(key, "\"version\"", 9) == 0);
}

static int skipped(const char *key, size_t klen)
{
	return (klen == 6 && memcmp(key, "\"type\"", 6) == 0) ||
	       (klen == 13 && memcmp(key, "\"__persisted\"", 13) == 0);
}

void evt_agg_merge(struct evt_agg *a, const char *obj, size_t n, int flags,
		   struct evt_buf *tmp)
{
	const char *key, *val;
	size_t at = 0, klen, vlen;

	while (evt_json_next(obj, n, &at, &key, &klen, &val, &vlen)) {
		if (memchr(key, '\\', klen))
			key = evt_json_key(key, klen, &klen, tmp);
		if (evt_agg_reserved(key, klen) ||
		    ((flags & EVT_AGG_SKIP_TYPE) && skipped(key, klen)))
			continue;
		evt_agg_set(a, key, klen, val, vlen);
	}
}

void evt_agg_print_state(const struct evt_agg *a, struct evt_buf *out)
{
	size_t i, need = 2;
	char *p;

	for (i = 0; i < a->n; i++)
		need += a->m[i].klen + a->m[i].vlen + 2;
	evt_buf_grow(out, need);
	p = out->p + out->len;
	*p++ = '{';
	for (i = 0; i < a->n; i++) {
		const struct evt_agg_member *m = &a->m[i];

		if (i)
			*p++ = ',';
		memcpy(p, m->key, m->klen);
		p += m->klen;
		*p++ = ':';
		memcpy(p, m->val, m->vlen);
		p += m->vlen;
	}
	*p++ = '}';
	*p = '\0';
	out->len = (size_t)(p - out->p);
}

void evt_agg_print(const struct evt_agg *a, struct evt_buf *out)
{
	evt_agg_print_state(a, out);
	out->len--;		/* the '}' */
	evt_buf_addstr(out, a->n ? ",\"aggregateId\":" : "\"aggregateId\":");
	evt_json_quote(out, a->id, a->id_len);
	evt_buf_addstr(out, ",\"version\":");
	evt_buf_addi64(out, a->version);
	evt_buf_addc(out, '}');
}

/* Past the string token at s[i] == '"' (compact, valid JSON). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	i++;
	for (;;) {
		const char *q = memchr(s + i, '"', n - i);
		size_t j, k;

		if (!q)
			return n;
		j = (size_t)(q - s);
		for (k = j; k > i && s[k - 1] == '\\'; k--)
			;
		if ((j - k) % 2 == 0)
			return j + 1;
		i = j + 1;
	}
}

static size_t skip_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	switch (s[i]) {
	case '"':
		return skip_string(s, n, i);
	case '{':
	case '[':
		do {
			switch (s[i]) {
			case '"':
				i = skip_string(s, n, i);
				continue;
			case '{': case '[':
				depth++;
				break;
			case '}': case ']':
				depth--;
				break;
			}
			i++;
		} while (depth && i < n);
		return i;
	default:
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']')
			i++;
		return i;
	}
}

int evt_json_next(const char *s, size_t n, size_t *at, const char **key,
		  size_t *klen, const char **val, size_t *vlen)
{
	size_t i = *at, e;

	if (i == 0) {
		if (n < 2)
			return 0;
		i = 1;		/* past '{' or '[' */
	}
	if (i >= n || s[i] == '}' || s[i] == ']')
		return 0;
	if (s[0] == '{') {
		e = skip_string(s, n, i);
		*key = s + i;
		*klen = e - i;
		i = e + 1;	/* past ':' */
	} else {
		*key = NULL;
		*klen = 0;
	}
	if (i >= n)
		return 0;
	e = skip_value(s, n, i);
	*val = s + i;
	*vlen = e - i;
	if (e < n && s[e] == ',')
		e++;
	*at = e;
	return 1;
}

const char *evt_json_key(const char *tok, size_t len, size_t *outlen,
			 struct evt_buf *tmp)
{
	size_t dlen;

	*outlen = len;
	if (!memchr(tok, '\\', len))
		return tok;
	if (evt_json_unquote(tok, len, tmp) < 0)
		return tok;
	dlen = tmp->len;
	/* Room for the quoted copy behind the decoded text, so that quoting
	 * from tmp into tmp never moves it. */
	evt_buf_grow(tmp, 6 * dlen + 3);
	evt_json_quote(tmp, tmp->p, dlen);
	*outlen = tmp->len - dlen;
	return tmp->p + dlen;
}

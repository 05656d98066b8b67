/* agg.h - an aggregate's state: top-level members as exact JSON text
 *
 * The state of an aggregate is an ordered list of (key, value) pairs: the
 * keys in the order they first appeared, each value the compact JSON text
 * it was last given.  Values never pass through a JSON library, so numbers,
 * escapes and nested key order come back exactly as they went in.  Keys are
 * kept as canonical JSON string tokens (escapes decoded, then quoted the way
 * evt_json_quote quotes), so "a" and "\u0061" are one key.
 *
 * The members "aggregateId" and "version" are never stored: they are the
 * aggregate's identity and fold position, printed last by evt_agg_print.
 */
#ifndef EVT_AGG_H
#define EVT_AGG_H

#include <stddef.h>
#include <stdint.h>
#include "index.h"
#include "util.h"

struct evt_agg_member {
	char *key;		/* canonical JSON string token, owned */
	size_t klen;
	uint64_t hash;
	char *val;		/* compact JSON text, owned, grown in place */
	size_t vlen, vcap;
};

struct evt_agg {
	struct evt_agg_member *m;	/* in order of first appearance */
	size_t n, cap;
	struct evt_index index;		/* of m, by key */
	char *stream, *id;		/* owned, NUL-terminated UTF-8 */
	size_t stream_len, id_len;
	int64_t version;		/* of the last event folded, 0: none */
	int64_t position;		/* of that event, 0: none */
	void *priv;			/* the reducer's own per-aggregate state */
};

void evt_agg_init(struct evt_agg *a, const char *stream, size_t slen,
		  const char *id, size_t idlen);
/* Free the members and names (not priv: the reducer owns it). */
void evt_agg_release(struct evt_agg *a);
/* Drop every member; version and position go back to 0. */
void evt_agg_clear(struct evt_agg *a);

/* Set key (a canonical JSON string token) to the compact value text. */
void evt_agg_set(struct evt_agg *a, const char *key, size_t klen,
		 const char *val, size_t vlen);

enum { EVT_AGG_SKIP_TYPE = 1 };	/* merge: leave out "type", "__persisted" */

/* Shallow-merge the members of obj, a compact JSON object as
 * evt_json_compact writes it, into the state; duplicate keys: the last
 * wins.  tmp is scratch space for keys with escapes. */
void evt_agg_merge(struct evt_agg *a, const char *obj, size_t n, int flags,
		   struct evt_buf *tmp);

/* Append the aggregate as one compact object: the state's members, then
 * "aggregateId", then "version".  No newline. */
void evt_agg_print(const struct evt_agg *a, struct evt_buf *out);
/* Append the state's members alone, as a compact object. */
void evt_agg_print_state(const struct evt_agg *a, struct evt_buf *out);

/* Is the canonical key token one of the two the aggregate owns? */
int evt_agg_reserved(const char *key, size_t klen);

/* Walk a compact JSON object or array (text written by evt_json_compact).
 * *at starts at 0.  Returns 1 with the next member (key token and value
 * text; for arrays *key is NULL) or 0 at the end. */
int evt_json_next(const char *s, size_t n, size_t *at, const char **key,
		  size_t *klen, const char **val, size_t *vlen);

/* Canonical form of a key token from compact JSON: the token itself when
 * it has no escape, else decoded and quoted again into tmp.  A key that
 * cannot be decoded (it holds \u0000 or a lone surrogate) stays as it is. */
const char *evt_json_key(const char *tok, size_t len, size_t *outlen,
			 struct evt_buf *tmp);

#endif

/* json.h - JSON text: validate and compact verbatim, escape, decode
 *
 * Event payloads never pass through a JSON library: numbers, escapes, key
 * order and duplicate keys must come back exactly as they went in.  This
 * scanner checks a JSON text (RFC 8259, UTF-8), copies it without the
 * insignificant white space, and notes where chosen members of the top-level
 * object landed in the copy.  No json_t is involved anywhere in this module.
 */
#ifndef EVT_JSON_H
#define EVT_JSON_H

#include <stddef.h>
#include "util.h"

enum evt_jkind {
	EVT_J_NONE = 0, EVT_J_OBJECT, EVT_J_ARRAY, EVT_J_STRING,
	EVT_J_NUMBER, EVT_J_TRUE, EVT_J_FALSE, EVT_J_NULL
};

/* A member of the top-level object the caller wants to find.  After
 * evt_json_compact, kind != EVT_J_NONE if present (the last occurrence wins,
 * as in JSON.parse); off and len locate the compact value in the output
 * buffer. */
struct evt_jfield {
	const char *name;
	enum evt_jkind kind;
	size_t off, len;
};

/* Check that s[0..n) is exactly one JSON value (white space around it
 * allowed) and append its compact form to out.  Returns the kind of the
 * value, or EVT_J_NONE with *why set to a static message and *col to the
 * 1-based byte column of the fault.  On failure out is restored.  A \u
 * escape of an unpaired surrogate ("\ud800") is invalid, as invalid UTF-8
 * is: this is the check of every input. */
enum evt_jkind evt_json_compact(const char *s, size_t n, struct evt_buf *out,
				struct evt_jfield *fields, size_t nfields,
				const char **why, size_t *col);
/* The same for text already in the store (written by others, perhaps with
 * an unpaired surrogate escape), which is read as it is. */
enum evt_jkind evt_json_compact_stored(const char *s, size_t n,
				       struct evt_buf *out,
				       struct evt_jfield *fields,
				       size_t nfields, const char **why,
				       size_t *col);

/* Decode a compact JSON string token (with its quotes) to UTF-8 in out
 * (reset first).  Returns -1 if it holds a lone surrogate or a NUL. */
int evt_json_unquote(const char *tok, size_t len, struct evt_buf *out);

/* Append s[0..n) (valid UTF-8) as a JSON string token with quotes. */
void evt_json_quote(struct evt_buf *out, const char *s, size_t n);

/* Is s[0..n) valid UTF-8 (no overlongs, no surrogates)? */
int evt_utf8_valid(const char *s, size_t n);

#endif

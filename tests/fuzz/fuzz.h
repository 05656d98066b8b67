/* fuzz.h - what the libFuzzer targets share
 *
 * Each target feeds one parser of outside input arbitrary bytes and checks
 * what the parser promises: it never crashes, leaks or reads out of bounds
 * (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer), and what it
 * accepts it accepts again unchanged.  A broken promise is a CHECK that
 * prints what went wrong and aborts, so libFuzzer saves the input.
 */
#ifndef EVT_FUZZ_H
#define EVT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evt.h"

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
			__LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* The buffer invariant of util.h: NUL-terminated when p != NULL. */
#define CHECK_NUL(b) CHECK(!(b)->p || (b)->p[(b)->len] == '\0', \
			   "buffer not NUL-terminated at %zu", (b)->len)

/* A copy of s[0..n) with a NUL after it, for APIs that take C strings. */
static inline char *fuzz_strndup(const uint8_t *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Compact s[0..n) into out (reset first); the kind. */
static inline enum evt_jkind fuzz_compact(const char *s, size_t n,
					  struct evt_buf *out)
{
	const char *why;
	size_t col;

	evt_buf_reset(out);
	return evt_json_compact(s, n, out, NULL, 0, &why, &col);
}

/* Is the compact text s[0..n) a fixed point of evt_json_compact, of kind
 * k? */
static inline void fuzz_check_compact(const char *s, size_t n,
				      enum evt_jkind k)
{
	struct evt_buf b = EVT_BUF_INIT;
	enum evt_jkind k2 = fuzz_compact(s, n, &b);

	CHECK(k2 == k, "compact text %.*s is kind %d, not %d", (int)n, s,
	      (int)k2, (int)k);
	CHECK(b.len == n && memcmp(b.p, s, n) == 0,
	      "compact(compact(x)) != compact(x): %.*s -> %.*s", (int)n, s,
	      (int)b.len, b.p);
	evt_buf_release(&b);
}

/* A message of the house style: lowercase start, no final period. */
static inline void fuzz_check_msg(const struct evt_err *e)
{
	size_t n = strlen(e->msg);

	CHECK(n > 0, "empty message for code %d", e->code);
	CHECK(e->msg[n - 1] != '.', "message ends in a period: %s", e->msg);
	CHECK(!(e->msg[0] >= 'A' && e->msg[0] <= 'Z') ||
	      strncmp(e->msg, "EVT_", 4) == 0,
	      "message starts uppercase: %s", e->msg);
}

/* Check that the compact object text s[0..n) has no two members whose
 * keys are equal once decoded (the aggregate state promise). */
void fuzz_check_unique_keys(const char *s, size_t n);

/* Input as a file descriptor (a memfd at offset 0), for evt_lines. */
int fuzz_fd(const uint8_t *data, size_t size);

#endif

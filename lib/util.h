/* util.h - growable text buffer, errors and exit codes, number parsing */
#ifndef EVT_UTIL_H
#define EVT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* Exit codes: SPEC.md section 5.  Library calls return one of these. */
enum {
	EVT_OK = 0,
	EVT_EFAIL = 1,		/* store, system or I/O failure */
	EVT_EUSAGE = 2,		/* usage: bad option or argument */
	EVT_ECONFLICT = 3,	/* version conflict */
	EVT_EINPUT = 4,		/* invalid input */
	EVT_EPROG = 5,		/* an external program failed */
	EVT_EBUSY = 6		/* handler NAME held by another process */
};

/* What a callback returns to end a walk (a read, a listing, a follow)
 * early, without an error: the walk then returns 0.  Negative, so never
 * taken for an exit code. */
enum { EVT_STOP = -1 };

/* The message that goes with a non-zero return; the caller prints it. */
struct evt_err {
	int code;
	char msg[1024];
};

int evt_errf(struct evt_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "PLACE: " in front of e's message (PLACE as fmt makes it), with the
 * code; returns the code. */
int evt_errprefix(struct evt_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A growable byte buffer, always NUL-terminated when p != NULL. */
struct evt_buf {
	char *p;
	size_t len, cap;
};

#define EVT_BUF_INIT { NULL, 0, 0 }

void evt_buf_grow(struct evt_buf *b, size_t extra);
void evt_buf_add(struct evt_buf *b, const void *s, size_t n);
void evt_buf_addstr(struct evt_buf *b, const char *s);
void evt_buf_addf(struct evt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void evt_buf_vaddf(struct evt_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void evt_buf_addi64(struct evt_buf *b, int64_t v);
void evt_buf_release(struct evt_buf *b);

static inline void evt_buf_addc(struct evt_buf *b, char c)
{
	if (b->len + 2 > b->cap)
		evt_buf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static inline void evt_buf_reset(struct evt_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* A NULL-terminated array of strings (an argv or an environment) kept in
 * one buffer: reset and filled again, it allocates nothing once grown. */
struct evt_strvec {
	struct evt_buf text;	/* the strings, each NUL-terminated */
	size_t *at;		/* where each begins in text */
	char **v;		/* what evt_strvec_get gives */
	size_t n, cap;
};

#define EVT_STRVEC_INIT { EVT_BUF_INIT, NULL, NULL, 0, 0 }

void evt_strvec_addf(struct evt_strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The strings and a NULL, valid until the next add, reset or release. */
char **evt_strvec_get(struct evt_strvec *sv);
void evt_strvec_reset(struct evt_strvec *sv);
void evt_strvec_release(struct evt_strvec *sv);

/* Allocation that cannot fail: out of memory aborts with a message. */
void *evt_xmalloc(size_t n);
void *evt_xrealloc(void *p, size_t n);
char *evt_xstrdup(const char *s);
char *evt_xstrndup(const char *s, size_t n);

/* Whole-string decimal integer in [min, max]; 0 on success, -1 if not. */
int evt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* FNV-1a, 64 bits: n bytes hashed into h (EVT_FNV0 to start).  The values
 * are a contract: advisory lock keys, lock bytes and snapshot tags stored
 * by one version are found by the next, on any machine. */
#define EVT_FNV0 1469598103934665603ULL
uint64_t evt_fnv(uint64_t h, const void *p, size_t n);

/* Sleep ms, letting SIGINT and SIGTERM through; 1 if one came. */
int evt_nap(int ms);

/* The value of hex digit c, or -1. */
int evt_hexval(int c);

/* Wait as ppoll(2) does, at most timeout_ms (< 0: no limit), letting
 * SIGINT and SIGTERM through while it waits: a follower blocks them at all
 * other times, so that a record in hand is always finished.  ppoll's
 * result: -1 with errno EINTR when a signal came. */
struct pollfd;
int evt_poll_signals(struct pollfd *fds, unsigned long n, int timeout_ms);

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
int64_t evt_now_ms(void);
/* Monotonic milliseconds. */
int64_t evt_mono_ms(void);

/* Read a whole file (a --jq-file) into b; EVT_EUSAGE if it cannot be. */
int evt_read_file(const char *path, struct evt_buf *b, struct evt_err *e);

#endif

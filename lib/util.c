/* util.c - growable text buffer, errors, allocation, numbers */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int evt_errf(struct evt_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int evt_errprefix(struct evt_err *e, int code, const char *fmt, ...)
{
	char msg[sizeof(e->msg)];
	va_list ap;
	int n;

	memcpy(msg, e->msg, sizeof(msg));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", msg);
	e->code = code;
	return code;
}

static void oom(void)
{
	static const char m[] = "evt: out of memory\n";
	ssize_t r = write(2, m, sizeof(m) - 1);
	(void)r;
	abort();
}

void *evt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *evt_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *evt_xstrdup(const char *s)
{
	return evt_xstrndup(s, strlen(s));
}

char *evt_xstrndup(const char *s, size_t n)
{
	char *p = evt_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void evt_buf_grow(struct evt_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (need < b->len)
		oom();
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			oom();
		cap *= 2;
	}
	b->p = evt_xrealloc(b->p, cap);
	b->cap = cap;
}

void evt_buf_add(struct evt_buf *b, const void *s, size_t n)
{
	evt_buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void evt_buf_addstr(struct evt_buf *b, const char *s)
{
	evt_buf_add(b, s, strlen(s));
}

void evt_buf_vaddf(struct evt_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	evt_buf_grow(b, 64);
	va_copy(again, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		evt_buf_grow(b, (size_t)n);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n >= 0)
		b->len += (size_t)n;
}

void evt_buf_addf(struct evt_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evt_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void evt_buf_addi64(struct evt_buf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--q = '-';
	evt_buf_add(b, q, (size_t)(e - q));
}

void evt_strvec_addf(struct evt_strvec *sv, const char *fmt, ...)
{
	va_list ap;

	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 16;
		sv->at = evt_xrealloc(sv->at, sv->cap * sizeof(*sv->at));
		sv->v = evt_xrealloc(sv->v, (sv->cap + 1) * sizeof(*sv->v));
	}
	sv->at[sv->n++] = sv->text.len;
	va_start(ap, fmt);
	evt_buf_vaddf(&sv->text, fmt, ap);
	va_end(ap);
	evt_buf_addc(&sv->text, '\0');
}

char **evt_strvec_get(struct evt_strvec *sv)
{
	size_t i;

	if (!sv->v)
		sv->v = evt_xmalloc(sizeof(*sv->v));
	for (i = 0; i < sv->n; i++)
		sv->v[i] = sv->text.p + sv->at[i];
	sv->v[sv->n] = NULL;
	return sv->v;
}

void evt_strvec_reset(struct evt_strvec *sv)
{
	evt_buf_reset(&sv->text);
	sv->n = 0;
}

void evt_strvec_release(struct evt_strvec *sv)
{
	evt_buf_release(&sv->text);
	free(sv->at);
	free(sv->v);
	sv->at = NULL;
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void evt_buf_release(struct evt_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int evt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t evt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t evt_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t evt_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 1099511628211ULL;
	return h;
}

int evt_poll_signals(struct pollfd *fds, unsigned long n, int timeout_ms)
{
	struct timespec ts;
	sigset_t mask;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
	}
	sigprocmask(SIG_BLOCK, NULL, &mask);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	return ppoll(fds, (nfds_t)n, timeout_ms >= 0 ? &ts : NULL, &mask);
}

int evt_read_file(const char *path, struct evt_buf *b, struct evt_err *e)
{
	char chunk[65536];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return evt_errf(e, EVT_EUSAGE, "cannot open '%s': %s", path,
				strerror(errno));
	evt_buf_reset(b);
	evt_buf_grow(b, 0);
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			got = errno;
			close(fd);
			return evt_errf(e, EVT_EUSAGE, "cannot read '%s': %s",
					path, strerror((int)got));
		}
		evt_buf_add(b, chunk, (size_t)got);
	}
	close(fd);
	if (strlen(b->p) != b->len)
		return evt_errf(e, EVT_EUSAGE, "cannot read '%s': it holds a "
				"NUL byte", path);
	return 0;
}

int evt_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int evt_nap(int ms)
{
	return evt_poll_signals(NULL, 0, ms) < 0 && errno == EINTR;
}

/* ndjson.c - read newline-delimited input: lines of any length */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"

#define CHUNK (256 * 1024)

void evt_lines_init(struct evt_lines *r, int fd, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->name = name;
}

int evt_lines_ready(const struct evt_lines *r)
{
	return r->eof || (r->end > r->start &&
			  memchr(r->buf + r->start, '\n', r->end - r->start));
}

int evt_lines_fill(struct evt_lines *r)
{
	ssize_t got;

	/* Make room: move the partial line down, or grow. */
	if (r->start && r->cap - r->end < CHUNK / 4) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < CHUNK / 4) {
		r->cap = r->cap ? r->cap * 2 : CHUNK;
		r->buf = evt_xrealloc(r->buf, r->cap);
	}
	do
		got = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -1;
	if (got == 0)
		r->eof = 1;
	r->end += (size_t)got;
	return got > 0;
}

int evt_lines_next(struct evt_lines *r, const char **line, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = r->end > r->start + scanned ?
			   memchr(r->buf + r->start + scanned, '\n',
				  r->end - r->start - scanned) : NULL;

		if (nl || (r->eof && r->end > r->start)) {
			char *s = r->buf + r->start;
			size_t n = nl ? (size_t)(nl - s) : r->end - r->start;

			r->start += nl ? n + 1 : n;
			if (n && s[n - 1] == '\r')
				n--;
			r->lineno++;
			*line = s;
			*len = n;
			return 1;
		}
		if (r->eof)
			return 0;
		scanned = r->end - r->start;
		if (evt_lines_fill(r) < 0)
			return -1;
	}
}

void evt_lines_release(struct evt_lines *r)
{
	free(r->buf);
	r->buf = NULL;
}

int evt_blank(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
		s++;
		n--;
	}
	return n == 0;
}

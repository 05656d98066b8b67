/* ndjson.h - read newline-delimited input: lines of any length */
#ifndef EVT_NDJSON_H
#define EVT_NDJSON_H

#include <stddef.h>
#include "util.h"

struct evt_lines {
	int fd;
	const char *name;	/* for messages: "<stdin>" or a path */
	char *buf;
	size_t cap, start, end;	/* unread bytes are buf[start..end) */
	int eof;
	size_t lineno;
};

void evt_lines_init(struct evt_lines *r, int fd, const char *name);
/* Next line without its "\n" or "\r\n".  Returns 1 with *line, *len set
 * (valid until the next call), 0 at end of input, -1 on a read error
 * (errno set). */
int evt_lines_next(struct evt_lines *r, const char **line, size_t *len);
/* For a reader that waits with poll(2) before reading: is a whole line,
 * or the end of input, in the buffer (evt_lines_next will not read)?
 * evt_lines_fill reads once: 1, 0 at end of input, -1 on a read error. */
int evt_lines_ready(const struct evt_lines *r);
int evt_lines_fill(struct evt_lines *r);
void evt_lines_release(struct evt_lines *r);
/* Is the line s[0..n) blank: nothing but spaces, tabs and CRs? */
int evt_blank(const char *s, size_t n);

#endif

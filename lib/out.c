/* out.c - buffered record output to a file descriptor */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

#define BLOCK (64 * 1024)

void evt_out_init(struct evt_out *o, int fd, int mode)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->live = mode == EVT_OUT_LIVE || (mode == EVT_OUT_AUTO && isatty(fd));
	evt_buf_grow(&o->b, BLOCK + 4096);
}

int evt_out_flush(struct evt_out *o)
{
	size_t off = 0;

	if (o->err) {
		o->b.len = 0;
		return -1;
	}
	while (off < o->b.len) {
		ssize_t w = write(o->fd, o->b.p + off, o->b.len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			o->b.len = 0;
			return -1;
		}
		off += (size_t)w;
	}
	o->b.len = 0;
	return 0;
}

int evt_out_record(struct evt_out *o)
{
	if (o->live || o->b.len >= BLOCK)
		return evt_out_flush(o);
	return o->err ? -1 : 0;
}

int evt_out_close(struct evt_out *o, struct evt_err *e)
{
	int r = evt_out_flush(o);

	evt_buf_release(&o->b);
	if (r < 0 && o->err == EPIPE)
		return 0;	/* the reader has gone: the end, quietly */
	if (r < 0)
		return evt_errf(e, EVT_EFAIL, "write error: %s",
				strerror(o->err));
	return 0;
}

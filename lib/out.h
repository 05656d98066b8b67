/* out.h - buffered record output to a file descriptor */
#ifndef EVT_OUT_H
#define EVT_OUT_H

#include "util.h"

/* Output goes through one buffer.  A live writer (evt-tail, a terminal)
 * writes every record out at once; otherwise records are written in large
 * blocks.  A failed write is remembered and reported by evt_out_close. */
struct evt_out {
	int fd;
	int live;
	int err;		/* errno of the first failed write, or 0 */
	struct evt_buf b;
};

enum { EVT_OUT_BLOCK, EVT_OUT_LIVE, EVT_OUT_AUTO };

/* AUTO: live when fd is a terminal. */
void evt_out_init(struct evt_out *o, int fd, int mode);
/* Call after each record is in o->b; returns -1 once a write failed. */
int evt_out_record(struct evt_out *o);
int evt_out_flush(struct evt_out *o);
/* Flush and release; 0, or EVT_EFAIL with "write error: ..." in e.  A
 * reader that has gone (EPIPE, with SIGPIPE ignored: evt_cli_sigpipe) is
 * no error: the output ends there. */
int evt_out_close(struct evt_out *o, struct evt_err *e);

#endif

/* msg.h - the program's name, its messages on stderr, the end of stdout
 *
 * What even the smallest program (the evt front) needs, apart from the
 * rest of libevt: library modules never print (they return a struct
 * evt_err, or call a function their caller gives them, such as
 * evt_warn_msg); cmd/ prints with these and decides to exit.
 */
#ifndef EVT_MSG_H
#define EVT_MSG_H

#include "util.h"

/* The program's name, at the start of every message. */
extern const char *evt_prog;

/* "PROG: message" on stderr. */
void evt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a message made already: a callback for the library. */
void evt_warn_msg(const char *msg);
/* Print e->msg and return e->code. */
int evt_fail(const struct evt_err *e);
/* A usage error: print and return EVT_EUSAGE. */
int evt_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* What an option reader (evt_cli_common, a program's own) returns besides
 * an exit status. */
enum {
	EVT_CLI_OTHER = -1,	/* not one of its options */
	EVT_CLI_NEXT = -2,	/* taken: parsing goes on */
};

/* The SIGPIPE policy of every program (SPEC.md section 5): ignored, so
 * that a write to a stdout whose reader has gone fails with EPIPE, which
 * evt_out and evt_flush_stdout take for the end of the output, not a
 * failure: the program stops printing and exits 0, and what it committed
 * stays committed.  Children get the default back (proc.c). */
void evt_cli_sigpipe(void);
/* fflush(stdout), and "write error: ..." with EVT_EFAIL if it failed; 0
 * when the reader has gone (EPIPE). */
int evt_flush_stdout(void);

#endif

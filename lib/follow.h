/* follow.h - follow the store: deliver each new record once, in order */
#ifndef EVT_FOLLOW_H
#define EVT_FOLLOW_H

#include <signal.h>
#include "store.h"

/* Reads what is after q.after, hands each record to fn (q.after moves past
 * it once fn returned 0), then waits for the store's wake-up and reads
 * again, until fn returns non-zero (EVT_STOP: stop quietly) or *stop is set.
 * A wake-up that finds nothing is checked again after 1, 2, 4 ... 64 ms (a
 * commit may become visible just after its write woke us); with no
 * wake-up at all the store is read once a second as a safety net. */
int evt_follow(struct evt_store *st, struct evt_query *q, evt_record_fn fn,
	       void *ctx, volatile sig_atomic_t *stop, struct evt_err *e);

/* One step of that schedule for a caller with its own read loop: found
 * says whether the last read found records; *recheck (start at 0) keeps
 * the state between calls.  Returns at once after a read that found
 * records. */
int evt_follow_wait(struct evt_store *st, int *recheck, int found,
		    volatile sig_atomic_t *stop, struct evt_err *e);

/* Has SIGINT or SIGTERM arrived (set *stop, or pending while blocked)? */
int evt_follow_stopping(volatile sig_atomic_t *stop);

/* Make evt_follow end (return 0) once the reader of fd, a pipe or a socket
 * it writes to, has gone: checked at each wake-up, at least once a second,
 * so that `evt-tail | head -1` ends when nothing more is committed. */
void evt_follow_output(int fd);

/* Block SIGINT and SIGTERM and make them set *flag; they are let through
 * only while evt_follow sleeps, so a record in hand is always finished. */
void evt_follow_signals(volatile sig_atomic_t *flag);

#endif

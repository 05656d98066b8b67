/* append.h - append events in one transaction, with optimistic concurrency */
#ifndef EVT_APPEND_H
#define EVT_APPEND_H

#include <stdio.h>
#include "ndjson.h"
#include "out.h"
#include "store.h"

enum evt_expect { EVT_EXPECT_ANY, EVT_EXPECT_EXISTS, EVT_EXPECT_VERSION };

/* An append in progress: the store is opened and the transaction begun
 * with the first event (an append of nothing only opens the store, at
 * the commit).  Events
 * are inserted in batches (copied into batch until it is full or the
 * commit comes); stored records wait in a spool (memory, then a temporary
 * file) and are printed only once the commit succeeded. */
struct evt_appender {
	const struct evt_store_opts *so;
	struct evt_store *st;		/* owned; opened by the first add */
	int quiet;
	enum evt_expect expect;		/* checked at each aggregate's first */
	int64_t expect_version;		/* event, in single-aggregate use */
	struct evt_buf line;		/* the record being printed */
	struct evt_buf spool;
	FILE *spill;
	int64_t last_ms;		/* the timestamp cache */
	char ts[EVT_TS_LEN + 1];
	void *versions;			/* (stream, id) -> current version */
	size_t count;
	struct evt_buf batch;		/* the rows not inserted yet */
	void *rows;			/* their places in batch */
	size_t nrows, rows_cap;
	struct evt_record *recs;	/* the batch as records, to insert */
	const char *key;		/* --key: NULL, or the idempotency key */
	int replay;			/* KEY was used: append nothing, print
					   what its append stored */
	struct evt_key k;		/* KEY's aggregate and positions */
};

void evt_appender_init(struct evt_appender *ap, const struct evt_store_opts *so,
		       int quiet);
/* Append one event: r->event the compact JSON text of an object with a
 * string "type"; r->version 0 for the next one, else the version the
 * record must get; r->ts NULL for now; r->position not read.  place: the
 * input place for messages, or NULL. */
int evt_appender_add(struct evt_appender *ap, const struct evt_record *r,
		     const char *place, struct evt_err *e);
/* Commit and print what was stored to out.  Nothing added: the store is
 * opened, which makes it (file and tables) when it is missing, and nothing
 * else is done.
 * With ap->key set (before the first add): a KEY already stored appends
 * nothing and prints the records of the append it came with; the same KEY
 * for another aggregate is EVT_ECONFLICT; a KEY goes with one aggregate. */
int evt_appender_commit(struct evt_appender *ap, struct evt_out *out,
			struct evt_err *e);
/* Roll back (if not committed) and free everything. */
void evt_appender_release(struct evt_appender *ap);

/* Append every line of in: events of stream/id, or records when stream is
 * NULL.  Blank lines are skipped.  Messages name "<stdin>:LINE". */
int evt_append_lines(struct evt_appender *ap, struct evt_lines *in,
		     const char *stream, const char *id, struct evt_err *e);

#endif

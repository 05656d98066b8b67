/* fold.h - folding events into aggregates
 *
 * An aggregate starts as {...init, "aggregateId": ID, "version": 0}; each
 * event patches it through the reducer, then sets its version.  Three
 * sources of events: one aggregate of the store (optionally resumed from a
 * snapshot, aggregate persistence), every aggregate of a stream, and
 * records on a file descriptor, grouped by (stream, aggregateId).
 */
#ifndef EVT_FOLD_H
#define EVT_FOLD_H

#include "agg.h"
#include "ndjson.h"
#include "reduce.h"
#include "store.h"

/* Called with an aggregate: after each event (--scan), or once at the end.
 * A non-zero return stops the fold and is returned. */
typedef int (*evt_agg_fn)(void *ctx, struct evt_agg *a);

struct evt_fold {
	struct evt_reducer *r;		/* not owned */
	struct evt_buf init;		/* compact JSON object */
	char what[64];			/* reducer and init, for snapshots */
	evt_agg_fn each;		/* after every event, or NULL */
	void *each_ctx;
	int64_t snap_version;		/* of the snapshot loaded, -1: none */
	int64_t snap_position;
	struct evt_buf ev, tmp;
	char place[64];
	/* Many aggregates, in order of first appearance. */
	struct evt_agg **aggs;
	size_t naggs, cap;
	struct evt_index index;		/* of aggs, by (stream, id) */
	void (*warn)(const char *msg);	/* told of a snapshot that cannot be
					   kept; NULL: not told */
};

/* init: a JSON object (NULL: {}); anything else is EVT_EUSAGE. */
int evt_fold_init(struct evt_fold *f, struct evt_reducer *r,
		  const char *init, struct evt_err *e);
/* Free every aggregate the fold made (evt_fold_stream, evt_fold_lines). */
void evt_fold_release(struct evt_fold *f);

/* a as it is before any event. */
void evt_fold_start(struct evt_fold *f, struct evt_agg *a, const char *stream,
		    size_t slen, const char *id, size_t idlen);
/* Bring a's members up to date before it is printed or saved (the fold
 * does so itself before f->each). */
void evt_fold_sync(struct evt_fold *f, struct evt_agg *a);
/* Release a, and what the reducer keeps for it. */
void evt_fold_drop(struct evt_fold *f, struct evt_agg *a);
/* Fold one record into a.  valid: r->event is known to be a compact JSON
 * object (else it is checked).  r->version 0: the next version.  place
 * names the record in messages; NULL: "position N". */
int evt_fold_event(struct evt_fold *f, struct evt_agg *a,
		   const struct evt_record *r, int valid, const char *place,
		   struct evt_err *e);

/* One aggregate of the store.  evt_fold_snapshot resumes a (fresh from
 * evt_fold_start) from its snapshot under key, when there is one made by
 * the same reducer and init.  evt_fold_catch_up folds the events after
 * a->position, at most limit of them (< 0: all).  evt_fold_save writes the
 * snapshot when a is newer than the one loaded; as the snapshot is a cache,
 * a failure to write it is no error: f->warn is told. */
int evt_fold_snapshot(struct evt_fold *f, struct evt_store *st,
		      struct evt_agg *a, const char *key, struct evt_err *e);
int evt_fold_catch_up(struct evt_fold *f, struct evt_store *st,
		      struct evt_agg *a, int64_t limit, struct evt_err *e);
void evt_fold_save(struct evt_fold *f, struct evt_store *st,
		   struct evt_agg *a, const char *key);

/* Every aggregate of stream, or of the records read from in.  Aggregates
 * stay in f->aggs, in order of first appearance. */
int evt_fold_stream(struct evt_fold *f, struct evt_store *st,
		    const char *stream, struct evt_err *e);
int evt_fold_lines(struct evt_fold *f, struct evt_lines *in,
		   struct evt_err *e);

#endif

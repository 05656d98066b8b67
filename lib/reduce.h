/* reduce.h - reducers: what an event does to an aggregate
 *
 * A reducer turns (event, aggregate, meta) into a patch that is merged into
 * the aggregate's state.  Three kinds:
 *   merge  the event itself, less "type" and "__persisted" (reduce.c)
 *   jq     a jq program run by libjq in this process (reduce_jq.c)
 *   exec   one co-process for the whole fold, a line in and a line out per
 *          event (reduce_exec.c)
 * The fold (fold.c) sets the aggregate's version and position after each
 * event; a reducer only patches the members.
 */
#ifndef EVT_REDUCE_H
#define EVT_REDUCE_H

#include "agg.h"
#include "record.h"
#include "util.h"

struct evt_reducer;

struct evt_reducer_ops {
	/* Apply one event: ev->event is a compact JSON object.  Messages
	 * need not name the event: the fold puts its place in front. */
	int (*apply)(struct evt_reducer *r, struct evt_agg *a,
		     const struct evt_record *ev, struct evt_err *e);
	/* Bring a's members up to date with what the reducer keeps aside
	 * (the jq reducer prints its answers to text only when needed).
	 * May be NULL. */
	void (*sync)(struct evt_reducer *r, struct evt_agg *a);
	/* The aggregate's state was replaced or is going away: drop what the
	 * reducer keeps in a->priv.  May be NULL. */
	void (*forget)(struct evt_reducer *r, struct evt_agg *a);
	/* The fold is over: a co-process is told so and waited for.  May be
	 * NULL. */
	int (*finish)(struct evt_reducer *r, struct evt_err *e);
	void (*free)(struct evt_reducer *r);
};

struct evt_reducer {
	const struct evt_reducer_ops *ops;
	/* What the reducer is, for snapshots: a snapshot made by another
	 * reducer (or another --init) is not used.  "merge", "jq:HASH",
	 * "exec:HASH". */
	char what[32];
	struct evt_buf tmp;		/* scratch for every kind */
};

struct evt_reducer *evt_reducer_merge(void);
/* A program that does not compile is EVT_EUSAGE with jq's message. */
int evt_reducer_jq(struct evt_reducer **rp, const char *program,
		   struct evt_err *e);
/* COMMAND is run by /bin/sh -c at the first event.  timeout_ms >= 0:
 * stopped that long after its start (SIGTERM, then SIGKILL), EVT_EPROG.
 * note (or NULL) is told once when it has not answered for EVT_NOTE_MS. */
struct evt_reducer *evt_reducer_exec(const char *command, int timeout_ms,
				     void (*note)(const char *msg));

int evt_reducer_apply(struct evt_reducer *r, struct evt_agg *a,
		      const struct evt_record *ev, struct evt_err *e);
void evt_reducer_sync(struct evt_reducer *r, struct evt_agg *a);
void evt_reducer_forget(struct evt_reducer *r, struct evt_agg *a);
int evt_reducer_finish(struct evt_reducer *r, struct evt_err *e);
void evt_reducer_free(struct evt_reducer *r);

/* Helpers for reducer modules. */
void evt_reducer_name(struct evt_reducer *r, const char *kind,
		      const char *text);
/* Merge a patch answered by a reducer (compact JSON text of any kind):
 * an object is merged, null ignored, anything else is EVT_EINPUT. */
int evt_reducer_patch(struct evt_agg *a, const char *patch, size_t n,
		      const char *who, struct evt_buf *tmp, struct evt_err *e);
/* The record without its event, as the meta object of SPEC.md:
 * {"position":..,"stream":..,"aggregateId":..,"version":..,"timestamp":..} */
void evt_meta_print(struct evt_buf *out, const struct evt_record *r);

#endif

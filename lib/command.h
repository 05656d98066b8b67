/* command.h - run a command against an aggregate (evtstore createCommands)
 *
 * Fold the aggregate, give PROGRAM {"command":..,"aggregate":..} on stdin,
 * append the events it prints expecting the version folded, and on a
 * version conflict fold again and rerun it.
 */
#ifndef EVT_COMMAND_H
#define EVT_COMMAND_H

#include "fold.h"
#include "store.h"

struct evt_command {
	const struct evt_store_opts *so;
	struct evt_fold *fold;		/* reducer and init */
	const char *stream, *id;
	const char *persist;		/* snapshot KEY, or NULL */
	const char *name;		/* COMMAND, the command's "type" */
	const char *body;		/* compact JSON object */
	char *const *argv;		/* PROGRAM and its arguments */
	int retries;			/* reruns after a conflict */
	const char *key;		/* idempotency KEY, or NULL */
	int timeout_ms;			/* PROGRAM is stopped after it; < 0:
					   no limit */
	void (*note)(const char *msg);	/* told once of a PROGRAM that keeps
					   silent, or NULL */
};

/* Check BODY and append its compact form to out; EVT_EUSAGE if it is not
 * a JSON object. */
int evt_command_body(const char *s, struct evt_buf *out, struct evt_err *e);

/* Run the command.  The resulting aggregate (no newline) is appended to
 * result.  PROGRAM failing is EVT_EPROG (nothing appended), events it
 * prints that are not valid EVT_EINPUT, conflicts beyond the retries
 * EVT_ECONFLICT.  With a key already used for this aggregate, PROGRAM is
 * not run and nothing is appended (for another aggregate: EVT_ECONFLICT). */
int evt_command_run(const struct evt_command *c, struct evt_buf *result,
		    struct evt_err *e);

/* Parse a command program's output into events: NDJSON objects or one JSON
 * array of them, each with a non-empty string "type".  Each compact event
 * is appended to evs and its end offset to ends (*n of them).  who names
 * the program in messages. */
int evt_command_events(const char *s, size_t len, struct evt_buf *evs,
		       size_t **ends, size_t *n, const char *who,
		       struct evt_err *e);

#endif

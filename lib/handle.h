/* handle.h - run an external program per event, with a durable bookmark */
#ifndef EVT_HANDLE_H
#define EVT_HANDLE_H

#include <signal.h>
#include "store.h"

/* --on [STREAM:]TYPE=COMMAND */
struct evt_on {
	const char *stream;	/* NULL: any stream */
	const char *type;
	const char *command;	/* run by /bin/sh -c */
};

struct evt_handler {
	const char *name;		/* the bookmark: NAME, or NAME[I/N]
					   for member I of a group of N */
	int group_i, group_n;		/* group_n > 0: that member */
	const char *const *streams;
	size_t nstreams;
	const struct evt_on *on;
	size_t non;
	char *const *argv;		/* -- PROGRAM ARG..., or NULL */
	int retries;
	int retry_delay_ms;
	int timeout_ms;			/* < 0: none */
	int continue_on_error;
	int tail, always_tail;
	int follow;
	int batch;			/* records per run of PROGRAM (>= 1) */
	int retry_parked;		/* run the parked events first */
	/* Told of a retry ("NAME: retry 1/2 in 200 ms: 'x' exited ... at
	 * ..."), of a parked event ("NAME: 'x' exited ... at ...; parked"),
	 * and at the end of how many were parked and of --on that matched
	 * no event. */
	void (*warn)(const char *msg);
	/* Told of progress now and then during a catch-up (NULL: not);
	 * done: the catch-up is over. */
	void (*progress)(int64_t pos, int64_t head, int done);
};

/* Parse "[STREAM:]TYPE=COMMAND"; NULL or what is wrong. */
const char *evt_on_parse(char *arg, struct evt_on *on);

/* Handle the events after the bookmark (the caller holds the NAME lock):
 * until caught up, or with follow until *stop.  Returns 0, EVT_EPROG when
 * a program failed (after its retries; the bookmark stays before that
 * event), or a store error. */
int evt_handle(struct evt_store *st, const struct evt_handler *h,
	       volatile sig_atomic_t *stop, struct evt_err *e);

/* --reset: set the bookmark name to position to (the caller holds the NAME
 * lock) and append {"name":..,"from":..,"to":..} to out.  A position past
 * the head of the store is EVT_EUSAGE. */
int evt_handle_reset(struct evt_store *st, const char *name, int64_t to,
		     struct evt_buf *out, struct evt_err *e);

/* --status: one JSON line per handler into out: every bookmark and every
 * handler of <events>_handlers in name order, or the names given in their
 * order.  head and lag are of its remembered STREAMs (lag: how many of
 * their events are after the bookmark), of the whole store for a bookmark
 * with none (evtstore's: "streams":null). */
int evt_handle_status(struct evt_store *st, char *const *names, size_t n,
		      struct evt_buf *out, struct evt_err *e);

/* --parked: the parked events of name in position order, each as its
 * record with "parked":{"status":..,"at":..} after "event", through out.
 * -1 when a write to out failed (evt_out_close says how). */
struct evt_out;
int evt_handle_parked(struct evt_store *st, const char *name,
		      struct evt_out *out, struct evt_err *e);

/* The members of the group NAME (bookmarks and remembered handlers named
 * "NAME[I/N]", whatever N), each once, in byte order; *n of them, to be
 * freed one by one and as an array. */
int evt_handle_members(struct evt_store *st, const char *name, char ***v,
		       size_t *n, struct evt_err *e);

/* --drop: delete the bookmark, parked events and remembered streams of
 * name (the caller holds the NAME lock) and append
 * {"name":..,"streams":..,"position":..,"parked":N} to out.  A name with
 * none of them is EVT_EUSAGE. */
int evt_handle_drop(struct evt_store *st, const char *name,
		    struct evt_buf *out, struct evt_err *e);

#endif

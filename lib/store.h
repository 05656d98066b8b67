/* store.h - the event store: one interface, a backend per kind of database
 *
 * evt_store_open picks the backend from the URL's scheme (the table in
 * store.c): postgres:// and postgresql:// are PostgreSQL, mysql:// and
 * mariadb:// MariaDB (libpq and libmariadb are loaded at run time, only
 * then); sqlite:PATH and a path are a SQLite file.
 * Every call returns 0 or an exit code with its message in the struct
 * evt_err.
 */
#ifndef EVT_STORE_H
#define EVT_STORE_H

#include <signal.h>
#include <stdint.h>
#include "record.h"
#include "util.h"

struct evt_store;

struct evt_store_opts {
	const char *url;		/* NULL: $EVT_DB, else events.db */
	const char *events_table;	/* NULL: $EVT_EVENTS_TABLE, else events */
	const char *bookmarks_table;	/* NULL: $EVT_BOOKMARKS_TABLE, ... */
	int write;			/* creates the schema when missing */
	int create;			/* creates a missing SQLite file (only
					   the programs that append) */
	int relaxed;			/* commits may be lost (never torn) by a
					   power failure: for bookmarks, where
					   that only means re-delivery */
	int blind;			/* inserts need not give back the
					   positions and timestamps stored */
	int keys;			/* writes idempotency keys: the table
					   is made when the store is opened */
	int append;			/* opened to append: the tables are
					   looked for (and made) by the
					   first write, not at open */
};

/* What to read.  streams == NULL means every stream; id == NULL every
 * aggregate.  One stream and an id read in version order, everything else
 * in position order; last reverses it. */
struct evt_query {
	const char *const *streams;
	size_t nstreams;
	const char *id;
	int64_t after;			/* positions greater than this */
	int64_t limit;			/* < 0: no limit */
	const char *const *types;	/* NULL: every type */
	size_t ntypes;
	int last;			/* newest first */
	int safe;			/* only the gap-free prefix: positions
					   that no running transaction can
					   still commit below (PostgreSQL;
					   a no-op on SQLite, whose writers
					   commit in position order) */
	int group_n, group_i;		/* group_n > 0: only the aggregates
					   of member group_i of group_n
					   (group.h), chosen by the server */
};

/* Called per record; a non-zero return stops the read and is returned,
 * but EVT_STOP, which ends it with 0. */
typedef int (*evt_record_fn)(void *ctx, const struct evt_record *r);

/* An evtstore schema name check: [A-Za-z_][A-Za-z0-9_]*, at most 63 bytes
 * a part, "schema.name" allowed when dotted is set.  NULL or a message. */
const char *evt_table_name_check(const char *name, int dotted);

/* The store that o names (SPEC.md section 2): the URL's scheme chooses the
 * backend (the table in store.c), a path or sqlite:PATH is a SQLite file.
 * An unknown scheme, a bad path or table name, a bad EVT_SYNC or
 * EVT_BUSY_TIMEOUT are EVT_EUSAGE. */
int evt_store_open(struct evt_store **stp, const struct evt_store_opts *o,
		   struct evt_err *e);
void evt_store_close(struct evt_store *st);

/* For a follower, before evt_store_open: while the SQLite file of o does
 * not exist, wait for it to be made (inotify on its directory: no CPU
 * spent), until it does or *stop is set (SIGINT or SIGTERM, which the
 * caller blocks; they get through while this sleeps).  *waited says
 * whether the file was missing: whatever the store holds then was
 * committed after the caller started.  Other backends return at once. */
int evt_store_await(const struct evt_store_opts *o,
		    volatile sig_atomic_t *stop, int *waited,
		    struct evt_err *e);
/* The URL or path as the user gave it, for messages. */
const char *evt_store_url(const struct evt_store *st);
/* The store as a child process should open it, in its environment:
 * "EVT_DB=..." (a SQLite path made absolute, so that a program that
 * changes directory still finds it; any other URL as given),
 * "EVT_EVENTS_TABLE=..." and "EVT_BOOKMARKS_TABLE=..." (the names in use,
 * however they were given).  The strings live in b; env[0..2] point to
 * them, env[3] is NULL. */
void evt_store_child_env(const struct evt_store *st, struct evt_buf *b,
			 char *env[4]);

/* A write transaction: begin, then version/insert, then commit or
 * rollback.  On SQLite begin takes the write lock (BEGIN IMMEDIATE). */
int evt_store_begin(struct evt_store *st, struct evt_err *e);
int evt_store_version(struct evt_store *st, const char *stream, size_t slen,
		      const char *id, size_t idlen, int64_t *version,
		      struct evt_err *e);
/* Insert r (version, timestamp set; position ignored); sets r->position.
 * A duplicate (stream, id, version) is EVT_ECONFLICT. */
int evt_store_insert(struct evt_store *st, struct evt_record *r,
		     struct evt_err *e);
/* Insert n rows in this order, as one batch (PostgreSQL sends them in one
 * statement); sets each row's position.  A duplicate (stream, id,
 * version) is EVT_ECONFLICT, with *bad the index of that row when the
 * backend knows it, else n (the transaction is then aborted). */
int evt_store_insert_many(struct evt_store *st, struct evt_record *rows,
			  size_t n, size_t *bad, struct evt_err *e);
int evt_store_commit(struct evt_store *st, struct evt_err *e);
/* evt_store_insert_many, then evt_store_commit: on PostgreSQL in one
 * round trip.  A failure leaves the transaction to roll back. */
int evt_store_insert_commit(struct evt_store *st, struct evt_record *rows,
			    size_t n, size_t *bad, struct evt_err *e);
void evt_store_rollback(struct evt_store *st);

int evt_store_read(struct evt_store *st, const struct evt_query *q,
		   evt_record_fn fn, void *ctx, struct evt_err *e);
/* The greatest position matching q (streams, id, types), or 0.  With
 * q->safe, the greatest one of the gap-free prefix: a follower starts
 * there and misses no transaction that commits a smaller position late. */
int evt_store_head(struct evt_store *st, const struct evt_query *q,
		   int64_t *head, struct evt_err *e);
/* How many events match q (streams, after; not types, id or limit),
 * counted on the (stream, position) index: as cheap as the number
 * counted. */
int evt_store_count(struct evt_store *st, const struct evt_query *q,
		    int64_t *n, struct evt_err *e);

/* What is in the store: with stream NULL, one row per stream (events,
 * aggregates, position: its newest); else one row per aggregate of that
 * stream (id, version, position: its newest).  In byte order of the names,
 * walking the (stream, aggregate_id, version) index: no sort of the
 * table. */
struct evt_summary {
	const char *stream, *id;
	size_t stream_len, id_len;
	int64_t events, aggregates, version, position;
};
typedef int (*evt_summary_fn)(void *ctx, const struct evt_summary *s);
int evt_store_summary(struct evt_store *st, const char *stream,
		      evt_summary_fn fn, void *ctx, struct evt_err *e);

/* Aggregate persistence: one snapshot per (stream, aggregate) in
 * <events>_snapshots, tagged with the caller's KEY, holding the state text,
 * the version folded and the position of that version's event.  get:
 * *found is 0 when there is none or it has another key. */
int evt_store_snapshot_get(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   struct evt_buf *state, int64_t *version,
			   int64_t *position, int *found, struct evt_err *e);
/* Write (or replace) the snapshot; creates the table when missing. */
int evt_store_snapshot_put(struct evt_store *st, const char *stream,
			   const char *id, const char *key,
			   const char *state, size_t len, int64_t version,
			   int64_t position, struct evt_err *e);

/* Idempotency keys (<events>_keys), inside a write transaction (after
 * evt_store_begin): the stream, aggregate id and first and last position
 * of the append that KEY was given with.  get: *found is 0 when KEY is
 * new.  put: record it, in the same transaction as the append (the table
 * is created when missing). */
struct evt_key {
	struct evt_buf stream, id;
	int64_t first, last;
};
int evt_store_key_get(struct evt_store *st, const char *key,
		      struct evt_key *k, int *found, struct evt_err *e);
int evt_store_key_put(struct evt_store *st, const char *key,
		      const char *stream, size_t slen, const char *id,
		      size_t idlen, int64_t first, int64_t last,
		      struct evt_err *e);

/* Handler bookmarks (evtstore's bookmarks table). */
int evt_store_bookmark_get(struct evt_store *st, const char *name,
			   int64_t *pos, int *found, struct evt_err *e);
/* Set and commit (durably) the bookmark. */
int evt_store_bookmark_set(struct evt_store *st, const char *name,
			   int64_t pos, struct evt_err *e);
/* Every bookmark (names == NULL) or those named, in name order. */
typedef int (*evt_bookmark_fn)(void *ctx, const char *name, int64_t pos);
int evt_store_bookmarks(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			struct evt_err *e);

/* Parked events of handlers (<events>_parked). */
int evt_store_park(struct evt_store *st, const char *handler,
		   int64_t position, int status, struct evt_err *e);
int evt_store_parked_count(struct evt_store *st, const char *handler,
			   int64_t *n, struct evt_err *e);
/* Its parked events in position order: position, exit status and the time
 * it was parked ("2026-11-26T11:39:47.123Z"). */
typedef int (*evt_parked_fn)(void *ctx, int64_t position, int status,
			     const char *at);
int evt_store_parked(struct evt_store *st, const char *handler,
		     evt_parked_fn fn, void *ctx, struct evt_err *e);
/* Remove the parked event at position, or every one (position < 0). */
int evt_store_unpark(struct evt_store *st, const char *handler,
		     int64_t position, struct evt_err *e);
/* Delete the bookmark. */
int evt_store_bookmark_delete(struct evt_store *st, const char *name,
			      struct evt_err *e);

/* What evt-handle remembers of a handler (<events>_handlers, one row per
 * bookmarks table and NAME): its STREAMs as a JSON array text, its group,
 * the times of its last start, end and failure, and that failure.
 * get: *found is 0 when there is no row (a bookmark of evtstore's).
 * start: written when a run starts (the table is made when missing); end:
 * when it ends, failure NULL for a run that did not fail. */
int evt_store_handler_get(struct evt_store *st, const char *name,
			  struct evt_buf *streams, int *found,
			  struct evt_err *e);
int evt_store_handler_start(struct evt_store *st, const char *name,
			    const char *streams, struct evt_err *e);
int evt_store_handler_end(struct evt_store *st, const char *name,
			  const char *failure, struct evt_err *e);
int evt_store_handler_delete(struct evt_store *st, const char *name,
			     struct evt_err *e);
/* Every handler of the bookmarks table, in name order. */
typedef int (*evt_handler_fn)(void *ctx, const char *name,
			      const char *streams);
int evt_store_handlers(struct evt_store *st, evt_handler_fn fn, void *ctx,
		       struct evt_err *e);

/* One process per handler NAME.  lock: 0 when taken, EVT_EBUSY when
 * another process holds it (wait: block until it is free).  The lock dies
 * with the process.  held: is it held by some process now? */
int evt_store_lock(struct evt_store *st, const char *name, int wait,
		   struct evt_err *e);
void evt_store_unlock(struct evt_store *st, const char *name);
int evt_store_lock_held(struct evt_store *st, const char *name, int *held,
			struct evt_err *e);

/* The wake-up: block until something may have been committed, timeout_ms
 * passed (-1: no limit), or a signal arrived.  Spurious returns are
 * allowed; a reader always re-reads from its last position. */
int evt_store_wait(struct evt_store *st, int timeout_ms, struct evt_err *e);

#endif

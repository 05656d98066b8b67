/* store_impl.h - what a backend provides; only store*.c include this
 *
 * A backend is lib/store_<name>.c with its struct evt_backend (designated
 * initializers; NULL for the optional entries), declared at the end of
 * this file and named by its URL schemes in the table of store.c.  store.c
 * has classified the URL, checked the table names and parsed the settings
 * (struct evt_store) before the backend's open is called.  A client
 * library is loaded with dlopen (dl.h), from one X-macro list of the
 * functions used. */
#ifndef EVT_STORE_IMPL_H
#define EVT_STORE_IMPL_H

#include "store.h"

struct evt_backend {
	const char *name;
	int schemas;		/* table names may be schema.name */
	int (*open)(struct evt_store *st, struct evt_err *e);
	void (*close)(struct evt_store *st);
	int (*begin)(struct evt_store *st, struct evt_err *e);
	int (*version)(struct evt_store *st, const char *stream, size_t slen,
		       const char *id, size_t idlen, int64_t *v,
		       struct evt_err *e);
	int (*insert)(struct evt_store *st, struct evt_record *r,
		      struct evt_err *e);
	int (*commit)(struct evt_store *st, struct evt_err *e);
	void (*rollback)(struct evt_store *st);
	/* q->types is always NULL here: store.c filters types itself. */
	int (*read)(struct evt_store *st, const struct evt_query *q,
		    evt_record_fn fn, void *ctx, struct evt_err *e);
	int (*head)(struct evt_store *st, const struct evt_query *q,
		    int64_t *head, struct evt_err *e);
	int (*summary)(struct evt_store *st, const char *stream,
		       evt_summary_fn fn, void *ctx, struct evt_err *e);
	int (*snapshot_get)(struct evt_store *st, const char *stream,
			    const char *id, const char *key,
			    struct evt_buf *state, int64_t *version,
			    int64_t *position, int *found, struct evt_err *e);
	int (*snapshot_put)(struct evt_store *st, const char *stream,
			    const char *id, const char *key,
			    const char *state, size_t len, int64_t version,
			    int64_t position, struct evt_err *e);
	int (*key_get)(struct evt_store *st, const char *key,
		       struct evt_key *k, int *found, struct evt_err *e);
	int (*key_put)(struct evt_store *st, const char *key,
		       const char *stream, size_t slen, const char *id,
		       size_t idlen, int64_t first, int64_t last,
		       struct evt_err *e);
	int (*bookmark_get)(struct evt_store *st, const char *name,
			    int64_t *pos, int *found, struct evt_err *e);
	int (*bookmark_set)(struct evt_store *st, const char *name,
			    int64_t pos, struct evt_err *e);
	int (*bookmarks)(struct evt_store *st, evt_bookmark_fn fn, void *ctx,
			 struct evt_err *e);
	int (*park)(struct evt_store *st, const char *handler,
		    int64_t position, int status, struct evt_err *e);
	int (*parked_count)(struct evt_store *st, const char *handler,
			    int64_t *n, struct evt_err *e);
	int (*parked)(struct evt_store *st, const char *handler,
		      evt_parked_fn fn, void *ctx, struct evt_err *e);
	int (*unpark)(struct evt_store *st, const char *handler,
		      int64_t position, struct evt_err *e);
	int (*bookmark_delete)(struct evt_store *st, const char *name,
			       struct evt_err *e);
	int (*handler_get)(struct evt_store *st, const char *name,
			   struct evt_buf *streams, int *found,
			   struct evt_err *e);
	int (*handler_start)(struct evt_store *st, const char *name,
			     const char *streams, struct evt_err *e);
	int (*handler_end)(struct evt_store *st, const char *name,
			   const char *failure, struct evt_err *e);
	int (*handler_delete)(struct evt_store *st, const char *name,
			      struct evt_err *e);
	int (*handlers)(struct evt_store *st, evt_handler_fn fn, void *ctx,
			struct evt_err *e);
	int (*count)(struct evt_store *st, const struct evt_query *q,
		     int64_t *n, struct evt_err *e);
	int (*lock)(struct evt_store *st, const char *name, int wait,
		    struct evt_err *e);
	void (*unlock)(struct evt_store *st, const char *name);
	int (*lock_held)(struct evt_store *st, const char *name, int *held,
			 struct evt_err *e);
	int (*wait)(struct evt_store *st, int timeout_ms, struct evt_err *e);
	/* NULL: store.c inserts the rows one by one. */
	int (*insert_many)(struct evt_store *st, struct evt_record *rows,
			   size_t n, size_t *bad, struct evt_err *e);
	/* NULL: insert_many (or insert), then commit. */
	int (*insert_commit)(struct evt_store *st, struct evt_record *rows,
			     size_t n, size_t *bad, struct evt_err *e);
	/* NULL: the store is there or not, no waiting.  Else evt_store_await
	 * for a store at path (a file) that does not exist yet. */
	int (*await)(const char *path, volatile sig_atomic_t *stop,
		     int *waited, struct evt_err *e);
};

/* EVT_SYNC */
enum evt_sync {
	EVT_SYNC_UNSET,		/* not given: the backend's default */
	EVT_SYNC_FULL,		/* "full" */
	EVT_SYNC_NORMAL,	/* "normal" */
};

/* What store.c hands a backend's open: the URL classified, the names
 * checked, the options and the settings of the environment parsed. */
struct evt_store {
	const struct evt_backend *be;
	void *impl;
	char *url;		/* as given */
	char *path;		/* SQLite: the file; PostgreSQL: the conninfo */
	char *events;		/* table names, checked */
	char *bookmarks;
	int write;
	int create;
	int relaxed;
	int blind;
	int keys;
	int append;
	enum evt_sync sync;
	int64_t busy_timeout;	/* EVT_BUSY_TIMEOUT, ms; -1: not given */
};

/* " ORDER BY ... [LIMIT n]" of the read query for q, the same SQL on both
 * backends. */
void evt_query_order(struct evt_buf *sql, const struct evt_query *q);

/* Results the pieces of a server backend give evt_server_read, beside 0,
 * EVT_STOP and the EVT_E* codes. */
enum {
	EVT_INTERRUPTED = -3,	/* a reconnect stopped by SIGINT/SIGTERM */
	EVT_LOST = -4,		/* the connection was lost; e says how */
};

/* A server backend's gap-safe read, in pieces (SPEC.md section 2). */
struct evt_read_ops {
	/* *upto: the end of the gap-free prefix above after */
	int (*horizon)(struct evt_store *st, int64_t after, int64_t *upto,
		       struct evt_err *e);
	/* the events of q up to upto (< 0: all); *got of them, the last
	 * at *last */
	int (*read_once)(struct evt_store *st, const struct evt_query *q,
			 int64_t upto, evt_record_fn fn, void *ctx,
			 int64_t *got, int64_t *last, struct evt_err *e);
	int (*reconnect)(struct evt_store *st, struct evt_err *e);
	/* EVT_READ_* of the connection now */
	unsigned (*state)(const struct evt_store *st);
	/* an error of horizon as the caller is to see it */
	int (*outward)(int rc);
	int hold_poll_ms;	/* held at a gap: look again this often */
};
#define EVT_READ_FOLLOWER 1u	/* waits (evt-tail, --follow): reconnects */
#define EVT_READ_IN_TX 2u	/* a transaction is open: never reconnects */
#define EVT_READ_HELD 4u	/* the last horizon stopped at a gap */

/* Read q with ops: a resumable read goes on after a lost connection of a
 * follower (at most 3 times in a row); a one-shot gap-safe read held at a
 * gap waits for the writers that may fill it, at most the busy timeout. */
int evt_server_read(struct evt_store *st, const struct evt_query *q,
		    const struct evt_read_ops *ops, evt_record_fn fn,
		    void *ctx, struct evt_err *e);


extern const struct evt_backend evt_sqlite_backend;
extern const struct evt_backend evt_pg_backend;
extern const struct evt_backend evt_my_backend;

#endif

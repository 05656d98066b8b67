/* store_impl.h - what a backend provides; only store*.c include this */
#ifndef EVT_STORE_IMPL_H
#define EVT_STORE_IMPL_H

#include "store.h"

struct evt_backend {
	const char *name;
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
};

struct evt_store {
	const struct evt_backend *be;
	void *impl;
	char *url;		/* as given */
	char *path;		/* SQLite: the file; PostgreSQL: the conninfo */
	char *events;		/* table names, checked */
	char *bookmarks;
	int write;
};

extern const struct evt_backend evt_sqlite_backend;

#endif

/* dl.h - load a shared library at run time and resolve its functions
 *
 * libpq and libjq are loaded with dlopen only when a PostgreSQL URL or a
 * jq reducer is given: start-up is a hot path, and linking them costs
 * every run.  A user lists the functions it calls once, as an X-macro, and
 * makes from it both the table of pointers (one member per function, of
 * the function's own type) and the list of names this binds:
 *
 *     #define PQ_FUNCS(X) X(PQconnectdbParams) X(PQstatus) ...
 *     static struct pq_api { PQ_FUNCS(EVT_DL_MEMBER) } pq;
 *     #define X(f) EVT_DL_FN(pq_api, f)
 *     static const struct evt_dl_fn pq_fns[] = { PQ_FUNCS(X) };
 *     #undef X
 * and calls pq.PQstatus(...).  Symbols are bound lazily (RTLD_LAZY): a
 * library's own dependencies cost nothing until used.
 */
#ifndef EVT_DL_H
#define EVT_DL_H

#include <stddef.h>

struct evt_dl_fn {
	const char *name;
	size_t off;		/* of its pointer in the table */
};

#define EVT_DL_MEMBER(f) __typeof__(&f) f;
#define EVT_DL_FN(type, f) { #f, offsetof(struct type, f) },

/* Load lib and fill the table api with the n functions of fns.  Returns the
 * library's handle (never closed), or NULL: *missing is then the function
 * the library lacks, or NULL when it could not be loaded at all (dlerror's
 * text in *err). */
void *evt_dl_bind(const char *lib, const struct evt_dl_fn *fns, size_t n,
		  void *api, const char **missing, const char **err);

#endif

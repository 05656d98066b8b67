/* index.c - a small hash index over the caller's array of items */
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "util.h"

void evt_index_grow(struct evt_index *x, size_t n, size_t first,
		    uint64_t (*hash)(const void *ctx, size_t i),
		    const void *ctx)
{
	size_t cap, i, j;

	if ((n + 1) * 2 <= x->cap)
		return;
	cap = x->cap ? x->cap * 2 : first;
	free(x->slot);
	x->slot = evt_xmalloc(cap * sizeof(*x->slot));
	memset(x->slot, 0, cap * sizeof(*x->slot));
	x->cap = cap;
	for (i = 0; i < n; i++) {
		j = hash(ctx, i) & (cap - 1);
		while (x->slot[j])
			j = (j + 1) & (cap - 1);
		x->slot[j] = (uint32_t)(i + 1);
	}
}

void evt_index_clear(struct evt_index *x)
{
	if (x->slot)
		memset(x->slot, 0, x->cap * sizeof(*x->slot));
}

void evt_index_release(struct evt_index *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = 0;
}

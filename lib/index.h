/* index.h - a small hash index over the caller's array of items
 *
 * Open addressing with linear probing: slot[j] is an item's number + 1,
 * 0 an empty slot; cap is 0 or a power of two, more than twice the items.
 * The items stay where the caller keeps them, in their order; the index
 * finds one by its hash and an equality the caller gives.  For the
 * members of an aggregate, the aggregates of a fold, the versions of an
 * append.
 */
#ifndef EVT_INDEX_H
#define EVT_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct evt_index {
	uint32_t *slot;
	size_t cap;
};

#define EVT_INDEX_INIT { NULL, 0 }

/* Before the item numbered n is added (items 0..n-1 are indexed): when
 * the index would be half full, make it twice as large (first first
 * slots), item i going in again by hash(ctx, i). */
void evt_index_grow(struct evt_index *x, size_t n, size_t first,
		    uint64_t (*hash)(const void *ctx, size_t i),
		    const void *ctx);
/* Every slot empty, the room kept. */
void evt_index_clear(struct evt_index *x);
void evt_index_release(struct evt_index *x);

/* The slot of the item of hash h that same(ctx, i) accepts, or else the
 * empty slot where a new one goes (*slot = its number + 1).  Inline, so
 * that same is too.  The index has room (evt_index_grow). */
static inline uint32_t *evt_index_find(const struct evt_index *x, uint64_t h,
				       int (*same)(const void *ctx, size_t i),
				       const void *ctx)
{
	size_t j = h & (x->cap - 1);

	while (x->slot[j] && !same(ctx, x->slot[j] - 1))
		j = (j + 1) & (x->cap - 1);
	return &x->slot[j];
}

#endif

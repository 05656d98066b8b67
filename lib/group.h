/* group.h - handler groups: which member of N handles an aggregate
 *
 * Member I of a group of N handles the events whose aggregate id hashes to
 * I: the first four bytes of the MD5 digest (RFC 1321) of the id's bytes
 * (UTF-8, as stored; a NULL id counts as the empty string), read as an
 * unsigned 32-bit big-endian integer, modulo N.  The value is a contract,
 * the same in C, in PostgreSQL
 *   ('x' || substr(md5(coalesce(aggregate_id, '')), 1, 8))::bit(32)::bigint % N
 * and in MariaDB
 *   conv(substr(md5(coalesce(aggregate_id, '')), 1, 8), 16, 10) % N
 * so that a server can pick a member's events itself. */
#ifndef EVT_GROUP_H
#define EVT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#define EVT_GROUP_MAX 1024	/* the greatest N */

uint32_t evt_group_hash(const void *id, size_t len);

/* Parse "I/N" (0 <= I < N <= EVT_GROUP_MAX); -1 when it is not that. */
int evt_group_parse(const char *s, int *i, int *n);

/* Is name the bookmark of a member, "BASE[I/N]"?  Then *baselen is the
 * length of BASE and *i, *n the member; else 0. */
int evt_group_member(const char *name, size_t *baselen, int *i, int *n);

#endif

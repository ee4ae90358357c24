/*
** hash.h -- a string-keyed map to 32-bit indices (open addressing).
**
** Used by importers to resolve ids ("B1", "A0B0_1") to array indices while a
** network is built.  Never used in the simulation step.  Keys are borrowed:
** the caller keeps each key string alive while the map is in use.
*/
#ifndef GW_CORE_HASH_H
#define GW_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_strmap {
  const char **keys;
  uint32_t *vals;
  size_t n, cap; /* cap is a power of two or 0 */
} gw_strmap;

uint64_t gw__hash_str(const char *s);
/* Inserts or replaces; returns 0 or -1 on out of memory. */
int gw__strmap_put(gw_strmap *m, const char *key, uint32_t val);
/* Returns 1 and sets *val when found, else 0. */
int gw__strmap_get(const gw_strmap *m, const char *key, uint32_t *val);
void gw__strmap_free(gw_strmap *m);

#endif

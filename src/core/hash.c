/*
** hash.c -- FNV-1a hashing and a linear-probing string map.
**
** The load factor is kept at or below one half, so probes stay short.
*/
#include "hash.h"

#include <string.h>

#include "alloc.h"

uint64_t gw__hash_str(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

static int grow(gw_strmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  const char **keys = gw__calloc(cap, sizeof *keys);
  uint32_t *vals = gw__calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    gw__free(keys);
    gw__free(vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = (size_t)gw__hash_str(m->keys[i]) & (cap - 1);
    while (keys[j]) j = (j + 1) & (cap - 1);
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  gw__free(m->keys);
  gw__free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return 0;
}

int gw__strmap_put(gw_strmap *m, const char *key, uint32_t val) {
  if ((m->n + 1) * 2 > m->cap && grow(m)) return -1;
  size_t j = (size_t)gw__hash_str(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) {
      m->vals[j] = val;
      return 0;
    }
    j = (j + 1) & (m->cap - 1);
  }
  m->keys[j] = key;
  m->vals[j] = val;
  m->n++;
  return 0;
}

int gw__strmap_get(const gw_strmap *m, const char *key, uint32_t *val) {
  if (!m->cap) return 0;
  size_t j = (size_t)gw__hash_str(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) {
      *val = m->vals[j];
      return 1;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

void gw__strmap_free(gw_strmap *m) {
  gw__free(m->keys);
  gw__free(m->vals);
  memset(m, 0, sizeof *m);
}

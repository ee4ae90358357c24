/*
** alloc.c -- the allocator hook.
**
** One function pointer, set before use, replaces malloc/realloc/free for the
** whole library.  It is process-wide configuration, written once at start-up
** and read-only afterwards, so it is the one piece of global state allowed.
*/
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "greenwave/gw.h"

static void *default_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static gw_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud = NULL;

void gw_set_allocator(gw_alloc_fn fn, void *ud) {
  alloc_fn = fn ? fn : default_alloc;
  alloc_ud = ud;
}

void *gw__realloc(void *ptr, size_t size) { return alloc_fn(alloc_ud, ptr, size); }

void *gw__malloc(size_t size) { return alloc_fn(alloc_ud, NULL, size ? size : 1); }

void *gw__calloc(size_t n, size_t size) {
  if (size && n > (size_t)-1 / size) return NULL;
  void *p = gw__malloc(n * size);
  if (p) memset(p, 0, (n && size) ? n * size : 1);
  return p;
}

void gw__free(void *ptr) {
  if (ptr) alloc_fn(alloc_ud, ptr, 0);
}

char *gw__strndup(const char *s, size_t n) {
  char *d = gw__malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *gw__strdup(const char *s) { return gw__strndup(s, strlen(s)); }

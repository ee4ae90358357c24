/*
** alloc.h -- the single allocation path of the library.
**
** Every allocation goes through gw__realloc so that an embedding program can
** install its own allocator with gw_set_allocator().  gw__free(NULL) is a
** no-op.  The helpers return NULL on failure; callers turn that into
** GW_ENOMEM.
*/
#ifndef GW_CORE_ALLOC_H
#define GW_CORE_ALLOC_H

#include <stddef.h>

void *gw__realloc(void *ptr, size_t size);
void *gw__malloc(size_t size);
void *gw__calloc(size_t n, size_t size);
void gw__free(void *ptr);
char *gw__strdup(const char *s);
char *gw__strndup(const char *s, size_t n);

#endif

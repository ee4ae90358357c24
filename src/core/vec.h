/*
** vec.h -- a growable array of any element type.
**
**   GW_VEC(double) v = {0};
**   if (gw_vec_push(&v, 3.5)) goto fail;   // non-zero on out of memory
**   gw_vec_free(&v);
**
** Growth doubles the capacity, so pushes are amortised O(1).  The element
** pointer `v.a` moves when the array grows: do not keep pointers into it
** across pushes.
*/
#ifndef GW_CORE_VEC_H
#define GW_CORE_VEC_H

#include <stddef.h>

#include "alloc.h"

#define GW_VEC(T)  \
  struct {         \
    T *a;          \
    size_t n, cap; \
  }

int gw__vec_grow(void **a, size_t *cap, size_t need, size_t elem);

#define gw_vec_reserve(v, need) \
  ((need) > (v)->cap ? gw__vec_grow((void **)&(v)->a, &(v)->cap, (need), sizeof *(v)->a) : 0)
#define gw_vec_push(v, x) (gw_vec_reserve((v), (v)->n + 1) ? -1 : ((v)->a[(v)->n++] = (x), 0))
#define gw_vec_free(v) (gw__free((v)->a), (v)->a = NULL, (v)->n = (v)->cap = 0)

#endif

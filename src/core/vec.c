/*
** vec.c -- growth for vec.h arrays.
*/
#include "vec.h"

#include <stdint.h>

int gw__vec_grow(void **a, size_t *cap, size_t need, size_t elem) {
  size_t c = *cap ? *cap : 8;
  while (c < need) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  if (c > SIZE_MAX / elem) return -1;
  void *p = gw__realloc(*a, c * elem);
  if (!p) return -1;
  *a = p;
  *cap = c;
  return 0;
}

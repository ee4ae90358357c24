/*
** sbuf.c -- see sbuf.h.
*/
#include "server/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(sbuf *b) { memset(b, 0, sizeof *b); }

void sb_free(sbuf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static int reserve(sbuf *b, size_t more) {
  if (b->oom) return -1;
  if (b->len + more + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  for (int pass = 0; pass < 2; pass++) {
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    if (reserve(b, (size_t)n)) return;
  }
}

void sb_json_str(sbuf *b, const char *s) {
  if (!s) {
    sb_printf(b, "null");
    return;
  }
  size_t n = strlen(s);
  if (reserve(b, n * 6 + 2)) return;
  char *o = b->data + b->len;
  *o++ = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char ch = *p;
    if (ch == '"' || ch == '\\') {
      *o++ = '\\';
      *o++ = (char)ch;
    } else if (ch < 0x20) {
      o += sprintf(o, "\\u%04x", ch);
    } else {
      *o++ = (char)ch;
    }
  }
  *o++ = '"';
  *o = 0;
  b->len = (size_t)(o - b->data);
}

/*
** sbuf.h -- a growing string buffer for building JSON text by hand on hot
** paths (the centre's snapshots), where a DOM would allocate per value.
** Out of memory sets `oom` and further appends do nothing.
*/
#ifndef GW_SERVER_SBUF_H
#define GW_SERVER_SBUF_H

#include <stddef.h>

typedef struct sbuf {
  char *data;
  size_t len, cap;
  int oom;
} sbuf;

void sb_init(sbuf *b);
void sb_free(sbuf *b);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal with quotes and escapes. */
void sb_json_str(sbuf *b, const char *s);

#endif

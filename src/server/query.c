/*
** query.c -- URL decoding of path segments and query strings.
**
** gw_http_query scans a raw query string ("a=1&b=x%20y") for one key; keys
** are compared after decoding, so "fr%6Fm=1" names "from".  Nothing is
** allocated: a request has a handful of parameters, so a scan per lookup
** costs less than building a table.
*/
#include <string.h>

#include "server/api_int.h"
#include "server/http.h"

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int gw__url_decode(const char *s, size_t n, char *out, size_t len, int plus) {
  size_t o = 0;
  if (!len) return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      if (i + 2 >= n) return -1;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return -1;
      ch = (char)(h * 16 + l);
      i += 2;
    } else if (ch == '+' && plus) {
      ch = ' ';
    }
    if (ch == 0 || o + 1 >= len) return -1;
    out[o++] = ch;
  }
  out[o] = 0;
  return (int)o;
}

int gw_http_query(const char *query, const char *key, char *out, size_t len) {
  if (!query || !key || !out || !len) return 0;
  char name[128];
  const char *p = query;
  while (*p) {
    const char *end = strchr(p, '&');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    if (gw__url_decode(p, kn, name, sizeof name, 1) >= 0 && !strcmp(name, key)) {
      const char *v = eq ? eq + 1 : p + n;
      size_t vn = (size_t)(p + n - v);
      /* Truncates as promised: decode what fits. */
      size_t o = 0;
      for (size_t i = 0; i < vn && o + 1 < len; i++) {
        char ch = v[i];
        if (ch == '%' && i + 2 < vn) {
          int h = hexval(v[i + 1]), l = hexval(v[i + 2]);
          if (h >= 0 && l >= 0) {
            ch = (char)(h * 16 + l);
            i += 2;
          }
        } else if (ch == '+') {
          ch = ' ';
        }
        if (!ch) break;
        out[o++] = ch;
      }
      out[o] = 0;
      return 1;
    }
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

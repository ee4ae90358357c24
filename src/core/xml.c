/*
** xml.c -- the expat wrapper behind xml.h.
**
** Errors from expat itself (syntax) and from callbacks (semantics) end up in
** the same gw_error, both prefixed with the file name and line, so that the
** user sees exactly one clear message for the first problem in a file.
*/
#include "xml.h"

#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct gw_xml {
  XML_Parser p;
  const char *name;
  gw_xml_start_fn start;
  gw_xml_end_fn end;
  void *ud;
  gw_error *err;
  int rc; /* first failure, or 0 */
};

unsigned long gw__xml_line(const gw_xml *x) {
  return (unsigned long)XML_GetCurrentLineNumber(x->p);
}

const char *gw__xml_name(const gw_xml *x) { return x->name; }

int gw__xml_fail(gw_xml *x, int code, const char *fmt, ...) {
  if (x->rc) return x->rc; /* keep the first message */
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  gw__error(x->err, code, "%s:%lu: %s", x->name, gw__xml_line(x), buf);
  x->rc = code;
  XML_StopParser(x->p, XML_FALSE);
  return code;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
  gw_xml *x = ud;
  if (x->rc || !x->start) return;
  int rc = x->start(x->ud, x, name, attrs);
  if (rc && !x->rc) gw__xml_fail(x, rc, "cannot process <%s>", name);
}

static void on_end(void *ud, const XML_Char *name) {
  gw_xml *x = ud;
  if (x->rc || !x->end) return;
  int rc = x->end(x->ud, x, name);
  if (rc && !x->rc) gw__xml_fail(x, rc, "cannot process </%s>", name);
}

static int init(gw_xml *x, const char *name, gw_xml_start_fn start, gw_xml_end_fn end, void *ud,
                gw_error *err) {
  memset(x, 0, sizeof *x);
  x->p = XML_ParserCreate(NULL);
  if (!x->p) return gw__error(err, GW_ENOMEM, "%s: cannot create XML parser", name);
  x->name = name;
  x->start = start;
  x->end = end;
  x->ud = ud;
  x->err = err;
  XML_SetUserData(x->p, x);
  XML_SetElementHandler(x->p, on_start, on_end);
  return 0;
}

static int feed(gw_xml *x, const char *buf, int len, int final) {
  if (XML_Parse(x->p, buf, len, final) == XML_STATUS_ERROR) {
    if (x->rc) return x->rc;
    return gw__error(x->err, GW_EPARSE, "%s:%lu: XML syntax error: %s", x->name, gw__xml_line(x),
                     XML_ErrorString(XML_GetErrorCode(x->p)));
  }
  return x->rc;
}

int gw__xml_parse_buffer(const char *name, const char *buf, size_t len, gw_xml_start_fn start,
                         gw_xml_end_fn end, void *ud, gw_error *err) {
  gw_xml x;
  int rc = init(&x, name, start, end, ud, err);
  if (rc) return rc;
  while (!rc && len > (1u << 30)) {
    rc = feed(&x, buf, 1 << 30, 0);
    buf += 1 << 30;
    len -= 1u << 30;
  }
  if (!rc) rc = feed(&x, buf, (int)len, 1);
  XML_ParserFree(x.p);
  return rc;
}

int gw__xml_parse_file(const char *path, gw_xml_start_fn start, gw_xml_end_fn end, void *ud,
                       gw_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return gw__error(err, GW_EIO, "%s: cannot open: %s", path, strerror(errno));
  gw_xml x;
  int rc = init(&x, path, start, end, ud, err);
  if (rc) {
    fclose(f);
    return rc;
  }
  char buf[65536];
  for (;;) {
    size_t n = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
      rc = gw__error(err, GW_EIO, "%s: read error", path);
      break;
    }
    int final = n < sizeof buf;
    rc = feed(&x, buf, (int)n, final);
    if (rc || final) break;
  }
  XML_ParserFree(x.p);
  fclose(f);
  return rc;
}

const char *gw__xml_attr(const char **attrs, const char *key) {
  for (; attrs && attrs[0]; attrs += 2)
    if (strcmp(attrs[0], key) == 0) return attrs[1];
  return NULL;
}

int gw__xml_attr_str(gw_xml *x, const char *elem, const char **attrs, const char *key, int required,
                     const char **out) {
  const char *v = gw__xml_attr(attrs, key);
  *out = v;
  if (!v && required)
    return gw__xml_fail(x, GW_EPARSE, "<%s> lacks the required attribute '%s'", elem, key);
  return 0;
}

/* Names the element by its id when it has one, so the user can find it. */
static int bad_value(gw_xml *x, const char *elem, const char **attrs, const char *key,
                     const char *v, const char *what) {
  const char *id = gw__xml_attr(attrs, "id");
  if (id && strcmp(key, "id"))
    return gw__xml_fail(x, GW_EPARSE, "<%s id='%s'> %s=\"%s\": expected %s", elem, id, key, v,
                        what);
  return gw__xml_fail(x, GW_EPARSE, "<%s %s=\"%s\">: expected %s", elem, key, v, what);
}

int gw__xml_attr_double(gw_xml *x, const char *elem, const char **attrs, const char *key,
                        int required, double dflt, double *out) {
  const char *v = gw__xml_attr(attrs, key);
  *out = dflt;
  if (!v) {
    if (required)
      return gw__xml_fail(x, GW_EPARSE, "<%s> lacks the required attribute '%s'", elem, key);
    return 0;
  }
  char *endp;
  errno = 0;
  double d = strtod(v, &endp);
  while (*endp == ' ') endp++;
  if (endp == v || *endp || errno || !isfinite(d))
    return bad_value(x, elem, attrs, key, v, "a number");
  *out = d;
  return 0;
}

int gw__xml_attr_int(gw_xml *x, const char *elem, const char **attrs, const char *key, int required,
                     long dflt, long *out) {
  const char *v = gw__xml_attr(attrs, key);
  *out = dflt;
  if (!v) {
    if (required)
      return gw__xml_fail(x, GW_EPARSE, "<%s> lacks the required attribute '%s'", elem, key);
    return 0;
  }
  char *endp;
  errno = 0;
  long d = strtol(v, &endp, 10);
  if (endp == v || *endp || errno) return bad_value(x, elem, attrs, key, v, "an integer");
  *out = d;
  return 0;
}

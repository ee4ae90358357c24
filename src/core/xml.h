/*
** xml.h -- streaming XML reading on top of expat, with located errors.
**
** Importers register start/end callbacks and pull typed attributes through
** the helpers below.  Any callback may fail with gw__xml_fail(), which stops
** the parser and records "FILE:LINE: message" in the caller's gw_error.
** The whole document is never held in memory: files are read in 64 KiB
** chunks.
*/
#ifndef GW_CORE_XML_H
#define GW_CORE_XML_H

#include <stddef.h>

#include "greenwave/gw.h"

typedef struct gw_xml gw_xml;

/* Return 0 to go on, or the (negative) result of gw__xml_fail to stop. */
typedef int (*gw_xml_start_fn)(void *ud, gw_xml *x, const char *name, const char **attrs);
typedef int (*gw_xml_end_fn)(void *ud, gw_xml *x, const char *name);

int gw__xml_parse_file(const char *path, gw_xml_start_fn start, gw_xml_end_fn end, void *ud,
                       gw_error *err);
/* `name` is used in messages in place of a file path. */
int gw__xml_parse_buffer(const char *name, const char *buf, size_t len, gw_xml_start_fn start,
                         gw_xml_end_fn end, void *ud, gw_error *err);

unsigned long gw__xml_line(const gw_xml *x);
const char *gw__xml_name(const gw_xml *x);
/* Records "FILE:LINE: message" and stops the parser; returns code. */
int gw__xml_fail(gw_xml *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* NULL when absent. */
const char *gw__xml_attr(const char **attrs, const char *key);
/* Typed attributes.  When the attribute is absent: *out = dflt and 0 if
** !required, else an error naming the element and attribute. */
int gw__xml_attr_str(gw_xml *x, const char *elem, const char **attrs, const char *key, int required,
                     const char **out);
int gw__xml_attr_double(gw_xml *x, const char *elem, const char **attrs, const char *key,
                        int required, double dflt, double *out);
int gw__xml_attr_int(gw_xml *x, const char *elem, const char **attrs, const char *key, int required,
                     long dflt, long *out);

#endif

/*
** eventlog.h -- internals shared by the event log reader and the detector
** map reader: splitting a CSV line into trimmed, unquoted fields and
** parsing integers, both without allocating.
**
** The public side (gw_eventlog_*, gw_time_*) is in greenwave/measures.h.
*/
#ifndef GW_METRICS_EVENTLOG_H
#define GW_METRICS_EVENTLOG_H

#include <stddef.h>

/* A field of a line: a pointer into the line and its length. */
typedef struct gw__field {
  const char *s;
  size_t n;
} gw__field;

/* Splits line[0..len) at commas into at most `max` fields, each with
** surrounding spaces and one pair of double quotes removed (a quoted field
** may hold commas).  Returns the number of fields found, max + 1 when there
** are more. */
size_t gw__csv_split(const char *line, size_t len, gw__field *f, size_t max);

/* Parses a whole field as a decimal integer in [lo, hi]; 0 on success. */
int gw__parse_int(const gw__field *f, long lo, long hi, long *out);

/* 1 when the field equals `name` ignoring ASCII case. */
int gw__field_is(const gw__field *f, const char *name);

#endif

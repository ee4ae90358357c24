/*
** error.h -- filling a gw_error and writing to the log hook.
*/
#ifndef GW_CORE_ERROR_H
#define GW_CORE_ERROR_H

#include "greenwave/gw.h"

/* Sets err (if not NULL) to code and a printf-style message; returns code so
** that callers can write `return gw__error(err, GW_EPARSE, "...")`. */
int gw__error(gw_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void gw__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

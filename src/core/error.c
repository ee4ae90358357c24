/*
** error.c -- the error-code table, gw_error filling and the log hook.
*/
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *gw_strerror(int code) {
  switch (code) {
    case GW_OK:
      return "success";
    case GW_ENOMEM:
      return "out of memory";
    case GW_EIO:
      return "input/output error";
    case GW_EPARSE:
      return "malformed input";
    case GW_EINVAL:
      return "invalid value";
    case GW_ENOTFOUND:
      return "not found";
    case GW_ERANGE:
      return "value out of range";
    case GW_ESTATE:
      return "not allowed in this state";
    default:
      return "unknown error";
  }
}

int gw__error(gw_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

static gw_log_fn log_fn = NULL;
static void *log_ud = NULL;

void gw_set_log(gw_log_fn fn, void *ud) {
  log_fn = fn;
  log_ud = ud;
}

void gw__log(int level, const char *fmt, ...) {
  if (!log_fn) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_fn(log_ud, level, buf);
}

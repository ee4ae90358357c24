/*
** gw.h -- errors, the allocator hook and the log hook shared by every module.
**
** Every Greenwave function that can fail returns an int: GW_OK (0) or a
** negative GW_E... code.  Results come back through out-parameters placed
** last.  Functions that read user input (files, requests) also fill a
** gw_error with a human-readable message naming where and what, so that the
** CLI or the daemon can print it; the library itself never prints or exits.
*/
#ifndef GREENWAVE_GW_H
#define GREENWAVE_GW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_VERSION "0.1.0"

enum {
  GW_OK = 0,
  GW_ENOMEM = -1,    /* allocation failed */
  GW_EIO = -2,       /* a file could not be opened, read or written */
  GW_EPARSE = -3,    /* malformed input (syntax) */
  GW_EINVAL = -4,    /* well-formed input with an invalid value or reference */
  GW_ENOTFOUND = -5, /* a named object does not exist */
  GW_ERANGE = -6,    /* a value outside its allowed range */
  GW_ESTATE = -7     /* call not allowed in the object's current state */
};

/* Returns a static string for a GW_E... code; never NULL. */
const char *gw_strerror(int code);

/* A diagnostic filled by functions that read user input.  `msg` is always
** NUL-terminated; it starts with "FILE:LINE: " when a location is known. */
typedef struct gw_error {
  int code;
  char msg[512];
} gw_error;

/* The allocator hook (Lua style).  realloc semantics: size 0 frees and
** returns NULL.  Set once, before any other call; the default uses libc. */
typedef void *(*gw_alloc_fn)(void *ud, void *ptr, size_t size);
void gw_set_allocator(gw_alloc_fn fn, void *ud);

/* The log hook.  Levels follow syslog order: lower is more severe.  The
** default hook discards everything; the CLI installs one that prints. */
enum { GW_LOG_ERROR = 3, GW_LOG_WARN = 4, GW_LOG_INFO = 6, GW_LOG_DEBUG = 7 };
typedef void (*gw_log_fn)(void *ud, int level, const char *msg);
void gw_set_log(gw_log_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif

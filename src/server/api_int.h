/*
** api_int.h -- what the files of the REST API share: the API object, one
** call's context, and the helpers that answer in JSON.
**
** api.c owns the object, the store pool, the router and the authentication
** routes; api_routes.c the intersections, plans, modes, schedules, alarms
** and history; api_users.c the users.  Every handler answers through the
** helpers below, so that each response, error or not, has the same shape:
** {"error": {"status", "code", "message"}} for errors.
*/
#ifndef GW_SERVER_API_INT_H
#define GW_SERVER_API_INT_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "greenwave/store.h"
#include "server/api.h"
#include "server/auth.h"

#define GW__API_POOL_MAX 8 /* store connections */
#define GW__API_MAX_SEGS 8 /* path segments after /api */
#define GW__API_SEG_MAX 64 /* bytes of one decoded path segment */
#define GW__API_ID_MAX 64  /* ids and user names */
#define GW__API_NOTE_MAX 1000

enum { GW__ROLE_NONE, GW__ROLE_VIEWER, GW__ROLE_OPERATOR, GW__ROLE_ADMIN };

struct gw_api {
  char *db_url;
  gw_centre *centre;
  double ttl_s, window_s;
  int max_failures;
  char *openapi; /* the document served, NULL when it could not be read */
  size_t openapi_len;
  gw__limiter *limiter;
  char dummy_hash[128]; /* checked for unknown users, so they cost the same time */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  gw_store *pool[GW__API_POOL_MAX];
  int busy[GW__API_POOL_MAX];
  int npool; /* slots in use (opened or being opened) */
};

typedef struct gw__call {
  gw_api *api;
  const gw_http_req *rq;
  gw_http_resp *rs;
  gw_store *st; /* borrowed from the pool for the whole call */
  int st_slot;
  int st_broken; /* the connection failed: close it rather than reuse it */
  char seg[GW__API_MAX_SEGS][GW__API_SEG_MAX + 1];
  int nseg;
  char user[GW__API_ID_MAX + 1];
  int role; /* GW__ROLE_* of the caller */
  char token_hash[GW__TOKEN_HEX + 1];
  cJSON *body; /* the parsed request body (an object), or NULL */
  double now;  /* epoch s at the start of the call */
} gw__call;

typedef void (*gw__handler)(gw__call *c);

/* Answers.  gw__api_json takes the value (and frees it); gw__api_error
** formats the message printf style. */
void gw__api_json(gw__call *c, int status, cJSON *v);
void gw__api_raw(gw__call *c, int status, const char *text, size_t len);
void gw__api_error(gw__call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers a failed store call: 404, 409, 422 or 500 after `what`. */
void gw__api_store_error(gw__call *c, int rc, const gw_error *err, const char *what);
void gw__api_no_centre(gw__call *c);

/* Body fields.  Each returns 1 with *out set when the field is there and
** valid, 0 when it is absent and optional, -1 after answering 400 (wrong
** type, missing) or 422 (out of range). */
int gw__api_str(gw__call *c, const char *key, size_t maxlen, int required, const char **out);
int gw__api_num(gw__call *c, const char *key, double lo, double hi, int required, double *out);
int gw__api_int(gw__call *c, const char *key, double lo, double hi, int required, long *out);
/* A query-string time (epoch seconds or ISO 8601); 1 / 0 / -1 as above. */
int gw__api_qtime(gw__call *c, const char *key, double *out);
int gw__api_qint(gw__call *c, const char *key, long lo, long hi, long *out);

/* Writes an audit row; on failure answers 500 and returns -1.  before and
** after may be NULL; they are not freed. */
int gw__api_audit(gw__call *c, const char *action, const char *target, const cJSON *before,
                  const cJSON *after);

/* Percent-decodes s[0..n) into out (NUL-terminated); '+' becomes a space
** when plus is set.  The decoded length, or -1 when it does not fit in len - 1
** bytes, a %-escape is malformed or decodes to NUL. */
int gw__url_decode(const char *s, size_t n, char *out, size_t len, int plus);
/* A single-row result: the object itself, or the first element of an array. */
static inline const cJSON *gw__row(const cJSON *v) {
  return cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
}
int gw__api_valid_utf8(const char *s, size_t n);
const char *gw__role_name(int role);
int gw__role_parse(const char *s);
double gw__api_now(void);

/* Handlers outside api.c. */
void gw__h_state(gw__call *c);
void gw__h_network(gw__call *c);
void gw__h_status(gw__call *c);
void gw__h_intersections(gw__call *c);
void gw__h_intersection(gw__call *c);
void gw__h_intersection_state(gw__call *c);
void gw__h_detectors(gw__call *c);
void gw__h_detector_fail(gw__call *c);
void gw__h_detector_restore(gw__call *c);
void gw__h_plans(gw__call *c);
void gw__h_plan(gw__call *c);
void gw__h_plan_create(gw__call *c);
void gw__h_plan_activate(gw__call *c);
void gw__h_mode_set(gw__call *c);
void gw__h_schedules(gw__call *c);
void gw__h_schedule_add(gw__call *c);
void gw__h_schedule_delete(gw__call *c);
void gw__h_alarms(gw__call *c);
void gw__h_alarm_ack(gw__call *c);
void gw__h_events(gw__call *c);
void gw__h_aggregates(gw__call *c);
void gw__h_measures(gw__call *c);
void gw__h_audit(gw__call *c);
void gw__h_users(gw__call *c);
void gw__h_user_add(gw__call *c);
void gw__h_user_update(gw__call *c);

#endif

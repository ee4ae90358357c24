/*
** api.c -- the REST API: the object, its pool of store connections, the
** router, authentication and the helpers every handler answers through.
**
** A request goes through four gates in this order, each answering on its own
** when the request does not pass:
**   1. the route: 404 for a path no route has, 405 for a known path with
**      another method;
**   2. the request's shape: a GET or DELETE carries no body, a body is valid
**      UTF-8 and one JSON object (400);
**   3. the caller: a session token (Bearer header or gw_token cookie) naming
**      a live session (401), with a role at least the route's (403);
**   4. the handler, which checks every field (400 for a wrong type, 422 for
**      a value out of range) before it writes anything.
** A change is answered 2xx only once the store has committed it and its
** audit row: a crash after the answer loses nothing that was acknowledged.
**
** Threads: several HTTP workers call gw_api_handle at once.  Each call
** borrows one store connection for its whole duration from a pool of at
** most GW__API_POOL_MAX, opened on demand; a caller waits when all are
** busy.  Nothing else is shared but the limiter (its own mutex) and
** read-only configuration.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/measures.h"
#include "server/api_int.h"

#ifndef GW_SOURCE_DIR
#define GW_SOURCE_DIR "."
#endif

void gw_api_opts_init(gw_api_opts *o) {
  memset(o, 0, sizeof *o);
  o->db_url = "sqlite:var/greenwave.db";
  o->session_ttl_s = 8 * 3600.0;
  o->login_max_failures = 5;
  o->login_window_s = 300;
}

double gw__api_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *gw__role_name(int role) {
  switch (role) {
    case GW__ROLE_VIEWER:
      return "viewer";
    case GW__ROLE_OPERATOR:
      return "operator";
    case GW__ROLE_ADMIN:
      return "admin";
    default:
      return "none";
  }
}

int gw__role_parse(const char *s) {
  if (!s) return GW__ROLE_NONE;
  if (!strcmp(s, "viewer")) return GW__ROLE_VIEWER;
  if (!strcmp(s, "operator")) return GW__ROLE_OPERATOR;
  if (!strcmp(s, "admin")) return GW__ROLE_ADMIN;
  return GW__ROLE_NONE;
}

/* ---- the object and its pool -------------------------------------------- */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 1 >= cap) {
      size_t ncap = cap ? 2 * cap : 65536;
      char *b = gw__realloc(buf, ncap);
      if (!b || ncap > (64u << 20)) {
        gw__free(b ? b : buf);
        fclose(f);
        return NULL;
      }
      buf = b;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (!got) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    gw__free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

int gw_api_create(const gw_api_opts *o, gw_api **out, gw_error *err) {
  *out = NULL;
  if (!o || !o->db_url || !o->db_url[0]) return gw__error(err, GW_EINVAL, "api: no database URL");
  if (gw__auth_init()) return gw__error(err, GW_ESTATE, "api: libsodium failed to initialise");
  gw_api *api = gw__calloc(1, sizeof *api);
  if (!api) return gw__error(err, GW_ENOMEM, "api: out of memory");
  int rc = GW_ENOMEM;
  api->centre = o->centre;
  api->ttl_s = o->session_ttl_s > 0 ? o->session_ttl_s : 8 * 3600.0;
  api->max_failures = o->login_max_failures > 0 ? o->login_max_failures : 5;
  api->window_s = o->login_window_s > 0 ? o->login_window_s : 300;
  api->db_url = gw__strdup(o->db_url);
  if (!api->db_url || pthread_mutex_init(&api->mu, NULL)) goto fail_free;
  if (pthread_cond_init(&api->cv, NULL)) {
    pthread_mutex_destroy(&api->mu);
    goto fail_free;
  }
  if (gw__limiter_create(api->max_failures, api->window_s, &api->limiter)) goto fail;
  /* A real hash of a random password: logins of unknown users check it, so
  ** that they take as long as those of real users with a wrong password. */
  char tok[GW__TOKEN_HEX + 1], hash[GW__TOKEN_HEX + 1];
  if (gw__auth_token_new(tok, hash) ||
      gw_auth_hash_password(tok, api->dummy_hash, sizeof api->dummy_hash))
    goto fail;
  /* One connection now, so that a bad URL fails here and not at the first
  ** request; it stays in the pool. */
  rc = gw_store_open(api->db_url, &api->pool[0], err);
  if (rc) goto fail;
  api->npool = 1;
  const char *path = o->openapi_path ? o->openapi_path : GW_SOURCE_DIR "/docs/openapi.json";
  api->openapi = read_file(path, &api->openapi_len);
  *out = api;
  return GW_OK;
fail:
  if (rc == GW_ENOMEM) gw__error(err, rc, "api: out of memory");
  gw__limiter_destroy(api->limiter);
  pthread_cond_destroy(&api->cv);
  pthread_mutex_destroy(&api->mu);
fail_free:
  gw__free(api->db_url);
  gw__free(api);
  return rc;
}

void gw_api_destroy(gw_api *api) {
  if (!api) return;
  for (int i = 0; i < GW__API_POOL_MAX; i++) gw_store_close(api->pool[i]);
  gw__limiter_destroy(api->limiter);
  pthread_cond_destroy(&api->cv);
  pthread_mutex_destroy(&api->mu);
  gw__free(api->openapi);
  gw__free(api->db_url);
  gw__free(api);
}

/* Borrows a connection: a free open one, else a new one while fewer than
** GW__API_POOL_MAX exist, else waits for one to come back.  -1 when a new
** connection cannot be opened. */
static int pool_take(gw_api *api, gw_store **st, int *slot) {
  pthread_mutex_lock(&api->mu);
  for (;;) {
    for (int i = 0; i < GW__API_POOL_MAX; i++)
      if (api->pool[i] && !api->busy[i]) {
        api->busy[i] = 1;
        *st = api->pool[i];
        *slot = i;
        pthread_mutex_unlock(&api->mu);
        return 0;
      }
    if (api->npool < GW__API_POOL_MAX) break;
    pthread_cond_wait(&api->cv, &api->mu);
  }
  int i = 0;
  while (api->pool[i] || api->busy[i]) i++;
  api->busy[i] = 1; /* reserved while it opens, outside the lock */
  api->npool++;
  pthread_mutex_unlock(&api->mu);
  gw_error err;
  gw_store *s = NULL;
  int rc = gw_store_open(api->db_url, &s, &err);
  pthread_mutex_lock(&api->mu);
  if (rc) {
    api->busy[i] = 0;
    api->npool--;
    pthread_cond_signal(&api->cv);
  } else {
    api->pool[i] = s;
    *st = s;
    *slot = i;
  }
  pthread_mutex_unlock(&api->mu);
  return rc ? -1 : 0;
}

static void pool_give(gw_api *api, int slot, int broken) {
  gw_store *dead = NULL;
  pthread_mutex_lock(&api->mu);
  if (broken) {
    dead = api->pool[slot];
    api->pool[slot] = NULL;
    api->npool--;
  }
  api->busy[slot] = 0;
  pthread_cond_signal(&api->cv);
  pthread_mutex_unlock(&api->mu);
  gw_store_close(dead);
}

/* ---- answers ------------------------------------------------------------- */

void gw__api_raw(gw__call *c, int status, const char *text, size_t len) {
  gw_http_resp *rs = c->rs;
  free(rs->body);
  rs->status = status;
  rs->content_type = "application/json; charset=utf-8";
  rs->body = malloc(len + 1);
  if (!rs->body) {
    rs->status = 500;
    rs->len = 0;
    return;
  }
  memcpy(rs->body, text, len);
  rs->body[len] = 0;
  rs->len = len;
}

void gw__api_json(gw__call *c, int status, cJSON *v) {
  char *text = v ? cJSON_PrintUnformatted(v) : NULL;
  cJSON_Delete(v);
  if (!text) {
    static const char oom[] =
        "{\"error\":{\"status\":500,\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
    gw__api_raw(c, 500, oom, sizeof oom - 1);
    return;
  }
  free(c->rs->body);
  c->rs->status = status;
  c->rs->content_type = "application/json; charset=utf-8";
  c->rs->body = text;
  c->rs->len = strlen(text);
}

void gw__api_error(gw__call *c, int status, const char *code, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Messages quote user input; keep them valid UTF-8 for the JSON. */
  if (!gw__api_valid_utf8(msg, strlen(msg))) snprintf(msg, sizeof msg, "invalid request");
  cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
  if (e) {
    cJSON_AddNumberToObject(e, "status", status);
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
  }
  gw__api_json(c, status, root);
}

void gw__api_store_error(gw__call *c, int rc, const gw_error *err, const char *what) {
  const char *m = err && err->msg[0] ? err->msg : gw_strerror(rc);
  switch (rc) {
    case GW_ENOTFOUND:
      gw__api_error(c, 404, "not_found", "%s: %s", what, m);
      break;
    case GW_ESTATE:
      gw__api_error(c, 409, "conflict", "%s: %s", what, m);
      break;
    case GW_EINVAL:
    case GW_ERANGE:
      gw__api_error(c, 422, "invalid_value", "%s: %s", what, m);
      break;
    default:
      c->st_broken = rc == GW_EIO;
      gw__api_error(c, 500, "store_error", "%s: the database failed: %s", what, m);
  }
}

void gw__api_no_centre(gw__call *c) {
  gw__api_error(c, 503, "no_live_centre", "the live control centre is not running");
}

int gw__api_audit(gw__call *c, const char *action, const char *target, const cJSON *before,
                  const cJSON *after) {
  char *b = before ? cJSON_PrintUnformatted(before) : NULL;
  char *a = after ? cJSON_PrintUnformatted(after) : NULL;
  gw_error err = {0, {0}};
  int rc = (before && !b) || (after && !a)
               ? GW_ENOMEM
               : gw_store_audit(c->st, c->now, c->user, action, target, b, a, &err);
  free(b);
  free(a);
  if (rc) {
    gw__api_store_error(c, rc == GW_ENOTFOUND || rc == GW_ESTATE ? GW_EIO : rc, &err, "audit log");
    return -1;
  }
  return 0;
}

/* ---- request fields ------------------------------------------------------ */

int gw__api_valid_utf8(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned ch = p[i];
    size_t k;
    unsigned min;
    if (ch < 0x80) {
      i++;
      continue;
    } else if ((ch & 0xe0) == 0xc0) {
      k = 1, min = 0x80, ch &= 0x1f;
    } else if ((ch & 0xf0) == 0xe0) {
      k = 2, min = 0x800, ch &= 0x0f;
    } else if ((ch & 0xf8) == 0xf0) {
      k = 3, min = 0x10000, ch &= 0x07;
    } else {
      return 0;
    }
    if (i + k >= n) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return 0;
      ch = (ch << 6) | (p[i + j] & 0x3f);
    }
    if (ch < min || ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff)) return 0;
    i += k + 1;
  }
  return 1;
}

static const cJSON *field(gw__call *c, const char *key) {
  return c->body ? cJSON_GetObjectItemCaseSensitive(c->body, key) : NULL;
}

int gw__api_str(gw__call *c, const char *key, size_t maxlen, int required, const char **out) {
  const cJSON *v = field(c, key);
  if (!v || cJSON_IsNull(v)) {
    if (!required) return 0;
    gw__api_error(c, 400, "missing_field", "'%s' is required", key);
    return -1;
  }
  if (!cJSON_IsString(v) || !v->valuestring) {
    gw__api_error(c, 400, "wrong_type", "'%s' must be a string", key);
    return -1;
  }
  size_t n = strlen(v->valuestring);
  if (n > maxlen) {
    gw__api_error(c, 422, "too_long", "'%s' is %zu bytes long; at most %zu allowed", key, n,
                  maxlen);
    return -1;
  }
  *out = v->valuestring;
  return 1;
}

int gw__api_num(gw__call *c, const char *key, double lo, double hi, int required, double *out) {
  const cJSON *v = field(c, key);
  if (!v || cJSON_IsNull(v)) {
    if (!required) return 0;
    gw__api_error(c, 400, "missing_field", "'%s' is required", key);
    return -1;
  }
  if (!cJSON_IsNumber(v)) {
    gw__api_error(c, 400, "wrong_type", "'%s' must be a number", key);
    return -1;
  }
  double x = v->valuedouble;
  if (!isfinite(x) || x < lo || x > hi) {
    gw__api_error(c, 422, "out_of_range", "'%s' must lie in [%g, %g]", key, lo, hi);
    return -1;
  }
  *out = x;
  return 1;
}

int gw__api_int(gw__call *c, const char *key, double lo, double hi, int required, long *out) {
  double x;
  int r = gw__api_num(c, key, lo, hi, required, &x);
  if (r <= 0) return r;
  if (x != floor(x)) {
    gw__api_error(c, 422, "not_an_integer", "'%s' must be a whole number", key);
    return -1;
  }
  *out = (long)x;
  return 1;
}

int gw__api_qtime(gw__call *c, const char *key, double *out) {
  char v[64];
  if (!gw_http_query(c->rq->query, key, v, sizeof v)) return 0;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end != v && !*end && !errno && isfinite(x) && x >= 0 && x < 1e11) {
    *out = x;
    return 1;
  }
  if (!gw_time_parse(v, strlen(v), &x) && isfinite(x)) {
    *out = x;
    return 1;
  }
  gw__api_error(c, 400, "bad_time",
                "query '%s': expected epoch seconds or ISO 8601 like 2026-11-29T14:00:00Z", key);
  return -1;
}

int gw__api_qint(gw__call *c, const char *key, long lo, long hi, long *out) {
  char v[32];
  if (!gw_http_query(c->rq->query, key, v, sizeof v)) return 0;
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (end == v || *end || errno || x < lo || x > hi) {
    gw__api_error(c, 400, "bad_query", "query '%s': expected a whole number in [%ld, %ld]", key, lo,
                  hi);
    return -1;
  }
  *out = x;
  return 1;
}

/* ---- authentication ------------------------------------------------------ */

/* The presented token: the Bearer header first, then the gw_token cookie. */
static int find_token(const gw_http_req *rq, char *tok, size_t len) {
  const char *a = rq->authorization;
  if (a) {
    while (*a == ' ') a++;
    if (!strncasecmp(a, "Bearer ", 7)) {
      a += 7;
      while (*a == ' ') a++;
      size_t n = strcspn(a, " \t\r\n");
      if (n >= len) n = len - 1;
      memcpy(tok, a, n);
      tok[n] = 0;
      return 1;
    }
  }
  const char *p = rq->cookie;
  while (p && *p) {
    while (*p == ' ' || *p == ';') p++;
    if (!strncmp(p, "gw_token=", 9)) {
      p += 9;
      size_t n = strcspn(p, "; \t");
      if (n >= len) n = len - 1;
      memcpy(tok, p, n);
      tok[n] = 0;
      return 1;
    }
    p = strchr(p, ';');
  }
  return 0;
}

/* Looks the session up; 0 with c->user and c->role set, -1 after 401/500. */
static int authenticate(gw__call *c) {
  char tok[GW__TOKEN_HEX + 2];
  if (!find_token(c->rq, tok, sizeof tok)) {
    gw__api_error(c, 401, "unauthenticated",
                  "no session: log in at POST /api/login, then send the token as "
                  "'Authorization: Bearer TOKEN' or the gw_token cookie");
    return -1;
  }
  cJSON *row = NULL;
  gw_error err = {0, {0}};
  int rc = gw__auth_token_hash(tok, c->token_hash)
               ? GW_ENOTFOUND
               : gw_store_session_get(c->st, c->token_hash, c->now, &row, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 401, "unauthenticated", "the session token is unknown or has expired");
    return -1;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "session");
    return -1;
  }
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(gw__row(row), "user");
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(gw__row(row), "role");
  if (!cJSON_IsString(u) || !cJSON_IsString(r) || strlen(u->valuestring) > GW__API_ID_MAX) {
    cJSON_Delete(row);
    gw__api_error(c, 401, "unauthenticated", "the session names no valid user");
    return -1;
  }
  snprintf(c->user, sizeof c->user, "%s", u->valuestring);
  c->role = gw__role_parse(r->valuestring);
  cJSON_Delete(row);
  return 0;
}

int gw_api_token_role(gw_api *api, const char *token, char *role, size_t len) {
  if (!api || !token || !role || !len) return 0;
  char hash[GW__TOKEN_HEX + 1];
  if (gw__auth_token_hash(token, hash)) return 0;
  gw_store *st;
  int slot;
  if (pool_take(api, &st, &slot)) return 0;
  cJSON *row = NULL;
  gw_error err;
  int rc = gw_store_session_get(st, hash, gw__api_now(), &row, &err);
  pool_give(api, slot, rc == GW_EIO);
  if (rc) return 0;
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(gw__row(row), "role");
  int ok = cJSON_IsString(r) && gw__role_parse(r->valuestring) != GW__ROLE_NONE;
  if (ok) snprintf(role, len, "%s", r->valuestring);
  cJSON_Delete(row);
  return ok;
}

/* ---- public and session routes ------------------------------------------ */

/* Public: whether the daemon is up, and the loop's own figures (what
** `greenwave status` prints); nothing about users, plans or the city. */
static void h_health(gw__call *c) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "status", "ok");
  cJSON_AddStringToObject(o, "version", GW_VERSION);
  gw_centre *ce = c->api->centre;
  if (ce) {
    gw_centre_stats st;
    gw_centre_stats_get(ce, &st);
    cJSON_AddNumberToObject(o, "intersections", gw_centre_intersection_count(ce));
    cJSON_AddNumberToObject(o, "field_t", st.t);
    cJSON_AddNumberToObject(o, "steps", (double)st.steps);
    cJSON_AddNumberToObject(o, "missed_deadlines", (double)st.missed_deadlines);
    cJSON_AddNumberToObject(o, "cpu_share", st.cpu_share);
    cJSON_AddNumberToObject(o, "events_written", (double)st.events_written);
    cJSON_AddNumberToObject(o, "events_dropped", (double)st.events_dropped);
    cJSON_AddNumberToObject(o, "alarms_raised", (double)st.alarms_raised);
    cJSON_AddBoolToObject(o, "running", !gw_centre_finished(ce));
  }
  gw__api_json(c, 200, o);
}

static void h_openapi(gw__call *c) {
  if (!c->api->openapi) {
    gw__api_error(c, 404, "not_found", "the OpenAPI document could not be read");
    return;
  }
  gw__api_raw(c, 200, c->api->openapi, c->api->openapi_len);
}

static void login_failed(gw__call *c, const char *ukey, const char *akey) {
  gw__limiter_fail(c->api->limiter, ukey, c->now);
  gw__limiter_fail(c->api->limiter, akey, c->now);
  gw__api_error(c, 401, "bad_credentials", "unknown user name or wrong password");
}

static void h_login(gw__call *c) {
  const char *name, *password;
  if (gw__api_str(c, "name", GW__API_ID_MAX, 1, &name) < 0 ||
      gw__api_str(c, "password", 1024, 1, &password) < 0)
    return;
  char ukey[GW__API_ID_MAX + 3], akey[80];
  snprintf(ukey, sizeof ukey, "u:%s", name);
  snprintf(akey, sizeof akey, "a:%s", c->rq->remote ? c->rq->remote : "");
  int wait = gw__limiter_check(c->api->limiter, ukey, c->now);
  int wait_a = gw__limiter_check(c->api->limiter, akey, c->now);
  if (wait_a > wait) wait = wait_a;
  if (wait) {
    c->rs->retry_after_s = wait;
    gw__api_error(c, 429, "too_many_attempts",
                  "too many failed logins for this name or address; retry in %d s", wait);
    return;
  }
  cJSON *row = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_user_get(c->st, name, &row, &err);
  if (rc && rc != GW_ENOTFOUND) {
    gw__api_store_error(c, rc, &err, "login");
    return;
  }
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(gw__row(row), "pwhash");
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(gw__row(row), "role");
  const char *hash = !rc && cJSON_IsString(h) ? h->valuestring : c->api->dummy_hash;
  int ok = gw_auth_check_password(hash, password) && !rc && cJSON_IsString(r) &&
           gw__role_parse(r->valuestring) != GW__ROLE_NONE;
  if (!ok) {
    cJSON_Delete(row);
    login_failed(c, ukey, akey);
    return;
  }
  char role[16];
  snprintf(role, sizeof role, "%s", r->valuestring);
  cJSON_Delete(row);
  char tok[GW__TOKEN_HEX + 1], th[GW__TOKEN_HEX + 1];
  if (gw__auth_token_new(tok, th)) {
    gw__api_error(c, 500, "internal", "no random token could be made");
    return;
  }
  double expires = c->now + c->api->ttl_s;
  rc = gw_store_session_add(c->st, th, name, c->now, expires, &err);
  if (rc) {
    gw__api_store_error(c, rc, &err, "login");
    return;
  }
  gw__limiter_reset(c->api->limiter, ukey);
  snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
           "gw_token=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%.0f", tok,
           ceil(c->api->ttl_s));
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "token", tok);
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "role", role);
  cJSON_AddNumberToObject(o, "expires_at", expires);
  gw__api_json(c, 200, o);
}

static void h_logout(gw__call *c) {
  gw_error err = {0, {0}};
  int rc = gw_store_session_delete(c->st, c->token_hash, &err);
  if (rc && rc != GW_ENOTFOUND) {
    gw__api_store_error(c, rc, &err, "logout");
    return;
  }
  snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
           "gw_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  free(c->rs->body);
  c->rs->body = NULL;
  c->rs->len = 0;
  c->rs->status = 204;
  c->rs->content_type = "application/json; charset=utf-8";
}

static void h_me(gw__call *c) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", c->user);
  cJSON_AddStringToObject(o, "role", gw__role_name(c->role));
  gw__api_json(c, 200, o);
}

/* ---- the router ---------------------------------------------------------- */

/* Patterns are paths under /api with '*' for one segment. */
typedef struct route {
  const char *method;
  const char *pattern;
  int role; /* the least role allowed; GW__ROLE_NONE: public */
  int body; /* 1: a JSON object body is required */
  gw__handler fn;
} route;

static const route routes[] = {
    {"GET", "health", GW__ROLE_NONE, 0, h_health},
    {"GET", "openapi.json", GW__ROLE_NONE, 0, h_openapi},
    {"POST", "login", GW__ROLE_NONE, 1, h_login},
    {"POST", "logout", GW__ROLE_VIEWER, 0, h_logout},
    {"GET", "me", GW__ROLE_VIEWER, 0, h_me},
    {"GET", "state", GW__ROLE_VIEWER, 0, gw__h_state},
    {"GET", "network", GW__ROLE_VIEWER, 0, gw__h_network},
    {"GET", "status", GW__ROLE_VIEWER, 0, gw__h_status},
    {"GET", "intersections", GW__ROLE_VIEWER, 0, gw__h_intersections},
    {"GET", "intersections/*", GW__ROLE_VIEWER, 0, gw__h_intersection},
    {"GET", "intersections/*/state", GW__ROLE_VIEWER, 0, gw__h_intersection_state},
    {"GET", "intersections/*/detectors", GW__ROLE_VIEWER, 0, gw__h_detectors},
    {"POST", "detectors/*/fail", GW__ROLE_OPERATOR, 0, gw__h_detector_fail},
    {"POST", "detectors/*/restore", GW__ROLE_OPERATOR, 0, gw__h_detector_restore},
    {"GET", "intersections/*/plans", GW__ROLE_VIEWER, 0, gw__h_plans},
    {"POST", "intersections/*/plans", GW__ROLE_OPERATOR, 1, gw__h_plan_create},
    {"GET", "intersections/*/plans/*", GW__ROLE_VIEWER, 0, gw__h_plan},
    {"POST", "intersections/*/plans/*/activate", GW__ROLE_OPERATOR, 0, gw__h_plan_activate},
    {"PUT", "intersections/*/mode", GW__ROLE_OPERATOR, 1, gw__h_mode_set},
    {"GET", "intersections/*/schedules", GW__ROLE_VIEWER, 0, gw__h_schedules},
    {"POST", "intersections/*/schedules", GW__ROLE_OPERATOR, 1, gw__h_schedule_add},
    {"DELETE", "schedules/*", GW__ROLE_OPERATOR, 0, gw__h_schedule_delete},
    {"GET", "alarms", GW__ROLE_VIEWER, 0, gw__h_alarms},
    {"POST", "alarms/*/ack", GW__ROLE_OPERATOR, 0, gw__h_alarm_ack},
    {"GET", "events", GW__ROLE_VIEWER, 0, gw__h_events},
    {"GET", "aggregates", GW__ROLE_VIEWER, 0, gw__h_aggregates},
    {"GET", "measures", GW__ROLE_VIEWER, 0, gw__h_measures},
    {"GET", "audit", GW__ROLE_OPERATOR, 0, gw__h_audit},
    {"GET", "users", GW__ROLE_ADMIN, 0, gw__h_users},
    {"POST", "users", GW__ROLE_ADMIN, 1, gw__h_user_add},
    {"PUT", "users/*", GW__ROLE_ADMIN, 1, gw__h_user_update},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int pattern_matches(const char *pat, const gw__call *c) {
  int i = 0;
  while (*pat) {
    size_t n = strcspn(pat, "/");
    if (i >= c->nseg) return 0;
    if (!(n == 1 && *pat == '*') && (strlen(c->seg[i]) != n || strncmp(c->seg[i], pat, n)))
      return 0;
    i++;
    pat += n;
    if (*pat == '/') pat++;
  }
  return i == c->nseg;
}

/* Splits and decodes the path after "/api/"; -1 after answering. */
static int split_path(gw__call *c, const char *path) {
  if (strncmp(path, "/api/", 5)) {
    gw__api_error(c, 404, "not_found", "no route for this path (the API lives under /api/)");
    return -1;
  }
  const char *p = path + 5;
  c->nseg = 0;
  for (;;) {
    size_t n = strcspn(p, "/");
    if (!n || c->nseg == GW__API_MAX_SEGS) {
      gw__api_error(c, 404, "not_found", "no route for this path");
      return -1;
    }
    if (gw__url_decode(p, n, c->seg[c->nseg], sizeof c->seg[0], 0) < 0 ||
        !gw__api_valid_utf8(c->seg[c->nseg], strlen(c->seg[c->nseg]))) {
      gw__api_error(c, 400, "bad_path",
                    "a path segment is malformed, not UTF-8 or longer than %d bytes",
                    GW__API_SEG_MAX);
      return -1;
    }
    c->nseg++;
    p += n;
    if (!*p) return 0;
    p++;
  }
}

/* Parses the body into c->body; -1 after answering 400. */
static int parse_body(gw__call *c) {
  const gw_http_req *rq = c->rq;
  if (!rq->body || !rq->body_len) {
    gw__api_error(c, 400, "empty_body", "this request needs a JSON object body");
    return -1;
  }
  if (!gw__api_valid_utf8(rq->body, rq->body_len)) {
    gw__api_error(c, 400, "bad_encoding", "the body is not valid UTF-8");
    return -1;
  }
  const char *end = NULL;
  c->body = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0);
  if (c->body && end) {
    const char *stop = rq->body + rq->body_len;
    while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
    if (end != stop) {
      cJSON_Delete(c->body);
      c->body = NULL;
      gw__api_error(c, 400, "malformed_json", "the body has text after its JSON value");
      return -1;
    }
  }
  if (!c->body) {
    gw__api_error(c, 400, "malformed_json", "the body is not well-formed JSON");
    return -1;
  }
  if (!cJSON_IsObject(c->body)) {
    gw__api_error(c, 400, "malformed_json", "the body must be a JSON object");
    return -1;
  }
  return 0;
}

static void dispatch(gw__call *c) {
  const gw_http_req *rq = c->rq;
  if (!rq->method || !rq->path) {
    gw__api_error(c, 400, "bad_request", "no method or path");
    return;
  }
  if (split_path(c, rq->path)) return;
  const route *hit = NULL;
  int path_known = 0;
  for (size_t i = 0; i < NROUTES && !hit; i++) {
    if (!pattern_matches(routes[i].pattern, c)) continue;
    path_known = 1;
    if (!strcmp(routes[i].method, rq->method)) hit = &routes[i];
  }
  if (!hit) {
    if (path_known)
      gw__api_error(c, 405, "method_not_allowed", "%.16s is not allowed on this path", rq->method);
    else
      gw__api_error(c, 404, "not_found", "no route for this path");
    return;
  }
  int bodyless = !strcmp(rq->method, "GET") || !strcmp(rq->method, "DELETE");
  if (bodyless && rq->body_len) {
    gw__api_error(c, 400, "unexpected_body", "a %s request takes no body", rq->method);
    return;
  }
  if (hit->fn == h_health || hit->fn == h_openapi) {
    hit->fn(c);
    return;
  }
  if (pool_take(c->api, &c->st, &c->st_slot)) {
    c->st = NULL;
    gw__api_error(c, 503, "store_unavailable", "the database cannot be reached");
    return;
  }
  if (hit->role != GW__ROLE_NONE) {
    if (authenticate(c)) return;
    if (c->role < hit->role) {
      gw__api_error(c, 403, "forbidden", "this needs the %s role; you are %s",
                    gw__role_name(hit->role), gw__role_name(c->role));
      return;
    }
  }
  if (hit->body && parse_body(c)) return;
  /* A change and its audit row commit together, before the answer: a 2xx
  ** means both are on disk; anything else leaves no trace. */
  int tx = strcmp(rq->method, "GET") != 0;
  gw_error terr = {0, {0}};
  if (tx && gw_store_begin(c->st, &terr)) {
    gw__api_error(c, 503, "store_unavailable", "the database cannot start a transaction");
    return;
  }
  hit->fn(c);
  if (!tx) return;
  if (c->rs->status >= 200 && c->rs->status < 300) {
    if (gw_store_commit(c->st, &terr))
      gw__api_error(c, 500, "store_error", "the change was not saved: the database failed");
  } else {
    gw_store_rollback(c->st);
  }
}

void gw_api_handle(gw_api *api, const gw_http_req *rq, gw_http_resp *rs) {
  gw__call *c = calloc(1, sizeof *c);
  rs->set_cookie[0] = 0;
  rs->retry_after_s = 0;
  rs->body = NULL;
  rs->len = 0;
  if (!c) {
    static const char oom[] =
        "{\"error\":{\"status\":503,\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
    rs->status = 503;
    rs->content_type = "application/json; charset=utf-8";
    rs->body = malloc(sizeof oom);
    if (rs->body) memcpy(rs->body, oom, sizeof oom);
    rs->len = rs->body ? sizeof oom - 1 : 0;
    return;
  }
  c->api = api;
  c->rq = rq;
  c->rs = rs;
  c->st_slot = -1;
  c->now = gw__api_now();
  dispatch(c);
  if (c->st) pool_give(api, c->st_slot, c->st_broken);
  cJSON_Delete(c->body);
  if (!rs->status) gw__api_error(c, 500, "internal", "no answer was made");
  free(c);
}

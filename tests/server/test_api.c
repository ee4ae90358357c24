/*
** test_api.c -- the REST API driven through gw_api_handle, without sockets.
**
** Every test builds a fresh store (a SQLite file in a temporary directory,
** and again on PostgreSQL when GW_TEST_PG_URL is set, in a schema of its
** own), seeds it through the store's interface and then talks to the API
** only as a client would: method, path, query, body, token.  Answers are
** parsed and their values checked; the store is read back to check that a
** 2xx really was committed, with its audit row.  The last test runs a real
** centre on the grid4x4 scenario.
*/
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "greenwave/store.h"
#include "server/api.h"
#include "server/centre.h"

#define PASSWORD "s3cret-pass"

/* ---- fixture ------------------------------------------------------------- */

static char pw_hash[128]; /* one Argon2 hash for every seeded user: hashing is slow */
static const char *backend = "sqlite";

typedef struct fx {
  char dir[64];
  char url[512];
  gw_store *st; /* the test's own connection, for seeding and checking */
  gw_api *api;
  char admin[80], oper[80], viewer[80]; /* tokens */
  int64_t alarm1;
} fx;

typedef struct resp {
  int status;
  char *body;
  size_t len;
  cJSON *json;
  char cookie[256];
  int retry;
} resp;

static void resp_free(resp *r) {
  free(r->body);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

/* One request; the answer is always checked to be JSON (or empty for 204). */
static int call_full(gw_api *api, const char *method, const char *path, const char *query,
                     const char *body, size_t body_len, const char *auth, const char *cookie,
                     const char *remote, resp *r) {
  gw_http_req rq = {method,   path, query,  body,
                    body_len, auth, cookie, remote ? remote : "127.0.0.1"};
  gw_http_resp rs;
  memset(&rs, 0, sizeof rs);
  memset(r, 0, sizeof *r);
  gw_api_handle(api, &rq, &rs);
  r->status = rs.status;
  r->body = rs.body;
  r->len = rs.len;
  snprintf(r->cookie, sizeof r->cookie, "%s", rs.set_cookie);
  r->retry = rs.retry_after_s;
  assert_true(rs.status >= 200 && rs.status <= 599);
  if (rs.status == 204) {
    assert_int_equal(rs.len, 0);
  } else {
    assert_non_null(rs.body);
    r->json = cJSON_ParseWithLength(rs.body, rs.len);
    if (!r->json) fail_msg("not JSON (%d): %.*s", rs.status, (int)rs.len, rs.body);
    assert_non_null(rs.content_type);
    assert_non_null(strstr(rs.content_type, "application/json"));
  }
  if (rs.status >= 400) {
    /* Every error has the same shape. */
    const cJSON *e = cJSON_GetObjectItem(r->json, "error");
    assert_true(cJSON_IsObject(e));
    assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, rs.status);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "code")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
  }
  return rs.status;
}

static int call(fx *f, const char *method, const char *path, const char *query, const char *body,
                const char *token, resp *r) {
  char auth[128];
  if (token) snprintf(auth, sizeof auth, "Bearer %s", token);
  return call_full(f->api, method, path, query, body, body ? strlen(body) : 0, token ? auth : NULL,
                   NULL, NULL, r);
}

/* Status only. */
static int st(fx *f, const char *method, const char *path, const char *query, const char *body,
              const char *token) {
  resp r;
  int s = call(f, method, path, query, body, token, &r);
  resp_free(&r);
  return s;
}

static const char *err_code(const resp *r) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code")->valuestring;
}
static const char *err_msg(const resp *r) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "message")->valuestring;
}

static void login(fx *f, const char *name, char *token) {
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, PASSWORD);
  resp r;
  assert_int_equal(call(f, "POST", "/api/login", NULL, body, NULL, &r), 200);
  snprintf(token, 80, "%s", cJSON_GetObjectItem(r.json, "token")->valuestring);
  resp_free(&r);
}

/* A fresh PostgreSQL schema named after the process, in the URL's search
** path; returns 0 when PostgreSQL is not configured. */
static int pg_url(char *url, size_t len) {
  const char *base = getenv("GW_TEST_PG_URL");
  if (!base || !*base) return 0;
  char schema[64], sql[256];
  snprintf(schema, sizeof schema, "api_test_%ld", (long)getpid());
  const char *conn = base;
  if (!strncmp(conn, "postgresql:", 11) && strncmp(conn, "postgresql://", 13)) conn += 11;
  PGconn *pg = PQconnectdb(conn);
  if (PQstatus(pg) != CONNECTION_OK) fail_msg("postgresql: %s", PQerrorMessage(pg));
  snprintf(sql, sizeof sql,
           "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; "
           "CREATE SCHEMA %s",
           schema, schema);
  PGresult *res = PQexec(pg, sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) fail_msg("postgresql: %s", PQerrorMessage(pg));
  PQclear(res);
  PQfinish(pg);
  snprintf(url, len, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?',
           schema);
  return 1;
}

static int fx_open(fx *f, double ttl_s, int max_failures) {
  if (!strcmp(backend, "postgresql")) {
    if (!pg_url(f->url, sizeof f->url)) return -1;
  } else {
    snprintf(f->dir, sizeof f->dir, "/tmp/gw-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite:%s/t.db", f->dir);
  }
  gw_error err = {0, {0}};
  if (gw_store_open(f->url, &f->st, &err)) fail_msg("store: %s", err.msg);
  const char *users[3][2] = {{"ana", "admin"}, {"olga", "operator"}, {"vic", "viewer"}};
  for (int i = 0; i < 3; i++)
    assert_int_equal(gw_store_user_add(f->st, users[i][0], users[i][1], pw_hash, 1, &err), 0);
  const char *cfg = "{\"groups\":[],\"stages\":[]}";
  assert_int_equal(gw_store_intersection_put(f->st, "J1", "Main x First", 10, 20, cfg, &err), 0);
  assert_int_equal(gw_store_intersection_put(f->st, "J 2/b", "odd id", 30, 40, cfg, &err), 0);
  assert_int_equal(gw_store_alarm_raise(f->st, 1000, "J1", "failsafe", "critical",
                                        "J1 went to fail-safe", &f->alarm1, &err),
                   0);
  gw_api_opts o;
  gw_api_opts_init(&o);
  o.db_url = f->url;
  o.session_ttl_s = ttl_s;
  o.login_max_failures = max_failures;
  o.login_window_s = 300;
  if (gw_api_create(&o, &f->api, &err)) fail_msg("api: %s", err.msg);
  login(f, "ana", f->admin);
  login(f, "olga", f->oper);
  login(f, "vic", f->viewer);
  return 0;
}

static void fx_close(fx *f) {
  gw_api_destroy(f->api);
  gw_store_close(f->st);
  if (f->dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
  }
}

/* Runs a test body on every configured back end. */
#define ON_EACH_BACKEND(body_fn, ttl, maxf)                                         \
  do {                                                                              \
    const char *kinds[2] = {"sqlite", "postgresql"};                                \
    for (int k_ = 0; k_ < 2; k_++) {                                                \
      backend = kinds[k_];                                                          \
      fx f_;                                                                        \
      memset(&f_, 0, sizeof f_);                                                    \
      if (fx_open(&f_, ttl, maxf)) {                                                \
        if (k_ == 1) print_message("postgresql: skipped (GW_TEST_PG_URL unset)\n"); \
        continue;                                                                   \
      }                                                                             \
      body_fn(&f_);                                                                 \
      fx_close(&f_);                                                                \
    }                                                                               \
    backend = "sqlite";                                                             \
  } while (0)

/* The newest audit row of `action` (highest id), or NULL. */
static cJSON *last_audit(fx *f, const char *action) {
  cJSON *rows = NULL, *it, *hit = NULL;
  gw_error err;
  assert_int_equal(gw_store_audit_list(f->st, 0, 1e11, 10000, &rows, &err), 0);
  double best = -1;
  cJSON_ArrayForEach(it, rows) {
    const cJSON *a = cJSON_GetObjectItem(it, "action");
    const cJSON *id = cJSON_GetObjectItem(it, "id");
    if (cJSON_IsString(a) && !strcmp(a->valuestring, action) && id->valuedouble > best) {
      hit = it;
      best = id->valuedouble;
    }
  }
  cJSON *out = hit ? cJSON_Duplicate(hit, 1) : NULL;
  cJSON_Delete(rows);
  return out;
}

/* A JSON column of an audit row: parsed by the store, or text. */
static cJSON *audit_json(const cJSON *row, const char *key) {
  const cJSON *v = cJSON_GetObjectItem(row, key);
  if (cJSON_IsString(v)) return cJSON_Parse(v->valuestring);
  return v && !cJSON_IsNull(v) ? cJSON_Duplicate(v, 1) : NULL;
}

/* ---- routes, login, tokens ----------------------------------------------- */

static void routes_body(fx *f) {
  resp r;
  assert_int_equal(call(f, "GET", "/api/health", NULL, NULL, NULL, &r), 200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "status")->valuestring, "ok");
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/openapi.json", NULL, NULL, NULL, &r), 200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "openapi")->valuestring, "3.0.3");
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "paths"), "/api/login"));
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/nothing", NULL, NULL, f->admin, &r), 404);
  assert_string_equal(err_code(&r), "not_found");
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/elsewhere", NULL, NULL, NULL), 404);
  assert_int_equal(st(f, "GET", "/api/", NULL, NULL, NULL), 404);
  assert_int_equal(st(f, "GET", "/api/health/", NULL, NULL, NULL), 404);
  assert_int_equal(st(f, "GET", "/api//health", NULL, NULL, NULL), 404);
  assert_int_equal(st(f, "GET", "/api/intersections/J1/plans/1/activate/x", NULL, NULL, f->admin),
                   404);
  assert_int_equal(call(f, "DELETE", "/api/health", NULL, NULL, NULL, &r), 405);
  assert_string_equal(err_code(&r), "method_not_allowed");
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/login", NULL, NULL, NULL), 405);
  assert_int_equal(st(f, "PATCH", "/api/intersections/J1/mode", NULL, "{}", f->admin), 405);
  assert_int_equal(st(f, "GET", "/api/alarms/1/ack", NULL, NULL, f->admin), 405);
  /* Without a centre: live routes 503, status says so. */
  assert_int_equal(call(f, "GET", "/api/state", NULL, NULL, f->viewer, &r), 503);
  assert_string_equal(err_code(&r), "no_live_centre");
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/network", NULL, NULL, f->viewer), 503);
  assert_int_equal(st(f, "GET", "/api/intersections/J1/state", NULL, NULL, f->viewer), 503);
  assert_int_equal(call(f, "GET", "/api/status", NULL, NULL, f->viewer, &r), 200);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "centre")));
  assert_string_equal(cJSON_GetObjectItem(r.json, "store")->valuestring, backend);
  assert_string_equal(cJSON_GetObjectItem(r.json, "version")->valuestring, GW_VERSION);
  resp_free(&r);
}
static void test_routes(void **s) {
  (void)s;
  ON_EACH_BACKEND(routes_body, 3600, 5);
}

static void login_body(fx *f) {
  resp r;
  assert_int_equal(call(f, "POST", "/api/login", NULL,
                        "{\"name\":\"olga\",\"password\":\"" PASSWORD "\"}", NULL, &r),
                   200);
  const char *tok = cJSON_GetObjectItem(r.json, "token")->valuestring;
  assert_int_equal(strlen(tok), 64);
  assert_string_equal(cJSON_GetObjectItem(r.json, "name")->valuestring, "olga");
  assert_string_equal(cJSON_GetObjectItem(r.json, "role")->valuestring, "operator");
  assert_true(cJSON_GetObjectItem(r.json, "expires_at")->valuedouble > 1e9);
  assert_true(strncmp(r.cookie, "gw_token=", 9) == 0);
  assert_true(strncmp(r.cookie + 9, tok, 64) == 0);
  assert_non_null(strstr(r.cookie, "HttpOnly"));
  assert_non_null(strstr(r.cookie, "SameSite=Strict"));
  assert_non_null(strstr(r.cookie, "Path=/"));
  char token[80], cookie[128];
  snprintf(token, sizeof token, "%s", tok);
  snprintf(cookie, sizeof cookie, "theme=dark; gw_token=%s; other=1", tok);
  resp_free(&r);
  /* The token works as a Bearer header and as a cookie. */
  assert_int_equal(call(f, "GET", "/api/me", NULL, NULL, token, &r), 200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "name")->valuestring, "olga");
  assert_string_equal(cJSON_GetObjectItem(r.json, "role")->valuestring, "operator");
  resp_free(&r);
  assert_int_equal(call_full(f->api, "GET", "/api/me", NULL, NULL, 0, NULL, cookie, NULL, &r), 200);
  resp_free(&r);
  /* Sessions are stored by hash, never by token. */
  cJSON *row = NULL;
  gw_error err;
  assert_int_equal(gw_store_session_get(f->st, token, 1, &row, &err), GW_ENOTFOUND);
  /* Bad credentials: the same answer for a wrong password and an unknown name. */
  assert_int_equal(call(f, "POST", "/api/login", NULL,
                        "{\"name\":\"olga\",\"password\":\"nope-nope\"}", NULL, &r),
                   401);
  char msg1[256];
  snprintf(msg1, sizeof msg1, "%s", err_msg(&r));
  assert_string_equal(err_code(&r), "bad_credentials");
  assert_string_equal(r.cookie, "");
  resp_free(&r);
  assert_int_equal(call(f, "POST", "/api/login", NULL,
                        "{\"name\":\"nobody\",\"password\":\"" PASSWORD "\"}", NULL, &r),
                   401);
  assert_string_equal(err_msg(&r), msg1);
  resp_free(&r);
  assert_int_equal(st(f, "POST", "/api/login", NULL, "{\"name\":\"olga\"}", NULL), 400);
  assert_int_equal(st(f, "POST", "/api/login", NULL, "{\"name\":1,\"password\":\"x\"}", NULL), 400);
  assert_int_equal(st(f, "POST", "/api/login", NULL, NULL, NULL), 400);
  /* Logout ends the session and clears the cookie. */
  assert_int_equal(call(f, "POST", "/api/logout", NULL, NULL, token, &r), 204);
  assert_non_null(strstr(r.cookie, "Max-Age=0"));
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/me", NULL, NULL, token), 401);
}
static void test_login(void **s) {
  (void)s;
  ON_EACH_BACKEND(login_body, 3600, 5);
}

static void rate_body(fx *f) {
  resp r;
  const char *bad = "{\"name\":\"vic\",\"password\":\"wrong-wrong\"}";
  const char *good = "{\"name\":\"vic\",\"password\":\"" PASSWORD "\"}";
  for (int i = 0; i < 3; i++) {
    assert_int_equal(
        call_full(f->api, "POST", "/api/login", NULL, bad, strlen(bad), NULL, NULL, "10.0.0.1", &r),
        401);
    resp_free(&r);
  }
  /* Blocked by name, even with the right password and from elsewhere. */
  assert_int_equal(
      call_full(f->api, "POST", "/api/login", NULL, good, strlen(good), NULL, NULL, "10.0.0.2", &r),
      429);
  assert_true(r.retry > 0 && r.retry <= 300);
  assert_string_equal(err_code(&r), "too_many_attempts");
  resp_free(&r);
  /* Blocked by address: 10.0.0.1 failed three times, whatever the name. */
  const char *good_olga = "{\"name\":\"olga\",\"password\":\"" PASSWORD "\"}";
  assert_int_equal(call_full(f->api, "POST", "/api/login", NULL, good_olga, strlen(good_olga), NULL,
                             NULL, "10.0.0.1", &r),
                   429);
  assert_true(r.retry > 0);
  resp_free(&r);
  /* Another user from another address is not affected. */
  assert_int_equal(call_full(f->api, "POST", "/api/login", NULL, good_olga, strlen(good_olga), NULL,
                             NULL, "10.0.0.3", &r),
                   200);
  resp_free(&r);
}
static void test_rate_limit(void **s) {
  (void)s;
  ON_EACH_BACKEND(rate_body, 3600, 3);
}

static void tokens_body(fx *f) {
  resp r;
  assert_int_equal(call(f, "GET", "/api/me", NULL, NULL, NULL, &r), 401);
  assert_string_equal(err_code(&r), "unauthenticated");
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/me", NULL, NULL, "garbage"), 401);
  char unknown[65];
  memset(unknown, 'a', 64);
  unknown[64] = 0;
  assert_int_equal(st(f, "GET", "/api/me", NULL, NULL, unknown), 401);
  assert_int_equal(
      call_full(f->api, "GET", "/api/me", NULL, NULL, 0, "Basic dXNlcjpwYXNz", NULL, NULL, &r),
      401);
  resp_free(&r);
  assert_int_equal(call_full(f->api, "GET", "/api/me", NULL, NULL, 0, NULL, "gw_token=", NULL, &r),
                   401);
  resp_free(&r);
  /* The fixture's sessions live 0.2 s: wait until they are over. */
  usleep(400 * 1000);
  assert_int_equal(call(f, "GET", "/api/me", NULL, NULL, f->admin, &r), 401);
  assert_non_null(strstr(err_msg(&r), "expired"));
  resp_free(&r);
  char role[16];
  assert_int_equal(gw_api_token_role(f->api, f->admin, role, sizeof role), 0);
  assert_int_equal(gw_api_token_role(f->api, "garbage", role, sizeof role), 0);
}
static void test_tokens(void **s) {
  (void)s;
  ON_EACH_BACKEND(tokens_body, 0.2, 5);
}

static void roles_body(fx *f) {
  char role[16];
  assert_int_equal(gw_api_token_role(f->api, f->oper, role, sizeof role), 1);
  assert_string_equal(role, "operator");
  const char *plan = "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[45,45]}";
  resp r;
  assert_int_equal(call(f, "POST", "/api/intersections/J1/plans", NULL, plan, f->viewer, &r), 403);
  assert_string_equal(err_code(&r), "forbidden");
  resp_free(&r);
  assert_int_equal(
      st(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":\"flash\"}", f->viewer), 403);
  assert_int_equal(st(f, "POST", "/api/alarms/1/ack", NULL, NULL, f->viewer), 403);
  assert_int_equal(st(f, "GET", "/api/audit", NULL, NULL, f->viewer), 403);
  assert_int_equal(st(f, "GET", "/api/users", NULL, NULL, f->oper), 403);
  assert_int_equal(st(f, "POST", "/api/users", NULL, "{}", f->oper), 403);
  assert_int_equal(st(f, "GET", "/api/audit", NULL, NULL, f->oper), 200);
  assert_int_equal(st(f, "GET", "/api/users", NULL, NULL, f->admin), 200);
  /* Nothing was written by the refused calls. */
  cJSON *plans = NULL;
  gw_error err;
  assert_int_equal(gw_store_plans(f->st, "J1", &plans, &err), 0);
  assert_int_equal(cJSON_GetArraySize(plans), 0);
  cJSON_Delete(plans);
}
static void test_roles(void **s) {
  (void)s;
  ON_EACH_BACKEND(roles_body, 3600, 5);
}

/* ---- plans and modes ----------------------------------------------------- */

static void plans_body(fx *f) {
  resp r;
  const char *p1 = "{\"cycle_s\":90,\"offset_s\":10,\"splits_s\":[50,40],\"note\":\"am peak\"}";
  assert_int_equal(call(f, "POST", "/api/intersections/J1/plans", NULL, p1, f->oper, &r), 201);
  assert_int_equal(cJSON_GetObjectItem(r.json, "version")->valueint, 1);
  resp_free(&r);
  const char *p2 = "{\"cycle_s\":100,\"offset_s\":0,\"splits_s\":[60,40],\"extra\":[1,2]}";
  assert_int_equal(call(f, "POST", "/api/intersections/J1/plans", NULL, p2, f->oper, &r), 201);
  assert_int_equal(cJSON_GetObjectItem(r.json, "version")->valueint, 2);
  resp_free(&r);
  /* Version 1 is unchanged, the unknown key was not stored. */
  assert_int_equal(call(f, "GET", "/api/intersections/J1/plans/1", NULL, NULL, f->viewer, &r), 200);
  const cJSON *row = cJSON_IsArray(r.json) ? cJSON_GetArrayItem(r.json, 0) : r.json;
  cJSON *body = audit_json(row, "body");
  assert_int_equal(cJSON_GetObjectItem(body, "cycle_s")->valueint, 90);
  assert_int_equal(cJSON_GetObjectItem(body, "offset_s")->valueint, 10);
  cJSON_Delete(body);
  assert_string_equal(cJSON_GetObjectItem(row, "created_by")->valuestring, "olga");
  assert_string_equal(cJSON_GetObjectItem(row, "note")->valuestring, "am peak");
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/intersections/J1/plans/2", NULL, NULL, f->viewer, &r), 200);
  row = cJSON_IsArray(r.json) ? cJSON_GetArrayItem(r.json, 0) : r.json;
  body = audit_json(row, "body");
  assert_null(cJSON_GetObjectItem(body, "extra"));
  cJSON_Delete(body);
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/intersections/J1/plans", NULL, NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 2);
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/intersections/J1/plans/3", NULL, NULL, f->viewer), 404);
  assert_int_equal(st(f, "GET", "/api/intersections/J1/plans/x", NULL, NULL, f->viewer), 404);
  assert_int_equal(st(f, "GET", "/api/intersections/J1/plans/-1", NULL, NULL, f->viewer), 404);
  assert_int_equal(st(f, "GET", "/api/intersections/NOPE/plans", NULL, NULL, f->viewer), 404);
  /* The audit row carries the plan. */
  cJSON *a = last_audit(f, "plan.create");
  assert_non_null(a);
  assert_string_equal(cJSON_GetObjectItem(a, "user")->valuestring, "olga");
  assert_string_equal(cJSON_GetObjectItem(a, "target")->valuestring, "J1");
  cJSON *after = audit_json(a, "after");
  assert_int_equal(cJSON_GetObjectItem(after, "version")->valueint, 2);
  assert_int_equal(cJSON_GetObjectItem(after, "cycle_s")->valueint, 100);
  cJSON_Delete(after);
  cJSON_Delete(a);

  /* Invalid plans: 422 naming the field; malformed: 400. */
  struct {
    const char *body;
    int status;
    const char *needle;
  } bad[] = {
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,30]}", 422, "splits_s"},
      {"{\"cycle_s\":90,\"offset_s\":90,\"splits_s\":[50,40]}", 422, "offset_s"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[100,-10]}", 422, "splits_s"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[]}", 422, "splits_s"},
      {"{\"cycle_s\":1e308,\"offset_s\":0,\"splits_s\":[50,40]}", 422, "cycle_s"},
      {"{\"cycle_s\":-90,\"offset_s\":0,\"splits_s\":[50,40]}", 422, "cycle_s"},
      {"{\"cycle_s\":\"90\",\"offset_s\":0,\"splits_s\":[50,40]}", 400, "cycle_s"},
      {"{\"cycle_s\":\"NaN\",\"offset_s\":0,\"splits_s\":[50,40]}", 400, "cycle_s"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":\"50,40\"}", 400, "splits_s"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,\"40\"]}", 400, "splits_s"},
      {"{\"cycle_s\":90,\"offset_s\":0}", 400, "splits_s"},
      {"{\"offset_s\":0,\"splits_s\":[50,40]}", 400, "cycle_s"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,40],\"note\":7}", 400, "note"},
      {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,40]", 400, "JSON"},
      {"[1,2]", 400, "object"},
      {"{\"cycle_s\":90} trailing", 400, "after"},
      {"", 400, "body"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int got = call(f, "POST", "/api/intersections/J1/plans", NULL, bad[i].body, f->oper, &r);
    if (got != bad[i].status || !strstr(err_msg(&r), bad[i].needle))
      fail_msg("plan %zu: %d %s", i, got, r.body);
    resp_free(&r);
  }
  /* An oversized note. */
  char *big = malloc(3000);
  int n = snprintf(big, 3000, "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,40],\"note\":\"");
  memset(big + n, 'x', 1500);
  snprintf(big + n + 1500, 3000 - (size_t)n - 1500, "\"}");
  assert_int_equal(call(f, "POST", "/api/intersections/J1/plans", NULL, big, f->oper, &r), 422);
  assert_non_null(strstr(err_msg(&r), "note"));
  resp_free(&r);
  free(big);
  assert_int_equal(st(f, "POST", "/api/intersections/NOPE/plans", NULL,
                      "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,40]}", f->oper),
                   404);
  /* Still two versions. */
  cJSON *plans = NULL;
  gw_error err;
  assert_int_equal(gw_store_plans(f->st, "J1", &plans, &err), 0);
  assert_int_equal(cJSON_GetArraySize(plans), 2);
  cJSON_Delete(plans);

  /* Activation: store and audit. */
  assert_int_equal(
      call(f, "POST", "/api/intersections/J1/plans/1/activate", NULL, NULL, f->oper, &r), 200);
  assert_int_equal(cJSON_GetObjectItem(r.json, "plan_version")->valueint, 1);
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "applied")));
  resp_free(&r);
  cJSON *is = NULL;
  assert_int_equal(gw_store_intersection_get(f->st, "J1", &is, &err), 0);
  assert_string_equal(cJSON_GetObjectItem(is, "mode")->valuestring, "fixed");
  assert_int_equal(cJSON_GetObjectItem(is, "plan_version")->valueint, 1);
  cJSON_Delete(is);
  a = last_audit(f, "plan.activate");
  assert_non_null(a);
  cJSON *before = audit_json(a, "before");
  after = audit_json(a, "after");
  assert_int_equal(cJSON_GetObjectItem(before, "plan_version")->valueint, 0);
  assert_int_equal(cJSON_GetObjectItem(after, "plan_version")->valueint, 1);
  cJSON_Delete(before);
  cJSON_Delete(after);
  cJSON_Delete(a);
  assert_int_equal(st(f, "POST", "/api/intersections/J1/plans/9/activate", NULL, NULL, f->oper),
                   404);
  assert_int_equal(
      call(f, "POST", "/api/intersections/J1/plans/2/activate", NULL, NULL, f->oper, &r), 200);
  resp_free(&r);
  a = last_audit(f, "plan.activate");
  before = audit_json(a, "before");
  assert_int_equal(cJSON_GetObjectItem(before, "plan_version")->valueint, 1);
  cJSON_Delete(before);
  cJSON_Delete(a);
  /* The detail view shows what the store has. */
  assert_int_equal(call(f, "GET", "/api/intersections/J1", NULL, NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetObjectItem(r.json, "plan_version")->valueint, 2);
  assert_string_equal(cJSON_GetObjectItem(r.json, "mode")->valuestring, "fixed");
  assert_true(cJSON_IsObject(cJSON_GetObjectItem(r.json, "config")));
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "state")));
  resp_free(&r);
  /* Ids with a space and a slash, percent-encoded in the path. */
  assert_int_equal(call(f, "GET", "/api/intersections/J%202%2Fb", NULL, NULL, f->viewer, &r), 200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "id")->valuestring, "J 2/b");
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/intersections", NULL, NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 2);
  assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "config"));
  resp_free(&r);
}
static void test_plans(void **s) {
  (void)s;
  ON_EACH_BACKEND(plans_body, 3600, 5);
}

static void modes_body(fx *f) {
  resp r;
  assert_int_equal(call(f, "PUT", "/api/intersections/J1/mode", NULL,
                        "{\"mode\":\"hold\",\"param\":1}", f->oper, &r),
                   200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "mode")->valuestring, "hold");
  resp_free(&r);
  cJSON *is = NULL;
  gw_error err;
  assert_int_equal(gw_store_intersection_get(f->st, "J1", &is, &err), 0);
  assert_string_equal(cJSON_GetObjectItem(is, "mode")->valuestring, "hold");
  assert_string_equal(cJSON_GetObjectItem(is, "mode_param")->valuestring, "1");
  cJSON_Delete(is);
  cJSON *a = last_audit(f, "mode.set");
  assert_non_null(a);
  cJSON *before = audit_json(a, "before"), *after = audit_json(a, "after");
  assert_string_equal(cJSON_GetObjectItem(before, "mode")->valuestring, "fixed");
  assert_string_equal(cJSON_GetObjectItem(after, "mode")->valuestring, "hold");
  assert_string_equal(cJSON_GetObjectItem(after, "mode_param")->valuestring, "1");
  cJSON_Delete(before);
  cJSON_Delete(after);
  cJSON_Delete(a);
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL,
                      "{\"mode\":\"actuated\",\"param\":{\"gap_s\":3}}", f->oper),
                   200);
  a = last_audit(f, "mode.set");
  before = audit_json(a, "before");
  assert_string_equal(cJSON_GetObjectItem(before, "mode")->valuestring, "hold");
  cJSON_Delete(before);
  cJSON_Delete(a);
  assert_int_equal(
      st(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":\"flash\"}", f->oper), 200);
  /* Clearances shape the safety monitor: not changed on a running signal. */
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL,
                      "{\"mode\":\"actuated\",\"param\":\"allred=0\"}", f->oper),
                   422);
  assert_int_equal(
      call(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":\"disco\"}", f->oper, &r), 422);
  assert_non_null(strstr(err_msg(&r), "mode"));
  resp_free(&r);
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":\"hold\"}", f->oper),
                   422);
  assert_int_equal(
      st(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":\"hold\",\"param\":-1}", f->oper),
      422);
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL,
                      "{\"mode\":\"hold\",\"param\":[1]}", f->oper),
                   400);
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL, "{\"mode\":5}", f->oper), 400);
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL, "{}", f->oper), 400);
  assert_int_equal(
      st(f, "PUT", "/api/intersections/NOPE/mode", NULL, "{\"mode\":\"flash\"}", f->oper), 404);
  /* The refused calls left the last mode alone. */
  assert_int_equal(gw_store_intersection_get(f->st, "J1", &is, &err), 0);
  assert_string_equal(cJSON_GetObjectItem(is, "mode")->valuestring, "flash");
  cJSON_Delete(is);
}
static void test_modes(void **s) {
  (void)s;
  ON_EACH_BACKEND(modes_body, 3600, 5);
}

static void schedules_body(fx *f) {
  resp r;
  assert_int_equal(st(f, "POST", "/api/intersections/J1/plans", NULL,
                      "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[50,40]}", f->oper),
                   201);
  assert_int_equal(call(f, "POST", "/api/intersections/J1/schedules", NULL,
                        "{\"days\":62,\"start_s\":25200,\"plan_version\":1}", f->oper, &r),
                   201);
  double id = cJSON_GetObjectItem(r.json, "id")->valuedouble;
  assert_true(id >= 1);
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/intersections/J1/schedules", NULL, NULL, f->viewer, &r),
                   200);
  assert_int_equal(cJSON_GetArraySize(r.json), 1);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "days")->valueint, 62);
  resp_free(&r);
  cJSON *a = last_audit(f, "schedule.add");
  assert_non_null(a);
  cJSON_Delete(a);
  assert_int_equal(st(f, "POST", "/api/intersections/J1/schedules", NULL,
                      "{\"days\":128,\"start_s\":0,\"plan_version\":1}", f->oper),
                   422);
  assert_int_equal(st(f, "POST", "/api/intersections/J1/schedules", NULL,
                      "{\"days\":1.5,\"start_s\":0,\"plan_version\":1}", f->oper),
                   422);
  assert_int_equal(st(f, "POST", "/api/intersections/J1/schedules", NULL,
                      "{\"days\":1,\"start_s\":86400,\"plan_version\":1}", f->oper),
                   422);
  assert_int_equal(st(f, "POST", "/api/intersections/J1/schedules", NULL,
                      "{\"days\":1,\"start_s\":0,\"plan_version\":7}", f->oper),
                   422);
  char path[64];
  snprintf(path, sizeof path, "/api/schedules/%.0f", id);
  assert_int_equal(st(f, "DELETE", path, NULL, NULL, f->viewer), 403);
  assert_int_equal(st(f, "DELETE", path, NULL, NULL, f->oper), 204);
  assert_int_equal(st(f, "DELETE", path, NULL, NULL, f->oper), 404);
  assert_int_equal(st(f, "DELETE", "/api/schedules/abc", NULL, NULL, f->oper), 404);
  a = last_audit(f, "schedule.delete");
  assert_non_null(a);
  cJSON_Delete(a);
}
static void test_schedules(void **s) {
  (void)s;
  ON_EACH_BACKEND(schedules_body, 3600, 5);
}

static void alarms_body(fx *f) {
  resp r;
  assert_int_equal(call(f, "GET", "/api/alarms", "open=1&limit=10", NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 1);
  resp_free(&r);
  char path[64];
  snprintf(path, sizeof path, "/api/alarms/%lld/ack", (long long)f->alarm1);
  assert_int_equal(call(f, "POST", path, NULL, NULL, f->oper, &r), 200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "acked_by")->valuestring, "olga");
  resp_free(&r);
  assert_int_equal(call(f, "POST", path, NULL, NULL, f->oper, &r), 409);
  assert_string_equal(err_code(&r), "already_acknowledged");
  resp_free(&r);
  assert_int_equal(st(f, "POST", "/api/alarms/999999/ack", NULL, NULL, f->oper), 404);
  assert_int_equal(st(f, "POST", "/api/alarms/0/ack", NULL, NULL, f->oper), 404);
  cJSON *a = last_audit(f, "alarm.ack");
  assert_non_null(a);
  assert_string_equal(cJSON_GetObjectItem(a, "user")->valuestring, "olga");
  cJSON_Delete(a);
  assert_int_equal(st(f, "GET", "/api/alarms", "limit=0", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/alarms", "open=yes", NULL, f->viewer), 400);
}
static void test_alarms(void **s) {
  (void)s;
  ON_EACH_BACKEND(alarms_body, 3600, 5);
}

static void users_body(fx *f) {
  resp r;
  assert_int_equal(
      call(f, "POST", "/api/users", NULL,
           "{\"name\":\"neo\",\"role\":\"viewer\",\"password\":\"longenough\"}", f->admin, &r),
      201);
  resp_free(&r);
  assert_int_equal(
      call(f, "POST", "/api/users", NULL,
           "{\"name\":\"neo\",\"role\":\"viewer\",\"password\":\"longenough\"}", f->admin, &r),
      409);
  resp_free(&r);
  assert_int_equal(
      call(f, "POST", "/api/users", NULL,
           "{\"name\":\"trin\",\"role\":\"viewer\",\"password\":\"short\"}", f->admin, &r),
      422);
  assert_string_equal(err_code(&r), "weak_password");
  resp_free(&r);
  assert_int_equal(
      st(f, "POST", "/api/users", NULL,
         "{\"name\":\"trin\",\"role\":\"root\",\"password\":\"longenough\"}", f->admin),
      422);
  assert_int_equal(
      st(f, "POST", "/api/users", NULL,
         "{\"name\":\"a b\",\"role\":\"viewer\",\"password\":\"longenough\"}", f->admin),
      422);
  /* The audit row names the user, never the password or its hash. */
  cJSON *a = last_audit(f, "user.add");
  assert_non_null(a);
  char *text = cJSON_PrintUnformatted(a);
  assert_null(strstr(text, "longenough"));
  assert_null(strstr(text, "argon2"));
  assert_non_null(strstr(text, "neo"));
  free(text);
  cJSON_Delete(a);
  assert_int_equal(call(f, "GET", "/api/users", NULL, NULL, f->admin, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 4);
  assert_null(strstr(r.body, "argon2"));
  resp_free(&r);
  /* The new user logs in; a changed password replaces the old one. */
  assert_int_equal(
      st(f, "POST", "/api/login", NULL, "{\"name\":\"neo\",\"password\":\"longenough\"}", NULL),
      200);
  assert_int_equal(st(f, "PUT", "/api/users/neo", NULL,
                      "{\"role\":\"operator\",\"password\":\"another-one\"}", f->admin),
                   200);
  assert_int_equal(
      st(f, "POST", "/api/login", NULL, "{\"name\":\"neo\",\"password\":\"longenough\"}", NULL),
      401);
  assert_int_equal(call(f, "POST", "/api/login", NULL,
                        "{\"name\":\"neo\",\"password\":\"another-one\"}", NULL, &r),
                   200);
  assert_string_equal(cJSON_GetObjectItem(r.json, "role")->valuestring, "operator");
  resp_free(&r);
  a = last_audit(f, "user.update");
  cJSON *before = audit_json(a, "before"), *after = audit_json(a, "after");
  assert_string_equal(cJSON_GetObjectItem(before, "role")->valuestring, "viewer");
  assert_string_equal(cJSON_GetObjectItem(after, "role")->valuestring, "operator");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(after, "password_changed")));
  cJSON_Delete(before);
  cJSON_Delete(after);
  cJSON_Delete(a);
  assert_int_equal(st(f, "PUT", "/api/users/ghost", NULL, "{\"role\":\"viewer\"}", f->admin), 404);
  assert_int_equal(st(f, "PUT", "/api/users/neo", NULL, "{}", f->admin), 422);
  assert_int_equal(st(f, "PUT", "/api/users/neo", NULL, "{\"password\":\"x\"}", f->admin), 422);
}
static void test_users(void **s) {
  (void)s;
  ON_EACH_BACKEND(users_body, 3600, 5);
}

/* ---- history --------------------------------------------------------------- */

static void history_body(fx *f) {
  /* A signal with two phases over a few cycles, one detector on phase 2. */
  gw_store_event ev[64];
  uint32_t n = 0;
  double t0 = 1795960800; /* 2026-11-29T14:00:00Z */
  for (int cyc = 0; cyc < 4; cyc++) {
    double b = t0 + cyc * 60;
    ev[n++] = (gw_store_event){"J1", b + 0, 1, 2};
    ev[n++] = (gw_store_event){"J1", b + 5, 82, 7};
    ev[n++] = (gw_store_event){"J1", b + 25, 8, 2};
    ev[n++] = (gw_store_event){"J1", b + 28, 9, 2};
    ev[n++] = (gw_store_event){"J1", b + 30, 1, 4};
    ev[n++] = (gw_store_event){"J1", b + 40, 82, 7};
    ev[n++] = (gw_store_event){"J1", b + 55, 8, 4};
    ev[n++] = (gw_store_event){"J1", b + 58, 9, 4};
  }
  ev[n++] = (gw_store_event){"J9", t0, 1, 2};
  gw_error err;
  assert_int_equal(gw_store_events_add(f->st, ev, n, &err), 0);
  resp r;
  assert_int_equal(call(f, "GET", "/api/events", "signal=J1&limit=5", NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 5);
  resp_free(&r);
  assert_int_equal(
      call(f, "GET", "/api/events", "signal=J1&from=2026-11-29T14:01:00Z&to=2026-11-29T14:01:59Z",
           NULL, f->viewer, &r),
      200);
  assert_int_equal(cJSON_GetArraySize(r.json), 8);
  resp_free(&r);
  assert_int_equal(
      call(f, "GET", "/api/events", "from=1795960800&to=1795960801", NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 2);
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/events", "from=yesterday", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/events", "from=200&to=100", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/events", "limit=99999999999999999999", NULL, f->viewer), 400);
  /* Measures: the same numbers as the engine gives. */
  assert_int_equal(call(f, "GET", "/api/measures", "signal=J1&measure=split", NULL, f->viewer, &r),
                   200);
  const cJSON *ph = cJSON_GetObjectItem(r.json, "phases");
  assert_int_equal(cJSON_GetArraySize(ph), 2);
  const cJSON *p2 = cJSON_GetArrayItem(ph, 0);
  assert_int_equal(cJSON_GetObjectItem(p2, "phase")->valueint, 2);
  assert_int_equal(cJSON_GetObjectItem(p2, "cycles")->valueint, 3);
  assert_true(fabs(cJSON_GetObjectItem(p2, "mean_green_s")->valuedouble - 25) < 1e-6);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "cycles")), 6);
  resp_free(&r);
  assert_int_equal(
      call(f, "GET", "/api/measures", "signal=J1&measure=aog&detectors=7:2", NULL, f->viewer, &r),
      200);
  p2 = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "phases"), 0);
  /* Arrivals at +5 s (green) and +40 s (red) of each of phase 2's cycles. */
  assert_int_equal(cJSON_GetObjectItem(p2, "arrivals_green")->valueint, 3);
  assert_int_equal(cJSON_GetObjectItem(p2, "arrivals_red")->valueint, 3);
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/measures", "signal=J1&measure=volume", NULL, f->viewer), 200);
  assert_int_equal(st(f, "GET", "/api/measures", "signal=J1&measure=speed", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/measures", "measure=split", NULL, f->viewer), 400);
  assert_int_equal(
      st(f, "GET", "/api/measures", "signal=J1&measure=aog&detectors=7:99", NULL, f->viewer), 400);
  /* Aggregates. */
  gw_store_aggregate ag[2] = {{"D1", "J1", 300, t0, 12, 0.25}, {"D2", "J1", 900, t0, 30, 0.5}};
  assert_int_equal(gw_store_aggregates_add(f->st, ag, 2, &err), 0);
  assert_int_equal(
      call(f, "GET", "/api/aggregates", "intersection=J1&period=300", NULL, f->viewer, &r), 200);
  assert_int_equal(cJSON_GetArraySize(r.json), 1);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "volume")->valueint, 12);
  resp_free(&r);
  assert_int_equal(st(f, "GET", "/api/aggregates", "period=600", NULL, f->viewer), 400);
  assert_int_equal(call(f, "GET", "/api/audit", "limit=10", NULL, f->oper, &r), 200);
  assert_true(cJSON_IsArray(r.json));
  resp_free(&r);
}
static void test_history(void **s) {
  (void)s;
  ON_EACH_BACKEND(history_body, 3600, 5);
}

/* ---- hostile input ----------------------------------------------------------- */

static void hostile_body(fx *f) {
  const char *plans = "/api/intersections/J1/plans";
  const char *bodies[] = {
      "{\"cycle_s\":1e999,\"offset_s\":0,\"splits_s\":[1]}",
      "{\"cycle_s\":-1e999,\"offset_s\":0,\"splits_s\":[1]}",
      "{\"cycle_s\":NaN,\"offset_s\":0,\"splits_s\":[1]}",
      "{\"cycle_s\":Infinity}",
      "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[9e307,9e307]}",
      "{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[45,45],\"note\":\"\\ud800\"}",
      "null",
      "\"string\"",
      "42",
      "{",
      "}",
      "{\"a\":}",
      "{\"cycle_s\":90,,}",
      "   ",
      "{\"cycle_s\":90}\x00{\"x\":1}",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    int s = st(f, "POST", plans, NULL, bodies[i], f->oper);
    if (s < 400 || s >= 500) fail_msg("body %zu answered %d", i, s);
  }
  /* Deep nesting. */
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 1);
  memset(deep, '[', depth);
  memset(deep + depth, ']', depth);
  deep[2 * depth] = 0;
  assert_int_equal(st(f, "POST", plans, NULL, deep, f->oper), 400);
  free(deep);
  /* Not UTF-8, in the body and in the path. */
  assert_int_equal(st(f, "POST", plans, NULL, "{\"note\":\"\xff\xfe\"}", f->oper), 400);
  assert_int_equal(
      st(f, "POST", "/api/login", NULL, "{\"name\":\"\xc0\xaf\",\"password\":\"x\"}", NULL), 400);
  assert_int_equal(st(f, "GET", "/api/intersections/%ff%fe", NULL, NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/intersections/%00", NULL, NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/intersections/%zz", NULL, NULL, f->viewer), 400);
  /* An embedded NUL in a body given with its length. */
  resp r;
  const char nul_body[] = "{\"mode\":\"flash\"}\0garbage";
  assert_int_equal(call_full(f->api, "PUT", "/api/intersections/J1/mode", NULL, nul_body,
                             sizeof nul_body - 1, NULL, NULL, NULL, &r),
                   401);
  resp_free(&r);
  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %s", f->oper);
  assert_int_equal(call_full(f->api, "PUT", "/api/intersections/J1/mode", NULL, nul_body,
                             sizeof nul_body - 1, auth, NULL, NULL, &r),
                   400);
  resp_free(&r);
  /* Long ids and paths. */
  char path[400];
  snprintf(path, sizeof path, "/api/intersections/");
  memset(path + strlen(path), 'x', 200);
  path[19 + 200] = 0;
  assert_int_equal(st(f, "GET", path, NULL, NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/a/b/c/d/e/f/g/h/i/j/k", NULL, NULL, f->viewer), 404);
  /* Empty body where one is needed, body where none is allowed. */
  assert_int_equal(st(f, "PUT", "/api/intersections/J1/mode", NULL, NULL, f->oper), 400);
  assert_int_equal(st(f, "GET", "/api/intersections", NULL, "{}", f->viewer), 400);
  assert_int_equal(st(f, "DELETE", "/api/schedules/1", NULL, "x", f->oper), 400);
  /* Hostile queries. */
  assert_int_equal(st(f, "GET", "/api/events", "from=1e400", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/events", "from=nan", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/events", "limit=-5", NULL, f->viewer), 400);
  assert_int_equal(st(f, "GET", "/api/events", "limit=%", NULL, f->viewer), 400);
  char q[200];
  snprintf(q, sizeof q, "signal=");
  memset(q + 7, 'y', 150);
  q[157] = 0;
  assert_int_equal(st(f, "GET", "/api/events", q, NULL, f->viewer), 400);
  /* Weird methods and a NULL path. */
  assert_int_equal(st(f, "BREW", "/api/health", NULL, NULL, NULL), 405);
  gw_http_req rq = {NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL};
  gw_http_resp rs;
  memset(&rs, 0, sizeof rs);
  gw_api_handle(f->api, &rq, &rs);
  assert_int_equal(rs.status, 400);
  free(rs.body);
  /* The store holds nothing from all that. */
  cJSON *p = NULL;
  gw_error err;
  assert_int_equal(gw_store_plans(f->st, "J1", &p, &err), 0);
  assert_int_equal(cJSON_GetArraySize(p), 0);
  cJSON_Delete(p);
}
static void test_hostile(void **s) {
  (void)s;
  ON_EACH_BACKEND(hostile_body, 3600, 5);
}

/* ---- threads ---------------------------------------------------------------- */

typedef struct worker {
  fx *f;
  int ok;
} worker;

static void *work(void *ud) {
  worker *w = ud;
  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %s", w->f->oper);
  for (int i = 0; i < 40; i++) {
    gw_http_req rq = {
        "GET", i % 2 ? "/api/me" : "/api/intersections", NULL, NULL, 0, auth, NULL, "127.0.0.1"};
    gw_http_resp rs;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(w->f->api, &rq, &rs);
    w->ok += rs.status == 200;
    free(rs.body);
  }
  return NULL;
}

static void threads_body(fx *f) {
  enum { N = 12 };
  pthread_t th[N];
  worker w[N];
  for (int i = 0; i < N; i++) {
    w[i] = (worker){f, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].ok, 40);
  }
}
static void test_threads(void **s) {
  (void)s;
  ON_EACH_BACKEND(threads_body, 3600, 5);
}

/* ---- a real centre ------------------------------------------------------------ */

static void centre_body(fx *f) {
  gw_centre_opts co;
  gw_centre_opts_init(&co);
  co.scenario = GW_SCENARIOS "/grid4x4/grid4x4.sumocfg";
  co.db_url = f->url;
  co.speed = 0;
  co.start_s = 0;
  co.end_s = 600;
  gw_centre *ce = NULL;
  gw_error err = {0, {0}};
  if (gw_centre_create(&co, &ce, &err)) fail_msg("centre: %s", err.msg);
  assert_int_equal(gw_centre_start(ce, &err), 0);
  gw_api *api = NULL;
  gw_api_opts o;
  gw_api_opts_init(&o);
  o.db_url = f->url;
  o.centre = ce;
  assert_int_equal(gw_api_create(&o, &api, &err), 0);
  gw_api *plain = f->api;
  f->api = api;
  /* The first snapshot comes within a few steps; bounded wait. */
  gw_blob *b = NULL;
  for (int i = 0; i < 3000 && !(b = gw_centre_state(ce)); i++) usleep(10000);
  assert_non_null(b);
  gw_blob_unref(b);
  resp r;
  assert_int_equal(call(f, "GET", "/api/state", NULL, NULL, f->viewer, &r), 200);
  const cJSON *list = cJSON_GetObjectItem(r.json, "intersections");
  assert_true(cJSON_GetArraySize(list) > 0);
  char id[65];
  snprintf(id, sizeof id, "%s",
           cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring);
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/network", NULL, NULL, f->viewer, &r), 200);
  assert_true(cJSON_IsArray(cJSON_GetObjectItem(r.json, "lanes")));
  resp_free(&r);
  assert_int_equal(call(f, "GET", "/api/status", NULL, NULL, f->viewer, &r), 200);
  assert_true(cJSON_IsObject(cJSON_GetObjectItem(r.json, "centre")));
  resp_free(&r);
  char path[160], idenc[100];
  snprintf(idenc, sizeof idenc, "%s", id); /* grid ids need no escaping */
  snprintf(path, sizeof path, "/api/intersections/%s", idenc);
  assert_int_equal(call(f, "GET", path, NULL, NULL, f->viewer, &r), 200);
  const cJSON *cfg = cJSON_GetObjectItem(r.json, "config");
  int nstages = cJSON_GetArraySize(cJSON_GetObjectItem(cfg, "stages"));
  assert_true(nstages >= 2);
  assert_true(cJSON_IsObject(cJSON_GetObjectItem(r.json, "state")));
  resp_free(&r);
  snprintf(path, sizeof path, "/api/intersections/%s/state", idenc);
  assert_int_equal(st(f, "GET", path, NULL, NULL, f->viewer), 200);
  assert_int_equal(st(f, "GET", "/api/intersections/NOPE/state", NULL, NULL, f->viewer), 404);
  assert_int_equal(call(f, "GET", "/api/intersections", NULL, NULL, f->viewer, &r), 200);
  assert_true(cJSON_GetArraySize(r.json) >= 1);
  resp_free(&r);
  /* A plan whose first split cannot hold its stage's minimum green: the
  ** centre's safety rules refuse it with a reason. */
  char body[512];
  int pos = snprintf(body, sizeof body, "{\"cycle_s\":%d,\"offset_s\":0,\"splits_s\":[1",
                     60 * nstages - 59);
  for (int k = 1; k < nstages; k++) pos += snprintf(body + pos, sizeof body - (size_t)pos, ",60");
  snprintf(body + pos, sizeof body - (size_t)pos, "]}");
  snprintf(path, sizeof path, "/api/intersections/%s/plans", idenc);
  assert_int_equal(call(f, "POST", path, NULL, body, f->oper, &r), 422);
  assert_true(cJSON_IsString(cJSON_GetObjectItem(r.json, "message")));
  assert_non_null(strstr(err_msg(&r), "splits_s"));
  resp_free(&r);
  /* A safe one is stored and activated. */
  pos = snprintf(body, sizeof body, "{\"cycle_s\":%d,\"offset_s\":0,\"splits_s\":[", 40 * nstages);
  for (int k = 0; k < nstages; k++)
    pos += snprintf(body + pos, sizeof body - (size_t)pos, "%s40", k ? "," : "");
  snprintf(body + pos, sizeof body - (size_t)pos, "]}");
  assert_int_equal(call(f, "POST", path, NULL, body, f->oper, &r), 201);
  int v = cJSON_GetObjectItem(r.json, "version")->valueint;
  resp_free(&r);
  snprintf(path, sizeof path, "/api/intersections/%s/plans/%d/activate", idenc, v);
  assert_int_equal(call(f, "POST", path, NULL, NULL, f->oper, &r), 200);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "applied")));
  resp_free(&r);
  snprintf(path, sizeof path, "/api/intersections/%s/mode", idenc);
  assert_int_equal(call(f, "PUT", path, NULL, "{\"mode\":\"hold\",\"param\":999}", f->oper, &r),
                   422);
  assert_non_null(strstr(err_msg(&r), "hold"));
  resp_free(&r);
  assert_int_equal(call(f, "PUT", path, NULL, "{\"mode\":\"hold\",\"param\":0}", f->oper, &r), 200);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "applied")));
  resp_free(&r);
  assert_int_equal(st(f, "PUT", path, NULL, "{\"mode\":\"actuated\"}", f->oper), 200);
  gw_api_destroy(api);
  f->api = plain;
  gw_centre_stop(ce);
  gw_centre_destroy(ce);
}
static void test_centre(void **s) {
  (void)s;
  ON_EACH_BACKEND(centre_body, 3600, 5);
}

int main(void) {
  if (gw_auth_hash_password(PASSWORD, pw_hash, sizeof pw_hash)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),     cmocka_unit_test(test_login),
      cmocka_unit_test(test_rate_limit), cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_roles),      cmocka_unit_test(test_plans),
      cmocka_unit_test(test_modes),      cmocka_unit_test(test_schedules),
      cmocka_unit_test(test_alarms),     cmocka_unit_test(test_users),
      cmocka_unit_test(test_history),    cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_threads),    cmocka_unit_test(test_centre),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

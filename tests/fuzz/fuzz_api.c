/*
** fuzz_api.c -- libFuzzer target for the REST API's request handling.
**
** The input is split at its first three newlines into method, path, query
** and body (missing parts are empty), and sent through gw_api_handle twice:
** once without credentials and once as a logged-in admin, so that the
** fuzzer reaches the handlers behind authentication too.  The store is a
** SQLite file in a temporary directory with one admin and one intersection;
** there is no live centre.  Properties checked beyond the sanitizers':
** every answer has a status in 200..599, and its body is JSON (an error
** answer has the {"error": {...}} shape), or empty for 204.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "greenwave/store.h"
#include "server/api.h"

static gw_api *api;
static char auth[128];
static char dir[64];

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz property broken: %s: %s\n", what, detail);
  abort();
}

static void cleanup(void) {
  gw_api_destroy(api);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/gw-fuzz-api-XXXXXX");
  if (!mkdtemp(dir)) exit(1);
  char url[128], hash[128];
  snprintf(url, sizeof url, "sqlite:%s/f.db", dir);
  gw_error err = {0, {0}};
  gw_store *st = NULL;
  if (gw_store_open(url, &st, &err) || gw_auth_hash_password("fuzz-password", hash, sizeof hash) ||
      gw_store_user_add(st, "root", "admin", hash, 0, &err) ||
      gw_store_intersection_put(st, "J1", "J1", 0, 0, "{}", &err)) {
    fprintf(stderr, "fuzz: setup: %s\n", err.msg);
    exit(1);
  }
  gw_store_close(st);
  gw_api_opts o;
  gw_api_opts_init(&o);
  o.db_url = url;
  o.login_max_failures = 1000000; /* the fuzzer's logins must not lock it out */
  if (gw_api_create(&o, &api, &err)) {
    fprintf(stderr, "fuzz: api: %s\n", err.msg);
    exit(1);
  }
  static const char login[] = "{\"name\":\"root\",\"password\":\"fuzz-password\"}";
  gw_http_req rq = {"POST", "/api/login", NULL, login, sizeof login - 1, NULL, NULL, "127.0.0.1"};
  gw_http_resp rs;
  memset(&rs, 0, sizeof rs);
  gw_api_handle(api, &rq, &rs);
  cJSON *j = cJSON_ParseWithLength(rs.body, rs.len);
  const cJSON *t = cJSON_GetObjectItem(j, "token");
  if (rs.status != 200 || !cJSON_IsString(t)) die("login", rs.body ? rs.body : "");
  snprintf(auth, sizeof auth, "Bearer %s", t->valuestring);
  cJSON_Delete(j);
  free(rs.body);
  atexit(cleanup);
}

static void check(const gw_http_resp *rs) {
  if (rs->status < 200 || rs->status > 599) die("status", "outside 200..599");
  if (rs->status == 204) {
    if (rs->len) die("204", "with a body");
    return;
  }
  if (!rs->body) die("body", "missing");
  cJSON *j = cJSON_ParseWithLength(rs->body, rs->len);
  if (!j) die("body is not JSON", rs->body);
  if (rs->status >= 400 && !cJSON_IsObject(cJSON_GetObjectItem(j, "error")))
    die("error without the error object", rs->body);
  cJSON_Delete(j);
}

/* The next part, up to a newline, as a NUL-terminated copy. */
static char *part(const uint8_t **p, const uint8_t *end, int last) {
  const uint8_t *nl = last ? NULL : memchr(*p, '\n', (size_t)(end - *p));
  const uint8_t *stop = nl ? nl : end;
  size_t n = (size_t)(stop - *p);
  char *s = malloc(n + 1);
  if (!s) abort();
  memcpy(s, *p, n);
  s[n] = 0;
  *p = nl ? nl + 1 : end;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!api) setup();
  const uint8_t *p = data, *end = data + size;
  char *method = part(&p, end, 0), *path = part(&p, end, 0), *query = part(&p, end, 0);
  size_t body_len = (size_t)(end - p);
  char *body = malloc(body_len + 1);
  if (!body) abort();
  memcpy(body, p, body_len);
  body[body_len] = 0;
  /* Never let the fuzzer lock the admin out or change the password. */
  int harmless = strncmp(path, "/api/logout", 11) && strncmp(path, "/api/users", 10);
  for (int pass = 0; pass < 2; pass++) {
    if (pass && !harmless) break;
    gw_http_req rq = {method,
                      path,
                      query[0] ? query : NULL,
                      body_len ? body : NULL,
                      body_len,
                      pass ? auth : NULL,
                      NULL,
                      "127.0.0.1"};
    gw_http_resp rs;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(api, &rq, &rs);
    check(&rs);
    free(rs.body);
  }
  free(method);
  free(path);
  free(query);
  free(body);
  return 0;
}

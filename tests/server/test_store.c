/*
** test_store.c -- the store on SQLite and on PostgreSQL, the same tests for
** both.
**
** Every test runs twice: against SQLite (a fresh file under a temporary
** directory for each test) and against the PostgreSQL server named by
** GW_TEST_PG_URL (set by ctest's pg fixture, scripts/pg-test.sh).  The
** PostgreSQL run works in a schema of its own, gw_store_test, dropped and
** made again before each test, so it shares the server with other test
** binaries without seeing their tables.  Without GW_TEST_PG_URL the second
** run is skipped with a line saying so.
**
** What is checked: migrations (idempotent, refused when the database is
** newer, serialised between processes opening at once), each table's
** operations and their error codes (unknown ids give GW_ENOTFOUND, repeated
** acknowledgements GW_ESTATE, bad values GW_EINVAL or GW_ERANGE), plans that
** the database itself refuses to change, and durability: a process that
** commits and is then killed with SIGKILL loses nothing.  The event-batch
** test prints the rate it measured (never asserted: timing belongs in
** bench/).
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "greenwave/store.h"

#define PG_SCHEMA "gw_store_test"

static int g_pg;            /* this run is against PostgreSQL */
static char g_pg_url[1024]; /* GW_TEST_PG_URL with search_path = PG_SCHEMA */
static char g_dir[64];      /* SQLite files of this run */
static int g_seq;           /* SQLite file number */

typedef struct fx {
  char url[1100];
  gw_store *s;
} fx;

/* ---- raw access, to look behind the store's back ------------------------- */

static void quiet_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

/* Runs sql on the database of url; the first column of the first row as an
** integer in *out (may be NULL).  Returns 0, or -1 when the database
** refused. */
static int raw(const char *url, const char *sql, long long *out) {
  int rc = -1;
  if (out) *out = -1;
  if (strncmp(url, "sqlite:", 7) == 0) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(url + 7, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
      int s = sqlite3_step(st);
      if (s == SQLITE_ROW && out) *out = sqlite3_column_int64(st, 0);
      rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
  }
  PGconn *c = PQconnectdb(url);
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      rc = 0;
      if (out && st == PGRES_TUPLES_OK && PQntuples(res) > 0)
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
  }
  PQfinish(c);
  return rc;
}

static long long count(const char *url, const char *sql) {
  long long n;
  assert_int_equal(raw(url, sql, &n), 0);
  return n;
}

/* A URL for an empty database: a new SQLite file, or the PostgreSQL test
** schema dropped and made again. */
static void fresh(char *url, size_t size) {
  if (g_pg) {
    snprintf(url, size, "%s", g_pg_url);
    assert_int_equal(
        raw(url, "DROP SCHEMA IF EXISTS " PG_SCHEMA " CASCADE; CREATE SCHEMA " PG_SCHEMA, NULL), 0);
  } else {
    snprintf(url, size, "sqlite:%s/t%d.db", g_dir, ++g_seq);
  }
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  fresh(f->url, sizeof f->url);
  gw_error err = {0, {0}};
  if (gw_store_open(f->url, &f->s, &err) != GW_OK) {
    fprintf(stderr, "%s\n", err.msg);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  gw_store_close(f->s);
  free(f);
  return 0;
}

static const cJSON *field(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!v) fail_msg("no field '%s'", k);
  return v;
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = field(o, k);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = field(o, k);
  assert_true(cJSON_IsString(v));
  return v->valuestring;
}

/* ---- schema and migrations ------------------------------------------------ */

static void test_migrations_idempotent(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  int v = 0;
  assert_int_equal(gw_store_schema_version(f->s, &v, &err), GW_OK);
  assert_int_equal(v, GW_STORE_SCHEMA_VERSION);
  assert_string_equal(gw_store_kind(f->s), g_pg ? "postgresql" : "sqlite");
  assert_int_equal(gw_store_intersection_put(f->s, "A", "A", 1, 2, "{}", &err), GW_OK);

  /* Opened again (while the first is open, and after): nothing migrates
  ** twice and nothing is lost. */
  gw_store *s2 = NULL, *s3 = NULL;
  assert_int_equal(gw_store_open(f->url, &s2, &err), GW_OK);
  gw_store_close(s2);
  gw_store_close(f->s);
  f->s = NULL;
  assert_int_equal(gw_store_open(f->url, &s3, &err), GW_OK);
  f->s = s3;
  assert_int_equal(gw_store_schema_version(f->s, &v, &err), GW_OK);
  assert_int_equal(v, GW_STORE_SCHEMA_VERSION);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM schema_version"), GW_STORE_SCHEMA_VERSION);
  cJSON *row = NULL;
  assert_int_equal(gw_store_intersection_get(f->s, "A", &row, &err), GW_OK);
  cJSON_Delete(row);
}

static void test_newer_schema_refused(void **state) {
  fx *f = *state;
  assert_int_equal(
      raw(f->url, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)", NULL), 0);
  gw_store *s2 = NULL;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(f->url, &s2, &err), GW_ESTATE);
  assert_null(s2);
  assert_non_null(strstr(err.msg, "version 99"));
  assert_non_null(strstr(err.msg, "newer"));
}

/* Several processes open one empty database at the same moment: each
** succeeds and the schema is made exactly once. */
static void test_concurrent_open(void **state) {
  fx *f = *state;
  gw_store_close(f->s);
  f->s = NULL;
  fresh(f->url, sizeof f->url);
  enum { N = 4 };
  pid_t kids[N];
  for (int k = 0; k < N; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) {
      gw_store *s = NULL;
      gw_error err = {0, {0}};
      int rc = gw_store_open(f->url, &s, &err);
      if (rc) fprintf(stderr, "child %d: %s\n", k, err.msg);
      if (!rc)
        rc = gw_store_user_add(s,
                               k == 0   ? "u0"
                               : k == 1 ? "u1"
                               : k == 2 ? "u2"
                                        : "u3",
                               "viewer", "h", 0, &err);
      gw_store_close(s);
      _exit(rc ? 1 : 0);
    }
  }
  for (int k = 0; k < N; k++) {
    int status = 0;
    assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM schema_version"), GW_STORE_SCHEMA_VERSION);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM users"), N);
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(f->url, &f->s, &err), GW_OK);
}

/* ---- intersections and plans ----------------------------------------------- */

static void test_intersections(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_intersection_put(f->s, "B", "Second", 10.5, -3, "{\"groups\":2}", &err),
                   GW_OK);
  assert_int_equal(gw_store_intersection_put(f->s, "A", "First", 1, 2, NULL, &err), GW_OK);
  assert_int_equal(gw_store_intersection_set_mode(f->s, "B", "hold", "2", &err), GW_OK);
  /* Put again: position and configuration change, mode stays. */
  assert_int_equal(gw_store_intersection_put(f->s, "B", "Second'", 11, -4, "{\"groups\":3}", &err),
                   GW_OK);
  cJSON *row = NULL;
  assert_int_equal(gw_store_intersection_get(f->s, "B", &row, &err), GW_OK);
  assert_string_equal(str(row, "id"), "B");
  assert_string_equal(str(row, "name"), "Second'");
  assert_true(num(row, "x") == 11 && num(row, "y") == -4);
  assert_true(num(field(row, "config"), "groups") == 3);
  assert_string_equal(str(row, "mode"), "hold");
  assert_string_equal(str(row, "mode_param"), "2");
  assert_true(num(row, "plan_version") == 0);
  cJSON_Delete(row);

  assert_int_equal(gw_store_intersection_get(f->s, "A", &row, &err), GW_OK);
  assert_string_equal(str(row, "mode"), "fixed");
  assert_true(cJSON_IsNull(field(row, "config")));
  assert_true(cJSON_IsNull(field(row, "mode_param")));
  cJSON_Delete(row);

  cJSON *all = NULL;
  assert_int_equal(gw_store_intersections(f->s, &all, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(all), 2);
  assert_string_equal(str(cJSON_GetArrayItem(all, 0), "id"), "A");
  cJSON_Delete(all);

  assert_int_equal(gw_store_intersection_get(f->s, "nope", &row, &err), GW_ENOTFOUND);
  assert_null(row);
  assert_non_null(strstr(err.msg, "nope"));
  assert_int_equal(gw_store_intersection_set_mode(f->s, "nope", "fixed", NULL, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_intersection_set_mode(f->s, "A", "disco", NULL, &err), GW_EINVAL);
  assert_int_equal(gw_store_intersection_put(f->s, "C", "C", 0, 0, "{oops", &err), GW_EINVAL);
}

static void test_plans(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_intersection_put(f->s, "J1", "J1", 0, 0, "{}", &err), GW_OK);
  assert_int_equal(gw_store_intersection_put(f->s, "J2", "J2", 0, 0, "{}", &err), GW_OK);
  const char *bodies[3] = {"{\"cycle_s\":90,\"offset_s\":0,\"splits_s\":[40,45]}",
                           "{\"cycle_s\":100,\"offset_s\":5,\"splits_s\":[50,45]}",
                           "{\"cycle_s\":60,\"offset_s\":0,\"splits_s\":[25,30]}"};
  for (int k = 0; k < 3; k++) {
    int v = 0;
    assert_int_equal(gw_store_plan_create(f->s, "J1", bodies[k], "alice", k ? "tuned" : NULL,
                                          1000 + k, &v, &err),
                     GW_OK);
    assert_int_equal(v, k + 1);
  }
  int v = 0;
  assert_int_equal(gw_store_plan_create(f->s, "J2", bodies[0], "bob", "", 5, &v, &err), GW_OK);
  assert_int_equal(v, 1); /* numbered per intersection */

  /* Version 1 is still what it was. */
  cJSON *p = NULL;
  assert_int_equal(gw_store_plan_get(f->s, "J1", 1, &p, &err), GW_OK);
  assert_true(num(field(p, "body"), "cycle_s") == 90);
  assert_true(num(p, "version") == 1);
  assert_true(num(p, "created_at") == 1000);
  assert_string_equal(str(p, "created_by"), "alice");
  assert_true(cJSON_IsNull(field(p, "note")));
  assert_true(num(p, "active") == 0);
  cJSON_Delete(p);

  assert_int_equal(gw_store_plan_activate(f->s, "J1", 2, &err), GW_OK);
  cJSON *all = NULL;
  assert_int_equal(gw_store_plans(f->s, "J1", &all, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(all), 3);
  for (int k = 0; k < 3; k++) {
    const cJSON *r = cJSON_GetArrayItem(all, k);
    assert_true(num(r, "version") == k + 1);
    assert_true(num(r, "active") == (k == 1));
    char *body = cJSON_PrintUnformatted(field(r, "body"));
    assert_string_equal(body, bodies[k]);
    free(body);
  }
  cJSON_Delete(all);
  cJSON *row = NULL;
  assert_int_equal(gw_store_intersection_get(f->s, "J1", &row, &err), GW_OK);
  assert_true(num(row, "plan_version") == 2);
  cJSON_Delete(row);

  /* The database refuses to change or remove a plan, whoever asks. */
  assert_int_equal(raw(f->url, "UPDATE plans SET body = '{}' WHERE version = 1", NULL), -1);
  assert_int_equal(raw(f->url, "DELETE FROM plans", NULL), -1);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM plans"), 4);

  assert_int_equal(gw_store_plan_activate(f->s, "J1", 9, &err), GW_ENOTFOUND);
  assert_non_null(strstr(err.msg, "9"));
  assert_int_equal(gw_store_plan_activate(f->s, "nope", 1, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_plan_get(f->s, "J1", 4, &p, &err), GW_ENOTFOUND);
  assert_null(p);
  assert_int_equal(gw_store_plan_create(f->s, "nope", bodies[0], "a", "", 0, &v, &err),
                   GW_ENOTFOUND);
  assert_int_equal(gw_store_plan_create(f->s, "J1", "not json", "a", "", 0, &v, &err), GW_EINVAL);
  assert_int_equal(gw_store_plans(f->s, "nope", &all, &err), GW_ENOTFOUND);
  assert_null(all);
  assert_int_equal(gw_store_plans(f->s, "J1", &all, &err), GW_OK); /* still 3 */
  assert_int_equal(cJSON_GetArraySize(all), 3);
  cJSON_Delete(all);

  /* Version 0: back to the network's own program. */
  assert_int_equal(gw_store_plan_activate(f->s, "J1", 0, &err), GW_OK);
  assert_int_equal(gw_store_plan_get(f->s, "J1", 2, &p, &err), GW_OK);
  assert_true(num(p, "active") == 0);
  cJSON_Delete(p);
}

static void test_schedules(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_intersection_put(f->s, "J1", "J1", 0, 0, "{}", &err), GW_OK);
  assert_int_equal(gw_store_intersection_put(f->s, "J2", "J2", 0, 0, "{}", &err), GW_OK);
  int v;
  assert_int_equal(gw_store_plan_create(f->s, "J1", "{}", "a", "", 0, &v, &err), GW_OK);
  int64_t a = 0, b = 0, c = 0;
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 62, 7 * 3600, 1, &a, &err), GW_OK);
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 127, 0, 0, &b, &err), GW_OK);
  assert_int_equal(gw_store_schedule_add(f->s, "J2", 1, 3600.5, 0, &c, &err), GW_OK);
  assert_true(a > 0 && b > 0 && c > 0 && a != b && b != c);

  cJSON *rows = NULL;
  assert_int_equal(gw_store_schedules(f->s, "J1", &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 2);
  const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r1 = cJSON_GetArrayItem(rows, 1);
  assert_true(num(r0, "id") == (double)b && num(r0, "start_s") == 0 && num(r0, "days") == 127);
  assert_true(num(r1, "id") == (double)a && num(r1, "start_s") == 7 * 3600);
  assert_true(num(r1, "plan_version") == 1 && num(r1, "days") == 62);
  assert_string_equal(str(r1, "intersection_id"), "J1");
  cJSON_Delete(rows);
  assert_int_equal(gw_store_schedules(f->s, NULL, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 3);
  cJSON_Delete(rows);

  int64_t id = 0;
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 1, 0, 7, &id, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_schedule_add(f->s, "nope", 1, 0, 0, &id, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 0, 0, 0, &id, &err), GW_ERANGE);
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 1, 86400, 0, &id, &err), GW_ERANGE);
  assert_int_equal(gw_store_schedules(f->s, "nope", &rows, &err), GW_ENOTFOUND);

  assert_int_equal(gw_store_schedule_delete(f->s, a, &err), GW_OK);
  assert_int_equal(gw_store_schedule_delete(f->s, a, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_schedules(f->s, "J1", &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 1);
  cJSON_Delete(rows);
  /* Ids are never reused. */
  assert_int_equal(gw_store_schedule_add(f->s, "J1", 1, 60, 0, &id, &err), GW_OK);
  assert_true(id > c);
}

/* ---- events and aggregates -------------------------------------------------- */

static const char *const signals[3] = {"S1", "S2", "S3"};
static const double T0 = 1700000000.0;

static void test_events(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  enum { N = 2500 }; /* more than one PostgreSQL batch, and a tail */
  gw_store_event *ev = calloc(N, sizeof *ev);
  assert_non_null(ev);
  for (int k = 0; k < N; k++) {
    ev[k].signal_id = signals[k % 3];
    ev[k].t = T0 + (k / 3) * 0.1;
    ev[k].code = k % 100;
    ev[k].param = k;
  }
  assert_int_equal(gw_store_events_add(f->s, ev, N, &err), GW_OK);
  assert_int_equal(gw_store_events_add(f->s, ev, 0, &err), GW_OK);

  /* One signal over a range: ordered by t, exact times. */
  cJSON *rows = NULL;
  assert_int_equal(gw_store_events(f->s, "S2", T0 + 10, T0 + 20, 0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 101); /* both ends included */
  double last = 0;
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, rows) {
    assert_string_equal(str(r, "signal_id"), "S2");
    double t = num(r, "t");
    assert_true(t >= last);
    last = t;
    int k = (int)num(r, "param");
    assert_true(k % 3 == 1);
    assert_true(fabs(t - ev[k].t) < 1e-6);
    assert_true(num(r, "code") == k % 100);
    if (i++ == 0) assert_true(fabs(t - (T0 + 10)) < 1e-6);
  }
  cJSON_Delete(rows);

  /* All signals, a limit, ties at one time in insertion order. */
  assert_int_equal(gw_store_events(f->s, NULL, T0, T0 + 1000, 7, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 7);
  for (int k = 0; k < 7; k++) assert_true(num(cJSON_GetArrayItem(rows, k), "param") == k);
  cJSON_Delete(rows);
  assert_int_equal(gw_store_events(f->s, NULL, 0, 1e12, -1, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), N);
  cJSON_Delete(rows);
  assert_int_equal(gw_store_events(f->s, "S9", 0, 1e12, 10, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 0);
  cJSON_Delete(rows);

  /* A bad row refuses the whole batch. */
  ev[5].signal_id = NULL;
  assert_int_equal(gw_store_events_add(f->s, ev, 10, &err), GW_EINVAL);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM events"), N);
  free(ev);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The writer's workload: batches of 1,000 events.  The rate is printed for
** the record, not asserted. */
static void test_events_rate(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  enum { BATCH = 1000, BATCHES = 100 };
  gw_store_event *ev = calloc(BATCH, sizeof *ev);
  assert_non_null(ev);
  char ids[100][8];
  for (int k = 0; k < 100; k++) snprintf(ids[k], sizeof ids[k], "J%d", k);
  double t0 = now_s();
  for (int b = 0; b < BATCHES; b++) {
    for (int k = 0; k < BATCH; k++) {
      ev[k].signal_id = ids[k % 100];
      ev[k].t = T0 + b + k * 1e-3;
      ev[k].code = k % 12;
      ev[k].param = k % 8;
    }
    assert_int_equal(gw_store_events_add(f->s, ev, BATCH, &err), GW_OK);
  }
  double dt = now_s() - t0;
  printf("%s: %d events in batches of %d: %.0f events/s\n", gw_store_kind(f->s), BATCH * BATCHES,
         BATCH, BATCH * BATCHES / dt);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM events"), BATCH * BATCHES);
  free(ev);
}

static void test_aggregates(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  gw_store_aggregate a[4] = {
      {"D1", "J1", 300, T0, 10, 0.25},
      {"D2", "J1", 300, T0, 4, 0.5},
      {"D3", "J2", 300, T0 + 300, 7, 0.125},
      {"D1", "J1", 900, T0, 30, 0.2},
  };
  assert_int_equal(gw_store_aggregates_add(f->s, a, 4, &err), GW_OK);
  /* The same period again: updated in place, also twice in one batch. */
  gw_store_aggregate again[2] = {{"D1", "J1", 300, T0, 11, 0.3}, {"D1", "J1", 300, T0, 12, 0.35}};
  assert_int_equal(gw_store_aggregates_add(f->s, again, 2, &err), GW_OK);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM aggregates"), 4);

  cJSON *rows = NULL;
  assert_int_equal(gw_store_aggregates(f->s, NULL, 300, T0, T0 + 600, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 3);
  const cJSON *r = cJSON_GetArrayItem(rows, 0);
  assert_string_equal(str(r, "detector_id"), "D1");
  assert_string_equal(str(r, "intersection_id"), "J1");
  assert_true(num(r, "volume") == 12 && num(r, "occupancy") == 0.35);
  assert_true(num(r, "period_s") == 300 && num(r, "start") == T0);
  assert_string_equal(str(cJSON_GetArrayItem(rows, 2), "detector_id"), "D3");
  cJSON_Delete(rows);

  assert_int_equal(gw_store_aggregates(f->s, "J1", 300, T0, T0 + 600, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 2);
  cJSON_Delete(rows);
  assert_int_equal(gw_store_aggregates(f->s, "J1", 900, T0, T0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 1);
  assert_true(num(cJSON_GetArrayItem(rows, 0), "volume") == 30);
  cJSON_Delete(rows);
  assert_int_equal(gw_store_aggregates(f->s, NULL, 300, T0 + 1, T0 + 299, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 0);
  cJSON_Delete(rows);
}

/* ---- alarms, users, sessions, audit ------------------------------------------ */

static void test_alarms(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  int64_t id[3];
  assert_int_equal(
      gw_store_alarm_raise(f->s, 1, "J1", "failsafe", "critical", "conflict", &id[0], &err), GW_OK);
  assert_int_equal(gw_store_alarm_raise(f->s, 2, NULL, "deadline", "major", "late", &id[1], &err),
                   GW_OK);
  assert_int_equal(
      gw_store_alarm_raise(f->s, 3, "J2", "detector_stuck_on", "minor", NULL, &id[2], &err), GW_OK);
  assert_true(id[0] > 0 && id[1] > id[0] && id[2] > id[1]);

  assert_int_equal(gw_store_alarm_ack(f->s, id[0], "alice", 10, &err), GW_OK);
  assert_int_equal(gw_store_alarm_ack(f->s, id[0], "bob", 11, &err), GW_ESTATE);
  assert_non_null(strstr(err.msg, "acknowledged"));
  assert_int_equal(gw_store_alarm_ack(f->s, 999999, "bob", 11, &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_alarm_clear(f->s, id[1], 20, &err), GW_OK);
  assert_int_equal(gw_store_alarm_clear(f->s, id[1], 21, &err), GW_ESTATE);
  assert_int_equal(gw_store_alarm_clear(f->s, 999999, 21, &err), GW_ENOTFOUND);
  int64_t x;
  assert_int_equal(gw_store_alarm_raise(f->s, 4, "J1", "failsafe", "severe", "", &x, &err),
                   GW_EINVAL);

  cJSON *rows = NULL;
  assert_int_equal(gw_store_alarms(f->s, 1, 0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 2);
  const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r1 = cJSON_GetArrayItem(rows, 1);
  assert_true(num(r0, "id") == (double)id[2]); /* newest first */
  assert_true(cJSON_IsNull(field(r0, "message")));
  assert_true(cJSON_IsNull(field(r0, "acked_at")));
  assert_true(num(r1, "id") == (double)id[0]);
  assert_string_equal(str(r1, "acked_by"), "alice");
  assert_true(num(r1, "acked_at") == 10);
  assert_string_equal(str(r1, "kind"), "failsafe");
  assert_string_equal(str(r1, "severity"), "critical");
  assert_string_equal(str(r1, "intersection_id"), "J1");
  assert_true(cJSON_IsNull(field(r1, "cleared_at")));
  cJSON_Delete(rows);

  assert_int_equal(gw_store_alarms(f->s, 0, 2, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 2);
  assert_true(num(cJSON_GetArrayItem(rows, 1), "id") == (double)id[1]);
  assert_true(num(cJSON_GetArrayItem(rows, 1), "cleared_at") == 20);
  assert_true(cJSON_IsNull(field(cJSON_GetArrayItem(rows, 1), "intersection_id")));
  cJSON_Delete(rows);
}

static void test_users(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  const char *h1 = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  int n = -1;
  assert_int_equal(gw_store_user_count(f->s, &n, &err), GW_OK);
  assert_int_equal(n, 0);
  assert_int_equal(gw_store_user_add(f->s, "alice", "admin", h1, 100, &err), GW_OK);
  assert_int_equal(gw_store_user_add(f->s, "alice", "viewer", "x", 101, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "alice"));
  assert_int_equal(gw_store_user_add(f->s, "bob", "viewer", "hb", 102, &err), GW_OK);
  assert_int_equal(gw_store_user_add(f->s, "carol", "root", "hc", 103, &err), GW_EINVAL);
  assert_int_equal(gw_store_user_count(f->s, &n, &err), GW_OK);
  assert_int_equal(n, 2);

  cJSON *row = NULL;
  assert_int_equal(gw_store_user_get(f->s, "alice", &row, &err), GW_OK);
  assert_string_equal(str(row, "pwhash"), h1);
  assert_string_equal(str(row, "role"), "admin");
  assert_true(num(row, "created_at") == 100);
  cJSON_Delete(row);

  cJSON *all = NULL;
  assert_int_equal(gw_store_users(f->s, &all, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(all), 2);
  const cJSON *u;
  cJSON_ArrayForEach(u, all) {
    assert_null(cJSON_GetObjectItemCaseSensitive(u, "pwhash"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(u, "role"));
  }
  assert_string_equal(str(cJSON_GetArrayItem(all, 0), "name"), "alice");
  char *text = cJSON_PrintUnformatted(all);
  assert_null(strstr(text, "argon2"));
  free(text);
  cJSON_Delete(all);

  assert_int_equal(gw_store_user_set_role(f->s, "bob", "operator", &err), GW_OK);
  assert_int_equal(gw_store_user_set_password(f->s, "bob", "hb2", &err), GW_OK);
  assert_int_equal(gw_store_user_get(f->s, "bob", &row, &err), GW_OK);
  assert_string_equal(str(row, "role"), "operator");
  assert_string_equal(str(row, "pwhash"), "hb2");
  cJSON_Delete(row);
  assert_int_equal(gw_store_user_set_role(f->s, "bob", "king", &err), GW_EINVAL);
  assert_int_equal(gw_store_user_set_role(f->s, "nope", "viewer", &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_user_set_password(f->s, "nope", "h", &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_user_get(f->s, "nope", &row, &err), GW_ENOTFOUND);
  assert_null(row);
}

static void test_sessions(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_user_add(f->s, "alice", "operator", "h", 0, &err), GW_OK);
  assert_int_equal(gw_store_session_add(f->s, "aa11", "alice", 10, 100, &err), GW_OK);
  assert_int_equal(gw_store_session_add(f->s, "bb22", "alice", 10, 50, &err), GW_OK);
  assert_int_equal(gw_store_session_add(f->s, "cc33", "nope", 10, 50, &err), GW_ENOTFOUND);

  cJSON *row = NULL;
  assert_int_equal(gw_store_session_get(f->s, "aa11", 99.5, &row, &err), GW_OK);
  assert_string_equal(str(row, "user"), "alice");
  assert_string_equal(str(row, "role"), "operator");
  assert_true(num(row, "expires_at") == 100);
  cJSON_Delete(row);
  assert_int_equal(gw_store_session_get(f->s, "aa11", 100, &row, &err), GW_ENOTFOUND);
  assert_null(row);
  assert_int_equal(gw_store_session_get(f->s, "zz", 0, &row, &err), GW_ENOTFOUND);

  /* A new session sweeps the expired ones away. */
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM sessions"), 2);
  assert_int_equal(gw_store_session_add(f->s, "dd44", "alice", 60, 160, &err), GW_OK);
  assert_int_equal(count(f->url, "SELECT COUNT(*) FROM sessions"), 2);
  assert_int_equal(gw_store_session_get(f->s, "bb22", 20, &row, &err), GW_ENOTFOUND);

  assert_int_equal(gw_store_session_delete(f->s, "aa11", &err), GW_OK);
  assert_int_equal(gw_store_session_delete(f->s, "aa11", &err), GW_ENOTFOUND);
  assert_int_equal(gw_store_session_get(f->s, "aa11", 20, &row, &err), GW_ENOTFOUND);
}

static void test_audit(void **state) {
  fx *f = *state;
  gw_error err = {0, {0}};
  assert_int_equal(
      gw_store_audit(f->s, 10, "alice", "mode.set", "J1", "{\"mode\":\"fixed\",\"plan_version\":1}",
                     "{\"mode\":\"hold\",\"mode_param\":\"2\"}", &err),
      GW_OK);
  assert_int_equal(gw_store_audit(f->s, 20, "bob", "user.add", "carol", NULL, "{\"role\":1}", &err),
                   GW_OK);
  assert_int_equal(gw_store_audit(f->s, 30, "bob", "alarm.ack", "7", NULL, NULL, &err), GW_OK);
  assert_int_equal(gw_store_audit(f->s, 40, "bob", "x", "y", "{bad", NULL, &err), GW_EINVAL);

  cJSON *rows = NULL;
  assert_int_equal(gw_store_audit_list(f->s, 0, 100, 0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 3);
  const cJSON *r = cJSON_GetArrayItem(rows, 2); /* newest first: the oldest is last */
  assert_string_equal(str(r, "user"), "alice");
  assert_string_equal(str(r, "action"), "mode.set");
  assert_string_equal(str(r, "target"), "J1");
  assert_true(num(r, "t") == 10 && num(r, "id") > 0);
  assert_string_equal(str(field(r, "before"), "mode"), "fixed");
  assert_true(num(field(r, "before"), "plan_version") == 1);
  assert_string_equal(str(field(r, "after"), "mode_param"), "2");
  r = cJSON_GetArrayItem(rows, 1);
  assert_true(cJSON_IsNull(field(r, "before")));
  assert_true(num(field(r, "after"), "role") == 1);
  cJSON_Delete(rows);

  assert_int_equal(gw_store_audit_list(f->s, 15, 30, 1, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 1);
  assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "action"), "alarm.ack");
  cJSON_Delete(rows);
}

/* ---- opening errors, durability, SQLite specifics ---------------------------- */

static void test_bad_urls(void **state) {
  (void)state;
  gw_store *s = NULL;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open("mysql://db/x", &s, &err), GW_EINVAL);
  assert_null(s);
  assert_non_null(strstr(err.msg, "mysql://db/x"));
  assert_int_equal(gw_store_open("", &s, &err), GW_EINVAL);
  assert_int_equal(gw_store_open("sqlite:", &s, &err), GW_EINVAL);
  assert_int_equal(gw_store_open("sqlite:/nonexistent-gw-dir/x.db", &s, &err), GW_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent-gw-dir"));
  assert_non_null(strstr(err.msg, "does not exist"));
  /* Nothing listens on port 1 of the loopback: refused at once.  The
  ** message names the URL without its password. */
  assert_int_equal(gw_store_open("postgresql://u:s3cret@127.0.0.1:1/x?connect_timeout=2", &s, &err),
                   GW_EIO);
  assert_null(s);
  assert_non_null(strstr(err.msg, "open"));
  assert_non_null(strstr(err.msg, "127.0.0.1"));
  assert_null(strstr(err.msg, "s3cret"));
  assert_int_equal(
      gw_store_open("postgresql:host=127.0.0.1 port=1 password=s3cret dbname=x", &s, &err), GW_EIO);
  assert_null(strstr(err.msg, "s3cret"));
}

/* A process commits, then dies by SIGKILL without closing anything: the
** rows are there when the database is opened again. */
static void test_durability_kill9(void **state) {
  fx *f = *state;
  gw_store_close(f->s);
  f->s = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    gw_store *s = NULL;
    gw_error err = {0, {0}};
    if (gw_store_open(f->url, &s, &err)) _exit(1);
    gw_store_event ev[500];
    for (int k = 0; k < 500; k++) ev[k] = (gw_store_event){"S1", T0 + k, 1, k};
    int64_t id;
    if (gw_store_events_add(s, ev, 500, &err) ||
        gw_store_alarm_raise(s, T0, "J1", "failsafe", "critical", "x", &id, &err) ||
        gw_store_user_add(s, "alice", "admin", "h", 0, &err))
      _exit(1);
    raise(SIGKILL);
    _exit(2);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(f->url, &f->s, &err), GW_OK);
  cJSON *rows = NULL;
  assert_int_equal(gw_store_events(f->s, "S1", 0, 1e12, 0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 500);
  assert_true(num(cJSON_GetArrayItem(rows, 499), "param") == 499);
  cJSON_Delete(rows);
  assert_int_equal(gw_store_alarms(f->s, 1, 0, &rows, &err), GW_OK);
  assert_int_equal(cJSON_GetArraySize(rows), 1);
  cJSON_Delete(rows);
  int n = 0;
  assert_int_equal(gw_store_user_count(f->s, &n, &err), GW_OK);
  assert_int_equal(n, 1);
}

static void test_sqlite_wal(void **state) {
  fx *f = *state;
  if (g_pg) skip();
  /* The file is in WAL mode (as another connection sees it), and its
  ** write-ahead log exists while the store is open. */
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(f->url + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  char wal[1200];
  snprintf(wal, sizeof wal, "%s-wal", f->url + 7);
  struct stat sb;
  assert_int_equal(stat(wal, &sb), 0);

  /* A missing directory is an error, not a directory made on the quiet. */
  char url[1200];
  snprintf(url, sizeof url, "sqlite:%s/missing/x.db", g_dir);
  gw_store *s = NULL;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(url, &s, &err), GW_EIO);
  snprintf(url, sizeof url, "%s/missing", g_dir);
  assert_int_equal(stat(url, &sb), -1);

  /* sqlite::memory: for tests, and sqlite:///ABS for an absolute path. */
  assert_int_equal(gw_store_open("sqlite::memory:", &s, &err), GW_OK);
  assert_int_equal(gw_store_user_add(s, "m", "viewer", "h", 0, &err), GW_OK);
  int n = 0;
  assert_int_equal(gw_store_user_count(s, &n, &err), GW_OK);
  assert_int_equal(n, 1);
  gw_store_close(s);
  snprintf(url, sizeof url, "sqlite://%s/abs.db", g_dir);
  assert_int_equal(gw_store_open(url, &s, &err), GW_OK);
  gw_store_close(s);
  snprintf(url, sizeof url, "%s/abs.db", g_dir);
  assert_int_equal(stat(url, &sb), 0);
}

/* The server ends the store's connection (as a restart would): the call
** that finds it broken fails, the next one reconnects. */
static void test_pg_reconnect(void **state) {
  fx *f = *state;
  if (!g_pg) skip();
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_user_add(f->s, "alice", "admin", "h", 0, &err), GW_OK);
  long long killed = 0;
  assert_int_equal(raw(f->url,
                       "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity\n"
                       "WHERE application_name = '" PG_SCHEMA "' AND pid <> pg_backend_pid()",
                       &killed),
                   0);
  assert_int_equal(killed, 1);
  int n = 0, rc = gw_store_user_count(f->s, &n, &err);
  if (rc) {
    assert_int_equal(rc, GW_EIO);
    assert_non_null(strstr(err.msg, "user_count"));
    rc = gw_store_user_count(f->s, &n, &err);
  }
  assert_int_equal(rc, GW_OK);
  assert_int_equal(n, 1);
}

/* ---- the two runs ------------------------------------------------------------ */

static void remove_tree(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_intersections, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schedules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_events, setup, teardown),
      cmocka_unit_test_setup_teardown(test_events_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alarms, setup, teardown),
      cmocka_unit_test_setup_teardown(test_users, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
      cmocka_unit_test(test_bad_urls),
      cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_wal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
  };
  snprintf(g_dir, sizeof g_dir, "/tmp/gw-test-store-XXXXXX");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  int failed = cmocka_run_group_tests_name("store on sqlite", tests, NULL, NULL);
  remove_tree(g_dir);

  const char *pg = getenv("GW_TEST_PG_URL");
  if (!pg || !*pg) {
    printf("postgresql: skipped (GW_TEST_PG_URL unset)\n");
    return failed;
  }
  /* The tests' own schema, through libpq's options parameter. */
  snprintf(g_pg_url, sizeof g_pg_url,
           "%s%coptions=-csearch_path%%3D" PG_SCHEMA "&application_name=" PG_SCHEMA, pg,
           strchr(pg, '?') ? '&' : '?');
  g_pg = 1;
  failed += cmocka_run_group_tests_name("store on postgresql", tests, NULL, NULL);
  raw(g_pg_url, "DROP SCHEMA IF EXISTS " PG_SCHEMA " CASCADE", NULL);
  return failed;
}

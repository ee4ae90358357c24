/*
** test_centre.c -- the live centre on grid4x4, unpaced: snapshots, operator
** commands (hold, flash, plans, controllers), validation messages, events
** and aggregates in the store, and modes restored after a restart.
*/
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "greenwave/store.h"
#include "server/centre.h"

#define DAY 1767571200.0 /* 2026-01-05 00:00 UTC */

static char db_path[256], db_url[300];

static int setup(void **state) {
  (void)state;
  snprintf(db_path, sizeof db_path, "/tmp/gw-test-centre-%d.db", (int)getpid());
  unlink(db_path);
  snprintf(db_url, sizeof db_url, "sqlite:%s", db_path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char p[300];
  unlink(db_path);
  snprintf(p, sizeof p, "%s-wal", db_path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", db_path);
  unlink(p);
  return 0;
}

static gw_centre *make(double end_s) {
  gw_centre_opts o;
  gw_centre_opts_init(&o);
  o.scenario = GW_SCENARIOS "/grid4x4/grid4x4.sumocfg";
  o.db_url = db_url;
  o.speed = 0;
  o.start_s = 0;
  o.end_s = end_s;
  o.epoch_day = DAY;
  gw_centre *c = NULL;
  gw_error err = {0, {0}};
  int rc = gw_centre_create(&o, &c, &err);
  if (rc) fail_msg("gw_centre_create: %s", err.msg);
  return c;
}

static void run_to_end(gw_centre *c) {
  gw_error err = {0, {0}};
  assert_int_equal(gw_centre_start(c, &err), GW_OK);
  for (int k = 0; k < 6000 && !gw_centre_finished(c); k++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_true(gw_centre_finished(c));
  gw_centre_stop(c);
}

static cJSON *find_isec(cJSON *state, const char *id) {
  cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(state, "intersections")) {
    if (!strcmp(cJSON_GetObjectItem(x, "id")->valuestring, id)) return x;
  }
  return NULL;
}

/* The smallest valid plan for an intersection, from its configuration. */
static char *min_plan(gw_centre *c, const char *id, double extra, double shorten0) {
  gw_blob *b = gw_centre_intersection_config(c, id);
  assert_non_null(b);
  cJSON *cfg = cJSON_Parse(b->data);
  gw_blob_unref(b);
  assert_non_null(cfg);
  cJSON *groups = cJSON_GetObjectItem(cfg, "groups");
  cJSON *splits = cJSON_CreateArray();
  double cycle = 0;
  int k = 0;
  cJSON *st;
  cJSON_ArrayForEach(st, cJSON_GetObjectItem(cfg, "stages")) {
    double need = 0;
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(st, "green")) {
      double mg =
          cJSON_GetObjectItem(cJSON_GetArrayItem(groups, g->valueint), "min_green_s")->valuedouble;
      if (mg > need) need = mg;
    }
    need += cJSON_GetObjectItem(st, "change_s")->valuedouble + extra;
    if (k++ == 0) need -= shorten0;
    cJSON_AddItemToArray(splits, cJSON_CreateNumber(need));
    cycle += need;
  }
  if (cycle < 30) { /* the shortest cycle allowed: stretch the first stage */
    cJSON *first = cJSON_GetArrayItem(splits, 0);
    cJSON_SetNumberValue(first, first->valuedouble + 30 - cycle);
    cycle = 30;
  }
  cJSON *plan = cJSON_CreateObject();
  cJSON_AddNumberToObject(plan, "cycle_s", cycle);
  cJSON_AddNumberToObject(plan, "offset_s", 0);
  cJSON_AddItemToObject(plan, "splits_s", splits);
  char *txt = cJSON_PrintUnformatted(plan);
  cJSON_Delete(plan);
  cJSON_Delete(cfg);
  return txt;
}

static void centre_runs_and_obeys_operators(void **state) {
  (void)state;
  gw_centre *c = make(900);
  assert_int_equal(gw_centre_intersection_count(c), 16);
  gw_blob *net = gw_centre_network(c);
  cJSON *nj = cJSON_Parse(net->data);
  assert_non_null(nj);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(nj, "intersections")), 16);
  assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(nj, "lanes")) > 16);
  cJSON_Delete(nj);
  gw_blob_unref(net);

  char why[256] = "";
  /* Validation. */
  assert_int_equal(gw_centre_set_mode(c, "nope", "fixed", NULL, why, sizeof why), GW_ENOTFOUND);
  assert_int_equal(gw_centre_set_mode(c, "A0", "warp", NULL, why, sizeof why), GW_EINVAL);
  assert_non_null(strstr(why, "unknown mode"));
  assert_int_equal(gw_centre_set_mode(c, "A0", "hold", "99", why, sizeof why), GW_EINVAL);
  assert_int_equal(gw_centre_set_mode(c, "A0", "actuated", "gap=abc", why, sizeof why), GW_EINVAL);
  char *bad = min_plan(c, "A1", 0, 1);
  assert_int_equal(gw_centre_plan_validate(c, "A1", bad, why, sizeof why), GW_EINVAL);
  assert_non_null(strstr(why, "too short"));
  free(bad);
  assert_int_equal(gw_centre_plan_validate(c, "A1", "{\"cycle_s\":90}", why, sizeof why),
                   GW_EINVAL);
  assert_int_equal(gw_centre_plan_validate(c, "A1", "[1,2", why, sizeof why), GW_EINVAL);
  char *good = min_plan(c, "A1", 10, 0);
  assert_int_equal(gw_centre_plan_validate(c, "A1", good, why, sizeof why), GW_OK);

  /* Commands. */
  assert_int_equal(gw_centre_set_mode(c, "A0", "hold", "1", why, sizeof why), GW_OK);
  assert_int_equal(gw_centre_set_mode(c, "B0", "flash", NULL, why, sizeof why), GW_OK);
  assert_int_equal(gw_centre_set_mode(c, "A1", "fixed", good, why, sizeof why), GW_OK);
  assert_int_equal(gw_centre_set_mode(c, "B1", "actuated", NULL, why, sizeof why), GW_OK);
  free(good);
  /* An operator takes A2's first detector out of control. */
  gw_blob *db0 = gw_centre_detectors(c, "A2");
  cJSON *dets = cJSON_Parse(db0->data);
  gw_blob_unref(db0);
  assert_true(cJSON_GetArraySize(dets) > 0);
  char det_id[128];
  snprintf(det_id, sizeof det_id, "%s",
           cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "id")->valuestring);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "status")->valuestring,
                      "ok");
  cJSON_Delete(dets);
  char owner[64];
  int was = -1;
  assert_int_equal(gw_centre_detector_set(c, det_id, 1, owner, sizeof owner, &was), GW_OK);
  assert_string_equal(owner, "A2");
  assert_int_equal(was, 0);
  assert_int_equal(gw_centre_detector_set(c, "no-such-loop", 1, NULL, 0, NULL), GW_ENOTFOUND);
  assert_null(gw_centre_detectors(c, "nope"));
  run_to_end(c);
  db0 = gw_centre_detectors(c, "A2");
  dets = cJSON_Parse(db0->data);
  gw_blob_unref(db0);
  cJSON *d0 = cJSON_GetArrayItem(dets, 0);
  assert_string_equal(cJSON_GetObjectItem(d0, "status")->valuestring, "failed");
  assert_string_equal(cJSON_GetObjectItem(d0, "reason")->valuestring, "operator");
  assert_true(cJSON_GetObjectItem(d0, "since")->valuedouble >= DAY);
  cJSON_Delete(dets);

  gw_blob *sb = gw_centre_state(c);
  cJSON *s = cJSON_Parse(sb->data);
  gw_blob_unref(sb);
  assert_non_null(s);
  assert_true(cJSON_GetObjectItem(s, "t")->valuedouble >= 900);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "intersections")), 16);
  assert_true(cJSON_GetObjectItem(s, "arrived")->valuedouble > 0);
  cJSON *a0 = find_isec(s, "A0");
  assert_string_equal(cJSON_GetObjectItem(a0, "mode")->valuestring, "hold");
  assert_int_equal(cJSON_GetObjectItem(a0, "stage")->valueint, 1);
  cJSON *b0 = find_isec(s, "B0");
  const char *lamps = cJSON_GetObjectItem(b0, "state")->valuestring;
  for (const char *p = lamps; *p; p++) assert_int_equal(*p, 'o');
  cJSON *b1 = find_isec(s, "B1");
  assert_string_equal(cJSON_GetObjectItem(b1, "controller")->valuestring, "actuated");
  cJSON_Delete(s);

  gw_centre_stats st;
  gw_centre_stats_get(c, &st);
  assert_int_equal(st.events_dropped, 0);
  assert_true(st.events_written > 1000);
  gw_centre_destroy(c);

  /* The store has the events and the 5- and 15-minute aggregates. */
  gw_store *db;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(db_url, &db, &err), GW_OK);
  cJSON *ev = NULL;
  assert_int_equal(gw_store_events(db, "A1", DAY, DAY + 900, 100, &ev, &err), GW_OK);
  assert_true(cJSON_GetArraySize(ev) > 10);
  cJSON_Delete(ev);
  cJSON *ag = NULL;
  assert_int_equal(gw_store_aggregates(db, NULL, 300, DAY, DAY + 900, &ag, &err), GW_OK);
  assert_true(cJSON_GetArraySize(ag) > 16);
  cJSON_Delete(ag);
  /* A restart restores what the store says. */
  assert_int_equal(gw_store_intersection_set_mode(db, "C2", "hold", "0", &err), GW_OK);
  gw_store_close(db);
  c = make(60);
  run_to_end(c);
  gw_blob *ib = gw_centre_intersection_state(c, "C2");
  cJSON *c2 = cJSON_Parse(ib->data);
  gw_blob_unref(ib);
  assert_string_equal(cJSON_GetObjectItem(c2, "mode")->valuestring, "hold");
  assert_int_equal(cJSON_GetObjectItem(c2, "stage")->valueint, 0);
  cJSON_Delete(c2);
  gw_centre_destroy(c);
}

/* A time-of-day entry that starts at 00:05 activates its plan then, and
** the writer stores the mode with an audit row by "schedule". */
static void centre_follows_schedules(void **state) {
  (void)state;
  gw_centre *c = make(60);
  char *plan = min_plan(c, "B2", 8, 0);
  gw_centre_destroy(c);
  gw_store *db;
  gw_error err = {0, {0}};
  assert_int_equal(gw_store_open(db_url, &db, &err), GW_OK);
  int v = 0;
  assert_int_equal(gw_store_plan_create(db, "B2", plan, "test", "tod", DAY, &v, &err), GW_OK);
  int64_t sid;
  assert_int_equal(gw_store_schedule_add(db, "B2", 0x7f, 300, v, &sid, &err), GW_OK);
  gw_store_close(db);
  free(plan);
  c = make(900);
  gw_blob *ib = gw_centre_intersection_state(c, "B2");
  cJSON *b2 = cJSON_Parse(ib->data);
  gw_blob_unref(ib);
  assert_int_equal(cJSON_GetObjectItem(b2, "plan_version")->valueint, 0); /* not yet */
  cJSON_Delete(b2);
  run_to_end(c);
  ib = gw_centre_intersection_state(c, "B2");
  b2 = cJSON_Parse(ib->data);
  gw_blob_unref(ib);
  assert_int_equal(cJSON_GetObjectItem(b2, "plan_version")->valueint, v);
  assert_string_equal(cJSON_GetObjectItem(b2, "mode")->valuestring, "fixed");
  cJSON_Delete(b2);
  gw_centre_destroy(c);
  assert_int_equal(gw_store_open(db_url, &db, &err), GW_OK);
  cJSON *row = NULL;
  assert_int_equal(gw_store_intersection_get(db, "B2", &row, &err), GW_OK);
  assert_int_equal(cJSON_GetObjectItem(row, "plan_version")->valueint, v);
  cJSON_Delete(row);
  cJSON *audit = NULL;
  assert_int_equal(gw_store_audit_list(db, 0, 1e11, 100, &audit, &err), GW_OK);
  int seen = 0;
  cJSON *a;
  cJSON_ArrayForEach(a, audit) {
    if (!strcmp(cJSON_GetObjectItem(a, "action")->valuestring, "schedule.apply")) seen = 1;
  }
  assert_true(seen);
  cJSON_Delete(audit);
  gw_store_close(db);
}

/* A database that stops answering for a while (another process holds it
** locked) does not stall the loop: it keeps stepping to its end while the
** writer waits, and the events reach the database once it answers again
** (within the store's busy timeout, 5 s: nothing is dropped). */
static void centre_outlives_a_locked_database(void **state) {
  (void)state;
  gw_centre *c = make(1200);
  sqlite3 *blocker;
  assert_int_equal(sqlite3_open(db_path, &blocker), SQLITE_OK);
  assert_int_equal(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  gw_error err = {0, {0}};
  assert_int_equal(gw_centre_start(c, &err), GW_OK);
  for (int k = 0; k < 300 && !gw_centre_finished(c); k++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  /* The loop reached its end while the database was locked. */
  assert_true(gw_centre_finished(c));
  gw_centre_stats st;
  gw_centre_stats_get(c, &st);
  assert_true(st.t >= 1200);
  assert_int_equal(st.events_written, 0);
  assert_int_equal(sqlite3_exec(blocker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(blocker);
  gw_centre_stop(c); /* the writer drains its queue */
  gw_centre_stats_get(c, &st);
  assert_true(st.events_written > 1000);
  assert_int_equal(st.events_dropped, 0);
  gw_centre_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(centre_runs_and_obeys_operators, setup, teardown),
      cmocka_unit_test_setup_teardown(centre_follows_schedules, setup, teardown),
      cmocka_unit_test_setup_teardown(centre_outlives_a_locked_database, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** test_incident.c -- field faults: incident detection on lanes, the live
** detector-health findings, and failed detectors taken out of control.
**
** Why these tests: the incident detector's two tests fire on hand-made
** interval series at an interval that can be computed by hand (a one-off
** error in the persistence or the learnt share shows), and stay quiet on a
** series where every lane stops together (a red); on the simulator a
** blocked lane must be found and an incident-free hour must give no alarm.
** Live health must report a stuck, a silent and a chattering detector
** while the fault lasts and clear it when it ends.  A stuck-on detector
** must make actuated control max out its phase, and marking it failed must
** let the intersection gap out again.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/incident.h"
#include "greenwave/measures.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

static gw_scenario *load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s.sumocfg", GW_SCENARIOS, name, name);
  gw_scenario *sc = NULL;
  gw_error err = {0, {0}};
  if (gw_scenario_load_sumocfg(path, &sc, &err)) fail_msg("%s", err.msg);
  return sc;
}

/* ---- synthetic interval series ------------------------------------------ */

typedef struct alarms {
  int n;
  gw_incident_alarm a[16];
} alarms;

static void on_alarm(void *ud, const gw_incident_alarm *a) {
  alarms *x = ud;
  if (x->n < 16) x->a[x->n++] = *a;
}

static gw_incident_obs normal_obs(void) {
  gw_incident_obs o = {0.10, 10, 0.12, 10};
  return o;
}

/* Three lanes of one approach flow at 10 veh/min; from interval 21 lane 1
** is blocked between its loops: U stands in the queue (occupancy 0.8, two
** vehicles creep over it), D beyond the block is empty.  OCCDF = 0.8 and
** OCCRDF = 1 hold from interval 21, D's occupancy fell from 0.12 to 0
** (DOCCTD = 1), so with persistence 2 the occupancy test raises the alarm
** at the end of interval 22 (t = 1320).  The block lifts after interval 25
** and the lane counts again from 26: cleared after 2 normal intervals, at
** the end of interval 27. */
static void occupancy_test_fires_on_a_blocked_lane(void **state) {
  (void)state;
  alarms got = {0};
  gw_incident *d;
  assert_int_equal(gw_incident_create(NULL, on_alarm, &got, &d), GW_OK);
  for (uint32_t i = 0; i < 3; i++) assert_int_equal(gw_incident_add_lane(d, 7, 1, 1, NULL), GW_OK);
  gw_incident_obs obs[3];
  for (int k = 1; k <= 30; k++) {
    for (int i = 0; i < 3; i++) obs[i] = normal_obs();
    if (k >= 21 && k <= 25) {
      obs[1].occ_up = 0.8;
      obs[1].count_up = 2;
      obs[1].occ_down = 0;
      obs[1].count_down = 0;
      obs[0].count_down = obs[2].count_down = 14; /* the neighbours take its traffic */
    }
    assert_int_equal(gw_incident_feed(d, 60.0 * k, obs), GW_OK);
    if (k == 21) assert_int_equal(got.n, 0);
  }
  assert_int_equal(got.n, 2);
  assert_int_equal(got.a[0].what, GW_INCIDENT_START);
  assert_int_equal(got.a[0].lane, 1);
  assert_int_equal(got.a[0].approach, 7);
  assert_int_equal(got.a[0].test, GW_INCIDENT_OCCUPANCY);
  assert_true(fabs(got.a[0].t - 1320) < 1e-9);
  assert_int_equal(got.a[1].what, GW_INCIDENT_CLEAR);
  assert_true(fabs(got.a[1].t - 1620) < 1e-9);
  assert_true(fabs(got.a[1].start_t - 1320) < 1e-9);
  assert_false(gw_incident_active(d, 1));
  gw_incident_destroy(d);
}

/* Single-station lanes (no U): lane 0 carries 4 veh/min, its neighbour 8,
** so its learnt share of the neighbour's flow is 0.5.  From interval 16 a
** vehicle stands on lane 0's loop (occupancy 1, no count) while the
** neighbour carries on at 8: 8 x 0.5 = 4 vehicles missed in interval 16,
** which is then learnt (share 0.95 x 4 / 8 = 0.475), and 3.8 in each
** interval after: 11.6 after three, so the deficit test (10 vehicles)
** fires at the end of interval 18 (t = 1080), not before. */
static void deficit_test_fires_on_a_stuck_single_loop(void **state) {
  (void)state;
  alarms got = {0};
  gw_incident_config cfg = {0};
  gw_incident *d;
  assert_int_equal(gw_incident_create(&cfg, on_alarm, &got, &d), GW_OK);
  uint32_t l0, l1;
  assert_int_equal(gw_incident_add_lane(d, 3, 0, 1, &l0), GW_OK);
  assert_int_equal(gw_incident_add_lane(d, 3, 0, 1, &l1), GW_OK);
  assert_int_equal(l1, 1);
  gw_incident_obs obs[2] = {{-1, -1, 0.1, 4}, {-1, -1, 0.2, 8}};
  for (int k = 1; k <= 20; k++) {
    if (k >= 16) {
      obs[0].occ_down = 1;
      obs[0].count_down = 0;
    }
    assert_int_equal(gw_incident_feed(d, 60.0 * k, obs), GW_OK);
    if (k == 17) assert_int_equal(got.n, 0);
  }
  assert_int_equal(got.n, 1);
  assert_int_equal(got.a[0].lane, 0);
  assert_int_equal(got.a[0].test, GW_INCIDENT_DEFICIT);
  assert_true(fabs(got.a[0].t - 1080) < 1e-9);
  assert_true(fabs(got.a[0].value - 11.6) < 1e-9);
  assert_true(gw_incident_active(d, 0));
  gw_incident_destroy(d);
}

/* Every lane stops together for two intervals (a long red, an empty
** street) and a queue reaches U with D occupied too: neither test fires. */
static void a_red_and_a_signal_queue_are_not_incidents(void **state) {
  (void)state;
  alarms got = {0};
  gw_incident *d;
  assert_int_equal(gw_incident_create(NULL, on_alarm, &got, &d), GW_OK);
  for (int i = 0; i < 2; i++) assert_int_equal(gw_incident_add_lane(d, 0, 1, 1, NULL), GW_OK);
  gw_incident_obs obs[2];
  for (int k = 1; k <= 40; k++) {
    for (int i = 0; i < 2; i++) obs[i] = normal_obs();
    if (k % 10 == 0 || k % 10 == 1)
      for (int i = 0; i < 2; i++) obs[i].count_up = obs[i].count_down = 0;
    if (k % 10 == 5) obs[0].occ_up = obs[0].occ_down = 0.9; /* spill-back over both loops */
    assert_int_equal(gw_incident_feed(d, 60.0 * k, obs), GW_OK);
  }
  assert_int_equal(got.n, 0);
  gw_incident_destroy(d);
}

static void bad_thresholds_are_refused(void **state) {
  (void)state;
  gw_incident *d = (gw_incident *)1;
  gw_incident_config c = {0};
  c.occrdf = 1.5;
  assert_int_equal(gw_incident_create(&c, NULL, NULL, &d), GW_EINVAL);
  assert_null(d);
  c.occrdf = 0;
  c.deficit = -1;
  assert_int_equal(gw_incident_create(&c, NULL, NULL, &d), GW_EINVAL);
  assert_int_equal(gw_incident_create(NULL, NULL, NULL, &d), GW_OK);
  gw_incident_obs o = normal_obs();
  assert_int_equal(gw_incident_add_lane(d, 0, 1, 1, NULL), GW_OK);
  assert_int_equal(gw_incident_feed(d, 60, &o), GW_OK);
  assert_int_equal(gw_incident_add_lane(d, 0, 1, 1, NULL), GW_ESTATE);
  gw_incident_destroy(d);
  gw_incident_destroy(NULL);
}

/* ---- simulated incidents ------------------------------------------------- */

/* arterial10: three runs of 40 min, each with a busy lane blocked for
** 10 min; all three are found (docs/incidents.md: 19 of 20 on two sets of
** seeds), within the block.  Deterministic for the seed. */
static void simulated_blocks_are_detected(void **state) {
  (void)state;
  gw_scenario *sc = load("arterial10");
  gw_incident_eval_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.runs = 3;
  cfg.free_runs = 1;
  cfg.duration_s = 2400;
  cfg.seed = 1;
  gw_incident_eval e;
  gw_error err = {0, {0}};
  int rc = gw_incident_evaluate(sc, &cfg, &e, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(e.runs, 3);
  assert_int_equal(e.detected, 3);
  for (uint32_t k = e.free_runs; k < e.free_runs + e.runs; k++) {
    assert_true(e.run[k].incident);
    assert_true(e.run[k].detect_s > 0 && e.run[k].detect_s <= 600);
  }
  double first = e.mean_detect_s;
  gw_incident_eval_free(&e);
  assert_int_equal(gw_incident_evaluate(sc, &cfg, &e, &err), GW_OK);
  assert_true(e.mean_detect_s == first);
  gw_incident_eval_free(&e);
  gw_scenario_destroy(sc);
}

/* grid4x4_heavy without an incident: an hour on 704 loop stations, no
** alarm (0 in 20 incident-free runs over two sets of seeds). */
static void an_incident_free_hour_gives_no_alarm(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4_heavy");
  gw_incident_eval_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.runs = 1;
  cfg.free_runs = 1;
  cfg.seed = 5;
  gw_incident_eval e;
  gw_error err = {0, {0}};
  int rc = gw_incident_evaluate(sc, &cfg, &e, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(e.free_runs, 1);
  assert_false(e.run[0].incident);
  assert_int_equal(e.free_alarms, 0);
  assert_true(e.station_hours > 580); /* 704 stations x 50 min */
  gw_incident_eval_free(&e);
  cfg.duration_s = 100; /* shorter than warm-up + block */
  assert_int_equal(gw_incident_evaluate(sc, &cfg, &e, &err), GW_EINVAL);
  gw_scenario_destroy(sc);
}

/* ---- live detector health ----------------------------------------------- */

typedef struct live_log {
  int n;
  int what[16], kind[16], detector[16];
  double start[16], at[16];
} live_log;

static void on_live(void *ud, int what, const gw_health_finding *f) {
  live_log *x = ud;
  if (x->n >= 16) return;
  x->what[x->n] = what;
  x->kind[x->n] = f->kind;
  x->detector[x->n] = f->detector;
  x->start[x->n] = f->start_t;
  x->at[x->n] = f->end_t;
  x->n++;
}

/* Detectors 1 and 2 count a vehicle every 10 s.  Detector 5 turns on at
** 100.5 and stays on until 400.5: with stuck_on 60 the tick at 161 is the
** first moment past 160.5, so the start is reported then, the clear at
** its 81.
** Detector 9 is silent: no_activity 200 from the start of the range (0,
** the first event) is passed at the tick at 201, and its 82 at 500.5
** clears it.  The run stops at 591, before detector 5 has been silent for
** 200 s after its 81. */
static void live_health_reports_start_and_clear(void **state) {
  (void)state;
  gw_health_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.stuck_on_s = 60;
  cfg.no_activity_s = 200;
  gw_detector_link map[] = {{9, 2}};
  cfg.detectors = map;
  cfg.ndetectors = 1;
  gw_health *h;
  live_log got = {0};
  assert_int_equal(gw_health_create(&cfg, NULL, NULL, &h), GW_OK);
  assert_int_equal(gw_health_set_live(h, on_live, &got), GW_OK);
  for (int t = 0; t <= 590; t += 10) {
    for (int det = 1; det <= 2; det++) {
      assert_int_equal(gw_health_feed(h, t, GW_EV_DETECTOR_ON, det), GW_OK);
      assert_int_equal(gw_health_feed(h, t + 0.5, GW_EV_DETECTOR_OFF, det), GW_OK);
    }
    if (t == 100) gw_health_feed(h, t + 0.5, GW_EV_DETECTOR_ON, 5);
    if (t == 400) gw_health_feed(h, t + 0.5, GW_EV_DETECTOR_OFF, 5);
    if (t == 500) gw_health_feed(h, t + 0.5, GW_EV_DETECTOR_ON, 9);
    if (t == 510) gw_health_feed(h, t + 0.5, GW_EV_DETECTOR_OFF, 9);
    assert_int_equal(gw_health_tick(h, t + 1), GW_OK);
  }
  int stuck_start = -1, stuck_clear = -1, silent_start = -1, silent_clear = -1;
  for (int i = 0; i < got.n; i++) {
    if (got.kind[i] == GW_HEALTH_STUCK_ON) {
      assert_int_equal(got.detector[i], 5);
      if (got.what[i] == GW_HEALTH_STARTED)
        stuck_start = i;
      else
        stuck_clear = i;
    } else {
      assert_int_equal(got.kind[i], GW_HEALTH_NO_ACTIVITY);
      assert_int_equal(got.detector[i], 9);
      if (got.what[i] == GW_HEALTH_STARTED)
        silent_start = i;
      else
        silent_clear = i;
    }
  }
  assert_true(stuck_start >= 0 && stuck_clear > stuck_start);
  assert_true(fabs(got.start[stuck_start] - 100.5) < 1e-9);
  assert_true(fabs(got.at[stuck_start] - 161) < 1e-9); /* the first tick past 160.5 */
  assert_true(fabs(got.at[stuck_clear] - 400.5) < 1e-9);
  assert_true(silent_start >= 0 && silent_clear > silent_start);
  assert_true(got.at[silent_start] > 200 && got.at[silent_start] <= 211);
  assert_true(fabs(got.at[silent_clear] - 500.5) < 1e-9);
  assert_int_equal(gw_health_finish(h), GW_OK);
  assert_int_equal(gw_health_tick(h, 1000), GW_ESTATE);
  gw_health_destroy(h);
}

/* Detector 3 chatters: 40 pulses of 0.1 s in the window [300, 600) with
** the default 30/300, then nothing.  The start comes at the 31st short
** pulse; the clear once the whole next window [600, 900) has passed
** quiet, at the tick at 900. */
static void live_health_reports_chatter(void **state) {
  (void)state;
  gw_health_config cfg;
  memset(&cfg, 0, sizeof cfg);
  gw_health *h;
  live_log got = {0};
  assert_int_equal(gw_health_create(&cfg, NULL, NULL, &h), GW_OK);
  assert_int_equal(gw_health_set_live(h, on_live, &got), GW_OK);
  gw_health_feed(h, 0, GW_EV_DETECTOR_OFF, 3);
  for (int i = 0; i < 40; i++) {
    double t = 310 + i;
    gw_health_feed(h, t, GW_EV_DETECTOR_ON, 3);
    gw_health_feed(h, t + 0.1, GW_EV_DETECTOR_OFF, 3);
    if (i == 29) assert_int_equal(got.n, 0);
  }
  assert_int_equal(got.n, 1);
  assert_int_equal(got.what[0], GW_HEALTH_STARTED);
  assert_int_equal(got.kind[0], GW_HEALTH_CHATTER);
  assert_true(fabs(got.at[0] - 340.1) < 1e-9);
  gw_health_tick(h, 899);
  assert_int_equal(got.n, 1);
  gw_health_tick(h, 900);
  assert_int_equal(got.n, 2);
  assert_int_equal(got.what[1], GW_HEALTH_CLEARED);
  gw_health_destroy(h);
}

/* ---- failed detectors out of control ------------------------------------ */

/* A field that forwards to the simulator but shows one detector stuck on:
** occupied every step, never counting. */
typedef struct stuck_field {
  gw_field inner;
  gw_field_ops ops;
  uint32_t stuck;
} stuck_field;

static stuck_field *g_stuck;

static int stuck_detector(void *impl, uint32_t det, gw_detector_reading *out) {
  stuck_field *s = g_stuck;
  int rc = s->inner.ops->detector(s->inner.impl, det, out);
  if (det == s->stuck) {
    out->count = 0;
    out->occupancy = 1;
    out->occupied = 1;
    out->last_occupied_t = s->inner.ops->time(s->inner.impl);
  }
  (void)impl;
  return rc;
}

typedef struct ends {
  uint32_t tls;
  int phase;
  double from, to;
  int gap, max, green[GW_MAX_GROUPS + 1];
} ends;

static void count_ends(void *ud, const gw_event *e) {
  ends *x = ud;
  if (e->tls != x->tls || e->t < x->from || e->t >= x->to) return;
  if (e->code == GW_EV_GAP_OUT && e->param == x->phase) x->gap++;
  if (e->code == GW_EV_MAX_OUT && e->param == x->phase) x->max++;
  if (e->code == GW_EV_BEGIN_GREEN && e->param >= 1 && e->param <= GW_MAX_GROUPS)
    x->green[e->param]++;
}

/* Two windows of the same run: events before `split` go to w[0]. */
typedef struct ends2 {
  double split;
  ends w[2];
} ends2;

static void count_ends2(void *ud, const gw_event *e) {
  ends2 *x = ud;
  count_ends(&x->w[e->t >= x->split], e);
}

/* grid4x4's B1 under actuated control, one loop of its north-south
** through group stuck on.  For 1200 s every green of that group maxes out
** (it always extends); then the loop is marked failed and over the next
** 1200 s the group gaps out again and every group still gets its green. */
static void a_stuck_detector_is_taken_out_of_control(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = 2400;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &cfg, &sim), GW_OK);
  stuck_field sf;
  memset(&sf, 0, sizeof sf);
  gw_field_from_sim(sim, &sf.inner);
  sf.ops = *sf.inner.ops;
  sf.ops.detector = stuck_detector;
  sf.ops.detector_array = NULL; /* every reading goes through stuck_detector */
  sf.stuck = UINT32_MAX;
  g_stuck = &sf;
  gw_field f = {&sf.ops, sf.inner.impl};
  uint32_t tls = gw_net_find_tls(sc->net, "B1");
  gw_signal_model m;
  gw_error err = {0, {0}};
  assert_int_equal(gw_signal_model_init(&m, sc->net, tls, &err), GW_OK);
  uint32_t group = m.group_of_link[1]; /* north-south through */
  ends2 e;
  memset(&e, 0, sizeof e);
  e.split = 1200;
  for (int k = 0; k < 2; k++) {
    e.w[k].tls = tls;
    e.w[k].phase = (int)group + 1;
    e.w[k].from = k ? 1200 : 0;
    e.w[k].to = k ? 2400 : 1200;
  }
  gw_control *c;
  assert_int_equal(gw_control_create(sc->net, &f, "actuated", count_ends2, &e, &c, &err), GW_OK);
  uint32_t det[64], grp[64], n;
  assert_int_equal(gw_control_detectors(c, tls, 64, det, grp, &n), GW_OK);
  for (uint32_t i = 0; i < n; i++)
    if (grp[i] == group) sf.stuck = det[i];
  assert_true(sf.stuck != UINT32_MAX);
  while (gw_sim_time(sim) < 1200) {
    assert_int_equal(gw_control_step(c), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  assert_true(e.w[0].max >= 5);
  assert_int_equal(e.w[0].gap, 0);

  assert_int_equal(gw_control_detector_set_failed(c, sf.stuck, 1), GW_OK);
  assert_int_equal(gw_control_detector_failed(c, sf.stuck), 1);
  assert_int_equal(gw_control_detector_set_failed(c, 999999, 1), GW_ENOTFOUND);
  while (!gw_sim_done(sim)) {
    assert_int_equal(gw_control_step(c), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  assert_true(e.w[1].gap >= 5);
  assert_true(e.w[1].gap > e.w[1].max);
  for (uint32_t g = 0; g < m.ngroups; g++) assert_true(e.w[1].green[g + 1] >= 5);
  gw_control_destroy(c);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

/* Every loop of a group failed: the group has no detector and actuated
** holds it on maximum recall (every green of it maxes out, none gaps out,
** and the other groups still get theirs); putting the loops back restores
** gap-outs. */
static void a_group_without_working_detectors_runs_on_recall(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = 3000;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &cfg, &sim), GW_OK);
  gw_field f;
  gw_field_from_sim(sim, &f);
  uint32_t tls = gw_net_find_tls(sc->net, "B1");
  gw_signal_model m;
  gw_error err = {0, {0}};
  assert_int_equal(gw_signal_model_init(&m, sc->net, tls, &err), GW_OK);
  uint32_t group = m.group_of_link[1];
  ends e = {tls, (int)group + 1, 600, 1800, 0, 0, {0}};
  gw_control *c;
  assert_int_equal(gw_control_create(sc->net, &f, "actuated", count_ends, &e, &c, &err), GW_OK);
  uint32_t det[64], grp[64], n;
  assert_int_equal(gw_control_detectors(c, tls, 64, det, grp, &n), GW_OK);
  while (gw_sim_time(sim) < 600) {
    gw_control_step(c);
    gw_sim_step(sim);
  }
  for (uint32_t i = 0; i < n; i++)
    if (grp[i] == group) assert_int_equal(gw_control_detector_set_failed(c, det[i], 1), GW_OK);
  gw_control_node node;
  while (gw_sim_time(sim) < 1800) {
    gw_control_step(c);
    gw_sim_step(sim);
  }
  assert_int_equal(gw_control_node_get(c, tls, &node), GW_OK);
  assert_true(e.max >= 5);
  assert_int_equal(e.gap, 0);
  for (uint32_t g = 0; g < m.ngroups; g++) assert_true(e.green[g + 1] >= 5);
  for (uint32_t i = 0; i < n; i++)
    if (grp[i] == group) assert_int_equal(gw_control_detector_set_failed(c, det[i], 0), GW_OK);
  e.from = 1800;
  e.to = 3000;
  e.gap = e.max = 0;
  while (!gw_sim_done(sim)) {
    gw_control_step(c);
    gw_sim_step(sim);
  }
  assert_true(e.gap >= 5);
  gw_control_destroy(c);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(occupancy_test_fires_on_a_blocked_lane),
      cmocka_unit_test(deficit_test_fires_on_a_stuck_single_loop),
      cmocka_unit_test(a_red_and_a_signal_queue_are_not_incidents),
      cmocka_unit_test(bad_thresholds_are_refused),
      cmocka_unit_test(simulated_blocks_are_detected),
      cmocka_unit_test(an_incident_free_hour_gives_no_alarm),
      cmocka_unit_test(live_health_reports_start_and_clear),
      cmocka_unit_test(live_health_reports_chatter),
      cmocka_unit_test(a_stuck_detector_is_taken_out_of_control),
      cmocka_unit_test(a_group_without_working_detectors_runs_on_recall),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

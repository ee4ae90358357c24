/*
** test_control.c -- the signal model, the fixed-time controller with its
** schedules, coordination and the control loop against the simulator.
**
** Why these tests: the signal model decides what the monitor protects, so
** its conflicts and all-reds are pinned on a real junction (grid4x4's B1,
** whose right of way is checked by hand in the comments); the fixed plan's
** stage at a given time, a schedule's plan change and the 20 % offset walk
** are exact numbers that could be off by a step; coordination must give a
** common cycle, splits that fill it and a green wave that cuts the loss of
** arterial10's through traffic; the control loop must notice a field that
** shows something the monitor did not send and go to fail-safe.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/metrics.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

static gw_scenario *load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s.sumocfg", GW_SCENARIOS, name, name);
  gw_scenario *sc = NULL;
  gw_error err = {0, {0}};
  int rc = gw_scenario_load_sumocfg(path, &sc, &err);
  if (rc) fail_msg("%s", err.msg);
  return sc;
}

/* B1 of grid4x4: links 0-2 and 8-10 (north/south right and through) form
** one group, 3 and 11 (north/south left) another, 4-6/12-14 and 7/15 the
** east-west ones.  Through movements of crossing streets conflict hard;
** the left turn runs permissive ('g') beside the opposing through movement
** in the program, so it may yield there; everything else that crosses is
** hard, with all-red (24 m + 5 m) / 13.89 m/s = 2.09 s -> 2.0 s. */
static void model_of_a_grid_junction(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  uint32_t t = gw_net_find_tls(sc->net, "B1");
  gw_signal_model m;
  gw_error err;
  assert_int_equal(gw_signal_model_init(&m, sc->net, t, &err), GW_OK);
  assert_int_equal(m.nlinks, 16);
  assert_int_equal(m.ngroups, 4);
  assert_int_equal(m.nstages, 4);
  uint32_t ns = m.group_of_link[1], nsl = m.group_of_link[3], ew = m.group_of_link[5],
           ewl = m.group_of_link[7];
  assert_int_equal(m.group_of_link[9], ns);
  assert_int_equal(m.group_of_link[11], nsl);
  assert_int_equal(m.groups[ns].nlinks, 6);
  assert_int_equal(m.conflict[ns][ew], GW_CONFLICT_HARD);
  assert_int_equal(m.conflict[ew][ns], GW_CONFLICT_HARD);
  assert_true(fabs(m.allred_s[ns][ew] - 2.0) < 1e-9);
  assert_int_equal(m.conflict[nsl][ns], GW_CONFLICT_YIELDS); /* left yields to opposing through */
  assert_int_equal(m.conflict[ns][nsl], GW_CONFLICT_NONE);
  assert_true(m.allred_s[ns][nsl] == 0);
  assert_int_equal(m.conflict[nsl][ewl], GW_CONFLICT_HARD); /* never shown together */
  assert_int_equal(m.conflict[nsl][ew], GW_CONFLICT_HARD);
  assert_true(fabs(m.groups[ns].yellow_s - 3) < 1e-9);
  char st[257];
  gw_signal_model_stage_state(&m, 0, st);
  assert_string_equal(st, "GGGgrrrrGGGgrrrr");
  gw_signal_model_stage_state(&m, 1, st);
  assert_string_equal(st, "rrrGrrrrrrrGrrrr");
  assert_true(fabs(m.cycle_s - 90) < 1e-9);
  assert_true(fabs(m.lost_s - 3) < 1e-9);
  assert_int_equal(gw_signal_model_override(&m, 7, 4, 1.5), GW_OK);
  assert_true(m.groups[ew].min_green_s == 7 && m.groups[ew].yellow_s == 4);
  assert_true(m.allred_s[ns][ew] == 1.5 && m.allred_s[ns][nsl] == 0);
  assert_int_equal(gw_signal_model_override(&m, -1, 1, -1), GW_ERANGE);
  /* The approaches are 34 m turn bays behind the split of a two-lane road:
  ** the through group also counts both of the road's lanes, the left turn
  ** group the left one, which feeds its bay and a through bay. */
  assert_int_equal(m.groups[ns].nup, 4);
  assert_int_equal(m.groups[nsl].nup, 2);
  for (uint32_t k = 0; k < m.groups[nsl].nup; k++) {
    gw_lane_info li;
    uint32_t lane = m.groups[nsl].up_lanes[k], shared = 0;
    assert_int_equal(gw_net_lane_info(sc->net, lane, &li), GW_OK);
    assert_true(strcmp(li.id, "B0B1_1") == 0 || strcmp(li.id, "B2B1_1") == 0);
    assert_true(li.length_m > 200 && !li.internal);
    for (uint32_t j = 0; j < m.groups[ns].nup; j++) shared += m.groups[ns].up_lanes[j] == lane;
    assert_int_equal(shared, 1);
  }
  gw_scenario_destroy(sc);
}

/* The program's own clearance intervals.  netconvert's program for B1 runs
** no all-red: every hard pair gets 0.  A program with all-red phases of 2 s
** after the north-south stages and 1 s after the east-west ones gives those
** to the pairs it sequences directly (through -> left turn of the crossing
** street is never direct: it takes the program's shortest, 1 s); yellow
** stays the program's and pairs that do not conflict stay 0. */
static void program_clearance(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  uint32_t t = gw_net_find_tls(sc->net, "B1");
  gw_signal_model m;
  gw_error err;
  assert_int_equal(gw_signal_model_init(&m, sc->net, t, &err), GW_OK);
  uint32_t ns = m.group_of_link[1], nsl = m.group_of_link[3], ew = m.group_of_link[5],
           ewl = m.group_of_link[7];
  assert_true(fabs(m.allred_s[ns][ew] - 2.0) < 1e-9);
  gw_signal_model_program_clearance(&m, sc->net);
  for (uint32_t a = 0; a < m.ngroups; a++)
    for (uint32_t b = 0; b < m.ngroups; b++) assert_true(m.allred_s[a][b] == 0);
  assert_int_equal(m.conflict[ns][ew], GW_CONFLICT_HARD); /* conflicts stay */

  char path[] = "/tmp/gw-test-allred-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(
      "<additional><tlLogic id=\"B1\" type=\"static\" programID=\"ar\" offset=\"0\">\n"
      "<phase duration=\"30\" state=\"GGGgrrrrGGGgrrrr\"/>\n"
      "<phase duration=\"3\" state=\"yyygrrrryyygrrrr\"/>\n"
      "<phase duration=\"6\" state=\"rrrGrrrrrrrGrrrr\"/>\n"
      "<phase duration=\"3\" state=\"rrryrrrrrrryrrrr\"/>\n"
      "<phase duration=\"2\" state=\"rrrrrrrrrrrrrrrr\"/>\n"
      "<phase duration=\"30\" state=\"rrrrGGGgrrrrGGGg\"/>\n"
      "<phase duration=\"3\" state=\"rrrryyygrrrryyyg\"/>\n"
      "<phase duration=\"6\" state=\"rrrrrrrGrrrrrrrG\"/>\n"
      "<phase duration=\"3\" state=\"rrrrrrryrrrrrrry\"/>\n"
      "<phase duration=\"1\" state=\"rrrrrrrrrrrrrrrr\"/>\n"
      "</tlLogic></additional>\n",
      f);
  fclose(f);
  int rc = gw_scenario_add_additional(sc, path, &err);
  unlink(path);
  assert_int_equal(rc, GW_OK);
  assert_int_equal(gw_signal_model_init(&m, sc->net, t, &err), GW_OK);
  assert_true(fabs(m.allred_s[nsl][ew] - 2.0) < 1e-9); /* geometric */
  gw_signal_model_program_clearance(&m, sc->net);
  assert_true(fabs(m.allred_s[nsl][ew] - 2.0) < 1e-9);  /* after the N-S left turns */
  assert_true(fabs(m.allred_s[nsl][ewl] - 2.0) < 1e-9); /* the E-W left runs 'g' then */
  assert_true(fabs(m.allred_s[ewl][ns] - 1.0) < 1e-9);  /* after the E-W left turns */
  assert_true(fabs(m.allred_s[ns][ew] - 1.0) < 1e-9);   /* never direct: the shortest */
  assert_true(m.allred_s[ns][nsl] == 0);
  assert_true(fabs(m.groups[ns].yellow_s - 3) < 1e-9);
  gw_scenario_destroy(sc);
}

/* A minimal view for the fixed controller (it reads only the time). */
typedef struct evlog {
  int n;
  gw_event e[4096];
} evlog;

static void record(void *ud, const gw_event *e) {
  evlog *l = ud;
  if (l->n < 4096) l->e[l->n++] = *e;
}

static uint32_t fixed_at(gw_controller *c, const gw_signal_model *m, double t, evlog *log) {
  gw_monitor_status st;
  memset(&st, 0, sizeof st);
  gw_ctl_view v;
  memset(&v, 0, sizeof v);
  v.t = t;
  v.dt = 1;
  v.model = m;
  v.status = &st;
  v.emit = log ? record : NULL;
  v.emit_ud = log;
  uint32_t s = 99;
  assert_int_equal(gw_controller_step(c, &v, &s), GW_OK);
  return s;
}

/* The program of B1 (33/3/6/3 twice, cycle 90, offset 0) as stages: stage 0
** is asked for during [0, 33), then stage 1 during the change interval and
** its green until 42, stage 2 until 78, stage 3 until 87, stage 0 again. */
static void fixed_runs_the_program(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  gw_signal_model m;
  gw_error err;
  assert_int_equal(gw_signal_model_init(&m, sc->net, gw_net_find_tls(sc->net, "B1"), &err), 0);
  gw_controller *c;
  assert_int_equal(gw_controller_create("fixed", &m, sc->net, &c, &err), GW_OK);
  static const struct {
    double t;
    uint32_t s;
  } want[] = {{0, 0},  {32, 0}, {33, 1}, {41, 1}, {42, 2},  {77, 2},
              {78, 3}, {86, 3}, {87, 0}, {90, 0}, {123, 1}, {180, 0}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    uint32_t s = fixed_at(c, &m, want[i].t, NULL);
    if (s != want[i].s) fail_msg("t=%g: stage %u, expected %u", want[i].t, s, want[i].s);
  }
  gw_controller_destroy(c);
  /* An offset of 20 s shifts the plan: at t = 20 the cycle starts. */
  assert_int_equal(gw_controller_create("fixed:offset=20", &m, sc->net, &c, &err), GW_OK);
  assert_int_equal(fixed_at(c, &m, 19, NULL), 0); /* position 89: stage 0 again */
  assert_int_equal(fixed_at(c, &m, 53, NULL), 1);
  assert_int_equal(fixed_at(c, &m, 62, NULL), 2);
  gw_controller_destroy(c);
  /* Bad parameters are refused with a message. */
  assert_int_not_equal(gw_controller_create("fixed:splits=10/20", &m, sc->net, &c, &err), 0);
  assert_non_null(strstr(err.msg, "stages"));
  assert_int_not_equal(gw_controller_create("fixed:colour=red", &m, sc->net, &c, &err), 0);
  assert_non_null(strstr(err.msg, "colour"));
  gw_scenario_destroy(sc);
}

/* A schedule: from Monday 00:00 the program, from 00:10 a 60 s cycle with
** offset 30.  The new plan is taken at the first cycle start after 600 s;
** the offset then walks at most 20 % of the cycle (12 s) per cycle. */
static void fixed_follows_its_schedule(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  gw_signal_model m;
  gw_error err;
  assert_int_equal(gw_signal_model_init(&m, sc->net, gw_net_find_tls(sc->net, "B1"), &err), 0);
  const char *path = "/tmp/gw_test_schedule.txt";
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("# test plan\nmon-sun 00:00\nmon-fri 00:10 cycle=60 splits=24/6/24/6 offset=30\n", f);
  fclose(f);
  char spec[128];
  snprintf(spec, sizeof spec, "fixed:schedule=%s", path);
  gw_controller *c;
  assert_int_equal(gw_controller_create(spec, &m, sc->net, &c, &err), GW_OK);
  evlog *log = calloc(1, sizeof *log);
  assert_non_null(log);
  for (double t = 0; t < 1200; t += 1) fixed_at(c, &m, t, log);
  int pattern = 0, cycles = 0, offsets = 0;
  double first_pattern_t = -1, last_offset = 0;
  for (int i = 0; i < log->n; i++) {
    if (log->e[i].code == GW_EV_PATTERN_CHANGE) {
      pattern++;
      if (first_pattern_t < 0) first_pattern_t = log->e[i].t;
      assert_int_equal(log->e[i].param, 3); /* the schedule's line 3 */
    }
    if (log->e[i].code == GW_EV_CYCLE_CHANGE && log->e[i].param == 60) cycles++;
    if (log->e[i].code == GW_EV_OFFSET_CHANGE) {
      int d = abs(log->e[i].param - (int)last_offset);
      assert_true(d <= 12 || d >= 48); /* a step of at most 12 s, the short way round */
      last_offset = log->e[i].param;
      offsets++;
    }
  }
  assert_int_equal(pattern, 1);
  assert_int_equal(cycles, 1);
  assert_true(first_pattern_t >= 600 && first_pattern_t < 690); /* the next cycle start */
  assert_true(offsets >= 2 && offsets <= 4);                    /* 30 s in steps <= 12 s */
  double off = fmod(last_offset - 30 + 600, 60);                /* 30 s and -30 s are one offset */
  assert_true(off < 1.0 || off > 59.0);
  free(log);
  gw_controller_destroy(c);
  /* A bad line names the file and line. */
  f = fopen(path, "w");
  fputs("mon-fri 7am cycle=60\n", f);
  fclose(f);
  assert_int_not_equal(gw_controller_create(spec, &m, sc->net, &c, &err), 0);
  assert_non_null(strstr(err.msg, ":1:"));
  remove(path);
  gw_scenario_destroy(sc);
}

/* Runs a scenario with one spec per signal; returns the trip summary of the
** vehicles that cross all signals crossed by the longest route. */
typedef struct result {
  gw_trip_summary all;
  uint64_t teleports, failsafes;
} result;

static void on_trip(void *ud, const gw_trip_record *r) { gw_trip_summary_add(ud, r); }

static void run(gw_scenario *sc, const char *const *specs, int each, result *out, int tamper_at) {
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, NULL, &sim), GW_OK);
  memset(out, 0, sizeof *out);
  gw_sim_on_trip(sim, on_trip, &out->all);
  gw_field field;
  gw_field_from_sim(sim, &field);
  gw_control *ctl;
  gw_error err;
  int rc = each ? gw_control_create_each(sc->net, &field, specs, NULL, NULL, &ctl, &err)
                : gw_control_create(sc->net, &field, specs[0], NULL, NULL, &ctl, &err);
  if (rc) fail_msg("%s", err.msg);
  for (int k = 0; k < 20000 && !gw_sim_done(sim); k++) {
    if (k == tamper_at) {
      /* The field shows a state nobody granted: all green at signal 0. */
      char all[257];
      uint32_t n = (uint32_t)strlen(gw_sim_signal_state(sim, 0));
      memset(all, 'G', n);
      all[n] = 0;
      assert_int_equal(gw_sim_signal_set(sim, 0, all), GW_OK);
    }
    assert_int_equal(gw_control_step(ctl), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  gw_control_stats cs;
  gw_control_stats_get(ctl, &cs);
  out->failsafes = cs.failsafes;
  gw_sim_stats st;
  gw_sim_stats_get(sim, &st);
  out->teleports = st.teleports;
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
}

/* arterial10: the coordinated plan has one cycle in [60, 120] s, splits that
** add up to it, and cuts the mean time loss of the scenario's own fixed
** plan (218.7 s in the simulator) by more than half. */
static void coordination_makes_a_green_wave(void **state) {
  (void)state;
  gw_scenario *sc = load("arterial10");
  gw_coord_plan plan;
  gw_error err;
  assert_int_equal(gw_coordination_plan(sc->net, sc->demand, 0, &plan, &err), GW_OK);
  assert_int_equal(plan.nsignals, 10);
  assert_true(plan.cycle_s >= 60 && plan.cycle_s <= 120);
  char *specs[10];
  for (uint32_t i = 0; i < 10; i++) {
    double sum = 0;
    for (uint32_t s = 0; s < plan.nstages[i]; s++) sum += plan.split_s[i * GW_MAX_STAGES + s];
    assert_true(fabs(sum - plan.cycle_s) < 1e-6);
    assert_true(plan.offset_s[i] >= 0 && plan.offset_s[i] < plan.cycle_s);
    char params[512];
    gw_coord_plan_params(&plan, i, params, sizeof params);
    specs[i] = malloc(600);
    snprintf(specs[i], 600, "fixed:%s", params);
  }
  result r;
  run(sc, (const char *const *)specs, 1, &r, -1);
  double loss = gw_trip_summary_mean(&r.all, r.all.time_loss_s);
  assert_int_equal(r.teleports, 0);
  assert_true(loss < 100); /* the program loses 218.7 s */
  for (uint32_t i = 0; i < 10; i++) free(specs[i]);
  gw_coord_plan_free(&plan);
  gw_scenario_destroy(sc);
}

/* A field that shows what the monitor did not send sends the intersection
** to fail-safe (counted once), and the run still ends with everyone home. */
static void control_loop_catches_a_tampered_field(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  const char *spec = "actuated";
  result r;
  run(sc, &spec, 0, &r, 500);
  assert_int_equal(r.failsafes, 1);
  assert_int_equal(r.teleports, 0);
  assert_int_equal(r.all.n, 2182);
  run(sc, &spec, 0, &r, -1);
  assert_int_equal(r.failsafes, 0);
  gw_scenario_destroy(sc);
}

/* What the loop reads.  A field wrapped so that every lane read is counted
** (no bulk arrays, so each lane goes through lane_counts): actuated reads
** lanes only for groups without a working detector, so on a junction where
** every group has loops it reads none, and a group whose loops have all
** failed is read again, alone, with the lanes feeding its turn bays;
** adaptive reads besides the approach lanes of its turn groups (those
** shown permissive in some stage) and no others, each while its loops are
** occupied or it had a queue; maxpressure, which needs the
** queues, reads its approach and exit lanes. */
static gw_field inner_field;
static uint64_t lane_reads, det_reads;
static uint8_t lane_read[4096];

static double w_time(void *impl) { return inner_field.ops->time(impl); }
static int w_lane_counts(void *impl, uint32_t lane, double *v, double *h) {
  lane_reads++;
  if (lane < sizeof lane_read) lane_read[lane] = 1;
  return inner_field.ops->lane_counts(impl, lane, v, h);
}
static uint32_t w_detector_count(void *impl) { return inner_field.ops->detector_count(impl); }
static uint32_t w_detector_lane(void *impl, uint32_t d) {
  return inner_field.ops->detector_lane(impl, d);
}
static int w_detector(void *impl, uint32_t d, gw_detector_reading *out) {
  det_reads++;
  return inner_field.ops->detector(impl, d, out);
}
static int w_add_detector(void *impl, uint32_t lane, double pos, uint32_t *d) {
  return inner_field.ops->add_detector(impl, lane, pos, d);
}
static int w_take_control(void *impl, uint32_t tls) {
  return inner_field.ops->take_control(impl, tls);
}
static int w_set_state(void *impl, uint32_t tls, const char *st) {
  return inner_field.ops->set_state(impl, tls, st);
}
static const char *w_get_state(void *impl, uint32_t tls) {
  return inner_field.ops->get_state(impl, tls);
}
static const gw_field_ops counting_ops = {
    "counting",      w_time,      w_lane_counts,  w_detector_count,
    w_detector_lane, w_detector,  w_add_detector, w_take_control,
    w_set_state,     w_get_state, NULL,           NULL};

static uint64_t lanes_read(gw_scenario *sc, const char *spec, int fail_group0) {
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, NULL, &sim), GW_OK);
  gw_field_from_sim(sim, &inner_field);
  assert_non_null(inner_field.ops->add_detector);
  gw_field field = {&counting_ops, inner_field.impl};
  gw_control *ctl;
  gw_error err;
  if (gw_control_create(sc->net, &field, spec, NULL, NULL, &ctl, &err)) fail_msg("%s", err.msg);
  if (fail_group0) { /* every loop of signal 0's group 0 fails */
    uint32_t det[64], group[64], n;
    assert_int_equal(gw_control_detectors(ctl, 0, 64, det, group, &n), GW_OK);
    for (uint32_t k = 0; k < n; k++)
      if (group[k] == 0) assert_int_equal(gw_control_detector_set_failed(ctl, det[k], 1), GW_OK);
  }
  lane_reads = det_reads = 0;
  memset(lane_read, 0, sizeof lane_read);
  for (int k = 0; k < 60; k++) {
    assert_int_equal(gw_control_step(ctl), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  return lane_reads;
}

/* clearance=program reaches the monitor's model at start; keys that shape
** the model are refused when a running signal's controller changes. */
static void control_loop_takes_model_keys_at_start_only(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, NULL, &sim), GW_OK);
  gw_field field;
  gw_field_from_sim(sim, &field);
  gw_control *ctl;
  gw_error err;
  if (gw_control_create(sc->net, &field, "actuated:clearance=program", NULL, NULL, &ctl, &err))
    fail_msg("%s", err.msg);
  uint32_t t = gw_net_find_tls(sc->net, "B1");
  gw_control_node nd;
  assert_int_equal(gw_control_node_get(ctl, t, &nd), GW_OK);
  uint32_t ns = nd.model->group_of_link[1], ew = nd.model->group_of_link[5];
  assert_int_equal(nd.model->conflict[ns][ew], GW_CONFLICT_HARD);
  assert_true(nd.model->allred_s[ns][ew] == 0);
  assert_int_equal(gw_control_set_controller(ctl, t, "adaptive:allred=1", &err), GW_ESTATE);
  assert_non_null(strstr(err.msg, "allred"));
  assert_int_equal(gw_control_set_controller(ctl, t, "maxpressure:clearance=geometry", &err),
                   GW_ESTATE);
  assert_non_null(strstr(err.msg, "clearance"));
  assert_int_equal(gw_control_set_controller(ctl, t, "adaptive:gap=3", &err), GW_OK);
  assert_int_equal(gw_controller_check_runtime("fixed", &err), GW_OK);
  assert_int_equal(gw_controller_check_runtime("nonesuch", &err), GW_ENOTFOUND);
  gw_control_destroy(ctl);
  /* A bad clearance value names itself. */
  assert_int_equal(
      gw_control_create(sc->net, &field, "actuated:clearance=some", NULL, NULL, &ctl, &err),
      GW_EINVAL);
  assert_non_null(strstr(err.msg, "clearance"));
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

static void control_loop_reads_lanes_only_where_needed(void **state) {
  (void)state;
  gw_scenario *sc = load("grid4x4");
  assert_int_equal(lanes_read(sc, "actuated", 0), 0);
  assert_true(det_reads > 0);
  /* Controllers that read no detector cost no loop either. */
  assert_int_equal(lanes_read(sc, "fixed", 0), 0);
  assert_int_equal(det_reads, 0);
  assert_true(lanes_read(sc, "mp-waiting", 0) > 0);
  assert_int_equal(det_reads, 0);
  gw_signal_model m;
  gw_error err;
  /* adaptive: the turn groups' approach lanes of every signal. */
  assert_true(lanes_read(sc, "adaptive", 0) > 0);
  uint8_t want[sizeof lane_read] = {0};
  uint32_t nturn = 0;
  for (uint32_t t = 0; t < gw_net_tls_count(sc->net); t++) {
    assert_int_equal(gw_signal_model_init(&m, sc->net, t, &err), GW_OK);
    uint64_t turn = 0;
    for (uint32_t s = 0; s < m.nstages; s++) turn |= m.stages[s].green & m.stages[s].minor;
    for (uint32_t g = 0; g < m.ngroups; g++)
      for (uint32_t k = 0; (turn >> g & 1) && k < m.groups[g].nin; k++) {
        nturn += !want[m.groups[g].in_lanes[k]];
        want[m.groups[g].in_lanes[k]] = 1;
      }
  }
  assert_true(nturn > 0);
  for (uint32_t l = 0; l < sizeof want; l++) assert_true(!lane_read[l] || want[l]);
  /* Signal 0's group 0 without loops: its approach lanes and the lanes
  ** feeding them, and only those. */
  assert_true(lanes_read(sc, "actuated", 1) > 0);
  assert_int_equal(gw_signal_model_init(&m, sc->net, 0, &err), GW_OK);
  uint32_t nread = 0;
  for (uint32_t l = 0; l < sizeof lane_read; l++) nread += lane_read[l];
  assert_int_equal(nread, m.groups[0].nin + m.groups[0].nup);
  for (uint32_t k = 0; k < m.groups[0].nin; k++) assert_true(lane_read[m.groups[0].in_lanes[k]]);
  for (uint32_t k = 0; k < m.groups[0].nup; k++) assert_true(lane_read[m.groups[0].up_lanes[k]]);
  assert_true(lanes_read(sc, "maxpressure", 0) > 0);
  gw_scenario_destroy(sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(model_of_a_grid_junction),
      cmocka_unit_test(program_clearance),
      cmocka_unit_test(control_loop_takes_model_keys_at_start_only),
      cmocka_unit_test(fixed_runs_the_program),
      cmocka_unit_test(fixed_follows_its_schedule),
      cmocka_unit_test(coordination_makes_a_green_wave),
      cmocka_unit_test(control_loop_catches_a_tampered_field),
      cmocka_unit_test(control_loop_reads_lanes_only_where_needed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

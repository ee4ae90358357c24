/*
** test_cityflow.c -- CityFlow scenarios: the importer, the CityFlow
** dynamics, the literature's metrics and baselines.
**
** Why these tests: the importer must build the same network CityFlow reads
** (lane ids, one signal link per lane link, a program per light phases) and
** reject bad files with the file, the JSON path and the reason; the metrics
** must follow their definitions exactly, which is checked on one vehicle
** whose trajectory is computed here independently from CityFlow's formulas
** (free road, all green: speed min(2t, 11.111), trapezoidal positions); the
** baselines must run the phase sequences the literature describes (fixed
** time: 30 s of the first phase, then 5 s of change and 55 s of each next
** one); everything must be deterministic.  The 1x1 grid is committed under
** tests/data/cityflow/1x1 (written by scripts/gen-cityflow.py); the 1x3 and
** 2x2 grids are generated into a temporary folder when python3 is there.
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

#include "greenwave/cityflow.h"
#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/net.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

#define DATA GW_SCENARIOS "/../tests/data/cityflow"
#define GEN GW_SCENARIOS "/../scripts/gen-cityflow.py"

/* One signalised junction between two roads of one lane, 200 m each, one
** straight road link, one phase in which it is green. */
static const char straight_net[] =
    "{\"intersections\":["
    "{\"id\":\"W\",\"point\":{\"x\":0,\"y\":0},\"virtual\":true,\"roads\":[\"a\"]},"
    "{\"id\":\"C\",\"point\":{\"x\":200,\"y\":0},\"virtual\":false,\"width\":10,"
    "\"roads\":[\"a\",\"b\"],\"roadLinks\":[{\"type\":\"go_straight\",\"startRoad\":\"a\","
    "\"endRoad\":\"b\",\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":0}]}],"
    "\"trafficLight\":{\"lightphases\":[{\"time\":30,\"availableRoadLinks\":[0]}]}},"
    "{\"id\":\"E\",\"point\":{\"x\":400,\"y\":0},\"virtual\":true,\"roads\":[\"b\"]}],"
    "\"roads\":["
    "{\"id\":\"a\",\"startIntersection\":\"W\",\"endIntersection\":\"C\","
    "\"points\":[{\"x\":0,\"y\":0},{\"x\":200,\"y\":0}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]},"
    "{\"id\":\"b\",\"startIntersection\":\"C\",\"endIntersection\":\"E\","
    "\"points\":[{\"x\":200,\"y\":0},{\"x\":400,\"y\":0}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]}]}";

static const char one_vehicle[] =
    "[{\"vehicle\":{\"length\":5,\"width\":2,\"maxPosAcc\":2,\"maxNegAcc\":4.5,"
    "\"usualPosAcc\":2,\"usualNegAcc\":4.5,\"minGap\":2.5,\"maxSpeed\":11.111,"
    "\"headwayTime\":2},\"route\":[\"a\",\"b\"],\"interval\":5,\"startTime\":0,"
    "\"endTime\":0}]";

static void load_straight(gw_net **net, gw_demand **d) {
  gw_error err = {0, {0}};
  int rc =
      gw_net_load_cityflow_buffer("straight.json", straight_net, strlen(straight_net), net, &err);
  if (rc) fail_msg("%s", err.msg);
  rc = gw_demand_load_cityflow_buffer(*net, "one.json", one_vehicle, strlen(one_vehicle), 3600, d,
                                      &err);
  if (rc) fail_msg("%s", err.msg);
}

/* ---- importer ----------------------------------------------------------- */

static void test_import_1x1(void **state) {
  (void)state;
  gw_error err = {0, {0}};
  gw_scenario *sc;
  gw_cityflow_settings st;
  int rc = gw_scenario_load_cityflow(DATA "/1x1/config.json", -1, &sc, &st, &err);
  if (rc) fail_msg("%s", err.msg);
  const gw_net *net = sc->net;
  /* 4 entry + 4 exit roads of 3 lanes; 12 road links x 3 lane links. */
  assert_int_equal(gw_net_tls_count(net), 1);
  assert_int_equal(gw_net_link_count(net), 36);
  assert_int_equal(gw_net_lane_count(net), 8 * 3 + 36);
  assert_int_not_equal(gw_net_find_lane(net, "road_0_1_0_0"), GW_NONE);
  assert_int_not_equal(gw_net_find_lane(net, "road_1_1_0_2"), GW_NONE);
  assert_int_equal(gw_net_tls_phase_count(net, 0), 5);
  double dur;
  const char *s;
  assert_int_equal(gw_net_tls_phase(net, 0, 0, &dur, &s), GW_OK);
  assert_true(fabs(dur - 5) < 1e-9);
  assert_int_equal(strlen(s), 36);
  assert_true(fabs(st.transition_s - 5) < 1e-9);
  assert_true(fabs(sc->end_s - 3600) < 1e-9);
  assert_true(fabs(sc->step_s - 1) < 1e-9);
  /* Every lane keeps its width and speed; a lane link starts at its lane. */
  gw_lane_info li;
  gw_net_lane_info(net, gw_net_find_lane(net, "road_0_1_0_1"), &li);
  assert_true(fabs(li.speed_mps - 11.111) < 1e-9);
  assert_true(li.length_m > 280 && li.length_m < 300);
  /* The signal model: phase k is stage k, groups never green together
  ** conflict, the right turns never conflict. */
  gw_signal_model m;
  if (gw_signal_model_init(&m, net, 0, &err)) fail_msg("%s", err.msg);
  assert_int_equal(m.nstages, 5);
  for (uint32_t k = 0; k < 5; k++) {
    char buf[300];
    gw_signal_model_stage_state(&m, k, buf);
    gw_net_tls_phase(net, 0, k, &dur, &s);
    assert_string_equal(buf, s);
  }
  assert_true(gw_demand_trip_count(sc->demand) > 100);
  gw_scenario_destroy(sc);
}

static void expect_error(const char *net_json, const char *flow_json, const char *msg) {
  gw_error err = {0, {0}};
  gw_net *net = NULL;
  int rc = gw_net_load_cityflow_buffer("roadnet.json", net_json, strlen(net_json), &net, &err);
  if (!flow_json) {
    assert_true(rc < 0);
    if (!strstr(err.msg, msg)) fail_msg("got '%s', expected '%s'", err.msg, msg);
    return;
  }
  assert_int_equal(rc, GW_OK);
  gw_demand *d = NULL;
  rc = gw_demand_load_cityflow_buffer(net, "flow.json", flow_json, strlen(flow_json), 3600, &d,
                                      &err);
  assert_true(rc < 0);
  if (!strstr(err.msg, msg)) fail_msg("got '%s', expected '%s'", err.msg, msg);
  gw_net_destroy(net);
}

static char *replace(const char *s, const char *from, const char *to) {
  const char *p = strstr(s, from);
  assert_non_null(p);
  size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
  char *out = malloc(n);
  snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
  return out;
}

static void test_import_errors(void **state) {
  (void)state;
  char *bad = replace(straight_net, "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]}]}",
                      "\"lanes\":[{\"width\":3,\"maxSpeed\":-1}]}]}");
  expect_error(bad, NULL, "roadnet.json: roads[1].lanes[0]: maxSpeed must be a positive number");
  free(bad);
  bad = replace(straight_net, "\"endRoad\":\"b\"", "\"endRoad\":\"zz\"");
  expect_error(bad, NULL, "roadnet.json: intersections[1].roadLinks[0]: road 'zz' is not defined");
  free(bad);
  bad = replace(straight_net, "\"availableRoadLinks\":[0]", "\"availableRoadLinks\":[3]");
  expect_error(bad, NULL, "intersections[1].trafficLight.lightphases[0]: availableRoadLinks[0]");
  free(bad);
  bad = replace(straight_net, "\"endLaneIndex\":0", "\"endLaneIndex\":2");
  expect_error(bad, NULL, "laneLinks[0]: endLaneIndex 2: road 'b' has 1 lanes");
  free(bad);
  expect_error("{\"intersections\":[", NULL, "roadnet.json:1: malformed JSON");
  bad = replace(one_vehicle, "[\"a\",\"b\"]", "[\"a\",\"nowhere\"]");
  expect_error(straight_net, bad, "flow.json: [0].route[1]: road 'nowhere' is not in the roadnet");
  free(bad);
  bad = replace(one_vehicle, "\"interval\":5", "\"interval\":0");
  expect_error(straight_net, bad, "flow.json: [0]: interval must be a positive number");
  free(bad);
  bad = replace(one_vehicle, "[\"a\",\"b\"]", "[\"b\",\"a\"]");
  expect_error(straight_net, bad, "flow.json: [0]: route: no path from road 'b' to road 'a'");
  free(bad);
  bad = replace(one_vehicle, "\"maxNegAcc\":4.5,", "");
  expect_error(straight_net, bad, "flow.json: [0].vehicle: 'maxNegAcc' is missing");
  free(bad);
}

/* A route given by its two ends is completed by the shortest path, and a
** flow emits at startTime, every interval, up to endTime inclusive. */
static void test_routes_and_flows(void **state) {
  (void)state;
  gw_error err = {0, {0}};
  gw_scenario *sc;
  if (gw_scenario_load_cityflow(DATA "/1x1/config.json", 600, &sc, NULL, &err))
    fail_msg("%s", err.msg);
  static const char flow[] =
      "[{\"vehicle\":{\"length\":5,\"width\":2,\"maxPosAcc\":2,\"maxNegAcc\":4.5,"
      "\"usualPosAcc\":2,\"usualNegAcc\":4.5,\"minGap\":2.5,\"maxSpeed\":11.111,"
      "\"headwayTime\":2},\"route\":[\"road_0_1_0\",\"road_1_1_0\"],\"interval\":2.5,"
      "\"startTime\":3,\"endTime\":10}]";
  gw_demand *d;
  if (gw_demand_load_cityflow_buffer(sc->net, "flow.json", flow, strlen(flow), 600, &d, &err))
    fail_msg("%s", err.msg);
  /* 3, 3 + ceil(2.5) = 6, 3 + 5 = 8, 3 + ceil(7.5) = 11 > 10: three vehicles. */
  assert_int_equal(gw_demand_trip_count(d), 3);
  assert_true(fabs(gw_demand_trip(d, 0)->depart_s - 3) < 1e-9);
  assert_true(fabs(gw_demand_trip(d, 1)->depart_s - 6) < 1e-9);
  assert_true(fabs(gw_demand_trip(d, 2)->depart_s - 8) < 1e-9);
  assert_string_equal(gw_demand_trip(d, 0)->id, "flow_0_0");
  const gw_vtype *t = gw_demand_vtype(d, gw_demand_trip(d, 0)->vtype);
  assert_true(fabs(t->accel_mps2 - 2) < 1e-9 && fabs(t->tau_s - 2) < 1e-9 && t->sigma == 0);
  gw_demand_destroy(d);
  gw_scenario_destroy(sc);
}

/* ---- metrics by hand ----------------------------------------------------- */

typedef struct hand {
  int obs_a;    /* steps at whose end the vehicle is on road a */
  int arrive_k; /* step (time) during which it arrives, or -1 */
  int on_a_at_end;
} hand;

/* The vehicle of one_vehicle on straight_net, all green, from CityFlow's
** formulas: v_k = min(v_{k-1} + 2, 11.111), x_k = x_{k-1} + (v_{k-1} + v_k) / 2. */
static hand by_hand(double la, double lvia, double lb, int end) {
  hand h = {0, -1, 0};
  double v = 0, x = 0;
  for (int k = 0; k < end; k++) {
    double vn = v + 2 < 11.111 ? v + 2 : 11.111;
    x += (v + vn) / 2;
    v = vn;
    if (x > la + lvia + lb - 1e-9) {
      h.arrive_k = k;
      return h;
    }
    if (x <= la) h.obs_a++;
  }
  h.on_a_at_end = x <= la;
  return h;
}

static void run_one(double end, gw_cityflow_metrics *m, hand *h) {
  gw_net *net;
  gw_demand *d;
  load_straight(&net, &d);
  gw_lane_info a, via, b;
  gw_net_lane_info(net, gw_net_find_lane(net, "a_0"), &a);
  gw_net_lane_info(net, gw_net_find_lane(net, "b_0"), &b);
  gw_link_info lk;
  gw_net_link_info(net, 0, &lk);
  gw_net_lane_info(net, lk.via[0], &via);
  *h = by_hand(a.length_m, via.length_m, b.length_m, (int)end);
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = end;
  cfg.dynamics = GW_DYNAMICS_CITYFLOW;
  cfg.time_to_teleport_s = 0;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(net, d, &cfg, &sim), GW_OK);
  while (!gw_sim_done(sim)) assert_int_equal(gw_sim_step(sim), GW_OK);
  gw_cityflow_metrics_get(sim, m);
  gw_sim_destroy(sim);
  gw_demand_destroy(d);
  gw_net_destroy(net);
}

static void test_metrics_one_vehicle(void **state) {
  (void)state;
  gw_cityflow_metrics m;
  hand h;
  /* Finished: on road a at the end of steps 0..obs_a-1 (times 1..obs_a),
  ** gone at obs_a + 1: ATT = obs_a.  Engine ATT: created at 0, removed
  ** during step arrive_k, counted at that step's time. */
  run_one(3600, &m, &h);
  assert_true(h.arrive_k > 0);
  assert_int_equal(m.throughput, 1);
  assert_int_equal(m.att_vehicles, 1);
  assert_true(fabs(m.att_s - h.obs_a) < 1e-9);
  assert_true(fabs(m.att_engine_s - h.arrive_k) < 1e-9);
  assert_true(fabs(m.mean_waiting_time_s) < 1e-9); /* speeds are read after each step: 2, 4, ... */
  /* Unfinished, still on road a at the end (10 s): enter at 1, leave at the
  ** end, 10: 9 s; the engine counts end - creation: 10 s. */
  run_one(10, &m, &h);
  assert_int_equal(h.on_a_at_end, 1);
  assert_int_equal(m.throughput, 0);
  assert_true(fabs(m.att_s - 9) < 1e-9);
  assert_true(fabs(m.att_engine_s - 10) < 1e-9);
}

/* ---- baselines ---------------------------------------------------------- */

/* Runs `spec` on the 1x1 grid and returns the lamp strings of the first
** `n` seconds (n * 40 chars). */
static char *lamps(const char *spec, int n, int dynamics) {
  gw_error err = {0, {0}};
  gw_scenario *sc;
  if (gw_scenario_load_cityflow(DATA "/1x1/config.json", n, &sc, NULL, &err))
    fail_msg("%s", err.msg);
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = n;
  cfg.dynamics = dynamics;
  cfg.time_to_teleport_s = 0;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &cfg, &sim), GW_OK);
  gw_field field;
  gw_field_from_sim(sim, &field);
  gw_control *ctl;
  if (gw_control_create(sc->net, &field, spec, NULL, NULL, &ctl, &err)) fail_msg("%s", err.msg);
  char *out = calloc((size_t)n * 40 + 1, 1);
  for (int k = 0; k < n; k++) {
    assert_int_equal(gw_control_step(ctl), GW_OK);
    memcpy(out + (size_t)k * 40, gw_sim_signal_state(sim, 0), 36);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  return out;
}

static const char *phase_state(const gw_net *net, uint32_t p) {
  double d;
  const char *s;
  gw_net_tls_phase(net, 0, p, &d, &s);
  return s;
}

static void test_fixedtime_sequence(void **state) {
  (void)state;
  gw_error err = {0, {0}};
  gw_scenario *sc;
  if (gw_scenario_load_cityflow(DATA "/1x1/config.json", -1, &sc, NULL, &err))
    fail_msg("%s", err.msg);
  /* yellow 3 + all-red 2: the 5 s transition, as the CLI sets it. */
  char *l = lamps("fixedtime:yellow=3,allred=2", 400, GW_DYNAMICS_CITYFLOW);
  struct {
    int from, to, phase; /* phase -1: the change (no phase's lamps) */
  } want[] = {{0, 30, 1},    {30, 35, -1},   {35, 90, 2},   {90, 95, -1},
              {95, 150, 3},  {150, 155, -1}, {155, 210, 4}, {210, 215, -1},
              {215, 270, 1}, {270, 275, -1}, {275, 330, 2}};
  for (size_t w = 0; w < sizeof want / sizeof *want; w++)
    for (int t = want[w].from; t < want[w].to; t++) {
      const char *got = l + (size_t)t * 40;
      if (want[w].phase >= 0) {
        if (strncmp(got, phase_state(sc->net, (uint32_t)want[w].phase), 36))
          fail_msg("t=%d: lamps %.36s, expected phase %d", t, got, want[w].phase);
      } else {
        for (uint32_t p = 1; p < 5; p++)
          if (!strncmp(got, phase_state(sc->net, p), 36))
            fail_msg("t=%d: phase %u shown during the change", t, p);
      }
    }
  free(l);
  /* With no vehicle waiting anywhere, mp-waiting keeps the first phase. */
  l = lamps("mp-waiting:yellow=3,allred=2", 1, GW_DYNAMICS_CITYFLOW);
  assert_memory_equal(l, phase_state(sc->net, 1), 36);
  free(l);
  gw_scenario_destroy(sc);
}

/* Every controller runs on CityFlow input under the monitor, with both
** dynamics, and the run is deterministic. */
static void run_metrics(const char *cfgpath, const char *spec, int dynamics, double end,
                        gw_cityflow_metrics *m, gw_sim_stats *st) {
  gw_error err = {0, {0}};
  gw_scenario *sc;
  if (gw_scenario_load_cityflow(cfgpath, end, &sc, NULL, &err)) fail_msg("%s", err.msg);
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = end;
  cfg.dynamics = dynamics;
  cfg.time_to_teleport_s = 0;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &cfg, &sim), GW_OK);
  gw_field field;
  gw_field_from_sim(sim, &field);
  gw_control *ctl = NULL;
  if (spec && gw_control_create(sc->net, &field, spec, NULL, NULL, &ctl, &err))
    fail_msg("%s: %s", spec, err.msg);
  while (!gw_sim_done(sim)) {
    if (ctl) assert_int_equal(gw_control_step(ctl), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  if (ctl) {
    gw_control_stats cs;
    gw_control_stats_get(ctl, &cs);
    assert_int_equal(cs.failsafes, 0);
    assert_int_equal(cs.refused, 0);
  }
  gw_cityflow_metrics_get(sim, m);
  gw_sim_stats_get(sim, st);
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

static void test_controllers_run(void **state) {
  (void)state;
  static const char *const specs[] = {"fixedtime:yellow=3,allred=2",
                                      "mp-waiting:yellow=3,allred=2",
                                      "sotl",
                                      "fixed",
                                      "actuated",
                                      "maxpressure",
                                      "adaptive",
                                      NULL};
  for (int i = 0; specs[i]; i++)
    for (int dyn = 0; dyn < 2; dyn++) {
      gw_cityflow_metrics a, b;
      gw_sim_stats sa, sb;
      run_metrics(DATA "/1x1/config.json", specs[i], dyn, 600, &a, &sa);
      run_metrics(DATA "/1x1/config.json", specs[i], dyn, 600, &b, &sb);
      assert_memory_equal(&a, &b, sizeof a);
      assert_int_equal(sa.veh_steps, sb.veh_steps);
      if (a.throughput == 0) fail_msg("%s: nobody arrived", specs[i]);
      assert_true(a.att_s > 0 && a.att_engine_s >= a.att_s);
      if (dyn == GW_DYNAMICS_CITYFLOW) assert_int_equal(sa.collisions, 0);
    }
}

/* The generated 1x3 and 2x2 grids, when python3 can write them. */
static void test_generated_grids(void **state) {
  (void)state;
  char dir[] = "/tmp/gw-cityflow-XXXXXX";
  if (!mkdtemp(dir)) skip();
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "python3 %s %s/1x3 --rows 1 --cols 3 --turns >/dev/null 2>&1 && "
           "python3 %s %s/2x2 --rows 2 --cols 2 --turns >/dev/null 2>&1",
           GEN, dir, GEN, dir);
  if (system(cmd) != 0) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    skip();
  }
  struct {
    const char *name;
    uint32_t tls;
  } grids[] = {{"1x3", 3}, {"2x2", 4}};
  for (int g = 0; g < 2; g++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s/config.json", dir, grids[g].name);
    gw_error err = {0, {0}};
    gw_scenario *sc;
    if (gw_scenario_load_cityflow(path, 600, &sc, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(gw_net_tls_count(sc->net), grids[g].tls);
    assert_int_equal(gw_net_link_count(sc->net), grids[g].tls * 36);
    gw_scenario_destroy(sc);
    gw_cityflow_metrics a, b;
    gw_sim_stats sa, sb;
    run_metrics(path, "mp-waiting:yellow=3,allred=2", GW_DYNAMICS_CITYFLOW, 600, &a, &sa);
    run_metrics(path, "mp-waiting:yellow=3,allred=2", GW_DYNAMICS_CITYFLOW, 600, &b, &sb);
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.throughput > 0);
  }
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) {
  }
}

/* ---- crossing points ------------------------------------------------------ */

/* A through movement a -> b (west to east) and a left turn c -> s (from the
** east to the south) that cross inside C, green together. */
static const char cross_net[] =
    "{\"intersections\":["
    "{\"id\":\"W\",\"point\":{\"x\":0,\"y\":0},\"virtual\":true,\"roads\":[\"a\"]},"
    "{\"id\":\"E\",\"point\":{\"x\":400,\"y\":0},\"virtual\":true,\"roads\":[\"b\",\"c\"]},"
    "{\"id\":\"S\",\"point\":{\"x\":200,\"y\":-200},\"virtual\":true,\"roads\":[\"s\"]},"
    "{\"id\":\"C\",\"point\":{\"x\":200,\"y\":0},\"virtual\":false,\"width\":10,"
    "\"roads\":[\"a\",\"b\",\"c\",\"s\"],\"roadLinks\":["
    "{\"type\":\"go_straight\",\"startRoad\":\"a\",\"endRoad\":\"b\","
    "\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":0}]},"
    "{\"type\":\"turn_left\",\"startRoad\":\"c\",\"endRoad\":\"s\","
    "\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":0}]}],"
    "\"trafficLight\":{\"lightphases\":[{\"time\":30,\"availableRoadLinks\":[0,1]}]}}],"
    "\"roads\":["
    "{\"id\":\"a\",\"startIntersection\":\"W\",\"endIntersection\":\"C\","
    "\"points\":[{\"x\":0,\"y\":0},{\"x\":200,\"y\":0}],\"lanes\":[{\"width\":3,\"maxSpeed\":11."
    "111}]},"
    "{\"id\":\"b\",\"startIntersection\":\"C\",\"endIntersection\":\"E\","
    "\"points\":[{\"x\":200,\"y\":0},{\"x\":400,\"y\":0}],\"lanes\":[{\"width\":3,\"maxSpeed\":11."
    "111}]},"
    "{\"id\":\"c\",\"startIntersection\":\"E\",\"endIntersection\":\"C\","
    "\"points\":[{\"x\":400,\"y\":0},{\"x\":200,\"y\":0}],\"lanes\":[{\"width\":3,\"maxSpeed\":11."
    "111}]},"
    "{\"id\":\"s\",\"startIntersection\":\"C\",\"endIntersection\":\"S\","
    "\"points\":[{\"x\":200,\"y\":0},{\"x\":200,\"y\":-200}],\"lanes\":[{\"width\":3,\"maxSpeed\":"
    "11.111}]}"
    "]}";

#define CF_VEH                                                                     \
  "{\"length\":5,\"width\":2,\"maxPosAcc\":2,\"maxNegAcc\":4.5,\"usualPosAcc\":2," \
  "\"usualNegAcc\":4.5,\"minGap\":2.5,\"maxSpeed\":11.111,\"headwayTime\":2}"

typedef struct arrivals {
  double t[4];
} arrivals;

static void on_arrival(void *ud, const gw_trip_record *rec) {
  arrivals *a = ud;
  if (rec->index < 4) a->t[rec->index] = rec->arrival_s;
}

/* Arrival times of the flows in `flow_json` on the roadnet `net_json`. */
static arrivals run_net(const char *net_json, const char *flow_json, gw_sim_stats *st) {
  gw_net *net;
  gw_demand *d;
  gw_error err = {0, {0}};
  if (gw_net_load_cityflow_buffer("net.json", net_json, strlen(net_json), &net, &err))
    fail_msg("%s", err.msg);
  if (gw_demand_load_cityflow_buffer(net, "f.json", flow_json, strlen(flow_json), 3600, &d, &err))
    fail_msg("%s", err.msg);
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = 600;
  cfg.dynamics = GW_DYNAMICS_CITYFLOW;
  cfg.time_to_teleport_s = 0;
  gw_sim *sim;
  assert_int_equal(gw_sim_create(net, d, &cfg, &sim), GW_OK);
  arrivals a = {{-1, -1, -1, -1}};
  gw_sim_on_trip(sim, on_arrival, &a);
  while (!gw_sim_done(sim)) assert_int_equal(gw_sim_step(sim), GW_OK);
  gw_sim_stats_get(sim, st);
  gw_sim_destroy(sim);
  gw_demand_destroy(d);
  gw_net_destroy(net);
  return a;
}

/* Arrival times of the flows in `flow_json` on cross_net. */
static arrivals run_cross(const char *flow_json, gw_sim_stats *st) {
  return run_net(cross_net, flow_json, st);
}

/* CityFlow's Cross: a left turn yields to a through movement reaching the
** crossing point at the same time (straight 3 > left 2), the through
** vehicle does not slow down; each alone moves freely. */
static void test_cross_left_yields(void **state) {
  (void)state;
  gw_sim_stats st;
  arrivals straight = run_cross("[{\"vehicle\":" CF_VEH
                                ",\"route\":[\"a\",\"b\"],"
                                "\"interval\":5,\"startTime\":0,\"endTime\":0}]",
                                &st);
  arrivals left = run_cross("[{\"vehicle\":" CF_VEH
                            ",\"route\":[\"c\",\"s\"],"
                            "\"interval\":5,\"startTime\":0,\"endTime\":0}]",
                            &st);
  arrivals both = run_cross("[{\"vehicle\":" CF_VEH
                            ",\"route\":[\"a\",\"b\"],"
                            "\"interval\":5,\"startTime\":0,\"endTime\":0},"
                            "{\"vehicle\":" CF_VEH
                            ",\"route\":[\"c\",\"s\"],"
                            "\"interval\":5,\"startTime\":0,\"endTime\":0}]",
                            &st);
  assert_true(straight.t[0] > 0 && left.t[0] > 0);
  assert_true(fabs(both.t[0] - straight.t[0]) < 1e-9); /* the through vehicle keeps its way */
  assert_true(both.t[1] > left.t[0] + 0.5);            /* the left turn waited */
  assert_int_equal(st.collisions, 0);
}

/* The waiting buffer: vehicles due while the first lane is occupied wait
** and enter one per step once the last one is further than its length plus
** minGap (5 + 2.5 m): from rest at 2 m/s^2 it is at 1, 4, 9 m after steps
** 0, 1, 2, so the second of two vehicles due at 0 enters at step 3 and
** arrives exactly 3 s after the first. */
static void test_waiting_buffer(void **state) {
  (void)state;
  gw_sim_stats st;
  arrivals a = run_cross("[{\"vehicle\":" CF_VEH
                         ",\"route\":[\"a\",\"b\"],"
                         "\"interval\":1,\"startTime\":0,\"endTime\":0},"
                         "{\"vehicle\":" CF_VEH
                         ",\"route\":[\"a\",\"b\"],"
                         "\"interval\":1,\"startTime\":0,\"endTime\":0}]",
                         &st);
  assert_true(a.t[0] > 0);
  assert_true(fabs(a.t[1] - a.t[0] - 3) < 1e-9);
  assert_int_equal(st.collisions, 0);
}

/* ---- vehicles that must change lanes -------------------------------------- */

/* Two parallel one-lane roads z1, z2 enter the two lanes of road a at W
** (z1 its outer lane 1, z2 its inner lane 0); at C lane 0 leads only
** straight on to b, lane 1 only right to s.  Everything is green. */
static const char swap_net[] =
    "{\"intersections\":["
    "{\"id\":\"Z1\",\"point\":{\"x\":-200,\"y\":-3},\"virtual\":true,\"roads\":[\"z1\"]},"
    "{\"id\":\"Z2\",\"point\":{\"x\":-200,\"y\":0},\"virtual\":true,\"roads\":[\"z2\"]},"
    "{\"id\":\"W\",\"point\":{\"x\":0,\"y\":0},\"virtual\":false,\"width\":5,"
    "\"roads\":[\"z1\",\"z2\",\"a\"],\"roadLinks\":["
    "{\"type\":\"go_straight\",\"startRoad\":\"z1\",\"endRoad\":\"a\","
    "\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":1}]},"
    "{\"type\":\"go_straight\",\"startRoad\":\"z2\",\"endRoad\":\"a\","
    "\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":0}]}],"
    "\"trafficLight\":{\"lightphases\":[{\"time\":30,\"availableRoadLinks\":[0,1]}]}},"
    "{\"id\":\"C\",\"point\":{\"x\":150,\"y\":0},\"virtual\":false,\"width\":10,"
    "\"roads\":[\"a\",\"b\",\"s\"],\"roadLinks\":["
    "{\"type\":\"go_straight\",\"startRoad\":\"a\",\"endRoad\":\"b\","
    "\"laneLinks\":[{\"startLaneIndex\":0,\"endLaneIndex\":0}]},"
    "{\"type\":\"turn_right\",\"startRoad\":\"a\",\"endRoad\":\"s\","
    "\"laneLinks\":[{\"startLaneIndex\":1,\"endLaneIndex\":0}]}],"
    "\"trafficLight\":{\"lightphases\":[{\"time\":30,\"availableRoadLinks\":[0,1]}]}},"
    "{\"id\":\"E\",\"point\":{\"x\":350,\"y\":0},\"virtual\":true,\"roads\":[\"b\"]},"
    "{\"id\":\"S\",\"point\":{\"x\":150,\"y\":-200},\"virtual\":true,\"roads\":[\"s\"]}],"
    "\"roads\":["
    "{\"id\":\"z1\",\"startIntersection\":\"Z1\",\"endIntersection\":\"W\","
    "\"points\":[{\"x\":-200,\"y\":-3},{\"x\":0,\"y\":-3}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]},"
    "{\"id\":\"z2\",\"startIntersection\":\"Z2\",\"endIntersection\":\"W\","
    "\"points\":[{\"x\":-200,\"y\":0},{\"x\":0,\"y\":0}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]},"
    "{\"id\":\"a\",\"startIntersection\":\"W\",\"endIntersection\":\"C\","
    "\"points\":[{\"x\":0,\"y\":0},{\"x\":150,\"y\":0}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111},{\"width\":3,\"maxSpeed\":11.111}]},"
    "{\"id\":\"b\",\"startIntersection\":\"C\",\"endIntersection\":\"E\","
    "\"points\":[{\"x\":150,\"y\":0},{\"x\":350,\"y\":0}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]},"
    "{\"id\":\"s\",\"startIntersection\":\"C\",\"endIntersection\":\"S\","
    "\"points\":[{\"x\":150,\"y\":0},{\"x\":150,\"y\":-200}],"
    "\"lanes\":[{\"width\":3,\"maxSpeed\":11.111}]}]}";

/* Two vehicles that must swap lanes, side by side from the start: the one
** on z1 lands on a's lane 1 but goes straight on (lane 0), the one on z2
** lands on lane 0 but turns right (lane 1).  Neither finds a gap while the
** other is alongside; as CityFlow's forced lane change, both stop where
** they still have room to change, the one no changer outranks drives on
** to the lane end, changes in front of the other, which then changes
** behind it.  Without that, both stop side by side at the lane end and
** neither ever arrives. */
static void test_forced_swap(void **state) {
  (void)state;
  gw_sim_stats st;
  arrivals a = run_net(swap_net,
                       "[{\"vehicle\":" CF_VEH
                       ",\"route\":[\"z1\",\"a\",\"b\"],"
                       "\"interval\":5,\"startTime\":0,\"endTime\":0},"
                       "{\"vehicle\":" CF_VEH
                       ",\"route\":[\"z2\",\"a\",\"s\"],"
                       "\"interval\":5,\"startTime\":0,\"endTime\":0}]",
                       &st);
  assert_true(a.t[0] > 0);
  assert_true(a.t[1] > 0);
  assert_int_equal(st.collisions, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_1x1),         cmocka_unit_test(test_import_errors),
      cmocka_unit_test(test_routes_and_flows),   cmocka_unit_test(test_metrics_one_vehicle),
      cmocka_unit_test(test_fixedtime_sequence), cmocka_unit_test(test_controllers_run),
      cmocka_unit_test(test_generated_grids),    cmocka_unit_test(test_cross_left_yields),
      cmocka_unit_test(test_waiting_buffer),     cmocka_unit_test(test_forced_swap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

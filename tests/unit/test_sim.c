/*
** test_sim.c -- the simulator on small synthetic roads and on grid4x4.
**
** Why these tests: the simulator's promises are physical (a vehicle stops
** before a red light, nobody overlaps, a queue stands at minGap, a left
** turner gives way) and contractual (signal offsets as SUMO runs them,
** insertion delays when a lane is full, bit-for-bit determinism).  Each is
** checked on the smallest network that shows it: a straight road of two
** edges through one junction, written as SUMO XML into a temporary folder
** and loaded through gw_scenario_load_sumocfg.  Vehicle types use sigma 0
** and speedDev 0 so that every run is exact.  The grid4x4 scenario then
** checks determinism and that every vehicle arrives without collisions.
** Two networks of tests/data/sim/ check the junction rules: opposing
** permissive left turns that must not lock, and a merge of two green links
** that must not overlap.
** GW_TEST_TRACE=1 in the environment prints the trajectories of (a) and (e).
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

#include "greenwave/demand.h"
#include "greenwave/metrics.h"
#include "greenwave/net.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

#define GRID_CFG GW_SCENARIOS "/grid4x4/grid4x4.sumocfg"
#define GRID_NET GW_SCENARIOS "/grid4x4/grid4x4.net.xml"

/* An exact passenger car: no dawdling, no speed spread. */
#define VTYPE_EXACT                                                                            \
  "  <vType id=\"exact\" length=\"5\" minGap=\"2.5\" accel=\"2.6\" decel=\"4.5\" sigma=\"0\" " \
  "tau=\"1\" speedFactor=\"1\" speedDev=\"0\"/>\n"

/* ---- building scenarios ------------------------------------------------- */

typedef struct road {
  double l1, li, l2; /* lengths of e1, the internal lane, e2 */
  int tls;           /* 1: J1 is a traffic light running `phases` */
  double offset;
  const char *phases; /* <phase> elements */
} road;

static char g_dir[64];

static void write_file(const char *name, const char *text) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* J0 --e1--> J1 --e2--> J2, one lane at 13.89 m/s, with an internal lane. */
static void write_road(const road *r) {
  static char net[8192];
  char tl[2048] = "", conn_tl[64] = "";
  if (r->tls) {
    snprintf(tl, sizeof tl,
             "  <tlLogic id=\"J1\" type=\"static\" programID=\"0\" offset=\"%.2f\">\n%s"
             "  </tlLogic>\n",
             r->offset, r->phases);
    snprintf(conn_tl, sizeof conn_tl, " tl=\"J1\" linkIndex=\"0\"");
  }
  double x1 = r->l1, x2 = r->l1 + r->li, x3 = x2 + r->l2;
  snprintf(
      net, sizeof net,
      "<?xml version=\"1.0\"?>\n<net version=\"1.9\">\n"
      "  <edge id=\":J1_0\" function=\"internal\">\n"
      "    <lane id=\":J1_0_0\" index=\"0\" speed=\"13.89\" length=\"%.2f\" shape=\"%.2f,0 "
      "%.2f,0\"/>\n"
      "  </edge>\n"
      "  <edge id=\"e1\" from=\"J0\" to=\"J1\" priority=\"-1\">\n"
      "    <lane id=\"e1_0\" index=\"0\" speed=\"13.89\" length=\"%.2f\" shape=\"0,0 %.2f,0\"/>\n"
      "  </edge>\n"
      "  <edge id=\"e2\" from=\"J1\" to=\"J2\" priority=\"-1\">\n"
      "    <lane id=\"e2_0\" index=\"0\" speed=\"13.89\" length=\"%.2f\" shape=\"%.2f,0 "
      "%.2f,0\"/>\n"
      "  </edge>\n"
      "%s"
      "  <junction id=\"J0\" type=\"dead_end\" x=\"0\" y=\"0\" incLanes=\"\" intLanes=\"\"/>\n"
      "  <junction id=\"J1\" type=\"%s\" x=\"%.2f\" y=\"0\" incLanes=\"e1_0\" "
      "intLanes=\":J1_0_0\">\n"
      "    <request index=\"0\" response=\"0\" foes=\"0\" cont=\"0\"/>\n"
      "  </junction>\n"
      "  <junction id=\"J2\" type=\"dead_end\" x=\"%.2f\" y=\"0\" incLanes=\"e2_0\" "
      "intLanes=\"\"/>\n"
      "  <connection from=\"e1\" to=\"e2\" fromLane=\"0\" toLane=\"0\" via=\":J1_0_0\"%s dir=\"s\" "
      "state=\"%s\"/>\n"
      "  <connection from=\":J1_0\" to=\"e2\" fromLane=\"0\" toLane=\"0\" dir=\"s\" state=\"M\"/>\n"
      "</net>\n",
      r->li, x1, x2, r->l1, x1, r->l2, x2, x3, tl, r->tls ? "traffic_light" : "priority", x1, x3,
      conn_tl, r->tls ? "O" : "M");
  write_file("road.net.xml", net);
}

/* Writes the configuration (routes may be NULL) and loads it. */
static gw_scenario *load_scenario(const char *routes) {
  char cfg[1024];
  if (routes) write_file("road.rou.xml", routes);
  snprintf(cfg, sizeof cfg,
           "<configuration>\n  <input>\n    <net-file value=\"road.net.xml\"/>\n%s  </input>\n"
           "</configuration>\n",
           routes ? "    <route-files value=\"road.rou.xml\"/>\n" : "");
  write_file("road.sumocfg", cfg);
  char path[128];
  snprintf(path, sizeof path, "%s/road.sumocfg", g_dir);
  gw_scenario *sc = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_scenario_load_sumocfg(path, &sc, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return sc;
}

static gw_sim *make_sim(const gw_scenario *sc, double step, uint64_t seed) {
  gw_sim_config c;
  gw_sim_config_defaults(&c);
  c.step_s = step;
  c.seed = seed;
  gw_sim *sim = NULL;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &c, &sim), 0);
  return sim;
}

/* Trip records, copied out of the callback. */
typedef struct rec {
  char id[32];
  gw_trip_record r;
} rec;
typedef struct recs {
  rec *a;
  size_t n, cap;
} recs;

static void on_trip(void *ud, const gw_trip_record *r) {
  recs *rs = ud;
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? rs->cap * 2 : 64;
    rs->a = realloc(rs->a, rs->cap * sizeof *rs->a);
  }
  rec *x = &rs->a[rs->n++];
  snprintf(x->id, sizeof x->id, "%s", r->id);
  x->r = *r;
  x->r.id = x->r.vtype = NULL; /* borrowed for the call only; the id is in x->id */
}

static const gw_trip_record *rec_of(const recs *rs, const char *id) {
  for (size_t i = 0; i < rs->n; i++)
    if (!strcmp(rs->a[i].id, id)) return &rs->a[i].r;
  return NULL;
}

/* Position of a vehicle's front along the straight road. */
static double road_pos(const gw_net *net, const road *r, const gw_vehicle_view *v) {
  if (v->lane == gw_net_find_lane(net, "e1_0")) return v->pos_m;
  if (v->lane == gw_net_find_lane(net, ":J1_0_0")) return r->l1 + v->pos_m;
  assert_int_equal(v->lane, gw_net_find_lane(net, "e2_0"));
  return r->l1 + r->li + v->pos_m;
}

/* Checks that no two vehicles on the road overlap: sorted by position,
** each follower's front stays behind its leader's back.  Returns the
** smallest gap between them (1e9 with fewer than two vehicles). */
static double min_road_gap(const gw_sim *sim, const gw_net *net, const road *r, uint32_t nveh,
                           double length) {
  double pos[64];
  uint32_t n = 0;
  for (uint32_t i = 0; i < nveh && n < 64; i++) {
    gw_vehicle_view v;
    if (gw_sim_vehicle(sim, i, &v) == GW_OK) pos[n++] = road_pos(net, r, &v);
  }
  double min = 1e9;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < n; j++) {
      if (i == j || pos[j] > pos[i]) continue;
      if (pos[j] == pos[i]) fail_msg("two vehicles at %.17g m", pos[i]);
      /* j is behind i: the nearest such pair gives the gap. */
      int nearest = 1;
      for (uint32_t k = 0; k < n; k++)
        if (k != i && k != j && pos[k] < pos[i] && pos[k] > pos[j]) nearest = 0;
      if (nearest && pos[i] - length - pos[j] < min) min = pos[i] - length - pos[j];
    }
  return min;
}

static int setup(void **state) {
  (void)state;
  strcpy(g_dir, "/tmp/gw_test_sim_XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  const char *names[] = {"road.net.xml", "road.rou.xml", "road.sumocfg", "grid.rou.xml"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
    remove(path);
  }
  rmdir(g_dir);
  return 0;
}

/* ---- (a) a red light ---------------------------------------------------- */

static void stops_at_red_and_goes_on_green(void **state) {
  (void)state;
  road r = {
      200, 8,
      200, 1,
      0,   "    <phase duration=\"60\" state=\"r\"/>\n    <phase duration=\"30\" state=\"G\"/>\n"};
  write_road(&r);
  gw_scenario *sc = load_scenario("<routes>\n" VTYPE_EXACT
                                  "  <vehicle id=\"v\" type=\"exact\" depart=\"0\">\n"
                                  "    <route edges=\"e1 e2\"/>\n  </vehicle>\n</routes>\n");
  gw_sim *sim = make_sim(sc, 1.0, 42);
  recs rs = {0};
  gw_sim_on_trip(sim, on_trip, &rs);
  uint32_t e1 = gw_net_find_lane(sc->net, "e1_0");
  double stop_pos = -1, t_stop = -1, t_cross = -1;
  for (int k = 0; k < 200 && !gw_sim_done(sim); k++) {
    double t = gw_sim_time(sim);
    assert_int_equal(gw_sim_step(sim), 0);
    char st = gw_sim_signal_state(sim, 0)[0];
    /* The state shown is the one of the step just run. */
    assert_int_equal(st, t < 60 ? 'r' : 'G');
    gw_vehicle_view v;
    if (gw_sim_vehicle(sim, 0, &v) != GW_OK) continue;
    if (getenv("GW_TEST_TRACE"))
      fprintf(stderr, "t=%g %c lane=%u pos=%.9g v=%.9g\n", t, st, v.lane, v.pos_m, v.speed_mps);
    if (st == 'r') {
      /* The front never passes the stop line while red. */
      assert_int_equal(v.lane, e1);
      assert_true(v.pos_m <= r.l1);
      /* Standing (not at the start, where it departs at 0 m/s); rounding in
      ** the stop speed leaves ~1e-15 m/s. */
      if (v.speed_mps < 1e-9 && v.pos_m > r.l1 / 2 && t_stop < 0) {
        t_stop = t;
        stop_pos = v.pos_m;
      }
    } else if (v.lane != e1 && t_cross < 0) {
      t_cross = t;
    }
  }
  /* It came to a full stop at the line (less the model's millimetre). */
  assert_true(t_stop > 0 && t_stop < 60);
  if (!(stop_pos > r.l1 - 0.5))
    fail_msg("stopped at %.17g m, %.17g m before the line", stop_pos, r.l1 - stop_pos);
  /* Starting on green it crosses within a few seconds, and arrives. */
  assert_true(t_cross >= 60 && t_cross < 66);
  gw_sim_stats s;
  gw_sim_stats_get(sim, &s);
  assert_int_equal(s.arrived, 1);
  assert_int_equal(s.collisions, 0);
  assert_int_equal(rs.n, 1);
  assert_true(rs.a[0].r.waiting_time_s >= 60 - t_stop - 1);
  assert_int_equal(rs.a[0].r.stops, 1);
  assert_true(rs.a[0].r.route_length_m > r.l1 + r.li + r.l2 - 1e-6);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  free(rs.a);
}

/* ---- (b) signal offsets ------------------------------------------------- */

#define PHASES_90                                                                       \
  "    <phase duration=\"33\" state=\"G\"/>\n    <phase duration=\"3\" state=\"y\"/>\n" \
  "    <phase duration=\"6\" state=\"r\"/>\n    <phase duration=\"3\" state=\"r\"/>\n"  \
  "    <phase duration=\"33\" state=\"r\"/>\n    <phase duration=\"3\" state=\"r\"/>\n" \
  "    <phase duration=\"6\" state=\"g\"/>\n    <phase duration=\"3\" state=\"y\"/>\n"

/* Runs the program for `until` s with step `dt`; phase_at[i] is the phase of
** the step that started at i*dt. */
static void run_phases(double dt, double until, uint32_t *phase_at, size_t n) {
  road r = {100, 5, 100, 1, 144.71, PHASES_90};
  write_road(&r);
  /* One vehicle that enters long after, so that the demand is not empty
  ** (see empty_demand_finishes in test_demand.c for why). */
  gw_scenario *sc = load_scenario("<routes>\n" VTYPE_EXACT
                                  "  <vehicle id=\"late\" type=\"exact\" depart=\"900\">"
                                  "<route edges=\"e1 e2\"/></vehicle>\n</routes>\n");
  assert_true(fabs(gw_net_tls_offset(sc->net, 0) - 144.71) < 1e-12);
  gw_sim *sim = make_sim(sc, dt, 42);
  size_t k = 0;
  while (gw_sim_time(sim) < until - 1e-9 && k < n) {
    assert_int_equal(gw_sim_step(sim), 0);
    phase_at[k] = gw_sim_signal_phase(sim, 0);
    double d;
    const char *st;
    assert_int_equal(gw_net_tls_phase(sc->net, 0, phase_at[k], &d, &st), 0);
    assert_string_equal(gw_sim_signal_state(sim, 0), st);
    k++;
  }
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

static void signal_offset_as_sumo(void **state) {
  (void)state;
  /* Cycle 90 s, offset 144.71 s: at t = 0 the cycle is at (0 - 144.71) mod
  ** 90 = 35.29 s, in phase 1 ([33, 36)); phase 2 ([36, 42)) is due at
  ** 0.71 s and ends at 6.71 s.  Switches happen at the first step at or
  ** after the exact time, and later ones count from that step. */
  uint32_t p[100];
  run_phases(1.0, 50, p, 100);
  assert_int_equal(p[0], 1);
  for (int t = 1; t <= 6; t++) assert_int_equal(p[t], 2);
  assert_int_equal(p[5], 2);
  assert_int_equal(p[7], 3);
  assert_int_equal(p[9], 3);
  assert_int_equal(p[10], 4);
  assert_int_equal(p[42], 4);
  assert_int_equal(p[43], 5);
  static uint32_t q[200];
  run_phases(0.1, 10, q, 200);
  assert_int_equal(q[7], 1);  /* 0.7 s */
  assert_int_equal(q[8], 2);  /* 0.8 s: the first step >= 0.71 */
  assert_int_equal(q[50], 2); /* 5.0 s */
  assert_int_equal(q[67], 2); /* 6.7 s */
  assert_int_equal(q[68], 3); /* 6.8 s: the first step >= 6.71 */
  assert_int_equal(q[97], 3); /* 9.7 s */
  assert_int_equal(q[98], 4); /* 6.8 + 3 */
  run_phases(0.5, 10, q, 200);
  assert_int_equal(q[1], 1);  /* 0.5 s */
  assert_int_equal(q[2], 2);  /* 1.0 s */
  assert_int_equal(q[10], 2); /* 5.0 s */
  assert_int_equal(q[13], 2); /* 6.5 s */
  assert_int_equal(q[14], 3); /* 7.0 s */
}

/* ---- (c) insertion on a full lane ---------------------------------------- */

static void insertion_waits_for_room(void **state) {
  (void)state;
  road r = {20, 5, 300, 0, 0, NULL};
  write_road(&r);
  char routes[4096];
  int n = snprintf(routes, sizeof routes, "<routes>\n" VTYPE_EXACT);
  for (int i = 0; i < 8; i++)
    n += snprintf(
        routes + n, sizeof routes - (size_t)n,
        "  <vehicle id=\"v%d\" type=\"exact\" depart=\"0\"><route edges=\"e1 e2\"/></vehicle>\n",
        i);
  snprintf(routes + n, sizeof routes - (size_t)n, "</routes>\n");
  gw_scenario *sc = load_scenario(routes);
  gw_sim *sim = make_sim(sc, 1.0, 42);
  recs rs = {0};
  gw_sim_on_trip(sim, on_trip, &rs);
  double min_gap = 1e9;
  uint64_t peak_pending = 0;
  for (int k = 0; k < 300 && !gw_sim_done(sim); k++) {
    assert_int_equal(gw_sim_step(sim), 0);
    double g = min_road_gap(sim, sc->net, &r, 8, 5.0);
    if (g < min_gap) min_gap = g;
    gw_sim_stats s;
    gw_sim_stats_get(sim, &s);
    if (s.pending > peak_pending) peak_pending = s.pending;
  }
  gw_sim_stats s;
  gw_sim_stats_get(sim, &s);
  assert_true(gw_sim_done(sim));
  assert_int_equal(s.loaded, 8);
  assert_int_equal(s.inserted, 8);
  assert_int_equal(s.arrived, 8);
  assert_int_equal(s.collisions, 0);
  assert_int_equal(rs.n, 8);
  /* Nobody overlapped; inserted vehicles keep at least their minGap. */
  assert_true(min_gap >= 2.5 - 1e-6);
  /* Only one fits at the start of the lane at a time: the others wait. */
  assert_true(peak_pending >= 6);
  const gw_trip_record *first = rec_of(&rs, "v0");
  assert_non_null(first);
  assert_true(first->depart_delay_s == 0);
  double last = 0;
  for (int i = 1; i < 8; i++) {
    char id[8];
    snprintf(id, sizeof id, "v%d", i);
    const gw_trip_record *t = rec_of(&rs, id);
    assert_non_null(t);
    /* In file order, each later than the one before. */
    assert_true(t->depart_delay_s > last);
    assert_true(t->depart_s == t->depart_delay_s);
    last = t->depart_delay_s;
  }
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  free(rs.a);
}

/* ---- (d) a queue at a red light ---------------------------------------- */

static void queue_stands_at_min_gap(void **state) {
  (void)state;
  road r = {
      300, 8,
      200, 1,
      0,   "    <phase duration=\"80\" state=\"r\"/>\n    <phase duration=\"40\" state=\"G\"/>\n"};
  write_road(&r);
  char routes[4096];
  int n = snprintf(routes, sizeof routes, "<routes>\n" VTYPE_EXACT);
  for (int i = 0; i < 6; i++)
    n += snprintf(routes + n, sizeof routes - (size_t)n,
                  "  <vehicle id=\"q%d\" type=\"exact\" depart=\"%d\" departSpeed=\"max\"><route "
                  "edges=\"e1 e2\"/></vehicle>\n",
                  i, 3 * i);
  snprintf(routes + n, sizeof routes - (size_t)n, "</routes>\n");
  gw_scenario *sc = load_scenario(routes);
  gw_sim *sim = make_sim(sc, 1.0, 42);
  double min_gap = 1e9;
  int checked_queue = 0;
  for (int k = 0; k < 400 && !gw_sim_done(sim); k++) {
    double t = gw_sim_time(sim);
    assert_int_equal(gw_sim_step(sim), 0);
    double g = min_road_gap(sim, sc->net, &r, 6, 5.0);
    if (g < min_gap) min_gap = g;
    if (t == 79) {
      /* Just before green: all six stand in a queue from the stop line. */
      double pos[6];
      for (uint32_t i = 0; i < 6; i++) {
        gw_vehicle_view v;
        assert_int_equal(gw_sim_vehicle(sim, i, &v), GW_OK);
        assert_true(v.speed_mps < 1e-6);
        pos[i] = road_pos(sc->net, &r, &v);
      }
      assert_true(pos[0] > r.l1 - 0.5 && pos[0] <= r.l1);
      for (int i = 1; i < 6; i++) {
        double gap = pos[i - 1] - 5.0 - pos[i];
        if (fabs(gap - 2.5) > 0.1) fail_msg("standstill gap %d: %.17g m, not minGap 2.5", i, gap);
      }
      checked_queue = 1;
    }
  }
  assert_true(checked_queue);
  /* Gaps never negative, and in fact never below minGap. */
  assert_true(min_gap >= 0);
  assert_true(min_gap >= 2.5 - 0.01);
  gw_sim_stats s;
  gw_sim_stats_get(sim, &s);
  assert_int_equal(s.arrived, 6);
  assert_int_equal(s.collisions, 0);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

/* ---- configuration ------------------------------------------------------ */

static void begin_end_and_bad_config(void **state) {
  (void)state;
  road r = {200, 8, 200, 0, 0, NULL};
  write_road(&r);
  gw_scenario *sc = load_scenario(
      "<routes>\n" VTYPE_EXACT
      "  <vehicle id=\"early\" type=\"exact\" depart=\"5\"><route edges=\"e1 e2\"/></vehicle>\n"
      "  <vehicle id=\"on_time\" type=\"exact\" depart=\"15\"><route edges=\"e1 e2\"/></vehicle>\n"
      "</routes>\n");
  gw_sim_config c;
  gw_sim_config_defaults(&c);
  assert_true(c.step_s == 1 && c.begin_s == 0 && c.end_s < 0 && c.seed == 42);
  gw_sim *sim = NULL;
  c.step_s = 0;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &c, &sim), GW_ERANGE);
  assert_null(sim);
  assert_int_equal(gw_sim_create(NULL, sc->demand, NULL, &sim), GW_EINVAL);
  gw_sim_destroy(NULL); /* a no-op */
  /* Begin at 10 s: the vehicle due at 5 s is dropped, as SUMO does. */
  c.step_s = 0.5;
  c.begin_s = 10;
  c.end_s = 20;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, &c, &sim), 0);
  recs rs = {0};
  gw_sim_on_trip(sim, on_trip, &rs);
  assert_true(gw_sim_time(sim) == 10);
  int steps = 0;
  while (!gw_sim_done(sim)) {
    assert_int_equal(gw_sim_step(sim), 0);
    steps++;
    assert_true(steps <= 20);
  }
  /* Done at the end time, after (20 - 10) / 0.5 steps. */
  assert_int_equal(steps, 20);
  assert_true(fabs(gw_sim_time(sim) - 20) < 1e-9);
  gw_vehicle_view v;
  assert_int_equal(gw_sim_vehicle(sim, 0, &v), GW_ENOTFOUND);
  assert_int_equal(gw_sim_vehicle(sim, 1, &v), GW_OK);
  assert_int_equal(gw_sim_vehicle(sim, 2, &v), GW_ENOTFOUND);
  assert_int_equal(v.lane, gw_net_find_lane(sc->net, "e1_0"));
  gw_sim_stats s;
  gw_sim_stats_get(sim, &s);
  assert_int_equal(s.loaded, 2);
  assert_int_equal(s.inserted, 1);
  assert_int_equal(s.running, 1);
  assert_int_equal(s.arrived, 0);
  assert_int_equal(rs.n, 0);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

/* ---- (e) a permissive left turn ---------------------------------------- */

static const char *lane_name(const gw_net *net, uint32_t lane) {
  gw_lane_info li;
  return gw_net_lane_info(net, lane, &li) == GW_OK ? li.id : "?";
}

/* Whether lane `l` is one of the named lanes. */
static int lane_in(const gw_net *net, uint32_t l, const char *const *names) {
  for (; *names; names++)
    if (gw_net_find_lane(net, *names) == l) return 1;
  return 0;
}

static void left_turn_yields_to_oncoming(void **state) {
  (void)state;
  /* grid4x4, junction B1, phase 0 (0-33 s): north-south green, the left
  ** turn from the north (link 3, B2B1.250.00_2 -> B1C1 via :B1_3_0 and,
  ** after the internal junction, :B1_16_0) is permissive 'g'.  A platoon
  ** of four through vehicles comes from the south (B0B1 -> B1B2 via
  ** :B1_9_0), the first side by side with the left turner. */
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(gw_net_load_sumo(GRID_NET, &net, &err), 0);
  write_file("grid.rou.xml", "<routes>\n" VTYPE_EXACT
                             "  <vehicle id=\"left\" type=\"exact\" depart=\"0\"><route "
                             "edges=\"B2B1 B2B1.250.00 B1C1\"/></vehicle>\n"
                             "  <vehicle id=\"on0\" type=\"exact\" depart=\"0\"><route "
                             "edges=\"B0B1 B0B1.250.00 B1B2\"/></vehicle>\n"
                             "  <vehicle id=\"on1\" type=\"exact\" depart=\"2\"><route "
                             "edges=\"B0B1 B0B1.250.00 B1B2\"/></vehicle>\n"
                             "  <vehicle id=\"on2\" type=\"exact\" depart=\"4\"><route "
                             "edges=\"B0B1 B0B1.250.00 B1B2\"/></vehicle>\n"
                             "  <vehicle id=\"on3\" type=\"exact\" depart=\"6\"><route "
                             "edges=\"B0B1 B0B1.250.00 B1B2\"/></vehicle>\n"
                             "</routes>\n");
  char path[128];
  snprintf(path, sizeof path, "%s/grid.rou.xml", g_dir);
  gw_demand *d = NULL;
  int rc = gw_demand_load_sumo(&d, net, path, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(gw_demand_finish(d, &err), 0);
  gw_sim *sim = NULL;
  assert_int_equal(gw_sim_create(net, d, NULL, &sim), 0);
  recs rs = {0};
  gw_sim_on_trip(sim, on_trip, &rs);
  uint32_t nv = gw_demand_trip_count(d), tl = gw_net_find_tls(net, "B1");
  uint32_t left = GW_NONE, out_lane = gw_net_find_edge(net, "B1B2");
  for (uint32_t i = 0; i < nv; i++)
    if (!strcmp(gw_demand_trip(d, i)->id, "left")) left = i;
  assert_true(left != GW_NONE && tl != GW_NONE);
  const char *before[] = {"B2B1.250.00_2", ":B1_3_0", NULL};
  const char *crossing[] = {":B1_16_0", NULL};
  const char *foe_path[] = {":B1_9_0", ":B1_9_1", NULL};
  double t_wait = -1, t_cross = -1, t_last_through = -1;
  for (int k = 0; k < 200 && !gw_sim_done(sim); k++) {
    double t = gw_sim_time(sim);
    assert_int_equal(gw_sim_step(sim), 0);
    gw_vehicle_view lv;
    int left_in = gw_sim_vehicle(sim, left, &lv) == GW_OK;
    int approaching = 0, on_foe_path = 0;
    for (uint32_t i = 0; i < nv; i++) {
      gw_vehicle_view v;
      if (i == left || gw_sim_vehicle(sim, i, &v) != GW_OK) continue;
      gw_lane_info li;
      gw_net_lane_info(net, v.lane, &li);
      if (li.edge == out_lane) continue; /* it has crossed */
      approaching = 1;
      on_foe_path |= lane_in(net, v.lane, foe_path);
    }
    if (left_in && getenv("GW_TEST_TRACE"))
      fprintf(stderr, "t=%g %c left %s %.2f %.2f approaching=%d\n", t,
              gw_sim_signal_state(sim, tl)[3], lane_name(net, lv.lane), lv.pos_m, lv.speed_mps,
              approaching);
    if (!left_in) continue;
    /* Waiting before the conflict while oncoming traffic approaches. */
    if (lane_in(net, lv.lane, before) && lv.speed_mps < 0.1 && approaching && t_wait < 0)
      t_wait = t;
    if (lane_in(net, lv.lane, crossing)) {
      if (t_cross < 0) t_cross = t;
      /* Never in the conflict area together with an oncoming vehicle. */
      assert_false(on_foe_path);
    }
    if (approaching) t_last_through = t;
  }
  /* It waited, then crossed after the platoon had passed ... */
  assert_true(t_wait > 0);
  assert_true(t_cross > t_wait);
  assert_true(t_cross > t_last_through);
  /* ... using the gap behind it, before its protected phase (36-42 s). */
  assert_true(t_cross < 36);
  gw_sim_stats s;
  gw_sim_stats_get(sim, &s);
  assert_int_equal(s.arrived, 5);
  assert_int_equal(s.collisions, 0);
  const gw_trip_record *lr = rec_of(&rs, "left");
  assert_non_null(lr);
  assert_true(lr->waiting_time_s >= 3);
  assert_int_equal(lr->stops, 1);
  gw_sim_destroy(sim);
  gw_demand_destroy(d);
  gw_net_destroy(net);
  free(rs.a);
}

/* ---- (f, g) grid4x4 ------------------------------------------------------ */

typedef struct run_result {
  gw_sim_stats stats;
  recs rs;
  double mean_tt;
} run_result;

static void run_grid(const gw_scenario *sc, uint64_t seed, run_result *out) {
  gw_sim *sim = make_sim(sc, sc->step_s, seed);
  memset(out, 0, sizeof *out);
  gw_sim_on_trip(sim, on_trip, &out->rs);
  for (int k = 0; k < 20000 && !gw_sim_done(sim); k++) assert_int_equal(gw_sim_step(sim), 0);
  assert_true(gw_sim_done(sim));
  gw_sim_stats_get(sim, &out->stats);
  gw_trip_summary sum;
  memset(&sum, 0, sizeof sum);
  for (size_t i = 0; i < out->rs.n; i++) gw_trip_summary_add(&sum, &out->rs.a[i].r);
  out->mean_tt = gw_trip_summary_mean(&sum, sum.duration_s);
  gw_sim_destroy(sim);
}

static gw_scenario *load_grid(void) {
  gw_scenario *sc = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_scenario_load_sumocfg(GRID_CFG, &sc, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return sc;
}

static void grid_is_deterministic(void **state) {
  (void)state;
  gw_scenario *sc = load_grid();
  run_result a, b, c;
  run_grid(sc, 42, &a);
  run_grid(sc, 42, &b);
  run_grid(sc, 43, &c);
  assert_int_equal(a.stats.loaded, b.stats.loaded);
  assert_int_equal(a.stats.inserted, b.stats.inserted);
  assert_int_equal(a.stats.arrived, b.stats.arrived);
  assert_int_equal(a.stats.teleports, b.stats.teleports);
  assert_int_equal(a.stats.collisions, b.stats.collisions);
  assert_int_equal(a.stats.veh_steps, b.stats.veh_steps);
  assert_int_equal(a.stats.peak_running, b.stats.peak_running);
  assert_int_equal(a.rs.n, b.rs.n);
  for (size_t i = 0; i < a.rs.n; i++) {
    const gw_trip_record *x = &a.rs.a[i].r, *y = &b.rs.a[i].r;
    assert_string_equal(a.rs.a[i].id, b.rs.a[i].id);
    /* Bit for bit. */
    assert_true(x->depart_s == y->depart_s && x->arrival_s == y->arrival_s);
    assert_true(x->depart_delay_s == y->depart_delay_s);
    assert_true(x->route_length_m == y->route_length_m && x->duration_s == y->duration_s);
    assert_true(x->time_loss_s == y->time_loss_s && x->waiting_time_s == y->waiting_time_s);
    assert_int_equal(x->stops, y->stops);
    assert_int_equal(x->teleports, y->teleports);
  }
  assert_true(a.mean_tt == b.mean_tt);
  /* Another seed draws other speed factors and dawdling. */
  assert_true(c.mean_tt != a.mean_tt);
  assert_true(fabs(c.mean_tt - a.mean_tt) < 0.2 * a.mean_tt);
  free(a.rs.a);
  free(b.rs.a);
  free(c.rs.a);
  gw_scenario_destroy(sc);
}

static void grid_everyone_arrives(void **state) {
  (void)state;
  gw_scenario *sc = load_grid();
  assert_int_equal(gw_demand_trip_count(sc->demand), 2182);
  run_result a;
  run_grid(sc, sc->seed, &a);
  assert_int_equal(a.stats.loaded, 2182);
  assert_int_equal(a.stats.inserted, 2182);
  assert_int_equal(a.stats.arrived, 2182);
  assert_int_equal(a.stats.running, 0);
  assert_int_equal(a.stats.pending, 0);
  assert_int_equal(a.stats.collisions, 0);
  /* SUMO 1.15 has no teleports on this scenario either (SUMO-RESULTS.md). */
  assert_int_equal(a.stats.teleports, 0);
  assert_int_equal(a.rs.n, 2182);
  /* Every trip record is self-consistent. */
  for (size_t i = 0; i < a.rs.n; i++) {
    const gw_trip_record *t = &a.rs.a[i].r;
    assert_true(t->duration_s > 0);
    assert_true(fabs(t->arrival_s - t->depart_s - t->duration_s) < 1e-9);
    assert_true(t->depart_delay_s >= 0);
    assert_true(t->waiting_time_s <= t->duration_s + 1e-9);
    assert_true(t->time_loss_s <= t->duration_s + 1e-9);
    assert_true(t->route_length_m > 0);
    assert_int_equal(t->teleports, 0);
  }
  free(a.rs.a);
  gw_scenario_destroy(sc);
}

/* The halted count per lane is kept up to date as vehicles move, change
** lanes, enter and leave; compare it with counting the lane's vehicles
** one by one after every step of grid4x4 (queues, lane changes, insertions
** at full lanes). */
static void lane_counts_match_a_scan(void **state) {
  (void)state;
  gw_scenario *sc = load_grid();
  gw_sim *sim = make_sim(sc, sc->step_s, 42);
  uint32_t nl = gw_net_lane_count(sc->net), ntrips = gw_demand_trip_count(sc->demand);
  uint64_t halted_seen = 0;
  for (int k = 0; k < 20000 && !gw_sim_done(sim); k++) {
    assert_int_equal(gw_sim_step(sim), 0);
    if (k % 7) continue; /* every 7th step keeps the test short */
    uint32_t *veh = calloc(nl, sizeof *veh), *halt = calloc(nl, sizeof *halt);
    assert_non_null(veh);
    assert_non_null(halt);
    for (uint32_t i = 0; i < ntrips; i++) {
      gw_vehicle_view v;
      if (gw_sim_vehicle(sim, i, &v)) continue;
      veh[v.lane]++;
      halt[v.lane] += v.speed_mps < 0.1;
    }
    for (uint32_t l = 0; l < nl; l++) {
      uint32_t v, h;
      assert_int_equal(gw_sim_lane_counts(sim, l, &v, &h), 0);
      assert_int_equal(v, veh[l]);
      assert_int_equal(h, halt[l]);
      halted_seen += h;
    }
    free(veh);
    free(halt);
  }
  assert_true(halted_seen > 1000); /* queues did form */
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

/* A lane blocked from 150 m for ten minutes: vehicles keep entering the
** lane but none drives through the block, they change to the other lane;
** afterwards the lane carries traffic again and everyone arrives without a
** collision. */
static void blocked_lane_is_passed_on_the_other_lane(void **state) {
  (void)state;
  gw_scenario *sc = load_grid();
  gw_sim *sim = make_sim(sc, sc->step_s, 42);
  uint32_t lane = gw_net_find_lane(sc->net, "A0B0_0");
  assert_int_not_equal(lane, GW_NONE);
  assert_int_equal(gw_sim_block_lane(sim, lane, 150, 300, 900), GW_OK);
  assert_int_equal(gw_sim_block_lane(sim, lane, 500, 0, 10), GW_ERANGE); /* beyond the lane */
  uint32_t ntrips = gw_demand_trip_count(sc->demand);
  uint8_t *behind = calloc(ntrips + 1, 1); /* seen behind the block while it stood */
  assert_non_null(behind);
  int stood = 0, passed_during = 0;
  for (int k = 0; k < 20000 && !gw_sim_done(sim); k++) {
    assert_int_equal(gw_sim_step(sim), 0);
    double t = gw_sim_time(sim);
    for (uint32_t i = 0; i < ntrips; i++) {
      gw_vehicle_view v;
      if (gw_sim_vehicle(sim, i, &v) || v.lane != lane) continue;
      if (t > 301 && t < 900) {
        if (v.pos_m <= 150)
          behind[i] = 1;
        else
          assert_false(behind[i]); /* nobody drives through the block */
        stood += v.pos_m <= 150;
      }
      if (t > 950 && v.pos_m > 150) passed_during = 1;
    }
  }
  gw_sim_stats st;
  gw_sim_stats_get(sim, &st);
  assert_true(stood);         /* someone did have to stop at the block */
  assert_true(passed_during); /* and the lane carries traffic again afterwards */
  assert_int_equal(st.arrived, st.loaded);
  assert_int_equal(st.collisions, 0);
  free(behind);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

/* ---- (h, i) junction rules: internal junctions and merges --------------- */

#define SIM_DATA GW_SCENARIOS "/../tests/data/sim/"

/* Loads `net` (a file of tests/data/sim) with `routes` written beside a
** configuration in the temporary folder. */
static gw_scenario *load_data_scenario(const char *net, const char *routes) {
  char cfg[1024];
  write_file("data.rou.xml", routes);
  snprintf(cfg, sizeof cfg,
           "<configuration>\n  <input>\n    <net-file value=\"%s%s\"/>\n"
           "    <route-files value=\"data.rou.xml\"/>\n  </input>\n"
           "  <processing><time-to-teleport value=\"300\"/></processing>\n"
           "</configuration>\n",
           SIM_DATA, net);
  write_file("data.sumocfg", cfg);
  char path[128];
  snprintf(path, sizeof path, "%s/data.sumocfg", g_dir);
  gw_scenario *sc = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_scenario_load_sumocfg(path, &sc, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return sc;
}

static void opposing_left_turns_do_not_lock(void **state) {
  (void)state;
  /* Permissive left turns from all four arms with busy through traffic: at
  ** the end of a stage left turners are still waiting inside the junction
  ** while the crossing stage's left turners drive in.  Those inside leave
  ** first (they entered first, and the crossing stage waits for vehicles
  ** still on the intersection), so the junction never locks: everybody
  ** arrives, nobody is teleported.  Before this rule each waiting left
  ** turner counted the other as a block and the junction locked for good
  ** within minutes (70 teleports, 567 vehicles never inserted). */
  gw_scenario *sc = load_data_scenario(
      "left_turns.net.xml",
      "<routes>\n"
      "  <vType id=\"car\" length=\"5\" minGap=\"2.5\" accel=\"2.6\" decel=\"4.5\" sigma=\"0.5\" "
      "tau=\"1\"/>\n"
      "  <route id=\"ns\" edges=\"nc cs\"/><route id=\"sn\" edges=\"sc cn\"/>\n"
      "  <route id=\"ew\" edges=\"ec cw\"/><route id=\"we\" edges=\"wc ce\"/>\n"
      "  <route id=\"nl\" edges=\"nc ce\"/><route id=\"sl\" edges=\"sc cw\"/>\n"
      "  <route id=\"el\" edges=\"ec cs\"/><route id=\"wl\" edges=\"wc cn\"/>\n"
      "  <flow id=\"f_ns\" type=\"car\" route=\"ns\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"600\"/>\n"
      "  <flow id=\"f_sn\" type=\"car\" route=\"sn\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"600\"/>\n"
      "  <flow id=\"f_ew\" type=\"car\" route=\"ew\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"600\"/>\n"
      "  <flow id=\"f_we\" type=\"car\" route=\"we\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"600\"/>\n"
      "  <flow id=\"f_nl\" type=\"car\" route=\"nl\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"150\"/>\n"
      "  <flow id=\"f_sl\" type=\"car\" route=\"sl\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"150\"/>\n"
      "  <flow id=\"f_el\" type=\"car\" route=\"el\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"150\"/>\n"
      "  <flow id=\"f_wl\" type=\"car\" route=\"wl\" begin=\"0\" end=\"1800\" "
      "vehsPerHour=\"150\"/>\n"
      "</routes>\n");
  gw_sim *sim = make_sim(sc, 1.0, 42);
  for (int k = 0; k < 7200 && !gw_sim_done(sim); k++) assert_int_equal(gw_sim_step(sim), 0);
  gw_sim_stats st;
  gw_sim_stats_get(sim, &st);
  assert_int_equal(st.loaded, 1500);
  assert_int_equal(st.inserted, st.loaded);
  assert_int_equal(st.arrived, st.loaded);
  assert_int_equal(st.teleports, 0);
  assert_int_equal(st.collisions, 0);
  /* It drained well before the bound. */
  assert_true(gw_sim_time(sim) < 3600);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

static int cmp_double_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

static void merging_vehicles_do_not_overlap(void **state) {
  (void)state;
  /* Two streams of exact cars reach the merge side by side, both on green:
  ** the one further from the end of the junction follows the other onto
  ** road m.  Checked every step on m itself: fronts at least a length
  ** apart.  Without the merge rule every pair overlapped (10 collisions). */
  gw_scenario *sc = load_data_scenario(
      "merge.net.xml",
      "<routes>\n" VTYPE_EXACT
      "  <flow id=\"fa\" type=\"exact\" begin=\"0\" end=\"60\" period=\"6\" departSpeed=\"max\">"
      "<route edges=\"a m\"/></flow>\n"
      "  <flow id=\"fb\" type=\"exact\" begin=\"0\" end=\"60\" period=\"6\" departSpeed=\"max\">"
      "<route edges=\"b m\"/></flow>\n"
      "</routes>\n");
  gw_sim *sim = make_sim(sc, 1.0, 42);
  uint32_t nv = gw_demand_trip_count(sc->demand);
  uint32_t m = gw_net_find_edge(sc->net, "m");
  double pos[64];
  int both_on_m = 0;
  for (int k = 0; k < 400 && !gw_sim_done(sim); k++) {
    assert_int_equal(gw_sim_step(sim), 0);
    size_t n = 0;
    for (uint32_t i = 0; i < nv && n < 64; i++) {
      gw_vehicle_view v;
      gw_lane_info li;
      if (gw_sim_vehicle(sim, i, &v) != GW_OK) continue;
      gw_net_lane_info(sc->net, v.lane, &li);
      if (li.edge == m) pos[n++] = v.pos_m;
    }
    qsort(pos, n, sizeof *pos, cmp_double_desc);
    for (size_t i = 1; i < n; i++) assert_true(pos[i - 1] - pos[i] >= 5.0 - 1e-6);
    if (n >= 2) both_on_m = 1;
  }
  assert_true(both_on_m); /* the streams did meet on m */
  gw_sim_stats st;
  gw_sim_stats_get(sim, &st);
  assert_int_equal(st.loaded, 20);
  assert_int_equal(st.arrived, 20);
  assert_int_equal(st.collisions, 0);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(blocked_lane_is_passed_on_the_other_lane),
      cmocka_unit_test(lane_counts_match_a_scan),
      cmocka_unit_test(stops_at_red_and_goes_on_green),
      cmocka_unit_test(signal_offset_as_sumo),
      cmocka_unit_test(insertion_waits_for_room),
      cmocka_unit_test(queue_stands_at_min_gap),
      cmocka_unit_test(begin_end_and_bad_config),
      cmocka_unit_test(left_turn_yields_to_oncoming),
      cmocka_unit_test(grid_is_deterministic),
      cmocka_unit_test(grid_everyone_arrives),
      cmocka_unit_test(opposing_left_turns_do_not_lock),
      cmocka_unit_test(merging_vehicles_do_not_overlap),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

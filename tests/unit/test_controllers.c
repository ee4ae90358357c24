/*
** test_controllers.c -- the actuated, max-pressure and adaptive controllers
** on hand-made intersections with synthetic detectors.
**
** Why these tests: a controller's mistakes do not crash anything, they just
** waste green time or starve an approach, so every test pins a moment that
** could be off: the step at which a green gaps out (gap_s reaching the
** passage time, not a step sooner or later), the maximum green, a skipped
** stage, resting without demand, a latched call, a permissive left turn
** still calling its protected stage; the stage of larger pressure,
** downstream queues subtracting, the decision period, the maximum red, a
** blocked green giving way, the cycle-based plan; the cycle moving towards
** Webster's C0 computed here from the flows fed in, clamped to [cmin, cmax]
** and moving at most `step` per cycle, the target degree of saturation
** beside minimum greens, saturation seen through used green time (and a
** standing vehicle not mistaken for it), the lost time of the model's
** intergreens, the splits, gap-out time handed to the next stage, and a
** coordinated stage 0 starting on its offset every cycle.  Several of these
** pin fixes found by running the controllers on the scenarios (greenwave
** compare): each guards against a behaviour that locked grid4x4_heavy or
** starved arterial10's main road.
**
** The bench: a signal model filled in by hand, arrays the test sets each
** step for queue/count/arrivals/occupancy/gap/has_detector, and a fake
** monitor with the real monitor's status semantics (stage = the stage last
** fully shown, target = the request, in_transition while they differ, the
** change taking `change_s` seconds, stage_since_t = when the new stage was
** reached).  The fake monitor serves no minimum greens of its own, so a
** controller that ends a green too early is seen doing it.  One test runs
** every controller against the real monitor (monitor.c) the way control.c
** does, and checks liveness and the adaptive cycle's real length there.
**
** Property tests: random intersections (1..8 stages, 1..12 groups, random
** permissive groups, lanes, minimum greens, yellows), random parameters,
** random inputs with now and then a NaN, an infinity or a negative value,
** steps of 0.1 to 1 s, GW_CTL_PROPERTY_STEPS steps per controller (default
** 100,000).  Checked: every request is a valid stage; no green is left
** before the controller's `min`; actuated leaves a green that has run its
** `max` when another stage has a call; the adaptive cycle stays in
** [cmin, cmax] (or at the floor of lost time plus minimum greens) and moves
** at most `step` per cycle; the same seed gives the same requests.
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

#include "core/rng.h"
#include "greenwave/control.h"

#define EPS 1e-6
#define MAX_EVENTS 20000

/* cmocka's assert_float_equal compares floats; times need doubles. */
#define assert_near(a, b, eps) near((a), (b), (eps), #a, __FILE__, __LINE__)
static void near(double a, double b, double eps, const char *what, const char *file, int line) {
  if (!(fabs(a - b) <= eps)) fail_msg("%s:%d: %s = %.9g, expected %.9g", file, line, what, a, b);
}

/* ---- random numbers (splitmix64) ---------------------------------------- */

typedef struct rng {
  uint64_t s;
} rng;

/* The library's SplitMix64 finaliser: mix(s + golden) for s = s0, s0 + golden, ... */
static uint64_t rnext(rng *r) {
  uint64_t z = gw__mix64(r->s);
  r->s += 0x9e3779b97f4a7c15ull;
  return z;
}
static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(rnext(r) % n); }
static double runif(rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }
static int rchance(rng *r, double p) { return runif(r) < p; }

/* ---- the bench ---------------------------------------------------------- */

typedef struct bench {
  gw_signal_model m;
  gw_controller *ctl;
  gw_monitor_status st;
  double t, dt;
  double change_s; /* how long the fake monitor takes to change stages */
  double change_end_t;
  double queue[GW_MAX_GROUPS], count[GW_MAX_GROUPS];
  double out_queue[GW_MAX_GROUPS], out_count[GW_MAX_GROUPS];
  double arrivals[GW_MAX_GROUPS], occupancy[GW_MAX_GROUPS], gap[GW_MAX_GROUPS];
  uint8_t has_det[GW_MAX_GROUPS];
  uint32_t request; /* the last request */
  gw_event ev[MAX_EVENTS];
  int nev;
} bench;

static void record(void *ud, const gw_event *e) {
  bench *b = ud;
  if (b->nev < MAX_EVENTS) b->ev[b->nev++] = *e;
}

/* Lamps as the real monitor would show them: during a change the groups
** that stay green are green, the ending ones yellow, the starting ones red. */
static void fake_lamps(bench *b) {
  uint64_t from = b->m.stages[b->st.stage].green, to = b->m.stages[b->st.target].green;
  for (uint32_t g = 0; g < b->m.ngroups; g++) {
    int a = (int)(from >> g & 1), z = (int)(to >> g & 1);
    uint8_t lamp = GW_LAMP_RED;
    if (!b->st.in_transition)
      lamp = a ? GW_LAMP_GREEN : GW_LAMP_RED;
    else if (a && z)
      lamp = GW_LAMP_GREEN;
    else if (a)
      lamp = GW_LAMP_YELLOW;
    if (lamp != b->st.lamp[g]) b->st.lamp_since_t[g] = b->t;
    b->st.lamp[g] = lamp;
  }
}

static gw_ctl_view bench_view(bench *b) {
  gw_ctl_view v = {
      b->t,         b->dt,       &b->m,        &b->st, b->queue,   b->count, b->out_queue,
      b->out_count, b->arrivals, b->occupancy, b->gap, b->has_det, record,   b};
  return v;
}

/* Creates the controller; the fake monitor shows stage `initial` since t = 0
** and every group has a detector, all quiet (no vehicle for a long time). */
static bench *bench_new(const gw_signal_model *m, const char *spec, uint32_t initial) {
  bench *b = calloc(1, sizeof *b);
  assert_non_null(b);
  b->m = *m;
  gw_error err = {0};
  int rc = gw_controller_create(spec, &b->m, NULL, &b->ctl, &err);
  if (rc) fail_msg("%s: %s", spec, err.msg);
  b->dt = 1;
  b->change_s = 3;
  b->st.stage = b->st.target = initial;
  b->st.stage_since_t = 0;
  for (uint32_t g = 0; g < GW_MAX_GROUPS; g++) {
    b->gap[g] = 1e9;
    b->has_det[g] = 1;
  }
  fake_lamps(b);
  return b;
}

static void bench_free(bench *b) {
  gw_controller_destroy(b->ctl);
  free(b);
}

/* One step: the controller looks at the view at b->t and names a stage,
** the fake monitor takes the request, time advances by dt and a change that
** has run change_s seconds completes. */
static uint32_t bench_step(bench *b) {
  gw_ctl_view v = bench_view(b);
  uint32_t s = 999;
  assert_int_equal(gw_controller_step(b->ctl, &v, &s), GW_OK);
  assert_true(s < b->m.nstages);
  b->request = s;
  if (s != b->st.target) {
    if (!b->st.in_transition) b->change_end_t = b->t + b->change_s;
    b->st.target = s;
    b->st.in_transition = s != b->st.stage;
  }
  b->t += b->dt;
  if (b->st.in_transition && b->t >= b->change_end_t - EPS) {
    b->st.stage = b->st.target;
    b->st.in_transition = 0;
    b->st.stage_since_t = b->t;
  }
  fake_lamps(b);
  return s;
}

/* Steps until time t_end or until the controller asks to leave the stage
** shown; returns the time of that request, or -1. */
static double run_to_switch(bench *b, double t_end) {
  while (b->t < t_end - EPS) {
    double t = b->t;
    uint32_t shown = b->st.stage;
    int was_changing = b->st.in_transition;
    if (bench_step(b) != shown && !was_changing) return t;
  }
  return -1;
}

static int count_events(const bench *b, int code, int param) {
  int n = 0;
  for (int i = 0; i < b->nev; i++)
    if (b->ev[i].code == code && (param < 0 || b->ev[i].param == param)) n++;
  return n;
}

/* The parameters of the events with this code, in order; returns how many. */
static int event_params(const bench *b, int code, int *out, int cap) {
  int n = 0;
  for (int i = 0; i < b->nev; i++)
    if (b->ev[i].code == code && n < cap) out[n++] = b->ev[i].param;
  return n;
}

/* ---- hand-made intersections -------------------------------------------- */

static void group(gw_signal_model *m, uint32_t g, uint32_t nin) {
  gw_signal_group *sg = &m->groups[g];
  sg->nlinks = 1;
  sg->links[0] = g;
  sg->min_green_s = 5;
  sg->max_green_s = 60;
  sg->yellow_s = 3;
  sg->speed_mps = 13.89;
  sg->nin = nin;
  sg->nout = 1;
  m->group_of_link[g] = (uint8_t)g;
}

/* Four stages, one protected group each (groups 0..3), and a permissive
** left turn (group 4) beside stage 0.  Yellows 3 s, all-red 1 s between
** groups of different stages: every change takes 4 s.  Stage minimum 7 s
** (as an actuated program gives), maximum left to the controller. */
static void model4(gw_signal_model *m) {
  memset(m, 0, sizeof *m);
  m->id = "four";
  m->ngroups = 5;
  m->nlinks = 5;
  for (uint32_t g = 0; g < 5; g++) group(m, g, 1);
  for (uint32_t a = 0; a < 5; a++)
    for (uint32_t b = 0; b < 5; b++) {
      uint32_t sa = a == 4 ? 0 : a, sb = b == 4 ? 0 : b;
      if (sa == sb) continue;
      m->conflict[a][b] = GW_CONFLICT_HARD;
      m->allred_s[a][b] = 1;
    }
  m->nstages = 4;
  for (uint32_t s = 0; s < 4; s++) {
    m->stages[s].green = 1ull << s;
    m->stages[s].green_s = 20;
    m->stages[s].min_s = 7;
    m->stages[s].max_s = 0;
  }
  m->stages[0].green |= 1ull << 4;
  m->stages[0].minor = 1ull << 4;
  m->cycle_s = 96;
  m->lost_s = 4;
}

/* Two stages, one group each; group 0 has `lanes0` approach lanes. */
static void model2(gw_signal_model *m, uint32_t lanes0) {
  memset(m, 0, sizeof *m);
  m->id = "two";
  m->ngroups = 2;
  m->nlinks = 2;
  group(m, 0, lanes0);
  group(m, 1, 1);
  m->conflict[0][1] = m->conflict[1][0] = GW_CONFLICT_HARD;
  m->nstages = 2;
  for (uint32_t s = 0; s < 2; s++) {
    m->stages[s].green = 1ull << s;
    m->stages[s].green_s = 20;
    m->stages[s].min_s = 5;
    m->stages[s].max_s = 50;
  }
  m->cycle_s = 60;
  m->lost_s = 3;
}

/* ---- actuated ----------------------------------------------------------- */

/* Vehicles cross group 0's detector every second until t = 20, then none:
** gap_s grows from 0 and the green must end at the step where it reaches
** 3 s, t = 23, not at 22.5.  The permissive group 4 keeps arriving but must
** not extend the stage; stage 1 waits with a queue. */
static void actuated_gaps_out_exactly_at_gap(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "actuated:min=10,gap=3,max=50", 0);
  b->dt = 0.5;
  b->queue[1] = 2;
  double sw = -1;
  while (sw < 0 && b->t < 60) {
    b->gap[0] = b->t < 20 ? 0 : b->t - 20;
    b->gap[4] = 0;
    sw = run_to_switch(b, b->t + b->dt);
  }
  assert_near(sw, 23, EPS);
  assert_int_equal(b->request, 1);
  assert_int_equal(count_events(b, GW_EV_GAP_OUT, 1), 1);
  assert_int_equal(count_events(b, GW_EV_GAP_OUT, 5), 0);
  assert_int_equal(count_events(b, GW_EV_MAX_OUT, -1), 0);
  bench_free(b);
}

/* No vehicle on stage 0: it ends at its minimum, the parameter's or by
** default the model's 7 s, and not a step before. */
static void actuated_serves_min_green(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "actuated:min=10", 0);
  b->queue[1] = 1;
  assert_near(run_to_switch(b, 60), 10, EPS);
  bench_free(b);
  b = bench_new(&m, "actuated", 0);
  b->queue[1] = 1;
  assert_near(run_to_switch(b, 60), 7, EPS);
  bench_free(b);
}

/* Vehicles keep coming on stage 0; only stage 2 has demand: the green maxes
** out at the default 50 s and stage 1 is skipped. */
static void actuated_maxes_out_and_skips(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "actuated", 0);
  b->gap[0] = 0.5;
  b->occupancy[2] = 0.3;
  assert_near(run_to_switch(b, 200), 50, EPS);
  assert_int_equal(b->request, 2);
  assert_int_equal(count_events(b, GW_EV_MAX_OUT, 1), 1);
  assert_int_equal(count_events(b, GW_EV_GAP_OUT, -1), 0);
  bench_free(b);
  /* With max=30 it is 30 s. */
  b = bench_new(&m, "actuated:max=30", 0);
  b->gap[0] = 0.5;
  b->queue[2] = 1;
  assert_near(run_to_switch(b, 200), 30, EPS);
  assert_int_equal(b->request, 2);
  bench_free(b);
}

/* Without demand the green rests, however long; a vehicle on the approach
** of group 3 (no detector: the approach's count stands in) ends the rest at
** once, skipping stages 1 and 2. */
static void actuated_rests_without_demand(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "actuated", 0);
  b->has_det[3] = 0;
  assert_near(run_to_switch(b, 300), -1, EPS);
  assert_int_equal(b->nev, 0);
  b->count[3] = 1;
  assert_near(run_to_switch(b, 400), 300, EPS);
  assert_int_equal(b->request, 3);
  assert_int_equal(count_events(b, GW_EV_GAP_OUT, 1), 1);
  bench_free(b);
}

/* A vehicle crosses stage 1's advance detector during the red and is not
** seen again: its call is latched and stage 1 is served after stage 0's
** green gaps out.  Without that pulse the green rests. */
static void actuated_latches_calls(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  for (int pulse = 0; pulse < 2; pulse++) {
    bench *b = bench_new(&m, "actuated:gap=3", 0);
    double sw = -1;
    while (sw < 0 && b->t < 100) {
      b->gap[0] = b->t < 27 ? 0 : b->t - 27;
      b->occupancy[1] = pulse && b->t == 15 ? 0.4 : 0;
      sw = run_to_switch(b, b->t + b->dt);
    }
    assert_near(sw, pulse ? 30 : -1, EPS);
    bench_free(b);
  }
}

/* Demand everywhere, no extension: stages follow in cyclic order, each
** for its minimum. */
static void actuated_cycles_in_order(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "actuated:min=6", 0);
  for (uint32_t g = 0; g < 5; g++) b->queue[g] = 3;
  uint32_t want = 1;
  double prev = -1;
  for (int i = 0; i < 9; i++) {
    double sw = run_to_switch(b, 1000);
    assert_true(sw > 0);
    assert_int_equal(b->request, want);
    if (prev >= 0) assert_near(sw - prev, 6 + b->change_s, EPS);
    prev = sw;
    want = (want + 1) % 4;
  }
  bench_free(b);
}

/* A through group (0), a left turn (1) permissive beside it and protected
** in stage 1, a cross street (2) in stage 2. */
static void model_left(gw_signal_model *m) {
  memset(m, 0, sizeof *m);
  m->id = "left";
  m->ngroups = 3;
  m->nlinks = 3;
  for (uint32_t g = 0; g < 3; g++) group(m, g, 1);
  m->nstages = 3;
  m->stages[0].green = 1ull << 0 | 1ull << 1;
  m->stages[0].minor = 1ull << 1;
  m->stages[1].green = 1ull << 1;
  m->stages[2].green = 1ull << 2;
  for (uint32_t s = 0; s < 3; s++) {
    m->stages[s].green_s = 20;
    m->stages[s].min_s = 5;
    m->stages[s].max_s = 50;
  }
  m->cycle_s = 75;
  m->lost_s = 5;
}

/* Left turners queue behind their permissive green (no gap in the opposing
** flow): their protected stage is called, not skipped because the group's
** lamp is green. */
static void actuated_calls_protected_left(void **state) {
  (void)state;
  gw_signal_model m;
  model_left(&m);
  bench *b = bench_new(&m, "actuated", 0);
  b->queue[1] = 2;
  assert_near(run_to_switch(b, 100), 5, EPS);
  assert_int_equal(b->request, 1);
  bench_free(b);
}

/* ---- max-pressure ------------------------------------------------------- */

/* The same left turn under max-pressure: the through stage discharges and
** keeps the larger pressure, but the left turn has waited maxred = 30 s
** for its protected stage. */
static void maxpressure_left_waits_for_protected_stage(void **state) {
  (void)state;
  gw_signal_model m;
  model_left(&m);
  bench *b = bench_new(&m, "maxpressure:maxred=30", 0);
  b->queue[0] = 10;
  b->arrivals[0] = 1;
  b->queue[1] = 1;
  assert_near(run_to_switch(b, 100), 30, EPS);
  assert_int_equal(b->request, 1);
  bench_free(b);
}

static void maxpressure_picks_larger_pressure_after_min(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:min=5,period=5", 0);
  b->queue[0] = 2;
  b->queue[1] = 5;
  assert_near(run_to_switch(b, 100), 5, EPS);
  assert_int_equal(b->request, 1);
  bench_free(b);
  /* The default minimum is 15 s. */
  b = bench_new(&m, "maxpressure", 0);
  b->queue[0] = 2;
  b->queue[1] = 5;
  assert_near(run_to_switch(b, 100), 15, EPS);
  bench_free(b);
}

/* Downstream queues count against a stage: 5 - 4 < 2, no switch. */
static void maxpressure_subtracts_downstream(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:maxred=1000,switch=0", 0);
  b->queue[0] = 2;
  b->arrivals[0] = 1; /* stage 0 discharges */
  b->queue[1] = 5;
  b->out_queue[1] = 4;
  assert_near(run_to_switch(b, 300), -1, EPS);
  b->out_queue[1] = 2;
  double sw = run_to_switch(b, 400);
  assert_true(sw >= 300 && sw < 305 + EPS);
  bench_free(b);
}

/* A change must gain `switch` vehicles of pressure: with switch=3 a stage
** ahead by 2 waits, one ahead by 4 gets the green at the next decision. */
static void maxpressure_switch_needs_gain(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:min=5,period=5,switch=3,maxred=1000", 0);
  b->queue[0] = 3;
  b->arrivals[0] = 1;
  b->queue[1] = 5;
  assert_near(run_to_switch(b, 40), -1, EPS);
  b->queue[1] = 7;
  double sw = run_to_switch(b, 100);
  assert_true(sw >= 40 && sw <= 45 + EPS);
  bench_free(b);
}

/* Decisions come every period after the minimum: pressures that turn at
** t = 7 are acted on at t = 10; equal pressures keep the current stage. */
static void maxpressure_decides_every_period(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:min=5,period=5,switch=0", 0);
  b->queue[0] = b->queue[1] = 3;
  b->arrivals[0] = 1;
  assert_near(run_to_switch(b, 7), -1, EPS);
  b->queue[1] = 4;
  assert_near(run_to_switch(b, 100), 10, EPS);
  bench_free(b);
}

/* Stage 1 has a small queue and never wins on pressure; it is asked for
** when it has waited maxred = 60 s, then stage 0 gets back after stage 1's
** minimum. */
static void maxpressure_bounds_red(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:min=5,maxred=60", 0);
  b->queue[0] = 10;
  b->queue[1] = 1;
  b->arrivals[0] = b->arrivals[1] = 1;
  assert_near(run_to_switch(b, 200), 60, EPS);
  assert_int_equal(b->request, 1);
  assert_near(run_to_switch(b, 200), 63 + 5, EPS);
  assert_int_equal(b->request, 0);
  bench_free(b);
}

/* Stage 0 has the larger queue, but its exit is blocked: nobody has crossed
** its detector since t = 12.  At the first decision after gap = 3 s without
** a passage (t = 15) its pressure counts as zero and stage 1 takes over. */
static void maxpressure_leaves_blocked_green(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:min=5,period=5,gap=3,maxred=1000,switch=0", 0);
  b->queue[0] = 10;
  b->queue[1] = 2;
  double sw = -1;
  while (sw < 0 && b->t < 100) {
    b->arrivals[0] = b->t <= 12 ? 1 : 0;
    sw = run_to_switch(b, b->t + b->dt);
  }
  assert_near(sw, 15, EPS);
  assert_int_equal(b->request, 1);
  bench_free(b);
}

static void maxpressure_use_count(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  for (int use = 0; use < 2; use++) {
    bench *b = bench_new(&m,
                         use ? "maxpressure:use_count=1,maxred=1000,min=5"
                             : "maxpressure:use_count=0,maxred=1000,min=5",
                         0);
    b->count[1] = 4;
    assert_near(run_to_switch(b, 100), use ? 5 : -1, EPS);
    bench_free(b);
  }
}

/* Cycle-based: a 60 s cycle less 2 x 3 s lost leaves 54 s; queues 6 and 3
** when stage 0 starts give stage 0 36 s and stage 1 18 s.  The plan holds
** for the cycle: stage 1's queue growing meanwhile does not lengthen it;
** the next cycle's plan follows the queues averaged over this one. */
static void maxpressure_cycle_based_splits(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "maxpressure:cycle=60,min=5", 0);
  b->queue[0] = 6;
  b->queue[1] = 3;
  b->out_queue[1] = 2; /* the shares take the upstream queues only */
  double avail = 60 - 2 * m.lost_s;
  double g0 = avail * 6 / 9, g1 = avail * 3 / 9;
  assert_near(run_to_switch(b, 20), -1, EPS);
  b->queue[1] = 30;
  assert_near(run_to_switch(b, 200), g0, EPS);
  double end1 = g0 + b->change_s + g1;
  assert_near(run_to_switch(b, 200), end1, EPS);
  /* The next cycle starts at end1 + 3 s = 60 s, and its plan follows the
  ** queues averaged over the steps since the first plan (t = 1 .. 60):
  ** stage 1 had 3 until t = 19, then 30. */
  double start2 = end1 + b->change_s;
  double p1 = (19 * 3 + (start2 - 19) * 30) / start2, p0 = 6;
  double want = start2 + avail * p0 / (p0 + p1);       /* 71.8; a snapshot would give 69 */
  assert_near(run_to_switch(b, 200), ceil(want), EPS); /* the first step at or after */
  bench_free(b);
}

/* ---- adaptive ----------------------------------------------------------- */

/* Webster's cycle and the cycle that keeps the critical degree of
** saturation at ds, as the test computes them. */
static double webster_target(double L, double Y, double ds, double cmin, double cmax) {
  double c = cmax;
  if (Y < ds) {
    double c0 = (1.5 * L + 5) / (1 - Y), cds = L / (1 - Y / ds);
    c = c0 > cds ? c0 : cds;
  }
  return c < cmin ? cmin : c > cmax ? cmax : c;
}

/* Runs an adaptive bench for `secs` with constant flows (vehicles per
** second crossing the detectors of groups 0 and 1) and detector gaps `gap`
** seconds.  With long gaps the greens gap out at their minimum, which does
** not change the plan, and use no green, so the flows alone set the plan;
** with gap 0 every green is used to its end. */
static void feed_flows_gap(bench *b, double q0, double q1, double gap, double secs) {
  double end = b->t + secs;
  while (b->t < end - EPS) {
    b->arrivals[0] = q0 * b->dt;
    b->arrivals[1] = q1 * b->dt;
    b->gap[0] = b->gap[1] = gap;
    bench_step(b);
  }
}

static void feed_flows(bench *b, double q0, double q1, double secs) {
  feed_flows_gap(b, q0, q1, 1e9, secs);
}

/* Group 0 has two lanes (s = 1 veh/s), group 1 one (0.5 veh/s); flows 0.42
** and 0.15 veh/s give y = 0.42 and 0.30, Y = 0.72, L = 2 x 3 s: Webster's
** C0 = 14 / 0.28 = 50 s.  From 90 s the cycle moves 80, 70, 60, 50 and
** stays; the splits end at Webster's (y_i / Y)(C - L) + 3 s. */
static void adaptive_cycle_moves_toward_webster(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 2);
  bench *b = bench_new(&m, "adaptive:cycle=90,lost=3,cmin=30,cmax=150", 0);
  feed_flows(b, 0.42, 0.15, 900);
  double L = 6, y0 = 0.42 / 1.0, y1 = 0.15 / 0.5, Y = y0 + y1;
  double c0 = webster_target(L, Y, 0.9, 30, 150);
  assert_near(c0, 50, 1e-9);
  int cyc[64];
  int n = event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64);
  assert_int_equal(n, 5);
  int want[5] = {90, 80, 70, 60, 50};
  for (int i = 0; i < 5; i++) assert_int_equal(cyc[i], want[i]);
  int s0[256], s1[256];
  int n0 = event_params(b, GW_EV_SPLIT_CHANGE + 0, s0, 256);
  int n1 = event_params(b, GW_EV_SPLIT_CHANGE + 1, s1, 256);
  assert_true(n0 >= 2 && n1 >= 2);
  assert_int_equal(s0[n0 - 1], (int)lround(y0 / Y * (c0 - L) + 3));
  assert_int_equal(s1[n1 - 1], (int)lround(y1 / Y * (c0 - L) + 3));
  bench_free(b);
}

/* Y = 0.9 >= ds: the target is cmax = 75; from 40 the cycle goes 50, 60,
** 70, 75.  Y = 0.04: Webster wants 14.6 s, clamped to cmin = 45. */
static void adaptive_cycle_is_clamped(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "adaptive:cycle=40,lost=3,cmin=30,cmax=75", 0);
  feed_flows(b, 0.3, 0.15, 900);
  int cyc[64], want[5] = {40, 50, 60, 70, 75};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 5);
  for (int i = 0; i < 5; i++) assert_int_equal(cyc[i], want[i]);
  bench_free(b);

  b = bench_new(&m, "adaptive:cycle=90,lost=3,cmin=45,cmax=150", 0);
  feed_flows(b, 0.01, 0.01, 900);
  int want2[6] = {90, 80, 70, 60, 50, 45};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 6);
  for (int i = 0; i < 6; i++) assert_int_equal(cyc[i], want2[i]);
  bench_free(b);

  /* step=4: from 90 towards 50, 4 s per cycle. */
  model2(&m, 2);
  b = bench_new(&m, "adaptive:cycle=90,lost=3,step=4", 0);
  feed_flows(b, 0.42, 0.15, 600);
  int n = event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64);
  assert_true(n >= 5);
  for (int i = 1; i < n; i++) assert_int_equal(cyc[i], 90 - 4 * i);
  bench_free(b);
}

/* A lower target degree of saturation asks for a longer cycle than
** Webster's: Y = 0.5 and L = 6 s give C0 = 28 s, but X <= 0.6 needs
** L / (1 - Y / 0.6) = 36 s.  Group 1 has no detector: its flow is read from
** the rises of the vehicles on its approach, which empties at each green. */
static void adaptive_target_ds_and_counts(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "adaptive:cycle=60,lost=3,ds=0.6,cmin=20,step=5", 0);
  b->has_det[1] = 0;
  double q0 = 0.15, q1 = 0.1;
  while (b->t < 900) {
    b->arrivals[0] = q0 * b->dt;
    b->gap[0] = 1e9;
    b->count[1] = b->st.stage == 1 && !b->st.in_transition ? 0 : b->count[1] + q1 * b->dt;
    bench_step(b);
  }
  double Y = q0 / 0.5 + q1 / 0.5, L = 6;
  assert_near(webster_target(L, Y, 1, 20, 150), 28, 1e-9);
  assert_near(webster_target(L, Y, 0.6, 20, 150), 36, 1e-9);
  int cyc[64], want[6] = {60, 55, 50, 45, 40, 36};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 6);
  for (int i = 0; i < 6; i++) assert_int_equal(cyc[i], want[i]);
  bench_free(b);
}

/* Counts at the stop line are capped by the green: the same low counts
** with detectors busy to the end of every green (saturation) make the
** cycle grow to cmax, 10 s per cycle; with idle detectors it falls to
** cmin, and so it does when the detectors are occupied by vehicles that
** stand (gap 0, nobody crossing). */
static void adaptive_saturation_lengthens_cycle(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  for (int mode = 0; mode < 3; mode++) {
    int busy = mode == 1;
    bench *b = bench_new(&m, "adaptive:cycle=60,lost=3,cmin=40,cmax=100", 0);
    double q = mode == 2 ? 0 : 0.05;
    feed_flows_gap(b, q, q, mode ? 0 : 1e9, 1500);
    int cyc[64], up[5] = {60, 70, 80, 90, 100}, down[3] = {60, 50, 40};
    int n = event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64);
    assert_int_equal(n, busy ? 5 : 3);
    for (int i = 0; i < n; i++) assert_int_equal(cyc[i], busy ? up[i] : down[i]);
    bench_free(b);
  }
}

/* A queue that takes 4 s to start up (nobody crosses the stop-line
** detector, gap 0) and then discharges to the end of the green has used
** all of it: the cycle grows to cmax.  (Were the start-up not counted,
** Y = (C - L - 8) / C would hold C0 at about C.) */
static void adaptive_start_up_counts_as_used(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "adaptive:cycle=60,lost=3,cmax=100", 0);
  while (b->t < 1500) {
    for (uint32_t g = 0; g < 2; g++) {
      int on = b->st.lamp[g] == GW_LAMP_GREEN && b->t - b->st.lamp_since_t[g] >= 4 - EPS;
      b->arrivals[g] = on ? 0.1 * b->dt : 0;
      b->gap[g] = 0;
    }
    bench_step(b);
  }
  int cyc[64], want[5] = {60, 70, 80, 90, 100};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 5);
  for (int i = 0; i < 5; i++) assert_int_equal(cyc[i], want[i]);
  bench_free(b);
}

/* A main road (stage 0, y = 0.2) crossing three quiet stages held at their
** 5 s minimum: Webster's C0 = (1.5 x 12 + 5) / 0.8 = 28.75 s would leave the
** main road 3.75 s after the minimums, X = 1.2.  The cycle that keeps its
** X at ds = 0.9 beside the minimums is (12 + 15) / (1 - 0.2 / 0.9) = 34.7 s,
** and the cycle goes there (60, 50, 40, 35) instead of to 29. */
static void adaptive_cycle_leaves_room_beside_minimum_greens(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "adaptive:cycle=60,lost=3,cmin=20", 0);
  while (b->t < 900) {
    b->arrivals[0] = 0.1 * b->dt;
    bench_step(b);
  }
  double L = 12, y0 = 0.1 / 0.5;
  double c0 = webster_target(L, y0, 1, 0, 1e9), creq = (L + 3 * 5) / (1 - y0 / 0.9);
  assert_near(c0, 28.75, 1e-9);
  assert_true(y0 * creq / 0.9 >= 5);
  int cyc[64], want[4] = {60, 50, 40, (int)lround(creq)};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 4);
  for (int i = 0; i < 4; i++) assert_int_equal(cyc[i], want[i]);
  bench_free(b);
}

/* Without lost=, the lost time is the model's intergreens: yellow 3 s plus
** all-red 2 s (0 -> 1) and 1 s (1 -> 0), L = 9 s.  Flows with Y = 0.63 give
** C0 = (13.5 + 5) / 0.37 = 50 s, and splits g_i + the change after stage i. */
static void adaptive_lost_time_from_model(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  m.allred_s[0][1] = 2;
  m.allred_s[1][0] = 1;
  bench *b = bench_new(&m, "adaptive:cycle=80", 0);
  feed_flows(b, 0.18, 0.135, 900);
  double L = 9, y0 = 0.36, y1 = 0.27, Y = y0 + y1;
  double c0 = webster_target(L, Y, 0.9, 40, 150);
  assert_near(c0, 50, 1e-9);
  int cyc[64], want[4] = {80, 70, 60, 50};
  assert_int_equal(event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64), 4);
  for (int i = 0; i < 4; i++) assert_int_equal(cyc[i], want[i]);
  int s0[256], s1[256];
  int n0 = event_params(b, GW_EV_SPLIT_CHANGE + 0, s0, 256);
  int n1 = event_params(b, GW_EV_SPLIT_CHANGE + 1, s1, 256);
  assert_int_equal(s0[n0 - 1], (int)lround(y0 / Y * (c0 - L) + 5));
  assert_int_equal(s1[n1 - 1], (int)lround(y1 / Y * (c0 - L) + 4));
  bench_free(b);
}

/* The change from a through stage to its protected left turn ends the
** through group and upgrades the left from 'g' to 'G', which waits for the
** all-red from the through group: 3 + 2 s.  Then 1 -> 2: 3 + 1 s, and
** 2 -> 0: 3 + 2 s.  L = 14 s, and a 95 s cycle from program greens of 20 s
** each gives greens of 27 s: splits 32, 31, 32 at the first step. */
static void adaptive_lost_time_counts_upgrades(void **state) {
  (void)state;
  gw_signal_model m;
  model_left(&m);
  m.allred_s[0][1] = 2;
  m.allred_s[1][2] = 1;
  m.allred_s[2][0] = m.allred_s[2][1] = 2;
  bench *b = bench_new(&m, "adaptive:cycle=95", 0);
  bench_step(b);
  int sp[4];
  int want[3] = {32, 31, 32};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(event_params(b, GW_EV_SPLIT_CHANGE + i, sp, 4), 1);
    assert_int_equal(sp[0], want[i]);
  }
  bench_free(b);
}

/* Stage 0 has no traffic: it gaps out at its 5 s minimum, and stage 1
** keeps its planned end (60 s cycle, lost 3 s, program greens 20/20 ->
** 27/27: end at 27 + 3 + 27 = 57 s), so it gets the 22 s saved. */
static void adaptive_gap_out_gives_time_to_next(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  bench *b = bench_new(&m, "adaptive:cycle=60,lost=3,offset=0", 0);
  b->gap[1] = 0;
  assert_near(run_to_switch(b, 100), 5, EPS);
  assert_int_equal(count_events(b, GW_EV_GAP_OUT, 1), 1);
  assert_near(run_to_switch(b, 100), 57, EPS);
  assert_int_equal(count_events(b, GW_EV_MAX_OUT, 2), 1);
  bench_free(b);
}

/* A turn stage (group 1: permissive in stage 0, protected in stage 1) is
** served only for a queue worth its change: with 4 s changes and a 2 s
** headway, two vehicles.  One turner on its loop is skipped (stage 2 next);
** two are served; one that has waited `turnwait` seconds is served. */
static void adaptive_turn_stage_needs_a_queue(void **state) {
  (void)state;
  gw_signal_model m;
  model_left(&m);
  for (int queued = 1; queued <= 2; queued++) {
    bench *b = bench_new(&m, "adaptive:lost=4,offset=0", 0);
    b->queue[1] = queued;
    b->gap[1] = 0;
    b->occupancy[1] = 1;
    b->queue[2] = 3;
    assert_near(run_to_switch(b, 100), 5, EPS); /* stage 0 gaps out at its minimum */
    assert_int_equal(b->request, queued == 1 ? 2 : 1);
    bench_free(b);
  }
  /* Stage 0 busy to its planned end, 21 s (63 s of green in three). */
  for (int wait = 0; wait <= 1; wait++) {
    bench *b = bench_new(
        &m, wait ? "adaptive:lost=4,offset=0,turnwait=20" : "adaptive:lost=4,offset=0", 0);
    b->gap[0] = 0;
    b->arrivals[0] = 1;
    b->queue[1] = 1;
    b->queue[2] = 3;
    assert_near(run_to_switch(b, 100), 21, EPS);
    assert_int_equal(b->request, wait ? 1 : 2);
    bench_free(b);
  }
  /* Without lane counts in the view a turn stage is called like any other. */
  bench *b = bench_new(&m, "adaptive:lost=4,offset=0", 0);
  b->gap[1] = 0;
  b->occupancy[1] = 1;
  b->queue[2] = 3;
  gw_ctl_view v = bench_view(b);
  v.queue = NULL;
  uint32_t s = 0;
  for (int k = 0; k < 6; k++) {
    assert_int_equal(gw_controller_step(b->ctl, &v, &s), GW_OK);
    v.t += 1;
    b->st.stage_since_t = 0;
  }
  assert_int_equal(s, 1);
  bench_free(b);
}

/* Coordinated: cycle 90, offset 10.  Flows that change at random times and
** random gaps make the splits move and the middle stages gap out, yet from
** the second cycle on stage 0's green starts at 10 + 90 k every cycle, and
** the cycle is never changed.  (Flows stay above 0.06 veh/s so that no
** stage runs at its minimum: a last stage at its minimum that starts late by
** a step's rounding would push stage 0 by that step.) */
static void adaptive_coordinated_holds_offset(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  bench *b = bench_new(&m, "adaptive:coord=1,cycle=90,offset=10,lost=3", 0);
  b->change_s = 3;
  rng r = {7};
  int starts = 0;
  double rate[4] = {0.1, 0.07, 0.12, 0.08};
  while (b->t < 3000) {
    for (uint32_t g = 0; g < 4; g++) {
      if (rchance(&r, 0.01)) rate[g] = 0.06 + 0.09 * runif(&r);
      b->arrivals[g] = rate[g] * b->dt;
      b->gap[g] = rchance(&r, 0.15) ? 0 : b->gap[g] + b->dt;
    }
    uint32_t before = b->st.stage;
    bench_step(b);
    if (b->st.stage == 0 && before != 0 && !b->st.in_transition && b->t > 100) {
      double k = (b->st.stage_since_t - 10) / 90;
      assert_near(k, round(k), 1e-9);
      starts++;
    }
  }
  assert_true(starts >= 30);
  assert_int_equal(count_events(b, GW_EV_CYCLE_CHANGE, -1), 1);
  assert_true(count_events(b, GW_EV_GAP_OUT, -1) > 10);
  assert_true(count_events(b, GW_EV_SPLIT_CHANGE + 1, -1) > 1);
  bench_free(b);
}

/* ---- all controllers ---------------------------------------------------- */

static void one_stage_is_always_stage_0(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  m.nstages = 1;
  const char *specs[] = {"actuated", "maxpressure", "maxpressure:cycle=1", "adaptive",
                         "adaptive:coord=1"};
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    bench *b = bench_new(&m, specs[i], 0);
    b->queue[1] = 5;
    b->queue[0] = 1;
    for (int k = 0; k < 500; k++) assert_int_equal(bench_step(b), 0);
    bench_free(b);
  }
}

static void bad_parameters_are_refused(void **state) {
  (void)state;
  gw_signal_model m;
  model2(&m, 1);
  const char *bad[] = {
      "actuated:gap=0",      "actuated:max=-3",           "actuated:speed=3",
      "maxpressure:cycle=5", "maxpressure:period=0",      "adaptive:cmin=100,cmax=50",
      "adaptive:ds=1.5",     "adaptive:coord=1,cycle=12", "adaptive:alpha=abc"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    gw_controller *c = NULL;
    gw_error err = {0};
    int rc = gw_controller_create(bad[i], &m, NULL, &c, &err);
    if (rc != GW_EINVAL) fail_msg("%s: rc %d", bad[i], rc);
    assert_null(c);
    assert_true(strlen(err.msg) > 10);
  }
  gw_signal_model none = m;
  none.nstages = 0;
  const char *names[] = {"actuated", "maxpressure", "adaptive"};
  for (size_t i = 0; i < 3; i++) {
    gw_controller *c = NULL;
    gw_error err = {0};
    assert_int_equal(gw_controller_create(names[i], &none, NULL, &c, &err), GW_EINVAL);
  }
}

/* Every controller against the real monitor, stepped as control.c does:
** status, controller, request, monitor step.  With traffic everywhere every
** stage is shown; the adaptive cycle, stage 0 start to stage 0 start, lasts
** the planned cycle (to the step), since its lost time is the monitor's. */
static void controllers_drive_real_monitor(void **state) {
  (void)state;
  gw_signal_model m;
  model4(&m);
  const char *specs[] = {"actuated", "maxpressure", "maxpressure:cycle=80", "adaptive:gap=3"};
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    bench *b = bench_new(&m, specs[i], 0);
    b->dt = 0.5;
    gw_monitor *mon;
    assert_int_equal(gw_monitor_create(&b->m, 0, 0, NULL, NULL, &mon), GW_OK);
    int shown[4] = {0};
    double last_start = -1, cycle = -1;
    int cycles = 0;
    uint32_t prev = 0;
    for (int k = 0; k < 4000; k++) {
      for (uint32_t g = 0; g < 5; g++) {
        b->queue[g] = 2 + (g == 0);
        b->arrivals[g] = k % (int)(3 + g) == 0;
        b->gap[g] = (double)(k % (int)(3 + g)) * b->dt;
      }
      gw_monitor_status_get(mon, &b->st);
      gw_ctl_view v = bench_view(b);
      uint32_t s = 999;
      assert_int_equal(gw_controller_step(b->ctl, &v, &s), GW_OK);
      assert_true(s < m.nstages);
      if (s != b->st.target) assert_int_equal(gw_monitor_request(mon, s, b->t), GW_OK);
      gw_monitor_step(mon, b->t);
      gw_monitor_status st;
      gw_monitor_status_get(mon, &st);
      if (!st.in_transition) shown[st.stage] = 1;
      if (!st.in_transition && st.stage == 0 && prev != 0) {
        if (last_start >= 0 && cycle > 0) {
          double len = b->t - last_start; /* the cycle's events are rounded */
          assert_true(len >= cycle - 0.5 - EPS && len <= cycle + 0.5 + b->dt + EPS);
          cycles++;
        }
        last_start = b->t;
        int cyc[64];
        int n = event_params(b, GW_EV_CYCLE_CHANGE, cyc, 64);
        cycle = n > 0 && strncmp(specs[i], "adaptive", 8) == 0 ? cyc[n - 1] : -1;
      }
      if (!st.in_transition) prev = st.stage;
      b->t += b->dt;
    }
    for (int s = 0; s < 4; s++)
      if (!shown[s]) fail_msg("%s never showed stage %d", specs[i], s);
    if (strncmp(specs[i], "adaptive", 8) == 0) assert_true(cycles >= 5);
    gw_monitor_destroy(mon);
    bench_free(b);
  }
}

/* ---- property tests ----------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  unsigned long long x = strtoull(v, &end, 10);
  return *end ? dflt : (uint64_t)x;
}

static void random_model(rng *r, gw_signal_model *m) {
  memset(m, 0, sizeof *m);
  m->id = "random";
  m->ngroups = 1 + rbelow(r, 12);
  m->nlinks = m->ngroups;
  for (uint32_t g = 0; g < m->ngroups; g++) {
    group(m, g, rbelow(r, 4));
    m->groups[g].min_green_s = 1 + rbelow(r, 8);
    m->groups[g].yellow_s = 2 + rbelow(r, 4);
    for (uint32_t h = 0; h < m->ngroups; h++)
      if (h != g) m->allred_s[g][h] = 0.5 * rbelow(r, 7);
  }
  m->nstages = 1 + rbelow(r, 8);
  uint64_t all = (1ull << m->ngroups) - 1;
  for (uint32_t s = 0; s < m->nstages; s++) {
    gw_stage *st = &m->stages[s];
    st->green = rnext(r) & all;
    if (!st->green) st->green = 1ull << rbelow(r, m->ngroups);
    st->minor = rchance(r, 0.3) ? rnext(r) & st->green : 0;
    st->green_s = rchance(r, 0.1) ? 0 : 5 + rbelow(r, 56);
    st->min_s = rchance(r, 0.2) ? 0 : 1 + rbelow(r, 10);
    st->max_s = rchance(r, 0.2) ? 0 : 10 + rbelow(r, 100);
  }
  m->cycle_s = rchance(r, 0.2) ? 0 : 30 + rbelow(r, 120);
  m->offset_s = rbelow(r, 100);
  m->lost_s = rbelow(r, 7);
}

/* A reading, sometimes broken. */
static double noisy(rng *r, double x) {
  if (rchance(r, 0.002)) return NAN;
  if (rchance(r, 0.002)) return rchance(r, 0.5) ? INFINITY : -INFINITY;
  if (rchance(r, 0.002)) return -x - 1;
  return x;
}

static double fin(double x) { return isfinite(x) ? x : 0; }

/* What the test knows of the controller it made. */
typedef struct plan {
  char spec[256];
  int kind;                       /* 0 actuated, 1 maxpressure, 2 adaptive */
  double min, max;                /* actuated / maxpressure / adaptive min; actuated max */
  double cmin, cmax, step, floor; /* adaptive, free mode */
  int coord;
} plan;

static void random_plan(rng *r, const gw_signal_model *m, int kind, plan *p) {
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->min = 1 + rbelow(r, 10);
  if (kind == 0) {
    p->max = p->min + rbelow(r, 60);
    snprintf(p->spec, sizeof p->spec, "actuated:min=%g,max=%g,gap=%g%s", p->min, p->max,
             0.5 + rbelow(r, 8), rchance(r, 0.3) ? ",recall=1" : "");
  } else if (kind == 1) {
    int cyc = rchance(r, 0.3);
    snprintf(p->spec, sizeof p->spec, "maxpressure:min=%g,period=%g,maxred=%g%s%s", p->min,
             0.5 + rbelow(r, 10), 20.0 + rbelow(r, 200), rchance(r, 0.3) ? ",use_count=1" : "",
             cyc ? (rchance(r, 0.5) ? ",cycle=1" : ",cycle=45") : "");
  } else {
    double lost = rbelow(r, 6);
    p->cmin = 20 + rbelow(r, 60);
    p->cmax = p->cmin + rbelow(r, 100);
    p->step = 1 + rbelow(r, 15);
    p->coord = rchance(r, 0.3);
    double L = m->nstages > 1 ? m->nstages * lost : 0, sum = 0;
    for (uint32_t s = 0; s < m->nstages; s++) {
      double mn = p->min;
      for (uint32_t g = 0; g < m->ngroups; g++)
        if ((m->stages[s].green >> g & 1) && m->groups[g].min_green_s > mn)
          mn = m->groups[g].min_green_s;
      sum += mn;
    }
    p->floor = L + sum;
    snprintf(p->spec, sizeof p->spec,
             "adaptive:min=%g,lost=%g,cmin=%g,cmax=%g,step=%g,alpha=%g,ds=%g,gap=%g%s", p->min,
             lost, p->cmin, p->cmax, p->step, 0.1 + 0.9 * runif(r), 0.7 + 0.3 * runif(r),
             0.5 + rbelow(r, 6), p->coord ? ",coord=1,cycle=120" : "");
  }
}

/* Does group g call now, by the controllers' rule? */
static int calls_now(const bench *b, uint32_t g) {
  if (b->has_det[g]) return fin(b->occupancy[g]) > 0 || fin(b->queue[g]) > 0;
  return fin(b->queue[g]) > 0 || fin(b->count[g]) > 0;
}

/* Runs random intersections for `steps` steps; returns a hash of every
** request. */
static uint64_t property_run(int kind, uint64_t seed, uint64_t steps) {
  rng r = {seed * 1000 + (uint64_t)kind};
  uint64_t hash = 1469598103934665603ull, done = 0;
  static const double dts[] = {0.1, 0.25, 0.5, 1.0};
  while (done < steps) {
    gw_signal_model m;
    random_model(&r, &m);
    plan p;
    random_plan(&r, &m, kind, &p);
    gw_controller *probe = NULL;
    gw_error err = {0};
    int rc = gw_controller_create(p.spec, &m, NULL, &probe, &err);
    if (rc) {
      /* Only a coordinated cycle too short for this intersection may fail. */
      if (!(kind == 2 && p.coord && p.floor > 120 - EPS)) fail_msg("%s: %s", p.spec, err.msg);
      continue;
    }
    gw_controller_destroy(probe);
    bench *b = bench_new(&m, p.spec, rbelow(&r, m.nstages));
    b->dt = dts[rbelow(&r, 4)];
    b->change_s = 2 + rbelow(&r, 7);
    b->t = b->st.stage_since_t = runif(&r) * 1000;
    b->st.stage_since_t -= 100;
    for (uint32_t g = 0; g < m.ngroups; g++) b->has_det[g] = !rchance(&r, 0.3);
    uint32_t n = 500 + rbelow(&r, 3000);
    int last_cycle = -1;
    for (uint32_t k = 0; k < n; k++, done++) {
      for (uint32_t g = 0; g < m.ngroups; g++) {
        if (rchance(&r, 0.1)) b->queue[g] = noisy(&r, rbelow(&r, 3) ? 0 : rbelow(&r, 8));
        if (rchance(&r, 0.1)) b->count[g] = noisy(&r, rbelow(&r, 12));
        if (rchance(&r, 0.05)) b->out_queue[g] = noisy(&r, rbelow(&r, 6));
        if (rchance(&r, 0.05)) b->out_count[g] = noisy(&r, rbelow(&r, 10));
        int car = rchance(&r, 0.15);
        b->arrivals[g] = noisy(&r, car);
        b->occupancy[g] = noisy(&r, car ? runif(&r) : 0);
        b->gap[g] = noisy(&r, car ? 0 : fin(b->gap[g]) + b->dt);
        if (rchance(&r, 0.0005)) b->has_det[g] ^= 1;
      }
      uint32_t cur = b->st.stage;
      int changing = b->st.in_transition;
      double green_t = b->t - b->st.stage_since_t;
      int other_call = 0;
      for (uint32_t g = 0; g < m.ngroups; g++)
        if (!(m.stages[cur].green >> g & 1) && calls_now(b, g))
          for (uint32_t s = 0; s < m.nstages; s++)
            if (s != cur && (m.stages[s].green >> g & 1)) other_call = 1;
      uint32_t s = bench_step(b); /* asserts s < nstages */
      hash = (hash ^ s) * 1099511628211ull;
      if (!changing && s != cur && green_t < p.min - EPS)
        fail_msg("%s left stage %u after %.2f s < min %.2f", p.spec, cur, green_t, p.min);
      if (kind == 0 && !changing && other_call && green_t > p.max + EPS && s == cur)
        fail_msg("%s held stage %u for %.2f s > max %.2f with a call", p.spec, cur, green_t, p.max);
    }
    if (kind == 2 && !p.coord) {
      for (int i = 0; i < b->nev; i++) {
        if (b->ev[i].code != GW_EV_CYCLE_CHANGE) continue;
        int c = b->ev[i].param;
        double lo = p.cmin > p.floor ? p.cmin : p.floor;
        double hi = p.cmax > p.floor ? p.cmax : p.floor;
        if (c < lround(lo) - 1 || c > lround(hi) + 1)
          fail_msg("%s: cycle %d outside [%g, %g]", p.spec, c, lo, hi);
        if (last_cycle >= 0 && abs(c - last_cycle) > p.step + 1)
          fail_msg("%s: cycle moved %d -> %d", p.spec, last_cycle, c);
        last_cycle = c;
      }
    }
    bench_free(b);
  }
  return hash;
}

static void property(int kind) {
  uint64_t steps = env_u64("GW_CTL_PROPERTY_STEPS", 100000);
  uint64_t seed = env_u64("GW_PROPERTY_SEED", 1);
  uint64_t h1 = property_run(kind, seed, steps);
  uint64_t h2 = property_run(kind, seed, steps);
  assert_true(h1 == h2); /* deterministic */
}

static void actuated_random_property(void **state) {
  (void)state;
  property(0);
}
static void maxpressure_random_property(void **state) {
  (void)state;
  property(1);
}
static void adaptive_random_property(void **state) {
  (void)state;
  property(2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(actuated_gaps_out_exactly_at_gap),
      cmocka_unit_test(actuated_serves_min_green),
      cmocka_unit_test(actuated_maxes_out_and_skips),
      cmocka_unit_test(actuated_rests_without_demand),
      cmocka_unit_test(actuated_latches_calls),
      cmocka_unit_test(actuated_cycles_in_order),
      cmocka_unit_test(actuated_calls_protected_left),
      cmocka_unit_test(maxpressure_picks_larger_pressure_after_min),
      cmocka_unit_test(maxpressure_subtracts_downstream),
      cmocka_unit_test(maxpressure_decides_every_period),
      cmocka_unit_test(maxpressure_switch_needs_gain),
      cmocka_unit_test(maxpressure_bounds_red),
      cmocka_unit_test(maxpressure_leaves_blocked_green),
      cmocka_unit_test(maxpressure_left_waits_for_protected_stage),
      cmocka_unit_test(maxpressure_use_count),
      cmocka_unit_test(maxpressure_cycle_based_splits),
      cmocka_unit_test(adaptive_cycle_moves_toward_webster),
      cmocka_unit_test(adaptive_cycle_is_clamped),
      cmocka_unit_test(adaptive_target_ds_and_counts),
      cmocka_unit_test(adaptive_lost_time_from_model),
      cmocka_unit_test(adaptive_saturation_lengthens_cycle),
      cmocka_unit_test(adaptive_start_up_counts_as_used),
      cmocka_unit_test(adaptive_cycle_leaves_room_beside_minimum_greens),
      cmocka_unit_test(adaptive_lost_time_counts_upgrades),
      cmocka_unit_test(adaptive_gap_out_gives_time_to_next),
      cmocka_unit_test(adaptive_coordinated_holds_offset),
      cmocka_unit_test(adaptive_turn_stage_needs_a_queue),
      cmocka_unit_test(one_stage_is_always_stage_0),
      cmocka_unit_test(bad_parameters_are_refused),
      cmocka_unit_test(controllers_drive_real_monitor),
      cmocka_unit_test(actuated_random_property),
      cmocka_unit_test(maxpressure_random_property),
      cmocka_unit_test(adaptive_random_property),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

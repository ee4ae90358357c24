/*
** test_carfollow.c -- the Krauss safe-speed formulas against slow references.
**
** Why these tests: gw__cf_stop_speed solves a quadratic for the number of
** braking steps; an off-by-one in that count, or a wrong remainder, lets a
** vehicle overshoot a red light by a step's travel or makes it crawl.  The
** references here know nothing of the closed form: they simulate braking
** step by step and find the largest admissible speed by bisection.
**
** The contract (carfollow.h): the new speed x is kept for `headway` seconds
** and then lowered by b = decel*dt every step.  With headway = dt + H this
** is the Euler staircase x, x-b, x-2b, ... (each step moving speed*dt) plus
** x*H, which is how the simulator stops at a line (H = 0) and follows a
** leader (headway = tau).  The follow speed is checked by simulating the
** worst case the model promises to survive (the leader braking as hard as it
** can from now on) and requiring the gap never to go negative.  The
** next-speed rule is checked for its bounds on random inputs.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/carfollow.h"

static const double GAP_EPS = 1e-3; /* the slack documented in carfollow.c */

static uint64_t rs = 0x853c49e6748fea9bULL;
static double urand(double lo, double hi) { /* the test's own xorshift64* */
  rs ^= rs >> 12;
  rs ^= rs << 25;
  rs ^= rs >> 27;
  uint64_t x = rs * 2685821657736338717ULL;
  return lo + (hi - lo) * (double)(x >> 11) / 9007199254740992.0;
}
static double pick_dt(void) {
  static const double dts[] = {0.1, 0.5, 1.0};
  return dts[(int)urand(0, 3) % 3];
}

/* Distance covered when the first step's speed is `v` and every later step
** is `b = decel*dt` slower, until standing: v, v-b, v-2b, ... > 0, each
** step moving speed*dt.  Simulated, not summed in closed form. */
static double staircase(double v, double decel, double dt) {
  double d = 0, b = decel * dt;
  for (double s = v; s > 0; s -= b) d += s * dt;
  return d;
}

/* Largest v whose staircase plus v*extra fits in gap - GAP_EPS. */
static double ref_staircase_speed(double gap, double decel, double dt, double extra) {
  double room = gap - GAP_EPS;
  if (room <= 0) return 0;
  double lo = 0, hi = 1;
  while (staircase(hi, decel, dt) + hi * extra <= room) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
    double mid = (lo + hi) / 2;
    if (staircase(mid, decel, dt) + mid * extra <= room) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Distance to stand still from current speed v: the next speeds are v-b,
** v-2b, ... (the Euler update moves with the new speed). */
static double ref_brake_gap(double v, double decel, double dt, double headway) {
  double d = 0, b = decel * dt;
  for (double s = v - b; s > 0; s -= b) d += s * dt;
  return d + v * headway;
}

/* The header's model read literally: keep x for `headway` s, then x-b, ... */
static double ref_stop_speed(double gap, double decel, double dt, double headway) {
  double room = gap - GAP_EPS;
  if (room <= 0) return 0;
  double lo = 0, hi = 1;
  while (ref_brake_gap(hi, decel, dt, headway) <= room) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
    double mid = (lo + hi) / 2;
    if (ref_brake_gap(mid, decel, dt, headway) <= room) lo = mid;
    else hi = mid;
  }
  return lo;
}

static void brake_gap_matches_staircase(void **state) {
  (void)state;
  for (int i = 0; i < 20000; i++) {
    double v = urand(0, 40), decel = urand(0.5, 9), dt = pick_dt(), h = urand(0, 2);
    double got = gw__cf_brake_gap(v, decel, dt, h), want = ref_brake_gap(v, decel, dt, h);
    if (fabs(got - want) > 1e-6)
      fail_msg("brake_gap(v=%.17g, decel=%.17g, dt=%g, h=%.17g) = %.17g, staircase %.17g", v, decel,
               dt, h, got, want);
  }
  /* Worked by hand: 10 m/s, 4 m/s^2, 1 s: speeds 6, 2 -> 8 m. */
  assert_true(fabs(gw__cf_brake_gap(10, 4, 1, 0) - 8) < 1e-12);
  assert_true(fabs(gw__cf_brake_gap(10, 4, 1, 1.5) - 23) < 1e-12);
  assert_true(gw__cf_brake_gap(0, 4, 1, 1) == 0);
}

static void stop_speed_matches_staircase(void **state) {
  (void)state;
  /* The simulator's use: headway = dt + H, i.e. the Euler staircase plus v*H. */
  for (int i = 0; i < 20000; i++) {
    /* Mostly realistic gaps, some tiny ones near the slack. */
    double gap = i % 10 == 0 ? urand(0, 0.01) : urand(0, 300);
    double decel = urand(0.5, 9), dt = pick_dt(), h = i % 3 == 0 ? 0 : urand(0, 2.5);
    double got = gw__cf_stop_speed(gap, decel, dt, dt + h);
    double want = ref_staircase_speed(gap, decel, dt, h);
    if (!(fabs(got - want) <= 1e-6))
      fail_msg("stop_speed(gap=%.17g, decel=%.17g, dt=%g, headway=dt+%.17g) = %.17g, bisection "
               "%.17g",
               gap, decel, dt, h, got, want);
  }
  /* Worked by hand: decel 4.5, dt 1, headway dt, gap 9.001 (9 m of room).
  ** Speeds v', v'-4.5 with v' = 4.5 + r cover 2r + 4.5 = 9, so r = 2.25 and
  ** v' = 6.75 (6.75 + 2.25 = 9 m). */
  assert_true(fabs(gw__cf_stop_speed(9.001, 4.5, 1, 1) - 6.75) < 1e-9);
  assert_true(gw__cf_stop_speed(0.0005, 4.5, 1, 1) == 0);
  assert_true(gw__cf_stop_speed(-3, 4.5, 1, 1) == 0);
}

static void stop_speed_matches_model(void **state) {
  (void)state;
  /* Any headway, including ones shorter than the step. */
  for (int i = 0; i < 20000; i++) {
    double gap = i % 10 == 0 ? urand(0, 0.01) : urand(0, 300);
    double decel = urand(0.5, 9), dt = pick_dt(), h = i % 5 == 0 ? 0 : urand(0, 3);
    double got = gw__cf_stop_speed(gap, decel, dt, h);
    double want = ref_stop_speed(gap, decel, dt, h);
    if (!(fabs(got - want) <= 1e-6))
      fail_msg("stop_speed(gap=%.17g, decel=%.17g, dt=%g, headway=%.17g) = %.17g, bisection "
               "%.17g",
               gap, decel, dt, h, got, want);
  }
}

static void stop_speed_stops_in_time(void **state) {
  (void)state;
  /* Drive at the stop speed every step towards a fixed line: the vehicle
  ** must never pass it and must end within a small distance of it. */
  for (int i = 0; i < 2000; i++) {
    double line = urand(1, 200), decel = urand(1, 9), dt = pick_dt();
    double pos = 0, v = urand(0, 20);
    int k = 0;
    do {
      double vs = gw__cf_stop_speed(line - pos, decel, dt, dt);
      v = v + 2.6 * dt < vs ? v + 2.6 * dt : vs;
      pos += v * dt;
      assert_true(pos <= line + 1e-9);
    } while (v > 1e-9 && ++k < 1000000);
    /* It stands still at the line, less the slack (rounding may leave
    ** femtometres of room, hence "still" is below 1e-9 m/s). */
    if (v > 1e-9) fail_msg("line %.17g decel %.17g dt %g: still at %.17g m/s at %.17g m", line, decel, dt, v, pos);
    if (!(line - pos <= 2 * GAP_EPS)) fail_msg("stopped %.17g m before the line", line - pos);
  }
}

static double worst_gap(double gap, double v_lead, double lead_decel, double vf, double decel,
                        double dt) {
  double g = gap, vl = v_lead, min = gap;
  for (int k = 0; k < 100000 && (vf > 0 || vl > 0); k++) {
    vl -= lead_decel * dt; /* the leader's new speed this step */
    if (vl < 0) vl = 0;
    if (k > 0) vf -= decel * dt; /* the follower's first step is at vf itself */
    if (vf < 0) vf = 0;
    g += (vl - vf) * dt;
    if (g < min) min = g;
  }
  return min;
}

static void follow_speed_never_collides(void **state) {
  (void)state;
  /* tau >= dt: as in SUMO, a reaction time shorter than the step is not safe. */
  for (int i = 0; i < 20000; i++) {
    double gap = urand(0, 120), vl = urand(0, 30), decel = urand(1, 9), ldecel = urand(1, 9);
    double dt = pick_dt(), tau = i % 4 == 0 ? dt : dt + urand(0, 2);
    double vf = gw__cf_follow_speed(gap, vl, decel, ldecel, dt, tau);
    assert_true(vf >= 0);
    double g = worst_gap(gap, vl, ldecel, vf, decel, dt);
    if (g < -1e-9)
      fail_msg("follow_speed(gap=%.17g, vl=%.17g, decel=%g, ldecel=%g, dt=%g, tau=%g) = %.17g: "
               "gap reaches %.17g",
               gap, vl, decel, ldecel, dt, tau, vf, g);
    /* It is the largest such speed: the staircase plus (tau-dt)*v fits in
    ** the gap plus the leader's stopping distance, which the model takes
    ** with max(decel, lead_decel).  Compared with bisection. */
    double d = ldecel > decel ? ldecel : decel;
    double want = ref_staircase_speed(gap + ref_brake_gap(vl, d, dt, 0), decel, dt, tau - dt);
    if (fabs(vf - want) > 1e-6) fail_msg("follow_speed = %.17g, reference %.17g", vf, want);
  }
}

static void follow_speed_behind_standing_leader(void **state) {
  (void)state;
  /* A standing leader is a stop line at the gap. */
  for (int i = 0; i < 1000; i++) {
    double gap = urand(0, 100), decel = urand(1, 9), dt = pick_dt(), tau = urand(0, 2);
    assert_true(gw__cf_follow_speed(gap, 0, decel, decel, dt, tau) ==
                gw__cf_stop_speed(gap, decel, dt, tau));
    assert_true(gw__cf_follow_speed(gap, 0, decel, decel + 1, dt, tau) ==
                gw__cf_stop_speed(gap, decel, dt, tau));
  }
}

static double min3(double a, double b, double c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

static void next_speed_bounds(void **state) {
  (void)state;
  for (int i = 0; i < 50000; i++) {
    double v = urand(0, 30), dt = pick_dt(), accel = urand(0.5, 5), decel = urand(1, 9);
    double vsafe = i % 5 == 0 ? urand(0, 3) : urand(0, 40), vdes = urand(5, 35);
    double sigma = i % 7 == 0 ? 0 : urand(0, 1), u = urand(0, 1);
    double got = gw__cf_next_speed(v, vsafe, vdes, accel, decel, sigma, u, dt);
    double vmax = min3(v + accel * dt, vsafe, vdes);
    double vmin = v - decel * dt > 0 ? v - decel * dt : 0;
    assert_true(got >= 0);
    assert_true(got <= v + accel * dt + 1e-12);
    assert_true(got <= vsafe + 1e-12);
    assert_true(got <= vdes + 1e-12);
    if (vmax >= vmin) {
      /* Comfortable braking is enough: never below it, and dawdling costs
      ** at most sigma*accel*dt. */
      assert_true(got >= vmin - 1e-12);
      assert_true(got >= vmax - sigma * accel * dt - 1e-12);
      /* Below a speed of `accel` dawdling takes at most sigma*speed*dt. */
      if (vmax < accel) assert_true(got >= vmax * (1 - sigma * dt) - 1e-12);
    } else {
      /* The bound demands more: exactly the bound. */
      assert_true(got == vmax);
    }
    if (sigma == 0) assert_true(got == vmax);
    /* More dawdling never makes a vehicle faster. */
    double got2 = gw__cf_next_speed(v, vsafe, vdes, accel, decel, sigma, u < 0.5 ? u + 0.5 : u, dt);
    assert_true(got2 <= got + 1e-12);
  }
  /* Worked by hand: 10 m/s, accel 2.6, 1 s, free road: 12.6; u=1, sigma=0.5: 11.3. */
  assert_true(gw__cf_next_speed(10, 100, 50, 2.6, 4.5, 0, 0.7, 1) == 12.6);
  assert_true(fabs(gw__cf_next_speed(10, 100, 50, 2.6, 4.5, 0.5, 1.0, 1) - 11.3) < 1e-12);
  /* A stop demanded now: 0 even though comfortable braking reaches only 5.5. */
  assert_true(gw__cf_next_speed(10, 0, 50, 2.6, 4.5, 0.5, 0.3, 1) == 0);
  /* Dawdling does not brake below v - decel*dt: 10 m/s behind a bound of
  ** 6 m/s, full dawdling would give 6 - 2.574; comfortable braking stops at 5.5. */
  assert_true(gw__cf_next_speed(10, 6, 50, 2.6, 4.5, 1.0, 0.99, 1) == 5.5);
  /* Starting from rest with dt 0.5: the bound is 1.3 m/s, below accel, so
  ** dawdling takes sigma*1.3*0.5*u = 0.325 with sigma 1, u 0.5. */
  assert_true(fabs(gw__cf_next_speed(0, 100, 50, 2.6, 4.5, 1.0, 0.5, 0.5) - 0.975) < 1e-12);
  /* A vehicle that may start does start, whatever it draws. */
  assert_true(gw__cf_next_speed(0, 100, 50, 2.6, 4.5, 1.0, 0.999999, 1) > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(brake_gap_matches_staircase),
      cmocka_unit_test(stop_speed_matches_staircase),
      cmocka_unit_test(stop_speed_matches_model),
      cmocka_unit_test(stop_speed_stops_in_time),
      cmocka_unit_test(follow_speed_never_collides),
      cmocka_unit_test(follow_speed_behind_standing_leader),
      cmocka_unit_test(next_speed_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

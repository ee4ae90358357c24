/*
** test_traci.c -- Greenwave's controllers driving a real SUMO over TraCI.
**
** Why these tests: the safety monitor guarantees safe lamps only for what it
** sends; what matters in the field is what the field shows.  So the first
** test runs grid4x4 under the actuated controller for 300 s in SUMO and
** feeds every signal's state *as read back from SUMO* after each step to the
** independent checker (checker.c): no conflicting greens, no skipped yellow
** or all-red, minimum greens served.  It also asserts that the lamps really
** changed (a field that ignored the sets would pass the checker trivially),
** that SUMO showed exactly what the monitors sent (no fail-safe), and that
** vehicles arrived.  Two more pin what the field asks of SUMO: a lane read
** for its halted count alone is subscribed for that alone, and when its
** vehicle count is asked for later (a get at once, the lane subscribed again
** with both in the next step) both values must still be SUMO's: a second
** SUMO on the same scenario, whose lanes are read in full from the start,
** is the reference, step by step; and max-pressure on queues (which needs
** no vehicle counts) runs grid4x4 safely with halted counts alone, then with
** counts on one signal swapped in mid-run.  The other tests pin the failure
** paths that must never hang: nothing listening on the port, SUMO refusing
** its configuration, and SUMO killed in the middle of a run.  Run only where
** `sumo` is installed (label traci).
*/
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/scenario.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *path_of(const char *name, const char *file, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s/%s", GW_SCENARIOS, name, file);
  return buf;
}

/* grid4x4 with its loops, as `greenwave field sumo` loads it. */
static gw_scenario *load_grid(char *cfg, char *det, size_t len) {
  gw_scenario *sc = NULL;
  gw_error err = {0, {0}};
  path_of("grid4x4", "grid4x4.sumocfg", cfg, len);
  path_of("grid4x4", "detectors.add.xml", det, len);
  if (gw_scenario_load_sumocfg(cfg, &sc, &err)) fail_msg("%s", err.msg);
  if (gw_scenario_add_additional(sc, det, &err)) fail_msg("%s", err.msg);
  return sc;
}

static void open_grid(gw_scenario *sc, const char *cfg, const char *det, double reply_s,
                      gw_field *f) {
  const char *adds[] = {det, NULL};
  gw_sumo_options o;
  gw_sumo_options_defaults(&o);
  o.binary = GW_SUMO_BIN;
  o.additional = adds;
  o.reply_timeout_s = reply_s;
  gw_error err = {0, {0}};
  if (gw_field_sumo_open(sc->net, cfg, &o, f, &err)) fail_msg("%s", err.msg);
}

/* Runs grid4x4 in SUMO for 300 s under `spec` and feeds every state SUMO
** shows back to the independent checker, built on the same clearances as
** the monitor (the program's own with clearance=program). */
static void grid_is_safe_as_sumo_shows_it(const char *spec, int program_clearance) {
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_field f;
  open_grid(sc, cfg, det, 30, &f);
  gw_error err = {0, {0}};
  gw_control *ctl = NULL;
  if (gw_control_create(sc->net, &f, spec, NULL, NULL, &ctl, &err)) fail_msg("%s", err.msg);
  uint32_t n = gw_net_tls_count(sc->net);
  assert_int_equal(n, 16);
  gw_safety_checker **chk = calloc(n, sizeof *chk);
  char(*last)[257] = calloc(n, sizeof *last);
  assert_non_null(chk);
  assert_non_null(last);
  for (uint32_t i = 0; i < n; i++) {
    gw_signal_model m;
    assert_int_equal(gw_signal_model_init(&m, sc->net, i, &err), GW_OK);
    if (program_clearance) gw_signal_model_program_clearance(&m, sc->net);
    assert_int_equal(gw_safety_checker_create(&m, &chk[i]), GW_OK);
  }
  uint64_t changes = 0, breaches = 0;
  while (f.ops->time(f.impl) < 300) {
    assert_int_equal(gw_control_step(ctl), GW_OK);
    if (gw_field_sumo_step(&f, &err)) fail_msg("%s", err.msg);
    double t = f.ops->time(f.impl);
    for (uint32_t i = 0; i < n; i++) {
      const char *st = f.ops->get_state(f.impl, i);
      char why[256] = "";
      assert_non_null(st);
      if (gw_safety_checker_feed(chk[i], t, st, why, sizeof why)) {
        if (!breaches) print_message("signal %s at t=%g: %s\n", gw_net_tls_id(sc->net, i), t, why);
        breaches++;
      }
      if (last[i][0] && strcmp(last[i], st)) changes++;
      snprintf(last[i], sizeof last[i], "%s", st);
    }
  }
  gw_control_stats cst;
  gw_control_stats_get(ctl, &cst);
  gw_sumo_stats st;
  assert_int_equal(gw_field_sumo_close(&f, &st, &err), GW_OK);
  assert_null(f.impl);
  assert_int_equal(breaches, 0);
  /* Each of 16 signals goes through several stages in 300 s, each change
  ** being green -> yellow -> red -> green of some group. */
  assert_true(changes > 16 * 6);
  assert_int_equal(cst.failsafes, 0);
  assert_int_equal(cst.refused, 0);
  assert_int_equal(st.steps, 300);
  assert_true(st.arrived > 20);
  assert_true(st.loops_read > 0);
  assert_int_equal(st.teleports, 0);
  assert_int_equal(st.exit_status, 0);
  for (uint32_t i = 0; i < n; i++) gw_safety_checker_destroy(chk[i]);
  free(chk);
  free(last);
  gw_control_destroy(ctl);
  gw_scenario_destroy(sc);
}

static void actuated_grid_is_safe_as_sumo_shows_it(void **state) {
  (void)state;
  grid_is_safe_as_sumo_shows_it("actuated", 0);
}

/* The program's clearances (no all-red on netconvert's programs): the
** yellow and minimum greens still served, no conflicting greens. */
static void program_clearances_are_safe_as_sumo_shows_them(void **state) {
  (void)state;
  grid_is_safe_as_sumo_shows_it("adaptive:clearance=program", 1);
}

/* How the lanes of the field under test are read, by lane % 5: 0 halted
** only; 1 halted only, in full from step 60 (that step: halted first, then
** in full); 2 in full; 3 halted then in full in its first step (before its
** subscription is sent), then halted and full on alternate steps; 4 first
** read at step 30, halted only, in full from step 90. */
static int reads_vehicles(uint32_t lane, int step, int second) {
  switch (lane % 5) {
    case 0:
      return 0;
    case 1:
      return step > 60 || (step == 60 && second);
    case 2:
      return 1;
    case 3:
      return step == 0 ? second : step % 2;
    default:
      return step >= 90;
  }
}

static void halting_only_lanes_read_later_in_full_match_sumo(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_field ref, f;
  open_grid(sc, cfg, det, 30, &ref);
  open_grid(sc, cfg, det, 30, &f);
  gw_error err = {0, {0}};
  uint32_t nl = gw_net_lane_count(sc->net), normal = 0, counted = 0;
  double sum_veh = 0, sum_halt = 0;
  for (int step = 0; step < 200; step++) {
    assert_true(fabs(ref.ops->time(ref.impl) - f.ops->time(f.impl)) < 1e-9);
    for (uint32_t l = 0; l < nl; l++) {
      gw_lane_info li;
      assert_int_equal(gw_net_lane_info(sc->net, l, &li), GW_OK);
      if (li.internal || (l % 5 == 4 && step < 30)) continue;
      double rv = -1, rh = -1;
      assert_int_equal(ref.ops->lane_counts(ref.impl, l, &rv, &rh), GW_OK);
      for (int second = 0; second < 2; second++) {
        if (second && !(l % 5 == 3 && step == 0) && !(l % 5 == 1 && step == 60)) break;
        double v = -1, h = -1;
        int full = reads_vehicles(l, step, second);
        assert_int_equal(f.ops->lane_counts(f.impl, l, full ? &v : NULL, &h), GW_OK);
        if (h != rh) fail_msg("lane %s, step %d: %g halted, SUMO says %g", li.id, step, h, rh);
        if (full && v != rv)
          fail_msg("lane %s, step %d: %g vehicles, SUMO says %g", li.id, step, v, rv);
        if (!full) assert_true(v == -1); /* not written */
      }
      sum_veh += rv;
      sum_halt += rh;
    }
    if (gw_field_sumo_step(&ref, &err)) fail_msg("%s", err.msg);
    if (gw_field_sumo_step(&f, &err)) fail_msg("%s", err.msg);
  }
  for (uint32_t l = 0; l < nl; l++) {
    gw_lane_info li;
    gw_net_lane_info(sc->net, l, &li);
    normal += !li.internal;
    counted += !li.internal && l % 5 != 0;
  }
  /* Traffic stood and moved on the lanes compared. */
  assert_true(sum_veh > 1000);
  assert_true(sum_halt > 100);
  gw_sumo_stats rs, st;
  assert_int_equal(gw_field_sumo_close(&ref, &rs, &err), GW_OK);
  assert_int_equal(gw_field_sumo_close(&f, &st, &err), GW_OK);
  assert_int_equal(rs.lanes_read, normal);
  assert_int_equal(rs.lanes_counted, normal);
  assert_int_equal(st.lanes_read, normal);
  assert_int_equal(st.lanes_counted, counted);
  assert_int_equal(st.steps, 200);
  gw_scenario_destroy(sc);
}

/* The SUMO field as the control loop sees it, noting per lane how often
** one step asked for the halted count alone and in full. */
#define MAX_LANES 4096
static const gw_field_ops *inner;
static uint32_t asked_halted[MAX_LANES], asked_full[MAX_LANES];

static int w_lane_counts(void *impl, uint32_t lane, double *v, double *h) {
  if (lane < MAX_LANES) (v ? asked_full : asked_halted)[lane]++;
  return inner->lane_counts(impl, lane, v, h);
}
static double w_time(void *impl) { return inner->time(impl); }
static uint32_t w_detector_count(void *impl) { return inner->detector_count(impl); }
static uint32_t w_detector_lane(void *impl, uint32_t d) { return inner->detector_lane(impl, d); }
static int w_detector(void *impl, uint32_t d, gw_detector_reading *r) {
  return inner->detector(impl, d, r);
}
static int w_take(void *impl, uint32_t tls) { return inner->take_control(impl, tls); }
static int w_set(void *impl, uint32_t tls, const char *st) {
  return inner->set_state(impl, tls, st);
}
static const char *w_get(void *impl, uint32_t tls) { return inner->get_state(impl, tls); }
static const gw_field_ops watched = {"watched",       w_time,     w_lane_counts, w_detector_count,
                                     w_detector_lane, w_detector, NULL,          w_take,
                                     w_set,           w_get,      NULL,          NULL};

static void maxpressure_reads_halted_counts_alone_and_stays_safe(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_field f;
  open_grid(sc, cfg, det, 30, &f);
  inner = f.ops;
  gw_field w = {&watched, f.impl};
  gw_error err = {0, {0}};
  gw_control *ctl = NULL;
  if (gw_control_create(sc->net, &w, "maxpressure", NULL, NULL, &ctl, &err))
    fail_msg("%s", err.msg);
  uint32_t nl = gw_net_lane_count(sc->net);
  assert_true(nl <= MAX_LANES);
  gw_control_node node5;
  assert_int_equal(gw_control_node_get(ctl, 5, &node5), GW_OK);
  gw_sumo_stats st;
  uint32_t both = 0; /* lanes read halted-only, then in full, in one step */
  while (f.ops->time(f.impl) < 300) {
    int swapped = f.ops->time(f.impl) >= 150;
    if (f.ops->time(f.impl) == 150) {
      gw_field_sumo_stats(&f, &st);
      assert_true(st.lanes_read > 0);
      assert_int_equal(st.lanes_counted, 0);
      /* Pressure on vehicle counts at one signal: its lanes, subscribed
      ** halted-only (some also read by its neighbours, halted-only), are
      ** subscribed again with both. */
      assert_int_equal(gw_control_set_controller(ctl, 5, "maxpressure:use_count=1", &err), GW_OK);
    }
    memset(asked_halted, 0, sizeof asked_halted);
    memset(asked_full, 0, sizeof asked_full);
    assert_int_equal(gw_control_step(ctl), GW_OK);
    /* Each lane at most once per step in each way; in full only for the
    ** signal that needs counts, and then every one of its approaches and
    ** the lanes feeding them, which its neighbours read as exits first
    ** (halted only) in the same step. */
    uint32_t full = 0;
    for (uint32_t l = 0; l < nl; l++) {
      assert_true(asked_halted[l] <= 1 && asked_full[l] <= 1);
      full += asked_full[l];
    }
    for (uint32_t g = 0; swapped && g < node5.model->ngroups; g++) {
      const gw_signal_group *sg = &node5.model->groups[g];
      for (uint32_t k = 0; k < sg->nin; k++) assert_int_equal(asked_full[sg->in_lanes[k]], 1);
      for (uint32_t k = 0; k < sg->nup; k++) {
        assert_int_equal(asked_full[sg->up_lanes[k]], 1);
        both += asked_halted[sg->up_lanes[k]];
      }
    }
    if (!swapped) assert_int_equal(full, 0);
    if (gw_field_sumo_step(&f, &err)) fail_msg("%s", err.msg);
  }
  gw_control_stats cst;
  gw_control_stats_get(ctl, &cst);
  assert_int_equal(gw_field_sumo_close(&f, &st, &err), GW_OK);
  assert_int_equal(cst.failsafes, 0);
  assert_int_equal(cst.refused, 0);
  assert_int_equal(st.steps, 300);
  assert_true(both > 0);
  assert_true(st.lanes_counted > 0 && st.lanes_counted < st.lanes_read);
  assert_true(st.arrived > 20);
  assert_int_equal(st.teleports, 0);
  assert_int_equal(st.exit_status, 0);
  gw_control_destroy(ctl);
  gw_scenario_destroy(sc);
}

/* A port on 127.0.0.1 where nothing listens (found free, then closed). */
static int dead_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void nothing_listening_fails_within_the_timeout(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_sumo_options o;
  gw_sumo_options_defaults(&o);
  o.launch = 0;
  o.port = dead_port();
  o.connect_timeout_s = 1;
  gw_field f = {NULL, NULL};
  gw_error err = {0, {0}};
  double t0 = now_s();
  assert_int_equal(gw_field_sumo_open(sc->net, NULL, &o, &f, &err), GW_EIO);
  double took = now_s() - t0;
  assert_true(took >= 0.9 && took < 3);
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%d within 1 s", o.port);
  assert_non_null(strstr(err.msg, want));
  assert_null(f.impl);
  gw_scenario_destroy(sc);
}

static void sumo_refusing_its_configuration_is_reported(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_sumo_options o;
  gw_sumo_options_defaults(&o);
  o.binary = GW_SUMO_BIN;
  gw_field f = {NULL, NULL};
  gw_error err = {0, {0}};
  double t0 = now_s();
  assert_int_equal(gw_field_sumo_open(sc->net, "/nonexistent/x.sumocfg", &o, &f, &err), GW_EIO);
  assert_true(now_s() - t0 < 10);
  assert_non_null(strstr(err.msg, "SUMO stopped before accepting a connection"));
  assert_non_null(strstr(err.msg, "exited with status 1"));
  gw_scenario_destroy(sc);
}

static void sumo_killed_mid_run_is_an_error_not_a_hang(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_field f;
  open_grid(sc, cfg, det, 5, &f);
  gw_error err = {0, {0}};
  gw_control *ctl = NULL;
  if (gw_control_create(sc->net, &f, "actuated", NULL, NULL, &ctl, &err)) fail_msg("%s", err.msg);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(gw_control_step(ctl), GW_OK);
    if (gw_field_sumo_step(&f, &err)) fail_msg("%s", err.msg);
  }
  long pid = gw_field_sumo_pid(&f);
  assert_true(pid > 0);
  assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
  double t0 = now_s();
  int rc = GW_OK;
  for (int i = 0; i < 5 && !rc; i++) {
    gw_control_step(ctl);
    rc = gw_field_sumo_step(&f, &err);
  }
  assert_true(now_s() - t0 < 5);
  assert_int_equal(rc, GW_EIO);
  assert_non_null(strstr(err.msg, "CMD_SIMSTEP"));
  assert_non_null(strstr(err.msg, "killed by signal 9"));
  /* The error sticks. */
  gw_error again = {0, {0}};
  assert_int_equal(gw_field_sumo_step(&f, &again), GW_EIO);
  assert_string_equal(again.msg, err.msg);
  gw_sumo_stats st;
  assert_int_equal(gw_field_sumo_close(&f, &st, &again), GW_EIO);
  assert_int_equal(st.exit_status, 128 + SIGKILL);
  gw_control_destroy(ctl);
  gw_scenario_destroy(sc);
}

int main(void) {
  /* SUMO validates its inputs against the schemas under SUMO_HOME. */
  if (!getenv("SUMO_HOME")) setenv("SUMO_HOME", "/usr/share/sumo", 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(actuated_grid_is_safe_as_sumo_shows_it),
      cmocka_unit_test(program_clearances_are_safe_as_sumo_shows_them),
      cmocka_unit_test(halting_only_lanes_read_later_in_full_match_sumo),
      cmocka_unit_test(maxpressure_reads_halted_counts_alone_and_stays_safe),
      cmocka_unit_test(nothing_listening_fails_within_the_timeout),
      cmocka_unit_test(sumo_refusing_its_configuration_is_reported),
      cmocka_unit_test(sumo_killed_mid_run_is_an_error_not_a_hang),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

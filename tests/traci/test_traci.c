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
** vehicles arrived.  The other tests pin the failure paths that must never
** hang: nothing listening on the port, SUMO refusing its configuration, and
** SUMO killed in the middle of a run.  Run only where `sumo` is installed
** (label traci).
*/
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

static void actuated_grid_is_safe_as_sumo_shows_it(void **state) {
  (void)state;
  char cfg[512], det[512];
  gw_scenario *sc = load_grid(cfg, det, sizeof cfg);
  gw_field f;
  open_grid(sc, cfg, det, 30, &f);
  gw_error err = {0, {0}};
  gw_control *ctl = NULL;
  if (gw_control_create(sc->net, &f, "actuated", NULL, NULL, &ctl, &err)) fail_msg("%s", err.msg);
  uint32_t n = gw_net_tls_count(sc->net);
  assert_int_equal(n, 16);
  gw_safety_checker **chk = calloc(n, sizeof *chk);
  char (*last)[257] = calloc(n, sizeof *last);
  assert_non_null(chk);
  assert_non_null(last);
  for (uint32_t i = 0; i < n; i++) {
    gw_signal_model m;
    assert_int_equal(gw_signal_model_init(&m, sc->net, i, &err), GW_OK);
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
      cmocka_unit_test(nothing_listening_fails_within_the_timeout),
      cmocka_unit_test(sumo_refusing_its_configuration_is_reported),
      cmocka_unit_test(sumo_killed_mid_run_is_an_error_not_a_hang),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

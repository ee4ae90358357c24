/*
** fuzz_traci.c -- libFuzzer target for the TraCI reply parser of the SUMO
** field (src/field/traci.c).
**
** SUMO's replies are external input: a SUMO of another version, a broken
** stream or a wrong network must give a clear error, never a crash.  Each
** input is a few setup bytes, which choose the field's state (which lanes
** and loops are subscribed, which subscriptions and lamp states are queued,
** which reply is expected: a step, the version, a lane or loop get; see
** gw__traci_fuzz_reply in field/traci.h), then the reply itself, parsed
** with no SUMO behind the field.  Beyond the sanitizers' "no crash, no read
** past the buffer, no leak, no undefined behaviour", every input checks:
**   - a rejected reply gives a negative GW_E* code and a message that names
**     the TraCI command ("TraCI CMD_... (0x..)");
**   - the error is sticky: the next step fails with the same code and
**     message, and a read that would need SUMO fails with that code;
**   - an accepted reply leaves every subscribed lane and loop readable
**     without a round trip and sane: counts >= 0, occupancy in [0, 1], a
**     finite time and last occupied time;
**   - an accepted reply cut short by any number of bytes is rejected (all
**     cuts of a short reply; the first and last 64 and a sample between of
**     a long one).
** The network is scenarios/grid4x4 with its stop-bar loops, the state of
** `greenwave field sumo` on that scenario (GW_FUZZ_TRACI_NET and
** GW_FUZZ_TRACI_DET in the environment name other files).  The seeds in
** corpus/traci are replies recorded from SUMO 1.15 for the states their
** setup bytes describe.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field/traci.h"
#include "greenwave/net.h"

static gw_net *net;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz property broken: %s: %s\n", what, detail);
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *path = getenv("GW_FUZZ_TRACI_NET"), *det = getenv("GW_FUZZ_TRACI_DET");
  if (!path) path = GW_FUZZ_TRACI_NET;
  if (!det) det = GW_FUZZ_TRACI_DET;
  gw_error err = {0, {0}};
  if (gw_net_load_sumo(path, &net, &err) || gw_net_load_sumo_additional(net, det, &err)) {
    fprintf(stderr, "fuzz: the fixed network does not load: %s\n", err.msg);
    exit(1);
  }
  return 0;
}

static void check_error(const gw__traci_fuzz_view *v) {
  const char *msg = v->err->msg;
  if (v->rc >= 0 || v->err->code != v->rc) die("failure without a negative code", msg);
  if (strncmp(msg, "TraCI CMD_", 10) != 0 || !strstr(msg, " (0x"))
    die("error message does not name the TraCI command", msg);
  gw_field *f = v->field;
  gw_error again = {0, {0}};
  if (gw_field_sumo_step(f, &again) != v->rc || strcmp(again.msg, msg) != 0)
    die("the error is not sticky: a later step", again.msg);
  /* Reads that need a round trip: a lane's vehicle count, every loop. */
  double veh, halt;
  for (uint32_t l = 0; l < gw_net_lane_count(net); l++) {
    int rc = f->ops->lane_counts(f->impl, l, &veh, &halt);
    if (rc && rc != v->rc && rc != GW_ENOTFOUND) die("the error is not sticky: a lane read", msg);
  }
  gw_detector_reading r;
  for (uint32_t d = 0; d < f->ops->detector_count(f->impl); d++) {
    int rc = f->ops->detector(f->impl, d, &r);
    if (rc && rc != v->rc) die("the error is not sticky: a loop read", msg);
  }
  if (!f->ops->get_state(f->impl, 0)) die("no state after a failure", msg);
}

static void check_values(const gw__traci_fuzz_view *v) {
  gw_field *f = v->field;
  double t = f->ops->time(f->impl);
  if (!isfinite(t)) die("accepted reply", "the time is not finite");
  for (uint32_t i = 0; i < v->nlanes; i++) {
    double veh = 0, halt = 0;
    if (f->ops->lane_counts(f->impl, v->lanes[i], v->full[i] ? &veh : NULL, &halt))
      die("accepted reply", "a subscribed lane cannot be read");
    if (!(veh >= 0) || !(halt >= 0)) die("accepted reply", "a negative lane count");
  }
  for (uint32_t i = 0; i < v->nloops; i++) {
    gw_detector_reading r;
    if (f->ops->detector(f->impl, v->loops[i], &r))
      die("accepted reply", "a subscribed loop cannot be read");
    if (!(r.occupancy >= 0 && r.occupancy <= 1)) die("accepted reply", "occupancy outside [0, 1]");
    if (!isfinite(r.last_occupied_t)) die("accepted reply", "last occupied time not finite");
  }
  if (v->mode == GW__TRACI_FUZZ_STEP) {
    gw_sumo_stats st;
    gw_field_sumo_stats(f, &st);
    if (st.steps != 1) die("accepted step", "not counted");
    if (st.lanes_read != v->nlanes || st.loops_read != v->nloops)
      die("accepted step", "subscriptions miscounted");
  }
  /* With no SUMO behind it the next step fails, and stays failed. */
  gw_error e1 = {0, {0}}, e2 = {0, {0}};
  int rc1 = gw_field_sumo_step(f, &e1), rc2 = gw_field_sumo_step(f, &e2);
  if (rc1 >= 0 || rc2 != rc1 || strcmp(e1.msg, e2.msg) != 0 ||
      strncmp(e1.msg, "TraCI CMD_SIMSTEP (0x02)", 24) != 0)
    die("a step without SUMO", e1.msg);
}

static void inspect(const gw__traci_fuzz_view *v, void *ctx) {
  (void)ctx;
  if (v->rc)
    check_error(v);
  else
    check_values(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rc = gw__traci_fuzz_reply(net, data, size, inspect, NULL);
  if (rc > 0) die("positive result", "");
  if (rc || size <= GW__TRACI_FUZZ_SETUP) return 0;
  /* Every prefix of an accepted reply is rejected. */
  size_t rlen = size - GW__TRACI_FUZZ_SETUP;
  for (size_t n = 0; n < rlen;) {
    if (gw__traci_fuzz_reply(net, data, GW__TRACI_FUZZ_SETUP + n, inspect, NULL) >= 0)
      die("a truncated reply", "accepted");
    size_t next = n < 64 || n + 64 >= rlen ? n + 1 : n + 1 + n / 32;
    if (n + 64 < rlen && next + 64 > rlen) next = rlen - 64;
    n = next;
  }
  return 0;
}

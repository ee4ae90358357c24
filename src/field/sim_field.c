/*
** sim_field.c -- the built-in simulator seen through the field interface.
**
** Each operation forwards to the simulator's public API; nothing is cached,
** so what the control loop reads is exactly the state after the last step.
** The simulator has both lane counts at hand, so a halted-only read
** (vehicles NULL) costs the same as a full one.
*/
#include "greenwave/field.h"
#include "greenwave/sim.h"

static double f_time(void *impl) { return gw_sim_time(impl); }

static int f_lane_counts(void *impl, uint32_t lane, double *vehicles, double *halting) {
  uint32_t v, h;
  int rc = gw_sim_lane_counts(impl, lane, &v, &h);
  if (vehicles) *vehicles = v;
  *halting = h;
  return rc;
}

static uint32_t f_detector_count(void *impl) { return gw_sim_detector_count(impl); }
static uint32_t f_detector_lane(void *impl, uint32_t det) {
  return gw_sim_detector_lane(impl, det);
}
static int f_detector(void *impl, uint32_t det, gw_detector_reading *out) {
  return gw_sim_detector_read(impl, det, out);
}
static int f_add_detector(void *impl, uint32_t lane, double pos_m, uint32_t *det) {
  return gw_sim_detector_add(impl, lane, pos_m, det);
}
static int f_take(void *impl, uint32_t tls) { return gw_sim_signal_take(impl, tls); }
static int f_set(void *impl, uint32_t tls, const char *state) {
  return gw_sim_signal_set(impl, tls, state);
}
static const char *f_get(void *impl, uint32_t tls) { return gw_sim_signal_state(impl, tls); }

static int f_lane_arrays(void *impl, const uint32_t **vehicles, const uint32_t **halting) {
  gw_sim_lane_arrays(impl, vehicles, halting);
  return GW_OK;
}
static int f_detector_array(void *impl, const gw_detector_reading **readings) {
  *readings = gw_sim_detector_readings(impl);
  return GW_OK;
}

static const gw_field_ops sim_ops = {"sim",           f_time,     f_lane_counts,  f_detector_count,
                                     f_detector_lane, f_detector, f_add_detector, f_take,
                                     f_set,           f_get,      f_lane_arrays,  f_detector_array};

void gw_field_from_sim(gw_sim *sim, gw_field *out) {
  out->ops = &sim_ops;
  out->impl = sim;
}

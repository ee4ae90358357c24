/*
** cityflow_metrics.c -- the figures the signal-control literature reports
** on CityFlow scenarios, computed from a simulation at the end of its
** episode (definitions in include/greenwave/cityflow.h and
** docs/cityflow.md).
**
** The simulator counts, for each vehicle, the steps at whose end it stands
** on a normal lane that ends at a signal.  The published ATT takes, per
** signal approach, leave time minus enter time, where both are the first
** observation after a step with the vehicle there, resp. gone, and a
** vehicle still there at the end leaves at the end: that is the count of
** observations times the step, less one step for a vehicle still on such a
** lane when the episode ends.
*/
#include "greenwave/cityflow.h"
#include "sim/sim_int.h"

void gw_cityflow_metrics_get(const gw_sim *sim, gw_cityflow_metrics *out) {
  const double dt = sim->cfg.step_s, now = sim->t;
  double att = 0, eng = 0, wait = 0;
  uint64_t n_att = 0, n_eng = 0, n_wait = 0;
  for (uint32_t i = 0; i < sim->nveh; i++) {
    const gw_veh *v = &sim->veh[i];
    const gw_trip *tr = v->trip;
    if (v->sig_seen) {
      double s = v->sig_time;
      if (v->state == VS_RUNNING && sim->lane_sig[v->lane]) s -= dt;
      att += s;
      n_att++;
    }
    /* Created (due) vehicles: those inserted and those waiting to enter. */
    if (v->state == VS_FUTURE || tr->depart_s > now + 1e-9) continue;
    if (v->state == VS_DONE && v->depart_t <= 0 && v->end_t <= 0 && v->dist <= 0 &&
        tr->depart_s < sim->cfg.begin_s - 1e-9)
      continue; /* dropped before the begin time */
    double end = v->state == VS_DONE ? v->end_t : now;
    eng += end - tr->depart_s;
    n_eng++;
    if (v->state != VS_PENDING) {
      wait += v->waiting;
      n_wait++;
    }
  }
  out->att_s = n_att ? att / (double)n_att : 0;
  out->att_vehicles = n_att;
  out->att_engine_s = n_eng ? eng / (double)n_eng : 0;
  out->engine_vehicles = n_eng;
  out->mean_waiting_time_s = n_wait ? wait / (double)n_wait : 0;
  out->throughput = sim->stats.arrived;
}

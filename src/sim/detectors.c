/*
** detectors.c -- induction loops in the simulator, and the simulator's
** lane counts, for the control loop.
**
** A loop is a point on a lane.  During a step a vehicle occupies it while
** the loop lies between the vehicle's back and front; with the Euler update
** the front moves linearly from p0 to p1 over the step, so the occupied share
** of the step is the share of [p0, p1] during which dpos lies in
** [front - length, front].  A front that reaches dpos during the step is
** counted.  Only lanes that carry a loop pay anything: the move loop calls
** in only when the lane's list is not empty.
*/
#include <string.h>

#include "core/alloc.h"
#include "sim/sim_int.h"

static int push(gw_sim *sim, uint32_t lane, double pos) {
  if (sim->ndet == sim->det_cap) {
    uint32_t cap = sim->det_cap ? sim->det_cap * 2 : 64;
    det_rt *d = gw__realloc(sim->det, cap * sizeof *d);
    if (!d) return GW_ENOMEM;
    sim->det = d;
    gw_detector_reading *r = gw__realloc(sim->det_read, cap * sizeof *r);
    if (!r) return GW_ENOMEM;
    sim->det_read = r;
    sim->det_cap = cap;
  }
  det_rt *d = &sim->det[sim->ndet];
  memset(d, 0, sizeof *d);
  d->lane = lane;
  d->pos = pos;
  d->last_occ_t = -1;
  d->next = sim->lane_det[lane];
  memset(&sim->det_read[sim->ndet], 0, sizeof *sim->det_read);
  sim->det_read[sim->ndet].last_occupied_t = -1;
  sim->lane_det[lane] = sim->ndet++;
  return GW_OK;
}

int gw__detectors_init(gw_sim *sim) {
  const gw_net *net = sim->net;
  sim->lane_det = gw__malloc((net->lanes.n + 1) * sizeof *sim->lane_det);
  if (!sim->lane_det) return GW_ENOMEM;
  for (uint32_t l = 0; l <= net->lanes.n; l++) sim->lane_det[l] = GW_NONE;
  for (uint32_t i = 0; i < net->detectors.n; i++)
    if (push(sim, net->detectors.a[i].lane, net->detectors.a[i].pos_m)) return GW_ENOMEM;
  return GW_OK;
}

void gw__detectors_begin_step(gw_sim *sim) {
  for (uint32_t i = 0; i < sim->ndet; i++) {
    sim->det[i].count = 0;
    sim->det[i].occ = 0;
  }
}

void gw__detectors_pass(gw_sim *sim, uint32_t lane, double p0, double p1, double len) {
  for (uint32_t i = sim->lane_det[lane]; i != GW_NONE; i = sim->det[i].next) {
    det_rt *d = &sim->det[i];
    if (p0 < d->pos && p1 >= d->pos) d->count++;
    /* Fronts in [dpos, dpos + len] cover the loop. */
    double lo = d->pos, hi = d->pos + len, share;
    if (p1 <= p0)
      share = (p0 >= lo && p0 <= hi) ? 1 : 0;
    else {
      double a = p0 > lo ? p0 : lo, b = p1 < hi ? p1 : hi;
      share = b > a ? (b - a) / (p1 - p0) : 0;
    }
    d->occ += share;
  }
}

void gw__detectors_end_step(gw_sim *sim) {
  for (uint32_t i = 0; i < sim->ndet; i++) {
    det_rt *d = &sim->det[i];
    if (d->occ > 1) d->occ = 1;
    if (d->occ > 0 || d->count) d->last_occ_t = sim->t + sim->cfg.step_s;
    gw_detector_reading *r = &sim->det_read[i];
    r->count = d->count;
    r->occupancy = d->occ;
    r->occupied = d->occ > 0;
    r->last_occupied_t = d->last_occ_t;
  }
}

void gw_sim_lane_arrays(const gw_sim *sim, const uint32_t **vehicles, const uint32_t **halting) {
  *vehicles = sim->lane_n;
  *halting = sim->lane_halt;
}

const gw_detector_reading *gw_sim_detector_readings(const gw_sim *sim) { return sim->det_read; }

uint32_t gw_sim_detector_count(const gw_sim *sim) { return sim->ndet; }

uint32_t gw_sim_detector_lane(const gw_sim *sim, uint32_t det) {
  return det < sim->ndet ? sim->det[det].lane : GW_NONE;
}

int gw_sim_detector_add(gw_sim *sim, uint32_t lane, double pos_m, uint32_t *det) {
  if (lane >= sim->net->lanes.n) return GW_ERANGE;
  double len = sim->net->lanes.a[lane].length_m;
  if (pos_m < 0) pos_m += len;
  if (pos_m < 0 || pos_m > len) return GW_ERANGE;
  int rc = push(sim, lane, pos_m);
  if (!rc) *det = sim->ndet - 1;
  return rc;
}

int gw_sim_detector_read(const gw_sim *sim, uint32_t det, gw_detector_reading *out) {
  if (det >= sim->ndet) return GW_ERANGE;
  const det_rt *d = &sim->det[det];
  out->count = d->count;
  out->occupancy = d->occ;
  out->occupied = d->occ > 0 && d->last_occ_t >= sim->t - 1e-9;
  out->last_occupied_t = d->last_occ_t;
  return GW_OK;
}

int gw_sim_lane_counts(const gw_sim *sim, uint32_t lane, uint32_t *vehicles, uint32_t *halting) {
  if (lane >= sim->net->lanes.n) return GW_ERANGE;
  *vehicles = sim->lane_n[lane];
  *halting = sim->lane_halt[lane];
  return GW_OK;
}

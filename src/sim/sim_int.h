/*
** sim_int.h -- the simulator's state, shared by the files of src/sim/.
**
** Layout.  Every trip of the demand owns one vehicle slot for the whole run
** (no allocation in the step loop).  Each lane keeps the indices of the
** vehicles on it in an array ordered front to back, so the leader of a
** vehicle is the previous entry and the last vehicle of a lane is the one a
** follower on the lane before sees.  A vehicle belongs to exactly one lane
** (the one under its front); its back may still reach onto lanes behind,
** which followers account for by using the leader's back position, which can
** be negative.
**
** A step (gw_sim_step in sim.c) is: signals, plan speeds, resolve yielding
** at minor links, move, change lanes, insert.  Planning reads only state of
** the previous step, so its result does not depend on vehicle order.
*/
#ifndef GW_SIM_INT_H
#define GW_SIM_INT_H

#include <stdint.h>

#include "greenwave/sim.h"
#include "net/net_int.h"

enum { VS_FUTURE, VS_PENDING, VS_RUNNING, VS_DONE };

typedef struct gw_veh {
  const gw_trip *trip; /* the demand's record: id, route, type */
  uint32_t vclass;     /* GW_VC_* bit of its type */
  /* Kinematics. */
  double pos;          /* front, m from the start of `lane` */
  double speed, vnext; /* m/s now, and planned for this step */
  uint32_t lane;       /* lane under the front (normal or internal) */
  uint32_t link;       /* next link (on a normal lane) or the one being crossed */
  uint32_t ri;         /* route index of the current, or last normal, edge */
  uint8_t via_i;       /* on an internal lane: 0 or 1 into link->via */
  uint8_t state;       /* VS_* */
  uint8_t halted;      /* speed below 0.1 m/s after the last step */
  uint8_t changed;     /* changed lanes this step */
  uint64_t enter_step; /* step at which it entered the junction it is crossing */
  /* Parameters, copied at insertion. */
  double length, min_gap, accel, decel, edecel, sigma, tau, max_speed, speed_factor;
  double arrival_pos;
  /* Lane wishes along the route: lanes of route[ri] and route[ri+1] from
  ** which the route can be followed without another lane change. */
  uint32_t want_cur, want_next;
  double lc_gain;     /* accumulated wish to change for speed (s) */
  double lc_right;    /* accumulated wish to keep right (s) */
  uint32_t coop;      /* a neighbour that needs to change in front of us */
  uint32_t coop_lead; /* a neighbour we must fall in behind to change */
  /* The minor link planned this step: stop here if a foe has the way. */
  uint32_t minor_link;
  double minor_dist; /* distance from the front to its stop point */
  uint8_t minor_ij;  /* the stop point is the internal junction */
  double arrive_t, leave_t;
  /* Trip statistics. */
  double depart_t, time_loss, waiting, dist, stuck;
  uint32_t stops, teleports;
  /* For the CityFlow metrics: time on entering lanes of signals (counted
  ** at the end of each step), whether it was ever there, arrival time. */
  double sig_time, end_t;
  uint8_t sig_seen;
  /* CityFlow dynamics: time of the last lane change. */
  double cf_lc_t;
} gw_veh;

typedef struct lane_rt {
  uint32_t *v; /* vehicle indices, front first */
  uint32_t n, cap;
} lane_rt;

/* A lane blocked for a while (incident, works), from `pos` to its end. */
typedef struct lane_block {
  uint32_t lane;
  double pos, from_t, until_t;
} lane_block;

/* A vehicle that crossed onto another lane during move(). */
typedef struct transfer {
  uint32_t veh, lane;
} transfer;

/* A registered approach to a link: the vehicle will pass this step window. */
typedef struct approach {
  uint32_t veh;
  uint32_t next; /* next approach to the same link, or GW_NONE */
  double arrive_t, leave_t;
} approach;

typedef struct tls_rt {
  uint32_t phase;
  double next_switch_t; /* time at which the next phase starts */
  const char *state;    /* current state string (in net->chars, or ext) */
  char *ext;            /* state set from outside, when externally controlled */
} tls_rt;

/* An induction loop. */
typedef struct det_rt {
  uint32_t lane;
  double pos;
  uint32_t next;  /* next loop on the same lane, or GW_NONE */
  uint32_t count; /* fronts that crossed it this step */
  double occ;     /* occupied share of this step */
  double last_occ_t;
} det_rt;

struct gw_sim {
  const gw_net *net;
  const gw_demand *demand;
  gw_sim_config cfg;
  double t; /* time of the current step */
  uint64_t step;
  gw_veh *veh; /* one per trip */
  uint32_t nveh;
  uint32_t next_trip; /* first trip not yet due */
  uint32_t *pending;  /* trips due but not inserted, FIFO by departure */
  uint32_t pend_head, pend_n, pend_cap;
  lane_rt *lanes;
  struct transfer *tx; /* move(): vehicles crossing onto another lane, one slot each */
  /* Approaches, rebuilt every step. */
  uint32_t *link_head; /* per link, first approach or GW_NONE */
  uint32_t *link_busy; /* per link: vehicles on its internal lanes */
  approach *appr;
  uint32_t appr_n, appr_cap;
  uint32_t *touched;
  uint32_t touched_n;
  uint32_t *in_off, *in_links; /* per normal lane: links that lead into it */
  /* Per link with an internal junction (n + 1 offsets): the internal lanes
  ** whose vehicles it waits for there; IJ_FIRST (sim.c) marks the first part
  ** of a foe that waits at an internal junction of its own. */
  uint32_t *ij_lane_off, *ij_lanes;
  lane_block blocks[64];
  uint32_t nblocks;
  uint32_t *lane_n;    /* per lane: vehicles on it (mirror of lanes[l].n) */
  uint32_t *lane_halt; /* per lane: vehicles below 0.1 m/s, kept exact at step end */
  det_rt *det;
  gw_detector_reading *det_read; /* readings of the last step, per detector */
  uint32_t ndet, det_cap;
  uint32_t *lane_det; /* per lane: first loop on it, or GW_NONE */
  uint64_t *edge_failed;
  double max_stuck;
  /* longest standstill seen by move() this step (s) */ /* per edge: 1 + step of the last failed
                                                           insertion */
  tls_rt *tls;
  uint8_t *lane_sig;  /* per lane: a normal lane that ends at a signal */
  uint64_t *cf_stamp; /* CityFlow dynamics: per lane, step + 1 of its last insertion try */
  struct gw_cf *cf;   /* CityFlow dynamics: crossing points and their state (cityflow_dyn.c) */
  gw_sim_stats stats;
  gw_trip_fn on_trip;
  void *on_trip_ud;
};

/* sim.c */
void gw__finish_trip(gw_sim *sim, uint32_t vi);

/* cityflow_dyn.c: the step of the CityFlow dynamics (gw_sim_step calls it). */
int gw__cf_step(gw_sim *sim);
void gw__cf_free(gw_sim *sim);

/* signals.c */
int gw__signals_init(gw_sim *sim);
void gw__signals_step(gw_sim *sim);
/* The state a link shows now: its signal's character, or its static one. */
char gw__link_state(const gw_sim *sim, uint32_t link);

/* detectors.c */
int gw__detectors_init(gw_sim *sim);
void gw__detectors_begin_step(gw_sim *sim);
/* A vehicle of length `len` moved on `lane` from p0 to p1 (front, lane
** coordinates, before any lane change). */
void gw__detectors_pass(gw_sim *sim, uint32_t lane, double p0, double p1, double len);
void gw__detectors_end_step(gw_sim *sim);

/* The block active now on `lane`, or NULL. */
static inline const lane_block *gw__lane_block(const gw_sim *sim, uint32_t lane) {
  for (uint32_t i = 0; i < sim->nblocks; i++) {
    const lane_block *b = &sim->blocks[i];
    if (b->lane == lane && sim->t >= b->from_t && sim->t < b->until_t) return b;
  }
  return NULL;
}

/* lanes.c */
void gw__lanes_update_wants(gw_sim *sim, gw_veh *v);
uint32_t gw__lanes_choose_link(const gw_sim *sim, const gw_veh *v);
void gw__lanes_change(gw_sim *sim);
int gw__lane_insert(gw_sim *sim, uint32_t lane, uint32_t vi);
void gw__lane_remove(gw_sim *sim, uint32_t lane, uint32_t vi);
/* Safe speed for vehicle `v` at `pos` on `lane` (standing at index
** idx_in_lane of its array) behind the first vehicle ahead on its path,
** looking at most `look` m ahead; *gap gets the net gap to that vehicle
** (1e9 when none), negative when they overlap. */
double gw__leader_speed(const gw_sim *sim, const gw_veh *v, uint32_t lane, uint32_t idx_in_lane,
                        double pos, double look, double *gap);

static inline double gw__vmax_on(const gw_sim *sim, const gw_veh *v, uint32_t lane) {
  double lim = sim->net->lanes.a[lane].speed_mps * v->speed_factor;
  return lim < v->max_speed ? lim : v->max_speed;
}

#endif

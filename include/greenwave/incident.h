/*
** incident.h -- incident detection on road lanes from induction-loop
** occupancy and counts, and its evaluation on simulated incidents.
**
** The detector watches *lanes*, each with up to two loop stations: an
** upstream one (U) near the start of the lane and a downstream one (D) near
** its end, the stop-line loop on a signalised approach.  Lanes of the same
** road (edge) form an *approach* and are each other's neighbours.  It is fed
** one observation per lane per interval (occupancy share and vehicle count
** of each station, 60 s by default) and calls back when an incident starts
** on a lane and when it clears.  Two tests run on every lane:
**
** - occupancy (California, needs U and D): OCCDF = occ_U - occ_D and
**   OCCRDF = OCCDF / occ_U above their thresholds for `persist` intervals,
**   with the downstream occupancy falling at the onset (DOCCTD).  A queue
**   behind a blocked lane stands over U while D, beyond the block, empties.
**   A signal's queue reaching back to U stands over D as well, so it does
**   not trip.
** - count deficit (needs D and a reference): the vehicles D should have
**   counted, from the lane's usual share of a reference flow (its own U
**   plus its neighbours' D), summed over the run of intervals in which D
**   counted none.  When that sum passes `deficit` vehicles the silence is
**   improbable (a Poisson count with that mean is zero with probability
**   e^-deficit).  This is the single-station test: a blocked lane's loop
**   goes silent, or stands occupied with no vehicle crossing, while its
**   neighbours carry on.  The share is learnt on the run (a moving average
**   over quiet intervals) and the test waits `warmup` intervals for it.
**
** An incident clears after `clear` intervals in which D counts again and
** the occupancy test no longer holds.  docs/incidents.md gives the loop
** layout and the figures measured on simulated incidents.
*/
#ifndef GREENWAVE_INCIDENT_H
#define GREENWAVE_INCIDENT_H

#include <stdint.h>

#include "greenwave/gw.h"
#include "greenwave/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Thresholds; a zero field takes the default given after it. */
typedef struct gw_incident_config {
  double interval_s; /* length of one observation; 0: 60 */
  double occdf;      /* T1, occupancy difference; 0: 0.3 */
  double occrdf;     /* T2, relative difference; 0: 0.7 */
  double docctd;     /* T3, fall of downstream occupancy at the onset; 0: 0.3 */
  uint32_t persist;  /* intervals the occupancy test must hold; 0: 2 */
  double deficit;    /* expected vehicles not counted; 0: 10 */
  uint32_t clear;    /* intervals of normal counting to clear; 0: 2 */
  double alpha;      /* weight of one interval in the learnt share; 0: 0.05 */
  uint32_t warmup;   /* intervals learnt before the deficit test; 0: 10 */
} gw_incident_config;

/* One interval of one lane.  A station that does not exist, or has no data
** this interval, has a negative occupancy and count. */
typedef struct gw_incident_obs {
  double occ_up, count_up;     /* U: occupied share 0..1, vehicles */
  double occ_down, count_down; /* D */
} gw_incident_obs;

enum { GW_INCIDENT_START, GW_INCIDENT_CLEAR };
enum { GW_INCIDENT_OCCUPANCY, GW_INCIDENT_DEFICIT };

typedef struct gw_incident_alarm {
  uint32_t lane;     /* as gw_incident_add_lane returned */
  uint32_t approach; /* as given to gw_incident_add_lane */
  int what;          /* GW_INCIDENT_START or _CLEAR */
  int test;          /* the test that raised it: GW_INCIDENT_OCCUPANCY or _DEFICIT */
  double start_t;    /* end of the interval in which it was raised */
  double t;          /* end of the interval of this report */
  double value;      /* at start: OCCRDF or the expected count missed */
} gw_incident_alarm;

/* Called at every start and every clear; the alarm is borrowed. */
typedef void (*gw_incident_fn)(void *ud, const gw_incident_alarm *a);

typedef struct gw_incident gw_incident;

/* GW_EINVAL for a negative threshold, occrdf or alpha above 1. */
int gw_incident_create(const gw_incident_config *cfg, gw_incident_fn fn, void *ud,
                       gw_incident **out);
/* Adds a lane of approach `approach` with the stations it has; its index
** (0, 1, ...) goes to *lane.  Lanes are added before the first feed
** (GW_ESTATE after). */
int gw_incident_add_lane(gw_incident *d, uint32_t approach, int has_up, int has_down,
                         uint32_t *lane);
/* Feeds the interval ending at t: obs[i] for lane i, every lane. */
int gw_incident_feed(gw_incident *d, double t, const gw_incident_obs *obs);
/* 1 while an incident is open on the lane. */
int gw_incident_active(const gw_incident *d, uint32_t lane);
uint32_t gw_incident_lane_count(const gw_incident *d);
void gw_incident_destroy(gw_incident *d);
const char *gw_incident_test_name(int test); /* "occupancy", "deficit" */

/* ---- evaluation on simulated incidents ----------------------------------
**
** Runs the scenario's demand in the simulator (signals on their programs)
** `free_runs` times without an incident and `runs` times with one: a lane
** blocked from a random position between its stations to its end, during
** block_s seconds starting at a random time after warmup_s, on a random busy
** lane (one whose D counted at least 120 veh/h in the incident-free runs,
** else the busiest quarter).  Every normal lane at least 20 m long is
** watched, with U at min(15 % of its length, 20 m) and D at the net's own
** loop on the lane, else 5 m before its end.  Run i uses simulator seed
** seed + i; everything is a function of the seed. */
typedef struct gw_incident_eval_config {
  uint32_t runs;      /* with an incident; 0: 10 */
  uint32_t free_runs; /* without; 0: runs / 2, at least 1 */
  double duration_s;  /* of each run; 0: 3600 */
  double block_s;     /* incident length; 0: 600 */
  double warmup_s;    /* nothing is blocked or counted before; 0: 600 */
  uint64_t seed;      /* 0: 1 */
  gw_incident_config detector;
} gw_incident_eval_config;

typedef struct gw_incident_eval_run {
  int incident;           /* 1: a lane was blocked */
  uint64_t seed;          /* the simulator's */
  uint32_t lane;          /* the net lane blocked */
  double pos_m;           /* where the block starts */
  double from_s, until_s; /* when */
  int detected;           /* an alarm on its approach in [from_s, until_s + interval] */
  double detect_s;        /* time of that alarm minus from_s */
  int detected_lane;      /* 1 when the alarm was on the blocked lane itself */
  uint32_t false_alarms;  /* every other start after warmup_s */
} gw_incident_eval_run;

typedef struct gw_incident_eval {
  uint32_t lanes, stations; /* watched */
  uint32_t runs, free_runs;
  uint32_t detected;
  double mean_detect_s; /* over the detected ones */
  uint32_t free_alarms; /* starts in the incident-free runs */
  double station_hours; /* watched in the incident-free runs, after warmup */
  double fa_per_station_hour;
  double fa_per_run;         /* free_alarms / free_runs */
  uint32_t other_alarms;     /* starts in the incident runs away from the incident */
  gw_incident_eval_run *run; /* free_runs first, then the incident runs */
} gw_incident_eval;

/* GW_EINVAL (with a message) for a scenario without any lane to watch or a
** bad parameter. */
int gw_incident_evaluate(const gw_scenario *sc, const gw_incident_eval_config *cfg,
                         gw_incident_eval *out, gw_error *err);
void gw_incident_eval_free(gw_incident_eval *e);

#ifdef __cplusplus
}
#endif
#endif

/*
** demand.h -- travel demand: vehicle types and the vehicles to insert.
**
** A gw_demand is what a route file describes once flows are expanded: a list
** of vehicles sorted by departure time, each with a type and an explicit
** route (a sequence of normal edges of one gw_net).  It is immutable once
** loaded and borrowed by the simulator, which must not outlive it.
*/
#ifndef GREENWAVE_DEMAND_H
#define GREENWAVE_DEMAND_H

#include <stdint.h>

#include "greenwave/gw.h"
#include "greenwave/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_demand gw_demand;

/* Vehicle type parameters (SUMO names in brackets). */
typedef struct gw_vtype {
  const char *id;
  uint32_t vclass;             /* one GW_VC_* bit */
  double length_m;             /* [length] */
  double min_gap_m;            /* [minGap] standstill gap to the leader */
  double accel_mps2;           /* [accel] */
  double decel_mps2;           /* [decel] comfortable braking */
  double emergency_decel_mps2; /* [emergencyDecel] */
  double sigma;                /* [sigma] driver imperfection in [0, 1] */
  double tau_s;                /* [tau] desired time headway */
  double max_speed_mps;        /* [maxSpeed] */
  double speed_factor;         /* [speedFactor] mean multiplier of the limit */
  double speed_dev;            /* its standard deviation */
  double width_m;              /* [width] */
} gw_vtype;

/* Fills t with the defaults of a vehicle class (SUMO's defaults). */
void gw_vtype_defaults(gw_vtype *t, uint32_t vclass);

/* Departure lane and speed choices. */
enum {
  GW_DEPART_LANE_BEST = -1,
  GW_DEPART_LANE_FIRST = -2,
  GW_DEPART_LANE_FREE = -3,
  GW_DEPART_LANE_RANDOM = -4
};
enum {
  GW_DEPART_SPEED_GIVEN,
  GW_DEPART_SPEED_MAX,
  GW_DEPART_SPEED_DESIRED,
  GW_DEPART_SPEED_RANDOM,
  GW_DEPART_SPEED_LIMIT
};

typedef struct gw_trip {
  const char *id;
  uint32_t vtype;        /* index into the demand's types */
  double depart_s;       /* scheduled insertion time */
  const uint32_t *route; /* normal edges of the net */
  uint32_t route_n;
  int depart_lane;         /* >= 0 a lane index, else GW_DEPART_LANE_* */
  int depart_speed_mode;   /* GW_DEPART_SPEED_* */
  double depart_speed_mps; /* with GW_DEPART_SPEED_GIVEN */
  double depart_pos_m;     /* position of the vehicle's back on its first lane */
  double arrival_pos_m;    /* on the last edge; negative: the end */
} gw_trip;

/* An empty demand (no vehicles). */
int gw_demand_create(gw_demand **out);
/* Loads one or more SUMO route files (comma-separated list allowed in the
** caller, one path per call here) against `net`.  Calls accumulate into *d;
** pass *d == NULL the first time.  Vehicles are sorted by depart once
** gw_demand_finish() is called. */
int gw_demand_load_sumo(gw_demand **d, const gw_net *net, const char *path, gw_error *err);
int gw_demand_finish(gw_demand *d, gw_error *err);
void gw_demand_destroy(gw_demand *d);

uint32_t gw_demand_trip_count(const gw_demand *d);
const gw_trip *gw_demand_trip(const gw_demand *d, uint32_t i);
uint32_t gw_demand_vtype_count(const gw_demand *d);
const gw_vtype *gw_demand_vtype(const gw_demand *d, uint32_t i);

#ifdef __cplusplus
}
#endif
#endif

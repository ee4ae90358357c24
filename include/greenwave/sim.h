/*
** sim.h -- the microscopic traffic simulator.
**
** gw_sim moves vehicles of a gw_demand over a gw_net in fixed time steps.
** It borrows both (they must outlive it) and is deterministic: the same
** net, demand, configuration and seed give the same result, bit for bit,
** whatever the machine load or processing order.
**
** Car following is Krauss as in SUMO (Euler update, driver imperfection
** `sigma`), lane choice looks a few edges ahead along the route, signals run
** their fixed-time programs with offsets as SUMO does, and minor links yield
** to foes by time windows.  See docs/simulator.md for the model.
*/
#ifndef GREENWAVE_SIM_H
#define GREENWAVE_SIM_H

#include <stdint.h>

#include "greenwave/demand.h"
#include "greenwave/gw.h"
#include "greenwave/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_sim gw_sim;

/* Vehicle dynamics.  SUMO: Krauss with driver imperfection, yielding at
** minor links, SUMO-like lane changing (docs/simulator.md).  CITYFLOW:
** CityFlow's safe-speed car following with its headway term and ballistic
** update, no randomness, stop on red or before a full exit lane, 8.33 m/s
** on turns, CityFlow's lane choice and (with lane_change) its simple lane
** changing (docs/cityflow.md). */
enum { GW_DYNAMICS_SUMO = 0, GW_DYNAMICS_CITYFLOW = 1 };

typedef struct gw_sim_config {
  double step_s;             /* 0.1 .. 10; default 1 */
  double begin_s;            /* simulation start time; default 0 */
  double end_s;              /* negative: run until every vehicle has arrived */
  uint64_t seed;             /* driver randomness; default 42 */
  double time_to_teleport_s; /* a vehicle standing this long is moved on; <= 0 never */
  int dynamics;              /* GW_DYNAMICS_*; default SUMO */
  int lane_change;           /* CityFlow dynamics: 1 changes lanes as CityFlow's laneChange */
} gw_sim_config;

void gw_sim_config_defaults(gw_sim_config *c);

int gw_sim_create(const gw_net *net, const gw_demand *demand, const gw_sim_config *cfg,
                  gw_sim **out);
void gw_sim_destroy(gw_sim *sim);

/* Advances one step. */
int gw_sim_step(gw_sim *sim);
/* 1 once the end time is reached or every vehicle of the demand has
** arrived, whichever comes first. */
int gw_sim_done(const gw_sim *sim);
double gw_sim_time(const gw_sim *sim);

typedef struct gw_sim_stats {
  uint64_t loaded; /* vehicles of the demand */
  uint64_t inserted;
  uint64_t arrived;
  uint64_t running; /* in the network now */
  uint64_t pending; /* past their departure time, waiting to enter */
  uint64_t teleports;
  uint64_t collisions;
  uint64_t veh_steps; /* sum over steps of vehicles running */
  uint64_t peak_running;
} gw_sim_stats;
void gw_sim_stats_get(const gw_sim *sim, gw_sim_stats *out);

/* One finished trip, as SUMO's tripinfo: times in s, lengths in m. */
typedef struct gw_trip_record {
  uint32_t index; /* the trip's index in the demand */
  const char *id;
  const char *vtype;
  double depart_s;       /* actual insertion time */
  double depart_delay_s; /* insertion minus scheduled departure */
  double arrival_s;
  double route_length_m; /* distance driven */
  double duration_s;     /* arrival minus insertion */
  double time_loss_s;    /* against driving at the allowed speed */
  double waiting_time_s; /* time at speed below 0.1 m/s */
  uint32_t stops;        /* times the vehicle came to a halt */
  uint32_t teleports;
} gw_trip_record;
/* Called once per arrived vehicle; the record is borrowed for the call. */
typedef void (*gw_trip_fn)(void *ud, const gw_trip_record *rec);
void gw_sim_on_trip(gw_sim *sim, gw_trip_fn fn, void *ud);

/* Signals.  The state string of signal `tls` (one character per link
** index, as in SUMO: G g y r ...); borrowed until the next step. */
const char *gw_sim_signal_state(const gw_sim *sim, uint32_t tls);
uint32_t gw_sim_signal_phase(const gw_sim *sim, uint32_t tls);

/* External control of a signal: after gw_sim_signal_take the simulator no
** longer runs the signal's program; the state set last is shown until the
** next set.  `state` must have one character per link index. */
int gw_sim_signal_take(gw_sim *sim, uint32_t tls);
int gw_sim_signal_set(gw_sim *sim, uint32_t tls, const char *state);

/* Blocks `lane` from pos_m to its end during [from_s, until_s), as an
** incident or works would: vehicles stop before the block and change to a
** neighbouring lane to pass it.  At most 64 blocks per simulation. */
int gw_sim_block_lane(gw_sim *sim, uint32_t lane, double pos_m, double from_s, double until_s);

/* Vehicles on a lane now, and those below 0.1 m/s. */
int gw_sim_lane_counts(const gw_sim *sim, uint32_t lane, uint32_t *vehicles, uint32_t *halting);

/* Induction loops: the net's detectors come first (same indices), loops
** added with gw_sim_detector_add follow.  Readings cover the last step. */
#include "greenwave/field.h"
uint32_t gw_sim_detector_count(const gw_sim *sim);
uint32_t gw_sim_detector_lane(const gw_sim *sim, uint32_t det);
int gw_sim_detector_add(gw_sim *sim, uint32_t lane, double pos_m, uint32_t *det);
int gw_sim_detector_read(const gw_sim *sim, uint32_t det, gw_detector_reading *out);
/* All lanes' vehicle and halted counts, and all detectors' readings, as
** arrays indexed by lane and detector, borrowed until the next step. */
void gw_sim_lane_arrays(const gw_sim *sim, const uint32_t **vehicles, const uint32_t **halting);
const gw_detector_reading *gw_sim_detector_readings(const gw_sim *sim);

/* Read access to vehicles, for tests and the dashboard.  `i` ranges over
** the demand's trips; a vehicle not in the network returns GW_ENOTFOUND. */
typedef struct gw_vehicle_view {
  uint32_t lane;
  double pos_m; /* of the front, from the lane start */
  double speed_mps;
} gw_vehicle_view;
int gw_sim_vehicle(const gw_sim *sim, uint32_t i, gw_vehicle_view *out);

#ifdef __cplusplus
}
#endif
#endif

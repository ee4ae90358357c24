/*
** cityflow.h -- CityFlow scenarios: reading them, the metrics the
** signal-control literature reports on them, and conversion to and from
** SUMO files.
**
** A CityFlow scenario is three JSON files: config.json names roadnet.json
** (intersections, roads with their lanes, road links with lane links, light
** phases) and flow.json (flows of vehicles with their parameters and
** routes).  The importer turns them into the same gw_net and gw_demand the
** SUMO importer builds, so the simulator, the controllers and the server
** run on either.  docs/cityflow.md describes the mapping:
**
**   - a road is an edge; lane i of road R is lane "R_i" (CityFlow's index:
**     0 is the innermost, left-turn lane in the benchmark networks);
**   - a virtual intersection is a boundary junction without links;
**   - every lane link is a junction link with its own internal lane (its
**     points, or a curve between the two lane ends);
**   - the light phases become one static program of the intersection's
**     signal, one state character per lane link, 'G' where the phase lists
**     the lane link's road link and 'r' elsewhere; two road links that no
**     phase shows green together are foes (the safety monitor keeps an
**     intergreen between them), those shown together are not;
**   - each flow is expanded into vehicles at the times CityFlow emits them
**     (startTime, then every interval, up to endTime inclusive), routes
**     with gaps are completed by the shortest path by length, and vehicle
**     parameters map onto vehicle types (maxPosAcc -> accel, usualNegAcc ->
**     decel, maxNegAcc -> emergencyDecel, headwayTime -> tau, sigma 0).
**
** Errors name the file, the JSON path and what is wrong, e.g.
** "roadnet.json: roads[3].lanes[1]: maxSpeed must be a positive number".
*/
#ifndef GREENWAVE_CITYFLOW_H
#define GREENWAVE_CITYFLOW_H

#include <stdint.h>

#include "greenwave/demand.h"
#include "greenwave/gw.h"
#include "greenwave/net.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What config.json says beyond the files. */
typedef struct gw_cityflow_settings {
  double interval_s;    /* seconds per step */
  uint64_t seed;        /* seed */
  int rl_traffic_light; /* 1: phases change only under a controller */
  int lane_change;      /* laneChange (default 0) */
  double transition_s;  /* duration of the transition phase (phase 0), or 0 */
} gw_cityflow_settings;

/* Loads roadnet.json (or any buffer holding one; `name` is used in errors). */
int gw_net_load_cityflow(const char *path, gw_net **out, gw_error *err);
int gw_net_load_cityflow_buffer(const char *name, const char *buf, size_t len, gw_net **out,
                                gw_error *err);

/* Loads flow.json against a net that gw_net_load_cityflow returned.
** Flows without an end (endTime -1) are expanded up to `horizon_s`; with
** horizon_s < 0 such a flow is an error.  The demand is finished. */
int gw_demand_load_cityflow(const gw_net *net, const char *path, double horizon_s, gw_demand **out,
                            gw_error *err);
int gw_demand_load_cityflow_buffer(const gw_net *net, const char *name, const char *buf, size_t len,
                                   double horizon_s, gw_demand **out, gw_error *err);

/* Loads config.json and the two files it names ("dir" + file name,
** relative names taken from the configuration's folder).  The scenario's
** step and seed come from the configuration; its end from horizon_s
** (negative: 3600 s, the literature's episode).  `settings` may be NULL. */
int gw_scenario_load_cityflow(const char *config_path, double horizon_s, gw_scenario **out,
                              gw_cityflow_settings *settings, gw_error *err);

/* 1 when the file looks like a CityFlow config.json or roadnet.json (a
** JSON object), 0 for anything else (a SUMO file). */
int gw_cityflow_is_json(const char *path);

/* The duration of signal tls's transition phase: a phase whose greens are
** only those every phase shows (the benchmark's phase 0, right turns
** only); 0 when the program has none. */
double gw_cityflow_transition_s(const gw_net *net, uint32_t tls);

/* ---- the literature's metrics ------------------------------------------ */

/* Figures over one run, as defined in docs/cityflow.md:
**   att_s        the published ATT: per vehicle, the time spent on the
**                entering lanes of signalised intersections (unfinished
**                vehicles counted to the end), averaged over the vehicles
**                that were ever on such a lane;
**   att_engine_s CityFlow's own average travel time: from creation (the
**                scheduled departure) to arrival, or to the end for
**                vehicles still in the network or waiting to enter;
**   throughput   vehicles that arrived;
**   mean_waiting_time_s  time below 0.1 m/s per vehicle that entered the
**                network, unfinished ones counted to the end. */
typedef struct gw_cityflow_metrics {
  double att_s, att_engine_s, mean_waiting_time_s;
  uint64_t throughput;
  uint64_t att_vehicles;    /* vehicles in att_s */
  uint64_t engine_vehicles; /* vehicles in att_engine_s */
} gw_cityflow_metrics;

/* Computes the figures from a simulation at its current time (the end of
** the episode). */
void gw_cityflow_metrics_get(const gw_sim *sim, gw_cityflow_metrics *out);

/* ---- conversion --------------------------------------------------------- */

/* Writes a net and its demand as a CityFlow scenario: DIR/config.json,
** DIR/roadnet.json, DIR/flow.json.  GW_EINVAL with a message when the net
** cannot be expressed (e.g. a signal whose links are not grouped by road
** link, or a link that skips lanes CityFlow cannot name). */
int gw_cityflow_write(const gw_net *net, const gw_demand *demand, double step_s, uint64_t seed,
                      const char *dir, gw_error *err);
/* Writes a net and demand as SUMO files: DIR/NAME.net.xml, DIR/NAME.rou.xml
** and DIR/NAME.sumocfg. */
int gw_sumo_write(const gw_net *net, const gw_demand *demand, double step_s, double end_s,
                  uint64_t seed, const char *dir, const char *name, gw_error *err);

#ifdef __cplusplus
}
#endif
#endif

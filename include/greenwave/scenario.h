/*
** scenario.h -- a network, its demand and the run settings, loaded together.
**
** A scenario is what a SUMO .sumocfg names: one network, route files,
** additional files (signal programs, detectors) and the time settings.  The
** scenario owns its net and demand; destroy it after every simulator that
** borrows them.
*/
#ifndef GREENWAVE_SCENARIO_H
#define GREENWAVE_SCENARIO_H

#include <stdint.h>

#include "greenwave/demand.h"
#include "greenwave/gw.h"
#include "greenwave/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_scenario {
  gw_net *net;
  gw_demand *demand;
  double begin_s;            /* default 0 */
  double end_s;              /* default: no end (negative) */
  double step_s;             /* default 1 */
  uint64_t seed;             /* default 42, as SUMO */
  double time_to_teleport_s; /* default 300; <= 0 disables teleporting */
} gw_scenario;

/* Loads a .sumocfg and everything it names (paths relative to the file). */
int gw_scenario_load_sumocfg(const char *path, gw_scenario **out, gw_error *err);
/* Loads an extra additional file into an already loaded scenario, as
** SUMO's --additional-files on top of the configuration. */
int gw_scenario_add_additional(gw_scenario *sc, const char *path, gw_error *err);
void gw_scenario_destroy(gw_scenario *sc);

#ifdef __cplusplus
}
#endif
#endif

/*
** metrics.h -- summaries of finished trips.
**
** Means are over arrived vehicles, as SUMO's tripinfo statistics; feed each
** gw_trip_record from gw_sim_on_trip into gw_trip_summary_add.
*/
#ifndef GREENWAVE_METRICS_H
#define GREENWAVE_METRICS_H

#include <stdint.h>

#include "greenwave/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_trip_summary {
  uint64_t n;
  double duration_s, time_loss_s, waiting_s, depart_delay_s, route_length_m; /* sums */
  uint64_t stops;
} gw_trip_summary;

void gw_trip_summary_add(gw_trip_summary *s, const gw_trip_record *r);
/* Means; 0 when no trip has finished. */
double gw_trip_summary_mean(const gw_trip_summary *s, double sum);

#ifdef __cplusplus
}
#endif
#endif

/*
** trips.c -- trip summaries: sums of tripinfo quantities, means on demand.
**
** Sums are kept in double; over a day of a large city (millions of trips of
** hundreds of seconds) the relative rounding error stays near 1e-10.
*/
#include "greenwave/metrics.h"

void gw_trip_summary_add(gw_trip_summary *s, const gw_trip_record *r) {
  s->n++;
  s->duration_s += r->duration_s;
  s->time_loss_s += r->time_loss_s;
  s->waiting_s += r->waiting_time_s;
  s->depart_delay_s += r->depart_delay_s;
  s->route_length_m += r->route_length_m;
  s->stops += r->stops;
}

double gw_trip_summary_mean(const gw_trip_summary *s, double sum) {
  return s->n ? sum / (double)s->n : 0;
}

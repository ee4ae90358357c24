/*
** run.h -- one simulation run as the CLI does it, shared by `sim` and
** `compare`: load, optionally put every signal under a controller, run to the
** end, collect the figures.
*/
#ifndef GW_CLI_RUN_H
#define GW_CLI_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "greenwave/cityflow.h"
#include "greenwave/metrics.h"
#include "greenwave/sim.h"

typedef struct gw_run_opts {
  const char *path;
  const char *adds[32];
  int nadd;
  double end, step, seed, tele; /* < 0 (end: < -1): the scenario's */
  const char *controller;       /* NULL: the signals' own programs */
  const char *trips_path, *events_path, *detmap_path;
  int y, mo, d; /* calendar day of time 0 for events */
  int quiet;
  const char *cityflow; /* a CityFlow config.json instead of `path` */
  int dynamics;         /* GW_DYNAMICS_*, or -1: CityFlow's for CityFlow input */
} gw_run_opts;

typedef struct gw_run_result {
  gw_sim_stats st;
  gw_trip_summary sum;
  /* Vehicles whose route crosses the most signals of the scenario (on an
  ** arterial: those that cross all of them). */
  uint32_t max_signals;
  gw_trip_summary sum_max;
  double step_s, sim_end_s, load_s, sim_wall_s, wall_s, ctl_wall_s;
  uint64_t seed, refused, failsafes;
  long peak_rss_kb;
  gw_cityflow_metrics cf; /* the literature's figures (docs/cityflow.md) */
  int dynamics;
} gw_run_result;

void gw_run_opts_init(gw_run_opts *o);
/* Per trip of the scenario's demand, the signals its route crosses (edges
** ending at a signalised junction); *max_signals the largest.  Free with
** free(); NULL when out of memory. */
struct gw_scenario;
uint32_t *gw_cli_signals_per_trip(const struct gw_scenario *sc, uint32_t *max_signals);
/* Copies the control loop's wall time, refused requests and fail-safes
** into r; nothing when ctl is NULL. */
struct gw_control;
void gw_cli_control_stats(const struct gw_control *ctl, gw_run_result *r);
/* The log hook the CLI installs: warnings and errors on stderr. */
void gw_cli_log_to_stderr(void *ud, int level, const char *msg);
/* 0 on success; 1 with a message on stderr otherwise. */
int gw_cli_run(const gw_run_opts *o, gw_run_result *r);
void gw_cli_print_json(FILE *f, const gw_run_opts *o, const gw_run_result *r);
void gw_cli_print_text(FILE *f, const gw_run_opts *o, const gw_run_result *r);

#endif

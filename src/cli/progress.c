/*
** progress.c -- the progress bar of long runs.
**
** On a terminal the line is redrawn at most ten times a second so that
** drawing never costs measurable simulation speed; into a file or pipe a
** plain line is written at each tenth of the run (or every ten seconds of
** wall time when the end is unknown), which keeps CI logs short.
*/
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

double gw_cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void gw_cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("greenwave: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void gw_progress_init(gw_progress *p, double begin_s, double end_s, int quiet) {
  p->tty = isatty(2);
  p->quiet = quiet;
  p->begin_s = begin_s;
  p->end_s = end_s;
  p->start_wall = p->last_wall = gw_cli_now();
  p->last_decile = 0;
}

void gw_progress_update(gw_progress *p, double sim_t, unsigned long running, unsigned long arrived,
                        unsigned long loaded, unsigned long long veh_steps, int force) {
  if (p->quiet) return;
  double now = gw_cli_now();
  double frac = p->end_s > p->begin_s ? (sim_t - p->begin_s) / (p->end_s - p->begin_s) : -1;
  if (frac > 1) frac = 1;
  double el = now - p->start_wall;
  double rate = el > 0 ? (double)veh_steps / el : 0;
  if (p->tty) {
    if (!force && now - p->last_wall < 0.1) return;
    p->last_wall = now;
    char bar[31];
    int fill = frac >= 0 ? (int)(frac * 30) : 0;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %7.0f s  running %6lu  arrived %7lu/%lu  %6.2f M veh-steps/s ", bar,
            sim_t, running, arrived, loaded, rate / 1e6);
    fflush(stderr);
    return;
  }
  int decile = frac >= 0 ? (int)(frac * 10) : (int)(el / 10);
  if (!force && decile <= p->last_decile) return;
  p->last_decile = decile;
  fprintf(stderr, "t=%.0f s running=%lu arrived=%lu/%lu veh_steps_per_s=%.0f\n", sim_t, running,
          arrived, loaded, rate);
}

void gw_progress_done(gw_progress *p) {
  if (!p->quiet && p->tty) fputc('\n', stderr);
}

/*
** cmd_measures.c -- `greenwave measures`: signal performance measures of
** one signal from a high-resolution event log, as a text table, JSON or a
** standalone SVG chart.
**
** The log is streamed through the library's reader and measures engine;
** this file only keeps the records it prints (cycles, bins, pedestrian
** delays, and for the Purdue coordination diagram the arrivals), so its
** memory grows with the number of cycles in the chosen time range, not with
** the size of the log.
** Malformed rows never stop it: their counts, with the first line numbers,
** go to stderr.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/vec.h"
#include "greenwave/measures.h"

static const char usage[] =
    "usage: greenwave measures LOG.csv --signal ID --measure NAME [options]\n"
    "\n"
    "Signal performance measures (ATSPM) of one signal from a high-resolution event\n"
    "log (SignalID,Timestamp,EventCode,EventParam; header line optional; timestamps\n"
    "YYYY-MM-DD HH:MM:SS[.f], YYYY-MM-DDTHH:MM:SS[.f] or MM/DD/YYYY HH:MM:SS[.f]).\n"
    "`greenwave sim ... --events LOG.csv` writes such a log; LOG.csv '-' reads stdin.\n"
    "\n"
    "measures (NAME), each per phase over completed cycles (begin green to the next\n"
    "begin green of the same phase); docs/measures.md defines every number:\n"
    "  split         split monitor: green time of every cycle (begin green to begin\n"
    "                yellow) and how it ended (gap out, max out, force off)\n"
    "  terminations  counts of gap outs, max outs and force offs per phase\n"
    "  pcd           Purdue coordination diagram: every cycle with its arrivals on\n"
    "                green, yellow and red (detector-on events of mapped detectors)\n"
    "  aog           arrivals on green (%), green share g/C and platoon ratio\n"
    "  splitfail     split failures: green occupancy ratio and red occupancy ratio\n"
    "                over the first 5 s of red, failure when both >= 0.79\n"
    "  volume        approach volume: detector-on counts per 15 min bin, in veh/h\n"
    "  redyellow     detector-on events during yellow and red (red clearance apart)\n"
    "  delay         approach delay: an arrival on red waits until the next begin\n"
    "                green, one on green or yellow 0 s; total (veh-h) and per\n"
    "                vehicle (s/veh), per phase and per 15 min bin\n"
    "  tmc           turning movement counts: detector-ons per movement (L, T, R,\n"
    "                TR, ...; the map's 4th column) and phase per 15 min bin\n"
    "  peddelay      pedestrian delay: from a call (45) or button press (90) to the\n"
    "                next begin walk (21) of the phase; count, mean and max\n"
    "  health        detector health: one line per finding (stuck on, no activity,\n"
    "                chatter, low or high volume against the phase's other detectors)\n"
    "\n"
    "options:\n"
    "  --signal ID           the signal (required)\n"
    "  --measure NAME        one of the measures above (required)\n"
    "  --from TIME, --to TIME\n"
    "                        only events in [from, to), e.g. '2026-01-05 07:00:00'\n"
    "  --detectors MAP.csv   detector map, rows SignalID,Detector,Phase[,Movement]\n"
    "                        (header optional); required by pcd, aog, splitfail,\n"
    "                        volume, redyellow, delay and tmc, since log detector\n"
    "                        numbers name channels; tmc needs the Movement column\n"
    "  --phase N             print only phase N\n"
    "  --bin SECONDS         volume, delay and tmc bin (default 900)\n"
    "  --json                JSON instead of a text table\n"
    "  --stuck-on S          health: stuck on when on for longer than S s (600)\n"
    "  --no-activity S       health: no activity when silent for longer than S s\n"
    "                        while another detector of the signal counted (1800)\n"
    "  --chatter N/S         health: chatter when more than N short pulses in a\n"
    "                        clock-aligned window of S s (30/300)\n"
    "  --chatter-min S       health: a pulse or gap of at most S s is short (0.1)\n"
    "  --volume-low R, --volume-high R\n"
    "                        health: count below R x (above R x) the median of the\n"
    "                        other detectors of its phase (0.2 and 5; needs\n"
    "                        --detectors and at least 2 other detectors)\n"
    "  --svg FILE            also draw a chart (pcd, split, delay and tmc): for pcd\n"
    "                        each arrival as a dot over time in cycle, on the green,\n"
    "                        yellow and red bands of its cycle, one panel per phase;\n"
    "                        for split one bar per cycle of the lowest phase, the\n"
    "                        greens of every phase stacked, with the cycle length;\n"
    "                        for delay the delay per vehicle per bin, for tmc the\n"
    "                        counts per bin stacked by movement, a panel per phase\n"
    "  -h, --help            this text\n"
    "\n"
    "Rows that cannot be read (bad fields, unknown event codes) are skipped and\n"
    "counted; the counts and their first line numbers are printed on stderr.\n"
    "Exit status: 0 done, 1 the log or map could not be read, 2 usage error.\n";

typedef struct ctx {
  gw_measures *m;
  GW_VEC(gw_cycle) cycles;
  GW_VEC(gw_arrival) arrivals;
  GW_VEC(gw_volume_bin) bins;
  GW_VEC(gw_delay_bin) delays;
  GW_VEC(gw_tmc_bin) tmc;
  GW_VEC(gw_ped_delay) peds;
  int keep_arrivals;
  int oom;
} ctx;

static void on_cycle(void *ud, const gw_cycle *c) {
  ctx *x = ud;
  if (gw_vec_push(&x->cycles, *c)) x->oom = 1;
}
static void on_arrival(void *ud, const gw_arrival *a) {
  ctx *x = ud;
  if (x->keep_arrivals && gw_vec_push(&x->arrivals, *a)) x->oom = 1;
}
static void on_bin(void *ud, const gw_volume_bin *b) {
  ctx *x = ud;
  if (gw_vec_push(&x->bins, *b)) x->oom = 1;
}
static void on_delay(void *ud, const gw_delay_bin *b) {
  ctx *x = ud;
  if (gw_vec_push(&x->delays, *b)) x->oom = 1;
}
static void on_tmc(void *ud, const gw_tmc_bin *b) {
  ctx *x = ud;
  if (gw_vec_push(&x->tmc, *b)) x->oom = 1;
}
static void on_ped(void *ud, const gw_ped_delay *p) {
  ctx *x = ud;
  if (gw_vec_push(&x->peds, *p)) x->oom = 1;
}
/* Delay bins come per phase as their red arrivals meet their green: into
** time order, then phase order, as the volume bins come. */
static int cmp_delay(const void *a, const void *b) {
  const gw_delay_bin *x = a, *y = b;
  if (x->start_t != y->start_t) return x->start_t < y->start_t ? -1 : 1;
  return (x->phase > y->phase) - (x->phase < y->phase);
}
static int on_event(void *ud, const gw_log_event *e) {
  ctx *x = ud;
  return gw_measures_feed(x->m, e->t, e->code, e->param) || x->oom;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static void xml_str(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
  }
}

static void report_skipped(const char *path, const gw_eventlog_stats *st, const gw_measures *m) {
  for (int r = 0; r < GW_EVLOG_NREASONS; r++) {
    if (!st->bad[r]) continue;
    fprintf(stderr, "greenwave: %s: %llu row%s skipped: %s (line", path,
            (unsigned long long)st->bad[r], st->bad[r] == 1 ? "" : "s", gw_eventlog_reason(r));
    for (int k = 0; k < GW_EVLOG_FIRST_LINES && st->bad_lines[r][k]; k++)
      fprintf(stderr, "%s%llu", k ? ", " : " ", (unsigned long long)st->bad_lines[r][k]);
    fprintf(stderr, "%s)\n", st->bad[r] > GW_EVLOG_FIRST_LINES ? ", ..." : "");
  }
  if (gw_measures_out_of_order(m))
    fprintf(stderr, "greenwave: %s: %llu events earlier than the one before them ignored\n", path,
            (unsigned long long)gw_measures_out_of_order(m));
  if (gw_measures_ignored(m))
    fprintf(stderr,
            "greenwave: %s: %llu phase events ignored (phase outside 1..%d or cycle "
            "without begin yellow)\n",
            path, (unsigned long long)gw_measures_ignored(m), GW_MEASURES_MAX_PHASE);
}

/* ---- text and JSON ------------------------------------------------------ */

static void print_cycle_json(FILE *f, const gw_cycle *c, int measure, int first) {
  char ts[32];
  gw_time_format(c->start_t, ts, sizeof ts);
  fprintf(f,
          "%s\n    {\"phase\": %d, \"start\": \"%s\", \"green_s\": %.1f, \"yellow_s\": %.1f, "
          "\"cycle_s\": %.1f",
          first ? "" : ",", c->phase, ts, c->green_s, c->yellow_s, c->cycle_s);
  if (measure == GW_MEASURE_SPLIT)
    fprintf(f, ", \"termination\": \"%s\"", gw_termination_name(c->termination));
  if (measure == GW_MEASURE_PCD)
    fprintf(f, ", \"arrivals_green\": %u, \"arrivals_yellow\": %u, \"arrivals_red\": %u",
            c->arrivals[0], c->arrivals[1], c->arrivals[2]);
  if (measure == GW_MEASURE_SPLITFAIL)
    fprintf(f, ", \"green_occupancy\": %.3f, \"red_occupancy\": %.3f, \"split_failure\": %s",
            c->green_occupancy, c->red_occupancy, c->split_failure ? "true" : "false");
  fputc('}', f);
}

static void print_summary_json(FILE *f, const gw_phase_summary *s, int measure, int first) {
  fprintf(f, "%s\n    {\"phase\": %d, \"cycles\": %u", first ? "" : ",", s->phase, s->cycles);
  /* The split monitor shows how greens ended too. */
  if (measure == GW_MEASURE_SPLIT)
    fprintf(f, ", \"mean_green_s\": %.2f, \"min_green_s\": %.1f, \"max_green_s\": %.1f",
            s->cycles ? s->green_s / s->cycles : 0, s->min_green_s, s->max_green_s);
  switch (measure) {
    case GW_MEASURE_SPLIT:
    case GW_MEASURE_TERMINATIONS:
      fprintf(f, ", \"gap_outs\": %llu, \"max_outs\": %llu, \"force_offs\": %llu",
              (unsigned long long)s->gap_outs, (unsigned long long)s->max_outs,
              (unsigned long long)s->force_offs);
      break;
    case GW_MEASURE_PCD:
    case GW_MEASURE_AOG:
      fprintf(f,
              ", \"arrivals_green\": %llu, \"arrivals_yellow\": %llu, \"arrivals_red\": %llu, "
              "\"aog_pct\": %.2f, \"green_share\": %.4f, \"platoon_ratio\": %.3f",
              (unsigned long long)s->arrivals[0], (unsigned long long)s->arrivals[1],
              (unsigned long long)s->arrivals[2], s->aog_pct, s->green_share, s->platoon_ratio);
      break;
    case GW_MEASURE_SPLITFAIL:
      fprintf(f, ", \"measured_cycles\": %u, \"split_failures\": %u", s->occupancy_cycles,
              s->split_failures);
      break;
    case GW_MEASURE_VOLUME:
      fprintf(f, ", \"detector_ons\": %llu", (unsigned long long)s->detector_ons);
      break;
    case GW_MEASURE_REDYELLOW:
      fprintf(f,
              ", \"yellow_actuations\": %llu, \"red_actuations\": %llu, "
              "\"red_clearance_actuations\": %llu",
              (unsigned long long)s->arrivals[1], (unsigned long long)s->arrivals[2],
              (unsigned long long)s->redclear_actuations);
      break;
    case GW_MEASURE_DELAY:
      fprintf(f,
              ", \"arrivals\": %llu, \"arrivals_red\": %llu, \"unresolved\": %llu, "
              "\"total_delay_veh_h\": %.4f, \"avg_delay_s\": %.2f, \"max_delay_s\": %.1f",
              (unsigned long long)s->delay_arrivals, (unsigned long long)s->delay_red_arrivals,
              (unsigned long long)s->delay_unresolved, s->delay_s / 3600, s->avg_delay_s,
              s->max_delay_s);
      break;
    case GW_MEASURE_TMC: {
      uint64_t tot = 0;
      fprintf(f, ", \"movements\": [");
      int k = 0;
      for (int mv = 1; mv < GW_MOVE_N; mv++) {
        if (!(s->tmc_movements & (1u << mv))) continue;
        fprintf(f, "%s{\"movement\": \"%s\", \"count\": %llu}", k++ ? ", " : "",
                gw_movement_name(mv), (unsigned long long)s->tmc[mv]);
        tot += s->tmc[mv];
      }
      fprintf(f, "], \"count\": %llu", (unsigned long long)tot);
      break;
    }
    case GW_MEASURE_PEDDELAY:
      fprintf(f,
              ", \"walks\": %llu, \"calls\": %llu, \"presses\": %llu, \"delays\": %llu, "
              "\"avg_delay_s\": %.2f, \"max_delay_s\": %.1f",
              (unsigned long long)s->ped_walks, (unsigned long long)s->ped_calls,
              (unsigned long long)s->ped_presses, (unsigned long long)s->ped_delays,
              s->ped_avg_delay_s, s->ped_max_delay_s);
      break;
  }
  fputc('}', f);
}

/* Whether phase summary s belongs in the output of `measure`: turning
** movement counts list the phases with a movement in the map, pedestrian
** delay the phases with pedestrian events, the rest every phase. */
static int listed(const gw_phase_summary *s, int measure, int phase) {
  if (phase && s->phase != phase) return 0;
  if (measure == GW_MEASURE_TMC) return s->tmc_movements != 0;
  if (measure == GW_MEASURE_PEDDELAY) return s->ped_events != 0;
  return 1;
}

/* A plain note when a measure has nothing to work on; NULL otherwise. */
static const char *empty_note(int measure, const gw_phase_summary *sum, size_t nsum) {
  int any = 0;
  for (size_t i = 0; i < nsum; i++) any |= listed(&sum[i], measure, 0);
  if (any) return NULL;
  if (measure == GW_MEASURE_TMC)
    return "the detector map names no movement (a 4th column L, T, R, TL, TR, ...): no turning "
           "movement counts";
  if (measure == GW_MEASURE_PEDDELAY)
    return "no pedestrian events (codes 21-23, 45, 89, 90) of this signal in the range: no "
           "pedestrian delay (logs of Greenwave's simulator have none; it has no pedestrians)";
  return NULL;
}

static void print_json(const ctx *x, int measure, int phase, const char *signal, const char *from,
                       const char *to, const gw_eventlog_stats *st, const gw_phase_summary *sum,
                       size_t nsum) {
  uint64_t skipped = 0;
  for (int r = 0; r < GW_EVLOG_NREASONS; r++) skipped += st->bad[r];
  printf("{\n  \"signal\": ");
  json_str(stdout, signal);
  printf(",\n  \"measure\": \"%s\",\n  \"from\": ", gw_measure_name(measure));
  if (from)
    json_str(stdout, from);
  else
    printf("null");
  printf(",\n  \"to\": ");
  if (to)
    json_str(stdout, to);
  else
    printf("null");
  printf(",\n  \"events\": %llu,\n  \"rows_skipped\": %llu", (unsigned long long)st->delivered,
         (unsigned long long)skipped);
  if (measure == GW_MEASURE_SPLIT || measure == GW_MEASURE_PCD || measure == GW_MEASURE_SPLITFAIL) {
    printf(",\n  \"cycles\": [");
    int first = 1;
    for (size_t i = 0; i < x->cycles.n; i++) {
      if (phase && x->cycles.a[i].phase != phase) continue;
      print_cycle_json(stdout, &x->cycles.a[i], measure, first);
      first = 0;
    }
    printf("\n  ]");
  }
  if (measure == GW_MEASURE_PCD) {
    printf(",\n  \"arrivals\": [");
    int first = 1;
    for (size_t i = 0; i < x->arrivals.n; i++) {
      const gw_arrival *a = &x->arrivals.a[i];
      if (phase && a->phase != phase) continue;
      char ts[32];
      gw_time_format(a->t, ts, sizeof ts);
      printf("%s\n    {\"phase\": %d, \"t\": \"%s\", \"cycle_t_s\": %.1f, \"state\": \"%s\"}",
             first ? "" : ",", a->phase, ts, a->t - a->cycle_start_t,
             gw_arrival_state_name(a->state));
      first = 0;
    }
    printf("\n  ]");
  }
  if (measure == GW_MEASURE_VOLUME) {
    printf(",\n  \"bins\": [");
    int first = 1;
    for (size_t i = 0; i < x->bins.n; i++) {
      const gw_volume_bin *b = &x->bins.a[i];
      if (phase && b->phase != phase) continue;
      char ts[32];
      gw_time_format(b->start_t, ts, sizeof ts);
      printf(
          "%s\n    {\"phase\": %d, \"start\": \"%s\", \"bin_s\": %.0f, \"count\": %u, "
          "\"vph\": %.1f}",
          first ? "" : ",", b->phase, ts, b->bin_s, b->count, b->vph);
      first = 0;
    }
    printf("\n  ]");
  }
  if (measure == GW_MEASURE_DELAY) {
    printf(",\n  \"bins\": [");
    int first = 1;
    for (size_t i = 0; i < x->delays.n; i++) {
      const gw_delay_bin *b = &x->delays.a[i];
      if (phase && b->phase != phase) continue;
      char ts[32];
      gw_time_format(b->start_t, ts, sizeof ts);
      printf(
          "%s\n    {\"phase\": %d, \"start\": \"%s\", \"bin_s\": %.0f, \"arrivals\": %u, "
          "\"arrivals_red\": %u, \"delay_s\": %.1f, \"delay_veh_h\": %.4f, "
          "\"avg_delay_s\": %.2f}",
          first ? "" : ",", b->phase, ts, b->bin_s, b->arrivals, b->arrivals_red, b->delay_s,
          b->delay_s / 3600, b->avg_delay_s);
      first = 0;
    }
    printf("\n  ]");
  }
  if (measure == GW_MEASURE_TMC) {
    printf(",\n  \"bins\": [");
    int first = 1;
    for (size_t i = 0; i < x->tmc.n; i++) {
      const gw_tmc_bin *b = &x->tmc.a[i];
      if (phase && b->phase != phase) continue;
      char ts[32];
      gw_time_format(b->start_t, ts, sizeof ts);
      printf(
          "%s\n    {\"phase\": %d, \"movement\": \"%s\", \"start\": \"%s\", \"bin_s\": %.0f, "
          "\"count\": %u, \"vph\": %.1f}",
          first ? "" : ",", b->phase, gw_movement_name(b->movement), ts, b->bin_s, b->count,
          b->vph);
      first = 0;
    }
    printf("\n  ]");
  }
  if (measure == GW_MEASURE_PEDDELAY) {
    uint64_t nped = 0;
    for (size_t i = 0; i < nsum; i++)
      if (!phase || sum[i].phase == phase) nped += sum[i].ped_events;
    printf(",\n  \"pedestrian_events\": %llu,\n  \"delays\": [", (unsigned long long)nped);
    int first = 1;
    for (size_t i = 0; i < x->peds.n; i++) {
      const gw_ped_delay *d = &x->peds.a[i];
      if (phase && d->phase != phase) continue;
      char a[32], b[32];
      gw_time_format(d->call_t, a, sizeof a);
      gw_time_format(d->walk_t, b, sizeof b);
      printf("%s\n    {\"phase\": %d, \"call\": \"%s\", \"walk\": \"%s\", \"delay_s\": %.1f}",
             first ? "" : ",", d->phase, a, b, d->delay_s);
      first = 0;
    }
    printf("\n  ]");
  }
  const char *note = empty_note(measure, sum, nsum);
  if (note) {
    printf(",\n  \"note\": ");
    json_str(stdout, note);
  }
  printf(",\n  \"phases\": [");
  int first = 1;
  for (size_t i = 0; i < nsum; i++) {
    if (!listed(&sum[i], measure, phase)) continue;
    print_summary_json(stdout, &sum[i], measure, first);
    first = 0;
  }
  printf("\n  ]\n}\n");
}

static void print_text(const ctx *x, int measure, int phase, const char *signal,
                       const gw_phase_summary *sum, size_t nsum) {
  char ts[32];
  printf("%s, signal %s\n\n", gw_measure_name(measure), signal);
  if (measure == GW_MEASURE_SPLIT || measure == GW_MEASURE_PCD || measure == GW_MEASURE_SPLITFAIL) {
    printf("phase  cycle start             green s  yellow s  cycle s");
    if (measure == GW_MEASURE_SPLIT) printf("  termination\n");
    if (measure == GW_MEASURE_PCD) printf("  on green  on yellow  on red\n");
    if (measure == GW_MEASURE_SPLITFAIL) printf("  green occ  red occ  failure\n");
    for (size_t i = 0; i < x->cycles.n; i++) {
      const gw_cycle *c = &x->cycles.a[i];
      if (phase && c->phase != phase) continue;
      gw_time_format(c->start_t, ts, sizeof ts);
      printf("%5d  %s  %7.1f  %8.1f  %7.1f", c->phase, ts, c->green_s, c->yellow_s, c->cycle_s);
      if (measure == GW_MEASURE_SPLIT) printf("  %s\n", gw_termination_name(c->termination));
      if (measure == GW_MEASURE_PCD)
        printf("  %8u  %9u  %6u\n", c->arrivals[0], c->arrivals[1], c->arrivals[2]);
      if (measure == GW_MEASURE_SPLITFAIL)
        printf("  %9.2f  %7.2f  %s\n", c->green_occupancy, c->red_occupancy,
               c->split_failure ? "yes" : "no");
    }
    printf("\n");
  }
  const char *note = empty_note(measure, sum, nsum);
  if (note) printf("%s\n\n", note);
  if (measure == GW_MEASURE_DELAY) {
    printf("phase  bin start             arrivals  on red  delay veh-h  delay s/veh\n");
    for (size_t i = 0; i < x->delays.n; i++) {
      const gw_delay_bin *b = &x->delays.a[i];
      if (phase && b->phase != phase) continue;
      gw_time_format(b->start_t, ts, sizeof ts);
      printf("%5d  %s  %8u  %6u  %11.3f  %11.1f\n", b->phase, ts, b->arrivals, b->arrivals_red,
             b->delay_s / 3600, b->avg_delay_s);
    }
    printf("\n");
  }
  if (measure == GW_MEASURE_TMC && !note) {
    printf("phase  movement  bin start               count      veh/h\n");
    for (size_t i = 0; i < x->tmc.n; i++) {
      const gw_tmc_bin *b = &x->tmc.a[i];
      if (phase && b->phase != phase) continue;
      gw_time_format(b->start_t, ts, sizeof ts);
      printf("%5d  %-8s  %s  %6u  %9.1f\n", b->phase, gw_movement_name(b->movement), ts, b->count,
             b->vph);
    }
    printf("\n");
  }
  if (measure == GW_MEASURE_PEDDELAY && !note) {
    printf("phase  call                   begin walk             delay s\n");
    for (size_t i = 0; i < x->peds.n; i++) {
      const gw_ped_delay *d = &x->peds.a[i];
      if (phase && d->phase != phase) continue;
      char wt[32];
      gw_time_format(d->call_t, ts, sizeof ts);
      gw_time_format(d->walk_t, wt, sizeof wt);
      printf("%5d  %s  %s  %7.1f\n", d->phase, ts, wt, d->delay_s);
    }
    printf("\n");
  }
  if (measure == GW_MEASURE_VOLUME) {
    printf("phase  bin start               count      veh/h\n");
    for (size_t i = 0; i < x->bins.n; i++) {
      const gw_volume_bin *b = &x->bins.a[i];
      if (phase && b->phase != phase) continue;
      gw_time_format(b->start_t, ts, sizeof ts);
      printf("%5d  %s  %6u  %9.1f\n", b->phase, ts, b->count, b->vph);
    }
    printf("\n");
  }
  switch (measure) {
    case GW_MEASURE_SPLIT:
      printf("phase  cycles  mean green s  min green s  max green s\n");
      break;
    case GW_MEASURE_TERMINATIONS:
      printf("phase  gap outs  max outs  force offs  %% gap  %% max  %% force\n");
      break;
    case GW_MEASURE_PCD:
    case GW_MEASURE_AOG:
      printf(
          "phase  cycles  arrivals  on green  on yellow  on red  AOG %%  g/C %%  platoon ratio\n");
      break;
    case GW_MEASURE_SPLITFAIL:
      printf("phase  cycles  measured  split failures  %% of measured\n");
      break;
    case GW_MEASURE_VOLUME:
      printf("phase  detector-on events\n");
      break;
    case GW_MEASURE_REDYELLOW:
      printf("phase  cycles  on yellow  on red  of which in red clearance\n");
      break;
    case GW_MEASURE_DELAY:
      printf(
          "phase  cycles  arrivals  on red  delay veh-h  delay s/veh  max delay s  unresolved\n");
      break;
    case GW_MEASURE_TMC:
      if (!note) printf("phase  movement     count\n");
      break;
    case GW_MEASURE_PEDDELAY:
      if (!note) printf("phase  walks  calls  presses  delays  mean delay s  max delay s\n");
      break;
  }
  for (size_t i = 0; i < nsum; i++) {
    const gw_phase_summary *s = &sum[i];
    if (!listed(s, measure, phase)) continue;
    uint64_t arr = s->arrivals[0] + s->arrivals[1] + s->arrivals[2];
    uint64_t terms = s->gap_outs + s->max_outs + s->force_offs;
    double tn = terms ? 100.0 / (double)terms : 0;
    switch (measure) {
      case GW_MEASURE_SPLIT:
        printf("%5d  %6u  %12.1f  %11.1f  %11.1f\n", s->phase, s->cycles,
               s->cycles ? s->green_s / s->cycles : 0, s->min_green_s, s->max_green_s);
        break;
      case GW_MEASURE_TERMINATIONS:
        printf("%5d  %8llu  %8llu  %10llu  %5.1f  %5.1f  %7.1f\n", s->phase,
               (unsigned long long)s->gap_outs, (unsigned long long)s->max_outs,
               (unsigned long long)s->force_offs, (double)s->gap_outs * tn,
               (double)s->max_outs * tn, (double)s->force_offs * tn);
        break;
      case GW_MEASURE_PCD:
      case GW_MEASURE_AOG:
        printf("%5d  %6u  %8llu  %8llu  %9llu  %6llu  %5.1f  %5.1f  %13.2f\n", s->phase, s->cycles,
               (unsigned long long)arr, (unsigned long long)s->arrivals[0],
               (unsigned long long)s->arrivals[1], (unsigned long long)s->arrivals[2], s->aog_pct,
               100 * s->green_share, s->platoon_ratio);
        break;
      case GW_MEASURE_SPLITFAIL:
        printf("%5d  %6u  %8u  %14u  %13.1f\n", s->phase, s->cycles, s->occupancy_cycles,
               s->split_failures,
               s->occupancy_cycles ? 100.0 * s->split_failures / s->occupancy_cycles : 0);
        break;
      case GW_MEASURE_VOLUME:
        printf("%5d  %18llu\n", s->phase, (unsigned long long)s->detector_ons);
        break;
      case GW_MEASURE_REDYELLOW:
        printf("%5d  %6u  %9llu  %6llu  %25llu\n", s->phase, s->cycles,
               (unsigned long long)s->arrivals[1], (unsigned long long)s->arrivals[2],
               (unsigned long long)s->redclear_actuations);
        break;
      case GW_MEASURE_DELAY:
        printf("%5d  %6u  %8llu  %6llu  %11.3f  %11.1f  %11.1f  %10llu\n", s->phase, s->cycles,
               (unsigned long long)s->delay_arrivals, (unsigned long long)s->delay_red_arrivals,
               s->delay_s / 3600, s->avg_delay_s, s->max_delay_s,
               (unsigned long long)s->delay_unresolved);
        break;
      case GW_MEASURE_TMC:
        for (int mv = 1; mv < GW_MOVE_N; mv++)
          if (s->tmc_movements & (1u << mv))
            printf("%5d  %-8s  %8llu\n", s->phase, gw_movement_name(mv),
                   (unsigned long long)s->tmc[mv]);
        break;
      case GW_MEASURE_PEDDELAY:
        printf("%5d  %5llu  %5llu  %7llu  %6llu  %12.1f  %11.1f\n", s->phase,
               (unsigned long long)s->ped_walks, (unsigned long long)s->ped_calls,
               (unsigned long long)s->ped_presses, (unsigned long long)s->ped_delays,
               s->ped_avg_delay_s, s->ped_max_delay_s);
        break;
    }
  }
}

/* ---- SVG ---------------------------------------------------------------- */

static const char *const palette[8] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                       "#66a61e", "#e6ab02", "#a6761d", "#666666"};

/* A round tick step giving about `want` ticks over span. */
static double tick_step(double span, int want, const double *steps, int nsteps) {
  for (int i = 0; i < nsteps; i++)
    if (span / steps[i] <= want) return steps[i];
  return steps[nsteps - 1] * ceil(span / want / steps[nsteps - 1]);
}

static void hhmm(double t, char *buf, size_t n) {
  char ts[32];
  gw_time_format(t, ts, sizeof ts);
  snprintf(buf, n, "%.5s", ts + 11);
}

#define SVG_W 960.0
#define PL 70.0  /* left margin */
#define PR 20.0  /* right margin */
#define PH 260.0 /* plot height per panel */
#define PT 50.0  /* space above each plot */
#define PB 50.0  /* space below each plot */

static void y_axis(FILE *f, double top, double ymax, const char *label) {
  static const double ysteps[] = {5, 10, 20, 30, 60};
  double step = tick_step(ymax, 8, ysteps, 5);
  for (double v = 0; v <= ymax + 1e-9; v += step) {
    double y = top + PH - v / ymax * PH;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", PL - 5,
            y, PL, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", PL - 8, y + 4, v);
  }
  fprintf(f,
          "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
          18.0, top + PH / 2, label);
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
          "stroke=\"#000\"/>\n",
          PL, top, SVG_W - PL - PR, PH);
}

static void time_axis(FILE *f, double top, double t0, double t1) {
  static const double tsteps[] = {60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200};
  double step = tick_step(t1 - t0, 10, tsteps, 10);
  double w = SVG_W - PL - PR;
  for (double v = ceil(t0 / step) * step; v <= t1; v += step) {
    double x = PL + (v - t0) / (t1 - t0) * w;
    char lab[16];
    hhmm(v, lab, sizeof lab);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", x,
            top + PH, x, top + PH + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, top + PH + 18,
            lab);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time of day</text>\n", PL + w / 2,
          top + PH + 36);
}

static void svg_begin(FILE *f, double height) {
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
          SVG_W, height, SVG_W, height);
}

static void legend_item(FILE *f, double x, double y, const char *fill, const char *label, int dot) {
  if (dot)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 6, y - 4, fill);
  else
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\" "
            "stroke=\"#444\"/>\n",
            x, y - 9, fill);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 16, y, label);
}

static void svg_pcd(FILE *f, const ctx *x, const char *signal, int phase,
                    const gw_phase_summary *sum, size_t nsum) {
  int np = 0;
  for (size_t i = 0; i < nsum; i++)
    if ((!phase || sum[i].phase == phase) && sum[i].cycles) np++;
  double panel = PT + PH + PB;
  svg_begin(f, np ? np * panel + 10 : 120);
  if (!np)
    fprintf(f, "<text x=\"20\" y=\"40\">no completed cycles in the log for this signal</text>\n");
  double w = SVG_W - PL - PR;
  int k = 0;
  for (size_t i = 0; i < nsum; i++) {
    const gw_phase_summary *s = &sum[i];
    if ((phase && s->phase != phase) || !s->cycles) continue;
    double top = k++ * panel + PT;
    double t0 = INFINITY, t1 = -INFINITY, ymax = 0, last_start = -INFINITY;
    for (size_t c = 0; c < x->cycles.n; c++) {
      const gw_cycle *cy = &x->cycles.a[c];
      if (cy->phase != s->phase) continue;
      if (cy->start_t < t0) t0 = cy->start_t;
      if (cy->start_t + cy->cycle_s > t1) t1 = cy->start_t + cy->cycle_s;
      if (cy->cycle_s > ymax) ymax = cy->cycle_s;
      last_start = cy->start_t;
    }
    ymax = ceil(ymax / 10) * 10;
    if (t1 <= t0) t1 = t0 + 1;
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">"
            "Purdue coordination diagram, signal ",
            PL, top - 28);
    xml_str(f, signal);
    fprintf(f, ", phase %d: AOG %.1f %%, g/C %.1f %%, platoon ratio %.2f, %u cycles</text>\n",
            s->phase, s->aog_pct, 100 * s->green_share, s->platoon_ratio, s->cycles);
    legend_item(f, PL, top - 8, "#c7e9c0", "green", 0);
    legend_item(f, PL + 70, top - 8, "#fff3b0", "yellow", 0);
    legend_item(f, PL + 145, top - 8, "#fcc5c0", "red", 0);
    legend_item(f, PL + 210, top - 8, "#000", "arrival (detector on)", 1);
    for (size_t c = 0; c < x->cycles.n; c++) {
      const gw_cycle *cy = &x->cycles.a[c];
      if (cy->phase != s->phase) continue;
      double x0 = PL + (cy->start_t - t0) / (t1 - t0) * w;
      double cw = cy->cycle_s / (t1 - t0) * w;
      double bands[3][2] = {{0, cy->green_s},
                            {cy->green_s, cy->green_s + cy->yellow_s},
                            {cy->green_s + cy->yellow_s, cy->cycle_s}};
      static const char *const fill[3] = {"#c7e9c0", "#fff3b0", "#fcc5c0"};
      for (int b = 0; b < 3; b++) {
        if (bands[b][1] <= bands[b][0]) continue;
        double ya = top + PH - bands[b][1] / ymax * PH, yb = top + PH - bands[b][0] / ymax * PH;
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", x0,
                ya, cw, yb - ya, fill[b]);
      }
    }
    for (size_t a = 0; a < x->arrivals.n; a++) {
      const gw_arrival *ar = &x->arrivals.a[a];
      if (ar->phase != s->phase || ar->cycle_start_t > last_start || ar->t < t0) continue;
      double px = PL + (ar->t - t0) / (t1 - t0) * w;
      double py = top + PH - (ar->t - ar->cycle_start_t) / ymax * PH;
      fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"1.6\"/>\n", px, py);
    }
    y_axis(f, top, ymax, "time in cycle (s, from begin green)");
    time_axis(f, top, t0, t1);
  }
  fprintf(f, "</svg>\n");
}

static void svg_split(FILE *f, const ctx *x, const char *signal, const gw_phase_summary *sum,
                      size_t nsum) {
  /* Bars follow the cycles of the lowest phase that has any. */
  int ref = 0;
  for (size_t i = 0; i < nsum && !ref; i++)
    if (sum[i].cycles) ref = sum[i].phase;
  size_t nbars = 0;
  double ymax = 0;
  for (size_t c = 0; c < x->cycles.n; c++)
    if (x->cycles.a[c].phase == ref) nbars++;
  svg_begin(f, PT + PH + PB + 40);
  if (!nbars) {
    fprintf(f, "<text x=\"20\" y=\"40\">no completed cycles in the log for this signal</text>\n");
    fprintf(f, "</svg>\n");
    return;
  }
  /* Green per phase within each reference cycle, stacked. */
  double *stack = calloc(nbars * (GW_MEASURES_MAX_PHASE + 1), sizeof *stack);
  double *start = calloc(nbars, sizeof *start), *len = calloc(nbars, sizeof *len);
  if (!stack || !start || !len) goto done;
  size_t b = 0;
  for (size_t c = 0; c < x->cycles.n; c++) {
    const gw_cycle *cy = &x->cycles.a[c];
    if (cy->phase == ref) start[b] = cy->start_t, len[b] = cy->cycle_s, b++;
  }
  for (size_t c = 0; c < x->cycles.n; c++) {
    const gw_cycle *cy = &x->cycles.a[c];
    for (size_t k = 0; k < nbars; k++)
      if (cy->start_t >= start[k] && cy->start_t < start[k] + len[k])
        stack[k * (GW_MEASURES_MAX_PHASE + 1) + cy->phase] += cy->green_s;
  }
  for (size_t k = 0; k < nbars; k++) {
    double tot = 0;
    for (int p = 1; p <= GW_MEASURES_MAX_PHASE; p++)
      tot += stack[k * (GW_MEASURES_MAX_PHASE + 1) + p];
    if (tot > ymax) ymax = tot;
    if (len[k] > ymax) ymax = len[k];
  }
  ymax = ceil(ymax / 10) * 10;
  double top = PT, w = SVG_W - PL - PR, bw = w / (double)nbars;
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">"
          "Split monitor, signal ",
          PL, top - 28);
  xml_str(f, signal);
  fprintf(f, ": green per phase in each cycle of phase %d (%zu cycles)</text>\n", ref, nbars);
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\">Phases green at the same time "
          "(e.g. two rings) each add their green, so a bar may stand above its cycle.</text>\n",
          PL, top + PH + 54);
  double lx = PL;
  for (size_t i = 0; i < nsum; i++) {
    char lab[32];
    snprintf(lab, sizeof lab, "phase %d", sum[i].phase);
    legend_item(f, lx, top - 8, palette[(sum[i].phase - 1) % 8], lab, 0);
    lx += 80;
  }
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
          "stroke-width=\"2\"/>\n<text x=\"%.1f\" y=\"%.1f\">cycle length</text>\n",
          lx, top - 12, lx + 14, top - 12, lx + 18, top - 8);
  for (size_t k = 0; k < nbars; k++) {
    double y = top + PH, x0 = PL + (double)k * bw + bw * 0.1;
    for (int p = 1; p <= GW_MEASURES_MAX_PHASE; p++) {
      double g = stack[k * (GW_MEASURES_MAX_PHASE + 1) + p];
      if (g <= 0) continue;
      double hgt = g / ymax * PH;
      y -= hgt;
      fprintf(f,
              "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
              "<title>phase %d: %.1f s</title></rect>\n",
              x0, y, bw * 0.8, hgt, palette[(p - 1) % 8], p, g);
    }
    double yc = top + PH - len[k] / ymax * PH;
    fprintf(f,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000\" "
            "stroke-width=\"2\"/>\n",
            x0, yc, x0 + bw * 0.8, yc);
  }
  /* About ten labelled bars. */
  size_t every = nbars > 10 ? (nbars + 9) / 10 : 1;
  for (size_t k = 0; k < nbars; k += every) {
    char lab[16];
    hhmm(start[k], lab, sizeof lab);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            PL + ((double)k + 0.5) * bw, top + PH + 18, lab);
  }
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">cycle (start, time of day)"
          "</text>\n",
          PL + w / 2, top + PH + 36);
  y_axis(f, top, ymax, "green (s)");
done:
  free(stack);
  free(start);
  free(len);
  fprintf(f, "</svg>\n");
}

/* Bar charts over the bins, one panel per phase: for delay the delay per
** vehicle of each bin, for tmc each bin's count stacked by movement. */
static void svg_bins(FILE *f, const ctx *x, int measure, const char *signal, int phase,
                     const gw_phase_summary *sum, size_t nsum) {
  int np = 0;
  for (size_t i = 0; i < nsum; i++) np += listed(&sum[i], measure, phase);
  double panel = PT + PH + PB;
  svg_begin(f, np ? np * panel + 10 : 120);
  double t0 = INFINITY, t1 = -INFINITY, bin_s = 900;
  size_t nb = measure == GW_MEASURE_DELAY ? x->delays.n : x->tmc.n;
  for (size_t i = 0; i < nb; i++) {
    double st = measure == GW_MEASURE_DELAY ? x->delays.a[i].start_t : x->tmc.a[i].start_t;
    bin_s = measure == GW_MEASURE_DELAY ? x->delays.a[i].bin_s : x->tmc.a[i].bin_s;
    if (st < t0) t0 = st;
    if (st + bin_s > t1) t1 = st + bin_s;
  }
  if (!np || !nb) {
    fprintf(f, "<text x=\"20\" y=\"40\">%s</text>\n",
            measure == GW_MEASURE_TMC ? "no detector with a movement in the map for this signal"
                                      : "no arrivals in the log for this signal");
    fprintf(f, "</svg>\n");
    return;
  }
  double w = SVG_W - PL - PR, bw = bin_s / (t1 - t0) * w;
  int k = 0;
  for (size_t i = 0; i < nsum; i++) {
    const gw_phase_summary *s = &sum[i];
    if (!listed(s, measure, phase)) continue;
    double top = k++ * panel + PT, ymax = 0;
    /* The height of each bar: per bin, summed over movements for tmc. */
    for (size_t b = 0; b < nb; b++) {
      if (measure == GW_MEASURE_DELAY) {
        const gw_delay_bin *d = &x->delays.a[b];
        if (d->phase == s->phase && d->avg_delay_s > ymax) ymax = d->avg_delay_s;
      } else {
        const gw_tmc_bin *t = &x->tmc.a[b];
        if (t->phase != s->phase) continue;
        double tot = 0;
        for (size_t c = 0; c < nb; c++)
          if (x->tmc.a[c].phase == s->phase && x->tmc.a[c].start_t == t->start_t)
            tot += x->tmc.a[c].count;
        if (tot > ymax) ymax = tot;
      }
    }
    ymax = ymax > 0 ? ceil(ymax * 1.1 / 10) * 10 : 10;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">%s, signal ", PL,
            top - 28, measure == GW_MEASURE_DELAY ? "Approach delay" : "Turning movement counts");
    xml_str(f, signal);
    if (measure == GW_MEASURE_DELAY) {
      fprintf(f,
              ", phase %d: %.2f veh-h, %.1f s/veh over %llu arrivals (%.0f-minute bins)</text>\n",
              s->phase, s->delay_s / 3600, s->avg_delay_s, (unsigned long long)s->delay_arrivals,
              bin_s / 60);
      legend_item(f, PL, top - 8, palette[(s->phase - 1) % 8], "delay per vehicle in the bin", 0);
    } else {
      uint64_t tot = 0;
      for (int mv = 1; mv < GW_MOVE_N; mv++) tot += s->tmc[mv];
      fprintf(f, ", phase %d: %llu vehicles (%.0f-minute bins)</text>\n", s->phase,
              (unsigned long long)tot, bin_s / 60);
      double lx = PL;
      for (int mv = 1; mv < GW_MOVE_N; mv++) {
        if (!(s->tmc_movements & (1u << mv))) continue;
        legend_item(f, lx, top - 8, palette[mv % 8], gw_movement_name(mv), 0);
        lx += 60;
      }
    }
    for (size_t b = 0; b < nb; b++) {
      if (measure == GW_MEASURE_DELAY) {
        const gw_delay_bin *d = &x->delays.a[b];
        if (d->phase != s->phase || d->avg_delay_s <= 0) continue;
        double v = d->avg_delay_s;
        const char *fill = palette[(s->phase - 1) % 8];
        double x0 = PL + (d->start_t - t0) / (t1 - t0) * w + bw * 0.1, hgt = v / ymax * PH;
        fprintf(f,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                "<title>%.1f s/veh, %u arrivals</title></rect>\n",
                x0, top + PH - hgt, bw * 0.8, hgt, fill, v, d->arrivals);
      } else {
        const gw_tmc_bin *t = &x->tmc.a[b];
        if (t->phase != s->phase || !t->count) continue;
        /* Movements of one bin come together, in mask order: stack them. */
        double y = top + PH;
        for (size_t c = 0; c < b; c++)
          if (x->tmc.a[c].phase == s->phase && x->tmc.a[c].start_t == t->start_t)
            y -= x->tmc.a[c].count / ymax * PH;
        double x0 = PL + (t->start_t - t0) / (t1 - t0) * w + bw * 0.1, hgt = t->count / ymax * PH;
        fprintf(f,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                "<title>%s: %u</title></rect>\n",
                x0, y - hgt, bw * 0.8, hgt, palette[t->movement % 8], gw_movement_name(t->movement),
                t->count);
      }
    }
    y_axis(f, top, ymax,
           measure == GW_MEASURE_DELAY ? "delay per vehicle (s)" : "vehicles per bin");
    time_axis(f, top, t0, t1);
  }
  fprintf(f, "</svg>\n");
}

/* ---- detector health ---------------------------------------------------- */

typedef struct health_out {
  gw_health *h;
  int json;
  uint64_t n;
} health_out;

/* Findings are printed as they come, so nothing is kept per finding. */
static void on_finding(void *ud, const gw_health_finding *f) {
  health_out *o = ud;
  char a[32], b[32];
  gw_time_format(f->start_t, a, sizeof a);
  gw_time_format(f->end_t, b, sizeof b);
  o->n++;
  if (o->json) {
    printf("{\"signal\": ");
    json_str(stdout, f->signal);
    printf(
        ", \"detector\": %d, \"phase\": %d, \"kind\": \"%s\", \"start\": \"%s\", "
        "\"end\": \"%s\", \"value\": %.3f}\n",
        f->detector, f->phase, gw_health_kind_name(f->kind), a, b, f->value);
    return;
  }
  printf("signal %s  detector %d  %-11s  %s  %s  ", f->signal, f->detector,
         gw_health_kind_name(f->kind), a, b);
  switch (f->kind) {
    case GW_HEALTH_STUCK_ON:
      printf("on for %.1f s\n", f->value);
      break;
    case GW_HEALTH_NO_ACTIVITY:
      printf("silent for %.1f s\n", f->value);
      break;
    case GW_HEALTH_CHATTER:
      printf("%.0f short pulses\n", f->value);
      break;
    default:
      printf("%.3f x the median of phase %d\n", f->value, f->phase);
      break;
  }
}

static int on_health_event(void *ud, const gw_log_event *e) {
  health_out *o = ud;
  return gw_health_feed(o->h, e->t, e->code, e->param);
}

static int run_health(const char *path, const gw_eventlog_filter *flt, const char *map,
                      gw_health_config *cfg, int json) {
  int status = 1;
  gw_error err = {0, {0}};
  gw_detector_link *links = NULL;
  size_t nlinks = 0;
  gw_eventlog *log = NULL;
  health_out o = {NULL, json, 0};
  if (map && gw_detector_map_read(map, cfg->signal, &links, &nlinks, &err)) {
    gw_cli_error("%s", err.msg);
    goto done;
  }
  if (map && !nlinks)
    fprintf(stderr, "greenwave: %s: no detector of signal %s\n", map, cfg->signal);
  cfg->detectors = links;
  cfg->ndetectors = nlinks;
  if (gw_health_create(cfg, on_finding, &o, &o.h)) {
    gw_cli_error(
        "invalid health thresholds or detector map (--volume-low must be below "
        "--volume-high)");
    goto done;
  }
  if (gw_eventlog_open(path, &log, &err)) {
    gw_cli_error("%s", err.msg);
    goto done;
  }
  if (gw_eventlog_read(log, flt, on_health_event, &o, &err) < 0) {
    gw_cli_error("%s", err.msg);
    goto done;
  }
  gw_health_finish(o.h);
  const gw_eventlog_stats *st = gw_eventlog_stats_get(log);
  for (int r = 0; r < GW_EVLOG_NREASONS; r++)
    if (st->bad[r])
      fprintf(stderr, "greenwave: %s: %llu rows skipped: %s\n", path,
              (unsigned long long)st->bad[r], gw_eventlog_reason(r));
  if (gw_health_out_of_order(o.h))
    fprintf(stderr, "greenwave: %s: %llu events earlier than the one before them ignored\n", path,
            (unsigned long long)gw_health_out_of_order(o.h));
  if (gw_health_ignored(o.h))
    fprintf(stderr, "greenwave: %s: %llu events of detectors beyond the first %d ignored\n", path,
            (unsigned long long)gw_health_ignored(o.h), GW_MEASURES_MAX_DETECTORS);
  if (!st->delivered)
    fprintf(stderr, "greenwave: %s: no event of signal %s in the range\n", path, cfg->signal);
  fprintf(stderr, "greenwave: health of signal %s: %llu finding%s\n", cfg->signal,
          (unsigned long long)o.n, o.n == 1 ? "" : "s");
  status = 0;
done:
  gw_eventlog_close(log);
  gw_health_destroy(o.h);
  gw_detector_map_free(links);
  return status;
}

/* ---- the command -------------------------------------------------------- */

int gw_cmd_measures(int argc, char **argv) {
  const char *path = NULL, *signal = NULL, *mname = NULL, *from = NULL, *to = NULL;
  const char *map = NULL, *svg = NULL;
  int json = 0, phase = 0, measure = -1;
  double bin_s = 900;
  gw_health_config hcfg;
  memset(&hcfg, 0, sizeof hcfg);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--signal") && has) {
      signal = argv[++i];
    } else if (!strcmp(a, "--measure") && has) {
      mname = argv[++i];
    } else if (!strcmp(a, "--from") && has) {
      from = argv[++i];
    } else if (!strcmp(a, "--to") && has) {
      to = argv[++i];
    } else if (!strcmp(a, "--detectors") && has) {
      map = argv[++i];
    } else if (!strcmp(a, "--svg") && has) {
      svg = argv[++i];
    } else if (!strcmp(a, "--phase") && has) {
      double v;
      if (gw_cli_parse_num("--phase", argv[++i], 1, GW_MEASURES_MAX_PHASE, &v)) return 2;
      phase = (int)v;
    } else if (!strcmp(a, "--bin") && has) {
      if (gw_cli_parse_num("--bin", argv[++i], 1, 86400, &bin_s)) return 2;
    } else if (!strcmp(a, "--stuck-on") && has) {
      if (gw_cli_parse_num("--stuck-on", argv[++i], 0.1, 1e7, &hcfg.stuck_on_s)) return 2;
    } else if (!strcmp(a, "--no-activity") && has) {
      if (gw_cli_parse_num("--no-activity", argv[++i], 1, 1e7, &hcfg.no_activity_s)) return 2;
    } else if (!strcmp(a, "--chatter-min") && has) {
      if (gw_cli_parse_num("--chatter-min", argv[++i], 0.01, 60, &hcfg.chatter_min_s)) return 2;
    } else if (!strcmp(a, "--volume-low") && has) {
      if (gw_cli_parse_num("--volume-low", argv[++i], 0.001, 1, &hcfg.low_ratio)) return 2;
    } else if (!strcmp(a, "--volume-high") && has) {
      if (gw_cli_parse_num("--volume-high", argv[++i], 1, 1000, &hcfg.high_ratio)) return 2;
    } else if (!strcmp(a, "--chatter") && has) {
      const char *v = argv[++i];
      unsigned n;
      double w;
      char tail;
      if (sscanf(v, "%u/%lf%c", &n, &w, &tail) != 2 || n < 1 || w < 1 || w > 86400) {
        gw_cli_error("--chatter '%s': expected N/SECONDS, e.g. 30/300", v);
        return 2;
      }
      hcfg.chatter_count = n;
      hcfg.chatter_window_s = w;
    } else if (a[0] == '-' && a[1]) {
      gw_cli_error("unknown option or missing value '%s' (see `greenwave measures --help`)", a);
      return 2;
    } else if (path) {
      gw_cli_error("one log only; '%s' is extra", a);
      return 2;
    } else {
      path = a;
    }
  }
  if (!path || !signal || !mname) {
    gw_cli_error("measures needs LOG.csv, --signal ID and --measure NAME (see --help)");
    return 2;
  }
  measure = gw_measure_from_name(mname);
  if (measure < 0) {
    gw_cli_error(
        "unknown measure '%s': expected split, terminations, pcd, aog, splitfail, "
        "volume, redyellow, delay, tmc, peddelay or health",
        mname);
    return 2;
  }
  if (measure != GW_MEASURE_SPLIT && measure != GW_MEASURE_TERMINATIONS &&
      measure != GW_MEASURE_HEALTH && measure != GW_MEASURE_PEDDELAY && !map) {
    gw_cli_error(
        "--measure %s needs --detectors MAP.csv (rows SignalID,Detector,Phase%s): the log "
        "names detector channels, not phases",
        mname, measure == GW_MEASURE_TMC ? ",Movement" : "");
    return 2;
  }
  if (svg && measure != GW_MEASURE_PCD && measure != GW_MEASURE_SPLIT &&
      measure != GW_MEASURE_DELAY && measure != GW_MEASURE_TMC) {
    gw_cli_error("--svg draws pcd, split, delay and tmc only");
    return 2;
  }
  gw_eventlog_filter flt = {signal, -INFINITY, INFINITY};
  if (from && gw_time_parse(from, strlen(from), &flt.from_t)) {
    gw_cli_error("--from '%s': expected 'YYYY-MM-DD HH:MM:SS[.f]'", from);
    return 2;
  }
  if (to && gw_time_parse(to, strlen(to), &flt.to_t)) {
    gw_cli_error("--to '%s': expected 'YYYY-MM-DD HH:MM:SS[.f]'", to);
    return 2;
  }
  if (measure == GW_MEASURE_HEALTH) {
    hcfg.signal = signal;
    return run_health(path, &flt, map, &hcfg, json);
  }

  int status = 1;
  gw_error err = {0, {0}};
  gw_detector_link *links = NULL;
  int *moves = NULL;
  size_t nlinks = 0;
  gw_eventlog *log = NULL;
  ctx x;
  memset(&x, 0, sizeof x);
  x.keep_arrivals = measure == GW_MEASURE_PCD;
  if (map && gw_detector_map_read_ex(map, signal, &links, &moves, &nlinks, &err)) {
    gw_cli_error("%s", err.msg);
    goto done;
  }
  if (map && !nlinks) fprintf(stderr, "greenwave: %s: no detector of signal %s\n", map, signal);
  gw_measures_config cfg = {links, nlinks, bin_s, 0, 0, moves};
  gw_measures_sink sink = {on_cycle, on_arrival, on_bin, &x};
  gw_measures_sink_ext ext = {on_delay, on_tmc, on_ped, &x};
  if (gw_measures_create(&cfg, &sink, &x.m)) {
    gw_cli_error("%s: invalid detector map", map ? map : "-");
    goto done;
  }
  gw_measures_set_sink_ext(x.m, &ext);
  if (gw_eventlog_open(path, &log, &err)) {
    gw_cli_error("%s", err.msg);
    goto done;
  }
  int rc = gw_eventlog_read(log, &flt, on_event, &x, &err);
  if (rc < 0 || x.oom) {
    gw_cli_error("%s", x.oom ? "out of memory" : err.msg);
    goto done;
  }
  gw_measures_finish(x.m);
  const gw_eventlog_stats *st = gw_eventlog_stats_get(log);
  report_skipped(path, st, x.m);
  if (!st->delivered)
    fprintf(stderr, "greenwave: %s: no event of signal %s in the range\n", path, signal);
  const gw_phase_summary *sum;
  size_t nsum;
  gw_measures_summary(x.m, &sum, &nsum);
  if (x.delays.n) qsort(x.delays.a, x.delays.n, sizeof *x.delays.a, cmp_delay);
  if (json)
    print_json(&x, measure, phase, signal, from, to, st, sum, nsum);
  else
    print_text(&x, measure, phase, signal, sum, nsum);
  if (svg) {
    FILE *f = fopen(svg, "w");
    if (!f) {
      gw_cli_error("%s: cannot write", svg);
      goto done;
    }
    if (measure == GW_MEASURE_PCD)
      svg_pcd(f, &x, signal, phase, sum, nsum);
    else if (measure == GW_MEASURE_DELAY || measure == GW_MEASURE_TMC)
      svg_bins(f, &x, measure, signal, phase, sum, nsum);
    else
      svg_split(f, &x, signal, sum, nsum);
    if (fclose(f)) {
      gw_cli_error("%s: write failed", svg);
      goto done;
    }
  }
  status = 0;
done:
  gw_eventlog_close(log);
  gw_measures_destroy(x.m);
  gw_detector_map_free(links);
  gw_detector_map_free(moves);
  gw_vec_free(&x.cycles);
  gw_vec_free(&x.arrivals);
  gw_vec_free(&x.bins);
  gw_vec_free(&x.delays);
  gw_vec_free(&x.tmc);
  gw_vec_free(&x.peds);
  return status;
}

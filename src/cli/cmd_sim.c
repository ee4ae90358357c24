/*
** cmd_sim.c -- `greenwave sim`: load a scenario, run it, report.
**
** Exit status: 0 on success, 1 when the scenario cannot be loaded or the
** run fails, 2 on a usage error.  The JSON summary is one line on stdout;
** everything meant for people goes to stderr.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/metrics.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

static const char usage[] =
    "usage: greenwave sim SCENARIO.sumocfg [options]\n"
    "\n"
    "Runs Greenwave's microscopic simulator on a SUMO scenario (network, routes,\n"
    "additional files and time settings from the .sumocfg) with the signal\n"
    "programs it contains, and prints a summary of the finished trips.\n"
    "\n"
    "options:\n"
    "  --end S          stop at simulated time S (default: the scenario's end; the run\n"
    "                   also stops once every vehicle has arrived)\n"
    "  --step S         time step in seconds, 0.1 to 10 (default: the scenario's, or 1)\n"
    "  --seed N         seed of the driver randomness (default: the scenario's, or 42)\n"
    "  --additional F   load another SUMO additional file (signal programs, detectors);\n"
    "                   may be repeated; the last program loaded for a signal runs\n"
    "  --teleport S     move on vehicles stuck S seconds (default: scenario's, or 300;\n"
    "                   0 disables)\n"
    "  --controller NAME[:key=value,...]\n"
    "                   run every signal with a Greenwave controller under the safety\n"
    "                   monitor instead of its program: fixed, actuated, maxpressure,\n"
    "                   adaptive (parameters: docs/control.md)\n"
    "  --events FILE    write the high-resolution event log (Indiana codes) as CSV:\n"
    "                   SignalID,Timestamp,EventCode,EventParam\n"
    "  --date YYYY-MM-DD  calendar day of simulated time 0 in the event log\n"
    "                   (default 2026-01-05, a Monday)\n"
    "  --trips FILE     write one CSV row per arrived vehicle (SUMO tripinfo fields)\n"
    "  --json           print the summary as one JSON object on stdout\n"
    "  --quiet          no progress output\n"
    "  -h, --help       this text\n"
    "\n"
    "Means are over arrived vehicles; waiting is time below 0.1 m/s; time loss is\n"
    "measured against driving at the allowed speed.\n";

typedef struct run_ctx {
  gw_trip_summary sum;
  FILE *trips;
  FILE *events;
  const gw_net *net;
  int y, mo, d;
} run_ctx;

/* One event as a CSV row with a 0.1 s timestamp on the chosen day. */
static void on_event(void *ud, const gw_event *e) {
  run_ctx *c = ud;
  if (!c->events) return;
  long tenths = lround(e->t * 10);
  long days = tenths / 864000, rem = tenths % 864000;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = c->y - 1900;
  tm.tm_mon = c->mo - 1;
  tm.tm_mday = c->d + (int)days;
  tm.tm_isdst = 0;
  time_t tt = timegm(&tm);
  gmtime_r(&tt, &tm);
  fprintf(c->events, "%s,%04d-%02d-%02d %02ld:%02ld:%02ld.%ld,%d,%d\n",
          gw_net_tls_id(c->net, e->tls), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
          rem / 36000, rem / 600 % 60, rem / 10 % 60, rem % 10, e->code, e->param);
}

static void on_trip(void *ud, const gw_trip_record *r) {
  run_ctx *c = ud;
  gw_trip_summary_add(&c->sum, r);
  if (c->trips)
    fprintf(c->trips, "%s,%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%u,%u\n", r->id, r->vtype,
            r->depart_s, r->depart_delay_s, r->arrival_s, r->route_length_m, r->duration_s,
            r->time_loss_s, r->waiting_time_s, r->stops, r->teleports);
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !(v >= lo && v <= hi)) {
    gw_cli_error("%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

static long peak_rss_kb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return -1;
  return ru.ru_maxrss;
}

static void log_to_stderr(void *ud, int level, const char *msg) {
  (void)ud;
  if (level <= GW_LOG_WARN) fprintf(stderr, "greenwave: %s: %s\n", level <= GW_LOG_ERROR ? "error" : "warning", msg);
}

int gw_cmd_sim(int argc, char **argv) {
  const char *path = NULL, *trips_path = NULL, *ctl_spec = NULL, *events_path = NULL;
  const char *date = "2026-01-05";
  const char *adds[32];
  int nadd = 0, json = 0, quiet = 0;
  double end = -2, step = -1, seed = -1, tele = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--end") || !strcmp(a, "--step") || !strcmp(a, "--seed") ||
               !strcmp(a, "--trips") || !strcmp(a, "--additional") ||
               !strcmp(a, "--teleport") || !strcmp(a, "--controller") ||
               !strcmp(a, "--events") || !strcmp(a, "--date")) {
      if (!val) {
        gw_cli_error("%s needs a value (see `greenwave sim --help`)", a);
        return 2;
      }
      i++;
      if (!strcmp(a, "--end") && parse_num(a, val, 0, 1e9, &end)) return 2;
      if (!strcmp(a, "--step") && parse_num(a, val, 0.1, 10, &step)) return 2;
      if (!strcmp(a, "--seed") && parse_num(a, val, 0, 4294967295.0, &seed)) return 2;
      if (!strcmp(a, "--teleport") && parse_num(a, val, 0, 1e9, &tele)) return 2;
      if (!strcmp(a, "--trips")) trips_path = val;
      if (!strcmp(a, "--controller")) ctl_spec = val;
      if (!strcmp(a, "--events")) events_path = val;
      if (!strcmp(a, "--date")) date = val;
      if (!strcmp(a, "--additional")) {
        if (nadd == 32) {
          gw_cli_error("at most 32 --additional files");
          return 2;
        }
        adds[nadd++] = val;
      }
    } else if (a[0] == '-') {
      gw_cli_error("unknown option '%s' (see `greenwave sim --help`)", a);
      return 2;
    } else if (!path) {
      path = a;
    } else {
      gw_cli_error("one scenario only; '%s' is extra", a);
      return 2;
    }
  }
  if (!path) {
    fputs(usage, stderr);
    return 2;
  }
  gw_set_log(log_to_stderr, NULL);
  double t0 = gw_cli_now();
  gw_error err = {0, {0}};
  gw_scenario *sc = NULL;
  gw_sim *sim = NULL;
  gw_control *ctl = NULL;
  gw_field field;
  run_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  int status = 1;
  if (sscanf(date, "%4d-%2d-%2d", &ctx.y, &ctx.mo, &ctx.d) != 3 || ctx.mo < 1 || ctx.mo > 12 ||
      ctx.d < 1 || ctx.d > 31) {
    gw_cli_error("--date: '%s' is not YYYY-MM-DD", date);
    return 2;
  }
  if (gw_scenario_load_sumocfg(path, &sc, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  for (int i = 0; i < nadd; i++)
    if (gw_scenario_add_additional(sc, adds[i], &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
  if (trips_path) {
    ctx.trips = fopen(trips_path, "w");
    if (!ctx.trips) {
      gw_cli_error("%s: cannot write: %s", trips_path, strerror(errno));
      goto out;
    }
    fputs("id,vtype,depart,depart_delay,arrival,route_length,duration,time_loss,waiting_time,"
          "stops,teleports\n",
          ctx.trips);
  }
  ctx.net = sc->net;
  if (events_path) {
    ctx.events = fopen(events_path, "w");
    if (!ctx.events) {
      gw_cli_error("%s: cannot write: %s", events_path, strerror(errno));
      goto out;
    }
    fputs("SignalID,Timestamp,EventCode,EventParam\n", ctx.events);
  }
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.begin_s = sc->begin_s;
  cfg.end_s = end >= -1 ? end : sc->end_s;
  cfg.step_s = step > 0 ? step : sc->step_s;
  cfg.seed = seed >= 0 ? (uint64_t)seed : sc->seed;
  cfg.time_to_teleport_s = tele >= 0 ? tele : sc->time_to_teleport_s;
  int rc = gw_sim_create(sc->net, sc->demand, &cfg, &sim);
  if (rc) {
    gw_cli_error("cannot create the simulation: %s", gw_strerror(rc));
    goto out;
  }
  gw_sim_on_trip(sim, on_trip, &ctx);
  if (ctl_spec) {
    gw_field_from_sim(sim, &field);
    if (gw_control_create(sc->net, &field, ctl_spec, on_event, &ctx, &ctl, &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
  }
  double load_s = gw_cli_now() - t0;
  gw_progress pr;
  gw_progress_init(&pr, cfg.begin_s, cfg.end_s, quiet);
  gw_sim_stats st;
  double ts = gw_cli_now();
  /* Stop at the end time, or earlier once every vehicle has arrived. */
  for (;;) {
    gw_sim_stats_get(sim, &st);
    if (cfg.end_s >= 0 && gw_sim_time(sim) >= cfg.end_s - 1e-9) break;
    if (gw_sim_done(sim)) break;
    if (ctl && (rc = gw_control_step(ctl))) {
      gw_cli_error("control step failed: %s", gw_strerror(rc));
      goto out;
    }
    if ((rc = gw_sim_step(sim))) {
      gw_cli_error("simulation step failed: %s", gw_strerror(rc));
      goto out;
    }
    gw_progress_update(&pr, gw_sim_time(sim), (unsigned long)st.running,
                         (unsigned long)st.arrived, (unsigned long)st.loaded, st.veh_steps, 0);
  }
  double sim_wall = gw_cli_now() - ts;
  gw_sim_stats_get(sim, &st);
  gw_progress_update(&pr, gw_sim_time(sim), (unsigned long)st.running, (unsigned long)st.arrived,
                     (unsigned long)st.loaded, st.veh_steps, 1);
  gw_progress_done(&pr);
  double wall = gw_cli_now() - t0;
  const gw_trip_summary *s = &ctx.sum;
  double mtt = gw_trip_summary_mean(s, s->duration_s);
  double mtl = gw_trip_summary_mean(s, s->time_loss_s);
  double mwt = gw_trip_summary_mean(s, s->waiting_s);
  double mdd = gw_trip_summary_mean(s, s->depart_delay_s);
  double mrl = gw_trip_summary_mean(s, s->route_length_m);
  double spv = s->n ? (double)s->stops / (double)s->n : 0;
  gw_control_stats cst;
  memset(&cst, 0, sizeof cst);
  if (ctl) gw_control_stats_get(ctl, &cst);
  if (json) {
    printf("{\"controller\":\"%s\",\"control_wall_s\":%.3f,\"refused\":%llu,"
           "\"failsafes\":%llu,",
           ctl_spec ? ctl_spec : "program", cst.wall_s, (unsigned long long)cst.refused,
           (unsigned long long)cst.failsafes);
    printf("\"scenario\":\"%s\",\"seed\":%llu,\"step_s\":%g,\"sim_end_s\":%.1f,"
           "\"vehicles_loaded\":%llu,\"vehicles_inserted\":%llu,\"vehicles_arrived\":%llu,"
           "\"vehicles_running\":%llu,\"vehicles_waiting\":%llu,"
           "\"teleports\":%llu,\"collisions\":%llu,"
           "\"mean_travel_time_s\":%.3f,\"mean_time_loss_s\":%.3f,\"mean_waiting_time_s\":%.3f,"
           "\"mean_depart_delay_s\":%.3f,\"mean_route_length_m\":%.3f,\"stops_per_vehicle\":%.4f,"
           "\"veh_steps\":%llu,\"peak_running\":%llu,\"load_s\":%.3f,\"sim_wall_s\":%.3f,"
           "\"wall_s\":%.3f,\"veh_steps_per_s\":%.0f,\"peak_rss_kb\":%ld}\n",
           path, (unsigned long long)cfg.seed, cfg.step_s, gw_sim_time(sim),
           (unsigned long long)st.loaded, (unsigned long long)st.inserted,
           (unsigned long long)st.arrived, (unsigned long long)st.running,
           (unsigned long long)st.pending, (unsigned long long)st.teleports,
           (unsigned long long)st.collisions, mtt, mtl, mwt, mdd, mrl, spv,
           (unsigned long long)st.veh_steps, (unsigned long long)st.peak_running, load_s,
           sim_wall, wall, wall > 0 ? (double)st.veh_steps / wall : 0, peak_rss_kb());
  } else {
    printf("scenario            %s\n", path);
    printf("simulated until     %.0f s (step %g s, seed %llu)\n", gw_sim_time(sim), cfg.step_s,
           (unsigned long long)cfg.seed);
    printf("vehicles            %llu loaded, %llu inserted, %llu arrived, %llu running, %llu "
           "waiting to enter\n",
           (unsigned long long)st.loaded, (unsigned long long)st.inserted,
           (unsigned long long)st.arrived, (unsigned long long)st.running,
           (unsigned long long)st.pending);
    printf("teleports           %llu\ncollisions          %llu\n",
           (unsigned long long)st.teleports, (unsigned long long)st.collisions);
    printf("mean travel time    %.1f s\nmean time loss      %.1f s\n", mtt, mtl);
    printf("mean waiting time   %.1f s\nmean depart delay   %.1f s\n", mwt, mdd);
    printf("mean route length   %.1f m\nstops per vehicle   %.2f\n", mrl, spv);
    printf("vehicle-steps       %llu (peak %llu running)\n", (unsigned long long)st.veh_steps,
           (unsigned long long)st.peak_running);
    printf("wall time           %.2f s (load %.2f s), %.0f vehicle-steps/s, peak RSS %ld KB\n",
           wall, load_s, wall > 0 ? (double)st.veh_steps / wall : 0, peak_rss_kb());
  }
  status = 0;
out:
  if (ctx.trips && fclose(ctx.trips)) {
    gw_cli_error("%s: write failed", trips_path);
    status = 1;
  }
  if (ctx.events && fclose(ctx.events)) {
    gw_cli_error("%s: write failed", events_path);
    status = 1;
  }
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  return status;
}

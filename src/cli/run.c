/*
** run.c -- one run of the simulator for the CLI (see run.h).
**
** Everything a person reads goes to stderr or to the printers below; the
** run itself only fills a gw_run_result, so `compare` can run several
** controllers on the same scenario and set the results side by side.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/scenario.h"
#include "net/net_int.h"

typedef struct run_ctx {
  gw_trip_summary sum, sum_max;
  uint32_t max_signals;
  uint32_t *nsig; /* per trip: signals its route crosses */
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
          gw_net_tls_id(c->net, e->tls), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, rem / 36000,
          rem / 600 % 60, rem / 10 % 60, rem % 10, e->code, e->param);
}

static void on_trip(void *ud, const gw_trip_record *r) {
  run_ctx *c = ud;
  gw_trip_summary_add(&c->sum, r);
  if (c->max_signals && c->nsig[r->index] == c->max_signals) gw_trip_summary_add(&c->sum_max, r);
  if (c->trips)
    fprintf(c->trips, "%s,%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%u,%u\n", r->id, r->vtype,
            r->depart_s, r->depart_delay_s, r->arrival_s, r->route_length_m, r->duration_s,
            r->time_loss_s, r->waiting_time_s, r->stops, r->teleports);
}

void gw_run_opts_init(gw_run_opts *o) {
  memset(o, 0, sizeof *o);
  o->end = -2;
  o->step = o->seed = o->tele = -1;
  o->y = 2026;
  o->mo = 1;
  o->d = 5;
  o->dynamics = -1;
}

void gw_cli_log_to_stderr(void *ud, int level, const char *msg) {
  (void)ud;
  if (level <= GW_LOG_WARN)
    fprintf(stderr, "greenwave: %s: %s\n", level <= GW_LOG_ERROR ? "error" : "warning", msg);
}

static long peak_rss_kb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return -1;
  return ru.ru_maxrss;
}

uint32_t *gw_cli_signals_per_trip(const gw_scenario *sc, uint32_t *max_signals) {
  uint32_t n = gw_demand_trip_count(sc->demand);
  uint32_t *nsig = calloc(n + 1, sizeof *nsig);
  if (!nsig) return NULL;
  *max_signals = 0;
  for (uint32_t i = 0; i < n; i++) {
    const gw_trip *tr = gw_demand_trip(sc->demand, i);
    uint32_t k = 0;
    for (uint32_t e = 0; e < tr->route_n; e++) {
      uint32_t j = sc->net->edges.a[tr->route[e]].to;
      if (j != GW_NONE && sc->net->junctions.a[j].tls != GW_NONE) k++;
    }
    nsig[i] = k;
    if (k > *max_signals) *max_signals = k;
  }
  return nsig;
}

/* "coordinated[:cycle=S,base=fixed|adaptive]": a green-wave plan from the
** demand, run by fixed-time (default) or adaptive controllers. */
static int start_coordinated(const char *spec, const gw_scenario *sc, gw_field *field, run_ctx *ctx,
                             gw_control **ctl) {
  double cycle = 0;
  char base[32] = "fixed";
  const char *p = strchr(spec, ':');
  while (p && *p) {
    p++;
    size_t n = strcspn(p, ",");
    if (!strncmp(p, "cycle=", 6))
      cycle = atof(p + 6);
    else if (!strncmp(p, "base=", 5) && n - 5 < sizeof base)
      snprintf(base, sizeof base, "%.*s", (int)(n - 5), p + 5);
    else {
      gw_cli_error("coordinated: '%.*s' is not cycle=S or base=fixed|adaptive", (int)n, p);
      return 1;
    }
    p += n;
  }
  if (strcmp(base, "fixed") && strcmp(base, "adaptive")) {
    gw_cli_error("coordinated: base must be fixed or adaptive, not '%s'", base);
    return 1;
  }
  gw_error err = {0, {0}};
  gw_coord_plan plan;
  if (gw_coordination_plan(sc->net, sc->demand, cycle, &plan, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  uint32_t n = plan.nsignals;
  char **specs = calloc(n + 1, sizeof *specs);
  int rc = specs ? 0 : 1;
  for (uint32_t i = 0; !rc && i < n; i++) {
    char params[1024];
    gw_coord_plan_params(&plan, i, params, sizeof params);
    specs[i] = malloc(1100);
    if (!specs[i]) {
      rc = 1;
      break;
    }
    if (!strcmp(base, "fixed"))
      snprintf(specs[i], 1100, "fixed:%s", params);
    else {
      gw_coord_plan_adaptive_params(&plan, i, params, sizeof params);
      snprintf(specs[i], 1100, "adaptive:%s", params);
    }
  }
  if (!rc && gw_control_create_each(sc->net, field, (const char *const *)specs,
                                    ctx->events ? on_event : NULL, ctx, ctl, &err)) {
    gw_cli_error("%s", err.msg);
    rc = 1;
  }
  for (uint32_t i = 0; specs && i < n; i++) free(specs[i]);
  free(specs);
  gw_coord_plan_free(&plan);
  return rc;
}

/* SignalID,Detector,Phase,Movement for every detector the control loop
** attached.  The movement is that of the detector's lane, from the
** directions of the lane's links: T straight, L left, R right, combined for
** a shared lane (TR, TL, ...); a U-turn counts as a left.  A net detector
** names its lane; a loop the control loop placed itself is the k-th of its
** group and sits on the group's k-th approach lane.  Empty when the lane is
** not known or has no links. */
static int write_detector_map(const char *path, const gw_net *net, const gw_control *ctl) {
  if (!ctl) {
    gw_cli_error("--detector-map needs --controller (detectors belong to controlled signals)");
    return 1;
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    gw_cli_error("%s: cannot write: %s", path, strerror(errno));
    return 1;
  }
  fputs("SignalID,Detector,Phase,Movement\n", f);
  uint32_t det[512], grp[512], n;
  for (uint32_t t = 0; t < gw_net_tls_count(net); t++) {
    gw_control_detectors(ctl, t, 512, det, grp, &n);
    gw_control_node node;
    const gw_signal_model *model = gw_control_node_get(ctl, t, &node) ? NULL : node.model;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t lane = GW_NONE;
      if (det[i] < gw_net_detector_count(net)) {
        lane = net->detectors.a[det[i]].lane;
      } else if (model && grp[i] < model->ngroups) {
        uint32_t k = 0; /* the loop's rank in its group */
        for (uint32_t j = 0; j < i; j++) k += grp[j] == grp[i];
        if (k < model->groups[grp[i]].nin) lane = model->groups[grp[i]].in_lanes[k];
      }
      int move = 0; /* bits L 1, T 2, R 4, as GW_MOVE_* in greenwave/measures.h */
      const uint32_t *links;
      uint32_t nl = lane == GW_NONE ? 0 : gw_net_lane_links(net, lane, &links);
      for (uint32_t l = 0; l < nl; l++) {
        gw_link_info li;
        if (gw_net_link_info(net, links[l], &li)) continue;
        if (li.dir == 's') move |= 2;
        if (li.dir == 'l' || li.dir == 'L' || li.dir == 't') move |= 1;
        if (li.dir == 'r' || li.dir == 'R') move |= 4;
      }
      static const char *const names[8] = {"", "L", "T", "TL", "R", "LR", "TR", "TLR"};
      fprintf(f, "%s,%u,%u,%s\n", gw_net_tls_id(net, t), det[i] + 1, grp[i] + 1, names[move]);
    }
  }
  if (fclose(f)) {
    gw_cli_error("%s: write failed", path);
    return 1;
  }
  return 0;
}

void gw_cli_control_stats(const gw_control *ctl, gw_run_result *r) {
  if (!ctl) return;
  gw_control_stats cst;
  gw_control_stats_get(ctl, &cst);
  r->ctl_wall_s = cst.wall_s;
  r->refused = cst.refused;
  r->failsafes = cst.failsafes;
}

int gw_cli_run(const gw_run_opts *o, gw_run_result *r) {
  gw_set_log(gw_cli_log_to_stderr, NULL);
  memset(r, 0, sizeof *r);
  double t0 = gw_cli_now();
  gw_error err = {0, {0}};
  gw_scenario *sc = NULL;
  gw_sim *sim = NULL;
  gw_control *ctl = NULL;
  gw_field field;
  run_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.y = o->y;
  ctx.mo = o->mo;
  ctx.d = o->d;
  int status = 1, rc;
  gw_cityflow_settings cfs;
  int cityflow = o->cityflow || gw_cityflow_is_json(o->path);
  char *spec = NULL; /* the controller spec, with CityFlow's change interval */
  memset(&cfs, 0, sizeof cfs);
  if (cityflow ? gw_scenario_load_cityflow(o->cityflow ? o->cityflow : o->path,
                                           o->end >= 0 ? o->end : -1, &sc, &cfs, &err)
               : gw_scenario_load_sumocfg(o->path, &sc, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  for (int i = 0; i < o->nadd; i++)
    if (gw_scenario_add_additional(sc, o->adds[i], &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
  if (!(ctx.nsig = gw_cli_signals_per_trip(sc, &ctx.max_signals))) {
    gw_cli_error("out of memory");
    goto out;
  }
  if (o->trips_path) {
    ctx.trips = fopen(o->trips_path, "w");
    if (!ctx.trips) {
      gw_cli_error("%s: cannot write: %s", o->trips_path, strerror(errno));
      goto out;
    }
    fputs(
        "id,vtype,depart,depart_delay,arrival,route_length,duration,time_loss,waiting_time,"
        "stops,teleports\n",
        ctx.trips);
  }
  ctx.net = sc->net;
  if (o->events_path) {
    ctx.events = fopen(o->events_path, "w");
    if (!ctx.events) {
      gw_cli_error("%s: cannot write: %s", o->events_path, strerror(errno));
      goto out;
    }
    fputs("SignalID,Timestamp,EventCode,EventParam\n", ctx.events);
  }
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.begin_s = sc->begin_s;
  cfg.end_s = o->end >= -1 ? o->end : sc->end_s;
  cfg.step_s = o->step > 0 ? o->step : sc->step_s;
  cfg.seed = o->seed >= 0 ? (uint64_t)o->seed : sc->seed;
  cfg.time_to_teleport_s = o->tele >= 0 ? o->tele : sc->time_to_teleport_s;
  cfg.dynamics = o->dynamics >= 0 ? o->dynamics
                 : cityflow       ? GW_DYNAMICS_CITYFLOW
                                  : GW_DYNAMICS_SUMO;
  cfg.lane_change = cfs.lane_change;
  r->dynamics = cfg.dynamics;
  /* CityFlow's transition phase is the change interval: yellow and all-red
  ** add up to it unless the spec sets them (docs/cityflow.md). */
  if (o->controller && cityflow && cfs.transition_s >= 2 && !strstr(o->controller, "yellow=") &&
      !strstr(o->controller, "allred=") && strncmp(o->controller, "coordinated", 11)) {
    double y = cfs.transition_s >= 5 ? 3 : cfs.transition_s - 1 < 2 ? 2 : cfs.transition_s - 1;
    size_t n = strlen(o->controller) + 64;
    if (!(spec = malloc(n))) {
      gw_cli_error("out of memory");
      goto out;
    }
    snprintf(spec, n, "%s%syellow=%g,allred=%g", o->controller,
             strchr(o->controller, ':') ? "," : ":", y, cfs.transition_s - y);
  }
  if ((rc = gw_sim_create(sc->net, sc->demand, &cfg, &sim))) {
    gw_cli_error("cannot create the simulation: %s", gw_strerror(rc));
    goto out;
  }
  gw_sim_on_trip(sim, on_trip, &ctx);
  if (o->controller && !strncmp(o->controller, "coordinated", 11)) {
    gw_field_from_sim(sim, &field);
    if (start_coordinated(o->controller, sc, &field, &ctx, &ctl)) goto out;
  } else if (o->controller) {
    gw_field_from_sim(sim, &field);
    /* No event log asked for: the control loop makes no events at all. */
    if (gw_control_create(sc->net, &field, spec ? spec : o->controller,
                          ctx.events ? on_event : NULL, &ctx, &ctl, &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
  }
  if (o->detmap_path && write_detector_map(o->detmap_path, sc->net, ctl)) goto out;
  r->load_s = gw_cli_now() - t0;
  gw_progress pr;
  gw_progress_init(&pr, cfg.begin_s, cfg.end_s, o->quiet);
  gw_sim_stats st;
  double ts = gw_cli_now();
  /* Stop at the end time, or earlier once every vehicle has arrived. */
  while (!gw_sim_done(sim)) {
    if (ctl && (rc = gw_control_step(ctl))) {
      gw_cli_error("control step failed: %s", gw_strerror(rc));
      goto out;
    }
    if ((rc = gw_sim_step(sim))) {
      gw_cli_error("simulation step failed: %s", gw_strerror(rc));
      goto out;
    }
    gw_sim_stats_get(sim, &st);
    gw_progress_update(&pr, gw_sim_time(sim), (unsigned long)st.running, (unsigned long)st.arrived,
                       (unsigned long)st.loaded, st.veh_steps, 0);
  }
  r->sim_wall_s = gw_cli_now() - ts;
  gw_sim_stats_get(sim, &r->st);
  gw_cityflow_metrics_get(sim, &r->cf);
  gw_progress_update(&pr, gw_sim_time(sim), (unsigned long)r->st.running,
                     (unsigned long)r->st.arrived, (unsigned long)r->st.loaded, r->st.veh_steps, 1);
  gw_progress_done(&pr);
  r->sum = ctx.sum;
  r->sum_max = ctx.sum_max;
  r->max_signals = ctx.max_signals;
  r->step_s = cfg.step_s;
  r->seed = cfg.seed;
  r->sim_end_s = gw_sim_time(sim);
  gw_cli_control_stats(ctl, r);
  r->wall_s = gw_cli_now() - t0;
  r->peak_rss_kb = peak_rss_kb();
  status = 0;
out:
  if (ctx.trips && fclose(ctx.trips)) {
    gw_cli_error("%s: write failed", o->trips_path);
    status = 1;
  }
  if (ctx.events && fclose(ctx.events)) {
    gw_cli_error("%s: write failed", o->events_path);
    status = 1;
  }
  free(ctx.nsig);
  free(spec);
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  return status;
}

void gw_cli_print_json(FILE *f, const gw_run_opts *o, const gw_run_result *r) {
  const gw_trip_summary *s = &r->sum, *m = &r->sum_max;
  /* On CityFlow input mean_waiting_time_s is the literature's figure (every
  ** vehicle that entered, unfinished ones to the end); SUMO's tripinfo
  ** definition (arrived vehicles) is then mean_waiting_time_arrived_s.  On
  ** SUMO input the keys keep their SUMO meaning. */
  double wait_arrived = gw_trip_summary_mean(s, s->waiting_s);
  double wait_main = o->cityflow ? r->cf.mean_waiting_time_s : wait_arrived;
  fprintf(
      f,
      "{\"controller\":\"%s\",\"scenario\":\"%s\",\"seed\":%llu,\"step_s\":%g,"
      "\"sim_end_s\":%.1f,\"vehicles_loaded\":%llu,\"vehicles_inserted\":%llu,"
      "\"vehicles_arrived\":%llu,\"vehicles_running\":%llu,\"vehicles_waiting\":%llu,"
      "\"teleports\":%llu,\"collisions\":%llu,\"mean_travel_time_s\":%.3f,"
      "\"mean_time_loss_s\":%.3f,\"mean_waiting_time_s\":%.3f,"
      "\"mean_depart_delay_s\":%.3f,\"mean_route_length_m\":%.3f,"
      "\"stops_per_vehicle\":%.4f,\"max_signals_crossed\":%u,\"max_signals_n\":%llu,"
      "\"max_signals_mean_time_loss_s\":%.3f,\"veh_steps\":%llu,\"peak_running\":%llu,"
      "\"control_wall_s\":%.3f,\"refused\":%llu,\"failsafes\":%llu,\"load_s\":%.3f,"
      "\"sim_wall_s\":%.3f,\"wall_s\":%.3f,\"veh_steps_per_s\":%.0f,"
      "\"peak_rss_kb\":%ld,\"dynamics\":\"%s\",\"att_s\":%.3f,\"att_engine_s\":%.3f,"
      "\"throughput\":%llu,\"mean_waiting_time_all_s\":%.3f,"
      "\"mean_waiting_time_arrived_s\":%.3f}\n",
      o->controller ? o->controller : "program", o->path, (unsigned long long)r->seed, r->step_s,
      r->sim_end_s, (unsigned long long)r->st.loaded, (unsigned long long)r->st.inserted,
      (unsigned long long)r->st.arrived, (unsigned long long)r->st.running,
      (unsigned long long)r->st.pending, (unsigned long long)r->st.teleports,
      (unsigned long long)r->st.collisions, gw_trip_summary_mean(s, s->duration_s),
      gw_trip_summary_mean(s, s->time_loss_s), wait_main,
      gw_trip_summary_mean(s, s->depart_delay_s), gw_trip_summary_mean(s, s->route_length_m),
      s->n ? (double)s->stops / (double)s->n : 0, r->max_signals, (unsigned long long)m->n,
      gw_trip_summary_mean(m, m->time_loss_s), (unsigned long long)r->st.veh_steps,
      (unsigned long long)r->st.peak_running, r->ctl_wall_s, (unsigned long long)r->refused,
      (unsigned long long)r->failsafes, r->load_s, r->sim_wall_s, r->wall_s,
      r->wall_s > 0 ? (double)r->st.veh_steps / r->wall_s : 0, r->peak_rss_kb,
      r->dynamics == GW_DYNAMICS_CITYFLOW ? "cityflow" : "sumo", r->cf.att_s, r->cf.att_engine_s,
      (unsigned long long)r->cf.throughput, r->cf.mean_waiting_time_s, wait_arrived);
}

void gw_cli_print_text(FILE *f, const gw_run_opts *o, const gw_run_result *r) {
  const gw_trip_summary *s = &r->sum;
  fprintf(f, "scenario            %s\n", o->path);
  fprintf(f, "signals run by      %s\n", o->controller ? o->controller : "their programs");
  fprintf(f, "simulated until     %.0f s (step %g s, seed %llu)\n", r->sim_end_s, r->step_s,
          (unsigned long long)r->seed);
  fprintf(f,
          "vehicles            %llu loaded, %llu inserted, %llu arrived, %llu running, %llu "
          "waiting to enter\n",
          (unsigned long long)r->st.loaded, (unsigned long long)r->st.inserted,
          (unsigned long long)r->st.arrived, (unsigned long long)r->st.running,
          (unsigned long long)r->st.pending);
  fprintf(f, "teleports           %llu\ncollisions          %llu\n",
          (unsigned long long)r->st.teleports, (unsigned long long)r->st.collisions);
  fprintf(f, "mean travel time    %.1f s\nmean time loss      %.1f s\n",
          gw_trip_summary_mean(s, s->duration_s), gw_trip_summary_mean(s, s->time_loss_s));
  fprintf(f, "mean waiting time   %.1f s\nmean depart delay   %.1f s\n",
          gw_trip_summary_mean(s, s->waiting_s), gw_trip_summary_mean(s, s->depart_delay_s));
  fprintf(f, "mean route length   %.1f m\nstops per vehicle   %.2f\n",
          gw_trip_summary_mean(s, s->route_length_m), s->n ? (double)s->stops / (double)s->n : 0);
  fprintf(f, "most signals crossed %u, by %llu vehicles, mean time loss %.1f s\n", r->max_signals,
          (unsigned long long)r->sum_max.n,
          gw_trip_summary_mean(&r->sum_max, r->sum_max.time_loss_s));
  fprintf(f, "ATT (published def) %.2f s over %llu vehicles; engine ATT %.2f s; throughput %llu\n",
          r->cf.att_s, (unsigned long long)r->cf.att_vehicles, r->cf.att_engine_s,
          (unsigned long long)r->cf.throughput);
  fprintf(f, "vehicle-steps       %llu (peak %llu running)\n", (unsigned long long)r->st.veh_steps,
          (unsigned long long)r->st.peak_running);
  if (o->controller)
    fprintf(f, "control             %.3f s wall, %llu refused requests, %llu fail-safes\n",
            r->ctl_wall_s, (unsigned long long)r->refused, (unsigned long long)r->failsafes);
  fprintf(f, "wall time           %.2f s (load %.2f s), %.0f vehicle-steps/s, peak RSS %ld KB\n",
          r->wall_s, r->load_s, r->wall_s > 0 ? (double)r->st.veh_steps / r->wall_s : 0,
          r->peak_rss_kb);
}

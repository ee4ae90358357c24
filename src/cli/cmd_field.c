/*
** cmd_field.c -- `greenwave field sumo`: Greenwave's controllers driving
** SUMO's signals over TraCI.
**
** The scenario is loaded into Greenwave too, for the network model (signal
** groups, conflicts, approach lanes) and the detector ids; SUMO gets the
** same additional files, so both sides agree on programs and loops.  The
** run goes until SUMO expects no more vehicles or the end time, then SUMO is
** closed and its own tripinfo output is read: with SUMO as the field, travel
** times and time losses are SUMO's, not Greenwave's simulator's.  The JSON
** line has the keys of `greenwave sim --json` plus the field's own figures.
**
** Exit status: 0 on success, 1 when loading, SUMO or the run fails, 2 on a
** usage error.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "core/hash.h"
#include "core/xml.h"
#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/metrics.h"
#include "greenwave/scenario.h"
#include "net/net_int.h"

static const char usage[] =
    "usage: greenwave field sumo SCENARIO.sumocfg --controller NAME[:key=value,...] [options]\n"
    "\n"
    "Starts SUMO on the scenario and runs every signal with a Greenwave controller\n"
    "under the safety monitor, over TraCI: SUMO moves the traffic, Greenwave reads\n"
    "SUMO's loops and lanes each step and sets the lamps.  Prints a summary of\n"
    "SUMO's own tripinfo output (the keys of `greenwave sim --json`).\n"
    "\n"
    "options:\n"
    "  --controller NAME[:key=value,...]\n"
    "                   fixed, actuated, maxpressure, adaptive (docs/control.md), or\n"
    "                   program: leave the signals to SUMO's own programs\n"
    "  --additional F   an additional file for SUMO and for Greenwave (signal programs,\n"
    "                   detectors); may be repeated.  detectors.add.xml next to the\n"
    "                   .sumocfg is loaded first when it exists\n"
    "  --no-detectors   do not load that detectors.add.xml\n"
    "  --end S          stop at simulated time S (default: the scenario's end; the run\n"
    "                   also stops once SUMO expects no more vehicles)\n"
    "  --sumo BIN       the SUMO binary (default: sumo from PATH)\n"
    "  --tripinfo FILE  keep SUMO's tripinfo output there (default: a temporary file)\n"
    "  --sumo-log FILE  keep SUMO's stdout and stderr there (default: a temporary file)\n"
    "  --timeout S      the longest wait for one SUMO reply (default 60)\n"
    "  --json           print the summary as one JSON object on stdout\n"
    "  --quiet          no progress output\n"
    "  -h, --help       this text\n"
    "\n"
    "SUMO_HOME defaults to /usr/share/sumo when unset (SUMO needs its XML schemas).\n"
    "See docs/sumo.md for what is measured and the limits.\n";

typedef struct field_opts {
  gw_run_opts run; /* path, adds, end, controller, quiet as for `sim` */
  const char *sumo_bin, *tripinfo, *log;
  double timeout_s;
  int json, no_detectors;
} field_opts;

/* ---- SUMO's tripinfo output --------------------------------------------- */

typedef struct tripinfo_ctx {
  gw_strmap ids;        /* trip id -> index in the demand */
  const uint32_t *nsig; /* per trip: signals its route crosses */
  uint32_t max_signals;
  gw_trip_summary *sum, *sum_max;
} tripinfo_ctx;

static int on_tripinfo(void *ud, gw_xml *x, const char *name, const char **at) {
  tripinfo_ctx *c = ud;
  if (strcmp(name, "tripinfo")) return 0;
  gw_trip_record r;
  memset(&r, 0, sizeof r);
  long stops = 0;
  int rc = gw__xml_attr_str(x, name, at, "id", 1, &r.id);
  if (!rc) rc = gw__xml_attr_str(x, name, at, "vType", 0, &r.vtype);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "depart", 1, 0, &r.depart_s);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "departDelay", 1, 0, &r.depart_delay_s);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "arrival", 1, 0, &r.arrival_s);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "routeLength", 1, 0, &r.route_length_m);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "duration", 1, 0, &r.duration_s);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "timeLoss", 1, 0, &r.time_loss_s);
  if (!rc) rc = gw__xml_attr_double(x, name, at, "waitingTime", 1, 0, &r.waiting_time_s);
  if (!rc) rc = gw__xml_attr_int(x, name, at, "waitingCount", 1, 0, &stops);
  if (rc) return rc;
  r.stops = stops > 0 ? (uint32_t)stops : 0;
  gw_trip_summary_add(c->sum, &r);
  uint32_t k;
  if (c->max_signals && gw__strmap_get(&c->ids, r.id, &k) && c->nsig[k] == c->max_signals)
    gw_trip_summary_add(c->sum_max, &r);
  return 0;
}

static int read_tripinfo(const char *path, const gw_scenario *sc, gw_run_result *r) {
  tripinfo_ctx c;
  memset(&c, 0, sizeof c);
  c.sum = &r->sum;
  c.sum_max = &r->sum_max;
  uint32_t *nsig = gw_cli_signals_per_trip(sc, &c.max_signals);
  int rc = nsig ? 0 : -1;
  c.nsig = nsig;
  uint32_t n = gw_demand_trip_count(sc->demand);
  for (uint32_t i = 0; !rc && i < n; i++)
    if (gw__strmap_put(&c.ids, gw_demand_trip(sc->demand, i)->id, i)) rc = -1;
  if (rc) gw_cli_error("out of memory");
  gw_error err = {0, {0}};
  if (!rc && gw__xml_parse_file(path, on_tripinfo, NULL, &c, &err)) {
    gw_cli_error("SUMO's tripinfo output: %s", err.msg);
    rc = -1;
  }
  r->max_signals = c.max_signals;
  gw__strmap_free(&c.ids);
  free(nsig);
  return rc;
}

/* ---- the run ------------------------------------------------------------- */

static int file_exists(const char *path) {
  struct stat st;
  return !stat(path, &st) && S_ISREG(st.st_mode);
}

typedef struct field_run {
  gw_run_result r;
  gw_sumo_stats st;
} field_run;

static int run(const field_opts *fo, field_run *out) {
  const gw_run_opts *o = &fo->run;
  gw_run_result *r = &out->r;
  memset(out, 0, sizeof *out);
  gw_set_log(gw_cli_log_to_stderr, NULL);
  double t0 = gw_cli_now();
  if (!getenv("SUMO_HOME") && !access("/usr/share/sumo/data/xsd", R_OK))
    setenv("SUMO_HOME", "/usr/share/sumo", 0);
  gw_error err = {0, {0}};
  gw_scenario *sc = NULL;
  gw_control *ctl = NULL;
  gw_field field = {NULL, NULL};
  int status = 1, rc;
  char tmpdir[512] = "", tripinfo[600], detectors[600];
  const char *adds[34];
  int nadds = 0;
  if (gw_scenario_load_sumocfg(o->path, &sc, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  /* The loops SUMO reports are the net's detectors: both load this file. */
  const char *slash = strrchr(o->path, '/');
  snprintf(detectors, sizeof detectors, "%.*sdetectors.add.xml",
           slash ? (int)(slash - o->path + 1) : 0, o->path);
  if (!fo->no_detectors && file_exists(detectors)) adds[nadds++] = detectors;
  for (int i = 0; i < o->nadd; i++) adds[nadds++] = o->adds[i];
  adds[nadds] = NULL;
  for (int i = 0; i < nadds; i++)
    if (gw_scenario_add_additional(sc, adds[i], &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
  if (fo->tripinfo) {
    snprintf(tripinfo, sizeof tripinfo, "%s", fo->tripinfo);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/greenwave-field-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpdir)) {
      gw_cli_error("%s: cannot make a temporary directory: %s", tmpdir, strerror(errno));
      tmpdir[0] = 0;
      goto out;
    }
    snprintf(tripinfo, sizeof tripinfo, "%s/tripinfo.xml", tmpdir);
  }
  gw_sumo_options so;
  gw_sumo_options_defaults(&so);
  so.binary = fo->sumo_bin;
  so.additional = adds;
  so.tripinfo_path = tripinfo;
  so.log_path = fo->log;
  if (fo->timeout_s > 0) so.reply_timeout_s = fo->timeout_s;
  if (gw_field_sumo_open(sc->net, o->path, &so, &field, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  if (o->controller && gw_control_create(sc->net, &field, o->controller, NULL, NULL, &ctl, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  double end = sc->end_s;
  if (o->end >= 0 && (end < 0 || o->end < end)) end = o->end;
  r->load_s = gw_cli_now() - t0;
  gw_progress pr;
  gw_progress_init(&pr, sc->begin_s, end, o->quiet);
  double ts = gw_cli_now();
  uint64_t loaded = gw_demand_trip_count(sc->demand);
  /* Stop at the end time, or earlier once SUMO expects no more vehicles. */
  while (!gw_field_sumo_done(&field) && !(end >= 0 && field.ops->time(field.impl) >= end - 1e-9)) {
    if (ctl && (rc = gw_control_step(ctl))) {
      gw_cli_error("control step failed: %s", gw_strerror(rc));
      goto out;
    }
    if (gw_field_sumo_step(&field, &err)) {
      gw_cli_error("%s", err.msg);
      goto out;
    }
    gw_field_sumo_stats(&field, &out->st);
    gw_progress_update(&pr, field.ops->time(field.impl),
                       (unsigned long)(out->st.departed - out->st.arrived),
                       (unsigned long)out->st.arrived, (unsigned long)loaded, out->st.veh_steps, 0);
  }
  r->sim_wall_s = gw_cli_now() - ts;
  r->sim_end_s = field.ops->time(field.impl);
  gw_progress_update(&pr, r->sim_end_s, (unsigned long)(out->st.departed - out->st.arrived),
                     (unsigned long)out->st.arrived, (unsigned long)loaded, out->st.veh_steps, 1);
  gw_progress_done(&pr);
  gw_cli_control_stats(ctl, r);
  gw_control_destroy(ctl);
  ctl = NULL;
  rc = gw_field_sumo_close(&field, &out->st, &err);
  if (rc) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  if (read_tripinfo(tripinfo, sc, r)) goto out;
  /* Counts as `sim` gives them; pending: due to depart by now, not yet in. */
  uint64_t due = 0;
  for (uint32_t i = 0; i < loaded; i++)
    if (gw_demand_trip(sc->demand, i)->depart_s <= r->sim_end_s) due++;
  r->st.loaded = loaded;
  r->st.inserted = out->st.departed;
  r->st.arrived = out->st.arrived;
  r->st.running = out->st.departed - out->st.arrived;
  r->st.pending = due > out->st.departed ? due - out->st.departed : 0;
  r->st.teleports = out->st.teleports;
  r->st.collisions = out->st.collisions;
  r->st.veh_steps = out->st.veh_steps;
  r->st.peak_running = out->st.peak_running;
  r->step_s = sc->step_s;
  r->seed = sc->seed;
  r->wall_s = gw_cli_now() - t0;
  struct rusage ru;
  r->peak_rss_kb = getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
  status = 0;
out:
  gw_control_destroy(ctl);
  gw_field_sumo_close(&field, NULL, NULL);
  if (tmpdir[0]) {
    unlink(tripinfo);
    rmdir(tmpdir);
  }
  gw_scenario_destroy(sc);
  return status;
}

/* SUMO's simulation time: its loop minus the part it spent in TraCI. */
static double sumo_step_s(const gw_sumo_stats *st) {
  return st->sumo_duration_s >= 0 && st->sumo_traci_s >= 0 ? st->sumo_duration_s - st->sumo_traci_s
                                                           : -1;
}

static int print_json(const field_opts *fo, const field_run *fr) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) return -1;
  gw_cli_print_json(m, &fo->run, &fr->r);
  if (fclose(m) || len < 2 || buf[len - 2] != '}') {
    free(buf);
    return -1;
  }
  buf[len - 2] = 0;
  const gw_sumo_stats *st = &fr->st;
  double step = sumo_step_s(st);
  printf(
      "%s,\"field\":\"sumo\",\"traci_wall_s\":%.3f,\"traci_round_trips\":%llu,"
      "\"traci_bytes_received\":%llu,\"sumo_duration_s\":%.3f,\"sumo_traci_s\":%.3f,"
      "\"sumo_step_wall_s\":%.3f,\"traci_overhead_s\":%.3f,\"lanes_read\":%u,\"lanes_counted\":%u,"
      "\"loops_read\":%u,"
      "\"sumo_exit_status\":%d}\n",
      buf, st->traci_wall_s, (unsigned long long)st->round_trips,
      (unsigned long long)st->bytes_received, st->sumo_duration_s, st->sumo_traci_s, step,
      step >= 0 ? st->traci_wall_s - step : -1, st->lanes_read, st->lanes_counted, st->loops_read,
      st->exit_status);
  free(buf);
  return 0;
}

int gw_cmd_field(int argc, char **argv) {
  field_opts fo;
  memset(&fo, 0, sizeof fo);
  gw_run_opts_init(&fo.run);
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "sumo")) {
    gw_cli_error("unknown field kind '%s': only 'sumo' (see `greenwave field --help`)", argv[1]);
    return 2;
  }
  const char *controller = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    static const char *const with_value[] = {"--controller", "--additional", "--end",     "--sumo",
                                             "--tripinfo",   "--sumo-log",   "--timeout", NULL};
    int has_value = 0;
    for (int k = 0; with_value[k]; k++) has_value |= !strcmp(a, with_value[k]);
    if (has_value && i + 1 >= argc) {
      gw_cli_error("%s needs a value (see `greenwave field --help`)", a);
      return 2;
    }
    const char *v = has_value ? argv[++i] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      fo.json = 1;
    } else if (!strcmp(a, "--quiet")) {
      fo.run.quiet = 1;
    } else if (!strcmp(a, "--no-detectors")) {
      fo.no_detectors = 1;
    } else if (!strcmp(a, "--controller")) {
      controller = v;
    } else if (!strcmp(a, "--additional")) {
      if (fo.run.nadd == 32) {
        gw_cli_error("at most 32 --additional files");
        return 2;
      }
      fo.run.adds[fo.run.nadd++] = v;
    } else if (!strcmp(a, "--end")) {
      if (gw_cli_parse_num(a, v, 0, 1e9, &fo.run.end)) return 2;
    } else if (!strcmp(a, "--timeout")) {
      if (gw_cli_parse_num(a, v, 0.1, 86400, &fo.timeout_s)) return 2;
    } else if (!strcmp(a, "--sumo")) {
      fo.sumo_bin = v;
    } else if (!strcmp(a, "--tripinfo")) {
      fo.tripinfo = v;
    } else if (!strcmp(a, "--sumo-log")) {
      fo.log = v;
    } else if (a[0] == '-') {
      gw_cli_error("unknown option '%s' (see `greenwave field --help`)", a);
      return 2;
    } else if (!fo.run.path) {
      fo.run.path = a;
    } else {
      gw_cli_error("one scenario only; '%s' is extra", a);
      return 2;
    }
  }
  if (!fo.run.path || !controller) {
    gw_cli_error("field sumo needs a scenario and --controller (see `greenwave field --help`)");
    return 2;
  }
  /* "program": SUMO runs its own programs; the summary says so. */
  fo.run.controller = strcmp(controller, "program") ? controller : NULL;
  field_run fr;
  if (run(&fo, &fr)) return 1;
  if (fo.json) {
    if (print_json(&fo, &fr)) {
      gw_cli_error("out of memory");
      return 1;
    }
    return 0;
  }
  gw_cli_print_text(stdout, &fo.run, &fr.r);
  double step = sumo_step_s(&fr.st);
  printf("field               sumo (exit status %d)\n", fr.st.exit_status);
  printf("TraCI               %.2f s in %llu round trips, %.1f MB received\n", fr.st.traci_wall_s,
         (unsigned long long)fr.st.round_trips, (double)fr.st.bytes_received / 1e6);
  if (step >= 0)
    printf("SUMO stepping       %.2f s of its own (TraCI overhead %.2f s, %.0f %% of it)\n", step,
           fr.st.traci_wall_s - step, step > 0 ? 100 * (fr.st.traci_wall_s - step) / step : 0);
  return 0;
}

/*
** cmd_sim.c -- `greenwave sim`: load a scenario, run it, report.
**
** Exit status: 0 on success, 1 when the scenario cannot be loaded or the
** run fails, 2 on a usage error.  The JSON summary is one line on stdout;
** everything meant for people goes to stderr.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run.h"

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
    "  --detector-map FILE  with --controller: write SignalID,Detector,Phase,Movement:\n"
    "                   which detector of the event log serves which phase, and the\n"
    "                   movements of its lane (L, T, R, ...; for `greenwave measures\n"
    "                   --detectors`)\n"
    "  --date YYYY-MM-DD  calendar day of simulated time 0 in the event log\n"
    "                   (default 2026-01-05, a Monday)\n"
    "  --trips FILE     write one CSV row per arrived vehicle (SUMO tripinfo fields)\n"
    "  --cityflow CONFIG.json  run a CityFlow scenario (config.json naming roadnet and\n"
    "                   flow files; also taken when SCENARIO is a .json file); the end\n"
    "                   defaults to 3600 s (docs/cityflow.md)\n"
    "  --dynamics cityflow|sumo  vehicle dynamics (default: cityflow for CityFlow\n"
    "                   input, sumo otherwise)\n"
    "  --json           print the summary as one JSON object on stdout\n"
    "  --quiet          no progress output\n"
    "  -h, --help       this text\n"
    "\n"
    "Means are over arrived vehicles; waiting is time below 0.1 m/s; time loss is\n"
    "measured against driving at the allowed speed.  att_s, att_engine_s, throughput\n"
    "and mean_waiting_time_all_s are the CityFlow literature's figures.\n";

int gw_cli_parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
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

int gw_cli_parse_run_option(gw_run_opts *o, const char *cmd, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  static const char *const with_value[] = {
      "--end",      "--step",       "--seed",   "--trips", "--additional",
      "--teleport", "--controller", "--events", "--date",  "--detector-map",
      "--cityflow", "--dynamics",   NULL};
  int known = 0;
  for (int k = 0; with_value[k]; k++) known |= !strcmp(a, with_value[k]);
  if (!known) return 1;
  if (*i + 1 >= argc) {
    gw_cli_error("%s needs a value (see `greenwave %s --help`)", a, cmd);
    return -1;
  }
  const char *val = argv[++*i];
  if (!strcmp(a, "--end")) return gw_cli_parse_num(a, val, 0, 1e9, &o->end);
  if (!strcmp(a, "--step")) return gw_cli_parse_num(a, val, 0.1, 10, &o->step);
  if (!strcmp(a, "--seed")) return gw_cli_parse_num(a, val, 0, 4294967295.0, &o->seed);
  if (!strcmp(a, "--teleport")) return gw_cli_parse_num(a, val, 0, 1e9, &o->tele);
  if (!strcmp(a, "--trips")) o->trips_path = val;
  if (!strcmp(a, "--controller")) o->controller = val;
  if (!strcmp(a, "--events")) o->events_path = val;
  if (!strcmp(a, "--detector-map")) o->detmap_path = val;
  if (!strcmp(a, "--cityflow")) o->cityflow = val;
  if (!strcmp(a, "--dynamics")) {
    if (strcmp(val, "cityflow") && strcmp(val, "sumo")) {
      gw_cli_error("--dynamics: '%s' is neither cityflow nor sumo", val);
      return -1;
    }
    o->dynamics = strcmp(val, "cityflow") ? GW_DYNAMICS_SUMO : GW_DYNAMICS_CITYFLOW;
  }
  if (!strcmp(a, "--date") && (sscanf(val, "%4d-%2d-%2d", &o->y, &o->mo, &o->d) != 3 || o->mo < 1 ||
                               o->mo > 12 || o->d < 1 || o->d > 31)) {
    gw_cli_error("--date: '%s' is not YYYY-MM-DD", val);
    return -1;
  }
  if (!strcmp(a, "--additional")) {
    if (o->nadd == 32) {
      gw_cli_error("at most 32 --additional files");
      return -1;
    }
    o->adds[o->nadd++] = val;
  }
  return 0;
}

int gw_cmd_sim(int argc, char **argv) {
  gw_run_opts o;
  gw_run_opts_init(&o);
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--quiet")) {
      o.quiet = 1;
    } else {
      int rc = gw_cli_parse_run_option(&o, "sim", argc, argv, &i);
      if (rc < 0) return 2;
      if (rc == 0) continue;
      if (a[0] == '-') {
        gw_cli_error("unknown option '%s' (see `greenwave sim --help`)", a);
        return 2;
      } else if (!o.path) {
        o.path = a;
      } else {
        gw_cli_error("one scenario only; '%s' is extra", a);
        return 2;
      }
    }
  }
  if (!o.path && o.cityflow) o.path = o.cityflow;
  if (!o.path) {
    fputs(usage, stderr);
    return 2;
  }
  gw_run_result r;
  if (gw_cli_run(&o, &r)) return 1;
  if (json)
    gw_cli_print_json(stdout, &o, &r);
  else
    gw_cli_print_text(stdout, &o, &r);
  return 0;
}

/*
** cmd_compare.c -- `greenwave compare`: several controllers on the same
** scenario, demand and seed, side by side.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run.h"

static const char usage[] =
    "usage: greenwave compare SCENARIO.sumocfg --controllers LIST [options]\n"
    "\n"
    "Runs the scenario once per controller, with the same demand and seed, and\n"
    "prints a table: mean travel time, time loss, waiting time, stops per vehicle,\n"
    "arrived, teleports, and the time loss of the vehicles that cross the most\n"
    "signals (on an arterial: all of them).\n"
    "\n"
    "  --controllers LIST   comma-separated; each item NAME or NAME:key=value;...\n"
    "                       (parameters of one controller separated by ';'), and\n"
    "                       `program` for the signals' own programs without Greenwave\n"
    "  --json               one JSON object per controller, with the keys of\n"
    "                       `greenwave sim --json` (`controller` names it)\n"
    "  --end, --step, --seed, --additional, --teleport: as for `greenwave sim`\n";

int gw_cmd_compare(int argc, char **argv) {
  gw_run_opts o;
  gw_run_opts_init(&o);
  o.quiet = 1;
  int json = 0;
  const char *list = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--controllers")) {
      if (i + 1 >= argc) {
        gw_cli_error("--controllers needs a list");
        return 2;
      }
      list = argv[++i];
    } else {
      int rc = gw_cli_parse_run_option(&o, "compare", argc, argv, &i);
      if (rc < 0) return 2;
      if (rc == 0) {
        if (o.controller || o.trips_path || o.events_path) {
          gw_cli_error("compare takes --controllers, not --controller, --trips or --events");
          return 2;
        }
        continue;
      }
      if (a[0] == '-') {
        gw_cli_error("unknown option '%s' (see `greenwave compare --help`)", a);
        return 2;
      }
      if (o.path) {
        gw_cli_error("one scenario only; '%s' is extra", a);
        return 2;
      }
      o.path = a;
    }
  }
  if (!o.path || !list) {
    fputs(usage, stderr);
    return 2;
  }
  if (!json)
    printf("%-28s %9s %9s %9s %7s %8s %6s %12s\n", "controller", "travel s", "loss s", "wait s",
           "stops", "arrived", "telep", "all-sig loss");
  char *copy = strdup(list);
  if (!copy) return 1;
  int status = 0;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    /* NAME:k=v;k=v on the compare line becomes NAME:k=v,k=v for the controller. */
    for (char *c = item; *c; c++)
      if (*c == ';') *c = ',';
    o.controller = strcmp(item, "program") ? item : NULL;
    gw_run_result r;
    if (gw_cli_run(&o, &r)) {
      status = 1;
      continue;
    }
    if (json) {
      gw_cli_print_json(stdout, &o, &r);
    } else {
      const gw_trip_summary *s = &r.sum;
      printf("%-28s %9.1f %9.1f %9.1f %7.2f %8llu %6llu %12.1f\n", item,
             gw_trip_summary_mean(s, s->duration_s), gw_trip_summary_mean(s, s->time_loss_s),
             gw_trip_summary_mean(s, s->waiting_s), s->n ? (double)s->stops / (double)s->n : 0,
             (unsigned long long)r.st.arrived, (unsigned long long)r.st.teleports,
             gw_trip_summary_mean(&r.sum_max, r.sum_max.time_loss_s));
    }
    fflush(stdout);
  }
  free(copy);
  return status;
}

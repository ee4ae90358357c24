/*
** cmd_incident.c -- `greenwave incidents`: measures the incident detector
** on simulated incidents of a scenario (detection rate, false alarms, time
** to detect), as a table or JSON.
**
** The work is gw_incident_evaluate's; this file parses the options, prints
** one line per run and the summary.  Everything is a function of the seed.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "greenwave/incident.h"
#include "greenwave/net.h"
#include "greenwave/scenario.h"

static const char usage[] =
    "usage: greenwave incidents SCENARIO.sumocfg [options]\n"
    "\n"
    "Measures the incident detector on simulated incidents: N runs with a random busy\n"
    "lane blocked (from a random position between its loops to its end, for --block\n"
    "seconds at a random time) and incident-free runs for false alarms.  Every lane of\n"
    "20 m or more is watched with an upstream loop (15 % of its length, at most 20 m\n"
    "from its start) and a downstream one (the stop-line loop, else 5 m before its\n"
    "end); docs/incidents.md describes the method.\n"
    "\n"
    "options:\n"
    "  --runs N          runs with an incident (10)\n"
    "  --free N          incident-free runs (runs / 2, at least 1)\n"
    "  --duration S      length of each run in seconds (3600)\n"
    "  --block S         length of the incident in seconds (600)\n"
    "  --warmup S        no incident and no alarm counted before S seconds (600)\n"
    "  --seed N          seed of the first run; run i uses seed + i (1)\n"
    "  --interval S      detector interval in seconds (60)\n"
    "  --deficit V       count-deficit threshold, expected vehicles missed (10)\n"
    "  --occdf X, --occrdf X, --docctd X\n"
    "                    occupancy test thresholds T1, T2, T3 (0.3, 0.7, 0.3)\n"
    "  --persist N       intervals the occupancy test must hold (2)\n"
    "  --json            JSON instead of text\n"
    "\n"
    "Exit status: 0 done, 1 the scenario could not be loaded or run, 2 usage error.\n";

static void print_text(const gw_scenario *sc, const gw_incident_eval *e) {
  uint32_t total = e->runs + e->free_runs;
  printf("%-4s %-8s %-24s %8s %8s %8s %9s %6s\n", "run", "seed", "blocked lane", "pos_m", "from_s",
         "detected", "detect_s", "other");
  for (uint32_t k = 0; k < total; k++) {
    const gw_incident_eval_run *r = &e->run[k];
    gw_lane_info li;
    const char *id = "-";
    if (r->incident && gw_net_lane_info(sc->net, r->lane, &li) == 0) id = li.id;
    if (r->incident)
      printf("%-4u %-8llu %-24s %8.1f %8.0f %8s %9.0f %6u\n", k, (unsigned long long)r->seed, id,
             r->pos_m, r->from_s, r->detected ? "yes" : "no", r->detected ? r->detect_s : 0,
             r->false_alarms);
    else
      printf("%-4u %-8llu %-24s %8s %8s %8s %9s %6u\n", k, (unsigned long long)r->seed,
             "(incident-free)", "-", "-", "-", "-", r->false_alarms);
  }
  printf("\nlanes watched          %u (%u loop stations)\n", e->lanes, e->stations);
  printf("detection rate         %u / %u (%.0f %%)\n", e->detected, e->runs,
         e->runs ? 100.0 * e->detected / e->runs : 0);
  printf("mean time to detect    %.0f s\n", e->mean_detect_s);
  printf(
      "false alarms           %u in %u incident-free runs (%.2f per run, %.5f per "
      "station-hour)\n",
      e->free_alarms, e->free_runs, e->fa_per_run, e->fa_per_station_hour);
  printf("other alarms           %u during the incident runs, away from the incident\n",
         e->other_alarms);
}

static void print_json(const gw_scenario *sc, const gw_incident_eval *e) {
  printf(
      "{\"lanes\":%u,\"stations\":%u,\"runs\":%u,\"free_runs\":%u,\"detected\":%u,"
      "\"detection_rate\":%.4f,\"mean_detect_s\":%.1f,\"false_alarms\":%u,"
      "\"fa_per_run\":%.4f,\"fa_per_station_hour\":%.6f,\"other_alarms\":%u,\"run\":[",
      e->lanes, e->stations, e->runs, e->free_runs, e->detected,
      e->runs ? (double)e->detected / e->runs : 0, e->mean_detect_s, e->free_alarms, e->fa_per_run,
      e->fa_per_station_hour, e->other_alarms);
  for (uint32_t k = 0; k < e->runs + e->free_runs; k++) {
    const gw_incident_eval_run *r = &e->run[k];
    gw_lane_info li;
    printf("%s{\"seed\":%llu,\"incident\":%s", k ? "," : "", (unsigned long long)r->seed,
           r->incident ? "true" : "false");
    if (r->incident && gw_net_lane_info(sc->net, r->lane, &li) == 0)
      printf(
          ",\"lane\":\"%s\",\"pos_m\":%.1f,\"from_s\":%.0f,\"until_s\":%.0f,"
          "\"detected\":%s,\"detect_s\":%.0f,\"on_lane\":%s",
          li.id, r->pos_m, r->from_s, r->until_s, r->detected ? "true" : "false",
          r->detected ? r->detect_s : 0, r->detected_lane ? "true" : "false");
    printf(",\"false_alarms\":%u}", r->false_alarms);
  }
  printf("]}\n");
}

int gw_cmd_incident(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  double v;
  gw_incident_eval_config cfg;
  memset(&cfg, 0, sizeof cfg);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--runs") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 10000, &v)) return 2;
      cfg.runs = (uint32_t)v;
    } else if (!strcmp(a, "--free") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 10000, &v)) return 2;
      cfg.free_runs = (uint32_t)v;
    } else if (!strcmp(a, "--duration") && more) {
      if (gw_cli_parse_num(a, argv[++i], 60, 1e6, &cfg.duration_s)) return 2;
    } else if (!strcmp(a, "--block") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 1e6, &cfg.block_s)) return 2;
    } else if (!strcmp(a, "--warmup") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 1e6, &cfg.warmup_s)) return 2;
    } else if (!strcmp(a, "--seed") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 1e15, &v)) return 2;
      cfg.seed = (uint64_t)v;
    } else if (!strcmp(a, "--interval") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 3600, &cfg.detector.interval_s)) return 2;
    } else if (!strcmp(a, "--deficit") && more) {
      if (gw_cli_parse_num(a, argv[++i], 0.1, 1000, &cfg.detector.deficit)) return 2;
    } else if (!strcmp(a, "--occdf") && more) {
      if (gw_cli_parse_num(a, argv[++i], 0.01, 1, &cfg.detector.occdf)) return 2;
    } else if (!strcmp(a, "--occrdf") && more) {
      if (gw_cli_parse_num(a, argv[++i], 0.01, 1, &cfg.detector.occrdf)) return 2;
    } else if (!strcmp(a, "--docctd") && more) {
      if (gw_cli_parse_num(a, argv[++i], 0.01, 1, &cfg.detector.docctd)) return 2;
    } else if (!strcmp(a, "--persist") && more) {
      if (gw_cli_parse_num(a, argv[++i], 1, 100, &v)) return 2;
      cfg.detector.persist = (uint32_t)v;
    } else if (a[0] == '-' && a[1]) {
      gw_cli_error("incidents: unknown option or missing value: %s", a);
      return 2;
    } else if (!path) {
      path = a;
    } else {
      gw_cli_error("incidents: more than one scenario given");
      return 2;
    }
  }
  if (!path) {
    fputs(usage, stderr);
    return 2;
  }
  gw_error err = {0};
  gw_scenario *sc = NULL;
  if (gw_scenario_load_sumocfg(path, &sc, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  gw_incident_eval e;
  int rc = gw_incident_evaluate(sc, &cfg, &e, &err);
  if (rc) {
    gw_cli_error("%s", err.msg);
    gw_scenario_destroy(sc);
    return 1;
  }
  if (json)
    print_json(sc, &e);
  else
    print_text(sc, &e);
  gw_incident_eval_free(&e);
  gw_scenario_destroy(sc);
  return 0;
}

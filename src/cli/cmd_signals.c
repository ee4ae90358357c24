/*
** cmd_signals.c -- `greenwave signals`: what Greenwave derives for each
** signal: groups, conflicts, intergreens and stages, with every stage shown
** both as its groups and as a SUMO-style state string.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "greenwave/control.h"
#include "greenwave/scenario.h"

static const char usage[] =
    "usage: greenwave signals SCENARIO.sumocfg [--signal ID] [--additional FILE]\n"
    "\n"
    "Prints the signal model of every signal (or one): its signal groups with their\n"
    "links, lanes, minimum green and yellow; the conflict matrix (X hard conflict,\n"
    "y the row group yields to the column group, . none) with all-red times; and\n"
    "the stages of its program, each as groups and as a SUMO state string.\n";

static void print_model(const gw_signal_model *m, const gw_net *net) {
  printf("signal %s: %u links, %u groups, %u stages, cycle %.0f s, offset %.1f s\n", m->id,
         m->nlinks, m->ngroups, m->nstages, m->cycle_s, m->offset_s);
  for (uint32_t g = 0; g < m->ngroups; g++) {
    const gw_signal_group *sg = &m->groups[g];
    printf("  group %2u  links", g + 1);
    for (uint32_t k = 0; k < sg->nlinks; k++) printf(" %u", sg->links[k]);
    printf("  from");
    for (uint32_t k = 0; k < sg->nin; k++) {
      gw_lane_info li;
      if (!gw_net_lane_info(net, sg->in_lanes[k], &li)) printf(" %s", li.id);
    }
    printf("  min %.0f s, yellow %.0f s\n", sg->min_green_s, sg->yellow_s);
  }
  printf("  conflicts (all-red s):\n        ");
  for (uint32_t b = 0; b < m->ngroups; b++) printf("%5u", b + 1);
  printf("\n");
  for (uint32_t a = 0; a < m->ngroups; a++) {
    printf("    %2u  ", a + 1);
    for (uint32_t b = 0; b < m->ngroups; b++) {
      uint8_t c = m->conflict[a][b];
      if (a == b)
        printf("    -");
      else if (c == GW_CONFLICT_HARD)
        printf("  X%.1f", m->allred_s[a][b]);
      else if (c == GW_CONFLICT_YIELDS)
        printf("    y");
      else
        printf("    .");
    }
    printf("\n");
  }
  char state[257];
  for (uint32_t s = 0; s < m->nstages; s++) {
    gw_signal_model_stage_state(m, s, state);
    printf("  stage %u  %s  green %.0f s  groups", s + 1, state, m->stages[s].green_s);
    for (uint32_t g = 0; g < m->ngroups; g++)
      if (m->stages[s].green >> g & 1)
        printf(" %u%s", g + 1, (m->stages[s].minor >> g & 1) ? "g" : "");
    printf("\n");
  }
}

int gw_cmd_signals(int argc, char **argv) {
  const char *path = NULL, *only = NULL, *adds[32];
  int nadd = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if ((!strcmp(argv[i], "--signal") || !strcmp(argv[i], "--additional")) && i + 1 < argc) {
      if (argv[i][2] == 's')
        only = argv[++i];
      else if (nadd < 32)
        adds[nadd++] = argv[++i];
    } else if (argv[i][0] == '-' || path) {
      gw_cli_error("unexpected '%s' (see `greenwave signals --help`)", argv[i]);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    fputs(usage, stderr);
    return 2;
  }
  gw_error err = {0, {0}};
  gw_scenario *sc;
  if (gw_scenario_load_sumocfg(path, &sc, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  int status = 0;
  for (int i = 0; i < nadd; i++)
    if (gw_scenario_add_additional(sc, adds[i], &err)) {
      gw_cli_error("%s", err.msg);
      gw_scenario_destroy(sc);
      return 1;
    }
  uint32_t found = 0;
  for (uint32_t t = 0; t < gw_net_tls_count(sc->net); t++) {
    if (only && strcmp(only, gw_net_tls_id(sc->net, t))) continue;
    gw_signal_model m;
    if (gw_signal_model_init(&m, sc->net, t, &err)) {
      gw_cli_error("%s", err.msg);
      status = 1;
      continue;
    }
    print_model(&m, sc->net);
    found++;
  }
  if (only && !found) {
    gw_cli_error("no signal '%s' in %s", only, path);
    status = 1;
  }
  gw_scenario_destroy(sc);
  return status;
}

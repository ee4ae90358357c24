/*
** main.c -- the `greenwave` command: dispatch to one file per subcommand.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "greenwave/gw.h"

static const char usage[] =
    "usage: greenwave <command> [options]\n"
    "\n"
    "Greenwave is an open traffic management system: network model, microscopic\n"
    "simulator, signal control and control centre.\n"
    "\n"
    "commands:\n"
    "  sim SCENARIO.sumocfg   simulate a SUMO scenario and print a summary\n"
    "  compare SCENARIO.sumocfg --controllers a,b,...\n"
    "                         run several signal controllers on the same demand\n"
    "  measures LOG.csv --signal ID --measure NAME\n"
    "                         performance measures from a high-resolution event log\n"
    "  signals SCENARIO.sumocfg\n"
    "                         print each signal's groups, conflicts and stages\n"
    "  field sumo SCENARIO.sumocfg --controller NAME\n"
    "                         drive SUMO's signals with a controller over TraCI\n"
    "  incidents SCENARIO.sumocfg\n"
    "                         measure incident detection on simulated lane blockages\n"
    "  convert IN OUT         convert a scenario between SUMO and CityFlow formats\n"
    "  serve [--city NAME] [--db URL] [--listen HOST:PORT]\n"
    "                         run the control centre: API, live feed and dashboard\n"
    "  status                 a running centre's summary\n"
    "  user add|list|passwd   the centre's users (roles viewer, operator, admin)\n"
    "\n"
    "options:\n"
    "  -h, --help             this text; `greenwave COMMAND --help` explains a command\n"
    "  --version              print the version\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("greenwave %s\n", GW_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "sim")) return gw_cmd_sim(argc - 1, argv + 1);
  if (!strcmp(cmd, "compare")) return gw_cmd_compare(argc - 1, argv + 1);
  if (!strcmp(cmd, "signals")) return gw_cmd_signals(argc - 1, argv + 1);
  if (!strcmp(cmd, "field")) return gw_cmd_field(argc - 1, argv + 1);
  if (!strcmp(cmd, "measures")) return gw_cmd_measures(argc - 1, argv + 1);
  if (!strcmp(cmd, "convert")) return gw_cmd_convert(argc - 1, argv + 1);
  if (!strcmp(cmd, "incidents")) return gw_cmd_incident(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve")) return gw_cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "status")) return gw_cmd_status(argc - 1, argv + 1);
  if (!strcmp(cmd, "user")) return gw_cmd_user(argc - 1, argv + 1);
  gw_cli_error("unknown command '%s' (try `greenwave --help`)", cmd);
  return 2;
}

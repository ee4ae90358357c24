/*
** cmd_convert.c -- `greenwave convert IN OUTDIR`: a SUMO scenario to a
** CityFlow one, or a CityFlow scenario to SUMO files.
**
** IN is a .sumocfg (written as OUTDIR/config.json, roadnet.json,
** flow.json) or a CityFlow config.json (written as OUTDIR/NAME.net.xml,
** NAME.rou.xml, NAME.sumocfg with NAME from --name, default "scenario").
** What the other format cannot express is refused with a message (exit 1).
** Exit status 2 on a usage error.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "greenwave/cityflow.h"
#include "greenwave/scenario.h"

int gw_cmd_convert(int argc, char **argv);

static const char usage[] =
    "usage: greenwave convert IN OUTDIR [--name NAME] [--end S]\n"
    "\n"
    "Converts a scenario between SUMO and CityFlow.  IN is a .sumocfg (written as\n"
    "OUTDIR/config.json, roadnet.json, flow.json) or a CityFlow config.json\n"
    "(written as OUTDIR/NAME.net.xml, NAME.rou.xml, NAME.sumocfg).  Flows without\n"
    "an end are expanded up to --end (default 3600 s).  See docs/cityflow.md for\n"
    "what each format can express.\n";

int gw_cmd_convert(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *name = "scenario";
  double end = 3600;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
      name = argv[++i];
    } else if (!strcmp(argv[i], "--end") && i + 1 < argc) {
      if (gw_cli_parse_num("--end", argv[++i], 1, 1e9, &end)) return 2;
    } else if (argv[i][0] == '-') {
      gw_cli_error("unknown option '%s' (see `greenwave convert --help`)", argv[i]);
      return 2;
    } else if (!in) {
      in = argv[i];
    } else if (!out) {
      out = argv[i];
    } else {
      gw_cli_error("'%s' is extra (see `greenwave convert --help`)", argv[i]);
      return 2;
    }
  }
  if (!in || !out) {
    fputs(usage, stderr);
    return 2;
  }
  if (mkdir(out, 0777) && errno != EEXIST) {
    gw_cli_error("%s: cannot create: %s", out, strerror(errno));
    return 1;
  }
  gw_error err = {0, {0}};
  gw_scenario *sc = NULL;
  int to_sumo = gw_cityflow_is_json(in);
  int rc = to_sumo ? gw_scenario_load_cityflow(in, end, &sc, NULL, &err)
                   : gw_scenario_load_sumocfg(in, &sc, &err);
  if (!rc)
    rc = to_sumo
             ? gw_sumo_write(sc->net, sc->demand, sc->step_s, sc->end_s, sc->seed, out, name, &err)
             : gw_cityflow_write(sc->net, sc->demand, sc->step_s, sc->seed, out, &err);
  gw_scenario_destroy(sc);
  if (rc) {
    gw_cli_error("%s", err.msg[0] ? err.msg : gw_strerror(rc));
    return 1;
  }
  return 0;
}

/*
** fuzz_sumo_routes.c -- libFuzzer target for the SUMO route-file importer.
**
** Every input is parsed as a route file against one fixed network (see
** fuzz_common.h), loaded once.  A rejected file must come back with a
** located message; an accepted one is finished and simulated for a few
** minutes, so that vehicle types, departure attributes and flows that pass
** validation are also shown to the simulator.
*/
#include <stdint.h>

#include "fuzz_common.h"

#define NAME "fuzz.rou.xml"

static gw_net *net;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  net = fuzz_load_fixed_net();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_demand *d = NULL;
  gw_error err = {0, {0}};
  int rc = gw__demand_load_sumo_buffer(&d, net, NAME, (const char *)data, size, &err);
  fuzz_check_error(rc, &err, NAME);
  if (!rc && (rc = gw_demand_finish(d, &err))) fuzz_die("gw_demand_finish", err.msg);
  if (!rc) fuzz_simulate(net, d);
  gw_demand_destroy(d);
  return 0;
}

/*
** fuzz_cityflow_flow.c -- libFuzzer target for the CityFlow flow importer
** (gw_demand_load_cityflow_buffer) against the committed 1x1 grid
** (tests/data/cityflow/1x1/roadnet.json; GW_FUZZ_CF_NET names another).
**
** A rejected input must come back with a negative code and a message that
** starts with the file name; an accepted demand must run for two simulated
** minutes in the CityFlow dynamics without failing.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greenwave/cityflow.h"
#include "greenwave/sim.h"

#define NAME "fuzz.flow.json"
#ifndef GW_FUZZ_CF_NET_DEFAULT /* set by tests/fuzz/CMakeLists.txt */
#define GW_FUZZ_CF_NET_DEFAULT "tests/data/cityflow/1x1/roadnet.json"
#endif

static gw_net *the_net(void) {
  static gw_net *net;
  if (net) return net;
  const char *p = getenv("GW_FUZZ_CF_NET");
  gw_error err = {0, {0}};
  if (gw_net_load_cityflow(p ? p : GW_FUZZ_CF_NET_DEFAULT, &net, &err)) {
    fprintf(stderr, "fuzz_cityflow_flow: %s\n", err.msg);
    abort();
  }
  return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_net *net = the_net();
  gw_demand *d = NULL;
  gw_error err = {0, {0}};
  int rc = gw_demand_load_cityflow_buffer(net, NAME, (const char *)data, size, 120, &d, &err);
  if (rc) {
    if (rc >= 0 || strncmp(err.msg, NAME, strlen(NAME)) != 0) abort();
    return 0;
  }
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.dynamics = GW_DYNAMICS_CITYFLOW;
  cfg.end_s = 120;
  gw_sim *sim;
  if (gw_sim_create(net, d, &cfg, &sim) == GW_OK) {
    while (!gw_sim_done(sim))
      if (gw_sim_step(sim)) abort();
    gw_sim_destroy(sim);
  }
  gw_demand_destroy(d);
  return 0;
}

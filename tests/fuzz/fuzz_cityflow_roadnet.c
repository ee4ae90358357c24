/*
** fuzz_cityflow_roadnet.c -- libFuzzer target for the CityFlow roadnet
** importer (gw_net_load_cityflow_buffer).
**
** A rejected input must come back with a negative code and a message that
** starts with the file name; an accepted one must give every signal a
** model the safety monitor accepts, and a short CityFlow-dynamics run with
** one vehicle over the first link must neither fail nor crash.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greenwave/cityflow.h"
#include "greenwave/control.h"
#include "greenwave/sim.h"

#define NAME "fuzz.roadnet.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_net *net = NULL;
  gw_error err = {0, {0}};
  int rc = gw_net_load_cityflow_buffer(NAME, (const char *)data, size, &net, &err);
  if (rc) {
    if (rc >= 0 || strncmp(err.msg, NAME, strlen(NAME)) != 0) abort();
    return 0;
  }
  for (uint32_t t = 0; t < gw_net_tls_count(net); t++) {
    gw_signal_model m;
    gw_signal_model_init(&m, net, t, &err); /* may refuse; must not crash */
  }
  gw_demand *d = NULL;
  if (gw_net_link_count(net) > 0) {
    gw_link_info k;
    gw_lane_info a, b;
    gw_net_link_info(net, 0, &k);
    gw_net_lane_info(net, k.from_lane, &a);
    gw_net_lane_info(net, k.to_lane, &b);
    char flow[1024];
    int n = snprintf(flow, sizeof flow,
                     "[{\"vehicle\":{\"length\":5,\"width\":2,\"maxPosAcc\":2,\"maxNegAcc\":4.5,"
                     "\"usualPosAcc\":2,\"usualNegAcc\":4.5,\"minGap\":2.5,\"maxSpeed\":11,"
                     "\"headwayTime\":2},\"route\":[\"%s\",\"%s\"],\"interval\":5,"
                     "\"startTime\":0,\"endTime\":20}]",
                     gw_net_edge_id(net, a.edge), gw_net_edge_id(net, b.edge));
    if (n > 0 && (size_t)n < sizeof flow && !strpbrk(gw_net_edge_id(net, a.edge), "\"\\") &&
        !strpbrk(gw_net_edge_id(net, b.edge), "\"\\"))
      gw_demand_load_cityflow_buffer(net, "fuzz.flow.json", flow, (size_t)n, 60, &d, &err);
  }
  if (!d && gw_demand_create(&d)) abort();
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.dynamics = GW_DYNAMICS_CITYFLOW;
  cfg.end_s = 120;
  gw_sim *sim;
  if (gw_sim_create(net, d, &cfg, &sim) == GW_OK) {
    while (!gw_sim_done(sim))
      if (gw_sim_step(sim)) abort();
    gw_cityflow_metrics m;
    gw_cityflow_metrics_get(sim, &m);
    gw_sim_destroy(sim);
  }
  gw_demand_destroy(d);
  gw_net_destroy(net);
  return 0;
}

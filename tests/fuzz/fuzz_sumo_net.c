/*
** fuzz_sumo_net.c -- libFuzzer target for the SUMO .net.xml importer.
**
** Every input is parsed as a whole network file.  A rejected file must come
** back with a located message (fuzz_common.h).  An accepted one must be
** internally consistent, which is checked through the public getters: every
** lane belongs to an existing edge, every link joins existing lanes, every
** signal has a program whose phases have positive durations.  Then one
** vehicle is sent across the first junction the network offers and the
** network is simulated for a few minutes, so that the simulator, too, sees
** the odd geometry and signal programs the mutations produce.
*/
#include <stdint.h>

#include "fuzz_common.h"

#define NAME "fuzz.net.xml"

static void check_net(const gw_net *net) {
  uint32_t nl = gw_net_lane_count(net), ne = gw_net_edge_count(net);
  for (uint32_t l = 0; l < nl; l++) {
    gw_lane_info li;
    if (gw_net_lane_info(net, l, &li) || li.edge >= ne || !(li.length_m > 0))
      fuzz_die("lane", "bad lane in an accepted network");
  }
  uint32_t nk = gw_net_link_count(net);
  for (uint32_t k = 0; k < nk; k++) {
    gw_link_info ki;
    if (gw_net_link_info(net, k, &ki) || ki.from_lane >= nl || ki.to_lane >= nl)
      fuzz_die("link", "link to a lane that does not exist");
    for (uint32_t f = 0; f < ki.n_foes; f++)
      if (ki.foes[f] >= nk) fuzz_die("link", "foe that does not exist");
  }
  for (uint32_t t = 0; t < gw_net_tls_count(net); t++) {
    uint32_t np = gw_net_tls_phase_count(net, t);
    if (np == 0) fuzz_die("signal", "signal without phases");
    for (uint32_t p = 0; p < np; p++) {
      double d;
      const char *state;
      if (gw_net_tls_phase(net, t, p, &d, &state) || !(d > 0) || !state[0])
        fuzz_die("signal", "bad phase");
    }
  }
}

/* Builds a one-vehicle demand over the first link of the network whose
** edge ids can be written into XML as they are; NULL if there is none. */
static gw_demand *one_vehicle(const gw_net *net) {
  for (uint32_t l = 0; l < gw_net_lane_count(net); l++) {
    gw_lane_info from;
    const uint32_t *links;
    gw_net_lane_info(net, l, &from);
    if (from.internal || gw_net_lane_links(net, l, &links) == 0) continue;
    gw_link_info k;
    gw_lane_info to;
    gw_net_link_info(net, links[0], &k);
    gw_net_lane_info(net, k.to_lane, &to);
    const char *a = gw_net_edge_id(net, from.edge), *b = gw_net_edge_id(net, to.edge);
    if (strpbrk(a, "<>&\"' \t\n") || strpbrk(b, "<>&\"' \t\n")) continue;
    char xml[1024];
    int n = snprintf(xml, sizeof xml,
                     "<routes><vehicle id=\"v\" depart=\"0\"><route edges=\"%s %s\"/>"
                     "</vehicle></routes>", a, b);
    if (n < 0 || (size_t)n >= sizeof xml) continue;
    gw_demand *d = NULL;
    gw_error err = {0, {0}};
    int rc = gw__demand_load_sumo_buffer(&d, net, "one.rou.xml", xml, (size_t)n, &err);
    if (rc) fuzz_die("one-vehicle route over an existing link is rejected", err.msg);
    gw_demand_finish(d, &err);
    return d;
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_net *net = NULL;
  gw_error err = {0, {0}};
  int rc = gw__net_load_sumo_buffer(NAME, (const char *)data, size, &net, &err);
  fuzz_check_error(rc, &err, NAME);
  if (rc) return 0;
  check_net(net);
  gw_demand *d = one_vehicle(net);
  if (d) fuzz_simulate(net, d);
  gw_demand_destroy(d);
  gw_net_destroy(net);
  return 0;
}

/*
** fuzz_sumo_additional.c -- libFuzzer target for SUMO additional files.
**
** Every input is parsed as an additional file (signal programs, induction
** loops) on top of a fresh copy of the fixed network (fuzz_common.h): an
** additional file changes the network, so reusing one copy would let one
** input leak into the next.  A rejected file must come back with a located
** message.  After an accepted one, a fixed stream of vehicles crosses the
** junction for a few minutes, so that the signal programs the mutations
** produce actually run.
*/
#include <stdint.h>

#include "fuzz_common.h"

#define NAME "fuzz.add.xml"

static char *net_xml;
static size_t net_len;

/* Vehicles from every approach of the junction, in every direction. */
static const char routes[] =
    "<routes>"
    "<flow id=\"w\" begin=\"0\" end=\"200\" period=\"4\" departLane=\"best\">"
    "<route edges=\"left0A0 left0A0.250.00 A0B0\"/></flow>"
    "<flow id=\"n\" begin=\"0\" end=\"200\" period=\"5\">"
    "<route edges=\"A1A0 A1A0.250.00 A0B0\"/></flow>"
    "<flow id=\"e\" begin=\"0\" end=\"200\" period=\"6\"><route edges=\"B0A0.250.00 A0A1\"/></flow>"
    "<flow id=\"s\" begin=\"0\" end=\"200\" period=\"7\">"
    "<route edges=\"bottom0A0.250.00 A0left0\"/></flow>"
    "</routes>";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *path = getenv("GW_FUZZ_NET");
  net_xml = fuzz_read_file(path ? path : GW_FUZZ_NET, &net_len);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_net *net = NULL;
  gw_demand *d = NULL;
  gw_error err = {0, {0}};
  if (gw__net_load_sumo_buffer("fixed.net.xml", net_xml, net_len, &net, &err))
    fuzz_die("the fixed network does not load", err.msg);
  int rc = gw__net_load_sumo_additional_buffer(net, NAME, (const char *)data, size, &err);
  fuzz_check_error(rc, &err, NAME);
  if (!rc) {
    if (gw__demand_load_sumo_buffer(&d, net, "fixed.rou.xml", routes, sizeof routes - 1, &err) ||
        gw_demand_finish(d, &err))
      fuzz_die("the fixed routes do not load", err.msg);
    fuzz_simulate(net, d);
  }
  gw_demand_destroy(d);
  gw_net_destroy(net);
  return 0;
}

/*
** fuzz_common.h -- what the libFuzzer targets of tests/fuzz/ share.
**
** Each target feeds one SUMO importer with mutated XML.  Beyond "no crash,
** no leak, no undefined behaviour" (the sanitizers' part), the helpers here
** check two properties that could be wrong and that libFuzzer alone would
** not notice:
**   - a rejected input always comes back with a negative code and a message
**     that starts with the file name, as every importer promises;
**   - whatever an importer accepts can be simulated: a short run on the
**     loaded network and demand must neither fail nor crash.
** A broken property aborts, which libFuzzer reports as a crash with the
** input that caused it.
**
** The route and additional targets need a network to resolve names
** against.  They load corpus/sumo_net/grid4x4-A0.net.xml (one signalised
** junction cut from the grid4x4 scenario); GW_FUZZ_NET in the environment
** names another file.  Everything here is header-only so that each target
** stays one translation unit.
*/
#ifndef GW_FUZZ_COMMON_H
#define GW_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greenwave/demand.h"
#include "greenwave/net.h"
#include "greenwave/sim.h"
#include "net/sumo_int.h"

/* Steps of the short run after a successful load: long enough for a
** vehicle to cross the test junction and for a signal to cycle. */
#define FUZZ_SIM_STEPS 240

static inline void fuzz_die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz property broken: %s: %s\n", what, detail);
  abort();
}

/* Checks the error contract of a loader that returned rc for input `name`. */
static inline void fuzz_check_error(int rc, const gw_error *err, const char *name) {
  if (rc > 0) fuzz_die("loader returned a positive code", err->msg);
  if (rc == 0) return;
  if (strncmp(err->msg, name, strlen(name)) != 0)
    fuzz_die("error message does not start with the file name", err->msg);
}

/* Reads a whole file into a malloc'ed buffer; exits on failure, since a
** fuzz target without its fixed input cannot run at all. */
static inline char *fuzz_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz: cannot open %s (set GW_FUZZ_NET)\n", path);
    exit(1);
  }
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 65536;
      char *b = realloc(buf, cap);
      if (!b) exit(1);
      buf = b;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Loads the fixed network of the route and additional targets. */
static inline gw_net *fuzz_load_fixed_net(void) {
  const char *path = getenv("GW_FUZZ_NET");
  if (!path) path = GW_FUZZ_NET;
  size_t len;
  char *buf = fuzz_read_file(path, &len);
  gw_net *net = NULL;
  gw_error err = {0, {0}};
  if (gw__net_load_sumo_buffer(path, buf, len, &net, &err)) {
    fprintf(stderr, "fuzz: the fixed network does not load: %s\n", err.msg);
    exit(1);
  }
  free(buf);
  return net;
}

/* Runs a short simulation of `demand` on `net`; both were accepted by the
** importers, so every call here must succeed. */
static inline void fuzz_simulate(const gw_net *net, const gw_demand *demand) {
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.end_s = FUZZ_SIM_STEPS;
  gw_sim *sim = NULL;
  if (gw_sim_create(net, demand, &cfg, &sim)) fuzz_die("gw_sim_create", "failed on loaded input");
  for (int i = 0; i < FUZZ_SIM_STEPS && !gw_sim_done(sim); i++)
    if (gw_sim_step(sim)) fuzz_die("gw_sim_step", "failed on loaded input");
  gw_sim_stats st;
  gw_sim_stats_get(sim, &st);
  if (st.arrived + st.running > st.inserted || st.inserted > st.loaded)
    fuzz_die("gw_sim_stats", "vehicle counts do not add up");
  gw_sim_destroy(sim);
}

#endif

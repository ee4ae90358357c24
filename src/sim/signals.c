/*
** signals.c -- fixed-time signal programs, run exactly as SUMO runs them.
**
** The cycle position at time t is (t - offset) mod cycle, so phase 0 starts
** at t = offset (mod cycle).  The first switch happens at the first step at
** or after the exact phase end; later switches are counted from the step at
** which the previous one happened, as SUMO's event scheduler does, so the
** fractional part of an offset is lost once.  This module only runs the
** program of the net; controllers (src/control) replace it.
*/
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "sim/sim_int.h"

int gw__signals_init(gw_sim *sim) {
  const gw_net *net = sim->net;
  sim->tls = gw__calloc(net->tls.n + 1, sizeof *sim->tls);
  if (!sim->tls) return GW_ENOMEM;
  uint32_t other = 0;
  for (uint32_t t = 0; t < net->tls.n; t++) {
    const gw_tlprogram *p = &net->programs.a[net->tls.a[t].active];
    if (p->type != GW_TL_STATIC) other++;
    double cyc = p->cycle_s;
    double pos = fmod(sim->t - p->offset_s, cyc);
    if (pos < 0) pos += cyc;
    uint32_t k = 0;
    double acc = 0;
    while (k + 1 < p->nphases && acc + net->phases.a[p->phase0 + k].duration_s <= pos) {
      acc += net->phases.a[p->phase0 + k].duration_s;
      k++;
    }
    double remain = acc + net->phases.a[p->phase0 + k].duration_s - pos;
    sim->tls[t].phase = k;
    sim->tls[t].next_switch_t = sim->t + remain;
    sim->tls[t].state = gw__net_state(net, &net->phases.a[p->phase0 + k]);
  }
  if (other)
    gw__log(GW_LOG_WARN,
            "%u signal(s) have an actuated or other non-static program; without a controller "
            "their phase durations run as a fixed-time plan",
            other);
  return GW_OK;
}

void gw__signals_step(gw_sim *sim) {
  const gw_net *net = sim->net;
  const double eps = 1e-9;
  for (uint32_t t = 0; t < net->tls.n; t++) {
    tls_rt *s = &sim->tls[t];
    if (s->ext || sim->t + eps < s->next_switch_t) continue;
    const gw_tlprogram *p = &net->programs.a[net->tls.a[t].active];
    s->phase = (s->phase + 1) % p->nphases;
    const gw_phase *ph = &net->phases.a[p->phase0 + s->phase];
    s->state = gw__net_state(net, ph);
    s->next_switch_t = sim->t + ph->duration_s;
  }
}

char gw__link_state(const gw_sim *sim, uint32_t link) {
  const gw_link *l = &sim->net->links.a[link];
  if (l->tls == GW_NONE) return l->state;
  return sim->tls[l->tls].state[l->tls_index];
}

const char *gw_sim_signal_state(const gw_sim *sim, uint32_t tls) {
  return tls < sim->net->tls.n ? sim->tls[tls].state : NULL;
}

uint32_t gw_sim_signal_phase(const gw_sim *sim, uint32_t tls) {
  return tls < sim->net->tls.n ? sim->tls[tls].phase : 0;
}

int gw_sim_signal_take(gw_sim *sim, uint32_t tls) {
  if (tls >= sim->net->tls.n) return GW_ERANGE;
  tls_rt *s = &sim->tls[tls];
  if (s->ext) return GW_OK;
  uint32_t n = sim->net->tls.a[tls].nlinks;
  s->ext = gw__malloc(n + 1);
  if (!s->ext) return GW_ENOMEM;
  memcpy(s->ext, s->state, n);
  s->ext[n] = 0;
  s->state = s->ext;
  return GW_OK;
}

int gw_sim_signal_set(gw_sim *sim, uint32_t tls, const char *state) {
  if (tls >= sim->net->tls.n) return GW_ERANGE;
  tls_rt *s = &sim->tls[tls];
  if (!s->ext) return GW_ESTATE;
  uint32_t n = sim->net->tls.a[tls].nlinks;
  if (strlen(state) != n) return GW_EINVAL;
  for (uint32_t k = 0; k < n; k++)
    if (!strchr("GgyYrRsuoO", state[k])) return GW_EINVAL;
  memcpy(s->ext, state, n);
  return GW_OK;
}

/*
** sotl.c -- self-organising traffic lights (SOTL, Cools, Gershenson and
** D'Hooghe 2008), the platoon-based rule used as a baseline beside
** FixedTime and MaxPressure in the signal-control literature.
**
** The phases are the stages that show more than the groups every stage
** shows (as in cityflow_baselines.c), served in order.  Every step, once
** the current phase has been green for `phi_min` seconds, the controller
** moves to the next phase when the vehicles on the current phase's
** approach lanes are at most `mu` and the vehicles waiting (below 0.1 m/s)
** on the other phases' approach lanes exceed `theta`.  The change itself
** (yellow, all-red) is the monitor's.
**
** Parameters (defaults): phi_min=5 (s), mu=5 (vehicles), theta=10
** (vehicles).  The literature's tables do not print their SOTL settings;
** these are the values its reference implementations default to.
*/
#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct sotl {
  const gw_signal_model *m;
  double phi_min, mu, theta;
  uint32_t nph, ph[GW_MAX_STAGES];
  uint64_t common;
  uint32_t cur;
  int started;
} sotl;

static int sotl_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
                     gw_error *err) {
  (void)net;
  sotl *s = gw__calloc(1, sizeof *s);
  if (!s) return gw__error(err, GW_ENOMEM, "out of memory");
  s->m = m;
  int rc;
  if ((rc = gw__ctl_param_double(p, "sotl", "phi_min", 5, 0, 600, &s->phi_min, err)) ||
      (rc = gw__ctl_param_double(p, "sotl", "mu", 5, 0, 1000, &s->mu, err)) ||
      (rc = gw__ctl_param_double(p, "sotl", "theta", 10, 0, 10000, &s->theta, err))) {
    gw__free(s);
    return rc;
  }
  s->common = ~0ull;
  for (uint32_t k = 0; k < m->nstages; k++) s->common &= m->stages[k].green;
  for (uint32_t k = 0; k < m->nstages; k++)
    if (m->stages[k].green & ~s->common) s->ph[s->nph++] = k;
  if (s->nph == 0) s->ph[s->nph++] = 0;
  *state = s;
  return GW_OK;
}

static int sotl_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  sotl *s = state;
  if (!s->started) {
    s->started = 1;
    *stage = s->ph[s->cur];
    return GW_OK;
  }
  const gw_monitor_status *st = v->status;
  uint32_t want = s->ph[s->cur];
  /* Count only once the phase asked for is shown. */
  if (st && !st->in_transition && st->stage == want && v->t - st->stage_since_t >= s->phi_min) {
    uint64_t green = s->m->stages[want].green & ~s->common;
    double on_green = 0, waiting_red = 0;
    for (uint32_t g = 0; g < s->m->ngroups; g++) {
      if (s->common >> g & 1) continue;
      if (green >> g & 1)
        on_green += gw__ctl_val(v->count, g);
      else
        waiting_red += gw__ctl_val(v->queue, g);
    }
    if (on_green <= s->mu && waiting_red > s->theta) s->cur = (s->cur + 1) % s->nph;
  }
  *stage = s->ph[s->cur];
  return GW_OK;
}

static void sotl_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_sotl = {
    "sotl",    "self-organising: next phase when its green is empty and the reds are waiting",
    sotl_init, sotl_step,
    sotl_fini, 0,
    1};

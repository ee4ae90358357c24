/*
** cityflow_baselines.c -- the two baselines of the signal-control literature
** on CityFlow scenarios, with the settings that reproduce its tables
** (docs/cityflow.md):
**
**   fixedtime   at every decision point (every `window` s from the first
**               step) it moves to the next phase once the current phase's
**               accumulated green has reached `green` s, else it keeps it;
**   mp-waiting  at every decision point it picks the phase of largest
**               pressure, the sum over its groups of vehicles waiting
**               (below 0.1 m/s) on the approach lanes minus those waiting
**               on the exit lanes; the first phase wins ties.
**
** Phases are the stages that show more than the groups every stage shows
** (the benchmark's phases 1-4; phase 0, right turns only, is the transition
** and is never asked for).  A window whose phase differs from the last one
** starts with the change (the monitor's yellow and all-red, which the CLI
** sets to the transition phase's duration for CityFlow input) and its green
** fills the rest: fixedtime counts window - transition seconds of green for
** such a window, and `window` for one that keeps its phase.  So with the
** defaults the first phase shows 30 s of green, each later one 5 s of
** change and 55 s of green.
**
** Parameters (defaults): window=30 (s), transition=5 (s), green=30 (s,
** fixedtime only).
*/
#include <string.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define EPS_S 1e-9

typedef struct baseline {
  const gw_signal_model *m;
  int mp; /* 1: mp-waiting */
  double window, transition, green;
  uint32_t nph, ph[GW_MAX_STAGES]; /* the phases, as stages */
  uint64_t common;                 /* groups green in every stage */
  uint32_t cur;                    /* index into ph of the phase asked for */
  double acc;                      /* fixedtime: green accumulated by cur */
  double next_t;                   /* next decision point */
  int started;
} baseline;

static int init_common(baseline *b, const gw_signal_model *m, gw_ctl_params *p, const char *name,
                       gw_error *err) {
  int rc;
  b->m = m;
  if ((rc = gw__ctl_param_double(p, name, "window", 30, 1, 3600, &b->window, err)) ||
      (rc = gw__ctl_param_double(p, name, "transition", 5, 0, 60, &b->transition, err)))
    return rc;
  if (b->transition >= b->window)
    return gw__error(err, GW_EINVAL,
                     "controller %s: transition %g s is not shorter than the "
                     "window %g s",
                     name, b->transition, b->window);
  b->common = ~0ull;
  for (uint32_t s = 0; s < m->nstages; s++) b->common &= m->stages[s].green;
  for (uint32_t s = 0; s < m->nstages; s++)
    if (m->stages[s].green & ~b->common) b->ph[b->nph++] = s;
  if (b->nph == 0) b->ph[b->nph++] = 0; /* one stage only: nothing to choose */
  return GW_OK;
}

static int fixedtime_init(void **state, const gw_signal_model *m, const gw_net *net,
                          gw_ctl_params *p, gw_error *err) {
  (void)net;
  baseline *b = gw__calloc(1, sizeof *b);
  if (!b) return gw__error(err, GW_ENOMEM, "out of memory");
  int rc = init_common(b, m, p, "fixedtime", err);
  if (!rc) rc = gw__ctl_param_double(p, "fixedtime", "green", 30, 1, 3600, &b->green, err);
  if (rc) {
    gw__free(b);
    return rc;
  }
  *state = b;
  return GW_OK;
}

static int mp_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
                   gw_error *err) {
  (void)net;
  baseline *b = gw__calloc(1, sizeof *b);
  if (!b) return gw__error(err, GW_ENOMEM, "out of memory");
  b->mp = 1;
  int rc = init_common(b, m, p, "mp-waiting", err);
  if (rc) {
    gw__free(b);
    return rc;
  }
  *state = b;
  return GW_OK;
}

static double pressure(const baseline *b, const gw_ctl_view *v, uint32_t stage) {
  uint64_t g = b->m->stages[stage].green & ~b->common;
  double p = 0;
  for (uint32_t k = 0; k < b->m->ngroups; k++)
    if (g >> k & 1) p += gw__ctl_val(v->queue, k) - gw__ctl_val(v->out_queue, k);
  return p;
}

static int baseline_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  baseline *b = state;
  if (!b->started || v->t >= b->next_t - EPS_S) {
    uint32_t pick = b->cur;
    if (b->mp) {
      double best = 0;
      for (uint32_t i = 0; i < b->nph; i++) {
        double pr = pressure(b, v, b->ph[i]);
        if (i == 0 || pr > best) best = pr, pick = i;
      }
    } else if (b->started && b->acc >= b->green - EPS_S) {
      pick = (b->cur + 1) % b->nph;
    }
    int change = b->started && pick != b->cur;
    b->acc = (change ? 0 : b->acc) + (change ? b->window - b->transition : b->window);
    b->cur = pick;
    b->next_t = (b->started ? b->next_t : v->t) + b->window;
    b->started = 1;
  }
  *stage = b->ph[b->cur];
  return GW_OK;
}

static void baseline_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_fixedtime = {
    "fixedtime",
    "CityFlow baseline: next phase once 30 s of green, 30 s windows, 5 s change",
    fixedtime_init,
    baseline_step,
    baseline_fini,
    1,
    1};

const gw_controller_type gw__ctl_mp_waiting = {
    "mp-waiting",
    "CityFlow baseline: max pressure on waiting vehicles every 30 s window",
    mp_init,
    baseline_step,
    baseline_fini,
    0,
    0};

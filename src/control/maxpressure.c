/*
** maxpressure.c -- max-pressure control (Varaiya 2013), with a minimum
** green, a decision period, a cycle-based variant and a maximum red.
**
** The pressure of a stage is the sum over its protected ('G') groups of the
** vehicles halting upstream minus those halting downstream,
** queue[g] - out_queue[g] (with use_count=1: count[g] - out_count[g], every
** vehicle on the lanes); a stage of only permissive groups counts them all.
** Served alone, this rule is throughput-optimal for stable demand.
**
** Acyclic mode (default).  A green runs its minimum `min`; from then on,
** every `period` seconds (at since + min + k * period), the controller asks
** for the stage of largest pressure if that pressure is strictly larger than
** the current stage's (ties keep the current stage, then go to the lowest
** index).  Fairness: a stage that has had demand (a queue on one of its
** groups that are not green now) without a break for `maxred` seconds is
** asked for as soon as the current green has run its minimum, whatever the
** pressures; among several, the one waiting longest.  The bound is on the
** time to the request; the intergreen follows it.
**
** Cycle-based mode (cycle=1 for a 90 s cycle, or cycle=S for S seconds).
** The stages are served in order, every one in every cycle; when a stage
** turns green its green is set to its share of the stages' positive
** pressures at that moment times (cycle - nstages * model lost time),
** at least `min`; with no pressure at all the shares are equal.  Every stage
** waits at most about one cycle, so `maxred` is not used in this mode.
**
** Parameters (defaults): min=5 (s), period=5 (s), maxred=120 (s),
** use_count=0, cycle=0 (acyclic).
**
** Invariants.  The requested stage is always < nstages; a decision to leave
** a green is kept until the monitor shows another one.  Values that are not
** finite count as zero.  Tuned for per-step cost O(stages * groups) with no
** allocation after init.
*/
#include <math.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define EPS_S 1e-9

typedef struct maxpressure {
  const gw_signal_model *m; /* borrowed; lives as long as the controller */
  uint32_t n, ng;
  uint64_t green[GW_MAX_STAGES], prot[GW_MAX_STAGES];
  double min_s, period_s, maxred_s;
  double cycle_s;           /* 0: acyclic */
  int use_count;
  double wait_since_t[GW_MAX_STAGES]; /* < 0: the stage is not waiting */
  /* The green being timed. */
  int have_green;
  uint32_t green_stage;
  double green_since_t;
  double next_decision_t;   /* acyclic: next decision point */
  double green_len_s;       /* cyclic: the green given to this stage */
  int decided;
  uint32_t request;
} maxpressure;

static double val(const double *a, uint32_t g) {
  if (!a) return 0;
  return isfinite(a[g]) ? a[g] : 0;
}

static double upstream(const maxpressure *p, const gw_ctl_view *v, uint32_t g) {
  return val(p->use_count ? v->count : v->queue, g);
}

static double stage_pressure(const maxpressure *p, const gw_ctl_view *v, uint32_t s) {
  double sum = 0;
  for (uint32_t g = 0; g < p->ng; g++)
    if (p->prot[s] >> g & 1)
      sum += upstream(p, v, g) - val(p->use_count ? v->out_count : v->out_queue, g);
  return sum;
}

static int mp_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *pp,
                   gw_error *err) {
  (void)net;
  if (m->nstages == 0 || m->nstages > GW_MAX_STAGES)
    return gw__error(err, GW_EINVAL, "controller maxpressure: signal '%s' has %u stages",
                     m->id ? m->id : "?", m->nstages);
  double min, period, maxred, use_count, cycle;
  int rc;
  if ((rc = gw__ctl_param_double(pp, "maxpressure", "min", 5, 0, 600, &min, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "period", 5, 0.1, 600, &period, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "maxred", 120, 1, 3600, &maxred, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "use_count", 0, 0, 1, &use_count, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "cycle", 0, 0, 600, &cycle, err)))
    return rc;
  if (cycle > 1 && cycle < 10)
    return gw__error(err, GW_EINVAL, "controller maxpressure: cycle=%g: expected 0 (acyclic), "
                     "1 (90 s cycle) or a cycle of 10..600 s", cycle);
  maxpressure *p = gw__calloc(1, sizeof *p);
  if (!p) return gw__error(err, GW_ENOMEM, "out of memory");
  p->m = m;
  p->n = m->nstages;
  p->ng = m->ngroups < GW_MAX_GROUPS ? m->ngroups : GW_MAX_GROUPS;
  uint64_t all = p->ng == 64 ? ~0ull : (1ull << p->ng) - 1;
  for (uint32_t s = 0; s < p->n; s++) {
    p->green[s] = m->stages[s].green & all;
    p->prot[s] = m->stages[s].green & ~m->stages[s].minor & all;
    if (!p->prot[s]) p->prot[s] = p->green[s];
    p->wait_since_t[s] = -1;
  }
  p->min_s = min;
  p->period_s = period;
  p->maxred_s = maxred;
  p->use_count = use_count >= 0.5;
  p->cycle_s = cycle == 1 ? 90 : cycle;
  *state = p;
  return GW_OK;
}

/* The green for stage s in the cycle-based mode. */
static double cyclic_green(const maxpressure *p, const gw_ctl_view *v, uint32_t s) {
  double lost = isfinite(p->m->lost_s) && p->m->lost_s > 0 ? p->m->lost_s : 0;
  double avail = p->cycle_s - p->n * lost, total = 0, mine = 0;
  for (uint32_t j = 0; j < p->n; j++) {
    double pr = stage_pressure(p, v, j);
    if (pr > 0) total += pr;
    if (j == s && pr > 0) mine = pr;
  }
  double g = total > 0 ? avail * mine / total : avail / p->n;
  return g > p->min_s ? g : p->min_s;
}

/* Tracks since when each stage not being served has had demand. */
static void update_waits(maxpressure *p, const gw_ctl_view *v, uint32_t cur, int serving) {
  uint64_t not_green = serving ? ~p->green[cur] : ~0ull;
  for (uint32_t s = 0; s < p->n; s++) {
    int demand = 0;
    uint64_t mask = p->green[s] & not_green;
    for (uint32_t g = 0; g < p->ng && !demand; g++)
      if (mask >> g & 1) demand = upstream(p, v, g) > 0;
    if ((serving && s == cur) || !demand) p->wait_since_t[s] = -1;
    else if (p->wait_since_t[s] < 0) p->wait_since_t[s] = v->t;
  }
}

static void decide(maxpressure *p, uint32_t s, uint32_t *stage) {
  p->decided = 1;
  p->request = s;
  *stage = s;
}

static int mp_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  maxpressure *p = state;
  const gw_monitor_status *st = v->status;
  *stage = p->decided ? p->request : 0;
  if (!st) return GW_EINVAL;
  uint32_t cur = st->stage < p->n ? st->stage : 0;
  update_waits(p, v, cur, !st->in_transition);
  if (st->in_transition) {
    *stage = p->decided ? p->request : st->target < p->n ? st->target : cur;
    return GW_OK;
  }
  if (!p->have_green || p->green_stage != cur || p->green_since_t != st->stage_since_t) {
    p->have_green = 1;
    p->green_stage = cur;
    p->green_since_t = st->stage_since_t;
    p->decided = 0;
    p->next_decision_t = p->green_since_t + p->min_s;
    if (p->cycle_s > 0) p->green_len_s = cyclic_green(p, v, cur);
  }
  *stage = cur;
  if (p->decided) {
    *stage = p->request;
    return GW_OK;
  }
  double green_t = v->t - p->green_since_t;
  if (green_t < p->min_s - EPS_S || p->n == 1) return GW_OK;

  if (p->cycle_s > 0) {
    if (green_t >= p->green_len_s - EPS_S) decide(p, (cur + 1) % p->n, stage);
    return GW_OK;
  }

  /* Fairness first: the stage waiting longest beyond the maximum red. */
  uint32_t late = p->n;
  for (uint32_t s = 0; s < p->n; s++) {
    if (s == cur || p->wait_since_t[s] < 0) continue;
    if (v->t - p->wait_since_t[s] < p->maxred_s - EPS_S) continue;
    if (late == p->n || p->wait_since_t[s] < p->wait_since_t[late]) late = s;
  }
  if (late < p->n) {
    decide(p, late, stage);
    return GW_OK;
  }

  if (v->t < p->next_decision_t - EPS_S) return GW_OK;
  double missed = floor((v->t + EPS_S - p->next_decision_t) / p->period_s);
  p->next_decision_t += p->period_s * (missed + 1);
  double here = stage_pressure(p, v, cur), best_p = here;
  uint32_t best = cur;
  for (uint32_t s = 0; s < p->n; s++) {
    double pr = stage_pressure(p, v, s);
    if (pr > best_p) {
      best_p = pr;
      best = s;
    }
  }
  if (best != cur) decide(p, best, stage);
  return GW_OK;
}

static void mp_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_maxpressure = {
    "maxpressure", "max-pressure: largest queue difference, min green, period, max red",
    mp_init, mp_step, mp_fini};

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
** groups not shown 'G' now: a left turn queued behind its permissive green
** waits for its protected stage) without a break for `maxred` seconds is
** asked for as soon as the current green has run its minimum, whatever the
** pressures; among several, the one waiting longest.  The bound is on the
** time to the request; the intergreen follows it.
**
** Blocked greens.  Pressure assumes that a green discharges its queue; when
** the exit is blocked (spillback from the next junction) the queue stands
** and pure max-pressure keeps the useless green for ever, while the other
** approaches fill up and lock the grid.  So at a decision the current
** stage's pressure counts only while it discharges: while a vehicle has
** crossed the detectors of one of its protected groups within the last
** `gap` seconds (a group without detectors is taken as discharging).  A
** vehicle standing on a detector does not count, which is why this uses
** view->arrivals and not gap_s.  A blocked green's pressure counts as zero,
** so any stage with positive pressure takes over.
**
** Cycle-based mode (cycle=1 for a 90 s cycle, or cycle=S for S seconds).
** The stages are served in order, every one in every cycle.  When stage 0
** turns green the greens of the whole cycle are set: each stage's share of
** the stages' upstream queues (the first half of the pressure), averaged
** over the cycle that ends, times (cycle - nstages x the model's lost time
** per change), at least `min` (which lengthens the cycle when it binds);
** with no queue at all the shares are equal.  Averaged, because the average
** queue is the delay being suffered, where a snapshot swings from one stage
** to another; upstream only, because on short links the downstream queue of
** a cycle-based plan is the next signal's ordinary red queue, and
** subtracting it starved arterial10's main road to its minimum green and
** locked the grid (measured: 1,030 s mean travel time against 312 s).
** Setting each green when its own stage starts instead would hand every
** stage the queue it built while waiting, and the greens would add up to
** far more than the cycle.  Every stage waits at most about one cycle, so
** `maxred` is not used in this mode.  It remains the weaker mode: better
** than the fixed plan on arterial10, worse on grid4x4 and grid4x4_heavy.
**
** A change is made only when the best other stage's pressure exceeds the
** current one's by switch= vehicles (default: what two lanes discharge at a
** 2 s headway during the longest change interval, yellow plus all-red),
** since nobody crosses during the change itself.
**
** Parameters (defaults): min=15 (s), period=5 (s), maxred=120 (s), gap=3 (s),
** switch= (vehicles; see above),
** use_count=0, cycle=0 (acyclic).
**
** Tuned on the scenarios (greenwave compare): with 5 s minimum greens the
** queue that builds during each intergreen makes the controller switch at
** almost every decision, greens of 5 s beside intergreens of 4 s halve the
** capacity, and grid4x4_heavy locks up (over a thousand teleports); 10 s
** still does; 15 s runs it, and every scenario, better than its fixed plan.
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
  uint64_t green[GW_MAX_STAGES];
  uint64_t major[GW_MAX_STAGES]; /* groups shown 'G' */
  uint64_t prot[GW_MAX_STAGES];  /* groups whose pressure counts: major, or all */
  double min_s, period_s, maxred_s, gap_s;
  double switch_veh; /* pressure a change must gain, vehicles */
  double cycle_s;    /* 0: acyclic */
  int use_count;
  double wait_since_t[GW_MAX_STAGES]; /* < 0: the stage is not waiting */
  double last_pass_t[GW_MAX_GROUPS];  /* last vehicle over its detectors */
  /* The green being timed. */
  int have_green;
  uint32_t green_stage;
  double green_since_t;
  double next_decision_t;       /* acyclic: next decision point */
  double plan_s[GW_MAX_STAGES]; /* cyclic: the greens of the running cycle */
  int have_plan;
  double pr_sum[GW_MAX_STAGES]; /* cyclic: queue x seconds since the last plan */
  double pr_time_s;
  int decided;
  uint32_t request;
} maxpressure;

static double upstream(const maxpressure *p, const gw_ctl_view *v, uint32_t g) {
  return gw__ctl_val(p->use_count ? v->count : v->queue, g);
}

static double stage_pressure(const maxpressure *p, const gw_ctl_view *v, uint32_t s) {
  double sum = 0;
  for (uint32_t g = 0; g < p->ng; g++)
    if (p->prot[s] >> g & 1)
      sum += upstream(p, v, g) - gw__ctl_val(p->use_count ? v->out_count : v->out_queue, g);
  return sum;
}

/* The upstream half of a stage's pressure: the vehicles waiting for it. */
static double stage_upstream(const maxpressure *p, const gw_ctl_view *v, uint32_t s) {
  double sum = 0;
  for (uint32_t g = 0; g < p->ng; g++)
    if (p->prot[s] >> g & 1) sum += upstream(p, v, g);
  return sum;
}

static int mp_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *pp,
                   gw_error *err) {
  (void)net;
  if (m->nstages == 0 || m->nstages > GW_MAX_STAGES)
    return gw__error(err, GW_EINVAL, "controller maxpressure: signal '%s' has %u stages",
                     m->id ? m->id : "?", m->nstages);
  double min, period, maxred, gap, use_count, cycle, sw;
  int rc;
  if ((rc = gw__ctl_param_double(pp, "maxpressure", "min", 15, 0, 600, &min, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "period", 5, 0.1, 600, &period, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "maxred", 120, 1, 3600, &maxred, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "gap", 3, 0.1, 600, &gap, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "use_count", 0, 0, 1, &use_count, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "cycle", 0, 0, 600, &cycle, err)) ||
      (rc = gw__ctl_param_double(pp, "maxpressure", "switch", -1, 0, 1000, &sw, err)))
    return rc;
  if (cycle > 1 && cycle < 10)
    return gw__error(err, GW_EINVAL,
                     "controller maxpressure: cycle=%g: expected 0 (acyclic), "
                     "1 (90 s cycle) or a cycle of 10..600 s",
                     cycle);
  maxpressure *p = gw__calloc(1, sizeof *p);
  if (!p) return gw__error(err, GW_ENOMEM, "out of memory");
  p->m = m;
  p->n = m->nstages;
  p->ng = m->ngroups < GW_MAX_GROUPS ? m->ngroups : GW_MAX_GROUPS;
  uint64_t all = p->ng == 64 ? ~0ull : (1ull << p->ng) - 1;
  for (uint32_t s = 0; s < p->n; s++) {
    p->green[s] = m->stages[s].green & all;
    p->major[s] = m->stages[s].green & ~m->stages[s].minor & all;
    p->prot[s] = p->major[s] ? p->major[s] : p->green[s];
    p->wait_since_t[s] = -1;
  }
  p->min_s = min;
  p->period_s = period;
  p->maxred_s = maxred;
  p->gap_s = gap;
  /* A change costs its yellow and all-red, during which nobody crosses: by
  ** default it must gain the vehicles that two lanes, a typical approach,
  ** would discharge in that time at a 2 s headway. */
  if (sw < 0) {
    double change = 0;
    for (uint32_t a = 0; a < m->ngroups; a++) {
      double ar = 0;
      for (uint32_t b = 0; b < m->ngroups; b++)
        if (m->allred_s[a][b] > ar) ar = m->allred_s[a][b];
      if (m->groups[a].yellow_s + ar > change) change = m->groups[a].yellow_s + ar;
    }
    sw = 2 * change / 2.0;
  }
  p->switch_veh = sw;
  for (uint32_t g = 0; g < GW_MAX_GROUPS; g++) p->last_pass_t[g] = -1e300;
  p->use_count = use_count >= 0.5;
  p->cycle_s = cycle == 1 ? 90 : cycle;
  *state = p;
  return GW_OK;
}

/* The greens of a cycle in the cycle-based mode, from the upstream queues
** averaged over the cycle that ends (for the first plan, the queues now). */
static void plan_cycle(maxpressure *p, const gw_ctl_view *v) {
  double lost = isfinite(p->m->lost_s) && p->m->lost_s > 0 ? p->m->lost_s : 0;
  double avail = p->cycle_s - p->n * lost, total = 0, pr[GW_MAX_STAGES];
  for (uint32_t j = 0; j < p->n; j++) {
    pr[j] = p->pr_time_s > 0 ? p->pr_sum[j] / p->pr_time_s : stage_upstream(p, v, j);
    if (pr[j] < 0) pr[j] = 0;
    total += pr[j];
    p->pr_sum[j] = 0;
  }
  p->pr_time_s = 0;
  for (uint32_t j = 0; j < p->n; j++) {
    double g = total > 0 ? avail * pr[j] / total : avail / p->n;
    p->plan_s[j] = g > p->min_s ? g : p->min_s;
  }
  p->have_plan = 1;
}

/* Tracks since when each stage not being served has had demand. */
static void update_waits(maxpressure *p, const gw_ctl_view *v, uint32_t cur, int serving) {
  uint64_t not_green = serving ? ~p->major[cur] : ~0ull;
  for (uint32_t s = 0; s < p->n; s++) {
    int demand = 0;
    uint64_t mask = p->green[s] & not_green;
    for (uint32_t g = 0; g < p->ng && !demand; g++)
      if (mask >> g & 1) demand = upstream(p, v, g) > 0;
    if ((serving && s == cur) || !demand)
      p->wait_since_t[s] = -1;
    else if (p->wait_since_t[s] < 0)
      p->wait_since_t[s] = v->t;
  }
}

/* Has a vehicle of one of stage s's protected groups crossed a detector
** within the last gap seconds (or has one of them no detector)? */
static int discharging(const maxpressure *p, const gw_ctl_view *v, uint32_t s) {
  for (uint32_t g = 0; g < p->ng; g++) {
    if (!(p->prot[s] >> g & 1)) continue;
    if (!v->has_detector || !v->has_detector[g]) return 1;
    if (v->t - p->last_pass_t[g] < p->gap_s) return 1;
  }
  return 0;
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
  for (uint32_t g = 0; g < p->ng; g++)
    if (gw__ctl_val(v->arrivals, g) > 0) p->last_pass_t[g] = v->t;
  if (p->cycle_s > 0 && v->dt > 0 && isfinite(v->dt)) {
    for (uint32_t s = 0; s < p->n; s++) p->pr_sum[s] += stage_upstream(p, v, s) * v->dt;
    p->pr_time_s += v->dt;
  }
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
    if (p->cycle_s > 0 && (cur == 0 || !p->have_plan)) plan_cycle(p, v);
  }
  *stage = cur;
  if (p->decided) {
    *stage = p->request;
    return GW_OK;
  }
  double green_t = v->t - p->green_since_t;
  if (green_t < p->min_s - EPS_S || p->n == 1) return GW_OK;

  if (p->cycle_s > 0) {
    if (green_t >= p->plan_s[cur] - EPS_S) decide(p, (cur + 1) % p->n, stage);
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
  double here = stage_pressure(p, v, cur);
  if (here > 0 && !discharging(p, v, cur)) here = 0;
  double best_p = -1e300;
  uint32_t best = cur;
  for (uint32_t s = 0; s < p->n; s++) {
    if (s == cur) continue;
    double pr = stage_pressure(p, v, s);
    if (pr > best_p) {
      best_p = pr;
      best = s;
    }
  }
  /* Change only when the gain pays for the change interval. */
  if (best != cur && best_p > here + p->switch_veh) decide(p, best, stage);
  return GW_OK;
}

static void mp_fini(void *state) { gw__free(state); }

/* Pressure on queues (the default) reads no vehicle counts. */
int gw__maxpressure_uses_counts(const void *state) {
  return ((const maxpressure *)state)->use_count;
}

const gw_controller_type gw__ctl_maxpressure = {
    "maxpressure",
    "max-pressure: largest queue difference, min green, period, max red",
    mp_init,
    mp_step,
    mp_fini,
    0,
    0};

/*
** adaptive.c -- a SCATS-like adaptive controller: every cycle it measures
** the flows, recomputes the cycle by Webster and the splits so that the
** stages' degrees of saturation are equal, and within the cycle it ends a
** green early when its traffic has gone.
**
** Measurement.  Over each cycle the controller counts, per group, the
** vehicles crossing its detectors (view->arrivals); a group without
** detectors counts the vehicles entering its approach instead, the sum of
** the step-to-step rises of view->count (a lower bound when one vehicle
** enters while another leaves in the same step, but unlike a count of
** departures it still sees demand beyond capacity).  The flow q (veh/s) is
** the count over the cycle's measured duration, smoothed over cycles with
** weight `alpha` (the first cycle is taken as it is).  A group's saturation
** flow is `sat` (veh/h per lane, 1800) times its approach lanes (at least
** one).  The flow ratio of a stage is y = max over its protected ('G') groups
** of q / s (the critical group); Y is their sum.
**
** Cycle.  L is the lost time per cycle: the sum over the stage changes of
** the intergreen the monitor will run (the longest yellow + all-red from an
** ending group to a starting one), or nstages x `lost` when that parameter
** is given.  The target cycle is Webster's C0 = (1.5 L + 5) / (1 - Y),
** lengthened where needed to L / (1 - Y / ds) so that the critical degree of
** saturation X = Y C / (C - L) stays at or below the target `ds`; when
** Y >= ds no cycle can, and the target is cmax.  The target is clamped to
** [cmin, cmax], and the running cycle moves towards it by at most `step`
** seconds per cycle.  It never drops below L plus the stages' minimum
** greens.
**
** Splits.  Webster: g_i = (y_i / Y)(C - L), each at least the stage's
** minimum green (the larger of `min` and the minimum greens of its groups);
** stages held at their minimum are taken out and the rest shared again in
** proportion to y.  With no flow at all the shares are equal.  Before the
** first measurement the program's greens give the proportions.
**
** Within a cycle the stages run in order, stage 0 first, like the fixed
** plan: stage i is asked for until its planned green end (cycle start +
** earlier greens and intergreens + g_i), then the next stage.  A green may
** end early on gap-out, once it has run its minimum and every protected
** group is idle (detectors unoccupied for `gap` seconds; without detectors:
** no queue); the planned ends of the later stages stay where they are, so
** the time saved goes to the next stage.  In free mode a gap-out of the last
** stage ends the cycle early.  A green always runs its minimum, even when
** the stage before it overran its plan.
**
** Coordination (coord=1).  The cycle stays `cycle` (default: the program's)
** and only the splits adapt; stage 0, which carries the green wave, starts
** at offset + k x cycle.  To hold that, stage 0 and the last stage never gap
** out; time saved by the others goes to their successors.  In free mode
** `offset` only places the first cycle.
**
** Events: GW_EV_CYCLE_CHANGE and GW_EV_SPLIT_CHANGE + stage (split = green +
** the change interval after it, as in fixed.c) whenever the value rounded
** to a second changes, and at the first step; GW_EV_GAP_OUT on gap-out and
** GW_EV_MAX_OUT (free) or GW_EV_FORCE_OFF (coordinated) at a planned end,
** for every protected group that goes to yellow.
**
** Parameters (defaults): alpha=0.3, ds=0.9, cmin=40, cmax=150, step=10 (s),
** sat=1800 (veh/h/lane), lost= (s per change; default from the model),
** min=5 (s), gap=3 (s), coord=0, cycle= (the program's, else 90 s),
** offset= (the program's).
**
** Invariants: the requested stage is always < nstages; a one-stage signal
** is asked for stage 0 and not timed.  All divisions are guarded (1 - Y > 0
** because Y < ds <= 1 there, durations are checked positive, weight sums are
** tested).  Values that are not finite count as zero.  Tuned for per-step
** cost O(groups) with O(stages x groups) once per cycle; no allocation after
** init.
*/
#include <math.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define EPS_S 1e-9

typedef struct adaptive {
  const gw_signal_model *m;      /* borrowed; lives as long as the controller */
  uint32_t n, ng;
  uint64_t green[GW_MAX_STAGES], prot[GW_MAX_STAGES];
  double min_s[GW_MAX_STAGES];   /* shortest green of each stage */
  double lost_s[GW_MAX_STAGES];  /* change interval after each stage */
  double lost_total_s;           /* L */
  double sat_vps[GW_MAX_GROUPS]; /* saturation flow of each group, veh/s */
  double alpha, ds, cmin_s, cmax_s, step_s, gap_s, offset_s;
  int coord;
  /* The plan in force. */
  double cycle_s, green_s[GW_MAX_STAGES];
  long logged_cycle, logged_split[GW_MAX_STAGES];
  /* Where the running cycle is. */
  int started;
  double cycle_start_t;          /* when stage 0's green starts (planned) */
  uint32_t k;                    /* the stage being served or moved to */
  /* Measurement of the running cycle. */
  int have_prev;
  double prev_count[GW_MAX_GROUPS];
  double acc[GW_MAX_GROUPS];     /* vehicles counted so far */
  double meas_start_t;
  int have_flow;
  double flow_vps[GW_MAX_GROUPS]; /* smoothed flows */
} adaptive;

static double val(const double *a, uint32_t g) {
  if (!a) return 0;
  return isfinite(a[g]) ? a[g] : 0;
}

static double gap_of(const gw_ctl_view *v, uint32_t g) {
  if (!v->gap_s || !isfinite(v->gap_s[g])) return 1e9;
  return v->gap_s[g] < 0 ? 0 : v->gap_s[g];
}

static int detected(const gw_ctl_view *v, uint32_t g) {
  return v->has_detector && v->has_detector[g];
}

/* The intergreen the monitor runs from stage a to stage b: every ending
** group's yellow, then the all-red towards every starting group. */
static double intergreen(const gw_signal_model *m, uint64_t from, uint64_t to, uint32_t ng) {
  uint64_t ending = from & ~to, starting = to & ~from;
  double worst = 0;
  for (uint32_t g = 0; g < ng; g++) {
    if (!(ending >> g & 1)) continue;
    double ar = 0;
    for (uint32_t h = 0; h < ng; h++)
      if ((starting >> h & 1) && m->allred_s[g][h] > ar) ar = m->allred_s[g][h];
    double y = m->groups[g].yellow_s > 0 ? m->groups[g].yellow_s : 0;
    if (y + ar > worst) worst = y + ar;
  }
  return isfinite(worst) ? worst : 0;
}

/* Shares avail seconds of green among the stages in proportion to w, none
** below its minimum (water filling: stages held at the minimum are taken
** out and the rest shared again). */
static void share(adaptive *a, const double *w, double avail) {
  uint8_t held[GW_MAX_STAGES] = {0};
  for (uint32_t round = 0; round <= a->n; round++) {
    double wsum = 0, rem = avail;
    uint32_t nfree = 0;
    for (uint32_t s = 0; s < a->n; s++) {
      if (held[s]) {
        rem -= a->min_s[s];
      } else {
        wsum += w[s];
        nfree++;
      }
    }
    int changed = 0;
    for (uint32_t s = 0; s < a->n; s++) {
      if (held[s]) continue;
      a->green_s[s] = wsum > 0 ? rem * w[s] / wsum : rem / nfree;
      if (a->green_s[s] < a->min_s[s] - EPS_S) {
        held[s] = 1;
        changed = 1;
      }
    }
    for (uint32_t s = 0; s < a->n; s++)
      if (held[s]) a->green_s[s] = a->min_s[s];
    if (!changed) break;
  }
}

static double sum_min(const adaptive *a) {
  double sum = 0;
  for (uint32_t s = 0; s < a->n; s++) sum += a->min_s[s];
  return sum;
}

/* Logs the cycle and the splits that changed (rounded to a second). */
static void log_plan(adaptive *a, const gw_ctl_view *v, int first) {
  long c = lround(a->cycle_s);
  if (first || c != a->logged_cycle) gw__ctl_emit(v, GW_EV_CYCLE_CHANGE, (int)c);
  a->logged_cycle = c;
  for (uint32_t s = 0; s < a->n; s++) {
    long sp = lround(a->green_s[s] + a->lost_s[s]);
    if (first || sp != a->logged_split[s])
      gw__ctl_emit(v, GW_EV_SPLIT_CHANGE + (int)(s < 16 ? s : 15), (int)sp);
    a->logged_split[s] = sp;
  }
}

/* The new cycle and splits from the smoothed flows. */
static void replan(adaptive *a) {
  double y[GW_MAX_STAGES], Y = 0, L = a->lost_total_s;
  for (uint32_t s = 0; s < a->n; s++) {
    y[s] = 0;
    for (uint32_t g = 0; g < a->ng; g++)
      if ((a->prot[s] >> g & 1) && a->flow_vps[g] / a->sat_vps[g] > y[s])
        y[s] = a->flow_vps[g] / a->sat_vps[g];
    Y += y[s];
  }
  if (!a->coord) {
    double target = a->cmax_s;
    if (Y < a->ds) {
      double webster = (1.5 * L + 5) / (1 - Y), for_ds = L / (1 - Y / a->ds);
      target = webster > for_ds ? webster : for_ds;
    }
    if (target > a->cmax_s) target = a->cmax_s;
    if (target < a->cmin_s) target = a->cmin_s;
    double d = target - a->cycle_s;
    if (d > a->step_s) d = a->step_s;
    if (d < -a->step_s) d = -a->step_s;
    a->cycle_s += d;
    if (a->cycle_s < L + sum_min(a)) a->cycle_s = L + sum_min(a);
  }
  if (Y <= 0)
    for (uint32_t s = 0; s < a->n; s++) y[s] = 1;
  share(a, y, a->cycle_s - L);
}

static int ad_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
                   gw_error *err) {
  (void)net;
  if (m->nstages == 0 || m->nstages > GW_MAX_STAGES)
    return gw__error(err, GW_EINVAL, "controller adaptive: signal '%s' has %u stages",
                     m->id ? m->id : "?", m->nstages);
  double alpha, ds, cmin, cmax, step, sat, lost, min, gap, coord, cycle, offset;
  double prog_cycle = m->cycle_s > 0 && isfinite(m->cycle_s) ? m->cycle_s : 90;
  double prog_offset = isfinite(m->offset_s) ? m->offset_s : 0;
  int rc;
  const char *me = "adaptive";
  if ((rc = gw__ctl_param_double(p, me, "alpha", 0.3, 0.01, 1, &alpha, err)) ||
      (rc = gw__ctl_param_double(p, me, "ds", 0.9, 0.5, 1, &ds, err)) ||
      (rc = gw__ctl_param_double(p, me, "cmin", 40, 10, 600, &cmin, err)) ||
      (rc = gw__ctl_param_double(p, me, "cmax", 150, 10, 600, &cmax, err)) ||
      (rc = gw__ctl_param_double(p, me, "step", 10, 0, 600, &step, err)) ||
      (rc = gw__ctl_param_double(p, me, "sat", 1800, 100, 10000, &sat, err)) ||
      (rc = gw__ctl_param_double(p, me, "lost", -1, 0, 60, &lost, err)) ||
      (rc = gw__ctl_param_double(p, me, "min", 5, 1, 300, &min, err)) ||
      (rc = gw__ctl_param_double(p, me, "gap", 3, 0.1, 60, &gap, err)) ||
      (rc = gw__ctl_param_double(p, me, "coord", 0, 0, 1, &coord, err)) ||
      (rc = gw__ctl_param_double(p, me, "cycle", prog_cycle, 10, 600, &cycle, err)) ||
      (rc = gw__ctl_param_double(p, me, "offset", prog_offset, -1e6, 1e6, &offset, err)))
    return rc;
  if (cmin > cmax)
    return gw__error(err, GW_EINVAL, "controller adaptive: cmin=%g is above cmax=%g", cmin, cmax);
  adaptive *a = gw__calloc(1, sizeof *a);
  if (!a) return gw__error(err, GW_ENOMEM, "out of memory");
  a->m = m;
  a->n = m->nstages;
  a->ng = m->ngroups < GW_MAX_GROUPS ? m->ngroups : GW_MAX_GROUPS;
  uint64_t all = a->ng == 64 ? ~0ull : (1ull << a->ng) - 1;
  for (uint32_t s = 0; s < a->n; s++) {
    a->green[s] = m->stages[s].green & all;
    a->prot[s] = m->stages[s].green & ~m->stages[s].minor & all;
    if (!a->prot[s]) a->prot[s] = a->green[s];
    a->min_s[s] = min;
    for (uint32_t g = 0; g < a->ng; g++) {
      double gm = m->groups[g].min_green_s;
      if ((a->green[s] >> g & 1) && isfinite(gm) && gm > a->min_s[s]) a->min_s[s] = gm;
    }
  }
  for (uint32_t s = 0; s < a->n; s++) {
    a->lost_s[s] = a->n == 1 ? 0
                   : lost >= 0 ? lost
                               : intergreen(m, a->green[s], a->green[(s + 1) % a->n], a->ng);
    a->lost_total_s += a->lost_s[s];
  }
  for (uint32_t g = 0; g < a->ng; g++)
    a->sat_vps[g] = sat / 3600.0 * (m->groups[g].nin > 0 ? m->groups[g].nin : 1);
  a->alpha = alpha;
  a->ds = ds;
  a->cmin_s = cmin;
  a->cmax_s = cmax;
  a->step_s = step;
  a->gap_s = gap;
  a->offset_s = offset;
  a->coord = coord >= 0.5;
  double floor_s = a->lost_total_s + sum_min(a);
  if (a->coord && cycle < floor_s) {
    rc = gw__error(err, GW_EINVAL, "controller adaptive: cycle=%g is shorter than the lost "
                   "time and minimum greens of signal '%s' (%g s)", cycle,
                   m->id ? m->id : "?", floor_s);
    gw__free(a);
    return rc;
  }
  if (!a->coord) cycle = cycle < cmin ? cmin : cycle > cmax ? cmax : cycle;
  a->cycle_s = cycle > floor_s ? cycle : floor_s;
  double w[GW_MAX_STAGES];
  for (uint32_t s = 0; s < a->n; s++)
    w[s] = m->stages[s].green_s > 0 && isfinite(m->stages[s].green_s) ? m->stages[s].green_s : 0;
  share(a, w, a->cycle_s - a->lost_total_s);
  *state = a;
  return GW_OK;
}

/* Planned end of stage k's green in the running cycle. */
static double plan_end(const adaptive *a, uint32_t k) {
  double t = a->cycle_start_t;
  for (uint32_t j = 0; j < k; j++) t += a->green_s[j] + a->lost_s[j];
  return t + a->green_s[k];
}

static void measure(adaptive *a, const gw_ctl_view *v) {
  for (uint32_t g = 0; g < a->ng; g++) {
    double c = val(v->count, g);
    if (detected(v, g)) {
      double x = val(v->arrivals, g);
      if (x > 0) a->acc[g] += x;
    } else if (a->have_prev && c > a->prev_count[g]) {
      a->acc[g] += c - a->prev_count[g];
    }
    a->prev_count[g] = c;
  }
  a->have_prev = 1;
}

static void start(adaptive *a, const gw_ctl_view *v) {
  double pos = fmod(v->t - a->offset_s, a->cycle_s);
  if (!isfinite(pos)) pos = 0;
  if (pos < 0) pos += a->cycle_s;
  a->cycle_start_t = v->t - pos;
  a->k = 0;
  double acc = a->green_s[0] + a->lost_s[0];
  while (a->k + 1 < a->n && pos >= acc) {
    a->k++;
    acc += a->green_s[a->k] + a->lost_s[a->k];
  }
  a->meas_start_t = v->t;
  a->started = 1;
  log_plan(a, v, 1);
}

/* The last stage has ended at time t: close the measurement, place the next
** cycle and plan it. */
static void end_cycle(adaptive *a, const gw_ctl_view *v) {
  double dur = v->t - a->meas_start_t;
  if (dur > EPS_S) {
    for (uint32_t g = 0; g < a->ng; g++) {
      double q = a->acc[g] / dur;
      a->flow_vps[g] = a->have_flow ? a->alpha * q + (1 - a->alpha) * a->flow_vps[g] : q;
      a->acc[g] = 0;
    }
    a->have_flow = 1;
    a->meas_start_t = v->t;
  }
  if (a->coord) {
    a->cycle_start_t += a->cycle_s;
    double late = v->t - a->cycle_start_t;
    if (late >= a->cycle_s) a->cycle_start_t += a->cycle_s * floor(late / a->cycle_s);
  } else {
    a->cycle_start_t = v->t + a->lost_s[a->n - 1];
  }
  if (a->have_flow) replan(a);
  log_plan(a, v, 0);
}

/* May stage k end before its planned end? */
static int may_gap_out(const adaptive *a, uint32_t k) {
  return !a->coord || (k != 0 && k + 1 != a->n);
}

static int idle(const adaptive *a, const gw_ctl_view *v, uint32_t k) {
  for (uint32_t g = 0; g < a->ng; g++) {
    if (!(a->prot[k] >> g & 1)) continue;
    if (detected(v, g) ? gap_of(v, g) < a->gap_s : val(v->queue, g) > 0) return 0;
  }
  return 1;
}

static void finish_green(adaptive *a, const gw_ctl_view *v, int code) {
  uint32_t next = (a->k + 1) % a->n;
  uint64_t ending = a->prot[a->k] & ~a->green[next];
  for (uint32_t g = 0; g < a->ng; g++)
    if (ending >> g & 1) gw__ctl_emit(v, code, (int)g + 1);
  if (a->k + 1 == a->n) end_cycle(a, v);
  a->k = next;
}

static int ad_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  adaptive *a = state;
  const gw_monitor_status *st = v->status;
  *stage = a->started ? a->k : 0;
  if (!st) return GW_EINVAL;
  if (a->n == 1) return GW_OK;
  measure(a, v);
  if (!a->started) start(a, v);
  *stage = a->k;
  if (st->in_transition || st->stage != a->k) return GW_OK;
  double since = st->stage_since_t, green_t = v->t - since;
  double end = plan_end(a, a->k);
  if (end < since + a->min_s[a->k]) end = since + a->min_s[a->k];
  if (v->t >= end - EPS_S)
    finish_green(a, v, a->coord ? GW_EV_FORCE_OFF : GW_EV_MAX_OUT);
  else if (green_t >= a->min_s[a->k] - EPS_S && may_gap_out(a, a->k) && idle(a, v, a->k))
    finish_green(a, v, GW_EV_GAP_OUT);
  *stage = a->k;
  return GW_OK;
}

static void ad_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_adaptive = {
    "adaptive", "adaptive: Webster cycle and splits from measured flows, degree of saturation",
    ad_init, ad_step, ad_fini};

/*
** adaptive.c -- a SCATS-like adaptive controller: every cycle it measures
** the flows, recomputes the cycle by Webster and the splits so that the
** stages' degrees of saturation are equal, and within the cycle it ends a
** green early when its traffic has gone.
**
** Measurement.  Over each cycle the controller counts, per group, the
** vehicles crossing its detectors (view->arrivals); the flow q (veh/s) is
** that count over the cycle's measured duration.  A group without detectors
** has only the vehicles on its approach (view->count): while its lamp is
** not green nothing leaves, so every rise of the count is an arrival, and q
** is the rises during the red over the time spent in red (arrivals during
** the green hide behind departures and are not counted; unlike a count of
** departures this still sees demand beyond capacity).  A group's
** saturation flow s is `sat` (veh/h per lane, 1800) times its approach
** lanes (at least one), and its flow ratio is y = q / s.
**
** Counts at the stop line cannot exceed what the green let through, so in
** saturation they understate demand and Webster would shorten the cycle of
** a congested junction.  Hence SCATS's measure as well: the green a group's
** detectors used, its green time less the gaps between vehicles beyond a
** standard `headway` (a step's unused share is min(dt, gap_s - headway)).
** A vehicle standing on a detector (exit blocked, a left turn held) keeps
** gap_s at zero but uses nothing: green counts as used only while vehicles
** cross, one within the last 2 x headway seconds (view->arrivals), or a
** blocked movement would claim ever more of the cycle.  The start of the
** green counts as a crossing, so that a queue starting up uses its green.
** Used green over the cycle is the flow ratio the group showed, at
** saturation whatever the true s: a green used to the end gives g / C, so a
** saturated junction's Y approaches (C - L) / C and its cycle grows.  A
** group's y is the larger of the two measures.  The degree of saturation
** of a group, X = used green / green, is this same measure per unit green.
** y is smoothed over cycles with weight `alpha` (the first cycle is taken
** as it is; a first window shorter than half a cycle, the partial cycle at
** start, is carried into the next one).  The view's counts are of the step
** just ended, so a window closed at the step at time t covers (start, t].
** The flow ratio of a stage is the largest y of its protected ('G') groups
** (the critical group); Y is their sum.
**
** Cycle.  L is the lost time per cycle: the sum over the stage changes of
** the intergreen the monitor will run (the longest yellow + all-red from an
** ending group to one that starts or goes from 'g' to 'G'), or nstages x
** `lost` when that parameter is given.  The target cycle is Webster's
** C0 = (1.5 L + 5) / (1 - Y), lengthened where needed to the shortest
** cycle in which every stage can get g_i = max(min_i, y_i C / ds), that is
** keep its degree of saturation X_i = y_i C / g_i at or below the target
** `ds` beside the other stages' minimum greens: C = (L + the minimums held)
** / (1 - the other stages' y_i / ds), the stages held at their minimum
** found by iteration (without minimum greens this is L / (1 - Y / ds)).
** Where no cycle can (those y add up to ds or more) the target is cmax.
** Minimum greens matter: at a main road crossing three quiet stages held at
** their minimum, Webster alone keeps a short cycle with the main road
** saturated (arterial10: 1,015 s mean travel time against 276 s).  The
** target is clamped to [cmin, cmax], and the running cycle moves towards
** it by at most `step` seconds per cycle.  It never drops below L plus the
** stages' minimum greens.
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
** Reading.  Lane counts (count, queue) are read only for groups without a
** working detector and for the groups of turn stages (ignores_lanes = 3):
** any other group with loops is measured, gapped out and called by its
** loops alone.
**
** Failed detectors.  A group that has had a working detector and has none
** now (the control loop leaves out detectors marked failed) falls back to
** the program: its flow ratio is the program's green share of its stage
** (green / program cycle), its stages never gap out and are never skipped,
** so they run about their program split.  A detector that comes back is
** measured again from the next cycle.
**
** In free mode, a stage none of whose protected groups has a queue or a
** vehicle at its detectors is skipped when the green before it ends; its
** planned time goes to the next stage.  A turn stage, one whose protected
** groups all run permissive ('g') in another stage (a protected left turn
** beside the through stage's permissive one), is served only for a queue
** worth its change interval: at least `turnq` vehicles halting on one of
** its groups' approaches (default: the intergreen into the stage over
** `headway`, what one lane would discharge in it; about 2), counted on its
** approach lanes (the control loop reads lanes for these groups:
** ignores_lanes = 3).  Fewer turners leave during the permissive green or
** the yellow after it, and the turn stage's intergreen and minimum green
** go to the other stages (grid4x4_heavy: mean time loss 94.9 s -> 85.2 s;
** grid10x10: 124.7 s -> 115.2 s).  Loops alone cannot tell one waiting
** turner from several (the second stops short of a stop-line loop), and an
** estimate from how long a loop has been occupied served the turn stage
** too often (96.5 s).  A turn group that has had a queue for `turnwait`
** seconds without its stage gets it at the stage's next turn, whatever the
** queue (a lone turner waits at most about that plus a cycle); without
** lane counts in the view (queue NULL) a turn stage is called like any
** other.
**
** Coordination (coord=1).  The cycle stays `cycle` (default: the program's)
** and only the splits adapt; the stage that carries the green wave,
** `cstage` (default 0), starts at offset + k x cycle (internally the cycle
** is counted from it, so "stage 0" below means that stage).  To hold that, stage 0 and the last
*stage never gap
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
** sat=1800 (veh/h/lane), headway=2 (s), lost= (s per change; default: the
** model's intergreens), min=5 (s), gap=2 (s), turnq= (vehicles; default:
** the intergreen into the turn stage / headway), turnwait=120 (s), coord=0,
** cstage=0, cycle= (the program's, else 90 s), offset= (the program's).
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
  const gw_signal_model *m; /* borrowed; lives as long as the controller */
  uint32_t n, ng;
  uint64_t green[GW_MAX_STAGES];
  uint64_t major[GW_MAX_STAGES]; /* groups shown 'G' */
  uint64_t prot[GW_MAX_STAGES];  /* critical-group candidates: major, or all */
  double min_s[GW_MAX_STAGES];   /* shortest green of each stage */
  double lost_s[GW_MAX_STAGES];  /* change interval after each stage */
  double lost_total_s;           /* L */
  double sat_vps[GW_MAX_GROUPS]; /* saturation flow of each group, veh/s */
  double alpha, ds, cmin_s, cmax_s, step_s, gap_s, headway_s, offset_s;
  uint64_t turn;                      /* bit s: stage s is a turn stage */
  double turn_q[GW_MAX_STAGES];       /* queue a turn stage is served for, vehicles */
  double turn_wait_s;                 /* longest a turn stage's demand waits for it */
  uint64_t turn_groups;               /* the protected groups of the turn stages */
  double wait_since_t[GW_MAX_GROUPS]; /* turn group g has had a queue since; < 0: none */
  int coord;
  uint32_t rot; /* internal stage k is the model's stage (k + rot) % n */
  /* The plan in force. */
  double cycle_s, green_s[GW_MAX_STAGES];
  long logged_cycle, logged_split[GW_MAX_STAGES];
  /* Where the running cycle is. */
  int started;
  double cycle_start_t; /* when stage 0's green starts (planned) */
  uint32_t k;           /* the stage being served or moved to */
  /* Measurement of the running cycle. */
  int have_prev;
  double prev_count[GW_MAX_GROUPS];
  double acc[GW_MAX_GROUPS];         /* vehicles its detectors counted so far */
  double rise[GW_MAX_GROUPS];        /* arrivals on its approach seen in red */
  double red_s[GW_MAX_GROUPS];       /* time its lamp was not green */
  double used_s[GW_MAX_GROUPS];      /* green its detectors used */
  double last_pass_t[GW_MAX_GROUPS]; /* last vehicle over its detectors */
  double meas_start_t;
  int have_flow;
  double ratio[GW_MAX_GROUPS];  /* smoothed flow ratios y */
  uint64_t had_det;             /* bit g: group g has shown a working detector */
  double prog_y[GW_MAX_GROUPS]; /* the program's green share of g's longest stage */
} adaptive;

/* A group that had detectors and has none now lost them all (the control
** loop leaves failed ones out). */
static int lost_detectors(const adaptive *a, const gw_ctl_view *v, uint32_t g) {
  return (a->had_det >> g & 1) && !gw__ctl_detected(v, g);
}

/* Internally the cycle starts with the coordinated stage `cstage`: stage k
** of these arrays is the model's stage (k + rot) mod n. */
static uint32_t real(const struct adaptive *a, uint32_t k);
static uint32_t virt(const struct adaptive *a, uint32_t s);

/* The intergreen the monitor runs from stage a to stage b: every ending
** group's yellow, then the all-red towards every group that starts or goes
** from permissive to protected. */
static double intergreen(const gw_signal_model *m, const gw_stage *a, const gw_stage *b,
                         uint32_t ng) {
  uint64_t ending = a->green & ~b->green;
  uint64_t starting = (b->green & ~a->green) | (b->green & ~b->minor & a->minor);
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

/* The shortest cycle in which every stage gets max(min_i, y_i C / ds);
** cmax when there is none.  C = L + sum of max(min_i, y_i C / ds) grows
** with C more slowly than C itself while the y add up to less than ds, so
** starting with every stage at its minimum and releasing the stages whose
** y_i C / ds outgrow it (C only grows, so none comes back) reaches the least
** solution in at most nstages rounds. */
static double cycle_for_ds(const adaptive *a, const double *y) {
  uint8_t freed[GW_MAX_STAGES] = {0};
  double c = a->cmax_s;
  for (uint32_t round = 0; round <= a->n; round++) {
    double num = a->lost_total_s, den = 1;
    for (uint32_t s = 0; s < a->n; s++) {
      if (freed[s])
        den -= y[s] / a->ds;
      else
        num += a->min_s[s];
    }
    if (den <= EPS_S) return a->cmax_s;
    c = num / den;
    int changed = 0;
    for (uint32_t s = 0; s < a->n; s++) {
      if (!freed[s] && y[s] * c / a->ds > a->min_s[s] + EPS_S) {
        freed[s] = 1;
        changed = 1;
      }
    }
    if (!changed) break;
  }
  return c;
}

/* The new cycle and splits from the smoothed flows. */
static void replan(adaptive *a) {
  double y[GW_MAX_STAGES], Y = 0, L = a->lost_total_s;
  for (uint32_t s = 0; s < a->n; s++) {
    y[s] = 0;
    for (uint32_t g = 0; g < a->ng; g++)
      if ((a->prot[s] >> g & 1) && a->ratio[g] > y[s]) y[s] = a->ratio[g];
    Y += y[s];
  }
  if (!a->coord) {
    double target = a->cmax_s;
    if (Y < a->ds) {
      double webster = (1.5 * L + 5) / (1 - Y), for_ds = cycle_for_ds(a, y);
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
  double alpha, ds, cmin, cmax, step, sat, headway, lost, min, gap, coord, cycle, offset, cstage;
  double turnq, turnwait;
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
      (rc = gw__ctl_param_double(p, me, "headway", 2, 0.1, 10, &headway, err)) ||
      (rc = gw__ctl_param_double(p, me, "lost", -1, 0, 60, &lost, err)) ||
      (rc = gw__ctl_param_double(p, me, "min", 5, 1, 300, &min, err)) ||
      (rc = gw__ctl_param_double(p, me, "gap", 2, 0.1, 60, &gap, err)) ||
      (rc = gw__ctl_param_double(p, me, "coord", 0, 0, 1, &coord, err)) ||
      (rc = gw__ctl_param_double(p, me, "cycle", prog_cycle, 10, 600, &cycle, err)) ||
      (rc = gw__ctl_param_double(p, me, "offset", prog_offset, -1e6, 1e6, &offset, err)) ||
      (rc = gw__ctl_param_double(p, me, "cstage", 0, 0, GW_MAX_STAGES - 1, &cstage, err)) ||
      (rc = gw__ctl_param_double(p, me, "turnq", -1, 0, 1000, &turnq, err)) ||
      (rc = gw__ctl_param_double(p, me, "turnwait", 120, 0, 3600, &turnwait, err)))
    return rc;
  if ((uint32_t)cstage >= m->nstages)
    return gw__error(err, GW_EINVAL,
                     "controller adaptive: cstage=%g but signal '%s' has %u "
                     "stages",
                     cstage, m->id ? m->id : "?", m->nstages);
  if (cmin > cmax)
    return gw__error(err, GW_EINVAL, "controller adaptive: cmin=%g is above cmax=%g", cmin, cmax);
  adaptive *a = gw__calloc(1, sizeof *a);
  if (!a) return gw__error(err, GW_ENOMEM, "out of memory");
  a->m = m;
  a->n = m->nstages;
  a->rot = (uint32_t)cstage;
  a->ng = m->ngroups < GW_MAX_GROUPS ? m->ngroups : GW_MAX_GROUPS;
  uint64_t all = a->ng == 64 ? ~0ull : (1ull << a->ng) - 1;
  for (uint32_t s = 0; s < a->n; s++) {
    const gw_stage *ms = &m->stages[real(a, s)];
    a->green[s] = ms->green & all;
    a->major[s] = ms->green & ~ms->minor & all;
    a->prot[s] = a->major[s] ? a->major[s] : a->green[s];
    a->min_s[s] = min;
    for (uint32_t g = 0; g < a->ng; g++) {
      double gm = m->groups[g].min_green_s;
      if ((a->green[s] >> g & 1) && isfinite(gm) && gm > a->min_s[s]) a->min_s[s] = gm;
    }
  }
  for (uint32_t s = 0; s < a->n; s++) {
    a->lost_s[s] = a->n == 1 ? 0
                   : lost >= 0
                       ? lost
                       : intergreen(m, &m->stages[real(a, s)], &m->stages[real(a, s + 1)], a->ng);
    a->lost_total_s += a->lost_s[s];
  }
  /* Turn stages: every protected group shown permissive in some stage. */
  uint64_t minor_any = 0;
  for (uint32_t s = 0; s < a->n; s++) minor_any |= a->green[s] & ~a->major[s];
  for (uint32_t s = 0; a->n > 2 && s < a->n; s++) {
    if (!a->major[s] || (a->major[s] & ~minor_any)) continue;
    a->turn |= 1ull << s;
    a->turn_groups |= a->major[s];
    a->turn_q[s] = turnq >= 0 ? turnq : a->lost_s[(s + a->n - 1) % a->n] / headway;
  }
  for (uint32_t g = 0; g < a->ng; g++)
    a->sat_vps[g] = sat / 3600.0 * (m->groups[g].nin > 0 ? m->groups[g].nin : 1);
  a->alpha = alpha;
  a->ds = ds;
  a->cmin_s = cmin;
  a->cmax_s = cmax;
  a->step_s = step;
  a->gap_s = gap;
  a->headway_s = headway;
  for (uint32_t g = 0; g < GW_MAX_GROUPS; g++) {
    a->last_pass_t[g] = -1e300;
    a->wait_since_t[g] = -1;
  }
  a->offset_s = offset;
  a->turn_wait_s = turnwait;
  a->coord = coord >= 0.5;
  double floor_s = a->lost_total_s + sum_min(a);
  if (a->coord && cycle < floor_s) {
    rc = gw__error(err, GW_EINVAL,
                   "controller adaptive: cycle=%g is shorter than the lost "
                   "time and minimum greens of signal '%s' (%g s)",
                   cycle, m->id ? m->id : "?", floor_s);
    gw__free(a);
    return rc;
  }
  if (!a->coord) cycle = cycle < cmin ? cmin : cycle > cmax ? cmax : cycle;
  a->cycle_s = cycle > floor_s ? cycle : floor_s;
  double w[GW_MAX_STAGES];
  for (uint32_t s = 0; s < a->n; s++)
    w[s] = m->stages[real(a, s)].green_s > 0 && isfinite(m->stages[real(a, s)].green_s)
               ? m->stages[real(a, s)].green_s
               : 0;
  share(a, w, a->cycle_s - a->lost_total_s);
  for (uint32_t s = 0; s < a->n; s++)
    for (uint32_t g = 0; g < a->ng; g++)
      if ((a->prot[s] >> g & 1) && w[s] / prog_cycle > a->prog_y[g])
        a->prog_y[g] = w[s] / prog_cycle;
  *state = a;
  return GW_OK;
}

/* Planned end of stage k's green in the running cycle. */
static double plan_end(const adaptive *a, uint32_t k) {
  double t = a->cycle_start_t;
  for (uint32_t j = 0; j < k; j++) t += a->green_s[j] + a->lost_s[j];
  return t + a->green_s[k];
}

/* k, s < n and rot < n: one subtraction instead of a division (per step). */
static uint32_t real(const adaptive *a, uint32_t k) {
  uint32_t s = k + a->rot;
  return s < a->n ? s : s - a->n;
}
static uint32_t virt(const adaptive *a, uint32_t s) {
  return s >= a->rot ? s - a->rot : s + a->n - a->rot;
}

/* Both measures are kept for every group, so that a detector that fails or
** comes back mid-cycle leaves a usable count. */
static void measure(adaptive *a, const gw_ctl_view *v) {
  const gw_monitor_status *st = v->status;
  double dt = v->dt > 0 && isfinite(v->dt) ? v->dt : 0;
  uint64_t serving = !st->in_transition && st->stage < a->n ? a->major[virt(a, st->stage)] : 0;
  for (uint32_t g = 0; g < a->ng; g++) {
    if (gw__ctl_detected(v, g)) a->had_det |= 1ull << g;
    double x = gw__ctl_val(v->arrivals, g), c = gw__ctl_val(v->count, g);
    if (x > 0) {
      a->acc[g] += x;
      a->last_pass_t[g] = v->t;
    }
    double since =
        a->last_pass_t[g] > st->lamp_since_t[g] ? a->last_pass_t[g] : st->lamp_since_t[g];
    int moving = v->t - since <= 2 * a->headway_s;
    if ((serving >> g & 1) && gw__ctl_detected(v, g) && moving) {
      double unused = gw__ctl_gap(v, g) - a->headway_s;
      a->used_s[g] += dt - (unused < 0 ? 0 : unused > dt ? dt : unused);
    }
    if (a->have_prev && st->lamp[g] != GW_LAMP_GREEN) {
      a->red_s[g] += dt;
      if (c > a->prev_count[g]) a->rise[g] += c - a->prev_count[g];
    }
    a->prev_count[g] = c;
    /* Since when a turn group has had a queue, unless its turn stage is
    ** being served. */
    if (a->turn_groups >> g & 1) {
      if (!(gw__ctl_val(v->queue, g) > 0) || (serving >> g & 1))
        a->wait_since_t[g] = -1;
      else if (a->wait_since_t[g] < 0)
        a->wait_since_t[g] = v->t;
    }
  }
  a->have_prev = 1;
}

/* The flow ratio group g showed over a window of dur seconds. */
static double window_ratio(const adaptive *a, const gw_ctl_view *v, uint32_t g, double dur) {
  if (lost_detectors(a, v, g)) return a->prog_y[g];
  if (!gw__ctl_detected(v, g))
    return a->rise[g] / (a->red_s[g] > EPS_S ? a->red_s[g] : dur) / a->sat_vps[g];
  double by_count = a->acc[g] / dur / a->sat_vps[g], by_time = a->used_s[g] / dur;
  return by_count > by_time ? by_count : by_time;
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
  a->meas_start_t = v->t - (v->dt > 0 && isfinite(v->dt) ? v->dt : 0);
  a->started = 1;
  log_plan(a, v, 1);
}

/* The last stage has ended at time t: close the measurement, place the next
** cycle and plan it. */
static void end_cycle(adaptive *a, const gw_ctl_view *v) {
  double dur = v->t - a->meas_start_t;
  int partial = !a->have_flow && dur < 0.5 * a->cycle_s;
  if (dur > EPS_S && !partial) {
    for (uint32_t g = 0; g < a->ng; g++) {
      double y = window_ratio(a, v, g, dur);
      a->ratio[g] = a->have_flow ? a->alpha * y + (1 - a->alpha) * a->ratio[g] : y;
      a->acc[g] = a->rise[g] = a->red_s[g] = a->used_s[g] = 0;
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
    if (lost_detectors(a, v, g)) return 0;
    if (gw__ctl_detected(v, g) ? gw__ctl_gap(v, g) < a->gap_s : gw__ctl_val(v->queue, g) > 0)
      return 0;
  }
  return 1;
}

/* Does a protected group of stage s have vehicles waiting or arriving?  A
** turn stage needs a queue worth its change, unless one of its groups has
** waited `turnwait` seconds. */
static int demand(const adaptive *a, const gw_ctl_view *v, uint32_t s) {
  int turn = (a->turn >> s & 1) && v->queue;
  for (uint32_t g = 0; g < a->ng; g++) {
    if (!(a->prot[s] >> g & 1)) continue;
    if (turn && a->wait_since_t[g] >= 0 && v->t - a->wait_since_t[g] >= a->turn_wait_s - EPS_S)
      return 1; /* waited long enough */
    if (turn) {
      if (lost_detectors(a, v, g) || gw__ctl_val(v->queue, g) >= a->turn_q[s] - EPS_S) return 1;
      continue;
    }
    if (lost_detectors(a, v, g) || gw__ctl_val(v->queue, g) > 0) return 1;
    if (gw__ctl_detected(v, g) &&
        (gw__ctl_val(v->occupancy, g) > 0 || gw__ctl_gap(v, g) < a->gap_s))
      return 1;
  }
  return 0;
}

static void finish_green(adaptive *a, const gw_ctl_view *v, int code) {
  uint32_t next = (a->k + 1) % a->n;
  /* In free mode a stage nobody waits for is skipped, as SCATS does; its
  ** planned time goes to the stage after it. */
  for (uint32_t j = 1; !a->coord && j < a->n; j++) {
    uint32_t s = (a->k + j) % a->n;
    if (demand(a, v, s)) {
      next = s;
      break;
    }
  }
  uint64_t ending = a->prot[a->k] & ~a->green[next];
  for (uint32_t g = 0; g < a->ng; g++)
    if (ending >> g & 1) gw__ctl_emit(v, code, (int)g + 1);
  if (next <= a->k) end_cycle(a, v); /* wrapped round: a new cycle */
  a->k = next;
}

static int ad_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  adaptive *a = state;
  const gw_monitor_status *st = v->status;
  *stage = a->started ? real(a, a->k) : real(a, 0);
  if (!st) return GW_EINVAL;
  if (a->n == 1) return GW_OK;
  measure(a, v);
  if (!a->started) start(a, v);
  *stage = real(a, a->k);
  if (st->in_transition || st->stage != real(a, a->k)) return GW_OK;
  double since = st->stage_since_t, green_t = v->t - since;
  double end = plan_end(a, a->k);
  if (end < since + a->min_s[a->k]) end = since + a->min_s[a->k];
  if (v->t >= end - EPS_S)
    finish_green(a, v, a->coord ? GW_EV_FORCE_OFF : GW_EV_MAX_OUT);
  else if (green_t >= a->min_s[a->k] - EPS_S && may_gap_out(a, a->k) && idle(a, v, a->k))
    finish_green(a, v, GW_EV_GAP_OUT);
  *stage = real(a, a->k);
  return GW_OK;
}

static void ad_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_adaptive = {
    "adaptive", "adaptive: Webster cycle and splits from measured flows, degree of saturation",
    ad_init,    ad_step,
    ad_fini,    3, /* lanes for groups without a working detector, and turn groups */
    1};

/*
** actuated.c -- fully actuated control: minimum and maximum greens, passage
** (gap) time, gap-out and max-out, phase skipping and rest in green.
**
** The controller times the green of the stage the monitor shows.  Before
** the stage's minimum green it keeps it.  After the minimum it keeps it while
** a vehicle keeps arriving on one of the stage's protected ('G') groups,
** that is while the time since that group's detectors were last occupied is
** below the passage time `gap` (SUMO's max-gap), and while the green is
** shorter than the stage's maximum.  When no protected group extends any
** more the green gaps out; when one still extends at the maximum it maxes
** out.  Either way the controller then asks for the next stage in cyclic
** order that has demand, skipping the stages without any; when no other
** stage has demand it rests in the current one, however long, and leaves as
** soon as a call arrives (events are logged only when the green really
** ends, with the terminating groups' numbers).  The maximum is counted from
** the start of green, not from the first conflicting call.
**
** Demand.  A group with detectors calls when they are occupied; a group
** without detectors calls when its approach holds vehicles (queue or
** count), or always with recall=1.  The control loop reads lane counts only
** for groups without a working detector (ignores_lanes = 2), so a fully
** detected junction costs its loops alone, as a cabinet would.  Calls
** are latched as in real cabinets: a vehicle that crossed an advance
** detector during the red keeps its call until the group shows a protected
** green, even if no detector sees it any more.  A stage has demand when one
** of its groups (permissive ones included) calls and is not shown 'G' now: a
** left turn running permissive beside the through movement still calls its
** protected stage, since its drivers may find no gap (skipping that stage
** whenever the permissive green is on would leave them blocking the lane).
** Extension: a protected group with detectors extends while gap_s < gap; one
** without detectors extends while its queue is not empty.
**
** Failed detectors.  A group that has had a working detector and has none
** now (the control loop leaves out detectors marked failed, see
** gw_control_detector_set_failed) runs on maximum recall, as a cabinet does
** on a detector fault: it always calls and always extends, so its stages
** run to their maximum green whenever another stage calls.  When a detector
** comes back the group is actuated again at once.
**
** Parameters (defaults): min= and max= (s, the same for every stage; by
** default each stage's min_s and max_s from the signal model, which are the
** program's minDur and maxDur for an actuated program and 5 s and
** 2 x duration + 10 s for a static one; 5 s and 50 s where the model leaves
** them zero), gap=2 (s: the passage time for loops 5 m before the stop
** line, where Greenwave places them), recall=0.
**
** Invariants.  The requested stage is always < nstages.  Once the green in
** progress is ended the decision is kept (and its event logged once) until
** the monitor shows another green, whatever the order in which the runner
** steps the monitor and the controller.  Input values that are not finite
** count as zero (a gap that is not finite counts as a long gap), so a broken
** detector cannot hold a green beyond its maximum.  Tuned for per-step cost
** O(groups + stages) with no allocation after init.
*/
#include <math.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define EPS_S 1e-9

typedef struct actuated {
  const gw_signal_model *m;      /* borrowed; lives as long as the controller */
  uint32_t n;                    /* stages */
  uint32_t ng;                   /* groups, at most GW_MAX_GROUPS */
  uint64_t green[GW_MAX_STAGES]; /* groups green in each stage */
  uint64_t major[GW_MAX_STAGES]; /* groups shown 'G' in each stage */
  uint64_t prot[GW_MAX_STAGES];  /* groups deciding extension: the 'G' ones, or
                                    all when a stage has none */
  double min_s[GW_MAX_STAGES], max_s[GW_MAX_STAGES];
  double gap_s;     /* passage time, s */
  int recall;       /* 1: groups without detectors always call */
  uint64_t call;    /* bit g: latched call of group g */
  uint64_t had_det; /* bit g: group g has shown a working detector */
  /* The green being timed, and what was decided for it. */
  int have_green;
  uint32_t green_stage;
  double green_since_t;
  int decided;
  uint32_t request;
} actuated;

/* A group that had detectors and has none now lost them all (the control
** loop excludes failed ones): it runs on maximum recall. */
static int lost_detectors(const actuated *a, const gw_ctl_view *v, uint32_t g) {
  return (a->had_det >> g & 1) && !gw__ctl_detected(v, g);
}

/* Does group g call right now? */
static int calls_now(const actuated *a, const gw_ctl_view *v, uint32_t g) {
  if (lost_detectors(a, v, g)) return 1;
  if (gw__ctl_detected(v, g))
    return gw__ctl_val(v->occupancy, g) > 0 || gw__ctl_val(v->queue, g) > 0;
  return a->recall || gw__ctl_val(v->queue, g) > 0 || gw__ctl_val(v->count, g) > 0;
}

/* Does protected group g still extend the green? */
static int extends(const actuated *a, const gw_ctl_view *v, uint32_t g) {
  if (lost_detectors(a, v, g)) return 1;
  if (gw__ctl_detected(v, g)) return gw__ctl_gap(v, g) < a->gap_s;
  return gw__ctl_val(v->queue, g) > 0;
}

static int act_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
                    gw_error *err) {
  (void)net;
  if (m->nstages == 0 || m->nstages > GW_MAX_STAGES)
    return gw__error(err, GW_EINVAL, "controller actuated: signal '%s' has %u stages",
                     m->id ? m->id : "?", m->nstages);
  double min, max, gap, recall;
  int rc;
  if ((rc = gw__ctl_param_double(p, "actuated", "min", -1, 0, 600, &min, err)) ||
      (rc = gw__ctl_param_double(p, "actuated", "max", -1, 1, 3600, &max, err)) ||
      (rc = gw__ctl_param_double(p, "actuated", "gap", 2.0, 0.1, 60, &gap, err)) ||
      (rc = gw__ctl_param_double(p, "actuated", "recall", 0, 0, 1, &recall, err)))
    return rc;
  actuated *a = gw__calloc(1, sizeof *a);
  if (!a) return gw__error(err, GW_ENOMEM, "out of memory");
  a->m = m;
  a->n = m->nstages;
  a->ng = m->ngroups < GW_MAX_GROUPS ? m->ngroups : GW_MAX_GROUPS;
  uint64_t all = a->ng == 64 ? ~0ull : (1ull << a->ng) - 1;
  for (uint32_t s = 0; s < a->n; s++) {
    const gw_stage *st = &m->stages[s];
    a->green[s] = st->green & all;
    a->major[s] = st->green & ~st->minor & all;
    a->prot[s] = a->major[s] ? a->major[s] : a->green[s];
    a->min_s[s] = min >= 0 ? min : st->min_s > 0 && isfinite(st->min_s) ? st->min_s : 5;
    a->max_s[s] = max >= 0 ? max : st->max_s > 0 && isfinite(st->max_s) ? st->max_s : 50;
    if (a->max_s[s] < a->min_s[s]) a->max_s[s] = a->min_s[s];
  }
  a->gap_s = gap;
  a->recall = recall >= 0.5;
  *state = a;
  return GW_OK;
}

/* The next stage after cur in cyclic order with a call on a group that is
** not shown 'G' now; returns 0 when there is none. */
static int next_with_demand(const actuated *a, uint32_t cur, uint32_t *out) {
  uint64_t waiting = a->call & ~a->major[cur];
  for (uint32_t j = 1; j < a->n; j++) {
    uint32_t s = (cur + j) % a->n;
    if (a->green[s] & waiting) {
      *out = s;
      return 1;
    }
  }
  return 0;
}

/* Logs the end of a green for each protected group that goes to yellow. */
static void emit_end(const actuated *a, const gw_ctl_view *v, uint32_t cur, uint32_t next,
                     int code) {
  uint64_t ending = a->prot[cur] & ~a->green[next];
  for (uint32_t g = 0; g < a->ng; g++)
    if (ending >> g & 1) gw__ctl_emit(v, code, (int)g + 1);
}

static int act_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  actuated *a = state;
  const gw_monitor_status *st = v->status;
  *stage = a->decided ? a->request : 0;
  if (!st) return GW_EINVAL;
  uint32_t cur = st->stage < a->n ? st->stage : 0;

  /* Calls: latched until the group shows a protected green. */
  for (uint32_t g = 0; g < a->ng; g++) {
    uint64_t bit = 1ull << g;
    if (gw__ctl_detected(v, g)) a->had_det |= bit;
    /* A protected green serves the call; so does a permissive one once the
    ** group's lane is empty (no queue, no vehicle within the passage time). */
    int served =
        st->lamp[g] == GW_LAMP_GREEN &&
        ((a->major[cur] & bit) || (gw__ctl_detected(v, g) && gw__ctl_gap(v, g) >= a->gap_s &&
                                   gw__ctl_val(v->queue, g) <= 0));
    if (served)
      a->call &= ~bit;
    else if (calls_now(a, v, g))
      a->call |= bit;
  }

  if (st->in_transition) {
    *stage = a->decided ? a->request : st->target < a->n ? st->target : cur;
    return GW_OK;
  }
  if (!a->have_green || a->green_stage != cur || a->green_since_t != st->stage_since_t) {
    a->have_green = 1;
    a->green_stage = cur;
    a->green_since_t = st->stage_since_t;
    a->decided = 0;
  }
  *stage = cur;
  if (a->decided) {
    *stage = a->request;
    return GW_OK;
  }
  double green_t = v->t - a->green_since_t;
  if (green_t < a->min_s[cur] - EPS_S) return GW_OK;
  int extend = 0;
  for (uint32_t g = 0; g < a->ng && !extend; g++)
    if (a->prot[cur] >> g & 1) extend = extends(a, v, g);
  int maxed = green_t >= a->max_s[cur] - EPS_S;
  if (extend && !maxed) return GW_OK;
  uint32_t next;
  if (!next_with_demand(a, cur, &next)) return GW_OK; /* rest in green */
  emit_end(a, v, cur, next, extend ? GW_EV_MAX_OUT : GW_EV_GAP_OUT);
  a->decided = 1;
  a->request = next;
  *stage = next;
  return GW_OK;
}

static void act_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_actuated = {
    "actuated", "actuated: min/max green, passage time, gap-out/max-out, phase skipping",
    act_init,   act_step,
    act_fini,   2, /* lanes only for groups without a working detector */
    1};

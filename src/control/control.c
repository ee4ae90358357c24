/*
** control.c -- the control loop: one controller per signal, each behind its
** safety monitor, against one field.
**
** Each step, for every signal: read the field (queues and counts on the
** groups' approach and exit lanes, the groups' detectors), let the
** controller name a stage, hand the request to the monitor, advance the
** monitor and send its lamps to the field.  Before that, what the field
** shows is compared with what the monitor sent last; a difference sends the
** intersection to fail-safe, after which it runs the fixed plan.  A
** controller that fails (returns an error) also falls back to the fixed plan,
** with an alarm event.
**
** Reading: detectors first, then lane counts on the groups' approach and
** exit lanes for controllers that read them (an approach that is a short
** turn bay also counts the lanes feeding it: up_lanes); one that reads
** lanes only where loops are missing (ignores_lanes == 2) gets them only
** for groups without a working detector, which keeps SUMO's per-object
** TraCI cost to the loops on a fully detected junction; ignores_lanes == 3
** (adaptive) adds the queue on the turn groups' own lanes (groups shown
** permissive, 'g', in some stage, whose protected stage is served only for
** a queue).  A controller that reads queues but never vehicle counts
** (gw__controller_needs_counts 0: maxpressure on queues, mp-waiting) has
** count and out_count left at zero, and the field is asked for the halted
** count alone; so are the turn lanes above.  A lane read halted-only by one
** signal and in full by another in the same step is read again in full.
**
** Detectors: the field's loops on a group's approach lanes belong to the
** group; a group with none gets a loop 5 m before the stop line of each
** approach lane when the field can add loops.  A detector marked failed
** (gw_control_detector_set_failed: stuck on, silent or chattering, as the
** live health checks find) is left out of the reading: it gives no
** arrivals, occupancy or gap and logs no events, and a group whose
** detectors have all failed reads as one without detectors, so that its
** controller falls back for that group (docs/control.md).
*/
#include <string.h>
#include <time.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/control.h"
#include "greenwave/field.h"
#include "net/net_int.h"

#define MAX_DET_PER_GROUP 16

typedef struct node {
  gw_signal_model model;
  gw_monitor *mon;
  gw_controller *ctl;
  int on_fixed; /* fell back to the fixed plan */
  int hold;     /* operator's manual hold: the stage held, or -1 */
  int flash;    /* operator's flash mode */
  uint32_t ndet[GW_MAX_GROUPS];
  uint32_t det[GW_MAX_GROUPS][MAX_DET_PER_GROUP];
  uint8_t det_on[GW_MAX_GROUPS][MAX_DET_PER_GROUP];
  uint8_t det_log[GW_MAX_GROUPS][MAX_DET_PER_GROUP];    /* logs the loop's events: its first
                                                        ** group (a loop may serve several) */
  uint8_t det_failed[GW_MAX_GROUPS][MAX_DET_PER_GROUP]; /* excluded from the reading */
  char sent[257];
  double queue[GW_MAX_GROUPS], count[GW_MAX_GROUPS];
  double out_queue[GW_MAX_GROUPS], out_count[GW_MAX_GROUPS];
  double arrivals[GW_MAX_GROUPS], occupancy[GW_MAX_GROUPS], gap[GW_MAX_GROUPS];
  uint8_t has_det[GW_MAX_GROUPS];
  /* The turn groups, shown permissive ('g') in some stage, and their
  ** approach lanes in one compact list, for ignores_lanes == 3. */
  uint64_t turn_groups;
  uint64_t turn_queued; /* turn groups that had a queue at the last reading */
  uint32_t nturn_lanes;
  uint32_t turn_lane[GW_MAX_GROUPS * 8];
  uint8_t turn_lane_group[GW_MAX_GROUPS * 8];
} node;

struct gw_control {
  const gw_net *net;
  gw_field *field;
  node *nodes;
  uint32_t n;
  gw_event_fn fn;
  void *ud;
  double last_t;
  /* Lane counts read once per step, however many groups share a lane:
  ** lane_stamp is the step (steps + 1) of the last read, lane_vstamp that
  ** of the last read that included the vehicle count. */
  double *lane_veh, *lane_halt;
  uint64_t *lane_stamp, *lane_vstamp;
  /* Bulk arrays of the field for the current step, when it offers them. */
  const uint32_t *lane_n, *lane_h;
  const gw_detector_reading *det_read;
  gw_control_stats stats;
  double budget_s; /* longest a controller's step may take; 0: no limit */
  /* A signal's loop events of one step, put in time order before they are
  ** logged (log_loop spreads each loop's vehicles over the step). */
  gw_event pend[512];
  uint32_t npend;
};

/* A lane's halted count, and its vehicle count unless v is NULL. */
static inline void lane_counts(gw_control *c, uint32_t lane, double *v, double *h) {
  if (c->lane_n) { /* the field's arrays, fetched once for this step */
    if (v) *v = c->lane_n[lane];
    *h = c->lane_h[lane];
    return;
  }
  uint64_t stamp = c->stats.steps + 1;
  if (c->lane_stamp[lane] != stamp || (v && c->lane_vstamp[lane] != stamp)) {
    c->lane_stamp[lane] = stamp;
    if (v) c->lane_vstamp[lane] = stamp;
    if (c->field->ops->lane_counts(c->field->impl, lane, v ? &c->lane_veh[lane] : NULL,
                                   &c->lane_halt[lane]))
      c->lane_veh[lane] = c->lane_halt[lane] = 0;
  }
  if (v) *v = c->lane_veh[lane];
  *h = c->lane_halt[lane];
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(gw_control *c, uint32_t tls, double t, int code, int param) {
  if (!c->fn) return;
  gw_event e = {tls, t, code, param};
  c->fn(c->ud, &e);
}

static int attach_detectors(gw_control *c, node *nd, gw_error *err) {
  const gw_field_ops *ops = c->field->ops;
  uint32_t nd_count = ops->detector_count(c->field->impl);
  for (uint32_t g = 0; g < nd->model.ngroups; g++) {
    const gw_signal_group *sg = &nd->model.groups[g];
    for (uint32_t d = 0; d < nd_count; d++) {
      uint32_t lane = ops->detector_lane(c->field->impl, d);
      for (uint32_t i = 0; i < sg->nin; i++)
        if (sg->in_lanes[i] == lane && nd->ndet[g] < MAX_DET_PER_GROUP)
          nd->det[g][nd->ndet[g]++] = d;
    }
    if (nd->ndet[g] == 0 && ops->add_detector) {
      for (uint32_t i = 0; i < sg->nin && nd->ndet[g] < MAX_DET_PER_GROUP; i++) {
        uint32_t d;
        double len = c->net->lanes.a[sg->in_lanes[i]].length_m;
        int rc =
            ops->add_detector(c->field->impl, sg->in_lanes[i], len > 5 ? len - 5 : len / 2, &d);
        if (rc)
          return gw__error(err, rc, "cannot place a detector on lane '%s'",
                           c->net->lanes.a[sg->in_lanes[i]].id);
        nd->det[g][nd->ndet[g]++] = d;
      }
    }
    nd->has_det[g] = nd->ndet[g] > 0;
    for (uint32_t k = 0; k < nd->ndet[g]; k++) {
      int first = 1;
      for (uint32_t h = 0; h < g && first; h++)
        for (uint32_t j = 0; j < nd->ndet[h]; j++) first &= nd->det[h][j] != nd->det[g][k];
      nd->det_log[g][k] = (uint8_t)first;
    }
  }
  return GW_OK;
}

/* A loop's on/off events for one step, one pair per vehicle as a loop
** with a fine clock sees them: the step's `count` vehicles arrive spread
** over the step (the event log keeps 0.1 s), each after an off if the loop
** was on, and the loop is off at the end of the step unless a vehicle
** stands on it.  One event stream per loop, whatever the groups it serves. */
static void flush_pending(gw_control *c);

static void pend(gw_control *c, uint32_t tls, double t, int code, int param) {
  if (c->npend == sizeof c->pend / sizeof c->pend[0]) flush_pending(c);
  gw_event e = {tls, t, code, param};
  c->pend[c->npend++] = e;
}

static void log_loop(gw_control *c, uint32_t tls, double t, double dt, uint8_t *on,
                     const gw_detector_reading *r, int channel) {
  uint32_t n = r->count;
  if (n > 8) n = 8; /* more in one step cannot be told apart */
  for (uint32_t j = 0; j < n; j++) {
    double tj = t - dt + dt * (j + 1) / (n + 1);
    if (*on) pend(c, tls, tj, GW_EV_DETECTOR_OFF, channel);
    pend(c, tls, tj, GW_EV_DETECTOR_ON, channel);
    *on = 1;
  }
  uint8_t end = n ? (uint8_t)(r->occupied != 0) : (uint8_t)(r->occupancy > 0 || r->occupied);
  if (end != *on) {
    pend(c, tls, t, end ? GW_EV_DETECTOR_ON : GW_EV_DETECTOR_OFF, channel);
    *on = end;
  }
}

/* Logs the pending loop events in time order (stable: a loop's off stays
** before its on at the same instant). */
static void flush_pending(gw_control *c) {
  for (uint32_t a = 1; a < c->npend; a++) {
    gw_event e = c->pend[a];
    uint32_t b = a;
    for (; b > 0 && c->pend[b - 1].t > e.t; b--) c->pend[b] = c->pend[b - 1];
    c->pend[b] = e;
  }
  for (uint32_t a = 0; a < c->npend; a++)
    if (c->fn) c->fn(c->ud, &c->pend[a]);
  c->npend = 0;
}

static int create(const gw_net *net, gw_field *field, const char *const *specs, int each,
                  gw_event_fn fn, void *ud, gw_control **out, gw_error *err);

int gw_control_create(const gw_net *net, gw_field *field, const char *spec, gw_event_fn fn,
                      void *ud, gw_control **out, gw_error *err) {
  return create(net, field, &spec, 0, fn, ud, out, err);
}

int gw_control_create_each(const gw_net *net, gw_field *field, const char *const *specs,
                           gw_event_fn fn, void *ud, gw_control **out, gw_error *err) {
  return create(net, field, specs, 1, fn, ud, out, err);
}

static int create(const gw_net *net, gw_field *field, const char *const *specs, int each,
                  gw_event_fn fn, void *ud, gw_control **out, gw_error *err) {
  gw_control *c = gw__calloc(1, sizeof *c);
  if (!c) return gw__error(err, GW_ENOMEM, "out of memory");
  c->net = net;
  c->field = field;
  c->fn = fn;
  c->ud = ud;
  c->n = (uint32_t)net->tls.n;
  c->nodes = gw__calloc(c->n + 1, sizeof *c->nodes);
  c->lane_veh = gw__calloc(net->lanes.n + 1, sizeof *c->lane_veh);
  c->lane_halt = gw__calloc(net->lanes.n + 1, sizeof *c->lane_halt);
  c->lane_stamp = gw__calloc(net->lanes.n + 1, sizeof *c->lane_stamp);
  c->lane_vstamp = gw__calloc(net->lanes.n + 1, sizeof *c->lane_vstamp);
  int rc = c->nodes && c->lane_veh && c->lane_halt && c->lane_stamp && c->lane_vstamp
               ? GW_OK
               : gw__error(err, GW_ENOMEM, "out of memory");
  double t = field->ops->time(field->impl);
  for (uint32_t i = 0; !rc && i < c->n; i++) {
    node *nd = &c->nodes[i];
    nd->hold = -1;
    if ((rc = gw_signal_model_init(&nd->model, net, i, err))) break;
    if ((rc = gw__ctl_model_overrides(specs[each ? i : 0], &nd->model, net, err))) break;
    for (uint32_t s = 0; s < nd->model.nstages; s++)
      nd->turn_groups |= nd->model.stages[s].green & nd->model.stages[s].minor;
    for (uint32_t g = 0; g < nd->model.ngroups; g++)
      for (uint32_t k = 0; (nd->turn_groups >> g & 1) && k < nd->model.groups[g].nin; k++) {
        nd->turn_lane[nd->nturn_lanes] = nd->model.groups[g].in_lanes[k];
        nd->turn_lane_group[nd->nturn_lanes++] = (uint8_t)g;
      }
    if ((rc = gw_controller_create(specs[each ? i : 0], &nd->model, net, &nd->ctl, err))) break;
    if ((rc = attach_detectors(c, nd, err))) break;
    if ((rc = gw_monitor_create(&nd->model, 0, t, fn, ud, &nd->mon))) {
      gw__error(err, rc, "signal '%s': cannot create its monitor", nd->model.id);
      break;
    }
    if ((rc = field->ops->take_control(field->impl, i))) {
      gw__error(err, rc, "the field refuses control of signal '%s'", nd->model.id);
      break;
    }
    const char *st = gw_monitor_step(nd->mon, t);
    memcpy(nd->sent, st, nd->model.nlinks + 1);
    if ((rc = field->ops->set_state(field->impl, i, st))) {
      gw__error(err, rc, "signal '%s': the field refuses its state", nd->model.id);
      break;
    }
  }
  if (rc) {
    gw_control_destroy(c);
    return rc;
  }
  *out = c;
  return GW_OK;
}

void gw_control_destroy(gw_control *c) {
  if (!c) return;
  for (uint32_t i = 0; c->nodes && i < c->n; i++) {
    gw_monitor_destroy(c->nodes[i].mon);
    gw_controller_destroy(c->nodes[i].ctl);
  }
  gw__free(c->nodes);
  gw__free(c->lane_veh);
  gw__free(c->lane_halt);
  gw__free(c->lane_stamp);
  gw__free(c->lane_vstamp);
  gw__free(c);
}

/* What the loop reads for a signal.  Detectors first: a controller that
** reads lanes only where detectors are missing (ignores_lanes == 2, see
** controller_int.h; 3: also for the turn groups) then gets lane counts only
** for the groups without a working detector (and those), so that in a field
** where every object read costs (SUMO over TraCI) a fully detected junction
** costs its loops alone (and its turn lanes).  A controller that needs no
** vehicle counts gets the queues alone (count, out_count stay zero); one
** that reads no detector (fixed, fixedtime, mp-waiting) gets no loop read,
** unless an event log is written (arrivals, occupancy stay zero, gap long). */
static void read_field(gw_control *c, uint32_t i, double t) {
  node *nd = &c->nodes[i];
  int mode = gw__controller_ignores_lanes(nd->ctl);
  int exits = mode == 0 && !gw__controller_ignores_exits(nd->ctl);
  int counts = gw__controller_needs_counts(nd->ctl);
  int loops = c->fn || gw__controller_reads_detectors(nd->ctl);
  const gw_field_ops *ops = c->field->ops;
  void *impl = c->field->impl;
  for (uint32_t g = 0; g < nd->model.ngroups; g++) {
    const gw_signal_group *sg = &nd->model.groups[g];
    nd->arrivals[g] = nd->occupancy[g] = 0;
    nd->gap[g] = 1e9;
    nd->has_det[g] = 0;
    for (uint32_t k = 0; k < nd->ndet[g]; k++) {
      if (nd->det_failed[g][k]) continue;
      nd->has_det[g] = 1;
      if (!loops) continue; /* nobody reads them: in SUMO each costs a variable */
      gw_detector_reading tmp;
      const gw_detector_reading *r = &tmp;
      if (c->det_read)
        r = &c->det_read[nd->det[g][k]];
      else if (ops->detector(impl, nd->det[g][k], &tmp))
        continue;
      nd->arrivals[g] += r->count;
      if (r->occupancy > nd->occupancy[g]) nd->occupancy[g] = r->occupancy;
      double gap = r->last_occupied_t < 0 ? 1e9 : t - r->last_occupied_t;
      if (gap < 0) gap = 0;
      if (gap < nd->gap[g]) nd->gap[g] = gap;
      /* Most loops, most steps: no vehicle, no change. */
      if (c->fn && nd->det_log[g][k] &&
          (r->count || (uint8_t)(r->occupancy > 0 || r->occupied) != nd->det_on[g][k]))
        log_loop(c, i, t, c->stats.steps ? t - c->last_t : 1, &nd->det_on[g][k], r,
                 (int)nd->det[g][k] + 1);
    }
    int lanes = mode == 0 || (mode >= 2 && !nd->has_det[g]);
    double v = 0, h, *vp = counts ? &v : NULL;
    nd->queue[g] = nd->count[g] = 0;
    if (exits) nd->out_queue[g] = nd->out_count[g] = 0; /* else not filled */
    for (uint32_t k = 0; lanes && k < sg->nin; k++) {
      lane_counts(c, sg->in_lanes[k], vp, &h);
      nd->count[g] += v;
      nd->queue[g] += h;
    }
    for (uint32_t k = 0; lanes && k < sg->nup; k++) {
      lane_counts(c, sg->up_lanes[k], vp, &h);
      nd->count[g] += v;
      nd->queue[g] += h;
    }
    for (uint32_t k = 0; exits && k < sg->nout; k++) {
      lane_counts(c, sg->out_lanes[k], vp, &h);
      nd->out_count[g] += v;
      nd->out_queue[g] += h;
    }
  }
  /* The turn groups that have loops (ignores_lanes == 3): the queue on
  ** their own lanes only, from the compact list (count is left at 0).  All
  ** that is asked of them is whether a couple of vehicles wait, and every
  ** lane read costs (a TraCI variable in SUMO, a cache miss here), so a
  ** lane is read only while its group's loops are occupied or it had a
  ** queue at the last reading: a queue at the stop line starts on the
  ** stop-line loop. */
  uint64_t queued = 0;
  for (uint32_t k = 0; mode == 3 && k < nd->nturn_lanes; k++) {
    uint32_t g = nd->turn_lane_group[k];
    if (!nd->has_det[g]) continue; /* read above, with its feeders */
    if (nd->occupancy[g] <= 0 && nd->gap[g] > 0 && !(nd->turn_queued >> g & 1)) continue;
    double h;
    lane_counts(c, nd->turn_lane[k], NULL, &h);
    nd->queue[g] += h;
    if (h > 0) queued |= 1ull << g;
  }
  nd->turn_queued = queued;
}

static int fall_back(gw_control *c, node *nd, double t, int why) {
  gw_error err;
  gw_controller *f;
  if (nd->on_fixed) return GW_OK;
  if (gw_controller_create("fixed", &nd->model, c->net, &f, &err)) return GW_EINVAL;
  gw_controller_destroy(nd->ctl);
  nd->ctl = f;
  nd->on_fixed = 1;
  emit(c, nd->model.tls, t, GW_EV_FAILSAFE, why);
  return GW_OK;
}

int gw_control_step(gw_control *c) {
  double w0 = now_s();
  double t = c->field->ops->time(c->field->impl);
  const gw_field_ops *ops = c->field->ops;
  c->lane_n = c->lane_h = NULL;
  c->det_read = NULL;
  if (ops->lane_arrays && ops->lane_arrays(c->field->impl, &c->lane_n, &c->lane_h))
    c->lane_n = c->lane_h = NULL;
  if (ops->detector_array && ops->detector_array(c->field->impl, &c->det_read)) c->det_read = NULL;
  for (uint32_t i = 0; i < c->n; i++) {
    node *nd = &c->nodes[i];
    /* The field must show what was sent. */
    if (gw_monitor_check_field(nd->mon, ops->get_state(c->field->impl, i), t)) {
      if (!nd->on_fixed) c->stats.failsafes++;
      fall_back(c, nd, t, 1);
    }
    read_field(c, i, t);
    flush_pending(c);
    gw_monitor_status st;
    gw_monitor_status_get(nd->mon, &st);
    gw_ctl_view v = {t,
                     c->stats.steps ? t - c->last_t : 0,
                     &nd->model,
                     &st,
                     nd->queue,
                     nd->count,
                     nd->out_queue,
                     nd->out_count,
                     nd->arrivals,
                     nd->occupancy,
                     nd->gap,
                     nd->has_det,
                     c->fn,
                     c->ud};
    uint32_t stage = st.target;
    if (nd->hold >= 0) {
      stage = (uint32_t)nd->hold; /* the operator's hold; the controller rests */
    } else {
      double c0 = c->budget_s > 0 ? now_s() : 0;
      if (gw_controller_step(nd->ctl, &v, &stage)) {
        c->stats.failsafes++;
        fall_back(c, nd, t, 2);
        stage = st.target;
      } else if (c->budget_s > 0 && now_s() - c0 > c->budget_s && !nd->on_fixed) {
        /* Too slow to trust with the next step: this intersection runs
        ** its fixed plan from now on. */
        c->stats.failsafes++;
        c->stats.overruns++;
        fall_back(c, nd, t, 3);
        stage = st.target;
      }
    }
    if (stage != st.target && gw_monitor_request(nd->mon, stage, t) == GW_ERANGE)
      c->stats.refused++;
    const char *s = gw_monitor_step(nd->mon, t);
    /* The field keeps a state until told otherwise: send changes only. */
    if (memcmp(nd->sent, s, nd->model.nlinks) != 0) {
      memcpy(nd->sent, s, nd->model.nlinks + 1);
      ops->set_state(c->field->impl, i, s);
    }
  }
  c->stats.steps++;
  c->last_t = t;
  c->stats.wall_s += now_s() - w0;
  return GW_OK;
}

void gw_control_stats_get(const gw_control *c, gw_control_stats *out) { *out = c->stats; }

void gw_control_set_budget(gw_control *c, double budget_s) {
  c->budget_s = budget_s > 0 ? budget_s : 0;
}

int gw_control_set_controller(gw_control *c, uint32_t tls, const char *spec, gw_error *err) {
  if (tls >= c->n) return gw__error(err, GW_ERANGE, "no signal %u", tls);
  node *nd = &c->nodes[tls];
  gw_controller *ctl;
  const char *sp = spec && *spec ? spec : "fixed";
  int rc = gw_controller_check_runtime(sp, err);
  if (!rc) rc = gw_controller_create(sp, &nd->model, c->net, &ctl, err);
  if (rc) return rc;
  gw_controller_destroy(nd->ctl);
  nd->ctl = ctl;
  nd->on_fixed = 0; /* the operator's choice; a new failure falls back again */
  return GW_OK;
}

int gw_control_hold(gw_control *c, uint32_t tls, int stage) {
  if (tls >= c->n) return GW_ERANGE;
  node *nd = &c->nodes[tls];
  if (stage >= (int)nd->model.nstages) return GW_ERANGE;
  nd->hold = stage < 0 ? -1 : stage;
  return GW_OK;
}

int gw_control_flash(gw_control *c, uint32_t tls, int on) {
  if (tls >= c->n) return GW_ERANGE;
  node *nd = &c->nodes[tls];
  nd->flash = on != 0;
  return gw_monitor_flash(nd->mon, nd->flash, c->field->ops->time(c->field->impl));
}

int gw_control_node_get(const gw_control *c, uint32_t tls, gw_control_node *out) {
  if (tls >= c->n) return GW_ERANGE;
  const node *nd = &c->nodes[tls];
  out->model = &nd->model;
  out->controller = gw_controller_name(nd->ctl);
  out->hold = nd->hold;
  out->flash = nd->flash;
  out->on_fixed = nd->on_fixed;
  gw_monitor_status_get(nd->mon, &out->status);
  out->state = nd->sent;
  for (uint32_t g = 0; g < nd->model.ngroups; g++) {
    out->occupancy[g] = nd->occupancy[g];
    out->arrivals[g] = nd->arrivals[g];
  }
  return GW_OK;
}

int gw_control_detector_set_failed(gw_control *c, uint32_t det, int failed) {
  int found = 0;
  for (uint32_t i = 0; i < c->n; i++) {
    node *nd = &c->nodes[i];
    for (uint32_t g = 0; g < nd->model.ngroups; g++)
      for (uint32_t k = 0; k < nd->ndet[g]; k++) {
        if (nd->det[g][k] != det) continue;
        found = 1;
        nd->det_failed[g][k] = failed != 0;
        /* Back in service: its next reading is compared with "off", so a
        ** detector that comes back occupied logs a fresh detector-on. */
        if (!failed) nd->det_on[g][k] = 0;
      }
  }
  return found ? GW_OK : GW_ENOTFOUND;
}

int gw_control_detector_failed(const gw_control *c, uint32_t det) {
  for (uint32_t i = 0; i < c->n; i++) {
    const node *nd = &c->nodes[i];
    for (uint32_t g = 0; g < nd->model.ngroups; g++)
      for (uint32_t k = 0; k < nd->ndet[g]; k++)
        if (nd->det[g][k] == det) return nd->det_failed[g][k];
  }
  return 0;
}

int gw_control_detectors(const gw_control *c, uint32_t tls, uint32_t max, uint32_t *det,
                         uint32_t *group, uint32_t *n) {
  *n = 0;
  if (tls >= c->n) return GW_ERANGE;
  const node *nd = &c->nodes[tls];
  for (uint32_t g = 0; g < nd->model.ngroups; g++)
    for (uint32_t k = 0; k < nd->ndet[g]; k++) {
      if (*n == max) return GW_ERANGE;
      det[*n] = nd->det[g][k];
      group[*n] = g;
      (*n)++;
    }
  return GW_OK;
}

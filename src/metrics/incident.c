/*
** incident.c -- incident detection on lanes from loop occupancy and counts
** (include/greenwave/incident.h), and its evaluation on simulated
** incidents.
**
** The detector keeps a fixed record per lane and nothing per interval
** beyond the last three downstream occupancies (DOCCTD looks two intervals
** back), so it runs for any length of time in the same memory.  Per
** interval and lane it evaluates the occupancy test and the count-deficit
** test, opens an incident when either fires and closes it once the lane
** counts normally again.  The learnt share of a lane (its downstream count
** over its reference flow) is a pair of moving averages updated only in
** intervals that look normal, so an incident does not teach the detector
** that silence is usual.
**
** The evaluation drives the simulator: it places the stations, blocks a
** lane, folds each step's loop readings into intervals, feeds the detector
** and matches its alarms against the block.  Tuned for scenarios of a few
** hundred lanes and runs of an hour: a run costs one simulation.
*/
#include "greenwave/incident.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "greenwave/sim.h"

typedef struct ilane {
  uint32_t approach;
  int has_up, has_down;
  double occ_down[3];       /* this interval, one and two before; negative: unknown */
  uint32_t occ_run;         /* consecutive intervals the occupancy test held */
  int onset_ok;             /* DOCCTD held when the current run began */
  double lambda;            /* expected count missed in the current silent run */
  double lam_u, lam_n;      /* the same from each reference */
  double own, ref_u, ref_n; /* moving averages of D's count and the references */
  uint32_t learnt;          /* intervals learnt */
  int active;
  int test;
  double start_t, value;
  uint32_t ok_run; /* consecutive normal intervals while active */
} ilane;

struct gw_incident {
  gw_incident_config cfg;
  gw_incident_fn fn;
  void *ud;
  ilane *lanes;
  uint32_t n, cap;
  double *ref_u, *ref_n; /* per lane, scratch for one feed: U's count, the
                         ** neighbours' D counts; negative when absent */
  int fed;
};

const char *gw_incident_test_name(int test) {
  return test == GW_INCIDENT_OCCUPANCY ? "occupancy"
         : test == GW_INCIDENT_DEFICIT ? "deficit"
                                       : "?";
}

int gw_incident_create(const gw_incident_config *cfg, gw_incident_fn fn, void *ud,
                       gw_incident **out) {
  *out = NULL;
  gw_incident_config c = {0};
  if (cfg) c = *cfg;
  if (c.interval_s < 0 || c.occdf < 0 || c.occrdf < 0 || c.occrdf > 1 || c.docctd < 0 ||
      c.deficit < 0 || c.alpha < 0 || c.alpha > 1 || !isfinite(c.interval_s) ||
      !isfinite(c.deficit))
    return GW_EINVAL;
  if (c.interval_s == 0) c.interval_s = 60;
  if (c.occdf == 0) c.occdf = 0.3;
  if (c.occrdf == 0) c.occrdf = 0.7;
  if (c.docctd == 0) c.docctd = 0.3;
  if (c.persist == 0) c.persist = 2;
  if (c.deficit == 0) c.deficit = 10;
  if (c.clear == 0) c.clear = 2;
  if (c.alpha == 0) c.alpha = 0.05;
  if (c.warmup == 0) c.warmup = 10;
  gw_incident *d = gw__calloc(1, sizeof *d);
  if (!d) return GW_ENOMEM;
  d->cfg = c;
  d->fn = fn;
  d->ud = ud;
  *out = d;
  return GW_OK;
}

void gw_incident_destroy(gw_incident *d) {
  if (!d) return;
  gw__free(d->lanes);
  gw__free(d->ref_u);
  gw__free(d->ref_n);
  gw__free(d);
}

int gw_incident_add_lane(gw_incident *d, uint32_t approach, int has_up, int has_down,
                         uint32_t *lane) {
  if (d->fed) return GW_ESTATE;
  if (d->n == d->cap) {
    uint32_t cap = d->cap ? 2 * d->cap : 16;
    ilane *l = gw__realloc(d->lanes, cap * sizeof *l);
    if (!l) return GW_ENOMEM;
    d->lanes = l;
    double *r = gw__realloc(d->ref_u, cap * sizeof *r);
    if (!r) return GW_ENOMEM;
    d->ref_u = r;
    r = gw__realloc(d->ref_n, cap * sizeof *r);
    if (!r) return GW_ENOMEM;
    d->ref_n = r;
    d->cap = cap;
  }
  ilane *l = &d->lanes[d->n];
  memset(l, 0, sizeof *l);
  l->approach = approach;
  l->has_up = has_up != 0;
  l->has_down = has_down != 0;
  l->occ_down[0] = l->occ_down[1] = l->occ_down[2] = -1;
  if (lane) *lane = d->n;
  d->n++;
  return GW_OK;
}

uint32_t gw_incident_lane_count(const gw_incident *d) { return d->n; }

int gw_incident_active(const gw_incident *d, uint32_t lane) {
  return lane < d->n && d->lanes[lane].active;
}

static void report(gw_incident *d, uint32_t i, int what, double t) {
  ilane *l = &d->lanes[i];
  gw_incident_alarm a = {i, l->approach, what, l->test, l->start_t, t, l->value};
  if (d->fn) d->fn(d->ud, &a);
}

/* The two reference flows of each lane: its own U count, and its
** neighbours' D counts (negative when the lane has no U, or no neighbour
** with a D).  Lanes of an approach need not be adjacent in the table, so
** this is a pass over all pairs; approaches have a handful of lanes and
** feeds come once a minute. */
static void reference(gw_incident *d, const gw_incident_obs *obs) {
  for (uint32_t i = 0; i < d->n; i++) {
    d->ref_u[i] = d->lanes[i].has_up && obs[i].count_up >= 0 ? obs[i].count_up : -1;
    double r = -1;
    for (uint32_t j = 0; j < d->n; j++)
      if (j != i && d->lanes[j].approach == d->lanes[i].approach && d->lanes[j].has_down &&
          obs[j].count_down >= 0)
        r = (r < 0 ? 0 : r) + obs[j].count_down;
    d->ref_n[i] = r;
  }
}

/* The occupancy (California) test on one lane for this interval; returns 1
** when it has held long enough to raise an alarm. */
static int occupancy_test(gw_incident *d, ilane *l, const gw_incident_obs *o) {
  const gw_incident_config *c = &d->cfg;
  if (!l->has_up || !l->has_down || o->occ_up < 0 || o->occ_down < 0) {
    l->occ_run = 0;
    return 0;
  }
  double occdf = o->occ_up - o->occ_down;
  double occrdf = o->occ_up > 0 ? occdf / o->occ_up : 0;
  if (occdf < c->occdf || occrdf < c->occrdf) {
    l->occ_run = 0;
    return 0;
  }
  if (l->occ_run == 0) {
    /* The onset: downstream occupancy fell over the last two intervals, or
    ** was already near zero (nothing passes to fall from). */
    double before = l->occ_down[2];
    l->onset_ok = before < 0.02 || (before - o->occ_down) / before >= c->docctd;
  }
  l->occ_run++;
  l->value = occrdf;
  return l->onset_ok && l->occ_run >= c->persist;
}

/* The count-deficit test; returns 1 when the missed count passes the
** threshold.  With both references the smaller of the two missed counts
** decides: a lane whose usual share of its neighbours' flow drifts (a
** turning flow that ends) still counts what passed its own U, and a lane
** whose U sees few vehicles still has its neighbours. */
static int deficit_test(gw_incident *d, ilane *l, const gw_incident_obs *o, double ru, double rn) {
  if (!l->has_down || o->count_down < 0 || o->count_down > 0) {
    l->lambda = l->lam_u = l->lam_n = 0;
    return 0;
  }
  if (l->learnt < d->cfg.warmup) return 0;
  /* A share learnt from a reference of less than a vehicle per minute is a
  ** ratio of small numbers and says little; shares are capped at 2 (lane
  ** changes between the stations can make D count more than U). */
  double min_ref = d->cfg.interval_s / 60;
  int hu = ru >= 0 && l->ref_u >= min_ref, hn = rn >= 0 && l->ref_n >= min_ref;
  if (hu) l->lam_u += ru * fmin(l->own / l->ref_u, 2);
  if (hn) l->lam_n += rn * fmin(l->own / l->ref_n, 2);
  /* A lane whose U sees almost nothing fills by lane changes past U, and
  ** its share of the neighbours' flow moves with the turning demand: the
  ** neighbours alone must then show twice the evidence. */
  int weak_u = l->has_up && !hu;
  l->lambda = hu && hn ? fmin(l->lam_u, l->lam_n)
              : hu     ? l->lam_u
              : hn     ? (weak_u ? l->lam_n / 2 : l->lam_n)
                       : 0;
  return l->lambda >= d->cfg.deficit;
}

int gw_incident_feed(gw_incident *d, double t, const gw_incident_obs *obs) {
  d->fed = 1;
  reference(d, obs);
  for (uint32_t i = 0; i < d->n; i++) {
    ilane *l = &d->lanes[i];
    const gw_incident_obs *o = &obs[i];
    l->occ_down[2] = l->occ_down[1];
    l->occ_down[1] = l->occ_down[0];
    double lambda_before = l->lambda;
    int occ = occupancy_test(d, l, o);
    int def = deficit_test(d, l, o, d->ref_u[i], d->ref_n[i]);
    l->occ_down[0] = o->occ_down;
    if (!l->active && (occ || def)) {
      l->active = 1;
      l->test = occ ? GW_INCIDENT_OCCUPANCY : GW_INCIDENT_DEFICIT;
      if (!occ) l->value = l->lambda;
      l->start_t = t;
      l->ok_run = 0;
      report(d, i, GW_INCIDENT_START, t);
    } else if (l->active) {
      int normal = l->occ_run == 0 && (!l->has_down || o->count_down > 0);
      l->ok_run = normal ? l->ok_run + 1 : 0;
      if (l->ok_run >= d->cfg.clear) {
        l->active = 0;
        l->lambda = l->lam_u = l->lam_n = 0;
        report(d, i, GW_INCIDENT_CLEAR, t);
      }
    }
    /* Learn the share from intervals that look normal: not in an incident,
    ** no occupancy alarm building, no silent run already open.  The first
    ** silent interval is learnt, which lowers the share a little and makes
    ** the test slower to fire on a lane whose flow really fell. */
    if (!l->active && l->occ_run == 0 && lambda_before == 0 && l->has_down && o->count_down >= 0) {
      double a = l->learnt == 0 ? 1 : d->cfg.alpha;
      l->own = (1 - a) * l->own + a * o->count_down;
      if (d->ref_u[i] >= 0) l->ref_u = (1 - a) * l->ref_u + a * d->ref_u[i];
      if (d->ref_n[i] >= 0) l->ref_n = (1 - a) * l->ref_n + a * d->ref_n[i];
      l->learnt++;
    }
  }
  return GW_OK;
}

/* ---- evaluation ---------------------------------------------------------- */

typedef struct watched {
  uint32_t lane;       /* net lane */
  uint32_t up, down;   /* sim detectors */
  double up_m, down_m; /* their positions */
  double occ_u, cnt_u, occ_d, cnt_d;
  double busy; /* D's count over the incident-free runs */
} watched;

typedef struct eval_state {
  const gw_incident_eval_config *cfg;
  gw_incident_eval_run *run;
  const watched *w;
  uint32_t blocked_approach;
  double interval_s;
  uint32_t alarms; /* starts after warmup (incident-free runs) */
} eval_state;

static void on_alarm(void *ud, const gw_incident_alarm *a) {
  eval_state *s = ud;
  gw_incident_eval_run *r = s->run;
  if (a->what != GW_INCIDENT_START || a->t < s->cfg->warmup_s) return;
  if (r->incident && !r->detected && a->approach == s->blocked_approach && a->t >= r->from_s &&
      a->t <= r->until_s + s->interval_s) {
    r->detected = 1;
    r->detect_s = a->t - r->from_s;
    r->detected_lane = s->w[a->lane].lane == r->lane;
    return;
  }
  /* A later alarm on the incident's approach while it lasts is the same
  ** incident seen on a neighbouring lane. */
  if (r->incident && a->approach == s->blocked_approach && a->t >= r->from_s &&
      a->t <= r->until_s + s->interval_s)
    return;
  r->false_alarms++;
}

/* One simulation: the stations are placed, the block (if any) set, and
** the detector fed interval by interval. */
static int run_once(const gw_scenario *sc, const gw_incident_eval_config *cfg, watched *w,
                    uint32_t nw, gw_incident_eval_run *r, int count_busy, gw_error *err) {
  gw_sim_config sc_cfg;
  gw_sim_config_defaults(&sc_cfg);
  sc_cfg.step_s = sc->step_s > 0 ? sc->step_s : 1;
  sc_cfg.begin_s = 0;
  sc_cfg.end_s = cfg->duration_s;
  sc_cfg.seed = r->seed;
  sc_cfg.time_to_teleport_s = sc->time_to_teleport_s;
  gw_sim *sim = NULL;
  gw_incident *det = NULL;
  gw_incident_obs *obs = NULL;
  int rc = gw_sim_create(sc->net, sc->demand, &sc_cfg, &sim);
  if (rc) return gw__error(err, rc, "cannot start the simulator");
  uint32_t net_dets = gw_sim_detector_count(sim);
  for (uint32_t i = 0; i < nw && !rc; i++) {
    if (w[i].down >= net_dets) rc = gw_sim_detector_add(sim, w[i].lane, w[i].down_m, &w[i].down);
    if (!rc) rc = gw_sim_detector_add(sim, w[i].lane, w[i].up_m, &w[i].up);
  }
  if (rc) {
    gw__error(err, rc, "cannot place the incident detector's loops");
    goto done;
  }
  if (r->incident &&
      (rc = gw_sim_block_lane(sim, r->lane, r->pos_m, r->from_s, r->until_s)) != GW_OK) {
    gw__error(err, rc, "cannot block a lane");
    goto done;
  }
  eval_state st = {cfg, r, w, 0, 0, 0};
  if ((rc = gw_incident_create(&cfg->detector, on_alarm, &st, &det))) {
    gw__error(err, rc, "bad incident detector thresholds");
    goto done;
  }
  st.interval_s = cfg->detector.interval_s > 0 ? cfg->detector.interval_s : 60;
  obs = gw__calloc(nw ? nw : 1, sizeof *obs);
  if (!obs) {
    rc = gw__error(err, GW_ENOMEM, "out of memory");
    goto done;
  }
  gw_lane_info li;
  for (uint32_t i = 0; i < nw; i++) {
    gw_net_lane_info(sc->net, w[i].lane, &li);
    if ((rc = gw_incident_add_lane(det, li.edge, 1, 1, NULL))) goto done;
    if (r->incident && w[i].lane == r->lane) st.blocked_approach = li.edge;
    w[i].occ_u = w[i].cnt_u = w[i].occ_d = w[i].cnt_d = 0;
  }
  double next_t = st.interval_s;
  while (!gw_sim_done(sim)) {
    if ((rc = gw_sim_step(sim))) {
      gw__error(err, rc, "the simulation failed");
      goto done;
    }
    const gw_detector_reading *rd = gw_sim_detector_readings(sim);
    for (uint32_t i = 0; i < nw; i++) {
      w[i].occ_u += rd[w[i].up].occupancy * sc_cfg.step_s;
      w[i].cnt_u += rd[w[i].up].count;
      w[i].occ_d += rd[w[i].down].occupancy * sc_cfg.step_s;
      w[i].cnt_d += rd[w[i].down].count;
      if (count_busy) w[i].busy += rd[w[i].down].count;
    }
    double t = gw_sim_time(sim);
    if (t + 1e-9 >= next_t) {
      for (uint32_t i = 0; i < nw; i++) {
        obs[i].occ_up = w[i].occ_u / st.interval_s;
        obs[i].count_up = w[i].cnt_u;
        obs[i].occ_down = w[i].occ_d / st.interval_s;
        obs[i].count_down = w[i].cnt_d;
        w[i].occ_u = w[i].cnt_u = w[i].occ_d = w[i].cnt_d = 0;
      }
      gw_incident_feed(det, next_t, obs);
      next_t += st.interval_s;
    }
  }
done:
  gw__free(obs);
  gw_incident_destroy(det);
  gw_sim_destroy(sim);
  return rc;
}

int gw_incident_evaluate(const gw_scenario *sc, const gw_incident_eval_config *cfg_in,
                         gw_incident_eval *out, gw_error *err) {
  memset(out, 0, sizeof *out);
  gw_incident_eval_config cfg = *cfg_in;
  if (cfg.runs == 0) cfg.runs = 10;
  if (cfg.free_runs == 0) cfg.free_runs = cfg.runs / 2 > 0 ? cfg.runs / 2 : 1;
  if (cfg.duration_s == 0) cfg.duration_s = 3600;
  if (cfg.block_s == 0) cfg.block_s = 600;
  if (cfg.warmup_s == 0) cfg.warmup_s = 600;
  if (cfg.seed == 0) cfg.seed = 1;
  if (cfg.duration_s < 0 || cfg.block_s < 0 || cfg.warmup_s < 0 ||
      cfg.warmup_s + cfg.block_s >= cfg.duration_s)
    return gw__error(err, GW_EINVAL,
                     "incident evaluation: the run (%g s) must be longer than the warm-up (%g s) "
                     "and the block (%g s)",
                     cfg.duration_s, cfg.warmup_s, cfg.block_s);
  const gw_net *net = sc->net;
  uint32_t nl = gw_net_lane_count(net), ndet = gw_net_detector_count(net);
  watched *w = gw__calloc(nl ? nl : 1, sizeof *w);
  gw_incident_eval_run *runs = gw__calloc(cfg.runs + cfg.free_runs, sizeof *runs);
  if (!w || !runs) {
    gw__free(w);
    gw__free(runs);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  /* The net's own loop on a lane, found through a throw-away simulator. */
  uint32_t *own = gw__calloc(nl ? nl : 1, sizeof *own);
  gw_sim_config probe_cfg;
  gw_sim_config_defaults(&probe_cfg);
  gw_sim *probe = NULL;
  int rc = own ? gw_sim_create(net, sc->demand, &probe_cfg, &probe) : GW_ENOMEM;
  if (rc) {
    gw__free(own);
    gw__free(w);
    gw__free(runs);
    return gw__error(err, rc, "cannot start the simulator");
  }
  for (uint32_t l = 0; l < nl; l++) own[l] = UINT32_MAX;
  for (uint32_t k = 0; k < ndet; k++) {
    uint32_t l = gw_sim_detector_lane(probe, k);
    if (l < nl && own[l] == UINT32_MAX) own[l] = k;
  }
  gw_sim_destroy(probe);
  uint32_t nw = 0;
  gw_lane_info li;
  for (uint32_t l = 0; l < nl; l++) {
    if (gw_net_lane_info(net, l, &li) || li.internal || li.length_m < 20 ||
        !(li.allow & GW_VC_PASSENGER))
      continue;
    watched *x = &w[nw++];
    x->lane = l;
    x->up_m = li.length_m * 0.15 < 20 ? li.length_m * 0.15 : 20;
    x->down = UINT32_MAX;
    x->down_m = li.length_m - 5;
    if (own[l] != UINT32_MAX) {
      /* The stop-line loop's position is not exposed; the net's loops on
      ** signalised approaches stand 5 m before the stop line. */
      x->down = own[l];
    }
  }
  gw__free(own);
  if (nw == 0) {
    gw__free(w);
    gw__free(runs);
    return gw__error(err, GW_EINVAL, "incident evaluation: the net has no lane to watch");
  }
  out->lanes = nw;
  out->stations = 2 * nw;
  out->runs = cfg.runs;
  out->free_runs = cfg.free_runs;
  out->run = runs;
  uint32_t *keep_down = gw__calloc(nw, sizeof *keep_down);
  if (!keep_down) {
    gw__free(w);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  for (uint32_t i = 0; i < nw; i++) keep_down[i] = w[i].down;
  for (uint32_t k = 0; k < cfg.free_runs + cfg.runs && !rc; k++) {
    gw_incident_eval_run *r = &runs[k];
    r->seed = cfg.seed + k;
    if (k >= cfg.free_runs) {
      /* Busy lanes: at least 120 veh/h at D in the incident-free runs. */
      double hours = cfg.free_runs * cfg.duration_s / 3600.0, best = 0;
      uint32_t nbusy = 0;
      for (uint32_t i = 0; i < nw; i++) {
        if (w[i].busy / hours >= 120) nbusy++;
        if (w[i].busy > best) best = w[i].busy;
      }
      double floor_n = nbusy ? 120 * hours : 0.75 * best;
      uint32_t cand = 0;
      for (uint32_t i = 0; i < nw; i++) cand += w[i].busy >= floor_n && w[i].busy > 0;
      if (cand == 0) {
        rc = gw__error(err, GW_EINVAL, "incident evaluation: no vehicle crossed any watched lane");
        break;
      }
      uint64_t pick = gw__rng_u64(cfg.seed, 0x1ac1dULL, k) % cand;
      uint32_t i = 0;
      for (;; i++)
        if (w[i].busy >= floor_n && w[i].busy > 0 && pick-- == 0) break;
      r->incident = 1;
      r->lane = w[i].lane;
      double lo = w[i].up_m + 5, hi = w[i].down_m - 3;
      if (hi < lo) hi = lo = (w[i].up_m + w[i].down_m) / 2;
      r->pos_m = lo + (hi - lo) * gw__rng_uniform(cfg.seed, 0x1ac1dULL + 1, k);
      double span = cfg.duration_s - cfg.block_s - cfg.warmup_s;
      r->from_s = floor(cfg.warmup_s + span * 0.8 * gw__rng_uniform(cfg.seed, 0x1ac1dULL + 2, k));
      r->until_s = r->from_s + cfg.block_s;
    }
    for (uint32_t i = 0; i < nw; i++) w[i].down = keep_down[i];
    rc = run_once(sc, &cfg, w, nw, r, k < cfg.free_runs, err);
  }
  gw__free(keep_down);
  gw__free(w);
  if (rc) {
    gw_incident_eval_free(out);
    return rc;
  }
  double sum = 0;
  for (uint32_t k = 0; k < cfg.free_runs + cfg.runs; k++) {
    const gw_incident_eval_run *r = &runs[k];
    if (!r->incident) {
      out->free_alarms += r->false_alarms;
    } else {
      out->other_alarms += r->false_alarms;
      if (r->detected) {
        out->detected++;
        sum += r->detect_s;
      }
    }
  }
  out->mean_detect_s = out->detected ? sum / out->detected : 0;
  out->station_hours = out->stations * cfg.free_runs * (cfg.duration_s - cfg.warmup_s) / 3600.0;
  out->fa_per_station_hour = out->station_hours > 0 ? out->free_alarms / out->station_hours : 0;
  out->fa_per_run = (double)out->free_alarms / cfg.free_runs;
  return GW_OK;
}

void gw_incident_eval_free(gw_incident_eval *e) {
  if (!e) return;
  gw__free(e->run);
  e->run = NULL;
}

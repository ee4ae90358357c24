/*
** coordination.c -- green waves: a common cycle, Webster splits and offsets
** that maximise progression between adjacent signals.
**
** Flows.  Every trip of the demand is walked along its route; at each
** signal the signal group it uses is counted, and between two consecutive
** signals of its route the pair (leaving group, arriving group) is counted
** with its free-flow travel time.  Flows are counts over the demand's
** departure period.
**
** Splits.  Per signal, Webster: the critical flow ratio y of a stage is the
** largest q / (1800 veh/h x lanes) among its protected groups, the cycle
** C0 = (1.5 L + 5) / (1 - Y) with L the lost time of all stage changes, and
** each stage gets green in proportion to y, at least its minimum.  The
** common cycle is the largest C0 of all signals, clamped to [60, 120] s,
** unless given.
**
** Offsets.  For each counted pair, the platoon that leaves signal i during
** its group's green arrives at j after the travel time; the overlap of that
** shifted window with j's green is what passes without stopping.  The sum of
** overlaps weighted by the pair's vehicles is maximised by coordinate ascent
** over 1 s offset steps (a handful of sweeps over all signals; each sweep
** tries every offset of every signal).  This link-by-link progression is
** the classical offset optimisation of TRANSYT-style tools, made small.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/control.h"
#include "greenwave/demand.h"
#include "net/net_int.h"

#define SAT_FLOW_VPH 1800.0

typedef struct pair {
  uint32_t i, gi, j, gj;
  double w, tt_sum;
} pair;

typedef struct coord {
  const gw_net *net;
  gw_signal_model *m; /* per signal */
  double *flow;       /* [signal * GW_MAX_GROUPS + group], veh/h */
  pair *pairs;
  uint32_t npairs, cap;
  double change_s; /* yellow + all-red, the longest of the net */
} coord;

static int add_pair(coord *c, uint32_t i, uint32_t gi, uint32_t j, uint32_t gj, double tt) {
  for (uint32_t k = 0; k < c->npairs; k++) {
    pair *p = &c->pairs[k];
    if (p->i == i && p->gi == gi && p->j == j && p->gj == gj) {
      p->w += 1;
      p->tt_sum += tt;
      return GW_OK;
    }
  }
  if (c->npairs == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 64;
    pair *np = gw__realloc(c->pairs, cap * sizeof *np);
    if (!np) return GW_ENOMEM;
    c->pairs = np;
    c->cap = cap;
  }
  c->pairs[c->npairs++] = (pair){i, gi, j, gj, 1, tt};
  return GW_OK;
}

/* The group of the first link from edge a into edge b at signal t. */
static uint32_t group_between(const coord *c, uint32_t t, uint32_t a, uint32_t b, double *len) {
  const gw_net *net = c->net;
  const gw_edge *ea = &net->edges.a[a];
  for (uint32_t l = ea->lane0; l < ea->lane0 + ea->nlanes; l++) {
    const gw_lane *ln = &net->lanes.a[l];
    for (uint32_t k = 0; k < ln->out_n; k++) {
      const gw_link *lk = &net->links.a[net->refs.a[ln->out_off + k]];
      if (net->lanes.a[lk->to_lane].edge != b || lk->tls != t) continue;
      *len = lk->length_m;
      return c->m[t].group_of_link[lk->tls_index];
    }
  }
  return GW_NONE;
}

static int count_flows(coord *c, const gw_demand *d) {
  const gw_net *net = c->net;
  uint32_t n = gw_demand_trip_count(d);
  double t0 = 1e18, t1 = -1e18;
  for (uint32_t i = 0; i < n; i++) {
    const gw_trip *tr = gw_demand_trip(d, i);
    if (tr->depart_s < t0) t0 = tr->depart_s;
    if (tr->depart_s > t1) t1 = tr->depart_s;
    uint32_t prev = GW_NONE, prev_g = 0;
    double tt = 0;
    for (uint32_t k = 0; k + 1 < tr->route_n; k++) {
      const gw_edge *e = &net->edges.a[tr->route[k]];
      const gw_lane *l0 = &net->lanes.a[e->lane0];
      tt += l0->length_m / l0->speed_mps;
      uint32_t t = net->junctions.a[e->to].tls;
      if (t == GW_NONE) continue;
      double len = 0;
      uint32_t g = group_between(c, t, tr->route[k], tr->route[k + 1], &len);
      if (g == GW_NONE) continue;
      c->flow[t * GW_MAX_GROUPS + g] += 1;
      if (prev != GW_NONE && add_pair(c, prev, prev_g, t, g, tt)) return GW_ENOMEM;
      prev = t;
      prev_g = g;
      tt = len / (c->m[t].groups[g].speed_mps > 1 ? c->m[t].groups[g].speed_mps : 1);
    }
  }
  double hours = n > 1 && t1 > t0 ? (t1 - t0) / 3600.0 : 1.0;
  for (size_t i = 0; i < net->tls.n * GW_MAX_GROUPS; i++) c->flow[i] /= hours;
  for (uint32_t k = 0; k < c->npairs; k++) c->pairs[k].w /= hours;
  return GW_OK;
}

/* Webster for one signal: writes green times (s) per stage for cycle C;
** returns C0. */
static double webster(const coord *c, uint32_t t, double cycle, double *green, double *xmax) {
  const gw_signal_model *m = &c->m[t];
  double y[GW_MAX_STAGES], Y = 0;
  for (uint32_t s = 0; s < m->nstages; s++) {
    y[s] = 0;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      if (!(m->stages[s].green >> g & 1) || (m->stages[s].minor >> g & 1)) continue;
      double lanes = m->groups[g].nin ? m->groups[g].nin : 1;
      double v = c->flow[t * GW_MAX_GROUPS + g] / (SAT_FLOW_VPH * lanes);
      if (v > y[s]) y[s] = v;
    }
    if (y[s] < 0.01) y[s] = 0.01; /* every stage keeps a little green */
    Y += y[s];
  }
  double L = m->nstages * c->change_s;
  double c0 = (1.5 * L + 5) / (1 - (Y < 0.9 ? Y : 0.9));
  if (green) {
    double avail = cycle - L, used = 0;
    for (uint32_t s = 0; s < m->nstages; s++) {
      green[s] = avail * y[s] / Y;
      if (green[s] < m->groups[0].min_green_s) green[s] = m->groups[0].min_green_s;
      used += green[s];
    }
    for (uint32_t s = 0; s < m->nstages; s++) green[s] *= avail / used;
    /* Degree of saturation of the most loaded stage. */
    *xmax = 0;
    for (uint32_t s = 0; s < m->nstages; s++) {
      double x = y[s] > 0.01 ? y[s] * cycle / green[s] : 0;
      if (x > *xmax) *xmax = x;
    }
  }
  return c0;
}

/* Overlap of [a, a+la) and [b, b+lb) on a circle of length C. */
static double overlap(double a, double la, double b, double lb, double C) {
  a = fmod(a, C);
  if (a < 0) a += C;
  b = fmod(b, C);
  if (b < 0) b += C;
  double sum = 0;
  for (int k = -1; k <= 1; k++) {
    double lo = a > b + k * C ? a : b + k * C;
    double hi = a + la < b + k * C + lb ? a + la : b + k * C + lb;
    if (hi > lo) sum += hi - lo;
  }
  return sum;
}

/* Green window of group g at signal t: the first stage showing it. */
static void window(const gw_coord_plan *p, const gw_signal_model *m, uint32_t t, uint32_t g,
                   double change, double *start, double *len) {
  double acc = p->offset_s[t];
  *start = acc;
  *len = 0;
  for (uint32_t s = 0; s < m->nstages; s++) {
    double split = p->split_s[t * GW_MAX_STAGES + s];
    if (m->stages[s].green >> g & 1) {
      *start = acc;
      *len = split - change;
      return;
    }
    acc += split;
  }
}

static double pair_score(const coord *c, const gw_coord_plan *p, const pair *pr) {
  double si, li, sj, lj;
  window(p, &c->m[pr->i], pr->i, pr->gi, c->change_s, &si, &li);
  window(p, &c->m[pr->j], pr->j, pr->gj, c->change_s, &sj, &lj);
  return pr->w * overlap(si + pr->tt_sum / pr->w, li, sj, lj, p->cycle_s);
}

/* Splits by Webster and offsets by coordinate ascent for cycle C; returns
** the share of the counted flows that progress (weighted overlap over the
** largest possible overlap), and in *xmax the highest degree of saturation
** of any stage. */
static double plan_cycle(coord *c, gw_coord_plan *out, double C, double *xmax) {
  uint32_t n = out->nsignals;
  out->cycle_s = C;
  *xmax = 0;
  for (uint32_t t = 0; t < n; t++) {
    double green[GW_MAX_STAGES], x;
    webster(c, t, C, green, &x);
    if (x > *xmax) *xmax = x;
    out->nstages[t] = c->m[t].nstages;
    out->offset_s[t] = 0;
    for (uint32_t s = 0; s < c->m[t].nstages; s++)
      out->split_s[t * GW_MAX_STAGES + s] = green[s] + c->change_s;
  }
  for (int sweep = 0; sweep < 6; sweep++) {
    int moved = 0;
    for (uint32_t t = 0; t < n; t++) {
      double best = -1, best_o = out->offset_s[t], keep = out->offset_s[t];
      for (double o = 0; o < C; o += 1) {
        out->offset_s[t] = o;
        double sc = 0;
        for (uint32_t k = 0; k < c->npairs; k++)
          if (c->pairs[k].i == t || c->pairs[k].j == t) sc += pair_score(c, out, &c->pairs[k]);
        if (sc > best + 1e-9) {
          best = sc;
          best_o = o;
        }
      }
      out->offset_s[t] = best_o;
      moved |= best_o != keep;
    }
    if (!moved) break;
  }
  double got = 0, ideal = 0;
  for (uint32_t k = 0; k < c->npairs; k++) {
    const pair *pr = &c->pairs[k];
    double si, li, sj, lj;
    window(out, &c->m[pr->i], pr->i, pr->gi, c->change_s, &si, &li);
    window(out, &c->m[pr->j], pr->j, pr->gj, c->change_s, &sj, &lj);
    got += pair_score(c, out, pr);
    ideal += pr->w * (li < lj ? li : lj);
  }
  out->objective = got;
  return ideal > 0 ? got / ideal : 0;
}

int gw_coordination_plan(const gw_net *net, const gw_demand *demand, double cycle_s,
                         gw_coord_plan *out, gw_error *err) {
  memset(out, 0, sizeof *out);
  coord c;
  memset(&c, 0, sizeof c);
  c.net = net;
  uint32_t n = (uint32_t)net->tls.n;
  int rc = GW_OK;
  c.m = gw__calloc(n + 1, sizeof *c.m);
  c.flow = gw__calloc((size_t)(n + 1) * GW_MAX_GROUPS, sizeof *c.flow);
  out->offset_s = gw__calloc(n + 1, sizeof *out->offset_s);
  out->split_s = gw__calloc((size_t)(n + 1) * GW_MAX_STAGES, sizeof *out->split_s);
  out->nstages = gw__calloc(n + 1, sizeof *out->nstages);
  out->main_stage = gw__calloc(n + 1, sizeof *out->main_stage);
  if (!c.m || !c.flow || !out->offset_s || !out->split_s || !out->nstages || !out->main_stage) {
    rc = gw__error(err, GW_ENOMEM, "out of memory");
    goto done;
  }
  out->nsignals = n;
  for (uint32_t t = 0; t < n; t++) {
    if ((rc = gw_signal_model_init(&c.m[t], net, t, err))) goto done;
    for (uint32_t a = 0; a < c.m[t].ngroups; a++) {
      double ch = c.m[t].groups[a].yellow_s, ar = 0;
      for (uint32_t b = 0; b < c.m[t].ngroups; b++)
        if (c.m[t].allred_s[a][b] > ar) ar = c.m[t].allred_s[a][b];
      if (ch + ar > c.change_s) c.change_s = ch + ar;
    }
  }
  if ((rc = count_flows(&c, demand))) {
    gw__error(err, rc, "out of memory");
    goto done;
  }
  double xmax;
  if (cycle_s > 0) {
    plan_cycle(&c, out, cycle_s, &xmax);
  } else {
    /* No cycle given: among the cycles from 60 to 120 s whose splits keep
    ** every stage below a degree of saturation of 0.85, the one whose plan
    ** lets the largest share of the flows progress (the shorter on a tie);
    ** when none is that light, the one with the lowest saturation. */
    double best = -1, best_c = 60, least_x = 1e9, least_c = 120;
    for (double C = 60; C <= 120; C += 5) {
      double score = plan_cycle(&c, out, C, &xmax);
      if (xmax < least_x) {
        least_x = xmax;
        least_c = C;
      }
      if (xmax <= 0.85 && score > best + 0.01) {
        best = score;
        best_c = C;
      }
    }
    plan_cycle(&c, out, best >= 0 ? best_c : least_c, &xmax);
  }
  for (uint32_t t = 0; t < n; t++) {
    uint32_t best = 0;
    for (uint32_t st = 1; st < out->nstages[t]; st++)
      if (out->split_s[t * GW_MAX_STAGES + st] > out->split_s[t * GW_MAX_STAGES + best]) best = st;
    out->main_stage[t] = best;
  }
done:
  gw__free(c.m);
  gw__free(c.flow);
  gw__free(c.pairs);
  if (rc) gw_coord_plan_free(out);
  return rc;
}

void gw_coord_plan_free(gw_coord_plan *p) {
  gw__free(p->offset_s);
  gw__free(p->split_s);
  gw__free(p->nstages);
  gw__free(p->main_stage);
  memset(p, 0, sizeof *p);
}

void gw_coord_plan_params(const gw_coord_plan *p, uint32_t i, char *buf, size_t len) {
  int n = snprintf(buf, len, "cycle=%.0f,offset=%.0f,splits=", p->cycle_s, p->offset_s[i]);
  for (uint32_t s = 0; s < p->nstages[i] && n > 0 && (size_t)n < len; s++)
    n += snprintf(buf + n, len - (size_t)n, "%s%.1f", s ? "/" : "",
                  p->split_s[i * GW_MAX_STAGES + s]);
}

void gw_coord_plan_adaptive_params(const gw_coord_plan *p, uint32_t i, char *buf, size_t len) {
  uint32_t k = p->main_stage[i];
  double start = p->offset_s[i];
  for (uint32_t s = 0; s < k; s++) start += p->split_s[i * GW_MAX_STAGES + s];
  snprintf(buf, len, "coord=1,cycle=%.0f,offset=%.0f,cstage=%u", p->cycle_s,
           fmod(start, p->cycle_s), k);
}

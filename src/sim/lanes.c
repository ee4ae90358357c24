/*
** lanes.c -- lane arrays, lane choice along the route, the look-ahead for
** leaders and lane changing.
**
** Lane wishes.  When a vehicle enters an edge it computes, for this edge and
** the next, the set of lanes from which the route can be followed for the
** next few edges without another change (a backward pass over at most
** LOOK_EDGES edges through the lane links).  Lane changes serve, in order:
** reaching a wanted lane (strategic), driving faster (speed gain, after the
** advantage has lasted a while) and keeping right when that costs nothing.
** A change happens only when both the new leader and the new follower can
** adapt with comfortable braking.
*/
#include <string.h>

#include "core/alloc.h"
#include "sim/carfollow.h"
#include "sim/sim_int.h"

#define LOOK_EDGES 4
#define SPEED_GAIN_THRESHOLD_S 1.0
#define KEEP_RIGHT_THRESHOLD_S 6.0
#define COOP_DISTANCE_M 60.0

/* ---- lane arrays -------------------------------------------------------- */

/* Insert and remove keep sim->lane_halt, the count of halted vehicles per
** lane, exact: move() rebuilds it each step and every later change of lane
** goes through these two. */

int gw__lane_insert(gw_sim *sim, uint32_t lane, uint32_t vi) {
  lane_rt *L = &sim->lanes[lane];
  if (L->n + 1 > L->cap) {
    uint32_t cap = L->cap ? L->cap * 2 : 8;
    while (cap < L->n + 1) cap *= 2;
    uint32_t *p = gw__realloc(L->v, cap * sizeof *p);
    if (!p) return GW_ENOMEM;
    L->v = p;
    L->cap = cap;
  }
  double pos = sim->veh[vi].pos;
  uint32_t k = L->n;
  while (k > 0 && sim->veh[L->v[k - 1]].pos < pos) k--;
  memmove(L->v + k + 1, L->v + k, (L->n - k) * sizeof *L->v);
  L->v[k] = vi;
  L->n++;
  sim->lane_n[lane]++;
  sim->lane_halt[lane] += sim->veh[vi].halted;
  return GW_OK;
}

void gw__lane_remove(gw_sim *sim, uint32_t lane, uint32_t vi) {
  lane_rt *L = &sim->lanes[lane];
  for (uint32_t k = 0; k < L->n; k++) {
    if (L->v[k] != vi) continue;
    memmove(L->v + k, L->v + k + 1, (L->n - k - 1) * sizeof *L->v);
    L->n--;
    sim->lane_n[lane]--;
    sim->lane_halt[lane] -= sim->veh[vi].halted;
    return;
  }
}

/* ---- lane wishes -------------------------------------------------------- */

static uint32_t lanes_reaching(const gw_net *net, uint32_t edge, uint32_t next_edge,
                               uint32_t next_mask) {
  const gw_edge *e = &net->edges.a[edge];
  uint32_t m = 0, any = 0;
  for (uint32_t i = 0; i < e->nlanes && i < 32; i++) {
    const gw_lane *ln = &net->lanes.a[e->lane0 + i];
    for (uint32_t k = 0; k < ln->out_n; k++) {
      const gw_link *lk = &net->links.a[net->refs.a[ln->out_off + k]];
      const gw_lane *to = &net->lanes.a[lk->to_lane];
      if (to->edge != next_edge) continue;
      any |= 1u << i;
      if (next_mask & (1u << to->index)) m |= 1u << i;
    }
  }
  return m ? m : any;
}

static uint32_t allowed_lanes(const gw_net *net, uint32_t edge, uint32_t vclass) {
  const gw_edge *e = &net->edges.a[edge];
  uint32_t m = 0;
  for (uint32_t i = 0; i < e->nlanes && i < 32; i++)
    if (net->lanes.a[e->lane0 + i].allow & vclass) m |= 1u << i;
  return m ? m : (e->nlanes >= 32 ? 0xffffffffu : (1u << e->nlanes) - 1);
}

void gw__lanes_update_wants(gw_sim *sim, gw_veh *v) {
  const gw_net *net = sim->net;
  const gw_trip *tr = v->trip;
  const uint32_t *r = tr->route;
  uint32_t vclass = v->vclass;
  uint32_t last = v->ri + LOOK_EDGES;
  if (last > tr->route_n - 1) last = tr->route_n - 1;
  uint32_t mask = allowed_lanes(net, r[last], vclass), next_mask = mask;
  for (uint32_t k = last; k > v->ri; k--) {
    next_mask = mask;
    mask = lanes_reaching(net, r[k - 1], r[k], mask) & allowed_lanes(net, r[k - 1], vclass);
    if (!mask) mask = lanes_reaching(net, r[k - 1], r[k], 0xffffffffu);
  }
  v->want_cur = mask;
  v->want_next = last > v->ri ? next_mask : 0;
}

uint32_t gw__lanes_choose_link(const gw_sim *sim, const gw_veh *v) {
  const gw_net *net = sim->net;
  const gw_trip *tr = v->trip;
  if (v->ri + 1 >= tr->route_n) return GW_NONE;
  uint32_t next = tr->route[v->ri + 1];
  const gw_lane *ln = &net->lanes.a[v->lane];
  uint32_t fallback = GW_NONE;
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t l = net->refs.a[ln->out_off + k];
    const gw_lane *to = &net->lanes.a[net->links.a[l].to_lane];
    if (to->edge != next) continue;
    if (v->want_next & (1u << to->index)) return l;
    if (fallback == GW_NONE) fallback = l;
  }
  return fallback;
}

/* ---- look-ahead --------------------------------------------------------- */

/* The lane that follows `lane` on the path: via the given link from a
** normal lane, along the link from an internal one. */
static uint32_t next_on_path(const gw_net *net, uint32_t lane, uint32_t link, int *via_i) {
  const gw_link *lk = &net->links.a[link];
  if (!net->lanes.a[lane].internal) {
    *via_i = 0;
    return lk->via[0] != GW_NONE ? lk->via[0] : lk->to_lane;
  }
  if (*via_i == 0 && lk->via[1] != GW_NONE) {
    *via_i = 1;
    return lk->via[1];
  }
  return lk->to_lane;
}

/* First link from `lane` towards `edge`, for looking beyond the next
** junction (lane wishes are not known there yet). */
static uint32_t any_link_to(const gw_net *net, uint32_t lane, uint32_t edge) {
  const gw_lane *ln = &net->lanes.a[lane];
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t l = net->refs.a[ln->out_off + k];
    if (net->lanes.a[net->links.a[l].to_lane].edge == edge) return l;
  }
  return GW_NONE;
}

double gw__leader_speed(const gw_sim *sim, const gw_veh *v, uint32_t lane, uint32_t idx, double pos,
                        double look, double *gap_out) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  const lane_rt *L = &sim->lanes[lane];
  /* Callers never use more than the allowed speed: cap there. */
  const double cap = gw__vmax_on(sim, v, lane);
  *gap_out = 1e9;
  if (idx > 0) {
    const gw_veh *ld = &sim->veh[L->v[idx - 1]];
    double gap = ld->pos - ld->length - pos - v->min_gap;
    *gap_out = gap;
    return gw__cf_follow_speed_capped(gap, ld->speed, v->decel, ld->decel, dt, v->tau, cap);
  }
  const gw_trip *tr = v->trip;
  double dist = net->lanes.a[lane].length_m - pos;
  uint32_t cur = lane, ri = v->ri;
  int via_i = v->via_i;
  uint32_t link = net->lanes.a[lane].internal ? net->lanes.a[lane].link
                  : lane == v->lane           ? v->link
                  : ri + 1 < tr->route_n      ? any_link_to(net, lane, tr->route[ri + 1])
                                              : GW_NONE;
  if (net->lanes.a[lane].internal) via_i = lane == v->lane ? v->via_i : 0;
  while (dist < look) {
    if (!net->lanes.a[cur].internal) {
      if (cur != lane) {
        ri++;
        link = ri + 1 < tr->route_n ? any_link_to(net, cur, tr->route[ri + 1]) : GW_NONE;
      }
      if (link == GW_NONE) break;
    }
    cur = next_on_path(net, cur, link, &via_i);
    const lane_rt *N = &sim->lanes[cur];
    if (N->n > 0) {
      const gw_veh *ld = &sim->veh[N->v[N->n - 1]];
      double gap = dist + ld->pos - ld->length - v->min_gap;
      *gap_out = gap;
      return gw__cf_follow_speed_capped(gap, ld->speed, v->decel, ld->decel, dt, v->tau, cap);
    }
    dist += net->lanes.a[cur].length_m;
  }
  return cap;
}

/* ---- lane changing ------------------------------------------------------ */

/* Index at which a vehicle at `pos` would stand on lane `to`. */
static uint32_t slot_at(const gw_sim *sim, uint32_t to, double pos) {
  const lane_rt *L = &sim->lanes[to];
  uint32_t k = 0;
  while (k < L->n && sim->veh[L->v[k]].pos >= pos) k++;
  return k;
}

/* With nobody behind on lane `to`, the follower may still be coming off a
** junction: the front vehicle of each internal lane (or, without one, each
** approach lane) leading into `to` must be able to stay behind `v`. */
static int upstream_ok(const gw_sim *sim, const gw_veh *v, uint32_t to) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  for (uint32_t i = sim->in_off[to]; i < sim->in_off[to + 1]; i++) {
    const gw_link *lk = &net->links.a[sim->in_links[i]];
    double before = v->pos - v->length; /* distance from the lane start to v's back */
    uint32_t lanes[3], n = 0;
    if (lk->via[1] != GW_NONE) lanes[n++] = lk->via[1];
    if (lk->via[0] != GW_NONE) lanes[n++] = lk->via[0];
    lanes[n++] = lk->from_lane;
    for (uint32_t j = 0; j < n && before < 80; j++) {
      const lane_rt *U = &sim->lanes[lanes[j]];
      double len = net->lanes.a[lanes[j]].length_m;
      if (U->n == 0) {
        before += len;
        continue;
      }
      const gw_veh *f = &sim->veh[U->v[0]];
      double gap = before + len - f->pos - f->min_gap;
      if (gap < 0) return 0;
      if (gw__cf_follow_speed(gap, v->speed, f->decel, v->decel, dt, f->tau) <
          f->speed - f->decel * dt)
        return 0;
      break;
    }
  }
  return 1;
}

/* Safe speed on lane `to`, or a negative value when the change is unsafe
** for the vehicle itself or for its new follower. */
static double change_speed(gw_sim *sim, uint32_t vi, uint32_t to) {
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const lane_rt *L = &sim->lanes[to];
  uint32_t k = slot_at(sim, to, v->pos);
  if (k > 0) {
    const gw_veh *ld = &sim->veh[L->v[k - 1]];
    if (ld->pos - ld->length - v->pos - v->min_gap < 0) return -1;
  }
  if (k < L->n) {
    const gw_veh *f = &sim->veh[L->v[k]];
    double gap = v->pos - v->length - f->pos - f->min_gap;
    if (gap < 0) return -1;
    double vs = gw__cf_follow_speed(gap, v->speed, f->decel, v->decel, dt, f->tau);
    if (vs < f->speed - f->decel * dt) return -1;
  } else if (!upstream_ok(sim, v, to)) {
    return -1;
  }
  /* Never into a blocked stretch, nor into a lane blocked within reach ahead. */
  if (sim->nblocks) {
    const lane_block *b = gw__lane_block(sim, to);
    if (b && b->pos - v->pos < 150) return -1;
  }
  /* Look ahead with the link this lane would take. */
  uint32_t save_lane = v->lane, save_link = v->link;
  v->lane = to;
  v->link = gw__lanes_choose_link(sim, v);
  double look = gw__cf_brake_gap(v->max_speed, v->decel, dt, v->tau) + v->speed * dt + 10;
  double gap;
  double vs = gw__leader_speed(sim, v, to, k, v->pos, look, &gap);
  v->lane = save_lane;
  v->link = save_link;
  if (gap < 0 || vs < v->speed - v->decel * dt) return -1;
  return vs;
}

static void do_change(gw_sim *sim, uint32_t vi, uint32_t to) {
  gw_veh *v = &sim->veh[vi];
  gw__lane_remove(sim, v->lane, vi);
  v->lane = to;
  gw__lane_insert(sim, to, vi); /* capacity was reserved at creation */
  v->link = gw__lanes_choose_link(sim, v);
  v->changed = 1;
  v->lc_gain = v->lc_right = 0;
}

/* 1 if vehicle v at `pos` keeps half a metre to its leader on lane L and
** the follower there can stay behind it braking comfortably. */
static int fits(const gw_sim *sim, const lane_rt *L, const gw_veh *v, double pos) {
  const double dt = sim->cfg.step_s;
  for (uint32_t j = 0; j < L->n; j++) {
    const gw_veh *x = &sim->veh[L->v[j]];
    if (x->pos >= pos) {
      if (x->pos - x->length - pos < 0.5) return 0;
      continue;
    }
    double gap = pos - v->length - x->pos - x->min_gap;
    if (gap < 0) return 0;
    return gw__cf_follow_speed(gap, v->speed, x->decel, v->decel, dt, x->tau) >=
           x->speed - x->decel * dt;
  }
  return 1;
}

/* 1 if a vehicle on lane index `at` must change lanes, and the way to a lane
** it wants leads over lane index `over`. */
static int wants_toward(const gw_veh *v, uint32_t at, uint32_t over) {
  if (v->want_cur & (1u << at)) return 0;
  if (over > at) return (v->want_cur >> over) != 0;
  return (v->want_cur & ((2u << over) - 1)) != 0;
}

/* Two vehicles side by side that each need the other's lane trade places,
** as drivers do; neither instantaneous change alone could ever fit. */
static int try_swap(gw_sim *sim, uint32_t vi, uint32_t to) {
  const gw_net *net = sim->net;
  gw_veh *v = &sim->veh[vi];
  const lane_rt *T = &sim->lanes[to];
  uint32_t from = v->lane;
  for (uint32_t k = 0; k < T->n; k++) {
    uint32_t oi = T->v[k];
    gw_veh *o = &sim->veh[oi];
    /* Side by side, or too close for either to change in front of the other. */
    if (o->changed || o->pos - o->length > v->pos + v->min_gap ||
        o->pos + o->min_gap < v->pos - v->length)
      continue;
    uint32_t oidx = net->lanes.a[to].index;
    uint32_t myidx = net->lanes.a[from].index;
    if (!wants_toward(o, oidx, myidx)) return 0;
    if (v->speed > 2 || o->speed > 2) return 0;
    /* Room: each must fit behind the other lane's leader and before its
    ** follower, where it stands or, both standing, in the other's place
    ** (queued drivers trade places a few metres; SUMO swaps them too). */
    double p_v = v->pos, p_o = o->pos;
    gw__lane_remove(sim, from, vi);
    gw__lane_remove(sim, to, oi);
    const lane_rt *A = &sim->lanes[to], *B = &sim->lanes[from];
    if (!(fits(sim, A, v, p_v) && fits(sim, B, o, p_o))) {
      int ok = v->speed < 0.5 && o->speed < 0.5 && fits(sim, A, v, p_o) && fits(sim, B, o, p_v);
      if (!ok) {
        gw__lane_insert(sim, from, vi);
        gw__lane_insert(sim, to, oi);
        return 0;
      }
      v->pos = p_o;
      o->pos = p_v;
    }
    v->lane = to;
    o->lane = from;
    gw__lane_insert(sim, to, vi);
    gw__lane_insert(sim, from, oi);
    v->link = gw__lanes_choose_link(sim, v);
    o->link = gw__lanes_choose_link(sim, o);
    v->changed = o->changed = 1;
    return 1;
  }
  return 0;
}

/* A vehicle that must change but finds no gap asks the vehicle that would
** follow it on the target lane to hold back (it then treats the changer as
** its leader), and itself falls in behind the target lane's leader. */
static void ask_cooperation(gw_sim *sim, uint32_t vi, uint32_t to) {
  gw_veh *v = &sim->veh[vi];
  const lane_rt *T = &sim->lanes[to];
  uint32_t k = slot_at(sim, to, v->pos);
  /* A follower already beside us cannot make room: the one behind it can. */
  while (k < T->n && v->pos - v->length - sim->veh[T->v[k]].pos - sim->veh[T->v[k]].min_gap < 0)
    k++;
  if (k < T->n) sim->veh[T->v[k]].coop = vi;
  k = slot_at(sim, to, v->pos);
  if (k > 0) {
    const gw_veh *ld = &sim->veh[T->v[k - 1]];
    if (ld->pos - ld->length - v->pos - v->min_gap < 0) v->coop_lead = T->v[k - 1];
  }
}

static void consider(gw_sim *sim, uint32_t vi, uint32_t k) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_lane *ln = &net->lanes.a[v->lane];
  const gw_edge *e = &net->edges.a[ln->edge];
  if (e->nlanes < 2 || ln->internal) return;
  uint32_t idx = ln->index, want = v->want_cur;
  /* A blocked lane ahead is left like a lane that does not lead on; if no
  ** wanted lane remains, any neighbour will do. */
  const lane_block *blk = sim->nblocks ? gw__lane_block(sim, v->lane) : NULL;
  if (blk && v->pos > blk->pos) blk = NULL; /* already past it */
  if (blk) {
    want &= ~(1u << idx);
    if (!want) want = ((e->nlanes >= 32 ? 0xffffffffu : (1u << e->nlanes) - 1)) & ~(1u << idx);
  }
  if (!(want & (1u << idx))) { /* strategic */
    int dir = 0;
    for (uint32_t d = 1; d < e->nlanes && !dir; d++) {
      if (idx + d < e->nlanes && (want & (1u << (idx + d))))
        dir = 1;
      else if (d <= idx && (want & (1u << (idx - d))))
        dir = -1;
    }
    if (!dir) return;
    uint32_t to = e->lane0 + (uint32_t)((int)idx + dir);
    if (change_speed(sim, vi, to) >= 0) {
      do_change(sim, vi, to);
      return;
    }
    if (try_swap(sim, vi, to)) return;
    /* Others are asked to make room only once the lane end (or the block)
    ** draws near. */
    double left = (blk ? blk->pos : net->lanes.a[v->lane].length_m) - v->pos;
    if (left < COOP_DISTANCE_M) ask_cooperation(sim, vi, to);
    return;
  }
  double vmax = gw__vmax_on(sim, v, v->lane);
  double look = gw__cf_brake_gap(vmax, v->decel, dt, v->tau) + vmax * dt + 30;
  double gap;
  double here = gw__leader_speed(sim, v, v->lane, k, v->pos, look, &gap);
  if (here > vmax) here = vmax;
  /* Speed gain: the better neighbour among the wanted ones.  A driver who
  ** already goes as fast as allowed only looks to the right. */
  double best = here;
  uint32_t best_to = GW_NONE;
  int free_flow = here >= vmax - 1.0;
  for (int dir = -1; dir <= (free_flow ? -1 : 1); dir += 2) {
    int j = (int)idx + dir;
    if (j < 0 || j >= (int)e->nlanes || !(want & (1u << j))) continue;
    uint32_t to = e->lane0 + (uint32_t)j;
    if (!(net->lanes.a[to].allow & v->vclass)) continue;
    double vs = change_speed(sim, vi, to);
    if (vs < 0) continue;
    if (vs > vmax) vs = vmax;
    if (dir < 0 && vs >= here - 0.1 && v->lc_right + dt >= KEEP_RIGHT_THRESHOLD_S) {
      do_change(sim, vi, to);
      return;
    }
    if (dir < 0 && vs >= here - 0.1) v->lc_right += dt;
    if (vs > best + 1.0) {
      best = vs;
      best_to = to;
    }
  }
  if (best_to != GW_NONE && here < vmax - 1.0) {
    v->lc_gain += dt * (best - here) / (vmax > 1 ? vmax : 1) * 4;
    if (v->lc_gain >= SPEED_GAIN_THRESHOLD_S) do_change(sim, vi, best_to);
  } else {
    v->lc_gain *= 0.5;
  }
}

void gw__lanes_change(gw_sim *sim) {
  const gw_net *net = sim->net;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    if (net->lanes.a[l].internal) continue;
    lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      uint32_t vi = L->v[k];
      if (sim->veh[vi].changed) continue;
      consider(sim, vi, k);
      if (L->n > k && L->v[k] != vi) k--; /* it left: the next one moved up */
    }
  }
}

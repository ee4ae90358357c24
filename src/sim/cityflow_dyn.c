/*
** cityflow_dyn.c -- the CityFlow-compatible dynamics (GW_DYNAMICS_CITYFLOW).
**
** One step, in CityFlow's order:
**
**   signals        as in the SUMO mode (programs or the control loop)
**   insert         every vehicle due joins the waiting queue of the lane
**                  chosen for it (at random among the lanes of its first
**                  road that lead on); the head of each queue enters, at
**                  the lane start with speed 0, when the lane's last vehicle
**                  is further than its length plus the newcomer's min gap
**   lane change    with cfg.lane_change: CityFlow's simple rule (below)
**   plan           every vehicle's next speed from the state of the last
**                  step: the minimum of its max speed, v + maxPosAcc*dt, the
**                  lane's limit, the car-following speed (two collision-free
**                  speeds, with the leader's maximum and usual braking, and
**                  the headway term (gap + (vL + max(0, v - vL)/2)*dt -
**                  v*dt/2) / (headwayTime + dt/2)), and near a junction the
**                  stop-before-the-line speed when the link is not green or
**                  its exit lane cannot be entered (unless it can no longer
**                  stop with maxNegAcc) and 8.33 m/s before a turn; never
**                  below v - maxNegAcc*dt
**   move           ballistic: (v + v')*dt/2, or v^2/(2*maxNegAcc) when the
**                  planned speed is negative; onto the next lane along the
**                  lane link chosen as CityFlow's router does (the exit lane
**                  closest in index among those that lead on)
**
** Gaps are CityFlow's: the leader's front minus its length minus our front
** (minGap enters through the second collision-free speed).  There is no
** randomness except the first lane, drawn from (seed, vehicle).  Not
** modelled: CityFlow's crossing points inside a junction (vehicles of
** movements green together do not yield to each other) and the few
** seconds a lane change takes (ours is instantaneous).
**
** Lane changing (CityFlow's SimpleLaneChange): at most every 3 s, more than
** 30 m before the lane end, when the gap to the leader is between 1.5
** lengths and 2 lengths + 4*dt*maxSpeed, a vehicle moves to a neighbour
** lane that leads on along its route and offers a gap larger by one length
** (the inner lane wins a tie only if better than the outer), if the new
** leader is beyond its own braking distance and the new follower's gap
** beyond the follower's.
*/
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "sim/sim_int.h"

#define CF_TURN_SPEED 8.33
#define CF_HALT 0.1
#define CF_LC_COOLING_S 3.0
#define CF_EPS 1e-8

/* ---- route and lane choice --------------------------------------------- */

/* 1 if normal lane `lane` has a link to edge `e`. */
static int lane_leads_to(const gw_net *net, uint32_t lane, uint32_t e) {
  const gw_lane *ln = &net->lanes.a[lane];
  for (uint32_t k = 0; k < ln->out_n; k++)
    if (net->lanes.a[net->links.a[net->refs.a[ln->out_off + k]].to_lane].edge == e) return 1;
  return 0;
}

/* The link a vehicle on normal lane `lane` at route index ri takes: among
** the links to the next road (whose exit lane leads to the road after, when
** there is one), the one whose exit lane index is closest to ours. */
static uint32_t choose_link(const gw_sim *sim, const gw_trip *tr, uint32_t lane, uint32_t ri) {
  const gw_net *net = sim->net;
  if (ri + 1 >= tr->route_n) return GW_NONE;
  uint32_t next = tr->route[ri + 1];
  uint32_t after = ri + 2 < tr->route_n ? tr->route[ri + 2] : GW_NONE;
  const gw_lane *ln = &net->lanes.a[lane];
  uint32_t best = GW_NONE, any = GW_NONE;
  int best_d = 1 << 30, any_d = 1 << 30;
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t l = net->refs.a[ln->out_off + k];
    const gw_lane *to = &net->lanes.a[net->links.a[l].to_lane];
    if (to->edge != next) continue;
    int d = (int)to->index - (int)ln->index;
    if (d < 0) d = -d;
    if (d < any_d) any_d = d, any = l;
    if (after != GW_NONE && !lane_leads_to(net, net->links.a[l].to_lane, after)) continue;
    if (d < best_d) best_d = d, best = l;
  }
  return best != GW_NONE ? best : any;
}

/* ---- car following ------------------------------------------------------ */

static double no_collision_speed(double vl, double dl, double vf, double df, double gap, double dt,
                                 double target_gap) {
  double c = vf * dt / 2 + target_gap - 0.5 * vl * vl / dl - gap;
  double a = 0.5 / df, b = 0.5 * dt;
  if (b * b < 4 * a * c) return -100;
  double v1 = 0.5 / a * (sqrt(b * b - 4 * a * c) - b);
  double v2 = 2 * vl - dl * dt + 2 * (gap - target_gap) / dt;
  return v1 < v2 ? v1 : v2;
}

static double follow_speed(const gw_veh *v, const gw_veh *ld, double gap, double dt) {
  double s = no_collision_speed(ld->speed, ld->edecel, v->speed, v->edecel, gap, dt, 0);
  double s2 = no_collision_speed(ld->speed, ld->decel, v->speed, v->decel, gap, dt, v->min_gap);
  if (s2 < s) s = s2;
  double delta = v->speed > ld->speed ? v->speed - ld->speed : 0;
  double s3 = (gap + (ld->speed + delta / 2) * dt - v->speed * dt / 2) / (v->tau + dt / 2);
  return s3 < s ? s3 : s;
}

static double stop_before_speed(const gw_veh *v, double d, double dt) {
  double vn = v->speed + v->accel * dt;
  double bd = (v->speed + vn) * dt / 2 + vn * vn / v->decel / 2;
  if (bd < d) return vn;
  double take = 2 * d / (v->speed + CF_EPS) / dt;
  if (take >= 1) return v->speed - v->speed / (double)(long)take;
  return v->speed - v->speed / (take > 1e-12 ? take : 1e-12);
}

/* CityFlow's Lane::canEnter: room for our length behind the last vehicle,
** or that vehicle still moving at 2 m/s or more. */
static int can_enter(const gw_sim *sim, const gw_veh *v, uint32_t lane) {
  const lane_rt *L = &sim->lanes[lane];
  if (L->n == 0) return 1;
  const gw_veh *t = &sim->veh[L->v[L->n - 1]];
  return t->pos > t->length + v->length || t->speed >= 2;
}

static int is_go(char s) { return s == 'G' || s == 'g' || s == 'O' || s == 'o' || s == 'M'; }

/* The leader beyond the current lane and its gap, looking along the path
** up to `look` m; on a junction all lane links from the same lane count
** (they overlap), the nearest last vehicle wins. */
static const gw_veh *leader_ahead(const gw_sim *sim, const gw_veh *v, double look, double *gap) {
  const gw_net *net = sim->net;
  const gw_trip *tr = v->trip;
  uint32_t cur = v->lane, ri = v->ri, link = v->link;
  double dist = net->lanes.a[cur].length_m - v->pos;
  for (int hops = 0; hops < 16; hops++) {
    const gw_lane *cl = &net->lanes.a[cur];
    uint32_t nxt;
    if (!cl->internal) {
      if (link == GW_NONE) return NULL;
      const gw_link *lk = &net->links.a[link];
      if (lk->via[0] != GW_NONE) {
        /* Every lane link from this lane. */
        const gw_lane *from = &net->lanes.a[lk->from_lane];
        const gw_veh *best = NULL;
        double bg = 0;
        for (uint32_t k = 0; k < from->out_n; k++) {
          const gw_link *ok = &net->links.a[net->refs.a[from->out_off + k]];
          if (ok->via[0] == GW_NONE) continue;
          const lane_rt *N = &sim->lanes[ok->via[0]];
          if (N->n == 0) continue;
          const gw_veh *c = &sim->veh[N->v[N->n - 1]];
          double g = dist + c->pos - c->length;
          if (!best || g < bg) best = c, bg = g;
        }
        if (best) {
          *gap = bg;
          return best;
        }
        nxt = lk->via[0];
      } else {
        nxt = lk->to_lane;
      }
    } else {
      const gw_link *lk = &net->links.a[cl->link];
      nxt = lk->via[1] != GW_NONE && cur == lk->via[0] ? lk->via[1] : lk->to_lane;
    }
    if (!net->lanes.a[nxt].internal) {
      ri++;
      link = choose_link(sim, tr, nxt, ri);
    }
    const lane_rt *N = &sim->lanes[nxt];
    if (N->n > 0 && !net->lanes.a[nxt].internal) {
      const gw_veh *c = &sim->veh[N->v[N->n - 1]];
      *gap = dist + c->pos - c->length;
      return c;
    }
    dist += net->lanes.a[nxt].length_m;
    if (dist > look) return NULL;
    cur = nxt;
  }
  return NULL;
}

/* Vehicles of other lane links into the same exit lane that will reach it
** first are followed like leaders (CityFlow settles such merges at the
** links' crossing point). */
static double merge_speed(const gw_sim *sim, const gw_veh *v, uint32_t vi, double look, double s) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  const gw_lane *ln = &net->lanes.a[v->lane];
  uint32_t mine;
  double d_me;
  if (ln->internal) {
    mine = ln->link;
    d_me = ln->length_m - v->pos;
  } else {
    if (v->link == GW_NONE || net->links.a[v->link].via[0] == GW_NONE) return s;
    mine = v->link;
    d_me = ln->length_m - v->pos + net->lanes.a[net->links.a[mine].via[0]].length_m;
    if (d_me > look) return s;
  }
  uint32_t exit = net->links.a[mine].to_lane;
  for (uint32_t i = sim->in_off[exit]; i < sim->in_off[exit + 1]; i++) {
    uint32_t m = sim->in_links[i];
    uint32_t via = net->links.a[m].via[0];
    if (m == mine || via == GW_NONE) continue;
    const lane_rt *L = &sim->lanes[via];
    double vlen = net->lanes.a[via].length_m;
    for (uint32_t k = L->n; k-- > 0;) { /* rearmost first: the nearest ahead of us */
      uint32_t ui = L->v[k];
      const gw_veh *u = &sim->veh[ui];
      double d_u = vlen - u->pos;
      if (d_u > d_me + 1e-9 || (d_u > d_me - 1e-9 && ui > vi)) continue;
      double f = follow_speed(v, u, d_me - d_u - u->length, dt);
      if (f < s) s = f;
      break;
    }
  }
  return s;
}

static double plan_vehicle(gw_sim *sim, uint32_t vi, uint32_t idx) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_lane *ln = &net->lanes.a[v->lane];
  double s = v->max_speed;
  if (v->speed + v->accel * dt < s) s = v->speed + v->accel * dt;
  if (ln->speed_mps < s) s = ln->speed_mps;
  /* Car following. */
  const gw_veh *ld = NULL;
  double gap = 0;
  double look = v->max_speed * v->max_speed / v->decel / 2 + v->max_speed * dt * 2;
  if (idx > 0) {
    ld = &sim->veh[sim->lanes[v->lane].v[idx - 1]];
    gap = ld->pos - ld->length - v->pos;
  } else {
    ld = leader_ahead(sim, v, look, &gap);
  }
  if (ld) {
    double f = follow_speed(v, ld, gap, dt);
    if (f < s) s = f;
  }
  /* Near a junction. */
  double remain = ln->length_m - v->pos;
  if (!ln->internal && v->link != GW_NONE && remain <= look) {
    const gw_link *lk = &net->links.a[v->link];
    char st = gw__link_state(sim, v->link);
    int stopped = 0;
    if (!is_go(st) || !can_enter(sim, v, lk->to_lane)) {
      double minbrake = 0.5 * v->speed * v->speed / v->edecel;
      if (!(minbrake > remain)) {
        double sb = stop_before_speed(v, remain > 0 ? remain : 0, dt);
        if (sb < s) s = sb;
        stopped = 1;
      }
    }
    if (!stopped && lk->dir != 's' && s > CF_TURN_SPEED) s = CF_TURN_SPEED;
    if (!stopped) s = merge_speed(sim, v, vi, look, s);
  } else if (ln->internal) {
    s = merge_speed(sim, v, vi, look, s);
  }
  double floor_v = v->speed - v->edecel * dt;
  if (s < floor_v) s = floor_v;
  return s;
}

/* ---- lane changing ------------------------------------------------------ */

/* Gap to the first vehicle ahead of `pos` on `lane`, or the rest of the
** lane; *follower gets the first vehicle behind (or NULL). */
static double gap_on(const gw_sim *sim, uint32_t lane, const gw_veh *v, const gw_veh **leader,
                     const gw_veh **follower) {
  const lane_rt *L = &sim->lanes[lane];
  *leader = *follower = NULL;
  uint32_t k = 0;
  while (k < L->n && sim->veh[L->v[k]].pos >= v->pos) k++;
  if (k < L->n) *follower = &sim->veh[L->v[k]];
  if (k == 0) return sim->net->lanes.a[lane].length_m - v->pos;
  *leader = &sim->veh[L->v[k - 1]];
  return (*leader)->pos - v->pos - (*leader)->length;
}

static void lane_change(gw_sim *sim) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const gw_lane *ln = &net->lanes.a[l];
    if (ln->internal) continue;
    const gw_edge *e = &net->edges.a[ln->edge];
    if (e->nlanes < 2) continue;
    lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      uint32_t vi = L->v[k];
      gw_veh *v = &sim->veh[vi];
      if (v->changed || sim->t - v->cf_lc_t < CF_LC_COOLING_S - 1e-9) continue;
      if (ln->length_m - v->pos < 30) continue;
      double cur;
      if (k > 0) {
        const gw_veh *ld = &sim->veh[L->v[k - 1]];
        cur = ld->pos - ld->length - v->pos;
      } else {
        continue; /* no leader on the lane: nothing to gain */
      }
      double expected = 2 * v->length + 4 * dt * v->max_speed;
      if (cur > expected || cur < 1.5 * v->length) continue;
      const gw_trip *tr = v->trip;
      int last = v->ri + 1 >= tr->route_n;
      uint32_t next = last ? GW_NONE : tr->route[v->ri + 1];
      uint32_t target = GW_NONE;
      double outer_est = 0;
      for (int dir = 1; dir >= -1; dir -= 2) {
        int j = (int)ln->index + dir;
        if (j < 0 || j >= (int)e->nlanes) continue;
        uint32_t to = e->lane0 + (uint32_t)j;
        if (!last && !lane_leads_to(net, to, next)) continue;
        const gw_veh *a, *b;
        double est = gap_on(sim, to, v, &a, &b);
        if (dir > 0) {
          outer_est = est;
          if (est > cur + v->length) target = to;
        } else if (est > cur + v->length && est > outer_est) {
          target = to;
        }
      }
      if (target == GW_NONE) continue;
      const gw_veh *a, *b;
      double lg = gap_on(sim, target, v, &a, &b);
      if (lg < 0.5 * v->speed * v->speed / v->edecel) continue;
      if (b) {
        double fg = v->pos - b->pos - v->length;
        if (fg < 0.5 * b->speed * b->speed / b->edecel) continue;
      }
      gw__lane_remove(sim, l, vi);
      v->lane = target;
      v->changed = 1;
      v->cf_lc_t = sim->t;
      gw__lane_insert(sim, target, vi);
      v->link = choose_link(sim, tr, target, v->ri);
      k--; /* the next vehicle moved up */
    }
  }
}

/* ---- insertion ---------------------------------------------------------- */

static int pend_push(gw_sim *sim, uint32_t vi) {
  if (sim->pend_n == sim->pend_cap) {
    uint32_t cap = sim->pend_cap * 2;
    uint32_t *p = gw__malloc(cap * sizeof *p);
    if (!p) return GW_ENOMEM;
    for (uint32_t i = 0; i < sim->pend_n; i++)
      p[i] = sim->pending[(sim->pend_head + i) % sim->pend_cap];
    gw__free(sim->pending);
    sim->pending = p;
    sim->pend_cap = cap;
    sim->pend_head = 0;
  }
  sim->pending[(sim->pend_head + sim->pend_n) % sim->pend_cap] = vi;
  sim->pend_n++;
  return GW_OK;
}

/* A vehicle becomes due: its parameters and its lane. */
static void make_due(gw_sim *sim, uint32_t vi) {
  const gw_net *net = sim->net;
  gw_veh *v = &sim->veh[vi];
  const gw_trip *tr = v->trip;
  const gw_vtype *ty = gw_demand_vtype(sim->demand, tr->vtype);
  v->length = ty->length_m;
  v->min_gap = ty->min_gap_m;
  v->accel = ty->accel_mps2;
  v->decel = ty->decel_mps2;
  v->edecel = ty->emergency_decel_mps2;
  v->sigma = 0;
  v->tau = ty->tau_s;
  v->max_speed = ty->max_speed_mps;
  v->speed_factor = 1;
  v->arrival_pos = tr->arrival_pos_m;
  v->coop = v->coop_lead = GW_NONE;
  v->minor_link = GW_NONE;
  v->cf_lc_t = -1e9;
  v->state = VS_PENDING;
  const gw_edge *e = &net->edges.a[tr->route[0]];
  uint32_t cand[32], nc = 0;
  for (uint32_t i = 0; i < e->nlanes && i < 32; i++)
    if (tr->route_n < 2 || lane_leads_to(net, e->lane0 + i, tr->route[1]))
      cand[nc++] = e->lane0 + i;
  if (nc == 0) cand[nc++] = e->lane0;
  uint32_t pick = (uint32_t)(gw__rng_uniform(sim->cfg.seed, ((uint64_t)vi << 4) | 3, 0) * nc);
  v->lane = cand[pick < nc ? pick : 0];
}

static int insert(gw_sim *sim) {
  while (sim->next_trip < sim->nveh &&
         gw_demand_trip(sim->demand, sim->next_trip)->depart_s <= sim->t + 1e-9) {
    uint32_t vi = sim->next_trip++;
    make_due(sim, vi);
    int rc = pend_push(sim, vi);
    if (rc) return rc;
  }
  uint32_t n = sim->pend_n, kept = 0;
  uint64_t stamp = sim->step + 1;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t vi = sim->pending[(sim->pend_head + i) % sim->pend_cap];
    gw_veh *v = &sim->veh[vi];
    uint32_t lane = v->lane;
    int ok = 0;
    if (sim->cf_stamp[lane] != stamp) { /* only the head of each lane's queue */
      sim->cf_stamp[lane] = stamp;
      const lane_rt *L = &sim->lanes[lane];
      ok = L->n == 0 || sim->veh[L->v[L->n - 1]].pos > sim->veh[L->v[L->n - 1]].length + v->min_gap;
    }
    if (ok) {
      v->pos = 0;
      v->speed = 0;
      v->ri = 0;
      v->via_i = 0;
      v->halted = 1;
      v->link = choose_link(sim, v->trip, lane, 0);
      if (gw__lane_insert(sim, lane, vi) == GW_OK) {
        v->state = VS_RUNNING;
        v->depart_t = sim->t;
        sim->stats.inserted++;
        sim->stats.running++;
        continue;
      }
    }
    sim->pending[(sim->pend_head + kept++) % sim->pend_cap] = vi;
  }
  sim->pend_n = kept;
  return GW_OK;
}

/* ---- move --------------------------------------------------------------- */

/* Onto the lane after v->lane; 0 when there is none (the route ends). */
static int advance(gw_sim *sim, gw_veh *v) {
  const gw_net *net = sim->net;
  const gw_lane *cl = &net->lanes.a[v->lane];
  if (!cl->internal) {
    if (v->link == GW_NONE) return 0;
    const gw_link *lk = &net->links.a[v->link];
    if (lk->via[0] != GW_NONE) {
      v->lane = lk->via[0];
      v->via_i = 0;
      return 1;
    }
    v->lane = lk->to_lane;
  } else {
    const gw_link *lk = &net->links.a[cl->link];
    if (v->via_i == 0 && lk->via[1] != GW_NONE) { /* SUMO nets: a second internal lane */
      v->lane = lk->via[1];
      v->via_i = 1;
      return 1;
    }
    v->lane = lk->to_lane;
  }
  v->ri++;
  v->via_i = 0;
  v->link = choose_link(sim, v->trip, v->lane, v->ri);
  return 1;
}

static void move(gw_sim *sim) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  transfer *tx = sim->tx;
  uint32_t ntx = 0;
  memset(sim->lane_halt, 0, net->lanes.n * sizeof *sim->lane_halt);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    lane_rt *L = &sim->lanes[l];
    uint32_t keep = 0;
    for (uint32_t k = 0; k < L->n; k++) {
      uint32_t vi = L->v[k];
      gw_veh *v = &sim->veh[vi];
      const gw_trip *tr = v->trip;
      double vn = v->vnext, d;
      if (vn < 0) {
        d = 0.5 * v->speed * v->speed / v->edecel;
        vn = 0;
      } else {
        d = (v->speed + vn) * dt / 2;
      }
      double vmax = net->lanes.a[v->lane].speed_mps < v->max_speed ? net->lanes.a[v->lane].speed_mps
                                                                   : v->max_speed;
      v->speed = vn;
      double p0 = v->pos;
      v->pos += d;
      if (sim->lane_det[l] != GW_NONE) gw__detectors_pass(sim, l, p0, v->pos, v->length);
      v->dist += d;
      if (vmax > 0) v->time_loss += dt * (vmax - vn) / vmax;
      if (vn < CF_HALT) {
        v->waiting += dt;
        if (!v->halted) v->stops++;
        v->halted = 1;
      } else {
        v->halted = 0;
      }
      int arrived = 0;
      for (;;) {
        const gw_lane *cl = &net->lanes.a[v->lane];
        if (!cl->internal && v->ri + 1 == tr->route_n) {
          double ap =
              v->arrival_pos >= 0 && v->arrival_pos < cl->length_m ? v->arrival_pos : cl->length_m;
          if (v->pos > ap - 1e-9) arrived = 1;
          break;
        }
        if (v->pos <= cl->length_m) break;
        double over = v->pos - cl->length_m;
        if (!advance(sim, v)) {
          v->pos = cl->length_m;
          break;
        }
        v->pos = over;
      }
      if (arrived) {
        gw__finish_trip(sim, vi);
        continue;
      }
      if (v->lane != l) {
        tx[ntx].veh = vi;
        tx[ntx].lane = v->lane;
        ntx++;
        continue;
      }
      L->v[keep++] = vi;
      if (v->halted) sim->lane_halt[l]++;
    }
    L->n = keep;
    sim->lane_n[l] = keep;
  }
  for (uint32_t i = 0; i < ntx; i++) gw__lane_insert(sim, tx[i].lane, tx[i].veh);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 1; k < L->n; k++) {
      gw_veh *ld = &sim->veh[L->v[k - 1]], *f = &sim->veh[L->v[k]];
      if (f->pos > ld->pos - ld->length + 1e-6) {
        sim->stats.collisions++;
        f->pos = ld->pos - ld->length - 0.01;
        if (!f->halted) sim->lane_halt[l]++;
        f->halted = 1;
        f->speed = 0;
      }
    }
    if (!sim->lane_sig[l]) continue;
    for (uint32_t k = 0; k < L->n; k++) {
      gw_veh *v = &sim->veh[L->v[k]];
      v->sig_time += dt;
      v->sig_seen = 1;
    }
  }
}

int gw__cf_step(gw_sim *sim) {
  const gw_net *net = sim->net;
  gw__signals_step(sim);
  int rc = insert(sim);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) sim->veh[L->v[k]].changed = 0;
  }
  if (sim->cfg.lane_change) lane_change(sim);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) sim->veh[L->v[k]].vnext = plan_vehicle(sim, L->v[k], k);
  }
  gw__detectors_begin_step(sim);
  move(sim);
  gw__detectors_end_step(sim);
  sim->stats.veh_steps += sim->stats.running;
  if (sim->stats.running > sim->stats.peak_running) sim->stats.peak_running = sim->stats.running;
  sim->step++;
  sim->t = sim->cfg.begin_s + (double)sim->step * sim->cfg.step_s;
  return rc;
}

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
** (minGap enters through the second collision-free speed).  Randomness:
** the first lane and a priority per vehicle, drawn from (seed, vehicle).
**
** Crossing points (CityFlow's Cross): every two lane links of an
** intersection whose paths meet share a cross at their first meeting point
** (merges meet at their common end).  Before planning, the vehicle nearest
** to each cross on each side is noted; a vehicle on or near a lane link
** stops 5 m before the first cross it may not pass (straight > left >
** right, then steps to the cross, link entry time, distance, priority; a
** vehicle that can no longer brake goes; yield cycles are broken).
**
** Lane changing (CityFlow's SimpleLaneChange): at most every 3 s, more than
** 30 m before the lane end, when the gap to the leader is between 1.5
** lengths and 2 lengths + 4*dt*maxSpeed, a vehicle moves to a neighbour
** lane that leads on along its route and offers a gap larger by one length
** (the inner lane wins a tie only if better than the outer), if the new
** leader is beyond its own braking distance and the new follower's gap
** beyond the follower's.  As CityFlow's shadow vehicle, the changer holds
** its old lane (a ghost followers there keep behind) until its lateral
** offset, growing by max(0.2 v, 1) m/s, reaches the lane spacing.  Each
** step a would-be changer signals its target leader and follower (CityFlow's
** sendSignal); a vehicle keeps the signal of the highest-priority changer
** unless its own ranks higher, cannot change itself while it holds one, and
** as a follower keeps behind the changer with room for its own braking
** distance (yieldSpeed) unless it is too fast to.
**
** Valid lanes (CityFlow's router): a lane is valid when one of its links to
** the next road reaches a lane that leads to the road after.  A vehicle off
** its valid lanes stops at the lane end and changes towards the nearest
** valid lane whether or not lane changing is on, as CityFlow's forced lane
** change: it stops first where it still has room (lateral way / 0.8 +
** maxSpeed*dt + its length before the end) unless a stopped vehicle that
** must change too stands alongside and no changer outranks it: then it
** drives on to the end, clearing the way for that one.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "sim/sim_int.h"

#define CF_TURN_SPEED 8.3333 /* CityFlow's turnSpeed */
#define CF_YIELD_DIST 5.0    /* CityFlow's yieldDistance */
#define CF_HALT 0.1
#define CF_LC_COOLING_S 3.0
#define CF_EPS 1e-8
#define CF_LC_RATIO 0.8 /* CityFlow: lateral over forward distance of a lane change */

/* ---- route and lane choice --------------------------------------------- */

/* 1 if normal lane `lane` has a link to edge `e`. */
static int lane_leads_to(const gw_net *net, uint32_t lane, uint32_t e) {
  const gw_lane *ln = &net->lanes.a[lane];
  for (uint32_t k = 0; k < ln->out_n; k++)
    if (net->lanes.a[net->links.a[net->refs.a[ln->out_off + k]].to_lane].edge == e) return 1;
  return 0;
}

/* 1 if the route from edge index ri on can be followed from normal lane
** `lane` for `depth` more roads without changing lanes. */
static int lane_feasible(const gw_net *net, const gw_trip *tr, uint32_t lane, uint32_t ri,
                         int depth) {
  if (depth == 0 || ri + 1 >= tr->route_n) return 1;
  const gw_lane *ln = &net->lanes.a[lane];
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t to = net->links.a[net->refs.a[ln->out_off + k]].to_lane;
    if (net->lanes.a[to].edge == tr->route[ri + 1] && lane_feasible(net, tr, to, ri + 1, depth - 1))
      return 1;
  }
  return 0;
}

#define CF_PLAN_DEPTH 8 /* roads looked ahead when a lane choice matters */

/* The link a vehicle on normal lane `lane` at route index ri takes, as
** CityFlow's router: among the links to the next road whose exit lane leads
** to the road after, the one whose exit lane index is closest to ours.  On
** nets where that is not enough (SUMO nets with lanes that end in a turn
** two roads on), links whose exit lane keeps the route open for
** CF_PLAN_DEPTH roads are preferred; on the benchmark nets both agree. */
static uint32_t choose_link(const gw_sim *sim, const gw_trip *tr, uint32_t lane, uint32_t ri) {
  const gw_net *net = sim->net;
  if (ri + 1 >= tr->route_n) return GW_NONE;
  uint32_t next = tr->route[ri + 1];
  uint32_t after = ri + 2 < tr->route_n ? tr->route[ri + 2] : GW_NONE;
  const gw_lane *ln = &net->lanes.a[lane];
  uint32_t deep = GW_NONE, best = GW_NONE, any = GW_NONE;
  int deep_d = 1 << 30, best_d = 1 << 30, any_d = 1 << 30;
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t l = net->refs.a[ln->out_off + k];
    const gw_lane *to = &net->lanes.a[net->links.a[l].to_lane];
    if (to->edge != next) continue;
    int d = (int)to->index - (int)ln->index;
    if (d < 0) d = -d;
    if (d < any_d) any_d = d, any = l;
    if (after != GW_NONE && !lane_leads_to(net, net->links.a[l].to_lane, after)) continue;
    if (d < best_d) best_d = d, best = l;
    if (d < deep_d && lane_feasible(net, tr, net->links.a[l].to_lane, ri + 1, CF_PLAN_DEPTH))
      deep_d = d, deep = l;
  }
  if (deep != GW_NONE) return deep;
  if (best != GW_NONE || any == GW_NONE) return best;
  /* No link from this lane reaches a lane that leads on: CityFlow's router
  ** gives no next drivable (the lane is not valid; the vehicle stops at its
  ** end and changes lanes).  Only when no lane of the road is valid (a
  ** route the lanes cannot follow) is the nearest link taken anyway. */
  const gw_edge *e = &net->edges.a[ln->edge];
  for (uint32_t i = 0; i < e->nlanes; i++) {
    const gw_lane *o = &net->lanes.a[e->lane0 + i];
    for (uint32_t k = 0; k < o->out_n; k++) {
      uint32_t to = net->links.a[net->refs.a[o->out_off + k]].to_lane;
      if (net->lanes.a[to].edge == next && lane_leads_to(net, to, after)) return GW_NONE;
    }
  }
  return any;
}

static void on_lane(gw_sim *sim, gw_veh *v, uint32_t vi);

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

static int is_go(char s) {
  return s == 'G' || s == 'g' || s == 'O' || s == 'o' || s == 'M' || s == 'm';
}

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

/* ---- crossing points (CityFlow's Cross) --------------------------------- */

/* Two lane links of one intersection whose paths meet: the first meeting
** point found walking both polylines segment by segment, at distance
** dist[s] from the start of link[s].  Each step, the vehicle of each side
** nearest to it (notify below) is written into veh[s], with ndist[s] its
** distance to the point (negative once its front has passed it). */
typedef struct cf_cross {
  uint32_t link[2];
  double dist[2];
  uint32_t veh[2];
  double ndist[2];
} cf_cross;

typedef struct gw_cf gw_cf;

struct gw_cf {
  cf_cross *cross;
  uint32_t ncross;
  uint32_t *lk_off; /* per link (n + 1): its crosses in lk_cross, nearest first */
  uint32_t *lk_cross;
  uint32_t *jl_off; /* per junction (n + 1): its links with internal lanes */
  uint32_t *jl;
  /* Per vehicle. */
  uint32_t *prio;    /* random priority, the last tie-break at a cross */
  uint64_t *enter;   /* step it entered its lane link, or UINT64_MAX */
  uint32_t *prev;    /* the lane link it came from onto its lane, or GW_NONE */
  uint32_t *blocker; /* the foe it yielded to in the last step, or GW_NONE */
  uint32_t *blocker_new;
  /* Lane changes in progress: the vehicle still holds its old lane. */
  uint32_t *ghost_veh, *ghost_lane;
  double *ghost_off, *ghost_max;
  uint32_t nghost, ghost_cap;
  uint32_t *lane_ghosts; /* per lane: ghosts on it */
  /* Vehicles on a lane that does not lead on, seen by the last plan. */
  uint32_t *want;
  uint32_t nwant;
  uint8_t *wanting; /* per vehicle: in this step's forced lane changes */
  /* Lane-change signals (CityFlow's Signal), valid for one step: the
  ** changer a vehicle received one from (GW_NONE: none), and per changer
  ** its target leader and the room its target follower must keep (the
  ** follower gap less the follower's braking distance). */
  uint32_t *sig_recv;
  uint32_t *sig_leader;
  double *sig_room;
  /* Per vehicle that must change: the lateral way to its nearest valid
  ** lane (m, 0: none), and 1 when a stopped vehicle that must change too
  ** stands alongside on its target lane. */
  double *lc_way;
  uint8_t *lc_alongside;
};

static const double *lane_pts(const gw_net *net, uint32_t lane, uint32_t *n) {
  *n = net->lanes.a[lane].shape_n;
  return net->points.a + 2 * (size_t)net->lanes.a[lane].shape_off;
}

/* A link's path: the points of its internal lanes, joined. */
static uint32_t link_path(const gw_net *net, uint32_t link, double *out, uint32_t cap) {
  const gw_link *lk = &net->links.a[link];
  uint32_t n = 0;
  for (int p = 0; p < 2; p++) {
    if (lk->via[p] == GW_NONE) break;
    uint32_t m;
    const double *q = lane_pts(net, lk->via[p], &m);
    for (uint32_t i = 0; i < m && n < cap; i++) {
      if (n > 0 && i == 0 && fabs(out[2 * n - 2] - q[0]) < 1e-9 &&
          fabs(out[2 * n - 1] - q[1]) < 1e-9)
        continue;
      out[2 * n] = q[2 * i];
      out[2 * n + 1] = q[2 * i + 1];
      n++;
    }
  }
  return n;
}

/* CityFlow's tolerant sign: 0 within 1e-8. */
static int sgn8(double x) { return (x + 1e-8 > 0) - (x < 1e-8); }

/* First meeting point of paths a and b (segments of a outer, of b inner),
** as distances along each; 0 if they do not meet. */
static int paths_meet(const double *a, uint32_t na, const double *b, uint32_t nb, double *da,
                      double *db) {
  double sa = 0;
  for (uint32_t i = 0; i + 1 < na; i++) {
    double ax = a[2 * i], ay = a[2 * i + 1], ux = a[2 * i + 2] - ax, uy = a[2 * i + 3] - ay;
    double sb = 0;
    for (uint32_t j = 0; j + 1 < nb; j++) {
      double bx = b[2 * j], by = b[2 * j + 1], wx = b[2 * j + 2] - bx, wy = b[2 * j + 3] - by;
      double cr = ux * wy - uy * wx;
      if (sgn8(cr) != 0) {
        double t = ((bx - ax) * wy - (by - ay) * wx) / cr;
        double px = ax + ux * t, py = ay + uy * t;
        int on_a = sgn8(ux * (py - ay) - uy * (px - ax)) == 0 &&
                   sgn8((px - ax) * (px - ax - ux) + (py - ay) * (py - ay - uy)) <= 0;
        int on_b = sgn8(wx * (py - by) - wy * (px - bx)) == 0 &&
                   sgn8((px - bx) * (px - bx - wx) + (py - by) * (py - by - wy)) <= 0;
        if (on_a && on_b) {
          *da = sa + hypot(px - ax, py - ay);
          *db = sb + hypot(px - bx, py - by);
          return 1;
        }
      }
      sb += hypot(wx, wy);
    }
    sa += hypot(ux, uy);
  }
  return 0;
}

static const cf_cross *sort_cross_base;
static uint32_t sort_cross_link;
static int cmp_cross(const void *x, const void *y) {
  const cf_cross *a = &sort_cross_base[*(const uint32_t *)x];
  const cf_cross *b = &sort_cross_base[*(const uint32_t *)y];
  double da = a->dist[a->link[0] != sort_cross_link], db = b->dist[b->link[0] != sort_cross_link];
  if (da < db) return -1;
  if (da > db) return 1;
  return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

void gw__cf_free(gw_sim *sim) {
  gw_cf *cf = sim->cf;
  if (!cf) return;
  gw__free(cf->cross);
  gw__free(cf->lk_off);
  gw__free(cf->lk_cross);
  gw__free(cf->jl_off);
  gw__free(cf->jl);
  gw__free(cf->prio);
  gw__free(cf->enter);
  gw__free(cf->prev);
  gw__free(cf->blocker);
  gw__free(cf->blocker_new);
  gw__free(cf->ghost_veh);
  gw__free(cf->ghost_lane);
  gw__free(cf->ghost_off);
  gw__free(cf->ghost_max);
  gw__free(cf->lane_ghosts);
  gw__free(cf->want);
  gw__free(cf->wanting);
  gw__free(cf->sig_recv);
  gw__free(cf->sig_leader);
  gw__free(cf->sig_room);
  gw__free(cf->lc_way);
  gw__free(cf->lc_alongside);
  gw__free(cf);
  sim->cf = NULL;
}

/* The crosses of every intersection, and the per-vehicle state. */
static int cf_init(gw_sim *sim) {
  const gw_net *net = sim->net;
  gw_cf *cf = gw__calloc(1, sizeof *cf);
  if (!cf) return GW_ENOMEM;
  sim->cf = cf;
  uint32_t nl = (uint32_t)net->links.n, nj = (uint32_t)net->junctions.n, nv = sim->nveh;
  cf->lk_off = gw__calloc(nl + 2, sizeof *cf->lk_off);
  cf->jl_off = gw__calloc(nj + 2, sizeof *cf->jl_off);
  cf->jl = gw__calloc(nl + 1, sizeof *cf->jl);
  cf->prio = gw__calloc(nv + 1, sizeof *cf->prio);
  cf->enter = gw__calloc(nv + 1, sizeof *cf->enter);
  cf->prev = gw__calloc(nv + 1, sizeof *cf->prev);
  cf->blocker = gw__calloc(nv + 1, sizeof *cf->blocker);
  cf->blocker_new = gw__calloc(nv + 1, sizeof *cf->blocker_new);
  cf->lane_ghosts = gw__calloc(net->lanes.n + 1, sizeof *cf->lane_ghosts);
  cf->want = gw__calloc(nv + 1, sizeof *cf->want);
  cf->wanting = gw__calloc(nv + 1, sizeof *cf->wanting);
  cf->sig_recv = gw__calloc(nv + 1, sizeof *cf->sig_recv);
  cf->sig_leader = gw__calloc(nv + 1, sizeof *cf->sig_leader);
  cf->sig_room = gw__calloc(nv + 1, sizeof *cf->sig_room);
  cf->lc_way = gw__calloc(nv + 1, sizeof *cf->lc_way);
  cf->lc_alongside = gw__calloc(nv + 1, sizeof *cf->lc_alongside);
  if (!cf->lc_way || !cf->lc_alongside || !cf->want || !cf->wanting || !cf->sig_recv ||
      !cf->sig_leader || !cf->sig_room || !cf->lk_off || !cf->jl_off || !cf->jl || !cf->prio ||
      !cf->enter || !cf->prev || !cf->blocker || !cf->blocker_new || !cf->lane_ghosts)
    return GW_ENOMEM;
  for (uint32_t i = 0; i < nv; i++) {
    cf->prio[i] =
        (uint32_t)(gw__rng_uniform(sim->cfg.seed, ((uint64_t)i << 4) | 5, 0) * 4294967295.0);
    cf->enter[i] = UINT64_MAX;
    cf->prev[i] = cf->blocker[i] = cf->blocker_new[i] = GW_NONE;
    cf->sig_recv[i] = cf->sig_leader[i] = GW_NONE;
  }
  /* Links with internal lanes, by junction, in link order. */
  for (uint32_t l = 0; l < nl; l++)
    if (net->links.a[l].via[0] != GW_NONE && net->links.a[l].junction < nj)
      cf->jl_off[net->links.a[l].junction + 1]++;
  for (uint32_t j = 0; j < nj; j++) cf->jl_off[j + 1] += cf->jl_off[j];
  {
    uint32_t *fill = gw__calloc(nj + 1, sizeof *fill);
    if (!fill) return GW_ENOMEM;
    for (uint32_t l = 0; l < nl; l++) {
      const gw_link *lk = &net->links.a[l];
      if (lk->via[0] == GW_NONE || lk->junction >= nj) continue;
      cf->jl[cf->jl_off[lk->junction] + fill[lk->junction]++] = l;
    }
    gw__free(fill);
  }
  /* Crosses. */
  uint32_t cap = 0, maxpts = 0;
  for (uint32_t l = 0; l < nl; l++) {
    const gw_link *lk = &net->links.a[l];
    uint32_t m = 0;
    for (int p = 0; p < 2; p++)
      if (lk->via[p] != GW_NONE) m += net->lanes.a[lk->via[p]].shape_n;
    if (m > maxpts) maxpts = m;
  }
  double *pa = gw__malloc((2 * (size_t)maxpts + 2) * sizeof *pa);
  double *pb = gw__malloc((2 * (size_t)maxpts + 2) * sizeof *pb);
  if (!pa || !pb) {
    gw__free(pa);
    gw__free(pb);
    return GW_ENOMEM;
  }
  int rc = GW_OK;
  for (uint32_t j = 0; j < nj && rc == GW_OK; j++) {
    for (uint32_t x = cf->jl_off[j]; x < cf->jl_off[j + 1] && rc == GW_OK; x++) {
      uint32_t na = link_path(net, cf->jl[x], pa, maxpts);
      for (uint32_t y = x + 1; y < cf->jl_off[j + 1]; y++) {
        uint32_t nb = link_path(net, cf->jl[y], pb, maxpts);
        double da, db;
        if (!paths_meet(pa, na, pb, nb, &da, &db)) continue;
        if (cf->ncross == cap) {
          cap = cap ? cap * 2 : 256;
          cf_cross *p = gw__realloc(cf->cross, cap * sizeof *p);
          if (!p) {
            rc = GW_ENOMEM;
            break;
          }
          cf->cross = p;
        }
        cf_cross *c = &cf->cross[cf->ncross++];
        c->link[0] = cf->jl[x];
        c->link[1] = cf->jl[y];
        c->dist[0] = da;
        c->dist[1] = db;
        c->veh[0] = c->veh[1] = GW_NONE;
        c->ndist[0] = c->ndist[1] = 0;
      }
    }
  }
  gw__free(pa);
  gw__free(pb);
  if (rc) return rc;
  for (uint32_t c = 0; c < cf->ncross; c++) {
    cf->lk_off[cf->cross[c].link[0] + 1]++;
    cf->lk_off[cf->cross[c].link[1] + 1]++;
  }
  for (uint32_t l = 0; l < nl; l++) cf->lk_off[l + 1] += cf->lk_off[l];
  cf->lk_cross = gw__malloc(((size_t)cf->lk_off[nl] + 1) * sizeof *cf->lk_cross);
  uint32_t *fill = gw__calloc(nl + 1, sizeof *fill);
  if (!cf->lk_cross || !fill) {
    gw__free(fill);
    return GW_ENOMEM;
  }
  for (uint32_t c = 0; c < cf->ncross; c++)
    for (int s = 0; s < 2; s++) {
      uint32_t l = cf->cross[c].link[s];
      cf->lk_cross[cf->lk_off[l] + fill[l]++] = c;
    }
  gw__free(fill);
  sort_cross_base = cf->cross;
  for (uint32_t l = 0; l < nl; l++) {
    sort_cross_link = l;
    qsort(cf->lk_cross + cf->lk_off[l], cf->lk_off[l + 1] - cf->lk_off[l], sizeof *cf->lk_cross,
          cmp_cross);
  }
  return GW_OK;
}

static inline uint32_t cross_side(const cf_cross *c, uint32_t link) { return c->link[0] != link; }

/* Distance of a vehicle's front from the start of the lane link it is on. */
static double link_pos(const gw_sim *sim, const gw_veh *v) {
  const gw_net *net = sim->net;
  const gw_link *lk = &net->links.a[net->lanes.a[v->lane].link];
  if (v->via_i == 1 && lk->via[0] != GW_NONE) return net->lanes.a[lk->via[0]].length_m + v->pos;
  return v->pos;
}

static double link_len(const gw_sim *sim, uint32_t link) {
  const gw_net *net = sim->net;
  const gw_link *lk = &net->links.a[link];
  double s = 0;
  for (int p = 0; p < 2; p++)
    if (lk->via[p] != GW_NONE) s += net->lanes.a[lk->via[p]].length_m;
  return s;
}

static void cf_notify1(cf_cross *c, uint32_t link, uint32_t vi, double d) {
  uint32_t s = cross_side(c, link);
  if (c->veh[s] != GW_NONE) return;
  c->veh[s] = vi;
  c->ndist[s] = d;
}

/* CityFlow's notify: for each lane link, from its farthest cross back, the
** nearest vehicle to each cross: the last vehicle of the exit lane while its
** back is not yet past it, the vehicles on the link, then the first vehicle
** of the entry lane when the link is green and it is its next link. */
static void cf_notify(gw_sim *sim) {
  const gw_net *net = sim->net;
  gw_cf *cf = sim->cf;
  for (uint32_t c = 0; c < cf->ncross; c++) cf->cross[c].veh[0] = cf->cross[c].veh[1] = GW_NONE;
  for (uint32_t l = 0; l < net->links.n; l++) {
    uint32_t c0 = cf->lk_off[l], r = cf->lk_off[l + 1];
    if (r == c0) continue;
    const gw_link *lk = &net->links.a[l];
    double len = link_len(sim, l);
    /* The exit lane's last vehicle, if it came along this link. */
    const lane_rt *E = &sim->lanes[lk->to_lane];
    if (E->n > 0 && cf->prev[E->v[E->n - 1]] == l) {
      uint32_t vi = E->v[E->n - 1];
      const gw_veh *v = &sim->veh[vi];
      double back = v->pos - v->length;
      while (r > c0) {
        cf_cross *c = &cf->cross[cf->lk_cross[r - 1]];
        double cd = len - c->dist[cross_side(c, l)];
        if (!(cd + back < 0)) break;
        cf_notify1(c, l, vi, -(v->pos + cd));
        r--;
      }
    }
    /* Vehicles on the link, front first. */
    for (int p = 1; p >= 0; p--) {
      if (lk->via[p] == GW_NONE) continue;
      const lane_rt *V = &sim->lanes[lk->via[p]];
      for (uint32_t k = 0; k < V->n; k++) {
        uint32_t vi = V->v[k];
        const gw_veh *v = &sim->veh[vi];
        double d = link_pos(sim, v);
        while (r > c0) {
          cf_cross *c = &cf->cross[cf->lk_cross[r - 1]];
          double cd = c->dist[cross_side(c, l)];
          if (d > cd && d - cd - v->length > 0) break;
          cf_notify1(c, l, vi, cd - d);
          r--;
        }
      }
    }
    /* The entry lane's first vehicle. */
    const lane_rt *S = &sim->lanes[lk->from_lane];
    if (r > c0 && S->n > 0) {
      uint32_t vi = S->v[0];
      const gw_veh *v = &sim->veh[vi];
      if (v->link == l && is_go(gw__link_state(sim, l))) {
        double d = net->lanes.a[lk->from_lane].length_m - v->pos;
        for (; r > c0; r--) {
          cf_cross *c = &cf->cross[cf->lk_cross[r - 1]];
          cf_notify1(c, l, vi, d + c->dist[cross_side(c, l)]);
        }
      }
    }
  }
}

/* CityFlow's road link types: straight 3, left 2, right 1. */
static int link_type(char dir) {
  if (dir == 's') return 3;
  if (dir == 'r' || dir == 'R') return 1;
  return 2;
}

static int can_yield(const gw_veh *v, double d) {
  return (d > 0 && 0.5 * v->speed * v->speed / v->edecel < d - CF_YIELD_DIST) ||
         (d < 0 && d + v->length < 0);
}

/* Steps to cover d reaching `target` with acceleration acc (CityFlow's
** getReachSteps, its units kept). */
static int reach_steps(const gw_veh *v, double d, double target, double dt) {
  double acc = v->accel;
  if (d <= 0) return 0;
  if (v->speed > target) return (int)ceil(d / v->speed);
  double until = 0;
  if (target > v->speed) {
    double st = floor((target - v->speed) / acc / dt);
    double s1 = v->speed + st * acc / dt;
    until = (v->speed + s1) * (st * dt) / 2 + (s1 < target ? (s1 + target) * dt / 2 : 0);
  }
  if (until > d) return (int)ceil((sqrt(v->speed * v->speed + 2 * acc * d) - v->speed) / acc / dt);
  return (int)(ceil((target - v->speed) / acc / dt) + ceil((d - until) / target / dt));
}

static int reach_steps_on(const gw_sim *sim, const gw_veh *v, double d, uint32_t link) {
  double target = sim->net->links.a[link].dir != 's' ? CF_TURN_SPEED : v->max_speed;
  return reach_steps(v, d, target, sim->cfg.step_s);
}

/* CityFlow's Cross::canPass for vehicle vi on `link` at dstart from its
** start (negative before it); *foe_out gets the foe when it cannot pass. */
static int can_pass(const gw_sim *sim, const cf_cross *c, uint32_t vi, uint32_t link, double dstart,
                    uint32_t *foe_out) {
  const gw_cf *cf = sim->cf;
  uint32_t i = cross_side(c, link);
  uint32_t fi = c->veh[1 - i];
  if (fi == GW_NONE || fi == vi) return 1;
  const gw_veh *v = &sim->veh[vi], *f = &sim->veh[fi];
  const gw_net *net = sim->net;
  int t1 = link_type(net->links.a[c->link[i]].dir),
      t2 = link_type(net->links.a[c->link[1 - i]].dir);
  double d1 = c->dist[i] - dstart, d2 = c->ndist[1 - i];
  if (!can_yield(v, d1)) return 1;
  int yield = 0;
  if (!can_yield(f, d2)) yield = 1;
  if (yield == 0) {
    if (t1 > t2) {
      yield = -1;
    } else if (t1 < t2) {
      if (d2 > 0) {
        if (reach_steps_on(sim, f, d2, c->link[1 - i]) > reach_steps_on(sim, v, d1, link))
          yield = -1;
      } else if (d2 + f->length < 0) {
        yield = -1;
      }
      if (yield == 0) yield = 1;
    } else if (d2 > 0) {
      int fs = reach_steps_on(sim, f, d2, c->link[1 - i]), ms = reach_steps_on(sim, v, d1, link);
      if (fs > ms) {
        yield = -1;
      } else if (fs < ms) {
        yield = 1;
      } else if (cf->enter[vi] == cf->enter[fi]) {
        if (d1 == d2)
          yield = cf->prio[vi] > cf->prio[fi] ? -1 : 1;
        else
          yield = d1 < d2 ? -1 : 1;
      } else {
        yield = cf->enter[vi] < cf->enter[fi] ? -1 : 1;
      }
    } else {
      yield = d2 + f->length < 0 ? -1 : 1;
    }
  }
  if (yield == 1) {
    /* A cycle of vehicles each yielding to the next: go. */
    uint32_t slow = fi, fast = fi;
    while (fast != GW_NONE && cf->blocker[fast] != GW_NONE) {
      slow = cf->blocker[slow];
      fast = cf->blocker[cf->blocker[fast]];
      if (slow == fast) {
        yield = -1;
        break;
      }
    }
  }
  if (yield == 1) *foe_out = fi;
  return yield == -1;
}

/* CityFlow's getIntersectionRelatedSpeed. */
static double isect_speed(gw_sim *sim, uint32_t vi) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_lane *ln = &net->lanes.a[v->lane];
  double s = v->max_speed, dstart;
  uint32_t link;
  if (!ln->internal) {
    link = v->link;
    const gw_link *lk = &net->links.a[link];
    double remain = ln->length_m - v->pos;
    if (!is_go(gw__link_state(sim, link)) || !can_enter(sim, v, lk->to_lane)) {
      if (!(0.5 * v->speed * v->speed / v->edecel > remain)) {
        double sb = stop_before_speed(v, remain > 0 ? remain : 0, dt);
        return sb < s ? sb : s;
      }
    }
    if (lk->dir != 's' && s > CF_TURN_SPEED) s = CF_TURN_SPEED;
    dstart = -remain;
  } else {
    link = ln->link;
    dstart = link_pos(sim, v);
  }
  const gw_cf *cf = sim->cf;
  for (uint32_t k = cf->lk_off[link]; k < cf->lk_off[link + 1]; k++) {
    const cf_cross *c = &cf->cross[cf->lk_cross[k]];
    double d = c->dist[cross_side(c, link)];
    if (d < dstart) continue;
    uint32_t foe = GW_NONE;
    if (!can_pass(sim, c, vi, link, dstart, &foe)) {
      double sb = stop_before_speed(v, d - dstart - CF_YIELD_DIST, dt);
      if (sb < s) s = sb;
      cf->blocker_new[vi] = foe;
      break;
    }
  }
  return s;
}

/* The nearest ghost (a vehicle still changing out of `lane`) ahead of pos on
** lane; NULL if none. */
static const gw_veh *ghost_ahead(const gw_sim *sim, uint32_t lane, double pos, uint32_t self,
                                 double *gap) {
  const gw_cf *cf = sim->cf;
  const gw_veh *best = NULL;
  for (uint32_t g = 0; g < cf->nghost; g++) {
    if (cf->ghost_lane[g] != lane || cf->ghost_veh[g] == self) continue;
    const gw_veh *u = &sim->veh[cf->ghost_veh[g]];
    double gg = u->pos - u->length - pos;
    if (u->pos > pos && (!best || gg < *gap)) best = u, *gap = gg;
  }
  return best;
}

/* The next link of a vehicle that just reached normal lane v->lane. */
static void on_lane(gw_sim *sim, gw_veh *v, uint32_t vi) {
  (void)vi;
  v->link = choose_link(sim, v->trip, v->lane, v->ri);
}

static void want_push(gw_sim *sim, uint32_t vi) {
  gw_cf *cf = sim->cf;
  if (cf->nwant < sim->nveh) cf->want[cf->nwant++] = vi;
}

static double plan_vehicle(gw_sim *sim, uint32_t vi, uint32_t idx) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_lane *ln = &net->lanes.a[v->lane];
  double s = v->max_speed;
  if (v->speed + v->accel * dt < s) s = v->speed + v->accel * dt;
  /* Lane links have no limit of their own in CityFlow. */
  if (!ln->internal && ln->speed_mps < s) s = ln->speed_mps;
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
  if (sim->cf->lane_ghosts[v->lane]) {
    double gg = 0;
    const gw_veh *g = ghost_ahead(sim, v->lane, v->pos, vi, &gg);
    if (g && (!ld || gg < gap)) {
      double f = follow_speed(v, g, gg, dt);
      if (f < s) s = f;
    }
  }
  /* CityFlow's yieldSpeed: a follower signalled by a changer keeps behind
  ** it with the room the changer needs (unless it is too fast to). */
  uint32_t src = sim->cf->sig_recv[vi];
  int outranked = src != GW_NONE;
  if (src != GW_NONE) {
    sim->cf->sig_recv[vi] = GW_NONE;
    if (sim->cf->sig_leader[src] != vi) {
      const gw_veh *u = &sim->veh[src];
      double y = no_collision_speed(u->speed, u->edecel, v->speed, v->edecel,
                                    sim->cf->sig_room[src], dt, 0);
      if (y >= 0 && y < s) s = y;
    }
  }
  /* Near or on an intersection. */
  if (!ln->internal && v->link == GW_NONE && v->ri + 1 < v->trip->route_n) want_push(sim, vi);
  if (ln->internal || (v->link != GW_NONE && net->links.a[v->link].via[0] != GW_NONE &&
                       ln->length_m - v->pos <= look)) {
    double f = isect_speed(sim, vi);
    if (f < s) s = f;
  } else if (v->link == GW_NONE && v->ri + 1 < v->trip->route_n) {
    /* On a lane that does not lead on: stop at its end (CityFlow's rule
    ** for a vehicle off its valid lanes) and ask for a lane change.  As
    ** CityFlow's forced lane change, it stops first where it still has
    ** room to change (its safe distance plus its length before the end),
    ** unless a stopped vehicle that must change too stands alongside on
    ** its target lane and no changer outranks it this step: then it drives
    ** on to the end to let that one in behind it. */
    gw_cf *cf = sim->cf;
    double remain = ln->length_m - v->pos;
    if (cf->lc_way[vi] > 0 && !(cf->lc_alongside[vi] && !outranked)) {
      double vmax = ln->speed_mps < v->max_speed ? ln->speed_mps : v->max_speed;
      double early = remain - (cf->lc_way[vi] / CF_LC_RATIO + vmax * dt) - v->length;
      if (early > 0) remain = early;
    }
    double f = no_collision_speed(0, 1, v->speed, v->edecel, remain, dt, v->min_gap);
    if (f < s) s = f;
  } else if (v->link != GW_NONE && ln->length_m - v->pos <= look) {
    /* A link without an internal lane (SUMO nets): the light and the exit lane only. */
    const gw_link *lk = &net->links.a[v->link];
    double remain = ln->length_m - v->pos;
    if ((!is_go(gw__link_state(sim, v->link)) || !can_enter(sim, v, lk->to_lane)) &&
        !(0.5 * v->speed * v->speed / v->edecel > remain)) {
      double sb = stop_before_speed(v, remain > 0 ? remain : 0, dt);
      if (sb < s) s = sb;
    }
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

/* A vehicle starts changing out of `lane`: it holds it until its lateral
** offset reaches `width` (CityFlow's shadow vehicle). */
static int ghost_add(gw_sim *sim, uint32_t vi, uint32_t lane, double width) {
  gw_cf *cf = sim->cf;
  if (cf->nghost == cf->ghost_cap) {
    uint32_t cap = cf->ghost_cap ? cf->ghost_cap * 2 : 64;
    uint32_t *a = gw__realloc(cf->ghost_veh, cap * sizeof *a);
    if (!a) return GW_ENOMEM;
    cf->ghost_veh = a;
    uint32_t *b = gw__realloc(cf->ghost_lane, cap * sizeof *b);
    if (!b) return GW_ENOMEM;
    cf->ghost_lane = b;
    double *c = gw__realloc(cf->ghost_off, cap * sizeof *c);
    if (!c) return GW_ENOMEM;
    cf->ghost_off = c;
    double *d = gw__realloc(cf->ghost_max, cap * sizeof *d);
    if (!d) return GW_ENOMEM;
    cf->ghost_max = d;
    cf->ghost_cap = cap;
  }
  uint32_t g = cf->nghost++;
  cf->ghost_veh[g] = vi;
  cf->ghost_lane[g] = lane;
  cf->ghost_off[g] = 0;
  cf->ghost_max[g] = width;
  cf->lane_ghosts[lane]++;
  return GW_OK;
}

/* After the move: offsets grow by max(0.2 v, 1) m/s; a change ends when
** its offset reaches the lane spacing or the vehicle left the road. */
static void ghosts_update(gw_sim *sim) {
  gw_cf *cf = sim->cf;
  const gw_net *net = sim->net;
  uint32_t keep = 0;
  for (uint32_t g = 0; g < cf->nghost; g++) {
    const gw_veh *v = &sim->veh[cf->ghost_veh[g]];
    double step = 0.2 * v->speed > 1 ? 0.2 * v->speed : 1;
    cf->ghost_off[g] += step * sim->cfg.step_s;
    int done = cf->ghost_off[g] >= cf->ghost_max[g] || v->state != VS_RUNNING ||
               net->lanes.a[v->lane].edge != net->lanes.a[cf->ghost_lane[g]].edge;
    if (done) {
      cf->lane_ghosts[cf->ghost_lane[g]]--;
      continue;
    }
    cf->ghost_veh[keep] = cf->ghost_veh[g];
    cf->ghost_lane[keep] = cf->ghost_lane[g];
    cf->ghost_off[keep] = cf->ghost_off[g];
    cf->ghost_max[keep] = cf->ghost_max[g];
    keep++;
  }
  cf->nghost = keep;
}

/* 1 while vehicle vi is still changing lanes. */
static int is_changing(const gw_sim *sim, uint32_t vi) {
  const gw_cf *cf = sim->cf;
  for (uint32_t g = 0; g < cf->nghost; g++)
    if (cf->ghost_veh[g] == vi) return 1;
  return 0;
}

/* The changer's neighbours on its target lane, as CityFlow's
** updateLeaderAndFollower finds them: the leader (the first vehicle ahead,
** else the last vehicle of a lane link out of the lane while its back is
** still on the lane) and its gap (else the rest of the lane), the follower
** (the first vehicle behind) and its gap (HUGE_VAL when none). */
static void target_neighbours(const gw_sim *sim, uint32_t lane, const gw_veh *v,
                              const gw_veh **leader, double *lgap, const gw_veh **follower,
                              double *fgap) {
  const gw_net *net = sim->net;
  *lgap = gap_on(sim, lane, v, leader, follower);
  *fgap = *follower ? v->pos - (*follower)->pos - v->length : HUGE_VAL;
  if (*leader) return;
  const gw_lane *ln = &net->lanes.a[lane];
  for (uint32_t k = 0; k < ln->out_n; k++) {
    uint32_t via = net->links.a[net->refs.a[ln->out_off + k]].via[0];
    if (via == GW_NONE || sim->lanes[via].n == 0) continue;
    const gw_veh *c = &sim->veh[sim->lanes[via].v[sim->lanes[via].n - 1]];
    if (c->pos >= c->length) continue;
    double g = ln->length_m - v->pos + c->pos - c->length;
    if (!*leader || g < *lgap) *leader = c, *lgap = g;
  }
}

/* 1 if vehicle vi makes a lane-change signal of its own this step: CityFlow
** makes one for every vehicle past its cooling time when lane changing is
** on; here also every vehicle that must change. */
static int sends_signal(const gw_sim *sim, uint32_t vi) {
  if (sim->cf->wanting[vi]) return 1;
  return sim->cfg.lane_change && sim->t - sim->veh[vi].cf_lc_t >= CF_LC_COOLING_S - 1e-9;
}

/* CityFlow's receiveSignal: a vehicle that is not changing keeps the signal
** of the changer with the highest priority, unless its own ranks higher. */
static void receive_signal(gw_sim *sim, uint32_t ri, uint32_t src) {
  gw_cf *cf = sim->cf;
  if (cf->nghost && is_changing(sim, ri)) return;
  uint32_t cur = cf->sig_recv[ri];
  if (cur != GW_NONE && !(cf->prio[cur] < cf->prio[src])) return;
  if (sends_signal(sim, ri) && !(cf->prio[ri] < cf->prio[src])) return;
  cf->sig_recv[ri] = src;
}

/* CityFlow's sendSignal: changer vi signals its target leader and follower;
** a follower that keeps the signal makes room (see plan_vehicle). */
static void send_signal(gw_sim *sim, uint32_t vi, const gw_veh *leader, const gw_veh *follower,
                        double fgap) {
  gw_cf *cf = sim->cf;
  cf->sig_leader[vi] = leader ? (uint32_t)(leader - sim->veh) : GW_NONE;
  if (follower)
    cf->sig_room[vi] = fgap - 0.5 * follower->speed * follower->speed / follower->edecel;
  if (leader) receive_signal(sim, (uint32_t)(leader - sim->veh), vi);
  if (follower) receive_signal(sim, (uint32_t)(follower - sim->veh), vi);
}

/* Vehicles on a lane that does not lead on (possible on SUMO nets, whose
** lanes may end in one turn a few roads ahead) move one lane towards one
** that does as soon as the gaps allow, whether or not lane changing is on. */
static void lane_change_needed(gw_sim *sim) {
  const gw_net *net = sim->net;
  gw_cf *cf = sim->cf;
  uint32_t n = cf->nwant;
  cf->nwant = 0;
  for (uint32_t w = 0; w < n; w++) {
    uint32_t vi = cf->want[w];
    gw_veh *v = &sim->veh[vi];
    if (v->state != VS_RUNNING || v->link != GW_NONE || v->changed) continue;
    const gw_lane *ln = &net->lanes.a[v->lane];
    if (ln->internal || v->ri + 1 >= v->trip->route_n || is_changing(sim, vi)) continue;
    const gw_edge *e = &net->edges.a[ln->edge];
    int best = -1, bd = 1 << 30;
    for (uint32_t i = 0; i < e->nlanes; i++)
      if (choose_link(sim, v->trip, e->lane0 + i, v->ri) != GW_NONE) {
        int d = (int)i - (int)ln->index;
        if (d < 0) d = -d;
        if (d < bd) bd = d, best = (int)i;
      }
    cf->lc_way[vi] = 0;
    cf->lc_alongside[vi] = 0;
    if (best < 0) continue;
    int dir = best > (int)ln->index ? 1 : -1;
    uint32_t target = e->lane0 + (uint32_t)((int)ln->index + dir);
    for (int i = (int)ln->index; i != best; i += dir)
      cf->lc_way[vi] += 0.5 * (net->lanes.a[e->lane0 + (uint32_t)i].width_m +
                               net->lanes.a[e->lane0 + (uint32_t)(i + dir)].width_m);
    const gw_veh *a, *b;
    double lg, fg;
    target_neighbours(sim, target, v, &a, &lg, &b, &fg);
    for (int side = 0; side < 2; side++) {
      const gw_veh *u = side ? b : a;
      if (u && u->speed < CF_HALT && fabs(u->pos - v->pos) < v->length &&
          cf->wanting[u - sim->veh] && u->lane == target)
        cf->lc_alongside[vi] = 1;
    }
    send_signal(sim, vi, a, b, fg);
    if (cf->sig_recv[vi] != GW_NONE) continue; /* a changer of higher priority */
    if (a && lg < 0.5 * v->speed * v->speed / v->edecel) continue;
    if (a && lg < 0) continue;
    if (b && fg < 0.5 * b->speed * b->speed / b->edecel + 0.1) continue;
    if (ghost_add(sim, vi, v->lane, 0.5 * (ln->width_m + net->lanes.a[target].width_m))) continue;
    gw__lane_remove(sim, v->lane, vi);
    v->lane = target;
    v->changed = 1;
    v->cf_lc_t = sim->t;
    cf->prev[vi] = GW_NONE;
    gw__lane_insert(sim, target, vi);
    on_lane(sim, v, vi);
  }
  for (uint32_t w = 0; w < n; w++) cf->wanting[cf->want[w]] = 0;
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
      if (sim->cf->nghost && is_changing(sim, vi)) continue;
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
      double lg, fg;
      target_neighbours(sim, target, v, &a, &lg, &b, &fg);
      send_signal(sim, vi, a, b, fg);
      if (sim->cf->sig_recv[vi] != GW_NONE) continue; /* a changer of higher priority */
      if (lg < 0.5 * v->speed * v->speed / v->edecel) continue;
      if (b && fg < 0.5 * b->speed * b->speed / b->edecel) continue;
      if (ghost_add(sim, vi, l, 0.5 * (ln->width_m + net->lanes.a[target].width_m))) continue;
      gw__lane_remove(sim, l, vi);
      v->lane = target;
      v->changed = 1;
      v->cf_lc_t = sim->t;
      sim->cf->prev[vi] = GW_NONE;
      gw__lane_insert(sim, target, vi);
      on_lane(sim, v, vi);
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
  /* Lanes that keep the route open further, when only some do (SUMO nets). */
  uint32_t deep[32], nd = 0;
  for (uint32_t i = 0; i < nc; i++)
    if (lane_feasible(net, tr, cand[i], 0, CF_PLAN_DEPTH)) deep[nd++] = cand[i];
  if (nd > 0 && nd < nc) {
    memcpy(cand, deep, nd * sizeof *deep);
    nc = nd;
  }
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
      on_lane(sim, v, vi);
      sim->cf->prev[vi] = GW_NONE;
      sim->cf->enter[vi] = UINT64_MAX;
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
static int advance(gw_sim *sim, gw_veh *v, uint32_t vi) {
  const gw_net *net = sim->net;
  const gw_lane *cl = &net->lanes.a[v->lane];
  gw_cf *cf = sim->cf;
  if (!cl->internal) {
    if (v->link == GW_NONE) return 0;
    const gw_link *lk = &net->links.a[v->link];
    if (lk->via[0] != GW_NONE) {
      v->lane = lk->via[0];
      v->via_i = 0;
      cf->enter[vi] = sim->step;
      return 1;
    }
    v->lane = lk->to_lane;
    cf->prev[vi] = GW_NONE;
  } else {
    cf->prev[vi] = cl->link;
    cf->enter[vi] = UINT64_MAX;
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
  on_lane(sim, v, vi);
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
        if (!advance(sim, v, vi)) {
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
  if (!sim->cf) {
    int rc0 = cf_init(sim);
    if (rc0) {
      gw__cf_free(sim);
      return rc0;
    }
  }
  gw_cf *cf = sim->cf;
  gw__signals_step(sim);
  int rc = insert(sim);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) sim->veh[L->v[k]].changed = 0;
  }
  for (uint32_t w = 0; w < cf->nwant; w++) cf->wanting[cf->want[w]] = 1;
  if (sim->cfg.lane_change) lane_change(sim);
  if (cf->nwant) lane_change_needed(sim);
  cf_notify(sim);
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) sim->veh[L->v[k]].vnext = plan_vehicle(sim, L->v[k], k);
  }
  gw__detectors_begin_step(sim);
  move(sim);
  if (cf->nghost) ghosts_update(sim);
  /* Blockers seen by the next step's deadlock check. */
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      uint32_t i = L->v[k], bk = cf->blocker_new[i];
      cf->blocker[i] = bk != GW_NONE && sim->veh[bk].state == VS_RUNNING ? bk : GW_NONE;
      cf->blocker_new[i] = GW_NONE;
    }
  }
  gw__detectors_end_step(sim);
  sim->stats.veh_steps += sim->stats.running;
  if (sim->stats.running > sim->stats.peak_running) sim->stats.peak_running = sim->stats.running;
  sim->step++;
  sim->t = sim->cfg.begin_s + (double)sim->step * sim->cfg.step_s;
  return rc;
}

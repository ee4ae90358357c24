/*
** sim.c -- gw_sim: creation, the step, insertion, arrival and trip records.
**
** gw_sim_step reads like the algorithm it runs:
**
**   signals        advance fixed-time programs
**   plan           every vehicle computes its safe speed from leaders, red
**                  lights and lane ends ahead, and registers its approach to
**                  the next junction link
**   yield          vehicles at minor links (permissive 'g', unsignalised
**                  minor roads, internal junctions of left turns) stop when
**                  a foe with the right of way arrives within their window
**   move           dawdle, set the new speed, advance, cross onto next lanes,
**                  arrive
**   change lanes   strategic, speed gain, keep right (lanes.c)
**   insert         due vehicles enter at the start of their first edge
**   teleport       vehicles stuck longer than the threshold are moved on
**
** Randomness is drawn from a counter-based generator keyed by (seed,
** vehicle, step), so results do not depend on the order of processing.
*/
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "sim/carfollow.h"
#include "sim/sim_int.h"

#define HALT_SPEED 0.1
#define YIELD_HEADWAY_S 1.0
/* In sim->ij_lanes: the lane is the first part of a foe's path, whose
** vehicles wait at their own internal junction. */
#define IJ_FIRST 0x80000000u

void gw_sim_config_defaults(gw_sim_config *c) {
  c->step_s = 1.0;
  c->begin_s = 0;
  c->end_s = -1;
  c->seed = 42;
  c->time_to_teleport_s = 300;
  c->dynamics = GW_DYNAMICS_SUMO;
  c->lane_change = 0;
}

static double rng_u(const gw_sim *sim, uint32_t vi, uint64_t purpose) {
  return gw__rng_uniform(sim->cfg.seed, ((uint64_t)vi << 4) | purpose, sim->step);
}

/* Standard normal from two uniforms (Box-Muller), for speed factors. */
static double rng_normal(uint64_t seed, uint32_t vi) {
  double u1 = gw__rng_uniform(seed, ((uint64_t)vi << 4) | 7, 0);
  double u2 = gw__rng_uniform(seed, ((uint64_t)vi << 4) | 7, 1);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* A growable list of uint32, for building the internal-junction tables. */
typedef struct u32list {
  uint32_t *a;
  uint32_t n, cap;
} u32list;

static int u32_push(u32list *l, uint32_t x) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 256;
    uint32_t *p = gw__realloc(l->a, cap * sizeof *p);
    if (!p) return GW_ENOMEM;
    l->a = p;
    l->cap = cap;
  }
  l->a[l->n++] = x;
  return GW_OK;
}

static int link_in(const gw_net *net, uint32_t off, uint32_t n, uint32_t link) {
  for (uint32_t i = 0; i < n; i++)
    if (net->refs.a[off + i] == link) return 1;
  return 0;
}

/* The foe lanes of one internal junction, as SUMO reads them: a listed
** lane that is the last (or only) part of a foe's path counts; a listed
** first part of a foe that waits at an internal junction of its own counts
** only when this link yields to that foe at the junction (response), and
** then only its vehicles that entered before ours (IJ_FIRST); the second
** part after it always counts. */
static int ij_lanes_of(const gw_sim *sim, uint32_t link, u32list *out) {
  const gw_net *net = sim->net;
  const gw_link *lk = &net->links.a[link];
  uint32_t j;
  const char *s = NULL;
  if (gw__strmap_get(&net->junction_ids, net->lanes.a[lk->via[1]].id, &j))
    s = net->junctions.a[j].int_lanes;
  if (!s) { /* no internal junction record: every internal lane of the foes */
    for (uint32_t i = 0; i < lk->ij_n; i++) {
      const gw_link *f = &net->links.a[net->refs.a[lk->ij_off + i]];
      for (int p = 0; p < 2; p++)
        if (f->via[p] != GW_NONE && u32_push(out, f->via[p])) return GW_ENOMEM;
    }
    return GW_OK;
  }
  char id[512];
  while (*s) {
    while (*s == ' ') s++;
    size_t n = 0;
    while (s[n] && s[n] != ' ') n++;
    if (n == 0) break;
    uint32_t fl;
    if (n < sizeof id) {
      memcpy(id, s, n);
      id[n] = 0;
      if (gw__strmap_get(&net->lane_ids, id, &fl) && net->lanes.a[fl].link != GW_NONE &&
          net->lanes.a[fl].link != link) {
        uint32_t fk = net->lanes.a[fl].link;
        const gw_link *f = &net->links.a[fk];
        if (fl == f->via[0] && f->via[1] != GW_NONE) {
          if (u32_push(out, f->via[1])) return GW_ENOMEM;
          if (link_in(net, lk->yield_off, lk->yield_n, fk) && u32_push(out, fl | IJ_FIRST))
            return GW_ENOMEM;
        } else if (u32_push(out, fl)) {
          return GW_ENOMEM;
        }
      }
    }
    s += n;
  }
  return GW_OK;
}

/* Builds sim->ij_lane_off and sim->ij_lanes. */
static int build_ij(gw_sim *sim) {
  const gw_net *net = sim->net;
  u32list lanes = {0};
  sim->ij_lane_off = gw__calloc(net->links.n + 1, sizeof *sim->ij_lane_off);
  if (!sim->ij_lane_off) return GW_ENOMEM;
  for (uint32_t l = 0; l < net->links.n; l++) {
    const gw_link *lk = &net->links.a[l];
    sim->ij_lane_off[l] = lanes.n;
    if (lk->via[1] != GW_NONE && lk->ij_n > 0 && ij_lanes_of(sim, l, &lanes)) goto fail;
  }
  sim->ij_lane_off[net->links.n] = lanes.n;
  /* Never NULL, so that an empty table reads like any other. */
  if (u32_push(&lanes, GW_NONE)) goto fail;
  sim->ij_lanes = lanes.a;
  return GW_OK;
fail:
  gw__free(lanes.a);
  return GW_ENOMEM;
}

int gw_sim_create(const gw_net *net, const gw_demand *demand, const gw_sim_config *cfg,
                  gw_sim **out) {
  if (!net || !demand || !out) return GW_EINVAL;
  gw_sim_config c;
  gw_sim_config_defaults(&c);
  if (cfg) c = *cfg;
  if (!(c.step_s >= 0.01 && c.step_s <= 10)) return GW_ERANGE;
  if (c.dynamics != GW_DYNAMICS_SUMO && c.dynamics != GW_DYNAMICS_CITYFLOW) return GW_EINVAL;
  gw_sim *sim = gw__calloc(1, sizeof *sim);
  if (!sim) return GW_ENOMEM;
  sim->net = net;
  sim->demand = demand;
  sim->cfg = c;
  sim->t = c.begin_s;
  sim->nveh = gw_demand_trip_count(demand);
  sim->veh = gw__calloc(sim->nveh + 1, sizeof *sim->veh);
  sim->pending = gw__calloc(64, sizeof *sim->pending);
  sim->pend_cap = 64;
  sim->lanes = gw__calloc(net->lanes.n + 1, sizeof *sim->lanes);
  sim->tx = gw__calloc(sim->nveh + 1, sizeof *sim->tx);
  sim->link_head = gw__malloc((net->links.n + 1) * sizeof *sim->link_head);
  sim->link_busy = gw__calloc(net->links.n + 1, sizeof *sim->link_busy);
  sim->touched = gw__calloc(net->links.n + 1, sizeof *sim->touched);
  sim->edge_failed = gw__calloc(net->edges.n + 1, sizeof *sim->edge_failed);
  sim->lane_halt = gw__calloc(net->lanes.n + 1, sizeof *sim->lane_halt);
  sim->lane_n = gw__calloc(net->lanes.n + 1, sizeof *sim->lane_n);
  sim->lane_sig = gw__calloc(net->lanes.n + 1, sizeof *sim->lane_sig);
  sim->cf_stamp = gw__calloc(net->lanes.n + 1, sizeof *sim->cf_stamp);
  if (!sim->lane_sig || !sim->cf_stamp || !sim->edge_failed || !sim->lane_halt || !sim->lane_n ||
      !sim->veh || !sim->pending || !sim->lanes || !sim->tx || !sim->link_head || !sim->link_busy ||
      !sim->touched || gw__signals_init(sim) || gw__detectors_init(sim)) {
    gw_sim_destroy(sim);
    return GW_ENOMEM;
  }
  for (uint32_t l = 0; l < net->links.n; l++) sim->link_head[l] = GW_NONE;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const gw_lane *ln = &net->lanes.a[l];
    uint32_t to = ln->internal ? GW_NONE : net->edges.a[ln->edge].to;
    sim->lane_sig[l] = to != GW_NONE && net->junctions.a[to].tls != GW_NONE;
  }
  /* Incoming links per lane (counting sort by destination lane). */
  sim->in_off = gw__calloc(net->lanes.n + 2, sizeof *sim->in_off);
  sim->in_links = gw__calloc(net->links.n + 1, sizeof *sim->in_links);
  if (!sim->in_off || !sim->in_links) {
    gw_sim_destroy(sim);
    return GW_ENOMEM;
  }
  for (uint32_t l = 0; l < net->links.n; l++) sim->in_off[net->links.a[l].to_lane + 1]++;
  for (uint32_t l = 0; l < net->lanes.n; l++) sim->in_off[l + 1] += sim->in_off[l];
  for (uint32_t l = 0; l < net->links.n; l++)
    sim->in_links[sim->in_off[net->links.a[l].to_lane]++] = l;
  for (uint32_t l = (uint32_t)net->lanes.n; l > 0; l--) sim->in_off[l] = sim->in_off[l - 1];
  sim->in_off[0] = 0;
  if (build_ij(sim)) {
    gw_sim_destroy(sim);
    return GW_ENOMEM;
  }
  sim->stats.loaded = sim->nveh;
  for (uint32_t i = 0; i < sim->nveh; i++) {
    sim->veh[i].trip = gw_demand_trip(demand, i);
    sim->veh[i].vclass = gw_demand_vtype(demand, sim->veh[i].trip->vtype)->vclass;
  }
  /* Vehicles departing before `begin` are dropped, as SUMO does. */
  while (sim->next_trip < sim->nveh &&
         gw_demand_trip(demand, sim->next_trip)->depart_s < c.begin_s - 1e-9) {
    sim->veh[sim->next_trip].state = VS_DONE;
    sim->next_trip++;
  }
  *out = sim;
  return GW_OK;
}

void gw_sim_destroy(gw_sim *sim) {
  if (!sim) return;
  if (sim->lanes)
    for (uint32_t l = 0; l < sim->net->lanes.n; l++) gw__free(sim->lanes[l].v);
  gw__free(sim->lanes);
  gw__free(sim->veh);
  gw__free(sim->pending);
  gw__free(sim->tx);
  gw__free(sim->link_head);
  gw__free(sim->link_busy);
  gw__free(sim->touched);
  gw__free(sim->edge_failed);
  gw__free(sim->lane_halt);
  gw__free(sim->lane_n);
  gw__free(sim->lane_sig);
  gw__free(sim->cf_stamp);
  gw__cf_free(sim);
  gw__free(sim->in_off);
  gw__free(sim->in_links);
  gw__free(sim->ij_lane_off);
  gw__free(sim->ij_lanes);
  gw__free(sim->appr);
  if (sim->tls)
    for (uint32_t t = 0; t < sim->net->tls.n; t++) gw__free(sim->tls[t].ext);
  gw__free(sim->tls);
  gw__free(sim->det);
  gw__free(sim->det_read);
  gw__free(sim->lane_det);
  gw__free(sim);
}

void gw_sim_on_trip(gw_sim *sim, gw_trip_fn fn, void *ud) {
  sim->on_trip = fn;
  sim->on_trip_ud = ud;
}

double gw_sim_time(const gw_sim *sim) { return sim->t; }

int gw_sim_done(const gw_sim *sim) {
  if (sim->cfg.end_s >= 0 && sim->t >= sim->cfg.end_s - 1e-9) return 1;
  return sim->next_trip >= sim->nveh && sim->stats.running == 0 && sim->pend_n == 0;
}

void gw_sim_stats_get(const gw_sim *sim, gw_sim_stats *out) {
  *out = sim->stats;
  out->pending = sim->pend_n;
}

int gw_sim_vehicle(const gw_sim *sim, uint32_t i, gw_vehicle_view *out) {
  if (i >= sim->nveh || sim->veh[i].state != VS_RUNNING) return GW_ENOTFOUND;
  out->lane = sim->veh[i].lane;
  out->pos_m = sim->veh[i].pos;
  out->speed_mps = sim->veh[i].speed;
  return GW_OK;
}

/* ---- junction approaches ------------------------------------------------ */

static int is_major(char s) { return s == 'G' || s == 'M' || s == 'O'; }
static int is_red(char s) { return s == 'r' || s == 'R' || s == 'u'; }
static int is_yellow(char s) { return s == 'y' || s == 'Y'; }

/* Time to cover `d` from speed `v`, accelerating with `a` up to `vmax`. */
static double time_to_cover(double d, double v, double a, double vmax) {
  if (d <= 0) return 0;
  if (v > vmax) v = vmax;
  double ta = (vmax - v) / a;
  double da = v * ta + 0.5 * a * ta * ta;
  if (da >= d) return (-v + sqrt(v * v + 2 * a * d)) / a;
  return ta + (d - da) / vmax;
}

static void add_approach(gw_sim *sim, uint32_t link, uint32_t vi, double arrive, double leave) {
  if (sim->appr_n == sim->appr_cap) {
    uint32_t cap = sim->appr_cap ? sim->appr_cap * 2 : 1024;
    approach *p = gw__realloc(sim->appr, cap * sizeof *p);
    if (!p)
      return; /* without memory the approach is not seen: conservative
                 for the approaching vehicle, which has priority */
    sim->appr = p;
    sim->appr_cap = cap;
  }
  if (sim->link_head[link] == GW_NONE) sim->touched[sim->touched_n++] = link;
  approach *a = &sim->appr[sim->appr_n];
  a->veh = vi;
  a->arrive_t = arrive;
  a->leave_t = leave;
  a->next = sim->link_head[link];
  sim->link_head[link] = sim->appr_n++;
}

/* 1 if a foe in `foes` with the right of way occupies its path or arrives
** within [arrive - headway, leave + headway]. */
static int foe_blocks(const gw_sim *sim, const uint32_t *foes, uint32_t n, double arrive,
                      double leave) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f = foes[i];
    if (sim->link_busy[f]) return 1;
    for (uint32_t a = sim->link_head[f]; a != GW_NONE; a = sim->appr[a].next) {
      const approach *ap = &sim->appr[a];
      if (ap->arrive_t <= leave + YIELD_HEADWAY_S && ap->leave_t >= arrive - YIELD_HEADWAY_S)
        return 1;
    }
  }
  return 0;
}

/* 1 if vehicle a entered its junction before vehicle b, which enters at
** step `b_step` (ties go to the lower index, so the order is total). */
static int entered_before(const gw_sim *sim, uint32_t a, uint32_t b, uint64_t b_step) {
  uint64_t sa = sim->veh[a].enter_step;
  return sa < b_step || (sa == b_step && a < b);
}

/* 1 if vehicle vi, at the internal junction of `link`, must wait: a vehicle
** is on a foe lane that crosses its way (one waiting at its own internal
** junction only when it entered first and we yield to it), or a vehicle
** approaching on a green foe link arrives within [arrive - headway, leave +
** headway].  Vehicles approaching on red, among them those held back by
** clearing_foe, do not register, so a vehicle that waits here after its
** green has ended leaves as soon as the lanes across its way are clear. */
static int ij_blocks(const gw_sim *sim, uint32_t vi, uint32_t link, double arrive, double leave) {
  const gw_net *net = sim->net;
  const gw_veh *v = &sim->veh[vi];
  uint64_t my_step = net->lanes.a[v->lane].internal ? v->enter_step : sim->step;
  for (uint32_t i = sim->ij_lane_off[link]; i < sim->ij_lane_off[link + 1]; i++) {
    uint32_t e = sim->ij_lanes[i];
    const lane_rt *L = &sim->lanes[e & ~IJ_FIRST];
    if (L->n == 0) continue;
    if (e & IJ_FIRST) {
      for (uint32_t k = 0; k < L->n; k++)
        if (entered_before(sim, L->v[k], vi, my_step)) return 1;
      continue;
    }
    /* A vehicle standing with its back past the middle of its lane has
    ** crossed our way and waits for room after the junction. */
    double half = 0.5 * net->lanes.a[e].length_m;
    for (uint32_t k = 0; k < L->n; k++) {
      const gw_veh *o = &sim->veh[L->v[k]];
      if (!o->halted || o->pos - o->length <= half) return 1;
    }
  }
  const gw_link *lk = &net->links.a[link];
  for (uint32_t i = 0; i < lk->ij_n; i++) {
    for (uint32_t a = sim->link_head[net->refs.a[lk->ij_off + i]]; a != GW_NONE;
         a = sim->appr[a].next) {
      const approach *ap = &sim->appr[a];
      if (ap->arrive_t <= leave + YIELD_HEADWAY_S && ap->leave_t >= arrive - YIELD_HEADWAY_S)
        return 1;
    }
  }
  return 0;
}

/* ---- plan --------------------------------------------------------------- */

/* Foe vehicles already on the intersection: a vehicle about to enter at a
** signal waits while a foe whose light has turned red is still crossing its
** path (it entered on its green and has the right to leave). */
static int clearing_foe(const gw_sim *sim, const gw_link *lk) {
  const gw_net *net = sim->net;
  const uint32_t *foes = net->refs.a + lk->foe_off;
  for (uint32_t i = 0; i < lk->foe_n; i++) {
    uint32_t f = foes[i];
    const gw_link *fl = &net->links.a[f];
    if (!sim->link_busy[f] || fl->via[1] == GW_NONE || !is_red(gw__link_state(sim, f))) continue;
    if (sim->lanes[fl->via[0]].n) return 1;
    const lane_rt *L = &sim->lanes[fl->via[1]];
    for (uint32_t k = 0; k < L->n; k++)
      if (!sim->veh[L->v[k]].halted) return 1;
  }
  return 0;
}

/* Merging: vehicle vi, `dmerge` m before the end of `link`'s internal path,
** follows the vehicles on other links into the same lane that are nearer
** their end of the junction than it is (ties go to the lower index), as
** SUMO treats links with a common target lane as foes that enter it one
** after the other.  A vehicle waiting at an internal junction of its own is
** left out: it yields to us there.  Returns the safe speed (cap if none). */
static double merge_speed(const gw_sim *sim, uint32_t vi, uint32_t link, double dmerge,
                          double cap) {
  const gw_net *net = sim->net;
  const gw_veh *v = &sim->veh[vi];
  const double dt = sim->cfg.step_s;
  uint32_t to = net->links.a[link].to_lane;
  double vs = cap;
  for (uint32_t i = sim->in_off[to]; i < sim->in_off[to + 1]; i++) {
    uint32_t fk = sim->in_links[i];
    if (fk == link) continue;
    const gw_link *f = &net->links.a[fk];
    /* The first vehicle before a foe link it may pass (green or yellow). */
    const lane_rt *A = &sim->lanes[f->from_lane];
    if (A->n && sim->veh[A->v[0]].link == fk && A->v[0] != vi) {
      char st = gw__link_state(sim, fk);
      if (is_major(st) || is_yellow(st)) {
        uint32_t oi = A->v[0];
        const gw_veh *o = &sim->veh[oi];
        double rem = net->lanes.a[f->from_lane].length_m - o->pos + f->length_m;
        if (rem < dmerge - 1e-9 || (rem < dmerge + 1e-9 && oi < vi)) {
          double s = gw__cf_follow_speed_capped(dmerge - rem - o->length - v->min_gap, o->speed,
                                                v->decel, o->decel, dt, v->tau, vs);
          if (s < vs) vs = s;
        }
      }
    }
    if (!sim->link_busy[fk]) continue;
    uint32_t lane = f->via[1] != GW_NONE ? f->via[1] : f->via[0];
    if (lane == GW_NONE) continue;
    const lane_rt *L = &sim->lanes[lane];
    double len = net->lanes.a[lane].length_m;
    /* Front first: the nearest one ahead of us is the last that is. */
    for (uint32_t k = L->n; k-- > 0;) {
      uint32_t oi = L->v[k];
      const gw_veh *o = &sim->veh[oi];
      double rem = len - o->pos;
      if (rem > dmerge + 1e-9 || (rem > dmerge - 1e-9 && oi > vi)) continue;
      double s = gw__cf_follow_speed_capped(dmerge - rem - o->length - v->min_gap, o->speed,
                                            v->decel, o->decel, dt, v->tau, vs);
      if (s < vs) vs = s;
      break;
    }
  }
  return vs;
}

/* Keep the junction clear: a vehicle does not enter when the lane after the
** junction has no room for it behind the standing or slow vehicles there and
** those already crossing towards it (SUMO checks the same before setting its
** request).  A lane whose last vehicle moves on briskly has room. */
static int exit_has_room(const gw_sim *sim, const gw_veh *v, const gw_link *lk) {
  const gw_net *net = sim->net;
  uint32_t to = lk->to_lane;
  const lane_rt *T = &sim->lanes[to];
  double room = net->lanes.a[to].length_m;
  if (T->n) {
    const gw_veh *last = &sim->veh[T->v[T->n - 1]];
    if (last->speed > 3.0) return 1;
    room = last->pos - last->length;
  }
  for (uint32_t i = sim->in_off[to]; i < sim->in_off[to + 1]; i++)
    room -= sim->link_busy[sim->in_links[i]] * (v->length + v->min_gap);
  return room >= v->length + v->min_gap;
}

/* Walks the path ahead of vehicle vi and returns its safe speed; registers
** approaches to major links and remembers the first minor stop point. */
static double plan_vehicle(gw_sim *sim, uint32_t vi, uint32_t idx) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_trip *tr = v->trip;
  const lane_rt *L = &sim->lanes[v->lane];
  double vmax = gw__vmax_on(sim, v, v->lane);
  double vnext_max = v->speed + v->accel * dt;
  if (vnext_max > vmax) vnext_max = vmax;
  double look = gw__cf_brake_gap(vnext_max, v->decel, dt, 0) + vnext_max * dt + 5;
  if (look < 20) look = 20;
  double vsafe = 1e9;
  v->minor_link = GW_NONE;
  /* Cooperative lane changing: make room for a neighbour that must change,
  ** or fall back behind the leader of the lane we must reach.  Braking for
  ** this stays comfortable. */
  for (int c = 0; c < 2; c++) {
    uint32_t oi = c ? v->coop_lead : v->coop;
    if (oi == GW_NONE || sim->veh[oi].state != VS_RUNNING) continue;
    const gw_veh *o = &sim->veh[oi];
    if (net->lanes.a[o->lane].edge != net->lanes.a[v->lane].edge) continue;
    double gap = o->pos - o->length - v->pos - v->min_gap;
    double s = gap > -o->length ? gw__cf_follow_speed(gap, o->speed, v->decel, o->decel, dt, v->tau)
                                : vsafe;
    double floor_v = v->speed - v->decel * dt;
    if (s < floor_v) s = floor_v;
    if (s < vsafe) vsafe = s;
  }
  v->coop = v->coop_lead = GW_NONE;
  if (idx > 0) {
    const gw_veh *ld = &sim->veh[L->v[idx - 1]];
    vsafe = gw__cf_follow_speed_capped(ld->pos - ld->length - v->pos - v->min_gap, ld->speed,
                                       v->decel, ld->decel, dt, v->tau, vnext_max);
  }
  /* Walk lanes ahead: stop lines, lane ends and (when first on the lane)
  ** leaders further on. */
  double dist = net->lanes.a[v->lane].length_m - v->pos;
  if (sim->nblocks) { /* a blocked lane ahead: stop before the block */
    const lane_block *b = gw__lane_block(sim, v->lane);
    if (b && v->pos <= b->pos) {
      double s = gw__cf_stop_speed(b->pos - v->pos, v->decel, dt, dt);
      if (s < vsafe) vsafe = s;
    }
  }
  uint32_t cur = v->lane, link = v->link, ri = v->ri;
  int via_i = v->via_i, first = 1, leader_found = idx > 0;
  while (dist < look || first) {
    const gw_lane *cl = &net->lanes.a[cur];
    if (!cl->internal) {
      if (!first) {
        ri++;
        link = GW_NONE;
        if (ri + 1 < tr->route_n) {
          const gw_lane *ln = &net->lanes.a[cur];
          for (uint32_t k = 0; k < ln->out_n && link == GW_NONE; k++) {
            uint32_t l = net->refs.a[ln->out_off + k];
            if (net->lanes.a[net->links.a[l].to_lane].edge == tr->route[ri + 1]) link = l;
          }
        }
      }
      if (ri + 1 >= tr->route_n) break; /* the vehicle leaves at the route end */
      if (link == GW_NONE) {            /* no way on from this lane: wait at its end */
        double s = gw__cf_stop_speed(dist, v->decel, dt, dt);
        if (s < vsafe) vsafe = s;
        break;
      }
      const gw_link *lk = &net->links.a[link];
      char st = gw__link_state(sim, link);
      double bg = gw__cf_brake_gap(v->speed, v->decel, dt, 0);
      if (is_red(st) || (is_yellow(st) && bg <= dist) ||
          (bg <= dist &&
           (!exit_has_room(sim, v, lk) || (lk->tls != GW_NONE && clearing_foe(sim, lk))))) {
        double s = gw__cf_stop_speed(dist, v->decel, dt, dt);
        if (s < vsafe) vsafe = s;
        break;
      }
      double arrive = sim->t + time_to_cover(dist, v->speed, v->accel, vmax);
      double leave =
          sim->t + time_to_cover(dist + lk->length_m + v->length, v->speed, v->accel, vmax);
      if (is_major(st) || is_yellow(st)) {
        add_approach(sim, link, vi, arrive, leave);
      } else if (!lk->cont && v->minor_link == GW_NONE && lk->yield_n) {
        v->minor_link = link;
        v->minor_dist = dist;
        v->minor_ij = 0;
        v->arrive_t = arrive;
        v->leave_t = leave;
      }
    } else if (via_i == 0 && net->links.a[cl->link].via[1] != GW_NONE && v->minor_link == GW_NONE &&
               net->links.a[cl->link].ij_n) {
      /* End of the first internal lane of a left turn: the internal
      ** junction, where it gives way to oncoming traffic. */
      const gw_link *lk = &net->links.a[cl->link];
      v->minor_link = cl->link;
      v->minor_dist = dist;
      v->minor_ij = 1;
      v->arrive_t = sim->t + time_to_cover(dist, v->speed, v->accel, vmax);
      v->leave_t = sim->t + time_to_cover(dist + net->lanes.a[lk->via[1]].length_m + v->length,
                                          v->speed, v->accel, vmax);
      link = cl->link;
    } else {
      link = cl->link;
    }
    first = 0;
    cur = (!cl->internal) ? (net->links.a[link].via[0] != GW_NONE ? net->links.a[link].via[0]
                                                                  : net->links.a[link].to_lane)
          : (via_i == 0 && net->links.a[link].via[1] != GW_NONE) ? net->links.a[link].via[1]
                                                                 : net->links.a[link].to_lane;
    if (!cl->internal)
      via_i = 0;
    else if (via_i == 0 && cur == net->links.a[link].via[1])
      via_i = 1;
    if (cl->internal && cur == net->links.a[link].to_lane &&
        sim->in_off[cur + 1] - sim->in_off[cur] > 1) {
      double s = merge_speed(sim, vi, link, dist, vsafe);
      if (s < vsafe) vsafe = s;
    }
    if (!leader_found && sim->lanes[cur].n > 0) {
      const lane_rt *N = &sim->lanes[cur];
      const gw_veh *ld = &sim->veh[N->v[N->n - 1]];
      double s = gw__cf_follow_speed_capped(dist + ld->pos - ld->length - v->min_gap, ld->speed,
                                            v->decel, ld->decel, dt, v->tau, vnext_max);
      if (s < vsafe) vsafe = s;
      leader_found = 1;
    }
    if (sim->nblocks) {
      const lane_block *b = gw__lane_block(sim, cur);
      if (b) {
        double s = gw__cf_stop_speed(dist + b->pos, v->decel, dt, dt);
        if (s < vsafe) vsafe = s;
      }
    }
    dist += net->lanes.a[cur].length_m;
  }
  return vsafe;
}

static void plan(gw_sim *sim) {
  const gw_net *net = sim->net;
  for (uint32_t i = 0; i < sim->touched_n; i++) sim->link_head[sim->touched[i]] = GW_NONE;
  sim->touched_n = 0;
  sim->appr_n = 0;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      gw_veh *v = &sim->veh[L->v[k]];
      v->vnext = plan_vehicle(sim, L->v[k], k);
      v->changed = 0;
    }
  }
}

/* ---- yield -------------------------------------------------------------- */

static void yield(gw_sim *sim) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      gw_veh *v = &sim->veh[L->v[k]];
      if (v->minor_link == GW_NONE) continue;
      const gw_link *lk = &net->links.a[v->minor_link];
      /* Too close to stop comfortably: it is committed. */
      if (gw__cf_brake_gap(v->speed, v->decel, dt, 0) > v->minor_dist + 1e-6) continue;
      int blocked = v->minor_ij ? ij_blocks(sim, L->v[k], v->minor_link, v->arrive_t, v->leave_t)
                                : foe_blocks(sim, net->refs.a + lk->yield_off, lk->yield_n,
                                             v->arrive_t, v->leave_t);
      if (blocked) {
        double s = gw__cf_stop_speed(v->minor_dist, v->decel, dt, dt);
        if (s < v->vnext) v->vnext = s;
      }
    }
  }
}

/* ---- move --------------------------------------------------------------- */

void gw__finish_trip(gw_sim *sim, uint32_t vi) {
  gw_veh *v = &sim->veh[vi];
  const gw_trip *tr = gw_demand_trip(sim->demand, vi);
  v->state = VS_DONE;
  v->end_t = sim->t;
  sim->stats.arrived++;
  sim->stats.running--;
  if (!sim->on_trip) return;
  gw_trip_record r;
  r.index = vi;
  r.id = tr->id;
  r.vtype = gw_demand_vtype(sim->demand, tr->vtype)->id;
  r.depart_s = v->depart_t;
  r.depart_delay_s = v->depart_t - tr->depart_s;
  r.arrival_s = sim->t;
  r.route_length_m = v->dist;
  r.duration_s = sim->t - v->depart_t;
  r.time_loss_s = v->time_loss;
  r.waiting_time_s = v->waiting;
  r.stops = v->stops;
  r.teleports = v->teleports;
  sim->on_trip(sim->on_trip_ud, &r);
}

/* Moves the vehicle onto the lane after `v->lane`; returns 0 when it has
** arrived instead. */
static int advance_lane(gw_sim *sim, uint32_t vi) {
  const gw_net *net = sim->net;
  gw_veh *v = &sim->veh[vi];
  const gw_lane *cl = &net->lanes.a[v->lane];
  if (!cl->internal) {
    if (v->link == GW_NONE) return 0;
    const gw_link *lk = &net->links.a[v->link];
    if (lk->via[0] != GW_NONE) {
      v->lane = lk->via[0];
      v->via_i = 0;
      v->enter_step = sim->step;
      sim->link_busy[v->link]++;
      return 1;
    }
    v->lane = lk->to_lane;
  } else {
    const gw_link *lk = &net->links.a[cl->link];
    if (v->via_i == 0 && lk->via[1] != GW_NONE) {
      v->lane = lk->via[1];
      v->via_i = 1;
      return 1;
    }
    sim->link_busy[cl->link]--;
    v->lane = lk->to_lane;
  }
  /* Now on a normal lane of the next route edge. */
  v->ri++;
  v->via_i = 0;
  gw__lanes_update_wants(sim, v);
  v->link = gw__lanes_choose_link(sim, v);
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
      double vmax = gw__vmax_on(sim, v, v->lane);
      double vn = gw__cf_next_speed(v->speed, v->vnext, vmax, v->accel, v->decel, v->sigma,
                                    rng_u(sim, vi, 1), dt);
      /* Krauss never brakes harder than the emergency deceleration. */
      if (vn < v->speed - v->edecel * dt) vn = v->speed - v->edecel * dt;
      if (vn < 0) vn = 0;
      v->speed = vn;
      double p0 = v->pos;
      v->pos += vn * dt;
      if (sim->lane_det[l] != GW_NONE) gw__detectors_pass(sim, l, p0, v->pos, v->length);
      v->dist += vn * dt;
      if (vmax > 0) v->time_loss += dt * (vmax - vn) / vmax;
      if (vn < HALT_SPEED) {
        v->waiting += dt;
        v->stuck += dt;
        if (v->stuck > sim->max_stuck) sim->max_stuck = v->stuck;
        if (!v->halted) v->stops++;
        v->halted = 1;
      } else {
        v->halted = 0;
        v->stuck = 0;
      }
      int arrived = 0;
      for (;;) {
        const gw_lane *cl = &net->lanes.a[v->lane];
        if (!cl->internal && v->ri + 1 == tr->route_n) {
          double ap =
              v->arrival_pos >= 0 && v->arrival_pos < cl->length_m ? v->arrival_pos : cl->length_m;
          if (v->pos >= ap - 1e-9) arrived = 1;
          break;
        }
        if (v->pos <= cl->length_m) break;
        double over = v->pos - cl->length_m;
        if (!advance_lane(sim, vi)) { /* no link: it stops at the end */
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
  /* Time on entering lanes of signals, for the CityFlow metrics: read
  ** only by gw_cityflow_metrics_get, never by the dynamics. */
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    if (!sim->lane_sig[l]) continue;
    const lane_rt *L = &sim->lanes[l];
    for (uint32_t k = 0; k < L->n; k++) {
      gw_veh *v = &sim->veh[L->v[k]];
      v->sig_time += dt;
      v->sig_seen = 1;
    }
  }
  /* Collisions: a follower whose front passed its leader's back. */
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
  }
}

/* ---- insert ------------------------------------------------------------- */

/* Free space at the start of a lane (back of its last vehicle). */
static double lane_free(const gw_sim *sim, uint32_t lane) {
  const lane_rt *L = &sim->lanes[lane];
  if (L->n == 0) return sim->net->lanes.a[lane].length_m + 1e3;
  const gw_veh *b = &sim->veh[L->v[L->n - 1]];
  return b->pos - b->length;
}

static int try_insert_on(gw_sim *sim, uint32_t vi, uint32_t lane) {
  const gw_net *net = sim->net;
  const double dt = sim->cfg.step_s;
  gw_veh *v = &sim->veh[vi];
  const gw_trip *tr = gw_demand_trip(sim->demand, vi);
  double len = net->lanes.a[lane].length_m;
  double pos = tr->depart_pos_m + v->length;
  if (pos > len) pos = len;
  v->lane = lane;
  v->pos = pos;
  v->ri = 0;
  v->via_i = 0;
  gw__lanes_update_wants(sim, v);
  v->link = gw__lanes_choose_link(sim, v);
  const lane_rt *L = &sim->lanes[lane];
  uint32_t idx = 0;
  while (idx < L->n && sim->veh[L->v[idx]].pos >= pos) idx++;
  if (idx > 0) {
    const gw_veh *ld = &sim->veh[L->v[idx - 1]];
    if (ld->pos - ld->length - pos - v->min_gap < 0) return 0;
  }
  if (idx < L->n) {
    const gw_veh *f = &sim->veh[L->v[idx]];
    if (pos - v->length - f->pos - f->min_gap < 0) return 0;
  }
  double vmax = gw__vmax_on(sim, v, lane);
  double speed;
  switch (tr->depart_speed_mode) {
    case GW_DEPART_SPEED_MAX:
    case GW_DEPART_SPEED_DESIRED:
    case GW_DEPART_SPEED_LIMIT:
      speed = vmax;
      break;
    case GW_DEPART_SPEED_RANDOM:
      speed = vmax * rng_u(sim, vi, 2);
      break;
    default:
      speed = tr->depart_speed_mps;
      break;
  }
  v->speed = 0;
  double look = gw__cf_brake_gap(vmax, v->decel, dt, v->tau) + vmax * dt + 5;
  double gap;
  double vs = gw__leader_speed(sim, v, lane, idx, pos, look, &gap);
  if (gap < 0) return 0;
  /* A red light or lane end ahead limits the speed as well. */
  double dist = len - pos;
  if (v->ri + 1 < tr->route_n) {
    if (v->link == GW_NONE || is_red(gw__link_state(sim, v->link)))
      if (gw__cf_stop_speed(dist, v->decel, dt, dt) < vs)
        vs = gw__cf_stop_speed(dist, v->decel, dt, dt);
  }
  if (tr->depart_speed_mode == GW_DEPART_SPEED_GIVEN) {
    if (speed > vs + 1e-9) return 0;
  } else if (speed > vs) {
    speed = vs;
  }
  if (speed < 0) speed = 0;
  v->speed = speed;
  v->halted = speed < HALT_SPEED;
  if (gw__lane_insert(sim, lane, vi)) return 0;
  return 1;
}

static int try_insert(gw_sim *sim, uint32_t vi) {
  const gw_net *net = sim->net;
  gw_veh *v = &sim->veh[vi];
  const gw_trip *tr = gw_demand_trip(sim->demand, vi);
  const gw_vtype *ty = gw_demand_vtype(sim->demand, tr->vtype);
  const gw_edge *e = &net->edges.a[tr->route[0]];
  if (v->state == VS_FUTURE) {
    v->length = ty->length_m;
    v->min_gap = ty->min_gap_m;
    v->accel = ty->accel_mps2;
    v->decel = ty->decel_mps2;
    v->edecel = ty->emergency_decel_mps2;
    v->sigma = ty->sigma;
    v->tau = ty->tau_s;
    v->max_speed = ty->max_speed_mps;
    double f = ty->speed_factor;
    if (ty->speed_dev > 0) {
      f = ty->speed_factor * (1 + ty->speed_dev * rng_normal(sim->cfg.seed, vi));
      double lo = ty->speed_factor * 0.2, hi = ty->speed_factor * 2;
      if (f < lo) f = lo;
      if (f > hi) f = hi;
    }
    v->speed_factor = f;
    v->arrival_pos = tr->arrival_pos_m;
    v->coop = v->coop_lead = GW_NONE;
    v->state = VS_PENDING;
  }
  /* Candidate lanes, best first. */
  uint32_t cand[32], nc = 0;
  if (tr->depart_lane >= 0) {
    cand[nc++] = e->lane0 + (uint32_t)tr->depart_lane;
  } else if (tr->depart_lane == GW_DEPART_LANE_FIRST) {
    cand[nc++] = e->lane0;
  } else {
    v->ri = 0;
    v->lane = e->lane0;
    gw__lanes_update_wants(sim, v);
    uint32_t mask = tr->depart_lane == GW_DEPART_LANE_BEST ? v->want_cur : 0xffffffffu;
    for (uint32_t i = 0; i < e->nlanes && i < 32; i++)
      if ((mask & (1u << i)) && (net->lanes.a[e->lane0 + i].allow & ty->vclass))
        cand[nc++] = e->lane0 + i;
    if (nc == 0) cand[nc++] = e->lane0;
    if (tr->depart_lane == GW_DEPART_LANE_RANDOM) {
      uint32_t pick = (uint32_t)(rng_u(sim, vi, 3) * nc);
      cand[0] = cand[pick < nc ? pick : 0];
      nc = 1;
    } else { /* most free space first; ties keep the rightmost */
      for (uint32_t i = 1; i < nc; i++)
        for (uint32_t j = i; j > 0 && lane_free(sim, cand[j]) > lane_free(sim, cand[j - 1]); j--) {
          uint32_t t = cand[j];
          cand[j] = cand[j - 1];
          cand[j - 1] = t;
        }
    }
  }
  for (uint32_t i = 0; i < nc; i++) {
    if (!try_insert_on(sim, vi, cand[i])) continue;
    v->state = VS_RUNNING;
    v->depart_t = sim->t;
    sim->stats.inserted++;
    sim->stats.running++;
    return 1;
  }
  return 0;
}

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

static int insert(gw_sim *sim) {
  while (sim->next_trip < sim->nveh &&
         gw_demand_trip(sim->demand, sim->next_trip)->depart_s <= sim->t + 1e-9) {
    int rc = pend_push(sim, sim->next_trip++);
    if (rc) return rc;
  }
  /* FIFO per first edge: once a vehicle fails, those behind it for the same
  ** edge wait too. */
  uint32_t n = sim->pend_n, kept = 0;
  uint64_t stamp = sim->step + 1;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t vi = sim->pending[(sim->pend_head + i) % sim->pend_cap];
    uint32_t e = gw_demand_trip(sim->demand, vi)->route[0];
    if (sim->edge_failed[e] != stamp) {
      if (try_insert(sim, vi)) continue;
      sim->edge_failed[e] = stamp;
    }
    sim->pending[(sim->pend_head + kept++) % sim->pend_cap] = vi;
  }
  sim->pend_n = kept;
  return GW_OK;
}

/* ---- teleport ----------------------------------------------------------- */

static void teleport(gw_sim *sim) {
  const gw_net *net = sim->net;
  double limit = sim->cfg.time_to_teleport_s;
  /* move() noted the longest standstill: most steps have nobody to move on. */
  if (limit <= 0 || sim->max_stuck < limit) return;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    lane_rt *L = &sim->lanes[l];
    if (L->n == 0 || net->lanes.a[l].internal) continue;
    uint32_t vi = L->v[0]; /* only the head of a jam is stuck for good */
    gw_veh *v = &sim->veh[vi];
    if (v->stuck < limit) continue;
    const gw_trip *tr = gw_demand_trip(sim->demand, vi);
    gw__lane_remove(sim, l, vi);
    v->teleports++;
    v->stuck = 0;
    sim->stats.teleports++;
    /* Reappear on the first later route edge with room at its start. */
    int placed = 0;
    while (!placed && v->ri + 1 < tr->route_n) {
      v->ri++;
      const gw_edge *e = &net->edges.a[tr->route[v->ri]];
      gw__lanes_update_wants(sim, v);
      for (uint32_t i = 0; i < e->nlanes && !placed; i++) {
        uint32_t ln = e->lane0 + i;
        if (!(v->want_cur & (1u << i)) || lane_free(sim, ln) < v->length + v->min_gap) continue;
        v->lane = ln;
        v->pos = v->length < net->lanes.a[ln].length_m ? v->length : net->lanes.a[ln].length_m;
        v->speed = 0;
        v->halted = 1;
        v->via_i = 0;
        v->link = gw__lanes_choose_link(sim, v);
        placed = gw__lane_insert(sim, ln, vi) == GW_OK;
      }
    }
    if (!placed) gw__finish_trip(sim, vi);
  }
}

/* ---- the step ----------------------------------------------------------- */

int gw_sim_step(gw_sim *sim) {
  if (sim->cfg.dynamics == GW_DYNAMICS_CITYFLOW) return gw__cf_step(sim);
  gw__signals_step(sim);
  sim->max_stuck = 0;
  plan(sim);
  yield(sim);
  gw__detectors_begin_step(sim);
  move(sim);
  gw__detectors_end_step(sim);
  gw__lanes_change(sim);
  int rc = insert(sim);
  teleport(sim);
  sim->stats.veh_steps += sim->stats.running;
  if (sim->stats.running > sim->stats.peak_running) sim->stats.peak_running = sim->stats.running;
  sim->step++;
  sim->t = sim->cfg.begin_s + (double)sim->step * sim->cfg.step_s;
  return rc;
}

int gw_sim_block_lane(gw_sim *sim, uint32_t lane, double pos_m, double from_s, double until_s) {
  if (lane >= sim->net->lanes.n || !(until_s > from_s)) return GW_ERANGE;
  if (!(pos_m >= 0 && pos_m <= sim->net->lanes.a[lane].length_m)) return GW_ERANGE;
  if (sim->nblocks == sizeof sim->blocks / sizeof *sim->blocks) return GW_ENOMEM;
  lane_block *b = &sim->blocks[sim->nblocks++];
  b->lane = lane;
  b->pos = pos_m;
  b->from_t = from_s;
  b->until_t = until_s;
  return GW_OK;
}

/*
** signal_model.c -- from a SUMO-style program to signal groups, conflicts,
** intergreens and stages.
**
** Groups: links whose column of states is the same in every phase of the
** program always show the same colour, so they share a lamp.  Conflicts come
** from the junction's right of way: two links that are foes conflict hard
** unless one of them yields to the other (its response bit is set), in which
** case the yielding one may run permissive ('g') beside the other's green.
** A group pair conflicts as its worst link pair.  Stages are the program's
** green phases, in order, without repeats.  Yellow times come from the
** program; all-red times from the time a vehicle of the ending group needs
** to clear the junction, (internal path + 5 m) / approach speed, to the
** nearest half second within [1, 3] s, or on request
** (gw_signal_model_program_clearance) the all-reds the program itself runs,
** for a city that keeps the clearance intervals of its approved plans.  Where an approach lane is a
*short
** turn bay behind an unsignalised split, the lanes feeding it extend the
** group's approach (up_lanes), so that a queue reaching back past the bay is
** still seen as this group's.
*/
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "greenwave/control.h"
#include "net/net_int.h"

static int is_green(char c) { return c == 'G' || c == 'g'; }

static int in_list(const gw_net *net, uint32_t off, uint32_t n, uint32_t x) {
  for (uint32_t i = 0; i < n; i++)
    if (net->refs.a[off + i] == x) return 1;
  return 0;
}

static void add_lane(uint32_t *n, uint32_t *arr, uint32_t cap, uint32_t lane) {
  for (uint32_t i = 0; i < *n; i++)
    if (arr[i] == lane) return;
  if (*n < cap) arr[(*n)++] = lane;
}

/* 1 if some phase shows link ka as 'g' while kb is green. */
static int shown_permissive(const gw_net *net, const gw_tlprogram *p, uint32_t ka, uint32_t kb) {
  for (uint32_t i = 0; i < p->nphases; i++) {
    const char *st = gw__net_state(net, &net->phases.a[p->phase0 + i]);
    if (st[ka] == 'g' && is_green(st[kb])) return 1;
  }
  return 0;
}

/* A green phase: some link green and none yellow (a stage of the program). */
static int green_phase(const char *st, uint32_t n) {
  int green = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (st[k] == 'y' || st[k] == 'Y') return 0;
    if (is_green(st[k])) green = 1;
  }
  return green;
}

/* The all-red the program itself runs between groups, into allred_s: for
** every place where group a's green ends, the time from the end of its
** yellow to the start of the next green phase, for each hard-conflicting
** group b that this phase starts; the shortest over the cycle.  Pairs the
** program never sequences directly take the shortest all-red the program
** runs anywhere (0 for netconvert's default programs, which have none);
** without any such transition, the geometric value stays. */
static void program_allred(gw_signal_model *m, const gw_net *net, const gw_tlprogram *p) {
  const gw_phase *ph = net->phases.a + p->phase0;
  double best[GW_MAX_GROUPS][GW_MAX_GROUPS], policy = -1;
  for (uint32_t a = 0; a < m->ngroups; a++)
    for (uint32_t b = 0; b < m->ngroups; b++) best[a][b] = -1;
  for (uint32_t a = 0; a < m->ngroups; a++) {
    uint32_t ka = m->groups[a].links[0];
    for (uint32_t i = 0; i < p->nphases; i++) {
      const char *st = gw__net_state(net, &ph[i]);
      const char *nx = gw__net_state(net, &ph[(i + 1) % p->nphases]);
      if (!is_green(st[ka]) || is_green(nx[ka])) continue;
      /* a ends after phase i: walk its yellow, then red, to a green phase. */
      double t = 0, red_t = -1;
      uint32_t j = (i + 1) % p->nphases, steps = 0;
      for (; steps < p->nphases; steps++, j = (j + 1) % p->nphases) {
        const char *sj = gw__net_state(net, &ph[j]);
        if (red_t < 0 && sj[ka] != 'y' && sj[ka] != 'Y') red_t = t;
        if (green_phase(sj, m->nlinks)) break;
        t += ph[j].duration_s;
      }
      if (steps == p->nphases || red_t < 0) continue;
      const char *sg = gw__net_state(net, &ph[j]);
      if (is_green(sg[ka])) continue; /* a came back: no change of right of way */
      double ar = t - red_t;
      for (uint32_t b = 0; b < m->ngroups; b++) {
        uint32_t kb = m->groups[b].links[0];
        if (m->conflict[a][b] != GW_CONFLICT_HARD || !is_green(sg[kb]) || is_green(st[kb]))
          continue;
        if (best[a][b] < 0 || ar < best[a][b]) best[a][b] = ar;
        if (policy < 0 || ar < policy) policy = ar;
      }
    }
  }
  for (uint32_t a = 0; a < m->ngroups; a++)
    for (uint32_t b = 0; b < m->ngroups; b++)
      m->allred_s[a][b] = m->conflict[a][b] != GW_CONFLICT_HARD ? 0
                          : best[a][b] >= 0                     ? best[a][b]
                          : policy >= 0                         ? policy
                                                                : m->allred_s[a][b];
}

int gw_signal_model_init(gw_signal_model *m, const gw_net *net, uint32_t tls, gw_error *err) {
  if (tls >= net->tls.n) return gw__error(err, GW_ERANGE, "no signal %u", tls);
  memset(m, 0, sizeof *m);
  const gw_tls *tl = &net->tls.a[tls];
  const gw_tlprogram *p = &net->programs.a[tl->active];
  const gw_phase *ph = net->phases.a + p->phase0;
  m->tls = tls;
  m->id = tl->id;
  m->nlinks = tl->nlinks;
  m->cycle_s = p->cycle_s;
  m->offset_s = p->offset_s;
  if (m->nlinks > 256)
    return gw__error(err, GW_ERANGE, "signal '%s': %u links, at most 256", tl->id, m->nlinks);
  /* Groups: identical columns. */
  for (uint32_t k = 0; k < m->nlinks; k++) {
    uint32_t g = 0;
    for (; g < m->ngroups; g++) {
      uint32_t k0 = m->groups[g].links[0], ph_i = 0;
      for (; ph_i < p->nphases; ph_i++) {
        const char *st = gw__net_state(net, &ph[ph_i]);
        if (st[k] != st[k0]) break;
      }
      if (ph_i == p->nphases && m->groups[g].nlinks < 32) break;
    }
    if (g == m->ngroups) {
      if (m->ngroups == GW_MAX_GROUPS)
        return gw__error(err, GW_ERANGE, "signal '%s': more than %d signal groups", tl->id,
                         GW_MAX_GROUPS);
      m->ngroups++;
      gw_signal_group *sg = &m->groups[g];
      sg->min_green_s = 5;
      sg->max_green_s = 60;
      sg->yellow_s = 0;
    }
    m->groups[g].links[m->groups[g].nlinks++] = k;
    m->group_of_link[k] = (uint8_t)g;
  }
  /* Net links, lanes and speeds of each group. */
  for (uint32_t l = 0; l < net->links.n; l++) {
    const gw_link *lk = &net->links.a[l];
    if (lk->tls != tls) continue;
    gw_signal_group *sg = &m->groups[m->group_of_link[lk->tls_index]];
    uint32_t j = 0;
    while (j < sg->nlinks && sg->links[j] != (uint32_t)lk->tls_index) j++;
    sg->net_links[j] = l;
    add_lane(&sg->nin, sg->in_lanes, 8, lk->from_lane);
    add_lane(&sg->nout, sg->out_lanes, 8, lk->to_lane);
    double v = net->lanes.a[lk->from_lane].speed_mps;
    if (v > sg->speed_mps) sg->speed_mps = v;
  }
  /* The approach beyond a short turn bay: the lanes that feed a group's
  ** approach lanes through an unsignalised junction (typically where the
  ** road widens before the stop line).  A lane that feeds the bays of
  ** several groups belongs to each of them whole: its queue waits for all
  ** of them, since the vehicles behind its head move only when the head's
  ** movement is green (measured on grid4x4_heavy with maxpressure: whole
  ** 89.6 / 91.3 / 90.1 s for seeds 42 / 1 / 2, shared by the fraction of
  ** the lane's links 90.9 / 92.3 / 91.3 s, left out 92.5 / 94.9 / 93.5 s). */
  for (uint32_t l = 0; l < net->links.n; l++) {
    const gw_link *lk = &net->links.a[l];
    if (lk->tls != GW_NONE || lk->to_lane >= net->lanes.n || lk->from_lane >= net->lanes.n)
      continue;
    uint32_t e = net->lanes.a[lk->to_lane].edge, j = net->edges.a[e].to;
    if (j >= net->junctions.n || net->junctions.a[j].tls != tls) continue;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      gw_signal_group *sg = &m->groups[g];
      uint32_t i = 0, k = 0;
      while (i < sg->nin && sg->in_lanes[i] != lk->to_lane) i++;
      if (i == sg->nin) continue;
      while (k < sg->nin && sg->in_lanes[k] != lk->from_lane) k++;
      if (k < sg->nin) continue; /* already an approach lane */
      add_lane(&sg->nup, sg->up_lanes, 8, lk->from_lane);
    }
  }
  /* Yellow: the duration of the phase right after the group's green, when
  ** the group shows yellow there. */
  for (uint32_t g = 0; g < m->ngroups; g++) {
    uint32_t k = m->groups[g].links[0];
    for (uint32_t i = 0; i < p->nphases; i++) {
      const char *a = gw__net_state(net, &ph[i]);
      const char *b = gw__net_state(net, &ph[(i + 1) % p->nphases]);
      if (is_green(a[k]) && (b[k] == 'y' || b[k] == 'Y'))
        m->groups[g].yellow_s = ph[(i + 1) % p->nphases].duration_s;
    }
    if (m->groups[g].yellow_s < 3) m->groups[g].yellow_s = 3;
  }
  /* Conflicts and all-red. */
  for (uint32_t a = 0; a < m->ngroups; a++)
    for (uint32_t b = 0; b < m->ngroups; b++) {
      if (a == b) continue;
      const gw_signal_group *ga = &m->groups[a], *gb = &m->groups[b];
      int hard = 0, a_yields = 0, b_yields = 0;
      double clear = 0;
      for (uint32_t i = 0; i < ga->nlinks; i++)
        for (uint32_t j = 0; j < gb->nlinks; j++) {
          uint32_t la = ga->net_links[i], lb = gb->net_links[j];
          const gw_link *x = &net->links.a[la], *y = &net->links.a[lb];
          int foes =
              in_list(net, x->foe_off, x->foe_n, lb) || in_list(net, y->foe_off, y->foe_n, la);
          if (!foes) continue;
          int xy = in_list(net, x->yield_off, x->yield_n, lb);
          int yx = in_list(net, y->yield_off, y->yield_n, la);
          if (xy) a_yields = 1;
          if (yx) b_yields = 1;
          if (!xy && !yx) hard = 1;
          double t = (x->length_m + 5.0) / (ga->speed_mps > 1 ? ga->speed_mps : 1);
          if (t > clear) clear = t;
        }
      (void)b_yields;
      /* At a signal the right of way is written as if every link were green,
      ** so a yield bit alone does not make a movement permissive: only a pair
      ** the program itself shows together, the yielding one as 'g', is. */
      if (a_yields && !hard && !shown_permissive(net, p, ga->links[0], gb->links[0])) hard = 1;
      if (hard)
        m->conflict[a][b] = GW_CONFLICT_HARD;
      else if (a_yields)
        m->conflict[a][b] = GW_CONFLICT_YIELDS;
      if (hard) {
        clear = floor(clear * 2 + 0.5) / 2; /* to the nearest half second */
        m->allred_s[a][b] = clear > 3 ? 3 : clear < 1 ? 1 : clear;
      }
    }
  /* A pair that conflicts hard one way does both ways. */
  for (uint32_t a = 0; a < m->ngroups; a++)
    for (uint32_t b = 0; b < m->ngroups; b++)
      if (m->conflict[a][b] == GW_CONFLICT_HARD || m->conflict[b][a] == GW_CONFLICT_HARD) {
        m->conflict[a][b] = m->conflict[b][a] = GW_CONFLICT_HARD;
        if (m->allred_s[a][b] == 0)
          m->allred_s[a][b] = m->allred_s[b][a] > 0 ? m->allred_s[b][a] : 1;
      }
  /* Stages: green phases in order, without repeats. */
  double nongreen = 0;
  for (uint32_t i = 0; i < p->nphases; i++) {
    const char *st = gw__net_state(net, &ph[i]);
    uint64_t green = 0, minor = 0;
    int any_yellow = 0;
    for (uint32_t k = 0; k < m->nlinks; k++) {
      if (is_green(st[k])) green |= 1ull << m->group_of_link[k];
      if (st[k] == 'g') minor |= 1ull << m->group_of_link[k];
      if (st[k] == 'y' || st[k] == 'Y') any_yellow = 1;
    }
    if (!green || any_yellow) {
      nongreen += ph[i].duration_s;
      continue;
    }
    uint32_t s = 0;
    while (s < m->nstages && !(m->stages[s].green == green && m->stages[s].minor == minor)) s++;
    if (s < m->nstages) continue;
    if (m->nstages == GW_MAX_STAGES)
      return gw__error(err, GW_ERANGE, "signal '%s': more than %d stages", tl->id, GW_MAX_STAGES);
    gw_stage *sg = &m->stages[m->nstages++];
    sg->green = green;
    sg->minor = minor;
    sg->green_s = ph[i].duration_s;
    int actuated = p->type != GW_TL_STATIC && ph[i].min_s < ph[i].max_s;
    sg->min_s = actuated ? ph[i].min_s : 5;
    sg->max_s = actuated ? ph[i].max_s : 2 * ph[i].duration_s + 10;
  }
  if (m->nstages == 0)
    return gw__error(err, GW_EINVAL, "signal '%s': its program has no green phase", tl->id);
  m->lost_s = nongreen / m->nstages;
  return GW_OK;
}

void gw_signal_model_program_clearance(gw_signal_model *m, const gw_net *net) {
  if (m->tls >= net->tls.n) return;
  program_allred(m, net, &net->programs.a[net->tls.a[m->tls].active]);
}

void gw_signal_model_stage_state(const gw_signal_model *m, uint32_t stage, char *out) {
  const gw_stage *s = &m->stages[stage < m->nstages ? stage : 0];
  for (uint32_t k = 0; k < m->nlinks; k++) {
    uint32_t g = m->group_of_link[k];
    out[k] = !(s->green >> g & 1) ? 'r' : (s->minor >> g & 1) ? 'g' : 'G';
  }
  out[m->nlinks] = 0;
}

int gw_signal_model_override(gw_signal_model *m, double min_green_s, double yellow_s,
                             double allred_s) {
  if ((min_green_s >= 0 && min_green_s > 120) ||
      (yellow_s >= 0 && (yellow_s < 2 || yellow_s > 10)) || (allred_s >= 0 && allred_s > 10))
    return GW_ERANGE;
  for (uint32_t g = 0; g < m->ngroups; g++) {
    if (min_green_s >= 0) m->groups[g].min_green_s = min_green_s;
    if (yellow_s >= 0) m->groups[g].yellow_s = yellow_s;
    for (uint32_t h = 0; allred_s >= 0 && h < m->ngroups; h++)
      if (m->conflict[g][h] == GW_CONFLICT_HARD) m->allred_s[g][h] = allred_s;
  }
  return GW_OK;
}

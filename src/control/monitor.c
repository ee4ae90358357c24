/*
** monitor.c -- the safety monitor: the only code that decides lamp colours.
**
** Controllers ask for stages; the monitor moves each signal group through
** GREEN -> YELLOW -> RED -> GREEN only when the rules allow it:
**
**   R1  a green lasts at least its minimum before it may end;
**   R2  every green ends with the group's full yellow, then red;
**   R3  two groups in conflict are never both non-red, unless one of them
**       shows the permissive 'g' and yields to the other;
**   R4  a group may turn green (or go from 'g' to 'G') only once every group
**       it would conflict with has been red for the all-red time of the
**       intergreen matrix.
**
** Every transition is taken by step(); request() only records the wish, so
** no call sequence can skip a rule.  The lamp string is recomputed from the
** group states on every step and is the only output.  If the field shows
** anything else, the intersection goes to fail-safe: every group ends (with
** its yellow), all red for the longest all-red, then the program's first
** stage; the caller switches the controller to the fixed plan.  Minimum
** greens and yellows are served in fail-safe too, and a group that ended
** serves its own red clearance before it may show green again.
**
** Flash (gw_monitor_flash): the operator's flashing-yellow mode.  Every
** green ends as above (minimum, yellow), and once every group has been red
** for the longest all-red of the intersection the lamps show 'o' (flashing:
** every movement yields as at an unsignalised junction).  Leaving flash, all
** lamps turn red at once and the next green waits for its all-red, counted
** from then.
**
** Invariant checked by tests/unit/test_monitor.c against an independent
** checker over millions of random steps, with every controller and a random
** one.
*/
#include <string.h>

#include "core/alloc.h"
#include "greenwave/control.h"

struct gw_monitor {
  gw_signal_model m;
  uint32_t target;
  uint32_t shown; /* last stage fully shown */
  double stage_since_t;
  uint8_t lamp[GW_MAX_GROUPS];
  uint8_t minor[GW_MAX_GROUPS];      /* current green (or yellow) is permissive */
  double since[GW_MAX_GROUPS];       /* when the lamp took its colour */
  uint8_t clear_done[GW_MAX_GROUPS]; /* end of red clearance reported */
  int failsafe;
  int flash_req, flashing; /* flash asked for; lamps flashing now */
  int reached;             /* the lamps show the target stage exactly */
  double failsafe_t;       /* first step in fail-safe, or negative */
  double longest_allred;
  uint64_t refused;
  double last_t;
  char state[257];
  /* What `state` was built from: it is rebuilt only when these change. */
  uint8_t built_lamp[GW_MAX_GROUPS], built_minor[GW_MAX_GROUPS];
  int built_flash, built;
  gw_event_fn fn;
  void *ud;
};

static void emit(gw_monitor *mon, double t, int code, int param) {
  if (!mon->fn) return;
  gw_event e = {mon->m.tls, t, code, param};
  mon->fn(mon->ud, &e);
}

/* R3: may groups a and b (with minor flags ma, mb) be non-red together? */
static int compatible(const gw_signal_model *m, uint32_t a, int ma, uint32_t b, int mb) {
  uint8_t ab = m->conflict[a][b], ba = m->conflict[b][a];
  if (ab == GW_CONFLICT_HARD || ba == GW_CONFLICT_HARD) return 0;
  if (ab == GW_CONFLICT_NONE && ba == GW_CONFLICT_NONE) return 1;
  return (ab == GW_CONFLICT_YIELDS && ma) || (ba == GW_CONFLICT_YIELDS && mb);
}

/* R3 + R4 for group g becoming green with minor flag mg at time t. */
static int may_show(const gw_monitor *mon, uint32_t g, int mg, double t) {
  const gw_signal_model *m = &mon->m;
  for (uint32_t h = 0; h < m->ngroups; h++) {
    if (h == g) continue;
    if (mon->lamp[h] != GW_LAMP_RED) {
      if (!compatible(m, g, mg, h, mon->minor[h])) return 0;
    } else if (!compatible(m, g, mg, h, 0) && t - mon->since[h] < m->allred_s[h][g] - 1e-9) {
      return 0;
    }
  }
  return 1;
}

/* The longest all-red that follows the end of group g. */
static double red_clearance(const gw_signal_model *m, uint32_t g) {
  double need = 0;
  for (uint32_t h = 0; h < m->ngroups; h++)
    if (m->allred_s[g][h] > need) need = m->allred_s[g][h];
  return need;
}

static void build_state(gw_monitor *mon) {
  const gw_signal_model *m = &mon->m;
  size_t ng = m->ngroups;
  if (mon->built && mon->built_flash == mon->flashing && !memcmp(mon->built_lamp, mon->lamp, ng) &&
      !memcmp(mon->built_minor, mon->minor, ng))
    return; /* the lamps have not changed since the string was made */
  memcpy(mon->built_lamp, mon->lamp, ng);
  memcpy(mon->built_minor, mon->minor, ng);
  mon->built_flash = mon->flashing;
  mon->built = 1;
  if (mon->flashing) {
    memset(mon->state, 'o', m->nlinks);
    mon->state[m->nlinks] = 0;
    return;
  }
  for (uint32_t k = 0; k < m->nlinks; k++) {
    uint32_t g = m->group_of_link[k];
    char c = 'r';
    if (mon->lamp[g] == GW_LAMP_GREEN)
      c = mon->minor[g] ? 'g' : 'G';
    else if (mon->lamp[g] == GW_LAMP_YELLOW)
      c = 'y';
    mon->state[k] = c;
  }
  mon->state[m->nlinks] = 0;
}

int gw_monitor_create(const gw_signal_model *m, uint32_t initial, double t, gw_event_fn fn,
                      void *ud, gw_monitor **out) {
  if (m->nstages == 0 || m->ngroups == 0 || m->nlinks > 256) return GW_EINVAL;
  gw_monitor *mon = gw__calloc(1, sizeof *mon);
  if (!mon) return GW_ENOMEM;
  mon->m = *m;
  mon->fn = fn;
  mon->ud = ud;
  if (initial >= m->nstages) initial = 0;
  const gw_stage *s = &m->stages[initial];
  for (uint32_t g = 0; g < m->ngroups; g++) {
    int green = (int)(s->green >> g & 1);
    mon->lamp[g] = green ? GW_LAMP_GREEN : GW_LAMP_RED;
    mon->minor[g] = green && (s->minor >> g & 1);
    /* As if the greens had served their minimum and the reds had cleared. */
    mon->since[g] = t - (green ? m->groups[g].min_green_s : 1e6);
    mon->clear_done[g] = 1;
  }
  mon->target = mon->shown = initial;
  mon->reached = 1;
  for (uint32_t a = 0; a < m->ngroups; a++)
    for (uint32_t b = 0; b < m->ngroups; b++)
      if (m->allred_s[a][b] > mon->longest_allred) mon->longest_allred = m->allred_s[a][b];
  mon->stage_since_t = t - m->groups[0].min_green_s;
  mon->last_t = t;
  build_state(mon);
  *out = mon;
  return GW_OK;
}

void gw_monitor_destroy(gw_monitor *mon) { gw__free(mon); }

int gw_monitor_request(gw_monitor *mon, uint32_t stage, double t) {
  if (stage >= mon->m.nstages) {
    mon->refused++;
    emit(mon, t, GW_EV_REQUEST_REFUSED, (int)stage);
    return GW_ERANGE;
  }
  if (mon->failsafe) return GW_ESTATE; /* the fail-safe sequence is not interrupted */
  mon->target = stage;
  return GW_OK;
}

const char *gw_monitor_step(gw_monitor *mon, double t) {
  const gw_signal_model *m = &mon->m;
  if (mon->failsafe) {
    /* Fail-safe ends once every group is red and has served the longest
    ** all-red of the intersection, counted from the first step in fail-safe
    ** at the earliest: before it the field showed something unknown. */
    if (mon->failsafe_t < 0) mon->failsafe_t = t;
    int all_red = 1;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      double from = mon->since[g] > mon->failsafe_t ? mon->since[g] : mon->failsafe_t;
      all_red &= mon->lamp[g] == GW_LAMP_RED && t - from >= mon->longest_allred - 1e-9;
    }
    if (all_red) {
      mon->failsafe = 0;
      mon->target = 0;
    }
  }
  if (mon->flashing && !mon->flash_req) {
    /* Out of flash: all red from now, greens wait for their all-red. */
    mon->flashing = 0;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      mon->since[g] = t;
      mon->clear_done[g] = 0;
    }
  } else if (mon->flash_req && !mon->flashing && !mon->failsafe) {
    int all_red = 1;
    for (uint32_t g = 0; g < m->ngroups; g++)
      all_red &= mon->lamp[g] == GW_LAMP_RED && t - mon->since[g] >= mon->longest_allred - 1e-9;
    if (all_red) mon->flashing = 1;
  }
  /* From here on flashing implies flash_req. */
  const gw_stage *s = &m->stages[mon->target];
  uint64_t want = mon->failsafe || mon->flash_req ? 0 : s->green;
  /* Ends first (R1, R2), so that starts in the same step see them. */
  for (uint32_t g = 0; g < m->ngroups; g++) {
    double age = t - mon->since[g];
    int wanted = (int)(want >> g & 1);
    if (mon->lamp[g] == GW_LAMP_GREEN) {
      if (!wanted && age >= m->groups[g].min_green_s - 1e-9) {
        mon->lamp[g] = GW_LAMP_YELLOW;
        mon->since[g] = t;
        emit(mon, t, GW_EV_GREEN_TERMINATION, (int)g + 1);
        emit(mon, t, GW_EV_BEGIN_YELLOW, (int)g + 1);
      } else if (wanted && !mon->minor[g] && (s->minor >> g & 1)) {
        mon->minor[g] = 1; /* protected to permissive: always safe */
      }
    } else if (mon->lamp[g] == GW_LAMP_YELLOW) {
      if (age >= m->groups[g].yellow_s - 1e-9) {
        mon->lamp[g] = GW_LAMP_RED;
        mon->since[g] = t;
        mon->minor[g] = 0;
        mon->clear_done[g] = 0;
        emit(mon, t, GW_EV_END_YELLOW, (int)g + 1);
        emit(mon, t, GW_EV_BEGIN_RED_CLEAR, (int)g + 1);
      }
    }
  }
  /* Starts and upgrades (R3, R4). */
  for (uint32_t g = 0; g < m->ngroups; g++) {
    if (!(want >> g & 1)) continue;
    int mg = (int)(s->minor >> g & 1);
    if (mon->lamp[g] == GW_LAMP_RED) {
      /* A group that has just ended serves its own red clearance (and at
      ** least one step of red) before it may show green again. */
      if (t - mon->since[g] < red_clearance(m, g) - 1e-9 || t <= mon->since[g]) continue;
      if (!may_show(mon, g, mg, t)) continue;
      mon->lamp[g] = GW_LAMP_GREEN;
      mon->minor[g] = (uint8_t)mg;
      mon->since[g] = t;
      emit(mon, t, GW_EV_BEGIN_GREEN, (int)g + 1);
    } else if (mon->lamp[g] == GW_LAMP_GREEN && mon->minor[g] && !mg) {
      if (may_show(mon, g, 0, t)) mon->minor[g] = 0;
    }
  }
  /* End of red clearance, for the event log. */
  for (uint32_t g = 0; g < m->ngroups; g++) {
    if (mon->lamp[g] != GW_LAMP_RED || mon->clear_done[g]) continue;
    if (t - mon->since[g] >= red_clearance(m, g) - 1e-9) {
      mon->clear_done[g] = 1;
      emit(mon, t, GW_EV_END_RED_CLEAR, (int)g + 1);
    }
  }
  /* Has the target been reached? */
  int reached = !mon->failsafe && !mon->flash_req;
  for (uint32_t g = 0; g < m->ngroups && reached; g++) {
    int wanted = (int)(want >> g & 1);
    if (wanted)
      reached = mon->lamp[g] == GW_LAMP_GREEN && mon->minor[g] == (s->minor >> g & 1);
    else
      reached = mon->lamp[g] == GW_LAMP_RED;
  }
  if (reached && mon->shown != mon->target) {
    mon->shown = mon->target;
    mon->stage_since_t = t;
  }
  mon->reached = reached;
  mon->last_t = t;
  build_state(mon);
  return mon->state;
}

int gw_monitor_check_field(gw_monitor *mon, const char *field_state, double t) {
  if (field_state && strncmp(field_state, mon->state, mon->m.nlinks) == 0) return 0;
  if (mon->failsafe) return 1;
  mon->failsafe = 1;
  mon->failsafe_t = -1;
  mon->reached = 0;
  emit(mon, t, GW_EV_FAILSAFE, 1);
  return 1;
}

int gw_monitor_flash(gw_monitor *mon, int on, double t) {
  (void)t;
  mon->flash_req = on != 0;
  return GW_OK;
}

void gw_monitor_status_get(const gw_monitor *mon, gw_monitor_status *out) {
  /* Called by the control loop for every signal every step: fill the
  ** groups in use only, not the whole arrays. */
  out->stage = mon->shown;
  out->target = mon->target;
  out->in_transition = !mon->reached; /* never reached during fail-safe */
  out->stage_since_t = mon->stage_since_t;
  out->failsafe = mon->failsafe;
  out->flash = mon->flashing ? 2 : mon->flash_req;
  out->refused = mon->refused;
  for (uint32_t g = 0; g < mon->m.ngroups; g++) {
    out->lamp[g] = mon->lamp[g];
    out->lamp_since_t[g] = mon->since[g];
  }
}

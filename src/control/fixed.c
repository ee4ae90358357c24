/*
** fixed.c -- fixed-time control: cycle, splits and offset, switched by a
** time-of-day / day-of-week schedule with a smooth transition.
**
** The plan is a cycle of the model's stages in order.  Stage i owns a split
** s_i (its green plus the change interval that follows it) and the controller
** asks for stage i while the cycle position (t - offset) mod cycle lies in
** [start_i, start_i + s_i - lost), then for the next one, leaving the change
** interval to the monitor.  Without parameters the plan is the program's
** own (SUMO's static programs run unchanged, save for the monitor's
** intergreens).
**
** Schedule file (schedule=FILE), one plan per line, '#' comments:
**     mon-fri 07:00 cycle=120 splits=50/9/50/11 offset=30
**     sat,sun 00:00 cycle=90
** Days are mon..sun, ranges and lists; times are when the plan starts and it
** runs until the next entry.  Simulation time 0 is midnight of `start_day`
** (default mon).  A plan change is reached smoothly: each cycle the running
** offset moves at most 20 % of a cycle towards the new one (the shorter way
** round), as controllers do when changing patterns.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define MAX_PLANS 64

typedef struct plan {
  uint8_t days;   /* bit d: Monday = 0 */
  double start_s; /* seconds after midnight */
  double cycle_s, offset_s;
  double split[GW_MAX_STAGES]; /* 0: from the program */
  int number;                  /* pattern number for events (1-based line) */
} plan;

typedef struct fixed {
  const gw_signal_model *m;
  plan base; /* the program's plan, or the parameters' */
  plan plans[MAX_PLANS];
  int nplans;
  int start_day;
  const plan *active;
  double cycle_s, offset_s; /* running values, moving towards the active plan */
  double split[GW_MAX_STAGES];
  double cycle_start_t; /* start of the running cycle */
  int started;
} fixed;

static void plan_defaults(plan *p, const gw_signal_model *m) {
  memset(p, 0, sizeof *p);
  p->days = 0x7f;
  p->cycle_s = m->cycle_s;
  p->offset_s = m->offset_s;
  for (uint32_t i = 0; i < m->nstages; i++) p->split[i] = m->stages[i].green_s + m->lost_s;
}

/* "50/9/50/11" -> splits; scales them to the cycle when they do not add up. */
static int parse_splits(const char *s, plan *p, const gw_signal_model *m, gw_error *err) {
  uint32_t n = 0;
  double sum = 0;
  while (*s && n < GW_MAX_STAGES) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0 || v > 600)
      return gw__error(err, GW_EINVAL,
                       "controller fixed: splits '%s': expected numbers in "
                       "(0, 600] separated by '/'",
                       s);
    p->split[n++] = v;
    sum += v;
    s = *end == '/' ? end + 1 : end;
    if (*end && *end != '/') return gw__error(err, GW_EINVAL, "controller fixed: bad splits");
  }
  if (n != m->nstages)
    return gw__error(err, GW_EINVAL,
                     "controller fixed: %u splits given, signal '%s' has %u "
                     "stages",
                     n, m->id, m->nstages);
  for (uint32_t i = 0; i < n; i++) p->split[i] *= p->cycle_s / sum;
  return GW_OK;
}

/* Parses "cycle=.. splits=.. offset=.." words of a schedule line or of the
** parameters into p. */
static int parse_plan_words(char *words, plan *p, const gw_signal_model *m, gw_error *err) {
  char *save = NULL;
  const char *splits = NULL;
  for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(w, '=');
    if (!eq) return gw__error(err, GW_EINVAL, "controller fixed: '%s' is not key=value", w);
    *eq = 0;
    double v = atof(eq + 1);
    if (!strcmp(w, "cycle") && v >= 10 && v <= 600)
      p->cycle_s = v;
    else if (!strcmp(w, "offset"))
      p->offset_s = v;
    else if (!strcmp(w, "splits"))
      splits = eq + 1;
    else
      return gw__error(err, GW_EINVAL,
                       "controller fixed: '%s=%s' is not cycle (10..600), "
                       "offset or splits",
                       w, eq + 1);
  }
  if (splits) return parse_splits(splits, p, m, err);
  double sum = 0;
  for (uint32_t i = 0; i < m->nstages; i++) sum += p->split[i];
  for (uint32_t i = 0; i < m->nstages; i++) p->split[i] *= p->cycle_s / sum;
  return GW_OK;
}

static int day_index(const char *d) {
  static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (int i = 0; i < 7; i++)
    if (!strncmp(d, days[i], 3)) return i;
  return -1;
}

static int parse_days(const char *s, uint8_t *out) {
  *out = 0;
  if (!strcmp(s, "all") || !strcmp(s, "daily")) {
    *out = 0x7f;
    return 0;
  }
  while (*s) {
    int a = day_index(s), b = a;
    if (a < 0) return -1;
    s += 3;
    if (*s == '-') {
      b = day_index(s + 1);
      if (b < 0) return -1;
      s += 4;
    }
    for (int d = a;; d = (d + 1) % 7) {
      *out |= (uint8_t)(1u << d);
      if (d == b) break;
    }
    if (*s == ',')
      s++;
    else if (*s)
      return -1;
  }
  return 0;
}

static int load_schedule(fixed *f, const char *path, gw_error *err) {
  FILE *fp = fopen(path, "r");
  if (!fp) return gw__error(err, GW_EIO, "controller fixed: cannot open schedule '%s'", path);
  char line[512];
  int lineno = 0, rc = GW_OK;
  while (fgets(line, sizeof line, fp)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char days[64], hhmm[16];
    int used = 0;
    if (sscanf(line, " %63s %15s %n", days, hhmm, &used) < 2) continue;
    plan p = f->base;
    int hh, mm;
    if (parse_days(days, &p.days) || sscanf(hhmm, "%d:%d", &hh, &mm) != 2 || hh < 0 || hh > 23 ||
        mm < 0 || mm > 59) {
      rc = gw__error(err, GW_EINVAL,
                     "%s:%d: expected 'DAYS HH:MM [cycle=S] [splits=A/B/..] "
                     "[offset=S]'",
                     path, lineno);
      break;
    }
    p.start_s = hh * 3600.0 + mm * 60.0;
    p.number = lineno;
    char *nl = strchr(line + used, '\n');
    if (nl) *nl = 0;
    if ((rc = parse_plan_words(line + used, &p, f->m, err))) {
      char msg[sizeof err->msg];
      snprintf(msg, sizeof msg, "%s", err->msg);
      rc = gw__error(err, rc, "%s:%d: %s", path, lineno, msg);
      break;
    }
    if (f->nplans == MAX_PLANS) {
      rc = gw__error(err, GW_ERANGE, "%s: more than %d plans", path, MAX_PLANS);
      break;
    }
    f->plans[f->nplans++] = p;
  }
  fclose(fp);
  return rc;
}

static int fixed_init(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
                      gw_error *err) {
  (void)net;
  fixed *f = gw__calloc(1, sizeof *f);
  if (!f) return GW_ENOMEM;
  f->m = m;
  plan_defaults(&f->base, m);
  int rc;
  double v;
  char words[256];
  const char *sp = gw__ctl_param_str(p, "splits", NULL);
  if ((rc =
           gw__ctl_param_double(p, "fixed", "cycle", m->cycle_s, 10, 600, &f->base.cycle_s, err)) ||
      (rc = gw__ctl_param_double(p, "fixed", "offset", m->offset_s, -1e6, 1e6, &f->base.offset_s,
                                 err)))
    goto fail;
  snprintf(words, sizeof words, "%s%s", sp ? "splits=" : "", sp ? sp : "");
  if ((rc = parse_plan_words(words, &f->base, m, err))) goto fail;
  if ((rc = gw__ctl_param_double(p, "fixed", "start_day", 0, 0, 6, &v, err))) goto fail;
  f->start_day = (int)v;
  const char *sched = gw__ctl_param_str(p, "schedule", NULL);
  if (sched && (rc = load_schedule(f, sched, err))) goto fail;
  *state = f;
  return GW_OK;
fail:
  gw__free(f);
  return rc;
}

/* The plan in force at time t: the last schedule entry started before t
** (over the past week), else the base plan. */
static const plan *plan_at(const fixed *f, double t) {
  if (f->nplans == 0) return &f->base;
  double week = 7 * 86400.0;
  double tw = fmod(t, week) + f->start_day * 86400.0;
  const plan *best = NULL;
  double best_age = 1e18;
  for (int i = 0; i < f->nplans; i++)
    for (int d = 0; d < 7; d++) {
      if (!(f->plans[i].days & (1u << d))) continue;
      double start = d * 86400.0 + f->plans[i].start_s;
      double age = fmod(tw - start + 2 * week, week);
      if (age < best_age) {
        best_age = age;
        best = &f->plans[i];
      }
    }
  return best ? best : &f->base;
}

static void adopt(fixed *f, const gw_ctl_view *v, const plan *p, int first) {
  if (first || p->cycle_s != f->cycle_s) gw__ctl_emit(v, GW_EV_CYCLE_CHANGE, (int)p->cycle_s);
  if (!first && p != f->active) gw__ctl_emit(v, GW_EV_PATTERN_CHANGE, p->number);
  for (uint32_t i = 0; i < f->m->nstages; i++) {
    if (first || p->split[i] != f->split[i])
      gw__ctl_emit(v, GW_EV_SPLIT_CHANGE + (int)(i < 16 ? i : 15), (int)lround(p->split[i]));
    f->split[i] = p->split[i];
  }
  f->cycle_s = p->cycle_s;
  f->active = p;
}

static int fixed_step(void *state, const gw_ctl_view *v, uint32_t *stage) {
  fixed *f = state;
  const gw_signal_model *m = f->m;
  const plan *p = plan_at(f, v->t);
  if (!f->started) {
    f->started = 1;
    adopt(f, v, p, 1);
    f->offset_s = p->offset_s;
    double pos = fmod(v->t - f->offset_s, f->cycle_s);
    if (pos < 0) pos += f->cycle_s;
    f->cycle_start_t = v->t - pos;
  }
  /* A new cycle begins: take up the plan in force, and walk the offset. */
  while (v->t >= f->cycle_start_t + f->cycle_s - 1e-9) {
    f->cycle_start_t += f->cycle_s;
    if (p != f->active) adopt(f, v, p, 0);
    double want = fmod(p->offset_s, f->cycle_s), have = fmod(f->offset_s, f->cycle_s);
    double d = fmod(want - have + 1.5 * f->cycle_s, f->cycle_s) - 0.5 * f->cycle_s;
    double step = 0.2 * f->cycle_s;
    if (fabs(d) > 1e-9) {
      double mv = d > step ? step : d < -step ? -step : d;
      f->offset_s = have + mv;
      f->cycle_start_t += mv; /* this cycle is longer or shorter by the move */
      gw__ctl_emit(v, GW_EV_OFFSET_CHANGE, (int)lround(f->offset_s));
    }
  }
  /* Stage k is asked for while its green runs; during the change interval
  ** that ends its split the next stage is asked for, and the monitor shows
  ** the yellow and all-red. */
  double pos = v->t - f->cycle_start_t, acc = 0;
  uint32_t k = 0;
  for (; k < m->nstages; k++) {
    if (pos < acc + f->split[k] - m->lost_s) break;
    acc += f->split[k];
  }
  if (k == m->nstages) k = 0;
  *stage = k;
  return GW_OK;
}

static void fixed_fini(void *state) { gw__free(state); }

const gw_controller_type gw__ctl_fixed = {
    "fixed",    "fixed-time plan: cycle, splits, offset, optional time-of-day schedule",
    fixed_init, fixed_step,
    fixed_fini, 1,
    1};

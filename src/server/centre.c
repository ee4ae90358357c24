/*
** centre.c -- the live control centre: field, control loop, clock, writer.
**
** One thread (the loop) owns the field and the control loop.  Each step of
** field time it applies the operators' queued commands, steps every
** controller through its monitor (gw_control_step), steps the field, counts
** detector aggregates and publishes a snapshot.  Events, aggregates and
** alarms go to a second thread (the writer) through bounded queues, so a slow
** database costs dropped rows (counted), never a late step.  Paced runs
** sleep to an absolute deadline per step; a step that ends past the next
** deadline is a missed deadline.  A controller whose step overruns its budget
** (a quarter of the wall time of a step) sends its intersection to the fixed
** plan and raises an alarm, as does any fail-safe.
**
** Schedules.  Time-of-day plans from the store (table schedules) are kept in
** memory, reloaded by the writer every few seconds; at each minute of field
** time the loop finds each intersection's entry in force and, when it has
** changed since the last minute, activates its plan.  An operator's change
** stands until the next entry starts (edge-triggered, as controllers treat
** a time-of-day table beside manual overrides); at start-up the entry in
** force is taken as already applied, so a restart keeps the restored mode.
**
** Detector health.  Each intersection's detector events go through a live
** health check (gw_health, stuck on / no activity / chatter).  A detector
** found faulty is taken out of control at once (its phase falls back to
** recall or the program's split) and an alarm is raised; it comes back when
** the fault clears, or when an operator restores it.  Operators may also
** take a detector out by hand.
**
** Days.  A city's demand covers one day; at midnight the loop starts the
** next day on a fresh simulation with every intersection's mode restored.
** Field time t is seconds after the field's midnight; the epoch of an event
** is epoch_day + t.
**
** Threads other than the loop see only the snapshots (reference-counted,
** immutable), the command queue and the stats, all under one mutex.  The
** signal models used to validate plans are copies made at creation.
*/
#define _GNU_SOURCE
#include "server/centre.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/measures.h"
#include "greenwave/metrics.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"
#include "net/net_int.h"
#include "server/sbuf.h"

#define EVENT_CAP (1u << 17)
#define AGG_CAP (1u << 15)
#define ALARM_CAP 256
#define CMD_CAP 256
#define MAX_DET 64

/* ---- blobs --------------------------------------------------------------- */

gw_blob *gw_blob_new(const char *data, size_t len) {
  gw_blob *b = malloc(sizeof *b + len + 1);
  if (!b) return NULL;
  b->refs = 1;
  b->len = len;
  memcpy(b->data, data, len);
  b->data[len] = 0;
  return b;
}

gw_blob *gw_blob_ref(gw_blob *b) {
  if (b) __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
  return b;
}

void gw_blob_unref(gw_blob *b) {
  if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) free(b);
}

/* ---- state --------------------------------------------------------------- */

typedef struct isec {
  uint32_t tls;
  const char *id;
  const char *name; /* the junction's name, else the id (borrowed from the net) */
  double x, y;
  gw_signal_model model; /* a copy, for validation from any thread */
  char mode[16];
  char *param; /* malloc'd, or NULL */
  int plan_version;
  uint32_t ndet;
  uint32_t det[MAX_DET], det_group[MAX_DET], det_lane[MAX_DET];
  char *det_id[MAX_DET];
  /* Detector aggregates in progress: 5 and 15 minute bins. */
  uint32_t vol5[MAX_DET], vol15[MAX_DET];
  double occ5[MAX_DET], occ15[MAX_DET];
  double last_alarm_t[4]; /* per alarm kind, to limit repeats */
  struct gw_centre *c;
  gw_health *health;
  uint8_t det_fail[MAX_DET];     /* DF_*: why the detector is out of control */
  int8_t det_want[MAX_DET];      /* change asked for by the health check: -1 none */
  double det_since[MAX_DET];     /* epoch of the failure */
  uint8_t det_suspect[MAX_DET];  /* silent, waiting for evidence that it should count */
  uint16_t det_min[MAX_DET][30]; /* vehicles per field minute, the last 30 minutes */
  uint32_t det_cur[MAX_DET];     /* vehicles in the running minute */
  double sched_applied;          /* when the schedule entry in force at the last check started
                                 ** (epoch); -2e9: not checked yet, -1e9: none */
  gw_blob *snap;                 /* live state of this intersection */
} isec;

typedef struct cmd {
  uint32_t i;
  char mode[16]; /* a mode, or "det-fail" / "det-restore" */
  char *param;
  uint32_t det; /* detector slot, for the detector commands */
} cmd;

enum { DF_OK, DF_STUCK_ON, DF_NO_ACTIVITY, DF_CHATTER, DF_OPERATOR };
static const char *const df_name[] = {NULL, "stuck_on", "no_activity", "chatter", "operator"};

typedef struct alarm_rec {
  double t;
  uint32_t i; /* intersection, or UINT32_MAX */
  char kind[32], severity[16], message[256];
} alarm_rec;

typedef struct sched {
  int64_t id;
  uint32_t i; /* intersection */
  int days;   /* bit 0 Sunday .. bit 6 Saturday */
  double start_s;
  int version;
  char *body; /* the plan's body, JSON */
} sched;

typedef struct mode_rec { /* a mode the loop set by itself, for the writer to store */
  uint32_t i;
  int version;
  int64_t sched_id;
  char *body;
} mode_rec;

typedef struct agg_rec {
  uint32_t i, k; /* intersection, detector slot */
  int period_s;
  double start;
  int volume;
  double occupancy;
} agg_rec;

struct gw_centre {
  gw_centre_opts o;
  char path[1024];
  char *db_url;
  gw_scenario *sc;
  int sumo;    /* the field is SUMO over TraCI, not the built-in simulator */
  gw_sim *sim; /* the built-in simulator, when it is the field */
  gw_field field;
  int field_open;
  gw_control *ctl;
  double day_epoch; /* epoch of midnight of the running day */
  double dt;
  uint32_t n;
  isec *is;
  uint32_t *tls_to_is; /* tls index -> isec index */
  /* Network-wide figures of the running day. */
  uint64_t arrived_day;
  double delay_sum; /* time loss of arrived trips */
  double arr_hist[60];
  int arr_hist_pos;
  double day_start_t; /* field time the running day's simulation began */
  double last_bcast;  /* wall time of the last on_state call */
  /* Threads. */
  pthread_t loop, writer;
  int loop_started, writer_started;
  volatile int stop, finished;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  gw_blob *state, *network;
  cmd cmds[CMD_CAP];
  uint32_t ncmd;
  gw_event *ev; /* ring */
  uint32_t ev_head, ev_len;
  agg_rec *agg;
  uint32_t agg_len;
  alarm_rec alarms[ALARM_CAP];
  uint32_t nalarm;
  sched *sch; /* schedules in force, under mu */
  uint32_t nsch;
  mode_rec modes[CMD_CAP]; /* modes set by schedules, waiting for the writer */
  uint32_t nmode;
  double next_sched_t; /* field time of the next schedule check */
  double pace_from;    /* field time pacing starts (after the warm-up) */
  uint64_t alarms_open;
  gw_centre_stats st;
  double cpu_win_wall, cpu_win_cpu;
};

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int set_err(gw_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(gw_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t len, const char *fmt, ...) {
  if (!why || !len) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
}

void gw_centre_opts_init(gw_centre_opts *o) {
  memset(o, 0, sizeof *o);
  o->field = "sim";
  o->speed = 1;
  o->start_s = -1;
  o->end_s = -1;
}

/* ---- alarms and events (loop side) -------------------------------------- */

enum { AK_FAILSAFE, AK_CONTROLLER, AK_OVERRUN, AK_DEADLINE };

static void raise_alarm(gw_centre *c, double t, uint32_t i, int kind_slot, const char *kind,
                        const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void raise_alarm(gw_centre *c, double t, uint32_t i, int kind_slot, const char *kind,
                        const char *severity, const char *fmt, ...) {
  /* One alarm per intersection and kind per minute of field time
  ** (kind_slot < 0: every one counts, e.g. one per detector). */
  if (i != UINT32_MAX && kind_slot >= 0) {
    double *last = &c->is[i].last_alarm_t[kind_slot];
    if (*last > 0 && t - *last < 60) return;
    *last = t;
  }
  alarm_rec a;
  memset(&a, 0, sizeof a);
  a.t = c->day_epoch + t;
  a.i = i;
  snprintf(a.kind, sizeof a.kind, "%s", kind);
  snprintf(a.severity, sizeof a.severity, "%s", severity);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a.message, sizeof a.message, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&c->mu);
  if (c->nalarm < ALARM_CAP) c->alarms[c->nalarm++] = a;
  c->st.alarms_raised++;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->mu);
}

/* Control-loop events: to the writer's ring; fail-safes also raise alarms.
** Called on the loop thread only. */
static void on_event(void *ud, const gw_event *e) {
  gw_centre *c = ud;
  if ((e->code == GW_EV_DETECTOR_ON || e->code == GW_EV_DETECTOR_OFF) && e->tls < c->n &&
      c->is[c->tls_to_is[e->tls]].health)
    gw_health_feed(c->is[c->tls_to_is[e->tls]].health, e->t, e->code, e->param);
  if (e->code == GW_EV_FAILSAFE && e->tls < c->sc->net->tls.n) {
    uint32_t i = c->tls_to_is[e->tls];
    const char *id = c->is[i].id;
    if (e->param == 1)
      raise_alarm(c, e->t, i, AK_FAILSAFE, "failsafe", "critical",
                  "%s: the field showed a state the monitor did not grant; fail-safe, then the "
                  "fixed plan",
                  id);
    else if (e->param == 2)
      raise_alarm(c, e->t, i, AK_CONTROLLER, "controller", "major",
                  "%s: its controller failed; running the fixed plan", id);
    else
      raise_alarm(c, e->t, i, AK_OVERRUN, "overrun", "major",
                  "%s: its controller overran its time budget; running the fixed plan", id);
  }
  pthread_mutex_lock(&c->mu);
  if (c->ev_len < EVENT_CAP) {
    c->ev[(c->ev_head + c->ev_len) % EVENT_CAP] = *e;
    c->ev_len++;
  } else {
    c->st.events_dropped++;
  }
  pthread_mutex_unlock(&c->mu);
}

/* Live health findings (loop thread, inside the control step): only noted
** here, applied after the step by apply_detector_changes. */
static void on_health(void *ud, int what, const gw_health_finding *f) {
  isec *x = ud;
  for (uint32_t k = 0; k < x->ndet; k++) {
    if ((int)x->det[k] + 1 != f->detector) continue;
    if (what == GW_HEALTH_STARTED && x->det_fail[k] == DF_OK) {
      if (f->kind == GW_HEALTH_NO_ACTIVITY)
        x->det_suspect[k] = 1; /* judged against its neighbours' counts each minute */
      else
        x->det_want[k] = (int8_t)(f->kind == GW_HEALTH_STUCK_ON ? DF_STUCK_ON : DF_CHATTER);
    } else if (what == GW_HEALTH_CLEARED) {
      x->det_suspect[k] = 0;
      if (x->det_fail[k] != DF_OK && x->det_fail[k] != DF_OPERATOR) x->det_want[k] = DF_OK;
    }
  }
}

static void on_health_batch(void *ud, const gw_health_finding *f) {
  (void)ud;
  (void)f;
}

static void raise_alarm(gw_centre *c, double t, uint32_t i, int kind_slot, const char *kind,
                        const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Sets a detector's state (loop thread): in or out of control. */
static void set_detector(gw_centre *c, isec *x, uint32_t k, int why, double t) {
  gw_control_detector_set_failed(c->ctl, x->det[k], why != DF_OK);
  pthread_mutex_lock(&c->mu);
  x->det_fail[k] = (uint8_t)why;
  x->det_since[k] = why == DF_OK ? 0 : c->day_epoch + t;
  pthread_mutex_unlock(&c->mu);
}

static void apply_detector_changes(gw_centre *c, double t) {
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    for (uint32_t k = 0; k < x->ndet; k++) {
      int want = x->det_want[k];
      if (want < 0) continue;
      x->det_want[k] = -1;
      set_detector(c, x, k, want, t);
      if (want != DF_OK) {
        char kind[32];
        snprintf(kind, sizeof kind, "detector_%s", df_name[want]);
        /* Each detector's alarm is its own: no per-kind limit here. */
        raise_alarm(c, t, i, -1, kind, "minor",
                    "%s: detector %s (phase %u) %s; taken out of control until it recovers or an "
                    "operator restores it",
                    x->id, x->det_id[k], x->det_group[k] + 1,
                    want == DF_STUCK_ON      ? "stuck on"
                    : want == DF_NO_ACTIVITY ? "silent"
                                             : "chattering");
      }
    }
  }
}

/* Once a field minute: roll the per-detector counts, and fail a silent
** detector only when its neighbours show it should have counted: the
** other detectors of its phase averaged at least 15 vehicles in the last 30
** minutes (a lane of a busy movement that saw none), or, alone on its phase,
** the intersection's other detectors averaged 30.  Quiet lanes at night are
** not faults. */
static void judge_silent(gw_centre *c, double t) {
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    uint32_t sum[MAX_DET];
    for (uint32_t k = 0; k < x->ndet; k++) {
      memmove(&x->det_min[k][1], &x->det_min[k][0], 29 * sizeof x->det_min[k][0]);
      x->det_min[k][0] = (uint16_t)(x->det_cur[k] > 65535 ? 65535 : x->det_cur[k]);
      x->det_cur[k] = 0;
      sum[k] = 0;
      for (int m = 0; m < 30; m++) sum[k] += x->det_min[k][m];
    }
    for (uint32_t k = 0; k < x->ndet; k++) {
      if (!x->det_suspect[k] || x->det_fail[k] != DF_OK) continue;
      uint32_t same = 0, same_n = 0, all = 0, all_n = 0;
      for (uint32_t j = 0; j < x->ndet; j++) {
        if (j == k || x->det_fail[j] != DF_OK) continue;
        all += sum[j];
        all_n++;
        if (x->det_group[j] == x->det_group[k]) {
          same += sum[j];
          same_n++;
        }
      }
      int fault = same_n ? same >= 15 * same_n : all_n && all >= 30 * all_n;
      if (fault && sum[k] == 0) {
        x->det_suspect[k] = 0;
        x->det_want[k] = DF_NO_ACTIVITY;
      }
    }
  }
  apply_detector_changes(c, t);
}

static void health_reset(gw_centre *c, isec *x) {
  gw_health_destroy(x->health);
  x->health = NULL;
  gw_health_config hc;
  memset(&hc, 0, sizeof hc);
  hc.signal = x->id;
  if (!gw_health_create(&hc, on_health_batch, x, &x->health))
    gw_health_set_live(x->health, on_health, x);
  (void)c;
}

static void on_trip(void *ud, const gw_trip_record *r) {
  gw_centre *c = ud;
  c->arrived_day++;
  c->delay_sum += r->time_loss_s;
  c->arr_hist[c->arr_hist_pos]++;
}

/* ---- schedules ----------------------------------------------------------- */

static void sched_free(sched *a, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) free(a[k].body);
  free(a);
}

static int find_isec(const gw_centre *c, const char *id);

/* Reads every schedule entry and its plan's body; swaps them in. */
static int load_schedules(gw_centre *c, gw_store *s, gw_error *err) {
  cJSON *rows = NULL;
  int rc = gw_store_schedules(s, NULL, &rows, err);
  if (rc) return rc;
  uint32_t n = (uint32_t)cJSON_GetArraySize(rows), m = 0;
  sched *a = calloc(n + 1, sizeof *a);
  const cJSON *r;
  cJSON_ArrayForEach(r, rows) {
    if (!a) break;
    const cJSON *iid = cJSON_GetObjectItemCaseSensitive(r, "intersection_id");
    int i = cJSON_IsString(iid) ? find_isec(c, iid->valuestring) : -1;
    if (i < 0) continue;
    sched *e = &a[m];
    e->id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
    e->i = (uint32_t)i;
    e->days = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "days"));
    e->start_s = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "start_s"));
    e->version = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "plan_version"));
    cJSON *plan = NULL;
    gw_error perr = {0, {0}};
    if (gw_store_plan_get(s, iid->valuestring, e->version, &plan, &perr)) continue;
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(plan, "body");
    e->body = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(plan);
    if (e->body) m++;
  }
  cJSON_Delete(rows);
  if (!a) return set_err(err, GW_ENOMEM, "out of memory");
  pthread_mutex_lock(&c->mu);
  sched *old = c->sch;
  uint32_t nold = c->nsch;
  c->sch = a;
  c->nsch = m;
  pthread_mutex_unlock(&c->mu);
  sched_free(old, nold);
  return GW_OK;
}

/* The entry in force for intersection i at field time t: today's latest
** entry that has started, else the latest of the days before (up to a
** week back).  NULL when the intersection has no schedule. */
static const sched *sched_in_force(const gw_centre *c, uint32_t i, double t, double *since) {
  time_t day = (time_t)(c->day_epoch + floor(t / 86400) * 86400);
  struct tm tm;
  gmtime_r(&day, &tm);
  double tod = fmod(t, 86400);
  for (int back = 0; back < 8; back++) {
    int wday = ((tm.tm_wday - back) % 7 + 7) % 7;
    const sched *best = NULL;
    for (uint32_t k = 0; k < c->nsch; k++) {
      const sched *e = &c->sch[k];
      if (e->i != i || !(e->days >> wday & 1)) continue;
      if (back == 0 && e->start_s > tod) continue;
      if (!best || e->start_s > best->start_s || (e->start_s == best->start_s && e->id > best->id))
        best = e;
    }
    if (best) {
      *since = floor(t / 86400) * 86400 - back * 86400.0 + best->start_s;
      return best;
    }
  }
  return NULL;
}

static void apply_mode(gw_centre *c, struct isec *x);

/* Loop thread, once a field minute. */
static void run_schedules(gw_centre *c, double t) {
  pthread_mutex_lock(&c->mu);
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    double since = -1e9;
    const sched *e = sched_in_force(c, i, t, &since);
    if (e) since += c->day_epoch; /* as an epoch: the same across midnight */
    if (x->sched_applied == -2e9 || since == x->sched_applied || !e) {
      x->sched_applied = since;
      continue;
    }
    x->sched_applied = since;
    char *body = strdup(e->body);
    if (!body) continue;
    snprintf(x->mode, sizeof x->mode, "fixed");
    free(x->param);
    x->param = body;
    x->plan_version = e->version;
    if (c->nmode < CMD_CAP) {
      mode_rec *mr = &c->modes[c->nmode++];
      mr->i = i;
      mr->version = e->version;
      mr->sched_id = e->id;
      mr->body = strdup(body);
    }
    pthread_mutex_unlock(&c->mu);
    apply_mode(c, x);
    pthread_mutex_lock(&c->mu);
  }
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->mu);
}

/* Writer thread: stores the modes schedules set, with an audit row. */
static void store_modes(gw_centre *c, gw_store *s, mode_rec *mr, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) {
    const isec *x = &c->is[mr[k].i];
    gw_error err = {0, {0}};
    char after[256];
    snprintf(after, sizeof after, "{\"mode\":\"fixed\",\"plan_version\":%d,\"schedule\":%lld}",
             mr[k].version, (long long)mr[k].sched_id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = gw_store_begin(s, &err);
    if (!rc) rc = gw_store_intersection_set_mode(s, x->id, "fixed", mr[k].body, &err);
    if (!rc) rc = gw_store_plan_activate(s, x->id, mr[k].version, &err);
    if (!rc)
      rc = gw_store_audit(s, (double)now.tv_sec, "schedule", "schedule.apply", x->id, NULL, after,
                          &err);
    if (!rc) rc = gw_store_commit(s, &err);
    if (rc) {
      gw_store_rollback(s);
      fprintf(stderr, "greenwave: writer: %s\n", err.msg);
    }
    free(mr[k].body);
  }
}

/* ---- the writer ----------------------------------------------------------- */

static void *writer_main(void *arg) {
  gw_centre *c = arg;
  gw_store *s = NULL;
  gw_error err = {0, {0}};
  if (gw_store_open(c->db_url, &s, &err)) {
    fprintf(stderr, "greenwave: writer: %s\n", err.msg);
    s = NULL;
  }
  gw_event *evs = malloc(8192 * sizeof *evs);
  gw_store_event *rows = malloc(8192 * sizeof *rows);
  agg_rec *aggs = malloc(AGG_CAP * sizeof *aggs);
  gw_store_aggregate *arows = malloc(AGG_CAP * sizeof *arows);
  alarm_rec *alarms = malloc(ALARM_CAP * sizeof *alarms);
  mode_rec *modes = malloc(CMD_CAP * sizeof *modes);
  double last_count = 0, last_sched = wall_now();
  for (;;) {
    pthread_mutex_lock(&c->mu);
    while (!c->stop && !c->ev_len && !c->agg_len && !c->nalarm && !c->nmode) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&c->wake, &c->mu, &ts);
    }
    int stopping = c->stop && !c->ev_len && !c->agg_len && !c->nalarm && !c->nmode;
    uint32_t nm = modes ? c->nmode : 0;
    if (nm) memcpy(modes, c->modes, nm * sizeof *modes);
    c->nmode -= nm;
    uint32_t ne = c->ev_len < 8192 ? c->ev_len : 8192;
    for (uint32_t k = 0; k < ne; k++) evs[k] = c->ev[(c->ev_head + k) % EVENT_CAP];
    c->ev_head = (c->ev_head + ne) % EVENT_CAP;
    c->ev_len -= ne;
    uint32_t na = c->agg_len;
    memcpy(aggs, c->agg, na * sizeof *aggs);
    c->agg_len = 0;
    uint32_t nl = c->nalarm;
    memcpy(alarms, c->alarms, nl * sizeof *alarms);
    c->nalarm = 0;
    pthread_mutex_unlock(&c->mu);
    if (s && nm) store_modes(c, s, modes, nm);
    if (stopping) break;
    if (s && wall_now() - last_sched >= 5) { /* operators' schedule edits */
      last_sched = wall_now();
      if (load_schedules(c, s, &err)) fprintf(stderr, "greenwave: writer: %s\n", err.msg);
    }
    if (s && wall_now() - last_count >= 2) {
      /* Open alarms: neither acknowledged nor cleared (operators
      ** acknowledge through the API, so the store is the truth). */
      last_count = wall_now();
      cJSON *open = NULL;
      if (!gw_store_alarms(s, 1, 10000, &open, &err)) {
        uint64_t n = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, open) {
          if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "acked_at"))) n++;
        }
        pthread_mutex_lock(&c->mu);
        c->alarms_open = n;
        pthread_mutex_unlock(&c->mu);
      }
      cJSON_Delete(open);
    }
    if (!s || !evs || !rows || !aggs || !arows || !alarms) {
      pthread_mutex_lock(&c->mu);
      c->st.events_dropped += ne;
      pthread_mutex_unlock(&c->mu);
      continue;
    }
    for (uint32_t k = 0; k < ne; k++) {
      rows[k].signal_id = gw_net_tls_id(c->sc->net, evs[k].tls);
      rows[k].t = c->day_epoch + round(evs[k].t * 10) / 10;
      rows[k].code = evs[k].code;
      rows[k].param = evs[k].param;
    }
    if (ne && gw_store_events_add(s, rows, ne, &err)) {
      fprintf(stderr, "greenwave: writer: %s\n", err.msg);
      pthread_mutex_lock(&c->mu);
      c->st.events_dropped += ne;
      pthread_mutex_unlock(&c->mu);
    } else if (ne) {
      pthread_mutex_lock(&c->mu);
      c->st.events_written += ne;
      pthread_mutex_unlock(&c->mu);
    }
    for (uint32_t k = 0; k < na; k++) {
      const isec *x = &c->is[aggs[k].i];
      arows[k].detector_id = x->det_id[aggs[k].k];
      arows[k].intersection_id = x->id;
      arows[k].period_s = aggs[k].period_s;
      arows[k].start = aggs[k].start;
      arows[k].volume = aggs[k].volume;
      arows[k].occupancy = aggs[k].occupancy;
    }
    if (na && gw_store_aggregates_add(s, arows, na, &err))
      fprintf(stderr, "greenwave: writer: %s\n", err.msg);
    for (uint32_t k = 0; k < nl; k++) {
      const alarm_rec *a = &alarms[k];
      const char *iid = a->i == UINT32_MAX ? NULL : c->is[a->i].id;
      int64_t id = 0;
      if (gw_store_alarm_raise(s, a->t, iid, a->kind, a->severity, a->message, &id, &err)) {
        fprintf(stderr, "greenwave: writer: %s\n", err.msg);
        continue;
      }
      if (c->o.on_alarm) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "type", "alarm");
        cJSON_AddNumberToObject(j, "id", (double)id);
        cJSON_AddNumberToObject(j, "t", a->t);
        if (iid)
          cJSON_AddStringToObject(j, "intersection_id", iid);
        else
          cJSON_AddNullToObject(j, "intersection_id");
        cJSON_AddStringToObject(j, "kind", a->kind);
        cJSON_AddStringToObject(j, "severity", a->severity);
        cJSON_AddStringToObject(j, "message", a->message);
        char *txt = cJSON_PrintUnformatted(j);
        if (txt) c->o.on_alarm(c->o.ud, txt);
        free(txt);
        cJSON_Delete(j);
      }
    }
  }
  free(evs);
  free(rows);
  free(aggs);
  free(arows);
  free(alarms);
  free(modes);
  gw_store_close(s);
  return NULL;
}

/* ---- modes --------------------------------------------------------------- */

/* The change interval after stage k: the longest yellow plus all-red of a
** group that ends, to the groups that start in the next stage. */
static double change_after(const gw_signal_model *m, uint32_t k) {
  const gw_stage *a = &m->stages[k], *b = &m->stages[(k + 1) % m->nstages];
  double worst = 0;
  for (uint32_t g = 0; g < m->ngroups; g++) {
    if (!(a->green >> g & 1) || (b->green >> g & 1)) continue;
    double ar = 0;
    for (uint32_t h = 0; h < m->ngroups; h++)
      if ((b->green >> h & 1) && !(a->green >> h & 1) && m->allred_s[g][h] > ar)
        ar = m->allred_s[g][h];
    if (m->groups[g].yellow_s + ar > worst) worst = m->groups[g].yellow_s + ar;
  }
  return worst;
}

/* Checks a plan body; on success writes the fixed controller's spec. */
static int plan_check(const gw_signal_model *m, const char *body, char *spec, size_t spec_len,
                      char *why, size_t why_len) {
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  int rc = GW_EINVAL;
  if (!j || !cJSON_IsObject(j)) {
    say(why, why_len, "the plan is not a JSON object");
    goto out;
  }
  const cJSON *cy = cJSON_GetObjectItemCaseSensitive(j, "cycle_s");
  const cJSON *of = cJSON_GetObjectItemCaseSensitive(j, "offset_s");
  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "splits_s");
  if (!cJSON_IsNumber(cy) || !isfinite(cy->valuedouble) || cy->valuedouble < 30 ||
      cy->valuedouble > 300) {
    say(why, why_len, "cycle_s must be a number of seconds in [30, 300]");
    goto out;
  }
  double cycle = cy->valuedouble, offset = 0;
  if (of) {
    if (!cJSON_IsNumber(of) || !isfinite(of->valuedouble) || of->valuedouble < 0 ||
        of->valuedouble >= cycle) {
      say(why, why_len, "offset_s must be a number in [0, cycle_s)");
      goto out;
    }
    offset = of->valuedouble;
  }
  if (!cJSON_IsArray(sp) || cJSON_GetArraySize(sp) != (int)m->nstages) {
    say(why, why_len, "splits_s must be an array of %u numbers, one per stage", m->nstages);
    goto out;
  }
  double sum = 0;
  size_t pos = (size_t)snprintf(spec, spec_len, "fixed:cycle=%g,offset=%g,splits=", cycle, offset);
  for (uint32_t k = 0; k < m->nstages; k++) {
    const cJSON *v = cJSON_GetArrayItem(sp, (int)k);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0) {
      say(why, why_len, "splits_s[%u] must be a positive number of seconds", k);
      goto out;
    }
    double need = 0;
    for (uint32_t g = 0; g < m->ngroups; g++)
      if ((m->stages[k].green >> g & 1) && m->groups[g].min_green_s > need)
        need = m->groups[g].min_green_s;
    double change = change_after(m, k);
    need += change;
    if (v->valuedouble + 1e-9 < need) {
      say(why, why_len,
          "splits_s[%u] = %g s is too short: stage %u needs %g s of minimum green plus %g s of "
          "yellow and all-red",
          k, v->valuedouble, k, need - change, change);
      goto out;
    }
    sum += v->valuedouble;
    if (pos < spec_len)
      pos += (size_t)snprintf(spec + pos, spec_len - pos, "%s%g", k ? "/" : "", v->valuedouble);
  }
  if (fabs(sum - cycle) > 0.05) {
    say(why, why_len, "splits_s add up to %g s but cycle_s is %g s", sum, cycle);
    goto out;
  }
  if (pos >= spec_len) {
    say(why, why_len, "the plan is too long");
    goto out;
  }
  rc = GW_OK;
out:
  cJSON_Delete(j);
  return rc;
}

static int find_isec(const gw_centre *c, const char *id) {
  if (!id) return -1;
  for (uint32_t i = 0; i < c->n; i++)
    if (!strcmp(c->is[i].id, id)) return (int)i;
  return -1;
}

/* Checks a mode; writes the controller spec for controller modes. */
static int mode_check(const gw_centre *c, const isec *x, const char *mode, const char *param,
                      char *spec, size_t spec_len, char *why, size_t why_len) {
  spec[0] = 0;
  if (!mode) {
    say(why, why_len, "no mode given");
    return GW_EINVAL;
  }
  if (!strcmp(mode, "fixed")) {
    if (!param || !*param) {
      snprintf(spec, spec_len, "fixed");
      return GW_OK;
    }
    return plan_check(&x->model, param, spec, spec_len, why, why_len);
  }
  if (!strcmp(mode, "hold")) {
    char *end;
    long k = param ? strtol(param, &end, 10) : -1;
    if (!param || end == param || *end || k < 0 || k >= (long)x->model.nstages) {
      say(why, why_len, "hold needs a stage number in [0, %u]", x->model.nstages - 1);
      return GW_EINVAL;
    }
    return GW_OK;
  }
  if (!strcmp(mode, "flash")) return GW_OK;
  if (strcmp(mode, "actuated") && strcmp(mode, "adaptive") && strcmp(mode, "maxpressure")) {
    say(why, why_len,
        "unknown mode '%s': expected fixed, actuated, adaptive, maxpressure, hold or flash", mode);
    return GW_EINVAL;
  }
  if (param && strlen(param) > 400) {
    say(why, why_len, "controller parameters are too long");
    return GW_EINVAL;
  }
  snprintf(spec, spec_len, "%s%s%s", mode, param && *param ? ":" : "", param ? param : "");
  gw_controller *ctl;
  gw_error err = {0, {0}};
  if (gw_controller_check_runtime(spec, &err) ||
      gw_controller_create(spec, &x->model, c->sc->net, &ctl, &err)) {
    say(why, why_len, "%s", err.msg);
    return GW_EINVAL;
  }
  gw_controller_destroy(ctl);
  return GW_OK;
}

/* Puts an intersection in its mode (loop thread). */
static void apply_mode(gw_centre *c, isec *x) {
  char spec[1024], why[256];
  gw_error err = {0, {0}};
  if (mode_check(c, x, x->mode, x->param, spec, sizeof spec, why, sizeof why)) {
    fprintf(stderr, "greenwave: %s: mode %s: %s; running the fixed program\n", x->id, x->mode, why);
    snprintf(x->mode, sizeof x->mode, "fixed");
    free(x->param);
    x->param = NULL;
    snprintf(spec, sizeof spec, "fixed");
  }
  int hold = !strcmp(x->mode, "hold"), flash = !strcmp(x->mode, "flash");
  gw_control_flash(c->ctl, x->tls, flash);
  gw_control_hold(c->ctl, x->tls, hold ? atoi(x->param) : -1);
  if (spec[0] && gw_control_set_controller(c->ctl, x->tls, spec, &err))
    fprintf(stderr, "greenwave: %s: %s\n", x->id, err.msg);
}

int gw_centre_mode_validate(gw_centre *c, const char *id, const char *mode, const char *param,
                            char *why, size_t why_len) {
  int i = find_isec(c, id);
  if (i < 0) {
    say(why, why_len, "no intersection '%s'", id ? id : "");
    return GW_ENOTFOUND;
  }
  char spec[1024];
  return mode_check(c, &c->is[i], mode, param, spec, sizeof spec, why, why_len);
}

int gw_centre_set_mode(gw_centre *c, const char *id, const char *mode, const char *param, char *why,
                       size_t why_len) {
  int rc = gw_centre_mode_validate(c, id, mode, param, why, why_len);
  if (rc) return rc;
  cmd k;
  memset(&k, 0, sizeof k);
  k.i = (uint32_t)find_isec(c, id);
  snprintf(k.mode, sizeof k.mode, "%s", mode);
  k.param = param && *param ? strdup(param) : NULL;
  pthread_mutex_lock(&c->mu);
  if (c->ncmd == CMD_CAP) {
    pthread_mutex_unlock(&c->mu);
    free(k.param);
    say(why, why_len, "too many commands waiting; try again");
    return GW_ESTATE;
  }
  c->cmds[c->ncmd++] = k;
  pthread_mutex_unlock(&c->mu);
  return GW_OK;
}

int gw_centre_plan_validate(gw_centre *c, const char *id, const char *body_json, char *why,
                            size_t why_len) {
  int i = find_isec(c, id);
  if (i < 0) {
    say(why, why_len, "no intersection '%s'", id ? id : "");
    return GW_ENOTFOUND;
  }
  char spec[1024];
  return plan_check(&c->is[i].model, body_json, spec, sizeof spec, why, why_len);
}

static double field_time(gw_centre *c);

static void apply_commands(gw_centre *c) {
  cmd local[CMD_CAP];
  pthread_mutex_lock(&c->mu);
  uint32_t n = c->ncmd;
  memcpy(local, c->cmds, n * sizeof *local);
  c->ncmd = 0;
  pthread_mutex_unlock(&c->mu);
  for (uint32_t k = 0; k < n; k++) {
    isec *x = &c->is[local[k].i];
    if (!strncmp(local[k].mode, "det-", 4)) {
      int fail = !strcmp(local[k].mode, "det-fail");
      if (local[k].det < x->ndet)
        set_detector(c, x, local[k].det, fail ? DF_OPERATOR : DF_OK, field_time(c));
      continue;
    }
    snprintf(x->mode, sizeof x->mode, "%s", local[k].mode);
    free(x->param);
    x->param = local[k].param;
    apply_mode(c, x);
  }
}

/* ---- days ---------------------------------------------------------------- */

static void end_day(gw_centre *c) {
  gw_control_destroy(c->ctl);
  c->ctl = NULL;
  if (c->sumo && c->field_open) {
    gw_error err = {0, {0}};
    gw_sumo_stats st;
    if (gw_field_sumo_close(&c->field, &st, &err))
      fprintf(stderr, "greenwave: sumo: %s\n", err.msg);
  }
  c->field_open = 0;
  gw_sim_destroy(c->sim);
  c->sim = NULL;
}

static double field_time(gw_centre *c) { return c->field.ops->time(c->field.impl); }

/* Vehicles in the network now and arrived so far, whatever the field. */
static void field_counts(gw_centre *c, uint64_t *running, uint64_t *arrived) {
  if (c->sim) {
    gw_sim_stats ss;
    gw_sim_stats_get(c->sim, &ss);
    *running = ss.running;
    *arrived = c->arrived_day;
  } else {
    gw_sumo_stats ss;
    gw_field_sumo_stats(&c->field, &ss);
    *running = ss.departed - ss.arrived;
    *arrived = ss.arrived;
  }
}

static int start_day(gw_centre *c, double begin_s, gw_error *err) {
  gw_sim_config cfg;
  gw_sim_config_defaults(&cfg);
  cfg.step_s = c->sc->step_s > 0 ? c->sc->step_s : 1;
  int rc;
  if (c->sumo) {
    /* SUMO runs the scenario from its own begin time, to its end. */
    gw_sumo_options so;
    gw_sumo_options_defaults(&so);
    if ((rc = gw_field_sumo_open(c->sc->net, c->path, &so, &c->field, err))) return rc;
    c->field_open = 1;
    begin_s = field_time(c);
  } else {
    cfg.begin_s = begin_s;
    cfg.end_s = -1;
    cfg.seed = c->sc->seed + (uint64_t)(c->day_epoch / 86400);
    cfg.time_to_teleport_s = c->sc->time_to_teleport_s;
    if ((rc = gw_sim_create(c->sc->net, c->sc->demand, &cfg, &c->sim)))
      return set_err(err, rc, "cannot create the simulation: %s", gw_strerror(rc));
    gw_sim_on_trip(c->sim, on_trip, c);
    gw_field_from_sim(c->sim, &c->field);
    c->field_open = 1;
  }
  const char **specs = calloc(c->sc->net->tls.n + 1, sizeof *specs);
  if (!specs) return set_err(err, GW_ENOMEM, "out of memory");
  for (uint32_t t = 0; t < c->sc->net->tls.n; t++) specs[t] = "fixed";
  rc = gw_control_create_each(c->sc->net, &c->field, specs, on_event, c, &c->ctl, err);
  free(specs);
  if (rc) return rc;
  /* A controller may use a quarter of a paced step; unpaced runs have no
  ** deadline to protect. */
  if (c->o.speed > 0) gw_control_set_budget(c->ctl, 0.25 * cfg.step_s / c->o.speed);
  c->dt = cfg.step_s;
  c->arrived_day = 0;
  c->delay_sum = 0;
  memset(c->arr_hist, 0, sizeof c->arr_hist);
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    apply_mode(c, x);
    uint32_t grp[MAX_DET];
    pthread_mutex_lock(&c->mu);
    gw_control_detectors(c->ctl, x->tls, MAX_DET, x->det, grp, &x->ndet);
    for (uint32_t k = 0; k < x->ndet; k++) {
      x->det_lane[k] = c->field.ops->detector_lane(c->field.impl, x->det[k]);
      x->det_group[k] = grp[k];
      free(x->det_id[k]);
      char buf[160];
      if (x->det[k] < c->sc->net->detectors.n)
        snprintf(buf, sizeof buf, "%s", c->sc->net->detectors.a[x->det[k]].id);
      else
        snprintf(buf, sizeof buf, "%s:%u", x->id, x->det[k] + 1);
      x->det_id[k] = strdup(buf);
      x->vol5[k] = x->vol15[k] = 0;
      x->occ5[k] = x->occ15[k] = 0;
      x->det_want[k] = -1;
      x->det_suspect[k] = 0;
      x->det_cur[k] = 0;
      memset(x->det_min[k], 0, sizeof x->det_min[k]);
      /* Out of control stays out across midnight, until restored. */
      if (x->det_fail[k] != DF_OK) gw_control_detector_set_failed(c->ctl, x->det[k], 1);
    }
    pthread_mutex_unlock(&c->mu);
    health_reset(c, x);
  }
  c->day_start_t = begin_s;
  return GW_OK;
}

/* ---- snapshots ----------------------------------------------------------- */

static void group_queue(gw_centre *c, const gw_signal_group *g, double *queue) {
  *queue = 0;
  for (uint32_t k = 0; k < g->nin; k++) {
    double h;
    if (!c->field.ops->lane_counts(c->field.impl, g->in_lanes[k], NULL, &h)) *queue += h;
  }
}

static void isec_json(gw_centre *c, isec *x, double t, sbuf *b) {
  gw_control_node nd;
  gw_control_node_get(c->ctl, x->tls, &nd);
  const gw_monitor_status *st = &nd.status;
  sb_printf(b, "{\"id\":");
  sb_json_str(b, x->id);
  sb_printf(b, ",\"state\":");
  sb_json_str(b, nd.state);
  sb_printf(b, ",\"stage\":%u,\"target\":%u,\"mode\":\"%s\",\"controller\":\"%s\",\"mode_param\":",
            st->stage, st->target, x->mode, nd.on_fixed ? "fixed" : nd.controller);
  if (x->param)
    sb_json_str(b, x->param);
  else
    sb_printf(b, "null");
  uint32_t nfailed = 0;
  for (uint32_t k = 0; k < x->ndet; k++) nfailed += x->det_fail[k] != DF_OK;
  sb_printf(b,
            ",\"plan_version\":%d,\"failsafe\":%s,\"fallback\":%s,\"transition\":%s,\"flash\":%d,"
            "\"detectors_failed\":%u,\"groups\":[",
            x->plan_version, st->failsafe ? "true" : "false", nd.on_fixed ? "true" : "false",
            st->in_transition ? "true" : "false", st->flash, nfailed);
  for (uint32_t g = 0; g < x->model.ngroups; g++) {
    double q;
    group_queue(c, &x->model.groups[g], &q);
    char lamp = st->lamp[g] == GW_LAMP_GREEN ? 'g' : st->lamp[g] == GW_LAMP_YELLOW ? 'y' : 'r';
    if (st->flash == 2) lamp = 'o';
    double since = t - st->lamp_since_t[g];
    if (since > t - c->day_start_t) since = t - c->day_start_t; /* red since before the start */
    sb_printf(b, "%s{\"lamp\":\"%c\",\"since_s\":%.1f,\"queue\":%.0f,\"occupancy\":%.2f}",
              g ? "," : "", lamp, since, q, nd.occupancy[g]);
  }
  sb_printf(b, "]}");
}

static void publish(gw_centre *c, double t) {
  uint64_t running, arrived;
  field_counts(c, &running, &arrived);
  /* Throughput: arrivals over the last hour of field time (or since the
  ** day's start), per hour. */
  double vph = 0, mins = floor((t - c->day_start_t) / 60) + 1;
  for (int k = 0; k < 60; k++) vph += c->arr_hist[k];
  if (mins > 60) mins = 60;
  vph *= 60 / mins;
  sbuf b;
  sb_init(&b);
  gw_centre_stats cs;
  pthread_mutex_lock(&c->mu);
  cs = c->st;
  uint64_t open = c->alarms_open;
  pthread_mutex_unlock(&c->mu);
  sb_printf(
      &b,
      "{\"type\":\"state\",\"t\":%.1f,\"epoch\":%.1f,\"speed\":%g,\"vehicles\":%llu,"
      "\"arrived\":%llu,\"mean_delay_s\":%.1f,\"throughput_vph\":%.0f,\"alarms_open\":%llu,"
      "\"intersections\":[",
      t, c->day_epoch + t, c->o.speed, (unsigned long long)running, (unsigned long long)arrived,
      c->arrived_day ? c->delay_sum / (double)c->arrived_day : 0.0, vph, (unsigned long long)open);
  for (uint32_t i = 0; i < c->n; i++) {
    size_t at = b.len;
    isec_json(c, &c->is[i], t, &b);
    gw_blob *one = gw_blob_new(b.data + at, b.len - at);
    pthread_mutex_lock(&c->mu);
    gw_blob *old = c->is[i].snap;
    c->is[i].snap = one;
    pthread_mutex_unlock(&c->mu);
    gw_blob_unref(old);
    if (i + 1 < c->n) sb_printf(&b, ",");
  }
  sb_printf(&b,
            "],\"loop\":{\"steps\":%llu,\"missed_deadlines\":%llu,\"max_step_ms\":%.2f,"
            "\"cpu_share\":%.4f,\"events_written\":%llu,\"events_dropped\":%llu,"
            "\"frames_dropped\":%llu}}",
            (unsigned long long)cs.steps, (unsigned long long)cs.missed_deadlines, cs.max_step_ms,
            cs.cpu_share, (unsigned long long)cs.events_written,
            (unsigned long long)cs.events_dropped, (unsigned long long)cs.frames_dropped);
  if (b.oom) {
    sb_free(&b);
    return;
  }
  gw_blob *snap = gw_blob_new(b.data, b.len);
  sb_free(&b);
  if (!snap) return;
  pthread_mutex_lock(&c->mu);
  gw_blob *old = c->state;
  c->state = snap;
  pthread_mutex_unlock(&c->mu);
  gw_blob_unref(old);
  /* The feed goes out at 1 Hz of wall time, whatever the speed. */
  double w = wall_now();
  if (c->o.on_state && w - c->last_bcast >= 0.95) {
    c->last_bcast = w;
    c->o.on_state(c->o.ud, snap);
  }
}

/* ---- aggregates ----------------------------------------------------------- */

static void push_agg(gw_centre *c, uint32_t i, uint32_t k, int period, double start, int vol,
                     double occ) {
  pthread_mutex_lock(&c->mu);
  if (c->agg_len < AGG_CAP) c->agg[c->agg_len++] = (agg_rec){i, k, period, start, vol, occ};
  pthread_mutex_unlock(&c->mu);
}

static void count_detectors(gw_centre *c, double t) {
  const gw_detector_reading *rd = NULL;
  const gw_field_ops *ops = c->field.ops;
  if (!ops->detector_array || ops->detector_array(c->field.impl, &rd)) rd = NULL;
  long sec = lround(t);
  int end5 = sec % 300 == 0, end15 = sec % 900 == 0;
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    for (uint32_t k = 0; k < x->ndet; k++) {
      gw_detector_reading tmp = {0, 0, 0, -1};
      const gw_detector_reading *r = &tmp;
      if (rd)
        r = &rd[x->det[k]];
      else
        ops->detector(c->field.impl, x->det[k], &tmp);
      x->vol5[k] += r->count;
      x->det_cur[k] += r->count;
      x->vol15[k] += r->count;
      x->occ5[k] += r->occupancy * c->dt;
      x->occ15[k] += r->occupancy * c->dt;
      if (end5) {
        push_agg(c, i, k, 300, c->day_epoch + (double)sec - 300, (int)x->vol5[k], x->occ5[k] / 300);
        x->vol5[k] = 0;
        x->occ5[k] = 0;
      }
      if (end15) {
        push_agg(c, i, k, 900, c->day_epoch + (double)sec - 900, (int)x->vol15[k],
                 x->occ15[k] / 900);
        x->vol15[k] = 0;
        x->occ15[k] = 0;
      }
    }
  }
  if (end5 || end15) {
    pthread_mutex_lock(&c->mu);
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
  }
}

/* ---- the loop ------------------------------------------------------------- */

static void sleep_until(double wall) {
  struct timespec ts;
  ts.tv_sec = (time_t)wall;
  ts.tv_nsec = (long)((wall - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void *loop_main(void *arg) {
  gw_centre *c = arg;
  double w0 = wall_now(), f0 = field_time(c);
  double last_pub = -1, last_cpu_t = w0, last_cpu = thread_cpu();
  double next_minute = floor(f0 / 60) * 60 + 60;
  while (!c->stop) {
    double t = field_time(c);
    if (c->o.end_s >= 0 && t >= c->o.end_s - 1e-9) break;
    if (c->sumo && gw_field_sumo_done(&c->field)) break;
    if (!c->sumo && t >= 86400 - 1e-9) { /* midnight: the next day */
      gw_error err = {0, {0}};
      end_day(c);
      c->day_epoch += 86400;
      if (start_day(c, 0, &err)) {
        fprintf(stderr, "greenwave: cannot start the next day: %s\n", err.msg);
        break;
      }
      w0 = wall_now();
      f0 = 0;
      next_minute = 60;
      continue;
    }
    double s0 = wall_now();
    apply_commands(c);
    gw_control_step(c->ctl);
    apply_detector_changes(c, t);
    if (c->sumo) {
      gw_error err = {0, {0}};
      if (gw_field_sumo_step(&c->field, &err)) {
        raise_alarm(c, t, UINT32_MAX, AK_DEADLINE, "field", "critical", "SUMO: %s", err.msg);
        fprintf(stderr, "greenwave: sumo: %s\n", err.msg);
        break;
      }
    } else {
      gw_sim_step(c->sim);
    }
    double tn = field_time(c);
    count_detectors(c, tn);
    if (tn >= c->next_sched_t) {
      for (uint32_t i = 0; i < c->n; i++)
        if (c->is[i].health) gw_health_tick(c->is[i].health, tn);
      judge_silent(c, tn);
      c->next_sched_t = floor(tn / 60) * 60 + 60;
      run_schedules(c, tn);
    }
    if (tn >= next_minute) {
      next_minute += 60;
      c->arr_hist_pos = (c->arr_hist_pos + 1) % 60;
      c->arr_hist[c->arr_hist_pos] = 0;
    }
    double s1 = wall_now();
    int paced = c->o.speed > 0 && tn >= c->pace_from;
    if (paced && t < c->pace_from) { /* warm-up over: pace from here */
      w0 = wall_now();
      f0 = tn;
    }
    /* Publish every step when paced at up to 10x, else 5 times a second. */
    if (!paced || c->o.speed > 10 ? s1 - last_pub >= 0.2 : 1) {
      publish(c, tn);
      last_pub = s1;
    }
    double s2 = wall_now();
    pthread_mutex_lock(&c->mu);
    c->st.t = tn;
    c->st.steps++;
    double ms = (s2 - s0) * 1e3;
    if (ms > c->st.max_step_ms) c->st.max_step_ms = ms;
    if (s2 - last_cpu_t >= 10) {
      double cpu = thread_cpu();
      c->st.cpu_share = (cpu - last_cpu) / (s2 - last_cpu_t);
      last_cpu = cpu;
      last_cpu_t = s2;
    }
    pthread_mutex_unlock(&c->mu);
    if (paced) {
      double deadline = w0 + (tn - f0) / c->o.speed;
      if (s2 > deadline + c->dt / c->o.speed) {
        /* More than a step late: count it, and start pacing afresh rather
        ** than racing to catch up. */
        pthread_mutex_lock(&c->mu);
        c->st.missed_deadlines++;
        pthread_mutex_unlock(&c->mu);
        raise_alarm(c, tn, UINT32_MAX, AK_DEADLINE, "deadline", "minor",
                    "the control loop missed its deadline by %.0f ms", (s2 - deadline) * 1e3);
        w0 = s2;
        f0 = tn;
      } else {
        sleep_until(deadline);
      }
    }
  }
  if (c->field_open) publish(c, field_time(c)); /* the last state, whatever the pace */
  c->finished = 1;
  return NULL;
}

/* ---- static JSON ------------------------------------------------------- */

static gw_blob *network_json(gw_centre *c) {
  const gw_net *net = c->sc->net;
  sbuf b;
  sb_init(&b);
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  sb_printf(&b, "{\"lanes\":[");
  int first = 1;
  for (uint32_t l = 0; l < net->lanes.n; l++) {
    gw_lane_info li;
    gw_net_lane_info(net, l, &li);
    if (li.internal) continue;
    sb_printf(&b, "%s{\"id\":", first ? "" : ",");
    first = 0;
    sb_json_str(&b, li.id);
    sb_printf(&b, ",\"edge\":");
    sb_json_str(&b, gw_net_edge_id(net, li.edge));
    sb_printf(&b, ",\"width\":%.1f,\"shape\":[", net->lanes.a[l].width_m);
    for (uint32_t p = 0; p < li.shape_points; p++) {
      double x = li.shape[2 * p], y = li.shape[2 * p + 1];
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x > x1) x1 = x;
      if (y > y1) y1 = y;
      sb_printf(&b, "%s[%.1f,%.1f]", p ? "," : "", x, y);
    }
    sb_printf(&b, "]}");
  }
  sb_printf(&b, "],\"intersections\":[");
  for (uint32_t i = 0; i < c->n; i++) {
    const isec *x = &c->is[i];
    sb_printf(&b, "%s{\"id\":", i ? "," : "");
    sb_json_str(&b, x->id);
    sb_printf(&b, ",\"name\":");
    sb_json_str(&b, x->name);
    sb_printf(&b, ",\"x\":%.1f,\"y\":%.1f,\"signalised\":true}", x->x, x->y);
  }
  if (x0 > x1) x0 = y0 = x1 = y1 = 0;
  sb_printf(&b, "],\"bounds\":[%.1f,%.1f,%.1f,%.1f]}", x0, y0, x1, y1);
  gw_blob *r = b.oom ? NULL : gw_blob_new(b.data, b.len);
  sb_free(&b);
  return r;
}

static void int_list(sbuf *b, uint64_t bits, uint32_t n) {
  sb_printf(b, "[");
  int first = 1;
  for (uint32_t g = 0; g < n; g++)
    if (bits >> g & 1) {
      sb_printf(b, "%s%u", first ? "" : ",", g);
      first = 0;
    }
  sb_printf(b, "]");
}

gw_blob *gw_centre_intersection_config(gw_centre *c, const char *id) {
  int i = find_isec(c, id);
  if (i < 0) return NULL;
  const isec *x = &c->is[i];
  const gw_signal_model *m = &x->model;
  const gw_net *net = c->sc->net;
  sbuf b;
  sb_init(&b);
  sb_printf(&b, "{\"id\":");
  sb_json_str(&b, x->id);
  sb_printf(&b, ",\"name\":");
  sb_json_str(&b, x->name);
  sb_printf(&b, ",\"x\":%.1f,\"y\":%.1f,\"nlinks\":%u,\"groups\":[", x->x, x->y, m->nlinks);
  for (uint32_t g = 0; g < m->ngroups; g++) {
    const gw_signal_group *sg = &m->groups[g];
    sb_printf(&b, "%s{\"index\":%u,\"links\":[", g ? "," : "", g);
    for (uint32_t k = 0; k < sg->nlinks; k++) sb_printf(&b, "%s%u", k ? "," : "", sg->links[k]);
    sb_printf(&b, "],\"min_green_s\":%g,\"yellow_s\":%g,\"approach\":[", sg->min_green_s,
              sg->yellow_s);
    for (uint32_t k = 0; k < sg->nin; k++) {
      if (k) sb_printf(&b, ",");
      sb_json_str(&b, net->lanes.a[sg->in_lanes[k]].id);
    }
    sb_printf(&b, "]}");
  }
  sb_printf(&b, "],\"allred_s\":[");
  for (uint32_t a = 0; a < m->ngroups; a++) {
    sb_printf(&b, "%s[", a ? "," : "");
    for (uint32_t g = 0; g < m->ngroups; g++)
      sb_printf(&b, "%s%g", g ? "," : "", m->allred_s[a][g]);
    sb_printf(&b, "]");
  }
  sb_printf(&b, "],\"conflict\":[");
  for (uint32_t a = 0; a < m->ngroups; a++) {
    sb_printf(&b, "%s[", a ? "," : "");
    for (uint32_t g = 0; g < m->ngroups; g++)
      sb_printf(&b, "%s%u", g ? "," : "", m->conflict[a][g]);
    sb_printf(&b, "]");
  }
  sb_printf(&b, "],\"stages\":[");
  for (uint32_t k = 0; k < m->nstages; k++) {
    const gw_stage *s = &m->stages[k];
    sb_printf(&b, "%s{\"index\":%u,\"green\":", k ? "," : "", k);
    int_list(&b, s->green, m->ngroups);
    sb_printf(&b, ",\"minor\":");
    int_list(&b, s->minor, m->ngroups);
    sb_printf(&b, ",\"green_s\":%g,\"min_s\":%g,\"max_s\":%g,\"change_s\":%g}", s->green_s,
              s->min_s, s->max_s, change_after(m, k));
  }
  sb_printf(&b, "],\"cycle_s\":%g,\"offset_s\":%g,\"detectors\":[", m->cycle_s, m->offset_s);
  pthread_mutex_lock(&c->mu);
  for (uint32_t k = 0; k < x->ndet; k++) {
    sb_printf(&b, "%s{\"id\":", k ? "," : "");
    sb_json_str(&b, x->det_id[k] ? x->det_id[k] : "");
    sb_printf(&b, ",\"channel\":%u,\"group\":%u,\"phase\":%u,\"lane\":", x->det[k] + 1,
              x->det_group[k], x->det_group[k] + 1);
    uint32_t lane = x->det_lane[k];
    sb_json_str(&b, lane < net->lanes.n ? net->lanes.a[lane].id : "");
    sb_printf(&b, "}");
  }
  pthread_mutex_unlock(&c->mu);
  sb_printf(&b, "]}");
  gw_blob *r = b.oom ? NULL : gw_blob_new(b.data, b.len);
  sb_free(&b);
  return r;
}

/* ---- life cycle ----------------------------------------------------------- */

/* Epoch of the last local midnight: field time is the local time of day. */
static double midnight_local_today(void) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return (double)mktime(&tm);
}

static double time_of_day_now(void) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  return tm.tm_hour * 3600.0 + tm.tm_min * 60.0 + tm.tm_sec;
}

/* Registers the intersections in the store and restores their modes. */
static int restore(gw_centre *c, gw_store *s, gw_error *err) {
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    gw_blob *cfg = gw_centre_intersection_config(c, x->id);
    int rc = gw_store_intersection_put(s, x->id, x->name, x->x, x->y, cfg ? cfg->data : "{}", err);
    gw_blob_unref(cfg);
    if (rc) return rc;
    cJSON *row = NULL;
    if ((rc = gw_store_intersection_get(s, x->id, &row, err))) return rc;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(row, "mode");
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(row, "mode_param");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(row, "plan_version");
    if (cJSON_IsString(mode)) snprintf(x->mode, sizeof x->mode, "%s", mode->valuestring);
    if (cJSON_IsString(param) && *param->valuestring) x->param = strdup(param->valuestring);
    if (cJSON_IsNumber(pv)) x->plan_version = pv->valueint;
    cJSON_Delete(row);
    if (!strcmp(x->mode, "fixed") && x->plan_version > 0 && !x->param) {
      /* The active plan's body, from its version. */
      cJSON *plan = NULL;
      if (!gw_store_plan_get(s, x->id, x->plan_version, &plan, err)) {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(plan, "body");
        if (body) x->param = cJSON_PrintUnformatted(body);
      }
      cJSON_Delete(plan);
    }
  }
  for (uint32_t i = 0; i < c->n; i++) c->is[i].sched_applied = -2e9;
  int rc = load_schedules(c, s, err);
  if (rc) return rc;
  cJSON *open = NULL;
  if (!gw_store_alarms(s, 1, 100000, &open, err)) {
    c->alarms_open = (uint64_t)cJSON_GetArraySize(open);
    cJSON_Delete(open);
  }
  return GW_OK;
}

int gw_centre_create(const gw_centre_opts *o, gw_centre **out, gw_error *err) {
  gw_centre *c = calloc(1, sizeof *c);
  if (!c) return set_err(err, GW_ENOMEM, "out of memory");
  c->o = *o;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->wake, NULL);
  int rc;
  if (o->scenario)
    snprintf(c->path, sizeof c->path, "%s", o->scenario);
  else if (o->city) {
    if (strspn(o->city, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(o->city)) {
      rc = set_err(err, GW_EINVAL, "city '%s': not a city name", o->city);
      goto fail;
    }
    snprintf(c->path, sizeof c->path, "%s/cities/%s/%s.sumocfg",
             o->data_dir ? o->data_dir : GW_SOURCE_DIR, o->city, o->city);
  } else {
    rc = set_err(err, GW_EINVAL, "give a city or a scenario");
    goto fail;
  }
  if (o->field && strcmp(o->field, "sim") && strcmp(o->field, "sumo")) {
    rc = set_err(err, GW_EINVAL, "field '%s': expected sim (the built-in simulator) or sumo",
                 o->field);
    goto fail;
  }
  c->sumo = o->field && !strcmp(o->field, "sumo");
  c->db_url = strdup(o->db_url ? o->db_url : "sqlite:var/greenwave.db");
  c->ev = malloc(EVENT_CAP * sizeof *c->ev);
  c->agg = malloc(AGG_CAP * sizeof *c->agg);
  if (!c->db_url || !c->ev || !c->agg) {
    rc = set_err(err, GW_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = gw_scenario_load_sumocfg(c->path, &c->sc, err))) goto fail;
  const gw_net *net = c->sc->net;
  c->n = (uint32_t)net->tls.n;
  if (c->n == 0) {
    rc = set_err(err, GW_EINVAL, "%s: the network has no signals to control", c->path);
    goto fail;
  }
  c->is = calloc(c->n, sizeof *c->is);
  c->tls_to_is = calloc(c->n, sizeof *c->tls_to_is);
  if (!c->is || !c->tls_to_is) {
    rc = set_err(err, GW_ENOMEM, "out of memory");
    goto fail;
  }
  for (uint32_t i = 0; i < c->n; i++) {
    isec *x = &c->is[i];
    x->tls = i;
    x->id = gw_net_tls_id(net, i);
    c->tls_to_is[i] = i;
    snprintf(x->mode, sizeof x->mode, "fixed");
    for (uint32_t j = 0; j < net->junctions.n; j++)
      if (net->junctions.a[j].tls == i) {
        x->x = net->junctions.a[j].x;
        x->y = net->junctions.a[j].y;
        x->name = gw_net_junction_name(net, j);
        break;
      }
    if (!x->name) x->name = x->id;
    if ((rc = gw_signal_model_init(&x->model, net, i, err))) goto fail;
  }
  c->day_epoch = o->epoch_day > 0 ? o->epoch_day : midnight_local_today();
  gw_store *s = NULL;
  if ((rc = gw_store_open(c->db_url, &s, err))) goto fail;
  rc = restore(c, s, err);
  gw_store_close(s);
  if (rc) goto fail;
  double begin = o->start_s >= 0 ? o->start_s : time_of_day_now();
  if (begin >= 86400) begin = fmod(begin, 86400);
  begin = floor(begin);
  /* Warm-up: the field starts earlier and runs unpaced to the start time,
  ** so that the city is not empty when operators first look. */
  double warm = o->warmup_s > 0 ? (o->warmup_s < begin ? o->warmup_s : begin) : 0;
  c->pace_from = begin;
  if ((rc = start_day(c, begin - floor(warm), err))) goto fail;
  c->network = network_json(c);
  publish(c, field_time(c));
  *out = c;
  return GW_OK;
fail:
  gw_centre_destroy(c);
  return rc;
}

int gw_centre_start(gw_centre *c, gw_error *err) {
  if (pthread_create(&c->writer, NULL, writer_main, c))
    return set_err(err, GW_ESTATE, "cannot start the writer thread");
  c->writer_started = 1;
  if (pthread_create(&c->loop, NULL, loop_main, c))
    return set_err(err, GW_ESTATE, "cannot start the control loop thread");
  c->loop_started = 1;
  return GW_OK;
}

void gw_centre_stop(gw_centre *c) {
  if (!c) return;
  c->stop = 1;
  if (c->loop_started) pthread_join(c->loop, NULL);
  c->loop_started = 0;
  pthread_mutex_lock(&c->mu);
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->mu);
  if (c->writer_started) pthread_join(c->writer, NULL);
  c->writer_started = 0;
}

void gw_centre_destroy(gw_centre *c) {
  if (!c) return;
  gw_centre_stop(c);
  if (c->ctl || c->field_open) end_day(c);
  for (uint32_t i = 0; c->is && i < c->n; i++) {
    gw_health_destroy(c->is[i].health);
    free(c->is[i].param);
    gw_blob_unref(c->is[i].snap);
    for (uint32_t k = 0; k < MAX_DET; k++) free(c->is[i].det_id[k]);
  }
  for (uint32_t k = 0; k < c->ncmd; k++) free(c->cmds[k].param);
  for (uint32_t k = 0; k < c->nmode; k++) free(c->modes[k].body);
  sched_free(c->sch, c->nsch);
  free(c->is);
  free(c->tls_to_is);
  gw_blob_unref(c->state);
  gw_blob_unref(c->network);
  gw_scenario_destroy(c->sc);
  free(c->ev);
  free(c->agg);
  free(c->db_url);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->wake);
  free(c);
}

int gw_centre_finished(const gw_centre *c) { return c->finished; }

gw_blob *gw_centre_state(gw_centre *c) {
  pthread_mutex_lock(&c->mu);
  gw_blob *b = gw_blob_ref(c->state);
  pthread_mutex_unlock(&c->mu);
  return b;
}

gw_blob *gw_centre_intersection_state(gw_centre *c, const char *id) {
  int i = find_isec(c, id);
  if (i < 0) return NULL;
  pthread_mutex_lock(&c->mu);
  gw_blob *b = gw_blob_ref(c->is[i].snap);
  pthread_mutex_unlock(&c->mu);
  return b;
}

gw_blob *gw_centre_network(gw_centre *c) { return gw_blob_ref(c->network); }

/* The intersection and slot of a detector id; -1 when unknown. */
static int find_detector(gw_centre *c, const char *det_id, uint32_t *slot) {
  if (!det_id) return -1;
  pthread_mutex_lock(&c->mu);
  for (uint32_t i = 0; i < c->n; i++)
    for (uint32_t k = 0; k < c->is[i].ndet; k++)
      if (c->is[i].det_id[k] && !strcmp(c->is[i].det_id[k], det_id)) {
        pthread_mutex_unlock(&c->mu);
        *slot = k;
        return (int)i;
      }
  pthread_mutex_unlock(&c->mu);
  return -1;
}

int gw_centre_detector_set(gw_centre *c, const char *det_id, int failed, char *intersection,
                           size_t len, int *was_failed) {
  uint32_t k;
  int i = find_detector(c, det_id, &k);
  if (i < 0) return GW_ENOTFOUND;
  if (intersection) snprintf(intersection, len, "%s", c->is[i].id);
  pthread_mutex_lock(&c->mu);
  if (was_failed) *was_failed = c->is[i].det_fail[k] != DF_OK;
  if (c->ncmd == CMD_CAP) {
    pthread_mutex_unlock(&c->mu);
    return GW_ESTATE;
  }
  cmd *q = &c->cmds[c->ncmd++];
  memset(q, 0, sizeof *q);
  q->i = (uint32_t)i;
  q->det = k;
  snprintf(q->mode, sizeof q->mode, "%s", failed ? "det-fail" : "det-restore");
  pthread_mutex_unlock(&c->mu);
  return GW_OK;
}

gw_blob *gw_centre_detectors(gw_centre *c, const char *id) {
  int i = find_isec(c, id);
  if (i < 0) return NULL;
  const isec *x = &c->is[i];
  const gw_net *net = c->sc->net;
  sbuf b;
  sb_init(&b);
  sb_printf(&b, "[");
  pthread_mutex_lock(&c->mu);
  for (uint32_t k = 0; k < x->ndet; k++) {
    sb_printf(&b, "%s{\"id\":", k ? "," : "");
    sb_json_str(&b, x->det_id[k] ? x->det_id[k] : "");
    sb_printf(&b, ",\"channel\":%u,\"group\":%u,\"phase\":%u,\"lane\":", x->det[k] + 1,
              x->det_group[k], x->det_group[k] + 1);
    sb_json_str(&b, x->det_lane[k] < net->lanes.n ? net->lanes.a[x->det_lane[k]].id : "");
    int f = x->det_fail[k];
    sb_printf(&b, ",\"status\":\"%s\",\"reason\":", f ? "failed" : "ok");
    sb_json_str(&b, df_name[f]);
    if (f)
      sb_printf(&b, ",\"since\":%.1f}", x->det_since[k]);
    else
      sb_printf(&b, ",\"since\":null}");
  }
  pthread_mutex_unlock(&c->mu);
  sb_printf(&b, "]");
  gw_blob *r = b.oom ? NULL : gw_blob_new(b.data, b.len);
  sb_free(&b);
  return r;
}

uint32_t gw_centre_intersection_count(const gw_centre *c) { return c->n; }

void gw_centre_stats_get(gw_centre *c, gw_centre_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  pthread_mutex_unlock(&c->mu);
}

void gw_centre_count_dropped_frame(gw_centre *c) {
  pthread_mutex_lock(&c->mu);
  c->st.frames_dropped++;
  pthread_mutex_unlock(&c->mu);
}

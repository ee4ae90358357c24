/*
** health.c -- detector health checks of one signal over an event log:
** stuck on, no activity, chatter and implausible volume, each reported as a
** finding through a callback.  docs/measures.md defines each check and its
** default threshold.
**
** The engine keeps a fixed record per detector channel and nothing per
** event, so a log of any length is checked in the same memory:
**
** - Stuck on needs only the time of the open 82; the finding is reported at
**   the 81 that closes it, or at the end of the range when none does.
** - No activity needs the time of the detector's last event and, for the
**   signal, the start of its current *active stretch*: detector-ons of any
**   detector with no gap longer than no_activity_s between them.  Silence
**   is only counted inside a stretch, so a night without any traffic, and
**   the first vehicles of the morning reaching the lanes one by one, trip
**   nothing.  When a stretch ends (a gap longer than no_activity_s), every
**   detector is checked once against it.
** - Chatter counts short pulses in clock-aligned windows (like the volume
**   bins), not sliding ones, which would need every pulse time; runs of
**   consecutive chattering windows merge into one finding.
** - Volume needs one counter per detector; the medians are taken at the end.
**
** The observed range runs from the first to the last event of the signal
** that is fed, whatever its code: a detector is taken to be off and silent
** from the start of that range until its first event.  Detectors named in
** the map are tracked from the start even when they never appear in the
** log, since a dead detector is exactly the one that logs nothing.
**
** Live mode (gw_health_set_live) reports the same conditions while they
** last, for a control centre that must exclude a detector at once rather
** than learn of the fault when it ends: a *start* as soon as a detector has
** been on longer than stuck_on_s, silent longer than no_activity_s while
** another detector counted, or has more short pulses than chatter_count in
** the current window; a *clear* at the 81 that ends the stuck pulse, at the
** 82 that ends the silence, and once a whole chatter window has passed
** without chatter.  Time passes by events and by gw_health_tick, so a
** detector stuck on in a quiet hour is still caught.  The batch findings are
** delivered as before, live or not.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "greenwave/control.h"
#include "greenwave/measures.h"

#define MAXDET GW_MEASURES_MAX_DETECTORS

/* Timestamps are ~1.8e9 s, so a 0.1 s difference carries an error of some
** 1e-7 s; a millisecond covers it without admitting the next tenth. */
#define SHORT_EPS 1e-3

typedef struct hdet {
  int detector;
  uint32_t phases; /* bit p-1: mapped to phase p */
  int on;          /* an 82 is open */
  int short_gap;   /* the open pulse began after a short gap */
  double on_t;     /* time of the open 82 */
  double off_t;    /* time of the last 81; NAN when none */
  double last_t;   /* time of the last event, or the range start */
  uint64_t count;  /* detector-ons in the range */
  /* Chatter: the current window and the current run of chattering windows. */
  double win_start;           /* NAN: no window open */
  uint32_t win_count;         /* short pulses in it */
  double win_first, win_last; /* first pulse start and last pulse end in it */
  int run;                    /* a run is open */
  double run_first, run_last; /* its first pulse start and last pulse end */
  double run_end;             /* end of its last window */
  uint32_t run_count;         /* short pulses in it */
  /* Live mode: which conditions have been reported as started. */
  uint8_t live[3];         /* by GW_HEALTH_STUCK_ON, NO_ACTIVITY, CHATTER */
  double live_t[3];        /* when each started */
  double live_chatter_ws;  /* start of the last window that chattered */
  double live_silent_from; /* start of the silence reported */
} hdet;

struct gw_health {
  gw_health_fn fn;
  void *ud;
  const char *signal;
  double stuck_on_s, no_activity_s, chatter_min_s, chatter_window_s, low_ratio, high_ratio;
  uint32_t chatter_count;
  hdet dets[MAXDET];
  size_t ndets;
  size_t last_hit;        /* index of the last detector looked up */
  double first_t, last_t; /* the observed range; NAN before the first event */
  double last_on_t;       /* the latest detector-on of any detector; -INFINITY: none */
  double active_since;    /* start of the current active stretch */
  uint64_t out_of_order, ignored;
  int finished;
  gw_health_live_fn live_fn;
  void *live_ud;
};

static const char *const kind_names[GW_HEALTH_NKINDS] = {"stuck_on", "no_activity", "chatter",
                                                         "low_volume", "high_volume"};

const char *gw_health_kind_name(int kind) {
  return kind >= 0 && kind < GW_HEALTH_NKINDS ? kind_names[kind] : "unknown";
}

static void emit(gw_health *h, const hdet *d, int phase, int kind, double a, double b,
                 double value) {
  gw_health_finding f = {h->signal, d->detector, phase, kind, a, b, value};
  if (h->fn) h->fn(h->ud, &f);
}

static void det_init(hdet *d, int detector, double start_t) {
  memset(d, 0, sizeof *d);
  d->detector = detector;
  d->off_t = NAN;
  d->last_t = start_t;
  d->win_start = NAN;
}

int gw_health_create(const gw_health_config *cfg, gw_health_fn fn, void *ud, gw_health **out) {
  *out = NULL;
  if (!cfg || cfg->ndetectors > MAXDET || cfg->stuck_on_s < 0 || cfg->no_activity_s < 0 ||
      cfg->chatter_min_s < 0 || cfg->chatter_window_s < 0 || cfg->low_ratio < 0 ||
      cfg->high_ratio < 0)
    return GW_EINVAL;
  gw_health *h = gw__calloc(1, sizeof *h);
  if (!h) return GW_ENOMEM;
  h->fn = fn;
  h->ud = ud;
  h->signal = cfg->signal;
  h->stuck_on_s = cfg->stuck_on_s > 0 ? cfg->stuck_on_s : 600;
  h->no_activity_s = cfg->no_activity_s > 0 ? cfg->no_activity_s : 1800;
  h->chatter_min_s = cfg->chatter_min_s > 0 ? cfg->chatter_min_s : 0.1;
  h->chatter_count = cfg->chatter_count > 0 ? cfg->chatter_count : 30;
  h->chatter_window_s = cfg->chatter_window_s > 0 ? cfg->chatter_window_s : 300;
  h->low_ratio = cfg->low_ratio > 0 ? cfg->low_ratio : 0.2;
  h->high_ratio = cfg->high_ratio > 0 ? cfg->high_ratio : 5;
  if (h->low_ratio >= h->high_ratio) {
    gw__free(h);
    return GW_EINVAL;
  }
  h->first_t = h->last_t = NAN;
  h->last_on_t = -INFINITY;
  for (size_t i = 0; i < cfg->ndetectors; i++) {
    const gw_detector_link *l = &cfg->detectors[i];
    if (l->phase < 1 || l->phase > GW_MEASURES_MAX_PHASE || l->detector < 0) {
      gw__free(h);
      return GW_EINVAL;
    }
    size_t k = 0;
    while (k < h->ndets && h->dets[k].detector != l->detector) k++;
    if (k == h->ndets) det_init(&h->dets[h->ndets++], l->detector, NAN);
    h->dets[k].phases |= 1u << (l->phase - 1);
  }
  *out = h;
  return GW_OK;
}

void gw_health_destroy(gw_health *h) { gw__free(h); }

uint64_t gw_health_out_of_order(const gw_health *h) { return h->out_of_order; }
uint64_t gw_health_ignored(const gw_health *h) { return h->ignored; }

/* The detector's record, added (off since the range start) on first sight;
** NULL when the table is full. */
static hdet *lookup(gw_health *h, int detector) {
  if (h->last_hit < h->ndets && h->dets[h->last_hit].detector == detector)
    return &h->dets[h->last_hit];
  for (size_t k = 0; k < h->ndets; k++)
    if (h->dets[k].detector == detector) return &h->dets[h->last_hit = k];
  if (h->ndets == MAXDET) return NULL;
  hdet *d = &h->dets[h->ndets];
  det_init(d, detector, h->first_t);
  h->last_hit = h->ndets++;
  return d;
}

/* ---- chatter ------------------------------------------------------------ */

/* Window bounds are multiples of the window width, computed two ways. */
static int same_t(double a, double b) { return fabs(a - b) < 1e-6; }

static void end_run(gw_health *h, hdet *d) {
  if (!d->run) return;
  emit(h, d, 0, GW_HEALTH_CHATTER, d->run_first, d->run_last, d->run_count);
  d->run = 0;
}

/* Closes the open window: a chattering one starts or extends the run (when
** it directly follows the run's last window), a quiet one ends the run. */
static void close_window(gw_health *h, hdet *d) {
  if (isnan(d->win_start)) return;
  if (d->win_count > h->chatter_count) {
    if (d->run && same_t(d->run_end, d->win_start)) {
      d->run_last = d->win_last;
      d->run_count += d->win_count;
    } else {
      end_run(h, d);
      d->run = 1;
      d->run_first = d->win_first;
      d->run_last = d->win_last;
      d->run_count = d->win_count;
    }
    d->run_end = d->win_start + h->chatter_window_s;
  } else {
    end_run(h, d);
  }
  d->win_start = NAN;
}

static void live_start(gw_health *h, hdet *d, int kind, double a, double t, double value);

/* A short pulse from `a` to `b`, placed in the window of its end. */
static void short_pulse(gw_health *h, hdet *d, double a, double b) {
  double ws = floor(b / h->chatter_window_s) * h->chatter_window_s;
  if (ws != d->win_start) {
    close_window(h, d);
    /* Windows in between had no short pulse, so the run cannot go on. */
    if (d->run && !same_t(d->run_end, ws)) end_run(h, d);
    d->win_start = ws;
    d->win_count = 0;
    d->win_first = a;
  }
  d->win_count++;
  d->win_last = b;
  if (h->live_fn && d->win_count > h->chatter_count) {
    d->live_chatter_ws = ws;
    live_start(h, d, GW_HEALTH_CHATTER, d->win_first, b, d->win_count);
  }
}

/* ---- the checks as events arrive ---------------------------------------- */

/* Silence of an off detector from its last event, or from the start of
** the active stretch if later, up to `t` inside the stretch. */
static void no_activity_check(gw_health *h, hdet *d, double t) {
  double from = d->last_t > h->active_since ? d->last_t : h->active_since;
  if (!d->on && t - from > h->no_activity_s)
    emit(h, d, 0, GW_HEALTH_NO_ACTIVITY, from, t, t - from);
}

/* The active stretch ended at the latest detector-on: checks every
** detector against it. */
static void end_stretch(gw_health *h) {
  for (size_t k = 0; k < h->ndets; k++) no_activity_check(h, &h->dets[k], h->last_on_t);
}

/* ---- live mode ---------------------------------------------------------- */

int gw_health_set_live(gw_health *h, gw_health_live_fn fn, void *ud) {
  if (h->finished) return GW_ESTATE;
  h->live_fn = fn;
  h->live_ud = ud;
  return GW_OK;
}

static void live_emit(gw_health *h, hdet *d, int what, int kind, double a, double b, double value) {
  gw_health_finding f = {h->signal, d->detector, 0, kind, a, b, value};
  if (h->live_fn) h->live_fn(h->live_ud, what, &f);
}

static void live_start(gw_health *h, hdet *d, int kind, double a, double t, double value) {
  if (d->live[kind]) return;
  d->live[kind] = 1;
  d->live_t[kind] = a;
  live_emit(h, d, GW_HEALTH_STARTED, kind, a, t, value);
}

static void live_clear(gw_health *h, hdet *d, int kind, double t, double value) {
  if (!d->live[kind]) return;
  d->live[kind] = 0;
  live_emit(h, d, GW_HEALTH_CLEARED, kind, d->live_t[kind], t, value);
}

/* The conditions that start with the passing of time alone, checked at t. */
static void live_check(gw_health *h, hdet *d, double t) {
  if (d->on && t - d->on_t > h->stuck_on_s)
    live_start(h, d, GW_HEALTH_STUCK_ON, d->on_t, t, t - d->on_t);
  double from = d->last_t > h->active_since ? d->last_t : h->active_since;
  /* Silent while another detector counted since, and recently. */
  if (!d->on && !isinf(h->last_on_t) && h->last_on_t > from && t - from > h->no_activity_s &&
      t - h->last_on_t <= h->no_activity_s) {
    if (!d->live[GW_HEALTH_NO_ACTIVITY]) d->live_silent_from = from;
    live_start(h, d, GW_HEALTH_NO_ACTIVITY, from, t, t - from);
  }
  if (d->live[GW_HEALTH_CHATTER] && t >= d->live_chatter_ws + 2 * h->chatter_window_s)
    live_clear(h, d, GW_HEALTH_CHATTER, t, 0);
}

int gw_health_tick(gw_health *h, double t) {
  if (h->finished) return GW_ESTATE;
  if (!h->live_fn || isnan(h->first_t) || t < h->last_t) return GW_OK;
  for (size_t k = 0; k < h->ndets; k++) live_check(h, &h->dets[k], t);
  return GW_OK;
}

int gw_health_feed(gw_health *h, double t, int code, int param) {
  if (h->finished) return GW_ESTATE;
  if (t < h->last_t) {
    h->out_of_order++;
    return GW_OK;
  }
  if (isnan(h->first_t)) {
    h->first_t = t;
    /* Mapped detectors are off and silent from the start of the range. */
    for (size_t k = 0; k < h->ndets; k++) h->dets[k].last_t = t;
  }
  h->last_t = t;
  if (code != GW_EV_DETECTOR_ON && code != GW_EV_DETECTOR_OFF) return GW_OK;
  hdet *d = lookup(h, param);
  if (!d) {
    h->ignored++;
    return GW_OK;
  }
  if (code == GW_EV_DETECTOR_ON) {
    if (isinf(h->last_on_t)) {
      h->active_since = t;
    } else if (t - h->last_on_t > h->no_activity_s) {
      end_stretch(h);
      h->active_since = t;
    }
    no_activity_check(h, d, t);
    if (h->live_fn) live_clear(h, d, GW_HEALTH_NO_ACTIVITY, t, t - d->live_silent_from);
    h->last_on_t = t;
    d->count++;
    /* A repeated 82 continues the pulse already open. */
    if (!d->on) {
      d->on = 1;
      d->on_t = t;
      d->short_gap = !isnan(d->off_t) && t - d->off_t <= h->chatter_min_s + SHORT_EPS;
    }
  } else if (d->on) {
    double len = t - d->on_t;
    if (len > h->stuck_on_s) emit(h, d, 0, GW_HEALTH_STUCK_ON, d->on_t, t, len);
    if (len <= h->chatter_min_s + SHORT_EPS || d->short_gap) short_pulse(h, d, d->on_t, t);
    if (h->live_fn) live_clear(h, d, GW_HEALTH_STUCK_ON, t, len);
    d->on = 0;
    d->off_t = t;
  } else {
    /* An 81 without its 82 (it opened before the range): the detector is
    ** off from here, and nothing is known about how long it was on. */
    d->off_t = t;
  }
  d->last_t = t;
  if (h->live_fn) live_check(h, d, t);
  return GW_OK;
}

/* ---- the end of the range ----------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Compares each mapped detector's count with the median of the other
** detectors of each phase it serves. */
static void volume_checks(gw_health *h) {
  uint64_t others[MAXDET];
  for (int p = 1; p <= GW_MEASURES_MAX_PHASE; p++) {
    uint32_t bit = 1u << (p - 1);
    for (size_t i = 0; i < h->ndets; i++) {
      hdet *d = &h->dets[i];
      if (!(d->phases & bit)) continue;
      size_t n = 0;
      for (size_t k = 0; k < h->ndets; k++)
        if (k != i && (h->dets[k].phases & bit)) others[n++] = h->dets[k].count;
      if (n < 2) continue;
      qsort(others, n, sizeof *others, cmp_u64);
      double med =
          n % 2 ? (double)others[n / 2] : ((double)others[n / 2 - 1] + (double)others[n / 2]) / 2;
      /* Silent neighbours give nothing to compare with; no activity covers
      ** them. */
      if (med <= 0) continue;
      double ratio = (double)d->count / med;
      if (ratio < h->low_ratio)
        emit(h, d, p, GW_HEALTH_LOW_VOLUME, h->first_t, h->last_t, ratio);
      else if (ratio > h->high_ratio)
        emit(h, d, p, GW_HEALTH_HIGH_VOLUME, h->first_t, h->last_t, ratio);
    }
  }
}

int gw_health_finish(gw_health *h) {
  if (h->finished) return GW_ESTATE;
  h->finished = 1;
  if (isnan(h->first_t)) return GW_OK; /* no event: nothing was observed */
  double end = h->last_t;
  /* The active stretch reaches the end unless it ended in a long gap. */
  double active_end = end - h->last_on_t > h->no_activity_s ? h->last_on_t : end;
  for (size_t i = 0; i < h->ndets; i++) {
    hdet *d = &h->dets[i];
    if (d->on && end - d->on_t > h->stuck_on_s)
      emit(h, d, 0, GW_HEALTH_STUCK_ON, d->on_t, end, end - d->on_t);
    if (!isinf(h->last_on_t)) no_activity_check(h, d, active_end);
    close_window(h, d);
    end_run(h, d);
  }
  volume_checks(h);
  return GW_OK;
}

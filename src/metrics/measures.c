/*
** measures.c -- signal performance measures of one signal, computed in one
** pass over its events: split monitor, phase terminations, Purdue
** coordination diagram with arrivals on green and platoon ratio, split
** failures, approach volume and yellow/red actuations.  docs/measures.md
** defines each number.
**
** The engine is a state machine per phase.  A phase *cycle* runs from one
** begin green (event 1) to the next begin green of the same phase; only
** completed cycles are emitted and summed, so the first partial cycle of a
** log (or of a time range) and the last one are left out consistently by
** every cycle-based measure.  Within a cycle the phase is green until begin
** yellow (8), yellow until end yellow (9, or 10 when a log has no 9), and
** red until the next begin green.
**
** Detector occupancy is the union over the phase's mapped detectors: a
** counter of detectors currently on, and O(t), the seconds up to t during
** which the counter was above zero.  O is piecewise linear between events,
** so the occupied time of any window is O(end) - O(start), evaluated when
** the stream passes each end.  The end of the red window (end of yellow +
** 5 s) is not an event time; it is evaluated at the first event at or after
** it, before that event changes anything, which gives the exact value.
**
** Memory is fixed: per phase state and totals, the detector table (at most
** GW_MEASURES_MAX_DETECTORS), nothing per cycle or per event.  Records go
** out through the sink as they complete.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/vec.h"
#include "greenwave/control.h"
#include "greenwave/measures.h"
#include "metrics/eventlog.h"

#define NPH GW_MEASURES_MAX_PHASE

typedef struct phase_state {
  int used;      /* a phase event or a mapped detector was seen */
  int mapped;    /* a detector is mapped to it */
  int in_cycle;  /* a begin green opened the current cycle */
  int has_green; /* the current cycle's begin yellow was seen */
  int state;     /* GW_STATE_* within the cycle */
  int redclear;  /* between begin and end of red clearance */
  gw_cycle cur;
  double yellow_t, red_t; /* begin and end of yellow of the cycle */
  /* Occupancy, union over mapped detectors. */
  int occ_count;      /* detectors on */
  double occ_acc;     /* s occupied, closed intervals */
  double occ_since;   /* when occ_count became > 0 */
  double occ_green;   /* O at begin green */
  double occ_red;     /* O at end of yellow */
  double red_win_end; /* pending red window end; NAN when none */
  uint32_t bin_count; /* detector-ons in the current volume bin */
  gw_phase_summary sum;
} phase_state;

typedef struct det {
  int detector;
  int on;
  uint32_t phases; /* bit p-1: serves phase p */
} det;

struct gw_measures {
  gw_measures_sink sink;
  double bin_s, red_window_s, threshold;
  det dets[GW_MEASURES_MAX_DETECTORS];
  size_t ndets;
  phase_state ph[NPH + 1]; /* index = phase */
  double last_t;
  double deadline;  /* earliest pending red window end */
  double bin_start; /* NAN before the first event */
  uint64_t out_of_order, ignored;
  gw_phase_summary summary[NPH];
  size_t nsummary;
  int finished;
};

/* ---- detector map ------------------------------------------------------- */

int gw_detector_map_read(const char *path, const char *signal, gw_detector_link **out, size_t *n,
                         gw_error *err) {
  *out = NULL;
  *n = 0;
  FILE *fp = fopen(path, "r");
  if (!fp) return gw__error(err, GW_EIO, "%s: cannot open", path);
  GW_VEC(gw_detector_link) v = {0};
  char line[1024];
  int rc = GW_OK;
  for (long ln = 1; fgets(line, sizeof line, fp); ln++) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    const char *s = line;
    if (ln == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, len -= 3;
    size_t k = 0;
    while (k < len && (s[k] == ' ' || s[k] == '\t')) k++;
    if (k == len) continue;
    gw__field f[4];
    size_t nf = gw__csv_split(s, len, f, 3);
    long det_no, phase;
    if (ln == 1 && nf == 3 && gw__parse_int(&f[1], 0, 2147483647L, &det_no)) continue;
    if (nf != 3 || !f[0].n || gw__parse_int(&f[1], 0, 2147483647L, &det_no) ||
        gw__parse_int(&f[2], 1, NPH, &phase)) {
      rc = gw__error(err, GW_EPARSE,
                     "%s:%ld: expected SignalID,Detector,Phase with Detector an integer >= 0 "
                     "and Phase in 1..%d",
                     path, ln, NPH);
      goto fail;
    }
    if (f[0].n != strlen(signal) || memcmp(f[0].s, signal, f[0].n)) continue;
    if (v.n == GW_MEASURES_MAX_DETECTORS) {
      rc = gw__error(err, GW_ERANGE, "%s:%ld: more than %d detector rows for signal %s", path, ln,
                     GW_MEASURES_MAX_DETECTORS, signal);
      goto fail;
    }
    gw_detector_link l = {(int)det_no, (int)phase};
    if (gw_vec_push(&v, l)) {
      rc = gw__error(err, GW_ENOMEM, "out of memory");
      goto fail;
    }
  }
  if (ferror(fp)) {
    rc = gw__error(err, GW_EIO, "%s: read error", path);
    goto fail;
  }
  fclose(fp);
  *out = v.a;
  *n = v.n;
  return GW_OK;
fail:
  fclose(fp);
  gw_vec_free(&v);
  return rc;
}

void gw_detector_map_free(gw_detector_link *links) { gw__free(links); }

/* ---- the engine --------------------------------------------------------- */

static int cmp_det(const void *a, const void *b) {
  const det *x = a, *y = b;
  return (x->detector > y->detector) - (x->detector < y->detector);
}

int gw_measures_create(const gw_measures_config *cfg, const gw_measures_sink *sink,
                       gw_measures **out) {
  *out = NULL;
  if (!cfg || cfg->ndetectors > GW_MEASURES_MAX_DETECTORS || cfg->bin_s < 0 ||
      cfg->red_window_s < 0 || cfg->fail_threshold < 0 || cfg->fail_threshold > 1)
    return GW_EINVAL;
  gw_measures *m = gw__calloc(1, sizeof *m);
  if (!m) return GW_ENOMEM;
  if (sink) m->sink = *sink;
  m->bin_s = cfg->bin_s > 0 ? cfg->bin_s : 900;
  m->red_window_s = cfg->red_window_s > 0 ? cfg->red_window_s : 5;
  m->threshold = cfg->fail_threshold > 0 ? cfg->fail_threshold : 0.79;
  for (size_t i = 0; i < cfg->ndetectors; i++) {
    const gw_detector_link *l = &cfg->detectors[i];
    if (l->phase < 1 || l->phase > NPH || l->detector < 0) {
      gw__free(m);
      return GW_EINVAL;
    }
    size_t k = 0;
    while (k < m->ndets && m->dets[k].detector != l->detector) k++;
    if (k == m->ndets) m->dets[m->ndets++].detector = l->detector;
    m->dets[k].phases |= 1u << (l->phase - 1);
    m->ph[l->phase].used = m->ph[l->phase].mapped = 1;
  }
  qsort(m->dets, m->ndets, sizeof *m->dets, cmp_det);
  for (int p = 0; p <= NPH; p++) {
    m->ph[p].red_win_end = NAN;
    m->ph[p].sum.phase = p;
    m->ph[p].sum.min_green_s = INFINITY;
  }
  m->last_t = -INFINITY;
  m->deadline = INFINITY;
  m->bin_start = NAN;
  *out = m;
  return GW_OK;
}

void gw_measures_destroy(gw_measures *m) { gw__free(m); }

uint64_t gw_measures_out_of_order(const gw_measures *m) { return m->out_of_order; }
uint64_t gw_measures_ignored(const gw_measures *m) { return m->ignored; }

/* O(t): seconds occupied up to t. */
static double occupied(const phase_state *ps, double t) {
  return ps->occ_acc + (ps->occ_count > 0 ? t - ps->occ_since : 0);
}

static void close_red_window(phase_state *ps, double end) {
  double len = end - ps->red_t;
  ps->cur.red_occupancy = len > 0 ? (occupied(ps, end) - ps->occ_red) / len : 0;
  ps->red_win_end = NAN;
}

static void update_deadline(gw_measures *m) {
  m->deadline = INFINITY;
  for (int p = 1; p <= NPH; p++)
    if (m->ph[p].red_win_end < m->deadline) m->deadline = m->ph[p].red_win_end;
}

/* Emits the volume bins that end at or before t. */
static void advance_bins(gw_measures *m, double t) {
  if (isnan(m->bin_start)) m->bin_start = floor(t / m->bin_s) * m->bin_s;
  while (t >= m->bin_start + m->bin_s) {
    for (int p = 1; p <= NPH; p++) {
      phase_state *ps = &m->ph[p];
      if (!ps->mapped) continue;
      gw_volume_bin b = {p, m->bin_start, m->bin_s, ps->bin_count,
                         ps->bin_count * 3600.0 / m->bin_s};
      if (m->sink.volume) m->sink.volume(m->sink.ud, &b);
      ps->bin_count = 0;
    }
    m->bin_start += m->bin_s;
  }
}

static void close_cycle(gw_measures *m, phase_state *ps, double t) {
  if (!ps->has_green) {
    m->ignored++; /* a cycle without begin yellow: the log misses events */
    return;
  }
  gw_cycle *c = &ps->cur;
  c->cycle_s = t - c->start_t;
  if (c->green_occupancy >= 0 && c->red_occupancy >= 0)
    c->split_failure = c->green_occupancy >= m->threshold && c->red_occupancy >= m->threshold;
  gw_phase_summary *s = &ps->sum;
  s->cycles++;
  s->green_s += c->green_s;
  s->cycle_s += c->cycle_s;
  if (c->green_s < s->min_green_s) s->min_green_s = c->green_s;
  if (c->green_s > s->max_green_s) s->max_green_s = c->green_s;
  s->terminated[c->termination]++;
  for (int k = 0; k < 3; k++) s->arrivals[k] += c->arrivals[k];
  s->redclear_actuations += c->redclear_actuations;
  if (c->green_occupancy >= 0 && c->red_occupancy >= 0) s->occupancy_cycles++;
  s->split_failures += (uint32_t)c->split_failure;
  if (m->sink.cycle) m->sink.cycle(m->sink.ud, c);
}

static void begin_green(gw_measures *m, phase_state *ps, int p, double t) {
  if (!isnan(ps->red_win_end)) {
    close_red_window(ps, t);
    update_deadline(m);
  }
  if (ps->in_cycle) close_cycle(m, ps, t);
  memset(&ps->cur, 0, sizeof ps->cur);
  ps->cur.phase = p;
  ps->cur.start_t = t;
  ps->cur.green_occupancy = ps->cur.red_occupancy = -1;
  ps->in_cycle = 1;
  ps->has_green = 0;
  ps->state = GW_STATE_GREEN;
  ps->redclear = 0;
  ps->occ_green = occupied(ps, t);
}

static void end_yellow(gw_measures *m, phase_state *ps, double t) {
  ps->state = GW_STATE_RED;
  if (!ps->has_green) return;
  ps->red_t = t;
  ps->cur.yellow_s = t - ps->yellow_t;
  if (ps->mapped) {
    ps->occ_red = occupied(ps, t);
    ps->red_win_end = t + m->red_window_s;
    if (ps->red_win_end < m->deadline) m->deadline = ps->red_win_end;
  }
}

static void phase_event(gw_measures *m, int code, int p, double t) {
  phase_state *ps = &m->ph[p];
  ps->used = 1;
  switch (code) {
    case GW_EV_BEGIN_GREEN:
      begin_green(m, ps, p, t);
      break;
    case GW_EV_GAP_OUT:
    case GW_EV_MAX_OUT:
    case GW_EV_FORCE_OFF:
      if (code == GW_EV_GAP_OUT) ps->sum.gap_outs++;
      if (code == GW_EV_MAX_OUT) ps->sum.max_outs++;
      if (code == GW_EV_FORCE_OFF) ps->sum.force_offs++;
      if (ps->in_cycle && ps->state == GW_STATE_GREEN && !ps->has_green)
        ps->cur.termination = code - GW_EV_GAP_OUT + GW_TERM_GAP_OUT;
      break;
    case GW_EV_BEGIN_YELLOW:
      if (ps->in_cycle && ps->state == GW_STATE_GREEN && !ps->has_green) {
        ps->has_green = 1;
        ps->yellow_t = t;
        ps->cur.green_s = t - ps->cur.start_t;
        if (ps->mapped && ps->cur.green_s > 0)
          ps->cur.green_occupancy = (occupied(ps, t) - ps->occ_green) / ps->cur.green_s;
        else if (ps->mapped)
          ps->cur.green_occupancy = 0;
        ps->state = GW_STATE_YELLOW;
      }
      break;
    case GW_EV_END_YELLOW:
      if (ps->in_cycle && ps->state == GW_STATE_YELLOW) end_yellow(m, ps, t);
      break;
    case GW_EV_BEGIN_RED_CLEAR:
      if (ps->in_cycle && ps->state == GW_STATE_YELLOW) end_yellow(m, ps, t);
      ps->redclear = 1;
      break;
    case GW_EV_END_RED_CLEAR:
      ps->redclear = 0;
      break;
    default:
      break;
  }
}

static void detector_event(gw_measures *m, int on, int detector, double t) {
  size_t lo = 0, hi = m->ndets;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->dets[mid].detector < detector)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == m->ndets || m->dets[lo].detector != detector) return; /* not mapped here */
  det *d = &m->dets[lo];
  for (uint32_t bits = d->phases; bits; bits &= bits - 1) {
    int p = __builtin_ctz(bits) + 1;
    phase_state *ps = &m->ph[p];
    if (on) {
      ps->sum.detector_ons++;
      ps->bin_count++;
      if (ps->in_cycle) {
        ps->cur.arrivals[ps->state]++;
        if (ps->state == GW_STATE_RED && ps->redclear) ps->cur.redclear_actuations++;
        gw_arrival a = {p, t, ps->cur.start_t, ps->state};
        if (m->sink.arrival) m->sink.arrival(m->sink.ud, &a);
      }
      if (!d->on && ps->occ_count++ == 0) ps->occ_since = t;
    } else if (d->on && --ps->occ_count == 0) {
      ps->occ_acc += t - ps->occ_since;
    }
  }
  d->on = on;
}

int gw_measures_feed(gw_measures *m, double t, int code, int param) {
  if (m->finished) return GW_ESTATE;
  if (t < m->last_t) {
    m->out_of_order++;
    return GW_OK;
  }
  m->last_t = t;
  if (t >= m->bin_start + m->bin_s || isnan(m->bin_start)) advance_bins(m, t);
  if (t >= m->deadline) {
    for (int p = 1; p <= NPH; p++)
      if (m->ph[p].red_win_end <= t) close_red_window(&m->ph[p], m->ph[p].red_win_end);
    update_deadline(m);
  }
  if (code == GW_EV_DETECTOR_ON || code == GW_EV_DETECTOR_OFF) {
    detector_event(m, code == GW_EV_DETECTOR_ON, param, t);
  } else if (code >= GW_EV_PHASE_ON && code <= GW_EV_PHASE_INACTIVE) {
    if (param < 1 || param > NPH)
      m->ignored++;
    else
      phase_event(m, code, param, t);
  }
  return GW_OK;
}

int gw_measures_finish(gw_measures *m) {
  if (m->finished) return GW_ESTATE;
  m->finished = 1;
  if (!isnan(m->bin_start)) {
    /* The last, possibly partial, bin. */
    advance_bins(m, m->bin_start + m->bin_s);
  }
  m->nsummary = 0;
  for (int p = 1; p <= NPH; p++) {
    phase_state *ps = &m->ph[p];
    if (!ps->used) continue;
    gw_phase_summary *s = &ps->sum;
    if (!s->cycles) s->min_green_s = 0;
    uint64_t arr = s->arrivals[0] + s->arrivals[1] + s->arrivals[2];
    s->aog_pct = arr ? 100.0 * (double)s->arrivals[GW_STATE_GREEN] / (double)arr : 0;
    s->green_share = s->cycle_s > 0 ? s->green_s / s->cycle_s : 0;
    s->platoon_ratio = arr && s->green_share > 0 ? s->aog_pct / 100 / s->green_share : 0;
    m->summary[m->nsummary++] = *s;
  }
  return GW_OK;
}

int gw_measures_summary(const gw_measures *m, const gw_phase_summary **out, size_t *n) {
  if (!m->finished) return GW_ESTATE;
  *out = m->summary;
  *n = m->nsummary;
  return GW_OK;
}

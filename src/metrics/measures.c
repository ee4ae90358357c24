/*
** measures.c -- signal performance measures of one signal, computed in one
** pass over its events: split monitor, phase terminations, Purdue
** coordination diagram with arrivals on green and platoon ratio, split
** failures, approach volume, yellow/red actuations, approach delay, turning
** movement counts and pedestrian delay.  docs/measures.md defines each
** number.
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
** Approach delay: an arrival on green or yellow is delayed 0 s and known
** at once; one on red waits for the next begin green.  Pending red
** arrivals are kept per bin as a count and the sum of their offsets from
** the bin start, so at the begin green T a bin's n pending arrivals add
** n * (T - bin start) - sum in one step.  A phase's delay bins go out once
** nothing in them is pending, in a ring of DSLOTS bins; a red longer than
** that gives up the oldest bin's pending arrivals (counted unresolved).
**
** Pedestrian delay: per phase the time of the first call (45) or button
** press (90) while no call waited; the next begin walk (21) serves it.
** Calls during the walk interval (21 to 22) are not waiting.
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
#define DSLOTS 8 /* delay bins a phase can hold open */

/* Pedestrian events of the Indiana enumeration. */
enum {
  PED_BEGIN_WALK = 21,
  PED_BEGIN_CLEARANCE = 22,
  PED_DONT_WALK = 23,
  PED_CALL = 45,
  PED_DETECTOR_OFF = 89,
  PED_DETECTOR_ON = 90
};

/* One approach delay bin of a phase: known delays, and pending red
** arrivals (sum of t - bin start). */
typedef struct dslot {
  uint32_t n, nred;
  double delay;
  uint32_t pend;
  double pend_sum;
} dslot;

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
  /* Approach delay. */
  dslot ds[DSLOTS];              /* ds[0] starts at dbin */
  double dbin;                   /* NAN before the first bin */
  uint32_t dpending;             /* red arrivals waiting for a green */
  double dfirst;                 /* the earliest of them */
  uint32_t tmc_count[GW_MOVE_N]; /* detector-ons in the current bin by movement */
  /* Pedestrians. */
  double ped_call_t; /* NAN: no call waiting */
  int ped_walk;      /* between begin walk and begin clearance */
  gw_phase_summary sum;
} phase_state;

typedef struct det {
  int detector;
  int on;
  uint32_t phases;       /* bit p-1: serves phase p */
  uint8_t move[NPH + 1]; /* GW_MOVE_* of its row for phase p; 0: unknown */
} det;

struct gw_measures {
  gw_measures_sink sink;
  gw_measures_sink_ext ext;
  int fed; /* an event was fed */
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
  return gw_detector_map_read_ex(path, signal, out, NULL, n, err);
}

int gw_detector_map_read_ex(const char *path, const char *signal, gw_detector_link **out,
                            int **movements, size_t *n, gw_error *err) {
  *out = NULL;
  if (movements) *movements = NULL;
  *n = 0;
  FILE *fp = fopen(path, "r");
  if (!fp) return gw__error(err, GW_EIO, "%s: cannot open", path);
  GW_VEC(gw_detector_link) v = {0};
  GW_VEC(int) mv = {0};
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
    gw__field f[5];
    size_t nf = gw__csv_split(s, len, f, 4);
    long det_no, phase;
    int move = 0;
    if (ln == 1 && (nf == 3 || nf == 4) && gw__parse_int(&f[1], 0, 2147483647L, &det_no)) continue;
    if ((nf != 3 && nf != 4) || !f[0].n || gw__parse_int(&f[1], 0, 2147483647L, &det_no) ||
        gw__parse_int(&f[2], 1, NPH, &phase) ||
        (nf == 4 && gw_movement_parse(f[3].s, f[3].n, &move))) {
      rc = gw__error(err, GW_EPARSE,
                     "%s:%ld: expected SignalID,Detector,Phase[,Movement] with Detector an "
                     "integer >= 0, Phase in 1..%d and Movement empty or L, T, R or a "
                     "combination (TL, TR, ...)",
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
    if (gw_vec_push(&v, l) || (movements && gw_vec_push(&mv, move))) {
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
  if (movements) *movements = mv.a;
  *n = v.n;
  return GW_OK;
fail:
  fclose(fp);
  gw_vec_free(&v);
  gw_vec_free(&mv);
  return rc;
}

void gw_detector_map_free(void *links) { gw__free(links); }

static const char *const measure_names[GW_MEASURE_N] = {
    "split",     "terminations", "pcd", "aog",      "splitfail", "volume",
    "redyellow", "delay",        "tmc", "peddelay", "health"};

const char *gw_measure_name(int measure) {
  return measure >= 0 && measure < GW_MEASURE_N ? measure_names[measure] : "";
}

int gw_measure_from_name(const char *name) {
  for (int k = 0; name && k < GW_MEASURE_N; k++)
    if (!strcmp(name, measure_names[k])) return k;
  return -1;
}

const char *gw_termination_name(int termination) {
  static const char *const names[4] = {"-", "gap out", "max out", "force off"};
  return names[termination & 3];
}

const char *gw_arrival_state_name(int state) {
  static const char *const names[3] = {"green", "yellow", "red"};
  return state >= 0 && state < 3 ? names[state] : "";
}

const char *gw_movement_name(int movement) {
  static const char *const names[GW_MOVE_N] = {"", "L", "T", "TL", "R", "LR", "TR", "TLR"};
  return movement >= 0 && movement < GW_MOVE_N ? names[movement] : "";
}

int gw_movement_parse(const char *s, size_t len, int *out) {
  int m = 0;
  *out = 0;
  for (size_t i = 0; i < len; i++) {
    int bit;
    switch (s[i]) {
      case 'L':
      case 'l':
        bit = GW_MOVE_L;
        break;
      case 'T':
      case 't':
        bit = GW_MOVE_T;
        break;
      case 'R':
      case 'r':
        bit = GW_MOVE_R;
        break;
      default:
        return GW_EPARSE;
    }
    if (m & bit) return GW_EPARSE;
    m |= bit;
  }
  *out = m;
  return GW_OK;
}

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
    int move = cfg->movements ? cfg->movements[i] : 0;
    if (l->phase < 1 || l->phase > NPH || l->detector < 0 || move < 0 || move >= GW_MOVE_N) {
      gw__free(m);
      return GW_EINVAL;
    }
    size_t k = 0;
    while (k < m->ndets && m->dets[k].detector != l->detector) k++;
    if (k == m->ndets) m->dets[m->ndets++].detector = l->detector;
    m->dets[k].phases |= 1u << (l->phase - 1);
    m->dets[k].move[l->phase] = (uint8_t)move;
    m->ph[l->phase].used = m->ph[l->phase].mapped = 1;
    if (move) m->ph[l->phase].sum.tmc_movements |= 1u << move;
  }
  qsort(m->dets, m->ndets, sizeof *m->dets, cmp_det);
  for (int p = 0; p <= NPH; p++) {
    m->ph[p].red_win_end = NAN;
    m->ph[p].dbin = NAN;
    m->ph[p].dfirst = INFINITY;
    m->ph[p].ped_call_t = NAN;
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

int gw_measures_set_sink_ext(gw_measures *m, const gw_measures_sink_ext *sink) {
  if (m->fed || m->finished) return GW_ESTATE;
  if (sink)
    m->ext = *sink;
  else
    memset(&m->ext, 0, sizeof m->ext);
  return GW_OK;
}

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

/* ---- approach delay ----------------------------------------------------- */

/* Emits ds[0] and moves the ring on by one bin. */
static void delay_shift(gw_measures *m, phase_state *ps, int p) {
  dslot *d = &ps->ds[0];
  gw_delay_bin b = {p, ps->dbin, m->bin_s, d->n, d->nred, d->delay, d->n ? d->delay / d->n : 0};
  if (m->ext.delay) m->ext.delay(m->ext.ud, &b);
  memmove(&ps->ds[0], &ps->ds[1], (DSLOTS - 1) * sizeof ps->ds[0]);
  memset(&ps->ds[DSLOTS - 1], 0, sizeof ps->ds[0]);
  ps->dbin += m->bin_s;
}

/* Emits the delay bins that end at or before t and wait for nothing. */
static void delay_emit(gw_measures *m, phase_state *ps, int p, double t) {
  while (!isnan(ps->dbin) && ps->dbin + m->bin_s <= t && !ps->ds[0].pend) delay_shift(m, ps, p);
}

/* Pending red arrivals that will never see their green. */
static void delay_drop(phase_state *ps, uint32_t k0, uint32_t k1) {
  for (uint32_t k = k0; k < k1; k++) {
    ps->sum.delay_unresolved += ps->ds[k].pend;
    ps->dpending -= ps->ds[k].pend;
    ps->ds[k].pend = 0;
    ps->ds[k].pend_sum = 0;
  }
  if (!ps->dpending) ps->dfirst = INFINITY;
}

static void delay_arrival(gw_measures *m, phase_state *ps, int p, double t) {
  if (isnan(ps->dbin)) return;
  double k = floor((t - ps->dbin) / m->bin_s);
  if (k >= DSLOTS) {
    delay_emit(m, ps, p, t);
    while ((k = floor((t - ps->dbin) / m->bin_s)) >= DSLOTS) {
      delay_drop(ps, 0, 1); /* a red longer than the ring */
      delay_shift(m, ps, p);
    }
  }
  dslot *d = &ps->ds[k > 0 ? (int)k : 0];
  if (ps->state != GW_STATE_RED) {
    d->n++;
    ps->sum.delay_arrivals++;
    return;
  }
  d->pend++;
  d->pend_sum += t - (ps->dbin + (k > 0 ? k : 0) * m->bin_s);
  if (!ps->dpending++) ps->dfirst = t;
}

/* The begin green at t ends the wait of every pending red arrival. */
static void delay_green(gw_measures *m, phase_state *ps, int p, double t) {
  if (!ps->dpending) return;
  for (int k = 0; k < DSLOTS; k++) {
    dslot *d = &ps->ds[k];
    if (!d->pend) continue;
    double add = d->pend * (t - (ps->dbin + k * m->bin_s)) - d->pend_sum;
    d->n += d->pend;
    d->nred += d->pend;
    d->delay += add;
    ps->sum.delay_arrivals += d->pend;
    ps->sum.delay_red_arrivals += d->pend;
    ps->sum.delay_s += add;
    d->pend = 0;
    d->pend_sum = 0;
  }
  if (t - ps->dfirst > ps->sum.max_delay_s) ps->sum.max_delay_s = t - ps->dfirst;
  ps->dpending = 0;
  ps->dfirst = INFINITY;
  delay_emit(m, ps, p, t);
}

/* ---- bins --------------------------------------------------------------- */

/* Emits the volume and turning movement bins that end at or before t, and
** the delay bins that are complete. */
static void advance_bins(gw_measures *m, double t) {
  if (isnan(m->bin_start)) {
    m->bin_start = floor(t / m->bin_s) * m->bin_s;
    for (int p = 1; p <= NPH; p++)
      if (m->ph[p].mapped) m->ph[p].dbin = m->bin_start;
  }
  if (t < m->bin_start + m->bin_s) return;
  while (t >= m->bin_start + m->bin_s) {
    for (int p = 1; p <= NPH; p++) {
      phase_state *ps = &m->ph[p];
      if (!ps->mapped) continue;
      gw_volume_bin b = {p, m->bin_start, m->bin_s, ps->bin_count,
                         ps->bin_count * 3600.0 / m->bin_s};
      if (m->sink.volume) m->sink.volume(m->sink.ud, &b);
      ps->bin_count = 0;
      for (uint32_t bits = ps->sum.tmc_movements; bits; bits &= bits - 1) {
        int mv = __builtin_ctz(bits);
        gw_tmc_bin tb = {p,
                         mv,
                         m->bin_start,
                         m->bin_s,
                         ps->tmc_count[mv],
                         ps->tmc_count[mv] * 3600.0 / m->bin_s};
        if (m->ext.tmc) m->ext.tmc(m->ext.ud, &tb);
        ps->tmc_count[mv] = 0;
      }
    }
    m->bin_start += m->bin_s;
  }
  for (int p = 1; p <= NPH; p++)
    if (m->ph[p].mapped) delay_emit(m, &m->ph[p], p, t);
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
  if (ps->in_cycle) {
    if (ps->has_green)
      delay_green(m, ps, p, t);
    else
      delay_drop(ps, 0, DSLOTS); /* the log misses this cycle's yellow */
    close_cycle(m, ps, t);
  }
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

static void ped_event(gw_measures *m, int code, int p, double t) {
  phase_state *ps = &m->ph[p];
  gw_phase_summary *s = &ps->sum;
  ps->used = 1;
  s->ped_events++;
  switch (code) {
    case PED_BEGIN_WALK:
      s->ped_walks++;
      if (!isnan(ps->ped_call_t)) {
        gw_ped_delay d = {p, ps->ped_call_t, t, t - ps->ped_call_t};
        s->ped_delays++;
        s->ped_delay_s += d.delay_s;
        if (d.delay_s > s->ped_max_delay_s) s->ped_max_delay_s = d.delay_s;
        if (m->ext.ped) m->ext.ped(m->ext.ud, &d);
        ps->ped_call_t = NAN;
      }
      ps->ped_walk = 1;
      break;
    case PED_BEGIN_CLEARANCE:
    case PED_DONT_WALK:
      ps->ped_walk = 0;
      break;
    case PED_CALL:
    case PED_DETECTOR_ON:
      if (code == PED_CALL)
        s->ped_calls++;
      else
        s->ped_presses++;
      if (!ps->ped_walk && isnan(ps->ped_call_t)) ps->ped_call_t = t;
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
      if (d->move[p]) {
        ps->tmc_count[d->move[p]]++;
        ps->sum.tmc[d->move[p]]++;
      }
      if (ps->in_cycle) {
        ps->cur.arrivals[ps->state]++;
        if (ps->state == GW_STATE_RED && ps->redclear) ps->cur.redclear_actuations++;
        delay_arrival(m, ps, p, t);
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
  m->fed = 1;
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
  } else if ((code >= PED_BEGIN_WALK && code <= PED_DONT_WALK) || code == PED_CALL ||
             code == PED_DETECTOR_OFF || code == PED_DETECTOR_ON) {
    if (param < 1 || param > NPH)
      m->ignored++;
    else
      ped_event(m, code, param, t);
  }
  return GW_OK;
}

int gw_measures_finish(gw_measures *m) {
  if (m->finished) return GW_ESTATE;
  m->finished = 1;
  if (!isnan(m->bin_start)) {
    /* Red arrivals still waiting never met their green; then the last,
    ** possibly partial, bin. */
    for (int p = 1; p <= NPH; p++) delay_drop(&m->ph[p], 0, DSLOTS);
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
    s->avg_delay_s = s->delay_arrivals ? s->delay_s / (double)s->delay_arrivals : 0;
    s->ped_avg_delay_s = s->ped_delays ? s->ped_delay_s / (double)s->ped_delays : 0;
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

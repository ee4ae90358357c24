/*
** api_measures.c -- GET /api/measures: signal performance measures of one
** signal from the events in the store.
**
** The events of the range are read from the store in time order and fed to
** the measures engine of greenwave/measures.h, exactly as `greenwave
** measures` feeds it from a CSV log, and the answer has the keys of that
** command's --json output, so the two give the same numbers for the same
** events.  Detector events carry channels, not phases: the map comes from
** the query (detectors=61:2,62:2:TR, channel:phase[:movement]) or else from
** the live centre's configuration of the intersection (a detector's
** "channel", or its network "index" + 1, serves group + 1, as `greenwave sim
** --detector-map` writes it, with its "movement" when it has one; detectors
** with neither are left out).  Without a map the measures that need one
** (aog, pcd, splitfail, volume, redyellow, delay, tmc) count no arrivals.
**
** Reads are bounded: at most GW__MEASURES_MAX_EVENTS events per request
** ("truncated": true says the range had more).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "greenwave/measures.h"
#include "server/api_int.h"

#define GW__MEASURES_MAX_EVENTS 200000

typedef struct ctx {
  int measure;
  cJSON *cycles, *arrivals, *bins, *delays;
} ctx;

static cJSON *time_str(double t) {
  char ts[32];
  gw_time_format(t, ts, sizeof ts);
  return cJSON_CreateString(ts);
}

static void on_cycle(void *ud, const gw_cycle *cy) {
  ctx *x = ud;
  if (!x->cycles) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", cy->phase);
  cJSON_AddItemToObject(o, "start", time_str(cy->start_t));
  cJSON_AddNumberToObject(o, "green_s", cy->green_s);
  cJSON_AddNumberToObject(o, "yellow_s", cy->yellow_s);
  cJSON_AddNumberToObject(o, "cycle_s", cy->cycle_s);
  if (x->measure == GW_MEASURE_SPLIT)
    cJSON_AddStringToObject(o, "termination", gw_termination_name(cy->termination & 3));
  if (x->measure == GW_MEASURE_PCD) {
    cJSON_AddNumberToObject(o, "arrivals_green", cy->arrivals[0]);
    cJSON_AddNumberToObject(o, "arrivals_yellow", cy->arrivals[1]);
    cJSON_AddNumberToObject(o, "arrivals_red", cy->arrivals[2]);
  }
  if (x->measure == GW_MEASURE_SPLITFAIL) {
    cJSON_AddNumberToObject(o, "green_occupancy", cy->green_occupancy);
    cJSON_AddNumberToObject(o, "red_occupancy", cy->red_occupancy);
    cJSON_AddBoolToObject(o, "split_failure", cy->split_failure);
  }
  cJSON_AddItemToArray(x->cycles, o);
}

static void on_arrival(void *ud, const gw_arrival *a) {
  ctx *x = ud;
  if (!x->arrivals) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", a->phase);
  cJSON_AddItemToObject(o, "t", time_str(a->t));
  cJSON_AddNumberToObject(o, "cycle_t_s", a->t - a->cycle_start_t);
  cJSON_AddStringToObject(o, "state", gw_arrival_state_name(a->state % 3));
  cJSON_AddItemToArray(x->arrivals, o);
}

static void on_bin(void *ud, const gw_volume_bin *b) {
  ctx *x = ud;
  if (!x->bins) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", b->phase);
  cJSON_AddItemToObject(o, "start", time_str(b->start_t));
  cJSON_AddNumberToObject(o, "bin_s", b->bin_s);
  cJSON_AddNumberToObject(o, "count", b->count);
  cJSON_AddNumberToObject(o, "vph", b->vph);
  cJSON_AddItemToArray(x->bins, o);
}

static void on_delay(void *ud, const gw_delay_bin *b) {
  ctx *x = ud;
  if (!x->bins) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", b->phase);
  cJSON_AddItemToObject(o, "start", time_str(b->start_t));
  cJSON_AddNumberToObject(o, "bin_s", b->bin_s);
  cJSON_AddNumberToObject(o, "arrivals", b->arrivals);
  cJSON_AddNumberToObject(o, "arrivals_red", b->arrivals_red);
  cJSON_AddNumberToObject(o, "delay_s", b->delay_s);
  cJSON_AddNumberToObject(o, "delay_veh_h", b->delay_s / 3600);
  cJSON_AddNumberToObject(o, "avg_delay_s", b->avg_delay_s);
  cJSON_AddItemToArray(x->bins, o);
}

static void on_tmc(void *ud, const gw_tmc_bin *b) {
  ctx *x = ud;
  if (!x->bins) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", b->phase);
  cJSON_AddStringToObject(o, "movement", gw_movement_name(b->movement));
  cJSON_AddItemToObject(o, "start", time_str(b->start_t));
  cJSON_AddNumberToObject(o, "bin_s", b->bin_s);
  cJSON_AddNumberToObject(o, "count", b->count);
  cJSON_AddNumberToObject(o, "vph", b->vph);
  cJSON_AddItemToArray(x->bins, o);
}

static void on_ped(void *ud, const gw_ped_delay *d) {
  ctx *x = ud;
  if (!x->delays) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", d->phase);
  cJSON_AddItemToObject(o, "call", time_str(d->call_t));
  cJSON_AddItemToObject(o, "walk", time_str(d->walk_t));
  cJSON_AddNumberToObject(o, "delay_s", d->delay_s);
  cJSON_AddItemToArray(x->delays, o);
}

/* Delay bins come per phase as their red arrivals meet their green: into
** time order, then phase order, as `greenwave measures` lists them. */
static int bin_before(const cJSON *a, const cJSON *b) {
  const char *sa = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "start"));
  const char *sb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "start"));
  int c = strcmp(sa ? sa : "", sb ? sb : "");
  if (c) return c < 0;
  return cJSON_GetObjectItemCaseSensitive(a, "phase")->valuedouble <
         cJSON_GetObjectItemCaseSensitive(b, "phase")->valuedouble;
}

static void sort_bins(cJSON *arr) {
  int n = cJSON_GetArraySize(arr);
  if (n < 2) return;
  cJSON **v = malloc((size_t)n * sizeof *v);
  if (!v) return;
  int k = 0;
  while (arr->child) v[k++] = cJSON_DetachItemViaPointer(arr, arr->child);
  /* Insertion sort: each phase's bins are in order already, so the input
  ** is a few interleaved runs. */
  for (int i = 1; i < n; i++) {
    cJSON *e = v[i];
    int j = i;
    while (j > 0 && bin_before(e, v[j - 1])) v[j] = v[j - 1], j--;
    v[j] = e;
  }
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, v[i]);
  free(v);
}

/* As in `greenwave measures`: turning movement counts list the phases with
** a movement in the map, pedestrian delay the phases with pedestrian
** events. */
static int listed(const gw_phase_summary *s, int measure) {
  if (measure == GW_MEASURE_TMC) return s->tmc_movements != 0;
  if (measure == GW_MEASURE_PEDDELAY) return s->ped_events != 0;
  return 1;
}

static cJSON *summary(const gw_phase_summary *s, int measure) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "phase", s->phase);
  cJSON_AddNumberToObject(o, "cycles", s->cycles);
  if (measure == GW_MEASURE_SPLIT) {
    cJSON_AddNumberToObject(o, "mean_green_s", s->cycles ? s->green_s / s->cycles : 0);
    cJSON_AddNumberToObject(o, "min_green_s", s->min_green_s);
    cJSON_AddNumberToObject(o, "max_green_s", s->max_green_s);
  }
  switch (measure) {
    case GW_MEASURE_SPLIT:
    case GW_MEASURE_TERMINATIONS:
      cJSON_AddNumberToObject(o, "gap_outs", (double)s->gap_outs);
      cJSON_AddNumberToObject(o, "max_outs", (double)s->max_outs);
      cJSON_AddNumberToObject(o, "force_offs", (double)s->force_offs);
      break;
    case GW_MEASURE_PCD:
    case GW_MEASURE_AOG:
      cJSON_AddNumberToObject(o, "arrivals_green", (double)s->arrivals[0]);
      cJSON_AddNumberToObject(o, "arrivals_yellow", (double)s->arrivals[1]);
      cJSON_AddNumberToObject(o, "arrivals_red", (double)s->arrivals[2]);
      cJSON_AddNumberToObject(o, "aog_pct", s->aog_pct);
      cJSON_AddNumberToObject(o, "green_share", s->green_share);
      cJSON_AddNumberToObject(o, "platoon_ratio", s->platoon_ratio);
      break;
    case GW_MEASURE_SPLITFAIL:
      cJSON_AddNumberToObject(o, "measured_cycles", s->occupancy_cycles);
      cJSON_AddNumberToObject(o, "split_failures", s->split_failures);
      break;
    case GW_MEASURE_VOLUME:
      cJSON_AddNumberToObject(o, "detector_ons", (double)s->detector_ons);
      break;
    case GW_MEASURE_REDYELLOW:
      cJSON_AddNumberToObject(o, "yellow_actuations", (double)s->arrivals[1]);
      cJSON_AddNumberToObject(o, "red_actuations", (double)s->arrivals[2]);
      cJSON_AddNumberToObject(o, "red_clearance_actuations", (double)s->redclear_actuations);
      break;
    case GW_MEASURE_DELAY:
      cJSON_AddNumberToObject(o, "arrivals", (double)s->delay_arrivals);
      cJSON_AddNumberToObject(o, "arrivals_red", (double)s->delay_red_arrivals);
      cJSON_AddNumberToObject(o, "unresolved", (double)s->delay_unresolved);
      cJSON_AddNumberToObject(o, "total_delay_veh_h", s->delay_s / 3600);
      cJSON_AddNumberToObject(o, "avg_delay_s", s->avg_delay_s);
      cJSON_AddNumberToObject(o, "max_delay_s", s->max_delay_s);
      break;
    case GW_MEASURE_TMC: {
      cJSON *mv = cJSON_AddArrayToObject(o, "movements");
      double tot = 0;
      for (int k = 1; k < GW_MOVE_N; k++) {
        if (!(s->tmc_movements & (1u << k))) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "movement", gw_movement_name(k));
        cJSON_AddNumberToObject(e, "count", (double)s->tmc[k]);
        cJSON_AddItemToArray(mv, e);
        tot += (double)s->tmc[k];
      }
      cJSON_AddNumberToObject(o, "count", tot);
      break;
    }
    case GW_MEASURE_PEDDELAY:
      cJSON_AddNumberToObject(o, "walks", (double)s->ped_walks);
      cJSON_AddNumberToObject(o, "calls", (double)s->ped_calls);
      cJSON_AddNumberToObject(o, "presses", (double)s->ped_presses);
      cJSON_AddNumberToObject(o, "delays", (double)s->ped_delays);
      cJSON_AddNumberToObject(o, "avg_delay_s", s->ped_avg_delay_s);
      cJSON_AddNumberToObject(o, "max_delay_s", s->ped_max_delay_s);
      break;
  }
  return o;
}

/* "61:2,62:2:TR" into links and movements; -1 when malformed. */
static int parse_map(const char *s, gw_detector_link *links, int *moves, size_t *n) {
  *n = 0;
  while (*s) {
    int det, phase, used;
    if (sscanf(s, "%d:%d%n", &det, &phase, &used) != 2 || det < 1 || phase < 1 ||
        phase > GW_MEASURES_MAX_PHASE || *n == GW_MEASURES_MAX_DETECTORS)
      return -1;
    s += used;
    int move = 0;
    if (*s == ':') {
      size_t len = strcspn(++s, ",");
      if (gw_movement_parse(s, len, &move)) return -1;
      s += len;
    }
    moves[*n] = move;
    links[(*n)++] = (gw_detector_link){det, phase};
    if (*s == ',') {
      s++;
      if (!*s) return -1;
    } else if (*s) {
      return -1;
    }
  }
  return 0;
}

/* The live configuration's detectors of `signal`: channel serves group + 1. */
static void map_from_centre(gw_centre *ce, const char *signal, gw_detector_link *links, int *moves,
                            size_t *n) {
  *n = 0;
  if (!ce) return;
  gw_blob *b = gw_centre_intersection_config(ce, signal);
  if (!b) return;
  cJSON *cfg = cJSON_ParseWithLength(b->data, b->len), *d;
  gw_blob_unref(b);
  cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(cfg, "detectors")) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(d, "group");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, "channel");
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(d, "index");
    const char *mv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "movement"));
    int det = cJSON_IsNumber(ch) ? ch->valueint : cJSON_IsNumber(ix) ? ix->valueint + 1 : 0;
    if (!cJSON_IsNumber(g) || g->valueint < 0 || g->valueint >= GW_MEASURES_MAX_PHASE || det < 1 ||
        *n == GW_MEASURES_MAX_DETECTORS)
      continue;
    int move = 0;
    if (mv && gw_movement_parse(mv, strlen(mv), &move)) move = 0;
    moves[*n] = move;
    links[(*n)++] = (gw_detector_link){det, g->valueint + 1};
  }
  cJSON_Delete(cfg);
}

void gw__h_measures(gw__call *c) {
  char signal[GW__API_ID_MAX + 2], mname[32], map[4096], from_s[64], to_s[64];
  if (!gw_http_query(c->rq->query, "signal", signal, sizeof signal) || !signal[0] ||
      strlen(signal) > GW__API_ID_MAX || !gw__api_valid_utf8(signal, strlen(signal))) {
    gw__api_error(c, 400, "bad_query", "query 'signal' (an id of up to %d bytes) is required",
                  GW__API_ID_MAX);
    return;
  }
  int measure = -1;
  if (gw_http_query(c->rq->query, "measure", mname, sizeof mname))
    measure = gw_measure_from_name(mname);
  if (measure == GW_MEASURE_HEALTH) measure = -1; /* a report of its own, not served here */
  if (measure < 0) {
    gw__api_error(c, 400, "bad_query",
                  "query 'measure' must be split, aog, pcd, splitfail, volume, terminations, "
                  "redyellow, delay, tmc or peddelay");
    return;
  }
  double from = 0, to = 1e11;
  if (gw__api_qtime(c, "from", &from) < 0 || gw__api_qtime(c, "to", &to) < 0) return;
  if (from > to) {
    gw__api_error(c, 400, "bad_range", "'from' lies after 'to'");
    return;
  }
  int has_from = gw_http_query(c->rq->query, "from", from_s, sizeof from_s);
  int has_to = gw_http_query(c->rq->query, "to", to_s, sizeof to_s);
  gw_detector_link *links = malloc(GW_MEASURES_MAX_DETECTORS * sizeof *links);
  int *moves = malloc(GW_MEASURES_MAX_DETECTORS * sizeof *moves);
  if (!links || !moves) {
    free(links);
    free(moves);
    gw__api_error(c, 500, "out_of_memory", "out of memory");
    return;
  }
  size_t nlinks = 0;
  if (gw_http_query(c->rq->query, "detectors", map, sizeof map)) {
    if (parse_map(map, links, moves, &nlinks)) {
      free(links);
      free(moves);
      gw__api_error(c, 400, "bad_query",
                    "query 'detectors' must be channel:phase pairs with an optional movement, "
                    "e.g. 61:2,62:2:TR (phases 1..%d, movements of L, T and R, at most %d "
                    "pairs)",
                    GW_MEASURES_MAX_PHASE, GW_MEASURES_MAX_DETECTORS);
      return;
    }
  } else {
    map_from_centre(c->api->centre, signal, links, moves, &nlinks);
  }
  cJSON *rows = NULL, *out = NULL;
  gw_error err = {0, {0}};
  gw_measures *m = NULL;
  int rc = gw_store_events(c->st, signal, from, to, GW__MEASURES_MAX_EVENTS, &rows, &err);
  if (rc) {
    gw__api_store_error(c, rc, &err, "events");
    goto done;
  }
  ctx x = {measure, NULL, NULL, NULL, NULL};
  out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "signal", signal);
  cJSON_AddStringToObject(out, "measure", gw_measure_name(measure));
  if (has_from)
    cJSON_AddStringToObject(out, "from", from_s);
  else
    cJSON_AddNullToObject(out, "from");
  if (has_to)
    cJSON_AddStringToObject(out, "to", to_s);
  else
    cJSON_AddNullToObject(out, "to");
  int nev = cJSON_GetArraySize(rows);
  cJSON_AddNumberToObject(out, "events", nev);
  cJSON_AddBoolToObject(out, "truncated", nev >= GW__MEASURES_MAX_EVENTS);
  cJSON_AddNumberToObject(out, "detectors_mapped", (double)nlinks);
  if (measure == GW_MEASURE_SPLIT || measure == GW_MEASURE_PCD || measure == GW_MEASURE_SPLITFAIL)
    x.cycles = cJSON_AddArrayToObject(out, "cycles");
  if (measure == GW_MEASURE_PCD) x.arrivals = cJSON_AddArrayToObject(out, "arrivals");
  if (measure == GW_MEASURE_VOLUME || measure == GW_MEASURE_DELAY || measure == GW_MEASURE_TMC)
    x.bins = cJSON_AddArrayToObject(out, "bins");
  gw_measures_config cfg = {links, nlinks, 0, 0, 0, moves};
  gw_measures_sink sink = {on_cycle, on_arrival, measure == GW_MEASURE_VOLUME ? on_bin : NULL, &x};
  gw_measures_sink_ext ext = {measure == GW_MEASURE_DELAY ? on_delay : NULL,
                              measure == GW_MEASURE_TMC ? on_tmc : NULL, on_ped, &x};
  if (gw_measures_create(&cfg, &sink, &m)) {
    gw__api_error(c, 422, "invalid_value", "the detector map is outside the measures' limits");
    goto done;
  }
  gw_measures_set_sink_ext(m, &ext);
  cJSON *nped = NULL;
  if (measure == GW_MEASURE_PEDDELAY) {
    nped = cJSON_AddNumberToObject(out, "pedestrian_events", 0);
    x.delays = cJSON_AddArrayToObject(out, "delays");
  }
  const cJSON *ev;
  cJSON_ArrayForEach(ev, rows) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(ev, "code");
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(ev, "param");
    if (!cJSON_IsNumber(t) || !cJSON_IsNumber(code) || !cJSON_IsNumber(param)) continue;
    gw_measures_feed(m, t->valuedouble, code->valueint, param->valueint);
  }
  gw_measures_finish(m);
  const gw_phase_summary *sum;
  size_t nsum;
  gw_measures_summary(m, &sum, &nsum);
  cJSON_AddNumberToObject(out, "out_of_order", (double)gw_measures_out_of_order(m));
  cJSON_AddNumberToObject(out, "ignored", (double)gw_measures_ignored(m));
  if (measure == GW_MEASURE_DELAY) sort_bins(x.bins);
  int any = 0;
  double ped_events = 0;
  for (size_t i = 0; i < nsum; i++) {
    any |= listed(&sum[i], measure);
    ped_events += (double)sum[i].ped_events;
  }
  if (nped) cJSON_SetNumberValue(nped, ped_events);
  if (!any && measure == GW_MEASURE_TMC)
    cJSON_AddStringToObject(out, "note",
                            "the detector map names no movement (a 4th column L, T, R, TL, TR, "
                            "...): no turning movement counts");
  if (!any && measure == GW_MEASURE_PEDDELAY)
    cJSON_AddStringToObject(out, "note",
                            "no pedestrian events (codes 21-23, 45, 89, 90) of this signal in the "
                            "range: no pedestrian delay (logs of Greenwave's simulator have "
                            "none; it has no pedestrians)");
  cJSON *phases = cJSON_AddArrayToObject(out, "phases");
  for (size_t i = 0; i < nsum; i++)
    if (listed(&sum[i], measure)) cJSON_AddItemToArray(phases, summary(&sum[i], measure));
  gw__api_json(c, 200, out);
  out = NULL;
done:
  gw_measures_destroy(m);
  cJSON_Delete(rows);
  cJSON_Delete(out);
  free(links);
  free(moves);
}

/*
** test_measures.c -- the event log reader and the signal performance
** measures.
**
** Why these tests: every measure is a small piece of arithmetic over event
** times that is easy to get off by one state or one cycle, so each is pinned
** on a hand-made log whose numbers are worked out in the comments; the
** reader must accept the forms real logs come in and count, with line
** numbers, every row it cannot use; it must read a log of a million events
** in the same memory as a log of a hundred thousand (checked through a
** counting allocator, not by timing); and the split monitor must find the
** fixed-time program's cycles in a log written by the real control loop.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "greenwave/control.h"
#include "greenwave/field.h"
#include "greenwave/measures.h"
#include "greenwave/scenario.h"
#include "greenwave/sim.h"

#define T0 1767571200.0 /* 2026-01-05 00:00:00 */

/* ---- a counting allocator: live and peak bytes of the library ----------- */

typedef struct counter {
  size_t live, peak;
} counter;
static counter mem; /* test-only: the allocator hook has no per-object state */

static void *counting_alloc(void *ud, void *ptr, size_t size) {
  counter *c = ud;
  size_t *p = ptr ? (size_t *)ptr - 2 : NULL;
  if (p) c->live -= p[0];
  if (size == 0) {
    free(p);
    return NULL;
  }
  size_t *q = realloc(p, size + 2 * sizeof(size_t));
  if (!q) {
    if (p) c->live += p[0];
    return NULL;
  }
  q[0] = size;
  c->live += size;
  if (c->live > c->peak) c->peak = c->live;
  return q + 2;
}

/* ---- helpers ------------------------------------------------------------ */

static char *temp_path(char *buf, size_t n, const char *tag) {
  snprintf(buf, n, "/tmp/gw_test_measures_%ld_%s.csv", (long)getpid(), tag);
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

typedef struct row {
  double dt; /* s after T0 */
  int code, param;
} row;

static void write_log(const char *path, const char *signal, const row *rows, size_t n) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("SignalID,Timestamp,EventCode,EventParam\n", f);
  for (size_t i = 0; i < n; i++) {
    char ts[32];
    gw_time_format(T0 + rows[i].dt, ts, sizeof ts);
    fprintf(f, "%s,%s,%d,%d\n", signal, ts, rows[i].code, rows[i].param);
    /* Another signal's row after each: the filter must keep it out. */
    fprintf(f, "X9,%s,1,2\n", ts);
  }
  assert_int_equal(fclose(f), 0);
}

typedef struct collect {
  gw_measures *m;
  gw_cycle cycles[64];
  size_t ncycles;
  gw_arrival arrivals[64];
  size_t narrivals;
  gw_volume_bin bins[64];
  size_t nbins;
  uint64_t events;
} collect;

static void on_cycle(void *ud, const gw_cycle *c) {
  collect *x = ud;
  if (x->ncycles < 64) x->cycles[x->ncycles++] = *c;
}
static void on_arrival(void *ud, const gw_arrival *a) {
  collect *x = ud;
  if (x->narrivals < 64) x->arrivals[x->narrivals++] = *a;
}
static void on_bin(void *ud, const gw_volume_bin *b) {
  collect *x = ud;
  if (x->nbins < 64) x->bins[x->nbins++] = *b;
}
static int feed(void *ud, const gw_log_event *e) {
  collect *x = ud;
  x->events++;
  return gw_measures_feed(x->m, e->t, e->code, e->param);
}

/* Reads `path` for `signal` into a fresh engine; x is filled. */
static void run_measures(const char *path, const char *signal, const gw_detector_link *links,
                         size_t nlinks, double bin_s, collect *x) {
  memset(x, 0, sizeof *x);
  gw_measures_config cfg = {links, nlinks, bin_s, 0, 0, NULL};
  gw_measures_sink sink = {on_cycle, on_arrival, on_bin, x};
  assert_int_equal(gw_measures_create(&cfg, &sink, &x->m), GW_OK);
  gw_eventlog *r;
  gw_error err;
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  gw_eventlog_filter flt = {signal, -INFINITY, INFINITY};
  assert_int_equal(gw_eventlog_read(r, &flt, feed, x, &err), GW_OK);
  gw_eventlog_close(r);
  assert_int_equal(gw_measures_finish(x->m), GW_OK);
}

static const gw_phase_summary *phase_of(const gw_measures *m, int phase) {
  const gw_phase_summary *s;
  size_t n;
  assert_int_equal(gw_measures_summary(m, &s, &n), GW_OK);
  for (size_t i = 0; i < n; i++)
    if (s[i].phase == phase) return &s[i];
  fail_msg("phase %d not in the summary", phase);
  return NULL;
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

/* ---- the hand-made log -------------------------------------------------- */

/* Phase 2 has detectors 5 and 6, phase 4 detector 7.  Times in s after T0.
**
** Phase 2, cycle A [0, 40): green 0-20 (gap out), yellow 20-23, red
** clearance 23-25, red 25-40.  Detector-ons at 2, 6, 8 (green), 21
** (yellow), 24 (red, in red clearance), 26 (red): 3 / 1 / 2.  Occupancy in
** green: det 5 on 2-4, det 6 on 6-9, det 5 on 8-10; the union is 2-4 and
** 6-10 = 6 s of 20: GOR 0.30.  Red window 23-28: det 6 on from 24 to 30,
** so 4 s of 5: ROR 0.80.  Not a failure (GOR < 0.79).
**
** Phase 2, cycle B [40, 90): green 40-70 (max out), yellow 70-73, red
** 73-90 (no red clearance events).  Det 5 on 41-80: GOR 29/30 = 0.967, red
** window 73-78 fully occupied: ROR 1.0: a split failure.  Ons at 41
** (green) and 75 (det 6, red): 1 / 0 / 1.
**
** Phase 2, cycle C from 90: green 90-95 (force off), yellow 95-98, an on at
** 100 (red); the log ends, so C is not completed: its force off counts
** among the terminations, its arrival is emitted but not summed.
**
** Phase 2 totals over A and B: 2 cycles, green 50 s of 90 s (share
** 0.5556), min 20 max 30; arrivals 4 green, 1 yellow, 3 red: AOG 50 %,
** platoon ratio 0.5 / 0.5556 = 0.9; 1 red-clearance actuation; 1 split
** failure of 2 measured cycles; 9 detector-ons in all.
**
** Phase 4, one cycle [25, 65): green 25-35 with no termination event,
** yellow 35-38; det 7 on 30-31 (green), 50-51 (red): GOR 1/10 = 0.1, red
** window 38-43 empty: ROR 0.  Gap out at 80 counted, its cycle incomplete.
** AOG 50 %, share 10/40 = 0.25, platoon ratio 2.
**
** Volume in 60 s bins: [0, 60) phase 2 ons at 2, 6, 8, 21, 24, 26, 41 = 7
** (420 veh/h), phase 4 at 30, 50 = 2 (120 veh/h); [60, 120) phase 2 at 75,
** 100 = 2 (120 veh/h), phase 4 none. */
static const row hand_log[] = {
    {0, 1, 2},   {2, 82, 5}, {4, 81, 5},  {6, 82, 6},  {8, 82, 5},  {9, 81, 6},  {10, 81, 5},
    {20, 4, 2},  {20, 8, 2}, {21, 82, 5}, {22, 81, 5}, {23, 9, 2},  {23, 10, 2}, {24, 82, 6},
    {25, 11, 2}, {25, 1, 4}, {26, 82, 5}, {30, 81, 6}, {30, 81, 5}, {30, 82, 7}, {31, 81, 7},
    {35, 8, 4},  {38, 9, 4}, {40, 1, 2},  {41, 82, 5}, {50, 82, 7}, {51, 81, 7}, {65, 1, 4},
    {70, 5, 2},  {70, 8, 2}, {73, 9, 2},  {75, 82, 6}, {76, 81, 6}, {80, 81, 5}, {80, 4, 4},
    {80, 8, 4},  {83, 9, 4}, {90, 1, 2},  {95, 6, 2},  {95, 8, 2},  {98, 9, 2},  {100, 82, 5}};
static const gw_detector_link hand_map[] = {{5, 2}, {6, 2}, {7, 4}};

static void hand_made(collect *x) {
  char path[128];
  temp_path(path, sizeof path, "hand");
  write_log(path, "S1", hand_log, sizeof hand_log / sizeof *hand_log);
  run_measures(path, "S1", hand_map, 3, 60, x);
  unlink(path);
  assert_int_equal(x->events, sizeof hand_log / sizeof *hand_log);
}

static const gw_cycle *cycle_at(const collect *x, int phase, double dt) {
  for (size_t i = 0; i < x->ncycles; i++)
    if (x->cycles[i].phase == phase && fabs(x->cycles[i].start_t - (T0 + dt)) < 1e-6)
      return &x->cycles[i];
  fail_msg("no cycle of phase %d at %g", phase, dt);
  return NULL;
}

static void split_monitor(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  assert_int_equal(x.ncycles, 3); /* A and B of phase 2, one of phase 4 */
  const gw_cycle *a = cycle_at(&x, 2, 0), *b = cycle_at(&x, 2, 40), *c = cycle_at(&x, 4, 25);
  NEAR(a->green_s, 20), NEAR(a->yellow_s, 3), NEAR(a->cycle_s, 40);
  assert_int_equal(a->termination, GW_TERM_GAP_OUT);
  NEAR(b->green_s, 30), NEAR(b->yellow_s, 3), NEAR(b->cycle_s, 50);
  assert_int_equal(b->termination, GW_TERM_MAX_OUT);
  NEAR(c->green_s, 10), NEAR(c->cycle_s, 40);
  assert_int_equal(c->termination, GW_TERM_NONE);
  const gw_phase_summary *s = phase_of(x.m, 2);
  assert_int_equal(s->cycles, 2);
  NEAR(s->green_s, 50), NEAR(s->cycle_s, 90), NEAR(s->min_green_s, 20), NEAR(s->max_green_s, 30);
  gw_measures_destroy(x.m);
}

static void terminations(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  const gw_phase_summary *s2 = phase_of(x.m, 2), *s4 = phase_of(x.m, 4);
  /* Events counted directly, the incomplete cycle C's force off included. */
  assert_int_equal(s2->gap_outs, 1);
  assert_int_equal(s2->max_outs, 1);
  assert_int_equal(s2->force_offs, 1);
  assert_int_equal(s4->gap_outs, 1);
  assert_int_equal(s4->max_outs + s4->force_offs, 0);
  /* Completed cycles by how they ended. */
  assert_int_equal(s2->terminated[GW_TERM_GAP_OUT], 1);
  assert_int_equal(s2->terminated[GW_TERM_MAX_OUT], 1);
  assert_int_equal(s4->terminated[GW_TERM_NONE], 1);
  gw_measures_destroy(x.m);
}

static void pcd_and_arrivals_on_green(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  const gw_cycle *a = cycle_at(&x, 2, 0), *b = cycle_at(&x, 2, 40);
  assert_int_equal(a->arrivals[GW_STATE_GREEN], 3);
  assert_int_equal(a->arrivals[GW_STATE_YELLOW], 1);
  assert_int_equal(a->arrivals[GW_STATE_RED], 2);
  assert_int_equal(a->redclear_actuations, 1);
  assert_int_equal(b->arrivals[GW_STATE_GREEN], 1);
  assert_int_equal(b->arrivals[GW_STATE_RED], 1);
  /* Every arrival after a begin green is emitted (9 of phase 2, 2 of
  ** phase 4), with its time in cycle: the on at 24 is 24 s into A, red;
  ** the one at 100 is 10 s into the unfinished C. */
  assert_int_equal(x.narrivals, 11);
  int found24 = 0, found100 = 0;
  for (size_t i = 0; i < x.narrivals; i++) {
    const gw_arrival *ar = &x.arrivals[i];
    if (fabs(ar->t - (T0 + 24)) < 1e-6) {
      found24 = 1;
      NEAR(ar->t - ar->cycle_start_t, 24);
      assert_int_equal(ar->state, GW_STATE_RED);
    }
    if (fabs(ar->t - (T0 + 100)) < 1e-6) {
      found100 = 1;
      NEAR(ar->cycle_start_t, T0 + 90);
    }
  }
  assert_true(found24 && found100);
  const gw_phase_summary *s2 = phase_of(x.m, 2), *s4 = phase_of(x.m, 4);
  assert_int_equal(s2->arrivals[0], 4);
  assert_int_equal(s2->arrivals[1], 1);
  assert_int_equal(s2->arrivals[2], 3);
  NEAR(s2->aog_pct, 50);
  NEAR(s2->green_share, 50.0 / 90);
  NEAR(s2->platoon_ratio, 0.9);
  NEAR(s4->aog_pct, 50);
  NEAR(s4->green_share, 0.25);
  NEAR(s4->platoon_ratio, 2);
  gw_measures_destroy(x.m);
}

static void split_failures(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  const gw_cycle *a = cycle_at(&x, 2, 0), *b = cycle_at(&x, 2, 40), *c = cycle_at(&x, 4, 25);
  NEAR(a->green_occupancy, 0.3);
  NEAR(a->red_occupancy, 0.8);
  assert_int_equal(a->split_failure, 0);
  NEAR(b->green_occupancy, 29.0 / 30);
  NEAR(b->red_occupancy, 1.0);
  assert_int_equal(b->split_failure, 1);
  NEAR(c->green_occupancy, 0.1);
  NEAR(c->red_occupancy, 0);
  assert_int_equal(c->split_failure, 0);
  const gw_phase_summary *s2 = phase_of(x.m, 2);
  assert_int_equal(s2->occupancy_cycles, 2);
  assert_int_equal(s2->split_failures, 1);
  gw_measures_destroy(x.m);
}

static void approach_volume(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  assert_int_equal(x.nbins, 4);
  struct {
    int phase;
    double dt;
    uint32_t count;
    double vph;
  } want[4] = {{2, 0, 7, 420}, {4, 0, 2, 120}, {2, 60, 2, 120}, {4, 60, 0, 0}};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(x.bins[i].phase, want[i].phase);
    NEAR(x.bins[i].start_t, T0 + want[i].dt);
    assert_int_equal(x.bins[i].count, want[i].count);
    NEAR(x.bins[i].vph, want[i].vph);
  }
  assert_int_equal(phase_of(x.m, 2)->detector_ons, 9);
  assert_int_equal(phase_of(x.m, 4)->detector_ons, 2);
  gw_measures_destroy(x.m);
}

static void yellow_and_red_actuations(void **state) {
  (void)state;
  collect x;
  hand_made(&x);
  /* Over A and B: on yellow at 21; on red at 24 (red clearance), 26, 75. */
  const gw_phase_summary *s2 = phase_of(x.m, 2);
  assert_int_equal(s2->arrivals[GW_STATE_YELLOW], 1);
  assert_int_equal(s2->arrivals[GW_STATE_RED], 3);
  assert_int_equal(s2->redclear_actuations, 1);
  gw_measures_destroy(x.m);
}

/* Out-of-order events are counted, not used; bad parameters refused. */
static void engine_edges(void **state) {
  (void)state;
  gw_measures *m;
  gw_measures_config cfg = {hand_map, 3, 0, 0, 0, NULL};
  assert_int_equal(gw_measures_create(&cfg, NULL, &m), GW_OK);
  assert_int_equal(gw_measures_feed(m, 10, 1, 2), GW_OK);
  assert_int_equal(gw_measures_feed(m, 5, 8, 2), GW_OK);
  assert_int_equal(gw_measures_feed(m, 11, 1, 40), GW_OK); /* phase 40: ignored */
  assert_int_equal(gw_measures_out_of_order(m), 1);
  assert_int_equal(gw_measures_ignored(m), 1);
  assert_int_equal(gw_measures_finish(m), GW_OK);
  assert_int_equal(gw_measures_feed(m, 12, 1, 2), GW_ESTATE);
  gw_measures_destroy(m);
  gw_detector_link bad = {3, 0};
  cfg.detectors = &bad;
  cfg.ndetectors = 1;
  assert_int_equal(gw_measures_create(&cfg, NULL, &m), GW_EINVAL);
  gw_measures_destroy(NULL);
}

/* ---- the reader --------------------------------------------------------- */

static void timestamps(void **state) {
  (void)state;
  double t;
  const char *ok[][2] = {{"2026-01-05 00:00:00", "0"},
                         {"2026-01-05 00:01:23.4", "83.4"},
                         {"2026-01-05T00:01:23.4", "83.4"},
                         {"2026-01-05T00:01:23.4Z", "83.4"},
                         {"\"2026-01-05 00:01:23.4\"", "83.4"},
                         {"  01/05/2026 00:01:23.4 ", "83.4"},
                         {"1/5/2026 0:01:23", "83"},
                         {"1/5/2026 12:00:00 AM", "0"},
                         {"1/5/2026 12:00:00.5 PM", "43200.5"},
                         {"1/5/2026 1:00:00 PM", "46800"},
                         {"2026-01-06 00:00:00.25", "86400.25"}};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    if (gw_time_parse(ok[i][0], strlen(ok[i][0]), &t)) fail_msg("refused '%s'", ok[i][0]);
    if (fabs(t - T0 - atof(ok[i][1])) > 1e-6) fail_msg("'%s' -> %f", ok[i][0], t - T0);
  }
  assert_int_equal(gw_time_parse("2024-02-29 00:00:00", 19, &t), GW_OK); /* leap year */
  const char *bad[] = {"2026-02-29 00:00:00", "2026-13-01 00:00:00",  "2026-01-05 24:00:00",
                       "2026-01-05",          "2026/01/05 00:00:00",  "2026-01-05 00:00:00.",
                       "13/01/2026 00:00:00", "1/5/2026 13:00:00 PM", "2026-01-05 00:00:00 x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (gw_time_parse(bad[i], strlen(bad[i]), &t) == GW_OK) fail_msg("accepted '%s'", bad[i]);
  char buf[32];
  gw_time_format(T0 + 83.4, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-05 00:01:23.4");
  gw_time_format(T0 - 0.1, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-04 23:59:59.9");
}

typedef struct seen {
  int n;
  gw_log_event e[16];
} seen;

static int keep(void *ud, const gw_log_event *e) {
  seen *s = ud;
  if (s->n < 16) s->e[s->n++] = *e;
  return 0;
}

static void reader_tolerance(void **state) {
  (void)state;
  char path[128], text[4096];
  temp_path(path, sizeof path, "tolerance");
  char longline[2100];
  memset(longline, 'x', sizeof longline - 1);
  longline[sizeof longline - 1] = 0;
  snprintf(text, sizeof text,
           "\xEF\xBB\xBF"
           "SignalID,Timestamp,EventCode,EventParam\n" /* 1 header */
           "S1,2026-01-05 00:00:01.5,1,2\n"            /* 2 */
           "\"S1\",\"2026-01-05T00:00:02.25\",8,2\n"   /* 3 quoted, T */
           "S1,01/05/2026 00:00:03.1,9,2\n"            /* 4 US date */
           "S1, 1/5/2026 12:00:04 AM ,10,2\n"          /* 5 12-hour */
           "\n"                                        /* 6 blank */
           "S1,2026-01-05 00:00:05,1\n"                /* 7 three fields */
           "S1,2026-13-05 00:00:05,1,2\n"              /* 8 month 13 */
           "S1,2026-01-05 00:00:05,x1,2\n"             /* 9 code */
           "S1,2026-01-05 00:00:05,77,2\n"             /* 10 unknown code */
           "S1,2026-01-05 00:00:05,1,-3\n"             /* 11 parameter */
           ",2026-01-05 00:00:05,1,2\n"                /* 12 no signal */
           "S2,2026-01-05 00:00:06.0,82,7\r\n"         /* 13 CRLF */
           "S1,2026-01-05T00:00:07Z,1,2\n"             /* 14 */
           "%s\n"                                      /* 15 too long */
           "S1,2026-01-05 00:00:08.0,82,3",            /* 16 no newline */
           longline);
  write_file(path, text);
  gw_eventlog *r;
  gw_error err;
  seen s = {0};
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  assert_int_equal(gw_eventlog_read(r, NULL, keep, &s, &err), GW_OK);
  const gw_eventlog_stats *st = gw_eventlog_stats_get(r);
  assert_int_equal(st->lines, 16);
  assert_int_equal(st->header, 1);
  assert_int_equal(st->events, 7);
  assert_int_equal(st->delivered, 7);
  static const struct {
    int reason;
    uint64_t line;
  } want[] = {{GW_EVLOG_BAD_COLUMNS, 7},   {GW_EVLOG_BAD_TIME, 8},   {GW_EVLOG_BAD_CODE, 9},
              {GW_EVLOG_UNKNOWN_CODE, 10}, {GW_EVLOG_BAD_PARAM, 11}, {GW_EVLOG_BAD_SIGNAL, 12},
              {GW_EVLOG_LONG_LINE, 15}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    assert_int_equal(st->bad[want[i].reason], 1);
    assert_int_equal(st->bad_lines[want[i].reason][0], want[i].line);
  }
  assert_int_equal(st->bad[GW_EVLOG_TOO_MANY_SIGNALS], 0);
  assert_int_equal(s.n, 7);
  NEAR(s.e[0].t, T0 + 1.5);
  NEAR(s.e[1].t, T0 + 2.25);
  NEAR(s.e[2].t, T0 + 3.1);
  NEAR(s.e[3].t, T0 + 4);
  assert_string_equal(s.e[4].signal, "S2");
  assert_int_equal(s.e[4].code, 82);
  assert_int_equal(s.e[4].param, 7);
  assert_int_equal(s.e[4].line, 13);
  assert_int_equal(s.e[6].code, 82);
  assert_int_equal(s.e[6].line, 16);
  assert_ptr_equal(s.e[0].signal, s.e[1].signal); /* interned */
  assert_ptr_equal(s.e[0].signal, s.e[6].signal);
  gw_eventlog_close(r);

  /* Filter: signal S1 in [2, 5) s: lines 3, 4 and 5. */
  memset(&s, 0, sizeof s);
  gw_eventlog_filter flt = {"S1", T0 + 2, T0 + 5};
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  assert_int_equal(gw_eventlog_read(r, &flt, keep, &s, &err), GW_OK);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.e[0].line, 3);
  assert_int_equal(s.e[2].line, 5);
  assert_int_equal(gw_eventlog_stats_get(r)->events, 7);
  assert_int_equal(gw_eventlog_stats_get(r)->delivered, 3);
  gw_eventlog_close(r);

  /* No header, columns in another order when a header names them, and
  ** only the first five line numbers kept. */
  write_file(path, "Timestamp,SignalID,EventParam,EventCode\n2026-01-05 00:00:01.0,S9,3,82\n");
  memset(&s, 0, sizeof s);
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  assert_int_equal(gw_eventlog_read(r, NULL, keep, &s, &err), GW_OK);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.e[0].signal, "S9");
  assert_int_equal(s.e[0].code, 82);
  assert_int_equal(s.e[0].param, 3);
  gw_eventlog_close(r);
  text[0] = 0;
  strcat(text, "S1,2026-01-05 00:00:01.0,1,2\n");
  for (int i = 0; i < 7; i++) strcat(text, "S1,2026-01-05 00:00:02.0,999,2\n");
  write_file(path, text);
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  assert_int_equal(gw_eventlog_read(r, NULL, NULL, NULL, &err), GW_OK);
  st = gw_eventlog_stats_get(r);
  assert_int_equal(st->header, 0);
  assert_int_equal(st->events, 1);
  assert_int_equal(st->bad[GW_EVLOG_UNKNOWN_CODE], 7);
  for (int k = 0; k < GW_EVLOG_FIRST_LINES; k++)
    assert_int_equal(st->bad_lines[GW_EVLOG_UNKNOWN_CODE][k], (uint64_t)k + 2);
  gw_eventlog_close(r);
  unlink(path);

  /* A missing file is an error with its name. */
  assert_int_equal(gw_eventlog_open("/nonexistent/x.csv", &r, &err), GW_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/x.csv"));
}

static void detector_map(void **state) {
  (void)state;
  char path[128];
  temp_path(path, sizeof path, "map");
  write_file(path, "SignalID,Detector,Phase\nS1,5,2\nS2,5,6\n\"S1\", 6 ,2\nS1,7,4\n");
  gw_detector_link *l;
  size_t n;
  gw_error err;
  assert_int_equal(gw_detector_map_read(path, "S1", &l, &n, &err), GW_OK);
  assert_int_equal(n, 3);
  assert_int_equal(l[1].detector, 6);
  assert_int_equal(l[1].phase, 2);
  assert_int_equal(l[2].phase, 4);
  gw_detector_map_free(l);
  write_file(path, "S1,5,2\nS1,five,2\n");
  assert_int_equal(gw_detector_map_read(path, "S1", &l, &n, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, ":2: expected SignalID,Detector,Phase"));
  write_file(path, "S1,5,33\n");
  assert_int_equal(gw_detector_map_read(path, "S1", &l, &n, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, ":1: "));
  unlink(path);
}

/* ---- approach delay, turning movements, pedestrian delay ----------------- */

typedef struct more {
  gw_delay_bin delays[16];
  size_t ndelays;
  gw_tmc_bin tmc[16];
  size_t ntmc;
  gw_ped_delay peds[16];
  size_t npeds;
} more;

static void on_delay(void *ud, const gw_delay_bin *b) {
  more *x = ud;
  if (x->ndelays < 16) x->delays[x->ndelays++] = *b;
}
static void on_tmc(void *ud, const gw_tmc_bin *b) {
  more *x = ud;
  if (x->ntmc < 16) x->tmc[x->ntmc++] = *b;
}
static void on_ped(void *ud, const gw_ped_delay *p) {
  more *x = ud;
  if (x->npeds < 16) x->peds[x->npeds++] = *p;
}

/* An engine with the given map and movements in 60 s bins, fed `rows`
** directly (s after T0). */
static gw_measures *run_more(const gw_detector_link *map, const int *moves, size_t nmap,
                             const row *rows, size_t n, more *x) {
  memset(x, 0, sizeof *x);
  gw_measures_config cfg = {map, nmap, 60, 0, 0, moves};
  gw_measures_sink_ext ext = {on_delay, on_tmc, on_ped, x};
  gw_measures *m;
  assert_int_equal(gw_measures_create(&cfg, NULL, &m), GW_OK);
  assert_int_equal(gw_measures_set_sink_ext(m, &ext), GW_OK);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(gw_measures_feed(m, T0 + rows[i].dt, rows[i].code, rows[i].param), GW_OK);
  assert_int_equal(gw_measures_finish(m), GW_OK);
  assert_int_equal(gw_measures_set_sink_ext(m, &ext), GW_ESTATE);
  return m;
}

/* Phase 2, detector 5, 60 s bins.  Green 0-20, yellow 20-23, red 23-70,
** green again at 70, yellow 90-93, red from 93 to the end of the log.
** Arrivals: 5 (green, 0 s), 22 (yellow, 0 s), 30 (red: waits to 70, 40 s),
** 50 (red, 20 s), 65 (red, 5 s), 75 (green, 0 s), 100 (red, never sees its
** green: unresolved).
**   bin [0, 60): 4 arrivals, 2 on red, 60 s: 15 s/veh;
**   bin [60, 120): 2 arrivals (65, 75), 1 on red, 5 s: 2.5 s/veh.
** Phase total: 6 arrivals, 3 on red, 65 s = 0.018056 veh-h, 10.833 s/veh,
** the longest wait 40 s, 1 unresolved. */
static void approach_delay(void **state) {
  (void)state;
  static const row log[] = {{0, 1, 2},   {5, 82, 5},  {6, 81, 5},  {20, 8, 2},  {22, 82, 5},
                            {23, 9, 2},  {30, 82, 5}, {31, 81, 5}, {50, 82, 5}, {51, 81, 5},
                            {65, 82, 5}, {66, 81, 5}, {70, 1, 2},  {75, 82, 5}, {90, 8, 2},
                            {93, 9, 2},  {100, 82, 5}};
  static const gw_detector_link map[] = {{5, 2}};
  more x;
  gw_measures *m = run_more(map, NULL, 1, log, sizeof log / sizeof *log, &x);
  assert_int_equal(x.ndelays, 2);
  assert_int_equal(x.delays[0].phase, 2);
  NEAR(x.delays[0].start_t, T0);
  assert_int_equal(x.delays[0].arrivals, 4);
  assert_int_equal(x.delays[0].arrivals_red, 2);
  NEAR(x.delays[0].delay_s, 60);
  NEAR(x.delays[0].avg_delay_s, 15);
  NEAR(x.delays[1].start_t, T0 + 60);
  assert_int_equal(x.delays[1].arrivals, 2);
  assert_int_equal(x.delays[1].arrivals_red, 1);
  NEAR(x.delays[1].delay_s, 5);
  NEAR(x.delays[1].avg_delay_s, 2.5);
  const gw_phase_summary *s = phase_of(m, 2);
  assert_int_equal(s->delay_arrivals, 6);
  assert_int_equal(s->delay_red_arrivals, 3);
  assert_int_equal(s->delay_unresolved, 1);
  NEAR(s->delay_s, 65);
  NEAR(s->avg_delay_s, 65.0 / 6);
  NEAR(s->max_delay_s, 40);
  assert_int_equal(x.ntmc, 0); /* no movements in the map */
  gw_measures_destroy(m);

  /* A red longer than the bins the engine holds open (8): the arrival at
  ** 15 s (bin 0) is still waiting when one comes in bin 9 (550 s), so it
  ** is given up (unresolved); the one at 550 waits 50 s for the green at
  ** 600.  Every bin is still emitted, in order. */
  static const row longred[] = {{0, 1, 2},   {5, 8, 2},    {8, 9, 2},
                                {15, 82, 5}, {550, 82, 5}, {600, 1, 2}};
  m = run_more(map, NULL, 1, longred, sizeof longred / sizeof *longred, &x);
  s = phase_of(m, 2);
  assert_int_equal(s->delay_unresolved, 1);
  assert_int_equal(s->delay_arrivals, 1);
  NEAR(s->delay_s, 50);
  assert_int_equal(x.ndelays, 11);
  for (size_t i = 0; i < x.ndelays; i++) NEAR(x.delays[i].start_t, T0 + 60.0 * (double)i);
  assert_int_equal(x.delays[9].arrivals, 1);
  NEAR(x.delays[9].delay_s, 50);
  gw_measures_destroy(m);
}

/* Lane-by-lane detectors with movements: phase 2 detector 5 (T) and 6
** (TR), phase 4 detector 7 (L) and 8 (no movement: not counted here).
** Ons: det 5 at 1, 2 and 70; det 6 at 3; det 7 at 65; det 8 at 4.
**   [0, 60): phase 2 T 2, TR 1; phase 4 L 0;
**   [60, 120): phase 2 T 1, TR 0; phase 4 L 1 (60 veh/h). */
static void turning_movement_counts(void **state) {
  (void)state;
  char path[128];
  temp_path(path, sizeof path, "tmc");
  /* Four columns, three, an empty movement and one in lower case. */
  write_file(path,
             "SignalID,Detector,Phase,Movement\nS1,5,2,T\nS1,6,2,rt\nS1,7,4,L\n"
             "S1,8,4,\nS2,5,2,TL\nS1,9,6\n");
  gw_detector_link *l;
  int *mv;
  size_t n;
  gw_error err;
  assert_int_equal(gw_detector_map_read_ex(path, "S1", &l, &mv, &n, &err), GW_OK);
  assert_int_equal(n, 5);
  assert_int_equal(mv[0], GW_MOVE_T);
  assert_int_equal(mv[1], GW_MOVE_T | GW_MOVE_R);
  assert_int_equal(mv[2], GW_MOVE_L);
  assert_int_equal(mv[3], 0);
  assert_int_equal(mv[4], 0);
  assert_string_equal(gw_movement_name(mv[1]), "TR");
  assert_string_equal(gw_movement_name(GW_MOVE_T | GW_MOVE_L), "TL");
  static const row log[] = {{1, 82, 5}, {1.5, 81, 5}, {2, 82, 5},  {2.5, 81, 5},
                            {3, 82, 6}, {4, 82, 8},   {65, 82, 7}, {70, 82, 5}};
  more x;
  gw_measures *m = run_more(l, mv, n, log, sizeof log / sizeof *log, &x);
  /* Per bin: phase 2 T, phase 2 TR, phase 4 L (mask order within a phase). */
  assert_int_equal(x.ntmc, 6);
  const int want[6][3] = {{2, GW_MOVE_T, 2}, {2, GW_MOVE_T | GW_MOVE_R, 1}, {4, GW_MOVE_L, 0},
                          {2, GW_MOVE_T, 1}, {2, GW_MOVE_T | GW_MOVE_R, 0}, {4, GW_MOVE_L, 1}};
  for (int i = 0; i < 6; i++) {
    assert_int_equal(x.tmc[i].phase, want[i][0]);
    assert_int_equal(x.tmc[i].movement, want[i][1]);
    assert_int_equal(x.tmc[i].count, want[i][2]);
    NEAR(x.tmc[i].start_t, T0 + (i < 3 ? 0 : 60));
  }
  NEAR(x.tmc[5].vph, 60);
  const gw_phase_summary *s2 = phase_of(m, 2), *s4 = phase_of(m, 4);
  assert_int_equal(s2->tmc[GW_MOVE_T], 3);
  assert_int_equal(s2->tmc[GW_MOVE_T | GW_MOVE_R], 1);
  assert_int_equal(s2->tmc_movements, (1u << GW_MOVE_T) | (1u << (GW_MOVE_T | GW_MOVE_R)));
  assert_int_equal(s4->tmc[GW_MOVE_L], 1);
  assert_int_equal(s4->detector_ons, 2); /* detector 8 counts in the volume */
  gw_measures_destroy(m);
  gw_detector_map_free(l);
  gw_detector_map_free(mv);

  /* A bad movement is an error naming the line and the form. */
  write_file(path, "S1,5,2,T\nS1,6,2,X\n");
  assert_int_equal(gw_detector_map_read_ex(path, "S1", &l, &mv, &n, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, ":2: expected SignalID,Detector,Phase[,Movement]"));
  write_file(path, "S1,5,2,TT\n");
  assert_int_equal(gw_detector_map_read(path, "S1", &l, &n, &err), GW_EPARSE);
  int move;
  assert_int_equal(gw_movement_parse("", 0, &move), GW_OK);
  assert_int_equal(move, 0);
  assert_int_equal(gw_movement_parse("LTR", 3, &move), GW_OK);
  assert_int_equal(move, 7);
  unlink(path);
}

/* Phase 2: a call (45) at 10 and a press (90) at 12 while it waits: one
** wait, served by the walk at 40 (30 s).  A press at 44 during the walk
** (40 to the clearance at 47) is not waiting.  A call at 60 is served at
** 100 (40 s); the walk at 200 had no call.  Phase 4: a press at 30 served
** at 35 (5 s).  Phase 6: a call at 300 that the log ends before serving.
** Phase 2: 3 walks, 2 calls, 2 presses, 2 delays, mean 35 s, max 40 s. */
static void pedestrian_delay(void **state) {
  (void)state;
  static const row log[] = {{10, 45, 2}, {12, 90, 2},  {30, 90, 4},  {35, 21, 4},
                            {40, 21, 2}, {44, 90, 2},  {47, 22, 2},  {55, 23, 2},
                            {60, 45, 2}, {100, 21, 2}, {200, 21, 2}, {300, 45, 6}};
  more x;
  gw_measures *m = run_more(NULL, NULL, 0, log, sizeof log / sizeof *log, &x);
  assert_int_equal(x.npeds, 3);
  assert_int_equal(x.peds[0].phase, 4);
  NEAR(x.peds[0].delay_s, 5);
  assert_int_equal(x.peds[1].phase, 2);
  NEAR(x.peds[1].call_t, T0 + 10);
  NEAR(x.peds[1].walk_t, T0 + 40);
  NEAR(x.peds[1].delay_s, 30);
  NEAR(x.peds[2].delay_s, 40);
  const gw_phase_summary *s2 = phase_of(m, 2), *s6 = phase_of(m, 6);
  assert_int_equal(s2->ped_walks, 3);
  assert_int_equal(s2->ped_calls, 2);
  assert_int_equal(s2->ped_presses, 2);
  assert_int_equal(s2->ped_delays, 2);
  NEAR(s2->ped_avg_delay_s, 35);
  NEAR(s2->ped_max_delay_s, 40);
  assert_int_equal(s2->ped_events, 9);
  assert_int_equal(s6->ped_calls, 1);
  assert_int_equal(s6->ped_delays, 0);
  NEAR(s6->ped_avg_delay_s, 0);
  gw_measures_destroy(m);

  /* Through the reader: the hand-made log has no pedestrian event. */
  collect c;
  hand_made(&c);
  const gw_phase_summary *s;
  size_t n;
  assert_int_equal(gw_measures_summary(c.m, &s, &n), GW_OK);
  for (size_t i = 0; i < n; i++) assert_int_equal(s[i].ped_events, 0);
  gw_measures_destroy(c.m);
}

/* ---- a million events in fixed memory ----------------------------------- */

/* Ten events per 60 s cycle of phase 1: green 0-20 (gap out), yellow
** 20-23, red clearance 23-25; detector 1 on at 5 (green) and at 40 (red).
** n cycles give n - 1 completed ones, each with one arrival on green and
** one on red: AOG 50 %, g/C 20/60, platoon ratio 1.5. */
static void write_big(const char *path, long ncycles) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  static const row cyc[10] = {{0, 1, 1},  {5, 82, 1},  {6, 81, 1},  {20, 4, 1},  {20, 8, 1},
                              {23, 9, 1}, {23, 10, 1}, {25, 11, 1}, {40, 82, 1}, {41, 81, 1}};
  for (long i = 0; i < ncycles; i++)
    for (int k = 0; k < 10; k++) {
      char ts[32];
      gw_time_format(T0 + (double)i * 60 + cyc[k].dt, ts, sizeof ts);
      fprintf(f, "G1,%s,%d,%d\n", ts, cyc[k].code, cyc[k].param);
    }
  assert_int_equal(fclose(f), 0);
}

static size_t read_big(const char *path, long ncycles) {
  static const gw_detector_link link = {1, 1};
  mem.peak = mem.live;
  size_t base = mem.live;
  collect x;
  run_measures(path, NULL, &link, 1, 0, &x);
  size_t peak = mem.peak - base;
  const gw_phase_summary *s = phase_of(x.m, 1);
  assert_int_equal(x.events, ncycles * 10);
  assert_int_equal(s->cycles, ncycles - 1);
  assert_int_equal(s->arrivals[GW_STATE_GREEN], ncycles - 1);
  assert_int_equal(s->arrivals[GW_STATE_RED], ncycles - 1);
  assert_int_equal(s->gap_outs, ncycles);
  assert_true(fabs(s->platoon_ratio - 1.5) < 1e-9);
  gw_measures_destroy(x.m);
  assert_int_equal(mem.live, base); /* nothing leaked */
  return peak;
}

static void million_events_in_fixed_memory(void **state) {
  (void)state;
  char path[128];
  temp_path(path, sizeof path, "big");
  write_big(path, 10000); /* 100 000 events */
  size_t small = read_big(path, 10000);
  write_big(path, 100000); /* 1 000 000 events */
  size_t big = read_big(path, 100000);
  unlink(path);
  /* The same peak for ten times the events, and small in absolute terms:
  ** the reader's buffer and intern table plus the engine. */
  assert_int_equal(big, small);
  assert_true(big < 256 * 1024);
}

/* ---- end to end: the fixed controller's log ----------------------------- */

typedef struct csv_out {
  FILE *f;
  const gw_net *net;
} csv_out;

static void write_event(void *ud, const gw_event *e) {
  csv_out *o = ud;
  char ts[32];
  gw_time_format(T0 + e->t, ts, sizeof ts);
  fprintf(o->f, "%s,%s,%d,%d\n", gw_net_tls_id(o->net, e->tls), ts, e->code, e->param);
}

/* grid4x4's B1 runs a 90 s program (33/3/6/3 twice).  Over 900 s the split
** monitor must see every phase cycle at 90 s, each green in [5, 60] s, and
** 900 / 90 cycles less the partial first and last ones: 8 or 9. */
static void split_monitor_on_the_fixed_controller(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/grid4x4/grid4x4.sumocfg", GW_SCENARIOS);
  gw_scenario *sc = NULL;
  gw_error err = {0, {0}};
  if (gw_scenario_load_sumocfg(path, &sc, &err)) fail_msg("%s", err.msg);
  gw_sim *sim;
  assert_int_equal(gw_sim_create(sc->net, sc->demand, NULL, &sim), GW_OK);
  gw_field field;
  gw_field_from_sim(sim, &field);
  char logp[128];
  temp_path(logp, sizeof logp, "e2e");
  csv_out o = {fopen(logp, "w"), sc->net};
  assert_non_null(o.f);
  fputs("SignalID,Timestamp,EventCode,EventParam\n", o.f);
  gw_control *ctl;
  if (gw_control_create(sc->net, &field, "fixed", write_event, &o, &ctl, &err))
    fail_msg("%s", err.msg);
  while (gw_sim_time(sim) < 900 && !gw_sim_done(sim)) {
    assert_int_equal(gw_control_step(ctl), GW_OK);
    assert_int_equal(gw_sim_step(sim), GW_OK);
  }
  gw_control_destroy(ctl);
  gw_sim_destroy(sim);
  gw_scenario_destroy(sc);
  assert_int_equal(fclose(o.f), 0);

  collect x;
  run_measures(logp, "B1", NULL, 0, 0, &x);
  unlink(logp);
  assert_true(x.ncycles >= 4 * 8 && x.ncycles <= 64);
  for (size_t i = 0; i < x.ncycles; i++) {
    const gw_cycle *c = &x.cycles[i];
    if (c->green_s < 5 || c->green_s > 60 || fabs(c->cycle_s - 90) > 0.5)
      fail_msg("phase %d at %.1f: green %.1f s, cycle %.1f s", c->phase, c->start_t - T0,
               c->green_s, c->cycle_s);
    assert_int_equal(c->termination, GW_TERM_NONE); /* fixed time: no gap/max/force */
  }
  const gw_phase_summary *s;
  size_t n;
  assert_int_equal(gw_measures_summary(x.m, &s, &n), GW_OK);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) assert_true(s[i].cycles >= 8 && s[i].cycles <= 10);
  /* The through greens: the program's 33 s each way less the 2 s all-red
  ** the monitor adds after the program's 3 s yellow, so 31 s; the left-turn
  ** groups run permissive beside them and on into their own 6 s stage,
  ** 31 + 3 + 6 = 40 s. */
  int through = 0, left = 0;
  for (size_t i = 0; i < n; i++) {
    double g = s[i].green_s / s[i].cycles;
    through += fabs(g - 31) < 0.5;
    left += fabs(g - 40) < 0.5;
  }
  assert_int_equal(through, 2);
  assert_int_equal(left, 2);
  gw_measures_destroy(x.m);
}

/* ---- detector health ---------------------------------------------------- */

typedef struct hcollect {
  gw_health *h;
  gw_health_finding f[32];
  size_t n;
} hcollect;

static void on_finding(void *ud, const gw_health_finding *f) {
  hcollect *x = ud;
  if (x->n < 32) x->f[x->n++] = *f;
}
static int hfeed(void *ud, const gw_log_event *e) {
  hcollect *x = ud;
  return gw_health_feed(x->h, e->t, e->code, e->param);
}

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  return (x->dt > y->dt) - (x->dt < y->dt);
}

/* A pulse of detector `det` from dt to dt + len; rows is grown by two. */
static void pulse(row *rows, size_t *n, int det, double dt, double len) {
  rows[(*n)++] = (row){dt, 82, det};
  rows[(*n)++] = (row){dt + len, 81, det};
}

static void run_health(const row *rows, size_t n, const gw_detector_link *links, size_t nlinks,
                       hcollect *x) {
  char path[128];
  temp_path(path, sizeof path, "health");
  write_log(path, "H1", rows, n);
  memset(x, 0, sizeof *x);
  gw_health_config cfg = {"H1", links, nlinks, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(gw_health_create(&cfg, on_finding, x, &x->h), GW_OK);
  gw_eventlog *r;
  gw_error err;
  assert_int_equal(gw_eventlog_open(path, &r, &err), GW_OK);
  gw_eventlog_filter flt = {"H1", -INFINITY, INFINITY};
  assert_int_equal(gw_eventlog_read(r, &flt, hfeed, x, &err), GW_OK);
  gw_eventlog_close(r);
  assert_int_equal(gw_health_finish(x->h), GW_OK);
  assert_int_equal(gw_health_finish(x->h), GW_ESTATE);
  gw_health_destroy(x->h);
  unlink(path);
}

static const gw_health_finding *finding_of(const hcollect *x, int det, int kind) {
  const gw_health_finding *found = NULL;
  for (size_t i = 0; i < x->n; i++)
    if (x->f[i].detector == det && x->f[i].kind == kind) {
      assert_null(found); /* exactly one */
      found = &x->f[i];
    }
  assert_non_null(found);
  return found;
}

/* One hour of a signal with default thresholds.  Phase 2 (1, 2, 3), phase 6
** (8, 9) and phase 8 (11) pulse every 20 s and are healthy.  Phase 4: 4 is
** on from 1001 to 1801 (800 s > 600: stuck on); 5 is silent from its off at
** 487 to its on at 2805 (2318 s > 1800 while the others count: no
** activity); 6 has 40 pulses of 0.1 s every 0.2 s from 1300 (40 > 30 in the
** window 1200-1500: chatter from 1300.0 to 1307.9); 7 pulses every 4 s (900
** counts, over 5 x the median 139 of 4, 5 and 6: high volume).  Detector 10
** of phase 6 pulses every 200 s: 18 counts, 0.1 x the median 180 of 8 and
** 9 (low volume); 12 is as sparse, but phase 8 has one other detector only,
** so it is not compared. */
static void detector_health(void **state) {
  (void)state;
  size_t cap = 8000, n = 0;
  row *rows = malloc(cap * sizeof *rows);
  assert_non_null(rows);
  for (int k = 0; k < 180; k++) {
    double base = 20.0 * k;
    for (int det = 1; det <= 3; det++) pulse(rows, &n, det, base + det, 2);
    pulse(rows, &n, 8, base + 8, 2);
    pulse(rows, &n, 9, base + 9, 2);
    pulse(rows, &n, 11, base + 11, 2);
    if (base + 4 < 1000 || base + 4 > 1820) pulse(rows, &n, 4, base + 4, 2);
    if (base + 5 < 500 || base + 5 > 2800) pulse(rows, &n, 5, base + 5, 2);
    if (base + 6 < 1290 || base + 6 > 1320) pulse(rows, &n, 6, base + 6, 2);
    if (k % 10 == 0) pulse(rows, &n, 10, base + 10, 2);
    if (k % 10 == 0) pulse(rows, &n, 12, base + 12, 2);
  }
  pulse(rows, &n, 4, 1001, 800);
  for (int i = 0; i < 40; i++) pulse(rows, &n, 6, 1300 + 0.2 * i, 0.1);
  for (int k = 0; k < 900; k++) pulse(rows, &n, 7, 4.0 * k + 0.5, 1);
  assert_true(n <= cap);
  qsort(rows, n, sizeof *rows, cmp_row);
  static const gw_detector_link links[] = {{1, 2}, {2, 2}, {3, 2}, {4, 4},  {5, 4},  {6, 4},
                                           {7, 4}, {8, 6}, {9, 6}, {10, 6}, {11, 8}, {12, 8}};
  hcollect x;
  run_health(rows, n, links, sizeof links / sizeof *links, &x);
  free(rows);
  assert_int_equal(x.n, 5); /* the healthy detectors report nothing */

  const gw_health_finding *f = finding_of(&x, 4, GW_HEALTH_STUCK_ON);
  assert_string_equal(f->signal, "H1");
  assert_true(fabs(f->start_t - (T0 + 1001)) <= 1e-3);
  assert_true(fabs(f->end_t - (T0 + 1801)) <= 1e-3);
  assert_true(fabs(f->value - (800)) <= 1e-3);

  f = finding_of(&x, 5, GW_HEALTH_NO_ACTIVITY);
  assert_true(fabs(f->start_t - (T0 + 487)) <= 1e-3);
  assert_true(fabs(f->end_t - (T0 + 2805)) <= 1e-3);
  assert_true(fabs(f->value - (2318)) <= 1e-3);

  f = finding_of(&x, 6, GW_HEALTH_CHATTER);
  assert_true(fabs(f->start_t - (T0 + 1300)) <= 1e-3);
  assert_true(fabs(f->end_t - (T0 + 1307.9)) <= 1e-3);
  assert_true(fabs(f->value - (40)) <= 1e-9);

  /* Counts: 4 has 50 before 1000, the long pulse and 89 after 1820 (140);
  ** 5 has 25 + 40 = 65; 6 has 178 + 40 = 218.  Median 140. */
  f = finding_of(&x, 7, GW_HEALTH_HIGH_VOLUME);
  assert_int_equal(f->phase, 4);
  assert_true(fabs(f->value - (900.0 / 140.0)) <= 1e-9);
  assert_true(fabs(f->start_t - (T0 + 0.5)) <= 1e-3);

  f = finding_of(&x, 10, GW_HEALTH_LOW_VOLUME);
  assert_int_equal(f->phase, 6);
  assert_true(fabs(f->value - (18.0 / 180.0)) <= 1e-9);
}

/* A night without traffic: the signal's last vehicles at 00:01, the first
** again at 01:23, lane 2 a few seconds before lane 1.  Nobody was silent
** while the others counted, so nothing is reported; and an 81 with no 82
** before it (the detector was on when the log began) is not stuck on. */
static void health_quiet_night(void **state) {
  (void)state;
  row rows[64];
  size_t n = 0;
  rows[n++] = (row){0, 81, 1};
  pulse(rows, &n, 1, 30, 1);
  pulse(rows, &n, 2, 40, 1);
  pulse(rows, &n, 1, 60, 1);
  rows[n++] = (row){2500, 1, 2}; /* a phase event in the quiet */
  pulse(rows, &n, 2, 5000, 1);
  pulse(rows, &n, 1, 5010, 1);
  pulse(rows, &n, 2, 5020, 1);
  static const gw_detector_link links[] = {{1, 2}, {2, 2}};
  hcollect x;
  run_health(rows, n, links, 2, &x);
  assert_int_equal(x.n, 0);
  gw_health_config bad = {"H1", NULL, 0, 0, 0, 0, 0, 0, 2, 1};
  gw_health *h;
  assert_int_equal(gw_health_create(&bad, NULL, NULL, &h), GW_EINVAL);
  assert_string_equal(gw_health_kind_name(GW_HEALTH_CHATTER), "chatter");
}

int main(void) {
  gw_set_allocator(counting_alloc, &mem);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(split_monitor),
      cmocka_unit_test(terminations),
      cmocka_unit_test(pcd_and_arrivals_on_green),
      cmocka_unit_test(split_failures),
      cmocka_unit_test(approach_volume),
      cmocka_unit_test(yellow_and_red_actuations),
      cmocka_unit_test(engine_edges),
      cmocka_unit_test(approach_delay),
      cmocka_unit_test(turning_movement_counts),
      cmocka_unit_test(pedestrian_delay),
      cmocka_unit_test(timestamps),
      cmocka_unit_test(reader_tolerance),
      cmocka_unit_test(detector_map),
      cmocka_unit_test(million_events_in_fixed_memory),
      cmocka_unit_test(split_monitor_on_the_fixed_controller),
      cmocka_unit_test(detector_health),
      cmocka_unit_test(health_quiet_night),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** measures.h -- signal performance measures (ATSPM) from a high-resolution
** controller event log.
**
** The *event log reader* streams a CSV log
** (SignalID,Timestamp,EventCode,EventParam) through a callback in fixed
** memory: a 64 KB read buffer and one interned copy of each signal id, so
** a log of any length is read in the same space.  Rows it cannot use are
** never fatal and never silently dropped: each is counted under a reason,
** with the first few line numbers kept for the message.  The *measures
** engine* is fed the events of one signal in time order and emits one
** record per completed phase cycle, per detector arrival, per volume,
** approach delay and turning movement bin and per pedestrian served through
** a sink, keeping only per-phase totals itself; docs/measures.md
** defines every number it produces.  The *detector health* checks read the
** same events and report stuck-on, silent, chattering and implausibly
** counting detectors, in fixed memory per detector.
**
** Times are seconds since 1970-01-01 00:00 of the log's own wall clock: no
** time zone is applied, so a timestamp and its formatted form round-trip.
*/
#ifndef GREENWAVE_MEASURES_H
#define GREENWAVE_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#include "greenwave/gw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- event log reader --------------------------------------------------- */

/* One event.  `signal` is interned: the same id always has the same
** pointer, valid until gw_eventlog_close. */
typedef struct gw_log_event {
  const char *signal;
  double t; /* s since the epoch of the log's wall clock */
  int code; /* Indiana enumeration (GW_EV_* in control.h) */
  int param;
  uint64_t line; /* line number in the file, from 1 */
} gw_log_event;

/* Why a row was not delivered. */
enum {
  GW_EVLOG_BAD_COLUMNS,      /* not exactly four fields */
  GW_EVLOG_BAD_SIGNAL,       /* empty signal id, or longer than 63 bytes */
  GW_EVLOG_BAD_TIME,         /* timestamp in none of the accepted forms */
  GW_EVLOG_BAD_CODE,         /* event code not an integer */
  GW_EVLOG_UNKNOWN_CODE,     /* an integer code outside the known set */
  GW_EVLOG_BAD_PARAM,        /* parameter not an integer in [0, 2^31) */
  GW_EVLOG_LONG_LINE,        /* line longer than the reader's line limit */
  GW_EVLOG_TOO_MANY_SIGNALS, /* more distinct signal ids than GW_EVLOG_MAX_SIGNALS */
  GW_EVLOG_NREASONS
};

#define GW_EVLOG_FIRST_LINES 5 /* line numbers kept per reason */
#define GW_EVLOG_MAX_SIGNALS 4096
#define GW_EVLOG_MAX_LINE 1024 /* bytes, newline excluded */

typedef struct gw_eventlog_stats {
  uint64_t lines;     /* lines read, header and blank lines included */
  uint64_t events;    /* well-formed rows */
  uint64_t delivered; /* rows that passed the filter and reached the callback */
  uint64_t bad[GW_EVLOG_NREASONS];
  uint64_t bad_lines[GW_EVLOG_NREASONS][GW_EVLOG_FIRST_LINES]; /* first lines, 0 = unused */
  int header;                                                  /* 1 when line 1 was a header */
} gw_eventlog_stats;

/* Which events reach the callback: signal NULL means every signal; the time
** range is [from_t, to_t), either bound may be +-INFINITY. */
typedef struct gw_eventlog_filter {
  const char *signal;
  double from_t, to_t;
} gw_eventlog_filter;

/* Called per delivered event; a non-zero return stops the read and is
** returned by gw_eventlog_read. */
typedef int (*gw_eventlog_fn)(void *ud, const gw_log_event *e);

typedef struct gw_eventlog gw_eventlog;

/* Opens `path` for reading ("-" reads standard input).  GW_EIO with a
** message when it cannot be opened. */
int gw_eventlog_open(const char *path, gw_eventlog **out, gw_error *err);
/* Reads to the end (or until fn returns non-zero), delivering events that
** pass `filter` (NULL: all).  GW_EIO on a read error; malformed rows are not
** errors, they are counted in the stats. */
int gw_eventlog_read(gw_eventlog *r, const gw_eventlog_filter *filter, gw_eventlog_fn fn, void *ud,
                     gw_error *err);
/* Borrowed until gw_eventlog_close. */
const gw_eventlog_stats *gw_eventlog_stats_get(const gw_eventlog *r);
void gw_eventlog_close(gw_eventlog *r);

/* A short description of a GW_EVLOG_* reason; never NULL. */
const char *gw_eventlog_reason(int reason);

/* Parses a timestamp: "YYYY-MM-DD HH:MM:SS[.f]", the same with 'T' (and an
** optional 'Z'), or "MM/DD/YYYY HH:MM:SS[.f]" (one-digit month, day and
** hour allowed, optional AM/PM); surrounding spaces and double quotes are
** ignored.  GW_EPARSE when it is none of these or out of range. */
int gw_time_parse(const char *s, size_t len, double *out);
/* Writes "YYYY-MM-DD HH:MM:SS.f" (0.1 s) into buf (at least 24 bytes). */
void gw_time_format(double t, char *buf, size_t len);

/* ---- detector map ------------------------------------------------------- */

/* Which phase a detector channel serves.  A detector may serve several
** phases (one row each). */
typedef struct gw_detector_link {
  int detector; /* channel number as logged in events 81/82 */
  int phase;
} gw_detector_link;

/* The movements a detector's lane serves, for turning movement counts: a
** mask of these bits, 0 when the map does not say.  A shared lane serves
** several (GW_MOVE_T | GW_MOVE_R is "TR"). */
enum { GW_MOVE_L = 1, GW_MOVE_T = 2, GW_MOVE_R = 4 };
#define GW_MOVE_N 8 /* masks 0..7 */

/* Reads a CSV map "SignalID,Detector,Phase[,Movement]" (header line
** optional; Movement L, T, R or a combination such as TR or TL, may be
** empty) and keeps the rows of `signal` in *out (free with
** gw_detector_map_free).  A malformed row is an error naming file, line and
** what was expected. */
int gw_detector_map_read(const char *path, const char *signal, gw_detector_link **out, size_t *n,
                         gw_error *err);
/* The same, with each row's movement (GW_MOVE_* mask, 0 when the row has
** none) in *movements, parallel to *out; free both with
** gw_detector_map_free. */
int gw_detector_map_read_ex(const char *path, const char *signal, gw_detector_link **out,
                            int **movements, size_t *n, gw_error *err);
void gw_detector_map_free(void *links);
/* The measures by name, as `greenwave measures --measure` and the API's
** `measure=` take them. */
enum {
  GW_MEASURE_SPLIT,
  GW_MEASURE_TERMINATIONS,
  GW_MEASURE_PCD,
  GW_MEASURE_AOG,
  GW_MEASURE_SPLITFAIL,
  GW_MEASURE_VOLUME,
  GW_MEASURE_REDYELLOW,
  GW_MEASURE_DELAY,
  GW_MEASURE_TMC,
  GW_MEASURE_PEDDELAY,
  GW_MEASURE_HEALTH,
  GW_MEASURE_N
};
/* "split", "terminations", ...; "" for an unknown number. */
const char *gw_measure_name(int measure);
/* The GW_MEASURE_* of a name, or -1. */
int gw_measure_from_name(const char *name);
/* Names of a gw_cycle's termination ("-", "gap out", "max out", "force
** off") and of a gw_arrival's state ("green", "yellow", "red"). */
const char *gw_termination_name(int termination);
const char *gw_arrival_state_name(int state);

/* "T", "L", "R", "TL", "TR", "LR", "TLR" for a GW_MOVE_* mask; "" for 0. */
const char *gw_movement_name(int movement);
/* Parses the letters L, T and R in any order (any case, each at most
** once) into a GW_MOVE_* mask; an empty string gives 0.  GW_EPARSE
** otherwise. */
int gw_movement_parse(const char *s, size_t len, int *out);

/* ---- measures ----------------------------------------------------------- */

#define GW_MEASURES_MAX_PHASE 32 /* phases 1..32 (Greenwave's signal groups) */
#define GW_MEASURES_MAX_DETECTORS 256

enum { GW_TERM_NONE, GW_TERM_GAP_OUT, GW_TERM_MAX_OUT, GW_TERM_FORCE_OFF };
enum { GW_STATE_GREEN, GW_STATE_YELLOW, GW_STATE_RED };

/* One completed phase cycle: from a begin green to the next begin green of
** the same phase. */
typedef struct gw_cycle {
  int phase;
  double start_t;               /* begin green */
  double green_s;               /* begin green to begin yellow */
  double yellow_s;              /* begin yellow to end yellow */
  double cycle_s;               /* begin green to the next begin green */
  int termination;              /* GW_TERM_*: the last gap out / max out / force off of the green */
  uint32_t arrivals[3];         /* detector-on events by GW_STATE_* */
  uint32_t redclear_actuations; /* the part of arrivals[RED] during red clearance */
  double green_occupancy;       /* share of the green a mapped detector was occupied; -1: none */
  double red_occupancy;         /* the same over the first red_window_s of red; -1: none */
  int split_failure;            /* both occupancies >= the threshold */
} gw_cycle;

/* One detector-on event of a detector mapped to `phase`, inside a cycle. */
typedef struct gw_arrival {
  int phase;
  double t;             /* the event's time */
  double cycle_start_t; /* begin green of the cycle it falls in */
  int state;            /* GW_STATE_* of the phase at t */
} gw_arrival;

typedef struct gw_volume_bin {
  int phase;
  double start_t; /* bin start, aligned to a multiple of bin_s since the epoch */
  double bin_s;
  uint32_t count; /* detector-on events of the phase's detectors */
  double vph;     /* count scaled to vehicles per hour */
} gw_volume_bin;

/* Approach delay of one phase in one bin (the bins of gw_volume_bin):
** the arrivals in the bin whose delay is known, and their delay.  An
** arrival on green or yellow is delayed 0 s, one on red until the next
** begin green of the phase. */
typedef struct gw_delay_bin {
  int phase;
  double start_t, bin_s;
  uint32_t arrivals;     /* arrivals of the bin with a known delay */
  uint32_t arrivals_red; /* of those on red */
  double delay_s;        /* their total delay, vehicle-seconds */
  double avg_delay_s;    /* delay_s / arrivals; 0 without arrivals */
} gw_delay_bin;

/* Turning movement count: detector-on events of the detectors of one
** phase and one movement (GW_MOVE_* mask) in one bin. */
typedef struct gw_tmc_bin {
  int phase;
  int movement;
  double start_t, bin_s;
  uint32_t count;
  double vph;
} gw_tmc_bin;

/* One pedestrian served: the first call (45) or push-button press (90) of
** a phase while no call waited, and the begin walk (21) that served it. */
typedef struct gw_ped_delay {
  int phase;
  double call_t, walk_t;
  double delay_s; /* walk_t - call_t */
} gw_ped_delay;

/* Where records go; any callback may be NULL.  Arrivals are emitted as they
** happen, so the arrivals of the last, unfinished cycle of a log are
** emitted although that cycle never is. */
typedef struct gw_measures_sink {
  void (*cycle)(void *ud, const gw_cycle *c);
  void (*arrival)(void *ud, const gw_arrival *a);
  void (*volume)(void *ud, const gw_volume_bin *b);
  void *ud;
} gw_measures_sink;

/* Where the approach delay, turning movement and pedestrian records go
** (gw_measures_set_sink_ext); any callback may be NULL.  Delay bins of
** different phases may come out of time order (a bin goes out once the red
** arrivals in it have met their green); each phase's come in order. */
typedef struct gw_measures_sink_ext {
  void (*delay)(void *ud, const gw_delay_bin *b);
  void (*tmc)(void *ud, const gw_tmc_bin *b);
  void (*ped)(void *ud, const gw_ped_delay *p);
  void *ud;
} gw_measures_sink_ext;

typedef struct gw_measures_config {
  const gw_detector_link *detectors; /* copied; may be NULL */
  size_t ndetectors;                 /* at most GW_MEASURES_MAX_DETECTORS */
  double bin_s;                      /* volume bin; 0: 900 */
  double red_window_s;               /* split failure red window; 0: 5 */
  double fail_threshold;             /* split failure occupancy; 0: 0.79 */
  const int *movements;              /* GW_MOVE_* per detector row, parallel; may be NULL */
} gw_measures_config;

/* Totals of one phase over its completed cycles (events counted directly
** where noted). */
typedef struct gw_phase_summary {
  int phase;
  uint32_t cycles;
  double green_s, cycle_s;                 /* sums over the cycles */
  double min_green_s, max_green_s;         /* over the cycles */
  uint64_t gap_outs, max_outs, force_offs; /* events 4/5/6, all of them */
  uint32_t terminated[4];                  /* cycles by GW_TERM_* */
  uint64_t arrivals[3];                    /* by GW_STATE_* */
  uint64_t redclear_actuations;
  uint32_t occupancy_cycles; /* cycles with both occupancies measured */
  uint32_t split_failures;
  uint64_t detector_ons; /* every detector-on of the phase's detectors, all of them */
  double aog_pct;        /* 100 * arrivals on green / arrivals; 0 without arrivals */
  double green_share;    /* green_s / cycle_s */
  double platoon_ratio;  /* (aog_pct / 100) / green_share; 0 when undefined */
  /* Approach delay: every arrival inside a cycle whose delay is known. */
  uint64_t delay_arrivals, delay_red_arrivals;
  uint64_t delay_unresolved; /* arrivals on red whose green never came in range */
  double delay_s;            /* vehicle-seconds */
  double avg_delay_s;        /* delay_s / delay_arrivals; 0 without arrivals */
  double max_delay_s;        /* the longest wait of one vehicle */
  /* Turning movement counts: detector-ons by GW_MOVE_* mask. */
  uint32_t tmc_movements; /* bit m: a detector of movement mask m is mapped */
  uint64_t tmc[GW_MOVE_N];
  /* Pedestrians (events 21-23, 45, 89, 90 of the phase). */
  uint64_t ped_events;
  uint64_t ped_walks, ped_calls, ped_presses; /* events 21, 45 and 90 */
  uint64_t ped_delays;                        /* calls served by a walk */
  double ped_delay_s, ped_avg_delay_s, ped_max_delay_s;
} gw_phase_summary;

typedef struct gw_measures gw_measures;

/* GW_EINVAL for a detector link outside the limits or a bad parameter. */
int gw_measures_create(const gw_measures_config *cfg, const gw_measures_sink *sink,
                       gw_measures **out);
/* Sets the sink of the approach delay, turning movement and pedestrian
** records; call before the first feed.  GW_ESTATE after it. */
int gw_measures_set_sink_ext(gw_measures *m, const gw_measures_sink_ext *sink);
/* Feeds one event of the signal.  Events must come in time order; an
** earlier one is counted (gw_measures_out_of_order) and ignored. */
int gw_measures_feed(gw_measures *m, double t, int code, int param);
/* Emits the last volume bin and fills the summaries.  Call once at the end. */
int gw_measures_finish(gw_measures *m);
/* The phases seen, in phase order, after gw_measures_finish; borrowed until
** gw_measures_destroy. */
int gw_measures_summary(const gw_measures *m, const gw_phase_summary **out, size_t *n);
uint64_t gw_measures_out_of_order(const gw_measures *m);
/* Events that could not be used: a phase outside 1..GW_MEASURES_MAX_PHASE,
** or a cycle whose begin yellow is missing from the log. */
uint64_t gw_measures_ignored(const gw_measures *m);
void gw_measures_destroy(gw_measures *m);

/* ---- detector health ---------------------------------------------------- */

/* What a health finding says about a detector; docs/measures.md defines
** each. */
enum {
  GW_HEALTH_STUCK_ON,    /* on without interruption for longer than stuck_on_s */
  GW_HEALTH_NO_ACTIVITY, /* off and silent for longer than no_activity_s while others counted */
  GW_HEALTH_CHATTER,     /* more than chatter_count short pulses per chatter window */
  GW_HEALTH_LOW_VOLUME,  /* count below low_ratio x the median of its phase's other detectors */
  GW_HEALTH_HIGH_VOLUME, /* count above high_ratio x that median */
  GW_HEALTH_NKINDS
};

/* One finding.  `value` depends on the kind: seconds on (stuck on),
** seconds silent (no activity), short pulses (chatter), count / median of
** the other detectors of the phase (volume). */
typedef struct gw_health_finding {
  const char *signal; /* the config's signal pointer, borrowed */
  int detector;       /* channel number as logged */
  int phase;          /* the phase compared against (volume kinds); 0 otherwise */
  int kind;           /* GW_HEALTH_* */
  double start_t, end_t;
  double value;
} gw_health_finding;

/* Called once per finding, as soon as its end is known. */
typedef void (*gw_health_fn)(void *ud, const gw_health_finding *f);

/* Thresholds; a zero field takes the default given after it. */
typedef struct gw_health_config {
  const char *signal;                /* copied into findings as is; may be NULL */
  const gw_detector_link *detectors; /* copied; may be NULL (no volume check) */
  size_t ndetectors;                 /* at most GW_MEASURES_MAX_DETECTORS */
  double stuck_on_s;                 /* 0: 600 */
  double no_activity_s;              /* 0: 1800 */
  double chatter_min_s;              /* a pulse or gap this short is short; 0: 0.1 */
  uint32_t chatter_count;            /* more short pulses than this per window; 0: 30 */
  double chatter_window_s;           /* clock-aligned window; 0: 300 */
  double low_ratio, high_ratio;      /* 0: 0.2 and 5 */
} gw_health_config;

typedef struct gw_health gw_health;

/* GW_EINVAL for a bad threshold (negative, low_ratio >= high_ratio) or a
** detector link outside the limits. */
int gw_health_create(const gw_health_config *cfg, gw_health_fn fn, void *ud, gw_health **out);
/* Feeds one event of the signal; only 81 and 82 are looked at, but every
** event widens the observed range (first to last event fed).  Events must
** come in time order; an earlier one is counted and ignored. */
int gw_health_feed(gw_health *h, double t, int code, int param);
/* Reports what is still open at the end of the range and the volume
** checks.  Call once at the end; GW_ESTATE on a second call. */
int gw_health_finish(gw_health *h);
/* Live mode, for a control centre: `fn` is also called when a stuck-on,
** no-activity or chatter condition *starts* (what GW_HEALTH_STARTED; the
** finding's end_t is the time it was found, value as far as known) and when
** it *clears* (GW_HEALTH_CLEARED; end_t the time it cleared): stuck on once
** a pulse has lasted stuck_on_s and still lasts, cleared by its 81; no
** activity once silent for no_activity_s while another detector counted
** within the last no_activity_s, cleared by its next 82; chatter as soon as
** the current window holds more than chatter_count short pulses, cleared
** once a whole window has passed without.  The batch callback still gets
** every finding when its end is known.  Call before the first feed.  An
** other detector's events and gw_health_tick move the clock, so a live
** user calls gw_health_tick (say once a second) to find a detector stuck
** in a quiet spell. */
enum { GW_HEALTH_STARTED, GW_HEALTH_CLEARED };
typedef void (*gw_health_live_fn)(void *ud, int what, const gw_health_finding *f);
int gw_health_set_live(gw_health *h, gw_health_live_fn fn, void *ud);
/* Checks every detector's live conditions at time t (no event); a t
** before the last event is ignored.  GW_ESTATE after gw_health_finish. */
int gw_health_tick(gw_health *h, double t);
uint64_t gw_health_out_of_order(const gw_health *h);
/* Detector events of channels beyond the first GW_MEASURES_MAX_DETECTORS. */
uint64_t gw_health_ignored(const gw_health *h);
void gw_health_destroy(gw_health *h);
/* "stuck_on", "no_activity", "chatter", "low_volume", "high_volume"; never
** NULL. */
const char *gw_health_kind_name(int kind);

#ifdef __cplusplus
}
#endif
#endif

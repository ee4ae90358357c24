/*
** centre.h -- the live control centre: one field (the built-in simulator
** running a city, or SUMO), every intersection's controller under its safety
** monitor, the clock loop that paces them, and what the loop publishes.
**
** Threads.  gw_centre_start runs the clock loop on a thread of its own: each
** step of field time it applies queued operator commands, steps the control
** loop and the field, hands events and detector aggregates to a writer
** thread through a bounded queue (a slow database never stalls the loop; what
** does not fit is counted as dropped) and publishes a snapshot of the live
** state.  Every other function here may be called from any thread.
**
** Snapshots are immutable, reference-counted JSON texts: the loop makes a new
** one each step, readers take a reference and release it when sent.
*/
#ifndef GW_SERVER_CENTRE_H
#define GW_SERVER_CENTRE_H

#include <stddef.h>
#include <stdint.h>

#include "greenwave/gw.h"
#include "greenwave/store.h"

typedef struct gw_centre gw_centre;

/* An immutable text shared between threads. */
typedef struct gw_blob {
  int refs; /* atomic */
  size_t len;
  char data[]; /* NUL-terminated */
} gw_blob;
gw_blob *gw_blob_new(const char *data, size_t len);
gw_blob *gw_blob_ref(gw_blob *b);
void gw_blob_unref(gw_blob *b);

typedef struct gw_centre_opts {
  const char *city;     /* "phnom-penh": cities/<city>/<city>.sumocfg under data_dir */
  const char *scenario; /* a .sumocfg instead of a city */
  const char *field;    /* "sim" (default) or "sumo" */
  const char *data_dir; /* where cities/ is; default: the build's source dir */
  const char *db_url;   /* the store; the centre opens its own connections */
  double speed;         /* field seconds per wall second; <= 0: as fast as possible */
  double start_s;       /* field time to start at (seconds after midnight); < 0: the
                        ** wall clock's time of day */
  double end_s;         /* stop the loop at this field time; < 0: never (the demand
                        ** of a day repeats from midnight) */
  double warmup_s;      /* run the field this long before start_s, unpaced, so that the
                        ** city is not empty at the start; default 0 */
  double epoch_day;     /* epoch s of the field's midnight; 0: today's local midnight */
  void (*on_alarm)(void *ud, const char *json);  /* every alarm raised; may be NULL */
  void (*on_state)(void *ud, gw_blob *snapshot); /* each published snapshot; may be NULL */
  void *ud;
} gw_centre_opts;
void gw_centre_opts_init(gw_centre_opts *o);

/* Loads the city or scenario, opens the store, registers every intersection
** in it and restores each one's mode and active plan from the store. */
int gw_centre_create(const gw_centre_opts *o, gw_centre **out, gw_error *err);
int gw_centre_start(gw_centre *c, gw_error *err);
/* Stops the loop (at the end of its current step) and flushes the writer. */
void gw_centre_stop(gw_centre *c);
void gw_centre_destroy(gw_centre *c);
/* 1 once the loop has stopped by itself (end_s reached, or a fatal error). */
int gw_centre_finished(const gw_centre *c);

/* The latest live state (a new reference; NULL before the first step):
** {"t": field s, "epoch": s, "speed": x, "vehicles": n, "arrived": n,
**  "mean_delay_s": x, "throughput_vph": x, "alarms_open": n,
**  "intersections": [{"id", "state" (lamp string), "stage", "target",
**     "mode", "mode_param", "plan_version", "failsafe", "transition",
**     "groups": [{"lamp": "r|y|g", "since_s", "queue", "occupancy"}]}],
**  "loop": {"steps", "missed_deadlines", "max_step_ms", "cpu_share",
**     "events_dropped", "frames_dropped"}} */
gw_blob *gw_centre_state(gw_centre *c);
/* The live state of one intersection as above, or NULL when unknown. */
gw_blob *gw_centre_intersection_state(gw_centre *c, const char *id);
/* The static network for the map, made once: {"bounds": [x0,y0,x1,y1],
** "lanes": [{"id","edge","shape": [[x,y],...],"width"}], "intersections":
** [{"id","name","x","y","signalised"}]}. */
gw_blob *gw_centre_network(gw_centre *c);
/* One intersection's configuration: {"id","name","x","y","nlinks",
** "groups": [{"index","links","min_green_s","yellow_s","approach"}],
** "allred_s": [[...]], "conflict": [[...]], "stages": [{"index","green":
** [groups], "minor": [groups], "green_s","min_s","max_s"}], "cycle_s",
** "offset_s", "detectors": [{"id","group","lane"}]}; NULL when unknown. */
gw_blob *gw_centre_intersection_config(gw_centre *c, const char *id);
uint32_t gw_centre_intersection_count(const gw_centre *c);

/* Plans.  A plan body is JSON {"cycle_s", "offset_s", "splits_s": [one per
** stage: its green plus the change interval after it]}.  Validation checks
** it against the intersection's safety rules: every split leaves each of
** the stage's groups at least its minimum green after the yellow and all-red
** of the change that follows, the splits add up to the cycle, the offset lies
** in [0, cycle).  On failure `why` says which rule and which stage. */
int gw_centre_plan_validate(gw_centre *c, const char *id, const char *body_json, char *why,
                            size_t why_len);

/* Operator commands, applied by the loop at its next step (they return once
** queued; the store has already been written by the caller).  Modes:
** "fixed" (param: plan body JSON, or NULL/"" for the network's own program),
** "actuated", "adaptive", "maxpressure" (param: controller parameters or
** NULL), "hold" (param: the stage number to hold, 0-based), "flash".
** GW_ENOTFOUND for an unknown intersection, GW_EINVAL with `why` for a bad
** mode or parameter. */
int gw_centre_set_mode(gw_centre *c, const char *id, const char *mode, const char *param, char *why,
                       size_t why_len);
/* The same checks without queueing anything: the API validates, writes the
** store, then sets the mode. */
int gw_centre_mode_validate(gw_centre *c, const char *id, const char *mode, const char *param,
                            char *why, size_t why_len);

/* Detectors.  gw_centre_detectors: the intersection's detectors as JSON
** [{"id","channel","group","phase","lane","status": "ok"|"failed",
** "reason": null|"stuck_on"|"no_activity"|"chatter"|"operator","since":
** epoch|null}], NULL when unknown.  gw_centre_detector_set takes a detector
** out of control (failed 1, reason "operator") or puts it back (0) at the
** loop's next step; `intersection` gets its intersection's id and
** *was_failed its state before.  GW_ENOTFOUND for an unknown detector. */
gw_blob *gw_centre_detectors(gw_centre *c, const char *intersection_id);
int gw_centre_detector_set(gw_centre *c, const char *detector_id, int failed, char *intersection,
                           size_t len, int *was_failed);

typedef struct gw_centre_stats {
  double t;
  uint64_t steps, missed_deadlines, events_written, events_dropped, frames_dropped;
  uint64_t alarms_raised;
  double max_step_ms, cpu_share; /* share of one core used by the loop, last minute */
} gw_centre_stats;
void gw_centre_stats_get(gw_centre *c, gw_centre_stats *out);
/* Counts a frame a slow client missed (for the snapshot's frames_dropped). */
void gw_centre_count_dropped_frame(gw_centre *c);

#endif

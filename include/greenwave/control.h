/*
** control.h -- signal control: the signal model of an intersection, the
** safety monitor, controllers and the high-resolution event log.
**
** Layering.  A controller never sets lamps.  Each step it looks at a
** gw_ctl_view (detectors, queues, what the lamps show) and asks for a
** *stage*: a set of signal groups to be green.  The safety monitor owns the
** lamps of its intersection and moves them towards the requested stage only
** through safe transitions: minimum greens are served, every green ends with
** the full yellow, every conflicting green waits for the all-red of the
** intergreen matrix, and two conflicting groups are never green or yellow
** together (a permissive 'g' may run beside the green it yields to).  The
** field (simulator, SUMO, a cabinet) receives only the monitor's states.
**
** Terms.  A *signal group* is a set of links (SUMO link indices) that always
** show the same colour; groups are derived from the intersection's program.
** A *stage* is a set of groups shown green together, each as 'G' (protected)
** or 'g' (permissive, yields); stages are the green phases of the program.
** Event codes follow the Indiana high-resolution enumerations; the phase
** parameter is the signal group number (index + 1).
*/
#ifndef GREENWAVE_CONTROL_H
#define GREENWAVE_CONTROL_H

#include <stdint.h>

#include "greenwave/gw.h"
#include "greenwave/net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_MAX_GROUPS 32
#define GW_MAX_STAGES 32

/* ---- signal model ------------------------------------------------------- */

/* Conflict between two groups. */
enum {
  GW_CONFLICT_NONE = 0,  /* may be green together */
  GW_CONFLICT_HARD = 1,  /* never green or yellow together */
  GW_CONFLICT_YIELDS = 2 /* the row group may show 'g' while the column group is green */
};

typedef struct gw_signal_group {
  uint32_t nlinks;
  uint32_t links[32];          /* link indices of the signal (positions in the state string) */
  uint32_t net_links[32];      /* the same links as indices into the net's links */
  double min_green_s;          /* default 5 */
  double max_green_s;          /* default 60; used by controllers, not by the monitor */
  double yellow_s;             /* default: the program's yellow, else 3 */
  double speed_mps;            /* approach speed limit */
  uint32_t nin, in_lanes[8];   /* approach (normal) lanes */
  uint32_t nout, out_lanes[8]; /* exit (normal) lanes */
  /* The approach beyond its lanes: where an approach lane is only a short
  ** turn bay fed through an unsignalised split (where the road widens), the
  ** lanes feeding it; one that feeds several groups' bays is each one's. */
  uint32_t nup, up_lanes[8];
} gw_signal_group;

typedef struct gw_stage {
  uint64_t green;      /* bit g: group g is green in this stage */
  uint64_t minor;      /* bit g: group g shows 'g' (permissive), else 'G' */
  double green_s;      /* the program's duration of this green phase */
  double min_s, max_s; /* the program's minDur/maxDur, or defaults */
} gw_stage;

typedef struct gw_signal_model {
  uint32_t tls;    /* index of the signal in the net */
  const char *id;  /* borrowed from the net */
  uint32_t nlinks; /* length of the state string */
  uint32_t ngroups;
  gw_signal_group groups[GW_MAX_GROUPS];
  uint8_t group_of_link[256];
  uint8_t conflict[GW_MAX_GROUPS][GW_MAX_GROUPS]; /* GW_CONFLICT_* */
  double allred_s[GW_MAX_GROUPS][GW_MAX_GROUPS];  /* end of yellow of row to green of column */
  uint32_t nstages;
  gw_stage stages[GW_MAX_STAGES];
  double cycle_s;  /* the program's cycle */
  double offset_s; /* the program's offset */
  double lost_s;   /* yellow + all-red per stage change, program's average */
} gw_signal_model;

/* Derives groups, conflicts, intergreens and stages for signal `tls` from
** the net and its active program.  Defaults: yellow from the program (else
** 3 s), all-red from the time to clear the junction, (internal path + 5 m) /
** approach speed, rounded up to 0.5 s and capped at 3 s, for hard conflicts
** and 0 where one group yields. */
int gw_signal_model_init(gw_signal_model *m, const gw_net *net, uint32_t tls, gw_error *err);

/* Sets every group's minimum green, yellow and (for hard conflicts) all-red;
** a negative value keeps the derived one.  GW_ERANGE for values outside
** [0, 120], [2, 10] and [0, 10] s. */
int gw_signal_model_override(gw_signal_model *m, double min_green_s, double yellow_s,
                             double allred_s);

/* Replaces the derived all-reds by those of the net's active program of the
** model's signal (the program the model was made from): for
** each hard-conflicting pair the program sequences directly, the time its
** phases leave between the end of the one's yellow and the other's green;
** for the others, the shortest such time anywhere in the program (0 when
** the program runs no all-red, as netconvert's default programs).  Yellow
** times already come from the program. */
void gw_signal_model_program_clearance(gw_signal_model *m, const gw_net *net);

/* Lamp string (one char per link) for a stage at full green. */
void gw_signal_model_stage_state(const gw_signal_model *m, uint32_t stage, char *out);

/* ---- events ------------------------------------------------------------- */

enum {
  GW_EV_PHASE_ON = 0,
  GW_EV_BEGIN_GREEN = 1,
  GW_EV_MIN_COMPLETE = 3,
  GW_EV_GAP_OUT = 4,
  GW_EV_MAX_OUT = 5,
  GW_EV_FORCE_OFF = 6,
  GW_EV_GREEN_TERMINATION = 7,
  GW_EV_BEGIN_YELLOW = 8,
  GW_EV_END_YELLOW = 9,
  GW_EV_BEGIN_RED_CLEAR = 10,
  GW_EV_END_RED_CLEAR = 11,
  GW_EV_PHASE_INACTIVE = 12,
  GW_EV_DETECTOR_OFF = 81,
  GW_EV_DETECTOR_ON = 82,
  GW_EV_PATTERN_CHANGE = 131,
  GW_EV_CYCLE_CHANGE = 132,
  GW_EV_OFFSET_CHANGE = 133,
  GW_EV_SPLIT_CHANGE = 134, /* + phase - 1, up to 149 */
  /* Greenwave's own, outside the Indiana range used by others. */
  GW_EV_REQUEST_REFUSED = 900, /* param: requested stage */
  GW_EV_FAILSAFE = 901         /* param: 1 field mismatch, 2 controller failure,
                               ** 3 controller over its time budget */
};

typedef struct gw_event {
  uint32_t tls; /* signal index in the net */
  double t;     /* s, recorded to 0.1 s */
  int code;
  int param;
} gw_event;
typedef void (*gw_event_fn)(void *ud, const gw_event *e);

/* ---- safety monitor ----------------------------------------------------- */

typedef struct gw_monitor gw_monitor;

/* Colour of a group as the monitor drives it. */
enum { GW_LAMP_RED, GW_LAMP_GREEN, GW_LAMP_YELLOW };

/* The model is copied; events go to `fn` (may be NULL).  The monitor starts
** in stage `initial` at time t, as if it had been green for its minimum. */
int gw_monitor_create(const gw_signal_model *m, uint32_t initial, double t, gw_event_fn fn,
                      void *ud, gw_monitor **out);
void gw_monitor_destroy(gw_monitor *mon);

/* Asks for a stage.  Returns GW_OK when accepted (the monitor will get there
** as soon as it is safe), GW_ERANGE for an unknown stage (refused, logged as
** GW_EV_REQUEST_REFUSED), GW_ESTATE during fail-safe (ignored; the
** fail-safe sequence runs to its end).  A new request replaces an unfinished
** one. */
int gw_monitor_request(gw_monitor *mon, uint32_t stage, double t);
/* Advances the lamps to time t (call once per step, t increasing) and
** returns the lamp string, borrowed until the next call. */
const char *gw_monitor_step(gw_monitor *mon, double t);

/* What the field shows.  A state the monitor did not grant puts the
** intersection in fail-safe: every green ends (after its minimum, through
** its yellow), all red until every group has served the longest all-red,
** then the first stage; an alarm event is written and 1 returned. */
int gw_monitor_check_field(gw_monitor *mon, const char *field_state, double t);

/* Flash on: greens end safely, then every link shows 'o' (flashing
** yellow, all movements yield) once all-red has been served.  Off: all red
** at once, then the requested stage after its all-red.  Requests made
** meanwhile are kept for when flash ends. */
int gw_monitor_flash(gw_monitor *mon, int on, double t);

typedef struct gw_monitor_status {
  uint32_t stage;              /* the stage shown or being moved to */
  uint32_t target;             /* the requested stage */
  int in_transition;           /* 1 while changing stages */
  double stage_since_t;        /* when the current stage's greens all started */
  int failsafe;                /* 1 in fail-safe */
  int flash;                   /* 1 going to flash, 2 flashing */
  uint8_t lamp[GW_MAX_GROUPS]; /* GW_LAMP_* */
  double lamp_since_t[GW_MAX_GROUPS];
  uint64_t refused; /* refused requests so far */
} gw_monitor_status;
/* Fills the status; lamp[] and lamp_since_t[] only for the model's groups. */
void gw_monitor_status_get(const gw_monitor *mon, gw_monitor_status *out);

/* An independent, slow checker of a lamp sequence, for tests and for
** auditing field logs: feed every state with its time; returns 0 while all
** rules hold, else a negative code with `why` describing the first breach. */
typedef struct gw_safety_checker gw_safety_checker;
int gw_safety_checker_create(const gw_signal_model *m, gw_safety_checker **out);
int gw_safety_checker_feed(gw_safety_checker *c, double t, const char *state, char *why,
                           size_t why_len);
void gw_safety_checker_destroy(gw_safety_checker *c);

/* ---- controllers -------------------------------------------------------- */

/* Controllers: fixed (cycle, splits, offset, time-of-day schedule), actuated
** (min/max green, passage time, gap-out/max-out, phase skipping), maxpressure,
** adaptive (degree of saturation, Webster), each in src/control/<name>.c.
** docs/control.md lists their parameters. */

/* What a controller sees of its intersection each step. */
typedef struct gw_ctl_view {
  double t, dt;
  const gw_signal_model *model;
  const gw_monitor_status *status;
  /* Per group (index as in the model): */
  const double *queue;         /* halting vehicles (< 0.1 m/s) on its approach lanes */
  const double *count;         /* vehicles on its approach lanes */
  const double *out_queue;     /* halting vehicles on its exit lanes */
  const double *out_count;     /* vehicles on its exit lanes */
  const double *arrivals;      /* vehicles that crossed its detectors in this step */
  const double *occupancy;     /* share of the step its detectors were occupied, 0..1 */
  const double *gap_s;         /* time since its detectors were last occupied */
  const uint8_t *has_detector; /* 1 when the group has at least one detector */
  /* Where a controller reports its own events (gap out, max out, plan
  ** changes); may be NULL. */
  gw_event_fn emit;
  void *emit_ud;
} gw_ctl_view;

typedef struct gw_controller gw_controller;

/* Parameters "key=value,key=value" as given after NAME: on the command line. */
int gw_controller_create(const char *spec, const gw_signal_model *m, const gw_net *net,
                         gw_controller **out, gw_error *err);
/* Returns the stage to ask for now (the current one to keep it). */
int gw_controller_step(gw_controller *c, const gw_ctl_view *view, uint32_t *stage);
void gw_controller_destroy(gw_controller *c);
const char *gw_controller_name(const gw_controller *c);
/* Names of all controllers, NULL-terminated. */
const char *const *gw_controller_names(void);

/* ---- coordination ------------------------------------------------------- */

/* A green wave: a common cycle, splits by Webster from the demand's flows,
** and offsets that maximise the progression of the flows between adjacent
** signals (each pair's green windows overlap as much as the travel time
** allows, weighted by the vehicles that drive from one to the other).
** Flows come from the demand's routes over its departure period: the plan a
** traffic engineer would make from counts. */
typedef struct gw_demand gw_demand;
typedef struct gw_coord_plan {
  uint32_t nsignals;
  double cycle_s;
  double *offset_s;     /* per signal */
  double *split_s;      /* per signal, GW_MAX_STAGES each: green + change interval */
  uint32_t *nstages;    /* per signal */
  uint32_t *main_stage; /* per signal: the stage with the longest split */
  double objective;     /* weighted overlap achieved, vehicle-seconds per cycle */
} gw_coord_plan;

/* cycle_s <= 0: Webster's cycle of the busiest signal, clamped to [60, 120].
** The plan is freed with gw_coord_plan_free. */
int gw_coordination_plan(const gw_net *net, const gw_demand *demand, double cycle_s,
                         gw_coord_plan *out, gw_error *err);
void gw_coord_plan_free(gw_coord_plan *p);
/* Writes "cycle=..,offset=..,splits=a/b/.." for signal i into buf (the fixed
** controller's parameters). */
void gw_coord_plan_params(const gw_coord_plan *p, uint32_t i, char *buf, size_t len);
/* Writes "coord=1,cycle=..,offset=..,cstage=.." for signal i: the adaptive
** controller holding the main stage's start where the plan puts it. */
void gw_coord_plan_adaptive_params(const gw_coord_plan *p, uint32_t i, char *buf, size_t len);

/* ---- the control loop --------------------------------------------------- */

/* Runs one controller per signal of the net against a field, each under its
** safety monitor.  `spec` is "NAME[:key=value,...]" for every signal; the
** keys mingreen, yellow and allred (seconds) override the signal model's
** derived times for every controller.  Call gw_control_step before each step
** of the field. */
typedef struct gw_field gw_field;
typedef struct gw_control gw_control;
int gw_control_create(const gw_net *net, gw_field *field, const char *spec, gw_event_fn fn,
                      void *ud, gw_control **out, gw_error *err);
/* The same with one spec per signal (specs[i] for signal i). */
int gw_control_create_each(const gw_net *net, gw_field *field, const char *const *specs,
                           gw_event_fn fn, void *ud, gw_control **out, gw_error *err);
int gw_control_step(gw_control *c);
void gw_control_destroy(gw_control *c);

/* The detectors the control loop gave to the groups of signal `tls`: up to
** `max` pairs, det[i] the field's detector index and group[i] the group
** index; *n gets the number written.  The event log numbers detectors
** det + 1 and phases group + 1. */
int gw_control_detectors(const gw_control *c, uint32_t tls, uint32_t max, uint32_t *det,
                         uint32_t *group, uint32_t *n);

/* Takes a failed detector out of control (failed 1) or puts it back (0).
** `det` is the field's detector index as gw_control_detectors reports it.
** A failed detector gives its groups no arrivals, occupancy or gap and
** logs no detector events; a group whose detectors have all failed reads as
** having none (has_detector 0), and its controller falls back: actuated
** puts it on maximum recall, adaptive gives it its program split,
** maxpressure takes it as discharging.  Takes effect at the next
** gw_control_step.  GW_ENOTFOUND when no group uses the detector. */
int gw_control_detector_set_failed(gw_control *c, uint32_t det, int failed);
/* 1 when `det` is marked failed. */
int gw_control_detector_failed(const gw_control *c, uint32_t det);

typedef struct gw_control_stats {
  uint64_t steps;
  uint64_t refused;   /* requests the monitors refused */
  uint64_t failsafes; /* intersections sent to fail-safe */
  uint64_t overruns;  /* controllers that overran the step budget */
  double wall_s;      /* time spent in gw_control_step */
} gw_control_stats;
void gw_control_stats_get(const gw_control *c, gw_control_stats *out);

/* Operator commands, for the control centre.  Each takes effect at the next
** gw_control_step and goes through the monitor like any request.
** set_controller replaces signal tls's controller (spec as for create;
** NULL or "": the program's fixed plan) and clears a fall-back; hold keeps
** the given stage (its controller rests; stage < 0 releases); flash turns
** flashing yellow on or off (gw_monitor_flash). */
int gw_control_set_controller(gw_control *c, uint32_t tls, const char *spec, gw_error *err);

/* GW_ESTATE, naming the key, when a spec sets mingreen, yellow, allred or
** clearance: those shape the signal model under the safety monitor and are
** taken only when the control loop starts, so set_controller refuses them;
** other errors of the spec as gw_controller_create. */
int gw_controller_check_runtime(const char *spec, gw_error *err);
int gw_control_hold(gw_control *c, uint32_t tls, int stage);
int gw_control_flash(gw_control *c, uint32_t tls, int on);
/* A controller step that takes longer than budget_s of wall time sends its
** intersection to the fixed plan (event GW_EV_FAILSAFE, param 3); 0: no
** limit (the default: simulations must not depend on the machine). */
void gw_control_set_budget(gw_control *c, double budget_s);

/* What one intersection is doing, for display. */
typedef struct gw_control_node {
  const gw_signal_model *model;
  const char *controller; /* its controller's name */
  int hold, flash, on_fixed;
  gw_monitor_status status;
  const char *state; /* the lamps last sent */
  double occupancy[GW_MAX_GROUPS], arrivals[GW_MAX_GROUPS];
} gw_control_node;
int gw_control_node_get(const gw_control *c, uint32_t tls, gw_control_node *out);

#ifdef __cplusplus
}
#endif
#endif

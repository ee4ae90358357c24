/*
** controller_int.h -- what every controller file implements, and the
** parameter helpers they share.
**
** A controller is a file with one gw_controller_type: init reads its
** parameters and the intersection's model, step looks at the view and names
** the stage it wants, fini frees.  The registry in controller.c lists them;
** adding a controller is adding a file and a line there.  Controllers keep
** all their state in their own struct: no globals, so any number of
** intersections run side by side.
*/
#ifndef GW_CONTROL_CONTROLLER_INT_H
#define GW_CONTROL_CONTROLLER_INT_H

#include <math.h>

#include "greenwave/control.h"

#define GW_CTL_MAX_PARAMS 32

typedef struct gw_ctl_params {
  int n;
  char key[GW_CTL_MAX_PARAMS][32];
  char val[GW_CTL_MAX_PARAMS][96];
  uint8_t used[GW_CTL_MAX_PARAMS];
} gw_ctl_params;

/* Reads a number parameter; absent: dflt.  Out of [lo, hi] or not a
** number: GW_EINVAL with a message naming the controller and key. */
int gw__ctl_param_double(gw_ctl_params *p, const char *ctl, const char *key, double dflt, double lo,
                         double hi, double *out, gw_error *err);
/* A string parameter, borrowed from p; absent: dflt. */
const char *gw__ctl_param_str(gw_ctl_params *p, const char *key, const char *dflt);

typedef struct gw_controller_type {
  const char *name;
  const char *summary; /* one line for --help */
  int (*init)(void **state, const gw_signal_model *m, const gw_net *net, gw_ctl_params *p,
              gw_error *err);
  int (*step)(void *state, const gw_ctl_view *v, uint32_t *stage);
  void (*fini)(void *state);
  int ignores_lanes; /* 1: never reads queue/count arrays (not filled then);
                     ** 2: reads them only for groups without a working detector;
                     ** 3: as 2, plus the queue on the turn groups' own lanes */
  int ignores_exits; /* 1: never reads out_queue/out_count (not filled then) */
} gw_controller_type;

/* 1 when the controller never reads the lane counts of its view. */
int gw__controller_ignores_lanes(const gw_controller *c);
int gw__controller_ignores_exits(const gw_controller *c);
/* 1 when it may read count/out_count (vehicles on the lanes), not only the
** queues (vehicles halted).  0: the control loop leaves those at zero and
** asks the field for halted counts alone (SUMO pays per value read).  Asked
** every step, so the reading follows a controller swapped at run time. */
int gw__controller_needs_counts(const gw_controller *c);
/* 0 when the controller reads no detector (arrivals, occupancy, gap): fixed,
** fixedtime and mp-waiting; the control loop then reads no loop for it
** unless it writes an event log. */
int gw__controller_reads_detectors(const gw_controller *c);
/* maxpressure's state: 1 with use_count=1 (pressure on vehicle counts). */
int gw__maxpressure_uses_counts(const void *state);

extern const gw_controller_type gw__ctl_fixed;
extern const gw_controller_type gw__ctl_actuated;
extern const gw_controller_type gw__ctl_maxpressure;
extern const gw_controller_type gw__ctl_adaptive;
/* The CityFlow literature's baselines (cityflow_baselines.c, sotl.c). */
extern const gw_controller_type gw__ctl_fixedtime;
extern const gw_controller_type gw__ctl_mp_waiting;
extern const gw_controller_type gw__ctl_sotl;

/* Applies the spec's mingreen, yellow, allred and clearance keys to the model. */
int gw__ctl_model_overrides(const char *spec, gw_signal_model *m, const gw_net *net, gw_error *err);

/* Reading a view safely: a missing array or a value that is not finite
** counts as zero; a missing or broken gap counts as a long one. */
static inline double gw__ctl_val(const double *a, uint32_t g) {
  if (!a) return 0;
  return isfinite(a[g]) ? a[g] : 0;
}
static inline double gw__ctl_gap(const gw_ctl_view *v, uint32_t g) {
  if (!v->gap_s || !isfinite(v->gap_s[g])) return 1e9;
  return v->gap_s[g] < 0 ? 0 : v->gap_s[g];
}
static inline int gw__ctl_detected(const gw_ctl_view *v, uint32_t g) {
  return v->has_detector && v->has_detector[g];
}

/* Emits a controller event if the view has a sink. */
void gw__ctl_emit(const gw_ctl_view *v, int code, int param);

#endif

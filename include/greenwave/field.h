/*
** field.h -- one interface to whatever carries out signal control: the
** built-in simulator, SUMO over TraCI, later a real controller cabinet.
**
** A field reports lane occupancy and detector readings and takes lamp
** states for the intersections it has handed over to Greenwave.  Control
** code (src/control) talks only to this interface, so the same controllers
** run against every kind of field.
*/
#ifndef GREENWAVE_FIELD_H
#define GREENWAVE_FIELD_H

#include <stdint.h>

#include "greenwave/gw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An induction loop over the last step. */
typedef struct gw_detector_reading {
  uint32_t count;         /* vehicles whose front crossed it during the step */
  double occupancy;       /* share of the step it was occupied, 0..1 */
  int occupied;           /* occupied at the end of the step */
  double last_occupied_t; /* last time it was occupied; negative: never */
} gw_detector_reading;

typedef struct gw_field_ops {
  const char *kind; /* "sim", "sumo", ... */
  double (*time)(void *impl);
  /* Vehicles on a lane, and those of them below 0.1 m/s. */
  int (*lane_counts)(void *impl, uint32_t lane, double *vehicles, double *halting);
  /* Detectors are the net's (gw_net_detector_count); a field may add its own
  ** loops with add_detector (NULL when it cannot) and returns their index. */
  uint32_t (*detector_count)(void *impl);
  uint32_t (*detector_lane)(void *impl, uint32_t det);
  int (*detector)(void *impl, uint32_t det, gw_detector_reading *out);
  int (*add_detector)(void *impl, uint32_t lane, double pos_m, uint32_t *det);
  /* Takes over signal `tls` (the field stops running its own program), sets
  ** its lamps, and reads back what the field shows. */
  int (*take_control)(void *impl, uint32_t tls);
  int (*set_state)(void *impl, uint32_t tls, const char *state);
  const char *(*get_state)(void *impl, uint32_t tls);
} gw_field_ops;

struct gw_field {
  const gw_field_ops *ops;
  void *impl;
};
typedef struct gw_field gw_field;

/* The built-in simulator as a field; `out` borrows the simulator. */
typedef struct gw_sim gw_sim;
void gw_field_from_sim(gw_sim *sim, gw_field *out);

#ifdef __cplusplus
}
#endif
#endif

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
  /* Vehicles on a lane, and those of them below 0.1 m/s.  `vehicles` may
  ** be NULL: the halted count only, which is all a field that pays per
  ** value read (SUMO) is then asked for. */
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
  /* Optional bulk reads (NULL when a field has none), for the control loop's
  ** every-step pass: per-lane vehicle and halted counts, and every
  ** detector's reading, as arrays borrowed until the next step. */
  int (*lane_arrays)(void *impl, const uint32_t **vehicles, const uint32_t **halting);
  int (*detector_array)(void *impl, const gw_detector_reading **readings);
} gw_field_ops;

struct gw_field {
  const gw_field_ops *ops;
  void *impl;
};
typedef struct gw_field gw_field;

/* The built-in simulator as a field; `out` borrows the simulator. */
typedef struct gw_sim gw_sim;
void gw_field_from_sim(gw_sim *sim, gw_field *out);

/* ---- SUMO over TraCI ------------------------------------------------------
**
** gw_field_sumo_open starts `sumo -c CFG --remote-port P` (or connects to a
** SUMO already listening) and drives it step by step: each
** gw_field_sumo_step sends the lamp states set since the last step and
** advances SUMO by one step; every signal's state and the lanes and loops
** read so far come back with the same reply (a lane or loop is subscribed
** when first read, which costs one extra round trip once; a lane read for
** its halted count alone is subscribed for that alone, and costs one more
** round trip the first time its vehicle count is asked for).  `net` must be
** the scenario's net, loaded with the same detector file that SUMO gets, so
** that the net's detector ids ("e1_<lane>") name SUMO's loops.  Normal lanes
** only: lane_counts of an internal lane is GW_ENOTFOUND.  The field borrows
** `net`; close it before destroying the net.  Errors (SUMO gone, a refused
** command, a malformed reply, no reply within the timeout) come back as
** GW_EIO or GW_EPARSE with err naming the command; after one, every later
** step returns the same error. */
typedef struct gw_net gw_net;
typedef struct gw_sumo_options {
  const char *binary;            /* NULL: "sumo", looked up in PATH */
  const char *const *additional; /* NULL-terminated additional files for SUMO, or NULL */
  const char *tripinfo_path;     /* SUMO's --tripinfo-output; NULL: none */
  const char *log_path;          /* SUMO's stdout and stderr; NULL: a temporary file,
                                 ** removed on close */
  int launch;                    /* 1 (default): start SUMO; 0: connect to one already
                                 ** listening on 127.0.0.1:port (sumocfg is unused) */
  int port;                      /* 0 (default): a free port; needed with launch 0 */
  double connect_timeout_s;      /* how long SUMO may take to accept; default 10 */
  double reply_timeout_s;        /* the longest wait for one reply; default 60 */
} gw_sumo_options;
void gw_sumo_options_defaults(gw_sumo_options *o);

typedef struct gw_sumo_stats {
  uint64_t steps;
  uint64_t round_trips; /* messages sent and answered */
  uint64_t bytes_sent, bytes_received;
  double traci_wall_s; /* time waiting for replies, SUMO's step included */
  /* Sums of SUMO's per-step counts. */
  uint64_t departed, arrived, teleports, collisions;
  uint64_t veh_steps, peak_running; /* running: departed minus arrived */
  uint32_t lanes_read, loops_read;  /* lanes and loops subscribed (those read) */
  uint32_t lanes_counted;           /* of lanes_read, those whose vehicle count was read
                                    ** too (the others: the halted count alone) */
  /* From SUMO's duration log, known after close; negative when not found. */
  double sumo_duration_s; /* its simulation loop, TraCI included */
  double sumo_traci_s;    /* its share spent in TraCI */
  int exit_status;        /* after close: SUMO's exit code, 128 + signal when
                          ** killed, -1 when unknown or not launched */
} gw_sumo_stats;

int gw_field_sumo_open(const gw_net *net, const char *sumocfg, const gw_sumo_options *opt,
                       gw_field *out, gw_error *err);
/* Sends the queued lamp states and advances SUMO one step. */
int gw_field_sumo_step(gw_field *f, gw_error *err);
/* 1 once SUMO expects no more vehicles (all have arrived). */
int gw_field_sumo_done(const gw_field *f);
void gw_field_sumo_stats(const gw_field *f, gw_sumo_stats *out);
/* The process id of the SUMO this field started; -1 when none. */
long gw_field_sumo_pid(const gw_field *f);
/* Says goodbye (CMD_CLOSE, SUMO then writes its outputs), waits for SUMO to
** exit, reaps it and frees the field; `stats` (may be NULL) gets the final
** figures.  Always frees; returns an error when SUMO did not close cleanly.
** A field already closed (impl NULL) is a no-op. */
int gw_field_sumo_close(gw_field *f, gw_sumo_stats *stats, gw_error *err);

#ifdef __cplusplus
}
#endif
#endif

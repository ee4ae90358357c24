/*
** net.h -- the road network model (gw_net) and how to load one.
**
** A gw_net is built once by an importer and is immutable afterwards: the
** simulator, the controllers and the server all read the same object.  It
** holds junctions, edges (directed roads) and their lanes, the lane-to-lane
** links through junctions with their internal lanes and right-of-way
** relations, traffic-light programs and detectors.
**
** Objects are addressed by dense indices (0..count-1); ids ("B1",
** "A0B0_1") are resolved once with gw_net_find_*.  Strings and arrays
** returned here are borrowed from the net and live as long as it does.
*/
#ifndef GREENWAVE_NET_H
#define GREENWAVE_NET_H

#include <stdint.h>

#include "greenwave/gw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_NONE UINT32_MAX

typedef struct gw_net gw_net;

/* Vehicle classes, as a bit mask in lane permissions. */
enum {
  GW_VC_PASSENGER = 1u << 0,
  GW_VC_MOTORCYCLE = 1u << 1,
  GW_VC_BUS = 1u << 2,
  GW_VC_TRUCK = 1u << 3,
  GW_VC_BICYCLE = 1u << 4,
  GW_VC_PEDESTRIAN = 1u << 5,
  GW_VC_EMERGENCY = 1u << 6,
  GW_VC_TAXI = 1u << 7,
  GW_VC_DELIVERY = 1u << 8,
  GW_VC_OTHER = 1u << 9,
  GW_VC_ALL = 0x3ffu
};
/* Parses one SUMO vClass name ("passenger", "motorcycle", ...); returns
** its bit or 0 when unknown. */
uint32_t gw_vclass_parse(const char *name);
const char *gw_vclass_name(uint32_t bit);

enum gw_junction_type {
  GW_JUNCTION_PRIORITY,
  GW_JUNCTION_TRAFFIC_LIGHT,
  GW_JUNCTION_RIGHT_BEFORE_LEFT,
  GW_JUNCTION_ALLWAY_STOP,
  GW_JUNCTION_DEAD_END,
  GW_JUNCTION_INTERNAL,
  GW_JUNCTION_OTHER
};

/* Signal program kinds as read from files.  The simulator runs `static`
** programs itself; other kinds are run by controllers (see control.h). */
enum gw_tl_type { GW_TL_STATIC, GW_TL_ACTUATED, GW_TL_DELAY_BASED, GW_TL_OTHER };

/* Loading.  Each returns GW_OK or a negative code with err->msg naming the
** file, line and what was expected. */
int gw_net_load_sumo(const char *path, gw_net **out, gw_error *err);
/* Adds tlLogic programs (the last one loaded becomes active for its signal,
** as in SUMO) and E1 detectors from a SUMO additional file. */
int gw_net_load_sumo_additional(gw_net *net, const char *path, gw_error *err);
void gw_net_destroy(gw_net *net);

/* Counts. */
uint32_t gw_net_junction_count(const gw_net *net);
uint32_t gw_net_edge_count(const gw_net *net); /* normal and internal */
uint32_t gw_net_lane_count(const gw_net *net); /* normal and internal */
uint32_t gw_net_link_count(const gw_net *net);
uint32_t gw_net_tls_count(const gw_net *net);
uint32_t gw_net_detector_count(const gw_net *net);

/* Lookup by id; GW_NONE when absent. */
uint32_t gw_net_find_junction(const gw_net *net, const char *id);
uint32_t gw_net_find_edge(const gw_net *net, const char *id);
uint32_t gw_net_find_lane(const gw_net *net, const char *id);
uint32_t gw_net_find_tls(const gw_net *net, const char *id);

/* A read-only view of a lane, for drawing and tests. */
typedef struct gw_lane_info {
  const char *id;
  uint32_t edge;
  uint32_t index; /* 0 is the rightmost lane */
  double length_m;
  double speed_mps;    /* speed limit */
  uint32_t allow;      /* GW_VC_* mask */
  int internal;        /* 1 for a lane inside a junction */
  const double *shape; /* x0,y0,x1,y1,... in metres */
  uint32_t shape_points;
} gw_lane_info;
int gw_net_lane_info(const gw_net *net, uint32_t lane, gw_lane_info *out);

typedef struct gw_link_info {
  uint32_t from_lane, to_lane; /* normal lanes */
  uint32_t via[2];             /* internal lanes, GW_NONE when absent */
  uint32_t junction;
  uint32_t tls;     /* GW_NONE when unsignalised */
  int tls_index;    /* index into the signal's state string, or -1 */
  char dir;         /* s, r, l, t, L, R */
  char state;       /* static state: M, m, O, o, =, s, ... */
  uint32_t n_yield; /* links this one yields to at its stop line */
  const uint32_t *yield;
  uint32_t n_foes; /* links it conflicts with at all */
  const uint32_t *foes;
} gw_link_info;
int gw_net_link_info(const gw_net *net, uint32_t link, gw_link_info *out);
/* Outgoing links of a lane. */
uint32_t gw_net_lane_links(const gw_net *net, uint32_t lane, const uint32_t **links);

const char *gw_net_junction_id(const gw_net *net, uint32_t j);
/* The junction's display name (SUMO's `name` attribute), or NULL. */
const char *gw_net_junction_name(const gw_net *net, uint32_t j);
const char *gw_net_edge_id(const gw_net *net, uint32_t e);
const char *gw_net_tls_id(const gw_net *net, uint32_t t);
/* The active program of a signal: phases with their state strings. */
uint32_t gw_net_tls_phase_count(const gw_net *net, uint32_t t);
int gw_net_tls_phase(const gw_net *net, uint32_t t, uint32_t phase, double *duration_s,
                     const char **state);
double gw_net_tls_offset(const gw_net *net, uint32_t t);

#ifdef __cplusplus
}
#endif
#endif

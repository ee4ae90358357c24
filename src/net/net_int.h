/*
** net_int.h -- the layout of gw_net, shared by the importers that build it
** and the simulator that reads it in its hot loop.
**
** Everything is an array indexed by a dense uint32_t; relations between
** objects are indices, never pointers, so a net is position independent and
** cheap to walk.  Variable-length relations (a lane's outgoing links, a
** link's foes) are (offset, count) slices of the shared `refs` array.
** Importers fill the vectors, then call gw__net_finish(), which resolves the
** raw right-of-way strings into link slices and checks consistency.  After
** that the net is never written again.
*/
#ifndef GW_NET_INT_H
#define GW_NET_INT_H

#include <stdint.h>

#include "core/hash.h"
#include "core/vec.h"
#include "greenwave/net.h"

typedef struct gw_junction {
  char *id;
  char *name;              /* the network's display name, or NULL */
  double x, y;
  uint8_t type;            /* enum gw_junction_type */
  uint32_t tls;            /* GW_NONE if not signalised */
  uint32_t req_off, req_n; /* links by request index: refs[req_off + k], GW_NONE if unused */
  /* Raw right-of-way as read, resolved by gw__net_finish. */
  char *int_lanes;         /* space-separated intLanes */
  char **response, **foes; /* per request index, may be NULL */
  uint8_t *cont;
  uint32_t n_raw;
} gw_junction;

typedef struct gw_edge {
  char *id;
  uint32_t from, to;      /* junctions; GW_NONE for internal edges */
  uint32_t lane0, nlanes; /* lanes are contiguous, by index */
  int priority;
  uint8_t internal;
} gw_edge;

typedef struct gw_lane {
  char *id;
  uint32_t edge;
  uint32_t index;
  double length_m, speed_mps, width_m;
  uint32_t allow;              /* GW_VC_* mask */
  uint32_t shape_off, shape_n; /* points[2*shape_off ...] */
  uint32_t out_off, out_n;     /* outgoing links (normal lanes only) in refs */
  uint32_t link;               /* internal lanes: the link it carries, else GW_NONE */
  uint8_t internal;
} gw_lane;

typedef struct gw_link {
  uint32_t from_lane, to_lane; /* normal lanes */
  uint32_t via[2];             /* internal lanes; via[1] follows an internal junction */
  uint32_t junction;
  int32_t req_index; /* index in the junction's requests, -1 if none */
  uint32_t tls;      /* GW_NONE if unsignalised */
  int32_t tls_index;
  char dir, state;
  uint8_t cont;                /* waits inside the junction (left turn on 'g') */
  double length_m;             /* total length of the internal lanes */
  uint32_t yield_off, yield_n; /* links to yield to at the stop line */
  uint32_t foe_off, foe_n;     /* links in conflict at all */
  uint32_t ij_off, ij_n;       /* links to yield to at the internal junction */
} gw_link;

typedef struct gw_phase {
  double duration_s, min_s, max_s;
  uint32_t state_off; /* chars[state_off .. state_off + nlinks) */
} gw_phase;

typedef struct gw_tlprogram {
  char *id;
  uint8_t type; /* enum gw_tl_type */
  double offset_s, cycle_s;
  uint32_t phase0, nphases;
} gw_tlprogram;

typedef struct gw_tls {
  char *id;
  uint32_t nlinks;           /* length of each state string */
  uint32_t active;           /* program index in net->programs */
  uint32_t prog_off, prog_n; /* programs of this signal, in refs */
} gw_tls;

typedef struct gw_detector {
  char *id;
  uint32_t lane;
  double pos_m, period_s;
} gw_detector;

struct gw_net {
  GW_VEC(gw_junction) junctions;
  GW_VEC(gw_edge) edges;
  GW_VEC(gw_lane) lanes;
  GW_VEC(gw_link) links;
  GW_VEC(gw_tls) tls;
  GW_VEC(gw_tlprogram) programs;
  GW_VEC(gw_phase) phases;
  GW_VEC(gw_detector) detectors;
  GW_VEC(uint32_t) refs;
  GW_VEC(double) points;
  GW_VEC(char) chars;
  gw_strmap junction_ids, edge_ids, lane_ids, tls_ids;
  double bounds[4]; /* xmin, ymin, xmax, ymax */
  int finished;
};

int gw__net_create(gw_net **out);
/* Resolves right-of-way strings into link slices; idempotent for the parts
** already resolved.  `name` appears in error messages. */
int gw__net_finish(gw_net *net, const char *name, gw_error *err);
/* Appends a tls program (phases already pushed from phase0) and makes it
** active; re-resolves signal references. */
int gw__net_tls_program_add(gw_net *net, uint32_t tls, uint32_t prog);

static inline const char *gw__net_state(const gw_net *net, const gw_phase *ph) {
  return net->chars.a + ph->state_off;
}

#endif

/*
** sumo_routes.c -- the SUMO .rou.xml importer and the gw_demand container.
**
** Reads <vType>, <route>, <vehicle> (with an embedded or referenced route)
** and <flow> (expanded here into vehicles, deterministically), validating
** every route against the network: each edge must exist, be a normal edge,
** and be reachable from the previous one through some lane link.  Routing
** of <trip>s (origin/destination only) is not done here; such files are
** rejected with a message that says so.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/vec.h"
#include "core/xml.h"
#include "greenwave/demand.h"
#include "net/net_int.h"

typedef struct route_rec {
  uint32_t off, n; /* into d->edges */
} route_rec;

typedef struct trip_rec {
  gw_trip t;      /* t.route is set by gw_demand_finish */
  uint32_t route; /* index into routes */
  uint32_t seq;   /* load order, for a stable sort */
} trip_rec;

struct gw_demand {
  GW_VEC(gw_vtype) types;
  GW_VEC(trip_rec) trips;
  GW_VEC(route_rec) routes;
  GW_VEC(uint32_t) edges;
  GW_VEC(char *) strings; /* every owned id */
  gw_strmap type_ids, route_ids;
  int finished;
};

void gw_vtype_defaults(gw_vtype *t, uint32_t vclass) {
  memset(t, 0, sizeof *t);
  t->vclass = vclass;
  t->min_gap_m = 2.5;
  t->sigma = 0.5;
  t->tau_s = 1.0;
  t->speed_factor = 1.0;
  t->speed_dev = 0.1;
  switch (vclass) {
    case GW_VC_MOTORCYCLE:
      t->length_m = 2.2, t->width_m = 0.9, t->accel_mps2 = 6.0, t->decel_mps2 = 10.0;
      t->emergency_decel_mps2 = 10.0, t->max_speed_mps = 55.56, t->min_gap_m = 2.5;
      break;
    case GW_VC_BUS:
      t->length_m = 12.0, t->width_m = 2.5, t->accel_mps2 = 1.2, t->decel_mps2 = 4.0;
      t->emergency_decel_mps2 = 7.0, t->max_speed_mps = 27.78, t->speed_dev = 0.05;
      break;
    case GW_VC_TRUCK:
      t->length_m = 7.1, t->width_m = 2.4, t->accel_mps2 = 1.3, t->decel_mps2 = 4.0;
      t->emergency_decel_mps2 = 7.0, t->max_speed_mps = 36.11, t->speed_dev = 0.05;
      break;
    case GW_VC_BICYCLE:
      t->length_m = 1.6, t->width_m = 0.65, t->accel_mps2 = 1.2, t->decel_mps2 = 3.0;
      t->emergency_decel_mps2 = 7.0, t->max_speed_mps = 5.56, t->min_gap_m = 0.5;
      break;
    default:
      t->length_m = 5.0, t->width_m = 1.8, t->accel_mps2 = 2.6, t->decel_mps2 = 4.5;
      t->emergency_decel_mps2 = 9.0, t->max_speed_mps = 55.56;
      break;
  }
}

typedef struct rloader {
  gw_demand *d;
  const gw_net *net;
  /* The <vehicle> or <flow> being read, whose route may come embedded. */
  int in_vehicle, in_flow;
  trip_rec cur;
  uint32_t cur_route;
  double flow_begin, flow_end, flow_period, flow_prob;
  long flow_number;
  char *cur_id;
} rloader;

static char *own(gw_demand *d, const char *s) {
  char *c = gw__strdup(s);
  if (!c) return NULL;
  if (gw_vec_push(&d->strings, c)) {
    gw__free(c);
    return NULL;
  }
  return c;
}

static int parse_speed_factor(const char *s, double *mean, double *dev) {
  double a, b;
  if (sscanf(s, "normc(%lf,%lf", &a, &b) == 2 || sscanf(s, "norm(%lf,%lf", &a, &b) == 2) {
    *mean = a;
    *dev = b;
    return 0;
  }
  char *end;
  a = strtod(s, &end);
  if (end == s || *end) return -1;
  *mean = a;
  *dev = 0;
  return 0;
}

static int on_vtype(rloader *ld, gw_xml *x, const char **at) {
  gw_demand *d = ld->d;
  const char *id, *vc, *sf, *cfm;
  int rc;
  if ((rc = gw__xml_attr_str(x, "vType", at, "id", 1, &id))) return rc;
  gw__xml_attr_str(x, "vType", at, "vClass", 0, &vc);
  uint32_t cls = vc ? gw_vclass_parse(vc) : GW_VC_PASSENGER;
  if (!cls) return gw__xml_fail(x, GW_EINVAL, "vType '%s': unknown vClass '%s'", id, vc);
  gw_vtype t;
  gw_vtype_defaults(&t, cls);
  gw__xml_attr_str(x, "vType", at, "carFollowModel", 0, &cfm);
  if (cfm && strcmp(cfm, "Krauss") && strcmp(cfm, "KraussOrig1") && strcmp(cfm, "KraussPS"))
    return gw__xml_fail(x, GW_EINVAL,
                        "vType '%s': carFollowModel '%s' is not supported (Krauss only)", id, cfm);
  struct {
    const char *key;
    double *v;
    double lo, hi;
  } f[] = {{"length", &t.length_m, 0.1, 100},
           {"minGap", &t.min_gap_m, 0, 100},
           {"accel", &t.accel_mps2, 0.01, 50},
           {"decel", &t.decel_mps2, 0.01, 50},
           {"emergencyDecel", &t.emergency_decel_mps2, 0.01, 100},
           {"sigma", &t.sigma, 0, 1},
           {"tau", &t.tau_s, 0, 100},
           {"maxSpeed", &t.max_speed_mps, 0.01, 1000},
           {"speedDev", &t.speed_dev, 0, 10},
           {"width", &t.width_m, 0.1, 20}};
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    if ((rc = gw__xml_attr_double(x, "vType", at, f[i].key, 0, *f[i].v, f[i].v))) return rc;
    if (!(*f[i].v >= f[i].lo && *f[i].v <= f[i].hi))
      return gw__xml_fail(x, GW_ERANGE, "vType '%s': %s=%g is not in [%g, %g]", id, f[i].key,
                          *f[i].v, f[i].lo, f[i].hi);
  }
  if (t.emergency_decel_mps2 < t.decel_mps2) t.emergency_decel_mps2 = t.decel_mps2;
  gw__xml_attr_str(x, "vType", at, "speedFactor", 0, &sf);
  if (sf && parse_speed_factor(sf, &t.speed_factor, &t.speed_dev))
    return gw__xml_fail(x, GW_EPARSE,
                        "vType '%s': speedFactor '%s' is neither a number nor "
                        "normc(mean,dev,...)",
                        id, sf);
  if (!(t.speed_factor > 0 && t.speed_factor < 10))
    return gw__xml_fail(x, GW_ERANGE, "vType '%s': speedFactor %g is not in (0, 10)", id,
                        t.speed_factor);
  uint32_t old;
  if (gw__strmap_get(&d->type_ids, id, &old))
    return gw__xml_fail(x, GW_EINVAL, "vType '%s' is defined twice", id);
  if (!(t.id = own(d, id))) return GW_ENOMEM;
  if (gw_vec_push(&d->types, t)) return GW_ENOMEM;
  return gw__strmap_put(&d->type_ids, t.id, (uint32_t)d->types.n - 1) ? GW_ENOMEM : GW_OK;
}

static int edges_connected(const gw_net *net, uint32_t a, uint32_t b) {
  const gw_edge *ea = &net->edges.a[a];
  for (uint32_t l = ea->lane0; l < ea->lane0 + ea->nlanes; l++) {
    const gw_lane *ln = &net->lanes.a[l];
    for (uint32_t k = 0; k < ln->out_n; k++)
      if (net->lanes.a[net->links.a[net->refs.a[ln->out_off + k]].to_lane].edge == b) return 1;
  }
  return 0;
}

/* Parses and validates a route's edge list; returns the route index. */
static int add_route(rloader *ld, gw_xml *x, const char *owner, const char *edges, uint32_t *out) {
  gw_demand *d = ld->d;
  const gw_net *net = ld->net;
  route_rec r = {(uint32_t)d->edges.n, 0};
  const char *s = edges;
  char buf[256];
  while (*s) {
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    size_t n = strcspn(s, " \t\n");
    if (!n) break;
    if (n >= sizeof buf)
      return gw__xml_fail(x, GW_EINVAL, "%s: edge id of %zu characters is too long", owner, n);
    memcpy(buf, s, n);
    buf[n] = 0;
    s += n;
    uint32_t e;
    if (!gw__strmap_get(&net->edge_ids, buf, &e))
      return gw__xml_fail(x, GW_ENOTFOUND, "%s: route edge '%s' is not in the network", owner, buf);
    if (net->edges.a[e].internal)
      return gw__xml_fail(x, GW_EINVAL, "%s: route edge '%s' is internal", owner, buf);
    if (r.n > 0) {
      uint32_t prev = d->edges.a[d->edges.n - 1];
      if (!edges_connected(net, prev, e))
        return gw__xml_fail(x, GW_EINVAL, "%s: no connection from edge '%s' to '%s'", owner,
                            net->edges.a[prev].id, buf);
    }
    if (gw_vec_push(&d->edges, e)) return GW_ENOMEM;
    r.n++;
  }
  if (r.n == 0) return gw__xml_fail(x, GW_EINVAL, "%s: the route has no edges", owner);
  if (gw_vec_push(&d->routes, r)) return GW_ENOMEM;
  *out = (uint32_t)d->routes.n - 1;
  return GW_OK;
}

static int on_route(rloader *ld, gw_xml *x, const char **at) {
  const char *id, *edges;
  int rc;
  if ((rc = gw__xml_attr_str(x, "route", at, "edges", 1, &edges))) return rc;
  gw__xml_attr_str(x, "route", at, "id", 0, &id);
  char owner[160];
  if (ld->in_vehicle || ld->in_flow) {
    snprintf(owner, sizeof owner, "%s '%s'", ld->in_flow ? "flow" : "vehicle", ld->cur_id);
    if (ld->cur_route != GW_NONE) return gw__xml_fail(x, GW_EINVAL, "%s has two routes", owner);
    return add_route(ld, x, owner, edges, &ld->cur_route);
  }
  if (!id) return gw__xml_fail(x, GW_EPARSE, "<route> outside a vehicle needs an 'id'");
  snprintf(owner, sizeof owner, "route '%s'", id);
  uint32_t r, old;
  if (gw__strmap_get(&ld->d->route_ids, id, &old))
    return gw__xml_fail(x, GW_EINVAL, "route '%s' is defined twice", id);
  if ((rc = add_route(ld, x, owner, edges, &r))) return rc;
  char *key = own(ld->d, id);
  if (!key) return GW_ENOMEM;
  return gw__strmap_put(&ld->d->route_ids, key, r) ? GW_ENOMEM : GW_OK;
}

/* Attributes common to <vehicle> and <flow>. */
static int read_vehicle_attrs(rloader *ld, gw_xml *x, const char *elem, const char **at) {
  gw_demand *d = ld->d;
  const char *id, *type, *route, *dl, *ds, *dp, *ap;
  int rc;
  if ((rc = gw__xml_attr_str(x, elem, at, "id", 1, &id))) return rc;
  gw__xml_attr_str(x, elem, at, "type", 0, &type);
  gw__xml_attr_str(x, elem, at, "route", 0, &route);
  gw__xml_attr_str(x, elem, at, "departLane", 0, &dl);
  gw__xml_attr_str(x, elem, at, "departSpeed", 0, &ds);
  gw__xml_attr_str(x, elem, at, "departPos", 0, &dp);
  gw__xml_attr_str(x, elem, at, "arrivalPos", 0, &ap);
  if (gw__xml_attr(at, "from") || gw__xml_attr(at, "to"))
    return gw__xml_fail(x, GW_EINVAL,
                        "%s '%s': from/to without a route needs routing, which is not "
                        "supported yet; route the file with duarouter first",
                        elem, id);
  memset(&ld->cur, 0, sizeof ld->cur);
  ld->cur_route = GW_NONE;
  if (!(ld->cur_id = own(d, id))) return GW_ENOMEM;
  ld->cur.t.id = ld->cur_id;
  if (type) {
    uint32_t t;
    if (!gw__strmap_get(&d->type_ids, type, &t))
      return gw__xml_fail(x, GW_ENOTFOUND, "%s '%s': vType '%s' is not defined (before use)", elem,
                          id, type);
    ld->cur.t.vtype = t;
  } else {
    uint32_t t;
    if (!gw__strmap_get(&d->type_ids, "DEFAULT_VEHTYPE", &t)) {
      gw_vtype v;
      gw_vtype_defaults(&v, GW_VC_PASSENGER);
      if (!(v.id = own(d, "DEFAULT_VEHTYPE")) || gw_vec_push(&d->types, v)) return GW_ENOMEM;
      t = (uint32_t)d->types.n - 1;
      if (gw__strmap_put(&d->type_ids, v.id, t)) return GW_ENOMEM;
    }
    ld->cur.t.vtype = t;
  }
  if (route && !gw__strmap_get(&d->route_ids, route, &ld->cur_route))
    return gw__xml_fail(x, GW_ENOTFOUND, "%s '%s': route '%s' is not defined (before use)", elem,
                        id, route);
  /* Departure lane. */
  ld->cur.t.depart_lane = GW_DEPART_LANE_FIRST;
  if (dl) {
    char *end;
    long v = strtol(dl, &end, 10);
    if (!strcmp(dl, "best"))
      ld->cur.t.depart_lane = GW_DEPART_LANE_BEST;
    else if (!strcmp(dl, "first"))
      ld->cur.t.depart_lane = GW_DEPART_LANE_FIRST;
    else if (!strcmp(dl, "free") || !strcmp(dl, "allowed"))
      ld->cur.t.depart_lane = GW_DEPART_LANE_FREE;
    else if (!strcmp(dl, "random"))
      ld->cur.t.depart_lane = GW_DEPART_LANE_RANDOM;
    else if (end != dl && !*end && v >= 0 && v < 64)
      ld->cur.t.depart_lane = (int)v;
    else
      return gw__xml_fail(x, GW_EINVAL, "%s '%s': departLane '%s' is not supported", elem, id, dl);
  }
  ld->cur.t.depart_speed_mode = GW_DEPART_SPEED_GIVEN;
  if (ds) {
    char *end;
    double v = strtod(ds, &end);
    if (!strcmp(ds, "max"))
      ld->cur.t.depart_speed_mode = GW_DEPART_SPEED_MAX;
    else if (!strcmp(ds, "desired"))
      ld->cur.t.depart_speed_mode = GW_DEPART_SPEED_DESIRED;
    else if (!strcmp(ds, "random"))
      ld->cur.t.depart_speed_mode = GW_DEPART_SPEED_RANDOM;
    else if (!strcmp(ds, "speedLimit"))
      ld->cur.t.depart_speed_mode = GW_DEPART_SPEED_LIMIT;
    else if (end != ds && !*end && v >= 0 && v < 1000)
      ld->cur.t.depart_speed_mps = v;
    else
      return gw__xml_fail(x, GW_EINVAL, "%s '%s': departSpeed '%s' is not supported", elem, id, ds);
  }
  ld->cur.t.depart_pos_m = 0;
  if (dp && strcmp(dp, "base")) {
    char *end;
    double v = strtod(dp, &end);
    if (end == dp || *end || !(v >= 0))
      return gw__xml_fail(x, GW_EINVAL,
                          "%s '%s': departPos '%s' is not supported (a "
                          "non-negative number or 'base')",
                          elem, id, dp);
    ld->cur.t.depart_pos_m = v;
  }
  ld->cur.t.arrival_pos_m = -1;
  if (ap && strcmp(ap, "max")) {
    char *end;
    double v = strtod(ap, &end);
    if (end == ap || *end || !(v >= 0))
      return gw__xml_fail(x, GW_EINVAL,
                          "%s '%s': arrivalPos '%s' is not supported (a "
                          "non-negative number or 'max')",
                          elem, id, ap);
    ld->cur.t.arrival_pos_m = v;
  }
  return GW_OK;
}

static int parse_time(gw_xml *x, const char *elem, const char *id, const char **at, const char *key,
                      int required, double dflt, double *out) {
  int rc = gw__xml_attr_double(x, elem, at, key, required, dflt, out);
  if (rc) return rc;
  if (!(*out >= 0 && *out < 1e9))
    return gw__xml_fail(x, GW_ERANGE, "%s '%s': %s=%g is not a time in [0, 1e9) s", elem, id, key,
                        *out);
  return GW_OK;
}

static int on_vehicle(rloader *ld, gw_xml *x, const char **at) {
  int rc = read_vehicle_attrs(ld, x, "vehicle", at);
  if (rc) return rc;
  const char *dep = gw__xml_attr(at, "depart");
  if (dep && (!strcmp(dep, "triggered") || !strcmp(dep, "containerTriggered") ||
              !strcmp(dep, "now") || !strcmp(dep, "begin")))
    return gw__xml_fail(x, GW_EINVAL, "vehicle '%s': depart=\"%s\" is not supported", ld->cur_id,
                        dep);
  if ((rc = parse_time(x, "vehicle", ld->cur_id, at, "depart", 1, 0, &ld->cur.t.depart_s)))
    return rc;
  ld->in_vehicle = 1;
  return GW_OK;
}

static int on_flow(rloader *ld, gw_xml *x, const char **at) {
  int rc = read_vehicle_attrs(ld, x, "flow", at);
  if (rc) return rc;
  const char *id = ld->cur_id;
  double vph = -1, period = -1;
  long number = -1;
  if ((rc = parse_time(x, "flow", id, at, "begin", 0, 0, &ld->flow_begin))) return rc;
  if ((rc = parse_time(x, "flow", id, at, "end", 0, 86400, &ld->flow_end))) return rc;
  if ((rc = gw__xml_attr_double(x, "flow", at, "vehsPerHour", 0, -1, &vph))) return rc;
  if ((rc = gw__xml_attr_double(x, "flow", at, "period", 0, -1, &period))) return rc;
  if ((rc = gw__xml_attr_double(x, "flow", at, "probability", 0, -1, &ld->flow_prob))) return rc;
  if ((rc = gw__xml_attr_int(x, "flow", at, "number", 0, -1, &number))) return rc;
  int given = (vph >= 0) + (period >= 0) + (ld->flow_prob >= 0);
  if (given > 1 || (given == 0 && number < 0))
    return gw__xml_fail(x, GW_EINVAL,
                        "flow '%s': give exactly one of vehsPerHour, period, "
                        "probability (or number with begin and end)",
                        id);
  if (ld->flow_prob > 1)
    return gw__xml_fail(x, GW_ERANGE, "flow '%s': probability %g is above 1", id, ld->flow_prob);
  if (ld->flow_end < ld->flow_begin)
    return gw__xml_fail(x, GW_EINVAL, "flow '%s': end %g is before begin %g", id, ld->flow_end,
                        ld->flow_begin);
  if (number > 10000000) return gw__xml_fail(x, GW_ERANGE, "flow '%s': number too large", id);
  ld->flow_period = -1;
  if (vph > 0)
    ld->flow_period = 3600.0 / vph;
  else if (period > 0)
    ld->flow_period = period;
  else if (vph == 0 || period == 0)
    ld->flow_period = 0; /* no vehicles */
  else if (ld->flow_prob < 0 && number >= 0)
    ld->flow_period = number > 0 ? (ld->flow_end - ld->flow_begin) / (double)number : 0;
  ld->flow_number = number;
  /* Refuse before expanding: a tiny period or a long probability flow would
  ** otherwise build or scan millions of vehicles first. */
  double span = ld->flow_end - ld->flow_begin, expect = 0;
  if (ld->flow_prob >= 0)
    expect = span;
  else if (ld->flow_period > 0)
    expect = span / ld->flow_period;
  if (number >= 0 && expect > (double)number && ld->flow_prob < 0) expect = (double)number;
  if (expect > 10000000)
    return gw__xml_fail(x, GW_ERANGE,
                        "flow '%s' would make %.0f vehicles (or draws); at most "
                        "10 million",
                        id, expect);
  ld->in_flow = 1;
  return GW_OK;
}

static int push_trip(rloader *ld, gw_xml *x, const char *id, double depart) {
  gw_demand *d = ld->d;
  trip_rec r = ld->cur;
  r.t.id = id;
  r.t.depart_s = depart;
  r.route = ld->cur_route;
  r.seq = (uint32_t)d->trips.n;
  const route_rec *rt = &d->routes.a[r.route];
  const gw_net *net = ld->net;
  if (r.t.depart_lane >= 0 && (uint32_t)r.t.depart_lane >= net->edges.a[d->edges.a[rt->off]].nlanes)
    return gw__xml_fail(x, GW_ERANGE, "'%s': departLane %d but the first edge has %u lanes", id,
                        r.t.depart_lane, net->edges.a[d->edges.a[rt->off]].nlanes);
  if (d->trips.n >= 50000000) return gw__xml_fail(x, GW_ERANGE, "more than 50 million vehicles");
  return gw_vec_push(&d->trips, r) ? GW_ENOMEM : GW_OK;
}

static int end_vehicle(rloader *ld, gw_xml *x) {
  ld->in_vehicle = 0;
  if (ld->cur_route == GW_NONE)
    return gw__xml_fail(x, GW_EINVAL, "vehicle '%s' has no route", ld->cur_id);
  return push_trip(ld, x, ld->cur_id, ld->cur.t.depart_s);
}

static int end_flow(rloader *ld, gw_xml *x) {
  gw_demand *d = ld->d;
  ld->in_flow = 0;
  if (ld->cur_route == GW_NONE)
    return gw__xml_fail(x, GW_EINVAL, "flow '%s' has no route", ld->cur_id);
  char idbuf[256];
  long made = 0;
  int rc;
  if (ld->flow_prob >= 0) {
    /* One Bernoulli draw per second, keyed by the flow's id so that adding
    ** another flow does not change this one. */
    uint64_t key = gw__hash_str(ld->cur_id);
    for (double t = ld->flow_begin; t < ld->flow_end; t += 1.0) {
      if (ld->flow_number >= 0 && made >= ld->flow_number) break;
      if (gw__rng_uniform(0x5eed, key, (uint64_t)t) >= ld->flow_prob) continue;
      snprintf(idbuf, sizeof idbuf, "%s.%ld", ld->cur_id, made++);
      char *id = own(d, idbuf);
      if (!id) return GW_ENOMEM;
      if ((rc = push_trip(ld, x, id, t))) return rc;
    }
    return GW_OK;
  }
  if (ld->flow_period <= 0) return GW_OK;
  for (double t = ld->flow_begin; t < ld->flow_end - 1e-9;
       t = ld->flow_begin + (double)made * ld->flow_period) {
    if (ld->flow_number >= 0 && made >= ld->flow_number) break;
    snprintf(idbuf, sizeof idbuf, "%s.%ld", ld->cur_id, made++);
    char *id = own(d, idbuf);
    if (!id) return GW_ENOMEM;
    if ((rc = push_trip(ld, x, id, t))) return rc;
    if (made > 10000000)
      return gw__xml_fail(x, GW_ERANGE, "flow '%s' makes too many vehicles", ld->cur_id);
  }
  return GW_OK;
}

static int r_start(void *ud, gw_xml *x, const char *name, const char **at) {
  rloader *ld = ud;
  if (!strcmp(name, "vehicle")) return on_vehicle(ld, x, at);
  if (!strcmp(name, "route")) return on_route(ld, x, at);
  if (!strcmp(name, "flow")) return on_flow(ld, x, at);
  if (!strcmp(name, "vType")) return on_vtype(ld, x, at);
  if (!strcmp(name, "trip") || !strcmp(name, "routeDistribution") ||
      !strcmp(name, "vTypeDistribution") || !strcmp(name, "person") ||
      !strcmp(name, "personFlow") || !strcmp(name, "container"))
    return gw__xml_fail(x, GW_EINVAL, "<%s> is not supported yet", name);
  return GW_OK;
}

static int r_end(void *ud, gw_xml *x, const char *name) {
  rloader *ld = ud;
  if (ld->in_vehicle && !strcmp(name, "vehicle")) return end_vehicle(ld, x);
  if (ld->in_flow && !strcmp(name, "flow")) return end_flow(ld, x);
  return GW_OK;
}

int gw_demand_create(gw_demand **out) {
  *out = gw__calloc(1, sizeof **out);
  return *out ? GW_OK : GW_ENOMEM;
}

int gw__demand_load_sumo_buffer(gw_demand **dp, const gw_net *net, const char *name,
                                const char *buf, size_t len, gw_error *err) {
  if (!net->finished) return gw__error(err, GW_ESTATE, "%s: the network is not loaded", name);
  if (!*dp && !(*dp = gw__calloc(1, sizeof **dp)))
    return gw__error(err, GW_ENOMEM, "out of memory");
  gw_demand *d = *dp;
  if (d->finished) return gw__error(err, GW_ESTATE, "%s: demand already finished", name);
  rloader ld;
  memset(&ld, 0, sizeof ld);
  ld.d = d;
  ld.net = net;
  ld.cur_route = GW_NONE;
  if (err) err->msg[0] = 0;
  int rc = buf ? gw__xml_parse_buffer(name, buf, len, r_start, r_end, &ld, err)
               : gw__xml_parse_file(name, r_start, r_end, &ld, err);
  if (rc == GW_ENOMEM && err && !err->msg[0]) gw__error(err, rc, "%s: out of memory", name);
  return rc;
}

int gw_demand_load_sumo(gw_demand **d, const gw_net *net, const char *path, gw_error *err) {
  return gw__demand_load_sumo_buffer(d, net, path, NULL, 0, err);
}

static int cmp_trip(const void *a, const void *b) {
  const trip_rec *x = a, *y = b;
  if (x->t.depart_s != y->t.depart_s) return x->t.depart_s < y->t.depart_s ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int gw_demand_finish(gw_demand *d, gw_error *err) {
  (void)err;
  if (d->finished) return GW_OK;
  if (d->trips.n > 1) qsort(d->trips.a, d->trips.n, sizeof *d->trips.a, cmp_trip);
  for (size_t i = 0; i < d->trips.n; i++) {
    trip_rec *r = &d->trips.a[i];
    r->t.route = d->edges.a + d->routes.a[r->route].off;
    r->t.route_n = d->routes.a[r->route].n;
  }
  d->finished = 1;
  return GW_OK;
}

void gw_demand_destroy(gw_demand *d) {
  if (!d) return;
  for (size_t i = 0; i < d->strings.n; i++) gw__free(d->strings.a[i]);
  gw_vec_free(&d->strings);
  gw_vec_free(&d->types);
  gw_vec_free(&d->trips);
  gw_vec_free(&d->routes);
  gw_vec_free(&d->edges);
  gw__strmap_free(&d->type_ids);
  gw__strmap_free(&d->route_ids);
  gw__free(d);
}

uint32_t gw_demand_trip_count(const gw_demand *d) { return d ? (uint32_t)d->trips.n : 0; }
const gw_trip *gw_demand_trip(const gw_demand *d, uint32_t i) {
  return d && d->finished && i < d->trips.n ? &d->trips.a[i].t : NULL;
}
uint32_t gw_demand_vtype_count(const gw_demand *d) { return d ? (uint32_t)d->types.n : 0; }
const gw_vtype *gw_demand_vtype(const gw_demand *d, uint32_t i) {
  return d && i < d->types.n ? &d->types.a[i] : NULL;
}

/*
** sumo_net.c -- the SUMO .net.xml and additional-file importer.
**
** Streams the file with expat and translates elements into gw_net objects as
** they come: <edge>/<lane>, <tlLogic>/<phase>, <junction>/<request>,
** <connection>, and in additional files <tlLogic> and <e1Detector> (alias
** <inductionLoop>).  SUMO writes edges before junctions and normal
** connections before those leaving internal edges, but nothing here relies
** on that order: junctions named by an edge are created on first mention and
** filled in later, and internal-to-internal connections are resolved after
** the whole file has been read.  Every rejected value names file, line,
** element and attribute.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/xml.h"
#include "net/net_int.h"

typedef struct pending_via {
  uint32_t from_lane; /* internal lane the connection leaves */
  uint32_t via;       /* the next internal lane */
} pending_via;

typedef struct loader {
  gw_net *net;
  int additional;        /* 1 while reading an additional file */
  uint32_t cur_edge;     /* edge whose <lane>s are being read, or GW_NONE */
  uint32_t cur_junction; /* junction whose <request>s are being read */
  uint32_t cur_tls, cur_prog;
  GW_VEC(pending_via) pending;
} loader;

static int intern(gw_net *net, gw_strmap *map, const char *id, char **slot, uint32_t idx) {
  *slot = gw__strdup(id);
  if (!*slot) return GW_ENOMEM;
  return gw__strmap_put(map, *slot, idx) ? GW_ENOMEM : GW_OK;
  (void)net;
}

static uint32_t junction_get(loader *ld, const char *id) {
  gw_net *net = ld->net;
  uint32_t j;
  if (gw__strmap_get(&net->junction_ids, id, &j)) return j;
  gw_junction jn;
  memset(&jn, 0, sizeof jn);
  jn.tls = GW_NONE;
  jn.type = GW_JUNCTION_OTHER;
  if (gw_vec_push(&net->junctions, jn)) return GW_NONE;
  j = (uint32_t)net->junctions.n - 1;
  if (intern(net, &net->junction_ids, id, &net->junctions.a[j].id, j)) return GW_NONE;
  return j;
}

static uint32_t parse_allow(const char *allow, const char *disallow, int *bad) {
  uint32_t mask = 0;
  const char *s = allow ? allow : disallow;
  *bad = 0;
  if (!s) return GW_VC_ALL;
  char buf[64];
  while (*s) {
    while (*s == ' ') s++;
    size_t n = strcspn(s, " ");
    if (!n) break;
    if (n < sizeof buf) {
      memcpy(buf, s, n);
      buf[n] = 0;
      if (!strcmp(buf, "all"))
        mask |= GW_VC_ALL;
      else
        mask |= gw_vclass_parse(buf);
    }
    s += n;
  }
  return allow ? mask : (GW_VC_ALL & ~mask);
}

static int parse_shape(loader *ld, gw_xml *x, const char *shape, uint32_t *off, uint32_t *n) {
  gw_net *net = ld->net;
  *off = (uint32_t)(net->points.n / 2);
  *n = 0;
  if (!shape) return 0;
  const char *s = shape;
  while (*s) {
    char *end;
    double px = strtod(s, &end);
    if (end == s || *end != ',')
      return gw__xml_fail(x, GW_EPARSE, "shape \"%.40s\": expected x,y pairs", shape);
    s = end + 1;
    double py = strtod(s, &end);
    if (end == s) return gw__xml_fail(x, GW_EPARSE, "shape \"%.40s\": expected x,y pairs", shape);
    s = end;
    if (*s == ',') { /* a z coordinate: skip it */
      strtod(s + 1, &end);
      s = end;
    }
    while (*s == ' ') s++;
    if (gw_vec_push(&net->points, px) || gw_vec_push(&net->points, py)) return GW_ENOMEM;
    if (px < net->bounds[0]) net->bounds[0] = px;
    if (py < net->bounds[1]) net->bounds[1] = py;
    if (px > net->bounds[2]) net->bounds[2] = px;
    if (py > net->bounds[3]) net->bounds[3] = py;
    (*n)++;
  }
  return 0;
}

static int on_edge(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  const char *id, *from, *to, *func;
  long prio;
  int rc;
  if ((rc = gw__xml_attr_str(x, "edge", at, "id", 1, &id))) return rc;
  gw__xml_attr_str(x, "edge", at, "function", 0, &func);
  gw__xml_attr_str(x, "edge", at, "from", 0, &from);
  gw__xml_attr_str(x, "edge", at, "to", 0, &to);
  if ((rc = gw__xml_attr_int(x, "edge", at, "priority", 0, -1, &prio))) return rc;
  uint32_t tmp;
  if (gw__strmap_get(&net->edge_ids, id, &tmp))
    return gw__xml_fail(x, GW_EINVAL, "edge '%s' is defined twice", id);
  gw_edge e;
  memset(&e, 0, sizeof e);
  e.from = e.to = GW_NONE;
  e.lane0 = (uint32_t)net->lanes.n;
  e.priority = (int)prio;
  e.internal = func && strcmp(func, "normal") != 0 && strcmp(func, "connector") != 0;
  if (!e.internal) {
    if (!from || !to)
      return gw__xml_fail(x, GW_EPARSE, "<edge id=\"%s\"> needs 'from' and 'to'", id);
    e.from = junction_get(ld, from);
    e.to = junction_get(ld, to);
    if (e.from == GW_NONE || e.to == GW_NONE) return GW_ENOMEM;
  }
  if (gw_vec_push(&net->edges, e)) return GW_ENOMEM;
  ld->cur_edge = (uint32_t)net->edges.n - 1;
  return intern(net, &net->edge_ids, id, &net->edges.a[ld->cur_edge].id, ld->cur_edge);
}

static int on_lane(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  if (ld->cur_edge == GW_NONE) return gw__xml_fail(x, GW_EPARSE, "<lane> outside an <edge>");
  gw_edge *e = &net->edges.a[ld->cur_edge];
  const char *id, *shape, *allow, *disallow;
  long index;
  double speed, length, width;
  int rc, bad;
  if ((rc = gw__xml_attr_str(x, "lane", at, "id", 1, &id))) return rc;
  if ((rc = gw__xml_attr_int(x, "lane", at, "index", 1, 0, &index))) return rc;
  if ((rc = gw__xml_attr_double(x, "lane", at, "speed", 1, 0, &speed))) return rc;
  if ((rc = gw__xml_attr_double(x, "lane", at, "length", 1, 0, &length))) return rc;
  if ((rc = gw__xml_attr_double(x, "lane", at, "width", 0, 3.2, &width))) return rc;
  gw__xml_attr_str(x, "lane", at, "shape", 0, &shape);
  gw__xml_attr_str(x, "lane", at, "allow", 0, &allow);
  gw__xml_attr_str(x, "lane", at, "disallow", 0, &disallow);
  if (index != (long)e->nlanes)
    return gw__xml_fail(x, GW_EINVAL, "lane '%s': index %ld, expected %u (lanes in order)", id,
                        index, e->nlanes);
  if (!(speed > 0) || speed > 1000)
    return gw__xml_fail(x, GW_ERANGE, "lane '%s': speed %g m/s is not in (0, 1000]", id, speed);
  if (!(length >= 0) || length > 1e6)
    return gw__xml_fail(x, GW_ERANGE, "lane '%s': length %g m is not in [0, 1e6]", id, length);
  uint32_t tmp;
  if (gw__strmap_get(&net->lane_ids, id, &tmp))
    return gw__xml_fail(x, GW_EINVAL, "lane '%s' is defined twice", id);
  gw_lane l;
  memset(&l, 0, sizeof l);
  l.edge = ld->cur_edge;
  l.index = (uint32_t)index;
  /* A zero-length lane would make a vehicle cross it in no time; SUMO
  ** itself never writes one, but hand-made files might. */
  l.length_m = length < 0.1 ? 0.1 : length;
  l.speed_mps = speed;
  l.width_m = width;
  l.allow = parse_allow(allow, disallow, &bad);
  l.link = GW_NONE;
  l.internal = e->internal;
  if ((rc = parse_shape(ld, x, shape, &l.shape_off, &l.shape_n))) return rc;
  if (gw_vec_push(&net->lanes, l)) return GW_ENOMEM;
  uint32_t li = (uint32_t)net->lanes.n - 1;
  net->edges.a[ld->cur_edge].nlanes++;
  return intern(net, &net->lane_ids, id, &net->lanes.a[li].id, li);
}

static int junction_type(const char *t) {
  if (!t) return GW_JUNCTION_PRIORITY;
  if (!strcmp(t, "traffic_light") || !strcmp(t, "traffic_light_unregulated") ||
      !strcmp(t, "traffic_light_right_on_red"))
    return GW_JUNCTION_TRAFFIC_LIGHT;
  if (!strcmp(t, "priority") || !strcmp(t, "priority_stop") || !strcmp(t, "zipper"))
    return GW_JUNCTION_PRIORITY;
  if (!strcmp(t, "right_before_left") || !strcmp(t, "left_before_right"))
    return GW_JUNCTION_RIGHT_BEFORE_LEFT;
  if (!strcmp(t, "allway_stop")) return GW_JUNCTION_ALLWAY_STOP;
  if (!strcmp(t, "dead_end")) return GW_JUNCTION_DEAD_END;
  if (!strcmp(t, "internal")) return GW_JUNCTION_INTERNAL;
  return GW_JUNCTION_OTHER;
}

static int on_junction(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  const char *id, *type, *ints, *jname = NULL;
  double jx, jy;
  int rc;
  if ((rc = gw__xml_attr_str(x, "junction", at, "id", 1, &id))) return rc;
  gw__xml_attr_str(x, "junction", at, "name", 0, &jname);
  if ((rc = gw__xml_attr_double(x, "junction", at, "x", 1, 0, &jx))) return rc;
  if ((rc = gw__xml_attr_double(x, "junction", at, "y", 1, 0, &jy))) return rc;
  gw__xml_attr_str(x, "junction", at, "type", 0, &type);
  gw__xml_attr_str(x, "junction", at, "intLanes", 0, &ints);
  uint32_t j = junction_get(ld, id);
  if (j == GW_NONE) return GW_ENOMEM;
  gw_junction *jn = &net->junctions.a[j];
  if (jn->int_lanes || jn->type != GW_JUNCTION_OTHER)
    return gw__xml_fail(x, GW_EINVAL, "junction '%s' is defined twice", id);
  jn->x = jx;
  jn->y = jy;
  jn->type = (uint8_t)junction_type(type);
  if (jn->type == GW_JUNCTION_OTHER) jn->type = GW_JUNCTION_PRIORITY;
  if (ints && !(jn->int_lanes = gw__strdup(ints))) return GW_ENOMEM;
  if (jname && *jname && !(jn->name = gw__strdup(jname))) return GW_ENOMEM;
  if (jn->type == GW_JUNCTION_TRAFFIC_LIGHT) {
    uint32_t t;
    if (gw__strmap_get(&net->tls_ids, id, &t)) jn->tls = t;
  }
  ld->cur_junction = j;
  return GW_OK;
}

static int on_request(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  if (ld->cur_junction == GW_NONE)
    return gw__xml_fail(x, GW_EPARSE, "<request> outside a <junction>");
  gw_junction *jn = &net->junctions.a[ld->cur_junction];
  const char *resp, *foes;
  long index, cont;
  int rc;
  if ((rc = gw__xml_attr_int(x, "request", at, "index", 1, 0, &index))) return rc;
  if ((rc = gw__xml_attr_str(x, "request", at, "response", 1, &resp))) return rc;
  if ((rc = gw__xml_attr_str(x, "request", at, "foes", 1, &foes))) return rc;
  if ((rc = gw__xml_attr_int(x, "request", at, "cont", 0, 0, &cont))) return rc;
  if (index < 0 || index > 4096)
    return gw__xml_fail(x, GW_ERANGE, "request index %ld is not in [0, 4096]", index);
  if (strlen(resp) != strlen(foes))
    return gw__xml_fail(x, GW_EINVAL, "request %ld: response and foes differ in length", index);
  uint32_t need = (uint32_t)index + 1;
  if (need > jn->n_raw) {
    char **r = gw__realloc(jn->response, need * sizeof *r);
    if (!r) return GW_ENOMEM;
    jn->response = r;
    char **f = gw__realloc(jn->foes, need * sizeof *f);
    if (!f) return GW_ENOMEM;
    jn->foes = f;
    uint8_t *c = gw__realloc(jn->cont, need);
    if (!c) return GW_ENOMEM;
    jn->cont = c;
    for (uint32_t k = jn->n_raw; k < need; k++) {
      jn->response[k] = jn->foes[k] = NULL;
      jn->cont[k] = 0;
    }
    jn->n_raw = need;
  }
  if (jn->response[index])
    return gw__xml_fail(x, GW_EINVAL, "junction '%s': request %ld given twice", jn->id, index);
  jn->response[index] = gw__strdup(resp);
  jn->foes[index] = gw__strdup(foes);
  jn->cont[index] = cont != 0;
  if (!jn->response[index] || !jn->foes[index]) return GW_ENOMEM;
  return GW_OK;
}

static int lane_of(loader *ld, gw_xml *x, const char *edge, long index, const char *what,
                   uint32_t *out) {
  gw_net *net = ld->net;
  uint32_t e;
  if (!gw__strmap_get(&net->edge_ids, edge, &e))
    return gw__xml_fail(x, GW_ENOTFOUND, "<connection> %s edge '%s' is not defined", what, edge);
  if (index < 0 || (uint32_t)index >= net->edges.a[e].nlanes)
    return gw__xml_fail(x, GW_ERANGE, "<connection> %s lane %ld: edge '%s' has %u lanes", what,
                        index, edge, net->edges.a[e].nlanes);
  *out = net->edges.a[e].lane0 + (uint32_t)index;
  return GW_OK;
}

static int on_connection(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  const char *from, *to, *via, *tl, *dir, *state;
  long from_lane, to_lane, link_index;
  uint32_t fl, tlane, vl = GW_NONE;
  int rc;
  if ((rc = gw__xml_attr_str(x, "connection", at, "from", 1, &from))) return rc;
  if ((rc = gw__xml_attr_str(x, "connection", at, "to", 1, &to))) return rc;
  if ((rc = gw__xml_attr_int(x, "connection", at, "fromLane", 1, 0, &from_lane))) return rc;
  if ((rc = gw__xml_attr_int(x, "connection", at, "toLane", 1, 0, &to_lane))) return rc;
  if ((rc = gw__xml_attr_int(x, "connection", at, "linkIndex", 0, -1, &link_index))) return rc;
  gw__xml_attr_str(x, "connection", at, "via", 0, &via);
  gw__xml_attr_str(x, "connection", at, "tl", 0, &tl);
  gw__xml_attr_str(x, "connection", at, "dir", 0, &dir);
  gw__xml_attr_str(x, "connection", at, "state", 0, &state);
  if ((rc = lane_of(ld, x, from, from_lane, "from", &fl))) return rc;
  if ((rc = lane_of(ld, x, to, to_lane, "to", &tlane))) return rc;
  if (via && !gw__strmap_get(&net->lane_ids, via, &vl))
    return gw__xml_fail(x, GW_ENOTFOUND, "<connection> via lane '%s' is not defined", via);
  if (vl != GW_NONE && !net->lanes.a[vl].internal)
    return gw__xml_fail(x, GW_EINVAL, "<connection> via lane '%s' is not internal", via);
  if (net->lanes.a[fl].internal) {
    /* Leaves an internal lane: either the end of a path through the
    ** junction or the step past an internal junction. */
    if (vl != GW_NONE) {
      pending_via p = {fl, vl};
      if (gw_vec_push(&ld->pending, p)) return GW_ENOMEM;
    }
    return GW_OK;
  }
  if (net->lanes.a[tlane].internal)
    return gw__xml_fail(x, GW_EINVAL, "<connection> from a normal lane to internal lane '%s'",
                        net->lanes.a[tlane].id);
  gw_link lk;
  memset(&lk, 0, sizeof lk);
  lk.from_lane = fl;
  lk.to_lane = tlane;
  lk.via[0] = vl;
  lk.via[1] = GW_NONE;
  lk.junction = net->edges.a[net->lanes.a[fl].edge].to;
  lk.req_index = -1;
  lk.tls = GW_NONE;
  lk.tls_index = -1;
  lk.dir = dir ? dir[0] : 's';
  lk.state = state ? state[0] : 'M';
  if (tl) {
    uint32_t t;
    if (!gw__strmap_get(&net->tls_ids, tl, &t))
      return gw__xml_fail(x, GW_ENOTFOUND, "<connection> names signal '%s', which is not defined",
                          tl);
    if (link_index < 0 || link_index > 4096)
      return gw__xml_fail(x, GW_ERANGE, "<connection tl=\"%s\"> needs a linkIndex in [0, 4096]",
                          tl);
    lk.tls = t;
    lk.tls_index = (int32_t)link_index;
  }
  if (gw_vec_push(&net->links, lk)) return GW_ENOMEM;
  if (vl != GW_NONE) net->lanes.a[vl].link = (uint32_t)net->links.n - 1;
  return GW_OK;
}

static int tl_type(const char *t) {
  if (!t || !strcmp(t, "static")) return GW_TL_STATIC;
  if (!strcmp(t, "actuated")) return GW_TL_ACTUATED;
  if (!strcmp(t, "delay_based")) return GW_TL_DELAY_BASED;
  return GW_TL_OTHER;
}

static int on_tllogic(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  const char *id, *type, *prog;
  double offset;
  int rc;
  if ((rc = gw__xml_attr_str(x, "tlLogic", at, "id", 1, &id))) return rc;
  gw__xml_attr_str(x, "tlLogic", at, "type", 0, &type);
  gw__xml_attr_str(x, "tlLogic", at, "programID", 0, &prog);
  if ((rc = gw__xml_attr_double(x, "tlLogic", at, "offset", 0, 0, &offset))) return rc;
  uint32_t t;
  if (!gw__strmap_get(&net->tls_ids, id, &t)) {
    if (ld->additional)
      return gw__xml_fail(x, GW_ENOTFOUND, "<tlLogic id=\"%s\"> names no signal of the network",
                          id);
    gw_tls tl;
    memset(&tl, 0, sizeof tl);
    tl.active = GW_NONE;
    if (gw_vec_push(&net->tls, tl)) return GW_ENOMEM;
    t = (uint32_t)net->tls.n - 1;
    if ((rc = intern(net, &net->tls_ids, id, &net->tls.a[t].id, t))) return rc;
  }
  gw_tlprogram p;
  memset(&p, 0, sizeof p);
  p.type = (uint8_t)tl_type(type);
  p.offset_s = offset;
  p.phase0 = (uint32_t)net->phases.n;
  if (!(p.id = gw__strdup(prog ? prog : "0"))) return GW_ENOMEM;
  if (gw_vec_push(&net->programs, p)) {
    gw__free(p.id);
    return GW_ENOMEM;
  }
  ld->cur_tls = t;
  ld->cur_prog = (uint32_t)net->programs.n - 1;
  return GW_OK;
}

static int on_phase(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  if (ld->cur_prog == GW_NONE) return gw__xml_fail(x, GW_EPARSE, "<phase> outside a <tlLogic>");
  const char *state;
  double dur, mn, mx;
  int rc;
  if ((rc = gw__xml_attr_double(x, "phase", at, "duration", 1, 0, &dur))) return rc;
  if ((rc = gw__xml_attr_str(x, "phase", at, "state", 1, &state))) return rc;
  if ((rc = gw__xml_attr_double(x, "phase", at, "minDur", 0, dur, &mn))) return rc;
  if ((rc = gw__xml_attr_double(x, "phase", at, "maxDur", 0, dur, &mx))) return rc;
  if (!(dur > 0) || dur > 86400)
    return gw__xml_fail(x, GW_ERANGE, "<phase duration=\"%g\">: must be in (0, 86400] s", dur);
  if (mn > mx) return gw__xml_fail(x, GW_EINVAL, "<phase>: minDur %g is above maxDur %g", mn, mx);
  size_t n = strlen(state);
  if (n == 0 || n > 4096)
    return gw__xml_fail(x, GW_EINVAL, "<phase>: state must have 1 to 4096 characters");
  for (size_t i = 0; i < n; i++)
    if (!strchr("GgyYrRsuoOx", state[i]))
      return gw__xml_fail(x, GW_EINVAL, "<phase state=\"%.40s\">: unknown signal state '%c'", state,
                          state[i]);
  gw_tls *tl = &net->tls.a[ld->cur_tls];
  gw_tlprogram *p = &net->programs.a[ld->cur_prog];
  if (p->nphases == 0 && tl->nlinks == 0) tl->nlinks = (uint32_t)n;
  if (n != tl->nlinks)
    return gw__xml_fail(x, GW_EINVAL, "<phase>: state has %zu signals, signal '%s' has %u", n,
                        tl->id, tl->nlinks);
  gw_phase ph = {dur, mn, mx, (uint32_t)net->chars.n};
  if (gw_vec_reserve(&net->chars, net->chars.n + n + 1)) return GW_ENOMEM;
  memcpy(net->chars.a + net->chars.n, state, n + 1);
  net->chars.n += n + 1;
  if (gw_vec_push(&net->phases, ph)) return GW_ENOMEM;
  p->nphases++;
  p->cycle_s += dur;
  return GW_OK;
}

static int end_tllogic(loader *ld, gw_xml *x) {
  gw_net *net = ld->net;
  gw_tlprogram *p = &net->programs.a[ld->cur_prog];
  if (p->nphases == 0) {
    /* In an additional file a <tlLogic> without phases changes the offset
    ** of a program already loaded (as SUMO's tlsCoordinator writes them). */
    const gw_tls *tl = &net->tls.a[ld->cur_tls];
    for (uint32_t i = 0; ld->additional && i < tl->prog_n; i++) {
      gw_tlprogram *old = &net->programs.a[net->refs.a[tl->prog_off + i]];
      if (strcmp(old->id, p->id) != 0) continue;
      old->offset_s = p->offset_s;
      gw__free(p->id);
      net->programs.n--;
      ld->cur_prog = GW_NONE;
      return GW_OK;
    }
    return gw__xml_fail(x, GW_EINVAL, "<tlLogic id=\"%s\" programID=\"%s\"> has no phases%s",
                        tl->id, p->id, ld->additional ? " and names no loaded program" : "");
  }
  int rc = gw__net_tls_program_add(net, ld->cur_tls, ld->cur_prog);
  ld->cur_prog = GW_NONE;
  return rc;
}

static int on_detector(loader *ld, gw_xml *x, const char **at) {
  gw_net *net = ld->net;
  const char *id, *lane;
  double pos, period;
  int rc;
  if ((rc = gw__xml_attr_str(x, "e1Detector", at, "id", 1, &id))) return rc;
  if ((rc = gw__xml_attr_str(x, "e1Detector", at, "lane", 1, &lane))) return rc;
  if ((rc = gw__xml_attr_double(x, "e1Detector", at, "pos", 1, 0, &pos))) return rc;
  if ((rc = gw__xml_attr_double(x, "e1Detector", at, "period", 0, 60, &period))) return rc;
  if (!gw__xml_attr(at, "period"))
    if ((rc = gw__xml_attr_double(x, "e1Detector", at, "freq", 0, 60, &period))) return rc;
  uint32_t l;
  if (!gw__strmap_get(&net->lane_ids, lane, &l))
    return gw__xml_fail(x, GW_ENOTFOUND, "detector '%s': lane '%s' is not in the network", id,
                        lane);
  double len = net->lanes.a[l].length_m;
  if (pos < 0) pos += len;
  if (pos < 0 || pos > len + 0.1)
    return gw__xml_fail(x, GW_ERANGE, "detector '%s': pos %g is beyond lane '%s' (%g m)", id, pos,
                        lane, len);
  gw_detector d = {NULL, l, pos, period > 0 ? period : 60};
  if (!(d.id = gw__strdup(id))) return GW_ENOMEM;
  if (gw_vec_push(&net->detectors, d)) {
    gw__free(d.id);
    return GW_ENOMEM;
  }
  return GW_OK;
}

static int on_start(void *ud, gw_xml *x, const char *name, const char **at) {
  loader *ld = ud;
  if (ld->additional) { /* only signal programs and detectors are ours */
    if (!strcmp(name, "tlLogic")) return on_tllogic(ld, x, at);
    if (!strcmp(name, "phase")) return on_phase(ld, x, at);
    if (!strcmp(name, "e1Detector") || !strcmp(name, "inductionLoop"))
      return on_detector(ld, x, at);
    return GW_OK;
  }
  if (!strcmp(name, "lane")) return on_lane(ld, x, at);
  if (!strcmp(name, "connection")) return on_connection(ld, x, at);
  if (!strcmp(name, "request")) return on_request(ld, x, at);
  if (!strcmp(name, "edge")) return on_edge(ld, x, at);
  if (!strcmp(name, "junction")) return on_junction(ld, x, at);
  if (!strcmp(name, "tlLogic")) return on_tllogic(ld, x, at);
  if (!strcmp(name, "phase")) return on_phase(ld, x, at);
  if (!strcmp(name, "e1Detector") || !strcmp(name, "inductionLoop")) return on_detector(ld, x, at);
  if (!strcmp(name, "location")) {
    const char *b = gw__xml_attr(at, "convBoundary");
    double v[4];
    if (b && sscanf(b, "%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3]) == 4)
      memcpy(ld->net->bounds, v, sizeof v);
  }
  return GW_OK;
}

static int on_end(void *ud, gw_xml *x, const char *name) {
  loader *ld = ud;
  if (!strcmp(name, "tlLogic")) return ld->cur_prog == GW_NONE ? GW_OK : end_tllogic(ld, x);
  if (ld->additional) return GW_OK;
  if (!strcmp(name, "edge"))
    ld->cur_edge = GW_NONE;
  else if (!strcmp(name, "junction"))
    ld->cur_junction = GW_NONE;
  return GW_OK;
}

static int resolve_pending(loader *ld, const char *path, gw_error *err) {
  gw_net *net = ld->net;
  for (size_t i = 0; i < ld->pending.n; i++) {
    pending_via p = ld->pending.a[i];
    uint32_t link = net->lanes.a[p.from_lane].link;
    if (link == GW_NONE) continue; /* internal lane not used by a link: nothing to extend */
    gw_link *lk = &net->links.a[link];
    if (lk->via[0] == p.from_lane && lk->via[1] == GW_NONE)
      lk->via[1] = p.via;
    else if (lk->via[1] != p.via)
      return gw__error(err, GW_EINVAL,
                       "%s: internal lane '%s' continues to '%s', but its connection already "
                       "has a path",
                       path, net->lanes.a[p.from_lane].id, net->lanes.a[p.via].id);
  }
  return GW_OK;
}

static void loader_init(loader *ld, gw_net *net, int additional) {
  memset(ld, 0, sizeof *ld);
  ld->net = net;
  ld->additional = additional;
  ld->cur_edge = ld->cur_junction = ld->cur_tls = ld->cur_prog = GW_NONE;
}

static int load(gw_net *net, const char *path, const char *buf, size_t len, gw_error *err) {
  loader ld;
  loader_init(&ld, net, 0);
  int rc = buf ? gw__xml_parse_buffer(path, buf, len, on_start, on_end, &ld, err)
               : gw__xml_parse_file(path, on_start, on_end, &ld, err);
  if (!rc) rc = resolve_pending(&ld, path, err);
  if (!rc && net->edges.n == 0)
    rc = gw__error(err, GW_EINVAL, "%s: no <edge> found: not a SUMO network", path);
  /* Junctions know their signal once both have been read. */
  for (size_t j = 0; !rc && j < net->junctions.n; j++) {
    uint32_t t;
    gw_junction *jn = &net->junctions.a[j];
    if (jn->type == GW_JUNCTION_OTHER)
      rc = gw__error(err, GW_EINVAL, "%s: junction '%s' is named by an edge but never defined",
                     path, jn->id);
    else if (gw__strmap_get(&net->tls_ids, jn->id, &t))
      jn->tls = t;
  }
  if (!rc) rc = gw__net_finish(net, path, err);
  gw_vec_free(&ld.pending);
  if (rc == GW_ENOMEM && err && !err->msg[0]) gw__error(err, rc, "%s: out of memory", path);
  return rc;
}

int gw__net_load_sumo_buffer(const char *name, const char *buf, size_t len, gw_net **out,
                             gw_error *err) {
  gw_net *net;
  int rc = gw__net_create(&net);
  if (rc) return gw__error(err, rc, "out of memory");
  if (err) err->msg[0] = 0;
  rc = load(net, name, buf, len, err);
  if (rc) {
    gw_net_destroy(net);
    return rc;
  }
  *out = net;
  return GW_OK;
}

int gw_net_load_sumo(const char *path, gw_net **out, gw_error *err) {
  return gw__net_load_sumo_buffer(path, NULL, 0, out, err);
}

int gw__net_load_sumo_additional_buffer(gw_net *net, const char *name, const char *buf, size_t len,
                                        gw_error *err) {
  loader ld;
  loader_init(&ld, net, 1);
  if (err) err->msg[0] = 0;
  int rc = buf ? gw__xml_parse_buffer(name, buf, len, on_start, on_end, &ld, err)
               : gw__xml_parse_file(name, on_start, on_end, &ld, err);
  gw_vec_free(&ld.pending);
  if (rc == GW_ENOMEM && err && !err->msg[0]) gw__error(err, rc, "%s: out of memory", name);
  return rc;
}

int gw_net_load_sumo_additional(gw_net *net, const char *path, gw_error *err) {
  return gw__net_load_sumo_additional_buffer(net, path, NULL, 0, err);
}

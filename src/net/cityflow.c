/*
** cityflow.c -- the CityFlow scenario importer: config.json, roadnet.json
** and flow.json into gw_net and gw_demand (see include/greenwave/cityflow.h
** for the mapping).
**
** The roadnet is built straight into the vectors of net_int.h: roads become
** edges with lanes offset from the road's polyline (lane 0 next to it,
** CityFlow's order) and trimmed by the width of the intersections at their
** ends; lane links become junction links, each with one internal lane along
** the link's points or a cubic curve between the two lane ends.  Right of
** way at a signal is derived from its phases only: road links never shown
** green together are foes, all others may run together (CityFlow settles
** crossing movements of one phase at their crossing points; we leave those
** to the dynamics).
**
** The demand is expanded here and handed to the route-file loader as
** generated SUMO XML (vTypes, one route per flow, one vehicle per emission),
** so that one container and one set of checks serve both formats.
**
** Every error names the file, the JSON path and what is wrong.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/vec.h"
#include "greenwave/cityflow.h"
#include "net/net_int.h"
#include "net/sumo_int.h"

#define CF_TURN_SPEED 8.33
#define CF_MAX_ROADLINKS 64
#define CF_MAX_LANELINKS 256

/* ---- JSON helpers ------------------------------------------------------- */

typedef struct jctx {
  const char *name; /* file name for messages */
  gw_error *err;
} jctx;

static int jfail(const jctx *c, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int jfail(const jctx *c, int code, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (path && path[0]) return gw__error(c->err, code, "%s: %s: %s", c->name, path, msg);
  return gw__error(c->err, code, "%s: %s", c->name, msg);
}

/* A number member.  Missing: dflt when optional, else an error. */
static int jnum(const jctx *c, const cJSON *obj, const char *path, const char *key, int required,
                double dflt, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) {
    if (required) return jfail(c, GW_EINVAL, path, "'%s' is missing", key);
    *out = dflt;
    return GW_OK;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return jfail(c, GW_EINVAL, path, "%s must be a number", key);
  *out = v->valuedouble;
  return GW_OK;
}

/* A number that must be > 0 (or >= 0 with zero_ok). */
static int jpos(const jctx *c, const cJSON *obj, const char *path, const char *key, int zero_ok,
                double *out) {
  int rc = jnum(c, obj, path, key, 1, 0, out);
  if (rc) return rc;
  if (zero_ok ? !(*out >= 0) : !(*out > 0))
    return jfail(c, GW_ERANGE, path, "%s must be a %s number", key,
                 zero_ok ? "non-negative" : "positive");
  if (*out > 1e7) return jfail(c, GW_ERANGE, path, "%s %g is too large", key, *out);
  return GW_OK;
}

static int jstr(const jctx *c, const cJSON *obj, const char *path, const char *key,
                const char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return jfail(c, GW_EINVAL, path, "'%s' is missing", key);
  if (!cJSON_IsString(v) || !v->valuestring)
    return jfail(c, GW_EINVAL, path, "%s must be a string", key);
  *out = v->valuestring;
  return GW_OK;
}

static int jbool(const jctx *c, const cJSON *obj, const char *path, const char *key, int dflt,
                 int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = dflt;
  if (!v) return GW_OK;
  if (cJSON_IsBool(v)) {
    *out = cJSON_IsTrue(v);
    return GW_OK;
  }
  if (cJSON_IsNumber(v)) { /* some generators write 0/1 */
    *out = v->valuedouble != 0;
    return GW_OK;
  }
  return jfail(c, GW_EINVAL, path, "%s must be true or false", key);
}

static const cJSON *jarr(const jctx *c, const cJSON *obj, const char *path, const char *key,
                         int required, int *rc) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *rc = GW_OK;
  if (!v) {
    if (required) *rc = jfail(c, GW_EINVAL, path, "'%s' is missing", key);
    return NULL;
  }
  if (!cJSON_IsArray(v)) {
    *rc = jfail(c, GW_EINVAL, path, "%s must be an array", key);
    return NULL;
  }
  return v;
}

/* A point {x, y}. */
static int jpoint(const jctx *c, const cJSON *p, const char *path, double *x, double *y) {
  if (!cJSON_IsObject(p)) return jfail(c, GW_EINVAL, path, "a point must be an object {x, y}");
  int rc = jnum(c, p, path, "x", 1, 0, x);
  if (!rc) rc = jnum(c, p, path, "y", 1, 0, y);
  if (!rc && (fabs(*x) > 1e8 || fabs(*y) > 1e8))
    rc = jfail(c, GW_ERANGE, path, "coordinate beyond 1e8 m");
  return rc;
}

static int read_file(const char *path, char **buf, size_t *len, gw_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return gw__error(err, GW_EIO, "%s: cannot open", path);
  size_t cap = 1 << 16, n = 0;
  char *b = gw__malloc(cap);
  if (!b) {
    fclose(f);
    return gw__error(err, GW_ENOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = gw__realloc(b, cap * 2);
      if (!nb) {
        gw__free(b);
        fclose(f);
        return gw__error(err, GW_ENOMEM, "%s: out of memory", path);
      }
      b = nb;
      cap *= 2;
    }
    size_t got = fread(b + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    gw__free(b);
    return gw__error(err, GW_EIO, "%s: read error", path);
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return GW_OK;
}

static cJSON *parse_json(const jctx *c, const char *buf, size_t len, int *rc) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
  *rc = GW_OK;
  if (!root) {
    size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
    size_t line = 1;
    for (size_t i = 0; i < off; i++) line += buf[i] == '\n';
    *rc = gw__error(c->err, GW_EPARSE, "%s:%zu: malformed JSON", c->name, line);
  }
  return root;
}

/* ---- geometry ----------------------------------------------------------- */

typedef GW_VEC(double) dvec;
typedef GW_VEC(uint32_t) u32vec;

static double poly_len(const double *p, uint32_t n) {
  double s = 0;
  for (uint32_t i = 1; i < n; i++) s += hypot(p[2 * i] - p[2 * i - 2], p[2 * i + 1] - p[2 * i - 1]);
  return s;
}

/* Appends a polyline's points to the net; returns the first point index. */
static int add_points(gw_net *net, const double *p, uint32_t n, uint32_t *off) {
  *off = (uint32_t)(net->points.n / 2);
  if (gw_vec_reserve(&net->points, net->points.n + 2 * (size_t)n)) return GW_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    double x = p[2 * i], y = p[2 * i + 1];
    net->points.a[net->points.n++] = x;
    net->points.a[net->points.n++] = y;
    if (x < net->bounds[0]) net->bounds[0] = x;
    if (y < net->bounds[1]) net->bounds[1] = y;
    if (x > net->bounds[2]) net->bounds[2] = x;
    if (y > net->bounds[3]) net->bounds[3] = y;
  }
  return GW_OK;
}

/* Cuts `d0` metres off the start and `d1` off the end of a polyline (in
** place), keeping at least a tenth of it. */
static uint32_t trim(double *p, uint32_t n, double d0, double d1) {
  double len = poly_len(p, n);
  if (d0 + d1 > 0.9 * len) {
    double k = 0.9 * len / (d0 + d1 + 1e-12);
    d0 *= k;
    d1 *= k;
  }
  for (int end = 0; end < 2; end++) {
    double d = end ? d1 : d0;
    if (end) /* reverse, trim the start, reverse back */
      for (uint32_t i = 0; i < n / 2; i++)
        for (int k = 0; k < 2; k++) {
          double t = p[2 * i + (uint32_t)k];
          p[2 * i + (uint32_t)k] = p[2 * (n - 1 - i) + (uint32_t)k];
          p[2 * (n - 1 - i) + (uint32_t)k] = t;
        }
    while (d > 0 && n > 2) {
      double s = hypot(p[2] - p[0], p[3] - p[1]);
      if (s > d) break;
      d -= s;
      memmove(p, p + 2, (size_t)(n - 1) * 2 * sizeof *p);
      n--;
    }
    double s = hypot(p[2] - p[0], p[3] - p[1]);
    if (d > 0 && s > 1e-9) {
      double f = d < s ? d / s : 0.999;
      p[0] += (p[2] - p[0]) * f;
      p[1] += (p[3] - p[1]) * f;
    }
    if (end)
      for (uint32_t i = 0; i < n / 2; i++)
        for (int k = 0; k < 2; k++) {
          double t = p[2 * i + (uint32_t)k];
          p[2 * i + (uint32_t)k] = p[2 * (n - 1 - i) + (uint32_t)k];
          p[2 * (n - 1 - i) + (uint32_t)k] = t;
        }
  }
  return n;
}

/* The polyline offset by `off` metres to the right of its direction. */
static void offset_right(const double *p, uint32_t n, double off, double *out) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t a = i > 0 ? i - 1 : 0, b = i + 1 < n ? i + 1 : n - 1;
    double dx = p[2 * b] - p[2 * a], dy = p[2 * b + 1] - p[2 * a + 1];
    double l = hypot(dx, dy);
    if (l < 1e-12) l = 1, dx = 1, dy = 0;
    out[2 * i] = p[2 * i] + off * dy / l;
    out[2 * i + 1] = p[2 * i + 1] - off * dx / l;
  }
}

/* ---- roadnet ------------------------------------------------------------ */

typedef struct inter_rec {
  double width;
  int is_virtual;
} inter_rec;

static int intern_id(gw_strmap *map, const char *id, char **slot, uint32_t idx) {
  *slot = gw__strdup(id);
  if (!*slot) return GW_ENOMEM;
  return gw__strmap_put(map, *slot, idx) ? GW_ENOMEM : GW_OK;
}

static int add_lane(gw_net *net, uint32_t edge, uint32_t index, const char *id, double width,
                    double speed, const double *pts, uint32_t npts, int internal) {
  gw_lane l;
  memset(&l, 0, sizeof l);
  l.edge = edge;
  l.index = index;
  l.width_m = width;
  l.speed_mps = speed;
  l.allow = GW_VC_ALL;
  l.link = GW_NONE;
  l.internal = (uint8_t)internal;
  double len = poly_len(pts, npts);
  l.length_m = len < 0.1 ? 0.1 : len;
  if (add_points(net, pts, npts, &l.shape_off)) return GW_ENOMEM;
  l.shape_n = npts;
  if (gw_vec_push(&net->lanes, l)) return GW_ENOMEM;
  uint32_t li = (uint32_t)net->lanes.n - 1;
  return intern_id(&net->lane_ids, id, &net->lanes.a[li].id, li);
}

static int has_space(const char *s) {
  for (; *s; s++)
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') return 1;
  return 0;
}

static int load_roads(const jctx *c, gw_net *net, const cJSON *roads, const inter_rec *inters) {
  int rc = GW_OK, i = 0;
  char path[96];
  dvec raw = {0}, lane = {0};
  const cJSON *r;
  cJSON_ArrayForEach(r, roads) {
    snprintf(path, sizeof path, "roads[%d]", i);
    const char *id, *si, *ei;
    uint32_t tmp, from, to;
    if (!cJSON_IsObject(r)) {
      rc = jfail(c, GW_EINVAL, path, "a road must be an object");
      break;
    }
    if ((rc = jstr(c, r, path, "id", &id)) || (rc = jstr(c, r, path, "startIntersection", &si)) ||
        (rc = jstr(c, r, path, "endIntersection", &ei)))
      break;
    if (!id[0] || has_space(id) || id[0] == ':') {
      rc = jfail(c, GW_EINVAL, path,
                 "road id '%.60s' must be non-empty, without spaces and not "
                 "start with ':'",
                 id);
      break;
    }
    if (gw__strmap_get(&net->edge_ids, id, &tmp)) {
      rc = jfail(c, GW_EINVAL, path, "road '%.60s' is defined twice", id);
      break;
    }
    if (!gw__strmap_get(&net->junction_ids, si, &from) ||
        !gw__strmap_get(&net->junction_ids, ei, &to)) {
      rc = jfail(c, GW_ENOTFOUND, path, "intersection '%.60s' is not defined",
                 gw__strmap_get(&net->junction_ids, si, &tmp) ? ei : si);
      break;
    }
    const cJSON *pts = jarr(c, r, path, "points", 1, &rc);
    if (rc) break;
    int np = cJSON_GetArraySize(pts);
    if (np < 2 || np > 10000) {
      rc = jfail(c, GW_EINVAL, path, "points must hold 2 to 10000 points");
      break;
    }
    raw.n = 0;
    if (gw_vec_reserve(&raw, 2 * (size_t)np) || gw_vec_reserve(&lane, 2 * (size_t)np)) {
      rc = GW_ENOMEM;
      break;
    }
    const cJSON *p;
    int k = 0;
    cJSON_ArrayForEach(p, pts) {
      char pp[128];
      snprintf(pp, sizeof pp, "%s.points[%d]", path, k++);
      if ((rc = jpoint(c, p, pp, &raw.a[raw.n], &raw.a[raw.n + 1]))) break;
      raw.n += 2;
    }
    if (rc) break;
    uint32_t n = (uint32_t)(raw.n / 2);
    if (poly_len(raw.a, n) < 0.5) {
      rc = jfail(c, GW_EINVAL, path, "road '%.60s' is shorter than 0.5 m", id);
      break;
    }
    n = trim(raw.a, n, inters[from].width, inters[to].width);
    const cJSON *lanes = jarr(c, r, path, "lanes", 1, &rc);
    if (rc) break;
    int nl = cJSON_GetArraySize(lanes);
    if (nl < 1 || nl > 32) {
      rc = jfail(c, GW_EINVAL, path, "lanes must hold 1 to 32 lanes");
      break;
    }
    gw_edge e;
    memset(&e, 0, sizeof e);
    e.from = from;
    e.to = to;
    e.lane0 = (uint32_t)net->lanes.n;
    if (gw_vec_push(&net->edges, e)) {
      rc = GW_ENOMEM;
      break;
    }
    uint32_t ei_ = (uint32_t)net->edges.n - 1;
    if ((rc = intern_id(&net->edge_ids, id, &net->edges.a[ei_].id, ei_))) break;
    double dsum = 0;
    const cJSON *ln;
    k = 0;
    cJSON_ArrayForEach(ln, lanes) {
      char lp[128], lid[160];
      double w, v;
      snprintf(lp, sizeof lp, "%s.lanes[%d]", path, k);
      if (!cJSON_IsObject(ln)) {
        rc = jfail(c, GW_EINVAL, lp, "a lane must be an object {width, maxSpeed}");
        break;
      }
      if ((rc = jpos(c, ln, lp, "width", 0, &w)) || (rc = jpos(c, ln, lp, "maxSpeed", 0, &v)))
        break;
      if (v > 1000) {
        rc = jfail(c, GW_ERANGE, lp, "maxSpeed %g m/s is above 1000", v);
        break;
      }
      dsum += w;
      offset_right(raw.a, n, dsum - w / 2, lane.a);
      snprintf(lid, sizeof lid, "%s_%d", id, k);
      if (gw__strmap_get(&net->lane_ids, lid, &tmp)) {
        rc = jfail(c, GW_EINVAL, lp, "lane id '%.60s' clashes with another lane", lid);
        break;
      }
      if ((rc = add_lane(net, ei_, (uint32_t)k, lid, w, v, lane.a, n, 0))) break;
      net->edges.a[ei_].nlanes++;
      k++;
    }
    if (rc) break;
    i++;
  }
  gw_vec_free(&raw);
  gw_vec_free(&lane);
  return rc;
}

/* The internal lane's shape: the lane link's points, or CityFlow's curve:
** a cubic Bezier from the end of `from` to the start of `to` whose inner
** control points lie half the chord along both lanes' directions (5 m when
** that is shorter and the intersection is at least 5 m wide), 11 points. */
static void link_curve(const gw_net *net, uint32_t from, uint32_t to, double width, double *out,
                       uint32_t n) {
  const gw_lane *a = &net->lanes.a[from], *b = &net->lanes.a[to];
  const double *pa = net->points.a + 2 * (size_t)a->shape_off;
  const double *pb = net->points.a + 2 * (size_t)b->shape_off;
  uint32_t na = a->shape_n;
  double x0 = pa[2 * na - 2], y0 = pa[2 * na - 1];
  double dx0 = x0 - pa[2 * na - 4], dy0 = y0 - pa[2 * na - 3];
  double x3 = pb[0], y3 = pb[1];
  double dx1 = pb[2] - x3, dy1 = pb[3] - y3;
  double l0 = hypot(dx0, dy0), l1 = hypot(dx1, dy1), d = hypot(x3 - x0, y3 - y0);
  if (l0 < 1e-12) l0 = 1;
  if (l1 < 1e-12) l1 = 1;
  double g0 = d * 0.5, g1 = d * 0.5;
  if (g0 * g0 < 25 && width >= 5) g0 = 5;
  if (g1 * g1 < 25 && width >= 5) g1 = 5;
  double x1 = x0 + dx0 / l0 * g0, y1 = y0 + dy0 / l0 * g0;
  double x2 = x3 - dx1 / l1 * g1, y2 = y3 - dy1 / l1 * g1;
  for (uint32_t i = 0; i < n; i++) {
    double t = (double)i / (double)(n - 1), u = 1 - t;
    out[2 * i] = u * u * u * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x3;
    out[2 * i + 1] = u * u * u * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y3;
  }
}

static int load_links(const jctx *c, gw_net *net, const cJSON *inter, int ii, uint32_t j,
                      uint32_t *rl_of_link) {
  char path[96];
  int rc;
  snprintf(path, sizeof path, "intersections[%d]", ii);
  const cJSON *rls = jarr(c, inter, path, "roadLinks", 0, &rc);
  if (rc || !rls) return rc;
  int nrl = cJSON_GetArraySize(rls);
  if (nrl > CF_MAX_ROADLINKS)
    return jfail(c, GW_ERANGE, path, "%d road links, at most %d", nrl, CF_MAX_ROADLINKS);
  const char *jid = net->junctions.a[j].id;
  int ri = 0;
  uint32_t k = 0;
  const cJSON *rl;
  dvec pts = {0};
  cJSON_ArrayForEach(rl, rls) {
    char rp[128];
    snprintf(rp, sizeof rp, "%s.roadLinks[%d]", path, ri);
    const char *type, *sr, *er;
    uint32_t se, ee;
    if (!cJSON_IsObject(rl)) {
      rc = jfail(c, GW_EINVAL, rp, "a road link must be an object");
      break;
    }
    if ((rc = jstr(c, rl, rp, "type", &type)) || (rc = jstr(c, rl, rp, "startRoad", &sr)) ||
        (rc = jstr(c, rl, rp, "endRoad", &er)))
      break;
    char dir = !strcmp(type, "go_straight")  ? 's'
               : !strcmp(type, "turn_left")  ? 'l'
               : !strcmp(type, "turn_right") ? 'r'
                                             : 0;
    if (!dir) {
      rc =
          jfail(c, GW_EINVAL, rp, "type '%.40s' is not go_straight, turn_left or turn_right", type);
      break;
    }
    if (!gw__strmap_get(&net->edge_ids, sr, &se) || !gw__strmap_get(&net->edge_ids, er, &ee)) {
      rc = jfail(c, GW_ENOTFOUND, rp, "road '%.60s' is not defined",
                 gw__strmap_get(&net->edge_ids, sr, &se) ? er : sr);
      break;
    }
    if (net->edges.a[se].to != j || net->edges.a[ee].from != j) {
      rc = jfail(c, GW_EINVAL, rp, "road '%.60s' does not end here or '%.60s' does not start here",
                 sr, er);
      break;
    }
    const cJSON *lls = jarr(c, rl, rp, "laneLinks", 1, &rc);
    if (rc) break;
    const cJSON *ll;
    int li = 0;
    cJSON_ArrayForEach(ll, lls) {
      char lp[160], eid[200], lid[220];
      double s, e;
      snprintf(lp, sizeof lp, "%s.laneLinks[%d]", rp, li++);
      if (!cJSON_IsObject(ll)) {
        rc = jfail(c, GW_EINVAL, lp, "a lane link must be an object");
        break;
      }
      if ((rc = jnum(c, ll, lp, "startLaneIndex", 1, 0, &s)) ||
          (rc = jnum(c, ll, lp, "endLaneIndex", 1, 0, &e)))
        break;
      if (!(s >= 0 && s < net->edges.a[se].nlanes && s == floor(s))) {
        rc = jfail(c, GW_ERANGE, lp, "startLaneIndex %g: road '%.60s' has %u lanes", s, sr,
                   net->edges.a[se].nlanes);
        break;
      }
      if (!(e >= 0 && e < net->edges.a[ee].nlanes && e == floor(e))) {
        rc = jfail(c, GW_ERANGE, lp, "endLaneIndex %g: road '%.60s' has %u lanes", e, er,
                   net->edges.a[ee].nlanes);
        break;
      }
      if (k >= CF_MAX_LANELINKS) {
        rc = jfail(c, GW_ERANGE, path, "more than %d lane links", CF_MAX_LANELINKS);
        break;
      }
      uint32_t fl = net->edges.a[se].lane0 + (uint32_t)s, tl = net->edges.a[ee].lane0 + (uint32_t)e;
      const cJSON *lpts = jarr(c, ll, lp, "points", 0, &rc);
      if (rc) break;
      int np = lpts ? cJSON_GetArraySize(lpts) : 0;
      pts.n = 0;
      if (np >= 2 && np <= 10000) {
        if (gw_vec_reserve(&pts, 2 * (size_t)np)) {
          rc = GW_ENOMEM;
          break;
        }
        const cJSON *p;
        int q = 0;
        cJSON_ArrayForEach(p, lpts) {
          char pp[200];
          snprintf(pp, sizeof pp, "%s.points[%d]", lp, q++);
          if ((rc = jpoint(c, p, pp, &pts.a[pts.n], &pts.a[pts.n + 1]))) break;
          pts.n += 2;
        }
        if (rc) break;
      } else {
        if (gw_vec_reserve(&pts, 2 * 11)) {
          rc = GW_ENOMEM;
          break;
        }
        const cJSON *jw = cJSON_GetObjectItemCaseSensitive(inter, "width");
        link_curve(net, fl, tl, cJSON_IsNumber(jw) ? jw->valuedouble : 0, pts.a, 11);
        pts.n = 22;
      }
      /* One internal edge with one lane per lane link. */
      snprintf(eid, sizeof eid, ":%s_%u", jid, k);
      snprintf(lid, sizeof lid, "%s_0", eid);
      uint32_t tmp;
      if (gw__strmap_get(&net->edge_ids, eid, &tmp)) {
        rc = jfail(c, GW_EINVAL, lp, "internal id '%.60s' clashes with another", eid);
        break;
      }
      gw_edge ed;
      memset(&ed, 0, sizeof ed);
      ed.from = ed.to = GW_NONE;
      ed.lane0 = (uint32_t)net->lanes.n;
      ed.nlanes = 1;
      ed.internal = 1;
      if (gw_vec_push(&net->edges, ed)) {
        rc = GW_ENOMEM;
        break;
      }
      uint32_t en = (uint32_t)net->edges.n - 1;
      if ((rc = intern_id(&net->edge_ids, eid, &net->edges.a[en].id, en))) break;
      double v = net->lanes.a[fl].speed_mps;
      if (dir != 's' && v > CF_TURN_SPEED) v = CF_TURN_SPEED;
      if ((rc = add_lane(net, en, 0, lid, net->lanes.a[fl].width_m, v, pts.a, (uint32_t)(pts.n / 2),
                         1)))
        break;
      gw_link lk;
      memset(&lk, 0, sizeof lk);
      lk.from_lane = fl;
      lk.to_lane = tl;
      lk.via[0] = (uint32_t)net->lanes.n - 1;
      lk.via[1] = GW_NONE;
      lk.junction = j;
      lk.req_index = -1;
      lk.tls = GW_NONE;
      lk.tls_index = (int32_t)k;
      lk.dir = dir;
      lk.state = 'M';
      if (gw_vec_push(&net->links, lk)) {
        rc = GW_ENOMEM;
        break;
      }
      rl_of_link[k++] = (uint32_t)ri;
    }
    if (rc) break;
    ri++;
  }
  gw_vec_free(&pts);
  return rc;
}

/* The signal of intersection j: one static program from the light phases,
** and foes between road links no phase shows together. */
static int load_signal(const jctx *c, gw_net *net, const cJSON *inter, int ii, uint32_t j,
                       uint32_t link0, uint32_t nlinks, const uint32_t *rl_of_link) {
  char path[96];
  int rc;
  snprintf(path, sizeof path, "intersections[%d].trafficLight", ii);
  const cJSON *tl = cJSON_GetObjectItemCaseSensitive(inter, "trafficLight");
  if (!tl) return GW_OK;
  if (!cJSON_IsObject(tl)) return jfail(c, GW_EINVAL, path, "must be an object");
  const cJSON *phs = jarr(c, tl, path, "lightphases", 0, &rc);
  if (rc || !phs || cJSON_GetArraySize(phs) == 0 || nlinks == 0) return rc;
  int nrl = 0;
  for (uint32_t k = 0; k < nlinks; k++)
    if ((int)rl_of_link[k] + 1 > nrl) nrl = (int)rl_of_link[k] + 1;
  {
    const cJSON *rls = cJSON_GetObjectItemCaseSensitive(inter, "roadLinks");
    nrl = cJSON_GetArraySize(rls);
  }
  gw_tls t;
  memset(&t, 0, sizeof t);
  t.nlinks = nlinks;
  if (gw_vec_push(&net->tls, t)) return GW_ENOMEM;
  uint32_t ti = (uint32_t)net->tls.n - 1;
  if ((rc = intern_id(&net->tls_ids, net->junctions.a[j].id, &net->tls.a[ti].id, ti))) return rc;
  gw_tlprogram p;
  memset(&p, 0, sizeof p);
  p.type = GW_TL_STATIC;
  p.phase0 = (uint32_t)net->phases.n;
  if (!(p.id = gw__strdup("0"))) return GW_ENOMEM;
  if (gw_vec_push(&net->programs, p)) {
    gw__free(p.id);
    return GW_ENOMEM;
  }
  uint32_t pi = (uint32_t)net->programs.n - 1;
  uint64_t together[CF_MAX_ROADLINKS];
  memset(together, 0, sizeof together);
  const cJSON *ph;
  int k = 0;
  cJSON_ArrayForEach(ph, phs) {
    char pp[160];
    double dur;
    snprintf(pp, sizeof pp, "%s.lightphases[%d]", path, k++);
    if (!cJSON_IsObject(ph)) return jfail(c, GW_EINVAL, pp, "a phase must be an object");
    if ((rc = jpos(c, ph, pp, "time", 0, &dur))) return rc;
    if (dur > 86400) return jfail(c, GW_ERANGE, pp, "time %g s is above a day", dur);
    const cJSON *av = jarr(c, ph, pp, "availableRoadLinks", 1, &rc);
    if (rc) return rc;
    uint64_t on = 0;
    const cJSON *a;
    int q = 0;
    cJSON_ArrayForEach(a, av) {
      if (!cJSON_IsNumber(a) || !(a->valuedouble >= 0 && a->valuedouble < nrl) ||
          a->valuedouble != floor(a->valuedouble))
        return jfail(c, GW_ERANGE, pp, "availableRoadLinks[%d] is not a road link index below %d",
                     q, nrl);
      on |= 1ull << (int)a->valuedouble;
      q++;
    }
    for (int r = 0; r < nrl; r++)
      if (on >> r & 1) together[r] |= on;
    gw_phase gp = {dur, dur, dur, (uint32_t)net->chars.n};
    if (gw_vec_reserve(&net->chars, net->chars.n + nlinks + 1)) return GW_ENOMEM;
    for (uint32_t l = 0; l < nlinks; l++)
      net->chars.a[net->chars.n++] = (on >> rl_of_link[l] & 1) ? 'G' : 'r';
    net->chars.a[net->chars.n++] = 0;
    if (gw_vec_push(&net->phases, gp)) return GW_ENOMEM;
    net->programs.a[pi].nphases++;
    net->programs.a[pi].cycle_s += dur;
  }
  if ((rc = gw__net_tls_program_add(net, ti, pi))) return rc;
  net->junctions.a[j].type = GW_JUNCTION_TRAFFIC_LIGHT;
  net->junctions.a[j].tls = ti;
  /* Foes: links of road links never green together. */
  uint32_t buf[CF_MAX_LANELINKS];
  for (uint32_t a = 0; a < nlinks; a++) {
    gw_link *lk = &net->links.a[link0 + a];
    lk->tls = ti;
    lk->state = 'O';
    uint32_t m = 0;
    for (uint32_t b = 0; b < nlinks; b++)
      if (b != a && !(together[rl_of_link[a]] >> rl_of_link[b] & 1)) buf[m++] = link0 + b;
    if (gw_vec_reserve(&net->refs, net->refs.n + m + 1)) return GW_ENOMEM;
    lk = &net->links.a[link0 + a];
    lk->foe_off = (uint32_t)net->refs.n;
    lk->foe_n = m;
    memcpy(net->refs.a + net->refs.n, buf, m * sizeof *buf);
    net->refs.n += m;
  }
  return GW_OK;
}

static int load_roadnet(const jctx *c, gw_net *net, const cJSON *root) {
  int rc;
  if (!cJSON_IsObject(root))
    return jfail(c, GW_EINVAL, NULL, "the top level must be an object {intersections, roads}");
  const cJSON *inters = jarr(c, root, "(top)", "intersections", 1, &rc);
  if (rc) return rc;
  const cJSON *roads = jarr(c, root, "(top)", "roads", 1, &rc);
  if (rc) return rc;
  int ni = cJSON_GetArraySize(inters);
  if (ni == 0) return jfail(c, GW_EINVAL, "intersections", "no intersection");
  inter_rec *ir = gw__calloc((size_t)ni + 1, sizeof *ir);
  uint32_t *rl_of_link = gw__calloc(CF_MAX_LANELINKS, sizeof *rl_of_link);
  if (!ir || !rl_of_link) {
    gw__free(ir);
    gw__free(rl_of_link);
    return GW_ENOMEM;
  }
  const cJSON *it;
  int i = 0;
  rc = GW_OK;
  cJSON_ArrayForEach(it, inters) {
    char path[64];
    const char *id;
    double x, y;
    snprintf(path, sizeof path, "intersections[%d]", i);
    if (!cJSON_IsObject(it)) {
      rc = jfail(c, GW_EINVAL, path, "an intersection must be an object");
      break;
    }
    if ((rc = jstr(c, it, path, "id", &id))) break;
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(it, "point");
    if (!pt) {
      rc = jfail(c, GW_EINVAL, path, "'point' is missing");
      break;
    }
    char pp[80];
    snprintf(pp, sizeof pp, "%s.point", path);
    if ((rc = jpoint(c, pt, pp, &x, &y))) break;
    if ((rc = jbool(c, it, path, "virtual", 0, &ir[i].is_virtual))) break;
    if ((rc = jnum(c, it, path, "width", 0, 0, &ir[i].width))) break;
    if (!(ir[i].width >= 0 && ir[i].width < 1000)) {
      rc = jfail(c, GW_ERANGE, path, "width must be a number in [0, 1000)");
      break;
    }
    if (ir[i].is_virtual) ir[i].width = 0;
    uint32_t tmp;
    if (!id[0] || gw__strmap_get(&net->junction_ids, id, &tmp)) {
      rc = jfail(c, GW_EINVAL, path, "intersection id '%.60s' is empty or defined twice", id);
      break;
    }
    gw_junction jn;
    memset(&jn, 0, sizeof jn);
    jn.x = x;
    jn.y = y;
    jn.tls = GW_NONE;
    jn.type = ir[i].is_virtual ? GW_JUNCTION_DEAD_END : GW_JUNCTION_PRIORITY;
    if (gw_vec_push(&net->junctions, jn)) {
      rc = GW_ENOMEM;
      break;
    }
    if ((rc = intern_id(&net->junction_ids, id, &net->junctions.a[i].id, (uint32_t)i))) break;
    i++;
  }
  if (!rc) rc = load_roads(c, net, roads, ir);
  i = 0;
  cJSON_ArrayForEach(it, inters) {
    if (rc) break;
    if (ir[i].is_virtual) {
      i++;
      continue;
    }
    uint32_t link0 = (uint32_t)net->links.n;
    if ((rc = load_links(c, net, it, i, (uint32_t)i, rl_of_link))) break;
    uint32_t nl = (uint32_t)net->links.n - link0;
    if ((rc = load_signal(c, net, it, i, (uint32_t)i, link0, nl, rl_of_link))) break;
    i++;
  }
  gw__free(ir);
  gw__free(rl_of_link);
  if (!rc && net->edges.n == 0) rc = jfail(c, GW_EINVAL, "roads", "no road");
  if (!rc) rc = gw__net_finish(net, c->name, c->err);
  return rc;
}

int gw_net_load_cityflow_buffer(const char *name, const char *buf, size_t len, gw_net **out,
                                gw_error *err) {
  jctx c = {name, err};
  if (err) err->msg[0] = 0;
  int rc;
  cJSON *root = parse_json(&c, buf, len, &rc);
  if (!root) return rc;
  gw_net *net;
  if ((rc = gw__net_create(&net))) {
    cJSON_Delete(root);
    return gw__error(err, rc, "%s: out of memory", name);
  }
  rc = load_roadnet(&c, net, root);
  cJSON_Delete(root);
  if (rc) {
    if (rc == GW_ENOMEM && err && !err->msg[0]) gw__error(err, rc, "%s: out of memory", name);
    gw_net_destroy(net);
    return rc;
  }
  *out = net;
  return GW_OK;
}

int gw_net_load_cityflow(const char *path, gw_net **out, gw_error *err) {
  char *buf;
  size_t len;
  int rc = read_file(path, &buf, &len, err);
  if (rc) return rc;
  rc = gw_net_load_cityflow_buffer(path, buf, len, out, err);
  gw__free(buf);
  return rc;
}

/* ---- flows -------------------------------------------------------------- */

typedef struct sbuf {
  char *a;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *s, const char *fmt, ...) {
  if (s->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->a ? s->a + s->n : NULL, s->a ? s->cap - s->n : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      s->oom = 1;
      return;
    }
    if (s->a && s->n + (size_t)n < s->cap) {
      s->n += (size_t)n;
      return;
    }
    size_t cap = s->cap ? s->cap * 2 : 1 << 16;
    while (cap < s->n + (size_t)n + 1) cap *= 2;
    char *p = gw__realloc(s->a, cap);
    if (!p) {
      s->oom = 1;
      return;
    }
    s->a = p;
    s->cap = cap;
  }
}

/* Writes s with XML's five special characters escaped. */
static void sb_xml(sbuf *s, const char *str) {
  for (; *str; str++) {
    switch (*str) {
      case '&':
        sb_printf(s, "&amp;");
        break;
      case '<':
        sb_printf(s, "&lt;");
        break;
      case '>':
        sb_printf(s, "&gt;");
        break;
      case '"':
        sb_printf(s, "&quot;");
        break;
      case '\'':
        sb_printf(s, "&apos;");
        break;
      default:
        sb_printf(s, "%c", *str);
        break;
    }
  }
}

/* Shortest path by length from edge a to edge b (both normal); appends the
** edges after a up to b.  0 when there is none. */
static int shortest_path(const gw_net *net, uint32_t a, uint32_t b, u32vec *out, double *dist,
                         uint32_t *prev, uint8_t *done) {
  uint32_t ne = (uint32_t)net->edges.n;
  for (uint32_t e = 0; e < ne; e++) {
    dist[e] = INFINITY;
    prev[e] = GW_NONE;
    done[e] = 0;
  }
  dist[a] = 0;
  for (;;) {
    uint32_t u = GW_NONE;
    for (uint32_t e = 0; e < ne; e++)
      if (!done[e] && isfinite(dist[e]) && (u == GW_NONE || dist[e] < dist[u])) u = e;
    if (u == GW_NONE) return 0;
    if (u == b && u != a) break;
    done[u] = 1;
    const gw_edge *ed = &net->edges.a[u];
    for (uint32_t i = 0; i < ed->nlanes; i++) {
      const gw_lane *ln = &net->lanes.a[ed->lane0 + i];
      for (uint32_t k = 0; k < ln->out_n; k++) {
        const gw_link *lk = &net->links.a[net->refs.a[ln->out_off + k]];
        uint32_t v = net->lanes.a[lk->to_lane].edge;
        double nd = dist[u] + net->lanes.a[net->edges.a[v].lane0].length_m;
        if (v == b && b == a) { /* a loop back to the start */
          prev[v] = u;
          dist[v] = nd;
          goto found;
        }
        if (!done[v] && nd < dist[v]) {
          dist[v] = nd;
          prev[v] = u;
        }
      }
    }
  }
found:;
  uint32_t n0 = (uint32_t)out->n, e = b;
  do {
    if (gw_vec_push(out, e)) return -1;
    e = prev[e];
  } while (e != a && e != GW_NONE);
  /* reverse what was appended */
  for (uint32_t i = n0, j = (uint32_t)out->n - 1; i < j; i++, j--) {
    uint32_t t = out->a[i];
    out->a[i] = out->a[j];
    out->a[j] = t;
  }
  return 1;
}

static int edges_linked(const gw_net *net, uint32_t a, uint32_t b) {
  const gw_edge *ed = &net->edges.a[a];
  for (uint32_t i = 0; i < ed->nlanes; i++) {
    const gw_lane *ln = &net->lanes.a[ed->lane0 + i];
    for (uint32_t k = 0; k < ln->out_n; k++)
      if (net->lanes.a[net->links.a[net->refs.a[ln->out_off + k]].to_lane].edge == b) return 1;
  }
  return 0;
}

typedef struct vparams {
  double v[9];
} vparams;

static const char *const vkeys[9] = {"length",    "width",       "maxPosAcc",
                                     "maxNegAcc", "usualPosAcc", "usualNegAcc",
                                     "minGap",    "maxSpeed",    "headwayTime"};

static int load_flows(const jctx *c, const gw_net *net, const cJSON *root, double horizon,
                      double step, sbuf *x) {
  if (!cJSON_IsArray(root)) return jfail(c, GW_EINVAL, NULL, "the top level must be an array");
  uint32_t ne = (uint32_t)net->edges.n;
  double *dist = gw__malloc((ne + 1) * sizeof *dist);
  uint32_t *prev = gw__malloc((ne + 1) * sizeof *prev);
  uint8_t *done = gw__malloc(ne + 1);
  u32vec route = {0};
  GW_VEC(vparams) types = {0};
  int rc = dist && prev && done ? GW_OK : GW_ENOMEM;
  uint64_t total = 0;
  sb_printf(x, "<routes>\n");
  const cJSON *f;
  int i = 0;
  cJSON_ArrayForEach(f, root) {
    if (rc) break;
    char path[64];
    snprintf(path, sizeof path, "[%d]", i);
    if (!cJSON_IsObject(f)) {
      rc = jfail(c, GW_EINVAL, path, "a flow must be an object");
      break;
    }
    const cJSON *veh = cJSON_GetObjectItemCaseSensitive(f, "vehicle");
    if (!cJSON_IsObject(veh)) {
      rc = jfail(c, GW_EINVAL, path, "'vehicle' is missing or not an object");
      break;
    }
    char vp[80];
    snprintf(vp, sizeof vp, "%s.vehicle", path);
    vparams p;
    for (int k = 0; k < 9 && !rc; k++) {
      int zero_ok = k == 6 || k == 8; /* minGap, headwayTime */
      rc = jpos(c, veh, vp, vkeys[k], zero_ok, &p.v[k]);
    }
    if (rc) break;
    if (p.v[0] > 100 || p.v[7] > 1000 || p.v[2] > 50 || p.v[3] > 100 || p.v[5] > 50) {
      rc = jfail(c, GW_ERANGE, vp,
                 "a vehicle parameter is out of range (length <= 100 m, "
                 "maxSpeed <= 1000 m/s, accelerations <= 50 m/s^2)");
      break;
    }
    double interval = 1, start = 0, end = -1;
    if ((rc = jpos(c, f, path, "interval", 0, &interval)) ||
        (rc = jnum(c, f, path, "startTime", 0, 0, &start)) ||
        (rc = jnum(c, f, path, "endTime", 0, -1, &end)))
      break;
    if (!(start >= 0 && start < 1e8) || !(end == -1 || (end >= 0 && end < 1e8))) {
      rc = jfail(c, GW_ERANGE, path, "startTime must be in [0, 1e8) and endTime -1 or in [0, 1e8)");
      break;
    }
    double last = end;
    if (end < 0) {
      if (horizon < 0) {
        rc = jfail(c, GW_EINVAL, path, "endTime -1 (no end) needs a simulation end");
        break;
      }
      last = horizon;
    }
    const cJSON *rt = jarr(c, f, path, "route", 1, &rc);
    if (rc) break;
    route.n = 0;
    const cJSON *r;
    int k = 0;
    uint32_t prev_e = GW_NONE;
    cJSON_ArrayForEach(r, rt) {
      char rp[96];
      snprintf(rp, sizeof rp, "%s.route[%d]", path, k++);
      uint32_t e;
      if (!cJSON_IsString(r) || !r->valuestring) {
        rc = jfail(c, GW_EINVAL, rp, "a road id must be a string");
        break;
      }
      e = gw_net_find_edge(net, r->valuestring);
      if (e == GW_NONE || net->edges.a[e].internal) {
        rc = jfail(c, GW_ENOTFOUND, rp, "road '%.60s' is not in the roadnet", r->valuestring);
        break;
      }
      if (e == prev_e) continue; /* CityFlow skips a repeated anchor */
      if (prev_e != GW_NONE && !edges_linked(net, prev_e, e)) {
        int ok = shortest_path(net, prev_e, e, &route, dist, prev, done);
        if (ok < 0) {
          rc = GW_ENOMEM;
          break;
        }
        if (!ok) {
          rc = jfail(c, GW_EINVAL, path, "route: no path from road '%.60s' to road '%.60s'",
                     net->edges.a[prev_e].id, r->valuestring);
          break;
        }
      } else if (gw_vec_push(&route, e)) {
        rc = GW_ENOMEM;
        break;
      }
      prev_e = e;
    }
    if (rc) break;
    if (route.n == 0) {
      rc = jfail(c, GW_EINVAL, path, "route is empty");
      break;
    }
    uint32_t t = 0;
    while (t < types.n && memcmp(&types.a[t], &p, sizeof p) != 0) t++;
    if (t == types.n) {
      if (gw_vec_push(&types, p)) {
        rc = GW_ENOMEM;
        break;
      }
      double emerg = p.v[3] > p.v[5] ? p.v[3] : p.v[5];
      sb_printf(x,
                "<vType id=\"cf%u\" length=\"%.17g\" width=\"%.17g\" accel=\"%.17g\" "
                "decel=\"%.17g\" emergencyDecel=\"%.17g\" minGap=\"%.17g\" maxSpeed=\"%.17g\" "
                "tau=\"%.17g\" sigma=\"0\" speedFactor=\"1\" speedDev=\"0\"/>\n",
                t, p.v[0], p.v[1], p.v[2], p.v[5], emerg, p.v[6], p.v[7], p.v[8]);
    }
    sb_printf(x, "<route id=\"cfr%d\" edges=\"", i);
    for (size_t q = 0; q < route.n; q++) {
      if (q) sb_printf(x, " ");
      sb_xml(x, net->edges.a[route.a[q]].id);
    }
    sb_printf(x, "\"/>\n");
    /* CityFlow emits at the first step at or after startTime, then at the
    ** first step at or after each further interval, while the step's time
    ** is at most endTime. */
    double t0 = ceil(start / step - 1e-9) * step;
    for (uint64_t n = 0;; n++) {
      double tt = t0 + ceil((double)n * interval / step - 1e-9) * step;
      if (tt > last + 1e-9) break;
      if (++total > 10000000) {
        rc = jfail(c, GW_ERANGE, path, "the flows make more than 10 million vehicles");
        break;
      }
      sb_printf(x,
                "<vehicle id=\"flow_%d_%llu\" type=\"cf%u\" route=\"cfr%d\" depart=\"%.17g\" "
                "departLane=\"best\" departSpeed=\"0\" departPos=\"0\"/>\n",
                i, (unsigned long long)n, t, i, tt);
    }
    i++;
  }
  sb_printf(x, "</routes>\n");
  if (!rc && x->oom) rc = GW_ENOMEM;
  gw__free(dist);
  gw__free(prev);
  gw__free(done);
  gw_vec_free(&route);
  gw_vec_free(&types);
  return rc;
}

static int demand_load(const gw_net *net, const char *name, const char *buf, size_t len,
                       double horizon_s, double step, gw_demand **out, gw_error *err) {
  jctx c = {name, err};
  if (err) err->msg[0] = 0;
  int rc;
  cJSON *root = parse_json(&c, buf, len, &rc);
  if (!root) return rc;
  sbuf x = {NULL, 0, 0, 0};
  rc = load_flows(&c, net, root, horizon_s, step, &x);
  cJSON_Delete(root);
  gw_demand *d = NULL;
  if (!rc) {
    char xname[300];
    snprintf(xname, sizeof xname, "%s (as routes)", name);
    rc = gw__demand_load_sumo_buffer(&d, net, xname, x.a, x.n, err);
  }
  if (!rc && !d) rc = gw_demand_create(&d);
  if (!rc) rc = gw_demand_finish(d, err);
  gw__free(x.a);
  if (rc) {
    if (rc == GW_ENOMEM && err && !err->msg[0]) gw__error(err, rc, "%s: out of memory", name);
    gw_demand_destroy(d);
    return rc;
  }
  *out = d;
  return GW_OK;
}

int gw_demand_load_cityflow_buffer(const gw_net *net, const char *name, const char *buf, size_t len,
                                   double horizon_s, gw_demand **out, gw_error *err) {
  return demand_load(net, name, buf, len, horizon_s, 1.0, out, err);
}

static int demand_load_file(const gw_net *net, const char *path, double horizon_s, double step,
                            gw_demand **out, gw_error *err) {
  char *buf;
  size_t len;
  int rc = read_file(path, &buf, &len, err);
  if (rc) return rc;
  rc = demand_load(net, path, buf, len, horizon_s, step, out, err);
  gw__free(buf);
  return rc;
}

int gw_demand_load_cityflow(const gw_net *net, const char *path, double horizon_s, gw_demand **out,
                            gw_error *err) {
  return demand_load_file(net, path, horizon_s, 1.0, out, err);
}

/* ---- config ------------------------------------------------------------- */

static int exists(const char *p) {
  FILE *f = fopen(p, "rb");
  if (!f) return 0;
  fclose(f);
  return 1;
}

/* Where dir + file is: taken from the configuration's folder first, then
** from the working directory (benchmark configurations name paths from
** their repository's root), then the file alone next to the config. */
static char *locate(const char *cfg, const char *dir, const char *file) {
  const char *slash = strrchr(cfg, '/');
  size_t cn = slash ? (size_t)(slash - cfg) + 1 : 0;
  size_t need = cn + strlen(dir) + strlen(file) + 2;
  char *p = gw__malloc(need);
  if (!p) return NULL;
  if (file[0] == '/') {
    snprintf(p, need, "%s", file);
    return p;
  }
  if (dir[0] != '/') {
    snprintf(p, need, "%.*s%s%s", (int)cn, cfg, dir, file);
    if (exists(p)) return p;
  }
  snprintf(p, need, "%s%s", dir, file);
  if (exists(p)) return p;
  snprintf(p, need, "%.*s%s", (int)cn, cfg, file);
  if (exists(p)) return p;
  if (dir[0] != '/')
    snprintf(p, need, "%.*s%s%s", (int)cn, cfg, dir, file);
  else
    snprintf(p, need, "%s%s", dir, file);
  return p;
}

int gw_scenario_load_cityflow(const char *config_path, double horizon_s, gw_scenario **out,
                              gw_cityflow_settings *settings, gw_error *err) {
  char *buf;
  size_t len;
  int rc = read_file(config_path, &buf, &len, err);
  if (rc) return rc;
  jctx c = {config_path, err};
  cJSON *root = parse_json(&c, buf, len, &rc);
  gw__free(buf);
  if (!root) return rc;
  gw_cityflow_settings st;
  memset(&st, 0, sizeof st);
  const char *dir = "", *rn = NULL, *fl = NULL;
  double seed = 0;
  char *rpath = NULL, *fpath = NULL;
  gw_scenario *sc = NULL;
  if (!cJSON_IsObject(root)) {
    rc = jfail(&c, GW_EINVAL, NULL, "the top level must be an object");
    goto done;
  }
  if (cJSON_GetObjectItemCaseSensitive(root, "intersections")) {
    rc = jfail(&c, GW_EINVAL, NULL,
               "this is a roadnet file; give the config.json that names it and the flow file");
    goto done;
  }
  if ((rc = jpos(&c, root, "(top)", "interval", 0, &st.interval_s)) ||
      (rc = jnum(&c, root, "(top)", "seed", 0, 0, &seed)) ||
      (rc = jstr(&c, root, "(top)", "roadnetFile", &rn)) ||
      (rc = jstr(&c, root, "(top)", "flowFile", &fl)) ||
      (rc = jbool(&c, root, "(top)", "rlTrafficLight", 0, &st.rl_traffic_light)) ||
      (rc = jbool(&c, root, "(top)", "laneChange", 0, &st.lane_change)))
    goto done;
  if (cJSON_GetObjectItemCaseSensitive(root, "dir") && (rc = jstr(&c, root, "(top)", "dir", &dir)))
    goto done;
  if (!(st.interval_s >= 0.01 && st.interval_s <= 10)) {
    rc = jfail(&c, GW_ERANGE, "(top)", "interval %g is not in [0.01, 10] s", st.interval_s);
    goto done;
  }
  if (!(seed >= 0 && seed < 18446744073709551615.0)) {
    rc = jfail(&c, GW_ERANGE, "(top)", "seed must be a non-negative integer");
    goto done;
  }
  st.seed = (uint64_t)seed;
  rpath = locate(config_path, dir, rn);
  fpath = locate(config_path, dir, fl);
  sc = gw__calloc(1, sizeof *sc);
  if (!rpath || !fpath || !sc) {
    rc = gw__error(err, GW_ENOMEM, "out of memory");
    goto done;
  }
  sc->begin_s = 0;
  sc->end_s = horizon_s >= 0 ? horizon_s : 3600;
  sc->step_s = st.interval_s;
  sc->seed = st.seed;
  sc->time_to_teleport_s = 0; /* CityFlow never teleports */
  if ((rc = gw_net_load_cityflow(rpath, &sc->net, err))) goto done;
  if ((rc = demand_load_file(sc->net, fpath, sc->end_s, st.interval_s, &sc->demand, err)))
    goto done;
  for (uint32_t t = 0; t < sc->net->tls.n; t++) {
    double d = gw_cityflow_transition_s(sc->net, t);
    if (d > st.transition_s) st.transition_s = d;
  }
done:
  cJSON_Delete(root);
  gw__free(rpath);
  gw__free(fpath);
  if (rc) {
    gw_scenario_destroy(sc);
    return rc;
  }
  if (settings) *settings = st;
  *out = sc;
  return GW_OK;
}

int gw_cityflow_is_json(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  int ch;
  while ((ch = fgetc(f)) != EOF && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) {
  }
  fclose(f);
  return ch == '{';
}

double gw_cityflow_transition_s(const gw_net *net, uint32_t tls) {
  if (tls >= net->tls.n) return 0;
  const gw_tls *tl = &net->tls.a[tls];
  const gw_tlprogram *p = &net->programs.a[tl->active];
  if (p->nphases < 2) return 0;
  /* Links green in every phase. */
  for (uint32_t i = 0; i < p->nphases; i++) {
    const char *st = gw__net_state(net, &net->phases.a[p->phase0 + i]);
    int only_common = 1, any_other = 0;
    for (uint32_t k = 0; k < tl->nlinks && only_common; k++) {
      if (st[k] != 'G' && st[k] != 'g') continue;
      int always = 1;
      for (uint32_t q = 0; q < p->nphases && always; q++) {
        char s = gw__net_state(net, &net->phases.a[p->phase0 + q])[k];
        always = s == 'G' || s == 'g';
      }
      if (!always) only_common = 0;
    }
    for (uint32_t q = 0; q < p->nphases && !any_other; q++) any_other = q != i;
    if (only_common && any_other) return net->phases.a[p->phase0 + i].duration_s;
  }
  return 0;
}

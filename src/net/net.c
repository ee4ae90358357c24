/*
** net.c -- construction, finishing and read access of gw_net.
**
** Importers push raw objects into the vectors of net_int.h; gw__net_finish()
** then turns the textual right-of-way data of SUMO-style junctions (request
** response/foes bit strings, intLanes lists) into per-link index slices, the
** only form the simulator reads.  Invariants after finishing: every link has
** from_lane/to_lane on normal lanes; via[] lanes are internal lanes whose
** `link` points back at it; yield/foe/ij slices hold valid link indices and
** never the link itself.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "net/net_int.h"

int gw__net_create(gw_net **out) {
  gw_net *n = gw__calloc(1, sizeof *n);
  if (!n) return GW_ENOMEM;
  n->bounds[0] = n->bounds[1] = 1e300;
  n->bounds[2] = n->bounds[3] = -1e300;
  *out = n;
  return GW_OK;
}

void gw_net_destroy(gw_net *net) {
  if (!net) return;
  for (size_t i = 0; i < net->junctions.n; i++) {
    gw_junction *j = &net->junctions.a[i];
    gw__free(j->id);
    gw__free(j->int_lanes);
    gw__free(j->name);
    for (uint32_t k = 0; k < j->n_raw; k++) {
      if (j->response) gw__free(j->response[k]);
      if (j->foes) gw__free(j->foes[k]);
    }
    gw__free(j->response);
    gw__free(j->foes);
    gw__free(j->cont);
  }
  for (size_t i = 0; i < net->edges.n; i++) gw__free(net->edges.a[i].id);
  for (size_t i = 0; i < net->lanes.n; i++) gw__free(net->lanes.a[i].id);
  for (size_t i = 0; i < net->tls.n; i++) gw__free(net->tls.a[i].id);
  for (size_t i = 0; i < net->programs.n; i++) gw__free(net->programs.a[i].id);
  for (size_t i = 0; i < net->detectors.n; i++) gw__free(net->detectors.a[i].id);
  gw_vec_free(&net->junctions);
  gw_vec_free(&net->edges);
  gw_vec_free(&net->lanes);
  gw_vec_free(&net->links);
  gw_vec_free(&net->tls);
  gw_vec_free(&net->programs);
  gw_vec_free(&net->phases);
  gw_vec_free(&net->detectors);
  gw_vec_free(&net->refs);
  gw_vec_free(&net->points);
  gw_vec_free(&net->chars);
  gw__strmap_free(&net->junction_ids);
  gw__strmap_free(&net->edge_ids);
  gw__strmap_free(&net->lane_ids);
  gw__strmap_free(&net->tls_ids);
  gw__free(net);
}

/* Appends `n` uint32 to refs and returns the offset, or UINT32_MAX on OOM. */
static uint32_t refs_append(gw_net *net, const uint32_t *v, uint32_t n) {
  if (gw_vec_reserve(&net->refs, net->refs.n + n + 1)) return UINT32_MAX;
  uint32_t off = (uint32_t)net->refs.n;
  memcpy(net->refs.a + off, v, n * sizeof *v);
  net->refs.n += n;
  return off;
}

static int cmp_link_from(const void *a, const void *b, void *ctx) {
  const gw_link *links = ctx;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (links[x].from_lane != links[y].from_lane)
    return links[x].from_lane < links[y].from_lane ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* Bits of a SUMO request string, counted from the right: link i <-> s[n-1-i]. */
static int bits_to_links(gw_net *net, const gw_junction *j, const char *s, uint32_t self,
                         uint32_t *off, uint32_t *cnt, const char *name, gw_error *err) {
  uint32_t buf[256], m = 0;
  size_t len = strlen(s);
  if (len != j->req_n)
    return gw__error(err, GW_EINVAL,
                     "%s: junction '%s': request string '%s' has %zu bits, expected %u", name,
                     j->id, s, len, j->req_n);
  for (size_t i = 0; i < len; i++) {
    char c = s[len - 1 - i];
    if (c != '0' && c != '1')
      return gw__error(err, GW_EINVAL, "%s: junction '%s': bad character '%c' in request", name,
                       j->id, c);
    if (c == '1') {
      uint32_t l = net->refs.a[j->req_off + i];
      if (l != GW_NONE && l != self && m < 256) buf[m++] = l;
    }
  }
  *off = refs_append(net, buf, m);
  *cnt = m;
  return *off == UINT32_MAX ? GW_ENOMEM : GW_OK;
}

static int resolve_junction(gw_net *net, uint32_t ji, const char *name, gw_error *err) {
  gw_junction *j = &net->junctions.a[ji];
  if (!j->int_lanes || j->type == GW_JUNCTION_INTERNAL) return GW_OK;
  /* Request index k is the position of a link's (last) internal lane in intLanes. */
  uint32_t tmp[1024], n = 0;
  char *save = NULL, *copy = gw__strdup(j->int_lanes);
  if (!copy) return GW_ENOMEM;
  for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    uint32_t lane, link = GW_NONE;
    if (gw__strmap_get(&net->lane_ids, tok, &lane)) link = net->lanes.a[lane].link;
    if (n < 1024) tmp[n++] = link;
  }
  gw__free(copy);
  j->req_off = refs_append(net, tmp, n);
  j->req_n = n;
  if (j->req_off == UINT32_MAX) return GW_ENOMEM;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t l = net->refs.a[j->req_off + k];
    if (l == GW_NONE) continue;
    gw_link *lk = &net->links.a[l];
    lk->req_index = (int32_t)k;
    if (k < j->n_raw && j->cont && j->cont[k]) lk->cont = 1;
    if (k < j->n_raw && j->response && j->response[k]) {
      int rc = bits_to_links(net, j, j->response[k], l, &lk->yield_off, &lk->yield_n, name, err);
      if (rc) return rc;
      lk = &net->links.a[l];
      rc = bits_to_links(net, j, j->foes[k], l, &lk->foe_off, &lk->foe_n, name, err);
      if (rc) return rc;
    }
  }
  return GW_OK;
}

/* An internal junction is named after the internal lane that leaves it. */
static int resolve_internal_junction(gw_net *net, uint32_t ji) {
  gw_junction *j = &net->junctions.a[ji];
  uint32_t lane, buf[256], m = 0;
  if (j->type != GW_JUNCTION_INTERNAL || !gw__strmap_get(&net->lane_ids, j->id, &lane))
    return GW_OK;
  uint32_t self = net->lanes.a[lane].link;
  if (self == GW_NONE || !j->int_lanes) return GW_OK;
  char *save = NULL, *copy = gw__strdup(j->int_lanes);
  if (!copy) return GW_ENOMEM;
  for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    uint32_t fl, link;
    if (!gw__strmap_get(&net->lane_ids, tok, &fl)) continue;
    link = net->lanes.a[fl].link;
    if (link == GW_NONE || link == self) continue;
    int dup = 0;
    for (uint32_t i = 0; i < m; i++) dup |= buf[i] == link;
    if (!dup && m < 256) buf[m++] = link;
  }
  gw__free(copy);
  gw_link *lk = &net->links.a[self];
  lk->ij_off = refs_append(net, buf, m);
  lk->ij_n = m;
  lk->cont = 1;
  return lk->ij_off == UINT32_MAX ? GW_ENOMEM : GW_OK;
}

int gw__net_finish(gw_net *net, const char *name, gw_error *err) {
  int rc;
  if (net->finished) return GW_OK;
  /* Internal lanes point back at their link; link length is the internal path. */
  for (uint32_t l = 0; l < net->links.n; l++) {
    gw_link *lk = &net->links.a[l];
    lk->length_m = 0;
    for (int v = 0; v < 2; v++) {
      if (lk->via[v] == GW_NONE) continue;
      net->lanes.a[lk->via[v]].link = l;
      lk->length_m += net->lanes.a[lk->via[v]].length_m;
    }
    if (lk->tls != GW_NONE) {
      gw_tls *t = &net->tls.a[lk->tls];
      if ((uint32_t)lk->tls_index >= t->nlinks)
        return gw__error(err, GW_EINVAL,
                         "%s: connection %s -> %s uses linkIndex %d but signal '%s' has only %u "
                         "links in its states",
                         name, net->lanes.a[lk->from_lane].id, net->lanes.a[lk->to_lane].id,
                         lk->tls_index, t->id, t->nlinks);
    }
  }
  /* Outgoing links per lane. */
  uint32_t *order = gw__malloc((net->links.n + 1) * sizeof *order);
  if (!order) return GW_ENOMEM;
  for (uint32_t l = 0; l < net->links.n; l++) order[l] = l;
  qsort_r(order, net->links.n, sizeof *order, cmp_link_from, net->links.a);
  for (uint32_t i = 0; i < net->links.n;) {
    uint32_t lane = net->links.a[order[i]].from_lane, k = i;
    while (k < net->links.n && net->links.a[order[k]].from_lane == lane) k++;
    uint32_t off = refs_append(net, order + i, k - i);
    if (off == UINT32_MAX) {
      gw__free(order);
      return GW_ENOMEM;
    }
    net->lanes.a[lane].out_off = off;
    net->lanes.a[lane].out_n = k - i;
    i = k;
  }
  gw__free(order);
  for (uint32_t j = 0; j < net->junctions.n; j++)
    if ((rc = resolve_junction(net, j, name, err))) return rc;
  for (uint32_t j = 0; j < net->junctions.n; j++)
    if ((rc = resolve_internal_junction(net, j))) return rc;
  for (uint32_t e = 0; e < net->edges.n; e++) {
    const gw_edge *ed = &net->edges.a[e];
    if (!ed->internal && (ed->from == GW_NONE || ed->to == GW_NONE))
      return gw__error(err, GW_EINVAL, "%s: edge '%s' lacks from/to junctions", name, ed->id);
    if (ed->nlanes == 0)
      return gw__error(err, GW_EINVAL, "%s: edge '%s' has no lanes", name, ed->id);
  }
  net->finished = 1;
  return GW_OK;
}

int gw__net_tls_program_add(gw_net *net, uint32_t t, uint32_t prog) {
  gw_tls *tl = &net->tls.a[t];
  uint32_t buf[64], n = 0;
  for (uint32_t i = 0; i < tl->prog_n && n < 63; i++) buf[n++] = net->refs.a[tl->prog_off + i];
  buf[n++] = prog;
  uint32_t off = refs_append(net, buf, n);
  if (off == UINT32_MAX) return GW_ENOMEM;
  tl = &net->tls.a[t];
  tl->prog_off = off;
  tl->prog_n = n;
  tl->active = prog;
  return GW_OK;
}

/* ---- read access -------------------------------------------------------- */

uint32_t gw_net_junction_count(const gw_net *net) { return (uint32_t)net->junctions.n; }
uint32_t gw_net_edge_count(const gw_net *net) { return (uint32_t)net->edges.n; }
uint32_t gw_net_lane_count(const gw_net *net) { return (uint32_t)net->lanes.n; }
uint32_t gw_net_link_count(const gw_net *net) { return (uint32_t)net->links.n; }
uint32_t gw_net_tls_count(const gw_net *net) { return (uint32_t)net->tls.n; }
uint32_t gw_net_detector_count(const gw_net *net) { return (uint32_t)net->detectors.n; }

static uint32_t find(const gw_strmap *m, const char *id) {
  uint32_t v;
  return gw__strmap_get(m, id, &v) ? v : GW_NONE;
}
uint32_t gw_net_find_junction(const gw_net *net, const char *id) {
  return find(&net->junction_ids, id);
}
uint32_t gw_net_find_edge(const gw_net *net, const char *id) { return find(&net->edge_ids, id); }
uint32_t gw_net_find_lane(const gw_net *net, const char *id) { return find(&net->lane_ids, id); }
uint32_t gw_net_find_tls(const gw_net *net, const char *id) { return find(&net->tls_ids, id); }

int gw_net_lane_info(const gw_net *net, uint32_t lane, gw_lane_info *out) {
  if (lane >= net->lanes.n) return GW_ERANGE;
  const gw_lane *l = &net->lanes.a[lane];
  out->id = l->id;
  out->edge = l->edge;
  out->index = l->index;
  out->length_m = l->length_m;
  out->speed_mps = l->speed_mps;
  out->allow = l->allow;
  out->internal = l->internal;
  out->shape = net->points.a ? net->points.a + 2 * (size_t)l->shape_off : NULL;
  out->shape_points = l->shape_n;
  return GW_OK;
}

int gw_net_link_info(const gw_net *net, uint32_t link, gw_link_info *out) {
  if (link >= net->links.n) return GW_ERANGE;
  const gw_link *l = &net->links.a[link];
  out->from_lane = l->from_lane;
  out->to_lane = l->to_lane;
  out->via[0] = l->via[0];
  out->via[1] = l->via[1];
  out->junction = l->junction;
  out->tls = l->tls;
  out->tls_index = l->tls_index;
  out->dir = l->dir;
  out->state = l->state;
  out->n_yield = l->yield_n;
  out->yield = net->refs.a ? net->refs.a + l->yield_off : NULL;
  out->n_foes = l->foe_n;
  out->foes = net->refs.a ? net->refs.a + l->foe_off : NULL;
  return GW_OK;
}

uint32_t gw_net_lane_links(const gw_net *net, uint32_t lane, const uint32_t **links) {
  if (lane >= net->lanes.n) return 0;
  *links = net->refs.a ? net->refs.a + net->lanes.a[lane].out_off : NULL;
  return net->lanes.a[lane].out_n;
}

const char *gw_net_junction_id(const gw_net *net, uint32_t j) {
  return j < net->junctions.n ? net->junctions.a[j].id : NULL;
}
const char *gw_net_junction_name(const gw_net *net, uint32_t j) {
  return j < net->junctions.n ? net->junctions.a[j].name : NULL;
}
const char *gw_net_edge_id(const gw_net *net, uint32_t e) {
  return e < net->edges.n ? net->edges.a[e].id : NULL;
}
const char *gw_net_tls_id(const gw_net *net, uint32_t t) {
  return t < net->tls.n ? net->tls.a[t].id : NULL;
}

uint32_t gw_net_tls_phase_count(const gw_net *net, uint32_t t) {
  if (t >= net->tls.n) return 0;
  return net->programs.a[net->tls.a[t].active].nphases;
}

int gw_net_tls_phase(const gw_net *net, uint32_t t, uint32_t phase, double *duration_s,
                     const char **state) {
  if (t >= net->tls.n) return GW_ERANGE;
  const gw_tlprogram *p = &net->programs.a[net->tls.a[t].active];
  if (phase >= p->nphases) return GW_ERANGE;
  const gw_phase *ph = &net->phases.a[p->phase0 + phase];
  *duration_s = ph->duration_s;
  *state = gw__net_state(net, ph);
  return GW_OK;
}

double gw_net_tls_offset(const gw_net *net, uint32_t t) {
  if (t >= net->tls.n) return 0;
  return net->programs.a[net->tls.a[t].active].offset_s;
}

static const char *const vclass_names[] = {"passenger", "motorcycle", "bus",       "truck",
                                           "bicycle",   "pedestrian", "emergency", "taxi",
                                           "delivery",  "other"};

uint32_t gw_vclass_parse(const char *name) {
  for (uint32_t i = 0; i < sizeof vclass_names / sizeof *vclass_names; i++)
    if (strcmp(name, vclass_names[i]) == 0) return 1u << i;
  /* SUMO spellings that map onto our classes. */
  if (!strcmp(name, "private") || !strcmp(name, "evehicle") || !strcmp(name, "custom1") ||
      !strcmp(name, "custom2") || !strcmp(name, "hov") || !strcmp(name, "army") ||
      !strcmp(name, "authority") || !strcmp(name, "vip"))
    return GW_VC_PASSENGER;
  if (!strcmp(name, "moped")) return GW_VC_MOTORCYCLE;
  if (!strcmp(name, "coach") || !strcmp(name, "tram") || !strcmp(name, "rail_urban") ||
      !strcmp(name, "rail") || !strcmp(name, "rail_electric") || !strcmp(name, "rail_fast"))
    return GW_VC_BUS;
  if (!strcmp(name, "trailer")) return GW_VC_TRUCK;
  if (!strcmp(name, "ship")) return GW_VC_OTHER;
  return 0;
}

const char *gw_vclass_name(uint32_t bit) {
  for (uint32_t i = 0; i < sizeof vclass_names / sizeof *vclass_names; i++)
    if (bit == 1u << i) return vclass_names[i];
  return "unknown";
}

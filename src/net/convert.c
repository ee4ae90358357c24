/*
** convert.c -- writing a gw_net and its gw_demand as SUMO or CityFlow files,
** for `greenwave convert` (see include/greenwave/cityflow.h).
**
** Both writers reverse the lane order: SUMO counts lanes from the right,
** CityFlow from the inside (left), so a CityFlow net read by
** gw_net_load_cityflow is written to SUMO with index n-1-i, and a SUMO net
** to CityFlow likewise; a round trip restores the original order.  The
** writers are meant for the other format than the one read.
**
** SUMO output: edges with their lanes and shapes, one internal edge per
** link, junctions with their requests (foes from the net, no response bits:
** links in conflict are never green together in a converted program),
** connections with via lanes and signal link indices, the active program
** of every signal, vehicles with their vTypes and routes.
**
** CityFlow output: a road per normal edge whose reference line is the
** inner boundary of its lanes (intersection widths 0, so nothing is
** trimmed); road links group the links of one (from edge, to edge) pair;
** light phases list the road links all of whose links are green.  Not
** expressible, and refused with a message: a phase that shows one road
** link's links in different colours, and a U-turn used by a route.  U-turns
** no route uses are left out.  One flow per vehicle (startTime = endTime =
** its departure, rounded to the second).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/cityflow.h"
#include "net/net_int.h"

static void xml_esc(FILE *f, const char *s) {
  for (; *s; s++) switch (*s) {
      case '&':
        fputs("&amp;", f);
        break;
      case '<':
        fputs("&lt;", f);
        break;
      case '>':
        fputs("&gt;", f);
        break;
      case '"':
        fputs("&quot;", f);
        break;
      default:
        fputc(*s, f);
        break;
    }
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t n, gw_error *err) {
  snprintf(path, n, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) gw__error(err, GW_EIO, "%s: cannot write", path);
  return f;
}

static int close_out(FILE *f, const char *path, gw_error *err) {
  if (fclose(f)) return gw__error(err, GW_EIO, "%s: write failed", path);
  return GW_OK;
}

/* SUMO's lane index of lane l (reversed). */
static uint32_t rev(const gw_net *net, uint32_t l) {
  const gw_lane *ln = &net->lanes.a[l];
  return net->edges.a[ln->edge].nlanes - 1 - ln->index;
}

static void shape(FILE *f, const gw_net *net, const gw_lane *ln) {
  for (uint32_t i = 0; i < ln->shape_n; i++)
    fprintf(f, "%s%.2f,%.2f", i ? " " : "", net->points.a[2 * (ln->shape_off + i)],
            net->points.a[2 * (ln->shape_off + i) + 1]);
}

static void lane_id(FILE *f, const gw_net *net, uint32_t l) {
  const gw_lane *ln = &net->lanes.a[l];
  xml_esc(f, net->edges.a[ln->edge].id);
  fprintf(f, "_%u", ln->internal ? 0 : rev(net, l));
}

int gw_sumo_write(const gw_net *net, const gw_demand *demand, double step_s, double end_s,
                  uint64_t seed, const char *dir, const char *name, gw_error *err) {
  char path[1024], fname[512];
  snprintf(fname, sizeof fname, "%s.net.xml", name);
  FILE *f = open_out(dir, fname, path, sizeof path, err);
  if (!f) return GW_EIO;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<net version=\"1.9\">\n");
  fprintf(f, "  <location netOffset=\"0.00,0.00\" convBoundary=\"%.2f,%.2f,%.2f,%.2f\"/>\n",
          net->bounds[0], net->bounds[1], net->bounds[2], net->bounds[3]);
  for (uint32_t e = 0; e < net->edges.n; e++) {
    const gw_edge *ed = &net->edges.a[e];
    fputs("  <edge id=\"", f);
    xml_esc(f, ed->id);
    if (ed->internal) {
      fputs("\" function=\"internal\">\n", f);
    } else {
      fputs("\" from=\"", f);
      xml_esc(f, net->junctions.a[ed->from].id);
      fputs("\" to=\"", f);
      xml_esc(f, net->junctions.a[ed->to].id);
      fputs("\" priority=\"1\">\n", f);
    }
    for (uint32_t k = 0; k < ed->nlanes; k++) {
      /* Written in SUMO's order: index 0 first. */
      uint32_t l = ed->internal ? ed->lane0 : ed->lane0 + ed->nlanes - 1 - k;
      const gw_lane *ln = &net->lanes.a[l];
      fputs("    <lane id=\"", f);
      lane_id(f, net, l);
      fprintf(f, "\" index=\"%u\" speed=\"%.3f\" length=\"%.2f\" width=\"%.2f\" shape=\"", k,
              ln->speed_mps, ln->length_m, ln->width_m);
      shape(f, net, ln);
      fputs("\"/>\n", f);
    }
    fputs("  </edge>\n", f);
  }
  for (uint32_t t = 0; t < net->tls.n; t++) {
    const gw_tlprogram *p = &net->programs.a[net->tls.a[t].active];
    fputs("  <tlLogic id=\"", f);
    xml_esc(f, net->tls.a[t].id);
    fprintf(f, "\" type=\"static\" programID=\"0\" offset=\"%.2f\">\n", p->offset_s);
    for (uint32_t i = 0; i < p->nphases; i++) {
      const gw_phase *ph = &net->phases.a[p->phase0 + i];
      fprintf(f, "    <phase duration=\"%.2f\" state=\"%s\"/>\n", ph->duration_s,
              gw__net_state(net, ph));
    }
    fputs("  </tlLogic>\n", f);
  }
  for (uint32_t j = 0; j < net->junctions.n; j++) {
    const gw_junction *jn = &net->junctions.a[j];
    uint32_t nl = 0;
    for (uint32_t l = 0; l < net->links.n; l++) nl += net->links.a[l].junction == j;
    fputs("  <junction id=\"", f);
    xml_esc(f, jn->id);
    fprintf(f, "\" type=\"%s\" x=\"%.2f\" y=\"%.2f\" intLanes=\"",
            jn->tls != GW_NONE ? "traffic_light"
            : nl               ? "priority"
                               : "dead_end",
            jn->x, jn->y);
    uint32_t k = 0;
    for (uint32_t l = 0; l < net->links.n; l++) {
      if (net->links.a[l].junction != j || net->links.a[l].via[0] == GW_NONE) continue;
      if (k++) fputc(' ', f);
      lane_id(f, net, net->links.a[l].via[0]);
    }
    fputs("\">\n", f);
    /* Requests in intLanes order; bit i from the right is request i. */
    uint32_t *idx = gw__calloc(nl + 1, sizeof *idx), n = 0;
    if (!idx) {
      fclose(f);
      return gw__error(err, GW_ENOMEM, "out of memory");
    }
    for (uint32_t l = 0; l < net->links.n; l++)
      if (net->links.a[l].junction == j && net->links.a[l].via[0] != GW_NONE) idx[n++] = l;
    for (uint32_t a = 0; a < n; a++) {
      const gw_link *lk = &net->links.a[idx[a]];
      fprintf(f, "    <request index=\"%u\" response=\"", a);
      for (uint32_t b = n; b-- > 0;) fputc('0', f);
      fputs("\" foes=\"", f);
      for (uint32_t b = n; b-- > 0;) {
        int foe = 0;
        for (uint32_t q = 0; q < lk->foe_n; q++) foe |= net->refs.a[lk->foe_off + q] == idx[b];
        fputc(foe ? '1' : '0', f);
      }
      fputs("\" cont=\"0\"/>\n", f);
    }
    gw__free(idx);
    fputs("  </junction>\n", f);
  }
  for (uint32_t l = 0; l < net->links.n; l++) {
    const gw_link *lk = &net->links.a[l];
    const gw_lane *fl = &net->lanes.a[lk->from_lane], *tl = &net->lanes.a[lk->to_lane];
    fputs("  <connection from=\"", f);
    xml_esc(f, net->edges.a[fl->edge].id);
    fputs("\" to=\"", f);
    xml_esc(f, net->edges.a[tl->edge].id);
    fprintf(f, "\" fromLane=\"%u\" toLane=\"%u\"", rev(net, lk->from_lane), rev(net, lk->to_lane));
    if (lk->via[0] != GW_NONE) {
      fputs(" via=\"", f);
      lane_id(f, net, lk->via[0]);
      fputc('"', f);
    }
    if (lk->tls != GW_NONE) {
      fputs(" tl=\"", f);
      xml_esc(f, net->tls.a[lk->tls].id);
      fprintf(f, "\" linkIndex=\"%d\"", lk->tls_index);
    }
    fprintf(f, " dir=\"%c\" state=\"%c\"/>\n", lk->dir, lk->tls != GW_NONE ? 'O' : lk->state);
  }
  fputs("</net>\n", f);
  int rc = close_out(f, path, err);
  if (rc) return rc;
  snprintf(fname, sizeof fname, "%s.rou.xml", name);
  if (!(f = open_out(dir, fname, path, sizeof path, err))) return GW_EIO;
  fputs("<routes>\n", f);
  for (uint32_t t = 0; t < gw_demand_vtype_count(demand); t++) {
    const gw_vtype *v = gw_demand_vtype(demand, t);
    fputs("  <vType id=\"", f);
    xml_esc(f, v->id);
    fprintf(f,
            "\" vClass=\"%s\" length=\"%.17g\" width=\"%.17g\" minGap=\"%.17g\" accel=\"%.17g\" "
            "decel=\"%.17g\" emergencyDecel=\"%.17g\" sigma=\"%.17g\" tau=\"%.17g\" "
            "maxSpeed=\"%.17g\" speedFactor=\"%.17g\" speedDev=\"%.17g\"/>\n",
            gw_vclass_name(v->vclass), v->length_m, v->width_m, v->min_gap_m, v->accel_mps2,
            v->decel_mps2, v->emergency_decel_mps2, v->sigma, v->tau_s, v->max_speed_mps,
            v->speed_factor, v->speed_dev);
  }
  for (uint32_t i = 0; i < gw_demand_trip_count(demand); i++) {
    const gw_trip *tr = gw_demand_trip(demand, i);
    fputs("  <vehicle id=\"", f);
    xml_esc(f, tr->id);
    fputs("\" type=\"", f);
    xml_esc(f, gw_demand_vtype(demand, tr->vtype)->id);
    fprintf(f, "\" depart=\"%.2f\" departLane=\"best\" departSpeed=\"0\"><route edges=\"",
            tr->depart_s);
    for (uint32_t k = 0; k < tr->route_n; k++) {
      if (k) fputc(' ', f);
      xml_esc(f, net->edges.a[tr->route[k]].id);
    }
    fputs("\"/></vehicle>\n", f);
  }
  fputs("</routes>\n", f);
  if ((rc = close_out(f, path, err))) return rc;
  snprintf(fname, sizeof fname, "%s.sumocfg", name);
  if (!(f = open_out(dir, fname, path, sizeof path, err))) return GW_EIO;
  fprintf(f,
          "<configuration>\n  <input>\n    <net-file value=\"%s.net.xml\"/>\n"
          "    <route-files value=\"%s.rou.xml\"/>\n  </input>\n  <time>\n"
          "    <begin value=\"0\"/>\n    <end value=\"%.0f\"/>\n    <step-length value=\"%g\"/>\n"
          "  </time>\n  <processing>\n    <time-to-teleport value=\"-1\"/>\n  </processing>\n"
          "  <random_number>\n    <seed value=\"%llu\"/>\n  </random_number>\n</configuration>\n",
          name, name, end_s > 0 ? end_s : 3600, step_s, (unsigned long long)seed);
  return close_out(f, path, err);
}

/* ---- CityFlow ----------------------------------------------------------- */

static int write_json(const char *dir, const char *name, cJSON *root, gw_error *err) {
  char path[1024];
  char *s = cJSON_PrintUnformatted(root);
  if (!s) return gw__error(err, GW_ENOMEM, "out of memory");
  FILE *f = open_out(dir, name, path, sizeof path, err);
  if (!f) {
    free(s);
    return GW_EIO;
  }
  fputs(s, f);
  fputc('\n', f);
  free(s);
  return close_out(f, path, err);
}

static cJSON *point(double x, double y) {
  cJSON *p = cJSON_CreateObject();
  cJSON_AddNumberToObject(p, "x", x);
  cJSON_AddNumberToObject(p, "y", y);
  return p;
}

/* 1 if some trip drives from edge a to edge b. */
static int used(const gw_demand *d, uint32_t a, uint32_t b) {
  for (uint32_t i = 0; i < gw_demand_trip_count(d); i++) {
    const gw_trip *tr = gw_demand_trip(d, i);
    for (uint32_t k = 0; k + 1 < tr->route_n; k++)
      if (tr->route[k] == a && tr->route[k + 1] == b) return 1;
  }
  return 0;
}

int gw_cityflow_write(const gw_net *net, const gw_demand *demand, double step_s, uint64_t seed,
                      const char *dir, gw_error *err) {
  int rc = GW_OK;
  cJSON *root = cJSON_CreateObject(), *inters = cJSON_AddArrayToObject(root, "intersections");
  cJSON *roads = cJSON_AddArrayToObject(root, "roads");
  uint32_t *rl = gw__malloc((net->links.n + 1) * sizeof *rl); /* road link of each link */
  if (!root || !inters || !roads || !rl) {
    cJSON_Delete(root);
    gw__free(rl);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  for (uint32_t e = 0; e < net->edges.n; e++) {
    const gw_edge *ed = &net->edges.a[e];
    if (ed->internal) continue;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddItemToArray(roads, r);
    cJSON_AddStringToObject(r, "id", ed->id);
    cJSON_AddStringToObject(r, "startIntersection", net->junctions.a[ed->from].id);
    cJSON_AddStringToObject(r, "endIntersection", net->junctions.a[ed->to].id);
    /* Reference line: the leftmost lane's shape moved left by half its width. */
    const gw_lane *inner = &net->lanes.a[ed->lane0 + ed->nlanes - 1];
    cJSON *pts = cJSON_AddArrayToObject(r, "points");
    const double *p = net->points.a + 2 * (size_t)inner->shape_off;
    for (uint32_t i = 0; i < inner->shape_n; i++) {
      uint32_t a = i ? i - 1 : 0, b = i + 1 < inner->shape_n ? i + 1 : i;
      double dx = p[2 * b] - p[2 * a], dy = p[2 * b + 1] - p[2 * a + 1], l = hypot(dx, dy);
      if (l < 1e-12) l = 1, dx = 1, dy = 0;
      double w = inner->width_m / 2;
      cJSON_AddItemToArray(pts, point(p[2 * i] - w * dy / l, p[2 * i + 1] + w * dx / l));
    }
    cJSON *lanes = cJSON_AddArrayToObject(r, "lanes");
    for (uint32_t k = ed->nlanes; k-- > 0;) {
      const gw_lane *ln = &net->lanes.a[ed->lane0 + k];
      cJSON *lo = cJSON_CreateObject();
      cJSON_AddNumberToObject(lo, "width", ln->width_m);
      cJSON_AddNumberToObject(lo, "maxSpeed", ln->speed_mps);
      cJSON_AddItemToArray(lanes, lo);
    }
  }
  for (uint32_t j = 0; j < net->junctions.n && !rc; j++) {
    const gw_junction *jn = &net->junctions.a[j];
    if (jn->type == GW_JUNCTION_INTERNAL) continue;
    cJSON *it = cJSON_CreateObject();
    cJSON_AddItemToArray(inters, it);
    cJSON_AddStringToObject(it, "id", jn->id);
    cJSON_AddItemToObject(it, "point", point(jn->x, jn->y));
    cJSON_AddNumberToObject(it, "width", 0);
    cJSON *rs = cJSON_AddArrayToObject(it, "roads");
    for (uint32_t e = 0; e < net->edges.n; e++)
      if (!net->edges.a[e].internal && (net->edges.a[e].from == j || net->edges.a[e].to == j))
        cJSON_AddItemToArray(rs, cJSON_CreateString(net->edges.a[e].id));
    /* Road links: links grouped by (from edge, to edge). */
    cJSON *rls = cJSON_CreateArray();
    uint32_t nrl = 0;
    for (uint32_t l = 0; l < net->links.n; l++) {
      const gw_link *lk = &net->links.a[l];
      rl[l] = GW_NONE;
      if (lk->junction != j) continue;
      uint32_t fe = net->lanes.a[lk->from_lane].edge, te = net->lanes.a[lk->to_lane].edge;
      if (lk->dir == 't') {
        if (used(demand, fe, te)) {
          rc = gw__error(err, GW_EINVAL,
                         "junction '%s': a route turns back from '%s' to '%s'; CityFlow has no "
                         "U-turn",
                         jn->id, net->edges.a[fe].id, net->edges.a[te].id);
          break;
        }
        continue;
      }
      for (uint32_t q = 0; q < l && rl[l] == GW_NONE; q++)
        if (rl[q] != GW_NONE && net->links.a[q].junction == j &&
            net->lanes.a[net->links.a[q].from_lane].edge == fe &&
            net->lanes.a[net->links.a[q].to_lane].edge == te)
          rl[l] = rl[q];
      cJSON *ro;
      if (rl[l] == GW_NONE) {
        rl[l] = nrl++;
        ro = cJSON_CreateObject();
        cJSON_AddItemToArray(rls, ro);
        cJSON_AddStringToObject(ro, "type",
                                lk->dir == 'l' || lk->dir == 'L'   ? "turn_left"
                                : lk->dir == 'r' || lk->dir == 'R' ? "turn_right"
                                                                   : "go_straight");
        cJSON_AddStringToObject(ro, "startRoad", net->edges.a[fe].id);
        cJSON_AddStringToObject(ro, "endRoad", net->edges.a[te].id);
        cJSON_AddArrayToObject(ro, "laneLinks");
      } else {
        ro = cJSON_GetArrayItem(rls, (int)rl[l]);
      }
      cJSON *ll = cJSON_CreateObject();
      cJSON_AddNumberToObject(ll, "startLaneIndex", rev(net, lk->from_lane));
      cJSON_AddNumberToObject(ll, "endLaneIndex", rev(net, lk->to_lane));
      cJSON *lp = cJSON_AddArrayToObject(ll, "points");
      for (int v = 0; v < 2; v++) {
        if (lk->via[v] == GW_NONE) continue;
        const gw_lane *ln = &net->lanes.a[lk->via[v]];
        for (uint32_t i = 0; i < ln->shape_n; i++)
          cJSON_AddItemToArray(lp, point(net->points.a[2 * (ln->shape_off + i)],
                                         net->points.a[2 * (ln->shape_off + i) + 1]));
      }
      if (cJSON_GetArraySize(lp) < 2) cJSON_DeleteItemFromObject(ll, "points");
      cJSON_AddItemToArray(cJSON_GetObjectItem(ro, "laneLinks"), ll);
    }
    cJSON_AddItemToObject(it, "roadLinks", rls);
    cJSON_AddBoolToObject(it, "virtual", nrl == 0);
    if (rc || nrl == 0) continue;
    cJSON *tl = cJSON_AddObjectToObject(it, "trafficLight");
    cJSON *phs = cJSON_AddArrayToObject(tl, "lightphases");
    if (jn->tls == GW_NONE) { /* an unsignalised junction: always open */
      cJSON *ph = cJSON_CreateObject();
      cJSON_AddNumberToObject(ph, "time", 3600);
      cJSON *av = cJSON_AddArrayToObject(ph, "availableRoadLinks");
      for (uint32_t r = 0; r < nrl; r++) cJSON_AddItemToArray(av, cJSON_CreateNumber(r));
      cJSON_AddItemToArray(phs, ph);
      continue;
    }
    const gw_tlprogram *p = &net->programs.a[net->tls.a[jn->tls].active];
    for (uint32_t i = 0; i < p->nphases && !rc; i++) {
      const gw_phase *gp = &net->phases.a[p->phase0 + i];
      const char *st = gw__net_state(net, gp);
      cJSON *ph = cJSON_CreateObject();
      cJSON_AddNumberToObject(ph, "time", gp->duration_s);
      cJSON *av = cJSON_AddArrayToObject(ph, "availableRoadLinks");
      cJSON_AddItemToArray(phs, ph);
      for (uint32_t r = 0; r < nrl && !rc; r++) {
        int green = -1;
        for (uint32_t l = 0; l < net->links.n; l++) {
          if (net->links.a[l].junction != j || rl[l] != r) continue;
          char c = st[net->links.a[l].tls_index];
          int g = c == 'G' || c == 'g';
          if (green >= 0 && g != green)
            rc = gw__error(err, GW_EINVAL,
                           "signal '%s', phase %u: the links from '%s' to '%s' show different "
                           "colours; a CityFlow road link is green or red as a whole",
                           jn->id, i, net->edges.a[net->lanes.a[net->links.a[l].from_lane].edge].id,
                           net->edges.a[net->lanes.a[net->links.a[l].to_lane].edge].id);
          green = g;
        }
        if (green == 1) cJSON_AddItemToArray(av, cJSON_CreateNumber(r));
      }
    }
  }
  gw__free(rl);
  if (!rc) rc = write_json(dir, "roadnet.json", root, err);
  cJSON_Delete(root);
  if (rc) return rc;
  cJSON *flows = cJSON_CreateArray();
  for (uint32_t i = 0; i < gw_demand_trip_count(demand); i++) {
    const gw_trip *tr = gw_demand_trip(demand, i);
    const gw_vtype *v = gw_demand_vtype(demand, tr->vtype);
    cJSON *fl = cJSON_CreateObject(), *veh = cJSON_AddObjectToObject(fl, "vehicle");
    cJSON_AddNumberToObject(veh, "length", v->length_m);
    cJSON_AddNumberToObject(veh, "width", v->width_m);
    cJSON_AddNumberToObject(veh, "maxPosAcc", v->accel_mps2);
    cJSON_AddNumberToObject(veh, "maxNegAcc", v->emergency_decel_mps2);
    cJSON_AddNumberToObject(veh, "usualPosAcc", v->accel_mps2);
    cJSON_AddNumberToObject(veh, "usualNegAcc", v->decel_mps2);
    cJSON_AddNumberToObject(veh, "minGap", v->min_gap_m);
    cJSON_AddNumberToObject(veh, "maxSpeed", v->max_speed_mps);
    cJSON_AddNumberToObject(veh, "headwayTime", v->tau_s);
    cJSON *r = cJSON_AddArrayToObject(fl, "route");
    for (uint32_t k = 0; k < tr->route_n; k++)
      cJSON_AddItemToArray(r, cJSON_CreateString(net->edges.a[tr->route[k]].id));
    cJSON_AddNumberToObject(fl, "interval", 1);
    cJSON_AddNumberToObject(fl, "startTime", floor(tr->depart_s + 0.5));
    cJSON_AddNumberToObject(fl, "endTime", floor(tr->depart_s + 0.5));
    cJSON_AddItemToArray(flows, fl);
  }
  rc = write_json(dir, "flow.json", flows, err);
  cJSON_Delete(flows);
  if (rc) return rc;
  cJSON *cfg = cJSON_CreateObject();
  cJSON_AddNumberToObject(cfg, "interval", step_s);
  cJSON_AddNumberToObject(cfg, "seed", (double)seed);
  cJSON_AddStringToObject(cfg, "dir", "");
  cJSON_AddStringToObject(cfg, "roadnetFile", "roadnet.json");
  cJSON_AddStringToObject(cfg, "flowFile", "flow.json");
  cJSON_AddBoolToObject(cfg, "rlTrafficLight", 0);
  cJSON_AddBoolToObject(cfg, "laneChange", 0);
  cJSON_AddBoolToObject(cfg, "saveReplay", 0);
  rc = write_json(dir, "config.json", cfg, err);
  cJSON_Delete(cfg);
  return rc;
}

/*
** sumo_cfg.c -- the .sumocfg reader: which files make up a scenario, and
** its time settings.
**
** Options are recognised by element name wherever they appear (SUMO groups
** them in <input>, <time>, ... but does not require it).  Relative paths are
** taken from the configuration file's folder, as SUMO does.  Unknown options
** are ignored: SUMO has hundreds and most concern outputs.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/xml.h"
#include "greenwave/scenario.h"

typedef struct cfg {
  char *net, *routes, *additional;
  gw_scenario *sc;
} cfg;

static int set_str(char **slot, const char *v) {
  gw__free(*slot);
  *slot = gw__strdup(v);
  return *slot ? GW_OK : GW_ENOMEM;
}

static int c_start(void *ud, gw_xml *x, const char *name, const char **at) {
  cfg *c = ud;
  const char *v = gw__xml_attr(at, "value");
  if (!v) return GW_OK;
  double *num = NULL;
  if (!strcmp(name, "net-file")) return set_str(&c->net, v);
  if (!strcmp(name, "route-files")) return set_str(&c->routes, v);
  if (!strcmp(name, "additional-files")) return set_str(&c->additional, v);
  if (!strcmp(name, "begin"))
    num = &c->sc->begin_s;
  else if (!strcmp(name, "end"))
    num = &c->sc->end_s;
  else if (!strcmp(name, "step-length"))
    num = &c->sc->step_s;
  else if (!strcmp(name, "time-to-teleport"))
    num = &c->sc->time_to_teleport_s;
  if (num) {
    int rc = gw__xml_attr_double(x, name, at, "value", 1, 0, num);
    if (rc) return rc;
    if (num == &c->sc->step_s && !(*num >= 0.001 && *num <= 60))
      return gw__xml_fail(x, GW_ERANGE, "step-length %g is not in [0.001, 60] s", *num);
    return GW_OK;
  }
  if (!strcmp(name, "seed")) {
    long s;
    int rc = gw__xml_attr_int(x, name, at, "value", 1, 42, &s);
    c->sc->seed = (uint64_t)s;
    return rc;
  }
  return GW_OK;
}

/* dir + "/" + rel unless rel is absolute. */
static char *join(const char *cfgpath, const char *rel) {
  if (rel[0] == '/') return gw__strdup(rel);
  const char *slash = strrchr(cfgpath, '/');
  size_t dn = slash ? (size_t)(slash - cfgpath) + 1 : 0;
  size_t rn = strlen(rel);
  char *p = gw__malloc(dn + rn + 1);
  if (!p) return NULL;
  memcpy(p, cfgpath, dn);
  memcpy(p + dn, rel, rn + 1);
  return p;
}

typedef int (*file_fn)(gw_scenario *sc, const char *path, gw_error *err);

/* Calls fn for each path of a comma- or space-separated list. */
static int each_file(gw_scenario *sc, const char *cfgpath, const char *list, file_fn fn,
                     gw_error *err) {
  const char *s = list;
  while (*s) {
    while (*s == ',' || *s == ' ') s++;
    size_t n = strcspn(s, ", ");
    if (!n) break;
    char *rel = gw__strndup(s, n);
    char *path = rel ? join(cfgpath, rel) : NULL;
    gw__free(rel);
    if (!path) return gw__error(err, GW_ENOMEM, "out of memory");
    int rc = fn(sc, path, err);
    gw__free(path);
    if (rc) return rc;
    s += n;
  }
  return GW_OK;
}

static int load_routes(gw_scenario *sc, const char *path, gw_error *err) {
  return gw_demand_load_sumo(&sc->demand, sc->net, path, err);
}

int gw_scenario_add_additional(gw_scenario *sc, const char *path, gw_error *err) {
  return gw_net_load_sumo_additional(sc->net, path, err);
}

int gw_scenario_load_sumocfg(const char *path, gw_scenario **out, gw_error *err) {
  gw_scenario *sc = gw__calloc(1, sizeof *sc);
  if (!sc) return gw__error(err, GW_ENOMEM, "out of memory");
  sc->end_s = -1;
  sc->step_s = 1;
  sc->seed = 42;
  sc->time_to_teleport_s = 300;
  cfg c = {NULL, NULL, NULL, sc};
  int rc = gw__xml_parse_file(path, c_start, NULL, &c, err);
  if (rc) goto fail;
  if (!c.net) {
    rc = gw__error(err, GW_EINVAL, "%s: no <net-file> given", path);
    goto fail;
  }
  char *np = join(path, c.net);
  if (!np) {
    rc = gw__error(err, GW_ENOMEM, "out of memory");
    goto fail;
  }
  rc = gw_net_load_sumo(np, &sc->net, err);
  gw__free(np);
  if (rc) goto fail;
  if (c.additional && (rc = each_file(sc, path, c.additional, gw_scenario_add_additional, err)))
    goto fail;
  if (c.routes && (rc = each_file(sc, path, c.routes, load_routes, err))) goto fail;
  if (!sc->demand && gw_demand_create(&sc->demand)) {
    rc = gw__error(err, GW_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = gw_demand_finish(sc->demand, err))) goto fail;
  gw__free(c.net);
  gw__free(c.routes);
  gw__free(c.additional);
  *out = sc;
  return GW_OK;
fail:
  gw__free(c.net);
  gw__free(c.routes);
  gw__free(c.additional);
  gw_scenario_destroy(sc);
  return rc;
}

void gw_scenario_destroy(gw_scenario *sc) {
  if (!sc) return;
  gw_demand_destroy(sc->demand);
  gw_net_destroy(sc->net);
  gw__free(sc);
}

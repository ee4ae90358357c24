/*
** controller.c -- the registry of controllers, "NAME:key=value" parsing and
** the thin gw_controller wrapper around a controller type.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/controller_int.h"
#include "core/alloc.h"
#include "core/error.h"

static const gw_controller_type *const types[] = {
    &gw__ctl_fixed,     &gw__ctl_actuated,   &gw__ctl_maxpressure, &gw__ctl_adaptive,
    &gw__ctl_fixedtime, &gw__ctl_mp_waiting, &gw__ctl_sotl};
static const char *const names[] = {"fixed",     "actuated",   "maxpressure", "adaptive",
                                    "fixedtime", "mp-waiting", "sotl",        NULL};

struct gw_controller {
  const gw_controller_type *type;
  void *state;
};

const char *const *gw_controller_names(void) { return names; }

int gw__ctl_param_double(gw_ctl_params *p, const char *ctl, const char *key, double dflt, double lo,
                         double hi, double *out, gw_error *err) {
  *out = dflt;
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->key[i], key) != 0) continue;
    p->used[i] = 1;
    char *end;
    errno = 0;
    double v = strtod(p->val[i], &end);
    if (end == p->val[i] || *end || errno || !(v >= lo && v <= hi))
      return gw__error(err, GW_EINVAL, "controller %s: %s=%s is not a number in [%g, %g]", ctl, key,
                       p->val[i], lo, hi);
    *out = v;
  }
  return GW_OK;
}

const char *gw__ctl_param_str(gw_ctl_params *p, const char *key, const char *dflt) {
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->key[i], key) != 0) continue;
    p->used[i] = 1;
    return p->val[i];
  }
  return dflt;
}

void gw__ctl_emit(const gw_ctl_view *v, int code, int param) {
  if (!v->emit) return;
  gw_event e = {v->model->tls, v->t, code, param};
  v->emit(v->emit_ud, &e);
}

/* "name:k=v,k=v" -> type and params. */
static int parse_spec(const char *spec, const gw_controller_type **type, gw_ctl_params *p,
                      gw_error *err) {
  memset(p, 0, sizeof *p);
  size_t nl = strcspn(spec, ":");
  *type = NULL;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (strlen(types[i]->name) == nl && strncmp(types[i]->name, spec, nl) == 0) *type = types[i];
  if (!*type)
    return gw__error(err, GW_ENOTFOUND,
                     "unknown controller '%.*s' (known: fixed, actuated, maxpressure, adaptive, "
                     "fixedtime, mp-waiting, sotl)",
                     (int)nl, spec);
  const char *s = spec[nl] == ':' ? spec + nl + 1 : spec + nl;
  while (*s) {
    size_t n = strcspn(s, ",");
    const char *eq = memchr(s, '=', n);
    if (!eq || eq == s)
      return gw__error(err, GW_EINVAL, "controller %s: '%.*s' is not key=value", (*type)->name,
                       (int)n, s);
    size_t kl = (size_t)(eq - s), vl = n - kl - 1;
    if (p->n == GW_CTL_MAX_PARAMS || kl >= sizeof p->key[0] || vl >= sizeof p->val[0])
      return gw__error(err, GW_EINVAL, "controller %s: too many or too long parameters",
                       (*type)->name);
    memcpy(p->key[p->n], s, kl);
    memcpy(p->val[p->n], eq + 1, vl);
    p->n++;
    s += n;
    if (*s == ',') s++;
  }
  return GW_OK;
}

/* Keys of the signal model that the control loop applies (see control.h). */
static int is_model_key(const char *k) {
  return !strcmp(k, "mingreen") || !strcmp(k, "yellow") || !strcmp(k, "allred") ||
         !strcmp(k, "clearance");
}

int gw__ctl_model_overrides(const char *spec, gw_signal_model *m, const gw_net *net,
                            gw_error *err) {
  const gw_controller_type *type;
  gw_ctl_params p;
  int rc = parse_spec(spec, &type, &p, err);
  if (rc) return rc;
  double mg, y, ar;
  if ((rc = gw__ctl_param_double(&p, type->name, "mingreen", -1, 0, 120, &mg, err)) ||
      (rc = gw__ctl_param_double(&p, type->name, "yellow", -1, 2, 10, &y, err)) ||
      (rc = gw__ctl_param_double(&p, type->name, "allred", -1, 0, 10, &ar, err)))
    return rc;
  /* clearance=program: the all-reds of the program's own timing (the
  ** intervals a city has approved); an explicit allred= still wins. */
  const char *cl = gw__ctl_param_str(&p, "clearance", "geometry");
  if (!strcmp(cl, "program"))
    gw_signal_model_program_clearance(m, net);
  else if (strcmp(cl, "geometry"))
    return gw__error(err, GW_EINVAL,
                     "controller %s: clearance must be 'geometry' or 'program', not '%s'",
                     type->name, cl);
  return gw_signal_model_override(m, mg, y, ar);
}

int gw_controller_check_runtime(const char *spec, gw_error *err) {
  const gw_controller_type *type;
  gw_ctl_params p;
  int rc = parse_spec(spec, &type, &p, err);
  if (rc) return rc;
  for (int i = 0; i < p.n; i++)
    if (is_model_key(p.key[i]))
      return gw__error(err, GW_ESTATE,
                       "controller %s: '%s' shapes the safety monitor and is taken only when "
                       "control starts, not when a running signal's controller changes",
                       type->name, p.key[i]);
  return GW_OK;
}

int gw_controller_create(const char *spec, const gw_signal_model *m, const gw_net *net,
                         gw_controller **out, gw_error *err) {
  const gw_controller_type *type;
  gw_ctl_params p;
  int rc = parse_spec(spec, &type, &p, err);
  if (rc) return rc;
  gw_controller *c = gw__calloc(1, sizeof *c);
  if (!c) return gw__error(err, GW_ENOMEM, "out of memory");
  c->type = type;
  if ((rc = type->init(&c->state, m, net, &p, err))) {
    gw__free(c);
    return rc;
  }
  for (int i = 0; i < p.n; i++)
    if (!p.used[i] && !is_model_key(p.key[i])) {
      type->fini(c->state);
      gw__free(c);
      return gw__error(err, GW_EINVAL, "controller %s has no parameter '%s'", type->name, p.key[i]);
    }
  *out = c;
  return GW_OK;
}

int gw_controller_step(gw_controller *c, const gw_ctl_view *view, uint32_t *stage) {
  return c->type->step(c->state, view, stage);
}

void gw_controller_destroy(gw_controller *c) {
  if (!c) return;
  c->type->fini(c->state);
  gw__free(c);
}

const char *gw_controller_name(const gw_controller *c) { return c->type->name; }

int gw__controller_ignores_lanes(const gw_controller *c) { return c->type->ignores_lanes; }
int gw__controller_ignores_exits(const gw_controller *c) { return c->type->ignores_exits; }

/* Only where count/out_count are provably unread: fixed and fixedtime read
** no lane; maxpressure on queues (its default) and mp-waiting read
** queue/out_queue alone.  actuated (demand), adaptive (flows of groups
** without loops) and sotl (vehicles on the green) read count. */
int gw__controller_needs_counts(const gw_controller *c) {
  const gw_controller_type *t = c->type;
  if (t->ignores_lanes == 1) return 0;
  if (t == &gw__ctl_maxpressure) return gw__maxpressure_uses_counts(c->state);
  if (t == &gw__ctl_mp_waiting) return 0;
  return 1;
}

int gw__controller_reads_detectors(const gw_controller *c) {
  const gw_controller_type *t = c->type;
  return !(t == &gw__ctl_fixed || t == &gw__ctl_fixedtime || t == &gw__ctl_mp_waiting);
}

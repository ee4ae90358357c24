/*
** api_routes.c -- the API's intersections, plans, modes, schedules, alarms
** and history.
**
** Reads go to the store, or to the centre for what is live.  Writes follow
** one order everywhere, so that no acknowledged change can be lost and no
** unchecked one can reach the signals:
**   check the fields -> let the centre check the values against the
**   intersection's safety rules -> write the store -> write the audit row
**   -> queue the command on the centre -> answer.
** Without a live centre (tests, or a daemon still starting) only the shape
** of a plan or mode is checked and only the store is written; the centre
** checks again when it restores the intersection from the store, and
** gw_centre_set_mode refuses what is unsafe whatever the caller.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "greenwave/control.h"
#include "greenwave/measures.h"
#include "server/api_int.h"

#define WHY_LEN 512

/* ---- helpers ------------------------------------------------------------- */

static void blob_answer(gw__call *c, gw_blob *b, const char *what) {
  if (!b) {
    gw__api_error(c, 503, "not_ready", "no %s yet: the centre has not made its first step", what);
    return;
  }
  gw__api_raw(c, 200, b->data, b->len);
  gw_blob_unref(b);
}

static cJSON *blob_parse(gw_blob *b) {
  if (!b) return NULL;
  cJSON *v = cJSON_ParseWithLength(b->data, b->len);
  gw_blob_unref(b);
  return v;
}

/* The store row of the intersection named by path segment `i`; NULL after
** answering 404 or 500. */
static cJSON *intersection_row(gw__call *c, int i) {
  cJSON *row = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_intersection_get(c->st, c->seg[i], &row, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "no intersection '%s'", c->seg[i]);
    return NULL;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "intersection");
    return NULL;
  }
  return row;
}

/* A path segment as a positive integer; -1 after answering 404. */
static long long seg_id(gw__call *c, int i, long long max, const char *what) {
  char *end;
  long long v = strtoll(c->seg[i], &end, 10);
  if (end == c->seg[i] || *end || v < 1 || v > max || c->seg[i][0] == '+' || c->seg[i][0] == ' ') {
    gw__api_error(c, 404, "not_found", "no %s '%s' (ids are whole numbers from 1)", what,
                  c->seg[i]);
    return -1;
  }
  return v;
}

static void answer_rows(gw__call *c, int rc, cJSON *rows, const gw_error *err, const char *what) {
  if (rc) {
    cJSON_Delete(rows);
    gw__api_store_error(c, rc, err, what);
    return;
  }
  gw__api_json(c, 200, rows ? rows : cJSON_CreateArray());
}

/* The mode of a row: {"mode","mode_param","plan_version"}, for audit rows. */
static cJSON *mode_of(const cJSON *row) {
  cJSON *o = cJSON_CreateObject();
  const char *keys[] = {"mode", "mode_param", "plan_version"};
  for (int i = 0; i < 3; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(gw__row(row), keys[i]);
    cJSON_AddItemToObject(o, keys[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
  }
  return o;
}

static int query_range(gw__call *c, double *from, double *to) {
  *from = 0;
  *to = 1e11;
  if (gw__api_qtime(c, "from", from) < 0 || gw__api_qtime(c, "to", to) < 0) return -1;
  if (*from > *to) {
    gw__api_error(c, 400, "bad_range", "'from' lies after 'to'");
    return -1;
  }
  return 0;
}

/* ---- live state ---------------------------------------------------------- */

void gw__h_state(gw__call *c) {
  if (!c->api->centre) {
    gw__api_no_centre(c);
    return;
  }
  blob_answer(c, gw_centre_state(c->api->centre), "state");
}

void gw__h_network(gw__call *c) {
  if (!c->api->centre) {
    gw__api_no_centre(c);
    return;
  }
  blob_answer(c, gw_centre_network(c->api->centre), "network");
}

void gw__h_status(gw__call *c) {
  cJSON *o = cJSON_CreateObject();
  if (c->api->centre) {
    gw_centre_stats s;
    gw_centre_stats_get(c->api->centre, &s);
    cJSON *ce = cJSON_AddObjectToObject(o, "centre");
    cJSON_AddNumberToObject(ce, "t", s.t);
    cJSON_AddNumberToObject(ce, "steps", (double)s.steps);
    cJSON_AddNumberToObject(ce, "missed_deadlines", (double)s.missed_deadlines);
    cJSON_AddNumberToObject(ce, "events_written", (double)s.events_written);
    cJSON_AddNumberToObject(ce, "events_dropped", (double)s.events_dropped);
    cJSON_AddNumberToObject(ce, "frames_dropped", (double)s.frames_dropped);
    cJSON_AddNumberToObject(ce, "alarms_raised", (double)s.alarms_raised);
    cJSON_AddNumberToObject(ce, "max_step_ms", s.max_step_ms);
    cJSON_AddNumberToObject(ce, "cpu_share", s.cpu_share);
    cJSON_AddNumberToObject(ce, "intersections", gw_centre_intersection_count(c->api->centre));
    cJSON_AddBoolToObject(ce, "finished", gw_centre_finished(c->api->centre));
  } else {
    cJSON_AddNullToObject(o, "centre");
  }
  cJSON_AddStringToObject(o, "store", gw_store_kind(c->st));
  cJSON_AddStringToObject(o, "version", GW_VERSION);
  gw__api_json(c, 200, o);
}

/* ---- intersections ------------------------------------------------------- */

static const cJSON *live_of(const cJSON *state, const char *id) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(state, "intersections"), *it;
  cJSON_ArrayForEach(it, list) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "id");
    if (cJSON_IsString(v) && !strcmp(v->valuestring, id)) return it;
  }
  return NULL;
}

void gw__h_intersections(gw__call *c) {
  cJSON *rows = NULL, *it;
  gw_error err = {0, {0}};
  int rc = gw_store_intersections(c->st, &rows, &err);
  if (rc) {
    answer_rows(c, rc, rows, &err, "intersections");
    return;
  }
  cJSON *state = c->api->centre ? blob_parse(gw_centre_state(c->api->centre)) : NULL;
  cJSON_ArrayForEach(it, rows) {
    /* The configuration is heavy and static: /api/intersections/{id} has it. */
    cJSON_DeleteItemFromObjectCaseSensitive(it, "config");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
    const cJSON *live = cJSON_IsString(id) ? live_of(state, id->valuestring) : NULL;
    cJSON_AddItemToObject(it, "state", live ? cJSON_Duplicate(live, 1) : cJSON_CreateNull());
  }
  cJSON_Delete(state);
  gw__api_json(c, 200, rows);
}

void gw__h_intersection(gw__call *c) {
  cJSON *row = intersection_row(c, 1);
  if (!row) return;
  gw_centre *ce = c->api->centre;
  cJSON *o = cJSON_CreateObject();
  const char *keys[] = {"id", "name", "x", "y", "mode", "mode_param", "plan_version"};
  for (int i = 0; i < 7; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(gw__row(row), keys[i]);
    cJSON_AddItemToObject(o, keys[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
  }
  cJSON *cfg = ce ? blob_parse(gw_centre_intersection_config(ce, c->seg[1])) : NULL;
  if (!cfg) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(gw__row(row), "config");
    cfg = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
  }
  cJSON_AddItemToObject(o, "config", cfg);
  cJSON *live = ce ? blob_parse(gw_centre_intersection_state(ce, c->seg[1])) : NULL;
  cJSON_AddItemToObject(o, "state", live ? live : cJSON_CreateNull());
  cJSON_Delete(row);
  gw__api_json(c, 200, o);
}

void gw__h_intersection_state(gw__call *c) {
  if (!c->api->centre) {
    gw__api_no_centre(c);
    return;
  }
  gw_blob *b = gw_centre_intersection_state(c->api->centre, c->seg[1]);
  if (!b) {
    gw__api_error(c, 404, "not_found", "no live intersection '%s'", c->seg[1]);
    return;
  }
  blob_answer(c, b, "state");
}

/* ---- detectors ------------------------------------------------------------ */

void gw__h_detectors(gw__call *c) {
  if (!c->api->centre) {
    gw__api_no_centre(c);
    return;
  }
  gw_blob *b = gw_centre_detectors(c->api->centre, c->seg[1]);
  if (!b) {
    gw__api_error(c, 404, "not_found", "no live intersection '%s'", c->seg[1]);
    return;
  }
  blob_answer(c, b, "detectors");
}

/* POST /api/detectors/{id}/fail and /restore: an operator takes a detector
** out of control or puts it back; audited with its state before. */
static void detector_set(gw__call *c, int fail) {
  if (!c->api->centre) {
    gw__api_no_centre(c);
    return;
  }
  char isec[GW__API_ID_MAX + 1] = "";
  int was = 0;
  int rc = gw_centre_detector_set(c->api->centre, c->seg[1], fail, isec, sizeof isec, &was);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "no detector '%s'", c->seg[1]);
    return;
  }
  if (rc) {
    gw__api_error(c, 503, "busy", "too many commands waiting; try again");
    return;
  }
  cJSON *before = cJSON_CreateObject(), *after = cJSON_CreateObject();
  cJSON_AddStringToObject(before, "status", was ? "failed" : "ok");
  cJSON_AddStringToObject(after, "status", fail ? "failed" : "ok");
  if (fail) cJSON_AddStringToObject(after, "reason", "operator");
  cJSON_AddStringToObject(after, "intersection", isec);
  int bad = gw__api_audit(c, fail ? "detector.fail" : "detector.restore", c->seg[1], before, after);
  cJSON_Delete(before);
  if (bad) {
    cJSON_Delete(after);
    return;
  }
  cJSON_AddStringToObject(after, "detector", c->seg[1]);
  gw__api_json(c, 200, after);
}

void gw__h_detector_fail(gw__call *c) { detector_set(c, 1); }
void gw__h_detector_restore(gw__call *c) { detector_set(c, 0); }

/* ---- plans --------------------------------------------------------------- */

void gw__h_plans(gw__call *c) {
  cJSON *row = intersection_row(c, 1), *rows = NULL;
  if (!row) return;
  cJSON_Delete(row);
  gw_error err = {0, {0}};
  int rc = gw_store_plans(c->st, c->seg[1], &rows, &err);
  answer_rows(c, rc, rows, &err, "plans");
}

void gw__h_plan(gw__call *c) {
  long long v = seg_id(c, 3, INT_MAX, "plan version");
  if (v < 0) return;
  cJSON *row = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_plan_get(c->st, c->seg[1], (int)v, &row, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "intersection '%s' has no plan version %lld", c->seg[1], v);
    return;
  }
  answer_rows(c, rc, row, &err, "plan");
}

/* Checks the shape of a plan body and builds its canonical form (only the
** known keys, so that nothing else is stored); NULL after answering. */
static cJSON *plan_body(gw__call *c) {
  double cycle, offset;
  if (gw__api_num(c, "cycle_s", 1, 3600, 1, &cycle) < 0 ||
      gw__api_num(c, "offset_s", 0, 3600, 1, &offset) < 0)
    return NULL;
  if (offset >= cycle) {
    gw__api_error(c, 422, "invalid_plan", "'offset_s' %g must lie in [0, cycle_s %g)", offset,
                  cycle);
    return NULL;
  }
  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(c->body, "splits_s"), *it;
  if (!sp) {
    gw__api_error(c, 400, "missing_field", "'splits_s' is required");
    return NULL;
  }
  if (!cJSON_IsArray(sp)) {
    gw__api_error(c, 400, "wrong_type", "'splits_s' must be an array of numbers");
    return NULL;
  }
  int n = cJSON_GetArraySize(sp), i = 0;
  if (n < 1 || n > 32) {
    gw__api_error(c, 422, "invalid_plan", "'splits_s' has %d entries; 1 to 32 (one per stage)", n);
    return NULL;
  }
  double sum = 0;
  cJSON *body = cJSON_CreateObject();
  cJSON_AddNumberToObject(body, "cycle_s", cycle);
  cJSON_AddNumberToObject(body, "offset_s", offset);
  cJSON *out = cJSON_AddArrayToObject(body, "splits_s");
  cJSON_ArrayForEach(it, sp) {
    if (!cJSON_IsNumber(it)) {
      cJSON_Delete(body);
      gw__api_error(c, 400, "wrong_type", "'splits_s'[%d] must be a number", i);
      return NULL;
    }
    if (!isfinite(it->valuedouble) || it->valuedouble <= 0 || it->valuedouble > 3600) {
      cJSON_Delete(body);
      gw__api_error(c, 422, "invalid_plan", "'splits_s'[%d] must lie in (0, 3600] s", i);
      return NULL;
    }
    sum += it->valuedouble;
    cJSON_AddItemToArray(out, cJSON_CreateNumber(it->valuedouble));
    i++;
  }
  if (fabs(sum - cycle) > 0.05) {
    cJSON_Delete(body);
    gw__api_error(c, 422, "invalid_plan", "'splits_s' add up to %g s, not the cycle's %g s", sum,
                  cycle);
    return NULL;
  }
  return body;
}

/* Answers a refusal of the centre's checks: 404 for an intersection the
** centre does not run, 422 with its reason otherwise. */
static void centre_refused(gw__call *c, int rc, const char *why, const char *code) {
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "the centre runs no intersection '%s'", c->seg[1]);
    return;
  }
  char msg[WHY_LEN];
  snprintf(msg, sizeof msg, "%s", why[0] ? why : "refused by the intersection's safety rules");
  if (!gw__api_valid_utf8(msg, strlen(msg))) snprintf(msg, sizeof msg, "refused");
  cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
  cJSON_AddNumberToObject(e, "status", 422);
  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", msg);
  cJSON_AddStringToObject(root, "message", msg);
  gw__api_json(c, 422, root);
}

void gw__h_plan_create(gw__call *c) {
  const char *note = NULL;
  if (gw__api_str(c, "note", GW__API_NOTE_MAX, 0, &note) < 0) return;
  cJSON *row = intersection_row(c, 1);
  if (!row) return;
  cJSON_Delete(row);
  cJSON *body = plan_body(c);
  if (!body) return;
  char *text = cJSON_PrintUnformatted(body);
  char why[WHY_LEN] = "";
  gw_error err = {0, {0}};
  int version = 0, rc;
  if (!text) {
    gw__api_error(c, 500, "out_of_memory", "out of memory");
    goto done;
  }
  if (c->api->centre &&
      (rc = gw_centre_plan_validate(c->api->centre, c->seg[1], text, why, sizeof why))) {
    centre_refused(c, rc, why, "invalid_plan");
    goto done;
  }
  rc = gw_store_plan_create(c->st, c->seg[1], text, c->user, note ? note : "", c->now, &version,
                            &err);
  if (rc) {
    gw__api_store_error(c, rc, &err, "plan");
    goto done;
  }
  cJSON_AddNumberToObject(body, "version", version);
  if (note) cJSON_AddStringToObject(body, "note", note);
  if (gw__api_audit(c, "plan.create", c->seg[1], NULL, body)) goto done;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "intersection", c->seg[1]);
  cJSON_AddNumberToObject(o, "version", version);
  gw__api_json(c, 201, o);
done:
  free(text);
  cJSON_Delete(body);
}

void gw__h_plan_activate(gw__call *c) {
  long long v = seg_id(c, 3, INT_MAX, "plan version");
  if (v < 0) return;
  cJSON *row = intersection_row(c, 1), *plan = NULL, *before = NULL, *after = NULL;
  char *text = NULL, why[WHY_LEN] = "";
  gw_error err = {0, {0}};
  if (!row) return;
  int rc = gw_store_plan_get(c->st, c->seg[1], (int)v, &plan, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "intersection '%s' has no plan version %lld", c->seg[1], v);
    goto done;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "plan");
    goto done;
  }
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(gw__row(plan), "body");
  text = cJSON_IsString(body) ? strdup(body->valuestring) : cJSON_PrintUnformatted(body);
  if (!text) {
    gw__api_error(c, 500, "store_error", "plan %lld has no body", v);
    goto done;
  }
  gw_centre *ce = c->api->centre;
  if (ce && (rc = gw_centre_mode_validate(ce, c->seg[1], "fixed", text, why, sizeof why))) {
    centre_refused(c, rc, why, "invalid_plan");
    goto done;
  }
  before = mode_of(row);
  if ((rc = gw_store_intersection_set_mode(c->st, c->seg[1], "fixed", text, &err)) ||
      (rc = gw_store_plan_activate(c->st, c->seg[1], (int)v, &err))) {
    gw__api_store_error(c, rc, &err, "plan activation");
    goto done;
  }
  after = cJSON_CreateObject();
  cJSON_AddStringToObject(after, "mode", "fixed");
  cJSON_AddStringToObject(after, "mode_param", text);
  cJSON_AddNumberToObject(after, "plan_version", (double)v);
  if (gw__api_audit(c, "plan.activate", c->seg[1], before, after)) goto done;
  int applied = ce ? !gw_centre_set_mode(ce, c->seg[1], "fixed", text, why, sizeof why) : 0;
  cJSON *o = cJSON_Duplicate(after, 1);
  cJSON_AddStringToObject(o, "intersection", c->seg[1]);
  cJSON_AddBoolToObject(o, "applied", applied);
  gw__api_json(c, 200, o);
done:
  free(text);
  cJSON_Delete(row);
  cJSON_Delete(plan);
  cJSON_Delete(before);
  cJSON_Delete(after);
}

/* ---- modes --------------------------------------------------------------- */

static const char *const modes[] = {"fixed",       "actuated", "adaptive",
                                    "maxpressure", "hold",     "flash"};

void gw__h_mode_set(gw__call *c) {
  const char *mode;
  if (gw__api_str(c, "mode", 16, 1, &mode) < 0) return;
  int known = 0;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) known |= !strcmp(mode, modes[i]);
  if (!known) {
    gw__api_error(c, 422, "invalid_mode",
                  "'mode' '%s' is not one of fixed, actuated, adaptive, maxpressure, "
                  "hold, flash",
                  mode);
    return;
  }
  /* The parameter: a stage number, a text, or controller parameters as an
  ** object; stored as text. */
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(c->body, "param");
  char num[32], *ptext = NULL;
  const char *param = NULL;
  if (cJSON_IsNumber(p)) {
    if (!isfinite(p->valuedouble) || p->valuedouble < 0 || p->valuedouble > 1000 ||
        p->valuedouble != floor(p->valuedouble)) {
      gw__api_error(c, 422, "invalid_param", "'param' as a number is a stage in [0, 1000]");
      return;
    }
    snprintf(num, sizeof num, "%d", (int)p->valuedouble);
    param = num;
  } else if (cJSON_IsString(p)) {
    if (strlen(p->valuestring) > 4096) {
      gw__api_error(c, 422, "too_long", "'param' is longer than 4096 bytes");
      return;
    }
    param = p->valuestring;
  } else if (cJSON_IsObject(p)) {
    ptext = cJSON_PrintUnformatted(p);
    if (!ptext || strlen(ptext) > 4096) {
      free(ptext);
      {
        gw__api_error(c, 422, "too_long", "'param' is longer than 4096 bytes");
        return;
      }
    }
    param = ptext;
  } else if (p && !cJSON_IsNull(p)) {
    {
      gw__api_error(c, 400, "wrong_type",
                    "'param' must be a stage number, a string, an object or null");
      return;
    }
  }
  if (!strcmp(mode, "hold")) {
    char *end;
    long st = param ? strtol(param, &end, 10) : -1;
    if (!param || end == param || *end || st < 0 || st > 1000) {
      free(ptext);
      {
        gw__api_error(c, 422, "invalid_param",
                      "mode 'hold' needs 'param': the stage to hold (0-based)");
        return;
      }
    }
  }
  if (param &&
      (!strcmp(mode, "actuated") || !strcmp(mode, "adaptive") || !strcmp(mode, "maxpressure"))) {
    /* Checked with or without a live centre: clearances are not a mode's. */
    char spec[128];
    gw_error e = {0, {0}};
    snprintf(spec, sizeof spec, "%s:%.100s", mode, param);
    if (strlen(param) <= 100 && gw_controller_check_runtime(spec, &e) == GW_ESTATE) {
      free(ptext);
      gw__api_error(c, 422, "invalid_mode", "%s", e.msg);
      return;
    }
  }
  cJSON *row = intersection_row(c, 1), *before = NULL, *after = NULL;
  char why[WHY_LEN] = "";
  gw_error err = {0, {0}};
  gw_centre *ce = c->api->centre;
  int rc;
  if (!row) goto done;
  if (ce && (rc = gw_centre_mode_validate(ce, c->seg[1], mode, param, why, sizeof why))) {
    centre_refused(c, rc, why, "invalid_mode");
    goto done;
  }
  before = mode_of(row);
  if ((rc = gw_store_intersection_set_mode(c->st, c->seg[1], mode, param, &err))) {
    gw__api_store_error(c, rc, &err, "mode");
    goto done;
  }
  after = cJSON_CreateObject();
  cJSON_AddStringToObject(after, "mode", mode);
  if (param)
    cJSON_AddStringToObject(after, "mode_param", param);
  else
    cJSON_AddNullToObject(after, "mode_param");
  if (gw__api_audit(c, "mode.set", c->seg[1], before, after)) goto done;
  int applied = ce ? !gw_centre_set_mode(ce, c->seg[1], mode, param, why, sizeof why) : 0;
  cJSON *o = cJSON_Duplicate(after, 1);
  cJSON_AddStringToObject(o, "intersection", c->seg[1]);
  cJSON_AddBoolToObject(o, "applied", applied);
  gw__api_json(c, 200, o);
done:
  free(ptext);
  cJSON_Delete(row);
  cJSON_Delete(before);
  cJSON_Delete(after);
}

/* ---- schedules ----------------------------------------------------------- */

void gw__h_schedules(gw__call *c) {
  cJSON *row = intersection_row(c, 1), *rows = NULL;
  if (!row) return;
  cJSON_Delete(row);
  gw_error err = {0, {0}};
  int rc = gw_store_schedules(c->st, c->seg[1], &rows, &err);
  answer_rows(c, rc, rows, &err, "schedules");
}

void gw__h_schedule_add(gw__call *c) {
  long days, plan;
  double start;
  if (gw__api_int(c, "days", 1, 127, 1, &days) < 0 ||
      gw__api_num(c, "start_s", 0, 86399.9, 1, &start) < 0 ||
      gw__api_int(c, "plan_version", 0, INT_MAX, 1, &plan) < 0)
    return;
  cJSON *row = intersection_row(c, 1);
  if (!row) return;
  cJSON_Delete(row);
  gw_error err = {0, {0}};
  if (plan > 0) {
    cJSON *p = NULL;
    int rc = gw_store_plan_get(c->st, c->seg[1], (int)plan, &p, &err);
    cJSON_Delete(p);
    if (rc == GW_ENOTFOUND) {
      gw__api_error(c, 422, "invalid_value",
                    "'plan_version' %ld: intersection '%s' has no such plan", plan, c->seg[1]);
      return;
    }
    if (rc) {
      gw__api_store_error(c, rc, &err, "schedule");
      return;
    }
  }
  int64_t id = 0;
  int rc = gw_store_schedule_add(c->st, c->seg[1], (int)days, start, (int)plan, &id, &err);
  if (rc) {
    gw__api_store_error(c, rc, &err, "schedule");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)id);
  cJSON_AddStringToObject(o, "intersection_id", c->seg[1]);
  cJSON_AddNumberToObject(o, "days", (double)days);
  cJSON_AddNumberToObject(o, "start_s", start);
  cJSON_AddNumberToObject(o, "plan_version", (double)plan);
  if (gw__api_audit(c, "schedule.add", c->seg[1], NULL, o)) {
    cJSON_Delete(o);
    return;
  }
  gw__api_json(c, 201, o);
}

void gw__h_schedule_delete(gw__call *c) {
  long long id = seg_id(c, 1, INT64_MAX, "schedule");
  if (id < 0) return;
  gw_error err = {0, {0}};
  int rc = gw_store_schedule_delete(c->st, (int64_t)id, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "no schedule %lld", id);
    return;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "schedule");
    return;
  }
  cJSON *before = cJSON_CreateObject();
  cJSON_AddNumberToObject(before, "id", (double)id);
  int bad = gw__api_audit(c, "schedule.delete", c->seg[1], before, NULL);
  cJSON_Delete(before);
  if (bad) return;
  free(c->rs->body);
  c->rs->body = NULL;
  c->rs->len = 0;
  c->rs->status = 204;
  c->rs->content_type = "application/json; charset=utf-8";
}

/* ---- alarms -------------------------------------------------------------- */

void gw__h_alarms(gw__call *c) {
  long open = 0, limit = 100;
  if (gw__api_qint(c, "open", 0, 1, &open) < 0 || gw__api_qint(c, "limit", 1, 10000, &limit) < 0)
    return;
  cJSON *rows = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_alarms(c->st, (int)open, (int)limit, &rows, &err);
  answer_rows(c, rc, rows, &err, "alarms");
}

void gw__h_alarm_ack(gw__call *c) {
  long long id = seg_id(c, 1, INT64_MAX, "alarm");
  if (id < 0) return;
  gw_error err = {0, {0}};
  int rc = gw_store_alarm_ack(c->st, (int64_t)id, c->user, c->now, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "no alarm %lld", id);
    return;
  }
  if (rc == GW_ESTATE) {
    gw__api_error(c, 409, "already_acknowledged", "alarm %lld is already acknowledged", id);
    return;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "alarm");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)id);
  cJSON_AddStringToObject(o, "acked_by", c->user);
  cJSON_AddNumberToObject(o, "acked_at", c->now);
  if (gw__api_audit(c, "alarm.ack", c->seg[1], NULL, o)) {
    cJSON_Delete(o);
    return;
  }
  gw__api_json(c, 200, o);
}

/* ---- history ------------------------------------------------------------- */

void gw__h_events(gw__call *c) {
  char signal[GW__API_ID_MAX + 2];
  int has = gw_http_query(c->rq->query, "signal", signal, sizeof signal);
  double from, to;
  long limit = 1000;
  if (has && (strlen(signal) > GW__API_ID_MAX || !gw__api_valid_utf8(signal, strlen(signal)))) {
    gw__api_error(c, 400, "bad_query", "query 'signal' is not an id of up to %d bytes",
                  GW__API_ID_MAX);
    return;
  }
  if (query_range(c, &from, &to) || gw__api_qint(c, "limit", 1, 10000, &limit) < 0) return;
  cJSON *rows = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_events(c->st, has ? signal : NULL, from, to, (int)limit, &rows, &err);
  answer_rows(c, rc, rows, &err, "events");
}

void gw__h_aggregates(gw__call *c) {
  char inter[GW__API_ID_MAX + 2];
  int has = gw_http_query(c->rq->query, "intersection", inter, sizeof inter);
  double from, to;
  long period = 900;
  if (has && (strlen(inter) > GW__API_ID_MAX || !gw__api_valid_utf8(inter, strlen(inter)))) {
    gw__api_error(c, 400, "bad_query", "query 'intersection' is not an id of up to %d bytes",
                  GW__API_ID_MAX);
    return;
  }
  if (gw__api_qint(c, "period", 300, 900, &period) < 0 || query_range(c, &from, &to)) return;
  if (period != 300 && period != 900) {
    gw__api_error(c, 400, "bad_query", "query 'period' must be 300 or 900");
    return;
  }
  cJSON *rows = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_aggregates(c->st, has ? inter : NULL, (int)period, from, to, &rows, &err);
  answer_rows(c, rc, rows, &err, "aggregates");
}

void gw__h_audit(gw__call *c) {
  double from, to;
  long limit = 1000;
  if (query_range(c, &from, &to) || gw__api_qint(c, "limit", 1, 10000, &limit) < 0) return;
  cJSON *rows = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_audit_list(c->st, from, to, (int)limit, &rows, &err);
  answer_rows(c, rc, rows, &err, "audit");
}

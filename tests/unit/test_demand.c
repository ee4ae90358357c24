/*
** test_demand.c -- the SUMO route-file importer (gw_demand).
**
** Why these tests: the demand decides who drives where and when.  A flow
** expanded with one vehicle too many, a vType attribute silently ignored or a
** route that jumps between unconnected edges would all make every later
** comparison with SUMO meaningless.  Each test writes a small route file for
** the grid4x4 network to a temporary file, loads it through the public
** loader and checks the result against values worked out by hand from the
** file (flow departures are listed explicitly, not recomputed with the
** importer's formula).  Errors must name file:LINE: and the offending id.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "greenwave/demand.h"
#include "greenwave/net.h"

#define GRID GW_SCENARIOS "/grid4x4/grid4x4.net.xml"

/* Two connected routes of grid4x4 (each edge pair shares a node). */
#define ROUTE_E "A0B0 A0B0.250.00 B0C0 B0C0.250.00 C0D0"
#define ROUTE_N "A0A1 A0A1.250.00 A1A2"

static gw_net *g_net;

static int setup(void **state) {
  (void)state;
  gw_error err;
  memset(&err, 0, sizeof err);
  if (gw_net_load_sumo(GRID, &g_net, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  gw_net_destroy(g_net);
  return 0;
}

/* Writes `body` inside <routes> to a fresh temporary file; the <routes>
** line is line 2, so the body's first line is line 3. */
static void write_routes(char *path, const char *body) {
  strcpy(path, "/tmp/gw_test_demand_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "<?xml version=\"1.0\"?>\n<routes>\n%s</routes>\n", body);
  fclose(f);
}

/* Loads and finishes; fails the test on error. */
static gw_demand *load_ok(const char *body) {
  char path[64];
  write_routes(path, body);
  gw_demand *d = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_demand_load_sumo(&d, g_net, path, &err);
  remove(path);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(gw_demand_finish(d, &err), 0);
  return d;
}

/* Loads a file that must fail with `code` at `line`, naming every needle. */
static void load_fails(const char *body, int code, unsigned line, const char *const *needles) {
  char path[64], where[96];
  write_routes(path, body);
  gw_demand *d = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_demand_load_sumo(&d, g_net, path, &err);
  remove(path);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  snprintf(where, sizeof where, "%s:%u:", path, line);
  if (!strstr(err.msg, where)) fprintf(stderr, "want '%s' in '%s'\n", where, err.msg);
  assert_non_null(strstr(err.msg, where));
  for (; needles && *needles; needles++) {
    if (!strstr(err.msg, *needles)) fprintf(stderr, "want '%s' in '%s'\n", *needles, err.msg);
    assert_non_null(strstr(err.msg, *needles));
  }
  gw_demand_destroy(d); /* the caller owns *d even on failure */
}

static const gw_vtype *type_named(const gw_demand *d, const char *id) {
  for (uint32_t i = 0; i < gw_demand_vtype_count(d); i++)
    if (!strcmp(gw_demand_vtype(d, i)->id, id)) return gw_demand_vtype(d, i);
  fail_msg("no vType %s", id);
  return NULL;
}

static const gw_trip *trip_named(const gw_demand *d, const char *id) {
  for (uint32_t i = 0; i < gw_demand_trip_count(d); i++)
    if (!strcmp(gw_demand_trip(d, i)->id, id)) return gw_demand_trip(d, i);
  fail_msg("no trip %s", id);
  return NULL;
}

/* The trip's route equals the space-separated edge list. */
static void assert_route(const gw_trip *t, const char *edges) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", edges);
  uint32_t k = 0;
  for (char *e = strtok(buf, " "); e; e = strtok(NULL, " "), k++) {
    assert_true(k < t->route_n);
    assert_int_equal(t->route[k], gw_net_find_edge(g_net, e));
  }
  assert_int_equal(k, t->route_n);
}

/* ---- vehicle types ------------------------------------------------------ */

static void vtype_defaults_per_class(void **state) {
  (void)state;
  /* SUMO's class defaults (SUMOVTypeParameter / the Krauss model):
  ** class, length, minGap, accel, decel, emergencyDecel, width, maxSpeed (-1: not checked). */
  static const struct {
    uint32_t vc;
    double len, gap, acc, dec, edec, width, vmax;
  } want[] = {
      {GW_VC_PASSENGER, 5.0, 2.5, 2.6, 4.5, 9.0, 1.8, 200 / 3.6},
      {GW_VC_BUS, 12.0, 2.5, 1.2, 4.0, 7.0, 2.5, 100 / 3.6},
      {GW_VC_TRUCK, 7.1, 2.5, 1.3, 4.0, 7.0, 2.4, 130 / 3.6},
      {GW_VC_MOTORCYCLE, 2.2, 2.5, 6.0, 10.0, 10.0, 0.9, 200 / 3.6},
      {GW_VC_BICYCLE, 1.6, 0.5, 1.2, 3.0, 7.0, 0.65, -1},
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    gw_vtype t;
    memset(&t, 0xff, sizeof t); /* every field must be written */
    gw_vtype_defaults(&t, want[i].vc);
    assert_int_equal(t.vclass, want[i].vc);
    assert_true(t.length_m == want[i].len);
    assert_true(t.min_gap_m == want[i].gap);
    assert_true(t.accel_mps2 == want[i].acc);
    assert_true(t.decel_mps2 == want[i].dec);
    assert_true(t.emergency_decel_mps2 == want[i].edec);
    assert_true(t.width_m == want[i].width);
    if (want[i].vmax > 0) assert_true(t.max_speed_mps > want[i].vmax - 0.01 && t.max_speed_mps < want[i].vmax + 0.01);
    assert_true(t.sigma == 0.5);
    assert_true(t.tau_s == 1.0);
    assert_true(t.speed_factor == 1.0);
    assert_true(t.speed_dev >= 0 && t.speed_dev <= 0.1);
  }
}

static void vtype_attributes_and_defaults(void **state) {
  (void)state;
  gw_demand *d = load_ok(
      "  <vType id=\"bus1\" vClass=\"bus\" length=\"10\" minGap=\"3\" accel=\"1.0\" decel=\"3.5\"\n"
      "         sigma=\"0\" tau=\"1.5\" maxSpeed=\"20\" speedFactor=\"normc(1.1,0.05,0.2,2)\"/>\n"
      "  <vType id=\"hard\" decel=\"12\"/>\n"
      "  <vType id=\"fixed\" speedFactor=\"1.2\"/>\n"
      "  <vehicle id=\"a\" type=\"bus1\" depart=\"0\"><route edges=\"" ROUTE_E "\"/></vehicle>\n"
      "  <vehicle id=\"b\" depart=\"1\"><route edges=\"" ROUTE_E "\"/></vehicle>\n");
  const gw_vtype *b = type_named(d, "bus1");
  assert_int_equal(b->vclass, GW_VC_BUS);
  assert_true(b->length_m == 10 && b->min_gap_m == 3 && b->accel_mps2 == 1.0);
  assert_true(b->decel_mps2 == 3.5 && b->sigma == 0 && b->tau_s == 1.5 && b->max_speed_mps == 20);
  assert_true(b->speed_factor == 1.1 && b->speed_dev == 0.05);
  /* Not given: the bus class values. */
  assert_true(b->width_m == 2.5 && b->emergency_decel_mps2 == 7.0);
  /* emergencyDecel is never below decel. */
  const gw_vtype *h = type_named(d, "hard");
  assert_int_equal(h->vclass, GW_VC_PASSENGER);
  assert_true(h->decel_mps2 == 12 && h->emergency_decel_mps2 == 12);
  assert_true(type_named(d, "fixed")->speed_factor == 1.2);
  /* A vehicle without a type gets SUMO's DEFAULT_VEHTYPE (passenger). */
  const gw_trip *tb = trip_named(d, "b");
  const gw_vtype *dt = gw_demand_vtype(d, tb->vtype);
  assert_string_equal(dt->id, "DEFAULT_VEHTYPE");
  assert_true(dt->length_m == 5.0 && dt->accel_mps2 == 2.6);
  assert_string_equal(gw_demand_vtype(d, trip_named(d, "a")->vtype)->id, "bus1");
  assert_int_equal(gw_demand_vtype_count(d), 4);
  assert_null(gw_demand_vtype(d, 4));
  gw_demand_destroy(d);
  gw_demand_destroy(NULL);
}

/* ---- vehicles and routes ------------------------------------------------ */

static void embedded_and_referenced_routes(void **state) {
  (void)state;
  gw_demand *d = load_ok(
      "  <route id=\"r1\" edges=\"" ROUTE_E "\"/>\n"
      "  <vehicle id=\"ref\" route=\"r1\" depart=\"5\" departLane=\"best\" departSpeed=\"max\"/>\n"
      "  <vehicle id=\"emb\" depart=\"3.5\" departPos=\"12.5\" arrivalPos=\"30\" departLane=\"1\"\n"
      "           departSpeed=\"4.25\">\n"
      "    <route edges=\"" ROUTE_N "\"/>\n"
      "  </vehicle>\n"
      "  <vehicle id=\"ref2\" route=\"r1\" depart=\"5\"/>\n");
  assert_int_equal(gw_demand_trip_count(d), 3);
  /* Sorted by depart; the two at 5 s keep file order. */
  assert_string_equal(gw_demand_trip(d, 0)->id, "emb");
  assert_string_equal(gw_demand_trip(d, 1)->id, "ref");
  assert_string_equal(gw_demand_trip(d, 2)->id, "ref2");
  const gw_trip *e = gw_demand_trip(d, 0), *r = gw_demand_trip(d, 1), *r2 = gw_demand_trip(d, 2);
  assert_route(e, ROUTE_N);
  assert_route(r, ROUTE_E);
  assert_route(r2, ROUTE_E);
  assert_true(e->depart_s == 3.5 && r->depart_s == 5);
  assert_true(e->depart_pos_m == 12.5 && e->arrival_pos_m == 30);
  assert_int_equal(e->depart_lane, 1);
  assert_int_equal(e->depart_speed_mode, GW_DEPART_SPEED_GIVEN);
  assert_true(e->depart_speed_mps == 4.25);
  assert_int_equal(r->depart_lane, GW_DEPART_LANE_BEST);
  assert_int_equal(r->depart_speed_mode, GW_DEPART_SPEED_MAX);
  /* SUMO's defaults: first lane, speed 0, base position, arrive at the end. */
  assert_int_equal(r2->depart_lane, GW_DEPART_LANE_FIRST);
  assert_int_equal(r2->depart_speed_mode, GW_DEPART_SPEED_GIVEN);
  assert_true(r2->depart_speed_mps == 0);
  assert_true(r2->depart_pos_m == 0);
  assert_true(r2->arrival_pos_m < 0);
  assert_null(gw_demand_trip(d, 3));
  gw_demand_destroy(d);
}

static void files_accumulate_and_sort(void **state) {
  (void)state;
  char p1[64], p2[64];
  write_routes(p1, "  <vehicle id=\"late\" depart=\"50\"><route edges=\"" ROUTE_E "\"/></vehicle>\n"
                   "  <vehicle id=\"mid\" depart=\"20\"><route edges=\"" ROUTE_E "\"/></vehicle>\n");
  write_routes(p2, "  <vehicle id=\"early\" depart=\"10\"><route edges=\"" ROUTE_N "\"/></vehicle>\n");
  gw_demand *d = NULL;
  gw_error err;
  assert_int_equal(gw_demand_load_sumo(&d, g_net, p1, &err), 0);
  assert_int_equal(gw_demand_load_sumo(&d, g_net, p2, &err), 0);
  remove(p1);
  remove(p2);
  assert_int_equal(gw_demand_trip_count(d), 3);
  assert_null(gw_demand_trip(d, 0)); /* not readable before finishing */
  assert_int_equal(gw_demand_finish(d, &err), 0);
  assert_string_equal(gw_demand_trip(d, 0)->id, "early");
  assert_string_equal(gw_demand_trip(d, 1)->id, "mid");
  assert_string_equal(gw_demand_trip(d, 2)->id, "late");
  assert_route(gw_demand_trip(d, 0), ROUTE_N);
  gw_demand_destroy(d);
}

static void empty_demand_finishes(void **state) {
  (void)state;

  gw_demand *d = NULL;
  gw_error err;
  assert_int_equal(gw_demand_create(&d), 0);
  assert_int_equal(gw_demand_finish(d, &err), 0);
  assert_int_equal(gw_demand_trip_count(d), 0);
  assert_null(gw_demand_trip(d, 0));
  gw_demand_destroy(d);
  /* A file with types only is an empty demand too. */
  d = load_ok("  <vType id=\"car\"/>\n");
  assert_int_equal(gw_demand_trip_count(d), 0);
  assert_int_equal(gw_demand_vtype_count(d), 1);
  gw_demand_destroy(d);
}

/* ---- flows -------------------------------------------------------------- */

/* The departures of the trips whose id starts with `prefix.`, in order. */
static uint32_t departs_of(const gw_demand *d, const char *prefix, double *out, uint32_t cap) {
  uint32_t n = 0;
  size_t pl = strlen(prefix);
  for (uint32_t i = 0; i < gw_demand_trip_count(d); i++) {
    const gw_trip *t = gw_demand_trip(d, i);
    if (strncmp(t->id, prefix, pl) || t->id[pl] != '.') continue;
    /* Ids are prefix.0, prefix.1, ... in departure order. */
    char want[64];
    snprintf(want, sizeof want, "%s.%u", prefix, n);
    assert_string_equal(t->id, want);
    if (n < cap) out[n] = t->depart_s;
    n++;
  }
  return n;
}

static void assert_departs(const gw_demand *d, const char *prefix, const double *want, uint32_t n) {
  double got[64];
  assert_int_equal(departs_of(d, prefix, got, 64), n);
  for (uint32_t i = 0; i < n; i++) {
    if (!(got[i] > want[i] - 1e-9 && got[i] < want[i] + 1e-9))
      fail_msg("%s.%u departs at %g, expected %g", prefix, i, got[i], want[i]);
  }
}

static void flows_expand(void **state) {
  (void)state;
  gw_demand *d = load_ok(
      "  <route id=\"r\" edges=\"" ROUTE_E "\"/>\n"
      "  <flow id=\"vph\" route=\"r\" begin=\"0\" end=\"100\" vehsPerHour=\"360\"/>\n"
      "  <flow id=\"per\" route=\"r\" begin=\"10\" end=\"40\" period=\"7\"/>\n"
      "  <flow id=\"num\" route=\"r\" begin=\"0\" end=\"100\" number=\"4\"/>\n"
      "  <flow id=\"cap\" route=\"r\" begin=\"5\" end=\"100\" vehsPerHour=\"3600\" number=\"3\"/>\n"
      "  <flow id=\"frac\" begin=\"1\" end=\"2\" vehsPerHour=\"7200\">\n"
      "    <route edges=\"" ROUTE_N "\"/>\n"
      "  </flow>\n"
      "  <flow id=\"none\" route=\"r\" begin=\"0\" end=\"100\" vehsPerHour=\"0\"/>\n"
      "  <flow id=\"all\" route=\"r\" begin=\"0\" end=\"10\" probability=\"1\"/>\n"
      "  <flow id=\"never\" route=\"r\" begin=\"0\" end=\"10\" probability=\"0\"/>\n");
  static const double vph[] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90};
  static const double per[] = {10, 17, 24, 31, 38};
  static const double num[] = {0, 25, 50, 75};
  static const double cap[] = {5, 6, 7};
  static const double frac[] = {1, 1.5};
  static const double all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  assert_departs(d, "vph", vph, 10);
  assert_departs(d, "per", per, 5);
  assert_departs(d, "num", num, 4);
  assert_departs(d, "cap", cap, 3);
  assert_departs(d, "frac", frac, 2);
  assert_departs(d, "none", NULL, 0);
  assert_departs(d, "all", all, 10);
  assert_departs(d, "never", NULL, 0);
  assert_int_equal(gw_demand_trip_count(d), 10 + 5 + 4 + 3 + 2 + 10);
  /* The embedded route belongs to its flow only. */
  assert_route(trip_named(d, "frac.1"), ROUTE_N);
  assert_route(trip_named(d, "vph.3"), ROUTE_E);
  /* Globally sorted by depart, ties in file order (vph.0 before num.0 before all.0). */
  for (uint32_t i = 1; i < gw_demand_trip_count(d); i++)
    assert_true(gw_demand_trip(d, i - 1)->depart_s <= gw_demand_trip(d, i)->depart_s);
  assert_string_equal(gw_demand_trip(d, 0)->id, "vph.0");
  assert_string_equal(gw_demand_trip(d, 1)->id, "num.0");
  assert_string_equal(gw_demand_trip(d, 2)->id, "all.0");
  gw_demand_destroy(d);
}

static void flow_probability_is_binomial(void **state) {
  (void)state;
  gw_demand *d = load_ok("  <flow id=\"p\" begin=\"0\" end=\"2000\" probability=\"0.25\">\n"
                         "    <route edges=\"" ROUTE_E "\"/>\n"
                         "  </flow>\n");
  /* 2000 Bernoulli(0.25) draws: mean 500, sd ~19.4; +-5 sd. */
  uint32_t n = gw_demand_trip_count(d);
  assert_true(n > 403 && n < 597);
  /* At most one per second, on whole seconds. */
  for (uint32_t i = 1; i < n; i++) {
    double a = gw_demand_trip(d, i - 1)->depart_s, b = gw_demand_trip(d, i)->depart_s;
    assert_true(b >= a + 1);
    assert_true(b == (double)(long)b);
  }
  /* The same file gives the same vehicles. */
  gw_demand *d2 = load_ok("  <flow id=\"p\" begin=\"0\" end=\"2000\" probability=\"0.25\">\n"
                          "    <route edges=\"" ROUTE_E "\"/>\n"
                          "  </flow>\n");
  assert_int_equal(gw_demand_trip_count(d2), n);
  for (uint32_t i = 0; i < n; i++)
    assert_true(gw_demand_trip(d, i)->depart_s == gw_demand_trip(d2, i)->depart_s);
  gw_demand_destroy(d);
  gw_demand_destroy(d2);
}

/* ---- errors ------------------------------------------------------------- */

static void error_unknown_edge(void **state) {
  (void)state;
  const char *n[] = {"'A0Z9'", NULL};
  load_fails("  <vType id=\"car\"/>\n"
             "  <route id=\"r\" edges=\"A0B0 A0Z9\"/>\n",
             GW_ENOTFOUND, 4, n);
  const char *n2[] = {"'nowhere'", "'v1'", NULL};
  load_fails("  <vehicle id=\"v1\" depart=\"0\">\n"
             "    <route edges=\"nowhere\"/>\n"
             "  </vehicle>\n",
             GW_ENOTFOUND, 4, n2);
  /* Internal edges are not route edges. */
  const char *n3[] = {"':B1_3'", NULL};
  load_fails("  <route id=\"r\" edges=\":B1_3\"/>\n", GW_EINVAL, 3, n3);
}

static void error_unconnected_edges(void **state) {
  (void)state;
  /* A0B0 ends at the bay node A0B0.250.00, not at B0. */
  const char *n[] = {"'A0B0'", "'B0C0'", NULL};
  load_fails("\n\n  <route id=\"r\" edges=\"A0B0 B0C0\"/>\n", GW_EINVAL, 5, n);
  /* Two edges that exist but lead elsewhere, inside a flow. */
  const char *n2[] = {"'A0A1'", "'A0B0'", "'f'", NULL};
  load_fails("  <flow id=\"f\" begin=\"0\" end=\"10\" period=\"1\">\n"
             "    <route edges=\"A0A1 A0B0\"/>\n"
             "  </flow>\n",
             GW_EINVAL, 4, n2);
}

static void error_unknown_vtype(void **state) {
  (void)state;
  const char *n[] = {"'ghost'", "'v'", NULL};
  load_fails("  <route id=\"r\" edges=\"" ROUTE_E "\"/>\n"
             "  <vehicle id=\"v\" type=\"ghost\" route=\"r\" depart=\"0\"/>\n",
             GW_ENOTFOUND, 4, n);
  /* A route used before it is defined. */
  const char *n2[] = {"'later'", NULL};
  load_fails("  <vehicle id=\"v\" route=\"later\" depart=\"0\"/>\n"
             "  <route id=\"later\" edges=\"" ROUTE_E "\"/>\n",
             GW_ENOTFOUND, 3, n2);
  /* An unknown vClass. */
  const char *n3[] = {"'hovercraft'", NULL};
  load_fails("\n  <vType id=\"x\" vClass=\"hovercraft\"/>\n", GW_EINVAL, 4, n3);
}

static void error_trips_need_routing(void **state) {
  (void)state;
  const char *n[] = {"trip", NULL};
  load_fails("  <trip id=\"t1\" depart=\"0\" from=\"A0B0\" to=\"C0D0\"/>\n", GW_EINVAL, 3, n);
  const char *n2[] = {"'v9'", "from/to", NULL};
  load_fails("  <vType id=\"car\"/>\n"
             "  <vehicle id=\"v9\" depart=\"0\" from=\"A0B0\" to=\"C0D0\"/>\n",
             GW_EINVAL, 4, n2);
  const char *n3[] = {"'f2'", NULL};
  load_fails("  <flow id=\"f2\" begin=\"0\" end=\"9\" period=\"3\" from=\"A0B0\" to=\"C0D0\"/>\n",
             GW_EINVAL, 3, n3);
}

static void error_other(void **state) {
  (void)state;
  /* No route at all: reported at the closing tag. */
  const char *n[] = {"'lonely'", NULL};
  load_fails("  <vehicle id=\"lonely\" depart=\"0\">\n"
             "  </vehicle>\n",
             GW_EINVAL, 4, n);
  /* Two rates for one flow. */
  const char *n2[] = {"'ff'", NULL};
  load_fails("  <flow id=\"ff\" begin=\"0\" end=\"9\" period=\"3\" vehsPerHour=\"100\">\n"
             "    <route edges=\"" ROUTE_E "\"/>\n"
             "  </flow>\n",
             GW_EINVAL, 3, n2);
  /* A depart lane the first edge does not have (A0B0 has 2). */
  const char *n3[] = {"'dl'", "5", NULL};
  load_fails("  <vehicle id=\"dl\" depart=\"0\" departLane=\"5\">\n"
             "    <route edges=\"" ROUTE_E "\"/>\n"
             "  </vehicle>\n",
             GW_ERANGE, 5, n3);
  /* A bad number. */
  const char *n4[] = {"tau", "'bad'", NULL};
  load_fails("  <vType id=\"bad\" tau=\"-1\"/>\n", GW_ERANGE, 3, n4);
  const char *n5[] = {"depart", "soon", NULL};
  load_fails("  <vehicle id=\"x\" depart=\"soon\"><route edges=\"" ROUTE_E "\"/></vehicle>\n",
             GW_EPARSE, 3, n5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vtype_defaults_per_class),
      cmocka_unit_test(vtype_attributes_and_defaults),
      cmocka_unit_test(embedded_and_referenced_routes),
      cmocka_unit_test(files_accumulate_and_sort),
      cmocka_unit_test(empty_demand_finishes),
      cmocka_unit_test(flows_expand),
      cmocka_unit_test(flow_probability_is_binomial),
      cmocka_unit_test(error_unknown_edge),
      cmocka_unit_test(error_unconnected_edges),
      cmocka_unit_test(error_unknown_vtype),
      cmocka_unit_test(error_trips_need_routing),
      cmocka_unit_test(error_other),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

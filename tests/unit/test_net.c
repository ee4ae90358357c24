/*
** test_net.c -- the SUMO network importer and the gw_net it builds.
**
** Why these tests: every other module trusts the net blindly.  A wrong via
** lane sends vehicles through the wrong part of a junction; a wrong yield
** list makes left turners cross in front of oncoming traffic.  So we check
** the importer on the real grid4x4 scenario against facts read from the
** file itself (counts, one straight and one left-turn link), and check every
** link's yield and foe lists against a slow, independent re-parse of the
** <request> bit strings.  Error tests feed small broken networks through the
** in-memory loader and require messages that say where (name:LINE:) and
** what (the offending id).  Additional files must switch the active signal
** program without changing its phases, and load detectors.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "greenwave/net.h"
#include "net/net_int.h"

/* The in-memory loaders (src/net/sumo_net.c); not in the public headers. */
extern int gw__net_load_sumo_buffer(const char *name, const char *buf, size_t len, gw_net **out,
                                    gw_error *err);
extern int gw__net_load_sumo_additional_buffer(gw_net *net, const char *name, const char *buf,
                                               size_t len, gw_error *err);

#define GRID GW_SCENARIOS "/grid4x4/grid4x4.net.xml"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

/* Occurrences of `needle` after the <net> element starts (skipping the
** generator's comment, which quotes option names such as <junctions>). */
static uint32_t count_in(const char *text, const char *needle, const char *unless) {
  const char *p = strstr(text, "<net ");
  uint32_t n = 0;
  while (p && (p = strstr(p, needle))) {
    const char *eol = strchr(p, '>');
    int skip_it = 0;
    if (unless && eol) {
      const char *u = strstr(p, unless);
      skip_it = u && u < eol;
    }
    n += !skip_it;
    p += strlen(needle);
  }
  return n;
}

/* The value of attribute `key` in the tag starting at `tag`, copied to out. */
static int tag_attr(const char *tag, const char *key, char *out, size_t cap) {
  const char *end = strchr(tag, '>');
  char pat[64];
  snprintf(pat, sizeof pat, " %s=\"", key);
  const char *p = strstr(tag, pat);
  if (!p || (end && p > end)) return 0;
  p += strlen(pat);
  const char *q = strchr(p, '"');
  size_t n = (size_t)(q - p);
  if (n >= cap) n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
  return 1;
}

static gw_net *load_grid(void) {
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_net_load_sumo(GRID, &net, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_non_null(net);
  return net;
}

static uint32_t lane_id(const gw_net *net, const char *id) {
  uint32_t l = gw_net_find_lane(net, id);
  if (l == GW_NONE) fprintf(stderr, "lane %s not found\n", id);
  assert_true(l != GW_NONE);
  return l;
}

/* The only link from `from` whose target lane is on edge `to_edge`. */
static uint32_t link_between(const gw_net *net, const char *from, const char *to_edge) {
  const uint32_t *links;
  uint32_t n = gw_net_lane_links(net, lane_id(net, from), &links), found = GW_NONE, hits = 0;
  uint32_t e = gw_net_find_edge(net, to_edge);
  assert_true(e != GW_NONE);
  for (uint32_t i = 0; i < n; i++) {
    gw_link_info li;
    assert_int_equal(gw_net_link_info(net, links[i], &li), 0);
    gw_lane_info to;
    assert_int_equal(gw_net_lane_info(net, li.to_lane, &to), 0);
    if (to.edge == e) {
      found = links[i];
      hits++;
    }
  }
  assert_int_equal(hits, 1);
  return found;
}

/* ---- grid4x4 ------------------------------------------------------------ */

static void grid_counts_match_the_file(void **state) {
  (void)state;
  char *text = slurp(GRID);
  assert_non_null(text);
  gw_net *net = load_grid();
  /* Counted in the file: every element is one object; links are the
  ** connections that leave a normal (not ':') edge. */
  uint32_t tls = count_in(text, "<tlLogic ", NULL);
  uint32_t edges = count_in(text, "<edge ", NULL);
  uint32_t lanes = count_in(text, "<lane ", NULL);
  uint32_t junctions = count_in(text, "<junction ", NULL);
  uint32_t links = count_in(text, "<connection ", "from=\":");
  /* What grep gives on the file as shipped, so that a changed scenario is noticed. */
  assert_int_equal(tls, 16);
  assert_int_equal(edges, 464);
  assert_int_equal(lanes, 864);
  assert_int_equal(junctions, 160);
  assert_int_equal(links, 448);
  assert_int_equal(gw_net_tls_count(net), tls);
  assert_int_equal(gw_net_edge_count(net), edges);
  assert_int_equal(gw_net_lane_count(net), lanes);
  assert_int_equal(gw_net_junction_count(net), junctions);
  assert_int_equal(gw_net_link_count(net), links);
  assert_int_equal(gw_net_detector_count(net), 0);
  gw_net_destroy(net);
  free(text);
}

static void grid_edge_and_lane_attributes(void **state) {
  (void)state;
  gw_net *net = load_grid();
  uint32_t e = gw_net_find_edge(net, "A0B0");
  assert_true(e != GW_NONE);
  assert_string_equal(gw_net_edge_id(net, e), "A0B0");
  gw_lane_info li;
  for (uint32_t i = 0; i < 2; i++) {
    char id[32];
    snprintf(id, sizeof id, "A0B0_%u", i);
    assert_int_equal(gw_net_lane_info(net, lane_id(net, id), &li), 0);
    assert_string_equal(li.id, id);
    assert_int_equal(li.edge, e);
    assert_int_equal(li.index, i);
    assert_true(li.length_m == 234.0);
    assert_true(li.speed_mps == 13.89);
    assert_int_equal(li.internal, 0);
    assert_int_equal(li.allow, GW_VC_ALL);
    assert_int_equal(li.shape_points, 2);
  }
  /* A0B0 has exactly two lanes. */
  assert_true(gw_net_find_lane(net, "A0B0_2") == GW_NONE);
  assert_int_equal(gw_net_lane_info(net, lane_id(net, "A0B0_0"), &li), 0);
  assert_true(li.shape[0] == 312.0 && li.shape[1] == 293.6);
  assert_true(li.shape[2] == 546.0 && li.shape[3] == 293.6);
  /* Internal lanes are flagged and belong to internal edges. */
  assert_int_equal(gw_net_lane_info(net, lane_id(net, ":B1_16_0"), &li), 0);
  assert_int_equal(li.internal, 1);
  assert_true(li.length_m == 15.70);
  assert_true(li.speed_mps == 9.84);
  assert_true(gw_net_find_junction(net, "B1") != GW_NONE);
  assert_true(gw_net_find_junction(net, "nope") == GW_NONE);
  assert_true(gw_net_find_edge(net, "nope") == GW_NONE);
  assert_int_equal(gw_net_lane_info(net, gw_net_lane_count(net), &li), GW_ERANGE);
  gw_net_destroy(net);
}

static void grid_straight_link(void **state) {
  (void)state;
  gw_net *net = load_grid();
  /* <connection from="B2B1.250.00" to="B1B0" fromLane="0" toLane="0"
  **  via=":B1_1_0" tl="B1" linkIndex="1" dir="s" state="O"/> */
  const uint32_t *links;
  assert_int_equal(gw_net_lane_links(net, lane_id(net, "B2B1.250.00_0"), &links), 2);
  uint32_t l = link_between(net, "B2B1.250.00_0", "B1B0");
  gw_link_info li;
  assert_int_equal(gw_net_link_info(net, l, &li), 0);
  assert_int_equal(li.from_lane, lane_id(net, "B2B1.250.00_0"));
  assert_int_equal(li.to_lane, lane_id(net, "B1B0_0"));
  assert_int_equal(li.via[0], lane_id(net, ":B1_1_0"));
  assert_true(li.via[1] == GW_NONE);
  assert_int_equal(li.junction, gw_net_find_junction(net, "B1"));
  assert_int_equal(li.tls, gw_net_find_tls(net, "B1"));
  assert_int_equal(li.tls_index, 1);
  assert_int_equal(li.dir, 's');
  assert_int_equal(li.state, 'O');
  /* Request 1 of B1 yields to bits 7 and 15: the links of :B1_17_0 and
  ** :B1_19_0, the left turns from the east and the west. */
  assert_int_equal(li.n_yield, 2);
  /* Its internal lane points back at it. */
  assert_int_equal(net->lanes.a[li.via[0]].link, l);
  assert_int_equal(gw_net_link_info(net, gw_net_link_count(net), &li), GW_ERANGE);
  gw_net_destroy(net);
}

static void grid_left_turn_link(void **state) {
  (void)state;
  gw_net *net = load_grid();
  const uint32_t *links;
  assert_int_equal(gw_net_lane_links(net, lane_id(net, "B2B1.250.00_2"), &links), 1);
  uint32_t l = links[0];
  gw_link_info li;
  assert_int_equal(gw_net_link_info(net, l, &li), 0);
  assert_int_equal(li.to_lane, lane_id(net, "B1C1_1"));
  assert_int_equal(li.via[0], lane_id(net, ":B1_3_0"));
  /* The second half, after the internal junction where it waits. */
  assert_int_equal(li.via[1], lane_id(net, ":B1_16_0"));
  assert_int_equal(li.tls_index, 3);
  assert_int_equal(li.dir, 'l');
  assert_int_equal(li.state, 'o');
  assert_true(li.n_yield > 0);
  assert_true(li.n_foes >= li.n_yield);
  const gw_link *lk = &net->links.a[l];
  assert_int_equal(lk->cont, 1);
  assert_true(lk->length_m > 6.30 + 15.70 - 1e-9 && lk->length_m < 6.30 + 15.70 + 1e-9);
  /* At the internal junction it yields to the links of the lanes named in
  ** <junction id=":B1_16_0" intLanes=":B1_5_0 :B1_5_1 :B1_7_0 :B1_8_0
  ** :B1_9_0 :B1_9_1 :B1_13_0 :B1_13_1 :B1_15_0">: nine distinct links. */
  const char *ij[] = {":B1_5_0", ":B1_5_1", ":B1_7_0",  ":B1_8_0", ":B1_9_0",
                      ":B1_9_1", ":B1_13_0", ":B1_13_1", ":B1_15_0"};
  assert_int_equal(lk->ij_n, 9);
  for (size_t i = 0; i < 9; i++) {
    uint32_t want = net->lanes.a[lane_id(net, ij[i])].link;
    int seen = 0;
    for (uint32_t k = 0; k < lk->ij_n; k++) seen |= net->refs.a[lk->ij_off + k] == want;
    assert_true(seen);
  }
  /* Both internal lanes belong to this link. */
  assert_int_equal(net->lanes.a[li.via[0]].link, l);
  assert_int_equal(net->lanes.a[li.via[1]].link, l);
  gw_net_destroy(net);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Compares a link's slice with the expected set (both as sorted lists). */
static void assert_same_set(const uint32_t *got, uint32_t n_got, uint32_t *want, uint32_t n_want) {
  uint32_t tmp[256];
  assert_true(n_got <= 256);
  memcpy(tmp, got, n_got * sizeof *tmp);
  qsort(tmp, n_got, sizeof *tmp, cmp_u32);
  qsort(want, n_want, sizeof *want, cmp_u32);
  assert_int_equal(n_got, n_want);
  for (uint32_t i = 0; i < n_want; i++) assert_int_equal(tmp[i], want[i]);
}

static void grid_yield_lists_match_requests(void **state) {
  (void)state;
  char *text = slurp(GRID);
  assert_non_null(text);
  gw_net *net = load_grid();
  /* A link is known in <request>s by its last internal lane. */
  uint32_t nl = gw_net_lane_count(net);
  uint32_t *link_of_last_via = malloc(nl * sizeof *link_of_last_via);
  for (uint32_t i = 0; i < nl; i++) link_of_last_via[i] = GW_NONE;
  for (uint32_t l = 0; l < gw_net_link_count(net); l++) {
    gw_link_info li;
    gw_net_link_info(net, l, &li);
    uint32_t last = li.via[1] != GW_NONE ? li.via[1] : li.via[0];
    assert_true(last != GW_NONE);
    link_of_last_via[last] = l;
  }
  uint32_t checked = 0, with_yield = 0;
  static char ints[8192], resp[512], foes[512], idx[16], jid[128], type[64];
  for (const char *p = strstr(text, "<junction "); p; p = strstr(p + 1, "<junction ")) {
    assert_true(tag_attr(p, "id", jid, sizeof jid));
    if (tag_attr(p, "type", type, sizeof type) && !strcmp(type, "internal")) continue;
    if (!tag_attr(p, "intLanes", ints, sizeof ints) || !ints[0]) continue;
    /* Request index k <-> k-th lane of intLanes <-> its link. */
    uint32_t req_link[64], n = 0;
    for (char *tok = strtok(ints, " "); tok; tok = strtok(NULL, " ")) {
      uint32_t lane = gw_net_find_lane(net, tok);
      assert_true(lane != GW_NONE);
      assert_true(n < 64);
      req_link[n++] = link_of_last_via[lane];
    }
    const char *end = strstr(p, "</junction>");
    const char *next = strstr(p + 1, "<junction ");
    if (!end || (next && next < end)) end = next; /* self-closing */
    for (const char *r = strstr(p, "<request "); r && (!end || r < end); r = strstr(r + 1, "<request ")) {
      assert_true(tag_attr(r, "index", idx, sizeof idx));
      assert_true(tag_attr(r, "response", resp, sizeof resp));
      assert_true(tag_attr(r, "foes", foes, sizeof foes));
      uint32_t k = (uint32_t)atoi(idx);
      assert_true(k < n);
      uint32_t self = req_link[k];
      if (self == GW_NONE) continue;
      assert_int_equal(strlen(resp), n);
      /* Bit i counted from the right names request i. */
      uint32_t want_y[64], ny = 0, want_f[64], nf = 0;
      for (uint32_t i = 0; i < n; i++) {
        uint32_t other = req_link[i];
        if (other == GW_NONE || other == self) continue;
        if (resp[n - 1 - i] == '1') want_y[ny++] = other;
        if (foes[n - 1 - i] == '1') want_f[nf++] = other;
      }
      gw_link_info li;
      gw_net_link_info(net, self, &li);
      assert_int_equal(li.junction, gw_net_find_junction(net, jid));
      assert_same_set(li.yield, li.n_yield, want_y, ny);
      assert_same_set(li.foes, li.n_foes, want_f, nf);
      checked++;
      with_yield += ny > 0;
    }
  }
  /* Every link of grid4x4 has a request, and the signals' minor links yield. */
  assert_int_equal(checked, gw_net_link_count(net));
  assert_true(with_yield >= 16 * 4);
  free(link_of_last_via);
  gw_net_destroy(net);
  free(text);
}

static void grid_signal_program(void **state) {
  (void)state;
  gw_net *net = load_grid();
  uint32_t t = gw_net_find_tls(net, "B1");
  assert_true(t != GW_NONE);
  assert_string_equal(gw_net_tls_id(net, t), "B1");
  assert_int_equal(gw_net_tls_phase_count(net, t), 8);
  static const double dur[8] = {33, 3, 6, 3, 33, 3, 6, 3};
  static const char *const st[8] = {"GGGgrrrrGGGgrrrr", "yyygrrrryyygrrrr", "rrrGrrrrrrrGrrrr",
                                    "rrryrrrrrrryrrrr", "rrrrGGGgrrrrGGGg", "rrrryyygrrrryyyg",
                                    "rrrrrrrGrrrrrrrG", "rrrrrrryrrrrrrry"};
  for (uint32_t p = 0; p < 8; p++) {
    double d;
    const char *s;
    assert_int_equal(gw_net_tls_phase(net, t, p, &d, &s), 0);
    assert_true(d == dur[p]);
    assert_string_equal(s, st[p]);
  }
  double d;
  const char *s;
  assert_int_equal(gw_net_tls_phase(net, t, 8, &d, &s), GW_ERANGE);
  assert_true(gw_net_tls_offset(net, t) == 0);
  assert_true(net->programs.a[net->tls.a[t].active].cycle_s == 90);
  gw_net_destroy(net);
}

static void missing_file_is_eio(void **state) {
  (void)state;
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(gw_net_load_sumo("/nonexistent/x.net.xml", &net, &err), GW_EIO);
  assert_null(net);
  assert_non_null(strstr(err.msg, "/nonexistent/x.net.xml"));
}

/* ---- additional files --------------------------------------------------- */

static void additional_actuated_program(void **state) {
  (void)state;
  gw_net *net = load_grid();
  uint32_t nt = gw_net_tls_count(net);
  /* Remember the static programs. */
  uint32_t nph[16];
  char states[16][8][32];
  double durs[16][8];
  assert_int_equal(nt, 16);
  for (uint32_t t = 0; t < nt; t++) {
    nph[t] = gw_net_tls_phase_count(net, t);
    assert_true(nph[t] <= 8);
    for (uint32_t p = 0; p < nph[t]; p++) {
      const char *s;
      gw_net_tls_phase(net, t, p, &durs[t][p], &s);
      snprintf(states[t][p], sizeof states[t][p], "%s", s);
    }
    assert_int_equal(net->programs.a[net->tls.a[t].active].type, GW_TL_STATIC);
  }
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_net_load_sumo_additional(net, GW_SCENARIOS "/grid4x4/tls.actuated.add.xml", &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(gw_net_tls_count(net), nt);
  for (uint32_t t = 0; t < nt; t++) {
    const gw_tlprogram *pr = &net->programs.a[net->tls.a[t].active];
    /* The new program is active ... */
    assert_int_equal(pr->type, GW_TL_ACTUATED);
    assert_string_equal(pr->id, "actuated");
    assert_int_equal(net->tls.a[t].prog_n, 2);
    /* ... with the same phases, */
    assert_int_equal(gw_net_tls_phase_count(net, t), nph[t]);
    for (uint32_t p = 0; p < nph[t]; p++) {
      const char *s;
      double d;
      gw_net_tls_phase(net, t, p, &d, &s);
      assert_string_equal(s, states[t][p]);
      assert_true(d == durs[t][p]);
      /* ... and minDur/maxDur where given, else the duration. */
      const gw_phase *ph = &net->phases.a[pr->phase0 + p];
      if (p % 2 == 0) {
        assert_true(ph->min_s == 5 && ph->max_s == 50);
      } else {
        assert_true(ph->min_s == d && ph->max_s == d);
      }
    }
  }
  assert_int_equal(gw_net_detector_count(net), 0);
  gw_net_destroy(net);
}

static void additional_detectors(void **state) {
  (void)state;
  char *text = slurp(GW_SCENARIOS "/grid4x4/detectors.add.xml");
  assert_non_null(text);
  uint32_t want = 0;
  for (const char *p = strstr(text, "<inductionLoop "); p; p = strstr(p + 1, "<inductionLoop ")) want++;
  assert_int_equal(want, 192);
  gw_net *net = load_grid();
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw_net_load_sumo_additional(net, GW_SCENARIOS "/grid4x4/detectors.add.xml", &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(gw_net_detector_count(net), want);
  /* <inductionLoop id="e1_A0A1.250.00_0" lane="A0A1.250.00_0" pos="29.00" period="3600"/> */
  const gw_detector *d = &net->detectors.a[0];
  assert_string_equal(d->id, "e1_A0A1.250.00_0");
  assert_int_equal(d->lane, lane_id(net, "A0A1.250.00_0"));
  assert_true(d->pos_m == 29.0);
  assert_true(d->period_s == 3600.0);
  /* Programs are untouched by a detector file. */
  assert_int_equal(net->programs.a[net->tls.a[0].active].type, GW_TL_STATIC);
  gw_net_destroy(net);
  free(text);
}

static void additional_errors(void **state) {
  (void)state;
  gw_net *net = load_grid();
  gw_error err;
  const char *bad_tls = "<additional>\n"
                        "  <tlLogic id=\"Z9\" type=\"static\" programID=\"x\" offset=\"0\">\n"
                        "    <phase duration=\"30\" state=\"G\"/>\n"
                        "  </tlLogic>\n"
                        "</additional>\n";
  memset(&err, 0, sizeof err);
  int rc = gw__net_load_sumo_additional_buffer(net, "extra.add.xml", bad_tls, strlen(bad_tls), &err);
  assert_true(rc < 0);
  assert_non_null(strstr(err.msg, "extra.add.xml:2:"));
  assert_non_null(strstr(err.msg, "Z9"));
  const char *bad_state = "<additional>\n"
                          "  <tlLogic id=\"B1\" type=\"static\" programID=\"x\" offset=\"0\">\n"
                          "    <phase duration=\"30\" state=\"GGGgrrrrGGGgrrrr\"/>\n"
                          "    <phase duration=\"30\" state=\"GGGgrrrr\"/>\n"
                          "  </tlLogic>\n"
                          "</additional>\n";
  memset(&err, 0, sizeof err);
  rc = gw__net_load_sumo_additional_buffer(net, "extra.add.xml", bad_state, strlen(bad_state), &err);
  assert_true(rc < 0);
  assert_non_null(strstr(err.msg, "extra.add.xml:4:"));
  const char *bad_det = "<additional>\n"
                        "  <e1Detector id=\"d1\" lane=\"nolane_0\" pos=\"5\" period=\"60\" file=\"x\"/>\n"
                        "</additional>\n";
  memset(&err, 0, sizeof err);
  rc = gw__net_load_sumo_additional_buffer(net, "det.add.xml", bad_det, strlen(bad_det), &err);
  assert_int_equal(rc, GW_ENOTFOUND);
  assert_non_null(strstr(err.msg, "det.add.xml:2:"));
  assert_non_null(strstr(err.msg, "nolane_0"));
  gw_net_destroy(net);
}

/* ---- importer errors on small networks ---------------------------------- */

static const char *const TINY =
    "<net version=\"1.9\">\n"
    "  <edge id=\":J1_0\" function=\"internal\">\n"
    "    <lane id=\":J1_0_0\" index=\"0\" speed=\"13.89\" length=\"5.00\" shape=\"100,0 105,0\"/>\n"
    "  </edge>\n"
    "  <edge id=\"e1\" from=\"J0\" to=\"J1\" priority=\"-1\">\n"
    "    <lane id=\"e1_0\" index=\"0\" speed=\"13.89\" length=\"100.00\" shape=\"0,0 100,0\"/>\n"
    "  </edge>\n"
    "  <edge id=\"e2\" from=\"J1\" to=\"J2\" priority=\"-1\">\n"
    "    <lane id=\"e2_0\" index=\"0\" speed=\"13.89\" length=\"100.00\" shape=\"105,0 205,0\"/>\n"
    "  </edge>\n"
    "  <junction id=\"J0\" type=\"dead_end\" x=\"0\" y=\"0\" incLanes=\"\" intLanes=\"\"/>\n"
    "  <junction id=\"J1\" type=\"priority\" x=\"102\" y=\"0\" incLanes=\"e1_0\" intLanes=\":J1_0_0\">\n"
    "    <request index=\"0\" response=\"0\" foes=\"0\" cont=\"0\"/>\n"
    "  </junction>\n"
    "  <junction id=\"J2\" type=\"dead_end\" x=\"205\" y=\"0\" incLanes=\"e2_0\" intLanes=\"\"/>\n"
    "  <connection from=\"e1\" to=\"e2\" fromLane=\"0\" toLane=\"0\" via=\":J1_0_0\" dir=\"s\" state=\"M\"/>\n"
    "  <connection from=\":J1_0\" to=\"e2\" fromLane=\"0\" toLane=\"0\" dir=\"s\" state=\"M\"/>\n"
    "</net>\n";

/* `base` with the first `from` replaced by `to`; *line is the 1-based line
** of the replacement. */
static char *mutate_in(const char *base, const char *from, const char *to, unsigned *line) {
  const char *p = strstr(base, from);
  assert_non_null(p);
  size_t a = (size_t)(p - base), fl = strlen(from), tl = strlen(to), n = strlen(base);
  char *s = malloc(n - fl + tl + 1);
  memcpy(s, base, a);
  memcpy(s + a, to, tl);
  memcpy(s + a + tl, p + fl, n - a - fl + 1);
  *line = 1;
  for (size_t i = 0; i < a; i++) *line += base[i] == '\n';
  return s;
}

static char *mutate(const char *from, const char *to, unsigned *line) {
  return mutate_in(TINY, from, to, line);
}

static void tiny_net_loads(void **state) {
  (void)state;
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw__net_load_sumo_buffer("tiny.net.xml", TINY, strlen(TINY), &net, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(gw_net_junction_count(net), 3);
  assert_int_equal(gw_net_edge_count(net), 3);
  assert_int_equal(gw_net_lane_count(net), 3);
  assert_int_equal(gw_net_link_count(net), 1);
  assert_int_equal(gw_net_tls_count(net), 0);
  gw_link_info li;
  assert_int_equal(gw_net_link_info(net, 0, &li), 0);
  assert_int_equal(li.from_lane, gw_net_find_lane(net, "e1_0"));
  assert_int_equal(li.to_lane, gw_net_find_lane(net, "e2_0"));
  assert_int_equal(li.via[0], gw_net_find_lane(net, ":J1_0_0"));
  assert_true(li.tls == GW_NONE);
  assert_int_equal(li.tls_index, -1);
  assert_int_equal(li.state, 'M');
  assert_int_equal(li.n_yield, 0);
  assert_int_equal(li.junction, gw_net_find_junction(net, "J1"));
  gw_net_destroy(net);
  gw_net_destroy(NULL); /* a no-op */
}

/* Loads `doc`, expects failure with `code` (or any negative code when 0)
** and a message holding "tiny.net.xml:LINE:" and every string of `needles`. */
static void expect_error(const char *doc, int code, unsigned line, const char *const *needles) {
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw__net_load_sumo_buffer("tiny.net.xml", doc, strlen(doc), &net, &err);
  if (code) assert_int_equal(rc, code);
  assert_true(rc < 0);
  assert_int_equal(err.code, rc);
  assert_null(net); /* untouched on failure */
  char where[64];
  snprintf(where, sizeof where, "tiny.net.xml:%u:", line);
  if (!strstr(err.msg, where)) fprintf(stderr, "want '%s' in '%s'\n", where, err.msg);
  assert_non_null(strstr(err.msg, where));
  for (; needles && *needles; needles++) {
    if (!strstr(err.msg, *needles)) fprintf(stderr, "want '%s' in '%s'\n", *needles, err.msg);
    assert_non_null(strstr(err.msg, *needles));
  }
}

static void error_unknown_edge_in_connection(void **state) {
  (void)state;
  unsigned line;
  char *doc = mutate("to=\"e2\" fromLane=\"0\" toLane=\"0\" via", "to=\"e9\" fromLane=\"0\" toLane=\"0\" via", &line);
  const char *n[] = {"'e9'", "connection", NULL};
  expect_error(doc, GW_ENOTFOUND, line, n);
  free(doc);
  doc = mutate("from=\"e1\" to=\"e2\"", "from=\"nowhere\" to=\"e2\"", &line);
  const char *n2[] = {"'nowhere'", NULL};
  expect_error(doc, GW_ENOTFOUND, line, n2);
  free(doc);
}

static void error_non_numeric_length(void **state) {
  (void)state;
  unsigned line;
  char *doc = mutate("length=\"100.00\" shape=\"0,0", "length=\"1O0\" shape=\"0,0", &line);
  /* The message names the attribute and quotes the value; the lane's id is
  ** not in it (the line locates it). */
  const char *n[] = {"length", "1O0", "<lane", NULL};
  expect_error(doc, GW_EPARSE, line, n);
  free(doc);
  /* Out of range, with the lane named. */
  doc = mutate("length=\"100.00\" shape=\"0,0", "length=\"-3\" shape=\"0,0", &line);
  const char *n2[] = {"'e1_0'", "length", NULL};
  expect_error(doc, GW_ERANGE, line, n2);
  free(doc);
}

static void error_non_numeric_length_names_lane(void **state) {
  (void)state;
  
  unsigned line;
  char *doc = mutate("length=\"100.00\" shape=\"0,0", "length=\"1O0\" shape=\"0,0", &line);
  const char *n[] = {"'e1_0'", NULL};
  expect_error(doc, GW_EPARSE, line, n);
  free(doc);
}

static void error_unclosed_tag(void **state) {
  (void)state;
  unsigned line;
  /* <lane ...> never closed: expat finds </edge> on the next line. */
  char *doc = mutate("shape=\"105,0 205,0\"/>", "shape=\"105,0 205,0\">", &line);
  expect_error(doc, GW_EPARSE, line + 1, NULL);
  free(doc);
  /* A document cut in the middle of a tag. */
  const char *cut = strstr(TINY, "  <junction id=\"J2\"");
  unsigned cut_line = 1;
  for (const char *q = TINY; q < cut; q++) cut_line += *q == '\n';
  size_t len = (size_t)(cut - TINY) + 20;
  char *part = malloc(len + 1);
  memcpy(part, TINY, len);
  part[len] = 0;
  expect_error(part, GW_EPARSE, cut_line, NULL);
  free(part);
}

static void error_duplicate_edge(void **state) {
  (void)state;
  unsigned line;
  char *doc = mutate("<edge id=\"e2\"", "<edge id=\"e1\"", &line);
  const char *n[] = {"'e1'", "twice", NULL};
  expect_error(doc, GW_EINVAL, line, n);
  free(doc);
  doc = mutate("<lane id=\"e2_0\"", "<lane id=\"e1_0\"", &line);
  const char *n2[] = {"'e1_0'", "twice", NULL};
  expect_error(doc, GW_EINVAL, line, n2);
  free(doc);
}

static void error_other_references(void **state) {
  (void)state;
  unsigned line;
  /* A lane index beyond the edge. */
  char *doc = mutate("fromLane=\"0\" toLane=\"0\" via", "fromLane=\"3\" toLane=\"0\" via", &line);
  const char *n[] = {"'e1'", "3", NULL};
  expect_error(doc, GW_ERANGE, line, n);
  free(doc);
  /* A via lane that does not exist. */
  doc = mutate("via=\":J1_0_0\" dir", "via=\":J1_7_0\" dir", &line);
  const char *n2[] = {"':J1_7_0'", NULL};
  expect_error(doc, GW_ENOTFOUND, line, n2);
  free(doc);
  /* A signal that is not defined. */
  doc = mutate("via=\":J1_0_0\" dir", "via=\":J1_0_0\" tl=\"T5\" linkIndex=\"0\" dir", &line);
  const char *n3[] = {"'T5'", NULL};
  expect_error(doc, GW_ENOTFOUND, line, n3);
  free(doc);
  /* A linkIndex past the signal's state strings.  This one is found only
  ** when the net is finished, so the message has the file but no line. */
  doc = mutate("  <junction id=\"J0\"",
               "  <tlLogic id=\"J1\" type=\"static\" programID=\"0\" offset=\"0\">\n"
               "    <phase duration=\"30\" state=\"G\"/>\n  </tlLogic>\n  <junction id=\"J0\"",
               &line);
  unsigned line2;
  char *doc2 = mutate_in(doc, "via=\":J1_0_0\" dir", "via=\":J1_0_0\" tl=\"J1\" linkIndex=\"4\" dir", &line2);
  gw_net *net = NULL;
  gw_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(gw__net_load_sumo_buffer("tiny.net.xml", doc2, strlen(doc2), &net, &err), GW_EINVAL);
  assert_null(net);
  assert_non_null(strstr(err.msg, "tiny.net.xml"));
  assert_non_null(strstr(err.msg, "'J1'"));
  assert_non_null(strstr(err.msg, "e1_0"));
  assert_non_null(strstr(err.msg, "4"));
  free(doc);
  free(doc2);
  /* Lanes out of order. */
  doc = mutate("<lane id=\"e2_0\" index=\"0\"", "<lane id=\"e2_0\" index=\"1\"", &line);
  const char *n4[] = {"'e2_0'", NULL};
  expect_error(doc, GW_EINVAL, line, n4);
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(grid_counts_match_the_file),
      cmocka_unit_test(grid_edge_and_lane_attributes),
      cmocka_unit_test(grid_straight_link),
      cmocka_unit_test(grid_left_turn_link),
      cmocka_unit_test(grid_yield_lists_match_requests),
      cmocka_unit_test(grid_signal_program),
      cmocka_unit_test(missing_file_is_eio),
      cmocka_unit_test(additional_actuated_program),
      cmocka_unit_test(additional_detectors),
      cmocka_unit_test(additional_errors),
      cmocka_unit_test(tiny_net_loads),
      cmocka_unit_test(error_unknown_edge_in_connection),
      cmocka_unit_test(error_non_numeric_length),
      cmocka_unit_test(error_non_numeric_length_names_lane),
      cmocka_unit_test(error_unclosed_tag),
      cmocka_unit_test(error_duplicate_edge),
      cmocka_unit_test(error_other_references),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** test_core.c -- the core helpers every importer stands on: the string map,
** growable vectors, the counter-based RNG and the XML attribute helpers.
**
** Why these tests: a wrong string map silently resolves "B1" to the wrong
** junction; a wrong RNG breaks the simulator's promise of bit-for-bit
** determinism; a wrong XML helper either accepts garbage or reports errors
** that do not say where.  The map is checked against a slow linear
** reference on the same random operations (SQLite style), the RNG against
** SplitMix64's published first output and simple statistics, the XML
** helpers on small in-memory documents whose line numbers we know.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/vec.h"
#include "core/xml.h"
#include "greenwave/gw.h"

/* ---- gw_strmap ---------------------------------------------------------- */

/* The slow reference: parallel arrays searched linearly. */
typedef struct ref_map {
  const char *keys[4096];
  uint32_t vals[4096];
  size_t n;
} ref_map;

static void ref_put(ref_map *r, const char *k, uint32_t v) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->keys[i], k) == 0) {
      r->vals[i] = v;
      return;
    }
  r->keys[r->n] = k;
  r->vals[r->n++] = v;
}

static int ref_get(const ref_map *r, const char *k, uint32_t *v) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->keys[i], k) == 0) {
      *v = r->vals[i];
      return 1;
    }
  return 0;
}

static uint64_t xs_state = 88172645463325252ULL;
static uint64_t xs(void) { /* xorshift64: the test's own randomness */
  xs_state ^= xs_state << 13;
  xs_state ^= xs_state >> 7;
  xs_state ^= xs_state << 17;
  return xs_state;
}

static void strmap_matches_reference(void **state) {
  (void)state;
  enum { NKEYS = 3000 };
  static char pool[NKEYS][16];
  /* Ids shaped like SUMO's, many sharing prefixes, plus the empty string. */
  for (int i = 0; i < NKEYS; i++) snprintf(pool[i], sizeof pool[i], "%c%d_%d", 'A' + i % 7, i / 7, i % 3);
  pool[0][0] = '\0';
  gw_strmap m;
  memset(&m, 0, sizeof m);
  static ref_map r;
  memset(&r, 0, sizeof r);
  uint32_t got = 7;
  /* An empty map finds nothing and does not touch *val. */
  assert_int_equal(gw__strmap_get(&m, "A0_0", &got), 0);
  assert_int_equal(got, 7);
  for (int op = 0; op < 20000; op++) {
    const char *k = pool[xs() % NKEYS];
    if (xs() % 3 == 0) {
      uint32_t v = (uint32_t)xs();
      assert_int_equal(gw__strmap_put(&m, k, v), 0);
      ref_put(&r, k, v);
    } else {
      uint32_t a = 0xdead, b = 0xbeef;
      int fa = gw__strmap_get(&m, k, &a), fb = ref_get(&r, k, &b);
      assert_int_equal(fa, fb);
      if (fb) assert_int_equal(a, b);
    }
    /* Growth keeps the invariants of hash.h: power-of-two capacity, load <= 1/2. */
    assert_int_equal(m.n, r.n);
    if (m.n) assert_true(m.cap >= 64 && (m.cap & (m.cap - 1)) == 0);
    assert_true(m.n * 2 <= m.cap);
  }
  /* Every key ever put is found with its last value. */
  for (size_t i = 0; i < r.n; i++) {
    uint32_t v;
    assert_int_equal(gw__strmap_get(&m, r.keys[i], &v), 1);
    assert_int_equal(v, r.vals[i]);
  }
  /* Keys are compared by content, not by pointer. */
  char copy[16];
  strcpy(copy, r.keys[r.n - 1]);
  uint32_t v;
  assert_int_equal(gw__strmap_get(&m, copy, &v), 1);
  assert_int_equal(v, r.vals[r.n - 1]);
  assert_int_equal(gw__strmap_get(&m, "not-a-key", &v), 0);
  gw__strmap_free(&m);
  assert_int_equal(m.n, 0);
  assert_int_equal(m.cap, 0);
  assert_null(m.keys);
}

static void strmap_replace_keeps_count(void **state) {
  (void)state;
  gw_strmap m;
  memset(&m, 0, sizeof m);
  assert_int_equal(gw__strmap_put(&m, "B1", 1), 0);
  assert_int_equal(gw__strmap_put(&m, "B1", 2), 0);
  assert_int_equal(m.n, 1);
  uint32_t v = 0;
  assert_int_equal(gw__strmap_get(&m, "B1", &v), 1);
  assert_int_equal(v, 2);
  /* The 33rd distinct key needs a second growth (cap 64 holds 32). */
  char keys[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    assert_int_equal(gw__strmap_put(&m, keys[i], (uint32_t)i), 0);
  }
  assert_int_equal(m.n, 41);
  assert_int_equal(m.cap, 128);
  for (int i = 0; i < 40; i++) {
    assert_int_equal(gw__strmap_get(&m, keys[i], &v), 1);
    assert_int_equal(v, (uint32_t)i);
  }
  gw__strmap_free(&m);
}

static void hash_is_fnv1a(void **state) {
  (void)state;
  
  /* Published FNV-1a 64-bit values. */
  assert_true(gw__hash_str("") == 0xcbf29ce484222325ULL);
  assert_true(gw__hash_str("a") == 0xaf63dc4c8601ec8cULL);
  assert_true(gw__hash_str("foobar") == 0x85944171f73967e8ULL);
}

/* ---- vectors ------------------------------------------------------------ */

static void vec_growth_preserves_contents(void **state) {
  (void)state;
  GW_VEC(double) v = {0};
  size_t last_cap = 0;
  int grows = 0;
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(gw_vec_push(&v, i * 0.5), 0);
    assert_int_equal(v.n, (size_t)i + 1);
    assert_true(v.cap >= v.n);
    if (v.cap != last_cap) {
      /* Growth doubles from 8: 8, 16, 32, ... */
      assert_int_equal(v.cap, last_cap ? last_cap * 2 : 8);
      last_cap = v.cap;
      grows++;
    }
  }
  assert_int_equal(v.cap, 1024);
  assert_int_equal(grows, 8); /* 8 -> 1024 */
  for (int i = 0; i < 1000; i++) assert_true(v.a[i] == i * 0.5);
  /* Reserve below the capacity is a no-op; above it rounds up to a power of two. */
  assert_int_equal(gw_vec_reserve(&v, 10), 0);
  assert_int_equal(v.cap, 1024);
  assert_int_equal(gw_vec_reserve(&v, 3000), 0);
  assert_int_equal(v.cap, 4096);
  assert_int_equal(v.n, 1000);
  assert_true(v.a[999] == 499.5);
  gw_vec_free(&v);
  assert_null(v.a);
  assert_int_equal(v.n, 0);
  assert_int_equal(v.cap, 0);
}

static void vec_grow_refuses_overflow(void **state) {
  (void)state;
  void *a = NULL;
  size_t cap = 0;
  /* Sizes whose byte count overflows size_t fail cleanly and leave a, cap alone. */
  assert_int_equal(gw__vec_grow(&a, &cap, SIZE_MAX, 16), -1);
  assert_int_equal(gw__vec_grow(&a, &cap, SIZE_MAX / 8, 16), -1);
  assert_null(a);
  assert_int_equal(cap, 0);
  assert_int_equal(gw__vec_grow(&a, &cap, 9, 4), 0);
  assert_int_equal(cap, 16);
  gw__free(a);
}

/* ---- rng ---------------------------------------------------------------- */

static void rng_mixer_is_splitmix64(void **state) {
  (void)state;
  /* SplitMix64 seeded with 0 yields these first two outputs. */
  assert_true(gw__mix64(0) == 0xe220a8397b1dcdafULL);
  assert_true(gw__mix64(0x9e3779b97f4a7c15ULL) == 0x6e789e6aa1b965f4ULL);
}

static void rng_is_a_pure_function_of_its_key(void **state) {
  (void)state;
  for (uint64_t i = 0; i < 1000; i++) {
    uint64_t s = i * 7919, st = i * 31, c = i * i;
    assert_true(gw__rng_u64(s, st, c) == gw__rng_u64(s, st, c));
    assert_true(gw__rng_uniform(s, st, c) == gw__rng_uniform(s, st, c));
    /* Same value whatever was drawn in between (no hidden state). */
    double a = gw__rng_uniform(42, i, 3);
    (void)gw__rng_uniform(42, i + 1, 4);
    assert_true(a == gw__rng_uniform(42, i, 3));
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void rng_different_keys_differ(void **state) {
  (void)state;
  /* Neighbouring keys in each coordinate, and swapped coordinates, all
  ** give distinct 64-bit values. */
  enum { N = 600 };
  static uint64_t v[4 * N];
  size_t n = 0;
  for (uint64_t i = 0; i < N; i++) {
    v[n++] = gw__rng_u64(42 + i, 7, 100);
    v[n++] = gw__rng_u64(42, 7 + i + N, 100);
    v[n++] = gw__rng_u64(42, 7, 100 + i + N);
    v[n++] = gw__rng_u64(100 + i + N, 7, 42);
  }
  qsort(v, n, sizeof *v, cmp_u64);
  for (size_t i = 1; i < n; i++) assert_true(v[i] != v[i - 1]);
  assert_true(gw__rng_u64(1, 2, 3) != gw__rng_u64(1, 3, 2));
  assert_true(gw__rng_u64(1, 2, 3) != gw__rng_u64(2, 1, 3));
}

static void rng_uniform_is_uniform(void **state) {
  (void)state;
  const int n = 100000;
  double sum = 0, sum2 = 0;
  int below_tenth = 0;
  for (int i = 0; i < n; i++) {
    /* Keyed like the simulator: stream = vehicle, counter = step. */
    double u = gw__rng_uniform(42, (uint64_t)(i % 97), (uint64_t)(i / 97));
    assert_true(u >= 0.0 && u < 1.0);
    sum += u;
    sum2 += u * u;
    below_tenth += u < 0.1;
  }
  double mean = sum / n, var = sum2 / n - mean * mean;
  assert_true(mean > 0.49 && mean < 0.51);
  assert_true(var > 1.0 / 12 - 0.005 && var < 1.0 / 12 + 0.005);
  assert_true(below_tenth > 9400 && below_tenth < 10600);
}

/* ---- xml ---------------------------------------------------------------- */

/* Collects what the callbacks saw; fails on demand to test located errors. */
typedef struct xml_rec {
  int starts, ends;
  int ok; /* <item>s whose attribute was read without error */
  double d;
  long i;
  const char *s;
  int required; /* make attribute "v" required on <item> */
  int want_int; /* read "v" as an integer instead of a double */
} xml_rec;

static int rec_start(void *ud, gw_xml *x, const char *name, const char **attrs) {
  xml_rec *r = ud;
  r->starts++;
  if (strcmp(name, "item") != 0) return 0;
  int rc = r->want_int ? gw__xml_attr_int(x, "item", attrs, "v", r->required, -5, &r->i)
                       : gw__xml_attr_double(x, "item", attrs, "v", r->required, 2.5, &r->d);
  if (rc == 0) r->ok++;
  return rc;
}

static int rec_end(void *ud, gw_xml *x, const char *name) {
  xml_rec *r = ud;
  (void)x;
  (void)name;
  r->ends++;
  return 0;
}

static int parse(const char *doc, xml_rec *r, gw_error *err) {
  memset(err, 0, sizeof *err);
  return gw__xml_parse_buffer("doc.xml", doc, strlen(doc), rec_start, rec_end, r, err);
}

static void xml_reads_typed_attributes(void **state) {
  (void)state;
  xml_rec r = {0};
  gw_error err;
  assert_int_equal(parse("<a>\n <item v=\"-12.75\"/>\n</a>", &r, &err), 0);
  assert_true(r.d == -12.75);
  assert_int_equal(r.starts, 2);
  assert_int_equal(r.ends, 2);
  /* Absent and optional: the default. */
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a><item/></a>", &r, &err), 0);
  assert_true(r.d == 2.5);
  /* Trailing blanks are tolerated, as SUMO writes "13.89 " sometimes. */
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a><item v=\"1e3 \"/></a>", &r, &err), 0);
  assert_true(r.d == 1000.0);
  memset(&r, 0, sizeof r);
  r.want_int = 1;
  assert_int_equal(parse("<a><item v=\"-42\"/></a>", &r, &err), 0);
  assert_int_equal(r.i, -42);
  memset(&r, 0, sizeof r);
  r.want_int = 1;
  assert_int_equal(parse("<a><item/></a>", &r, &err), 0);
  assert_int_equal(r.i, -5);
  const char *attrs[] = {"id", "x", "len", "3", NULL};
  assert_string_equal(gw__xml_attr(attrs, "len"), "3");
  assert_null(gw__xml_attr(attrs, "x"));
  assert_null(gw__xml_attr(NULL, "id"));
}

static void xml_errors_name_file_and_line(void **state) {
  (void)state;
  xml_rec r = {0};
  gw_error err;
  /* A non-number on line 3. */
  int rc = parse("<a>\n<item v=\"1\"/>\n<item v=\"12abc\"/>\n<item v=\"2\"/>\n</a>", &r, &err);
  assert_int_equal(rc, GW_EPARSE);
  assert_int_equal(err.code, GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:3:"));
  assert_non_null(strstr(err.msg, "12abc"));
  assert_non_null(strstr(err.msg, "item"));
  /* Parsing stopped at the failure: the <item> of line 4 was never seen. */
  assert_int_equal(r.starts, 3);
  /* Non-finite numbers are not numbers here. */
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a>\n\n<item v=\"nan\"/></a>", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:3:"));
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a><item v=\"inf\"/></a>", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:1:"));
  /* An integer attribute with a fraction. */
  memset(&r, 0, sizeof r);
  r.want_int = 1;
  assert_int_equal(parse("<a>\n<item v=\"3.5\"/></a>", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:2:"));
  assert_non_null(strstr(err.msg, "3.5"));
  /* A required attribute that is missing names element and attribute. */
  memset(&r, 0, sizeof r);
  r.required = 1;
  assert_int_equal(parse("<a>\n\n\n\n<item w=\"1\"/></a>", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:5:"));
  assert_non_null(strstr(err.msg, "<item>"));
  assert_non_null(strstr(err.msg, "'v'"));
  /* Syntax errors from expat carry the line as well. */
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a>\n<item v=\"1\">\n</a>\n", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:3:"));
  assert_non_null(strstr(err.msg, "syntax"));
  memset(&r, 0, sizeof r);
  assert_int_equal(parse("<a>\n<item v=\"1\"", &r, &err), GW_EPARSE);
  assert_non_null(strstr(err.msg, "doc.xml:2:"));
}

static void xml_file_errors(void **state) {
  (void)state;
  xml_rec r = {0};
  gw_error err;
  memset(&err, 0, sizeof err);
  int rc = gw__xml_parse_file("/nonexistent/dir/x.xml", rec_start, rec_end, &r, &err);
  assert_int_equal(rc, GW_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/dir/x.xml"));
  /* A file read in several 64 KiB chunks reports the right line. */
  char path[] = "/tmp/gw_test_core_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("<a>\n", f);
  for (int i = 0; i < 5000; i++) fprintf(f, "<item v=\"%d.25\"/> <!-- padding padding -->\n", i);
  fputs("<item v=\"oops\"/>\n</a>\n", f);
  fclose(f);
  memset(&r, 0, sizeof r);
  rc = gw__xml_parse_file(path, rec_start, rec_end, &r, &err);
  remove(path);
  assert_int_equal(rc, GW_EPARSE);
  char want[64];
  snprintf(want, sizeof want, "%s:5002:", path);
  assert_non_null(strstr(err.msg, want));
  assert_int_equal(r.ok, 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(strmap_matches_reference),
      cmocka_unit_test(strmap_replace_keeps_count),
      cmocka_unit_test(hash_is_fnv1a),
      cmocka_unit_test(vec_growth_preserves_contents),
      cmocka_unit_test(vec_grow_refuses_overflow),
      cmocka_unit_test(rng_mixer_is_splitmix64),
      cmocka_unit_test(rng_is_a_pure_function_of_its_key),
      cmocka_unit_test(rng_different_keys_differ),
      cmocka_unit_test(rng_uniform_is_uniform),
      cmocka_unit_test(xml_reads_typed_attributes),
      cmocka_unit_test(xml_errors_name_file_and_line),
      cmocka_unit_test(xml_file_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

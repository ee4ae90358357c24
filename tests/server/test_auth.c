/*
** test_auth.c -- password hashing and session tokens.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/api.h"
#include "server/auth.h"

static void test_hash_and_verify(void **state) {
  (void)state;
  char h1[128], h2[128];
  assert_int_equal(gw_auth_hash_password("correct horse", h1, sizeof h1), 0);
  assert_true(strncmp(h1, "$argon2id$", 10) == 0);
  assert_true(gw_auth_check_password(h1, "correct horse"));
  assert_false(gw_auth_check_password(h1, "correct hors"));
  assert_false(gw_auth_check_password(h1, "correct horse "));
  assert_false(gw_auth_check_password(h1, ""));
  /* Salted: the same password never hashes to the same string. */
  assert_int_equal(gw_auth_hash_password("correct horse", h2, sizeof h2), 0);
  assert_string_not_equal(h1, h2);
  assert_true(gw_auth_check_password(h2, "correct horse"));
  /* Garbage instead of a hash is a mismatch, not a crash. */
  assert_false(gw_auth_check_password("not a hash", "correct horse"));
  assert_false(gw_auth_check_password("", "x"));
  /* Too small an output buffer is refused. */
  char tiny[16];
  assert_int_not_equal(gw_auth_hash_password("correct horse", tiny, sizeof tiny), 0);
}

static void test_tokens(void **state) {
  (void)state;
  char t1[GW__TOKEN_HEX + 1], h1[GW__TOKEN_HEX + 1], t2[GW__TOKEN_HEX + 1], h2[GW__TOKEN_HEX + 1],
      again[GW__TOKEN_HEX + 1];
  assert_int_equal(gw__auth_token_new(t1, h1), 0);
  assert_int_equal(gw__auth_token_new(t2, h2), 0);
  assert_int_equal(strlen(t1), GW__TOKEN_HEX);
  assert_int_equal(strlen(h1), GW__TOKEN_HEX);
  assert_string_not_equal(t1, t2);
  assert_string_not_equal(h1, h2);
  assert_string_not_equal(t1, h1);
  assert_int_equal(gw__auth_token_hash(t1, again), 0);
  assert_string_equal(again, h1);
  /* SHA-256 of 64 zeros ('0' characters), a fixed vector. */
  char zeros[GW__TOKEN_HEX + 1];
  memset(zeros, '0', GW__TOKEN_HEX);
  zeros[GW__TOKEN_HEX] = 0;
  assert_int_equal(gw__auth_token_hash(zeros, again), 0);
  assert_string_equal(again, "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55");
  /* Not our form: wrong length, upper case, other characters. */
  assert_int_equal(gw__auth_token_hash("abc", again), -1);
  char upper[GW__TOKEN_HEX + 1];
  memcpy(upper, t1, sizeof upper);
  upper[0] = 'G';
  assert_int_equal(gw__auth_token_hash(upper, again), -1);
  char longer[GW__TOKEN_HEX + 2];
  memcpy(longer, t1, GW__TOKEN_HEX);
  longer[GW__TOKEN_HEX] = 'a';
  longer[GW__TOKEN_HEX + 1] = 0;
  assert_int_equal(gw__auth_token_hash(longer, again), -1);
}

static void test_limiter(void **state) {
  (void)state;
  gw__limiter *l;
  assert_int_equal(gw__limiter_create(3, 60, &l), 0);
  assert_int_equal(gw__limiter_check(l, "u:ana", 1000), 0);
  gw__limiter_fail(l, "u:ana", 1000);
  gw__limiter_fail(l, "u:ana", 1001);
  assert_int_equal(gw__limiter_check(l, "u:ana", 1002), 0);
  gw__limiter_fail(l, "u:ana", 1002);
  /* Third failure: blocked until the window that began at 1000 ends. */
  assert_int_equal(gw__limiter_check(l, "u:ana", 1002), 58);
  assert_int_equal(gw__limiter_check(l, "u:bo", 1002), 0);
  assert_int_equal(gw__limiter_check(l, "u:ana", 1059.5), 1);
  assert_int_equal(gw__limiter_check(l, "u:ana", 1060), 0);
  /* A new window starts counting again. */
  gw__limiter_fail(l, "u:ana", 1061);
  assert_int_equal(gw__limiter_check(l, "u:ana", 1061), 0);
  gw__limiter_fail(l, "u:ana", 1061);
  gw__limiter_fail(l, "u:ana", 1061);
  assert_true(gw__limiter_check(l, "u:ana", 1061) > 0);
  gw__limiter_reset(l, "u:ana");
  assert_int_equal(gw__limiter_check(l, "u:ana", 1061), 0);
  /* Many keys: the table stays bounded and the newest keys are kept. */
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "a:10.0.%d.%d", i / 256, i % 256);
    for (int k = 0; k < 3; k++) gw__limiter_fail(l, key, 2000 + i * 0.001);
  }
  assert_true(gw__limiter_check(l, key, 2005) > 0);
  gw__limiter_destroy(l);
  gw__limiter_destroy(NULL);
  assert_int_not_equal(gw__limiter_create(0, 60, &l), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_and_verify),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_limiter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

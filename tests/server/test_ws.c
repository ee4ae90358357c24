/*
** test_ws.c -- the WebSocket codec (src/server/ws.c) and its SHA-1.
**
** The expected bytes come from RFC 6455 (the handshake of section 1.3, the
** frames of section 5.7) and from FIPS 180-4's SHA-1 examples, so a mistake
** shared by the codec and these tests is unlikely.  Every refusal is checked
** for its close code, and every prefix of a valid frame must ask for more.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/sha1.h"
#include "server/ws.h"

static void hex(const uint8_t *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void **state) {
  (void)state;
  uint8_t d[GW_SHA1_BYTES];
  char h[41];
  gw__sha1("abc", 3, d);
  hex(d, sizeof d, h);
  assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
  gw__sha1("", 0, d);
  hex(d, sizeof d, h);
  assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  gw__sha1(two, strlen(two), d);
  hex(d, sizeof d, h);
  assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  /* A million 'a' fed in uneven pieces crosses every block boundary case. */
  gw__sha1_ctx c;
  gw__sha1_init(&c);
  char a[997];
  memset(a, 'a', sizeof a);
  size_t left = 1000000;
  while (left > 0) {
    size_t n = left < sizeof a ? left : sizeof a;
    gw__sha1_update(&c, a, n);
    left -= n;
  }
  gw__sha1_final(&c, d);
  hex(d, sizeof d, h);
  assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_accept_rfc_example(void **state) {
  (void)state;
  char out[GW_WS_ACCEPT_LEN + 1];
  assert_int_equal(gw_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_key_validation(void **state) {
  (void)state;
  char out[GW_WS_ACCEPT_LEN + 1];
  assert_true(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
  assert_true(gw_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
  assert_false(gw_ws_key_valid(NULL));
  assert_false(gw_ws_key_valid(""));
  assert_false(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="));    /* too short */
  assert_false(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=== ")); /* too long */
  assert_false(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZ===="));  /* 15 bytes */
  assert_false(gw_ws_key_valid("dGhlIHNhbXBsZSBub25j!Q=="));   /* not base64 */
  assert_false(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZR=="));   /* stray bits */
  assert_int_equal(gw_ws_accept("not a key", out), -1);
  assert_string_equal(out, "");
}

/* RFC 6455 5.7: a single-frame masked text message "Hello". */
static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                       0x7f, 0x9f, 0x4d, 0x51, 0x58};

static void test_parse_masked_hello(void **state) {
  (void)state;
  gw_ws_frame f;
  assert_int_equal(gw_ws_parse(masked_hello, sizeof masked_hello, 65536, 1, &f), GW_WS_FRAME);
  assert_int_equal(f.fin, 1);
  assert_int_equal(f.opcode, GW_WS_TEXT);
  assert_int_equal(f.masked, 1);
  assert_int_equal(f.payload_len, 5);
  assert_int_equal(f.header_len, 6);
  assert_int_equal(f.frame_len, sizeof masked_hello);
  uint8_t text[5];
  memcpy(text, f.payload, 5);
  gw_ws_unmask(text, 5, f.mask, 0);
  assert_memory_equal(text, "Hello", 5);
  /* In two pieces, the second starting at payload offset 2. */
  memcpy(text, f.payload, 5);
  gw_ws_unmask(text, 2, f.mask, 0);
  gw_ws_unmask(text + 2, 3, f.mask, 2);
  assert_memory_equal(text, "Hello", 5);
  /* Every prefix asks for more. */
  for (size_t n = 0; n < sizeof masked_hello; n++)
    assert_int_equal(gw_ws_parse(masked_hello, n, 65536, 1, &f), GW_WS_NEED_MORE);
  /* Trailing bytes belong to the next frame. */
  uint8_t two[sizeof masked_hello + 3];
  memcpy(two, masked_hello, sizeof masked_hello);
  memcpy(two + sizeof masked_hello, "\x89\x80\x00", 3);
  assert_int_equal(gw_ws_parse(two, sizeof two, 65536, 1, &f), GW_WS_FRAME);
  assert_int_equal(f.frame_len, sizeof masked_hello);
}

static void test_parse_unmasked_examples(void **state) {
  (void)state;
  gw_ws_frame f;
  static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  /* A server's frame is unmasked: fine for a client, refused from one. */
  assert_int_equal(gw_ws_parse(hello, sizeof hello, 65536, 0, &f), GW_WS_FRAME);
  assert_memory_equal(f.payload, "Hello", 5);
  assert_int_equal(gw_ws_parse(hello, sizeof hello, 65536, 1, &f), GW_WS_ERROR);
  assert_int_equal(f.close_code, GW_WS_CLOSE_PROTOCOL);
  /* A fragmented message "Hel" + "lo". */
  static const uint8_t frag1[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
  static const uint8_t frag2[] = {0x80, 0x02, 0x6c, 0x6f};
  gw_ws_seq seq = {0, 0};
  assert_int_equal(gw_ws_parse(frag1, sizeof frag1, 65536, 0, &f), GW_WS_FRAME);
  assert_int_equal(f.fin, 0);
  assert_int_equal(gw_ws_sequence(&seq, &f, 65536), 0);
  assert_true(seq.in_message);
  assert_int_equal(gw_ws_parse(frag2, sizeof frag2, 65536, 0, &f), GW_WS_FRAME);
  assert_int_equal(f.opcode, GW_WS_CONT);
  assert_int_equal(gw_ws_sequence(&seq, &f, 65536), 0);
  assert_false(seq.in_message);
  assert_int_equal(seq.message_len, 5);
  /* A continuation with no message begun. */
  assert_int_equal(gw_ws_sequence(&seq, &f, 65536), GW_WS_CLOSE_PROTOCOL);
  /* A new message in the middle of one. */
  gw_ws_parse(frag1, sizeof frag1, 65536, 0, &f);
  assert_int_equal(gw_ws_sequence(&seq, &f, 65536), 0);
  assert_int_equal(gw_ws_sequence(&seq, &f, 65536), GW_WS_CLOSE_PROTOCOL);
  /* Fragments that together exceed the limit. */
  gw_ws_seq big = {0, 0};
  gw_ws_parse(frag1, sizeof frag1, 65536, 0, &f);
  assert_int_equal(gw_ws_sequence(&big, &f, 4), 0);
  gw_ws_parse(frag2, sizeof frag2, 65536, 0, &f);
  assert_int_equal(gw_ws_sequence(&big, &f, 4), GW_WS_CLOSE_TOO_BIG);
}

static void test_parse_lengths(void **state) {
  (void)state;
  gw_ws_frame f;
  static uint8_t buf[10 + 65536 + 4];
  uint8_t mask[4] = {1, 2, 3, 4};
  /* RFC 5.7: 256 bytes use the 16-bit length, 64 KiB the 64-bit one. */
  size_t hl = gw_ws_header(buf, GW_WS_BINARY, 1, 256, NULL);
  assert_int_equal(hl, 4);
  assert_memory_equal(buf, "\x82\x7e\x01\x00", 4);
  assert_int_equal(gw_ws_parse(buf, hl + 256, 65536, 0, &f), GW_WS_FRAME);
  assert_int_equal(f.payload_len, 256);
  hl = gw_ws_header(buf, GW_WS_BINARY, 1, 65536, NULL);
  assert_int_equal(hl, 10);
  assert_memory_equal(buf, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
  assert_int_equal(gw_ws_parse(buf, hl + 65536, 65536, 0, &f), GW_WS_FRAME);
  assert_int_equal(f.payload_len, 65536);
  /* One byte over the limit is refused from the header alone. */
  hl = gw_ws_header(buf, GW_WS_BINARY, 1, 65537, mask);
  assert_int_equal(gw_ws_parse(buf, hl, 65536, 1, &f), GW_WS_ERROR);
  assert_int_equal(f.close_code, GW_WS_CLOSE_TOO_BIG);
  /* Non-minimal encodings and the 64th bit. */
  static const uint8_t long5[] = {0x82, 0x7e, 0x00, 0x05};
  assert_int_equal(gw_ws_parse(long5, sizeof long5, 65536, 0, &f), GW_WS_ERROR);
  assert_int_equal(f.close_code, GW_WS_CLOSE_PROTOCOL);
  static const uint8_t long300[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x01, 0x2c};
  assert_int_equal(gw_ws_parse(long300, sizeof long300, 65536, 0, &f), GW_WS_ERROR);
  static const uint8_t huge[] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(gw_ws_parse(huge, sizeof huge, UINT64_MAX, 0, &f), GW_WS_ERROR);
  assert_int_equal(f.close_code, GW_WS_CLOSE_PROTOCOL);
  /* A header announcing more than is there yet. */
  hl = gw_ws_header(buf, GW_WS_TEXT, 1, 1000, mask);
  assert_int_equal(gw_ws_parse(buf, hl + 999, 65536, 1, &f), GW_WS_NEED_MORE);
  assert_int_equal(f.frame_len, hl + 1000);
}

static void test_parse_protocol_errors(void **state) {
  (void)state;
  gw_ws_frame f;
  struct {
    uint8_t b[8];
    size_t n;
  } bad[] = {
      {{0xC1, 0x80, 1, 2, 3, 4}, 6}, /* RSV1 */
      {{0xA1, 0x80, 1, 2, 3, 4}, 6}, /* RSV2 */
      {{0x91, 0x80, 1, 2, 3, 4}, 6}, /* RSV3 */
      {{0x83, 0x80, 1, 2, 3, 4}, 6}, /* opcode 3 */
      {{0x8B, 0x80, 1, 2, 3, 4}, 6}, /* opcode 0xB */
      {{0x09, 0x80, 1, 2, 3, 4}, 6}, /* fragmented ping */
      {{0x89, 0xFE, 0, 126}, 4},     /* ping of 126 bytes */
      {{0x88, 0x00}, 2},             /* unmasked close from a client */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(gw_ws_parse(bad[i].b, bad[i].n, 65536, 1, &f), GW_WS_ERROR);
    assert_int_equal(f.close_code, GW_WS_CLOSE_PROTOCOL);
  }
}

static void test_build_and_close(void **state) {
  (void)state;
  uint8_t h[GW_WS_MAX_HEADER];
  assert_int_equal(gw_ws_header(h, GW_WS_TEXT, 1, 5, NULL), 2);
  assert_memory_equal(h, "\x81\x05", 2);
  uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  assert_int_equal(gw_ws_header(h, GW_WS_TEXT, 1, 5, mask), 6);
  assert_memory_equal(h, masked_hello, 6);
  uint8_t c[4];
  assert_int_equal(gw_ws_close_frame(c, 1002), 4);
  assert_memory_equal(c, "\x88\x02\x03\xea", 4);
  uint16_t code = 0;
  assert_true(gw_ws_close_payload_ok(NULL, 0, &code));
  assert_int_equal(code, 1005);
  assert_true(gw_ws_close_payload_ok((const uint8_t *)"\x03\xe8", 2, &code));
  assert_int_equal(code, 1000);
  assert_true(gw_ws_close_payload_ok((const uint8_t *)"\x0f\xa0 bye", 6, &code));
  assert_int_equal(code, 4000);
  assert_false(gw_ws_close_payload_ok((const uint8_t *)"\x03", 1, &code));
  assert_false(gw_ws_close_payload_ok((const uint8_t *)"\x03\xed", 2, &code)); /* 1005 */
  assert_false(gw_ws_close_payload_ok((const uint8_t *)"\x03\xe7", 2, &code)); /* 999 */
  assert_false(gw_ws_close_payload_ok((const uint8_t *)"\x13\x88", 2, &code)); /* 5000 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha1_vectors),
      cmocka_unit_test(test_accept_rfc_example),
      cmocka_unit_test(test_key_validation),
      cmocka_unit_test(test_parse_masked_hello),
      cmocka_unit_test(test_parse_unmasked_examples),
      cmocka_unit_test(test_parse_lengths),
      cmocka_unit_test(test_parse_protocol_errors),
      cmocka_unit_test(test_build_and_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** sha1.c -- SHA-1 (FIPS 180-4) for the WebSocket handshake (sha1.h).
**
** A plain block-at-a-time implementation: the handshake hashes 60 bytes once
** per connection, so speed does not matter and clarity does.
*/
#include "server/sha1.h"

#include <string.h>

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void compress(uint32_t h[5], const uint8_t b[64]) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
           (uint32_t)b[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (bb & c) | (~bb & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = bb ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (bb & c) | (bb & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = bb ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol(bb, 30);
    bb = a;
    a = t;
  }
  h[0] += a;
  h[1] += bb;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void gw__sha1_init(gw__sha1_ctx *c) {
  static const uint32_t iv[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  memcpy(c->h, iv, sizeof iv);
  c->bytes = 0;
  c->n = 0;
}

void gw__sha1_update(gw__sha1_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  c->bytes += len;
  while (len > 0) {
    size_t take = 64 - c->n < len ? 64 - c->n : len;
    memcpy(c->block + c->n, p, take);
    c->n += take;
    p += take;
    len -= take;
    if (c->n == 64) {
      compress(c->h, c->block);
      c->n = 0;
    }
  }
}

void gw__sha1_final(gw__sha1_ctx *c, uint8_t out[GW_SHA1_BYTES]) {
  uint64_t bits = c->bytes * 8;
  uint8_t pad = 0x80;
  gw__sha1_update(c, &pad, 1);
  pad = 0;
  while (c->n != 56) gw__sha1_update(c, &pad, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  gw__sha1_update(c, len, 8);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

void gw__sha1(const void *data, size_t len, uint8_t out[GW_SHA1_BYTES]) {
  gw__sha1_ctx c;
  gw__sha1_init(&c);
  gw__sha1_update(&c, data, len);
  gw__sha1_final(&c, out);
}

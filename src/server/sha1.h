/*
** sha1.h -- SHA-1, for the WebSocket handshake only.
**
** RFC 6455 derives Sec-WebSocket-Accept from SHA-1 of the client's key; the
** hash protects nothing there (it only proves the server read the key), so
** SHA-1's weakness does not matter.  libsodium has no SHA-1, hence this
** small FIPS 180-4 implementation.  Nothing else in Greenwave may use it.
*/
#ifndef GW_SERVER_SHA1_H
#define GW_SERVER_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define GW_SHA1_BYTES 20

typedef struct gw__sha1_ctx {
  uint32_t h[5];
  uint64_t bytes;    /* message length so far */
  uint8_t block[64]; /* the partial block */
  size_t n;          /* bytes in block */
} gw__sha1_ctx;

void gw__sha1_init(gw__sha1_ctx *c);
void gw__sha1_update(gw__sha1_ctx *c, const void *data, size_t len);
void gw__sha1_final(gw__sha1_ctx *c, uint8_t out[GW_SHA1_BYTES]);
/* One call for a whole message. */
void gw__sha1(const void *data, size_t len, uint8_t out[GW_SHA1_BYTES]);

#endif

/*
** ws.c -- the WebSocket codec (ws.h): frame parsing, headers, the handshake.
**
** Pure functions over caller buffers: no sockets, no allocation, no state
** beyond what the caller passes in, so that every byte string can be fed to
** the parser (tests/fuzz/fuzz_ws.c) and the result checked against the
** header it would write back.  Lengths must use their minimal encoding
** (RFC 6455 section 5.2); accepting only that makes each frame's header
** canonical, which is what lets the fuzz target check parse and build
** against each other byte for byte.
*/
#include "server/ws.h"

#include <string.h>

#include "server/sha1.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = b64[v >> 18 & 63];
    out[o++] = b64[v >> 12 & 63];
    out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  out[o] = '\0';
  return o;
}

int gw_ws_parse(const uint8_t *buf, size_t len, uint64_t max_payload, int require_mask,
                gw_ws_frame *f) {
  memset(f, 0, sizeof *f);
  if (len < 2) return GW_WS_NEED_MORE;
  f->fin = buf[0] >> 7;
  f->opcode = buf[0] & 0x0F;
  f->masked = buf[1] >> 7;
  f->close_code = GW_WS_CLOSE_PROTOCOL;
  if (buf[0] & 0x70) return GW_WS_ERROR; /* reserved bits: no extension was agreed */
  int control = f->opcode >= 0x8;
  switch (f->opcode) {
    case GW_WS_CONT:
    case GW_WS_TEXT:
    case GW_WS_BINARY:
    case GW_WS_CLOSE:
    case GW_WS_PING:
    case GW_WS_PONG:
      break;
    default:
      return GW_WS_ERROR;
  }
  if (require_mask && !f->masked) return GW_WS_ERROR;
  if (control && !f->fin) return GW_WS_ERROR;
  uint64_t plen = buf[1] & 0x7F;
  size_t hl = 2;
  if (plen == 126) {
    if (len < 4) return GW_WS_NEED_MORE;
    plen = (uint64_t)buf[2] << 8 | buf[3];
    hl = 4;
    if (plen < 126) return GW_WS_ERROR;
  } else if (plen == 127) {
    if (len < 10) return GW_WS_NEED_MORE;
    plen = 0;
    for (int i = 0; i < 8; i++) plen = plen << 8 | buf[2 + i];
    hl = 10;
    if (plen >> 63) return GW_WS_ERROR;
    if (plen <= 0xFFFF) return GW_WS_ERROR;
  }
  if (control && plen > 125) return GW_WS_ERROR;
  if (plen > max_payload) {
    f->close_code = GW_WS_CLOSE_TOO_BIG;
    return GW_WS_ERROR;
  }
  if (f->masked) {
    if (len < hl + 4) return GW_WS_NEED_MORE;
    memcpy(f->mask, buf + hl, 4);
    hl += 4;
  }
  f->close_code = 0;
  f->payload_len = plen;
  f->header_len = hl;
  /* max_payload may be huge; a frame that cannot be held in memory is never
  ** complete, which is what NEED_MORE says. */
  if (plen > SIZE_MAX - hl) return GW_WS_NEED_MORE;
  f->frame_len = hl + (size_t)plen;
  if (len < f->frame_len) return GW_WS_NEED_MORE;
  f->payload = buf + hl;
  return GW_WS_FRAME;
}

uint16_t gw_ws_sequence(gw_ws_seq *s, const gw_ws_frame *f, uint64_t max_message) {
  if (f->opcode >= 0x8) return 0; /* control frames may come between fragments */
  if (f->opcode == GW_WS_CONT) {
    if (!s->in_message) return GW_WS_CLOSE_PROTOCOL;
  } else {
    if (s->in_message) return GW_WS_CLOSE_PROTOCOL;
    s->message_len = 0;
  }
  if (f->payload_len > max_message - s->message_len) return GW_WS_CLOSE_TOO_BIG;
  s->message_len += f->payload_len;
  s->in_message = !f->fin;
  return 0;
}

void gw_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset) {
  for (size_t i = 0; i < len; i++) data[i] ^= mask[(offset + i) & 3];
}

size_t gw_ws_header(uint8_t *out, int opcode, int fin, uint64_t payload_len, const uint8_t *mask) {
  size_t n = 0;
  out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
  uint8_t m = mask ? 0x80 : 0;
  if (payload_len < 126) {
    out[n++] = (uint8_t)(m | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[n++] = (uint8_t)(m | 126);
    out[n++] = (uint8_t)(payload_len >> 8);
    out[n++] = (uint8_t)payload_len;
  } else {
    out[n++] = (uint8_t)(m | 127);
    for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(payload_len >> (8 * i));
  }
  if (mask) {
    memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

size_t gw_ws_close_frame(uint8_t *out, uint16_t code) {
  out[0] = 0x80 | GW_WS_CLOSE;
  out[1] = 2;
  out[2] = (uint8_t)(code >> 8);
  out[3] = (uint8_t)code;
  return 4;
}

int gw_ws_close_payload_ok(const uint8_t *payload, size_t len, uint16_t *code) {
  if (len == 0) {
    *code = 1005;
    return 1;
  }
  if (len == 1) return 0;
  uint16_t c = (uint16_t)(payload[0] << 8 | payload[1]);
  *code = c;
  /* 1004 is reserved, 1005 and 1006 must never be sent, 1015 is TLS-only. */
  if (c >= 1000 && c <= 1014) return c != 1004 && c != 1005 && c != 1006;
  return c >= 3000 && c <= 4999;
}

int gw_ws_key_valid(const char *key) {
  /* 16 bytes in base64: 22 significant characters then "==".  The last
  ** significant character carries only 2 bits, so its low 4 bits are 0. */
  if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=') return 0;
  for (int i = 0; i < 22; i++)
    if (b64_value(key[i]) < 0) return 0;
  return (b64_value(key[21]) & 0x0F) == 0;
}

int gw_ws_accept(const char *key, char out[GW_WS_ACCEPT_LEN + 1]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  out[0] = '\0';
  if (!gw_ws_key_valid(key)) return -1;
  gw__sha1_ctx c;
  uint8_t digest[GW_SHA1_BYTES];
  gw__sha1_init(&c);
  gw__sha1_update(&c, key, 24);
  gw__sha1_update(&c, guid, sizeof guid - 1);
  gw__sha1_final(&c, digest);
  b64_encode(digest, sizeof digest, out);
  return 0;
}

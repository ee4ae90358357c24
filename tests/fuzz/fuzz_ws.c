/*
** fuzz_ws.c -- libFuzzer target for the WebSocket codec (src/server/ws.c).
**
** The input is read as a stream of client frames, the way the hub reads a
** socket: parse a frame, check it against the frames before it, unmask it,
** move on.  Beyond the sanitizers' "no crash, no read past the buffer, no
** undefined behaviour", each step checks properties that could be wrong:
**   - a frame lies inside the buffer and its lengths add up;
**   - lengths are canonical, so the header gw_ws_header writes for the
**     parsed fields is byte for byte the input's header;
**   - every proper prefix of a frame asks for more bytes, never yields a
**     frame (and never a different error);
**   - an error always carries 1002 or 1009;
**   - unmasking twice gives the bytes back.
** The first bytes are also tried as a Sec-WebSocket-Key: a key the codec
** accepts yields a 28-character answer, one it refuses yields none.
** Only ws.c and sha1.c are linked: no server, no sockets.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/ws.h"

#define MAX_PAYLOAD 65536u

static void die(const char *what) {
  fprintf(stderr, "fuzz property broken: %s\n", what);
  abort();
}

static void check_frame(const uint8_t *buf, size_t len, const gw_ws_frame *f) {
  if (f->frame_len > len || f->header_len + f->payload_len != f->frame_len)
    die("frame lengths do not add up");
  if (f->payload != buf + f->header_len) die("payload pointer");
  if (f->payload_len > MAX_PAYLOAD) die("payload over the limit accepted");
  if (!f->masked) die("unmasked client frame accepted");
  uint8_t hdr[GW_WS_MAX_HEADER];
  size_t hl = gw_ws_header(hdr, f->opcode, f->fin, f->payload_len, f->mask);
  if (hl != f->header_len || memcmp(hdr, buf, hl) != 0) die("header does not round-trip");
  /* Prefixes: more is needed, or the same error the whole frame would give
  ** (impossible here, since the whole frame was accepted). */
  for (size_t n = 0; n < f->frame_len; n += 1 + n / 8) {
    gw_ws_frame p;
    if (gw_ws_parse(buf, n, MAX_PAYLOAD, 1, &p) != GW_WS_NEED_MORE)
      die("a prefix of a frame did not ask for more");
  }
  if (f->payload_len <= 256) {
    uint8_t tmp[256];
    size_t pl = (size_t)f->payload_len;
    memcpy(tmp, f->payload, pl);
    gw_ws_unmask(tmp, pl, f->mask, 0);
    gw_ws_unmask(tmp, pl, f->mask, 0);
    if (memcmp(tmp, f->payload, pl) != 0) die("unmask is not an involution");
  }
  if (f->opcode == GW_WS_CLOSE) {
    uint8_t p[125];
    size_t pl = (size_t)f->payload_len;
    memcpy(p, f->payload, pl);
    gw_ws_unmask(p, pl, f->mask, 0);
    uint16_t code = 0;
    int ok = gw_ws_close_payload_ok(p, pl, &code);
    if (ok && pl >= 2 && code != (uint16_t)(p[0] << 8 | p[1])) die("close code misread");
    if (pl == 1 && ok) die("a one-byte close payload accepted");
  }
}

static void check_key(const uint8_t *data, size_t size) {
  char key[32];
  size_t n = size < 24 ? size : 24;
  memcpy(key, data, n);
  key[n] = '\0';
  char out[GW_WS_ACCEPT_LEN + 1];
  int rc = gw_ws_accept(key, out);
  if (rc == 0 && strlen(out) != GW_WS_ACCEPT_LEN) die("accept of the wrong length");
  if (rc != 0 && out[0]) die("refused key with an answer");
  if ((rc == 0) != gw_ws_key_valid(key)) die("accept and key_valid disagree");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_key(data, size);
  gw_ws_seq seq = {0, 0};
  size_t at = 0;
  while (at < size) {
    gw_ws_frame f;
    int rc = gw_ws_parse(data + at, size - at, MAX_PAYLOAD, 1, &f);
    if (rc == GW_WS_NEED_MORE) {
      if (f.frame_len != 0 && f.frame_len <= size - at) die("need more with the frame there");
      break;
    }
    if (rc == GW_WS_ERROR) {
      if (f.close_code != GW_WS_CLOSE_PROTOCOL && f.close_code != GW_WS_CLOSE_TOO_BIG)
        die("error without a close code");
      break;
    }
    if (rc != GW_WS_FRAME) die("unknown result");
    check_frame(data + at, size - at, &f);
    uint16_t code = gw_ws_sequence(&seq, &f, MAX_PAYLOAD);
    if (code != 0 && code != GW_WS_CLOSE_PROTOCOL && code != GW_WS_CLOSE_TOO_BIG)
      die("sequence error without a close code");
    if (code) break;
    if (seq.message_len > MAX_PAYLOAD) die("message over the limit accepted");
    at += f.frame_len;
  }
  return 0;
}

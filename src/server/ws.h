/*
** ws.h -- the WebSocket codec (RFC 6455): frames and the handshake, no sockets.
**
** The daemon's hub (http.c) reads bytes from a client into a buffer and asks
** gw_ws_parse whether a whole frame is there; the parser never copies and
** never allocates, so it is fuzzed on its own (tests/fuzz/fuzz_ws.c).  A
** frame is judged from its header as soon as the header is complete: a bad
** frame (reserved bits, unknown opcode, an unmasked client frame, a control
** frame that is fragmented or longer than 125 bytes, a length over the
** limit, a non-minimal length encoding) is refused before its payload is
** waited for, with the close code the peer should get.  Rules that span
** frames (fragmentation) are checked by gw_ws_sequence.
*/
#ifndef GW_SERVER_WS_H
#define GW_SERVER_WS_H

#include <stddef.h>
#include <stdint.h>

enum {
  GW_WS_CONT = 0x0,
  GW_WS_TEXT = 0x1,
  GW_WS_BINARY = 0x2,
  GW_WS_CLOSE = 0x8,
  GW_WS_PING = 0x9,
  GW_WS_PONG = 0xA
};

/* Close codes (RFC 6455 section 7.4.1). */
enum {
  GW_WS_CLOSE_NORMAL = 1000,
  GW_WS_CLOSE_GOING_AWAY = 1001,
  GW_WS_CLOSE_PROTOCOL = 1002,
  GW_WS_CLOSE_TOO_BIG = 1009,
  GW_WS_CLOSE_TRY_LATER = 1013
};

/* What gw_ws_parse found at the start of the buffer. */
enum { GW_WS_NEED_MORE = 0, GW_WS_FRAME = 1, GW_WS_ERROR = -1 };

#define GW_WS_MAX_HEADER 14 /* 2 + 8 (length) + 4 (mask) */

typedef struct gw_ws_frame {
  int fin;                /* 1 on the last frame of a message */
  int opcode;             /* GW_WS_... */
  int masked;             /* 1 when a mask key was present */
  uint8_t mask[4];        /* the key, when masked */
  uint64_t payload_len;   /* bytes */
  size_t header_len;      /* bytes before the payload */
  size_t frame_len;       /* header_len + payload_len: what to consume */
  const uint8_t *payload; /* into the caller's buffer, still masked */
  uint16_t close_code;    /* GW_WS_ERROR: the code to close with */
} gw_ws_frame;

/* Looks at one frame at the start of buf[0..len).  GW_WS_FRAME: f describes
** a whole frame (f->frame_len bytes of buf).  GW_WS_NEED_MORE: the frame is
** not complete yet (f->frame_len holds the total once the header is known,
** else 0).  GW_WS_ERROR: the frame breaks the protocol; f->close_code says
** why (1002, or 1009 for a payload over max_payload).  require_mask: 1 for
** frames from a client, which must be masked. */
int gw_ws_parse(const uint8_t *buf, size_t len, uint64_t max_payload, int require_mask,
                gw_ws_frame *f);

/* Fragmentation state of one direction of a connection. */
typedef struct gw_ws_seq {
  int in_message;       /* a text or binary message has begun, not yet ended */
  uint64_t message_len; /* its bytes so far */
} gw_ws_seq;

/* Checks a parsed frame against the frames before it: a continuation needs
** a message in progress, a new text or binary frame needs none, and a
** message may not exceed max_message bytes in all.  0 when the frame is
** fine (s is updated), else the close code (1002 or 1009). */
uint16_t gw_ws_sequence(gw_ws_seq *s, const gw_ws_frame *f, uint64_t max_message);

/* XORs data with the mask; `offset` is the position of data[0] within the
** payload, so that a payload can be unmasked in pieces. */
void gw_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Writes a frame header into out (at most GW_WS_MAX_HEADER bytes) and
** returns its length.  mask NULL: an unmasked server frame. */
size_t gw_ws_header(uint8_t *out, int opcode, int fin, uint64_t payload_len, const uint8_t *mask);

/* Writes a whole close frame carrying `code` (no reason) into out (4 bytes)
** and returns 4. */
size_t gw_ws_close_frame(uint8_t *out, uint16_t code);

/* 1 when a close frame's payload is acceptable: empty, or a code that may be
** sent on the wire followed by any reason; *code gets the code (1005, "no
** status", when empty). */
int gw_ws_close_payload_ok(const uint8_t *payload, size_t len, uint16_t *code);

/* 1 when `key` is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes. */
int gw_ws_key_valid(const char *key);

#define GW_WS_ACCEPT_LEN 28
/* Computes Sec-WebSocket-Accept for a key into out (29 bytes with the NUL).
** 0 on success, -1 when the key is not valid. */
int gw_ws_accept(const char *key, char out[GW_WS_ACCEPT_LEN + 1]);

#endif

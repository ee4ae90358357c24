/*
** traci.h -- the TraCI wire format, for the SUMO field (traci.c) and its fuzz
** target only.
**
** TraCI frames everything big-endian: a message is an int32 total length
** followed by commands, and each command starts with its own length, one
** byte when it fits, else a zero byte and an int32.  The helpers below
** build one outgoing message in a growable buffer and read an incoming one
** through a bounded cursor.
**
** Invariants.  A writer that failed to grow keeps `oom` set and ignores
** further puts, so a message is built without checking every call; the
** caller checks once before sending.  A reader never reads past `end`: a
** read beyond it sets `bad` and yields zeros, so a short or truncated reply
** becomes one error at the point where the caller checks, never a read out
** of bounds.  Only the ids and variables Greenwave uses are named here; the
** numbers are SUMO's (tools/traci/constants.py, API 20).
*/
#ifndef GW_FIELD_TRACI_H
#define GW_FIELD_TRACI_H

#include <stddef.h>
#include <stdint.h>

#include "greenwave/field.h"

/* Commands, and the offset of a get's or a subscription's response id. */
enum {
  GW__TRACI_GETVERSION = 0x00,
  GW__TRACI_SIMSTEP = 0x02,
  GW__TRACI_CLOSE = 0x7f,
  GW__TRACI_GET_LOOP = 0xa0,
  GW__TRACI_GET_TL = 0xa2,
  GW__TRACI_GET_LANE = 0xa3,
  GW__TRACI_SET_TL = 0xc2,
  GW__TRACI_SUB_LOOP = 0xd0,
  GW__TRACI_SUB_TL = 0xd2,
  GW__TRACI_SUB_LANE = 0xd3,
  GW__TRACI_SUB_SIM = 0xdb,
  GW__TRACI_RESPONSE = 0x10
};

/* Variables. */
enum {
  GW__TRACI_LAST_STEP_VEHICLE_NUMBER = 0x10,
  GW__TRACI_LAST_STEP_OCCUPANCY = 0x13,
  GW__TRACI_LAST_STEP_HALTING_NUMBER = 0x14,
  GW__TRACI_TIME_SINCE_DETECTION = 0x16,
  GW__TRACI_LAST_STEP_VEHICLE_DATA = 0x17,
  GW__TRACI_TL_STATE = 0x20,
  GW__TRACI_VAR_TIME = 0x66,
  GW__TRACI_VAR_DEPARTED = 0x73,
  GW__TRACI_VAR_TELEPORT_STARTING = 0x75,
  GW__TRACI_VAR_ARRIVED = 0x79,
  GW__TRACI_VAR_DELTA_T = 0x7b,
  GW__TRACI_VAR_MIN_EXPECTED = 0x7d,
  GW__TRACI_VAR_COLLIDING = 0x80
};

/* Value types and result codes of a status. */
enum {
  GW__TRACI_TYPE_INT = 0x09,
  GW__TRACI_TYPE_DOUBLE = 0x0b,
  GW__TRACI_TYPE_STRING = 0x0c,
  GW__TRACI_TYPE_COMPOUND = 0x0f,
  GW__TRACI_RTYPE_OK = 0x00,
  GW__TRACI_RTYPE_NOTIMPLEMENTED = 0x01,
  GW__TRACI_RTYPE_ERR = 0xff
};

/* The API version Greenwave was written against (SUMO 1.15 reports 20). */
#define GW__TRACI_API 20
/* No message may claim more than this; a larger length is a broken stream. */
#define GW__TRACI_MAX_MESSAGE (64u << 20)
/* Subscription begin and end meaning "from now on, for ever". */
#define GW__TRACI_INVALID_DOUBLE (-1073741824.0)

/* ---- writing ------------------------------------------------------------ */

typedef struct gw__traci_out {
  uint8_t *a;
  size_t n, cap;
  int oom; /* growing failed; the message is unusable */
} gw__traci_out;

/* Empties the buffer and reserves the message's length field. */
void gw__traci_out_reset(gw__traci_out *o);
void gw__traci_out_free(gw__traci_out *o);
void gw__traci_put_u8(gw__traci_out *o, uint8_t v);
void gw__traci_put_i32(gw__traci_out *o, int32_t v);
void gw__traci_put_f64(gw__traci_out *o, double v);
/* int32 length and the bytes, no type byte. */
void gw__traci_put_str(gw__traci_out *o, const char *s);
/* A command: cmd_begin writes a one-byte length placeholder and the id and
** returns where the command starts; cmd_end fills in the length, switching
** to the long form when the command grew past 255 bytes. */
size_t gw__traci_cmd_begin(gw__traci_out *o, uint8_t cmd);
void gw__traci_cmd_end(gw__traci_out *o, size_t start);
/* Writes the total length; returns the message size, 0 when out of memory. */
size_t gw__traci_out_finish(gw__traci_out *o);

/* ---- reading ------------------------------------------------------------ */

typedef struct gw__traci_in {
  const uint8_t *p, *end;
  int bad; /* a read went past the end */
} gw__traci_in;

uint8_t gw__traci_u8(gw__traci_in *in);
int32_t gw__traci_i32(gw__traci_in *in);
double gw__traci_f64(gw__traci_in *in);
/* A string borrowed from the message (not NUL-terminated). */
void gw__traci_str(gw__traci_in *in, const char **s, uint32_t *len);
/* A command's length field; returns the command's end (p of the first byte
** after it) and leaves `in` after the length field. */
const uint8_t *gw__traci_cmd_len(gw__traci_in *in);

/* ---- a reply parsed without SUMO, for tests ------------------------------
**
** gw__traci_fuzz_reply is the fuzz target's way in (tests/fuzz/fuzz_traci.c):
** it builds a SUMO field over `net` with no SUMO behind it (no process, no
** socket), parses the rest of `data` as one reply exactly as the field
** parses what SUMO sends, calls `inspect` (may be NULL) with the field as
** the parse left it, frees the field and returns the parse's result.  The
** first GW__TRACI_FUZZ_SETUP bytes of `data` (missing ones read as 0) say
** which reply and which state:
**   [0]  bits 0-1: the reply to GW__TRACI_FUZZ_*; bit 2: a lane get asks
**        for the halted count alone (else both counts)
**   [1]  lanes subscribed (the net's first normal lanes, in order)
**   [2]  lanes queued for subscription by this step (the next ones)
**   [3]  lane i is subscribed for its halted count alone when bit i % 8 is
**        set, else for both counts
**   [4]  of the subscribed halted-only lanes, how many are asked for their
**        vehicle count too (subscribed again with both by this step)
**   [5]  loops subscribed (the net's first detectors)
**   [6]  loops queued (the next ones)
**   [7-8] signal i has a lamp state queued when bit i % 16 is set
**   [9-10] the time, s (big-endian); the step length is 1 s
** A lane or loop get asks for the first lane or loop not subscribed.  The
** field may be read and stepped inside `inspect` (a step has no SUMO to
** talk to and fails) but not closed. */
#define GW__TRACI_FUZZ_SETUP 11
enum {
  GW__TRACI_FUZZ_STEP,     /* CMD_SIMSTEP with the queued sets and subscriptions */
  GW__TRACI_FUZZ_VERSION,  /* CMD_GETVERSION */
  GW__TRACI_FUZZ_GET_LANE, /* CMD_GET_LANE_VARIABLE, one get per count */
  GW__TRACI_FUZZ_GET_LOOP  /* CMD_GET_INDUCTIONLOOP_VARIABLE, time since detection and
                           ** vehicle data */
};
typedef struct gw__traci_fuzz_view {
  gw_field *field; /* the field as the parse left it */
  int mode;        /* GW__TRACI_FUZZ_* */
  int rc;          /* the parse's result; err says why when negative */
  const gw_error *err;
  const uint32_t *lanes; /* the lanes subscribed or queued (net lane indices) */
  const uint8_t *full;   /* per entry of lanes: its vehicle count is read too */
  uint32_t nlanes;
  const uint32_t *loops; /* the loops subscribed or queued (detector indices) */
  uint32_t nloops;
} gw__traci_fuzz_view;
int gw__traci_fuzz_reply(const gw_net *net, const uint8_t *data, size_t len,
                         void (*inspect)(const gw__traci_fuzz_view *v, void *ctx), void *ctx);

#endif

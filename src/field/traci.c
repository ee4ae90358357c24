/*
** traci.c -- SUMO as a field, driven over TraCI with plain POSIX sockets.
**
** The field starts `sumo -c CFG --remote-port P` on a port it found free
** (or connects to a SUMO already listening), checks the API version and
** subscribes to the simulation's clock and vehicle counts and to every
** signal's lamp string.  Lanes and loops are subscribed when the control
** loop first reads them: the first read fetches the values with a get (one
** round trip), the next step's message subscribes the object.  From then on
** one message per step does the work: the lamp states set since the last
** step, any new subscriptions, then CMD_SIMSTEP, whose reply carries every
** subscribed value.  The field's operations read those cached values, so a
** step costs one TCP round trip whatever the size of the network.  Reading a
** signal's state while a new state for it is still queued (right after
** control is taken) sends the queue at once and reads those signals back, so
** get_state always returns what SUMO shows.
**
** Why on demand: SUMO's cost is per subscribed variable (about 1 to 3 us
** each, in SUMO's server), not per byte.  On grid10x10 (2,080 normal lanes,
** 1,200 loops) subscribing everything costs SUMO more than its own step at
** low load; a controller that reads only loops should not pay for lanes.
** For the same reason a lane carries only the variables asked of it: a read
** of the halted count alone (lane_counts with vehicles NULL, as max-pressure
** on queues does) subscribes LAST_STEP_HALTING_NUMBER alone.  A later read
** of that lane that asks for the vehicle count too gets both by a get at
** once, and the next step's message subscribes the lane again with both.
** SUMO merges a subscription of the same object and command into the one it
** has, so every lane still reports once per step, now with both variables;
** the parser holds each lane's result to exactly the variables recorded in
** lane_vars (one missing or repeated is an error).
** Loops give one variable, LAST_STEP_VEHICLE_DATA (each vehicle's entry and
** leave time on the loop during the step), from which the count of front
** crossings, the occupancy and the last occupied time follow exactly, where
** LAST_STEP_VEHICLE_NUMBER would count a vehicle standing on the loop again
** every step, and would not be cheaper: on grid10x10 under the fixed plan
** the loops cost the same share of SUMO's step (about 15 %) either way.
**
** Failure.  Every read waits with poll() under a deadline, every send has a
** timeout and never raises SIGPIPE, and every reply is checked: its length
** (at most 64 MiB), each command's id and status, each value's type, and
** that as many objects reported as were subscribed, each with the
** variables it was subscribed with, that counts are not negative and times
** finite, and that the reply ends with its last answer.  Each reply is
** parsed apart from the socket (read_version, read_fetch, read_step), so
** that gw__traci_fuzz_reply can feed the parsers mutated replies without a
** SUMO (tests/fuzz/fuzz_traci.c).  The first failure is kept (the
** stream cannot be trusted after it) and returned by every later step; its
** message names the command and, when SUMO died, how it died and the first
** "Error:" line of its log.  Closing always reaps the child: a polite
** CMD_CLOSE, a wait, then SIGTERM and SIGKILL.
**
** Workload.  A step's reply on grid10x10 under a controller reading 1,200
** lanes and 1,200 loops is about 100 KB, parsed in one pass; ids arrive in
** the order they were subscribed, so each is matched against the expected
** one with a memcmp and looked up in a hash map only when that guess fails.
*/
#include "field/traci.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "greenwave/field.h"
#include "net/net_int.h"

extern char **environ;

/* ---- the wire format (traci.h) ------------------------------------------ */

static void out_need(gw__traci_out *o, size_t extra) {
  if (o->oom || o->n + extra <= o->cap) return;
  size_t cap = o->cap ? o->cap : 4096;
  while (cap < o->n + extra) cap *= 2;
  uint8_t *a = gw__realloc(o->a, cap);
  if (!a) {
    o->oom = 1;
    return;
  }
  o->a = a;
  o->cap = cap;
}

void gw__traci_out_reset(gw__traci_out *o) {
  o->n = 0;
  o->oom = 0;
  out_need(o, 4);
  if (!o->oom) o->n = 4;
}

void gw__traci_out_free(gw__traci_out *o) {
  gw__free(o->a);
  memset(o, 0, sizeof *o);
}

void gw__traci_put_u8(gw__traci_out *o, uint8_t v) {
  out_need(o, 1);
  if (!o->oom) o->a[o->n++] = v;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void gw__traci_put_i32(gw__traci_out *o, int32_t v) {
  out_need(o, 4);
  if (o->oom) return;
  put_be32(o->a + o->n, (uint32_t)v);
  o->n += 4;
}

void gw__traci_put_f64(gw__traci_out *o, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  out_need(o, 8);
  if (o->oom) return;
  put_be32(o->a + o->n, (uint32_t)(u >> 32));
  put_be32(o->a + o->n + 4, (uint32_t)u);
  o->n += 8;
}

void gw__traci_put_str(gw__traci_out *o, const char *s) {
  size_t len = strlen(s);
  gw__traci_put_i32(o, (int32_t)len);
  out_need(o, len);
  if (o->oom) return;
  memcpy(o->a + o->n, s, len);
  o->n += len;
}

size_t gw__traci_cmd_begin(gw__traci_out *o, uint8_t cmd) {
  size_t start = o->n;
  gw__traci_put_u8(o, 0);
  gw__traci_put_u8(o, cmd);
  return start;
}

void gw__traci_cmd_end(gw__traci_out *o, size_t start) {
  if (o->oom) return;
  size_t len = o->n - start;
  if (len <= 255) {
    o->a[start] = (uint8_t)len;
    return;
  }
  /* The long form: a zero byte, then an int32 length that counts itself. */
  out_need(o, 4);
  if (o->oom) return;
  memmove(o->a + start + 5, o->a + start + 1, len - 1);
  o->a[start] = 0;
  put_be32(o->a + start + 1, (uint32_t)(len + 4));
  o->n += 4;
}

size_t gw__traci_out_finish(gw__traci_out *o) {
  if (o->oom || o->n < 4) return 0;
  put_be32(o->a, (uint32_t)o->n);
  return o->n;
}

static int in_has(gw__traci_in *in, size_t n) {
  if (in->bad || (size_t)(in->end - in->p) < n) {
    in->bad = 1;
    return 0;
  }
  return 1;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint8_t gw__traci_u8(gw__traci_in *in) { return in_has(in, 1) ? *in->p++ : 0; }

int32_t gw__traci_i32(gw__traci_in *in) {
  if (!in_has(in, 4)) return 0;
  uint32_t v = get_be32(in->p);
  in->p += 4;
  return (int32_t)v;
}

double gw__traci_f64(gw__traci_in *in) {
  if (!in_has(in, 8)) return 0;
  uint64_t u = (uint64_t)get_be32(in->p) << 32 | get_be32(in->p + 4);
  in->p += 8;
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

void gw__traci_str(gw__traci_in *in, const char **s, uint32_t *len) {
  int32_t n = gw__traci_i32(in);
  if (n < 0 || !in_has(in, (size_t)n)) {
    in->bad = 1;
    *s = "";
    *len = 0;
    return;
  }
  *s = (const char *)in->p;
  *len = (uint32_t)n;
  in->p += n;
}

const uint8_t *gw__traci_cmd_len(gw__traci_in *in) {
  const uint8_t *start = in->p;
  uint32_t len = gw__traci_u8(in);
  if (len == 0) len = (uint32_t)gw__traci_i32(in);
  if (in->bad || len < 2 || len > (size_t)(in->end - start)) {
    in->bad = 1;
    return in->end;
  }
  return start + len;
}

/* ---- the field ---------------------------------------------------------- */

/* Subscription domains. */
enum { DOM_SIM, DOM_TL, DOM_LANE, DOM_LOOP, NDOM };
enum { SUB_NONE, SUB_QUEUED, SUB_ACTIVE };
/* A lane's variables: the halted count, the vehicle count, and a mark for
** a lane in the renew list.  A lane's values are valid for these alone. */
enum { LV_HALT = 1, LV_VEH = 2, LV_BOTH = 3, LV_RENEW = 4 };

/* Lanes or loops, subscribed when first read.  `order` holds the active
** objects in the order they were subscribed (the order SUMO reports them
** in), then the queued ones, which the next step subscribes. */
typedef struct objset {
  uint32_t n;
  uint8_t *sub; /* per object: SUB_* */
  uint32_t *order;
  uint32_t *pos; /* per object: its place in order */
  uint32_t nactive, nqueued;
} objset;

/* A loop over the last step, derived from SUMO's vehicle data. */
typedef struct loop_state {
  uint32_t count;   /* vehicles whose front crossed it */
  double occupancy; /* 0..1 */
  int occupied;     /* a vehicle is on it at the end of the step */
  double last_t;    /* s, last time occupied; negative: never */
} loop_state;

typedef struct sumo {
  const gw_net *net;
  int fd;          /* the TraCI connection, -1 when closed */
  pid_t pid;       /* the SUMO we started; -1 when none or reaped */
  int exit_status; /* see gw_sumo_stats */
  char log_path[512];
  int log_temp; /* the log is ours to remove */
  int port;
  double connect_timeout_s, reply_timeout_s;
  int failed; /* sticky: the first error, kept in `fail` */
  gw_error fail;
  gw__traci_out out;
  uint8_t *in; /* the last reply */
  size_t in_cap;
  /* The simulation, as of the last step. */
  double t, dt; /* s */
  int32_t min_expected;
  int32_t departed, arrived, teleports, collisions; /* during the last step */
  double win0, win1; /* s, the step that the loop data being parsed covers */
  /* Lanes: the normal lanes of the net, by slot. */
  uint32_t *lane_of_slot, *slot_of_lane;
  int32_t *lane_veh, *lane_halt;
  uint8_t *lane_vars; /* per slot: LV_* of its subscription (queued or active) */
  uint32_t *renew;    /* active lanes to subscribe again with more variables */
  uint32_t nrenew, lanes_counted;
  objset lanes;
  /* Loops: the net's detectors, by index. */
  gw_strmap det_ids;
  loop_state *loop;
  objset loops;
  /* Signals, all subscribed: read-back and queued states, nlinks + 1 bytes at off[i]. */
  uint32_t ntls;
  uint32_t *off;
  char *state, *queued;
  uint8_t *is_queued, *controlled;
  uint32_t nqueued;
  uint32_t seen[NDOM], cursor[NDOM];
  gw_sumo_stats st;
} sumo;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

static const char *cmd_name(uint8_t cmd) {
  switch (cmd) {
    case GW__TRACI_GETVERSION:
      return "CMD_GETVERSION (0x00)";
    case GW__TRACI_SIMSTEP:
      return "CMD_SIMSTEP (0x02)";
    case GW__TRACI_CLOSE:
      return "CMD_CLOSE (0x7f)";
    case GW__TRACI_GET_LOOP:
      return "CMD_GET_INDUCTIONLOOP_VARIABLE (0xa0)";
    case GW__TRACI_GET_TL:
      return "CMD_GET_TL_VARIABLE (0xa2)";
    case GW__TRACI_GET_LANE:
      return "CMD_GET_LANE_VARIABLE (0xa3)";
    case GW__TRACI_SET_TL:
      return "CMD_SET_TL_VARIABLE (0xc2)";
    case GW__TRACI_SUB_LOOP:
      return "CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE (0xd0)";
    case GW__TRACI_SUB_TL:
      return "CMD_SUBSCRIBE_TL_VARIABLE (0xd2)";
    case GW__TRACI_SUB_LANE:
      return "CMD_SUBSCRIBE_LANE_VARIABLE (0xd3)";
    case GW__TRACI_SUB_SIM:
      return "CMD_SUBSCRIBE_SIM_VARIABLE (0xdb)";
    default:
      return "an unknown command";
  }
}

/* Records the first failure and returns its code. */
static int failf(sumo *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(sumo *s, int code, const char *fmt, ...) {
  if (s->failed) return s->fail.code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->fail.msg, sizeof s->fail.msg, fmt, ap);
  va_end(ap);
  s->fail.code = code;
  s->failed = 1;
  return code;
}

static int copy_fail(const sumo *s, gw_error *err) {
  if (err) *err = s->fail;
  return s->fail.code;
}

/* The first "Error:" line of SUMO's log, which usually names the cause. */
static void log_error_line(const sumo *s, char *buf, size_t len) {
  buf[0] = 0;
  FILE *f = s->log_path[0] ? fopen(s->log_path, "r") : NULL;
  if (!f) return;
  char line[400];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Error:", 6)) {
      line[strcspn(line, "\r\n")] = 0;
      snprintf(buf, len, "; SUMO says \"%s\"", line);
      break;
    }
  fclose(f);
}

static void note_exit(sumo *s, int wst) {
  s->exit_status = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : -1;
  s->pid = -1;
}

/* Reaps the child if it has exited within `wait_s`; 1 when it has. */
static int reap_within(sumo *s, double wait_s) {
  if (s->pid <= 0) return 1;
  double deadline = now_s() + wait_s;
  for (;;) {
    int wst;
    pid_t r = waitpid(s->pid, &wst, WNOHANG);
    if (r == s->pid) {
      note_exit(s, wst);
      return 1;
    }
    if (r < 0 && errno != EINTR) {
      s->pid = -1;
      return 1;
    }
    if (now_s() >= deadline) return 0;
    sleep_s(0.01);
  }
}

/* How the child is doing, for messages. */
static void child_note(sumo *s, char *buf, size_t len) {
  char logline[460];
  buf[0] = 0;
  if (s->pid <= 0 && s->exit_status < 0) return;
  if (!reap_within(s, 1.0)) {
    snprintf(buf, len, " (SUMO, pid %ld, is still running)", (long)s->pid);
    return;
  }
  log_error_line(s, logline, sizeof logline);
  if (s->exit_status > 128)
    snprintf(buf, len, " (SUMO was killed by signal %d%s)", s->exit_status - 128, logline);
  else
    snprintf(buf, len, " (SUMO exited with status %d%s; its log: %s)", s->exit_status, logline,
             s->log_temp ? "removed on close" : s->log_path);
}

static int gone(sumo *s, const char *what, const char *why) {
  char note[1200];
  child_note(s, note, sizeof note);
  return failf(s, GW_EIO, "TraCI %s: %s%s", what, why, note);
}

static int send_all(sumo *s, const uint8_t *p, size_t n, const char *what) {
  while (n) {
    ssize_t k = send(s->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return failf(s, GW_EIO, "TraCI %s: SUMO did not take the message within %g s", what,
                   s->reply_timeout_s);
    if (k < 0) {
      char why[128];
      snprintf(why, sizeof why, "cannot send to SUMO: %s", strerror(errno));
      return gone(s, what, why);
    }
    p += k;
    n -= (size_t)k;
    s->st.bytes_sent += (uint64_t)k;
  }
  return GW_OK;
}

static int recv_exact(sumo *s, uint8_t *p, size_t n, double deadline, const char *what) {
  while (n) {
    double left = deadline - now_s();
    if (left <= 0)
      return failf(s, GW_EIO, "TraCI %s: no reply from SUMO within %g s", what, s->reply_timeout_s);
    struct pollfd pf = {s->fd, POLLIN, 0};
    int r = poll(&pf, 1, (int)(left * 1000) + 1);
    if (r < 0 && errno != EINTR)
      return failf(s, GW_EIO, "TraCI %s: poll: %s", what, strerror(errno));
    if (r <= 0) continue;
    ssize_t k = recv(s->fd, p, n, 0);
    if (k == 0) return gone(s, what, "connection closed by SUMO");
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      char why[128];
      snprintf(why, sizeof why, "cannot read from SUMO: %s", strerror(errno));
      return gone(s, what, why);
    }
    p += k;
    n -= (size_t)k;
    s->st.bytes_received += (uint64_t)k;
  }
  return GW_OK;
}

/* Sends the message built in s->out and reads the whole reply into `in`. */
static int exchange(sumo *s, const char *what, gw__traci_in *in) {
  if (s->failed) return s->fail.code;
  size_t n = gw__traci_out_finish(&s->out);
  if (!n) return failf(s, GW_ENOMEM, "TraCI %s: out of memory", what);
  double t0 = now_s();
  int rc = send_all(s, s->out.a, n, what);
  uint8_t hdr[4];
  if (!rc) rc = recv_exact(s, hdr, 4, t0 + s->reply_timeout_s, what);
  if (rc) return rc;
  uint32_t len = get_be32(hdr);
  if (len < 4 || len > GW__TRACI_MAX_MESSAGE)
    return failf(s, GW_EPARSE, "TraCI %s: SUMO's reply claims %u bytes (allowed 4 to %u)", what,
                 len, GW__TRACI_MAX_MESSAGE);
  if (len - 4 > s->in_cap) {
    uint8_t *b = gw__realloc(s->in, len);
    if (!b) return failf(s, GW_ENOMEM, "TraCI %s: out of memory for a %u-byte reply", what, len);
    s->in = b;
    s->in_cap = len;
  }
  if ((rc = recv_exact(s, s->in, len - 4, t0 + s->reply_timeout_s, what))) return rc;
  s->st.traci_wall_s += now_s() - t0;
  s->st.round_trips++;
  in->p = s->in;
  in->end = s->in + (len - 4);
  in->bad = 0;
  return GW_OK;
}

static int short_reply(sumo *s, uint8_t cmd) {
  return failf(s, GW_EPARSE, "TraCI %s: SUMO's reply is short or malformed", cmd_name(cmd));
}

/* A reply that goes on after the last answer it should hold: SUMO and
** Greenwave disagree about the protocol. */
static int trailing(sumo *s, const gw__traci_in *in, uint8_t cmd) {
  return failf(s, GW_EPARSE, "TraCI %s: %ld bytes after the last answer", cmd_name(cmd),
               (long)(in->end - in->p));
}

/* The status that opens every command's answer. */
static int status(sumo *s, gw__traci_in *in, uint8_t cmd, const char *obj) {
  const uint8_t *end = gw__traci_cmd_len(in);
  uint8_t id = gw__traci_u8(in), result = gw__traci_u8(in);
  const char *desc;
  uint32_t dlen;
  gw__traci_str(in, &desc, &dlen);
  if (in->bad) return short_reply(s, cmd);
  if (id != cmd)
    return failf(s, GW_EPARSE, "TraCI %s: SUMO answered command 0x%02x instead", cmd_name(cmd), id);
  if (result != GW__TRACI_RTYPE_OK)
    return failf(s, GW_EIO, "TraCI %s%s%s%s: SUMO refused it (%s): %.*s", cmd_name(cmd),
                 obj ? " for '" : "", obj ? obj : "", obj ? "'" : "",
                 result == GW__TRACI_RTYPE_NOTIMPLEMENTED ? "not implemented" : "error",
                 (int)(dlen > 300 ? 300 : dlen), desc);
  in->p = end;
  return GW_OK;
}

/* ---- objects and their values ------------------------------------------- */

/* What each domain subscribes (lanes: lane_sub_vars). */
static const uint8_t sim_vars[] = {GW__TRACI_VAR_TIME,         GW__TRACI_VAR_DELTA_T,
                                   GW__TRACI_VAR_MIN_EXPECTED, GW__TRACI_VAR_DEPARTED,
                                   GW__TRACI_VAR_ARRIVED,      GW__TRACI_VAR_TELEPORT_STARTING,
                                   GW__TRACI_VAR_COLLIDING};
static const uint8_t tl_vars[] = {GW__TRACI_TL_STATE};
static const uint8_t loop_vars[] = {GW__TRACI_LAST_STEP_VEHICLE_DATA};

/* A lane's variables (LV_* mask) as TraCI variables; returns how many. */
static uint8_t lane_sub_vars(uint8_t mask, uint8_t vars[2]) {
  uint8_t n = 0;
  if (mask & LV_VEH) vars[n++] = GW__TRACI_LAST_STEP_VEHICLE_NUMBER;
  if (mask & LV_HALT) vars[n++] = GW__TRACI_LAST_STEP_HALTING_NUMBER;
  return n;
}

static uint32_t lane_var_count(uint8_t mask) {
  return (uint32_t)((mask & LV_VEH) != 0) + (uint32_t)((mask & LV_HALT) != 0);
}

static int objset_init(objset *o, uint32_t n) {
  o->n = n;
  o->sub = gw__calloc(n + 1, 1);
  o->order = gw__calloc(n + 1, sizeof *o->order);
  o->pos = gw__calloc(n + 1, sizeof *o->pos);
  return o->sub && o->order && o->pos ? GW_OK : GW_ENOMEM;
}

static void objset_free(objset *o) {
  gw__free(o->sub);
  gw__free(o->order);
  gw__free(o->pos);
}

static void objset_queue(objset *o, uint32_t k) {
  if (o->sub[k] != SUB_NONE) return;
  o->sub[k] = SUB_QUEUED;
  o->pos[k] = o->nactive + o->nqueued;
  o->order[o->nactive + o->nqueued++] = k;
}

static void objset_activate(objset *o) {
  for (uint32_t i = o->nactive; i < o->nactive + o->nqueued; i++) o->sub[o->order[i]] = SUB_ACTIVE;
  o->nactive += o->nqueued;
  o->nqueued = 0;
}

/* After a get of lane k's variables `mask`: a lane read for the first time
** is queued with them; one already subscribed without all of them is
** renewed with all it has by the next step's message. */
static void lane_subscribe(sumo *s, uint32_t k, uint8_t mask) {
  uint8_t had = s->lane_vars[k];
  s->lane_vars[k] = (uint8_t)(had | mask);
  if ((mask & LV_VEH) && !(had & LV_VEH)) s->lanes_counted++;
  if (s->lanes.sub[k] == SUB_NONE) {
    objset_queue(&s->lanes, k);
  } else if (s->lanes.sub[k] == SUB_ACTIVE && (mask & ~had & LV_BOTH) && !(had & LV_RENEW)) {
    s->lane_vars[k] |= LV_RENEW;
    s->renew[s->nrenew++] = k;
  }
}

static const char *object_id(const sumo *s, int dom, uint32_t k) {
  switch (dom) {
    case DOM_TL:
      return s->net->tls.a[k].id;
    case DOM_LANE:
      return s->net->lanes.a[s->lane_of_slot[k]].id;
    case DOM_LOOP:
      return s->net->detectors.a[k].id;
    default:
      return "";
  }
}

static int same_id(const char *want, const char *id, uint32_t len) {
  return !strncmp(want, id, len) && want[len] == 0;
}

/* Finds the object of a step's subscription result: the one expected next
** in subscription order, else by id; GW_NONE when it is not subscribed. */
static uint32_t find_object(sumo *s, int dom, const char *id, uint32_t len) {
  const gw_net *net = s->net;
  const objset *o = dom == DOM_LANE ? &s->lanes : dom == DOM_LOOP ? &s->loops : NULL;
  uint32_t c = s->cursor[dom], guess = GW_NONE, idx = GW_NONE;
  if (!o && c < s->ntls) guess = c;
  if (o && c < o->nactive) guess = o->order[c];
  if (guess != GW_NONE && same_id(object_id(s, dom, guess), id, len)) {
    idx = guess;
  } else {
    char key[256];
    uint32_t v;
    if (len >= sizeof key) return GW_NONE;
    memcpy(key, id, len);
    key[len] = 0;
    const gw_strmap *m = dom == DOM_TL     ? &net->tls_ids
                         : dom == DOM_LANE ? &net->lane_ids
                                           : &s->det_ids;
    if (!gw__strmap_get(m, key, &v)) return GW_NONE;
    idx = dom == DOM_LANE ? s->slot_of_lane[v] : v;
    if (idx == GW_NONE || (o && o->sub[idx] != SUB_ACTIVE)) return GW_NONE;
  }
  s->cursor[dom] = (o ? o->pos[idx] : idx) + 1;
  return idx;
}

static int bad_value(sumo *s, const char *what, int var, const char *id, uint32_t len) {
  return failf(s, GW_EPARSE,
               "TraCI %s: unexpected type or variable 0x%02x in the answer for '%.*s'", what, var,
               (int)(len > 100 ? 100 : len), id);
}

/* A loop's LAST_STEP_VEHICLE_DATA (the vehicles on it during the step
** s->win0..win1: id, length, entry time, leave time or -1 while still on,
** type) as count, occupancy and last occupied time.  One variable instead
** of three: SUMO's cost per loop is mostly per variable. */
static int read_vehicle_data(sumo *s, gw__traci_in *in, const char *what, uint32_t k) {
  int32_t items = gw__traci_i32(in);
  uint8_t type = gw__traci_u8(in);
  int32_t n = gw__traci_i32(in);
  if (in->bad || type != GW__TRACI_TYPE_INT || n < 0 || n > 100000 || items != 1 + 5 * n) return 0;
  double t0 = s->win0, t1 = s->win1, occ = 0, last = -1;
  int occupied = 0;
  uint32_t count = 0;
  for (int32_t i = 0; i < n; i++) {
    const char *str;
    uint32_t slen;
    double d[3];
    int ok = gw__traci_u8(in) == GW__TRACI_TYPE_STRING;
    gw__traci_str(in, &str, &slen);
    for (int j = 0; j < 3; j++) {
      ok &= gw__traci_u8(in) == GW__TRACI_TYPE_DOUBLE;
      d[j] = gw__traci_f64(in);
    }
    ok &= gw__traci_u8(in) == GW__TRACI_TYPE_STRING;
    gw__traci_str(in, &str, &slen);
    if (!ok || in->bad) return 0;
    if (!isfinite(d[0]) || !isfinite(d[1]) || !isfinite(d[2])) {
      failf(s, GW_EPARSE, "TraCI %s: vehicle %d of %d on loop '%s' has a length or time of %g",
            what, i + 1, n, s->net->detectors.a[k].id,
            !isfinite(d[0])   ? d[0]
            : !isfinite(d[1]) ? d[1]
                              : d[2]);
      return 0;
    }
    double entry = d[1], leave = d[2];
    if (entry >= t0 - 1e-6) count++;
    double a = entry > t0 ? entry : t0, b = leave < 0 || leave > t1 ? t1 : leave;
    if (b > a) occ += b - a;
    if (leave < 0)
      occupied = 1;
    else if (leave > last)
      last = leave;
  }
  loop_state *L = &s->loop[k];
  L->count = count;
  L->occupancy = t1 > t0 ? (occ >= t1 - t0 ? 1 : occ / (t1 - t0)) : 0;
  L->occupied = occupied;
  if (occupied)
    L->last_t = t1;
  else if (last > L->last_t)
    L->last_t = last;
  return 1;
}

/* One variable of an object, from the answer to command `what`; `in` is at
** the value's type byte. */
static int store_value(sumo *s, gw__traci_in *in, const char *what, int dom, uint32_t k,
                       uint8_t var) {
  uint8_t type = gw__traci_u8(in);
  if (dom == DOM_LOOP)
    return var == GW__TRACI_LAST_STEP_VEHICLE_DATA && type == GW__TRACI_TYPE_COMPOUND &&
           read_vehicle_data(s, in, what, k);
  if (dom == DOM_TL) {
    const char *st;
    uint32_t len;
    if (var != GW__TRACI_TL_STATE || type != GW__TRACI_TYPE_STRING) return 0;
    gw__traci_str(in, &st, &len);
    if (in->bad) return 0;
    if (len != s->net->tls.a[k].nlinks) {
      failf(s, GW_EINVAL,
            "TraCI %s: signal '%s' shows %u links in SUMO but %u in Greenwave's net (not the "
            "same network?)",
            what, s->net->tls.a[k].id, len, s->net->tls.a[k].nlinks);
      return 0;
    }
    memcpy(s->state + s->off[k], st, len);
    return 1;
  }
  if (dom == DOM_SIM && type == GW__TRACI_TYPE_DOUBLE) {
    double d = gw__traci_f64(in);
    if (!in->bad && !isfinite(d)) {
      failf(s, GW_EPARSE, "TraCI %s: the simulation's variable 0x%02x is %g", what, var, d);
      return 0;
    }
    if (var == GW__TRACI_VAR_TIME)
      s->t = d;
    else if (var == GW__TRACI_VAR_DELTA_T)
      s->dt = d;
    else
      return 0;
    return !in->bad;
  }
  if (type != GW__TRACI_TYPE_INT) return 0;
  int32_t i = gw__traci_i32(in);
  if (in->bad) return 0;
  /* Every integer Greenwave subscribes is a count. */
  if (i < 0) {
    failf(s, GW_EPARSE, "TraCI %s: a negative count (%d) as variable 0x%02x of '%s'", what, i, var,
          dom == DOM_LANE ? object_id(s, dom, k) : "the simulation");
    return 0;
  }
  if (dom == DOM_LANE) {
    if (var == GW__TRACI_LAST_STEP_VEHICLE_NUMBER)
      s->lane_veh[k] = i;
    else if (var == GW__TRACI_LAST_STEP_HALTING_NUMBER)
      s->lane_halt[k] = i;
    else
      return 0;
    return 1;
  }
  switch (var) {
    case GW__TRACI_VAR_MIN_EXPECTED:
      s->min_expected = i;
      return 1;
    case GW__TRACI_VAR_DEPARTED:
      s->departed = i;
      return 1;
    case GW__TRACI_VAR_ARRIVED:
      s->arrived = i;
      return 1;
    case GW__TRACI_VAR_TELEPORT_STARTING:
      s->teleports = i;
      return 1;
    case GW__TRACI_VAR_COLLIDING:
      s->collisions = i;
      return 1;
    default:
      return 0;
  }
}

/* One subscription result: the answer to a subscribe (expect_dom >= 0, for
** object `expect`), or one of a step's results (expect_dom < 0). */
static int sub_result(sumo *s, gw__traci_in *in, const char *what, int expect_dom,
                      uint32_t expect) {
  const uint8_t *end = gw__traci_cmd_len(in);
  uint8_t resp = gw__traci_u8(in);
  const char *id;
  uint32_t len;
  gw__traci_str(in, &id, &len);
  uint8_t nvars = gw__traci_u8(in);
  if (in->bad) return failf(s, GW_EPARSE, "TraCI %s: a subscription result is short", what);
  int dom;
  switch (resp) {
    case GW__TRACI_SUB_SIM + GW__TRACI_RESPONSE:
      dom = DOM_SIM;
      break;
    case GW__TRACI_SUB_TL + GW__TRACI_RESPONSE:
      dom = DOM_TL;
      break;
    case GW__TRACI_SUB_LANE + GW__TRACI_RESPONSE:
      dom = DOM_LANE;
      break;
    case GW__TRACI_SUB_LOOP + GW__TRACI_RESPONSE:
      dom = DOM_LOOP;
      break;
    default:
      dom = -1;
  }
  uint32_t k = GW_NONE;
  if (expect_dom >= 0) {
    if (dom == expect_dom && (dom == DOM_SIM || same_id(object_id(s, dom, expect), id, len)))
      k = expect;
  } else if (dom >= 0) {
    k = dom == DOM_SIM ? 0 : find_object(s, dom, id, len);
  }
  if (k == GW_NONE)
    return failf(s, GW_EPARSE, "TraCI %s: unexpected subscription result 0x%02x for '%.*s'", what,
                 resp, (int)(len > 100 ? 100 : len), id);
  uint32_t nwant = dom == DOM_SIM    ? (uint32_t)sizeof sim_vars
                   : dom == DOM_LANE ? lane_var_count(s->lane_vars[k])
                                     : 1;
  if (nvars != nwant)
    return failf(s, GW_EPARSE, "TraCI %s: %u variables for '%.*s' (subscribed %u)", what, nvars,
                 (int)(len > 100 ? 100 : len), id, nwant);
  uint8_t got = 0; /* a lane's variables, each once */
  for (uint32_t i = 0; i < nvars; i++) {
    uint8_t var = gw__traci_u8(in), st = gw__traci_u8(in);
    if (dom == DOM_LANE) {
      uint8_t bit = var == GW__TRACI_LAST_STEP_VEHICLE_NUMBER   ? LV_VEH
                    : var == GW__TRACI_LAST_STEP_HALTING_NUMBER ? LV_HALT
                                                                : 0;
      if (!(bit & s->lane_vars[k]) || (bit & got)) return bad_value(s, what, var, id, len);
      got |= bit;
    }
    if (st != GW__TRACI_RTYPE_OK) {
      const char *msg = "";
      uint32_t mlen = 0;
      if (gw__traci_u8(in) == GW__TRACI_TYPE_STRING) gw__traci_str(in, &msg, &mlen);
      return failf(s, GW_EIO, "TraCI %s: SUMO cannot report variable 0x%02x of '%.*s': %.*s", what,
                   var, (int)(len > 100 ? 100 : len), id, (int)(mlen > 200 ? 200 : mlen), msg);
    }
    if (!store_value(s, in, what, dom, k, var))
      return s->failed ? s->fail.code : bad_value(s, what, var, id, len);
  }
  if (in->p != end)
    return failf(s, GW_EPARSE, "TraCI %s: the result for '%.*s' does not end where its length says",
                 what, (int)(len > 100 ? 100 : len), id);
  if (expect_dom < 0) s->seen[dom]++;
  return GW_OK;
}

static void seen_reset(sumo *s) {
  memset(s->seen, 0, sizeof s->seen);
  memset(s->cursor, 0, sizeof s->cursor);
}

/* Every subscribed object must have reported. */
static int seen_check(sumo *s, const char *what) {
  static const char *const names[NDOM] = {"the simulation", "signals", "lanes", "loops"};
  uint32_t want[NDOM] = {1, s->ntls, s->lanes.nactive, s->loops.nactive};
  for (int d = 0; d < NDOM; d++)
    if (s->seen[d] != want[d])
      return failf(s, GW_EPARSE, "TraCI %s: SUMO reported %u of %u subscribed %s", what, s->seen[d],
                   want[d], names[d]);
  return GW_OK;
}

/* The answer to a get: status, then (cmd + 0x10, var, id, value); leaves
** `in` at the value's type byte. */
static int get_answer(sumo *s, gw__traci_in *in, uint8_t cmd, uint8_t var, const char *id,
                      const uint8_t **end) {
  int rc = status(s, in, cmd, id);
  if (rc) return rc;
  *end = gw__traci_cmd_len(in);
  uint8_t resp = gw__traci_u8(in), v = gw__traci_u8(in);
  const char *oid;
  uint32_t olen;
  gw__traci_str(in, &oid, &olen);
  if (in->bad) return short_reply(s, cmd);
  if (resp != cmd + GW__TRACI_RESPONSE || v != var || !same_id(id, oid, olen))
    return failf(s, GW_EPARSE, "TraCI %s for '%s': unexpected answer", cmd_name(cmd), id);
  return GW_OK;
}

static void put_get(sumo *s, uint8_t cmd, uint8_t var, const char *id) {
  size_t c = gw__traci_cmd_begin(&s->out, cmd);
  gw__traci_put_u8(&s->out, var);
  gw__traci_put_str(&s->out, id);
  gw__traci_cmd_end(&s->out, c);
}

/* What a get of a lane (its variables `lane_mask`) or of a loop asks for;
** returns how many. */
static uint8_t fetch_vars(int dom, uint8_t lane_mask, uint8_t vars[2]) {
  if (dom == DOM_LANE) return lane_sub_vars(lane_mask, vars);
  vars[0] = GW__TRACI_TIME_SINCE_DETECTION;
  vars[1] = GW__TRACI_LAST_STEP_VEHICLE_DATA;
  return 2;
}

/* The reply to fetch's gets: the values, and on success the object queued
** for the next step's subscriptions. */
static int read_fetch(sumo *s, gw__traci_in *in, int dom, uint32_t k, uint8_t lane_mask) {
  const char *id = object_id(s, dom, k);
  uint8_t cmd = dom == DOM_LANE ? GW__TRACI_GET_LANE : GW__TRACI_GET_LOOP;
  uint8_t vars[2], nv = fetch_vars(dom, lane_mask, vars);
  int rc = GW_OK;
  s->win0 = s->t - s->dt;
  s->win1 = s->t;
  for (uint8_t i = 0; !rc && i < nv; i++) {
    const uint8_t *end;
    if ((rc = get_answer(s, in, cmd, vars[i], id, &end))) break;
    if (vars[i] == GW__TRACI_TIME_SINCE_DETECTION) {
      double since = gw__traci_u8(in) == GW__TRACI_TYPE_DOUBLE ? gw__traci_f64(in) : -1;
      s->loop[k].last_t = since >= 0 ? s->t - since : -1;
      if (since < 0) in->bad = 1;
    } else if (!store_value(s, in, cmd_name(cmd), dom, k, vars[i])) {
      in->bad = 1;
    }
    if (in->bad || in->p != end)
      rc =
          s->failed ? s->fail.code : bad_value(s, cmd_name(cmd), vars[i], id, (uint32_t)strlen(id));
  }
  if (!rc && in->p != in->end) rc = trailing(s, in, cmd);
  if (!rc && dom == DOM_LANE) lane_subscribe(s, k, lane_mask);
  if (!rc && dom == DOM_LOOP) objset_queue(&s->loops, k);
  return rc;
}

/* The first read of a lane or loop, or of a lane's vehicle count when only
** its halted count is subscribed: its values now (a lane's variables
** `lane_mask`), by a get (one round trip); the next step subscribes it. */
static int fetch(sumo *s, int dom, uint32_t k, uint8_t lane_mask) {
  const char *id = object_id(s, dom, k);
  uint8_t cmd = dom == DOM_LANE ? GW__TRACI_GET_LANE : GW__TRACI_GET_LOOP;
  uint8_t vars[2], nv = fetch_vars(dom, lane_mask, vars);
  gw__traci_out_reset(&s->out);
  for (uint8_t i = 0; i < nv; i++) put_get(s, cmd, vars[i], id);
  gw__traci_in in;
  int rc = exchange(s, cmd_name(cmd), &in);
  if (!rc) rc = read_fetch(s, &in, dom, k, lane_mask);
  return rc;
}

static void put_queued_sets(sumo *s) {
  for (uint32_t i = 0; i < s->ntls; i++) {
    if (!s->is_queued[i]) continue;
    size_t c = gw__traci_cmd_begin(&s->out, GW__TRACI_SET_TL);
    gw__traci_put_u8(&s->out, GW__TRACI_TL_STATE);
    gw__traci_put_str(&s->out, s->net->tls.a[i].id);
    gw__traci_put_u8(&s->out, GW__TRACI_TYPE_STRING);
    gw__traci_put_str(&s->out, s->queued + s->off[i]);
    gw__traci_cmd_end(&s->out, c);
  }
}

static int read_set_statuses(sumo *s, gw__traci_in *in) {
  for (uint32_t i = 0; i < s->ntls; i++)
    if (s->is_queued[i]) {
      int rc = status(s, in, GW__TRACI_SET_TL, s->net->tls.a[i].id);
      if (rc) return rc;
    }
  return GW_OK;
}

static void clear_queue(sumo *s) {
  memset(s->is_queued, 0, s->ntls);
  s->nqueued = 0;
}

/* Sends the queued states now and reads those signals back, in one round
** trip (used when get_state is asked before the next step). */
static int flush_queued(sumo *s) {
  gw__traci_out_reset(&s->out);
  put_queued_sets(s);
  for (uint32_t i = 0; i < s->ntls; i++)
    if (s->is_queued[i]) put_get(s, GW__TRACI_GET_TL, GW__TRACI_TL_STATE, s->net->tls.a[i].id);
  gw__traci_in in;
  int rc = exchange(s, cmd_name(GW__TRACI_SET_TL), &in);
  if (!rc) rc = read_set_statuses(s, &in);
  for (uint32_t i = 0; !rc && i < s->ntls; i++) {
    if (!s->is_queued[i]) continue;
    const uint8_t *end;
    if ((rc = get_answer(s, &in, GW__TRACI_GET_TL, GW__TRACI_TL_STATE, s->net->tls.a[i].id, &end)))
      break;
    if (!store_value(s, &in, cmd_name(GW__TRACI_GET_TL), DOM_TL, i, GW__TRACI_TL_STATE) || in.bad ||
        in.p != end)
      rc = s->failed ? s->fail.code : short_reply(s, GW__TRACI_GET_TL);
  }
  clear_queue(s);
  return rc;
}

/* ---- field operations --------------------------------------------------- */

static double f_time(void *impl) { return ((sumo *)impl)->t; }

static int f_lane_counts(void *impl, uint32_t lane, double *vehicles, double *halting) {
  sumo *s = impl;
  uint32_t k = lane < s->net->lanes.n ? s->slot_of_lane[lane] : GW_NONE;
  if (k == GW_NONE) return GW_ENOTFOUND;
  uint8_t want = vehicles ? LV_BOTH : LV_HALT;
  if ((s->lane_vars[k] & want) != want) {
    int rc = s->failed ? s->fail.code : fetch(s, DOM_LANE, k, want);
    if (rc) return rc;
  }
  if (vehicles) *vehicles = s->lane_veh[k];
  *halting = s->lane_halt[k];
  return GW_OK;
}

static uint32_t f_detector_count(void *impl) { return ((sumo *)impl)->loops.n; }

static uint32_t f_detector_lane(void *impl, uint32_t det) {
  sumo *s = impl;
  return det < s->loops.n ? s->net->detectors.a[det].lane : GW_NONE;
}

static int f_detector(void *impl, uint32_t det, gw_detector_reading *out) {
  sumo *s = impl;
  if (det >= s->loops.n) return GW_ERANGE;
  if (s->loops.sub[det] == SUB_NONE) {
    int rc = s->failed ? s->fail.code : fetch(s, DOM_LOOP, det, 0);
    if (rc) return rc;
  }
  const loop_state *L = &s->loop[det];
  out->count = L->count;
  out->occupancy = L->occupancy;
  out->occupied = L->occupied;
  out->last_occupied_t = L->last_t;
  return GW_OK;
}

static int f_take(void *impl, uint32_t tls) {
  sumo *s = impl;
  if (tls >= s->ntls) return GW_ERANGE;
  s->controlled[tls] = 1;
  return GW_OK;
}

static int f_set(void *impl, uint32_t tls, const char *state) {
  sumo *s = impl;
  if (tls >= s->ntls) return GW_ERANGE;
  if (!s->controlled[tls]) return GW_ESTATE;
  size_t n = strlen(state);
  if (n != s->net->tls.a[tls].nlinks || strspn(state, "GgyYrRuoOs") != n) return GW_EINVAL;
  memcpy(s->queued + s->off[tls], state, n + 1);
  if (!s->is_queued[tls]) s->nqueued++;
  s->is_queued[tls] = 1;
  return GW_OK;
}

static const char *f_get(void *impl, uint32_t tls) {
  sumo *s = impl;
  if (tls >= s->ntls) return NULL;
  /* Only a signal with a state still queued needs a round trip; the
  ** control loop reads each signal before it sets it. */
  if (s->is_queued[tls] && !s->failed) flush_queued(s);
  return s->state + s->off[tls];
}

static const gw_field_ops sumo_ops = {"sumo",          f_time,     f_lane_counts, f_detector_count,
                                      f_detector_lane, f_detector, NULL,          f_take,
                                      f_set,           f_get,      NULL,          NULL};

/* ---- starting, connecting, subscribing ---------------------------------- */

void gw_sumo_options_defaults(gw_sumo_options *o) {
  memset(o, 0, sizeof *o);
  o->launch = 1;
  o->connect_timeout_s = 10;
  o->reply_timeout_s = 60;
}

static int free_port(int *port, gw_error *err) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return gw__error(err, GW_EIO, "cannot open a socket: %s", strerror(errno));
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  int rc =
      bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &alen);
  int e = errno;
  close(fd);
  if (rc) return gw__error(err, GW_EIO, "cannot find a free port on 127.0.0.1: %s", strerror(e));
  *port = ntohs(a.sin_port);
  return GW_OK;
}

static int launch(sumo *s, const char *cfg, const gw_sumo_options *o, gw_error *err) {
  int logfd;
  if (o->log_path) {
    snprintf(s->log_path, sizeof s->log_path, "%s", o->log_path);
    logfd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(s->log_path, sizeof s->log_path, "%s/greenwave-sumo-XXXXXX.log",
             tmp && *tmp ? tmp : "/tmp");
    logfd = mkstemps(s->log_path, 4);
    s->log_temp = logfd >= 0;
    if (logfd >= 0) fcntl(logfd, F_SETFD, FD_CLOEXEC);
  }
  if (logfd < 0)
    return gw__error(err, GW_EIO, "%s: cannot write SUMO's log: %s", s->log_path, strerror(errno));
  char port[16], *adds = NULL;
  snprintf(port, sizeof port, "%d", s->port);
  size_t alen = 0;
  for (size_t i = 0; o->additional && o->additional[i]; i++) alen += strlen(o->additional[i]) + 1;
  if (alen) {
    adds = gw__malloc(alen);
    if (!adds) {
      close(logfd);
      return gw__error(err, GW_ENOMEM, "out of memory");
    }
    adds[0] = 0;
    for (size_t i = 0; o->additional[i]; i++) {
      if (i) strcat(adds, ",");
      strcat(adds, o->additional[i]);
    }
  }
  const char *bin = o->binary ? o->binary : "sumo";
  const char *argv[16];
  int n = 0;
  argv[n++] = bin;
  argv[n++] = "-c";
  argv[n++] = cfg;
  argv[n++] = "--remote-port";
  argv[n++] = port;
  argv[n++] = "--no-step-log";
  argv[n++] = "--duration-log.statistics";
  if (adds) {
    argv[n++] = "--additional-files";
    argv[n++] = adds;
  }
  if (o->tripinfo_path) {
    argv[n++] = "--tripinfo-output";
    argv[n++] = o->tripinfo_path;
  }
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  int rc = posix_spawn_file_actions_init(&fa);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, logfd, 1);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, logfd, 2);
  if (!rc) rc = posix_spawnp(&s->pid, bin, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(logfd);
  gw__free(adds);
  if (rc) {
    s->pid = -1;
    return gw__error(err, GW_EIO, "cannot start '%s': %s", bin, strerror(rc));
  }
  return GW_OK;
}

static int connect_sumo(sumo *s, gw_error *err) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)s->port);
  double deadline = now_s() + s->connect_timeout_s;
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return gw__error(err, GW_EIO, "cannot open a socket: %s", strerror(errno));
    if (!connect(fd, (struct sockaddr *)&a, sizeof a)) {
      s->fd = fd;
      break;
    }
    int e = errno;
    close(fd);
    if (s->pid > 0 && reap_within(s, 0)) {
      char note[1200];
      child_note(s, note, sizeof note);
      return gw__error(err, GW_EIO, "SUMO stopped before accepting a connection on port %d%s",
                       s->port, note);
    }
    if (now_s() >= deadline)
      return gw__error(err, GW_EIO, "cannot connect to SUMO at 127.0.0.1:%d within %g s: %s",
                       s->port, s->connect_timeout_s, strerror(e));
    sleep_s(0.02);
  }
  int one = 1;
  struct timeval tv = {(time_t)s->reply_timeout_s,
                       (long)((s->reply_timeout_s - (double)(time_t)s->reply_timeout_s) * 1e6)};
  if (setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
      setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv))
    return gw__error(err, GW_EIO, "cannot set up the TraCI socket: %s", strerror(errno));
  return GW_OK;
}

/* The answer to CMD_GETVERSION: status, then the API version and SUMO's
** name for itself. */
static int read_version(sumo *s, gw__traci_in *in) {
  int rc = status(s, in, GW__TRACI_GETVERSION, NULL);
  if (rc) return rc;
  const uint8_t *end = gw__traci_cmd_len(in);
  uint8_t id = gw__traci_u8(in);
  int32_t api = gw__traci_i32(in);
  const char *ver;
  uint32_t vlen;
  gw__traci_str(in, &ver, &vlen);
  if (in->bad || in->p != end || id != GW__TRACI_GETVERSION)
    return short_reply(s, GW__TRACI_GETVERSION);
  if (in->p != in->end) return trailing(s, in, GW__TRACI_GETVERSION);
  if (api < GW__TRACI_API)
    return failf(s, GW_EINVAL,
                 "TraCI %s: '%.*s' speaks TraCI API %d; Greenwave needs %d (SUMO 1.15) or later",
                 cmd_name(GW__TRACI_GETVERSION), (int)vlen, ver, api, GW__TRACI_API);
  return GW_OK;
}

static int handshake(sumo *s) {
  gw__traci_out_reset(&s->out);
  gw__traci_cmd_end(&s->out, gw__traci_cmd_begin(&s->out, GW__TRACI_GETVERSION));
  gw__traci_in in;
  int rc = exchange(s, cmd_name(GW__TRACI_GETVERSION), &in);
  if (!rc) rc = read_version(s, &in);
  return rc;
}

static void put_subscribe(sumo *s, uint8_t cmd, const char *id, const uint8_t *vars, uint8_t n) {
  size_t c = gw__traci_cmd_begin(&s->out, cmd);
  gw__traci_put_f64(&s->out, GW__TRACI_INVALID_DOUBLE);
  gw__traci_put_f64(&s->out, GW__TRACI_INVALID_DOUBLE);
  gw__traci_put_str(&s->out, id);
  gw__traci_put_u8(&s->out, n);
  for (uint8_t i = 0; i < n; i++) gw__traci_put_u8(&s->out, vars[i]);
  gw__traci_cmd_end(&s->out, c);
}

/* The simulation's clock and counts and every signal's state, in one
** message; each answer carries the current values.  Lanes and loops follow
** when first read (fetch). */
static int subscribe(sumo *s) {
  const gw_net *net = s->net;
  gw__traci_out_reset(&s->out);
  put_subscribe(s, GW__TRACI_SUB_SIM, "", sim_vars, sizeof sim_vars);
  for (uint32_t i = 0; i < s->ntls; i++)
    put_subscribe(s, GW__TRACI_SUB_TL, net->tls.a[i].id, tl_vars, sizeof tl_vars);
  gw__traci_in in;
  int rc = exchange(s, "subscriptions", &in);
  if (!rc && !(rc = status(s, &in, GW__TRACI_SUB_SIM, NULL)))
    rc = sub_result(s, &in, cmd_name(GW__TRACI_SUB_SIM), DOM_SIM, 0);
  for (uint32_t i = 0; !rc && i < s->ntls; i++)
    if (!(rc = status(s, &in, GW__TRACI_SUB_TL, net->tls.a[i].id)))
      rc = sub_result(s, &in, cmd_name(GW__TRACI_SUB_TL), DOM_TL, i);
  if (!rc && !(s->dt > 0))
    rc = failf(s, GW_EPARSE, "TraCI %s: SUMO reports a step length of %g s",
               cmd_name(GW__TRACI_SUB_SIM), s->dt);
  return rc;
}

static void destroy(sumo *s) {
  if (!s) return;
  if (s->fd >= 0) close(s->fd);
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    int wst;
    while (waitpid(s->pid, &wst, 0) < 0 && errno == EINTR) {
    }
    note_exit(s, wst);
  }
  if (s->log_temp) unlink(s->log_path);
  gw__traci_out_free(&s->out);
  gw__strmap_free(&s->det_ids);
  objset_free(&s->lanes);
  objset_free(&s->loops);
  gw__free(s->loop);
  gw__free(s->in);
  gw__free(s->lane_of_slot);
  gw__free(s->slot_of_lane);
  gw__free(s->lane_veh);
  gw__free(s->lane_halt);
  gw__free(s->lane_vars);
  gw__free(s->renew);
  gw__free(s->off);
  gw__free(s->state);
  gw__free(s->queued);
  gw__free(s->is_queued);
  gw__free(s->controlled);
  gw__free(s);
}

static int alloc_tables(sumo *s, gw_error *err) {
  const gw_net *net = s->net;
  uint32_t nl = (uint32_t)net->lanes.n, nslots = 0, ndet = (uint32_t)net->detectors.n;
  s->ntls = (uint32_t)net->tls.n;
  s->slot_of_lane = gw__malloc((nl + 1) * sizeof *s->slot_of_lane);
  s->lane_of_slot = gw__malloc((nl + 1) * sizeof *s->lane_of_slot);
  if (!s->slot_of_lane || !s->lane_of_slot) return gw__error(err, GW_ENOMEM, "out of memory");
  for (uint32_t l = 0; l < nl; l++) {
    s->slot_of_lane[l] = GW_NONE;
    if (!net->lanes.a[l].internal) {
      s->slot_of_lane[l] = nslots;
      s->lane_of_slot[nslots++] = l;
    }
  }
  size_t chars = 0;
  s->off = gw__calloc(s->ntls + 1, sizeof *s->off);
  for (uint32_t i = 0; s->off && i < s->ntls; i++) {
    s->off[i] = (uint32_t)chars;
    chars += net->tls.a[i].nlinks + 1;
  }
  s->lane_veh = gw__calloc(nslots + 1, sizeof *s->lane_veh);
  s->lane_halt = gw__calloc(nslots + 1, sizeof *s->lane_halt);
  s->lane_vars = gw__calloc(nslots + 1, sizeof *s->lane_vars);
  s->renew = gw__calloc(nslots + 1, sizeof *s->renew);
  s->loop = gw__calloc(ndet + 1, sizeof *s->loop);
  s->state = gw__calloc(chars + 1, 1);
  s->queued = gw__calloc(chars + 1, 1);
  s->is_queued = gw__calloc(s->ntls + 1, 1);
  s->controlled = gw__calloc(s->ntls + 1, 1);
  if (!s->off || !s->lane_veh || !s->lane_halt || !s->lane_vars || !s->renew || !s->loop ||
      !s->state || !s->queued || !s->is_queued || !s->controlled ||
      objset_init(&s->lanes, nslots) || objset_init(&s->loops, ndet))
    return gw__error(err, GW_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < ndet; i++) {
    s->loop[i].last_t = -1;
    if (gw__strmap_put(&s->det_ids, net->detectors.a[i].id, i))
      return gw__error(err, GW_ENOMEM, "out of memory");
  }
  return GW_OK;
}

int gw_field_sumo_open(const gw_net *net, const char *sumocfg, const gw_sumo_options *opt,
                       gw_field *out, gw_error *err) {
  gw_sumo_options o;
  if (opt)
    o = *opt;
  else
    gw_sumo_options_defaults(&o);
  if (o.launch && !sumocfg)
    return gw__error(err, GW_EINVAL, "no SUMO configuration to start SUMO with");
  if (!o.launch && (o.port <= 0 || o.port > 65535))
    return gw__error(err, GW_EINVAL,
                     "connecting to a running SUMO needs its port (1 to 65535), not %d", o.port);
  if (!(o.connect_timeout_s > 0) || !(o.reply_timeout_s > 0))
    return gw__error(err, GW_ERANGE, "SUMO timeouts must be positive (connect %g s, reply %g s)",
                     o.connect_timeout_s, o.reply_timeout_s);
  sumo *s = gw__calloc(1, sizeof *s);
  if (!s) return gw__error(err, GW_ENOMEM, "out of memory");
  s->net = net;
  s->fd = -1;
  s->pid = -1;
  s->exit_status = -1;
  s->port = o.port;
  s->connect_timeout_s = o.connect_timeout_s;
  s->reply_timeout_s = o.reply_timeout_s;
  s->st.sumo_duration_s = s->st.sumo_traci_s = -1;
  int rc = alloc_tables(s, err);
  if (!rc && !s->port) rc = free_port(&s->port, err);
  if (!rc && o.launch) rc = launch(s, sumocfg, &o, err);
  if (!rc) rc = connect_sumo(s, err);
  if (!rc && (rc = handshake(s))) copy_fail(s, err);
  if (!rc && (rc = subscribe(s))) copy_fail(s, err);
  if (rc) {
    destroy(s);
    return rc;
  }
  out->ops = &sumo_ops;
  out->impl = s;
  return GW_OK;
}

static void put_lane_subscribe(sumo *s, uint32_t k) {
  uint8_t vars[2], n = lane_sub_vars(s->lane_vars[k], vars);
  put_subscribe(s, GW__TRACI_SUB_LANE, object_id(s, DOM_LANE, k), vars, n);
}

/* The lanes and loops queued since the last step, then (lanes) the renewed
** ones; the answers come back in the same order. */
static void put_queued_subscriptions(sumo *s, int dom) {
  const objset *o = dom == DOM_LANE ? &s->lanes : &s->loops;
  for (uint32_t i = o->nactive; i < o->nactive + o->nqueued; i++) {
    if (dom == DOM_LANE)
      put_lane_subscribe(s, o->order[i]);
    else
      put_subscribe(s, GW__TRACI_SUB_LOOP, object_id(s, dom, o->order[i]), loop_vars,
                    sizeof loop_vars);
  }
  for (uint32_t i = 0; dom == DOM_LANE && i < s->nrenew; i++) put_lane_subscribe(s, s->renew[i]);
}

static int read_queued_subscriptions(sumo *s, gw__traci_in *in, int dom) {
  const objset *o = dom == DOM_LANE ? &s->lanes : &s->loops;
  uint8_t cmd = dom == DOM_LANE ? GW__TRACI_SUB_LANE : GW__TRACI_SUB_LOOP;
  uint32_t nrenew = dom == DOM_LANE ? s->nrenew : 0;
  for (uint32_t i = o->nactive; i < o->nactive + o->nqueued + nrenew; i++) {
    uint32_t k = i < o->nactive + o->nqueued ? o->order[i] : s->renew[i - o->nactive - o->nqueued];
    int rc = status(s, in, cmd, object_id(s, dom, k));
    if (!rc) rc = sub_result(s, in, cmd_name(cmd), dom, k);
    if (rc) {
      if (dom == DOM_LOOP && !strstr(s->fail.msg, "detector file"))
        snprintf(s->fail.msg + strlen(s->fail.msg), sizeof s->fail.msg - strlen(s->fail.msg),
                 " (give SUMO the detector file the net was loaded with)");
      return rc;
    }
  }
  return GW_OK;
}

/* The reply to a step's message (gw_field_sumo_step): the statuses of the
** lamp states and of the new subscriptions with their first values, the
** step's status, then every subscribed object's results.  On success the
** queued states are sent and the queued subscriptions active. */
static int read_step(sumo *s, gw__traci_in *in) {
  const char *what = cmd_name(GW__TRACI_SIMSTEP);
  double t0 = s->t;
  s->win0 = t0 - s->dt;
  s->win1 = t0;
  int rc = read_set_statuses(s, in);
  if (!rc) rc = read_queued_subscriptions(s, in, DOM_LANE);
  if (!rc) rc = read_queued_subscriptions(s, in, DOM_LOOP);
  if (!rc) rc = status(s, in, GW__TRACI_SIMSTEP, NULL);
  if (rc) return rc;
  clear_queue(s);
  for (uint32_t i = 0; i < s->nrenew; i++) s->lane_vars[s->renew[i]] &= LV_BOTH;
  s->nrenew = 0;
  objset_activate(&s->lanes);
  objset_activate(&s->loops);
  uint32_t want = 1 + s->ntls + s->lanes.nactive + s->loops.nactive;
  int32_t n = gw__traci_i32(in);
  if (in->bad || n < 0 || (uint32_t)n > want)
    return failf(s, GW_EPARSE, "TraCI %s: SUMO announces %d subscription results (expected %u)",
                 what, n, want);
  s->win0 = t0;
  s->win1 = t0 + s->dt;
  seen_reset(s);
  for (int32_t i = 0; !rc && i < n; i++) rc = sub_result(s, in, what, -1, 0);
  if (!rc) rc = seen_check(s, what);
  if (!rc && in->p != in->end)
    rc = failf(s, GW_EPARSE, "TraCI %s: %ld bytes after the last result", what,
               (long)(in->end - in->p));
  if (rc) return rc;
  gw_sumo_stats *st = &s->st;
  st->steps++;
  st->departed += (uint64_t)(s->departed > 0 ? s->departed : 0);
  st->arrived += (uint64_t)(s->arrived > 0 ? s->arrived : 0);
  st->teleports += (uint64_t)(s->teleports > 0 ? s->teleports : 0);
  st->collisions += (uint64_t)(s->collisions > 0 ? s->collisions : 0);
  uint64_t running = st->departed > st->arrived ? st->departed - st->arrived : 0;
  st->veh_steps += running;
  if (running > st->peak_running) st->peak_running = running;
  return GW_OK;
}

/* One message: the queued lamp states, subscriptions to the lanes and
** loops read for the first time since the last step, and the step. */
int gw_field_sumo_step(gw_field *f, gw_error *err) {
  sumo *s = f->impl;
  if (!s) return gw__error(err, GW_ESTATE, "the SUMO field is closed");
  if (s->failed) return copy_fail(s, err);
  gw__traci_out_reset(&s->out);
  put_queued_sets(s);
  put_queued_subscriptions(s, DOM_LANE);
  put_queued_subscriptions(s, DOM_LOOP);
  size_t c = gw__traci_cmd_begin(&s->out, GW__TRACI_SIMSTEP);
  gw__traci_put_f64(&s->out, 0);
  gw__traci_cmd_end(&s->out, c);
  gw__traci_in in;
  int rc = exchange(s, cmd_name(GW__TRACI_SIMSTEP), &in);
  if (!rc) rc = read_step(s, &in);
  return rc ? copy_fail(s, err) : GW_OK;
}

int gw_field_sumo_done(const gw_field *f) {
  const sumo *s = f->impl;
  return s->min_expected <= 0;
}

void gw_field_sumo_stats(const gw_field *f, gw_sumo_stats *out) {
  const sumo *s = f->impl;
  *out = s->st;
  out->exit_status = s->exit_status;
  out->lanes_read = s->lanes.nactive + s->lanes.nqueued;
  out->lanes_counted = s->lanes_counted;
  out->loops_read = s->loops.nactive + s->loops.nqueued;
}

long gw_field_sumo_pid(const gw_field *f) {
  const sumo *s = f->impl;
  return s->pid > 0 ? (long)s->pid : -1;
}

/* "12.34s", or "1:02:03" with human-readable times; seconds or -1. */
static double parse_duration(const char *v) {
  char *end;
  double x = strtod(v, &end);
  if (end == v) return -1;
  if (*end == ':') {
    double m = strtod(end + 1, &end), sec = 0;
    if (*end == ':')
      sec = strtod(end + 1, &end);
    else {
      sec = m;
      m = x;
      x = 0;
    }
    return x * 3600 + m * 60 + sec;
  }
  if (!strncmp(end, "ms", 2)) return x / 1000;
  return x;
}

/* SUMO's duration log ("Performance:" then " Duration: 1.23s" and
** " TraCI-Duration: 0.45s") from its stdout. */
static void read_duration_log(sumo *s) {
  FILE *f = s->log_path[0] ? fopen(s->log_path, "r") : NULL;
  if (!f) return;
  char line[256];
  int in_perf = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Performance:", 12))
      in_perf = 1;
    else if (in_perf && !strncmp(line, " Duration: ", 11))
      s->st.sumo_duration_s = parse_duration(line + 11);
    else if (in_perf && !strncmp(line, " TraCI-Duration: ", 17))
      s->st.sumo_traci_s = parse_duration(line + 17);
    else if (in_perf && line[0] != ' ')
      in_perf = 0;
  }
  fclose(f);
}

int gw_field_sumo_close(gw_field *f, gw_sumo_stats *stats, gw_error *err) {
  if (!f || !f->impl) return GW_OK;
  sumo *s = f->impl;
  int rc = s->failed ? s->fail.code : GW_OK;
  if (!rc) {
    gw__traci_out_reset(&s->out);
    gw__traci_cmd_end(&s->out, gw__traci_cmd_begin(&s->out, GW__TRACI_CLOSE));
    gw__traci_in in;
    rc = exchange(s, cmd_name(GW__TRACI_CLOSE), &in);
    if (!rc) rc = status(s, &in, GW__TRACI_CLOSE, NULL);
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  /* After a failure SUMO sees the connection drop and quits on its own. */
  double wait_s = rc ? 5 : s->reply_timeout_s;
  if (s->pid > 0 && !reap_within(s, wait_s)) {
    failf(s, GW_EIO, "SUMO (pid %ld) did not exit within %g s of CMD_CLOSE; killed", (long)s->pid,
          wait_s);
    kill(s->pid, SIGTERM);
    if (!reap_within(s, 2)) kill(s->pid, SIGKILL);
    reap_within(s, 5);
    rc = GW_EIO;
  }
  if (!rc && s->exit_status > 0) {
    char logline[460];
    log_error_line(s, logline, sizeof logline);
    rc = failf(s, GW_EIO, "SUMO exited with status %d after CMD_CLOSE%s", s->exit_status, logline);
  }
  read_duration_log(s);
  if (stats) gw_field_sumo_stats(f, stats);
  if (rc) copy_fail(s, err);
  destroy(s);
  f->impl = NULL;
  f->ops = NULL;
  return rc;
}

/* ---- a reply parsed without SUMO (tests/fuzz/fuzz_traci.c) --------------- */

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* The first object of `o` not subscribed (nor queued), else the first. */
static uint32_t first_unsubscribed(const objset *o) {
  for (uint32_t k = 0; k < o->n; k++)
    if (o->sub[k] == SUB_NONE) return k;
  return 0;
}

/* The field state the setup bytes ask for (traci.h), built through the
** same bookkeeping as the control loop's reads and sets. */
static void fuzz_state(sumo *s, const uint8_t b[GW__TRACI_FUZZ_SETUP]) {
  uint32_t nl = s->lanes.n, na = min_u32(b[1], nl), nq = min_u32(b[2], nl - na);
  for (uint32_t k = 0; k < na + nq; k++) {
    if (k == na) objset_activate(&s->lanes);
    lane_subscribe(s, k, (b[3] >> (k % 8)) & 1 ? LV_HALT : LV_BOTH);
  }
  if (nq == 0) objset_activate(&s->lanes);
  for (uint32_t k = 0, r = 0; k < na && r < b[4]; k++)
    if (s->lane_vars[k] == LV_HALT) {
      lane_subscribe(s, k, LV_BOTH);
      r++;
    }
  uint32_t nd = s->loops.n, la = min_u32(b[5], nd), lq = min_u32(b[6], nd - la);
  for (uint32_t k = 0; k < la; k++) objset_queue(&s->loops, k);
  objset_activate(&s->loops);
  for (uint32_t k = la; k < la + lq; k++) objset_queue(&s->loops, k);
  unsigned sets = (unsigned)b[7] << 8 | b[8];
  for (uint32_t i = 0; i < s->ntls; i++) {
    if (!(sets >> (i % 16) & 1)) continue;
    uint32_t n = s->net->tls.a[i].nlinks;
    memset(s->queued + s->off[i], 'r', n);
    s->queued[s->off[i] + n] = 0;
    s->controlled[i] = 1;
    s->is_queued[i] = 1;
    s->nqueued++;
  }
  s->dt = 1;
  s->t = (double)((unsigned)b[9] << 8 | b[10]);
}

int gw__traci_fuzz_reply(const gw_net *net, const uint8_t *data, size_t len,
                         void (*inspect)(const gw__traci_fuzz_view *v, void *ctx), void *ctx) {
  uint8_t b[GW__TRACI_FUZZ_SETUP] = {0};
  size_t nb = len < sizeof b ? len : sizeof b;
  if (nb) memcpy(b, data, nb);
  sumo *s = gw__calloc(1, sizeof *s);
  if (!s) return GW_ENOMEM;
  s->net = net;
  s->fd = -1;
  s->pid = -1;
  s->exit_status = -1;
  s->connect_timeout_s = s->reply_timeout_s = 1;
  s->st.sumo_duration_s = s->st.sumo_traci_s = -1;
  gw_error err = {0, {0}};
  int rc = alloc_tables(s, &err);
  uint32_t *lanes = NULL, *loops = NULL;
  uint8_t *full = NULL;
  if (rc) goto out;
  fuzz_state(s, b);
  gw__traci_in in = {data + nb, data + len, 0};
  int mode = b[0] & 3;
  if (mode == GW__TRACI_FUZZ_GET_LANE && s->lanes.n == 0) mode = GW__TRACI_FUZZ_STEP;
  if (mode == GW__TRACI_FUZZ_GET_LOOP && s->loops.n == 0) mode = GW__TRACI_FUZZ_STEP;
  if (mode == GW__TRACI_FUZZ_VERSION)
    rc = read_version(s, &in);
  else if (mode == GW__TRACI_FUZZ_GET_LANE)
    rc = read_fetch(s, &in, DOM_LANE, first_unsubscribed(&s->lanes), b[0] & 4 ? LV_HALT : LV_BOTH);
  else if (mode == GW__TRACI_FUZZ_GET_LOOP)
    rc = read_fetch(s, &in, DOM_LOOP, first_unsubscribed(&s->loops), 0);
  else
    rc = read_step(s, &in);
  if (rc) copy_fail(s, &err);
  if (!inspect) goto out;
  lanes = gw__calloc(s->lanes.n + 1, sizeof *lanes);
  full = gw__calloc(s->lanes.n + 1, 1);
  loops = gw__calloc(s->loops.n + 1, sizeof *loops);
  if (!lanes || !full || !loops) {
    rc = GW_ENOMEM;
    goto out;
  }
  gw__traci_fuzz_view v = {NULL, mode, rc, &err, lanes, full, 0, loops, 0};
  for (uint32_t k = 0; k < s->lanes.n; k++)
    if (s->lane_vars[k] & LV_HALT) {
      lanes[v.nlanes] = s->lane_of_slot[k];
      full[v.nlanes++] = (s->lane_vars[k] & LV_VEH) != 0;
    }
  for (uint32_t k = 0; k < s->loops.n; k++)
    if (s->loops.sub[k] != SUB_NONE) loops[v.nloops++] = k;
  gw_field f = {&sumo_ops, s};
  v.field = &f;
  inspect(&v, ctx);
out:
  gw__free(lanes);
  gw__free(full);
  gw__free(loops);
  destroy(s);
  return rc;
}

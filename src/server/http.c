/*
** http.c -- the daemon's HTTP server and WebSocket hub (http.h).
**
** libmicrohttpd owns the listening socket and a small pool of threads, each
** with its own epoll set; every request goes through on_request, which sorts
** it three ways: GET /api/ws becomes a WebSocket, anything else under /api/
** goes to gw_api_handle once its body has arrived, and the rest are static
** files from web_dir.  Every answer this file makes itself, errors included,
** is JSON ({"error":{"status","code","message"}}) and carries the security
** headers; answers from the API also get Cache-Control: no-store.  A few
** malformed requests (a broken request line, headers over 32 KiB) are
** refused by libmicrohttpd itself before we see them, with its own short
** page, and the connection is closed.
**
** Bodies.  A request body is kept in memory up to GW_HTTP_MAX_BODY.  A
** Content-Length over that is refused with 413 before the body is read.  A
** chunked body that grows past the limit is dropped; libmicrohttpd 0.9.75
** cannot answer in the middle of a body, so the rest is read and thrown
** away and 413 comes at its end, unless it runs past DISCARD_MAX, when the
** connection is closed.  Browsers and curl send Content-Length, so the
** first case is the usual one.
**
** Static files.  The path is refused (400) when it holds "..", raw or
** percent-encoded, or a backslash; the file is then resolved with realpath
** and served only when it lies under the real web_dir.  Files are read once
** and kept in memory (up to STATIC_CACHE_MAX bytes in all) until the server
** stops: the dashboard is a few hundred KiB that does not change while the
** daemon runs.
**
** WebSocket.  After the 101 answer libmicrohttpd hands over the socket and
** the hub takes it: one thread, one poll() over every client and an
** eventfd.  gw_httpd_broadcast only takes the hub's mutex, appends a
** reference to the frame to each client's queue (4 frames at most; a full
** queue means this client misses the frame, counted in frames_dropped) and
** writes the eventfd, so the control loop never waits on a slow client.  The
** hub writes with non-blocking sends, a whole frame after another, with
** control frames (pong, close) slipped in between data frames; a client
** whose pending output has not drained for WS_STUCK_S is dropped.  Frames
** from clients are parsed by ws.c: they must be masked and at most
** WS_MAX_MESSAGE bytes; text and binary messages are read and ignored (the
** feed goes one way), a ping gets a pong, a close gets a close, and a
** protocol error gets a close with 1002 or 1009.  After sending a close the
** hub shuts down its side and waits up to WS_LINGER_S for the client's end
** of the stream, so that no unread bytes turn the close into a reset.
**
** Locking.  The hub's mutex guards the client array, each client's queue
** and each client's state; the hub thread alone reads and writes sockets
** and alone removes clients, so it may use its clients outside the lock.
*/
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "server/api.h"
#include "server/centre.h"
#include "server/ws.h"

#define CONNECTION_TIMEOUT_S 30u            /* idle HTTP connections are closed */
#define EXTRA_CONNECTIONS 512u              /* HTTP connections beside the WebSocket clients */
#define STATIC_CACHE_MAX (32u << 20)        /* bytes of static files kept in memory */
#define STATIC_FILE_MAX (64u << 20)         /* larger files are not served */
#define WS_QUEUE 4                          /* pending broadcast frames per client */
#define WS_MAX_MESSAGE 65536u               /* bytes of a client's message */
#define WS_STUCK_S 30.0                     /* pending output not drained for this long: dropped */
#define WS_LINGER_S 2.0                     /* wait for the client's end after our close */
#define WS_IN_START 512u                    /* a client's first input buffer */
#define DISCARD_MAX (8u * GW_HTTP_MAX_BODY) /* an oversized chunked body: hang up */
#define WS_PATH "/api/ws"

static const char json_type[] = "application/json; charset=utf-8";
static const char csp[] =
    "default-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'";

/* ---- types ---------------------------------------------------------------- */

enum { WS_OPEN, WS_CLOSING, WS_DRAINING, WS_DEAD };

typedef struct ws_client {
  int fd;
  struct MHD_UpgradeResponseHandle *urh;
  _Atomic int state; /* WS_...; leaves WS_OPEN under the hub's mutex */
  /* Input: bytes read and not yet parsed. */
  uint8_t *in;
  size_t in_len, in_cap;
  gw_ws_seq seq;
  /* The queue, under the hub's mutex. */
  gw_blob *q[WS_QUEUE];
  int q_head, q_n;
  /* The data frame being written (hub thread only). */
  gw_blob *cur;
  uint8_t cur_hdr[GW_WS_MAX_HEADER];
  size_t cur_hdr_len, cur_off; /* cur_off counts header and payload bytes sent */
  /* Control frames to send between data frames. */
  uint8_t ctl[256];
  size_t ctl_len, ctl_off;
  int ctl_is_pong;      /* ctl holds only an unsent pong, which a newer one may replace */
  double blocked_since; /* monotonic s when output first stayed pending; 0: not */
  double linger_until;  /* WS_DRAINING: drop at this time */
} ws_client;

typedef struct ws_hub {
  pthread_mutex_t mu;
  pthread_t thread;
  int thread_started;
  int wake_fd; /* eventfd */
  int stop;    /* under mu */
  ws_client **c;
  size_t n, cap;
} ws_hub;

typedef struct static_file {
  struct static_file *next;
  char *path; /* the requested path under web_dir, before realpath */
  char *data;
  size_t len;
  const char *type;
} static_file;

struct gw_httpd {
  struct MHD_Daemon *d;
  int port;
  gw_api *api;
  int ws_max;
  char *web_root; /* realpath of web_dir, or NULL */
  size_t web_root_len;
  pthread_mutex_t cache_mu;
  static_file *cache;
  size_t cache_bytes;
  ws_hub hub;
  _Atomic uint64_t requests, ws_clients, frames_sent, frames_dropped, bad_requests;
};

/* Per request: the raw URI (for the query string and the traversal check)
** and the body so far. */
typedef struct req_ctx {
  char *uri;
  int started;
  int refused;   /* an answer is queued: ignore the rest */
  int too_large; /* a chunked body went past the limit: len counts what was skipped */
  char *body;
  size_t len, cap;
} req_ctx;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- answers -------------------------------------------------------------- */

static void add_security_headers(struct MHD_Response *r) {
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Content-Security-Policy", csp);
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(gw_httpd *h, struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *r) {
  if (!r) return MHD_NO;
  add_security_headers(r);
  if (status >= 400 && status < 500) atomic_fetch_add(&h->bad_requests, 1);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A JSON error; `message` is a constant of ours (never user input), so it
** needs no escaping. */
static enum MHD_Result answer_error(gw_httpd *h, struct MHD_Connection *conn, unsigned status,
                                    const char *code, const char *message) {
  char body[512];
  int n =
      snprintf(body, sizeof body, "{\"error\":{\"status\":%u,\"code\":\"%s\",\"message\":\"%s\"}}",
               status, code, message);
  if (n < 0 || (size_t)n >= sizeof body) return MHD_NO;
  struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, json_type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == 405) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  return queue(h, conn, status, r);
}

/* ---- the API -------------------------------------------------------------- */

static void remote_address(struct MHD_Connection *conn, char *out, size_t len) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  out[0] = '\0';
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)len);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)len);
}

static const char *raw_query(const req_ctx *rc) {
  const char *q = rc && rc->uri ? strchr(rc->uri, '?') : NULL;
  return q ? q + 1 : NULL;
}

static enum MHD_Result answer_api(gw_httpd *h, struct MHD_Connection *conn, const char *url,
                                  const char *method, req_ctx *rc) {
  if (!h->api) return answer_error(h, conn, 503, "unavailable", "the API is not running");
  char remote[INET6_ADDRSTRLEN];
  remote_address(conn, remote, sizeof remote);
  gw_http_req rq;
  memset(&rq, 0, sizeof rq);
  rq.method = method;
  rq.path = url;
  rq.query = raw_query(rc);
  rq.body = rc->body;
  rq.body_len = rc->len;
  rq.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  rq.cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
  rq.remote = remote;
  gw_http_resp rs;
  memset(&rs, 0, sizeof rs);
  rs.status = 500;
  gw_api_handle(h->api, &rq, &rs);
  if (rs.status < 100 || rs.status > 599) rs.status = 500;
  struct MHD_Response *r;
  if (rs.body)
    r = MHD_create_response_from_buffer(rs.len, rs.body, MHD_RESPMEM_MUST_FREE);
  else
    r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!r) {
    free(rs.body); /* the API's malloc */
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          rs.content_type ? rs.content_type : json_type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (rs.set_cookie[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rs.set_cookie);
  if (rs.retry_after_s > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", rs.retry_after_s);
    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
  }
  return queue(h, conn, (unsigned)rs.status, r);
}

/* ---- static files --------------------------------------------------------- */

static const char *content_type(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (dot && (!slash || dot > slash))
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

/* 1 when a path may name a file under web_dir: no "..", raw or encoded (the
** raw URI is checked too, in case a decoder somewhere differs from ours),
** no backslash. */
static int path_safe(const char *decoded, const char *raw) {
  if (decoded[0] != '/' || strstr(decoded, "..") || strchr(decoded, '\\')) return 0;
  if (raw) {
    const char *end = strchr(raw, '?');
    size_t n = end ? (size_t)(end - raw) : strlen(raw);
    int dots = 0; /* how many dots in a row, literal or %2e */
    for (size_t i = 0; i < n; i++) {
      int dot = raw[i] == '.';
      if (raw[i] == '%' && i + 2 < n && raw[i + 1] == '2' && (raw[i + 2] | 0x20) == 'e') {
        dot = 1;
        i += 2;
      } else if (raw[i] == '%' && i + 2 < n && raw[i + 1] == '5' && (raw[i + 2] | 0x20) == 'c') {
        return 0; /* an encoded backslash */
      }
      dots = dot ? dots + 1 : 0;
      if (dots >= 2) return 0;
    }
  }
  return 1;
}

/* Reads a regular file; NULL when it cannot be read or is too large. */
static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      (uint64_t)st.st_size > STATIC_FILE_MAX)
    goto fail;
  size_t n = (size_t)st.st_size, got = 0;
  buf = gw__malloc(n ? n : 1);
  if (!buf) goto fail;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) goto fail;
    got += (size_t)r;
  }
  close(fd);
  *len = n;
  return buf;
fail:
  gw__free(buf);
  close(fd);
  return NULL;
}

/* Finds or loads the file at `path` (web_root + URL).  *cached tells
** whether the returned data belongs to the cache (else the caller frees). */
static char *static_lookup(gw_httpd *h, const char *path, size_t *len, const char **type,
                           int *cached) {
  pthread_mutex_lock(&h->cache_mu);
  for (static_file *f = h->cache; f; f = f->next)
    if (strcmp(f->path, path) == 0) {
      *len = f->len;
      *type = f->type;
      *cached = 1;
      pthread_mutex_unlock(&h->cache_mu);
      return f->data;
    }
  pthread_mutex_unlock(&h->cache_mu);

  char real[PATH_MAX];
  if (!realpath(path, real)) return NULL;
  if (strncmp(real, h->web_root, h->web_root_len) != 0 || real[h->web_root_len] != '/') return NULL;
  char *data = read_file(real, len);
  if (!data) return NULL;
  *type = content_type(real);
  *cached = 0;

  pthread_mutex_lock(&h->cache_mu);
  if (h->cache_bytes + *len <= STATIC_CACHE_MAX) {
    static_file *f = gw__calloc(1, sizeof *f);
    char *p = f ? gw__strdup(path) : NULL;
    if (f && p) {
      f->path = p;
      f->data = data;
      f->len = *len;
      f->type = *type;
      f->next = h->cache;
      h->cache = f;
      h->cache_bytes += *len;
      *cached = 1;
    } else {
      gw__free(f);
    }
  }
  pthread_mutex_unlock(&h->cache_mu);
  return data;
}

static enum MHD_Result answer_static(gw_httpd *h, struct MHD_Connection *conn, const char *url,
                                     const char *method, const req_ctx *rc) {
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return answer_error(h, conn, 405, "method_not_allowed", "static files answer GET and HEAD");
  if (!path_safe(url, rc ? rc->uri : NULL))
    return answer_error(h, conn, 400, "bad_path", "the path is not allowed");
  if (!h->web_root) return answer_error(h, conn, 404, "not_found", "no such file");
  char path[PATH_MAX];
  size_t ul = strlen(url);
  int n = snprintf(path, sizeof path, "%s%s%s", h->web_root, url,
                   ul > 0 && url[ul - 1] == '/' ? "index.html" : "");
  if (n < 0 || (size_t)n >= sizeof path)
    return answer_error(h, conn, 404, "not_found", "no such file");
  size_t len = 0;
  const char *type = NULL;
  int cached = 0;
  char *data = static_lookup(h, path, &len, &type, &cached);
  if (!data) return answer_error(h, conn, 404, "not_found", "no such file");
  struct MHD_Response *r =
      cached ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_PERSISTENT)
             : MHD_create_response_from_buffer_with_free_callback(len, data, gw__free);
  if (!r) {
    if (!cached) gw__free(data);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  return queue(h, conn, 200, r);
}

/* ---- the WebSocket hub ---------------------------------------------------- */

static void hub_wake(ws_hub *hub) {
  uint64_t one = 1;
  ssize_t r = write(hub->wake_fd, &one, sizeof one);
  (void)r; /* EAGAIN means a wake-up is already pending */
}

/* Leaves WS_OPEN: no more broadcasts are queued, the queued ones go. */
static void client_leave_open(ws_hub *hub, ws_client *c, int state) {
  gw_blob *drop[WS_QUEUE];
  int n = 0;
  pthread_mutex_lock(&hub->mu);
  if (atomic_load(&c->state) == WS_OPEN)
    while (c->q_n > 0) {
      drop[n++] = c->q[c->q_head];
      c->q_head = (c->q_head + 1) % WS_QUEUE;
      c->q_n--;
    }
  atomic_store(&c->state, state);
  pthread_mutex_unlock(&hub->mu);
  for (int i = 0; i < n; i++) gw_blob_unref(drop[i]);
}

static void client_start_close(ws_hub *hub, ws_client *c, uint16_t code) {
  if (atomic_load(&c->state) != WS_OPEN) return;
  client_leave_open(hub, c, WS_CLOSING);
  if (c->ctl_is_pong && c->ctl_off == 0) c->ctl_len = 0; /* the close makes it moot */
  c->ctl_is_pong = 0;
  if (c->ctl_len + 4 <= sizeof c->ctl) c->ctl_len += gw_ws_close_frame(c->ctl + c->ctl_len, code);
}

static void client_queue_pong(ws_client *c, const uint8_t *payload, size_t len,
                              const uint8_t mask[4]) {
  if (c->ctl_len > 0 && !(c->ctl_is_pong && c->ctl_off == 0)) return; /* busy: skip it */
  size_t hl = gw_ws_header(c->ctl, GW_WS_PONG, 1, len, NULL);
  memcpy(c->ctl + hl, payload, len);
  gw_ws_unmask(c->ctl + hl, len, mask, 0);
  c->ctl_len = hl + len;
  c->ctl_off = 0;
  c->ctl_is_pong = 1;
}

/* Handles the frames complete in c->in; stops at the first error. */
static void client_parse(ws_hub *hub, ws_client *c) {
  size_t at = 0;
  while (atomic_load(&c->state) == WS_OPEN) {
    gw_ws_frame f;
    int rc = gw_ws_parse(c->in + at, c->in_len - at, WS_MAX_MESSAGE, 1, &f);
    if (rc == GW_WS_NEED_MORE) {
      size_t want = f.frame_len ? f.frame_len : GW_WS_MAX_HEADER;
      if (want > c->in_cap) {
        uint8_t *in = gw__realloc(c->in, want);
        if (!in) {
          client_start_close(hub, c, GW_WS_CLOSE_TOO_BIG);
          break;
        }
        c->in = in;
        c->in_cap = want;
      }
      break;
    }
    if (rc == GW_WS_ERROR) {
      client_start_close(hub, c, f.close_code);
      break;
    }
    uint16_t code = gw_ws_sequence(&c->seq, &f, WS_MAX_MESSAGE);
    if (code) {
      client_start_close(hub, c, code);
      break;
    }
    if (f.opcode == GW_WS_PING) {
      client_queue_pong(c, f.payload, (size_t)f.payload_len, f.mask);
    } else if (f.opcode == GW_WS_CLOSE) {
      uint8_t p[125];
      memcpy(p, f.payload, (size_t)f.payload_len);
      gw_ws_unmask(p, (size_t)f.payload_len, f.mask, 0);
      uint16_t theirs = 0;
      if (!gw_ws_close_payload_ok(p, (size_t)f.payload_len, &theirs))
        client_start_close(hub, c, GW_WS_CLOSE_PROTOCOL);
      else
        client_start_close(hub, c, theirs == 1005 ? GW_WS_CLOSE_NORMAL : theirs);
    }
    at += f.frame_len;
  }
  if (at > 0) {
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
  }
}

static void client_read(ws_hub *hub, ws_client *c) {
  for (int round = 0; round < 8; round++) {
    int st = atomic_load(&c->state);
    if (st == WS_DRAINING) {
      uint8_t sink[4096];
      ssize_t r = recv(c->fd, sink, sizeof sink, 0);
      if (r > 0) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      atomic_store(&c->state, WS_DEAD);
      return;
    }
    if (st != WS_OPEN) return;
    if (c->in_len == c->in_cap) return; /* client_parse grows it when a frame needs it */
    ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      client_leave_open(hub, c, WS_DEAD); /* gone without a close frame */
      return;
    }
    c->in_len += (size_t)r;
    client_parse(hub, c);
  }
}

/* Sends what can be sent.  Returns 1 when output is still pending. */
static int client_flush(gw_httpd *h, ws_client *c) {
  ws_hub *hub = &h->hub;
  for (;;) {
    if (atomic_load(&c->state) == WS_DEAD) return 0;
    if (c->cur) {
      size_t total = c->cur_hdr_len + c->cur->len;
      struct iovec iov[2];
      int niov = 0;
      if (c->cur_off < c->cur_hdr_len) {
        iov[niov].iov_base = c->cur_hdr + c->cur_off;
        iov[niov++].iov_len = c->cur_hdr_len - c->cur_off;
        iov[niov].iov_base = c->cur->data;
        iov[niov++].iov_len = c->cur->len;
      } else {
        iov[niov].iov_base = c->cur->data + (c->cur_off - c->cur_hdr_len);
        iov[niov++].iov_len = total - c->cur_off;
      }
      struct msghdr m;
      memset(&m, 0, sizeof m);
      m.msg_iov = iov;
      m.msg_iovlen = (size_t)niov;
      ssize_t r = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        client_leave_open(hub, c, WS_DEAD);
        return 0;
      }
      c->cur_off += (size_t)r;
      if (c->cur_off == total) {
        gw_blob_unref(c->cur);
        c->cur = NULL;
        atomic_fetch_add(&h->frames_sent, 1);
      }
      continue;
    }
    if (c->ctl_off < c->ctl_len) {
      ssize_t r =
          send(c->fd, c->ctl + c->ctl_off, c->ctl_len - c->ctl_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        client_leave_open(hub, c, WS_DEAD);
        return 0;
      }
      c->ctl_off += (size_t)r;
      if (c->ctl_off == c->ctl_len) {
        c->ctl_off = c->ctl_len = 0;
        c->ctl_is_pong = 0;
        if (atomic_load(&c->state) == WS_CLOSING) {
          shutdown(c->fd, SHUT_WR);
          c->linger_until = now_s() + WS_LINGER_S;
          atomic_store(&c->state, WS_DRAINING);
        }
      }
      continue;
    }
    if (atomic_load(&c->state) != WS_OPEN) return 0;
    pthread_mutex_lock(&hub->mu);
    if (c->q_n > 0) {
      c->cur = c->q[c->q_head];
      c->q_head = (c->q_head + 1) % WS_QUEUE;
      c->q_n--;
    }
    pthread_mutex_unlock(&hub->mu);
    if (!c->cur) return 0;
    c->cur_hdr_len = gw_ws_header(c->cur_hdr, GW_WS_TEXT, 1, c->cur->len, NULL);
    c->cur_off = 0;
  }
}

/* Gives the socket back to libmicrohttpd, which closes it. */
static void client_free(ws_client *c) {
  for (int i = 0; i < c->q_n; i++) gw_blob_unref(c->q[(c->q_head + i) % WS_QUEUE]);
  if (c->cur) gw_blob_unref(c->cur);
  MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
  gw__free(c->in);
  gw__free(c);
}

static int client_wants_output(const ws_client *c) {
  return c->cur || c->ctl_off < c->ctl_len || (atomic_load(&c->state) == WS_OPEN && c->q_n > 0);
}

static void *hub_main(void *arg) {
  gw_httpd *h = arg;
  ws_hub *hub = &h->hub;
  struct pollfd *pfd = NULL;
  ws_client **snap = NULL;
  size_t cap = 0;
  for (;;) {
    pthread_mutex_lock(&hub->mu);
    if (hub->stop) {
      pthread_mutex_unlock(&hub->mu);
      break;
    }
    size_t n = hub->n;
    if (n + 1 > cap) {
      size_t ncap = (n + 1) * 2;
      struct pollfd *p = gw__realloc(pfd, ncap * sizeof *p);
      if (p) pfd = p;
      ws_client **s = gw__realloc(snap, ncap * sizeof *s);
      if (s) snap = s;
      if (p && s) cap = ncap;
    }
    if (cap == 0) { /* out of memory: try again shortly */
      pthread_mutex_unlock(&hub->mu);
      struct timespec ts = {0, 100000000};
      nanosleep(&ts, NULL);
      continue;
    }
    if (n + 1 > cap) n = cap - 1; /* out of memory: serve those we can */
    double now = now_s(), next = now + 1.0;
    pfd[0].fd = hub->wake_fd;
    pfd[0].events = POLLIN;
    for (size_t i = 0; i < n; i++) {
      ws_client *c = hub->c[i];
      int st = atomic_load(&c->state);
      snap[i] = c;
      pfd[i + 1].fd = c->fd;
      pfd[i + 1].events = (short)((st == WS_OPEN || st == WS_DRAINING ? POLLIN : 0) |
                                  (client_wants_output(c) ? POLLOUT : 0));
      pfd[i + 1].revents = 0;
      if (c->blocked_since > 0 && c->blocked_since + WS_STUCK_S < next)
        next = c->blocked_since + WS_STUCK_S;
      if (st == WS_DRAINING && c->linger_until < next) next = c->linger_until;
    }
    pthread_mutex_unlock(&hub->mu);

    int wait_ms = (int)((next - now) * 1000.0) + 1;
    if (wait_ms < 0) wait_ms = 0;
    pfd[0].revents = 0;
    if (poll(pfd, (nfds_t)(n + 1), wait_ms) < 0 && errno != EINTR) break;
    if (pfd[0].revents & POLLIN) {
      uint64_t v;
      ssize_t r = read(hub->wake_fd, &v, sizeof v);
      (void)r;
    }
    now = now_s();
    int any_dead = 0;
    for (size_t i = 0; i < n; i++) {
      ws_client *c = snap[i];
      if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) client_read(hub, c);
      int pending = client_flush(h, c);
      if (pending) {
        if (c->blocked_since == 0) c->blocked_since = now;
        if (now - c->blocked_since > WS_STUCK_S) client_leave_open(hub, c, WS_DEAD);
      } else {
        c->blocked_since = 0;
      }
      if (atomic_load(&c->state) == WS_DRAINING && now >= c->linger_until)
        atomic_store(&c->state, WS_DEAD);
      if (atomic_load(&c->state) == WS_DEAD) any_dead = 1;
    }
    if (!any_dead) continue;
    /* Remove the dead from the array under the lock, free them outside it. */
    size_t ndead = 0;
    pthread_mutex_lock(&hub->mu);
    size_t keep = 0;
    for (size_t i = 0; i < hub->n; i++) {
      ws_client *c = hub->c[i];
      if (atomic_load(&c->state) == WS_DEAD)
        snap[ndead++] = c; /* the snapshot is done with: reuse it */
      else
        hub->c[keep++] = c;
    }
    hub->n = keep;
    atomic_store(&h->ws_clients, (uint64_t)keep);
    pthread_mutex_unlock(&hub->mu);
    for (size_t i = 0; i < ndead; i++) client_free(snap[i]);
  }
  gw__free(pfd);
  gw__free(snap);
  return NULL;
}

/* Called by libmicrohttpd once the 101 answer is out: the socket is ours. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
  (void)conn;
  (void)con_cls;
  gw_httpd *h = cls;
  ws_hub *hub = &h->hub;
  ws_client *c = gw__calloc(1, sizeof *c);
  size_t cap = extra_in_size > WS_IN_START ? extra_in_size : WS_IN_START;
  if (c) c->in = gw__malloc(cap);
  if (!c || !c->in) {
    if (c) gw__free(c);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    return;
  }
  c->fd = sock;
  c->urh = urh;
  c->in_cap = cap;
  memcpy(c->in, extra_in, extra_in_size);
  c->in_len = extra_in_size;
  atomic_store(&c->state, WS_OPEN);
  int fl = fcntl(sock, F_GETFL);
  if (fl >= 0) fcntl(sock, F_SETFL, fl | O_NONBLOCK);
  int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  pthread_mutex_lock(&hub->mu);
  int refuse = hub->stop || hub->n >= (size_t)h->ws_max;
  if (!refuse && hub->n == hub->cap) {
    size_t ncap = hub->cap ? hub->cap * 2 : 16;
    ws_client **a = gw__realloc(hub->c, ncap * sizeof *a);
    if (a) {
      hub->c = a;
      hub->cap = ncap;
    } else {
      refuse = 1;
    }
  }
  if (!refuse) {
    hub->c[hub->n++] = c;
    atomic_store(&h->ws_clients, (uint64_t)hub->n);
  }
  pthread_mutex_unlock(&hub->mu);
  if (refuse) {
    /* Over the limit after all (two upgrades raced): say so and go. */
    uint8_t close[4];
    gw_ws_close_frame(close, GW_WS_CLOSE_TRY_LATER);
    ssize_t r = send(sock, close, sizeof close, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)r;
    client_free(c);
    return;
  }
  hub_wake(hub);
}

/* 1 when the comma-separated header value holds `token` (any case). */
static int header_has_token(const char *value, const char *token) {
  size_t tl = strlen(token);
  const char *p = value;
  while (p && *p) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0) return 1;
    p = e;
  }
  return 0;
}

static enum MHD_Result answer_ws(gw_httpd *h, struct MHD_Connection *conn, const char *method) {
  if (strcmp(method, "GET") != 0)
    return answer_error(h, conn, 405, "method_not_allowed", "the WebSocket needs GET");
  const char *upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
  const char *connection = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connection");
  const char *version = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
  const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
  if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !connection ||
      !header_has_token(connection, "upgrade"))
    return answer_error(h, conn, 400, "bad_upgrade",
                        "a WebSocket request needs Upgrade: websocket and Connection: Upgrade");
  if (!version || strcmp(version, "13") != 0)
    return answer_error(h, conn, 400, "bad_version", "Sec-WebSocket-Version must be 13");
  char accept[GW_WS_ACCEPT_LEN + 1];
  if (gw_ws_accept(key, accept) != 0)
    return answer_error(h, conn, 400, "bad_key",
                        "Sec-WebSocket-Key must be the base64 of 16 bytes");
  if (h->api) {
    const char *token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    if (!token || !token[0]) token = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "gw_token");
    char role[32];
    if (!token || !token[0] || !gw_api_token_role(h->api, token, role, sizeof role))
      return answer_error(h, conn, 401, "unauthorized", "a valid session token is needed");
  }
  if (atomic_load(&h->ws_clients) >= (uint64_t)h->ws_max)
    return answer_error(h, conn, 503, "too_many_clients", "too many WebSocket clients");
  struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, h);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
  return queue(h, conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
}

/* ---- libmicrohttpd callbacks ---------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls;
  (void)conn;
  req_ctx *rc = gw__calloc(1, sizeof *rc);
  if (rc) rc->uri = gw__strdup(uri);
  if (rc && !rc->uri) {
    gw__free(rc);
    rc = NULL;
  }
  return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  req_ctx *rc = *con_cls;
  if (!rc) return;
  gw__free(rc->uri);
  gw__free(rc->body);
  gw__free(rc);
  *con_cls = NULL;
}

static int is_api(const char *url) {
  return strncmp(url, "/api", 4) == 0 && (url[4] == '\0' || url[4] == '/');
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  (void)version;
  gw_httpd *h = cls;
  req_ctx *rc = *con_cls;
  if (!rc) return MHD_NO; /* out of memory in on_uri: drop the connection */
  if (!rc->started) {
    rc->started = 1;
    atomic_fetch_add(&h->requests, 1);
    if (!is_api(url)) {
      rc->refused = 1;
      return answer_static(h, conn, url, method, rc);
    }
    if (strcmp(url, WS_PATH) == 0) {
      rc->refused = 1;
      return answer_ws(h, conn, method);
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(cl, &end, 10);
      if (errno || end == cl || v > GW_HTTP_MAX_BODY) {
        rc->refused = 1;
        return answer_error(h, conn, 413, "body_too_large", "the request body is over 1 MiB");
      }
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (rc->refused) return MHD_YES;
    if (rc->too_large || n > GW_HTTP_MAX_BODY - rc->len) {
      /* libmicrohttpd cannot answer in the middle of a body: drop what has
      ** come, skip the rest, answer 413 at its end; or hang up on a body
      ** that goes on and on. */
      if (!rc->too_large) {
        gw__free(rc->body);
        rc->body = NULL;
        rc->cap = 0;
        rc->too_large = 1;
      }
      rc->len = n > DISCARD_MAX - rc->len ? DISCARD_MAX : rc->len + n;
      return rc->len >= DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (rc->len + n > rc->cap) {
      size_t cap = rc->cap ? rc->cap : 4096;
      while (cap < rc->len + n) cap *= 2;
      if (cap > GW_HTTP_MAX_BODY) cap = GW_HTTP_MAX_BODY;
      char *b = gw__realloc(rc->body, cap);
      if (!b) return MHD_NO;
      rc->body = b;
      rc->cap = cap;
    }
    memcpy(rc->body + rc->len, upload_data, n);
    rc->len += n;
    return MHD_YES;
  }
  if (rc->refused) return MHD_YES;
  rc->refused = 1;
  if (rc->too_large)
    return answer_error(h, conn, 413, "body_too_large", "the request body is over 1 MiB");
  return answer_api(h, conn, url, method, rc);
}

static void on_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  gw__log(GW_LOG_DEBUG, "http: %s", msg);
}

/* ---- the listening socket ------------------------------------------------- */

/* Opens, binds and listens on "HOST:PORT" ("[::1]:PORT" for IPv6). */
static int open_listener(const char *listen_on, int *fd_out, int *port_out, int *ipv6,
                         gw_error *err) {
  char host[256];
  const char *port;
  if (listen_on[0] == '[') {
    const char *close = strchr(listen_on, ']');
    if (!close || close[1] != ':' || (size_t)(close - listen_on - 1) >= sizeof host) goto bad;
    memcpy(host, listen_on + 1, (size_t)(close - listen_on - 1));
    host[close - listen_on - 1] = '\0';
    port = close + 2;
  } else {
    const char *colon = strrchr(listen_on, ':');
    if (!colon || (size_t)(colon - listen_on) >= sizeof host) goto bad;
    memcpy(host, listen_on, (size_t)(colon - listen_on));
    host[colon - listen_on] = '\0';
    port = colon + 1;
  }
  char *end;
  long p = strtol(port, &end, 10);
  if (!host[0] || !port[0] || *end || p < 0 || p > 65535) goto bad;

  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int g = getaddrinfo(host, port, &hints, &ai);
  if (g != 0 || !ai)
    return gw__error(err, GW_EINVAL, "http: listen address \"%s\": %s", listen_on, gai_strerror(g));
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(ai);
    return gw__error(err, GW_EIO, "http: socket for %s: %s", listen_on, strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0) {
    int e = errno;
    freeaddrinfo(ai);
    close(fd);
    return gw__error(err, GW_EIO, "http: cannot listen on %s: %s", listen_on, strerror(e));
  }
  *ipv6 = ai->ai_family == AF_INET6;
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
    close(fd);
    return gw__error(err, GW_EIO, "http: getsockname on %s: %s", listen_on, strerror(errno));
  }
  if (ss.ss_family == AF_INET6)
    *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  else
    *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  *fd_out = fd;
  return GW_OK;
bad:
  return gw__error(err, GW_EINVAL, "http: listen address \"%s\": expected HOST:PORT", listen_on);
}

/* ---- the public functions ------------------------------------------------- */

void gw_httpd_opts_init(gw_httpd_opts *o) {
  memset(o, 0, sizeof *o);
  o->listen = "127.0.0.1:8080";
  o->threads = 2;
  o->ws_max_clients = 256;
}

int gw_httpd_start(const gw_httpd_opts *o, gw_httpd **out, gw_error *err) {
  *out = NULL;
  gw_httpd *h = gw__calloc(1, sizeof *h);
  if (!h) return gw__error(err, GW_ENOMEM, "http: out of memory");
  int rc = GW_OK, listen_fd = -1, ipv6 = 0;
  h->api = o->api;
  h->ws_max = o->ws_max_clients > 0 ? o->ws_max_clients : 256;
  h->hub.wake_fd = -1;
  pthread_mutex_init(&h->cache_mu, NULL);
  pthread_mutex_init(&h->hub.mu, NULL);
  if (o->web_dir) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(o->web_dir, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
      rc = gw__error(err, GW_EIO, "http: web directory %s: %s", o->web_dir,
                     errno ? strerror(errno) : "not a directory");
      goto fail;
    }
    h->web_root = gw__strdup(real);
    if (!h->web_root) goto oom;
    h->web_root_len = strlen(real);
    /* "/" as web_dir: the prefix check needs no trailing slash. */
    if (h->web_root_len == 1) h->web_root_len = 0;
  }
  h->hub.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (h->hub.wake_fd < 0) {
    rc = gw__error(err, GW_EIO, "http: eventfd: %s", strerror(errno));
    goto fail;
  }
  rc = open_listener(o->listen ? o->listen : "127.0.0.1:8080", &listen_fd, &h->port, &ipv6, err);
  if (rc) goto fail;
  if (pthread_create(&h->hub.thread, NULL, hub_main, h) != 0) {
    rc = gw__error(err, GW_EIO, "http: cannot start the WebSocket thread");
    goto fail;
  }
  h->hub.thread_started = 1;
  unsigned threads = o->threads > 0 ? (unsigned)o->threads : 2u;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_UPGRADE |
                   MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
  h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_log,
                          h, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
                          threads, MHD_OPTION_CONNECTION_LIMIT,
                          (unsigned)h->ws_max + EXTRA_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                          CONNECTION_TIMEOUT_S, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
  if (!h->d) {
    rc = gw__error(err, GW_EIO, "http: libmicrohttpd could not start on %s", o->listen);
    goto fail;
  }
  *out = h;
  return GW_OK;
oom:
  rc = gw__error(err, GW_ENOMEM, "http: out of memory");
fail:
  if (listen_fd >= 0) close(listen_fd);
  gw_httpd_stop(h);
  return rc;
}

void gw_httpd_broadcast(gw_httpd *h, gw_blob *frame) {
  if (!h || !frame) return;
  ws_hub *hub = &h->hub;
  uint64_t dropped = 0;
  pthread_mutex_lock(&hub->mu);
  for (size_t i = 0; i < hub->n; i++) {
    ws_client *c = hub->c[i];
    if (atomic_load(&c->state) != WS_OPEN) continue;
    if (c->q_n == WS_QUEUE) {
      dropped++;
      continue;
    }
    c->q[(c->q_head + c->q_n) % WS_QUEUE] = gw_blob_ref(frame);
    c->q_n++;
  }
  pthread_mutex_unlock(&hub->mu);
  if (dropped) atomic_fetch_add(&h->frames_dropped, dropped);
  hub_wake(hub);
}

void gw_httpd_stats_get(gw_httpd *h, gw_httpd_stats *out) {
  memset(out, 0, sizeof *out);
  if (!h) return;
  out->requests = atomic_load(&h->requests);
  out->ws_clients = atomic_load(&h->ws_clients);
  out->frames_sent = atomic_load(&h->frames_sent);
  out->frames_dropped = atomic_load(&h->frames_dropped);
  out->bad_requests = atomic_load(&h->bad_requests);
}

int gw_httpd_port(const gw_httpd *h) { return h ? h->port : 0; }

void gw_httpd_stop(gw_httpd *h) {
  if (!h) return;
  ws_hub *hub = &h->hub;
  /* The hub first: every upgraded socket must be handed back before
  ** libmicrohttpd stops.  An upgrade finishing meanwhile sees `stop` and
  ** closes at once. */
  pthread_mutex_lock(&hub->mu);
  hub->stop = 1;
  pthread_mutex_unlock(&hub->mu);
  if (hub->thread_started) {
    hub_wake(hub);
    pthread_join(hub->thread, NULL);
  }
  pthread_mutex_lock(&hub->mu);
  ws_client **c = hub->c;
  size_t n = hub->n;
  hub->c = NULL;
  hub->n = hub->cap = 0;
  pthread_mutex_unlock(&hub->mu);
  for (size_t i = 0; i < n; i++) client_free(c[i]);
  gw__free(c);
  if (h->d) MHD_stop_daemon(h->d);
  if (hub->wake_fd >= 0) close(hub->wake_fd);
  for (static_file *f = h->cache, *next; f; f = next) {
    next = f->next;
    gw__free(f->path);
    gw__free(f->data);
    gw__free(f);
  }
  pthread_mutex_destroy(&h->cache_mu);
  pthread_mutex_destroy(&hub->mu);
  gw__free(h->web_root);
  gw__free(h);
}

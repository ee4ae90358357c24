/*
** test_http.c -- the HTTP server and WebSocket hub (src/server/http.c) over
** real sockets.
**
** Each group starts a gw_httpd on 127.0.0.1 with a free port, no API (so
** /api/ answers 503 and every WebSocket token is accepted) and a web
** directory made for the test beside a "secret" file that must never be
** served.  The client side is written by hand here, with raw sockets, so
** that the tests can send what no well-behaved client would: traversal
** paths, broken request lines, huge headers, unmasked frames, a client that
** never reads.  Every wait is bounded by poll() with a timeout and nothing
** asserts a duration.
*/
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "greenwave/store.h"
#include "server/api.h"
#include "server/centre.h"
#include "server/http.h"
#include "server/ws.h"

#define WAIT_MS 5000 /* the longest any single read may wait */
#define SECRET "top secret: never served"
#define INDEX_HTML "<!doctype html><title>Greenwave</title>"
#define APP_JS "console.log('greenwave');"
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

typedef struct fixture {
  char dir[64];  /* the temporary directory */
  char web[128]; /* dir/web, the web root */
  gw_api *api;   /* NULL but in the group with a real API */
  gw_httpd *h;
  int port;
} fixture;

/* ---- the fixture ---------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int start(void **state, int ws_max, int with_api) {
  fixture *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/gw-test-http-XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  char p[256];
  snprintf(fx->web, sizeof fx->web, "%s/web", fx->dir);
  mkdir(fx->web, 0700);
  snprintf(p, sizeof p, "%s/sub", fx->web);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/secret.txt", fx->dir);
  write_file(p, SECRET);
  snprintf(p, sizeof p, "%s/index.html", fx->web);
  write_file(p, INDEX_HTML);
  snprintf(p, sizeof p, "%s/app.js", fx->web);
  write_file(p, APP_JS);
  snprintf(p, sizeof p, "%s/style.css", fx->web);
  write_file(p, "body{}");
  snprintf(p, sizeof p, "%s/sub/data.json", fx->web);
  write_file(p, "{\"a\":1}");
  snprintf(p, sizeof p, "%s/link.txt", fx->web);
  char target[256];
  snprintf(target, sizeof target, "%s/secret.txt", fx->dir);
  if (symlink(target, p) != 0) return -1;

  gw_error err;
  if (with_api) {
    /* A store with one user, and the API over it (no centre). */
    char url[256], hash[128];
    snprintf(url, sizeof url, "sqlite:%s/centre.db", fx->dir);
    gw_store *st = NULL;
    if (gw_store_open(url, &st, &err) != 0 ||
        gw_auth_hash_password("correct horse", hash, sizeof hash) != 0 ||
        gw_store_user_add(st, "ops", "operator", hash, 0, &err) != 0) {
      fprintf(stderr, "store: %s\n", err.msg);
      gw_store_close(st);
      return -1;
    }
    gw_store_close(st);
    gw_api_opts ao;
    gw_api_opts_init(&ao);
    ao.db_url = url;
    if (gw_api_create(&ao, &fx->api, &err) != 0) {
      fprintf(stderr, "gw_api_create: %s\n", err.msg);
      return -1;
    }
  }
  gw_httpd_opts o;
  gw_httpd_opts_init(&o);
  o.listen = "127.0.0.1:0";
  o.web_dir = fx->web;
  o.api = fx->api;
  o.threads = 2;
  if (ws_max > 0) o.ws_max_clients = ws_max;
  if (gw_httpd_start(&o, &fx->h, &err) != 0) {
    fprintf(stderr, "gw_httpd_start: %s\n", err.msg);
    return -1;
  }
  fx->port = gw_httpd_port(fx->h);
  if (fx->port <= 0) return -1;
  *state = fx;
  return 0;
}

static int setup(void **state) { return start(state, 0, 0); }
static int setup_small(void **state) { return start(state, 2, 0); }
static int setup_api(void **state) { return start(state, 0, 1); }

static int teardown(void **state) {
  fixture *fx = *state;
  gw_httpd_stop(fx->h);
  gw_api_destroy(fx->api);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
  int rc = system(cmd);
  free(fx);
  return rc == 0 ? 0 : -1;
}

/* ---- a raw client --------------------------------------------------------- */

static int connect_to(int port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Sends everything; 0 on success, -1 when the peer went away. */
static int send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    struct pollfd pf = {fd, POLLOUT, 0};
    if (poll(&pf, 1, WAIT_MS) != 1) return -1;
    ssize_t r = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Reads up to len bytes, waiting at most WAIT_MS for each piece; returns the
** count (0 at end of stream), or -1 on timeout or error. */
static ssize_t read_some(int fd, void *buf, size_t len) {
  struct pollfd pf = {fd, POLLIN, 0};
  if (poll(&pf, 1, WAIT_MS) != 1) return -1;
  ssize_t r = recv(fd, buf, len, 0);
  return r < 0 ? -1 : r;
}

static int read_exact(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t r = read_some(fd, p, len);
    if (r <= 0) return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

typedef struct http_answer {
  int status; /* 0: the connection closed or timed out before an answer */
  char head[8192];
  char *body; /* malloc'ed, NUL-terminated */
  size_t body_len;
} http_answer;

/* The value of a header in a.head, copied into out; 1 when present. */
static int header(const http_answer *a, const char *name, char *out, size_t len) {
  size_t nl = strlen(name);
  for (const char *line = strstr(a->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    const char *l = line + 2;
    if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      l += nl + 1;
      while (*l == ' ') l++;
      const char *e = strstr(l, "\r\n");
      size_t n = e ? (size_t)(e - l) : strlen(l);
      if (n >= len) n = len - 1;
      memcpy(out, l, n);
      out[n] = '\0';
      return 1;
    }
  }
  return 0;
}

/* Reads one answer: the head, then Content-Length bytes of body (none for
** HEAD or 101).  Bytes after it stay in the socket. */
static void read_answer(int fd, http_answer *a, int head_only) {
  memset(a, 0, sizeof *a);
  size_t n = 0;
  while (n + 1 < sizeof a->head) {
    ssize_t r = read_some(fd, a->head + n, 1); /* byte by byte: nothing past the head */
    if (r <= 0) return;
    n++;
    a->head[n] = '\0';
    if (n >= 4 && memcmp(a->head + n - 4, "\r\n\r\n", 4) == 0) break;
  }
  if (sscanf(a->head, "HTTP/1.%*d %d", &a->status) != 1) {
    a->status = 0;
    return;
  }
  char cl[32];
  size_t len = 0;
  if (!head_only && a->status != 101 && header(a, "Content-Length", cl, sizeof cl))
    len = (size_t)strtoul(cl, NULL, 10);
  a->body = calloc(1, len + 1);
  assert_non_null(a->body);
  if (len > 0 && read_exact(fd, a->body, len) != 0) a->status = 0;
  a->body_len = len;
}

/* Sends a raw request on a new connection and reads the answer. */
static void request(const fixture *fx, const char *raw, http_answer *a) {
  int fd = connect_to(fx->port, 0);
  memset(a, 0, sizeof *a);
  if (send_all(fd, raw, strlen(raw)) == 0) read_answer(fd, a, strncmp(raw, "HEAD", 4) == 0);
  close(fd);
}

static void get(const fixture *fx, const char *path, http_answer *a) {
  char raw[1024];
  snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
           path);
  request(fx, raw, a);
}

static void answer_free(http_answer *a) {
  free(a->body);
  a->body = NULL;
}

static void assert_json_error(const http_answer *a, int status, const char *code) {
  char v[128], want[160];
  assert_int_equal(a->status, status);
  assert_true(header(a, "Content-Type", v, sizeof v));
  assert_non_null(strstr(v, "application/json"));
  snprintf(want, sizeof want, "{\"error\":{\"status\":%d,\"code\":\"%s\",", status, code);
  assert_non_null(a->body);
  assert_memory_equal(a->body, want, strlen(want));
}

/* ---- static files ---------------------------------------------------------- */

static void test_static_files(void **state) {
  fixture *fx = *state;
  http_answer a;
  char v[256];
  get(fx, "/", &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, INDEX_HTML);
  assert_true(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/html; charset=utf-8");
  assert_true(header(&a, "X-Content-Type-Options", v, sizeof v));
  assert_string_equal(v, "nosniff");
  assert_true(header(&a, "X-Frame-Options", v, sizeof v));
  assert_string_equal(v, "DENY");
  assert_true(header(&a, "Content-Security-Policy", v, sizeof v));
  assert_non_null(strstr(v, "default-src 'self'"));
  answer_free(&a);

  get(fx, "/app.js", &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, APP_JS);
  assert_true(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/javascript; charset=utf-8");
  answer_free(&a);
  /* The second read comes from the cache: same bytes. */
  get(fx, "/app.js", &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, APP_JS);
  answer_free(&a);

  get(fx, "/style.css", &a);
  assert_true(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/css; charset=utf-8");
  answer_free(&a);
  get(fx, "/sub/data.json", &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, "{\"a\":1}");
  assert_true(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "application/json; charset=utf-8");
  answer_free(&a);

  request(fx, "HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &a);
  assert_int_equal(a.status, 200);
  assert_true(header(&a, "Content-Length", v, sizeof v));
  assert_int_equal(atoi(v), (int)strlen(APP_JS));
  answer_free(&a);

  get(fx, "/missing.html", &a);
  assert_json_error(&a, 404, "not_found");
  answer_free(&a);
  request(fx, "DELETE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &a);
  assert_json_error(&a, 405, "method_not_allowed");
  answer_free(&a);
}

static void test_traversal(void **state) {
  fixture *fx = *state;
  static const char *paths[] = {
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/..%2fsecret.txt",
      "/sub/../../secret.txt",
      "/sub/%2e%2e/%2e%2e/secret.txt",
      "/.%2e/secret.txt",
      "//etc/passwd",
      "/link.txt",
      "/%5c..%5csecret.txt",
      "/sub/..",
  };
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    http_answer a;
    get(fx, paths[i], &a);
    if (a.status != 400 && a.status != 404) fail_msg("%s answered %d", paths[i], a.status);
    assert_null(strstr(a.body ? a.body : "", SECRET));
    assert_null(strstr(a.body ? a.body : "", "root:"));
    answer_free(&a);
  }
}

/* ---- the API's door --------------------------------------------------------- */

static void test_api_without_api(void **state) {
  fixture *fx = *state;
  http_answer a;
  char v[64];
  get(fx, "/api/x", &a);
  assert_json_error(&a, 503, "unavailable");
  assert_true(header(&a, "Cache-Control", v, sizeof v));
  assert_string_equal(v, "no-store");
  answer_free(&a);
}

static void test_body_too_large(void **state) {
  fixture *fx = *state;
  http_answer a;
  /* Announced by Content-Length: refused before the body is sent. */
  request(fx,
          "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 2097152\r\n\r\n",
          &a);
  assert_json_error(&a, 413, "body_too_large");
  answer_free(&a);

  /* Chunked: dropped once it grows past 1 MiB, answered at its end; one
  ** that goes on for ever is hung up on. */
  static char chunk[8 + 65536 + 2];
  int hl = snprintf(chunk, sizeof chunk, "10000\r\n");
  memset(chunk + hl, 'x', 65536);
  memcpy(chunk + hl + 65536, "\r\n", 2);
  const char *head = "POST /api/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int endless = 0; endless < 2; endless++) {
    int fd = connect_to(fx->port, 0);
    assert_int_equal(send_all(fd, head, strlen(head)), 0);
    int sent = 0;
    for (; sent < (endless ? 1024 : 32); sent++) /* 2 MiB, or up to 64 MiB */
      if (send_all(fd, chunk, (size_t)hl + 65536 + 2) != 0) break;
    if (!endless) assert_int_equal(send_all(fd, "0\r\n\r\n", 5), 0);
    read_answer(fd, &a, 0);
    close(fd);
    if (endless) {
      assert_int_equal(a.status, 0); /* closed, no answer */
      assert_true(sent < 1024);
    } else {
      assert_json_error(&a, 413, "body_too_large");
    }
    answer_free(&a);
  }
  /* A body under the limit reaches the API's door. */
  request(fx, "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}", &a);
  assert_json_error(&a, 503, "unavailable");
  answer_free(&a);
}

static void test_bad_requests(void **state) {
  fixture *fx = *state;
  static char big[80 * 1024];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + n, 'a', 65536);
  strcpy(big + n + 65536, "\r\n\r\n");
  const char *bad[] = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", /* TLS on a plain port */
      big,
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    http_answer a;
    request(fx, bad[i], &a);
    /* Refused or dropped, never served. */
    if (a.status != 0 && (a.status < 400 || a.status > 499))
      fail_msg("bad request %zu answered %d", i, a.status);
    answer_free(&a);
    get(fx, "/", &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, INDEX_HTML);
    answer_free(&a);
  }
}

/* ---- WebSocket ------------------------------------------------------------- */

/* Waits until the hub holds `n` clients (bounded). */
static void wait_clients(gw_httpd *h, uint64_t n) {
  gw_httpd_stats st;
  for (int i = 0; i < 1000; i++) {
    gw_httpd_stats_get(h, &st);
    if (st.ws_clients == n) return;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  fail_msg("expected %llu WebSocket clients, have %llu", (unsigned long long)n,
           (unsigned long long)st.ws_clients);
}

#define WS_HEADERS "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"

/* Sends an upgrade request for `target` with the extra headers and reads
** the answer. */
static void ws_handshake_to(int fd, const char *target, const char *extra, http_answer *a) {
  char raw[2048];
  snprintf(raw, sizeof raw,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: keep-alive, Upgrade\r\n%s\r\n",
           target, extra);
  assert_int_equal(send_all(fd, raw, strlen(raw)), 0);
  read_answer(fd, a, 0);
}

static void ws_handshake(int fd, const char *extra, http_answer *a) {
  ws_handshake_to(fd, "/api/ws?token=t", extra, a);
}

/* A WebSocket client connected and upgraded; rcvbuf > 0 shrinks its buffer. */
static int ws_open(const fixture *fx, int rcvbuf) {
  int fd = connect_to(fx->port, rcvbuf);
  http_answer a;
  ws_handshake(fd, WS_HEADERS, &a);
  assert_int_equal(a.status, 101);
  answer_free(&a);
  return fd;
}

/* Reads one frame from the server (unmasked).  Returns the opcode, or -1. */
static int ws_read(int fd, uint8_t **payload, size_t *len) {
  uint8_t hdr[GW_WS_MAX_HEADER];
  size_t have = 0;
  gw_ws_frame f;
  *payload = NULL;
  *len = 0;
  for (;;) {
    int rc = gw_ws_parse(hdr, have, UINT32_MAX, 0, &f);
    if (rc == GW_WS_ERROR) return -1;
    if (f.header_len > 0 && have >= f.header_len) break;
    if (rc == GW_WS_FRAME) break;
    if (read_exact(fd, hdr + have, 1) != 0) return -1;
    have++;
  }
  if (f.masked) return -1; /* a server never masks */
  *len = (size_t)f.payload_len;
  *payload = malloc(*len + 1);
  assert_non_null(*payload);
  if (*len > 0 && read_exact(fd, *payload, *len) != 0) {
    free(*payload);
    *payload = NULL;
    return -1;
  }
  (*payload)[*len] = 0;
  return f.opcode;
}

/* Sends one frame, masked unless mask_it is 0. */
static void ws_send(int fd, int opcode, const void *data, size_t len, int mask_it) {
  uint8_t frame[GW_WS_MAX_HEADER + 256];
  uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  assert_true(len <= 256);
  size_t hl = gw_ws_header(frame, opcode, 1, len, mask_it ? mask : NULL);
  memcpy(frame + hl, data, len);
  if (mask_it) gw_ws_unmask(frame + hl, len, mask, 0);
  assert_int_equal(send_all(fd, frame, hl + len), 0);
}

/* After a close frame: the server ends the stream. */
static void assert_eof(int fd) {
  char c;
  assert_int_equal(read_some(fd, &c, 1), 0);
}

static void broadcast_text(gw_httpd *h, const char *text) {
  gw_blob *b = gw_blob_new(text, strlen(text));
  assert_non_null(b);
  gw_httpd_broadcast(h, b);
  gw_blob_unref(b);
}

static void test_ws_handshake(void **state) {
  fixture *fx = *state;
  int fd = connect_to(fx->port, 0);
  http_answer a;
  char v[128];
  ws_handshake(fd, WS_HEADERS, &a);
  assert_int_equal(a.status, 101);
  assert_true(header(&a, "Sec-WebSocket-Accept", v, sizeof v));
  assert_string_equal(v, RFC_ACCEPT);
  assert_true(header(&a, "Upgrade", v, sizeof v));
  assert_string_equal(v, "websocket");
  assert_true(header(&a, "Connection", v, sizeof v));
  assert_non_null(strcasestr(v, "upgrade"));
  answer_free(&a);
  wait_clients(fx->h, 1);
  /* A polite close: the server echoes the code and ends the stream. */
  ws_send(fd, GW_WS_CLOSE, "\x03\xe8", 2, 1);
  uint8_t *p;
  size_t n;
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_CLOSE);
  assert_int_equal(n, 2);
  assert_memory_equal(p, "\x03\xe8", 2);
  free(p);
  assert_eof(fd);
  close(fd);
  wait_clients(fx->h, 0);

  struct {
    const char *headers, *code;
  } bad[] = {
      {"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " RFC_KEY "\r\n", "bad_version"},
      {"Sec-WebSocket-Key: " RFC_KEY "\r\n", "bad_version"},
      {"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short==\r\n", "bad_key"},
      {"Sec-WebSocket-Version: 13\r\n", "bad_key"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fd = connect_to(fx->port, 0);
    ws_handshake(fd, bad[i].headers, &a);
    assert_json_error(&a, 400, bad[i].code);
    answer_free(&a);
    close(fd);
  }
  /* Not an upgrade at all. */
  get(fx, "/api/ws", &a);
  assert_json_error(&a, 400, "bad_upgrade");
  answer_free(&a);
}

static void test_ws_broadcast_ping_close(void **state) {
  fixture *fx = *state;
  int fd = ws_open(fx, 0);
  wait_clients(fx->h, 1);
  broadcast_text(fx->h, "{\"type\":\"state\",\"t\":1}");
  broadcast_text(fx->h, "{\"type\":\"alarm\"}");
  uint8_t *p;
  size_t n;
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_TEXT);
  assert_string_equal((char *)p, "{\"type\":\"state\",\"t\":1}");
  free(p);
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_TEXT);
  assert_string_equal((char *)p, "{\"type\":\"alarm\"}");
  free(p);

  /* A text message from the client is read and ignored; a ping is answered. */
  ws_send(fd, GW_WS_TEXT, "hello", 5, 1);
  ws_send(fd, GW_WS_PING, "are you there", 13, 1);
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_PONG);
  assert_int_equal(n, 13);
  assert_memory_equal(p, "are you there", 13);
  free(p);

  /* An unmasked frame breaks the protocol: close 1002, end of stream. */
  ws_send(fd, GW_WS_TEXT, "bare", 4, 0);
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_CLOSE);
  assert_int_equal(n, 2);
  assert_int_equal(p[0] << 8 | p[1], GW_WS_CLOSE_PROTOCOL);
  free(p);
  assert_eof(fd);
  close(fd);
  wait_clients(fx->h, 0);

  /* A frame over 64 KiB: 1009, decided from its header. */
  fd = ws_open(fx, 0);
  uint8_t hdr[GW_WS_MAX_HEADER];
  uint8_t mask[4] = {1, 2, 3, 4};
  size_t hl = gw_ws_header(hdr, GW_WS_BINARY, 1, 70000, mask);
  assert_int_equal(send_all(fd, hdr, hl), 0);
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_CLOSE);
  assert_int_equal(p[0] << 8 | p[1], GW_WS_CLOSE_TOO_BIG);
  free(p);
  assert_eof(fd);
  close(fd);

  /* Reserved bits: 1002. */
  fd = ws_open(fx, 0);
  static const uint8_t rsv[] = {0xC1, 0x80, 1, 2, 3, 4};
  assert_int_equal(send_all(fd, rsv, sizeof rsv), 0);
  assert_int_equal(ws_read(fd, &p, &n), GW_WS_CLOSE);
  assert_int_equal(p[0] << 8 | p[1], GW_WS_CLOSE_PROTOCOL);
  free(p);
  assert_eof(fd);
  close(fd);
  wait_clients(fx->h, 0);
}

static void test_ws_hundred_clients(void **state) {
  fixture *fx = *state;
  enum { N = 100 };
  int fd[N];
  for (int i = 0; i < N; i++) fd[i] = ws_open(fx, 0);
  wait_clients(fx->h, N);
  gw_httpd_stats before, after;
  gw_httpd_stats_get(fx->h, &before);
  broadcast_text(fx->h, "{\"type\":\"state\",\"t\":2}");
  for (int i = 0; i < N; i++) {
    uint8_t *p;
    size_t n;
    assert_int_equal(ws_read(fd[i], &p, &n), GW_WS_TEXT);
    assert_string_equal((char *)p, "{\"type\":\"state\",\"t\":2}");
    free(p);
  }
  /* The hub counts a frame once its send returned, which may be just after
  ** the client has read it. */
  for (int i = 0; i < 500; i++) {
    gw_httpd_stats_get(fx->h, &after);
    if (after.frames_sent - before.frames_sent >= N) break;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(after.frames_sent - before.frames_sent, N);
  assert_int_equal(after.frames_dropped, before.frames_dropped);
  for (int i = 0; i < N; i++) close(fd[i]);
  wait_clients(fx->h, 0);
}

static void test_ws_slow_client(void **state) {
  fixture *fx = *state;
  int slow = ws_open(fx, 4096); /* never reads */
  int good = ws_open(fx, 0);
  wait_clients(fx->h, 2);
  size_t len = 65536;
  char *text = malloc(len + 1);
  assert_non_null(text);
  memset(text, 'x', len);
  text[len] = '\0';
  gw_blob *b = gw_blob_new(text, len);
  assert_non_null(b);
  gw_httpd_stats st;
  int frames = 0;
  /* The slow client's socket buffers fill after some megabytes, then its
  ** queue, then it misses frames; the good client gets every one. */
  for (; frames < 4000; frames++) {
    gw_httpd_broadcast(fx->h, b);
    uint8_t *p;
    size_t n;
    assert_int_equal(ws_read(good, &p, &n), GW_WS_TEXT);
    assert_int_equal(n, len);
    free(p);
    gw_httpd_stats_get(fx->h, &st);
    if (st.frames_dropped >= 3) break;
  }
  assert_true(st.frames_dropped >= 3);
  assert_int_equal(st.ws_clients, 2);
  /* A few more: the good client still gets each. */
  for (int i = 0; i < 3; i++) {
    gw_httpd_broadcast(fx->h, b);
    uint8_t *p;
    size_t n;
    assert_int_equal(ws_read(good, &p, &n), GW_WS_TEXT);
    free(p);
  }
  gw_blob_unref(b);
  free(text);
  close(slow);
  close(good);
  wait_clients(fx->h, 0);
}

static void test_ws_limit(void **state) {
  fixture *fx = *state; /* ws_max_clients = 2 */
  int a1 = ws_open(fx, 0), a2 = ws_open(fx, 0);
  wait_clients(fx->h, 2);
  int fd = connect_to(fx->port, 0);
  http_answer a;
  ws_handshake(fd, WS_HEADERS, &a);
  assert_json_error(&a, 503, "too_many_clients");
  answer_free(&a);
  close(fd);
  close(a1);
  wait_clients(fx->h, 1);
  int a3 = ws_open(fx, 0);
  wait_clients(fx->h, 2);
  close(a2);
  close(a3);
  wait_clients(fx->h, 0);
}

static void test_listen_errors(void **state) {
  (void)state;
  static const char *bad[] = {"nonsense", "127.0.0.1:", "127.0.0.1:99999", ":80", "999.1.1.1:80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    gw_httpd_opts o;
    gw_httpd_opts_init(&o);
    o.listen = bad[i];
    gw_httpd *h = (gw_httpd *)1;
    gw_error err;
    assert_int_equal(gw_httpd_start(&o, &h, &err), GW_EINVAL);
    assert_null(h);
    assert_non_null(strstr(err.msg, bad[i]));
  }
  gw_httpd_opts o;
  gw_httpd_opts_init(&o);
  o.listen = "127.0.0.1:0";
  o.web_dir = "/nonexistent/web";
  gw_httpd *h = NULL;
  gw_error err;
  assert_int_equal(gw_httpd_start(&o, &h, &err), GW_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/web"));
  gw_httpd_stop(NULL);
}

static int count_fds(void) {
  int n = 0;
  char path[64];
  for (int fd = 0; fd < 4096; fd++) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct stat st;
    if (lstat(path, &st) == 0) n++;
  }
  return n;
}

/* Stopping with clients connected: they see the end of the stream, and
** every socket, thread handle and descriptor of the server is released. */
static void test_stop_with_clients(void **state) {
  (void)state;
  int before = count_fds();
  void *fxp = NULL;
  assert_int_equal(setup(&fxp), 0);
  fixture *fx = fxp;
  int ws[3];
  for (int i = 0; i < 3; i++) ws[i] = ws_open(fx, 0);
  wait_clients(fx->h, 3);
  int idle = connect_to(fx->port, 0); /* an HTTP connection that never sends */
  broadcast_text(fx->h, "{\"type\":\"state\"}");
  gw_httpd_stop(fx->h);
  fx->h = NULL;
  for (int i = 0; i < 3; i++) {
    uint8_t *p;
    size_t n;
    int op;
    /* The frame may or may not have gone out; then the stream ends. */
    while ((op = ws_read(ws[i], &p, &n)) == GW_WS_TEXT) free(p);
    assert_int_equal(op, -1);
    close(ws[i]);
  }
  close(idle);
  assert_int_equal(teardown(&fxp), 0);
  assert_int_equal(count_fds(), before);
}

/* ---- with the real API ----------------------------------------------------- */

static void test_with_api(void **state) {
  fixture *fx = *state;
  http_answer a;
  char v[512];
  /* The login's answer passes through: status, body, Set-Cookie. */
  const char *login = "{\"name\":\"ops\",\"password\":\"correct horse\"}";
  char raw[1024];
  snprintf(raw, sizeof raw,
           "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
           strlen(login), login);
  request(fx, raw, &a);
  assert_int_equal(a.status, 200);
  assert_true(header(&a, "Cache-Control", v, sizeof v));
  assert_string_equal(v, "no-store");
  assert_true(header(&a, "Set-Cookie", v, sizeof v));
  assert_memory_equal(v, "gw_token=", 9);
  char token[256];
  const char *t = strstr(a.body, "\"token\":\"");
  assert_non_null(t);
  t += 9;
  size_t n = strcspn(t, "\"");
  assert_true(n > 0 && n < sizeof token);
  memcpy(token, t, n);
  token[n] = '\0';
  answer_free(&a);

  /* No token, a wrong one: 401.  The token as a query parameter or as the
  ** cookie: 101. */
  int fd = connect_to(fx->port, 0);
  ws_handshake_to(fd, "/api/ws", WS_HEADERS, &a);
  assert_json_error(&a, 401, "unauthorized");
  answer_free(&a);
  close(fd);
  fd = connect_to(fx->port, 0);
  ws_handshake_to(fd, "/api/ws?token=00112233", WS_HEADERS, &a);
  assert_json_error(&a, 401, "unauthorized");
  answer_free(&a);
  close(fd);
  char target[512], extra[1024];
  snprintf(target, sizeof target, "/api/ws?token=%s", token);
  int ws1 = connect_to(fx->port, 0);
  ws_handshake_to(ws1, target, WS_HEADERS, &a);
  assert_int_equal(a.status, 101);
  answer_free(&a);
  snprintf(extra, sizeof extra, WS_HEADERS "Cookie: theme=dark; gw_token=%s\r\n", token);
  int ws2 = connect_to(fx->port, 0);
  ws_handshake_to(ws2, "/api/ws", extra, &a);
  assert_int_equal(a.status, 101);
  answer_free(&a);
  wait_clients(fx->h, 2);
  broadcast_text(fx->h, "{\"type\":\"state\"}");
  uint8_t *p;
  size_t len;
  assert_int_equal(ws_read(ws1, &p, &len), GW_WS_TEXT);
  free(p);
  assert_int_equal(ws_read(ws2, &p, &len), GW_WS_TEXT);
  free(p);
  close(ws1);
  close(ws2);

  /* A route with the bearer header. */
  snprintf(raw, sizeof raw,
           "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Connection: close\r\n\r\n",
           token);
  request(fx, raw, &a);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(a.body, "\"version\""));
  assert_true(header(&a, "X-Frame-Options", v, sizeof v));
  answer_free(&a);
  wait_clients(fx->h, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_static_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_traversal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_without_api, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ws_handshake, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ws_broadcast_ping_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ws_hundred_clients, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ws_slow_client, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ws_limit, setup_small, teardown),
      cmocka_unit_test(test_listen_errors),
      cmocka_unit_test(test_stop_with_clients),
      cmocka_unit_test_setup_teardown(test_with_api, setup_api, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** ws-clients.c -- many WebSocket clients of the live feed, counting frames.
**
**   cc -O2 -o ws-clients bench/ws-clients.c
**   ./ws-clients HOST:PORT TOKEN [CLIENTS [SECONDS]]     (defaults 100, 20)
**
** Opens CLIENTS connections to ws://HOST:PORT/api/ws?token=TOKEN, reads every
** frame for SECONDS seconds with one poll() loop, and prints one line per
** second (frames received in that second by all clients, clients still
** open) and then a summary: frames per client (min, max), and the clients
** that missed frames, i.e. received fewer than the best client less one (a
** client connected a moment later may miss the first frame, no more).  A
** client also counts as missing frames when the server closed it.
**
** Standalone on purpose (no Greenwave headers), so that it runs against any
** daemon, local or not; it never writes to the server after the handshake
** except to answer a ping.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct client {
  int fd;
  int open;
  uint64_t frames; /* text frames received */
  uint8_t hdr[10]; /* the frame header being read */
  size_t hdr_have; /* its bytes so far */
  uint64_t skip;   /* payload bytes left of the current frame */
  int opcode;      /* of the current frame */
  uint8_t ping[125];
  size_t ping_len;
} client;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dial(const char *host, const char *port) {
  struct addrinfo hints, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0) return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

/* The upgrade; 0 when the server answered 101.  Reads byte by byte so that
** no frame byte is taken with the head. */
static int handshake(int fd, const char *host, const char *token) {
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET /api/ws?token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                   token, host);
  if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
  char head[4096];
  size_t have = 0;
  while (have + 1 < sizeof head) {
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 5000) != 1 || recv(fd, head + have, 1, 0) != 1) return -1;
    have++;
    if (have >= 4 && memcmp(head + have - 4, "\r\n\r\n", 4) == 0) break;
  }
  head[have] = '\0';
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
    char *eol = strstr(head, "\r\n");
    if (eol) *eol = '\0';
    fprintf(stderr, "ws-clients: upgrade refused: %s\n", head);
    return -1;
  }
  return 0;
}

static void send_pong(client *c) {
  uint8_t f[2 + 4 + 125];
  f[0] = 0x8A;
  f[1] = (uint8_t)(0x80 | c->ping_len);
  memset(f + 2, 0, 4); /* a zero mask: the payload goes as it is */
  memcpy(f + 6, c->ping, c->ping_len);
  ssize_t r = send(c->fd, f, 6 + c->ping_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)r;
}

/* Consumes bytes from the server: headers, then payloads skipped. */
static void feed(client *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (c->skip > 0) {
      size_t take = c->skip < n ? (size_t)c->skip : n;
      if (c->opcode == 0x9 && c->ping_len + take <= sizeof c->ping) {
        memcpy(c->ping + c->ping_len, p, take);
        c->ping_len += take;
      }
      c->skip -= take;
      p += take;
      n -= take;
      if (c->skip == 0 && c->opcode == 0x9) send_pong(c);
      continue;
    }
    c->hdr[c->hdr_have++] = *p++;
    n--;
    if (c->hdr_have < 2) continue;
    size_t need = 2;
    uint64_t len = c->hdr[1] & 0x7F;
    if (len == 126) need = 4;
    if (len == 127) need = 10;
    if (c->hdr_have < need) continue;
    if (len == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
    if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | c->hdr[2 + i];
    }
    c->opcode = c->hdr[0] & 0x0F;
    c->hdr_have = 0;
    c->skip = len;
    c->ping_len = 0;
    if (c->opcode == 0x1 || c->opcode == 0x2) c->frames++;
    if (c->opcode == 0x8) c->open = 0;
    if (len == 0 && c->opcode == 0x9) send_pong(c);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ws-clients HOST:PORT TOKEN [CLIENTS [SECONDS]]\n");
    return 2;
  }
  char host[256];
  snprintf(host, sizeof host, "%s", argv[1]);
  char *colon = strrchr(host, ':');
  if (!colon) {
    fprintf(stderr, "ws-clients: expected HOST:PORT, got %s\n", argv[1]);
    return 2;
  }
  *colon = '\0';
  const char *port = colon + 1, *token = argv[2];
  int nc = argc > 3 ? atoi(argv[3]) : 100;
  double seconds = argc > 4 ? atof(argv[4]) : 20;
  if (nc < 1 || nc > 10000 || !(seconds > 0) || seconds > 3600) {
    fprintf(stderr, "ws-clients: CLIENTS in 1..10000, SECONDS in (0, 3600]\n");
    return 2;
  }
  client *c = calloc((size_t)nc, sizeof *c);
  struct pollfd *pf = calloc((size_t)nc, sizeof *pf);
  if (!c || !pf) return 1;
  for (int i = 0; i < nc; i++) {
    c[i].fd = dial(host, port);
    if (c[i].fd < 0 || handshake(c[i].fd, argv[1], token) != 0) {
      fprintf(stderr, "ws-clients: client %d could not connect to %s\n", i, argv[1]);
      return 1;
    }
    fcntl(c[i].fd, F_SETFL, fcntl(c[i].fd, F_GETFL) | O_NONBLOCK);
    c[i].open = 1;
  }
  printf("%6s %10s %8s\n", "second", "frames", "open");
  double t0 = now_s(), next = t0 + 1;
  uint64_t last_total = 0;
  int sec = 0;
  for (;;) {
    double t = now_s();
    if (t >= next) {
      uint64_t total = 0;
      int open = 0;
      for (int i = 0; i < nc; i++) {
        total += c[i].frames;
        open += c[i].open;
      }
      printf("%6d %10llu %8d\n", ++sec, (unsigned long long)(total - last_total), open);
      fflush(stdout);
      last_total = total;
      next += 1;
      if (t - t0 >= seconds) break;
    }
    for (int i = 0; i < nc; i++) {
      pf[i].fd = c[i].open ? c[i].fd : -1;
      pf[i].events = POLLIN;
      pf[i].revents = 0;
    }
    int wait_ms = (int)((next - t) * 1000) + 1;
    if (poll(pf, (nfds_t)nc, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < nc; i++) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      uint8_t buf[65536];
      ssize_t r = recv(c[i].fd, buf, sizeof buf, 0);
      if (r > 0)
        feed(&c[i], buf, (size_t)r);
      else if (r == 0 || (errno != EAGAIN && errno != EINTR))
        c[i].open = 0;
    }
  }
  uint64_t mn = UINT64_MAX, mx = 0, total = 0;
  for (int i = 0; i < nc; i++) {
    if (c[i].frames < mn) mn = c[i].frames;
    if (c[i].frames > mx) mx = c[i].frames;
    total += c[i].frames;
  }
  int missed = 0, closed = 0;
  for (int i = 0; i < nc; i++) {
    if (c[i].frames + 1 < mx || !c[i].open) missed++;
    if (!c[i].open) closed++;
  }
  printf(
      "clients %d  frames %llu  per client min %llu max %llu  missed frames %d  closed by "
      "server %d\n",
      nc, (unsigned long long)total, (unsigned long long)mn, (unsigned long long)mx, missed,
      closed);
  for (int i = 0; i < nc; i++) close(c[i].fd);
  free(c);
  free(pf);
  return 0;
}

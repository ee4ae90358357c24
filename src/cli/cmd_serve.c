/*
** cmd_serve.c -- `greenwave serve` (the control centre daemon) and
** `greenwave status` (a running daemon's summary).
**
** serve wires the layers together: the store (migrated on open), the live
** centre (field + control loop + writer), the API and the HTTP server, whose
** WebSocket clients get the centre's snapshots at 1 Hz and every alarm.
** SIGINT and SIGTERM stop it cleanly; a kill -9 loses nothing that was
** acknowledged, since every acknowledged change is committed first.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "greenwave/store.h"
#include "server/api.h"
#include "server/centre.h"
#include "server/http.h"

static const char serve_usage[] =
    "usage: greenwave serve [--listen HOST:PORT] [--db URL] [--city NAME | --scenario CFG]\n"
    "                       [--field sim|sumo|sumo:CFG] [--speed 1|N|max] [--start HH:MM]\n"
    "                       [--end S] [--warmup S] [--web DIR] [--quiet]\n"
    "\n"
    "Runs the control centre: the city in the built-in simulator, every signal under its\n"
    "controller and safety monitor, the REST + WebSocket API and the dashboard.\n"
    "\n"
    "  --listen HOST:PORT  where to listen (default 127.0.0.1:8080; 0.0.0.0:PORT opens it\n"
    "                      to the network: put it behind TLS)\n"
    "  --db URL            sqlite:PATH (default sqlite:var/greenwave.db) or postgresql://...\n"
    "  --city NAME         a city shipped in cities/ (default phnom-penh)\n"
    "  --scenario CFG      a SUMO .sumocfg instead of a city\n"
    "  --field F           sim: the built-in simulator (default); sumo: SUMO over TraCI on the\n"
    "                      same scenario (sumo:CFG names the scenario); SUMO runs from its\n"
    "                      own begin time to the end of its demand\n"
    "  --speed X           field seconds per wall second: 1 (real time, default), N, or max\n"
    "  --start HH:MM       field time of day to start at (default: the clock's time of day)\n"
    "  --end S             stop when the field reaches S seconds after midnight\n"
    "  --warmup S          simulate S seconds before the start time as fast as possible,\n"
    "                      so the city is not empty when it starts (default 900; 0: none)\n"
    "  --web DIR           the dashboard's files (default: the source tree's web/)\n"
    "  --quiet             no live status line\n";

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

typedef struct serve_ctx {
  gw_httpd *httpd;
  gw_centre *centre;
  uint64_t dropped; /* frames the HTTP server had dropped at the last broadcast */
} serve_ctx;

/* The loop's 1 Hz snapshot to every WebSocket client; frames slow clients
** missed are counted in the centre's stats (and so in the next snapshot). */
static void on_state(void *ud, gw_blob *snap) {
  serve_ctx *s = ud;
  if (!s->httpd) return;
  gw_httpd_broadcast(s->httpd, snap);
  gw_httpd_stats hs;
  gw_httpd_stats_get(s->httpd, &hs);
  for (; s->dropped < hs.frames_dropped; s->dropped++)
    if (s->centre) gw_centre_count_dropped_frame(s->centre);
}

static void on_alarm(void *ud, const char *json) {
  serve_ctx *s = ud;
  gw_blob *b = gw_blob_new(json, strlen(json));
  if (b && s->httpd) gw_httpd_broadcast(s->httpd, b);
  gw_blob_unref(b);
}

static int parse_hhmm(const char *s, double *out) {
  int h, m;
  char extra;
  if (sscanf(s, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 || m < 0 || m > 59) return -1;
  *out = h * 3600.0 + m * 60.0;
  return 0;
}

/* sqlite:var/... needs ./var to exist. */
static void make_db_dir(const char *url) {
  if (strncmp(url, "sqlite:", 7) || !strcmp(url + 7, ":memory:")) return;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", url + 7);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  *slash = 0;
  if (*dir) mkdir(dir, 0755);
}

static void clock_text(double t, char *buf, size_t len) {
  long s = (long)t % 86400;
  snprintf(buf, len, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

int gw_cmd_serve(int argc, char **argv) {
  const char *listen = "127.0.0.1:8080", *db = "sqlite:var/greenwave.db", *city = "phnom-penh";
  const char *scenario = NULL, *web = GW_SOURCE_DIR "/web", *field = "sim";
  double speed = 1, start = -1, end = -1, warmup = 900;
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(serve_usage, stdout);
      return 0;
    }
    if (!strcmp(a, "--quiet")) {
      quiet = 1;
      continue;
    }
    if (!v) {
      gw_cli_error("serve: %s needs a value (try --help)", a);
      return 2;
    }
    i++;
    if (!strcmp(a, "--listen"))
      listen = v;
    else if (!strcmp(a, "--db"))
      db = v;
    else if (!strcmp(a, "--city"))
      city = v;
    else if (!strcmp(a, "--scenario"))
      scenario = v;
    else if (!strcmp(a, "--web"))
      web = v;
    else if (!strcmp(a, "--field")) {
      if (!strncmp(v, "sumo:", 5)) {
        field = "sumo";
        scenario = v + 5;
      } else if (!strcmp(v, "sumo") || !strcmp(v, "sim")) {
        field = v;
      } else {
        gw_cli_error("serve: --field wants sim, sumo or sumo:SCENARIO.sumocfg, not '%s'", v);
        return 2;
      }
    } else if (!strcmp(a, "--speed")) {
      if (!strcmp(v, "max"))
        speed = 0;
      else if (gw_cli_parse_num("--speed", v, 0.01, 100000, &speed))
        return 2;
    } else if (!strcmp(a, "--start")) {
      if (parse_hhmm(v, &start)) {
        gw_cli_error("serve: --start wants HH:MM, not '%s'", v);
        return 2;
      }
    } else if (!strcmp(a, "--warmup")) {
      if (gw_cli_parse_num("--warmup", v, 0, 86400, &warmup)) return 2;
    } else if (!strcmp(a, "--end")) {
      if (gw_cli_parse_num("--end", v, 0, 1e9, &end)) return 2;
    } else {
      gw_cli_error("serve: unknown option '%s' (try --help)", a);
      return 2;
    }
  }
  make_db_dir(db);
  /* SUMO needs its XML schemas; Debian puts them here. */
  if (!strcmp(field, "sumo") && !getenv("SUMO_HOME") && !access("/usr/share/sumo/data/xsd", R_OK))
    setenv("SUMO_HOME", "/usr/share/sumo", 0);
  gw_error err = {0, {0}};
  gw_store *s = NULL;
  if (gw_store_open(db, &s, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  int users = 0;
  gw_store_user_count(s, &users, &err);
  gw_store_close(s);

  serve_ctx ctx = {NULL, NULL, 0};
  gw_centre_opts co;
  gw_centre_opts_init(&co);
  co.city = scenario ? NULL : city;
  co.scenario = scenario;
  co.field = field;
  co.db_url = db;
  co.speed = speed;
  co.start_s = start;
  co.end_s = end;
  co.warmup_s = field[0] == 's' && field[1] == 'u' ? 0 : warmup; /* SUMO runs from its begin */
  co.on_state = on_state;
  co.on_alarm = on_alarm;
  co.ud = &ctx;
  gw_centre *centre = NULL;
  gw_api *api = NULL;
  int status = 1;
  if (gw_centre_create(&co, &centre, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  ctx.centre = centre;
  gw_api_opts ao;
  gw_api_opts_init(&ao);
  ao.db_url = db;
  ao.centre = centre;
  if (gw_api_create(&ao, &api, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  gw_httpd_opts ho;
  gw_httpd_opts_init(&ho);
  ho.listen = listen;
  ho.api = api;
  struct stat st;
  ho.web_dir = stat(web, &st) == 0 && S_ISDIR(st.st_mode) ? web : NULL;
  if (gw_httpd_start(&ho, &ctx.httpd, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (gw_centre_start(centre, &err)) {
    gw_cli_error("%s", err.msg);
    goto out;
  }
  char host[256];
  snprintf(host, sizeof host, "%s", listen);
  char *colon = strrchr(host, ':');
  if (colon) *colon = 0;
  fprintf(stderr, "greenwave: control centre for %s: %u intersections, database %s\n",
          scenario ? scenario : city, gw_centre_intersection_count(centre), db);
  fprintf(stderr, "greenwave: dashboard at http://%s:%d/  (API: /api/, feed: /api/ws)\n",
          !strcmp(host, "0.0.0.0") ? "127.0.0.1" : host, gw_httpd_port(ctx.httpd));
  if (!ho.web_dir) fprintf(stderr, "greenwave: no dashboard files at %s (API only)\n", web);
  if (users == 0)
    fprintf(stderr,
            "greenwave: no users yet. Create the first admin in another terminal:\n"
            "             ./build/greenwave user add admin --role admin --db %s\n"
            "           then log in at the address above.\n",
            db);
  int tty = isatty(2) && !quiet;
  double last_line = 0;
  while (!stop_signal && !gw_centre_finished(centre)) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double w = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    if (quiet || w - last_line < (tty ? 1 : 60)) continue;
    last_line = w;
    gw_centre_stats cs;
    gw_centre_stats_get(centre, &cs);
    gw_httpd_stats hs;
    gw_httpd_stats_get(ctx.httpd, &hs);
    char clk[16];
    clock_text(cs.t, clk, sizeof clk);
    fprintf(stderr,
            "%sfield %s  steps %llu  loop cpu %.1f%%  missed %llu  events %llu  alarms %llu  "
            "clients %llu  requests %llu%s",
            tty ? "\r\033[K" : "greenwave: ", clk, (unsigned long long)cs.steps, cs.cpu_share * 100,
            (unsigned long long)cs.missed_deadlines, (unsigned long long)cs.events_written,
            (unsigned long long)cs.alarms_raised, (unsigned long long)hs.ws_clients,
            (unsigned long long)hs.requests, tty ? "" : "\n");
  }
  if (tty) fputc('\n', stderr);
  fprintf(stderr, "greenwave: stopping\n");
  status = 0;
out:
  /* The loop first (it broadcasts through the HTTP server), then the
  ** server (its workers use the API and the centre), then the rest. */
  gw_centre_stop(centre);
  if (ctx.httpd) gw_httpd_stop(ctx.httpd);
  ctx.httpd = NULL;
  gw_api_destroy(api);
  gw_centre_destroy(centre);
  return status;
}

/* ---- status ------------------------------------------------------------ */

static const char status_usage[] =
    "usage: greenwave status [--url http://HOST:PORT]\n"
    "\n"
    "Prints a running daemon's summary (GET /api/health) as JSON.\n";

int gw_cmd_status(int argc, char **argv) {
  const char *url = "http://127.0.0.1:8080";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(status_usage, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--url") && i + 1 < argc) {
      url = argv[++i];
      continue;
    }
    gw_cli_error("status: unknown option '%s' (try --help)", argv[i]);
    return 2;
  }
  char host[256];
  int port = 80;
  if (sscanf(url, "http://%255[^:/]:%d", host, &port) < 1) {
    gw_cli_error("status: '%s' is not http://HOST:PORT", url);
    return 2;
  }
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  char ports[16];
  snprintf(ports, sizeof ports, "%d", port);
  if (getaddrinfo(host, ports, &hints, &ai) || !ai) {
    gw_cli_error("status: cannot resolve '%s'", host);
    return 1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
    gw_cli_error("status: no daemon at %s: %s", url, strerror(errno));
    freeaddrinfo(ai);
    if (fd >= 0) close(fd);
    return 1;
  }
  freeaddrinfo(ai);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /api/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
  if (write(fd, req, (size_t)n) != n) {
    gw_cli_error("status: cannot send the request");
    close(fd);
    return 1;
  }
  static char buf[1 << 16];
  size_t len = 0;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
    if (len == sizeof buf - 1) break;
  }
  close(fd);
  buf[len] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  if (strncmp(buf, "HTTP/1.", 7) || !body) {
    gw_cli_error("status: no HTTP answer from %s", url);
    return 1;
  }
  int code = atoi(buf + 9);
  printf("%s\n", body + 4);
  return code == 200 ? 0 : 1;
}

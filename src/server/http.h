/*
** http.h -- what the HTTP layer hands the API and gets back.
**
** src/server/http.c owns the sockets (libmicrohttpd), reads the request,
** enforces the size limits and calls gw_api_handle with a gw_http_req;
** the API fills a gw_http_resp.  The API never touches a socket, so it is
** tested and fuzzed by calling gw_api_handle directly.
*/
#ifndef GW_SERVER_HTTP_H
#define GW_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "greenwave/gw.h"

#define GW_HTTP_MAX_BODY (1u << 20) /* larger request bodies get 413 */

typedef struct gw_http_req {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* "/api/intersections/J1", no query */
  const char *query;         /* "from=...&to=..." (raw, may be NULL) */
  const char *body;          /* may be NULL; not NUL-terminated */
  size_t body_len;
  const char *authorization; /* the Authorization header, or NULL */
  const char *cookie;        /* the Cookie header, or NULL */
  const char *remote;        /* the client's address, "127.0.0.1" */
} gw_http_req;

typedef struct gw_http_resp {
  int status;               /* 200, 201, 400, ... */
  const char *content_type; /* static string; NULL: application/json */
  char *body;               /* malloc'd by the API, freed by the HTTP layer */
  size_t len;
  char set_cookie[256];     /* a Set-Cookie value, or "" */
  int retry_after_s;        /* > 0: a Retry-After header (429) */
} gw_http_resp;

/* Query-string helper: copies the URL-decoded value of `key` into out
** (NUL-terminated, truncated to len - 1); 1 when present, 0 when absent. */
int gw_http_query(const char *query, const char *key, char *out, size_t len);

/* ---- the daemon's HTTP server ---------------------------------------------
** libmicrohttpd with a small thread pool; /api/ws upgrades to a WebSocket
** (RFC 6455, our own framing) after the token (query `token=` or the
** gw_token cookie) is checked with gw_api_token_role; everything else under
** /api/ goes to gw_api_handle; other paths are static files from web_dir
** (index.html for "/"), never outside it. */
struct gw_api;
struct gw_blob;
typedef struct gw_httpd gw_httpd;
typedef struct gw_httpd_opts {
  const char *listen;  /* "127.0.0.1:8080" (default); "0.0.0.0:8080" to open up */
  const char *web_dir; /* the dashboard's files; NULL: no static files */
  struct gw_api *api;
  int threads;         /* worker threads; default 2 */
  int ws_max_clients;  /* default 256; more get 503 */
} gw_httpd_opts;
void gw_httpd_opts_init(gw_httpd_opts *o);
int gw_httpd_start(const gw_httpd_opts *o, gw_httpd **out, gw_error *err);
/* Sends a text frame to every WebSocket client without blocking: a client
** whose queue is full (4 frames) misses this one, counted as dropped.
** Takes its own reference to the blob. */
void gw_httpd_broadcast(gw_httpd *h, struct gw_blob *frame);
typedef struct gw_httpd_stats {
  uint64_t requests, ws_clients, frames_sent, frames_dropped, bad_requests;
} gw_httpd_stats;
void gw_httpd_stats_get(gw_httpd *h, gw_httpd_stats *out);
/* The port actually bound (useful with port 0). */
int gw_httpd_port(const gw_httpd *h);
void gw_httpd_stop(gw_httpd *h);

#endif

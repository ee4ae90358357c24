/*
** api.h -- the REST API: routing, authentication, roles and audit.
**
** gw_api_handle is pure request-in, response-out: it reads and writes the
** store, asks the centre for live state and queues the centre's commands.
** It is safe to call from several threads at once (each call borrows a store
** connection from a small pool).  docs/api.md and /api/openapi.json list the
** routes.
*/
#ifndef GW_SERVER_API_H
#define GW_SERVER_API_H

#include "greenwave/gw.h"
#include "server/centre.h"
#include "server/http.h"

typedef struct gw_api gw_api;

typedef struct gw_api_opts {
  const char *db_url;       /* the store; the API opens its own connections */
  gw_centre *centre;        /* may be NULL (tests): live routes answer 503 */
  double session_ttl_s;     /* default 8 h, a control-room shift */
  int login_max_failures;   /* per user name and per address, per window; default 5 */
  double login_window_s;    /* default 300 */
  const char *openapi_path; /* the OpenAPI document to serve; NULL: built in path */
} gw_api_opts;
void gw_api_opts_init(gw_api_opts *o);

int gw_api_create(const gw_api_opts *o, gw_api **out, gw_error *err);
void gw_api_destroy(gw_api *api);
void gw_api_handle(gw_api *api, const gw_http_req *rq, gw_http_resp *rs);

/* The role of a bearer token (for the WebSocket upgrade): 1 with the role
** copied when the session is valid, 0 otherwise. */
int gw_api_token_role(gw_api *api, const char *token, char *role, size_t len);

/* Password hashing (Argon2id through libsodium): encoded string into out
** (crypto_pwhash_STRBYTES = 128 bytes).  0 on success. */
int gw_auth_hash_password(const char *password, char *out, size_t len);
/* 1 when the password matches the encoded hash. */
int gw_auth_check_password(const char *encoded, const char *password);

#endif

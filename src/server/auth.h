/*
** auth.h -- passwords, session tokens and the login rate limiter.
**
** The public half (password hashing) is declared in api.h, since the CLI's
** `greenwave user` uses it too; this header holds what only the API needs.
** Tokens are 32 random bytes written as 64 lowercase hex digits; the store
** keeps only their SHA-256 (hex), so a copy of the database does not let
** anyone in.
*/
#ifndef GW_SERVER_AUTH_H
#define GW_SERVER_AUTH_H

#include <stddef.h>

#define GW__TOKEN_HEX 64 /* hex digits of a token and of its hash */

/* Initialises libsodium once for the process (thread-safe); 0 on success. */
int gw__auth_init(void);
/* A fresh token and its hash, both NUL-terminated (GW__TOKEN_HEX + 1 bytes). */
int gw__auth_token_new(char *token, char *hash);
/* The hash under which a token is stored; 0 when the token has the form of
** one of ours, -1 otherwise (then it cannot name any session). */
int gw__auth_token_hash(const char *token, char *hash);

/* Login failures counted per key ("user name", "address") over a window.
** In memory, bounded (the oldest keys give way), safe for several threads. */
typedef struct gw__limiter gw__limiter;
int gw__limiter_create(int max_failures, double window_s, gw__limiter **out);
void gw__limiter_destroy(gw__limiter *l);
/* 0 when `key` may try now, otherwise the seconds until it may (>= 1). */
int gw__limiter_check(gw__limiter *l, const char *key, double now);
void gw__limiter_fail(gw__limiter *l, const char *key, double now);
void gw__limiter_reset(gw__limiter *l, const char *key);

#endif

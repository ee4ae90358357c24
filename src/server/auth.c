/*
** auth.c -- password hashing, session tokens and the login rate limiter.
**
** Passwords are hashed with Argon2id (libsodium's crypto_pwhash_str at its
** "interactive" limits: about 64 MB and a tenth of a second per hash), so a
** stolen table of users is slow to attack; verification is constant-time
** inside libsodium.  Tokens come from the system's CSPRNG; only their
** SHA-256 is ever stored or compared.
**
** The limiter is a small fixed table (GW__LIMITER_SLOTS keys) under one
** mutex.  Each key counts failures from the first failure of its window;
** once the window has passed, the count starts again.  When the table is
** full the key whose window started longest ago gives way: flooding it with
** new names costs an attacker one slow password check each, and the address
** key stops that after a few tries anyway.
*/
#include "server/auth.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "server/api.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void sodium_start(void) { sodium_status = sodium_init() < 0 ? -1 : 0; }

int gw__auth_init(void) {
  pthread_once(&sodium_once, sodium_start);
  return sodium_status;
}

int gw_auth_hash_password(const char *password, char *out, size_t len) {
  if (!password || !out || len < crypto_pwhash_STRBYTES || gw__auth_init()) return GW_EINVAL;
  if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE))
    return GW_ENOMEM; /* libsodium fails only when it cannot get the memory */
  return GW_OK;
}

int gw_auth_check_password(const char *encoded, const char *password) {
  if (!encoded || !password || gw__auth_init()) return 0;
  /* crypto_pwhash_str_verify wants a NUL-terminated string of bounded size. */
  if (strnlen(encoded, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES) return 0;
  return crypto_pwhash_str_verify(encoded, password, strlen(password)) == 0;
}

static void to_hex(const unsigned char *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = 0;
}

int gw__auth_token_new(char *token, char *hash) {
  unsigned char raw[GW__TOKEN_HEX / 2];
  if (gw__auth_init()) return GW_ESTATE;
  randombytes_buf(raw, sizeof raw);
  to_hex(raw, sizeof raw, token);
  sodium_memzero(raw, sizeof raw);
  return gw__auth_token_hash(token, hash) ? GW_ESTATE : GW_OK;
}

int gw__auth_token_hash(const char *token, char *hash) {
  size_t n = strnlen(token, GW__TOKEN_HEX + 1);
  if (n != GW__TOKEN_HEX || gw__auth_init()) return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = token[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return -1;
  }
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)token, n);
  to_hex(h, sizeof h, hash);
  return 0;
}

/* ---- the limiter -------------------------------------------------------- */

#define GW__LIMITER_SLOTS 1024
#define GW__LIMITER_KEY 80

typedef struct slot {
  char key[GW__LIMITER_KEY]; /* "" when free */
  double first_t;            /* the first failure of the window */
  int failures;
} slot;

struct gw__limiter {
  pthread_mutex_t mu;
  int max_failures;
  double window_s;
  slot slots[GW__LIMITER_SLOTS];
};

int gw__limiter_create(int max_failures, double window_s, gw__limiter **out) {
  *out = NULL;
  if (max_failures < 1 || !(window_s > 0)) return GW_EINVAL;
  gw__limiter *l = gw__calloc(1, sizeof *l);
  if (!l) return GW_ENOMEM;
  if (pthread_mutex_init(&l->mu, NULL)) {
    gw__free(l);
    return GW_ENOMEM;
  }
  l->max_failures = max_failures;
  l->window_s = window_s;
  *out = l;
  return GW_OK;
}

void gw__limiter_destroy(gw__limiter *l) {
  if (!l) return;
  pthread_mutex_destroy(&l->mu);
  gw__free(l);
}

/* Keys longer than a slot are cut: two names sharing their first 79 bytes
** share a count, which only makes the limiter stricter. */
static slot *find(gw__limiter *l, const char *key) {
  for (int i = 0; i < GW__LIMITER_SLOTS; i++)
    if (l->slots[i].key[0] && !strncmp(l->slots[i].key, key, GW__LIMITER_KEY - 1))
      return &l->slots[i];
  return NULL;
}

int gw__limiter_check(gw__limiter *l, const char *key, double now) {
  int wait = 0;
  pthread_mutex_lock(&l->mu);
  slot *s = find(l, key);
  if (s && s->failures >= l->max_failures) {
    double left = s->first_t + l->window_s - now;
    if (left > 0) wait = left < 1 ? 1 : (int)ceil(left);
  }
  pthread_mutex_unlock(&l->mu);
  return wait;
}

void gw__limiter_fail(gw__limiter *l, const char *key, double now) {
  pthread_mutex_lock(&l->mu);
  slot *s = find(l, key);
  if (s && now - s->first_t >= l->window_s) {
    s->first_t = now;
    s->failures = 0;
  }
  if (!s) {
    s = &l->slots[0];
    for (int i = 0; i < GW__LIMITER_SLOTS; i++) {
      slot *c = &l->slots[i];
      if (!c->key[0]) {
        s = c;
        break;
      }
      if (c->first_t < s->first_t) s = c;
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    s->first_t = now;
    s->failures = 0;
  }
  s->failures++;
  pthread_mutex_unlock(&l->mu);
}

void gw__limiter_reset(gw__limiter *l, const char *key) {
  pthread_mutex_lock(&l->mu);
  slot *s = find(l, key);
  if (s) memset(s, 0, sizeof *s);
  pthread_mutex_unlock(&l->mu);
}

/*
** api_users.c -- the API's user administration (admin role only).
**
** A password reaches this file in a request body and leaves it only as an
** Argon2id hash for the store: it is never logged, never audited (the
** audit row says "password_changed": true) and never sent back.  User names
** are kept to a plain alphabet so that they read unambiguously in the audit
** log and in the dashboard.
*/
#include <stdio.h>
#include <string.h>

#include "server/api_int.h"

#define PASSWORD_MIN 8    /* characters */
#define PASSWORD_MAX 1024 /* bytes */

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (!n || n > GW__API_ID_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '_' || ch == '-' || ch == '@'))
      return 0;
  }
  return 1;
}

/* Characters, not bytes: a password of 8 accented letters is 8 long. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

/* The password field, checked and hashed into hash; 1 / 0 (absent) / -1. */
static int password_field(gw__call *c, int required, char *hash, size_t len) {
  const char *pw;
  int r = gw__api_str(c, "password", PASSWORD_MAX, required, &pw);
  if (r <= 0) return r;
  if (utf8_chars(pw) < PASSWORD_MIN) {
    gw__api_error(c, 422, "weak_password", "'password' must have at least %d characters",
                  PASSWORD_MIN);
    return -1;
  }
  if (gw_auth_hash_password(pw, hash, len)) {
    gw__api_error(c, 500, "internal", "the password could not be hashed");
    return -1;
  }
  return 1;
}

static int role_field(gw__call *c, int required, const char **role) {
  int r = gw__api_str(c, "role", 16, required, role);
  if (r <= 0) return r;
  if (gw__role_parse(*role) == GW__ROLE_NONE) {
    gw__api_error(c, 422, "invalid_role", "'role' must be viewer, operator or admin");
    return -1;
  }
  return 1;
}

void gw__h_users(gw__call *c) {
  cJSON *rows = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_users(c->st, &rows, &err);
  if (rc) {
    cJSON_Delete(rows);
    gw__api_store_error(c, rc, &err, "users");
    return;
  }
  gw__api_json(c, 200, rows ? rows : cJSON_CreateArray());
}

void gw__h_user_add(gw__call *c) {
  const char *name, *role;
  char hash[128];
  if (gw__api_str(c, "name", GW__API_ID_MAX, 1, &name) < 0) return;
  if (!valid_name(name)) {
    gw__api_error(c, 422, "invalid_name", "'name' must be 1 to %d letters, digits or . _ - @",
                  GW__API_ID_MAX);
    return;
  }
  if (role_field(c, 1, &role) < 0 || password_field(c, 1, hash, sizeof hash) < 0) return;
  gw_error err = {0, {0}};
  int rc = gw_store_user_add(c->st, name, role, hash, c->now, &err);
  if (rc == GW_EINVAL) {
    gw__api_error(c, 409, "user_exists", "a user named '%s' exists already", name);
    return;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "user");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "role", role);
  if (gw__api_audit(c, "user.add", name, NULL, o)) {
    cJSON_Delete(o);
    return;
  }
  gw__api_json(c, 201, o);
}

void gw__h_user_update(gw__call *c) {
  const char *name = c->seg[1], *role = NULL;
  char hash[128];
  int has_role = role_field(c, 0, &role);
  if (has_role < 0) return;
  int has_pw = password_field(c, 0, hash, sizeof hash);
  if (has_pw < 0) return;
  if (!has_role && !has_pw) {
    gw__api_error(c, 422, "nothing_to_change", "give 'role', 'password' or both");
    return;
  }
  cJSON *row = NULL;
  gw_error err = {0, {0}};
  int rc = gw_store_user_get(c->st, name, &row, &err);
  if (rc == GW_ENOTFOUND) {
    gw__api_error(c, 404, "not_found", "no user '%s'", name);
    return;
  }
  if (rc) {
    gw__api_store_error(c, rc, &err, "user");
    return;
  }
  const cJSON *old = cJSON_GetObjectItemCaseSensitive(gw__row(row), "role");
  cJSON *before = cJSON_CreateObject(), *after = cJSON_CreateObject();
  cJSON_AddStringToObject(before, "role", cJSON_IsString(old) ? old->valuestring : "");
  cJSON_AddStringToObject(after, "role", role ? role : cJSON_IsString(old) ? old->valuestring : "");
  cJSON_AddBoolToObject(after, "password_changed", has_pw > 0);
  cJSON_Delete(row);
  if (has_role && (rc = gw_store_user_set_role(c->st, name, role, &err))) {
    gw__api_store_error(c, rc, &err, "user");
    goto done;
  }
  if (has_pw && (rc = gw_store_user_set_password(c->st, name, hash, &err))) {
    gw__api_store_error(c, rc, &err, "user");
    goto done;
  }
  if (gw__api_audit(c, "user.update", name, before, after)) goto done;
  cJSON *o = cJSON_Duplicate(after, 1);
  cJSON_AddStringToObject(o, "name", name);
  gw__api_json(c, 200, o);
done:
  cJSON_Delete(before);
  cJSON_Delete(after);
}

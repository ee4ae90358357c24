/*
** store.c -- the control centre's database: the domain over the driver.
**
** Every function of store.h is one or two SQL statements written once for
** both databases ($1 parameters, RETURNING and ON CONFLICT are spelled the
** same by SQLite and PostgreSQL).  The dialects differ only in the type of
** an auto-numbered id and in triggers; those differences live in the
** drivers' tables (driver.h), and the schema text below names them @ID@
** and @SEQ@.  Quoted identifiers ("user", "start", "before", "after") are
** words one of the two databases reserves.
**
** Migrations.  schema_version holds one row per migration applied.  Opening
** reads the highest version without a lock: equal to this build's, nothing
** to do (the common case: every thread of the daemon opens its own store);
** newer, GW_ESTATE; older or absent, the store takes the write lock (SQLite:
** BEGIN IMMEDIATE; PostgreSQL: BEGIN and an advisory lock), reads the
** version again (another process may have just migrated) and applies the
** missing migrations and their version rows in that one transaction.  A
** crash part-way leaves the schema as it was.
**
** Invariants kept here and by the schema:
**   - a plan is never changed: versions are inserted with the next number
**     under the intersection's row lock, and the database refuses UPDATE
**     and DELETE on plans (triggers);
**   - the active plan is the intersection's plan_version (0: the network's
**     own program), so exactly one plan or none is active;
**   - the event batch is one transaction: all its rows or none.
**
** Results are cJSON arrays of objects keyed by column name: integers and
** reals as numbers, NULL as null, JSON columns parsed (a value that does
** not parse, which the store never writes, comes back as a string).
*/
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/store.h"
#include "store/driver.h"

#define DEFAULT_LIMIT 10000

struct gw_store {
  const gw__db_driver *drv;
  void *h;
  char *events_sql;   /* the INSERT of drv->batch_rows events */
  char *events_tail;  /* the INSERT of fewer rows, rebuilt as needed */
  uint32_t tail_rows; /* rows in events_tail */
  int depth;          /* open transactions: 1 + those nested in the caller's */
  int aborted;        /* a nested one failed: the caller's can only roll back */
};

/* ---- values, errors and queries ---------------------------------------- */

static gw__db_value vtext(const char *s) {
  gw__db_value v = {s ? GW__DB_TEXT : GW__DB_NULL, 0, 0, s};
  return v;
}

static gw__db_value vint(int64_t i) {
  gw__db_value v = {GW__DB_INT, i, 0, NULL};
  return v;
}

static gw__db_value vreal(double d) {
  gw__db_value v = {GW__DB_REAL, 0, d, NULL};
  return v;
}

/* Prefixes "store: OP: " to the driver's message in err. */
static int failed(gw_error *err, int rc, const char *op) {
  if (!err) return rc;
  char prefix[96];
  int n = snprintf(prefix, sizeof prefix, "store: %s: ", op);
  if (n < 0) return rc;
  size_t plen = (size_t)n < sizeof prefix ? (size_t)n : sizeof prefix - 1;
  size_t mlen = strnlen(err->msg, sizeof err->msg - 1);
  if (plen + mlen >= sizeof err->msg) mlen = sizeof err->msg - 1 - plen;
  memmove(err->msg + plen, err->msg, mlen);
  memcpy(err->msg, prefix, plen);
  err->msg[plen + mlen] = '\0';
  err->code = rc;
  return rc;
}

static int run(gw_store *s, const char *op, const char *sql, const gw__db_value *p, int n,
               int64_t *changes, gw_error *err) {
  int rc = s->drv->exec(s->h, sql, p, n, NULL, NULL, changes, err);
  return rc ? failed(err, rc, op) : GW_OK;
}

typedef struct rows {
  cJSON *arr;
  const char *const *json; /* NULL-terminated names of JSON columns */
} rows;

static int is_json(const char *const *json, const char *name) {
  for (; json && *json; json++) {
    if (strcmp(*json, name) == 0) return 1;
  }
  return 0;
}

static int collect(void *ud, int ncols, const char *const *names, const gw__db_value *row) {
  rows *r = ud;
  cJSON *o = cJSON_CreateObject();
  if (!o) return GW_ENOMEM;
  cJSON_AddItemToArray(r->arr, o);
  for (int c = 0; c < ncols; c++) {
    const gw__db_value *v = &row[c];
    cJSON *item = NULL;
    switch (v->type) {
      case GW__DB_INT:
        item = cJSON_CreateNumber((double)v->i);
        break;
      case GW__DB_REAL:
        item = cJSON_CreateNumber(v->d);
        break;
      case GW__DB_TEXT:
        if (is_json(r->json, names[c])) item = cJSON_Parse(v->s);
        if (!item) item = cJSON_CreateString(v->s);
        break;
      default:
        item = cJSON_CreateNull();
        break;
    }
    if (!item) return GW_ENOMEM;
    cJSON_AddItemToObject(o, names[c], item);
  }
  return GW_OK;
}

/* Runs a SELECT (or a statement with RETURNING); *out: an array of rows. */
static int query(gw_store *s, const char *op, const char *sql, const gw__db_value *p, int n,
                 const char *const *json, cJSON **out, gw_error *err) {
  *out = NULL;
  rows r = {cJSON_CreateArray(), json};
  if (!r.arr) return gw__error(err, GW_ENOMEM, "store: %s: out of memory", op);
  int rc = s->drv->exec(s->h, sql, p, n, collect, &r, NULL, err);
  if (rc == GW_ENOMEM) gw__error(err, rc, "out of memory");
  if (rc) {
    cJSON_Delete(r.arr);
    return failed(err, rc, op);
  }
  *out = r.arr;
  return GW_OK;
}

/* The first row of a query, GW_ENOTFOUND (err not yet filled) when none. */
static int query_row(gw_store *s, const char *op, const char *sql, const gw__db_value *p, int n,
                     const char *const *json, cJSON **out, gw_error *err) {
  cJSON *arr;
  *out = NULL;
  int rc = query(s, op, sql, p, n, json, &arr, err);
  if (rc) return rc;
  if (cJSON_GetArraySize(arr) == 0) {
    cJSON_Delete(arr);
    return GW_ENOTFOUND;
  }
  *out = cJSON_DetachItemFromArray(arr, 0);
  cJSON_Delete(arr);
  return GW_OK;
}

/* A single integer from the first column of the first row (0: no row or
** NULL). */
static int first_int(void *ud, int ncols, const char *const *names, const gw__db_value *row) {
  (void)names;
  if (ncols > 0 && row[0].type == GW__DB_INT) *(int64_t *)ud = row[0].i;
  if (ncols > 0 && row[0].type == GW__DB_REAL) *(int64_t *)ud = (int64_t)row[0].d;
  return GW_OK;
}

static int query_int(gw_store *s, const char *op, const char *sql, const gw__db_value *p, int n,
                     int64_t *out, gw_error *err) {
  *out = 0;
  int rc = s->drv->exec(s->h, sql, p, n, first_int, out, NULL, err);
  return rc ? failed(err, rc, op) : GW_OK;
}

/* Transactions nest: inside the caller's (gw_store_begin) a function's own
** begin and commit do nothing, and its failure dooms the caller's. */
static int tx_begin(gw_store *s, const char *op, gw_error *err) {
  if (s->depth > 0) {
    if (s->aborted) return gw__error(err, GW_ESTATE, "store: %s: the transaction has failed", op);
    s->depth++;
    return GW_OK;
  }
  int rc = s->drv->begin(s->h, err);
  if (rc) return failed(err, rc, op);
  s->depth = 1;
  s->aborted = 0;
  return GW_OK;
}

static int tx_commit(gw_store *s, const char *op, gw_error *err) {
  if (s->depth > 1) {
    s->depth--;
    return GW_OK;
  }
  s->depth = 0;
  if (s->aborted) {
    s->drv->rollback(s->h);
    s->aborted = 0;
    return gw__error(err, GW_ESTATE, "store: %s: rolled back after an earlier failure", op);
  }
  int rc = s->drv->commit(s->h, err);
  if (rc) {
    s->drv->rollback(s->h);
    return failed(err, rc, op);
  }
  return GW_OK;
}

/* Rolls back and returns rc (err already filled); nested, it marks the
** caller's transaction as failed instead. */
static int tx_abort(gw_store *s, int rc) {
  if (s->depth > 1) {
    s->depth--;
    s->aborted = 1;
    return rc;
  }
  s->depth = 0;
  s->aborted = 0;
  s->drv->rollback(s->h);
  return rc;
}

int gw_store_begin(gw_store *s, gw_error *err) {
  if (s->depth > 0) return gw__error(err, GW_ESTATE, "store: begin: a transaction is open");
  return tx_begin(s, "begin", err);
}

int gw_store_commit(gw_store *s, gw_error *err) {
  if (s->depth != 1) return gw__error(err, GW_ESTATE, "store: commit: no transaction is open");
  return tx_commit(s, "commit", err);
}

void gw_store_rollback(gw_store *s) {
  if (s->depth == 0) return;
  s->depth = 0;
  s->aborted = 0;
  s->drv->rollback(s->h);
}

static int check_json(const char *text, const char *op, const char *what, gw_error *err) {
  if (!text) return GW_OK;
  cJSON *j = cJSON_Parse(text);
  if (!j) return gw__error(err, GW_EINVAL, "store: %s: %s is not valid JSON", op, what);
  cJSON_Delete(j);
  return GW_OK;
}

static int one_of(const char *v, const char *const *allowed) {
  for (; v && *allowed; allowed++) {
    if (strcmp(v, *allowed) == 0) return 1;
  }
  return 0;
}

static int need(const char *v, const char *op, const char *what, gw_error *err) {
  if (v && *v) return GW_OK;
  return gw__error(err, GW_EINVAL, "store: %s: %s is missing", op, what);
}

/* ---- schema and migrations ---------------------------------------------- */

static const char *const migrations[GW_STORE_SCHEMA_VERSION] = {
    /* 1: the first schema. */
    "CREATE TABLE intersections (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  x DOUBLE PRECISION NOT NULL DEFAULT 0,\n"
    "  y DOUBLE PRECISION NOT NULL DEFAULT 0,\n"
    "  config TEXT,\n"
    "  mode TEXT NOT NULL DEFAULT 'fixed',\n"
    "  mode_param TEXT,\n"
    "  plan_version INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE plans (\n"
    "  intersection_id TEXT NOT NULL REFERENCES intersections (id),\n"
    "  version INTEGER NOT NULL,\n"
    "  body TEXT NOT NULL,\n"
    "  created_at DOUBLE PRECISION NOT NULL,\n"
    "  created_by TEXT,\n"
    "  note TEXT,\n"
    "  PRIMARY KEY (intersection_id, version)\n"
    ");\n"
    "CREATE TABLE schedules (\n"
    "  id @ID@,\n"
    "  intersection_id TEXT NOT NULL REFERENCES intersections (id),\n"
    "  days INTEGER NOT NULL,\n"
    "  start_s DOUBLE PRECISION NOT NULL,\n"
    "  plan_version INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX schedules_intersection ON schedules (intersection_id, start_s);\n"
    "CREATE TABLE events (\n"
    "  seq @SEQ@,\n"
    "  signal_id TEXT NOT NULL,\n"
    "  t DOUBLE PRECISION NOT NULL,\n"
    "  code INTEGER NOT NULL,\n"
    "  param INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX events_signal_t ON events (signal_id, t);\n"
    "CREATE INDEX events_t ON events (t);\n"
    "CREATE TABLE aggregates (\n"
    "  detector_id TEXT NOT NULL,\n"
    "  intersection_id TEXT,\n"
    "  period_s INTEGER NOT NULL,\n"
    "  \"start\" DOUBLE PRECISION NOT NULL,\n"
    "  volume INTEGER NOT NULL,\n"
    "  occupancy DOUBLE PRECISION NOT NULL,\n"
    "  UNIQUE (detector_id, period_s, \"start\")\n"
    ");\n"
    "CREATE INDEX aggregates_intersection ON aggregates (intersection_id, period_s, \"start\");\n"
    "CREATE INDEX aggregates_start ON aggregates (period_s, \"start\");\n"
    "CREATE TABLE alarms (\n"
    "  id @ID@,\n"
    "  t DOUBLE PRECISION NOT NULL,\n"
    "  intersection_id TEXT,\n"
    "  kind TEXT NOT NULL,\n"
    "  severity TEXT NOT NULL,\n"
    "  message TEXT,\n"
    "  acked_by TEXT,\n"
    "  acked_at DOUBLE PRECISION,\n"
    "  cleared_at DOUBLE PRECISION\n"
    ");\n"
    "CREATE INDEX alarms_t ON alarms (t);\n"
    "CREATE TABLE users (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),\n"
    "  pwhash TEXT NOT NULL,\n"
    "  created_at DOUBLE PRECISION NOT NULL\n"
    ");\n"
    "CREATE TABLE sessions (\n"
    "  token_hash TEXT PRIMARY KEY,\n"
    "  \"user\" TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,\n"
    "  created_at DOUBLE PRECISION NOT NULL,\n"
    "  expires_at DOUBLE PRECISION NOT NULL\n"
    ");\n"
    "CREATE INDEX sessions_expires ON sessions (expires_at);\n"
    "CREATE TABLE audit (\n"
    "  id @ID@,\n"
    "  t DOUBLE PRECISION NOT NULL,\n"
    "  \"user\" TEXT,\n"
    "  action TEXT NOT NULL,\n"
    "  target TEXT,\n"
    "  \"before\" TEXT,\n"
    "  \"after\" TEXT\n"
    ");\n"
    "CREATE INDEX audit_t ON audit (t);\n",
};

/* A migration's text with the dialect's column types in place of @ID@ and
** @SEQ@ (NULL: out of memory). */
static char *dialect(const gw__db_driver *d, const char *sql) {
  size_t cap = strlen(sql) + 1, lid = strlen(d->id_column), lseq = strlen(d->seq_column);
  for (const char *p = sql; (p = strchr(p, '@')); p++) cap += lid + lseq;
  char *out = gw__malloc(cap), *o = out;
  if (!out) return NULL;
  for (const char *p = sql; *p;) {
    if (strncmp(p, "@ID@", 4) == 0) {
      memcpy(o, d->id_column, lid);
      o += lid;
      p += 4;
    } else if (strncmp(p, "@SEQ@", 5) == 0) {
      memcpy(o, d->seq_column, lseq);
      o += lseq;
      p += 5;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

static const char schema_table[] =
    "CREATE TABLE IF NOT EXISTS schema_version (\n"
    "  version INTEGER PRIMARY KEY,\n"
    "  applied_at DOUBLE PRECISION NOT NULL\n"
    ")";
static const char schema_max[] = "SELECT MAX(version) FROM schema_version";

static int too_new(int64_t v, gw_error *err) {
  return gw__error(err, GW_ESTATE,
                   "store: open: the database's schema is version %lld, newer than this "
                   "build's (%d): use a newer greenwave with this database",
                   (long long)v, GW_STORE_SCHEMA_VERSION);
}

static int migrate(gw_store *s, gw_error *err) {
  const gw__db_driver *d = s->drv;
  int64_t v = 0;
  /* Fast path: no lock when the schema is current (an error here only means
  ** that schema_version does not exist yet). */
  gw_error quiet;
  if (d->exec(s->h, schema_max, NULL, 0, first_int, &v, NULL, &quiet) == GW_OK) {
    if (v == GW_STORE_SCHEMA_VERSION) return GW_OK;
    if (v > GW_STORE_SCHEMA_VERSION) return too_new(v, err);
  }
  int rc = tx_begin(s, "migrate", err);
  if (rc) return rc;
  if ((rc = d->lock_schema(s->h, err)) || (rc = d->script(s->h, schema_table, err)) ||
      (rc = d->exec(s->h, schema_max, NULL, 0, first_int, &v, NULL, err))) {
    return tx_abort(s, failed(err, rc, "migrate"));
  }
  if (v > GW_STORE_SCHEMA_VERSION) return tx_abort(s, too_new(v, err));
  for (int64_t m = v + 1; m <= GW_STORE_SCHEMA_VERSION; m++) {
    char *sql = dialect(d, migrations[m - 1]);
    if (!sql) return tx_abort(s, gw__error(err, GW_ENOMEM, "store: migrate: out of memory"));
    rc = d->script(s->h, sql, err);
    gw__free(sql);
    if (!rc && m - 1 < d->migration_extra_count && d->migration_extra[m - 1]) {
      rc = d->script(s->h, d->migration_extra[m - 1], err);
    }
    if (!rc) {
      gw__db_value p[2] = {vint(m), vreal((double)time(NULL))};
      rc = d->exec(s->h, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", p, 2,
                   NULL, NULL, NULL, err);
    }
    if (rc) {
      char op[48];
      snprintf(op, sizeof op, "migration %lld", (long long)m);
      return tx_abort(s, failed(err, rc, op));
    }
  }
  return tx_commit(s, "migrate", err);
}

/* ---- opening ------------------------------------------------------------ */

/* The URL with any password replaced by "***", for messages: the user
** part of a URL ("postgresql://user:secret@host/db") and a key=value
** "password=secret". */
static void redact(const char *url, char *out, size_t size) {
  const char *auth = strstr(url, "://");
  const char *at = auth ? strchr(auth + 3, '@') : NULL;
  const char *slash = auth ? strchr(auth + 3, '/') : NULL;
  const char *colon = auth ? strchr(auth + 3, ':') : NULL;
  if (at && (!slash || at < slash) && colon && colon < at) {
    snprintf(out, size, "%.*s***%s", (int)(colon + 1 - url), url, at);
  } else {
    snprintf(out, size, "%s", url);
  }
  char *pw = strstr(out, "password=");
  if (pw) {
    char tmp[512];
    const char *end = pw + 9 + strcspn(pw + 9, " &");
    snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(pw + 9 - out), out, end);
    size_t n = strnlen(tmp, size - 1);
    memcpy(out, tmp, n);
    out[n] = '\0';
  }
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int gw_store_open(const char *url, gw_store **out, gw_error *err) {
  *out = NULL;
  if (!url || !*url) return gw__error(err, GW_EINVAL, "store: open: the database URL is empty");
  const gw__db_driver *drv;
  const char *target;
  if (has_prefix(url, "sqlite:")) {
    drv = &gw__sqlite_driver;
    target = url + 7;
    if (has_prefix(target, "//")) target += 2; /* sqlite:///abs/path */
  } else if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
    drv = &gw__postgres_driver;
    target = url;
  } else if (has_prefix(url, "postgresql:") || has_prefix(url, "postgres:")) {
    drv = &gw__postgres_driver;
    target = strchr(url, ':') + 1; /* key=value connection string */
  } else {
    char shown[256];
    redact(url, shown, sizeof shown);
    return gw__error(err, GW_EINVAL,
                     "store: open '%s': unknown kind of database (expected sqlite:PATH, "
                     "sqlite::memory:, postgresql://... or postgres://...)",
                     shown);
  }
  gw_store *s = gw__calloc(1, sizeof *s);
  if (!s) return gw__error(err, GW_ENOMEM, "store: open: out of memory");
  s->drv = drv;
  int rc = drv->open(target, &s->h, err);
  if (rc) {
    char shown[256], op[300];
    redact(url, shown, sizeof shown);
    snprintf(op, sizeof op, "open '%s'", shown);
    gw__free(s);
    return failed(err, rc, op);
  }
  if ((rc = migrate(s, err))) {
    gw_store_close(s);
    return rc;
  }
  *out = s;
  return GW_OK;
}

void gw_store_close(gw_store *s) {
  if (!s) return;
  s->drv->close(s->h);
  gw__free(s->events_sql);
  gw__free(s->events_tail);
  gw__free(s);
}

const char *gw_store_kind(const gw_store *s) { return s->drv->kind; }

int gw_store_schema_version(gw_store *s, int *version, gw_error *err) {
  int64_t v;
  int rc = query_int(s, "schema_version", schema_max, NULL, 0, &v, err);
  *version = rc ? 0 : (int)v;
  return rc;
}

/* ---- intersections -------------------------------------------------------- */

static const char *const modes[] = {"fixed", "actuated", "adaptive", "maxpressure",
                                    "hold",  "flash",    NULL};
static const char *const intersection_json[] = {"config", NULL};
#define INTERSECTION_COLS "id, name, x, y, config, mode, mode_param, plan_version"

int gw_store_intersection_put(gw_store *s, const char *id, const char *name, double x, double y,
                              const char *config_json, gw_error *err) {
  static const char op[] = "intersection_put";
  int rc;
  if ((rc = need(id, op, "the intersection id", err)) ||
      (rc = check_json(config_json, op, "the configuration", err)))
    return rc;
  gw__db_value p[5] = {vtext(id), vtext(name ? name : id), vreal(x), vreal(y), vtext(config_json)};
  return run(s, op,
             "INSERT INTO intersections (id, name, x, y, config) VALUES ($1, $2, $3, $4, $5)\n"
             "ON CONFLICT (id) DO UPDATE SET name = excluded.name, x = excluded.x,\n"
             "  y = excluded.y, config = excluded.config",
             p, 5, NULL, err);
}

static int no_intersection(const char *op, const char *id, gw_error *err) {
  return gw__error(err, GW_ENOTFOUND, "store: %s: no intersection '%s'", op, id);
}

int gw_store_intersection_set_mode(gw_store *s, const char *id, const char *mode,
                                   const char *mode_param, gw_error *err) {
  static const char op[] = "intersection_set_mode";
  int rc = need(id, op, "the intersection id", err);
  if (rc) return rc;
  if (!one_of(mode, modes)) {
    return gw__error(err, GW_EINVAL,
                     "store: %s: unknown mode '%s' (expected fixed, actuated, adaptive, "
                     "maxpressure, hold or flash)",
                     op, mode ? mode : "");
  }
  gw__db_value p[3] = {vtext(id), vtext(mode), vtext(mode_param)};
  int64_t n = 0;
  rc = run(s, op, "UPDATE intersections SET mode = $2, mode_param = $3 WHERE id = $1", p, 3, &n,
           err);
  if (!rc && n == 0) rc = no_intersection(op, id, err);
  return rc;
}

int gw_store_intersection_get(gw_store *s, const char *id, cJSON **out, gw_error *err) {
  static const char op[] = "intersection_get";
  gw__db_value p[1] = {vtext(id ? id : "")};
  int rc = query_row(s, op, "SELECT " INTERSECTION_COLS " FROM intersections WHERE id = $1", p, 1,
                     intersection_json, out, err);
  return rc == GW_ENOTFOUND ? no_intersection(op, id ? id : "", err) : rc;
}

int gw_store_intersections(gw_store *s, cJSON **out, gw_error *err) {
  return query(s, "intersections", "SELECT " INTERSECTION_COLS " FROM intersections ORDER BY id",
               NULL, 0, intersection_json, out, err);
}

/* GW_OK when the intersection exists, GW_ENOTFOUND (with a message) if not. */
static int intersection_exists(gw_store *s, const char *op, const char *id, gw_error *err) {
  gw__db_value p[1] = {vtext(id)};
  int64_t n;
  int rc = query_int(s, op, "SELECT COUNT(*) FROM intersections WHERE id = $1", p, 1, &n, err);
  if (!rc && n == 0) rc = no_intersection(op, id, err);
  return rc;
}

/* ---- plans --------------------------------------------------------------- */

static const char *const plan_json[] = {"body", NULL};
#define PLAN_SELECT                                                              \
  "SELECT p.intersection_id, p.version, p.body, p.created_at, p.created_by,\n"   \
  "  p.note, CASE WHEN i.plan_version = p.version THEN 1 ELSE 0 END AS active\n" \
  "FROM plans p JOIN intersections i ON i.id = p.intersection_id\n"

int gw_store_plan_create(gw_store *s, const char *intersection_id, const char *body_json,
                         const char *created_by, const char *note, double created_at, int *version,
                         gw_error *err) {
  static const char op[] = "plan_create";
  int rc;
  if (version) *version = 0;
  if ((rc = need(intersection_id, op, "the intersection id", err)) ||
      (rc = need(body_json, op, "the plan body", err)) ||
      (rc = check_json(body_json, op, "the plan body", err)))
    return rc;
  if ((rc = tx_begin(s, op, err))) return rc;
  /* The no-op update takes the intersection's row lock, so two creations
  ** for one intersection queue up instead of both choosing one number. */
  gw__db_value id[1] = {vtext(intersection_id)};
  int64_t n = 0;
  rc = run(s, op, "UPDATE intersections SET plan_version = plan_version WHERE id = $1", id, 1, &n,
           err);
  if (!rc && n == 0) rc = no_intersection(op, intersection_id, err);
  if (rc) return tx_abort(s, rc);
  gw__db_value p[5] = {vtext(intersection_id), vtext(body_json), vreal(created_at),
                       vtext(created_by), vtext(note)};
  int64_t v = 0;
  rc = s->drv->exec(s->h,
                    "INSERT INTO plans (intersection_id, version, body, created_at, created_by,\n"
                    "  note)\n"
                    "SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5\n"
                    "FROM plans WHERE intersection_id = $1\n"
                    "RETURNING version",
                    p, 5, first_int, &v, NULL, err);
  if (rc) return tx_abort(s, failed(err, rc, op));
  if ((rc = tx_commit(s, op, err))) return rc;
  if (version) *version = (int)v;
  return GW_OK;
}

int gw_store_plan_get(gw_store *s, const char *intersection_id, int version, cJSON **out,
                      gw_error *err) {
  static const char op[] = "plan_get";
  gw__db_value p[2] = {vtext(intersection_id ? intersection_id : ""), vint(version)};
  int rc = query_row(s, op, PLAN_SELECT "WHERE p.intersection_id = $1 AND p.version = $2", p, 2,
                     plan_json, out, err);
  if (rc == GW_ENOTFOUND) {
    rc = gw__error(err, rc, "store: %s: intersection '%s' has no plan version %d", op,
                   intersection_id ? intersection_id : "", version);
  }
  return rc;
}

int gw_store_plans(gw_store *s, const char *intersection_id, cJSON **out, gw_error *err) {
  static const char op[] = "plans";
  gw__db_value p[1] = {vtext(intersection_id ? intersection_id : "")};
  int rc = query(s, op, PLAN_SELECT "WHERE p.intersection_id = $1 ORDER BY p.version", p, 1,
                 plan_json, out, err);
  if (!rc && cJSON_GetArraySize(*out) == 0 &&
      (rc = intersection_exists(s, op, intersection_id ? intersection_id : "", err))) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}

int gw_store_plan_activate(gw_store *s, const char *intersection_id, int version, gw_error *err) {
  static const char op[] = "plan_activate";
  int rc = need(intersection_id, op, "the intersection id", err);
  if (rc) return rc;
  gw__db_value p[2] = {vtext(intersection_id), vint(version)};
  int64_t n = 0;
  rc = run(s, op,
           "UPDATE intersections SET plan_version = $2 WHERE id = $1 AND ($2 = 0 OR EXISTS\n"
           "  (SELECT 1 FROM plans WHERE intersection_id = $1 AND version = $2))",
           p, 2, &n, err);
  if (rc || n) return rc;
  if ((rc = intersection_exists(s, op, intersection_id, err))) return rc;
  return gw__error(err, GW_ENOTFOUND, "store: %s: intersection '%s' has no plan version %d", op,
                   intersection_id, version);
}

/* ---- schedules ------------------------------------------------------------ */

int gw_store_schedule_add(gw_store *s, const char *intersection_id, int days, double start_s,
                          int plan_version, int64_t *id, gw_error *err) {
  static const char op[] = "schedule_add";
  int rc = need(intersection_id, op, "the intersection id", err);
  if (id) *id = 0;
  if (rc) return rc;
  if (days < 1 || days > 127) {
    return gw__error(err, GW_ERANGE, "store: %s: days %d outside 1..127 (bit 0 Sunday)", op, days);
  }
  if (!(start_s >= 0 && start_s < 86400)) {
    return gw__error(err, GW_ERANGE, "store: %s: start_s %g outside [0, 86400)", op, start_s);
  }
  if (plan_version < 0) {
    return gw__error(err, GW_ERANGE, "store: %s: plan version %d is negative", op, plan_version);
  }
  gw__db_value p[4] = {vtext(intersection_id), vint(days), vreal(start_s), vint(plan_version)};
  int64_t got = 0;
  rc = s->drv->exec(
      s->h,
      "INSERT INTO schedules (intersection_id, days, start_s, plan_version)\n"
      "SELECT $1, $2, $3, $4\n"
      "WHERE EXISTS (SELECT 1 FROM intersections WHERE id = $1) AND ($4 = 0 OR EXISTS\n"
      "  (SELECT 1 FROM plans WHERE intersection_id = $1 AND version = $4))\n"
      "RETURNING id",
      p, 4, first_int, &got, NULL, err);
  if (rc) return failed(err, rc, op);
  if (got == 0) {
    if ((rc = intersection_exists(s, op, intersection_id, err))) return rc;
    return gw__error(err, GW_ENOTFOUND, "store: %s: intersection '%s' has no plan version %d", op,
                     intersection_id, plan_version);
  }
  if (id) *id = got;
  return GW_OK;
}

int gw_store_schedule_delete(gw_store *s, int64_t id, gw_error *err) {
  static const char op[] = "schedule_delete";
  gw__db_value p[1] = {vint(id)};
  int64_t n = 0;
  int rc = run(s, op, "DELETE FROM schedules WHERE id = $1", p, 1, &n, err);
  if (!rc && n == 0) {
    rc = gw__error(err, GW_ENOTFOUND, "store: %s: no schedule %lld", op, (long long)id);
  }
  return rc;
}

int gw_store_schedules(gw_store *s, const char *intersection_id, cJSON **out, gw_error *err) {
  static const char op[] = "schedules";
#define SCHEDULE_SELECT "SELECT id, intersection_id, days, start_s, plan_version FROM schedules\n"
  if (!intersection_id) {
    return query(s, op, SCHEDULE_SELECT "ORDER BY intersection_id, start_s, id", NULL, 0, NULL, out,
                 err);
  }
  gw__db_value p[1] = {vtext(intersection_id)};
  int rc = query(s, op, SCHEDULE_SELECT "WHERE intersection_id = $1 ORDER BY start_s, id", p, 1,
                 NULL, out, err);
  if (!rc && cJSON_GetArraySize(*out) == 0 &&
      (rc = intersection_exists(s, op, intersection_id, err))) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
#undef SCHEDULE_SELECT
}

/* ---- events --------------------------------------------------------------- */

/* "INSERT INTO events (...) VALUES ($1, $2, $3, $4), ($5, ...)" for n rows
** (NULL: out of memory). */
static char *events_insert(uint32_t n) {
  static const char head[] = "INSERT INTO events (signal_id, t, code, param) VALUES ";
  size_t cap = sizeof head + (size_t)n * 64;
  char *sql = gw__malloc(cap);
  if (!sql) return NULL;
  size_t len = (size_t)snprintf(sql, cap, "%s", head);
  for (uint32_t r = 0; r < n; r++) {
    uint32_t b = r * 4;
    len += (size_t)snprintf(sql + len, cap - len, "%s($%u, $%u, $%u, $%u)", r ? ", " : "", b + 1,
                            b + 2, b + 3, b + 4);
  }
  return sql;
}

int gw_store_events_add(gw_store *s, const gw_store_event *ev, uint32_t n, gw_error *err) {
  static const char op[] = "events_add";
  if (n == 0) return GW_OK;
  for (uint32_t k = 0; k < n; k++) {
    if (!ev[k].signal_id) {
      return gw__error(err, GW_EINVAL, "store: %s: event %u has no signal id", op, k);
    }
  }
  uint32_t batch = s->drv->batch_rows ? s->drv->batch_rows : 1;
  if (!s->events_sql && !(s->events_sql = events_insert(batch))) {
    return gw__error(err, GW_ENOMEM, "store: %s: out of memory", op);
  }
  uint32_t width = n < batch ? n : batch;
  gw__db_value *p = gw__malloc((size_t)width * 4 * sizeof *p);
  if (!p) return gw__error(err, GW_ENOMEM, "store: %s: out of memory", op);
  int rc = tx_begin(s, op, err);
  for (uint32_t k = 0; !rc && k < n; k += batch) {
    uint32_t m = n - k < batch ? n - k : batch;
    const char *sql = s->events_sql;
    if (m != batch) {
      if (s->tail_rows != m) {
        gw__free(s->events_tail);
        s->tail_rows = 0;
        if (!(s->events_tail = events_insert(m))) {
          rc = tx_abort(s, gw__error(err, GW_ENOMEM, "store: %s: out of memory", op));
          break;
        }
        s->tail_rows = m;
      }
      sql = s->events_tail;
    }
    for (uint32_t r = 0; r < m; r++) {
      const gw_store_event *e = &ev[k + r];
      p[4 * r] = vtext(e->signal_id);
      p[4 * r + 1] = vreal(e->t);
      p[4 * r + 2] = vint(e->code);
      p[4 * r + 3] = vint(e->param);
    }
    rc = s->drv->exec(s->h, sql, p, (int)(4 * m), NULL, NULL, NULL, err);
    if (rc) rc = tx_abort(s, failed(err, rc, op));
  }
  if (!rc) rc = tx_commit(s, op, err);
  gw__free(p);
  return rc;
}

int gw_store_events(gw_store *s, const char *signal_id, double from, double to, int limit,
                    cJSON **out, gw_error *err) {
#define EVENT_SELECT "SELECT signal_id, t, code, param FROM events WHERE t >= $1 AND t <= $2\n"
  gw__db_value p[4] = {vreal(from), vreal(to), vint(limit > 0 ? limit : DEFAULT_LIMIT),
                       vtext(signal_id)};
  if (signal_id) {
    return query(s, "events", EVENT_SELECT "AND signal_id = $4 ORDER BY t, seq LIMIT $3", p, 4,
                 NULL, out, err);
  }
  return query(s, "events", EVENT_SELECT "ORDER BY t, seq LIMIT $3", p, 3, NULL, out, err);
#undef EVENT_SELECT
}

/* ---- aggregates ------------------------------------------------------------ */

int gw_store_aggregates_add(gw_store *s, const gw_store_aggregate *a, uint32_t n, gw_error *err) {
  static const char op[] = "aggregates_add";
  if (n == 0) return GW_OK;
  for (uint32_t k = 0; k < n; k++) {
    if (!a[k].detector_id || a[k].period_s <= 0) {
      return gw__error(err, GW_EINVAL, "store: %s: aggregate %u has no detector id or period", op,
                       k);
    }
  }
  /* One statement per row: an upsert may not touch one row twice in one
  ** PostgreSQL statement, and a batch may carry a period twice. */
  int rc = tx_begin(s, op, err);
  for (uint32_t k = 0; !rc && k < n; k++) {
    gw__db_value p[6] = {vtext(a[k].detector_id), vtext(a[k].intersection_id),
                         vint(a[k].period_s),     vreal(a[k].start),
                         vint(a[k].volume),       vreal(a[k].occupancy)};
    rc = run(s, op,
             "INSERT INTO aggregates (detector_id, intersection_id, period_s, \"start\",\n"
             "  volume, occupancy) VALUES ($1, $2, $3, $4, $5, $6)\n"
             "ON CONFLICT (detector_id, period_s, \"start\") DO UPDATE SET\n"
             "  intersection_id = excluded.intersection_id, volume = excluded.volume,\n"
             "  occupancy = excluded.occupancy",
             p, 6, NULL, err);
    if (rc) tx_abort(s, rc);
  }
  return rc ? rc : tx_commit(s, op, err);
}

int gw_store_aggregates(gw_store *s, const char *intersection_id, int period_s, double from,
                        double to, cJSON **out, gw_error *err) {
#define AGGREGATE_SELECT                                                          \
  "SELECT detector_id, intersection_id, period_s, \"start\", volume, occupancy\n" \
  "FROM aggregates WHERE period_s = $1 AND \"start\" >= $2 AND \"start\" <= $3\n"
  gw__db_value p[4] = {vint(period_s), vreal(from), vreal(to), vtext(intersection_id)};
  if (intersection_id) {
    return query(s, "aggregates",
                 AGGREGATE_SELECT "AND intersection_id = $4 ORDER BY \"start\", detector_id", p, 4,
                 NULL, out, err);
  }
  return query(s, "aggregates", AGGREGATE_SELECT "ORDER BY \"start\", detector_id", p, 3, NULL, out,
               err);
#undef AGGREGATE_SELECT
}

/* ---- alarms ---------------------------------------------------------------- */

static const char *const severities[] = {"critical", "major", "minor", NULL};

int gw_store_alarm_raise(gw_store *s, double t, const char *intersection_id, const char *kind,
                         const char *severity, const char *message, int64_t *id, gw_error *err) {
  static const char op[] = "alarm_raise";
  if (id) *id = 0;
  int rc = need(kind, op, "the alarm kind", err);
  if (rc) return rc;
  if (!one_of(severity, severities)) {
    return gw__error(err, GW_EINVAL,
                     "store: %s: unknown severity '%s' (expected critical, major or minor)", op,
                     severity ? severity : "");
  }
  gw__db_value p[5] = {vreal(t), vtext(intersection_id), vtext(kind), vtext(severity),
                       vtext(message)};
  int64_t got = 0;
  rc = s->drv->exec(s->h,
                    "INSERT INTO alarms (t, intersection_id, kind, severity, message)\n"
                    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    p, 5, first_int, &got, NULL, err);
  if (rc) return failed(err, rc, op);
  if (id) *id = got;
  return GW_OK;
}

/* After an UPDATE of alarm id that changed nothing: unknown or done. */
static int alarm_unchanged(gw_store *s, const char *op, int64_t id, const char *already,
                           gw_error *err) {
  gw__db_value p[1] = {vint(id)};
  int64_t n;
  int rc = query_int(s, op, "SELECT COUNT(*) FROM alarms WHERE id = $1", p, 1, &n, err);
  if (rc) return rc;
  if (n == 0) return gw__error(err, GW_ENOTFOUND, "store: %s: no alarm %lld", op, (long long)id);
  return gw__error(err, GW_ESTATE, "store: %s: alarm %lld is already %s", op, (long long)id,
                   already);
}

int gw_store_alarm_ack(gw_store *s, int64_t id, const char *user, double t, gw_error *err) {
  static const char op[] = "alarm_ack";
  gw__db_value p[3] = {vint(id), vtext(user), vreal(t)};
  int64_t n = 0;
  int rc = run(s, op,
               "UPDATE alarms SET acked_by = $2, acked_at = $3 WHERE id = $1 AND acked_at IS NULL",
               p, 3, &n, err);
  if (!rc && n == 0) rc = alarm_unchanged(s, op, id, "acknowledged", err);
  return rc;
}

int gw_store_alarm_clear(gw_store *s, int64_t id, double t, gw_error *err) {
  static const char op[] = "alarm_clear";
  gw__db_value p[2] = {vint(id), vreal(t)};
  int64_t n = 0;
  int rc = run(s, op, "UPDATE alarms SET cleared_at = $2 WHERE id = $1 AND cleared_at IS NULL", p,
               2, &n, err);
  if (!rc && n == 0) rc = alarm_unchanged(s, op, id, "cleared", err);
  return rc;
}

int gw_store_alarms(gw_store *s, int open_only, int limit, cJSON **out, gw_error *err) {
#define ALARM_SELECT                                                              \
  "SELECT id, t, intersection_id, kind, severity, message, acked_by, acked_at,\n" \
  "  cleared_at FROM alarms\n"
  gw__db_value p[1] = {vint(limit > 0 ? limit : DEFAULT_LIMIT)};
  if (open_only) {
    return query(s, "alarms",
                 ALARM_SELECT "WHERE cleared_at IS NULL ORDER BY t DESC, id DESC LIMIT $1", p, 1,
                 NULL, out, err);
  }
  return query(s, "alarms", ALARM_SELECT "ORDER BY t DESC, id DESC LIMIT $1", p, 1, NULL, out, err);
#undef ALARM_SELECT
}

/* ---- users and sessions ------------------------------------------------------ */

static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static int check_role(const char *role, const char *op, gw_error *err) {
  if (one_of(role, roles)) return GW_OK;
  return gw__error(err, GW_EINVAL,
                   "store: %s: unknown role '%s' (expected viewer, operator or admin)", op,
                   role ? role : "");
}

static int no_user(const char *op, const char *name, gw_error *err) {
  return gw__error(err, GW_ENOTFOUND, "store: %s: no user '%s'", op, name);
}

int gw_store_user_add(gw_store *s, const char *name, const char *role, const char *pwhash,
                      double created_at, gw_error *err) {
  static const char op[] = "user_add";
  int rc;
  if ((rc = need(name, op, "the user name", err)) || (rc = check_role(role, op, err)) ||
      (rc = need(pwhash, op, "the password hash", err)))
    return rc;
  gw__db_value p[4] = {vtext(name), vtext(role), vtext(pwhash), vreal(created_at)};
  int64_t n = 0;
  rc = run(s, op,
           "INSERT INTO users (name, role, pwhash, created_at) VALUES ($1, $2, $3, $4)\n"
           "ON CONFLICT (name) DO NOTHING",
           p, 4, &n, err);
  if (!rc && n == 0) {
    rc = gw__error(err, GW_EINVAL, "store: %s: the user name '%s' is taken", op, name);
  }
  return rc;
}

int gw_store_user_set_password(gw_store *s, const char *name, const char *pwhash, gw_error *err) {
  static const char op[] = "user_set_password";
  int rc;
  if ((rc = need(name, op, "the user name", err)) ||
      (rc = need(pwhash, op, "the password hash", err)))
    return rc;
  gw__db_value p[2] = {vtext(name), vtext(pwhash)};
  int64_t n = 0;
  rc = run(s, op, "UPDATE users SET pwhash = $2 WHERE name = $1", p, 2, &n, err);
  if (!rc && n == 0) rc = no_user(op, name, err);
  return rc;
}

int gw_store_user_set_role(gw_store *s, const char *name, const char *role, gw_error *err) {
  static const char op[] = "user_set_role";
  int rc;
  if ((rc = need(name, op, "the user name", err)) || (rc = check_role(role, op, err))) return rc;
  gw__db_value p[2] = {vtext(name), vtext(role)};
  int64_t n = 0;
  rc = run(s, op, "UPDATE users SET role = $2 WHERE name = $1", p, 2, &n, err);
  if (!rc && n == 0) rc = no_user(op, name, err);
  return rc;
}

int gw_store_user_get(gw_store *s, const char *name, cJSON **out, gw_error *err) {
  static const char op[] = "user_get";
  gw__db_value p[1] = {vtext(name ? name : "")};
  int rc = query_row(s, op, "SELECT name, role, pwhash, created_at FROM users WHERE name = $1", p,
                     1, NULL, out, err);
  return rc == GW_ENOTFOUND ? no_user(op, name ? name : "", err) : rc;
}

int gw_store_users(gw_store *s, cJSON **out, gw_error *err) {
  return query(s, "users", "SELECT name, role, created_at FROM users ORDER BY name", NULL, 0, NULL,
               out, err);
}

int gw_store_user_count(gw_store *s, int *n, gw_error *err) {
  int64_t v = 0;
  int rc = query_int(s, "user_count", "SELECT COUNT(*) FROM users", NULL, 0, &v, err);
  *n = (int)v;
  return rc;
}

int gw_store_session_add(gw_store *s, const char *token_hash, const char *user, double created_at,
                         double expires_at, gw_error *err) {
  static const char op[] = "session_add";
  int rc;
  if ((rc = need(token_hash, op, "the token hash", err)) ||
      (rc = need(user, op, "the user name", err)))
    return rc;
  /* Expired sessions go as new ones come: the table stays as small as the
  ** number of people logged in. */
  gw__db_value now[1] = {vreal(created_at)};
  if ((rc = run(s, op, "DELETE FROM sessions WHERE expires_at <= $1", now, 1, NULL, err))) {
    return rc;
  }
  gw__db_value p[4] = {vtext(token_hash), vtext(user), vreal(created_at), vreal(expires_at)};
  int64_t n = 0;
  rc = run(s, op,
           "INSERT INTO sessions (token_hash, \"user\", created_at, expires_at)\n"
           "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM users WHERE name = $2)",
           p, 4, &n, err);
  if (!rc && n == 0) rc = no_user(op, user, err);
  return rc;
}

int gw_store_session_get(gw_store *s, const char *token_hash, double now, cJSON **out,
                         gw_error *err) {
  static const char op[] = "session_get";
  gw__db_value p[2] = {vtext(token_hash ? token_hash : ""), vreal(now)};
  int rc = query_row(s, op,
                     "SELECT s.\"user\" AS \"user\", u.role AS role, s.expires_at AS expires_at\n"
                     "FROM sessions s JOIN users u ON u.name = s.\"user\"\n"
                     "WHERE s.token_hash = $1 AND s.expires_at > $2",
                     p, 2, NULL, out, err);
  if (rc == GW_ENOTFOUND) {
    rc = gw__error(err, rc, "store: %s: no such session, or it has expired", op);
  }
  return rc;
}

int gw_store_session_delete(gw_store *s, const char *token_hash, gw_error *err) {
  static const char op[] = "session_delete";
  gw__db_value p[1] = {vtext(token_hash ? token_hash : "")};
  int64_t n = 0;
  int rc = run(s, op, "DELETE FROM sessions WHERE token_hash = $1", p, 1, &n, err);
  if (!rc && n == 0) rc = gw__error(err, GW_ENOTFOUND, "store: %s: no such session", op);
  return rc;
}

/* ---- audit log ---------------------------------------------------------------- */

int gw_store_audit(gw_store *s, double t, const char *user, const char *action, const char *target,
                   const char *before_json, const char *after_json, gw_error *err) {
  static const char op[] = "audit";
  int rc;
  if ((rc = need(action, op, "the action", err)) ||
      (rc = check_json(before_json, op, "'before'", err)) ||
      (rc = check_json(after_json, op, "'after'", err)))
    return rc;
  gw__db_value p[6] = {vreal(t),      vtext(user),        vtext(action),
                       vtext(target), vtext(before_json), vtext(after_json)};
  return run(s, op,
             "INSERT INTO audit (t, \"user\", action, target, \"before\", \"after\")\n"
             "VALUES ($1, $2, $3, $4, $5, $6)",
             p, 6, NULL, err);
}

int gw_store_audit_list(gw_store *s, double from, double to, int limit, cJSON **out,
                        gw_error *err) {
  static const char *const json[] = {"before", "after", NULL};
  gw__db_value p[3] = {vreal(from), vreal(to), vint(limit > 0 ? limit : DEFAULT_LIMIT)};
  return query(s, "audit_list",
               "SELECT id, t, \"user\", action, target, \"before\", \"after\" FROM audit\n"
               "WHERE t >= $1 AND t <= $2 ORDER BY t DESC, id DESC LIMIT $3",
               p, 3, json, out, err);
}

/*
** sqlite.c -- the store's SQLite driver: the embedded default.
**
** Settings, chosen for a daemon with several connections (one per thread)
** to one file, and one hot writer (the control loop's event writer):
**
**   journal_mode=WAL     readers never block the writer nor it them;
**   synchronous=NORMAL   in WAL mode a committed transaction survives a
**                        crash of the process (the WAL is in the OS's page
**                        cache); only a power loss or OS crash may lose the
**                        last transactions, never corrupt the file;
**   busy_timeout=5000    a connection waits up to 5 s for another one's
**                        write lock instead of failing at once;
**   foreign_keys=ON      plans and schedules name existing intersections.
**
** Statements are prepared once and kept in a small cache keyed by their SQL
** text (the store's statements are string constants, and the event batch
** runs the same INSERT for every row), so the hot path is bind, step,
** reset.  Parameters named $1, $2, ... are bound by name, whatever order
** they appear in.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "store/driver.h"

#define CACHE_SIZE 24

typedef struct cached {
  char *sql;
  sqlite3_stmt *st;
} cached;

typedef struct sqlite_db {
  sqlite3 *db;
  cached cache[CACHE_SIZE];
  unsigned next; /* the cache slot to evict next (round robin) */
} sqlite_db;

static int db_error(sqlite3 *db, int rc, gw_error *err) {
  int code = GW_EIO;
  int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_RANGE) {
    code = GW_EINVAL;
  } else if (primary == SQLITE_NOMEM) {
    code = GW_ENOMEM;
  }
  return gw__error(err, code, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* The directory part of path must exist: SQLite would only say "unable to
** open database file". */
static int check_dir(const char *path, gw_error *err) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return GW_OK;
  char *dir = gw__strndup(path, (size_t)(slash - path));
  if (!dir) return gw__error(err, GW_ENOMEM, "out of memory");
  struct stat st;
  int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
  int rc = ok ? GW_OK : gw__error(err, GW_EIO, "directory '%s' does not exist", dir);
  gw__free(dir);
  return rc;
}

static void sl_close(void *handle) {
  sqlite_db *d = handle;
  if (!d) return;
  for (unsigned i = 0; i < CACHE_SIZE; i++) {
    sqlite3_finalize(d->cache[i].st);
    gw__free(d->cache[i].sql);
  }
  sqlite3_close_v2(d->db);
  gw__free(d);
}

static int pragma(sqlite_db *d, const char *sql, const char *expect, gw_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return db_error(d->db, rc, err);
  rc = sqlite3_step(st);
  /* Switching a new file to WAL while other processes open it too can
  ** answer "busy" without calling the busy handler: wait and try again,
  ** up to the busy timeout. */
  for (int tries = 0; (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 250; tries++) {
    sqlite3_reset(st);
    sqlite3_sleep(20);
    rc = sqlite3_step(st);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    int code = db_error(d->db, rc, err);
    sqlite3_finalize(st);
    return code;
  }
  if (expect && rc == SQLITE_ROW) {
    const char *got = (const char *)sqlite3_column_text(st, 0);
    if (!got || strcmp(got, expect) != 0) {
      int code = gw__error(err, GW_EIO, "%s gave '%s', expected '%s'", sql, got ? got : "", expect);
      sqlite3_finalize(st);
      return code;
    }
  }
  sqlite3_finalize(st);
  return GW_OK;
}

static int sl_open(const char *target, void **handle, gw_error *err) {
  *handle = NULL;
  if (!*target) return gw__error(err, GW_EINVAL, "empty path");
  int memory = strcmp(target, ":memory:") == 0;
  if (!memory) {
    int rc = check_dir(target, err);
    if (rc) return rc;
  }
  sqlite_db *d = gw__calloc(1, sizeof *d);
  if (!d) return gw__error(err, GW_ENOMEM, "out of memory");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(target, &d->db, flags, NULL);
  if (rc != SQLITE_OK) {
    rc = db_error(d->db, rc, err);
    sl_close(d);
    return rc;
  }
  sqlite3_extended_result_codes(d->db, 1);
  /* The busy timeout first: switching to WAL needs a lock that another
  ** connection opening the same file may hold for a moment. */
  if ((rc = pragma(d, "PRAGMA busy_timeout = 5000", NULL, err)) ||
      (rc = pragma(d, "PRAGMA journal_mode = WAL", memory ? "memory" : "wal", err)) ||
      (rc = pragma(d, "PRAGMA synchronous = NORMAL", NULL, err)) ||
      (rc = pragma(d, "PRAGMA foreign_keys = ON", NULL, err))) {
    sl_close(d);
    return rc;
  }
  *handle = d;
  return GW_OK;
}

/* The cached statement for sql, prepared on first use. */
static int statement(sqlite_db *d, const char *sql, sqlite3_stmt **out, gw_error *err) {
  for (unsigned i = 0; i < CACHE_SIZE; i++) {
    if (d->cache[i].sql && (d->cache[i].sql == sql || strcmp(d->cache[i].sql, sql) == 0)) {
      *out = d->cache[i].st;
      return GW_OK;
    }
  }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  if (rc != SQLITE_OK) return db_error(d->db, rc, err);
  if (!st) return gw__error(err, GW_EINVAL, "empty statement");
  char *copy = gw__strdup(sql);
  if (!copy) {
    sqlite3_finalize(st);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  cached *c = &d->cache[d->next];
  d->next = (d->next + 1) % CACHE_SIZE;
  sqlite3_finalize(c->st);
  gw__free(c->sql);
  c->sql = copy;
  c->st = st;
  *out = st;
  return GW_OK;
}

static int bind(sqlite_db *d, sqlite3_stmt *st, const gw__db_value *params, int nparams,
                gw_error *err) {
  int count = sqlite3_bind_parameter_count(st);
  for (int j = 1; j <= count; j++) {
    const char *name = sqlite3_bind_parameter_name(st, j);
    long k = name && name[0] == '$' ? strtol(name + 1, NULL, 10) : 0;
    if (k < 1 || k > nparams) {
      return gw__error(err, GW_EINVAL, "parameter %s has no value (%d given)", name ? name : "?",
                       nparams);
    }
    const gw__db_value *v = &params[k - 1];
    int rc;
    switch (v->type) {
      case GW__DB_INT:
        rc = sqlite3_bind_int64(st, j, v->i);
        break;
      case GW__DB_REAL:
        rc = sqlite3_bind_double(st, j, v->d);
        break;
      case GW__DB_TEXT:
        rc = v->s ? sqlite3_bind_text(st, j, v->s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, j);
        break;
      default:
        rc = sqlite3_bind_null(st, j);
        break;
    }
    if (rc != SQLITE_OK) return db_error(d->db, rc, err);
  }
  return GW_OK;
}

static int sl_exec(void *handle, const char *sql, const gw__db_value *params, int nparams,
                   gw__db_row_fn fn, void *ud, int64_t *changes, gw_error *err) {
  sqlite_db *d = handle;
  sqlite3_stmt *st = NULL;
  int rc = statement(d, sql, &st, err);
  if (rc) return rc;
  if ((rc = bind(d, st, params, nparams, err))) goto done;
  const char *names[GW__DB_MAX_COLS];
  gw__db_value row[GW__DB_MAX_COLS];
  int ncols = sqlite3_column_count(st);
  if (ncols > GW__DB_MAX_COLS) {
    rc = gw__error(err, GW_EINVAL, "%d result columns (at most %d)", ncols, GW__DB_MAX_COLS);
    goto done;
  }
  for (int c = 0; c < ncols; c++) names[c] = sqlite3_column_name(st, c);
  for (;;) {
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) break;
    if (s != SQLITE_ROW) {
      rc = db_error(d->db, s, err);
      goto done;
    }
    if (!fn) continue;
    for (int c = 0; c < ncols; c++) {
      gw__db_value *v = &row[c];
      memset(v, 0, sizeof *v);
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
          v->type = GW__DB_INT;
          v->i = sqlite3_column_int64(st, c);
          v->d = (double)v->i;
          break;
        case SQLITE_FLOAT:
          v->type = GW__DB_REAL;
          v->d = sqlite3_column_double(st, c);
          break;
        case SQLITE_NULL:
          v->type = GW__DB_NULL;
          break;
        default:
          v->type = GW__DB_TEXT;
          v->s = (const char *)sqlite3_column_text(st, c);
          if (!v->s) v->type = GW__DB_NULL;
          break;
      }
    }
    if ((rc = fn(ud, ncols, names, row))) goto done;
  }
  if (changes) *changes = sqlite3_changes(d->db);
done:
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int sl_script(void *handle, const char *sql, gw_error *err) {
  sqlite_db *d = handle;
  char *msg = NULL;
  int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);
  if (rc == SQLITE_OK) return GW_OK;
  int code = (rc & 0xff) == SQLITE_CONSTRAINT ? GW_EINVAL : GW_EIO;
  gw__error(err, code, "%s", msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  return code;
}

static int sl_begin(void *handle, gw_error *err) {
  return sl_script(handle, "BEGIN IMMEDIATE", err);
}

static int sl_commit(void *handle, gw_error *err) { return sl_script(handle, "COMMIT", err); }

static void sl_rollback(void *handle) {
  sqlite_db *d = handle;
  if (!sqlite3_get_autocommit(d->db)) sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sl_lock_schema(void *handle, gw_error *err) {
  (void)handle;
  (void)err;
  return GW_OK;
}

/* Plans are insert-only: the database refuses to change or remove a
** version, whoever asks. */
static const char *const sl_migration_extra[] = {
    "CREATE TRIGGER plans_insert_only_u BEFORE UPDATE ON plans\n"
    "BEGIN SELECT RAISE(ABORT, 'plans are insert-only'); END;\n"
    "CREATE TRIGGER plans_insert_only_d BEFORE DELETE ON plans\n"
    "BEGIN SELECT RAISE(ABORT, 'plans are insert-only'); END;\n",
};

const gw__db_driver gw__sqlite_driver = {
    .kind = "sqlite",
    .open = sl_open,
    .close = sl_close,
    .exec = sl_exec,
    .script = sl_script,
    .begin = sl_begin,
    .commit = sl_commit,
    .rollback = sl_rollback,
    .lock_schema = sl_lock_schema,
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .seq_column = "INTEGER PRIMARY KEY",
    .migration_extra = sl_migration_extra,
    .migration_extra_count = 1,
    .batch_rows = 1,
};

/*
** postgres.c -- the store's PostgreSQL driver (libpq): the scaled option.
**
** Every statement goes through PQexecParams with its parameters as text and
** their type OIDs (int8, float8, text), so the same "$1" SQL text serves both drivers and no
** value is ever spliced into SQL.  Result columns come back as text and are
** turned into numbers by their type OID, so that an int4 column is a JSON
** number whichever database holds it.
**
** The event batch is one multi-row INSERT per 1,000 rows (4,000
** parameters, well under the protocol's 65,535), inside one transaction: one
** round trip per thousand events instead of one per event.
**
** Migrations from several processes are serialised by a transaction-scoped
** advisory lock, released by COMMIT or ROLLBACK whatever happens.
**
** The server's notices ("relation already exists, skipping") go to the log
** hook at debug level instead of libpq's default, which writes to stderr.
** A connection found broken (the statement that found it so failed with
** GW_EIO) is reset before the next statement outside a transaction, so a
** daemon's connection survives a restart of the server.
*/
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "store/driver.h"

/* Type OIDs from the server's pg_type catalogue (stable across versions). */
enum {
  OID_BOOL = 16,
  OID_INT8 = 20,
  OID_INT2 = 21,
  OID_INT4 = 23,
  OID_TEXT = 25,
  OID_OID = 26,
  OID_FLOAT4 = 700,
  OID_FLOAT8 = 701,
  OID_NUMERIC = 1700
};

/* The advisory lock key that serialises migrations: 0x67775374, "gwSt". */
#define SCHEMA_LOCK_KEY "1735873396"

/* Text of one parameter value: room for "%.17g" of a double or an int64. */
#define PARAM_TEXT 32

static void on_notice(void *arg, const char *msg) {
  (void)arg;
  gw__log(GW_LOG_DEBUG, "postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* The message without libpq's trailing newline. */
static int pq_error(const char *msg, int code, gw_error *err) {
  if (!msg || !*msg) msg = "unknown error";
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
  return gw__error(err, code, "%.*s", (int)n, msg);
}

static int result_error(PGconn *c, PGresult *res, gw_error *err) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  int code = GW_EIO;
  /* Class 22: data exception; class 23: integrity constraint violation. */
  if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)) code = GW_EINVAL;
  /* The primary message only: the detail line may quote a failing row,
  ** and rows hold password hashes. */
  const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  return pq_error(msg && *msg ? msg : PQerrorMessage(c), code, err);
}

typedef struct pg_db {
  PGconn *conn;
  int tx; /* inside a transaction begun by pg_begin */
} pg_db;

/* A broken connection is reset, but never inside a transaction: the
** statements after the reset would each commit on their own, and the
** transaction's earlier ones would be lost without a word. */
static int ensure(pg_db *d, gw_error *err) {
  if (PQstatus(d->conn) == CONNECTION_OK) return GW_OK;
  if (!d->tx) {
    PQreset(d->conn);
    if (PQstatus(d->conn) == CONNECTION_OK) return GW_OK;
  }
  return pq_error(PQerrorMessage(d->conn), GW_EIO, err);
}

static void pg_close(void *handle) {
  pg_db *d = handle;
  if (!d) return;
  PQfinish(d->conn);
  gw__free(d);
}

static int pg_open(const char *target, void **handle, gw_error *err) {
  *handle = NULL;
  PGconn *c = PQconnectdb(target);
  if (!c) return gw__error(err, GW_ENOMEM, "out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    int rc = pq_error(PQerrorMessage(c), GW_EIO, err);
    PQfinish(c);
    return rc;
  }
  PQsetNoticeProcessor(c, on_notice, NULL);
  if (PQsetClientEncoding(c, "UTF8") != 0) {
    int rc = pq_error(PQerrorMessage(c), GW_EIO, err);
    PQfinish(c);
    return rc;
  }
  pg_db *d = gw__calloc(1, sizeof *d);
  if (!d) {
    PQfinish(c);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  d->conn = c;
  *handle = d;
  return GW_OK;
}

static void format_param(const gw__db_value *v, char *buf, const char **value, Oid *type) {
  switch (v->type) {
    case GW__DB_INT:
      snprintf(buf, PARAM_TEXT, "%lld", (long long)v->i);
      *value = buf;
      *type = OID_INT8;
      break;
    case GW__DB_REAL:
      if (isnan(v->d)) {
        *value = "NaN";
      } else if (isinf(v->d)) {
        *value = v->d > 0 ? "Infinity" : "-Infinity";
      } else {
        snprintf(buf, PARAM_TEXT, "%.17g", v->d);
        *value = buf;
      }
      *type = OID_FLOAT8;
      break;
    case GW__DB_TEXT:
      *value = v->s;
      *type = OID_TEXT;
      break;
    default:
      *value = NULL;
      *type = 0;
      break;
  }
}

static int column_kind(Oid t) {
  switch (t) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
      return GW__DB_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
      return GW__DB_REAL;
    default:
      return GW__DB_TEXT;
  }
}

static int walk(PGresult *res, gw__db_row_fn fn, void *ud, gw_error *err) {
  int ncols = PQnfields(res), nrows = PQntuples(res);
  if (ncols > GW__DB_MAX_COLS) {
    return gw__error(err, GW_EINVAL, "%d result columns (at most %d)", ncols, GW__DB_MAX_COLS);
  }
  const char *names[GW__DB_MAX_COLS];
  int kinds[GW__DB_MAX_COLS];
  Oid types[GW__DB_MAX_COLS];
  for (int c = 0; c < ncols; c++) {
    names[c] = PQfname(res, c);
    types[c] = PQftype(res, c);
    kinds[c] = column_kind(types[c]);
  }
  gw__db_value row[GW__DB_MAX_COLS];
  for (int r = 0; r < nrows; r++) {
    for (int c = 0; c < ncols; c++) {
      gw__db_value *v = &row[c];
      memset(v, 0, sizeof *v);
      if (PQgetisnull(res, r, c)) continue;
      const char *text = PQgetvalue(res, r, c);
      v->type = kinds[c];
      if (types[c] == OID_BOOL) {
        v->i = text[0] == 't';
        v->d = (double)v->i;
      } else if (v->type == GW__DB_INT) {
        v->i = strtoll(text, NULL, 10);
        v->d = (double)v->i;
      } else if (v->type == GW__DB_REAL) {
        v->d = strtod(text, NULL);
      } else {
        v->s = text;
      }
    }
    int rc = fn(ud, ncols, names, row);
    if (rc) return rc;
  }
  return GW_OK;
}

static int pg_exec(void *handle, const char *sql, const gw__db_value *params, int nparams,
                   gw__db_row_fn fn, void *ud, int64_t *changes, gw_error *err) {
  pg_db *d = handle;
  PGconn *c = d->conn;
  int rc = ensure(d, err);
  if (rc) return rc;
  enum { SMALL = 16 };
  char small_text[SMALL][PARAM_TEXT];
  const char *small_values[SMALL];
  Oid small_types[SMALL];
  char(*text)[PARAM_TEXT] = small_text;
  const char **values = small_values;
  Oid *types = small_types;
  if (nparams > SMALL) {
    text = gw__malloc((size_t)nparams * sizeof *text);
    values = gw__malloc((size_t)nparams * sizeof *values);
    types = gw__malloc((size_t)nparams * sizeof *types);
    if (!text || !values || !types) {
      rc = gw__error(err, GW_ENOMEM, "out of memory");
      goto done;
    }
  }
  for (int k = 0; k < nparams; k++) format_param(&params[k], text[k], &values[k], &types[k]);
  PGresult *res = PQexecParams(c, sql, nparams, types, values, NULL, NULL, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    rc = result_error(c, res, err);
  } else {
    if (fn) rc = walk(res, fn, ud, err);
    if (changes) *changes = strtoll(PQcmdTuples(res), NULL, 10);
  }
  PQclear(res);
done:
  if (text != small_text) {
    gw__free(text);
    gw__free(values);
    gw__free(types);
  }
  return rc;
}

static int pg_script(void *handle, const char *sql, gw_error *err) {
  pg_db *d = handle;
  PGconn *c = d->conn;
  int rc = ensure(d, err);
  if (rc) return rc;
  PGresult *res = PQexec(c, sql);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = result_error(c, res, err);
  PQclear(res);
  return rc;
}

static int pg_begin(void *handle, gw_error *err) {
  pg_db *d = handle;
  int rc = pg_script(handle, "BEGIN", err);
  d->tx = rc == GW_OK;
  return rc;
}

static int pg_commit(void *handle, gw_error *err) {
  pg_db *d = handle;
  PGconn *c = d->conn;
  d->tx = 0;
  PGresult *res = PQexec(c, "COMMIT");
  int rc = GW_OK;
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = result_error(c, res, err);
  } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
    /* COMMIT of a transaction that had failed rolls it back. */
    rc = gw__error(err, GW_EIO, "the transaction had failed and was rolled back");
  }
  PQclear(res);
  return rc;
}

static void pg_rollback(void *handle) {
  pg_db *d = handle;
  PGconn *c = d->conn;
  d->tx = 0;
  if (PQtransactionStatus(c) == PQTRANS_IDLE || PQtransactionStatus(c) == PQTRANS_UNKNOWN) return;
  PQclear(PQexec(c, "ROLLBACK"));
}

static int pg_lock_schema(void *handle, gw_error *err) {
  return pg_script(handle, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", err);
}

/* Plans are insert-only: the database refuses to change or remove a
** version, whoever asks. */
static const char *const pg_migration_extra[] = {
    "CREATE FUNCTION plans_insert_only() RETURNS trigger LANGUAGE plpgsql AS\n"
    "  $$ BEGIN RAISE EXCEPTION 'plans are insert-only'; END $$;\n"
    "CREATE TRIGGER plans_insert_only BEFORE UPDATE OR DELETE ON plans\n"
    "  FOR EACH ROW EXECUTE FUNCTION plans_insert_only();\n",
};

const gw__db_driver gw__postgres_driver = {
    .kind = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .script = pg_script,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock_schema = pg_lock_schema,
    .id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .seq_column = "BIGINT GENERATED ALWAYS AS IDENTITY",
    .migration_extra = pg_migration_extra,
    .migration_extra_count = 1,
    .batch_rows = 1000,
};

/*
** driver.h -- the store's database drivers: SQLite and PostgreSQL behind one
** small table of functions.
**
** store.c speaks SQL through this interface only; sqlite.c and postgres.c
** are the two implementations, and the only files that include sqlite3.h or
** libpq-fe.h.  The interface is deliberately narrow:
**
**   - exec runs one statement with positional parameters $1, $2, ... (both
**     databases accept that spelling) and calls a row callback once per
**     result row, then reports how many rows the statement changed;
**   - script runs several statements without parameters (migrations);
**   - begin / commit / rollback bracket a transaction; begin always takes
**     the write lock at once (SQLite: BEGIN IMMEDIATE) so that a transaction
**     never fails half-way for want of a lock it could have waited for;
**   - lock_schema serialises migrations between processes inside the
**     current transaction (PostgreSQL: an advisory lock; SQLite: nothing,
**     BEGIN IMMEDIATE already excludes every other writer).
**
** Values travel typed in both directions (gw__db_value): SQLite binds and
** reads them natively; PostgreSQL sends them as text with their type OID
** and turns result columns back into numbers by their type.
**
** Where the two SQL dialects differ, the driver says so in data: the type of
** an auto-numbered id column, the statements a migration needs on top of the
** shared text (triggers), and how many rows one INSERT should carry.
**
** Errors: every function returns GW_OK or a negative GW_E... code and puts
** the database's own message in err; store.c prefixes the operation.
*/
#ifndef GW_STORE_DRIVER_H
#define GW_STORE_DRIVER_H

#include <stdint.h>

#include "greenwave/gw.h"

/* The most columns a result row may have. */
#define GW__DB_MAX_COLS 32

enum { GW__DB_NULL = 0, GW__DB_INT, GW__DB_REAL, GW__DB_TEXT };

/* A parameter or a result value.  `s` is borrowed: a parameter's must live
** until exec returns; a result's only until the row callback returns. */
typedef struct gw__db_value {
  int type; /* GW__DB_... */
  int64_t i;
  double d;
  const char *s;
} gw__db_value;

/* Called once per result row with the column names and values; a non-zero
** return (a GW_E... code) stops the statement and is returned by exec. */
typedef int (*gw__db_row_fn)(void *ud, int ncols, const char *const *names,
                             const gw__db_value *row);

typedef struct gw__db_driver {
  const char *kind; /* "sqlite" or "postgresql" */
  /* `target` is what follows the URL's scheme: a path, ":memory:", or a
  ** libpq connection string (URL or key=value). */
  int (*open)(const char *target, void **handle, gw_error *err);
  void (*close)(void *handle); /* NULL: no-op */
  /* `fn` may be NULL; `changes` (may be NULL) receives the number of rows
  ** inserted, updated or deleted. */
  int (*exec)(void *handle, const char *sql, const gw__db_value *params, int nparams,
              gw__db_row_fn fn, void *ud, int64_t *changes, gw_error *err);
  int (*script)(void *handle, const char *sql, gw_error *err);
  int (*begin)(void *handle, gw_error *err);
  int (*commit)(void *handle, gw_error *err);
  void (*rollback)(void *handle); /* best effort: nothing to report */
  int (*lock_schema)(void *handle, gw_error *err);

  /* Dialect.  id_column: an auto-numbered 64-bit primary key, never reused
  ** (alarms, schedules, audit); seq_column: an auto-numbered 64-bit column
  ** as cheap as the database allows, for the insertion order of events
  ** (SQLite: the rowid; PostgreSQL: a sequence without an index). */
  const char *id_column;
  const char *seq_column;
  /* Extra statements run after migration N's shared text (index N-1);
  ** NULL entries or a short table: none. */
  const char *const *migration_extra;
  int migration_extra_count;
  /* Rows per INSERT for the event batch (1: one cached prepared statement
  ** run once per row). */
  uint32_t batch_rows;
} gw__db_driver;

extern const gw__db_driver gw__sqlite_driver;
extern const gw__db_driver gw__postgres_driver;

#endif

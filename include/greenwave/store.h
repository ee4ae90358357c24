/*
** store.h -- the control centre's database behind one interface.
**
** Two back ends share one schema and one set of migrations: SQLite in WAL
** mode (the embedded default, "sqlite:PATH") and PostgreSQL through libpq
** ("postgresql://..." or "postgres://...").  gw_store_open creates the schema
** or migrates it to the current version.  Every write that returns GW_OK is
** committed: it survives a crash of the process that made it.  docs/storage.md
** describes the schema, the URLs and the durability guarantees.
**
** Errors: GW_ENOTFOUND for an unknown id (intersection, plan version, user,
** alarm, schedule, session), GW_EINVAL or GW_ERANGE for a value the store
** refuses (an unknown mode, role or severity, text that should be JSON and
** is not), GW_EIO when the database failed; err->msg starts with
** "store: OPERATION: " and carries the database's own message.
**
** Rows come back as cJSON values (arrays of objects whose keys are the
** column names below) so that the API can send them as they are; the caller
** frees them with cJSON_Delete.  Times are UNIX epoch seconds (double, 0.1 s
** resolution for events).  Strings are UTF-8; JSON columns hold JSON text
** and come back parsed.
**
** One gw_store is used by one thread at a time; the daemon opens one per
** thread that needs one (the control loop's writer, the HTTP workers).
*/
#ifndef GREENWAVE_STORE_H
#define GREENWAVE_STORE_H

#include <stdint.h>

#include "greenwave/gw.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_store gw_store;
struct cJSON;

/* The schema version this build writes; gw_store_open migrates older ones
** and refuses newer ones (GW_ESTATE). */
#define GW_STORE_SCHEMA_VERSION 1

/* url: "sqlite:PATH" (the directory must exist: GW_EIO otherwise),
** "sqlite:///ABSOLUTE/PATH", "sqlite::memory:" (a private database, for
** tests), "postgresql://..." or "postgres://..." (a libpq URL, e.g.
** "postgresql:///greenwave?host=/run/postgresql"), or "postgresql:" and a
** libpq key=value string ("postgresql:host=db dbname=greenwave").  Any
** other scheme: GW_EINVAL naming the URL (without its password). */
int gw_store_open(const char *url, gw_store **out, gw_error *err);
void gw_store_close(gw_store *s); /* NULL: no-op */
/* "sqlite" or "postgresql". */
const char *gw_store_kind(const gw_store *s);
int gw_store_schema_version(gw_store *s, int *version, gw_error *err);

/* One transaction around several calls (a change and its audit row): the
** calls' own transactions join it, and a failure in any of them makes
** gw_store_commit roll back and return GW_ESTATE.  Not nestable. */
int gw_store_begin(gw_store *s, gw_error *err);
int gw_store_commit(gw_store *s, gw_error *err);
void gw_store_rollback(gw_store *s);

/* ---- intersections ------------------------------------------------------
** Columns: id, name, x, y (the network's metric coordinates), config (JSON:
** groups, stages, detectors, as the centre derives them), mode ("fixed",
** "actuated", "adaptive", "maxpressure", "hold", "flash"), mode_param (text:
** the held stage, or controller parameters), plan_version (active plan, 0:
** the network's own program). */
/* Creates the row when absent with mode "fixed"; keeps mode and plan when
** present (configuration and position are updated). */
int gw_store_intersection_put(gw_store *s, const char *id, const char *name, double x, double y,
                              const char *config_json, gw_error *err);
/* GW_EINVAL for a mode not listed above. */
int gw_store_intersection_set_mode(gw_store *s, const char *id, const char *mode,
                                   const char *mode_param, gw_error *err);
int gw_store_intersection_get(gw_store *s, const char *id, struct cJSON **out, gw_error *err);
int gw_store_intersections(gw_store *s, struct cJSON **out, gw_error *err);

/* ---- signal plans: versioned, never overwritten ------------------------
** Columns: intersection_id, version (1, 2, ... per intersection), body
** (JSON, e.g. {"cycle_s":90,"offset_s":0,"splits_s":[40,45]}), created_at,
** created_by, note, active (1 for the intersection's active plan).  The
** database itself refuses UPDATE and DELETE on plans. */
int gw_store_plan_create(gw_store *s, const char *intersection_id, const char *body_json,
                         const char *created_by, const char *note, double created_at, int *version,
                         gw_error *err);
int gw_store_plan_get(gw_store *s, const char *intersection_id, int version, struct cJSON **out,
                      gw_error *err);
int gw_store_plans(gw_store *s, const char *intersection_id, struct cJSON **out, gw_error *err);
/* Makes `version` the active plan (GW_ENOTFOUND when it does not exist);
** version 0 goes back to the network's own program. */
int gw_store_plan_activate(gw_store *s, const char *intersection_id, int version, gw_error *err);

/* ---- schedules (time of day / day of week) ------------------------------
** Columns: id, intersection_id, days (bit 0 Sunday .. bit 6 Saturday),
** start_s (seconds after midnight), plan_version.  Adding checks days
** (1..127) and start_s ([0, 86400)): GW_ERANGE; an unknown intersection or
** plan version (0: the network's own program): GW_ENOTFOUND.  Listed by
** start_s; intersection_id NULL: every intersection's. */
int gw_store_schedule_add(gw_store *s, const char *intersection_id, int days, double start_s,
                          int plan_version, int64_t *id, gw_error *err);
int gw_store_schedule_delete(gw_store *s, int64_t id, gw_error *err);
int gw_store_schedules(gw_store *s, const char *intersection_id, struct cJSON **out, gw_error *err);

/* ---- high-resolution events ------------------------------------------- */
typedef struct gw_store_event {
  const char *signal_id;
  double t; /* epoch s */
  int code, param;
} gw_store_event;
/* Writes n events in one transaction: all of them or none. */
int gw_store_events_add(gw_store *s, const gw_store_event *ev, uint32_t n, gw_error *err);
/* Columns: signal_id, t, code, param; from <= t <= to, ordered by t (events
** at one t in the order they were written); signal_id NULL: all; at most
** `limit` rows (limit <= 0: 10000). */
int gw_store_events(gw_store *s, const char *signal_id, double from, double to, int limit,
                    struct cJSON **out, gw_error *err);

/* ---- detector aggregates (volume and occupancy per 5 and 15 minutes) --- */
typedef struct gw_store_aggregate {
  const char *detector_id;
  const char *intersection_id;
  int period_s;     /* 300 or 900 */
  double start;     /* epoch s, start of the period */
  int volume;       /* vehicles */
  double occupancy; /* 0..1 */
} gw_store_aggregate;
/* Upserts n rows in one transaction: a row for a (detector_id, period_s,
** start) already stored is replaced. */
int gw_store_aggregates_add(gw_store *s, const gw_store_aggregate *a, uint32_t n, gw_error *err);
/* Columns: detector_id, intersection_id, period_s, start, volume,
** occupancy; from <= start <= to, ordered by start then detector_id;
** intersection_id NULL: all. */
int gw_store_aggregates(gw_store *s, const char *intersection_id, int period_s, double from,
                        double to, struct cJSON **out, gw_error *err);

/* ---- alarms --------------------------------------------------------------
** Columns: id, t, intersection_id, kind (e.g. "failsafe", "deadline",
** "detector_stuck_on"), severity ("critical", "major", "minor"), message,
** acked_by, acked_at, cleared_at (NULL while open). */
/* intersection_id may be NULL (an alarm of the whole centre); severity must
** be one of the three (GW_EINVAL). */
int gw_store_alarm_raise(gw_store *s, double t, const char *intersection_id, const char *kind,
                         const char *severity, const char *message, int64_t *id, gw_error *err);
/* GW_ENOTFOUND for an unknown id, GW_ESTATE when already acknowledged. */
int gw_store_alarm_ack(gw_store *s, int64_t id, const char *user, double t, gw_error *err);
/* GW_ENOTFOUND for an unknown id, GW_ESTATE when already cleared. */
int gw_store_alarm_clear(gw_store *s, int64_t id, double t, gw_error *err);
/* open_only: only alarms not cleared. Newest first, at most `limit`
** (limit <= 0: 10000). */
int gw_store_alarms(gw_store *s, int open_only, int limit, struct cJSON **out, gw_error *err);

/* ---- users and sessions ---------------------------------------------------
** Roles: "viewer", "operator", "admin".  The store keeps the password hash
** it is given (an encoded Argon2id string); hashing is the caller's. */
int gw_store_user_add(gw_store *s, const char *name, const char *role, const char *pwhash,
                      double created_at, gw_error *err); /* GW_EINVAL: name taken */
/* GW_ENOTFOUND for an unknown user; GW_EINVAL for an unknown role. */
int gw_store_user_set_password(gw_store *s, const char *name, const char *pwhash, gw_error *err);
int gw_store_user_set_role(gw_store *s, const char *name, const char *role, gw_error *err);
/* Columns: name, role, pwhash, created_at. */
int gw_store_user_get(gw_store *s, const char *name, struct cJSON **out, gw_error *err);
/* Columns: name, role, created_at (no hashes). */
int gw_store_users(gw_store *s, struct cJSON **out, gw_error *err);
int gw_store_user_count(gw_store *s, int *n, gw_error *err);

/* Sessions are stored by the hash of their token (hex), never the token.
** Adding one removes the sessions expired at created_at; GW_ENOTFOUND for
** an unknown user. */
int gw_store_session_add(gw_store *s, const char *token_hash, const char *user, double created_at,
                         double expires_at, gw_error *err);
/* Columns: user, role, expires_at; GW_ENOTFOUND when absent or expired at
** time `now`. */
int gw_store_session_get(gw_store *s, const char *token_hash, double now, struct cJSON **out,
                         gw_error *err);
/* GW_ENOTFOUND when there is no such session. */
int gw_store_session_delete(gw_store *s, const char *token_hash, gw_error *err);

/* ---- audit log ----------------------------------------------------------
** Columns: id, t, user, action (e.g. "plan.create", "mode.set",
** "alarm.ack", "user.add"), target, before, after (JSON or NULL). */
int gw_store_audit(gw_store *s, double t, const char *user, const char *action, const char *target,
                   const char *before_json, const char *after_json, gw_error *err);
/* from <= t <= to, newest first, at most `limit` (limit <= 0: 10000). */
int gw_store_audit_list(gw_store *s, double from, double to, int limit, struct cJSON **out,
                        gw_error *err);

#ifdef __cplusplus
}
#endif
#endif

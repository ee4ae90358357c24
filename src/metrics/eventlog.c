/*
** eventlog.c -- a streaming reader of high-resolution controller event logs
** in the CSV layout SignalID,Timestamp,EventCode,EventParam.
**
** Memory is fixed whatever the file's length: one 64 KB read buffer that
** lines are cut from in place, and the interned signal ids (at most
** GW_EVLOG_MAX_SIGNALS of at most 63 bytes, kept in blocks that never move,
** so the pointers handed to the callback stay valid).  Nothing is allocated
** per row.
**
** Invariants.  Every line is either a header (line 1 only), blank, a
** delivered or filtered event, or counted under exactly one GW_EVLOG_*
** reason; so lines = header + blank + events + sum(bad).  A bad row never
** stops the read.
**
** Tuned for logs of tens of millions of rows written by controllers and by
** Greenwave itself: rows are split with one pass and no copies, a run of
** rows of the same signal skips the intern hash, and with a signal filter
** other signals are compared as bytes and never interned.  Timestamps are
** turned into days with a closed formula instead of timegm(), which is slow
** and depends on the process's time zone.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "greenwave/measures.h"
#include "metrics/eventlog.h"

#define BUF_SIZE 65536
#define ID_MAX 63
#define IDS_PER_BLOCK 64
#define NBLOCKS (GW_EVLOG_MAX_SIGNALS / IDS_PER_BLOCK)
#define HASH_SLOTS (2 * GW_EVLOG_MAX_SIGNALS) /* power of two */

enum { COL_SIGNAL, COL_TIME, COL_CODE, COL_PARAM };

struct gw_eventlog {
  FILE *fp;
  int close_fp; /* 0 for standard input */
  char name[256];
  char *buf;  /* BUF_SIZE bytes */
  int col[4]; /* field index of each COL_* */
  gw_eventlog_stats st;
  /* Interned ids: blocks of IDS_PER_BLOCK slots of ID_MAX + 1 bytes. */
  char *blocks[NBLOCKS];
  uint32_t nids;
  uint16_t *slots; /* HASH_SLOTS entries, id index + 1, 0 = empty */
  const char *last_id;
  size_t last_len;
  int oom; /* set when interning ran out of memory */
};

/* ---- CSV fields --------------------------------------------------------- */

static gw__field trim(const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
  gw__field f = {s, n};
  return f;
}

size_t gw__csv_split(const char *line, size_t len, gw__field *f, size_t max) {
  size_t nf = 0, i = 0;
  for (;;) {
    size_t start = i;
    int quoted = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i < len && line[i] == '"') quoted = 1, i++;
    while (i < len) {
      if (quoted && line[i] == '"')
        quoted = 0;
      else if (!quoted && line[i] == ',')
        break;
      i++;
    }
    if (nf == max) return max + 1;
    f[nf++] = trim(line + start, i - start);
    if (i >= len) return nf;
    i++; /* the comma */
  }
}

int gw__parse_int(const gw__field *f, long lo, long hi, long *out) {
  const char *s = f->s;
  size_t n = f->n, i = 0;
  int neg = 0;
  if (n && (s[0] == '-' || s[0] == '+')) neg = s[0] == '-', i = 1;
  if (i == n || n - i > 10) return -1;
  long v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (neg) v = -v;
  if (v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int gw__field_is(const gw__field *f, const char *name) {
  size_t n = strlen(name);
  if (n != f->n) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = f->s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != name[i]) return 0;
  }
  return 1;
}

/* ---- timestamps --------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long days_from_civil(long long y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

/* Reads between lo and hi digits at *p. */
static int digits(const char **p, const char *end, int lo, int hi, int *out) {
  int v = 0, k = 0;
  while (*p < end && k < hi && **p >= '0' && **p <= '9') v = v * 10 + (*(*p)++ - '0'), k++;
  if (k < lo) return -1;
  *out = v;
  return 0;
}

static int expect(const char **p, const char *end, char c) {
  if (*p >= end || **p != c) return -1;
  (*p)++;
  return 0;
}

int gw_time_parse(const char *s, size_t len, double *out) {
  gw__field f = trim(s, len);
  const char *p = f.s, *end = f.s + f.n;
  int y, mo, d, h, mi, sec;
  /* The date: ISO when the first number has four digits, else US. */
  const char *q = p;
  while (q < end && *q >= '0' && *q <= '9') q++;
  if (q - p == 4) {
    if (digits(&p, end, 4, 4, &y) || expect(&p, end, '-') || digits(&p, end, 1, 2, &mo) ||
        expect(&p, end, '-') || digits(&p, end, 1, 2, &d))
      return GW_EPARSE;
    if (p >= end || (*p != ' ' && *p != 'T')) return GW_EPARSE;
  } else {
    if (digits(&p, end, 1, 2, &mo) || expect(&p, end, '/') || digits(&p, end, 1, 2, &d) ||
        expect(&p, end, '/') || digits(&p, end, 4, 4, &y))
      return GW_EPARSE;
    if (p >= end || *p != ' ') return GW_EPARSE;
  }
  while (p < end && (*p == ' ' || *p == 'T')) p++;
  if (digits(&p, end, 1, 2, &h) || expect(&p, end, ':') || digits(&p, end, 2, 2, &mi) ||
      expect(&p, end, ':') || digits(&p, end, 2, 2, &sec))
    return GW_EPARSE;
  double frac = 0;
  if (p < end && (*p == '.' || *p == ',')) {
    p++;
    long long num = 0, den = 1;
    int k = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, k++)
      if (k < 9) num = num * 10 + (*p - '0'), den *= 10;
    if (!k) return GW_EPARSE;
    frac = (double)num / (double)den;
  }
  while (p < end && *p == ' ') p++;
  if (p < end && (*p == 'Z' || *p == 'z') && p + 1 == end) {
    p++;
  } else if (end - p == 2 && (p[1] == 'M' || p[1] == 'm')) {
    /* 12-hour clock: 12 AM is midnight, 12 PM noon. */
    int pm = p[0] == 'P' || p[0] == 'p';
    if (!pm && p[0] != 'A' && p[0] != 'a') return GW_EPARSE;
    if (h < 1 || h > 12) return GW_EPARSE;
    h = h % 12 + (pm ? 12 : 0);
    p = end;
  }
  if (p != end) return GW_EPARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
    return GW_EPARSE;
  *out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) + frac;
  return GW_OK;
}

void gw_time_format(double t, char *buf, size_t len) {
  long long tenths = llround(t * 10);
  long long days = tenths >= 0 ? tenths / 864000 : -((-tenths + 863999) / 864000);
  long long rem = tenths - days * 864000;
  int y, m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04d-%02d-%02d %02lld:%02lld:%02lld.%lld", y, m, d, rem / 36000,
           rem / 600 % 60, rem / 10 % 60, rem % 10);
}

/* ---- the reader --------------------------------------------------------- */

const char *gw_eventlog_reason(int reason) {
  static const char *const why[GW_EVLOG_NREASONS] = {
      "not four fields (SignalID,Timestamp,EventCode,EventParam)",
      "empty or over-long (> 63 bytes) signal id",
      "timestamp not YYYY-MM-DD HH:MM:SS[.f], YYYY-MM-DDTHH:MM:SS[.f] or MM/DD/YYYY HH:MM:SS[.f]",
      "event code not an integer",
      "unknown event code",
      "event parameter not an integer in [0, 2147483647]",
      "line longer than 1024 bytes",
      "more than 4096 distinct signal ids"};
  return reason >= 0 && reason < GW_EVLOG_NREASONS ? why[reason] : "unknown reason";
}

/* The codes of the Indiana enumerations Greenwave reads (see
** shared/specs/indiana-events.md) and Greenwave's own 900 and 901. */
static int known_code(long c) {
  if (c >= 0 && c <= 12) return 1;
  if ((c >= 21 && c <= 23) || c == 45 || c == 81 || c == 82 || c == 89 || c == 90 || c == 102)
    return 1;
  if (c >= 131 && c <= 151) return 1;
  return c == 900 || c == 901;
}

int gw_eventlog_open(const char *path, gw_eventlog **out, gw_error *err) {
  *out = NULL;
  gw_eventlog *r = gw__calloc(1, sizeof *r);
  if (!r) return gw__error(err, GW_ENOMEM, "out of memory");
  r->buf = gw__malloc(BUF_SIZE);
  if (!r->buf) {
    gw__free(r);
    return gw__error(err, GW_ENOMEM, "out of memory");
  }
  if (!strcmp(path, "-")) {
    r->fp = stdin;
  } else {
    r->fp = fopen(path, "rb");
    r->close_fp = 1;
  }
  if (!r->fp) {
    int e = errno;
    gw__free(r->buf);
    gw__free(r);
    return gw__error(err, GW_EIO, "%s: cannot open: %s", path, strerror(e));
  }
  snprintf(r->name, sizeof r->name, "%s", path);
  for (int i = 0; i < 4; i++) r->col[i] = i;
  *out = r;
  return GW_OK;
}

void gw_eventlog_close(gw_eventlog *r) {
  if (!r) return;
  if (r->close_fp) fclose(r->fp);
  for (int i = 0; i < NBLOCKS; i++) gw__free(r->blocks[i]);
  gw__free(r->slots);
  gw__free(r->buf);
  gw__free(r);
}

const gw_eventlog_stats *gw_eventlog_stats_get(const gw_eventlog *r) { return &r->st; }

static void count_bad(gw_eventlog *r, int reason, uint64_t line) {
  uint64_t k = r->st.bad[reason]++;
  if (k < GW_EVLOG_FIRST_LINES) r->st.bad_lines[reason][k] = line;
}

static uint32_t hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

/* The interned copy of s[0..n), NULL when out of memory, or when the table
** is full (*full set). */
static const char *intern(gw_eventlog *r, const char *s, size_t n, int *full) {
  if (r->last_id && r->last_len == n && !memcmp(r->last_id, s, n)) return r->last_id;
  if (!r->slots && !(r->slots = gw__calloc(HASH_SLOTS, sizeof *r->slots))) return NULL;
  uint32_t h = hash(s, n) & (HASH_SLOTS - 1);
  for (;; h = (h + 1) & (HASH_SLOTS - 1)) {
    uint16_t k = r->slots[h];
    if (!k) break;
    const char *id =
        r->blocks[(k - 1) / IDS_PER_BLOCK] + (size_t)((k - 1) % IDS_PER_BLOCK) * (ID_MAX + 1);
    if (strlen(id) == n && !memcmp(id, s, n)) {
      r->last_id = id, r->last_len = n;
      return id;
    }
  }
  if (r->nids == GW_EVLOG_MAX_SIGNALS) {
    *full = 1;
    return NULL;
  }
  uint32_t b = r->nids / IDS_PER_BLOCK;
  if (!r->blocks[b] && !(r->blocks[b] = gw__malloc(IDS_PER_BLOCK * (ID_MAX + 1)))) return NULL;
  char *id = r->blocks[b] + (size_t)(r->nids % IDS_PER_BLOCK) * (ID_MAX + 1);
  memcpy(id, s, n);
  id[n] = 0;
  r->slots[h] = (uint16_t)(++r->nids);
  r->last_id = id, r->last_len = n;
  return id;
}

/* Line 1 is a header when its four fields name the four columns, in any
** order. */
static int read_header(gw_eventlog *r, const gw__field *f, size_t nf) {
  if (nf != 4) return 0;
  static const char *const names[4][4] = {{"signalid", "signal_id", "signal", "deviceid"},
                                          {"timestamp", "time", "datetime", "timestamp_utc"},
                                          {"eventcode", "event_code", "code", "eventid"},
                                          {"eventparam", "event_param", "param", "parameter"}};
  int col[4] = {-1, -1, -1, -1};
  for (size_t i = 0; i < 4; i++)
    for (int c = 0; c < 4; c++)
      for (int k = 0; k < 4; k++)
        if (gw__field_is(&f[i], names[c][k])) col[c] = (int)i;
  for (int c = 0; c < 4; c++)
    if (col[c] < 0) return 0;
  memcpy(r->col, col, sizeof col);
  return 1;
}

/* Parses one line; returns the callback's non-zero value to stop (or 1
** with r->oom set when out of memory), else 0. */
static int parse_line(gw_eventlog *r, const char *line, size_t len, const gw_eventlog_filter *flt,
                      size_t flt_len, gw_eventlog_fn fn, void *ud) {
  uint64_t ln = r->st.lines;
  if (ln == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) line += 3, len -= 3;
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
  if (i == len) return 0; /* blank */
  gw__field f[5];
  size_t nf = gw__csv_split(line, len, f, 4);
  if (ln == 1 && read_header(r, f, nf)) {
    r->st.header = 1;
    return 0;
  }
  if (nf != 4) {
    count_bad(r, GW_EVLOG_BAD_COLUMNS, ln);
    return 0;
  }
  const gw__field *sig = &f[r->col[COL_SIGNAL]];
  gw_log_event e;
  long code, param;
  if (!sig->n || sig->n > ID_MAX) {
    count_bad(r, GW_EVLOG_BAD_SIGNAL, ln);
    return 0;
  }
  const gw__field *ts = &f[r->col[COL_TIME]];
  if (gw_time_parse(ts->s, ts->n, &e.t)) {
    count_bad(r, GW_EVLOG_BAD_TIME, ln);
    return 0;
  }
  if (gw__parse_int(&f[r->col[COL_CODE]], -2147483647L, 2147483647L, &code)) {
    count_bad(r, GW_EVLOG_BAD_CODE, ln);
    return 0;
  }
  if (!known_code(code)) {
    count_bad(r, GW_EVLOG_UNKNOWN_CODE, ln);
    return 0;
  }
  if (gw__parse_int(&f[r->col[COL_PARAM]], 0, 2147483647L, &param)) {
    count_bad(r, GW_EVLOG_BAD_PARAM, ln);
    return 0;
  }
  r->st.events++;
  if (flt) {
    if (flt->signal && (sig->n != flt_len || memcmp(sig->s, flt->signal, flt_len))) return 0;
    if (!(e.t >= flt->from_t) || !(e.t < flt->to_t)) return 0;
  }
  int full = 0;
  e.signal = intern(r, sig->s, sig->n, &full);
  if (!e.signal) {
    if (!full) return r->oom = 1;
    r->st.events--;
    count_bad(r, GW_EVLOG_TOO_MANY_SIGNALS, ln);
    return 0;
  }
  e.code = (int)code;
  e.param = (int)param;
  e.line = ln;
  r->st.delivered++;
  return fn ? fn(ud, &e) : 0;
}

int gw_eventlog_read(gw_eventlog *r, const gw_eventlog_filter *filter, gw_eventlog_fn fn, void *ud,
                     gw_error *err) {
  size_t flt_len = filter && filter->signal ? strlen(filter->signal) : 0;
  size_t len = 0, pos = 0;
  int eof = 0, skipping = 0, rc = 0;
  while (!rc) {
    char *nl = memchr(r->buf + pos, '\n', len - pos);
    if (!nl && !eof) {
      /* Keep the partial line and read more after it. */
      if (pos == 0 && len == BUF_SIZE) {
        /* A full buffer without a newline: the line is too long. */
        if (!skipping) r->st.lines++, count_bad(r, GW_EVLOG_LONG_LINE, r->st.lines);
        skipping = 1;
        len = 0;
      } else if (pos) {
        memmove(r->buf, r->buf + pos, len - pos);
        len -= pos;
        pos = 0;
      }
      size_t got = fread(r->buf + len, 1, BUF_SIZE - len, r->fp);
      if (got == 0) {
        if (ferror(r->fp)) return gw__error(err, GW_EIO, "%s: read error", r->name);
        eof = 1;
      }
      len += got;
      continue;
    }
    size_t end = nl ? (size_t)(nl - r->buf) : len;
    if (skipping) {
      skipping = 0;
    } else if (end > pos || nl) {
      r->st.lines++;
      if (end - pos > GW_EVLOG_MAX_LINE)
        count_bad(r, GW_EVLOG_LONG_LINE, r->st.lines);
      else
        rc = parse_line(r, r->buf + pos, end - pos, filter, flt_len, fn, ud);
    }
    if (!nl) break;
    pos = end + 1;
  }
  if (r->oom) return gw__error(err, GW_ENOMEM, "out of memory");
  return rc;
}

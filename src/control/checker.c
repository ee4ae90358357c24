/*
** checker.c -- an independent, slow checker of a sequence of lamp states.
**
** The safety monitor (monitor.c) decides what the lamps show; this file only
** looks at what they showed and says whether that was safe.  It is written
** from the rules alone, without looking at the monitor, so that the two do
** not share a mistake: the unit tests run the monitor against random and
** hostile controllers and feed every state it produces to this checker, and
** auditing tools can feed it a field log.
**
** The rules, for a sequence of (t, state) with t strictly increasing and one
** character per link out of 'G' (protected green), 'g' (permissive green),
** 'y' (yellow), 'r' (red) and 'o' (flashing yellow, the flash mode):
**   R0  all links of a group show the same character.
**   R1  a green period (any mix of 'G' and 'g') that ends has lasted at
**       least the group's min_green_s, from its first green sample to its
**       first non-green sample.
**   R2  green is followed only by yellow; yellow lasts at least yellow_s
**       (first yellow sample to first red sample) and is followed only by
**       red.  Red is followed only by green.
**   R3  two conflicting groups are never both non-red in the same sample
**       unless they are compatible: one of them yields to the other and
**       shows 'g', or 'y' at the end of a green whose last character was
**       'g'.  A hard conflict in either direction is never compatible.
**   R4  a group that turns green (red to 'G'/'g') or steps up from 'g' to
**       'G' at time t needs every group h that is not compatible with its
**       new character to be red now and to have been red since at least
**       t - allred_s[h][g].
**   R5  flash: a group enters 'o' only from red and leaves it only to red,
**       which starts its all-red; 'o' never shows beside a conflicting
**       green or yellow.
** The first state fed is the starting point: its greens and yellows count
** as started long ago, its reds as cleared.  A yellow in the first state is
** taken to end a protected green (the stricter reading).
**
** Invariants.  Group and link numbers in messages are indices into the
** model (0-based).  Comparisons of durations allow 1e-6 s of rounding, so
** that t accumulated from 0.1 s steps is not a breach.  The checker keeps
** the first breach: once a feed has failed, every later feed returns the
** same code and message.
**
** Cost.  Each feed is O(links + groups^2): fine for tests and logs, which is
** all it is for.  Nothing here is meant to be fast.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "greenwave/control.h"

#define EPS 1e-6

/* What the checker remembers of one group between samples. */
typedef struct group_track {
  char c;              /* character shown in the last sample */
  char last_green;     /* 'G' or 'g': the last green character of the current or last green */
  double green_since;  /* s, first sample of the current green period */
  double yellow_since; /* s, first sample of the current yellow */
  double red_since;    /* s, first sample of the current red */
} group_track;

struct gw_safety_checker {
  gw_signal_model m;                  /* a copy: the caller may free theirs */
  int started;                        /* 1 once the first state was fed */
  int failed;                         /* 1 once a breach was found */
  double last_t;                      /* s, time of the last sample */
  char why[256];                      /* the first breach */
  uint32_t first_link[GW_MAX_GROUPS]; /* lowest link of each group, for messages */
  group_track grp[GW_MAX_GROUPS];
};

static int is_green(char c) { return c == 'G' || c == 'g'; }

/* Does any of the two groups conflict with the other at all? */
static int conflicts(const gw_signal_model *m, uint32_t a, uint32_t b) {
  return m->conflict[a][b] != GW_CONFLICT_NONE || m->conflict[b][a] != GW_CONFLICT_NONE;
}

/* Is group x, showing c, running permissively: 'g', or the yellow that ends
** a green whose last character was 'g'? */
static int permissive(const gw_safety_checker *c, uint32_t x, char ch) {
  return ch == 'g' || (ch == 'y' && c->grp[x].last_green == 'g');
}

/* May a (showing ca) and b (showing cb) be non-red together?  The
** characters are passed in rather than read from the tracks, so that R4 can
** ask about a group's new character. */
static int compatible(const gw_safety_checker *c, uint32_t a, char ca, uint32_t b, char cb) {
  const gw_signal_model *m = &c->m;
  if (!conflicts(m, a, b)) return 1;
  if (m->conflict[a][b] == GW_CONFLICT_HARD || m->conflict[b][a] == GW_CONFLICT_HARD) return 0;
  if (m->conflict[a][b] == GW_CONFLICT_YIELDS && permissive(c, a, ca)) return 1;
  if (m->conflict[b][a] == GW_CONFLICT_YIELDS && permissive(c, b, cb)) return 1;
  return 0;
}

/* Records the first breach and hands it to the caller. */
static int breach(gw_safety_checker *c, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int breach(gw_safety_checker *c, char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  c->failed = 1;
  if (why && why_len > 0) snprintf(why, why_len, "%s", c->why);
  return GW_EINVAL;
}

int gw_safety_checker_create(const gw_signal_model *m, gw_safety_checker **out) {
  if (!m || !out) return GW_EINVAL;
  if (m->ngroups == 0 || m->ngroups > GW_MAX_GROUPS || m->nlinks > 256) return GW_ERANGE;
  for (uint32_t k = 0; k < m->nlinks; k++)
    if (m->group_of_link[k] >= m->ngroups) return GW_EINVAL;
  gw_safety_checker *c = gw__calloc(1, sizeof *c);
  if (!c) return GW_ENOMEM;
  c->m = *m;
  /* Links are read through group_of_link, so messages name links the same
  ** way; a group without links (never seen, taken as red) names link 0. */
  for (uint32_t k = m->nlinks; k-- > 0;) c->first_link[m->group_of_link[k]] = k;
  *out = c;
  return GW_OK;
}

void gw_safety_checker_destroy(gw_safety_checker *c) { gw__free(c); }

/* R0: the character each group shows, into `now`.  Groups without links
** are taken to be red. */
static int read_groups(gw_safety_checker *c, double t, const char *state, char *now, char *why,
                       size_t why_len) {
  const gw_signal_model *m = &c->m;
  uint32_t seen_at[GW_MAX_GROUPS];
  for (uint32_t g = 0; g < m->ngroups; g++) {
    now[g] = 'r';
    seen_at[g] = UINT32_MAX;
  }
  for (uint32_t k = 0; k < m->nlinks; k++) {
    char ch = state[k];
    if (ch == 0)
      return breach(c, why, why_len, "t=%.1f: state has %u characters, the signal has %u links", t,
                    k, m->nlinks);
    if (ch != 'G' && ch != 'g' && ch != 'y' && ch != 'r' && ch != 'o')
      return breach(c, why, why_len, "t=%.1f: link %u shows '%c', not one of G, g, y, r, o", t, k,
                    ch);
    uint32_t g = m->group_of_link[k];
    if (seen_at[g] == UINT32_MAX) {
      seen_at[g] = k;
      now[g] = ch;
    } else if (now[g] != ch) {
      return breach(c, why, why_len, "t=%.1f: group %u shows '%c' on link %u but '%c' on link %u",
                    t, g, now[g], seen_at[g], ch, k);
    }
  }
  if (state[m->nlinks] != 0)
    return breach(c, why, why_len, "t=%.1f: state is longer than the signal's %u links", t,
                  m->nlinks);
  return GW_OK;
}

/* R1 and R2 for one group going from its last character to `to`; updates
** its track.  Sets *starts when the group turns green or steps up to 'G'. */
static int advance_group(gw_safety_checker *c, double t, uint32_t g, char to, int *starts,
                         char *why, size_t why_len) {
  const gw_signal_group *sg = &c->m.groups[g];
  group_track *tr = &c->grp[g];
  char from = tr->c;
  uint32_t k = c->first_link[g];
  *starts = 0;
  if (from == 'o' || to == 'o') {
    /* Flash is entered from red and left to red only; its end starts the
    ** all-red of the groups that follow. */
    if (from != to && from != 'r' && to != 'r')
      return breach(c, why, why_len, "t=%.1f: group %u (link %u) went from '%c' to '%c'", t, g, k,
                    from, to);
    if (from == 'o' && to == 'r') tr->red_since = t;
    tr->c = to;
    return GW_OK;
  }
  if (is_green(from) && is_green(to)) {
    if (from == 'g' && to == 'G') *starts = 1;
    tr->last_green = to;
  } else if (is_green(from)) {
    if (to == 'r')
      return breach(c, why, why_len,
                    "t=%.1f: group %u (link %u) went from green to red "
                    "without yellow",
                    t, g, k);
    if (t - tr->green_since < sg->min_green_s - EPS)
      return breach(c, why, why_len,
                    "t=%.1f: group %u (link %u) green for %.2f s, its "
                    "minimum is %.2f s",
                    t, g, k, t - tr->green_since, sg->min_green_s);
    tr->yellow_since = t;
  } else if (from == 'y') {
    if (is_green(to))
      return breach(c, why, why_len,
                    "t=%.1f: group %u (link %u) went from yellow back to "
                    "green",
                    t, g, k);
    if (to == 'r') {
      if (t - tr->yellow_since < sg->yellow_s - EPS)
        return breach(c, why, why_len,
                      "t=%.1f: group %u (link %u) yellow for %.2f s, its "
                      "yellow time is %.2f s",
                      t, g, k, t - tr->yellow_since, sg->yellow_s);
      tr->red_since = t;
    }
  } else { /* from red */
    if (to == 'y')
      return breach(c, why, why_len, "t=%.1f: group %u (link %u) went from red to yellow", t, g, k);
    if (is_green(to)) {
      *starts = 1;
      tr->green_since = t;
      tr->last_green = to;
    }
  }
  tr->c = to;
  return GW_OK;
}

/* R3 on the current characters of all groups. */
static int check_pairs(gw_safety_checker *c, double t, char *why, size_t why_len) {
  const gw_signal_model *m = &c->m;
  for (uint32_t a = 0; a < m->ngroups; a++) {
    char ca = c->grp[a].c;
    if (ca == 'r') continue;
    for (uint32_t b = a + 1; b < m->ngroups; b++) {
      char cb = c->grp[b].c;
      if (cb == 'r' || (ca == 'o' && cb == 'o')) continue;
      if (ca != 'o' && cb != 'o' && compatible(c, a, ca, b, cb)) continue;
      if ((ca == 'o' || cb == 'o') && m->conflict[a][b] == GW_CONFLICT_NONE &&
          m->conflict[b][a] == GW_CONFLICT_NONE)
        continue;
      int hard = m->conflict[a][b] == GW_CONFLICT_HARD || m->conflict[b][a] == GW_CONFLICT_HARD;
      char both[32];
      if (is_green(ca) && is_green(cb))
        snprintf(both, sizeof both, "green");
      else
        snprintf(both, sizeof both, "non-red ('%c' and '%c')", ca, cb);
      return breach(c, why, why_len, "t=%.1f: groups %u and %u (links %u, %u) both %s: %s", t, a, b,
                    c->first_link[a], c->first_link[b], both,
                    hard ? "hard conflict" : "conflict, and neither runs permissive");
    }
  }
  return GW_OK;
}

/* R4 for group g, which has just turned green or stepped up to 'G'.  Runs
** after R3 on the same sample. */
static int check_start(gw_safety_checker *c, double t, uint32_t g, char *why, size_t why_len) {
  const gw_signal_model *m = &c->m;
  char cg = c->grp[g].c;
  for (uint32_t h = 0; h < m->ngroups; h++) {
    if (h == g) continue;
    char ch = c->grp[h].c;
    /* R3 has passed for this sample, so a group that is not compatible
    ** with g's new character is red now; what is left is how long. */
    if (ch != 'r' || compatible(c, h, ch, g, cg)) continue;
    double red = t - c->grp[h].red_since;
    if (red < m->allred_s[h][g] - EPS)
      return breach(c, why, why_len,
                    "t=%.1f: group %u (link %u) turned '%c' %.2f s after group "
                    "%u (link %u) turned red; the all-red time is %.2f s",
                    t, g, c->first_link[g], cg, red, h, c->first_link[h], m->allred_s[h][g]);
  }
  return GW_OK;
}

int gw_safety_checker_feed(gw_safety_checker *c, double t, const char *state, char *why,
                           size_t why_len) {
  if (c->failed) {
    if (why && why_len > 0) snprintf(why, why_len, "%s", c->why);
    return GW_EINVAL;
  }
  if (!state) return breach(c, why, why_len, "t=%.1f: no state", t);
  if (!isfinite(t) || (c->started && !(t > c->last_t)))
    return breach(c, why, why_len, "t=%.1f: time does not increase (last %.1f)", t, c->last_t);
  char now[GW_MAX_GROUPS];
  int rc = read_groups(c, t, state, now, why, why_len);
  if (rc) return rc;
  c->last_t = t;
  const gw_signal_model *m = &c->m;
  if (!c->started) {
    /* The starting point: everything in it began long ago. */
    c->started = 1;
    for (uint32_t g = 0; g < m->ngroups; g++) {
      group_track *tr = &c->grp[g];
      tr->c = now[g];
      tr->last_green = now[g] == 'g' ? 'g' : 'G';
      tr->green_since = tr->yellow_since = tr->red_since = -INFINITY;
    }
    return check_pairs(c, t, why, why_len);
  }
  uint64_t starts = 0;
  for (uint32_t g = 0; g < m->ngroups; g++) {
    int s;
    if ((rc = advance_group(c, t, g, now[g], &s, why, why_len))) return rc;
    if (s) starts |= 1ull << g;
  }
  if ((rc = check_pairs(c, t, why, why_len))) return rc;
  for (uint32_t g = 0; g < m->ngroups; g++)
    if ((starts >> g & 1) && (rc = check_start(c, t, g, why, why_len))) return rc;
  return GW_OK;
}

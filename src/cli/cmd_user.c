/*
** cmd_user.c -- `greenwave user`: the control centre's user accounts.
**
** `add` and `passwd` read the password from standard input (its first line,
** with --password-stdin) or ask for it twice on the terminal with echo off;
** it is hashed here (Argon2id) and only the hash reaches the store.  The
** first admin of a new centre is made this way, since the API lets only an
** admin add users.  Adding a user is written to the audit log as user "cli".
**
** Exit status: 0 done, 1 the store failed (or the user exists / is
** unknown), 2 usage error.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "greenwave/store.h"
#include "server/api.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

static const char usage[] =
    "usage: greenwave user add NAME --role viewer|operator|admin [--db URL] [--password-stdin]\n"
    "       greenwave user list [--db URL]\n"
    "       greenwave user passwd NAME [--db URL] [--password-stdin]\n"
    "\n"
    "Manages the control centre's users (docs/api.md).  The password is read\n"
    "from the terminal (twice, not echoed) or, with --password-stdin, from the\n"
    "first line of standard input; it must have at least 8 characters.\n"
    "\n"
    "options:\n"
    "  --role ROLE        viewer (read only), operator (plans, modes, alarms) or\n"
    "                     admin (users too)\n"
    "  --db URL           the store (default sqlite:var/greenwave.db; ./var is\n"
    "                     created when missing); postgresql://... for PostgreSQL\n"
    "  --password-stdin   read the password from standard input\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 done, 1 the store failed or the user exists (add) or is\n"
    "unknown (passwd), 2 usage error.\n";

static const char default_db[] = "sqlite:var/greenwave.db";

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (!n || n > 64) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '_' || ch == '-' || ch == '@'))
      return 0;
  }
  return 1;
}

static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

/* One line without its newline; -1 at end of input or when too long. */
static int read_line(FILE *f, char *buf, size_t len) {
  if (!fgets(buf, (int)len, f)) return -1;
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n') {
    buf[--n] = 0;
    if (n && buf[n - 1] == '\r') buf[--n] = 0;
  } else if (!feof(f)) {
    return -1;
  }
  return 0;
}

static int prompt(const char *what, char *buf, size_t len) {
  struct termios old, quiet;
  int tty = tcgetattr(STDIN_FILENO, &old) == 0;
  fprintf(stderr, "%s", what);
  fflush(stderr);
  if (tty) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  int rc = read_line(stdin, buf, len);
  if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  fputc('\n', stderr);
  return rc;
}

/* The new password into buf; 0 on success, 1 or 2 (exit status) after a
** message. */
static int get_password(int from_stdin, char *buf, size_t len) {
  if (from_stdin) {
    if (read_line(stdin, buf, len)) {
      gw_cli_error("no password on standard input (or longer than %d bytes)", PASSWORD_MAX);
      return 2;
    }
  } else {
    if (!isatty(STDIN_FILENO)) {
      gw_cli_error("standard input is not a terminal: use --password-stdin");
      return 2;
    }
    char again[PASSWORD_MAX + 2];
    if (prompt("New password: ", buf, len) || prompt("Again: ", again, sizeof again)) {
      gw_cli_error("no password read");
      return 2;
    }
    int same = !strcmp(buf, again);
    memset(again, 0, sizeof again);
    if (!same) {
      gw_cli_error("the two passwords differ");
      return 2;
    }
  }
  if (utf8_chars(buf) < PASSWORD_MIN) {
    gw_cli_error("the password must have at least %d characters", PASSWORD_MIN);
    return 2;
  }
  return 0;
}

/* The default store lives under ./var: make the directory once. */
static int open_store(const char *url, gw_store **st) {
  if (!strcmp(url, default_db) && mkdir("var", 0770) && errno != EEXIST) {
    gw_cli_error("var: cannot create the directory: %s", strerror(errno));
    return 1;
  }
  gw_error err = {0, {0}};
  if (gw_store_open(url, st, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  return 0;
}

static int cmd_list(gw_store *st) {
  cJSON *rows = NULL, *it;
  gw_error err = {0, {0}};
  if (gw_store_users(st, &rows, &err)) {
    gw_cli_error("%s", err.msg);
    return 1;
  }
  printf("%-24s %-9s %s\n", "name", "role", "created");
  cJSON_ArrayForEach(it, rows) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "role");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "created_at");
    char when[32] = "-";
    if (cJSON_IsNumber(c)) {
      time_t t = (time_t)c->valuedouble;
      struct tm tm;
      if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
    }
    printf("%-24s %-9s %s\n", cJSON_IsString(n) ? n->valuestring : "?",
           cJSON_IsString(r) ? r->valuestring : "?", when);
  }
  cJSON_Delete(rows);
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int gw_cmd_user(int argc, char **argv) {
  const char *sub = NULL, *name = NULL, *role = NULL, *db = default_db;
  int from_stdin = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--role") && has) {
      role = argv[++i];
    } else if (!strcmp(a, "--db") && has) {
      db = argv[++i];
    } else if (!strcmp(a, "--password-stdin")) {
      from_stdin = 1;
    } else if (a[0] == '-' && a[1]) {
      gw_cli_error("unknown option or missing value '%s' (see `greenwave user --help`)", a);
      return 2;
    } else if (!sub) {
      sub = a;
    } else if (!name) {
      name = a;
    } else {
      gw_cli_error("'%s' is extra (see `greenwave user --help`)", a);
      return 2;
    }
  }
  if (!sub) {
    fputs(usage, stderr);
    return 2;
  }
  int is_add = !strcmp(sub, "add"), is_list = !strcmp(sub, "list"),
      is_passwd = !strcmp(sub, "passwd");
  if (!is_add && !is_list && !is_passwd) {
    gw_cli_error("unknown user command '%s': expected add, list or passwd", sub);
    return 2;
  }
  if (is_list && name) {
    gw_cli_error("user list takes no name");
    return 2;
  }
  if (!is_list && !name) {
    gw_cli_error("user %s needs a NAME", sub);
    return 2;
  }
  if (name && !valid_name(name)) {
    gw_cli_error("user name '%s': 1 to 64 letters, digits or . _ - @", name);
    return 2;
  }
  if (is_add &&
      (!role || (strcmp(role, "viewer") && strcmp(role, "operator") && strcmp(role, "admin")))) {
    gw_cli_error("user add needs --role viewer, operator or admin");
    return 2;
  }
  if (!is_add && role) {
    gw_cli_error("--role is for user add only");
    return 2;
  }
  char pw[PASSWORD_MAX + 2], hash[128];
  int status;
  if (!is_list) {
    if ((status = get_password(from_stdin, pw, sizeof pw))) {
      memset(pw, 0, sizeof pw);
      return status;
    }
    int rc = gw_auth_hash_password(pw, hash, sizeof hash);
    memset(pw, 0, sizeof pw);
    if (rc) {
      gw_cli_error("the password could not be hashed (out of memory?)");
      return 1;
    }
  }
  gw_store *st = NULL;
  if (open_store(db, &st)) return 1;
  gw_error err = {0, {0}};
  status = 1;
  if (is_list) {
    status = cmd_list(st);
  } else if (is_add) {
    int rc = gw_store_user_add(st, name, role, hash, now_s(), &err);
    if (rc == GW_EINVAL) {
      gw_cli_error(
          "a user named '%s' exists already (change the password with `greenwave "
          "user passwd %s`)",
          name, name);
    } else if (rc) {
      gw_cli_error("%s", err.msg);
    } else {
      char after[160];
      snprintf(after, sizeof after, "{\"name\":\"%s\",\"role\":\"%s\"}", name, role);
      if (gw_store_audit(st, now_s(), "cli", "user.add", name, NULL, after, &err))
        gw_cli_error("%s", err.msg);
      else
        status = 0;
    }
  } else {
    cJSON *row = NULL;
    int rc = gw_store_user_get(st, name, &row, &err);
    cJSON_Delete(row);
    if (rc == GW_ENOTFOUND)
      gw_cli_error("no user '%s'", name);
    else if (rc || (rc = gw_store_user_set_password(st, name, hash, &err)))
      gw_cli_error("%s", err.msg);
    else if (gw_store_audit(st, now_s(), "cli", "user.update", name, NULL,
                            "{\"password_changed\":true}", &err))
      gw_cli_error("%s", err.msg);
    else
      status = 0;
  }
  gw_store_close(st);
  if (!status && !is_list)
    fprintf(stderr, "greenwave: user %s %s\n", name, is_add ? "added" : "password changed");
  return status;
}

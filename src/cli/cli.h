/*
** cli.h -- what the subcommands of the `greenwave` command share.
*/
#ifndef GW_CLI_H
#define GW_CLI_H

#include <stdio.h>

int gw_cmd_sim(int argc, char **argv);
int gw_cmd_compare(int argc, char **argv);
int gw_cmd_signals(int argc, char **argv);
int gw_cmd_field(int argc, char **argv);
int gw_cmd_measures(int argc, char **argv);
int gw_cmd_serve(int argc, char **argv);    /* cmd_serve.c */
int gw_cmd_status(int argc, char **argv);   /* cmd_serve.c */
int gw_cmd_user(int argc, char **argv);     /* cmd_user.c */
int gw_cmd_convert(int argc, char **argv);  /* cmd_convert.c */
int gw_cmd_incident(int argc, char **argv); /* cmd_incident.c */

/* Shared option parsing of sim and compare.  parse_run_option returns 0 when
** it consumed argv[*i] (and its value), 1 when the option is not a run
** option, -1 on a usage error (message printed). */
struct gw_run_opts;
int gw_cli_parse_num(const char *opt, const char *s, double lo, double hi, double *out);
int gw_cli_parse_run_option(struct gw_run_opts *o, const char *cmd, int argc, char **argv, int *i);

/* Progress reporting on stderr: a redrawn bar on a terminal, a plain line
** every tenth of the run otherwise. */
typedef struct gw_progress {
  int tty, quiet;
  double begin_s, end_s; /* end_s < 0: unknown */
  double last_wall, start_wall;
  int last_decile;
} gw_progress;

double gw_cli_now(void);
void gw_progress_init(gw_progress *p, double begin_s, double end_s, int quiet);
void gw_progress_update(gw_progress *p, double sim_t, unsigned long running, unsigned long arrived,
                        unsigned long loaded, unsigned long long veh_steps, int force);
void gw_progress_done(gw_progress *p);

/* Prints "greenwave: <msg>" on stderr. */
void gw_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

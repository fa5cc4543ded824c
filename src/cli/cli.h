/*
 * barge: the client.  Every command is a client of barged's Engine API
 * (client.h); nothing here touches the image store or runs containers
 * itself.  main.c parses the global options and dispatches through the
 * command tables each command-group file exports; one file per group:
 * images.c archive.c auth.c (images), containers.c run.c exec.c ...
 * (containers), system.c (version, info, events, system df/prune).
 */
#ifndef BARGE_CLI_H
#define BARGE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/cli.h"
#include "../common/err.h"
#include "client.h"

struct cli {
        const char *host; /* -H/--host, or NULL (client.h's default order) */
        char **argv;      /* argv[0] is the command */
        int argc;
        struct client *client; /* opened on first use (cli_client) */
};

struct cli_command {
        const char *name;
        int (*fn)(struct cli *c); /* returns the exit code */
        const char *help;         /* NULL: not listed in `barge --help` (aliases) */
};
/* each group's table, terminated by {NULL} */
extern const struct cli_command image_commands[];     /* images.c archive.c auth.c */
extern const struct cli_command container_commands[]; /* containers.c ... */
extern const struct cli_command system_commands[];    /* system.c */

/* `GROUP SUBCOMMAND ARGS` (barge image ls, barge system df, ...): run the
 * entry of `sub` (terminated by {NULL}) named by argv[1], with argv[0]
 * then being the subcommand. */
int cli_subcommand(struct cli *c, const char *group, const struct cli_command *sub);

/* getopt_long over the command's arguments ('+': options stop at the first
 * operand); returns the first operand's index or -1 after reporting. */
typedef int (*cli_opt_fn)(void *data, int opt, const char *arg);
int cli_parse(struct cli *c, const char *shortopts, const struct option *opts, cli_opt_fn fn,
              void *data);
/* The connection to barged, opened on first use. */
int cli_client(struct cli *c, struct client **out, struct err **e);
/* Print a daemon error as docker does ("Error response from daemon: ...")
 * or a local one as one line; returns exit code 1 (125 for run/create
 * failures is the caller's choice). */
int cli_fail_daemon(struct err **e);

/* Docker's tables (Go's tabwriter, minwidth 10, padding 3): add lines
 * whose cells are separated by '\t'; flush aligns the cells of every
 * column but the last, prints and empties the table. */
struct table {
        char **lines;
        size_t n;
};
void table_add(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_flush(struct table *t);

/* --format: "table ..." prints a header row (header names from the
 * placeholders: .ID -> "CONTAINER ID" and so on, from `heads`, pairs of
 * field name and header terminated by NULL), and "\t" "\n" escapes are
 * honoured as docker does.  fmt_row renders one object into the table. */
struct fmt {
        const char *tmpl; /* the template without "table " */
        int table;
        struct table t;
};
int fmt_begin(struct fmt *f, const char *format, const char *const *heads, struct err **e);
int fmt_row(struct fmt *f, json_t *obj, struct err **e);
void fmt_end(struct fmt *f);

/* Ask "Are you sure you want to continue? [y/N] " after `warning`; 1 if yes. */
int cli_confirm(const char *warning);

/* Parse docker's time arguments (--since/--until): a duration ("10m",
 * "1h30m", relative to now), an RFC 3339 time or unix seconds; returns
 * unix seconds as a string in buf for the API. */
int cli_parse_time(const char *s, char *buf, size_t n, struct err **e);

/* Shared between the command files. */
int cmd_save(struct cli *c); /* archive.c */
int cmd_load(struct cli *c);
int cmd_import(struct cli *c);
int cmd_login(struct cli *c); /* auth.c */
int cmd_logout(struct cli *c);
int cmd_image_inspect(struct cli *c); /* images.c */
int cmd_run(struct cli *c);           /* run.c */
int cmd_create(struct cli *c);
int cmd_start(struct cli *c);
int cmd_attach(struct cli *c);
int cmd_exec(struct cli *c);            /* exec.c */
int cmd_cp(struct cli *c);              /* cp.c */
int cmd_container_prune(struct cli *c); /* containers.c */
/* pull with the progress display (run uses it for a missing image) */
int image_pull(struct cli *c, const char *image, const char *platform, FILE *out,
               struct err **e); /* out NULL: quiet */
/* "k=v" added to a filters object {"k":["v",...]} as the API wants it */
int cli_filter_add(json_t *filters, const char *kv, struct err **e);
/* 12 hex digits of an id (without "sha256:") */
const char *short_id(const char *id, char buf[16]);
/* inspect output: an indented JSON array, or --format per object */
int print_inspect(json_t *out, const char *format, struct err **e);

/* term.c: raw mode (restored at exit and on fatal signals), window size,
 * and the I/O pump of a hijacked connection. */
int term_raw(void);
void term_restore(void);
/* POST resize_path?h=&w= with the terminal's size (nothing if no tty). */
void term_resize(struct client *cl, const char *resize_path);
int parse_detach_keys(const char *spec, unsigned char *keys, size_t *n, struct err **e);
struct pump_opts {
        int fd;                  /* the hijacked connection */
        int tty;                 /* raw stream (else multiplexed) */
        int send_stdin;          /* forward stdin (shutdown(SHUT_WR) at its end) */
        const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
        struct client *cl;
        const char *resize_path; /* "/containers/ID/resize" or "/exec/ID/resize" */
        const char *kill_path;   /* signal proxy: "/containers/ID/kill", or NULL */
};
/* Until the output ends or the detach keys are typed (*detached = 1). */
int pump_run(const struct pump_opts *o, int *detached, struct err **e);

/* human-readable sizes and times, as docker prints them */
void human_size(int64_t bytes, char *buf, size_t n);
void human_ago(int64_t unix_time, char *buf, size_t n);

#endif

/*
 * barge: the client.  Until the daemon exists (the engine issue) the image
 * commands run in-process over the store and registry libraries; they move
 * behind the Engine API later, with the same command line.  main.c parses
 * the global options and dispatches; one file per command group.
 */
#ifndef BARGE_CLI_H
#define BARGE_CLI_H

#include <getopt.h>

#include "../common/cli.h"

#include "../common/err.h"
#include "../registry/registry.h"
#include "../store/store.h"

struct cli {
        const char *root;
        struct registry_opts reg;
        const char *insecure[32];
        int n_insecure;
        char **argv; /* argv[0] is the command */
        int argc;
        struct store *store; /* opened on first use */
};

/* getopt_long over the command's arguments ('+': options stop at the first
 * operand); returns the first operand's index or -1 after reporting. */
typedef int (*cli_opt_fn)(void *data, int opt, const char *arg);
int cli_parse(struct cli *c, const char *shortopts, const struct option *opts, cli_opt_fn fn,
              void *data);
int cli_store(struct cli *c, struct store **s, struct err **e);

/* human-readable sizes and times, as docker prints them */
void human_size(int64_t bytes, char *buf, size_t n);
void human_ago(int64_t unix_time, char *buf, size_t n);

int cmd_pull(struct cli *c);
int cmd_push(struct cli *c);
int cmd_images(struct cli *c);
int cmd_image(struct cli *c); /* image inspect|ls|prune|rm|pull|push|tag|history|save|load|import */
int cmd_inspect(struct cli *c);
int cmd_history(struct cli *c);
int cmd_tag(struct cli *c);
int cmd_rmi(struct cli *c);
int cmd_save(struct cli *c);
int cmd_load(struct cli *c);
int cmd_import(struct cli *c);
int cmd_login(struct cli *c);
int cmd_logout(struct cli *c);

#endif

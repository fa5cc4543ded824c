/*
 * barge-runtime's command line: runc's commands and flags.  main.c parses
 * the global flags and dispatches; each file implements a group of
 * commands over the runtime library.  A command returns its exit code; on
 * failure it has already printed one error line through log_error().
 */
#ifndef BARGE_RUNTIME_CLI_H
#define BARGE_RUNTIME_CLI_H

#include <getopt.h>

#include "../../common/cli.h"

#include "../runtime.h"

struct cli {
        struct rt_ctx ctx;
        char **argv; /* the command's arguments, argv[0] = command name */
        int argc;
};

/* getopt_long_only over c->argv with runc's rules (options stop at the first
 * operand); returns the index of the first operand, or -1 after reporting. */
typedef int (*cli_opt_fn)(void *data, int opt, const char *arg);
int cli_parse(struct cli *c, const struct option *opts, cli_opt_fn fn, void *data);
/* Exactly one container id operand at argv[i]. */
int cli_one_id(struct cli *c, int i, const char **id);

int cmd_create(struct cli *c);
int cmd_run(struct cli *c);
int cmd_start(struct cli *c);
int cmd_state(struct cli *c);
int cmd_kill(struct cli *c);
int cmd_delete(struct cli *c);
int cmd_exec(struct cli *c);
int cmd_list(struct cli *c);
int cmd_ps(struct cli *c);
int cmd_pause(struct cli *c);
int cmd_resume(struct cli *c);
int cmd_update(struct cli *c);
int cmd_events(struct cli *c);
int cmd_spec(struct cli *c);
int cmd_features(struct cli *c);

#endif

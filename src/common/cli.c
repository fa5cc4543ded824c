#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* Set once by main before anything else runs; read-only afterwards. */
static const char *cli_prog = "barge";
static int cli_usage_exit = 1;

void cli_common_init(const char *prog, int usage_exit)
{
        cli_prog = prog;
        cli_usage_exit = usage_exit;
        log_init(prog);
}

int cli_fail(struct err **e)
{
        log_error("%s", *e ? (*e)->msg : "unknown error");
        err_free(e);
        return 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s: %s (see '%s %s --help')", cmd, msg, cli_prog, cmd);
        return cli_usage_exit;
}

void cli_command_help(const char *cmd, const struct option *opts)
{
        printf("usage: %s %s [OPTIONS] ...\n\noptions:\n", cli_prog, cmd);
        for (const struct option *o = opts; o->name; o++)
                printf("  --%s%s\n", o->name, o->has_arg ? " VALUE" : "");
        exit(0);
}

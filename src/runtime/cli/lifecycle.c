/* create, run, start, state, kill, delete */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "cli.h"

enum {
        O_BUNDLE = 'b',
        O_DETACH = 'd',
        O_CONSOLE = 256,
        O_PIDFILE,
        O_NOPIVOT,
        O_NOKEYRING,
        O_PRESERVE,
        O_NOSUBREAPER,
        O_KEEP,
        O_FORCE = 'f',
        O_ALL = 'a'
};

struct create_args {
        struct rt_create_opts o;
        int detach;
        const char *cmd;
};

static int create_opt(void *data, int opt, const char *arg)
{
        struct create_args *a = data;
        long long n;
        switch (opt) {
        case O_BUNDLE:
                a->o.bundle = arg;
                break;
        case O_CONSOLE:
                a->o.console_socket = arg;
                break;
        case O_PIDFILE:
                a->o.pid_file = arg;
                break;
        case O_NOPIVOT:
                a->o.no_pivot = 1;
                break;
        case O_NOKEYRING:
                a->o.no_new_keyring = 1;
                break;
        case O_PRESERVE:
                if (parse_int64(arg, &n) < 0 || n < 0 || n > 65536)
                        return cli_usage(a->cmd, "--preserve-fds: %s is not a count", arg), -1;
                a->o.preserve_fds = (int)n;
                break;
        case O_DETACH:
                a->detach = 1;
                break;
        case O_KEEP:
                a->o.keep = 1;
                break;
        default:
                break;
        }
        return 0;
}

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, O_BUNDLE},
    {"console-socket", required_argument, NULL, O_CONSOLE},
    {"pid-file", required_argument, NULL, O_PIDFILE},
    {"no-pivot", no_argument, NULL, O_NOPIVOT},
    {"no-new-keyring", no_argument, NULL, O_NOKEYRING},
    {"preserve-fds", required_argument, NULL, O_PRESERVE},
    {"detach", no_argument, NULL, O_DETACH},
    {"no-subreaper", no_argument, NULL, O_NOSUBREAPER},
    {"keep", no_argument, NULL, O_KEEP},
    {NULL, 0, NULL, 0},
};

static int parse_create(struct cli *c, struct create_args *a, const char **id)
{
        a->cmd = c->argv[0];
        int i = cli_parse(c, create_opts, create_opt, a);
        if (cli_one_id(c, i, id) < 0)
                return -1;
        /* runc resolves the pid file against the caller's directory */
        return 0;
}

int cmd_create(struct cli *c)
{
        struct create_args a = {0};
        const char *id;
        struct err *e = NULL;
        if (parse_create(c, &a, &id) < 0)
                return 1;
        return rt_create(&c->ctx, id, &a.o, &e) < 0 ? cli_fail(&e) : 0;
}

int cmd_run(struct cli *c)
{
        struct create_args a = {0};
        const char *id;
        struct err *e = NULL;
        int status = 0;
        if (parse_create(c, &a, &id) < 0)
                return 1;
        if (rt_run(&c->ctx, id, &a.o, a.detach, &status, &e) < 0)
                return cli_fail(&e);
        return status;
}

static int no_opt(void *data, int opt, const char *arg)
{
        return 0;
}

static const struct option no_opts[] = {{NULL, 0, NULL, 0}};

int cmd_start(struct cli *c)
{
        const char *id;
        struct err *e = NULL;
        if (cli_one_id(c, cli_parse(c, no_opts, no_opt, NULL), &id) < 0)
                return 1;
        return rt_start(&c->ctx, id, &e) < 0 ? cli_fail(&e) : 0;
}

int cmd_state(struct cli *c)
{
        const char *id;
        struct err *e = NULL;
        json_t *st;
        if (cli_one_id(c, cli_parse(c, no_opts, no_opt, NULL), &id) < 0)
                return 1;
        if (rt_state(&c->ctx, id, &st, &e) < 0)
                return cli_fail(&e);
        json_dumpf(st, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(st);
        return 0;
}

static int flag_opt(void *data, int opt, const char *arg)
{
        *(int *)data = 1;
        return 0;
}

int cmd_kill(struct cli *c)
{
        static const struct option opts[] = {{"all", no_argument, NULL, O_ALL}, {NULL, 0, NULL, 0}};
        int all = 0;
        struct err *e = NULL;
        int i = cli_parse(c, opts, flag_opt, &all);
        if (i < 0)
                return 1;
        if (i >= c->argc)
                return cli_usage("kill", "a container id is required");
        if (i + 2 < c->argc)
                return cli_usage("kill", "unexpected argument %s", c->argv[i + 2]);
        const char *signame = i + 1 < c->argc ? c->argv[i + 1] : "SIGTERM";
        int sig = signal_from_name(signame);
        if (sig < 0)
                return cli_usage("kill", "unknown signal %s", signame);
        return rt_kill(&c->ctx, c->argv[i], sig, all, &e) < 0 ? cli_fail(&e) : 0;
}

int cmd_delete(struct cli *c)
{
        static const struct option opts[] = {{"force", no_argument, NULL, O_FORCE},
                                             {NULL, 0, NULL, 0}};
        int force = 0, rc = 0;
        int i = cli_parse(c, opts, flag_opt, &force);
        if (i < 0)
                return 1;
        if (i >= c->argc)
                return cli_usage("delete", "a container id is required");
        for (; i < c->argc; i++) {
                struct err *e = NULL;
                if (rt_delete(&c->ctx, c->argv[i], force, &e) < 0)
                        rc = cli_fail(&e);
        }
        return rc;
}

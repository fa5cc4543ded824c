/*
 * barge-runtime: an OCI runtime with runc's command line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "cli.h"

#define VERSION "0.1.0"

static const struct {
        const char *name;
        int (*fn)(struct cli *);
        int clone; /* enters containers: run from a sealed copy (selfclone.c) */
} commands[] = {
    {"create", cmd_create, 1}, {"run", cmd_run, 1},       {"exec", cmd_exec, 1},
    {"start", cmd_start, 0},   {"state", cmd_state, 0},   {"kill", cmd_kill, 0},
    {"delete", cmd_delete, 0}, {"list", cmd_list, 0},     {"ps", cmd_ps, 0},
    {"pause", cmd_pause, 0},   {"resume", cmd_resume, 0}, {"update", cmd_update, 0},
    {"events", cmd_events, 0}, {"spec", cmd_spec, 0},     {"features", cmd_features, 0},
};

int cli_parse(struct cli *c, const struct option *opts, cli_opt_fn fn, void *data)
{
        char shorts[128] = "+:";
        size_t n = 2;
        for (const struct option *o = opts; o->name && n < sizeof(shorts) - 3; o++) {
                if (o->val < 256 && o->val > ' ') {
                        shorts[n++] = (char)o->val;
                        if (o->has_arg)
                                shorts[n++] = ':';
                }
        }
        shorts[n] = '\0';
        optind = 0;
        opterr = 0;
        int opt, idx;
        while ((opt = getopt_long_only(c->argc, c->argv, shorts, opts, &idx)) != -1) {
                if (opt == '?' &&
                    (!strcmp(c->argv[optind - 1], "--help") || !strcmp(c->argv[optind - 1], "-h")))
                        cli_command_help(c->argv[0], opts);
                if (opt == '?')
                        return cli_usage(c->argv[0], "unknown option %s", c->argv[optind - 1]), -1;
                if (opt == ':')
                        return cli_usage(c->argv[0], "option %s needs a value",
                                         c->argv[optind - 1]),
                               -1;
                if (fn(data, opt, optarg) < 0)
                        return -1;
        }
        return optind;
}

int cli_one_id(struct cli *c, int i, const char **id)
{
        if (i < 0)
                return -1;
        if (i >= c->argc)
                return cli_usage(c->argv[0], "a container id is required"), -1;
        if (i + 1 < c->argc)
                return cli_usage(c->argv[0], "unexpected argument %s", c->argv[i + 1]), -1;
        *id = c->argv[i];
        return 0;
}

static void usage(void)
{
        printf("usage: barge-runtime [global options] command [options] [id] [args]\n\n"
               "An OCI runtime with runc's command line.\n\ncommands:");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                printf(" %s", commands[i].name);
        printf("\n\nglobal options: --root DIR, --log FILE, --log-format text|json, --debug,\n"
               "  --systemd-cgroup, --rootless auto|true|false, --version\n");
}

enum {
        G_ROOT = 256,
        G_LOG,
        G_LOG_FORMAT,
        G_DEBUG,
        G_SYSTEMD,
        G_ROOTLESS,
        G_CRIU,
        G_HELP,
        G_VERSION
};

int main(int argc, char **argv, char **envp)
{
        static const struct option opts[] = {
            {"root", required_argument, NULL, G_ROOT},
            {"log", required_argument, NULL, G_LOG},
            {"log-format", required_argument, NULL, G_LOG_FORMAT},
            {"debug", no_argument, NULL, G_DEBUG},
            {"systemd-cgroup", no_argument, NULL, G_SYSTEMD},
            {"rootless", required_argument, NULL, G_ROOTLESS},
            {"criu", required_argument, NULL, G_CRIU},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'v'},
            {NULL, 0, NULL, 0},
        };
        struct cli c = {.ctx = {.root = RT_DEFAULT_ROOT}};
        const char *log_path = NULL;
        int json_log = 0;
        cli_common_init("barge-runtime", 1);
        opterr = 0;
        int opt;
        while ((opt = getopt_long_only(argc, argv, "+hv", opts, NULL)) != -1) {
                switch (opt) {
                case G_ROOT:
                        c.ctx.root = optarg;
                        break;
                case G_LOG:
                        log_path = optarg;
                        break;
                case G_LOG_FORMAT:
                        if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
                                log_error("--log-format: %s is neither text nor json", optarg);
                                return 1;
                        }
                        json_log = !strcmp(optarg, "json");
                        break;
                case G_DEBUG:
                        log_set_level(LOG_DEBUG);
                        break;
                case G_SYSTEMD:
                        c.ctx.systemd_cgroup = 1;
                        break;
                case G_ROOTLESS:
                case G_CRIU:
                        break; /* accepted for compatibility; rootless is decided by the config */
                case 'h':
                        usage();
                        return 0;
                case 'v':
                        printf("barge-runtime version " VERSION "\nspec: 1.0.2-dev\n");
                        return 0;
                default:
                        log_error("unknown global option %s", argv[optind - 1]);
                        return 1;
                }
        }
        if (log_path && log_open_file(log_path, json_log) < 0) {
                log_error("--log %s: cannot open", log_path);
                return 1;
        }
        if (optind >= argc) {
                usage();
                return 1;
        }
        c.argv = argv + optind;
        c.argc = argc - optind;
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
                if (strcmp(c.argv[0], commands[i].name))
                        continue;
                if (commands[i].clone) {
                        struct err *e = NULL;
                        if (rt_ensure_cloned_binary(argv, envp, &e) < 0)
                                return cli_fail(&e);
                }
                return commands[i].fn(&c);
        }
        if (!strcmp(c.argv[0], "checkpoint") || !strcmp(c.argv[0], "restore"))
                log_error("%s: not supported by barge-runtime (no CRIU support)", c.argv[0]);
        else
                log_error("unknown command %s", c.argv[0]);
        return 1;
}

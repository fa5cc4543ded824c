/*
 * barge: the client's entry point: global options (-H, -D, -v, --help),
 * then a command from the groups' tables (cli.h).  Also the helpers every
 * command shares: option parsing, the connection, error lines, and
 * Docker's human-readable sizes and times.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cli.h"

#define BARGE_VERSION "0.1.0"

static const struct cli_command *const groups[] = {image_commands, container_commands,
                                                   system_commands};

int cli_subcommand(struct cli *c, const char *group, const struct cli_command *sub)
{
        if (c->argc < 2)
                return cli_usage(group, "a subcommand is required");
        for (; sub->name; sub++) {
                if (strcmp(c->argv[1], sub->name))
                        continue;
                c->argv++;
                c->argc--;
                return sub->fn(c);
        }
        return cli_usage(group, "unknown subcommand %s", c->argv[1]);
}

int cli_parse(struct cli *c, const char *shortopts, const struct option *opts, cli_opt_fn fn,
              void *data)
{
        char spec[128];
        snprintf(spec, sizeof(spec), "+:%s", shortopts);
        optind = 0;
        opterr = 0;
        int opt;
        while ((opt = getopt_long(c->argc, c->argv, spec, opts, NULL)) != -1) {
                if (opt == '?' && !strcmp(c->argv[optind - 1], "--help"))
                        cli_command_help(c->argv[0], opts);
                if (opt == '?')
                        return cli_usage(c->argv[0], "unknown flag %s", c->argv[optind - 1]), -1;
                if (opt == ':')
                        return cli_usage(c->argv[0], "flag %s needs a value", c->argv[optind - 1]),
                               -1;
                if (fn(data, opt, optarg) < 0)
                        return -1;
        }
        return optind;
}

int cli_client(struct cli *c, struct client **out, struct err **e)
{
        if (c->client == NULL && client_open(c->host, &c->client, e) < 0)
                return -1;
        *out = c->client;
        return 0;
}

int cli_fail_daemon(struct err **e)
{
        /* daemon errors and "Cannot connect" print as docker prints them,
         * without the program prefix */
        const char *m = *e ? (*e)->msg : "unknown error";
        if (str_has_prefix(m, "Error response from daemon: ") ||
            str_has_prefix(m, "Cannot connect to the barge daemon"))
                fprintf(stderr, "%s\n", m);
        else
                log_error("%s", m);
        err_free(e);
        return 1;
}

void human_size(int64_t bytes, char *buf, size_t n)
{
        /* docker: SI units, 3 significant digits */
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
        double v = (double)bytes;
        size_t u = 0;
        while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
                v /= 1000;
                u++;
        }
        snprintf(buf, n, "%.3g%s", v, units[u]);
}

void human_ago(int64_t t, char *buf, size_t n)
{
        int64_t d = (int64_t)time(NULL) - t;
        if (t <= 0) {
                snprintf(buf, n, "N/A");
                return;
        }
        if (d < 1)
                snprintf(buf, n, "Less than a second ago");
        else if (d == 1)
                snprintf(buf, n, "1 second ago");
        else if (d < 60)
                snprintf(buf, n, "%lld seconds ago", (long long)d);
        else if (d < 120)
                snprintf(buf, n, "About a minute ago");
        else if (d < 3600)
                snprintf(buf, n, "%lld minutes ago", (long long)d / 60);
        else if (d < 7200)
                snprintf(buf, n, "About an hour ago");
        else if (d < 86400 * 2)
                snprintf(buf, n, "%lld hours ago", (long long)d / 3600);
        else if (d < 86400 * 7 * 2)
                snprintf(buf, n, "%lld days ago", (long long)d / 86400);
        else if (d < 86400 * 30 * 2)
                snprintf(buf, n, "%lld weeks ago", (long long)d / (86400 * 7));
        else if (d < 86400 * 365 * 2)
                snprintf(buf, n, "%lld months ago", (long long)d / (86400 * 30));
        else
                snprintf(buf, n, "%lld years ago", (long long)d / (86400 * 365));
}

static void usage(void)
{
        printf("usage: barge [OPTIONS] COMMAND\n\nA container engine (client of barged).\n\n"
               "Commands:\n");
        for (size_t g = 0; g < ARRAY_SIZE(groups); g++)
                for (const struct cli_command *k = groups[g]; k->name; k++)
                        if (k->help)
                                printf("  %-10s %s\n", k->name, k->help);
        printf("\nOptions:\n"
               "  -H, --host ADDR   daemon socket (unix:///path or tcp://host:port; default\n"
               "                    $BARGE_HOST, $DOCKER_HOST, unix:///run/barge/barge.sock)\n"
               "  -D, --debug       more logging\n"
               "  -v, --version     print the version\n");
}

enum { G_DAEMON_FLAG = 256 };

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"host", required_argument, NULL, 'H'},
            {"debug", no_argument, NULL, 'D'},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            /* options that moved to the daemon: refused with a pointer there */
            {"root", required_argument, NULL, G_DAEMON_FLAG},
            {"registry-mirror", required_argument, NULL, G_DAEMON_FLAG},
            {"insecure-registry", required_argument, NULL, G_DAEMON_FLAG},
            {"platform", required_argument, NULL, G_DAEMON_FLAG},
            {NULL, 0, NULL, 0},
        };
        struct cli c = {0};
        cli_common_init("barge", 125);
        opterr = 0;
        int opt, li = -1;
        while ((opt = getopt_long(argc, argv, "+:H:Dvh", opts, &li)) != -1) {
                switch (opt) {
                case 'H':
                        c.host = optarg;
                        break;
                case 'D':
                        log_set_level(LOG_DEBUG);
                        break;
                case 'v':
                        printf("barge version " BARGE_VERSION "\n");
                        return 0;
                case 'h':
                        usage();
                        return 0;
                case G_DAEMON_FLAG:
                        if (!strcmp(opts[li].name, "platform"))
                                log_error("--platform is an option of the command now "
                                          "(barge pull --platform, barge run --platform)");
                        else
                                log_error("--%s is a daemon option now: give it to barged "
                                          "(barge talks to barged over its API)",
                                          opts[li].name);
                        return 125;
                case ':':
                        log_error("flag %s needs a value (see 'barge --help')", argv[optind - 1]);
                        return 125;
                default:
                        log_error("unknown flag %s (see 'barge --help')", argv[optind - 1]);
                        return 125;
                }
        }
        if (optind >= argc) {
                usage();
                return 125;
        }
        c.argv = argv + optind;
        c.argc = argc - optind;
        const struct cli_command *cmd = NULL;
        for (size_t g = 0; g < ARRAY_SIZE(groups) && !cmd; g++)
                for (const struct cli_command *k = groups[g]; k->name && !cmd; k++)
                        if (!strcmp(c.argv[0], k->name))
                                cmd = k;
        if (cmd == NULL) {
                log_error("'%s' is not a barge command (see 'barge --help')", c.argv[0]);
                return 125;
        }
        int rc = cmd->fn(&c);
        client_close(c.client);
        fflush(stdout);
        return rc;
}

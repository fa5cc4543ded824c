/*
 * barge: the client's entry point: global options, then a command.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cli.h"

static const struct {
        const char *name;
        int (*fn)(struct cli *);
        const char *help;
} commands[] = {
    {"pull", cmd_pull, "Download an image from a registry"},
    {"push", cmd_push, "Upload an image to a registry"},
    {"images", cmd_images, "List images"},
    {"image", cmd_image, "Manage images (inspect, ls, rm, prune, tag, history, ...)"},
    {"inspect", cmd_inspect, "Show an image's details as JSON"},
    {"history", cmd_history, "Show an image's history"},
    {"tag", cmd_tag, "Give an image another name"},
    {"rmi", cmd_rmi, "Remove images"},
    {"save", cmd_save, "Write images to a tar archive"},
    {"load", cmd_load, "Read images from a tar archive"},
    {"import", cmd_import, "Make an image from a root filesystem tarball"},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out of a registry"},
};

int cli_parse(struct cli *c, const char *shortopts, const struct option *opts, cli_opt_fn fn,
              void *data)
{
        char spec[64];
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

int cli_store(struct cli *c, struct store **s, struct err **e)
{
        if (c->store == NULL && store_open(c->root, &c->store, e) < 0)
                return -1;
        *s = c->store;
        return 0;
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
        printf("usage: barge [OPTIONS] COMMAND\n\nA container engine.\n\nCommands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                printf("  %-9s %s\n", commands[i].name, commands[i].help);
        printf("\nOptions:\n"
               "  --root DIR                 image store (default " STORE_DEFAULT_ROOT ")\n"
               "  --registry-mirror URL      mirror for docker.io references\n"
               "  --insecure-registry HOST   allow plain HTTP to HOST[:PORT] (repeatable)\n"
               "  --platform OS/ARCH         platform for pulls (default: this host's)\n"
               "  --debug                    more logging\n");
}

enum { G_ROOT = 256, G_MIRROR, G_INSECURE, G_PLATFORM, G_DEBUG, G_VERSION };

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"root", required_argument, NULL, G_ROOT},
            {"registry-mirror", required_argument, NULL, G_MIRROR},
            {"insecure-registry", required_argument, NULL, G_INSECURE},
            {"platform", required_argument, NULL, G_PLATFORM},
            {"debug", no_argument, NULL, G_DEBUG},
            {"version", no_argument, NULL, G_VERSION},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct cli c = {.root = STORE_DEFAULT_ROOT};
        cli_common_init("barge", 125);
        opterr = 0;
        int opt;
        while ((opt = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
                switch (opt) {
                case G_ROOT:
                        c.root = optarg;
                        break;
                case G_MIRROR:
                        c.reg.mirror = optarg;
                        break;
                case G_INSECURE:
                        if (c.n_insecure + 1 >= (int)ARRAY_SIZE(c.insecure)) {
                                log_error("too many --insecure-registry options");
                                return 125;
                        }
                        c.insecure[c.n_insecure++] = optarg;
                        break;
                case G_PLATFORM:
                        c.reg.platform = optarg;
                        break;
                case G_DEBUG:
                        log_set_level(LOG_DEBUG);
                        break;
                case G_VERSION:
                case 'v':
                        printf("barge version 0.1.0\n");
                        return 0;
                case 'h':
                        usage();
                        return 0;
                default:
                        log_error("unknown flag %s (see 'barge --help')", argv[optind - 1]);
                        return 125;
                }
        }
        c.reg.insecure = c.insecure;
        if (optind >= argc) {
                usage();
                return 125;
        }
        c.argv = argv + optind;
        c.argc = argc - optind;
        int rc = -1;
        for (size_t i = 0; i < ARRAY_SIZE(commands) && rc < 0; i++)
                if (!strcmp(c.argv[0], commands[i].name))
                        rc = commands[i].fn(&c);
        if (rc < 0) {
                log_error("'%s' is not a barge command (see 'barge --help')", c.argv[0]);
                rc = 125;
        }
        store_close(c.store);
        return rc;
}

/* list, ps, spec, features, events */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../defaults.h"
#include "cli.h"

struct fmt_args {
        const char *format;
        int quiet;
        int rootless;
        const char *bundle;
        int stats;
        long long interval;
};

enum { F_FORMAT = 'f', F_QUIET = 'q', F_BUNDLE = 'b', F_ROOTLESS = 256, F_STATS, F_INTERVAL };

static int fmt_opt(void *data, int opt, const char *arg)
{
        struct fmt_args *a = data;
        switch (opt) {
        case F_FORMAT:
                if (strcmp(arg, "table") && strcmp(arg, "json"))
                        return cli_usage("list", "--format %s: use table or json", arg), -1;
                a->format = arg;
                break;
        case F_QUIET:
                a->quiet = 1;
                break;
        case F_BUNDLE:
                a->bundle = arg;
                break;
        case F_ROOTLESS:
                a->rootless = 1;
                break;
        case F_STATS:
                a->stats = 1;
                break;
        case F_INTERVAL:
                a->interval = atoll(arg);
                if (a->interval <= 0)
                        a->interval = 5;
                break;
        }
        return 0;
}

static void print_json(json_t *j)
{
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
}

int cmd_list(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, F_FORMAT},
                                             {"quiet", no_argument, NULL, F_QUIET},
                                             {NULL, 0, NULL, 0}};
        struct fmt_args a = {.format = "table"};
        struct err *e = NULL;
        json_t *list, *it;
        size_t i;
        int k = cli_parse(c, opts, fmt_opt, &a);
        if (k < 0)
                return 1;
        if (k < c->argc)
                return cli_usage("list", "unexpected argument %s", c->argv[k]);
        if (rt_list(&c->ctx, &list, &e) < 0)
                return cli_fail(&e);
        if (!strcmp(a.format, "json")) {
                print_json(list);
        } else if (a.quiet) {
                json_array_foreach(list, i, it) puts(json_string_value(json_object_get(it, "id")));
        } else {
                printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
                json_array_foreach(list, i, it)
                {
                        printf("%-20s %-8lld %-10s %-40s %-32s %s\n",
                               json_string_value(json_object_get(it, "id")),
                               (long long)json_integer_value(json_object_get(it, "pid")),
                               json_string_value(json_object_get(it, "status")),
                               json_string_value(json_object_get(it, "bundle")),
                               json_string_value(json_object_get(it, "created")), "root");
                }
        }
        json_decref(list);
        return 0;
}

static int pid_in(pid_t p, const pid_t *pids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == p)
                        return 1;
        return 0;
}

/* table format: `ps` with the given options (default -ef), filtered to the
 * container's processes by the PID column, as runc prints it */
static int ps_table(char **args, int nargs, const pid_t *pids, size_t n)
{
        int fds[2];
        if (pipe(fds) < 0)
                return -1;
        pid_t child = fork();
        if (child == 0) {
                dup2(fds[1], 1);
                close(fds[0]);
                char **argv = xcalloc((size_t)nargs + 2, sizeof(char *));
                argv[0] = "ps";
                for (int i = 0; i < nargs; i++)
                        argv[i + 1] = args[i];
                if (nargs == 0)
                        argv[1] = "-ef";
                execvp("ps", argv);
                _exit(127);
        }
        close(fds[1]);
        FILE *f = fdopen(fds[0], "r");
        char line[4096];
        int pid_col = -1, first = 1;
        while (fgets(line, sizeof(line), f)) {
                _cleanup_free_ char *copy = xstrdup(line);
                char *save = NULL, *tok = strtok_r(copy, " \t\n", &save);
                int col = 0;
                if (first) {
                        for (; tok; tok = strtok_r(NULL, " \t\n", &save), col++)
                                if (!strcmp(tok, "PID"))
                                        pid_col = col;
                        fputs(line, stdout);
                        first = 0;
                        continue;
                }
                for (; tok && col < pid_col; col++)
                        tok = strtok_r(NULL, " \t\n", &save);
                if (tok && pid_in((pid_t)atoi(tok), pids, n))
                        fputs(line, stdout);
        }
        fclose(f);
        int st;
        waitpid(child, &st, 0);
        return pid_col < 0 ? -1 : 0;
}

int cmd_ps(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, F_FORMAT},
                                             {NULL, 0, NULL, 0}};
        struct fmt_args a = {.format = "table"};
        struct err *e = NULL;
        int i = cli_parse(c, opts, fmt_opt, &a);
        if (i < 0)
                return 1;
        if (i >= c->argc)
                return cli_usage("ps", "a container id is required");
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (rt_pids(&c->ctx, c->argv[i], &pids, &n, &e) < 0)
                return cli_fail(&e);
        if (!strcmp(a.format, "json")) {
                json_t *arr = json_array();
                for (size_t k = 0; k < n; k++)
                        json_array_append_new(arr, json_integer(pids[k]));
                print_json(arr);
                json_decref(arr);
                return 0;
        }
        if (ps_table(c->argv + i + 1, c->argc - i - 1, pids, n) < 0) {
                log_error("ps: could not find the PID column in ps's output");
                return 1;
        }
        return 0;
}

int cmd_spec(struct cli *c)
{
        static const struct option opts[] = {{"bundle", required_argument, NULL, F_BUNDLE},
                                             {"rootless", no_argument, NULL, F_ROOTLESS},
                                             {NULL, 0, NULL, 0}};
        struct fmt_args a = {.bundle = "."};
        struct err *e = NULL;
        int i = cli_parse(c, opts, fmt_opt, &a);
        if (i < 0)
                return 1;
        if (i < c->argc)
                return cli_usage("spec", "unexpected argument %s", c->argv[i]);
        _cleanup_free_ char *path = xasprintf("%s/config.json", a.bundle);
        if (access(path, F_OK) == 0) {
                log_error("spec: %s exists; remove it first", path);
                return 1;
        }
        json_t *s = default_spec(a.rootless);
        _cleanup_free_ char *text = json_dumps(s, JSON_INDENT(8));
        json_decref(s);
        size_t len = strlen(text);
        text[len] = '\n';
        int r = write_file(path, text, len + 1, 0644, &e);
        text[len] = '\0';
        return r < 0 ? cli_fail(&e) : 0;
}

int cmd_features(struct cli *c)
{
        json_t *f = features_json();
        json_dumpf(f, stdout, JSON_INDENT(4));
        putchar('\n');
        json_decref(f);
        return 0;
}

int cmd_events(struct cli *c)
{
        static const struct option opts[] = {{"stats", no_argument, NULL, F_STATS},
                                             {"interval", required_argument, NULL, F_INTERVAL},
                                             {NULL, 0, NULL, 0}};
        struct fmt_args a = {.interval = 5};
        const char *id;
        if (cli_one_id(c, cli_parse(c, opts, fmt_opt, &a), &id) < 0)
                return 1;
        for (;;) {
                struct err *e = NULL;
                json_t *data;
                if (rt_stats(&c->ctx, id, &data, &e) < 0)
                        return cli_fail(&e);
                json_t *ev = json_pack("{s:s,s:s,s:o}", "type", "stats", "id", id, "data", data);
                print_json(ev);
                fflush(stdout);
                json_decref(ev);
                if (a.stats)
                        return 0;
                sleep((unsigned)a.interval);
        }
}

/* pause, resume, update */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../../common/util.h"
#include "cli.h"

static int no_opt(void *data, int opt, const char *arg)
{
        return 0;
}

static const struct option no_opts[] = {{NULL, 0, NULL, 0}};

int cmd_pause(struct cli *c)
{
        const char *id;
        struct err *e = NULL;
        if (cli_one_id(c, cli_parse(c, no_opts, no_opt, NULL), &id) < 0)
                return 1;
        return rt_pause(&c->ctx, id, &e) < 0 ? cli_fail(&e) : 0;
}

int cmd_resume(struct cli *c)
{
        const char *id;
        struct err *e = NULL;
        if (cli_one_id(c, cli_parse(c, no_opts, no_opt, NULL), &id) < 0)
                return 1;
        return rt_resume(&c->ctx, id, &e) < 0 ? cli_fail(&e) : 0;
}

/* "512m", "1G", "-1", "1048576" -> bytes (binary units, as runc's flags) */
static int parse_flag_size(const char *s, long long *out)
{
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
                return -1;
        long long mul = 1;
        switch (tolower((unsigned char)*end)) {
        case '\0':
                break;
        case 'k':
                mul = 1LL << 10;
                break;
        case 'm':
                mul = 1LL << 20;
                break;
        case 'g':
                mul = 1LL << 30;
                break;
        case 't':
                mul = 1LL << 40;
                break;
        default:
                return -1;
        }
        if (*end) {
                end++;
                if (tolower((unsigned char)*end) == 'b')
                        end++;
                if (*end)
                        return -1;
        }
        *out = v * mul;
        return 0;
}

/* each flag: the resources object path it sets, and whether it takes a size */
static const struct {
        const char *flag, *section, *key;
        int size, string;
} update_flags[] = {
    {"blkio-weight", "blockIO", "weight", 0, 0},
    {"cpu-period", "cpu", "period", 0, 0},
    {"cpu-quota", "cpu", "quota", 0, 0},
    {"cpu-rt-period", "cpu", "realtimePeriod", 0, 0},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", 0, 0},
    {"cpu-share", "cpu", "shares", 0, 0},
    {"cpuset-cpus", "cpu", "cpus", 0, 1},
    {"cpuset-mems", "cpu", "mems", 0, 1},
    {"memory", "memory", "limit", 1, 0},
    {"memory-reservation", "memory", "reservation", 1, 0},
    {"memory-swap", "memory", "swap", 1, 0},
    {"kernel-memory", "memory", "kernel", 1, 0},
    {"kernel-memory-tcp", "memory", "kernelTCP", 1, 0},
    {"pids-limit", "pids", "limit", 0, 0},
};

struct update_args {
        json_t *res;
        const char *file;
};

static int update_opt(void *data, int opt, const char *arg)
{
        struct update_args *a = data;
        if (opt == 'r') {
                a->file = arg;
                return 0;
        }
        if (opt < 256 || opt - 256 >= (int)ARRAY_SIZE(update_flags))
                return 0;
        const char *flag = update_flags[opt - 256].flag;
        json_t *sec = json_object_get(a->res, update_flags[opt - 256].section);
        if (sec == NULL) {
                sec = json_object();
                json_object_set_new(a->res, update_flags[opt - 256].section, sec);
        }
        json_t *v;
        long long n;
        if (update_flags[opt - 256].string) {
                v = json_string(arg);
        } else if (update_flags[opt - 256].size ? parse_flag_size(arg, &n) < 0
                                                : parse_int64(arg, &n) < 0) {
                return cli_usage("update", "--%s: invalid value %s", flag, arg), -1;
        } else {
                v = json_integer(n);
        }
        json_object_set_new(sec, update_flags[opt - 256].key, v);
        return 0;
}

int cmd_update(struct cli *c)
{
        struct option opts[ARRAY_SIZE(update_flags) + 2];
        for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++)
                opts[i] =
                    (struct option){update_flags[i].flag, required_argument, NULL, 256 + (int)i};
        opts[ARRAY_SIZE(update_flags)] = (struct option){"resources", required_argument, NULL, 'r'};
        opts[ARRAY_SIZE(update_flags) + 1] = (struct option){NULL, 0, NULL, 0};
        struct update_args a = {.res = json_object()};
        struct err *e = NULL;
        const char *id;
        int rc = 1;
        if (cli_one_id(c, cli_parse(c, opts, update_opt, &a), &id) < 0)
                goto out;
        if (a.file) {
                json_error_t je;
                json_t *r = !strcmp(a.file, "-") ? json_loadf(stdin, 0, &je)
                                                 : json_load_file(a.file, 0, &je);
                if (!json_is_object(r)) {
                        rc = cli_usage("update", "--resources %s: invalid JSON: %s", a.file,
                                       r ? "not an object" : je.text);
                        json_decref(r);
                        goto out;
                }
                /* flags given as well take precedence over the file */
                json_object_update_missing(a.res, r);
                json_decref(r);
        }
        rc = rt_update(&c->ctx, id, a.res, &e) < 0 ? cli_fail(&e) : 0;
out:
        json_decref(a.res);
        return rc;
}

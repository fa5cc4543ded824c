/*
 * system: version, info, events, and the system group (df, prune, info,
 * events).  Output laid out as docker's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "../common/util.h"
#include "cli.h"

#define BARGE_VERSION "0.1.0"

static int format_only(void *data, int opt, const char *arg)
{
        if (opt == 'f')
                *(const char **)data = arg;
        return 0;
}

static const char *jstr(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static const char *goarch(void)
{
        static struct utsname u;
        if (uname(&u) < 0)
                return "unknown";
        if (!strcmp(u.machine, "x86_64"))
                return "amd64";
        if (!strcmp(u.machine, "aarch64"))
                return "arm64";
        return u.machine;
}

static int cmd_version(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
        const char *format = NULL;
        struct err *e = NULL;
        int i = cli_parse(c, "f:", opts, format_only, &format);
        if (i < 0)
                return 125;
        char osarch[64];
        snprintf(osarch, sizeof(osarch), "linux/%s", goarch());
        json_t *client = json_pack("{s:s,s:s,s:s,s:s}", "Version", BARGE_VERSION, "ApiVersion",
                                   "1.41", "Os", "linux", "Arch", goarch());
        struct client *cl;
        json_t *server = NULL;
        int r = cli_client(c, &cl, &e) < 0
                    ? -1
                    : client_json(cl, "GET", "/version", NULL, NULL, NULL, &server, &e);
        if (format) {
                json_t *all = json_pack("{s:o,s:o}", "Client", client, "Server",
                                        server ? server : json_null());
                char *text = NULL;
                struct err *fe = NULL;
                struct fmt f;
                int rc = 0;
                if (fmt_begin(&f, format, NULL, &fe) < 0 || fmt_row(&f, all, &fe) < 0)
                        rc = cli_fail(&fe);
                else
                        fmt_end(&f);
                free(text);
                json_decref(all);
                if (r < 0)
                        return cli_fail_daemon(&e);
                return rc;
        }
        printf("Client:\n"
               " Version:           %s\n"
               " API version:       1.41\n"
               " OS/Arch:           %s\n",
               BARGE_VERSION, osarch);
        json_decref(client);
        if (r < 0) {
                printf("\n");
                fflush(stdout);
                return cli_fail_daemon(&e);
        }
        printf("\nServer:\n"
               " Engine:\n"
               "  Version:          %s\n"
               "  API version:      %s (minimum version %s)\n"
               "  OS/Arch:          %s/%s\n"
               "  Kernel Version:   %s\n",
               jstr(server, "Version"), jstr(server, "ApiVersion"), jstr(server, "MinAPIVersion"),
               jstr(server, "Os"), jstr(server, "Arch"), jstr(server, "KernelVersion"));
        size_t k;
        json_t *comp;
        json_array_foreach(json_object_get(server, "Components"), k, comp)
        {
                const char *name = jstr(comp, "Name");
                if (!strcmp(name, "Engine"))
                        continue;
                printf(" %s:\n  Version:          %s\n", name, jstr(comp, "Version"));
        }
        json_decref(server);
        return 0;
}

static int cmd_info(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
        const char *format = NULL;
        struct err *e = NULL;
        int i = cli_parse(c, "f:", opts, format_only, &format);
        if (i < 0)
                return 125;
        struct client *cl;
        json_t *info = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", "/info", NULL, NULL, NULL, &info, &e) < 0)
                return cli_fail_daemon(&e);
        if (format) {
                struct fmt f;
                int rc = 0;
                if (fmt_begin(&f, format, NULL, &e) < 0 || fmt_row(&f, info, &e) < 0)
                        rc = cli_fail(&e);
                else
                        fmt_end(&f);
                json_decref(info);
                return rc;
        }
        char mem[32];
        human_size(json_integer_value(json_object_get(info, "MemTotal")), mem, sizeof(mem));
        printf("Client:\n Context:    default\n Debug Mode: false\n\n");
        printf("Server:\n"
               " Containers: %lld\n"
               "  Running: %lld\n"
               "  Paused: %lld\n"
               "  Stopped: %lld\n"
               " Images: %lld\n"
               " Server Version: %s\n"
               " Storage Driver: %s\n"
               " Logging Driver: %s\n"
               " Cgroup Driver: %s\n"
               " Cgroup Version: %s\n"
               " Default Runtime: %s\n"
               " Kernel Version: %s\n"
               " Operating System: %s\n"
               " OSType: %s\n"
               " Architecture: %s\n"
               " CPUs: %lld\n"
               " Total Memory: %s\n"
               " Name: %s\n"
               " ID: %s\n"
               " Docker Root Dir: %s\n"
               " Debug Mode: %s\n",
               (long long)json_integer_value(json_object_get(info, "Containers")),
               (long long)json_integer_value(json_object_get(info, "ContainersRunning")),
               (long long)json_integer_value(json_object_get(info, "ContainersPaused")),
               (long long)json_integer_value(json_object_get(info, "ContainersStopped")),
               (long long)json_integer_value(json_object_get(info, "Images")),
               jstr(info, "ServerVersion"), jstr(info, "Driver"), jstr(info, "LoggingDriver"),
               jstr(info, "CgroupDriver"), jstr(info, "CgroupVersion"),
               jstr(info, "DefaultRuntime"), jstr(info, "KernelVersion"),
               jstr(info, "OperatingSystem"), jstr(info, "OSType"), jstr(info, "Architecture"),
               (long long)json_integer_value(json_object_get(info, "NCPU")), mem,
               jstr(info, "Name"), jstr(info, "ID"), jstr(info, "DockerRootDir"),
               json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
        json_decref(info);
        return 0;
}

/* ---- events ---- */

struct events_args {
        const char *since, *until, *format;
        json_t *filters;
        struct err *e;
};

static int events_opt(void *data, int opt, const char *arg)
{
        struct events_args *a = data;
        if (opt == 'S')
                a->since = arg;
        else if (opt == 'U')
                a->until = arg;
        else if (opt == 'F')
                a->format = arg;
        else if (opt == 'f' && cli_filter_add(a->filters, arg, &a->e) < 0)
                return cli_fail(&a->e), -1;
        return 0;
}

struct events_out {
        struct fmt *f;
};

static int print_event(void *ctx, json_t *ev)
{
        struct events_out *o = ctx;
        struct err *e = NULL;
        if (o->f) {
                if (fmt_row(o->f, ev, &e) < 0)
                        return cli_fail(&e), -1;
                fflush(stdout);
                return 0;
        }
        long long tn = (long long)json_integer_value(json_object_get(ev, "timeNano"));
        time_t t = tn ? (time_t)(tn / 1000000000LL)
                      : (time_t)json_integer_value(json_object_get(ev, "time"));
        struct tm tm;
        char ts[64];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        char zone[8];
        strftime(zone, sizeof(zone), "%z", &tm);
        json_t *actor = json_object_get(ev, "Actor");
        const char *type = jstr(ev, "Type");
        /* Go's RFC 3339 with nanoseconds: "Z" for UTC, else +hh:mm */
        char off[16] = "Z";
        if (strcmp(zone, "+0000"))
                snprintf(off, sizeof(off), "%.3s:%s", zone, zone + 3);
        printf("%s.%09lld%s %s %s %s", ts, tn % 1000000000LL, off, *type ? type : jstr(ev, "type"),
               jstr(ev, "Action"), jstr(actor, "ID"));
        json_t *attrs = json_object_get(actor, "Attributes");
        if (json_object_size(attrs)) {
                /* sorted by key, as docker prints them */
                size_t n = json_object_size(attrs), k = 0;
                const char **keys = xcalloc(n, sizeof(char *));
                const char *key;
                json_t *v;
                json_object_foreach(attrs, key, v) keys[k++] = key;
                for (size_t x = 1; x < n; x++)
                        for (size_t y = x; y > 0 && strcmp(keys[y - 1], keys[y]) > 0; y--) {
                                const char *tmp = keys[y];
                                keys[y] = keys[y - 1];
                                keys[y - 1] = tmp;
                        }
                printf(" (");
                for (k = 0; k < n; k++)
                        printf("%s%s=%s", k ? ", " : "", keys[k], jstr(attrs, keys[k]));
                printf(")");
                free(keys);
        }
        printf("\n");
        fflush(stdout);
        return 0;
}

static int cmd_events(struct cli *c)
{
        static const struct option opts[] = {{"since", required_argument, NULL, 'S'},
                                             {"until", required_argument, NULL, 'U'},
                                             {"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct events_args a = {.filters = json_object()};
        struct err *e = NULL;
        int i = cli_parse(c, "f:", opts, events_opt, &a);
        if (i < 0 || i < c->argc) {
                json_decref(a.filters);
                return i < 0 ? 125 : cli_usage("events", "\"events\" accepts no arguments");
        }
        char since[32] = "", until[32] = "";
        if ((a.since && cli_parse_time(a.since, since, sizeof(since), &e) < 0) ||
            (a.until && cli_parse_time(a.until, until, sizeof(until), &e) < 0)) {
                json_decref(a.filters);
                return cli_fail(&e);
        }
        _cleanup_free_ char *ftext = json_dumps(a.filters, JSON_COMPACT);
        json_decref(a.filters);
        _cleanup_free_ char *path = client_path("/events?filters=%s", ftext);
        if (*since) {
                char *p = xasprintf("%s&since=%s", path, since);
                free(path);
                path = p;
        }
        if (*until) {
                char *p = xasprintf("%s&until=%s", path, until);
                free(path);
                path = p;
        }
        struct fmt f;
        struct events_out o = {0};
        if (a.format) {
                if (fmt_begin(&f, a.format, NULL, &e) < 0)
                        return cli_fail(&e);
                f.table = 0; /* events stream: no table */
                o.f = &f;
        }
        struct client *cl;
        int r = cli_client(c, &cl, &e) < 0
                    ? -1
                    : client_stream_json(cl, "GET", path, NULL, NULL, print_event, &o, &e);
        if (a.format)
                fmt_end(&f);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

/* ---- system df / prune ---- */

static int cmd_df(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
        const char *format = NULL;
        struct err *e = NULL;
        int i = cli_parse(c, "v", opts, format_only, &format);
        if (i < 0)
                return 125;
        struct client *cl;
        json_t *df = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", "/system/df", NULL, NULL, NULL, &df, &e) < 0)
                return cli_fail_daemon(&e);
        /* images: size of all, reclaimable = not used by a container */
        long long isize = 0, ireclaim = 0, iactive = 0, csize = 0, creclaim = 0, cactive = 0;
        long long vsize = 0, vreclaim = 0, vactive = 0, bsize = 0, breclaim = 0, bactive = 0;
        size_t k;
        json_t *v;
        json_t *images = json_object_get(df, "Images");
        json_array_foreach(images, k, v)
        {
                long long s = json_integer_value(json_object_get(v, "Size"));
                long long shared = json_integer_value(json_object_get(v, "SharedSize"));
                isize += s - (shared > 0 ? shared : 0);
                if (json_integer_value(json_object_get(v, "Containers")) > 0)
                        iactive++;
                else
                        ireclaim += s - (shared > 0 ? shared : 0);
        }
        long long layers = json_integer_value(json_object_get(df, "LayersSize"));
        if (layers > 0) {
                ireclaim = layers - (isize - ireclaim);
                isize = layers;
        }
        json_t *cts = json_object_get(df, "Containers");
        json_array_foreach(cts, k, v)
        {
                long long s = json_integer_value(json_object_get(v, "SizeRw"));
                csize += s;
                const char *st = jstr(v, "State");
                if (!strcmp(st, "running") || !strcmp(st, "paused") || !strcmp(st, "restarting"))
                        cactive++;
                else
                        creclaim += s;
        }
        json_t *vols = json_object_get(df, "Volumes");
        json_array_foreach(vols, k, v)
        {
                json_t *u = json_object_get(v, "UsageData");
                long long s = json_integer_value(json_object_get(u, "Size"));
                if (s > 0)
                        vsize += s;
                if (json_integer_value(json_object_get(u, "RefCount")) > 0)
                        vactive++;
                else if (s > 0)
                        vreclaim += s;
        }
        json_t *bc = json_object_get(df, "BuildCache");
        json_array_foreach(bc, k, v)
        {
                long long s = json_integer_value(json_object_get(v, "Size"));
                bsize += s;
                if (json_is_true(json_object_get(v, "InUse")))
                        bactive++;
                else
                        breclaim += s;
        }
        struct {
                const char *type;
                size_t total;
                long long active, size, reclaim;
        } rows[] = {
            {"Images", json_array_size(images), iactive, isize, ireclaim},
            {"Containers", json_array_size(cts), cactive, csize, creclaim},
            {"Local Volumes", json_array_size(vols), vactive, vsize, vreclaim},
            {"Build Cache", json_array_size(bc), bactive, bsize, breclaim},
        };
        static const char *const heads[] = {"Type",        "TYPE",        "TotalCount", "TOTAL",
                                            "Active",      "ACTIVE",      "Size",       "SIZE",
                                            "Reclaimable", "RECLAIMABLE", NULL};
        struct fmt f;
        if (fmt_begin(&f,
                      format ? format
                             : "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t"
                               "{{.Reclaimable}}",
                      heads, &e) < 0) {
                json_decref(df);
                return cli_fail(&e);
        }
        for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
                char size[16], rec[16], recl[48], total[16], active[16];
                human_size(rows[r].size, size, sizeof(size));
                human_size(rows[r].reclaim, rec, sizeof(rec));
                if (rows[r].size > 0)
                        snprintf(recl, sizeof(recl), "%s (%lld%%)", rec,
                                 rows[r].reclaim * 100 / rows[r].size);
                else
                        snprintf(recl, sizeof(recl), "%s", rec);
                snprintf(total, sizeof(total), "%zu", rows[r].total);
                snprintf(active, sizeof(active), "%lld", rows[r].active);
                json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", rows[r].type, "TotalCount",
                                      total, "Active", active, "Size", size, "Reclaimable", recl);
                if (fmt_row(&f, o, &e) < 0) {
                        json_decref(o);
                        json_decref(df);
                        fmt_end(&f);
                        return cli_fail(&e);
                }
                json_decref(o);
        }
        fmt_end(&f);
        json_decref(df);
        return 0;
}

struct prune_args {
        int all, force, volumes;
};

static int prune_opt(void *data, int opt, const char *arg)
{
        struct prune_args *a = data;
        if (opt == 'a')
                a->all = 1;
        else if (opt == 'f')
                a->force = 1;
        else if (opt == 'V')
                a->volumes = 1;
        return 0;
}

static int cmd_system_prune(struct cli *c)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"volumes", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
        struct prune_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "af", opts, prune_opt, &a);
        if (i < 0)
                return 125;
        if (!a.force &&
            !cli_confirm(a.all ? "WARNING! This will remove:\n  - all stopped containers\n"
                                 "  - all images without at least one container associated to "
                                 "them"
                               : "WARNING! This will remove:\n  - all stopped containers\n"
                                 "  - all dangling images"))
                return 0;
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        long long total = 0;
        json_t *res = NULL;
        if (client_json(cl, "POST", "/containers/prune", NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *del = json_object_get(res, "ContainersDeleted");
        size_t k;
        json_t *v;
        if (json_array_size(del)) {
                printf("Deleted Containers:\n");
                json_array_foreach(del, k, v) printf("%s\n", json_string_value(v));
                printf("\n");
        }
        total += json_integer_value(json_object_get(res, "SpaceReclaimed"));
        json_decref(res);
        res = NULL;
        _cleanup_free_ char *ipath =
            client_path("/images/prune?filters=%s", a.all ? "{\"dangling\":[\"false\"]}" : "{}");
        if (client_json(cl, "POST", ipath, NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        del = json_object_get(res, "ImagesDeleted");
        if (json_array_size(del)) {
                printf("Deleted Images:\n");
                json_array_foreach(del, k, v)
                {
                        const char *u = jstr(v, "Untagged"), *d = jstr(v, "Deleted");
                        if (*u)
                                printf("untagged: %s\n", u);
                        if (*d)
                                printf("deleted: %s\n", d);
                }
                printf("\n");
        }
        total += json_integer_value(json_object_get(res, "SpaceReclaimed"));
        json_decref(res);
        char size[16];
        human_size(total, size, sizeof(size));
        printf("Total reclaimed space: %s\n", size);
        return 0;
}

static int cmd_system(struct cli *c)
{
        static const struct cli_command sub[] = {
            {"df", cmd_df, NULL},
            {"prune", cmd_system_prune, NULL},
            {"info", cmd_info, NULL},
            {"events", cmd_events, NULL},
            {NULL, NULL, NULL},
        };
        return cli_subcommand(c, "system", sub);
}

const struct cli_command system_commands[] = {
    {"version", cmd_version, "Show the client's and the daemon's versions"},
    {"info", cmd_info, "Show system-wide information"},
    {"events", cmd_events, "Show the daemon's events"},
    {"system", cmd_system, "Manage the engine (df, prune, info, events)"},
    {NULL, NULL, NULL},
};

/*
 * containers: the container commands that are one request or a list:
 * ps, stop, restart, kill, rm, logs, inspect (containers and images),
 * wait, top, stats, pause, unpause, rename, port, diff, export, prune,
 * and the `container` group.  run/create/start/attach are in run.c, exec
 * in exec.c, cp in cp.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

/* ---- ps ---- */

struct ps_args {
        int all, quiet, no_trunc, size, last;
        const char *format;
        json_t *filters;
        struct err *e;
};

static int ps_opt(void *data, int opt, const char *arg)
{
        struct ps_args *a = data;
        long long n;
        switch (opt) {
        case 'a':
                a->all = 1;
                break;
        case 'q':
                a->quiet = 1;
                break;
        case 'T':
                a->no_trunc = 1;
                break;
        case 's':
                a->size = 1;
                break;
        case 'l':
                a->last = 1;
                break;
        case 'n':
                if (parse_int64(arg, &n) < 0)
                        return cli_usage("ps", "invalid --last %s", arg), -1;
                a->last = (int)n;
                break;
        case 'F':
                a->format = arg;
                break;
        case 'f':
                if (cli_filter_add(a->filters, arg, &a->e) < 0)
                        return cli_fail(&a->e), -1;
                break;
        }
        return 0;
}

/* docker's Ellipsis: at most n display characters, the last one "…" */
static char *ellipsis(const char *s, size_t n)
{
        size_t chars = 0, i = 0;
        for (; s[i]; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        chars++;
        if (chars <= n)
                return xstrdup(s);
        size_t keep = 0;
        chars = 0;
        for (i = 0; s[i]; i++) {
                if (((unsigned char)s[i] & 0xc0) != 0x80) {
                        if (chars == n - 1)
                                break;
                        chars++;
                }
                keep = i + 1;
        }
        return xasprintf("%.*s…", (int)keep, s);
}

/* Go's strconv.Quote for the common cases */
static char *go_quote(const char *s)
{
        size_t cap = strlen(s) * 4 + 3, n = 0;
        char *o = xmalloc(cap);
        o[n++] = '"';
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\') {
                        o[n++] = '\\';
                        o[n++] = (char)*p;
                } else if (*p == '\n') {
                        o[n++] = '\\', o[n++] = 'n';
                } else if (*p == '\t') {
                        o[n++] = '\\', o[n++] = 't';
                } else if (*p < 0x20) {
                        n += (size_t)sprintf(o + n, "\\x%02x", *p);
                } else {
                        o[n++] = (char)*p;
                }
        }
        o[n++] = '"';
        o[n] = '\0';
        return o;
}

static void unix_to_text(int64_t t, char *buf, size_t n)
{
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(buf, n, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
}

static char *join_labels(json_t *labels)
{
        char *out = xstrdup("");
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v)
        {
                char *n =
                    xasprintf("%s%s%s=%s", out, *out ? "," : "", k, json_string_value(v) ?: "");
                free(out);
                out = n;
        }
        return out;
}

static char *ports_text(json_t *ports)
{
        char *out = xstrdup("");
        size_t i;
        json_t *p;
        json_array_foreach(ports, i, p)
        {
                const char *ip = json_string_value(json_object_get(p, "IP"));
                json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
                json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
                const char *type = json_string_value(json_object_get(p, "Type")) ?: "tcp";
                char *one = pub ? xasprintf("%s:%lld->%lld/%s", ip ? ip : "0.0.0.0", (long long)pub,
                                            (long long)priv, type)
                                : xasprintf("%lld/%s", (long long)priv, type);
                char *n = xasprintf("%s%s%s", out, *out ? ", " : "", one);
                free(one);
                free(out);
                out = n;
        }
        return out;
}

/* The row object --format templates see (docker's placeholder names). */
static json_t *ps_row(json_t *ct, int no_trunc)
{
        char idbuf[16], ago[64], created[64], size[96];
        const char *id = json_string_value(json_object_get(ct, "Id")) ?: "";
        int64_t t = json_integer_value(json_object_get(ct, "Created"));
        human_ago(t, ago, sizeof(ago));
        unix_to_text(t, created, sizeof(created));
        const char *cmd = json_string_value(json_object_get(ct, "Command")) ?: "";
        _cleanup_free_ char *cmdt = no_trunc ? xstrdup(cmd) : ellipsis(cmd, 20);
        _cleanup_free_ char *cmdq = go_quote(cmdt);
        /* names without the leading '/'; truncated: only the container's own */
        _cleanup_free_ char *names = xstrdup("");
        size_t i;
        json_t *n;
        json_array_foreach(json_object_get(ct, "Names"), i, n)
        {
                const char *nm = json_string_value(n) ?: "";
                if (*nm == '/')
                        nm++;
                if (!no_trunc && strchr(nm, '/'))
                        continue;
                char *x = xasprintf("%s%s%s", names, *names ? "," : "", nm);
                free(names);
                names = x;
        }
        char rw[16], root[16];
        human_size(json_integer_value(json_object_get(ct, "SizeRw")), rw, sizeof(rw));
        human_size(json_integer_value(json_object_get(ct, "SizeRootFs")), root, sizeof(root));
        snprintf(size, sizeof(size), "%s (virtual %s)", rw, root);
        _cleanup_free_ char *labels = join_labels(json_object_get(ct, "Labels"));
        _cleanup_free_ char *ports = ports_text(json_object_get(ct, "Ports"));
        const char *image = json_string_value(json_object_get(ct, "Image")) ?: "";
        _cleanup_free_ char *img = !no_trunc && str_has_prefix(image, "sha256:")
                                       ? xstrndup(image + 7, 12)
                                       : xstrdup(image);
        json_t *lm = json_object_get(ct, "Labels");
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s}", "ID",
                      no_trunc ? id : short_id(id, idbuf), "Image", img, "Command", cmdq,
                      "CreatedAt", created, "RunningFor", ago, "Status",
                      json_string_value(json_object_get(ct, "Status")) ?: "", "State",
                      json_string_value(json_object_get(ct, "State")) ?: "", "Ports", ports,
                      "Names", names, "Labels", labels, "Size", size, "LabelMap",
                      json_is_object(lm) ? lm : json_object(), "Mounts", "", "Networks", "");
        return o;
}

static const char *const ps_heads[] = {
    "ID",         "CONTAINER ID", "Image",   "IMAGE",    "Command",  "COMMAND", "CreatedAt",
    "CREATED AT", "RunningFor",   "CREATED", "Status",   "STATUS",   "State",   "STATE",
    "Ports",      "PORTS",        "Names",   "NAMES",    "Labels",   "LABELS",  "Size",
    "SIZE",       "Mounts",       "MOUNTS",  "Networks", "NETWORKS", NULL};

int cmd_ps(struct cli *c)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"size", no_argument, NULL, 's'},
                                             {"latest", no_argument, NULL, 'l'},
                                             {"last", required_argument, NULL, 'n'},
                                             {"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct ps_args a = {.filters = json_object()};
        struct err *e = NULL;
        int i = cli_parse(c, "aqsln:f:", opts, ps_opt, &a);
        if (i < 0 || i < c->argc) {
                json_decref(a.filters);
                return i < 0 ? 125 : cli_usage(c->argv[0], "\"ps\" accepts no arguments");
        }
        _cleanup_free_ char *ftext = json_dumps(a.filters, JSON_COMPACT);
        json_decref(a.filters);
        char limit[16];
        snprintf(limit, sizeof(limit), "%d", a.last ? a.last : -1);
        _cleanup_free_ char *path =
            client_path("/containers/json?all=%s&size=%s&limit=%s&filters=%s",
                        a.all || a.last ? "1" : "0", a.size ? "1" : "0", limit, ftext);
        struct client *cl;
        json_t *list = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &list, &e) < 0)
                return cli_fail_daemon(&e);
        const char *format =
            a.quiet    ? "{{.ID}}"
            : a.format ? a.format
            : a.size   ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
                         "{{.Ports}}\t{{.Names}}\t{{.Size}}"
                       : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
                         "{{.Ports}}\t{{.Names}}";
        struct fmt f;
        if (fmt_begin(&f, format, ps_heads, &e) < 0) {
                json_decref(list);
                return cli_fail(&e);
        }
        size_t k;
        json_t *ct;
        int rc = 0;
        json_array_foreach(list, k, ct)
        {
                json_t *row = ps_row(ct, a.no_trunc);
                if (fmt_row(&f, row, &e) < 0) {
                        rc = cli_fail(&e);
                        json_decref(row);
                        break;
                }
                json_decref(row);
        }
        fmt_end(&f);
        json_decref(list);
        return rc;
}

/* ---- one request per container ---- */

/* POST/DELETE `fmt` for each operand, print the operand on success. */
static int each(struct cli *c, int i, const char *method, const char *fmt, const char *query)
{
        struct client *cl;
        struct err *e = NULL;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int rc = 0;
        for (; i < c->argc; i++) {
                _cleanup_free_ char *p = client_path(fmt, c->argv[i]);
                _cleanup_free_ char *path = xasprintf("%s%s", p, query ? query : "");
                if (client_json(cl, method, path, NULL, NULL, NULL, NULL, &e) < 0)
                        rc = cli_fail_daemon(&e);
                else
                        printf("%s\n", c->argv[i]);
        }
        return rc;
}

struct simple_args {
        const char *value;
        int force, volumes, flag;
        const char *format;
};

static int simple_opt(void *data, int opt, const char *arg)
{
        struct simple_args *a = data;
        if (opt == 't' || opt == 's' || opt == 'o')
                a->value = arg;
        else if (opt == 'f')
                a->force = 1;
        else if (opt == 'v')
                a->volumes = 1;
        else if (opt == 'F')
                a->format = arg;
        else if (opt == 'S')
                a->flag = 1;
        return 0;
}

static int need_args(struct cli *c, int i)
{
        if (i >= c->argc)
                return cli_usage(c->argv[0], "\"%s\" requires at least 1 argument", c->argv[0]);
        return 0;
}

static int stop_like(struct cli *c, const char *what)
{
        static const struct option opts[] = {{"time", required_argument, NULL, 't'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
        struct simple_args a = {0};
        int i = cli_parse(c, "t:", opts, simple_opt, &a);
        if (i < 0)
                return 125;
        if (need_args(c, i))
                return 125;
        long long t;
        if (a.value && parse_int64(a.value, &t) < 0)
                return cli_usage(c->argv[0], "invalid --time %s", a.value);
        _cleanup_free_ char *fmt = xasprintf("/containers/%%s/%s", what);
        _cleanup_free_ char *q = a.value ? xasprintf("?t=%lld", t) : NULL;
        return each(c, i, "POST", fmt, q);
}

int cmd_stop(struct cli *c)
{
        return stop_like(c, "stop");
}

int cmd_restart(struct cli *c)
{
        return stop_like(c, "restart");
}

int cmd_kill(struct cli *c)
{
        static const struct option opts[] = {{"signal", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
        struct simple_args a = {0};
        int i = cli_parse(c, "s:", opts, simple_opt, &a);
        if (i < 0 || need_args(c, i))
                return 125;
        _cleanup_free_ char *q = a.value ? client_path("?signal=%s", a.value) : NULL;
        return each(c, i, "POST", "/containers/%s/kill", q);
}

int cmd_rm(struct cli *c)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"volumes", no_argument, NULL, 'v'},
                                             {"link", no_argument, NULL, 'l'},
                                             {NULL, 0, NULL, 0}};
        struct simple_args a = {0};
        int i = cli_parse(c, "fvl", opts, simple_opt, &a);
        if (i < 0 || need_args(c, i))
                return 125;
        char q[32];
        snprintf(q, sizeof(q), "?force=%d&v=%d", a.force, a.volumes);
        return each(c, i, "DELETE", "/containers/%s", q);
}

int cmd_pause(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0 || need_args(c, i))
                return 125;
        return each(c, i, "POST", "/containers/%s/pause", NULL);
}

int cmd_unpause(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0 || need_args(c, i))
                return 125;
        return each(c, i, "POST", "/containers/%s/unpause", NULL);
}

int cmd_rename(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0)
                return 125;
        if (i + 2 != c->argc)
                return cli_usage("rename", "\"rename\" requires exactly 2 arguments");
        struct client *cl;
        struct err *e = NULL;
        _cleanup_free_ char *path =
            client_path("/containers/%s/rename?name=%s", c->argv[i], c->argv[i + 1]);
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "POST", path, NULL, NULL, NULL, NULL, &e) < 0)
                return cli_fail_daemon(&e);
        return 0;
}

int cmd_wait(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0 || need_args(c, i))
                return 125;
        struct client *cl;
        struct err *e = NULL;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int rc = 0;
        for (; i < c->argc; i++) {
                _cleanup_free_ char *path = client_path("/containers/%s/wait", c->argv[i]);
                json_t *res = NULL;
                if (client_json(cl, "POST", path, NULL, NULL, NULL, &res, &e) < 0) {
                        rc = cli_fail_daemon(&e);
                        continue;
                }
                printf("%lld\n", (long long)json_integer_value(json_object_get(res, "StatusCode")));
                json_decref(res);
        }
        return rc;
}

/* ---- logs ---- */

struct logs_args {
        int follow, timestamps, details;
        const char *tail, *since, *until;
};

static int logs_opt(void *data, int opt, const char *arg)
{
        struct logs_args *a = data;
        if (opt == 'f')
                a->follow = 1;
        else if (opt == 't')
                a->timestamps = 1;
        else if (opt == 'n')
                a->tail = arg;
        else if (opt == 'S')
                a->since = arg;
        else if (opt == 'U')
                a->until = arg;
        else if (opt == 'D')
                a->details = 1;
        return 0;
}

static int raw_out(void *ctx, const void *buf, size_t n)
{
        (void)ctx;
        return write_all(STDOUT_FILENO, buf, n) < 0 && errno != EPIPE ? -1 : 0;
}

static int demux_out_frame(void *ctx, int stream, const void *buf, size_t n)
{
        (void)ctx;
        write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, buf, n);
        return 0;
}

static int demux_out(void *ctx, const void *buf, size_t n)
{
        return demux_feed(ctx, buf, n, demux_out_frame, NULL);
}

int cmd_logs(struct cli *c)
{
        static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"timestamps", no_argument, NULL, 't'},
                                             {"tail", required_argument, NULL, 'n'},
                                             {"since", required_argument, NULL, 'S'},
                                             {"until", required_argument, NULL, 'U'},
                                             {"details", no_argument, NULL, 'D'},
                                             {NULL, 0, NULL, 0}};
        struct logs_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "ftn:", opts, logs_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("logs", "\"logs\" requires exactly 1 argument");
        char since[32] = "0", until[32] = "0";
        if ((a.since && cli_parse_time(a.since, since, sizeof(since), &e) < 0) ||
            (a.until && cli_parse_time(a.until, until, sizeof(until), &e) < 0))
                return cli_fail(&e);
        struct client *cl;
        json_t *info = NULL;
        _cleanup_free_ char *ipath = client_path("/containers/%s/json", c->argv[i]);
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", ipath, NULL, NULL, NULL, &info, &e) < 0)
                return cli_fail_daemon(&e);
        int tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
        json_decref(info);
        _cleanup_free_ char *path = client_path(
            "/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&details=%d&tail=%s"
            "&since=%s&until=%s",
            c->argv[i], a.follow, a.timestamps, a.details, a.tail ? a.tail : "all", since, until);
        struct demux d = {0};
        int r = client_stream(cl, "GET", path, NULL, NULL, NULL, NULL, tty ? raw_out : demux_out,
                              &d, NULL, &e);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

/* ---- inspect ---- */

struct inspect_args {
        const char *format, *type;
        int size;
};

static int inspect_opt(void *data, int opt, const char *arg)
{
        struct inspect_args *a = data;
        if (opt == 'f')
                a->format = arg;
        else if (opt == 't')
                a->type = arg;
        else if (opt == 's')
                a->size = 1;
        return 0;
}

static int inspect_common(struct cli *c, const char *forced_type)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {"type", required_argument, NULL, 't'},
                                             {"size", no_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
        struct inspect_args a = {.type = forced_type};
        struct err *e = NULL;
        int i = cli_parse(c, "f:s", opts, inspect_opt, &a);
        if (i < 0 || need_args(c, i))
                return 125;
        if (a.type && strcmp(a.type, "container") && strcmp(a.type, "image"))
                return cli_usage(c->argv[0], "\"%s\" is not a valid value for --type", a.type);
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *out = json_array();
        int rc = 0;
        for (; i < c->argc; i++) {
                json_t *o = NULL;
                if (!a.type || !strcmp(a.type, "container")) {
                        _cleanup_free_ char *p =
                            client_path("/containers/%s/json?size=%d", c->argv[i], a.size);
                        if (client_json(cl, "GET", p, NULL, NULL, NULL, &o, &e) < 0 &&
                            e->code != ENOENT) {
                                rc = cli_fail_daemon(&e);
                                continue;
                        }
                        err_free(&e);
                }
                if (o == NULL && (!a.type || !strcmp(a.type, "image"))) {
                        _cleanup_free_ char *p = client_path("/images/%s/json", c->argv[i]);
                        if (client_json(cl, "GET", p, NULL, NULL, NULL, &o, &e) < 0 &&
                            e->code != ENOENT) {
                                rc = cli_fail_daemon(&e);
                                continue;
                        }
                        err_free(&e);
                }
                if (o == NULL) {
                        fprintf(stderr, "Error: No such %s: %s\n", a.type ? a.type : "object",
                                c->argv[i]);
                        rc = 1;
                        continue;
                }
                json_array_append_new(out, o);
        }
        if ((json_array_size(out) || !a.format) && print_inspect(out, a.format, &e) < 0)
                rc = cli_fail(&e);
        json_decref(out);
        return rc;
}

int cmd_inspect(struct cli *c)
{
        return inspect_common(c, NULL);
}

static int cmd_container_inspect(struct cli *c)
{
        return inspect_common(c, "container");
}

/* ---- top, port, diff, export ---- */

int cmd_top(struct cli *c)
{
        /* everything after the container goes to ps as its options */
        if (c->argc < 2)
                return cli_usage("top", "\"top\" requires at least 1 argument");
        _cleanup_free_ char *args = xstrdup("");
        for (int k = 2; k < c->argc; k++) {
                char *n = xasprintf("%s%s%s", args, *args ? " " : "", c->argv[k]);
                free(args);
                args = n;
        }
        _cleanup_free_ char *path =
            *args ? client_path("/containers/%s/top?ps_args=%s", c->argv[1], args)
                  : client_path("/containers/%s/top", c->argv[1]);
        struct client *cl;
        struct err *e = NULL;
        json_t *res = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        struct table t = {0};
        _cleanup_free_ char *hdr = xstrdup("");
        size_t k, j;
        json_t *v, *row;
        json_array_foreach(json_object_get(res, "Titles"), k, v)
        {
                char *n = xasprintf("%s%s%s", hdr, k ? "\t" : "", json_string_value(v) ?: "");
                free(hdr);
                hdr = n;
        }
        table_add(&t, "%s", hdr);
        json_array_foreach(json_object_get(res, "Processes"), k, row)
        {
                _cleanup_free_ char *line = xstrdup("");
                json_array_foreach(row, j, v)
                {
                        char *n =
                            xasprintf("%s%s%s", line, j ? "\t" : "", json_string_value(v) ?: "");
                        free(line);
                        line = n;
                }
                table_add(&t, "%s", line);
        }
        table_flush(&t);
        json_decref(res);
        return 0;
}

int cmd_port(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0)
                return 125;
        if (i >= c->argc || i + 2 < c->argc)
                return cli_usage("port", "needs CONTAINER [PRIVATE_PORT[/PROTO]]");
        struct client *cl;
        struct err *e = NULL;
        json_t *info = NULL;
        _cleanup_free_ char *path = client_path("/containers/%s/json", c->argv[i]);
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &info, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
        const char *want = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        _cleanup_free_ char *wantp = want && !strchr(want, '/') ? xasprintf("%s/tcp", want)
                                     : want                     ? xstrdup(want)
                                                                : NULL;
        const char *k;
        json_t *binds;
        int found = 0;
        json_object_foreach(ports, k, binds)
        {
                if (wantp && strcmp(k, wantp))
                        continue;
                size_t j;
                json_t *b;
                json_array_foreach(binds, j, b)
                {
                        found = 1;
                        const char *ip = json_string_value(json_object_get(b, "HostIp")) ?: "";
                        const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "";
                        if (wantp)
                                printf("%s:%s\n", *ip ? ip : "0.0.0.0", hp);
                        else
                                printf("%s -> %s:%s\n", k, *ip ? ip : "0.0.0.0", hp);
                }
        }
        json_decref(info);
        if (wantp && !found) {
                fprintf(stderr, "Error: No public port '%s' published for %s\n", wantp, c->argv[i]);
                return 1;
        }
        return 0;
}

int cmd_diff(struct cli *c)
{
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, simple_opt, NULL);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("diff", "\"diff\" requires exactly 1 argument");
        struct client *cl;
        struct err *e = NULL;
        json_t *res = NULL;
        _cleanup_free_ char *path = client_path("/containers/%s/changes", c->argv[i]);
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        size_t k;
        json_t *ch;
        json_array_foreach(res, k, ch)
        {
                static const char kinds[] = "CAD";
                json_int_t kind = json_integer_value(json_object_get(ch, "Kind"));
                printf("%c %s\n", kind >= 0 && kind < 3 ? kinds[kind] : '?',
                       json_string_value(json_object_get(ch, "Path")) ?: "");
        }
        json_decref(res);
        return 0;
}

static int write_fd(void *ctx, const void *buf, size_t n)
{
        return write_all(*(int *)ctx, buf, n);
}

int cmd_export(struct cli *c)
{
        static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
        struct simple_args a = {0};
        int i = cli_parse(c, "o:", opts, simple_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("export", "\"export\" requires exactly 1 argument");
        if (a.value == NULL && isatty(STDOUT_FILENO))
                return cli_usage("export", "cowardly refusing to save to a terminal. Use the -o "
                                           "flag or redirect");
        struct client *cl;
        struct err *e = NULL;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int fd = STDOUT_FILENO;
        if (a.value && (fd = open(a.value, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return err_sys(&e, "open %s", a.value), cli_fail(&e);
        _cleanup_free_ char *path = client_path("/containers/%s/export", c->argv[i]);
        int r = client_stream(cl, "GET", path, NULL, NULL, NULL, NULL, write_fd, &fd, NULL, &e);
        if (fd != STDOUT_FILENO)
                close(fd);
        if (r < 0 && a.value)
                unlink(a.value);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

/* ---- stats ---- */

struct stats_args {
        int no_stream, all, no_trunc;
        const char *format;
};

static int stats_opt(void *data, int opt, const char *arg)
{
        struct stats_args *a = data;
        if (opt == 'N')
                a->no_stream = 1;
        else if (opt == 'a')
                a->all = 1;
        else if (opt == 'T')
                a->no_trunc = 1;
        else if (opt == 'F')
                a->format = arg;
        return 0;
}

/* docker's BytesSize: binary units, 4 significant digits */
static void bytes_size(double v, char *buf, size_t n)
{
        static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        size_t k = 0;
        while (v >= 1024 && k + 1 < ARRAY_SIZE(u)) {
                v /= 1024;
                k++;
        }
        snprintf(buf, n, "%.4g%s", v, u[k]);
}

static json_t *stats_row(json_t *s, const char *id_or_name, int no_trunc)
{
        json_t *cpu = json_object_get(s, "cpu_stats"), *pre = json_object_get(s, "precpu_stats");
        double cdelta = (double)json_integer_value(
                            json_object_get(json_object_get(cpu, "cpu_usage"), "total_usage")) -
                        (double)json_integer_value(
                            json_object_get(json_object_get(pre, "cpu_usage"), "total_usage"));
        double sdelta = (double)json_integer_value(json_object_get(cpu, "system_cpu_usage")) -
                        (double)json_integer_value(json_object_get(pre, "system_cpu_usage"));
        double online = (double)json_integer_value(json_object_get(cpu, "online_cpus"));
        if (online == 0)
                online = (double)json_array_size(
                    json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
        double cpup = sdelta > 0 && cdelta > 0 ? cdelta / sdelta * online * 100.0 : 0;
        json_t *mem = json_object_get(s, "memory_stats");
        double usage = (double)json_integer_value(json_object_get(mem, "usage"));
        json_t *ms = json_object_get(mem, "stats");
        json_t *inactive = json_object_get(ms, "inactive_file");
        if (inactive == NULL)
                inactive = json_object_get(ms, "total_inactive_file");
        if (inactive && (double)json_integer_value(inactive) < usage)
                usage -= (double)json_integer_value(inactive);
        double limit = (double)json_integer_value(json_object_get(mem, "limit"));
        double memp = limit > 0 ? usage / limit * 100.0 : 0;
        double rx = 0, tx = 0, rd = 0, wr = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(s, "networks"), k, v)
        {
                rx += (double)json_integer_value(json_object_get(v, "rx_bytes"));
                tx += (double)json_integer_value(json_object_get(v, "tx_bytes"));
        }
        size_t i;
        json_array_foreach(
            json_object_get(json_object_get(s, "blkio_stats"), "io_service_bytes_recursive"), i, v)
        {
                const char *op = json_string_value(json_object_get(v, "op")) ?: "";
                double val = (double)json_integer_value(json_object_get(v, "value"));
                if (!strcasecmp(op, "read"))
                        rd += val;
                else if (!strcasecmp(op, "write"))
                        wr += val;
        }
        char cpus[16], mems[64], memps[16], net[64], blk[64], pids[16], a1[16], a2[16];
        snprintf(cpus, sizeof(cpus), "%.2f%%", cpup);
        bytes_size(usage, a1, sizeof(a1));
        bytes_size(limit, a2, sizeof(a2));
        snprintf(mems, sizeof(mems), "%s / %s", a1, a2);
        snprintf(memps, sizeof(memps), "%.2f%%", memp);
        human_size((int64_t)rx, a1, sizeof(a1));
        human_size((int64_t)tx, a2, sizeof(a2));
        snprintf(net, sizeof(net), "%s / %s", a1, a2);
        human_size((int64_t)rd, a1, sizeof(a1));
        human_size((int64_t)wr, a2, sizeof(a2));
        snprintf(blk, sizeof(blk), "%s / %s", a1, a2);
        snprintf(pids, sizeof(pids), "%lld",
                 (long long)json_integer_value(
                     json_object_get(json_object_get(s, "pids_stats"), "current")));
        const char *id = json_string_value(json_object_get(s, "id")) ?: id_or_name;
        const char *name = json_string_value(json_object_get(s, "name")) ?: "";
        if (*name == '/')
                name++;
        char idbuf[16];
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
                         no_trunc ? id : short_id(id, idbuf), "Container", id_or_name, "Name", name,
                         "CPUPerc", cpus, "MemUsage", mems, "MemPerc", memps, "NetIO", net,
                         "BlockIO", blk, "PIDs", pids, "Pids", pids);
}

int cmd_stats(struct cli *c)
{
        static const struct option opts[] = {{"no-stream", no_argument, NULL, 'N'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"format", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct stats_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "a", opts, stats_opt, &a);
        if (i < 0)
                return 125;
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        static const char *const heads[] = {
            "ID",      "CONTAINER ID", "Container", "CONTAINER",         "Name",    "NAME",
            "CPUPerc", "CPU %",        "MemUsage",  "MEM USAGE / LIMIT", "MemPerc", "MEM %",
            "NetIO",   "NET I/O",      "BlockIO",   "BLOCK I/O",         "PIDs",    "PIDS",
            "Pids",    "PIDS",         NULL};
        const char *format = a.format ? a.format
                                      : "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t"
                                        "{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
        int rc = 0;
        for (int round = 0;; round++) {
                /* the containers: as named, or every running one (all with -a) */
                json_t *names = json_array();
                if (i < c->argc) {
                        for (int k = i; k < c->argc; k++)
                                json_array_append_new(names, json_string(c->argv[k]));
                } else {
                        json_t *list = NULL;
                        _cleanup_free_ char *lp =
                            client_path("/containers/json?all=%s", a.all ? "1" : "0");
                        if (client_json(cl, "GET", lp, NULL, NULL, NULL, &list, &e) < 0) {
                                json_decref(names);
                                return cli_fail_daemon(&e);
                        }
                        size_t k;
                        json_t *ct;
                        json_array_foreach(list, k, ct)
                            json_array_append(names, json_object_get(ct, "Id"));
                        json_decref(list);
                }
                struct fmt f;
                if (fmt_begin(&f, format, heads, &e) < 0) {
                        json_decref(names);
                        return cli_fail(&e);
                }
                size_t k;
                json_t *n;
                json_array_foreach(names, k, n)
                {
                        const char *name = json_string_value(n);
                        _cleanup_free_ char *sp =
                            client_path("/containers/%s/stats?stream=0", name);
                        json_t *s = NULL;
                        if (client_json(cl, "GET", sp, NULL, NULL, NULL, &s, &e) < 0) {
                                rc = cli_fail_daemon(&e);
                                continue;
                        }
                        json_t *row = stats_row(s, name, a.no_trunc);
                        if (fmt_row(&f, row, &e) < 0)
                                rc = cli_fail(&e);
                        json_decref(row);
                        json_decref(s);
                }
                json_decref(names);
                if (!a.no_stream)
                        printf("\033[2J\033[H"); /* redraw in place, as docker does */
                fmt_end(&f);
                if (a.no_stream || rc)
                        break;
                sleep(1);
        }
        return rc;
}

/* ---- prune ---- */

int cmd_container_prune(struct cli *c)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"filter", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct ps_args a = {.filters = json_object()};
        int force = 0;
        optind = 0;
        /* -f is --force here, --filter has no short form */
        struct err *e = NULL;
        for (int k = 1; k < c->argc; k++) {
                if (!strcmp(c->argv[k], "-f") || !strcmp(c->argv[k], "--force")) {
                        force = 1;
                } else if (!strcmp(c->argv[k], "--filter") && k + 1 < c->argc) {
                        if (cli_filter_add(a.filters, c->argv[++k], &e) < 0) {
                                json_decref(a.filters);
                                return cli_fail(&e);
                        }
                } else if (!strncmp(c->argv[k], "--filter=", 9)) {
                        if (cli_filter_add(a.filters, c->argv[k] + 9, &e) < 0) {
                                json_decref(a.filters);
                                return cli_fail(&e);
                        }
                } else if (!strcmp(c->argv[k], "--help")) {
                        cli_command_help(c->argv[0], opts);
                } else {
                        json_decref(a.filters);
                        return cli_usage("container prune", "unknown argument %s", c->argv[k]);
                }
        }
        if (!force && !cli_confirm("WARNING! This will remove all stopped containers.")) {
                json_decref(a.filters);
                return 0;
        }
        _cleanup_free_ char *ftext = json_dumps(a.filters, JSON_COMPACT);
        json_decref(a.filters);
        _cleanup_free_ char *path = client_path("/containers/prune?filters=%s", ftext);
        struct client *cl;
        json_t *res = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "POST", path, NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *del = json_object_get(res, "ContainersDeleted");
        if (json_array_size(del)) {
                printf("Deleted Containers:\n");
                size_t k;
                json_t *v;
                json_array_foreach(del, k, v) printf("%s\n", json_string_value(v));
                printf("\n");
        }
        char size[16];
        human_size(json_integer_value(json_object_get(res, "SpaceReclaimed")), size, sizeof(size));
        printf("Total reclaimed space: %s\n", size);
        json_decref(res);
        return 0;
}

/* ---- the container group ---- */

static int cmd_container(struct cli *c)
{
        static const struct cli_command sub[] = {
            {"ls", cmd_ps, NULL},
            {"list", cmd_ps, NULL},
            {"ps", cmd_ps, NULL},
            {"create", cmd_create, NULL},
            {"run", cmd_run, NULL},
            {"start", cmd_start, NULL},
            {"stop", cmd_stop, NULL},
            {"restart", cmd_restart, NULL},
            {"kill", cmd_kill, NULL},
            {"rm", cmd_rm, NULL},
            {"remove", cmd_rm, NULL},
            {"prune", cmd_container_prune, NULL},
            {"inspect", cmd_container_inspect, NULL},
            {"logs", cmd_logs, NULL},
            {"attach", cmd_attach, NULL},
            {"exec", cmd_exec, NULL},
            {"wait", cmd_wait, NULL},
            {"top", cmd_top, NULL},
            {"stats", cmd_stats, NULL},
            {"cp", cmd_cp, NULL},
            {"pause", cmd_pause, NULL},
            {"unpause", cmd_unpause, NULL},
            {"rename", cmd_rename, NULL},
            {"port", cmd_port, NULL},
            {"diff", cmd_diff, NULL},
            {"export", cmd_export, NULL},
            {NULL, NULL, NULL},
        };
        return cli_subcommand(c, "container", sub);
}

const struct cli_command container_commands[] = {
    {"run", cmd_run, "Create and start a container"},
    {"create", cmd_create, "Create a container"},
    {"start", cmd_start, "Start containers"},
    {"stop", cmd_stop, "Stop containers"},
    {"restart", cmd_restart, "Restart containers"},
    {"kill", cmd_kill, "Send a signal to containers"},
    {"rm", cmd_rm, "Remove containers"},
    {"ps", cmd_ps, "List containers"},
    {"logs", cmd_logs, "Show a container's logs"},
    {"exec", cmd_exec, "Run a command in a running container"},
    {"attach", cmd_attach, "Attach to a running container"},
    {"inspect", cmd_inspect, "Show low-level information on containers or images"},
    {"wait", cmd_wait, "Wait for containers to stop, print their exit codes"},
    {"top", cmd_top, "Show a container's processes"},
    {"stats", cmd_stats, "Show containers' resource usage"},
    {"cp", cmd_cp, "Copy files between a container and the host"},
    {"pause", cmd_pause, "Pause containers"},
    {"unpause", cmd_unpause, "Unpause containers"},
    {"rename", cmd_rename, "Rename a container"},
    {"port", cmd_port, "List a container's port mappings"},
    {"diff", cmd_diff, "Show changes to a container's filesystem"},
    {"export", cmd_export, "Write a container's filesystem to a tar archive"},
    {"container", cmd_container, "Manage containers (ls, run, rm, prune, ...)"},
    {NULL, NULL, NULL},
};

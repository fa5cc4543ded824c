/*
 * engine/container_list: GET /containers/{id}/json and GET /containers/json
 * in Docker's shapes.  Everything comes from the in-memory table under
 * eng->lock (no disk reads, so `ps -a` stays fast with hundreds of
 * containers), except the sizes, which walk the writable layer when asked.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/util.h"
#include "../registry/reference.h"
#include "lifecycle.h"

static const char *cfg_str(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

/* Path and Args: the entrypoint then the command */
static json_t *command_argv(struct container *c)
{
        json_t *argv = json_array();
        json_t *ep = json_object_get(c->config, "Entrypoint");
        json_t *cmd = json_object_get(c->config, "Cmd");
        if (json_is_string(ep))
                json_array_append(argv, ep);
        else if (json_is_array(ep))
                json_array_extend(argv, ep);
        if (json_is_string(cmd))
                json_array_append(argv, cmd);
        else if (json_is_array(cmd))
                json_array_extend(argv, cmd);
        return argv;
}

/* dockerd's list quoting: an argument with a space goes in single quotes,
 * as it is (no escaping of quotes inside); nothing else is quoted, so
 * `sh -c 'echo started; exec sleep 600'` shows as typed */
static char *quote_arg(const char *a)
{
        return strchr(a, ' ') ? xasprintf("'%s'", a) : xstrdup(a);
}

static char *command_line(struct container *c)
{
        json_t *argv = command_argv(c);
        size_t len = 0;
        char *s = xstrdup("");
        size_t i;
        json_t *v;
        json_array_foreach(argv, i, v)
        {
                if (!json_is_string(v))
                        continue;
                _cleanup_free_ char *a =
                    i == 0 ? xstrdup(json_string_value(v)) : quote_arg(json_string_value(v));
                size_t n = strlen(a);
                s = realloc(s, len + n + 2);
                if (s == NULL)
                        abort();
                if (len)
                        s[len++] = ' ';
                memcpy(s + len, a, n + 1);
                len += n;
        }
        json_decref(argv);
        return s;
}

static const char *health_status(struct container *c)
{
        return cfg_str(c->health_json, "Status");
}

static json_t *state_json(struct container *c)
{
        char started[40], finished[40];
        fmt_time(c->started_ns, started);
        fmt_time(c->finished_ns, finished);
        int running =
            c->status == ST_RUNNING || c->status == ST_PAUSED || c->status == ST_RESTARTING;
        json_t *st = json_pack(
            "{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
            container_status_name(c->status), "Running", running, "Paused", c->status == ST_PAUSED,
            "Restarting", c->status == ST_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
            c->status == ST_DEAD, "Pid", (int)c->pid, "ExitCode", c->exit_code, "Error",
            c->error ? c->error : "", "StartedAt", started, "FinishedAt", finished);
        if (c->health_json)
                json_object_set(st, "Health", c->health_json);
        return st;
}

/* bytes used by files under dir (hard links once) */
static int64_t du_total;
static int du_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)p;
        (void)f;
        if (flag == FTW_F || flag == FTW_SL)
                du_total += st->st_size;
        return 0;
}

/* nftw has no context argument: serialize the walks */
static pthread_mutex_t du_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t container_dir_size(const char *dir)
{
        pthread_mutex_lock(&du_lock);
        du_total = 0;
        nftw(dir, du_cb, 32, FTW_PHYS | FTW_MOUNT);
        int64_t n = du_total;
        pthread_mutex_unlock(&du_lock);
        return n;
}

static void add_sizes(struct engine *eng, json_t *obj, const char *dir, const char *image_id)
{
        _cleanup_free_ char *upper = xasprintf("%s/rootfs/upper", dir);
        int64_t rw = container_dir_size(upper);
        int64_t img = 0;
        struct store *s = engine_store_lock(eng);
        struct store_image *im = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (store_image_get(s, image_id, &im, &e) == 0) {
                img = im->size;
                store_image_free(im);
        }
        engine_store_unlock(eng);
        json_object_set_new(obj, "SizeRw", json_integer(rw));
        json_object_set_new(obj, "SizeRootFs", json_integer(rw + img));
}

static json_t *inspect_json(struct engine *eng, struct container *c)
{
        char created[40];
        fmt_time(c->created_ns, created);
        json_t *argv = command_argv(c);
        json_t *path =
            json_array_size(argv) > 0 ? json_incref(json_array_get(argv, 0)) : json_string("");
        json_t *args = json_array();
        for (size_t i = 1; i < json_array_size(argv); i++)
                json_array_append(args, json_array_get(argv, i));
        json_decref(argv);
        struct container_paths *p = container_paths(eng, c);
        json_t *execs = json_null();
        if (c->n_exec_ids > 0) {
                execs = json_array();
                for (size_t i = 0; i < c->n_exec_ids; i++)
                        json_array_append_new(execs, json_string(c->exec_ids[i]));
        }
        _cleanup_free_ char *upper = xasprintf("%s/rootfs/upper", c->dir);
        _cleanup_free_ char *work = xasprintf("%s/rootfs/work", c->dir);
        json_t *graph = json_pack("{s:{s:s, s:s, s:s}, s:s}", "Data", "MergedDir", c->rootfs,
                                  "UpperDir", upper, "WorkDir", work, "Name", "overlay2");
        json_t *netset = json_pack(
            "{s:s, s:s, s:b, s:s, s:i, s:{}, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, "
            "s:s, s:s, s:{}}",
            "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
            "LinkLocalIPv6PrefixLen", 0, "Ports", "SandboxKey", "", "SecondaryIPAddresses",
            "SecondaryIPv6Addresses", "EndpointID", "", "Gateway", "", "GlobalIPv6Address", "",
            "GlobalIPv6PrefixLen", 0, "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
            "MacAddress", "", "Networks");
        json_t *o = json_object();
        json_object_set_new(o, "Id", json_string(c->id));
        json_object_set_new(o, "Created", json_string(created));
        json_object_set_new(o, "Path", path);
        json_object_set_new(o, "Args", args);
        json_object_set_new(o, "State", state_json(c));
        json_object_set_new(o, "Image", json_string(c->image_id));
        json_object_set_new(o, "ResolvConfPath", json_string(p->resolv));
        json_object_set_new(o, "HostnamePath", json_string(p->hostname));
        json_object_set_new(o, "HostsPath", json_string(p->hosts));
        json_object_set_new(o, "LogPath", json_string(c->log_path));
        json_object_set_new(o, "Name", json_string(c->name));
        json_object_set_new(o, "RestartCount", json_integer(c->restart_count));
        json_object_set_new(o, "Driver", json_string("overlay2"));
        json_object_set_new(o, "Platform", json_string("linux"));
        json_object_set_new(o, "MountLabel", json_string(""));
        json_object_set_new(o, "ProcessLabel", json_string(""));
        json_object_set_new(o, "AppArmorProfile", json_string(""));
        json_object_set_new(o, "ExecIDs", execs);
        json_object_set_new(o, "HostConfig", json_deep_copy(c->host_config));
        json_object_set_new(o, "GraphDriver", graph);
        json_object_set_new(o, "Mounts", json_array());
        json_object_set_new(o, "Config", json_deep_copy(c->config));
        json_object_set_new(o, "NetworkSettings", netset);
        return o;
}

int engine_container_inspect(struct engine *eng, const char *ref, int size, json_t **out,
                             struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        json_t *o = inspect_json(eng, c);
        _cleanup_free_ char *dir = xstrdup(c->dir);
        char image_id[72];
        snprintf(image_id, sizeof(image_id), "%s", c->image_id);
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        if (size)
                add_sizes(eng, o, dir, image_id);
        *out = o;
        return 0;
}

static void status_line(struct container *c, int64_t now, char *buf, size_t n)
{
        char d[64];
        switch (c->status) {
        case ST_RUNNING:
        case ST_PAUSED: {
                human_duration(now - c->started_ns, d, sizeof(d));
                const char *h = health_status(c);
                char hs[48] = "";
                if (h && strcmp(h, "starting") == 0)
                        snprintf(hs, sizeof(hs), " (health: starting)");
                else if (h && (strcmp(h, "healthy") == 0 || strcmp(h, "unhealthy") == 0))
                        snprintf(hs, sizeof(hs), " (%s)", h);
                snprintf(buf, n, "Up %s%s%s", d, c->status == ST_PAUSED ? " (Paused)" : "", hs);
                break;
        }
        case ST_RESTARTING:
                human_duration(now - c->finished_ns, d, sizeof(d));
                snprintf(buf, n, "Restarting (%d) %s ago", c->exit_code, d);
                break;
        case ST_REMOVING:
                snprintf(buf, n, "Removal In Progress");
                break;
        case ST_DEAD:
                snprintf(buf, n, "Dead");
                break;
        case ST_CREATED:
                snprintf(buf, n, "Created");
                break;
        case ST_EXITED:
                if (c->finished_ns <= 0) {
                        snprintf(buf, n, "Exited (%d)", c->exit_code);
                        break;
                }
                human_duration(now - c->finished_ns, d, sizeof(d));
                snprintf(buf, n, "Exited (%d) %s ago", c->exit_code, d);
                break;
        }
}

static json_t *list_json(struct container *c, int64_t now)
{
        char status[128];
        status_line(c, now, status, sizeof(status));
        _cleanup_free_ char *cmd = command_line(c);
        json_t *labels = json_object_get(c->config, "Labels");
        const char *nm = cfg_str(c->host_config, "NetworkMode");
        return json_pack(
            "{s:s, s:[s], s:s, s:s, s:s, s:I, s:[], s:o, s:s, s:s, s:{s:s}, "
            "s:{s:{}}, s:[]}",
            "Id", c->id, "Names", c->name, "Image", c->image_ref, "ImageID", c->image_id, "Command",
            cmd, "Created", (json_int_t)(c->created_ns / 1000000000), "Ports", "Labels",
            json_is_object(labels) ? json_incref(labels) : json_object(), "State",
            container_status_name(c->status), "Status", status, "HostConfig", "NetworkMode",
            nm ? nm : "default", "NetworkSettings", "Networks", "Mounts");
}

struct list_filters {
        json_t *id, *name, *label, *status, *exited, *ancestor, *health;
        regex_t *name_re;
        size_t n_name_re;
        char **ancestor_ids;
        size_t n_anc;
        int64_t before_ns, since_ns;
        int has_before, has_since;
};

static void lf_free(struct list_filters *f)
{
        json_decref(f->id);
        json_decref(f->name);
        json_decref(f->label);
        json_decref(f->status);
        json_decref(f->exited);
        json_decref(f->ancestor);
        json_decref(f->health);
        for (size_t i = 0; i < f->n_name_re; i++)
                regfree(&f->name_re[i]);
        free(f->name_re);
        for (size_t i = 0; i < f->n_anc; i++)
                free(f->ancestor_ids[i]);
        free(f->ancestor_ids);
}

static int in_list(json_t *vals, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) if (s && strcmp(json_string_value(v), s) == 0) return 1;
        return 0;
}

static int lf_match(struct list_filters *f, struct container *c)
{
        if (f->id) {
                int ok = 0;
                size_t i;
                json_t *v;
                json_array_foreach(f->id, i, v) if (str_has_prefix(c->id, json_string_value(v)))
                    ok = 1;
                if (!ok)
                        return 0;
        }
        if (f->n_name_re) {
                int ok = 0;
                for (size_t i = 0; i < f->n_name_re && !ok; i++)
                        ok = regexec(&f->name_re[i], c->name, 0, NULL, 0) == 0 ||
                             regexec(&f->name_re[i], c->name + 1, 0, NULL, 0) == 0;
                if (!ok)
                        return 0;
        }
        if (f->label) {
                size_t i;
                json_t *v;
                json_array_foreach(f->label, i,
                                   v) if (!filter_label_match(json_object_get(c->config, "Labels"),
                                                              json_string_value(v))) return 0;
        }
        if (f->status && !in_list(f->status, container_status_name(c->status)))
                return 0;
        if (f->exited) {
                if (c->status != ST_EXITED)
                        return 0;
                char code[16];
                snprintf(code, sizeof(code), "%d", c->exit_code);
                if (!in_list(f->exited, code))
                        return 0;
        }
        if (f->ancestor) {
                int ok = in_list(f->ancestor, c->image_ref);
                for (size_t i = 0; i < f->n_anc && !ok; i++)
                        ok = strcmp(f->ancestor_ids[i], c->image_id) == 0;
                if (!ok)
                        return 0;
        }
        if (f->health) {
                const char *h = health_status(c);
                if (!in_list(f->health, h ? h : "none"))
                        return 0;
        }
        if (f->has_before && c->created_ns >= f->before_ns)
                return 0;
        if (f->has_since && c->created_ns <= f->since_ns)
                return 0;
        return 1;
}

static int lf_parse(struct engine *eng, json_t *filters, struct list_filters *f, struct err **e)
{
        static const char *const allowed[] = {
            "id",     "name",    "label",   "status", "exited",  "ancestor", "before",    "since",
            "health", "is-task", "network", "volume", "publish", "expose",   "isolation", NULL,
        };
        memset(f, 0, sizeof(*f));
        if (filter_check(filters, allowed, e) < 0)
                return -1;
        f->id = filter_values(filters, "id");
        f->name = filter_values(filters, "name");
        f->label = filter_values(filters, "label");
        f->status = filter_values(filters, "status");
        f->exited = filter_values(filters, "exited");
        f->ancestor = filter_values(filters, "ancestor");
        f->health = filter_values(filters, "health");
        size_t i;
        json_t *v;
        static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                               "paused",  "exited",     "dead",    NULL};
        json_array_foreach(f->status, i, v)
        {
                int ok = 0;
                for (size_t k = 0; statuses[k]; k++)
                        ok |= strcmp(statuses[k], json_string_value(v)) == 0;
                if (!ok)
                        return err_new(e, EINVAL, "Invalid filter 'status=%s'",
                                       json_string_value(v));
        }
        json_array_foreach(f->exited, i, v)
        {
                long long n;
                if (parse_int64(json_string_value(v), &n) < 0)
                        return err_new(e, EINVAL, "invalid filter 'exited=%s'",
                                       json_string_value(v));
        }
        json_array_foreach(f->health, i, v)
        {
                const char *h = json_string_value(v);
                if (strcmp(h, "starting") && strcmp(h, "healthy") && strcmp(h, "unhealthy") &&
                    strcmp(h, "none"))
                        return err_new(e, EINVAL, "Unrecognised filter value for health: %s", h);
        }
        if (json_array_size(f->name)) {
                f->name_re = xcalloc(json_array_size(f->name), sizeof(regex_t));
                json_array_foreach(f->name, i, v)
                {
                        if (regcomp(&f->name_re[f->n_name_re], json_string_value(v),
                                    REG_EXTENDED | REG_NOSUB) != 0)
                                return err_new(e, EINVAL, "invalid filter 'name=%s'",
                                               json_string_value(v));
                        f->n_name_re++;
                }
        }
        if (json_array_size(f->ancestor)) {
                f->ancestor_ids = xcalloc(json_array_size(f->ancestor), sizeof(char *));
                struct store *s = engine_store_lock(eng);
                json_array_foreach(f->ancestor, i, v)
                {
                        struct store_image *img = NULL;
                        _cleanup_err_ struct err *ge = NULL;
                        const char *a = json_string_value(v);
                        struct image_ref *r = NULL;
                        _cleanup_free_ char *norm = NULL;
                        if (ref_parse(a, &r, &ge) == 0) {
                                norm = ref_string(r);
                                ref_free(r);
                        }
                        err_free(&ge);
                        if ((norm && store_image_get(s, norm, &img, &ge) == 0) ||
                            store_image_get(s, a, &img, &ge) == 0) {
                                f->ancestor_ids[f->n_anc++] = xstrdup(img->id);
                                store_image_free(img);
                        }
                }
                engine_store_unlock(eng);
        }
        return 0;
}

/* before/since name containers: resolved under eng->lock */
static int lf_refs_locked(struct engine *eng, json_t *filters, struct list_filters *f,
                          struct err **e)
{
        const char *keys[] = {"before", "since"};
        for (int k = 0; k < 2; k++) {
                json_t *vals = filter_values(filters, keys[k]);
                size_t i;
                json_t *v;
                int r = 0;
                json_array_foreach(vals, i, v)
                {
                        struct container *o =
                            container_find_locked(eng, json_string_value(v), NULL);
                        if (o == NULL) {
                                r = err_new(e, ENOENT, "No such container: %s",
                                            json_string_value(v));
                                break;
                        }
                        if (k == 0) {
                                f->has_before = 1;
                                f->before_ns = o->created_ns;
                        } else {
                                f->has_since = 1;
                                f->since_ns = o->created_ns;
                        }
                }
                json_decref(vals);
                if (r < 0)
                        return -1;
        }
        return 0;
}

static int by_created_desc(const void *a, const void *b)
{
        const struct container *x = *(struct container *const *)a;
        const struct container *y = *(struct container *const *)b;
        return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

int engine_container_list(struct engine *eng, int all, int limit, int size, json_t *filters,
                          json_t **out, struct err **e)
{
        struct list_filters f;
        if (lf_parse(eng, filters, &f, e) < 0) {
                lf_free(&f);
                return -1;
        }
        if (limit > 0 || f.status || f.exited)
                all = 1;
        int64_t now = now_ns();
        json_t *arr = json_array();
        pthread_mutex_lock(&eng->lock);
        if (lf_refs_locked(eng, filters, &f, e) < 0) {
                pthread_mutex_unlock(&eng->lock);
                lf_free(&f);
                json_decref(arr);
                return -1;
        }
        size_t n = eng->n_containers;
        struct container **v = xcalloc(n ? n : 1, sizeof(*v));
        if (n)
                memcpy(v, eng->containers, n * sizeof(*v));
        qsort(v, n, sizeof(*v), by_created_desc);
        char **dirs = size ? xcalloc(n ? n : 1, sizeof(char *)) : NULL;
        char **imgs = size ? xcalloc(n ? n : 1, sizeof(char *)) : NULL;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                struct container *c = v[i];
                if (limit > 0 && (int)m >= limit)
                        break;
                int up =
                    c->status == ST_RUNNING || c->status == ST_PAUSED || c->status == ST_RESTARTING;
                if (!all && !up)
                        continue;
                if (!lf_match(&f, c))
                        continue;
                json_array_append_new(arr, list_json(c, now));
                if (size) {
                        dirs[m] = xstrdup(c->dir);
                        imgs[m] = xstrdup(c->image_id);
                }
                m++;
        }
        pthread_mutex_unlock(&eng->lock);
        free(v);
        if (size) {
                for (size_t i = 0; i < m; i++) {
                        add_sizes(eng, json_array_get(arr, i), dirs[i], imgs[i]);
                        free(dirs[i]);
                        free(imgs[i]);
                }
                free(dirs);
                free(imgs);
        }
        lf_free(&f);
        *out = arr;
        return 0;
}

/* ---- prune ---- */

/* "until": a timestamp, unix seconds, or a Go duration before now */
static int parse_until(const char *s, int64_t *ns)
{
        if (parse_time(s, ns) == 0)
                return 0;
        char *end;
        double secs = strtod(s, &end);
        if (end != s && *end == '\0') {
                *ns = (int64_t)(secs * 1e9);
                return 0;
        }
        /* 10m, 1h30m, 24h, 90s */
        double total = 0;
        const char *p = s;
        while (*p) {
                double v = strtod(p, &end);
                if (end == p)
                        return -1;
                p = end;
                double mul;
                if (str_has_prefix(p, "ms")) {
                        mul = 1e-3;
                        p += 2;
                } else if (*p == 'h') {
                        mul = 3600;
                        p++;
                } else if (*p == 'm') {
                        mul = 60;
                        p++;
                } else if (*p == 's') {
                        mul = 1;
                        p++;
                } else {
                        return -1;
                }
                total += v * mul;
        }
        *ns = now_ns() - (int64_t)(total * 1e9);
        return 0;
}

int engine_container_prune(struct engine *eng, json_t *filters, json_t **report, struct err **e)
{
        static const char *const allowed[] = {"until", "label", "label!", NULL};
        if (filter_check(filters, allowed, e) < 0)
                return -1;
        json_t *until = filter_values(filters, "until");
        json_t *labels = filter_values(filters, "label");
        json_t *nlabels = filter_values(filters, "label!");
        int64_t until_ns = 0;
        int r = 0;
        if (json_array_size(until) > 0 &&
            parse_until(json_string_value(json_array_get(until, 0)), &until_ns) < 0)
                r = err_new(e, EINVAL, "invalid filter 'until=%s'",
                            json_string_value(json_array_get(until, 0)));
        json_t *ids = json_array();
        pthread_mutex_lock(&eng->lock);
        for (size_t i = 0; r == 0 && i < eng->n_containers; i++) {
                struct container *c = eng->containers[i];
                if (c->status != ST_CREATED && c->status != ST_EXITED && c->status != ST_DEAD)
                        continue;
                if (until_ns && c->created_ns >= until_ns)
                        continue;
                json_t *cl = json_object_get(c->config, "Labels");
                int ok = 1;
                size_t k;
                json_t *v;
                json_array_foreach(labels, k, v) ok &= filter_label_match(cl, json_string_value(v));
                json_array_foreach(nlabels, k, v) ok &=
                    !filter_label_match(cl, json_string_value(v));
                if (ok)
                        json_array_append_new(ids, json_string(c->id));
        }
        pthread_mutex_unlock(&eng->lock);
        json_t *deleted = json_array();
        int64_t reclaimed = 0;
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
                if (r < 0)
                        break;
                const char *id = json_string_value(v);
                _cleanup_free_ char *upper =
                    xasprintf("%s/containers/%s/rootfs/upper", eng->o.root, id);
                int64_t sz = container_dir_size(upper);
                _cleanup_err_ struct err *re = NULL;
                if (engine_container_remove(eng, id, 0, 0, &re) == 0) {
                        json_array_append(deleted, v);
                        reclaimed += sz;
                }
        }
        json_decref(ids);
        json_decref(until);
        json_decref(labels);
        json_decref(nlabels);
        if (r < 0) {
                json_decref(deleted);
                return -1;
        }
        *report = json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
                            (json_int_t)reclaimed);
        return 0;
}

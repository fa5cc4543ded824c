/*
 * engine/engine: the engine handle.  engine_open takes <root>/engine.lock
 * (one barged per root), opens the image store, loads every container
 * from <root>/containers/<id>/container.json and reconciles it with its
 * shim (still running: reconnect; gone: record the exit it left and apply
 * the restart policy).  Also the runtime runner (engine_runtime), the
 * small shared helpers of the lifecycle side (time formats, filters) and
 * the counters /info and rmi ask for.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../common/util.h"
#include "lifecycle.h"

extern char **environ;

/* ---- small shared helpers ---- */

int64_t now_ns(void)
{
        return time_now_ns();
}

void fmt_time(int64_t ns, char buf[40])
{
        if (ns <= 0)
                strcpy(buf, "0001-01-01T00:00:00Z"); /* Go's zero time: unset */
        else
                time_format_go(ns, buf);
}

int parse_time(const char *s, int64_t *ns)
{
        if (time_parse(s, ns) < 0)
                return -1;
        if (*ns < 0) /* Go's zero time and anything before 1970: unset */
                *ns = 0;
        return 0;
}

json_t *filter_values(json_t *filters, const char *key)
{
        json_t *v = json_object_get(filters, key);
        if (v == NULL)
                return NULL;
        json_t *out = json_array();
        if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) if (json_is_string(x)) json_array_append(out, x);
        } else if (json_is_object(v)) {
                const char *k;
                json_t *x;
                json_object_foreach(v, k, x) if (json_is_true(x))
                    json_array_append_new(out, json_string(k));
        } else if (json_is_string(v)) {
                json_array_append(out, v);
        }
        return out;
}

int filter_check(json_t *filters, const char *const *allowed, struct err **e)
{
        if (filters == NULL || json_is_null(filters))
                return 0;
        if (!json_is_object(filters))
                return err_new(e, EINVAL, "invalid filters: not an object");
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v)
        {
                int ok = 0;
                for (size_t i = 0; allowed[i]; i++)
                        if (strcmp(allowed[i], k) == 0)
                                ok = 1;
                if (!ok)
                        return err_new(e, EINVAL, "invalid filter '%s'", k);
        }
        return 0;
}

int filter_label_match(json_t *labels, const char *want)
{
        if (want == NULL)
                return 0;
        const char *eq = strchr(want, '=');
        if (eq == NULL)
                return json_object_get(labels, want) != NULL;
        _cleanup_free_ char *key = xstrndup(want, (size_t)(eq - want));
        const char *have = json_string_value(json_object_get(labels, key));
        return have && strcmp(have, eq + 1) == 0;
}

void human_duration(int64_t ns, char *buf, size_t n)
{
        int64_t s = ns / 1000000000;
        int64_t m = s / 60, h = s / 3600, d = h / 24;
        if (s < 1)
                snprintf(buf, n, "Less than a second");
        else if (s == 1)
                snprintf(buf, n, "1 second");
        else if (s < 60)
                snprintf(buf, n, "%lld seconds", (long long)s);
        else if (m == 1)
                snprintf(buf, n, "About a minute");
        else if (m < 60)
                snprintf(buf, n, "%lld minutes", (long long)m);
        else if (h == 1)
                snprintf(buf, n, "About an hour");
        else if (h < 48)
                snprintf(buf, n, "%lld hours", (long long)h);
        else if (h < 24 * 7 * 2)
                snprintf(buf, n, "%lld days", (long long)d);
        else if (h < 24 * 30 * 2)
                snprintf(buf, n, "%lld weeks", (long long)(d / 7));
        else if (h < 24 * 365 * 2)
                snprintf(buf, n, "%lld months", (long long)(d / 30));
        else
                snprintf(buf, n, "%lld years", (long long)(d / 365));
}

/* ---- options ---- */

static void opts_free(struct engine_opts *o)
{
        free((char *)o->root);
        free((char *)o->exec_root);
        free((char *)o->runtime);
        free((char *)o->shim_path);
        free((char *)o->init_path);
        free((char *)o->cgroup_parent);
        free((char *)o->reg.mirror);
        free((char *)o->reg.auth_file);
        free((char *)o->reg.platform);
        if (o->reg.insecure) {
                for (size_t i = 0; o->reg.insecure[i]; i++)
                        free((char *)o->reg.insecure[i]);
                free((void *)o->reg.insecure);
        }
        memset(o, 0, sizeof(*o));
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static void opts_copy(struct engine_opts *dst, const struct engine_opts *src)
{
        *dst = *src;
        dst->root = dup_or_null(src->root);
        dst->exec_root = dup_or_null(src->exec_root);
        dst->runtime = xstrdup(src->runtime ? src->runtime : "barge-runtime");
        dst->shim_path = xstrdup(src->shim_path ? src->shim_path : "barge-shim");
        dst->init_path = dup_or_null(src->init_path);
        dst->cgroup_parent = xstrdup(src->cgroup_parent ? src->cgroup_parent : "/barge");
        dst->reg.mirror = dup_or_null(src->reg.mirror);
        dst->reg.auth_file = dup_or_null(src->reg.auth_file);
        dst->reg.platform = dup_or_null(src->reg.platform);
        if (src->reg.insecure) {
                size_t n = 0;
                while (src->reg.insecure[n])
                        n++;
                const char **v = xcalloc(n + 1, sizeof(char *));
                for (size_t i = 0; i < n; i++)
                        v[i] = xstrdup(src->reg.insecure[i]);
                dst->reg.insecure = v;
        }
        if (dst->log_max_file < 1)
                dst->log_max_file = 1;
}

/* ---- open / close ---- */

static int take_lock(struct engine *eng, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/engine.lock", eng->o.root);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_sys(e, "open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int saved = errno;
                char buf[32] = "";
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                buf[n > 0 ? n : 0] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                close(fd);
                if (saved == EWOULDBLOCK)
                        return err_new(e, EBUSY, "another barged is using root %s (pid %s)",
                                       eng->o.root, buf[0] ? buf : "?");
                errno = saved;
                return err_sys(e, "lock %s", path);
        }
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
                err_sys(e, "write %s", path);
                close(fd);
                return -1;
        }
        eng->lock_fd = fd;
        return 0;
}

static void cleanup_half_created(struct engine *eng, const char *id)
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *dir = xasprintf("%s/containers/%s", eng->o.root, id);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
        _cleanup_free_ char *state = xasprintf("%s/containers/%s", eng->o.exec_root, id);
        log_warn("removing the half-created container %s", id);
        struct stat st;
        if (stat(rootfs, &st) == 0 && store_snapshot_unmount(rootfs, &e) < 0) {
                log_warn("%s", e->msg);
                err_free(&e);
        }
        if (rm_rf(dir, &e) < 0) {
                log_warn("%s", e->msg);
                err_free(&e);
        }
        if (rm_rf(state, &e) < 0)
                log_warn("%s", e->msg);
}

static int load_containers(struct engine *eng, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/containers", eng->o.root);
        DIR *d = opendir(path);
        if (d == NULL)
                return err_sys(e, "open %s", path);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
                        continue;
                _cleanup_free_ char *cj = xasprintf("%s/%s/container.json", path, de->d_name);
                if (access(cj, F_OK) < 0) {
                        cleanup_half_created(eng, de->d_name);
                        continue;
                }
                struct container *c = NULL;
                _cleanup_err_ struct err *le = NULL;
                if (container_load(eng, de->d_name, &c, &le) < 0) {
                        /* keep going: one bad file must not keep barged down */
                        log_error("container %s: %s", de->d_name, le->msg);
                        continue;
                }
                table_add_locked(eng, c);
        }
        closedir(d);
        return 0;
}

int engine_open(const struct engine_opts *o, struct engine **out, struct err **e)
{
        if (o->root == NULL || o->exec_root == NULL)
                return err_new(e, EINVAL, "engine: root and exec_root are required");
        struct engine *eng = xcalloc(1, sizeof(*eng));
        eng->lock_fd = -1;
        opts_copy(&eng->o, o);
        pthread_mutex_init(&eng->lock, NULL);
        pthread_mutex_init(&eng->store_lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&eng->cond, &ca);
        pthread_condattr_destroy(&ca);
        events_init(eng);

        const char *dirs[] = {"%s/containers", "%s/containers", "%s/runtime"};
        const char *bases[] = {eng->o.root, eng->o.exec_root, eng->o.exec_root};
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                _cleanup_free_ char *p = xasprintf(dirs[i], bases[i]);
                if (mkdir_p(p, 0711, e) < 0)
                        goto fail;
        }
        if (take_lock(eng, e) < 0)
                goto fail;
        if (store_open(eng->o.root, &eng->store, e) < 0)
                goto fail;
        if (load_containers(eng, e) < 0)
                goto fail;

        size_t n = eng->n_containers;
        int *apply = xcalloc(n ? n : 1, sizeof(int));
        for (size_t i = 0; i < n; i++)
                container_recover(eng, eng->containers[i], &apply[i]);
        pthread_mutex_lock(&eng->lock);
        /* container_after_exit may remove entries (AutoRemove): walk a copy */
        struct container **copy = xcalloc(n ? n : 1, sizeof(*copy));
        if (n)
                memcpy(copy, eng->containers, n * sizeof(*copy));
        for (size_t i = 0; i < n; i++) {
                copy[i]->refs++;
                if (apply[i])
                        container_after_exit(eng, copy[i], 1);
        }
        pthread_mutex_unlock(&eng->lock);
        for (size_t i = 0; i < n; i++)
                container_put(eng, copy[i]);
        free(copy);
        free(apply);
        *out = eng;
        return 0;
fail:
        engine_close(eng);
        return -1;
}

int engine_reload(struct engine *eng, const struct engine_opts *o, struct err **e)
{
        (void)e;
        /* Only what can change at run time: the registry options and the log
         * defaults.  Paths stay as opened. */
        struct engine_opts n;
        opts_copy(&n, o);
        pthread_mutex_lock(&eng->lock);
#define KEEP(f)                                                                                    \
        do {                                                                                       \
                const char *t = n.f;                                                               \
                n.f = eng->o.f;                                                                    \
                eng->o.f = t;                                                                      \
        } while (0)
        KEEP(root);
        KEEP(exec_root);
        KEEP(runtime);
        KEEP(shim_path);
        KEEP(init_path);
        KEEP(cgroup_parent);
#undef KEEP
        /* the old options are retired, not freed: a pull may still read the
         * registry options engine_registry_opts handed out */
        struct engine_opts *v = realloc(eng->retired_opts, (eng->n_retired_opts + 1) * sizeof(*v));
        if (v == NULL)
                abort();
        eng->retired_opts = v;
        v[eng->n_retired_opts++] = eng->o;
        eng->o = n;
        pthread_mutex_unlock(&eng->lock);
        return 0;
}

void engine_close(struct engine *eng)
{
        if (eng == NULL)
                return;
        pthread_mutex_lock(&eng->lock);
        eng->closing = 1;
        pthread_cond_broadcast(&eng->cond);
        while (eng->bg_threads > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 100000000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&eng->cond, &eng->lock, &ts);
        }
        size_t n = eng->n_containers;
        struct shim **shims = xcalloc(n ? n : 1, sizeof(*shims));
        void **ctxs = xcalloc(n ? n : 1, sizeof(*ctxs));
        for (size_t i = 0; i < n; i++) {
                struct container *c = eng->containers[i];
                if (c->health)
                        health_stop(eng, c);
                shims[i] = c->shim;
                ctxs[i] = c->shim_ctx;
                c->shim = NULL;
                c->shim_ctx = NULL;
        }
        pthread_mutex_unlock(&eng->lock);
        pthread_mutex_lock(&eng->ev_lock);
        pthread_cond_broadcast(&eng->ev_cond);
        pthread_mutex_unlock(&eng->ev_lock);
        /* disconnect without the lock: a shim callback may be waiting for it */
        for (size_t i = 0; i < n; i++) {
                if (shims[i])
                        shim_free(shims[i]);
                free(ctxs[i]); /* its container reference dies with the table */
        }
        free(shims);
        free(ctxs);
        for (size_t i = 0; i < n; i++)
                container_free(eng->containers[i]);
        free(eng->containers);
        if (eng->store)
                store_close(eng->store);
        if (eng->lock_fd >= 0)
                close(eng->lock_fd);
        events_free(eng);
        pthread_cond_destroy(&eng->cond);
        pthread_mutex_destroy(&eng->lock);
        pthread_mutex_destroy(&eng->store_lock);
        opts_free(&eng->o);
        for (size_t i = 0; i < eng->n_retired_opts; i++)
                opts_free(&eng->retired_opts[i]);
        free(eng->retired_opts);
        free(eng);
}

const char *engine_root(struct engine *eng)
{
        return eng->o.root;
}

const struct registry_opts *engine_registry_opts(struct engine *eng)
{
        return &eng->o.reg;
}

struct store *engine_store_lock(struct engine *eng)
{
        pthread_mutex_lock(&eng->store_lock);
        return eng->store;
}

void engine_store_unlock(struct engine *eng)
{
        pthread_mutex_unlock(&eng->store_lock);
}

void engine_bg_begin(struct engine *eng)
{
        eng->bg_threads++;
}

void engine_bg_end(struct engine *eng)
{
        eng->bg_threads--;
        pthread_cond_broadcast(&eng->cond);
}

/* ---- the runtime ---- */

int engine_runtime(struct engine *eng, char **out, struct err **e, ...)
{
        const char *argv[64];
        size_t n = 0;
        _cleanup_free_ char *rroot = xasprintf("%s/runtime", eng->o.exec_root);
        argv[n++] = eng->o.runtime;
        argv[n++] = "--root";
        argv[n++] = rroot;
        va_list ap;
        va_start(ap, e);
        const char *a;
        while ((a = va_arg(ap, const char *)) != NULL && n < ARRAY_SIZE(argv) - 1)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;

        int po[2], pe[2];
        if (pipe2(po, O_CLOEXEC) < 0)
                return err_sys(e, "pipe");
        if (pipe2(pe, O_CLOEXEC) < 0) {
                close(po[0]);
                close(po[1]);
                return err_sys(e, "pipe");
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, po[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        pid_t pid;
        int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(po[1]);
        close(pe[1]);
        if (r != 0) {
                close(po[0]);
                close(pe[0]);
                errno = r;
                return err_sys(e, "run %s", argv[0]);
        }
        /* read both pipes until EOF (a big stdout must not block stderr) */
        char *bufs[2] = {NULL, NULL};
        size_t lens[2] = {0, 0};
        struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        int open_n = 2;
        while (open_n > 0) {
                if (poll(pf, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        if (pf[i].fd < 0 || !pf[i].revents)
                                continue;
                        char tmp[8192];
                        ssize_t k = read(pf[i].fd, tmp, sizeof(tmp));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                close(pf[i].fd);
                                pf[i].fd = -1;
                                open_n--;
                                continue;
                        }
                        if (lens[i] + (size_t)k > (1 << 20))
                                continue; /* drop beyond 1 MiB, keep draining */
                        bufs[i] = realloc(bufs[i], lens[i] + (size_t)k + 1);
                        if (bufs[i] == NULL)
                                abort();
                        memcpy(bufs[i] + lens[i], tmp, (size_t)k);
                        lens[i] += (size_t)k;
                        bufs[i][lens[i]] = '\0';
                }
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char *msg = bufs[1] ? bufs[1] : (char *)"";
                while (lens[1] > 0 && (msg[lens[1] - 1] == '\n' || msg[lens[1] - 1] == ' '))
                        msg[--lens[1]] = '\0';
                int code = strstr(msg, "does not exist") || strstr(msg, "not found") ? ENOENT : EIO;
                err_new(e, code, "%s %s: %s", argv[0], argv[3] ? argv[3] : "",
                        msg[0] ? msg : "failed");
                free(bufs[0]);
                free(bufs[1]);
                return -1;
        }
        free(bufs[1]);
        if (out)
                *out = bufs[0] ? bufs[0] : xstrdup("");
        else
                free(bufs[0]);
        return 0;
}

/* ---- counters ---- */

json_t *engine_container_counts(struct engine *eng)
{
        int running = 0, paused = 0, stopped = 0;
        pthread_mutex_lock(&eng->lock);
        size_t n = eng->n_containers;
        for (size_t i = 0; i < n; i++) {
                switch (eng->containers[i]->status) {
                case ST_RUNNING:
                case ST_RESTARTING:
                        running++;
                        break;
                case ST_PAUSED:
                        paused++;
                        break;
                default:
                        stopped++;
                }
        }
        pthread_mutex_unlock(&eng->lock);
        return json_pack("{s:I, s:i, s:i, s:i}", "Containers", (json_int_t)n, "ContainersRunning",
                         running, "ContainersPaused", paused, "ContainersStopped", stopped);
}

char *engine_image_user(struct engine *eng, const char *image_id, int *running)
{
        char *found = NULL;
        int found_running = 0;
        pthread_mutex_lock(&eng->lock);
        for (size_t i = 0; i < eng->n_containers; i++) {
                struct container *c = eng->containers[i];
                if (strcmp(c->image_id, image_id) != 0)
                        continue;
                int r =
                    c->status == ST_RUNNING || c->status == ST_PAUSED || c->status == ST_RESTARTING;
                if (found == NULL || (r && !found_running)) {
                        free(found);
                        found = xstrdup(c->id);
                        found_running = r;
                }
        }
        pthread_mutex_unlock(&eng->lock);
        if (running)
                *running = found_running;
        return found;
}

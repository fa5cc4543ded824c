/*
 * engine/lifecycle: a container's state machine.  create -> start (mount
 * the snapshot, write hostname/hosts/resolv.conf and the bundle, spawn a
 * barge-shim and start the process) -> running -> the shim's exit
 * callback (record the exit, "die", then the restart policy with Docker's
 * backoff, or AutoRemove) -> stop/kill/pause/restart/remove.
 *
 * Slow work (mounts, the shim, the runtime) runs with eng->lock dropped
 * and c->busy set; other operations on the same container wait for busy
 * to clear (see internal.h).  Policy restarts and auto-removals run on
 * short-lived background threads counted in eng->bg_threads.
 *
 * Each shim gets a struct shim_ctx (the callbacks' context).  It holds a
 * reference on its container and is freed, with the shim handle, on a
 * background thread after the exit (never on the shim thread itself).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/reference.h"
#include "lifecycle.h"
#include "names.h"

struct shim_ctx {
        struct engine *eng;
        struct container *c;
        struct shim *shim;
        int starting; /* shim_start under way: an exit is stashed, not handled */
        int exited;
        int stashed;
        int code, oom;
        int64_t finished;
};

enum bg_action { BG_NONE, BG_RESTART, BG_REMOVE };

static void handle_exit_locked(struct engine *eng, struct shim_ctx *sc, int code, int64_t finished,
                               int oom);
static int start_locked(struct engine *eng, struct container *c, struct err **e);
static int remove_locked(struct engine *eng, struct container *c, int force, int defer,
                         struct err **e);

/* ---- helpers ---- */

static void cond_wait_ms(struct engine *eng, long ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&eng->cond, &eng->lock, &ts);
}

static void wait_not_busy(struct engine *eng, struct container *c)
{
        while (c->busy)
                cond_wait_ms(eng, 1000);
}

static int is_up(struct container *c)
{
        return c->status == ST_RUNNING || c->status == ST_PAUSED;
}

static const char *cfg_str(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

const char *container_restart_policy(struct container *c, int *max_retries)
{
        json_t *rp = json_object_get(c->host_config, "RestartPolicy");
        const char *name = cfg_str(rp, "Name");
        if (max_retries)
                *max_retries = (int)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
        return name && name[0] ? name : "no";
}

static json_t *attrs_of(struct container *c)
{
        json_t *a = json_object();
        json_t *labels = json_object_get(c->config, "Labels");
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) if (json_is_string(v)) json_object_set(a, k, v);
        json_object_set_new(a, "image", json_string(c->image_ref));
        json_object_set_new(a, "name", json_string(c->name + 1));
        return a;
}

static void event_c(struct engine *eng, struct container *c, const char *action, json_t *extra)
{
        json_t *a = attrs_of(c);
        if (extra) {
                json_object_update(a, extra);
                json_decref(extra);
        }
        engine_event(eng, "container", action, c->id, a);
}

static void save_or_log(struct engine *eng, struct container *c)
{
        _cleanup_err_ struct err *e = NULL;
        if (container_save(eng, c, &e) < 0)
                log_error("container %.12s: %s", c->id, e->msg);
}

static int send_signal(pid_t pid, int sig)
{
        if (pid <= 0)
                return -1;
        int fd = pidfd_open(pid, 0);
        if (fd < 0)
                return kill(pid, sig);
        int r = pidfd_send_signal(fd, sig, NULL, 0);
        close(fd);
        return r;
}

static const struct {
        const char *name;
        int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

/* "KILL", "SIGKILL", "sigkill", "9", "RTMIN+3" -> number; -1 if unknown */
static int parse_signal(const char *s)
{
        if (s == NULL || s[0] == '\0')
                return SIGKILL;
        long long n;
        if (parse_int64(s, &n) == 0)
                return n > 0 && n < NSIG ? (int)n : -1;
        const char *p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
                if (strcasecmp(p, signals[i].name) == 0)
                        return signals[i].sig;
        if (strncasecmp(p, "RTMIN", 5) == 0 || strncasecmp(p, "RTMAX", 5) == 0) {
                int base = strncasecmp(p, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
                long long off = 0;
                if (p[5] == '\0')
                        return base;
                if ((p[5] == '+' || p[5] == '-') && parse_int64(p + 6, &off) == 0) {
                        int sig = base + (p[5] == '+' ? (int)off : -(int)off);
                        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
                }
        }
        return -1;
}

static int stop_signal_of(struct container *c)
{
        const char *s = cfg_str(c->config, "StopSignal");
        int sig = s ? parse_signal(s) : SIGTERM;
        return sig > 0 ? sig : SIGTERM;
}

/* ---- background threads: policy restarts, auto-removal, shim cleanup ---- */

struct bg {
        struct engine *eng;
        struct container *c; /* referenced */
        struct shim_ctx *sc; /* to free (may be NULL) */
        enum bg_action action;
        long delay_ms;
};

static void shim_ctx_free(struct engine *eng, struct shim_ctx *sc)
{
        if (sc == NULL)
                return;
        if (sc->shim)
                shim_free(sc->shim);
        container_put(eng, sc->c);
        free(sc);
}

static void *bg_main(void *arg)
{
        struct bg *b = arg;
        struct engine *eng = b->eng;
        struct container *c = b->c;
        shim_ctx_free(eng, b->sc);

        pthread_mutex_lock(&eng->lock);
        if (b->action == BG_RESTART) {
                struct timespec t0;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                for (;;) {
                        if (eng->closing || c->removed || !c->restart_pending || c->auto_removing)
                                break;
                        struct timespec t;
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        long el =
                            (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
                        if (el >= b->delay_ms)
                                break;
                        cond_wait_ms(eng, b->delay_ms - el);
                }
                if (!eng->closing && !c->removed && c->restart_pending && !c->auto_removing) {
                        wait_not_busy(eng, c);
                        if (c->restart_pending && c->status == ST_RESTARTING && !c->removed) {
                                c->restart_pending = 0;
                                c->restart_count++;
                                _cleanup_err_ struct err *e = NULL;
                                if (start_locked(eng, c, &e) < 0) {
                                        log_error("restart %.12s: %s", c->id, e->msg);
                                        if (c->status == ST_RESTARTING)
                                                c->status = ST_EXITED;
                                        save_or_log(eng, c);
                                        pthread_cond_broadcast(&eng->cond);
                                        /* Docker keeps retrying with backoff */
                                        container_after_exit(eng, c, 0);
                                }
                        }
                }
        } else if (b->action == BG_REMOVE) {
                if (!eng->closing && !c->removed) {
                        _cleanup_err_ struct err *e = NULL;
                        wait_not_busy(eng, c);
                        if (!c->removed && !is_up(c) && remove_locked(eng, c, 0, 1, &e) < 0)
                                log_error("auto-remove %.12s: %s", c->id, e->msg);
                }
        }
        container_put_locked(eng, c);
        engine_bg_end(eng);
        pthread_mutex_unlock(&eng->lock);
        free(b);
        return NULL;
}

/* eng->lock held */
static void bg_spawn(struct engine *eng, struct container *c, struct shim_ctx *sc,
                     enum bg_action action, long delay_ms)
{
        struct bg *b = xcalloc(1, sizeof(*b));
        b->eng = eng;
        b->c = c;
        b->sc = sc;
        b->action = action;
        b->delay_ms = delay_ms;
        c->refs++;
        engine_bg_begin(eng);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &at, bg_main, b);
        pthread_attr_destroy(&at);
        if (r != 0) {
                log_error("container %.12s: cannot start a thread: %s", c->id, strerror(r));
                c->refs--;
                engine_bg_end(eng);
                free(b);
        }
}

void container_after_exit(struct engine *eng, struct container *c, int from_recovery)
{
        if (c->removed || c->auto_removing || eng->closing || is_up(c))
                return;
        if (json_is_true(json_object_get(c->host_config, "AutoRemove"))) {
                c->auto_removing = 1;
                bg_spawn(eng, c, NULL, BG_REMOVE, 0);
                return;
        }
        int max = 0;
        const char *pol = container_restart_policy(c, &max);
        int restart = 0;
        if (strcmp(pol, "always") == 0)
                restart = from_recovery || !c->stopped_by_user;
        else if (strcmp(pol, "unless-stopped") == 0)
                restart = !c->stopped_by_user;
        else if (strcmp(pol, "on-failure") == 0)
                restart = !c->stopped_by_user && c->exit_code != 0 &&
                          (max <= 0 || c->restart_count < max);
        if (from_recovery && !c->has_been_started)
                restart = 0;
        if (!restart)
                return;
        /* Docker's backoff: 100 ms doubling, back to 100 ms after 10 s up */
        long delay;
        if (from_recovery)
                delay = 0;
        else if (c->finished_ns - c->started_ns >= 10LL * 1000000000 || c->restart_delay_ms <= 0)
                delay = 100;
        else
                delay = c->restart_delay_ms * 2;
        if (delay > 60000)
                delay = 60000;
        if (!from_recovery)
                c->restart_delay_ms = delay;
        c->status = ST_RESTARTING;
        c->restart_pending = 1;
        save_or_log(eng, c);
        pthread_cond_broadcast(&eng->cond);
        bg_spawn(eng, c, NULL, BG_RESTART, delay);
}

/* ---- shim callbacks ---- */

static void cb_output(void *ctx, int stream, const void *buf, size_t n)
{
        struct shim_ctx *sc = ctx;
        attach_broadcast(sc->eng, sc->c, stream, buf, n);
}

static void cb_exit(void *ctx, int code, int64_t finished, int oom)
{
        struct shim_ctx *sc = ctx;
        struct engine *eng = sc->eng;
        pthread_mutex_lock(&eng->lock);
        if (sc->starting) {
                /* start_locked is still on it: it handles the exit after
                 * recording the start, so "start" comes before "die" */
                sc->stashed = 1;
                sc->code = code;
                sc->finished = finished;
                sc->oom = oom;
        } else {
                handle_exit_locked(eng, sc, code, finished, oom);
        }
        pthread_mutex_unlock(&eng->lock);
}

static const struct shim_callbacks callbacks = {cb_output, cb_exit};

static void handle_exit_locked(struct engine *eng, struct shim_ctx *sc, int code, int64_t finished,
                               int oom)
{
        struct container *c = sc->c;
        if (sc->exited)
                return;
        sc->exited = 1;
        if (c->shim == sc->shim) {
                c->shim = NULL;
                c->shim_ctx = NULL;
        }
        if (c->status == ST_RUNNING || c->status == ST_PAUSED || c->status == ST_RESTARTING ||
            c->status == ST_REMOVING || c->status == ST_CREATED) {
                if (c->status != ST_REMOVING)
                        c->status = ST_EXITED;
                c->exit_code = code;
                c->oom_killed = oom;
                c->finished_ns = finished > 0 ? finished : now_ns();
                c->pid = 0;
                c->exit_gen++;
                if (c->health)
                        health_stop(eng, c);
                if (!c->removed)
                        save_or_log(eng, c);
                if (oom)
                        event_c(eng, c, "oom", NULL);
                /* the attribute is a string in Docker's events */
                char num[16];
                snprintf(num, sizeof(num), "%d", code);
                event_c(eng, c, "die", json_pack("{s:s}", "exitCode", num));
                attach_container_exited(eng, c);
                pthread_cond_broadcast(&eng->cond);
        }
        /* engine_close owns the handles it collected; no new threads then */
        if (eng->closing)
                return;
        /* the shim handle must not be freed on the shim thread */
        bg_spawn(eng, c, sc, BG_NONE, 0);
        container_after_exit(eng, c, 0);
}

/* ---- files a container gets at start ---- */

static int write_hostname(struct container *c, struct err **e)
{
        struct container_paths *p = c->paths;
        const char *h = cfg_str(c->config, "Hostname");
        _cleanup_free_ char *s = xasprintf("%s\n", h && h[0] ? h : "localhost");
        return write_file_atomic(p->hostname, s, strlen(s), 0644, e);
}

static int write_hosts(struct container *c, struct err **e)
{
        struct container_paths *p = c->paths;
        const char *mode = cfg_str(c->host_config, "NetworkMode");
        if (mode && strcmp(mode, "host") == 0) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if (read_file("/etc/hosts", 1 << 20, &data, &len, NULL) == 0)
                        return write_file_atomic(p->hosts, data, len, 0644, e);
        }
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        len += (size_t)snprintf(buf, cap,
                                "127.0.0.1\tlocalhost\n"
                                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                "fe00::0\tip6-localnet\n"
                                "ff00::0\tip6-mcastprefix\n"
                                "ff02::1\tip6-allnodes\n"
                                "ff02::2\tip6-allrouters\n");
        json_t *extra = json_object_get(c->host_config, "ExtraHosts");
        size_t i;
        json_t *v;
        json_array_foreach(extra, i, v)
        {
                const char *s = json_string_value(v);
                const char *colon = s ? strchr(s, ':') : NULL;
                if (colon == NULL)
                        continue;
                char line[512];
                int n = snprintf(line, sizeof(line), "%s\t%.*s\n", colon + 1, (int)(colon - s), s);
                if (n <= 0 || (size_t)n >= sizeof(line))
                        continue;
                if (len + (size_t)n + 1 > cap) {
                        cap = (len + (size_t)n + 1) * 2;
                        buf = realloc(buf, cap);
                        if (buf == NULL)
                                abort();
                }
                memcpy(buf + len, line, (size_t)n + 1);
                len += (size_t)n;
        }
        return write_file_atomic(p->hosts, buf, len, 0644, e);
}

static void append(char **buf, size_t *len, const char *s)
{
        size_t n = strlen(s);
        *buf = realloc(*buf, *len + n + 1);
        if (*buf == NULL)
                abort();
        memcpy(*buf + *len, s, n + 1);
        *len += n;
}

static int write_resolv(struct container *c, struct err **e)
{
        struct container_paths *p = c->paths;
        _cleanup_free_ char *host = NULL;
        size_t hlen = 0;
        if (read_file("/etc/resolv.conf", 1 << 20, &host, &hlen, NULL) < 0)
                host = xstrdup("");
        const char *mode = cfg_str(c->host_config, "NetworkMode");
        int hostnet = mode && strcmp(mode, "host") == 0;
        json_t *dns = json_object_get(c->host_config, "Dns");
        json_t *search = json_object_get(c->host_config, "DnsSearch");
        json_t *opts = json_object_get(c->host_config, "DnsOptions");
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        append(&out, &len, "");
        int nameservers = 0;
        /* host lines, minus what the container cannot reach (loopback
         * resolvers) and what its own settings replace */
        char *save = NULL;
        for (char *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char word[32] = "", val[256] = "";
                sscanf(line, "%31s %255s", word, val);
                if (strcmp(word, "nameserver") == 0) {
                        if (json_array_size(dns) > 0)
                                continue;
                        if (!hostnet && (str_has_prefix(val, "127.") || strcmp(val, "::1") == 0))
                                continue;
                        nameservers++;
                } else if ((strcmp(word, "search") == 0 || strcmp(word, "domain") == 0) &&
                           json_array_size(search) > 0) {
                        continue;
                } else if (strcmp(word, "options") == 0 && json_array_size(opts) > 0) {
                        continue;
                }
                append(&out, &len, line);
                append(&out, &len, "\n");
        }
        size_t i;
        json_t *v;
        json_array_foreach(dns, i, v)
        {
                if (!json_is_string(v))
                        continue;
                append(&out, &len, "nameserver ");
                append(&out, &len, json_string_value(v));
                append(&out, &len, "\n");
                nameservers++;
        }
        if (nameservers == 0)
                append(&out, &len, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        if (json_array_size(search) > 0) {
                append(&out, &len, "search");
                json_array_foreach(search, i, v)
                {
                        append(&out, &len, " ");
                        append(&out, &len, json_string_value(v) ? json_string_value(v) : "");
                }
                append(&out, &len, "\n");
        }
        if (json_array_size(opts) > 0) {
                append(&out, &len, "options");
                json_array_foreach(opts, i, v)
                {
                        append(&out, &len, " ");
                        append(&out, &len, json_string_value(v) ? json_string_value(v) : "");
                }
                append(&out, &len, "\n");
        }
        return write_file_atomic(p->resolv, out, len, 0644, e);
}

static int is_mounted(const char *merged)
{
        struct stat a, b;
        _cleanup_free_ char *parent = xasprintf("%s/..", merged);
        if (stat(merged, &a) < 0 || stat(parent, &b) < 0)
                return 0;
        return a.st_dev != b.st_dev;
}

/* namespaces of another container for NetworkMode/IpcMode/PidMode
 * "container:<ref>"; eng->lock held */
static int resolve_ns(struct engine *eng, struct container *c, const char *field,
                      const char *nsname, char out[64], struct err **e)
{
        out[0] = '\0';
        const char *mode = cfg_str(c->host_config, field);
        if (mode == NULL || !str_has_prefix(mode, "container:"))
                return 0;
        struct container *o = container_find_locked(eng, mode + 10, NULL);
        if (o == NULL)
                return err_new(e, ENOENT, "No such container: %s", mode + 10);
        if (o->status != ST_RUNNING || o->pid <= 0)
                return err_new(e, EBUSY, "cannot join network of a non running container: %s",
                               o->id);
        snprintf(out, 64, "/proc/%d/ns/%s", (int)o->pid, nsname);
        return 0;
}

/* The slow part of a start, without eng->lock: everything up to a started
 * process. */
static int prepare_and_spawn(struct engine *eng, struct container *c, struct shim_ctx *sc,
                             pid_t *pid, int64_t *started, json_t *warnings, struct err **e)
{
        _cleanup_free_ char *snap = xasprintf("%s/rootfs", c->dir);
        if (!is_mounted(c->rootfs)) {
                /* an AutoRemove root is never mounted again: skip overlayfs's
                 * syncs (its unmount would sync the whole upper filesystem) */
                int vol = json_is_true(json_object_get(c->host_config, "AutoRemove"));
                struct store *s = engine_store_lock(eng);
                int r = vol ? store_snapshot_mount_volatile(s, c->image_id, snap, e)
                            : store_snapshot_mount(s, c->image_id, snap, e);
                engine_store_unlock(eng);
                if (r < 0)
                        return err_wrap(e, "mount the container's root");
        }
        if (write_hostname(c, e) < 0 || write_hosts(c, e) < 0 || write_resolv(c, e) < 0)
                return -1;

        struct ocispec_in in;
        container_spec_in(eng, c, &in);
        json_t *spec = NULL;
        if (ocispec_build(&in, &spec, warnings, e) < 0)
                return -1;
        json_t *root = json_object_get(spec, "root");
        if (!json_is_object(root)) {
                root = json_object();
                json_object_set_new(spec, "root", root);
        }
        json_object_set_new(root, "path", json_string(c->rootfs));
        char *data = json_dumps(spec, JSON_COMPACT);
        json_decref(spec);
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", c->paths->bundle);
        int r = mkdir_p(c->paths->bundle, 0700, e);
        if (r == 0)
                r = write_file_atomic(cfg, data, strlen(data), 0600, e);
        free(data);
        if (r < 0)
                return -1;

        /* a fresh state dir: an old exit file must not be read as this run's */
        _cleanup_err_ struct err *ign = NULL;
        rm_rf(c->state_dir, &ign);
        if (mkdir_p(c->state_dir, 0700, e) < 0)
                return -1;

        json_t *lc = json_object_get(c->host_config, "LogConfig");
        const char *ltype = cfg_str(lc, "Type");
        json_t *lcfg = json_object_get(lc, "Config");
        int64_t max_size = eng->o.log_max_size;
        int max_file = eng->o.log_max_file > 0 ? eng->o.log_max_file : 1;
        if (cfg_str(lcfg, "max-size")) {
                int64_t v;
                if (parse_size(cfg_str(lcfg, "max-size"), &v) < 0)
                        return err_new(e, EINVAL, "invalid max-size %s", cfg_str(lcfg, "max-size"));
                max_size = v;
        }
        if (cfg_str(lcfg, "max-file")) {
                long long v = 0;
                if (parse_int64(cfg_str(lcfg, "max-file"), &v) < 0 || v < 1)
                        return err_new(e, EINVAL, "invalid max-file %s", cfg_str(lcfg, "max-file"));
                max_file = (int)v;
        }
        _cleanup_free_ char *rroot = xasprintf("%s/runtime", eng->o.exec_root);
        struct shim_spec spec_s = {
            .shim_path = eng->o.shim_path,
            .runtime = eng->o.runtime,
            .runtime_root = rroot,
            .state_dir = c->state_dir,
            .id = c->id,
            .bundle = c->paths->bundle,
            .process_json = NULL,
            .log_path = ltype && strcmp(ltype, "none") == 0 ? NULL : c->log_path,
            .log_max_size = max_size,
            .log_max_file = max_file,
            .tty = json_is_true(json_object_get(c->config, "Tty")),
            .open_stdin = json_is_true(json_object_get(c->config, "OpenStdin")),
        };
        if (shim_spawn(&spec_s, &callbacks, sc, &sc->shim, e) < 0)
                return -1;
        /* StartedAt is before the process runs: its exit may beat our return */
        *started = now_ns();
        return shim_start(sc->shim, pid, e);
}

/* eng->lock held, c not busy.  Returns with the lock held. */
static int start_locked(struct engine *eng, struct container *c, struct err **e)
{
        if (c->auto_removing || c->removed)
                return err_new(e, EBUSY, "removal of container %s is already in progress", c->id);
        if (resolve_ns(eng, c, "NetworkMode", "net", c->paths->netns, e) < 0 ||
            resolve_ns(eng, c, "IpcMode", "ipc", c->paths->ipcns, e) < 0 ||
            resolve_ns(eng, c, "PidMode", "pid", c->paths->pidns, e) < 0)
                return -1;
        struct shim_ctx *sc = xcalloc(1, sizeof(*sc));
        sc->eng = eng;
        sc->c = c;
        sc->starting = 1;
        c->refs++;
        c->busy = 1;
        pthread_mutex_unlock(&eng->lock);

        pid_t pid = 0;
        int64_t started = 0;
        json_t *warnings = json_array();
        int r = prepare_and_spawn(eng, c, sc, &pid, &started, warnings, e);
        json_decref(warnings);

        pthread_mutex_lock(&eng->lock);
        c->busy = 0;
        sc->starting = 0;
        pthread_cond_broadcast(&eng->cond);
        if (r < 0) {
                int code = (*e)->code;
                free(c->error);
                c->error = xstrdup((*e)->msg);
                c->exit_code = code == ENOENT ? 127 : code == EACCES ? 126 : 128;
                if (c->status == ST_RESTARTING)
                        c->status = ST_EXITED;
                /* a "next-exit" waiter registered before the start returns */
                c->exit_gen++;
                save_or_log(eng, c);
                pthread_cond_broadcast(&eng->cond);
                /* Docker answers 400 for a missing or non-executable command */
                if (sc->shim && (code == ENOENT || code == EACCES))
                        (*e)->code = EINVAL;
                if (sc->shim) {
                        sc->exited = 1;
                        bg_spawn(eng, c, sc, BG_NONE, 0);
                } else {
                        c->refs--;
                        free(sc);
                }
                /* as dockerd: a --rm container that cannot start is removed
                 * (`docker run --rm` waits for the removal after the error) */
                if (json_is_true(json_object_get(c->host_config, "AutoRemove")) &&
                    !c->auto_removing) {
                        c->auto_removing = 1;
                        bg_spawn(eng, c, NULL, BG_REMOVE, 0);
                }
                return -1;
        }
        c->shim = sc->shim;
        c->shim_ctx = sc;
        c->pid = pid;
        attach_container_started(eng, c); /* stdin sent before the start */
        c->status = ST_RUNNING;
        c->started_ns = started;
        c->has_been_started = 1;
        c->stopped_by_user = 0;
        c->exit_code = 0;
        c->oom_killed = 0;
        free(c->error);
        c->error = NULL;
        save_or_log(eng, c);
        event_c(eng, c, "start", NULL);
        if (json_is_object(json_object_get(c->config, "Healthcheck")))
                health_start(eng, c);
        pthread_cond_broadcast(&eng->cond);
        if (sc->stashed)
                handle_exit_locked(eng, sc, sc->code, sc->finished, sc->oom);
        return 0;
}

/* ---- recovery at engine_open ---- */

/* Connect to the shim in c's state dir; 1 when it answered.  `orphan`:
 * the record does not say running (barged died between starting the
 * process and saving), so adopt it. */
/* SIGKILL the shim whose pid state_dir/shim.pid holds (it has no process
 * of its own to look after yet). */
static void kill_unstarted_shim(const char *state_dir)
{
        _cleanup_free_ char *path = xasprintf("%s/shim.pid", state_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_err_ struct err *e = NULL;
        pid_t pid = read_file(path, 64, &buf, &len, &e) == 0 ? atoi(buf) : 0;
        if (pid > 1)
                send_signal(pid, SIGKILL);
}

static int reconnect(struct engine *eng, struct container *c, int orphan)
{
        struct shim_ctx *sc = xcalloc(1, sizeof(*sc));
        sc->eng = eng;
        sc->c = c;
        c->refs++;
        _cleanup_err_ struct err *e = NULL;
        pthread_mutex_lock(&eng->lock);
        /* hold the lock: an exit callback must see c->shim set */
        if (shim_connect(c->state_dir, &callbacks, sc, &sc->shim, &e) == 0) {
                if (orphan && !sc->exited) {
                        _cleanup_free_ char *pidf = xasprintf("%s/pid", c->state_dir);
                        _cleanup_free_ char *buf = NULL;
                        size_t len = 0;
                        _cleanup_err_ struct err *pe = NULL;
                        pid_t pid = read_file(pidf, 64, &buf, &len, &pe) == 0 ? atoi(buf) : 0;
                        if (pid <= 0) {
                                /* barged died between spawning the shim and
                                 * starting the process: nothing runs, and the
                                 * shim would wait for a start that will not
                                 * come.  End it; the container stays created. */
                                pthread_mutex_unlock(&eng->lock);
                                shim_free(sc->shim);
                                kill_unstarted_shim(c->state_dir);
                                c->refs--;
                                free(sc);
                                return 0;
                        }
                        c->pid = pid;
                        c->status = ST_RUNNING;
                        c->has_been_started = 1;
                        c->restart_pending = 0;
                        if (c->started_ns <= 0)
                                c->started_ns = now_ns();
                        save_or_log(eng, c);
                }
                if (!sc->exited) {
                        c->shim = sc->shim;
                        c->shim_ctx = sc;
                        if (c->status == ST_RUNNING &&
                            json_is_object(json_object_get(c->config, "Healthcheck")))
                                health_start(eng, c);
                }
                pthread_mutex_unlock(&eng->lock);
                return 1;
        }
        pthread_mutex_unlock(&eng->lock);
        c->refs--;
        free(sc);
        if (e->code != ENOENT && e->code != ECONNREFUSED)
                log_warn("container %.12s: %s", c->id, e->msg);
        return 0;
}

void container_recover(struct engine *eng, struct container *c, int *apply_policy)
{
        *apply_policy = 0;
        int was_up = c->status == ST_RUNNING || c->status == ST_PAUSED ||
                     c->status == ST_RESTARTING || c->status == ST_REMOVING;
        if (!was_up || c->status == ST_RESTARTING) {
                _cleanup_free_ char *sock = xasprintf("%s/shim.sock", c->state_dir);
                if (access(sock, F_OK) == 0 && reconnect(eng, c, 1))
                        return;
        }
        if (!was_up) {
                /* always / unless-stopped come back when barged does */
                *apply_policy = c->has_been_started;
                return;
        }
        if ((c->status == ST_RUNNING || c->status == ST_PAUSED) && reconnect(eng, c, 0))
                return;
        int code = 0, oom = 0;
        int64_t fin = 0;
        _cleanup_err_ struct err *e2 = NULL;
        if (c->status != ST_RESTARTING &&
            shim_read_exit(c->state_dir, &code, &fin, &oom, &e2) < 0) {
                /* no shim and no exit file: the host rebooted, or the shim
                 * was killed; make sure the runtime forgets it */
                code = 255;
                fin = now_ns();
                _cleanup_err_ struct err *e3 = NULL;
                if (engine_runtime(eng, NULL, &e3, "delete", "--force", c->id, (char *)NULL) < 0)
                        log_debug("container %.12s: %s", c->id, e3->msg);
        }
        if (c->status != ST_RESTARTING) {
                c->exit_code = code;
                c->finished_ns = fin;
                c->oom_killed = oom;
        }
        c->status = ST_EXITED;
        c->pid = 0;
        pthread_mutex_lock(&eng->lock);
        save_or_log(eng, c);
        pthread_mutex_unlock(&eng->lock);
        *apply_policy = 1;
}

/* ---- create ---- */

static int resolve_image(struct engine *eng, const char *image, char id[72], struct err **e)
{
        struct store *s = engine_store_lock(eng);
        struct store_image *img = NULL;
        _cleanup_free_ char *norm = NULL;
        struct image_ref *ref = NULL;
        _cleanup_err_ struct err *pe = NULL;
        if (ref_parse(image, &ref, &pe) == 0) {
                norm = ref_string(ref);
                ref_free(ref);
        }
        _cleanup_err_ struct err *ge = NULL;
        int r = -1;
        if (norm)
                r = store_image_get(s, norm, &img, &ge);
        if (r < 0) {
                err_free(&ge);
                r = store_image_get(s, image, &img, &ge);
        }
        engine_store_unlock(eng);
        if (r < 0) {
                if (ge && ge->code != ENOENT)
                        return err_new(e, ge->code, "%s", ge->msg);
                _cleanup_free_ char *fam = norm ? ref_familiar(norm) : NULL;
                return err_new(e, ENOENT, "No such image: %s", fam ? fam : image);
        }
        snprintf(id, 72, "%s", img->id);
        store_image_free(img);
        return 0;
}

static json_t *image_config(struct engine *eng, const char *image_id)
{
        struct store *s = engine_store_lock(eng);
        char *data = NULL;
        size_t len = 0;
        _cleanup_err_ struct err *e = NULL;
        int r = store_blob_read(s, image_id, 16 << 20, &data, &len, &e);
        engine_store_unlock(eng);
        if (r < 0)
                return NULL;
        json_t *blob = json_loadb(data, len, 0, NULL);
        free(data);
        json_t *cfg = json_incref(json_object_get(blob, "config"));
        json_decref(blob);
        return cfg;
}

struct taken_ctx {
        struct engine *eng;
};

static int name_taken(void *ctx, const char *name)
{
        struct taken_ctx *t = ctx;
        return container_by_name_locked(t->eng, name) != NULL;
}

int engine_container_create(struct engine *eng, const char *name, json_t *body,
                            const char *platform, char id[65], json_t *warnings, struct err **e)
{
        (void)platform;
        if (!json_is_object(body))
                return err_new(e, EINVAL, "invalid container configuration: not an object");
        if (name && name[0] == '/')
                name++;
        if (name && name[0] && !name_valid(name))
                return err_new(e, EINVAL,
                               "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                               "allowed",
                               name);
        json_t *config = json_deep_copy(body);
        json_object_del(config, "HostConfig");
        json_object_del(config, "NetworkingConfig");
        json_t *hc = json_object_get(body, "HostConfig");
        hc = json_is_object(hc) ? json_deep_copy(hc) : json_object();
        int r = -1;
        const char *image = cfg_str(config, "Image");
        json_t *icfg = NULL;
        char image_id[72];
        /* the body as sent: a HostConfig or NetworkingConfig of the wrong
         * type is an error, not an empty one */
        if (ocispec_validate(body, json_object_get(body, "HostConfig"), warnings, e) < 0)
                goto out;
        if (image == NULL || image[0] == '\0') {
                err_new(e, EINVAL, "No image specified");
                goto out;
        }
        int max = 0;
        json_t *rp = json_object_get(hc, "RestartPolicy");
        const char *pol = cfg_str(rp, "Name");
        (void)max;
        if (json_is_true(json_object_get(hc, "AutoRemove")) && pol && pol[0] &&
            strcmp(pol, "no") != 0) {
                err_new(e, EINVAL, "can't create 'AutoRemove' container with restart policy");
                goto out;
        }
        json_t *lcfg = json_object_get(json_object_get(hc, "LogConfig"), "Config");
        const char *ms = cfg_str(lcfg, "max-size"), *mf = cfg_str(lcfg, "max-file");
        long long mfn = 0;
        int64_t msv;
        if (ms && parse_size(ms, &msv) < 0) {
                err_new(e, EINVAL, "invalid max-size \"%s\"", ms);
                goto out;
        }
        if (mf && (parse_int64(mf, &mfn) < 0 || mfn < 1)) {
                err_new(e, EINVAL, "invalid max-file \"%s\"", mf);
                goto out;
        }
        if (resolve_image(eng, image, image_id, e) < 0)
                goto out;
        icfg = image_config(eng, image_id);
        if (ocispec_merge_image(config, icfg, e) < 0)
                goto out;
        if (cfg_str(hc, "NetworkMode") == NULL || cfg_str(hc, "NetworkMode")[0] == '\0')
                json_object_set_new(hc, "NetworkMode", json_string("default"));
        if (!json_is_object(json_object_get(hc, "RestartPolicy")))
                json_object_set_new(hc, "RestartPolicy",
                                    json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
        else if (pol == NULL || pol[0] == '\0')
                json_object_set_new(json_object_get(hc, "RestartPolicy"), "Name",
                                    json_string("no"));
        if (!json_is_object(json_object_get(hc, "LogConfig")))
                json_object_set_new(hc, "LogConfig",
                                    json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));

        pthread_mutex_lock(&eng->lock);
        if (name && name[0] && name_conflict(eng, name, e) < 0) {
                pthread_mutex_unlock(&eng->lock);
                goto out;
        }
        struct container *c = xcalloc(1, sizeof(*c));
        container_new_id(eng, c->id);
        struct taken_ctx tc = {eng};
        c->name = name && name[0] ? xasprintf("/%s", name) : NULL;
        if (c->name == NULL) {
                char *g = name_generate(name_taken, &tc);
                c->name = xasprintf("/%s", g);
                free(g);
        }
        snprintf(c->image_id, sizeof(c->image_id), "%s", image_id);
        c->image_ref = xstrdup(image);
        const char *hn = cfg_str(config, "Hostname");
        if (hn == NULL || hn[0] == '\0')
                json_object_set_new(config, "Hostname", json_stringn(c->id, 12));
        c->config = TAKE_PTR(config);
        c->host_config = TAKE_PTR(hc);
        c->created_ns = now_ns();
        c->status = ST_CREATED;
        container_set_paths(eng, c);
        /* container.json last: a directory without it is debris to sweep */
        if (mkdir_p(c->dir, 0710, e) < 0 || container_save(eng, c, e) < 0) {
                _cleanup_err_ struct err *ign = NULL;
                rm_rf(c->dir, &ign);
                pthread_mutex_unlock(&eng->lock);
                container_free(c);
                goto out;
        }
        table_add_locked(eng, c);
        snprintf(id, 65, "%s", c->id);
        event_c(eng, c, "create", NULL);
        pthread_mutex_unlock(&eng->lock);
        r = 0;
out:
        json_decref(config);
        json_decref(hc);
        json_decref(icfg);
        return r;
}

/* ---- start / stop / kill / restart ---- */

int engine_container_start(struct engine *eng, const char *ref, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        wait_not_busy(eng, c);
        int r;
        if (c->removed || c->auto_removing || c->status == ST_REMOVING)
                r = err_new(e, EBUSY, "container %s is marked for removal and cannot be started",
                            c->id);
        else if (c->status == ST_RUNNING || c->status == ST_PAUSED)
                r = err_new(e, EALREADY, "container %s is already running", c->id);
        else {
                if (c->status == ST_RESTARTING)
                        c->restart_pending = 0;
                /* a start by the user begins the policy's count again */
                c->restart_delay_ms = 0;
                c->restart_count = 0;
                r = start_locked(eng, c, e);
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

/* Wait (lock held) for the exit after generation `gen`, up to ms (< 0:
 * no limit).  1 when it came. */
static int wait_exit(struct engine *eng, struct container *c, unsigned gen, long ms)
{
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (c->exit_gen == gen && !c->removed && !eng->closing) {
                if (c->shim == NULL && !c->busy && c->status != ST_RUNNING &&
                    c->status != ST_PAUSED)
                        return 1;
                clock_gettime(CLOCK_MONOTONIC, &t);
                long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
                if (ms >= 0 && el >= ms)
                        return 0;
                cond_wait_ms(eng, ms < 0 ? 1000 : (ms - el < 1000 ? ms - el : 1000));
        }
        return c->exit_gen != gen || c->removed;
}

/* A frozen process cannot act on a signal: thaw it.  Drops eng->lock
 * around the runtime call. */
static void resume_if_paused(struct engine *eng, struct container *c)
{
        if (c->status != ST_PAUSED)
                return;
        _cleanup_err_ struct err *e = NULL;
        pthread_mutex_unlock(&eng->lock);
        int r = engine_runtime(eng, NULL, &e, "resume", c->id, (char *)NULL);
        pthread_mutex_lock(&eng->lock);
        if (r < 0)
                log_warn("resume %.12s: %s", c->id, e->msg);
        else if (c->status == ST_PAUSED)
                c->status = ST_RUNNING;
}

/* lock held; the container is up */
static int stop_locked(struct engine *eng, struct container *c, int timeout, int sig)
{
        c->stopped_by_user = 1;
        c->restart_pending = 0;
        save_or_log(eng, c);
        unsigned gen = c->exit_gen;
        if (timeout < 0) {
                json_t *t = json_object_get(c->config, "StopTimeout");
                timeout = json_is_integer(t) ? (int)json_integer_value(t) : 10;
        }
        if (sig <= 0)
                sig = stop_signal_of(c);
        if (sig != SIGKILL && timeout != 0) {
                send_signal(c->pid, sig);
                char snum[16];
                snprintf(snum, sizeof(snum), "%d", sig);
                event_c(eng, c, "kill", json_pack("{s:s}", "signal", snum));
                resume_if_paused(eng, c);
                if (wait_exit(eng, c, gen, timeout < 0 ? -1 : (long)timeout * 1000))
                        return 0;
        }
        send_signal(c->pid, SIGKILL);
        char num[16];
        snprintf(num, sizeof(num), "%d", SIGKILL);
        event_c(eng, c, "kill", json_pack("{s:s}", "signal", num));
        resume_if_paused(eng, c);
        wait_exit(eng, c, gen, -1);
        return 0;
}

int engine_container_stop(struct engine *eng, const char *ref, int timeout, const char *signal,
                          struct err **e)
{
        int sig = 0;
        if (signal && signal[0] && (sig = parse_signal(signal)) < 0)
                return err_new(e, EINVAL, "Invalid signal: %s", signal);
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        wait_not_busy(eng, c);
        int r = 0;
        if (c->status == ST_RESTARTING) {
                c->restart_pending = 0;
                c->stopped_by_user = 1;
                c->status = ST_EXITED;
                save_or_log(eng, c);
                pthread_cond_broadcast(&eng->cond);
                event_c(eng, c, "stop", NULL);
        } else if (!is_up(c)) {
                r = err_new(e, EALREADY, "Container %s is not running", ref);
        } else {
                stop_locked(eng, c, timeout, sig);
                event_c(eng, c, "stop", NULL);
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

int engine_container_kill(struct engine *eng, const char *ref, const char *signal, struct err **e)
{
        int sig = parse_signal(signal);
        if (sig < 0)
                return err_new(e, EINVAL, "Invalid signal: %s", signal);
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int r = 0;
        if (c->status == ST_RESTARTING) {
                c->restart_pending = 0;
                c->stopped_by_user = 1;
                c->status = ST_EXITED;
                save_or_log(eng, c);
                pthread_cond_broadcast(&eng->cond);
        } else if (!is_up(c) || c->pid <= 0) {
                r = err_new(e, EBUSY, "Cannot kill container: %s: Container %s is not running", ref,
                            c->id);
        } else {
                /* as Docker: a killed container is not restarted by its policy */
                c->stopped_by_user = 1;
                save_or_log(eng, c);
                unsigned gen = c->exit_gen;
                if (send_signal(c->pid, sig) < 0 && errno != ESRCH) {
                        r = err_sys(e, "kill %s", ref);
                } else {
                        char num[16];
                        snprintf(num, sizeof(num), "%d", sig);
                        event_c(eng, c, "kill", json_pack("{s:s}", "signal", num));
                        if (sig == SIGKILL) {
                                resume_if_paused(eng, c);
                                /* Docker returns once the container is gone */
                                wait_exit(eng, c, gen, 10000);
                        }
                }
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

int engine_container_restart(struct engine *eng, const char *ref, int timeout, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        wait_not_busy(eng, c);
        int r = 0;
        if (c->status == ST_RESTARTING)
                c->restart_pending = 0;
        if (is_up(c))
                stop_locked(eng, c, timeout, 0);
        wait_not_busy(eng, c);
        if (c->removed || c->auto_removing)
                r = err_new(e, ENOENT, "No such container: %s", ref);
        else if (!is_up(c)) {
                c->restart_pending = 0;
                c->restart_delay_ms = 0;
                c->restart_count = 0;
                r = start_locked(eng, c, e);
        }
        if (r == 0)
                event_c(eng, c, "restart", NULL);
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

/* ---- wait ---- */

int engine_container_wait(struct engine *eng, const char *ref, const char *condition,
                          int (*registered)(void *ctx), int (*gone)(void *ctx), void *gone_ctx,
                          int *exit_code, char **error_msg, struct err **e)
{
        enum { W_NOT_RUNNING, W_NEXT_EXIT, W_REMOVED } mode = W_NOT_RUNNING;
        if (condition == NULL || condition[0] == '\0' || strcmp(condition, "not-running") == 0)
                mode = W_NOT_RUNNING;
        else if (strcmp(condition, "next-exit") == 0)
                mode = W_NEXT_EXIT;
        else if (strcmp(condition, "removed") == 0)
                mode = W_REMOVED;
        else
                return err_new(e, EINVAL, "invalid condition: \"%s\"", condition);
        if (error_msg)
                *error_msg = NULL;
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        unsigned gen = c->exit_gen;
        int r = 0;
        if (registered) {
                /* c is held and gen taken: an exit or removal from now on is seen */
                pthread_mutex_unlock(&eng->lock);
                int g = registered(gone_ctx);
                pthread_mutex_lock(&eng->lock);
                if (g < 0)
                        r = err_new(e, ECANCELED, "the client went away");
        }
        for (; r == 0;) {
                int done = 0;
                if (mode == W_REMOVED)
                        done = c->removed;
                else if (mode == W_NEXT_EXIT)
                        done = c->exit_gen != gen || c->removed;
                else
                        done = c->removed || (!c->busy && c->status != ST_RUNNING &&
                                              c->status != ST_PAUSED && c->status != ST_RESTARTING);
                if (done)
                        break;
                if (eng->closing) {
                        r = err_new(e, ECANCELED, "the engine is shutting down");
                        break;
                }
                cond_wait_ms(eng, 1000);
                if (gone) {
                        pthread_mutex_unlock(&eng->lock);
                        int g = gone(gone_ctx);
                        pthread_mutex_lock(&eng->lock);
                        if (g) {
                                r = err_new(e, ECANCELED, "the client went away");
                                break;
                        }
                }
        }
        if (r == 0) {
                if (exit_code)
                        *exit_code = c->exit_code;
                /* as dockerd: a removal ends the wait without the start
                 * error (the client already has it from the start call) */
                if (error_msg && c->error && !c->removed)
                        *error_msg = xstrdup(c->error);
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

/* ---- remove ---- */

/* The files of a removed container, deleted off the caller's path. */
struct rm_job {
        struct engine *eng;
        char *dir, *state_dir;
};

static void *rm_main(void *arg)
{
        struct rm_job *j = arg;
        _cleanup_err_ struct err *e = NULL;
        if (rm_rf(j->dir, &e) < 0)
                log_warn("%s", e->msg);
        err_free(&e);
        rm_rf(j->state_dir, &e);
        pthread_mutex_lock(&j->eng->lock);
        engine_bg_end(j->eng);
        pthread_mutex_unlock(&j->eng->lock);
        free(j->dir);
        free(j->state_dir);
        free(j);
        return NULL;
}

/* Without the lock: remove dir and state_dir in a thread of their own
 * (engine_close waits for it), or here if no thread can be had. */
static void rm_later(struct engine *eng, const char *dir, const char *state_dir)
{
        struct rm_job *j = xcalloc(1, sizeof(*j));
        j->eng = eng;
        j->dir = xstrdup(dir);
        j->state_dir = xstrdup(state_dir);
        pthread_mutex_lock(&eng->lock);
        engine_bg_begin(eng);
        pthread_mutex_unlock(&eng->lock);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &at, rm_main, j);
        pthread_attr_destroy(&at);
        if (r != 0)
                rm_main(j);
}

/* lock held, c referenced by the caller, not busy.  `defer` (AutoRemove,
 * whose `wait` answers once the container is removed): the container is
 * gone once its record is deleted and its root unmounted; its directories
 * are deleted in the background (a directory without container.json is
 * swept at start-up should barged die first).  On a busy disk each rmdir
 * can wait for the journal: milliseconds per directory. */
static int remove_locked(struct engine *eng, struct container *c, int force, int defer,
                         struct err **e)
{
        if (c->status == ST_REMOVING && c->busy)
                return err_new(e, EBUSY, "removal of container %s is already in progress", c->id);
        if (is_up(c) || c->status == ST_RESTARTING) {
                if (!force) {
                        if (c->status == ST_PAUSED)
                                return err_new(e, EBUSY,
                                               "You cannot remove a paused container %s. "
                                               "Unpause and then stop the container before "
                                               "attempting removal or force remove",
                                               c->id);
                        if (c->status == ST_RESTARTING)
                                return err_new(e, EBUSY,
                                               "You cannot remove a restarting container %s. "
                                               "Stop the container before attempting removal "
                                               "or force remove",
                                               c->id);
                        return err_new(e, EBUSY,
                                       "You cannot remove a running container %s. Stop the "
                                       "container before attempting removal or force remove",
                                       c->id);
                }
                c->auto_removing = 1; /* no restart, no AutoRemove thread */
                c->restart_pending = 0;
                c->stopped_by_user = 1;
                if (is_up(c)) {
                        unsigned gen = c->exit_gen;
                        send_signal(c->pid, SIGKILL);
                        event_c(eng, c, "kill", json_pack("{s:s}", "signal", "9"));
                        resume_if_paused(eng, c);
                        if (!wait_exit(eng, c, gen, 30000)) {
                                c->auto_removing = 0;
                                return err_new(e, EBUSY, "could not kill running container %s",
                                               c->id);
                        }
                }
                wait_not_busy(eng, c);
                if (c->status == ST_RESTARTING)
                        c->status = ST_EXITED;
        }
        c->auto_removing = 1;
        c->status = ST_REMOVING;
        c->busy = 1;
        if (c->health)
                health_stop(eng, c);
        pthread_mutex_unlock(&eng->lock);

        int r = 0;
        _cleanup_free_ char *cj = xasprintf("%s/container.json", c->dir);
        _cleanup_free_ char *snap = xasprintf("%s/rootfs", c->dir);
        /* the record goes first: a crash below leaves debris engine_open sweeps */
        if (unlink(cj) < 0 && errno != ENOENT)
                r = err_sys(e, "remove %s", cj);
        struct stat st;
        if (defer && r == 0) {
                _cleanup_free_ char *merged = xasprintf("%s/merged", snap);
                if (umount2(merged, 0) < 0 && errno != EINVAL && errno != ENOENT &&
                    (errno != EBUSY || umount2(merged, MNT_DETACH) < 0))
                        r = err_sys(e, "unmount %s", merged);
                if (r == 0)
                        rm_later(eng, c->dir, c->state_dir);
        } else {
                if (r == 0 && stat(snap, &st) == 0 && store_snapshot_unmount(snap, e) < 0)
                        r = -1;
                if (r == 0 && rm_rf(c->dir, e) < 0)
                        r = -1;
                _cleanup_err_ struct err *ign = NULL;
                rm_rf(c->state_dir, &ign);
        }

        pthread_mutex_lock(&eng->lock);
        c->busy = 0;
        if (r < 0) {
                c->status = ST_DEAD;
                pthread_cond_broadcast(&eng->cond);
                return err_wrap(e, "unable to remove filesystem for %s", c->id);
        }
        table_remove_locked(eng, c);
        exec_container_removed(eng, c);
        attach_container_exited(eng, c);
        event_c(eng, c, "destroy", NULL);
        pthread_cond_broadcast(&eng->cond);
        return 0;
}

int engine_container_remove(struct engine *eng, const char *ref, int force, int volumes,
                            struct err **e)
{
        (void)volumes;
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int r;
        if (c->status == ST_REMOVING || (c->auto_removing && !is_up(c) && c->busy))
                r = err_new(e, EBUSY, "removal of container %s is already in progress", c->id);
        else {
                wait_not_busy(eng, c);
                if (c->removed)
                        r = err_new(e, ENOENT, "No such container: %s", ref);
                else
                        r = remove_locked(eng, c, force, 0, e);
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

/* ---- rename, pause, resize, tty ---- */

int engine_container_rename(struct engine *eng, const char *ref, const char *new_name,
                            struct err **e)
{
        if (new_name == NULL || new_name[0] == '\0')
                return err_new(e, EINVAL, "Neither old nor new names may be empty");
        if (new_name[0] == '/')
                new_name++;
        if (!name_valid(new_name))
                return err_new(e, EINVAL,
                               "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                               "allowed",
                               new_name);
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int r = 0;
        if (strcmp(c->name + 1, new_name) == 0)
                r = err_new(e, EINVAL,
                            "Renaming a container with the same name as its current name");
        else if (name_conflict(eng, new_name, e) < 0)
                r = err_wrap(e, "Error when allocating new name");
        else {
                char *old = c->name;
                c->name = xasprintf("/%s", new_name);
                if (container_save(eng, c, e) < 0) {
                        free(c->name);
                        c->name = old;
                        r = -1;
                } else {
                        event_c(eng, c, "rename", json_pack("{s:s}", "oldName", old));
                        free(old);
                }
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

static int pause_op(struct engine *eng, const char *ref, int pause, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        wait_not_busy(eng, c);
        int r = 0;
        if (!is_up(c))
                r = err_new(e, EBUSY, "Container %s is not running", c->id);
        else if (pause && c->status == ST_PAUSED)
                r = err_new(e, EBUSY, "Container %s is already paused", c->id);
        else if (!pause && c->status != ST_PAUSED)
                r = err_new(e, 0, "Container %s is not paused", c->id); /* 500, as Docker */
        else {
                c->busy = 1;
                pthread_mutex_unlock(&eng->lock);
                r = engine_runtime(eng, NULL, e, pause ? "pause" : "resume", c->id, (char *)NULL);
                pthread_mutex_lock(&eng->lock);
                c->busy = 0;
                if (r == 0 && is_up(c)) {
                        c->status = pause ? ST_PAUSED : ST_RUNNING;
                        save_or_log(eng, c);
                        event_c(eng, c, pause ? "pause" : "unpause", NULL);
                }
                pthread_cond_broadcast(&eng->cond);
        }
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

int engine_container_pause(struct engine *eng, const char *ref, struct err **e)
{
        return pause_op(eng, ref, 1, e);
}

int engine_container_unpause(struct engine *eng, const char *ref, struct err **e)
{
        return pause_op(eng, ref, 0, e);
}

int engine_container_resize(struct engine *eng, const char *ref, unsigned height, unsigned width,
                            struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int r;
        if (c->shim == NULL || !is_up(c))
                r = err_new(e, EBUSY, "Container %s is not running", c->id);
        else
                r = shim_resize(c->shim, width, height, e);
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

int engine_container_tty(struct engine *eng, const char *ref, int *tty, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        *tty = json_is_true(json_object_get(c->config, "Tty"));
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return 0;
}

/* ---- update ---- */

static const char *const resource_keys[] = {
    "CpuShares",      "Memory",     "CgroupParent",      "BlkioWeight",
    "CpuPeriod",      "CpuQuota",   "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "CpusetCpus",     "CpusetMems", "MemoryReservation", "MemorySwap",
    "NanoCpus",       "PidsLimit",  "KernelMemory",      "MemorySwappiness",
    "OomKillDisable", "CpuCount",   "CpuPercent",        "BlkioWeightDevice",
    "Ulimits",        NULL,
};

int engine_container_update(struct engine *eng, const char *ref, json_t *body, json_t **out,
                            struct err **e)
{
        if (!json_is_object(body))
                return err_new(e, EINVAL, "invalid update: not an object");
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        wait_not_busy(eng, c);
        int r = 0;
        json_t *warnings = json_array();
        json_t *hc = json_deep_copy(c->host_config);
        json_t *rp = json_object_get(body, "RestartPolicy");
        const char *rpn = cfg_str(rp, "Name");
        if (json_is_object(rp) && rpn && rpn[0]) {
                if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(rpn, "no") != 0) {
                        r = err_new(e, EINVAL,
                                    "Restart policy cannot be updated because AutoRemove is "
                                    "enabled for the container");
                        goto out;
                }
                json_object_set(hc, "RestartPolicy", rp);
        }
        for (size_t i = 0; resource_keys[i]; i++) {
                json_t *v = json_object_get(body, resource_keys[i]);
                /* the CLI sends zeros for what it does not change */
                if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0) &&
                    !(json_is_string(v) && json_string_length(v) == 0))
                        json_object_set(hc, resource_keys[i], v);
        }
        if (ocispec_validate(NULL, hc, warnings, e) < 0) {
                r = -1;
                goto out;
        }
        json_t *old = c->host_config;
        c->host_config = hc;
        hc = NULL;
        if (is_up(c)) {
                /* the resources object as the spec builder makes it */
                struct ocispec_in in;
                container_spec_in(eng, c, &in);
                json_t *spec = NULL;
                if (ocispec_build(&in, &spec, NULL, e) < 0) {
                        r = -1;
                } else {
                        json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
                        char *data = json_dumps(res ? res : json_object(), JSON_COMPACT);
                        _cleanup_free_ char *path = xasprintf("%s/resources.json", c->dir);
                        r = write_file_atomic(path, data, strlen(data), 0600, e);
                        free(data);
                        json_decref(spec);
                        if (r == 0) {
                                c->busy = 1;
                                pthread_mutex_unlock(&eng->lock);
                                r = engine_runtime(eng, NULL, e, "update", "--resources", path,
                                                   c->id, (char *)NULL);
                                pthread_mutex_lock(&eng->lock);
                                c->busy = 0;
                                pthread_cond_broadcast(&eng->cond);
                        }
                }
                if (r < 0) {
                        json_decref(c->host_config);
                        c->host_config = old;
                        err_wrap(e, "Cannot update container %s", c->id);
                        goto out;
                }
        }
        json_decref(old);
        save_or_log(eng, c);
        event_c(eng, c, "update", NULL);
        if (out)
                *out = json_pack("{s:O}", "Warnings", warnings);
out:
        json_decref(hc);
        json_decref(warnings);
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
        return r;
}

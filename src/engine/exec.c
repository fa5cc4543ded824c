/*
 * engine/exec: POST /containers/{id}/exec, /exec/{id}/start|json|resize.
 * An exec is one more process in a running container, held by a shim of
 * its own (state dir <container state dir>/exec-<exec id>, process.json
 * from ocispec_exec_process): its output goes to the starting client's
 * attacher, its stdin comes from that client.  Exec records live in
 * eng->execs (under eng->lock) until their container is removed, so that
 * an exited exec can still be inspected; the container's ExecIDs lists
 * the ones not yet exited, as Docker does.  Healthchecks run through the
 * same machinery without a client (exec_run_collect).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "io.h"

struct exec {
        char id[65];
        char cid[65];
        json_t *config;  /* ExecConfig */
        char *state_dir; /* of its shim */
        struct shim *shim;
        struct attacher *a; /* output consumer while someone listens */
        int started, running, has_exit, exit_code;
        pid_t pid;
        int in_table; /* in eng->execs (health execs are not) */
        int refs;     /* eng->execs holds one; a start in progress another */
        struct engine *eng;
};

char *io_runtime_root(struct engine *eng)
{
        return xasprintf("%s/runtime", eng->o.exec_root);
}

static void random_id(char out[65])
{
        unsigned char b[32];
        size_t got = 0;
        while (got < sizeof(b)) {
                ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
                if (r > 0)
                        got += (size_t)r;
        }
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Without eng->lock: shim_free waits for a callback in progress, and
 * the callbacks take eng->lock. */
static void exec_destroy(struct exec *x)
{
        if (x->shim != NULL)
                shim_free(x->shim);
        if (x->state_dir != NULL) {
                _cleanup_err_ struct err *err = NULL;
                if (x->has_exit || !x->started)
                        rm_rf(x->state_dir, &err);
                free(x->state_dir);
        }
        attacher_free(x->a);
        json_decref(x->config);
        free(x);
}

/* eng->lock held; returns x when it is to be destroyed (after unlocking) */
static struct exec *exec_unref(struct exec *x)
{
        return --x->refs > 0 ? NULL : x;
}

static void *destroy_main(void *arg)
{
        struct exec **list = arg;
        struct engine *eng = list[0]->eng;
        for (size_t i = 0; list[i] != NULL; i++)
                exec_destroy(list[i]);
        free(list);
        pthread_mutex_lock(&eng->lock);
        eng->bg_threads--; /* engine_close waits for it */
        pthread_cond_broadcast(&eng->cond);
        pthread_mutex_unlock(&eng->lock);
        return NULL;
}

/* eng->lock held */
static struct exec *exec_find(struct engine *eng, const char *id)
{
        for (size_t i = 0; i < eng->n_execs; i++)
                if (strcmp(eng->execs[i]->id, id) == 0)
                        return eng->execs[i];
        return NULL;
}

/* eng->lock held: drop id from the container's ExecIDs */
static void drop_exec_id(struct engine *eng, const char *cid, const char *id)
{
        for (size_t i = 0; i < eng->n_containers; i++) {
                struct container *c = eng->containers[i];
                if (strcmp(c->id, cid) != 0)
                        continue;
                for (size_t k = 0; k < c->n_exec_ids; k++) {
                        if (strcmp(c->exec_ids[k], id) == 0) {
                                free(c->exec_ids[k]);
                                c->exec_ids[k] = c->exec_ids[--c->n_exec_ids];
                                break;
                        }
                }
        }
}

static void exec_output(void *ctx, int stream, const void *buf, size_t n)
{
        struct exec *x = ctx;
        pthread_mutex_lock(&x->eng->lock);
        if (x->a != NULL)
                attacher_push(x->a, stream, buf, n);
        pthread_mutex_unlock(&x->eng->lock);
}

static void exec_exit(void *ctx, int exit_code, int64_t finished_ns, int oom_killed)
{
        (void)finished_ns;
        (void)oom_killed;
        struct exec *x = ctx;
        struct engine *eng = x->eng;
        pthread_mutex_lock(&eng->lock);
        x->running = 0;
        x->has_exit = 1;
        x->exit_code = exit_code;
        if (x->a != NULL)
                attacher_end(x->a);
        if (x->in_table)
                drop_exec_id(eng, x->cid, x->id);
        pthread_cond_broadcast(&eng->cond);
        int in_table = x->in_table;
        char id[65], cid[65];
        memcpy(id, x->id, sizeof(id));
        memcpy(cid, x->cid, sizeof(cid));
        pthread_mutex_unlock(&eng->lock);
        if (in_table) {
                char code[16];
                snprintf(code, sizeof(code), "%d", exit_code);
                json_t *attrs = json_pack("{s:s, s:s}", "execID", id, "exitCode", code);
                engine_event(eng, "container", "exec_die", cid, attrs);
        }
}

static const char *str_or(json_t *o, const char *k, const char *def)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : def;
}

/* Start x's process in c (running, held).  On success x runs with x->a
 * (if set) getting its output. */
static int exec_launch(struct engine *eng, struct container *c, struct exec *x, struct err **e)
{
        json_t *process = NULL;
        pthread_mutex_lock(&eng->lock);
        if (c->status == ST_PAUSED || c->status == ST_RESTARTING) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, EBUSY,
                               c->status == ST_PAUSED
                                   ? "Container %s is paused, unpause the container before exec"
                                   : "Container %s is restarting, wait until the container is "
                                     "running",
                               c->id);
        }
        if (c->status != ST_RUNNING || c->removed) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, EBUSY, "Container %s is not running", c->id);
        }
        struct ocispec_in in;
        container_spec_in(eng, c, &in);
        int r = ocispec_exec_process(&in, x->config, &process, e);
        _cleanup_free_ char *cstate = xstrdup(c->state_dir);
        pthread_mutex_unlock(&eng->lock);
        if (r < 0)
                return -1;

        x->state_dir = xasprintf("%s/exec-%s", cstate, x->id);
        _cleanup_free_ char *pj = xasprintf("%s/process.json", x->state_dir);
        _cleanup_free_ char *text = json_dumps(process, JSON_COMPACT);
        json_decref(process);
        if (mkdir_p(x->state_dir, 0700, e) < 0 ||
            write_file_atomic(pj, text, strlen(text), 0600, e) < 0)
                return -1;

        _cleanup_free_ char *rroot = io_runtime_root(eng);
        struct shim_spec spec = {
            .shim_path = eng->o.shim_path,
            .runtime = eng->o.runtime,
            .runtime_root = rroot,
            .state_dir = x->state_dir,
            .id = x->cid,
            .process_json = pj,
            .tty = json_is_true(json_object_get(x->config, "Tty")),
            .open_stdin = json_is_true(json_object_get(x->config, "AttachStdin")),
            .log_max_file = 1,
        };
        static const struct shim_callbacks cb = {exec_output, exec_exit};
        struct shim *s = NULL;
        if (shim_spawn(&spec, &cb, x, &s, e) < 0)
                return -1;
        pthread_mutex_lock(&eng->lock);
        x->shim = s;
        x->running = 1;
        pthread_mutex_unlock(&eng->lock);
        pid_t pid = 0;
        if (shim_start(s, &pid, e) < 0) {
                /* Docker 20.10 (the reference here) records 126 for every
                 * exec that could not start, a missing binary included */
                pthread_mutex_lock(&eng->lock);
                x->running = 0;
                x->has_exit = 1;
                x->exit_code = 126;
                if (x->in_table)
                        drop_exec_id(eng, x->cid, x->id);
                pthread_mutex_unlock(&eng->lock);
                /* a bad request as Docker answers it (400) */
                (*e)->code = EINVAL;
                return err_wrap(e, "OCI runtime exec failed");
        }
        pthread_mutex_lock(&eng->lock);
        x->pid = pid;
        pthread_mutex_unlock(&eng->lock);
        return 0;
}

/* Let go of the shims (an fd each) and state dirs of exited execs that
 * nobody is starting; their records stay for inspect.  Not under
 * eng->lock (shim_free). */
static void sweep_exited(struct engine *eng)
{
        struct shim *shims[32];
        char *dirs[32];
        size_t n = 0;
        pthread_mutex_lock(&eng->lock);
        for (size_t i = 0; i < eng->n_execs && n < ARRAY_SIZE(shims); i++) {
                struct exec *x = eng->execs[i];
                if (!x->has_exit || x->refs != 1 || x->shim == NULL)
                        continue;
                shims[n] = x->shim;
                dirs[n++] = x->state_dir;
                x->shim = NULL;
                x->state_dir = NULL;
        }
        pthread_mutex_unlock(&eng->lock);
        for (size_t i = 0; i < n; i++) {
                _cleanup_err_ struct err *err = NULL;
                shim_free(shims[i]);
                if (dirs[i] != NULL)
                        rm_rf(dirs[i], &err);
                free(dirs[i]);
        }
}

int engine_exec_create(struct engine *eng, const char *ref, json_t *body, char id[65],
                       struct err **e)
{
        sweep_exited(eng);
        json_t *cmd = json_object_get(body, "Cmd");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0)
                return err_new(e, EINVAL, "No exec command specified");
        size_t i;
        json_t *v;
        json_array_foreach(cmd, i, v) if (!json_is_string(v)) return err_new(
            e, EINVAL, "Cmd must be a list of strings");
        unsigned char keys[16];
        size_t nk;
        if (io_parse_detach_keys(str_or(body, "DetachKeys", NULL), keys, &nk, e) < 0)
                return -1;

        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        struct exec *x = xcalloc(1, sizeof(*x));
        x->eng = eng;
        x->config = json_deep_copy(body);
        x->refs = 1;
        x->in_table = 1;
        random_id(x->id);

        pthread_mutex_lock(&eng->lock);
        if (c->status != ST_RUNNING || c->removed) {
                if (c->status == ST_PAUSED)
                        err_new(e, EBUSY,
                                "Container %s is paused, unpause the container before exec", c->id);
                else if (c->status == ST_RESTARTING)
                        err_new(e, EBUSY,
                                "Container %s is restarting, wait until the container is running",
                                c->id);
                else
                        err_new(e, EBUSY, "Container %s is not running", c->id);
                pthread_mutex_unlock(&eng->lock);
                json_decref(x->config);
                free(x);
                container_put(eng, c);
                return -1;
        }
        memcpy(x->cid, c->id, sizeof(x->cid));
        eng->execs = realloc(eng->execs, (eng->n_execs + 1) * sizeof(*eng->execs));
        if (eng->execs == NULL)
                abort();
        eng->execs[eng->n_execs++] = x;
        c->exec_ids = realloc(c->exec_ids, (c->n_exec_ids + 1) * sizeof(*c->exec_ids));
        if (c->exec_ids == NULL)
                abort();
        c->exec_ids[c->n_exec_ids++] = xstrdup(x->id);
        memcpy(id, x->id, 65);
        pthread_mutex_unlock(&eng->lock);

        /* "exec_create: sh -c date" as Docker words it */
        size_t len = 0;
        json_array_foreach(cmd, i, v) len += strlen(json_string_value(v)) + 1;
        _cleanup_free_ char *action = xmalloc(len + 16);
        strcpy(action, "exec_create:");
        json_array_foreach(cmd, i, v)
        {
                strcat(action, " ");
                strcat(action, json_string_value(v));
        }
        engine_event(eng, "container", action, c->id, json_pack("{s:s}", "execID", id));
        container_put(eng, c);
        return 0;
}

static int exec_stdin(void *ctx, const void *buf, size_t n)
{
        struct exec *x = ctx;
        _cleanup_err_ struct err *err = NULL;
        int r = n == 0 ? shim_close_stdin(x->shim, &err) : shim_write_stdin(x->shim, buf, n, &err);
        return r < 0 ? -1 : 0;
}

int engine_exec_start(struct engine *eng, const char *exec_id, int detach, int fd, struct err **e)
{
        pthread_mutex_lock(&eng->lock);
        struct exec *x = exec_find(eng, exec_id);
        if (x == NULL) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, ENOENT, "No such exec instance: %s", exec_id);
        }
        if (x->started) {
                int ran = x->has_exit;
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, EBUSY,
                               ran ? "Error: Exec command %s has already run"
                                   : "Error: Exec command %s is already running",
                               exec_id);
        }
        x->started = 1;
        x->refs++;
        int tty = json_is_true(json_object_get(x->config, "Tty"));
        int want_in = json_is_true(json_object_get(x->config, "AttachStdin"));
        if (!detach)
                x->a = attacher_new(!tty, json_is_true(json_object_get(x->config, "AttachStdout")),
                                    json_is_true(json_object_get(x->config, "AttachStderr")));
        struct attacher *a = x->a;
        _cleanup_free_ char *cid = xstrdup(x->cid);
        _cleanup_free_ char *keyspec = xstrdup(str_or(x->config, "DetachKeys", ""));
        pthread_mutex_unlock(&eng->lock);

        int r = -1;
        struct container *c = container_get(eng, cid, e);
        if (c == NULL)
                goto out;
        if (!detach && a == NULL) {
                err_sys(e, "eventfd");
                goto out;
        }
        if (exec_launch(eng, c, x, e) < 0) {
                /* as Docker: an exec that could not start has run, with 126
                 * unless the runtime said why (127 for a missing binary) */
                pthread_mutex_lock(&eng->lock);
                x->running = 0;
                if (!x->has_exit) {
                        x->has_exit = 1;
                        x->exit_code = 126;
                        drop_exec_id(eng, x->cid, x->id);
                }
                pthread_mutex_unlock(&eng->lock);
                if (!detach && (*e)->code != EBUSY) {
                        /* the client already has the hijacked stream: the
                         * failure goes there, as Docker writes it */
                        _cleanup_free_ char *m = xasprintf("%s\r\n", (*e)->msg);
                        size_t ml = strlen(m);
                        unsigned char hdr[8];
                        io_frame_header(hdr, 1, (uint32_t)ml);
                        if (tty || write_all(fd, hdr, sizeof(hdr)) == 0)
                                write_all(fd, m, ml);
                        err_free(e);
                        r = 0;
                }
                goto out;
        }
        {
                json_t *cmd = json_object_get(x->config, "Cmd");
                size_t i, len = 16;
                json_t *v;
                json_array_foreach(cmd, i, v) len += strlen(json_string_value(v)) + 1;
                _cleanup_free_ char *action = xmalloc(len);
                strcpy(action, "exec_start:");
                json_array_foreach(cmd, i, v)
                {
                        strcat(action, " ");
                        strcat(action, json_string_value(v));
                }
                engine_event(eng, "container", action, c->id, json_pack("{s:s}", "execID", x->id));
        }
        r = 0;
        if (!detach) {
                unsigned char keys[16];
                size_t nk = 0;
                _cleanup_err_ struct err *kerr = NULL;
                io_parse_detach_keys(keyspec, keys, &nk, &kerr);
                io_pump(a, fd, want_in ? exec_stdin : NULL, x, 1, keys, nk);
        }
out:
        if (c != NULL)
                container_put(eng, c);
        pthread_mutex_lock(&eng->lock);
        if (x->a != NULL) {
                attacher_free(x->a);
                x->a = NULL;
        }
        struct exec *dead = exec_unref(x);
        pthread_mutex_unlock(&eng->lock);
        if (dead != NULL)
                exec_destroy(dead);
        sweep_exited(eng);
        return r;
}

int engine_exec_inspect(struct engine *eng, const char *exec_id, json_t **out, struct err **e)
{
        pthread_mutex_lock(&eng->lock);
        struct exec *x = exec_find(eng, exec_id);
        if (x == NULL) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, ENOENT, "No such exec instance: %s", exec_id);
        }
        json_t *cmd = json_object_get(x->config, "Cmd");
        const char *ep = json_string_value(json_array_get(cmd, 0));
        json_t *args = json_array();
        for (size_t i = 1; i < json_array_size(cmd); i++)
                json_array_append(args, json_array_get(cmd, i));
        json_t *j = json_pack(
            "{s:s, s:b, s:o, s:{s:b, s:s, s:o, s:b, s:s}, s:b, s:b, s:b, s:b, s:s, s:s, s:i}", "ID",
            x->id, "Running", x->running, "ExitCode",
            x->has_exit ? json_integer(x->exit_code) : json_null(), "ProcessConfig", "tty",
            json_is_true(json_object_get(x->config, "Tty")), "entrypoint", ep ? ep : "",
            "arguments", args, "privileged", json_is_true(json_object_get(x->config, "Privileged")),
            "user", str_or(x->config, "User", ""), "OpenStdin",
            json_is_true(json_object_get(x->config, "AttachStdin")), "OpenStderr",
            json_is_true(json_object_get(x->config, "AttachStderr")), "OpenStdout",
            json_is_true(json_object_get(x->config, "AttachStdout")), "CanRemove", 0, "ContainerID",
            x->cid, "DetachKeys", str_or(x->config, "DetachKeys", ""), "Pid", (int)x->pid);
        pthread_mutex_unlock(&eng->lock);
        if (j == NULL)
                return err_new(e, EINVAL, "exec %s: cannot build its JSON", exec_id);
        /* omitempty in Docker's types */
        json_t *pc = json_object_get(j, "ProcessConfig");
        if (json_string_length(json_object_get(pc, "user")) == 0)
                json_object_del(pc, "user");
        *out = j;
        return 0;
}

int engine_exec_resize(struct engine *eng, const char *exec_id, unsigned height, unsigned width,
                       struct err **e)
{
        pthread_mutex_lock(&eng->lock);
        struct exec *x = exec_find(eng, exec_id);
        if (x == NULL) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, ENOENT, "No such exec instance: %s", exec_id);
        }
        if (x->shim == NULL || !x->running) {
                pthread_mutex_unlock(&eng->lock);
                return err_new(e, EBUSY, "Exec %s is not running", exec_id);
        }
        /* a frame to the shim may block: not under eng->lock */
        x->refs++;
        pthread_mutex_unlock(&eng->lock);
        int r = shim_resize(x->shim, width, height, e);
        pthread_mutex_lock(&eng->lock);
        struct exec *dead = exec_unref(x);
        pthread_mutex_unlock(&eng->lock);
        if (dead != NULL)
                exec_destroy(dead);
        return r;
}

void exec_container_removed(struct engine *eng, struct container *c)
{
        size_t k = 0, nd = 0;
        struct exec **dead = xcalloc(eng->n_execs + 1, sizeof(*dead));
        for (size_t i = 0; i < eng->n_execs; i++) {
                struct exec *x = eng->execs[i];
                if (strcmp(x->cid, c->id) == 0) {
                        x->in_table = 0;
                        if (x->a != NULL)
                                attacher_end(x->a);
                        if (exec_unref(x) != NULL)
                                dead[nd++] = x;
                } else {
                        eng->execs[k++] = x;
                }
        }
        /* the caller holds eng->lock, under which shims cannot be freed:
         * a short thread does it */
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (nd > 0)
                eng->bg_threads++;
        if (nd > 0 && pthread_create(&t, &at, destroy_main, dead) != 0) {
                eng->bg_threads--;
                nd = 0; /* leak rather than deadlock */
        }
        if (nd == 0)
                free(dead);
        pthread_attr_destroy(&at);
        eng->n_execs = k;
        if (k == 0) {
                free(eng->execs);
                eng->execs = NULL;
        }
}

int exec_run_collect(struct engine *eng, struct container *c, json_t *exec_config,
                     int64_t timeout_ns, size_t max_out, int *stop_flag, int *exit_code,
                     char **output, struct err **e)
{
        struct exec *x = xcalloc(1, sizeof(*x));
        x->eng = eng;
        x->config = json_incref(exec_config);
        x->refs = 1;
        x->started = 1;
        random_id(x->id);
        memcpy(x->cid, c->id, sizeof(x->cid));
        x->a = attacher_new(0, 1, 1);
        if (x->a == NULL) {
                json_decref(x->config);
                free(x);
                return err_sys(e, "eventfd");
        }
        int r = exec_launch(eng, c, x, e);
        /* eng->cond waits on CLOCK_MONOTONIC (see engine.c) */
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        int64_t t = (int64_t)dl.tv_sec * 1000000000 + dl.tv_nsec + timeout_ns;
        pthread_mutex_lock(&eng->lock);
        if (r == 0) {
                while (!x->has_exit && !*stop_flag && !eng->closing) {
                        struct timespec now;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        int64_t n = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
                        if (n >= t)
                                break;
                        /* wake at least every 200 ms to notice stop_flag */
                        int64_t w = n + 200000000 < t ? n + 200000000 : t;
                        struct timespec ts = {(time_t)(w / 1000000000), (long)(w % 1000000000)};
                        pthread_cond_timedwait(&eng->cond, &eng->lock, &ts);
                }
                if (!x->has_exit && x->pid > 0)
                        kill(x->pid, SIGKILL);
                *exit_code = x->has_exit ? x->exit_code : -1;
        }
        struct attacher *a = x->a;
        x->a = NULL;
        pthread_mutex_unlock(&eng->lock);
        pthread_mutex_lock(&a->mu);
        size_t n = a->len < max_out ? a->len : max_out;
        *output = xstrndup(a->buf ? a->buf : "", n);
        pthread_mutex_unlock(&a->mu);
        attacher_free(a);
        if (r == 0 && !x->has_exit) {
                /* killed: give its shim a moment to report, then let go */
                pthread_mutex_lock(&eng->lock);
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += 2;
                while (!x->has_exit &&
                       pthread_cond_timedwait(&eng->cond, &eng->lock, &ts) != ETIMEDOUT)
                        ;
                pthread_mutex_unlock(&eng->lock);
        }
        pthread_mutex_lock(&eng->lock);
        if (r < 0 && x->has_exit)
                *exit_code = x->exit_code;
        struct exec *dead = exec_unref(x);
        pthread_mutex_unlock(&eng->lock);
        if (dead != NULL)
                exec_destroy(dead);
        return r;
}

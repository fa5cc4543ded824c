/*
 * engine/shim.c + barge-shim + barge-init against real containers (needs
 * root; run from the repository root, binaries from $BARGE_BUILD/bin): a
 * busybox bundle started through a shim, its output in the callbacks and
 * in the json-file log (lines, partial line, escaping, rotation), its exit
 * code and exit file, a missing executable (ENOENT and the runtime's
 * message), stdin to `cat`, a tty (output, resize seen by `stty size`),
 * reconnecting after shim_free, an exec, SIGKILL with nothing left behind
 * (runtime state, cgroups, shim), the shim's RSS, and barge-init (exit
 * codes, signal forwarding, zombies reaped as a container's PID 1).  The
 * container tests run with barge-runtime and again with runc if installed.
 *
 * Everything lives in /tmp/barge-shim-test.XXXXXX; cgroups are
 * /barge-shimtest-<pid>-*; the final cleanup deletes every container the
 * tests made, kills shims still running and removes the cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/engine/shim.h"
#include "harness.h"

static char tmp[128];
static char rootfs[256];
static char shim_bin[512], init_bin[512], rt_bin[512];
static const char *rt;     /* the runtime the container tests use now */
static const char *rtname; /* "barge" or "runc": names its root dir */
static int seq;

/* every container made, for the final cleanup */
static struct made {
        char id[128];
        char rt[512];
        char root[300];
        char state[400];
        char cg[128];
} made[64];
static int n_made;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- what the callbacks saw ------------------------------------------- */

struct rec {
        pthread_mutex_t m;
        pthread_cond_t c;
        char out[65536];
        size_t outlen;
        char err[65536];
        size_t errlen;
        int exited, code, oom;
        int64_t ns;
};

static void rec_init(struct rec *r)
{
        memset(r, 0, sizeof(*r));
        pthread_mutex_init(&r->m, NULL);
        pthread_cond_init(&r->c, NULL);
}

static void on_output(void *ctx, int stream, const void *buf, size_t n)
{
        struct rec *r = ctx;
        pthread_mutex_lock(&r->m);
        char *dst = stream == 2 ? r->err : r->out;
        size_t *len = stream == 2 ? &r->errlen : &r->outlen;
        if (n > sizeof(r->out) - 1 - *len)
                n = sizeof(r->out) - 1 - *len;
        memcpy(dst + *len, buf, n);
        *len += n;
        dst[*len] = '\0';
        pthread_cond_broadcast(&r->c);
        pthread_mutex_unlock(&r->m);
}

static void on_exit_cb(void *ctx, int code, int64_t ns, int oom)
{
        struct rec *r = ctx;
        pthread_mutex_lock(&r->m);
        r->exited++;
        r->code = code;
        r->ns = ns;
        r->oom = oom;
        pthread_cond_broadcast(&r->c);
        pthread_mutex_unlock(&r->m);
}

static const struct shim_callbacks cbs = {.output = on_output, .exit = on_exit_cb};

/* Wait until `needle` is in stdout (or stderr if stream 2), or the exit if
 * needle is NULL; returns 1 if it came within `ms`. */
static int rec_wait(struct rec *r, int stream, const char *needle, int ms)
{
        int64_t end = mono_ms() + ms;
        pthread_mutex_lock(&r->m);
        for (;;) {
                int ok =
                    needle ? strstr(stream == 2 ? r->err : r->out, needle) != NULL : r->exited > 0;
                if (ok || mono_ms() >= end) {
                        pthread_mutex_unlock(&r->m);
                        return ok;
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 20 * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&r->c, &r->m, &ts);
        }
}

/* ---- bundles and shims ---------------------------------------------------- */

struct ctr {
        char id[128];
        char dir[300];
        char bundle[400];
        char state[400];
        char log[400];
        char root[300];
        char cg[128];
        struct shim_spec spec;
};

/* A bundle running `args` on the shared read-only busybox rootfs, a state
 * dir, a log path, and the spec for shim_spawn. */
static int ctr_make(struct ctr *c, const char *name, const char *const *args, int tty,
                    int open_stdin)
{
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "shimtest-%d-%s-%d", (int)getpid(), name, ++seq);
        snprintf(c->dir, sizeof(c->dir), "%s/%s", tmp, c->id);
        snprintf(c->bundle, sizeof(c->bundle), "%s/bundle", c->dir);
        snprintf(c->state, sizeof(c->state), "%s/state", c->dir);
        snprintf(c->log, sizeof(c->log), "%s/log.json", c->dir);
        snprintf(c->root, sizeof(c->root), "%s/rt-%s", tmp, rtname);
        snprintf(c->cg, sizeof(c->cg), "/barge-shimtest-%d-%d", (int)getpid(), seq);
        if (sh("mkdir -p %s %s && cd %s && %s spec </dev/null", c->bundle, c->state, c->bundle,
               rt_bin) != 0)
                return -1;
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "%s/config.json", c->bundle);
        json_t *j = json_load_file(cfg, 0, NULL);
        if (!j)
                return -1;
        json_t *proc = json_object_get(j, "process");
        json_t *a = json_array();
        for (size_t i = 0; args[i]; i++)
                json_array_append_new(a, json_string(args[i]));
        json_object_set_new(proc, "args", a);
        json_object_set_new(proc, "terminal", json_boolean(tty));
        json_object_set_new(j, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly", 1));
        json_object_set_new(json_object_get(j, "linux"), "cgroupsPath", json_string(c->cg));
        int r = json_dump_file(j, cfg, JSON_INDENT(2));
        json_decref(j);
        if (r < 0)
                return -1;
        if (n_made < (int)ARRAY_SIZE(made)) {
                struct made *m = &made[n_made++];
                snprintf(m->id, sizeof(m->id), "%s", c->id);
                snprintf(m->rt, sizeof(m->rt), "%s", rt);
                snprintf(m->root, sizeof(m->root), "%s", c->root);
                snprintf(m->state, sizeof(m->state), "%s", c->state);
                snprintf(m->cg, sizeof(m->cg), "%s", c->cg);
        }
        c->spec = (struct shim_spec){
            .shim_path = shim_bin,
            .runtime = rt,
            .runtime_root = c->root,
            .state_dir = c->state,
            .id = c->id,
            .bundle = c->bundle,
            .log_path = c->log,
            .log_max_size = 0,
            .log_max_file = 1,
            .tty = tty,
            .open_stdin = open_stdin,
        };
        return 0;
}

static int exists(const char *fmt, const char *a, const char *b)
{
        char p[600];
        snprintf(p, sizeof(p), fmt, a, b);
        struct stat st;
        return stat(p, &st) == 0;
}

/* no cgroup directory named c->cg under any hierarchy */
static int cgroup_gone(const char *cg)
{
        DIR *d = opendir("/sys/fs/cgroup");
        if (!d)
                return 1;
        struct dirent *de;
        int gone = !exists("/sys/fs/cgroup%s%s", cg, "");
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                char sub[300];
                snprintf(sub, sizeof(sub), "/sys/fs/cgroup/%s", de->d_name);
                if (exists("%s%s", sub, cg))
                        gone = 0;
        }
        closedir(d);
        return gone;
}

/* the runtime's state for the container is gone, the shim has exited */
static int nothing_left(const struct ctr *c)
{
        int64_t end = mono_ms() + 3000;
        while (mono_ms() < end) {
                if (!exists("%s/%s", c->root, c->id) && cgroup_gone(c->cg) &&
                    !exists("%s/%s", c->state, "shim.sock"))
                        return 1;
                usleep(20000);
        }
        printf("# left: state %d cgroup %d sock %d\n", exists("%s/%s", c->root, c->id),
               !cgroup_gone(c->cg), exists("%s/%s", c->state, "shim.sock"));
        return 0;
}

static char *slurp(const char *path)
{
        char *buf = NULL;
        size_t len;
        struct err *e = NULL;
        if (read_file(path, 1 << 20, &buf, &len, &e) < 0) {
                err_free(&e);
                return NULL;
        }
        return buf;
}

/* ---- container tests ---------------------------------------------------- */

static void test_output_log_exit(void)
{
        const char *args[] = {"sh", "-c",
                              "echo hello; echo oops >&2; echo '<a&b> \"q\" \\ t\t'; "
                              "printf partial; exit 3",
                              NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "out", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        CHECK(exists("%s/%s", c.state, "shim.pid"));
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        if (rc < 0)
                printf("# start: %s\n", e->msg);
        CHECK(rc == 0 && pid > 0);
        int exited = rec_wait(&r, 1, NULL, 10000);
        shim_free(s);
        CHECK(exited);
        CHECK(r.code == 3);
        CHECK(strstr(r.out, "hello\n") != NULL);
        CHECK(strstr(r.out, "partial") != NULL);
        CHECK(strstr(r.err, "oops\n") != NULL);

        _cleanup_free_ char *log = slurp(c.log);
        CHECK(log != NULL);
        printf("# log:\n# %s", log);
        CHECK(strstr(log, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"") != NULL);
        CHECK(strstr(log, "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"") != NULL);
        CHECK(strstr(log, "{\"log\":\"\\u003ca\\u0026b\\u003e \\\"q\\\" \\\\ t\\t\\n\"") != NULL);
        CHECK(strstr(log, "{\"log\":\"partial\",\"stream\":\"stdout\"") != NULL);
        /* every line parses, and the time is RFC 3339 UTC */
        int lines = 0;
        for (char *save = NULL, *l = strtok_r(log, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(l, 0, NULL);
                CHECK(j != NULL);
                const char *t = json_string_value(json_object_get(j, "time"));
                int ok = t && strlen(t) >= 20 && t[strlen(t) - 1] == 'Z' && t[10] == 'T';
                json_decref(j);
                CHECK(ok);
                lines++;
        }
        CHECK(lines == 4);

        int code, oom;
        int64_t ns;
        CHECK(shim_read_exit(c.state, &code, &ns, &oom, &e) == 0);
        CHECK(code == 3 && oom == 0);
        CHECK(ns == r.ns || (ns / 1000 == r.ns / 1000));
        CHECK(nothing_left(&c));
}

static void test_missing_executable(void)
{
        const char *args[] = {"/nope", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "enoent", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        shim_free(s);
        CHECK(rc < 0);
        printf("# start failed: [%d] %s\n", e->code, e->msg);
        CHECK(e->code == ENOENT);
        CHECK(strstr(e->msg, "/nope") != NULL);
        /* the runtime's line, not followed by strerror again */
        const char *once = strstr(e->msg, "o such file or directory");
        CHECK(once && !strstr(once + 1, "o such file or directory"));
        _cleanup_free_ char *line = NULL;
        char p[512];
        snprintf(p, sizeof(p), "%s/error", c.state);
        line = slurp(p);
        CHECK(line && strstr(line, "/nope"));
        CHECK(nothing_left(&c));
        CHECK(r.exited == 0);
}

static void test_not_in_path(void)
{
        const char *args[] = {"no-such-command", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "path", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        shim_free(s);
        CHECK(rc < 0);
        printf("# start failed: [%d] %s\n", e->code, e->msg);
        CHECK(e->code == ENOENT);
        CHECK(strstr(e->msg, "executable file not found") != NULL);
        CHECK(nothing_left(&c));
}

static void test_directory_not_executable(void)
{
        const char *args[] = {"/etc", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "eacces", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        shim_free(s);
        CHECK(rc < 0);
        printf("# start failed: [%d] %s\n", e->code, e->msg);
        CHECK(e->code == EACCES);
        CHECK(nothing_left(&c));
}

static void test_stdin_cat(void)
{
        const char *args[] = {"cat", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "cat", args, 0, 1) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        CHECK(shim_write_stdin(s, "ping\n", 5, &e) == 0);
        int got = rec_wait(&r, 1, "ping\n", 5000);
        /* more than one frame's worth, then EOF */
        static char big[100000];
        memset(big, 'x', sizeof(big));
        big[sizeof(big) - 1] = '\n';
        int wrote = shim_write_stdin(s, big, sizeof(big), &e) == 0;
        CHECK(shim_close_stdin(s, &e) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(got && wrote && exited);
        CHECK(r.code == 0);
        /* the client's copy may be shortened; the log has it all */
        _cleanup_free_ char *log = slurp(c.log);
        CHECK(log && strstr(log, "{\"log\":\"ping\\n\""));
        size_t xs = 0;
        for (const char *p = log; *p; p++)
                xs += *p == 'x';
        CHECK(xs == sizeof(big) - 1);
        CHECK(nothing_left(&c));
}

static void test_tty_resize(void)
{
        const char *args[] = {"sh", "-c", "read x; stty size; echo got-$x; exit 9", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "tty", args, 1, 1) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        if (rc < 0)
                printf("# start: %s\n", e->msg);
        CHECK(rc == 0);
        CHECK(shim_resize(s, 123, 45, &e) == 0);
        CHECK(shim_write_stdin(s, "go\n", 3, &e) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        printf("# tty output: %s\n", r.out);
        CHECK(exited);
        CHECK(r.code == 9);
        CHECK(strstr(r.out, "45 123") != NULL);
        CHECK(strstr(r.out, "got-go\r\n") != NULL);
        CHECK(r.errlen == 0);
        CHECK(nothing_left(&c));
}

/* a state dir too long for sun_path (barged's are about that long): the
 * shim's and the console's sockets are still reached */
static void test_long_state_dir(void)
{
        const char *args[] = {"sh", "-c", "echo long-ok; exit 2", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "long-0123456789abcdef0123456789abcdef0123456789abcdef0123456789", args,
                       1, 0) == 0);
        CHECK(strlen(c.state) + strlen("/console.sock") > 108);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        int rc = shim_spawn(&c.spec, &cbs, &r, &s, &e);
        if (rc < 0)
                printf("# spawn: %s\n", e->msg);
        CHECK(rc == 0);
        pid_t pid = 0;
        rc = shim_start(s, &pid, &e);
        if (rc < 0)
                printf("# start: %s\n", e->msg);
        int exited = rc == 0 && rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(exited && r.code == 2 && strstr(r.out, "long-ok"));
        CHECK(nothing_left(&c));
}

static pid_t shim_pid(const char *state);

/* exited: no such process, or a zombie its reaper has not collected yet */
static int proc_gone(pid_t pid)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *st = slurp(p);
        const char *rp = st ? strrchr(st, ')') : NULL;
        return !rp || rp[1] == '\0' || rp[2] == 'Z' || rp[2] == 'X';
}

/* spawned, never started, client gone: the shim does not linger */
static void test_unstarted_shim_exits(void)
{
        const char *args[] = {"true", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "unstarted", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t sp = shim_pid(c.state);
        CHECK(sp > 0);
        shim_free(s);
        int64_t end = mono_ms() + 8000;
        while (!proc_gone(sp) && mono_ms() < end)
                usleep(50000);
        CHECK(proc_gone(sp));
        CHECK(!exists("%s/%s", c.state, "shim.sock"));
        CHECK(!exists("%s/%s", c.root, c.id));
}

static void test_reconnect(void)
{
        const char *args[] = {"sh", "-c", "sleep 0.6; echo late; exit 7", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "reconn", args, 0, 0) == 0);
        struct rec r1, r2;
        rec_init(&r1);
        rec_init(&r2);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r1, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        shim_free(s);
        s = NULL;
        usleep(100000);
        CHECK(shim_connect(c.state, &cbs, &r2, &s, &e) == 0);
        int exited = rec_wait(&r2, 1, NULL, 5000);
        shim_free(s);
        CHECK(exited && r2.code == 7);
        CHECK(strstr(r2.out, "late") != NULL);
        CHECK(r1.exited == 0);
        CHECK(nothing_left(&c));
        /* the shim is gone: ENOENT, and the exit file says it */
        err_free(&e);
        CHECK(shim_connect(c.state, &cbs, &r2, &s, &e) < 0 && e->code == ENOENT);
        int code, oom;
        int64_t ns;
        err_free(&e);
        CHECK(shim_read_exit(c.state, &code, &ns, &oom, &e) == 0 && code == 7);
}

/* the container exits while nobody is connected: the exit file is left */
static void test_exit_while_disconnected(void)
{
        const char *args[] = {"sh", "-c", "exit 4", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "disc", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        shim_free(s);
        CHECK(nothing_left(&c));
        int code, oom;
        int64_t ns;
        CHECK(shim_read_exit(c.state, &code, &ns, &oom, &e) == 0 && code == 4);
}

static long rss_kb(pid_t pid)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
        _cleanup_free_ char *s = slurp(p);
        const char *v = s ? strstr(s, "VmRSS:") : NULL;
        return v ? atol(v + 6) : -1;
}

static pid_t shim_pid(const char *state)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/shim.pid", state);
        _cleanup_free_ char *s = slurp(p);
        return s ? (pid_t)atoi(s) : -1;
}

/* SIGKILL the container's process: 137, and nothing is left; on the way,
 * an exec in it, and the shim's RSS. */
static void test_exec_kill9(void)
{
        const char *args[] = {"sleep", "1000", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "kill", args, 0, 0) == 0);
        struct rec r, rx;
        rec_init(&r);
        rec_init(&rx);
        struct shim *s = NULL, *x = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        pid_t sp = shim_pid(c.state);
        CHECK(sp > 0 && kill(sp, 0) == 0);

        /* an exec: its own state dir, a process.json */
        char xstate[512], pj[512];
        snprintf(xstate, sizeof(xstate), "%s/exec1", c.dir);
        snprintf(pj, sizeof(pj), "%s/exec1.json", c.dir);
        CHECK(mkdir(xstate, 0700) == 0);
        json_t *p = json_pack("{s:[s,s,s], s:s, s:[s], s:b, s:{s:i, s:i}}", "args", "sh", "-c",
                              "echo exec-out; echo exec-err >&2; exit 5", "cwd", "/", "env",
                              "PATH=/bin:/usr/bin", "terminal", 0, "user", "uid", 0, "gid", 0);
        CHECK(json_dump_file(p, pj, 0) == 0);
        json_decref(p);
        struct shim_spec xs = {.shim_path = shim_bin,
                               .runtime = rt,
                               .runtime_root = c.root,
                               .state_dir = xstate,
                               .id = c.id,
                               .process_json = pj};
        CHECK(shim_spawn(&xs, &cbs, &rx, &x, &e) == 0);
        pid_t xpid = 0;
        int rc = shim_start(x, &xpid, &e);
        if (rc < 0)
                printf("# exec: %s\n", e->msg);
        CHECK(rc == 0 && xpid > 0 && xpid != pid);
        int xexited = rec_wait(&rx, 1, NULL, 5000);
        shim_free(x);
        CHECK(xexited && rx.code == 5);
        CHECK(strstr(rx.out, "exec-out\n") && strstr(rx.err, "exec-err\n"));
        CHECK(exists("%s/%s", xstate, "exit"));

        /* an exec with a tty (the console socket again, for `exec`) */
        snprintf(xstate, sizeof(xstate), "%s/exec2", c.dir);
        snprintf(pj, sizeof(pj), "%s/exec2.json", c.dir);
        CHECK(mkdir(xstate, 0700) == 0);
        p = json_pack("{s:[s,s,s], s:s, s:[s], s:b, s:{s:i, s:i}}", "args", "sh", "-c",
                      "tty; echo exec-tty; exit 6", "cwd", "/", "env", "PATH=/bin:/usr/bin",
                      "terminal", 1, "user", "uid", 0, "gid", 0);
        CHECK(json_dump_file(p, pj, 0) == 0);
        json_decref(p);
        xs.tty = 1;
        struct rec rt2;
        rec_init(&rt2);
        CHECK(shim_spawn(&xs, &cbs, &rt2, &x, &e) == 0);
        rc = shim_start(x, &xpid, &e);
        if (rc < 0)
                printf("# exec --tty: %s\n", e->msg);
        CHECK(rc == 0);
        xexited = rec_wait(&rt2, 1, NULL, 5000);
        shim_free(x);
        printf("# exec tty output: %s", rt2.out);
        CHECK(xexited && rt2.code == 6);
        CHECK(strstr(rt2.out, "/dev/pts/") && strstr(rt2.out, "exec-tty\r\n"));

        /* an exec of a missing binary: ENOENT and the runtime's message */
        snprintf(xstate, sizeof(xstate), "%s/exec3", c.dir);
        snprintf(pj, sizeof(pj), "%s/exec3.json", c.dir);
        CHECK(mkdir(xstate, 0700) == 0);
        p = json_pack("{s:[s], s:s, s:[s], s:b, s:{s:i, s:i}}", "args", "/nope-exec", "cwd", "/",
                      "env", "PATH=/bin:/usr/bin", "terminal", 0, "user", "uid", 0, "gid", 0);
        CHECK(json_dump_file(p, pj, 0) == 0);
        json_decref(p);
        xs.tty = 0;
        struct rec rt3;
        rec_init(&rt3);
        CHECK(shim_spawn(&xs, &cbs, &rt3, &x, &e) == 0);
        rc = shim_start(x, &xpid, &e);
        shim_free(x);
        CHECK(rc < 0);
        printf("# exec failed: [%d] %s\n", e->code, e->msg);
        CHECK(e->code == ENOENT && strstr(e->msg, "/nope-exec"));
        err_free(&e);

        /* the container still runs */
        CHECK(kill(pid, 0) == 0);
        long rss = rss_kb(sp);
        printf("# barge-shim RSS holding a container (%s): %ld kB\n", rtname, rss);
        CHECK(rss > 0 && rss < 1024);

        CHECK(kill(pid, SIGKILL) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(exited && r.code == 137);
        CHECK(nothing_left(&c));
        int64_t end = mono_ms() + 2000;
        while (!proc_gone(sp) && mono_ms() < end)
                usleep(20000);
        CHECK(proc_gone(sp));
}

/* SIGKILL the shim itself: the client hears of it (255, as Docker reports
 * a lost task), the container runs on; the runtime can still delete it */
static void test_shim_killed(void)
{
        const char *args[] = {"sleep", "1000", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "shimkill", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        pid_t sp = shim_pid(c.state);
        CHECK(sp > 0 && kill(sp, SIGKILL) == 0);
        int exited = rec_wait(&r, 1, NULL, 3000);
        shim_free(s);
        CHECK(exited && r.code == 255);
        CHECK(kill(pid, 0) == 0);
        CHECK(sh("%s --root %s delete --force %s", rt, c.root, c.id) == 0);
        int64_t end = mono_ms() + 2000;
        while (kill(pid, 0) == 0 && mono_ms() < end)
                usleep(20000);
        CHECK(!exists("%s/%s", c.root, c.id) && cgroup_gone(c.cg));
        /* its stale socket: nobody answers, ENOENT */
        err_free(&e);
        CHECK(shim_connect(c.state, &cbs, &r, &s, &e) < 0 && e->code == ENOENT);
}

/* the OOM killer ends the container: oom_killed in the exit */
static void test_oom(void)
{
        const char *args[] = {"tail", "/dev/zero", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "oom", args, 0, 0) == 0);
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "%s/config.json", c.bundle);
        json_t *j = json_load_file(cfg, 0, NULL);
        CHECK(j != NULL);
        json_object_set_new(json_object_get(j, "linux"), "resources",
                            json_pack("{s:{s:I, s:I}}", "memory", "limit", (json_int_t)16 << 20,
                                      "swap", (json_int_t)16 << 20));
        int dumped = json_dump_file(j, cfg, 0);
        json_decref(j);
        CHECK(dumped == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        int rc = shim_start(s, &pid, &e);
        if (rc < 0)
                printf("# start: %s\n", e->msg);
        CHECK(rc == 0);
        int exited = rec_wait(&r, 1, NULL, 10000);
        shim_free(s);
        CHECK(exited);
        printf("# oom: exit %d oom_killed %d\n", r.code, r.oom);
        CHECK(r.code == 137 && r.oom == 1);
        CHECK(nothing_left(&c));
}

/* barge-init as the container's PID 1: orphans are reaped */
static void test_init_reaps_in_container(void)
{
        const char *args[] = {"/sbin/barge-init",
                              "--",
                              "sh",
                              "-c",
                              "(sleep 0.1 &); (true &); (sh -c 'exit 0' &); sleep 0.5; "
                              "echo zombies=$(cat /proc/[0-9]*/stat | grep -c ') Z '); exit 4",
                              NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "init", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        printf("# %s", r.out);
        CHECK(exited && r.code == 4);
        CHECK(strstr(r.out, "zombies=0\n") != NULL);
        CHECK(nothing_left(&c));
}

/* barge-init as PID 1 gets SIGTERM from outside (blocked, so not dropped
 * as PID 1's default-action signals are) and hands it to the command */
static void test_init_signal_in_container(void)
{
        const char *args[] = {"/sbin/barge-init",
                              "--",
                              "sh",
                              "-c",
                              "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done",
                              NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "initsig", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        int ready = rec_wait(&r, 1, "ready\n", 5000);
        if (ready)
                kill(pid, SIGTERM);
        int exited = rec_wait(&r, 1, NULL, 5000);
        if (!exited)
                kill(pid, SIGKILL);
        rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(ready && exited && r.code == 42);
        CHECK(nothing_left(&c));
}

static void test_log_rotation(void)
{
        const char *args[] = {"sh", "-c",
                              "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "rot", args, 0, 0) == 0);
        c.spec.log_max_size = 2000;
        c.spec.log_max_file = 3;
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(exited && r.code == 0);
        struct stat st;
        CHECK(stat(c.log, &st) == 0 && st.st_size < 2000 + 200);
        CHECK(exists("%s%s", c.log, ".1") && exists("%s%s", c.log, ".2"));
        CHECK(!exists("%s%s", c.log, ".3"));
        _cleanup_free_ char *cur = slurp(c.log);
        CHECK(cur && strstr(cur, "line-299\\n"));
        CHECK(nothing_left(&c));
}

/* Docker splits lines at 16 KiB: partial entries without "\n" */
static void test_long_line(void)
{
        const char *args[] = {"sh", "-c", "head -c 20000 /dev/zero | tr '\\0' y; echo", NULL};
        struct ctr c;
        CHECK(ctr_make(&c, "long", args, 0, 0) == 0);
        struct rec r;
        rec_init(&r);
        struct shim *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(shim_spawn(&c.spec, &cbs, &r, &s, &e) == 0);
        pid_t pid = 0;
        CHECK(shim_start(s, &pid, &e) == 0);
        int exited = rec_wait(&r, 1, NULL, 5000);
        shim_free(s);
        CHECK(exited && r.code == 0);
        _cleanup_free_ char *log = slurp(c.log);
        CHECK(log != NULL);
        char *nl = strchr(log, '\n');
        CHECK(nl != NULL);
        *nl = '\0';
        json_t *j = json_loads(log, 0, NULL);
        CHECK(j != NULL);
        size_t n1 = strlen(json_string_value(json_object_get(j, "log")));
        json_decref(j);
        j = json_loads(nl + 1, 0, NULL);
        CHECK(j != NULL);
        const char *second = json_string_value(json_object_get(j, "log"));
        int ok =
            second && strlen(second) == 20000 - 16384 + 1 && second[strlen(second) - 1] == '\n';
        json_decref(j);
        CHECK(n1 == 16384);
        CHECK(ok);
        CHECK(nothing_left(&c));
}

/* ---- barge-init outside a container ---------------------------------------- */

static int run_init(const char *script, int sig_after_ready)
{
        int p[2];
        if (pipe(p) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                execl(init_bin, init_bin, "--", "/bin/sh", "-c", script, (char *)NULL);
                _exit(99);
        }
        close(p[1]);
        if (sig_after_ready) {
                char buf[64];
                ssize_t n = read(p[0], buf, sizeof(buf));
                (void)n;
                kill(pid, sig_after_ready);
        }
        int st;
        waitpid(pid, &st, 0);
        close(p[0]);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void test_init_exit_codes(void)
{
        CHECK(run_init("exit 3", 0) == 3);
        CHECK(run_init("kill -9 $$", 0) == 137);
        CHECK(run_init("exit 0", 0) == 0);
        int st;
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 2);
                execl(init_bin, init_bin, "/nonexistent-cmd", (char *)NULL);
                _exit(99);
        }
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
}

static void test_init_forwards_signals(void)
{
        CHECK(run_init("trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done", SIGTERM) ==
              42);
        CHECK(run_init("trap 'exit 43' USR1; echo ready; while :; do sleep 0.05; done", SIGUSR1) ==
              43);
        /* no trap: the command dies of it, init reports 128+N */
        CHECK(run_init("echo ready; exec sleep 10", SIGINT) == 128 + SIGINT);
}

/* orphans reparented to barge-init (a subreaper when not PID 1) are reaped */
static void test_init_reaps(void)
{
        int p[2];
        CHECK(pipe(p) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                execl(init_bin, init_bin, "--", "/bin/sh", "-c",
                      "(sleep 0.05 &); (true &); echo $$; sleep 0.5; exit 6", (char *)NULL);
                _exit(99);
        }
        close(p[1]);
        char buf[64] = {0};
        ssize_t n = read(p[0], buf, sizeof(buf) - 1);
        close(p[0]);
        CHECK(n > 0);
        usleep(300000);
        /* children of barge-init that are zombies */
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ps -o stat= --ppid %d | grep -q Z", (int)pid);
        int zombies = sh("%s", cmd) == 0;
        int st;
        waitpid(pid, &st, 0);
        CHECK(!zombies);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6);
}

/* ---- setup and the final sweep ------------------------------------------- */

static void cleanup(void)
{
        for (int i = 0; i < n_made; i++) {
                struct made *m = &made[i];
                pid_t sp = shim_pid(m->state);
                if (sp > 0)
                        kill(sp, SIGKILL);
                sh("%s --root %s delete --force %s >/dev/null 2>&1", m->rt, m->root, m->id);
                sh("for d in /sys/fs/cgroup/*%s /sys/fs/cgroup%s; do [ -d \"$d\" ] && rmdir "
                   "\"$d\"; "
                   "done 2>/dev/null",
                   m->cg, m->cg);
        }
        if (tmp[0] && !getenv("KEEP_TMP"))
                sh("rm -rf %s", tmp);
}

static void container_tests(void)
{
        RUN(test_output_log_exit);
        RUN(test_missing_executable);
        RUN(test_not_in_path);
        RUN(test_directory_not_executable);
        RUN(test_stdin_cat);
        RUN(test_tty_resize);
        RUN(test_long_state_dir);
        RUN(test_reconnect);
        RUN(test_exit_while_disconnected);
        RUN(test_exec_kill9);
        RUN(test_shim_killed);
        RUN(test_oom);
        RUN(test_init_reaps_in_container);
        RUN(test_init_signal_in_container);
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        const char *b = getenv("BARGE_BUILD");
        char build[400];
        if (b) {
                snprintf(build, sizeof(build), "%s", b);
        } else {
                /* the asan tests live in build/asan/tests: the binaries are in build/bin */
                snprintf(build, sizeof(build), "build");
        }
        snprintf(shim_bin, sizeof(shim_bin), "%s/bin/barge-shim", build);
        snprintf(init_bin, sizeof(init_bin), "%s/bin/barge-init", build);
        snprintf(rt_bin, sizeof(rt_bin), "%s/bin/barge-runtime", build);
        const char *why = NULL;
        if (geteuid() != 0)
                why = "needs root";
        else if (access(shim_bin, X_OK) || access(init_bin, X_OK) || access(rt_bin, X_OK))
                why = "barge-shim, barge-init or barge-runtime not built";
        else if (access("tests/lib/mkrootfs.sh", R_OK) || access("/bin/busybox", X_OK))
                why = "run from the repository root with busybox-static installed";
        if (why) {
                SKIP(test_shim, why);
                return DONE();
        }
        /* absolute paths: the shim runs in its state dir */
        char *abs;
        if ((abs = realpath(shim_bin, NULL)))
                snprintf(shim_bin, sizeof(shim_bin), "%s", abs), free(abs);
        if ((abs = realpath(init_bin, NULL)))
                snprintf(init_bin, sizeof(init_bin), "%s", abs), free(abs);
        if ((abs = realpath(rt_bin, NULL)))
                snprintf(rt_bin, sizeof(rt_bin), "%s", abs), free(abs);

        snprintf(tmp, sizeof(tmp), "/tmp/barge-shim-test.XXXXXX");
        if (!mkdtemp(tmp)) {
                tmp[0] = '\0';
                SKIP(test_shim, "mkdtemp failed");
                return DONE();
        }
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
        if (sh("sh tests/lib/mkrootfs.sh %s >/dev/null && mkdir -p %s/sbin && cp %s %s/sbin/",
               rootfs, rootfs, init_bin, rootfs) != 0) {
                SKIP(test_shim, "mkrootfs failed");
                cleanup();
                return DONE();
        }

        rt = rt_bin;
        rtname = "barge";
        container_tests();
        RUN(test_unstarted_shim_exits);
        RUN(test_log_rotation);
        RUN(test_long_line);
        RUN(test_init_exit_codes);
        RUN(test_init_forwards_signals);
        RUN(test_init_reaps);

        if (access("/usr/sbin/runc", X_OK) == 0) {
                printf("# the same with runc\n");
                rt = "/usr/sbin/runc";
                rtname = "runc";
                container_tests();
        } else {
                SKIP(runc_tests, "runc not installed");
        }
        cleanup();
        return DONE();
}

/*
 * The engine's container lifecycle against the real barge-shim and
 * barge-runtime: create/start/wait/inspect/list, stop/kill/restart,
 * pause, rename, remove and prune, restart policies and --rm, a daemon
 * restart with a container running, the root lock.  Needs root, the
 * built binaries and busybox-static (tests/lib/mkrootfs.sh); everything
 * lives under a temp dir with its own cgroup parent and is removed at the
 * end, also when a check fails.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/engine/engine.h"
#include "../../src/store/imageio.h"
#include "harness.h"

static char tmp[] = "/tmp/barge-engine-XXXXXX";
static char root[128], exec_root[128], cgparent[64];
static struct engine *eng;
static char rt_path[4096], shim_path[4096];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

static struct engine_opts opts(void)
{
        struct engine_opts o = {0};
        o.root = root;
        o.exec_root = exec_root;
        o.runtime = rt_path;
        o.shim_path = shim_path;
        o.cgroup_parent = cgparent;
        o.log_max_file = 1;
        return o;
}

static int setup(void)
{
        if (mkdtemp(tmp) == NULL)
                return -1;
        snprintf(root, sizeof(root), "%s/root", tmp);
        snprintf(exec_root, sizeof(exec_root), "%s/run", tmp);
        snprintf(cgparent, sizeof(cgparent), "/barge-test-engine-%d", (int)getpid());
        if (realpath("build/bin/barge-runtime", rt_path) == NULL ||
            realpath("build/bin/barge-shim", shim_path) == NULL)
                return -1;
        if (sh("sh tests/lib/mkrootfs.sh %s/rootfs >/dev/null && tar -C %s/rootfs -cf "
               "%s/rootfs.tar .",
               tmp, tmp, tmp) != 0)
                return -1;
        struct store *s = NULL;
        struct err *e = NULL;
        char id[DIGEST_LEN + 1];
        char tarp[256];
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar", tmp);
        int fd = open(tarp, O_RDONLY);
        int r = -1;
        if (fd >= 0 && store_open(root, &s, &e) == 0 && image_import(s, fd, "busybox", id, &e) == 0)
                r = 0;
        if (e)
                printf("# setup: %s\n", e->msg);
        err_free(&e);
        if (fd >= 0)
                close(fd);
        if (s)
                store_close(s);
        return r;
}

static void teardown(void)
{
        if (eng) {
                /* remove whatever a failed test left */
                json_t *all = NULL;
                struct err *e = NULL;
                if (engine_container_list(eng, 1, -1, 0, NULL, &all, &e) == 0) {
                        size_t i;
                        json_t *v;
                        json_array_foreach(all, i, v)
                        {
                                engine_container_remove(
                                    eng, json_string_value(json_object_get(v, "Id")), 1, 0, &e);
                                err_free(&e);
                        }
                        json_decref(all);
                }
                err_free(&e);
                engine_close(eng);
                eng = NULL;
        }
        sh("grep -q ' %s' /proc/self/mountinfo && awk '$5 ~ \"^%s\" {print $5}' "
           "/proc/self/mountinfo | sort -r | xargs -r umount -l",
           tmp, tmp);
        sh("for d in /sys/fs/cgroup%s /sys/fs/cgroup/*%s; do [ -d $d ] && "
           "find $d -depth -type d -exec rmdir {} + ; done 2>/dev/null",
           cgparent, cgparent);
        sh("rm -rf %s", tmp);
}

static json_t *body(const char *cmd, const char *extra_hc)
{
        json_error_t je;
        char buf[1024];
        snprintf(buf, sizeof(buf),
                 "{\"Image\": \"busybox\", \"Cmd\": [\"sh\", \"-c\", \"%s\"], "
                 "\"HostConfig\": {\"NetworkMode\": \"none\"%s%s}}",
                 cmd, extra_hc ? ", " : "", extra_hc ? extra_hc : "");
        json_t *b = json_loads(buf, 0, &je);
        if (b == NULL)
                printf("# bad body %s: %s\n", buf, je.text);
        return b;
}

static int create(const char *name, const char *cmd, const char *extra_hc, char id[65])
{
        struct err *e = NULL;
        json_t *b = body(cmd, extra_hc);
        json_t *w = json_array();
        int r = engine_container_create(eng, name, b, NULL, id, w, &e);
        if (r < 0)
                printf("# create: %s\n", e->msg);
        err_free(&e);
        json_decref(b);
        json_decref(w);
        return r;
}

static json_t *inspect(const char *ref)
{
        json_t *o = NULL;
        struct err *e = NULL;
        if (engine_container_inspect(eng, ref, 0, &o, &e) < 0) {
                printf("# inspect %s: %s\n", ref, e->msg);
                err_free(&e);
        }
        return o;
}

/* inspect, kept until the next call (for one-line lookups) */
static json_t *inspect_keep(const char *ref)
{
        static json_t *last;
        json_decref(last);
        last = inspect(ref);
        return last;
}

static const char *state_str(json_t *o, const char *k)
{
        return json_string_value(json_object_get(json_object_get(o, "State"), k));
}

static long long state_int(json_t *o, const char *k)
{
        return json_integer_value(json_object_get(json_object_get(o, "State"), k));
}

static int wait_status(const char *ref, const char *status, int ms)
{
        for (int i = 0; i < ms / 50; i++) {
                json_t *o = inspect(ref);
                int ok = o && strcmp(state_str(o, "Status"), status) == 0;
                json_decref(o);
                if (ok)
                        return 1;
                usleep(50000);
        }
        return 0;
}

static void test_run_and_wait(void)
{
        char id[65];
        struct err *e = NULL;
        CHECK(create("first", "echo hello; exit 3", NULL, id) == 0);
        json_t *o = inspect("first");
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "created");
        CHECK_STR(json_string_value(json_object_get(o, "Name")), "/first");
        CHECK_STR(state_str(o, "StartedAt"), "0001-01-01T00:00:00Z");
        CHECK_STR(json_string_value(json_object_get(o, "Path")), "sh");
        json_decref(o);
        CHECK(engine_container_start(eng, id, &e) == 0);
        int code = -1;
        char *msg = NULL;
        CHECK(engine_container_wait(eng, id, NULL, NULL, NULL, NULL, &code, &msg, &e) == 0);
        CHECK(code == 3);
        free(msg);
        o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "exited");
        CHECK(state_int(o, "ExitCode") == 3);
        CHECK(strcmp(state_str(o, "FinishedAt"), "0001-01-01T00:00:00Z") != 0);
        json_decref(o);
        /* the log has the output */
        char lp[512], *data = NULL;
        size_t len = 0;
        snprintf(lp, sizeof(lp), "%s/containers/%s/%s-json.log", root, id, id);
        CHECK(read_file(lp, 1 << 20, &data, &len, &e) == 0);
        CHECK(strstr(data, "hello") != NULL);
        free(data);

        json_t *l = NULL;
        CHECK(engine_container_list(eng, 0, -1, 0, NULL, &l, &e) == 0);
        CHECK(json_array_size(l) == 0);
        json_decref(l);
        CHECK(engine_container_list(eng, 1, -1, 0, NULL, &l, &e) == 0);
        CHECK(json_array_size(l) == 1);
        json_t *c0 = json_array_get(l, 0);
        CHECK_STR(json_string_value(json_object_get(c0, "Image")), "busybox");
        CHECK_STR(json_string_value(json_array_get(json_object_get(c0, "Names"), 0)), "/first");
        CHECK_STR(json_string_value(json_object_get(c0, "Command")), "sh -c 'echo hello; exit 3'");
        CHECK(str_has_prefix(json_string_value(json_object_get(c0, "Status")), "Exited (3) "));
        json_decref(l);

        json_t *f = json_pack("{s:[s]}", "exited", "3");
        CHECK(engine_container_list(eng, 1, -1, 0, f, &l, &e) == 0);
        CHECK(json_array_size(l) == 1);
        json_decref(l);
        json_decref(f);
        f = json_pack("{s:[s]}", "bogus", "x");
        CHECK(engine_container_list(eng, 1, -1, 0, f, &l, &e) < 0);
        CHECK(e->code == EINVAL);
        err_free(&e);
        json_decref(f);

        /* rmi asks who uses the image; /info counts */
        json_t *img = json_object_get(inspect_keep(id), "Image");
        int running = -1;
        char *user = engine_image_user(eng, json_string_value(img), &running);
        CHECK(user && strcmp(user, id) == 0 && running == 0);
        free(user);
        json_t *counts = engine_container_counts(eng);
        CHECK(json_integer_value(json_object_get(counts, "Containers")) == 1);
        CHECK(json_integer_value(json_object_get(counts, "ContainersStopped")) == 1);
        json_decref(counts);

        /* start again: same container, a second run */
        CHECK(engine_container_start(eng, "first", &e) == 0);
        CHECK(engine_container_wait(eng, "first", "not-running", NULL, NULL, NULL, &code, NULL, &e) == 0);
        CHECK(code == 3);
        CHECK(engine_container_remove(eng, "first", 0, 0, &e) == 0);
        CHECK(engine_container_inspect(eng, id, 0, &o, &e) < 0 && e->code == ENOENT);
        err_free(&e);
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/containers/%s", root, id);
        CHECK(access(dir, F_OK) < 0);
}

static void test_names_and_errors(void)
{
        char id[65], id2[65];
        struct err *e = NULL;
        CHECK(create("dup", "true", NULL, id) == 0);
        json_t *b = body("true", NULL);
        json_t *w = json_array();
        int r = engine_container_create(eng, "dup", b, NULL, id2, w, &e);
        CHECK(r < 0 && e->code == EEXIST);
        CHECK(strstr(e->msg, "is already in use by container") != NULL);
        err_free(&e);
        r = engine_container_create(eng, "bad name!", b, NULL, id2, w, &e);
        CHECK(r < 0 && e->code == EINVAL);
        err_free(&e);
        json_object_set_new(b, "Image", json_string("nope"));
        r = engine_container_create(eng, NULL, b, NULL, id2, w, &e);
        CHECK(r < 0 && e->code == ENOENT);
        CHECK(str_has_prefix(e->msg, "No such image: nope:latest"));
        err_free(&e);
        json_decref(b);
        json_decref(w);
        /* generated names */
        CHECK(create(NULL, "true", NULL, id2) == 0);
        json_t *o = inspect(id2);
        CHECK(o);
        const char *n = json_string_value(json_object_get(o, "Name"));
        CHECK(n && n[0] == '/' && strchr(n, '_') != NULL);
        json_decref(o);
        /* rename */
        CHECK(engine_container_rename(eng, id2, "dup", &e) < 0 && e->code == EEXIST);
        err_free(&e);
        CHECK(engine_container_rename(eng, id2, "renamed", &e) == 0);
        o = inspect("renamed");
        CHECK(o);
        json_decref(o);
        /* prefix lookup */
        char pre[13];
        snprintf(pre, sizeof(pre), "%.12s", id2);
        o = inspect(pre);
        CHECK(o);
        json_decref(o);
        /* not running */
        CHECK(engine_container_kill(eng, "dup", NULL, &e) < 0 && e->code == EBUSY);
        err_free(&e);
        CHECK(engine_container_stop(eng, "dup", 1, NULL, &e) < 0 && e->code == EALREADY);
        err_free(&e);
        /* a command that does not exist: 127, the container stays created */
        json_t *bb = json_pack("{s:s, s:[s], s:{s:s}}", "Image", "busybox", "Cmd", "/nope",
                               "HostConfig", "NetworkMode", "none");
        w = json_array();
        char id3[65];
        CHECK(engine_container_create(eng, "nocmd", bb, NULL, id3, w, &e) == 0);
        json_decref(bb);
        json_decref(w);
        CHECK(engine_container_start(eng, "nocmd", &e) < 0);
        printf("# start error: %s (%d)\n", e->msg, e->code);
        err_free(&e);
        o = inspect("nocmd");
        CHECK(o);
        CHECK(state_int(o, "ExitCode") == 127);
        CHECK(strlen(state_str(o, "Error")) > 0);
        json_decref(o);
        /* prune removes all three stopped ones */
        json_t *rep = NULL;
        CHECK(engine_container_prune(eng, NULL, &rep, &e) == 0);
        CHECK(json_array_size(json_object_get(rep, "ContainersDeleted")) == 3);
        json_decref(rep);
}

/* Malformed requests fail (or work) without crashing and leave nothing. */
static void test_bad_input(void)
{
        static const char *const bodies[] = {
            "{\"Image\": 5}",
            "{\"Image\": \"busybox\", \"Cmd\": \"true\"}",
            "{\"Image\": \"busybox\", \"Cmd\": [1, 2]}",
            "{\"Image\": \"busybox\", \"Cmd\": [\"true\"], \"HostConfig\": []}",
            "{\"Image\": \"busybox\", \"Cmd\": [\"true\"], \"Labels\": [1]}",
            "{\"Image\": \"busybox\", \"Cmd\": [\"true\"], \"HostConfig\": "
            "{\"RestartPolicy\": {\"Name\": 3}, \"LogConfig\": {\"Config\": 7}}}",
            "{\"Image\": \"busybox\", \"Cmd\": [\"true\"], \"HostConfig\": "
            "{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"max-size\": "
            "\"lots\"}}}}",
            "{\"Image\": \"\", \"Cmd\": [\"true\"]}",
            "[]",
        };
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct err *e = NULL;
                json_t *b = json_loads(bodies[i], 0, NULL);
                json_t *w = json_array();
                char id[65];
                int r = engine_container_create(eng, NULL, b, NULL, id, w, &e);
                if (r == 0) {
                        engine_container_start(eng, id, &e);
                        err_free(&e);
                        int code;
                        engine_container_wait(eng, id, NULL, NULL, NULL, NULL, &code, NULL, &e);
                        err_free(&e);
                        json_t *o = inspect(id);
                        CHECK(o);
                        json_decref(o);
                        json_t *l = NULL;
                        CHECK(engine_container_list(eng, 1, -1, 1, NULL, &l, &e) == 0);
                        json_decref(l);
                        CHECK(engine_container_remove(eng, id, 1, 0, &e) == 0);
                } else {
                        printf("# body %zu: %s\n", i, e->msg);
                }
                err_free(&e);
                json_decref(b);
                json_decref(w);
        }
        struct err *e = NULL;
        CHECK(engine_container_inspect(eng, "", 0, &(json_t *){NULL}, &e) < 0);
        err_free(&e);
        CHECK(engine_container_kill(eng, "nope", "KILL", &e) < 0 && e->code == ENOENT);
        err_free(&e);
        CHECK(engine_container_wait(eng, "nope", "bogus", NULL, NULL, NULL, NULL, NULL, &e) < 0);
        err_free(&e);
        json_t *f = json_loads("{\"label\": 5, \"status\": {\"running\": true}}", 0, NULL);
        json_t *l = NULL;
        CHECK(engine_container_list(eng, 1, -1, 0, f, &l, &e) == 0);
        json_decref(l);
        json_decref(f);
        f = json_loads("[1]", 0, NULL);
        CHECK(engine_container_list(eng, 1, -1, 0, f, &l, &e) < 0 && e->code == EINVAL);
        err_free(&e);
        json_decref(f);
}

static void test_stop_kill_pause_restart(void)
{
        char id[65];
        struct err *e = NULL;
        CHECK(create("sleeper", "sleep 100", NULL, id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        CHECK(engine_container_start(eng, id, &e) < 0 && e->code == EALREADY);
        err_free(&e);
        json_t *o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "running");
        CHECK(state_int(o, "Pid") > 0);
        json_decref(o);
        json_t *l = NULL;
        CHECK(engine_container_list(eng, 0, -1, 0, NULL, &l, &e) == 0);
        CHECK(json_array_size(l) == 1);
        CHECK(str_has_prefix(json_string_value(json_object_get(json_array_get(l, 0), "Status")),
                             "Up "));
        json_decref(l);

        CHECK(engine_container_pause(eng, id, &e) == 0);
        o = inspect(id);
        CHECK(o && strcmp(state_str(o, "Status"), "paused") == 0);
        json_decref(o);
        CHECK(engine_container_pause(eng, id, &e) < 0 && e->code == EBUSY);
        err_free(&e);
        CHECK(engine_container_unpause(eng, id, &e) == 0);

        CHECK(engine_container_restart(eng, id, 1, &e) == 0);
        o = inspect(id);
        CHECK(o && strcmp(state_str(o, "Status"), "running") == 0);
        json_decref(o);

        /* sh as pid 1 ignores SIGTERM: the timeout, then SIGKILL */
        CHECK(engine_container_stop(eng, id, 1, NULL, &e) == 0);
        o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "exited");
        CHECK(state_int(o, "ExitCode") == 137);
        json_decref(o);

        CHECK(engine_container_start(eng, id, &e) == 0);
        CHECK(engine_container_remove(eng, id, 0, 0, &e) < 0 && e->code == EBUSY);
        err_free(&e);
        CHECK(engine_container_kill(eng, id, "BOGUS", &e) < 0 && e->code == EINVAL);
        err_free(&e);
        CHECK(engine_container_kill(eng, id, "SIGKILL", &e) == 0);
        CHECK(wait_status(id, "exited", 5000));
        CHECK(engine_container_start(eng, id, &e) == 0);
        CHECK(engine_container_remove(eng, id, 1, 0, &e) == 0);
}

static void test_restart_policy(void)
{
        char id[65];
        struct err *e = NULL;
        CHECK(create("flaky", "exit 1",
                     "\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 2}",
                     id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        /* 1 run + 2 restarts (100 ms, 200 ms backoff) */
        int ok = 0;
        for (int i = 0; i < 100 && !ok; i++) {
                json_t *o = inspect(id);
                ok = o && json_integer_value(json_object_get(o, "RestartCount")) == 2 &&
                     strcmp(state_str(o, "Status"), "exited") == 0;
                json_decref(o);
                if (!ok)
                        usleep(100000);
        }
        CHECK(ok);
        usleep(500000);
        json_t *o = inspect(id);
        CHECK(o);
        CHECK(json_integer_value(json_object_get(o, "RestartCount")) == 2);
        CHECK(state_int(o, "ExitCode") == 1);
        json_decref(o);
        CHECK(engine_container_remove(eng, id, 0, 0, &e) == 0);

        /* --rm: gone after it exits */
        CHECK(create("tmp", "exit 0", "\"AutoRemove\": true", id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        int code = -1;
        CHECK(engine_container_wait(eng, id, "removed", NULL, NULL, NULL, &code, NULL, &e) == 0);
        CHECK(code == 0);
        CHECK(engine_container_inspect(eng, id, 0, &o, &e) < 0 && e->code == ENOENT);
        err_free(&e);

        /* always: stop ends it for good */
        CHECK(create("always", "sleep 0.2; exit 2", "\"RestartPolicy\": {\"Name\": \"always\"}",
                     id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        ok = 0;
        for (int i = 0; i < 100 && !ok; i++) {
                o = inspect(id);
                ok = o && json_integer_value(json_object_get(o, "RestartCount")) >= 1;
                json_decref(o);
                if (!ok)
                        usleep(100000);
        }
        CHECK(ok);
        CHECK(engine_container_stop(eng, id, 1, NULL, &e) == 0 || (err_free(&e), 1));
        o = inspect(id);
        CHECK(o);
        int rc = (int)json_integer_value(json_object_get(o, "RestartCount"));
        json_decref(o);
        usleep(700000);
        o = inspect(id);
        CHECK(o);
        CHECK(json_integer_value(json_object_get(o, "RestartCount")) == rc);
        CHECK(strcmp(state_str(o, "Status"), "exited") == 0);
        json_decref(o);
        CHECK(engine_container_remove(eng, id, 1, 0, &e) == 0);
}

static void *killer(void *arg)
{
        usleep(300000);
        struct err *e = NULL;
        engine_container_kill(eng, arg, "KILL", &e);
        err_free(&e);
        return NULL;
}

static void test_update_and_next_exit(void)
{
        char id[65];
        struct err *e = NULL;
        CHECK(create("upd", "sleep 100", NULL, id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        json_t *u = json_pack("{s:I, s:{s:s, s:i}}", "Memory", (json_int_t)64 << 20,
                              "RestartPolicy", "Name", "unless-stopped", "MaximumRetryCount", 0);
        json_t *out = NULL;
        int r = engine_container_update(eng, id, u, &out, &e);
        if (r < 0)
                printf("# update: %s\n", e->msg);
        json_decref(u);
        CHECK(r == 0);
        CHECK(json_is_array(json_object_get(out, "Warnings")));
        json_decref(out);
        char path[512], *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/%s/memory.max", cgparent, id);
        if (access(path, F_OK) < 0)
                snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/%s/memory.limit_in_bytes",
                         cgparent, id);
        if (read_file(path, 64, &data, &len, &e) == 0) {
                CHECK(atoll(data) == 64LL << 20);
                free(data);
        } else {
                printf("# %s\n", e->msg);
                err_free(&e);
        }
        json_t *o = inspect(id);
        CHECK(o);
        CHECK_STR(json_string_value(json_object_get(
                      json_object_get(json_object_get(o, "HostConfig"), "RestartPolicy"), "Name")),
                  "unless-stopped");
        CHECK(json_integer_value(json_object_get(json_object_get(o, "HostConfig"), "Memory")) ==
              64LL << 20);
        json_decref(o);
        /* a bad value is refused and changes nothing */
        u = json_pack("{s:I}", "Memory", (json_int_t)1024);
        CHECK(engine_container_update(eng, id, u, &out, &e) < 0 && e->code == EINVAL);
        err_free(&e);
        json_decref(u);

        /* next-exit: the exit after the call, by a kill from another thread */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, killer, id) == 0);
        int code = -1;
        r = engine_container_wait(eng, id, "next-exit", NULL, NULL, NULL, &code, NULL, &e);
        pthread_join(t, NULL);
        CHECK(r == 0);
        CHECK(code == 137);
        /* killed by the user: unless-stopped does not bring it back */
        usleep(300000);
        o = inspect(id);
        CHECK(o && strcmp(state_str(o, "Status"), "exited") == 0);
        json_decref(o);
        CHECK(engine_container_remove(eng, id, 0, 0, &e) == 0);
}

static int collect(void *ctx, json_t *ev)
{
        if (ev)
                json_array_append((json_t *)ctx, ev);
        return 0;
}

static void test_events(void)
{
        struct err *e = NULL;
        json_t *evs = json_array();
        json_t *f = json_pack("{s:[s], s:[s]}", "type", "container", "event", "destroy");
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        CHECK(engine_events(eng, 1, now, f, collect, evs, &e) == 0);
        json_decref(f);
        CHECK(json_array_size(evs) >= 3);
        json_t *ev = json_array_get(evs, 0);
        CHECK_STR(json_string_value(json_object_get(ev, "Action")), "destroy");
        CHECK_STR(json_string_value(json_object_get(ev, "scope")), "local");
        CHECK(json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"),
                              "name") != NULL);
        json_decref(evs);
}

static void test_reopen(void)
{
        char id[65];
        struct err *e = NULL;
        CHECK(create("survivor", "sleep 100", NULL, id) == 0);
        CHECK(engine_container_start(eng, id, &e) == 0);
        json_t *o = inspect(id);
        CHECK(o);
        long long pid = state_int(o, "Pid");
        json_decref(o);

        /* a second engine on the same root is refused */
        struct engine *other = NULL;
        struct engine_opts op = opts();
        CHECK(engine_open(&op, &other, &e) < 0 && e->code == EBUSY);
        CHECK(strstr(e->msg, "another barged") != NULL);
        err_free(&e);

        engine_close(eng);
        eng = NULL;
        CHECK(kill((pid_t)pid, 0) == 0);
        CHECK(engine_open(&op, &eng, &e) == 0);
        o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "running");
        CHECK(state_int(o, "Pid") == pid);
        json_decref(o);
        CHECK(engine_container_kill(eng, id, "KILL", &e) == 0);
        CHECK(wait_status(id, "exited", 5000));
        o = inspect(id);
        CHECK(o);
        CHECK(state_int(o, "ExitCode") == 137);
        json_decref(o);

        /* exits while barged is away are recorded at open */
        CHECK(engine_container_start(eng, id, &e) == 0);
        o = inspect(id);
        CHECK(o);
        pid = state_int(o, "Pid");
        json_decref(o);
        engine_close(eng);
        eng = NULL;
        kill((pid_t)pid, SIGKILL);
        usleep(500000);
        CHECK(engine_open(&op, &eng, &e) == 0);
        o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "exited");
        CHECK(state_int(o, "ExitCode") == 137);
        json_decref(o);

        /* barged died between starting a process and recording it: the
         * record says "created", the shim runs; open adopts it */
        CHECK(engine_container_start(eng, id, &e) == 0);
        engine_close(eng);
        eng = NULL;
        char cj[512];
        snprintf(cj, sizeof(cj), "%s/containers/%s/container.json", root, id);
        json_t *rec = json_load_file(cj, 0, NULL);
        CHECK(rec);
        json_object_set_new(json_object_get(rec, "State"), "Status", json_string("created"));
        CHECK(json_dump_file(rec, cj, 0) == 0);
        json_decref(rec);
        CHECK(engine_open(&op, &eng, &e) == 0);
        CHECK(wait_status(id, "running", 1000));
        CHECK(engine_container_stop(eng, id, 0, NULL, &e) == 0);
        o = inspect(id);
        CHECK(o);
        CHECK_STR(state_str(o, "Status"), "exited");
        json_decref(o);
        CHECK(engine_container_remove(eng, id, 0, 0, &e) == 0);

        /* a directory without container.json is debris: swept at open */
        engine_close(eng);
        eng = NULL;
        char junk[512];
        snprintf(junk, sizeof(junk), "%s/containers/%064d", root, 7);
        CHECK(mkdir(junk, 0700) == 0);
        CHECK(engine_open(&op, &eng, &e) == 0);
        CHECK(access(junk, F_OK) < 0);
}

static void test_many_list(void)
{
        struct err *e = NULL;
        char id[65];
        for (int i = 0; i < 100; i++)
                CHECK(create(NULL, "true", NULL, id) == 0);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        json_t *l = NULL;
        CHECK(engine_container_list(eng, 1, -1, 0, NULL, &l, &e) == 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        size_t n = json_array_size(l);
        json_decref(l);
        if (n != 100)
                printf("# listed %zu\n", n);
        CHECK(n == 100);
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        printf("# list of 100: %ld ms\n", ms);
        CHECK(ms < 50);
        CHECK(engine_container_list(eng, 1, 5, 0, NULL, &l, &e) == 0);
        CHECK(json_array_size(l) == 5);
        json_decref(l);
        json_t *rep = NULL;
        CHECK(engine_container_prune(eng, NULL, &rep, &e) == 0);
        CHECK(json_array_size(json_object_get(rep, "ContainersDeleted")) == 100);
        json_decref(rep);
}

/* After every container is removed: no mount under the temp dir, no
 * container cgroup under our parent, no shim of ours. */
static void test_nothing_left(void)
{
        json_t *l = NULL;
        struct err *e = NULL;
        CHECK(engine_container_list(eng, 1, -1, 0, NULL, &l, &e) == 0);
        CHECK(json_array_size(l) == 0);
        json_decref(l);
        CHECK(sh("grep -q ' %s' /proc/self/mountinfo", tmp) != 0);
        CHECK(sh("ls -d /sys/fs/cgroup%s/*/ /sys/fs/cgroup/*%s/*/ 2>/dev/null | grep -q .",
                 cgparent, cgparent) != 0);
        CHECK(sh("pgrep -f '[b]arge-shim.*%s' >/dev/null", tmp) != 0);
}

int main(void)
{
        if (geteuid() != 0 || access("build/bin/barge-shim", X_OK) != 0 ||
            access("build/bin/barge-runtime", X_OK) != 0 || access("/bin/busybox", X_OK) != 0) {
                SKIP(test_engine, "needs root, build/bin/barge-shim, barge-runtime, busybox");
                return DONE();
        }
        signal(SIGPIPE, SIG_IGN);
        if (setup() < 0) {
                printf("# setup failed\n");
                teardown();
                return 1;
        }
        struct engine_opts o = opts();
        struct err *e = NULL;
        if (engine_open(&o, &eng, &e) < 0) {
                printf("# engine_open: %s\n", e->msg);
                err_free(&e);
                teardown();
                return 1;
        }
        RUN(test_run_and_wait);
        RUN(test_names_and_errors);
        RUN(test_bad_input);
        RUN(test_stop_kill_pause_restart);
        RUN(test_restart_policy);
        RUN(test_update_and_next_exit);
        RUN(test_events);
        RUN(test_reopen);
        RUN(test_many_list);
        RUN(test_nothing_left);
        teardown();
        return DONE();
}

/*
 * The engine's I/O side against real containers (needs root, overlayfs,
 * build/bin/barge-runtime and barge-shim): logs (tail, since, timestamps,
 * follow), attach (output, stdin, StdinOnce, stdin sent before the start,
 * detach keys) over a
 * socketpair standing in for the hijacked connection, exec (exit codes,
 * missing binary, refused in a stopped container), healthchecks, stats,
 * top, archive stat/get/put (and hostile tars refused), changes.  Each
 * test uses an engine on a temp root; everything is removed at the end.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/engine/engine.h"
#include "../../src/store/imageio.h"
#include "harness.h"

static char tmp[64];
static char root[128], exec_root[128];
static struct engine *eng;
static char bindir[512];
static char cgparent[64];

static int sh(const char *cmd)
{
        int r = system(cmd);
        return r == 0 ? 0 : -1;
}

static void msleep(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

static int64_t now_ns(void)
{
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int setup(void)
{
        char cwd[400];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
                return -1;
        const char *b = getenv("BARGE_BUILD"); /* tests/run.sh sets it */
        if (b != NULL && *b)
                snprintf(bindir, sizeof(bindir), "%s/bin", b);
        else
                snprintf(bindir, sizeof(bindir), "%s/build/bin", cwd);
        snprintf(tmp, sizeof(tmp), "/tmp/barge-eio-XXXXXX");
        if (mkdtemp(tmp) == NULL)
                return -1;
        snprintf(root, sizeof(root), "%s/root", tmp);
        snprintf(cgparent, sizeof(cgparent), "/%s", tmp + 5);
        snprintf(exec_root, sizeof(exec_root), "%s/run", tmp);
        char cmd[1024];
        snprintf(
            cmd, sizeof(cmd),
            "tests/lib/mkrootfs.sh %s/rootfs >/dev/null && tar -C %s/rootfs -cf %s/rootfs.tar .",
            tmp, tmp, tmp);
        if (sh(cmd) < 0)
                return -1;
        _cleanup_free_ char *runtime = xasprintf("%s/barge-runtime", bindir);
        _cleanup_free_ char *shim = xasprintf("%s/barge-shim", bindir);
        _cleanup_free_ char *init = xasprintf("%s/barge-init", bindir);
        struct engine_opts o = {
            .root = root,
            .exec_root = exec_root,
            .runtime = runtime,
            .shim_path = shim,
            .init_path = init,
            .cgroup_parent = cgparent,
            .log_max_file = 1,
        };
        _cleanup_err_ struct err *e = NULL;
        if (engine_open(&o, &eng, &e) < 0) {
                printf("# engine_open: %s\n", e->msg);
                return -1;
        }
        _cleanup_free_ char *tarp = xasprintf("%s/rootfs.tar", tmp);
        int fd = open(tarp, O_RDONLY | O_CLOEXEC);
        char image_id[80];
        struct store *s = engine_store_lock(eng);
        int r = image_import(s, fd, "busybox:latest", image_id, &e);
        engine_store_unlock(eng);
        close(fd);
        if (r < 0) {
                printf("# import: %s\n", e->msg);
                return -1;
        }
        return 0;
}

static void teardown(void)
{
        if (eng != NULL) {
                json_t *list = NULL;
                _cleanup_err_ struct err *e = NULL;
                if (engine_container_list(eng, 1, -1, 0, NULL, &list, &e) == 0) {
                        size_t i;
                        json_t *v;
                        json_array_foreach(list, i, v)
                        {
                                _cleanup_err_ struct err *e2 = NULL;
                                engine_container_remove(
                                    eng, json_string_value(json_object_get(v, "Id")), 1, 1, &e2);
                        }
                        json_decref(list);
                }
                engine_close(eng);
        }
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "grep -o ' %s[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l "
                 "2>/dev/null; rm -rf %s; find /sys/fs/cgroup -maxdepth 4 -depth -type d "
                 "-path '*%s*' -exec rmdir {} + 2>/dev/null",
                 tmp, tmp, cgparent);
        if (tmp[0])
                sh(cmd);
}

/* create (and start unless !start) a container from a JSON body */
static int run(const char *name, const char *body_json, int start, char id[65])
{
        _cleanup_err_ struct err *e = NULL;
        json_t *body = json_loads(body_json, 0, NULL);
        if (body == NULL) {
                printf("# bad json %s\n", body_json);
                return -1;
        }
        json_object_set_new(body, "Image", json_string("busybox"));
        json_t *w = json_array();
        int r = engine_container_create(eng, name, body, NULL, id, w, &e);
        json_decref(body);
        json_decref(w);
        if (r < 0) {
                printf("# create: %s\n", e->msg);
                return -1;
        }
        if (start && engine_container_start(eng, id, &e) < 0) {
                printf("# start: %s\n", e->msg);
                return -1;
        }
        return 0;
}

static int wait_exit(const char *id)
{
        int code = -1;
        char *msg = NULL;
        _cleanup_err_ struct err *e = NULL;
        engine_container_wait(eng, id, "not-running", NULL, NULL, NULL, &code, &msg, &e);
        free(msg);
        return code;
}

static void rm_container(const char *id)
{
        _cleanup_err_ struct err *e = NULL;
        engine_container_remove(eng, id, 1, 1, &e);
}

/* ---- logs ---- */

struct collect {
        char buf[8192];
        size_t len;
        int streams[64];
        int n;
};

static int collect_out(void *ctx, int stream, const void *buf, size_t n)
{
        struct collect *c = ctx;
        if (c->len + n >= sizeof(c->buf))
                return -1;
        memcpy(c->buf + c->len, buf, n);
        c->len += n;
        c->buf[c->len] = '\0';
        if (c->n < 64)
                c->streams[c->n++] = stream;
        return 0;
}

static void test_logs(void)
{
        char id[65];
        CHECK(run("logs1",
                  "{\"Cmd\": [\"sh\", \"-c\", \"for i in 1 2 3 4 5; do echo line$i; done; "
                  "echo err >&2\"]}",
                  1, id) == 0);
        CHECK(wait_exit(id) == 0);
        _cleanup_err_ struct err *e = NULL;
        struct collect c = {0};
        struct engine_logs_opts o = {.out = 1, .err = 1, .tail = -1};
        CHECK(engine_container_logs(eng, id, &o, collect_out, &c, &e) == 0);
        CHECK_STR(c.buf, "line1\nline2\nline3\nline4\nline5\nerr\n");
        CHECK(c.n == 6 && c.streams[0] == 1 && c.streams[5] == 2);

        struct collect t = {0};
        o.tail = 2;
        CHECK(engine_container_logs(eng, id, &o, collect_out, &t, &e) == 0);
        CHECK_STR(t.buf, "line5\nerr\n");

        struct collect so = {0};
        o.tail = -1;
        o.err = 0;
        CHECK(engine_container_logs(eng, id, &o, collect_out, &so, &e) == 0);
        CHECK_STR(so.buf, "line1\nline2\nline3\nline4\nline5\n");

        struct collect none = {0};
        o.since = now_ns() + 1000000000LL;
        CHECK(engine_container_logs(eng, id, &o, collect_out, &none, &e) == 0);
        CHECK(none.len == 0);

        struct collect ts = {0};
        o.since = 0;
        o.tail = 1;
        o.err = 1;
        o.timestamps = 1;
        CHECK(engine_container_logs(eng, id, &o, collect_out, &ts, &e) == 0);
        /* 2026-11-28T01:02:03.123456789Z err */
        CHECK(ts.len == 31 + 4);
        CHECK(ts.buf[4] == '-' && ts.buf[10] == 'T' && ts.buf[19] == '.' && ts.buf[29] == 'Z');
        CHECK(strcmp(ts.buf + 30, " err\n") == 0);
        rm_container(id);
}

static void test_logs_follow(void)
{
        char id[65];
        CHECK(run("logs2", "{\"Cmd\": [\"sh\", \"-c\", \"echo a; sleep 1; echo b\"]}", 1, id) == 0);
        _cleanup_err_ struct err *e = NULL;
        struct collect c = {0};
        struct engine_logs_opts o = {.out = 1, .err = 1, .tail = -1, .follow = 1};
        int64_t t0 = now_ns();
        CHECK(engine_container_logs(eng, id, &o, collect_out, &c, &e) == 0);
        CHECK(now_ns() - t0 > 500000000LL); /* it waited for "b" */
        CHECK_STR(c.buf, "a\nb\n");
        rm_container(id);
}

/* rotated files (max-size 1k, 3 files): tail spans them, order holds */
static void test_logs_rotated(void)
{
        char id[65];
        CHECK(run("logs3",
                  "{\"Cmd\": [\"sh\", \"-c\", \"i=100; while [ $i -lt 200 ]; do echo l$i; "
                  "i=$((i+1)); done\"], \"HostConfig\": {\"LogConfig\": {\"Type\": "
                  "\"json-file\", \"Config\": {\"max-size\": \"1k\", \"max-file\": \"3\"}}}}",
                  1, id) == 0);
        CHECK(wait_exit(id) == 0);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "test -e %s/containers/%s/%s-json.log.1", root, id, id);
        CHECK(sh(cmd) == 0); /* it did rotate */
        snprintf(cmd, sizeof(cmd),
                 "cat %s/containers/%s/%s-json.log* | wc -l | sed 's/^/# on disk: /'", root, id,
                 id);
        sh(cmd);
        _cleanup_err_ struct err *e = NULL;
        struct collect *c = xcalloc(1, sizeof(*c));
        struct engine_logs_opts o = {.out = 1, .err = 1, .tail = -1};
        int r = engine_container_logs(eng, id, &o, collect_out, c, &e);
        /* consecutive, ending with l199 */
        int ok = r == 0 && c->len > 0;
        int prev = -1, count = 0;
        for (char *p = c->buf; ok && *p; p = strchr(p, '\n') + 1) {
                int v = atoi(p + 1);
                if (p[0] != 'l' || (prev >= 0 && v != prev + 1))
                        ok = 0;
                prev = v;
                count++;
        }
        printf("# %d lines kept, last l%d\n", count, prev);
        free(c);
        CHECK(ok && prev == 199 && count < 100);

        c = xcalloc(1, sizeof(*c));
        o.tail = 20;
        r = engine_container_logs(eng, id, &o, collect_out, c, &e);
        ok = r == 0 && strncmp(c->buf, "l180\n", 5) == 0 && c->n == 20;
        free(c);
        CHECK(ok);
        rm_container(id);
}

/* follow across rotations: every line once, in order */
static void test_logs_follow_rotated(void)
{
        char id[65];
        CHECK(run("logs4",
                  "{\"Cmd\": [\"sh\", \"-c\", \"sleep 0.3; i=100; while [ $i -lt 200 ]; do "
                  "echo l$i; usleep 10000; i=$((i+1)); done\"], \"HostConfig\": {\"LogConfig\": "
                  "{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1k\", \"max-file\": "
                  "\"3\"}}}}",
                  1, id) == 0);
        _cleanup_err_ struct err *e = NULL;
        struct collect *c = xcalloc(1, sizeof(*c));
        struct engine_logs_opts o = {.out = 1, .err = 1, .tail = -1, .follow = 1};
        int r = engine_container_logs(eng, id, &o, collect_out, c, &e);
        int ok = r == 0 && c->len > 0, prev = 99, count = 0;
        for (char *p = c->buf; ok && *p; p = strchr(p, '\n') + 1) {
                int v = atoi(p + 1);
                if (p[0] != 'l' || v != prev + 1)
                        ok = 0;
                prev = v;
                count++;
        }
        printf("# followed %d lines, last l%d\n", count, prev);
        free(c);
        CHECK(ok && count == 100);
        rm_container(id);
}

/* ---- attach ---- */

struct att {
        const char *id;
        int fd;
        const char *keys;
        int r;
        pthread_t t;
};

static void *attach_thread(void *arg)
{
        struct att *a = arg;
        struct engine_attach_opts o = {
            .in = 1, .out = 1, .err = 1, .stream = 1, .detach_keys = a->keys};
        _cleanup_err_ struct err *e = NULL;
        a->r = engine_container_attach(eng, a->id, &o, a->fd, &e);
        if (a->r < 0)
                printf("# attach: %s\n", e->msg);
        return NULL;
}

/* read one multiplexed frame, with a timeout */
static int read_frame(int fd, int *stream, char *buf, size_t cap)
{
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        unsigned char h[8];
        if (read_full(fd, h, 8) != 8)
                return -1;
        size_t n = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
        if (n >= cap || read_full(fd, buf, n) != (ssize_t)n)
                return -1;
        buf[n] = '\0';
        *stream = h[0];
        return (int)n;
}

static int container_status(const char *id, char *out, size_t cap)
{
        json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (engine_container_inspect(eng, id, 0, &j, &e) < 0)
                return -1;
        const char *s = json_string_value(json_object_get(json_object_get(j, "State"), "Status"));
        snprintf(out, cap, "%s", s ? s : "");
        json_decref(j);
        return 0;
}

static void test_attach(void)
{
        char id[65];
        CHECK(run("att1", "{\"Cmd\": [\"cat\"], \"OpenStdin\": true, \"StdinOnce\": true}", 0,
                  id) == 0);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct att a = {id, sv[0], NULL, -2, 0};
        pthread_create(&a.t, NULL, attach_thread, &a);
        msleep(200);
        _cleanup_err_ struct err *e = NULL;
        CHECK(engine_container_start(eng, id, &e) == 0);
        CHECK(write(sv[1], "hello\n", 6) == 6);
        char buf[256];
        int stream = 0;
        int n = read_frame(sv[1], &stream, buf, sizeof(buf));
        CHECK(n == 6 && stream == 1);
        CHECK_STR(buf, "hello\n");
        /* client EOF on stdin: StdinOnce closes cat's stdin, cat exits,
         * the attach ends */
        shutdown(sv[1], SHUT_WR);
        pthread_join(a.t, NULL);
        CHECK(a.r == 0);
        CHECK(wait_exit(id) == 0);
        close(sv[0]);
        close(sv[1]);
        rm_container(id);
}

static void test_attach_tty(void)
{
        char id[65];
        CHECK(run("att3", "{\"Cmd\": [\"sh\", \"-c\", \"sleep 0.3; echo hi\"], \"Tty\": true}", 0,
                  id) == 0);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct att a = {id, sv[0], NULL, -2, 0};
        pthread_create(&a.t, NULL, attach_thread, &a);
        msleep(200);
        _cleanup_err_ struct err *e = NULL;
        CHECK(engine_container_start(eng, id, &e) == 0);
        pthread_join(a.t, NULL);
        CHECK(a.r == 0);
        char buf[64] = "";
        ssize_t n = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
        close(sv[0]);
        close(sv[1]);
        CHECK(n == 4 && memcmp(buf, "hi\r\n", 4) == 0); /* raw, no frame header */
        rm_container(id);
}

static void *big_writer(void *arg)
{
        int fd = *(int *)arg;
        char *big = xmalloc(1 << 20);
        memset(big, 'x', 1 << 20);
        for (int i = 0; i < 4; i++)
                if (write_all(fd, big, 1 << 20) < 0)
                        break;
        free(big);
        return NULL;
}

/* a process that does not read its stdin while a client pushes megabytes
 * into it must not stall the engine (the stdin write blocks, not eng->lock) */
static void test_attach_stdin_backpressure(void)
{
        char id[65];
        CHECK(run("att4", "{\"Cmd\": [\"sleep\", \"3\"], \"OpenStdin\": true}", 1, id) == 0);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct att a = {id, sv[0], NULL, -2, 0};
        pthread_create(&a.t, NULL, attach_thread, &a);
        pthread_t w;
        pthread_create(&w, NULL, big_writer, &sv[1]);
        msleep(1000);
        int64_t t0 = now_ns();
        char st[32];
        int r = container_status(id, st, sizeof(st));
        int64_t took = now_ns() - t0;
        /* the attach ends when the container exits, the writer when the
         * socket goes */
        pthread_join(a.t, NULL);
        shutdown(sv[1], SHUT_RDWR);
        pthread_join(w, NULL);
        close(sv[0]);
        close(sv[1]);
        CHECK(r == 0 && took < 500000000LL);
        CHECK_STR(st, "running");
        rm_container(id);
}

/* read raw (tty) output until it holds `want` or 10 s pass */
static int read_until(int fd, const char *want, size_t want_len)
{
        char buf[4096];
        size_t len = 0;
        int64_t end = now_ns() + 10000000000LL;
        while (now_ns() < end && len < sizeof(buf)) {
                ssize_t n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);
                if (n > 0)
                        len += (size_t)n;
                else if (n == 0)
                        break;
                else
                        msleep(20);
                if (memmem(buf, len, want, want_len) != NULL)
                        return 0;
        }
        return -1;
}

static void test_detach_keys(void)
{
        char id[65];
        CHECK(run("att2", "{\"Cmd\": [\"cat\"], \"OpenStdin\": true, \"Tty\": true}", 1, id) == 0);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct att a = {id, sv[0], "ctrl-x,y", -2, 0};
        pthread_create(&a.t, NULL, attach_thread, &a);
        msleep(200);
        /* ctrl-x alone then something else is passed through (cat gives
         * it back through the tty) */
        CHECK(write(sv[1],
                    "a\x18"
                    "b\n",
                    4) == 4);
        CHECK(read_until(sv[1],
                         "a\x18"
                         "b",
                         3) == 0);
        CHECK(write(sv[1], "\x18y", 2) == 2);
        pthread_join(a.t, NULL);
        CHECK(a.r == 0);
        char st[32];
        CHECK(container_status(id, st, sizeof(st)) == 0);
        CHECK_STR(st, "running"); /* detaching leaves it alone */
        close(sv[0]);
        close(sv[1]);
        _cleanup_err_ struct err *e = NULL;
        struct engine_attach_opts bad = {.out = 1, .stream = 1, .detach_keys = "ctrl-1"};
        CHECK(engine_container_attach(eng, id, &bad, -1, &e) < 0 && e->code == EINVAL);
        rm_container(id);
}

/* without a tty stdin is binary: the detach keys pass through (dockerd) */
static void test_detach_keys_no_tty(void)
{
        char id[65];
        CHECK(run("att5", "{\"Cmd\": [\"cat\"], \"OpenStdin\": true}", 1, id) == 0);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct att a = {id, sv[0], NULL, -2, 0};
        pthread_create(&a.t, NULL, attach_thread, &a);
        msleep(200);
        CHECK(write(sv[1], "a\x10\x11z\n", 5) == 5);
        char buf[256];
        int stream = 0;
        int n = read_frame(sv[1], &stream, buf, sizeof(buf));
        CHECK(n == 5 && stream == 1 && memcmp(buf, "a\x10\x11z\n", 5) == 0);
        /* the client hangs up: the attach ends, the container runs on */
        close(sv[1]);
        pthread_join(a.t, NULL);
        CHECK(a.r == 0);
        char st[32];
        CHECK(container_status(id, st, sizeof(st)) == 0);
        CHECK_STR(st, "running");
        close(sv[0]);
        rm_container(id);
}

struct feeder {
        int fd;
        size_t n;
};

/* writes n bytes of a pattern, then half-closes (the docker CLI's way) */
static void *feed(void *arg)
{
        struct feeder *f = arg;
        char chunk[65536];
        for (size_t i = 0; i < sizeof(chunk); i++)
                chunk[i] = (char)('a' + i % 26);
        size_t left = f->n;
        while (left > 0) {
                size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
                if (write_all(f->fd, chunk, k) < 0)
                        break;
                left -= k;
        }
        shutdown(f->fd, SHUT_WR);
        return NULL;
}

/* docker run -i: stdin, and its end, arrive before the start; both reach
 * the process once it exists, in order; more than the engine holds
 * (1 MiB) waits in the socket (back-pressure) and is not lost */
static void test_attach_stdin_before_start(void)
{
        static const size_t sizes[] = {8, (5u << 20) / 2};
        for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
                char id[65];
                CHECK(run(k ? "att7" : "att6",
                          "{\"Cmd\": [\"wc\", \"-c\"], \"OpenStdin\": true, \"StdinOnce\": true}",
                          0, id) == 0);
                int sv[2];
                CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
                struct att a = {id, sv[0], NULL, -2, 0};
                pthread_create(&a.t, NULL, attach_thread, &a);
                struct feeder f = {sv[1], sizes[k]};
                pthread_t w;
                pthread_create(&w, NULL, feed, &f);
                msleep(300); /* the input (or the first MiB of it) is held */
                _cleanup_err_ struct err *e = NULL;
                int started = engine_container_start(eng, id, &e) == 0;
                char buf[256], want[64];
                int stream = 0;
                int n = started ? read_frame(sv[1], &stream, buf, sizeof(buf)) : -1;
                pthread_join(w, NULL);
                pthread_join(a.t, NULL);
                int code = wait_exit(id);
                close(sv[0]);
                close(sv[1]);
                rm_container(id);
                CHECK(started);
                snprintf(want, sizeof(want), "%zu\n", sizes[k]);
                if (n < 0 || strcmp(buf, want) != 0)
                        printf("# %zu bytes: got %s", sizes[k], n < 0 ? "nothing\n" : buf);
                CHECK(n > 0 && stream == 1);
                CHECK_STR(buf, want);
                CHECK(a.r == 0 && code == 0); /* the EOF arrived: wc ended */
        }
}

/* ---- exec ---- */

static int exec_json(const char *exec_id, json_t **out)
{
        _cleanup_err_ struct err *e = NULL;
        return engine_exec_inspect(eng, exec_id, out, &e);
}

static void test_exec(void)
{
        char id[65], xid[65];
        CHECK(run("exec1", "{\"Cmd\": [\"sleep\", \"100\"]}", 1, id) == 0);
        _cleanup_err_ struct err *e = NULL;
        json_t *cfg = json_loads("{\"AttachStdout\": true, \"AttachStderr\": true, \"Cmd\": "
                                 "[\"sh\", \"-c\", \"echo hi; echo oops >&2; exit 3\"]}",
                                 0, NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        json_t *j = NULL;
        CHECK(exec_json(xid, &j) == 0);
        CHECK(json_is_null(json_object_get(j, "ExitCode")));
        json_decref(j);

        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(engine_exec_start(eng, xid, 0, sv[0], &e) == 0);
        char buf[256];
        int stream = 0, got_out = 0, got_err = 0;
        for (int i = 0; i < 2; i++) {
                CHECK(read_frame(sv[1], &stream, buf, sizeof(buf)) > 0);
                if (stream == 1 && strcmp(buf, "hi\n") == 0)
                        got_out = 1;
                if (stream == 2 && strcmp(buf, "oops\n") == 0)
                        got_err = 1;
        }
        CHECK(got_out && got_err);
        close(sv[0]);
        close(sv[1]);
        CHECK(exec_json(xid, &j) == 0);
        CHECK(json_integer_value(json_object_get(j, "ExitCode")) == 3);
        CHECK(json_is_false(json_object_get(j, "Running")));
        json_decref(j);
        /* twice: refused */
        CHECK(engine_exec_start(eng, xid, 1, -1, &e) < 0 && e->code == EBUSY);
        err_free(&e);
        CHECK(engine_exec_inspect(eng, "nope", &j, &e) < 0 && e->code == ENOENT);
        err_free(&e);

        /* stdin through exec: cat echoes, EOF ends it */
        cfg = json_loads("{\"AttachStdin\": true, \"AttachStdout\": true, \"Cmd\": [\"cat\"]}", 0,
                         NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(write(sv[1], "ping\n", 5) == 5);
        shutdown(sv[1], SHUT_WR);
        CHECK(engine_exec_start(eng, xid, 0, sv[0], &e) == 0);
        CHECK(read_frame(sv[1], &stream, buf, sizeof(buf)) == 5);
        CHECK_STR(buf, "ping\n");
        close(sv[0]);
        close(sv[1]);

        /* a missing binary: 127, the message on the stream */
        cfg = json_loads("{\"AttachStdout\": true, \"Cmd\": [\"/nope\"]}", 0, NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(engine_exec_start(eng, xid, 0, sv[0], &e) == 0);
        close(sv[0]);
        char msg[1024] = "";
        int n = read_frame(sv[1], &stream, msg, sizeof(msg));
        close(sv[1]);
        CHECK(n > 0 && stream == 1);
        CHECK(strstr(msg, "OCI runtime exec failed: ") == msg);
        CHECK(strcmp(msg + n - 2, "\r\n") == 0);
        printf("# missing binary: %s", msg);
        CHECK(exec_json(xid, &j) == 0);
        CHECK(json_integer_value(json_object_get(j, "ExitCode")) == 126);
        json_decref(j);

        /* with a tty: raw output, no frame header */
        cfg = json_loads("{\"AttachStdout\": true, \"Tty\": true, \"Cmd\": [\"echo\", \"tty\"]}", 0,
                         NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(engine_exec_start(eng, xid, 0, sv[0], &e) == 0);
        close(sv[0]);
        char raw[64] = "";
        ssize_t rn = read(sv[1], raw, sizeof(raw) - 1);
        close(sv[1]);
        CHECK(rn == 5 && memcmp(raw, "tty\r\n", 5) == 0);

        /* detached */
        cfg = json_loads("{\"Cmd\": [\"sh\", \"-c\", \"exit 5\"]}", 0, NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        CHECK(engine_exec_start(eng, xid, 1, -1, &e) == 0);
        for (int i = 0; i < 50; i++) {
                CHECK(exec_json(xid, &j) == 0);
                int done = json_is_integer(json_object_get(j, "ExitCode"));
                json_decref(j);
                if (done)
                        break;
                msleep(100);
        }
        CHECK(exec_json(xid, &j) == 0);
        CHECK(json_integer_value(json_object_get(j, "ExitCode")) == 5);
        json_decref(j);

        /* a stopped container refuses */
        CHECK(engine_container_kill(eng, id, "KILL", &e) == 0);
        wait_exit(id);
        cfg = json_loads("{\"Cmd\": [\"true\"]}", 0, NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) < 0 && e->code == EBUSY);
        json_decref(cfg);
        rm_container(id);
}

/* ---- health ---- */

static const char *health_status(const char *id, char *out, size_t cap)
{
        json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        out[0] = '\0';
        if (engine_container_inspect(eng, id, 0, &j, &e) < 0)
                return out;
        json_t *h = json_object_get(json_object_get(j, "State"), "Health");
        const char *s = json_string_value(json_object_get(h, "Status"));
        snprintf(out, cap, "%s", s ? s : "");
        json_decref(j);
        return out;
}

static int wait_health(const char *id, const char *want, int secs)
{
        char st[32];
        for (int i = 0; i < secs * 10; i++) {
                if (strcmp(health_status(id, st, sizeof(st)), want) == 0)
                        return 0;
                msleep(100);
        }
        printf("# health: %s, wanted %s\n", st, want);
        json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (engine_container_inspect(eng, id, 0, &j, &e) == 0) {
                char *d = json_dumps(json_object_get(json_object_get(j, "State"), "Health"), 0);
                printf("# %s\n", d ? d : "null");
                free(d);
                json_decref(j);
        }
        return -1;
}

static void test_health(void)
{
        char id[65];
        CHECK(run("health1",
                  "{\"Cmd\": [\"sleep\", \"100\"], \"Healthcheck\": {\"Test\": [\"CMD-SHELL\", "
                  "\"test -e /tmp/ok\"], \"Interval\": 200000000, \"Timeout\": 2000000000, "
                  "\"Retries\": 2}}",
                  1, id) == 0);
        char st[32];
        CHECK_STR(health_status(id, st, sizeof(st)), "starting");
        CHECK(wait_health(id, "unhealthy", 10) == 0);
        _cleanup_err_ struct err *e = NULL;
        char xid[65];
        json_t *cfg = json_loads("{\"Cmd\": [\"touch\", \"/tmp/ok\"]}", 0, NULL);
        CHECK(engine_exec_create(eng, id, cfg, xid, &e) == 0);
        json_decref(cfg);
        CHECK(engine_exec_start(eng, xid, 1, -1, &e) == 0);
        CHECK(wait_health(id, "healthy", 10) == 0);
        json_t *j = NULL;
        CHECK(engine_container_inspect(eng, id, 0, &j, &e) == 0);
        json_t *log =
            json_object_get(json_object_get(json_object_get(j, "State"), "Health"), "Log");
        size_t n = json_array_size(log);
        int ok = n > 0 && n <= 5 &&
                 json_integer_value(json_object_get(json_array_get(log, n - 1), "ExitCode")) == 0;
        json_decref(j);
        CHECK(ok);
        rm_container(id);
}

/* ---- stats, top ---- */

static void test_stats_top(void)
{
        char id[65];
        CHECK(run("stats1",
                  "{\"Cmd\": [\"sh\", \"-c\", \"i=0; while [ $i -lt 20000 ]; do i=$((i+1)); "
                  "done; sleep 100\"]}",
                  1, id) == 0);
        msleep(500);
        _cleanup_err_ struct err *e = NULL;
        json_t *s = NULL;
        CHECK(engine_container_stats(eng, id, NULL, &s, &e) == 0);
        json_int_t cpu = json_integer_value(json_object_get(
            json_object_get(json_object_get(s, "cpu_stats"), "cpu_usage"), "total_usage"));
        json_int_t mem =
            json_integer_value(json_object_get(json_object_get(s, "memory_stats"), "usage"));
        json_int_t pids =
            json_integer_value(json_object_get(json_object_get(s, "pids_stats"), "current"));
        json_int_t sys = json_integer_value(
            json_object_get(json_object_get(s, "cpu_stats"), "system_cpu_usage"));
        printf("# cpu %lld mem %lld pids %lld\n", (long long)cpu, (long long)mem, (long long)pids);
        json_t *s2 = NULL;
        int r2 = engine_container_stats(eng, id, s, &s2, &e);
        json_decref(s);
        CHECK(cpu > 0 && mem > 0 && pids >= 1 && sys > 0);
        CHECK(r2 == 0);
        CHECK(json_object_get(json_object_get(s2, "precpu_stats"), "cpu_usage") != NULL);
        json_decref(s2);

        json_t *top = NULL;
        CHECK(engine_container_top(eng, id, NULL, &top, &e) == 0);
        char *dump = json_dumps(top, 0);
        int found = strstr(dump, "sleep 100") != NULL || strstr(dump, "sh -c") != NULL;
        int titles = json_array_size(json_object_get(top, "Titles")) >= 4;
        int rows = json_array_size(json_object_get(top, "Processes"));
        free(dump);
        json_decref(top);
        CHECK(found && titles && rows >= 1 && rows < 5);

        CHECK(engine_container_kill(eng, id, "KILL", &e) == 0);
        wait_exit(id);
        CHECK(engine_container_stats(eng, id, NULL, &s, &e) == 0);
        CHECK_STR(json_string_value(json_object_get(s, "read")), "0001-01-01T00:00:00Z");
        json_decref(s);
        CHECK(engine_container_top(eng, id, NULL, &top, &e) < 0 && e->code == EBUSY);
        rm_container(id);
}

/* ---- archive ---- */

struct membuf {
        char *p;
        size_t len, off;
};

static int mem_write(void *ctx, const void *buf, size_t n)
{
        struct membuf *m = ctx;
        m->p = realloc(m->p, m->len + n);
        memcpy(m->p + m->len, buf, n);
        m->len += n;
        return 0;
}

static ssize_t mem_read(void *ctx, void *buf, size_t n)
{
        struct membuf *m = ctx;
        size_t k = m->len - m->off < n ? m->len - m->off : n;
        memcpy(buf, m->p + m->off, k);
        m->off += k;
        return (ssize_t)k;
}

static int tar_names(struct membuf *m, char *out, size_t cap)
{
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        if (archive_read_open_memory(a, m->p, m->len) != ARCHIVE_OK)
                return -1;
        struct archive_entry *ent;
        out[0] = '\0';
        while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
                strncat(out, archive_entry_pathname(ent), cap - strlen(out) - 2);
                strcat(out, " ");
        }
        archive_read_free(a);
        return 0;
}

static int load_file(const char *path, struct membuf *m)
{
        size_t len;
        _cleanup_err_ struct err *e = NULL;
        char *p = NULL;
        if (read_file(path, 16 << 20, &p, &len, &e) < 0)
                return -1;
        m->p = p;
        m->len = len;
        m->off = 0;
        return 0;
}

static void test_archive(void)
{
        char id[65];
        CHECK(run("arch1", "{\"Cmd\": [\"sleep\", \"100\"]}", 1, id) == 0);
        _cleanup_err_ struct err *e = NULL;
        json_t *st = NULL;
        CHECK(engine_container_path_stat(eng, id, "/etc/passwd", &st, &e) == 0);
        CHECK_STR(json_string_value(json_object_get(st, "name")), "passwd");
        CHECK((json_integer_value(json_object_get(st, "mode")) & 0777) == 0644);
        json_decref(st);
        CHECK(engine_container_path_stat(eng, id, "/bin/sh", &st, &e) == 0);
        CHECK(json_integer_value(json_object_get(st, "mode")) & (1LL << 27));
        CHECK_STR(json_string_value(json_object_get(st, "linkTarget")), "/bin/busybox");
        json_decref(st);
        CHECK(engine_container_path_stat(eng, id, "/etc", &st, &e) == 0);
        CHECK(json_integer_value(json_object_get(st, "mode")) & (1LL << 31));
        json_decref(st);
        CHECK(engine_container_path_stat(eng, id, "/nope", &st, &e) < 0 && e->code == ENOENT);
        err_free(&e);

        /* PUT then GET */
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p src/x; echo payload > src/x/y; ln -sf y src/x/ln; "
                 "tar -C src -cf good.tar x",
                 tmp);
        CHECK(sh(cmd) == 0);
        struct membuf m = {0};
        _cleanup_free_ char *good = xasprintf("%s/good.tar", tmp);
        CHECK(load_file(good, &m) == 0);
        int r = engine_container_archive_put(eng, id, "/tmp", 0, mem_read, &m, &e);
        free(m.p);
        CHECK(r == 0);
        CHECK(engine_container_path_stat(eng, id, "/tmp/x/y", &st, &e) == 0);
        CHECK(json_integer_value(json_object_get(st, "size")) == 8);
        json_decref(st);
        struct membuf out = {0};
        CHECK(engine_container_archive_get(eng, id, "/tmp/x", mem_write, &out, &e) == 0);
        char names[1024];
        CHECK(tar_names(&out, names, sizeof(names)) == 0);
        free(out.p);
        CHECK(strstr(names, "x/ ") == names && strstr(names, "x/y ") && strstr(names, "x/ln "));
        /* through a symlink inside the container: resolved in its root */
        CHECK(engine_container_archive_put(eng, id, "/etc/passwd", 0, mem_read, &m, &e) < 0 &&
              e->code == EINVAL);
        err_free(&e);
        CHECK(engine_container_archive_put(eng, id, "/nodir", 0, mem_read, &m, &e) < 0 &&
              e->code == ENOENT);
        err_free(&e);

        /* hostile: ../ and a symlink to / then a file through it */
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p h; echo evil > h/evil; "
                 "tar -C h -cf dotdot.tar --transform 's,^evil,../../../../../../tmp/%s-escape,' "
                 "-P evil; "
                 "rm -rf h2; mkdir h2; ln -s / h2/l; tar -C h2 -cf sym.tar l; mkdir -p h3/l/tmp; "
                 "echo evil > h3/l/tmp/evil-sym; tar -C h3 -rf sym.tar l/tmp/evil-sym",
                 tmp, tmp + 5);
        CHECK(sh(cmd) == 0);
        const char *hostile[] = {"dotdot.tar", "sym.tar"};
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", tmp, hostile[i]);
                struct membuf h = {0};
                CHECK(load_file(p, &h) == 0);
                _cleanup_err_ struct err *he = NULL;
                int hr = engine_container_archive_put(eng, id, "/tmp", 0, mem_read, &h, &he);
                free(h.p);
                if (hr < 0)
                        printf("# hostile %s refused: %s\n", hostile[i], he->msg);
        }
        _cleanup_free_ char *esc = xasprintf("/tmp/%s-escape", tmp + 5);
        CHECK(access(esc, F_OK) < 0);
        CHECK(access("/tmp/evil-sym", F_OK) < 0);

        /* export holds the whole tree */
        struct membuf ex = {0};
        CHECK(engine_container_export(eng, id, mem_write, &ex, &e) == 0);
        char *all = xmalloc(1 << 20);
        CHECK(tar_names(&ex, all, 1 << 20) == 0);
        free(ex.p);
        int has =
            strstr(all, "bin/busybox ") && strstr(all, "etc/passwd ") && strstr(all, "tmp/x/y ");
        free(all);
        CHECK(has);
        rm_container(id);
}

/* cp works on a container that was never started: its root gets mounted */
static void test_archive_created(void)
{
        char id[65];
        CHECK(run("arch2", "{\"Cmd\": [\"true\"]}", 0, id) == 0);
        _cleanup_err_ struct err *e = NULL;
        json_t *st = NULL;
        CHECK(engine_container_path_stat(eng, id, "/etc/passwd", &st, &e) == 0);
        json_decref(st);
        struct membuf out = {0};
        CHECK(engine_container_archive_get(eng, id, "/etc/passwd", mem_write, &out, &e) == 0);
        char names[256];
        CHECK(tar_names(&out, names, sizeof(names)) == 0);
        free(out.p);
        CHECK_STR(names, "passwd ");
        /* and it still starts afterwards */
        CHECK(engine_container_start(eng, id, &e) == 0);
        CHECK(wait_exit(id) == 0);
        rm_container(id);
}

static void test_changes(void)
{
        char id[65];
        CHECK(run("chg1", "{\"Cmd\": [\"sh\", \"-c\", \"touch /new; rm /etc/group\"]}", 1, id) ==
              0);
        CHECK(wait_exit(id) == 0);
        _cleanup_err_ struct err *e = NULL;
        json_t *ch = NULL;
        CHECK(engine_container_changes(eng, id, &ch, &e) == 0);
        char *d = json_dumps(ch, JSON_COMPACT);
        printf("# changes %s\n", d);
        int ok = strstr(d, "{\"Path\":\"/new\",\"Kind\":1}") &&
                 strstr(d, "{\"Path\":\"/etc/group\",\"Kind\":2}") &&
                 strstr(d, "{\"Path\":\"/etc\",\"Kind\":0}");
        free(d);
        json_decref(ch);
        CHECK(ok);
        rm_container(id);
}

int main(void)
{
        if (getuid() != 0) {
                SKIP(test_engine_io, "needs root");
                return DONE();
        }
        const char *b = getenv("BARGE_BUILD");
        char shim[512], rt[512];
        snprintf(shim, sizeof(shim), "%s/bin/barge-shim", b && *b ? b : "build");
        snprintf(rt, sizeof(rt), "%s/bin/barge-runtime", b && *b ? b : "build");
        if (access(shim, X_OK) < 0 || access(rt, X_OK) < 0) {
                SKIP(test_engine_io, "build/bin/barge-shim and barge-runtime are not built");
                return DONE();
        }
        signal(SIGPIPE, SIG_IGN);
        if (setup() < 0) {
                printf("not ok 1 - setup\n1..1\n");
                teardown();
                return 1;
        }
        RUN(test_logs);
        RUN(test_logs_follow);
        RUN(test_logs_rotated);
        RUN(test_logs_follow_rotated);
        RUN(test_attach);
        RUN(test_attach_tty);
        RUN(test_attach_stdin_backpressure);
        RUN(test_detach_keys);
        RUN(test_detach_keys_no_tty);
        RUN(test_attach_stdin_before_start);
        RUN(test_exec);
        RUN(test_health);
        RUN(test_stats_top);
        RUN(test_archive);
        RUN(test_archive_created);
        RUN(test_changes);
        teardown();
        return DONE();
}

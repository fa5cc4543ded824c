/*
 * engine/shim: barged's side of barge-shim (see shim.h; the protocol is
 * src/shim/proto.h).  One thread serves every shim: it waits on an epoll
 * set holding each shim's socket, reads frames and calls the callbacks.
 * Other threads write frames (start, stdin, resize) under the shim's write
 * lock, with blocking sends: a shim that is not taking stdin holds its
 * writer back, which is the backpressure stdin should have.
 *
 * Lifetime: a handle is referenced by its owner and, while it handles an
 * event, by the shim thread, so shim_free never frees memory the thread
 * is using.  Callbacks run under the handle's cb_lock; shim_free takes it
 * (unless called from a callback, i.e. on the shim thread), so once it
 * returns no callback runs or will run for that handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../common/util.h"
#include "../shim/proto.h"
#include "shim.h"

enum start_state { START_NONE, START_WAITING, START_DONE, START_FAILED };

struct shim {
        struct shim *next; /* g.list, under g.lock */
        uint64_t serial;   /* epoll's key for it */
        int refs;          /* under g.lock */
        int fd;
        char *state_dir;
        struct shim_callbacks cb;
        void *ctx;

        pthread_mutex_t cb_lock; /* held around callbacks; shim_free waits on it */
        int freed;               /* under cb_lock: no more callbacks */

        pthread_mutex_t wlock; /* one writer at a time on fd */

        pthread_mutex_t st_lock; /* the start handshake and exit flags */
        pthread_cond_t st_cond;
        enum start_state start;
        int reconnected; /* from shim_connect: a process may be running */
        pid_t pid;
        int err_code;
        char *err_msg;
        int exited; /* the exit callback ran (or is due) */
        int closed; /* the connection is gone */

        /* only the shim thread touches these */
        unsigned char in[SHIM_HDR_LEN + SHIM_MAX_PAYLOAD];
        size_t inlen;
};

/* The shim thread and the set of live handles.  g.lock guards list, refs
 * and serials; the thread is started once, on the first handle. */
static struct {
        pthread_mutex_t lock;
        pthread_once_t once;
        int ep;
        pthread_t thread;
        struct shim *list;
        uint64_t next_serial;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT, .ep = -1};

static void unref(struct shim *s)
{
        pthread_mutex_lock(&g.lock);
        int last = --s->refs == 0;
        pthread_mutex_unlock(&g.lock);
        if (!last)
                return;
        if (s->fd >= 0)
                close(s->fd);
        pthread_mutex_destroy(&s->cb_lock);
        pthread_mutex_destroy(&s->wlock);
        pthread_mutex_destroy(&s->st_lock);
        pthread_cond_destroy(&s->st_cond);
        free(s->err_msg);
        free(s->state_dir);
        free(s);
}

static int send_frame(struct shim *s, uint8_t type, const void *p, size_t n, struct err **e)
{
        unsigned char hdr[SHIM_HDR_LEN];
        shim_put_hdr(hdr, type, (uint32_t)n);
        struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)p, n}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n ? 2 : 1};
        size_t left = sizeof(hdr) + n;
        pthread_mutex_lock(&s->wlock);
        while (left > 0) {
                ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        int saved = errno;
                        pthread_mutex_unlock(&s->wlock);
                        errno = saved;
                        return err_sys(e, "write to shim %s", s->state_dir);
                }
                left -= (size_t)w;
                /* advance over what was written */
                while (w > 0 && mh.msg_iovlen > 0) {
                        size_t k =
                            (size_t)w < mh.msg_iov->iov_len ? (size_t)w : mh.msg_iov->iov_len;
                        mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
                        mh.msg_iov->iov_len -= k;
                        w -= (ssize_t)k;
                        if (mh.msg_iov->iov_len == 0) {
                                mh.msg_iov++;
                                mh.msg_iovlen--;
                        }
                }
        }
        pthread_mutex_unlock(&s->wlock);
        return 0;
}

static int on_shim_thread(void)
{
        return g.ep >= 0 && pthread_equal(pthread_self(), g.thread);
}

static void call_output(struct shim *s, int stream, const void *p, size_t n)
{
        pthread_mutex_lock(&s->cb_lock);
        if (!s->freed && s->cb.output)
                s->cb.output(s->ctx, stream, p, n);
        pthread_mutex_unlock(&s->cb_lock);
}

static void call_exit(struct shim *s, int code, int64_t ns, int oom)
{
        pthread_mutex_lock(&s->st_lock);
        int already = s->exited;
        s->exited = 1;
        pthread_mutex_unlock(&s->st_lock);
        if (already)
                return;
        pthread_mutex_lock(&s->cb_lock);
        if (!s->freed && s->cb.exit)
                s->cb.exit(s->ctx, code, ns, oom);
        pthread_mutex_unlock(&s->cb_lock);
}

static void start_result(struct shim *s, enum start_state st, pid_t pid, int code, const char *msg,
                         size_t len)
{
        pthread_mutex_lock(&s->st_lock);
        if (s->start == START_WAITING || s->start == START_NONE) {
                s->start = st;
                s->pid = pid;
                s->err_code = code;
                free(s->err_msg);
                s->err_msg = msg ? xstrndup(msg, len) : NULL;
        }
        pthread_cond_broadcast(&s->st_cond);
        pthread_mutex_unlock(&s->st_lock);
}

/* Whether the shim in state_dir is dead.  Its socket closes a moment
 * before it exits, and a zombie still answers kill(pid, 0): wait on a
 * pidfd (readable once it has exited) for up to a second.  Only a shim
 * that still runs (a newer client replaced us) costs the whole second. */
static int shim_dead(const char *state_dir)
{
        _cleanup_free_ char *path = xasprintf("%s/shim.pid", state_dir);
        _cleanup_free_ char *buf = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len;
        long long v;
        if (read_file(path, 64, &buf, &len, &e) < 0)
                return 1;
        buf[strcspn(buf, "\n")] = '\0';
        if (parse_int64(buf, &v) < 0 || v <= 0)
                return 1;
        _cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, (pid_t)v, 0);
        if (pfd < 0)
                return errno == ESRCH || (kill((pid_t)v, 0) < 0 && errno == ESRCH);
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int r;
        while ((r = poll(&p, 1, 1000)) < 0 && errno == EINTR)
                ;
        return r > 0;
}

/* The connection ended.  A shim always sends EXIT (or START_FAILED)
 * before it goes, so if neither came it was killed, or a newer client
 * replaced us: report what the exit file says, or, if the shim is dead
 * and left none, an unknown exit (255, as Docker reports a lost task). */
static void on_disconnect(struct shim *s)
{
        pthread_mutex_lock(&g.lock);
        epoll_ctl(g.ep, EPOLL_CTL_DEL, s->fd, NULL);
        pthread_mutex_unlock(&g.lock);

        _cleanup_free_ char *errpath = xasprintf("%s/error", s->state_dir);
        _cleanup_free_ char *msg = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len = 0;
        if (read_file(errpath, 4096, &msg, &len, &e) == 0)
                msg[strcspn(msg, "\n")] = '\0';
        pthread_mutex_lock(&s->st_lock);
        s->closed = 1;
        int started = s->start == START_DONE || (s->reconnected && s->start == START_NONE);
        int waiting = s->start == START_WAITING;
        int exited = s->exited;
        pthread_mutex_unlock(&s->st_lock);
        if (waiting) {
                const char *m = msg && *msg ? msg : "barge-shim exited during start";
                start_result(s, START_FAILED, 0, EIO, m, strlen(m));
                return;
        }
        if (!started || exited)
                return;
        int code, oom;
        int64_t ns;
        err_free(&e);
        if (shim_read_exit(s->state_dir, &code, &ns, &oom, &e) == 0) {
                call_exit(s, code, ns, oom);
        } else if (shim_dead(s->state_dir)) {
                /* it may have written the file just before it died */
                err_free(&e);
                if (shim_read_exit(s->state_dir, &code, &ns, &oom, &e) == 0) {
                        call_exit(s, code, ns, oom);
                        return;
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                log_warn("shim %s died without recording an exit", s->state_dir);
                call_exit(s, 255, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
        }
}

static void on_frame(struct shim *s, uint8_t type, const unsigned char *p, uint32_t n)
{
        switch (type) {
        case SHIM_STARTED:
                if (n >= 4)
                        start_result(s, START_DONE, (pid_t)shim_get_u32(p), 0, NULL, 0);
                break;
        case SHIM_START_FAILED:
                if (n >= 4)
                        start_result(s, START_FAILED, 0, (int)shim_get_u32(p), (const char *)p + 4,
                                     n - 4);
                break;
        case SHIM_STDOUT:
        case SHIM_STDERR:
                call_output(s, type == SHIM_STDOUT ? 1 : 2, p, n);
                break;
        case SHIM_EXIT:
                if (n >= 16) {
                        call_exit(s, (int)shim_get_u32(p), (int64_t)shim_get_u64(p + 4),
                                  (int)shim_get_u32(p + 12));
                        /* the shim waits for this before it exits; never block on it */
                        unsigned char hdr[SHIM_HDR_LEN];
                        shim_put_hdr(hdr, SHIM_EXIT_ACK, 0);
                        if (send(s->fd, hdr, sizeof(hdr), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                                log_debug("shim %s: ack: %s", s->state_dir, strerror(errno));
                }
                break;
        default:
                log_warn("shim %s: unknown frame type %u", s->state_dir, type);
                break;
        }
}

/* Read what the socket has and handle every complete frame. */
static void on_readable(struct shim *s)
{
        for (;;) {
                ssize_t r = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, MSG_DONTWAIT);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && errno == EAGAIN)
                        return;
                if (r <= 0) {
                        on_disconnect(s);
                        return;
                }
                s->inlen += (size_t)r;
                size_t off = 0;
                while (s->inlen - off >= SHIM_HDR_LEN) {
                        uint32_t len = shim_get_u32(s->in + off);
                        if (len > SHIM_MAX_PAYLOAD) {
                                log_error("shim %s: frame of %u bytes", s->state_dir, len);
                                shutdown(s->fd, SHUT_RDWR);
                                on_disconnect(s);
                                return;
                        }
                        if (s->inlen - off < SHIM_HDR_LEN + len)
                                break;
                        on_frame(s, s->in[off + 4], s->in + off + SHIM_HDR_LEN, len);
                        off += SHIM_HDR_LEN + len;
                }
                memmove(s->in, s->in + off, s->inlen - off);
                s->inlen -= off;
        }
}

static void *shim_thread(void *arg)
{
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        for (;;) {
                struct epoll_event ev[32];
                int n = epoll_wait(g.ep, ev, 32, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("shim thread: epoll_wait: %s", strerror(errno));
                        return NULL;
                }
                for (int i = 0; i < n; i++) {
                        struct shim *s;
                        pthread_mutex_lock(&g.lock);
                        for (s = g.list; s && s->serial != ev[i].data.u64; s = s->next)
                                ;
                        if (s)
                                s->refs++;
                        pthread_mutex_unlock(&g.lock);
                        if (!s)
                                continue;
                        pthread_mutex_lock(&s->st_lock);
                        int closed = s->closed;
                        pthread_mutex_unlock(&s->st_lock);
                        if (!closed)
                                on_readable(s);
                        unref(s);
                }
        }
        return arg;
}

static int thread_err;
static void start_thread(void)
{
        g.ep = epoll_create1(EPOLL_CLOEXEC);
        if (g.ep < 0) {
                thread_err = errno;
                return;
        }
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        thread_err = pthread_create(&g.thread, &a, shim_thread, NULL);
        pthread_attr_destroy(&a);
        if (thread_err) {
                close(g.ep);
                g.ep = -1;
        }
}

/* A handle for the connected `fd`, in the shim thread's set. */
static int add_handle(int fd, const char *state_dir, const struct shim_callbacks *cb, void *ctx,
                      int reconnected, struct shim **out, struct err **e)
{
        pthread_once(&g.once, start_thread);
        if (g.ep < 0) {
                close(fd);
                return err_new(e, thread_err, "start the shim thread: %s", strerror(thread_err));
        }
        struct shim *s = xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->state_dir = xstrdup(state_dir);
        s->cb = *cb;
        s->ctx = ctx;
        s->refs = 1;
        s->reconnected = reconnected;
        pthread_mutex_init(&s->cb_lock, NULL);
        pthread_mutex_init(&s->wlock, NULL);
        pthread_mutex_init(&s->st_lock, NULL);
        pthread_cond_init(&s->st_cond, NULL);
        pthread_mutex_lock(&g.lock);
        s->serial = ++g.next_serial;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = s->serial};
        if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int saved = errno;
                pthread_mutex_unlock(&g.lock);
                unref(s); /* the only reference: closes fd, frees */
                errno = saved;
                return err_sys(e, "epoll_ctl");
        }
        s->next = g.list;
        g.list = s;
        pthread_mutex_unlock(&g.lock);
        *out = s;
        return 0;
}

static int connect_sock(const char *state_dir, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/shim.sock", state_dir);
        _cleanup_close_ int dfd = -1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path)) {
                /* too long for sun_path: reach it through the directory's fd */
                dfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return err_sys(e, "open %s", state_dir);
                free(path);
                path = xasprintf("/proc/self/fd/%d/shim.sock", dfd);
        }
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_sys(e, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int saved = errno;
                close(fd);
                if (saved == ECONNREFUSED || saved == ENOENT)
                        return err_new(e, ENOENT, "no shim runs in %s", state_dir);
                errno = saved;
                return err_sys(e, "connect to %s/shim.sock", state_dir);
        }
        return fd;
}

/* ---- the runtime binary, sealed once ----
 * barge-runtime (and runc) protect the host binary from a container
 * (CVE-2019-5736) by re-executing themselves from a sealed memfd copy when
 * they are not already running from one.  Making that copy on every
 * create and exec costs a copy of the binary and an extra execve; instead
 * barged keeps one sealed copy per runtime binary (renewed when the file
 * changes) and hands it to its shims, which execute the runtime from it:
 * the runtime then finds itself sealed and goes straight on.  The copy is
 * immutable (F_SEAL_WRITE and friends), so sharing it is as safe as a copy
 * per call.  Any failure just means shims run the runtime by its path. */
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define RUNTIME_FD 4 /* where the shim gets it (3 is the ready pipe) */

static struct {
        pthread_mutex_t lock;
        char *path;
        struct stat st;
        int fd;
} sealed = {PTHREAD_MUTEX_INITIALIZER, NULL, {0}, -1};

static int same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int seal_copy(const char *path, struct stat *st)
{
        _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
        if (src < 0 || fstat(src, st) < 0 || !S_ISREG(st->st_mode))
                return -1;
        _cleanup_close_ int mfd = memfd_create("barge-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return -1;
        off_t left = st->st_size;
        while (left > 0) {
                ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                left -= n;
        }
        struct stat after;
        /* a binary replaced while we copied: no copy rather than a torn one */
        if (fstat(src, &after) < 0 || !same_file(st, &after) || fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                return -1;
        /* above the fds the spawn moves things to (3, 4) */
        return fcntl(mfd, F_DUPFD_CLOEXEC, 10);
}

/* A sealed copy of the runtime at `path` (an fd barged keeps; do not
 * close it), or -1.  Called for each spawn: one stat when nothing changed. */
static int sealed_runtime(const char *path)
{
        if (strchr(path, '/') == NULL)
                return -1; /* found through PATH by the shim: not ours to pin */
        struct stat st;
        if (stat(path, &st) < 0)
                return -1;
        pthread_mutex_lock(&sealed.lock);
        if (sealed.fd < 0 || strcmp(sealed.path, path) != 0 || !same_file(&sealed.st, &st)) {
                struct stat cst;
                int fd = seal_copy(path, &cst);
                if (fd >= 0) {
                        /* an old copy may be in a spawn right now: keep it (a
                         * leak of one fd per binary change, not per spawn) */
                        free(sealed.path);
                        sealed.path = xstrdup(path);
                        sealed.st = cst;
                        sealed.fd = fd;
                }
        }
        int fd = sealed.fd >= 0 && strcmp(sealed.path, path) == 0 ? sealed.fd : -1;
        pthread_mutex_unlock(&sealed.lock);
        return fd;
}

int shim_spawn(const struct shim_spec *spec, const struct shim_callbacks *cb, void *ctx,
               struct shim **out, struct err **e)
{
        if (!spec->shim_path || !spec->runtime || !spec->runtime_root || !spec->state_dir ||
            !spec->id || !spec->bundle == !spec->process_json)
                return err_new(e, EINVAL, "shim_spawn: incomplete spec");
        int rp[2];
        if (pipe2(rp, O_CLOEXEC) < 0)
                return err_sys(e, "pipe");
        _cleanup_close_ int rd = rp[0];
        _cleanup_close_ int wr = rp[1];
        if (wr == 3) {
                /* fd 3 is where the child gets it: dup2 onto itself would keep CLOEXEC */
                wr = fcntl(rp[1], F_DUPFD_CLOEXEC, 10);
                close(rp[1]);
                if (wr < 0)
                        return err_sys(e, "dup");
        }
        char maxsize[32], maxfile[32];
        snprintf(maxsize, sizeof(maxsize), "%lld", (long long)spec->log_max_size);
        snprintf(maxfile, sizeof(maxfile), "%d", spec->log_max_file < 1 ? 1 : spec->log_max_file);
        const char *argv[32];
        size_t n = 0;
        argv[n++] = spec->shim_path;
        argv[n++] = "--id";
        argv[n++] = spec->id;
        argv[n++] = spec->bundle ? "--bundle" : "--process";
        argv[n++] = spec->bundle ? spec->bundle : spec->process_json;
        argv[n++] = "--runtime";
        argv[n++] = spec->runtime;
        argv[n++] = "--runtime-root";
        argv[n++] = spec->runtime_root;
        argv[n++] = "--state-dir";
        argv[n++] = spec->state_dir;
        if (spec->log_path) {
                argv[n++] = "--log";
                argv[n++] = spec->log_path;
                argv[n++] = "--log-max-size";
                argv[n++] = maxsize;
                argv[n++] = "--log-max-file";
                argv[n++] = maxfile;
        }
        if (spec->tty)
                argv[n++] = "--tty";
        if (spec->open_stdin)
                argv[n++] = "--stdin";
        argv[n++] = "--ready-fd";
        argv[n++] = "3";
        int rtfd = sealed_runtime(spec->runtime);
        if (rtfd >= 0) {
                argv[n++] = "--runtime-fd";
                argv[n++] = "4";
        }
        argv[n] = NULL;

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, wr, 3);
        if (rtfd >= 0)
                posix_spawn_file_actions_adddup2(&fa, rtfd, RUNTIME_FD);
        posix_spawnattr_init(&at);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &all);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid;
        int r = posix_spawnp(&pid, spec->shim_path, &fa, &at, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (r != 0)
                return err_new(e, r, "run %s: %s", spec->shim_path, strerror(r));
        close(TAKE_FD(wr));

        /* "ok\n" once it listens, or why it could not; EOF either way */
        _cleanup_free_ char *msg = NULL;
        size_t len = 0;
        int rr = read_fd_all(rd, 4096, &msg, &len, e);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (rr < 0)
                return err_wrap(e, "barge-shim");
        if (strcmp(msg, "ok\n") != 0) {
                msg[strcspn(msg, "\n")] = '\0';
                if (*msg)
                        return err_new(e, EIO, "barge-shim: %s", msg);
                return err_new(e, EIO, "barge-shim exited before it was ready (status %d)", st);
        }
        int fd = connect_sock(spec->state_dir, e);
        if (fd < 0)
                return -1;
        return add_handle(fd, spec->state_dir, cb, ctx, 0, out, e);
}

int shim_connect(const char *state_dir, const struct shim_callbacks *cb, void *ctx,
                 struct shim **out, struct err **e)
{
        int fd = connect_sock(state_dir, e);
        if (fd < 0)
                return -1;
        return add_handle(fd, state_dir, cb, ctx, 1, out, e);
}

int shim_start(struct shim *s, pid_t *pid, struct err **e)
{
        pthread_mutex_lock(&s->st_lock);
        if (s->start != START_NONE || s->closed) {
                pthread_mutex_unlock(&s->st_lock);
                return err_new(e, EALREADY, "shim %s: already started", s->state_dir);
        }
        s->start = START_WAITING;
        pthread_mutex_unlock(&s->st_lock);
        if (send_frame(s, SHIM_START, NULL, 0, e) < 0) {
                pthread_mutex_lock(&s->st_lock);
                s->start = START_FAILED;
                pthread_mutex_unlock(&s->st_lock);
                return -1;
        }
        pthread_mutex_lock(&s->st_lock);
        while (s->start == START_WAITING)
                pthread_cond_wait(&s->st_cond, &s->st_lock);
        int r = 0;
        if (s->start == START_DONE) {
                *pid = s->pid;
        } else {
                /* the runtime's message as it is, with its errno (err_new
                 * would append strerror) */
                int had = *e != NULL;
                r = err_new(e, 0, "%s", s->err_msg ? s->err_msg : "start failed");
                if (!had)
                        (*e)->code = s->err_code ? s->err_code : EIO;
        }
        pthread_mutex_unlock(&s->st_lock);
        return r;
}

int shim_write_stdin(struct shim *s, const void *buf, size_t n, struct err **e)
{
        const char *p = buf;
        while (n > 0) {
                size_t k = n < SHIM_MAX_PAYLOAD ? n : SHIM_MAX_PAYLOAD;
                if (send_frame(s, SHIM_STDIN, p, k, e) < 0)
                        return -1;
                p += k;
                n -= k;
        }
        return 0;
}

int shim_close_stdin(struct shim *s, struct err **e)
{
        return send_frame(s, SHIM_CLOSE_STDIN, NULL, 0, e);
}

int shim_resize(struct shim *s, unsigned width, unsigned height, struct err **e)
{
        unsigned char p[8];
        shim_put_u32(p, width);
        shim_put_u32(p + 4, height);
        return send_frame(s, SHIM_RESIZE, p, sizeof(p), e);
}

void shim_free(struct shim *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&g.lock);
        for (struct shim **pp = &g.list; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        epoll_ctl(g.ep, EPOLL_CTL_DEL, s->fd, NULL);
        pthread_mutex_unlock(&g.lock);
        /* the shim sees EOF now, not when the thread lets go of it */
        shutdown(s->fd, SHUT_RDWR);
        if (on_shim_thread()) {
                s->freed = 1; /* we are inside one of its callbacks, holding cb_lock */
        } else {
                pthread_mutex_lock(&s->cb_lock);
                s->freed = 1;
                pthread_mutex_unlock(&s->cb_lock);
        }
        /* wake a shim_start still waiting (a caller bug, but not a hang) */
        pthread_mutex_lock(&s->st_lock);
        s->closed = 1;
        if (s->start == START_WAITING) {
                s->start = START_FAILED;
                s->err_code = ECANCELED;
        }
        pthread_cond_broadcast(&s->st_cond);
        pthread_mutex_unlock(&s->st_lock);
        unref(s);
}

/* RFC 3339 (UTC "Z" or an offset, any number of fraction digits) to unix ns */

int shim_read_exit(const char *state_dir, int *exit_code, int64_t *finished_ns, int *oom_killed,
                   struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/exit", state_dir);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        if (!j) {
                if (access(path, F_OK) < 0)
                        return err_new(e, ENOENT, "no exit file in %s", state_dir);
                return err_new(e, EIO, "%s: %s", path, je.text);
        }
        json_t *code = json_object_get(j, "exit_code");
        const char *fin = json_string_value(json_object_get(j, "finished_at"));
        int64_t ns = 0;
        if (!json_is_integer(code) || !fin || time_parse(fin, &ns) < 0) {
                json_decref(j);
                return err_new(e, EIO, "%s: malformed", path);
        }
        *exit_code = (int)json_integer_value(code);
        *finished_ns = ns;
        *oom_killed = json_is_true(json_object_get(j, "oom_killed"));
        json_decref(j);
        return 0;
}

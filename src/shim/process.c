/*
 * shim/process: running the OCI runtime for the one process a shim holds.
 * A container is `run --detach` on the shim's pipes, or with a tty
 * `create` (a console socket for the pty master) then `start`; an exec is
 * `exec --detach`.  Both
 * leave the process reparented to the shim (a subreaper), which reaps it.
 * The runtime runs with --log FILE --log-format json (runc's and
 * barge-runtime's shared flags), so a failure is reported with the
 * runtime's own last error line, not whatever the container printed; the
 * line also picks the errno: a missing executable is ENOENT and a
 * non-executable one EACCES (Docker's 127 and 126).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"

#define RUNTIME_LOG "runtime.log"
#define RUNTIME_ERR "runtime.err"
#define CONSOLE_SOCK "console.sock"

/* Run the runtime with `args` (NULL-terminated) on stdio in/out/err and
 * wait for it; returns its wait status, or -1 if it could not run. */
static int run_runtime(const struct shim_opts *o, const char *const *args, int in, int out, int err)
{
        _cleanup_free_ char *logp = xasprintf("%s/%s", o->state_dir, RUNTIME_LOG);
        const char *argv[32];
        size_t n = 0;
        argv[n++] = o->runtime;
        argv[n++] = "--root";
        argv[n++] = o->runtime_root;
        argv[n++] = "--log";
        argv[n++] = logp;
        argv[n++] = "--log-format";
        argv[n++] = "json";
        for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;

        /* a fresh log per call: the last error line is this call's */
        unlink(logp);
        pid_t pid = fork();
        if (pid < 0) {
                shim_logf("fork: %m");
                return -1;
        }
        if (pid == 0) {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGPIPE, SIG_DFL);
                if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                        _exit(127);
                /* barged's sealed copy of the runtime: the runtime sees it
                 * runs sealed and skips making a copy of its own */
                if (o->runtime_fd >= 0)
                        syscall(SYS_execveat, o->runtime_fd, "", (char *const *)argv, environ,
                                AT_EMPTY_PATH);
                execvp(argv[0], (char *const *)argv);
                dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR) {
                        shim_logf("waitpid: %m");
                        return -1;
                }
        }
        return st;
}

/* The value of "msg" in a JSON log line, unescaped (ASCII \u only). */
static char *json_msg(const char *line)
{
        const char *p = strstr(line, "\"msg\":\"");
        if (!p)
                return NULL;
        p += 7;
        char *out = xmalloc(strlen(p) + 1);
        size_t k = 0;
        for (; *p && *p != '"'; p++) {
                if (*p != '\\') {
                        out[k++] = *p;
                        continue;
                }
                p++;
                switch (*p) {
                case 'n':
                        out[k++] = ' ';
                        break;
                case 't':
                        out[k++] = '\t';
                        break;
                case 'r':
                        break;
                case 'u': {
                        /* by hand: sscanf would pull scanf into the static binary */
                        unsigned v = 0;
                        int i;
                        for (i = 1; i <= 4 && isxdigit((unsigned char)p[i]); i++)
                                v = v * 16 +
                                    (unsigned)(isdigit((unsigned char)p[i])
                                                   ? p[i] - '0'
                                                   : (tolower((unsigned char)p[i]) - 'a' + 10));
                        if (i == 5) {
                                out[k++] = v < 0x80 ? (char)v : '?';
                                p += 4;
                        }
                        break;
                }
                case '\0':
                        p--;
                        break;
                default:
                        out[k++] = *p;
                        break;
                }
        }
        out[k] = '\0';
        return out;
}

/* The runtime's last error message: its json log's last "error" line,
 * else the last non-empty line it printed on `errfile`. */
static char *runtime_message(const char *errfile)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len;
        char *msg = NULL;
        if (read_file(RUNTIME_LOG, 1 << 20, &buf, &len, &e) == 0) {
                for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                        if (strstr(line, "\"level\":\"error\"") ||
                            strstr(line, "\"level\":\"fatal\"")) {
                                char *m = json_msg(line);
                                if (m && *m) {
                                        free(msg);
                                        msg = m;
                                } else {
                                        free(m);
                                }
                        }
                }
        }
        if (msg || !errfile)
                return msg;
        free(TAKE_PTR(buf));
        err_free(&e);
        if (read_file(errfile, 1 << 20, &buf, &len, &e) < 0)
                return NULL;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                while (isspace((unsigned char)*line))
                        line++;
                if (*line) {
                        free(msg);
                        msg = xstrdup(line);
                }
        }
        return msg;
}

/* case-insensitive: runc says "no such file", barge-runtime "No such file" */
static int has(const char *hay, const char *needle)
{
        size_t n = strlen(needle);
        for (; *hay; hay++) {
                size_t i = 0;
                while (i < n && tolower((unsigned char)hay[i]) == needle[i])
                        i++;
                if (i == n)
                        return 1;
        }
        return 0;
}

/* A failed runtime call as an error: the runtime's message and the errno
 * it implies. */
static int runtime_failed(int status, const char *what, const char *errfile, struct err **e)
{
        _cleanup_free_ char *msg = runtime_message(errfile);
        if (!msg) {
                if (status < 0)
                        return err_new(e, EIO, "%s: could not run the runtime", what);
                if (WIFSIGNALED(status))
                        return err_new(e, EIO, "%s: runtime killed by signal %d", what,
                                       WTERMSIG(status));
                return err_new(e, EIO, "%s: runtime exited with status %d", what,
                               WEXITSTATUS(status));
        }
        int code = EIO;
        if (has(msg, "executable file not found") || has(msg, "no such file or directory"))
                code = ENOENT;
        else if (has(msg, "permission denied") || has(msg, "is a directory"))
                code = EACCES;
        /* the runtime's line as it is: err_new would append strerror(code) */
        int had = *e != NULL;
        err_new(e, 0, "%s", msg);
        if (!had)
                (*e)->code = code;
        return -1;
}

static int ok_status(int st)
{
        return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* a listening socket for the runtime's --console-socket; `path` receives
 * what to pass (absolute when it fits sun_path) */
static int console_listen(const struct shim_opts *o, char **path, struct err **e)
{
        unlink(CONSOLE_SOCK);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return err_sys(e, "socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, CONSOLE_SOCK);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
                err_sys(e, "console socket");
                close(fd);
                return -1;
        }
        char *abs = xasprintf("%s/%s", o->state_dir, CONSOLE_SOCK);
        if (strlen(abs) < sizeof(sa.sun_path)) {
                *path = abs;
        } else {
                /* too long: through our cwd (the state dir) from anywhere,
                 * since runtimes connect from a directory of their own */
                free(abs);
                *path = xasprintf("/proc/%d/cwd/%s", (int)getpid(), CONSOLE_SOCK);
        }
        return fd;
}

/* The pty master the runtime sent (runc's protocol: one SCM_RIGHTS fd). */
static int console_recv(int lfd, struct err **e)
{
        _cleanup_close_ int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return err_sys(e, "the runtime sent no terminal");
        char data[4096];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } cm;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cm.buf,
                            .msg_controllen = sizeof(cm.buf)};
        ssize_t n;
        do
                n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_sys(e, "receive the terminal");
        int fd = -1;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
                if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int fds[4];
                memcpy(fds, CMSG_DATA(h), nfd * sizeof(int));
                for (size_t i = 0; i < nfd; i++) {
                        if (fd < 0)
                                fd = fds[i];
                        else
                                close(fds[i]);
                }
        }
        if (fd < 0)
                return err_new(e, EIO, "the runtime sent no terminal fd");
        return fd;
}

static int read_pid(pid_t *pid, struct err **e)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (read_file("pid", 64, &buf, &len, e) < 0)
                return err_wrap(e, "the runtime's pid file");
        long long v;
        buf[strcspn(buf, "\n")] = '\0';
        if (parse_int64(buf, &v) < 0 || v <= 0)
                return err_new(e, EIO, "bad pid file: \"%s\"", buf);
        *pid = (pid_t)v;
        return 0;
}

void proc_delete(const struct shim_opts *o)
{
        if (!o->bundle)
                return;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int errf = open(RUNTIME_ERR, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const char *args[] = {"delete", "--force", o->id, NULL};
        int st = run_runtime(o, args, null, null, errf >= 0 ? errf : null);
        if (!ok_status(st)) {
                _cleanup_free_ char *msg = runtime_message(RUNTIME_ERR);
                shim_logf("runtime delete %s: %s", o->id, msg ? msg : "failed");
        }
        if (null >= 0)
                close(null);
        if (errf >= 0)
                close(errf);
}

static void close_pair(int p[2])
{
        for (int i = 0; i < 2; i++)
                if (p[i] >= 0) {
                        close(p[i]);
                        p[i] = -1;
                }
}

int proc_start(const struct shim_opts *o, pid_t *pid, struct shim_stdio *io, struct err **e)
{
        int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        _cleanup_close_ int errf =
            open(RUNTIME_ERR, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        _cleanup_close_ int console = -1;
        _cleanup_free_ char *console_path = NULL;
        _cleanup_free_ char *pidfile = xasprintf("%s/pid", o->state_dir);
        int r = -1, in, out, err, created = 0;

        if (null < 0 || errf < 0)
                return err_sys(e, "open");
        unlink("pid");
        if (o->tty) {
                console = console_listen(o, &console_path, e);
                if (console < 0)
                        return -1;
                /* the runtime's own stdio: its messages only */
                in = null;
                out = null;
                err = errf;
        } else {
                if ((o->open_stdin && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 ||
                    pipe2(perr, O_CLOEXEC) < 0) {
                        err_sys(e, "pipe");
                        goto out;
                }
                in = o->open_stdin ? pin[0] : null;
                out = pout[1];
                err = perr[1];
        }

        int st;
        /* Without a tty, one `run --detach` (create and start in one runtime
         * process, which deletes what it made if the start fails) saves a
         * runtime start-up; barged sends SHIM_START only once it wants the
         * process running, so nothing waits between the two.  With a tty
         * the pty master must be in hand before the process runs. */
        int one_call = o->bundle && !o->tty;
        if (o->bundle) {
                const char *args[16];
                size_t n = 0;
                if (one_call) {
                        args[n++] = "run";
                        args[n++] = "--detach";
                } else {
                        args[n++] = "create";
                }
                args[n++] = "--bundle";
                args[n++] = o->bundle;
                args[n++] = "--pid-file";
                args[n++] = pidfile;
                if (o->tty) {
                        args[n++] = "--console-socket";
                        args[n++] = console_path;
                }
                args[n++] = o->id;
                args[n] = NULL;
                /* a failed run may have got as far as a created container */
                created = one_call;
                st = run_runtime(o, args, in, out, err);
                if (!ok_status(st)) {
                        runtime_failed(st, one_call ? "run" : "create", o->tty ? RUNTIME_ERR : NULL,
                                       e);
                        goto out;
                }
                created = 1;
        } else {
                const char *args[16];
                size_t n = 0;
                args[n++] = "exec";
                args[n++] = "--detach";
                args[n++] = "--pid-file";
                args[n++] = pidfile;
                args[n++] = "--process";
                args[n++] = o->process;
                if (o->tty) {
                        args[n++] = "--tty";
                        args[n++] = "--console-socket";
                        args[n++] = console_path;
                }
                args[n++] = o->id;
                args[n] = NULL;
                st = run_runtime(o, args, in, out, err);
                if (!ok_status(st)) {
                        runtime_failed(st, "exec", o->tty ? RUNTIME_ERR : NULL, e);
                        goto out;
                }
        }
        if (read_pid(pid, e) < 0)
                goto out;

        io->master = -1;
        if (o->tty) {
                io->master = console_recv(console, e);
                if (io->master < 0)
                        goto out;
                io->out = io->master;
                io->err = -1;
                io->in = o->open_stdin ? fcntl(io->master, F_DUPFD_CLOEXEC, 3) : -1;
        } else {
                io->in = TAKE_FD(pin[1]);
                io->out = TAKE_FD(pout[0]);
                io->err = TAKE_FD(perr[0]);
        }

        if (o->bundle && !one_call) {
                if (ftruncate(errf, 0) < 0)
                        shim_logf("truncate: %m");
                const char *args[] = {"start", o->id, NULL};
                st = run_runtime(o, args, null, null, errf);
                if (!ok_status(st)) {
                        runtime_failed(st, "start", RUNTIME_ERR, e);
                        int fds[] = {io->in, io->out, io->err};
                        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                                if (fds[i] >= 0 && fds[i] != io->master)
                                        close(fds[i]);
                        if (io->master >= 0)
                                close(io->master);
                        goto out;
                }
        }
        r = 0;
out:
        if (r < 0 && created)
                proc_delete(o);
        close_pair(pin);
        close_pair(pout);
        close_pair(perr);
        if (console >= 0)
                unlink(CONSOLE_SOCK);
        return r;
}

char *proc_oom_file(pid_t pid)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *buf = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len;
        if (read_file(p, 65536, &buf, &len, &e) < 0)
                return NULL;
        char *v1 = NULL, *v2 = NULL;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                /* hierarchy-id:controllers:path */
                char *c1 = strchr(line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                char *ctrls = c1 + 1, *path = c2 + 1, *save = NULL;
                if (strcmp(line, "0") == 0 && *ctrls == '\0') {
                        v2 = path;
                } else {
                        for (char *t = strtok_r(ctrls, ",", &save); t;
                             t = strtok_r(NULL, ",", &save))
                                if (strcmp(t, "memory") == 0)
                                        v1 = path;
                }
        }
        char *f = NULL;
        struct stat st;
        if (v1) {
                f = xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", v1);
                if (stat(f, &st) == 0)
                        return f;
                free(f);
        }
        if (v2) {
                const char *roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
                for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
                        f = xasprintf("%s%s/memory.events", roots[i], v2);
                        if (stat(f, &st) == 0)
                                return f;
                        free(f);
                }
        }
        return NULL;
}

int proc_oom_killed(const char *oom_file)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len;
        if (!oom_file || read_file(oom_file, 65536, &buf, &len, &e) < 0)
                return 0;
        const char *p = strstr(buf, "oom_kill ");
        return p && strtoll(p + 9, NULL, 10) > 0;
}

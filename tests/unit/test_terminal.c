/*
 * terminal.c: pty pairs, controlling terminals, fd passing the way runc's
 * console socket does it, and the proxy driving `cat` on a pty, fed first
 * from pipes and then from a second pty standing in for the user's terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/runtime/terminal.h"
#include "harness.h"

static int count(const char *hay, const char *needle)
{
        int n = 0;
        for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
                n++;
        return n;
}

/* Read from fd until `needle` occurs `times` times or 5 s pass; returns the count seen. */
static int read_until(int fd, const char *needle, int times, char *out, size_t cap)
{
        size_t len = 0;
        out[0] = '\0';
        for (int waited = 0; waited < 5000;) {
                int seen = count(out, needle);
                if (seen >= times)
                        return seen;
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int r = poll(&pfd, 1, 100);
                if (r == 0) {
                        waited += 100;
                        continue;
                }
                ssize_t n = read(fd, out + len, cap - 1 - len);
                if (n <= 0)
                        return count(out, needle);
                len += (size_t)n;
                out[len] = '\0';
        }
        return count(out, needle);
}

static int winsize_is(int fd, unsigned short rows, unsigned short cols)
{
        struct winsize ws;
        return ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row == rows && ws.ws_col == cols;
}

/* Poll `cond` for up to 5 s. */
#define WAIT_FOR(cond)                                                                             \
        ({                                                                                         \
                int _ok = 0;                                                                       \
                for (int _i = 0; _i < 500 && !(_ok = (cond)); _i++)                                \
                        usleep(10000);                                                             \
                _ok;                                                                               \
        })

static void test_open(void)
{
        _cleanup_err_ struct err *e = NULL;
        int m = -1, s = -1;
        CHECK(terminal_open(&m, &s, 24, 80, &e) == 0);
        _cleanup_close_ int master = m, slave = s;
        CHECK(isatty(slave));
        CHECK(winsize_is(slave, 24, 80));
        CHECK((fcntl(master, F_GETFD) & FD_CLOEXEC) && (fcntl(slave, F_GETFD) & FD_CLOEXEC));
        CHECK(write(master, "hi\n", 3) == 3);
        char buf[16] = {0};
        CHECK(read(slave, buf, sizeof(buf) - 1) == 3);
        CHECK_STR(buf, "hi\n");
}

static void test_make_controlling(void)
{
        _cleanup_err_ struct err *e = NULL;
        int m = -1, s = -1;
        CHECK(terminal_open(&m, &s, 0, 0, &e) == 0);
        _cleanup_close_ int master = m;
        pid_t pid = fork();
        if (pid == 0) {
                if (terminal_make_controlling(s, NULL) < 0)
                        _exit(2);
                int ok = isatty(0) && isatty(1) && isatty(2) && tcgetsid(0) == getpid();
                printf("%s\n", ok ? "controlling" : "wrong");
                fflush(stdout);
                _exit(ok ? 0 : 1);
        }
        close(s);
        char out[256];
        CHECK(read_until(master, "controlling", 1, out, sizeof(out)) == 1);
        int status;
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int listen_at(const char *path)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0)
                return -1;
        return fd;
}

/* What runc's peers (containerd's RecvFd, recvtty) read: the data is "/dev/ptmx". */
static void test_send_fd_wire(void)
{
        char dir[] = "/tmp/barge-term-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/console.sock", dir);
        _cleanup_close_ int lfd = listen_at(path);
        CHECK(lfd >= 0);
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        _cleanup_close_ int rd = p[0], wr = p[1];
        _cleanup_err_ struct err *e = NULL;
        CHECK(terminal_send_fd(path, wr, NULL, &e) == 0);
        _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        unlink(path);
        rmdir(dir);
        CHECK(conn >= 0);
        char data[4096];
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        CHECK(n == 9 && memcmp(data, "/dev/ptmx", 9) == 0);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        CHECK(c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)));
        int got;
        memcpy(&got, CMSG_DATA(c), sizeof(int));
        CHECK(write(got, "x", 1) == 1);
        close(got);
        char b;
        CHECK(read(rd, &b, 1) == 1 && b == 'x');
}

static void test_send_recv_socketpair(void)
{
        int sv[2], p[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        _cleanup_close_ int a = sv[0], b = sv[1], rd = p[0], wr = p[1];
        _cleanup_err_ struct err *e = NULL;
        CHECK(terminal_send_fd_sock(a, wr, "my-fd", &e) == 0);
        int fd = -1;
        CHECK(terminal_recv_fd(b, &fd, &e) == 0);
        _cleanup_close_ int got = fd;
        CHECK(got >= 0 && got != wr && (fcntl(got, F_GETFD) & FD_CLOEXEC));
        CHECK(write(got, "y", 1) == 1);
        char c;
        CHECK(read(rd, &c, 1) == 1 && c == 'y');
}

static void test_recv_errors(void)
{
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        _cleanup_close_ int a = sv[0], b = sv[1];
        int fd = -1;
        {
                _cleanup_err_ struct err *e = NULL;
                CHECK(write(a, "no fd here", 10) == 10);
                CHECK(terminal_recv_fd(b, &fd, &e) < 0 && e != NULL);
                CHECK(strstr(e->msg, "exactly one") != NULL);
        }
        {
                _cleanup_err_ struct err *e = NULL;
                shutdown(a, SHUT_WR);
                CHECK(terminal_recv_fd(b, &fd, &e) < 0 && e != NULL);
                CHECK(strstr(e->msg, "without sending") != NULL);
        }
        _cleanup_err_ struct err *e = NULL;
        CHECK(terminal_send_fd("/tmp/barge-no-such-dir/sock", 0, NULL, &e) < 0);
        CHECK(strstr(e->msg, "/tmp/barge-no-such-dir/sock") != NULL);
}

/* The "container": cat on the pty whose slave is `slave`. */
static pid_t spawn_cat(int slave)
{
        pid_t pid = fork();
        if (pid == 0) {
                if (terminal_make_controlling(slave, NULL) < 0)
                        _exit(126);
                execl("/bin/cat", "cat", (char *)NULL);
                _exit(127);
        }
        return pid;
}

/* The runtime's foreground side: proxy between `in`/`out` and `master`. */
static pid_t spawn_proxy(int master, int in, int out)
{
        pid_t pid = fork();
        if (pid == 0) {
                alarm(10);
                if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
                        _exit(3);
                /* Hold nothing else: a stray slave or pipe end would keep it waiting. */
                for (int fd = 3; fd < 1024; fd++)
                        if (fd != master)
                                close(fd);
                struct err *e = NULL;
                if (terminal_proxy(master, &e) == 0)
                        _exit(0);
                fprintf(stderr, "# proxy: %s\n", e->msg);
                _exit(1);
        }
        return pid;
}

static int exited_ok(pid_t pid)
{
        int status;
        if (waitpid(pid, &status, 0) != pid)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 1;
        printf("# pid %d: status 0x%x\n", (int)pid, status);
        return 0;
}

static void test_proxy_pipes(void)
{
        _cleanup_err_ struct err *e = NULL;
        int m = -1, s = -1, in[2], out[2];
        CHECK(terminal_open(&m, &s, 0, 0, &e) == 0);
        /* Kept open until cat is reaped, as the runtime must: the last close of
         * a master hangs the pty up and SIGHUPs a session still exiting. */
        _cleanup_close_ int master = m;
        CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
        pid_t cat = spawn_cat(s);
        pid_t proxy = spawn_proxy(master, in[0], out[1]);
        close(s);
        close(in[0]);
        close(out[1]);
        /* An unterminated last line: the proxy must send EOF twice. */
        CHECK(write(in[1], "hello\nabc", 9) == 9);
        close(in[1]);
        char buf[4096];
        ssize_t n = read_full(out[0], buf, sizeof(buf) - 1);
        close(out[0]);
        CHECK(n > 0);
        buf[n] = '\0';
        CHECK(exited_ok(proxy));
        CHECK(exited_ok(cat));
        /* The pty echoes the input and cat writes it back: each shows up twice. */
        CHECK(count(buf, "hello\r\n") == 2);
        CHECK(count(buf, "abc") == 2);
}

static int is_raw(int master)
{
        struct termios t;
        return tcgetattr(master, &t) == 0 && !(t.c_lflag & ICANON);
}

static void test_proxy_tty(void)
{
        _cleanup_err_ struct err *e = NULL;
        int ma = -1, sa = -1, mu = -1, su = -1; /* container pty, "user" pty */
        CHECK(terminal_open(&ma, &sa, 0, 0, &e) == 0);
        CHECK(terminal_open(&mu, &su, 33, 111, &e) == 0);
        _cleanup_close_ int master = ma, user = mu;
        pid_t cat = spawn_cat(sa);
        pid_t proxy = spawn_proxy(master, su, su);
        close(sa);
        close(su);
        CHECK(WAIT_FOR(is_raw(user)));
        CHECK(WAIT_FOR(winsize_is(master, 33, 111)));
        struct winsize ws = {.ws_row = 50, .ws_col = 132};
        CHECK(ioctl(user, TIOCSWINSZ, &ws) == 0);
        kill(proxy, SIGWINCH);
        CHECK(WAIT_FOR(winsize_is(master, 50, 132)));
        CHECK(write(user, "ping\r", 5) == 5);
        char buf[4096];
        CHECK(read_until(user, "ping", 2, buf, sizeof(buf)) == 2);
        CHECK(write(user, "\004", 1) == 1); /* ^D typed on the user's terminal */
        CHECK(exited_ok(cat));
        CHECK(exited_ok(proxy));
        CHECK(!is_raw(user)); /* the user's terminal mode came back */
}

int main(void)
{
        signal(SIGPIPE, SIG_IGN);
        alarm(60);
        RUN(test_open);
        RUN(test_make_controlling);
        RUN(test_send_fd_wire);
        RUN(test_send_recv_socketpair);
        RUN(test_recv_errors);
        RUN(test_proxy_pipes);
        RUN(test_proxy_tty);
        return DONE();
}

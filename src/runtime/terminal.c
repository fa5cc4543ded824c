/*
 * terminal: pty pairs, the console socket and the foreground proxy.
 * See terminal.h for what is owned here.
 *
 * The proxy is one poll loop over stdin, the master and a signalfd for
 * SIGWINCH.  The master is non-blocking and stdin data waits in a small
 * buffer until the master takes it, so a container that stops reading its
 * terminal cannot stall the copy of its output (and the other way round).
 */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../common/util.h"

#define SENDFD_NAME_MAX 4096 /* runc's utils.MaxNameLen */

static int set_winsize(int fd, unsigned short rows, unsigned short cols, struct err **e)
{
        struct winsize ws = {.ws_row = rows, .ws_col = cols};
        if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
                return err_sys(e, "setting the terminal size to %ux%u", cols, rows);
        return 0;
}

/* TIOCGPTPEER opens the slave through the master, with no path lookup that a
 * container's /dev could redirect; kernels before 4.13 need the path. */
static int open_slave(int master, struct err **e)
{
        int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno != EINVAL && errno != ENOTTY)
                return err_sys(e, "opening the pty slave (TIOCGPTPEER)");
        unsigned int n;
        if (ioctl(master, TIOCGPTN, &n) < 0)
                return err_sys(e, "getting the pty number (TIOCGPTN)");
        char path[64];
        snprintf(path, sizeof(path), "/dev/pts/%u", n);
        fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "open %s", path);
        return fd;
}

int terminal_open(int *master, int *slave, unsigned short rows, unsigned short cols, struct err **e)
{
        _cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0)
                return err_sys(e, "open /dev/ptmx");
        int unlock = 0;
        if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
                return err_sys(e, "unlocking the pty (TIOCSPTLCK)");
        _cleanup_close_ int s = open_slave(m, e);
        if (s < 0)
                return -1;
        if (rows > 0 && cols > 0 && set_winsize(m, rows, cols, e) < 0)
                return -1;
        *master = TAKE_FD(m);
        *slave = TAKE_FD(s);
        return 0;
}

int terminal_make_controlling(int slave, struct err **e)
{
        /* A session leader (e.g. after an earlier setsid) may keep its session. */
        if (setsid() < 0 && getsid(0) != getpid())
                return err_sys(e, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return err_sys(e, "making the pty the controlling terminal (TIOCSCTTY)");
        for (int fd = 0; fd <= 2; fd++)
                if (fd != slave && dup2(slave, fd) < 0)
                        return err_sys(e, "dup2 of the pty onto fd %d", fd);
        return 0;
}

int terminal_connect_socket(const char *path, struct err **e)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path))
                return err_new(e, ENAMETOOLONG, "console socket %s", path);
        strcpy(addr.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_sys(e, "socket(AF_UNIX)");
        while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                if (errno != EINTR)
                        return err_sys(e, "connecting to console socket %s", path);
        return TAKE_FD(fd);
}

int terminal_send_fd_sock(int sockfd, int fd, const char *name, struct err **e)
{
        if (name == NULL)
                name = TERMINAL_MASTER_NAME;
        size_t len = strlen(name);
        if (len == 0 || len >= SENDFD_NAME_MAX)
                return err_new(e, EINVAL, "sending fd %d: name must be 1 to %d bytes", fd,
                               SENDFD_NAME_MAX - 1);
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl = {0};
        struct iovec iov = {.iov_base = (void *)name, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        ssize_t n;
        while ((n = sendmsg(sockfd, &msg, MSG_NOSIGNAL)) < 0)
                if (errno != EINTR)
                        return err_sys(e, "sending fd %d over the console socket", fd);
        if ((size_t)n != len)
                return err_new(e, EIO, "sending fd %d: short write on the console socket", fd);
        return 0;
}

int terminal_send_fd(const char *socket_path, int fd, const char *name, struct err **e)
{
        _cleanup_close_ int s = terminal_connect_socket(socket_path, e);
        if (s < 0)
                return -1;
        if (terminal_send_fd_sock(s, fd, name, e) < 0)
                return err_wrap(e, "console socket %s", socket_path);
        return 0;
}

/* Take the single SCM_RIGHTS fd out of `msg`; close anything else. */
static int take_one_fd(struct msghdr *msg, int *out)
{
        int found = -1, extra = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (found < 0) {
                                found = fd;
                        } else {
                                close(fd);
                                extra = 1;
                        }
                }
        }
        if (found >= 0 && (extra || (msg->msg_flags & MSG_CTRUNC))) {
                close(found);
                return -1;
        }
        *out = found;
        return found >= 0 ? 0 : -1;
}

int terminal_recv_fd(int sockfd, int *fd, struct err **e)
{
        char name[SENDFD_NAME_MAX];
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t n;
        while ((n = recvmsg(sockfd, &msg, MSG_CMSG_CLOEXEC)) < 0)
                if (errno != EINTR)
                        return err_sys(e, "receiving a file descriptor");
        if (take_one_fd(&msg, fd) < 0) {
                if (n == 0 && msg.msg_controllen == 0)
                        return err_new(e, 0,
                                       "receiving a file descriptor: peer closed the "
                                       "socket without sending one");
                return err_new(e, 0, "receiving a file descriptor: expected exactly one fd");
        }
        return 0;
}

/* ---- foreground proxy ---- */

struct proxy {
        int master;
        int master_flags; /* fcntl F_GETFL before we set O_NONBLOCK, -1 if unchanged */
        int stdin_tty;
        struct termios saved; /* stdin's mode, restored on exit when stdin_tty */
        sigset_t saved_mask;
        int mask_saved;
        int sigfd;
        int stdin_open;
        char buf[4096]; /* stdin data not yet taken by the master */
        size_t len, off;
        size_t sent;    /* bytes written to the master so far */
        char last_sent; /* last of those, to tell whether a line is unterminated */
};

static void copy_winsize(struct proxy *p)
{
        struct winsize ws;
        if (p->stdin_tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(p->master, TIOCSWINSZ, &ws);
}

static int proxy_setup(struct proxy *p, struct err **e)
{
        sigset_t winch;
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &winch, &p->saved_mask) < 0)
                return err_sys(e, "blocking SIGWINCH");
        p->mask_saved = 1;
        p->sigfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
        if (p->sigfd < 0)
                return err_sys(e, "signalfd(SIGWINCH)");
        int fl = fcntl(p->master, F_GETFL);
        if (fl < 0 || fcntl(p->master, F_SETFL, fl | O_NONBLOCK) < 0)
                return err_sys(e, "making the pty master non-blocking");
        p->master_flags = fl;
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &p->saved) == 0) {
                struct termios raw = p->saved;
                cfmakeraw(&raw);
                if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                        return err_sys(e, "putting the terminal in raw mode");
                p->stdin_tty = 1;
        }
        copy_winsize(p);
        return 0;
}

static void proxy_restore(struct proxy *p)
{
        if (p->stdin_tty)
                tcsetattr(STDIN_FILENO, TCSADRAIN, &p->saved);
        if (p->master_flags >= 0)
                fcntl(p->master, F_SETFL, p->master_flags);
        if (p->sigfd >= 0)
                close(p->sigfd);
        if (p->mask_saved)
                sigprocmask(SIG_SETMASK, &p->saved_mask, NULL);
}

/* Queue what a user would type to end input: the pty's VEOF character, twice
 * when a canonical-mode line is pending (the first only submits the line). */
static void queue_eof(struct proxy *p)
{
        struct termios t;
        p->stdin_open = 0;
        if (tcgetattr(p->master, &t) < 0 || t.c_cc[VEOF] == _POSIX_VDISABLE)
                return;
        int pending_line = (t.c_lflag & ICANON) && p->sent > 0 && p->last_sent != '\n';
        p->off = 0;
        p->len = 0;
        p->buf[p->len++] = (char)t.c_cc[VEOF];
        if (pending_line)
                p->buf[p->len++] = (char)t.c_cc[VEOF];
}

static int read_stdin(struct proxy *p, struct err **e)
{
        ssize_t n = read(STDIN_FILENO, p->buf, sizeof(p->buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n < 0 && errno != EIO)
                return err_sys(e, "reading stdin");
        if (n <= 0) {
                queue_eof(p); /* EOF, or EIO: our own terminal hung up */
                return 0;
        }
        p->off = 0;
        p->len = (size_t)n;
        return 0;
}

static int write_master(struct proxy *p, struct err **e)
{
        ssize_t n = write(p->master, p->buf + p->off, p->len - p->off);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : err_sys(e, "writing to the pty");
        p->off += (size_t)n;
        p->sent += (size_t)n;
        p->last_sent = p->buf[p->off - 1];
        if (p->off == p->len)
                p->off = p->len = 0;
        return 0;
}

/* Blocking write to stdout, which may have been left O_NONBLOCK by others. */
static int write_stdout(const char *buf, size_t len, struct err **e)
{
        while (len > 0) {
                ssize_t n = write(STDOUT_FILENO, buf, len);
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd pfd = {.fd = STDOUT_FILENO, .events = POLLOUT};
                        poll(&pfd, 1, -1);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_sys(e, "writing to stdout");
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Returns 1 when the pty has hung up (all slaves closed), 0 to go on. */
static int read_master(struct proxy *p, struct err **e)
{
        char buf[8192];
        ssize_t n = read(p->master, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n == 0 || (n < 0 && errno == EIO))
                return 1;
        if (n < 0)
                return err_sys(e, "reading from the pty");
        return write_stdout(buf, (size_t)n, e);
}

static void drain_sigfd(struct proxy *p)
{
        struct signalfd_siginfo si;
        while (read(p->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
        copy_winsize(p);
}

/* One poll round; returns 1 when the pty has hung up. */
static int proxy_step(struct proxy *p, struct err **e)
{
        int want_stdin = p->stdin_open && p->len == 0;
        struct pollfd fds[3] = {
            {.fd = p->master, .events = POLLIN | (p->len > 0 ? POLLOUT : 0)},
            {.fd = p->sigfd, .events = POLLIN},
            {.fd = want_stdin ? STDIN_FILENO : -1, .events = POLLIN},
        };
        if (poll(fds, 3, -1) < 0)
                return errno == EINTR ? 0 : err_sys(e, "poll");
        if (fds[1].revents)
                drain_sigfd(p);
        if (fds[2].revents & POLLNVAL)
                queue_eof(p);
        else if (fds[2].revents && read_stdin(p, e) < 0)
                return -1;
        if ((fds[0].revents & POLLOUT) && write_master(p, e) < 0)
                return -1;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
                return read_master(p, e);
        return 0;
}

int terminal_proxy(int master, struct err **e)
{
        struct proxy p = {.master = master, .master_flags = -1, .sigfd = -1, .stdin_open = 1};
        int r = proxy_setup(&p, e);
        while (r == 0)
                r = proxy_step(&p, e);
        proxy_restore(&p);
        return r < 0 ? -1 : 0;
}

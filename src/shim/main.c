/*
 * barge-shim: the supervisor of one process (a container's init or one
 * exec), see src/engine/shim.h for its files and role and proto.h for the
 * wire protocol.  One thread, one poll loop over: the listening socket,
 * the one client (barged; a new connection replaces the old one), a
 * signalfd for SIGCHLD, the process's output (pipes or the pty master) and
 * its stdin.  The shim is started by barged and detaches at once (new
 * session, double fork, child subreaper), so that it and the container
 * outlive barged.  It stays small: static, no JSON library, no threads,
 * fixed buffers.
 *
 * Output is read as soon as it comes, written to the json-file log (split
 * into lines, partial at 16 KiB and at EOF as Docker does) and copied to
 * the client only if that never blocks: the log is the authoritative copy.
 */
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"
#include "proto.h"

#define LINE_MAX_LEN 16384          /* Docker's json-file splits longer lines */
#define CLIENT_OUT_MAX (256 * 1024) /* output queued for a slow client, then dropped */
#define DRAIN_NS (2LL * 1000000000) /* after the exit: wait this long for the pipes' EOF */
#define ACK_NS (5LL * 1000000000)   /* after EXIT: wait this long for the client's ack */
/* not started and nobody connected for this long: nobody will start us */
#define ORPHAN_NS (5LL * 1000000000)

enum phase {
        WAITING,  /* not started yet */
        RUNNING,  /* the process runs */
        DRAINING, /* it exited; reading what is left in its output */
        EXITED,   /* exit recorded and sent; waiting for the ack */
        FAILED,   /* start failed; sending that, then exiting */
};

struct out_stream {
        int fd;
        int stream; /* 1 stdout, 2 stderr */
        size_t len;
        char line[LINE_MAX_LEN];
};

/* The shim's whole state: one process, one thread; owned by the loop. */
static struct {
        struct shim_opts o;
        enum phase phase;
        int64_t deadline; /* ns; 0: none */
        int lfd, cfd, sfd;
        unsigned char in[SHIM_HDR_LEN + SHIM_MAX_PAYLOAD];
        size_t inlen;
        unsigned char *obuf;
        size_t olen, ocap;
        pid_t pid;
        struct shim_stdio io;
        struct out_stream out[2];
        unsigned char *stdin_buf; /* pending input (one frame's worth) */
        size_t stdin_len, stdin_off;
        int stdin_close;
        int exit_code, oom;
        int64_t finished;
        char *oom_file;
        struct jsonlog *log;
} S; /* zero-initialized, so its buffers are bss: untouched pages cost no RSS */

static char chunk[8192];

void shim_logf(const char *fmt, ...)
{
        char ts[48];
        time_format_go(time_now_ns(), ts);
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s barge-shim[%d]: ", ts, (int)getpid());
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static void drop_client(void)
{
        if (S.cfd >= 0)
                close(S.cfd);
        S.cfd = -1;
        S.inlen = 0;
        S.olen = 0;
        if (S.phase == WAITING)
                S.deadline = time_now_ns() + ORPHAN_NS;
}

static void flush_client(void)
{
        while (S.cfd >= 0 && S.olen > 0) {
                ssize_t n = send(S.cfd, S.obuf, S.olen, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                drop_client();
                        return;
                }
                memmove(S.obuf, S.obuf + n, S.olen - (size_t)n);
                S.olen -= (size_t)n;
        }
}

/* Queue a frame for the client.  Output (`droppable`) is dropped when the
 * client is too far behind; control frames always go in. */
static void send_frame(uint8_t type, const void *a, size_t an, const void *b, size_t bn,
                       int droppable)
{
        if (S.cfd < 0)
                return;
        size_t total = SHIM_HDR_LEN + an + bn;
        if (droppable && S.olen + total > CLIENT_OUT_MAX)
                return;
        if (S.olen + total > S.ocap) {
                size_t cap = S.ocap ? S.ocap : 4096;
                while (cap < S.olen + total)
                        cap *= 2;
                unsigned char *p = realloc(S.obuf, cap);
                if (!p)
                        return;
                S.obuf = p;
                S.ocap = cap;
        }
        unsigned char *p = S.obuf + S.olen;
        shim_put_hdr(p, type, (uint32_t)(an + bn));
        if (an)
                memcpy(p + SHIM_HDR_LEN, a, an);
        if (bn)
                memcpy(p + SHIM_HDR_LEN + an, b, bn);
        S.olen += total;
        flush_client();
}

static void send_exit(void)
{
        unsigned char p[16];
        shim_put_u32(p, (uint32_t)S.exit_code);
        shim_put_u64(p + 4, (uint64_t)S.finished);
        shim_put_u32(p + 12, (uint32_t)S.oom);
        send_frame(SHIM_EXIT, p, sizeof(p), NULL, 0, 0);
}

static void log_line(struct out_stream *s, int64_t ns)
{
        if (S.log && s->len > 0)
                jsonlog_write(S.log, s->stream, s->line, s->len, ns);
        s->len = 0;
}

/* Output for the log: whole lines, or 16 KiB pieces of a longer one. */
static void log_feed(struct out_stream *s, const char *p, size_t n, int64_t ns)
{
        if (!S.log)
                return;
        while (n > 0) {
                const char *nl = memchr(p, '\n', n);
                size_t take = nl ? (size_t)(nl - p) + 1 : n;
                if (take > LINE_MAX_LEN - s->len)
                        take = LINE_MAX_LEN - s->len;
                memcpy(s->line + s->len, p, take);
                s->len += take;
                p += take;
                n -= take;
                if (s->line[s->len - 1] == '\n' || s->len == LINE_MAX_LEN)
                        log_line(s, ns);
        }
}

static void close_stream(struct out_stream *s)
{
        log_line(s, time_now_ns());
        if (s->fd >= 0 && s->fd != S.io.master)
                close(s->fd);
        s->fd = -1;
}

static void read_stream(struct out_stream *s)
{
        for (int i = 0; i < 16 && s->fd >= 0; i++) {
                ssize_t n = read(s->fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        /* EOF, or EIO on a pty master whose slaves are all closed */
                        close_stream(s);
                        return;
                }
                send_frame(s->stream == 2 ? SHIM_STDERR : SHIM_STDOUT, chunk, (size_t)n, NULL, 0,
                           1);
                log_feed(s, chunk, (size_t)n, time_now_ns());
        }
}

static void close_stdin_now(void)
{
        if (S.io.in >= 0)
                close(S.io.in);
        S.io.in = -1;
        S.stdin_len = S.stdin_off = 0;
}

static void flush_stdin(void)
{
        while (S.io.in >= 0 && S.stdin_off < S.stdin_len) {
                ssize_t n = write(S.io.in, S.stdin_buf + S.stdin_off, S.stdin_len - S.stdin_off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        /* the reader is gone: input has nowhere to go */
                        close_stdin_now();
                        return;
                }
                S.stdin_off += (size_t)n;
        }
        S.stdin_len = S.stdin_off = 0;
        if (S.stdin_close && S.io.in >= 0 && !S.o.tty)
                close_stdin_now();
}

static void fail_start(struct err *e)
{
        const char *msg = e && e->msg ? e->msg : "start failed";
        int code = e && e->code ? e->code : EIO;
        shim_logf("start: %s", msg);
        _cleanup_free_ char *line = xasprintf("%s\n", msg);
        _cleanup_err_ struct err *we = NULL;
        if (write_file_atomic("error", line, strlen(line), 0644, &we) < 0)
                shim_logf("%s", we->msg);
        unsigned char c[4];
        shim_put_u32(c, (uint32_t)code);
        send_frame(SHIM_START_FAILED, c, 4, msg, strlen(msg), 0);
        unlink("shim.sock");
        S.phase = FAILED;
        S.deadline = time_now_ns() + ACK_NS;
}

/* Drop our read-only file pages (code, constants) from our page table
 * once the start is done.  The kernel maps a whole window of cached file
 * pages around every page fault, so by now most of the static binary
 * counts in our RSS although the loop uses a small part of it.  These
 * segments are never written (RELRO, which is, is left alone), so what the
 * loop touches comes back from the page cache. */
static int shed_segment(struct dl_phdr_info *info, size_t size, void *data)
{
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t relro_lo = 0, relro_hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_GNU_RELRO) {
                        relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
                        relro_hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz + pg - 1;
                        relro_hi &= ~(pg - 1);
                }
        }
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
                        continue;
                /* whole pages only, none shared with a writable segment */
                uintptr_t a = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
                uintptr_t b = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz) & ~(pg - 1);
                if (b <= a || (a < relro_hi && b > relro_lo))
                        continue;
                if (madvise((void *)a, b - a, MADV_DONTNEED) < 0)
                        shim_logf("madvise: %m");
        }
        return 1; /* the executable only: it comes first */
}

static void shed_text(void)
{
        dl_iterate_phdr(shed_segment, NULL);
}

static void do_start(void)
{
        _cleanup_err_ struct err *e = NULL;
        if (S.phase != WAITING) {
                unsigned char c[4];
                const char *msg = "already started";
                shim_put_u32(c, EALREADY);
                send_frame(SHIM_START_FAILED, c, 4, msg, strlen(msg), 0);
                return;
        }
        if (proc_start(&S.o, &S.pid, &S.io, &e) < 0) {
                fail_start(e);
                return;
        }
        int fds[] = {S.io.in, S.io.out, S.io.err};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (fds[i] >= 0)
                        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        /* field by field: a struct assignment would zero (touch) the line buffers */
        S.out[0].fd = S.io.out;
        S.out[0].stream = 1;
        S.out[1].fd = S.io.err;
        S.out[1].stream = 2;
        if (S.o.bundle)
                S.oom_file = proc_oom_file(S.pid);
        S.phase = RUNNING;
        shed_text();
        unsigned char p[4];
        shim_put_u32(p, (uint32_t)S.pid);
        send_frame(SHIM_STARTED, p, 4, NULL, 0, 0);
}

/* Handle the buffered frames from the client; stops while input for the
 * process is pending (the client then waits: backpressure on stdin). */
static void process_frames(void)
{
        size_t off = 0;
        while (S.cfd >= 0 && S.stdin_len == 0 && S.inlen - off >= SHIM_HDR_LEN) {
                uint32_t len = shim_get_u32(S.in + off);
                uint8_t type = S.in[off + 4];
                if (len > SHIM_MAX_PAYLOAD) {
                        shim_logf("client sent a frame of %u bytes", len);
                        drop_client();
                        return;
                }
                if (S.inlen - off < SHIM_HDR_LEN + len)
                        break;
                const unsigned char *p = S.in + off + SHIM_HDR_LEN;
                off += SHIM_HDR_LEN + len;
                switch (type) {
                case SHIM_START:
                        do_start();
                        break;
                case SHIM_STDIN:
                        if (S.io.in >= 0 && !S.stdin_close && len > 0) {
                                if (!S.stdin_buf)
                                        S.stdin_buf = xmalloc(SHIM_MAX_PAYLOAD);
                                memcpy(S.stdin_buf, p, len);
                                S.stdin_len = len;
                                S.stdin_off = 0;
                                flush_stdin();
                        }
                        break;
                case SHIM_CLOSE_STDIN:
                        S.stdin_close = 1;
                        if (S.stdin_len == 0 && !S.o.tty)
                                close_stdin_now();
                        break;
                case SHIM_RESIZE:
                        if (len >= 8 && S.io.master >= 0) {
                                struct winsize ws = {.ws_col = (unsigned short)shim_get_u32(p),
                                                     .ws_row = (unsigned short)shim_get_u32(p + 4)};
                                if (ioctl(S.io.master, TIOCSWINSZ, &ws) < 0)
                                        shim_logf("resize: %m");
                        }
                        break;
                case SHIM_EXIT_ACK:
                        if (S.phase == EXITED)
                                exit(0);
                        break;
                default:
                        shim_logf("unknown frame type %u", type);
                        break;
                }
        }
        if (S.cfd < 0)
                return;
        memmove(S.in, S.in + off, S.inlen - off);
        S.inlen -= off;
}

static void read_client(void)
{
        ssize_t n = recv(S.cfd, S.in + S.inlen, sizeof(S.in) - S.inlen, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                drop_client();
                return;
        }
        S.inlen += (size_t)n;
        process_frames();
}

static void accept_client(void)
{
        int fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        /* one client at a time: a reconnecting barged replaces the old one */
        drop_client();
        S.cfd = fd;
        if (S.phase == WAITING)
                S.deadline = 0;
        if (S.phase == EXITED)
                send_exit();
}

static void reap(void)
{
        struct signalfd_siginfo si;
        while (read(S.sfd, &si, sizeof(si)) > 0)
                ;
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p != S.pid || S.phase != RUNNING)
                        continue;
                S.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                S.finished = time_now_ns();
                S.phase = DRAINING;
                S.deadline = S.finished + DRAIN_NS;
        }
}

/* The process is gone and its output read: record the exit, clean the
 * runtime's container up, tell the client. */
static void finish(void)
{
        for (size_t i = 0; i < 2; i++)
                if (S.out[i].fd >= 0)
                        close_stream(&S.out[i]);
        close_stdin_now();
        if (S.io.master >= 0)
                close(S.io.master);
        S.io.master = -1;
        S.oom = proc_oom_killed(S.oom_file);
        proc_delete(&S.o);
        char ts[48];
        time_format_go(S.finished, ts);
        char buf[160];
        int n = snprintf(buf, sizeof(buf),
                         "{\"exit_code\": %d, \"finished_at\": \"%s\", \"oom_killed\": %s}\n",
                         S.exit_code, ts, S.oom ? "true" : "false");
        _cleanup_err_ struct err *e = NULL;
        if (write_file_atomic("exit", buf, (size_t)n, 0644, &e) < 0)
                shim_logf("%s", e->msg);
        unlink("shim.sock");
        unlink("shim.pid");
        if (S.cfd < 0)
                exit(0);
        S.phase = EXITED;
        S.deadline = time_now_ns() + ACK_NS;
        send_exit();
}

static int loop(void)
{
        for (;;) {
                if (S.phase == DRAINING &&
                    ((S.out[0].fd < 0 && S.out[1].fd < 0) || time_now_ns() >= S.deadline))
                        finish();
                if (S.phase == WAITING && S.cfd < 0 && S.deadline > 0 && time_now_ns() >= S.deadline) {
                        /* barged went away before starting us (it spawns a
                         * shim per start): nothing will start us now */
                        shim_logf("no client and not started: exiting");
                        unlink("shim.sock");
                        unlink("shim.pid");
                        return 0;
                }
                if ((S.phase == EXITED || S.phase == FAILED) &&
                    (S.cfd < 0 || time_now_ns() >= S.deadline || (S.phase == FAILED && S.olen == 0)))
                        return 0;

                struct pollfd pfd[6];
                int n = 0, ilisten = -1, iclient = -1, isig, iout[2] = {-1, -1}, iin = -1;
                isig = n;
                pfd[n++] = (struct pollfd){.fd = S.sfd, .events = POLLIN};
                if (S.phase != FAILED && S.phase != EXITED) {
                        ilisten = n;
                        pfd[n++] = (struct pollfd){.fd = S.lfd, .events = POLLIN};
                }
                if (S.cfd >= 0) {
                        iclient = n;
                        pfd[n++] =
                            (struct pollfd){.fd = S.cfd,
                                            .events = (short)((S.stdin_len == 0 ? POLLIN : 0) |
                                                              (S.olen > 0 ? POLLOUT : 0))};
                }
                for (int i = 0; i < 2; i++)
                        if (S.out[i].fd >= 0 && S.phase >= RUNNING) {
                                iout[i] = n;
                                pfd[n++] = (struct pollfd){.fd = S.out[i].fd, .events = POLLIN};
                        }
                if (S.io.in >= 0 && S.stdin_len > 0) {
                        iin = n;
                        pfd[n++] = (struct pollfd){.fd = S.io.in, .events = POLLOUT};
                }
                int timeout = -1;
                if (S.deadline > 0) {
                        int64_t left = (S.deadline - time_now_ns()) / 1000000;
                        timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left + 1;
                }
                int r = poll(pfd, (nfds_t)n, timeout);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        shim_logf("poll: %m");
                        return 1;
                }
                if (pfd[isig].revents)
                        reap();
                for (int i = 0; i < 2; i++)
                        if (iout[i] >= 0 && pfd[iout[i]].revents)
                                read_stream(&S.out[i]);
                if (iin >= 0 && pfd[iin].revents) {
                        flush_stdin();
                        if (S.stdin_len == 0)
                                process_frames();
                }
                if (iclient >= 0 && S.cfd >= 0 && pfd[iclient].revents) {
                        if (pfd[iclient].revents & POLLOUT)
                                flush_client();
                        if (S.cfd >= 0 && (pfd[iclient].revents & (POLLIN | POLLHUP | POLLERR)))
                                read_client();
                }
                if (ilisten >= 0 && pfd[ilisten].revents)
                        accept_client();
        }
}

static void usage(void)
{
        fprintf(stderr,
                "usage: barge-shim --id ID (--bundle DIR | --process FILE) --runtime BIN\n"
                "  --runtime-root DIR --state-dir DIR [--log FILE --log-max-size N\n"
                "  --log-max-file N] [--tty] [--stdin] [--ready-fd FD] [--runtime-fd FD]\n");
        exit(2);
}

/* Close every fd from `lowest` up but `keep1` and `keep2` (-1: none). */
static void close_fds_from(int lowest, int keep1, int keep2)
{
        if (keep1 > keep2) {
                int t = keep1;
                keep1 = keep2;
                keep2 = t;
        }
        /* close_range (5.9): a few calls rather than a thousand closes */
        int from = lowest;
        const int keep[] = {keep1, keep2};
        for (int i = 0; i < 2; i++) {
                if (keep[i] < from)
                        continue;
                if (keep[i] > from && syscall(SYS_close_range, from, keep[i] - 1, 0) < 0)
                        goto slow;
                from = keep[i] + 1;
        }
        if (syscall(SYS_close_range, from, ~0U, 0) == 0)
                return;
slow:
        for (int fd = lowest; fd < 1024; fd++)
                if (fd != keep1 && fd != keep2)
                        close(fd);
}

/* Tell the spawner we are ready ("ok") or why not, then stop talking. */
static void ready(int *fd, const char *msg)
{
        if (*fd < 0)
                return;
        if (write_all(*fd, msg, strlen(msg)) < 0)
                shim_logf("ready: %m");
        close(*fd);
        *fd = -1;
}

static int setup(int ready_fd, struct err **e)
{
        if (chdir(S.o.state_dir) < 0)
                return err_sys(e, "chdir %s", S.o.state_dir);
        int null = open("/dev/null", O_RDWR);
        int logfd = open("shim.log", O_WRONLY | O_CREAT | O_APPEND, 0640);
        if (null < 0 || logfd < 0)
                return err_sys(e, "open");
        dup2(null, 0);
        dup2(null, 1);
        dup2(logfd, 2);
        close(null);
        close(logfd);
        close_fds_from(3, ready_fd, S.o.runtime_fd);
        if (S.o.runtime_fd >= 0 && fcntl(S.o.runtime_fd, F_SETFD, FD_CLOEXEC) < 0)
                S.o.runtime_fd = -1; /* not open: run the runtime by its path */
        /* a new session and a second fork: reparented away from barged */
        if (setsid() < 0)
                return err_sys(e, "setsid");
        pid_t p = fork();
        if (p < 0)
                return err_sys(e, "fork");
        if (p > 0)
                _exit(0);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return err_sys(e, "PR_SET_CHILD_SUBREAPER");
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        S.sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        if (S.sfd < 0)
                return err_sys(e, "signalfd");

        if (S.o.log_path &&
            jsonlog_open(S.o.log_path, S.o.log_max_size, S.o.log_max_file, &S.log, e) < 0)
                return -1;
        unlink("shim.sock");
        unlink("exit");
        unlink("error");
        S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (S.lfd < 0)
                return err_sys(e, "socket");
        /* relative to the state dir: its absolute path may not fit sun_path */
        struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "shim.sock"};
        if (bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(S.lfd, 8) < 0)
                return err_sys(e, "listen on %s/shim.sock", S.o.state_dir);
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (write_file_atomic("shim.pid", pid, (size_t)n, 0644, e) < 0)
                return -1;
        return 0;
}

int main(int argc, char **argv)
{
        enum {
                O_ID = 256,
                O_BUNDLE,
                O_PROCESS,
                O_RUNTIME,
                O_ROOT,
                O_STATE,
                O_LOG,
                O_MAXSIZE,
                O_MAXFILE,
                O_TTY,
                O_STDIN,
                O_READY,
                O_RUNTIME_FD
        };
        static const struct option opts[] = {
            {"id", required_argument, NULL, O_ID},
            {"bundle", required_argument, NULL, O_BUNDLE},
            {"process", required_argument, NULL, O_PROCESS},
            {"runtime", required_argument, NULL, O_RUNTIME},
            {"runtime-root", required_argument, NULL, O_ROOT},
            {"state-dir", required_argument, NULL, O_STATE},
            {"log", required_argument, NULL, O_LOG},
            {"log-max-size", required_argument, NULL, O_MAXSIZE},
            {"log-max-file", required_argument, NULL, O_MAXFILE},
            {"tty", no_argument, NULL, O_TTY},
            {"stdin", no_argument, NULL, O_STDIN},
            {"ready-fd", required_argument, NULL, O_READY},
            {"runtime-fd", required_argument, NULL, O_RUNTIME_FD},
            {NULL, 0, NULL, 0},
        };
        int ready_fd = -1, c;
        long long v;
        S.lfd = S.cfd = S.sfd = -1;
        S.io = (struct shim_stdio){-1, -1, -1, -1};
        S.o.log_max_file = 1;
        S.o.runtime_fd = -1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case O_ID:
                        S.o.id = optarg;
                        break;
                case O_BUNDLE:
                        S.o.bundle = optarg;
                        break;
                case O_PROCESS:
                        S.o.process = optarg;
                        break;
                case O_RUNTIME:
                        S.o.runtime = optarg;
                        break;
                case O_ROOT:
                        S.o.runtime_root = optarg;
                        break;
                case O_STATE:
                        S.o.state_dir = optarg;
                        break;
                case O_LOG:
                        S.o.log_path = optarg;
                        break;
                case O_MAXSIZE:
                        if (parse_int64(optarg, &v) < 0 || v < 0)
                                usage();
                        S.o.log_max_size = v;
                        break;
                case O_MAXFILE:
                        if (parse_int64(optarg, &v) < 0 || v < 1 || v > 1000)
                                usage();
                        S.o.log_max_file = (int)v;
                        break;
                case O_TTY:
                        S.o.tty = 1;
                        break;
                case O_STDIN:
                        S.o.open_stdin = 1;
                        break;
                case O_READY:
                        if (parse_int64(optarg, &v) < 0 || v < 0 || v > 1023)
                                usage();
                        ready_fd = (int)v;
                        break;
                case O_RUNTIME_FD:
                        if (parse_int64(optarg, &v) < 0 || v < 3 || v > 1023)
                                usage();
                        S.o.runtime_fd = (int)v;
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc || !S.o.id || !S.o.runtime || !S.o.runtime_root || !S.o.state_dir ||
            !S.o.bundle == !S.o.process || S.o.state_dir[0] != '/')
                usage();

        _cleanup_err_ struct err *e = NULL;
        if (setup(ready_fd, &e) < 0) {
                shim_logf("%s", e->msg);
                _cleanup_free_ char *msg = xasprintf("%s\n", e->msg);
                ready(&ready_fd, msg);
                return 1;
        }
        ready(&ready_fd, "ok\n");
        return loop();
}

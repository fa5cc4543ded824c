/*
 * term: the interactive side of run, start -a, attach and exec: the
 * terminal in raw mode (restored on every way out, signals included), the
 * window size sent to the daemon at start and on SIGWINCH, and the pump
 * between the hijacked connection and stdin/stdout/stderr.
 *
 * The detach keys (ctrl-p ctrl-q unless --detach-keys) are recognised
 * here, in stdin, as docker's client does: the matched keys are held back
 * and, once the sequence is complete, the connection is closed without
 * sending them.  The daemon is told the keys too (detachKeys=), so either
 * side may end the attachment.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cli.h"

/* The terminal's mode before raw mode.  Owned by this file; barge is
 * single-threaded, and the signal handler only reads it. */
static struct termios saved_termios;
static volatile sig_atomic_t raw_active;

void term_restore(void)
{
        if (raw_active) {
                tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
                raw_active = 0;
        }
}

static void restore_and_die(int sig)
{
        term_restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

int term_raw(void)
{
        if (raw_active || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return 0;
        struct termios raw = saved_termios;
        cfmakeraw(&raw);
        /* keep output post-processing off too: the container's tty does it */
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
                return -1;
        raw_active = 1;
        atexit(term_restore);
        static const int fatal[] = {SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGPIPE};
        for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
                signal(fatal[i], restore_and_die);
        return 0;
}

int parse_detach_keys(const char *spec, unsigned char *keys, size_t *n, struct err **e)
{
        *n = 0;
        if (spec == NULL)
                spec = "ctrl-p,ctrl-q";
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                if (*n >= 16)
                        return err_new(e, EINVAL, "too many detach keys: %s", spec);
                if (strlen(k) == 1) {
                        keys[(*n)++] = (unsigned char)k[0];
                } else if (!strncmp(k, "ctrl-", 5) && strlen(k) == 6) {
                        unsigned char ch = (unsigned char)k[5];
                        if (ch >= 'a' && ch <= 'z')
                                keys[(*n)++] = (unsigned char)(ch - 'a' + 1);
                        else if (ch == '@' || (ch >= '[' && ch <= '_'))
                                keys[(*n)++] = (unsigned char)(ch - '@');
                        else
                                return err_new(e, EINVAL, "invalid detach key: %s", k);
                } else {
                        return err_new(e, EINVAL, "invalid detach key: %s", k);
                }
        }
        if (*n == 0)
                return err_new(e, EINVAL, "empty detach keys");
        return 0;
}

void term_resize(struct client *cl, const char *resize_path)
{
        struct winsize ws;
        if (resize_path == NULL || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
                if (resize_path == NULL || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 ||
                    ws.ws_row == 0)
                        return;
        _cleanup_free_ char *path =
            xasprintf("%s?h=%u&w=%u", resize_path, (unsigned)ws.ws_row, (unsigned)ws.ws_col);
        struct err *e = NULL;
        if (client_json(cl, "POST", path, NULL, NULL, NULL, NULL, &e) < 0) {
                log_debug("resize: %s", e->msg);
                err_free(&e);
        }
}

static int out_frame(void *ctx, int stream, const void *buf, size_t n)
{
        (void)ctx;
        return write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, buf, n);
}

int pump_run(const struct pump_opts *o, int *detached, struct err **e)
{
        unsigned char keys[16];
        size_t nkeys = 0, matched = 0;
        *detached = 0;
        /* as docker: detach keys act only with a terminal; without one stdin
         * is copied byte for byte (binary input may hold ctrl-p ctrl-q) */
        if (o->send_stdin && o->tty && parse_detach_keys(o->detach_keys, keys, &nkeys, e) < 0)
                return -1;
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        if (o->kill_path) {
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGUSR1);
                sigaddset(&mask, SIGUSR2);
        }
        sigprocmask(SIG_BLOCK, &mask, &old);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        struct demux dm = {0};
        int in_open = o->send_stdin, r = 0;
        char buf[32768];
        for (;;) {
                struct pollfd p[3] = {{.fd = o->fd, .events = POLLIN},
                                      {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = err_sys(e, "poll");
                        break;
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        if (o->tty)
                                                term_resize(o->cl, o->resize_path);
                                } else if (o->kill_path) {
                                        _cleanup_free_ char *path =
                                            xasprintf("%s?signal=%u", o->kill_path, si.ssi_signo);
                                        struct err *ke = NULL;
                                        if (client_json(o->cl, "POST", path, NULL, NULL, NULL, NULL,
                                                        &ke) < 0)
                                                err_free(&ke);
                                }
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(o->fd, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break; /* the container's output ended */
                        int w = o->tty ? write_all(STDOUT_FILENO, buf, (size_t)n)
                                       : demux_feed(&dm, buf, (size_t)n, out_frame, NULL);
                        if (w < 0 && errno != EPIPE) {
                                r = err_sys(e, "writing the container's output");
                                break;
                        }
                }
                if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                /* stdin is done: tell the container, keep reading output */
                                in_open = 0;
                                shutdown(o->fd, SHUT_WR);
                                continue;
                        }
                        /* hold back a partial detach sequence; send the rest */
                        char send[sizeof(buf) + 16];
                        size_t ns = 0;
                        for (ssize_t i = 0; i < n; i++) {
                                unsigned char ch = (unsigned char)buf[i];
                                if (nkeys == 0) {
                                        send[ns++] = (char)ch;
                                        continue;
                                }
                                if (ch == keys[matched]) {
                                        if (++matched == nkeys) {
                                                *detached = 1;
                                                break;
                                        }
                                        continue;
                                }
                                memcpy(send + ns, keys, matched);
                                ns += matched;
                                matched = 0;
                                if (ch == keys[0]) {
                                        matched = 1;
                                        continue;
                                }
                                send[ns++] = (char)ch;
                        }
                        if (ns && write_all(o->fd, send, ns) < 0) {
                                in_open = 0;
                                continue;
                        }
                        if (*detached)
                                break;
                }
        }
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

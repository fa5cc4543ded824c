/*
 * terminal: pseudo-terminals for containers with process.terminal = true.
 * Owns opening a pty pair, making its slave a process's controlling
 * terminal, handing the master to whoever holds runc's --console-socket, and
 * the foreground proxy between the user's terminal and the master.  Does not
 * own devpts or /dev/console mounts (rootfs) nor deciding who gets the
 * master (the lifecycle code).
 *
 * The --console-socket protocol is runc's: one sendmsg on a connected
 * AF_UNIX stream socket carrying the master fd in SCM_RIGHTS and, as the
 * data, a name for it (runc sends "/dev/ptmx"), shorter than 4096 bytes.
 */
#ifndef BARGE_TERMINAL_H
#define BARGE_TERMINAL_H

#include "../common/err.h"

/* The data part runc's console socket peers expect (containerd's RecvFd). */
#define TERMINAL_MASTER_NAME "/dev/ptmx"

/* Open a new pty pair from /dev/ptmx of the current mount namespace (the
 * container's, after pivot_root; its devpts is mounted with
 * newinstance,ptmxmode=0666).  Both fds are O_CLOEXEC and O_NOCTTY.  The
 * window size is set when rows and cols are both > 0. */
int terminal_open(int *master, int *slave, unsigned short rows, unsigned short cols,
                  struct err **e);

/* Make `slave` the controlling terminal and stdio of the calling process:
 * setsid(), TIOCSCTTY, dup2 onto 0, 1, 2.  `slave` itself stays open and
 * owned by the caller (it is O_CLOEXEC, so execve drops it). */
int terminal_make_controlling(int slave, struct err **e);

/* Connect to the AF_UNIX stream socket at `path`; returns the fd (O_CLOEXEC).
 * The lifecycle code connects before pivot_root, while the path is still
 * reachable, and passes the connected fd to the container's init. */
int terminal_connect_socket(const char *path, struct err **e);

/* Send `fd` over the connected socket `sockfd` as runc's utils.SendFd does.
 * `name` NULL means TERMINAL_MASTER_NAME. */
int terminal_send_fd_sock(int sockfd, int fd, const char *name, struct err **e);

/* terminal_connect_socket + terminal_send_fd_sock + close. */
int terminal_send_fd(const char *socket_path, int fd, const char *name, struct err **e);

/* Receive one fd sent that way; *fd is O_CLOEXEC.  Anything other than
 * exactly one fd is an error (extra fds are closed). */
int terminal_recv_fd(int sockfd, int *fd, struct err **e);

/* Foreground `run` / `exec --tty` without --console-socket: while the pty
 * lives, copy stdin to `master` and `master` to stdout.  If stdin is a tty
 * it is put in raw mode (so ^C etc. reach the container's line discipline)
 * and its window size is forwarded to the pty now and on every SIGWINCH.
 * At stdin EOF the pty's EOF character is sent, as a user typing ^D would
 * (twice after an unterminated line in canonical mode).  Returns 0 when the
 * master hangs up, i.e. every slave fd is closed: the caller must close its
 * own copies of the slave first.  Terminal mode, signal mask and the
 * master's flags are restored on return.  `master` stays open: close it only
 * after reaping the container's process, since the last close of a master
 * hangs the pty up and SIGHUPs a session whose leader is still exiting. */
int terminal_proxy(int master, struct err **e);

#endif

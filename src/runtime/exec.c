/*
 * exec: run another process inside a running container.  A first child
 * joins all of the container's namespaces at once through a pidfd of its
 * init (setns(pidfd, flags)); since a pid namespace applies only to
 * children, it clones the real process with CLONE_PARENT, so the process is
 * our child and we can wait for it.  We move it into the container's
 * cgroup before it runs anything, then it applies process settings
 * (process.c) and execs.  Its sync socket is close-on-exec: EOF means the
 * exec succeeded, a message means it failed and says why.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cgroup.h"
#include "seccomp.h"
#include "terminal.h"

struct exec_child {
        struct exec_plan plan;
        int pidfd;
        int ns_flags;
        const struct cgroup *cgroup;
        int cgroup_fd; /* v2 directory, or -1 */
        int sync_fd;
        int console_fd;
};

static int child_setup(struct exec_child *x, struct err **e)
{
        struct sync_msg m;
        if (sync_recv(x->sync_fd, SYNC_GO, &m, e) < 0)
                return -1;
        /* in its cgroup now: from here on it must outlive a detaching parent */
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (x->plan.proc->terminal) {
                _cleanup_close_ int master = -1, slave = -1;
                if (terminal_open(&master, &slave, (unsigned short)x->plan.proc->console_height,
                                  (unsigned short)x->plan.proc->console_width, e) < 0)
                        return -1;
                if (terminal_send_fd_sock(x->console_fd, master, NULL, e) < 0 ||
                    terminal_make_controlling(slave, e) < 0)
                        return -1;
        }
        if (x->console_fd >= 0)
                close(x->console_fd);
        if (process_resolve(&x->plan, e) < 0)
                return -1;
        return process_exec(&x->plan, e);
}

/* The first child: join the cgroups (while still the host's root: cheap,
 * see cgroup_join_self), then the namespaces; clone the process into the v2
 * cgroup; report its pid, and in `text` whether it is in every cgroup. */
static void stage1(struct exec_child *x)
{
        struct err *e = NULL;
        if (cgroup_join_self(x->cgroup, 0, &e) < 0)
                sync_fail(x->sync_fd, &e);
        if (setns(x->pidfd, x->ns_flags) < 0) {
                err_sys(&e, "join the container's namespaces");
                sync_fail(x->sync_fd, &e);
        }
        int in_cgroup;
        pid_t pid = clone_flags(CLONE_PARENT, x->cgroup_fd, &in_cgroup);
        if (pid < 0) {
                err_sys(&e, "clone");
                sync_fail(x->sync_fd, &e);
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                child_setup(x, &e);
                sync_fail(x->sync_fd, &e);
        }
        sync_send(x->sync_fd, SYNC_PID, pid, in_cgroup || x->cgroup_fd < 0 ? "joined" : "");
        _exit(0);
}

static int ns_flags_of(const struct spec *s)
{
        int f = 0;
        for (size_t i = 0; i < s->n_namespaces; i++)
                f |= s->namespaces[i].type;
        return f;
}

static pid_t start_child(struct exec_child *x, int parent_fd, struct cgroup *cg, struct err **e)
{
        pid_t a = fork();
        if (a < 0)
                return err_sys(e, "fork");
        if (a == 0) {
                close(parent_fd);
                stage1(x);
        }
        /* only the child may hold its end: EOF below means it exec'd */
        close(x->sync_fd);
        x->sync_fd = -1;
        struct sync_msg m;
        int r = sync_recv(parent_fd, SYNC_PID, &m, e);
        while (waitpid(a, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return -1;
        pid_t pid = (pid_t)m.code;
        int joined = strcmp(m.text, "joined") == 0;
        if ((!joined && cgroup_enter(cg, pid, e) < 0) ||
            sync_send(parent_fd, SYNC_GO, 0, NULL) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        /* EOF: the exec succeeded (the socket was close-on-exec) */
        if (sync_recv(parent_fd, 0, &m, e) < 0) {
                if (strcmp((*e)->msg, "container process exited during setup") == 0) {
                        err_free(e);
                        return pid;
                }
                waitpid(pid, NULL, 0);
                return -1;
        }
        return pid;
}

int rt_exec(const struct rt_ctx *ctx, const char *id, struct spec_process *proc,
            const struct rt_exec_opts *o, int *status, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        if (state_load(ctx, id, &st, e) < 0)
                return -1;
        enum cstatus s = state_status(st);
        if (s != ST_RUNNING && s != ST_CREATED)
                return err_new(e, 0, "container %s is %s: cannot exec in it", id, status_name(s));
        _cleanup_spec_ struct spec *spec = NULL;
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        unsigned int sflags = 0;
        if (rt_load_spec(ctx, id, &spec, e) < 0 || cgroup_from_json(st->cgroup, &cg, e) < 0 ||
            seccomp_compile_cached(spec->seccomp, getenv(SECCOMP_CACHE_ENV), &prog, &sflags, e) < 0)
                return -1;
        if (proc->terminal && o->console_socket == NULL && o->detach)
                return err_new(e, 0, "--tty with --detach needs a --console-socket");
        if (!proc->terminal && o->console_socket)
                return err_new(e, 0, "--console-socket given but the process has no terminal");

        int pair[2] = {-1, -1}, tty[2] = {-1, -1}, master = -1, r = -1;
        _cleanup_close_ int v2fd = cgroup_v2_fd(cg);
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
        if (pidfd < 0)
                return err_sys(e, "container %s: open its init", id);
        struct exec_child x = {.plan = {.proc = proc,
                                        .seccomp = prog,
                                        .seccomp_flags = sflags,
                                        .preserve_fds = o->preserve_fds},
                               .pidfd = pidfd,
                               .cgroup = cg,
                               .cgroup_fd = v2fd,
                               .ns_flags = ns_flags_of(spec),
                               .console_fd = -1};
        if (proc->terminal) {
                if (o->console_socket) {
                        x.console_fd = terminal_connect_socket(o->console_socket, e);
                        if (x.console_fd < 0)
                                goto out;
                } else {
                        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tty) < 0) {
                                err_sys(e, "socketpair");
                                goto out;
                        }
                        x.console_fd = tty[1];
                }
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                err_sys(e, "socketpair");
                goto out;
        }
        x.sync_fd = pair[1];
        pid_t pid = start_child(&x, pair[0], cg, e);
        pair[1] = -1; /* closed by start_child */
        if (pid < 0)
                goto out;
        if (tty[0] >= 0 && terminal_recv_fd(tty[0], &master, e) < 0)
                goto out;
        if (o->pid_file) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
                if (write_file_atomic(o->pid_file, buf, (size_t)n, 0644, e) < 0)
                        goto out;
        }
        r = 0;
        if (!o->detach) {
                if (wait_foreground(pid, master, status) < 0)
                        r = err_sys(e, "wait for the exec'd process");
        }
out:
        if (master >= 0)
                close(master);
        if (x.console_fd >= 0 && x.console_fd != tty[1])
                close(x.console_fd);
        for (int i = 0; i < 2; i++) {
                if (pair[i] >= 0)
                        close(pair[i]);
                if (tty[i] >= 0)
                        close(tty[i]);
        }
        return r;
}

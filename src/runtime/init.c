/*
 * init: the container's first process, from its clone() until execve of
 * process.args.  It runs in the new namespaces, builds the root filesystem,
 * reports READY to `create`, then blocks opening the exec fifo until
 * `start` opens the other end, and finally becomes the user's program.
 *
 * It is not dumpable while it runs runtime code, so nothing in the
 * container can read its memory or its /proc entries, and it dies with its
 * parent until READY, so a killed `create` leaves no orphan behind.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <unistd.h>

#include "../common/util.h"
#include "cgroup.h"
#include "terminal.h"

static int become_root_in_userns(struct err **e)
{
        if (setresgid(0, 0, 0) < 0)
                return err_sys(e, "user namespace: become gid 0 (is 0 mapped?)");
        if (setresuid(0, 0, 0) < 0)
                return err_sys(e, "user namespace: become uid 0 (is 0 mapped?)");
        return 0;
}

/* A session keyring of the container's own, so keys never leak between
 * containers (or from the caller) through the session keyring. */
static int join_session_keyring(const char *id, struct err **e)
{
        char name[1100];
        snprintf(name, sizeof(name), "_ses.%s", id);
        long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
        if (key < 0)
                return errno == ENOSYS || errno == EACCES
                           ? 0
                           : err_sys(e, "join a new session keyring");
        /* all rights for its possessors (the container), search only for the
         * same uid elsewhere: other containers cannot even list it */
        syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f080000, 0, 0);
        return 0;
}

static int set_names(const struct spec *s, struct err **e)
{
        if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return err_sys(e, "set hostname %s", s->hostname);
        if (s->domainname && *s->domainname &&
            setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return err_sys(e, "set domainname %s", s->domainname);
        return 0;
}

/* The pty for process.terminal: its master goes to the console socket, its
 * slave becomes our stdio and controlling terminal, and /dev/console. */
static int setup_terminal(struct init_args *a, struct err **e)
{
        const struct spec_process *p = a->spec->process;
        _cleanup_close_ int master = -1, slave = -1;
        if (terminal_open(&master, &slave, (unsigned short)p->console_height,
                          (unsigned short)p->console_width, e) < 0)
                return -1;
        char name[64];
        if (ptsname_r(master, name, sizeof(name)) == 0 && access("/dev", W_OK) == 0) {
                int f = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (f >= 0) {
                        close(f);
                        mount(name, "/dev/console", NULL, MS_BIND, NULL);
                }
        }
        if (terminal_send_fd_sock(a->console_fd, master, NULL, e) < 0)
                return -1;
        close(a->console_fd);
        a->console_fd = -1;
        return terminal_make_controlling(slave, e);
}

static int setup(struct init_args *a, json_t **state, int *procfd, int *fifofd, struct err **e)
{
        const struct spec *s = a->spec;
        struct sync_msg m;
        /* while the parent writes id maps: join our cgroups (before anything
         * else runs here, and before the cgroup namespace is made) */
        if (a->self_join && cgroup_join_self(a->cgroup, !a->in_v2_cgroup, e) < 0)
                return -1;
        if (sync_recv(a->sync_fd, SYNC_GO, &m, e) < 0)
                return -1;
        json_t *go = json_loads(m.text, 0, NULL);
        *state = json_incref(json_object_get(go, "state"));
        json_decref(go);

        if (chdir(a->bundle) < 0)
                return err_sys(e, "chdir to bundle %s", a->bundle);
        if (a->new_userns && become_root_in_userns(e) < 0)
                return -1;
        if (a->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
                return err_sys(e, "create cgroup namespace");
        if (set_names(s, e) < 0)
                return -1;
        if (!a->no_new_keyring && join_session_keyring(a->id, e) < 0)
                return -1;
        *procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        *fifofd = open(a->fifo_path, O_PATH | O_CLOEXEC);
        if (*procfd < 0 || *fifofd < 0)
                return err_sys(e, "open exec fifo");

        struct rootfs_ctx rc = {
            .spec = s,
            .rootfs = a->rootfs,
            .no_pivot = a->no_pivot,
            .userns = a->new_userns || spec_namespace(s, CLONE_NEWUSER),
            .netns = spec_namespace(s, CLONE_NEWNET) != NULL,
            .cgroupns = spec_namespace(s, CLONE_NEWCGROUP) != NULL,
            .cgroup = a->cgroup,
        };
        if (rootfs_prepare(&rc, e) < 0)
                return -1;
        if (a->parent_hooks) {
                if (sync_send(a->sync_fd, SYNC_HOOKS, 0, NULL) < 0)
                        return err_sys(e, "sync");
                if (sync_recv(a->sync_fd, SYNC_GO, &m, e) < 0)
                        return -1;
        }
        if (hooks_run(s, HOOK_CREATE_CONTAINER, *state, e) < 0)
                return -1;
        if (rootfs_finish(&rc, e) < 0)
                return -1;
        if (s->process->terminal && setup_terminal(a, e) < 0)
                return -1;
        /* runc creates a missing cwd; do it as root, before ids change */
        struct stat st;
        if (stat(s->process->cwd, &st) < 0 && mkdir_p(s->process->cwd, 0755, e) < 0)
                return err_wrap(e, "process.cwd");
        return 0;
}

void init_main(struct init_args *a)
{
        struct err *e = NULL;
        json_t *state = NULL;
        int procfd = -1, fifofd = -1;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (setup(a, &state, &procfd, &fifofd, &e) < 0)
                sync_fail(a->sync_fd, &e);

        struct exec_plan plan = {.proc = a->spec->process,
                                 .seccomp = a->seccomp,
                                 .seccomp_flags = a->seccomp_flags,
                                 .preserve_fds = a->preserve_fds};
        if (process_resolve(&plan, &e) < 0)
                sync_fail(a->sync_fd, &e);

        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync_send(a->sync_fd, SYNC_READY, 0, NULL);
        close(a->sync_fd);

        /* Block until `start` opens the fifo for reading. */
        char self[64];
        snprintf(self, sizeof(self), "self/fd/%d", fifofd);
        int w = openat(procfd, self, O_WRONLY | O_CLOEXEC);
        if (w < 0) {
                dprintf(2, "barge-runtime: init: open exec fifo: %s\n", strerror(errno));
                _exit(1);
        }
        close(fifofd);
        close(procfd);
        /* `start` reads this byte, then waits for EOF: w is close-on-exec, so
         * its poststart hooks run once our execve has happened */
        json_object_set_new(state, "status", json_string("running"));
        if (hooks_run(a->spec, HOOK_START_CONTAINER, state, &e) < 0 || write(w, "0", 1) != 1 ||
            process_exec(&plan, &e) < 0) {
                dprintf(2, "barge-runtime: %s\n", e->msg);
                _exit(127);
        }
        _exit(127);
}

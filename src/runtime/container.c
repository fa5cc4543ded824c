/*
 * container: the lifecycle operations of runc's command line over a state
 * root: create, start, run, state, kill, delete, list, pause, resume,
 * update, ps.
 *
 * create forks the container's init (init.c) straight into its new
 * namespaces with one clone(); only when some namespace must be joined by
 * path does a short-lived first child setns() into them and clone the init
 * with CLONE_PARENT, so the init is always our child.  The parent then
 * writes the id maps, puts the init into its cgroup, runs the runtime-side
 * hooks, and waits for READY.  Any failure kills the init and removes the
 * cgroup and the state directory: a failed create leaves nothing behind.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cgroup.h"
#include "seccomp.h"
#include "terminal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

pid_t clone_flags(unsigned long flags, int cgroup_fd, int *in_cgroup)
{
        *in_cgroup = 0;
        if (cgroup_fd >= 0) {
                /* born in its v2 cgroup: no migration, no global cgroup lock */
                struct clone_args ca = {.flags = flags | CLONE_INTO_CGROUP,
                                        .exit_signal = SIGCHLD,
                                        .cgroup = (uint64_t)cgroup_fd};
                pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
                if (pid >= 0) {
                        *in_cgroup = 1;
                        return pid;
                }
                if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
                        return -1;
        }
        return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static char *now_rfc3339(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
        return xstrdup(buf);
}

static int write_pid_file(const char *path, pid_t pid, struct err **e)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        return write_file_atomic(path, buf, (size_t)n, 0644, e);
}

static int write_idmap(pid_t pid, const char *file, const struct spec_idmap *m, size_t n,
                       struct err **e)
{
        char buf[4096];
        size_t len = 0;
        for (size_t i = 0; i < n && len < sizeof(buf) - 64; i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
                                        m[i].container_id, m[i].host_id, m[i].size);
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
        if (write_file(path, buf, len, 0, e) < 0)
                return err_wrap(e, "linux.%s",
                                !strcmp(file, "uid_map") ? "uidMappings" : "gidMappings");
        return 0;
}

/* CLONE_NEW* flags of the namespaces to create (cgroup is unshared by the
 * init itself, after it has been put into its cgroup). */
static unsigned long new_ns_flags(const struct spec *s, int *any_path)
{
        unsigned long f = 0;
        *any_path = 0;
        for (size_t i = 0; i < s->n_namespaces; i++) {
                if (s->namespaces[i].path)
                        *any_path = 1;
                else if (s->namespaces[i].type != CLONE_NEWCGROUP)
                        f |= (unsigned long)s->namespaces[i].type;
        }
        return f;
}

static int join_namespaces(const struct spec *s, struct err **e)
{
        /* the user namespace first: it decides what we may join next; mount last,
         * since it changes our root */
        static const int order[] = {CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,  CLONE_NEWIPC,
                                    CLONE_NEWUTS,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
        for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
                const struct spec_namespace *ns = spec_namespace(s, order[k]);
                if (ns == NULL || ns->path == NULL)
                        continue;
                _cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return err_sys(e, "linux.namespaces: open %s", ns->path);
                if (setns(fd, order[k]) < 0)
                        return err_sys(e, "linux.namespaces: join %s", ns->path);
        }
        return 0;
}

/* Start the init; returns its pid (our child) or -1. */
static pid_t spawn_init(struct init_args *a, int parent_fd, struct err **e)
{
        int any_path;
        unsigned long flags = new_ns_flags(a->spec, &any_path);
        if (!any_path) {
                pid_t pid = clone_flags(flags, a->cgroup_fd, &a->in_v2_cgroup);
                if (pid < 0)
                        return err_sys(e, "clone the container's init");
                if (pid == 0) {
                        close(parent_fd);
                        init_main(a);
                }
                return pid;
        }
        pid_t stage1 = fork();
        if (stage1 < 0)
                return err_sys(e, "fork");
        if (stage1 == 0) {
                close(parent_fd);
                struct err *ce = NULL;
                if (join_namespaces(a->spec, &ce) < 0)
                        sync_fail(a->sync_fd, &ce);
                pid_t pid = clone_flags(flags | CLONE_PARENT, a->cgroup_fd, &a->in_v2_cgroup);
                if (pid < 0) {
                        err_sys(&ce, "clone the container's init");
                        sync_fail(a->sync_fd, &ce);
                }
                if (pid == 0)
                        init_main(a);
                sync_send(a->sync_fd, SYNC_PID, pid, NULL);
                _exit(0);
        }
        struct sync_msg m;
        int r = sync_recv(parent_fd, SYNC_PID, &m, e);
        while (waitpid(stage1, NULL, 0) < 0 && errno == EINTR)
                ;
        return r < 0 ? -1 : (pid_t)m.code;
}

struct creating {
        struct spec *spec;
        char *bundle, *rootfs, *dir, *fifo;
        struct sock_fprog *seccomp;
        unsigned int seccomp_flags;
        struct cgroup *cg;
        pid_t pid;
        int sync[2];
        int console_fd;
        int want_tty, tty_recv; /* foreground run: our end of the console socket pair */
        int self_join;          /* the init joins its v1 cgroups itself (cgroup_join_self) */
};

static void creating_free(struct creating *c)
{
        spec_free(c->spec);
        free(c->bundle);
        free(c->rootfs);
        free(c->dir);
        free(c->fifo);
        seccomp_prog_free(c->seccomp);
        cgroup_free(c->cg);
        for (int i = 0; i < 2; i++)
                if (c->sync[i] >= 0)
                        close(c->sync[i]);
        if (c->console_fd >= 0)
                close(c->console_fd);
        if (c->tty_recv >= 0)
                close(c->tty_recv);
}

/* Everything that can be checked before any process exists. */
static int load_bundle(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o,
                       struct creating *c, struct err **e)
{
        char buf[PATH_MAX];
        const char *bundle = o->bundle && *o->bundle ? o->bundle : ".";
        if (realpath(bundle, buf) == NULL)
                return err_sys(e, "bundle %s", bundle);
        c->bundle = xstrdup(buf);
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", c->bundle);
        _cleanup_free_ char *text = NULL;
        if (read_file(cfg, 16 << 20, &text, NULL, e) < 0)
                return -1;
        if (spec_parse(text, &c->spec, e) < 0)
                return -1;
        if (c->spec->process == NULL)
                return err_new(e, 0, "config.json: process: missing");
        if (c->spec->root_path == NULL)
                return err_new(e, 0, "config.json: root.path: missing");
        _cleanup_free_ char *root = c->spec->root_path[0] == '/'
                                        ? xstrdup(c->spec->root_path)
                                        : xasprintf("%s/%s", c->bundle, c->spec->root_path);
        struct stat st;
        if (realpath(root, buf) == NULL || stat(buf, &st) < 0)
                return err_sys(e, "rootfs %s", root);
        if (!S_ISDIR(st.st_mode))
                return err_new(e, ENOTDIR, "rootfs %s", root);
        c->rootfs = xstrdup(buf);
        if (ctx->systemd_cgroup) {
                char *p = NULL;
                if (cgroup_systemd_path(c->spec->cgroups_path, id, &p, e) < 0)
                        return -1;
                free(c->spec->cgroups_path);
                c->spec->cgroups_path = p;
        }
        if (c->spec->process->terminal && o->console_socket == NULL && !c->want_tty)
                return err_new(e, 0, "process.terminal is true but no --console-socket was given");
        if (!c->spec->process->terminal && o->console_socket)
                return err_new(e, 0, "--console-socket given but process.terminal is false");
        if (seccomp_compile_cached(c->spec->seccomp, getenv(SECCOMP_CACHE_ENV), &c->seccomp, &c->seccomp_flags, e) < 0)
                return err_wrap(e, "config.json: linux.seccomp");
        _cleanup_free_ char *saved = xasprintf("%s/config.json", c->dir);
        return write_file(saved, text, strlen(text), 0600, e);
}

static json_t *hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                          const struct spec *s)
{
        json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s}", "ociVersion", "1.0.2", "id", id, "status",
                              status, "pid", (json_int_t)pid, "bundle", bundle);
        if (s->annotations)
                json_object_set(j, "annotations", s->annotations);
        return j;
}

static int parent_side(const char *id, struct creating *c, struct err **e)
{
        const struct spec *s = c->spec;
        const struct spec_namespace *user = spec_namespace(s, CLONE_NEWUSER);
        if (user && !user->path) {
                if (write_idmap(c->pid, "uid_map", s->uid_mappings, s->n_uid_mappings, e) < 0 ||
                    write_idmap(c->pid, "gid_map", s->gid_mappings, s->n_gid_mappings, e) < 0)
                        return -1;
        }
        /* an init in a user namespace cannot write the host's cgroup files */
        if (!c->self_join && cgroup_enter(c->cg, c->pid, e) < 0)
                return -1;
        if (s->process->has_oom_score_adj) {
                _cleanup_free_ char *p = xasprintf("/proc/%d/oom_score_adj", (int)c->pid);
                char v[16];
                int n = snprintf(v, sizeof(v), "%d", s->process->oom_score_adj);
                if (write_file(p, v, (size_t)n, 0, e) < 0)
                        return err_wrap(e, "process.oomScoreAdj");
        }
        json_t *state = hook_state(id, "creating", c->pid, c->bundle, s);
        json_t *go = json_pack("{s:o}", "state", json_incref(state));
        _cleanup_free_ char *text = json_dumps(go, JSON_COMPACT);
        json_decref(go);
        int r = -1;
        if (sync_send(c->sync[0], SYNC_GO, 0, text) < 0) {
                err_sys(e, "sync with the container's init");
                goto out;
        }
        struct sync_msg m;
        int hooks = s->hooks.count[HOOK_PRESTART] || s->hooks.count[HOOK_CREATE_RUNTIME];
        if (hooks) {
                if (sync_recv(c->sync[0], SYNC_HOOKS, &m, e) < 0 ||
                    hooks_run(s, HOOK_PRESTART, state, e) < 0 ||
                    hooks_run(s, HOOK_CREATE_RUNTIME, state, e) < 0)
                        goto out;
                if (sync_send(c->sync[0], SYNC_GO, 0, NULL) < 0) {
                        err_sys(e, "sync with the container's init");
                        goto out;
                }
        }
        r = sync_recv(c->sync[0], SYNC_READY, &m, e);
out:
        json_decref(state);
        return r;
}

/* Save st with the cgroup; a pid (the init's, or the creator's while it
 * makes the container) is only trusted with its start time. */
static int save_state(struct cstate *st, const struct cgroup *cg, struct err **e)
{
        pid_t p = st->pid > 0 ? st->pid : st->creator;
        unsigned long long *t = st->pid > 0 ? &st->start_time : &st->creator_start;
        if (proc_start_time(p, t, NULL) < 0)
                return err_new(e, 0, "container init exited during create");
        st->created = now_rfc3339();
        st->cgroup = cgroup_to_json(cg);
        int r = state_save(st, e);
        free(st->created);
        json_decref(st->cgroup);
        st->created = NULL;
        st->cgroup = NULL;
        return r;
}

static int do_create(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o,
                     struct creating *c, struct err **e)
{
        if (load_bundle(ctx, id, o, c, e) < 0)
                return -1;
        c->fifo = xasprintf("%s/exec.fifo", c->dir);
        /* writable by the init whatever uid it maps to; chmod: umask applies to mkfifo */
        if (mkfifo(c->fifo, 0622) < 0 || chmod(c->fifo, 0622) < 0)
                return err_sys(e, "mkfifo %s", c->fifo);
        if (o->console_socket &&
            (c->console_fd = terminal_connect_socket(o->console_socket, e)) < 0)
                return -1;
        if (c->want_tty && c->spec->process->terminal && !o->console_socket) {
                int pair[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                        return err_sys(e, "socketpair");
                c->tty_recv = pair[0];
                c->console_fd = pair[1];
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sync) < 0)
                return err_sys(e, "socketpair");
        const struct spec *s = c->spec;
        /* the cgroup and its limits exist before the init does */
        if (cgroup_create(s->cgroups_path, id, s->resources, 0, &c->cg, e) < 0)
                return -1;
        struct cstate st = {.id = (char *)id,
                            .dir = c->dir,
                            .bundle = c->bundle,
                            .rootfs = c->rootfs,
                            .owner = getuid(),
                            .annotations = s->annotations,
                            .creator = getpid()};
        int r = save_state(&st, c->cg, e);
        if (r < 0)
                return -1;
        _cleanup_close_ int v2fd = cgroup_v2_fd(c->cg);
        c->self_join = spec_namespace(s, CLONE_NEWUSER) == NULL;
        const struct spec_namespace *user = spec_namespace(s, CLONE_NEWUSER);
        const struct spec_namespace *cgns = spec_namespace(s, CLONE_NEWCGROUP);
        struct init_args a = {
            .spec = s,
            .id = id,
            .cgroup = c->cg,
            .cgroup_fd = v2fd,
            .self_join = c->self_join,
            .bundle = c->bundle,
            .rootfs = c->rootfs,
            .fifo_path = c->fifo,
            .sync_fd = c->sync[1],
            .console_fd = c->console_fd,
            .preserve_fds = o->preserve_fds,
            .no_pivot = o->no_pivot,
            .no_new_keyring = o->no_new_keyring,
            .new_userns = user && !user->path,
            .new_cgroupns = cgns && !cgns->path,
            .seccomp = c->seccomp,
            .seccomp_flags = c->seccomp_flags,
            .parent_hooks = s->hooks.count[HOOK_PRESTART] || s->hooks.count[HOOK_CREATE_RUNTIME],
        };
        c->pid = spawn_init(&a, c->sync[0], e);
        close(c->sync[1]);
        c->sync[1] = -1;
        if (c->pid < 0)
                return -1;
        if (parent_side(id, c, e) < 0)
                return -1;

        st.pid = c->pid;
        st.creator = 0;
        r = save_state(&st, c->cg, e);
        if (r == 0 && o->pid_file)
                r = write_pid_file(o->pid_file, c->pid, e);
        return r;
}

static void undo_create(struct creating *c)
{
        struct err *e = NULL;
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (c->cg && cgroup_destroy(c->cg, &e) < 0)
                log_warn("cleanup: %s", e->msg);
        err_free(&e);
        if (rm_rf(c->dir, &e) < 0)
                log_warn("cleanup: %s", e->msg);
        err_free(&e);
}

/* With tty_master (foreground `run`): a terminal process without a console
 * socket gets a pty whose master is returned there, for us to proxy. */
static int create_internal(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o,
                           int *tty_master, pid_t *pid, struct err **e)
{
        if (state_check_id(id, e) < 0)
                return -1;
        if (mkdir_p(ctx->root, 0711, e) < 0)
                return err_wrap(e, "state root");
        struct creating c = {
            .sync = {-1, -1}, .console_fd = -1, .tty_recv = -1, .want_tty = tty_master != NULL};
        c.dir = state_path(ctx, id, NULL);
        if (mkdir(c.dir, 0711) < 0) {
                int r = errno == EEXIST ? err_new(e, EEXIST, "container %s already exists", id)
                                        : err_sys(e, "create state directory %s", c.dir);
                creating_free(&c);
                return r;
        }
        int r = do_create(ctx, id, o, &c, e);
        if (r == 0 && c.tty_recv >= 0)
                r = terminal_recv_fd(c.tty_recv, tty_master, e);
        if (r < 0)
                undo_create(&c);
        else if (pid)
                *pid = c.pid;
        creating_free(&c);
        return r;
}

int rt_create(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o,
              struct err **e)
{
        return create_internal(ctx, id, o, NULL, NULL, e);
}

static int load_running(const struct rt_ctx *ctx, const char *id, struct cstate **st,
                        enum cstatus *status, struct err **e)
{
        if (state_load(ctx, id, st, e) < 0)
                return -1;
        *status = state_status(*st);
        return 0;
}

/* Open the fifo's read end, which lets the init's blocked open return, and
 * read its byte; the init dying instead must not hang us, so poll. */
static int await_fifo(const struct cstate *st, const char *fifo, struct err **e)
{
        _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "container %s: open exec fifo", st->id);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int r = poll(&p, 1, 100);
                if (r < 0 && errno != EINTR)
                        return err_sys(e, "container %s: wait for init", st->id);
                char b;
                if (r > 0 && read(fd, &b, 1) == 1)
                        break;
                if ((r > 0 && (p.revents & POLLHUP)) || state_status(st) == ST_STOPPED)
                        return err_new(e, 0, "container %s: init exited before start", st->id);
        }
        unlink(fifo);
        /* EOF: the init's end was closed by its execve (or its exit) */
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int r = poll(&p, 1, -1);
                if (r < 0 && errno != EINTR)
                        return err_sys(e, "container %s: wait for exec", st->id);
                char b;
                if (r > 0 && ((p.revents & POLLHUP) || read(fd, &b, 1) == 0))
                        return 0;
        }
}

/* Whether the container's config.json may hold hooks of `kind` ("poststart",
 * "poststop").  start and delete need the spec only to run those hooks, and
 * parsing it (~10 KB with Docker's seccomp profile) took 1-2 ms of each
 * `delete` on the exit path of every container.  A key can only be spelled
 * with its letters or with \u escapes, so a text with neither cannot hold
 * one; anything unsure answers "yes" and spec_load decides. */
static int may_have_hooks(const struct rt_ctx *ctx, const char *id, const char *kind)
{
        _cleanup_free_ char *p = state_path(ctx, id, "config.json");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        struct err *e = NULL;
        if (read_file(p, 16 << 20, &text, &len, &e) < 0) {
                err_free(&e);
                return 1;
        }
        return memmem(text, len, kind, strlen(kind)) != NULL || memmem(text, len, "\\u", 2) != NULL;
}

int rt_start(const struct rt_ctx *ctx, const char *id, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        enum cstatus s;
        if (load_running(ctx, id, &st, &s, e) < 0)
                return -1;
        if (s != ST_CREATED)
                return err_new(e, 0, "container %s is %s: only a created container can start", id,
                               status_name(s));
        _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
        if (await_fifo(st, fifo, e) < 0)
                return -1;
        if (!may_have_hooks(ctx, id, "poststart"))
                return 0;
        _cleanup_spec_ struct spec *spec = NULL;
        if (rt_load_spec(ctx, id, &spec, e) < 0)
                return -1;
        json_t *state = state_to_oci(st);
        int r = hooks_run(spec, HOOK_POSTSTART, state, e);
        json_decref(state);
        return r;
}

int rt_load_spec(const struct rt_ctx *ctx, const char *id, struct spec **out, struct err **e)
{
        _cleanup_free_ char *p = state_path(ctx, id, "config.json");
        return spec_load(p, out, e);
}

int rt_state(const struct rt_ctx *ctx, const char *id, json_t **out, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        if (state_load(ctx, id, &st, e) < 0)
                return -1;
        *out = state_to_oci(st);
        return 0;
}

static int open_cgroup(const struct cstate *st, struct cgroup **cg, struct err **e)
{
        if (st->cgroup == NULL)
                return err_new(e, 0, "container %s has no cgroup", st->id);
        return cgroup_from_json(st->cgroup, cg, e);
}

int rt_kill(const struct rt_ctx *ctx, const char *id, int sig, int all, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        enum cstatus s;
        if (load_running(ctx, id, &st, &s, e) < 0)
                return -1;
        if (all) {
                _cleanup_cgroup_ struct cgroup *cg = NULL;
                if (open_cgroup(st, &cg, e) < 0)
                        return -1;
                return cgroup_kill_all(cg, sig, e);
        }
        if (s == ST_STOPPED)
                return err_new(e, ESRCH, "container %s is not running", id);
        int pfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
        unsigned long long t;
        /* re-check the start time after pinning the pid: it cannot be reused now */
        if (pfd < 0 || proc_start_time(st->pid, &t, NULL) < 0 || t != st->start_time) {
                if (pfd >= 0)
                        close(pfd);
                return err_new(e, ESRCH, "container %s is not running", id);
        }
        int r = (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
        close(pfd);
        return r < 0 ? err_sys(e, "container %s: send signal %d", id, sig) : 0;
}

static int wait_gone(pid_t pid, unsigned long long start)
{
        for (int i = 0; i < 1000; i++) {
                unsigned long long t;
                char c;
                if (proc_start_time(pid, &t, &c) < 0 || t != start || c == 'Z')
                        return 0;
                struct timespec ts = {0, 2 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        return -1;
}

/* Remove what a container holds once its processes are gone. */
static int destroy(const struct rt_ctx *ctx, struct cstate *st, struct err **e)
{
        if (st->cgroup) {
                _cleanup_cgroup_ struct cgroup *cg = NULL;
                if (open_cgroup(st, &cg, e) < 0 || cgroup_destroy(cg, e) < 0)
                        return -1;
        }
        _cleanup_spec_ struct spec *spec = NULL;
        struct err *he = NULL;
        if (may_have_hooks(ctx, st->id, "poststop") && rt_load_spec(ctx, st->id, &spec, &he) == 0) {
                json_t *state = state_to_oci(st);
                json_object_set_new(state, "status", json_string("stopped"));
                if (hooks_run(spec, HOOK_POSTSTOP, state, &he) < 0)
                        log_warn("%s", he->msg); /* runc: poststop failures only warn */
                json_decref(state);
        }
        err_free(&he);
        return rm_rf(st->dir, e);
}

int rt_delete(const struct rt_ctx *ctx, const char *id, int force, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        enum cstatus s;
        if (load_running(ctx, id, &st, &s, e) < 0) {
                if (force && (*e)->code == ENOENT) {
                        err_free(e);
                        return 0;
                }
                return -1;
        }
        if (s == ST_RUNNING || s == ST_PAUSED || s == ST_CREATING) {
                if (!force)
                        return err_new(e, 0, "container %s is %s: stop it first or use --force", id,
                                       status_name(s));
        }
        if (s != ST_STOPPED && st->pid > 0) {
                _cleanup_cgroup_ struct cgroup *cg = NULL;
                if (st->cgroup && open_cgroup(st, &cg, e) == 0) {
                        if (cgroup_kill_all(cg, SIGKILL, e) < 0)
                                err_free(e);
                        if (s == ST_PAUSED && cgroup_freeze(cg, 0, e) < 0)
                                err_free(e);
                }
                err_free(e);
                kill(st->pid, SIGKILL);
                if (wait_gone(st->pid, st->start_time) < 0)
                        return err_new(e, 0, "container %s: init did not die", id);
        }
        return destroy(ctx, st, e);
}

int rt_list(const struct rt_ctx *ctx, json_t **out, struct err **e)
{
        *out = json_array();
        DIR *d = opendir(ctx->root);
        if (d == NULL)
                return errno == ENOENT ? 0 : err_sys(e, "open state root %s", ctx->root);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                struct cstate *st = NULL;
                struct err *le = NULL;
                if (state_load(ctx, de->d_name, &st, &le) < 0) {
                        err_free(&le); /* being created or deleted right now */
                        continue;
                }
                json_array_append_new(*out, state_to_oci(st));
                cstate_free(st);
        }
        closedir(d);
        return 0;
}

static int with_cgroup(const struct rt_ctx *ctx, const char *id, struct cgroup **cg,
                       enum cstatus *s, struct err **e)
{
        _cleanup_cstate_ struct cstate *st = NULL;
        if (load_running(ctx, id, &st, s, e) < 0)
                return -1;
        return open_cgroup(st, cg, e);
}

int rt_pause(const struct rt_ctx *ctx, const char *id, struct err **e)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        enum cstatus s;
        if (with_cgroup(ctx, id, &cg, &s, e) < 0)
                return -1;
        if (s != ST_RUNNING && s != ST_CREATED)
                return err_new(e, 0, "container %s is %s: cannot pause it", id, status_name(s));
        return cgroup_freeze(cg, 1, e);
}

int rt_resume(const struct rt_ctx *ctx, const char *id, struct err **e)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        enum cstatus s;
        if (with_cgroup(ctx, id, &cg, &s, e) < 0)
                return -1;
        if (s != ST_PAUSED)
                return err_new(e, 0, "container %s is %s, not paused", id, status_name(s));
        return cgroup_freeze(cg, 0, e);
}

int rt_update(const struct rt_ctx *ctx, const char *id, json_t *resources, struct err **e)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        enum cstatus s;
        if (with_cgroup(ctx, id, &cg, &s, e) < 0)
                return -1;
        if (s == ST_STOPPED)
                return err_new(e, 0, "container %s is stopped", id);
        return cgroup_apply_resources(cg, resources, e);
}

int rt_pids(const struct rt_ctx *ctx, const char *id, pid_t **pids, size_t *n, struct err **e)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        enum cstatus s;
        if (with_cgroup(ctx, id, &cg, &s, e) < 0)
                return -1;
        return cgroup_pids(cg, pids, n, e);
}

int rt_stats(const struct rt_ctx *ctx, const char *id, json_t **out, struct err **e)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        enum cstatus s;
        if (with_cgroup(ctx, id, &cg, &s, e) < 0)
                return -1;
        return cgroup_stats(cg, out, e);
}

/* ---- run: create + start + wait, in the foreground ---- */

/* The container being waited on by `run`/`exec`, for the signal forwarder.
 * Owned by the main thread of this short-lived process; written before the
 * handlers are installed. */
static volatile pid_t forward_pid;

static void forward_signal(int sig)
{
        if (forward_pid > 0)
                kill(forward_pid, sig);
}

void forward_signals(pid_t pid)
{
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        forward_pid = pid;
        struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                sigaction(sigs[i], &sa, NULL);
}

int wait_forwarding(pid_t pid, int *status)
{
        forward_signals(pid);
        int ws;
        pid_t r;
        while ((r = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
                ;
        forward_pid = 0;
        if (r < 0)
                return -1;
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        return 0;
}

int wait_foreground(pid_t pid, int master, int *status)
{
        forward_signals(pid);
        if (master >= 0) {
                struct err *te = NULL;
                if (terminal_proxy(master, &te) < 0)
                        log_warn("%s", te->msg);
                err_free(&te);
        }
        return wait_forwarding(pid, status);
}

int rt_run(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o, int detach,
           int *status, struct err **e)
{
        pid_t pid = -1;
        _cleanup_close_ int master = -1;
        int r = create_internal(ctx, id, o, detach ? NULL : &master, &pid, e);
        if (r == 0 && (r = rt_start(ctx, id, e)) < 0) {
                struct err *de = NULL;
                rt_delete(ctx, id, 1, &de);
                err_free(&de);
        }
        if (r < 0 || detach)
                return r;
        if (wait_foreground(pid, master, status) < 0)
                return err_sys(e, "wait for container %s", id);
        return o->keep ? 0 : rt_delete(ctx, id, 1, e);
}

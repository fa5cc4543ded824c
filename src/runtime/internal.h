/*
 * internal: what the runtime's own files share and nobody else sees: the
 * saved container state, the parent<->init sync protocol, and the steps the
 * container's init and exec'd processes take before execve.
 */
#ifndef BARGE_RUNTIME_INTERNAL_H
#define BARGE_RUNTIME_INTERNAL_H

#include <linux/filter.h>
#include <stdint.h>

#include "runtime.h"

/* ---- state.c: <root>/<id>/{state.json,config.json,exec.fifo} ---- */

struct cstate {
        char *id;
        char *dir; /* <root>/<id> */
        pid_t pid;
        unsigned long long start_time; /* /proc/<pid>/stat field 22: guards against pid reuse */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339 */
        uid_t owner;
        json_t *annotations; /* may be NULL */
        json_t *cgroup;      /* cgroup_to_json(), may be NULL */
        /* while pid is 0: the `create` that is making it (a crashed create
         * leaves a "stopped" container that delete can clean up) */
        pid_t creator;
        unsigned long long creator_start;
};

enum cstatus { ST_CREATING, ST_CREATED, ST_RUNNING, ST_PAUSED, ST_STOPPED };

int state_check_id(const char *id, struct err **e);
char *state_path(const struct rt_ctx *ctx, const char *id, const char *file);
int state_load(const struct rt_ctx *ctx, const char *id, struct cstate **out, struct err **e);
int state_save(const struct cstate *st, struct err **e);
void cstate_free(struct cstate *st);
enum cstatus state_status(const struct cstate *st);
const char *status_name(enum cstatus s);
json_t *state_to_oci(const struct cstate *st);
int proc_start_time(pid_t pid, unsigned long long *start, char *state_char);
static inline void cstate_freep(struct cstate **s)
{
        cstate_free(*s);
}
#define _cleanup_cstate_ __attribute__((cleanup(cstate_freep)))

/* ---- sync.c: messages between the runtime and a container process ---- */

enum sync_type {
        SYNC_GO = 1, /* parent -> child: continue */
        SYNC_PID,    /* stage-1 child -> parent: the init's pid in `code` */
        SYNC_HOOKS,  /* init -> parent: run createRuntime/prestart hooks now */
        SYNC_READY,  /* init -> parent: set up, waiting for start */
        SYNC_ERROR,  /* child -> parent: failed; text says why */
};

struct sync_msg {
        int32_t type;
        int32_t code;
        char text[16384];
};

int sync_send(int fd, int type, int code, const char *text);
/* Receive one message; an error message from the child becomes *e. */
int sync_recv(int fd, int want, struct sync_msg *m, struct err **e);
/* Child side: report *e to the parent and _exit(1). */
__attribute__((noreturn)) void sync_fail(int fd, struct err **e);

/* ---- hooks.c ---- */

/* Run the hooks of one kind with `state` (OCI state JSON) on stdin. */
int hooks_run(const struct spec *s, enum hook_kind kind, json_t *state, struct err **e);

/* ---- process.c: the last steps before execve, shared by init and exec ---- */

struct exec_plan {
        const struct spec_process *proc;
        char *path; /* args[0] resolved through the process's PATH */
        const struct sock_fprog *seccomp;
        unsigned int seccomp_flags;
        int preserve_fds;
};

/* Resolve args[0] in the current root; fills plan->path. */
int process_resolve(struct exec_plan *plan, struct err **e);
/* Limits, ids, capabilities, no_new_privs, seccomp, cwd, fds; then execve.
 * Returns only on failure. */
int process_exec(struct exec_plan *plan, struct err **e);
/* Apply process.rlimits (also used before the exec'd process forks). */
int process_rlimits(const struct spec_process *p, struct err **e);

/* ---- rootfs.c: the container's mounts, devices and root ---- */

struct rootfs_ctx {
        const struct spec *spec;
        const char *rootfs; /* absolute host path */
        int no_pivot;
        int userns;         /* running in a new user namespace */
        int netns;          /* a new network namespace (sysfs can be mounted) */
        int cgroupns;       /* a new cgroup namespace */
        const void *cgroup; /* struct cgroup *, for "cgroup" mounts */
};

/* Everything up to (not including) pivot_root. */
int rootfs_prepare(struct rootfs_ctx *c, struct err **e);
/* pivot_root (or move+chroot), then sysctls, masked/readonly paths, ro root. */
int rootfs_finish(struct rootfs_ctx *c, struct err **e);

/* ---- init.c ---- */

struct init_args {
        const struct spec *spec;
        const char *id;
        const struct cgroup *cgroup; /* created, with its limits; the init joins it */
        int cgroup_fd;               /* v2 directory for CLONE_INTO_CGROUP, or -1 */
        int in_v2_cgroup;            /* set in the child: clone3 placed it */
        int self_join;               /* join v1 hierarchies itself (no user namespace) */
        const char *bundle;          /* cwd for relative mount sources */
        const char *rootfs;
        const char *fifo_path;
        int sync_fd;
        int console_fd; /* connected console socket, or -1 */
        int preserve_fds;
        int no_pivot;
        int no_new_keyring;
        int new_userns, new_cgroupns;
        const struct sock_fprog *seccomp;
        unsigned int seccomp_flags;
        int parent_hooks; /* parent must run prestart/createRuntime hooks */
};

__attribute__((noreturn)) void init_main(struct init_args *a);

/* ---- container.c ---- */

/* Forward SIGINT/TERM/HUP/QUIT/USR1/USR2 to `pid` from now on. */
void forward_signals(pid_t pid);
/* Forward signals and wait for our child `pid`; *status is its exit code or
 * 128+signal. */
int wait_forwarding(pid_t pid, int *status);
/* Like wait_forwarding, proxying the pty `master` (when >= 0) to our stdio
 * first. */
int wait_foreground(pid_t pid, int master, int *status);

/* ---- clone ---- */

/* fork-like clone(2) with extra CLONE_* flags; returns 0 in the child. */
/* With cgroup_fd >= 0, clone3(CLONE_INTO_CGROUP) places the child in that
 * v2 cgroup (*in_cgroup = 1), falling back to clone(2) where unsupported. */
pid_t clone_flags(unsigned long flags, int cgroup_fd, int *in_cgroup);

#endif

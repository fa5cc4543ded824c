/*
 * runtime: the OCI runtime as a library.  Owns the lifecycle of containers
 * described by OCI bundles (config.json + rootfs): their state directories
 * under a root (default /run/barge-runtime), namespaces, mounts, cgroups and
 * processes.  It does not own images, logs or networking: those belong to
 * the engine, which drives this library through the same operations as
 * runc's command line (create, start, state, kill, delete, exec, ...).
 *
 * All functions follow the err convention (common/err.h).
 */
#ifndef BARGE_RUNTIME_H
#define BARGE_RUNTIME_H

#include <jansson.h>
#include <sys/types.h>

#include "../common/err.h"
#include "spec.h"

#define RT_DEFAULT_ROOT "/run/barge-runtime"

struct rt_ctx {
        const char *root;   /* state root, e.g. /run/barge-runtime */
        int systemd_cgroup; /* --systemd-cgroup was given */
};

struct rt_create_opts {
        const char *bundle;         /* directory with config.json */
        const char *pid_file;       /* write the init's pid here (may be NULL) */
        const char *console_socket; /* AF_UNIX socket to receive the pty master */
        int preserve_fds;           /* fds 3 .. 3+n-1 are passed to the container */
        int no_pivot;               /* MS_MOVE + chroot instead of pivot_root */
        int no_new_keyring;         /* share the caller's session keyring */
        int keep;                   /* run: keep the stopped container (no delete) */
};

struct rt_exec_opts {
        const char *pid_file;
        const char *console_socket;
        int detach;
        int preserve_fds;
};

int rt_create(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o,
              struct err **e);
int rt_start(const struct rt_ctx *ctx, const char *id, struct err **e);
/* create + start; unless detach, waits for the container and deletes it.
 * *status gets the exit code (128+signal when killed by a signal). */
int rt_run(const struct rt_ctx *ctx, const char *id, const struct rt_create_opts *o, int detach,
           int *status, struct err **e);
/* The OCI state object ({ociVersion,id,status,pid,bundle,...}). */
int rt_state(const struct rt_ctx *ctx, const char *id, json_t **out, struct err **e);
int rt_kill(const struct rt_ctx *ctx, const char *id, int sig, int all, struct err **e);
int rt_delete(const struct rt_ctx *ctx, const char *id, int force, struct err **e);
/* Array of state objects for every container under the root. */
int rt_list(const struct rt_ctx *ctx, json_t **out, struct err **e);
int rt_pause(const struct rt_ctx *ctx, const char *id, struct err **e);
int rt_resume(const struct rt_ctx *ctx, const char *id, struct err **e);
int rt_update(const struct rt_ctx *ctx, const char *id, json_t *resources, struct err **e);
int rt_pids(const struct rt_ctx *ctx, const char *id, pid_t **pids, size_t *n, struct err **e);
int rt_stats(const struct rt_ctx *ctx, const char *id, json_t **out, struct err **e);
/* Run `proc` inside a running container.  Unless o->detach, waits and sets
 * *status like rt_run. */
int rt_exec(const struct rt_ctx *ctx, const char *id, struct spec_process *proc,
            const struct rt_exec_opts *o, int *status, struct err **e);
/* The saved config.json of a container (for exec's defaults). */
int rt_load_spec(const struct rt_ctx *ctx, const char *id, struct spec **out, struct err **e);

/* Re-execute the current binary from a sealed memfd unless already doing
 * so, so that a container can never write to the runtime binary through
 * /proc/<pid>/exe (CVE-2019-5736).  Returns only on failure. */
int rt_ensure_cloned_binary(char **argv, char **envp, struct err **e);

#endif

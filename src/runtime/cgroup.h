/*
 * cgroup: the control groups of one container, on cgroup v1, v2 and the
 * hybrid layout (v1 controllers plus a cgroup2 mount beside them), found
 * from /proc/self/mountinfo and /proc/self/cgroup, never from fixed paths.
 *
 * Owns: creating and removing the container's cgroup directories in every
 * mounted hierarchy, moving processes into them, writing linux.resources
 * (converting v1-style values for v2 as runc does), the device allow-list
 * (v1 devices.allow/deny, v2 an eBPF program attached with bpf(2)),
 * freezing, listing and signalling the processes, reading statistics in
 * the shape of `runc events --stats`, and mounting the cgroup filesystem
 * inside the container.
 *
 * Does not own: systemd (no --systemd-cgroup driver: cgroupfs only), device
 * nodes in /dev, namespaces, or deciding when any of this happens (that is
 * the container lifecycle).  Not thread-safe; keeps no global state.
 *
 * cgroupsPath follows runc's cgroupfs driver: "/a/b" is relative to the root
 * of each hierarchy; "a/b" is relative to the calling process's own cgroup in
 * each hierarchy (on pure v2: to the parent of its own cgroup, which cannot
 * have processes and children with controllers at once); ".." cannot climb
 * above the start.  NULL or "" means the relative path "<id>", runc's default.
 * See docs/cgroups.md.
 */
#ifndef BARGE_CGROUP_H
#define BARGE_CGROUP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/err.h"

struct cgroup; /* the cgroup of one container, across all hierarchies */

/* Create the container's cgroup, apply linux.resources (OCI JSON, may be
 * NULL) and move `pid` into it (pid <= 0: do not move anything).  The
 * resources are checked before anything is created and written before the
 * process joins, so it never runs unconstrained.  As runc does, the device
 * list always ends with runc's default rules (/dev/null, zero, full, random,
 * urandom, tty, ptmx, /dev/pts/N, mknod of any device) and is default-deny.
 * On failure everything created is removed again and *e names the
 * controller, file and value, e.g.
 * "cgroup memory: write memory.limit_in_bytes=12: Invalid argument". */
int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, pid_t pid,
                  struct cgroup **out, struct err **e);
/* Apply linux.resources to an existing cgroup (`update`): only the keys
 * present are changed; a "devices" list replaces the previous one. */
int cgroup_apply_resources(struct cgroup *cg, json_t *resources, struct err **e);
/* Move `pid` into the container's cgroup in every hierarchy (`exec`). */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct err **e);
/* An O_PATH fd of the v2 (unified) directory for clone3(CLONE_INTO_CGROUP),
 * or -1 when there is no v2 hierarchy. */
int cgroup_v2_fd(const struct cgroup *cg);
/* Move the calling single-threaded process into every v1 hierarchy (and v2
 * too when include_v2) by itself: cheaper than cgroup_enter from outside,
 * which pays an RCU grace period per call.  Allocates nothing. */
int cgroup_join_self(const struct cgroup *cg, int include_v2, struct err **e);
/* pause/resume: v1 freezer.state, v2 cgroup.freeze; returns once the kernel
 * reports the cgroup FROZEN/THAWED (or fails after a few seconds). */
int cgroup_freeze(struct cgroup *cg, int frozen, struct err **e);
/* 1 when frozen, 0 otherwise (also when it cannot tell). */
int cgroup_is_frozen(struct cgroup *cg);
/* All processes in the container's cgroup and its sub-cgroups, sorted;
 * *pids is malloc'ed. */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct err **e);
/* Signal every process (`kill --all`).  SIGKILL uses v2 cgroup.kill when
 * present, else freezes, signals and thaws so no process escapes by forking. */
int cgroup_kill_all(struct cgroup *cg, int sig, struct err **e);
/* rmdir the container's cgroup (and sub-cgroups) in every hierarchy,
 * retrying briefly on EBUSY; directories already gone are fine. */
int cgroup_destroy(struct cgroup *cg, struct err **e);
/* Statistics as runc's `events --stats` prints under "data". */
int cgroup_stats(struct cgroup *cg, json_t **out, struct err **e);

/* Saved in the container's state so later commands find the cgroup. */
json_t *cgroup_to_json(const struct cgroup *cg);
int cgroup_from_json(json_t *j, struct cgroup **out, struct err **e);
void cgroup_free(struct cgroup *cg);

/* Inside the container's init, before pivot_root, for a config.json mount of
 * type "cgroup" at host path `dest` (already inside the rootfs).  With a
 * private cgroup namespace (cgroupns != 0) the real cgroup filesystems are
 * mounted (v2: cgroup2; v1/hybrid: a tmpfs holding one cgroup mount per
 * hierarchy, "unified" for the cgroup2 one, and symlinks such as
 * cpu -> cpu,cpuacct); without, the container's own cgroup directories are
 * bind-mounted from the host.  `flags` are the mount's MS_* options
 * (MS_RDONLY makes everything read-only). */
int cgroup_mount(const struct cgroup *cg, const char *dest, int cgroupns, unsigned long flags,
                 struct err **e);

/* --systemd-cgroup: map systemd's "slice:prefix:name" cgroupsPath (empty:
 * system.slice:barge:<id>) to the path systemd would give the unit, e.g.
 * "/system.slice/docker-<id>.scope", for the cgroupfs code to use.  The
 * unit is not registered with systemd (no D-Bus). */
int cgroup_systemd_path(const char *spec_path, const char *id, char **out, struct err **e);

/* "v1", "v2" or "hybrid" for this host; "none" when no cgroup fs is mounted. */
const char *cgroup_mode(void);

static inline void cgroup_freep(struct cgroup **cg)
{
        cgroup_free(*cg);
}
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))

#endif

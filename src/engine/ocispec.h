/*
 * engine/ocispec: a Docker container (its Config and HostConfig, in the
 * Engine API's JSON shapes) and its image's config -> the OCI runtime spec
 * (config.json) barge-runtime, runc or crun runs it from.  It owns Docker's
 * default confinement (capabilities, the default seccomp profile in
 * seccomp_default.c, masked and read-only paths, devices and their cgroup
 * rules), user lookup in the image's /etc/passwd and /etc/group, resource
 * limits, ulimits (clamped to the host's hard limits), --init and
 * --privileged.  Pure functions over JSON plus reads inside the rootfs;
 * nothing here mounts or starts anything.
 */
#ifndef BARGE_ENGINE_OCISPEC_H
#define BARGE_ENGINE_OCISPEC_H

#include <jansson.h>

#include "../common/err.h"

/* Check a create request's Config and HostConfig (either may be NULL;
 * config may be the whole create body, whose HostConfig and
 * NetworkingConfig are then type-checked too): the type of every field
 * ("HostConfig.Binds: must be an array of strings"),
 * unknown restart policy, negative or too small memory (< 6 MiB as Docker),
 * bad NanoCpus/CpuShares, bad ulimit, capability names, --security-opt
 * values, bad Healthcheck durations, ...  -1 with EINVAL and a message
 * naming the field ("invalid restart policy \"sometimes\"").  Adds
 * Docker-style warning strings to `warnings` (a JSON array) if any. */
int ocispec_validate(json_t *config, json_t *host_config, json_t *warnings, struct err **e);

/* At create: fill the container's Config from the image's config (the
 * "config" object of the image config blob; may be NULL): Env (image first,
 * then the container's, same names overridden), Cmd (the image's unless
 * given; an Entrypoint given with no Cmd clears the image's Cmd),
 * Entrypoint, WorkingDir, User, Labels (merged), ExposedPorts (merged),
 * Volumes, StopSignal, Healthcheck (the container's fields override), Shell,
 * OnBuild.  Modifies `config` in place. -1 with EINVAL if nothing to run
 * ("no command specified"). */
int ocispec_merge_image(json_t *config, json_t *image_config, struct err **e);

struct ocispec_in {
        const char *id;      /* container id (64 hex) */
        json_t *config;      /* the merged Config */
        json_t *host_config; /* HostConfig */
        const char *rootfs;  /* absolute path of the mounted root (the user
                                lookup reads its /etc/passwd, /etc/group) */
        /* files barged wrote for this container, bind-mounted over
         * /etc/hostname, /etc/hosts, /etc/resolv.conf (NULL: none) */
        const char *hostname_path;
        const char *hosts_path;
        const char *resolv_path;
        const char *init_path;   /* barge-init on the host, for HostConfig.Init */
        const char *cgroup_path; /* linux.cgroupsPath, e.g. "/barge/<id>" */
        /* NetworkMode: "none", "host", "default"/"bridge" (a new network
         * namespace with loopback only until networks exist), or
         * "container:<id>" resolved by the caller to a namespace path: */
        const char *netns_path; /* join this network namespace (NULL: new/host per mode) */
        const char *ipcns_path; /* IpcMode container:<id> (NULL: private) */
        const char *pidns_path; /* PidMode container:<id> (NULL: private) */
};

/* Build the OCI spec.  Warnings (ulimits clamped to the host's, ...) are
 * appended to `warnings` (a JSON array; may be NULL).  -1 with EINVAL
 * naming the problem (unknown user "nobody2" in the image, ...). */
int ocispec_build(const struct ocispec_in *in, json_t **spec, json_t *warnings, struct err **e);

/* The process object for an exec (ExecConfig of POST /containers/{id}/exec:
 * Cmd, Env, User, WorkingDir, Tty, Privileged) inside a container built
 * from `in`: the container's env, caps, seccomp, rlimits, user rules. */
int ocispec_exec_process(const struct ocispec_in *in, json_t *exec_config, json_t **process,
                         struct err **e);

/* Docker's default capability set (NULL-terminated "CAP_CHOWN", ...). */
extern const char *const ocispec_default_caps[];

#endif

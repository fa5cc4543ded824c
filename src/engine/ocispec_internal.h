/*
 * engine/ocispec_internal: what the ocispec*.c and seccomp_default.c files
 * share and nobody else needs: the user lookup inside an untrusted rootfs,
 * the seccomp profiles, and the capability table.
 */
#ifndef BARGE_ENGINE_OCISPEC_INTERNAL_H
#define BARGE_ENGINE_OCISPEC_INTERNAL_H

#include <jansson.h>

#include "../common/err.h"

/* The host capability names this engine knows ("CAP_CHOWN", ...), by number. */
extern const char *const ocispec_all_caps[];
extern const size_t ocispec_all_caps_len;

/* "chown", "CAP_CHOWN", "cap_chown" -> "CAP_CHOWN" (static storage), NULL if
 * unknown.  "ALL" is not a capability and gives NULL. */
const char *ocispec_cap_canonical(const char *name);

/* The capability list (a JSON array of "CAP_*") for HostConfig: Docker's
 * defaults with CapAdd/CapDrop applied, or every capability the kernel
 * has when `privileged`.  -1 with EINVAL on an unknown name. */
int ocispec_caps(json_t *host_config, int privileged, json_t **caps, struct err **e);

/* Config.User ("name", "uid", "name:group", "uid:gid", "" = root) resolved
 * inside `rootfs` (NULL: numeric ids only) -> {"uid","gid","additionalGids"}
 * plus the passwd entry's home in *home (may be NULL; freed by caller).
 * group_add: HostConfig.GroupAdd (may be NULL). */
int ocispec_user(const char *rootfs, const char *user, json_t *group_add, json_t **out, char **home,
                 struct err **e);

/* Docker's default seccomp profile for a container whose bounding set is
 * `caps` (JSON array of "CAP_*"), in OCI form (linux.seccomp). */
json_t *seccomp_default_profile(json_t *caps);

/* A profile in Docker's format (what `--security-opt seccomp=FILE` sends:
 * the file's text) -> OCI linux.seccomp, filtered for `caps` and this host's
 * architecture and kernel.  -1 with EINVAL naming the problem. */
int seccomp_docker_to_oci(const char *text, json_t *caps, json_t **out, struct err **e);

/* HostConfig.SecurityOpt well formed (and a seccomp profile convertible)? */
int ocispec_check_secopts(json_t *host_config, struct err **e);
/* Is `name` a ulimit Docker knows ("nofile", ...)? */
int ocispec_check_rlimit(const char *name);

#endif

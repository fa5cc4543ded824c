/*
 * defaults: the two documents barge-runtime prints rather than reads.
 * default_spec() is the config.json `barge-runtime spec` writes (the same
 * content as `runc spec`, hostname "barge"); features_json() is the
 * `barge-runtime features` output, in the shape runc 1.1+ prints, so that
 * containerd and podman can probe what this runtime supports.
 *
 * This module only builds JSON; writing and printing belong to the CLI.
 */
#ifndef BARGE_DEFAULTS_H
#define BARGE_DEFAULTS_H

#include <jansson.h>

#define BARGE_RUNTIME_VERSION "0.1.0"
#define BARGE_OCI_VERSION_MIN "1.0.0"
#define BARGE_OCI_VERSION_MAX "1.1.0"

/* A new config.json.  With `rootless`, like `runc spec --rootless`: a user
 * namespace mapping the caller's euid/egid to 0, no network namespace, /sys
 * rbound instead of mounted, no uid=/gid= mount options, no
 * linux.resources.  Never NULL (aborts on allocation failure). */
json_t *default_spec(int rootless);

/* The `features` document: ociVersionMin/Max, hooks, mountOptions,
 * linux {namespaces, capabilities, cgroup, seccomp, apparmor, selinux},
 * annotations.  Never NULL. */
json_t *features_json(void);

#endif

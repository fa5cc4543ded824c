/*
 * daemon/config: barged's settings from its flags and its config file
 * (/etc/barge/daemon.json, keys as in Docker's daemon.json where the two
 * overlap).  A setting given both as a flag and in the file is an error,
 * as with dockerd; so is a key the file should not have.  SIGHUP re-reads
 * the file; only the reloadable settings (registry mirrors, insecure
 * registries, log level, log options) change then.
 */
#ifndef BARGE_DAEMON_CONFIG_H
#define BARGE_DAEMON_CONFIG_H

#include <stdint.h>

#include "../common/err.h"

#define MAX_LIST 32

struct daemon_config {
        char *root;      /* data-root */
        char *exec_root; /* exec-root */
        char *host;      /* hosts[0]: unix:///path */
        char *pidfile;
        char *runtime;   /* default-runtime: a path, or a name looked up in PATH */
        char *group;     /* socket group (default "barge" when it exists) */
        char *log_level; /* debug|info|warn|error */
        char *cgroup_parent; /* containers' cgroups go under it (default /barge) */
        char *mirrors[MAX_LIST];
        int n_mirrors;
        char *insecure[MAX_LIST + 1]; /* NULL-terminated */
        int n_insecure;
        int64_t log_max_size; /* log-opts max-size, bytes (0: none) */
        int log_max_file;     /* log-opts max-file (1) */
        /* which settings came from flags (bit per key, see config.c) */
        unsigned from_flags;
};

/* The flag bits for from_flags. */
enum {
        CF_ROOT = 1 << 0,
        CF_EXEC_ROOT = 1 << 1,
        CF_HOST = 1 << 2,
        CF_PIDFILE = 1 << 3,
        CF_RUNTIME = 1 << 4,
        CF_GROUP = 1 << 5,
        CF_LOG_LEVEL = 1 << 6,
        CF_MIRRORS = 1 << 7,
        CF_INSECURE = 1 << 8,
        CF_LOG_OPTS = 1 << 9,
        CF_CGROUP_PARENT = 1 << 10,
};

/* Merge the config file at `path` into c.  A missing file is fine unless
 * `required` (it was named with --config-file). */
int config_load_file(struct daemon_config *c, const char *path, int required, struct err **e);
/* "10m", "1.5g", "512k", "100" -> bytes */
int config_parse_size(const char *s, int64_t *out, struct err **e);
void config_free(struct daemon_config *c);

#endif

/*
 * spec: an OCI runtime-spec config.json, parsed and validated into C
 * structures before anything is created, so that a bad config is refused
 * with one clear error naming the field, and the container's init (which
 * runs after fork) never has to parse or allocate much.
 *
 * Two sections stay JSON because their own modules interpret them and
 * `update` feeds the same shape: linux.resources (cgroup.c) and
 * linux.seccomp (seccomp.c).
 */
#ifndef BARGE_SPEC_H
#define BARGE_SPEC_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

struct spec_mount {
        char *destination;
        char *type;
        char *source;
        char **options; /* NULL-terminated, as given */
        /* derived from options: */
        unsigned long flags;        /* MS_* to set */
        unsigned long clear_flags;  /* MS_* explicitly cleared (e.g. "rw", "dev") */
        unsigned long propagation;  /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE | MS_REC */
        int bind;                   /* "bind" or "rbind" (rbind sets MS_REC in flags) */
        unsigned long rec_attr_set; /* MOUNT_ATTR_* from "rro", "rnosuid"... (mount_setattr) */
        unsigned long rec_attr_clr;
        char *data; /* unrecognised options joined with ',' for the fs */
};

struct spec_rlimit {
        int resource; /* RLIMIT_* */
        char *name;
        unsigned long long soft, hard;
};

enum {
        CAPSET_BOUNDING,
        CAPSET_EFFECTIVE,
        CAPSET_INHERITABLE,
        CAPSET_PERMITTED,
        CAPSET_AMBIENT,
        CAPSET_COUNT
};

struct spec_process {
        int terminal;
        unsigned console_height, console_width;
        uid_t uid;
        gid_t gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        int has_umask;
        mode_t umask;
        char **args; /* NULL-terminated, at least one element */
        char **env;  /* NULL-terminated */
        char *cwd;   /* absolute */
        int has_caps;
        uint64_t caps[CAPSET_COUNT]; /* bit n = capability n */
        struct spec_rlimit *rlimits;
        size_t n_rlimits;
        int no_new_privileges;
        int has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile; /* accepted, not enforced (no AppArmor here) */
        char *selinux_label;    /* accepted, not enforced */
};

struct spec_namespace {
        int type;   /* CLONE_NEW* */
        char *path; /* join this namespace; NULL creates a new one */
};

struct spec_idmap {
        uint32_t container_id, host_id, size;
};

struct spec_device {
        char *path;
        char type; /* 'c', 'b', 'u', 'p' */
        long long major, minor;
        int has_mode;
        mode_t file_mode;
        int has_uid, has_gid;
        uid_t uid;
        gid_t gid;
};

struct spec_hook {
        char *path;
        char **args; /* NULL-terminated; may be NULL */
        char **env;  /* NULL-terminated; may be NULL */
        int timeout; /* seconds, 0 = none */
};

enum hook_kind {
        HOOK_PRESTART,
        HOOK_CREATE_RUNTIME,
        HOOK_CREATE_CONTAINER,
        HOOK_START_CONTAINER,
        HOOK_POSTSTART,
        HOOK_POSTSTOP,
        HOOK_KIND_COUNT
};

struct spec_hooks {
        struct spec_hook *list[HOOK_KIND_COUNT];
        size_t count[HOOK_KIND_COUNT];
};

struct spec_sysctl {
        char *key, *value;
};

struct spec {
        json_t *doc; /* the whole config.json, owned */
        char *oci_version;
        char *root_path; /* as written in config.json (may be relative to the bundle) */
        int root_readonly;
        char *hostname;
        char *domainname;
        struct spec_process *process; /* NULL only for specs used by `exec` lookups */
        struct spec_mount *mounts;
        size_t n_mounts;
        struct spec_hooks hooks;
        json_t *annotations; /* borrowed from doc, may be NULL */

        /* linux */
        struct spec_namespace *namespaces;
        size_t n_namespaces;
        struct spec_idmap *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct spec_device *devices;
        size_t n_devices;
        char *cgroups_path; /* may be NULL */
        json_t *resources;  /* borrowed from doc, may be NULL */
        json_t *seccomp;    /* borrowed from doc, may be NULL */
        struct spec_sysctl *sysctl;
        size_t n_sysctl;
        char **masked_paths;              /* NULL-terminated, may be NULL */
        char **readonly_paths;            /* NULL-terminated, may be NULL */
        unsigned long rootfs_propagation; /* 0 = default (MS_REC|MS_SLAVE) */
        char *mount_label;
};

/* Parse and validate a config.json text. */
int spec_parse(const char *text, struct spec **out, struct err **e);
int spec_load(const char *path, struct spec **out, struct err **e);
void spec_free(struct spec *s);

/* Parse a "process" object alone (exec --process). */
int spec_parse_process(json_t *obj, struct spec_process **out, struct err **e);
void spec_process_free(struct spec_process *p);

/* The namespace entry of a CLONE_NEW* type, or NULL. */
const struct spec_namespace *spec_namespace(const struct spec *s, int type);

/* The mount option words the parser understands (for `features`). */
json_t *spec_mount_option_names(void);

/* Capability name ("CAP_SYS_ADMIN") to number, -1 if unknown. */
int cap_from_name_str(const char *name);
/* "SIGKILL", "KILL", "9" -> 9; -1 if unknown. */
int signal_from_name(const char *name);

static inline void spec_freep(struct spec **s)
{
        spec_free(*s);
}
#define _cleanup_spec_ __attribute__((cleanup(spec_freep)))

#endif

/*
 * defaults: builds `barge-runtime spec`'s config.json and `barge-runtime
 * features`' document.  Key order follows runc's output (jansson keeps
 * insertion order), so the files diff cleanly against runc's.
 */
#include "defaults.h"
#include "spec.h"

#include <ctype.h>
#include <seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "../common/util.h"
#include "seccomp.h"

/* A NULL-terminated list of strings as a JSON array. */
static json_t *strings(const char *const *list)
{
        json_t *a = json_array();
        for (; *list; list++)
                json_array_append_new(a, json_string(*list));
        return a;
}

#define STRINGS(...) strings((const char *const[]){__VA_ARGS__, NULL})

static json_t *must(json_t *j)
{
        if (j == NULL)
                abort(); /* json_pack fails only on allocation failure here */
        return j;
}

/* ---- spec ---- */

static json_t *default_process(void)
{
        static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                           NULL};
        json_t *capabilities =
            must(json_pack("{s:o, s:o, s:o, s:o}", "bounding", strings(caps), "effective",
                           strings(caps), "permitted", strings(caps), "ambient", strings(caps)));
        json_t *env = STRINGS("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "TERM=xterm");
        json_t *rlimits = must(
            json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024));
        return must(json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:o, s:o, s:b}", "terminal", 1,
                              "user", "uid", 0, "gid", 0, "args", STRINGS("sh"), "env", env, "cwd",
                              "/", "capabilities", capabilities, "rlimits", rlimits,
                              "noNewPrivileges", 1));
}

/* opts may be NULL: the mount then has no "options" key, as in runc's output. */
static json_t *mount_entry(const char *dest, const char *type, const char *src,
                           const char *const *opts)
{
        json_t *m =
            must(json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", src));
        if (opts != NULL)
                json_object_set_new(m, "options", strings(opts));
        return m;
}

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static json_t *default_mounts(void)
{
        json_t *a = json_array();
        json_array_append_new(a, mount_entry("/proc", "proc", "proc", NULL));
        json_array_append_new(
            a, mount_entry("/dev", "tmpfs", "tmpfs",
                           OPTS("nosuid", "strictatime", "mode=755", "size=65536k")));
        json_array_append_new(a, mount_entry("/dev/pts", "devpts", "devpts",
                                             OPTS("nosuid", "noexec", "newinstance",
                                                  "ptmxmode=0666", "mode=0620", "gid=5")));
        json_array_append_new(
            a, mount_entry("/dev/shm", "tmpfs", "shm",
                           OPTS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
        json_array_append_new(
            a, mount_entry("/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev")));
        json_array_append_new(
            a, mount_entry("/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro")));
        json_array_append_new(a, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup",
                                             OPTS("nosuid", "noexec", "nodev", "relatime", "ro")));
        return a;
}

static json_t *default_linux(void)
{
        json_t *namespaces = json_array();
        static const char *const types[] = {"pid", "network", "ipc", "uts", "mount"};
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                json_array_append_new(namespaces, must(json_pack("{s:s}", "type", types[i])));
        json_t *masked = STRINGS("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                 "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                 "/proc/sched_debug", "/sys/firmware", "/proc/scsi");
        json_t *readonly =
            STRINGS("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
        return must(json_pack("{s:{s:[{s:b, s:s}]}, s:o, s:o, s:o}", "resources", "devices",
                              "allow", 0, "access", "rwm", "namespaces", namespaces, "maskedPaths",
                              masked, "readonlyPaths", readonly));
}

static json_t *id_mapping(unsigned int host_id)
{
        return must(json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)host_id,
                              "size", 1));
}

/* Drop uid=/gid= options: those ids need not exist in a one-id user namespace. */
static void strip_id_options(json_t *mount)
{
        json_t *opts = json_object_get(mount, "options");
        for (size_t i = json_array_size(opts); i-- > 0;) {
                const char *o = json_string_value(json_array_get(opts, i));
                if (o && (str_has_prefix(o, "uid=") || str_has_prefix(o, "gid=")))
                        json_array_remove(opts, i);
        }
}

/* Without CAP_SYS_ADMIN over the network namespace sysfs cannot be mounted,
 * so the host's /sys is rbound read-only instead. */
static void rootless_mounts(json_t *mounts)
{
        size_t i;
        json_t *m;
        json_array_foreach(mounts, i, m)
        {
                const char *dest = json_string_value(json_object_get(m, "destination"));
                if (dest && strcmp(dest, "/sys") == 0)
                        json_array_set_new(
                            mounts, i,
                            mount_entry("/sys", "none", "/sys",
                                        OPTS("rbind", "nosuid", "noexec", "nodev", "ro")));
                else
                        strip_id_options(m);
        }
}

/* A rootless caller cannot configure cgroups or a network, and gets a user
 * namespace in which it is root.  Mappings go first, as in runc's output. */
static void make_rootless(json_t *spec)
{
        json_t *old = json_object_get(spec, "linux");
        json_t *lnx = must(json_pack("{s:o, s:o}", "uidMappings", id_mapping(geteuid()),
                                     "gidMappings", id_mapping(getegid())));
        json_t *ns = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(old, "namespaces"), i, v)
        {
                const char *t = json_string_value(json_object_get(v, "type"));
                if (t && strcmp(t, "network") != 0 && strcmp(t, "user") != 0)
                        json_array_append(ns, v);
        }
        json_array_append_new(ns, must(json_pack("{s:s}", "type", "user")));
        json_object_set_new(lnx, "namespaces", ns);
        const char *key;
        json_object_foreach(old, key,
                            v) if (strcmp(key, "resources") != 0 && strcmp(key, "namespaces") != 0)
            json_object_set(lnx, key, v);
        json_object_set_new(spec, "linux", lnx);
        rootless_mounts(json_object_get(spec, "mounts"));
}

json_t *default_spec(int rootless)
{
        json_t *spec = must(json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion",
                                      BARGE_OCI_VERSION_MAX, "process", default_process(), "root",
                                      "path", "rootfs", "readonly", 1, "hostname", "barge",
                                      "mounts", default_mounts(), "linux", default_linux()));
        if (rootless)
                make_rootless(spec);
        return spec;
}

/* ---- features ---- */

/* Every capability libcap has a name for, "CAP_CHOWN" style, by number.
 * libcap names an unknown capability by its number, which ends the list. */
static json_t *known_capabilities(void)
{
        json_t *a = json_array();
        for (cap_value_t c = 0; c < 64; c++) {
                char *name = cap_to_name(c);
                int known = name != NULL && !isdigit((unsigned char)name[0]);
                if (known) {
                        for (char *p = name; *p; p++)
                                *p = (char)toupper((unsigned char)*p);
                        json_array_append_new(a, json_string(name));
                }
                cap_free(name);
                if (!known)
                        break;
        }
        return a;
}

static json_t *features_linux(void)
{
        json_t *ns = STRINGS("cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts");
        json_t *seccomp = seccomp_features();
        return must(json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}}",
                              "namespaces", ns, "capabilities", known_capabilities(), "cgroup",
                              "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp",
                              must(seccomp), "apparmor", "enabled", 0, "selinux", "enabled", 0));
}

json_t *features_json(void)
{
        const struct scmp_version *v = seccomp_version();
        _cleanup_free_ char *scmp = xasprintf("%u.%u.%u", v->major, v->minor, v->micro);
        json_t *hooks = STRINGS("prestart", "createRuntime", "createContainer", "startContainer",
                                "poststart", "poststop");
        return must(json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s, s:s}}", "ociVersionMin",
                              BARGE_OCI_VERSION_MIN, "ociVersionMax", BARGE_OCI_VERSION_MAX,
                              "hooks", hooks, "mountOptions", spec_mount_option_names(), "linux",
                              features_linux(), "annotations", "io.github.barge.runtime.version",
                              BARGE_RUNTIME_VERSION, "io.github.seccomp.libseccomp.version", scmp));
}

/*
 * engine/ocispec: a Docker container -> its OCI runtime spec (see ocispec.h).
 * The shape follows what dockerd hands runc: Docker's default mounts, masked
 * and read-only paths, capability set, device cgroup rules and seccomp
 * profile, then the container's HostConfig on top.  The user lookup lives
 * in ocispec_user.c, the seccomp table in seccomp_default.c, request checks
 * and the image merge in ocispec_validate.c.
 */
#include "ocispec.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "../common/util.h"
#include "ocispec_internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM_SIZE (64LL << 20)
#define DEFAULT_NOFILE 1048576LL
#define CPU_PERIOD_DEFAULT 100000LL
#define INIT_DEST "/sbin/docker-init"

const char *const ocispec_default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

/* Indexed by capability number (linux/capability.h). */
const char *const ocispec_all_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
const size_t ocispec_all_caps_len = ARRAY_SIZE(ocispec_all_caps);

/* Docker's masked and read-only paths (none for --privileged). */
static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* The device cgroup: deny everything, then what a container's /dev holds. */
struct dev_rule {
        int allow;
        char type;
        long long major, minor; /* -1: any */
        const char *access;
};
static const struct dev_rule dev_rules[] = {
    {1, 'c', -1, -1, "m"},    {1, 'b', -1, -1, "m"},    /* mknod of anything */
    {1, 'c', 1, 3, "rwm"},    {1, 'c', 1, 5, "rwm"},    /* null, zero */
    {1, 'c', 1, 7, "rwm"},    {1, 'c', 1, 8, "rwm"},    /* full, random */
    {1, 'c', 1, 9, "rwm"},    {1, 'c', 5, 0, "rwm"},    /* urandom, tty */
    {1, 'c', 5, 1, "rwm"},    {1, 'c', 5, 2, "rwm"},    /* console, ptmx */
    {1, 'c', 136, -1, "rwm"}, {1, 'c', 10, 200, "rwm"}, /* pts, tun */
    /* fuse (c 10:229) stays denied by the first rule; an explicit deny after
     * the "c *:* m" wildcard is refused by runc on cgroup v1 */
};

struct rlimit_name {
        const char *name;
        int resource;
};
static const struct rlimit_name rlimit_names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

/* ---- small JSON helpers ---- */

static const char *jstr(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static long long jint(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? json_integer_value(v)
                                  : (json_is_real(v) ? (long long)json_real_value(v) : 0);
}

static int jbool(json_t *o, const char *key)
{
        return json_is_true(json_object_get(o, key));
}

static json_t *strings(const char *const *list, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n && list[i]; i++)
                json_array_append_new(a, json_string(list[i]));
        return a;
}

#define OPTS(...) strings((const char *const[]){__VA_ARGS__, NULL}, 64)

static int list_has(json_t *list, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) &&
                                           strcmp(json_string_value(v), s) == 0) return 1;
        return 0;
}

/* ---- capabilities ---- */

const char *ocispec_cap_canonical(const char *name)
{
        if (name == NULL)
                return NULL;
        const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
        for (size_t i = 0; i < ARRAY_SIZE(ocispec_all_caps); i++)
                if (strcasecmp(ocispec_all_caps[i] + 4, bare) == 0)
                        return ocispec_all_caps[i];
        return NULL;
}

/* Can a container get capability `nr`?  The kernel must know it
 * (/proc/sys/kernel/cap_last_cap) and this process's bounding set must hold
 * it: a daemon in a confined environment cannot hand out what it lacks. */
static int host_has_cap(size_t nr)
{
        int r = prctl(PR_CAPBSET_READ, (unsigned long)nr, 0, 0, 0);
        return r == 1 || (r < 0 && errno != EINVAL && nr < ARRAY_SIZE(ocispec_all_caps));
}

static int is_all(const char *s)
{
        return s && (strcasecmp(s, "ALL") == 0 || strcasecmp(s, "CAP_ALL") == 0);
}

/* CapAdd or CapDrop canonicalized; *all set when it holds "ALL". */
static int cap_list(json_t *hc, const char *key, json_t **out, int *all, struct err **e)
{
        json_t *list = json_object_get(hc, key);
        *out = json_array();
        *all = 0;
        if (list != NULL && !json_is_null(list) && !json_is_array(list))
                return err_new(e, EINVAL, "HostConfig.%s: must be an array of strings", key);
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);
                if (is_all(s)) {
                        *all = 1;
                        continue;
                }
                const char *c = ocispec_cap_canonical(s);
                if (c == NULL)
                        return err_new(e, EINVAL, "HostConfig.%s: unknown capability: \"%s\"", key,
                                       s ? s : "(not a string)");
                if (!list_has(*out, c))
                        json_array_append_new(*out, json_string(c));
        }
        return 0;
}

int ocispec_caps(json_t *hc, int privileged, json_t **caps, struct err **e)
{
        json_t *add = NULL, *drop = NULL;
        int add_all, drop_all;
        *caps = NULL;
        if (cap_list(hc, "CapAdd", &add, &add_all, e) < 0 ||
            cap_list(hc, "CapDrop", &drop, &drop_all, e) < 0) {
                json_decref(add);
                json_decref(drop);
                return -1;
        }
        json_t *out = json_array();
        if (privileged || add_all) {
                for (size_t i = 0; i < ARRAY_SIZE(ocispec_all_caps); i++)
                        if (host_has_cap(i) && (privileged || !list_has(drop, ocispec_all_caps[i])))
                                json_array_append_new(out, json_string(ocispec_all_caps[i]));
        } else {
                /* Docker: an explicit add wins over a drop of the same name */
                if (!drop_all)
                        for (size_t i = 0; ocispec_default_caps[i]; i++)
                                if (!list_has(drop, ocispec_default_caps[i]))
                                        json_array_append_new(out,
                                                              json_string(ocispec_default_caps[i]));
                size_t i;
                json_t *v;
                json_array_foreach(add, i, v) if (!list_has(out, json_string_value(v)))
                    json_array_append(out, v);
        }
        json_decref(add);
        json_decref(drop);
        *caps = out;
        return 0;
}

/* ---- security options ---- */

struct secopts {
        int no_new_privs;
        int seccomp_unconfined;
        const char *seccomp_profile; /* Docker-format text, NULL: default */
        int systempaths_unconfined;
        int writable_cgroups;
};

static int parse_bool_opt(const char *v, int *out)
{
        if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
                *out = 1;
                return 0;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
                *out = 0;
                return 0;
        }
        return -1;
}

static int parse_secopts(json_t *hc, struct secopts *so, struct err **e)
{
        memset(so, 0, sizeof(*so));
        json_t *list = json_object_get(hc, "SecurityOpt");
        if (list != NULL && !json_is_null(list) && !json_is_array(list))
                return err_new(e, EINVAL, "HostConfig.SecurityOpt: must be an array of strings");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                const char *opt = json_string_value(v);
                if (opt == NULL)
                        return err_new(e, EINVAL, "HostConfig.SecurityOpt[%zu]: not a string", i);
                /* "key=value", or the older "key:value" */
                size_t klen = strcspn(opt, "=:");
                const char *val = opt[klen] ? opt + klen + 1 : NULL;
                char key[32];
                if (klen >= sizeof(key))
                        goto bad;
                memcpy(key, opt, klen);
                key[klen] = '\0';
                if (strcmp(key, "no-new-privileges") == 0) {
                        if (parse_bool_opt(val, &so->no_new_privs) < 0)
                                return err_new(e, EINVAL,
                                               "invalid --security-opt 2: \"%s\": "
                                               "no-new-privileges takes true or false",
                                               opt);
                } else if (strcmp(key, "seccomp") == 0 && val && *val) {
                        if (strcmp(val, "unconfined") == 0)
                                so->seccomp_unconfined = 1;
                        else
                                so->seccomp_profile = val;
                } else if (strcmp(key, "systempaths") == 0 && val &&
                           strcmp(val, "unconfined") == 0) {
                        so->systempaths_unconfined = 1;
                } else if (strcmp(key, "writable-cgroups") == 0) {
                        if (parse_bool_opt(val, &so->writable_cgroups) < 0)
                                goto bad;
                } else if ((strcmp(key, "apparmor") == 0 || strcmp(key, "label") == 0) && val) {
                        /* no AppArmor or SELinux support: accepted, as on a host without them */
                } else {
                        goto bad;
                }
                continue;
        bad:
                return err_new(e, EINVAL, "HostConfig.SecurityOpt: invalid --security-opt: \"%s\"",
                               opt);
        }
        return 0;
}

/* ---- process ---- */

static size_t env_key_len(const char *kv)
{
        const char *eq = strchr(kv, '=');
        return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Docker's ReplaceOrAppendEnvValues: same key replaces; "KEY" alone unsets. */
static void env_set(json_t *env, const char *kv)
{
        size_t kl = env_key_len(kv);
        int has_value = kv[kl] == '=';
        for (size_t i = 0; i < json_array_size(env); i++) {
                const char *cur = json_string_value(json_array_get(env, i));
                if (cur && env_key_len(cur) == kl && strncmp(cur, kv, kl) == 0) {
                        if (has_value)
                                json_array_set_new(env, i, json_string(kv));
                        else
                                json_array_remove(env, i);
                        return;
                }
        }
        if (has_value)
                json_array_append_new(env, json_string(kv));
}

static int env_has(json_t *env, const char *key)
{
        size_t kl = strlen(key), i;
        json_t *v;
        json_array_foreach(env, i, v)
        {
                const char *cur = json_string_value(v);
                if (cur && env_key_len(cur) == kl && strncmp(cur, key, kl) == 0)
                        return 1;
        }
        return 0;
}

static void env_add_list(json_t *env, json_t *list)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) && *json_string_value(v))
            env_set(env, json_string_value(v));
}

/* Config.Hostname; else, on the host's network, the host's name (as Docker:
 * the container then shares its /etc/hosts view); else the short id.
 * `buf` must hold HOST_NAME_MAX + 1 bytes. */
static const char *container_hostname(const struct ocispec_in *in, char *buf, size_t n)
{
        const char *h = jstr(in->config, "Hostname");
        if (h && *h)
                return h;
        const char *net = json_string_value(json_object_get(in->host_config, "NetworkMode"));
        if (net && strcmp(net, "host") == 0 && gethostname(buf, n) == 0) {
                buf[n - 1] = '\0';
                return buf;
        }
        snprintf(buf, n, "%.12s", in->id ? in->id : "");
        return buf;
}

/* PATH, HOSTNAME, TERM first; the container's Env replaces or appends. */
static json_t *container_env(const struct ocispec_in *in, int tty)
{
        char hbuf[HOST_NAME_MAX + 1];
        json_t *env = json_array();
        json_array_append_new(env, json_string(DEFAULT_PATH));
        _cleanup_free_ char *h =
            xasprintf("HOSTNAME=%s", container_hostname(in, hbuf, sizeof(hbuf)));
        json_array_append_new(env, json_string(h));
        if (tty)
                json_array_append_new(env, json_string("TERM=xterm"));
        env_add_list(env, json_object_get(in->config, "Env"));
        return env;
}

static int rlimit_resource(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
                if (strcmp(rlimit_names[i].name, name) == 0)
                        return rlimit_names[i].resource;
        return -1;
}

static json_t *rlimit_entry(const char *name, long long soft, long long hard)
{
        char type[32];
        snprintf(type, sizeof(type), "RLIMIT_%s", name);
        for (char *p = type; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        return json_pack("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t)hard, "soft",
                         (json_int_t)soft);
}

/* Clamp to the host's hard limit; `warn`: report it (the user asked for it). */
static void clamp_rlimit(const char *name, int res, long long *soft, long long *hard,
                         json_t *warnings, int warn)
{
        struct rlimit rl;
        if (getrlimit(res, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
                return;
        long long max = (long long)rl.rlim_max;
        if (*hard < 0 || *hard > max) {
                if (warn && warnings) {
                        _cleanup_free_ char *w = xasprintf(
                            "Ulimit %s: hard limit %lld is above the host's %lld; using %lld", name,
                            *hard, max, max);
                        json_array_append_new(warnings, json_string(w));
                }
                *hard = max;
        }
        if (*soft < 0 || *soft > *hard)
                *soft = *hard;
}

static int build_rlimits(json_t *hc, json_t *warnings, json_t **out, struct err **e)
{
        json_t *rl = json_array();
        int have_nofile = 0;
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(hc, "Ulimits"), i, u)
        {
                const char *name = jstr(u, "Name");
                int res = name ? rlimit_resource(name) : -1;
                if (res < 0) {
                        json_decref(rl);
                        return err_new(e, EINVAL,
                                       "HostConfig.Ulimits[%zu]: invalid ulimit type: %s", i,
                                       name ? name : "(none)");
                }
                long long soft = jint(u, "Soft"), hard = jint(u, "Hard");
                clamp_rlimit(name, res, &soft, &hard, warnings, 1);
                have_nofile |= res == RLIMIT_NOFILE;
                json_array_append_new(rl, rlimit_entry(name, soft, hard));
        }
        if (!have_nofile) {
                long long soft = DEFAULT_NOFILE, hard = DEFAULT_NOFILE;
                clamp_rlimit("nofile", RLIMIT_NOFILE, &soft, &hard, warnings, 0);
                json_array_append_new(rl, rlimit_entry("nofile", soft, hard));
        }
        *out = rl;
        return 0;
}

/* A non-root user starts with no capabilities, only the bounding set
 * (Docker does the same): exec of a setuid-root or file-capability binary
 * can still gain them, within the bounding set, unless noNewPrivileges. */
static json_t *caps_object(json_t *caps, int root)
{
        if (!root)
                return json_pack("{s:O, s:[], s:[], s:[], s:[]}", "bounding", caps, "effective",
                                 "permitted", "inheritable", "ambient");
        return json_pack("{s:O, s:O, s:O, s:[], s:[]}", "bounding", caps, "effective", caps,
                         "permitted", caps, "inheritable", "ambient");
}

/* What a container's process and an exec's share. */
struct proc_params {
        const char *user;
        json_t *args;
        json_t *env; /* taken */
        const char *cwd;
        int tty;
        json_t *caps;
        int no_new_privs;
};

static int build_process(const struct ocispec_in *in, struct proc_params *p, json_t *warnings,
                         json_t **out, struct err **e)
{
        json_t *hc = in->host_config;
        json_t *user = NULL, *rl = NULL;
        _cleanup_free_ char *home = NULL;
        if (ocispec_user(in->rootfs, p->user, json_object_get(hc, "GroupAdd"), &user, &home, e) <
                0 ||
            build_rlimits(hc, warnings, &rl, e) < 0) {
                json_decref(user);
                json_decref(p->env);
                return -1;
        }
        if (!env_has(p->env, "HOME")) {
                _cleanup_free_ char *h = xasprintf("HOME=%s", home);
                json_array_append_new(p->env, json_string(h));
        }
        json_t *proc = json_pack(
            "{s:b, s:o, s:O, s:o, s:s, s:o, s:o, s:b}", "terminal", p->tty, "user", user, "args",
            p->args, "env", p->env, "cwd", p->cwd && *p->cwd ? p->cwd : "/", "capabilities",
            caps_object(p->caps, json_integer_value(json_object_get(user, "uid")) == 0), "rlimits",
            rl, "noNewPrivileges", p->no_new_privs);
        if (proc == NULL)
                return err_new(e, EINVAL, "building the process object failed");
        if (json_object_get(hc, "OomScoreAdj"))
                json_object_set_new(proc, "oomScoreAdj", json_integer(jint(hc, "OomScoreAdj")));
        *out = proc;
        return 0;
}

/* Entrypoint + Cmd, with --init's wrapper in front. */
static int container_args(const struct ocispec_in *in, json_t **out, struct err **e)
{
        json_t *args = json_array();
        if (in->init_path && jbool(in->host_config, "Init")) {
                json_array_append_new(args, json_string(INIT_DEST));
                json_array_append_new(args, json_string("--"));
        }
        size_t before = json_array_size(args);
        json_array_extend(args, json_object_get(in->config, "Entrypoint"));
        json_array_extend(args, json_object_get(in->config, "Cmd"));
        if (json_array_size(args) == before) {
                json_decref(args);
                return err_new(e, EINVAL, "no command specified");
        }
        *out = args;
        return 0;
}

/* ---- mounts ---- */

static json_t *mount_obj(const char *dest, const char *type, const char *src, json_t *opts)
{
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", src,
                         "options", opts);
}

static int path_depth(const char *p)
{
        int n = 0;
        for (; *p; p++)
                n += *p == '/';
        return n;
}

/* Tmpfs options: Docker's noexec,nosuid,nodev unless the user says otherwise. */
static json_t *tmpfs_opts(const char *given)
{
        json_t *o = OPTS("nosuid", "nodev", "noexec");
        _cleanup_free_ char *copy = xstrdup(given ? given : "");
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (*t)
                        json_array_append_new(o, json_string(t));
        return o;
}

static int add_bind(json_t *mounts, const char *src, const char *dst, int ro,
                    const char *propagation, const char *where, struct err **e)
{
        if (src == NULL || src[0] != '/')
                return err_new(e, ENOTSUP,
                               "%s: \"%s\" is not an absolute host path (named volumes are not "
                               "supported yet)",
                               where, src ? src : "");
        if (dst == NULL || dst[0] != '/')
                return err_new(e, EINVAL, "%s: invalid mount path \"%s\": must be absolute", where,
                               dst ? dst : "");
        json_t *o = OPTS("rbind");
        json_array_append_new(o,
                              json_string(propagation && *propagation ? propagation : "rprivate"));
        if (ro)
                json_array_append_new(o, json_string("ro"));
        json_array_append_new(mounts, mount_obj(dst, "bind", src, o));
        return 0;
}

/* "host:ctr[:opts]" with opts among ro, rw, z, Z, nocopy and propagation modes. */
static int parse_bind(json_t *mounts, const char *spec, size_t idx, struct err **e)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        _cleanup_free_ char *where = xasprintf("HostConfig.Binds[%zu]", idx);
        char *dst = strchr(copy, ':');
        if (dst == NULL)
                return err_new(e, EINVAL, "%s: invalid volume specification: \"%s\"", where, spec);
        *dst++ = '\0';
        char *mode = strchr(dst, ':');
        if (mode)
                *mode++ = '\0';
        int ro = 0;
        const char *prop = NULL;
        char *save = NULL;
        for (char *t = mode ? strtok_r(mode, ",", &save) : NULL; t;
             t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "ro") == 0)
                        ro = 1;
                else if (strcmp(t, "rw") == 0 || strcmp(t, "z") == 0 || strcmp(t, "Z") == 0 ||
                         strcmp(t, "nocopy") == 0 || strcmp(t, "consistent") == 0 ||
                         strcmp(t, "cached") == 0 || strcmp(t, "delegated") == 0)
                        ;
                else if (strcmp(t, "private") == 0 || strcmp(t, "rprivate") == 0 ||
                         strcmp(t, "shared") == 0 || strcmp(t, "rshared") == 0 ||
                         strcmp(t, "slave") == 0 || strcmp(t, "rslave") == 0)
                        prop = t;
                else
                        return err_new(e, EINVAL, "%s: invalid mode: %s", where, t);
        }
        return add_bind(mounts, copy, dst, ro, prop, where, e);
}

static int user_mounts(const struct ocispec_in *in, json_t *mounts, struct err **e)
{
        json_t *hc = in->host_config;
        size_t i;
        json_t *v;
        const char *key;
        json_object_foreach(json_object_get(hc, "Tmpfs"), key, v)
        {
                if (key[0] != '/')
                        return err_new(e, EINVAL, "HostConfig.Tmpfs: invalid mount path \"%s\"",
                                       key);
                json_array_append_new(
                    mounts, mount_obj(key, "tmpfs", "tmpfs", tmpfs_opts(json_string_value(v))));
        }
        json_array_foreach(json_object_get(hc, "Binds"), i, v)
        {
                if (!json_is_string(v))
                        return err_new(e, EINVAL, "HostConfig.Binds[%zu]: not a string", i);
                if (parse_bind(mounts, json_string_value(v), i, e) < 0)
                        return -1;
        }
        json_array_foreach(json_object_get(hc, "Mounts"), i, v)
        {
                _cleanup_free_ char *where = xasprintf("HostConfig.Mounts[%zu]", i);
                const char *type = jstr(v, "Type");
                const char *target = jstr(v, "Target");
                if (type && strcmp(type, "bind") == 0) {
                        json_t *bo = json_object_get(v, "BindOptions");
                        if (add_bind(mounts, jstr(v, "Source"), target, jbool(v, "ReadOnly"),
                                     jstr(bo, "Propagation"), where, e) < 0)
                                return -1;
                        if (jbool(bo, "NonRecursive")) {
                                json_t *m = json_array_get(mounts, json_array_size(mounts) - 1);
                                json_array_set_new(json_object_get(m, "options"), 0,
                                                   json_string("bind"));
                        }
                } else if (type && strcmp(type, "tmpfs") == 0) {
                        if (target == NULL || target[0] != '/')
                                return err_new(e, EINVAL, "%s.Target: must be an absolute path",
                                               where);
                        json_t *to = json_object_get(v, "TmpfsOptions");
                        json_t *o = tmpfs_opts(NULL);
                        char buf[64];
                        if (jint(to, "SizeBytes") > 0) {
                                snprintf(buf, sizeof(buf), "size=%lld", jint(to, "SizeBytes"));
                                json_array_append_new(o, json_string(buf));
                        }
                        if (jint(to, "Mode") > 0) {
                                snprintf(buf, sizeof(buf), "mode=%llo", jint(to, "Mode"));
                                json_array_append_new(o, json_string(buf));
                        }
                        if (jbool(v, "ReadOnly"))
                                json_array_append_new(o, json_string("ro"));
                        json_array_append_new(mounts, mount_obj(target, "tmpfs", "tmpfs", o));
                } else {
                        return err_new(e, ENOTSUP, "%s.Type: mount type \"%s\" is not supported",
                                       where, type ? type : "");
                }
        }
        return 0;
}

static int has_dest(json_t *mounts, const char *dest)
{
        size_t i;
        json_t *m;
        json_array_foreach(mounts, i, m)
        {
                const char *d = jstr(m, "destination");
                if (d && strcmp(d, dest) == 0)
                        return 1;
        }
        return 0;
}

static void add_default(json_t *mounts, json_t *user, json_t *m)
{
        if (has_dest(user, jstr(m, "destination")))
                json_decref(m);
        else
                json_array_append_new(mounts, m);
}

static int cmp_depth(const void *a, const void *b)
{
        const char *da = jstr(*(json_t *const *)a, "destination");
        const char *db = jstr(*(json_t *const *)b, "destination");
        return path_depth(da) - path_depth(db);
}

static int build_mounts(const struct ocispec_in *in, int privileged, const struct secopts *so,
                        json_t **out, struct err **e)
{
        json_t *hc = in->host_config;
        json_t *user = json_array();
        if (user_mounts(in, user, e) < 0) {
                json_decref(user);
                return -1;
        }
        json_t *m = json_array();
        const char *sys_mode = privileged ? "rw" : "ro";
        const char *cg_mode = privileged || so->writable_cgroups ? "rw" : "ro";
        add_default(m, user, mount_obj("/proc", "proc", "proc", OPTS("nosuid", "noexec", "nodev")));
        add_default(m, user,
                    mount_obj("/dev", "tmpfs", "tmpfs",
                              OPTS("nosuid", "strictatime", "mode=755", "size=65536k")));
        add_default(m, user,
                    mount_obj("/dev/pts", "devpts", "devpts",
                              OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                   "gid=5")));
        add_default(
            m, user,
            mount_obj("/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", sys_mode)));
        add_default(m, user,
                    mount_obj("/sys/fs/cgroup", "cgroup", "cgroup",
                              OPTS(cg_mode, "nosuid", "noexec", "nodev")));
        add_default(
            m, user,
            mount_obj("/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev")));
        const char *ipc = jstr(hc, "IpcMode");
        if (ipc && strcmp(ipc, "host") == 0) {
                add_default(m, user,
                            mount_obj("/dev/shm", "bind", "/dev/shm", OPTS("rbind", "rprivate")));
        } else if (!(ipc && strcmp(ipc, "none") == 0) && in->ipcns_path == NULL) {
                long long shm = jint(hc, "ShmSize") > 0 ? jint(hc, "ShmSize") : DEFAULT_SHM_SIZE;
                char size[48];
                snprintf(size, sizeof(size), "size=%lld", shm);
                add_default(m, user,
                            mount_obj("/dev/shm", "tmpfs", "shm",
                                      OPTS("nosuid", "noexec", "nodev", "mode=1777", size)));
        }
        struct {
                const char *path, *dest;
        } files[] = {{in->resolv_path, "/etc/resolv.conf"},
                     {in->hostname_path, "/etc/hostname"},
                     {in->hosts_path, "/etc/hosts"}};
        /* with a read-only root these are read-only too, as in Docker */
        int ro = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
        for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                if (files[i].path)
                        add_default(m, user,
                                    mount_obj(files[i].dest, "bind", files[i].path,
                                              ro ? OPTS("rbind", "ro", "rprivate")
                                                 : OPTS("rbind", "rprivate")));
        if (in->init_path && jbool(hc, "Init"))
                add_default(m, user,
                            mount_obj(INIT_DEST, "bind", in->init_path, OPTS("bind", "ro")));
        /* parents before children: a bind at /a/b must come after one at /a */
        size_t n = json_array_size(user);
        json_t **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
        for (size_t i = 0; i < n; i++)
                sorted[i] = json_array_get(user, i);
        qsort(sorted, n, sizeof(*sorted), cmp_depth);
        for (size_t i = 0; i < n; i++)
                json_array_append(m, sorted[i]);
        free(sorted);
        json_decref(user);
        *out = m;
        return 0;
}

/* ---- linux ---- */

static int cgroup2_host(void)
{
        struct statfs fs;
        return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static void add_ns(json_t *ns, const char *type, const char *path)
{
        json_t *o = json_pack("{s:s}", "type", type);
        if (path)
                json_object_set_new(o, "path", json_string(path));
        json_array_append_new(ns, o);
}

static int is_mode(const char *mode, const char *want)
{
        return mode && strcmp(mode, want) == 0;
}

static json_t *build_namespaces(const struct ocispec_in *in)
{
        json_t *hc = in->host_config, *ns = json_array();
        add_ns(ns, "mount", NULL);
        const char *net = jstr(hc, "NetworkMode");
        if (in->netns_path)
                add_ns(ns, "network", in->netns_path);
        else if (!is_mode(net, "host"))
                add_ns(ns, "network", NULL);
        if (!is_mode(jstr(hc, "UTSMode"), "host"))
                add_ns(ns, "uts", NULL);
        if (in->pidns_path)
                add_ns(ns, "pid", in->pidns_path);
        else if (!is_mode(jstr(hc, "PidMode"), "host"))
                add_ns(ns, "pid", NULL);
        if (in->ipcns_path)
                add_ns(ns, "ipc", in->ipcns_path);
        else if (!is_mode(jstr(hc, "IpcMode"), "host"))
                add_ns(ns, "ipc", NULL);
        const char *cg = jstr(hc, "CgroupnsMode");
        if (is_mode(cg, "private") || (!is_mode(cg, "host") && cgroup2_host()))
                add_ns(ns, "cgroup", NULL);
        return ns;
}

static json_t *device_rules(int privileged)
{
        if (privileged)
                return json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm");
        json_t *a = json_pack("[{s:b, s:s}]", "allow", 0, "access", "rwm");
        for (size_t i = 0; i < ARRAY_SIZE(dev_rules); i++) {
                const struct dev_rule *r = &dev_rules[i];
                char type[2] = {r->type, '\0'};
                json_t *o = json_pack("{s:b, s:s}", "allow", r->allow, "type", type);
                if (r->major >= 0)
                        json_object_set_new(o, "major", json_integer(r->major));
                if (r->minor >= 0)
                        json_object_set_new(o, "minor", json_integer(r->minor));
                json_object_set_new(o, "access", json_string(r->access));
                json_array_append_new(a, o);
        }
        return a;
}

/* On a cgroup v1 host: is controller `ctrl` mounted but without all of
 * `files` (swap accounting off, no blkio weight without CFQ/BFQ)?  A runtime
 * fails on a limit it cannot write, so Docker drops it with a warning. */
static int v1_lacks(const char *ctrl, const char *const *files)
{
        char path[128];
        struct stat st;
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", ctrl);
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        for (; *files; files++) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", ctrl, *files);
                if (access(path, F_OK) == 0)
                        return 0;
        }
        return 1;
}

static void warn(json_t *warnings, const char *msg)
{
        if (warnings && !list_has(warnings, msg))
                json_array_append_new(warnings, json_string(msg));
}

static json_t *build_resources(json_t *hc, int privileged, json_t *warnings)
{
        json_t *res = json_pack("{s:o}", "devices", device_rules(privileged));
        long long mem = jint(hc, "Memory"), swap = jint(hc, "MemorySwap");
        json_t *memory = json_object();
        if (mem > 0) {
                json_object_set_new(memory, "limit", json_integer(mem));
                /* Docker: no MemorySwap given means as much swap as memory */
                if (v1_lacks("memory", (const char *const[]){"memory.memsw.limit_in_bytes", NULL}))
                        warn(warnings, "Your kernel does not support swap limit capabilities or "
                                       "the cgroup is not mounted. Memory limited without swap.");
                else
                        json_object_set_new(memory, "swap",
                                            json_integer(swap != 0 ? swap : 2 * mem));
        }
        if (jint(hc, "MemoryReservation") > 0)
                json_object_set_new(memory, "reservation",
                                    json_integer(jint(hc, "MemoryReservation")));
        json_t *sw = json_object_get(hc, "MemorySwappiness");
        if (json_is_integer(sw) && json_integer_value(sw) >= 0)
                json_object_set_new(memory, "swappiness", json_integer(json_integer_value(sw)));
        if (jbool(hc, "OomKillDisable"))
                json_object_set_new(memory, "disableOOMKiller", json_true());
        if (json_object_size(memory) > 0)
                json_object_set_new(res, "memory", memory);
        else
                json_decref(memory);

        json_t *cpu = json_object();
        if (jint(hc, "CpuShares") > 0)
                json_object_set_new(cpu, "shares", json_integer(jint(hc, "CpuShares")));
        long long nano = jint(hc, "NanoCpus");
        if (nano > 0) {
                json_object_set_new(cpu, "quota",
                                    json_integer(nano * CPU_PERIOD_DEFAULT / 1000000000LL));
                json_object_set_new(cpu, "period", json_integer(CPU_PERIOD_DEFAULT));
        } else {
                if (jint(hc, "CpuQuota") != 0)
                        json_object_set_new(cpu, "quota", json_integer(jint(hc, "CpuQuota")));
                if (jint(hc, "CpuPeriod") > 0)
                        json_object_set_new(cpu, "period", json_integer(jint(hc, "CpuPeriod")));
        }
        const char *cpus = jstr(hc, "CpusetCpus"), *mems = jstr(hc, "CpusetMems");
        if (cpus && *cpus)
                json_object_set_new(cpu, "cpus", json_string(cpus));
        if (mems && *mems)
                json_object_set_new(cpu, "mems", json_string(mems));
        if (json_object_size(cpu) > 0)
                json_object_set_new(res, "cpu", cpu);
        else
                json_decref(cpu);

        if (jint(hc, "PidsLimit") > 0)
                json_object_set_new(res, "pids",
                                    json_pack("{s:I}", "limit", (json_int_t)jint(hc, "PidsLimit")));
        if (jint(hc, "BlkioWeight") > 0 &&
            v1_lacks("blkio", (const char *const[]){"blkio.weight", "blkio.bfq.weight", NULL}))
                warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is "
                               "not mounted. Weight discarded.");
        else if (jint(hc, "BlkioWeight") > 0)
                json_object_set_new(
                    res, "blockIO",
                    json_pack("{s:I}", "weight", (json_int_t)jint(hc, "BlkioWeight")));
        return res;
}

static int build_linux(const struct ocispec_in *in, int privileged, const struct secopts *so,
                       json_t *caps, json_t *warnings, json_t **out, struct err **e)
{
        json_t *hc = in->host_config;
        json_t *lx = json_object();
        json_object_set_new(lx, "resources", build_resources(hc, privileged, warnings));
        if (in->cgroup_path)
                json_object_set_new(lx, "cgroupsPath", json_string(in->cgroup_path));
        json_t *sysctl = json_object();
        json_t *given = json_object_get(hc, "Sysctls");
        /* Docker (20.10+): in a network namespace of its own, binding low
         * ports and ICMP echo sockets need no privilege */
        if (in->netns_path == NULL && !is_mode(jstr(hc, "NetworkMode"), "host")) {
                json_object_set_new(sysctl, "net.ipv4.ip_unprivileged_port_start",
                                    json_string("0"));
                json_object_set_new(sysctl, "net.ipv4.ping_group_range",
                                    json_string("0 2147483647"));
        }
        if (json_is_object(given))
                json_object_update(sysctl, given);
        if (json_object_size(sysctl) > 0)
                json_object_set(lx, "sysctl", sysctl);
        json_decref(sysctl);
        json_object_set_new(lx, "namespaces", build_namespaces(in));
        if (!privileged && !so->systempaths_unconfined) {
                json_object_set_new(lx, "maskedPaths",
                                    strings(masked_paths, ARRAY_SIZE(masked_paths)));
                json_object_set_new(lx, "readonlyPaths",
                                    strings(readonly_paths, ARRAY_SIZE(readonly_paths)));
        }
        if (!privileged && !so->seccomp_unconfined) {
                json_t *sc = NULL;
                if (so->seccomp_profile) {
                        if (seccomp_docker_to_oci(so->seccomp_profile, caps, &sc, e) < 0) {
                                json_decref(lx);
                                return err_wrap(e, "HostConfig.SecurityOpt: seccomp");
                        }
                } else {
                        sc = seccomp_default_profile(caps);
                }
                json_object_set_new(lx, "seccomp", sc);
        }
        *out = lx;
        return 0;
}

/* ---- entry points ---- */

int ocispec_build(const struct ocispec_in *in, json_t **spec, json_t *warnings, struct err **e)
{
        *spec = NULL;
        struct ocispec_in local = *in;
        json_t *empty_hc = NULL, *empty_cfg = NULL;
        if (local.host_config == NULL)
                local.host_config = empty_hc = json_object();
        if (local.config == NULL)
                local.config = empty_cfg = json_object();
        json_t *hc = local.host_config, *cfg = local.config;
        json_t *caps = NULL, *process = NULL, *mounts = NULL, *lx = NULL, *args = NULL;
        int r = -1;
        struct secopts so;
        int privileged = jbool(hc, "Privileged");
        if (parse_secopts(hc, &so, e) < 0 || ocispec_caps(hc, privileged, &caps, e) < 0 ||
            container_args(&local, &args, e) < 0)
                goto out;
        struct proc_params pp = {
            .user = jstr(cfg, "User"),
            .args = args,
            .env = container_env(&local, jbool(cfg, "Tty")),
            .cwd = jstr(cfg, "WorkingDir"),
            .tty = jbool(cfg, "Tty"),
            .caps = caps,
            .no_new_privs = so.no_new_privs,
        };
        if (build_process(&local, &pp, warnings, &process, e) < 0 ||
            build_mounts(&local, privileged, &so, &mounts, e) < 0 ||
            build_linux(&local, privileged, &so, caps, warnings, &lx, e) < 0)
                goto out;
        json_t *s = json_pack("{s:s, s:O, s:{s:s, s:b}}", "ociVersion", "1.0.2-dev", "process",
                              process, "root", "path", local.rootfs ? local.rootfs : "rootfs",
                              "readonly", jbool(hc, "ReadonlyRootfs"));
        if (!is_mode(jstr(hc, "UTSMode"), "host")) {
                char hbuf[HOST_NAME_MAX + 1];
                json_object_set_new(s, "hostname",
                                    json_string(container_hostname(&local, hbuf, sizeof(hbuf))));
                const char *dom = jstr(cfg, "Domainname");
                if (dom && *dom)
                        json_object_set_new(s, "domainname", json_string(dom));
        }
        json_object_set(s, "mounts", mounts);
        json_object_set(s, "linux", lx);
        *spec = s;
        r = 0;
out:
        json_decref(args);
        json_decref(caps);
        json_decref(process);
        json_decref(mounts);
        json_decref(lx);
        json_decref(empty_hc);
        json_decref(empty_cfg);
        return r;
}

int ocispec_exec_process(const struct ocispec_in *in, json_t *exec_config, json_t **process,
                         struct err **e)
{
        *process = NULL;
        struct ocispec_in local = *in;
        json_t *empty_hc = NULL, *empty_cfg = NULL;
        if (local.host_config == NULL)
                local.host_config = empty_hc = json_object();
        if (local.config == NULL)
                local.config = empty_cfg = json_object();
        json_t *caps = NULL;
        int r = -1;
        struct secopts so;
        json_t *cmd = json_object_get(exec_config, "Cmd");
        if (json_array_size(cmd) == 0) {
                err_new(e, EINVAL, "No exec command specified");
                goto out;
        }
        int priv = jbool(exec_config, "Privileged") || jbool(local.host_config, "Privileged");
        if (parse_secopts(local.host_config, &so, e) < 0 ||
            ocispec_caps(local.host_config, priv, &caps, e) < 0)
                goto out;
        int tty = jbool(exec_config, "Tty");
        json_t *env = container_env(&local, tty);
        env_add_list(env, json_object_get(exec_config, "Env"));
        const char *user = jstr(exec_config, "User");
        const char *cwd = jstr(exec_config, "WorkingDir");
        struct proc_params pp = {
            .user = user && *user ? user : jstr(local.config, "User"),
            .args = cmd,
            .env = env,
            .cwd = cwd && *cwd ? cwd : jstr(local.config, "WorkingDir"),
            .tty = tty,
            .caps = caps,
            .no_new_privs = so.no_new_privs,
        };
        r = build_process(&local, &pp, NULL, process, e);
out:
        json_decref(caps);
        json_decref(empty_hc);
        json_decref(empty_cfg);
        return r;
}

int ocispec_check_secopts(json_t *hc, struct err **e)
{
        struct secopts so;
        if (parse_secopts(hc, &so, e) < 0)
                return -1;
        if (so.seccomp_profile == NULL)
                return 0;
        json_t *caps = NULL, *sc = NULL;
        if (ocispec_caps(hc, 0, &caps, e) < 0)
                return -1;
        int r = seccomp_docker_to_oci(so.seccomp_profile, caps, &sc, e);
        json_decref(caps);
        json_decref(sc);
        return r < 0 ? err_wrap(e, "HostConfig.SecurityOpt: seccomp") : 0;
}

int ocispec_check_rlimit(const char *name)
{
        return name != NULL && rlimit_resource(name) >= 0;
}

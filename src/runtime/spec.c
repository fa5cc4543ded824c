/*
 * spec: config.json -> struct spec.  Every field is type-checked here and an
 * error names the JSON path ("process.user.uid: expected an integer"), so
 * nothing later has to second-guess the config.
 */
#include "spec.h"

#include <errno.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/capability.h>

#include "../common/log.h"
#include "../common/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* ---- typed getters: each names the JSON path in its error ---- */

static int get_obj(json_t *o, const char *key, const char *path, int required, json_t **out,
                   struct err **e)
{
        json_t *v = json_object_get(o, key);
        *out = NULL;
        if (v == NULL || json_is_null(v))
                return required ? err_new(e, 0, "%s%s: missing", path, key) : 0;
        if (!json_is_object(v))
                return err_new(e, 0, "%s%s: expected an object", path, key);
        *out = v;
        return 0;
}

static int get_arr(json_t *o, const char *key, const char *path, int required, json_t **out,
                   struct err **e)
{
        json_t *v = json_object_get(o, key);
        *out = NULL;
        if (v == NULL || json_is_null(v))
                return required ? err_new(e, 0, "%s%s: missing", path, key) : 0;
        if (!json_is_array(v))
                return err_new(e, 0, "%s%s: expected an array", path, key);
        *out = v;
        return 0;
}

static int get_str(json_t *o, const char *key, const char *path, int required, char **out,
                   struct err **e)
{
        json_t *v = json_object_get(o, key);
        if (v == NULL || json_is_null(v))
                return required ? err_new(e, 0, "%s%s: missing", path, key) : 0;
        if (!json_is_string(v))
                return err_new(e, 0, "%s%s: expected a string", path, key);
        *out = xstrdup(json_string_value(v));
        return 0;
}

static int get_int(json_t *o, const char *key, const char *path, int required, long long min,
                   long long max, long long *out, int *present, struct err **e)
{
        json_t *v = json_object_get(o, key);
        if (present)
                *present = 0;
        if (v == NULL || json_is_null(v))
                return required ? err_new(e, 0, "%s%s: missing", path, key) : 0;
        if (!json_is_integer(v))
                return err_new(e, 0, "%s%s: expected an integer", path, key);
        long long x = json_integer_value(v);
        if (x < min || x > max)
                return err_new(e, 0, "%s%s: %lld out of range", path, key, x);
        *out = x;
        if (present)
                *present = 1;
        return 0;
}

static int get_bool(json_t *o, const char *key, const char *path, int *out, struct err **e)
{
        json_t *v = json_object_get(o, key);
        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return err_new(e, 0, "%s%s: expected true or false", path, key);
        *out = json_is_true(v);
        return 0;
}

/* An array of strings -> NULL-terminated vector (NULL when absent). */
static int get_strv(json_t *o, const char *key, const char *path, int required, char ***out,
                    struct err **e)
{
        json_t *a;
        *out = NULL;
        if (get_arr(o, key, path, required, &a, e) < 0)
                return -1;
        if (a == NULL)
                return 0;
        size_t n = json_array_size(a), i;
        char **v = xcalloc(n + 1, sizeof(char *));
        json_t *it;
        json_array_foreach(a, i, it)
        {
                if (!json_is_string(it)) {
                        for (size_t j = 0; j < i; j++)
                                free(v[j]);
                        free(v);
                        return err_new(e, 0, "%s%s[%zu]: expected a string", path, key, i);
                }
                v[i] = xstrdup(json_string_value(it));
        }
        *out = v;
        return 0;
}

static void strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

/* ---- names ---- */

int cap_from_name_str(const char *name)
{
        cap_value_t c;
        if (cap_from_name(name, &c) < 0)
                return -1;
        return (int)c;
}

static const struct {
        const char *name;
        int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int signal_from_name(const char *name)
{
        long long n;
        if (parse_int64(name, &n) == 0)
                return (n > 0 && n < _NSIG) ? (int)n : -1;
        if (!strncasecmp(name, "SIG", 3))
                name += 3;
        if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
                int base = !strncasecmp(name, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
                const char *off = name + 5;
                if (*off == '\0')
                        return base;
                if (parse_int64(off, &n) < 0 || base + n < SIGRTMIN || base + n > SIGRTMAX)
                        return -1;
                return base + (int)n;
        }
        for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
                if (!strcasecmp(name, signals[i].name))
                        return signals[i].sig;
        return -1;
}

static const struct {
        const char *name;
        int type;
} ns_types[] = {
    {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static const struct {
        const char *name;
        int res;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

/* ---- mount options ---- */

enum opt_kind { OPT_SET, OPT_CLEAR, OPT_PROPAGATION, OPT_ATTR_SET, OPT_ATTR_CLR };

static const struct {
        const char *name;
        enum opt_kind kind;
        unsigned long flag;
} mount_opts[] = {
    {"defaults", OPT_SET, 0},
    {"ro", OPT_SET, MS_RDONLY},
    {"rw", OPT_CLEAR, MS_RDONLY},
    {"nosuid", OPT_SET, MS_NOSUID},
    {"suid", OPT_CLEAR, MS_NOSUID},
    {"nodev", OPT_SET, MS_NODEV},
    {"dev", OPT_CLEAR, MS_NODEV},
    {"noexec", OPT_SET, MS_NOEXEC},
    {"exec", OPT_CLEAR, MS_NOEXEC},
    {"sync", OPT_SET, MS_SYNCHRONOUS},
    {"async", OPT_CLEAR, MS_SYNCHRONOUS},
    {"dirsync", OPT_SET, MS_DIRSYNC},
    {"remount", OPT_SET, MS_REMOUNT},
    {"mand", OPT_SET, MS_MANDLOCK},
    {"nomand", OPT_CLEAR, MS_MANDLOCK},
    {"noatime", OPT_SET, MS_NOATIME},
    {"atime", OPT_CLEAR, MS_NOATIME},
    {"nodiratime", OPT_SET, MS_NODIRATIME},
    {"diratime", OPT_CLEAR, MS_NODIRATIME},
    {"bind", OPT_SET, MS_BIND},
    {"rbind", OPT_SET, MS_BIND | MS_REC},
    {"relatime", OPT_SET, MS_RELATIME},
    {"norelatime", OPT_CLEAR, MS_RELATIME},
    {"strictatime", OPT_SET, MS_STRICTATIME},
    {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
    {"lazytime", OPT_SET, MS_LAZYTIME},
    {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
    {"iversion", OPT_SET, MS_I_VERSION},
    {"noiversion", OPT_CLEAR, MS_I_VERSION},
    {"silent", OPT_SET, MS_SILENT},
    {"loud", OPT_CLEAR, MS_SILENT},
    {"nosymfollow", OPT_SET, MS_NOSYMFOLLOW},
    {"symfollow", OPT_CLEAR, MS_NOSYMFOLLOW},
    {"shared", OPT_PROPAGATION, MS_SHARED},
    {"rshared", OPT_PROPAGATION, MS_SHARED | MS_REC},
    {"slave", OPT_PROPAGATION, MS_SLAVE},
    {"rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC},
    {"private", OPT_PROPAGATION, MS_PRIVATE},
    {"rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC},
    {"unbindable", OPT_PROPAGATION, MS_UNBINDABLE},
    {"runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC},
    {"rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY},
    {"rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY},
    {"rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID},
    {"rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID},
    {"rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV},
    {"rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV},
    {"rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC},
    {"rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", OPT_ATTR_SET, MOUNT_ATTR_NOATIME},
    {"rrelatime", OPT_ATTR_SET, MOUNT_ATTR_RELATIME},
    {"rstrictatime", OPT_ATTR_SET, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW},
};

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *spec_mount_option_names(void)
{
        const char *names[ARRAY_SIZE(mount_opts)];
        for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
                names[i] = mount_opts[i].name;
        qsort(names, ARRAY_SIZE(names), sizeof(names[0]), cmp_str);
        json_t *a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                json_array_append_new(a, json_string(names[i]));
        return a;
}

static void parse_mount_options(struct spec_mount *m)
{
        size_t dlen = 0;
        char *data = NULL;
        for (char **o = m->options; o && *o; o++) {
                size_t i;
                for (i = 0; i < ARRAY_SIZE(mount_opts); i++)
                        if (!strcmp(*o, mount_opts[i].name))
                                break;
                if (i == ARRAY_SIZE(mount_opts)) {
                        size_t l = strlen(*o);
                        data = realloc(data, dlen + l + 2);
                        if (data == NULL)
                                abort();
                        if (dlen)
                                data[dlen++] = ',';
                        memcpy(data + dlen, *o, l + 1);
                        dlen += l;
                        continue;
                }
                unsigned long f = mount_opts[i].flag;
                switch (mount_opts[i].kind) {
                case OPT_SET:
                        m->flags |= f;
                        m->clear_flags &= ~f;
                        break;
                case OPT_CLEAR:
                        m->flags &= ~f;
                        m->clear_flags |= f;
                        break;
                case OPT_PROPAGATION:
                        m->propagation = f;
                        break;
                case OPT_ATTR_SET:
                        m->rec_attr_set |= f;
                        m->rec_attr_clr &= ~f;
                        break;
                case OPT_ATTR_CLR:
                        m->rec_attr_clr |= f;
                        m->rec_attr_set &= ~f;
                        break;
                }
        }
        m->bind = (m->flags & MS_BIND) != 0;
        m->data = data;
}

/* ---- sections ---- */

static int parse_caps(json_t *caps, struct spec_process *p, struct err **e)
{
        static const char *const keys[CAPSET_COUNT] = {"bounding", "effective", "inheritable",
                                                       "permitted", "ambient"};
        p->has_caps = 1;
        for (int k = 0; k < CAPSET_COUNT; k++) {
                json_t *a, *it;
                size_t i;
                if (get_arr(caps, keys[k], "process.capabilities.", 0, &a, e) < 0)
                        return -1;
                json_array_foreach(a, i, it)
                {
                        if (!json_is_string(it))
                                return err_new(e, 0,
                                               "process.capabilities.%s[%zu]: expected a string",
                                               keys[k], i);
                        int c = cap_from_name_str(json_string_value(it));
                        if (c < 0 || c > 63) {
                                /* A newer capability than this kernel/libcap knows: skip it,
                                 * as runc does, so configs from newer tools still run. */
                                log_warn("unknown capability %s ignored", json_string_value(it));
                                continue;
                        }
                        p->caps[k] |= 1ULL << c;
                }
        }
        return 0;
}

static int parse_rlimits(json_t *arr, struct spec_process *p, struct err **e)
{
        size_t i;
        json_t *it;
        p->rlimits = xcalloc(json_array_size(arr), sizeof(*p->rlimits));
        json_array_foreach(arr, i, it)
        {
                char path[64];
                snprintf(path, sizeof(path), "process.rlimits[%zu].", i);
                if (!json_is_object(it))
                        return err_new(e, 0, "process.rlimits[%zu]: expected an object", i);
                struct spec_rlimit *r = &p->rlimits[p->n_rlimits++];
                if (get_str(it, "type", path, 1, &r->name, e) < 0)
                        return -1;
                r->resource = -1;
                for (size_t k = 0; k < ARRAY_SIZE(rlimit_names); k++)
                        if (!strcmp(r->name, rlimit_names[k].name))
                                r->resource = rlimit_names[k].res;
                if (r->resource < 0)
                        return err_new(e, 0, "%stype: unknown rlimit %s", path, r->name);
                json_t *h = json_object_get(it, "hard"), *s = json_object_get(it, "soft");
                if (!json_is_integer(h) || !json_is_integer(s))
                        return err_new(e, 0, "%s: hard and soft must be integers", r->name);
                /* JSON has no unsigned 64-bit; -1 and huge values mean unlimited */
                r->hard = (unsigned long long)json_integer_value(h);
                r->soft = (unsigned long long)json_integer_value(s);
                if (r->soft > r->hard)
                        return err_new(e, 0, "%s: soft limit %llu above hard limit %llu", r->name,
                                       r->soft, r->hard);
        }
        return 0;
}

static int parse_user(json_t *user, struct spec_process *p, struct err **e)
{
        long long v;
        int has;
        if (get_int(user, "uid", "process.user.", 0, 0, UINT32_MAX - 1, &v, &has, e) < 0)
                return -1;
        p->uid = has ? (uid_t)v : 0;
        if (get_int(user, "gid", "process.user.", 0, 0, UINT32_MAX - 1, &v, &has, e) < 0)
                return -1;
        p->gid = has ? (gid_t)v : 0;
        if (get_int(user, "umask", "process.user.", 0, 0, 0777, &v, &p->has_umask, e) < 0)
                return -1;
        p->umask = (mode_t)v;
        json_t *a, *it;
        size_t i;
        if (get_arr(user, "additionalGids", "process.user.", 0, &a, e) < 0)
                return -1;
        p->additional_gids = xcalloc(json_array_size(a), sizeof(gid_t));
        json_array_foreach(a, i, it)
        {
                if (!json_is_integer(it) || json_integer_value(it) < 0 ||
                    json_integer_value(it) >= UINT32_MAX)
                        return err_new(e, 0, "process.user.additionalGids[%zu]: expected a gid", i);
                p->additional_gids[p->n_additional_gids++] = (gid_t)json_integer_value(it);
        }
        return 0;
}

int spec_parse_process(json_t *obj, struct spec_process **out, struct err **e)
{
        struct spec_process *p = xcalloc(1, sizeof(*p));
        json_t *o;
        long long v;
        *out = NULL;
        if (!json_is_object(obj)) {
                err_new(e, 0, "process: expected an object");
                goto fail;
        }
        if (get_bool(obj, "terminal", "process.", &p->terminal, e) < 0 ||
            get_bool(obj, "noNewPrivileges", "process.", &p->no_new_privileges, e) < 0 ||
            get_strv(obj, "args", "process.", 1, &p->args, e) < 0 ||
            get_strv(obj, "env", "process.", 0, &p->env, e) < 0 ||
            get_str(obj, "cwd", "process.", 1, &p->cwd, e) < 0 ||
            get_str(obj, "apparmorProfile", "process.", 0, &p->apparmor_profile, e) < 0 ||
            get_str(obj, "selinuxLabel", "process.", 0, &p->selinux_label, e) < 0)
                goto fail;
        if (p->args[0] == NULL) {
                err_new(e, 0, "process.args: must not be empty");
                goto fail;
        }
        if (p->cwd[0] != '/') {
                err_new(e, 0, "process.cwd: %s is not an absolute path", p->cwd);
                goto fail;
        }
        if (p->env == NULL)
                p->env = xcalloc(1, sizeof(char *));
        if (get_int(obj, "oomScoreAdj", "process.", 0, -1000, 1000, &v, &p->has_oom_score_adj, e) <
            0)
                goto fail;
        p->oom_score_adj = (int)v;
        if (get_obj(obj, "consoleSize", "process.", 0, &o, e) < 0)
                goto fail;
        if (o) {
                if (get_int(o, "height", "process.consoleSize.", 1, 0, 65535, &v, NULL, e) < 0)
                        goto fail;
                p->console_height = (unsigned)v;
                if (get_int(o, "width", "process.consoleSize.", 1, 0, 65535, &v, NULL, e) < 0)
                        goto fail;
                p->console_width = (unsigned)v;
        }
        if (get_obj(obj, "user", "process.", 0, &o, e) < 0 || (o && parse_user(o, p, e) < 0))
                goto fail;
        if (get_obj(obj, "capabilities", "process.", 0, &o, e) < 0 ||
            (o && parse_caps(o, p, e) < 0))
                goto fail;
        json_t *a;
        if (get_arr(obj, "rlimits", "process.", 0, &a, e) < 0 || (a && parse_rlimits(a, p, e) < 0))
                goto fail;
        *out = p;
        return 0;
fail:
        spec_process_free(p);
        return -1;
}

void spec_process_free(struct spec_process *p)
{
        if (p == NULL)
                return;
        free(p->additional_gids);
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        for (size_t i = 0; i < p->n_rlimits; i++)
                free(p->rlimits[i].name);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        free(p);
}

static int parse_mounts(json_t *arr, struct spec *s, struct err **e)
{
        size_t i;
        json_t *it;
        s->mounts = xcalloc(json_array_size(arr), sizeof(*s->mounts));
        json_array_foreach(arr, i, it)
        {
                char path[48];
                snprintf(path, sizeof(path), "mounts[%zu].", i);
                if (!json_is_object(it))
                        return err_new(e, 0, "mounts[%zu]: expected an object", i);
                struct spec_mount *m = &s->mounts[s->n_mounts++];
                if (get_str(it, "destination", path, 1, &m->destination, e) < 0 ||
                    get_str(it, "type", path, 0, &m->type, e) < 0 ||
                    get_str(it, "source", path, 0, &m->source, e) < 0 ||
                    get_strv(it, "options", path, 0, &m->options, e) < 0)
                        return -1;
                if (m->destination[0] != '/')
                        return err_new(e, 0, "%sdestination: %s is not an absolute path", path,
                                       m->destination);
                parse_mount_options(m);
                if (m->type == NULL)
                        m->type = xstrdup(m->bind ? "bind" : "none");
                if (!strcmp(m->type, "bind"))
                        m->bind = 1, m->flags |= MS_BIND;
                if (m->bind && m->source == NULL)
                        return err_new(e, 0, "%ssource: missing for a bind mount", path);
        }
        return 0;
}

static int parse_hooks(json_t *hooks, struct spec *s, struct err **e)
{
        static const char *const keys[HOOK_KIND_COUNT] = {"prestart",        "createRuntime",
                                                          "createContainer", "startContainer",
                                                          "poststart",       "poststop"};
        for (int k = 0; k < HOOK_KIND_COUNT; k++) {
                json_t *a, *it;
                size_t i;
                if (get_arr(hooks, keys[k], "hooks.", 0, &a, e) < 0)
                        return -1;
                if (a == NULL)
                        continue;
                s->hooks.list[k] = xcalloc(json_array_size(a), sizeof(struct spec_hook));
                json_array_foreach(a, i, it)
                {
                        char path[64];
                        snprintf(path, sizeof(path), "hooks.%s[%zu].", keys[k], i);
                        if (!json_is_object(it))
                                return err_new(e, 0, "%s: expected an object", path);
                        struct spec_hook *h = &s->hooks.list[k][s->hooks.count[k]++];
                        long long t = 0;
                        if (get_str(it, "path", path, 1, &h->path, e) < 0 ||
                            get_strv(it, "args", path, 0, &h->args, e) < 0 ||
                            get_strv(it, "env", path, 0, &h->env, e) < 0 ||
                            get_int(it, "timeout", path, 0, 1, INT32_MAX, &t, NULL, e) < 0)
                                return -1;
                        h->timeout = (int)t;
                }
        }
        return 0;
}

static int parse_namespaces(json_t *arr, struct spec *s, struct err **e)
{
        size_t i;
        json_t *it;
        s->namespaces = xcalloc(json_array_size(arr), sizeof(*s->namespaces));
        json_array_foreach(arr, i, it)
        {
                char path[64];
                _cleanup_free_ char *type = NULL;
                snprintf(path, sizeof(path), "linux.namespaces[%zu].", i);
                if (!json_is_object(it))
                        return err_new(e, 0, "linux.namespaces[%zu]: expected an object", i);
                if (get_str(it, "type", path, 1, &type, e) < 0)
                        return -1;
                int t = 0;
                for (size_t k = 0; k < ARRAY_SIZE(ns_types); k++)
                        if (!strcmp(type, ns_types[k].name))
                                t = ns_types[k].type;
                if (t == 0)
                        return err_new(e, 0, "%stype: unknown namespace type %s", path, type);
                if (spec_namespace(s, t))
                        return err_new(e, 0, "%stype: namespace %s listed twice", path, type);
                struct spec_namespace *n = &s->namespaces[s->n_namespaces++];
                n->type = t;
                if (get_str(it, "path", path, 0, &n->path, e) < 0)
                        return -1;
                if (n->path && n->path[0] == '\0') {
                        free(n->path);
                        n->path = NULL;
                }
        }
        return 0;
}

static int parse_idmaps(json_t *lin, const char *key, struct spec_idmap **out, size_t *n,
                        struct err **e)
{
        json_t *a, *it;
        size_t i;
        if (get_arr(lin, key, "linux.", 0, &a, e) < 0)
                return -1;
        *out = xcalloc(json_array_size(a), sizeof(**out));
        json_array_foreach(a, i, it)
        {
                char path[64];
                long long c, h, sz;
                snprintf(path, sizeof(path), "linux.%s[%zu].", key, i);
                if (!json_is_object(it))
                        return err_new(e, 0, "%s: expected an object", path);
                if (get_int(it, "containerID", path, 1, 0, UINT32_MAX, &c, NULL, e) < 0 ||
                    get_int(it, "hostID", path, 1, 0, UINT32_MAX, &h, NULL, e) < 0 ||
                    get_int(it, "size", path, 1, 1, UINT32_MAX, &sz, NULL, e) < 0)
                        return -1;
                (*out)[(*n)++] = (struct spec_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)sz};
        }
        return 0;
}

static int parse_devices(json_t *arr, struct spec *s, struct err **e)
{
        size_t i;
        json_t *it;
        s->devices = xcalloc(json_array_size(arr), sizeof(*s->devices));
        json_array_foreach(arr, i, it)
        {
                char path[48];
                _cleanup_free_ char *type = NULL;
                long long v;
                snprintf(path, sizeof(path), "linux.devices[%zu].", i);
                if (!json_is_object(it))
                        return err_new(e, 0, "linux.devices[%zu]: expected an object", i);
                struct spec_device *d = &s->devices[s->n_devices++];
                if (get_str(it, "path", path, 1, &d->path, e) < 0 ||
                    get_str(it, "type", path, 1, &type, e) < 0)
                        return -1;
                if (d->path[0] != '/')
                        return err_new(e, 0, "%spath: %s is not absolute", path, d->path);
                if (strlen(type) != 1 || !strchr("cbup", type[0]))
                        return err_new(e, 0, "%stype: %s is not one of c, b, u, p", path, type);
                d->type = type[0];
                int need_nums = d->type != 'p';
                if (get_int(it, "major", path, need_nums, 0, UINT32_MAX, &d->major, NULL, e) < 0 ||
                    get_int(it, "minor", path, need_nums, 0, UINT32_MAX, &d->minor, NULL, e) < 0 ||
                    get_int(it, "fileMode", path, 0, 0, 07777, &v, &d->has_mode, e) < 0)
                        return -1;
                d->file_mode = (mode_t)v;
                if (get_int(it, "uid", path, 0, 0, UINT32_MAX, &v, &d->has_uid, e) < 0)
                        return -1;
                d->uid = (uid_t)v;
                if (get_int(it, "gid", path, 0, 0, UINT32_MAX, &v, &d->has_gid, e) < 0)
                        return -1;
                d->gid = (gid_t)v;
        }
        return 0;
}

/* Only sysctls the container's own namespaces isolate may be set: anything
 * else would change the host (as runc refuses them too). */
static int check_sysctl(const struct spec *s, const char *key, struct err **e)
{
        static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                          "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                          "kernel.shmmni", "kernel.shm_rmid_forced"};
        int need = 0;
        for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
                if (!strcmp(key, ipc[i]))
                        need = CLONE_NEWIPC;
        if (str_has_prefix(key, "fs.mqueue."))
                need = CLONE_NEWIPC;
        else if (str_has_prefix(key, "net."))
                need = CLONE_NEWNET;
        else if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
                need = CLONE_NEWUTS;
        if (need == 0)
                return err_new(e, 0,
                               "linux.sysctl: %s is not namespaced: setting it would change "
                               "the host",
                               key);
        const struct spec_namespace *ns = spec_namespace(s, need);
        if (ns == NULL)
                return err_new(e, 0, "linux.sysctl: %s needs the container's own %s namespace", key,
                               need == CLONE_NEWNET   ? "network"
                               : need == CLONE_NEWIPC ? "ipc"
                                                      : "uts");
        return 0;
}

static int parse_linux(json_t *lin, struct spec *s, struct err **e)
{
        json_t *a, *o;
        if (get_arr(lin, "namespaces", "linux.", 0, &a, e) < 0 ||
            (a && parse_namespaces(a, s, e) < 0))
                return -1;
        if (parse_idmaps(lin, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, e) < 0 ||
            parse_idmaps(lin, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, e) < 0)
                return -1;
        if ((s->n_uid_mappings || s->n_gid_mappings) && !spec_namespace(s, CLONE_NEWUSER))
                return err_new(e, 0, "linux.uidMappings: mappings given without a user namespace");
        if (get_arr(lin, "devices", "linux.", 0, &a, e) < 0 || (a && parse_devices(a, s, e) < 0))
                return -1;
        if (get_str(lin, "cgroupsPath", "linux.", 0, &s->cgroups_path, e) < 0 ||
            get_str(lin, "mountLabel", "linux.", 0, &s->mount_label, e) < 0 ||
            get_obj(lin, "resources", "linux.", 0, &s->resources, e) < 0 ||
            get_obj(lin, "seccomp", "linux.", 0, &s->seccomp, e) < 0 ||
            get_strv(lin, "maskedPaths", "linux.", 0, &s->masked_paths, e) < 0 ||
            get_strv(lin, "readonlyPaths", "linux.", 0, &s->readonly_paths, e) < 0)
                return -1;
        if (get_obj(lin, "sysctl", "linux.", 0, &o, e) < 0)
                return -1;
        if (o) {
                const char *k;
                json_t *v;
                s->sysctl = xcalloc(json_object_size(o), sizeof(*s->sysctl));
                json_object_foreach(o, k, v)
                {
                        if (!json_is_string(v))
                                return err_new(e, 0, "linux.sysctl.%s: expected a string", k);
                        if (strstr(k, "..") || strchr(k, '/'))
                                return err_new(e, 0, "linux.sysctl: invalid key %s", k);
                        if (check_sysctl(s, k, e) < 0)
                                return -1;
                        s->sysctl[s->n_sysctl].key = xstrdup(k);
                        s->sysctl[s->n_sysctl++].value = xstrdup(json_string_value(v));
                }
        }
        _cleanup_free_ char *prop = NULL;
        if (get_str(lin, "rootfsPropagation", "linux.", 0, &prop, e) < 0)
                return -1;
        if (prop && *prop) {
                struct spec_mount m = {.options = (char *[]){prop, NULL}};
                parse_mount_options(&m);
                free(m.data);
                if (m.propagation == 0)
                        return err_new(e, 0, "linux.rootfsPropagation: unknown value %s", prop);
                s->rootfs_propagation = m.propagation;
        }
        return 0;
}

int spec_parse(const char *text, struct spec **out, struct err **e)
{
        json_error_t je;
        json_t *doc = json_loads(text, 0, &je);
        *out = NULL;
        if (doc == NULL)
                return err_new(e, 0, "config.json: invalid JSON at line %d column %d: %s", je.line,
                               je.column, je.text);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return err_new(e, 0, "config.json: expected a JSON object");
        }
        struct spec *s = xcalloc(1, sizeof(*s));
        s->doc = doc;
        json_t *o, *a;
        if (get_str(doc, "ociVersion", "", 1, &s->oci_version, e) < 0 ||
            get_str(doc, "hostname", "", 0, &s->hostname, e) < 0 ||
            get_str(doc, "domainname", "", 0, &s->domainname, e) < 0)
                goto fail;
        if (get_obj(doc, "root", "", 0, &o, e) < 0)
                goto fail;
        if (o && (get_str(o, "path", "root.", 1, &s->root_path, e) < 0 ||
                  get_bool(o, "readonly", "root.", &s->root_readonly, e) < 0))
                goto fail;
        if (get_obj(doc, "process", "", 0, &o, e) < 0 ||
            (o && spec_parse_process(o, &s->process, e) < 0))
                goto fail;
        if (get_arr(doc, "mounts", "", 0, &a, e) < 0 || (a && parse_mounts(a, s, e) < 0))
                goto fail;
        if (get_obj(doc, "hooks", "", 0, &o, e) < 0 || (o && parse_hooks(o, s, e) < 0))
                goto fail;
        if (get_obj(doc, "annotations", "", 0, &s->annotations, e) < 0)
                goto fail;
        if (get_obj(doc, "linux", "", 0, &o, e) < 0 || (o && parse_linux(o, s, e) < 0))
                goto fail;
        if (s->hostname && *s->hostname && !spec_namespace(s, CLONE_NEWUTS)) {
                err_new(e, 0, "hostname: setting it needs a new uts namespace");
                goto fail;
        }
        *out = s;
        return 0;
fail:
        err_wrap(e, "config.json");
        spec_free(s);
        return -1;
}

int spec_load(const char *path, struct spec **out, struct err **e)
{
        _cleanup_free_ char *text = NULL;
        if (read_file(path, 16 << 20, &text, NULL, e) < 0)
                return -1;
        return spec_parse(text, out, e);
}

const struct spec_namespace *spec_namespace(const struct spec *s, int type)
{
        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].type == type)
                        return &s->namespaces[i];
        return NULL;
}

void spec_free(struct spec *s)
{
        if (s == NULL)
                return;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        spec_process_free(s->process);
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct spec_mount *m = &s->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
        }
        free(s->mounts);
        for (int k = 0; k < HOOK_KIND_COUNT; k++) {
                for (size_t i = 0; i < s->hooks.count[k]; i++) {
                        free(s->hooks.list[k][i].path);
                        strv_free(s->hooks.list[k][i].args);
                        strv_free(s->hooks.list[k][i].env);
                }
                free(s->hooks.list[k]);
        }
        for (size_t i = 0; i < s->n_namespaces; i++)
                free(s->namespaces[i].path);
        free(s->namespaces);
        free(s->uid_mappings);
        free(s->gid_mappings);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        free(s->cgroups_path);
        for (size_t i = 0; i < s->n_sysctl; i++) {
                free(s->sysctl[i].key);
                free(s->sysctl[i].value);
        }
        free(s->sysctl);
        strv_free(s->masked_paths);
        strv_free(s->readonly_paths);
        free(s->mount_label);
        json_decref(s->doc);
        free(s);
}

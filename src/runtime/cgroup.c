/*
 * cgroup: the container's cgroups on v1, v2 and hybrid hosts.
 *
 * The model: a host has a list of mounted hierarchies, found by matching
 * /proc/self/cgroup lines against cgroup/cgroup2 entries of
 * /proc/self/mountinfo.  Each v1 hierarchy carries the controllers it was
 * mounted with ("cpu,cpuacct", "name=systemd"); the v2 one carries the
 * controllers its root offers (on this kind of hybrid host often only what
 * v1 left over, e.g. hugetlb).  A container's cgroup is one directory per
 * hierarchy, and every resource is written into the hierarchy that serves
 * its controller: a v1 hierarchy naming it, else the v2 one.  So v1, v2 and
 * hybrid are one code path; only the file names and value conversions
 * differ, in the per-controller writers below.
 *
 * linux.resources is parsed into `struct resources` before anything is
 * created or written, so a bad type or range is refused with nothing
 * changed; values the kernel refuses are reported with controller, file and
 * value.  The resources are written before the process joins, so a failed
 * create never has to move a process back out.
 */
#include "cgroup.h"
#include "mountutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

struct hier {
        int v2;
        char *controllers; /* v1: as mounted ("cpu,cpuacct"); v2: offered by its root */
        char *mountpoint;
        char *mnt_root; /* the part of the hierarchy mounted there, "/" normally */
        char *own;      /* the calling process's cgroup here (detection only) */
        char *path;     /* the container's cgroup, relative to the hierarchy root */
        char *dir;      /* where its files are: mountpoint + path below mnt_root */
        int created;    /* trailing path components cgroup_create made (for undo) */
};

struct cgroup {
        struct hier *h;
        size_t n;
};

#define CG_READ_MAX (1 << 20)

/* ---- small helpers ---------------------------------------------------- */

static void hier_clear(struct hier *h)
{
        free(h->controllers);
        free(h->mountpoint);
        free(h->mnt_root);
        free(h->own);
        free(h->path);
        free(h->dir);
        memset(h, 0, sizeof(*h));
}

void cgroup_free(struct cgroup *cg)
{
        if (cg == NULL)
                return;
        for (size_t i = 0; i < cg->n; i++)
                hier_clear(&cg->h[i]);
        free(cg->h);
        free(cg);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is `tok` one of the words of `list` (separated by ',' or ' ')? */
static int has_token(const char *list, const char *tok)
{
        size_t n = strlen(tok);
        for (const char *p = list; p && *p;) {
                size_t len = strcspn(p, ", \n");
                if (len == n && strncmp(p, tok, n) == 0)
                        return 1;
                p += len;
                p += strspn(p, ", \n");
        }
        return 0;
}

/* The name used in messages: "memory", "cpu,cpuacct", "cgroup2". */
static const char *hier_label(const struct hier *h)
{
        return h->v2 ? "cgroup2" : h->controllers;
}

static int cg_exists(const struct hier *h, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", h->dir, file);
        return access(p, F_OK) == 0;
}

/* One write(2) of `val`: cgroup files take a value per write.  O_TRUNC as
 * a shell's ">" does (cgroupfs ignores it; plain files in tests need it). */
static int write_value(const char *path, const char *val)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, val, strlen(val));
        if (n < 0)
                return -1;
        if ((size_t)n != strlen(val)) {
                errno = EIO;
                return -1;
        }
        return 0;
}

/* Write `val` to `file` of the container's cgroup in `h`; the error names
 * the controller `what`, the file and the value. */
static int cg_write(const struct hier *h, const char *what, const char *file, const char *val,
                    struct err **e)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", h->dir, file);
        if (write_value(p, val) < 0)
                return err_sys(e, "cgroup %s: write %s=%s", what, file, val);
        return 0;
}

static int cg_write_ll(const struct hier *h, const char *what, const char *file, long long v,
                       struct err **e)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", v);
        return cg_write(h, what, file, buf, e);
}

/* Read a whole file, trailing newline removed. */
static int read_trimmed(const char *path, char **out, struct err **e)
{
        char *s = NULL;
        size_t len = 0;
        if (read_file(path, CG_READ_MAX, &s, &len, e) < 0)
                return -1;
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
                s[--len] = '\0';
        *out = s;
        return 0;
}

static int cg_read(const struct hier *h, const char *file, char **out, struct err **e)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", h->dir, file);
        return read_trimmed(p, out, e);
}

/* Read an unsigned number; "max" reads as UINT64_MAX. */
static int cg_read_u64(const struct hier *h, const char *file, unsigned long long *v)
{
        _cleanup_free_ char *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, file, &s, &e) < 0)
                return -1;
        if (strcmp(s, "max") == 0) {
                *v = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        *v = strtoull(s, &end, 10);
        return (errno || end == s || *end) ? -1 : 0;
}

/* ---- the host: which hierarchies are mounted where --------------------- */

struct mnt {
        char *root, *mountpoint, *fstype, *super;
};

static void mnts_free(struct mnt *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].root);
                free(m[i].mountpoint);
                free(m[i].fstype);
                free(m[i].super);
        }
        free(m);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
        char *out = xmalloc(strlen(s) + 1), *o = out;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 4;
                } else {
                        *o++ = *s++;
                }
        }
        *o = '\0';
        return out;
}

/* Parse one mountinfo line; returns 1 for a cgroup/cgroup2 mount. */
static int parse_mount_line(char *line, struct mnt *m)
{
        char *f[64];
        size_t n = 0;
        for (char *sv, *t = strtok_r(line, " \n", &sv); t && n < ARRAY_SIZE(f);
             t = strtok_r(NULL, " \n", &sv))
                f[n++] = t;
        size_t sep = 6;
        while (sep < n && strcmp(f[sep], "-") != 0)
                sep++;
        if (sep + 3 >= n)
                return 0;
        const char *fstype = f[sep + 1];
        if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                return 0;
        m->root = unescape(f[3]);
        m->mountpoint = unescape(f[4]);
        m->fstype = xstrdup(fstype);
        m->super = xstrdup(f[sep + 3]);
        return 1;
}

static int read_cgroup_mounts(struct mnt **out, size_t *nout, struct err **e)
{
        _cleanup_free_ char *text = NULL;
        if (read_file("/proc/self/mountinfo", 16 << 20, &text, NULL, e) < 0)
                return -1;
        struct mnt *m = NULL;
        size_t n = 0;
        for (char *sv, *line = strtok_r(text, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
                struct mnt one = {0};
                if (!parse_mount_line(line, &one))
                        continue;
                m = realloc(m, (n + 1) * sizeof(*m));
                if (m == NULL)
                        abort();
                m[n++] = one;
        }
        *out = m;
        *nout = n;
        return 0;
}

/* Does mount `m` serve the hierarchy with controllers `ctrls` ("" = v2)? */
static int mount_serves(const struct mnt *m, const char *ctrls)
{
        if (*ctrls == '\0')
                return strcmp(m->fstype, "cgroup2") == 0;
        if (strcmp(m->fstype, "cgroup") != 0)
                return 0;
        _cleanup_free_ char *c = xstrdup(ctrls);
        for (char *sv, *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
                if (!has_token(m->super, t))
                        return 0;
        return 1;
}

static int path_under(const char *path, const char *root)
{
        size_t n = strlen(root);
        if (strcmp(root, "/") == 0)
                return 1;
        return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The mount of a hierarchy to use: its whole tree if mounted, else a mount
 * of a subtree that contains our own cgroup. */
static const struct mnt *pick_mount(const struct mnt *m, size_t n, const char *ctrls,
                                    const char *own)
{
        const struct mnt *best = NULL;
        for (size_t i = 0; i < n; i++) {
                if (!mount_serves(&m[i], ctrls))
                        continue;
                if (strcmp(m[i].root, "/") == 0)
                        return &m[i];
                if (best == NULL && path_under(own, m[i].root))
                        best = &m[i];
        }
        return best;
}

static void v2_root_controllers(struct hier *h)
{
        _cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", h->mountpoint);
        _cleanup_err_ struct err *e = NULL;
        char *s = NULL;
        if (read_trimmed(p, &s, &e) < 0)
                s = xstrdup("");
        for (char *c = s; *c; c++)
                if (*c == ' ')
                        *c = ',';
        h->controllers = s;
}

/* Add the hierarchy of one /proc/self/cgroup line ("4:memory:/a") if it
 * is mounted here. */
static void add_hier(struct cgroup *cg, const struct mnt *m, size_t nm, char *line)
{
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
                return;
        *c2 = '\0';
        const char *ctrls = c1 + 1, *own = c2 + 1;
        if (*ctrls == '\0' && strncmp(line, "0:", 2) != 0)
                return;
        const struct mnt *mp = pick_mount(m, nm, ctrls, own);
        if (mp == NULL)
                return;
        cg->h = realloc(cg->h, (cg->n + 1) * sizeof(*cg->h));
        if (cg->h == NULL)
                abort();
        struct hier *h = &cg->h[cg->n++];
        memset(h, 0, sizeof(*h));
        h->v2 = *ctrls == '\0';
        h->mountpoint = xstrdup(mp->mountpoint);
        h->mnt_root = xstrdup(mp->root);
        h->own = xstrdup(own);
        if (h->v2)
                v2_root_controllers(h);
        else
                h->controllers = xstrdup(ctrls);
}

/* The hierarchies of this host, each with our own cgroup in it. */
static int detect(struct cgroup **out, struct err **e)
{
        struct mnt *m = NULL;
        size_t nm = 0;
        if (read_cgroup_mounts(&m, &nm, e) < 0)
                return -1;
        _cleanup_free_ char *text = NULL;
        if (read_file("/proc/self/cgroup", CG_READ_MAX, &text, NULL, e) < 0) {
                mnts_free(m, nm);
                return -1;
        }
        struct cgroup *cg = xcalloc(1, sizeof(*cg));
        for (char *sv, *line = strtok_r(text, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv))
                add_hier(cg, m, nm, line);
        mnts_free(m, nm);
        if (cg->n == 0) {
                cgroup_free(cg);
                return err_new(e, 0, "cgroup: no cgroup filesystem is mounted");
        }
        *out = cg;
        return 0;
}

static int has_v1(const struct cgroup *cg)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!cg->h[i].v2 && !str_has_prefix(cg->h[i].controllers, "name="))
                        return 1;
        return 0;
}

static struct hier *v2_hier(const struct cgroup *cg)
{
        for (size_t i = 0; i < cg->n; i++)
                if (cg->h[i].v2)
                        return &cg->h[i];
        return NULL;
}

static const char *mode_of(const struct cgroup *cg)
{
        int v1 = has_v1(cg), v2 = v2_hier(cg) != NULL;
        return v1 && v2 ? "hybrid" : v1 ? "v1" : v2 ? "v2" : "none";
}

const char *cgroup_mode(void)
{
        struct cgroup *cg = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (detect(&cg, &e) < 0)
                return "none";
        const char *mode = mode_of(cg);
        cgroup_free(cg);
        return mode;
}

/* The hierarchy that serves controller `ctrl`: a v1 hierarchy naming it,
 * else v2 if it offers it (devices and freezer are core features there). */
static struct hier *hier_for(const struct cgroup *cg, const char *ctrl)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!cg->h[i].v2 && has_token(cg->h[i].controllers, ctrl))
                        return &cg->h[i];
        struct hier *h = v2_hier(cg);
        if (h == NULL)
                return NULL;
        if (has_token(h->controllers, ctrl) || strcmp(ctrl, "devices") == 0 ||
            strcmp(ctrl, "freezer") == 0)
                return h;
        if (strcmp(ctrl, "cpuacct") == 0 && has_token(h->controllers, "cpu"))
                return h;
        return NULL;
}

/* ---- paths ------------------------------------------------------------ */

/* Normalise like filepath.Clean("/" + p): no empty, "." or ".." parts, and
 * ".." cannot climb above the start.  Returns "a/b" ("" for none). */
static char *clean_rel(const char *p)
{
        _cleanup_free_ char *copy = xstrdup(p);
        char *out = xcalloc(1, strlen(p) + 1);
        size_t len = 0;
        for (char *sv, *t = strtok_r(copy, "/", &sv); t; t = strtok_r(NULL, "/", &sv)) {
                if (strcmp(t, ".") == 0)
                        continue;
                if (strcmp(t, "..") == 0) {
                        char *slash = strrchr(out, '/');
                        len = slash ? (size_t)(slash - out) : 0;
                        out[len] = '\0';
                        continue;
                }
                len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", t);
        }
        return out;
}

/* "/a" + "b/c" -> "/a/b/c"; "/" + "" -> "/". */
static char *join_path(const char *base, const char *rel)
{
        int base_root = strcmp(base, "/") == 0 || *base == '\0';
        if (*rel == '\0')
                return xstrdup(base_root ? "/" : base);
        return xasprintf("%s/%s", base_root ? "" : base, rel);
}

static char *dirname_of(const char *p)
{
        char *d = xstrdup(p);
        char *slash = strrchr(d, '/');
        if (slash == NULL || slash == d)
                strcpy(d, "/");
        else
                *slash = '\0';
        return d;
}

/* Set h->path and h->dir for cgroupsPath `rel` (cleaned), absolute or not.
 * Where only a subtree of the hierarchy is mounted (a container without a
 * cgroup namespace), "absolute" means below that subtree, as for runc. */
static int resolve(struct hier *h, const char *rel, int absolute, int pure_v2, struct err **e)
{
        if (absolute) {
                h->path = join_path(h->mnt_root, rel);
        } else {
                _cleanup_free_ char *base = pure_v2 ? dirname_of(h->own) : xstrdup(h->own);
                h->path = join_path(base, rel);
        }
        if (!path_under(h->path, h->mnt_root))
                return err_new(e, 0,
                               "cgroup %s: %s is outside the part of the hierarchy mounted at %s",
                               hier_label(h), h->path, h->mountpoint);
        const char *below = h->path + (strcmp(h->mnt_root, "/") == 0 ? 0 : strlen(h->mnt_root));
        h->dir = xasprintf("%s%s", h->mountpoint, strcmp(below, "/") == 0 ? "" : below);
        return 0;
}

static int resolve_all(struct cgroup *cg, const char *cgroups_path, const char *id, struct err **e)
{
        int absolute = cgroups_path && cgroups_path[0] == '/';
        _cleanup_free_ char *rel = NULL;
        if (cgroups_path && *cgroups_path) {
                rel = clean_rel(cgroups_path);
        } else {
                if (id == NULL || *id == '\0' || strchr(id, '/') || strcmp(id, "..") == 0 ||
                    strcmp(id, ".") == 0)
                        return err_new(e, 0, "cgroup: invalid container id \"%s\"", id ? id : "");
                rel = xstrdup(id);
        }
        if (*rel == '\0')
                return err_new(e, 0, "cgroup: cgroupsPath \"%s\" names the root cgroup",
                               cgroups_path);
        int pure_v2 = !has_v1(cg);
        for (size_t i = 0; i < cg->n; i++)
                if (resolve(&cg->h[i], rel, absolute, pure_v2, e) < 0)
                        return -1;
        return 0;
}

/* ---- creating, entering and removing ----------------------------------- */

/* A new v1 cpuset has empty cpus and mems and refuses tasks: copy them from
 * the parent, as clone_children would. */
static int cpuset_fill(const char *dir, struct err **e)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        _cleanup_free_ char *parent = dirname_of(dir);
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, files[i]);
                _cleanup_free_ char *pp = xasprintf("%s/%s", parent, files[i]);
                _cleanup_free_ char *cur = NULL, *val = NULL;
                if (read_trimmed(p, &cur, e) < 0)
                        return -1;
                if (*cur)
                        continue;
                if (read_trimmed(pp, &val, e) < 0)
                        return -1;
                if (write_value(p, val) < 0)
                        return err_sys(e, "cgroup cpuset: write %s=%s", p, val);
        }
        return 0;
}

/* mkdir every level of h->dir below the mount point, counting in
 * h->created the levels made here. */
static int make_dirs(struct hier *h, struct err **e)
{
        _cleanup_free_ char *p = xstrdup(h->dir);
        int cpuset = !h->v2 && has_token(h->controllers, "cpuset");
        size_t i = strlen(h->mountpoint);
        while (p[i] == '/') {
                char *next = strchr(p + i + 1, '/');
                if (next)
                        *next = '\0';
                if (mkdir(p, 0755) == 0)
                        h->created++;
                else if (errno != EEXIST)
                        return err_sys(e, "cgroup %s: mkdir %s", hier_label(h), p);
                if (cpuset && cpuset_fill(p, e) < 0)
                        return -1;
                if (next == NULL)
                        break;
                *next = '/';
                i = (size_t)(next - p);
        }
        return 0;
}

static void remove_created(struct hier *h)
{
        _cleanup_free_ char *p = xstrdup(h->dir ? h->dir : "");
        for (; h->created > 0; h->created--) {
                if (rmdir(p) < 0 && errno != ENOENT)
                        log_warn("cgroup %s: rmdir %s: %s", hier_label(h), p, strerror(errno));
                char *slash = strrchr(p, '/');
                if (slash == NULL)
                        break;
                *slash = '\0';
        }
}

/* The v2 name of a v1-style controller name. */
static const char *v2_name(const char *ctrl)
{
        if (strcmp(ctrl, "blkio") == 0)
                return "io";
        if (strcmp(ctrl, "cpuacct") == 0)
                return "cpu";
        return ctrl;
}

static int enable_in(const char *dir, const char *ctrl, struct err **e)
{
        _cleanup_free_ char *p = xasprintf("%s/cgroup.subtree_control", dir);
        _cleanup_free_ char *cur = NULL, *plus = xasprintf("+%s", ctrl);
        if (read_trimmed(p, &cur, e) < 0)
                return -1;
        if (has_token(cur, ctrl))
                return 0;
        if (write_value(p, plus) < 0)
                return err_sys(e, "cgroup %s: write %s=%s", ctrl, p, plus);
        return 0;
}

/* Make v2 controller `ctrl` available in h->dir: enable it in
 * cgroup.subtree_control of the mount point and every level down to the
 * parent of h->dir. */
static int v2_enable(const struct hier *h, const char *ctrl, struct err **e)
{
        _cleanup_free_ char *have = NULL;
        if (cg_read(h, "cgroup.controllers", &have, e) < 0)
                return -1;
        if (has_token(have, ctrl))
                return 0;
        _cleanup_free_ char *p = xstrdup(h->dir);
        size_t end = (size_t)(strrchr(p, '/') - p), i = strlen(h->mountpoint);
        for (;;) {
                char c = p[i];
                p[i] = '\0';
                int r = enable_in(p, ctrl, e);
                p[i] = c;
                if (r < 0)
                        return -1;
                if (i >= end)
                        break;
                i = (size_t)(strchr(p + i + 1, '/') - p);
        }
        return 0;
}

/* As runc on pure v2: offer every controller to the container's cgroup, so
 * that stats work without limits; failures only cost that controller. */
static void v2_enable_all(const struct hier *h)
{
        _cleanup_free_ char *list = xstrdup(h->controllers);
        for (char *sv, *t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
                _cleanup_err_ struct err *e = NULL;
                if (v2_enable(h, t, &e) < 0)
                        log_debug("%s", e->msg);
        }
}

/* The hierarchy serving `ctrl`, ready for writing (enabled on v2). */
static struct hier *need(const struct cgroup *cg, const char *ctrl, struct err **e)
{
        struct hier *h = hier_for(cg, ctrl);
        if (h == NULL && strcmp(v2_name(ctrl), ctrl) != 0)
                h = hier_for(cg, v2_name(ctrl));
        if (h == NULL) {
                err_new(e, 0, "cgroup %s: controller not available on this host", ctrl);
                return NULL;
        }
        if (h->v2 && strcmp(ctrl, "devices") != 0 && strcmp(ctrl, "freezer") != 0 &&
            v2_enable(h, v2_name(ctrl), e) < 0)
                return NULL;
        return h;
}

static int join(const struct hier *h, pid_t pid, struct err **e)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        _cleanup_free_ char *p = xasprintf("%s/cgroup.procs", h->dir);
        for (int i = 0;; i++) {
                if (write_value(p, buf) == 0)
                        return 0;
                /* EINVAL: the task may still be TASK_NEW (just forked). */
                if (errno != EINVAL || i == 5)
                        return err_sys(e, "cgroup %s: write cgroup.procs=%s", hier_label(h), buf);
                sleep_ms(30);
        }
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct err **e)
{
        for (size_t i = 0; i < cg->n; i++)
                if (join(&cg->h[i], pid, e) < 0)
                        return -1;
        return 0;
}

int cgroup_v2_fd(const struct cgroup *cg)
{
        for (size_t i = 0; i < cg->n; i++)
                if (cg->h[i].v2)
                        return open(cg->h[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return -1;
}

/* Writing "0" to a v1 `tasks` file moves the calling thread without the
 * global threadgroup lock whose RCU grace period makes every write of a pid
 * to cgroup.procs cost ~10 ms; for a single-threaded process that moves the
 * whole process.  v2 has no such file: cgroup.procs there. */
int cgroup_join_self(const struct cgroup *cg, int include_v2, struct err **e)
{
        char p[PATH_MAX];
        for (size_t i = 0; i < cg->n; i++) {
                const struct hier *h = &cg->h[i];
                if (h->v2 && !include_v2)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", h->dir, h->v2 ? "cgroup.procs" : "tasks");
                if (write_value(p, "0") < 0)
                        return err_sys(e, "cgroup %s: join %s", hier_label(h), h->dir);
        }
        return 0;
}

/* The directory `pid` is in now in hierarchy h, or NULL. */
static char *pid_dir(const struct hier *h, pid_t pid)
{
        _cleanup_free_ char *p = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (read_file(p, CG_READ_MAX, &text, NULL, &e) < 0)
                return NULL;
        for (char *sv, *l = strtok_r(text, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c2 = '\0';
                int match = h->v2 ? strcmp(l, "0:") == 0 : strcmp(c1 + 1, h->controllers) == 0;
                if (!match || !path_under(c2 + 1, h->mnt_root ? h->mnt_root : "/"))
                        continue;
                size_t skip =
                    (h->mnt_root && strcmp(h->mnt_root, "/") != 0) ? strlen(h->mnt_root) : 0;
                return xasprintf("%s%s", h->mountpoint, c2 + 1 + skip);
        }
        return NULL;
}

/* Join every hierarchy; on failure move `pid` back where it was. */
static int join_all(struct cgroup *cg, pid_t pid, struct err **e)
{
        char **back = xcalloc(cg->n, sizeof(char *));
        size_t i;
        int r = 0;
        for (i = 0; i < cg->n; i++)
                back[i] = pid_dir(&cg->h[i], pid);
        for (i = 0; i < cg->n && r == 0; i++)
                r = join(&cg->h[i], pid, e);
        for (size_t j = 0; r < 0 && j + 1 < i; j++) {
                _cleanup_free_ char *procs = back[j] ? xasprintf("%s/cgroup.procs", back[j]) : NULL;
                char buf[32];
                snprintf(buf, sizeof(buf), "%d", (int)pid);
                if (procs == NULL || write_value(procs, buf) < 0)
                        log_warn("cgroup %s: cannot move %d back", hier_label(&cg->h[j]), (int)pid);
        }
        for (i = 0; i < cg->n; i++)
                free(back[i]);
        free(back);
        return r;
}

static int make_all(struct cgroup *cg, struct err **e)
{
        int pure_v2 = !has_v1(cg);
        for (size_t i = 0; i < cg->n; i++) {
                if (make_dirs(&cg->h[i], e) < 0)
                        return -1;
                if (pure_v2 && cg->h[i].v2)
                        v2_enable_all(&cg->h[i]);
        }
        return 0;
}

static void undo_all(struct cgroup *cg)
{
        for (size_t i = cg->n; i-- > 0;)
                remove_created(&cg->h[i]);
}

/* rmdir `dir` and the cgroups below it; 0 or -errno. */
static int rmdir_tree(const char *dir)
{
        DIR *d = opendir(dir);
        if (d == NULL)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
                int r = rmdir_tree(sub);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Processes that are exiting keep a cgroup busy for a moment. */
static int rmdir_retry(const struct hier *h, struct err **e)
{
        /* The usual case is a leaf whose processes are gone: one rmdir.
         * Listing it first (rmdir_tree) reads every control file's entry,
         * ~50 syscalls over 10 v1 hierarchies on each `delete`. */
        if (rmdir(h->dir) == 0 || errno == ENOENT)
                return 0;
        long long deadline = now_ms() + 3000;
        long delay = 1;
        for (;;) {
                int r = rmdir_tree(h->dir);
                if (r == 0)
                        return 0;
                if (r != -EBUSY || now_ms() > deadline) {
                        errno = -r;
                        return err_sys(e, "cgroup %s: rmdir %s", hier_label(h), h->dir);
                }
                sleep_ms(delay);
                delay = delay < 100 ? delay * 2 : 100;
        }
}

int cgroup_destroy(struct cgroup *cg, struct err **e)
{
        int r = 0;
        for (size_t i = 0; i < cg->n; i++)
                if (rmdir_retry(&cg->h[i], e) < 0)
                        r = -1; /* keep going: remove what can be removed */
        return r;
}

/* ---- linux.resources, parsed and checked ------------------------------- */

struct opt {
        int has;
        long long v;
};

/* A weightDevice ({weight, leafWeight} in a, b) or a throttle ({rate} in a). */
struct devnum {
        long long major, minor;
        struct opt a, b;
};

enum { THR_RBPS, THR_WBPS, THR_RIOPS, THR_WIOPS, THR_N };
static const char *const thr_key[THR_N] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                           "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};

enum { ACC_M = 1, ACC_R = 2, ACC_W = 4, ACC_ALL = 7 }; /* = BPF_DEVCG_ACC_* */

struct devrule {
        char type;              /* 'a', 'c', 'b' */
        long long major, minor; /* -1 = any */
        unsigned access;        /* ACC_* */
        int allow;
};

struct hugepage {
        const char *size; /* "2MB", borrowed from the JSON */
        long long limit;
};

struct prio {
        const char *name;
        long long prio;
};

struct resources {
        struct {
                struct opt limit, reservation, swap, kernel, kernel_tcp, swappiness, oom_off;
        } mem;
        struct {
                struct opt shares, quota, period, burst, rt_runtime, rt_period, idle;
                const char *cpus, *mems;
        } cpu;
        struct opt pids;
        struct {
                struct opt weight, leaf;
                struct devnum *wdev, *thr[THR_N];
                size_t n_wdev, n_thr[THR_N];
        } blkio;
        struct hugepage *huge;
        size_t n_huge;
        struct opt classid;
        struct prio *prio;
        size_t n_prio;
        int has_devices;
        struct devrule *dev;
        size_t n_dev;
        json_t *unified; /* borrowed */
};

static void resources_clear(struct resources *r)
{
        free(r->blkio.wdev);
        for (int i = 0; i < THR_N; i++)
                free(r->blkio.thr[i]);
        free(r->huge);
        free(r->prio);
        free(r->dev);
        memset(r, 0, sizeof(*r));
}
#define _cleanup_resources_ __attribute__((cleanup(resources_clear)))

static const char *json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int bad_type(const char *where, const char *key, const char *want, const json_t *v,
                    struct err **e)
{
        return err_new(e, 0, "cgroup: linux.resources.%s%s%s: expected %s, got %s", where,
                       *where && *key ? "." : "", key, want, json_kind(v));
}

/* obj[key] as an integer in [min, max]; absent or null leaves o->has 0, and
 * so does 0 when zero_unset (runc reads 0 as "not set" for those keys). */
static int get_int(json_t *obj, const char *where, const char *key, long long min, long long max,
                   int zero_unset, struct opt *o, struct err **e)
{
        json_t *v = json_object_get(obj, key);
        o->has = 0;
        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return bad_type(where, key, "an integer", v, e);
        long long x = json_integer_value(v);
        if (x < min || x > max)
                return err_new(e, 0, "cgroup: linux.resources.%s.%s: %lld is out of range", where,
                               key, x);
        if (x == 0 && zero_unset)
                return 0;
        o->has = 1;
        o->v = x;
        return 0;
}

static int get_bool(json_t *obj, const char *where, const char *key, struct opt *o, struct err **e)
{
        json_t *v = json_object_get(obj, key);
        o->has = 0;
        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return bad_type(where, key, "a boolean", v, e);
        o->has = 1;
        o->v = json_is_true(v);
        return 0;
}

static int get_str(json_t *obj, const char *where, const char *key, const char **out,
                   struct err **e)
{
        json_t *v = json_object_get(obj, key);
        *out = NULL;
        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return bad_type(where, key, "a string", v, e);
        *out = json_string_value(v);
        return 0;
}

/* obj[key] as an object/array (NULL when absent). */
static int get_typed(json_t *obj, const char *where, const char *key, json_type t, json_t **out,
                     struct err **e)
{
        json_t *v = json_object_get(obj, key);
        *out = NULL;
        if (v == NULL || json_is_null(v))
                return 0;
        if (json_typeof(v) != t)
                return bad_type(where, key, t == JSON_OBJECT ? "an object" : "an array", v, e);
        *out = v;
        return 0;
}

static int parse_memory(json_t *m, struct resources *r, struct err **e)
{
        const char *w = "memory";
        if (get_int(m, w, "limit", -1, LLONG_MAX, 1, &r->mem.limit, e) < 0 ||
            get_int(m, w, "reservation", -1, LLONG_MAX, 1, &r->mem.reservation, e) < 0 ||
            get_int(m, w, "swap", -1, LLONG_MAX, 1, &r->mem.swap, e) < 0 ||
            get_int(m, w, "kernel", -1, LLONG_MAX, 1, &r->mem.kernel, e) < 0 ||
            get_int(m, w, "kernelTCP", -1, LLONG_MAX, 1, &r->mem.kernel_tcp, e) < 0 ||
            get_int(m, w, "swappiness", 0, 100, 0, &r->mem.swappiness, e) < 0 ||
            get_bool(m, w, "disableOOMKiller", &r->mem.oom_off, e) < 0)
                return -1;
        return 0;
}

static int parse_cpu(json_t *c, struct resources *r, struct err **e)
{
        const char *w = "cpu";
        if (get_int(c, w, "shares", 0, LLONG_MAX, 1, &r->cpu.shares, e) < 0 ||
            get_int(c, w, "quota", -1, LLONG_MAX, 1, &r->cpu.quota, e) < 0 ||
            get_int(c, w, "period", 0, LLONG_MAX, 1, &r->cpu.period, e) < 0 ||
            get_int(c, w, "burst", 0, LLONG_MAX, 0, &r->cpu.burst, e) < 0 ||
            get_int(c, w, "realtimeRuntime", -1, LLONG_MAX, 1, &r->cpu.rt_runtime, e) < 0 ||
            get_int(c, w, "realtimePeriod", 0, LLONG_MAX, 1, &r->cpu.rt_period, e) < 0 ||
            get_int(c, w, "idle", LLONG_MIN, LLONG_MAX, 0, &r->cpu.idle, e) < 0 ||
            get_str(c, w, "cpus", &r->cpu.cpus, e) < 0 ||
            get_str(c, w, "mems", &r->cpu.mems, e) < 0)
                return -1;
        if (r->cpu.cpus && *r->cpu.cpus == '\0')
                r->cpu.cpus = NULL;
        if (r->cpu.mems && *r->cpu.mems == '\0')
                r->cpu.mems = NULL;
        return 0;
}

/* An array of {major, minor, <a>, <b>} objects (b may be NULL). */
static int parse_devnums(json_t *arr, const char *where, const char *a, const char *b,
                         struct devnum **out, size_t *n, struct err **e)
{
        *out = xcalloc(json_array_size(arr), sizeof(**out));
        *n = json_array_size(arr);
        for (size_t i = 0; i < *n; i++) {
                json_t *it = json_array_get(arr, i);
                _cleanup_free_ char *w = xasprintf("%s[%zu]", where, i);
                struct opt maj, min;
                if (!json_is_object(it))
                        return bad_type(w, "", "an object", it, e);
                if (get_int(it, w, "major", 0, UINT32_MAX, 0, &maj, e) < 0 ||
                    get_int(it, w, "minor", 0, UINT32_MAX, 0, &min, e) < 0 ||
                    get_int(it, w, a, 0, LLONG_MAX, 0, &(*out)[i].a, e) < 0 ||
                    (b && get_int(it, w, b, 0, LLONG_MAX, 0, &(*out)[i].b, e) < 0))
                        return -1;
                if (!maj.has || !min.has)
                        return err_new(
                            e, 0, "cgroup: linux.resources.%s: major and minor are required", w);
                (*out)[i].major = maj.v;
                (*out)[i].minor = min.v;
        }
        return 0;
}

static int parse_blkio(json_t *b, struct resources *r, struct err **e)
{
        const char *w = "blockIO";
        json_t *arr;
        if (get_int(b, w, "weight", 0, 65535, 1, &r->blkio.weight, e) < 0 ||
            get_int(b, w, "leafWeight", 0, 65535, 1, &r->blkio.leaf, e) < 0 ||
            get_typed(b, w, "weightDevice", JSON_ARRAY, &arr, e) < 0)
                return -1;
        if (arr && parse_devnums(arr, "blockIO.weightDevice", "weight", "leafWeight",
                                 &r->blkio.wdev, &r->blkio.n_wdev, e) < 0)
                return -1;
        for (int t = 0; t < THR_N; t++) {
                _cleanup_free_ char *where = xasprintf("blockIO.%s", thr_key[t]);
                if (get_typed(b, w, thr_key[t], JSON_ARRAY, &arr, e) < 0)
                        return -1;
                if (arr && parse_devnums(arr, where, "rate", NULL, &r->blkio.thr[t],
                                         &r->blkio.n_thr[t], e) < 0)
                        return -1;
        }
        return 0;
}

static int parse_huge(json_t *arr, struct resources *r, struct err **e)
{
        r->n_huge = json_array_size(arr);
        r->huge = xcalloc(r->n_huge, sizeof(*r->huge));
        for (size_t i = 0; i < r->n_huge; i++) {
                json_t *it = json_array_get(arr, i);
                _cleanup_free_ char *w = xasprintf("hugepageLimits[%zu]", i);
                struct opt lim;
                if (!json_is_object(it))
                        return bad_type(w, "", "an object", it, e);
                if (get_str(it, w, "pageSize", &r->huge[i].size, e) < 0 ||
                    get_int(it, w, "limit", 0, LLONG_MAX, 0, &lim, e) < 0)
                        return -1;
                if (r->huge[i].size == NULL || !lim.has || strchr(r->huge[i].size, '/'))
                        return err_new(
                            e, 0, "cgroup: linux.resources.%s: pageSize and limit are required", w);
                r->huge[i].limit = lim.v;
        }
        return 0;
}

static int parse_network(json_t *n, struct resources *r, struct err **e)
{
        json_t *arr;
        if (get_int(n, "network", "classID", 0, UINT32_MAX, 1, &r->classid, e) < 0 ||
            get_typed(n, "network", "priorities", JSON_ARRAY, &arr, e) < 0)
                return -1;
        r->n_prio = arr ? json_array_size(arr) : 0;
        r->prio = xcalloc(r->n_prio, sizeof(*r->prio));
        for (size_t i = 0; i < r->n_prio; i++) {
                json_t *it = json_array_get(arr, i);
                _cleanup_free_ char *w = xasprintf("network.priorities[%zu]", i);
                struct opt p;
                if (!json_is_object(it))
                        return bad_type(w, "", "an object", it, e);
                if (get_str(it, w, "name", &r->prio[i].name, e) < 0 ||
                    get_int(it, w, "priority", 0, UINT32_MAX, 0, &p, e) < 0)
                        return -1;
                if (r->prio[i].name == NULL || !p.has)
                        return err_new(
                            e, 0, "cgroup: linux.resources.%s: name and priority are required", w);
                r->prio[i].prio = p.v;
        }
        return 0;
}

static int parse_access(const char *s, unsigned *out)
{
        *out = 0;
        for (; *s; s++) {
                if (*s == 'r')
                        *out |= ACC_R;
                else if (*s == 'w')
                        *out |= ACC_W;
                else if (*s == 'm')
                        *out |= ACC_M;
                else
                        return -1;
        }
        return 0;
}

static int parse_devrule(json_t *it, const char *w, struct devrule *d, struct err **e)
{
        struct opt allow, maj, min;
        const char *type = NULL, *access = NULL;
        if (!json_is_object(it))
                return bad_type(w, "", "an object", it, e);
        if (get_bool(it, w, "allow", &allow, e) < 0 || get_str(it, w, "type", &type, e) < 0 ||
            get_int(it, w, "major", -1, INT32_MAX, 0, &maj, e) < 0 ||
            get_int(it, w, "minor", -1, INT32_MAX, 0, &min, e) < 0 ||
            get_str(it, w, "access", &access, e) < 0)
                return -1;
        if (!allow.has)
                return err_new(e, 0, "cgroup: linux.resources.%s.allow is required", w);
        if (type && *type && (strlen(type) != 1 || !strchr("acb", *type)))
                return err_new(e, 0, "cgroup: linux.resources.%s.type: \"%s\" is not a, c or b", w,
                               type);
        if (parse_access(access && *access ? access : "rwm", &d->access) < 0)
                return err_new(e, 0,
                               "cgroup: linux.resources.%s.access: \"%s\" is not made of r, w, m",
                               w, access);
        d->allow = (int)allow.v;
        d->type = type && *type ? *type : 'a';
        d->major = maj.has ? maj.v : -1;
        d->minor = min.has ? min.v : -1;
        return 0;
}

static int parse_devices(json_t *arr, struct resources *r, struct err **e)
{
        r->has_devices = 1;
        r->n_dev = json_array_size(arr);
        r->dev = xcalloc(r->n_dev, sizeof(*r->dev));
        for (size_t i = 0; i < r->n_dev; i++) {
                _cleanup_free_ char *w = xasprintf("devices[%zu]", i);
                if (parse_devrule(json_array_get(arr, i), w, &r->dev[i], e) < 0)
                        return -1;
        }
        return 0;
}

static int parse_unified(json_t *u, struct resources *r, struct err **e)
{
        const char *k;
        json_t *v;
        json_object_foreach(u, k, v)
        {
                if (!json_is_string(v))
                        return bad_type("unified", k, "a string", v, e);
                if (*k == '\0' || *k == '.' || strchr(k, '/'))
                        return err_new(
                            e, 0,
                            "cgroup: linux.resources.unified: \"%s\" is not a cgroup file name", k);
        }
        r->unified = json_object_size(u) ? u : NULL;
        return 0;
}

static int parse_pids(json_t *p, struct resources *r, struct err **e)
{
        return get_int(p, "pids", "limit", LLONG_MIN, LLONG_MAX, 1, &r->pids, e);
}

static int parse_rdma(json_t *o, struct resources *r, struct err **e)
{
        if (json_object_size(o))
                return err_new(e, 0, "cgroup: linux.resources.rdma: not supported");
        return 0;
}

static const struct {
        const char *key;
        json_type type;
        int (*parse)(json_t *, struct resources *, struct err **);
} sections[] = {
    {"memory", JSON_OBJECT, parse_memory},      {"cpu", JSON_OBJECT, parse_cpu},
    {"pids", JSON_OBJECT, parse_pids},          {"blockIO", JSON_OBJECT, parse_blkio},
    {"hugepageLimits", JSON_ARRAY, parse_huge}, {"network", JSON_OBJECT, parse_network},
    {"devices", JSON_ARRAY, parse_devices},     {"unified", JSON_OBJECT, parse_unified},
    {"rdma", JSON_OBJECT, parse_rdma},
};

static int parse_resources(json_t *j, struct resources *r, struct err **e)
{
        memset(r, 0, sizeof(*r));
        if (j == NULL || json_is_null(j))
                return 0;
        if (!json_is_object(j))
                return err_new(e, 0, "cgroup: linux.resources: expected an object, got %s",
                               json_kind(j));
        for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
                json_t *o;
                if (get_typed(j, "", sections[i].key, sections[i].type, &o, e) < 0 ||
                    (o && sections[i].parse(o, r, e) < 0))
                        return -1;
        }
        return 0;
}

/* ---- memory ------------------------------------------------------------ */

/* A limit for a v2 file: -1 is "max". */
static int cg_write_limit(const struct hier *h, const char *what, const char *file, long long v,
                          struct err **e)
{
        return v < 0 ? cg_write(h, what, file, "max", e) : cg_write_ll(h, what, file, v, e);
}

/* v1 needs limit <= memsw at every step: raise memsw first when growing. */
static int mem_v1_limits(const struct hier *h, struct opt lim, struct opt sw, struct err **e)
{
        const char *L = "memory.limit_in_bytes", *S = "memory.memsw.limit_in_bytes";
        int have_sw = cg_exists(h, S);
        if (lim.has && lim.v == -1 && !sw.has && have_sw)
                sw = lim; /* as runc: unlimited memory means unlimited swap too */
        if (sw.has && !have_sw) {
                if (sw.v != -1)
                        return err_new(
                            e, 0, "cgroup memory: swap limit not supported by the kernel (no %s)",
                            S);
                sw.has = 0;
        }
        if (lim.has && sw.has) {
                unsigned long long cur;
                if (cg_read_u64(h, L, &cur) < 0)
                        return err_sys(e, "cgroup memory: read %s", L);
                if ((unsigned long long)sw.v >= cur) /* -1 compares as unlimited */
                        return cg_write_ll(h, "memory", S, sw.v, e) < 0
                                   ? -1
                                   : cg_write_ll(h, "memory", L, lim.v, e);
                return cg_write_ll(h, "memory", L, lim.v, e) < 0
                           ? -1
                           : cg_write_ll(h, "memory", S, sw.v, e);
        }
        if (lim.has)
                return cg_write_ll(h, "memory", L, lim.v, e);
        if (sw.has)
                return cg_write_ll(h, "memory", S, sw.v, e);
        return 0;
}

/* Kernel memory limits are deprecated (runc ignores them): best effort. */
static void mem_v1_kernel(const struct hier *h, const char *file, struct opt o)
{
        _cleanup_err_ struct err *e = NULL;
        if (o.has && cg_exists(h, file) && cg_write_ll(h, "memory", file, o.v, &e) < 0)
                log_warn("%s (ignored)", e->msg);
}

static int mem_v1(const struct hier *h, const struct resources *r, struct err **e)
{
        if (r->mem.reservation.has &&
            cg_write_ll(h, "memory", "memory.soft_limit_in_bytes", r->mem.reservation.v, e) < 0)
                return -1;
        if (mem_v1_limits(h, r->mem.limit, r->mem.swap, e) < 0)
                return -1;
        mem_v1_kernel(h, "memory.kmem.limit_in_bytes", r->mem.kernel);
        mem_v1_kernel(h, "memory.kmem.tcp.limit_in_bytes", r->mem.kernel_tcp);
        if (r->mem.swappiness.has &&
            cg_write_ll(h, "memory", "memory.swappiness", r->mem.swappiness.v, e) < 0)
                return -1;
        if (r->mem.oom_off.has &&
            cg_write_ll(h, "memory", "memory.oom_control", r->mem.oom_off.v, e) < 0)
                return -1;
        return 0;
}

/* OCI swap is memory+swap; v2 memory.swap.max is swap alone (runc's rules). */
static int swap_to_v2(long long sw, long long lim, long long *out, struct err **e)
{
        if (sw == -1 || lim == -1) {
                *out = sw;
                return 0;
        }
        if (lim == 0)
                return err_new(e, 0, "cgroup memory: a swap limit needs a memory limit");
        if (sw < lim)
                return err_new(
                    e, 0, "cgroup memory: memory+swap limit %lld is below the memory limit %lld",
                    sw, lim);
        *out = sw - lim;
        return 0;
}

static int mem_v2_limits(const struct hier *h, struct opt lim, struct opt sw, struct err **e)
{
        long long cur_lim = lim.v, swap = -1;
        if (!lim.has) {
                unsigned long long cur;
                if (cg_read_u64(h, "memory.max", &cur) < 0)
                        return err_sys(e, "cgroup memory: read memory.max");
                cur_lim = cur == UINT64_MAX ? -1 : (long long)cur;
        }
        if (sw.has && swap_to_v2(sw.v, cur_lim, &swap, e) < 0)
                return -1;
        if (lim.has && cg_write_limit(h, "memory", "memory.max", lim.v, e) < 0)
                return -1;
        if (!sw.has && !(lim.has && lim.v == -1))
                return 0; /* unlimited memory without a swap value: unlimited swap too */
        if (swap == -1 && !cg_exists(h, "memory.swap.max"))
                return 0;
        return cg_write_limit(h, "memory", "memory.swap.max", swap, e);
}

static int mem_v2(const struct hier *h, const struct resources *r, struct err **e)
{
        if (r->mem.reservation.has &&
            cg_write_limit(h, "memory", "memory.low", r->mem.reservation.v, e) < 0)
                return -1;
        if ((r->mem.limit.has || r->mem.swap.has) &&
            mem_v2_limits(h, r->mem.limit, r->mem.swap, e) < 0)
                return -1;
        if (r->mem.oom_off.has && r->mem.oom_off.v)
                log_warn("cgroup memory: disableOOMKiller is not supported on cgroup v2 (ignored)");
        /* kernel, kernelTCP and swappiness have no v2 files: ignored as by runc. */
        return 0;
}

static int apply_memory(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        const typeof(r->mem) *m = &r->mem;
        if (!m->limit.has && !m->reservation.has && !m->swap.has && !m->swappiness.has &&
            !m->oom_off.has) {
                struct hier *h = hier_for(cg, "memory");
                if (h && !h->v2) { /* kernel limits only: best effort */
                        mem_v1_kernel(h, "memory.kmem.limit_in_bytes", m->kernel);
                        mem_v1_kernel(h, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp);
                }
                return 0;
        }
        struct hier *h = need(cg, "memory", e);
        if (h == NULL)
                return -1;
        return h->v2 ? mem_v2(h, r, e) : mem_v1(h, r, e);
}

/* ---- cpu, cpuset, pids ------------------------------------------------- */

/* log2(x), x >= 1, without libm: integer part by halving, then one
 * fraction bit per squaring. */
static double log2_plain(double x)
{
        double r = 0, bit = 1;
        while (x >= 2) {
                x /= 2;
                r += 1;
        }
        for (int i = 0; i < 52; i++) {
                x *= x;
                bit /= 2;
                if (x >= 2) {
                        x /= 2;
                        r += bit;
                }
        }
        return r;
}

/* 10^y, y >= 0, without libm: e^(y ln 10) by halving, a Taylor series and
 * squaring back. */
static double pow10_plain(double y)
{
        double t = y * 2.302585092994045684, sum = 1, term = 1;
        int k = 0;
        while (t > 0.5) {
                t /= 2;
                k++;
        }
        for (int i = 1; i < 30; i++) {
                term *= t / i;
                sum += term;
        }
        while (k-- > 0)
                sum *= sum;
        return sum;
}

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000] with the curve runc
 * (opencontainers/cgroups) and crun use since 2025, which maps the default
 * 1024 to the default 100: 10^((l^2 + 125 l) / 612 - 7/34), l = log2(shares),
 * rounded up. */
static unsigned long long shares_to_weight(unsigned long long shares)
{
        if (shares <= 2)
                return 1;
        if (shares >= 262144)
                return 10000;
        double l = log2_plain((double)shares);
        double w = pow10_plain((l * l + 125 * l) / 612.0 - 7.0 / 34.0);
        unsigned long long n = (unsigned long long)w;
        return w - (double)n > 1e-9 ? n + 1 : n; /* ceil, ignoring rounding noise */
}

static void err_take(struct err **e, struct err **from)
{
        if (*e == NULL)
                *e = *from;
        else
                err_free(from);
        *from = NULL;
}

static int cpu_v1_bandwidth(const struct hier *h, struct opt quota, struct opt period,
                            struct err **e)
{
        const char *Q = "cpu.cfs_quota_us", *P = "cpu.cfs_period_us";
        if (period.has) {
                _cleanup_err_ struct err *first = NULL;
                if (cg_write_ll(h, "cpu", P, period.v, &first) < 0) {
                        /* the new period can clash with the old quota: quota first */
                        if (first->code != EINVAL || !quota.has) {
                                err_take(e, &first);
                                return -1;
                        }
                        if (cg_write_ll(h, "cpu", Q, quota.v, e) < 0)
                                return -1;
                        return cg_write_ll(h, "cpu", P, period.v, e);
                }
        }
        return quota.has ? cg_write_ll(h, "cpu", Q, quota.v, e) : 0;
}

/* Written when the file exists, skipped with a warning when it does not. */
static int cg_write_if_present(const struct hier *h, const char *file, struct opt o, struct err **e)
{
        if (!o.has)
                return 0;
        if (!cg_exists(h, file)) {
                log_warn("cgroup cpu: %s not supported by the kernel (ignored)", file);
                return 0;
        }
        return cg_write_ll(h, "cpu", file, o.v, e);
}

static int cpu_v1(const struct hier *h, const struct resources *r, struct err **e)
{
        if (r->cpu.shares.has && cg_write_ll(h, "cpu", "cpu.shares", r->cpu.shares.v, e) < 0)
                return -1;
        if (cpu_v1_bandwidth(h, r->cpu.quota, r->cpu.period, e) < 0)
                return -1;
        if (r->cpu.burst.has && (r->cpu.burst.v || cg_exists(h, "cpu.cfs_burst_us")) &&
            cg_write_ll(h, "cpu", "cpu.cfs_burst_us", r->cpu.burst.v, e) < 0)
                return -1;
        /* the period first: the runtime must fit in it */
        if (cg_write_if_present(h, "cpu.rt_period_us", r->cpu.rt_period, e) < 0 ||
            cg_write_if_present(h, "cpu.rt_runtime_us", r->cpu.rt_runtime, e) < 0 ||
            cg_write_if_present(h, "cpu.idle", r->cpu.idle, e) < 0)
                return -1;
        return 0;
}

/* cpu.max is "QUOTA PERIOD": keep the half that is not being set. */
static int cpu_v2_max(const struct hier *h, struct opt quota, struct opt period, struct err **e)
{
        _cleanup_free_ char *cur = NULL;
        char q[32] = "max", p[32] = "100000";
        if (cg_read(h, "cpu.max", &cur, e) < 0)
                return -1;
        if (sscanf(cur, "%31s %31s", q, p) < 1)
                return err_new(e, 0, "cgroup cpu: cannot parse cpu.max \"%s\"", cur);
        if (quota.has && quota.v < 0)
                snprintf(q, sizeof(q), "max");
        else if (quota.has)
                snprintf(q, sizeof(q), "%lld", quota.v);
        if (period.has)
                snprintf(p, sizeof(p), "%lld", period.v);
        _cleanup_free_ char *val = xasprintf("%s %s", q, p);
        return cg_write(h, "cpu", "cpu.max", val, e);
}

static int cpu_v2(const struct hier *h, const struct resources *r, struct err **e)
{
        if (r->cpu.shares.has &&
            cg_write_ll(h, "cpu", "cpu.weight",
                        (long long)shares_to_weight((unsigned long long)r->cpu.shares.v), e) < 0)
                return -1;
        if ((r->cpu.quota.has || r->cpu.period.has) &&
            cpu_v2_max(h, r->cpu.quota, r->cpu.period, e) < 0)
                return -1;
        if (r->cpu.burst.has && (r->cpu.burst.v || cg_exists(h, "cpu.max.burst")) &&
            cg_write_ll(h, "cpu", "cpu.max.burst", r->cpu.burst.v, e) < 0)
                return -1;
        if (cg_write_if_present(h, "cpu.idle", r->cpu.idle, e) < 0)
                return -1;
        if (r->cpu.rt_runtime.has || r->cpu.rt_period.has)
                log_warn("cgroup cpu: realtime limits are not supported on cgroup v2 (ignored)");
        return 0;
}

static int apply_cpu(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        const typeof(r->cpu) *c = &r->cpu;
        if (c->shares.has || c->quota.has || c->period.has || c->burst.has || c->rt_runtime.has ||
            c->rt_period.has || c->idle.has) {
                struct hier *h = need(cg, "cpu", e);
                if (h == NULL || (h->v2 ? cpu_v2(h, r, e) : cpu_v1(h, r, e)) < 0)
                        return -1;
        }
        if (c->cpus || c->mems) {
                struct hier *h = need(cg, "cpuset", e);
                if (h == NULL ||
                    (c->cpus && cg_write(h, "cpuset", "cpuset.cpus", c->cpus, e) < 0) ||
                    (c->mems && cg_write(h, "cpuset", "cpuset.mems", c->mems, e) < 0))
                        return -1;
        }
        return 0;
}

static int apply_pids(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (!r->pids.has)
                return 0;
        struct hier *h = need(cg, "pids", e);
        if (h == NULL)
                return -1;
        return cg_write_limit(h, "pids", "pids.max", r->pids.v, e);
}

/* ---- block I/O, hugetlb, network --------------------------------------- */

/* blkio weight [10, 1000] -> io.weight [1, 10000], as runc. */
static int blkio_to_io_weight(long long w, long long *out, struct err **e)
{
        if (w < 10 || w > 1000)
                return err_new(e, 0, "cgroup io: blkio weight %lld is outside [10, 1000]", w);
        *out = 1 + (w - 10) * 9999 / 990;
        return 0;
}

static int blkio_v1(const struct hier *h, const struct resources *r, struct err **e)
{
        static const char *const thr_file[THR_N] = {
            "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
        int bfq = cg_exists(h, "blkio.bfq.weight");
        const char *wf = bfq ? "blkio.bfq.weight" : "blkio.weight";
        const char *wdf = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
        if ((r->blkio.weight.has && cg_write_ll(h, "blkio", wf, r->blkio.weight.v, e) < 0) ||
            (r->blkio.leaf.has &&
             cg_write_ll(h, "blkio", "blkio.leaf_weight", r->blkio.leaf.v, e) < 0))
                return -1;
        for (size_t i = 0; i < r->blkio.n_wdev; i++) {
                const struct devnum *d = &r->blkio.wdev[i];
                char v[64];
                snprintf(v, sizeof(v), "%lld:%lld %lld", d->major, d->minor, d->a.v);
                if (d->a.has && cg_write(h, "blkio", wdf, v, e) < 0)
                        return -1;
                snprintf(v, sizeof(v), "%lld:%lld %lld", d->major, d->minor, d->b.v);
                if (d->b.has && cg_write(h, "blkio", "blkio.leaf_weight_device", v, e) < 0)
                        return -1;
        }
        for (int t = 0; t < THR_N; t++)
                for (size_t i = 0; i < r->blkio.n_thr[t]; i++) {
                        const struct devnum *d = &r->blkio.thr[t][i];
                        char v[64];
                        snprintf(v, sizeof(v), "%lld:%lld %lld", d->major, d->minor, d->a.v);
                        if (cg_write(h, "blkio", thr_file[t], v, e) < 0)
                                return -1;
                }
        return 0;
}

/* io.bfq.weight takes blkio weights as they are; io.weight needs converting. */
static int io_v2_weight(const struct hier *h, const struct devnum *d, long long w, struct err **e)
{
        int bfq = cg_exists(h, "io.bfq.weight");
        char v[64];
        if (!bfq && blkio_to_io_weight(w, &w, e) < 0)
                return -1;
        if (d)
                snprintf(v, sizeof(v), "%lld:%lld %lld", d->major, d->minor, w);
        else
                snprintf(v, sizeof(v), "%lld", w);
        return cg_write(h, "io", bfq ? "io.bfq.weight" : "io.weight", v, e);
}

static int blkio_v2(const struct hier *h, const struct resources *r, struct err **e)
{
        static const char *const thr_name[THR_N] = {"rbps", "wbps", "riops", "wiops"};
        if (r->blkio.weight.has && io_v2_weight(h, NULL, r->blkio.weight.v, e) < 0)
                return -1;
        for (size_t i = 0; i < r->blkio.n_wdev; i++)
                if (r->blkio.wdev[i].a.has &&
                    io_v2_weight(h, &r->blkio.wdev[i], r->blkio.wdev[i].a.v, e) < 0)
                        return -1;
        for (int t = 0; t < THR_N; t++)
                for (size_t i = 0; i < r->blkio.n_thr[t]; i++) {
                        const struct devnum *d = &r->blkio.thr[t][i];
                        char v[96];
                        if (d->a.v == 0) /* v1 reads 0 as "no limit" */
                                snprintf(v, sizeof(v), "%lld:%lld %s=max", d->major, d->minor,
                                         thr_name[t]);
                        else
                                snprintf(v, sizeof(v), "%lld:%lld %s=%lld", d->major, d->minor,
                                         thr_name[t], d->a.v);
                        if (cg_write(h, "io", "io.max", v, e) < 0)
                                return -1;
                }
        if (r->blkio.leaf.has)
                log_warn("cgroup io: leafWeight is not supported on cgroup v2 (ignored)");
        return 0;
}

static int apply_blkio(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        size_t n = r->blkio.n_wdev;
        for (int t = 0; t < THR_N; t++)
                n += r->blkio.n_thr[t];
        if (!r->blkio.weight.has && !r->blkio.leaf.has && n == 0)
                return 0;
        struct hier *h = need(cg, "blkio", e);
        if (h == NULL)
                return -1;
        return h->v2 ? blkio_v2(h, r, e) : blkio_v1(h, r, e);
}

static int apply_hugetlb(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (r->n_huge == 0)
                return 0;
        struct hier *h = need(cg, "hugetlb", e);
        if (h == NULL)
                return -1;
        for (size_t i = 0; i < r->n_huge; i++) {
                _cleanup_free_ char *f = xasprintf(
                    h->v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", r->huge[i].size);
                if (!cg_exists(h, f))
                        return err_new(e, 0,
                                       "cgroup hugetlb: page size %s is not supported (no %s)",
                                       r->huge[i].size, f);
                if (cg_write_ll(h, "hugetlb", f, r->huge[i].limit, e) < 0)
                        return -1;
        }
        return 0;
}

static int apply_network(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (r->classid.has) {
                struct hier *h = need(cg, "net_cls", e);
                if (h == NULL || cg_write_ll(h, "net_cls", "net_cls.classid", r->classid.v, e) < 0)
                        return -1;
        }
        if (r->n_prio == 0)
                return 0;
        struct hier *h = need(cg, "net_prio", e);
        if (h == NULL)
                return -1;
        for (size_t i = 0; i < r->n_prio; i++) {
                _cleanup_free_ char *v = xasprintf("%s %lld", r->prio[i].name, r->prio[i].prio);
                if (cg_write(h, "net_prio", "net_prio.ifpriomap", v, e) < 0)
                        return -1;
        }
        return 0;
}

/* linux.resources.unified: v2 file -> value, written last (it overrides). */
static int apply_unified(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (r->unified == NULL)
                return 0;
        struct hier *h = v2_hier(cg);
        if (h == NULL)
                return err_new(
                    e, 0,
                    "cgroup: linux.resources.unified needs cgroup v2 (this host has v1 only)");
        const char *k;
        json_t *v;
        json_object_foreach(r->unified, k, v)
        {
                char ctrl[64];
                snprintf(ctrl, sizeof(ctrl), "%.*s", (int)strcspn(k, "."), k);
                if (has_token(h->controllers, ctrl) && v2_enable(h, ctrl, e) < 0)
                        return -1;
                if (cg_write(h, "unified", k, json_string_value(v), e) < 0)
                        return -1;
        }
        return 0;
}

/* ---- devices ----------------------------------------------------------- */

/* The allow-list is computed the way the v1 kernel applies rules: a state
 * of "allow all" or "deny all" plus exceptions; an "a" rule resets it, a
 * rule against the default adds an exception, a rule agreeing with the
 * default removes access from an exactly matching exception.  v1 writes
 * the result to devices.allow/deny, v2 compiles it to eBPF, so both mean
 * the same thing. */
struct devstate {
        int allow_all;
        struct devrule *ex;
        size_t n;
};

/* runc's defaults, appended after the container's own rules. */
static const struct devrule default_rules[] = {
    {'c', -1, -1, ACC_M, 1}, {'b', -1, -1, ACC_M, 1}, {'c', 1, 3, ACC_ALL, 1},
    {'c', 1, 8, ACC_ALL, 1}, {'c', 1, 7, ACC_ALL, 1}, {'c', 5, 0, ACC_ALL, 1},
    {'c', 1, 5, ACC_ALL, 1}, {'c', 1, 9, ACC_ALL, 1}, {'c', 136, -1, ACC_ALL, 1},
    {'c', 5, 2, ACC_ALL, 1},
};

static void dev_apply(struct devstate *s, const struct devrule *r)
{
        if (r->type == 'a') {
                s->allow_all = r->allow;
                s->n = 0;
                return;
        }
        for (size_t i = 0; i < s->n; i++) {
                struct devrule *x = &s->ex[i];
                if (x->type != r->type || x->major != r->major || x->minor != r->minor)
                        continue;
                if (r->allow != s->allow_all) {
                        x->access |= r->access;
                        return;
                }
                x->access &= ~r->access;
                if (x->access == 0)
                        memmove(x, x + 1, (s->n-- - i - 1) * sizeof(*x));
                return;
        }
        if (r->allow == s->allow_all)
                return;
        s->ex = realloc(s->ex, (s->n + 1) * sizeof(*s->ex));
        if (s->ex == NULL)
                abort();
        s->ex[s->n++] = *r;
}

static void dev_line(const struct devrule *r, char *buf, size_t size)
{
        char maj[24] = "*", min[24] = "*", acc[4] = "";
        if (r->major >= 0)
                snprintf(maj, sizeof(maj), "%lld", r->major);
        if (r->minor >= 0)
                snprintf(min, sizeof(min), "%lld", r->minor);
        snprintf(acc, sizeof(acc), "%s%s%s", r->access & ACC_R ? "r" : "",
                 r->access & ACC_W ? "w" : "", r->access & ACC_M ? "m" : "");
        snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, acc);
}

static int dev_v1(const struct hier *h, const struct devstate *s, struct err **e)
{
        const char *reset = s->allow_all ? "devices.allow" : "devices.deny";
        const char *except = s->allow_all ? "devices.deny" : "devices.allow";
        char line[64];
        if (!s->allow_all) { /* already so (update)? then avoid a moment of deny-all */
                _cleanup_free_ char *cur = NULL, *want = xstrdup("");
                _cleanup_err_ struct err *ignored = NULL;
                for (size_t i = 0; i < s->n; i++) {
                        dev_line(&s->ex[i], line, sizeof(line));
                        char *t = xasprintf("%s%s%s", want, i ? "\n" : "", line);
                        free(want);
                        want = t;
                }
                if (cg_read(h, "devices.list", &cur, &ignored) == 0 && strcmp(cur, want) == 0)
                        return 0;
        }
        if (cg_write(h, "devices", reset, "a", e) < 0)
                return -1;
        for (size_t i = 0; i < s->n; i++) {
                dev_line(&s->ex[i], line, sizeof(line));
                if (cg_write(h, "devices", except, line, e) < 0)
                        return -1;
        }
        return 0;
}

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* One exception: each test jumps past the rest of the block when it fails;
 * a match returns the exception's verdict.  Returns the instruction count. */
static size_t bpf_rule(const struct devrule *r, struct bpf_insn *p)
{
        int acc = r->access != ACC_ALL;
        int n = 3 + 3 * acc + (r->major >= 0) + (r->minor >= 0), i = 0;
        int type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
        p[i] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (short)(n - i - 1), type), i++;
        if (acc) { /* (requested & allowed) != requested */
                p[i++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
                p[i++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int)r->access);
                p[i] = INSN(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, (short)(n - i - 1), 0),
                i++;
        }
        if (r->major >= 0)
                p[i] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, (short)(n - i - 1),
                            (int)r->major),
                i++;
        if (r->minor >= 0)
                p[i] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, (short)(n - i - 1),
                            (int)r->minor),
                i++;
        p[i++] = INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow);
        p[i++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        return (size_t)i;
}

/* The program over struct bpf_cgroup_dev_ctx {access_type, major, minor}:
 * r2 = device type, r3 = requested access, r4 = major, r5 = minor. */
static struct bpf_insn *bpf_program(const struct devstate *s, size_t *n)
{
        struct bpf_insn *p = xcalloc(8 + 11 * s->n, sizeof(*p));
        size_t i = 0;
        p[i++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
        p[i++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
        p[i++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
        p[i++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
        p[i++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
        p[i++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
        for (size_t k = 0; k < s->n; k++)
                i += bpf_rule(&s->ex[k], p + i);
        p[i++] = INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, s->allow_all);
        p[i++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        *n = i;
        return p;
}

static int sys_bpf(int cmd, union bpf_attr *a)
{
        return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int bpf_load(const struct bpf_insn *insns, size_t n, struct err **e)
{
        char vlog[4096];
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t)(uintptr_t)insns;
        a.insn_cnt = (uint32_t)n;
        a.license = (uint64_t)(uintptr_t) "GPL";
        int fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0)
                return fd;
        int saved = errno;
        vlog[0] = '\0';
        a.log_buf = (uint64_t)(uintptr_t)vlog;
        a.log_size = sizeof(vlog);
        a.log_level = 1;
        fd = sys_bpf(BPF_PROG_LOAD, &a); /* again, for the verifier's reason */
        if (fd >= 0)
                return fd;
        vlog[strcspn(vlog, "\n")] = '\0';
        errno = saved;
        return err_sys(e, "cgroup devices: load eBPF device filter%s%s%s",
                       *vlog ? " (verifier: " : "", vlog, *vlog ? ")" : "");
}

static void bpf_detach_id(int dfd, uint32_t id)
{
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_id = id;
        _cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)dfd;
        a.attach_bpf_fd = (uint32_t)fd;
        a.attach_type = BPF_CGROUP_DEVICE;
        if (fd < 0 || sys_bpf(BPF_PROG_DETACH, &a) < 0)
                log_warn("cgroup devices: detach old eBPF program %u: %s", id, strerror(errno));
}

/* Attach the new program, then detach the ones it replaces, so there is no
 * moment without a filter. */
static int bpf_replace(const struct hier *h, int prog, struct err **e)
{
        _cleanup_close_ int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(e, "cgroup devices: open %s", h->dir);
        uint32_t ids[64];
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t)dfd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t)(uintptr_t)ids;
        a.query.prog_cnt = ARRAY_SIZE(ids);
        uint32_t n_old = sys_bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)dfd;
        a.attach_bpf_fd = (uint32_t)prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
                return err_sys(e, "cgroup devices: attach eBPF device filter to %s", h->dir);
        for (uint32_t i = 0; i < n_old; i++)
                bpf_detach_id(dfd, ids[i]);
        return 0;
}

static int dev_v2(const struct hier *h, const struct devstate *s, struct err **e)
{
        size_t n;
        _cleanup_free_ struct bpf_insn *insns = bpf_program(s, &n);
        _cleanup_close_ int prog = bpf_load(insns, n, e);
        if (prog < 0)
                return -1;
        return bpf_replace(h, prog, e);
}

static int apply_devices(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (!r->has_devices)
                return 0;
        struct hier *h = hier_for(cg, "devices");
        if (h == NULL) {
                log_warn(
                    "cgroup devices: no devices controller on this host, device rules not applied");
                return 0;
        }
        struct devstate s = {0};
        for (size_t i = 0; i < r->n_dev; i++)
                dev_apply(&s, &r->dev[i]);
        for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++)
                dev_apply(&s, &default_rules[i]);
        int ret = h->v2 ? dev_v2(h, &s, e) : dev_v1(h, &s, e);
        free(s.ex);
        return ret;
}

/* ---- applying ---------------------------------------------------------- */

static int apply(const struct cgroup *cg, const struct resources *r, struct err **e)
{
        if (apply_devices(cg, r, e) < 0 || apply_memory(cg, r, e) < 0 || apply_cpu(cg, r, e) < 0 ||
            apply_pids(cg, r, e) < 0 || apply_blkio(cg, r, e) < 0 || apply_hugetlb(cg, r, e) < 0 ||
            apply_network(cg, r, e) < 0 || apply_unified(cg, r, e) < 0)
                return -1;
        return 0;
}

int cgroup_apply_resources(struct cgroup *cg, json_t *resources, struct err **e)
{
        _cleanup_resources_ struct resources r = {0};
        if (parse_resources(resources, &r, e) < 0)
                return -1;
        return apply(cg, &r, e);
}

int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, pid_t pid,
                  struct cgroup **out, struct err **e)
{
        _cleanup_resources_ struct resources r = {0};
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        if (parse_resources(resources, &r, e) < 0)
                return -1;
        r.has_devices = 1; /* a new cgroup always gets the allow-list */
        if (detect(&cg, e) < 0 || resolve_all(cg, cgroups_path, id, e) < 0)
                return -1;
        if (make_all(cg, e) < 0 || apply(cg, &r, e) < 0 || (pid > 0 && join_all(cg, pid, e) < 0)) {
                undo_all(cg);
                return -1;
        }
        for (size_t i = 0; i < cg->n; i++)
                cg->h[i].created = 0;
        *out = TAKE_PTR(cg);
        return 0;
}

/* ---- freezing, processes, signals -------------------------------------- */

#define FREEZE_TIMEOUT_MS 5000

/* v1: FREEZING can last while tasks finish a system call; writing FROZEN
 * again nudges the stragglers. */
static int freeze_v1(const struct hier *h, int frozen, struct err **e)
{
        const char *want = frozen ? "FROZEN" : "THAWED";
        long long deadline = now_ms() + FREEZE_TIMEOUT_MS;
        for (long delay = 1;; delay = delay < 50 ? delay * 2 : 50) {
                _cleanup_free_ char *state = NULL;
                if (cg_write(h, "freezer", "freezer.state", want, e) < 0 ||
                    cg_read(h, "freezer.state", &state, e) < 0)
                        return -1;
                if (strcmp(state, want) == 0)
                        return 0;
                if (now_ms() > deadline)
                        break;
                sleep_ms(delay);
        }
        if (frozen) { /* leave it running rather than half frozen */
                _cleanup_err_ struct err *ignored = NULL;
                cg_write(h, "freezer", "freezer.state", "THAWED", &ignored);
        }
        return err_new(e, ETIMEDOUT, "cgroup freezer: %s did not become %s", h->dir, want);
}

/* v2: "frozen 0|1" in cgroup.events; -1 when unreadable. */
static int v2_events_frozen(const struct hier *h)
{
        _cleanup_free_ char *ev = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, "cgroup.events", &ev, &e) < 0)
                return -1;
        const char *p = strstr(ev, "frozen ");
        return p ? p[7] == '1' : -1;
}

static int freeze_v2(const struct hier *h, int frozen, struct err **e)
{
        if (cg_write(h, "freezer", "cgroup.freeze", frozen ? "1" : "0", e) < 0)
                return -1;
        long long deadline = now_ms() + FREEZE_TIMEOUT_MS;
        for (long delay = 1; v2_events_frozen(h) != frozen; delay = delay < 50 ? delay * 2 : 50) {
                if (now_ms() > deadline) {
                        _cleanup_err_ struct err *ignored = NULL;
                        if (frozen)
                                cg_write(h, "freezer", "cgroup.freeze", "0", &ignored);
                        return err_new(e, ETIMEDOUT, "cgroup freezer: %s did not become %s", h->dir,
                                       frozen ? "frozen" : "thawed");
                }
                sleep_ms(delay);
        }
        return 0;
}

int cgroup_freeze(struct cgroup *cg, int frozen, struct err **e)
{
        struct hier *h = need(cg, "freezer", e);
        if (h == NULL)
                return -1;
        return h->v2 ? freeze_v2(h, frozen, e) : freeze_v1(h, frozen, e);
}

int cgroup_is_frozen(struct cgroup *cg)
{
        struct hier *h = hier_for(cg, "freezer");
        if (h == NULL)
                return 0;
        if (h->v2)
                return v2_events_frozen(h) == 1;
        _cleanup_free_ char *state = NULL;
        _cleanup_err_ struct err *e = NULL;
        return cg_read(h, "freezer.state", &state, &e) == 0 && strcmp(state, "FROZEN") == 0;
}

struct pidset {
        pid_t *v;
        size_t n, cap;
};

static void pidset_add(struct pidset *s, pid_t p)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i] == p)
                        return;
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 16;
                s->v = realloc(s->v, s->cap * sizeof(*s->v));
                if (s->v == NULL)
                        abort();
        }
        s->v[s->n++] = p;
}

/* cgroup.procs of `dir` and every cgroup below it. */
static int collect_pids(const char *dir, struct pidset *s, struct err **e)
{
        _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir), *text = NULL;
        if (read_file(procs, 16 << 20, &text, NULL, e) < 0)
                return (*e)->code == ENOENT ? (err_free(e), 0) : -1;
        for (char *sv, *l = strtok_r(text, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv))
                pidset_add(s, (pid_t)atoi(l));
        DIR *d = opendir(dir);
        if (d == NULL)
                return 0;
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
                r = collect_pids(sub, s, e);
        }
        closedir(d);
        return r;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

/* The union over all hierarchies: on v1 a process can sit in a sub-cgroup
 * of one hierarchy only. */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct err **e)
{
        struct pidset s = {0};
        for (size_t i = 0; i < cg->n; i++)
                if (collect_pids(cg->h[i].dir, &s, e) < 0) {
                        free(s.v);
                        return -1;
                }
        if (s.n)
                qsort(s.v, s.n, sizeof(*s.v), cmp_pid);
        *pids = s.v ? s.v : xcalloc(1, sizeof(pid_t));
        *n = s.n;
        return 0;
}

static int signal_pids(struct cgroup *cg, int sig, struct err **e)
{
        pid_t *pids = NULL;
        size_t n = 0;
        if (cgroup_pids(cg, &pids, &n, e) < 0)
                return -1;
        int r = 0;
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH && r == 0)
                        r = err_sys(e, "cgroup: kill %d with signal %d", (int)pids[i], sig);
        free(pids);
        return r;
}

int cgroup_kill_all(struct cgroup *cg, int sig, struct err **e)
{
        struct hier *v2 = v2_hier(cg);
        if (sig == SIGKILL && v2 && cg_exists(v2, "cgroup.kill"))
                return cg_write(v2, "cgroup2", "cgroup.kill", "1", e);
        /* frozen, nothing can fork between listing and signalling */
        int thaw = 0;
        if (sig == SIGKILL && hier_for(cg, "freezer") && !cgroup_is_frozen(cg)) {
                _cleanup_err_ struct err *fe = NULL;
                thaw = cgroup_freeze(cg, 1, &fe) == 0;
                if (!thaw)
                        log_debug("%s", fe->msg);
        }
        int r = signal_pids(cg, sig, e);
        if (thaw) {
                _cleanup_err_ struct err *te = NULL;
                if (cgroup_freeze(cg, 0, &te) < 0)
                        log_warn("%s", te->msg);
        }
        return r;
}

/* ---- statistics (runc events --stats) ---------------------------------- */

/* jansson integers are signed: "max"/unlimited saturates at INT64_MAX. */
static json_t *jnum(unsigned long long v)
{
        return json_integer(v > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)v);
}

/* Go's omitempty: zero values are left out. */
static void set_nz(json_t *o, const char *k, unsigned long long v)
{
        if (v)
                json_object_set_new(o, k, jnum(v));
}

static unsigned long long u64_or0(const struct hier *h, const char *file)
{
        unsigned long long v = 0;
        if (h == NULL || cg_read_u64(h, file, &v) < 0)
                return 0;
        return v;
}

/* A flat "key value" file (memory.stat, cpu.stat) as an object. */
static json_t *read_kv(const struct hier *h, const char *file)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        json_t *o = json_object();
        if (h == NULL || cg_read(h, file, &text, &e) < 0)
                return o;
        for (char *sv, *l = strtok_r(text, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
                char key[128];
                unsigned long long v;
                if (sscanf(l, "%127s %llu", key, &v) == 2)
                        json_object_set_new(o, key, jnum(v));
        }
        return o;
}

static unsigned long long kv(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return v ? (unsigned long long)json_integer_value(v) : 0;
}

/* "123 456 789" -> [123, 456, 789]; NULL when empty. */
static json_t *read_list(const struct hier *h, const char *file)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, file, &text, &e) < 0)
                return NULL;
        json_t *a = json_array();
        for (char *sv, *t = strtok_r(text, " \n", &sv); t; t = strtok_r(NULL, " \n", &sv))
                json_array_append_new(a, jnum(strtoull(t, NULL, 10)));
        if (json_array_size(a) == 0) {
                json_decref(a);
                return NULL;
        }
        return a;
}

static void set_list(json_t *o, const char *k, json_t *list)
{
        if (list)
                json_object_set_new(o, k, list);
}

static json_t *stats_cpu(const struct cgroup *cg)
{
        json_t *cpu = json_object(), *usage = json_object(), *thr = json_object();
        struct hier *acct = hier_for(cg, "cpuacct"), *h = hier_for(cg, "cpu");
        json_t *st = read_kv(h, "cpu.stat");
        if (acct && acct->v2) { /* cpu.stat in microseconds */
                set_nz(usage, "total", kv(st, "usage_usec") * 1000);
                json_object_set_new(usage, "kernel", jnum(kv(st, "system_usec") * 1000));
                json_object_set_new(usage, "user", jnum(kv(st, "user_usec") * 1000));
                set_nz(thr, "throttledTime", kv(st, "throttled_usec") * 1000);
        } else if (acct) {
                json_t *ticks = read_kv(acct, "cpuacct.stat");
                unsigned long long ns = 1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
                set_nz(usage, "total", u64_or0(acct, "cpuacct.usage"));
                set_list(usage, "percpu", read_list(acct, "cpuacct.usage_percpu"));
                set_list(usage, "percpu_kernel", read_list(acct, "cpuacct.usage_percpu_sys"));
                set_list(usage, "percpu_user", read_list(acct, "cpuacct.usage_percpu_user"));
                json_object_set_new(usage, "kernel", jnum(kv(ticks, "system") * ns));
                json_object_set_new(usage, "user", jnum(kv(ticks, "user") * ns));
                set_nz(thr, "throttledTime", kv(st, "throttled_time"));
                json_decref(ticks);
        }
        set_nz(thr, "periods", kv(st, "nr_periods"));
        set_nz(thr, "throttledPeriods", kv(st, "nr_throttled"));
        json_decref(st);
        json_object_set_new(cpu, "usage", usage);
        json_object_set_new(cpu, "throttling", thr);
        return cpu;
}

/* {limit, usage, max, failcnt} from v1 files with prefix "memory", "memory.memsw"... */
static json_t *mem_entry_v1(const struct hier *h, const char *prefix)
{
        json_t *o = json_object();
        char f[96];
        snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
        json_object_set_new(o, "limit", jnum(u64_or0(h, f)));
        snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
        set_nz(o, "usage", u64_or0(h, f));
        snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
        set_nz(o, "max", u64_or0(h, f));
        snprintf(f, sizeof(f), "%s.failcnt", prefix);
        json_object_set_new(o, "failcnt", jnum(u64_or0(h, f)));
        return o;
}

static json_t *mem_entry(unsigned long long limit, unsigned long long usage, unsigned long long max,
                         unsigned long long failcnt)
{
        json_t *o = json_object();
        json_object_set_new(o, "limit", jnum(limit));
        set_nz(o, "usage", usage);
        set_nz(o, "max", max);
        json_object_set_new(o, "failcnt", jnum(failcnt));
        return o;
}

static json_t *stats_memory(const struct cgroup *cg)
{
        json_t *m = json_object();
        struct hier *h = hier_for(cg, "memory");
        if (h == NULL)
                return m;
        json_t *raw = read_kv(h, "memory.stat");
        if (!h->v2) {
                set_nz(m, "cache", kv(raw, "total_cache"));
                json_object_set_new(m, "usage", mem_entry_v1(h, "memory"));
                json_object_set_new(m, "swap", mem_entry_v1(h, "memory.memsw"));
                json_object_set_new(m, "kernel", mem_entry_v1(h, "memory.kmem"));
                json_object_set_new(m, "kernelTCP", mem_entry_v1(h, "memory.kmem.tcp"));
        } else { /* swap reported as memory+swap, like v1 */
                json_t *ev = read_kv(h, "memory.events");
                unsigned long long cur = u64_or0(h, "memory.current"),
                                   lim = u64_or0(h, "memory.max");
                unsigned long long scur = u64_or0(h, "memory.swap.current"),
                                   slim = u64_or0(h, "memory.swap.max");
                set_nz(m, "cache", kv(raw, "file"));
                json_object_set_new(m, "usage",
                                    mem_entry(lim, cur, u64_or0(h, "memory.peak"), kv(ev, "max")));
                json_object_set_new(
                    m, "swap",
                    mem_entry(slim == UINT64_MAX || lim == UINT64_MAX ? UINT64_MAX : slim + lim,
                              scur + cur, 0, 0));
                json_decref(ev);
        }
        if (json_object_size(raw))
                json_object_set(m, "raw", raw);
        json_decref(raw);
        return m;
}

static json_t *stats_pids(const struct cgroup *cg)
{
        json_t *p = json_object();
        struct hier *h = hier_for(cg, "pids");
        unsigned long long lim = u64_or0(h, "pids.max");
        set_nz(p, "current", u64_or0(h, "pids.current"));
        set_nz(p, "limit", lim == UINT64_MAX ? 0 : lim); /* 0: no limit, as runc */
        return p;
}

static void blk_add(json_t *obj, const char *key, unsigned long long maj, unsigned long long min,
                    const char *op, unsigned long long v)
{
        json_t *arr = json_object_get(obj, key), *en = json_object();
        if (arr == NULL) {
                arr = json_array();
                json_object_set_new(obj, key, arr);
        }
        set_nz(en, "major", maj);
        set_nz(en, "minor", min);
        json_object_set_new(en, "op", json_string(op));
        set_nz(en, "value", v);
        json_array_append_new(arr, en);
}

/* v1 "8:0 Read 4096" lines; the first of `files` that exists wins. */
static void blkio_v1_stat(const struct hier *h, json_t *out, const char *key,
                          const char *const files[2])
{
        _cleanup_free_ char *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, files[0], &text, &e) < 0 &&
            (err_free(&e), cg_read(h, files[1], &text, &e) < 0))
                return;
        for (char *sv, *l = strtok_r(text, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
                unsigned long long maj, min, v;
                char op[32];
                if (sscanf(l, "%llu:%llu %31s %llu", &maj, &min, op, &v) == 4)
                        blk_add(out, key, maj, min, op, v);
        }
}

/* v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." in v1's tables. */
static void io_v2_stat(const struct hier *h, json_t *out)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, "io.stat", &text, &e) < 0)
                return;
        for (char *sv, *l = strtok_r(text, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
                unsigned long long maj, min, v;
                int off = 0;
                if (sscanf(l, "%llu:%llu%n", &maj, &min, &off) != 2)
                        continue;
                for (char *sv2, *t = strtok_r(l + off, " ", &sv2); t;
                     t = strtok_r(NULL, " ", &sv2)) {
                        char k[16];
                        if (sscanf(t, "%15[a-z]=%llu", k, &v) != 2)
                                continue;
                        int bytes = k[1] == 'b', read = k[0] == 'r';
                        if (strcmp(k + 1, "bytes") == 0 || strcmp(k + 1, "ios") == 0)
                                blk_add(out,
                                        bytes ? "ioServiceBytesRecursive" : "ioServicedRecursive",
                                        maj, min, read ? "Read" : "Write", v);
                }
        }
}

static json_t *stats_blkio(const struct cgroup *cg)
{
        static const char *const bytes[2] = {"blkio.io_service_bytes_recursive",
                                             "blkio.throttle.io_service_bytes_recursive"};
        static const char *const ios[2] = {"blkio.io_serviced_recursive",
                                           "blkio.throttle.io_serviced_recursive"};
        json_t *b = json_object();
        struct hier *h = hier_for(cg, "blkio");
        if (h == NULL)
                h = hier_for(cg, "io");
        if (h && h->v2) {
                io_v2_stat(h, b);
        } else if (h) {
                blkio_v1_stat(h, b, "ioServiceBytesRecursive", bytes);
                blkio_v1_stat(h, b, "ioServicedRecursive", ios);
        }
        return b;
}

/* "hugepages-2048kB" -> "2MB", as the hugetlb files name page sizes. */
static void page_size_name(const char *dirname, char *out, size_t size)
{
        unsigned long long kb = strtoull(dirname + strlen("hugepages-"), NULL, 10);
        if (kb >= 1024 * 1024 && kb % (1024 * 1024) == 0)
                snprintf(out, size, "%lluGB", kb / (1024 * 1024));
        else if (kb >= 1024 && kb % 1024 == 0)
                snprintf(out, size, "%lluMB", kb / 1024);
        else
                snprintf(out, size, "%lluKB", kb);
}

static json_t *stats_hugetlb(const struct cgroup *cg)
{
        json_t *o = json_object();
        struct hier *h = hier_for(cg, "hugetlb");
        DIR *d = h ? opendir("/sys/kernel/mm/hugepages") : NULL;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                char sz[32], f[96];
                if (!str_has_prefix(de->d_name, "hugepages-"))
                        continue;
                page_size_name(de->d_name, sz, sizeof(sz));
                json_t *en = json_object();
                snprintf(f, sizeof(f), h->v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes",
                         sz);
                set_nz(en, "usage", u64_or0(h, f));
                snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", sz);
                set_nz(en, "max", h->v2 ? 0 : u64_or0(h, f));
                snprintf(f, sizeof(f), "hugetlb.%s.failcnt", sz);
                json_object_set_new(en, "failcnt", jnum(h->v2 ? 0 : u64_or0(h, f)));
                json_object_set_new(o, sz, en);
        }
        if (d)
                closedir(d);
        return o;
}

/* "0-2,5" -> [0, 1, 2, 5] */
static json_t *cpu_list(const char *s)
{
        json_t *a = json_array();
        _cleanup_free_ char *copy = xstrdup(s);
        for (char *sv, *t = strtok_r(copy, ",\n", &sv); t; t = strtok_r(NULL, ",\n", &sv)) {
                unsigned lo, hi;
                int n = sscanf(t, "%u-%u", &lo, &hi);
                if (n < 1)
                        continue;
                for (unsigned c = lo; c <= (n == 2 ? hi : lo) && c < 65536; c++)
                        json_array_append_new(a, json_integer(c));
        }
        return a;
}

static json_t *stats_cpuset(const struct cgroup *cg)
{
        static const char *const flags[] = {
            "cpu_exclusive",      "mem_hardwall",       "mem_exclusive",   "memory_migrate",
            "memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance"};
        json_t *o = json_object();
        struct hier *h = hier_for(cg, "cpuset");
        if (h == NULL)
                return o;
        const char *cpus = h->v2 ? "cpuset.cpus.effective" : "cpuset.cpus";
        const char *mems = h->v2 ? "cpuset.mems.effective" : "cpuset.mems";
        _cleanup_free_ char *c = NULL, *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (cg_read(h, cpus, &c, &e) == 0 && *c)
                json_object_set_new(o, "cpus", cpu_list(c));
        err_free(&e);
        if (cg_read(h, mems, &m, &e) == 0 && *m)
                json_object_set_new(o, "mems", cpu_list(m));
        for (size_t i = 0; !h->v2 && i < ARRAY_SIZE(flags); i++) {
                char f[64];
                snprintf(f, sizeof(f), "cpuset.%s", flags[i]);
                json_object_set_new(o, flags[i], jnum(u64_or0(h, f)));
        }
        return o;
}

int cgroup_stats(struct cgroup *cg, json_t **out, struct err **e)
{
        json_t *d = json_object();
        json_object_set_new(d, "cpu", stats_cpu(cg));
        json_object_set_new(d, "cpuset", stats_cpuset(cg));
        json_object_set_new(d, "memory", stats_memory(cg));
        json_object_set_new(d, "pids", stats_pids(cg));
        json_object_set_new(d, "blkio", stats_blkio(cg));
        json_object_set_new(d, "hugetlb", stats_hugetlb(cg));
        json_object_set_new(d, "intel_rdt", json_object());
        json_object_set_new(d, "network_interfaces", json_null());
        *out = d;
        return 0;
}

/* ---- state ------------------------------------------------------------- */

json_t *cgroup_to_json(const struct cgroup *cg)
{
        json_t *arr = json_array();
        for (size_t i = 0; i < cg->n; i++) {
                const struct hier *h = &cg->h[i];
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                     h->v2 ? "v2" : "v1", "controllers",
                                                     h->controllers, "mountpoint", h->mountpoint,
                                                     "path", h->path, "dir", h->dir));
        }
        return json_pack("{s:i, s:s, s:o}", "version", 1, "mode", mode_of(cg), "hierarchies", arr);
}

static int hier_from_json(json_t *j, size_t i, struct hier *h, struct err **e)
{
        const char *type, *ctrls, *mnt, *path, *dir;
        json_error_t je;
        if (json_unpack_ex(j, &je, 0, "{s:s, s:s, s:s, s:s, s:s}", "type", &type, "controllers",
                           &ctrls, "mountpoint", &mnt, "path", &path, "dir", &dir) < 0)
                return err_new(e, 0, "cgroup state: hierarchies[%zu]: %s", i, je.text);
        if (strcmp(type, "v1") != 0 && strcmp(type, "v2") != 0)
                return err_new(e, 0, "cgroup state: hierarchies[%zu]: unknown type \"%s\"", i,
                               type);
        if (!path_under(dir, mnt) || strcmp(dir, mnt) == 0 || strstr(dir, "/../"))
                return err_new(e, 0, "cgroup state: hierarchies[%zu]: %s is not below %s", i, dir,
                               mnt);
        h->v2 = strcmp(type, "v2") == 0;
        h->controllers = xstrdup(ctrls);
        h->mountpoint = xstrdup(mnt);
        h->path = xstrdup(path);
        h->dir = xstrdup(dir);
        return 0;
}

int cgroup_from_json(json_t *j, struct cgroup **out, struct err **e)
{
        json_t *arr = json_is_object(j) ? json_object_get(j, "hierarchies") : NULL;
        if (!json_is_array(arr) || json_array_size(arr) == 0)
                return err_new(e, 0, "cgroup state: no \"hierarchies\" list");
        _cleanup_cgroup_ struct cgroup *cg = xcalloc(1, sizeof(*cg));
        cg->h = xcalloc(json_array_size(arr), sizeof(*cg->h));
        for (size_t i = 0; i < json_array_size(arr); i++, cg->n++)
                if (hier_from_json(json_array_get(arr, i), i, &cg->h[i], e) < 0)
                        return -1;
        *out = TAKE_PTR(cg);
        return 0;
}

/* ---- the cgroup filesystem inside the container ------------------------ */

#define MNT_FLAGS                                                                                  \
        (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
         MS_STRICTATIME)

static int bind_dir(const char *src, const char *dst, unsigned long flags, struct err **e)
{
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                return err_sys(e, "cgroup mount: bind %s on %s", src, dst);
        unsigned long f = MS_REMOUNT | MS_BIND | (flags & MNT_FLAGS) | mount_locked_flags(src);
        if (mount(NULL, dst, NULL, f, NULL) < 0)
                return err_sys(e, "cgroup mount: remount %s", dst);
        return 0;
}

/* The directory name of a hierarchy under the tmpfs: "cpu,cpuacct",
 * "systemd" for name=systemd, "unified" for cgroup2 beside v1. */
static char *hier_dirname(const struct hier *h)
{
        if (h->v2)
                return xstrdup("unified");
        if (str_has_prefix(h->controllers, "name="))
                return xstrdup(h->controllers + 5);
        return xstrdup(h->controllers);
}

static int mount_one(const struct hier *h, const char *dst, int cgroupns, unsigned long flags,
                     struct err **e)
{
        if (!cgroupns)
                return bind_dir(h->dir, dst, flags, e);
        if (h->v2) {
                if (mount("cgroup2", dst, "cgroup2", flags & MNT_FLAGS, NULL) < 0)
                        return err_sys(e, "cgroup mount: mount cgroup2 on %s", dst);
                return 0;
        }
        _cleanup_free_ char *data = str_has_prefix(h->controllers, "name=")
                                        ? xasprintf("none,%s", h->controllers)
                                        : xstrdup(h->controllers);
        if (mount("cgroup", dst, "cgroup", flags & MNT_FLAGS, data) == 0)
                return 0;
        /* a user namespace may mount cgroup2 but not v1 hierarchies */
        if (errno == EPERM)
                return bind_dir(h->dir, dst, flags, e);
        return err_sys(e, "cgroup mount: mount cgroup (%s) on %s", data, dst);
}

/* cpu -> cpu,cpuacct and cpuacct -> cpu,cpuacct, as hosts lay them out. */
static int link_controllers(const char *dest, const struct hier *h, struct err **e)
{
        if (h->v2 || !strchr(h->controllers, ','))
                return 0;
        _cleanup_free_ char *list = xstrdup(h->controllers);
        for (char *sv, *t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
                _cleanup_free_ char *lnk = xasprintf("%s/%s", dest, t);
                if (!str_has_prefix(t, "name=") && symlink(h->controllers, lnk) < 0 &&
                    errno != EEXIST)
                        return err_sys(e, "cgroup mount: symlink %s", lnk);
        }
        return 0;
}

static int mount_v1_layout(const struct cgroup *cg, const char *dest, int cgroupns,
                           unsigned long flags, struct err **e)
{
        unsigned long tflags =
            (flags & MNT_FLAGS & ~(unsigned long)MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount("tmpfs", dest, "tmpfs", tflags, "mode=755") < 0)
                return err_sys(e, "cgroup mount: mount tmpfs on %s", dest);
        for (size_t i = 0; i < cg->n; i++) {
                const struct hier *h = &cg->h[i];
                _cleanup_free_ char *name = hier_dirname(h);
                _cleanup_free_ char *dst = xasprintf("%s/%s", dest, name);
                if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                        return err_sys(e, "cgroup mount: mkdir %s", dst);
                if (mount_one(h, dst, cgroupns, flags, e) < 0 || link_controllers(dest, h, e) < 0)
                        return -1;
        }
        if ((flags & MS_RDONLY) &&
            mount("tmpfs", dest, "tmpfs", MS_REMOUNT | MS_RDONLY | tflags, "mode=755") < 0)
                return err_sys(e, "cgroup mount: remount %s read-only", dest);
        return 0;
}

int cgroup_mount(const struct cgroup *cg, const char *dest, int cgroupns, unsigned long flags,
                 struct err **e)
{
        if (mkdir_p(dest, 0755, e) < 0)
                return err_wrap(e, "cgroup mount");
        if (has_v1(cg) || cg->n > 1 || !cg->h[0].v2)
                return mount_v1_layout(cg, dest, cgroupns, flags, e);
        return mount_one(&cg->h[0], dest, cgroupns, flags, e);
}

/* ---- --systemd-cgroup paths --------------------------------------------- */

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices */
static int expand_slice(const char *slice, char **out, struct err **e)
{
        size_t n = strlen(slice);
        if (n < 7 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
                return err_new(e, 0, "linux.cgroupsPath: %s is not a systemd slice name", slice);
        if (!strcmp(slice, "-.slice")) {
                *out = xstrdup("");
                return 0;
        }
        _cleanup_free_ char *base = xstrndup(slice, n - 6);
        char *path = xstrdup("");
        for (char *dash = base;; dash++) {
                dash = strchr(dash, '-');
                if (dash)
                        *dash = '\0';
                char *next = xasprintf("%s/%s.slice", path, base);
                free(path);
                path = next;
                if (dash == NULL)
                        break;
                *dash = '-';
        }
        *out = path;
        return 0;
}

int cgroup_systemd_path(const char *spec_path, const char *id, char **out, struct err **e)
{
        _cleanup_free_ char *p = xstrdup(spec_path && *spec_path ? spec_path : "");
        char *slice = "system.slice", *prefix = "barge", *name = (char *)id;
        if (*p) {
                char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL || strchr(c2 + 1, ':'))
                        return err_new(e, 0,
                                       "linux.cgroupsPath: %s: with --systemd-cgroup it must be "
                                       "slice:prefix:name",
                                       spec_path);
                *c1 = *c2 = '\0';
                slice = *p ? p : "system.slice";
                prefix = c1 + 1;
                name = c2 + 1;
        }
        if (*name == '\0' || strchr(name, '/') || strchr(prefix, '/'))
                return err_new(e, 0, "linux.cgroupsPath: %s: bad unit name", spec_path);
        _cleanup_free_ char *dir = NULL;
        if (expand_slice(slice, &dir, e) < 0)
                return -1;
        size_t n = strlen(name);
        if (n > 6 && !strcmp(name + n - 6, ".slice"))
                *out = xasprintf("%s/%s", dir, name);
        else if (*prefix)
                *out = xasprintf("%s/%s-%s.scope", dir, prefix, name);
        else
                *out = xasprintf("%s/%s.scope", dir, name);
        return 0;
}

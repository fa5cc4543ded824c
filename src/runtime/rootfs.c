/*
 * rootfs: the container's filesystem view, built inside its new mount
 * namespace: config.json mounts, /dev and its devices, then pivot_root and
 * the masked and read-only paths.
 *
 * Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), so
 * a symlink planted by an image ("/proc -> /etc" or "x -> ../../..") resolves
 * inside the rootfs and never reaches the host.  Mounts are made on the
 * resolved O_PATH fd through /proc/self/fd/N for the same reason.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/util.h"
#include "cgroup.h"
#include "mountutil.h"

enum create_kind { CREATE_NONE, CREATE_DIR, CREATE_FILE };

static int openat2_in_root(int rootfd, const char *path, int flags)
{
        struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
        return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/*
 * Open `path` (absolute, as seen in the container) below rootfd as O_PATH,
 * creating missing directories, and the last component as `kind`.
 */
static int open_in_root(int rootfd, const char *path, enum create_kind kind, struct err **e)
{
        int fd = openat2_in_root(rootfd, path, O_PATH);
        if (fd >= 0 || errno != ENOENT || kind == CREATE_NONE)
                return fd >= 0 ? fd : err_sys(e, "open %s in rootfs", path);
        /* walk down, creating what is missing */
        _cleanup_free_ char *p = xstrdup(path);
        size_t len = strlen(p);
        for (size_t i = 1; i <= len; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                char saved = p[i];
                p[i] = '\0';
                int last = saved == '\0' || p[i + 1] == '\0';
                int cfd = openat2_in_root(rootfd, p, O_PATH);
                if (cfd < 0 && errno == ENOENT) {
                        char *slash = strrchr(p, '/');
                        *slash = '\0';
                        _cleanup_close_ int parent =
                            openat2_in_root(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY);
                        *slash = '/';
                        if (parent < 0)
                                return err_sys(e, "open parent of %s in rootfs", p);
                        if (last && kind == CREATE_FILE) {
                                int f = openat(parent, slash + 1,
                                               O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                                               0644);
                                if (f < 0 && errno != EEXIST)
                                        return err_sys(e, "create %s in rootfs", p);
                                if (f >= 0)
                                        close(f);
                        } else if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) {
                                return err_sys(e, "mkdir %s in rootfs", p);
                        }
                        cfd = openat2_in_root(rootfd, p, O_PATH);
                }
                if (cfd < 0)
                        return err_sys(e, "open %s in rootfs", p);
                p[i] = saved;
                if (saved == '\0')
                        return cfd;
                close(cfd);
        }
        return err_new(e, EINVAL, "bad path %s", path);
}

static char *fdpath(int fd)
{
        return xasprintf("/proc/self/fd/%d", fd);
}

unsigned long mount_locked_flags(const char *path)
{
        struct statvfs sv;
        unsigned long f = 0;
        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY)
                f |= MS_RDONLY;
        if (sv.f_flag & ST_NOATIME)
                f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

#define REMOUNT_FLAGS                                                                              \
        (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
         MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME | MS_MANDLOCK |                \
         MS_NOSYMFOLLOW)

/* Steps that apply to the new mount itself: re-resolve so we act on it,
 * not on the directory it covers. */
static int after_mount(struct rootfs_ctx *c, const struct spec_mount *m, int rootfd,
                       int remount_bind, struct err **e)
{
        if (!remount_bind && !m->propagation && !m->rec_attr_set && !m->rec_attr_clr)
                return 0;
        _cleanup_close_ int fd = open_in_root(rootfd, m->destination, CREATE_NONE, e);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *p = fdpath(fd);
        if (remount_bind) {
                unsigned long f = MS_BIND | MS_REMOUNT | (m->flags & REMOUNT_FLAGS);
                if (c->userns)
                        f |= mount_locked_flags(p) & ~MS_RDONLY;
                if (mount(NULL, p, NULL, f, NULL) < 0)
                        return err_sys(e, "remount %s", m->destination);
        }
        if (m->propagation && mount(NULL, p, NULL, m->propagation, NULL) < 0)
                return err_sys(e, "set propagation of %s", m->destination);
        if (m->rec_attr_set || m->rec_attr_clr) {
                struct mount_attr a = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
                if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a,
                            sizeof(a)) < 0)
                        return err_sys(e, "set recursive attributes of %s", m->destination);
        }
        return 0;
}

static int bind_mount(struct rootfs_ctx *c, const struct spec_mount *m, const char *source,
                      int rootfd, struct err **e)
{
        struct stat st;
        if (stat(source, &st) < 0)
                return err_sys(e, "mount %s: source %s", m->destination, source);
        _cleanup_close_ int fd =
            open_in_root(rootfd, m->destination, S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE, e);
        if (fd < 0)
                return err_wrap(e, "mount %s", m->destination);
        _cleanup_free_ char *p = fdpath(fd);
        if (mount(source, p, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
                return err_sys(e, "bind mount %s on %s", source, m->destination);
        return after_mount(c, m, rootfd, (m->flags & REMOUNT_FLAGS) != 0, e);
}

static int mount_one(struct rootfs_ctx *c, const struct spec_mount *m, int rootfd, struct err **e)
{
        if (m->bind)
                return bind_mount(c, m, m->source, rootfd, e);
        if (!strcmp(m->type, "sysfs") && !c->netns) {
                /* sysfs shows the network namespace it was mounted in: without a
                 * new one, give the host's read-only view as runc does */
                struct spec_mount b = *m;
                b.flags |= MS_BIND | MS_REC;
                return bind_mount(c, &b, "/sys", rootfd, e);
        }
        _cleanup_close_ int fd = open_in_root(rootfd, m->destination, CREATE_DIR, e);
        if (fd < 0)
                return err_wrap(e, "mount %s", m->destination);
        _cleanup_free_ char *p = fdpath(fd);
        if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
                if (c->cgroup == NULL)
                        return 0;
                /* cgroup_mount builds a tree below the destination, so it needs a
                 * path that enters the new mounts: the resolved one (no symlinks
                 * left in it; nothing runs in the rootfs yet to swap them in) */
                char real[PATH_MAX];
                ssize_t n = readlink(p, real, sizeof(real) - 1);
                if (n < 0)
                        return err_sys(e, "mount %s: resolve", m->destination);
                real[n] = '\0';
                if (cgroup_mount(c->cgroup, real, c->cgroupns, m->flags, e) < 0)
                        return err_wrap(e, "mount %s", m->destination);
                return 0;
        }
        if (mount(m->source ? m->source : m->type, p, m->type, m->flags & ~MS_REMOUNT, m->data) <
            0) {
                if (errno == EPERM && (!strcmp(m->type, "mqueue") || !strcmp(m->type, "sysfs"))) {
                        /* not owned by our user namespace: bind the host's */
                        struct spec_mount b = *m;
                        b.flags |= MS_BIND | MS_REC;
                        return bind_mount(
                            c, &b, !strcmp(m->type, "mqueue") ? "/dev/mqueue" : "/sys", rootfd, e);
                }
                return err_sys(e, "mount %s (%s) on %s", m->source ? m->source : "", m->type,
                               m->destination);
        }
        return after_mount(c, m, rootfd, 0, e);
}

/* ---- /dev ---- */

static const struct spec_device default_devices[] = {
    {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3},
    {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5},
    {.path = "/dev/full", .type = 'c', .major = 1, .minor = 7},
    {.path = "/dev/random", .type = 'c', .major = 1, .minor = 8},
    {.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9},
    {.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0},
};

static int make_device(struct rootfs_ctx *c, const struct spec_device *d, int rootfd,
                       struct err **e)
{
        _cleanup_free_ char *dir = xstrdup(d->path);
        char *base = strrchr(dir, '/');
        *base++ = '\0';
        _cleanup_close_ int dfd = open_in_root(rootfd, *dir ? dir : "/", CREATE_DIR, e);
        if (dfd < 0)
                return err_wrap(e, "device %s", d->path);
        int pfd = dfd; /* an O_PATH directory fd serves the *at calls */
        mode_t mode = d->has_mode ? d->file_mode : 0666;
        if (c->userns) {
                /* mknod is not allowed in a user namespace: bind the host's node */
                int f = openat(pfd, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0000);
                if (f < 0)
                        return err_sys(e, "device %s: create", d->path);
                close(f);
                _cleanup_close_ int tfd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_free_ char *p = fdpath(tfd);
                if (mount(d->path, p, NULL, MS_BIND, NULL) < 0)
                        return err_sys(e, "device %s: bind from host", d->path);
                return 0;
        }
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        unlinkat(pfd, base, 0);
        if (mknodat(pfd, base, type | (mode & 07777),
                    makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
                return err_sys(e, "device %s: mknod", d->path);
        if (fchmodat(pfd, base, mode & 07777, 0) < 0)
                return err_sys(e, "device %s: chmod", d->path);
        if ((d->has_uid || d->has_gid) &&
            fchownat(pfd, base, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return err_sys(e, "device %s: chown", d->path);
        return 0;
}

static int setup_dev(struct rootfs_ctx *c, int rootfd, int dev_mounted, struct err **e)
{
        if (dev_mounted)
                for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
                        if (make_device(c, &default_devices[i], rootfd, e) < 0)
                                return -1;
        for (size_t i = 0; i < c->spec->n_devices; i++)
                if (make_device(c, &c->spec->devices[i], rootfd, e) < 0)
                        return -1;
        if (!dev_mounted)
                return 0;
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
            {"pts/ptmx", "ptmx"},
        };
        _cleanup_close_ int dfd = openat2_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
        if (dfd < 0)
                return err_sys(e, "open /dev in rootfs");
        for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
                unlinkat(dfd, links[i][1], 0);
                if (symlinkat(links[i][0], dfd, links[i][1]) < 0)
                        return err_sys(e, "symlink /dev/%s", links[i][1]);
        }
        if (access("/proc/kcore", F_OK) == 0)
                symlinkat("/proc/kcore", dfd, "core");
        return 0;
}

int rootfs_prepare(struct rootfs_ctx *c, struct err **e)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return err_sys(e, "make / a slave mount");
        /* pivot_root needs the new root to be a mount point */
        if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_sys(e, "bind mount rootfs %s", c->rootfs);
        _cleanup_close_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return err_sys(e, "open rootfs %s", c->rootfs);
        int dev_mounted = 0;
        for (size_t i = 0; i < c->spec->n_mounts; i++) {
                const struct spec_mount *m = &c->spec->mounts[i];
                if (mount_one(c, m, rootfd, e) < 0)
                        return -1;
                if (!strcmp(m->destination, "/dev") || !strcmp(m->destination, "/dev/"))
                        dev_mounted = !m->bind;
        }
        return setup_dev(c, rootfd, dev_mounted, e);
}

static int pivot(struct rootfs_ctx *c, struct err **e)
{
        if (chdir(c->rootfs) < 0)
                return err_sys(e, "chdir %s", c->rootfs);
        if (c->no_pivot) {
                if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                        return err_sys(e, "move rootfs to /");
                if (chroot(".") < 0)
                        return err_sys(e, "chroot");
                return chdir("/") < 0 ? err_sys(e, "chdir /") : 0;
        }
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detach it without letting the unmount propagate to the host.  Only
         * the old root may become a slave: step into it through an fd, since
         * "." would name the new root for mount(2). */
        _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0)
                return err_sys(e, "open old root");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return err_sys(e, "pivot_root into %s", c->rootfs);
        if (fchdir(oldroot) < 0)
                return err_sys(e, "enter old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return err_sys(e, "make old root a slave");
        if (umount2(".", MNT_DETACH) < 0)
                return err_sys(e, "detach old root");
        return chdir("/") < 0 ? err_sys(e, "chdir /") : 0;
}

static int write_sysctls(const struct spec *s, struct err **e)
{
        for (size_t i = 0; i < s->n_sysctl; i++) {
                _cleanup_free_ char *p = xasprintf("/proc/sys/%s", s->sysctl[i].key);
                for (char *q = p + 10; *q; q++)
                        if (*q == '.')
                                *q = '/';
                if (write_file(p, s->sysctl[i].value, strlen(s->sysctl[i].value), 0, e) < 0)
                        return err_wrap(e, "linux.sysctl %s", s->sysctl[i].key);
        }
        return 0;
}

static int mask_path(const char *path, struct err **e)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : err_sys(e, "maskedPaths: %s", path);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
                        return err_sys(e, "maskedPaths: mask %s", path);
        } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
                return err_sys(e, "maskedPaths: mask %s", path);
        }
        return 0;
}

static int readonly_path(const char *path, int userns, struct err **e)
{
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : err_sys(e, "readonlyPaths: bind %s", path);
        unsigned long f = mount_locked_flags(path) | MS_BIND | MS_REMOUNT | MS_RDONLY;
        if (mount(NULL, path, NULL, f, NULL) < 0)
                return err_sys(e, "readonlyPaths: remount %s read-only", path);
        return 0;
}

int rootfs_finish(struct rootfs_ctx *c, struct err **e)
{
        const struct spec *s = c->spec;
        if (pivot(c, e) < 0)
                return -1;
        if (s->rootfs_propagation && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
                return err_sys(e, "linux.rootfsPropagation");
        if (write_sysctls(s, e) < 0)
                return -1;
        for (char **p = s->readonly_paths; p && *p; p++)
                if (readonly_path(*p, c->userns, e) < 0)
                        return -1;
        for (char **p = s->masked_paths; p && *p; p++)
                if (mask_path(*p, e) < 0)
                        return -1;
        if (s->root_readonly &&
            mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_locked_flags("/"),
                  NULL) < 0)
                return err_sys(e, "remount root read-only");
        return 0;
}

/*
 * engine/archive: the container's filesystem seen from outside: `docker
 * cp` (HEAD/GET/PUT /containers/{id}/archive), export, and changes
 * (`docker diff`).  Paths the client names are resolved inside the
 * mounted rootfs with openat2(RESOLVE_IN_ROOT), so symlinks and ".." in
 * the container resolve as they would inside it and never reach the
 * host; the tar writer walks with *at() calls and O_NOFOLLOW from there.
 * Extraction reuses the image store's hardened untar.  Changes walk the
 * overlay upper directory and look each path up in the image's layers.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../common/timefmt.h"
#include "../common/util.h"
#include "../store/untar.h"
#include "io.h"

static int openat2_fd(int dirfd, const char *path, int flags, unsigned long long resolve)
{
        struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                               .resolve = resolve};
        int fd;
        do
                fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd;
}

static int is_mounted(const char *merged)
{
        struct stat a, b;
        _cleanup_free_ char *parent = xasprintf("%s/..", merged);
        if (stat(merged, &a) < 0 || stat(parent, &b) < 0)
                return 0;
        return a.st_dev != b.st_dev;
}

/* The container's rootfs (a copy of the path), mounted: the lifecycle
 * mounts it at the first start and keeps it until removal; a container
 * never started gets it mounted here, as Docker does for `cp`.  c held. */
static char *rootfs_of(struct engine *eng, struct container *c, struct err **e)
{
        pthread_mutex_lock(&eng->lock);
        char *r = c->rootfs ? xstrdup(c->rootfs) : NULL;
        if (r == NULL || c->removed) {
                pthread_mutex_unlock(&eng->lock);
                free(r);
                err_new(e, ENOENT, "No such container: %s", c->id);
                return NULL;
        }
        if (is_mounted(r)) {
                pthread_mutex_unlock(&eng->lock);
                return r;
        }
        /* mark it busy so that a start does not mount it at the same time */
        while (c->busy) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts); /* eng->cond's clock */
                ts.tv_sec++;
                pthread_cond_timedwait(&eng->cond, &eng->lock, &ts);
        }
        c->busy = 1;
        _cleanup_free_ char *snap = xasprintf("%s/rootfs", c->dir);
        char image_id[72];
        memcpy(image_id, c->image_id, sizeof(image_id));
        pthread_mutex_unlock(&eng->lock);
        int rc = 0;
        if (!is_mounted(r)) {
                struct store *s = engine_store_lock(eng);
                rc = store_snapshot_mount(s, image_id, snap, e);
                engine_store_unlock(eng);
        }
        pthread_mutex_lock(&eng->lock);
        c->busy = 0;
        pthread_cond_broadcast(&eng->cond);
        pthread_mutex_unlock(&eng->lock);
        if (rc < 0) {
                free(r);
                err_wrap(e, "mount the container's root");
                return NULL;
        }
        return r;
}

/* A client path inside the container -> the directory holding it (fd)
 * and the name in it (never containing '/'); "/" and paths ending in
 * "." or ".." become (that directory, "."). */
struct target {
        int dirfd;
        char name[256];
        char *base; /* the name to give the top entry of an archive */
};

/* /etc/hostname, /etc/hosts and /etc/resolv.conf are barged's files in
 * the container's directory, bind-mounted over the image's: a copy out of
 * the container reads those, as the container sees them. */
static int bound_file(const char *cdir, const char *p, struct target *t)
{
        static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
        if (cdir == NULL || strncmp(p, "/etc/", 5) != 0)
                return 0;
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                if (strcmp(p + 5, files[i]) != 0)
                        continue;
                int dfd = open(cdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return 0;
                if (faccessat(dfd, files[i], F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                        close(dfd);
                        return 0;
                }
                t->dirfd = dfd;
                snprintf(t->name, sizeof(t->name), "%s", files[i]);
                t->base = xstrdup(files[i]);
                return 1;
        }
        return 0;
}

static int resolve(int rootfd, const char *cdir, const char *path, const char *cid,
                   struct target *t, struct err **e)
{
        _cleanup_free_ char *p = xstrdup(path && *path ? path : "/");
        size_t len = strlen(p);
        while (len > 1 && p[len - 1] == '/')
                p[--len] = '\0';
        char *slash = strrchr(p, '/');
        const char *base = slash ? slash + 1 : p;
        t->dirfd = -1;
        t->base = NULL;
        if (bound_file(cdir, p, t))
                return 0;
        if (strcmp(p, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
            *base == '\0') {
                t->dirfd = openat2_fd(rootfd, p, O_PATH | O_DIRECTORY,
                                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                snprintf(t->name, sizeof(t->name), ".");
                t->base = xstrdup(strcmp(p, "/") == 0 ? "/" : base);
        } else {
                if (strlen(base) >= sizeof(t->name))
                        return err_new(e, ENAMETOOLONG, "path %s: name too long", path);
                snprintf(t->name, sizeof(t->name), "%s", base);
                t->base = xstrdup(base);
                if (slash == p)
                        p[1] = '\0';
                else if (slash != NULL)
                        *slash = '\0';
                else
                        snprintf(p, len + 1, ".");
                t->dirfd = openat2_fd(rootfd, p, O_PATH | O_DIRECTORY,
                                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        }
        if (t->dirfd < 0) {
                int err = errno;
                free(t->base);
                t->base = NULL;
                if (err == ENOENT || err == ENOTDIR)
                        return err_new(e, ENOENT, "Could not find the file %s in container %s",
                                       path, cid);
                return err_new(e, err, "resolve %s in container %s: %s", path, cid, strerror(err));
        }
        return 0;
}

static void target_free(struct target *t)
{
        if (t->dirfd >= 0)
                close(t->dirfd);
        free(t->base);
}

/* Go's os.FileMode bits, as Docker's stat header carries them */
static uint32_t go_mode(mode_t m)
{
        uint32_t g = m & 0777;
        if (S_ISDIR(m))
                g |= 1u << 31;
        else if (S_ISLNK(m))
                g |= 1u << 27;
        else if (S_ISFIFO(m))
                g |= 1u << 25;
        else if (S_ISSOCK(m))
                g |= 1u << 24;
        else if (S_ISBLK(m))
                g |= 1u << 26;
        else if (S_ISCHR(m))
                g |= (1u << 26) | (1u << 21);
        if (m & S_ISUID)
                g |= 1u << 23;
        if (m & S_ISGID)
                g |= 1u << 22;
        if (m & S_ISVTX)
                g |= 1u << 20;
        return g;
}

struct held {
        struct engine *eng;
        struct container *c;
        char *rootfs;
        int rootfd;
};

static int hold(struct engine *eng, const char *ref, struct held *h, struct err **e)
{
        h->eng = eng;
        h->rootfs = NULL;
        h->rootfd = -1;
        h->c = container_get(eng, ref, e);
        if (h->c == NULL)
                return -1;
        h->rootfs = rootfs_of(eng, h->c, e);
        if (h->rootfs == NULL)
                goto fail;
        h->rootfd = open(h->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (h->rootfd < 0) {
                err_sys(e, "open %s", h->rootfs);
                goto fail;
        }
        return 0;
fail:
        free(h->rootfs);
        container_put(eng, h->c);
        return -1;
}

static void release(struct held *h)
{
        if (h->rootfd >= 0)
                close(h->rootfd);
        free(h->rootfs);
        container_put(h->eng, h->c);
}

/* Docker's linkTarget: where the link leads inside the container, as an
 * absolute path, following every link on the way; lexically for a
 * dangling one. */
static void link_target(int rootfd, const char *rootfs, const char *path, int dirfd_,
                        const char *name, char *out, size_t cap)
{
        out[0] = '\0';
        int fd = openat2_fd(rootfd, path, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0) {
                char proc[64], host[4096];
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
                ssize_t n = readlink(proc, host, sizeof(host) - 1);
                close(fd);
                size_t rl = strlen(rootfs);
                if (n > 0) {
                        host[n] = '\0';
                        if (strncmp(host, rootfs, rl) == 0 && (host[rl] == '/' || !host[rl])) {
                                snprintf(out, cap, "%s", host[rl] ? host + rl : "/");
                                return;
                        }
                }
        }
        char target[4096];
        ssize_t n = readlinkat(dirfd_, name, target, sizeof(target) - 1);
        if (n <= 0)
                return;
        target[n] = '\0';
        if (target[0] == '/') {
                snprintf(out, cap, "%s", target);
                return;
        }
        _cleanup_free_ char *dir = xstrdup(path);
        char *sl = strrchr(dir, '/');
        if (sl != NULL)
                *sl = '\0';
        _cleanup_free_ char *joined = xasprintf("%s/%s", *dir ? dir : "", target);
        snprintf(out, cap, "%s", joined);
}

int engine_container_path_stat(struct engine *eng, const char *ref, const char *path,
                               json_t **stat_out, struct err **e)
{
        struct held h;
        if (hold(eng, ref, &h, e) < 0)
                return -1;
        struct target t;
        int r = resolve(h.rootfd, h.c->dir, path, h.c->id, &t, e);
        if (r < 0) {
                release(&h);
                return -1;
        }
        struct stat st;
        char target_buf[4096] = "";
        if (fstatat(t.dirfd, t.name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        r = err_new(e, ENOENT, "Could not find the file %s in container %s", path,
                                    h.c->id);
                else
                        r = err_sys(e, "stat %s", path);
        } else {
                if (S_ISLNK(st.st_mode))
                        link_target(h.rootfd, h.rootfs, path, t.dirfd, t.name, target_buf,
                                    sizeof(target_buf));
                char mt[TIME_BUF];
                time_format_go((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, mt);
                *stat_out = json_pack(
                    "{s:s, s:I, s:I, s:s, s:s}", "name", t.base, "size", (json_int_t)st.st_size,
                    "mode", (json_int_t)go_mode(st.st_mode), "mtime", mt, "linkTarget", target_buf);
        }
        target_free(&t);
        release(&h);
        return r;
}

/* ---- tar writing ---- */

struct wctx {
        engine_write_fn w;
        void *ctx;
};

static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
        struct wctx *wc = ud;
        if (wc->w(wc->ctx, buf, n) < 0) {
                archive_set_error(a, EPIPE, "client went away");
                return -1;
        }
        return (la_ssize_t)n;
}

static int tar_err(struct archive *a, struct err **e, const char *what)
{
        const char *m = archive_error_string(a);
        return err_new(e, archive_errno(a) > 0 ? archive_errno(a) : EIO, "%s: %s", what,
                       m ? m : "tar error");
}

/* Write `name` (in dirfd) and, for a directory, what it holds, as
 * `arcname`.  Nothing here follows a symlink. */
static int write_tree(struct archive *a, int pfd, const char *name, const char *arcname,
                      struct err **e)
{
        struct stat st;
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0; /* vanished meanwhile */
                return err_sys(e, "stat %s", arcname);
        }
        struct archive_entry *ent = archive_entry_new();
        archive_entry_copy_stat(ent, &st);
        size_t al = strlen(arcname);
        int slash_end = al > 0 && arcname[al - 1] == '/';
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *dn = xasprintf("%s%s", arcname, slash_end ? "" : "/");
                archive_entry_copy_pathname(ent, dn);
        } else {
                archive_entry_copy_pathname(ent, arcname);
        }
        int fd = -1;
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(pfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        archive_entry_free(ent);
                        return err_sys(e, "readlink %s", arcname);
                }
                target[n] = '\0';
                archive_entry_copy_symlink(ent, target);
        } else if (S_ISREG(st.st_mode)) {
                fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        archive_entry_free(ent);
                        return err_sys(e, "open %s", arcname);
                }
        } else if (!S_ISDIR(st.st_mode)) {
                archive_entry_set_size(ent, 0);
        }
        int r = archive_write_header(a, ent);
        archive_entry_free(ent);
        if (r < ARCHIVE_WARN) {
                if (fd >= 0)
                        close(fd);
                return tar_err(a, e, arcname);
        }
        if (fd >= 0) {
                char buf[65536];
                ssize_t n;
                int64_t left = st.st_size;
                while (left > 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
                        if (n > left)
                                n = (ssize_t)left;
                        if (archive_write_data(a, buf, (size_t)n) < 0) {
                                close(fd);
                                return tar_err(a, e, arcname);
                        }
                        left -= n;
                }
                /* a file that shrank while we read: pad to the size announced */
                memset(buf, 0, sizeof(buf));
                while (left > 0) {
                        size_t k = left > (int64_t)sizeof(buf) ? sizeof(buf) : (size_t)left;
                        if (archive_write_data(a, buf, k) < 0) {
                                close(fd);
                                return tar_err(a, e, arcname);
                        }
                        left -= (int64_t)k;
                }
                close(fd);
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;

        int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(e, "open %s", arcname);
        DIR *d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return err_sys(e, "opendir %s", arcname);
        }
        struct dirent *de;
        int ret = 0;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *child =
                    xasprintf("%s%s%s", arcname, slash_end ? "" : "/", de->d_name);
                if (write_tree(a, dirfd(d), de->d_name, child, e) < 0) {
                        ret = -1;
                        break;
                }
        }
        closedir(d);
        return ret;
}

static struct archive *tar_writer(struct wctx *wc, struct err **e)
{
        struct archive *a = archive_write_new();
        if (a == NULL) {
                err_new(e, ENOMEM, "archive_write_new");
                return NULL;
        }
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open2(a, wc, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
                tar_err(a, e, "tar");
                archive_write_free(a);
                return NULL;
        }
        return a;
}

static int tar_finish(struct archive *a, int r, struct err **e)
{
        if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
                r = tar_err(a, e, "tar");
        archive_write_free(a);
        return r;
}

int engine_container_archive_get(struct engine *eng, const char *ref, const char *path,
                                 engine_write_fn w, void *ctx, struct err **e)
{
        struct held h;
        if (hold(eng, ref, &h, e) < 0)
                return -1;
        struct target t;
        if (resolve(h.rootfd, h.c->dir, path, h.c->id, &t, e) < 0) {
                release(&h);
                return -1;
        }
        int r = 0;
        struct stat st;
        if (fstatat(t.dirfd, t.name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = errno == ENOENT
                        ? err_new(e, ENOENT, "Could not find the file %s in container %s", path,
                                  h.c->id)
                        : err_sys(e, "stat %s", path);
        } else {
                struct wctx wc = {w, ctx};
                struct archive *a = tar_writer(&wc, e);
                if (a == NULL) {
                        r = -1;
                } else {
                        /* "/" is archived as "/", "/bin/", ... as Docker does */
                        r = tar_finish(a, write_tree(a, t.dirfd, t.name, t.base, e), e);
                }
        }
        target_free(&t);
        release(&h);
        return r;
}

int engine_container_export(struct engine *eng, const char *ref, engine_write_fn w, void *ctx,
                            struct err **e)
{
        struct held h;
        if (hold(eng, ref, &h, e) < 0)
                return -1;
        struct wctx wc = {w, ctx};
        struct archive *a = tar_writer(&wc, e);
        int r = -1;
        if (a != NULL) {
                r = 0;
                int dfd = openat(h.rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
                if (d == NULL) {
                        if (dfd >= 0)
                                close(dfd);
                        r = err_sys(e, "open %s", h.rootfs);
                } else {
                        struct dirent *de;
                        while (r == 0 && (de = readdir(d)) != NULL) {
                                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                        continue;
                                r = write_tree(a, dirfd(d), de->d_name, de->d_name, e);
                        }
                        closedir(d);
                }
                r = tar_finish(a, r, e);
        }
        release(&h);
        return r;
}

/* ---- extraction ---- */

struct rctx {
        engine_read_fn r;
        void *ctx;
        char buf[65536];
};

static la_ssize_t tar_read_cb(struct archive *a, void *ud, const void **buf)
{
        struct rctx *rc = ud;
        ssize_t n = rc->r(rc->ctx, rc->buf, sizeof(rc->buf));
        if (n < 0) {
                archive_set_error(a, EIO, "reading the request body failed");
                return -1;
        }
        *buf = rc->buf;
        return n;
}

int engine_container_archive_put(struct engine *eng, const char *ref, const char *path,
                                 int no_overwrite_dir_non_dir, engine_read_fn r, void *ctx,
                                 struct err **e)
{
        (void)no_overwrite_dir_non_dir;
        struct held h;
        if (hold(eng, ref, &h, e) < 0)
                return -1;
        int ret = -1;
        int dfd = openat2_fd(h.rootfd, path && *path ? path : "/", O_PATH | O_DIRECTORY,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (dfd < 0) {
                if (errno == ENOENT)
                        err_new(e, ENOENT, "Could not find the file %s in container %s", path,
                                h.c->id);
                else if (errno == ENOTDIR)
                        err_new(e, EINVAL, "extraction point is not a directory");
                else
                        err_sys(e, "resolve %s", path);
                release(&h);
                return -1;
        }
        struct rctx *rc = xmalloc(sizeof(*rc));
        rc->r = r;
        rc->ctx = ctx;
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        /* docker cp sends plain tar; compressed ones as docker accepts them */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_zstd(a);
        if (archive_read_open(a, rc, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
                tar_err(a, e, "tar");
        } else if (untar_archive(a, dfd, NULL, e) == 0) {
                ret = 0;
        } else {
                /* untar's errors name the entry: say the archive was refused */
                if ((*e)->code == 0 || (*e)->code == EXDEV || (*e)->code == ELOOP)
                        (*e)->code = EINVAL;
        }
        archive_read_free(a);
        free(rc);
        close(dfd);
        release(&h);
        return ret;
}

/* ---- changes ---- */

struct changes {
        int *layers; /* O_PATH fds of the image's layer dirs, top first */
        size_t n_layers;
        json_t *out;
};

static int in_lower(struct changes *ch, const char *rel)
{
        for (size_t i = 0; i < ch->n_layers; i++) {
                int fd = openat2_fd(ch->layers[i], rel, O_PATH | O_NOFOLLOW,
                                    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                if (fd >= 0) {
                        struct stat st;
                        int wh = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
                        close(fd);
                        return !wh;
                }
        }
        return 0;
}

/* What barged or the runtime put into every container (Docker keeps them
 * in an init layer, so they are never reported). */
static int init_path(const char *p)
{
        static const char *const paths[] = {"/dev",        "/proc",         "/sys",
                                            "/etc/hosts",  "/etc/hostname", "/etc/resolv.conf",
                                            "/.dockerenv", "/etc/mtab",     "/dev/pts",
                                            "/dev/shm",    "/dev/console"};
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
                if (strcmp(p, paths[i]) == 0)
                        return 1;
        return 0;
}

static void add_change(struct changes *ch, const char *path, int kind)
{
        json_array_append_new(ch->out, json_pack("{s:s, s:i}", "Path", path, "Kind", kind));
}

/* Returns how many changes the subtree reported. */
static int walk_upper(struct changes *ch, int dfd, const char *rel)
{
        DIR *d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return 0;
        }
        int count = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", rel, de->d_name);
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
                        add_change(ch, p, 2);
                        count++;
                        continue;
                }
                int lower = in_lower(ch, p + 1);
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        char opq[4];
                        int opaque = sub >= 0 &&
                                     fgetxattr(sub, "trusted.overlay.opaque", opq, sizeof(opq)) > 0;
                        int n = sub >= 0 ? walk_upper(ch, sub, p) : 0;
                        /* a lower directory is copied up only because
                         * something below it changed: it is reported when
                         * that change is (init paths alone do not count) */
                        if ((!lower && !init_path(p)) || n > 0 || (lower && opaque)) {
                                add_change(ch, p, lower ? 0 : 1);
                                count += n + 1;
                        }
                        continue;
                }
                if (init_path(p))
                        continue;
                add_change(ch, p, lower ? 0 : 1);
                count++;
        }
        closedir(d);
        return count;
}

static int cmp_path(const void *a, const void *b)
{
        json_t *const *x = a, *const *y = b;
        return strcmp(json_string_value(json_object_get(*x, "Path")),
                      json_string_value(json_object_get(*y, "Path")));
}

int engine_container_changes(struct engine *eng, const char *ref, json_t **out, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        _cleanup_free_ char *upper = xasprintf("%s/rootfs/upper", c->dir);
        char image_id[72];
        memcpy(image_id, c->image_id, sizeof(image_id));
        pthread_mutex_unlock(&eng->lock);
        container_put(eng, c);

        struct changes ch = {NULL, 0, json_array()};
        struct store *s = engine_store_lock(eng);
        struct store_image *img = NULL;
        _cleanup_err_ struct err *ierr = NULL;
        if (store_image_get(s, image_id, &img, &ierr) == 0) {
                ch.layers = xcalloc(img->n_layers + 1, sizeof(int));
                for (size_t i = img->n_layers; i-- > 0;) {
                        _cleanup_free_ char *dir = store_layer_dir(s, img->chain_ids[i]);
                        int fd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
                        if (fd >= 0)
                                ch.layers[ch.n_layers++] = fd;
                }
                store_image_free(img);
        }
        engine_store_unlock(eng);

        int dfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                walk_upper(&ch, dfd, "");
        for (size_t i = 0; i < ch.n_layers; i++)
                close(ch.layers[i]);
        free(ch.layers);

        /* sorted by path as docker diff prints them */
        size_t n = json_array_size(ch.out);
        json_t **v = xcalloc(n + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(ch.out, i));
        qsort(v, n, sizeof(*v), cmp_path);
        json_t *sorted = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(sorted, v[i]);
        free(v);
        json_decref(ch.out);
        *out = sorted;
        return 0;
}

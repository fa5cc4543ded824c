/*
 * untar: one layer tar -> one directory, never writing outside it.
 *
 * The rule that makes it safe: no path from the archive is ever handed to
 * the kernel whole.  A name is cleaned first ("/", "./", "//" dropped; any
 * ".." refused), its parent directory is opened with openat2(RESOLVE_BENEATH
 * | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from the root fd, and the
 * last component is created with an *at() call on that parent fd that does
 * not follow a symlink there (O_CREAT|O_EXCL, mkdirat, symlinkat, mknodat,
 * linkat without AT_SYMLINK_FOLLOW).  So a symlink planted by an earlier
 * entry can be replaced but never written through, whatever it points at.
 *
 * What else it decides (docs/untar.md has the full list):
 *  - an existing entry at the name is replaced; an existing directory is
 *    kept (and gets the new metadata) only when the new entry is a
 *    directory too.  A non-empty directory replaced by a non-directory is
 *    removed with its contents, as docker's pkg/archive does (RemoveAll).
 *  - directories are made 0700 and get their mode, owner and times after
 *    the whole archive is read, so a read-only directory can still receive
 *    its children and their creation does not move its mtime.
 *  - ".wh.NAME" becomes an overlay whiteout (char device 0:0) unless NAME
 *    was already extracted from this same layer: the OCI image spec says a
 *    whiteout hides only lower layers, and the overlay upper-most entry
 *    already does.  ".wh..wh..opq" sets trusted.overlay.opaque=y on its
 *    directory; other ".wh..wh.*" names are AUFS bookkeeping and skipped.
 *  - entries naming the root itself ("./") are ignored, as docker and
 *    containerd do.
 *
 * Speed: file data is read with archive_read_data_block (no copy out of
 * libarchive for big blocks, holes of sparse files skipped) and gathered
 * into a 1 MiB buffer so small blocks still become large writes; the last
 * parent directory fd is kept, so a run of entries in one directory costs
 * one openat2.
 */
#include "untar.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/util.h"

#define COPY_BUF (1 << 20)
/* blocks this large are written from libarchive's buffer as they are;
 * smaller ones are gathered first */
#define DIRECT_WRITE (64 << 10)
#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* A directory whose final metadata waits for the end of the archive. */
struct dir_meta {
        char *path; /* cleaned, relative to the root */
        size_t depth;
        size_t seq; /* entry order: the last entry for a path wins */
        uid_t uid;
        gid_t gid;
        mode_t mode;
        struct timespec times[2];
};

struct untar {
        struct archive *a;
        int rootfd;
        struct untar_stats *st;
        char *raw; /* the entry's name as the archive spells it */
        char *buf; /* COPY_BUF bytes */
        /* one-entry cache of the last parent directory opened */
        char *cache_path;
        int cache_fd;
        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs;
        size_t seq;
};

/* ---- errors ------------------------------------------------------------ */

/* The entry name for a message: quoted, control bytes escaped, shortened. */
static char *shown_name(const char *raw)
{
        size_t n = strlen(raw), max = 200;
        char *out = xmalloc(max * 4 + 8), *p = out;
        for (size_t i = 0; i < n && i < max; i++) {
                unsigned char c = (unsigned char)raw[i];
                if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
                        p += sprintf(p, "\\x%02x", c);
                else
                        *p++ = (char)c;
        }
        if (n > max)
                p += sprintf(p, "...");
        *p = '\0';
        return out;
}

/* "layer entry \"NAME\": reason[: strerror(code)]"; returns -1. */
__attribute__((format(printf, 4, 5))) static int entry_err(struct untar *u, struct err **e,
                                                           int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *why = NULL;
        if (vasprintf(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        _cleanup_free_ char *name = shown_name(u->raw ? u->raw : "");
        err_new(e, code, "layer entry \"%s\": %s", name, why ? why : "out of memory");
        free(why);
        return -1;
}

/* An errno from resolving or creating the entry's path, said in words. */
static int path_err(struct untar *u, struct err **e, int code, const char *what, const char *where)
{
        switch (code) {
        case ELOOP:
        case EXDEV:
                return entry_err(u, e, code, "%s escapes through the symlink \"%s\"", what, where);
        case ENOTDIR:
                return entry_err(u, e, code, "%s: \"%s\" is not a directory", what, where);
        default:
                return entry_err(u, e, code, "%s \"%s\"", what, where);
        }
}

/* ---- names ------------------------------------------------------------- */

/*
 * Clean an archive name into a path relative to the root: empty and "."
 * components dropped (which also strips leading "/" and "./" and trailing
 * "/"), joined by single slashes.  "" means the root.  Returns -1 if a ".."
 * component is left: such a name is refused rather than resolved, since
 * what ".." means depends on symlinks this function cannot see.
 */
static int clean_name(const char *in, char **out)
{
        size_t n = strlen(in);
        char *o = xmalloc(n + 1), *w = o;
        const char *p = in;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t len = (size_t)(p - s);
                if (len == 0 || (len == 1 && s[0] == '.'))
                        continue;
                if (len == 2 && s[0] == '.' && s[1] == '.') {
                        free(o);
                        return -1;
                }
                if (w != o)
                        *w++ = '/';
                memcpy(w, s, len);
                w += len;
        }
        *w = '\0';
        *out = o;
        return 0;
}

static size_t path_depth(const char *p)
{
        size_t d = *p ? 1 : 0;
        for (; *p; p++)
                d += *p == '/';
        return d;
}

/* ---- resolving parents --------------------------------------------------- */

static int openat2_beneath(int dirfd, const char *path, int flags)
{
        struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static void cache_drop(struct untar *u)
{
        free(u->cache_path);
        u->cache_path = NULL;
        if (u->cache_fd >= 0)
                close(u->cache_fd);
        u->cache_fd = -1;
}

/*
 * Open `parent` one component at a time from the root, creating missing
 * directories (0755, as docker does), so a failure names the component
 * that is a symlink or not a directory.  Returns an O_PATH fd.
 */
static int walk_parent(struct untar *u, const char *parent, struct err **e)
{
        _cleanup_free_ char *p = xstrdup(parent);
        _cleanup_close_ int cur = -1;
        char *comp = p;
        for (;;) {
                char *slash = strchr(comp, '/');
                if (slash)
                        *slash = '\0';
                int at = cur >= 0 ? cur : u->rootfd;
                int fd = openat2_beneath(at, comp, O_PATH | O_DIRECTORY);
                if (fd < 0 && errno == ENOENT) {
                        if (mkdirat(at, comp, 0755) == 0) {
                                /* the mode must not depend on the daemon's umask */
                                if (fchmodat(at, comp, 0755, 0) < 0)
                                        return path_err(u, e, errno, "chmod parent", p);
                        } else if (errno != EEXIST) {
                                return path_err(u, e, errno, "create parent", p);
                        }
                        fd = openat2_beneath(at, comp, O_PATH | O_DIRECTORY);
                }
                if (fd < 0)
                        return path_err(u, e, errno, "path", p);
                if (cur >= 0)
                        close(cur);
                cur = fd;
                if (!slash)
                        return TAKE_FD(cur);
                *slash = '/';
                comp = slash + 1;
        }
}

/* The directory that will hold `path`'s last component; *base points into
 * path.  The fd is borrowed (the root fd or the cache's). */
static int open_parent(struct untar *u, char *path, const char **base, struct err **e)
{
        char *slash = strrchr(path, '/');
        if (!slash) {
                *base = path;
                return u->rootfd;
        }
        *slash = '\0';
        *base = slash + 1;
        if (u->cache_path && strcmp(u->cache_path, path) == 0) {
                *slash = '/';
                return u->cache_fd;
        }
        int fd = openat2_beneath(u->rootfd, path, O_PATH | O_DIRECTORY);
        if (fd < 0)
                fd = walk_parent(u, path, e);
        if (fd >= 0) {
                cache_drop(u);
                u->cache_path = xstrdup(path);
                u->cache_fd = fd;
        }
        *slash = '/';
        return fd;
}

/* ---- replacing what is there ---------------------------------------------- */

/*
 * `base` in `pfd` exists and a new entry wants the name.  Returns 1 when
 * the existing directory is kept (the new entry is a directory too), 0 when
 * the name is free again, -1 on error.
 */
static int make_room(struct untar *u, int pfd, const char *base, int want_dir, struct err **e)
{
        struct stat st;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : entry_err(u, e, errno, "stat existing entry");
        if (S_ISDIR(st.st_mode) && want_dir)
                return 1;
        /* A cached parent other than pfd may lie inside what goes away
         * (pfd itself, the parent of what is removed, stays valid). */
        if (u->cache_fd != pfd)
                cache_drop(u);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
                        return entry_err(u, e, errno, "remove existing entry");
                return 0;
        }
        if (unlinkat(pfd, base, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;
        if (errno != ENOTEMPTY && errno != EEXIST)
                return entry_err(u, e, errno, "remove existing directory");
        /* docker replaces a non-empty directory too (os.RemoveAll); the
         * /proc path pins the parent we resolved and rm_rf never follows
         * symlinks below it */
        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, base);
        _cleanup_err_ struct err *re = NULL;
        if (rm_rf(p, &re) < 0)
                return entry_err(u, e, re->code, "remove existing directory");
        return 0;
}

/* ---- metadata ------------------------------------------------------------ */

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(ent);
        ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
        if (archive_entry_atime_is_set(ent)) {
                ts[0].tv_sec = archive_entry_atime(ent);
                ts[0].tv_nsec = archive_entry_atime_nsec(ent);
        } else {
                ts[0] = ts[1];
        }
}

static int entry_owner(struct untar *u, struct archive_entry *ent, uid_t *uid, gid_t *gid,
                       struct err **e)
{
        la_int64_t U = archive_entry_uid(ent), G = archive_entry_gid(ent);
        if (U < 0 || U >= (la_int64_t)UINT32_MAX || G < 0 || G >= (la_int64_t)UINT32_MAX)
                return entry_err(u, e, 0, "owner %lld:%lld out of range", (long long)U,
                                 (long long)G);
        *uid = (uid_t)U;
        *gid = (gid_t)G;
        return 0;
}

/* Only these namespaces are restored.  trusted.overlay.* (and
 * user.overlay.* for userxattr mounts) would steer the overlay mount:
 * redirects, opaque, metacopy; only the whiteout conversion may set them. */
static int xattr_wanted(const char *name)
{
        if (str_has_prefix(name, "trusted.overlay.") || str_has_prefix(name, "user.overlay."))
                return 0;
        return str_has_prefix(name, "user.") || str_has_prefix(name, "security.") ||
               str_has_prefix(name, "trusted.");
}

/* Set the entry's xattrs on `fd`, or when fd < 0 on `base` in `pfd` without
 * following it (no lsetxattrat before Linux 6.13: the parent is named by
 * its /proc/self/fd link, which pins the directory already resolved). */
static int apply_xattrs(struct untar *u, struct archive_entry *ent, int fd, int pfd,
                        const char *base, struct err **e)
{
        if (archive_entry_xattr_reset(ent) == 0)
                return 0;
        _cleanup_free_ char *p = fd < 0 ? xasprintf("/proc/self/fd/%d/%s", pfd, base) : NULL;
        const char *name;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK) {
                if (!xattr_wanted(name))
                        continue;
                int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                                : lsetxattr(p, name, value, size, 0);
                /* the filesystem has no such xattrs: docker skips them too */
                if (r < 0 && errno != ENOTSUP)
                        return entry_err(u, e, errno, "set xattr %s", name);
        }
        return 0;
}

/* Owner, mode, xattrs, times of a just-created non-directory, in the order
 * that keeps setuid bits and file capabilities (chown clears both). */
static int apply_meta_at(struct untar *u, struct archive_entry *ent, int pfd, const char *base,
                         int is_symlink, struct err **e)
{
        uid_t uid;
        gid_t gid;
        struct timespec ts[2];
        if (entry_owner(u, ent, &uid, &gid, e) < 0)
                return -1;
        if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_err(u, e, errno, "chown");
        if (!is_symlink && fchmodat(pfd, base, archive_entry_perm(ent), AT_SYMLINK_NOFOLLOW) < 0)
                return entry_err(u, e, errno, "chmod");
        if (apply_xattrs(u, ent, -1, pfd, base, e) < 0)
                return -1;
        entry_times(ent, ts);
        if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_err(u, e, errno, "set times");
        return 0;
}

/* ---- entry kinds ----------------------------------------------------------- */

static int pwrite_all(int fd, const char *p, size_t n, int64_t off)
{
        while (n > 0) {
                ssize_t w = pwrite(fd, p, n, (off_t)off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w == 0)
                        errno = EIO;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t)w;
                off += w;
        }
        return 0;
}

/* Copy the entry's data blocks into fd: small contiguous blocks are
 * gathered in u->buf (a stream fed in small pieces still makes large
 * writes), large ones are written in place; holes (sparse files) are left
 * unwritten and the size is set last. */
static int copy_data(struct untar *u, struct archive_entry *ent, int fd, struct err **e)
{
        int64_t bstart = 0, end = 0;
        size_t blen = 0;
        for (;;) {
                const void *p;
                size_t n;
                la_int64_t off;
                int r = archive_read_data_block(u->a, &p, &n, &off);
                if (r == ARCHIVE_EOF)
                        break;
                /* libarchive's message says it all; its errno is often a
                 * stand-in (EILSEQ for a bad format) that would mislead */
                if (r < ARCHIVE_WARN)
                        return entry_err(u, e, 0, "read data: %s", archive_error_string(u->a));
                if (n == 0)
                        continue;
                if (blen > 0 && (off != bstart + (int64_t)blen || blen + n > COPY_BUF)) {
                        if (pwrite_all(fd, u->buf, blen, bstart) < 0)
                                return entry_err(u, e, errno, "write");
                        blen = 0;
                }
                if (blen == 0 && n >= DIRECT_WRITE) {
                        if (pwrite_all(fd, p, n, off) < 0)
                                return entry_err(u, e, errno, "write");
                } else {
                        if (blen == 0)
                                bstart = off;
                        memcpy(u->buf + blen, p, n);
                        blen += n;
                }
                u->st->bytes += (int64_t)n;
                if (off + (int64_t)n > end)
                        end = off + (int64_t)n;
        }
        if (blen > 0 && pwrite_all(fd, u->buf, blen, bstart) < 0)
                return entry_err(u, e, errno, "write");
        int64_t size = archive_entry_size(ent);
        if (size > end && ftruncate(fd, (off_t)size) < 0)
                return entry_err(u, e, errno, "set size");
        return 0;
}

static int do_file(struct untar *u, struct archive_entry *ent, int pfd, const char *base,
                   struct err **e)
{
        _cleanup_close_ int fd = -1;
        for (int tries = 0; fd < 0; tries++) {
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || tries > 0)
                        return entry_err(u, e, errno, "create file");
                if (make_room(u, pfd, base, 0, e) < 0)
                        return -1;
        }
        if (copy_data(u, ent, fd, e) < 0)
                return -1;
        uid_t uid;
        gid_t gid;
        struct timespec ts[2];
        if (entry_owner(u, ent, &uid, &gid, e) < 0)
                return -1;
        if (fchown(fd, uid, gid) < 0)
                return entry_err(u, e, errno, "chown");
        if (fchmod(fd, archive_entry_perm(ent)) < 0)
                return entry_err(u, e, errno, "chmod");
        if (apply_xattrs(u, ent, fd, -1, NULL, e) < 0)
                return -1;
        entry_times(ent, ts);
        if (futimens(fd, ts) < 0)
                return entry_err(u, e, errno, "set times");
        if (close(TAKE_FD(fd)) < 0)
                return entry_err(u, e, errno, "close");
        return 0;
}

static int do_dir(struct untar *u, struct archive_entry *ent, const char *path, int pfd,
                  const char *base, struct err **e)
{
        for (int tries = 0;; tries++) {
                if (mkdirat(pfd, base, 0700) == 0)
                        break;
                if (errno != EEXIST || tries > 0)
                        return entry_err(u, e, errno, "create directory");
                int r = make_room(u, pfd, base, 1, e);
                if (r < 0)
                        return -1;
                if (r == 1)
                        break; /* existing directory: merge, new metadata */
        }
        if (archive_entry_xattr_count(ent) > 0) {
                _cleanup_close_ int fd =
                    openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return entry_err(u, e, errno, "open directory");
                if (apply_xattrs(u, ent, fd, -1, NULL, e) < 0)
                        return -1;
        }
        if (u->n_dirs == u->cap_dirs) {
                u->cap_dirs = u->cap_dirs ? u->cap_dirs * 2 : 64;
                struct dir_meta *n = realloc(u->dirs, u->cap_dirs * sizeof(*n));
                if (n == NULL)
                        return entry_err(u, e, ENOMEM, "remember directory");
                u->dirs = n;
        }
        struct dir_meta *d = &u->dirs[u->n_dirs];
        if (entry_owner(u, ent, &d->uid, &d->gid, e) < 0)
                return -1;
        d->path = xstrdup(path);
        d->depth = path_depth(path);
        d->seq = u->seq;
        d->mode = archive_entry_perm(ent);
        entry_times(ent, d->times);
        u->n_dirs++;
        return 0;
}

static int do_symlink(struct untar *u, struct archive_entry *ent, int pfd, const char *base,
                      struct err **e)
{
        const char *target = archive_entry_symlink(ent);
        if (target == NULL || *target == '\0')
                return entry_err(u, e, 0, "symlink without a target");
        for (int tries = 0;; tries++) {
                if (symlinkat(target, pfd, base) == 0)
                        break;
                if (errno != EEXIST || tries > 0)
                        return entry_err(u, e, errno, "create symlink");
                if (make_room(u, pfd, base, 0, e) < 0)
                        return -1;
        }
        /* sizes count a symlink as its target's length, as docker's do */
        u->st->bytes += (int64_t)strlen(target);
        return apply_meta_at(u, ent, pfd, base, 1, e);
}

static int do_node(struct untar *u, struct archive_entry *ent, int pfd, const char *base,
                   mode_t type, struct err **e)
{
        dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(ent);
        for (int tries = 0;; tries++) {
                if (mknodat(pfd, base, type | 0600, dev) == 0)
                        break;
                if (errno == EPERM)
                        return entry_err(u, e, errno, "create device node (needs root)");
                if (errno != EEXIST || tries > 0)
                        return entry_err(u, e, errno, "create node");
                if (make_room(u, pfd, base, 0, e) < 0)
                        return -1;
        }
        return apply_meta_at(u, ent, pfd, base, 0, e);
}

/*
 * A hard link: the target is resolved like any entry name, beneath the
 * root and through no symlink, so it can only be something this layer
 * extracted.  linkat gets the target's resolved parent fd and no
 * AT_SYMLINK_FOLLOW, so a target that is itself a symlink is linked as the
 * symlink.  The link shares its target's inode and metadata; the link
 * entry's own mode and times are not applied again.
 */
static int do_hardlink(struct untar *u, const char *linkname, int pfd, const char *base,
                       struct err **e)
{
        _cleanup_free_ char *target = NULL;
        /* messages show the target as the archive spells it */
        _cleanup_free_ char *shown = shown_name(linkname);
        if (clean_name(linkname, &target) < 0)
                return entry_err(u, e, 0, "hard link target \"%s\" leaves the layer root", shown);
        if (*target == '\0')
                return entry_err(u, e, 0, "hard link to the layer root");
        char *slash = strrchr(target, '/');
        const char *tbase = target;
        _cleanup_close_ int tpfd = -1;
        if (slash) {
                *slash = '\0';
                tbase = slash + 1;
                tpfd = openat2_beneath(u->rootfd, target, O_PATH | O_DIRECTORY);
                *slash = '/';
                if (tpfd < 0) {
                        if (errno == ENOENT)
                                return entry_err(u, e, errno,
                                                 "hard link target \"%s\" is not in this layer",
                                                 shown);
                        return entry_err(
                            u, e, errno, "hard link target \"%s\"%s", shown,
                            errno == ELOOP || errno == EXDEV ? " goes through a symlink" : "");
                }
        }
        int tdir = tpfd >= 0 ? tpfd : u->rootfd;
        struct stat tst, cur;
        if (fstatat(tdir, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_err(u, e, errno, "hard link target \"%s\"%s", shown,
                                 errno == ENOENT ? " is not in this layer" : "");
        if (S_ISDIR(tst.st_mode))
                return entry_err(u, e, 0, "hard link target \"%s\" is a directory", shown);
        if (fstatat(pfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == tst.st_dev &&
            cur.st_ino == tst.st_ino)
                return 0; /* already this very file (a link to itself) */
        for (int tries = 0;; tries++) {
                if (linkat(tdir, tbase, pfd, base, 0) == 0)
                        return 0;
                if (errno != EEXIST || tries > 0)
                        return entry_err(u, e, errno, "hard link to \"%s\"", shown);
                if (make_room(u, pfd, base, 0, e) < 0)
                        return -1;
        }
}

/* ".wh.NAME": an overlay whiteout (char 0:0) for NAME, which hides NAME in
 * the lower layers.  If this layer already has NAME it stays: a whiteout
 * applies to lower layers only (OCI image spec, "Whiteouts"). */
static int do_whiteout(struct untar *u, struct archive_entry *ent, int pfd, const char *name,
                       struct err **e)
{
        struct stat st;
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (errno != ENOENT)
                return entry_err(u, e, errno, "whiteout: stat \"%s\"", name);
        if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return entry_err(u, e, errno, "create whiteout for \"%s\"%s", name,
                                 errno == EPERM ? " (needs root)" : "");
        uid_t uid;
        gid_t gid;
        if (entry_owner(u, ent, &uid, &gid, e) < 0)
                return -1;
        if ((uid != 0 || gid != 0) && fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_err(u, e, errno, "chown whiteout");
        return 0;
}

/* ".wh..wh..opq" in a directory: the directory hides all of its lower
 * layers' contents. */
static int do_opaque(struct untar *u, int pfd, struct err **e)
{
        _cleanup_close_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return entry_err(u, e, errno, "open opaque directory");
        if (fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                return entry_err(u, e, errno, "set %s", OVERLAY_OPAQUE_XATTR);
        return 0;
}

/* ---- the loop ------------------------------------------------------------ */

/* Entries below an AUFS metadata directory (".wh..wh.plnk/...") are
 * bookkeeping of the aufs driver, not content. */
static int in_aufs_meta(const char *path)
{
        for (const char *p = path; *p;) {
                const char *slash = strchr(p, '/');
                if (!slash)
                        return 0;
                if (str_has_prefix(p, WH_META_PREFIX))
                        return 1;
                p = slash + 1;
        }
        return 0;
}

static int do_entry(struct untar *u, struct archive_entry *ent, struct err **e)
{
        if (u->raw == NULL)
                return err_new(e, 0, "layer entry with a name that cannot be read");
        if (strlen(u->raw) >= PATH_MAX)
                return entry_err(u, e, 0, "name longer than %d bytes", PATH_MAX - 1);
        _cleanup_free_ char *path = NULL;
        if (clean_name(u->raw, &path) < 0)
                return entry_err(u, e, 0, "name leaves the layer root (\"..\")");
        if (*path == '\0')
                return 0; /* the root itself: left as the caller made it */
        if (in_aufs_meta(path))
                return 0;
        const char *slash = strrchr(path, '/');
        const char *last = slash ? slash + 1 : path;
        int opaque = strcmp(last, WH_OPAQUE) == 0;
        if (!opaque && str_has_prefix(last, WH_META_PREFIX))
                return 0;
        int whiteout = !opaque && str_has_prefix(last, WH_PREFIX);
        if (whiteout) {
                const char *n = last + strlen(WH_PREFIX);
                if (*n == '\0' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
                        return entry_err(u, e, 0, "whiteout of \"%s\" is not allowed", n);
        }

        const char *base;
        int pfd = open_parent(u, path, &base, e);
        if (pfd < 0)
                return -1;

        int r;
        mode_t type = archive_entry_filetype(ent);
        const char *hardlink = archive_entry_hardlink(ent);
        if (opaque)
                r = do_opaque(u, pfd, e);
        else if (whiteout)
                r = do_whiteout(u, ent, pfd, base + strlen(WH_PREFIX), e);
        else if (hardlink != NULL)
                r = do_hardlink(u, hardlink, pfd, base, e);
        else if (type == AE_IFREG)
                r = do_file(u, ent, pfd, base, e);
        else if (type == AE_IFDIR)
                r = do_dir(u, ent, path, pfd, base, e);
        else if (type == AE_IFLNK)
                r = do_symlink(u, ent, pfd, base, e);
        else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
                r = do_node(u, ent, pfd, base, type, e);
        else
                r = entry_err(u, e, 0, "unsupported entry type 0%o", (unsigned)type);
        if (r < 0)
                return -1;
        u->st->entries++;
        return 0;
}

static int dir_meta_cmp(const void *x, const void *y)
{
        const struct dir_meta *a = x, *b = y;
        if (a->depth != b->depth)
                return a->depth > b->depth ? -1 : 1; /* deepest first */
        int c = strcmp(a->path, b->path);
        if (c != 0)
                return c;
        return a->seq > b->seq ? -1 : a->seq < b->seq; /* latest entry first */
}

/* Directories get their mode, owner and times last, deepest first, so no
 * later creation inside them changes their mtime and a mode without write
 * or search permission does not block their contents.  A directory that a
 * later entry replaced (or removed) is skipped. */
static int finish_dirs(struct untar *u, struct err **e)
{
        if (u->n_dirs > 1)
                qsort(u->dirs, u->n_dirs, sizeof(*u->dirs), dir_meta_cmp);
        for (size_t i = 0; i < u->n_dirs; i++) {
                struct dir_meta *d = &u->dirs[i];
                if (i > 0 && strcmp(d->path, u->dirs[i - 1].path) == 0)
                        continue;
                u->raw = d->path; /* borrowed: untar_archive no longer frees raw */
                _cleanup_close_ int fd =
                    openat2_beneath(u->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
                        continue;
                if (fd < 0)
                        return entry_err(u, e, errno, "open directory");
                if (fchown(fd, d->uid, d->gid) < 0)
                        return entry_err(u, e, errno, "chown");
                if (fchmod(fd, d->mode) < 0)
                        return entry_err(u, e, errno, "chmod");
                if (futimens(fd, d->times) < 0)
                        return entry_err(u, e, errno, "set times");
        }
        return 0;
}

int untar_archive(struct archive *a, int rootfd, struct untar_stats *st, struct err **e)
{
        struct untar_stats dummy;
        struct untar u = {.a = a, .rootfd = rootfd, .st = st ? st : &dummy, .cache_fd = -1};
        u.st->bytes = u.st->entries = 0;
        u.buf = malloc(COPY_BUF);
        if (u.buf == NULL)
                return err_new(e, ENOMEM, "untar: copy buffer");
        /* Names in PAX headers are UTF-8 and libarchive converts them to the
         * locale's charset; in the "C" locale that fails for every non-ASCII
         * name.  A UTF-8 locale for this thread only makes it a no-op. */
        locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        locale_t old = utf8 != (locale_t)0 ? uselocale(utf8) : (locale_t)0;

        int r = 0;
        for (;;) {
                struct archive_entry *ent;
                int h = archive_read_next_header(a, &ent);
                if (h == ARCHIVE_EOF)
                        break;
                /* ARCHIVE_RETRY (a damaged header) is a failure too: a layer
                 * is all or nothing */
                if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
                        _cleanup_free_ char *prev = u.raw ? shown_name(u.raw) : NULL;
                        r = err_new(e, 0, "layer tar%s%s%s: %s", prev ? " after entry \"" : "",
                                    prev ? prev : "", prev ? "\"" : "", archive_error_string(a));
                        break;
                }
                free(u.raw);
                const char *name = archive_entry_pathname(ent);
                u.raw = name ? xstrdup(name) : NULL;
                u.seq++;
                if ((r = do_entry(&u, ent, e)) < 0)
                        break;
        }
        free(u.raw);
        u.raw = NULL;
        if (r == 0)
                r = finish_dirs(&u, e);

        if (utf8 != (locale_t)0) {
                uselocale(old);
                freelocale(utf8);
        }
        cache_drop(&u);
        for (size_t i = 0; i < u.n_dirs; i++)
                free(u.dirs[i].path);
        free(u.dirs);
        free(u.buf);
        return r;
}

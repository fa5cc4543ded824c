/*
 * untar.c against the real kernel (needs root: owners, device nodes,
 * whiteouts, trusted.* xattrs).  Every archive is built in memory with
 * libarchive's writer and extracted into a fresh temp tree:
 *
 *   <base>/nest/root   the layer root handed to untar_archive
 *   <base>/canary/     an empty directory hostile symlinks point at
 *   <base>/outside     a file hostile hard links point at
 *
 * After every hostile archive the test checks the error names the entry
 * and that nothing but nest/root changed: canary still empty, outside
 * still one link with its old bytes, no stray names in <base> or nest/.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/store/untar.h"
#include "harness.h"

/* ---- fixture --------------------------------------------------------------- */

static char base[256], root[PATH_MAX], canary[PATH_MAX], outside[PATH_MAX];
static int rootfd = -1;
#define OUTSIDE_BYTES "precious\n"

static void teardown(void)
{
        if (rootfd >= 0)
                close(rootfd);
        rootfd = -1;
        if (base[0]) {
                struct err *e = NULL;
                rm_rf(base, &e);
                err_free(&e);
        }
        base[0] = '\0';
}

static int setup(void)
{
        teardown();
        snprintf(base, sizeof(base), "/var/tmp/barge-untar-%d-XXXXXX", (int)getpid());
        if (mkdtemp(base) == NULL)
                return -1;
        char nest[PATH_MAX];
        snprintf(nest, sizeof(nest), "%s/nest", base);
        snprintf(root, sizeof(root), "%s/nest/root", base);
        snprintf(canary, sizeof(canary), "%s/canary", base);
        snprintf(outside, sizeof(outside), "%s/outside", base);
        if (mkdir(nest, 0755) < 0 || mkdir(root, 0755) < 0 || mkdir(canary, 0755) < 0)
                return -1;
        if (write_file(outside, OUTSIDE_BYTES, strlen(OUTSIDE_BYTES), 0644, NULL) < 0)
                return -1;
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return rootfd < 0 ? -1 : 0;
}

/* Names in `dir`, sorted, joined by spaces ("" when empty). */
static void list_dir(const char *dir, char *out, size_t cap)
{
        struct dirent **names;
        out[0] = '\0';
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0) {
                snprintf(out, cap, "(cannot list: %s)", strerror(errno));
                return;
        }
        for (int i = 0; i < n; i++) {
                const char *d = names[i]->d_name;
                if (strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
                        size_t l = strlen(out);
                        snprintf(out + l, cap - l, "%s%s", l ? " " : "", d);
                }
                free(names[i]);
        }
        free(names);
}

/* Nothing outside the layer root changed. */
static int outside_untouched(void)
{
        char got[4096], nest[PATH_MAX];
        list_dir(base, got, sizeof(got));
        if (strcmp(got, "canary nest outside") != 0) {
                printf("# base has: %s\n", got);
                return 0;
        }
        snprintf(nest, sizeof(nest), "%s/nest", base);
        list_dir(nest, got, sizeof(got));
        if (strcmp(got, "root") != 0) {
                printf("# nest has: %s\n", got);
                return 0;
        }
        list_dir(canary, got, sizeof(got));
        if (got[0] != '\0') {
                printf("# canary has: %s\n", got);
                return 0;
        }
        struct stat st;
        char *data = NULL;
        size_t len = 0;
        if (lstat(outside, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
            read_file(outside, 4096, &data, &len, NULL) < 0) {
                printf("# outside changed\n");
                free(data);
                return 0;
        }
        int same = len == strlen(OUTSIDE_BYTES) && memcmp(data, OUTSIDE_BYTES, len) == 0;
        free(data);
        if (!same)
                printf("# outside bytes changed\n");
        return same;
}

static char *in_root(const char *rel)
{
        static char p[2][PATH_MAX * 2];
        static int which;
        which ^= 1;
        snprintf(p[which], sizeof(p[which]), "%s/%s", root, rel);
        return p[which];
}

static int lexists(const char *rel)
{
        struct stat st;
        return lstat(in_root(rel), &st) == 0;
}

static int has_bytes(const char *rel, const char *want)
{
        char *data = NULL;
        size_t len = 0;
        if (read_file(in_root(rel), 1 << 20, &data, &len, NULL) < 0)
                return 0;
        int ok = len == strlen(want) && memcmp(data, want, len) == 0;
        free(data);
        return ok;
}

/* ---- building archives ------------------------------------------------------ */

struct ent {
        const char *name;
        mode_t type; /* AE_IFREG when 0 */
        mode_t perm; /* 0644 / 0755 when 0 (and not perm0) */
        int perm0;
        int64_t uid, gid;
        time_t mtime, atime; /* atime 0: not recorded */
        long mtime_ns;
        const char *data; /* regular files: contents (NUL-terminated unless len) */
        size_t len;
        const char *symlink, *hardlink;
        unsigned maj, min;
        const char *xname, *xval; /* one xattr */
};

struct tar {
        struct archive *w;
        char *mem;
        size_t cap, used;
};

static struct tar *tar_new(size_t cap, int gzip)
{
        struct tar *t = xcalloc(1, sizeof(*t));
        t->cap = cap;
        t->mem = xmalloc(cap);
        t->w = archive_write_new();
        archive_write_set_format_pax(t->w);
        if (gzip)
                archive_write_add_filter_gzip(t->w);
        archive_write_set_bytes_in_last_block(t->w, 1);
        archive_write_open_memory(t->w, t->mem, t->cap, &t->used);
        return t;
}

static void add(struct tar *t, struct ent x)
{
        struct archive_entry *a = archive_entry_new();
        mode_t type = x.hardlink ? AE_IFREG : x.type ? x.type : AE_IFREG;
        archive_entry_copy_pathname(a, x.name);
        archive_entry_set_filetype(a, type);
        archive_entry_set_perm(a, x.perm || x.perm0 ? x.perm : type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_uid(a, x.uid);
        archive_entry_set_gid(a, x.gid);
        archive_entry_set_mtime(a, x.mtime ? x.mtime : 1600000000, x.mtime_ns);
        if (x.atime)
                archive_entry_set_atime(a, x.atime, 0);
        if (x.symlink)
                archive_entry_copy_symlink(a, x.symlink);
        if (x.hardlink)
                archive_entry_copy_hardlink(a, x.hardlink);
        if (type == AE_IFCHR || type == AE_IFBLK)
                archive_entry_set_rdev(a, makedev(x.maj, x.min));
        if (x.xname)
                archive_entry_xattr_add_entry(a, x.xname, x.xval, strlen(x.xval));
        size_t len = x.data ? (x.len ? x.len : strlen(x.data)) : 0;
        archive_entry_set_size(a, type == AE_IFREG && !x.hardlink ? (la_int64_t)len : 0);
        if (archive_write_header(t->w, a) < ARCHIVE_WARN)
                printf("# writer refused %s: %s\n", x.name, archive_error_string(t->w));
        if (len > 0)
                archive_write_data(t->w, x.data, len);
        archive_entry_free(a);
}

static void tar_close(struct tar *t)
{
        archive_write_close(t->w);
        archive_write_free(t->w);
        t->w = NULL;
}

static void tar_free(struct tar *t)
{
        if (t->w)
                archive_write_free(t->w);
        free(t->mem);
        free(t);
}

/* Extract t (closing it first) into root; returns untar_archive's result. */
static int extract(struct tar *t, struct untar_stats *st, struct err **e)
{
        if (t->w)
                tar_close(t);
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        archive_read_support_filter_all(a);
        if (archive_read_open_memory(a, t->mem, t->used) != ARCHIVE_OK) {
                printf("# reader: %s\n", archive_error_string(a));
                archive_read_free(a);
                return -1;
        }
        struct untar_stats dummy;
        int r = untar_archive(a, rootfd, st ? st : &dummy, e);
        archive_read_free(a);
        if (r < 0 && *e)
                printf("# untar: %s\n", (*e)->msg);
        return r;
}

/* One hostile archive: extraction must fail with a message naming `name`,
 * and nothing outside the root may change. */
static int refused(struct tar *t, const char *name)
{
        struct err *e = NULL;
        int r = extract(t, NULL, &e);
        tar_free(t);
        /* long names are shown shortened: NAME... */
        char quoted[PATH_MAX + 32];
        snprintf(quoted, sizeof(quoted), "layer entry \"%s", name);
        const char *at = e ? strstr(e->msg, quoted) : NULL;
        const char *after = at ? at + strlen(quoted) : NULL;
        int ok = r < 0 && after && (*after == '"' || str_has_prefix(after, "...\"")) &&
                 !strchr(e->msg, '\n');
        if (r >= 0)
                printf("# extraction succeeded, should have failed at %s\n", name);
        else if (!ok)
                printf("# error does not name %s\n", quoted);
        err_free(&e);
        return ok && outside_untouched();
}

static int extract_ok(struct tar *t, struct untar_stats *st)
{
        struct err *e = NULL;
        int r = extract(t, st, &e);
        tar_free(t);
        err_free(&e);
        return r == 0;
}

/* ---- a normal tree ------------------------------------------------------------ */

static void test_tree(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "./etc/", .type = AE_IFDIR, .perm = 0755});
        add(t, (struct ent){.name = "./etc/passwd", .data = "root:x:0:0::/root:/bin/sh\n"});
        add(t, (struct ent){.name = "bin/busybox",
                            .perm = 0755,
                            .data = "\177ELF...",
                            .mtime = 1500000000,
                            .mtime_ns = 123456789,
                            .atime = 1700000000});
        add(t, (struct ent){.name = "bin/su", .perm = 04755, .data = "su"});
        add(t,
            (struct ent){.name = "usr/bin/wall", .perm = 02755, .uid = 0, .gid = 5, .data = "w"});
        add(t, (struct ent){.name = "tmp/", .type = AE_IFDIR, .perm = 01777});
        add(t, (struct ent){
                   .name = "home/u/f", .perm = 0600, .uid = 1234, .gid = 5678, .data = "mine"});
        add(t, (struct ent){.name = "bin/sh",
                            .type = AE_IFLNK,
                            .symlink = "busybox",
                            .uid = 42,
                            .gid = 43,
                            .mtime = 1400000000});
        add(t, (struct ent){.name = "bin/abs", .type = AE_IFLNK, .symlink = "/does/not/exist"});
        add(t, (struct ent){.name = "bin/ls", .hardlink = "bin/busybox"});
        add(t, (struct ent){.name = "/bin/ln", .hardlink = "./bin/busybox"});
        add(t, (struct ent){.name = "bin/sh2", .hardlink = "bin/sh"}); /* hard link to a symlink */
        add(t, (struct ent){.name = "run/fifo", .type = AE_IFIFO, .perm = 0620, .gid = 7});
        add(t,
            (struct ent){.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3});
        add(t,
            (struct ent){
                .name = "dev/loop9", .type = AE_IFBLK, .perm = 0660, .gid = 6, .maj = 7, .min = 9});
        add(t, (struct ent){.name = "empty", .data = ""});
        add(t, (struct ent){.name = "a//b/./c", .data = "abc"});
        struct untar_stats st = {-1, -1};
        CHECK(extract_ok(t, &st));
        CHECK(st.entries == 17);
        /* file data, plus symlink targets ("busybox", "/does/not/exist") as docker sizes them */
        CHECK(st.bytes == (int64_t)(strlen("root:x:0:0::/root:/bin/sh\n") + 7 + 2 + 1 + 4 + 3 +
                                    strlen("busybox") + strlen("/does/not/exist")));

        struct stat s;
        CHECK(has_bytes("etc/passwd", "root:x:0:0::/root:/bin/sh\n"));
        CHECK(stat(in_root("etc/passwd"), &s) == 0 && (s.st_mode & 07777) == 0644);
        CHECK(stat(in_root("bin/busybox"), &s) == 0 && (s.st_mode & 07777) == 0755);
        CHECK(s.st_mtim.tv_sec == 1500000000 && s.st_mtim.tv_nsec == 123456789);
        CHECK(s.st_atim.tv_sec == 1700000000);
        CHECK(s.st_nlink == 3); /* busybox, ls, ln */
        struct stat l;
        CHECK(stat(in_root("bin/ls"), &l) == 0 && l.st_ino == s.st_ino);
        CHECK(stat(in_root("bin/ln"), &l) == 0 && l.st_ino == s.st_ino);
        CHECK(stat(in_root("bin/su"), &s) == 0 && (s.st_mode & 07777) == 04755);
        CHECK(stat(in_root("usr/bin/wall"), &s) == 0 && (s.st_mode & 07777) == 02755 &&
              s.st_gid == 5);
        CHECK(stat(in_root("tmp"), &s) == 0 && S_ISDIR(s.st_mode) && (s.st_mode & 07777) == 01777);
        CHECK(stat(in_root("home/u/f"), &s) == 0 && s.st_uid == 1234 && s.st_gid == 5678 &&
              (s.st_mode & 07777) == 0600);
        /* implicit parents: 0755 root-owned directories */
        CHECK(stat(in_root("home/u"), &s) == 0 && S_ISDIR(s.st_mode) &&
              (s.st_mode & 07777) == 0755);
        char target[64] = {0};
        CHECK(readlink(in_root("bin/sh"), target, sizeof(target) - 1) == 7);
        CHECK_STR(target, "busybox");
        CHECK(lstat(in_root("bin/sh"), &s) == 0 && s.st_uid == 42 && s.st_gid == 43 &&
              s.st_mtim.tv_sec == 1400000000);
        CHECK(lstat(in_root("bin/sh2"), &l) == 0 && S_ISLNK(l.st_mode) && l.st_ino == s.st_ino);
        memset(target, 0, sizeof(target));
        CHECK(readlink(in_root("bin/abs"), target, sizeof(target) - 1) > 0);
        CHECK_STR(target, "/does/not/exist");
        CHECK(lstat(in_root("run/fifo"), &s) == 0 && S_ISFIFO(s.st_mode) &&
              (s.st_mode & 07777) == 0620 && s.st_gid == 7);
        CHECK(lstat(in_root("dev/null"), &s) == 0 && S_ISCHR(s.st_mode) &&
              s.st_rdev == makedev(1, 3) && (s.st_mode & 07777) == 0666);
        CHECK(lstat(in_root("dev/loop9"), &s) == 0 && S_ISBLK(s.st_mode) &&
              s.st_rdev == makedev(7, 9) && (s.st_mode & 07777) == 0660 && s.st_gid == 6);
        CHECK(stat(in_root("empty"), &s) == 0 && S_ISREG(s.st_mode) && s.st_size == 0);
        CHECK(has_bytes("a/b/c", "abc"));
        CHECK(outside_untouched());
}

/* Directory metadata lands after the children, whichever comes first. */
static void test_dir_metadata_order(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        /* the directory's entry after its children */
        add(t, (struct ent){.name = "late/child", .data = "x"});
        add(t, (struct ent){.name = "late/",
                            .type = AE_IFDIR,
                            .perm = 0555,
                            .uid = 7,
                            .gid = 8,
                            .mtime = 1000000000,
                            .atime = 1000000001});
        /* before them, read-only: children must still get in */
        add(t, (struct ent){.name = "early/", .type = AE_IFDIR, .perm = 0500, .mtime = 1100000000});
        add(t,
            (struct ent){.name = "early/sub/", .type = AE_IFDIR, .perm0 = 1, .mtime = 1200000000});
        add(t, (struct ent){.name = "early/sub/f", .data = "y"});
        /* a second entry for an existing directory updates it */
        add(t, (struct ent){.name = "twice/", .type = AE_IFDIR, .perm = 0700, .mtime = 1});
        add(t, (struct ent){.name = "twice/f", .data = "z"});
        add(t, (struct ent){
                   .name = "twice", .type = AE_IFDIR, .perm = 0751, .uid = 3, .mtime = 1300000000});
        /* the root's own entry is ignored (docker, containerd do the same) */
        add(t, (struct ent){.name = "./", .type = AE_IFDIR, .perm = 0700, .mtime = 5});
        CHECK(extract_ok(t, NULL));
        struct stat s;
        CHECK(stat(in_root("late"), &s) == 0 && (s.st_mode & 07777) == 0555 && s.st_uid == 7 &&
              s.st_gid == 8);
        CHECK(s.st_mtim.tv_sec == 1000000000 && s.st_atim.tv_sec == 1000000001);
        CHECK(has_bytes("late/child", "x"));
        CHECK(stat(in_root("early"), &s) == 0 && (s.st_mode & 07777) == 0500 &&
              s.st_mtim.tv_sec == 1100000000);
        CHECK(stat(in_root("early/sub"), &s) == 0 && (s.st_mode & 07777) == 0000 &&
              s.st_mtim.tv_sec == 1200000000);
        CHECK(has_bytes("early/sub/f", "y"));
        CHECK(stat(in_root("twice"), &s) == 0 && (s.st_mode & 07777) == 0751 && s.st_uid == 3 &&
              s.st_mtim.tv_sec == 1300000000);
        CHECK(has_bytes("twice/f", "z"));
        CHECK(stat(root, &s) == 0 && (s.st_mode & 07777) == 0755 && s.st_mtim.tv_sec != 5);
}

/* Later entries replace earlier ones of another kind (docker's rules). */
static void test_replace(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "f2d", .data = "file"});
        add(t, (struct ent){.name = "f2d/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "d2f/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "d2f/sub/deep", .data = "gone"});
        add(t, (struct ent){.name = "d2f", .data = "now a file"});
        add(t, (struct ent){.name = "l2f", .type = AE_IFLNK, .symlink = "target"});
        add(t, (struct ent){.name = "l2f", .data = "replaced the link"});
        add(t, (struct ent){.name = "f2l", .data = "x"});
        add(t, (struct ent){.name = "f2l", .type = AE_IFLNK, .symlink = "elsewhere"});
        add(t, (struct ent){.name = "f2f", .data = "old contents, longer"});
        add(t, (struct ent){.name = "f2f", .data = "new"});
        add(t, (struct ent){.name = "emptyd/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "emptyd", .type = AE_IFIFO});
        /* the directory remembered for the last parent goes away and comes back */
        add(t, (struct ent){.name = "c/b/x", .data = "1"});
        add(t, (struct ent){.name = "c", .data = "file"});
        add(t, (struct ent){.name = "c/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "c/b/y", .data = "2"});
        /* replacing inside the remembered parent */
        add(t, (struct ent){.name = "c/b/y", .data = "3"});
        CHECK(extract_ok(t, NULL));
        CHECK(!lexists("c/b/x"));
        CHECK(has_bytes("c/b/y", "3"));
        struct stat s;
        CHECK(lstat(in_root("f2d"), &s) == 0 && S_ISDIR(s.st_mode));
        CHECK(has_bytes("d2f", "now a file"));
        CHECK(lstat(in_root("l2f"), &s) == 0 && S_ISREG(s.st_mode));
        CHECK(has_bytes("l2f", "replaced the link"));
        CHECK(lstat(in_root("f2l"), &s) == 0 && S_ISLNK(s.st_mode));
        CHECK(has_bytes("f2f", "new"));
        CHECK(lstat(in_root("emptyd"), &s) == 0 && S_ISFIFO(s.st_mode));
        CHECK(outside_untouched());
}

static int xattr_supported(const char *name)
{
        char probe[PATH_MAX];
        snprintf(probe, sizeof(probe), "%s/.probe", base);
        if (write_file(probe, "", 0, 0644, NULL) < 0)
                return 0;
        int ok = setxattr(probe, name, "1", 1, 0) == 0;
        unlink(probe);
        return ok;
}

static void test_xattrs(void)
{
        CHECK(setup() == 0);
        int trusted = xattr_supported("trusted.barge-probe");
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "f", .data = "x", .xname = "user.barge", .xval = "hello"});
        add(t, (struct ent){.name = "d/", .type = AE_IFDIR, .xname = "user.barge", .xval = "dir"});
        if (trusted) {
                const char *x = "trusted.barge";
                add(t, (struct ent){.name = "t", .data = "x", .xname = x, .xval = "tv"});
                /* set on the link itself, not on what it points to */
                add(t, (struct ent){.name = "ln",
                                    .type = AE_IFLNK,
                                    .symlink = "t",
                                    .xname = x,
                                    .xval = "link"});
                add(t, (struct ent){.name = "fifo", .type = AE_IFIFO, .xname = x, .xval = "ff"});
        }
        /* never restored from an archive: it would steer the overlay mount */
        add(t, (struct ent){.name = "r/",
                            .type = AE_IFDIR,
                            .xname = "trusted.overlay.redirect",
                            .xval = "/etc"});
        add(t, (struct ent){.name = "u", .data = "x", .xname = "user.overlay.opaque", .xval = "y"});
        /* a setuid file with an xattr: chown must come first and wipe neither */
        add(t, (struct ent){.name = "cap",
                            .perm = 04755,
                            .data = "x",
                            .xname = "user.after-chown",
                            .xval = "kept"});
        CHECK(extract_ok(t, NULL));
        char v[64] = {0};
        CHECK(getxattr(in_root("f"), "user.barge", v, sizeof(v) - 1) == 5);
        CHECK_STR(v, "hello");
        memset(v, 0, sizeof(v));
        CHECK(getxattr(in_root("d"), "user.barge", v, sizeof(v) - 1) == 3);
        CHECK_STR(v, "dir");
        memset(v, 0, sizeof(v));
        CHECK(getxattr(in_root("cap"), "user.after-chown", v, sizeof(v) - 1) == 4);
        struct stat s;
        CHECK(stat(in_root("cap"), &s) == 0 && (s.st_mode & 07777) == 04755);
        CHECK(getxattr(in_root("r"), "trusted.overlay.redirect", v, sizeof(v)) < 0);
        CHECK(getxattr(in_root("u"), "user.overlay.opaque", v, sizeof(v)) < 0);
        if (trusted) {
                memset(v, 0, sizeof(v));
                CHECK(getxattr(in_root("t"), "trusted.barge", v, sizeof(v) - 1) == 2);
                CHECK_STR(v, "tv");
                memset(v, 0, sizeof(v));
                CHECK(lgetxattr(in_root("ln"), "trusted.barge", v, sizeof(v) - 1) == 4);
                CHECK_STR(v, "link");
                /* user.* is not allowed on fifos, devices and symlinks */
                memset(v, 0, sizeof(v));
                CHECK(lgetxattr(in_root("fifo"), "trusted.barge", v, sizeof(v) - 1) == 2);
        }
}

static int is_whiteout(const char *rel)
{
        struct stat s;
        return lstat(in_root(rel), &s) == 0 && S_ISCHR(s.st_mode) && s.st_rdev == makedev(0, 0);
}

static int opaque(const char *rel)
{
        char v[4] = {0};
        return getxattr(in_root(rel), "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

static void test_whiteouts(void)
{
        CHECK(setup() == 0);
        struct untar_stats st;
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "d/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "d/.wh.gone"});
        add(t, (struct ent){.name = ".wh.topgone", .uid = 5, .gid = 6});
        add(t, (struct ent){.name = "o/", .type = AE_IFDIR, .perm = 0750});
        add(t, (struct ent){.name = "o/.wh..wh..opq"});
        add(t, (struct ent){.name = "o/new", .data = "n"});
        add(t, (struct ent){.name = "missing/.wh..wh..opq"}); /* parent made on the way */
        add(t, (struct ent){.name = "deep/er/.wh.x"});
        /* AUFS bookkeeping: skipped, with what is below it */
        add(t, (struct ent){.name = ".wh..wh.plnk/", .type = AE_IFDIR});
        add(t, (struct ent){.name = ".wh..wh.plnk/1234.5678", .data = "aufs"});
        add(t, (struct ent){.name = ".wh..wh.aufs"});
        /* same layer: a whiteout hides only lower layers (OCI) */
        add(t, (struct ent){.name = "s/kept", .data = "k"});
        add(t, (struct ent){.name = "s/.wh.kept"});
        add(t, (struct ent){.name = "s/.wh.back"});
        add(t, (struct ent){.name = "s/back", .data = "b"});
        CHECK(extract_ok(t, &st));
        CHECK(is_whiteout("d/gone"));
        CHECK(!lexists("d/.wh.gone"));
        CHECK(is_whiteout("topgone"));
        struct stat s;
        CHECK(lstat(in_root("topgone"), &s) == 0 && s.st_uid == 5 && s.st_gid == 6);
        CHECK(!lexists(".wh.topgone"));
        CHECK(opaque("o"));
        CHECK(!lexists("o/.wh..wh..opq"));
        CHECK(has_bytes("o/new", "n"));
        CHECK(stat(in_root("o"), &s) == 0 && (s.st_mode & 07777) == 0750);
        CHECK(opaque("missing"));
        CHECK(is_whiteout("deep/er/x"));
        CHECK(!lexists(".wh..wh.plnk") && !lexists(".wh..wh.aufs") && !lexists("wh.plnk"));
        CHECK(has_bytes("s/kept", "k"));
        CHECK(has_bytes("s/back", "b"));
        char names[4096];
        list_dir(root, names, sizeof(names));
        CHECK_STR(names, "d deep missing o s topgone");
        list_dir(in_root("s"), names, sizeof(names));
        CHECK_STR(names, "back kept");
        CHECK(st.entries == 12); /* 15 entries, 3 AUFS ones skipped */
        CHECK(outside_untouched());
}

/* ---- data paths ------------------------------------------------------------ */

static void test_sparse(void)
{
        CHECK(setup() == 0);
        size_t size = 8u << 20; /* 8 MiB, data at 0, 3 MiB, and the last 100 bytes */
        char *data = xcalloc(1, size);
        memset(data, 'a', 4096);
        memset(data + (3u << 20), 'b', 10000);
        memset(data + size - 100, 'c', 100);
        struct tar *t = tar_new(1 << 20, 0);
        struct archive_entry *a = archive_entry_new();
        archive_entry_copy_pathname(a, "sparse");
        archive_entry_set_filetype(a, AE_IFREG);
        archive_entry_set_perm(a, 0644);
        archive_entry_set_size(a, (la_int64_t)size);
        archive_entry_sparse_add_entry(a, 0, 4096);
        archive_entry_sparse_add_entry(a, 3 << 20, 10000);
        archive_entry_sparse_add_entry(a, (la_int64_t)size - 100, 100);
        archive_write_header(t->w, a);
        archive_write_data(t->w, data, size);
        archive_entry_free(a);
        struct untar_stats st;
        tar_close(t);
        CHECK(t->used < (1u << 20)); /* the holes were not stored */
        int ok = extract_ok(t, &st);
        char *got = NULL;
        size_t len = 0;
        int same = ok && read_file(in_root("sparse"), size + 1, &got, &len, NULL) == 0 &&
                   len == size && memcmp(got, data, size) == 0;
        free(got);
        free(data);
        CHECK(ok && same);
        CHECK(st.bytes == 4096 + 10000 + 100);
        struct stat s;
        CHECK(stat(in_root("sparse"), &s) == 0 && (int64_t)s.st_blocks * 512 < (int64_t)(1 << 20));
}

/* Big files go through the 1 MiB buffer and the direct path; a gzip
 * stream is read with archive_read_support_filter_all. */
static void test_big_gzip(void)
{
        CHECK(setup() == 0);
        size_t big = (24u << 20) + 12345;
        char *data = xmalloc(big);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < big; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                data[i] = (char)(i % 4096 < 2048 ? x : 'z'); /* half compressible */
        }
        struct tar *t = tar_new(big + (4u << 20), 1);
        add(t, (struct ent){.name = "big", .data = data, .len = big});
        int64_t small_total = 0;
        for (int i = 0; i < 300; i++) {
                char name[32];
                snprintf(name, sizeof(name), "many/f%03d", i);
                add(t, (struct ent){.name = name, .data = data + i, .len = (size_t)i * 37 + 1});
                small_total += i * 37 + 1;
        }
        tar_close(t);
        CHECK(t->used > 2 && (unsigned char)t->mem[0] == 0x1f && (unsigned char)t->mem[1] == 0x8b);
        struct untar_stats st;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ok = extract_ok(t, &st);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        char *got = NULL;
        size_t len = 0;
        int same = ok && read_file(in_root("big"), big + 1, &got, &len, NULL) == 0 && len == big &&
                   memcmp(got, data, big) == 0;
        free(got);
        char *f299 = NULL;
        size_t l299 = 0;
        int small_same = read_file(in_root("many/f299"), 1 << 20, &f299, &l299, NULL) == 0 &&
                         l299 == 299 * 37 + 1 && memcmp(f299, data + 299, l299) == 0;
        free(f299);
        free(data);
        CHECK(ok && same && small_same);
        CHECK(st.entries == 301 && st.bytes == (int64_t)big + small_total);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("# gzip layer: %.1f MB in %.3f s (%.0f MB/s uncompressed)\n", (double)st.bytes / 1e6,
               secs, (double)st.bytes / 1e6 / secs);
}

static void test_truncated(void)
{
        CHECK(setup() == 0);
        char *data = xcalloc(1, 100000);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "ok", .data = "x"});
        add(t, (struct ent){.name = "cut", .data = data, .len = 100000});
        tar_close(t);
        free(data);
        t->used = 512 * 6; /* inside cut's data */
        struct err *e = NULL;
        int r = extract(t, NULL, &e);
        tar_free(t);
        CHECK(r < 0 && e && strstr(e->msg, "\"cut\"") != NULL);
        err_free(&e);
}

static void test_not_a_tar(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "first", .data = "x"});
        tar_close(t);
        memset(t->mem + 1024, 'G', 512); /* garbage where the next header goes */
        t->used = 1024 + 512 * 4;
        struct err *e = NULL;
        int r = extract(t, NULL, &e);
        tar_free(t);
        CHECK(r < 0 && e && str_has_prefix(e->msg, "layer tar after entry \"first\": "));
        err_free(&e);
        CHECK(has_bytes("first", "x"));
}

static void test_utf8_names(void)
{
        CHECK(setup() == 0);
        /* the writer needs a UTF-8 locale to store them as PAX UTF-8 names
         * (as Go's archive/tar does); the reader runs in the "C" locale */
        locale_t u8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        if (u8 == (locale_t)0) {
                printf("# no C.UTF-8 locale\n");
                return;
        }
        locale_t old = uselocale(u8);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", .data = "jp"});
        tar_close(t);
        uselocale(old);
        freelocale(u8);
        CHECK(extract_ok(t, NULL));
        CHECK(has_bytes("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", "jp"));
}

static void test_long_names(void)
{
        CHECK(setup() == 0);
        char name[6000];
        /* 20 components of 50 bytes: a PAX path record */
        name[0] = '\0';
        for (int i = 0; i < 20; i++)
                snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s%049d", i ? "/" : "",
                         i);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = name, .data = "deep"});
        CHECK(extract_ok(t, NULL));
        CHECK(has_bytes(name, "deep"));

        /* one component longer than NAME_MAX */
        CHECK(setup() == 0);
        memset(name, 'n', 300);
        strcpy(name + 300, "/x");
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = name, .data = "x"});
        name[200] = '\0'; /* the message shows the first 200 bytes */
        CHECK(refused(t, name));

        /* longer than PATH_MAX in all */
        CHECK(setup() == 0);
        name[0] = '\0';
        for (int i = 0; i < 100; i++)
                snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s%049d", i ? "/" : "",
                         i);
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = name, .data = "x"});
        name[200] = '\0';
        CHECK(refused(t, name));
}

/* ---- hostile archives ---------------------------------------------------------- */

static void test_hostile_dotdot(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "../evil", .data = "evil"});
        add(t, (struct ent){.name = "after", .data = "must not be reached"});
        CHECK(refused(t, "../evil"));
        CHECK(!lexists("after")); /* stops at the first error */
}

static void test_hostile_dotdot_inside(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "a/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "a/../../evil", .data = "evil"});
        CHECK(refused(t, "a/../../evil"));
}

static void test_hostile_absolute(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "/abs/evil", .data = "inside"});
        add(t, (struct ent){.name = "///abs//./evil2", .data = "inside2"});
        CHECK(extract_ok(t, NULL));
        CHECK(has_bytes("abs/evil", "inside"));
        CHECK(has_bytes("abs/evil2", "inside2"));
        struct stat s;
        CHECK(lstat("/abs/evil", &s) < 0 || !has_bytes("/abs/evil", "inside"));
        CHECK(outside_untouched());
}

static void test_hostile_symlink_absolute(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "s/evil", .data = "evil"});
        CHECK(refused(t, "s/evil"));
        struct stat st;
        CHECK(lstat(in_root("s"), &st) == 0 && S_ISLNK(st.st_mode)); /* kept verbatim */
}

static void test_hostile_symlink_relative(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = "../.."}); /* = <base> */
        add(t, (struct ent){.name = "s/evil", .data = "evil"});
        CHECK(refused(t, "s/evil"));
}

static void test_hostile_symlink_deeper(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "a/b/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "a/b/s", .type = AE_IFLNK, .symlink = "../../../../canary"});
        add(t, (struct ent){.name = "a/b/s/c/d/evil", .data = "evil"});
        CHECK(refused(t, "a/b/s/c/d/evil"));
}

static void test_hostile_symlink_chain(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s1", .type = AE_IFLNK, .symlink = "s2"});
        add(t, (struct ent){.name = "s2", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "s1/x", .data = "evil"});
        CHECK(refused(t, "s1/x"));
}

static void test_hostile_hardlink_absolute(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "h", .hardlink = outside});
        CHECK(refused(t, "h"));
}

static void test_hostile_hardlink_dotdot(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "h", .hardlink = "../outside"});
        CHECK(refused(t, "h"));
        CHECK(setup() == 0);
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "h", .hardlink = "../../outside"});
        CHECK(refused(t, "h"));
}

static void test_hostile_hardlink_through_symlink(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = base});
        add(t, (struct ent){.name = "h", .hardlink = "s/outside"});
        CHECK(refused(t, "h"));
        CHECK(setup() == 0);
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = "../.."});
        add(t, (struct ent){.name = "h", .hardlink = "s/outside"});
        CHECK(refused(t, "h"));
}

static void test_hostile_hardlink_dir(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "d/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "h", .hardlink = "d"});
        CHECK(refused(t, "h"));
}

/* A directory extracted, then replaced by a symlink, then written through. */
static void test_hostile_dir_becomes_symlink(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "d/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "d/f", .data = "f"});
        add(t, (struct ent){.name = "d", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "d/evil", .data = "evil"});
        CHECK(refused(t, "d/evil"));
}

/* A file entry with the name of a planted symlink replaces the link. */
static void test_hostile_file_over_symlink(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = outside});
        add(t, (struct ent){.name = "s", .data = "overwrite?"});
        add(t, (struct ent){.name = "c", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "c/", .type = AE_IFDIR});
        add(t, (struct ent){.name = "n", .type = AE_IFLNK, .symlink = outside});
        add(t, (struct ent){.name = "n", .type = AE_IFIFO});
        CHECK(extract_ok(t, NULL));
        struct stat st;
        CHECK(lstat(in_root("s"), &st) == 0 && S_ISREG(st.st_mode));
        CHECK(has_bytes("s", "overwrite?"));
        CHECK(lstat(in_root("c"), &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(lstat(in_root("n"), &st) == 0 && S_ISFIFO(st.st_mode));
        CHECK(outside_untouched());
}

static void test_hostile_device_names(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "../null", .type = AE_IFCHR, .maj = 1, .min = 3});
        CHECK(refused(t, "../null"));
        CHECK(setup() == 0);
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "s/sda", .type = AE_IFBLK, .maj = 8, .min = 0});
        CHECK(refused(t, "s/sda"));
}

static void test_hostile_whiteouts(void)
{
        static const char *bad[] = {".wh.", ".wh..", ".wh...", "d/.wh.."};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                CHECK(setup() == 0);
                struct tar *t = tar_new(1 << 20, 0);
                add(t, (struct ent){.name = "d/keep", .data = "k"});
                add(t, (struct ent){.name = bad[i]});
                CHECK(refused(t, bad[i]));
                CHECK(has_bytes("d/keep", "k"));
        }
        /* whiteout and opaque markers written through a symlink */
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "s/.wh.x"});
        CHECK(refused(t, "s/.wh.x"));
        CHECK(setup() == 0);
        t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "s", .type = AE_IFLNK, .symlink = canary});
        add(t, (struct ent){.name = "s/.wh..wh..opq"});
        CHECK(refused(t, "s/.wh..wh..opq"));
        char v[4];
        CHECK(getxattr(canary, "trusted.overlay.opaque", v, sizeof(v)) < 0);
}

/* A file that a later entry treats as a directory. */
static void test_hostile_file_as_parent(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "f", .data = "file"});
        add(t, (struct ent){.name = "f/x", .data = "x"});
        CHECK(refused(t, "f/x"));
}

/* Without CAP_MKNOD a device entry is an error naming it (a fifo is fine). */
static void test_device_without_cap_mknod(void)
{
        CHECK(setup() == 0);
        struct tar *t = tar_new(1 << 20, 0);
        add(t, (struct ent){.name = "p", .type = AE_IFIFO});
        add(t, (struct ent){.name = "dev/zero", .type = AE_IFCHR, .maj = 1, .min = 5});
        tar_close(t);
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                cap_t c = cap_get_proc();
                cap_value_t v = CAP_MKNOD;
                if (c == NULL || cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) < 0 ||
                    cap_set_proc(c) < 0)
                        _exit(3);
                cap_free(c);
                struct err *e = NULL;
                int r = extract(t, NULL, &e);
                int ok =
                    r < 0 && e && strstr(e->msg, "layer entry \"dev/zero\"") && e->code == EPERM;
                fflush(stdout);
                _exit(ok ? 0 : 1);
        }
        tar_free(t);
        int status;
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        struct stat s;
        CHECK(lstat(in_root("p"), &s) == 0 && S_ISFIFO(s.st_mode));
        CHECK(!lexists("dev/zero"));
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (geteuid() != 0) {
                printf("ok 1 - # SKIP needs root\n1..1\n");
                return 0;
        }
        RUN(test_tree);
        RUN(test_dir_metadata_order);
        RUN(test_replace);
        if (setup() == 0 && xattr_supported("user.barge-probe"))
                RUN(test_xattrs);
        else
                SKIP(test_xattrs, "no user.* xattrs on /var/tmp");
        if (setup() == 0 && xattr_supported("trusted.overlay.opaque"))
                RUN(test_whiteouts);
        else
                SKIP(test_whiteouts, "no trusted.* xattrs on /var/tmp");
        RUN(test_sparse);
        RUN(test_big_gzip);
        RUN(test_truncated);
        RUN(test_not_a_tar);
        RUN(test_utf8_names);
        RUN(test_long_names);
        RUN(test_hostile_dotdot);
        RUN(test_hostile_dotdot_inside);
        RUN(test_hostile_absolute);
        RUN(test_hostile_symlink_absolute);
        RUN(test_hostile_symlink_relative);
        RUN(test_hostile_symlink_deeper);
        RUN(test_hostile_symlink_chain);
        RUN(test_hostile_hardlink_absolute);
        RUN(test_hostile_hardlink_dotdot);
        RUN(test_hostile_hardlink_through_symlink);
        RUN(test_hostile_hardlink_dir);
        RUN(test_hostile_dir_becomes_symlink);
        RUN(test_hostile_file_over_symlink);
        RUN(test_hostile_device_names);
        if (setup() == 0 && xattr_supported("trusted.overlay.opaque"))
                RUN(test_hostile_whiteouts);
        else
                SKIP(test_hostile_whiteouts, "no trusted.* xattrs on /var/tmp");
        RUN(test_hostile_file_as_parent);
        RUN(test_device_without_cap_mknod);
        teardown();
        return DONE();
}

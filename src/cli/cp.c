/*
 * cp: copy files between a container and the host through the archive
 * endpoints (GET/PUT/HEAD /containers/{id}/archive), which speak tar, as
 * docker cp does.  The tar is spooled through an unlinked temporary file
 * (libarchive reads and writes whole archives; the copies are small next
 * to the cost of a second code path) and written or read with libarchive.
 *
 * Naming follows docker: SRC's last component becomes the name inside an
 * existing directory DEST, else DEST names the copy itself.
 *
 * libarchive is opened with dlopen when cp needs it, not linked: it pulls
 * libxml2, ICU, libstdc++, nettle and the compressors, and mapping them
 * cost every barge command ~4 ms for the one command that uses them.
 * (Linked statically it is no better: the tar writers reference the
 * generic format table, which brings in every writer, xar and its
 * libxml2 included.)
 */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "../registry/internal.h"
#include "cli.h"

/* the libarchive calls cp makes, resolved by la_load() */
// clang-format off
#define LA_FUNCS(X)                                                                                \
        X(archive_entry_filetype) X(archive_entry_free) X(archive_entry_hardlink)                  \
        X(archive_entry_new) X(archive_entry_pathname) X(archive_entry_set_hardlink)               \
        X(archive_entry_set_pathname) X(archive_entry_size) X(archive_entry_sourcepath)            \
        X(archive_error_string) X(archive_read_data_block) X(archive_read_disk_descend)            \
        X(archive_read_disk_new) X(archive_read_disk_open)                                         \
        X(archive_read_disk_set_standard_lookup) X(archive_read_free) X(archive_read_new)          \
        X(archive_read_next_header) X(archive_read_next_header2) X(archive_read_open_fd)           \
        X(archive_read_support_format_tar) X(archive_write_close) X(archive_write_data)            \
        X(archive_write_data_block) X(archive_write_disk_new) X(archive_write_disk_set_options)    \
        X(archive_write_finish_entry) X(archive_write_free) X(archive_write_header)                \
        X(archive_write_new) X(archive_write_open_fd)                                              \
        X(archive_write_set_format_pax_restricted)
// clang-format on
#define LA_PTR(f) __typeof__(f) *f;
static struct {
        LA_FUNCS(LA_PTR)
} la;

static int la_load(struct err **e)
{
        static void *lib;
        if (lib)
                return 0;
        void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        if (h == NULL)
                return err_new(e, ENOENT, "cp: cannot load libarchive: %s", dlerror());
#define LA_SYM(f)                                                                                  \
        if ((*(void **)&la.f = dlsym(h, #f)) == NULL)                                              \
                return err_new(e, ENOENT, "cp: libarchive has no %s", #f);
        LA_FUNCS(LA_SYM)
#undef LA_SYM
        lib = h;
        return 0;
}

static int spool_fd(struct err **e)
{
        char tmpl[] = "/tmp/barge-cp-XXXXXX";
        int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "cp: temporary file");
        unlink(tmpl);
        return fd;
}

static int write_fd(void *ctx, const void *buf, size_t n)
{
        return write_all(*(int *)ctx, buf, n);
}

static ssize_t read_fd(void *ctx, void *buf, size_t n)
{
        return read(*(int *)ctx, buf, n);
}

/* "name:path" is a container path unless it starts like a host path */
static int split_container(const char *arg, char **ct, const char **path)
{
        if (arg[0] == '/' || arg[0] == '.')
                return 0;
        const char *colon = strchr(arg, ':');
        if (colon == NULL || colon == arg)
                return 0;
        *ct = xstrndup(arg, (size_t)(colon - arg));
        *path = colon + 1;
        return 1;
}

/* Replace the first path component of every entry: "src/..." -> "dst/..." */
static char *rename_first(const char *name, const char *to)
{
        const char *p = name;
        if (!strncmp(p, "./", 2))
                p += 2;
        const char *slash = strchr(p, '/');
        return xasprintf("%s%s", to, slash ? slash : "");
}

static int extract(int fd, const char *dir, const char *rename_to, struct err **e)
{
        if (la_load(e) < 0)
                return -1;
        struct archive *a = la.archive_read_new(), *w = la.archive_write_disk_new();
        la.archive_read_support_format_tar(a);
        la.archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                 ARCHIVE_EXTRACT_OWNER |
                                                 ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        int r = 0;
        if (la.archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
                r = err_new(e, EIO, "cp: reading the archive: %s", la.archive_error_string(a));
                goto out;
        }
        struct archive_entry *ent;
        int ar;
        while ((ar = la.archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
                const char *name = la.archive_entry_pathname(ent);
                _cleanup_free_ char *rel =
                    rename_to ? rename_first(name, rename_to) : xstrdup(name);
                _cleanup_free_ char *full = xasprintf("%s/%s", dir, rel);
                la.archive_entry_set_pathname(ent, full);
                const char *hl = la.archive_entry_hardlink(ent);
                if (hl) {
                        _cleanup_free_ char *hrel =
                            rename_to ? rename_first(hl, rename_to) : xstrdup(hl);
                        _cleanup_free_ char *hfull = xasprintf("%s/%s", dir, hrel);
                        la.archive_entry_set_hardlink(ent, hfull);
                }
                if (la.archive_write_header(w, ent) != ARCHIVE_OK) {
                        r = err_new(e, EIO, "cp: %s: %s", full, la.archive_error_string(w));
                        goto out;
                }
                const void *buf;
                size_t len;
                la_int64_t off;
                while ((ar = la.archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
                        if (la.archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
                                r = err_new(e, EIO, "cp: %s: %s", full, la.archive_error_string(w));
                                goto out;
                        }
                la.archive_write_finish_entry(w);
        }
        if (ar != ARCHIVE_EOF)
                r = err_new(e, EIO, "cp: reading the archive: %s", la.archive_error_string(a));
out:
        la.archive_read_free(a);
        la.archive_write_free(w);
        return r;
}

static int from_container(struct client *cl, const char *ct, const char *src, const char *dest,
                          struct err **e)
{
        _cleanup_free_ char *path = client_path("/containers/%s/archive?path=%s", ct, src);
        if (!strcmp(dest, "-")) {
                int out = STDOUT_FILENO;
                return client_stream(cl, "GET", path, NULL, NULL, NULL, NULL, write_fd, &out, NULL,
                                     e);
        }
        struct stat st;
        const char *dir;
        _cleanup_free_ char *copy = xstrdup(dest), *rename_to = NULL;
        if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
                dir = dest;
        } else {
                dir = dirname(copy);
                _cleanup_free_ char *b = xstrdup(dest);
                rename_to = xstrdup(basename(b));
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        return err_new(e, ENOENT, "cp: destination directory %s does not exist",
                                       dir);
        }
        _cleanup_close_ int fd = spool_fd(e);
        if (fd < 0 ||
            client_stream(cl, "GET", path, NULL, NULL, NULL, NULL, write_fd, &fd, NULL, e) < 0)
                return -1;
        lseek(fd, 0, SEEK_SET);
        return extract(fd, dir, rename_to, e);
}

/* tar of the host path `src`, its top entry named `top` */
static int pack(const char *src, const char *top, int fd, struct err **e)
{
        if (la_load(e) < 0)
                return -1;
        struct archive *w = la.archive_write_new(), *d = la.archive_read_disk_new();
        la.archive_write_set_format_pax_restricted(w);
        la.archive_read_disk_set_standard_lookup(d);
        int r = 0;
        if (la.archive_write_open_fd(w, fd) != ARCHIVE_OK ||
            la.archive_read_disk_open(d, src) != ARCHIVE_OK) {
                r = err_new(e, EIO, "cp: %s: %s", src, la.archive_error_string(d));
                goto out;
        }
        size_t sl = strlen(src);
        for (;;) {
                struct archive_entry *ent = la.archive_entry_new();
                int ar = la.archive_read_next_header2(d, ent);
                if (ar == ARCHIVE_EOF) {
                        la.archive_entry_free(ent);
                        break;
                }
                if (ar != ARCHIVE_OK) {
                        r = err_new(e, EIO, "cp: %s: %s", src, la.archive_error_string(d));
                        la.archive_entry_free(ent);
                        goto out;
                }
                la.archive_read_disk_descend(d);
                const char *p = la.archive_entry_pathname(ent);
                _cleanup_free_ char *name = xasprintf("%s%s", top, strlen(p) > sl ? p + sl : "");
                la.archive_entry_set_pathname(ent, name);
                la.archive_write_header(w, ent);
                if (la.archive_entry_size(ent) > 0 && la.archive_entry_filetype(ent) == AE_IFREG) {
                        int in = open(la.archive_entry_sourcepath(ent), O_RDONLY | O_CLOEXEC);
                        char buf[65536];
                        ssize_t n;
                        while (in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
                                la.archive_write_data(w, buf, (size_t)n);
                        if (in >= 0)
                                close(in);
                }
                la.archive_entry_free(ent);
        }
out:
        la.archive_read_free(d);
        la.archive_write_close(w);
        la.archive_write_free(w);
        return r;
}

static int to_container(struct client *cl, const char *src, const char *ct, const char *dest,
                        struct err **e)
{
        if (!strcmp(src, "-")) {
                int in = STDIN_FILENO;
                _cleanup_free_ char *path = client_path("/containers/%s/archive?path=%s", ct, dest);
                return client_stream(cl, "PUT", path, NULL, "application/x-tar", read_fd, &in, NULL,
                                     NULL, NULL, e);
        }
        struct stat st;
        if (lstat(src, &st) < 0)
                return err_sys(e, "cp: %s", src);
        /* is DEST an existing directory in the container? */
        _cleanup_free_ char *spath = client_path("/containers/%s/archive?path=%s", ct, dest);
        long status = 0;
        int isdir = 0;
        struct err *se = NULL;
        if (client_stream(cl, "HEAD", spath, NULL, NULL, NULL, NULL, NULL, NULL, &status, &se) ==
            0) {
                const char *stat64 = client_last_header(cl, "X-Docker-Container-Path-Stat");
                if (stat64) {
                        /* base64 JSON {"name","size","mode",...}; Go's ModeDir is 1<<31 */
                        _cleanup_free_ char *dec = NULL;
                        size_t n = 0;
                        dec = reg_base64_decode(stat64, &n);
                        json_t *j = dec ? json_loadb(dec, n, 0, NULL) : NULL;
                        isdir = (json_integer_value(json_object_get(j, "mode")) & (1LL << 31)) != 0;
                        json_decref(j);
                }
        } else if (se->code != ENOENT) {
                *e = se;
                return -1;
        }
        err_free(&se);
        _cleanup_free_ char *s1 = xstrdup(src), *d1 = xstrdup(dest), *d2 = xstrdup(dest);
        /* trailing slashes do not count in names */
        for (size_t l = strlen(s1); l > 1 && s1[l - 1] == '/'; l--)
                s1[l - 1] = '\0';
        const char *top = isdir ? basename(s1) : basename(d1);
        const char *into = isdir ? dest : dirname(d2);
        _cleanup_close_ int fd = spool_fd(e);
        if (fd < 0 || pack(src, top, fd, e) < 0)
                return -1;
        lseek(fd, 0, SEEK_SET);
        _cleanup_free_ char *path = client_path("/containers/%s/archive?path=%s", ct, into);
        return client_stream(cl, "PUT", path, NULL, "application/x-tar", read_fd, &fd, NULL, NULL,
                             NULL, e);
}

static int ignore_opt(void *data, int opt, const char *arg)
{
        return 0; /* -a, -L, -q: accepted; ownership and links are kept as in the tar */
}

int cmd_cp(struct cli *c)
{
        static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                             {"follow-link", no_argument, NULL, 'L'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
        int dummy = 0;
        int i = cli_parse(c, "aLq", opts, ignore_opt, &dummy);
        if (i < 0)
                return 125;
        if (i + 2 != c->argc)
                return cli_usage("cp", "\"cp\" requires exactly 2 arguments");
        _cleanup_free_ char *sct = NULL, *dct = NULL;
        const char *spath = c->argv[i], *dpath = c->argv[i + 1];
        int from = split_container(c->argv[i], &sct, &spath);
        int to = split_container(c->argv[i + 1], &dct, &dpath);
        if (from == to)
                return cli_usage("cp", from ? "copying between containers is not supported"
                                            : "must specify at least one container source");
        struct client *cl;
        struct err *e = NULL;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int r = from ? from_container(cl, sct, spath, dpath, &e)
                     : to_container(cl, spath, dct, dpath, &e);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

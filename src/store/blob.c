/*
 * blob: content-addressed files under blobs/sha256/<hex>.
 *
 * A blob is written to tmp/, hashed as it goes, checked against the digest
 * the caller expects, fsynced, and renamed into place; then its directory
 * is fsynced.  A blob path therefore always holds complete, verified
 * content.  Two writers of the same blob both succeed: the contents are
 * identical, so whichever rename lands last changes nothing a reader sees.
 * Blobs have no rows: the file is the record.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"

struct blob_writer {
        struct store *s;
        int fd;
        char *tmp; /* path in tmp/ */
        struct digester *d;
        char expected[DIGEST_LEN + 1]; /* "" when none */
};

static void writer_free(struct blob_writer *w)
{
        if (w->fd >= 0)
                close(w->fd);
        if (w->tmp)
                unlink(w->tmp);
        free(w->tmp);
        digester_free(w->d);
        free(w);
}

int store_blob_has(struct store *s, const char *digest)
{
        if (digest_check(digest, NULL) < 0)
                return 0;
        _cleanup_free_ char *p = store_blob_path(s, digest);
        return access(p, F_OK) == 0;
}

int store_blob_begin(struct store *s, const char *expected, struct blob_writer **out,
                     struct err **e)
{
        *out = NULL;
        if (expected && digest_check(expected, e) < 0)
                return -1;
        if (expected && store_blob_has(s, expected))
                return 0;
        struct blob_writer *w = xcalloc(1, sizeof(*w));
        w->s = s;
        w->tmp = xasprintf("%s/tmp/blob-XXXXXX", s->root);
        w->fd = mkostemp(w->tmp, O_CLOEXEC);
        if (w->fd < 0) {
                err_sys(e, "create %s", w->tmp);
                free(TAKE_PTR(w->tmp));
                writer_free(w);
                return -1;
        }
        w->d = digester_new();
        if (expected)
                snprintf(w->expected, sizeof(w->expected), "%s", expected);
        *out = w;
        return 0;
}

int blob_write(struct blob_writer *w, const void *buf, size_t n, struct err **e)
{
        if (write_all(w->fd, buf, n) < 0)
                return err_sys(e, "write %s", w->tmp);
        digester_update(w->d, buf, n);
        return 0;
}

static int commit(struct blob_writer *w, const char *digest, struct err **e)
{
        if (w->expected[0] && strcmp(w->expected, digest) != 0)
                return err_new(e, 0, "blob digest mismatch: expected %s, got %s", w->expected,
                               digest);
        if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0)
                return err_sys(e, "sync %s", w->tmp);
        _cleanup_free_ char *path = store_blob_path(w->s, digest);
        if (rename(w->tmp, path) < 0)
                return err_sys(e, "rename %s to %s", w->tmp, path);
        free(TAKE_PTR(w->tmp));
        _cleanup_free_ char *dir = xasprintf("%s/blobs/sha256", w->s->root);
        return fsync_dir(dir, e);
}

int blob_commit(struct blob_writer *w, char digest_out[DIGEST_LEN + 1], struct err **e)
{
        char digest[DIGEST_LEN + 1];
        digester_final(w->d, digest);
        int r = commit(w, digest, e);
        writer_free(w);
        if (r == 0 && digest_out)
                memcpy(digest_out, digest, DIGEST_LEN + 1);
        return r;
}

void blob_abort(struct blob_writer *w)
{
        if (w)
                writer_free(w);
}

int store_blob_put(struct store *s, const void *data, size_t len, char digest_out[DIGEST_LEN + 1],
                   struct err **e)
{
        char digest[DIGEST_LEN + 1];
        digest_buf(data, len, digest);
        struct blob_writer *w = NULL;
        if (store_blob_begin(s, digest, &w, e) < 0)
                return -1;
        if (w && (blob_write(w, data, len, e) < 0 || blob_commit(TAKE_PTR(w), NULL, e) < 0)) {
                blob_abort(w);
                return -1;
        }
        if (digest_out)
                memcpy(digest_out, digest, DIGEST_LEN + 1);
        return 0;
}

int store_blob_open(struct store *s, const char *digest, struct err **e)
{
        if (digest_check(digest, e) < 0)
                return -1;
        _cleanup_free_ char *p = store_blob_path(s, digest);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? err_new(e, ENOENT, "blob %s is not in the store", digest)
                                       : err_sys(e, "open %s", p);
        return fd;
}

int store_blob_read(struct store *s, const char *digest, size_t max, char **data, size_t *len,
                    struct err **e)
{
        _cleanup_close_ int fd = store_blob_open(s, digest, e);
        if (fd < 0)
                return -1;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return err_sys(e, "stat blob %s", digest);
        if ((uint64_t)st.st_size > max)
                return err_new(e, EFBIG, "blob %s is %lld bytes, more than %zu", digest,
                               (long long)st.st_size, max);
        if (read_fd_all(fd, max, data, len, e) < 0)
                return err_wrap(e, "blob %s", digest);
        return 0;
}

int64_t store_blob_size(struct store *s, const char *digest)
{
        if (digest_check(digest, NULL) < 0)
                return -1;
        _cleanup_free_ char *p = store_blob_path(s, digest);
        struct stat st;
        return stat(p, &st) < 0 ? -1 : (int64_t)st.st_size;
}

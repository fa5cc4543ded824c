/*
 * layer: unpacked layers under layers/<chain hex>/, one per chain id:
 *
 *   layers/<hex>/diff/   the layer's files (an overlay lowerdir)
 *   layers/<hex>/link    the short id of its l/ entry
 *   l/<id> -> ../layers/<hex>/diff   short names, so a mount option string
 *                        naming 100+ lowerdirs fits in one page
 *
 * The caller pushes bytes (layer_write) while libarchive pulls them, so the
 * unpacking runs in a worker thread reading the other end of a socketpair
 * (a socket rather than a pipe: send(MSG_NOSIGNAL) reports a worker that
 * gave up as EPIPE instead of raising SIGPIPE).  Two libarchive readers are
 * chained: the outer one detects and undoes the compression (gzip, zstd,
 * xz, bzip2 or none; format "raw"); the inner one parses tar from the outer one's output
 * through a callback that also hashes it, so the diff id is the digest of
 * exactly the uncompressed stream, trailing padding included.
 *
 * Commit order (see docs/store.md): unpack into tmp/, create the l/ link,
 * syncfs, then with the database write lock held: rename into layers/,
 * fsync layers/, insert the row, commit.  Renames into and out of
 * layers/ happen only under that lock, so a directory there without a row
 * is garbage (a crash, or a removal in progress) and may be replaced.
 */
#include "internal.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "untar.h"

#define CHUNK (128 * 1024)

struct layer_writer {
        struct store *s;
        char *parent; /* chain id, NULL at the bottom */
        char *tmp;    /* tmp/layer-XXXXXX, holds diff/ (and link) */
        int diffd;    /* tmp/.../diff, for untar */
        int sock;     /* our end; the worker reads `wsock` */
        int wsock;    /* owned and closed by the worker */
        pthread_t thread;
        int running; /* thread started and not joined */
        /* worker results, read after the join */
        int rc;
        struct err *werr;
        struct untar_stats st;
        char diff_id[DIGEST_LEN + 1];
        char link[LINK_ID_LEN + 1]; /* our l/ entry, once made */
        /* worker state */
        struct archive *outer;
        struct digester *d;
        char buf[CHUNK];
};

void store_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1])
{
        if (parent_chain == NULL || *parent_chain == '\0') {
                snprintf(out, DIGEST_LEN + 1, "%s", diff_id);
                return;
        }
        _cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
        digest_buf(s, strlen(s), out);
}

int store_layer_has(struct store *s, const char *chain_id)
{
        if (digest_check(chain_id, NULL) < 0)
                return 0;
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        return db_layer_exists(s, chain_id, NULL) == 1;
}

char *store_layer_dir(struct store *s, const char *chain_id)
{
        if (digest_check(chain_id, NULL) < 0)
                return NULL;
        return xasprintf("%s/layers/%s/diff", s->root, digest_hex(chain_id));
}

int store_layer_blob(struct store *s, const char *chain_id, char out[DIGEST_LEN + 1],
                     struct err **e)
{
        out[0] = '\0';
        if (digest_check(chain_id, e) < 0)
                return err_wrap(e, "layer");
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "SELECT blob FROM layers WHERE chain_id = ?", "s", chain_id) < 0)
                return -1;
        int r = db_step(s, st, e);
        if (r == 0)
                return err_new(e, ENOENT, "layer %s is not in the store", chain_id);
        if (r < 0)
                return -1;
        const char *b = (const char *)sqlite3_column_text(st, 0);
        if (b)
                snprintf(out, DIGEST_LEN + 1, "%s", b);
        return 0;
}

/* ---- the worker ---- */

static la_ssize_t inner_read(struct archive *inner, void *arg, const void **buf)
{
        struct layer_writer *w = arg;
        la_ssize_t n = archive_read_data(w->outer, w->buf, sizeof(w->buf));
        if (n < 0) {
                archive_set_error(inner, archive_errno(w->outer), "%s",
                                  archive_error_string(w->outer));
                return -1;
        }
        digester_update(w->d, w->buf, (size_t)n);
        *buf = w->buf;
        return n;
}

static int archive_fail(struct archive *a, struct err **e, const char *what)
{
        const char *msg = archive_error_string(a);
        return err_new(e, 0, "%s: %s", what, msg ? msg : "unknown libarchive error");
}

/* Hash what the tar reader left (end-of-archive padding), then drain the
 * socket so the writer never blocks on bytes nobody reads. */
static int drain(struct layer_writer *w, struct err **e)
{
        la_ssize_t n;
        while ((n = archive_read_data(w->outer, w->buf, sizeof(w->buf))) > 0)
                digester_update(w->d, w->buf, (size_t)n);
        if (n < 0)
                return archive_fail(w->outer, e, "decompressing layer");
        ssize_t k;
        while ((k = read(w->wsock, w->buf, sizeof(w->buf))) > 0 || (k < 0 && errno == EINTR))
                ;
        return 0;
}

static int open_outer(struct layer_writer *w, struct err **e)
{
        struct archive_entry *ent;
        w->outer = archive_read_new();
        /* Docker's layer compressions; not _all, which would run external
         * programs (lrzip, lzop, grzip) for exotic input */
        archive_read_support_filter_gzip(w->outer);
        archive_read_support_filter_zstd(w->outer);
        archive_read_support_filter_xz(w->outer);
        archive_read_support_filter_bzip2(w->outer);
        archive_read_support_format_raw(w->outer);
        if (archive_read_open_fd(w->outer, w->wsock, CHUNK) != ARCHIVE_OK)
                return archive_fail(w->outer, e, "reading layer");
        int r = archive_read_next_header(w->outer, &ent);
        if (r == ARCHIVE_EOF)
                return err_new(e, 0, "layer stream is empty");
        if (r < ARCHIVE_WARN)
                return archive_fail(w->outer, e, "reading layer");
        return 0;
}

static int unpack(struct layer_writer *w, struct err **e)
{
        if (open_outer(w, e) < 0)
                return -1;
        struct archive *inner = archive_read_new();
        archive_read_support_format_tar(inner);
        int r = -1;
        if (archive_read_open(inner, w, NULL, inner_read, NULL) != ARCHIVE_OK)
                archive_fail(inner, e, "reading layer tar");
        else if (untar_archive(inner, w->diffd, &w->st, e) == 0)
                r = drain(w, e);
        archive_read_free(inner);
        if (r == 0)
                digester_final(w->d, w->diff_id);
        return r;
}

static void *worker(void *arg)
{
        struct layer_writer *w = arg;
        w->rc = unpack(w, &w->werr);
        if (w->rc < 0) /* EOF for our reads, EPIPE for the writer: stop the feed now */
                shutdown(w->wsock, SHUT_RDWR);
        archive_read_free(w->outer);
        w->outer = NULL;
        close(w->wsock); /* a writer still sending now gets EPIPE */
        w->wsock = -1;
        return NULL;
}

/* ---- the writer ---- */

static int join(struct layer_writer *w)
{
        if (w->sock >= 0)
                close(w->sock);
        w->sock = -1;
        if (w->running)
                pthread_join(w->thread, NULL);
        w->running = 0;
        return w->rc;
}

static void writer_free(struct layer_writer *w)
{
        join(w);
        if (w->diffd >= 0)
                close(w->diffd);
        _cleanup_err_ struct err *e = NULL;
        if (w->tmp && rm_rf(w->tmp, &e) < 0)
                log_warn("store: %s", e->msg);
        err_free(&w->werr);
        digester_free(w->d);
        free(w->tmp);
        free(w->parent);
        free(w);
}

static int setup(struct layer_writer *w, struct err **e)
{
        w->tmp = xasprintf("%s/tmp/layer-XXXXXX", w->s->root);
        if (mkdtemp(w->tmp) == NULL) {
                err_sys(e, "create %s", w->tmp);
                free(TAKE_PTR(w->tmp));
                return -1;
        }
        _cleanup_free_ char *diff = xasprintf("%s/diff", w->tmp);
        if (mkdir(diff, 0755) < 0)
                return err_sys(e, "mkdir %s", diff);
        w->diffd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->diffd < 0)
                return err_sys(e, "open %s", diff);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return err_sys(e, "socketpair");
        w->sock = sv[0];
        w->wsock = sv[1];
        int sz = 1 << 20;
        setsockopt(w->sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        int r = pthread_create(&w->thread, NULL, worker, w);
        if (r != 0) {
                close(TAKE_FD(w->wsock));
                return err_new(e, r, "start layer unpacking thread");
        }
        w->running = 1;
        return 0;
}

static int check_parent(struct store *s, const char *parent, struct err **e)
{
        if (digest_check(parent, e) < 0)
                return err_wrap(e, "parent layer");
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        int has = db_layer_exists(s, parent, e);
        if (has == 0)
                return err_new(e, ENOENT, "parent layer %s is not in the store", parent);
        return has < 0 ? -1 : 0;
}

int store_layer_begin(struct store *s, const char *parent_chain, struct layer_writer **out,
                      struct err **e)
{
        *out = NULL;
        if (parent_chain && *parent_chain && check_parent(s, parent_chain, e) < 0)
                return -1;
        struct layer_writer *w = xcalloc(1, sizeof(*w));
        w->s = s;
        w->diffd = w->sock = w->wsock = -1;
        w->parent = parent_chain && *parent_chain ? xstrdup(parent_chain) : NULL;
        w->d = digester_new();
        if (setup(w, e) < 0) {
                writer_free(w);
                return -1;
        }
        *out = w;
        return 0;
}

/* The worker stopped early: its error is the one to report. */
static int worker_failed(struct layer_writer *w, struct err **e)
{
        join(w);
        if (w->werr && e && *e == NULL) {
                *e = TAKE_PTR(w->werr);
                return -1;
        }
        return err_new(e, 0, "unpacking layer: stopped before the end of the stream");
}

int layer_write(struct layer_writer *w, const void *buf, size_t n, struct err **e)
{
        const char *p = buf;
        while (n > 0) {
                if (w->sock < 0)
                        return worker_failed(w, e);
                ssize_t k = send(w->sock, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return worker_failed(w, e);
                if (k < 0)
                        return err_sys(e, "feed layer to unpacker");
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

void layer_abort(struct layer_writer *w)
{
        if (w)
                writer_free(w);
}

/* ---- commit ---- */

static void random_link_id(char out[LINK_ID_LEN + 1])
{
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char r[LINK_ID_LEN];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
                unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)clock();
                for (size_t i = 0; i < sizeof(r); i++)
                        r[i] = (unsigned char)rand_r(&seed);
        }
        for (int i = 0; i < LINK_ID_LEN; i++)
                out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
        out[LINK_ID_LEN] = '\0';
}

/* Create l/<id> for the layer and record id in tmp/.../link. */
static int make_link(struct layer_writer *w, const char *chain, struct err **e)
{
        _cleanup_free_ char *target = xasprintf("../layers/%s/diff", digest_hex(chain));
        _cleanup_free_ char *linkfile = xasprintf("%s/link", w->tmp);
        for (int tries = 0;; tries++) {
                random_link_id(w->link);
                _cleanup_free_ char *l = xasprintf("%s/l/%s", w->s->root, w->link);
                if (symlink(target, l) == 0)
                        break;
                if (errno != EEXIST || tries > 100) {
                        w->link[0] = '\0';
                        return err_sys(e, "symlink %s", l);
                }
        }
        return write_file(linkfile, w->link, strlen(w->link), 0644, e);
}

static void drop_own_link(struct layer_writer *w)
{
        if (w->link[0]) {
                _cleanup_free_ char *l = xasprintf("%s/l/%s", w->s->root, w->link);
                unlink(l);
        }
}

static void unlink_link(struct store *s, const char *chain)
{
        _cleanup_free_ char *id = layer_link_id(s, chain);
        if (id) {
                _cleanup_free_ char *l = xasprintf("%s/l/%s", s->root, id);
                unlink(l);
        }
}

char *layer_set_aside_locked(struct store *s, const char *chain_id)
{
        _cleanup_free_ char *path = store_layer_path(s, chain_id);
        unlink_link(s, chain_id);
        return store_set_aside(s, path);
}

static void discard_layer_locked(struct store *s, const char *chain_id)
{
        _cleanup_free_ char *aside = layer_set_aside_locked(s, chain_id);
        if (aside)
                store_discard_dir(s, aside);
}

static int insert_row(struct layer_writer *w, const char *chain, const char *blob, struct err **e)
{
        /* OR REPLACE: a row an earlier boot left unsynced counts as absent */
        return db_run(w->s, e,
                      "INSERT OR REPLACE INTO layers (chain_id, diff_id, parent, blob, size, added,"
                      " boot) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      "ssssiis", chain, w->diff_id, w->parent, blob, (int64_t)w->st.bytes,
                      (int64_t)time(NULL), w->s->boot);
}

/* The layer is there already; remember its compressed blob if it had none
 * (an imported layer that a pull or push meets again). */
static int keep_blob(struct store *s, const char *chain, const char *blob, struct err **e)
{
        if (blob == NULL)
                return 1;
        if (db_run(s, e, "UPDATE layers SET blob = ? WHERE chain_id = ? AND blob IS NULL", "ss",
                   blob, chain) < 0)
                return -1;
        return 1;
}

/* With the write lock held: put tmp/... in place as layers/<hex>. */
static int install_locked(struct layer_writer *w, const char *chain, const char *blob,
                          struct err **e)
{
        int has = db_layer_exists(w->s, chain, e);
        if (has != 0) /* 1: another writer won; our copy is discarded */
                return has < 0 ? -1 : keep_blob(w->s, chain, blob, e);
        _cleanup_free_ char *path = store_layer_path(w->s, chain);
        if (access(path, F_OK) == 0) /* garbage: no row names it */
                discard_layer_locked(w->s, chain);
        if (rename(w->tmp, path) < 0)
                return err_sys(e, "rename %s to %s", w->tmp, path);
        free(TAKE_PTR(w->tmp));
        _cleanup_free_ char *layers = xasprintf("%s/layers", w->s->root);
        if (fsync_dir(layers, e) < 0 || insert_row(w, chain, blob, e) < 0) {
                discard_layer_locked(w->s, chain);
                return -1;
        }
        return 0;
}

/* The link is made first (dangling until the rename; harmless, and swept
 * if we die).  The files are not synced here: a row names the layer with
 * this boot's id until store_image_put syncs the filesystem once for all
 * of an image's layers (so unpacking overlaps with writeback instead of
 * waiting for it layer by layer).  A process killed meanwhile loses
 * nothing (the page cache survives it); after a power loss, a row still
 * marked with an earlier boot counts as absent and is swept. */
static int install(struct layer_writer *w, const char *chain, const char *blob, struct err **e)
{
        if (make_link(w, chain, e) < 0) {
                drop_own_link(w);
                return -1;
        }
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(w->s);
        int r = db_begin(w->s, e);
        if (r == 0)
                r = db_end(w->s, install_locked(w, chain, blob, e), e);
        if (r != 0) /* not ours in the end: another writer's or none */
                drop_own_link(w);
        return r;
}

static int check_commit_args(struct layer_writer *w, const char *expected, const char *blob,
                             struct err **e)
{
        if (expected && digest_check(expected, e) < 0)
                return err_wrap(e, "expected diff id");
        if (blob && *blob && digest_check(blob, e) < 0)
                return err_wrap(e, "layer blob");
        if (expected && strcmp(expected, w->diff_id) != 0)
                return err_new(e, 0, "layer diff id mismatch: expected %s, got %s", expected,
                               w->diff_id);
        return 0;
}

int layer_commit(struct layer_writer *w, const char *expected_diff_id, const char *blob,
                 char diff_id_out[DIGEST_LEN + 1], char chain_id_out[DIGEST_LEN + 1],
                 struct err **e)
{
        char chain[DIGEST_LEN + 1];
        int r = join(w);
        if (r < 0) {
                worker_failed(w, e);
                err_wrap(e, "unpacking layer");
        } else if ((r = check_commit_args(w, expected_diff_id, blob, e)) == 0) {
                store_chain_id(w->parent, w->diff_id, chain);
                r = install(w, chain, blob && *blob ? blob : NULL, e);
        }
        if (r >= 0 && diff_id_out)
                memcpy(diff_id_out, w->diff_id, DIGEST_LEN + 1);
        if (r >= 0 && chain_id_out)
                memcpy(chain_id_out, chain, DIGEST_LEN + 1);
        writer_free(w);
        return r < 0 ? -1 : 0;
}

/*
 * store against the real filesystem and kernel (needs root for overlay
 * mounts): blobs, layers from tars built here with libarchive (plain, gzip,
 * zstd) checked against an independent sha256, chain ids, idempotent and
 * concurrent commits (forked processes), images and references, removal
 * with shared layers, crash safety (a child SIGKILLed mid-write), and
 * overlay snapshots (two layers with a whiteout, one layer, 150 layers).
 *
 * Everything lives in /tmp/barge-store-test-XXXXXX, one fresh store root
 * per test; cleanup() closes the test's store, detaches any mount left
 * below the directory, and the directory is removed at the end.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/store/store.h"
#include "harness.h"

static char top[64];    /* /tmp/barge-store-test-XXXXXX */
static char root[128];  /* this test's store root */
static struct store *S; /* this test's store, closed by cleanup() */
static int test_no;

/* ---- fixtures ---------------------------------------------------------- */

struct buf {
        unsigned char *p;
        size_t n, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
        if (b->n + n > b->cap) {
                b->cap = (b->n + n) * 2;
                b->p = realloc(b->p, b->cap);
        }
        memcpy(b->p + b->n, data, n);
        b->n += n;
}

static void buf_free(struct buf *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
}

static la_ssize_t buf_write_cb(struct archive *a, void *ctx, const void *data, size_t n)
{
        buf_add(ctx, data, n);
        return (la_ssize_t)n;
}

/* One tar entry: 'f' file (content), 'd' directory, 'l' symlink (content = target). */
struct ent {
        char type;
        const char *path;
        const char *content;
};

static void add_entry(struct archive *a, const struct ent *x)
{
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, x->path);
        archive_entry_set_mtime(ae, 1700000000, 0);
        if (x->type == 'd') {
                archive_entry_set_filetype(ae, AE_IFDIR);
                archive_entry_set_perm(ae, 0755);
        } else if (x->type == 'l') {
                archive_entry_set_filetype(ae, AE_IFLNK);
                archive_entry_set_perm(ae, 0777);
                archive_entry_set_symlink(ae, x->content);
        } else {
                archive_entry_set_filetype(ae, AE_IFREG);
                archive_entry_set_perm(ae, 0644);
                archive_entry_set_size(ae, (la_int64_t)strlen(x->content));
        }
        archive_write_header(a, ae);
        if (x->type == 'f')
                archive_write_data(a, x->content, strlen(x->content));
        archive_entry_free(ae);
}

/* An uncompressed tar (padded to libarchive's 10 KiB records). */
static void make_tar(const struct ent *ents, size_t n, struct buf *out)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_none(a);
        archive_write_open(a, out, NULL, buf_write_cb, NULL);
        for (size_t i = 0; i < n; i++)
                add_entry(a, &ents[i]);
        archive_write_close(a);
        archive_write_free(a);
}

/* `in` compressed with filter "gzip", "zstd" or "none" (a copy). */
static int compress(const struct buf *in, const char *filter, struct buf *out)
{
        if (!strcmp(filter, "none")) {
                buf_add(out, in->p, in->n);
                return 0;
        }
        struct archive *a = archive_write_new();
        archive_write_set_format_raw(a);
        if (archive_write_add_filter_by_name(a, filter) != ARCHIVE_OK) {
                archive_write_free(a);
                return -1;
        }
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, out, NULL, buf_write_cb, NULL);
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, "data");
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, (la_int64_t)in->n);
        archive_write_header(a, ae);
        archive_write_data(a, in->p, in->n);
        archive_entry_free(ae);
        archive_write_close(a);
        archive_write_free(a);
        return 0;
}

/* sha256 by OpenSSL directly, not through digest.c. */
static void sha256_of(const void *data, size_t n, char out[DIGEST_LEN + 1])
{
        unsigned char md[32];
        unsigned len = 0;
        EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
        strcpy(out, "sha256:");
        for (int i = 0; i < 32; i++)
                sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static void new_root(void)
{
        snprintf(root, sizeof(root), "%s/%d", top, ++test_no);
}

static int open_store(void)
{
        struct err *e = NULL;
        int r = store_open(root, &S, &e);
        if (r < 0) {
                printf("# store_open: %s\n", e->msg);
                err_free(&e);
        }
        return r;
}

static void print_err(const char *what, struct err **e)
{
        if (*e)
                printf("# %s: %s\n", what, (*e)->msg);
        err_free(e);
}

/* Feed `data` in uneven chunks, as a download would. */
static int layer_from(struct store *s, const char *parent, const struct buf *data,
                      const char *expected, char diff[DIGEST_LEN + 1], char chain[DIGEST_LEN + 1],
                      struct err **e)
{
        struct layer_writer *w = NULL;
        if (store_layer_begin(s, parent, &w, e) < 0)
                return -1;
        for (size_t off = 0, k = 1; off < data->n; off += k, k = k * 3 % 7919 + 1) {
                if (k > data->n - off)
                        k = data->n - off;
                if (layer_write(w, data->p + off, k, e) < 0) {
                        layer_abort(w);
                        return -1;
                }
        }
        return layer_commit(w, expected, NULL, diff, chain, e);
}

/* A layer from entries (plain tar); its diff id is checked by the store. */
static int add_layer(const char *parent, const struct ent *ents, size_t n,
                     char diff[DIGEST_LEN + 1], char chain[DIGEST_LEN + 1])
{
        struct buf tar = {0};
        make_tar(ents, n, &tar);
        char want[DIGEST_LEN + 1];
        sha256_of(tar.p, tar.n, want);
        struct err *e = NULL;
        int r = layer_from(S, parent, &tar, want, diff, chain, &e);
        print_err("add_layer", &e);
        buf_free(&tar);
        return r;
}

/* Config (with rootfs.diff_ids) and manifest blobs, then store_image_put. */
static int add_image(const char *marker, char *const *diffs, char *const *chains, size_t n,
                     char id[DIGEST_LEN + 1], char manifest[DIGEST_LEN + 1])
{
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(ids, json_string(diffs[i]));
        json_t *cfg =
            json_pack("{s:s,s:s,s:s,s:{s:s,s:o},s:{s:s}}", "created", "2024-01-02T03:04:05Z",
                      "architecture", "amd64", "os", "linux", "rootfs", "type", "layers",
                      "diff_ids", ids, "config", "Hostname", marker);
        char *text = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        struct err *e = NULL;
        int r = store_blob_put(S, text, strlen(text), id, &e);
        free(text);
        char *m = xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"}}", id);
        if (r == 0)
                r = store_blob_put(S, m, strlen(m), manifest, &e);
        free(m);
        if (r == 0)
                r = store_image_put(S, id, manifest, chains, n, &e);
        print_err("add_image", &e);
        return r;
}

static int count_entries(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int count_entries(const char *fmt, ...)
{
        char path[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        DIR *d = opendir(path);
        if (d == NULL)
                return -1;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

/* One integer from the store's database, read with sqlite3 directly. */
static long long sql_int(const char *sql)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/metadata.db", root);
        sqlite3 *db = NULL;
        long long v = -1;
        sqlite3_stmt *st = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static int file_is(const char *path, const char *content)
{
        char *data = NULL;
        struct err *e = NULL;
        if (read_file(path, 1 << 20, &data, NULL, &e) < 0) {
                print_err("read", &e);
                return 0;
        }
        int ok = strcmp(data, content) == 0;
        free(data);
        return ok;
}

static int exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static int is_mounted(const char *path)
{
        char *info = NULL;
        struct err *e = NULL;
        if (read_file("/proc/self/mountinfo", 1 << 22, &info, NULL, &e) < 0) {
                err_free(&e);
                return -1;
        }
        char *needle = xasprintf(" %s ", path);
        int r = strstr(info, needle) != NULL;
        free(needle);
        free(info);
        return r;
}

/* Detach every mount below `top` (a failed snapshot test's leftovers). */
static void detach_leftovers(void)
{
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[8192], mp[4096];
        char *found[64];
        int n = 0;
        while (f && fgets(line, sizeof(line), f) && n < 64)
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && str_has_prefix(mp, top))
                        found[n++] = xstrdup(mp);
        if (f)
                fclose(f);
        while (n-- > 0) {
                umount2(found[n], MNT_DETACH);
                free(found[n]);
        }
}

static void cleanup(void)
{
        store_close(S);
        S = NULL;
        detach_leftovers();
}

#define T(fn)                                                                                      \
        do {                                                                                       \
                new_root();                                                                        \
                RUN(fn);                                                                           \
                cleanup();                                                                         \
        } while (0)

/* ---- open and layout ---------------------------------------------------- */

static void test_open_layout(void)
{
        CHECK(open_store() == 0);
        static const char *const dirs[] = {"blobs/sha256", "layers", "l", "tmp"};
        char p[256];
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
                CHECK(exists(p));
        }
        CHECK(sql_int("PRAGMA user_version") == 2);
        CHECK(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'refs'") == 1);
        CHECK(strstr(store_root(S), root) != NULL);
        /* WAL mode is a property of the file */
        sqlite3 *db;
        snprintf(p, sizeof(p), "%s/metadata.db", root);
        CHECK(sqlite3_open(p, &db) == SQLITE_OK);
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
        int wal = st && sqlite3_step(st) == SQLITE_ROW &&
                  !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(db);
        CHECK(wal);
}

/* Debris a crash could leave: tmp/ entries, a layer directory without a
 * row, dangling and stale l/ links.  A store_open alone removes them; one
 * that finds the store open elsewhere leaves them. */
static void test_open_sweeps_debris(void)
{
        /* held open elsewhere while the debris appears: no sweep yet */
        struct store *other = NULL;
        CHECK(store_open(root, &other, NULL) == 0);
        char p[512];
        snprintf(p, sizeof(p), "%s/tmp/layer-junk/diff/x", root);
        CHECK(mkdir_p(p, 0755, NULL) == 0);
        snprintf(p, sizeof(p), "%s/tmp/blob-junk", root);
        CHECK(write_file(p, "x", 1, 0644, NULL) == 0);
        char hex[65];
        memset(hex, 'a', 64);
        hex[64] = '\0';
        snprintf(p, sizeof(p), "%s/layers/%s/diff", root, hex);
        CHECK(mkdir_p(p, 0755, NULL) == 0);
        snprintf(p, sizeof(p), "%s/l/DANGLINGLINK", root);
        CHECK(symlink("../layers/0000/diff", p) == 0);
        snprintf(p, sizeof(p), "%s/l/ORPHANLINKXX", root);
        char target[128];
        snprintf(target, sizeof(target), "../layers/%s/diff", hex);
        CHECK(symlink(target, p) == 0);
        int r = open_store();
        int kept = count_entries("%s/tmp", root);
        store_close(S);
        S = NULL;
        store_close(other);
        CHECK(r == 0);
        CHECK(kept == 2);
        /* alone: swept */
        CHECK(open_store() == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(count_entries("%s/layers", root) == 0);
        CHECK(count_entries("%s/l", root) == 0);
}

/* ---- blobs ------------------------------------------------------------ */

static void test_blob_put_read_has(void)
{
        CHECK(open_store() == 0);
        struct err *e = NULL;
        const char *text = "hello, store";
        char d[DIGEST_LEN + 1], want[DIGEST_LEN + 1];
        sha256_of(text, strlen(text), want);
        CHECK(!store_blob_has(S, want));
        CHECK(store_blob_size(S, want) == -1);
        CHECK(store_blob_put(S, text, strlen(text), d, &e) == 0);
        CHECK_STR(d, want);
        CHECK(store_blob_has(S, want));
        CHECK(store_blob_size(S, want) == (int64_t)strlen(text));
        char *data = NULL;
        size_t len = 0;
        CHECK(store_blob_read(S, want, 1024, &data, &len, &e) == 0);
        int same = len == strlen(text) && memcmp(data, text, len) == 0;
        free(data);
        CHECK(same);
        /* again: nothing to do, same digest */
        CHECK(store_blob_put(S, text, strlen(text), d, &e) == 0);
        CHECK_STR(d, want);
        /* streaming without an expected digest */
        struct blob_writer *w = NULL;
        CHECK(store_blob_begin(S, NULL, &w, &e) == 0 && w != NULL);
        CHECK(blob_write(w, "hello, ", 7, &e) == 0);
        CHECK(blob_write(w, "store", 5, &e) == 0);
        CHECK(blob_commit(w, d, &e) == 0);
        CHECK_STR(d, want);
        /* with the expected digest of a present blob: nothing to write */
        CHECK(store_blob_begin(S, want, &w, &e) == 0 && w == NULL);
        int fd = store_blob_open(S, want, &e);
        CHECK(fd >= 0);
        char rb[64] = {0};
        ssize_t got = read(fd, rb, sizeof(rb));
        close(fd);
        CHECK(got == (ssize_t)strlen(text) && !strcmp(rb, text));
        /* too large for max */
        CHECK(store_blob_read(S, want, 4, &data, &len, &e) < 0);
        err_free(&e);
        /* missing blob: ENOENT */
        char missing[DIGEST_LEN + 1];
        sha256_of("nope", 4, missing);
        CHECK(store_blob_open(S, missing, &e) < 0 && e->code == ENOENT);
        CHECK(strstr(e->msg, missing) != NULL);
        err_free(&e);
        CHECK(store_blob_open(S, "sha256:../../etc/passwd", &e) < 0);
        err_free(&e);
        CHECK(count_entries("%s/tmp", root) == 0);
}

static void test_blob_wrong_digest(void)
{
        CHECK(open_store() == 0);
        struct err *e = NULL;
        char expected[DIGEST_LEN + 1], actual[DIGEST_LEN + 1];
        sha256_of("other", 5, expected);
        sha256_of("hello", 5, actual);
        struct blob_writer *w = NULL;
        CHECK(store_blob_begin(S, expected, &w, &e) == 0 && w != NULL);
        CHECK(blob_write(w, "hello", 5, &e) == 0);
        CHECK(blob_commit(w, NULL, &e) < 0);
        CHECK(e != NULL && strstr(e->msg, expected) && strstr(e->msg, actual));
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(!store_blob_has(S, expected) && !store_blob_has(S, actual));
        CHECK(count_entries("%s/blobs/sha256", root) == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        /* an aborted writer leaves nothing either */
        CHECK(store_blob_begin(S, NULL, &w, &e) == 0);
        CHECK(blob_write(w, "x", 1, &e) == 0);
        blob_abort(w);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(store_blob_begin(S, "sha256:abc", &w, &e) < 0);
        err_free(&e);
}

/* ---- layers ------------------------------------------------------------ */

static void test_layer_formats(void)
{
        CHECK(open_store() == 0);
        static const char *const filters[] = {"none", "gzip", "zstd", "xz", "bzip2"};
        for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
                char content[64], dir[512];
                snprintf(content, sizeof(content), "compressed with %s\n", filters[i]);
                struct ent ents[] = {{'d', "etc", NULL},
                                     {'f', "etc/format", content},
                                     {'l', "etc/link", "format"},
                                     {'d', "usr/bin", NULL}};
                struct buf tar = {0}, z = {0};
                make_tar(ents, ARRAY_SIZE(ents), &tar);
                CHECK(compress(&tar, filters[i], &z) == 0);
                CHECK(i == 0 || z.n < tar.n); /* really compressed */
                char want[DIGEST_LEN + 1], diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
                sha256_of(tar.p, tar.n, want);
                struct err *e = NULL;
                int r = layer_from(S, NULL, &z, want, diff, chain, &e);
                print_err(filters[i], &e);
                buf_free(&tar);
                buf_free(&z);
                CHECK(r == 0);
                CHECK_STR(diff, want);
                CHECK_STR(chain, want); /* a bottom layer's chain id is its diff id */
                CHECK(store_layer_has(S, chain));
                char *ld = store_layer_dir(S, chain);
                snprintf(dir, sizeof(dir), "%s/etc/format", ld);
                free(ld);
                CHECK(file_is(dir, content));
        }
        CHECK(count_entries("%s/layers", root) == 5);
        CHECK(count_entries("%s/l", root) == 5);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(sql_int("SELECT count(*) FROM layers WHERE refcount = 0 AND parent IS NULL") == 5);
}

/* Size from the unpacked files; the compressed blob is recorded, and a
 * later commit of the same layer fills in a blob the first one lacked. */
static void test_layer_size_and_blob(void)
{
        CHECK(open_store() == 0);
        struct ent ents[] = {{'f', "a", "12345"}, {'f', "b", "678"}};
        char diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1], blob[DIGEST_LEN + 1];
        CHECK(add_layer(NULL, ents, 2, diff, chain) == 0);
        CHECK(sql_int("SELECT size FROM layers") == 8);
        struct err *e = NULL;
        CHECK(store_layer_blob(S, chain, blob, &e) == 0 && blob[0] == '\0');
        struct buf tar = {0}, gz = {0};
        make_tar(ents, 2, &tar);
        compress(&tar, "gzip", &gz);
        char gzd[DIGEST_LEN + 1];
        sha256_of(gz.p, gz.n, gzd);
        struct layer_writer *w = NULL;
        int r = store_layer_begin(S, NULL, &w, &e);
        if (r == 0 && (r = layer_write(w, gz.p, gz.n, &e)) < 0)
                layer_abort(w);
        if (r == 0)
                r = layer_commit(w, diff, gzd, NULL, NULL, &e);
        buf_free(&tar);
        buf_free(&gz);
        print_err("commit", &e);
        CHECK(r == 0);
        CHECK(store_layer_blob(S, chain, blob, &e) == 0);
        CHECK_STR(blob, gzd);
        CHECK(store_layer_blob(S, gzd, blob, &e) < 0 && e->code == ENOENT);
        err_free(&e);
}

static void test_layer_wrong_diff_id(void)
{
        CHECK(open_store() == 0);
        struct ent ents[] = {{'f', "file", "data"}};
        struct buf tar = {0};
        make_tar(ents, 1, &tar);
        char wrong[DIGEST_LEN + 1], real[DIGEST_LEN + 1], diff[DIGEST_LEN + 1],
            chain[DIGEST_LEN + 1];
        sha256_of("not this", 8, wrong);
        sha256_of(tar.p, tar.n, real);
        struct err *e = NULL;
        int r = layer_from(S, NULL, &tar, wrong, diff, chain, &e);
        buf_free(&tar);
        CHECK(r < 0);
        CHECK(e && strstr(e->msg, wrong) && strstr(e->msg, real));
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(!store_layer_has(S, real));
        CHECK(count_entries("%s/layers", root) == 0);
        CHECK(count_entries("%s/l", root) == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(sql_int("SELECT count(*) FROM layers") == 0);
}

static void test_layer_not_a_tar(void)
{
        CHECK(open_store() == 0);
        struct buf junk = {0};
        for (int i = 0; i < 20000; i++)
                buf_add(&junk, "garbage!", 8);
        char diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
        struct err *e = NULL;
        int r = layer_from(S, NULL, &junk, NULL, diff, chain, &e);
        buf_free(&junk);
        CHECK(r < 0 && e != NULL);
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(count_entries("%s/layers", root) == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        /* an aborted layer leaves nothing */
        struct layer_writer *w = NULL;
        CHECK(store_layer_begin(S, NULL, &w, &e) == 0);
        CHECK(layer_write(w, "abc", 3, &e) == 0);
        layer_abort(w);
        CHECK(count_entries("%s/tmp", root) == 0);
        /* a missing parent is refused up front */
        char parent[DIGEST_LEN + 1];
        sha256_of("parent", 6, parent);
        CHECK(store_layer_begin(S, parent, &w, &e) < 0 && e->code == ENOENT);
        err_free(&e);
}

static void test_chain_id(void)
{
        /* values from sha256sum: P = sha256("one"), D = sha256("two"),
         * chain = sha256("<P> <D>") */
        const char *p = "sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed";
        const char *d = "sha256:3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3";
        char out[DIGEST_LEN + 1];
        store_chain_id(p, d, out);
        CHECK_STR(out, "sha256:ee90d7132b9e9a049b7b0a88db345ca31fb5e8a74a5ee57210478a9a2522d499");
        store_chain_id(NULL, d, out);
        CHECK_STR(out, d);
        store_chain_id("", d, out);
        CHECK_STR(out, d);

        /* and a real two-layer stack */
        CHECK(open_store() == 0);
        struct ent lower[] = {{'f', "lower", "1"}}, upper[] = {{'f', "upper", "2"}};
        char d1[DIGEST_LEN + 1], c1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1], c2[DIGEST_LEN + 1];
        CHECK(add_layer(NULL, lower, 1, d1, c1) == 0);
        CHECK(add_layer(c1, upper, 1, d2, c2) == 0);
        char joined[2 * DIGEST_LEN + 2], want[DIGEST_LEN + 1];
        snprintf(joined, sizeof(joined), "%s %s", c1, d2);
        sha256_of(joined, strlen(joined), want);
        CHECK_STR(c2, want);
        char q[DIGEST_LEN + 64];
        snprintf(q, sizeof(q), "SELECT count(*) FROM layers WHERE parent = '%s'", c1);
        CHECK(sql_int(q) == 1);
}

static void test_layer_twice(void)
{
        CHECK(open_store() == 0);
        struct ent ents[] = {{'d', "x", NULL}, {'f', "x/y", "same"}};
        char d1[DIGEST_LEN + 1], c1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1], c2[DIGEST_LEN + 1];
        CHECK(add_layer(NULL, ents, 2, d1, c1) == 0);
        CHECK(add_layer(NULL, ents, 2, d2, c2) == 0);
        CHECK_STR(c1, c2);
        CHECK(count_entries("%s/layers", root) == 1);
        CHECK(count_entries("%s/l", root) == 1);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(sql_int("SELECT count(*) FROM layers") == 1);
}

static int sql_exec(const char *sql)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/metadata.db", root);
        sqlite3 *db = NULL;
        int r = sqlite3_open(path, &db) == SQLITE_OK &&
                        sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
                    ? 0
                    : -1;
        sqlite3_close(db);
        return r;
}

/* Layers are unpacked without a sync; the image that takes them syncs once
 * and marks them durable.  One left unsynced by an earlier boot (a power
 * loss may have cut its files) counts as absent and is swept. */
static void test_layer_sync_deferred(void)
{
        CHECK(open_store() == 0);
        struct ent ents[] = {{'f', "a", "one"}};
        struct ent ents2[] = {{'f', "b", "two"}};
        char d1[DIGEST_LEN + 1], c1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1], c2[DIGEST_LEN + 1];
        CHECK(add_layer(NULL, ents, 1, d1, c1) == 0);
        CHECK(add_layer(NULL, ents2, 1, d2, c2) == 0);
        CHECK(sql_int("SELECT count(*) FROM layers WHERE boot != ''") == 2);
        char *diffs[] = {d1}, *chains[] = {c1};
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        CHECK(add_image("sync", diffs, chains, 1, id, man) == 0);
        CHECK(sql_int("SELECT count(*) FROM layers WHERE boot = ''") == 1);
        /* the unclaimed one, as if written before a reboot */
        CHECK(sql_exec("UPDATE layers SET boot = 'an-earlier-boot' WHERE boot != ''") == 0);
        CHECK(store_layer_has(S, c2) == 0);
        CHECK(store_layer_has(S, c1) == 1);
        store_close(S);
        S = NULL;
        CHECK(open_store() == 0); /* alone: sweeps */
        CHECK(sql_int("SELECT count(*) FROM layers") == 1);
        CHECK(count_entries("%s/layers", root) == 1);
        /* and the layer can be unpacked again */
        CHECK(add_layer(NULL, ents2, 1, d2, c2) == 0);
        CHECK(store_layer_has(S, c2) == 1);
}

/* A layer directory without a row (a crash after the rename, while the
 * store stayed open elsewhere so no sweep ran) is replaced by the next
 * commit of that layer, its stale link dropped. */
static void test_layer_replaces_garbage(void)
{
        struct store *other = NULL;
        CHECK(store_open(root, &other, NULL) == 0);
        int r = open_store();
        struct ent ents[] = {{'f', "real", "content"}};
        struct buf tar = {0};
        make_tar(ents, 1, &tar);
        char chain[DIGEST_LEN + 1], diff[DIGEST_LEN + 1];
        sha256_of(tar.p, tar.n, chain);
        char p[512];
        snprintf(p, sizeof(p), "%s/layers/%s/diff/junk", root, chain + 7);
        if (r == 0)
                r = mkdir_p(p, 0755, NULL);
        snprintf(p, sizeof(p), "%s/layers/%s/link", root, chain + 7);
        if (r == 0)
                r = write_file(p, "STALELINKXXX", 12, 0644, NULL);
        snprintf(p, sizeof(p), "%s/l/STALELINKXXX", root);
        char target[128];
        snprintf(target, sizeof(target), "../layers/%s/diff", chain + 7);
        if (r == 0)
                r = symlink(target, p);
        struct err *e = NULL;
        if (r == 0)
                r = layer_from(S, NULL, &tar, chain, diff, chain, &e);
        print_err("commit", &e);
        buf_free(&tar);
        store_close(other);
        CHECK(r == 0);
        CHECK(!exists(p));
        CHECK(count_entries("%s/l", root) == 1);
        snprintf(p, sizeof(p), "%s/layers/%s/diff/junk", root, chain + 7);
        CHECK(!exists(p));
        snprintf(p, sizeof(p), "%s/layers/%s/diff/real", root, chain + 7);
        CHECK(file_is(p, "content"));
        CHECK(count_entries("%s/tmp", root) == 0);
}

struct thread_job {
        int n;
        int rc;
};

static void *commit_thread(void *arg)
{
        struct thread_job *j = arg;
        char name[16], diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
        snprintf(name, sizeof(name), "thread%d", j->n);
        struct ent ents[] = {{'f', name, name}};
        struct buf tar = {0};
        make_tar(ents, 1, &tar);
        struct err *e = NULL;
        j->rc = layer_from(S, NULL, &tar, NULL, diff, chain, &e);
        if (j->rc == 0)
                j->rc = store_blob_put(S, name, strlen(name), NULL, &e);
        print_err(name, &e);
        buf_free(&tar);
        return NULL;
}

/* One struct store shared by threads, each with its own writers. */
static void test_threads_share_store(void)
{
        CHECK(open_store() == 0);
        pthread_t t[4];
        struct thread_job jobs[4];
        for (int i = 0; i < 4; i++) {
                jobs[i] = (struct thread_job){.n = i, .rc = -1};
                CHECK(pthread_create(&t[i], NULL, commit_thread, &jobs[i]) == 0);
        }
        int ok = 1;
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                ok &= jobs[i].rc == 0;
        }
        CHECK(ok);
        CHECK(sql_int("SELECT count(*) FROM layers") == 4);
        CHECK(count_entries("%s/blobs/sha256", root) == 4);
}

/* Every layer's refcount is the number of images that list it. */
static long long refcount_errors(void)
{
        return sql_int("SELECT count(*) FROM layers WHERE refcount != (SELECT count(*) FROM "
                       "image_layers il WHERE il.chain_id = layers.chain_id)");
}

#define NCHILD 4

/* Children that all open the store, then start at once (when the parent
 * closes the pipe) to commit the same layer and blob and put the same
 * image.  Each must succeed; one layer, one blob, one image remain. */
static void test_concurrent_commits(void)
{
        CHECK(open_store() == 0);
        struct ent ents[NCHILD * 8];
        char names[NCHILD * 8][16];
        for (int i = 0; i < NCHILD * 8; i++) {
                snprintf(names[i], sizeof(names[i]), "file%d", i);
                ents[i] = (struct ent){'f', names[i], "concurrent content"};
        }
        struct buf tar = {0};
        make_tar(ents, ARRAY_SIZE(ents), &tar);
        char diff[DIGEST_LEN + 1];
        sha256_of(tar.p, tar.n, diff);
        char *diffs[] = {diff};
        char *cfg = xasprintf("{\"created\":\"2024-01-02T03:04:05Z\",\"rootfs\":{\"type\":"
                              "\"layers\",\"diff_ids\":[\"%s\"]}}",
                              diff);
        char id[DIGEST_LEN + 1];
        sha256_of(cfg, strlen(cfg), id);
        int go[2];
        CHECK(pipe(go) == 0);
        pid_t pids[NCHILD];
        for (int i = 0; i < NCHILD; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        close(go[1]);
                        struct store *s = NULL;
                        struct err *e = NULL;
                        char d[DIGEST_LEN + 1], c[DIGEST_LEN + 1];
                        int r = store_open(root, &s, &e);
                        char x;
                        if (read(go[0], &x, 1) < 0)
                                r = -1;
                        if (r == 0)
                                r = layer_from(s, NULL, &tar, diffs[0], d, c, &e);
                        if (r == 0)
                                r = store_blob_put(s, cfg, strlen(cfg), NULL, &e);
                        if (r == 0)
                                r = store_image_put(s, id, NULL, diffs, 1, &e);
                        if (r < 0)
                                printf("# child %d: %s\n", i, e ? e->msg : "?");
                        store_close(s);
                        _exit(r == 0 ? 0 : 1);
                }
        }
        close(go[0]);
        usleep(100 * 1000);
        close(go[1]);
        int ok = 1;
        for (int i = 0; i < NCHILD; i++) {
                int st;
                ok &= pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
                      WEXITSTATUS(st) == 0;
        }
        buf_free(&tar);
        free(cfg);
        CHECK(ok);
        CHECK(count_entries("%s/layers", root) == 1);
        CHECK(count_entries("%s/l", root) == 1);
        CHECK(count_entries("%s/blobs/sha256", root) == 1);
        CHECK(sql_int("SELECT count(*) FROM layers") == 1);
        CHECK(sql_int("SELECT refcount FROM layers") == 1);
        CHECK(sql_int("SELECT count(*) FROM images") == 1);
        CHECK(refcount_errors() == 0);
        CHECK(store_layer_has(S, diff));
}

/* Processes opening a store that does not exist yet, all at once: the
 * schema is made once, each succeeds. */
static void test_concurrent_first_open(void)
{
        int go[2];
        CHECK(pipe(go) == 0);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        close(go[1]);
                        char x;
                        if (read(go[0], &x, 1) < 0)
                                _exit(2);
                        struct store *s = NULL;
                        struct err *e = NULL;
                        char blob[32];
                        snprintf(blob, sizeof(blob), "blob %d", i);
                        int r = store_open(root, &s, &e);
                        if (r == 0)
                                r = store_blob_put(s, blob, strlen(blob), NULL, &e);
                        if (r < 0)
                                printf("# child %d: %s\n", i, e ? e->msg : "?");
                        store_close(s);
                        _exit(r == 0 ? 0 : 1);
                }
        }
        close(go[0]);
        usleep(50 * 1000);
        close(go[1]);
        int ok = 1;
        for (int i = 0; i < 8; i++) {
                int st;
                ok &= pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
                      WEXITSTATUS(st) == 0;
        }
        CHECK(ok);
        CHECK(count_entries("%s/blobs/sha256", root) == 8);
        CHECK(sql_int("PRAGMA user_version") == 2);
}

/* ---- images and references ---------------------------------------------- */

struct two_layers {
        char d[2][DIGEST_LEN + 1], c[2][DIGEST_LEN + 1];
        char *diffs[2], *chains[2];
};

static int two_layers(struct two_layers *t, const char *tag)
{
        char path[32];
        snprintf(path, sizeof(path), "%s-bottom", tag);
        struct ent lower[] = {{'f', path, "b"}}, upper[] = {{'f', tag, "top"}};
        for (int i = 0; i < 2; i++) {
                t->diffs[i] = t->d[i];
                t->chains[i] = t->c[i];
        }
        if (add_layer(NULL, lower, 1, t->d[0], t->c[0]) < 0)
                return -1;
        return add_layer(t->c[0], upper, 1, t->d[1], t->c[1]);
}

static void test_image_put_get(void)
{
        CHECK(open_store() == 0);
        struct two_layers t;
        CHECK(two_layers(&t, "img") == 0);
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        CHECK(add_image("one", t.diffs, t.chains, 2, id, man) == 0);
        CHECK(add_image("one", t.diffs, t.chains, 2, id, man) == 0); /* idempotent */
        CHECK(sql_int("SELECT count(*) FROM images") == 1);
        CHECK(sql_int("SELECT max(refcount) FROM layers") == 1);

        struct err *e = NULL;
        const char *tag = "docker.io/library/test:latest";
        char *dref = xasprintf("docker.io/library/test@%s", man);
        CHECK(store_tag(S, tag, id, &e) == 0);
        int r = store_tag(S, dref, id, &e);
        print_err("tag", &e);
        CHECK(r == 0);

        char hex[65], prefix[16], sprefix[24];
        snprintf(hex, sizeof(hex), "%s", id + 7);
        snprintf(prefix, sizeof(prefix), "%.8s", hex);
        snprintf(sprefix, sizeof(sprefix), "sha256:%.6s", hex);
        const char *queries[] = {tag, dref, id, hex, prefix, sprefix};
        for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
                struct store_image *img = NULL;
                r = store_image_get(S, queries[i], &img, &e);
                print_err(queries[i], &e);
                CHECK(r == 0);
                int good = !strcmp(img->id, id) && !strcmp(img->manifest, man) &&
                           img->n_layers == 2 && !strcmp(img->chain_ids[0], t.c[0]) &&
                           !strcmp(img->chain_ids[1], t.c[1]) && img->n_tags == 1 &&
                           !strcmp(img->repo_tags[0], tag) && img->n_digests == 1 &&
                           !strcmp(img->repo_digests[0], dref) && img->created == 1704164645 &&
                           img->size == 4;
                store_image_free(img);
                CHECK(good);
        }
        free(dref);
        /* refs match exactly; short prefixes and unknown names are refused */
        const char *bad[] = {"test:latest", "docker.io/library/test", "abc", "zzzz"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct store_image *img = NULL;
                CHECK(store_image_get(S, bad[i], &img, &e) < 0 && e->code == ENOENT);
                err_free(&e);
        }
        struct store_image **list = NULL;
        size_t n = 0;
        CHECK(store_image_list(S, &list, &n, &e) == 0 && n == 1);
        int listed = !strcmp(list[0]->id, id);
        store_image_free(list[0]);
        free(list);
        CHECK(listed);
        /* retag moves the ref; untag removes it */
        CHECK(store_untag(S, tag, &e) == 0);
        CHECK(store_untag(S, tag, &e) < 0 && e->code == ENOENT);
        err_free(&e);
        CHECK(sql_int("SELECT count(*) FROM refs") == 1);
}

static void test_image_created_offset(void)
{
        CHECK(open_store() == 0);
        const char *cfg = "{\"created\":\"2024-01-02T03:04:05.123456789+02:00\","
                          "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        char id[DIGEST_LEN + 1];
        struct err *e = NULL;
        CHECK(store_blob_put(S, cfg, strlen(cfg), id, &e) == 0);
        CHECK(store_image_put(S, id, NULL, NULL, 0, &e) == 0);
        struct store_image *img = NULL;
        CHECK(store_image_get(S, id, &img, &e) == 0);
        int64_t created = img->created;
        int good = img->n_layers == 0 && img->manifest[0] == '\0';
        store_image_free(img);
        CHECK(created == 1704157445);
        CHECK(good);
}

static void test_image_put_refused(void)
{
        CHECK(open_store() == 0);
        struct two_layers t;
        CHECK(two_layers(&t, "bad") == 0);
        struct err *e = NULL;
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        /* config lists the diff ids, but the layers are given in the wrong order */
        char *swapped[] = {t.chains[1], t.chains[0]};
        CHECK(add_image("x", t.diffs, swapped, 2, id, man) < 0);
        /* a layer that is not in the store */
        char missing[DIGEST_LEN + 1], mchain[DIGEST_LEN + 1];
        sha256_of("missing", 7, missing);
        store_chain_id(t.c[1], missing, mchain);
        char *d3[] = {t.d[0], t.d[1], missing}, *c3[] = {t.c[0], t.c[1], mchain};
        CHECK(add_image("y", d3, c3, 3, id, man) < 0);
        /* a config that is not in the store */
        CHECK(store_image_put(S, missing, NULL, NULL, 0, &e) < 0 && e->code == ENOENT);
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(sql_int("SELECT count(*) FROM images") == 0);
        CHECK(sql_int("SELECT max(refcount) FROM layers") == 0);
        CHECK(store_tag(S, "docker.io/library/x:1", missing, &e) < 0);
        err_free(&e);
        CHECK(store_tag(S, "bad ref", t.c[0], &e) < 0);
        err_free(&e);
}

/* Find two config texts whose digests share their first 4 hex digits. */
static int colliding_configs(char **a, char **b)
{
        enum { N = 4000 };
        static char digests[N][DIGEST_LEN + 1];
        for (int i = 0; i < N; i++) {
                char *cfg = xasprintf("{\"created\":\"2024-01-01T00:00:00Z\",\"rootfs\":{\"type\":"
                                      "\"layers\",\"diff_ids\":[]},\"n\":%d}",
                                      i);
                sha256_of(cfg, strlen(cfg), digests[i]);
                for (int j = 0; j < i; j++) {
                        if (strncmp(digests[i], digests[j], 11) == 0) {
                                *a = cfg;
                                *b = xasprintf("{\"created\":\"2024-01-01T00:00:00Z\",\"rootfs\":"
                                               "{\"type\":\"layers\",\"diff_ids\":[]},\"n\":%d}",
                                               j);
                                return 0;
                        }
                }
                free(cfg);
        }
        return -1;
}

static void test_image_ambiguous_prefix(void)
{
        CHECK(open_store() == 0);
        char *a = NULL, *b = NULL;
        CHECK(colliding_configs(&a, &b) == 0);
        char ida[DIGEST_LEN + 1], idb[DIGEST_LEN + 1];
        struct err *e = NULL;
        int r = store_blob_put(S, a, strlen(a), ida, &e) ||
                store_blob_put(S, b, strlen(b), idb, &e) ||
                store_image_put(S, ida, NULL, NULL, 0, &e) ||
                store_image_put(S, idb, NULL, NULL, 0, &e);
        free(a);
        free(b);
        print_err("put", &e);
        CHECK(r == 0);
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "%.4s", ida + 7);
        struct store_image *img = NULL;
        CHECK(store_image_get(S, prefix, &img, &e) < 0);
        CHECK(strstr(e->msg, prefix) && strstr(e->msg, "ambiguous"));
        printf("# %s\n", e->msg);
        err_free(&e);
        /* a longer prefix tells them apart */
        size_t k = 4;
        while (ida[7 + k] == idb[7 + k])
                k++;
        char longer[70];
        snprintf(longer, sizeof(longer), "%.*s", (int)k + 1, ida + 7);
        CHECK(store_image_get(S, longer, &img, &e) == 0);
        int same = !strcmp(img->id, ida);
        store_image_free(img);
        CHECK(same);
}

static int layer_gone(const char *chain)
{
        char q[200];
        snprintf(q, sizeof(q), "SELECT count(*) FROM layers WHERE chain_id = '%s'", chain);
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/layers/%s", root, chain + 7);
        return sql_int(q) == 0 && !exists(dir);
}

/* A (L1, L2) and B (L1, L3): removing A frees L2 only; removing B frees
 * the rest.  Blobs go with them. */
static void test_image_remove_shared(void)
{
        CHECK(open_store() == 0);
        struct ent e1[] = {{'f', "shared", "1"}}, e2[] = {{'f', "a-only", "2"}},
                   e3[] = {{'f', "b-only", "3"}};
        char d[3][DIGEST_LEN + 1], c[3][DIGEST_LEN + 1];
        CHECK(add_layer(NULL, e1, 1, d[0], c[0]) == 0);
        CHECK(add_layer(c[0], e2, 1, d[1], c[1]) == 0);
        CHECK(add_layer(c[0], e3, 1, d[2], c[2]) == 0);
        char *da[] = {d[0], d[1]}, *ca[] = {c[0], c[1]}, *db[] = {d[0], d[2]}, *cb[] = {c[0], c[2]};
        char ida[DIGEST_LEN + 1], ma[DIGEST_LEN + 1], idb[DIGEST_LEN + 1], mb[DIGEST_LEN + 1];
        CHECK(add_image("a", da, ca, 2, ida, ma) == 0);
        CHECK(add_image("b", db, cb, 2, idb, mb) == 0);
        struct err *e = NULL;
        CHECK(store_tag(S, "docker.io/library/a:1", ida, &e) == 0);
        CHECK(store_tag(S, "docker.io/library/a:2", ida, &e) == 0);

        CHECK(store_image_remove(S, ida, &e) < 0);
        CHECK(strstr(e->msg, "docker.io/library/a:1") && strstr(e->msg, "docker.io/library/a:2"));
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(store_untag(S, "docker.io/library/a:1", &e) == 0);
        CHECK(store_untag(S, "docker.io/library/a:2", &e) == 0);
        CHECK(refcount_errors() == 0);
        CHECK(store_image_remove(S, ida, &e) == 0);
        CHECK(refcount_errors() == 0);
        CHECK(layer_gone(c[1]));
        CHECK(!layer_gone(c[0]) && !layer_gone(c[2]));
        CHECK(sql_int("SELECT refcount FROM layers WHERE parent IS NULL") == 1);
        CHECK(!store_blob_has(S, ida) && !store_blob_has(S, ma));
        CHECK(store_blob_has(S, idb) && store_blob_has(S, mb));
        CHECK(count_entries("%s/l", root) == 2);
        struct store_image *img = NULL;
        CHECK(store_image_get(S, ida, &img, &e) < 0 && e->code == ENOENT);
        err_free(&e);
        CHECK(store_image_get(S, idb, &img, &e) == 0);
        store_image_free(img);

        CHECK(store_image_remove(S, idb, &e) == 0);
        CHECK(layer_gone(c[0]) && layer_gone(c[2]));
        CHECK(count_entries("%s/layers", root) == 0);
        CHECK(count_entries("%s/l", root) == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        CHECK(count_entries("%s/blobs/sha256", root) == 0);
        CHECK(sql_int("SELECT count(*) FROM image_layers") == 0);
}

/* store_gc: a layer no image holds and a blob nothing records (what an
 * abandoned pull leaves) go; what images use stays; nothing newer than
 * `before` is touched. */
static void test_gc(void)
{
        CHECK(open_store() == 0);
        struct ent e1[] = {{'f', "kept", "1"}}, e2[] = {{'f', "orphan", "22"}};
        char d[2][DIGEST_LEN + 1], c[2][DIGEST_LEN + 1];
        CHECK(add_layer(NULL, e1, 1, d[0], c[0]) == 0);
        CHECK(add_layer(c[0], e2, 1, d[1], c[1]) == 0);
        char *da[] = {d[0]}, *ca[] = {c[0]};
        char id[DIGEST_LEN + 1], m[DIGEST_LEN + 1], stray[DIGEST_LEN + 1];
        CHECK(add_image("a", da, ca, 1, id, m) == 0);
        struct err *e = NULL;
        CHECK(store_blob_put(S, "stray manifest", 14, stray, &e) == 0);
        int64_t freed = -1;
        /* everything is newer than `before`: nothing goes */
        CHECK(store_gc(S, (int64_t)time(NULL) - 3600, &freed, &e) == 0);
        CHECK(freed == 0);
        CHECK(!layer_gone(c[1]) && store_blob_has(S, stray));
        CHECK(store_gc(S, (int64_t)time(NULL) + 10, &freed, &e) == 0);
        printf("# freed %lld bytes\n", (long long)freed);
        CHECK(freed >= 14 + 2);
        CHECK(layer_gone(c[1]) && !store_blob_has(S, stray));
        CHECK(!layer_gone(c[0]) && store_blob_has(S, id) && store_blob_has(S, m));
        CHECK(refcount_errors() == 0);
        CHECK(count_entries("%s/tmp", root) == 0);
        struct store_image *img = NULL;
        CHECK(store_image_get(S, id, &img, &e) == 0);
        store_image_free(img);
        /* the image goes, then nothing is left to collect */
        CHECK(store_image_remove(S, id, &e) == 0);
        CHECK(store_gc(S, (int64_t)time(NULL) + 10, &freed, &e) == 0);
        CHECK(freed == 0);
        CHECK(count_entries("%s/layers", root) == 0);
        CHECK(count_entries("%s/blobs/sha256", root) == 0);
}

/* ---- crash safety ------------------------------------------------------- */

/* A child starts a blob (or layer) write, says so, and is SIGKILLed. */
static int killed_mid_write(int layer, const struct buf *data)
{
        int ready[2];
        if (pipe(ready) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                struct store *s = NULL;
                if (store_open(root, &s, NULL) < 0)
                        _exit(1);
                struct blob_writer *bw = NULL;
                struct layer_writer *lw = NULL;
                if (layer ? store_layer_begin(s, NULL, &lw, NULL)
                          : store_blob_begin(s, NULL, &bw, NULL))
                        _exit(1);
                size_t half = data->n / 2;
                if (layer ? layer_write(lw, data->p, half, NULL)
                          : blob_write(bw, data->p, half, NULL))
                        _exit(1);
                if (write(ready[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        close(ready[1]);
        char x;
        int got = pid > 0 && read(ready[0], &x, 1) == 1;
        close(ready[0]);
        if (pid > 0) {
                usleep(got ? 50 * 1000 : 0); /* let the worker unpack some of it */
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        return got ? 0 : -1;
}

static void test_crash_mid_blob(void)
{
        struct buf data = {0};
        for (int i = 0; i < 100000; i++)
                buf_add(&data, "0123456789", 10);
        char want[DIGEST_LEN + 1];
        sha256_of(data.p, data.n, want);
        int r = killed_mid_write(0, &data);
        int debris = count_entries("%s/tmp", root);
        struct err *e = NULL;
        if (r == 0 && open_store() == 0)
                r = store_blob_put(S, data.p, data.n, NULL, &e);
        buf_free(&data);
        print_err("blob_put", &e);
        CHECK(debris == 1); /* the child's tmp file was there ... */
        CHECK(r == 0);
        CHECK(store_blob_has(S, want));
        CHECK(count_entries("%s/blobs/sha256", root) == 1);
        CHECK(count_entries("%s/tmp", root) == 0); /* ... and store_open removed it */
}

static void test_crash_mid_layer(void)
{
        /* a few MiB in many files, so the child is killed while unpacking */
        enum { NF = 64 };
        struct ent ents[NF];
        char names[NF][16];
        char *big = xmalloc(64 * 1024 + 1);
        memset(big, 'z', 64 * 1024);
        big[64 * 1024] = '\0';
        for (int i = 0; i < NF; i++) {
                snprintf(names[i], sizeof(names[i]), "f%02d", i);
                ents[i] = (struct ent){'f', names[i], big};
        }
        struct buf tar = {0};
        make_tar(ents, NF, &tar);
        free(big);
        int r = killed_mid_write(1, &tar);
        int debris = count_entries("%s/tmp", root);
        char want[DIGEST_LEN + 1], diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
        sha256_of(tar.p, tar.n, want);
        int has_before = -1;
        struct err *e = NULL;
        if (r == 0 && open_store() == 0) {
                has_before = store_layer_has(S, want);
                r = layer_from(S, NULL, &tar, want, diff, chain, &e);
        }
        buf_free(&tar);
        print_err("layer", &e);
        CHECK(debris == 1);
        CHECK(has_before == 0);
        CHECK(r == 0);
        CHECK(count_entries("%s/layers", root) == 1);
        CHECK(count_entries("%s/l", root) == 1);
        CHECK(count_entries("%s/tmp", root) == 0);
}

/* ---- snapshots ------------------------------------------------------------ */

static void test_snapshot_two_layers(void)
{
        CHECK(open_store() == 0);
        struct ent lower[] = {{'d', "a", NULL},
                              {'f', "a/lower.txt", "from lower"},
                              {'f', "a/gone.txt", "hidden by upper"},
                              {'f', "a/both.txt", "lower version"}};
        struct ent upper[] = {{'d', "a", NULL},
                              {'f', "a/upper.txt", "from upper"},
                              {'f', "a/.wh.gone.txt", ""},
                              {'f', "a/both.txt", "upper version"}};
        char d[2][DIGEST_LEN + 1], c[2][DIGEST_LEN + 1];
        CHECK(add_layer(NULL, lower, ARRAY_SIZE(lower), d[0], c[0]) == 0);
        CHECK(add_layer(c[0], upper, ARRAY_SIZE(upper), d[1], c[1]) == 0);
        char *ds[] = {d[0], d[1]}, *cs[] = {c[0], c[1]};
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        CHECK(add_image("snap", ds, cs, 2, id, man) == 0);

        char snap[256], p[512];
        snprintf(snap, sizeof(snap), "%s/containers/c1", root);
        struct err *e = NULL;
        int r = store_snapshot_mount(S, id, snap, &e);
        print_err("mount", &e);
        CHECK(r == 0);
        snprintf(p, sizeof(p), "%s/merged", snap);
        CHECK(is_mounted(p) == 1);
        snprintf(p, sizeof(p), "%s/merged/a/lower.txt", snap);
        CHECK(file_is(p, "from lower"));
        snprintf(p, sizeof(p), "%s/merged/a/upper.txt", snap);
        CHECK(file_is(p, "from upper"));
        snprintf(p, sizeof(p), "%s/merged/a/both.txt", snap);
        CHECK(file_is(p, "upper version"));
        snprintf(p, sizeof(p), "%s/merged/a/gone.txt", snap);
        CHECK(!exists(p) && errno == ENOENT);
        /* writes land in upper */
        snprintf(p, sizeof(p), "%s/merged/new.txt", snap);
        CHECK(write_file(p, "new", 3, 0644, NULL) == 0);
        snprintf(p, sizeof(p), "%s/upper/new.txt", snap);
        CHECK(file_is(p, "new"));

        CHECK(store_snapshot_unmount(snap, &e) == 0);
        snprintf(p, sizeof(p), "%s/merged", snap);
        CHECK(is_mounted(p) == 0);
        CHECK(!exists(snap));
        CHECK(store_snapshot_unmount(snap, &e) == 0); /* nothing left to do */
}

static void test_snapshot_one_layer(void)
{
        CHECK(open_store() == 0);
        struct ent ents[] = {{'f', "only", "one layer"}};
        char d[DIGEST_LEN + 1], c[DIGEST_LEN + 1];
        CHECK(add_layer(NULL, ents, 1, d, c) == 0);
        char *ds[] = {d}, *cs[] = {c};
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        CHECK(add_image("one", ds, cs, 1, id, man) == 0);
        struct err *e = NULL;
        CHECK(store_tag(S, "docker.io/library/one:latest", id, &e) == 0);
        char snap[256], p[512];
        snprintf(snap, sizeof(snap), "%s/snap,with:odd chars", root);
        int r = store_snapshot_mount(S, "docker.io/library/one:latest", snap, &e);
        print_err("mount", &e);
        CHECK(r == 0);
        snprintf(p, sizeof(p), "%s/merged/only", snap);
        CHECK(file_is(p, "one layer"));
        CHECK(store_snapshot_unmount(snap, &e) == 0);
        CHECK(!exists(snap));
}

/* 150 layers: with absolute layer paths the options would need ~17 KiB. */
static void test_snapshot_many_layers(void)
{
        enum { NL = 150 };
        CHECK(open_store() == 0);
        char(*d)[DIGEST_LEN + 1] = calloc(NL, DIGEST_LEN + 1);
        char(*c)[DIGEST_LEN + 1] = calloc(NL, DIGEST_LEN + 1);
        char *ds[NL], *cs[NL];
        int r = 0;
        for (int i = 0; i < NL && r == 0; i++) {
                char name[16];
                snprintf(name, sizeof(name), "f%03d", i);
                struct ent ents[] = {{'f', name, name}, {'f', "top", name}};
                r = add_layer(i ? c[i - 1] : NULL, ents, 2, d[i], c[i]);
                ds[i] = d[i];
                cs[i] = c[i];
        }
        char id[DIGEST_LEN + 1], man[DIGEST_LEN + 1];
        if (r == 0)
                r = add_image("deep", ds, cs, NL, id, man);
        free(d);
        free(c);
        CHECK(r == 0);
        char snap[256], p[512];
        snprintf(snap, sizeof(snap), "%s/deep", root);
        struct err *e = NULL;
        r = store_snapshot_mount(S, id, snap, &e);
        print_err("mount", &e);
        CHECK(r == 0);
        snprintf(p, sizeof(p), "%s/merged/f000", snap);
        CHECK(file_is(p, "f000"));
        snprintf(p, sizeof(p), "%s/merged/f149", snap);
        CHECK(file_is(p, "f149"));
        snprintf(p, sizeof(p), "%s/merged/top", snap);
        CHECK(file_is(p, "f149"));
        CHECK(store_snapshot_unmount(snap, &e) == 0);
        CHECK(!exists(snap));
}

int main(void)
{
        setvbuf(stdout, NULL, _IONBF, 0);
        snprintf(top, sizeof(top), "/tmp/barge-store-test-XXXXXX");
        if (mkdtemp(top) == NULL) {
                perror("mkdtemp");
                return 1;
        }
        T(test_open_layout);
        T(test_open_sweeps_debris);
        T(test_blob_put_read_has);
        T(test_blob_wrong_digest);
        T(test_layer_formats);
        T(test_layer_size_and_blob);
        T(test_layer_wrong_diff_id);
        T(test_layer_not_a_tar);
        T(test_chain_id);
        T(test_layer_twice);
        T(test_layer_replaces_garbage);
        T(test_layer_sync_deferred);
        T(test_threads_share_store);
        T(test_concurrent_commits);
        T(test_concurrent_first_open);
        T(test_image_put_get);
        T(test_image_created_offset);
        T(test_image_put_refused);
        T(test_image_ambiguous_prefix);
        T(test_image_remove_shared);
        T(test_gc);
        T(test_crash_mid_blob);
        T(test_crash_mid_layer);
        if (geteuid() == 0) {
                T(test_snapshot_two_layers);
                T(test_snapshot_one_layer);
                T(test_snapshot_many_layers);
        } else {
                SKIP(test_snapshot_two_layers, "needs root");
                SKIP(test_snapshot_one_layer, "needs root");
                SKIP(test_snapshot_many_layers, "needs root");
        }
        detach_leftovers();
        struct err *e = NULL;
        if (rm_rf(top, &e) < 0)
                print_err("cleanup", &e);
        return DONE();
}

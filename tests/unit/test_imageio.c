/*
 * imageio.c: import a busybox rootfs tar, save it as a docker-archive, load
 * that into a second store and compare ids and diff ids; load skopeo's OCI
 * archive of it; several images sharing a layer in one archive; archives
 * that must be refused without leaving anything in the store; and, when
 * podman is installed, that `podman load` takes what save writes; import
 * --change/--message: the instruction parser and the stored config.
 *
 * Needs root (the store keeps owners and device nodes); skipped otherwise.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/common/digest.h"
#include "../../src/common/util.h"
#include "../../src/registry/reference.h"
#include "../../src/store/imageio.h"
#include "harness.h"

static char tmp[64];
static char rootfs_tar[128], rootfs_gz[128], extra_tar[128], extra_gz[128];
static char rootfs_diff[DIGEST_LEN + 1], extra_diff[DIGEST_LEN + 1];
static int have_skopeo, have_podman;

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *cmd = NULL;
        if (vasprintf(&cmd, fmt, ap) < 0)
                abort();
        va_end(ap);
        int r = system(cmd);
        if (r != 0)
                printf("# command failed (%d): %s\n", r, cmd);
        free(cmd);
        return r;
}

static void file_digest(const char *path, char out[DIGEST_LEN + 1])
{
        char *buf = NULL;
        size_t len = 0;
        struct err *e = NULL;
        out[0] = '\0';
        if (read_file(path, 1 << 30, &buf, &len, &e) == 0)
                digest_buf(buf, len, out);
        err_free(&e);
        free(buf);
}

/* A fresh store under tmp/<name>. */
static struct store *fresh_store(const char *name)
{
        _cleanup_free_ char *root = xasprintf("%s/%s", tmp, name);
        _cleanup_err_ struct err *e = NULL;
        rm_rf(root, &e);
        struct store *s = NULL;
        if (store_open(root, &s, &e) < 0) {
                printf("# store_open %s: %s\n", root, e->msg);
                return NULL;
        }
        return s;
}

static void store_closep(struct store **s)
{
        store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(store_closep)))

static int import_file(struct store *s, const char *path, const char *ref, char id[DIGEST_LEN + 1])
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || image_import(s, fd, ref, id, &e) < 0) {
                printf("# import %s: %s\n", path, e ? e->msg : strerror(errno));
                return -1;
        }
        return 0;
}

static int save_file(struct store *s, char *const *refs, size_t n, const char *path)
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || image_save(s, refs, n, fd, &e) < 0) {
                printf("# save %s: %s\n", path, e ? e->msg : strerror(errno));
                return -1;
        }
        return 0;
}

struct lines {
        char text[4096];
        int n;
};

static void collect(void *ctx, const char *line)
{
        struct lines *l = ctx;
        size_t used = strlen(l->text);
        snprintf(l->text + used, sizeof(l->text) - used, "%s\n", line);
        l->n++;
}

/* Load path; on failure *msg (when asked for) gets the error message. */
static int load_file(struct store *s, const char *path, struct lines *out, char **msg)
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (image_load(s, fd, collect, out, &e) < 0) {
                if (msg)
                        *msg = xstrdup(e->msg);
                else
                        printf("# load %s: %s\n", path, e->msg);
                return -1;
        }
        return 0;
}

/* One member of a tar archive, into memory (NULL if absent). */
static char *archive_member(const char *path, const char *name, size_t *len, int *is_symlink)
{
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        char *out = NULL;
        if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
                goto done;
        struct archive_entry *ent;
        while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
                if (strcmp(archive_entry_pathname(ent), name) != 0)
                        continue;
                if (is_symlink)
                        *is_symlink = archive_entry_filetype(ent) == AE_IFLNK;
                size_t cap = (size_t)archive_entry_size(ent), n = 0;
                out = xmalloc(cap + 1);
                la_ssize_t k;
                while (n < cap && (k = archive_read_data(a, out + n, cap - n)) > 0)
                        n += (size_t)k;
                out[n] = '\0';
                if (len)
                        *len = n;
                break;
        }
done:
        archive_read_free(a);
        return out;
}

struct member {
        const char *name;
        const char *data; /* NULL: take the file `from` */
        const char *from;
        const char *symlink;
};

/* Write a tar of the given members (no ".." check: bad archives are made here). */
static int make_tar(const char *path, const struct member *m, size_t n)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_filename(a, path) != ARCHIVE_OK)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char *buf = NULL;
                size_t len = 0;
                struct err *e = NULL;
                if (m[i].from && read_file(m[i].from, 1 << 30, &buf, &len, &e) < 0) {
                        err_free(&e);
                        return -1;
                }
                if (m[i].data) {
                        buf = xstrdup(m[i].data);
                        len = strlen(buf);
                }
                struct archive_entry *ent = archive_entry_new();
                archive_entry_set_pathname(ent, m[i].name);
                archive_entry_set_filetype(ent, m[i].symlink ? AE_IFLNK : AE_IFREG);
                archive_entry_set_perm(ent, 0644);
                if (m[i].symlink)
                        archive_entry_set_symlink(ent, m[i].symlink);
                archive_entry_set_size(ent, m[i].symlink ? 0 : (la_int64_t)len);
                archive_write_header(a, ent);
                if (len)
                        archive_write_data(a, buf, len);
                archive_entry_free(ent);
                free(buf);
        }
        archive_write_close(a);
        archive_write_free(a);
        return 0;
}

static int diff_ids_of(struct store *s, const char *id, char ***ids, size_t *n)
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *cfg = NULL;
        size_t len = 0;
        if (store_blob_read(s, id, 1 << 20, &cfg, &len, &e) < 0)
                return -1;
        json_t *j = json_loadb(cfg, len, 0, NULL);
        json_t *arr = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
        *n = json_array_size(arr);
        *ids = xcalloc(*n + 1, sizeof(char *));
        for (size_t i = 0; i < *n; i++)
                (*ids)[i] = xstrdup(json_string_value(json_array_get(arr, i)));
        json_decref(j);
        return 0;
}

static void strv_freep(char ***v)
{
        if (*v)
                for (char **p = *v; *p; p++)
                        free(*p);
        free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(strv_freep)))

static void imagep(struct store_image **i)
{
        store_image_free(*i);
}
#define _cleanup_img_ __attribute__((cleanup(imagep)))

static size_t count_images(struct store *s)
{
        _cleanup_err_ struct err *e = NULL;
        struct store_image **all = NULL;
        size_t n = 0;
        if (store_image_list(s, &all, &n, &e) < 0)
                return (size_t)-1;
        for (size_t i = 0; i < n; i++)
                store_image_free(all[i]);
        free(all);
        return n;
}

/* ---- the images every test starts from ---- */

static char busybox_id[DIGEST_LEN + 1];
static char saved_tar[128];

/* A store "a" with busybox imported, saved to saved.tar. */
static struct store *store_a;

/* ---- tests ---- */

static void test_import(void)
{
        store_a = fresh_store("a");
        CHECK(store_a);
        CHECK(import_file(store_a, rootfs_tar, "busybox:latest", busybox_id) == 0);
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(store_a, "docker.io/library/busybox:latest", &img, &e) == 0);
        CHECK_STR(img->id, busybox_id);
        CHECK(img->n_layers == 1);
        /* the diff id is the digest of the tar as given, as docker import makes it */
        CHECK_STR(img->chain_ids[0], rootfs_diff);
        CHECK(img->manifest[0] == '\0'); /* push makes one from the diff id blob */
        _cleanup_strv_ char **ids = NULL;
        size_t n = 0;
        CHECK(diff_ids_of(store_a, busybox_id, &ids, &n) == 0 && n == 1);
        CHECK_STR(ids[0], rootfs_diff);
        /* a plain tar is kept as a blob under its diff id */
        CHECK(store_blob_has(store_a, rootfs_diff));
        _cleanup_free_ char *cfg = NULL;
        size_t len = 0;
        CHECK(store_blob_read(store_a, busybox_id, 1 << 20, &cfg, &len, &e) == 0);
        CHECK(strstr(cfg, "\"os\":\"linux\"") && strstr(cfg, "\"Imported from -\""));
}

static void test_import_gzip(void)
{
        _cleanup_store_ struct store *s = fresh_store("gz");
        CHECK(s);
        char id[DIGEST_LEN + 1], gz[DIGEST_LEN + 1];
        CHECK(import_file(s, rootfs_gz, NULL, id) == 0);
        _cleanup_strv_ char **ids = NULL;
        size_t n = 0;
        CHECK(diff_ids_of(s, id, &ids, &n) == 0 && n == 1);
        /* the diff id is of the uncompressed stream; the gzip is kept as is */
        CHECK_STR(ids[0], rootfs_diff);
        file_digest(rootfs_gz, gz);
        CHECK(store_blob_has(s, gz));
        CHECK(!store_blob_has(s, rootfs_diff));
        CHECK(count_images(s) == 1);
        /* a manifest naming the gzip blob, so push sends it as it is */
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(s, id, &img, &e) == 0 && img->manifest[0]);
        _cleanup_free_ char *m = NULL;
        size_t mlen = 0;
        CHECK(store_blob_read(s, img->manifest, 1 << 20, &m, &mlen, &e) == 0);
        CHECK(strstr(m, "\"application/vnd.docker.distribution.manifest.v2+json\"") &&
              strstr(m, gz) && strstr(m, id));
        /* and it saves back to the same uncompressed layer */
        _cleanup_free_ char *out = xasprintf("%s/gz-saved.tar", tmp);
        char *refs[] = {id};
        CHECK(save_file(s, refs, 1, out) == 0);
        _cleanup_free_ char *manifest = archive_member(out, "manifest.json", NULL, NULL);
        CHECK(manifest);
        CHECK(strstr(manifest, "\"RepoTags\":null"));
}

/* zstd is kept as it came (a registry takes it); xz, which registries do
 * not, is kept inflated, under the diff id. */
static void test_import_zstd_xz(void)
{
        _cleanup_store_ struct store *s = fresh_store("zx");
        CHECK(s);
        _cleanup_free_ char *zst = xasprintf("%s/rootfs.tar.zst", tmp);
        _cleanup_free_ char *xz = xasprintf("%s/rootfs.tar.xz", tmp);
        CHECK(sh("zstd -q -c %s >%s && xz -T1 -c %s >%s", rootfs_tar, zst, rootfs_tar, xz) == 0);
        char id[DIGEST_LEN + 1], zd[DIGEST_LEN + 1];
        CHECK(import_file(s, zst, "z:1", id) == 0);
        _cleanup_strv_ char **ids = NULL;
        size_t n = 0;
        CHECK(diff_ids_of(s, id, &ids, &n) == 0 && n == 1);
        CHECK_STR(ids[0], rootfs_diff);
        file_digest(zst, zd);
        CHECK(store_blob_has(s, zd) && !store_blob_has(s, rootfs_diff));
        CHECK(import_file(s, xz, "x:1", id) == 0);
        CHECK(store_blob_has(s, rootfs_diff));
}

static void test_save(void)
{
        CHECK(store_a);
        snprintf(saved_tar, sizeof(saved_tar), "%s/saved.tar", tmp);
        char *refs[] = {"busybox"};
        CHECK(save_file(store_a, refs, 1, saved_tar) == 0);
        size_t len = 0;
        _cleanup_free_ char *manifest = archive_member(saved_tar, "manifest.json", &len, NULL);
        CHECK(manifest);
        json_t *m = json_loads(manifest, 0, NULL);
        CHECK(json_array_size(m) == 1);
        json_t *item = json_array_get(m, 0);
        _cleanup_free_ char *cfgname = xasprintf("%s.json", digest_hex(busybox_id));
        const char *layer = json_string_value(json_array_get(json_object_get(item, "Layers"), 0));
        int ok = !strcmp(json_string_value(json_object_get(item, "Config")), cfgname) &&
                 !strcmp(json_string_value(json_array_get(json_object_get(item, "RepoTags"), 0)),
                         "busybox:latest") &&
                 layer != NULL;
        _cleanup_free_ char *layer_name = xstrdup(layer ? layer : "");
        json_decref(m);
        CHECK(ok);
        /* the config keeps its bytes, so its digest (the id) */
        _cleanup_free_ char *cfg = archive_member(saved_tar, cfgname, &len, NULL);
        char d[DIGEST_LEN + 1];
        CHECK(cfg);
        digest_buf(cfg, len, d);
        CHECK_STR(d, busybox_id);
        /* the layer is the uncompressed tar: its digest is the diff id */
        _cleanup_free_ char *tar = archive_member(saved_tar, layer_name, &len, NULL);
        CHECK(tar);
        digest_buf(tar, len, d);
        CHECK_STR(d, rootfs_diff);
        /* legacy files: VERSION, json, repositories */
        _cleanup_free_ char *dir = xstrndup(layer_name, strlen(layer_name) - strlen("/layer.tar"));
        _cleanup_free_ char *vname = xasprintf("%s/VERSION", dir);
        _cleanup_free_ char *jname = xasprintf("%s/json", dir);
        _cleanup_free_ char *version = archive_member(saved_tar, vname, NULL, NULL);
        _cleanup_free_ char *v1json = archive_member(saved_tar, jname, NULL, NULL);
        _cleanup_free_ char *repos = archive_member(saved_tar, "repositories", NULL, NULL);
        CHECK(version && !strcmp(version, "1.0"));
        CHECK(v1json && strstr(v1json, dir));
        _cleanup_free_ char *want = xasprintf("{\"busybox\":{\"latest\":\"%s\"}}\n", dir);
        CHECK_STR(repos, want);
        /* saving again gives the same bytes */
        _cleanup_free_ char *again = xasprintf("%s/saved-again.tar", tmp);
        CHECK(save_file(store_a, refs, 1, again) == 0);
        char d1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1];
        file_digest(saved_tar, d1);
        file_digest(again, d2);
        CHECK_STR(d1, d2);
}

static void test_load_roundtrip(void)
{
        CHECK(saved_tar[0]);
        _cleanup_store_ struct store *s = fresh_store("b");
        CHECK(s);
        struct lines out = {{0}, 0};
        CHECK(load_file(s, saved_tar, &out, NULL) == 0);
        CHECK_STR(out.text, "Loaded image: busybox:latest\n");
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(s, "docker.io/library/busybox:latest", &img, &e) == 0);
        CHECK_STR(img->id, busybox_id);
        CHECK(img->n_layers == 1);
        CHECK_STR(img->chain_ids[0], rootfs_diff);
        _cleanup_strv_ char **ids = NULL;
        size_t n = 0;
        CHECK(diff_ids_of(s, img->id, &ids, &n) == 0 && n == 1);
        CHECK_STR(ids[0], rootfs_diff);
        /* the unpacked layer is there */
        _cleanup_free_ char *dir = store_layer_dir(s, img->chain_ids[0]);
        _cleanup_free_ char *bb = xasprintf("%s/bin/busybox", dir);
        CHECK(access(bb, X_OK) == 0);
        /* a second load of the same archive changes nothing and succeeds */
        struct lines again = {{0}, 0};
        CHECK(load_file(s, saved_tar, &again, NULL) == 0);
        CHECK(count_images(s) == 1);
        /* and a save from this store gives the first archive byte for byte */
        _cleanup_free_ char *resaved = xasprintf("%s/resaved.tar", tmp);
        char *refs[] = {"busybox:latest"};
        CHECK(save_file(s, refs, 1, resaved) == 0);
        char d1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1];
        file_digest(saved_tar, d1);
        file_digest(resaved, d2);
        CHECK_STR(d1, d2);
}

/* Through a pipe: load from a stream that cannot seek. */
static void test_load_pipe(void)
{
        CHECK(saved_tar[0]);
        _cleanup_store_ struct store *s = fresh_store("pipe");
        CHECK(s);
        _cleanup_free_ char *cmd = xasprintf("gzip -c %s", saved_tar);
        FILE *p = popen(cmd, "r");
        CHECK(p);
        _cleanup_err_ struct err *e = NULL;
        struct lines out = {{0}, 0};
        int r = image_load(s, fileno(p), collect, &out, &e);
        pclose(p);
        if (r < 0)
                printf("# %s\n", e->msg);
        CHECK(r == 0);
        CHECK_STR(out.text, "Loaded image: busybox:latest\n");
}

/* A two-layer docker-archive made here, whose bottom layer is busybox's and
 * whose top layer is gzip-compressed (docker load takes those too). */
static char two_tar[128], two_id[DIGEST_LEN + 1];

static void make_two_layer_archive(void)
{
        snprintf(two_tar, sizeof(two_tar), "%s/two.tar", tmp);
        _cleanup_free_ char *cfg =
            xasprintf("{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"sh\"]},"
                      "\"created\":\"2024-05-06T07:08:09.5Z\",\"os\":\"linux\","
                      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
                      rootfs_diff, extra_diff);
        digest_buf(cfg, strlen(cfg), two_id);
        _cleanup_free_ char *cfgname = xasprintf("%s.json", digest_hex(two_id));
        _cleanup_free_ char *manifest =
            xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"two:layers\",\"localhost:5000/two:1\"],"
                      "\"Layers\":[\"bottom/layer.tar\",\"./top/layer.tar.gz\"]}]",
                      cfgname);
        struct member m[] = {
            {"bottom/layer.tar", NULL, rootfs_tar, NULL},
            {"top/layer.tar.gz", NULL, extra_gz, NULL},
            {cfgname, cfg, NULL, NULL},
            {"manifest.json", manifest, NULL, NULL},
        };
        make_tar(two_tar, m, ARRAY_SIZE(m));
}

static void test_shared_layers(void)
{
        CHECK(store_a);
        make_two_layer_archive();
        struct lines out = {{0}, 0};
        CHECK(load_file(store_a, two_tar, &out, NULL) == 0);
        CHECK_STR(out.text, "Loaded image: two:layers\nLoaded image: localhost:5000/two:1\n");
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *two = NULL;
        CHECK(store_image_get(store_a, "localhost:5000/two:1", &two, &e) == 0);
        CHECK_STR(two->id, two_id);
        CHECK(two->n_layers == 2);
        CHECK_STR(two->chain_ids[0], rootfs_diff); /* shared with busybox */
        /* one layer kept gzip: an OCI manifest names both blobs */
        _cleanup_free_ char *tm = NULL;
        char gz[DIGEST_LEN + 1];
        file_digest(extra_gz, gz);
        CHECK(two->manifest[0] &&
              store_blob_read(store_a, two->manifest, 1 << 20, &tm, NULL, &e) == 0);
        CHECK(strstr(tm, "application/vnd.oci.image.layer.v1.tar+gzip") && strstr(tm, gz) &&
              strstr(tm, rootfs_diff));

        /* both images in one archive: the shared tar is written once */
        _cleanup_free_ char *both = xasprintf("%s/both.tar", tmp);
        char *refs[] = {"busybox:latest", "two:layers", two_id};
        CHECK(save_file(store_a, refs, ARRAY_SIZE(refs), both) == 0);
        _cleanup_free_ char *manifest = archive_member(both, "manifest.json", NULL, NULL);
        CHECK(manifest);
        json_t *m = json_loads(manifest, 0, NULL);
        size_t n_items = json_array_size(m);
        json_t *tags = json_object_get(json_array_get(m, 1), "RepoTags");
        int tags_ok = json_array_size(tags) == 1 &&
                      !strcmp(json_string_value(json_array_get(tags, 0)), "two:layers");
        /* busybox's only layer and two's bottom layer have different v1 ids
         * (the top layer's json is the image's), the second is a symlink */
        const char *bb_layer =
            json_string_value(json_array_get(json_object_get(json_array_get(m, 0), "Layers"), 0));
        const char *two_bottom =
            json_string_value(json_array_get(json_object_get(json_array_get(m, 1), "Layers"), 0));
        int differ = bb_layer && two_bottom && strcmp(bb_layer, two_bottom) != 0;
        _cleanup_free_ char *bottom = xstrdup(two_bottom ? two_bottom : "");
        json_decref(m);
        CHECK(n_items == 2 && tags_ok && differ);
        int is_link = 0;
        _cleanup_free_ char *l = archive_member(both, bottom, NULL, &is_link);
        CHECK(is_link);

        /* which a fresh store loads back with both images and ids */
        _cleanup_store_ struct store *s = fresh_store("both");
        CHECK(s);
        struct lines out2 = {{0}, 0};
        CHECK(load_file(s, both, &out2, NULL) == 0);
        CHECK_STR(out2.text, "Loaded image: busybox:latest\nLoaded image: two:layers\n");
        CHECK(count_images(s) == 2);
        _cleanup_img_ struct store_image *two2 = NULL;
        CHECK(store_image_get(s, "docker.io/library/two:layers", &two2, &e) == 0);
        CHECK_STR(two2->id, two_id);
        CHECK_STR(two2->chain_ids[1], two->chain_ids[1]);
        _cleanup_free_ char *dir = store_layer_dir(s, two2->chain_ids[1]);
        _cleanup_free_ char *hello = xasprintf("%s/hello", dir);
        CHECK(access(hello, F_OK) == 0);
}

/* The config digest in an OCI archive's (only) manifest. */
static int oci_config_digest(const char *archive, char out[DIGEST_LEN + 1])
{
        _cleanup_free_ char *index = archive_member(archive, "index.json", NULL, NULL);
        json_t *ij = index ? json_loads(index, 0, NULL) : NULL;
        const char *md = json_string_value(
            json_object_get(json_array_get(json_object_get(ij, "manifests"), 0), "digest"));
        _cleanup_free_ char *mpath = md ? xasprintf("blobs/sha256/%s", digest_hex(md)) : NULL;
        json_decref(ij);
        _cleanup_free_ char *manifest = mpath ? archive_member(archive, mpath, NULL, NULL) : NULL;
        json_t *mj = manifest ? json_loads(manifest, 0, NULL) : NULL;
        const char *cd =
            json_string_value(json_object_get(json_object_get(mj, "config"), "digest"));
        snprintf(out, DIGEST_LEN + 1, "%s", cd ? cd : "");
        json_decref(mj);
        return cd ? 0 : -1;
}

/* skopeo's oci-archive as it writes it by default: the manifest converted
 * to OCI, which makes skopeo rewrite the config (a new id: that is
 * skopeo's doing, the id is the digest of the config it wrote) and gzip
 * the layer (the diff id stays). */
static void test_skopeo_oci(void)
{
        CHECK(saved_tar[0]);
        _cleanup_free_ char *oci = xasprintf("%s/busybox-oci.tar", tmp);
        _cleanup_free_ char *bare = xasprintf("%s/bare-oci.tar", tmp);
        CHECK(sh("skopeo copy -q docker-archive:%s oci-archive:%s:busybox:oci >/dev/null",
                 saved_tar, oci) == 0);
        CHECK(sh("skopeo copy -q docker-archive:%s oci-archive:%s:latest >/dev/null", saved_tar,
                 bare) == 0);
        char want_id[DIGEST_LEN + 1];
        CHECK(oci_config_digest(oci, want_id) == 0);
        _cleanup_store_ struct store *s = fresh_store("oci");
        CHECK(s);
        struct lines out = {{0}, 0};
        CHECK(load_file(s, oci, &out, NULL) == 0);
        CHECK_STR(out.text, "Loaded image: busybox:oci\n");
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(s, "docker.io/library/busybox:oci", &img, &e) == 0);
        CHECK_STR(img->id, want_id);
        CHECK_STR(img->chain_ids[0], rootfs_diff);
        CHECK(img->manifest[0] != '\0' && store_blob_has(s, img->manifest));
        CHECK(!store_blob_has(s, rootfs_diff)); /* the gzip blob is kept, not a copy */

        /* saved again, the gzip layer is inflated back to the diff id's bytes */
        _cleanup_free_ char *resaved = xasprintf("%s/oci-resaved.tar", tmp);
        char *refs[] = {"busybox:oci"};
        CHECK(save_file(s, refs, 1, resaved) == 0);
        _cleanup_free_ char *manifest = archive_member(resaved, "manifest.json", NULL, NULL);
        json_t *m = manifest ? json_loads(manifest, 0, NULL) : NULL;
        const char *lp =
            json_string_value(json_array_get(json_object_get(json_array_get(m, 0), "Layers"), 0));
        _cleanup_free_ char *layer_path = xstrdup(lp ? lp : "");
        json_decref(m);
        size_t len = 0;
        _cleanup_free_ char *layer = archive_member(resaved, layer_path, &len, NULL);
        CHECK(layer);
        char d[DIGEST_LEN + 1];
        digest_buf(layer, len, d);
        CHECK_STR(d, rootfs_diff);

        /* a bare tag names no repository: loaded by id only */
        struct lines out2 = {{0}, 0};
        _cleanup_store_ struct store *s2 = fresh_store("oci-bare");
        CHECK(s2);
        CHECK(load_file(s2, bare, &out2, NULL) == 0);
        _cleanup_free_ char *want = xasprintf("Loaded image ID: %s\n", want_id);
        CHECK_STR(out2.text, want);
        CHECK(count_images(s2) == 1);
}

/* skopeo --preserve-digests keeps the docker manifest and config inside the
 * OCI layout: then the id is busybox's, and a save gives saved.tar again. */
static void test_skopeo_oci_preserved(void)
{
        CHECK(saved_tar[0]);
        _cleanup_free_ char *oci = xasprintf("%s/preserved-oci.tar", tmp);
        CHECK(sh("skopeo copy -q --preserve-digests docker-archive:%s "
                 "oci-archive:%s:docker.io/library/busybox:latest >/dev/null",
                 saved_tar, oci) == 0);
        _cleanup_store_ struct store *s = fresh_store("oci-preserved");
        CHECK(s);
        struct lines out = {{0}, 0};
        CHECK(load_file(s, oci, &out, NULL) == 0);
        CHECK_STR(out.text, "Loaded image: busybox:latest\n");
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(s, "docker.io/library/busybox:latest", &img, &e) == 0);
        CHECK_STR(img->id, busybox_id);
        _cleanup_free_ char *resaved = xasprintf("%s/preserved-resaved.tar", tmp);
        char *refs[] = {"busybox:latest"};
        CHECK(save_file(s, refs, 1, resaved) == 0);
        char d1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1];
        file_digest(saved_tar, d1);
        file_digest(resaved, d2);
        CHECK_STR(d1, d2);
}

/* docker save since 25.0 writes an OCI layout with a manifest.json whose
 * paths point into blobs/: manifest.json wins.  The tag it carries here
 * moves away from another image, which load reports as docker does. */
static void test_docker25_layout(void)
{
        _cleanup_free_ char *oci = xasprintf("%s/preserved-oci.tar", tmp);
        CHECK(access(oci, R_OK) == 0);
        _cleanup_free_ char *out = xasprintf("%s/docker25.tar", tmp);
        CHECK(sh("rm -rf %s/d25 && mkdir %s/d25 && tar -C %s/d25 -xf %s && "
                 "printf '[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"two:layers\"],"
                 "\"Layers\":[\"blobs/sha256/%s\"]}]' >%s/d25/manifest.json && "
                 "tar -C %s/d25 -cf %s .",
                 tmp, tmp, tmp, oci, digest_hex(busybox_id), digest_hex(rootfs_diff), tmp, tmp,
                 out) == 0);
        _cleanup_store_ struct store *s = fresh_store("d25");
        CHECK(s);
        struct lines out1 = {{0}, 0}, out2 = {{0}, 0};
        CHECK(load_file(s, two_tar, &out1, NULL) == 0);
        CHECK(load_file(s, out, &out2, NULL) == 0);
        _cleanup_free_ char *want = xasprintf("The image two:layers already exists, renaming the "
                                              "old one with ID %s to empty string\n"
                                              "Loaded image: two:layers\n",
                                              two_id);
        CHECK_STR(out2.text, want);
        _cleanup_err_ struct err *e = NULL;
        _cleanup_img_ struct store_image *img = NULL;
        CHECK(store_image_get(s, "docker.io/library/two:layers", &img, &e) == 0);
        CHECK_STR(img->id, busybox_id);
        CHECK(img->manifest[0] == '\0'); /* from manifest.json, which names no manifest */
        CHECK(count_images(s) == 2);
}

/* podman reads what save writes (its own vfs store in tmp). */
static void test_podman_load(void)
{
        CHECK(saved_tar[0]);
        _cleanup_free_ char *both = xasprintf("%s/both.tar", tmp);
        const char *pm = "podman --root %s/pm/root --runroot %s/pm/run --storage-driver vfs "
                         "--cgroup-manager cgroupfs --events-backend none";
        _cleanup_free_ char *podman = xasprintf(pm, tmp, tmp);
        CHECK(sh("%s load -q -i %s >/dev/null", podman, saved_tar) == 0);
        CHECK(sh("%s load -q -i %s >/dev/null", podman, both) == 0);
        _cleanup_free_ char *out = xasprintf("%s/pm-ids", tmp);
        CHECK(sh("%s images --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort >%s",
                 podman, out) == 0);
        _cleanup_free_ char *ids = NULL;
        _cleanup_err_ struct err *e = NULL;
        CHECK(read_file(out, 65536, &ids, NULL, &e) == 0);
        char *copy = xstrdup(ids), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                printf("# podman: %s\n", line);
        free(copy);
        /* podman 4 names the short RepoTags docker writes localhost/...,
         * as it does for docker's own archives */
        _cleanup_free_ char *bb = xasprintf("%s localhost/busybox:latest", busybox_id);
        _cleanup_free_ char *two = xasprintf("%s localhost/two:layers", two_id);
        CHECK(strstr(ids, bb) && strstr(ids, two));
}

/* Loading `path` fails with a message containing `want`, and the store is as
 * empty as before. */
static int refused(const char *path, const char *want)
{
        _cleanup_store_ struct store *s = fresh_store("bad");
        if (s == NULL)
                return 0;
        struct lines out = {{0}, 0};
        _cleanup_free_ char *msg = NULL;
        if (load_file(s, path, &out, &msg) == 0) {
                printf("# %s: loaded\n", path);
                return 0;
        }
        printf("# %s: %s\n", path, msg);
        if (strstr(msg, want) == NULL)
                return 0;
        if (out.n != 0 || count_images(s) != 0 || store_layer_has(s, rootfs_diff) ||
            store_blob_has(s, rootfs_diff))
                return 0;
        /* nothing left in tmp/ either */
        _cleanup_free_ char *t = xasprintf("%s/bad/tmp", tmp);
        _cleanup_free_ char *cmd = xasprintf("test -z \"$(ls -A %s)\"", t);
        return sh("%s", cmd) == 0;
}

static void test_bad_archives(void)
{
        _cleanup_free_ char *garbage = xasprintf("%s/garbage", tmp);
        CHECK(sh("head -c 5000 /dev/urandom >%s", garbage) == 0);
        CHECK(refused(garbage, "not a tar archive"));

        _cleanup_free_ char *empty = xasprintf("%s/empty", tmp);
        CHECK(sh(": >%s", empty) == 0);
        CHECK(refused(empty, "empty input"));

        /* a tar, but no manifest.json (a rootfs is not an image archive) */
        CHECK(refused(rootfs_tar, "neither manifest.json"));

        /* truncated in the middle of the layer */
        _cleanup_free_ char *cut = xasprintf("%s/cut.tar", tmp);
        CHECK(sh("head -c 1000000 %s >%s", saved_tar, cut) == 0);
        CHECK(refused(cut, "runcated"));

        /* a layer that is not what the config says */
        make_two_layer_archive();
        _cleanup_free_ char *cfg = xasprintf(
            "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
            rootfs_diff, rootfs_diff);
        char cid[DIGEST_LEN + 1];
        digest_buf(cfg, strlen(cfg), cid);
        _cleanup_free_ char *cfgname = xasprintf("%s.json", digest_hex(cid));
        _cleanup_free_ char *man = xasprintf(
            "[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"a.tar\",\"b.tar\"]}]",
            cfgname);
        _cleanup_free_ char *mismatch = xasprintf("%s/mismatch.tar", tmp);
        struct member m1[] = {{"a.tar", NULL, rootfs_tar, NULL},
                              {"b.tar", NULL, extra_tar, NULL},
                              {cfgname, cfg, NULL, NULL},
                              {"manifest.json", man, NULL, NULL}};
        CHECK(make_tar(mismatch, m1, ARRAY_SIZE(m1)) == 0);
        CHECK(refused(mismatch, "but the image config says"));

        /* the same with the bad layer gzip-compressed: found only while
         * unpacking, after the first layer went in; still nothing is left */
        _cleanup_free_ char *late = xasprintf("%s/late.tar", tmp);
        struct member m2[] = {{"a.tar", NULL, rootfs_tar, NULL},
                              {"b.tar", NULL, extra_gz, NULL},
                              {cfgname, cfg, NULL, NULL},
                              {"manifest.json", man, NULL, NULL}};
        CHECK(make_tar(late, m2, ARRAY_SIZE(m2)) == 0);
        CHECK(refused(late, "diff id mismatch"));

        /* ".." in a name */
        _cleanup_free_ char *dotdot = xasprintf("%s/dotdot.tar", tmp);
        struct member m3[] = {{"../evil", "x", NULL, NULL}, {"manifest.json", "[]", NULL, NULL}};
        CHECK(make_tar(dotdot, m3, ARRAY_SIZE(m3)) == 0);
        CHECK(refused(dotdot, "\"..\""));

        /* manifest.json pointing outside the archive through a symlink */
        _cleanup_free_ char *escape = xasprintf("%s/escape.tar", tmp);
        _cleanup_free_ char *man2 =
            xasprintf("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"d/layer.tar\","
                      "\"a.tar\"]}]",
                      cfgname);
        struct member m4[] = {{"d/layer.tar", NULL, NULL, "../../etc/passwd"},
                              {"a.tar", NULL, rootfs_tar, NULL},
                              {cfgname, cfg, NULL, NULL},
                              {"manifest.json", man2, NULL, NULL}};
        CHECK(make_tar(escape, m4, ARRAY_SIZE(m4)) == 0);
        CHECK(refused(escape, "leaves the archive"));

        /* a bad tag in RepoTags */
        _cleanup_free_ char *badtag = xasprintf("%s/badtag.tar", tmp);
        _cleanup_free_ char *man3 = xasprintf(
            "[{\"Config\":\"%s\",\"RepoTags\":[\"UPPER:x\"],\"Layers\":[\"a.tar\",\"a.tar\"]}]",
            cfgname);
        struct member m5[] = {{"a.tar", NULL, rootfs_tar, NULL},
                              {cfgname, cfg, NULL, NULL},
                              {"manifest.json", man3, NULL, NULL}};
        CHECK(make_tar(badtag, m5, ARRAY_SIZE(m5)) == 0);
        CHECK(refused(badtag, "invalid reference format"));
}

static void test_bad_import(void)
{
        _cleanup_store_ struct store *s = fresh_store("badimport");
        CHECK(s);
        _cleanup_err_ struct err *e = NULL;
        char id[DIGEST_LEN + 1];
        _cleanup_close_ int fd = open(rootfs_tar, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(image_import(s, fd, "Bad:Ref", id, &e) < 0);
        printf("# %s\n", e->msg);
        err_free(&e);
        _cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK(image_import(s, devnull, NULL, id, &e) < 0);
        printf("# %s\n", e->msg);
        CHECK(count_images(s) == 0);
}

/* The changes applied in order to an empty config, as sorted compact JSON;
 * NULL with *msg set when one is refused. */
static char *changed(const char *const *changes, size_t n, char **msg)
{
        json_t *cfg = json_object();
        struct err *e = NULL;
        char *out = NULL;
        *msg = NULL;
        for (size_t i = 0; i < n && !e; i++)
                image_config_change(cfg, changes[i], &e);
        if (e) {
                if (e->code != EINVAL)
                        printf("# errno %d, not EINVAL\n", e->code);
                *msg = e->code == EINVAL ? xstrdup(e->msg) : xstrdup("(not EINVAL)");
                err_free(&e);
        } else {
                out = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        }
        json_decref(cfg);
        return out;
}

#define CHANGES_TO(json, ...)                                                                      \
        do {                                                                                       \
                const char *const c_[] = {__VA_ARGS__};                                            \
                char *m_ = NULL;                                                                   \
                _cleanup_free_ char *j_ = changed(c_, ARRAY_SIZE(c_), &m_);                        \
                if (m_)                                                                            \
                        printf("# refused: %s\n", m_);                                             \
                free(m_);                                                                          \
                CHECK(j_ != NULL);                                                                 \
                if (j_)                                                                            \
                        CHECK_STR(j_, json);                                                       \
        } while (0)

#define CHANGE_REFUSED(msg, ...)                                                                   \
        do {                                                                                       \
                const char *const c_[] = {__VA_ARGS__};                                            \
                char *m_ = NULL;                                                                   \
                _cleanup_free_ char *j_ = changed(c_, ARRAY_SIZE(c_), &m_);                        \
                CHECK(j_ == NULL);                                                                 \
                if (m_)                                                                            \
                        CHECK_STR(m_, msg);                                                        \
                free(m_);                                                                          \
        } while (0)

/* What dockerd 20.10 makes of `docker import --change` (checked against a
 * private dockerd). */
static void test_config_changes(void)
{
        CHANGES_TO("{\"Cmd\":[\"echo\",\"imported\"]}", "CMD [\"echo\", \"imported\"]");
        CHANGES_TO("{\"Cmd\":[\"/bin/sh\",\"-c\",\"a   b\"]}", " cmd  a   b ");
        CHANGES_TO("{\"Cmd\":[\"/bin/sh\",\"-c\",\"[bad\"]}", "CMD [bad");
        CHANGES_TO("{\"Cmd\":[\"/bin/sh\",\"-c\"]}", "CMD");
        CHANGES_TO("{}", "CMD [\"x\"]", "CMD []");
        CHANGES_TO("{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"/bin/sh -x\"]}", "ENTRYPOINT /bin/sh -x");
        CHANGES_TO("{\"Entrypoint\":[\"a\"]}", "ENTRYPOINT [\"a\"]");
        CHANGES_TO("{\"Env\":[\"a=9\",\"b=2 3\",\"c=4 5\",\"d=x y\"]}", "ENV a=1 b=\"2 3\"",
                   "ENV c 4 5", "ENV d 'x y'", "ENV a=9");
        CHANGES_TO("{\"Env\":[\"b=c d\"]}", "ENV b=c\\ d");
        CHANGES_TO("{\"ExposedPorts\":{\"1/tcp\":{},\"2/tcp\":{},\"3/tcp\":{},\"80/tcp\":{},"
                   "\"90/udp\":{}}}",
                   "EXPOSE 80 90/udp", "EXPOSE 1-3/tcp");
        CHANGES_TO("{\"Labels\":{\"a\":\"b\",\"x\":\"y\",\"z w\":\"v\"}}", "LABEL x=y \"z w\"=v",
                   "LABEL a b");
        CHANGES_TO("{\"User\":\"a b\"}", "USER a b");
        CHANGES_TO("{\"Volumes\":{\"/v1\":{},\"/v2\":{},\"/v3\":{}}}", "VOLUME [\"/v1\", \"/v2\"]",
                   "VOLUME /v3");
        CHANGES_TO("{\"WorkingDir\":\"/w/rel\"}", "WORKDIR /w", "WORKDIR rel/./x/..");
        CHANGES_TO("{\"WorkingDir\":\"/rel\"}", "WORKDIR rel");
        CHANGES_TO("{\"StopSignal\":\"SIGKILL\"}", "STOPSIGNAL SIGKILL");
        CHANGES_TO("{\"StopSignal\":\"9\"}", "STOPSIGNAL 9");
        CHANGES_TO("{\"OnBuild\":[\"RUN echo hi\"]}", "ONBUILD RUN echo hi");

        CHANGE_REFUSED("run is not a valid change command", "RUN true");
        CHANGE_REFUSED("from is not a valid change command", "from x");
        CHANGE_REFUSED("file with no instructions", "");
        CHANGE_REFUSED("file with no instructions", "# CMD x");
        CHANGE_REFUSED("ENV requires at least one argument", "ENV");
        CHANGE_REFUSED("ENV must have two arguments", "ENV a");
        CHANGE_REFUSED("Syntax error - can't find = in \"b\". Must be of the form: name=value",
                       "ENV a=1 b");
        CHANGE_REFUSED("LABEL must have two arguments", "LABEL x");
        CHANGE_REFUSED("EXPOSE requires at least one argument", "EXPOSE");
        CHANGE_REFUSED("Invalid containerPort: abc", "EXPOSE abc");
        CHANGE_REFUSED("USER requires exactly one argument", "USER");
        CHANGE_REFUSED("WORKDIR requires exactly one argument", "WORKDIR");
        CHANGE_REFUSED("VOLUME requires at least one argument", "VOLUME");
        CHANGE_REFUSED("VOLUME requires at least one argument", "VOLUME []");
        CHANGE_REFUSED("VOLUME specified can not be an empty string", "VOLUME [\"\"]");
        CHANGE_REFUSED("ONBUILD requires at least one argument", "ONBUILD");
        CHANGE_REFUSED("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", "ONBUILD ONBUILD x");
        CHANGE_REFUSED("FROM isn't allowed as an ONBUILD trigger", "ONBUILD FROM x");
        CHANGE_REFUSED("Invalid signal: SIGNOPE", "STOPSIGNAL SIGNOPE");
        CHANGE_REFUSED("failed to process \"a=\"/b c\": unexpected end of statement while looking "
                       "for matching double-quote",
                       "ENV a=\"/b c");
}

/* --change and --message reach the stored config; a bad change stores
 * nothing and reads nothing. */
static void test_import_changes(void)
{
        _cleanup_store_ struct store *s = fresh_store("changes");
        CHECK(s);
        _cleanup_err_ struct err *e = NULL;
        char id[DIGEST_LEN + 1];
        const char *ch[] = {"CMD [\"echo\", \"imported\"]", "ENV a=1"};
        struct import_opts o = {.changes = ch, .n_changes = 2, .message = "note"};
        _cleanup_close_ int fd = open(rootfs_tar, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(image_import_opts(s, fd, "imp:1", &o, id, &e) == 0);
        _cleanup_free_ char *cfg = NULL;
        size_t len = 0;
        CHECK(store_blob_read(s, id, 1 << 20, &cfg, &len, &e) == 0);
        json_t *j = cfg ? json_loadb(cfg, len, 0, NULL) : NULL;
        CHECK(j);
        CHECK_STR(json_string_value(json_object_get(j, "comment")), "note");
        json_t *h = json_array_get(json_object_get(j, "history"), 0);
        CHECK_STR(json_string_value(json_object_get(h, "comment")), "note");
        json_t *c = json_object_get(j, "config");
        CHECK_STR(json_string_value(json_array_get(json_object_get(c, "Cmd"), 1)), "imported");
        CHECK_STR(json_string_value(json_array_get(json_object_get(c, "Env"), 0)), "a=1");
        json_decref(j);

        const char *bad[] = {"RUN true"};
        struct import_opts ob = {.changes = bad, .n_changes = 1};
        _cleanup_close_ int fd2 = open(rootfs_tar, O_RDONLY | O_CLOEXEC);
        CHECK(image_import_opts(s, fd2, "imp:2", &ob, id, &e) < 0);
        CHECK(e && e->code == EINVAL);
        CHECK(lseek(fd2, 0, SEEK_CUR) == 0);
        CHECK(count_images(s) == 1);
}

static void test_save_errors(void)
{
        CHECK(store_a);
        _cleanup_err_ struct err *e = NULL;
        char *refs[] = {"nosuch:image"};
        _cleanup_free_ char *out = xasprintf("%s/none.tar", tmp);
        _cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(image_save(store_a, refs, 1, fd, &e) < 0);
        printf("# %s\n", e->msg);
        struct stat st;
        CHECK(fstat(fd, &st) == 0 && st.st_size == 0); /* nothing written */
}

static int setup(void)
{
        snprintf(tmp, sizeof(tmp), "/tmp/barge-imageio-XXXXXX");
        if (mkdtemp(tmp) == NULL)
                return -1;
        snprintf(rootfs_tar, sizeof(rootfs_tar), "%s/rootfs.tar", tmp);
        snprintf(rootfs_gz, sizeof(rootfs_gz), "%s/rootfs.tar.gz", tmp);
        snprintf(extra_tar, sizeof(extra_tar), "%s/extra.tar", tmp);
        snprintf(extra_gz, sizeof(extra_gz), "%s/extra.tar.gz", tmp);
        if (sh("sh tests/lib/mkrootfs.sh %s/rootfs >/dev/null", tmp) != 0 ||
            sh("tar -C %s/rootfs --sort=name --numeric-owner -cf %s .", tmp, rootfs_tar) != 0 ||
            sh("gzip -c %s >%s", rootfs_tar, rootfs_gz) != 0 ||
            sh("mkdir -p %s/extra && echo hi >%s/extra/hello && "
               "tar -C %s/extra --numeric-owner -cf %s hello && gzip -c %s >%s",
               tmp, tmp, tmp, extra_tar, extra_tar, extra_gz) != 0)
                return -1;
        file_digest(rootfs_tar, rootfs_diff);
        file_digest(extra_tar, extra_diff);
        have_skopeo = system("command -v skopeo >/dev/null 2>&1") == 0;
        have_podman = system("command -v podman >/dev/null 2>&1") == 0;
        return 0;
}

int main(void)
{
        if (geteuid() != 0) {
                printf("ok 1 - # SKIP needs root\n1..1\n");
                return 0;
        }
        /* keeps reference.o in the link ahead of the store library that uses it */
        _cleanup_free_ char *fam = ref_familiar("docker.io/library/busybox:latest");
        if (access("tests/lib/mkrootfs.sh", R_OK) != 0 || access("/bin/busybox", X_OK) != 0) {
                printf("ok 1 - # SKIP run from the repository root, with busybox-static\n1..1\n");
                return 0;
        }
        if (setup() < 0) {
                printf("not ok 1 - setup\n1..1\n");
                return 1;
        }
        RUN(test_import);
        RUN(test_import_gzip);
        if (system("command -v zstd >/dev/null && command -v xz >/dev/null") == 0)
                RUN(test_import_zstd_xz);
        else
                SKIP(test_import_zstd_xz, "zstd or xz not installed");
        RUN(test_save);
        RUN(test_load_roundtrip);
        RUN(test_load_pipe);
        RUN(test_shared_layers);
        if (have_skopeo) {
                RUN(test_skopeo_oci);
                RUN(test_skopeo_oci_preserved);
        } else {
                SKIP(test_skopeo_oci, "skopeo not installed");
                SKIP(test_skopeo_oci_preserved, "skopeo not installed");
        }
        if (have_skopeo)
                RUN(test_docker25_layout);
        else
                SKIP(test_docker25_layout, "skopeo not installed");
        if (have_podman && !UNDER_ASAN)
                RUN(test_podman_load);
        else
                SKIP(test_podman_load, "podman not installed (or under ASan)");
        RUN(test_bad_archives);
        RUN(test_bad_import);
        RUN(test_save_errors);
        RUN(test_config_changes);
        RUN(test_import_changes);
        store_close(store_a);
        if (getenv("KEEP_TMP") == NULL) {
                _cleanup_err_ struct err *e = NULL;
                rm_rf(tmp, &e);
        }
        return DONE();
}

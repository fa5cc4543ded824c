/*
 * imageio: images in and out of the store as tar archives.
 *
 * save writes a docker-archive, the format `docker save` (before 25.0)
 * writes and every loader reads: per layer a directory named by a v1 id
 * holding VERSION, json and layer.tar (the uncompressed layer, so its sha256
 * is the diff id), the config as <id hex>.json with its bytes unchanged (so
 * the image id survives), manifest.json and repositories.  A tar header
 * needs the size before the data, and a compressed blob does not say how
 * big it is inflated, so each compressed layer is read twice: once to count
 * and check its digest, once to write.  That keeps the output a pure stream
 * (a pipe works) and means nothing is written for an image whose layers do
 * not check out.
 *
 * load reads a stream, which cannot be re-read, while the order of entries
 * in the archive is unknown (docker's manifest.json comes last, after the
 * layers it lists).  So the archive is first spooled into a private
 * directory under <store root>/tmp: every regular file becomes a numbered
 * file there, with its sha256 computed on the way, and the archive's names
 * stay in memory only, so no archive name is ever used as a path on disk.
 * Then everything that can be checked without unpacking is checked (names,
 * JSON, digests of blobs and of uncompressed layers) before the store is
 * touched, and only then are layers unpacked, blobs, images and tags added.
 *
 * import streams a root filesystem tar (any compression) into one layer and
 * writes a config like `docker import` does.
 *
 * Does not own: the store's layout and database (store.c), unpacking layer
 * tars safely (untar.c), name normalization (registry/reference.c).
 */
#include "imageio.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/reference.h"

#define IO_BUF (1 << 20)
#define MAX_JSON (64 << 20) /* manifest.json, index.json, configs, manifests */
#define MAX_LINK_HOPS 16

static inline void archive_readp(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}
static inline void ref_freep(struct image_ref **r)
{
        ref_free(*r);
}
static inline void store_image_freep(struct store_image **i)
{
        store_image_free(*i);
}
static inline void digester_freep(struct digester **d)
{
        digester_free(*d);
}
#define _cleanup_archive_read_ __attribute__((cleanup(archive_readp)))
#define _cleanup_json_ __attribute__((cleanup(json_decrefp))) /* jansson's helper */
#define _cleanup_ref_ __attribute__((cleanup(ref_freep)))
#define _cleanup_image_ __attribute__((cleanup(store_image_freep)))
#define _cleanup_digester_ __attribute__((cleanup(digester_freep)))

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void strv_push(char ***v, size_t *n, char *s)
{
        char **nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (nv == NULL)
                abort();
        nv[(*n)++] = s;
        *v = nv;
}

static int strv_contains(char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return 1;
        return 0;
}

/* ---- compression ---- */

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_XZ, COMP_BZIP2 };

static enum comp sniff_comp(const unsigned char *p, size_t n)
{
        if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return COMP_GZIP;
        if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
                return COMP_ZSTD;
        static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
        if (n >= sizeof(xz) && !memcmp(p, xz, sizeof(xz)))
                return COMP_XZ;
        if (n >= 3 && !memcmp(p, "BZh", 3))
                return COMP_BZIP2;
        return COMP_NONE;
}

/* The decompressors every reader here accepts (what `docker load` accepts). */
static void add_filters(struct archive *a)
{
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
}

static int archive_fail(struct err **e, struct archive *a, const char *what)
{
        const char *m = archive_error_string(a);
        return err_new(e, 0, "%s: %s", what, m ? m : "unknown libarchive error");
}

/* ---- JSON and config helpers ---- */

static int json_parse(const char *buf, size_t len, const char *what, json_t **out, struct err **e)
{
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        if (j == NULL)
                return err_new(e, 0, "%s: invalid JSON: %s (line %d)", what, je.text, je.line);
        *out = j;
        return 0;
}

static char *json_compact(const json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s == NULL)
                abort();
        return s;
}

/* rootfs.diff_ids of an image config, each checked to be a sha256 digest. */
static int config_diff_ids(json_t *cfg, const char *what, char ***ids, size_t *n, struct err **e)
{
        json_t *rootfs = json_object_get(cfg, "rootfs");
        json_t *arr = json_object_get(rootfs, "diff_ids");
        const char *type = json_string_value(json_object_get(rootfs, "type"));
        if (!json_is_object(cfg) || type == NULL || strcmp(type, "layers") != 0 ||
            !json_is_array(arr))
                return err_new(e, 0, "%s: not an image config (no rootfs of type layers)", what);
        char **v = NULL;
        size_t k = 0;
        size_t i;
        json_t *d;
        json_array_foreach(arr, i, d)
        {
                const char *s = json_string_value(d);
                if (s == NULL || digest_check(s, e) < 0) {
                        strv_free(v, k);
                        if (s == NULL)
                                err_new(e, 0, "diff id %zu is not a string", i);
                        return err_wrap(e, "%s", what);
                }
                strv_push(&v, &k, xstrdup(s));
        }
        *ids = v;
        *n = k;
        return 0;
}

/* "busybox:latest" -> "docker.io/library/busybox:latest"; a tag is required. */
static int normalize_tag(const char *s, char **out, struct err **e)
{
        _cleanup_ref_ struct image_ref *r = NULL;
        if (ref_parse(s, &r, e) < 0)
                return -1;
        if (r->tag == NULL || r->digest != NULL)
                return err_new(e, 0, "%s: not a name:tag reference", s);
        *out = ref_string(r);
        return 0;
}

/* RFC 3339 time ("2024-01-02T03:04:05.123456789Z", or with +hh:mm) to unix
 * seconds; 0 when absent or unreadable (then the epoch is as good as any). */
static int64_t parse_rfc3339(const char *s)
{
        if (s == NULL)
                return 0;
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (p == NULL)
                return 0;
        if (*p == '.')
                while (*++p >= '0' && *p <= '9')
                        ;
        int64_t t = (int64_t)timegm(&tm);
        int hh, mm;
        if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
                t += (*p == '+' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
        return t < 0 ? 0 : t;
}

/* Now as Go's RFC3339Nano prints it (trailing zeros of the fraction dropped). */
static void now_rfc3339(char out[64])
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(out, 64, "%Y-%m-%dT%H:%M:%S", &tm);
        if (ts.tv_nsec > 0) {
                char frac[24];
                snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
                size_t l = strlen(frac);
                while (frac[l - 1] == '0')
                        frac[--l] = '\0';
                snprintf(out + n, 64 - n, "%s", frac);
                n += l;
        }
        snprintf(out + n, 64 - n, "Z");
}

/* The host's platform in Go's GOARCH terms, as image configs name it. */
static const char *host_arch(const char **variant)
{
        static const struct {
                const char *uname, *arch, *variant;
        } map[] = {
            {"x86_64", "amd64", NULL},
            {"aarch64", "arm64", NULL},
            {"armv7l", "arm", "v7"},
            {"armv6l", "arm", "v6"},
            {"i686", "386", NULL},
            {"i386", "386", NULL},
            {"ppc64le", "ppc64le", NULL},
            {"s390x", "s390x", NULL},
            {"riscv64", "riscv64", NULL},
            {"mips64", "mips64", NULL},
            {"loongarch64", "loong64", NULL},
        };
        struct utsname u;
        *variant = NULL;
        if (uname(&u) < 0)
                return "amd64";
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (strcmp(u.machine, map[i].uname) == 0) {
                        *variant = map[i].variant;
                        return map[i].arch;
                }
        return "amd64";
}

/* ---- manifests for images that came without one ---- */

/* The blob a layer's tar can be read from: an uncompressed one under the
 * diff id (what load keeps for docker-archive layers), else the blob the
 * layer was recorded with (pulled, OCI-loaded, imported compressed); ""
 * when there is neither (the layer exists only unpacked). */
static int layer_blob(struct store *s, const char *chain, const char *diff_id,
                      char out[DIGEST_LEN + 1], struct err **e)
{
        out[0] = '\0';
        if (store_blob_has(s, diff_id)) {
                snprintf(out, DIGEST_LEN + 1, "%s", diff_id);
                return 0;
        }
        if (store_layer_blob(s, chain, out, e) < 0)
                return -1;
        if (*out && !store_blob_has(s, out))
                out[0] = '\0';
        return 0;
}

static enum comp blob_comp(struct store *s, const char *digest)
{
        _cleanup_close_ int fd = store_blob_open(s, digest, NULL);
        unsigned char head[8];
        ssize_t n = fd < 0 ? -1 : read_full(fd, head, sizeof(head));
        return n > 0 ? sniff_comp(head, (size_t)n) : COMP_NONE;
}

static char *manifest_json(struct store *s, const char *id, size_t config_len, char *const *blobs,
                           size_t n, int all_gzip)
{
        _cleanup_json_ json_t *m = json_object();
        json_object_set_new(m, "schemaVersion", json_integer(2));
        json_object_set_new(m, "mediaType",
                            json_string(all_gzip
                                            ? "application/vnd.docker.distribution.manifest.v2+json"
                                            : "application/vnd.oci.image.manifest.v1+json"));
        json_t *cfg = json_object();
        json_object_set_new(cfg, "mediaType",
                            json_string(all_gzip ? "application/vnd.docker.container.image.v1+json"
                                                 : "application/vnd.oci.image.config.v1+json"));
        json_object_set_new(cfg, "size", json_integer((json_int_t)config_len));
        json_object_set_new(cfg, "digest", json_string(id));
        json_object_set_new(m, "config", cfg);
        json_t *layers = json_array();
        for (size_t i = 0; i < n; i++) {
                enum comp c = blob_comp(s, blobs[i]);
                const char *mt = all_gzip ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                                 : c == COMP_GZIP ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                 : c == COMP_ZSTD ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                                  : "application/vnd.oci.image.layer.v1.tar";
                json_t *l = json_object();
                json_object_set_new(l, "mediaType", json_string(mt));
                json_object_set_new(l, "size",
                                    json_integer((json_int_t)store_blob_size(s, blobs[i])));
                json_object_set_new(l, "digest", json_string(blobs[i]));
                json_array_append_new(layers, l);
        }
        json_object_set_new(m, "layers", layers);
        return json_compact(m);
}

/* Record a manifest for an image whose layer blobs are not all under
 * their diff ids, so that push sends those blobs as they are (push builds
 * a manifest itself only from blobs under diff ids).  Docker schema 2
 * when every layer is gzip, as Docker pushes; OCI otherwise.  *out is ""
 * when no manifest is needed, or possible (a layer without a blob). */
static int put_manifest(struct store *s, const char *id, size_t config_len, char *const *chains,
                        char *const *diff_ids, size_t n, char out[DIGEST_LEN + 1], struct err **e)
{
        out[0] = '\0';
        char **blobs = xcalloc(n + 1, sizeof(char *));
        int need = 0, missing = 0, all_gzip = n > 0, r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                char b[DIGEST_LEN + 1];
                r = layer_blob(s, chains[i], diff_ids[i], b, e);
                blobs[i] = xstrdup(b);
                missing |= b[0] == '\0';
                need |= strcmp(b, diff_ids[i]) != 0;
                all_gzip &= b[0] && blob_comp(s, b) == COMP_GZIP;
        }
        if (r == 0 && need && !missing) {
                char *text = manifest_json(s, id, config_len, blobs, n, all_gzip);
                r = store_blob_put(s, text, strlen(text), out, e);
                free(text);
        }
        strv_free(blobs, n);
        return r;
}

/* ======================================================================
 * save
 * ====================================================================== */

/* The zero container config docker writes into the json of lower layers. */
static const char zero_container_config[] =
    "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
    "\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,"
    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}";

struct save_layer {
        char chain[DIGEST_LEN + 1];
        char diff_id[DIGEST_LEN + 1];
        char blob[DIGEST_LEN + 1]; /* where the tar comes from */
        int compressed;            /* blob != diff_id: inflate it */
        int64_t tar_size;          /* uncompressed size */
        char v1[65];               /* hex id of the legacy layer directory */
        char *v1_json;
        int64_t mtime;
};

struct save_image {
        char id[DIGEST_LEN + 1];
        char *config;
        size_t config_len;
        int64_t created;
        struct save_layer *layers;
        size_t n_layers;
        char **tags; /* normalized */
        size_t n_tags;
};

struct save_plan {
        struct save_image *imgs;
        size_t n;
};

static void save_plan_free(struct save_plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                struct save_image *im = &p->imgs[i];
                free(im->config);
                for (size_t l = 0; l < im->n_layers; l++)
                        free(im->layers[l].v1_json);
                free(im->layers);
                strv_free(im->tags, im->n_tags);
        }
        free(p->imgs);
}

/* Add image `id` to the plan (once) and `tag` (normalized, may be NULL) to it. */
static void plan_add(struct save_plan *p, const char *id, const char *tag)
{
        struct save_image *im = NULL;
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->imgs[i].id, id) == 0)
                        im = &p->imgs[i];
        if (im == NULL) {
                struct save_image *n = realloc(p->imgs, (p->n + 1) * sizeof(*n));
                if (n == NULL)
                        abort();
                p->imgs = n;
                im = &p->imgs[p->n++];
                memset(im, 0, sizeof(*im));
                snprintf(im->id, sizeof(im->id), "%s", id);
        }
        if (tag && !strv_contains(im->tags, im->n_tags, tag))
                strv_push(&im->tags, &im->n_tags, xstrdup(tag));
}

static int is_full_id(const char *s)
{
        if (str_has_prefix(s, "sha256:"))
                s += 7;
        if (strlen(s) != 64)
                return 0;
        for (const char *c = s; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return 0;
        return 1;
}

/* "busybox" (no tag, no digest) as opposed to "busybox:1" or "x@sha256:..". */
static int is_name_only(const char *s)
{
        const char *slash = strrchr(s, '/');
        const char *last = slash ? slash + 1 : s;
        return strchr(last, ':') == NULL && strchr(s, '@') == NULL;
}

/* "docker.io/library/busybox:latest" -> its name part. */
static int tag_has_name(const char *tag, const char *name)
{
        size_t n = strlen(name);
        return strncmp(tag, name, n) == 0 && tag[n] == ':';
}

/* Docker's rules for what `save NAME` includes: an id saves the image with
 * no tags; name:tag saves that tag; a bare name saves every tag of that
 * repository (or, when it has none, is tried as an id prefix); name@digest
 * saves the image without tags. */
static int plan_resolve(struct store *s, struct save_plan *p, const char *arg, struct err **e)
{
        _cleanup_image_ struct store_image *img = NULL;
        if (is_full_id(arg)) {
                if (store_image_get(s, arg, &img, e) < 0)
                        return -1;
                plan_add(p, img->id, NULL);
                return 0;
        }
        _cleanup_ref_ struct image_ref *r = NULL;
        _cleanup_err_ struct err *perr = NULL;
        if (ref_parse(arg, &r, &perr) < 0) {
                /* not a reference: maybe a short id */
                if (store_image_get(s, arg, &img, e) < 0)
                        return -1;
                plan_add(p, img->id, NULL);
                return 0;
        }
        if (is_name_only(arg)) {
                _cleanup_free_ char *name = ref_name(r);
                struct store_image **all = NULL;
                size_t n = 0, found = 0;
                if (store_image_list(s, &all, &n, e) < 0)
                        return -1;
                for (size_t i = 0; i < n; i++) {
                        for (size_t t = 0; t < all[i]->n_tags; t++)
                                if (tag_has_name(all[i]->repo_tags[t], name)) {
                                        plan_add(p, all[i]->id, all[i]->repo_tags[t]);
                                        found++;
                                }
                        store_image_free(all[i]);
                }
                free(all);
                if (found > 0)
                        return 0;
                if (store_image_get(s, arg, &img, e) < 0)
                        return -1;
                plan_add(p, img->id, NULL);
                return 0;
        }
        _cleanup_free_ char *norm = ref_string(r);
        if (store_image_get(s, norm, &img, e) < 0)
                return -1;
        plan_add(p, img->id, r->tag && !r->digest ? norm : NULL);
        return 0;
}

/* Read the whole blob through the decompressors: its size and digest. */
static int inflate_blob(struct store *s, const char *blob, struct archive *out, int64_t *size,
                        char digest[DIGEST_LEN + 1], struct err **e)
{
        _cleanup_close_ int fd = store_blob_open(s, blob, e);
        if (fd < 0)
                return -1;
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        add_filters(a);
        archive_read_support_format_raw(a);
        struct archive_entry *ent;
        if (archive_read_open_fd(a, fd, IO_BUF) != ARCHIVE_OK ||
            archive_read_next_header(a, &ent) != ARCHIVE_OK)
                return archive_fail(e, a, blob);
        _cleanup_free_ char *buf = xmalloc(IO_BUF);
        _cleanup_digester_ struct digester *d = digester_new();
        int64_t total = 0;
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, IO_BUF);
                if (n < 0)
                        return archive_fail(e, a, blob);
                if (n == 0)
                        break;
                digester_update(d, buf, (size_t)n);
                total += n;
                if (out != NULL && archive_write_data(out, buf, (size_t)n) != n)
                        return archive_fail(e, out, "write archive");
        }
        digester_final(d, digest);
        *size = total;
        return 0;
}

/* Where a layer's tar comes from in save.  A layer with no blob cannot be
 * saved: a tar re-made from the directory would not have the same bytes,
 * hence not the same diff id. */
static int find_layer_blob(struct store *s, const char *image, size_t i, struct save_layer *l,
                           struct err **e)
{
        if (layer_blob(s, l->chain, l->diff_id, l->blob, e) < 0)
                return -1;
        if (l->blob[0] == '\0')
                return err_new(e, 0,
                               "image %.19s: layer %zu (%s) has no stored tar to save from; "
                               "saving layers that exist only unpacked is not supported yet",
                               image, i + 1, l->diff_id);
        l->compressed = strcmp(l->blob, l->diff_id) != 0;
        if (!l->compressed) {
                l->tar_size = store_blob_size(s, l->blob);
                if (l->tar_size < 0)
                        return err_new(e, 0, "size of blob %s", l->blob);
        }
        return 0;
}

/* The v1 id and json docker writes per layer directory: the json of the top
 * layer is the image config without rootfs and history, lower layers get an
 * empty one; the id is the sha256 of that json with "layer_id" (the chain
 * id) and "parent" (the parent's v1 id) added, so it is stable per image. */
static void make_v1(struct save_layer *l, const char *parent_v1, json_t *config, int top)
{
        _cleanup_json_ json_t *body = json_object();
        if (top) {
                const char *k;
                json_t *v;
                json_object_foreach(config, k, v)
                {
                        if (strcmp(k, "rootfs") && strcmp(k, "history") && strcmp(k, "id") &&
                            strcmp(k, "parent"))
                                json_object_set(body, k, v);
                }
        } else {
                json_object_set_new(body, "created", json_string("1970-01-01T00:00:00Z"));
                json_object_set_new(body, "container_config",
                                    json_loads(zero_container_config, 0, NULL));
                json_t *os = json_object_get(config, "os");
                if (json_is_string(os))
                        json_object_set(body, "os", os);
        }
        _cleanup_json_ json_t *forid = json_object();
        json_object_update(forid, body);
        json_object_set_new(forid, "layer_id", json_string(l->chain));
        if (parent_v1) {
                _cleanup_free_ char *p = xasprintf("sha256:%s", parent_v1);
                json_object_set_new(forid, "parent", json_string(p));
        }
        _cleanup_free_ char *idjson = json_compact(forid);
        char dg[DIGEST_LEN + 1];
        digest_buf(idjson, strlen(idjson), dg);
        snprintf(l->v1, sizeof(l->v1), "%s", digest_hex(dg));

        _cleanup_json_ json_t *out = json_object();
        json_object_set_new(out, "id", json_string(l->v1));
        if (parent_v1)
                json_object_set_new(out, "parent", json_string(parent_v1));
        json_object_update(out, body);
        l->v1_json = json_compact(out);
}

/* Fill in one image of the plan: config, layers, their sources and sizes. */
static int plan_image(struct store *s, struct save_image *im, struct err **e)
{
        _cleanup_image_ struct store_image *img = NULL;
        if (store_image_get(s, im->id, &img, e) < 0)
                return -1;
        if (store_blob_read(s, im->id, MAX_JSON, &im->config, &im->config_len, e) < 0)
                return err_wrap(e, "config of image %s", im->id);
        _cleanup_json_ json_t *cfg = NULL;
        char **diff = NULL;
        size_t n_diff = 0;
        if (json_parse(im->config, im->config_len, im->id, &cfg, e) < 0 ||
            config_diff_ids(cfg, im->id, &diff, &n_diff, e) < 0)
                return -1;
        if (n_diff != img->n_layers || n_diff == 0) {
                strv_free(diff, n_diff);
                return err_new(e, 0, "image %s: %zu layers in the store, %zu in its config%s",
                               im->id, img->n_layers, n_diff,
                               n_diff == 0 ? " (an image without layers cannot be saved)" : "");
        }
        im->created = parse_rfc3339(json_string_value(json_object_get(cfg, "created")));
        im->layers = xcalloc(n_diff, sizeof(*im->layers));
        im->n_layers = n_diff;
        int r = 0;
        for (size_t i = 0; i < n_diff && r == 0; i++) {
                struct save_layer *l = &im->layers[i];
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff[i]);
                store_chain_id(i ? im->layers[i - 1].chain : NULL, l->diff_id, l->chain);
                if (strcmp(l->chain, img->chain_ids[i]) != 0) {
                        r = err_new(e, 0,
                                    "image %s: layer %zu is %s in the store but %s "
                                    "by its config",
                                    im->id, i + 1, img->chain_ids[i], l->chain);
                        break;
                }
                r = find_layer_blob(s, im->id, i, l, e);
                if (r == 0 && l->compressed) {
                        char got[DIGEST_LEN + 1];
                        r = inflate_blob(s, l->blob, NULL, &l->tar_size, got, e);
                        if (r == 0 && strcmp(got, l->diff_id) != 0)
                                r = err_new(e, 0,
                                            "image %s: blob %s inflates to %s, not to "
                                            "the diff id %s",
                                            im->id, l->blob, got, l->diff_id);
                }
                if (r == 0) {
                        int top = i == n_diff - 1;
                        make_v1(l, i ? im->layers[i - 1].v1 : NULL, cfg, top);
                        l->mtime = top ? im->created : 0;
                }
        }
        strv_free(diff, n_diff);
        return r;
}

/* ---- tar output ---- */

static int tar_header(struct archive *a, const char *name, mode_t type, mode_t perm, int64_t size,
                      int64_t mtime, const char *link, struct err **e)
{
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, type);
        archive_entry_set_perm(ent, perm);
        archive_entry_set_size(ent, size);
        archive_entry_set_mtime(ent, mtime, 0);
        archive_entry_set_uid(ent, 0);
        archive_entry_set_gid(ent, 0);
        archive_entry_set_uname(ent, "root");
        archive_entry_set_gname(ent, "root");
        if (link)
                archive_entry_set_symlink(ent, link);
        int r = archive_write_header(a, ent);
        archive_entry_free(ent);
        if (r != ARCHIVE_OK)
                return archive_fail(e, a, name);
        return 0;
}

static int tar_file(struct archive *a, const char *name, const char *data, size_t len,
                    int64_t mtime, struct err **e)
{
        if (tar_header(a, name, AE_IFREG, 0644, (int64_t)len, mtime, NULL, e) < 0)
                return -1;
        if (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len)
                return archive_fail(e, a, name);
        return 0;
}

static int tar_layer_data(struct store *s, struct archive *a, const struct save_layer *l,
                          struct err **e)
{
        if (l->compressed) {
                int64_t n = 0;
                char got[DIGEST_LEN + 1];
                if (inflate_blob(s, l->blob, a, &n, got, e) < 0)
                        return -1;
                if (n != l->tar_size || strcmp(got, l->diff_id) != 0)
                        return err_new(e, 0, "blob %s changed while it was saved", l->blob);
                return 0;
        }
        _cleanup_close_ int fd = store_blob_open(s, l->blob, e);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *buf = xmalloc(IO_BUF);
        int64_t total = 0;
        for (;;) {
                ssize_t n = read(fd, buf, IO_BUF);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_sys(e, "read blob %s", l->blob);
                if (n == 0)
                        break;
                if (archive_write_data(a, buf, (size_t)n) != n)
                        return archive_fail(e, a, "write archive");
                total += n;
        }
        if (total != l->tar_size)
                return err_new(e, 0, "blob %s changed while it was saved", l->blob);
        return 0;
}

struct written {
        char **v1; /* layer directories written */
        size_t n_v1;
        char **diff; /* diff id -> path of its layer.tar, for symlinks */
        char **path;
        size_t n_diff;
};

static void written_free(struct written *w)
{
        strv_free(w->v1, w->n_v1);
        strv_free(w->diff, w->n_diff);
        strv_free(w->path, w->n_diff);
}

static int write_layer(struct store *s, struct archive *a, struct written *w,
                       const struct save_layer *l, struct err **e)
{
        if (strv_contains(w->v1, w->n_v1, l->v1))
                return 0;
        _cleanup_free_ char *dir = xasprintf("%s/", l->v1);
        _cleanup_free_ char *version = xasprintf("%s/VERSION", l->v1);
        _cleanup_free_ char *json = xasprintf("%s/json", l->v1);
        _cleanup_free_ char *tar = xasprintf("%s/layer.tar", l->v1);
        if (tar_header(a, dir, AE_IFDIR, 0755, 0, l->mtime, NULL, e) < 0 ||
            tar_file(a, version, "1.0", 3, l->mtime, e) < 0 ||
            tar_file(a, json, l->v1_json, strlen(l->v1_json), l->mtime, e) < 0)
                return -1;
        /* The same diff id under another chain: a symlink, as docker does. */
        for (size_t i = 0; i < w->n_diff; i++)
                if (strcmp(w->diff[i], l->diff_id) == 0) {
                        _cleanup_free_ char *target = xasprintf("../%s", w->path[i]);
                        if (tar_header(a, tar, AE_IFLNK, 0777, 0, l->mtime, target, e) < 0)
                                return -1;
                        strv_push(&w->v1, &w->n_v1, xstrdup(l->v1));
                        return 0;
                }
        if (tar_header(a, tar, AE_IFREG, 0644, l->tar_size, l->mtime, NULL, e) < 0 ||
            tar_layer_data(s, a, l, e) < 0)
                return -1;
        strv_push(&w->v1, &w->n_v1, xstrdup(l->v1));
        size_t n_path = w->n_diff;
        strv_push(&w->diff, &w->n_diff, xstrdup(l->diff_id));
        strv_push(&w->path, &n_path, xstrdup(tar));
        return 0;
}

/* manifest.json and repositories for the whole plan. */
static void save_index(const struct save_plan *p, char **manifest, char **repositories)
{
        _cleanup_json_ json_t *m = json_array();
        _cleanup_json_ json_t *repos = json_object();
        for (size_t i = 0; i < p->n; i++) {
                const struct save_image *im = &p->imgs[i];
                const char *top = im->layers[im->n_layers - 1].v1;
                json_t *tags = im->n_tags ? json_array() : json_null();
                for (size_t t = 0; t < im->n_tags; t++) {
                        _cleanup_free_ char *fam = ref_familiar(im->tags[t]);
                        json_array_append_new(tags, json_string(fam));
                        /* "busybox:latest" -> {"busybox": {"latest": top}} */
                        char *colon = strrchr(fam, ':');
                        *colon = '\0';
                        json_t *byname = json_object_get(repos, fam);
                        if (byname == NULL) {
                                byname = json_object();
                                json_object_set_new(repos, fam, byname);
                        }
                        json_object_set_new(byname, colon + 1, json_string(top));
                }
                json_t *layers = json_array();
                for (size_t l = 0; l < im->n_layers; l++) {
                        _cleanup_free_ char *path = xasprintf("%s/layer.tar", im->layers[l].v1);
                        json_array_append_new(layers, json_string(path));
                }
                _cleanup_free_ char *cfg = xasprintf("%s.json", digest_hex(im->id));
                json_t *item = json_object();
                json_object_set_new(item, "Config", json_string(cfg));
                json_object_set_new(item, "RepoTags", tags);
                json_object_set_new(item, "Layers", layers);
                json_array_append_new(m, item);
        }
        _cleanup_free_ char *ms = json_compact(m);
        *manifest = xasprintf("%s\n", ms);
        *repositories = NULL;
        if (json_object_size(repos) > 0) {
                _cleanup_free_ char *rs = json_compact(repos);
                *repositories = xasprintf("%s\n", rs);
        }
}

int image_save(struct store *s, char *const *refs, size_t n, int fd, struct err **e)
{
        struct save_plan plan = {0};
        struct written w = {0};
        struct archive *a = NULL;
        _cleanup_free_ char *manifest = NULL, *repositories = NULL;
        int r = -1;

        if (n == 0) {
                err_new(e, 0, "no image to save");
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                if (plan_resolve(s, &plan, refs[i], e) < 0)
                        goto out;
        for (size_t i = 0; i < plan.n; i++)
                if (plan_image(s, &plan.imgs[i], e) < 0)
                        goto out;
        /* Everything is known and checked: now the stream. */
        a = archive_write_new();
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_add_filter_none(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(a, fd) != ARCHIVE_OK) {
                archive_fail(e, a, "write archive");
                goto out;
        }
        for (size_t i = 0; i < plan.n; i++) {
                struct save_image *im = &plan.imgs[i];
                for (size_t l = 0; l < im->n_layers; l++)
                        if (write_layer(s, a, &w, &im->layers[l], e) < 0)
                                goto out;
                _cleanup_free_ char *cfg = xasprintf("%s.json", digest_hex(im->id));
                if (tar_file(a, cfg, im->config, im->config_len, im->created, e) < 0)
                        goto out;
        }
        save_index(&plan, &manifest, &repositories);
        if (tar_file(a, "manifest.json", manifest, strlen(manifest), 0, e) < 0)
                goto out;
        if (repositories &&
            tar_file(a, "repositories", repositories, strlen(repositories), 0, e) < 0)
                goto out;
        if (archive_write_close(a) != ARCHIVE_OK) {
                archive_fail(e, a, "write archive");
                goto out;
        }
        r = 0;
out:
        if (a)
                archive_write_free(a);
        written_free(&w);
        save_plan_free(&plan);
        return r;
}

/* ======================================================================
 * load: the spool
 * ====================================================================== */

enum spool_kind { SP_FILE, SP_SYMLINK, SP_HARDLINK };

struct spool_entry {
        char *name; /* cleaned archive name */
        enum spool_kind kind;
        char *target; /* symlink target as written / hard link's cleaned name */
        char *path;   /* the spooled file (SP_FILE) */
        int64_t size;
        char digest[DIGEST_LEN + 1];
        enum comp comp;
};

struct spool {
        char *dir;
        struct spool_entry *ents;
        size_t n;
};

static void spool_free(struct spool *sp)
{
        for (size_t i = 0; i < sp->n; i++) {
                free(sp->ents[i].name);
                free(sp->ents[i].target);
                free(sp->ents[i].path);
        }
        free(sp->ents);
        if (sp->dir) {
                _cleanup_err_ struct err *e = NULL;
                rm_rf(sp->dir, &e);
                free(sp->dir);
        }
        memset(sp, 0, sizeof(*sp));
}

/* An archive name made canonical: no "./", no empty or "." components.
 * With allow_up == 0 (names in the archive, paths manifests give) ".." and
 * absolute names are refused; with allow_up == 1 (symlink targets joined to
 * their directory) ".." is resolved but may not leave the archive.  *out is
 * NULL for the archive root itself. */
static int clean_name(const char *raw, int allow_up, char **out, struct err **e)
{
        if (raw == NULL || raw[0] == '/')
                return err_new(e, 0, "archive entry \"%s\": absolute name", raw ? raw : "(null)");
        _cleanup_free_ char *copy = xstrdup(raw);
        char **parts = NULL;
        size_t np = 0;
        char *save = NULL;
        int r = 0;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        if (!allow_up || np == 0) {
                                r = err_new(e, 0, "archive entry \"%s\": \"..\" %s", raw,
                                            allow_up ? "leaves the archive" : "in the name");
                                break;
                        }
                        np--;
                        continue;
                }
                parts = realloc(parts, (np + 1) * sizeof(*parts));
                if (parts == NULL)
                        abort();
                parts[np++] = c;
        }
        if (r == 0) {
                size_t len = 0;
                for (size_t i = 0; i < np; i++)
                        len += strlen(parts[i]) + 1;
                *out = NULL;
                if (np > 0) {
                        char *s = xmalloc(len);
                        s[0] = '\0';
                        for (size_t i = 0; i < np; i++) {
                                if (i)
                                        strcat(s, "/");
                                strcat(s, parts[i]);
                        }
                        *out = s;
                }
        }
        free(parts);
        return r;
}

static struct spool_entry *spool_add(struct spool *sp)
{
        struct spool_entry *n = realloc(sp->ents, (sp->n + 1) * sizeof(*n));
        if (n == NULL)
                abort();
        sp->ents = n;
        struct spool_entry *ent = &sp->ents[sp->n++];
        memset(ent, 0, sizeof(*ent));
        return ent;
}

/* Copy the current entry's data to a new spool file, digesting it. */
static int spool_data(struct archive *a, struct spool *sp, struct spool_entry *ent, char *buf,
                      struct err **e)
{
        ent->path = xasprintf("%s/%zu", sp->dir, sp->n);
        _cleanup_close_ int fd =
            open(ent->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_sys(e, "create %s", ent->path);
        _cleanup_digester_ struct digester *d = digester_new();
        unsigned char head[8];
        size_t nhead = 0;
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, IO_BUF);
                if (n < 0)
                        return archive_fail(e, a, ent->name);
                if (n == 0)
                        break;
                if (nhead < sizeof(head)) {
                        size_t k =
                            sizeof(head) - nhead < (size_t)n ? sizeof(head) - nhead : (size_t)n;
                        memcpy(head + nhead, buf, k);
                        nhead += k;
                }
                digester_update(d, buf, (size_t)n);
                if (write_all(fd, buf, (size_t)n) < 0)
                        return err_sys(e, "write %s", ent->path);
                ent->size += n;
        }
        digester_final(d, ent->digest);
        ent->comp = sniff_comp(head, nhead);
        return 0;
}

/* libarchive's source for load: an fd (a pipe is fine), counting bytes so
 * an empty input gets its own message. */
struct fd_src {
        int fd;
        char *buf;
        int64_t bytes;
};

static la_ssize_t fd_read(struct archive *a, void *data, const void **out)
{
        struct fd_src *src = data;
        ssize_t n;
        do
                n = read(src->fd, src->buf, IO_BUF);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        src->bytes += n;
        *out = src->buf;
        return n;
}

/* Read the whole archive from fd into sp. */
static int spool_archive(struct store *s, int fd, struct spool *sp, struct err **e)
{
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", store_root(s));
        if (mkdir_p(tmp, 0700, e) < 0)
                return -1;
        sp->dir = xasprintf("%s/load-XXXXXX", tmp);
        if (mkdtemp(sp->dir) == NULL) {
                err_sys(e, "mkdtemp %s", sp->dir);
                free(sp->dir);
                sp->dir = NULL;
                return -1;
        }
        _cleanup_free_ char *inbuf = xmalloc(IO_BUF);
        struct fd_src src = {.fd = fd, .buf = inbuf};
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        add_filters(a);
        archive_read_support_format_tar(a);
        /* opening reads the start of the stream to detect the format */
        if (archive_read_open(a, &src, NULL, fd_read, NULL) != ARCHIVE_OK) {
                const char *m = archive_error_string(a);
                if (src.bytes == 0)
                        return err_new(e, 0, "empty input: not an image archive");
                return err_new(e, 0, "not a tar archive: %s", m ? m : "unreadable");
        }
        _cleanup_free_ char *buf = xmalloc(IO_BUF);
        size_t seen = 0;
        for (;;) {
                struct archive_entry *ae;
                int r = archive_read_next_header(a, &ae);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        if (seen == 0)
                                return err_new(e, 0, "not a tar archive: %s",
                                               archive_error_string(a));
                        return archive_fail(e, a, "read archive");
                }
                seen++;
                _cleanup_free_ char *name = NULL;
                if (clean_name(archive_entry_pathname(ae), 0, &name, e) < 0)
                        return -1;
                const char *hl = archive_entry_hardlink(ae);
                mode_t type = archive_entry_filetype(ae);
                if (name == NULL)
                        continue; /* "./" */
                if (hl != NULL) {
                        _cleanup_free_ char *target = NULL;
                        if (clean_name(hl, 0, &target, e) < 0)
                                return -1;
                        if (target == NULL)
                                return err_new(e, 0,
                                               "archive entry \"%s\": hard link to the "
                                               "archive root",
                                               name);
                        struct spool_entry *ent = spool_add(sp);
                        ent->kind = SP_HARDLINK;
                        ent->name = TAKE_PTR(name);
                        ent->target = TAKE_PTR(target);
                } else if (type == AE_IFLNK) {
                        struct spool_entry *ent = spool_add(sp);
                        ent->kind = SP_SYMLINK;
                        ent->name = TAKE_PTR(name);
                        const char *to = archive_entry_symlink(ae);
                        ent->target = xstrdup(to ? to : "");
                } else if (type == AE_IFREG) {
                        struct spool_entry *ent = spool_add(sp);
                        ent->kind = SP_FILE;
                        ent->name = TAKE_PTR(name);
                        if (spool_data(a, sp, ent, buf, e) < 0)
                                return -1;
                }
                /* directories and anything else carry nothing a loader uses */
        }
        /* Drain the padding after the end marker, so a writer on the other
         * end of a pipe does not get EPIPE (bounded: stdin may be endless). */
        for (int i = 0; i < 16; i++) {
                ssize_t n = read(fd, buf, 65536);
                if (n <= 0 && !(n < 0 && errno == EINTR))
                        break;
        }
        return 0;
}

/* The regular file an archive name (a path from manifest.json or index.json)
 * stands for, following symlinks and hard links inside the archive; NULL and
 * an error when there is none. */
static const struct spool_entry *spool_find(const struct spool *sp, const char *want,
                                            struct err **e)
{
        _cleanup_free_ char *name = NULL;
        if (clean_name(want, 0, &name, e) < 0)
                return NULL;
        if (name == NULL) {
                err_new(e, 0, "\"%s\" is not a file in the archive", want);
                return NULL;
        }
        for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
                const struct spool_entry *ent = NULL;
                for (size_t i = sp->n; i-- > 0;)
                        if (strcmp(sp->ents[i].name, name) == 0) {
                                ent = &sp->ents[i];
                                break;
                        }
                if (ent == NULL) {
                        err_new(e, 0, "\"%s\" is not in the archive", want);
                        return NULL;
                }
                if (ent->kind == SP_FILE)
                        return ent;
                _cleanup_free_ char *next = NULL;
                if (ent->kind == SP_HARDLINK) {
                        next = xstrdup(ent->target);
                } else {
                        if (ent->target[0] == '/') {
                                err_new(e, 0, "\"%s\": absolute symlink in the archive", ent->name);
                                return NULL;
                        }
                        const char *slash = strrchr(ent->name, '/');
                        _cleanup_free_ char *joined =
                            slash ? xasprintf("%.*s/%s", (int)(slash - ent->name), ent->name,
                                              ent->target)
                                  : xstrdup(ent->target);
                        if (clean_name(joined, 1, &next, e) < 0 || next == NULL) {
                                if (next == NULL)
                                        err_new(e, 0, "\"%s\": symlink to the archive root",
                                                ent->name);
                                return NULL;
                        }
                }
                free(name);
                name = TAKE_PTR(next);
        }
        err_new(e, 0, "\"%s\": too many links in the archive", want);
        return NULL;
}

static int spool_read(const struct spool *sp, const char *name, char **buf, size_t *len,
                      const struct spool_entry **which, struct err **e)
{
        const struct spool_entry *ent = spool_find(sp, name, e);
        if (ent == NULL)
                return -1;
        if (ent->size > MAX_JSON)
                return err_new(e, 0, "%s: larger than %d bytes", name, MAX_JSON);
        if (read_file(ent->path, MAX_JSON, buf, len, e) < 0)
                return err_wrap(e, "%s", name);
        if (which)
                *which = ent;
        return 0;
}

/* A JSON file of the archive (manifest.json, index.json, oci-layout). */
static int spool_json(const struct spool *sp, const char *name, json_t **out, struct err **e)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (spool_read(sp, name, &buf, &len, NULL, e) < 0)
                return -1;
        return json_parse(buf, len, name, out, e);
}

static int spool_has(const struct spool *sp, const char *name)
{
        for (size_t i = 0; i < sp->n; i++)
                if (strcmp(sp->ents[i].name, name) == 0)
                        return 1;
        return 0;
}

/* ======================================================================
 * load: the plan
 * ====================================================================== */

struct load_layer {
        char diff_id[DIGEST_LEN + 1];
        char chain[DIGEST_LEN + 1];
        const struct spool_entry *src;
};

struct load_image {
        char id[DIGEST_LEN + 1];
        char *config;
        size_t config_len;
        char *manifest; /* OCI only: kept as the image's manifest blob */
        size_t manifest_len;
        struct load_layer *layers;
        size_t n_layers;
        char **tags; /* normalized */
        size_t n_tags;
};

struct load_plan {
        struct load_image *imgs;
        size_t n;
        char **created; /* chain ids this load unpacked (for rollback) */
        size_t n_created;
};

static void load_plan_free(struct load_plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->imgs[i].config);
                free(p->imgs[i].manifest);
                free(p->imgs[i].layers);
                strv_free(p->imgs[i].tags, p->imgs[i].n_tags);
        }
        free(p->imgs);
        strv_free(p->created, p->n_created);
}

/* The plan's image for this config (merging tags when two entries of an
 * archive describe the same image), or a new one taking the config. */
static struct load_image *load_image_for(struct load_plan *p, char *config, size_t len, int *is_new)
{
        char id[DIGEST_LEN + 1];
        digest_buf(config, len, id);
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->imgs[i].id, id) == 0) {
                        free(config);
                        *is_new = 0;
                        return &p->imgs[i];
                }
        struct load_image *n = realloc(p->imgs, (p->n + 1) * sizeof(*n));
        if (n == NULL)
                abort();
        p->imgs = n;
        struct load_image *im = &p->imgs[p->n++];
        memset(im, 0, sizeof(*im));
        memcpy(im->id, id, sizeof(id));
        im->config = config;
        im->config_len = len;
        *is_new = 1;
        return im;
}

/* Check a layer's source against its diff id where that is possible without
 * unpacking (an uncompressed tar must hash to it); compressed ones are
 * checked by layer_commit while they are unpacked. */
static int check_layer(struct load_layer *l, const char *what, struct err **e)
{
        if (strcmp(l->src->digest, l->diff_id) == 0)
                return 0;
        if (l->src->comp != COMP_NONE)
                return 0;
        return err_new(e, 0, "%s: content is %s, but the image config says %s", what,
                       l->src->digest, l->diff_id);
}

/* Fill layers of a new plan image from its config and the archive files. */
static int plan_layers(const struct spool *sp, struct load_image *im, char *const *paths,
                       size_t n_paths, struct err **e)
{
        _cleanup_json_ json_t *cfg = NULL;
        char **diff = NULL;
        size_t n_diff = 0;
        if (json_parse(im->config, im->config_len, im->id, &cfg, e) < 0 ||
            config_diff_ids(cfg, im->id, &diff, &n_diff, e) < 0)
                return -1;
        int r = 0;
        if (n_diff != n_paths)
                r = err_new(e, 0, "image %s: %zu layers in the archive, %zu in its config", im->id,
                            n_paths, n_diff);
        im->layers = xcalloc(n_diff ? n_diff : 1, sizeof(*im->layers));
        im->n_layers = n_diff;
        for (size_t i = 0; i < n_diff && r == 0; i++) {
                struct load_layer *l = &im->layers[i];
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff[i]);
                store_chain_id(i ? im->layers[i - 1].chain : NULL, l->diff_id, l->chain);
                l->src = spool_find(sp, paths[i], e);
                if (l->src == NULL || check_layer(l, paths[i], e) < 0)
                        r = err_wrap(e, "image %s layer %zu", im->id, i + 1);
        }
        strv_free(diff, n_diff);
        return r;
}

static int add_tag(struct load_image *im, const char *tag, struct err **e)
{
        char *norm = NULL;
        if (normalize_tag(tag, &norm, e) < 0)
                return -1;
        if (strv_contains(im->tags, im->n_tags, norm))
                free(norm);
        else
                strv_push(&im->tags, &im->n_tags, norm);
        return 0;
}

/* docker-archive: manifest.json lists, per image, Config, RepoTags, Layers. */
static int plan_docker(const struct spool *sp, struct load_plan *p, struct err **e)
{
        _cleanup_json_ json_t *m = NULL;
        if (spool_json(sp, "manifest.json", &m, e) < 0)
                return -1;
        if (!json_is_array(m) || json_array_size(m) == 0)
                return err_new(e, 0, "manifest.json: not a list of images");
        size_t i;
        json_t *item;
        json_array_foreach(m, i, item)
        {
                const char *config = json_string_value(json_object_get(item, "Config"));
                json_t *layers = json_object_get(item, "Layers");
                json_t *tags = json_object_get(item, "RepoTags");
                if (config == NULL || !json_is_array(layers) ||
                    !(json_is_array(tags) || json_is_null(tags) || tags == NULL))
                        return err_new(e, 0,
                                       "manifest.json: entry %zu lacks Config or "
                                       "Layers",
                                       i + 1);
                char *cbuf = NULL;
                size_t clen = 0;
                if (spool_read(sp, config, &cbuf, &clen, NULL, e) < 0)
                        return err_wrap(e, "manifest.json entry %zu", i + 1);
                int is_new = 0;
                struct load_image *im = load_image_for(p, cbuf, clen, &is_new);
                if (is_new) {
                        char **paths = NULL;
                        size_t np = 0;
                        size_t k;
                        json_t *lp;
                        int bad = 0;
                        json_array_foreach(layers, k, lp)
                        {
                                if (!json_is_string(lp))
                                        bad = 1;
                                else
                                        strv_push(&paths, &np, xstrdup(json_string_value(lp)));
                        }
                        int r = bad ? err_new(e, 0,
                                              "manifest.json: entry %zu: a layer "
                                              "path is not a string",
                                              i + 1)
                                    : plan_layers(sp, im, paths, np, e);
                        strv_free(paths, np);
                        if (r < 0)
                                return -1;
                }
                size_t t;
                json_t *tag;
                json_array_foreach(tags, t, tag)
                {
                        if (!json_is_string(tag) || add_tag(im, json_string_value(tag), e) < 0)
                                return err_wrap(e, "manifest.json: RepoTags of entry %zu", i + 1);
                }
        }
        return 0;
}

/* An OCI blob by digest: blobs/<alg>/<hex>, whose content must match. */
static const struct spool_entry *oci_blob(const struct spool *sp, const char *digest,
                                          struct err **e)
{
        if (digest == NULL) {
                err_new(e, 0, "descriptor without a digest");
                return NULL;
        }
        if (digest_check(digest, e) < 0)
                return NULL;
        _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest_hex(digest));
        const struct spool_entry *ent = spool_find(sp, path, e);
        if (ent == NULL)
                return NULL;
        if (strcmp(ent->digest, digest) != 0) {
                err_new(e, 0, "%s: content is %s, not %s", path, ent->digest, digest);
                return NULL;
        }
        return ent;
}

static int oci_blob_read(const struct spool *sp, const char *digest, char **buf, size_t *len,
                         struct err **e)
{
        const struct spool_entry *ent = oci_blob(sp, digest, e);
        if (ent == NULL)
                return -1;
        if (ent->size > MAX_JSON)
                return err_new(e, 0, "blob %s: larger than %d bytes", digest, MAX_JSON);
        return read_file(ent->path, MAX_JSON, buf, len, e);
}

static int is_index_type(const char *mt)
{
        return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
                      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* The name an index.json entry gives its image.  containerd (and docker
 * 25+) put the full name in io.containerd.image.name and only the tag in
 * org.opencontainers.image.ref.name; skopeo and podman put whatever name
 * they were given in ref.name ("busybox:latest", "localhost/app:1").  A
 * ref.name without ':' or '/' is a bare tag (what the OCI spec intends) and
 * names no repository: such an image is loaded untagged. */
static const char *oci_name(json_t *desc)
{
        json_t *ann = json_object_get(desc, "annotations");
        const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
        if (full)
                return full;
        const char *ref =
            json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
        if (ref && (strchr(ref, ':') || strchr(ref, '/')))
                return ref;
        return NULL;
}

static int platform_matches(json_t *desc)
{
        json_t *pl = json_object_get(desc, "platform");
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *arch = json_string_value(json_object_get(pl, "architecture"));
        const char *variant = json_string_value(json_object_get(pl, "variant"));
        const char *want_variant = NULL;
        const char *want_arch = host_arch(&want_variant);
        if (os == NULL || arch == NULL || strcmp(os, "linux") || strcmp(arch, want_arch))
                return 0;
        return want_variant == NULL || variant == NULL || strcmp(variant, want_variant) == 0;
}

/* One index.json entry: a manifest, or an index to pick the host's
 * platform from (depth-limited). */
static int plan_oci_desc(const struct spool *sp, struct load_plan *p, json_t *desc,
                         const char *name, int depth, struct err **e)
{
        const char *digest = json_string_value(json_object_get(desc, "digest"));
        _cleanup_free_ char *mbuf = NULL;
        size_t mlen = 0;
        _cleanup_json_ json_t *m = NULL;
        if (oci_blob_read(sp, digest, &mbuf, &mlen, e) < 0 ||
            json_parse(mbuf, mlen, digest, &m, e) < 0)
                return -1;
        const char *mt = json_string_value(json_object_get(desc, "mediaType"));
        if (mt == NULL)
                mt = json_string_value(json_object_get(m, "mediaType"));
        if (is_index_type(mt) || (mt == NULL && json_is_array(json_object_get(m, "manifests")))) {
                if (depth >= 4)
                        return err_new(e, 0, "%s: indexes nested too deep", digest);
                size_t i;
                json_t *sub, *only = NULL;
                json_t *subs = json_object_get(m, "manifests");
                json_array_foreach(subs, i, sub)
                {
                        if (platform_matches(sub))
                                return plan_oci_desc(sp, p, sub, name, depth + 1, e);
                }
                /* one entry that names no platform: take it */
                if (json_array_size(subs) == 1 &&
                    json_object_get(only = json_array_get(subs, 0), "platform") == NULL)
                        return plan_oci_desc(sp, p, only, name, depth + 1, e);
                const char *v = NULL;
                return err_new(e, ENOENT, "%s: no image for linux/%s in the index", digest,
                               host_arch(&v));
        }
        json_t *cdesc = json_object_get(m, "config");
        json_t *layers = json_object_get(m, "layers");
        if (!json_is_object(cdesc) || !json_is_array(layers))
                return err_new(e, 0, "%s: not an image manifest", digest);
        /* artifacts (signatures, attestations, ...) share layouts with images */
        const char *cmt = json_string_value(json_object_get(cdesc, "mediaType"));
        if (cmt && strcmp(cmt, "application/vnd.oci.image.config.v1+json") != 0 &&
            strcmp(cmt, "application/vnd.docker.container.image.v1+json") != 0)
                return 0;
        char *cbuf = NULL;
        size_t clen = 0;
        if (oci_blob_read(sp, json_string_value(json_object_get(cdesc, "digest")), &cbuf, &clen,
                          e) < 0)
                return err_wrap(e, "config of %s", digest);
        int is_new = 0;
        struct load_image *im = load_image_for(p, cbuf, clen, &is_new);
        if (is_new) {
                char **paths = NULL;
                size_t np = 0;
                size_t i;
                json_t *l;
                int r = 0;
                json_array_foreach(layers, i, l)
                {
                        const char *ld = json_string_value(json_object_get(l, "digest"));
                        if (r == 0 && oci_blob(sp, ld, e) == NULL)
                                r = err_wrap(e, "layer %zu of %s", i + 1, digest);
                        strv_push(&paths, &np,
                                  ld ? xasprintf("blobs/sha256/%s", digest_hex(ld)) : xstrdup(""));
                }
                if (r == 0)
                        r = plan_layers(sp, im, paths, np, e);
                strv_free(paths, np);
                if (r < 0)
                        return -1;
                im->manifest = TAKE_PTR(mbuf);
                im->manifest_len = mlen;
        }
        if (name && add_tag(im, name, e) < 0)
                return err_wrap(e, "index.json");
        return 0;
}

static int plan_oci(const struct spool *sp, struct load_plan *p, struct err **e)
{
        _cleanup_json_ json_t *idx = NULL;
        if (spool_json(sp, "index.json", &idx, e) < 0)
                return -1;
        if (spool_has(sp, "oci-layout")) {
                _cleanup_json_ json_t *lay = NULL;
                if (spool_json(sp, "oci-layout", &lay, e) < 0)
                        return -1;
                const char *v = json_string_value(json_object_get(lay, "imageLayoutVersion"));
                if (v == NULL || strncmp(v, "1.", 2) != 0)
                        return err_new(e, 0, "oci-layout: unsupported version %s",
                                       v ? v : "(none)");
        }
        json_t *mans = json_object_get(idx, "manifests");
        if (!json_is_array(mans) || json_array_size(mans) == 0)
                return err_new(e, 0, "index.json: no manifests");
        size_t i;
        json_t *desc;
        json_array_foreach(mans, i, desc)
        {
                if (plan_oci_desc(sp, p, desc, oci_name(desc), 0, e) < 0)
                        return err_wrap(e, "index.json entry %zu", i + 1);
        }
        if (p->n == 0)
                return err_new(e, 0, "index.json: no image in the layout (only other artifacts)");
        return 0;
}

/* ======================================================================
 * load: into the store
 * ====================================================================== */

/* Feed a file to a layer writer and (when not NULL) a blob writer at once. */
static int feed_file(const char *path, struct layer_writer *lw, struct blob_writer *bw,
                     struct err **e)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "open %s", path);
        _cleanup_free_ char *buf = xmalloc(IO_BUF);
        for (;;) {
                ssize_t n = read(fd, buf, IO_BUF);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_sys(e, "read %s", path);
                if (n == 0)
                        return 0;
                if (bw && blob_write(bw, buf, (size_t)n, e) < 0)
                        return -1;
                if (layer_write(lw, buf, (size_t)n, e) < 0)
                        return -1;
        }
}

/* Unpack one layer and keep its tar, exactly as the archive had it, as a
 * blob: an uncompressed docker-archive layer.tar under its diff id (so a
 * later save reproduces it byte for byte), an OCI blob (usually gzip) under
 * its own digest (so push can send it as is). */
static int load_layer(struct store *s, struct load_plan *p, const struct load_layer *l,
                      const char *parent, struct err **e)
{
        if (store_layer_has(s, l->chain))
                return 0;
        struct blob_writer *bw = NULL;
        struct layer_writer *lw = NULL;
        if (store_blob_begin(s, l->src->digest, &bw, e) < 0)
                return -1;
        if (store_layer_begin(s, parent, &lw, e) < 0) {
                if (bw)
                        blob_abort(bw);
                return -1;
        }
        if (feed_file(l->src->path, lw, bw, e) < 0) {
                if (bw)
                        blob_abort(bw);
                layer_abort(lw);
                return -1;
        }
        /* The blob's digest was checked while spooling, so its commit can
         * only fail on I/O; the layer's diff id of a compressed tar is
         * checked here for the first time: commit the layer first. */
        char diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
        if (layer_commit(lw, l->diff_id, l->src->digest, diff, chain, e) < 0) {
                if (bw)
                        blob_abort(bw);
                return -1;
        }
        strv_push(&p->created, &p->n_created, xstrdup(chain));
        if (bw && blob_commit(bw, NULL, e) < 0)
                return -1;
        return 0;
}

/* Undo the layers this load unpacked (after a layer failed its diff id
 * while being unpacked, the one check that cannot be made beforehand).
 * Only the public store API is used, and the store's own removal with it:
 * per image, a throw-away config naming the layers present so far becomes
 * an image that is put and removed at once, which deletes the layers (and
 * their blobs) that nothing else references.  Best effort: a failure here
 * leaves unreferenced layers, never a broken image. */
static void rollback(struct store *s, const struct load_plan *p, const char *nonce)
{
        for (size_t i = 0; i < p->n && p->n_created > 0; i++) {
                const struct load_image *im = &p->imgs[i];
                size_t k = 0;
                int mine = 0;
                while (k < im->n_layers && store_layer_has(s, im->layers[k].chain)) {
                        mine |= strv_contains(p->created, p->n_created, im->layers[k].chain);
                        k++;
                }
                if (!mine)
                        continue;
                _cleanup_json_ json_t *cfg = json_object();
                json_t *ids = json_array();
                _cleanup_free_ char **chains = xcalloc(k, sizeof(char *));
                for (size_t l = 0; l < k; l++) {
                        json_array_append_new(ids, json_string(im->layers[l].diff_id));
                        chains[l] = (char *)im->layers[l].chain;
                }
                json_object_set_new(cfg, "comment", json_string("barge: undoing a failed load"));
                json_object_set_new(cfg, "nonce", json_string(nonce));
                json_t *rootfs = json_object();
                json_object_set_new(rootfs, "type", json_string("layers"));
                json_object_set_new(rootfs, "diff_ids", ids);
                json_object_set_new(cfg, "rootfs", rootfs);
                _cleanup_free_ char *text = json_compact(cfg);
                _cleanup_err_ struct err *e = NULL;
                char id[DIGEST_LEN + 1];
                if (store_blob_put(s, text, strlen(text), id, &e) < 0 ||
                    store_image_put(s, id, NULL, chains, k, &e) < 0 ||
                    store_image_remove(s, id, &e) < 0)
                        log_warn("load: could not remove the layers of %s: %s", im->id, e->msg);
        }
}

/* docker load's line when a tag it applies pointed at another image. */
static void note_moved_tag(struct store *s, const char *tag, const char *id,
                           void (*loaded)(void *, const char *), void *ctx)
{
        _cleanup_image_ struct store_image *old = NULL;
        _cleanup_err_ struct err *e = NULL;
        if (loaded == NULL || store_image_get(s, tag, &old, &e) < 0 || strcmp(old->id, id) == 0)
                return;
        _cleanup_free_ char *fam = ref_familiar(tag);
        _cleanup_free_ char *line = xasprintf(
            "The image %s already exists, renaming the old one with ID %s to empty string", fam,
            old->id);
        loaded(ctx, line);
}

static void report(void (*loaded)(void *, const char *), void *ctx, const struct load_image *im)
{
        if (loaded == NULL)
                return;
        if (im->n_tags == 0) {
                _cleanup_free_ char *line = xasprintf("Loaded image ID: %s", im->id);
                loaded(ctx, line);
                return;
        }
        for (size_t t = 0; t < im->n_tags; t++) {
                _cleanup_free_ char *fam = ref_familiar(im->tags[t]);
                _cleanup_free_ char *line = xasprintf("Loaded image: %s", fam);
                loaded(ctx, line);
        }
}

/* Every layer of every image, bottom first. */
static int load_layers(struct store *s, struct load_plan *p, struct err **e)
{
        for (size_t i = 0; i < p->n; i++) {
                struct load_image *im = &p->imgs[i];
                for (size_t l = 0; l < im->n_layers; l++)
                        if (load_layer(s, p, &im->layers[l], l ? im->layers[l - 1].chain : NULL,
                                       e) < 0)
                                return err_wrap(e, "image %s layer %zu", im->id, l + 1);
        }
        return 0;
}

/* Config (and manifest) blobs, the images, their tags. */
static int load_images(struct store *s, struct load_plan *p, void (*loaded)(void *, const char *),
                       void *ctx, struct err **e)
{
        for (size_t i = 0; i < p->n; i++) {
                struct load_image *im = &p->imgs[i];
                char mdigest[DIGEST_LEN + 1] = "";
                _cleanup_free_ char **chains = xcalloc(im->n_layers + 1, sizeof(char *));
                _cleanup_free_ char **diffs = xcalloc(im->n_layers + 1, sizeof(char *));
                for (size_t l = 0; l < im->n_layers; l++) {
                        chains[l] = im->layers[l].chain;
                        diffs[l] = im->layers[l].diff_id;
                }
                if (store_blob_put(s, im->config, im->config_len, NULL, e) < 0)
                        return -1;
                /* an OCI image keeps its manifest; a docker-archive one gets
                 * one if some layer came compressed (see put_manifest) */
                if (im->manifest ? store_blob_put(s, im->manifest, im->manifest_len, mdigest, e)
                                 : put_manifest(s, im->id, im->config_len, chains, diffs,
                                                im->n_layers, mdigest, e) < 0)
                        return -1;
                if (store_image_put(s, im->id, mdigest[0] ? mdigest : NULL, chains, im->n_layers,
                                    e) < 0)
                        return -1;
                for (size_t t = 0; t < im->n_tags; t++) {
                        note_moved_tag(s, im->tags[t], im->id, loaded, ctx);
                        if (store_tag(s, im->tags[t], im->id, e) < 0)
                                return -1;
                }
                report(loaded, ctx, im);
        }
        return 0;
}

int image_load(struct store *s, int fd, void (*loaded)(void *ctx, const char *line), void *ctx,
               struct err **e)
{
        struct spool sp = {0};
        struct load_plan p = {0};
        int r = spool_archive(s, fd, &sp, e);
        if (r == 0) {
                if (spool_has(&sp, "manifest.json"))
                        r = plan_docker(&sp, &p, e);
                else if (spool_has(&sp, "index.json"))
                        r = plan_oci(&sp, &p, e);
                else
                        r = err_new(e, 0,
                                    "not an image archive: neither manifest.json "
                                    "(docker-archive) nor index.json (OCI layout) in it");
        }
        /* Checked as far as possible: now the store.  The layers of all
         * images go first, so a layer failing late leaves no image or tag;
         * the layers that went in before it are then taken out again. */
        if (r == 0 && (load_layers(s, &p, e) < 0 || load_images(s, &p, loaded, ctx, e) < 0)) {
                rollback(s, &p, sp.dir);
                r = -1;
        }
        load_plan_free(&p);
        spool_free(&sp);
        return r < 0 ? -1 : 0;
}

/* ======================================================================
 * import
 * ====================================================================== */

/* The input as libarchive reads it, teeing the raw bytes into a blob when
 * the input's own compression is one a registry takes (gzip, zstd). */
struct import_src {
        struct store *s;
        int fd;
        char *buf;
        int started;
        enum comp comp;
        struct blob_writer *raw;
        struct err **e;
        int failed;
        int64_t raw_bytes;
};

static la_ssize_t import_read(struct archive *a, void *data, const void **out)
{
        struct import_src *src = data;
        ssize_t n;
        if (!src->started) {
                /* enough to see the magic even from a slow pipe */
                n = read_full(src->fd, src->buf, 4096);
                src->started = 1;
                if (n > 0) {
                        src->comp = sniff_comp((unsigned char *)src->buf, (size_t)n);
                        if ((src->comp == COMP_GZIP || src->comp == COMP_ZSTD) &&
                            store_blob_begin(src->s, NULL, &src->raw, src->e) < 0) {
                                src->failed = 1;
                                archive_set_error(a, EIO, "blob");
                                return -1;
                        }
                }
        } else {
                do
                        n = read(src->fd, src->buf, IO_BUF);
                while (n < 0 && errno == EINTR);
        }
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        if (n > 0 && src->raw && blob_write(src->raw, src->buf, (size_t)n, src->e) < 0) {
                src->failed = 1;
                archive_set_error(a, EIO, "blob");
                return -1;
        }
        src->raw_bytes += n;
        *out = src->buf;
        return n;
}

/* ---- import --change: Dockerfile instructions on the config ---- */

static int is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_space(const char *p)
{
        while (*p && is_space(*p))
                p++;
        return p;
}

/* Quotes and backslashes of s[0..len) resolved, blanks kept: "a b"\ c ->
 * a b c.  An unterminated quote fails as dockerd says it. */
static int unquote(const char *s, size_t len, char **out, struct err **e)
{
        char *b = xmalloc(len + 1), *o = b;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '\\' && i + 1 < len) {
                        *o++ = s[++i];
                } else if (c == '\'' || c == '"') {
                        size_t j = i + 1;
                        for (; j < len && s[j] != c; j++) {
                                /* in double quotes a backslash escapes only
                                 * what the shell lets it escape */
                                if (c == '"' && s[j] == '\\' && j + 1 < len &&
                                    strchr("\"\\$`", s[j + 1]))
                                        j++;
                                *o++ = s[j];
                        }
                        if (j >= len) {
                                free(b);
                                return err_new(e, 0,
                                               "failed to process \"%.*s\": unexpected end of "
                                               "statement while looking for matching %s",
                                               (int)len, s,
                                               c == '"' ? "double-quote" : "single-quote");
                        }
                        i = j;
                } else {
                        *o++ = c;
                }
        }
        *o = '\0';
        *out = b;
        return 0;
}

/* The words of s (split at blanks outside quotes), each unquoted. */
static int split_words(const char *s, json_t **out, struct err **e)
{
        _cleanup_json_ json_t *a = json_array();
        const char *p = skip_space(s);
        while (*p) {
                const char *w = p;
                char q = 0;
                for (; *p && (q || !is_space(*p)); p++) {
                        if (q == 0 && *p == '\\' && p[1])
                                p++;
                        else if (q == '"' && *p == '\\' && p[1])
                                p++;
                        else if (q == 0 && (*p == '"' || *p == '\''))
                                q = *p;
                        else if (q && *p == q)
                                q = 0;
                }
                char *u;
                if (unquote(w, (size_t)(p - w), &u, e) < 0)
                        return -1;
                json_array_append_new(a, json_string(u));
                free(u);
                p = skip_space(p);
        }
        *out = TAKE_PTR(a);
        return 0;
}

/* CMD/ENTRYPOINT/VOLUME argument: a JSON array of strings, or NULL when
 * rest is not one (then it is the shell form). */
static json_t *json_form(const char *rest)
{
        if (*rest != '[')
                return NULL;
        json_t *a = json_loads(rest, JSON_REJECT_DUPLICATES, NULL);
        if (a == NULL || !json_is_array(a)) {
                json_decref(a);
                return NULL;
        }
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
                if (!json_is_string(v)) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

/* ENV and LABEL: k=v pairs, or the older "k the rest of the line". */
static int change_pairs(json_t *cfg, const char *name, const char *rest, struct err **e)
{
        int env = strcmp(name, "ENV") == 0;
        _cleanup_json_ json_t *words = NULL;
        if (split_words(rest, &words, e) < 0)
                return -1;
        size_t n = json_array_size(words);
        if (n == 0)
                return err_new(e, 0, "%s requires at least one argument", name);
        _cleanup_json_ json_t *keys = json_array(), *vals = json_array();
        const char *w0 = json_string_value(json_array_get(words, 0));
        if (strchr(w0, '=') == NULL) {
                if (n < 2)
                        return err_new(e, 0, "%s must have two arguments", name);
                /* the value is the rest of the line as written */
                const char *p = skip_space(rest);
                for (char q = 0; *p && (q || !is_space(*p)); p++) {
                        if (q != '\'' && *p == '\\' && p[1])
                                p++;
                        else if (q == 0 && (*p == '"' || *p == '\''))
                                q = *p;
                        else if (q && *p == q)
                                q = 0;
                }
                p = skip_space(p);
                size_t l = strlen(p);
                while (l > 0 && is_space(p[l - 1]))
                        l--;
                char *v;
                if (unquote(p, l, &v, e) < 0)
                        return -1;
                json_array_append_new(keys, json_string(w0));
                json_array_append_new(vals, json_string(v));
                free(v);
        } else {
                size_t i;
                json_t *w;
                json_array_foreach(words, i, w)
                {
                        const char *s = json_string_value(w);
                        const char *eq = strchr(s, '=');
                        if (eq == NULL)
                                return err_new(e, 0,
                                               "Syntax error - can't find = in \"%s\". Must be of "
                                               "the form: name=value",
                                               s);
                        if (eq == s)
                                return err_new(e, 0, "%s names can not be blank", name);
                        json_array_append_new(keys, json_stringn(s, (size_t)(eq - s)));
                        json_array_append_new(vals, json_string(eq + 1));
                }
        }
        for (size_t i = 0; i < json_array_size(keys); i++) {
                const char *k = json_string_value(json_array_get(keys, i));
                const char *v = json_string_value(json_array_get(vals, i));
                if (!env) {
                        json_t *l = json_object_get(cfg, "Labels");
                        if (!json_is_object(l)) {
                                l = json_object();
                                json_object_set_new(cfg, "Labels", l);
                        }
                        json_object_set_new(l, k, json_string(v));
                        continue;
                }
                json_t *list = json_object_get(cfg, "Env");
                if (!json_is_array(list)) {
                        list = json_array();
                        json_object_set_new(cfg, "Env", list);
                }
                char *kv = xasprintf("%s=%s", k, v);
                size_t kl = strlen(k), j;
                json_t *old;
                int done = 0;
                json_array_foreach(list, j, old)
                {
                        const char *o = json_string_value(old);
                        if (o && strncmp(o, k, kl) == 0 && o[kl] == '=') {
                                json_array_set_new(list, j, json_string(kv));
                                done = 1;
                                break;
                        }
                }
                if (!done)
                        json_array_append_new(list, json_string(kv));
                free(kv);
        }
        return 0;
}

static int parse_port(const char *s, size_t len, unsigned *out)
{
        if (len == 0 || len > 5)
                return -1;
        unsigned v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v > 65535)
                return -1;
        *out = v;
        return 0;
}

static int change_expose(json_t *cfg, const char *rest, struct err **e)
{
        _cleanup_json_ json_t *words = NULL;
        if (split_words(rest, &words, e) < 0)
                return -1;
        if (json_array_size(words) == 0)
                return err_new(e, 0, "EXPOSE requires at least one argument");
        _cleanup_json_ json_t *add = json_object();
        size_t i;
        json_t *w;
        json_array_foreach(words, i, w)
        {
                /* ip:hostport:port as in -p: only the container port counts */
                const char *s = json_string_value(w);
                const char *c = strrchr(s, ':');
                if (c)
                        s = c + 1;
                const char *slash = strchr(s, '/');
                size_t pl = slash ? (size_t)(slash - s) : strlen(s);
                _cleanup_free_ char *proto = xstrdup(slash ? slash + 1 : "tcp");
                for (char *p = proto; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char)(*p - 'A' + 'a');
                if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
                        return err_new(e, 0, "Invalid proto: %s", proto);
                const char *dash = memchr(s, '-', pl);
                unsigned lo, hi;
                if (parse_port(s, dash ? (size_t)(dash - s) : pl, &lo) < 0 ||
                    (dash && parse_port(dash + 1, pl - (size_t)(dash + 1 - s), &hi) < 0))
                        return err_new(e, 0, "Invalid containerPort: %.*s", (int)pl, s);
                if (!dash)
                        hi = lo;
                if (hi < lo)
                        return err_new(e, 0, "Invalid range specified for the Port: %.*s", (int)pl,
                                       s);
                for (unsigned p = lo; p <= hi; p++) {
                        char k[32];
                        snprintf(k, sizeof(k), "%u/%s", p, proto);
                        json_object_set_new(add, k, json_object());
                }
        }
        json_t *ports = json_object_get(cfg, "ExposedPorts");
        if (!json_is_object(ports)) {
                ports = json_object();
                json_object_set_new(cfg, "ExposedPorts", ports);
        }
        json_object_update(ports, add);
        return 0;
}

/* "/a/./b/../c" -> "/a/c"; p is absolute */
static char *clean_path(const char *p)
{
        char *b = xmalloc(strlen(p) + 2);
        size_t o = 0;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t l = (size_t)(p - s);
                if (l == 0 || (l == 1 && s[0] == '.'))
                        continue;
                if (l == 2 && s[0] == '.' && s[1] == '.') {
                        while (o > 0 && b[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        continue;
                }
                b[o++] = '/';
                memcpy(b + o, s, l);
                o += l;
        }
        if (o == 0)
                b[o++] = '/';
        b[o] = '\0';
        return b;
}

static int valid_signal(const char *s)
{
        static const char *const names[] = {
            "HUP",  "INT",   "QUIT", "ILL",  "TRAP", "ABRT", "IOT",  "BUS",    "FPE",
            "KILL", "USR1",  "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD",
            "CONT", "STOP",  "TSTP", "TTIN", "TTOU", "URG",  "XCPU", "XFSZ",   "VTALRM",
            "PROF", "WINCH", "IO",   "POLL", "PWR",  "SYS",  "CLD"};
        long long n;
        if (parse_int64(s, &n) == 0)
                return n >= 1 && n <= 64;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return 1;
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0)
                return 1;
        return 0;
}

static int config_change(json_t *cfg, const char *change, struct err **e)
{
        const char *p = skip_space(change);
        if (*p == '\0' || *p == '#')
                return err_new(e, 0, "file with no instructions");
        const char *w = p;
        while (*p && !is_space(*p))
                p++;
        char name[16] = "";
        size_t nl = (size_t)(p - w);
        for (size_t i = 0; i < nl && i + 1 < sizeof(name); i++)
                name[i] = (char)(w[i] >= 'a' && w[i] <= 'z' ? w[i] - 'a' + 'A' : w[i]);
        /* the argument, blanks around it trimmed */
        const char *r0 = skip_space(p);
        size_t rl = strlen(r0);
        while (rl > 0 && is_space(r0[rl - 1]))
                rl--;
        _cleanup_free_ char *rest = xstrndup(r0, rl);

        if (nl >= sizeof(name) - 1)
                name[0] = '\0'; /* too long to be one of ours */
        if (!strcmp(name, "CMD") || !strcmp(name, "ENTRYPOINT")) {
                const char *key = name[0] == 'C' ? "Cmd" : "Entrypoint";
                json_t *a = json_form(rest);
                if (a == NULL) {
                        a = json_pack("[ss]", "/bin/sh", "-c");
                        if (*rest)
                                json_array_append_new(a, json_string(rest));
                }
                if (json_array_size(a) == 0) {
                        json_decref(a);
                        json_object_del(cfg, key);
                } else {
                        json_object_set_new(cfg, key, a);
                }
                return 0;
        }
        if (!strcmp(name, "ENV") || !strcmp(name, "LABEL"))
                return change_pairs(cfg, name, rest, e);
        if (!strcmp(name, "EXPOSE"))
                return change_expose(cfg, rest, e);
        if (!strcmp(name, "USER") || !strcmp(name, "WORKDIR") || !strcmp(name, "STOPSIGNAL")) {
                if (*rest == '\0')
                        return err_new(e, 0, "%s requires exactly one argument", name);
                _cleanup_free_ char *v = NULL;
                if (unquote(rest, rl, &v, e) < 0)
                        return -1;
                if (name[0] == 'U') {
                        json_object_set_new(cfg, "User", json_string(v));
                } else if (name[0] == 'S') {
                        if (!valid_signal(v))
                                return err_new(e, 0, "Invalid signal: %s", v);
                        json_object_set_new(cfg, "StopSignal", json_string(v));
                } else {
                        /* relative to the current one, as in a Dockerfile */
                        const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
                        _cleanup_free_ char *full =
                            v[0] == '/' ? xstrdup(v)
                                        : xasprintf("%s/%s", cur && *cur ? cur : "", v);
                        char *clean = clean_path(full);
                        json_object_set_new(cfg, "WorkingDir", json_string(clean));
                        free(clean);
                }
                return 0;
        }
        if (!strcmp(name, "VOLUME")) {
                _cleanup_json_ json_t *a = json_form(rest);
                if (a == NULL && split_words(rest, &a, e) < 0)
                        return -1;
                if (json_array_size(a) == 0)
                        return err_new(e, 0, "VOLUME requires at least one argument");
                size_t i;
                json_t *v;
                json_array_foreach(a, i, v)
                {
                        const char *s = skip_space(json_string_value(v));
                        if (*s == '\0')
                                return err_new(e, 0, "VOLUME specified can not be an empty string");
                }
                json_t *vols = json_object_get(cfg, "Volumes");
                if (!json_is_object(vols)) {
                        vols = json_object();
                        json_object_set_new(cfg, "Volumes", vols);
                }
                json_array_foreach(a, i, v)
                {
                        json_object_set_new(vols, json_string_value(v), json_object());
                }
                return 0;
        }
        if (!strcmp(name, "ONBUILD")) {
                if (*rest == '\0')
                        return err_new(e, 0, "ONBUILD requires at least one argument");
                const char *t = rest;
                size_t tl = strcspn(t, " \t\n\r\v\f");
                if (tl == 7 && strncasecmp(t, "ONBUILD", 7) == 0)
                        return err_new(e, 0,
                                       "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
                if ((tl == 4 && strncasecmp(t, "FROM", 4) == 0) ||
                    (tl == 10 && strncasecmp(t, "MAINTAINER", 10) == 0))
                        return err_new(e, 0, "%.*s isn't allowed as an ONBUILD trigger", (int)tl,
                                       t);
                json_t *l = json_object_get(cfg, "OnBuild");
                if (!json_is_array(l)) {
                        l = json_array();
                        json_object_set_new(cfg, "OnBuild", l);
                }
                json_array_append_new(l, json_string(rest));
                return 0;
        }
        /* dockerd names the instruction in lower case */
        _cleanup_free_ char *low = xstrndup(w, nl);
        for (char *q = low; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                        *q = (char)(*q - 'A' + 'a');
        return err_new(e, 0, "%s is not a valid change command", low);
}

int image_config_change(json_t *cfg, const char *change, struct err **e)
{
        if (config_change(cfg, change, e) < 0) {
                /* the message is dockerd's, without strerror; the code makes it a 400 */
                (*e)->code = EINVAL;
                return -1;
        }
        return 0;
}

static int import_config(const char *diff_id, const struct import_opts *o, char **out,
                         struct err **e)
{
        const char *comment = o && o->message && *o->message ? o->message : "Imported from -";
        _cleanup_json_ json_t *cfg = json_object();
        for (size_t i = 0; o && i < o->n_changes; i++)
                if (image_config_change(cfg, o->changes[i], e) < 0)
                        return -1;
        char now[64];
        now_rfc3339(now);
        const char *variant = NULL;
        const char *arch = host_arch(&variant);
        _cleanup_json_ json_t *c = json_object();
        json_object_set_new(c, "architecture", json_string(arch));
        if (variant)
                json_object_set_new(c, "variant", json_string(variant));
        json_object_set_new(c, "comment", json_string(comment));
        json_object_set_new(c, "config", json_incref(cfg));
        json_object_set_new(c, "created", json_string(now));
        json_t *h = json_object();
        json_object_set_new(h, "created", json_string(now));
        json_object_set_new(h, "comment", json_string(comment));
        json_t *hist = json_array();
        json_array_append_new(hist, h);
        json_object_set_new(c, "history", hist);
        json_object_set_new(c, "os", json_string("linux"));
        json_t *rootfs = json_object();
        json_object_set_new(rootfs, "type", json_string("layers"));
        json_t *ids = json_array();
        json_array_append_new(ids, json_string(diff_id));
        json_object_set_new(rootfs, "diff_ids", ids);
        json_object_set_new(c, "rootfs", rootfs);
        *out = json_compact(c);
        return 0;
}

int image_import(struct store *s, int fd, const char *ref, char image_id[DIGEST_LEN + 1],
                 struct err **e)
{
        return image_import_opts(s, fd, ref, NULL, image_id, e);
}

int image_import_opts(struct store *s, int fd, const char *ref, const struct import_opts *opts,
                      char image_id[DIGEST_LEN + 1], struct err **e)
{
        _cleanup_free_ char *tag = NULL;
        if (ref && normalize_tag(ref, &tag, e) < 0)
                return -1;
        /* bad changes fail before the tar is read */
        _cleanup_free_ char *probe = NULL;
        if (import_config("sha256:0", opts, &probe, e) < 0)
                return -1;

        _cleanup_free_ char *buf = xmalloc(IO_BUF);
        _cleanup_free_ char *data = xmalloc(IO_BUF);
        struct import_src src = {.s = s, .fd = fd, .buf = buf, .e = e};
        struct blob_writer *plain = NULL; /* the inflated tar, when not teeing raw */
        struct layer_writer *lw = NULL;
        struct archive *a = archive_read_new();
        char diff[DIGEST_LEN + 1], chain[DIGEST_LEN + 1], blob[DIGEST_LEN + 1];
        char manifest[DIGEST_LEN + 1];
        _cleanup_free_ char *config = NULL;
        int64_t total = 0;
        int r = -1;

        add_filters(a);
        archive_read_support_format_raw(a);
        struct archive_entry *ent;
        if (archive_read_open(a, &src, NULL, import_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(a, &ent) != ARCHIVE_OK) {
                if (src.started && src.raw_bytes == 0)
                        err_new(e, 0, "empty input: not a root filesystem tar");
                else if (!src.failed)
                        archive_fail(e, a, "read rootfs tar");
                goto out;
        }
        if (src.raw == NULL && store_blob_begin(s, NULL, &plain, e) < 0)
                goto out;
        if (store_layer_begin(s, NULL, &lw, e) < 0)
                goto out;
        for (;;) {
                la_ssize_t n = archive_read_data(a, data, IO_BUF);
                if (n < 0) {
                        if (!src.failed)
                                archive_fail(e, a, "read rootfs tar");
                        goto out;
                }
                if (n == 0)
                        break;
                total += n;
                if (plain && blob_write(plain, data, (size_t)n, e) < 0)
                        goto out;
                if (layer_write(lw, data, (size_t)n, e) < 0)
                        goto out;
        }
        if (total == 0) {
                err_new(e, 0, "empty input: not a root filesystem tar");
                goto out;
        }
        /* the raw blob must hold the whole input, also what the
         * decompressor did not need to read */
        if (src.raw) {
                const void *p;
                la_ssize_t n;
                while ((n = import_read(a, &src, &p)) > 0)
                        ;
                if (n < 0) {
                        if (!src.failed)
                                archive_fail(e, a, "read rootfs tar");
                        goto out;
                }
        }
        if (blob_commit(src.raw ? TAKE_PTR(src.raw) : TAKE_PTR(plain), blob, e) < 0)
                goto out;
        if (layer_commit(TAKE_PTR(lw), NULL, blob, diff, chain, e) < 0)
                goto out;
        if (import_config(diff, opts, &config, e) < 0)
                goto out;
        if (store_blob_put(s, config, strlen(config), image_id, e) < 0 ||
            put_manifest(s, image_id, strlen(config), (char *[]){chain}, (char *[]){diff}, 1,
                         manifest, e) < 0 ||
            store_image_put(s, image_id, manifest[0] ? manifest : NULL, (char *[]){chain}, 1, e) <
                0)
                goto out;
        if (tag && store_tag(s, tag, image_id, e) < 0)
                goto out;
        r = 0;
out:
        if (src.raw)
                blob_abort(src.raw);
        if (plain)
                blob_abort(plain);
        if (lw)
                layer_abort(lw);
        archive_read_free(a);
        return r;
}

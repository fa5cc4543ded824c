/*
 * push: an image from the store to a registry, and login/logout.
 *
 * The manifest pushed is the one the image was pulled with when the store
 * has it (so the digest stays the same); an image without one (import,
 * load) gets a manifest built from its config and the layer blobs the store
 * has: a layer whose compressed blob is missing can only be pushed from a
 * blob named by its diff id (an uncompressed tar, as `load` keeps them);
 * otherwise the push fails naming the layer (compressing a layer directory
 * on the fly is not done yet).
 *
 * Each blob: HEAD (skip when the registry has it), else a cross-repository
 * mount from another repository of the same registry that the image's repo
 * digests say has it, else POST an upload and PUT the whole blob in one
 * request (monolithic upload; blobs stream from the store file).  Then the
 * manifest is PUT by tag and the digest the registry answers with is
 * checked.  The pushed name@digest becomes a repo digest of the image.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"
#include "reference.h"

struct push {
        struct store *s;
        struct reg_client *c;
        const struct registry_opts *o;
        const char *repo;
        char **mount_from; /* other repos of the registry that have the image */
        size_t n_from;
};

static void progress(struct push *p, const char *digest, const char *status, int64_t cur,
                     int64_t tot)
{
        if (p->o && p->o->progress) {
                char id[16];
                snprintf(id, sizeof(id), "%.12s", digest_hex(digest));
                p->o->progress(p->o->progress_ctx, id, status, cur, tot);
        }
}

/* Join a query parameter onto a Location that may have a query already. */
static char *with_param(const char *loc, const char *param)
{
        return xasprintf("%s%c%s", loc, strchr(loc, '?') ? '&' : '?', param);
}

static char *url_escape(const char *s)
{
        char *t = curl_easy_escape(NULL, s, 0);
        if (t == NULL)
                abort();
        char *r = xstrdup(t);
        curl_free(t);
        return r;
}

static int blob_exists(struct push *p, const char *digest, int *exists, struct err **e)
{
        struct reg_response r = {0};
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->repo, digest);
        if (reg_request(p->c, "HEAD", path, NULL, NULL, 0, &r, e) < 0)
                return -1;
        long st = r.status;
        reg_response_clear(&r);
        if (st == 200) {
                *exists = 1;
                return 0;
        }
        if (st == 404) {
                *exists = 0;
                return 0;
        }
        r.status = st;
        return reg_status_error(&r, e, "check blob");
}

/* PUT the whole blob to an upload location. */
static int upload_put(struct push *p, const char *location, const char *digest, struct err **e)
{
        _cleanup_close_ int fd = store_blob_open(p->s, digest, e);
        if (fd < 0)
                return -1;
        int64_t size = store_blob_size(p->s, digest);
        if (size < 0)
                return err_new(e, errno, "blob %s: size unknown", digest);
        _cleanup_free_ char *dq = url_escape(digest);
        _cleanup_free_ char *dparam = xasprintf("digest=%s", dq);
        _cleanup_free_ char *url = with_param(location, dparam);
        struct reg_body body = {
            .fd = fd, .len = (size_t)size, .content_type = "application/octet-stream"};
        struct reg_response r = {0};
        progress(p, digest, "Pushing", 0, size);
        if (reg_request(p->c, "PUT", url, NULL, &body, 64 << 10, &r, e) < 0)
                return -1;
        if (r.status != 201 && r.status != 204) {
                reg_status_error(&r, e, "upload");
                reg_response_clear(&r);
                return -1;
        }
        if (r.digest && strcmp(r.digest, digest) != 0) {
                err_new(e, 0, "upload: registry stored %s for %s", r.digest, digest);
                reg_response_clear(&r);
                return -1;
        }
        reg_response_clear(&r);
        progress(p, digest, "Pushed", size, size);
        return 0;
}

static int push_blob(struct push *p, const char *digest, struct err **e)
{
        int exists = 0;
        progress(p, digest, "Preparing", 0, 0);
        if (blob_exists(p, digest, &exists, e) < 0)
                return -1;
        if (exists) {
                progress(p, digest, "Layer already exists", 0, 0);
                return 0;
        }
        struct reg_response r = {0};
        _cleanup_free_ char *location = NULL;
        for (size_t i = 0; i < p->n_from && location == NULL; i++) {
                _cleanup_free_ char *dq = url_escape(digest), *fq = url_escape(p->mount_from[i]);
                _cleanup_free_ char *path =
                    xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->repo, dq, fq);
                if (reg_request(p->c, "POST", path, NULL, NULL, 64 << 10, &r, e) < 0)
                        return -1;
                if (r.status == 201) {
                        reg_response_clear(&r);
                        char st[300];
                        snprintf(st, sizeof(st), "Mounted from %s", p->mount_from[i]);
                        progress(p, digest, st, 0, 0);
                        return 0;
                }
                if (r.status == 202 && r.location)
                        location = TAKE_PTR(r.location); /* a plain upload began instead */
                reg_response_clear(&r);
        }
        if (location == NULL) {
                _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", p->repo);
                if (reg_request(p->c, "POST", path, NULL, NULL, 64 << 10, &r, e) < 0)
                        return -1;
                if (r.status != 202 || r.location == NULL) {
                        if (r.status == 202)
                                err_new(e, 0, "start upload: no Location in the answer");
                        else
                                reg_status_error(&r, e, "start upload");
                        reg_response_clear(&r);
                        return -1;
                }
                location = TAKE_PTR(r.location);
                reg_response_clear(&r);
        }
        return upload_put(p, location, digest, e);
}

static int blob_is_gzip(struct store *s, const char *digest, int *zstd)
{
        _cleanup_close_ int fd = store_blob_open(s, digest, NULL);
        unsigned char magic[4] = {0};
        *zstd = 0;
        if (fd < 0 || read_full(fd, magic, 4) != 4)
                return 0;
        if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
                *zstd = 1;
        return magic[0] == 0x1f && magic[1] == 0x8b;
}

/* A manifest for an image the store has no manifest for. */
static int build_manifest(struct push *p, const struct store_image *img, char **out, size_t *len,
                          char **media_type, struct err **e)
{
        _cleanup_free_ char *cfg = NULL;
        size_t cfg_len = 0;
        if (store_blob_read(p->s, img->id, REG_CONFIG_MAX, &cfg, &cfg_len, e) < 0)
                return err_wrap(e, "image config");
        json_t *cj = json_loadb(cfg, cfg_len, 0, NULL);
        char **diff_ids = NULL;
        size_t n = 0;
        if (cj == NULL)
                return err_new(e, 0, "image config %s: invalid JSON", img->id);
        int r = reg_config_diff_ids(cj, &diff_ids, &n, e);
        json_decref(cj);
        if (r < 0)
                return -1;
        /* Docker v2 schema 2 when every layer is gzip; OCI otherwise */
        int all_gzip = 1;
        json_t *layers = json_array();
        for (size_t i = 0; i < n && r == 0; i++) {
                /* the compressed blob the layer was recorded with, else one
                 * stored under its diff id (an uncompressed tar) */
                char blob[DIGEST_LEN + 1] = "";
                if (i < img->n_layers)
                        store_layer_blob(p->s, img->chain_ids[i], blob, NULL);
                if (!*blob || !store_blob_has(p->s, blob))
                        snprintf(blob, sizeof(blob), "%s", diff_ids[i]);
                if (!store_blob_has(p->s, blob)) {
                        r = err_new(e, 0,
                                    "layer %zu (%s) has no blob in the store to push from "
                                    "(pushing layers without a stored blob is not supported yet)",
                                    i, diff_ids[i]);
                        break;
                }
                int zstd = 0;
                int gz = blob_is_gzip(p->s, blob, &zstd);
                all_gzip &= gz;
                const char *mt = gz     ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                 : zstd ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                        : "application/vnd.oci.image.layer.v1.tar";
                json_array_append_new(layers, json_pack("{s:s,s:I,s:s}", "mediaType", mt, "size",
                                                        (json_int_t)store_blob_size(p->s, blob),
                                                        "digest", blob));
        }
        if (r < 0) {
                json_decref(layers);
                reg_strv_free(diff_ids, n);
                return -1;
        }
        if (all_gzip) {
                size_t i;
                json_t *l;
                json_array_foreach(layers, i, l)
                    json_object_set_new(l, "mediaType", json_string(MT_DOCKER_LAYER));
        }
        const char *mt = all_gzip ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
        json_t *m = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType", mt,
                              "config", "mediaType", all_gzip ? MT_DOCKER_CONFIG : MT_OCI_CONFIG,
                              "size", (json_int_t)cfg_len, "digest", img->id, "layers", layers);
        reg_strv_free(diff_ids, n);
        *out = json_dumps(m, JSON_INDENT(3));
        json_decref(m);
        *len = strlen(*out);
        *media_type = xstrdup(mt);
        return 0;
}

static int do_push(struct store *s, const struct image_ref *ref, const char *norm,
                   const struct registry_opts *o, struct err **e)
{
        struct store_image *img = NULL;
        struct push p = {.s = s, .o = o, .repo = ref->path};
        _cleanup_free_ char *manifest = NULL, *media_type = NULL, *name = ref_name(ref);
        _cleanup_free_ char *path = NULL, *repo_digest = NULL;
        size_t mlen = 0;
        json_t *doc = NULL;
        struct reg_manifest m = {0};
        int r = -1;

        if (ref->digest)
                return err_new(e, 0, "cannot push a digest reference");
        if (store_image_get(s, norm, &img, e) < 0)
                return -1;

        if (img->manifest[0] && store_blob_has(s, img->manifest)) {
                if (store_blob_read(s, img->manifest, REG_MANIFEST_MAX, &manifest, &mlen, e) < 0)
                        goto out;
                doc = json_loadb(manifest, mlen, 0, NULL);
                const char *mt = json_string_value(json_object_get(doc, "mediaType"));
                media_type = xstrdup(mt ? mt : MT_OCI_MANIFEST);
        } else if (build_manifest(&p, img, &manifest, &mlen, &media_type, e) < 0) {
                goto out;
        } else {
                doc = json_loadb(manifest, mlen, 0, NULL);
        }
        if (doc == NULL) {
                err_new(e, 0, "manifest of %s: invalid JSON", img->id);
                goto out;
        }
        if (reg_manifest_parse(doc, &m, e) < 0)
                goto out;
        for (size_t i = 0; i < m.n_layers; i++)
                if (!store_blob_has(s, m.layers[i].digest)) {
                        err_new(e, 0,
                                "layer %s is not in the store (pushing layers without a stored "
                                "blob is not supported yet)",
                                m.layers[i].digest);
                        goto out;
                }

        /* mount sources: the image's other repositories on this registry */
        size_t dl = strlen(ref->domain);
        for (size_t i = 0; i < img->n_digests; i++) {
                const char *rd = img->repo_digests[i];
                const char *at = strchr(rd, '@');
                if (at == NULL || strncmp(rd, ref->domain, dl) != 0 || rd[dl] != '/')
                        continue;
                _cleanup_free_ char *from = xstrndup(rd + dl + 1, (size_t)(at - rd - dl - 1));
                int dup = strcmp(from, ref->path) == 0;
                for (size_t k = 0; k < p.n_from; k++)
                        dup |= strcmp(p.mount_from[k], from) == 0;
                if (dup)
                        continue;
                p.mount_from = realloc(p.mount_from, (p.n_from + 1) * sizeof(char *));
                if (p.mount_from == NULL)
                        abort();
                p.mount_from[p.n_from++] = TAKE_PTR(from);
        }

        if (reg_client_new(ref->domain, ref->path, 1, o, &p.c, e) < 0)
                goto out;
        for (size_t k = 0; k < p.n_from; k++) {
                _cleanup_free_ char *scope = xasprintf("repository:%s:pull", p.mount_from[k]);
                reg_client_add_scope(p.c, scope);
        }

        for (size_t i = 0; i < m.n_layers; i++)
                if (push_blob(&p, m.layers[i].digest, e) < 0) {
                        err_wrap(e, "layer %s", m.layers[i].digest);
                        goto out;
                }
        if (push_blob(&p, m.config.digest, e) < 0) {
                err_wrap(e, "config %s", m.config.digest);
                goto out;
        }

        /* the manifest, by tag */
        char want[DIGEST_LEN + 1];
        digest_buf(manifest, mlen, want);
        path = xasprintf("/v2/%s/manifests/%s", ref->path, ref->tag);
        struct reg_body body = {.data = manifest, .len = mlen, .content_type = media_type};
        struct reg_response resp = {0};
        if (reg_request(p.c, "PUT", path, NULL, &body, 64 << 10, &resp, e) < 0)
                goto out;
        if (resp.status != 201 && resp.status != 200) {
                reg_status_error(&resp, e, "put manifest");
                reg_response_clear(&resp);
                goto out;
        }
        if (resp.digest && strcmp(resp.digest, want) != 0) {
                err_new(e, 0, "put manifest: registry says %s, manifest is %s", resp.digest, want);
                reg_response_clear(&resp);
                goto out;
        }
        reg_response_clear(&resp);
        log_debug("pushed %s: digest %s size %zu", norm, want, mlen);

        /* remember where it is: the manifest (if built) and the repo digest */
        if (store_blob_put(s, manifest, mlen, NULL, e) < 0)
                goto out;
        repo_digest = xasprintf("%s@%s", name, want);
        if (store_tag(s, repo_digest, img->id, e) < 0)
                goto out;
        r = 0;
out:
        reg_manifest_clear(&m);
        json_decref(doc);
        reg_strv_free(p.mount_from, p.n_from);
        reg_client_free(p.c);
        store_image_free(img);
        return r;
}

int registry_push(struct store *s, const char *refstr, const struct registry_opts *o,
                  struct err **e)
{
        struct image_ref *ref = NULL;
        if (ref_parse(refstr, &ref, e) < 0)
                return -1;
        _cleanup_free_ char *norm = ref_string(ref);
        int r = do_push(s, ref, norm, o, e);
        if (r < 0)
                err_wrap(e, "push %s", norm);
        ref_free(ref);
        return r;
}

/* ---- login / logout ---- */

int registry_login_check(const char *server, const char *user, const char *password,
                         const struct registry_opts *o, struct err **e)
{
        _cleanup_free_ char *domain = reg_server_domain(server);
        /* the hub itself, never a mirror */
        struct registry_opts lo = o ? *o : (struct registry_opts){0};
        lo.mirror = NULL;
        struct reg_client *c = NULL;
        if (reg_client_new(domain, "", 0, &lo, &c, e) < 0)
                return -1;
        reg_client_set_creds(c, user, password);
        struct reg_response r = {0};
        int rc = reg_request(c, "GET", "/v2/", NULL, NULL, 1 << 20, &r, e);
        if (rc == 0 && r.status != 200) {
                if (r.status == 401)
                        rc = err_new(e, 0, "unauthorized: incorrect username or password (401)");
                else
                        rc = reg_status_error(&r, e, NULL);
        }
        reg_response_clear(&r);
        reg_client_free(c);
        if (rc < 0)
                return err_wrap(e, "login %s", domain);
        return 0;
}

int registry_login(const char *server, const char *user, const char *password,
                   const struct registry_opts *o, struct err **e)
{
        _cleanup_free_ char *domain = reg_server_domain(server);
        _cleanup_free_ char *file = reg_auth_file(o);
        if (registry_login_check(server, user, password, o, e) < 0)
                return -1;
        if (reg_auth_update(file, domain, user, password, e) < 0)
                return err_wrap(e, "login %s: saving credentials", domain);
        return 0;
}

int registry_logout(const char *server, const struct registry_opts *o, struct err **e)
{
        _cleanup_free_ char *domain = reg_server_domain(server);
        _cleanup_free_ char *file = reg_auth_file(o);
        if (reg_auth_update(file, domain, NULL, NULL, e) < 0)
                return err_wrap(e, "logout %s", domain);
        return 0;
}

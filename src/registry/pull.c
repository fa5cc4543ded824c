/*
 * pull: a registry image into the store.
 *
 *   1. resolve the reference to a manifest (Accept: OCI index, Docker list,
 *      OCI manifest, Docker v2 schema 2); an index is narrowed to the
 *      manifest for the platform.  Every manifest's sha256 is checked
 *      against the digest asked for and the Docker-Content-Digest header.
 *   2. the config (from the store if it is there), its diff ids, and each
 *      layer's chain id; layers whose chain id the store has are skipped.
 *   3. layers: downloaded in parallel over one curl multi handle, unpacked
 *      strictly bottom up (a layer writer needs its parent committed).
 *   4. manifest and config blobs, the image, its tag and repo digest.
 *
 * The layers (step 3) are layers.c's: parallel downloads, blobs verified
 * off the download loop, unpacking bottom up while the bytes arrive.  A
 * failure leaves no partial blob or layer; complete layers committed before
 * it stay, so the next pull does not fetch them again.
 */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "internal.h"
#include "reference.h"

/* ---- manifests and config ---- */

static const char *const accept_manifests[] = {
    "Accept: " MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST, NULL};

struct fetched {
        char *body;
        size_t len;
        char *content_type;
        char digest[DIGEST_LEN + 1];
};

static void fetched_clear(struct fetched *f)
{
        free(f->body);
        free(f->content_type);
        memset(f, 0, sizeof(*f));
}

/* The store's copy of a manifest, when it has one. */
static int manifest_from_store(struct store *s, const char *digest, struct fetched *out)
{
        if (digest == NULL || digest_check(digest, NULL) < 0 || !store_blob_has(s, digest))
                return 0;
        if (store_blob_read(s, digest, REG_MANIFEST_MAX, &out->body, &out->len, NULL) < 0)
                return 0;
        snprintf(out->digest, sizeof(out->digest), "%s", digest);
        return 1;
}

/* A manifest by tag or digest, verified.  A tag is asked with HEAD first:
 * when the digest it answers is in the store already, the manifest is not
 * downloaded again (docker does the same: a HEAD does not count against
 * Docker Hub's pull rate limit). */
static int fetch_manifest(struct store *s, struct reg_client *c, const char *repo, const char *what,
                          const char *expected, struct fetched *out, struct err **e)
{
        struct reg_response r = {0};
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", repo, what);
        if (manifest_from_store(s, expected, out))
                return 0;
        if (expected == NULL) {
                if (reg_request(c, "HEAD", path, accept_manifests, NULL, 0, &r, e) < 0)
                        return -1;
                int local = r.status == 200 && manifest_from_store(s, r.digest, out);
                reg_response_clear(&r);
                if (local)
                        return 0;
        }
        if (reg_request(c, "GET", path, accept_manifests, NULL, REG_MANIFEST_MAX, &r, e) < 0)
                return -1;
        if (r.status != 200) {
                reg_status_error(&r, e, NULL);
                reg_response_clear(&r);
                return -1;
        }
        digest_buf(r.body, r.len, out->digest);
        if (expected && strcmp(expected, out->digest) != 0) {
                err_new(e, 0, "manifest digest mismatch: expected %s, got %s", expected,
                        out->digest);
                reg_response_clear(&r);
                return -1;
        }
        if (r.digest && str_has_prefix(r.digest, "sha256:") && strcmp(r.digest, out->digest)) {
                err_new(e, 0,
                        "manifest digest mismatch: registry says %s (Docker-Content-Digest), "
                        "content is %s",
                        r.digest, out->digest);
                reg_response_clear(&r);
                return -1;
        }
        out->body = TAKE_PTR(r.body);
        out->len = r.len;
        out->content_type = TAKE_PTR(r.content_type);
        reg_response_clear(&r);
        return 0;
}

static int fetch_config(struct store *s, struct reg_client *c, const char *repo,
                        const struct reg_desc *d, char **data, size_t *len, struct err **e)
{
        if (store_blob_has(s, d->digest))
                return store_blob_read(s, d->digest, REG_CONFIG_MAX, data, len, e);
        struct reg_response r = {0};
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repo, d->digest);
        if (reg_request(c, "GET", path, NULL, NULL, REG_CONFIG_MAX, &r, e) < 0)
                return err_wrap(e, "config %s", d->digest);
        if (r.status != 200) {
                reg_status_error(&r, e, NULL);
                reg_response_clear(&r);
                return err_wrap(e, "config %s", d->digest);
        }
        char got[DIGEST_LEN + 1];
        digest_buf(r.body, r.len, got);
        if (strcmp(got, d->digest) != 0) {
                reg_response_clear(&r);
                return err_new(e, 0, "config %s: digest mismatch: got %s", d->digest, got);
        }
        *data = TAKE_PTR(r.body);
        *len = r.len;
        reg_response_clear(&r);
        return 0;
}

static int do_pull(struct store *s, struct image_ref *ref, const struct registry_opts *o,
                   char image_id[DIGEST_LEN + 1], struct err **e)
{
        struct reg_client *c = NULL;
        struct fetched top = {0}, img = {0};
        struct reg_manifest m = {0};
        json_t *doc = NULL, *cfg = NULL;
        char **diff_ids = NULL, **chains = NULL;
        size_t n_diff = 0;
        _cleanup_free_ char *cfg_data = NULL, *name = ref_name(ref), *by_digest = NULL;
        size_t cfg_len = 0;
        int r = -1;

        if (reg_client_new(ref->domain, ref->path, 0, o, &c, e) < 0)
                return -1;

        /* 1. the manifest the reference names */
        const char *what = ref->digest ? ref->digest : ref->tag;
        if (fetch_manifest(s, c, ref->path, what, ref->digest, &top, e) < 0)
                goto out;
        json_error_t je;
        doc = json_loadb(top.body, top.len, 0, &je);
        if (doc == NULL) {
                err_new(e, 0, "manifest %s: invalid JSON: %s", top.digest, je.text);
                goto out;
        }
        enum reg_manifest_kind kind;
        if (reg_manifest_kind(top.content_type, doc, &kind, e) < 0)
                goto out;
        const struct fetched *mf = &top;
        if (kind == REG_KIND_INDEX) {
                struct reg_platform want;
                char dg[DIGEST_LEN + 1];
                if (o && o->platform) {
                        if (reg_platform_parse(o->platform, &want, e) < 0)
                                goto out;
                } else {
                        reg_platform_host(&want);
                }
                if (reg_index_select(doc, &want, dg, e) < 0)
                        goto out;
                json_decref(doc);
                doc = NULL;
                if (fetch_manifest(s, c, ref->path, dg, dg, &img, e) < 0)
                        goto out;
                doc = json_loadb(img.body, img.len, 0, &je);
                if (doc == NULL) {
                        err_new(e, 0, "manifest %s: invalid JSON: %s", img.digest, je.text);
                        goto out;
                }
                if (reg_manifest_kind(img.content_type, doc, &kind, e) < 0)
                        goto out;
                if (kind != REG_KIND_IMAGE) {
                        err_new(e, 0, "manifest %s: an index inside an index", img.digest);
                        goto out;
                }
                mf = &img;
        }
        if (reg_manifest_parse(doc, &m, e) < 0)
                goto out;

        /* 2. config and chain ids */
        if (fetch_config(s, c, ref->path, &m.config, &cfg_data, &cfg_len, e) < 0)
                goto out;
        cfg = json_loadb(cfg_data, cfg_len, 0, &je);
        if (cfg == NULL) {
                err_new(e, 0, "config %s: invalid JSON: %s", m.config.digest, je.text);
                goto out;
        }
        if (reg_config_diff_ids(cfg, &diff_ids, &n_diff, e) < 0)
                goto out;
        if (n_diff != m.n_layers) {
                err_new(e, 0, "config %s has %zu diff ids for %zu layers", m.config.digest, n_diff,
                        m.n_layers);
                goto out;
        }
        chains = xcalloc(n_diff + 1, sizeof(char *));
        for (size_t i = 0; i < n_diff; i++) {
                char chain[DIGEST_LEN + 1];
                store_chain_id(i ? chains[i - 1] : NULL, diff_ids[i], chain);
                chains[i] = xstrdup(chain);
        }

        /* 3. layers */
        if (reg_pull_layers(s, c, o, ref->path, &m, diff_ids, chains, e) < 0)
                goto out;

        /* 4. record */
        if (store_blob_put(s, cfg_data, cfg_len, NULL, e) < 0 ||
            store_blob_put(s, mf->body, mf->len, NULL, e) < 0 ||
            (mf != &top && store_blob_put(s, top.body, top.len, NULL, e) < 0))
                goto out;
        if (store_image_put(s, m.config.digest, mf->digest, chains, m.n_layers, e) < 0)
                goto out;
        by_digest = xasprintf("%s@%s", name, top.digest);
        if (ref->tag && !ref->digest) {
                _cleanup_free_ char *tagged = xasprintf("%s:%s", name, ref->tag);
                if (store_tag(s, tagged, m.config.digest, e) < 0)
                        goto out;
        }
        if (store_tag(s, by_digest, m.config.digest, e) < 0)
                goto out;
        snprintf(image_id, DIGEST_LEN + 1, "%s", m.config.digest);
        r = 0;
out:
        reg_strv_free(diff_ids, n_diff);
        reg_strv_free(chains, n_diff);
        reg_manifest_clear(&m);
        json_decref(doc);
        json_decref(cfg);
        fetched_clear(&top);
        fetched_clear(&img);
        reg_client_free(c);
        return r;
}

int registry_pull(struct store *s, const char *refstr, const struct registry_opts *o,
                  char image_id[DIGEST_LEN + 1], struct err **e)
{
        struct image_ref *ref = NULL;
        if (ref_parse(refstr, &ref, e) < 0)
                return -1;
        _cleanup_free_ char *norm = ref_string(ref);
        int r = do_pull(s, ref, o, image_id, e);
        if (r < 0)
                err_wrap(e, "pull %s", norm);
        ref_free(ref);
        return r;
}

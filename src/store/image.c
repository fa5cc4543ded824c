/*
 * image: images and references in the database.
 *
 * An image is its config digest (the id), an optional manifest digest and
 * its layers' chain ids (rows in image_layers).  Each image holds one
 * reference on each of its layers (layers.refcount), taken and released in
 * the same transaction that adds or removes the image.  References
 * (refs: "name:tag" or "name@sha256:...") are stored exactly as given:
 * normalizing them is registry/reference.c's job.
 *
 * Removal is two transactions: the first forgets the image and the layers
 * and blobs it alone used; the second, once more under the write lock,
 * moves those layer directories into tmp/ and unlinks those blobs unless a
 * concurrent writer has meanwhile recorded them again.  A crash between
 * the two leaves directories without rows, which the sweep removes.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

#define CONFIG_MAX (16u << 20)

struct strv {
        char **v;
        size_t n;
};

static void strv_push(struct strv *a, char *s)
{
        char **nv = realloc(a->v, (a->n + 2) * sizeof(*nv));
        if (nv == NULL)
                abort();
        a->v = nv;
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

static void strv_clear(struct strv *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->v[i]);
        free(a->v);
        a->v = NULL;
        a->n = 0;
}
#define _cleanup_strv_ __attribute__((cleanup(strv_clear)))

/* ---- the config ---- */

/* RFC 3339 ("2024-01-02T03:04:05.123456789Z", "...+02:00") to unix time. */
static int64_t parse_time(const char *t)
{
        struct tm tm = {0};
        int n = 0;
        if (t == NULL || sscanf(t, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
                return 0;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        int64_t v = (int64_t)timegm(&tm);
        const char *p = t + n;
        if (*p == '.')
                p += 1 + strspn(p + 1, "0123456789");
        int hh, mm;
        if ((*p == '+' || *p == '-') && sscanf(p + 1, "%d:%d", &hh, &mm) == 2)
                v -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
        return v;
}

struct config_info {
        int64_t created;
        json_t *diff_ids; /* borrowed from root; NULL when the config has none */
        json_t *root;
};

static int read_config(struct store *s, const char *id, struct config_info *ci, struct err **e)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (store_blob_read(s, id, CONFIG_MAX, &data, &len, e) < 0)
                return err_wrap(e, "image config");
        json_error_t je;
        ci->root = json_loadb(data, len, 0, &je);
        if (ci->root == NULL || !json_is_object(ci->root))
                return err_new(e, 0, "image config %s is not a JSON object: %s", id, je.text);
        ci->created = parse_time(json_string_value(json_object_get(ci->root, "created")));
        ci->diff_ids = json_object_get(json_object_get(ci->root, "rootfs"), "diff_ids");
        if (ci->diff_ids && !json_is_array(ci->diff_ids))
                return err_new(e, 0, "image config %s: rootfs.diff_ids is not an array", id);
        return 0;
}

/* The chain ids must be the ones the config's diff ids give. */
static int check_chain(const char *id, const json_t *diff_ids, char *const *chain_ids, size_t n,
                       struct err **e)
{
        if (diff_ids == NULL)
                return 0;
        if (json_array_size(diff_ids) != n)
                return err_new(e, 0, "image %s: %zu layers given, its config lists %zu", id, n,
                               json_array_size(diff_ids));
        char chain[DIGEST_LEN + 1] = "";
        for (size_t i = 0; i < n; i++) {
                const char *diff = json_string_value(json_array_get(diff_ids, i));
                if (diff == NULL || digest_check(diff, NULL) < 0)
                        return err_new(e, 0, "image %s: config has an invalid diff id at %zu", id,
                                       i);
                store_chain_id(i ? chain : NULL, diff, chain);
                if (strcmp(chain, chain_ids[i]) != 0)
                        return err_new(e, 0, "image %s: layer %zu is %s, its config gives %s", id,
                                       i, chain_ids[i], chain);
        }
        return 0;
}

/* ---- put ---- */

static int blob_present(struct store *s, const char *digest, const char *what, struct err **e)
{
        if (store_blob_has(s, digest))
                return 0;
        return err_new(e, ENOENT, "%s %s is not in the store", what, digest);
}

/* Each layer must exist and sit on the one before it; sums their sizes. */
static int check_layers(struct store *s, const char *id, char *const *chain_ids, size_t n,
                        int64_t *size, struct err **e)
{
        *size = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                if (db_prepare(s, &st, e, "SELECT parent, size FROM layers WHERE chain_id = ?", "s",
                               chain_ids[i]) < 0)
                        return -1;
                int r = db_step(s, st, e);
                if (r == 0)
                        return err_new(e, ENOENT, "image %s: layer %s is not in the store", id,
                                       chain_ids[i]);
                if (r < 0)
                        return -1;
                const char *parent = (const char *)sqlite3_column_text(st, 0);
                const char *want = i ? chain_ids[i - 1] : NULL;
                if ((parent == NULL) != (want == NULL) || (parent && strcmp(parent, want) != 0))
                        return err_new(e, 0, "image %s: layer %s is not on top of %s", id,
                                       chain_ids[i], want ? want : "nothing");
                *size += sqlite3_column_int64(st, 1);
        }
        return 0;
}

static int image_exists(struct store *s, const char *id, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "SELECT 1 FROM images WHERE id = ?", "s", id) < 0)
                return -1;
        return db_step(s, st, e);
}

static int put_locked(struct store *s, const char *id, const char *manifest, int64_t created,
                      char *const *chain_ids, size_t n, struct err **e)
{
        int64_t size;
        int has = image_exists(s, id, e);
        if (has != 0)
                return has < 0 ? -1 : 0;
        /* under the lock, so a concurrent removal cannot take them away now */
        if (blob_present(s, id, "image config", e) < 0 ||
            (*manifest && blob_present(s, manifest, "manifest", e) < 0) ||
            check_layers(s, id, chain_ids, n, &size, e) < 0)
                return -1;
        if (db_run(s, e,
                   "INSERT INTO images (id, manifest, created, size, added) VALUES (?,?,?,?,?)",
                   "ssiii", id, manifest, created, size, (int64_t)time(NULL)) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (db_run(s, e,
                           "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?,?,?)",
                           "sis", id, (int64_t)i, chain_ids[i]) < 0 ||
                    db_run(s, e, "UPDATE layers SET refcount = refcount + 1 WHERE chain_id = ?",
                           "s", chain_ids[i]) < 0)
                        return -1;
        }
        return 0;
}

static int check_digests(const char *config, const char *manifest, char *const *chain_ids, size_t n,
                         struct err **e)
{
        if (digest_check(config, e) < 0)
                return err_wrap(e, "image config");
        if (manifest && *manifest && digest_check(manifest, e) < 0)
                return err_wrap(e, "image manifest");
        for (size_t i = 0; i < n; i++)
                if (digest_check(chain_ids[i], e) < 0)
                        return err_wrap(e, "layer %zu", i);
        return 0;
}

int store_image_put(struct store *s, const char *config_digest, const char *manifest_digest,
                    char *const *chain_ids, size_t n_layers, struct err **e)
{
        struct config_info ci = {0};
        if (check_digests(config_digest, manifest_digest, chain_ids, n_layers, e) < 0)
                return -1;
        int r = read_config(s, config_digest, &ci, e);
        if (r == 0)
                r = check_chain(config_digest, ci.diff_ids, chain_ids, n_layers, e);
        json_decref(ci.root);
        if (r < 0)
                return -1;
        /* the image's layers must survive a power loss before it names them:
         * one syncfs for all that were unpacked unsynced (layer.c) */
        if (syncfs(s->rootfd) < 0)
                return err_sys(e, "sync store %s", s->root);
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (db_begin(s, e) < 0)
                return -1;
        r = put_locked(s, config_digest, manifest_digest ? manifest_digest : "", ci.created,
                       chain_ids, n_layers, e);
        for (size_t i = 0; r == 0 && i < n_layers; i++)
                r = db_run(s, e, "UPDATE layers SET boot = '' WHERE chain_id = ?", "s",
                           chain_ids[i]);
        return db_end(s, r, e);
}

/* ---- lookup ---- */

static int only_hex(const char *s)
{
        return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

/* A full id, bare hex, or a prefix of >= 4 hex digits (with or without
 * "sha256:").  1 found, 0 not an id or no match, <0 error (ambiguous). */
static int resolve_id(struct store *s, const char *q, char id[DIGEST_LEN + 1], struct err **e)
{
        const char *hex = str_has_prefix(q, "sha256:") ? q + 7 : q;
        if (!only_hex(hex) || strlen(hex) < 4 || strlen(hex) > 64)
                return 0;
        _cleanup_free_ char *pattern = xasprintf("sha256:%s*", hex);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "SELECT id FROM images WHERE id GLOB ? ORDER BY id LIMIT 2", "s",
                       pattern) < 0)
                return -1;
        int r = db_step(s, st, e);
        if (r <= 0)
                return r;
        snprintf(id, DIGEST_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        r = db_step(s, st, e);
        if (r < 0)
                return -1;
        if (r == 1)
                return err_new(e, 0, "image id prefix %s is ambiguous: it matches %s and %s", q, id,
                               (const char *)sqlite3_column_text(st, 0));
        return 1;
}

static int resolve_locked(struct store *s, const char *q, char id[DIGEST_LEN + 1], struct err **e)
{
        if (q == NULL || *q == '\0')
                return err_new(e, EINVAL, "no image name or id given");
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "SELECT image_id FROM refs WHERE ref = ?", "s", q) < 0)
                return -1;
        int r = db_step(s, st, e);
        if (r == 1) {
                snprintf(id, DIGEST_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
                return 0;
        }
        if (r == 0)
                r = resolve_id(s, q, id, e);
        if (r == 0)
                return err_new(e, ENOENT, "no such image: %s", q);
        return r < 0 ? -1 : 0;
}

/* The first column of every row of `sql`, with `id` bound to ? (if not NULL). */
static int load_strings(struct store *s, const char *sql, const char *id, struct strv *out,
                        struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, sql, id ? "s" : NULL, id) < 0)
                return -1;
        int r;
        while ((r = db_step(s, st, e)) == 1)
                strv_push(out, db_col_str(st, 0));
        return r;
}

static void split_refs(struct store_image *img, struct strv *refs)
{
        struct strv tags = {0}, digests = {0};
        for (size_t i = 0; i < refs->n; i++) {
                struct strv *to = strchr(refs->v[i], '@') ? &digests : &tags;
                strv_push(to, TAKE_PTR(refs->v[i]));
        }
        img->repo_tags = tags.v;
        img->n_tags = tags.n;
        img->repo_digests = digests.v;
        img->n_digests = digests.n;
}

static int load_locked(struct store *s, const char *id, struct store_image **out, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "SELECT manifest, created, size FROM images WHERE id = ?", "s",
                       id) < 0)
                return -1;
        int r = db_step(s, st, e);
        if (r <= 0)
                return r < 0 ? -1 : err_new(e, ENOENT, "no such image: %s", id);
        struct store_image *img = xcalloc(1, sizeof(*img));
        snprintf(img->id, sizeof(img->id), "%s", id);
        snprintf(img->manifest, sizeof(img->manifest), "%s",
                 (const char *)sqlite3_column_text(st, 0));
        img->created = sqlite3_column_int64(st, 1);
        img->size = sqlite3_column_int64(st, 2);
        _cleanup_strv_ struct strv layers = {0}, refs = {0};
        if (load_strings(s, "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", id,
                         &layers, e) < 0 ||
            load_strings(s, "SELECT ref FROM refs WHERE image_id = ? ORDER BY ref", id, &refs, e) <
                0) {
                store_image_free(img);
                return -1;
        }
        img->chain_ids = TAKE_PTR(layers.v);
        img->n_layers = layers.n;
        layers.n = 0;
        split_refs(img, &refs);
        *out = img;
        return 0;
}

int store_image_get(struct store *s, const char *ref_or_id, struct store_image **out,
                    struct err **e)
{
        char id[DIGEST_LEN + 1];
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (resolve_locked(s, ref_or_id, id, e) < 0)
                return -1;
        return load_locked(s, id, out, e);
}

int store_image_list(struct store *s, struct store_image ***out, size_t *n, struct err **e)
{
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        _cleanup_strv_ struct strv ids = {0};
        if (load_strings(s, "SELECT id FROM images ORDER BY created DESC, id", NULL, &ids, e) < 0)
                return -1;
        struct store_image **v = xcalloc(ids.n + 1, sizeof(*v));
        for (size_t i = 0; i < ids.n; i++) {
                if (load_locked(s, ids.v[i], &v[i], e) < 0) {
                        for (size_t j = 0; j < i; j++)
                                store_image_free(v[j]);
                        free(v);
                        return -1;
                }
        }
        *out = v;
        *n = ids.n;
        return 0;
}

void store_image_free(struct store_image *img)
{
        if (img == NULL)
                return;
        struct strv a[] = {{img->chain_ids, img->n_layers},
                           {img->repo_tags, img->n_tags},
                           {img->repo_digests, img->n_digests}};
        for (size_t i = 0; i < ARRAY_SIZE(a); i++)
                strv_clear(&a[i]);
        free(img);
}

/* ---- references ---- */

static int check_ref(const char *ref, struct err **e)
{
        if (ref == NULL || *ref == '\0')
                return err_new(e, EINVAL, "empty image reference");
        for (const char *p = ref; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return err_new(e, EINVAL, "invalid image reference \"%s\"", ref);
        if (strlen(ref) > 4096)
                return err_new(e, EINVAL, "image reference too long: %.64s...", ref);
        return 0;
}

static int tag_locked(struct store *s, const char *ref, const char *image, struct err **e)
{
        char id[DIGEST_LEN + 1];
        if (resolve_locked(s, image, id, e) < 0)
                return -1;
        return db_run(s, e, "INSERT OR REPLACE INTO refs (ref, image_id) VALUES (?, ?)", "ss", ref,
                      id);
}

int store_tag(struct store *s, const char *ref, const char *image_id, struct err **e)
{
        if (check_ref(ref, e) < 0)
                return -1;
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (db_begin(s, e) < 0)
                return -1;
        return db_end(s, tag_locked(s, ref, image_id, e), e);
}

int store_untag(struct store *s, const char *ref, struct err **e)
{
        if (check_ref(ref, e) < 0)
                return -1;
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (db_run(s, e, "DELETE FROM refs WHERE ref = ?", "s", ref) < 0)
                return -1;
        if (sqlite3_changes(s->db) == 0)
                return err_new(e, ENOENT, "no such image reference: %s", ref);
        return 0;
}

/* ---- removal ---- */

struct garbage {
        struct strv layers; /* chain ids whose rows were deleted */
        struct strv blobs;  /* digests that may have lost their last user */
        struct strv aside;  /* layer directories moved into tmp/ */
};

static void garbage_clear(struct garbage *g)
{
        strv_clear(&g->layers);
        strv_clear(&g->blobs);
        strv_clear(&g->aside);
}

static int refuse_if_referenced(struct store *s, const char *id, struct err **e)
{
        _cleanup_strv_ struct strv refs = {0};
        if (load_strings(s, "SELECT ref FROM refs WHERE image_id = ? ORDER BY ref", id, &refs, e) <
            0)
                return -1;
        if (refs.n == 0)
                return 0;
        _cleanup_free_ char *list = xstrdup(refs.v[0]);
        for (size_t i = 1; i < refs.n; i++) {
                char *l = xasprintf("%s, %s", list, refs.v[i]);
                free(list);
                list = l;
        }
        return err_new(e, 0, "image %s is still referenced by %s", id, list);
}

/* The layers this image held the last reference on, and their blobs. */
static int collect_dead_layers(struct store *s, const char *id, struct garbage *g, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e,
                       "SELECT chain_id, blob FROM layers WHERE refcount <= 0 AND chain_id IN"
                       " (SELECT chain_id FROM image_layers WHERE image_id = ?)",
                       "s", id) < 0)
                return -1;
        int r;
        while ((r = db_step(s, st, e)) == 1) {
                strv_push(&g->layers, db_col_str(st, 0));
                if (sqlite3_column_type(st, 1) != SQLITE_NULL)
                        strv_push(&g->blobs, db_col_str(st, 1));
        }
        return r;
}

static int remove_locked(struct store *s, const char *q, struct garbage *g, struct err **e)
{
        char id[DIGEST_LEN + 1];
        _cleanup_strv_ struct strv manifest = {0};
        if (resolve_locked(s, q, id, e) < 0 || refuse_if_referenced(s, id, e) < 0 ||
            load_strings(s, "SELECT manifest FROM images WHERE id = ? AND manifest != ''", id,
                         &manifest, e) < 0)
                return -1;
        if (db_run(s, e,
                   "UPDATE layers SET refcount = refcount - 1 WHERE chain_id IN"
                   " (SELECT chain_id FROM image_layers WHERE image_id = ?)",
                   "s", id) < 0 ||
            collect_dead_layers(s, id, g, e) < 0 ||
            db_run(s, e, "DELETE FROM images WHERE id = ?", "s", id) < 0)
                return -1;
        for (size_t i = 0; i < g->layers.n; i++)
                if (db_run(s, e, "DELETE FROM layers WHERE chain_id = ?", "s", g->layers.v[i]) < 0)
                        return -1;
        strv_push(&g->blobs, xstrdup(id));
        if (manifest.n)
                strv_push(&g->blobs, TAKE_PTR(manifest.v[0]));
        return 0;
}

static int blob_in_use(struct store *s, const char *digest, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e,
                       "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1"
                       " UNION ALL SELECT 1 FROM layers WHERE blob = ?1 LIMIT 1",
                       "s", digest) < 0)
                return -1;
        return db_step(s, st, e);
}

/* Second transaction: delete what is still unrecorded. */
static int collect_locked(struct store *s, struct garbage *g, struct err **e)
{
        for (size_t i = 0; i < g->layers.n; i++) {
                int has = db_layer_exists(s, g->layers.v[i], e);
                if (has < 0)
                        return -1;
                char *aside = has ? NULL : layer_set_aside_locked(s, g->layers.v[i]);
                if (aside)
                        strv_push(&g->aside, aside);
        }
        for (size_t i = 0; i < g->blobs.n; i++) {
                int used = blob_in_use(s, g->blobs.v[i], e);
                if (used < 0)
                        return -1;
                _cleanup_free_ char *p = store_blob_path(s, g->blobs.v[i]);
                if (!used && unlink(p) < 0 && errno != ENOENT)
                        log_warn("store: remove %s: %s", p, strerror(errno));
        }
        return 0;
}

static int remove_image(struct store *s, const char *image_id, struct garbage *g, struct err **e)
{
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (db_begin(s, e) < 0 || db_end(s, remove_locked(s, image_id, g, e), e) < 0)
                return -1;
        /* the image is gone; failing to free its files now only leaves garbage */
        _cleanup_err_ struct err *ge = NULL;
        if (db_begin(s, &ge) == 0)
                db_end(s, collect_locked(s, g, &ge), &ge);
        if (ge)
                log_warn("store: after removing %s: %s", image_id, ge->msg);
        return 0;
}

int store_image_remove(struct store *s, const char *image_id, struct err **e)
{
        __attribute__((cleanup(garbage_clear))) struct garbage g = {0};
        if (remove_image(s, image_id, &g, e) < 0)
                return -1;
        for (size_t i = 0; i < g.aside.n; i++) /* no lock held for the slow part */
                store_discard_dir(s, g.aside.v[i]);
        return 0;
}

/* ---- garbage collection ---- */

static int gc_layers_locked(struct store *s, int64_t before, struct garbage *g, int64_t *freed,
                            struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e,
                       "SELECT chain_id, blob, size FROM layers WHERE refcount <= 0 AND added < ?"
                       " AND chain_id NOT IN (SELECT chain_id FROM image_layers)",
                       "i", before) < 0)
                return -1;
        int r;
        while ((r = db_step(s, st, e)) == 1) {
                strv_push(&g->layers, db_col_str(st, 0));
                if (sqlite3_column_type(st, 1) != SQLITE_NULL)
                        strv_push(&g->blobs, db_col_str(st, 1));
                *freed += sqlite3_column_int64(st, 2);
        }
        if (r < 0)
                return -1;
        for (size_t i = 0; i < g->layers.n; i++)
                if (db_run(s, e, "DELETE FROM layers WHERE chain_id = ?", "s", g->layers.v[i]) < 0)
                        return -1;
        return 0;
}

/* Blob files older than `before`: candidates (collect_locked keeps those in use). */
static void gc_blob_candidates(struct store *s, int64_t before, struct garbage *g)
{
        _cleanup_free_ char *dir = xasprintf("%s/blobs/sha256", s->root);
        DIR *d = opendir(dir);
        if (d == NULL)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                struct stat st;
                if (strlen(de->d_name) != 64 || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_mtime >= before)
                        continue;
                strv_push(&g->blobs, xasprintf("sha256:%s", de->d_name));
        }
        closedir(d);
}

int store_gc(struct store *s, int64_t before, int64_t *freed, struct err **e)
{
        __attribute__((cleanup(garbage_clear))) struct garbage g = {0};
        int64_t bytes = 0;
        {
                _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
                if (db_begin(s, e) < 0 ||
                    db_end(s, gc_layers_locked(s, before, &g, &bytes, e), e) < 0)
                        return -1;
                gc_blob_candidates(s, before, &g);
                size_t n = g.blobs.n;
                int64_t *sizes = xcalloc(n ? n : 1, sizeof(*sizes));
                for (size_t i = 0; i < n; i++) {
                        sizes[i] = store_blob_size(s, g.blobs.v[i]);
                        for (size_t k = 0; k < i; k++) /* a layer's blob is a file too */
                                if (!strcmp(g.blobs.v[k], g.blobs.v[i]))
                                        sizes[i] = 0;
                }
                int r = db_begin(s, e);
                if (r == 0)
                        r = db_end(s, collect_locked(s, &g, e), e);
                for (size_t i = 0; r == 0 && i < n; i++)
                        if (sizes[i] > 0 && !store_blob_has(s, g.blobs.v[i]))
                                bytes += sizes[i];
                free(sizes);
                if (r < 0)
                        return -1;
        }
        for (size_t i = 0; i < g.aside.n; i++) /* no lock held for the slow part */
                store_discard_dir(s, g.aside.v[i]);
        if (freed)
                *freed = bytes;
        return 0;
}

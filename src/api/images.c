/*
 * api/images: the image half of the Engine API: list, inspect, history,
 * tag, remove, prune (quick metadata work on the engine's store under
 * engine_store_lock) and POST /auth.  The long transfers (pull, push, load,
 * import, save) live in images_io.c; both share the helpers of
 * images_int.h.  Names in requests are Docker's ("busybox", "sha256:..",
 * a short id); they are normalized here, the store keeps full names and
 * answers show the familiar forms.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/reference.h"
#include "api.h"
#include "images_int.h"

/* ---- shared helpers ---- */

int img_err(struct err **e, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        err_new(e, 0, "%s", m ? m : "out of memory");
        free(m);
        /* the code picks the HTTP status; no strerror text in Docker's words */
        if (e && *e && (*e)->code == 0)
                (*e)->code = code;
        return -1;
}

char *img_normalize(const char *name)
{
        struct image_ref *ref = NULL;
        if (ref_parse(name, &ref, NULL) < 0)
                return NULL;
        char *norm = ref_string(ref);
        ref_free(ref);
        return norm;
}

int img_find(struct store *s, const char *key, struct store_image **img, char **norm_out,
             struct err **e)
{
        _cleanup_free_ char *norm = img_normalize(key);
        if (norm && store_image_get(s, norm, img, NULL) == 0) {
                if (norm_out)
                        *norm_out = TAKE_PTR(norm);
                return 0;
        }
        if (store_image_get(s, key, img, NULL) == 0)
                return 0;
        return img_err(e, ENOENT, "No such image: %s", key);
}

json_t *img_config(struct store *s, const struct store_image *img, struct err **e)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (store_blob_read(s, img->id, 16 << 20, &text, &len, e) < 0)
                return NULL;
        json_error_t je;
        json_t *cfg = json_loadb(text, len, 0, &je);
        if (cfg == NULL)
                err_new(e, 0, "image %s: bad config JSON: %s", img->id, je.text);
        return cfg;
}

static json_t *strings_familiar(char *const *v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
                char *f = ref_familiar(v[i]);
                json_array_append_new(a, json_string(f));
                free(f);
        }
        return a;
}

static json_t *str_or_empty(json_t *cfg, const char *key)
{
        const char *v = json_string_value(json_object_get(cfg, key));
        return json_string(v ? v : "");
}

/* Docker's image inspect object (the shape `barge image inspect` printed). */
static json_t *inspect_json(struct store *s, const struct store_image *img, struct err **e)
{
        json_t *cfg = img_config(s, img, e);
        if (cfg == NULL)
                return NULL;
        json_t *o = json_object();
        json_object_set_new(o, "Id", json_string(img->id));
        json_object_set_new(o, "RepoTags", strings_familiar(img->repo_tags, img->n_tags));
        json_object_set_new(o, "RepoDigests", strings_familiar(img->repo_digests, img->n_digests));
        json_object_set_new(o, "Parent", json_string(""));
        json_object_set_new(o, "Comment", str_or_empty(cfg, "comment"));
        const char *created = json_string_value(json_object_get(cfg, "created"));
        json_object_set_new(o, "Created",
                            json_string(created && *created ? created : "0001-01-01T00:00:00Z"));
        json_object_set_new(o, "DockerVersion", str_or_empty(cfg, "docker_version"));
        json_object_set_new(o, "Author", str_or_empty(cfg, "author"));
        json_t *config = json_object_get(cfg, "config");
        json_object_set(o, "Config", config ? config : json_null());
        json_object_set_new(o, "Architecture", str_or_empty(cfg, "architecture"));
        const char *variant = json_string_value(json_object_get(cfg, "variant"));
        if (variant)
                json_object_set_new(o, "Variant", json_string(variant));
        json_object_set_new(o, "Os", str_or_empty(cfg, "os"));
        json_object_set_new(o, "Size", json_integer(img->size));
        json_object_set_new(o, "VirtualSize", json_integer(img->size));
        json_t *layers = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        json_object_set_new(
            o, "RootFS",
            json_pack("{s:s,s:O}", "Type", "layers", "Layers", layers ? layers : json_array()));
        /* Go's zero time: clients parse it as a time */
        json_object_set_new(o, "Metadata",
                            json_pack("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z"));
        json_decref(cfg);
        return o;
}

/* ---- filters ---- */

/* Docker's filters: {"key": ["v", ...]} or the older {"key": {"v": true}}.
 * Calls fn for each value of `key`; stops at the first nonzero return. */
static int filter_each(json_t *filters, const char *key, int (*fn)(void *ctx, const char *v),
                       void *ctx)
{
        json_t *vals = json_object_get(filters, key);
        if (json_is_array(vals)) {
                size_t i;
                json_t *v;
                json_array_foreach(vals, i, v)
                {
                        if (json_is_string(v) && fn(ctx, json_string_value(v)))
                                return 1;
                }
        } else if (json_is_object(vals)) {
                const char *k;
                json_t *v;
                json_object_foreach(vals, k, v)
                {
                        if (json_is_true(v) && fn(ctx, k))
                                return 1;
                }
        }
        return 0;
}

static int filter_check_keys(json_t *filters, const char *const *allowed, struct err **e)
{
        if (filters == NULL)
                return 0;
        if (!json_is_object(filters))
                return img_err(e, EINVAL, "invalid filters: not a JSON object");
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v)
        {
                size_t i = 0;
                while (allowed[i] && strcmp(allowed[i], k))
                        i++;
                if (allowed[i] == NULL)
                        return img_err(e, EINVAL, "invalid filter '%s'", k);
        }
        return 0;
}

static int first_value(void *ctx, const char *v)
{
        *(const char **)ctx = v;
        return 1;
}

static const char *filter_one(json_t *filters, const char *key)
{
        const char *v = NULL;
        filter_each(filters, key, first_value, &v);
        return v;
}

/* dangling=true|1 / false|0; -1 when absent; -2 when not a boolean */
static int filter_dangling(json_t *filters)
{
        const char *v = filter_one(filters, "dangling");
        if (v == NULL)
                return -1;
        if (!strcmp(v, "true") || !strcmp(v, "1"))
                return 1;
        if (!strcmp(v, "false") || !strcmp(v, "0"))
                return 0;
        return -2;
}

struct label_ctx {
        json_t *labels;
        int ok;
};

/* label=key or label=key=value: every one given must match */
static int label_miss(void *ctx, const char *want)
{
        struct label_ctx *l = ctx;
        const char *eq = strchr(want, '=');
        _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
        json_t *have = json_object_get(l->labels, key);
        if (have == NULL ||
            (eq && (!json_is_string(have) || strcmp(json_string_value(have), eq + 1)))) {
                l->ok = 0;
                return 1;
        }
        return 0;
}

static int labels_match(json_t *filters, json_t *labels)
{
        struct label_ctx l = {labels, 1};
        filter_each(filters, "label", label_miss, &l);
        return l.ok;
}

/* Split a familiar "repo:tag" (the tag after the last ':' past the last '/'). */
static void split_tag(const char *fam, char *repo, size_t rn, const char **tag)
{
        const char *slash = strrchr(fam, '/');
        const char *colon = strrchr(slash ? slash : fam, ':');
        size_t len = colon ? (size_t)(colon - fam) : strlen(fam);
        snprintf(repo, rn, "%.*s", (int)len, fam);
        *tag = colon ? colon + 1 : "";
}

static int ref_pattern_hit(void *ctx, const char *pattern)
{
        const char *fam = ctx;
        char repo[512];
        const char *tag;
        split_tag(fam, repo, sizeof(repo), &tag);
        return fnmatch(pattern, fam, 0) == 0 || fnmatch(pattern, repo, 0) == 0;
}

/* ---- GET /images/json ---- */

static int by_created_desc(const void *a, const void *b)
{
        const struct store_image *x = *(struct store_image *const *)a;
        const struct store_image *y = *(struct store_image *const *)b;
        return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

/* before=/since=: the named image's creation time, or an error */
static int filter_time(struct store *s, json_t *filters, const char *key, int64_t *t,
                       struct err **e)
{
        const char *v = filter_one(filters, key);
        *t = -1;
        if (v == NULL)
                return 0;
        struct store_image *img = NULL;
        if (img_find(s, v, &img, NULL, e) < 0)
                return -1;
        *t = img->created;
        store_image_free(img);
        return 0;
}

static json_t *list_entry(struct store *s, const struct store_image *img, json_t *filters)
{
        json_t *cfg = img_config(s, img, NULL);
        json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
        if (json_object_get(filters, "label") && !labels_match(filters, labels)) {
                json_decref(cfg);
                return NULL;
        }
        json_t *tags = json_array(), *digests = strings_familiar(img->repo_digests, img->n_digests);
        int want_ref = json_object_get(filters, "reference") != NULL;
        int any = 0;
        for (size_t t = 0; t < img->n_tags; t++) {
                _cleanup_free_ char *fam = ref_familiar(img->repo_tags[t]);
                if (want_ref && !filter_each(filters, "reference", ref_pattern_hit, fam))
                        continue;
                json_array_append_new(tags, json_string(fam));
                any = 1;
        }
        for (size_t t = 0; want_ref && !any && t < img->n_digests; t++) {
                _cleanup_free_ char *fam = ref_familiar(img->repo_digests[t]);
                char *at = strchr(fam, '@');
                if (at)
                        *at = '\0';
                any = filter_each(filters, "reference", ref_pattern_hit, fam);
        }
        if (want_ref && !any) {
                json_decref(tags);
                json_decref(digests);
                json_decref(cfg);
                return NULL;
        }
        /* dockerd's placeholders for an image with no name at all */
        if (img->n_tags == 0 && img->n_digests == 0) {
                json_array_append_new(tags, json_string("<none>:<none>"));
                json_array_append_new(digests, json_string("<none>@<none>"));
        }
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:O,s:I}", "Id", img->id,
                              "ParentId", "", "RepoTags", tags, "RepoDigests", digests, "Created",
                              (json_int_t)img->created, "Size", (json_int_t)img->size, "SharedSize",
                              (json_int_t)-1, "VirtualSize", (json_int_t)img->size, "Labels",
                              labels ? labels : json_null(), "Containers", (json_int_t)-1);
        json_decref(cfg);
        return o;
}

static void images_list(struct http_req *r)
{
        static const char *const allowed[] = {"dangling", "label", "reference",
                                              "before",   "since", NULL};
        _cleanup_err_ struct err *e = NULL;
        json_t *filters = NULL;
        if (http_query_json(r, "filters", &filters, &e) < 0 ||
            filter_check_keys(filters, allowed, &e) < 0) {
                json_decref(filters);
                http_reply_err(r, e);
                return;
        }
        int dangling = filter_dangling(filters);
        if (dangling == -2) {
                http_reply_error(r, 400, "Invalid filter 'dangling=%s'",
                                 filter_one(filters, "dangling"));
                json_decref(filters);
                return;
        }
        struct engine *eng = api_engine(r);
        struct store *s = engine_store_lock(eng);
        struct store_image **imgs = NULL;
        size_t n = 0;
        int64_t before, since;
        if (filter_time(s, filters, "before", &before, &e) < 0 ||
            filter_time(s, filters, "since", &since, &e) < 0 ||
            store_image_list(s, &imgs, &n, &e) < 0) {
                engine_store_unlock(eng);
                json_decref(filters);
                http_reply_err(r, e);
                return;
        }
        qsort(imgs, n, sizeof(*imgs), by_created_desc);
        json_t *out = json_array();
        for (size_t k = 0; k < n; k++) {
                const struct store_image *img = imgs[k];
                /* dockerd: dangling=true lists untagged images (pulled by digest
                 * too), dangling=false hides only those with no name at all */
                int keep = (dangling != 1 || img->n_tags == 0) &&
                           (dangling != 0 || img->n_tags + img->n_digests > 0) &&
                           (before < 0 || img->created < before) &&
                           (since < 0 || img->created > since);
                json_t *o = keep ? list_entry(s, img, filters) : NULL;
                if (o)
                        json_array_append_new(out, o);
                store_image_free(imgs[k]);
        }
        engine_store_unlock(eng);
        free(imgs);
        json_decref(filters);
        http_reply_json(r, 200, out);
}

/* ---- GET /images/{name}/json, /history ---- */

static void image_inspect(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        struct store *s = engine_store_lock(eng);
        struct store_image *img = NULL;
        json_t *o = NULL;
        if (img_find(s, http_param(r, "name"), &img, NULL, &e) == 0)
                o = inspect_json(s, img, &e);
        engine_store_unlock(eng);
        store_image_free(img);
        if (o == NULL)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, o);
}

static int64_t parse_created(const char *created)
{
        struct tm tm = {0};
        if (created == NULL || strptime(created, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
                return 0;
        return (int64_t)timegm(&tm);
}

static void image_history(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        struct store *s = engine_store_lock(eng);
        struct store_image *img = NULL;
        json_t *cfg = NULL;
        if (img_find(s, http_param(r, "name"), &img, NULL, &e) == 0)
                cfg = img_config(s, img, &e);
        engine_store_unlock(eng);
        if (cfg == NULL) {
                store_image_free(img);
                http_reply_err(r, e);
                return;
        }
        json_t *hist = json_object_get(cfg, "history");
        size_t n = json_array_size(hist);
        json_t *out = json_array();
        /* newest first; the top entry carries the image id and its tags */
        for (size_t k = n; k-- > 0;) {
                json_t *h = json_array_get(hist, k);
                int top = k == n - 1;
                json_t *tags = top ? strings_familiar(img->repo_tags, img->n_tags) : json_null();
                json_array_append_new(
                    out,
                    json_pack(
                        "{s:s,s:I,s:o,s:o,s:I,s:o}", "Id", top ? img->id : "<missing>", "Created",
                        (json_int_t)parse_created(json_string_value(json_object_get(h, "created"))),
                        "CreatedBy", str_or_empty(h, "created_by"), "Tags", tags, "Size",
                        (json_int_t)0, "Comment", str_or_empty(h, "comment")));
        }
        if (n == 0)
                json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:o,s:I,s:s}", "Id", img->id,
                                                     "Created", (json_int_t)img->created,
                                                     "CreatedBy", "", "Tags",
                                                     strings_familiar(img->repo_tags, img->n_tags),
                                                     "Size", (json_int_t)img->size, "Comment", ""));
        json_decref(cfg);
        store_image_free(img);
        http_reply_json(r, 200, out);
}

/* ---- POST /images/{name}/tag ---- */

static void image_tag(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *repo = http_query(r, "repo"), *tag = http_query(r, "tag");
        if (repo == NULL || *repo == '\0') {
                http_reply_error(r, 400, "repository name must have at least one component");
                return;
        }
        _cleanup_free_ char *target = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
        struct image_ref *ref = NULL;
        if (ref_parse(target, &ref, &e) < 0) {
                e->code = EINVAL;
                http_reply_err(r, e);
                return;
        }
        if (ref->tag == NULL) {
                ref_free(ref);
                http_reply_error(r, 400, "refusing to create a tag with a digest reference");
                return;
        }
        _cleanup_free_ char *norm = ref_string(ref);
        ref_free(ref);
        struct engine *eng = api_engine(r);
        struct store *s = engine_store_lock(eng);
        struct store_image *img = NULL;
        int rc = img_find(s, http_param(r, "name"), &img, NULL, &e);
        if (rc == 0)
                rc = store_tag(s, norm, img->id, &e);
        engine_store_unlock(eng);
        if (rc < 0) {
                store_image_free(img);
                http_reply_err(r, e);
                return;
        }
        _cleanup_free_ char *fam = ref_familiar(norm);
        engine_event(eng, "image", "tag", img->id, json_pack("{s:s}", "name", fam));
        store_image_free(img);
        http_reply_empty(r, 201);
}

/* ---- DELETE /images/{name}, POST /images/prune ---- */

static int untag(struct engine *eng, struct store *s, const char *id, const char *ref,
                 json_t *report, struct err **e)
{
        if (store_untag(s, ref, e) < 0)
                return -1;
        _cleanup_free_ char *fam = ref_familiar(ref);
        json_array_append_new(report, json_pack("{s:s}", "Untagged", fam));
        engine_event(eng, "image", "untag", id, json_pack("{s:s}", "name", fam));
        return 0;
}

/* Untag `norm` (name:tag); as dockerd does, the repo digests of that name
 * go with the last tag of the name the image has. */
static int untag_repo(struct engine *eng, struct store *s, const struct store_image *img,
                      const char *norm, json_t *report, struct err **e)
{
        if (untag(eng, s, img->id, norm, report, e) < 0)
                return -1;
        const char *slash = strrchr(norm, '/'), *colon = strrchr(slash ? slash : norm, ':');
        size_t nl = colon ? (size_t)(colon - norm) : strlen(norm);
        for (size_t k = 0; k < img->n_tags; k++)
                if (strcmp(img->repo_tags[k], norm) && !strncmp(img->repo_tags[k], norm, nl) &&
                    img->repo_tags[k][nl] == ':')
                        return 0; /* another tag of the same name stays */
        for (size_t k = 0; k < img->n_digests; k++)
                if (!strncmp(img->repo_digests[k], norm, nl) && img->repo_digests[k][nl] == '@' &&
                    untag(eng, s, img->id, img->repo_digests[k], report, e) < 0)
                        return -1;
        return 0;
}

static int delete_image(struct engine *eng, struct store *s, const struct store_image *img,
                        json_t *report, int64_t *freed, struct err **e)
{
        for (size_t k = 0; k < img->n_tags; k++)
                if (untag(eng, s, img->id, img->repo_tags[k], report, e) < 0)
                        return -1;
        for (size_t k = 0; k < img->n_digests; k++)
                if (untag(eng, s, img->id, img->repo_digests[k], report, e) < 0)
                        return -1;
        if (store_image_remove(s, img->id, e) < 0)
                return -1;
        json_array_append_new(report, json_pack("{s:s}", "Deleted", img->id));
        engine_event(eng, "image", "delete", img->id, NULL);
        if (freed)
                *freed += img->size;
        return 0;
}

/* Docker's rules: a name removes that name, and the image with its last
 * name; an id removes every name and the image.  A container using the
 * image: running -> refused; stopped -> refused unless forced, and forced
 * only untags (its rootfs still needs the layers). */
static int remove_image(struct engine *eng, struct store *s, const char *key, int force,
                        json_t *report, struct err **e)
{
        struct store_image *img = NULL;
        _cleanup_free_ char *norm = NULL;
        if (img_find(s, key, &img, &norm, e) < 0)
                return -1;
        int running = 0, rc = -1;
        _cleanup_free_ char *user = engine_image_user(eng, img->id, &running);
        const char *hex = digest_hex(img->id);
        if (norm && strchr(norm, '@') == NULL && img->n_tags > 1) {
                rc = untag_repo(eng, s, img, norm, report, e);
                goto out;
        }
        if (norm && user) {
                if (!force) {
                        _cleanup_free_ char *fam = ref_familiar(norm);
                        img_err(e, EBUSY,
                                "conflict: unable to remove repository reference \"%s\" (must "
                                "force) - container %.12s is using its referenced image %.12s",
                                fam, user, hex);
                        goto out;
                }
                rc = untag(eng, s, img->id, norm, report, e);
                goto out;
        }
        if (!norm && user && running) {
                img_err(e, EBUSY,
                        "conflict: unable to delete %.12s (cannot be forced) - image is being "
                        "used by running container %.12s",
                        hex, user);
                goto out;
        }
        if (!norm && user && !force) {
                img_err(e, EBUSY,
                        "conflict: unable to delete %.12s (must be forced) - image is being used "
                        "by stopped container %.12s",
                        hex, user);
                goto out;
        }
        if (!norm && img->n_tags > 1 && !force) {
                img_err(e, EBUSY,
                        "conflict: unable to delete %.12s (must be forced) - image is "
                        "referenced in multiple repositories",
                        hex);
                goto out;
        }
        if (user) { /* forced, stopped container: names go, the image stays */
                rc = 0;
                for (size_t k = 0; k < img->n_tags && rc == 0; k++)
                        rc = untag(eng, s, img->id, img->repo_tags[k], report, e);
                goto out;
        }
        rc = delete_image(eng, s, img, report, NULL, e);
out:
        store_image_free(img);
        return rc;
}

static void image_delete(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        json_t *report = json_array();
        struct store *s = engine_store_lock(eng);
        int rc =
            remove_image(eng, s, http_param(r, "name"), http_query_bool(r, "force", 0), report, &e);
        engine_store_unlock(eng);
        if (rc < 0) {
                json_decref(report);
                http_reply_err(r, e);
                return;
        }
        http_reply_json(r, 200, report);
}

static void images_prune(struct http_req *r)
{
        static const char *const allowed[] = {"dangling", "label", "until", NULL};
        _cleanup_err_ struct err *e = NULL;
        json_t *filters = NULL;
        if (http_query_json(r, "filters", &filters, &e) < 0 ||
            filter_check_keys(filters, allowed, &e) < 0) {
                json_decref(filters);
                http_reply_err(r, e);
                return;
        }
        int dangling = filter_dangling(filters);
        const char *until = filter_one(filters, "until");
        long long until_t = -1;
        if (dangling == -2 || (until && parse_int64(until, &until_t) < 0)) {
                json_decref(filters);
                http_reply_error(r, 400, "invalid filter value for prune");
                return;
        }
        /* default (and dangling=true): only images no name refers to (a tag
         * or a repo digest, as dockerd counts references); dangling=false:
         * every image no container uses */
        int only_dangling = dangling != 0;
        struct engine *eng = api_engine(r);
        struct store *s = engine_store_lock(eng);
        struct store_image **imgs = NULL;
        size_t n = 0;
        if (store_image_list(s, &imgs, &n, &e) < 0) {
                engine_store_unlock(eng);
                json_decref(filters);
                http_reply_err(r, e);
                return;
        }
        json_t *deleted = json_array();
        int64_t freed = 0;
        int rc = 0;
        for (size_t k = 0; k < n; k++) {
                struct store_image *img = imgs[k];
                int running;
                char *user = engine_image_user(eng, img->id, &running);
                int take = user == NULL && (!only_dangling || img->n_tags + img->n_digests == 0) &&
                           (until_t < 0 || img->created < until_t);
                free(user);
                if (take && json_object_get(filters, "label")) {
                        json_t *cfg = img_config(s, img, NULL);
                        take = labels_match(
                            filters, json_object_get(json_object_get(cfg, "config"), "Labels"));
                        json_decref(cfg);
                }
                if (take && rc == 0)
                        rc = delete_image(eng, s, img, deleted, &freed, &e);
                store_image_free(img);
        }
        /* then what failed or abandoned pulls left: layers and blobs no image
         * uses, a few seconds old (a pull in another process keeps its
         * fresh work), unless a transfer of ours is running */
        if (rc == 0 && img_gc_trylock()) {
                int64_t gc_freed = 0;
                _cleanup_err_ struct err *ge = NULL;
                if (store_gc(s, (int64_t)time(NULL) - 5, &gc_freed, &ge) < 0)
                        log_warn("image prune: collecting unused layers: %s", ge->msg);
                freed += gc_freed;
                img_gc_unlock();
        }
        engine_store_unlock(eng);
        free(imgs);
        json_decref(filters);
        if (rc < 0) {
                json_decref(deleted);
                http_reply_err(r, e);
                return;
        }
        if (json_array_size(deleted) == 0) {
                json_decref(deleted);
                deleted = json_null();
        }
        http_reply_json(
            r, 200,
            json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)freed));
}

/* ---- POST /auth ---- */

static void auth_check(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *body = NULL;
        if (http_body_json(r, &body, &e) < 0) {
                e->code = EINVAL;
                http_reply_err(r, e);
                return;
        }
        const char *user = json_string_value(json_object_get(body, "username"));
        const char *pass = json_string_value(json_object_get(body, "password"));
        const char *server = json_string_value(json_object_get(body, "serveraddress"));
        if (user == NULL || *user == '\0' || pass == NULL) {
                json_decref(body);
                http_reply_error(r, 400, "username and password are required");
                return;
        }
        if (server && *server == '\0')
                server = NULL;
        int rc = registry_login_check(server, user, pass, engine_registry_opts(api_engine(r)), &e);
        json_decref(body);
        if (rc < 0) {
                /* dockerd answers 401 for refused credentials */
                if (strstr(e->msg, "unauthorized") || strstr(e->msg, "(401)"))
                        http_reply_error(r, 401, "%s", e->msg);
                else
                        http_reply_err(r, e);
                return;
        }
        http_reply_json(r, 200,
                        json_pack("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
}

const struct http_route api_image_routes[] = {
    {"POST", "/images/create", img_create, HTTP_STREAM_BODY},
    {"GET", "/images/json", images_list, 0},
    {"POST", "/images/load", img_load, HTTP_STREAM_BODY},
    {"GET", "/images/get", img_save, 0},
    {"POST", "/images/prune", images_prune, 0},
    {"GET", "/images/{name*}/json", image_inspect, 0},
    {"GET", "/images/{name*}/history", image_history, 0},
    {"GET", "/images/{name*}/get", img_save, 0},
    {"POST", "/images/{name*}/tag", image_tag, 0},
    {"POST", "/images/{name*}/push", img_push, 0},
    {"DELETE", "/images/{name*}", image_delete, 0},
    {"POST", "/auth", auth_check, 0},
    {NULL, NULL, NULL, 0},
};

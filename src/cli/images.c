/* pull, push, images, image inspect, history, tag, rmi, image prune */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/util.h"
#include "../registry/reference.h"
#include "cli.h"
#include "../common/format.h"
#include "progress.h"

static int flag_quiet(void *data, int opt, const char *arg)
{
        if (opt == 'q')
                *(int *)data = 1;
        return 0;
}

/* ---- pull / push ---- */

struct pull_args {
        int quiet;
        const char *platform;
};

static int pull_opt(void *data, int opt, const char *arg)
{
        struct pull_args *a = data;
        if (opt == 'q')
                a->quiet = 1;
        else if (opt == 'P')
                a->platform = arg;
        return 0;
}

/* "docker.io/library/busybox:latest" -> shown as docker does */
static int parse_ref(const char *in, char **norm, struct image_ref **ref, struct err **e)
{
        if (ref_parse(in, ref, e) < 0)
                return -1;
        *norm = ref_string(*ref);
        return 0;
}

int cmd_pull(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"platform", required_argument, NULL, 'P'},
                                             {NULL, 0, NULL, 0}};
        struct pull_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "q", opts, pull_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("pull", "exactly one image reference is required");
        struct store *s;
        struct image_ref *ref = NULL;
        _cleanup_free_ char *norm = NULL;
        if (cli_store(c, &s, &e) < 0 || parse_ref(c->argv[i], &norm, &ref, &e) < 0)
                return cli_fail(&e);
        struct progress p;
        progress_init(&p, a.quiet);
        struct registry_opts o = c->reg;
        if (a.platform)
                o.platform = a.platform;
        o.progress = progress_update;
        o.progress_ctx = &p;
        if (!a.quiet) {
                printf("%s: Pulling from %s\n", ref->tag ? ref->tag : ref->digest, ref->path);
                fflush(stdout);
        }
        char id[DIGEST_LEN + 1], before[DIGEST_LEN + 1] = "";
        struct store_image *old = NULL;
        if (store_image_get(s, norm, &old, NULL) == 0)
                snprintf(before, sizeof(before), "%s", old->id);
        store_image_free(old);
        _cleanup_free_ char *fam = ref_familiar(norm);
        int r = registry_pull(s, norm, &o, id, &e);
        ref_free(ref);
        progress_done(&p);
        if (r < 0)
                return cli_fail(&e);
        if (!a.quiet) {
                struct store_image *img = NULL;
                if (store_image_get(s, norm, &img, &e) == 0) {
                        for (size_t k = 0; k < img->n_digests; k++)
                                printf("Digest: %s\n", strchr(img->repo_digests[k], '@') + 1);
                        store_image_free(img);
                }
                err_free(&e);
                printf("Status: %s for %s\n",
                       strcmp(before, id) ? "Downloaded newer image" : "Image is up to date", fam);
        }
        printf("%s\n", norm);
        return 0;
}

int cmd_push(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
        int quiet = 0;
        struct err *e = NULL;
        int i = cli_parse(c, "q", opts, flag_quiet, &quiet);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("push", "exactly one image reference is required");
        struct store *s;
        struct image_ref *ref = NULL;
        _cleanup_free_ char *norm = NULL;
        if (cli_store(c, &s, &e) < 0 || parse_ref(c->argv[i], &norm, &ref, &e) < 0)
                return cli_fail(&e);
        _cleanup_free_ char *name = ref_name(ref);
        _cleanup_free_ char *tag = xstrdup(ref->tag ? ref->tag : "latest");
        ref_free(ref);
        if (!quiet)
                printf("The push refers to repository [%s]\n", name);
        struct progress p;
        progress_init(&p, quiet);
        struct registry_opts o = c->reg;
        o.progress = progress_update;
        o.progress_ctx = &p;
        int r = registry_push(s, norm, &o, &e);
        progress_done(&p);
        if (r < 0)
                return cli_fail(&e);
        /* the push recorded name@digest: report it as docker does */
        struct store_image *img = NULL;
        if (!quiet && store_image_get(s, norm, &img, NULL) == 0) {
                size_t nl = strlen(name);
                for (size_t k = 0; k < img->n_digests; k++) {
                        const char *rd = img->repo_digests[k];
                        if (strncmp(rd, name, nl) || rd[nl] != '@')
                                continue;
                        printf("%s: digest: %s size: %lld\n", tag, rd + nl + 1,
                               (long long)store_blob_size(s, rd + nl + 1));
                }
                store_image_free(img);
        }
        return 0;
}

/* ---- images ---- */

struct images_args {
        int quiet, digests, all, no_trunc;
        const char *filter; /* reference=PATTERN */
};

static int images_opt(void *data, int opt, const char *arg)
{
        struct images_args *a = data;
        switch (opt) {
        case 'q':
                a->quiet = 1;
                break;
        case 'a':
                a->all = 1;
                break;
        case 'D':
                a->digests = 1;
                break;
        case 'T':
                a->no_trunc = 1;
                break;
        case 'f':
                if (strncmp(arg, "reference=", 10) != 0)
                        return cli_usage("images", "unsupported filter %s (reference= only)", arg),
                               -1;
                a->filter = arg + 10;
                break;
        }
        return 0;
}

/* Split a familiar "repo:tag" (tag after the last ':' that follows the last '/'). */
static void split_tag(const char *fam, char *repo, size_t rn, const char **tag)
{
        const char *slash = strrchr(fam, '/');
        const char *colon = strrchr(slash ? slash : fam, ':');
        size_t len = colon ? (size_t)(colon - fam) : strlen(fam);
        snprintf(repo, rn, "%.*s", (int)len, fam);
        *tag = colon ? colon + 1 : "<none>";
}

static int matches_filter(const char *fam, const char *pattern)
{
        char repo[512];
        const char *tag;
        if (pattern == NULL)
                return 1;
        split_tag(fam, repo, sizeof(repo), &tag);
        return fnmatch(pattern, fam, 0) == 0 || fnmatch(pattern, repo, 0) == 0;
}

static const char *digest_for(const struct store_image *img, const char *repo)
{
        for (size_t k = 0; k < img->n_digests; k++) {
                _cleanup_free_ char *fam = ref_familiar(img->repo_digests[k]);
                const char *at = strchr(fam, '@');
                if (at && (size_t)(at - fam) == strlen(repo) && !strncmp(fam, repo, strlen(repo)))
                        return strchr(img->repo_digests[k], '@') + 1;
        }
        return "<none>";
}

static void images_row(const struct images_args *a, const struct store_image *img, const char *repo,
                       const char *tag)
{
        char id[80], size[16], ago[48];
        snprintf(id, sizeof(id), "%s", a->no_trunc ? img->id : digest_hex(img->id));
        if (!a->no_trunc)
                id[12] = '\0';
        if (a->quiet) {
                printf("%s\n", id);
                return;
        }
        human_size(img->size, size, sizeof(size));
        human_ago(img->created, ago, sizeof(ago));
        if (a->digests)
                printf("%-40s %-16s %-72s %-14s %-20s %s\n", repo, tag, digest_for(img, repo), id,
                       ago, size);
        else
                printf("%-40s %-16s %-14s %-20s %s\n", repo, tag, id, ago, size);
}

int cmd_images(struct cli *c)
{
        static const struct option opts[] = {
            {"quiet", no_argument, NULL, 'q'},        {"all", no_argument, NULL, 'a'},
            {"digests", no_argument, NULL, 'D'},      {"no-trunc", no_argument, NULL, 'T'},
            {"filter", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
        struct images_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "qaf:", opts, images_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 == c->argc)
                a.filter = c->argv[i]; /* `images busybox` */
        else if (i < c->argc)
                return cli_usage("images", "too many arguments");
        struct store *s;
        struct store_image **imgs = NULL;
        size_t n = 0;
        if (cli_store(c, &s, &e) < 0 || store_image_list(s, &imgs, &n, &e) < 0)
                return cli_fail(&e);
        if (!a.quiet) {
                if (a.digests)
                        printf("%-40s %-16s %-72s %-14s %-20s %s\n", "REPOSITORY", "TAG", "DIGEST",
                               "IMAGE ID", "CREATED", "SIZE");
                else
                        printf("%-40s %-16s %-14s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID",
                               "CREATED", "SIZE");
        }
        for (size_t k = 0; k < n; k++) {
                const struct store_image *img = imgs[k];
                int shown = 0;
                for (size_t t = 0; t < img->n_tags; t++) {
                        _cleanup_free_ char *fam = ref_familiar(img->repo_tags[t]);
                        if (!matches_filter(fam, a.filter))
                                continue;
                        char repo[512];
                        const char *tag;
                        split_tag(fam, repo, sizeof(repo), &tag);
                        images_row(&a, img, repo, tag);
                        shown = 1;
                        if (a.quiet)
                                break;
                }
                /* pulled by digest only: the repository, with no tag (as docker) */
                for (size_t t = 0; !shown && img->n_tags == 0 && t < img->n_digests; t++) {
                        _cleanup_free_ char *fam = ref_familiar(img->repo_digests[t]);
                        char *at = strchr(fam, '@');
                        if (at)
                                *at = '\0';
                        if (!matches_filter(fam, a.filter))
                                continue;
                        images_row(&a, img, fam, "<none>");
                        shown = a.quiet;
                }
                if (!shown && img->n_tags == 0 && img->n_digests == 0 && a.filter == NULL)
                        images_row(&a, img, "<none>", "<none>");
                store_image_free(imgs[k]);
        }
        free(imgs);
        return 0;
}

/* ---- inspect / history ---- */

static json_t *load_config(struct store *s, const struct store_image *img, struct err **e)
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

/* Docker's image inspect object, from the store and the config blob. */
static json_t *inspect_json(struct store *s, const struct store_image *img, struct err **e)
{
        json_t *cfg = load_config(s, img, e);
        if (cfg == NULL)
                return NULL;
        json_t *o = json_object();
        json_object_set_new(o, "Id", json_string(img->id));
        json_object_set_new(o, "RepoTags", strings_familiar(img->repo_tags, img->n_tags));
        json_object_set_new(o, "RepoDigests", strings_familiar(img->repo_digests, img->n_digests));
        json_object_set_new(o, "Parent", json_string(""));
        json_object_set_new(o, "Comment",
                            json_string(json_string_value(json_object_get(cfg, "comment")) ?: ""));
        json_object_set_new(o, "Created",
                            json_string(json_string_value(json_object_get(cfg, "created")) ?: ""));
        json_object_set_new(
            o, "DockerVersion",
            json_string(json_string_value(json_object_get(cfg, "docker_version")) ?: ""));
        json_object_set_new(o, "Author",
                            json_string(json_string_value(json_object_get(cfg, "author")) ?: ""));
        json_t *config = json_object_get(cfg, "config");
        json_object_set(o, "Config", config ? config : json_null());
        json_object_set_new(
            o, "Architecture",
            json_string(json_string_value(json_object_get(cfg, "architecture")) ?: ""));
        const char *variant = json_string_value(json_object_get(cfg, "variant"));
        if (variant)
                json_object_set_new(o, "Variant", json_string(variant));
        json_object_set_new(o, "Os",
                            json_string(json_string_value(json_object_get(cfg, "os")) ?: ""));
        json_object_set_new(o, "Size", json_integer(img->size));
        json_object_set_new(o, "VirtualSize", json_integer(img->size));
        json_t *layers = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        json_object_set_new(
            o, "RootFS",
            json_pack("{s:s,s:O}", "Type", "layers", "Layers", layers ? layers : json_array()));
        json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", ""));
        json_decref(cfg);
        return o;
}

static int format_opt(void *data, int opt, const char *arg)
{
        if (opt == 'f')
                *(const char **)data = arg;
        return 0;
}

int cmd_inspect(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {"type", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
        const char *format = NULL;
        struct err *e = NULL;
        int i = cli_parse(c, "f:", opts, format_opt, &format);
        if (i < 0)
                return 125;
        if (i >= c->argc)
                return cli_usage(c->argv[0], "at least one image is required");
        struct store *s;
        if (cli_store(c, &s, &e) < 0)
                return cli_fail(&e);
        json_t *out = json_array();
        int rc = 0;
        for (; i < c->argc; i++) {
                struct store_image *img = NULL;
                json_t *o = NULL;
                _cleanup_free_ char *norm = NULL;
                struct image_ref *ref = NULL;
                /* a name is normalized; anything that is not a valid name is tried as an id */
                const char *key = c->argv[i];
                if (ref_parse(key, &ref, NULL) == 0) {
                        norm = ref_string(ref);
                        ref_free(ref);
                }
                if ((norm == NULL || store_image_get(s, norm, &img, NULL) < 0) &&
                    store_image_get(s, key, &img, &e) < 0) {
                        err_free(&e);
                        err_new(&e, 0, "no such image: %s", key);
                        rc = cli_fail(&e);
                        continue;
                }
                o = inspect_json(s, img, &e);
                store_image_free(img);
                if (o == NULL) {
                        rc = cli_fail(&e);
                        continue;
                }
                if (format) {
                        char *text = NULL;
                        if (format_render(format, o, &text, &e) < 0) {
                                json_decref(o);
                                json_decref(out);
                                return cli_fail(&e);
                        }
                        printf("%s\n", text);
                        free(text);
                }
                json_array_append_new(out, o);
        }
        if (!format) {
                json_dumpf(out, stdout, JSON_INDENT(4));
                putchar('\n');
        }
        json_decref(out);
        return rc;
}

/* Resolve a user's name or id to an image (one error line if none). */
static int find_image(struct store *s, const char *key, struct store_image **img, char **norm_out,
                      struct err **e)
{
        struct image_ref *ref = NULL;
        _cleanup_free_ char *norm = NULL;
        if (ref_parse(key, &ref, NULL) == 0) {
                norm = ref_string(ref);
                ref_free(ref);
                if (store_image_get(s, norm, img, NULL) == 0) {
                        if (norm_out)
                                *norm_out = TAKE_PTR(norm);
                        return 0;
                }
        }
        if (store_image_get(s, key, img, NULL) == 0)
                return 0;
        return err_new(e, 0, "no such image: %s", key);
}

int cmd_history(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
        int quiet = 0;
        struct err *e = NULL;
        int i = cli_parse(c, "qH", opts, flag_quiet, &quiet);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("history", "exactly one image is required");
        struct store *s;
        struct store_image *img = NULL;
        if (cli_store(c, &s, &e) < 0 || find_image(s, c->argv[i], &img, NULL, &e) < 0)
                return cli_fail(&e);
        json_t *cfg = load_config(s, img, &e);
        if (cfg == NULL) {
                store_image_free(img);
                return cli_fail(&e);
        }
        if (!quiet)
                printf("%-14s %-20s %-45s %-10s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE",
                       "COMMENT");
        json_t *hist = json_object_get(cfg, "history");
        size_t n = json_array_size(hist);
        /* newest first; the top entry carries the image id, the rest <missing> */
        for (size_t k = n; k-- > 0;) {
                json_t *h = json_array_get(hist, k);
                char id[16] = "<missing>", ago[48] = "", size[16] = "0B";
                if (k == n - 1)
                        snprintf(id, sizeof(id), "%.12s", digest_hex(img->id));
                if (quiet) {
                        printf("%s\n", id);
                        continue;
                }
                struct tm tm = {0};
                const char *created = json_string_value(json_object_get(h, "created"));
                if (created && strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
                        human_ago((int64_t)timegm(&tm), ago, sizeof(ago));
                const char *by = json_string_value(json_object_get(h, "created_by")) ?: "";
                printf("%-14s %-20s %-45.45s %-10s %s\n", id, ago, by, size,
                       json_string_value(json_object_get(h, "comment")) ?: "");
        }
        if (n == 0 && !quiet)
                printf("%-14.12s %-20s %-45s %-10s %s\n", digest_hex(img->id), "", "", "", "");
        json_decref(cfg);
        store_image_free(img);
        return 0;
}

int cmd_tag(struct cli *c)
{
        struct err *e = NULL;
        int dummy;
        int i = cli_parse(c, "", (struct option[]){{NULL, 0, NULL, 0}}, flag_quiet, &dummy);
        if (i < 0)
                return 125;
        if (i + 2 != c->argc)
                return cli_usage("tag", "needs SOURCE and TARGET");
        struct store *s;
        struct store_image *img = NULL;
        struct image_ref *dst = NULL;
        _cleanup_free_ char *norm = NULL;
        if (cli_store(c, &s, &e) < 0 || find_image(s, c->argv[i], &img, NULL, &e) < 0 ||
            parse_ref(c->argv[i + 1], &norm, &dst, &e) < 0)
                goto fail;
        if (dst->tag == NULL) {
                err_new(&e, 0, "tag %s: a target with a digest is not allowed", c->argv[i + 1]);
                goto fail;
        }
        if (store_tag(s, norm, img->id, &e) < 0)
                goto fail;
        ref_free(dst);
        store_image_free(img);
        return 0;
fail:
        ref_free(dst);
        store_image_free(img);
        return cli_fail(&e);
}

/* ---- rmi / prune ---- */

/* Remove one name, and the image once no name is left (or any with -f). */
static int remove_one(struct store *s, const char *key, int force, int64_t *freed, struct err **e)
{
        struct store_image *img = NULL;
        _cleanup_free_ char *norm = NULL;
        if (find_image(s, key, &img, &norm, e) < 0)
                return -1;
        int r = 0;
        if (norm) {
                _cleanup_free_ char *fam = ref_familiar(norm);
                r = store_untag(s, norm, e);
                if (r == 0)
                        printf("Untagged: %s\n", fam);
                if (r < 0 || img->n_tags > 1)
                        goto out;
        } else if (img->n_tags > 1 && !force) {
                r = err_new(e, 0,
                            "conflict: unable to delete %.12s (must be forced) - image is "
                            "referenced in multiple repositories",
                            digest_hex(img->id));
                goto out;
        }
        for (size_t k = 0; k < img->n_tags && !norm; k++) {
                _cleanup_free_ char *fam = ref_familiar(img->repo_tags[k]);
                if ((r = store_untag(s, img->repo_tags[k], e)) < 0)
                        goto out;
                printf("Untagged: %s\n", fam);
        }
        for (size_t k = 0; k < img->n_digests; k++) {
                _cleanup_free_ char *fam = ref_familiar(img->repo_digests[k]);
                if ((r = store_untag(s, img->repo_digests[k], e)) < 0)
                        goto out;
                printf("Untagged: %s\n", fam);
        }
        if ((r = store_image_remove(s, img->id, e)) == 0) {
                printf("Deleted: %s\n", img->id);
                if (freed)
                        *freed += img->size;
        }
out:
        store_image_free(img);
        return r;
}

struct rmi_args {
        int force, all;
};

static int rmi_opt(void *data, int opt, const char *arg)
{
        struct rmi_args *a = data;
        if (opt == 'f')
                a->force = 1;
        else if (opt == 'a')
                a->all = 1;
        return 0;
}

int cmd_rmi(struct cli *c)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"no-prune", no_argument, NULL, 'N'},
                                             {NULL, 0, NULL, 0}};
        struct rmi_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "f", opts, rmi_opt, &a);
        if (i < 0)
                return 125;
        if (i >= c->argc)
                return cli_usage(c->argv[0], "at least one image is required");
        struct store *s;
        if (cli_store(c, &s, &e) < 0)
                return cli_fail(&e);
        int rc = 0;
        for (; i < c->argc; i++)
                if (remove_one(s, c->argv[i], a.force, NULL, &e) < 0)
                        rc = cli_fail(&e);
        return rc;
}

static int cmd_prune(struct cli *c)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"filter", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct rmi_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "af", opts, rmi_opt, &a);
        if (i < 0)
                return 125;
        if (i < c->argc)
                return cli_usage("image prune", "unexpected argument %s", c->argv[i]);
        struct store *s;
        struct store_image **imgs = NULL;
        size_t n = 0;
        if (cli_store(c, &s, &e) < 0 || store_image_list(s, &imgs, &n, &e) < 0)
                return cli_fail(&e);
        /* no containers exist yet: -a removes every image, else dangling ones */
        int64_t freed = 0;
        int rc = 0, header = 0;
        for (size_t k = 0; k < n; k++) {
                if ((a.all || imgs[k]->n_tags == 0) && !header) {
                        printf("Deleted Images:\n");
                        header = 1;
                }
                if ((a.all || imgs[k]->n_tags == 0) &&
                    remove_one(s, imgs[k]->id, 1, &freed, &e) < 0)
                        rc = cli_fail(&e);
                store_image_free(imgs[k]);
        }
        free(imgs);
        char size[16];
        human_size(freed, size, sizeof(size));
        printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", size);
        return rc;
}

int cmd_image(struct cli *c)
{
        static const struct {
                const char *name;
                int (*fn)(struct cli *);
        } sub[] = {
            {"inspect", cmd_inspect}, {"ls", cmd_images},  {"list", cmd_images},
            {"rm", cmd_rmi},          {"remove", cmd_rmi}, {"prune", cmd_prune},
            {"pull", cmd_pull},       {"push", cmd_push},  {"tag", cmd_tag},
            {"history", cmd_history}, {"save", cmd_save},  {"load", cmd_load},
            {"import", cmd_import},
        };
        if (c->argc < 2)
                return cli_usage("image", "a subcommand is required");
        for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
                if (strcmp(c->argv[1], sub[i].name))
                        continue;
                c->argv++;
                c->argc--;
                return sub[i].fn(c);
        }
        return cli_usage("image", "unknown subcommand %s", c->argv[1]);
}

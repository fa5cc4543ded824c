/*
 * images: the image commands over the Engine API: pull, push, images,
 * image inspect, history, tag, rmi, image prune, and the `image` group.
 * Pull and push render the daemon's JSON progress stream as docker does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "../registry/reference.h"
#include "cli.h"
#include "progress.h"

static int flag_quiet(void *data, int opt, const char *arg)
{
        if (opt == 'q')
                *(int *)data = 1;
        return 0;
}

/* ---- the JSON progress stream (pull, push, load, import) ---- */

struct jm {
        struct progress p;
        int quiet;
        FILE *out;
        struct err *e; /* an {"error"} message in the stream */
};

static void jm_line(struct jm *m, const char *text)
{
        if (m->quiet)
                return;
        progress_done(&m->p);
        /* plain lines go below the layer lines: redraws start afresh under them */
        m->p.drawn = 0;
        m->p.n = 0;
        fprintf(m->out, "%s\n", text);
        fflush(m->out);
}

static int jm_message(void *ctx, json_t *o)
{
        struct jm *m = ctx;
        const char *error = json_string_value(json_object_get(o, "error"));
        if (error) {
                err_new(&m->e, 0, "%s", error);
                return -1;
        }
        const char *status = json_string_value(json_object_get(o, "status"));
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *stream = json_string_value(json_object_get(o, "stream"));
        if (stream && !m->quiet) {
                fputs(stream, m->out);
                fflush(m->out);
        }
        if (status == NULL)
                return 0;
        if (id == NULL || str_has_prefix(status, "Pulling from")) {
                _cleanup_free_ char *line = id ? xasprintf("%s: %s", id, status) : xstrdup(status);
                jm_line(m, line);
                return 0;
        }
        json_t *pd = json_object_get(o, "progressDetail");
        progress_update(&m->p, id, status, json_integer_value(json_object_get(pd, "current")),
                        json_integer_value(json_object_get(pd, "total")));
        return 0;
}

/* Run a progress stream; a stream error becomes *e. */
static int jm_run(struct client *cl, const char *method, const char *path,
                  const char *const *headers, FILE *out, struct err **e)
{
        struct jm m = {.quiet = out == NULL, .out = out};
        progress_init(&m.p, out == NULL);
        if (out) {
                m.p.out = out;
                m.p.tty = isatty(fileno(out));
        }
        int r = client_stream_json(cl, method, path, headers, NULL, jm_message, &m, e);
        progress_done(&m.p);
        if (m.e) {
                err_free(e);
                *e = m.e;
                r = -1;
        }
        return r;
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

int image_pull(struct cli *c, const char *image, const char *platform, FILE *out, struct err **e)
{
        struct image_ref *ref = NULL;
        struct client *cl;
        if (cli_client(c, &cl, e) < 0 || ref_parse(image, &ref, e) < 0)
                return -1;
        _cleanup_free_ char *name = ref_name(ref);
        _cleanup_free_ char *fam = ref_familiar(name);
        _cleanup_free_ char *norm = ref_string(ref);
        const char *tag = ref->digest ? ref->digest : ref->tag;
        _cleanup_free_ char *path =
            platform
                ? client_path("/images/create?fromImage=%s&tag=%s&platform=%s", fam, tag, platform)
                : client_path("/images/create?fromImage=%s&tag=%s", fam, tag);
        ref_free(ref);
        _cleanup_free_ char *auth = client_registry_auth(image, e);
        if (auth == NULL)
                return -1;
        _cleanup_free_ char *hdr = xasprintf("X-Registry-Auth: %s", auth);
        const char *headers[] = {hdr, NULL};
        return jm_run(cl, "POST", path, headers, out, e);
}

int cmd_pull(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"platform", required_argument, NULL, 'P'},
                                             {"all-tags", no_argument, NULL, 'a'},
                                             {NULL, 0, NULL, 0}};
        struct pull_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "qa", opts, pull_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("pull", "exactly one image reference is required");
        struct image_ref *ref = NULL;
        if (ref_parse(c->argv[i], &ref, &e) < 0)
                return cli_fail(&e);
        _cleanup_free_ char *norm = ref_string(ref);
        const char *last = strrchr(c->argv[i], '/') ? strrchr(c->argv[i], '/') : c->argv[i];
        int tagless = !strchr(last, ':') && !strchr(last, '@');
        ref_free(ref);
        if (tagless && !a.quiet)
                printf("Using default tag: latest\n");
        if (image_pull(c, c->argv[i], a.platform, a.quiet ? NULL : stdout, &e) < 0)
                return cli_fail_daemon(&e);
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
        struct image_ref *ref = NULL;
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0 || ref_parse(c->argv[i], &ref, &e) < 0)
                return cli_fail_daemon(&e);
        _cleanup_free_ char *name = ref_name(ref);
        _cleanup_free_ char *fam = ref_familiar(name);
        _cleanup_free_ char *path =
            client_path("/images/%s/push?tag=%s", fam, ref->tag ? ref->tag : "latest");
        ref_free(ref);
        _cleanup_free_ char *auth = client_registry_auth(c->argv[i], &e);
        if (auth == NULL)
                return cli_fail(&e);
        _cleanup_free_ char *hdr = xasprintf("X-Registry-Auth: %s", auth);
        const char *headers[] = {hdr, NULL};
        if (jm_run(cl, "POST", path, headers, quiet ? NULL : stdout, &e) < 0)
                return cli_fail_daemon(&e);
        return 0;
}

/* ---- images ---- */

struct images_args {
        int quiet, digests, all, no_trunc;
        const char *format;
        json_t *filters; /* {"key":["value",...]} */
};

/* "k=v" into the filters JSON docker sends */
int cli_filter_add(json_t *filters, const char *kv, struct err **e)
{
        const char *eq = strchr(kv, '=');
        if (eq == NULL || eq == kv)
                return err_new(e, 0, "bad format of filter (expected name=value): %s", kv);
        _cleanup_free_ char *key = xstrndup(kv, (size_t)(eq - kv));
        json_t *arr = json_object_get(filters, key);
        if (arr == NULL) {
                arr = json_array();
                json_object_set_new(filters, key, arr);
        }
        json_array_append_new(arr, json_string(eq + 1));
        return 0;
}

static int images_opt(void *data, int opt, const char *arg)
{
        struct images_args *a = data;
        struct err *e = NULL;
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
        case 'F':
                a->format = arg;
                break;
        case 'f':
                if (cli_filter_add(a->filters, arg, &e) < 0)
                        return cli_fail(&e), -1;
                break;
        }
        return 0;
}

const char *short_id(const char *id, char buf[16])
{
        const char *hex = id && str_has_prefix(id, "sha256:") ? id + 7 : id ? id : "";
        snprintf(buf, 16, "%.12s", hex);
        return buf;
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

static const char *digest_for(json_t *img, const char *repo)
{
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(img, "RepoDigests"), k, v)
        {
                const char *rd = json_string_value(v);
                const char *at = rd ? strchr(rd, '@') : NULL;
                if (at && (size_t)(at - rd) == strlen(repo) && !strncmp(rd, repo, strlen(repo)))
                        return at + 1;
        }
        return "<none>";
}

static int images_row(struct images_args *a, struct fmt *f, json_t *img, const char *repo,
                      const char *tag, struct err **e)
{
        char idbuf[16], size[16], ago[48];
        const char *full = json_string_value(json_object_get(img, "Id")) ?: "";
        const char *id = a->no_trunc ? full : short_id(full, idbuf);
        human_size(json_integer_value(json_object_get(img, "Size")), size, sizeof(size));
        human_ago(json_integer_value(json_object_get(img, "Created")), ago, sizeof(ago));
        const char *digest = digest_for(img, repo);
        if (a->format) {
                json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", id, "Repository", repo,
                                      "Tag", tag, "Digest", digest, "CreatedSince", ago, "Size",
                                      size, "CreatedAt", "");
                int r = fmt_row(f, o, e);
                json_decref(o);
                return r;
        }
        if (a->quiet)
                table_add(&f->t, "%s", id);
        else if (a->digests)
                table_add(&f->t, "%s\t%s\t%s\t%s\t%s\t%s", repo, tag, digest, id, ago, size);
        else
                table_add(&f->t, "%s\t%s\t%s\t%s\t%s", repo, tag, id, ago, size);
        return 0;
}

int cmd_images(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"digests", no_argument, NULL, 'D'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct images_args a = {.filters = json_object()};
        struct err *e = NULL;
        int i = cli_parse(c, "qaf:", opts, images_opt, &a);
        if (i < 0) {
                json_decref(a.filters);
                return 125;
        }
        if (i + 1 == c->argc) {
                _cleanup_free_ char *kv = xasprintf("reference=%s", c->argv[i]);
                cli_filter_add(a.filters, kv, NULL);
        } else if (i < c->argc) {
                json_decref(a.filters);
                return cli_usage("images", "too many arguments");
        }
        _cleanup_free_ char *ftext = json_dumps(a.filters, JSON_COMPACT);
        json_decref(a.filters);
        _cleanup_free_ char *path =
            client_path("/images/json?all=%s&filters=%s", a.all ? "1" : "0", ftext);
        struct client *cl;
        json_t *list = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &list, &e) < 0)
                return cli_fail_daemon(&e);
        static const char *const heads[] = {"ID",           "IMAGE ID", "Repository", "REPOSITORY",
                                            "Tag",          "TAG",      "Digest",     "DIGEST",
                                            "CreatedSince", "CREATED",  "CreatedAt",  "CREATED AT",
                                            "Size",         "SIZE",     NULL};
        struct fmt f = {0};
        if (a.format && fmt_begin(&f, a.format, heads, &e) < 0) {
                json_decref(list);
                return cli_fail(&e);
        }
        if (!a.quiet && !a.format) {
                if (a.digests)
                        table_add(&f.t, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE");
                else
                        table_add(&f.t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
        }
        size_t k, t;
        json_t *img, *v;
        int rc = 0;
        json_array_foreach(list, k, img)
        {
                json_t *tags = json_object_get(img, "RepoTags");
                int shown = 0;
                json_array_foreach(tags, t, v)
                {
                        const char *rt = json_string_value(v);
                        if (rt == NULL || !strcmp(rt, "<none>:<none>"))
                                continue;
                        char repo[512];
                        const char *tag;
                        split_tag(rt, repo, sizeof(repo), &tag);
                        if (images_row(&a, &f, img, repo, tag, &e) < 0)
                                rc = cli_fail(&e);
                        shown = 1;
                }
                /* pulled by digest only: the repository, with no tag (as docker) */
                json_array_foreach(json_object_get(img, "RepoDigests"), t, v)
                {
                        if (shown)
                                break;
                        const char *rd = json_string_value(v);
                        if (rd == NULL || !strchr(rd, '@') || !strncmp(rd, "<none>", 6))
                                continue;
                        _cleanup_free_ char *repo = xstrndup(rd, (size_t)(strchr(rd, '@') - rd));
                        if (images_row(&a, &f, img, repo, "<none>", &e) < 0)
                                rc = cli_fail(&e);
                        shown = 1;
                }
                if (!shown && images_row(&a, &f, img, "<none>", "<none>", &e) < 0)
                        rc = cli_fail(&e);
        }
        json_decref(list);
        if (a.format)
                fmt_end(&f);
        else
                table_flush(&f.t);
        return rc;
}

/* ---- inspect / history ---- */

static int format_opt(void *data, int opt, const char *arg)
{
        if (opt == 'f')
                *(const char **)data = arg;
        return 0;
}

/* Print inspect objects: an indented JSON array, or one --format line each. */
int print_inspect(json_t *out, const char *format, struct err **e)
{
        if (format == NULL) {
                json_dumpf(out, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
                putchar('\n');
                return 0;
        }
        struct fmt f;
        if (fmt_begin(&f, format, NULL, e) < 0)
                return -1;
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o) if (fmt_row(&f, o, e) < 0)
        {
                fmt_end(&f);
                return -1;
        }
        fmt_end(&f);
        return 0;
}

int cmd_image_inspect(struct cli *c)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
        const char *format = NULL;
        struct err *e = NULL;
        int i = cli_parse(c, "f:", opts, format_opt, &format);
        if (i < 0)
                return 125;
        if (i >= c->argc)
                return cli_usage(c->argv[0], "at least one image is required");
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *out = json_array();
        int rc = 0;
        for (; i < c->argc; i++) {
                _cleanup_free_ char *path = client_path("/images/%s/json", c->argv[i]);
                json_t *o = NULL;
                if (client_json(cl, "GET", path, NULL, NULL, NULL, &o, &e) < 0) {
                        rc = cli_fail_daemon(&e);
                        continue;
                }
                json_array_append_new(out, o);
        }
        if ((json_array_size(out) || !format) && print_inspect(out, format, &e) < 0)
                rc = cli_fail(&e);
        json_decref(out);
        return rc;
}

struct history_args {
        int quiet, no_trunc, human;
        const char *format;
};

static int history_opt(void *data, int opt, const char *arg)
{
        struct history_args *a = data;
        if (opt == 'q')
                a->quiet = 1;
        else if (opt == 'T')
                a->no_trunc = 1;
        else if (opt == 'H')
                a->human = !arg || strcmp(arg, "false");
        else if (opt == 'F')
                a->format = arg;
        return 0;
}

int cmd_history(struct cli *c)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"human", optional_argument, NULL, 'H'},
                                             {"format", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct history_args a = {.human = 1};
        struct err *e = NULL;
        int i = cli_parse(c, "qH", opts, history_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("history", "exactly one image is required");
        struct client *cl;
        json_t *list = NULL;
        _cleanup_free_ char *path = client_path("/images/%s/history", c->argv[i]);
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "GET", path, NULL, NULL, NULL, &list, &e) < 0)
                return cli_fail_daemon(&e);
        static const char *const heads[] = {
            "ID",   "IMAGE", "CreatedSince", "CREATED", "CreatedBy", "CREATED BY",
            "Size", "SIZE",  "Comment",      "COMMENT", NULL};
        struct fmt f = {0};
        if (a.format && fmt_begin(&f, a.format, heads, &e) < 0) {
                json_decref(list);
                return cli_fail(&e);
        }
        if (!a.quiet && !a.format)
                table_add(&f.t, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT");
        size_t k;
        json_t *h;
        int rc = 0;
        json_array_foreach(list, k, h)
        {
                const char *hid = json_string_value(json_object_get(h, "Id")) ?: "<missing>";
                char idbuf[16], ago[48], size[16];
                const char *id =
                    !strcmp(hid, "<missing>") || a.no_trunc ? hid : short_id(hid, idbuf);
                if (a.quiet) {
                        table_add(&f.t, "%s", id);
                        continue;
                }
                int64_t created = json_integer_value(json_object_get(h, "Created"));
                int64_t sz = json_integer_value(json_object_get(h, "Size"));
                if (a.human) {
                        human_ago(created, ago, sizeof(ago));
                        human_size(sz, size, sizeof(size));
                } else {
                        struct tm tm;
                        time_t tt = (time_t)created;
                        strftime(ago, sizeof(ago), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
                        snprintf(size, sizeof(size), "%lld", (long long)sz);
                }
                const char *by = json_string_value(json_object_get(h, "CreatedBy")) ?: "";
                _cleanup_free_ char *shown = xstrdup(by);
                /* tabs and newlines would break the table */
                for (char *p = shown; *p; p++)
                        if (*p == '\t' || *p == '\n')
                                *p = ' ';
                if (!a.no_trunc && strlen(shown) > 45)
                        strcpy(shown + 44, "…");
                const char *comment = json_string_value(json_object_get(h, "Comment")) ?: "";
                if (a.format) {
                        json_t *o =
                            json_pack("{s:s,s:s,s:s,s:s,s:s}", "ID", id, "CreatedSince", ago,
                                      "CreatedBy", shown, "Size", size, "Comment", comment);
                        if (fmt_row(&f, o, &e) < 0)
                                rc = cli_fail(&e);
                        json_decref(o);
                        continue;
                }
                table_add(&f.t, "%s\t%s\t%s\t%s\t%s", id, ago, shown, size, comment);
        }
        json_decref(list);
        if (a.format)
                fmt_end(&f);
        else
                table_flush(&f.t);
        return rc;
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
        struct image_ref *dst = NULL;
        if (ref_parse(c->argv[i + 1], &dst, &e) < 0)
                return cli_fail(&e);
        if (dst->tag == NULL || dst->digest) {
                ref_free(dst);
                err_new(&e, 0, "tag %s: a target with a digest is not allowed", c->argv[i + 1]);
                return cli_fail(&e);
        }
        _cleanup_free_ char *name = ref_name(dst);
        _cleanup_free_ char *fam = ref_familiar(name);
        _cleanup_free_ char *path =
            client_path("/images/%s/tag?repo=%s&tag=%s", c->argv[i], fam, dst->tag);
        ref_free(dst);
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "POST", path, NULL, NULL, NULL, NULL, &e) < 0)
                return cli_fail_daemon(&e);
        return 0;
}

/* ---- rmi / prune ---- */

static void print_deleted(json_t *list)
{
        size_t k;
        json_t *v;
        json_array_foreach(list, k, v)
        {
                const char *u = json_string_value(json_object_get(v, "Untagged"));
                const char *d = json_string_value(json_object_get(v, "Deleted"));
                if (u)
                        printf("Untagged: %s\n", u);
                if (d)
                        printf("Deleted: %s\n", d);
        }
}

struct rmi_args {
        int force, all, no_prune;
        json_t *filters;
};

static int rmi_opt(void *data, int opt, const char *arg)
{
        struct rmi_args *a = data;
        struct err *e = NULL;
        if (opt == 'f')
                a->force = 1;
        else if (opt == 'a')
                a->all = 1;
        else if (opt == 'N')
                a->no_prune = 1;
        else if (opt == 'F' && cli_filter_add(a->filters, arg, &e) < 0)
                return cli_fail(&e), -1;
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
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int rc = 0;
        for (; i < c->argc; i++) {
                _cleanup_free_ char *path =
                    client_path("/images/%s?force=%s&noprune=%s", c->argv[i], a.force ? "1" : "0",
                                a.no_prune ? "1" : "0");
                json_t *list = NULL;
                if (client_json(cl, "DELETE", path, NULL, NULL, NULL, &list, &e) < 0) {
                        rc = cli_fail_daemon(&e);
                        continue;
                }
                print_deleted(list);
                json_decref(list);
        }
        return rc;
}

static int cmd_prune(struct cli *c)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"filter", required_argument, NULL, 'F'},
                                             {NULL, 0, NULL, 0}};
        struct rmi_args a = {.filters = json_object()};
        struct err *e = NULL;
        int i = cli_parse(c, "af", opts, rmi_opt, &a);
        if (i < 0 || i < c->argc) {
                json_decref(a.filters);
                return i < 0 ? 125 : cli_usage("image prune", "unexpected argument %s", c->argv[i]);
        }
        if (!a.force && !cli_confirm(a.all ? "WARNING! This will remove all images without at "
                                             "least one container associated to them."
                                           : "WARNING! This will remove all dangling images.")) {
                json_decref(a.filters);
                return 0;
        }
        if (a.all)
                cli_filter_add(a.filters, "dangling=false", NULL);
        _cleanup_free_ char *ftext = json_dumps(a.filters, JSON_COMPACT);
        json_decref(a.filters);
        _cleanup_free_ char *path = client_path("/images/prune?filters=%s", ftext);
        struct client *cl;
        json_t *res = NULL;
        if (cli_client(c, &cl, &e) < 0 ||
            client_json(cl, "POST", path, NULL, NULL, NULL, &res, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *del = json_object_get(res, "ImagesDeleted");
        if (json_array_size(del)) {
                printf("Deleted Images:\n");
                print_deleted(del);
                printf("\n");
        }
        char size[16];
        human_size(json_integer_value(json_object_get(res, "SpaceReclaimed")), size, sizeof(size));
        printf("Total reclaimed space: %s\n", size);
        json_decref(res);
        return 0;
}

static int cmd_image(struct cli *c)
{
        static const struct cli_command sub[] = {
            {"inspect", cmd_image_inspect, NULL},
            {"ls", cmd_images, NULL},
            {"list", cmd_images, NULL},
            {"rm", cmd_rmi, NULL},
            {"remove", cmd_rmi, NULL},
            {"prune", cmd_prune, NULL},
            {"pull", cmd_pull, NULL},
            {"push", cmd_push, NULL},
            {"tag", cmd_tag, NULL},
            {"history", cmd_history, NULL},
            {"save", cmd_save, NULL},
            {"load", cmd_load, NULL},
            {"import", cmd_import, NULL},
            {NULL, NULL, NULL},
        };
        return cli_subcommand(c, "image", sub);
}

const struct cli_command image_commands[] = {
    {"pull", cmd_pull, "Download an image from a registry"},
    {"push", cmd_push, "Upload an image to a registry"},
    {"images", cmd_images, "List images"},
    {"image", cmd_image, "Manage images (inspect, ls, rm, prune, tag, history, ...)"},
    {"history", cmd_history, "Show an image's history"},
    {"tag", cmd_tag, "Give an image another name"},
    {"rmi", cmd_rmi, "Remove images"},
    {"save", cmd_save, "Write images to a tar archive"},
    {"load", cmd_load, "Read images from a tar archive"},
    {"import", cmd_import, "Make an image from a root filesystem tarball"},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out of a registry"},
    {NULL, NULL, NULL},
};

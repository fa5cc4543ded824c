/*
 * api/images_io: the image routes that move data: pull and import (POST
 * /images/create), push, load and save.  Each opens a store handle of its
 * own (store_open on the engine's root) so a long transfer does not hold
 * the engine's store lock; the store keeps half-done work invisible, so a
 * client that goes away (or a killed barged) leaves no half image.
 *
 * Progress goes out as dockerd's JSON message stream, one object per line:
 * {"status", "progressDetail": {"current", "total"}, "id"}, and an error
 * after the 200 went out as {"errorDetail": {"message"}, "error"}.  A pull
 * holds the status line back until the registry has resolved the image,
 * so that a missing repository or tag still gets a plain 404 as with
 * dockerd.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/reference.h"
#include "../store/imageio.h"
#include "api.h"
#include "images_int.h"

/* guards the store's unreferenced-but-fresh work against prune's gc */
static pthread_rwlock_t transfer_lock = PTHREAD_RWLOCK_INITIALIZER;

void img_transfer_begin(void)
{
        pthread_rwlock_rdlock(&transfer_lock);
}

void img_transfer_end(void)
{
        pthread_rwlock_unlock(&transfer_lock);
}

int img_gc_trylock(void)
{
        return pthread_rwlock_trywrlock(&transfer_lock) == 0;
}

void img_gc_unlock(void)
{
        pthread_rwlock_unlock(&transfer_lock);
}

static int stream_error(struct http_req *r, const char *msg)
{
        json_t *o = json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg);
        int rc = http_stream_json(r, o);
        json_decref(o);
        return rc;
}

static int stream_status(struct http_req *r, const char *status, const char *id)
{
        json_t *o = json_pack("{s:s}", "status", status);
        if (id)
                json_object_set_new(o, "id", json_string(id));
        int rc = http_stream_json(r, o);
        json_decref(o);
        return rc;
}

static int open_store(struct http_req *r, struct store **s, struct err **e)
{
        if (store_open(engine_root(api_engine(r)), s, e) < 0)
                return err_wrap(e, "open the image store");
        return 0;
}

/* ---- X-Registry-Auth ---- */

struct creds {
        char *user, *pass;
};

static void creds_clear(struct creds *c)
{
        if (c->pass)
                explicit_bzero(c->pass, strlen(c->pass));
        free(c->user);
        free(c->pass);
        c->user = c->pass = NULL;
}

/* base64url (or plain base64, padded or not) JSON: {username, password,
 * serveraddress} or {identitytoken}.  An identity token (an OAuth refresh
 * token) is not something the registry client can use: it is ignored, and
 * the pull goes on with the daemon's own credentials. */
static int parse_registry_auth(const char *hdr, struct creds *c, struct err **e)
{
        if (hdr == NULL || *hdr == '\0')
                return 0;
        size_t n = strlen(hdr);
        _cleanup_free_ char *b64 = xmalloc(n + 4);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char ch = hdr[i];
                if (ch == '=')
                        break;
                b64[k++] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
        }
        while (k % 4)
                b64[k++] = '=';
        b64[k] = '\0';
        _cleanup_free_ unsigned char *raw = xmalloc(k / 4 * 3 + 1);
        int len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)k);
        if (len < 0)
                return img_err(e, EINVAL, "invalid X-Registry-Auth header: not base64");
        raw[len] = '\0';
        json_t *doc = json_loads((const char *)raw, JSON_DISABLE_EOF_CHECK, NULL);
        explicit_bzero(raw, (size_t)len);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return img_err(e, EINVAL, "invalid X-Registry-Auth header: not a JSON object");
        }
        const char *u = json_string_value(json_object_get(doc, "username"));
        const char *p = json_string_value(json_object_get(doc, "password"));
        if (u && *u) {
                c->user = xstrdup(u);
                c->pass = xstrdup(p ? p : "");
        }
        json_decref(doc);
        return 0;
}

/* ---- POST /images/create?fromImage: pull ---- */

struct pull_ctx {
        struct http_req *r;
        const char *tag;  /* "latest" or the digest: the first line's id */
        const char *path; /* "library/busybox" */
        int started;
        int cancel; /* set when the client is gone: the pull stops */
};

static int pull_begin(struct pull_ctx *p)
{
        if (p->started)
                return 0;
        p->started = 1;
        if (http_stream_begin(p->r, 200, "application/json") < 0)
                return -1;
        _cleanup_free_ char *line = xasprintf("Pulling from %s", p->path);
        return stream_status(p->r, line, p->tag);
}

static void pull_progress(void *ctx, const char *id, const char *status, int64_t cur, int64_t total)
{
        struct pull_ctx *p = ctx;
        if (__atomic_load_n(&p->cancel, __ATOMIC_RELAXED))
                return;
        json_t *detail = json_object();
        if (!strcmp(status, "Downloading") || !strcmp(status, "Extracting") ||
            !strcmp(status, "Pushing"))
                json_object_set_new(detail, "current", json_integer(cur));
        if (json_object_size(detail) && total > 0)
                json_object_set_new(detail, "total", json_integer(total));
        json_t *o =
            json_pack("{s:s,s:o,s:s}", "status", status, "progressDetail", detail, "id", id);
        if (pull_begin(p) < 0 || http_stream_json(p->r, o) < 0)
                __atomic_store_n(&p->cancel, 1, __ATOMIC_RELAXED);
        json_decref(o);
}

/* fromImage plus ?tag (a tag or a digest, replacing one in fromImage) */
static int pull_ref(const char *from, const char *tag, struct image_ref **ref, struct err **e)
{
        _cleanup_free_ char *spec = NULL;
        if (tag && *tag) {
                if (ref_parse(from, ref, e) < 0)
                        goto bad;
                _cleanup_free_ char *name = ref_name(*ref);
                ref_free(TAKE_PTR(*ref));
                spec = xasprintf("%s%c%s", name, strchr(tag, ':') ? '@' : ':', tag);
        } else {
                spec = xstrdup(from);
        }
        if (ref_parse(spec, ref, e) == 0)
                return 0;
bad:
        if (e && *e)
                (*e)->code = EINVAL;
        return -1;
}

static void do_pull(struct http_req *r, const char *from, const char *tag)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        struct image_ref *ref = NULL;
        if (pull_ref(from, tag, &ref, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        _cleanup_free_ char *norm = ref_string(ref);
        _cleanup_free_ char *fam = ref_familiar(norm);
        struct creds cr = {0};
        if (parse_registry_auth(http_header(r, "X-Registry-Auth"), &cr, &e) < 0) {
                ref_free(ref);
                http_reply_err(r, e);
                return;
        }
        struct pull_ctx p = {.r = r, .tag = ref->tag ? ref->tag : ref->digest, .path = ref->path};
        struct registry_opts o = *engine_registry_opts(eng);
        const char *platform = http_query(r, "platform");
        if (platform && *platform)
                o.platform = platform;
        o.progress = pull_progress;
        o.progress_ctx = &p;
        o.cancel = &p.cancel;
        o.username = cr.user;
        o.password = cr.pass;

        struct store *s = NULL;
        char id[DIGEST_LEN + 1], before[DIGEST_LEN + 1] = "";
        int rc = open_store(r, &s, &e);
        if (rc == 0) {
                struct store_image *old = NULL;
                if (store_image_get(s, norm, &old, NULL) == 0)
                        snprintf(before, sizeof(before), "%s", old->id);
                store_image_free(old);
                img_transfer_begin();
                rc = registry_pull(s, norm, &o, id, &e);
                img_transfer_end();
        }
        creds_clear(&cr);
        if (rc < 0) {
                if (p.cancel)
                        log_info("pull %s: the client went away; stopped", norm);
                else if (p.started)
                        stream_error(r, e->msg);
                else
                        http_reply_err(r, e);
                goto out;
        }
        if (pull_begin(&p) == 0) {
                struct store_image *img = NULL;
                if (store_image_get(s, norm, &img, NULL) == 0) {
                        /* the digest of what this reference resolved to */
                        _cleanup_free_ char *name = ref_name(ref);
                        size_t nl = strlen(name);
                        for (size_t k = 0; k < img->n_digests; k++) {
                                const char *rd = img->repo_digests[k];
                                if (strncmp(rd, name, nl) || rd[nl] != '@')
                                        continue;
                                _cleanup_free_ char *line = xasprintf("Digest: %s", rd + nl + 1);
                                stream_status(r, line, NULL);
                        }
                        store_image_free(img);
                }
                _cleanup_free_ char *line = xasprintf(
                    "Status: %s for %s",
                    strcmp(before, id) ? "Downloaded newer image" : "Image is up to date", fam);
                stream_status(r, line, NULL);
        }
        engine_event(eng, "image", "pull", fam, json_pack("{s:s}", "name", fam));
out:
        if (p.started)
                http_stream_end(r);
        if (s)
                store_close(s);
        ref_free(ref);
}

/* ---- request bodies and archives through a socket pair ---- */

/* The store's image I/O reads and writes file descriptors; a thread moves
 * bytes between the HTTP body and one end of a socket pair.  Sockets (not
 * pipes) so a send to a reader that gave up fails with EPIPE, not SIGPIPE. */
struct pump {
        struct http_req *r;
        int fd;
        int gone; /* the client closed before the body ended */
};

static void *body_pump(void *arg)
{
        struct pump *p = arg;
        char buf[64 << 10];
        for (;;) {
                ssize_t n = http_body_read(p->r, buf, sizeof(buf));
                if (n < 0)
                        p->gone = 1;
                if (n <= 0)
                        break;
                const char *c = buf;
                while (n > 0) {
                        ssize_t w = send(p->fd, c, (size_t)n, MSG_NOSIGNAL);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                goto out; /* the reader stopped (bad archive) */
                        c += w;
                        n -= w;
                }
        }
out:
        close(p->fd);
        return NULL;
}

/* Start pumping the request body into a socket; *rfd is the end to read. */
static int body_start(struct http_req *r, struct pump *p, pthread_t *th, int *rfd, struct err **e)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return err_sys(e, "socketpair");
        *p = (struct pump){.r = r, .fd = sv[1]};
        if (pthread_create(th, NULL, body_pump, p) != 0) {
                close(sv[0]);
                close(sv[1]);
                return err_new(e, EAGAIN, "start a thread");
        }
        *rfd = sv[0];
        return 0;
}

static void body_finish(pthread_t th, int rfd)
{
        /* the reader is done: a pump still sending gets EPIPE and ends */
        shutdown(rfd, SHUT_RDWR);
        pthread_join(th, NULL);
        close(rfd);
}

/* ---- POST /images/create?fromSrc=-: import ---- */

/* Take back an import whose body was cut short: the name goes back where
 * it pointed, and the image goes unless something else names it. */
static void undo_import(struct store *s, const char *norm, const char *before, const char *id)
{
        if (norm && *before)
                store_tag(s, norm, before, NULL);
        else if (norm)
                store_untag(s, norm, NULL);
        struct store_image *img = NULL;
        if (store_image_get(s, id, &img, NULL) == 0 && img->n_tags == 0 && img->n_digests == 0)
                store_image_remove(s, id, NULL);
        store_image_free(img);
}

static void do_import(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        const char *repo = http_query(r, "repo"), *tag = http_query(r, "tag");
        /* changes: repeated, each one Dockerfile instruction (the docker
         * CLI sends an empty list as nothing) */
        const char *changes[64];
        size_t nc = http_query_all(r, "changes", changes, ARRAY_SIZE(changes));
        if (nc > ARRAY_SIZE(changes)) {
                http_reply_error(r, 400, "import: at most %zu changes", ARRAY_SIZE(changes));
                return;
        }
        size_t kept = 0;
        for (size_t i = 0; i < nc; i++)
                if (*changes[i] && strcmp(changes[i], "[]"))
                        changes[kept++] = changes[i];
        struct import_opts io = {
            .changes = changes, .n_changes = kept, .message = http_query(r, "message")};
        /* a bad change is refused before the body is read */
        json_t *probe = json_object();
        for (size_t i = 0; i < kept && !e; i++)
                image_config_change(probe, changes[i], &e);
        json_decref(probe);
        if (e) {
                http_reply_err(r, e);
                return;
        }
        _cleanup_free_ char *norm = NULL;
        if (repo && *repo) {
                _cleanup_free_ char *spec =
                    tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
                norm = img_normalize(spec);
                if (norm == NULL) {
                        http_reply_error(r, 400, "invalid reference format: %s", spec);
                        return;
                }
        }
        struct store *s = NULL;
        struct pump p;
        pthread_t th;
        int rfd = -1;
        char id[DIGEST_LEN + 1];
        if (open_store(r, &s, &e) < 0 || body_start(r, &p, &th, &rfd, &e) < 0) {
                if (s)
                        store_close(s);
                http_reply_err(r, e);
                return;
        }
        char before[DIGEST_LEN + 1] = ""; /* what the name pointed at */
        struct store_image *old = NULL;
        if (norm && store_image_get(s, norm, &old, NULL) == 0)
                snprintf(before, sizeof(before), "%s", old->id);
        store_image_free(old);
        img_transfer_begin();
        int rc = image_import_opts(s, rfd, norm, &io, id, &e);
        img_transfer_end();
        body_finish(th, rfd);
        if (rc == 0 && p.gone) {
                /* a tar cut at an entry boundary reads as a whole (shorter) one */
                undo_import(s, norm, before, id);
                rc = img_err(&e, EPIPE, "import: the client went away before the end of the tar");
        }
        store_close(s);
        if (rc < 0) {
                if (e->code == 0)
                        e->code = EINVAL; /* a bad tarball is the client's */
                http_reply_err(r, e);
                return;
        }
        _cleanup_free_ char *fam = norm ? ref_familiar(norm) : NULL;
        json_t *attrs = fam ? json_pack("{s:s}", "name", fam) : NULL;
        engine_event(eng, "image", "import", id, attrs);
        if (http_stream_begin(r, 200, "application/json") == 0) {
                stream_status(r, id, NULL);
                http_stream_end(r);
        }
}

void img_create(struct http_req *r)
{
        const char *from = http_query(r, "fromImage"), *src = http_query(r, "fromSrc");
        if (src && *src) {
                if (strcmp(src, "-"))
                        http_reply_error(r, 400,
                                         "importing from a URL (fromSrc=%s) is not supported; "
                                         "send the tarball as the body with fromSrc=-",
                                         src);
                else
                        do_import(r);
                return;
        }
        if (from == NULL || *from == '\0') {
                http_reply_error(r, 400, "fromImage or fromSrc is required");
                return;
        }
        do_pull(r, from, http_query(r, "tag"));
}

/* ---- POST /images/{name}/push ---- */

struct push_ctx {
        struct http_req *r;
        int gone;
        char config[16]; /* short id of the image's config blob */
};

static void push_progress(void *ctx, const char *id, const char *status, int64_t cur, int64_t total)
{
        struct push_ctx *p = ctx;
        /* dockerd pushes the config blob without a progress line: the
         * lines are the layers (docker push shows one row per layer) */
        if (p->gone || !strcmp(id, p->config))
                return;
        json_t *detail = json_object();
        if (!strcmp(status, "Pushing")) {
                json_object_set_new(detail, "current", json_integer(cur));
                if (total > 0)
                        json_object_set_new(detail, "total", json_integer(total));
        }
        json_t *o =
            json_pack("{s:s,s:o,s:s}", "status", status, "progressDetail", detail, "id", id);
        if (http_stream_json(p->r, o) < 0)
                p->gone = 1;
        json_decref(o);
}

void img_push(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        const char *tag = http_query(r, "tag");
        _cleanup_free_ char *spec = tag && *tag ? xasprintf("%s:%s", http_param(r, "name"), tag)
                                                : xstrdup(http_param(r, "name"));
        struct image_ref *ref = NULL;
        if (ref_parse(spec, &ref, &e) < 0) {
                e->code = EINVAL;
                http_reply_err(r, e);
                return;
        }
        _cleanup_free_ char *norm = ref_string(ref);
        _cleanup_free_ char *name = ref_name(ref);
        _cleanup_free_ char *shown_tag = xstrdup(ref->tag ? ref->tag : "latest");
        ref_free(ref);
        _cleanup_free_ char *fam = ref_familiar(norm);
        struct creds cr = {0};
        if (parse_registry_auth(http_header(r, "X-Registry-Auth"), &cr, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        struct store *s = NULL;
        struct store_image *img = NULL;
        if (open_store(r, &s, &e) < 0) {
                creds_clear(&cr);
                http_reply_err(r, e);
                return;
        }
        if (store_image_get(s, norm, &img, NULL) < 0) {
                creds_clear(&cr);
                store_close(s);
                http_reply_error(r, 404, "An image does not exist locally with the tag: %s", fam);
                return;
        }
        struct push_ctx p = {.r = r};
        snprintf(p.config, sizeof(p.config), "%.12s",
                 str_has_prefix(img->id, "sha256:") ? img->id + 7 : img->id);
        store_image_free(TAKE_PTR(img));
        struct registry_opts o = *engine_registry_opts(eng);
        o.progress = push_progress;
        o.progress_ctx = &p;
        o.username = cr.user;
        o.password = cr.pass;
        if (http_stream_begin(r, 200, "application/json") < 0) {
                creds_clear(&cr);
                store_close(s);
                return;
        }
        _cleanup_free_ char *head = xasprintf("The push refers to repository [%s]", name);
        stream_status(r, head, NULL);
        int rc = registry_push(s, norm, &o, &e);
        creds_clear(&cr);
        if (rc < 0) {
                stream_error(r, e->msg);
        } else {
                /* the push recorded name@digest: report it as dockerd does */
                size_t nl = strlen(name);
                if (store_image_get(s, norm, &img, NULL) == 0) {
                        for (size_t k = 0; k < img->n_digests; k++) {
                                const char *rd = img->repo_digests[k];
                                if (strncmp(rd, name, nl) || rd[nl] != '@')
                                        continue;
                                long long size = (long long)store_blob_size(s, rd + nl + 1);
                                _cleanup_free_ char *line = xasprintf("%s: digest: %s size: %lld",
                                                                      shown_tag, rd + nl + 1, size);
                                stream_status(r, line, NULL);
                                json_t *aux = json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail",
                                                        "aux", "Tag", shown_tag, "Digest",
                                                        rd + nl + 1, "Size", (json_int_t)size);
                                http_stream_json(r, aux);
                                json_decref(aux);
                        }
                        store_image_free(img);
                }
                engine_event(eng, "image", "push", fam, json_pack("{s:s}", "name", fam));
        }
        http_stream_end(r);
        store_close(s);
}

/* ---- POST /images/load ---- */

struct load_ctx {
        struct engine *eng;
        json_t *lines;
};

static void on_loaded(void *ctx, const char *line)
{
        struct load_ctx *l = ctx;
        json_array_append_new(l->lines, json_string(line));
}

/* dockerd's load events: the image id, with the name when there is one */
static void load_events(struct engine *eng, struct store *s, json_t *lines)
{
        size_t i;
        json_t *v;
        json_array_foreach(lines, i, v)
        {
                const char *line = json_string_value(v), *name = NULL;
                if (str_has_prefix(line, "Loaded image ID: "))
                        name = line + strlen("Loaded image ID: ");
                else if (str_has_prefix(line, "Loaded image: "))
                        name = line + strlen("Loaded image: ");
                struct store_image *img = NULL;
                if (name == NULL || img_find(s, name, &img, NULL, NULL) < 0)
                        continue;
                json_t *attrs =
                    str_has_prefix(name, "sha256:") ? NULL : json_pack("{s:s}", "name", name);
                engine_event(eng, "image", "load", img->id, attrs);
                store_image_free(img);
        }
}

void img_load(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct load_ctx l = {.eng = api_engine(r), .lines = json_array()};
        struct store *s = NULL;
        struct pump p;
        pthread_t th;
        int rfd = -1;
        if (open_store(r, &s, &e) < 0 || body_start(r, &p, &th, &rfd, &e) < 0) {
                if (s)
                        store_close(s);
                json_decref(l.lines);
                http_reply_err(r, e);
                return;
        }
        img_transfer_begin();
        int rc = image_load(s, rfd, on_loaded, &l, &e);
        img_transfer_end();
        body_finish(th, rfd);
        if (rc == 0)
                load_events(l.eng, s, l.lines);
        store_close(s);
        if (rc < 0) {
                json_decref(l.lines);
                if (e->code == 0)
                        e->code = EINVAL; /* a bad archive is the client's */
                http_reply_err(r, e);
                return;
        }
        /* the lines come after the load: it adds all images or none */
        if (http_stream_begin(r, 200, "application/json") == 0) {
                size_t i;
                json_t *v;
                json_array_foreach(l.lines, i, v)
                {
                        _cleanup_free_ char *text = xasprintf("%s\n", json_string_value(v));
                        json_t *o = json_pack("{s:s}", "stream", text);
                        http_stream_json(r, o);
                        json_decref(o);
                }
                http_stream_end(r);
        }
        json_decref(l.lines);
}

/* ---- GET /images/get, /images/{name}/get ---- */

struct save_job {
        struct store *s;
        char **refs;
        size_t n;
        int fd;
        int rc;
        struct err *e;
};

static void *save_main(void *arg)
{
        struct save_job *j = arg;
        /* a reader that went away gives EPIPE here, not a process-wide SIGPIPE */
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
        j->rc = image_save(j->s, j->refs, j->n, j->fd, &j->e);
        close(j->fd);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
                ;
        return NULL;
}

static size_t save_names(struct http_req *r, const char **names, size_t max)
{
        const char *one = http_param(r, "name");
        if (one) {
                names[0] = one;
                return 1;
        }
        size_t n = http_query_all(r, "names", names, max);
        return n < max ? n : max;
}

void img_save(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *names[256];
        size_t n = save_names(r, names, ARRAY_SIZE(names));
        if (n > ARRAY_SIZE(names)) {
                http_reply_error(r, 400, "too many images (at most %zu)", ARRAY_SIZE(names));
                return;
        }
        if (n == 0) {
                http_reply_error(r, 400, "no image named (names=...)");
                return;
        }
        struct save_job j = {.refs = xcalloc(n, sizeof(char *)), .n = n, .fd = -1};
        /* names are normalized (ids pass as given); each must be there before
         * the archive starts: a 404 is still possible then */
        for (size_t k = 0; k < n; k++) {
                j.refs[k] = img_normalize(names[k]);
                if (j.refs[k] == NULL)
                        j.refs[k] = xstrdup(names[k]);
        }
        int rc = open_store(r, &j.s, &e);
        for (size_t k = 0; rc == 0 && k < n; k++) {
                struct store_image *img = NULL;
                rc = img_find(j.s, names[k], &img, NULL, &e);
                if (rc == 0 && store_image_get(j.s, j.refs[k], &img, NULL) < 0) {
                        /* found by id prefix: pass the full id */
                        free(j.refs[k]);
                        j.refs[k] = xstrdup(img->id);
                }
                store_image_free(img);
        }
        int sv[2] = {-1, -1};
        pthread_t th;
        if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                rc = err_sys(&e, "socketpair");
        if (rc == 0) {
                j.fd = sv[1];
                if (pthread_create(&th, NULL, save_main, &j) != 0) {
                        close(sv[0]);
                        close(sv[1]);
                        rc = err_new(&e, EAGAIN, "start a thread");
                }
        }
        if (rc < 0) {
                http_reply_err(r, e);
                goto out;
        }
        char buf[64 << 10];
        int started = 0, gone = 0;
        for (;;) {
                ssize_t got = read(sv[0], buf, sizeof(buf));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                if (!started) {
                        started = 1;
                        if (http_stream_begin(r, 200, "application/x-tar") < 0)
                                gone = 1;
                }
                if (!gone && http_stream_write(r, buf, (size_t)got) < 0)
                        gone = 1;
                if (gone)
                        break;
        }
        shutdown(sv[0], SHUT_RDWR); /* a writer still going gets EPIPE */
        pthread_join(th, NULL);
        close(sv[0]);
        if (j.rc < 0 && !started)
                http_reply_err(r, j.e);
        else if (j.rc < 0)
                log_warn("save: %s (the archive sent is incomplete)", j.e->msg);
        if (started)
                http_stream_end(r);
        else if (j.rc == 0)
                http_reply_data(r, 200, "application/x-tar", "", 0);
        err_free(&j.e);
out:
        for (size_t k = 0; k < n; k++)
                free(j.refs[k]);
        free(j.refs);
        if (j.s)
                store_close(j.s);
}

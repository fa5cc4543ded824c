/*
 * api/http: the HTTP server of http.h over libmicrohttpd (MHD).
 *
 * MHD runs one thread per connection and calls us on that thread: the
 * access callback (headers, then body pieces, then a last call that must
 * queue the answer), content-reader callbacks for bodies we produce, the
 * upgrade callback, and the completion callback.  Handlers run on a thread
 * of their own (they may block for hours: wait, events, logs -f), and the
 * connection thread waits for them at the points where MHD needs an answer:
 *
 *  - the last access call waits until the handler has answered (reply,
 *    stream or hijack) and queues a matching MHD response;
 *  - a stream is a response of unknown size (MHD sends it chunked) whose
 *    reader waits for what http_stream_write appended to a small buffer;
 *  - a streamed request body is handed over piece by piece: each access
 *    call waits until http_body_read has taken the piece (so nothing is
 *    buffered but MHD's own read buffer);
 *  - hijack with "Upgrade: tcp" is MHD's upgrade (101, then the socket is
 *    the handler's until http_hijack_done); without it, a "200 OK" response
 *    of unknown length in MHD's HTTP/1.0-compatible mode (no chunking,
 *    close at the end) whose reader hands the raw socket to the handler
 *    and waits until it is done.
 *
 * A request (struct http_req) is shared by the connection thread and the
 * handler thread, and by the response while MHD holds it: it is counted,
 * and everything in it that both sides touch is guarded by the server's
 * one mutex (contention is low: a few operations per request or write).
 *
 * MHD is given a no-op unescape callback: it would decode the path before
 * we split it into segments and would not turn '+' into ' ' in query
 * values (Go clients encode spaces so); we decode both ourselves.
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api.h"

#define BODY_MAX (16u << 20)
#define STREAM_BUF 65536
#define MAX_PARAMS 8
#define CONN_STACK (512u << 10)
#define HANDLER_STACK (1u << 20)

struct kv {
        char *name;
        char *value;
};

struct kvlist {
        struct kv *v;
        size_t n, cap;
};

struct http_server {
        struct MHD_Daemon *d;
        const struct http_route *routes;
        void *ctx;
        /* guards every field of every live request shared between threads,
         * the request list, nhandlers and stopping */
        pthread_mutex_t lock;
        pthread_cond_t idle; /* signalled when nhandlers drops */
        struct http_req *reqs;
        int nhandlers;
        int stopping;
};

enum answer { ANS_NONE, ANS_REPLY, ANS_STREAM, ANS_HIJACK };

struct http_req {
        struct http_server *s;
        struct http_req *prev, *next;
        int refs;
        pthread_cond_t cond;
        int fd; /* the connection's socket, for client_gone */

        /* set once at the first access call, read-only afterwards */
        char *method;
        char *path; /* decoded, without prefix and query */
        int version;
        const struct http_route *route;
        struct kv params[MAX_PARAMS];
        size_t nparams;
        struct kvlist query, headers;
        int want_upgrade;
        int early_status; /* answer without a handler (404, 400, 413) */
        char *early_msg;

        /* body: buffered (body/len, read at body_off) or handed over (in_*) */
        char *body;
        size_t body_len, body_cap, body_off;
        const char *in_ptr;
        size_t in_len;
        int in_eof;

        int handler_started, handler_done;
        int gone; /* the client left, or the server stops */

        /* the answer */
        enum answer ans;
        int status;
        char *ctype;
        struct kvlist extra;
        char *data;
        size_t data_len;
        int queued;

        /* stream */
        char *sbuf;
        size_t slen, scap;
        int s_end;

        /* hijack */
        int hj_fd;
        int hj_done;
        struct MHD_UpgradeResponseHandle *urh;
};

/* ---- small helpers ---- */

static void kv_add(struct kvlist *l, const char *name, const char *value)
{
        if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 8;
                l->v = realloc(l->v, l->cap * sizeof(*l->v));
                if (!l->v)
                        abort();
        }
        l->v[l->n].name = xstrdup(name);
        l->v[l->n].value = xstrdup(value ? value : "");
        l->n++;
}

static void kv_free(struct kvlist *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].name);
                free(l->v[i].value);
        }
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Percent-decode n bytes of s; plus != 0 also turns '+' into ' ' (query). */
static char *url_decode(const char *s, size_t n, int plus)
{
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;
                if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                    (lo = hexval(s[i + 2])) >= 0) {
                        *o++ = (char)(hi << 4 | lo);
                        i += 2;
                } else if (plus && s[i] == '+') {
                        *o++ = ' ';
                } else {
                        *o++ = s[i];
                }
        }
        *o = 0;
        return out;
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        return strlen(s);
}

/* ---- request lifetime ---- */

static void req_unref_locked(struct http_req *r)
{
        struct http_server *s = r->s;
        if (--r->refs > 0)
                return;
        if (r->prev)
                r->prev->next = r->next;
        else
                s->reqs = r->next;
        if (r->next)
                r->next->prev = r->prev;
        pthread_cond_destroy(&r->cond);
        free(r->method);
        free(r->path);
        for (size_t i = 0; i < r->nparams; i++) {
                free(r->params[i].name);
                free(r->params[i].value);
        }
        kv_free(&r->query);
        kv_free(&r->headers);
        kv_free(&r->extra);
        free(r->early_msg);
        free(r->body);
        free(r->ctype);
        free(r->data);
        free(r->sbuf);
        free(r);
}

/*
 * The last request is gone: give the memory its threads freed back to the
 * kernel.  glibc only returns the top of a heap by itself; what a request
 * freed below live blocks (bodies, JSON, layer buffers of a load) stays
 * resident in the idle daemon otherwise, ~0.3 MiB after a load and a few
 * runs.  Called outside s->lock; a few microseconds on barged's small heaps.
 */
static void trim_if_idle(int idle)
{
        if (idle)
                malloc_trim(0);
}

static void req_unref(struct http_req *r)
{
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        req_unref_locked(r);
        pthread_mutex_unlock(&s->lock);
}

/* ---- routing ---- */

/* Split the raw path into segments (empty ones dropped, as "//" and a
 * trailing "/" carry nothing for the Engine API). */
static size_t split_path(char *p, char **segs, size_t max)
{
        size_t n = 0;
        char *save = NULL;
        for (char *tok = strtok_r(p, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (n == max)
                        return max + 1;
                segs[n++] = tok;
        }
        return n;
}

struct match {
        const char *name[MAX_PARAMS];
        size_t nlen[MAX_PARAMS];
        size_t first[MAX_PARAMS], count[MAX_PARAMS];
        size_t n;
};

/* Match pattern `pat` (from a segment start) against segs[at..n). */
static int match_from(const char *pat, char **segs, size_t at, size_t n, struct match *m)
{
        while (*pat == '/')
                pat++;
        if (!*pat)
                return at == n;
        const char *end = strchr(pat, '/');
        size_t plen = end ? (size_t)(end - pat) : strlen(pat);
        const char *rest = pat + plen;
        if (plen >= 2 && pat[0] == '{' && pat[plen - 1] == '}') {
                int star = plen >= 3 && pat[plen - 2] == '*';
                if (at == n || m->n == MAX_PARAMS)
                        return 0;
                size_t k = m->n;
                m->name[k] = pat + 1;
                m->nlen[k] = plen - 2 - (star ? 1 : 0);
                m->first[k] = at;
                /* greedy: the longest run of segments the rest still matches */
                for (size_t take = star ? n - at : 1; take >= 1; take--) {
                        m->n = k + 1;
                        m->count[k] = take;
                        if (match_from(rest, segs, at + take, n, m))
                                return 1;
                }
                m->n = k;
                return 0;
        }
        if (at == n || strlen(segs[at]) != plen || memcmp(segs[at], pat, plen) != 0)
                return 0;
        return match_from(rest, segs, at + 1, n, m);
}

/* ---- the first access call: parse, route, copy what handlers read ---- */

static enum MHD_Result copy_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
        struct kvlist *l = cls;
        if (kind == MHD_GET_ARGUMENT_KIND) {
                _cleanup_free_ char *k = url_decode(key, strlen(key), 1);
                _cleanup_free_ char *v = value ? url_decode(value, strlen(value), 1) : NULL;
                kv_add(l, k, v);
        } else {
                kv_add(l, key, value);
        }
        return MHD_YES;
}

static void set_early(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_early(struct http_req *r, int status, const char *fmt, ...)
{
        if (r->early_status)
                return;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&r->early_msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        r->early_status = status;
}

/* "1.41" -> 141 */
static long version_num(const char *v)
{
        char *end;
        long major = strtol(v, &end, 10);
        return major * 100 + (*end == '.' ? strtol(end + 1, NULL, 10) : 0);
}

/* "/v1.41/x" -> version 141, rest "/x"; an out-of-range version sets an
 * early 400 (with Docker's words). */
static const char *strip_version(struct http_req *r, const char *url)
{
        r->version = (int)version_num(API_VERSION);
        if (url[0] != '/' || url[1] != 'v')
                return url;
        const char *p = url + 2, *end = p;
        while ((*end >= '0' && *end <= '9') || *end == '.')
                end++;
        if (end == p || !strchr(p, '.') || strchr(p, '.') >= end || (*end && *end != '/'))
                return url;
        _cleanup_free_ char *v = xstrndup(p, (size_t)(end - p));
        long ver = version_num(v);
        if (ver > version_num(API_VERSION) || ver >= 1000)
                set_early(r, 400,
                          "client version %s is too new. Maximum supported API version is %s", v,
                          API_VERSION);
        else if (ver < version_num(API_MIN_VERSION))
                set_early(r, 400,
                          "client version %s is too old. Minimum supported API version is %s, "
                          "please upgrade your client to a newer version",
                          v, API_MIN_VERSION);
        r->version = (int)ver;
        return end;
}

static void route_request(struct http_req *r, const char *url)
{
        const char *rest = strip_version(r, url);
        if (r->early_status)
                return;
        _cleanup_free_ char *raw = xstrdup(*rest ? rest : "/");
        _cleanup_free_ char *segbuf = xstrdup(raw);
        char *segs[64];
        size_t n = split_path(segbuf, segs, ARRAY_SIZE(segs));
        r->path = url_decode(raw, strlen(raw), 0);
        if (n > ARRAY_SIZE(segs)) {
                set_early(r, 404, "page not found");
                return;
        }
        for (const struct http_route *rt = r->s->routes; rt->method; rt++) {
                if (strcmp(rt->method, r->method) != 0)
                        continue;
                struct match m = {.n = 0};
                if (!match_from(rt->pattern, segs, 0, n, &m))
                        continue;
                r->route = rt;
                for (size_t i = 0; i < m.n; i++) {
                        size_t first = m.first[i];
                        size_t len = 0;
                        for (size_t j = 0; j < m.count[i]; j++)
                                len += strlen(segs[first + j]) + 1;
                        _cleanup_free_ char *joined = xmalloc(len + 1);
                        joined[0] = 0;
                        for (size_t j = 0; j < m.count[i]; j++) {
                                if (j)
                                        strcat(joined, "/");
                                strcat(joined, segs[first + j]);
                        }
                        r->params[i].name = xstrndup(m.name[i], m.nlen[i]);
                        r->params[i].value = url_decode(joined, strlen(joined), 0);
                }
                r->nparams = m.n;
                return;
        }
        /* a known path with another method is a 404 too, as dockerd answers */
        set_early(r, 404, "page not found");
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *c, const char *url,
                                const char *method)
{
        struct http_req *r = xcalloc(1, sizeof(*r));
        r->s = s;
        r->refs = 1; /* the connection's, dropped by the completion callback */
        r->hj_fd = -1;
        pthread_cond_init(&r->cond, NULL);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        r->fd = ci ? ci->connect_fd : -1;
        r->method = xstrdup(method);
        MHD_get_connection_values(c, MHD_HEADER_KIND, copy_kv, &r->headers);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_kv, &r->query);
        route_request(r, url);
        if (!r->path)
                r->path = xstrdup(url);

        const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
        const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
        r->want_upgrade = up && strcasecmp(up, "tcp") == 0 && conn && strcasestr(conn, "upgrade");

        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        long long len;
        if (r->route && !(r->route->flags & HTTP_STREAM_BODY) && cl && parse_int64(cl, &len) == 0 &&
            len > (long long)BODY_MAX)
                set_early(r, 413, "request body too large (more than %u bytes)", BODY_MAX);

        pthread_mutex_lock(&s->lock);
        r->next = s->reqs;
        if (s->reqs)
                s->reqs->prev = r;
        s->reqs = r;
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* ---- the handler thread ---- */

static void *handler_main(void *arg)
{
        struct http_req *r = arg;
        struct http_server *s = r->s;
        r->route->fn(r);

        pthread_mutex_lock(&s->lock);
        if (r->ans == ANS_NONE) {
                r->ans = ANS_REPLY;
                r->status = 500;
                free(r->ctype);
                r->ctype = xstrdup("application/json");
                r->data = xstrdup("{\"message\":\"internal error: the handler did not answer\"}\n");
                r->data_len = strlen(r->data);
                log_error("%s %s: handler returned without an answer", r->method, r->path);
        }
        r->s_end = 1;
        struct MHD_UpgradeResponseHandle *urh = NULL;
        if (r->ans == ANS_HIJACK && !r->hj_done) {
                r->hj_done = 1;
                urh = TAKE_PTR(r->urh);
        }
        r->handler_done = 1;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&s->lock);
        if (urh)
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);

        pthread_mutex_lock(&s->lock);
        req_unref_locked(r);
        s->nhandlers--;
        pthread_cond_broadcast(&s->idle);
        int idle = !s->reqs;
        pthread_mutex_unlock(&s->lock);
        trim_if_idle(idle);
        return NULL;
}

static int start_handler(struct http_req *r)
{
        struct http_server *s = r->s;
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, HANDLER_STACK);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&s->lock);
        r->refs++;
        s->nhandlers++;
        r->handler_started = 1;
        pthread_mutex_unlock(&s->lock);
        int rc = pthread_create(&t, &attr, handler_main, r);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
                pthread_mutex_lock(&s->lock);
                r->handler_started = 0;
                s->nhandlers--;
                req_unref_locked(r);
                pthread_cond_broadcast(&s->idle);
                pthread_mutex_unlock(&s->lock);
                log_error("cannot start a handler thread: %s", strerror(rc));
                return -1;
        }
        return 0;
}

/* ---- responses ---- */

/* MHD's sockets are non-blocking; a hijacked one is handed over blocking,
 * as a handler copying streams expects. */
static void set_blocking(int fd)
{
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
                fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static void add_headers(struct MHD_Response *resp, struct http_req *r)
{
        MHD_add_response_header(resp, "Api-Version", API_VERSION);
        MHD_add_response_header(resp, "Docker-Experimental", "false");
        MHD_add_response_header(resp, "Ostype", "linux");
        MHD_add_response_header(resp, "Server", "barge/" BARGE_VERSION);
        if (r->ctype)
                MHD_add_response_header(resp, "Content-Type", r->ctype);
        for (size_t i = 0; i < r->extra.n; i++)
                MHD_add_response_header(resp, r->extra.v[i].name, r->extra.v[i].value);
}

static enum MHD_Result queue(struct MHD_Connection *c, struct http_req *r,
                             struct MHD_Response *resp, int status)
{
        if (!resp)
                return MHD_NO;
        add_headers(resp, r);
        enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
        MHD_destroy_response(resp);
        r->queued = 1;
        return ok;
}

static enum MHD_Result queue_early(struct MHD_Connection *c, struct http_req *r)
{
        json_t *o = json_pack("{s:s}", "message", r->early_msg);
        char *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        size_t len = strlen(body);
        body = realloc(body, len + 2);
        body[len++] = '\n';
        body[len] = 0;
        free(r->ctype);
        r->ctype = xstrdup("application/json");
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        return queue(c, r, resp, r->early_status);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct http_req *r = cls;
        struct http_server *s = r->s;
        ssize_t n;
        pthread_mutex_lock(&s->lock);
        while (r->slen == 0 && !r->s_end && !r->gone)
                pthread_cond_wait(&r->cond, &s->lock);
        if (r->slen > 0) {
                n = (ssize_t)(r->slen < max ? r->slen : max);
                memcpy(buf, r->sbuf, (size_t)n);
                memmove(r->sbuf, r->sbuf + n, r->slen - (size_t)n);
                r->slen -= (size_t)n;
                pthread_cond_broadcast(&r->cond);
        } else {
                n = r->gone ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

/* The body of a "200 OK" hijack: the socket is the handler's while MHD
 * waits here (it reads and writes nothing meanwhile).  Only the handler
 * ends the wait (http_hijack_done, or its return): MHD may close the
 * socket once we return.  A server stopping shuts the socket down so that
 * the handler's reads and writes fail. */
static ssize_t raw_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct http_req *r = cls;
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        if (r->hj_fd < 0 && !r->hj_done) {
                set_blocking(r->fd);
                if (s->stopping)
                        shutdown(r->fd, SHUT_RDWR);
                r->hj_fd = r->fd;
                pthread_cond_broadcast(&r->cond);
        }
        while (!r->hj_done)
                pthread_cond_wait(&r->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void response_done(void *cls)
{
        req_unref(cls);
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
        struct http_req *r = cls;
        struct http_server *s = r->s;
        if (extra_in_size > 0)
                /* clients wait for the 101 before sending stdin; bytes sent
                 * earlier cannot be handed over with the bare socket */
                log_warn("%s %s: %zu bytes sent before the upgrade are dropped", r->method, r->path,
                         extra_in_size);
        pthread_mutex_lock(&s->lock);
        if (r->hj_done || r->gone) {
                pthread_mutex_unlock(&s->lock);
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                return;
        }
        set_blocking(sock);
        r->urh = urh;
        r->hj_fd = sock;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&s->lock);
}

/* Called with the lock held once r->ans is set: build and queue it. */
static enum MHD_Result queue_answer(struct MHD_Connection *c, struct http_req *r)
{
        struct http_server *s = r->s;
        struct MHD_Response *resp = NULL;
        int status = r->status;
        switch (r->ans) {
        case ANS_REPLY:
                resp = MHD_create_response_from_buffer(r->data_len, r->data ? r->data : (char *)"",
                                                       r->data ? MHD_RESPMEM_MUST_FREE
                                                               : MHD_RESPMEM_PERSISTENT);
                if (resp)
                        r->data = NULL;
                break;
        case ANS_STREAM:
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BUF,
                                                         stream_reader, r, response_done);
                if (resp)
                        r->refs++;
                break;
        case ANS_HIJACK:
                if (r->want_upgrade) {
                        resp = MHD_create_response_for_upgrade(on_upgrade, r);
                        /* MHD adds "Connection: Upgrade" itself */
                        if (resp)
                                MHD_add_response_header(resp, "Upgrade", "tcp");
                        status = MHD_HTTP_SWITCHING_PROTOCOLS;
                } else {
                        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, raw_reader,
                                                                 r, response_done);
                        if (resp) {
                                r->refs++;
                                MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
                                                         MHD_RO_END);
                        }
                        status = 200;
                }
                break;
        case ANS_NONE:
                break;
        }
        pthread_mutex_unlock(&s->lock);
        enum MHD_Result ok = queue(c, r, resp, status);
        pthread_mutex_lock(&s->lock);
        return ok;
}

/* ---- MHD callbacks ---- */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
        struct http_server *s = cls;
        struct http_req *r = *con_cls;

        if (!r) {
                pthread_mutex_lock(&s->lock);
                int stopping = s->stopping;
                pthread_mutex_unlock(&s->lock);
                if (stopping)
                        return MHD_NO;
                r = req_new(s, c, url, method);
                *con_cls = r;
                if (!r->early_status && (r->route->flags & HTTP_STREAM_BODY) &&
                    start_handler(r) < 0)
                        set_early(r, 500, "cannot start a handler");
                return MHD_YES;
        }

        if (*upload_size > 0) {
                size_t n = *upload_size;
                *upload_size = 0;
                if (r->early_status)
                        return MHD_YES;
                if (r->route->flags & HTTP_STREAM_BODY) {
                        pthread_mutex_lock(&s->lock);
                        r->in_ptr = upload;
                        r->in_len = n;
                        pthread_cond_broadcast(&r->cond);
                        while (r->in_len > 0 && !r->handler_done && !r->gone)
                                pthread_cond_wait(&r->cond, &s->lock);
                        r->in_len = 0;
                        r->in_ptr = NULL;
                        int gone = r->gone;
                        pthread_mutex_unlock(&s->lock);
                        return gone ? MHD_NO : MHD_YES;
                }
                if (r->body_len + n > BODY_MAX) {
                        set_early(r, 413, "request body too large (more than %u bytes)", BODY_MAX);
                        free(r->body);
                        r->body = NULL;
                        r->body_len = r->body_cap = 0;
                        return MHD_YES;
                }
                if (r->body_len + n > r->body_cap) {
                        size_t cap = r->body_cap ? r->body_cap : 4096;
                        while (cap < r->body_len + n)
                                cap *= 2;
                        r->body = realloc(r->body, cap);
                        if (!r->body)
                                abort();
                        r->body_cap = cap;
                }
                memcpy(r->body + r->body_len, upload, n);
                r->body_len += n;
                return MHD_YES;
        }

        /* the request is complete: answer it */
        if (r->queued)
                return MHD_YES;
        if (r->early_status && !r->handler_started)
                return queue_early(c, r);
        if (!r->handler_started && start_handler(r) < 0) {
                set_early(r, 500, "cannot start a handler");
                return queue_early(c, r);
        }
        pthread_mutex_lock(&s->lock);
        r->in_eof = 1;
        pthread_cond_broadcast(&r->cond);
        while (r->ans == ANS_NONE && !r->gone)
                pthread_cond_wait(&r->cond, &s->lock);
        enum MHD_Result ok = MHD_NO;
        if (r->ans != ANS_NONE)
                ok = queue_answer(c, r);
        pthread_mutex_unlock(&s->lock);
        return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct http_req *r = *con_cls;
        if (!r)
                return;
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        /* MHD calls this too when a connection is upgraded (after
         * on_upgrade): the client is still there then */
        if (!(r->ans == ANS_HIJACK && r->hj_fd >= 0))
                r->gone = 1;
        pthread_cond_broadcast(&r->cond);
        req_unref_locked(r);
        int idle = !s->reqs;
        pthread_mutex_unlock(&s->lock);
        *con_cls = NULL;
        trim_if_idle(idle);
}

/* ---- server ---- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        size_t n = strlen(msg);
        if (n && msg[n - 1] == '\n')
                msg[n - 1] = 0;
        log_debug("http: %s", msg);
        free(msg);
}

int http_server_start(int listen_fd, const struct http_route *routes, void *ctx,
                      struct http_server **out, struct err **e)
{
        struct http_server *s = xcalloc(1, sizeof(*s));
        s->routes = routes;
        s->ctx = ctx;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->idle, NULL);
        s->d = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                MHD_USE_ITC | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
            0, NULL, NULL, on_access, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_THREAD_STACK_SIZE,
            (size_t)CONN_STACK, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
            MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
        if (!s->d) {
                pthread_mutex_destroy(&s->lock);
                pthread_cond_destroy(&s->idle);
                free(s);
                return err_new(e, EIO, "cannot start the HTTP server (libmicrohttpd)");
        }
        *out = s;
        return 0;
}

void http_server_stop(struct http_server *s)
{
        if (!s)
                return;
        /* no new connections; the listening socket is ours again */
        MHD_socket lfd = MHD_quiesce_daemon(s->d);
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        for (struct http_req *r = s->reqs; r; r = r->next) {
                r->gone = 1;
                if (r->hj_fd >= 0 && !r->hj_done)
                        shutdown(r->hj_fd, SHUT_RDWR);
                pthread_cond_broadcast(&r->cond);
        }
        while (s->nhandlers > 0)
                pthread_cond_wait(&s->idle, &s->lock);
        pthread_mutex_unlock(&s->lock);
        MHD_stop_daemon(s->d);
        if (lfd != MHD_INVALID_SOCKET)
                close(lfd);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->idle);
        free(s);
}

/* ---- the request, for handlers ---- */

void *http_ctx(struct http_req *r)
{
        return r->s->ctx;
}

const char *http_method(struct http_req *r)
{
        return r->method;
}

const char *http_path(struct http_req *r)
{
        return r->path;
}

int http_api_version(struct http_req *r)
{
        return r->version;
}

const char *http_param(struct http_req *r, const char *name)
{
        for (size_t i = 0; i < r->nparams; i++)
                if (strcmp(r->params[i].name, name) == 0)
                        return r->params[i].value;
        return NULL;
}

const char *http_query(struct http_req *r, const char *name)
{
        for (size_t i = 0; i < r->query.n; i++)
                if (strcmp(r->query.v[i].name, name) == 0)
                        return r->query.v[i].value;
        return NULL;
}

size_t http_query_all(struct http_req *r, const char *name, const char **out, size_t max)
{
        size_t n = 0;
        for (size_t i = 0; i < r->query.n; i++)
                if (strcmp(r->query.v[i].name, name) == 0) {
                        if (n < max)
                                out[n] = r->query.v[i].value;
                        n++;
                }
        return n;
}

int http_query_bool(struct http_req *r, const char *name, int dflt)
{
        const char *v = http_query(r, name);
        if (!v)
                return dflt;
        return !(v[0] == 0 || strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
                 strcmp(v, "False") == 0);
}

int http_query_int(struct http_req *r, const char *name, long long dflt, long long *out,
                   struct err **e)
{
        const char *v = http_query(r, name);
        if (!v || !*v) {
                *out = dflt;
                return 0;
        }
        if (parse_int64(v, out) < 0)
                return err_new(e, EINVAL, "invalid value for %s: %s", name, v);
        return 0;
}

int http_query_json(struct http_req *r, const char *name, json_t **out, struct err **e)
{
        const char *v = http_query(r, name);
        *out = NULL;
        if (!v || !*v)
                return 0;
        json_error_t je;
        *out = json_loads(v, JSON_DECODE_ANY, &je);
        if (!*out)
                return err_new(e, EINVAL, "invalid %s parameter: %s", name, je.text);
        return 0;
}

const char *http_header(struct http_req *r, const char *name)
{
        for (size_t i = 0; i < r->headers.n; i++)
                if (strcasecmp(r->headers.v[i].name, name) == 0)
                        return r->headers.v[i].value;
        return NULL;
}

ssize_t http_body_read(struct http_req *r, void *buf, size_t n)
{
        struct http_server *s = r->s;
        if (!r->route || !(r->route->flags & HTTP_STREAM_BODY)) {
                size_t left = r->body_len - r->body_off;
                if (n > left)
                        n = left;
                if (n)
                        memcpy(buf, r->body + r->body_off, n);
                r->body_off += n;
                return (ssize_t)n;
        }
        if (n == 0)
                return 0;
        ssize_t got;
        pthread_mutex_lock(&s->lock);
        while (r->in_len == 0 && !r->in_eof && !r->gone)
                pthread_cond_wait(&r->cond, &s->lock);
        if (r->in_len > 0) {
                size_t k = r->in_len < n ? r->in_len : n;
                memcpy(buf, r->in_ptr, k);
                r->in_ptr += k;
                r->in_len -= k;
                if (r->in_len == 0)
                        pthread_cond_broadcast(&r->cond);
                got = (ssize_t)k;
        } else {
                got = r->in_eof ? 0 : -1;
        }
        pthread_mutex_unlock(&s->lock);
        return got;
}

int http_body_json(struct http_req *r, json_t **out, struct err **e)
{
        *out = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? 2 * cap : 8192;
                        if (cap > BODY_MAX + 8192u)
                                return err_new(e, E2BIG, "request body too large");
                        char *nb = realloc(buf, cap);
                        if (!nb)
                                abort();
                        buf = nb;
                }
                ssize_t k = http_body_read(r, buf + len, cap - len);
                if (k < 0)
                        return err_new(e, ECONNRESET, "the client went away");
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        size_t i = 0;
        while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
                i++;
        if (i == len)
                return 0;
        json_error_t je;
        *out = json_loadb(buf, len, JSON_DECODE_ANY, &je);
        if (!*out)
                return err_new(e, EINVAL, "invalid JSON body: %s at line %d", je.text, je.line);
        return 0;
}

static int gone_locked(struct http_req *r)
{
        if (r->gone)
                return 1;
        if (r->fd < 0 || r->ans == ANS_HIJACK)
                return 0;
        struct pollfd p = {.fd = r->fd, .events = POLLRDHUP};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                r->gone = 1;
        return r->gone;
}

int http_client_gone(struct http_req *r)
{
        pthread_mutex_lock(&r->s->lock);
        int g = gone_locked(r);
        pthread_mutex_unlock(&r->s->lock);
        return g;
}

/* ---- answering ---- */

void http_add_header(struct http_req *r, const char *name, const char *value)
{
        pthread_mutex_lock(&r->s->lock);
        if (r->ans == ANS_NONE)
                kv_add(&r->extra, name, value);
        pthread_mutex_unlock(&r->s->lock);
}

/* Set the answer; 0, or -1 if the handler had answered already. */
static int answer(struct http_req *r, enum answer kind, int status, const char *ctype, char *data,
                  size_t len)
{
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        if (r->ans != ANS_NONE) {
                pthread_mutex_unlock(&s->lock);
                log_error("%s %s: answered twice (status %d)", r->method, r->path, status);
                free(data);
                return -1;
        }
        r->ans = kind;
        r->status = status;
        free(r->ctype);
        r->ctype = ctype ? xstrdup(ctype) : NULL;
        r->data = data;
        r->data_len = len;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
        char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
        json_decref(body);
        if (!s)
                s = xstrdup("null");
        size_t len = strlen(s);
        /* Docker ends its JSON bodies with a newline */
        char *d = realloc(s, len + 2);
        if (!d)
                abort();
        d[len++] = '\n';
        d[len] = 0;
        answer(r, ANS_REPLY, status, "application/json", d, len);
}

void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
{
        va_list ap;
        char *msg;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        http_reply_json(r, status, json_pack("{s:s}", "message", msg));
        free(msg);
}

void http_reply_err(struct http_req *r, const struct err *e)
{
        int status = api_status(e);
        const char *msg = e && e->msg ? e->msg : "unknown error";
        size_t len = strlen(msg);
        /* err_new appends strerror(code); for the errnos that only pick a
         * status the message is Docker's text without it ("No such
         * container: x"), for a 500 the cause stays */
        if (status != 500) {
                const char *se = strerror(e->code);
                size_t sl = strlen(se);
                if (len >= sl + 2 && strcmp(msg + len - sl, se) == 0 &&
                    memcmp(msg + len - sl - 2, ": ", 2) == 0)
                        len -= sl + 2;
        }
        http_reply_error(r, status, "%.*s", (int)len, msg);
}

void http_reply_empty(struct http_req *r, int status)
{
        answer(r, ANS_REPLY, status, NULL, NULL, 0);
}

void http_reply_data(struct http_req *r, int status, const char *content_type, const void *data,
                     size_t len)
{
        char *d = xmalloc(len ? len : 1);
        if (len)
                memcpy(d, data, len);
        answer(r, ANS_REPLY, status, content_type, d, len);
}

int http_answered(struct http_req *r)
{
        pthread_mutex_lock(&r->s->lock);
        int a = r->ans != ANS_NONE;
        pthread_mutex_unlock(&r->s->lock);
        return a;
}

int http_stream_begin(struct http_req *r, int status, const char *content_type)
{
        return answer(r, ANS_STREAM, status, content_type, NULL, 0);
}

int http_stream_write(struct http_req *r, const void *buf, size_t n)
{
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        if (r->ans != ANS_STREAM || r->s_end) {
                pthread_mutex_unlock(&s->lock);
                return -1;
        }
        const char *p = buf;
        while (n > 0) {
                while (r->slen >= STREAM_BUF && !gone_locked(r))
                        pthread_cond_wait(&r->cond, &s->lock);
                if (gone_locked(r)) {
                        pthread_mutex_unlock(&s->lock);
                        return -1;
                }
                size_t k = STREAM_BUF - r->slen;
                if (k > n)
                        k = n;
                if (!r->sbuf)
                        r->sbuf = xmalloc(STREAM_BUF);
                memcpy(r->sbuf + r->slen, p, k);
                r->slen += k;
                p += k;
                n -= k;
                pthread_cond_broadcast(&r->cond);
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

int http_stream_json(struct http_req *r, json_t *obj)
{
        _cleanup_free_ char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
                return -1;
        size_t len = strlen(s);
        char *d = realloc(s, len + 2);
        if (!d)
                abort();
        s = d;
        d[len++] = '\n';
        return http_stream_write(r, d, len);
}

void http_stream_end(struct http_req *r)
{
        pthread_mutex_lock(&r->s->lock);
        r->s_end = 1;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->s->lock);
}

int http_hijack(struct http_req *r, const char *content_type, int *fd, struct err **e)
{
        struct http_server *s = r->s;
        *fd = -1;
        if (answer(r, ANS_HIJACK, 0, content_type, NULL, 0) < 0)
                return err_new(e, EINVAL, "hijack after an answer");
        pthread_mutex_lock(&s->lock);
        while (r->hj_fd < 0 && !r->gone)
                pthread_cond_wait(&r->cond, &s->lock);
        int got = r->hj_fd;
        pthread_mutex_unlock(&s->lock);
        if (got < 0)
                return err_new(e, ECONNRESET, "the client went away");
        *fd = got;
        return 0;
}

void http_hijack_done(struct http_req *r)
{
        struct http_server *s = r->s;
        pthread_mutex_lock(&s->lock);
        if (r->ans != ANS_HIJACK || r->hj_done) {
                pthread_mutex_unlock(&s->lock);
                return;
        }
        r->hj_done = 1;
        struct MHD_UpgradeResponseHandle *urh = TAKE_PTR(r->urh);
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&s->lock);
        if (urh)
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

int api_status(const struct err *e)
{
        switch (e ? e->code : 0) {
        case ENOENT:
                return 404;
        case EINVAL:
        case ERANGE:
                return 400;
        case EEXIST:
        case EBUSY:
                return 409;
        case EALREADY:
                return 304;
        case EACCES:
                return 403;
        case ENOTSUP:
                return 501;
        default:
                return 500;
        }
}

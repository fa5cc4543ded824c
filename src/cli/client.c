/*
 * client: barge's side of the Engine API (see client.h).
 *
 * Plain and streamed requests go through one libcurl easy handle per
 * client (kept alive between requests).  A hijacked connection (attach,
 * exec start) and the "raw" requests the run flow needs while another
 * request is in flight (POST /wait must be registered before start, its
 * answer read after the container exits) use a socket of their own: the
 * request is written by hand, and the status line and headers are read
 * one byte at a time up to the blank line.  Reading byte-wise is what
 * keeps the bytes that follow the headers (the container's first output
 * may arrive in the same segment) in the socket instead of in a buffer
 * the caller never sees: headers are a few hundred bytes, so the cost is
 * nothing next to a container start.
 */
#include "client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/util.h"
#include "../registry/internal.h"
#include "../registry/reference.h"

#define API_PREFIX "/v1.41"
#define DEFAULT_HOST "unix:///run/barge/barge.sock"

struct client {
        char *host;     /* as given: unix:///path or tcp://h:p */
        char *sock;     /* unix socket path, or NULL for tcp */
        char *base;     /* "http://localhost" or "http://h:p" */
        char *tcp_host; /* for raw sockets over tcp */
        char *tcp_port;
        CURL *curl;
        char **hdrs; /* response headers of the last request ("Name: value") */
        size_t n_hdrs;
};

const char *client_host(struct client *c)
{
        return c->host;
}

int client_open(const char *host, struct client **out, struct err **e)
{
        if (host == NULL || *host == '\0')
                host = getenv("BARGE_HOST");
        if (host == NULL || *host == '\0')
                host = getenv("DOCKER_HOST");
        if (host == NULL || *host == '\0')
                host = DEFAULT_HOST;
        struct client *c = xcalloc(1, sizeof(*c));
        c->host = xstrdup(host);
        if (str_has_prefix(host, "unix://")) {
                c->sock = xstrdup(host + 7);
                c->base = xstrdup("http://localhost");
        } else if (host[0] == '/') {
                c->sock = xstrdup(host);
                c->base = xstrdup("http://localhost");
        } else if (str_has_prefix(host, "tcp://") || str_has_prefix(host, "http://")) {
                const char *hp = strstr(host, "://") + 3;
                size_t len = strcspn(hp, "/");
                char *h = xstrndup(hp, len);
                char *colon = strrchr(h, ':');
                if (colon && !strchr(colon, ']')) {
                        *colon = '\0';
                        c->tcp_port = xstrdup(colon + 1);
                } else {
                        c->tcp_port = xstrdup("2375");
                }
                c->tcp_host = h;
                c->base = xasprintf("http://%s:%s", c->tcp_host, c->tcp_port);
        } else {
                client_close(c);
                return err_new(e, EINVAL,
                               "invalid daemon address %s (unix:///path or tcp://host:port)", host);
        }
        c->curl = curl_easy_init();
        if (c->curl == NULL) {
                client_close(c);
                return err_new(e, ENOMEM, "curl_easy_init failed");
        }
        *out = c;
        return 0;
}

static void clear_headers(struct client *c)
{
        for (size_t i = 0; i < c->n_hdrs; i++)
                free(c->hdrs[i]);
        free(c->hdrs);
        c->hdrs = NULL;
        c->n_hdrs = 0;
}

void client_close(struct client *c)
{
        if (c == NULL)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        clear_headers(c);
        free(c->host);
        free(c->sock);
        free(c->base);
        free(c->tcp_host);
        free(c->tcp_port);
        free(c);
}

const char *client_last_header(struct client *c, const char *name)
{
        size_t nl = strlen(name);
        for (size_t i = 0; i < c->n_hdrs; i++)
                if (!strncasecmp(c->hdrs[i], name, nl) && c->hdrs[i][nl] == ':') {
                        const char *v = c->hdrs[i] + nl + 1;
                        while (*v == ' ')
                                v++;
                        return v;
                }
        return NULL;
}

/* ---- path building ---- */

static void append_escaped(char **buf, size_t *len, size_t *cap, const char *s)
{
        for (; *s; s++) {
                if (*len + 4 >= *cap) {
                        *cap = *cap * 2 + 64;
                        *buf = realloc(*buf, *cap);
                        if (*buf == NULL)
                                abort();
                }
                unsigned char ch = (unsigned char)*s;
                if (isalnum(ch) || strchr("-._~:@", ch))
                        (*buf)[(*len)++] = (char)ch;
                else
                        *len += (size_t)sprintf(*buf + *len, "%%%02X", ch);
        }
        (*buf)[*len] = '\0';
}

char *client_path(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        size_t cap = strlen(fmt) + 64, len = 0;
        char *buf = xmalloc(cap);
        buf[0] = '\0';
        for (const char *p = fmt; *p; p++) {
                if (p[0] == '%' && p[1] == 's') {
                        append_escaped(&buf, &len, &cap, va_arg(ap, const char *) ?: "");
                        p++;
                        continue;
                }
                if (p[0] == '%' && p[1] == 'd') {
                        char num[32];
                        snprintf(num, sizeof(num), "%d", va_arg(ap, int));
                        append_escaped(&buf, &len, &cap, num);
                        p++;
                        continue;
                }
                if (p[0] == '%' && p[1] == '%')
                        p++;
                if (len + 2 >= cap) {
                        cap = cap * 2;
                        buf = realloc(buf, cap);
                        if (buf == NULL)
                                abort();
                }
                buf[len++] = *p;
                buf[len] = '\0';
        }
        va_end(ap);
        return buf;
}

/* ---- errors ---- */

static int status_errno(long status)
{
        switch (status) {
        case 404:
                return ENOENT;
        case 409:
                return EEXIST;
        case 400:
                return EINVAL;
        case 304:
                return EALREADY;
        case 403:
                return EACCES;
        case 501:
                return ENOTSUP;
        default:
                return EIO;
        }
}

/* A daemon's error answer: "Error response from daemon: <message>". */
static int daemon_error(long status, const char *body, size_t len, struct err **e)
{
        json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(j, "message"));
        _cleanup_free_ char *text = NULL;
        if (msg == NULL) {
                text = body && len ? xstrndup(body, len) : xasprintf("HTTP status %ld", status);
                size_t n = strlen(text);
                while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
                        text[--n] = '\0';
        }
        err_new(e, 0, "Error response from daemon: %s", msg ? msg : text);
        if (e && *e)
                (*e)->code = status_errno(status);
        json_decref(j);
        return -1;
}

static int connect_error(struct client *c, const char *detail, struct err **e)
{
        err_new(e, 0, "Cannot connect to the barge daemon at %s. Is barged running?", c->host);
        if (e && *e)
                (*e)->code = ECONNREFUSED;
        (void)detail;
        return -1;
}

/* ---- libcurl requests ---- */

struct buf {
        char *data;
        size_t len, cap;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->data = realloc(b->data, b->cap);
                if (b->data == NULL)
                        abort();
        }
        memcpy(b->data + b->len, d, n);
        b->len += n;
        b->data[b->len] = '\0';
}

struct xfer {
        struct client *c;
        long status;
        struct buf err_body; /* a non-2xx answer's body */
        client_data_fn on_data;
        void *data_ctx;
        int aborted;
        client_read_fn in;
        void *in_ctx;
};

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
        struct xfer *x = ctx;
        size_t len = size * n;
        if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
                /* a new response (after 100 Continue, say): forget the old headers */
                clear_headers(x->c);
                x->status = strtol(p + 9 < p + len ? p + 9 : p, NULL, 10);
                return len;
        }
        size_t l = len;
        while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
                l--;
        if (l == 0)
                return len;
        x->c->hdrs = realloc(x->c->hdrs, (x->c->n_hdrs + 1) * sizeof(char *));
        if (x->c->hdrs == NULL)
                abort();
        x->c->hdrs[x->c->n_hdrs++] = xstrndup(p, l);
        return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
        struct xfer *x = ctx;
        size_t len = size * n;
        if (x->status < 200 || x->status >= 300) {
                buf_add(&x->err_body, p, len);
                return len;
        }
        if (x->on_data && x->on_data(x->data_ctx, p, len) < 0) {
                x->aborted = 1;
                return 0;
        }
        return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
        struct xfer *x = ctx;
        ssize_t r = x->in(x->in_ctx, p, size * n);
        if (r < 0)
                return CURL_READFUNC_ABORT;
        return (size_t)r;
}

static int perform(struct client *c, const char *method, const char *path,
                   const char *const *headers, const char *content_type, const char *body,
                   size_t body_len, client_read_fn in, void *in_ctx, client_data_fn on_data,
                   void *data_ctx, long *status, struct err **e)
{
        CURL *h = c->curl;
        curl_easy_reset(h);
        clear_headers(c);
        _cleanup_free_ char *url = xasprintf("%s%s%s", c->base, API_PREFIX, path);
        struct xfer x = {
            .c = c, .on_data = on_data, .data_ctx = data_ctx, .in = in, .in_ctx = in_ctx};
        struct curl_slist *hl = NULL;
        for (const char *const *p = headers; p && *p; p++)
                hl = curl_slist_append(hl, *p);
        _cleanup_free_ char *ct = NULL;
        if (content_type) {
                ct = xasprintf("Content-Type: %s", content_type);
                hl = curl_slist_append(hl, ct);
        }
        hl = curl_slist_append(hl, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (c->sock)
                curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "barge/0.1");
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (in) {
                /* chunked upload of any method: UPLOAD sets PUT, CUSTOMREQUEST renames it */
                hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, &x);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        } else if (!strcmp(method, "POST")) {
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? body_len : 0));
        } else if (!strcmp(method, "HEAD")) {
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
                if (body) {
                        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
                }
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(hl);
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        if (status)
                *status = st;
        int r = 0;
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
                r = connect_error(c, curl_easy_strerror(rc), e);
        else if (st != 0 && (st < 200 || st >= 300))
                r = daemon_error(st, x.err_body.data, x.err_body.len, e);
        else if (x.aborted)
                r = e && *e ? -1 : err_new(e, ECANCELED, "request %s %s aborted", method, path);
        else if (rc != CURLE_OK)
                r = err_new(e, EIO, "%s %s: %s", method, path, curl_easy_strerror(rc));
        free(x.err_body.data);
        return r;
}

static int collect(void *ctx, const void *buf, size_t n)
{
        buf_add(ctx, buf, n);
        return 0;
}

int client_json(struct client *c, const char *method, const char *path, json_t *body,
                const char *const *headers, long *status, json_t **resp, struct err **e)
{
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        struct buf b = {0};
        if (resp)
                *resp = NULL;
        int r = perform(c, method, path, headers, body ? "application/json" : NULL, text,
                        text ? strlen(text) : 0, NULL, NULL, collect, &b, status, e);
        if (r == 0 && resp && b.len) {
                json_error_t je;
                *resp = json_loadb(b.data, b.len, 0, &je);
                if (*resp == NULL)
                        r = err_new(e, EIO, "%s %s: bad JSON answer: %s", method, path, je.text);
        }
        free(b.data);
        return r;
}

int client_stream(struct client *c, const char *method, const char *path,
                  const char *const *headers, const char *content_type, client_read_fn in,
                  void *in_ctx, client_data_fn on_data, void *data_ctx, long *status,
                  struct err **e)
{
        return perform(c, method, path, headers, content_type, NULL, 0, in, in_ctx, on_data,
                       data_ctx, status, e);
}

/* JSON lines: each object ends with a newline (Docker writes "\r\n"). */
struct jlines {
        struct buf b;
        client_json_fn fn;
        void *ctx;
        struct err *e;
};

static int jline(struct jlines *j, const char *s, size_t n)
{
        while (n && isspace((unsigned char)*s))
                s++, n--;
        if (n == 0)
                return 0;
        json_error_t je;
        json_t *o = json_loadb(s, n, 0, &je);
        if (o == NULL)
                return err_new(&j->e, EIO, "bad JSON in stream: %s", je.text);
        int r = j->fn(j->ctx, o);
        json_decref(o);
        return r;
}

static int jlines_feed(void *ctx, const void *buf, size_t n)
{
        struct jlines *j = ctx;
        buf_add(&j->b, buf, n);
        size_t start = 0;
        for (size_t i = 0; i < j->b.len; i++) {
                if (j->b.data[i] != '\n')
                        continue;
                if (jline(j, j->b.data + start, i - start) < 0)
                        return -1;
                start = i + 1;
        }
        memmove(j->b.data, j->b.data + start, j->b.len - start);
        j->b.len -= start;
        return 0;
}

int client_stream_json(struct client *c, const char *method, const char *path,
                       const char *const *headers, json_t *body, client_json_fn on_json, void *ctx,
                       struct err **e)
{
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        struct jlines j = {.fn = on_json, .ctx = ctx};
        int r = perform(c, method, path, headers, body ? "application/json" : NULL, text,
                        text ? strlen(text) : 0, NULL, NULL, jlines_feed, &j, NULL, e);
        if (r == 0 && j.b.len && jline(&j, j.b.data, j.b.len) < 0)
                r = -1;
        if (j.e) {
                /* the callback's or the parser's error wins over "aborted" */
                err_free(e);
                *e = j.e;
                r = -1;
        }
        free(j.b.data);
        return r;
}

int client_upload_json(struct client *c, const char *method, const char *path,
                       const char *const *headers, const char *content_type, client_read_fn in,
                       void *in_ctx, client_json_fn on_json, void *ctx, struct err **e)
{
        struct jlines j = {.fn = on_json, .ctx = ctx};
        int r = perform(c, method, path, headers, content_type, NULL, 0, in, in_ctx, jlines_feed,
                        &j, NULL, e);
        if (r == 0 && j.b.len && jline(&j, j.b.data, j.b.len) < 0)
                r = -1;
        if (j.e) {
                err_free(e);
                *e = j.e;
                r = -1;
        }
        free(j.b.data);
        return r;
}

/* ---- raw sockets: hijack and requests read by hand ---- */

static int raw_connect(struct client *c, struct err **e)
{
        if (c->sock) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                if (strlen(c->sock) >= sizeof(sa.sun_path))
                        return err_new(e, ENAMETOOLONG, "socket path %s", c->sock);
                strcpy(sa.sun_path, c->sock);
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return err_sys(e, "socket");
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        close(fd);
                        return connect_error(c, NULL, e);
                }
                return fd;
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        if (getaddrinfo(c->tcp_host, c->tcp_port, &hints, &res) != 0)
                return connect_error(c, NULL, e);
        int fd = -1;
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                        break;
                if (fd >= 0)
                        close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        return fd < 0 ? connect_error(c, NULL, e) : fd;
}

/* Headers of an answer, read byte-wise (see the top of the file). */
static int read_head(int fd, struct buf *h, struct err **e)
{
        char ch;
        while (h->len < 4 || memcmp(h->data + h->len - 4, "\r\n\r\n", 4)) {
                ssize_t r = read(fd, &ch, 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return err_sys(e, "reading the daemon's answer");
                if (r == 0)
                        return err_new(e, EPIPE, "the daemon closed the connection");
                if (h->len > 64 * 1024)
                        return err_new(e, EPROTO, "the daemon's answer headers are too long");
                buf_add(h, &ch, 1);
        }
        return 0;
}

static const char *head_value(const char *head, const char *name)
{
        size_t nl = strlen(name);
        for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
                if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
                        const char *v = p + 3 + nl;
                        while (*v == ' ')
                                v++;
                        return v;
                }
        return NULL;
}

/* Undo chunked transfer coding in place. */
static size_t dechunk(char *d, size_t n)
{
        size_t in = 0, out = 0;
        while (in < n) {
                char *end;
                unsigned long len = strtoul(d + in, &end, 16);
                char *crlf = memmem(d + in, n - in, "\r\n", 2);
                if (crlf == NULL || end > crlf || len == 0)
                        break;
                in = (size_t)(crlf - d) + 2;
                if (in + len > n)
                        len = n - in;
                memmove(d + out, d + in, len);
                out += len;
                in += len + 2;
        }
        return out;
}

static int read_rest(int fd, const char *head, struct buf *b, struct err **e)
{
        const char *cl = head_value(head, "Content-Length");
        long long want = cl ? strtoll(cl, NULL, 10) : -1;
        char tmp[4096];
        while (want < 0 || (long long)b->len < want) {
                ssize_t r = read(fd, tmp, sizeof(tmp));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return err_sys(e, "reading the daemon's answer");
                if (r == 0)
                        break;
                buf_add(b, tmp, (size_t)r);
        }
        const char *te = head_value(head, "Transfer-Encoding");
        if (te && !strncasecmp(te, "chunked", 7) && b->len) {
                b->len = dechunk(b->data, b->len);
                b->data[b->len] = '\0';
        }
        return 0;
}

static int raw_request(struct client *c, const char *method, const char *path, json_t *body,
                       int upgrade, int *fd_out, int *chunked, struct err **e)
{
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        _cleanup_close_ int fd = raw_connect(c, e);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *req =
            xasprintf("%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: barge/0.1\r\n%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      method, API_PREFIX, path, c->sock ? "localhost" : c->tcp_host,
                      upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n",
                      text ? strlen(text) : 0, text ? text : "");
        if (write_all(fd, req, strlen(req)) < 0)
                return err_sys(e, "%s %s: sending the request", method, path);
        struct buf h = {0};
        if (read_head(fd, &h, e) < 0) {
                free(h.data);
                return err_wrap(e, "%s %s", method, path);
        }
        long status = h.len > 12 ? strtol(h.data + 9, NULL, 10) : 0;
        if (status != 101 && (status < 200 || status >= 300)) {
                struct buf b = {0};
                if (status >= 100 && status < 200) /* Docker answers a failed upgrade as-is */
                        status = 500;
                read_rest(fd, h.data, &b, NULL);
                daemon_error(status, b.data, b.len, e);
                free(b.data);
                free(h.data);
                return -1;
        }
        if (chunked) {
                const char *te = head_value(h.data, "Transfer-Encoding");
                *chunked = te && !strncasecmp(te, "chunked", 7);
        }
        free(h.data);
        *fd_out = TAKE_FD(fd);
        return 0;
}

int client_hijack(struct client *c, const char *method, const char *path, json_t *body, int *fd,
                  struct err **e)
{
        return raw_request(c, method, path, body, 1, fd, NULL, e);
}

int client_raw_begin(struct client *c, const char *method, const char *path, json_t *body,
                     struct client_raw *r, struct err **e)
{
        r->fd = -1;
        return raw_request(c, method, path, body, 0, &r->fd, &r->chunked, e);
}

int client_raw_end(struct client_raw *r, json_t **resp, struct err **e)
{
        struct buf b = {0};
        const char *head = r->chunked ? "\r\nTransfer-Encoding: chunked\r\n\r\n" : "\r\n\r\n";
        int ret = read_rest(r->fd, head, &b, e);
        close(r->fd);
        r->fd = -1;
        if (ret == 0 && resp) {
                json_error_t je;
                *resp = b.len ? json_loadb(b.data, b.len, 0, &je) : NULL;
                if (*resp == NULL)
                        ret = err_new(e, EIO, "bad JSON answer from the daemon");
        }
        free(b.data);
        return ret;
}

/* ---- multiplexed streams ---- */

int demux_feed(struct demux *d, const void *buf, size_t n,
               int (*out)(void *ctx, int stream, const void *buf, size_t n), void *ctx)
{
        const unsigned char *p = buf;
        while (n) {
                if (d->left == 0) {
                        size_t take = sizeof(d->hdr) - d->hdr_len;
                        if (take > n)
                                take = n;
                        memcpy(d->hdr + d->hdr_len, p, take);
                        d->hdr_len += take;
                        p += take;
                        n -= take;
                        if (d->hdr_len < sizeof(d->hdr))
                                return 0;
                        d->stream = d->hdr[0];
                        d->left = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 |
                                  (size_t)d->hdr[6] << 8 | d->hdr[7];
                        d->hdr_len = 0;
                        continue;
                }
                size_t take = d->left < n ? d->left : n;
                if (out(ctx, d->stream, p, take) < 0)
                        return -1;
                d->left -= take;
                p += take;
                n -= take;
        }
        return 0;
}

/* ---- registry credentials ---- */

char *client_registry_auth(const char *ref, struct err **e)
{
        struct image_ref *r = NULL;
        _cleanup_free_ char *domain = NULL, *user = NULL, *pass = NULL, *file = NULL;
        if (ref && ref_parse(ref, &r, NULL) == 0) {
                domain = xstrdup(r->domain);
                ref_free(r);
        } else {
                domain = reg_server_domain(ref);
        }
        struct registry_opts o = {0};
        file = reg_auth_file(&o);
        json_t *j;
        int found = domain ? reg_auth_lookup(file, domain, &user, &pass, e) : 0;
        if (found < 0)
                return NULL;
        if (found > 0)
                j = json_pack("{s:s,s:s,s:s}", "username", user, "password", pass, "serveraddress",
                              reg_auth_key(domain));
        else
                j = json_object();
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        char *b64 = reg_base64_encode(text, strlen(text));
        for (char *p = b64; p && *p; p++) {
                if (*p == '+')
                        *p = '-';
                else if (*p == '/')
                        *p = '_';
        }
        return b64;
}

/*
 * client: barge's side of the Engine API (see client.h).
 *
 * The HTTP client is hand-written on purpose.  libcurl (Debian's build)
 * pulls in TLS, HTTP/2, LDAP, RTMP, SSH, IDN and GSSAPI libraries, and the
 * dynamic loader mapped and relocated all of them on every command: ~10
 * ms of a `barge` invocation that should cost 1-2.  The client only ever
 * speaks HTTP/1.1 to its own daemon, over the Unix socket or plain TCP,
 * so what it needs is small: one request at a time, Content-Length or
 * chunked bodies both ways, and keep-alive within a command.  TLS to a
 * remote daemon (tcp+tls) is a later issue and may bring libcurl or
 * OpenSSL back for that transport only.
 *
 * Plain and streamed requests share one kept-alive connection per client,
 * read through a buffer.  A hijacked connection (attach, exec start) and
 * the "raw" requests the run flow needs while another request is in
 * flight (POST /wait must be registered before start, its answer read
 * after the container exits) use a socket of their own whose headers are
 * read with MSG_PEEK: peek, consume exactly the header bytes, so whatever
 * follows them (the container's first output may arrive in the same
 * segment) stays in the socket for the caller, which keeps using the
 * bare fd.  That is one or two syscalls instead of one read per byte.
 */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
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
#define MAX_HEAD (64 * 1024)
#define UPLOAD_CHUNK (64 * 1024)

struct client {
        char *host;     /* as given: unix:///path or tcp://h:p */
        char *sock;     /* unix socket path, or NULL for tcp */
        char *tcp_host; /* for tcp */
        char *tcp_port;
        int fd; /* the kept-alive connection, or -1 */
        size_t roff, rlen;
        char **hdrs; /* response headers of the last request ("Name: value") */
        size_t n_hdrs;
        char rbuf[65536]; /* what was read from fd and not yet consumed: [roff, rlen) */
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
        c->fd = -1;
        c->host = xstrdup(host);
        if (str_has_prefix(host, "unix://")) {
                c->sock = xstrdup(host + 7);
        } else if (host[0] == '/') {
                c->sock = xstrdup(host);
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
                /* [v6]:port: getaddrinfo wants the bare address */
                if (h[0] == '[' && h[strlen(h) - 1] == ']') {
                        memmove(h, h + 1, strlen(h));
                        h[strlen(h) - 1] = '\0';
                }
                c->tcp_host = h;
        } else {
                client_close(c);
                return err_new(e, EINVAL,
                               "invalid daemon address %s (unix:///path or tcp://host:port)", host);
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

static void drop_conn(struct client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->roff = c->rlen = 0;
}

void client_close(struct client *c)
{
        if (c == NULL)
                return;
        drop_conn(c);
        clear_headers(c);
        free(c->host);
        free(c->sock);
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
                        while (*v == ' ' || *v == '\t')
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

/* ---- connections ---- */

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

/* send(2) without SIGPIPE: a daemon that went away is an error, not a kill */
static int send_all(int fd, const void *buf, size_t n)
{
        const char *p = buf;
        while (n) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -1;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* A kept connection the daemon closed while idle (or that has stray
 * bytes on it) is not reusable: readable-while-idle means one of both. */
static int conn_idle_ok(struct client *c)
{
        if (c->roff != c->rlen)
                return 0;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        return poll(&p, 1, 0) == 0;
}

/* More bytes into rbuf (which must be empty): >0, 0 at EOF, -1 with errno. */
static ssize_t conn_fill(struct client *c)
{
        c->roff = c->rlen = 0;
        for (;;) {
                ssize_t n = read(c->fd, c->rbuf, sizeof(c->rbuf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n > 0)
                        c->rlen = (size_t)n;
                return n;
        }
}

/* One line (CRLF or LF, stripped) into *line. */
static int conn_line(struct client *c, struct buf *line, struct err **e)
{
        line->len = 0;
        buf_add(line, "", 0);
        for (;;) {
                if (c->roff == c->rlen) {
                        ssize_t n = conn_fill(c);
                        if (n < 0)
                                return err_sys(e, "reading the daemon's answer");
                        if (n == 0)
                                return err_new(e, EPIPE, "the daemon closed the connection");
                }
                char *s = c->rbuf + c->roff;
                char *nl = memchr(s, '\n', c->rlen - c->roff);
                size_t take = nl ? (size_t)(nl - s) + 1 : c->rlen - c->roff;
                buf_add(line, s, take);
                c->roff += take;
                if (line->len > MAX_HEAD)
                        return err_new(e, EPROTO, "the daemon's answer headers are too long");
                if (nl) {
                        while (line->len && (line->data[line->len - 1] == '\n' ||
                                             line->data[line->len - 1] == '\r'))
                                line->data[--line->len] = '\0';
                        return 0;
                }
        }
}

/* ---- responses ---- */

struct resp {
        long status;
        int chunked;
        long long length; /* Content-Length, or -1 */
        int close;        /* Connection: close, HTTP/1.0, or a body that ends at EOF */
        int got_bytes;    /* anything at all was read (a reused connection's retry) */
};

static int read_head(struct client *c, struct resp *r, struct err **e)
{
        struct buf line = {0};
        int ret = 0;
        for (;;) {
                clear_headers(c);
                if (conn_line(c, &line, e) < 0) {
                        ret = -1;
                        break;
                }
                r->got_bytes = 1;
                if (strncmp(line.data, "HTTP/1.", 7) || line.len < 12) {
                        ret =
                            err_new(e, EPROTO, "bad status line from the daemon: %.80s", line.data);
                        break;
                }
                r->status = strtol(line.data + 9, NULL, 10);
                r->close = line.data[7] == '0';
                r->chunked = 0;
                r->length = -1;
                for (;;) {
                        if (conn_line(c, &line, e) < 0) {
                                ret = -1;
                                goto out;
                        }
                        if (line.len == 0)
                                break;
                        c->hdrs = realloc(c->hdrs, (c->n_hdrs + 1) * sizeof(char *));
                        if (c->hdrs == NULL)
                                abort();
                        c->hdrs[c->n_hdrs++] = xstrdup(line.data);
                }
                const char *v = client_last_header(c, "Transfer-Encoding");
                if (v && strcasestr(v, "chunked"))
                        r->chunked = 1;
                v = client_last_header(c, "Content-Length");
                if (v && !r->chunked)
                        r->length = strtoll(v, NULL, 10);
                v = client_last_header(c, "Connection");
                if (v && !strncasecmp(v, "close", 5))
                        r->close = 1;
                /* an interim answer (100 Continue): the real one follows */
                if (r->status >= 100 && r->status < 200 && r->status != 101)
                        continue;
                break;
        }
out:
        free(line.data);
        return ret;
}

/* Body bytes to a sink; the sink returning < 0 sets *aborted and stops. */
typedef int (*sink_fn)(void *ctx, const void *buf, size_t n);

static int body_bytes(struct client *c, long long want, sink_fn sink, void *ctx, int *aborted,
                      struct err **e)
{
        while (want != 0) {
                if (c->roff == c->rlen) {
                        ssize_t n = conn_fill(c);
                        if (n < 0)
                                return err_sys(e, "reading the daemon's answer");
                        if (n == 0) {
                                if (want < 0)
                                        return 0; /* the body ends with the connection */
                                return err_new(e, EPIPE,
                                               "the daemon closed the connection mid-answer");
                        }
                }
                size_t take = c->rlen - c->roff;
                if (want > 0 && (long long)take > want)
                        take = (size_t)want;
                const char *p = c->rbuf + c->roff;
                c->roff += take;
                if (want > 0)
                        want -= (long long)take;
                if (sink && sink(ctx, p, take) < 0) {
                        *aborted = 1;
                        return 0;
                }
        }
        return 0;
}

static int read_body(struct client *c, const char *method, struct resp *r, sink_fn sink, void *ctx,
                     int *aborted, struct err **e)
{
        if (!strcmp(method, "HEAD") || r->status == 204 || r->status == 304 ||
            (r->status >= 100 && r->status < 200))
                return 0;
        if (!r->chunked) {
                if (r->length < 0)
                        r->close = 1;
                return body_bytes(c, r->length, sink, ctx, aborted, e);
        }
        struct buf line = {0};
        int ret = 0;
        for (;;) {
                if (conn_line(c, &line, e) < 0) {
                        ret = -1;
                        break;
                }
                char *end;
                unsigned long long n = strtoull(line.data, &end, 16);
                if (end == line.data) {
                        ret = err_new(e, EPROTO, "bad chunk header from the daemon");
                        break;
                }
                if (n == 0) {
                        /* trailers, then the blank line */
                        do
                                ret = conn_line(c, &line, e);
                        while (ret == 0 && line.len);
                        break;
                }
                if (body_bytes(c, (long long)n, sink, ctx, aborted, e) < 0) {
                        ret = -1;
                        break;
                }
                if (*aborted)
                        break;
                if (conn_line(c, &line, e) < 0) {
                        ret = -1;
                        break;
                }
        }
        free(line.data);
        return ret;
}

/* ---- requests ---- */

static char *request_head(struct client *c, const char *method, const char *path,
                          const char *const *headers, const char *content_type, int chunked,
                          size_t body_len, int has_body, const char *extra)
{
        struct buf h = {0};
        /* a TCP daemon's Host: host:port, an IPv6 address in brackets */
        _cleanup_free_ char *hostport = c->sock ? xstrdup("localhost")
                                        : strchr(c->tcp_host, ':')
                                            ? xasprintf("[%s]:%s", c->tcp_host, c->tcp_port)
                                            : xasprintf("%s:%s", c->tcp_host, c->tcp_port);
        _cleanup_free_ char *first =
            xasprintf("%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: barge/0.1\r\n", method,
                      API_PREFIX, path, hostport);
        buf_add(&h, first, strlen(first));
        for (const char *const *p = headers; p && *p; p++) {
                buf_add(&h, *p, strlen(*p));
                buf_add(&h, "\r\n", 2);
        }
        if (content_type) {
                _cleanup_free_ char *ct = xasprintf("Content-Type: %s\r\n", content_type);
                buf_add(&h, ct, strlen(ct));
        }
        if (extra)
                buf_add(&h, extra, strlen(extra));
        if (chunked) {
                buf_add(&h, "Transfer-Encoding: chunked\r\n", 28);
        } else if (has_body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
                char cl[64];
                int n = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", body_len);
                buf_add(&h, cl, (size_t)n);
        }
        buf_add(&h, "\r\n", 2);
        return h.data;
}

/* The request body from in(), chunked.  1: the daemon stopped reading
 * (its answer, probably an error, says why), 0: sent, -1: in() failed. */
static int send_chunked(int fd, client_read_fn in, void *in_ctx, struct err **e)
{
        _cleanup_free_ char *b = xmalloc(UPLOAD_CHUNK + 32);
        for (;;) {
                /* room for the size line in front and CRLF behind */
                ssize_t n = in(in_ctx, b + 16, UPLOAD_CHUNK);
                if (n < 0)
                        return err_sys(e, "reading the request body");
                if (n == 0)
                        return send_all(fd, "0\r\n\r\n", 5) < 0 ? 1 : 0;
                char hdr[17];
                int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)n);
                memcpy(b + 16 - hl, hdr, (size_t)hl);
                memcpy(b + 16 + n, "\r\n", 2);
                if (send_all(fd, b + 16 - hl, (size_t)hl + (size_t)n + 2) < 0)
                        return 1;
        }
}

struct xfer {
        long status;
        struct buf err_body; /* a non-2xx answer's body */
        client_data_fn on_data;
        void *data_ctx;
};

static int xfer_sink(void *ctx, const void *buf, size_t n)
{
        struct xfer *x = ctx;
        if (x->status < 200 || x->status >= 300) {
                buf_add(&x->err_body, buf, n);
                return 0;
        }
        return x->on_data ? x->on_data(x->data_ctx, buf, n) : 0;
}

static int perform(struct client *c, const char *method, const char *path,
                   const char *const *headers, const char *content_type, const char *body,
                   size_t body_len, client_read_fn in, void *in_ctx, client_data_fn on_data,
                   void *data_ctx, long *status, struct err **e)
{
        clear_headers(c);
        if (status)
                *status = 0;
        _cleanup_free_ char *head = request_head(c, method, path, headers, content_type, in != NULL,
                                                 body_len, body != NULL, NULL);
        struct resp r = {0};
        for (int attempt = 0;; attempt++) {
                int reused = 0;
                if (c->fd >= 0 && conn_idle_ok(c))
                        reused = 1;
                else
                        drop_conn(c);
                if (c->fd < 0) {
                        int fd = raw_connect(c, e);
                        if (fd < 0)
                                return -1;
                        c->fd = fd;
                }
                /* a reused connection the daemon closed under us: once more on a new
                 * one, unless a streamed body was already (partly) consumed */
                int retry = reused && attempt == 0 && in == NULL;
                int sent;
                if (body == NULL || body_len > UPLOAD_CHUNK) {
                        sent = send_all(c->fd, head, strlen(head));
                        if (sent == 0 && body)
                                sent = send_all(c->fd, body, body_len);
                } else {
                        /* head and a small body in one segment */
                        size_t hl = strlen(head);
                        _cleanup_free_ char *msg = xmalloc(hl + body_len);
                        memcpy(msg, head, hl);
                        memcpy(msg + hl, body, body_len);
                        sent = send_all(c->fd, msg, hl + body_len);
                }
                if (sent < 0 && retry) {
                        drop_conn(c);
                        continue;
                }
                if (sent == 0 && in) {
                        int s = send_chunked(c->fd, in, in_ctx, e);
                        if (s < 0) {
                                drop_conn(c);
                                return err_wrap(e, "%s %s", method, path);
                        }
                }
                /* on a failed send the daemon may still have answered (an early error) */
                r = (struct resp){0};
                struct err *he = NULL;
                if (read_head(c, &r, &he) < 0) {
                        drop_conn(c);
                        if (!r.got_bytes && retry) {
                                err_free(&he);
                                continue;
                        }
                        if (e)
                                *e = he;
                        else
                                err_free(&he);
                        return err_wrap(e, "%s %s", method, path);
                }
                break;
        }
        if (status)
                *status = r.status;
        struct xfer x = {.status = r.status, .on_data = on_data, .data_ctx = data_ctx};
        int aborted = 0;
        int ret = read_body(c, method, &r, xfer_sink, &x, &aborted, e);
        if (ret < 0 || aborted || r.close)
                drop_conn(c);
        if (r.status < 200 || r.status >= 300) {
                /* the daemon's answer, even if its body broke off */
                if (ret < 0 && e)
                        err_free(e);
                ret = daemon_error(r.status, x.err_body.data, x.err_body.len, e);
        } else if (ret < 0) {
                ret = err_wrap(e, "%s %s", method, path);
        }
        else if (aborted)
                ret = e && *e ? -1 : err_new(e, ECANCELED, "request %s %s aborted", method, path);
        free(x.err_body.data);
        return ret;
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

/* The status line and headers of an answer on a socket of its own, up to
 * and including the blank line and not a byte further (see the top of the
 * file): peek, consume what is header, repeat until the blank line. */
static int peek_head(int fd, struct buf *h, struct err **e)
{
        char tmp[4096];
        for (;;) {
                ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_PEEK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_sys(e, "reading the daemon's answer");
                if (n == 0)
                        return err_new(e, EPIPE, "the daemon closed the connection");
                /* the blank line may straddle what was consumed before */
                size_t old = h->len, back = old < 3 ? old : 3;
                buf_add(h, tmp, (size_t)n);
                char *end = memmem(h->data + old - back, h->len - (old - back), "\r\n\r\n", 4);
                size_t take = (size_t)n;
                if (end) {
                        take = (size_t)(end + 4 - h->data) - old;
                        h->len = old + take;
                        h->data[h->len] = '\0';
                }
                /* consume exactly what the peek showed to be header bytes */
                size_t got = 0;
                while (got < take) {
                        ssize_t r = read(fd, tmp, take - got);
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r <= 0)
                                return err_sys(e, "reading the daemon's answer");
                        got += (size_t)r;
                }
                if (end)
                        return 0;
                if (h->len > MAX_HEAD)
                        return err_new(e, EPROTO, "the daemon's answer headers are too long");
        }
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
        const char *te = head_value(head, "Transfer-Encoding");
        int chunked = te && !strncasecmp(te, "chunked", 7);
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
        if (chunked && b->len) {
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
        size_t tl = text ? strlen(text) : 0;
        _cleanup_free_ char *head = request_head(
            c, method, path, NULL, "application/json", 0, tl, 1,
            upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n");
        size_t hl = strlen(head);
        _cleanup_free_ char *req = xmalloc(hl + tl + 1);
        memcpy(req, head, hl);
        if (tl)
                memcpy(req + hl, text, tl);
        if (send_all(fd, req, hl + tl) < 0)
                return err_sys(e, "%s %s: sending the request", method, path);
        struct buf h = {0};
        if (peek_head(fd, &h, e) < 0) {
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

/*
 * Tests for src/cli/client.c, the client's hand-written HTTP/1.1: a
 * scripted server on a Unix socket in a temp dir (a thread per
 * connection) answers each path in one way: Content-Length, chunked, a
 * body that ends at EOF, JSON lines, errors, a connection it closes, a
 * hijack.  client.c is compiled into this test (it is not part of a
 * library), so its static helpers are reachable too.
 */
#include "../../src/cli/client.c"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

static char tmpdir[64];
static char sock_path[128];
static char host[160];
static int listen_fd = -1;
static atomic_int n_conns;         /* connections accepted so far */
static char last_body[256 * 1024]; /* the last request body, de-chunked */
static atomic_size_t last_body_len;
static atomic_int last_chunked; /* the last request came chunked */
static char last_head[8192];

/* ---- the server ---- */

static int srv_read_byte(int fd, char *ch)
{
        for (;;) {
                ssize_t n = read(fd, ch, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                return n == 1 ? 0 : -1;
        }
}

static int srv_line(int fd, char *line, size_t cap)
{
        size_t n = 0;
        char ch;
        while (srv_read_byte(fd, &ch) == 0) {
                if (ch == '\n') {
                        if (n && line[n - 1] == '\r')
                                n--;
                        line[n] = '\0';
                        return 0;
                }
                if (n + 1 < cap)
                        line[n++] = ch;
        }
        return -1;
}

static int srv_read_n(int fd, char *out, size_t n)
{
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, out + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                got += (size_t)r;
        }
        return 0;
}

static void srv_send(int fd, const char *s)
{
        write_all(fd, s, strlen(s));
}

/* One request: its head into last_head, its body into last_body.  -1 at EOF. */
static int srv_request(int fd, char *method, char *path)
{
        char line[4096];
        if (srv_line(fd, line, sizeof(line)) < 0)
                return -1;
        if (sscanf(line, "%15s %1023s", method, path) != 2)
                return -1;
        snprintf(last_head, sizeof(last_head), "%s\n", line);
        long long cl = 0;
        int chunked = 0;
        for (;;) {
                if (srv_line(fd, line, sizeof(line)) < 0)
                        return -1;
                if (line[0] == '\0')
                        break;
                strncat(last_head, line, sizeof(last_head) - strlen(last_head) - 2);
                strcat(last_head, "\n");
                if (!strncasecmp(line, "Content-Length:", 15))
                        cl = strtoll(line + 15, NULL, 10);
                if (!strncasecmp(line, "Transfer-Encoding:", 18) && strstr(line, "chunked"))
                        chunked = 1;
        }
        size_t len = 0;
        if (!strcmp(path, "/v1.41/reject"))
                return 0; /* answered before the body is read */
        if (chunked) {
                for (;;) {
                        if (srv_line(fd, line, sizeof(line)) < 0)
                                return -1;
                        size_t n = strtoul(line, NULL, 16);
                        if (n == 0) {
                                srv_line(fd, line, sizeof(line));
                                break;
                        }
                        if (len + n > sizeof(last_body))
                                return -1;
                        if (srv_read_n(fd, last_body + len, n) < 0)
                                return -1;
                        len += n;
                        srv_line(fd, line, sizeof(line));
                }
        } else if (cl > 0) {
                if ((size_t)cl > sizeof(last_body) || srv_read_n(fd, last_body, (size_t)cl) < 0)
                        return -1;
                len = (size_t)cl;
        }
        last_body_len = len;
        last_chunked = chunked;
        return 0;
}

static void srv_json(int fd, int status, const char *body, const char *extra)
{
        char head[512];
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                 status, extra ? extra : "", strlen(body));
        srv_send(fd, head);
        srv_send(fd, body);
}

static void srv_chunk(int fd, const char *s)
{
        char h[32];
        snprintf(h, sizeof(h), "%zx\r\n", strlen(s));
        srv_send(fd, h);
        srv_send(fd, s);
        srv_send(fd, "\r\n");
}

/* Answer one connection's requests until it ends (or a route ends it). */
static void *srv_conn(void *arg)
{
        int fd = (int)(intptr_t)arg;
        int conn = ++n_conns, drop_next = 0;
        char method[16], path[1024];
        while (srv_request(fd, method, path) == 0) {
                if (drop_next)
                        break; /* as if the idle connection timed out just now */
                if (!strcmp(path, "/v1.41/cl")) {
                        srv_json(fd, 200, "{\"a\":1}", "X-Test: yes\r\n");
                } else if (!strcmp(path, "/v1.41/echo")) {
                        char b[1024];
                        snprintf(b, sizeof(b), "{\"method\":\"%s\",\"conn\":%d,\"len\":%zu}",
                                 method, conn, (size_t)last_body_len);
                        srv_json(fd, 200, b, NULL);
                } else if (!strcmp(path, "/v1.41/chunked")) {
                        srv_send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                        srv_chunk(fd, "{\"parts\":");
                        srv_send(fd, "3;ext=1\r\n[1,\r\n"); /* a chunk extension */
                        srv_chunk(fd, "2]}");
                        srv_send(fd, "0\r\nX-Trailer: t\r\n\r\n");
                } else if (!strcmp(path, "/v1.41/lines")) {
                        srv_send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                        srv_chunk(fd, "{\"n\":1}\r\n{\"n\"");
                        srv_chunk(fd, ":2}\r\n");
                        srv_chunk(fd, "\r\n{\"n\":3}");
                        srv_send(fd, "0\r\n\r\n");
                } else if (!strcmp(path, "/v1.41/eof")) {
                        srv_send(fd, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
                        break;
                } else if (!strcmp(path, "/v1.41/close")) {
                        srv_json(fd, 200, "{}", "Connection: close\r\n");
                        break;
                } else if (!strcmp(path, "/v1.41/idleclose")) {
                        srv_json(fd, 200, "{}", NULL);
                        break; /* no Connection: close: the client finds out when idle */
                } else if (!strcmp(path, "/v1.41/dropnext")) {
                        srv_json(fd, 200, "{}", NULL);
                        drop_next = 1;
                } else if (!strcmp(path, "/v1.41/upload")) {
                        char b[256];
                        snprintf(b, sizeof(b), "{\"len\":%zu,\"chunked\":%d}\n{\"done\":true}\n",
                                 (size_t)last_body_len, (int)last_chunked);
                        srv_send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                        srv_chunk(fd, b);
                        srv_send(fd, "0\r\n\r\n");
                } else if (!strcmp(path, "/v1.41/reject")) {
                        srv_json(fd, 400, "{\"message\":\"not a tar\"}", "Connection: close\r\n");
                        break;
                } else if (!strcmp(path, "/v1.41/head")) {
                        srv_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                     "X-Docker-Container-Path-Stat: e30=\r\n\r\n");
                } else if (!strcmp(path, "/v1.41/nf")) {
                        srv_json(fd, 404, "{\"message\":\"No such container: x\"}", NULL);
                } else if (!strcmp(path, "/v1.41/conflict")) {
                        srv_send(fd, "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n");
                        srv_chunk(fd, "{\"message\":");
                        srv_chunk(fd, "\"in use\"}");
                        srv_send(fd, "0\r\n\r\n");
                } else if (!strcmp(path, "/v1.41/text")) {
                        srv_send(fd, "HTTP/1.1 500 X\r\nContent-Length: 5\r\n\r\nboom\n");
                } else if (!strcmp(path, "/v1.41/continue")) {
                        srv_send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
                        srv_json(fd, 200, "{\"after\":100}", NULL);
                } else if (!strcmp(path, "/v1.41/hijack")) {
                        /* the first output in the same segment as the headers */
                        srv_send(fd, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n"
                                     "Upgrade: tcp\r\n\r\nhello");
                        char b[64];
                        ssize_t n = read(fd, b, sizeof(b));
                        if (n > 0)
                                write_all(fd, b, (size_t)n);
                        break;
                } else if (!strcmp(path, "/v1.41/hijackfail")) {
                        srv_json(fd, 404, "{\"message\":\"No such exec\"}", NULL);
                } else if (!strcmp(path, "/v1.41/wait")) {
                        srv_send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                        usleep(20000);
                        srv_chunk(fd, "{\"StatusCode\":");
                        srv_chunk(fd, "3}\n");
                        srv_send(fd, "0\r\n\r\n");
                        break;
                } else {
                        srv_json(fd, 404, "{\"message\":\"page not found\"}", NULL);
                }
        }
        close(fd);
        return NULL;
}

static void *srv_accept(void *arg)
{
        (void)arg;
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        return NULL;
                }
                pthread_t t;
                if (pthread_create(&t, NULL, srv_conn, (void *)(intptr_t)fd) != 0) {
                        close(fd);
                        continue;
                }
                pthread_detach(t);
        }
}

static int srv_start(void)
{
        strcpy(tmpdir, "/tmp/barge-test-client-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
                return -1;
        snprintf(sock_path, sizeof(sock_path), "%s/s.sock", tmpdir);
        snprintf(host, sizeof(host), "unix://%s", sock_path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, sock_path);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(listen_fd, 16) < 0)
                return -1;
        pthread_t t;
        if (pthread_create(&t, NULL, srv_accept, NULL) != 0)
                return -1;
        pthread_detach(t);
        return 0;
}

/* ---- tests ---- */

static struct client *open_client(void)
{
        struct client *c = NULL;
        struct err *e = NULL;
        if (client_open(host, &c, &e) < 0)
                err_free(&e);
        return c;
}

static void test_content_length(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        json_t *r = NULL;
        long st = 0;
        int ret = client_json(c, "GET", "/cl", NULL, NULL, &st, &r, &e);
        CHECK(ret == 0);
        CHECK(st == 200);
        CHECK(json_integer_value(json_object_get(r, "a")) == 1);
        CHECK_STR(client_last_header(c, "X-Test"), "yes");
        CHECK_STR(client_last_header(c, "x-test"), "yes");
        CHECK(client_last_header(c, "X-None") == NULL);
        CHECK(strstr(last_head, "GET /v1.41/cl HTTP/1.1\n"));
        CHECK(strstr(last_head, "Host: localhost\n"));
        json_decref(r);
        client_close(c);
}

static void test_chunked(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        json_t *r = NULL;
        CHECK(client_json(c, "GET", "/chunked", NULL, NULL, NULL, &r, &e) == 0);
        json_t *parts = json_object_get(r, "parts");
        CHECK(json_array_size(parts) == 2);
        CHECK(json_integer_value(json_array_get(parts, 1)) == 2);
        json_decref(r);
        /* the connection is still usable after the trailer */
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, &r, &e) == 0);
        json_decref(r);
        client_close(c);
}

static void test_json_body_and_keepalive(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        json_t *body = json_pack("{s:s}", "Image", "busybox"), *r1 = NULL, *r2 = NULL, *r3 = NULL;
        int ret = client_json(c, "POST", "/echo", body, NULL, NULL, &r1, &e);
        CHECK(ret == 0);
        CHECK(strstr(last_head, "Content-Type: application/json\n"));
        CHECK(last_body_len == strlen("{\"Image\":\"busybox\"}"));
        CHECK(!memcmp(last_body, "{\"Image\":\"busybox\"}", last_body_len));
        ret = client_json(c, "DELETE", "/echo", NULL, NULL, NULL, &r2, &e);
        CHECK(ret == 0);
        ret = client_json(c, "POST", "/echo", NULL, NULL, NULL, &r3, &e);
        CHECK(ret == 0);
        CHECK(strstr(last_head, "Content-Length: 0\n"));
        json_decref(body);
        /* one connection for all three */
        CHECK_STR(json_string_value(json_object_get(r2, "method")), "DELETE");
        CHECK(json_integer_value(json_object_get(r1, "conn")) ==
              json_integer_value(json_object_get(r2, "conn")));
        CHECK(json_integer_value(json_object_get(r2, "conn")) ==
              json_integer_value(json_object_get(r3, "conn")));
        json_decref(r1);
        json_decref(r2);
        json_decref(r3);
        client_close(c);
}

static void test_reconnect(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        json_t *r = NULL;
        int before = n_conns;
        /* Connection: close */
        CHECK(client_json(c, "GET", "/close", NULL, NULL, NULL, NULL, &e) == 0);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        CHECK(n_conns == before + 2);
        /* closed while idle, no header said so */
        CHECK(client_json(c, "GET", "/idleclose", NULL, NULL, NULL, NULL, &e) == 0);
        usleep(10000);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, &r, &e) == 0);
        CHECK(json_integer_value(json_object_get(r, "a")) == 1);
        json_decref(r);
        CHECK(n_conns == before + 3);
        /* closed when the next request came in: sent again on a new one */
        CHECK(client_json(c, "GET", "/dropnext", NULL, NULL, NULL, NULL, &e) == 0);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, &r, &e) == 0);
        CHECK(json_integer_value(json_object_get(r, "a")) == 1);
        json_decref(r);
        CHECK(n_conns == before + 4);
        /* a body that ends with the connection */
        struct buf b = {0};
        CHECK(client_stream(c, "GET", "/eof", NULL, NULL, NULL, NULL, collect, &b, NULL, &e) == 0);
        CHECK(b.len == 13 && !memcmp(b.data, "until the end", 13));
        free(b.data);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        CHECK(e == NULL);
        client_close(c);
}

static void test_interim_answer(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        json_t *r = NULL;
        long st = 0;
        CHECK(client_json(c, "POST", "/continue", NULL, NULL, &st, &r, &e) == 0);
        CHECK(st == 200);
        CHECK(json_integer_value(json_object_get(r, "after")) == 100);
        json_decref(r);
        client_close(c);
}

static void test_errors(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        long st = 0;
        json_t *r = NULL;
        CHECK(client_json(c, "GET", "/nf", NULL, NULL, &st, &r, &e) < 0);
        CHECK(st == 404);
        CHECK(r == NULL);
        CHECK(e && e->code == ENOENT);
        CHECK_STR(e->msg, "Error response from daemon: No such container: x");
        err_free(&e);
        CHECK(client_json(c, "POST", "/conflict", NULL, NULL, NULL, NULL, &e) < 0);
        CHECK(e && e->code == EEXIST);
        CHECK_STR(e->msg, "Error response from daemon: in use");
        err_free(&e);
        CHECK(client_json(c, "GET", "/text", NULL, NULL, NULL, NULL, &e) < 0);
        CHECK(e && e->code == EIO);
        CHECK_STR(e->msg, "Error response from daemon: boom");
        err_free(&e);
        /* and the connection still serves */
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        client_close(c);

        /* no daemon */
        _cleanup_free_ char *nohost = xasprintf("unix://%s/none.sock", tmpdir);
        CHECK(client_open(nohost, &c, &e) == 0);
        CHECK(client_json(c, "GET", "/_ping", NULL, NULL, NULL, NULL, &e) < 0);
        CHECK(e && e->code == ECONNREFUSED);
        _cleanup_free_ char *want =
            xasprintf("Cannot connect to the barge daemon at %s. Is barged running?", nohost);
        CHECK_STR(e->msg, want);
        err_free(&e);
        int fd = -1;
        CHECK(client_hijack(c, "POST", "/hijack", NULL, &fd, &e) < 0);
        CHECK_STR(e->msg, want);
        err_free(&e);
        client_close(c);
        CHECK(client_open("ftp://x", &c, &e) < 0);
        err_free(&e);
}

struct lines {
        int n[8];
        int count;
        int stop_at;
};

static int on_line(void *ctx, json_t *o)
{
        struct lines *l = ctx;
        if (l->count < 8)
                l->n[l->count++] = (int)json_integer_value(json_object_get(o, "n"));
        return l->stop_at && l->count == l->stop_at ? -1 : 0;
}

static void test_json_lines(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        struct lines l = {0};
        CHECK(client_stream_json(c, "GET", "/lines", NULL, NULL, on_line, &l, &e) == 0);
        CHECK(l.count == 3);
        CHECK(l.n[0] == 1 && l.n[1] == 2 && l.n[2] == 3);
        /* the callback stops the stream: an error, and the next request still works */
        struct lines l2 = {.stop_at = 1};
        CHECK(client_stream_json(c, "GET", "/lines", NULL, NULL, on_line, &l2, &e) < 0);
        CHECK(e != NULL);
        err_free(&e);
        CHECK(l2.count == 1);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        client_close(c);
}

struct src {
        size_t left;
        size_t chunk;
        int fail;
};

static ssize_t src_read(void *ctx, void *buf, size_t n)
{
        struct src *s = ctx;
        if (s->fail) {
                errno = EIO;
                return -1;
        }
        size_t take = s->left < n ? s->left : n;
        if (take > s->chunk)
                take = s->chunk;
        memset(buf, 'x', take);
        s->left -= take;
        return (ssize_t)take;
}

static int first_obj(void *ctx, json_t *o)
{
        json_t **out = ctx;
        if (*out == NULL)
                *out = json_incref(o);
        return 0;
}

static void test_upload_json(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        struct src s = {.left = 200000, .chunk = 7000};
        json_t *first = NULL;
        CHECK(client_upload_json(c, "POST", "/upload", NULL, "application/x-tar", src_read, &s,
                                 first_obj, &first, &e) == 0);
        CHECK(json_integer_value(json_object_get(first, "len")) == 200000);
        CHECK(json_integer_value(json_object_get(first, "chunked")) == 1);
        CHECK(strstr(last_head, "Content-Type: application/x-tar\n"));
        CHECK(strstr(last_head, "Transfer-Encoding: chunked\n"));
        json_decref(first);
        /* PUT with client_stream, an empty body */
        struct src empty = {.left = 0, .chunk = 1};
        long st = 0;
        CHECK(client_stream(c, "PUT", "/upload", NULL, "application/x-tar", src_read, &empty, NULL,
                            NULL, &st, &e) == 0);
        CHECK(st == 200);
        CHECK(last_body_len == 0 && last_chunked);
        /* the daemon refuses before it read the body: its answer, not EPIPE */
        struct src big = {.left = 4 << 20, .chunk = 65536};
        CHECK(client_stream(c, "PUT", "/reject", NULL, "application/x-tar", src_read, &big, NULL,
                            NULL, &st, &e) < 0);
        CHECK(st == 400);
        CHECK(e && e->code == EINVAL);
        CHECK_STR(e->msg, "Error response from daemon: not a tar");
        err_free(&e);
        /* a failing reader */
        struct src bad = {.fail = 1};
        CHECK(client_stream(c, "PUT", "/upload", NULL, "application/x-tar", src_read, &bad, NULL,
                            NULL, NULL, &e) < 0);
        err_free(&e);
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        client_close(c);
}

static void test_head(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        long st = 0;
        /* Content-Length of what a GET would send, no body after HEAD */
        CHECK(client_stream(c, "HEAD", "/head", NULL, NULL, NULL, NULL, NULL, NULL, &st, &e) == 0);
        CHECK(st == 200);
        CHECK_STR(client_last_header(c, "X-Docker-Container-Path-Stat"), "e30=");
        json_t *r = NULL;
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, &r, &e) == 0);
        CHECK(json_integer_value(json_object_get(r, "a")) == 1);
        json_decref(r);
        client_close(c);
}

static void test_hijack(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        /* a kept-alive connection is open meanwhile */
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        int fd = -1;
        json_t *body = json_pack("{s:b}", "Tty", 1);
        CHECK(client_hijack(c, "POST", "/hijack", body, &fd, &e) == 0);
        json_decref(body);
        CHECK(strstr(last_head, "Upgrade: tcp\n"));
        /* the bytes after the headers were left in the socket */
        char b[64] = {0};
        size_t got = 0;
        while (got < 5) {
                ssize_t n = read(fd, b + got, sizeof(b) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        CHECK(got == 5 && !memcmp(b, "hello", 5));
        CHECK(write_all(fd, "ping", 4) == 0);
        got = 0;
        while (got < 4) {
                ssize_t n = read(fd, b + got, sizeof(b) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        CHECK(got == 4 && !memcmp(b, "ping", 4));
        close(fd);
        fd = -1;
        CHECK(client_hijack(c, "POST", "/hijackfail", NULL, &fd, &e) < 0);
        CHECK(fd == -1);
        CHECK(e && e->code == ENOENT);
        CHECK_STR(e->msg, "Error response from daemon: No such exec");
        err_free(&e);
        client_close(c);
}

static void test_raw(void)
{
        struct client *c = open_client();
        CHECK(c);
        struct err *e = NULL;
        struct client_raw w = {.fd = -1};
        CHECK(client_raw_begin(c, "POST", "/wait", NULL, &w, &e) == 0);
        CHECK(w.chunked == 1);
        /* other requests meanwhile */
        CHECK(client_json(c, "GET", "/cl", NULL, NULL, NULL, NULL, &e) == 0);
        json_t *r = NULL;
        CHECK(client_raw_end(&w, &r, &e) == 0);
        CHECK(json_integer_value(json_object_get(r, "StatusCode")) == 3);
        CHECK(w.fd == -1);
        json_decref(r);
        struct client_raw w2 = {.fd = -1};
        CHECK(client_raw_begin(c, "POST", "/nf", NULL, &w2, &e) < 0);
        CHECK_STR(e->msg, "Error response from daemon: No such container: x");
        err_free(&e);
        client_close(c);
}

/* the headers straddling reads: the peek loop must find the blank line
 * across them and leave the rest */
static void test_peek_head_split(void)
{
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        const char *parts[] = {"HTTP/1.1 101 UP\r\nA: b\r", "\n\r", "\nrest"};
        struct buf h = {0};
        struct err *e = NULL;
        int ok = 1;
        pid_t pid = fork();
        if (pid == 0) {
                for (size_t i = 0; i < 3; i++) {
                        usleep(20000);
                        write_all(sv[1], parts[i], strlen(parts[i]));
                }
                _exit(0);
        }
        close(sv[1]);
        if (peek_head(sv[0], &h, &e) < 0)
                ok = 0;
        char rest[16] = {0};
        ssize_t n = read(sv[0], rest, sizeof(rest) - 1);
        waitpid(pid, NULL, 0);
        close(sv[0]);
        CHECK(ok);
        CHECK_STR(h.data, "HTTP/1.1 101 UP\r\nA: b\r\n\r\n");
        CHECK(n == 4 && !strcmp(rest, "rest"));
        free(h.data);
}

static void test_path(void)
{
        _cleanup_free_ char *p = client_path("/containers/%s/json?x=%s", "a b", "c&d/é");
        CHECK_STR(p, "/containers/a%20b/json?x=c%26d%2F%C3%A9");
}

int main(void)
{
        signal(SIGPIPE, SIG_IGN);
        /* a client that waits for bytes that never come hangs: fail instead */
        setvbuf(stdout, NULL, _IOLBF, 0);
        alarm(60);
        if (srv_start() < 0) {
                printf("# cannot start the test server: %s\n", strerror(errno));
                return 1;
        }
        RUN(test_content_length);
        RUN(test_chunked);
        RUN(test_json_body_and_keepalive);
        RUN(test_reconnect);
        RUN(test_interim_answer);
        RUN(test_errors);
        RUN(test_json_lines);
        RUN(test_upload_json);
        RUN(test_head);
        RUN(test_hijack);
        RUN(test_raw);
        RUN(test_peek_head_split);
        RUN(test_path);
        close(listen_fd);
        unlink(sock_path);
        rmdir(tmpdir);
        return DONE();
}

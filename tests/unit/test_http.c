/*
 * Tests for src/api/http.c: a server on a Unix socket in a temp dir with a
 * few test routes, driven with libcurl and raw sockets.
 */
#include "../../src/api/http.h"
#include "../../src/common/util.h"
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char sock_path[100];
static char tmpdir[64];
static struct http_server *srv;

static atomic_int stream_release;  /* /stream waits for this before its second write */
static atomic_llong upload_seen;   /* bytes /upload has read so far */
static atomic_int wait_saw_gone;   /* /wait noticed the client left */
static atomic_int forever_stopped; /* /forever's write failed */

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- routes ---- */

static void h_echo(struct http_req *r)
{
        struct err *e = NULL;
        long long n;
        if (http_query_int(r, "n", 7, &n, &e) < 0) {
                http_reply_err(r, e);
                err_free(&e);
                return;
        }
        json_t *f = NULL;
        if (http_query_json(r, "filters", &f, &e) < 0) {
                http_reply_err(r, e);
                err_free(&e);
                return;
        }
        const char *q = http_query(r, "q");
        const char *ua = http_header(r, "x-test");
        http_reply_json(r, 200,
                        json_pack("{s:s, s:s, s:i, s:s?, s:b, s:I, s:o?, s:s?, s:s}", "a",
                                  http_param(r, "a"), "path", http_path(r), "version",
                                  http_api_version(r), "q", q, "b", http_query_bool(r, "b", 1), "n",
                                  (json_int_t)n, "filters", f, "hdr", ua, "method",
                                  http_method(r)));
}

static void h_name(struct http_req *r)
{
        http_reply_json(r, 200,
                        json_pack("{s:s, s:s}", "name", http_param(r, "name"), "route",
                                  strstr(http_path(r), "/json") ? "json" : "plain"));
}

static void h_tag(struct http_req *r)
{
        http_reply_json(
            r, 200,
            json_pack("{s:s, s:s}", "name", http_param(r, "name"), "tag", http_param(r, "tag")));
}

static void h_json(struct http_req *r)
{
        struct err *e = NULL;
        json_t *body;
        if (http_body_json(r, &body, &e) < 0) {
                http_reply_err(r, e);
                err_free(&e);
                return;
        }
        if (!body) {
                http_reply_empty(r, 204);
                return;
        }
        http_add_header(r, "X-Extra", "yes");
        http_reply_json(r, 201, body);
}

static void h_stream(struct http_req *r)
{
        if (http_stream_begin(r, 200, "application/json") < 0)
                return;
        http_stream_write(r, "first\n", 6);
        long long t0 = now_ms();
        while (!atomic_load(&stream_release) && now_ms() - t0 < 5000)
                usleep(1000);
        json_t *o = json_pack("{s:s}", "status", "second");
        http_stream_json(r, o);
        json_decref(o);
        http_stream_end(r);
}

static void h_upload(struct http_req *r)
{
        char buf[65536];
        unsigned long long sum = 0;
        long long n = 0;
        ssize_t k;
        while ((k = http_body_read(r, buf, sizeof(buf))) > 0) {
                for (ssize_t i = 0; i < k; i++)
                        sum = sum * 31 + (unsigned char)buf[i];
                n += k;
                atomic_store(&upload_seen, n);
        }
        if (k < 0) {
                http_reply_error(r, 400, "client went away");
                return;
        }
        http_reply_json(r, 200,
                        json_pack("{s:I, s:I}", "n", (json_int_t)n, "sum",
                                  (json_int_t)(sum & 0x7fffffffffffffffULL)));
}

/* reads stdin to its end, then answers "got N: <data>" (half-close) */
static void h_hijack(struct http_req *r)
{
        struct err *e = NULL;
        int fd;
        json_t *body = NULL;
        /* exec start sends a JSON body before the upgrade */
        if (http_body_json(r, &body, &e) < 0 || !json_is_true(json_object_get(body, "ok"))) {
                json_decref(body);
                http_reply_error(r, 400, "want {\"ok\":true}");
                err_free(&e);
                return;
        }
        json_decref(body);
        if (http_hijack(r, "application/vnd.docker.raw-stream", &fd, &e) < 0) {
                err_free(&e);
                return;
        }
        char buf[4096];
        size_t len = 0;
        ssize_t k;
        while (len < sizeof(buf) && (k = read(fd, buf + len, sizeof(buf) - len)) > 0)
                len += (size_t)k;
        char out[4200];
        int n = snprintf(out, sizeof(out), "got %zu: %.*s", len, (int)len, buf);
        write_all(fd, out, (size_t)n);
        http_hijack_done(r);
}

/* a hijacked connection that only ends when its reads fail (stop test) */
static void h_hijack_block(struct http_req *r)
{
        struct err *e = NULL;
        int fd;
        if (http_hijack(r, "application/vnd.docker.raw-stream", &fd, &e) < 0) {
                err_free(&e);
                return;
        }
        write_all(fd, "ready", 5);
        char buf[256];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        http_hijack_done(r);
}

static void h_wait(struct http_req *r)
{
        int begin = http_query_bool(r, "begin", 1);
        if (begin)
                http_stream_begin(r, 200, "application/json");
        long long t0 = now_ms();
        while (!http_client_gone(r) && now_ms() - t0 < 5000)
                usleep(5000);
        if (http_client_gone(r))
                atomic_store(&wait_saw_gone, 1);
        if (begin)
                http_stream_end(r);
        else
                http_reply_empty(r, 204);
}

static void h_forever(struct http_req *r)
{
        http_stream_begin(r, 200, "text/plain");
        while (http_stream_write(r, "tick\n", 5) == 0)
                usleep(10000);
        atomic_store(&forever_stopped, 1);
        http_stream_end(r);
}

static void h_slow(struct http_req *r)
{
        usleep(300000);
        http_reply_data(r, 200, "text/plain", "slow", 4);
}

static void h_noanswer(struct http_req *r)
{
}

static void h_err(struct http_req *r)
{
        struct err *e = NULL;
        err_new(&e, ENOENT, "No such container: %s", http_param(r, "id"));
        http_reply_err(r, e);
        err_free(&e);
}

static void h_status(struct http_req *r)
{
        long long st = 0;
        struct err *e = NULL;
        http_query_int(r, "s", 200, &st, &e);
        err_free(&e);
        if (http_query_bool(r, "empty", 0)) {
                http_reply_empty(r, (int)st);
                return;
        }
        err_new(&e, EALREADY, "container already started");
        http_reply_error(r, (int)st, "%s", e->msg);
        err_free(&e);
}

/* a streamed-body route that answers without reading the body */
static void h_reject(struct http_req *r)
{
        http_reply_error(r, 400, "rejected");
}

static void h_ping(struct http_req *r)
{
        http_reply_data(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

static const struct http_route routes[] = {
    {"GET", "/_ping", h_ping, 0},
    {"HEAD", "/_ping", h_ping, 0},
    {"GET", "/echo/{a}/x", h_echo, 0},
    {"POST", "/echo/{a}/x", h_echo, 0},
    {"GET", "/images/{name*}/json", h_name, 0},
    {"POST", "/images/{name*}/tag/{tag}", h_tag, 0},
    {"GET", "/images/{name*}", h_name, 0},
    {"POST", "/json", h_json, 0},
    {"GET", "/stream", h_stream, 0},
    {"POST", "/upload", h_upload, HTTP_STREAM_BODY},
    {"POST", "/hijack", h_hijack, 0},
    {"POST", "/hijack-block", h_hijack_block, 0},
    {"GET", "/wait", h_wait, 0},
    {"GET", "/forever", h_forever, 0},
    {"GET", "/slow", h_slow, 0},
    {"GET", "/noanswer", h_noanswer, 0},
    {"GET", "/status", h_status, 0},
    {"POST", "/reject", h_reject, HTTP_STREAM_BODY},
    {"GET", "/containers/{id}/err", h_err, 0},
    {NULL, NULL, NULL, 0},
};

/* ---- clients ---- */

static int listen_unix(const char *path)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
                perror("listen");
                exit(2);
        }
        return fd;
}

static struct http_server *start_server(void)
{
        struct http_server *s = NULL;
        struct err *e = NULL;
        int fd = listen_unix(sock_path);
        if (http_server_start(fd, routes, (void *)0x1234, &s, &e) < 0) {
                printf("# %s\n", e->msg);
                exit(2);
        }
        return s;
}

static int dial(void)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Read into buf (NUL-terminated) until `want` appears, EOF, or timeout.
 * Returns bytes read. */
static size_t read_until(int fd, char *buf, size_t cap, size_t have, const char *want,
                         int timeout_ms)
{
        long long end = now_ms() + timeout_ms;
        buf[have] = 0;
        while (have + 1 < cap && (!want || !strstr(buf, want))) {
                long long left = end - now_ms();
                if (left <= 0)
                        break;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, (int)left) <= 0)
                        break;
                ssize_t k = read(fd, buf + have, cap - 1 - have);
                if (k <= 0)
                        break;
                have += (size_t)k;
                buf[have] = 0;
        }
        return have;
}

struct resp {
        long status;
        char *body;
        size_t len;
        char *hdrs;
        size_t hlen;
};

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
        char **buf = ud;
        size_t *len = (size_t *)(buf + 1);
        size_t k = sz * n;
        *buf = realloc(*buf, *len + k + 1);
        memcpy(*buf + *len, p, k);
        *len += k;
        (*buf)[*len] = 0;
        return k;
}

static void resp_free(struct resp *r)
{
        free(r->body);
        free(r->hdrs);
        memset(r, 0, sizeof(*r));
}

/* One request with curl (handle reused if given). */
static int request(CURL *c, const char *method, const char *url, const char *body,
                   struct curl_slist *hdrs, struct resp *out)
{
        int own = !c;
        if (own)
                c = curl_easy_init();
        char full[1024];
        snprintf(full, sizeof(full), "http://localhost%s", url);
        memset(out, 0, sizeof(*out));
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path);
        curl_easy_setopt(c, CURLOPT_URL, full);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        } else if (strcmp(method, "POST") == 0) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        } else {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
                curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
        }
        struct {
                char *b;
                size_t l;
        } b = {0}, h = {0};
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        out->body = b.b ? b.b : xstrdup("");
        out->len = b.l;
        out->hdrs = h.b ? h.b : xstrdup("");
        out->hlen = h.l;
        if (own)
                curl_easy_cleanup(c);
        return rc == CURLE_OK ? 0 : -1;
}

static json_t *body_json(struct resp *r)
{
        return json_loads(r->body, 0, NULL);
}

static const char *jstr(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

/* ---- tests ---- */

static void test_routing(void)
{
        struct resp r;
        CHECK(request(NULL, "GET", "/echo/ab%20c/x?q=a+b%2Bc&b=false&n=42", NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        json_t *o = body_json(&r);
        CHECK(o);
        CHECK_STR(jstr(o, "a"), "ab c");
        CHECK_STR(jstr(o, "path"), "/echo/ab c/x");
        CHECK_STR(jstr(o, "q"), "a b+c");
        CHECK(json_integer_value(json_object_get(o, "version")) == 141);
        CHECK(json_is_false(json_object_get(o, "b")));
        CHECK(json_integer_value(json_object_get(o, "n")) == 42);
        json_decref(o);
        resp_free(&r);

        CHECK(request(NULL, "GET", "/v1.30/echo/z/x?b", NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        o = body_json(&r);
        CHECK(json_integer_value(json_object_get(o, "version")) == 130);
        CHECK_STR(jstr(o, "path"), "/echo/z/x");
        CHECK(json_is_false(json_object_get(o, "b"))); /* "" is false */
        CHECK(json_integer_value(json_object_get(o, "n")) == 7);
        json_decref(o);
        resp_free(&r);

        CHECK(request(NULL, "GET", "/v1.41/echo/z/x?b=1&n=x", NULL, NULL, &r) == 0);
        CHECK(r.status == 400);
        CHECK(strstr(r.body, "\"message\"") && strstr(r.body, "n"));
        resp_free(&r);

        CHECK(request(NULL, "GET", "/v1.41/echo/z/x?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D",
                      NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        o = body_json(&r);
        CHECK_STR(json_string_value(
                      json_array_get(json_object_get(json_object_get(o, "filters"), "label"), 0)),
                  "a=b");
        json_decref(o);
        resp_free(&r);

        CHECK(request(NULL, "GET", "/echo/z/x?filters=%7Bnope", NULL, NULL, &r) == 0);
        CHECK(r.status == 400);
        CHECK(strstr(r.body, "filters") != NULL);
        resp_free(&r);

        /* {name*}: greedy, the rest of the pattern must match */
        CHECK(request(NULL, "GET", "/images/reg.io:5000/a/b:1/json", NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        o = body_json(&r);
        CHECK_STR(jstr(o, "name"), "reg.io:5000/a/b:1");
        CHECK_STR(jstr(o, "route"), "json");
        json_decref(o);
        resp_free(&r);
        CHECK(request(NULL, "GET", "/v1.41/images/busybox", NULL, NULL, &r) == 0);
        o = body_json(&r);
        CHECK_STR(jstr(o, "name"), "busybox");
        json_decref(o);
        resp_free(&r);
        CHECK(request(NULL, "POST", "/images/a/b/tag/t1", NULL, NULL, &r) == 0);
        o = body_json(&r);
        CHECK_STR(jstr(o, "name"), "a/b");
        CHECK_STR(jstr(o, "tag"), "t1");
        json_decref(o);
        resp_free(&r);

        /* header lookup is case-insensitive */
        struct curl_slist *h = curl_slist_append(NULL, "X-Test: hello");
        CHECK(request(NULL, "GET", "/echo/a/x", NULL, h, &r) == 0);
        curl_slist_free_all(h);
        o = body_json(&r);
        CHECK_STR(jstr(o, "hdr"), "hello");
        json_decref(o);
        resp_free(&r);
}

static void test_errors_and_headers(void)
{
        struct resp r;
        CHECK(request(NULL, "GET", "/nope", NULL, NULL, &r) == 0);
        CHECK(r.status == 404);
        CHECK_STR(r.body, "{\"message\":\"page not found\"}\n");
        CHECK(strstr(r.hdrs, "Api-Version: 1.41\r\n"));
        CHECK(strstr(r.hdrs, "Server: barge/"));
        CHECK(strstr(r.hdrs, "Docker-Experimental: false\r\n"));
        CHECK(strstr(r.hdrs, "Ostype: linux\r\n"));
        CHECK(strstr(r.hdrs, "Content-Type: application/json"));
        resp_free(&r);

        /* a known path with the wrong method: 404, as dockerd */
        CHECK(request(NULL, "DELETE", "/_ping", NULL, NULL, &r) == 0);
        CHECK(r.status == 404);
        resp_free(&r);

        CHECK(request(NULL, "GET", "/v1.99/_ping", NULL, NULL, &r) == 0);
        CHECK(r.status == 400);
        CHECK_STR(r.body, "{\"message\":\"client version 1.99 is too new. Maximum supported API "
                          "version is 1.41\"}\n");
        resp_free(&r);
        CHECK(request(NULL, "GET", "/v1.12/_ping", NULL, NULL, &r) == 0);
        CHECK(r.status == 400);
        CHECK(strstr(r.body, "too old"));
        resp_free(&r);

        CHECK(request(NULL, "HEAD", "/_ping", NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        CHECK(strstr(r.hdrs, "Api-Version: 1.41\r\n"));
        CHECK(strstr(r.hdrs, "Ostype: linux\r\n"));
        resp_free(&r);

        CHECK(request(NULL, "GET", "/containers/abc/err", NULL, NULL, &r) == 0);
        CHECK(r.status == 404);
        CHECK_STR(r.body, "{\"message\":\"No such container: abc\"}\n");
        resp_free(&r);

        CHECK(request(NULL, "GET", "/noanswer", NULL, NULL, &r) == 0);
        CHECK(r.status == 500);
        CHECK(strstr(r.hdrs, "Api-Version: 1.41\r\n"));
        resp_free(&r);
}

static void test_json_body(void)
{
        struct resp r;
        CHECK(request(NULL, "POST", "/json", "{\"a\": [1, 2]}", NULL, &r) == 0);
        CHECK(r.status == 201);
        CHECK_STR(r.body, "{\"a\":[1,2]}\n");
        CHECK(strstr(r.hdrs, "X-Extra: yes\r\n"));
        resp_free(&r);

        CHECK(request(NULL, "POST", "/json", "{bad", NULL, &r) == 0);
        CHECK(r.status == 400);
        CHECK(strstr(r.body, "invalid JSON body: ") && strstr(r.body, "at line 1"));
        resp_free(&r);

        CHECK(request(NULL, "POST", "/json", NULL, NULL, &r) == 0);
        CHECK(r.status == 204);
        resp_free(&r);

        /* over 16 MiB on a buffered route: 413 */
        size_t big = (16u << 20) + 10;
        char *b = xmalloc(big + 1);
        memset(b, ' ', big);
        b[big] = 0;
        CHECK(request(NULL, "POST", "/json", b, NULL, &r) == 0 || r.status == 413);
        free(b);
        CHECK(r.status == 413);
        resp_free(&r);
}

/* bodiless statuses carry no body, so the connection stays usable */
static void test_bodiless(void)
{
        int fd = dial();
        CHECK(fd >= 0);
        const char *req = "GET /status?s=304 HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /status?s=204&empty=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n";
        write_all(fd, req, strlen(req));
        char buf[8192];
        read_until(fd, buf, sizeof(buf), 0, "\r\n\r\nOK", 3000);
        close(fd);
        char *a = strstr(buf, "HTTP/1.1 304");
        char *b = a ? strstr(a, "HTTP/1.1 204") : NULL;
        char *c = b ? strstr(b, "HTTP/1.1 200") : NULL;
        if (!c)
                printf("# %s\n", buf);
        CHECK(a == buf && b && c);
        CHECK(!strstr(buf, "already started"));
        CHECK(strstr(c, "\r\n\r\nOK"));
}

/* a streamed-body handler that answers before reading: the answer arrives */
static void test_stream_body_early_answer(void)
{
        struct resp r;
        size_t big = 4u << 20;
        char *b = xmalloc(big + 1);
        memset(b, 'x', big);
        b[big] = 0;
        int rc = request(NULL, "POST", "/reject", b, NULL, &r);
        free(b);
        CHECK(rc == 0);
        CHECK(r.status == 400);
        CHECK_STR(r.body, "{\"message\":\"rejected\"}\n");
        resp_free(&r);
}

static void test_keepalive(void)
{
        CURL *c = curl_easy_init();
        struct resp r;
        CHECK(request(c, "GET", "/_ping", NULL, NULL, &r) == 0);
        CHECK(r.status == 200);
        CHECK_STR(r.body, "OK");
        resp_free(&r);
        CHECK(request(c, "POST", "/json", "[1]", NULL, &r) == 0);
        CHECK(r.status == 201);
        resp_free(&r);
        long conns = -1;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
        curl_easy_cleanup(c);
        CHECK(conns == 0); /* the second request reused the connection */
}

static void test_stream(void)
{
        atomic_store(&stream_release, 0);
        int fd = dial();
        CHECK(fd >= 0);
        const char *req = "GET /v1.41/stream HTTP/1.1\r\nHost: x\r\n\r\n";
        write_all(fd, req, strlen(req));
        char buf[4096];
        size_t n = read_until(fd, buf, sizeof(buf), 0, "first\n", 3000);
        int ok = strstr(buf, "first\n") != NULL;
        atomic_store(&stream_release, 1);
        if (!ok)
                close(fd);
        CHECK(ok); /* arrived while the handler still waits */
        CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
        CHECK(strcasestr(buf, "Transfer-Encoding: chunked"));
        CHECK(strstr(buf, "Api-Version: 1.41"));
        n = read_until(fd, buf, sizeof(buf), n, "\r\n0\r\n\r\n", 3000);
        CHECK(strstr(buf, "{\"status\":\"second\"}\n"));
        CHECK(strstr(buf, "\r\n0\r\n\r\n"));
        /* the connection is kept for the next request */
        req = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n";
        write_all(fd, req, strlen(req));
        n = read_until(fd, buf, sizeof(buf), 0, "OK", 3000);
        close(fd);
        CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\r\n\r\nOK"));
}

/* http_client_gone, after the headers went out and before any answer */
static void test_client_gone(void)
{
        for (int begin = 1; begin >= 0; begin--) {
                atomic_store(&wait_saw_gone, 0);
                int fd = dial();
                CHECK(fd >= 0);
                const char *req = begin ? "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"
                                        : "GET /wait?begin=0 HTTP/1.1\r\nHost: x\r\n\r\n";
                write_all(fd, req, strlen(req));
                char buf[1024];
                read_until(fd, buf, sizeof(buf), 0, "\r\n\r\n", begin ? 3000 : 200);
                close(fd);
                if (begin)
                        CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
                long long t0 = now_ms();
                while (!atomic_load(&wait_saw_gone) && now_ms() - t0 < 3000)
                        usleep(5000);
                CHECK(atomic_load(&wait_saw_gone));
        }
}

static void test_chunked_upload(void)
{
        atomic_store(&upload_seen, 0);
        int fd = dial();
        CHECK(fd >= 0);
        const char *req = "POST /v1.41/upload HTTP/1.1\r\nHost: x\r\n"
                          "Transfer-Encoding: chunked\r\nContent-Type: application/x-tar\r\n\r\n";
        write_all(fd, req, strlen(req));
        size_t chunk = 1 << 20, total = 0;
        char *data = xmalloc(chunk);
        unsigned long long sum = 0;
        char hdr[32];
        int streamed = 0;
        for (int i = 0; i < 48; i++) { /* 48 MiB, more than the buffered limit */
                for (size_t j = 0; j < chunk; j++)
                        data[j] = (char)(i * 7 + j);
                for (size_t j = 0; j < chunk; j++)
                        sum = sum * 31 + (unsigned char)data[j];
                int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", chunk);
                write_all(fd, hdr, (size_t)hl);
                write_all(fd, data, chunk);
                write_all(fd, "\r\n", 2);
                total += chunk;
                if (i == 0) {
                        /* the handler sees the first chunk before the upload ends */
                        long long t0 = now_ms();
                        while (atomic_load(&upload_seen) == 0 && now_ms() - t0 < 3000)
                                usleep(1000);
                        streamed = atomic_load(&upload_seen) > 0;
                }
        }
        free(data);
        write_all(fd, "0\r\n\r\n", 5);
        char buf[4096];
        read_until(fd, buf, sizeof(buf), 0, "}", 10000);
        close(fd);
        CHECK(streamed);
        CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
        char want[128];
        snprintf(want, sizeof(want), "{\"n\":%zu,\"sum\":%llu}", total,
                 sum & 0x7fffffffffffffffULL);
        CHECK(strstr(buf, want));
}

static void hijack_case(int upgrade, char *err, size_t errlen)
{
        err[0] = 0;
        int fd = dial();
        if (fd < 0) {
                snprintf(err, errlen, "dial");
                return;
        }
        char req[256];
        snprintf(req, sizeof(req),
                 "POST /v1.41/hijack HTTP/1.1\r\nHost: x\r\n%sContent-Type: "
                 "application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
                 upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "");
        write_all(fd, req, strlen(req));
        char buf[8192];
        size_t n = read_until(fd, buf, sizeof(buf), 0, "\r\n\r\n", 3000);
        const char *want = upgrade ? "HTTP/1.1 101" : "HTTP/1.1 200";
        if (strncmp(buf, want, 12) != 0 ||
            !strstr(buf, "Content-Type: application/vnd.docker.raw-stream\r\n") ||
            strcasestr(buf, "Content-Length") || strcasestr(buf, "chunked") ||
            !strstr(buf, "Api-Version: 1.41\r\n") ||
            (upgrade &&
             (!strstr(buf, "Upgrade: tcp\r\n") || !strstr(buf, "Connection: Upgrade")))) {
                snprintf(err, errlen, "bad headers: %s", buf);
                close(fd);
                return;
        }
        char *body = strstr(buf, "\r\n\r\n") + 4;
        size_t have = n - (size_t)(body - buf);
        memmove(buf, body, have);
        buf[have] = 0;
        usleep(50000);
        write_all(fd, "hello ", 6);
        usleep(20000);
        write_all(fd, "world", 5);
        shutdown(fd, SHUT_WR); /* stdin done; output must still arrive */
        n = read_until(fd, buf, sizeof(buf), have, NULL, 3000);
        close(fd);
        if (strcmp(buf, "got 11: hello world") != 0)
                snprintf(err, errlen, "bad output: '%s'", buf);
}

static void test_hijack_upgrade(void)
{
        char err[9000];
        hijack_case(1, err, sizeof(err));
        if (err[0])
                printf("# %s\n", err);
        CHECK(!err[0]);
}

static void test_hijack_plain(void)
{
        char err[9000];
        hijack_case(0, err, sizeof(err));
        if (err[0])
                printf("# %s\n", err);
        CHECK(!err[0]);
}

/* a handler writing at once after http_hijack: its bytes follow the headers */
static void test_hijack_order(void)
{
        for (int upgrade = 0; upgrade < 2; upgrade++) {
                int fd = dial();
                CHECK(fd >= 0);
                char req[256];
                snprintf(req, sizeof(req),
                         "POST /hijack-block HTTP/1.1\r\nHost: x\r\n%sContent-Length: 0\r\n\r\n",
                         upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "");
                write_all(fd, req, strlen(req));
                char buf[4096];
                read_until(fd, buf, sizeof(buf), 0, "ready", 3000);
                shutdown(fd, SHUT_WR); /* lets the handler end */
                close(fd);
                const char *hdr_end = strstr(buf, "\r\n\r\n");
                CHECK(strncmp(buf, upgrade ? "HTTP/1.1 101" : "HTTP/1.1 200", 12) == 0);
                CHECK(hdr_end && strcmp(hdr_end + 4, "ready") == 0);
        }
}

static atomic_int par_ok;

static void *par_client(void *arg)
{
        struct resp r;
        if (request(NULL, "GET", "/slow", NULL, NULL, &r) == 0 && r.status == 200 &&
            strcmp(r.body, "slow") == 0)
                atomic_fetch_add(&par_ok, 1);
        resp_free(&r);
        /* and routing with parameters from many threads at once */
        char url[64], want[32];
        snprintf(url, sizeof(url), "/v1.40/images/r/n%ld/json", (long)(intptr_t)arg);
        snprintf(want, sizeof(want), "\"r/n%ld\"", (long)(intptr_t)arg);
        if (request(NULL, "GET", url, NULL, NULL, &r) == 0 && r.status == 200 &&
            strstr(r.body, want))
                atomic_fetch_add(&par_ok, 1);
        resp_free(&r);
        return NULL;
}

static void test_concurrency(void)
{
        enum { N = 60 };
        pthread_t t[N];
        atomic_store(&par_ok, 0);
        long long t0 = now_ms();
        for (int i = 0; i < N; i++)
                pthread_create(&t[i], NULL, par_client, (void *)(intptr_t)i);
        for (int i = 0; i < N; i++)
                pthread_join(t[i], NULL);
        long long took = now_ms() - t0;
        printf("# %d parallel clients (300 ms requests) took %lld ms\n", N, took);
        CHECK(atomic_load(&par_ok) == 2 * N);
        CHECK(took < (UNDER_ASAN ? 6000 : 3000)); /* they ran at the same time */
}

/* stop with an open stream and an open hijacked connection: both end */
static void test_stop_with_streams(void)
{
        atomic_store(&forever_stopped, 0);
        int fd = dial();
        CHECK(fd >= 0);
        const char *req = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
        write_all(fd, req, strlen(req));
        char buf[8192];
        read_until(fd, buf, sizeof(buf), 0, "tick", 3000);
        int fd2 = dial();
        req = "POST /hijack-block HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: "
              "tcp\r\nContent-Length: 0\r\n\r\n";
        write_all(fd2, req, strlen(req));
        char buf2[4096];
        read_until(fd2, buf2, sizeof(buf2), 0, "ready", 3000);
        int fd5 = dial(); /* a hijack without upgrade */
        req = "POST /hijack-block HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        write_all(fd5, req, strlen(req));
        char buf5[4096];
        read_until(fd5, buf5, sizeof(buf5), 0, "ready", 3000);
        int fd3 = dial(); /* an idle keep-alive connection */
        int ok1 = strstr(buf, "tick") != NULL, ok2 = strstr(buf2, "ready") && strstr(buf5, "ready");
        if (!ok1 || !ok2)
                printf("# stream: %.200s\n# hijack: %.200s\n", buf, buf2);

        long long t0 = now_ms();
        http_server_stop(srv);
        srv = NULL;
        long long took = now_ms() - t0;
        /* the clients see their connections end */
        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k <= 0)
                        break;
        }
        close(fd);
        int eof2 = read(fd2, buf2, sizeof(buf2)) <= 0;
        close(fd2);
        int eof5 = read(fd5, buf5, sizeof(buf5)) <= 0;
        close(fd5);
        close(fd3);
        CHECK(ok1 && ok2);
        CHECK(took < 3000);
        CHECK(atomic_load(&forever_stopped));
        CHECK(eof2 && eof5);
        int fd4 = dial();
        CHECK(fd4 < 0); /* nothing listens any more */
}

int main(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_http.XXXXXX");
        if (!mkdtemp(tmpdir))
                return 2;
        snprintf(sock_path, sizeof(sock_path), "%s/api.sock", tmpdir);
        curl_global_init(CURL_GLOBAL_ALL);
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* as barged does: a write to a client that left fails with EPIPE */
        signal(SIGPIPE, SIG_IGN);
        alarm(300); /* a hung server fails the test instead of hanging it */
        srv = start_server();

        RUN(test_routing);
        RUN(test_errors_and_headers);
        RUN(test_json_body);
        RUN(test_keepalive);
        RUN(test_bodiless);
        RUN(test_stream_body_early_answer);
        RUN(test_stream);
        RUN(test_client_gone);
        RUN(test_chunked_upload);
        RUN(test_hijack_upgrade);
        RUN(test_hijack_plain);
        RUN(test_hijack_order);
        RUN(test_concurrency);
        RUN(test_stop_with_streams);

        if (srv)
                http_server_stop(srv);
        curl_global_cleanup();
        unlink(sock_path);
        rmdir(tmpdir);
        return DONE();
}

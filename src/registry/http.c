/*
 * http: the registry client's transport over libcurl, one struct reg_client
 * per operation (a pull or a push of one repository).
 *
 * Where to connect: docker.io is https://registry-1.docker.io, or the
 * mirror when one is configured (plain http only if the mirror URL says
 * so).  Any other registry is https; hosts in the insecure list and
 * loopback hosts (localhost, 127.0.0.0/8, ::1) are tried over https without
 * certificate checks first and fall back to plain http, as docker does.
 *
 * Auth: requests go out anonymously until a 401; its WWW-Authenticate
 * challenge decides: Basic sends the credentials from the auth file, Bearer
 * fetches a token from the realm (with Basic credentials when there are
 * some) for every scope the operation needs, and the header is kept for the
 * rest of the operation.  A second 401 is final.
 *
 * Retries: connection failures, dropped connections, 5xx and 429 are tried
 * again up to REG_RETRIES times with backoff; anything else is final at once.
 * Timeouts: 15 s to connect; a transfer slower than 1 KiB/s for 30 s fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"

#define USER_AGENT "barge/0.1"
#define CONNECT_TIMEOUT_S 15L
#define LOW_SPEED_BYTES 1024L
#define LOW_SPEED_TIME_S 30L

struct reg_client {
        char *domain;    /* as in the reference: "docker.io", "localhost:5000" */
        char *repo;      /* "library/busybox" */
        char *auth_host; /* whose credentials apply (the mirror's host for a mirror) */
        char *base;      /* decided base URL, NULL until the first request */
        char *https_base, *http_base;
        int may_http;     /* insecure, loopback, or an http mirror */
        int tls_noverify; /* insecure or loopback */
        char **scopes;
        size_t n_scopes;
        char *authz; /* "Bearer ..." / "Basic ...", NULL while anonymous */
        char *user, *pass;
        int creds_loaded;
        const struct registry_opts *o;
        CURL *easy; /* reused for the serial requests: keeps the connection */
};

static void once_init(void)
{
        static int done;
        /* curl_global_init is not thread safe; barge calls the registry from
         * one thread.  libcurl >= 7.84 initializes lazily anyway. */
        if (!done) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                done = 1;
        }
}

/* ---- where to connect ---- */

static int is_loopback_host(const char *domain)
{
        /* strip the port: "[::1]:5000", "127.0.0.1:5000", "localhost" */
        char host[256];
        if (domain[0] == '[') {
                const char *close = strchr(domain, ']');
                if (close == NULL)
                        return 0;
                snprintf(host, sizeof(host), "%.*s", (int)(close - domain - 1), domain + 1);
        } else {
                snprintf(host, sizeof(host), "%.*s", (int)strcspn(domain, ":"), domain);
        }
        if (strcasecmp(host, "localhost") == 0)
                return 1;
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return 0;
}

static int is_insecure(const struct registry_opts *o, const char *domain)
{
        if (o == NULL || o->insecure == NULL)
                return 0;
        size_t hostlen = domain[0] == '[' ? strcspn(domain, "]") + 1 : strcspn(domain, ":");
        for (const char *const *p = o->insecure; *p; p++) {
                const char *v = *p;
                if (str_has_prefix(v, "http://"))
                        v += 7;
                else if (str_has_prefix(v, "https://"))
                        v += 8;
                size_t vl = strcspn(v, "/");
                /* "host:port" exactly, or "host" for every port */
                if ((vl == strlen(domain) && strncmp(v, domain, vl) == 0) ||
                    (vl == hostlen && strncmp(v, domain, vl) == 0))
                        return 1;
        }
        return 0;
}

int reg_host_may_use_http(const struct registry_opts *o, const char *domain)
{
        return is_insecure(o, domain) || is_loopback_host(domain);
}

int reg_client_new(const char *domain, const char *repo, int push, const struct registry_opts *o,
                   struct reg_client **out, struct err **e)
{
        once_init();
        struct reg_client *c = xcalloc(1, sizeof(*c));
        c->domain = xstrdup(domain);
        c->repo = xstrdup(repo);
        c->o = o;
        if (strcmp(domain, DOCKER_IO) == 0 && o && o->mirror && *o->mirror) {
                const char *m = o->mirror;
                size_t n = strlen(m);
                while (n > 0 && m[n - 1] == '/')
                        n--;
                if (str_has_prefix(m, "http://")) {
                        c->http_base = xstrndup(m, n);
                        c->base = xstrdup(c->http_base);
                        c->auth_host = reg_server_domain(c->http_base);
                } else {
                        c->https_base = str_has_prefix(m, "https://")
                                            ? xstrndup(m, n)
                                            : xasprintf("https://%.*s", (int)n, m);
                        c->base = xstrdup(c->https_base);
                        c->auth_host = reg_server_domain(c->https_base);
                }
        } else if (strcmp(domain, DOCKER_IO) == 0) {
                c->https_base = xstrdup(DOCKER_HUB_URL);
                c->base = xstrdup(c->https_base);
                c->auth_host = xstrdup(DOCKER_IO);
        } else {
                c->https_base = xasprintf("https://%s", domain);
                c->http_base = xasprintf("http://%s", domain);
                c->auth_host = xstrdup(domain);
                if (reg_host_may_use_http(o, domain)) {
                        c->may_http = 1;
                        c->tls_noverify = 1;
                } else {
                        c->base = xstrdup(c->https_base);
                }
        }
        c->easy = curl_easy_init();
        if (c->easy == NULL) {
                reg_client_free(c);
                return err_new(e, ENOMEM, "curl_easy_init failed");
        }
        if (*repo) {
                _cleanup_free_ char *scope =
                    xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
                reg_client_add_scope(c, scope);
        }
        *out = c;
        return 0;
}

void reg_client_free(struct reg_client *c)
{
        if (c == NULL)
                return;
        if (c->easy)
                curl_easy_cleanup(c->easy);
        free(c->domain);
        free(c->repo);
        free(c->auth_host);
        free(c->base);
        free(c->https_base);
        free(c->http_base);
        reg_strv_free(c->scopes, c->n_scopes);
        free(c->authz);
        free(c->user);
        if (c->pass)
                explicit_bzero(c->pass, strlen(c->pass));
        free(c->pass);
        free(c);
}

void reg_client_add_scope(struct reg_client *c, const char *scope)
{
        for (size_t i = 0; i < c->n_scopes; i++)
                if (strcmp(c->scopes[i], scope) == 0)
                        return;
        c->scopes = realloc(c->scopes, (c->n_scopes + 1) * sizeof(char *));
        if (c->scopes == NULL)
                abort();
        c->scopes[c->n_scopes++] = xstrdup(scope);
        /* a Bearer token covers the scopes it was asked for: ask again */
        if (c->authz && str_has_prefix(c->authz, "Bearer ")) {
                free(c->authz);
                c->authz = NULL;
        }
}

void reg_client_set_creds(struct reg_client *c, const char *user, const char *pass)
{
        free(c->user);
        free(c->pass);
        c->user = xstrdup(user);
        c->pass = xstrdup(pass);
        c->creds_loaded = 1;
}

const char *reg_client_base(struct reg_client *c)
{
        return c->base ? c->base : c->https_base;
}

const char *reg_client_repo(const struct reg_client *c)
{
        return c->repo;
}

/* ---- one HTTP exchange ---- */

void reg_response_clear(struct reg_response *r)
{
        free(r->body);
        free(r->content_type);
        free(r->digest);
        free(r->location);
        free(r->www_authenticate);
        free(r->retry_after);
        memset(r, 0, sizeof(*r));
}

struct xfer {
        struct reg_response *resp;
        size_t max, cap;
        int too_big;
        const struct reg_body *body;
        size_t body_off;
};

static char *header_value(const char *line, size_t n, const char *name)
{
        size_t nl = strlen(name);
        if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        const char *v = line + nl + 1;
        const char *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
        struct xfer *x = ud;
        struct reg_response *r = x->resp;
        size_t n = size * nitems;
        char *v;
        if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                /* a new response (after a redirect or a 100): forget the last */
                free(r->content_type);
                free(r->digest);
                free(r->location);
                free(r->www_authenticate);
                free(r->retry_after);
                r->content_type = r->digest = r->location = r->www_authenticate = r->retry_after =
                    NULL;
                r->content_length = -1;
                return n;
        }
        if ((v = header_value(buf, n, "Content-Type"))) {
                free(r->content_type);
                r->content_type = v;
        } else if ((v = header_value(buf, n, "Docker-Content-Digest"))) {
                free(r->digest);
                r->digest = v;
        } else if ((v = header_value(buf, n, "Location"))) {
                free(r->location);
                r->location = v;
        } else if ((v = header_value(buf, n, "WWW-Authenticate"))) {
                /* several challenges may come as several headers */
                if (r->www_authenticate) {
                        char *j = xasprintf("%s, %s", r->www_authenticate, v);
                        free(r->www_authenticate);
                        free(v);
                        v = j;
                }
                r->www_authenticate = v;
        } else if ((v = header_value(buf, n, "Retry-After"))) {
                free(r->retry_after);
                r->retry_after = v;
        } else if ((v = header_value(buf, n, "Content-Length"))) {
                long long cl;
                if (parse_int64(v, &cl) == 0)
                        r->content_length = cl;
                free(v);
        }
        return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        struct reg_response *r = x->resp;
        size_t n = size * nmemb;
        if (r->len + n > x->max) {
                x->too_big = 1;
                return 0; /* aborts the transfer */
        }
        if (r->len + n + 1 > x->cap) {
                x->cap = (r->len + n + 1) * 2;
                r->body = realloc(r->body, x->cap);
                if (r->body == NULL)
                        abort();
        }
        memcpy(r->body + r->len, buf, n);
        r->len += n;
        r->body[r->len] = '\0';
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
        struct xfer *x = ud;
        const struct reg_body *b = x->body;
        size_t want = size * nitems, left = b->len - x->body_off;
        if (want > left)
                want = left;
        if (want == 0)
                return 0;
        if (b->data) {
                memcpy(buf, (const char *)b->data + x->body_off, want);
        } else {
                ssize_t got = pread(b->fd, buf, want, (off_t)x->body_off);
                if (got <= 0)
                        return CURL_READFUNC_ABORT;
                want = (size_t)got;
        }
        x->body_off += want;
        return want;
}

static int seek_body(void *ud, curl_off_t off, int origin)
{
        struct xfer *x = ud;
        if (origin != SEEK_SET || off < 0 || (size_t)off > x->body->len)
                return CURL_SEEKFUNC_FAIL;
        x->body_off = (size_t)off;
        return CURL_SEEKFUNC_OK;
}

static void common_opts(struct reg_client *c, CURL *h)
{
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        if (c->tls_noverify) {
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
}

/* One attempt.  Returns the curl code; errbuf gets curl's detail. */
static CURLcode do_once(struct reg_client *c, const char *method, const char *url,
                        const char *authz, const char *const *headers, const struct reg_body *body,
                        size_t max, struct reg_response *resp, int *too_big,
                        char errbuf[CURL_ERROR_SIZE])
{
        CURL *h = c->easy;
        struct xfer x = {.resp = resp, .max = max, .body = body};
        struct curl_slist *hl = NULL;
        _cleanup_free_ char *ah = NULL, *ct = NULL;

        reg_response_clear(resp);
        resp->content_length = -1;
        curl_easy_reset(h);
        common_opts(c, h);
        errbuf[0] = '\0';
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);

        int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        if (!strcmp(method, "HEAD"))
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        if (is_get) {
                /* blob GETs may be redirected to storage; curl drops our
                 * Authorization header when the host changes */
                curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        } else if (body && body->len > 0) {
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->len);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, &x);
                curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
                curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        } else {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        if (authz) {
                ah = xasprintf("Authorization: %s", authz);
                hl = curl_slist_append(hl, ah);
        }
        if (body && body->content_type) {
                ct = xasprintf("Content-Type: %s", body->content_type);
                hl = curl_slist_append(hl, ct);
        }
        hl = curl_slist_append(hl, "Expect:");
        for (const char *const *p = headers; p && *p; p++)
                hl = curl_slist_append(hl, *p);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

        CURLcode rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(hl);
        *too_big = x.too_big;
        if (resp->body == NULL) {
                resp->body = xstrdup("");
                resp->len = 0;
        }
        return rc;
}

int reg_transient_curl(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
                return 1;
        default:
                return 0;
        }
}

int reg_transient_status(long status)
{
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

void reg_backoff(int attempt, const char *retry_after)
{
        long ms = 250L << (attempt > 1 ? attempt - 1 : 0);
        long long ra;
        if (retry_after && parse_int64(retry_after, &ra) == 0 && ra >= 0)
                ms = ra > 10 ? 10000 : (long)ra * 1000;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void load_creds(struct reg_client *c)
{
        if (c->creds_loaded)
                return;
        c->creds_loaded = 1;
        if (c->o && c->o->username) {
                c->user = xstrdup(c->o->username);
                c->pass = xstrdup(c->o->password ? c->o->password : "");
                return;
        }
        _cleanup_free_ char *file = reg_auth_file(c->o);
        _cleanup_err_ struct err *e = NULL;
        if (reg_auth_lookup(file, c->auth_host, &c->user, &c->pass, &e) < 0)
                log_warn("ignoring credentials: %s", e->msg);
}

static char *basic_header(const char *user, const char *pass)
{
        _cleanup_free_ char *plain = xasprintf("%s:%s", user, pass);
        _cleanup_free_ char *b64 = reg_base64_encode(plain, strlen(plain));
        explicit_bzero(plain, strlen(plain));
        return xasprintf("Basic %s", b64);
}

/* Decide https or http for insecure/loopback hosts on the first request:
 * an https attempt that fails below HTTP (TLS refused, nothing listening)
 * falls back to http. */
static void choose_base(struct reg_client *c)
{
        if (c->base)
                return;
        struct reg_response r = {0};
        char errbuf[CURL_ERROR_SIZE];
        int too_big;
        _cleanup_free_ char *url = xasprintf("%s/v2/", c->https_base);
        CURLcode rc = do_once(c, "GET", url, NULL, NULL, NULL, 64 << 10, &r, &too_big, errbuf);
        reg_response_clear(&r);
        if (rc == CURLE_OK || too_big) {
                c->base = xstrdup(c->https_base);
                return;
        }
        log_debug("%s: %s; trying http", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        c->base = xstrdup(c->http_base);
}

static char *make_url(struct reg_client *c, const char *path)
{
        if (str_has_prefix(path, "http://") || str_has_prefix(path, "https://"))
                return xstrdup(path);
        /* a Location may be relative to the registry ("/v2/...") */
        return xasprintf("%s%s", c->base, path);
}

static char *url_escape(const char *s)
{
        char *t = curl_easy_escape(NULL, s, 0);
        if (t == NULL)
                abort();
        char *r = xstrdup(t);
        curl_free(t);
        return r;
}

/* GET a Bearer token for all the client's scopes. */
static int fetch_token(struct reg_client *c, const struct reg_challenge *ch, struct err **e)
{
        if (ch->realm == NULL || *ch->realm == '\0')
                return err_new(e, 0, "authentication challenge without a realm");
        size_t cap = strlen(ch->realm) + 64, n;
        char *url = xmalloc(cap);
        n = (size_t)snprintf(url, cap, "%s", ch->realm);
        char sep = strchr(ch->realm, '?') ? '&' : '?';
        /* the challenge's own scope too (it may name what a request needs) */
        size_t ns = c->n_scopes + (ch->scope ? 1 : 0);
        for (size_t i = 0; i <= ns; i++) {
                const char *key, *val;
                if (i == 0) {
                        if (ch->service == NULL)
                                continue;
                        key = "service";
                        val = ch->service;
                } else if (i <= c->n_scopes) {
                        key = "scope";
                        val = c->scopes[i - 1];
                } else {
                        int dup = 0;
                        for (size_t k = 0; k < c->n_scopes; k++)
                                dup |= strcmp(c->scopes[k], ch->scope) == 0;
                        if (dup)
                                continue;
                        key = "scope";
                        val = ch->scope;
                }
                _cleanup_free_ char *ev = url_escape(val);
                size_t need = n + strlen(key) + strlen(ev) + 3;
                if (need > cap) {
                        cap = need * 2;
                        url = realloc(url, cap);
                        if (url == NULL)
                                abort();
                }
                n += (size_t)sprintf(url + n, "%c%s=%s", sep, key, ev);
                sep = '&';
        }
        _cleanup_free_ char *u = url;
        _cleanup_free_ char *basic = NULL;
        load_creds(c);
        if (c->user)
                basic = basic_header(c->user, c->pass);

        struct reg_response r = {0};
        char errbuf[CURL_ERROR_SIZE];
        int too_big = 0;
        CURLcode rc = CURLE_OK;
        for (int attempt = 0;; attempt++) {
                rc = do_once(c, "GET", u, basic, NULL, NULL, 1 << 20, &r, &too_big, errbuf);
                int transient =
                    rc != CURLE_OK ? reg_transient_curl(rc) : reg_transient_status(r.status);
                if (!transient || attempt == REG_RETRIES)
                        break;
                reg_backoff(attempt + 1, r.retry_after);
        }
        if (rc != CURLE_OK) {
                reg_response_clear(&r);
                return err_new(e, 0, "get token from %s: %s", ch->realm,
                               errbuf[0] ? errbuf : curl_easy_strerror(rc));
        }
        if (r.status == 401 || r.status == 403) {
                reg_response_clear(&r);
                if (c->user)
                        return err_new(e, 0, "unauthorized: incorrect username or password (%ld)",
                                       (long)401);
                return err_new(e, 0, "unauthorized: authentication required (401)");
        }
        if (r.status != 200) {
                reg_status_error(&r, e, "get token");
                reg_response_clear(&r);
                return -1;
        }
        json_t *doc = json_loadb(r.body, r.len, 0, NULL);
        reg_response_clear(&r);
        const char *tok = json_string_value(json_object_get(doc, "token"));
        if (tok == NULL || *tok == '\0')
                tok = json_string_value(json_object_get(doc, "access_token"));
        if (tok == NULL || *tok == '\0') {
                json_decref(doc);
                return err_new(e, 0, "token server %s returned no token", ch->realm);
        }
        free(c->authz);
        c->authz = xasprintf("Bearer %s", tok);
        json_decref(doc);
        return 0;
}

int reg_client_reauth(struct reg_client *c, const char *www_authenticate, struct err **e)
{
        struct reg_challenge ch;
        if (reg_challenge_parse(www_authenticate, &ch) < 0)
                return err_new(e, 0, "unauthorized (401) with an unsupported challenge \"%s\"",
                               www_authenticate ? www_authenticate : "");
        int r = 0;
        if (strcmp(ch.scheme, "basic") == 0) {
                load_creds(c);
                if (c->user == NULL)
                        r = err_new(e, 0,
                                    "unauthorized: authentication required (401); no credentials "
                                    "for %s (barge login %s)",
                                    c->auth_host, c->auth_host);
                else {
                        free(c->authz);
                        c->authz = basic_header(c->user, c->pass);
                }
        } else {
                r = fetch_token(c, &ch, e);
        }
        reg_challenge_clear(&ch);
        return r;
}

int reg_request(struct reg_client *c, const char *method, const char *path,
                const char *const *headers, const struct reg_body *body, size_t max_body,
                struct reg_response *resp, struct err **e)
{
        char errbuf[CURL_ERROR_SIZE];
        int too_big = 0, authed = 0;
        choose_base(c);
        _cleanup_free_ char *url = make_url(c, path);
        for (int attempt = 0;;) {
                CURLcode rc = do_once(c, method, url, c->authz, headers, body, max_body, resp,
                                      &too_big, errbuf);
                if (too_big) {
                        reg_response_clear(resp);
                        return err_new(e, EFBIG, "%s %s: response larger than %zu bytes", method,
                                       url, max_body);
                }
                if (rc != CURLE_OK) {
                        if (reg_transient_curl(rc) && attempt < REG_RETRIES) {
                                log_debug("%s %s: %s; retrying", method, url, errbuf);
                                reg_backoff(++attempt, NULL);
                                continue;
                        }
                        reg_response_clear(resp);
                        return err_new(e, 0, "%s %s: %s%s", method, url,
                                       errbuf[0] ? errbuf : curl_easy_strerror(rc),
                                       attempt ? " (after retries)" : "");
                }
                if (resp->status == 401 && !authed) {
                        /* first 401 of this request: authenticate, same attempt */
                        authed = 1;
                        _cleanup_free_ char *chal = TAKE_PTR(resp->www_authenticate);
                        if (reg_client_reauth(c, chal, e) < 0) {
                                reg_response_clear(resp);
                                return -1;
                        }
                        continue;
                }
                if (reg_transient_status(resp->status) && attempt < REG_RETRIES) {
                        log_debug("%s %s: status %ld; retrying", method, url, resp->status);
                        reg_backoff(++attempt, resp->retry_after);
                        continue;
                }
                return 0;
        }
}

int reg_status_error(const struct reg_response *r, struct err **e, const char *what)
{
        char msg[512] = "";
        json_t *doc = r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
        const char *m = json_string_value(json_object_get(first, "message"));
        const char *code = json_string_value(json_object_get(first, "code"));
        if (m && *m)
                snprintf(msg, sizeof(msg), "%s", m);
        else if (code && *code)
                snprintf(msg, sizeof(msg), "%s", code);
        json_decref(doc);
        if (msg[0] == '\0') {
                const char *s;
                switch (r->status) {
                case 400:
                        s = "bad request";
                        break;
                case 401:
                        s = "authentication required";
                        break;
                case 403:
                        s = "requested access to the resource is denied";
                        break;
                case 404:
                        s = "not found";
                        break;
                case 405:
                        s = "method not allowed (is the registry read-only?)";
                        break;
                case 409:
                        s = "conflict";
                        break;
                case 416:
                        s = "requested range not satisfiable";
                        break;
                case 429:
                        s = "too many requests";
                        break;
                default:
                        s = r->status >= 500 ? "registry server error" : "unexpected response";
                }
                snprintf(msg, sizeof(msg), "%s", s);
        }
        /* as docker words them: "unauthorized: ...", "denied: ..." */
        const char *kind = r->status == 401 ? "unauthorized: " : r->status == 403 ? "denied: " : "";
        if (*kind && str_has_prefix(msg, kind))
                kind = "";
        if (what)
                err_new(e, 0, "%s: %s%s (%ld)", what, kind, msg, r->status);
        else
                err_new(e, 0, "%s%s (%ld)", kind, msg, r->status);
        /* "not there" lets barged answer 404 as dockerd does (no strerror
         * text added to the registry's own words) */
        if (r->status == 404 && e && *e && (*e)->code == 0)
                (*e)->code = ENOENT;
        return -1;
}

int reg_client_setup_easy(struct reg_client *c, CURL *h, const char *path,
                          struct curl_slist **headers, struct err **e)
{
        choose_base(c);
        _cleanup_free_ char *url = make_url(c, path);
        common_opts(c, h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        *headers = NULL;
        if (c->authz) {
                _cleanup_free_ char *ah = xasprintf("Authorization: %s", c->authz);
                *headers = curl_slist_append(*headers, ah);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
        return 0;
}

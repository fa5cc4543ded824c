/*
 * auth: what a registry client needs to authenticate, minus the network:
 * base64 (OpenSSL's EVP block coder; libcrypto is linked already), the
 * WWW-Authenticate challenge parser, and docker's credentials file
 * (config.json: {"auths": {"<server>": {"auth": base64("user:pass")}}}),
 * read and updated in place so every other key the file has survives.
 *
 * Credential helpers ("credsStore", "credHelpers") are not run; an entry
 * without "auth" is treated as no credentials.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"

/* ---- base64 ---- */

char *reg_base64_encode(const void *data, size_t n)
{
        char *out = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)out, data, (int)n);
        return out;
}

char *reg_base64_decode(const char *s, size_t *n)
{
        size_t len = strlen(s);
        if (len % 4 != 0)
                return NULL;
        unsigned char *out = xmalloc(len / 4 * 3 + 1);
        int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
        if (r < 0) {
                free(out);
                return NULL;
        }
        /* EVP_DecodeBlock counts the '=' padding as zero bytes */
        size_t got = (size_t)r;
        for (size_t i = len; i > 0 && s[i - 1] == '=' && got > 0; i--)
                got--;
        out[got] = '\0';
        if (n)
                *n = got;
        return (char *)out;
}

/* ---- WWW-Authenticate ---- */

static int is_tchar(char c)
{
        return c != '\0' && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ws(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* A token or a quoted-string at p; *end after it.  NULL on a syntax error. */
static char *parse_value(const char *p, const char **end)
{
        if (*p == '"') {
                p++;
                size_t cap = strlen(p) + 1, n = 0;
                char *v = xmalloc(cap);
                while (*p && *p != '"') {
                        if (*p == '\\' && p[1])
                                p++;
                        v[n++] = *p++;
                }
                if (*p != '"') {
                        free(v);
                        return NULL;
                }
                v[n] = '\0';
                *end = p + 1;
                return v;
        }
        const char *s = p;
        while (*p && (is_tchar(*p) || *p == '/' || *p == ':' || *p == '='))
                p++;
        *end = p;
        return xstrndup(s, (size_t)(p - s));
}

void reg_challenge_clear(struct reg_challenge *c)
{
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        memset(c, 0, sizeof(*c));
}

int reg_challenge_parse(const char *value, struct reg_challenge *out)
{
        struct reg_challenge cur = {0}, best = {0};
        const char *p = value ? value : "";
        int have_cur = 0;

        memset(out, 0, sizeof(*out));
        for (;;) {
                p = skip_ws(p);
                while (*p == ',' || *p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0')
                        break;
                const char *ts = p;
                while (is_tchar(*p))
                        p++;
                if (p == ts)
                        break; /* garbage: keep what was parsed */
                _cleanup_free_ char *tok = xstrndup(ts, (size_t)(p - ts));
                const char *q = skip_ws(p);
                if (*q == '=' && have_cur) {
                        /* key=value of the current challenge */
                        char *v = parse_value(skip_ws(q + 1), &p);
                        if (v == NULL)
                                break;
                        char **slot = NULL;
                        if (strcasecmp(tok, "realm") == 0)
                                slot = &cur.realm;
                        else if (strcasecmp(tok, "service") == 0)
                                slot = &cur.service;
                        else if (strcasecmp(tok, "scope") == 0)
                                slot = &cur.scope;
                        if (slot) {
                                free(*slot);
                                *slot = v;
                        } else {
                                free(v);
                        }
                        continue;
                }
                /* a new challenge: settle the previous one */
                if (have_cur) {
                        if (best.scheme == NULL || (strcmp(cur.scheme, "bearer") == 0 &&
                                                    strcmp(best.scheme, "bearer") != 0)) {
                                reg_challenge_clear(&best);
                                best = cur;
                        } else {
                                reg_challenge_clear(&cur);
                        }
                        memset(&cur, 0, sizeof(cur));
                }
                for (char *t = tok; *t; t++)
                        *t = (char)tolower((unsigned char)*t);
                if (strcmp(tok, "bearer") == 0 || strcmp(tok, "basic") == 0) {
                        cur.scheme = TAKE_PTR(tok);
                        have_cur = 1;
                } else {
                        /* unknown scheme: skip its parameters */
                        have_cur = 0;
                        while (*p && *p != ',')
                                p++;
                        /* its params look like "k=v, k=v": skip while they do */
                        for (;;) {
                                const char *r = p;
                                while (*r == ',' || *r == ' ')
                                        r++;
                                const char *k = r;
                                while (is_tchar(*r))
                                        r++;
                                if (r == k || *skip_ws(r) != '=')
                                        break;
                                p = r;
                                while (*p && *p != ',')
                                        p++;
                        }
                }
        }
        if (have_cur) {
                if (best.scheme == NULL ||
                    (strcmp(cur.scheme, "bearer") == 0 && strcmp(best.scheme, "bearer") != 0)) {
                        reg_challenge_clear(&best);
                        best = cur;
                } else {
                        reg_challenge_clear(&cur);
                }
        }
        if (best.scheme == NULL)
                return -1;
        *out = best;
        return 0;
}

/* ---- servers and the credentials file ---- */

/* host of a config key or login server: no scheme, no path */
static char *key_host(const char *key)
{
        const char *p = key;
        if (strncasecmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncasecmp(p, "http://", 7) == 0)
                p += 7;
        size_t n = strcspn(p, "/");
        char *h = xstrndup(p, n);
        if (strcmp(h, "index.docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0 ||
            strcmp(h, "registry.hub.docker.com") == 0) {
                free(h);
                h = xstrdup(DOCKER_IO);
        }
        return h;
}

char *reg_server_domain(const char *server)
{
        if (server == NULL || *server == '\0')
                return xstrdup(DOCKER_IO);
        return key_host(server);
}

const char *reg_auth_key(const char *domain)
{
        return strcmp(domain, DOCKER_IO) == 0 ? DOCKER_AUTH_KEY : domain;
}

char *reg_auth_file(const struct registry_opts *o)
{
        if (o && o->auth_file)
                return xstrdup(o->auth_file);
        const char *dc = getenv("DOCKER_CONFIG");
        if (dc && *dc)
                return xasprintf("%s/config.json", dc);
        const char *home = getenv("HOME");
        if (home == NULL || *home == '\0') {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : "/root";
        }
        return xasprintf("%s/.docker/config.json", home);
}

/* The file as a JSON object; a missing file is an empty object. */
static int load_config(const char *file, json_t **out, struct err **e)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        struct err *rerr = NULL;

        *out = NULL;
        if (read_file(file, 16u << 20, &data, &len, &rerr) < 0) {
                if (rerr->code == ENOENT) {
                        err_free(&rerr);
                        *out = json_object();
                        return 0;
                }
                /* hand the error over as it is */
                if (e != NULL && *e == NULL)
                        *e = TAKE_PTR(rerr);
                err_free(&rerr);
                return -1;
        }
        json_error_t je;
        json_t *doc = json_loadb(data, len, 0, &je);
        if (doc == NULL || !json_is_object(doc)) {
                json_decref(doc);
                return err_new(e, 0, "%s: not a JSON object (line %d: %s)", file, je.line,
                               doc ? "expected an object" : je.text);
        }
        *out = doc;
        return 0;
}

static int entry_creds(json_t *entry, char **user, char **pass)
{
        const char *b64 = json_string_value(json_object_get(entry, "auth"));
        if (b64 && *b64) {
                size_t n;
                _cleanup_free_ char *plain = reg_base64_decode(b64, &n);
                char *colon = plain ? memchr(plain, ':', n) : NULL;
                if (colon == NULL)
                        return 0;
                *user = xstrndup(plain, (size_t)(colon - plain));
                *pass = xstrdup(colon + 1);
                return 1;
        }
        const char *u = json_string_value(json_object_get(entry, "username"));
        const char *p = json_string_value(json_object_get(entry, "password"));
        if (u && p) {
                *user = xstrdup(u);
                *pass = xstrdup(p);
                return 1;
        }
        return 0;
}

int reg_auth_lookup(const char *file, const char *domain, char **user, char **pass, struct err **e)
{
        json_t *doc = NULL;
        *user = *pass = NULL;
        if (load_config(file, &doc, e) < 0)
                return -1;
        json_t *auths = json_object_get(doc, "auths");
        int found = 0;
        if (json_is_object(auths)) {
                /* the exact key first, then any key naming the same host */
                json_t *entry = json_object_get(auths, reg_auth_key(domain));
                if (entry)
                        found = entry_creds(entry, user, pass);
                const char *k;
                json_t *v;
                json_object_foreach(auths, k, v)
                {
                        if (found)
                                break;
                        _cleanup_free_ char *h = key_host(k);
                        if (strcmp(h, domain) == 0)
                                found = entry_creds(v, user, pass);
                }
        }
        if (!found && (json_object_get(doc, "credsStore") || json_object_get(doc, "credHelpers")))
                log_debug("%s: credential helpers are not supported; no credentials for %s", file,
                          domain);
        json_decref(doc);
        return found;
}

int reg_auth_update(const char *file, const char *domain, const char *user, const char *pass,
                    struct err **e)
{
        json_t *doc = NULL;
        if (load_config(file, &doc, e) < 0)
                return -1;
        json_t *auths = json_object_get(doc, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                json_object_set_new(doc, "auths", auths);
        }
        /* drop every key naming this host ("http://h", "h", "https://h/v1/") */
        int removed = 0;
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(auths, tmp, k, v)
        {
                _cleanup_free_ char *h = key_host(k);
                if (strcmp(h, domain) == 0) {
                        json_object_del(auths, k);
                        removed++;
                }
        }
        if (user == NULL && removed == 0) {
                json_decref(doc);
                return 1;
        }
        if (user) {
                _cleanup_free_ char *plain = xasprintf("%s:%s", user, pass ? pass : "");
                _cleanup_free_ char *b64 = reg_base64_encode(plain, strlen(plain));
                json_object_set_new(auths, reg_auth_key(domain), json_pack("{s:s}", "auth", b64));
        }
        _cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(8));
        json_decref(doc);
        if (text == NULL)
                return err_new(e, ENOMEM, "%s: encode", file);
        size_t tl = strlen(text);
        _cleanup_free_ char *withnl = xasprintf("%s\n", text);

        /* write through a symlinked config.json to its target */
        _cleanup_free_ char *real = realpath(file, NULL);
        const char *target = real ? real : file;
        _cleanup_free_ char *dir = xstrdup(target);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir_p(dir, 0700, e) < 0)
                        return -1;
        }
        if (write_file_atomic(target, withnl, tl + 1, 0600, e) < 0)
                return -1;
        if (chmod(target, 0600) < 0)
                return err_sys(e, "chmod %s", target);
        return 0;
}

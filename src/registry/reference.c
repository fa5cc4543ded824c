/*
 * reference: Docker's image reference grammar and normalization, written
 * as a small hand parser rather than the regular expressions Docker uses,
 * so each failure can say which part is wrong while keeping Docker's
 * "invalid reference format" prefix (scripts match on it).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]          host: DNS name or [IPv6]
 *   path       := component ( "/" component )*
 *   component  := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * The first component is a registry host when it contains '.' or ':', is
 * "localhost", or has an uppercase letter (as Docker since 24 treats it);
 * otherwise the domain is docker.io, and a one-component docker.io path gets
 * "library/".  "index.docker.io" is folded into "docker.io".  Without a tag
 * or digest the tag is "latest".
 */
#include "reference.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../common/digest.h"
#include "../common/util.h"

#define NAME_MAX_LEN 255
#define BAD "invalid reference format"

static int is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_word(char c)
{
        return is_alnum(c) || c == '_';
}

/* One path component, [s, s+n). */
static int valid_component(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0 || !is_lower_alnum(s[0]))
                return 0;
        while (i < n) {
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == n)
                        return 1;
                /* a separator, then at least one alphanumeric */
                size_t sep = i;
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < n && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else {
                        return 0;
                }
                if (i == sep || i == n || !is_lower_alnum(s[i]))
                        return 0;
        }
        return 1;
}

/* A DNS-style host: components of [A-Za-z0-9-] not starting or ending with '-'. */
static int valid_dns_host(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0)
                return 0;
        while (i < n) {
                size_t start = i;
                while (i < n && (is_alnum(s[i]) || s[i] == '-'))
                        i++;
                if (i == start || s[start] == '-' || s[i - 1] == '-')
                        return 0;
                if (i == n)
                        return 1;
                if (s[i] != '.')
                        return 0;
                i++;
                if (i == n)
                        return 0;
        }
        return 1;
}

static int valid_ipv6(const char *s, size_t n)
{
        /* loose: hex digits, ':' and '.' (IPv4 tail), at least two colons */
        int colons = 0;
        if (n < 2)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == ':')
                        colons++;
                else if (!isxdigit((unsigned char)s[i]) && s[i] != '.')
                        return 0;
        }
        return colons >= 2;
}

static int valid_domain(const char *d)
{
        size_t n = strlen(d);
        const char *port = NULL;
        size_t hostlen;
        if (d[0] == '[') {
                const char *close = strchr(d, ']');
                if (close == NULL || !valid_ipv6(d + 1, (size_t)(close - d - 1)))
                        return 0;
                hostlen = (size_t)(close - d + 1);
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1] != '\0')
                        return 0;
        } else {
                const char *colon = strchr(d, ':');
                hostlen = colon ? (size_t)(colon - d) : n;
                if (!valid_dns_host(d, hostlen))
                        return 0;
                if (colon)
                        port = colon + 1;
        }
        if (port) {
                if (*port == '\0')
                        return 0;
                for (const char *p = port; *p; p++)
                        if (!isdigit((unsigned char)*p))
                                return 0;
        }
        return 1;
}

static int valid_tag(const char *t)
{
        size_t n = strlen(t);
        if (n == 0 || n > 128 || !is_word(t[0]))
                return 0;
        for (size_t i = 1; i < n; i++)
                if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
                        return 0;
        return 1;
}

/* Docker's grammar accepts any algorithm with >= 32 hex digits; only sha256
 * is supported here (as by digest.h), other well-formed ones are refused by
 * name. */
static int check_digest(const char *d, struct err **e)
{
        const char *colon = strchr(d, ':');
        if (colon == NULL || colon == d || strlen(colon + 1) < 32)
                return err_new(e, 0, BAD ": invalid digest \"%s\"", d);
        if (strncmp(d, "sha256:", 7) != 0) {
                for (const char *p = d; p < colon; p++)
                        if (!is_alnum(*p) && !strchr("+.-_", *p))
                                return err_new(e, 0, BAD ": invalid digest \"%s\"", d);
                return err_new(e, 0, BAD ": unsupported digest algorithm in \"%s\"", d);
        }
        _cleanup_err_ struct err *tmp = NULL;
        if (digest_check(d, &tmp) < 0)
                return err_new(e, 0, BAD ": invalid digest \"%s\"", d);
        return 0;
}

static int is_hex64(const char *s)
{
        if (strlen(s) != 64)
                return 0;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return 0;
        return 1;
}

static int has_upper(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return 1;
        return 0;
}

void ref_free(struct image_ref *r)
{
        if (r == NULL)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
}

static void ref_freep(struct image_ref **r)
{
        ref_free(*r);
}

int ref_parse(const char *s, struct image_ref **out, struct err **e)
{
        __attribute__((cleanup(ref_freep))) struct image_ref *r = NULL;
        _cleanup_free_ char *name = NULL;

        *out = NULL;
        if (s == NULL || *s == '\0')
                return err_new(e, 0, BAD ": repository name must have at least one component");
        if (is_hex64(s))
                return err_new(e, 0,
                               "invalid repository name (%s), cannot specify 64-byte hexadecimal "
                               "strings",
                               s);

        r = xcalloc(1, sizeof(*r));

        /* '@' cannot occur in a name or tag: the first one starts the digest */
        const char *at = strchr(s, '@');
        size_t namelen = at ? (size_t)(at - s) : strlen(s);
        if (at) {
                if (check_digest(at + 1, e) < 0)
                        return -1;
                r->digest = xstrdup(at + 1);
        }
        name = xstrndup(s, namelen);

        /* a ':' after the last '/' starts the tag */
        char *slash = strrchr(name, '/');
        char *colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                *colon = '\0';
                if (!valid_tag(colon + 1))
                        return err_new(e, 0, BAD ": invalid tag \"%s\"", colon + 1);
                r->tag = xstrdup(colon + 1);
        }
        if (*name == '\0')
                return err_new(e, 0, BAD ": repository name must have at least one component");

        /* split the domain */
        char *first = strchr(name, '/');
        const char *remainder;
        if (first == NULL ||
            (strcspn(name, ".:") >= (size_t)(first - name) &&
             strncmp(name, "localhost/", 10) != 0 && !has_upper(name, (size_t)(first - name)))) {
                r->domain = xstrdup("docker.io");
                remainder = name;
        } else {
                r->domain = xstrndup(name, (size_t)(first - name));
                remainder = first + 1;
        }
        if (strcmp(r->domain, "index.docker.io") == 0) {
                free(r->domain);
                r->domain = xstrdup("docker.io");
        }
        if (strcmp(r->domain, "docker.io") == 0 && strchr(remainder, '/') == NULL)
                r->path = xasprintf("library/%s", remainder);
        else
                r->path = xstrdup(remainder);

        if (has_upper(r->path, strlen(r->path)))
                return err_new(e, 0, BAD ": repository name (%s) must be lowercase", r->path);
        if (!valid_domain(r->domain))
                return err_new(e, 0, BAD ": invalid registry host \"%s\"", r->domain);
        for (const char *p = r->path;;) {
                const char *end = strchr(p, '/');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                if (!valid_component(p, n)) {
                        if (n == 0)
                                return err_new(e, 0, BAD ": empty path component in \"%s\"",
                                               r->path);
                        return err_new(e, 0, BAD ": invalid path component \"%.*s\"", (int)n, p);
                }
                if (end == NULL)
                        break;
                p = end + 1;
        }
        /* Docker counts the path only (the domain is not limited) */
        if (strlen(r->path) > NAME_MAX_LEN)
                return err_new(e, 0, "repository name must not be more than %d characters",
                               NAME_MAX_LEN);

        if (r->tag == NULL && r->digest == NULL)
                r->tag = xstrdup("latest");
        *out = TAKE_PTR(r);
        return 0;
}

char *ref_name(const struct image_ref *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

char *ref_string(const struct image_ref *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                         r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *ref_familiar(const char *normalized)
{
        const char *rest = normalized;
        if (str_has_prefix(rest, "docker.io/")) {
                rest += strlen("docker.io/");
                /* "library/x" -> "x", but "library/x/y" stays (Docker's rule) */
                if (str_has_prefix(rest, "library/") && strchr(rest + 8, '/') == NULL)
                        rest += strlen("library/");
        }
        return xstrdup(rest);
}

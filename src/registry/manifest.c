/*
 * manifest: the pure part of reading images from a registry: which kind of
 * document a manifest is, which entry of an index (manifest list) fits a
 * platform, and the descriptors of an image manifest and its config.
 *
 * Platform matching follows containerd's "only this platform" matcher:
 * names are normalized (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7;
 * arm64/v8 and amd64/v1 are the plain arch), and a platform also accepts,
 * with lower preference, what it can run: arm/v7 also v6 and v5, arm64
 * also arm/v8..v5, amd64/vN also lower levels and 386.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "../common/util.h"
#include "internal.h"

/* ---- platforms ---- */

static void set_field(char *dst, size_t n, const char *src)
{
        /* copy, lowercased, truncated to fit */
        size_t i = 0;
        for (; src && src[i] && i + 1 < n; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
        dst[i] = '\0';
}

void reg_platform_normalize(struct reg_platform *p)
{
        char *a = p->arch, *v = p->variant;
        if (strcmp(p->os, "macos") == 0)
                set_field(p->os, sizeof(p->os), "darwin");
        if (!strcmp(a, "i386") || !strcmp(a, "i486") || !strcmp(a, "i586") || !strcmp(a, "i686")) {
                set_field(a, sizeof(p->arch), "386");
        } else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
                set_field(a, sizeof(p->arch), "amd64");
                if (!strcmp(v, "v1"))
                        v[0] = '\0';
        } else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
                set_field(a, sizeof(p->arch), "arm64");
                if (!strcmp(v, "8") || !strcmp(v, "v8") || !strcmp(v, "v8.0"))
                        v[0] = '\0';
                else if (!strcmp(v, "9") || !strcmp(v, "9.0") || !strcmp(v, "v9.0"))
                        set_field(v, sizeof(p->variant), "v9");
        } else if (!strcmp(a, "armhf")) {
                set_field(a, sizeof(p->arch), "arm");
                set_field(v, sizeof(p->variant), "v7");
        } else if (!strcmp(a, "armel")) {
                set_field(a, sizeof(p->arch), "arm");
                set_field(v, sizeof(p->variant), "v6");
        } else if (!strcmp(a, "arm")) {
                if (!strcmp(v, "") || !strcmp(v, "7"))
                        set_field(v, sizeof(p->variant), "v7");
                else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8")) {
                        char t[4] = {'v', v[0], '\0'};
                        set_field(v, sizeof(p->variant), t);
                }
        }
}

int reg_platform_parse(const char *s, struct reg_platform *p, struct err **e)
{
        memset(p, 0, sizeof(*p));
        if (s == NULL || *s == '\0')
                return err_new(e, 0, "invalid platform \"\": expected os/arch[/variant]");
        const char *parts[3] = {0};
        size_t lens[3] = {0}, n = 0;
        for (const char *q = s;; q++) {
                if (n == 3)
                        return err_new(e, 0, "invalid platform \"%s\": expected os/arch[/variant]",
                                       s);
                const char *end = strchr(q, '/');
                parts[n] = q;
                lens[n] = end ? (size_t)(end - q) : strlen(q);
                if (lens[n] == 0 || lens[n] >= sizeof(p->os) ||
                    (n == 2 && lens[n] >= sizeof(p->variant)))
                        return err_new(e, 0, "invalid platform \"%s\": expected os/arch[/variant]",
                                       s);
                n++;
                if (end == NULL)
                        break;
                q = end;
        }
        char tmp[3][32] = {"", "", ""};
        for (size_t i = 0; i < n; i++) {
                snprintf(tmp[i], sizeof(tmp[i]), "%.*s", (int)lens[i], parts[i]);
                for (char *c = tmp[i]; *c; c++)
                        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
                                return err_new(e, 0, "invalid platform \"%s\"", s);
        }
        if (n == 1) {
                /* a lone word is an OS when we know it as one, else an arch */
                if (!strcmp(tmp[0], "linux") || !strcmp(tmp[0], "windows") ||
                    !strcmp(tmp[0], "darwin")) {
                        struct reg_platform host;
                        reg_platform_host(&host);
                        set_field(p->os, sizeof(p->os), tmp[0]);
                        set_field(p->arch, sizeof(p->arch), host.arch);
                        set_field(p->variant, sizeof(p->variant), host.variant);
                } else {
                        set_field(p->os, sizeof(p->os), "linux");
                        set_field(p->arch, sizeof(p->arch), tmp[0]);
                }
        } else {
                set_field(p->os, sizeof(p->os), tmp[0]);
                set_field(p->arch, sizeof(p->arch), tmp[1]);
                if (n == 3)
                        set_field(p->variant, sizeof(p->variant), tmp[2]);
        }
        reg_platform_normalize(p);
        return 0;
}

void reg_platform_host(struct reg_platform *p)
{
        struct utsname u;
        memset(p, 0, sizeof(*p));
        set_field(p->os, sizeof(p->os), "linux");
        if (uname(&u) < 0) {
                set_field(p->arch, sizeof(p->arch), "amd64");
                return;
        }
        const char *m = u.machine;
        if (!strncmp(m, "armv", 4) && isdigit((unsigned char)m[4])) {
                /* armv7l, armv6l, armv5tel */
                char v[4] = {'v', m[4], '\0'};
                set_field(p->arch, sizeof(p->arch), "arm");
                set_field(p->variant, sizeof(p->variant), v);
        } else if (!strcmp(m, "ppc64le") || !strcmp(m, "s390x") || !strcmp(m, "riscv64") ||
                   !strcmp(m, "mips64") || !strcmp(m, "loongarch64")) {
                set_field(p->arch, sizeof(p->arch), m);
        } else if (!strcmp(m, "mips64el")) {
                set_field(p->arch, sizeof(p->arch), "mips64le");
        } else {
                set_field(p->arch, sizeof(p->arch), m);
        }
        reg_platform_normalize(p);
}

void reg_platform_format(const struct reg_platform *p, char *buf, size_t n)
{
        snprintf(buf, n, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

/* What `want` can run, best first (containerd's platform vector). */
static size_t platform_vector(const struct reg_platform *want, struct reg_platform *out, size_t max)
{
        size_t n = 0;
        out[n++] = *want;
        if (!strcmp(want->arch, "amd64")) {
                int lvl = want->variant[0] == 'v' ? atoi(want->variant + 1) : 0;
                for (lvl--; lvl >= 1 && n < max - 1; lvl--) {
                        out[n] = *want;
                        if (lvl == 1)
                                out[n].variant[0] = '\0'; /* v1 is normalized away */
                        else
                                snprintf(out[n].variant, sizeof(out[n].variant), "v%d", lvl);
                        n++;
                }
                out[n] = *want;
                set_field(out[n].arch, sizeof(out[n].arch), "386");
                out[n].variant[0] = '\0';
                n++;
        } else if (!strcmp(want->arch, "arm") || !strcmp(want->arch, "arm64")) {
                int lvl;
                if (!strcmp(want->arch, "arm64")) {
                        /* arm64 runs 32-bit arm: arm/v8 down to v5 */
                        lvl = want->variant[0] ? atoi(want->variant + 1) : 8;
                        lvl++;
                } else {
                        lvl = want->variant[0] == 'v' ? atoi(want->variant + 1) : 0;
                }
                for (lvl--; lvl >= 5 && n < max; lvl--) {
                        out[n] = *want;
                        set_field(out[n].arch, sizeof(out[n].arch), "arm");
                        snprintf(out[n].variant, sizeof(out[n].variant), "v%d", lvl);
                        n++;
                }
        }
        return n;
}

int reg_platform_score(const struct reg_platform *want, const struct reg_platform *have)
{
        struct reg_platform w = *want, h = *have, vec[16];
        reg_platform_normalize(&w);
        reg_platform_normalize(&h);
        size_t n = platform_vector(&w, vec, ARRAY_SIZE(vec));
        for (size_t i = 0; i < n; i++)
                if (!strcmp(vec[i].os, h.os) && !strcmp(vec[i].arch, h.arch) &&
                    !strcmp(vec[i].variant, h.variant))
                        return (int)(n - i);
        return 0;
}

/* ---- manifests ---- */

static int media_is(const char *mt, const char *want)
{
        return mt && strcmp(mt, want) == 0;
}

int reg_manifest_kind(const char *content_type, json_t *doc, enum reg_manifest_kind *kind,
                      struct err **e)
{
        char ct[128] = "";
        if (content_type) {
                snprintf(ct, sizeof(ct), "%.*s", (int)strcspn(content_type, "; "), content_type);
        }
        const char *mt = json_string_value(json_object_get(doc, "mediaType"));
        /* the document's own mediaType wins over a generic Content-Type */
        const char *use = mt ? mt : ct;
        if (media_is(use, MT_OCI_INDEX) || media_is(use, MT_DOCKER_LIST)) {
                *kind = REG_KIND_INDEX;
                return 0;
        }
        if (media_is(use, MT_OCI_MANIFEST) || media_is(use, MT_DOCKER_MANIFEST)) {
                *kind = REG_KIND_IMAGE;
                return 0;
        }
        if (strstr(use, "manifest.v1") ||
            json_integer_value(json_object_get(doc, "schemaVersion")) == 1)
                return err_new(e, 0, "image manifest schema 1 (%s) is not supported",
                               *use ? use : "schemaVersion 1");
        /* no usable media type: go by the shape (OCI allows mediaType out) */
        if (json_is_array(json_object_get(doc, "manifests"))) {
                *kind = REG_KIND_INDEX;
                return 0;
        }
        if (json_is_object(json_object_get(doc, "config")) &&
            json_is_array(json_object_get(doc, "layers"))) {
                *kind = REG_KIND_IMAGE;
                return 0;
        }
        return err_new(e, 0, "unsupported manifest media type \"%s\"", *use ? use : "(none)");
}

static void desc_platform(json_t *desc, struct reg_platform *p)
{
        json_t *pl = json_object_get(desc, "platform");
        memset(p, 0, sizeof(*p));
        set_field(p->os, sizeof(p->os), json_string_value(json_object_get(pl, "os")));
        set_field(p->arch, sizeof(p->arch), json_string_value(json_object_get(pl, "architecture")));
        set_field(p->variant, sizeof(p->variant),
                  json_string_value(json_object_get(pl, "variant")));
}

int reg_index_select(json_t *index, const struct reg_platform *want, char digest[DIGEST_LEN + 1],
                     struct err **e)
{
        json_t *list = json_object_get(index, "manifests");
        if (!json_is_array(list))
                return err_new(e, 0, "manifest list: \"manifests\" is not an array");
        size_t i, best_i = 0;
        int best = 0;
        json_t *d;
        json_array_foreach(list, i, d)
        {
                struct reg_platform p;
                desc_platform(d, &p);
                int s = reg_platform_score(want, &p);
                if (s > best) {
                        best = s;
                        best_i = i;
                }
        }
        char wanted[80];
        reg_platform_format(want, wanted, sizeof(wanted));
        if (best == 0) {
                /* list what there is, as "linux/arm64/v8, linux/arm/v7" */
                size_t cap = 256, len = 0;
                _cleanup_free_ char *avail = xmalloc(cap);
                avail[0] = '\0';
                json_array_foreach(list, i, d)
                {
                        struct reg_platform p;
                        char one[80];
                        desc_platform(d, &p);
                        if (p.os[0] == '\0' || !strcmp(p.os, "unknown"))
                                continue; /* attestations and the like */
                        reg_platform_format(&p, one, sizeof(one));
                        if (strstr(avail, one))
                                continue;
                        size_t need = len + strlen(one) + 3;
                        if (need > cap) {
                                cap = need * 2;
                                avail = realloc(avail, cap);
                                if (avail == NULL)
                                        abort();
                        }
                        len += (size_t)sprintf(avail + len, "%s%s", len ? ", " : "", one);
                }
                return err_new(e, 0,
                               "no matching manifest for %s in the manifest list entries "
                               "(available: %s)",
                               wanted, len ? avail : "none");
        }
        d = json_array_get(list, best_i);
        const char *dg = json_string_value(json_object_get(d, "digest"));
        if (digest_check(dg, e) < 0)
                return err_wrap(e, "manifest list entry for %s", wanted);
        snprintf(digest, DIGEST_LEN + 1, "%s", dg);
        return 0;
}

static int parse_desc(json_t *j, const char *what, struct reg_desc *d, struct err **e)
{
        if (!json_is_object(j))
                return err_new(e, 0, "manifest: %s is not an object", what);
        const char *dg = json_string_value(json_object_get(j, "digest"));
        if (digest_check(dg, e) < 0)
                return err_wrap(e, "manifest: %s", what);
        json_t *sz = json_object_get(j, "size");
        if (!json_is_integer(sz) || json_integer_value(sz) < 0)
                return err_new(e, 0, "manifest: %s: size missing or negative", what);
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        d->media_type = xstrdup(mt ? mt : "");
        snprintf(d->digest, sizeof(d->digest), "%s", dg);
        d->size = json_integer_value(sz);
        return 0;
}

static int layer_type_ok(const char *mt)
{
        return mt[0] == '\0' || strstr(mt, "vnd.docker.image.rootfs.") ||
               str_has_prefix(mt, "application/vnd.oci.image.layer.");
}

void reg_manifest_clear(struct reg_manifest *m)
{
        free(m->config.media_type);
        for (size_t i = 0; i < m->n_layers; i++)
                free(m->layers[i].media_type);
        free(m->layers);
        memset(m, 0, sizeof(*m));
}

int reg_manifest_parse(json_t *doc, struct reg_manifest *m, struct err **e)
{
        memset(m, 0, sizeof(*m));
        if (json_integer_value(json_object_get(doc, "schemaVersion")) != 2)
                return err_new(e, 0, "manifest: schemaVersion is not 2");
        if (parse_desc(json_object_get(doc, "config"), "config", &m->config, e) < 0)
                goto fail;
        if (m->config.media_type[0] && !media_is(m->config.media_type, MT_DOCKER_CONFIG) &&
            !media_is(m->config.media_type, MT_OCI_CONFIG)) {
                err_new(e, 0, "not a container image (config media type %s)", m->config.media_type);
                goto fail;
        }
        json_t *layers = json_object_get(doc, "layers");
        if (!json_is_array(layers)) {
                err_new(e, 0, "manifest: \"layers\" is not an array");
                goto fail;
        }
        m->layers = xcalloc(json_array_size(layers), sizeof(*m->layers));
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
        {
                char what[32];
                snprintf(what, sizeof(what), "layers[%zu]", i);
                if (parse_desc(l, what, &m->layers[i], e) < 0)
                        goto fail;
                m->n_layers++;
                if (!layer_type_ok(m->layers[i].media_type)) {
                        err_new(e, 0, "manifest: %s: unsupported layer media type %s", what,
                                m->layers[i].media_type);
                        goto fail;
                }
        }
        return 0;
fail:
        reg_manifest_clear(m);
        return -1;
}

void reg_strv_free(char **v, size_t n)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int reg_config_diff_ids(json_t *config, char ***ids, size_t *n, struct err **e)
{
        *ids = NULL;
        *n = 0;
        json_t *rootfs = json_object_get(config, "rootfs");
        json_t *arr = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(arr))
                return err_new(e, 0, "image config: rootfs.diff_ids missing");
        const char *type = json_string_value(json_object_get(rootfs, "type"));
        if (type && strcmp(type, "layers") != 0)
                return err_new(e, 0, "image config: rootfs.type \"%s\" is not \"layers\"", type);
        char **v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
        size_t i;
        json_t *d;
        json_array_foreach(arr, i, d)
        {
                const char *s = json_string_value(d);
                if (digest_check(s, e) < 0) {
                        reg_strv_free(v, i);
                        return err_wrap(e, "image config: rootfs.diff_ids[%zu]", i);
                }
                v[i] = xstrdup(s);
        }
        *ids = v;
        *n = json_array_size(arr);
        return 0;
}

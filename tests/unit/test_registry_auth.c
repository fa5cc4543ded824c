/*
 * The registry client's pure parts: base64, WWW-Authenticate challenges,
 * the credentials file (lookup, update keeping other keys, removal, modes),
 * login server names, platforms and their matching, manifest kinds, index
 * selection with its error, manifest and config parsing.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/registry/internal.h"
#include "harness.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"

static char tmpdir[64];

static void test_base64(void)
{
        static const char *plain[] = {"",     "f",     "fo",     "foo",
                                      "foob", "fooba", "foobar", "user:p@ss:word"};
        static const char *enc[] = {"",         "Zg==",     "Zm8=",     "Zm9v",
                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "dXNlcjpwQHNzOndvcmQ="};
        for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
                char *b = reg_base64_encode(plain[i], strlen(plain[i]));
                CHECK_STR(b, enc[i]);
                free(b);
                size_t n = 99;
                char *d = reg_base64_decode(enc[i], &n);
                CHECK(d != NULL);
                CHECK(n == strlen(plain[i]));
                CHECK_STR(d, plain[i]);
                free(d);
        }
        CHECK(reg_base64_decode("abc", NULL) == NULL);
        CHECK(reg_base64_decode("a$c=", NULL) == NULL);
}

static void test_challenge(void)
{
        struct reg_challenge c;
        CHECK(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                  "service=\"registry.docker.io\","
                                  "scope=\"repository:library/busybox:pull\"",
                                  &c) == 0);
        CHECK_STR(c.scheme, "bearer");
        CHECK_STR(c.realm, "https://auth.docker.io/token");
        CHECK_STR(c.service, "registry.docker.io");
        CHECK_STR(c.scope, "repository:library/busybox:pull");
        reg_challenge_clear(&c);

        CHECK(reg_challenge_parse("Basic realm=\"Registry Realm\"", &c) == 0);
        CHECK_STR(c.scheme, "basic");
        CHECK_STR(c.realm, "Registry Realm");
        CHECK(c.service == NULL);
        reg_challenge_clear(&c);

        /* several challenges: Bearer wins wherever it is; unknown skipped;
         * quoted commas and escapes; tokens unquoted; spaces around '=' */
        CHECK(reg_challenge_parse("Basic realm=\"a, b\", Negotiate, "
                                  "BEARER realm = http://127.0.0.1:1/t , service=\"x\\\"y\"",
                                  &c) == 0);
        CHECK_STR(c.scheme, "bearer");
        CHECK_STR(c.realm, "http://127.0.0.1:1/t");
        CHECK_STR(c.service, "x\"y");
        reg_challenge_clear(&c);

        CHECK(reg_challenge_parse("Digest realm=\"x\", nonce=\"y\", Basic realm=\"r\"", &c) == 0);
        CHECK_STR(c.scheme, "basic");
        CHECK_STR(c.realm, "r");
        reg_challenge_clear(&c);

        CHECK(reg_challenge_parse("Negotiate", &c) < 0);
        CHECK(reg_challenge_parse("", &c) < 0);
        CHECK(reg_challenge_parse(NULL, &c) < 0);
}

static void test_server_domain(void)
{
        static const char *in[] = {NULL,
                                   "",
                                   "docker.io",
                                   "index.docker.io",
                                   "https://index.docker.io/v1/",
                                   "registry-1.docker.io",
                                   "localhost:5000",
                                   "http://localhost:5000/",
                                   "https://ghcr.io/x/y"};
        static const char *out[] = {"docker.io",      "docker.io",      "docker.io",
                                    "docker.io",      "docker.io",      "docker.io",
                                    "localhost:5000", "localhost:5000", "ghcr.io"};
        for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
                char *d = reg_server_domain(in[i]);
                CHECK_STR(d, out[i]);
                free(d);
        }
        CHECK_STR(reg_auth_key("docker.io"), "https://index.docker.io/v1/");
        CHECK_STR(reg_auth_key("localhost:5000"), "localhost:5000");
}

static void test_auth_file(void)
{
        _cleanup_free_ char *file = xasprintf("%s/cfg/config.json", tmpdir);
        struct err *e = NULL;
        char *u = NULL, *p = NULL;

        /* missing file: no credentials, not an error */
        CHECK(reg_auth_lookup(file, "docker.io", &u, &p, &e) == 0);
        CHECK(u == NULL && p == NULL);
        /* removing from a missing file: nothing to remove */
        CHECK(reg_auth_update(file, "docker.io", NULL, NULL, &e) == 1);

        CHECK(reg_auth_update(file, "docker.io", "alice", "s3cr:et", &e) == 0);
        struct stat st;
        CHECK(stat(file, &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        CHECK(reg_auth_lookup(file, "docker.io", &u, &p, &e) == 1);
        CHECK_STR(u, "alice");
        CHECK_STR(p, "s3cr:et");
        free(u);
        free(p);

        /* other keys survive; scheme-prefixed keys match their host */
        _cleanup_free_ char *data = NULL;
        CHECK(read_file(file, 1 << 20, &data, NULL, &e) == 0);
        json_t *doc = json_loads(data, 0, NULL);
        CHECK(doc != NULL);
        CHECK(json_object_get(json_object_get(doc, "auths"), "https://index.docker.io/v1/"));
        json_object_set_new(doc, "psFormat", json_string("table {{.ID}}"));
        json_object_set_new(json_object_get(doc, "auths"), "http://reg.example:5000",
                            json_pack("{s:s}", "auth", "Ym9iOnB3"));
        char *text = json_dumps(doc, 0);
        json_decref(doc);
        CHECK(write_file(file, text, strlen(text), 0600, &e) == 0);
        free(text);

        CHECK(reg_auth_lookup(file, "reg.example:5000", &u, &p, &e) == 1);
        CHECK_STR(u, "bob");
        CHECK_STR(p, "pw");
        free(u);
        free(p);
        CHECK(reg_auth_lookup(file, "reg.example", &u, &p, &e) == 0);

        /* replacing the entry drops the old key form */
        CHECK(reg_auth_update(file, "reg.example:5000", "carol", "x", &e) == 0);
        free(data);
        data = NULL;
        CHECK(read_file(file, 1 << 20, &data, NULL, &e) == 0);
        doc = json_loads(data, 0, NULL);
        json_t *auths = json_object_get(doc, "auths");
        CHECK(json_object_get(auths, "http://reg.example:5000") == NULL);
        CHECK(json_object_get(auths, "reg.example:5000") != NULL);
        CHECK_STR(json_string_value(json_object_get(doc, "psFormat")), "table {{.ID}}");
        json_decref(doc);

        CHECK(reg_auth_update(file, "docker.io", NULL, NULL, &e) == 0);
        CHECK(reg_auth_lookup(file, "docker.io", &u, &p, &e) == 0);
        CHECK(reg_auth_lookup(file, "reg.example:5000", &u, &p, &e) == 1);
        free(u);
        free(p);

        /* a broken file is an error, and is left alone */
        CHECK(write_file(file, "{not json", 9, 0600, &e) == 0);
        CHECK(reg_auth_lookup(file, "docker.io", &u, &p, &e) < 0);
        CHECK(e != NULL && strstr(e->msg, "config.json"));
        err_free(&e);
        CHECK(reg_auth_update(file, "docker.io", "a", "b", &e) < 0);
        err_free(&e);
}

static void test_auth_file_env(void)
{
        struct registry_opts o = {0};
        setenv("DOCKER_CONFIG", "/x/y", 1);
        char *f = reg_auth_file(&o);
        CHECK_STR(f, "/x/y/config.json");
        free(f);
        unsetenv("DOCKER_CONFIG");
        setenv("HOME", "/home/z", 1);
        f = reg_auth_file(NULL);
        CHECK_STR(f, "/home/z/.docker/config.json");
        free(f);
        o.auth_file = "/a/b.json";
        f = reg_auth_file(&o);
        CHECK_STR(f, "/a/b.json");
        free(f);
}

static void test_http_allowed(void)
{
        static const char *const insecure[] = {"reg.example:5000", "http://other.example", NULL};
        struct registry_opts o = {.insecure = insecure};
        CHECK(reg_host_may_use_http(&o, "localhost"));
        CHECK(reg_host_may_use_http(&o, "localhost:5000"));
        CHECK(reg_host_may_use_http(&o, "127.0.0.1:5000"));
        CHECK(reg_host_may_use_http(&o, "127.9.8.7"));
        CHECK(reg_host_may_use_http(&o, "[::1]:5000"));
        CHECK(reg_host_may_use_http(&o, "reg.example:5000"));
        CHECK(!reg_host_may_use_http(&o, "reg.example:5001"));
        CHECK(!reg_host_may_use_http(&o, "reg.example"));
        CHECK(reg_host_may_use_http(&o, "other.example:443"));
        CHECK(reg_host_may_use_http(&o, "other.example"));
        CHECK(!reg_host_may_use_http(&o, "128.0.0.1:5000"));
        CHECK(!reg_host_may_use_http(&o, "ghcr.io"));
        CHECK(!reg_host_may_use_http(NULL, "docker.io"));
        CHECK(!reg_host_may_use_http(NULL, "localhost.example.com"));
}

static void fmt(const char *in, const char *want)
{
        struct reg_platform p;
        struct err *e = NULL;
        char buf[80];
        if (reg_platform_parse(in, &p, &e) < 0) {
                printf("# %s: %s\n", in, e->msg);
                err_free(&e);
                h_failed_current = 1;
                return;
        }
        reg_platform_format(&p, buf, sizeof(buf));
        if (strcmp(buf, want) != 0) {
                printf("# %s -> %s, want %s\n", in, buf, want);
                h_failed_current = 1;
        }
}

static void test_platform_parse(void)
{
        fmt("linux/amd64", "linux/amd64");
        fmt("linux/x86_64", "linux/amd64");
        fmt("linux/amd64/v1", "linux/amd64");
        fmt("linux/amd64/v3", "linux/amd64/v3");
        fmt("linux/aarch64", "linux/arm64");
        fmt("linux/arm64/v8", "linux/arm64");
        fmt("linux/arm", "linux/arm/v7");
        fmt("linux/armhf", "linux/arm/v7");
        fmt("linux/armel", "linux/arm/v6");
        fmt("linux/arm/6", "linux/arm/v6");
        fmt("Linux/PPC64LE", "linux/ppc64le");
        fmt("linux/i686", "linux/386");
        fmt("arm64", "linux/arm64");
        CHECK(!h_failed_current);
        struct reg_platform p;
        struct err *e = NULL;
        CHECK(reg_platform_parse("linux/", &p, &e) < 0);
        err_free(&e);
        CHECK(reg_platform_parse("a/b/c/d", &p, &e) < 0);
        err_free(&e);
        CHECK(reg_platform_parse("", &p, &e) < 0);
        err_free(&e);
        reg_platform_host(&p);
        CHECK_STR(p.os, "linux");
        CHECK(p.arch[0] != '\0');
}

static struct reg_platform plat(const char *s)
{
        struct reg_platform p;
        struct err *e = NULL;
        if (reg_platform_parse(s, &p, &e) < 0)
                err_free(&e);
        return p;
}

static void test_platform_score(void)
{
        struct reg_platform amd64 = plat("linux/amd64"), arm64 = plat("linux/arm64"),
                            armv7 = plat("linux/arm/v7"), armv6 = plat("linux/arm/v6"),
                            i386 = plat("linux/386"), win = plat("windows/amd64"),
                            amd64v3 = plat("linux/amd64/v3"), amd64v2 = plat("linux/amd64/v2");
        CHECK(reg_platform_score(&amd64, &amd64) > 0);
        CHECK(reg_platform_score(&amd64, &arm64) == 0);
        CHECK(reg_platform_score(&amd64, &win) == 0);
        /* amd64 runs 386, but prefers amd64 */
        CHECK(reg_platform_score(&amd64, &i386) > 0);
        CHECK(reg_platform_score(&amd64, &amd64) > reg_platform_score(&amd64, &i386));
        /* plain amd64 does not take a v3-only image; v3 takes v2 and plain */
        CHECK(reg_platform_score(&amd64, &amd64v3) == 0);
        CHECK(reg_platform_score(&amd64v3, &amd64v2) > 0);
        CHECK(reg_platform_score(&amd64v3, &amd64) > 0);
        CHECK(reg_platform_score(&amd64v3, &amd64v3) > reg_platform_score(&amd64v3, &amd64v2));
        /* arm/v7 takes v6 after v7; v6 does not take v7 */
        CHECK(reg_platform_score(&armv7, &armv6) > 0);
        CHECK(reg_platform_score(&armv7, &armv7) > reg_platform_score(&armv7, &armv6));
        CHECK(reg_platform_score(&armv6, &armv7) == 0);
        /* arm64 (== arm64/v8) runs arm/v7 after arm64 */
        struct reg_platform raw = {"linux", "arm64", "v8"};
        CHECK(reg_platform_score(&arm64, &raw) > 0);
        CHECK(reg_platform_score(&arm64, &armv7) > 0);
        CHECK(reg_platform_score(&arm64, &arm64) > reg_platform_score(&arm64, &armv7));
}

static json_t *index_doc(void)
{
        return json_pack("{s:i,s:s,s:[{s:s,s:s,s:i,s:{s:s,s:s}},{s:s,s:s,s:i,s:{s:s,s:s,s:s}},"
                         "{s:s,s:s,s:i,s:{s:s,s:s,s:s}},{s:s,s:s,s:i,s:{s:s,s:s}}]}",
                         "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests", "mediaType",
                         MT_OCI_MANIFEST, "digest", D1, "size", 100, "platform", "os", "linux",
                         "architecture", "amd64", "mediaType", MT_OCI_MANIFEST, "digest", D2,
                         "size", 100, "platform", "os", "linux", "architecture", "arm", "variant",
                         "v6", "mediaType", MT_OCI_MANIFEST, "digest", D3, "size", 100, "platform",
                         "os", "linux", "architecture", "arm64", "variant", "v8", "mediaType",
                         MT_OCI_MANIFEST, "digest", D4, "size", 100, "platform", "os", "unknown",
                         "architecture", "unknown");
}

static void test_index_select(void)
{
        json_t *idx = index_doc();
        CHECK(idx != NULL);
        char dg[DIGEST_LEN + 1];
        struct err *e = NULL;
        struct reg_platform p = plat("linux/amd64");
        CHECK(reg_index_select(idx, &p, dg, &e) == 0);
        CHECK_STR(dg, D1);
        p = plat("linux/arm64");
        CHECK(reg_index_select(idx, &p, dg, &e) == 0);
        CHECK_STR(dg, D3);
        p = plat("linux/arm/v7");
        CHECK(reg_index_select(idx, &p, dg, &e) == 0);
        CHECK_STR(dg, D2);
        p = plat("linux/s390x");
        CHECK(reg_index_select(idx, &p, dg, &e) < 0);
        CHECK(e != NULL);
        int good = strstr(e->msg, "no matching manifest for linux/s390x") &&
                   strstr(e->msg, "available: linux/amd64, linux/arm/v6, linux/arm64/v8)");
        if (!good)
                printf("# %s\n", e->msg);
        err_free(&e);
        json_decref(idx);
        CHECK(good);
}

static void test_manifest_kind(void)
{
        enum reg_manifest_kind k;
        struct err *e = NULL;
        json_t *d = json_object();
        CHECK(reg_manifest_kind(MT_DOCKER_LIST, d, &k, &e) == 0 && k == REG_KIND_INDEX);
        CHECK(reg_manifest_kind(MT_DOCKER_MANIFEST "; charset=utf-8", d, &k, &e) == 0 &&
              k == REG_KIND_IMAGE);
        CHECK(reg_manifest_kind(MT_OCI_INDEX, d, &k, &e) == 0 && k == REG_KIND_INDEX);
        CHECK(reg_manifest_kind("application/vnd.docker.distribution.manifest.v1+prettyjws", d, &k,
                                &e) < 0);
        CHECK(strstr(e->msg, "schema 1"));
        err_free(&e);
        CHECK(reg_manifest_kind("text/html", d, &k, &e) < 0);
        err_free(&e);
        json_object_set_new(d, "manifests", json_array());
        CHECK(reg_manifest_kind("application/json", d, &k, &e) == 0 && k == REG_KIND_INDEX);
        json_object_set_new(d, "mediaType", json_string(MT_OCI_MANIFEST));
        CHECK(reg_manifest_kind("application/json", d, &k, &e) == 0 && k == REG_KIND_IMAGE);
        json_decref(d);
}

static void test_manifest_parse(void)
{
        struct reg_manifest m;
        struct err *e = NULL;
        json_t *d = json_pack(
            "{s:i,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "schemaVersion", 2,
            "mediaType", MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "digest", D1,
            "size", 10, "layers", "mediaType", MT_DOCKER_LAYER, "digest", D2, "size", 20,
            "mediaType", "application/vnd.oci.image.layer.v1.tar+zstd", "digest", D3, "size", 30);
        CHECK(reg_manifest_parse(d, &m, &e) == 0);
        CHECK_STR(m.config.digest, D1);
        CHECK(m.n_layers == 2 && m.layers[1].size == 30);
        CHECK_STR(m.layers[0].digest, D2);
        reg_manifest_clear(&m);

        json_object_set_new(json_array_get(json_object_get(d, "layers"), 0), "digest",
                            json_string("sha256:zz"));
        CHECK(reg_manifest_parse(d, &m, &e) < 0);
        CHECK(strstr(e->msg, "layers[0]") && strstr(e->msg, "sha256:zz"));
        err_free(&e);
        json_object_set_new(json_object_get(d, "config"), "mediaType",
                            json_string("application/vnd.cncf.helm.config.v1+json"));
        CHECK(reg_manifest_parse(d, &m, &e) < 0);
        CHECK(strstr(e->msg, "not a container image"));
        err_free(&e);
        json_decref(d);

        json_t *cfg =
            json_pack("{s:{s:s,s:[s,s]}}", "rootfs", "type", "layers", "diff_ids", D1, D2);
        char **ids;
        size_t n;
        CHECK(reg_config_diff_ids(cfg, &ids, &n, &e) == 0);
        CHECK(n == 2);
        CHECK_STR(ids[1], D2);
        reg_strv_free(ids, n);
        json_decref(cfg);
        cfg = json_pack("{s:{s:s,s:[s]}}", "rootfs", "type", "layers", "diff_ids", "md5:00");
        CHECK(reg_config_diff_ids(cfg, &ids, &n, &e) < 0);
        CHECK(strstr(e->msg, "diff_ids[0]"));
        err_free(&e);
        json_decref(cfg);
}

int main(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/barge-test-regauth-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
                return 1;
        RUN(test_base64);
        RUN(test_challenge);
        RUN(test_server_domain);
        RUN(test_auth_file);
        RUN(test_auth_file_env);
        RUN(test_http_allowed);
        RUN(test_platform_parse);
        RUN(test_platform_score);
        RUN(test_index_select);
        RUN(test_manifest_kind);
        RUN(test_manifest_parse);
        struct err *e = NULL;
        rm_rf(tmpdir, &e);
        err_free(&e);
        return DONE();
}

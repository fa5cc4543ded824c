/*
 * reference.c: a table of references with what Docker (28.x, checked with
 * `docker pull REF` against its parser) makes of them: the normalized
 * string, the familiar form, or the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/util.h"
#include "../../src/registry/reference.h"
#include "harness.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ok_case {
        const char *in;
        const char *domain, *path, *tag, *digest;
        const char *normalized; /* ref_string */
        const char *familiar;   /* ref_familiar(normalized) */
};

static const struct ok_case ok_cases[] = {
    {"busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest",
     "busybox:latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36",
     "busybox:1.36"},
    {"user/app:1", "docker.io", "user/app", "1", NULL, "docker.io/user/app:1", "user/app:1"},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"index.docker.io/user/app", "docker.io", "user/app", "latest", NULL,
     "docker.io/user/app:latest", "user/app:latest"},
    {"docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", NULL,
     "docker.io/library/foo/bar:latest", "library/foo/bar:latest"},
    {"localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest",
     "localhost/app:latest"},
    {"localhost:5000/app:1", "localhost:5000", "app", "1", NULL, "localhost:5000/app:1",
     "localhost:5000/app:1"},
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL,
     "docker.io/library/localhost:5000", "localhost:5000"},
    {"ghcr.io/org/app:v2", "ghcr.io", "org/app", "v2", NULL, "ghcr.io/org/app:v2",
     "ghcr.io/org/app:v2"},
    {"foo:5000/bar:v1", "foo:5000", "bar", "v1", NULL, "foo:5000/bar:v1", "foo:5000/bar:v1"},
    {"a.b.c/x", "a.b.c", "x", "latest", NULL, "a.b.c/x:latest", "a.b.c/x:latest"},
    {"example.com:65536/foo", "example.com:65536", "foo", "latest", NULL,
     "example.com:65536/foo:latest", "example.com:65536/foo:latest"},
    {"[::1]:5000/foo", "[::1]:5000", "foo", "latest", NULL, "[::1]:5000/foo:latest",
     "[::1]:5000/foo:latest"},
    {"[::1]/foo", "[::1]", "foo", "latest", NULL, "[::1]/foo:latest", "[::1]/foo:latest"},
    {"Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest", "Foo/bar:latest"},
    {"LOCALHOST/foo", "LOCALHOST", "foo", "latest", NULL, "LOCALHOST/foo:latest",
     "LOCALHOST/foo:latest"},
    {"a__b", "docker.io", "library/a__b", "latest", NULL, "docker.io/library/a__b:latest",
     "a__b:latest"},
    {"a--b.c_d", "docker.io", "library/a--b.c_d", "latest", NULL,
     "docker.io/library/a--b.c_d:latest", "a--b.c_d:latest"},
    {"foo/bar/baz/qux", "docker.io", "foo/bar/baz/qux", "latest", NULL,
     "docker.io/foo/bar/baz/qux:latest", "foo/bar/baz/qux:latest"},
    {"ubuntu:_x", "docker.io", "library/ubuntu", "_x", NULL, "docker.io/library/ubuntu:_x",
     "ubuntu:_x"},
    {"ubuntu:V1.2-rc_3", "docker.io", "library/ubuntu", "V1.2-rc_3", NULL,
     "docker.io/library/ubuntu:V1.2-rc_3", "ubuntu:V1.2-rc_3"},
    {"busybox@sha256:" D64, "docker.io", "library/busybox", NULL, "sha256:" D64,
     "docker.io/library/busybox@sha256:" D64, "busybox@sha256:" D64},
    {"localhost:5000/app:1@sha256:" D64, "localhost:5000", "app", "1", "sha256:" D64,
     "localhost:5000/app:1@sha256:" D64, "localhost:5000/app:1@sha256:" D64},
};

struct bad_case {
        const char *in;
        const char *msg; /* substring of the error */
};

static char long_tag[160], ok_long_tag[160], long_path[300], ok_long_path[300];

static const struct bad_case bad_cases[] = {
    {"", "invalid reference format: repository name must have at least one component"},
    {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
    {"foo/Bar", "invalid reference format: repository name (foo/Bar) must be lowercase"},
    {"busybox:", "invalid reference format: invalid tag \"\""},
    {":tag", "invalid reference format: repository name must have at least one component"},
    {"a___b", "invalid reference format: invalid path component \"a___b\""},
    {"a._b", "invalid reference format: invalid path component \"a._b\""},
    {"a-", "invalid reference format: invalid path component \"a-\""},
    {"foo//bar", "invalid reference format: empty path component"},
    {"foo/", "invalid reference format: empty path component"},
    {"/foo", "invalid reference format"},
    {"foo bar", "invalid reference format: invalid path component \"foo bar\""},
    {"foo:bar:baz", "invalid reference format"},
    {"ubuntu:.x", "invalid reference format: invalid tag \".x\""},
    {"ubuntu:-x", "invalid reference format: invalid tag \"-x\""},
    {"local_host:5000/foo", "invalid reference format: invalid registry host \"local_host:5000\""},
    {"ex-.com/foo", "invalid reference format: invalid registry host \"ex-.com\""},
    {"host:/foo", "invalid reference format: invalid registry host \"host:\""},
    {"host:port/foo", "invalid reference format: invalid registry host \"host:port\""},
    {"foo@sha256:abc", "invalid reference format: invalid digest \"sha256:abc\""},
    {"foo@sha256:"
     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "invalid reference format: invalid digest"},
    {"foo@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
    {D64, "invalid repository name (" D64 "), cannot specify 64-byte hexadecimal strings"},
    {long_tag, "invalid reference format: invalid tag"},
    {long_path, "repository name must not be more than 255 characters"},
};

static void test_ok_table(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++) {
                const struct ok_case *c = &ok_cases[i];
                struct image_ref *r = NULL;
                struct err *e = NULL;
                if (ref_parse(c->in, &r, &e) < 0) {
                        printf("# %s: %s\n", c->in, e->msg);
                        err_free(&e);
                        CHECK(0);
                }
                char *s = ref_string(r), *fam = ref_familiar(s);
                int good = strcmp(r->domain, c->domain) == 0 && strcmp(r->path, c->path) == 0 &&
                           (c->tag ? r->tag && strcmp(r->tag, c->tag) == 0 : r->tag == NULL) &&
                           (c->digest ? r->digest && strcmp(r->digest, c->digest) == 0
                                      : r->digest == NULL) &&
                           strcmp(s, c->normalized) == 0 && strcmp(fam, c->familiar) == 0;
                if (!good)
                        printf("# %s: got %s | %s | %s | %s -> %s, %s\n", c->in, r->domain, r->path,
                               r->tag ? r->tag : "-", r->digest ? r->digest : "-", s, fam);
                free(s);
                free(fam);
                ref_free(r);
                CHECK(good);
        }
}

static void test_bad_table(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
                const struct bad_case *c = &bad_cases[i];
                struct image_ref *r = NULL;
                struct err *e = NULL;
                int rc = ref_parse(c->in, &r, &e);
                if (rc == 0) {
                        printf("# \"%s\" was accepted\n", c->in);
                        ref_free(r);
                        CHECK(0);
                }
                CHECK(r == NULL && e != NULL);
                int good = strstr(e->msg, c->msg) != NULL;
                if (!good)
                        printf("# \"%.40s\": got \"%s\", want \"%s\"\n", c->in, e->msg, c->msg);
                err_free(&e);
                CHECK(good);
        }
}

static void test_long_limits(void)
{
        /* the boundaries of the same limits accept */
        struct image_ref *r = NULL;
        struct err *e = NULL;
        CHECK(ref_parse(ok_long_tag, &r, &e) == 0);
        CHECK(strlen(r->tag) == 128);
        ref_free(r);
        CHECK(ref_parse(ok_long_path, &r, &e) == 0);
        CHECK(strlen(r->path) == 255);
        ref_free(r);
}

static void test_name_helpers(void)
{
        struct image_ref *r = NULL;
        struct err *e = NULL;
        CHECK(ref_parse("busybox@sha256:" D64, &r, &e) == 0);
        char *n = ref_name(r);
        CHECK(strcmp(n, "docker.io/library/busybox") == 0);
        free(n);
        ref_free(r);
        char *f = ref_familiar("docker.io/library/busybox");
        CHECK(strcmp(f, "busybox") == 0);
        free(f);
        f = ref_familiar("docker.io/user/app");
        CHECK(strcmp(f, "user/app") == 0);
        free(f);
        f = ref_familiar("quay.io/library/app:1");
        CHECK(strcmp(f, "quay.io/library/app:1") == 0);
        free(f);
}

int main(void)
{
        memset(long_tag, 0, sizeof(long_tag));
        strcpy(long_tag, "ubuntu:");
        memset(long_tag + 7, 'a', 129);
        strcpy(ok_long_tag, "ubuntu:");
        memset(ok_long_tag + 7, 'a', 128);
        memset(long_path, 'a', 254); /* a*254/b: a 256-character path */
        strcpy(long_path + 254, "/b");
        memset(ok_long_path, 'a', 253);
        strcpy(ok_long_path + 253, "/b");

        RUN(test_ok_table);
        RUN(test_bad_table);
        RUN(test_long_limits);
        RUN(test_name_helpers);
        return DONE();
}

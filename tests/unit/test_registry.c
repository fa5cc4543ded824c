/*
 * registry.c against a real registry: Debian's docker-registry started on a
 * free loopback port with its storage in the test's temp dir, seeded with
 * skopeo from OCI layouts made here (busybox rootfs from
 * tests/lib/mkrootfs.sh).  Covers: pull of an OCI and a Docker v2 schema 2
 * image, the second pull that downloads nothing, pull by digest, manifest
 * lists with platform selection, a docker.io mirror, unknown tags, a tampered blob, a registry
 * killed mid-pull (and the pull after its restart), push under another
 * name (cross-repository mount) and pulling that back, push of an image
 * without a stored manifest, Basic auth with htpasswd and login/logout,
 * Bearer token auth against a token server (python3-jwt), and the time of a
 * cold pull of 5 x 40 MB layers.
 *
 * Needs root (the store keeps owners and device nodes), docker-registry and
 * skopeo; skipped otherwise.  Registries are started with PR_SET_PDEATHSIG
 * and killed at exit, so none outlives the test.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/registry/internal.h"
#include "../../src/registry/reference.h"
#include "../../src/registry/registry.h"
#include "../../src/store/imageio.h"
#include "../../src/store/store.h"
#include "harness.h"

static char tmp[64];
static char srcdir[4096]; /* repo root (for tests/lib) */

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *cmd = NULL;
        if (vasprintf(&cmd, fmt, ap) < 0)
                abort();
        va_end(ap);
        char *full = NULL;
        if (asprintf(&full, "(%s) >>%s/sh.log 2>&1", cmd, tmp) < 0)
                abort();
        int r = system(full);
        if (r != 0)
                printf("# command failed (%d): %s\n", r, cmd);
        free(full);
        free(cmd);
        return r;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &l) < 0)
                abort();
        close(fd);
        return ntohs(a.sin_port);
}

static int port_open(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

/* ---- registries ---- */

struct reg {
        const char *name; /* dir under tmp */
        int port;
        pid_t pid;
        char addr[32]; /* "127.0.0.1:<port>" */
        char data[128];
        const char *auth_yaml; /* extra "auth:" section, or NULL */
};

static struct reg plain = {.name = "reg"}, basic = {.name = "basic"}, tokenreg = {.name = "token"};
static pid_t token_server;
static int token_port;

static int reg_start(struct reg *r)
{
        char cfg[256];
        if (r->port == 0) {
                r->port = free_port();
                snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
                snprintf(r->data, sizeof(r->data), "%s/%s/data", tmp, r->name);
        }
        snprintf(cfg, sizeof(cfg), "%s/%s/config.yml", tmp, r->name);
        if (sh("mkdir -p %s", r->data) != 0)
                return -1;
        FILE *f = fopen(cfg, "w");
        if (f == NULL)
                return -1;
        fprintf(f,
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
                "http:\n  addr: %s\n%s",
                r->data, r->addr, r->auth_yaml ? r->auth_yaml : "");
        fclose(f);
        char log[256];
        snprintf(log, sizeof(log), "%s/%s/registry.log", tmp, r->name);
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execlp("docker-registry", "docker-registry", "serve", cfg, (char *)NULL);
                _exit(127);
        }
        r->pid = pid;
        for (int i = 0; i < 200; i++) {
                if (port_open(r->port))
                        return 0;
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        r->pid = 0;
                        printf("# docker-registry exited; see %s\n", log);
                        return -1;
                }
                usleep(25000);
        }
        return -1;
}

static void reg_stop(struct reg *r)
{
        if (r->pid > 0) {
                kill(r->pid, SIGKILL);
                waitpid(r->pid, NULL, 0);
                r->pid = 0;
        }
}

static void stop_all(void)
{
        reg_stop(&plain);
        reg_stop(&basic);
        reg_stop(&tokenreg);
        if (token_server > 0) {
                kill(token_server, SIGKILL);
                waitpid(token_server, NULL, 0);
                token_server = 0;
        }
}

static void on_signal(int sig)
{
        stop_all();
        signal(sig, SIG_DFL);
        raise(sig);
}

/* ---- image fixtures ---- */

/* mkoci.sh OUT ARCH TAG LAYERDIR...: an OCI layout with one image. */
static const char mkoci[] =
    "set -eu\n"
    "out=$1 arch=$2 tag=$3; shift 3\n"
    "mkdir -p \"$out/blobs/sha256\"\n"
    "put() { d=$(sha256sum \"$1\" | cut -d' ' -f1); mv \"$1\" \"$out/blobs/sha256/$d\"; "
    "echo \"$d\"; }\n"
    "layers= diffs=\n"
    "for dir in \"$@\"; do\n"
    "  tar --sort=name --numeric-owner --mtime=@0 -C \"$dir\" -cf \"$out/l.tar\" .\n"
    "  diff=$(sha256sum \"$out/l.tar\" | cut -d' ' -f1)\n"
    "  gzip -n -1 \"$out/l.tar\"\n"
    "  size=$(stat -c %s \"$out/l.tar.gz\")\n"
    "  dg=$(put \"$out/l.tar.gz\")\n"
    "  layers=\"$layers${layers:+,}{\\\"mediaType\\\":\\\"application/vnd.oci.image.layer.v1."
    "tar+gzip\\\",\\\"digest\\\":\\\"sha256:$dg\\\",\\\"size\\\":$size}\"\n"
    "  diffs=\"$diffs${diffs:+,}\\\"sha256:$diff\\\"\"\n"
    "done\n"
    "printf '{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}' \"$arch\" \"$diffs\" >\"$out/c.json\"\n"
    "csize=$(stat -c %s \"$out/c.json\"); cdg=$(put \"$out/c.json\")\n"
    "printf '{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
    "\"sha256:%s\",\"size\":%s},\"layers\":[%s]}' \"$cdg\" \"$csize\" \"$layers\" "
    ">\"$out/m.json\"\n"
    "msize=$(stat -c %s \"$out/m.json\"); mdg=$(put \"$out/m.json\")\n"
    "printf '{\"imageLayoutVersion\":\"1.0.0\"}' >\"$out/oci-layout\"\n"
    "entry=\"{\\\"mediaType\\\":\\\"application/vnd.oci.image.manifest.v1+json\\\","
    "\\\"digest\\\":\\\"sha256:$mdg\\\",\\\"size\\\":$msize,\\\"platform\\\":{"
    "\\\"os\\\":\\\"linux\\\",\\\"architecture\\\":\\\"$arch\\\"}}\"\n"
    "echo \"$entry\" >\"$out/entry-$arch\"\n"
    "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
    "manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%s,\"annotations\":{\"org."
    "opencontainers.image.ref.name\":\"%s\"}}]}' \"$mdg\" \"$msize\" \"$tag\" "
    ">\"$out/index.json\"\n";

static int seed(const struct reg *r, const char *layout, const char *tag, const char *dest,
                const char *extra)
{
        return sh("skopeo copy -q --dest-tls-verify=false %s oci:%s:%s docker://%s/%s",
                  extra ? extra : "", layout, tag, r->addr, dest);
}

static char busybox_manifest[DIGEST_LEN + 1];
static char big_ready;

static int make_fixtures(void)
{
        if (sh("printf '%%s' \"$MKOCI\" >%s/mkoci.sh", tmp) != 0)
                return -1;
        if (sh("sh %s/tests/lib/mkrootfs.sh %s/rootfs", srcdir, tmp) != 0)
                return -1;
        /* busybox: the rootfs plus a small second layer */
        if (sh("mkdir -p %s/l2/etc && echo hello >%s/l2/etc/motd", tmp, tmp) != 0 ||
            sh("sh %s/mkoci.sh %s/oci-busybox amd64 latest %s/rootfs %s/l2", tmp, tmp, tmp, tmp))
                return -1;
        char path[256];
        snprintf(path, sizeof(path), "%s/oci-busybox", tmp);
        if (seed(&plain, path, "latest", "busybox:latest", NULL) != 0 ||
            seed(&plain, path, "latest", "busybox:v2s2", "--format v2s2") != 0)
                return -1;
        /* a manifest list: amd64 (busybox) + arm64 (with a marker layer) */
        if (sh("mkdir -p %s/arm/etc && echo arm64 >%s/arm/etc/arch && "
               "sh %s/mkoci.sh %s/oci-arm arm64 latest %s/rootfs %s/arm",
               tmp, tmp, tmp, tmp, tmp, tmp) != 0)
                return -1;
        if (sh("d=%s/oci-multi; mkdir -p $d/blobs/sha256 && cp -n %s/oci-busybox/blobs/sha256/* "
               "$d/blobs/sha256/ && cp -n %s/oci-arm/blobs/sha256/* $d/blobs/sha256/ && cp "
               "%s/oci-busybox/oci-layout $d/ && "
               "idx=$(printf '{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
               "index.v1+json\",\"manifests\":[%%s,%%s]}' \"$(cat %s/oci-busybox/entry-amd64)\" "
               "\"$(cat %s/oci-arm/entry-arm64)\") && printf '%%s' \"$idx\" >$d/i.json && "
               "dg=$(sha256sum $d/i.json | cut -d' ' -f1) && sz=$(stat -c %%s $d/i.json) && "
               "mv $d/i.json $d/blobs/sha256/$dg && "
               "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci."
               "image.index.v1+json\",\"digest\":\"sha256:%%s\",\"size\":%%s,\"annotations\":{"
               "\"org.opencontainers.image.ref.name\":\"latest\"}}]}' $dg $sz >$d/index.json",
               tmp, tmp, tmp, tmp, tmp, tmp) != 0)
                return -1;
        snprintf(path, sizeof(path), "%s/oci-multi", tmp);
        if (seed(&plain, path, "latest", "multi:latest", "--all") != 0)
                return -1;
        /* the manifest digest of busybox:latest, as the layout has it */
        char *idx = NULL;
        struct err *e = NULL;
        snprintf(path, sizeof(path), "%s/oci-busybox/index.json", tmp);
        if (read_file(path, 1 << 20, &idx, NULL, &e) < 0) {
                err_free(&e);
                return -1;
        }
        char *p = strstr(idx, "sha256:");
        if (p)
                snprintf(busybox_manifest, sizeof(busybox_manifest), "%.71s", p);
        free(idx);
        return p ? 0 : -1;
}

/* ---- progress capture ---- */

struct seen {
        int downloading, complete, exists, mounted, pushed, layer_exists, extracting;
        int kill_at; /* kill the plain registry at the first Downloading past this many bytes */
};

static void on_progress(void *ctx, const char *id, const char *status, int64_t cur, int64_t tot)
{
        struct seen *s = ctx;
        (void)id;
        (void)tot;
        if (!strcmp(status, "Downloading")) {
                s->downloading++;
                if (s->kill_at && cur > s->kill_at) {
                        reg_stop(&plain);
                        s->kill_at = 0;
                }
        } else if (!strcmp(status, "Pull complete")) {
                s->complete++;
        } else if (!strcmp(status, "Already exists")) {
                s->exists++;
        } else if (!strncmp(status, "Mounted from ", 13)) {
                s->mounted++;
        } else if (!strcmp(status, "Pushed")) {
                s->pushed++;
        } else if (!strcmp(status, "Layer already exists")) {
                s->layer_exists++;
        } else if (!strcmp(status, "Extracting")) {
                s->extracting++;
        }
}

static struct store *open_store(const char *name)
{
        char root[256];
        struct store *s = NULL;
        struct err *e = NULL;
        snprintf(root, sizeof(root), "%s/%s", tmp, name);
        if (store_open(root, &s, &e) < 0) {
                printf("# store_open: %s\n", e->msg);
                err_free(&e);
                return NULL;
        }
        return s;
}

static int tmp_is_empty(struct store *s)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/tmp", store_root(s));
        DIR *d = opendir(path);
        if (d == NULL)
                return 1;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++, printf("# left in tmp/: %s\n", de->d_name);
        closedir(d);
        return n == 0;
}

static int layer_has_file(struct store *s, const char *chain, const char *rel)
{
        char *dir = store_layer_dir(s, chain);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        free(dir);
        struct stat st;
        return lstat(path, &st) == 0;
}

static int pull(struct store *s, const char *ref, struct seen *seen, char id[DIGEST_LEN + 1],
                struct err **e)
{
        struct registry_opts o = {.progress = on_progress, .progress_ctx = seen};
        char full[256];
        snprintf(full, sizeof(full), "%s/%s", plain.addr, ref);
        return registry_pull(s, full, &o, id, e);
}

#define CHECK_OK(call)                                                                             \
        do {                                                                                       \
                struct err *_e = NULL;                                                             \
                struct err **e = &_e;                                                              \
                if ((call) < 0) {                                                                  \
                        printf("# %s: %s\n", #call, _e ? _e->msg : "(no message)");                \
                        err_free(&_e);                                                             \
                        CHECK(0);                                                                  \
                }                                                                                  \
                (void)e;                                                                           \
        } while (0)

/* The call must fail with a message containing `want`. */
#define CHECK_FAILS(call, want)                                                                    \
        do {                                                                                       \
                struct err *_e = NULL;                                                             \
                struct err **e = &_e;                                                              \
                int _r = (call);                                                                   \
                int _good = _r < 0 && _e && strstr(_e->msg, want);                                 \
                if (!_good)                                                                        \
                        printf("# %s: r=%d, \"%s\", want \"%s\"\n", #call, _r,                     \
                               _e ? _e->msg : "(none)", want);                                     \
                else                                                                               \
                        printf("# error as expected: %s\n", _e->msg);                              \
                err_free(&_e);                                                                     \
                CHECK(_good);                                                                      \
                (void)e;                                                                           \
        } while (0)

/* ---- tests ---- */

static struct store *main_store;

static void test_pull_oci(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1], ref[256];
        struct store *s = main_store;
        CHECK_OK(pull(s, "busybox:latest", &seen, id, e));
        CHECK(seen.complete == 2);
        struct store_image *img = NULL;
        snprintf(ref, sizeof(ref), "%s/busybox:latest", plain.addr);
        CHECK_OK(store_image_get(s, ref, &img, e));
        int good = !strcmp(img->id, id) && img->n_layers == 2 &&
                   !strcmp(img->manifest, busybox_manifest) && img->n_digests == 1 &&
                   strstr(img->repo_digests[0], busybox_manifest) &&
                   layer_has_file(s, img->chain_ids[0], "bin/busybox") &&
                   layer_has_file(s, img->chain_ids[1], "etc/motd") &&
                   !layer_has_file(s, img->chain_ids[1], "bin/busybox");
        store_image_free(img);
        CHECK(good);
        CHECK(tmp_is_empty(s));
}

static void test_pull_again_downloads_nothing(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1];
        CHECK_OK(pull(main_store, "busybox:latest", &seen, id, e));
        CHECK(seen.exists == 2 && seen.downloading == 0 && seen.complete == 0);
}

static void test_pull_v2s2(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1], id2[DIGEST_LEN + 1], ref[256];
        /* same layers and config as busybox:latest, a converted manifest:
         * pulled into a store of its own, the image keeps that manifest */
        struct store *s = open_store("store-v2s2");
        CHECK(s != NULL);
        CHECK_OK(pull(s, "busybox:v2s2", &seen, id2, e));
        CHECK_OK(pull(main_store, "busybox:latest", &seen, id, e));
        CHECK(!strcmp(id, id2));
        struct store_image *img = NULL;
        snprintf(ref, sizeof(ref), "%s/busybox:v2s2", plain.addr);
        CHECK_OK(store_image_get(s, ref, &img, e));
        char *m = NULL;
        size_t len = 0;
        int ok = store_blob_read(s, img->manifest, 1 << 20, &m, &len, NULL) == 0 &&
                 strstr(m, MT_DOCKER_MANIFEST) != NULL && strcmp(img->manifest, busybox_manifest);
        free(m);
        store_image_free(img);
        store_close(s);
        CHECK(ok);
}

static void test_pull_by_digest(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1], ref[256];
        snprintf(ref, sizeof(ref), "busybox@%s", busybox_manifest);
        CHECK_OK(pull(main_store, ref, &seen, id, e));
        /* a digest the registry does not have */
        snprintf(ref, sizeof(ref), "busybox@sha256:%064d", 0);
        CHECK_FAILS(pull(main_store, ref, &seen, id, e), "manifest unknown (404)");
}

static void test_unknown_tag(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1], want[256];
        snprintf(want, sizeof(want), "pull %s/busybox:nope: manifest unknown (404)", plain.addr);
        CHECK_FAILS(pull(main_store, "busybox:nope", &seen, id, e), want);
        snprintf(want, sizeof(want), "pull %s/nothere:latest: ", plain.addr);
        CHECK_FAILS(pull(main_store, "nothere:latest", &seen, id, e), want);
        /* "not there" carries ENOENT (barged answers 404), without strerror text */
        struct err *err = NULL;
        CHECK(pull(main_store, "busybox:nope", &seen, id, &err) < 0);
        int code = err->code, plain_words = strstr(err->msg, "No such file") == NULL;
        err_free(&err);
        CHECK(code == ENOENT && plain_words);
}

static void test_manifest_list(void)
{
        struct seen seen = {0};
        char id_amd[DIGEST_LEN + 1], id_arm[DIGEST_LEN + 1], ref[256];
        struct store *s = open_store("store-multi");
        CHECK(s != NULL);
        struct registry_opts o = {
            .progress = on_progress, .progress_ctx = &seen, .platform = "linux/arm64"};
        snprintf(ref, sizeof(ref), "%s/multi:latest", plain.addr);
        CHECK_OK(registry_pull(s, ref, &o, id_arm, e));
        struct store_image *img = NULL;
        CHECK_OK(store_image_get(s, id_arm, &img, e));
        int arm_ok = img->n_layers == 2 && layer_has_file(s, img->chain_ids[1], "etc/arch");
        /* the repo digest is the index's, the image's manifest the arm64 one */
        int rd_ok =
            img->n_digests == 1 && strcmp(img->manifest, strchr(img->repo_digests[0], '@') + 1);
        store_image_free(img);
        CHECK(arm_ok && rd_ok);
        o.platform = "linux/amd64";
        CHECK_OK(registry_pull(s, ref, &o, id_amd, e));
        CHECK(strcmp(id_amd, id_arm) != 0);
        o.platform = "linux/s390x";
        CHECK_FAILS(registry_pull(s, ref, &o, id_amd, e),
                    "no matching manifest for linux/s390x in the manifest list entries "
                    "(available: linux/amd64, linux/arm64)");
        o.platform = "linux";
        CHECK_OK(registry_pull(s, ref, &o, id_amd, e)); /* the host's arch */
        store_close(s);
}

static void test_mirror(void)
{
        /* docker.io/library/busybox through a mirror: the local registry */
        char path[256], mirror[64], id[DIGEST_LEN + 1];
        snprintf(path, sizeof(path), "%s/oci-busybox", tmp);
        CHECK(seed(&plain, path, "latest", "library/busybox:latest", NULL) == 0);
        snprintf(mirror, sizeof(mirror), "http://%s/", plain.addr);
        struct store *s = open_store("store-mirror");
        CHECK(s != NULL);
        struct registry_opts o = {.mirror = mirror};
        CHECK_OK(registry_pull(s, "busybox", &o, id, e));
        struct store_image *img = NULL;
        CHECK_OK(store_image_get(s, "docker.io/library/busybox:latest", &img, e));
        int good = !strcmp(img->id, id) && img->n_digests == 1 &&
                   str_has_prefix(img->repo_digests[0], "docker.io/library/busybox@sha256:");
        store_image_free(img);
        store_close(s);
        CHECK(good);
}

static void test_push_and_pull_back(void)
{
        struct seen seen = {0};
        char id[DIGEST_LEN + 1], src[256], dst[256], dstd[256];
        struct registry_opts o = {.progress = on_progress, .progress_ctx = &seen};
        snprintf(src, sizeof(src), "%s/busybox:latest", plain.addr);
        snprintf(dst, sizeof(dst), "%s/copy/busybox:v1", plain.addr);
        struct store_image *img = NULL;
        CHECK_OK(store_image_get(main_store, src, &img, e));
        snprintf(id, sizeof(id), "%s", img->id);
        store_image_free(img);
        CHECK_OK(store_tag(main_store, dst, id, e));
        CHECK_OK(registry_push(main_store, dst, &o, e));
        /* both layers mounted from busybox, the config too */
        CHECK(seen.mounted == 3 && seen.pushed == 0);
        /* pushing again: everything is there */
        memset(&seen, 0, sizeof(seen));
        CHECK_OK(registry_push(main_store, dst, &o, e));
        CHECK(seen.layer_exists == 3);
        /* the repo digest is recorded, and equals the source manifest */
        snprintf(dstd, sizeof(dstd), "%s/copy/busybox@%s", plain.addr, busybox_manifest);
        CHECK_OK(store_image_get(main_store, dstd, &img, e));
        store_image_free(img);

        /* pull it into a fresh store */
        struct store *s2 = open_store("store-back");
        CHECK(s2 != NULL);
        char id2[DIGEST_LEN + 1];
        CHECK_OK(registry_pull(s2, dst, &o, id2, e));
        CHECK(!strcmp(id, id2));
        store_close(s2);
}

static void test_push_imported(void)
{
        /* an image without a manifest: import a rootfs tar */
        char tarpath[256], dst[256], id[DIGEST_LEN + 1], id2[DIGEST_LEN + 1];
        snprintf(tarpath, sizeof(tarpath), "%s/imp.tar", tmp);
        CHECK(sh("tar --numeric-owner -C %s/l2 -cf %s .", tmp, tarpath) == 0);
        int fd = open(tarpath, O_RDONLY);
        CHECK(fd >= 0);
        snprintf(dst, sizeof(dst), "%s/imported:1", plain.addr);
        struct err *err = NULL;
        int r = image_import(main_store, fd, dst, id, &err);
        close(fd);
        if (r < 0) {
                printf("# import: %s\n", err->msg);
                err_free(&err);
                CHECK(0);
        }
        struct seen seen = {0};
        struct registry_opts o = {.progress = on_progress, .progress_ctx = &seen};
        r = registry_push(main_store, dst, &o, &err);
        if (r < 0) {
                /* allowed: the import kept no blob for its layer; the error must say so */
                int clear = strstr(err->msg, "has no blob in the store") != NULL;
                printf("# push of an imported image: %s\n", err->msg);
                err_free(&err);
                CHECK(clear);
                return;
        }
        struct store *s2 = open_store("store-imp");
        CHECK(s2 != NULL);
        CHECK_OK(registry_pull(s2, dst, &o, id2, e));
        CHECK(!strcmp(id, id2));
        store_close(s2);
}

static int find_blob_data(const char *digest, char *out, size_t n)
{
        const char *hex = digest + 7;
        snprintf(out, n, "%s/docker/registry/v2/blobs/sha256/%.2s/%s/data", plain.data, hex, hex);
        return access(out, F_OK);
}

static void test_tampered_blob(void)
{
        /* its own image, so no layer of it is in any store yet */
        CHECK(sh("mkdir -p %s/t1 && head -c 300000 /dev/urandom >%s/t1/junk && "
                 "sh %s/mkoci.sh %s/oci-tamper amd64 latest %s/t1",
                 tmp, tmp, tmp, tmp, tmp) == 0);
        char path[256], layer[DIGEST_LEN + 1] = "", data[512];
        snprintf(path, sizeof(path), "%s/oci-tamper", tmp);
        CHECK(seed(&plain, path, "latest", "tamper:latest", NULL) == 0);
        /* the layer digest: the only ...tar+gzip in the manifest */
        CHECK(sh("cd %s/oci-tamper && grep -o 'tar+gzip\",\"digest\":\"sha256:[0-9a-f]*' "
                 "blobs/sha256/* | head -1 | sed 's/.*\"sha256:/sha256:/' >%s/tamper-digest",
                 tmp, tmp) == 0);
        char *dg = NULL;
        snprintf(path, sizeof(path), "%s/tamper-digest", tmp);
        CHECK(read_file(path, 4096, &dg, NULL, NULL) == 0);
        snprintf(layer, sizeof(layer), "%.71s", dg);
        free(dg);
        CHECK(find_blob_data(layer, data, sizeof(data)) == 0);
        /* flip bytes in the middle, size unchanged */
        CHECK(sh("printf 'XXXXXXXX' | dd of=%s bs=1 seek=150000 conv=notrunc status=none", data) ==
              0);
        struct store *s = open_store("store-tamper");
        CHECK(s != NULL);
        struct seen seen = {0};
        char id[DIGEST_LEN + 1];
        CHECK_FAILS(pull(s, "tamper:latest", &seen, id, e), layer);
        /* nothing of it in the store: no layer, no blob, no image, tmp/ empty */
        CHECK(!store_blob_has(s, layer));
        struct store_image **imgs = NULL;
        size_t n = 0;
        CHECK_OK(store_image_list(s, &imgs, &n, e));
        for (size_t i = 0; i < n; i++)
                store_image_free(imgs[i]);
        free(imgs);
        CHECK(n == 0);
        CHECK(tmp_is_empty(s));
        char layers[512];
        snprintf(layers, sizeof(layers), "%s/layers", store_root(s));
        CHECK(sh("test -z \"$(ls -A %s 2>/dev/null)\"", layers) == 0);
        store_close(s);
}

/* 5 layers of 40 MB, random (gzip cannot shrink them) */
static int make_big(void)
{
        if (big_ready)
                return 0;
        for (int i = 1; i <= 5; i++)
                if (sh("mkdir -p %s/big%d && head -c 40000000 /dev/urandom >%s/big%d/f%d", tmp, i,
                       tmp, i, i) != 0)
                        return -1;
        if (sh("sh %s/mkoci.sh %s/oci-big amd64 latest %s/big1 %s/big2 %s/big3 %s/big4 %s/big5",
               tmp, tmp, tmp, tmp, tmp, tmp, tmp) != 0)
                return -1;
        char path[256];
        snprintf(path, sizeof(path), "%s/oci-big", tmp);
        if (seed(&plain, path, "latest", "big:latest", NULL) != 0)
                return -1;
        big_ready = 1;
        return 0;
}

static void test_cold_pull_speed(void)
{
        CHECK(make_big() == 0);
        double best = 1e9;
        for (int round = 0; round < 3; round++) {
                char name[32];
                snprintf(name, sizeof(name), "store-big%d", round);
                struct store *s = open_store(name);
                CHECK(s != NULL);
                struct seen seen = {0};
                char id[DIGEST_LEN + 1];
                double t0 = now_s();
                int r;
                CHECK_OK(r = pull(s, "big:latest", &seen, id, e));
                double t = now_s() - t0;
                printf("# cold pull of 5 x 40 MB layers: %.3f s\n", t);
                if (t < best)
                        best = t;
                store_close(s);
                CHECK(sh("rm -rf %s/%s", tmp, name) == 0);
                (void)r;
        }
        printf("# best cold pull: %.3f s (docker: ~1.5 s)\n", best);
        /* a loose bound: the machine may be busy; sanitizers are slow */
        CHECK(UNDER_ASAN || best < 4.0);
}

static void test_small_queues(void)
{
        /* 1 MiB queues: the bottom layer's transfer pauses for the unpacker,
         * the others are unpacked from their blob files */
        CHECK(make_big() == 0);
        struct store *s = open_store("store-smallq");
        CHECK(s != NULL);
        struct seen seen = {0};
        char id[DIGEST_LEN + 1];
        reg_layers_set_queue_limits(1 << 20, 2 << 20);
        struct err *err = NULL;
        int r = pull(s, "big:latest", &seen, id, &err);
        reg_layers_set_queue_limits(0, 0);
        if (r < 0)
                printf("# %s\n", err->msg);
        err_free(&err);
        CHECK(r == 0 && seen.complete == 5);
        struct store_image *img = NULL;
        CHECK_OK(store_image_get(s, id, &img, e));
        int good = img->n_layers == 5 && layer_has_file(s, img->chain_ids[4], "f5") &&
                   layer_has_file(s, img->chain_ids[0], "f1");
        store_image_free(img);
        CHECK(good);
        CHECK(tmp_is_empty(s));
        store_close(s);
        CHECK(sh("rm -rf %s/store-smallq", tmp) == 0);
}

static void test_registry_killed_mid_pull(void)
{
        CHECK(make_big() == 0);
        struct store *s = open_store("store-kill");
        CHECK(s != NULL);
        struct seen seen = {.kill_at = 4 << 20};
        char id[DIGEST_LEN + 1];
        double t0 = now_s();
        CHECK_FAILS(pull(s, "big:latest", &seen, id, e), "pull ");
        printf("# failed after %.2f s\n", now_s() - t0);
        CHECK(plain.pid == 0);
        CHECK(tmp_is_empty(s));
        /* restart on the same storage: the pull completes */
        CHECK(reg_start(&plain) == 0);
        memset(&seen, 0, sizeof(seen));
        CHECK_OK(pull(s, "big:latest", &seen, id, e));
        struct store_image *img = NULL;
        CHECK_OK(store_image_get(s, id, &img, e));
        CHECK(img->n_layers == 5);
        store_image_free(img);
        CHECK(tmp_is_empty(s));
        store_close(s);
}

/* registry_opts.cancel (barged: the client went away): the pull stops with
 * ECANCELED, adds no image and no layer, leaves tmp/ empty. */
struct cancel_ctx {
        int cancel;
};

static void cancel_on_download(void *ctx, const char *id, const char *status, int64_t cur,
                               int64_t tot)
{
        struct cancel_ctx *c = ctx;
        (void)id;
        (void)tot;
        if (!strcmp(status, "Downloading") && cur > 0)
                __atomic_store_n(&c->cancel, 1, __ATOMIC_RELAXED);
}

static void test_cancel_mid_pull(void)
{
        CHECK(make_big() == 0);
        struct store *s = open_store("store-cancel");
        CHECK(s != NULL);
        struct cancel_ctx c = {0};
        struct registry_opts o = {
            .progress = cancel_on_download, .progress_ctx = &c, .cancel = &c.cancel};
        char full[256], id[DIGEST_LEN + 1];
        snprintf(full, sizeof(full), "%s/big:latest", plain.addr);
        struct err *err = NULL;
        int r = registry_pull(s, full, &o, id, &err);
        int code = err ? err->code : 0;
        if (err)
                printf("# cancelled: %s\n", err->msg);
        err_free(&err);
        CHECK(r < 0 && code == ECANCELED);
        struct store_image **imgs = NULL;
        size_t n = 99;
        CHECK_OK(store_image_list(s, &imgs, &n, e));
        free(imgs);
        CHECK(n == 0);
        char layers[512];
        snprintf(layers, sizeof(layers), "%s/layers", store_root(s));
        CHECK(sh("[ -z \"$(ls -A %s 2>/dev/null)\" ]", layers) == 0);
        CHECK(tmp_is_empty(s));
        store_close(s);
}

/* ---- auth ---- */

static void test_basic_auth(void)
{
        char cfgdir[256], auth_file[256], ref[256], yaml[512];
        snprintf(cfgdir, sizeof(cfgdir), "%s/basic", tmp);
        snprintf(auth_file, sizeof(auth_file), "%s/docker/config.json", tmp);
        CHECK(sh("mkdir -p %s && htpasswd -Bbn alice wonderland >%s/htpasswd", cfgdir, cfgdir) ==
              0);
        snprintf(yaml, sizeof(yaml),
                 "auth:\n  htpasswd:\n    realm: basic-realm\n    path: %s/htpasswd\n", cfgdir);
        basic.auth_yaml = yaml;
        CHECK(reg_start(&basic) == 0);
        char path[256];
        snprintf(path, sizeof(path), "%s/oci-busybox", tmp);
        CHECK(sh("skopeo copy -q --dest-tls-verify=false --dest-creds alice:wonderland "
                 "oci:%s:latest docker://%s/private:latest",
                 path, basic.addr) == 0);
        struct registry_opts o = {.auth_file = auth_file};
        struct store *s = open_store("store-basic");
        CHECK(s != NULL);
        char id[DIGEST_LEN + 1];
        snprintf(ref, sizeof(ref), "%s/private:latest", basic.addr);
        /* no credentials */
        CHECK_FAILS(registry_pull(s, ref, &o, id, e), "authentication required");
        /* wrong password: login fails and writes nothing */
        CHECK_FAILS(registry_login(basic.addr, "alice", "nope", &o, e),
                    "unauthorized: incorrect username or password");
        CHECK(access(auth_file, F_OK) != 0);
        CHECK_OK(registry_login(basic.addr, "alice", "wonderland", &o, e));
        struct stat st;
        CHECK(stat(auth_file, &st) == 0 && (st.st_mode & 0777) == 0600);
        CHECK_OK(registry_pull(s, ref, &o, id, e));
        /* push with the same credentials */
        char dst[256];
        snprintf(dst, sizeof(dst), "%s/private2:latest", basic.addr);
        CHECK_OK(store_tag(s, dst, id, e));
        CHECK_OK(registry_push(s, dst, &o, e));
        CHECK_OK(registry_logout(basic.addr, &o, e));
        char *u = NULL, *p = NULL;
        CHECK(reg_auth_lookup(auth_file, basic.addr, &u, &p, NULL) == 0);
        CHECK_FAILS(registry_pull(s, dst, &o, id, e), "authentication required");
        /* credentials given with the request (barged's X-Registry-Auth), no
         * auth file entry: used for pull and push; wrong ones are refused */
        struct registry_opts given = o;
        given.username = "alice";
        given.password = "nope";
        CHECK_FAILS(registry_pull(s, dst, &given, id, e), "401");
        given.password = "wonderland";
        CHECK_OK(registry_pull(s, dst, &given, id, e));
        CHECK_OK(registry_push(s, dst, &given, e));
        /* login_check validates and writes nothing */
        CHECK_FAILS(registry_login_check(basic.addr, "alice", "nope", &o, e),
                    "unauthorized: incorrect username or password");
        CHECK_OK(registry_login_check(basic.addr, "alice", "wonderland", &o, e));
        CHECK(reg_auth_lookup(auth_file, basic.addr, &u, &p, NULL) == 0);
        store_close(s);
        reg_stop(&basic);
}

/* A token server: python3 with jwt; ES256 key and a self-signed cert for
 * the registry's rootcertbundle.  Grants what is asked to alice (Basic
 * credentials required) and pull to anonymous users on "public/". */
static const char token_py[] =
    "import base64, datetime, json, sys, time, hashlib\n"
    "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
    "from urllib.parse import urlparse, parse_qs\n"
    "import jwt\n"
    "from cryptography import x509\n"
    "from cryptography.hazmat.primitives import hashes, serialization\n"
    "from cryptography.hazmat.primitives.asymmetric import ec\n"
    "from cryptography.x509.oid import NameOID\n"
    "port, outdir = int(sys.argv[1]), sys.argv[2]\n"
    "key = ec.generate_private_key(ec.SECP256R1())\n"
    "name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'barge-test-token')])\n"
    "now = datetime.datetime.utcnow()\n"
    "cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)\n"
    "        .public_key(key.public_key()).serial_number(1)\n"
    "        .not_valid_before(now - datetime.timedelta(days=1))\n"
    "        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))\n"
    "open(outdir + '/token.crt', 'wb').write(cert.public_bytes(serialization.Encoding.PEM))\n"
    "der = key.public_key().public_bytes(serialization.Encoding.DER,\n"
    "        serialization.PublicFormat.SubjectPublicKeyInfo)\n"
    "h = hashlib.sha256(der).digest()[:30]\n"
    "b32 = base64.b32encode(h).decode().rstrip('=')\n"
    "kid = ':'.join(b32[i:i + 4] for i in range(0, 48, 4))\n"
    "log = open(outdir + '/token.log', 'a')\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a): pass\n"
    "    def do_GET(self):\n"
    "        q = parse_qs(urlparse(self.path).query)\n"
    "        user = None\n"
    "        a = self.headers.get('Authorization', '')\n"
    "        if a.startswith('Basic '):\n"
    "            u, _, p = base64.b64decode(a[6:]).decode().partition(':')\n"
    "            if (u, p) != ('alice', 'wonderland'):\n"
    "                self.send_response(401); self.end_headers(); return\n"
    "            user = u\n"
    "        access = []\n"
    "        for s in q.get('scope', []):\n"
    "            typ, _, rest = s.partition(':')\n"
    "            repo, _, acts = rest.rpartition(':')\n"
    "            acts = acts.split(',')\n"
    "            if user is None:\n"
    "                acts = [x for x in acts if x == 'pull' and repo.startswith('public/')]\n"
    "            access.append({'type': typ, 'name': repo, 'actions': acts})\n"
    "        log.write(json.dumps({'user': user, 'scope': q.get('scope', []),\n"
    "                              'service': q.get('service')}) + '\\n'); log.flush()\n"
    "        t = int(time.time())\n"
    "        tok = jwt.encode({'iss': 'barge-test', 'sub': user or '', 'aud': 'barge-registry',\n"
    "                          'exp': t + 300, 'nbf': t - 10, 'iat': t, 'jti': str(t),\n"
    "                          'access': access}, key, algorithm='ES256', headers={'kid': kid})\n"
    "        body = json.dumps({'access_token': tok}).encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Type', 'application/json')\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "srv = HTTPServer(('127.0.0.1', port), H)\n"
    "open(outdir + '/token.ready', 'w').close()\n"
    "srv.serve_forever()\n";

static void test_token_auth(void)
{
        char dir[256], yaml[1024], ref[256], auth_file[256];
        snprintf(dir, sizeof(dir), "%s/token", tmp);
        snprintf(auth_file, sizeof(auth_file), "%s/docker-token/config.json", tmp);
        CHECK(sh("mkdir -p %s", dir) == 0);
        char pyfile[300];
        snprintf(pyfile, sizeof(pyfile), "%s/tokensrv.py", dir);
        FILE *f = fopen(pyfile, "w");
        CHECK(f != NULL);
        fputs(token_py, f);
        fclose(f);
        token_port = free_port();
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                char port[16];
                snprintf(port, sizeof(port), "%d", token_port);
                execl("/usr/bin/python3", "python3", pyfile, port, dir, (char *)NULL);
                _exit(127);
        }
        token_server = pid;
        for (int i = 0; i < 200 && !port_open(token_port); i++)
                usleep(25000);
        CHECK(port_open(token_port));
        snprintf(yaml, sizeof(yaml),
                 "auth:\n  token:\n    realm: http://127.0.0.1:%d/token\n"
                 "    service: barge-registry\n    issuer: barge-test\n"
                 "    rootcertbundle: %s/token.crt\n",
                 token_port, dir);
        tokenreg.auth_yaml = yaml;
        CHECK(reg_start(&tokenreg) == 0);
        char path[256];
        snprintf(path, sizeof(path), "%s/oci-busybox", tmp);
        /* seed as alice (skopeo does the same Bearer dance) */
        CHECK(sh("skopeo copy -q --dest-tls-verify=false --dest-creds alice:wonderland "
                 "oci:%s:latest docker://%s/public/busybox:latest && "
                 "skopeo copy -q --dest-tls-verify=false --dest-creds alice:wonderland "
                 "oci:%s:latest docker://%s/private/busybox:latest",
                 path, tokenreg.addr, path, tokenreg.addr) == 0);
        struct store *s = open_store("store-token");
        CHECK(s != NULL);
        struct registry_opts o = {.auth_file = auth_file};
        char id[DIGEST_LEN + 1];
        /* anonymous token for public/ */
        snprintf(ref, sizeof(ref), "%s/public/busybox:latest", tokenreg.addr);
        CHECK_OK(registry_pull(s, ref, &o, id, e));
        /* anonymous token without pull rights for private/ */
        snprintf(ref, sizeof(ref), "%s/private/busybox:latest", tokenreg.addr);
        CHECK_FAILS(registry_pull(s, ref, &o, id, e), "(401)");
        CHECK_FAILS(registry_login(tokenreg.addr, "alice", "bad", &o, e),
                    "incorrect username or password");
        CHECK_OK(registry_login(tokenreg.addr, "alice", "wonderland", &o, e));
        CHECK_OK(registry_pull(s, ref, &o, id, e));
        /* push with a mount from private/busybox: the token must cover both */
        struct seen seen = {0};
        struct registry_opts op = {
            .auth_file = auth_file, .progress = on_progress, .progress_ctx = &seen};
        char dst[256];
        snprintf(dst, sizeof(dst), "%s/private/copy:latest", tokenreg.addr);
        CHECK_OK(store_tag(s, dst, id, e));
        CHECK_OK(registry_push(s, dst, &op, e));
        CHECK(seen.mounted == 3);
        store_close(s);
        reg_stop(&tokenreg);
}

/* ---- main ---- */

static int have(const char *prog)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
        return system(cmd) == 0;
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        const char *why = NULL;
        if (geteuid() != 0)
                why = "needs root";
        else if (!have("docker-registry") || !have("skopeo"))
                why = "needs docker-registry and skopeo";
        if (getcwd(srcdir, sizeof(srcdir)) == NULL)
                why = "getcwd";
        char probe[4200];
        snprintf(probe, sizeof(probe), "%s/tests/lib/mkrootfs.sh", srcdir);
        if (!why && access(probe, F_OK) != 0)
                why = "run from the repository root (tests/lib/mkrootfs.sh)";
        if (why) {
                SKIP(test_registry, why);
                return DONE();
        }
        snprintf(tmp, sizeof(tmp), "/tmp/barge-test-registry-XXXXXX");
        if (mkdtemp(tmp) == NULL)
                return 1;
        setenv("MKOCI", mkoci, 1);
        /* never read the user's own credentials */
        char dc[128];
        snprintf(dc, sizeof(dc), "%s/docker-default", tmp);
        setenv("DOCKER_CONFIG", dc, 1);
        atexit(stop_all);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGSEGV, on_signal);
        signal(SIGABRT, on_signal);

        if (reg_start(&plain) < 0 || make_fixtures() < 0 ||
            (main_store = open_store("store")) == NULL) {
                printf("# setup failed; see %s/sh.log\n", tmp);
                SKIP(test_registry, "fixture setup failed");
                stop_all();
                return 1;
        }
        RUN(test_pull_oci);
        RUN(test_pull_again_downloads_nothing);
        RUN(test_pull_v2s2);
        RUN(test_pull_by_digest);
        RUN(test_unknown_tag);
        RUN(test_manifest_list);
        RUN(test_mirror);
        RUN(test_push_and_pull_back);
        RUN(test_push_imported);
        RUN(test_tampered_blob);
        RUN(test_cold_pull_speed);
        RUN(test_small_queues);
        RUN(test_registry_killed_mid_pull);
        RUN(test_cancel_mid_pull);
        if (have("htpasswd"))
                RUN(test_basic_auth);
        else
                SKIP(test_basic_auth, "needs htpasswd (apache2-utils)");
        if (system("/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null") == 0)
                RUN(test_token_auth);
        else
                SKIP(test_token_auth, "needs python3-jwt and python3-cryptography");
        store_close(main_store);
        stop_all();
        if (h_fail == 0) {
                struct err *e = NULL;
                rm_rf(tmp, &e);
                err_free(&e);
        } else {
                printf("# kept %s for inspection\n", tmp);
        }
        return DONE();
}

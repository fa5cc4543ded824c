/*
 * api/system: the routes about the daemon itself: /_ping and /version
 * (what clients negotiate the API version with), /info (what `docker info`
 * and the SDKs read: every field they read is present with Docker's type),
 * /events (a JSON-lines stream over engine_events) and /system/df.
 *
 * Also the timestamp parser the routes share (api_parse_time): Docker's
 * clients send since/until as unix seconds with an optional fraction, some
 * as RFC 3339.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "../engine/internal.h"
#include "api.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#ifndef BARGE_GIT_COMMIT
#define BARGE_GIT_COMMIT "unknown"
#endif

/* ---- timestamps ---- */

/* digits with an optional fraction: "1700000000", "1700000000.5" */
static int parse_unix_seconds(const char *s, int64_t *ns)
{
        const char *p = s;
        int64_t sec = 0, frac = 0, scale = 1000000000;
        if (!isdigit((unsigned char)*p))
                return -1;
        for (; isdigit((unsigned char)*p); p++) {
                if (sec > (INT64_MAX / 1000000000 - 9) / 10)
                        return -1;
                sec = sec * 10 + (*p - '0');
        }
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -1;
                for (; isdigit((unsigned char)*p); p++) {
                        if (scale > 1) {
                                scale /= 10;
                                frac += (*p - '0') * scale;
                        }
                }
        }
        if (*p)
                return -1;
        *ns = sec * 1000000000 + frac;
        return 0;
}

/* "2006-01-02", "2006-01-02T15:04:05[.frac](Z|±hh:mm)"; no zone: UTC */
static int parse_rfc3339(const char *s, int64_t *ns)
{
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%d", &tm);
        if (!p)
                return -1;
        int64_t frac = 0, off = 0;
        if (*p == 'T' || *p == 't') {
                p = strptime(p + 1, "%H:%M:%S", &tm);
                if (!p)
                        return -1;
                if (*p == '.') {
                        int64_t scale = 1000000000;
                        p++;
                        if (!isdigit((unsigned char)*p))
                                return -1;
                        for (; isdigit((unsigned char)*p); p++) {
                                if (scale > 1) {
                                        scale /= 10;
                                        frac += (*p - '0') * scale;
                                }
                        }
                }
                if (*p == 'Z' || *p == 'z') {
                        p++;
                } else if (*p == '+' || *p == '-') {
                        int sign = *p == '-' ? -1 : 1, hh, mm, n = 0;
                        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
                                return -1;
                        off = sign * (hh * 3600 + mm * 60);
                        p += 6;
                }
        }
        if (*p)
                return -1;
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || t < 0)
                return -1;
        *ns = ((int64_t)t - off) * 1000000000 + frac;
        return 0;
}

int api_parse_time(const char *name, const char *s, int64_t *ns, struct err **e)
{
        *ns = 0;
        if (!s || !*s)
                return 0;
        if (parse_unix_seconds(s, ns) == 0 || parse_rfc3339(s, ns) == 0)
                return 0;
        return err_new(e, EINVAL, "invalid value for %s: %s is not a timestamp", name, s);
}

/* ---- /_ping, /version ---- */

static void ping(struct http_req *r)
{
        http_add_header(r, "Builder-Version", "");
        http_add_header(r, "Cache-Control", "no-cache, no-store, must-revalidate");
        http_add_header(r, "Pragma", "no-cache");
        int head = strcmp(http_method(r), "HEAD") == 0;
        http_reply_data(r, 200, "text/plain; charset=utf-8", head ? "" : "OK", head ? 0 : 2);
}

/* uname's machine in Go's GOARCH words, which Docker reports */
static const char *go_arch(const char *machine)
{
        static const struct {
                const char *uname, *go;
        } map[] = {
            {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"i686", "386"},
            {"i386", "386"},        {"armv7l", "arm"},    {"armv6l", "arm"},
            {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (strcmp(machine, map[i].uname) == 0)
                        return map[i].go;
        return machine;
}

/* the build time in Docker's layout, from the compiler's __DATE__ __TIME__ */
static void build_time(char out[64])
{
        struct tm tm = {0};
        if (!strptime(__DATE__ " " __TIME__, "%b %d %Y %H:%M:%S", &tm)) {
                snprintf(out, 64, "%s", "");
                return;
        }
        strftime(out, 64, "%Y-%m-%dT%H:%M:%S.000000000+00:00", &tm);
}

static void version(struct http_req *r)
{
        struct utsname u;
        uname(&u);
        char bt[64];
        build_time(bt);
        const char *arch = go_arch(u.machine);
        json_t *details =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion", API_VERSION,
                      "MinAPIVersion", API_MIN_VERSION, "GitCommit", BARGE_GIT_COMMIT, "GoVersion",
                      "", "Os", "linux", "Arch", arch, "KernelVersion", u.release, "Experimental",
                      "false", "BuildTime", bt);
        json_t *v = json_pack("{s:{s:s}, s:[{s:s, s:s, s:o}], s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                              " s:s, s:s}",
                              "Platform", "Name", "barge", "Components", "Name", "Engine",
                              "Version", BARGE_VERSION, "Details", details, "Version",
                              BARGE_VERSION, "ApiVersion", API_VERSION, "MinAPIVersion",
                              API_MIN_VERSION, "GitCommit", BARGE_GIT_COMMIT, "GoVersion", "", "Os",
                              "linux", "Arch", arch, "KernelVersion", u.release, "BuildTime", bt);
        http_reply_json(r, 200, v);
}

/* ---- /info ---- */

/* PRETTY_NAME from os-release, as Docker's OperatingSystem */
static char *os_pretty_name(void)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct err *e = NULL;
        if (read_file("/etc/os-release", 65536, &buf, &len, &e) < 0 &&
            read_file("/usr/lib/os-release", 65536, &buf, &len, &e) < 0) {
                err_free(&e);
                return xstrdup("Linux");
        }
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                if (!str_has_prefix(line, "PRETTY_NAME="))
                        continue;
                char *v = line + strlen("PRETTY_NAME=");
                size_t n = strlen(v);
                if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
                        return xstrndup(v + 1, n - 2);
                return xstrdup(v);
        }
        return xstrdup("Linux");
}

static char *machine_id(void)
{
        char *buf = NULL;
        size_t len;
        struct err *e = NULL;
        if (read_file("/etc/machine-id", 4096, &buf, &len, &e) < 0) {
                err_free(&e);
                return xstrdup("");
        }
        buf[strcspn(buf, "\n")] = 0;
        return buf;
}

static int count_images(struct engine *eng)
{
        struct store *s = engine_store_lock(eng);
        struct store_image **imgs = NULL;
        size_t n = 0;
        struct err *e = NULL;
        int rc = store_image_list(s, &imgs, &n, &e);
        engine_store_unlock(eng);
        if (rc < 0) {
                err_free(&e);
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                store_image_free(imgs[i]);
        free(imgs);
        return (int)n;
}

static json_t *registry_config(struct engine *eng)
{
        const struct registry_opts *ro = engine_registry_opts(eng);
        json_t *mirrors = json_array();
        if (ro && ro->mirror)
                json_array_append_new(mirrors, json_string(ro->mirror));
        json_t *cidrs = json_pack("[s]", "127.0.0.0/8");
        json_t *index = json_object();
        json_object_set_new(index, "docker.io",
                            json_pack("{s:s, s:O, s:b, s:b}", "Name", "docker.io", "Mirrors",
                                      mirrors, "Secure", 1, "Official", 1));
        for (const char *const *p = ro ? ro->insecure : NULL; p && *p; p++)
                json_object_set_new(index, *p,
                                    json_pack("{s:s, s:[], s:b, s:b}", "Name", *p, "Mirrors",
                                              "Secure", 0, "Official", 0));
        return json_pack("{s:[], s:[], s:o, s:o, s:o}", "AllowNondistributableArtifactsCIDRs",
                         "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs", cidrs,
                         "IndexConfigs", index, "Mirrors", mirrors);
}

static json_t *commit(const char *id)
{
        return json_pack("{s:s, s:s}", "ID", id, "Expected", id);
}

static void info(struct http_req *r)
{
        struct engine *eng = api_engine(r);
        struct utsname u;
        uname(&u);
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        struct sysinfo si = {0};
        sysinfo(&si);
        struct statfs sfs = {0};
        int cg2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
        _cleanup_free_ char *os = os_pretty_name();
        _cleanup_free_ char *id = machine_id();
        char now[64];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);

        /* the runtime path lives in the engine's options (engine.h exports
         * no getter for it); engine_reload swaps them under eng->lock */
        pthread_mutex_lock(&eng->lock);
        _cleanup_free_ char *rt = xstrdup(eng->o.runtime ? eng->o.runtime : "barge-runtime");
        pthread_mutex_unlock(&eng->lock);

        json_t *v = engine_container_counts(eng);
        if (!v)
                v = json_pack("{s:i, s:i, s:i, s:i}", "Containers", 0, "ContainersRunning", 0,
                              "ContainersPaused", 0, "ContainersStopped", 0);
        json_t *more = json_pack(
            "{s:s, s:i, s:s, s:[[s,s],[s,s],[s,s],[s,s]],"
            " s:{s:[s], s:[s,s,s], s:n, s:[s,s]},"
            " s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
            "ID", id, "Images", count_images(eng), "Driver", "overlay2", "DriverStatus",
            "Backing Filesystem", "extfs", "Supports d_type", "true", "Native Overlay Diff", "true",
            "userxattr", "false", "Plugins", "Volume", "local", "Network", "bridge", "host", "null",
            "Authorization", "Log", "json-file", "local", "MemoryLimit", 1, "SwapLimit", 1,
            "KernelMemory", 0, "KernelMemoryTCP", 0, "CpuCfsPeriod", 1, "CpuCfsQuota", 1,
            "CPUShares", 1, "CPUSet", 1, "PidsLimit", 1, "IPv4Forwarding", 1, "BridgeNfIptables", 0,
            "BridgeNfIp6tables", 0, "Debug", 0);
        json_object_update(v, more);
        json_decref(more);

        more = json_pack(
            "{s:i, s:b, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s,"
            " s:s, s:o, s:i, s:I, s:n, s:s, s:s, s:s, s:s, s:s, s:[], s:b}",
            "NFd", 0, "OomKillDisable", 0, "NGoroutines", 0, "SystemTime", now, "LoggingDriver",
            "json-file", "CgroupDriver", "cgroupfs", "CgroupVersion", cg2 ? "2" : "1",
            "NEventsListener", 0, "KernelVersion", u.release, "OperatingSystem", os, "OSVersion",
            "", "OSType", "linux", "Architecture", u.machine, "IndexServerAddress",
            "https://index.docker.io/v1/", "RegistryConfig", registry_config(eng), "NCPU",
            (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal", (json_int_t)si.totalram * si.mem_unit,
            "GenericResources", "DockerRootDir", engine_root(eng), "HttpProxy", "", "HttpsProxy",
            "", "NoProxy", "", "Name", host, "Labels", "ExperimentalBuild", 0);
        json_object_update(v, more);
        json_decref(more);

        more = json_pack("{s:s, s:{s:{s:s}}, s:s,"
                         " s:{s:s, s:s, s:s, s:b, s:s, s:n},"
                         " s:b, s:s, s:s, s:o, s:o, s:o, s:[s], s:[]}",
                         "ServerVersion", BARGE_VERSION, "Runtimes", "barge-runtime", "path", rt,
                         "DefaultRuntime", "barge-runtime", "Swarm", "NodeID", "", "NodeAddr", "",
                         "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                         "RemoteManagers", "LiveRestoreEnabled", 1, "Isolation", "", "InitBinary",
                         "barge-init", "ContainerdCommit", commit(""), "RuncCommit",
                         commit(BARGE_GIT_COMMIT), "InitCommit", commit(BARGE_GIT_COMMIT),
                         "SecurityOptions", "name=seccomp,profile=default", "Warnings");
        json_object_update(v, more);
        json_decref(more);
        http_reply_json(r, 200, v);
}

/* ---- /events ---- */

struct events_ctx {
        struct http_req *r;
        int begun;
};

/* The stream begins at the first call (engine_events makes one within a
 * second even when nothing happens), so that a bad filter, found before
 * anything is sent, can still be answered with a 400. */
static int events_emit(void *ctx, json_t *ev)
{
        struct events_ctx *c = ctx;
        if (!c->begun) {
                if (http_stream_begin(c->r, 200, "application/json") < 0)
                        return -1;
                c->begun = 1;
        }
        if (!ev)
                return http_client_gone(c->r) ? -1 : 0;
        return http_stream_json(c->r, ev);
}

static void events(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int64_t since = 0, until = 0;
        json_t *filters = NULL;
        if (api_parse_time("since", http_query(r, "since"), &since, &e) < 0 ||
            api_parse_time("until", http_query(r, "until"), &until, &e) < 0 ||
            http_query_json(r, "filters", &filters, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        /* engine_events reads since 0 as "nothing from the past"; a client
         * that says since=0 wants everything since the epoch */
        if (http_query(r, "since") && since == 0)
                since = 1;
        if (filters && !json_is_object(filters)) {
                json_decref(filters);
                http_reply_error(r, 400, "invalid filters: not a JSON object");
                return;
        }
        struct events_ctx c = {.r = r};
        int rc = engine_events(api_engine(r), since, until, filters, events_emit, &c, &e);
        json_decref(filters);
        if (!c.begun) {
                if (rc < 0)
                        http_reply_err(r, e);
                else
                        http_reply_data(r, 200, "application/json", "", 0);
                return;
        }
        http_stream_end(r);
}

/* ---- /system/df ---- */

/* the image's Labels from its config blob (null when it has none) */
static json_t *image_labels(struct store *s, const char *id)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        struct err *e = NULL;
        if (store_blob_read(s, id, 16 << 20, &data, &len, &e) < 0) {
                err_free(&e);
                return json_null();
        }
        json_t *cfg = json_loadb(data, len, 0, NULL);
        json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
        labels = labels && json_is_object(labels) ? json_incref(labels) : json_null();
        json_decref(cfg);
        return labels;
}

static json_t *string_array(char **v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static int containers_using(json_t *containers, const char *image_id)
{
        int n = 0;
        size_t i;
        json_t *c;
        json_array_foreach(containers, i, c)
        {
                const char *img = json_string_value(json_object_get(c, "ImageID"));
                if (img && strcmp(img, image_id) == 0)
                        n++;
        }
        return n;
}

static void system_df(struct http_req *r)
{
        struct engine *eng = api_engine(r);
        _cleanup_err_ struct err *e = NULL;
        json_t *containers = NULL;
        if (engine_container_list(eng, 1, -1, 1, NULL, &containers, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        struct store *s = engine_store_lock(eng);
        struct store_image **imgs = NULL;
        size_t n = 0;
        if (store_image_list(s, &imgs, &n, &e) < 0) {
                engine_store_unlock(eng);
                json_decref(containers);
                http_reply_err(r, e);
                return;
        }
        json_t *images = json_array();
        json_int_t layers_size = 0;
        for (size_t i = 0; i < n; i++) {
                struct store_image *img = imgs[i];
                layers_size += img->size;
                json_array_append_new(
                    images,
                    json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:i}", "Id", img->id,
                              "ParentId", "", "RepoTags", string_array(img->repo_tags, img->n_tags),
                              "RepoDigests", string_array(img->repo_digests, img->n_digests),
                              "Created", (json_int_t)img->created, "Size", (json_int_t)img->size,
                              "SharedSize", (json_int_t)0, "VirtualSize", (json_int_t)img->size,
                              "Labels", image_labels(s, img->id), "Containers",
                              containers_using(containers, img->id)));
                store_image_free(img);
        }
        free(imgs);
        engine_store_unlock(eng);
        http_reply_json(r, 200,
                        json_pack("{s:I, s:o, s:o, s:[], s:[]}", "LayersSize", layers_size,
                                  "Images", images, "Containers", containers, "Volumes",
                                  "BuildCache"));
}

const struct http_route api_system_routes[] = {
    {"GET", "/_ping", ping, 0}, {"HEAD", "/_ping", ping, 0},   {"GET", "/version", version, 0},
    {"GET", "/info", info, 0},  {"GET", "/events", events, 0}, {"GET", "/system/df", system_df, 0},
    {NULL, NULL, NULL, 0},
};

/*
 * ocispec.c: the Docker container -> OCI spec translation: image merge,
 * request validation, the spec's process/mounts/linux parts, the user lookup
 * inside a (hostile) rootfs, exec processes; and, as root, the spec run by
 * barge-runtime and by runc on a busybox rootfs, checking the confinement.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/engine/ocispec.h"
#include "harness.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *J(const char *text)
{
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        if (j == NULL) {
                printf("# bad test JSON: %s: %s\n", je.text, text);
                abort();
        }
        return j;
}

/* json_equal against a literal, without leaking the literal */
static int jeq(json_t *got, const char *text)
{
        json_t *want = J(text);
        int eq = json_equal(got, want);
        json_decref(want);
        return eq;
}

static int has_str(json_t *list, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) &&
                                           strcmp(json_string_value(v), s) == 0) return 1;
        return 0;
}

static int has_prefix_str(json_t *list, const char *prefix)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) &&
                                           str_has_prefix(json_string_value(v), prefix)) return 1;
        return 0;
}

static json_t *find_mount(json_t *spec, const char *dest)
{
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(spec, "mounts"), i, m)
        {
                const char *d = json_string_value(json_object_get(m, "destination"));
                if (d && strcmp(d, dest) == 0)
                        return m;
        }
        return NULL;
}

static int has_ns(json_t *spec, const char *type)
{
        size_t i;
        json_t *n;
        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
        {
                if (strcmp(json_string_value(json_object_get(n, "type")), type) == 0)
                        return 1;
        }
        return 0;
}

/* Does the seccomp profile of `spec` name `sc` in an unconditional ALLOW rule? */
static int seccomp_allows(json_t *spec, const char *sc)
{
        json_t *s = json_object_get(json_object_get(spec, "linux"), "seccomp");
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(s, "syscalls"), i, r)
        {
                if (strcmp(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ALLOW") ==
                        0 &&
                    json_object_get(r, "args") == NULL && has_str(json_object_get(r, "names"), sc))
                        return 1;
        }
        return 0;
}

/* ---- a rootfs with passwd and group ---- */

static char tmpdir[] = "/tmp/test_ocispec.XXXXXX";
static char rootfs[256];

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static int make_rootfs(void)
{
        if (mkdtemp(tmpdir) == NULL)
                return -1;
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
        char p[512];
        mkdir(rootfs, 0755);
        snprintf(p, sizeof(p), "%s/etc", rootfs);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/etc/passwd", rootfs);
        write_text(p, "root:x:0:0:root:/root:/bin/sh\n"
                      "# a comment\n"
                      "app:x:1000:1001:App:/home/app:/bin/sh\n"
                      "broken line\n"
                      "daemon:x:2:2::/sbin:/bin/false\n");
        snprintf(p, sizeof(p), "%s/etc/group", rootfs);
        write_text(p, "root:x:0:root\n"
                      "wheel:x:10:root,app\n"
                      "appgrp:x:1001:\n"
                      "audio:x:29:app\n"
                      "video:x:44:\n");
        return 0;
}

static json_t *build_ok(const char *config, const char *hc, json_t *warnings)
{
        json_t *c = J(config), *h = J(hc), *spec = NULL;
        struct ocispec_in in = {.id = ID,
                                .config = c,
                                .host_config = h,
                                .rootfs = rootfs,
                                .hostname_path = "/tmp/h",
                                .hosts_path = "/tmp/hs",
                                .resolv_path = "/tmp/r",
                                .init_path = "/usr/bin/barge-init",
                                .cgroup_path = "/barge/" ID};
        struct err *e = NULL;
        if (ocispec_build(&in, &spec, warnings, &e) < 0) {
                printf("# build failed: %s\n", e->msg);
                err_free(&e);
        }
        json_decref(c);
        json_decref(h);
        return spec;
}

static int build_err(const char *config, const char *hc, const char *want)
{
        json_t *c = J(config), *h = J(hc), *spec = NULL;
        struct ocispec_in in = {.id = ID, .config = c, .host_config = h, .rootfs = rootfs};
        struct err *e = NULL;
        int r = ocispec_build(&in, &spec, NULL, &e);
        int ok = r < 0 && e && e->code == EINVAL && strstr(e->msg, want) != NULL;
        if (!ok)
                printf("# build: want EINVAL \"%s\", got r=%d %s\n", want, r, e ? e->msg : "");
        json_decref(spec);
        err_free(&e);
        json_decref(c);
        json_decref(h);
        return ok;
}

/* ---- merge ---- */

static void test_merge_table(void)
{
        static const struct {
                const char *config, *image, *want; /* want: keys that must match in the result */
        } cases[] = {
            {"{\"Env\":[\"A=2\",\"C=3\"]}", "{\"Env\":[\"A=1\",\"B=1\"],\"Cmd\":[\"sh\"]}",
             "{\"Env\":[\"A=2\",\"B=1\",\"C=3\"],\"Cmd\":[\"sh\"]}"},
            {"{\"Cmd\":[\"ls\"]}", "{\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/ep\"]}",
             "{\"Cmd\":[\"ls\"],\"Entrypoint\":[\"/ep\"]}"},
            /* an Entrypoint without Cmd clears the image's Cmd */
            {"{\"Entrypoint\":[\"/bin/x\"]}", "{\"Cmd\":[\"sh\"]}",
             "{\"Entrypoint\":[\"/bin/x\"],\"Cmd\":null}"},
            /* --entrypoint "": the image's entrypoint dropped, its Cmd kept */
            {"{\"Entrypoint\":[\"\"]}", "{\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/ep\"]}",
             "{\"Entrypoint\":[],\"Cmd\":[\"sh\"]}"},
            {"{\"Cmd\":\"echo\"}", NULL, "{\"Cmd\":[\"echo\"]}"},
            {"{\"WorkingDir\":\"\"}",
             "{\"Cmd\":[\"sh\"],\"WorkingDir\":\"/w\",\"User\":\"app\",\"StopSignal\":\"SIGQUIT\"}",
             "{\"WorkingDir\":\"/w\",\"User\":\"app\",\"StopSignal\":\"SIGQUIT\"}"},
            {"{\"User\":\"root\",\"Labels\":{\"a\":\"c\"}}",
             "{\"Cmd\":[\"sh\"],\"User\":\"app\",\"Labels\":{\"a\":\"b\",\"x\":\"y\"}}",
             "{\"User\":\"root\",\"Labels\":{\"a\":\"c\",\"x\":\"y\"}}"},
            {"{\"ExposedPorts\":{\"80/tcp\":{}}}",
             "{\"Cmd\":[\"sh\"],\"ExposedPorts\":{\"443/tcp\":{}},\"Volumes\":{\"/data\":{}}}",
             "{\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{}},\"Volumes\":{\"/data\":{}}}"},
            {"{\"Healthcheck\":{\"Interval\":5000000}}",
             "{\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1,"
             "\"Retries\":3}}",
             "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":5000000,\"Retries\":3}}"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                json_t *c = J(cases[i].config);
                json_t *img = cases[i].image ? J(cases[i].image) : NULL;
                json_t *want = J(cases[i].want);
                struct err *e = NULL;
                int r = ocispec_merge_image(c, img, &e);
                if (r < 0)
                        printf("# case %zu: %s\n", i, e->msg);
                CHECK(r == 0);
                const char *key;
                json_t *v;
                json_object_foreach(want, key, v)
                {
                        json_t *got = json_object_get(c, key);
                        if (!(json_is_null(v)
                                  ? (got == NULL || json_is_null(got) || json_array_size(got) == 0)
                                  : json_equal(got, v))) {
                                char *s = json_dumps(c, 0);
                                printf("# case %zu: key %s: got %s\n", i, key, s);
                                free(s);
                                CHECK(0);
                        }
                }
                json_decref(c);
                json_decref(img);
                json_decref(want);
        }
}

static void test_merge_no_command(void)
{
        json_t *c = J("{\"Env\":[\"A=1\"]}"), *img = J("{\"Env\":[]}");
        struct err *e = NULL;
        CHECK(ocispec_merge_image(c, img, &e) < 0);
        CHECK(e->code == EINVAL);
        CHECK(strstr(e->msg, "no command specified") != NULL);
        err_free(&e);
        json_decref(c);
        json_decref(img);
}

/* ---- validate ---- */

static void test_validate_table(void)
{
        static const struct {
                const char *config, *hc, *want; /* want NULL: valid */
        } cases[] = {
            {"{\"Cmd\":[\"sh\"],\"Env\":[\"A=1\"]}",
             "{\"Memory\":6291456,\"MemorySwap\":-1,\"NanoCpus\":500000000,\"CpuShares\":512,"
             "\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},"
             "\"CapAdd\":[\"NET_ADMIN\",\"CAP_SYS_TIME\",\"ALL\"],\"CapDrop\":[\"chown\"],"
             "\"SecurityOpt\":[\"no-new-privileges\",\"seccomp=unconfined\",\"apparmor=x\","
             "\"label=disable\"],\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":20}]}",
             NULL},
            {"{}", "{\"RestartPolicy\":{\"Name\":\"unless-stopped\"}}", NULL},
            {"{}", "{\"RestartPolicy\":{\"Name\":\"sometimes\"}}",
             "invalid restart policy \"sometimes\""},
            {"{}", "{\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":2}}",
             "MaximumRetryCount"},
            {"{}", "{\"Memory\":1048576}", "Minimum memory limit allowed is 6MB"},
            {"{}", "{\"Memory\":-5}", "HostConfig.Memory"},
            {"{}", "{\"Memory\":67108864,\"MemorySwap\":33554432}", "HostConfig.MemorySwap"},
            {"{}", "{\"MemorySwap\":33554432}", "HostConfig.MemorySwap"},
            {"{}", "{\"NanoCpus\":100000000000000}", "Range of CPUs is from 0.01 to"},
            {"{}", "{\"NanoCpus\":-1}", "HostConfig.NanoCpus"},
            {"{}", "{\"NanoCpus\":1000000000,\"CpuQuota\":50000}", "Conflicting options"},
            {"{}", "{\"CpuShares\":-2}", "HostConfig.CpuShares"},
            {"{}", "{\"CpuPeriod\":10}", "HostConfig.CpuPeriod"},
            {"{}", "{\"BlkioWeight\":5}", "HostConfig.BlkioWeight"},
            {"{}", "{\"OomScoreAdj\":1001}", "HostConfig.OomScoreAdj"},
            {"{}", "{\"Memory\":\"lots\"}", "HostConfig.Memory"},
            {"{}", "{\"Ulimits\":[{\"Name\":\"nofiles\",\"Soft\":1,\"Hard\":1}]}",
             "invalid ulimit type: nofiles"},
            {"{}", "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":5}]}",
             "soft limit must be less than or equal to hard limit"},
            {"{}", "{\"CapAdd\":[\"NET_ADMINS\"]}", "HostConfig.CapAdd: unknown capability"},
            {"{}", "{\"CapDrop\":[\"CAP_FOO\"]}", "HostConfig.CapDrop: unknown capability"},
            {"{}", "{\"SecurityOpt\":[\"bogus=1\"]}", "HostConfig.SecurityOpt"},
            {"{}", "{\"SecurityOpt\":[\"no-new-privileges:maybe\"]}", "no-new-privileges"},
            {"{}", "{\"SecurityOpt\":[\"seccomp={not json\"]}", "seccomp"},
            {"{\"Healthcheck\":{\"Interval\":500}}", "{}", "Config.Healthcheck.Interval"},
            {"{\"Healthcheck\":{\"Timeout\":10}}", "{}", "Config.Healthcheck.Timeout"},
            {"{\"Healthcheck\":{\"StartPeriod\":999999}}", "{}", "Config.Healthcheck.StartPeriod"},
            {"{\"Healthcheck\":{\"Retries\":-1}}", "{}", "Config.Healthcheck.Retries"},
            {"{\"Healthcheck\":{\"Interval\":1000000,\"Retries\":0}}", "{}", NULL},
            {"{\"Env\":[\"\"]}", "{}", "Config.Env"},
            {"{\"Env\":[\"=x\"]}", "{}", "Config.Env"},
            {"{\"Env\":[5]}", "{}", "Config.Env"},
            {"{\"Cmd\":[\"sh\",1]}", "{}", "Config.Cmd"},
            {"{\"Entrypoint\":{\"a\":1}}", "{}", "Config.Entrypoint"},
            /* wrong types: 400 naming the field, as dockerd's JSON decoding */
            {"{\"Labels\":[1]}", "{}", "Config.Labels: must be an object of strings"},
            {"{\"Labels\":{\"a\":1}}", "{}", "Config.Labels[\"a\"]: must be a string"},
            {"{\"ExposedPorts\":7}", "{}", "Config.ExposedPorts: must be an object"},
            {"{\"ExposedPorts\":{\"80/tcp\":\"x\"}}", "{}", "Config.ExposedPorts[\"80/tcp\"]"},
            {"{\"Volumes\":[\"/data\"]}", "{}", "Config.Volumes"},
            {"{\"NetworkingConfig\":7}", "{}", "NetworkingConfig: must be an object"},
            {"{\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Aliases\":\"a\"}}}}", "{}",
             "NetworkingConfig.EndpointsConfig[\"n\"].Aliases: must be an array of strings"},
            {"{\"HostConfig\":5}", "{}", "HostConfig: must be an object"},
            {"{\"Image\":5}", "{}", "Config.Image: must be a string"},
            {"{\"Tty\":\"yes\"}", "{}", "Config.Tty: must be a boolean"},
            {"{\"OpenStdin\":1}", "{}", "Config.OpenStdin: must be a boolean"},
            {"{\"Env\":\"A=1\"}", "{}", "Config.Env: must be an array of strings"},
            {"{\"Cmd\":5}", "{}", "Config.Cmd: must be a string or an array of strings"},
            {"{\"StopTimeout\":\"10\"}", "{}", "Config.StopTimeout: must be an integer"},
            {"{\"Healthcheck\":{\"Test\":\"true\"}}", "{}", "Config.Healthcheck.Test"},
            {"{\"Healthcheck\":5}", "{}", "Config.Healthcheck: must be an object"},
            {"{}", "{\"Binds\":5}", "HostConfig.Binds: must be an array of strings"},
            {"{}", "{\"Binds\":[\"/a:/b\",5]}", "HostConfig.Binds[1]: must be a string"},
            {"{}", "{\"RestartPolicy\":5}", "HostConfig.RestartPolicy: must be an object"},
            {"{}", "{\"RestartPolicy\":{\"Name\":5}}", "HostConfig.RestartPolicy.Name"},
            {"{}", "{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":\"3\"}}",
             "HostConfig.RestartPolicy.MaximumRetryCount: must be an integer"},
            {"{}", "{\"Memory\":1e300}", "HostConfig.Memory: must be an integer"},
            {"{}", "{\"AutoRemove\":\"true\"}", "HostConfig.AutoRemove: must be a boolean"},
            {"{}", "{\"NetworkMode\":5}", "HostConfig.NetworkMode: must be a string"},
            {"{}", "{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":80}]}}",
             "HostConfig.PortBindings[\"80/tcp\"][0].HostPort: must be a string"},
            {"{}", "{\"PortBindings\":[1]}", "HostConfig.PortBindings: must be an object"},
            {"{}", "{\"Mounts\":[5]}", "HostConfig.Mounts[0]: must be an object"},
            {"{}", "{\"Mounts\":[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"SizeBytes\":\"1m\"}}]}",
             "HostConfig.Mounts[0].TmpfsOptions.SizeBytes: must be an integer"},
            {"{}", "{\"Tmpfs\":[\"/tmp\"]}", "HostConfig.Tmpfs: must be an object of strings"},
            {"{}", "{\"Sysctls\":{\"net.ipv4.ip_forward\":1}}", "HostConfig.Sysctls[\""},
            {"{}", "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":10}}}",
             "HostConfig.LogConfig.Config[\"max-size\"]: must be a string"},
            {"{}", "{\"Dns\":\"1.1.1.1\"}", "HostConfig.Dns: must be an array of strings"},
            {"{}", "{\"Ulimits\":{\"nofile\":1}}", "HostConfig.Ulimits: must be an array"},
            {"{}", "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":\"1\",\"Hard\":1}]}",
             "HostConfig.Ulimits[0].Soft: must be an integer"},
            {"{}", "{\"ConsoleSize\":[\"a\",1]}", "HostConfig.ConsoleSize[0]: must be an integer"},
            {"{}", "{\"CapAdd\":5}", "HostConfig.CapAdd: must be an array of strings"},
            {"{}", "{\"Privileged\":1}", "HostConfig.Privileged: must be a boolean"},
            {"{}", "{\"PidsLimit\":\"10\"}", "HostConfig.PidsLimit: must be an integer"},
            {"{}", "{\"Devices\":[{\"PathOnHost\":1}]}", "HostConfig.Devices[0].PathOnHost"},
            /* what the docker CLI sends for a plain `docker run`: nulls,
             * empty strings, zeros, Cmd (a StrSlice) as a string */
            {"{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":true,"
             "\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":true,"
             "\"StdinOnce\":true,\"Env\":null,\"Cmd\":\"sh\",\"Image\":\"busybox\","
             "\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,"
             "\"Labels\":{},\"ExposedPorts\":{\"80/tcp\":{}},\"HostConfig\":{},"
             "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":null,"
             "\"Links\":null,\"Aliases\":null,\"IPPrefixLen\":0,\"DriverOpts\":null}}}}",
             "{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\","
             "\"Config\":{}},\"NetworkMode\":\"default\",\"PortBindings\":{\"80/tcp\":null},"
             "\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":true,"
             "\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],"
             "\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],"
             "\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
             "\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,"
             "\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,"
             "\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"Tmpfs\":{\"/run\":\"\"},"
             "\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\","
             "\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\","
             "\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":null,"
             "\"CpuPeriod\":0,\"CpuQuota\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\","
             "\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,"
             "\"KernelMemory\":0,\"MemoryReservation\":0,\"MemorySwap\":0,"
             "\"MemorySwappiness\":null,\"OomKillDisable\":false,\"PidsLimit\":null,"
             "\"Ulimits\":null,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/a\","
             "\"Target\":\"/b\",\"BindOptions\":{\"Propagation\":\"rprivate\"}}],"
             "\"MaskedPaths\":null,\"ReadonlyPaths\":null,\"Init\":null}",
             NULL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                json_t *c = J(cases[i].config), *h = J(cases[i].hc), *w = json_array();
                struct err *e = NULL;
                int r = ocispec_validate(c, h, w, &e);
                int ok = cases[i].want == NULL
                             ? r == 0
                             : r < 0 && e->code == EINVAL && strstr(e->msg, cases[i].want) != NULL;
                if (!ok)
                        printf("# case %zu: want %s, got r=%d %s\n", i,
                               cases[i].want ? cases[i].want : "success", r, e ? e->msg : "");
                CHECK(ok);
                err_free(&e);
                json_decref(c);
                json_decref(h);
                json_decref(w);
        }
        struct err *e = NULL;
        CHECK(ocispec_validate(NULL, NULL, NULL, &e) == 0);
        /* the create body's HostConfig passed on as host_config */
        json_t *five = json_integer(5);
        CHECK(ocispec_validate(NULL, five, NULL, &e) < 0 && e->code == EINVAL &&
              strstr(e->msg, "HostConfig: must be an object") == e->msg);
        json_decref(five);
        err_free(&e);
        json_t *h = J("{\"NetworkMode\":\"host\",\"PortBindings\":{\"80/tcp\":[{}]},"
                      "\"OomKillDisable\":true}");
        json_t *w = json_array();
        CHECK(ocispec_validate(NULL, h, w, &e) == 0);
        CHECK(json_array_size(w) == 2);
        CHECK(has_prefix_str(w, "Published ports are discarded"));
        json_decref(w);
        json_decref(h);
}

/* ---- build ---- */

static void test_build_defaults(void)
{
        json_t *w = json_array();
        json_t *s = build_ok("{\"Cmd\":[\"sh\",\"-c\",\"true\"],\"Entrypoint\":[\"/ep\"],"
                             "\"Env\":[\"FOO=bar\",\"PATH=/x\"]}",
                             "{}", w);
        CHECK(s != NULL);
        json_t *p = json_object_get(s, "process");
        CHECK(jeq(json_object_get(p, "args"), "[\"/ep\",\"sh\",\"-c\",\"true\"]"));
        json_t *env = json_object_get(p, "env");
        CHECK(has_str(env, "PATH=/x")); /* the container's PATH replaces the default */
        CHECK(has_str(env, "HOSTNAME=0123456789ab"));
        CHECK(has_str(env, "FOO=bar"));
        CHECK(has_str(env, "HOME=/root"));
        CHECK(!has_prefix_str(env, "TERM="));
        CHECK_STR(json_string_value(json_object_get(p, "cwd")), "/");
        CHECK(json_is_false(json_object_get(p, "terminal")));
        CHECK(json_is_false(json_object_get(p, "noNewPrivileges")));
        json_t *caps = json_object_get(p, "capabilities");
        json_t *bounding = json_object_get(caps, "bounding");
        size_t n = 0;
        while (ocispec_default_caps[n])
                n++;
        CHECK(json_array_size(bounding) == n && n == 14);
        CHECK(json_equal(bounding, json_object_get(caps, "effective")));
        CHECK(json_equal(bounding, json_object_get(caps, "permitted")));
        CHECK(json_array_size(json_object_get(caps, "inheritable")) == 0);
        CHECK(json_array_size(json_object_get(caps, "ambient")) == 0);
        CHECK(has_str(bounding, "CAP_NET_RAW") && !has_str(bounding, "CAP_SYS_ADMIN"));
        json_t *rl = json_array_get(json_object_get(p, "rlimits"), 0);
        CHECK_STR(json_string_value(json_object_get(rl, "type")), "RLIMIT_NOFILE");
        CHECK(json_integer_value(json_object_get(rl, "hard")) <= 1048576);
        CHECK(json_array_size(w) == 0); /* the default is clamped silently */
        CHECK_STR(json_string_value(json_object_get(s, "hostname")), "0123456789ab");
        CHECK(json_is_false(json_object_get(json_object_get(s, "root"), "readonly")));
        CHECK_STR(json_string_value(json_object_get(json_object_get(s, "root"), "path")), rootfs);
        static const char *const dests[] = {
            "/proc",       "/dev",     "/dev/pts",         "/sys",          "/sys/fs/cgroup",
            "/dev/mqueue", "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"};
        for (size_t i = 0; i < ARRAY_SIZE(dests); i++)
                CHECK(find_mount(s, dests[i]) != NULL);
        CHECK(find_mount(s, "/sbin/docker-init") == NULL);
        CHECK(has_str(json_object_get(find_mount(s, "/sys"), "options"), "ro"));
        CHECK(has_str(json_object_get(find_mount(s, "/dev/shm"), "options"), "size=67108864"));
        CHECK_STR(json_string_value(json_object_get(find_mount(s, "/etc/hosts"), "source")),
                  "/tmp/hs");
        CHECK(!has_str(json_object_get(find_mount(s, "/etc/hosts"), "options"), "ro"));
        CHECK_STR(json_string_value(
                      json_object_get(json_object_get(json_object_get(s, "linux"), "sysctl"),
                                      "net.ipv4.ip_unprivileged_port_start")),
                  "0");
        json_t *lx = json_object_get(s, "linux");
        CHECK_STR(json_string_value(json_object_get(lx, "cgroupsPath")), "/barge/" ID);
        CHECK(has_str(json_object_get(lx, "maskedPaths"), "/proc/kcore"));
        CHECK(has_str(json_object_get(lx, "readonlyPaths"), "/proc/sys"));
        CHECK(has_ns(s, "pid") && has_ns(s, "ipc") && has_ns(s, "uts") && has_ns(s, "mount") &&
              has_ns(s, "network"));
        json_t *devs = json_object_get(json_object_get(lx, "resources"), "devices");
        json_t *d0 = json_array_get(devs, 0);
        CHECK(json_is_false(json_object_get(d0, "allow")) && json_object_get(d0, "type") == NULL);
        CHECK(json_array_size(devs) > 5);
        json_t *sc = json_object_get(lx, "seccomp");
        CHECK_STR(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
        CHECK(json_integer_value(json_object_get(sc, "defaultErrnoRet")) == EPERM);
        CHECK(json_array_size(json_object_get(sc, "architectures")) > 0);
        CHECK(seccomp_allows(s, "read") && seccomp_allows(s, "execve"));
        CHECK(!seccomp_allows(s, "mount") && !seccomp_allows(s, "reboot") &&
              !seccomp_allows(s, "unshare") && !seccomp_allows(s, "chroot") == 0);
        json_decref(s);
        json_decref(w);
}

static void test_build_caps(void)
{
        json_t *s = build_ok("{\"Cmd\":[\"x\"]}",
                             "{\"CapAdd\":[\"SYS_ADMIN\",\"cap_net_admin\"],"
                             "\"CapDrop\":[\"NET_RAW\",\"CAP_CHOWN\"]}",
                             NULL);
        CHECK(s != NULL);
        json_t *b = json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"),
                                    "bounding");
        CHECK(has_str(b, "CAP_SYS_ADMIN") && has_str(b, "CAP_NET_ADMIN"));
        CHECK(!has_str(b, "CAP_NET_RAW") && !has_str(b, "CAP_CHOWN"));
        CHECK(json_array_size(b) == 14);
        /* with CAP_SYS_ADMIN the profile allows mount and namespaces */
        CHECK(seccomp_allows(s, "mount") && seccomp_allows(s, "unshare") &&
              seccomp_allows(s, "clone"));
        json_decref(s);

        s = build_ok("{\"Cmd\":[\"x\"]}", "{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"KILL\"]}", NULL);
        CHECK(s != NULL);
        b = json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"),
                            "bounding");
        CHECK(json_array_size(b) == 1 && has_str(b, "CAP_KILL"));
        json_decref(s);

        s = build_ok("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"ALL\"],\"CapDrop\":[\"SYS_MODULE\"]}",
                     NULL);
        CHECK(s != NULL);
        b = json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"),
                            "bounding");
        CHECK(json_array_size(b) > 30 && !has_str(b, "CAP_SYS_MODULE") &&
              has_str(b, "CAP_SYS_ADMIN"));
        json_decref(s);
        CHECK(build_err("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"WIZARD\"]}", "CapAdd"));
}

static void test_build_privileged(void)
{
        json_t *s =
            build_ok("{\"Cmd\":[\"x\"]}", "{\"Privileged\":true,\"CapDrop\":[\"KILL\"]}", NULL);
        CHECK(s != NULL);
        json_t *b = json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"),
                                    "bounding");
        CHECK(has_str(b, "CAP_SYS_ADMIN") && has_str(b, "CAP_KILL"));
        json_t *lx = json_object_get(s, "linux");
        CHECK(json_object_get(lx, "seccomp") == NULL);
        CHECK(json_object_get(lx, "maskedPaths") == NULL);
        CHECK(json_object_get(lx, "readonlyPaths") == NULL);
        CHECK(has_str(json_object_get(find_mount(s, "/sys"), "options"), "rw"));
        json_t *devs = json_object_get(json_object_get(lx, "resources"), "devices");
        CHECK(json_array_size(devs) == 1 &&
              json_is_true(json_object_get(json_array_get(devs, 0), "allow")));
        json_decref(s);
}

static void test_build_user(void)
{
        static const struct {
                const char *user, *group_add;
                long long uid, gid;
                const char *gids; /* additionalGids: the primary group first */
        } cases[] = {
            {"", NULL, 0, 0, "[0,10]"},
            {"root", NULL, 0, 0, "[0,10]"},
            {"app", NULL, 1000, 1001, "[1001,10,29]"},
            {"1000", NULL, 1000, 1001, "[1001,10,29]"},
            {"app:video", NULL, 1000, 44, "[44]"},
            {"app:44", NULL, 1000, 44, "[44]"},
            {"4242", NULL, 4242, 0, "[0]"},
            {"4242:4343", NULL, 4242, 4343, "[4343]"},
            {"daemon", "[\"video\",\"777\",\"2\"]", 2, 2, "[2,44,777]"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char cfg[256], hc[256];
                snprintf(cfg, sizeof(cfg), "{\"Cmd\":[\"x\"],\"User\":\"%s\"}", cases[i].user);
                snprintf(hc, sizeof(hc), "{\"GroupAdd\":%s}",
                         cases[i].group_add ? cases[i].group_add : "null");
                json_t *s = build_ok(cfg, hc, NULL);
                CHECK(s != NULL);
                json_t *u = json_object_get(json_object_get(s, "process"), "user");
                int ok = json_integer_value(json_object_get(u, "uid")) == cases[i].uid &&
                         json_integer_value(json_object_get(u, "gid")) == cases[i].gid;
                json_t *g = json_object_get(u, "additionalGids");
                ok = ok && jeq(g, cases[i].gids);
                /* a non-root user gets only the bounding set, as in Docker */
                json_t *caps = json_object_get(json_object_get(s, "process"), "capabilities");
                size_t n_eff = json_array_size(json_object_get(caps, "effective"));
                ok = ok && json_array_size(json_object_get(caps, "bounding")) == 14 &&
                     (cases[i].uid == 0 ? n_eff == 14 : n_eff == 0) &&
                     json_array_size(json_object_get(caps, "permitted")) == n_eff;
                if (!ok) {
                        char *d = json_dumps(u, 0);
                        printf("# case %zu (%s): got %s\n", i, cases[i].user, d);
                        free(d);
                }
                json_decref(s);
                CHECK(ok);
        }
        json_t *s =
            build_ok("{\"Cmd\":[\"x\"],\"User\":\"app\",\"Env\":[\"HOME=/h\"]}", "{}", NULL);
        CHECK(s && has_str(json_object_get(json_object_get(s, "process"), "env"), "HOME=/h"));
        json_decref(s);
        s = build_ok("{\"Cmd\":[\"x\"],\"User\":\"app\"}", "{}", NULL);
        CHECK(s &&
              has_str(json_object_get(json_object_get(s, "process"), "env"), "HOME=/home/app"));
        json_decref(s);
        CHECK(build_err("{\"Cmd\":[\"x\"],\"User\":\"nobody2\"}", "{}",
                        "unable to find user nobody2: no matching entries in passwd file"));
        CHECK(build_err("{\"Cmd\":[\"x\"],\"User\":\"app:nogroup\"}", "{}",
                        "unable to find group nogroup"));
        CHECK(build_err("{\"Cmd\":[\"x\"]}", "{\"GroupAdd\":[\"nogroup\"]}",
                        "unable to find group nogroup"));
}

/* /etc/passwd a symlink to a host file (absolute and relative): the lookup
 * must resolve it inside the rootfs and never see the host's entries. */
static void test_build_user_hostile_rootfs(void)
{
        char host[300], evil[300], link[512], rel[600];
        snprintf(host, sizeof(host), "%s/host-shadow", tmpdir);
        write_text(host, "secret:x:4242:4242::/:/bin/sh\n");
        snprintf(evil, sizeof(evil), "%s/evil", tmpdir);
        mkdir(evil, 0755);
        snprintf(link, sizeof(link), "%s/etc", evil);
        mkdir(link, 0755);
        snprintf(link, sizeof(link), "%s/etc/passwd", evil);
        CHECK(symlink(host, link) == 0); /* absolute: resolves to evil/<host path> */
        struct ocispec_in in = {.id = ID, .rootfs = evil};
        json_t *c = J("{\"Cmd\":[\"x\"],\"User\":\"secret\"}"), *spec = NULL;
        in.config = c;
        struct err *e = NULL;
        CHECK(ocispec_build(&in, &spec, NULL, &e) < 0);
        CHECK(e->code == EINVAL && strstr(e->msg, "unable to find user secret"));
        err_free(&e);
        /* relative escape: ../../../.. stops at the rootfs */
        unlink(link);
        snprintf(rel, sizeof(rel), "../../../../../../../..%s", host);
        CHECK(symlink(rel, link) == 0);
        CHECK(ocispec_build(&in, &spec, NULL, &e) < 0);
        CHECK(strstr(e->msg, "unable to find user secret") != NULL);
        err_free(&e);
        /* /etc itself a link to the host's /etc: it loops inside the root
         * instead of reaching the host's passwd (where "daemon" exists) */
        char evil2[320], etc2[400];
        snprintf(evil2, sizeof(evil2), "%s/evil2", tmpdir);
        mkdir(evil2, 0755);
        snprintf(etc2, sizeof(etc2), "%s/etc", evil2);
        CHECK(symlink("/etc", etc2) == 0);
        struct ocispec_in in2 = {.id = ID, .rootfs = evil2};
        json_t *c2 = J("{\"Cmd\":[\"x\"],\"User\":\"daemon\"}");
        in2.config = c2;
        CHECK(ocispec_build(&in2, &spec, NULL, &e) < 0);
        CHECK(e->code == ELOOP || e->code == EINVAL);
        err_free(&e);
        json_decref(c2);
        /* a FIFO as /etc/group must not hang the lookup */
        snprintf(link, sizeof(link), "%s/etc/group", evil);
        CHECK(mkfifo(link, 0644) == 0);
        json_object_set_new(c, "User", json_string("0"));
        CHECK(ocispec_build(&in, &spec, NULL, &e) < 0);
        CHECK(strstr(e->msg, "not a regular file") != NULL);
        err_free(&e);
        json_decref(c);
}

static void test_build_ulimits(void)
{
        struct rlimit rl;
        CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
        json_t *w = json_array();
        char hc[256];
        snprintf(hc, sizeof(hc),
                 "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":%llu,\"Hard\":%llu},"
                 "{\"Name\":\"core\",\"Soft\":0,\"Hard\":0}]}",
                 (unsigned long long)rl.rlim_max + 10, (unsigned long long)rl.rlim_max + 10);
        json_t *s = build_ok("{\"Cmd\":[\"x\"]}", hc, w);
        CHECK(s != NULL);
        json_t *r = json_object_get(json_object_get(s, "process"), "rlimits");
        CHECK(json_array_size(r) == 2);
        json_t *nofile = json_array_get(r, 0);
        CHECK_STR(json_string_value(json_object_get(nofile, "type")), "RLIMIT_NOFILE");
        if (rl.rlim_max != RLIM_INFINITY) {
                CHECK(json_integer_value(json_object_get(nofile, "hard")) ==
                      (json_int_t)rl.rlim_max);
                CHECK(json_integer_value(json_object_get(nofile, "soft")) ==
                      (json_int_t)rl.rlim_max);
                CHECK(json_array_size(w) == 1);
                CHECK(strstr(json_string_value(json_array_get(w, 0)), "nofile") != NULL);
        }
        CHECK_STR(json_string_value(json_object_get(json_array_get(r, 1), "type")), "RLIMIT_CORE");
        json_decref(s);
        json_decref(w);
}

static void test_build_options(void)
{
        json_t *w = json_array();
        json_t *s = build_ok(
            "{\"Cmd\":[\"x\"],\"Tty\":true,\"WorkingDir\":\"/srv\",\"Hostname\":\"web\","
            "\"Domainname\":\"example.org\"}",
            "{\"ReadonlyRootfs\":true,\"Init\":true,\"Tmpfs\":{\"/run\":\"size=1m,exec\"},"
            "\"Binds\":[\"/tmp:/data/sub:ro\",\"/var:/data\"],"
            "\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/scratch\","
            "\"TmpfsOptions\":{\"SizeBytes\":1024,\"Mode\":448}}],"
            "\"ShmSize\":1048576,\"SecurityOpt\":[\"no-new-privileges:true\"],"
            "\"Memory\":16777216,\"NanoCpus\":1500000000,\"CpuShares\":256,\"PidsLimit\":50,"
            "\"CpusetCpus\":\"0\",\"BlkioWeight\":300,\"OomScoreAdj\":500,"
            "\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"PidMode\":\"host\","
            "\"UTSMode\":\"\",\"IpcMode\":\"private\",\"NetworkMode\":\"host\"}",
            w);
        CHECK(s != NULL);
        json_t *p = json_object_get(s, "process");
        CHECK(jeq(json_object_get(p, "args"), "[\"/sbin/docker-init\",\"--\",\"x\"]"));
        CHECK(json_is_true(json_object_get(p, "terminal")));
        CHECK(has_str(json_object_get(p, "env"), "TERM=xterm"));
        CHECK(has_str(json_object_get(p, "env"), "HOSTNAME=web"));
        CHECK_STR(json_string_value(json_object_get(p, "cwd")), "/srv");
        CHECK(json_is_true(json_object_get(p, "noNewPrivileges")));
        CHECK(json_integer_value(json_object_get(p, "oomScoreAdj")) == 500);
        CHECK(json_is_true(json_object_get(json_object_get(s, "root"), "readonly")));
        CHECK_STR(json_string_value(json_object_get(s, "hostname")), "web");
        CHECK_STR(json_string_value(json_object_get(s, "domainname")), "example.org");
        json_t *init = find_mount(s, "/sbin/docker-init");
        CHECK(init != NULL);
        CHECK_STR(json_string_value(json_object_get(init, "source")), "/usr/bin/barge-init");
        CHECK(has_str(json_object_get(init, "options"), "ro"));
        json_t *run = find_mount(s, "/run");
        CHECK(run && has_str(json_object_get(run, "options"), "size=1m") &&
              has_str(json_object_get(run, "options"), "exec"));
        json_t *scratch = find_mount(s, "/scratch");
        CHECK(scratch && has_str(json_object_get(scratch, "options"), "size=1024") &&
              has_str(json_object_get(scratch, "options"), "mode=700"));
        CHECK(has_str(json_object_get(find_mount(s, "/data/sub"), "options"), "ro"));
        CHECK(!has_str(json_object_get(find_mount(s, "/data"), "options"), "ro"));
        /* /data before /data/sub */
        size_t i, at_data = 0, at_sub = 0;
        json_t *m;
        json_array_foreach(json_object_get(s, "mounts"), i, m)
        {
                const char *d = json_string_value(json_object_get(m, "destination"));
                if (strcmp(d, "/data") == 0)
                        at_data = i;
                if (strcmp(d, "/data/sub") == 0)
                        at_sub = i;
        }
        CHECK(at_data < at_sub);
        CHECK(has_str(json_object_get(find_mount(s, "/dev/shm"), "options"), "size=1048576"));
        CHECK(has_str(json_object_get(find_mount(s, "/etc/resolv.conf"), "options"), "ro"));
        CHECK(!has_ns(s, "pid") && !has_ns(s, "network") && has_ns(s, "uts") && has_ns(s, "ipc"));
        json_t *lx = json_object_get(s, "linux");
        json_t *res = json_object_get(lx, "resources");
        CHECK(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")) ==
              16777216);
        CHECK(json_integer_value(json_object_get(json_object_get(res, "memory"), "swap")) ==
              2 * 16777216);
        json_t *cpu = json_object_get(res, "cpu");
        CHECK(json_integer_value(json_object_get(cpu, "quota")) == 150000);
        CHECK(json_integer_value(json_object_get(cpu, "period")) == 100000);
        CHECK(json_integer_value(json_object_get(cpu, "shares")) == 256);
        CHECK_STR(json_string_value(json_object_get(cpu, "cpus")), "0");
        CHECK(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")) == 50);
        /* a host without blkio weight support gets a warning instead, as from Docker */
        if (has_prefix_str(w, "Your kernel does not support Block I/O weight"))
                CHECK(json_object_get(res, "blockIO") == NULL);
        else
                CHECK(json_integer_value(
                          json_object_get(json_object_get(res, "blockIO"), "weight")) == 300);
        json_decref(w);
        CHECK_STR(json_string_value(
                      json_object_get(json_object_get(lx, "sysctl"), "net.ipv4.ip_forward")),
                  "1");
        /* host network: the namespaced defaults are not applied */
        CHECK(json_object_get(json_object_get(lx, "sysctl"), "net.ipv4.ping_group_range") == NULL);
        json_decref(s);

        /* on the host's network without a Hostname: the host's name */
        char host_name[HOST_NAME_MAX + 1] = "";
        gethostname(host_name, sizeof(host_name));
        s = build_ok("{\"Cmd\":[\"x\"]}", "{\"NetworkMode\":\"host\"}", NULL);
        CHECK(s != NULL);
        CHECK_STR(json_string_value(json_object_get(s, "hostname")), host_name);
        json_decref(s);

        /* host UTS: no hostname in the spec (runtimes refuse one without a UTS namespace) */
        s = build_ok("{\"Cmd\":[\"x\"]}",
                     "{\"UTSMode\":\"host\",\"IpcMode\":\"host\",\"CgroupnsMode\":\"private\"}",
                     NULL);
        CHECK(s && json_object_get(s, "hostname") == NULL && !has_ns(s, "uts") &&
              !has_ns(s, "ipc") && has_ns(s, "cgroup"));
        CHECK_STR(json_string_value(json_object_get(find_mount(s, "/dev/shm"), "type")), "bind");
        json_decref(s);

        /* namespace paths */
        json_t *c = J("{\"Cmd\":[\"x\"]}"), *h = J("{\"NetworkMode\":\"container:abc\"}");
        struct ocispec_in in = {.id = ID,
                                .config = c,
                                .host_config = h,
                                .rootfs = rootfs,
                                .netns_path = "/proc/1/ns/net",
                                .pidns_path = "/proc/1/ns/pid"};
        struct err *e = NULL;
        CHECK(ocispec_build(&in, &s, NULL, &e) == 0);
        json_array_foreach(json_object_get(json_object_get(s, "linux"), "namespaces"), i, m)
        {
                const char *t = json_string_value(json_object_get(m, "type"));
                const char *path = json_string_value(json_object_get(m, "path"));
                if (strcmp(t, "network") == 0)
                        CHECK(path && strcmp(path, "/proc/1/ns/net") == 0);
                else if (strcmp(t, "pid") == 0)
                        CHECK(path && strcmp(path, "/proc/1/ns/pid") == 0);
                else
                        CHECK(path == NULL);
        }
        json_decref(s);
        json_decref(c);
        json_decref(h);

        CHECK(build_err("{\"Cmd\":[]}", "{}", "no command specified"));
        CHECK(build_err("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"/a\"]}", "HostConfig.Binds[0]"));
        CHECK(build_err("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"/a:rel\"]}", "HostConfig.Binds[0]"));
        CHECK(build_err("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"foo\"]}", "SecurityOpt"));
}

static void test_build_seccomp(void)
{
        json_t *s =
            build_ok("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"seccomp=unconfined\"]}", NULL);
        CHECK(s && json_object_get(json_object_get(s, "linux"), "seccomp") == NULL);
        CHECK(json_object_get(json_object_get(s, "linux"), "maskedPaths") != NULL);
        json_decref(s);
        /* a profile in Docker's format, as the CLI sends it (the file's text) */
        const char *profile =
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
            "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]},{\"architecture\":"
            "\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],\"syscalls\":["
            "{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
            "{\"name\":\"getpid\",\"action\":\"SCMP_ACT_ALLOW\"},"
            "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
            "[\"CAP_SYS_ADMIN\"]}},"
            "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{"
            "\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]}]}";
        json_t *hc = json_pack("{s:[s]}", "SecurityOpt", "seccomp=PLACEHOLDER");
        _cleanup_free_ char *opt = xasprintf("seccomp=%s", profile);
        json_array_set_new(json_object_get(hc, "SecurityOpt"), 0, json_string(opt));
        char *hct = json_dumps(hc, 0);
        s = build_ok("{\"Cmd\":[\"x\"]}", hct, NULL);
        CHECK(s != NULL);
        json_t *sc = json_object_get(json_object_get(s, "linux"), "seccomp");
        CHECK(json_array_size(json_object_get(sc, "architectures")) == 2);
        json_t *calls = json_object_get(sc, "syscalls");
        CHECK(json_array_size(calls) == 3); /* mount dropped: no CAP_SYS_ADMIN */
        CHECK(has_str(json_object_get(json_array_get(calls, 1), "names"), "getpid"));
        CHECK(json_object_get(json_array_get(calls, 2), "args") != NULL);
        json_decref(s);
        free(hct);
        json_decref(hc);
        CHECK(build_err("{\"Cmd\":[\"x\"]}",
                        "{\"SecurityOpt\":[\"seccomp={\\\"syscalls\\\":[]}\"]}", "defaultAction"));
}

static void test_exec_process(void)
{
        json_t *c = J("{\"Cmd\":[\"x\"],\"Env\":[\"A=1\",\"B=2\"],\"User\":\"app\","
                      "\"WorkingDir\":\"/w\"}");
        json_t *h = J("{\"CapAdd\":[\"NET_ADMIN\"],\"SecurityOpt\":[\"no-new-privileges\"]}");
        struct ocispec_in in = {.id = ID, .config = c, .host_config = h, .rootfs = rootfs};
        json_t *ex = J("{\"Cmd\":[\"ls\",\"-l\"],\"Env\":[\"B=3\",\"C=4\"],\"Tty\":true}");
        json_t *p = NULL;
        struct err *e = NULL;
        CHECK(ocispec_exec_process(&in, ex, &p, &e) == 0);
        CHECK(jeq(json_object_get(p, "args"), "[\"ls\",\"-l\"]"));
        json_t *env = json_object_get(p, "env");
        CHECK(has_str(env, "A=1") && has_str(env, "B=3") && has_str(env, "C=4") &&
              has_str(env, "TERM=xterm") && !has_str(env, "B=2"));
        CHECK(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")) == 1000);
        CHECK_STR(json_string_value(json_object_get(p, "cwd")), "/w");
        CHECK(json_is_true(json_object_get(p, "terminal")));
        CHECK(json_is_true(json_object_get(p, "noNewPrivileges")));
        json_t *b = json_object_get(json_object_get(p, "capabilities"), "bounding");
        CHECK(has_str(b, "CAP_NET_ADMIN") && !has_str(b, "CAP_SYS_ADMIN"));
        CHECK(json_array_size(json_object_get(p, "rlimits")) >= 1);
        CHECK(json_object_get(p, "apparmorProfile") == NULL);
        json_decref(p);
        json_decref(ex);

        ex = J("{\"Cmd\":[\"id\"],\"User\":\"0:10\",\"WorkingDir\":\"/tmp\",\"Privileged\":true}");
        CHECK(ocispec_exec_process(&in, ex, &p, &e) == 0);
        json_t *u = json_object_get(p, "user");
        CHECK(json_integer_value(json_object_get(u, "uid")) == 0 &&
              json_integer_value(json_object_get(u, "gid")) == 10);
        CHECK_STR(json_string_value(json_object_get(p, "cwd")), "/tmp");
        b = json_object_get(json_object_get(p, "capabilities"), "bounding");
        CHECK(has_str(b, "CAP_SYS_ADMIN"));
        json_decref(p);
        json_decref(ex);

        ex = J("{\"Cmd\":[\"id\"],\"User\":\"ghost\"}");
        CHECK(ocispec_exec_process(&in, ex, &p, &e) < 0 && e->code == EINVAL);
        err_free(&e);
        json_decref(ex);
        ex = J("{\"Cmd\":[]}");
        CHECK(ocispec_exec_process(&in, ex, &p, &e) < 0 && e->code == EINVAL);
        err_free(&e);
        json_decref(ex);
        json_decref(c);
        json_decref(h);
}

/* ---- integration: the spec under barge-runtime and runc ---- */

static char bb_root[512]; /* busybox rootfs (made once) */
static char bundle[300];
static char state_dir[300];
static int run_seq;
static const char *run_user; /* Config.User of the next run_in */

static int sh(const char *cmd)
{
        int st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *runtime_bin(void)
{
        static char path[512];
        const char *b = getenv("BARGE_BUILD");
        snprintf(path, sizeof(path), "%s/bin/barge-runtime", b ? b : "build");
        return path;
}

/* Run `script` in a container built from `hc` under `runtime`; the exit
 * status, output in *out (caller frees). */
static int run_in(const char *runtime, const char *script, const char *hc_text, char **out)
{
        *out = NULL;
        _cleanup_free_ char *id = xasprintf("ocispec-test-%d-%d", (int)getpid(), ++run_seq);
        _cleanup_free_ char *cg = xasprintf("/barge-test-ocispec/%s", id);
        json_t *c = json_pack("{s:[s,s,s], s:s}", "Cmd", "/bin/sh", "-c", script, "User",
                              run_user ? run_user : "");
        json_t *h = J(hc_text);
        struct ocispec_in in = {
            .id = id, .config = c, .host_config = h, .rootfs = bb_root, .cgroup_path = cg};
        json_t *spec = NULL;
        struct err *e = NULL;
        int r = ocispec_build(&in, &spec, NULL, &e);
        json_decref(c);
        json_decref(h);
        if (r < 0) {
                printf("# build: %s\n", e->msg);
                err_free(&e);
                return -1;
        }
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", bundle);
        json_dump_file(spec, cfg, JSON_INDENT(1));
        json_decref(spec);
        _cleanup_free_ char *outf = xasprintf("%s/out", tmpdir);
        _cleanup_free_ char *cmd =
            xasprintf("timeout 30 %s --root %s run -b %s %s </dev/null >%s 2>&1", runtime,
                      state_dir, bundle, id, outf);
        int rc = sh(cmd);
        size_t len;
        if (read_file(outf, 1 << 20, out, &len, NULL) < 0)
                *out = xstrdup("");
        /* a container left behind by a failure: delete it, and its cgroup */
        _cleanup_free_ char *del =
            xasprintf("%s --root %s delete -f %s >/dev/null 2>&1", runtime, state_dir, id);
        sh(del);
        return rc;
}

static int expect(const char *runtime, const char *script, const char *hc, int want_rc,
                  const char *want_out)
{
        char *out = NULL;
        int rc = run_in(runtime, script, hc, &out);
        int ok = rc == want_rc && (want_out == NULL || (out && strstr(out, want_out)));
        if (!ok)
                printf("# %s: `%s` (%s): rc %d (want %d), output: %s\n", runtime, script, hc, rc,
                       want_rc, out ? out : "");
        free(out);
        return ok;
}

static void check_runtime(const char *rt)
{
        CHECK(expect(rt, "true", "{}", 0, NULL));
        /* mount is refused: no CAP_SYS_ADMIN, and the profile forbids it */
        CHECK(expect(rt, "mount -t tmpfs x /tmp 2>&1", "{}", 1, "permission denied"));
        /* with SYS_ADMIN added, both allow it */
        CHECK(expect(rt, "mount -t tmpfs x /tmp && grep -q ' /tmp tmpfs' /proc/mounts && echo ok",
                     "{\"CapAdd\":[\"SYS_ADMIN\"]}", 0, "ok"));
        /* masked: /proc/kcore reads empty; /proc/sys read-only */
        CHECK(expect(rt, "echo size=$(cat /proc/kcore 2>/dev/null | wc -c)", "{}", 0, "size=0"));
        CHECK(expect(rt, "echo size=$(wc -c </proc/timer_list)", "{}", 0, "size=0\n"));
        /* ... and only masked: privileged, timer_list has content */
        CHECK(expect(rt, "wc -c </proc/timer_list | grep -qv '^0$' && echo full",
                     "{\"Privileged\":true}", 0, "full"));
        CHECK(expect(rt, "echo 1 >/proc/sys/kernel/ns_last_pid && echo wrote", "{}", 1,
                     "Read-only file system"));
        /* unshare needs CAP_SYS_ADMIN: EPERM from the profile */
        CHECK(expect(rt, "unshare -n true 2>&1", "{}", 1, "not permitted"));
        /* everyday tools work under the default profile (busybox's wget crashes
         * in its static NSS code even on the host, so nc stands in for sockets) */
        CHECK(expect(rt,
                     "ls / >/dev/null && ps >/dev/null && top -b -n 1 >/dev/null && "
                     "date >/dev/null && id -u >/dev/null && sleep 0.1 && "
                     "cat /etc/passwd >/dev/null && echo done",
                     "{}", 0, "done"));
        CHECK(expect(rt, "nc 127.0.0.1 9 </dev/null 2>&1 | grep -c 'not permitted'", "{}", 1, "0"));
        CHECK(expect(rt, "nc 127.0.0.1 9 </dev/null 2>&1", "{}", 1, "can't connect"));
        /* a non-root user runs without capabilities; its groups as Docker's */
        run_user = "daemon";
        int ok = expect(rt, "grep CapEff /proc/self/status; id", "{\"GroupAdd\":[\"tty\"]}", 0,
                        "CapEff:\t0000000000000000\nuid=1(daemon) gid=1(daemon) "
                        "groups=1(daemon),5(tty)");
        run_user = NULL;
        CHECK(ok);
        /* the user and the privileged container */
        CHECK(expect(rt, "id", "{\"GroupAdd\":[\"tty\"]}", 0, "groups=0(root),5(tty)"));
        CHECK(expect(rt, "mount -t tmpfs x /tmp && echo ok", "{\"Privileged\":true}", 0, "ok"));
        CHECK(expect(rt, "touch /x 2>&1; touch /mnt/x && echo tmpfs-ok",
                     "{\"ReadonlyRootfs\":true,\"Tmpfs\":{\"/mnt\":\"\"}}", 0, "tmpfs-ok"));
}

static int integration_setup(void)
{
        snprintf(bundle, sizeof(bundle), "%s/bundle", tmpdir);
        snprintf(bb_root, sizeof(bb_root), "%s/rootfs", bundle);
        snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
        mkdir(bundle, 0755);
        mkdir(state_dir, 0700);
        _cleanup_free_ char *cmd = xasprintf("tests/lib/mkrootfs.sh %s >/dev/null 2>&1", bb_root);
        return sh(cmd) == 0 ? 0 : -1;
}

static void test_integration_barge_runtime(void)
{
        check_runtime(runtime_bin());
}

static void test_integration_runc(void)
{
        check_runtime("/usr/sbin/runc");
}

static void cleanup(void)
{
        /* the runtimes remove their cgroups; the parent is ours */
        sh("for d in /sys/fs/cgroup/*/barge-test-ocispec /sys/fs/cgroup/barge-test-ocispec; do "
           "[ -d \"$d\" ] && find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null; done; true");
        _cleanup_free_ char *cmd = xasprintf("rm -rf %s", tmpdir);
        sh(cmd);
}

int main(void)
{
        if (make_rootfs() < 0)
                return 1;
        RUN(test_merge_table);
        RUN(test_merge_no_command);
        RUN(test_validate_table);
        RUN(test_build_defaults);
        RUN(test_build_caps);
        RUN(test_build_privileged);
        RUN(test_build_user);
        RUN(test_build_user_hostile_rootfs);
        RUN(test_build_ulimits);
        RUN(test_build_options);
        RUN(test_build_seccomp);
        RUN(test_exec_process);
        int can_run = geteuid() == 0 && access(runtime_bin(), X_OK) == 0 &&
                      access("tests/lib/mkrootfs.sh", X_OK) == 0 && integration_setup() == 0;
        if (can_run && !UNDER_ASAN)
                RUN(test_integration_barge_runtime);
        else
                SKIP(test_integration_barge_runtime,
                     UNDER_ASAN ? "runs in the plain build" : "needs root, barge-runtime, busybox");
        if (can_run && !UNDER_ASAN && access("/usr/sbin/runc", X_OK) == 0)
                RUN(test_integration_runc);
        else
                SKIP(test_integration_runc,
                     UNDER_ASAN ? "runs in the plain build" : "needs root, runc, busybox");
        cleanup();
        return DONE();
}

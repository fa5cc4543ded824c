/*
 * run: create, run, start and attach: docker's container flags turned into
 * the create body (Config + HostConfig), and docker's run flow: create
 * (pulling a missing image), attach and wait registered before start,
 * then the I/O pump, and the container's exit code as barge's.
 *
 * Exit codes as docker: 125 when barge or the daemon fails (bad flag,
 * create failure), 126 / 127 when the command cannot be run / is not
 * found (recognised in the start error's message), else the container's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/reference.h"
#include "cli.h"

enum {
        O_RM = 256,
        O_NAME,
        O_ENV_FILE,
        O_ENTRYPOINT,
        O_HOSTNAME,
        O_CPUS,
        O_PIDS,
        O_CAP_ADD,
        O_CAP_DROP,
        O_PRIV,
        O_RO,
        O_INIT,
        O_RESTART,
        O_HCMD,
        O_HINT,
        O_HTO,
        O_HRET,
        O_HSTART,
        O_NOHC,
        O_PLATFORM,
        O_PULL,
        O_SECOPT,
        O_ULIMIT,
        O_TMPFS,
        O_NETWORK,
        O_STOPSIG,
        O_STOPTO,
        O_LOGOPT,
        O_LOGDRV,
        O_DETACH_KEYS,
        O_SIG_PROXY,
        O_MEMSWAP,
        O_SHM,
        O_CIDFILE,
        O_ENVF,
        O_GROUP,
        O_NO_STDIN,
        O_DEVICE,
        O_DNS,
        O_ADDHOST,
        O_EXPOSE,
        O_PUBLISH,
        O_USERNS,
        O_PID,
        O_IPC,
        O_UTS,
        O_CGROUPNS,
        O_MOUNT,
        O_VOLUMES_FROM,
        O_QUIET,
};

/* docker run / create flags (the ones not listed are refused as unknown) */
static const struct option run_options[] = {
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"rm", no_argument, NULL, O_RM},
    {"name", required_argument, NULL, O_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, O_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
    {"label", required_argument, NULL, 'l'},
    {"hostname", required_argument, NULL, 'h'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, O_CPUS},
    {"pids-limit", required_argument, NULL, O_PIDS},
    {"cap-add", required_argument, NULL, O_CAP_ADD},
    {"cap-drop", required_argument, NULL, O_CAP_DROP},
    {"privileged", no_argument, NULL, O_PRIV},
    {"read-only", no_argument, NULL, O_RO},
    {"init", no_argument, NULL, O_INIT},
    {"restart", required_argument, NULL, O_RESTART},
    {"health-cmd", required_argument, NULL, O_HCMD},
    {"health-interval", required_argument, NULL, O_HINT},
    {"health-timeout", required_argument, NULL, O_HTO},
    {"health-retries", required_argument, NULL, O_HRET},
    {"health-start-period", required_argument, NULL, O_HSTART},
    {"no-healthcheck", no_argument, NULL, O_NOHC},
    {"platform", required_argument, NULL, O_PLATFORM},
    {"pull", required_argument, NULL, O_PULL},
    {"security-opt", required_argument, NULL, O_SECOPT},
    {"ulimit", required_argument, NULL, O_ULIMIT},
    {"volume", required_argument, NULL, 'v'},
    {"tmpfs", required_argument, NULL, O_TMPFS},
    {"network", required_argument, NULL, O_NETWORK},
    {"net", required_argument, NULL, O_NETWORK},
    {"stop-signal", required_argument, NULL, O_STOPSIG},
    {"stop-timeout", required_argument, NULL, O_STOPTO},
    {"log-opt", required_argument, NULL, O_LOGOPT},
    {"log-driver", required_argument, NULL, O_LOGDRV},
    {"detach-keys", required_argument, NULL, O_DETACH_KEYS},
    {"sig-proxy", optional_argument, NULL, O_SIG_PROXY},
    {"attach", required_argument, NULL, 'a'},
    {"memory-swap", required_argument, NULL, O_MEMSWAP},
    {"shm-size", required_argument, NULL, O_SHM},
    {"cidfile", required_argument, NULL, O_CIDFILE},
    {"group-add", required_argument, NULL, O_GROUP},
    {"device", required_argument, NULL, O_DEVICE},
    {"dns", required_argument, NULL, O_DNS},
    {"add-host", required_argument, NULL, O_ADDHOST},
    {"expose", required_argument, NULL, O_EXPOSE},
    {"publish", required_argument, NULL, 'p'},
    {"userns", required_argument, NULL, O_USERNS},
    {"pid", required_argument, NULL, O_PID},
    {"ipc", required_argument, NULL, O_IPC},
    {"uts", required_argument, NULL, O_UTS},
    {"cgroupns", required_argument, NULL, O_CGROUPNS},
    {"mount", required_argument, NULL, O_MOUNT},
    {"volumes-from", required_argument, NULL, O_VOLUMES_FROM},
    {"quiet", no_argument, NULL, O_QUIET},
    {NULL, 0, NULL, 0},
};
#define RUN_SHORT "dite:h:w:u:l:m:v:a:p:q"

struct run_args {
        int detach, interactive, tty, rm, sig_proxy, quiet;
        int attach_stdin, attach_stdout, attach_stderr, attach_given;
        const char *name, *platform, *pull, *detach_keys, *cidfile;
        json_t *config, *host; /* Config and HostConfig being built */
        struct err *e;
};

static json_t *obj_array(json_t *o, const char *key)
{
        json_t *a = json_object_get(o, key);
        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(o, key, a);
        }
        return a;
}

static json_t *obj_object(json_t *o, const char *key)
{
        json_t *a = json_object_get(o, key);
        if (!json_is_object(a)) {
                a = json_object();
                json_object_set_new(o, key, a);
        }
        return a;
}

/* Go durations (1m30s, 500ms, 2h) in nanoseconds */
static int parse_duration_ns(const char *s, long long *out)
{
        const char *p = s;
        double total = 0;
        if (!strcmp(s, "0")) {
                *out = 0;
                return 0;
        }
        while (*p) {
                char *end;
                double v = strtod(p, &end);
                if (end == p)
                        return -1;
                p = end;
                if (!strncmp(p, "ns", 2))
                        total += v, p += 2;
                else if (!strncmp(p, "us", 2))
                        total += v * 1e3, p += 2;
                else if (!strncmp(p, "ms", 2))
                        total += v * 1e6, p += 2;
                else if (*p == 's')
                        total += v * 1e9, p++;
                else if (*p == 'm')
                        total += v * 60e9, p++;
                else if (*p == 'h')
                        total += v * 3600e9, p++;
                else
                        return -1;
        }
        if (p == s)
                return -1;
        *out = (long long)total;
        return 0;
}

static void add_env(struct run_args *a, const char *kv)
{
        json_t *env = obj_array(a->config, "Env");
        if (strchr(kv, '=')) {
                json_array_append_new(env, json_string(kv));
                return;
        }
        /* -e NAME: the client's value, or nothing when it has none */
        const char *v = getenv(kv);
        if (v) {
                char *s = xasprintf("%s=%s", kv, v);
                json_array_append_new(env, json_string(s));
                free(s);
        }
}

static int read_env_file(struct run_args *a, const char *file)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (read_file(file, 1 << 20, &text, &len, &a->e) < 0)
                return -1;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                while (isspace((unsigned char)*line))
                        line++;
                size_t n = strlen(line);
                while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
                        line[--n] = '\0';
                if (*line == '\0' || *line == '#')
                        continue;
                add_env(a, line);
        }
        return 0;
}

static int bad(struct run_args *a, const char *what, const char *arg)
{
        err_new(&a->e, 0, "invalid argument \"%s\" for \"--%s\" flag", arg, what);
        return -1;
}

static int run_opt(void *data, int opt, const char *arg)
{
        struct run_args *a = data;
        json_t *cfg = a->config, *host = a->host;
        long long v;
        int64_t sz;
        char *end;
        switch (opt) {
        case 'd':
                a->detach = 1;
                break;
        case 'i':
                a->interactive = 1;
                break;
        case 't':
                a->tty = 1;
                break;
        case O_RM:
                a->rm = 1;
                break;
        case O_NAME:
                a->name = arg;
                break;
        case 'e':
                add_env(a, arg);
                break;
        case O_ENV_FILE:
                return read_env_file(a, arg);
        case 'w':
                json_object_set_new(cfg, "WorkingDir", json_string(arg));
                break;
        case 'u':
                json_object_set_new(cfg, "User", json_string(arg));
                break;
        case O_ENTRYPOINT:
                json_object_set_new(cfg, "Entrypoint", json_pack("[s]", arg));
                break;
        case 'l': {
                const char *eq = strchr(arg, '=');
                _cleanup_free_ char *k = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
                json_object_set_new(obj_object(cfg, "Labels"), k, json_string(eq ? eq + 1 : ""));
                break;
        }
        case 'h':
                json_object_set_new(cfg, "Hostname", json_string(arg));
                break;
        case 'm':
                if (parse_size(arg, &sz) < 0)
                        return bad(a, "memory", arg);
                json_object_set_new(host, "Memory", json_integer(sz));
                break;
        case O_MEMSWAP:
                if (!strcmp(arg, "-1"))
                        sz = -1;
                else if (parse_size(arg, &sz) < 0)
                        return bad(a, "memory-swap", arg);
                json_object_set_new(host, "MemorySwap", json_integer(sz));
                break;
        case O_SHM:
                if (parse_size(arg, &sz) < 0)
                        return bad(a, "shm-size", arg);
                json_object_set_new(host, "ShmSize", json_integer(sz));
                break;
        case O_CPUS: {
                double cpus = strtod(arg, &end);
                if (end == arg || *end || cpus < 0)
                        return bad(a, "cpus", arg);
                json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(cpus * 1e9)));
                break;
        }
        case O_PIDS:
                if (parse_int64(arg, &v) < 0)
                        return bad(a, "pids-limit", arg);
                json_object_set_new(host, "PidsLimit", json_integer(v));
                break;
        case O_CAP_ADD:
                json_array_append_new(obj_array(host, "CapAdd"), json_string(arg));
                break;
        case O_CAP_DROP:
                json_array_append_new(obj_array(host, "CapDrop"), json_string(arg));
                break;
        case O_PRIV:
                json_object_set_new(host, "Privileged", json_true());
                break;
        case O_RO:
                json_object_set_new(host, "ReadonlyRootfs", json_true());
                break;
        case O_INIT:
                json_object_set_new(host, "Init", json_true());
                break;
        case O_RESTART: {
                const char *colon = strchr(arg, ':');
                _cleanup_free_ char *name =
                    colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
                long long max = 0;
                if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "on-failure") &&
                    strcmp(name, "unless-stopped"))
                        return bad(a, "restart", arg);
                if (colon && (parse_int64(colon + 1, &max) < 0 || strcmp(name, "on-failure")))
                        return bad(a, "restart", arg);
                json_object_set_new(
                    host, "RestartPolicy",
                    json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
                break;
        }
        case O_HCMD:
                json_object_set_new(obj_object(cfg, "Healthcheck"), "Test",
                                    json_pack("[s,s]", "CMD-SHELL", arg));
                break;
        case O_HINT:
        case O_HTO:
        case O_HSTART: {
                static const char *const keys[] = {"Interval", "Timeout", "StartPeriod"};
                static const char *const flags[] = {"health-interval", "health-timeout",
                                                    "health-start-period"};
                int k = opt == O_HINT ? 0 : opt == O_HTO ? 1 : 2;
                if (parse_duration_ns(arg, &v) < 0)
                        return bad(a, flags[k], arg);
                json_object_set_new(obj_object(cfg, "Healthcheck"), keys[k], json_integer(v));
                break;
        }
        case O_HRET:
                if (parse_int64(arg, &v) < 0)
                        return bad(a, "health-retries", arg);
                json_object_set_new(obj_object(cfg, "Healthcheck"), "Retries", json_integer(v));
                break;
        case O_NOHC:
                json_object_set_new(obj_object(cfg, "Healthcheck"), "Test",
                                    json_pack("[s]", "NONE"));
                break;
        case O_PLATFORM:
                a->platform = arg;
                break;
        case O_PULL:
                if (strcmp(arg, "always") && strcmp(arg, "missing") && strcmp(arg, "never"))
                        return bad(a, "pull", arg);
                a->pull = arg;
                break;
        case O_SECOPT:
                json_array_append_new(obj_array(host, "SecurityOpt"), json_string(arg));
                break;
        case O_ULIMIT: {
                /* name=soft[:hard] */
                const char *eq = strchr(arg, '=');
                long long soft, hard;
                if (eq == NULL)
                        return bad(a, "ulimit", arg);
                _cleanup_free_ char *name = xstrndup(arg, (size_t)(eq - arg));
                _cleanup_free_ char *vals = xstrdup(eq + 1);
                char *colon = strchr(vals, ':');
                if (colon)
                        *colon = '\0';
                if (parse_int64(vals, &soft) < 0 || (colon && parse_int64(colon + 1, &hard) < 0))
                        return bad(a, "ulimit", arg);
                if (!colon)
                        hard = soft;
                json_array_append_new(obj_array(host, "Ulimits"),
                                      json_pack("{s:s,s:I,s:I}", "Name", name, "Soft",
                                                (json_int_t)soft, "Hard", (json_int_t)hard));
                break;
        }
        case 'v':
                json_array_append_new(obj_array(host, "Binds"), json_string(arg));
                break;
        case O_MOUNT:
                return err_new(&a->e, ENOTSUP, "--mount is not supported yet; use -v"), -1;
        case O_VOLUMES_FROM:
                json_array_append_new(obj_array(host, "VolumesFrom"), json_string(arg));
                break;
        case O_TMPFS: {
                const char *colon = strchr(arg, ':');
                _cleanup_free_ char *path =
                    colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
                json_object_set_new(obj_object(host, "Tmpfs"), path,
                                    json_string(colon ? colon + 1 : ""));
                break;
        }
        case O_NETWORK:
                json_object_set_new(host, "NetworkMode", json_string(arg));
                break;
        case O_STOPSIG:
                json_object_set_new(cfg, "StopSignal", json_string(arg));
                break;
        case O_STOPTO:
                if (parse_int64(arg, &v) < 0)
                        return bad(a, "stop-timeout", arg);
                json_object_set_new(cfg, "StopTimeout", json_integer(v));
                break;
        case O_LOGOPT: {
                const char *eq = strchr(arg, '=');
                if (eq == NULL)
                        return bad(a, "log-opt", arg);
                _cleanup_free_ char *k = xstrndup(arg, (size_t)(eq - arg));
                json_object_set_new(obj_object(obj_object(host, "LogConfig"), "Config"), k,
                                    json_string(eq + 1));
                break;
        }
        case O_LOGDRV:
                json_object_set_new(obj_object(host, "LogConfig"), "Type", json_string(arg));
                break;
        case O_DETACH_KEYS:
                a->detach_keys = arg;
                break;
        case O_SIG_PROXY:
                a->sig_proxy = arg == NULL || strcmp(arg, "false") != 0;
                break;
        case 'a':
                a->attach_given = 1;
                if (!strcasecmp(arg, "stdin"))
                        a->attach_stdin = 1;
                else if (!strcasecmp(arg, "stdout"))
                        a->attach_stdout = 1;
                else if (!strcasecmp(arg, "stderr"))
                        a->attach_stderr = 1;
                else
                        return bad(a, "attach", arg);
                break;
        case O_CIDFILE:
                a->cidfile = arg;
                break;
        case O_GROUP:
                json_array_append_new(obj_array(host, "GroupAdd"), json_string(arg));
                break;
        case O_DEVICE: {
                _cleanup_free_ char *d = xstrdup(arg);
                char *f[3] = {d, NULL, NULL};
                for (int k = 0; k < 2 && f[k]; k++) {
                        char *c = strchr(f[k], ':');
                        if (c) {
                                *c = '\0';
                                f[k + 1] = c + 1;
                        }
                }
                json_array_append_new(obj_array(host, "Devices"),
                                      json_pack("{s:s,s:s,s:s}", "PathOnHost", f[0],
                                                "PathInContainer", f[1] ? f[1] : f[0],
                                                "CgroupPermissions", f[2] ? f[2] : "rwm"));
                break;
        }
        case O_DNS:
                json_array_append_new(obj_array(host, "Dns"), json_string(arg));
                break;
        case O_ADDHOST:
                json_array_append_new(obj_array(host, "ExtraHosts"), json_string(arg));
                break;
        case O_EXPOSE: {
                _cleanup_free_ char *port =
                    strchr(arg, '/') ? xstrdup(arg) : xasprintf("%s/tcp", arg);
                json_object_set_new(obj_object(cfg, "ExposedPorts"), port, json_object());
                break;
        }
        case 'p':
                return err_new(&a->e, ENOTSUP, "-p/--publish is not supported yet (no networks)"),
                       -1;
        case O_USERNS:
                json_object_set_new(host, "UsernsMode", json_string(arg));
                break;
        case O_PID:
                json_object_set_new(host, "PidMode", json_string(arg));
                break;
        case O_IPC:
                json_object_set_new(host, "IpcMode", json_string(arg));
                break;
        case O_UTS:
                json_object_set_new(host, "UTSMode", json_string(arg));
                break;
        case O_CGROUPNS:
                json_object_set_new(host, "CgroupnsMode", json_string(arg));
                break;
        case O_QUIET:
        case 'q':
                a->quiet = 1;
                break;
        }
        return 0;
}

/* Parse the flags, image and command; returns the create body or NULL
 * (exit code in *rc). */
static json_t *parse_run(struct cli *c, struct run_args *a, const char **image, int *rc)
{
        memset(a, 0, sizeof(*a));
        a->sig_proxy = 1;
        a->config = json_object();
        a->host = json_object();
        int i = cli_parse(c, RUN_SHORT, run_options, run_opt, a);
        if (i < 0 || a->e) {
                if (a->e) {
                        fprintf(stderr, "barge: %s\nSee 'barge %s --help'.\n", a->e->msg,
                                c->argv[0]);
                        err_free(&a->e);
                }
                *rc = 125;
                json_decref(a->config);
                json_decref(a->host);
                return NULL;
        }
        if (i >= c->argc) {
                *rc = cli_usage(c->argv[0], "\"%s\" requires at least 1 argument", c->argv[0]);
                json_decref(a->config);
                json_decref(a->host);
                return NULL;
        }
        *image = c->argv[i++];
        json_t *cfg = a->config;
        json_object_set_new(cfg, "Image", json_string(*image));
        if (i < c->argc) {
                json_t *cmd = json_array();
                for (; i < c->argc; i++)
                        json_array_append_new(cmd, json_string(c->argv[i]));
                json_object_set_new(cfg, "Cmd", cmd);
        }
        /* -d with --rm is fine: the daemon removes the container (AutoRemove) */
        if (!a->attach_given && !a->detach) {
                a->attach_stdout = a->attach_stderr = 1;
                a->attach_stdin = a->interactive;
        }
        if (a->interactive && !a->detach)
                a->attach_stdin = 1;
        json_object_set_new(cfg, "Tty", json_boolean(a->tty));
        json_object_set_new(cfg, "OpenStdin", json_boolean(a->interactive));
        json_object_set_new(cfg, "StdinOnce", json_boolean(a->interactive && !a->detach));
        json_object_set_new(cfg, "AttachStdin", json_boolean(a->attach_stdin));
        json_object_set_new(cfg, "AttachStdout", json_boolean(a->attach_stdout));
        json_object_set_new(cfg, "AttachStderr", json_boolean(a->attach_stderr));
        json_object_set_new(a->host, "AutoRemove", json_boolean(a->rm));
        if (a->tty)
                a->sig_proxy = 0; /* docker: with a tty the keys go to the container */
        json_object_set_new(cfg, "HostConfig", a->host);
        a->host = NULL;
        return cfg;
}

static int image_missing(const struct err *e)
{
        return e && e->code == ENOENT && strstr(e->msg, "No such image");
}

/* POST /containers/create, pulling the image first if needed (docker's
 * --pull missing|always|never). */
static int create_container(struct cli *c, struct run_args *a, const char *image, json_t *body,
                            char **id, struct err **e)
{
        struct client *cl;
        if (cli_client(c, &cl, e) < 0)
                return -1;
        _cleanup_free_ char *q = NULL;
        if (a->name && a->platform)
                q = client_path("/containers/create?name=%s&platform=%s", a->name, a->platform);
        else if (a->name)
                q = client_path("/containers/create?name=%s", a->name);
        else if (a->platform)
                q = client_path("/containers/create?platform=%s", a->platform);
        else
                q = xstrdup("/containers/create");
        FILE *progress = a->quiet ? NULL : stderr;
        if (a->pull && !strcmp(a->pull, "always") &&
            image_pull(c, image, a->platform, progress, e) < 0)
                return -1;
        json_t *res = NULL;
        int r = client_json(cl, "POST", q, body, NULL, NULL, &res, e);
        if (r < 0 && image_missing(*e) && !(a->pull && !strcmp(a->pull, "never"))) {
                err_free(e);
                struct image_ref *ref = NULL;
                _cleanup_free_ char *fam = NULL;
                if (ref_parse(image, &ref, NULL) == 0) {
                        _cleanup_free_ char *norm = ref_string(ref);
                        fam = ref_familiar(norm);
                        ref_free(ref);
                }
                fprintf(stderr, "Unable to find image '%s' locally\n", fam ? fam : image);
                if (image_pull(c, image, a->platform, progress, e) < 0)
                        return -1;
                r = client_json(cl, "POST", q, body, NULL, NULL, &res, e);
        }
        if (r < 0)
                return -1;
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(res, "Warnings"), k, w)
            fprintf(stderr, "WARNING: %s\n", json_string_value(w));
        const char *cid = json_string_value(json_object_get(res, "Id"));
        if (cid == NULL) {
                json_decref(res);
                return err_new(e, EIO, "the daemon's create answer has no Id");
        }
        *id = xstrdup(cid);
        json_decref(res);
        if (a->cidfile) {
                struct err *fe = NULL;
                if (write_file(a->cidfile, *id, strlen(*id), 0644, &fe) < 0) {
                        log_warn("%s", fe->msg);
                        err_free(&fe);
                }
        }
        return 0;
}

int cmd_create(struct cli *c)
{
        struct run_args a;
        const char *image;
        int rc;
        json_t *body = parse_run(c, &a, &image, &rc);
        if (body == NULL)
                return rc;
        struct err *e = NULL;
        _cleanup_free_ char *id = NULL;
        int r = create_container(c, &a, image, body, &id, &e);
        json_decref(body);
        if (r < 0)
                return cli_fail_daemon(&e), 125;
        printf("%s\n", id);
        return 0;
}

/* docker's start-error exit codes */
static int start_exit_code(const struct err *e)
{
        const char *m = e ? e->msg : "";
        if (strstr(m, "executable file not found") || strstr(m, "no such file or directory") ||
            strstr(m, "not found"))
                return 127;
        if (strstr(m, "permission denied") || strstr(m, "not executable"))
                return 126;
        return 125;
}

/* Attach (hijacked) to a created container; wait registered; start; pump.
 * Returns barge's exit code. */
struct attach_plan {
        const char *id;
        int tty, in, out, err, rm, start, sig_proxy;
        const char *detach_keys;
};

static int attach_and_run(struct cli *c, const struct attach_plan *p)
{
        struct client *cl;
        struct err *e = NULL;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e), 125;
        _cleanup_free_ char *apath =
            p->detach_keys
                ? client_path("/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d"
                              "&detachKeys=%s",
                              p->id, p->in, p->out, p->err, p->detach_keys)
                : client_path("/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d", p->id,
                              p->in, p->out, p->err);
        int fd = -1;
        if (client_hijack(cl, "POST", apath, NULL, &fd, &e) < 0)
                return cli_fail_daemon(&e), 125;
        struct client_raw wait = {.fd = -1};
        _cleanup_free_ char *wpath =
            client_path("/containers/%s/wait?condition=%s", p->id, p->rm ? "removed" : "next-exit");
        if (client_raw_begin(cl, "POST", wpath, NULL, &wait, &e) < 0) {
                close(fd);
                return cli_fail_daemon(&e), 125;
        }
        _cleanup_free_ char *resize = client_path("/containers/%s/resize", p->id);
        _cleanup_free_ char *kill = client_path("/containers/%s/kill", p->id);
        if (p->tty && p->in && term_raw() < 0)
                log_warn("cannot put the terminal in raw mode");
        if (p->start) {
                _cleanup_free_ char *spath = client_path("/containers/%s/start", p->id);
                if (client_json(cl, "POST", spath, NULL, NULL, NULL, NULL, &e) < 0) {
                        term_restore();
                        close(fd);
                        close(wait.fd);
                        int code = start_exit_code(e);
                        if (p->rm) {
                                _cleanup_free_ char *dpath =
                                    client_path("/containers/%s?force=1&v=1", p->id);
                                struct err *de = NULL;
                                client_json(cl, "DELETE", dpath, NULL, NULL, NULL, NULL, &de);
                                err_free(&de);
                        }
                        cli_fail_daemon(&e);
                        return code;
                }
        }
        if (p->tty)
                term_resize(cl, resize);
        struct pump_opts po = {.fd = fd,
                               .tty = p->tty,
                               .send_stdin = p->in,
                               .detach_keys = p->detach_keys,
                               .cl = cl,
                               .resize_path = resize,
                               .kill_path = p->sig_proxy ? kill : NULL};
        int detached = 0;
        int r = pump_run(&po, &detached, &e);
        close(fd);
        term_restore();
        if (r < 0) {
                close(wait.fd);
                return cli_fail(&e);
        }
        if (detached) {
                close(wait.fd);
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        json_t *res = NULL;
        if (client_raw_end(&wait, &res, &e) < 0)
                return cli_fail_daemon(&e), 125;
        const char *werr =
            json_string_value(json_object_get(json_object_get(res, "Error"), "Message"));
        int code = (int)json_integer_value(json_object_get(res, "StatusCode"));
        if (werr && *werr) {
                fprintf(stderr, "Error response from daemon: %s\n", werr);
                code = 125;
        }
        json_decref(res);
        return code;
}

int cmd_run(struct cli *c)
{
        struct run_args a;
        const char *image;
        int rc;
        json_t *body = parse_run(c, &a, &image, &rc);
        if (body == NULL)
                return rc;
        struct err *e = NULL;
        _cleanup_free_ char *id = NULL;
        if (a.tty && a.attach_stdin && !isatty(STDIN_FILENO)) {
                json_decref(body);
                fprintf(stderr, "the input device is not a TTY\n");
                return 1;
        }
        int r = create_container(c, &a, image, body, &id, &e);
        json_decref(body);
        if (r < 0)
                return cli_fail_daemon(&e), 125;
        if (a.detach) {
                struct client *cl;
                _cleanup_free_ char *spath = client_path("/containers/%s/start", id);
                if (cli_client(c, &cl, &e) < 0 ||
                    client_json(cl, "POST", spath, NULL, NULL, NULL, NULL, &e) < 0) {
                        int code = start_exit_code(e);
                        cli_fail_daemon(&e);
                        return code;
                }
                printf("%s\n", id);
                return 0;
        }
        struct attach_plan p = {.id = id,
                                .tty = a.tty,
                                .in = a.attach_stdin,
                                .out = a.attach_stdout,
                                .err = a.attach_stderr,
                                .rm = a.rm,
                                .start = 1,
                                .sig_proxy = a.sig_proxy,
                                .detach_keys = a.detach_keys};
        return attach_and_run(c, &p);
}

/* ---- start / attach ---- */

struct start_args {
        int attach, interactive, no_stdin, sig_proxy;
        const char *detach_keys;
};

static int start_opt(void *data, int opt, const char *arg)
{
        struct start_args *a = data;
        if (opt == 'a')
                a->attach = 1;
        else if (opt == 'i')
                a->interactive = 1;
        else if (opt == 'K')
                a->detach_keys = arg;
        else if (opt == 'N')
                a->no_stdin = 1;
        else if (opt == 'S')
                a->sig_proxy = arg == NULL || strcmp(arg, "false") != 0;
        return 0;
}

/* The container's Config (Tty, OpenStdin) and id. */
static int container_info(struct client *cl, const char *name, json_t **info, struct err **e)
{
        _cleanup_free_ char *path = client_path("/containers/%s/json", name);
        return client_json(cl, "GET", path, NULL, NULL, NULL, info, e);
}

int cmd_start(struct cli *c)
{
        static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
                                             {"interactive", no_argument, NULL, 'i'},
                                             {"detach-keys", required_argument, NULL, 'K'},
                                             {NULL, 0, NULL, 0}};
        struct start_args a = {.sig_proxy = 1};
        struct err *e = NULL;
        int i = cli_parse(c, "ai", opts, start_opt, &a);
        if (i < 0)
                return 125;
        if (i >= c->argc)
                return cli_usage("start", "\"start\" requires at least 1 argument");
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        if (a.attach || a.interactive) {
                if (i + 1 != c->argc)
                        return cli_usage("start", "you cannot start and attach multiple containers "
                                                  "at once");
                json_t *info = NULL;
                if (container_info(cl, c->argv[i], &info, &e) < 0)
                        return cli_fail_daemon(&e);
                json_t *cfg = json_object_get(info, "Config");
                _cleanup_free_ char *id =
                    xstrdup(json_string_value(json_object_get(info, "Id")) ?: c->argv[i]);
                struct attach_plan p = {.id = id,
                                        .tty = json_is_true(json_object_get(cfg, "Tty")),
                                        .in = a.interactive &&
                                              json_is_true(json_object_get(cfg, "OpenStdin")),
                                        .out = 1,
                                        .err = 1,
                                        .start = 1,
                                        .detach_keys = a.detach_keys};
                p.sig_proxy = !p.tty;
                json_decref(info);
                return attach_and_run(c, &p);
        }
        int rc = 0;
        for (; i < c->argc; i++) {
                _cleanup_free_ char *path = client_path("/containers/%s/start", c->argv[i]);
                if (client_json(cl, "POST", path, NULL, NULL, NULL, NULL, &e) < 0)
                        rc = cli_fail_daemon(&e);
                else
                        printf("%s\n", c->argv[i]);
        }
        return rc;
}

int cmd_attach(struct cli *c)
{
        static const struct option opts[] = {{"no-stdin", no_argument, NULL, 'N'},
                                             {"detach-keys", required_argument, NULL, 'K'},
                                             {"sig-proxy", optional_argument, NULL, 'S'},
                                             {NULL, 0, NULL, 0}};
        struct start_args a = {.sig_proxy = 1};
        struct err *e = NULL;
        int i = cli_parse(c, "", opts, start_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 != c->argc)
                return cli_usage("attach", "\"attach\" requires exactly 1 argument");
        struct client *cl;
        json_t *info = NULL;
        if (cli_client(c, &cl, &e) < 0 || container_info(cl, c->argv[i], &info, &e) < 0)
                return cli_fail_daemon(&e);
        json_t *cfg = json_object_get(info, "Config");
        json_t *state = json_object_get(info, "State");
        if (!json_is_true(json_object_get(state, "Running"))) {
                json_decref(info);
                fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
                return 1;
        }
        if (json_is_true(json_object_get(state, "Paused"))) {
                json_decref(info);
                fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
                return 1;
        }
        _cleanup_free_ char *id = xstrdup(json_string_value(json_object_get(info, "Id")) ?: "");
        struct attach_plan p = {.id = id,
                                .tty = json_is_true(json_object_get(cfg, "Tty")),
                                .in =
                                    !a.no_stdin && json_is_true(json_object_get(cfg, "OpenStdin")),
                                .out = 1,
                                .err = 1,
                                .detach_keys = a.detach_keys};
        p.sig_proxy = a.sig_proxy && !p.tty;
        json_decref(info);
        if (p.tty && p.in && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "the input device is not a TTY\n");
                return 1;
        }
        /* attach waits for the current run to end: next-exit is right for a
         * running container */
        return attach_and_run(c, &p);
}

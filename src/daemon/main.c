/*
 * barged: the daemon's entry point.  Flags and the config file (config.h),
 * the pid file, the API socket, then the engine (src/engine) behind the
 * Engine API routes (src/api) until SIGTERM or SIGINT; SIGHUP reloads the
 * config file.  Everything else lives in the libraries.
 *
 * Signals are blocked before any thread starts and taken synchronously
 * with sigwait on the main thread, so no handler runs inside library code.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../api/api.h"
#include "../common/cli.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../engine/engine.h"
#include "config.h"

#define DEFAULT_ROOT "/var/lib/barge"
#define DEFAULT_EXEC_ROOT "/run/barge"
#define DEFAULT_HOST "unix:///run/barge/barge.sock"
#define DEFAULT_CONFIG "/etc/barge/daemon.json"
#define DEFAULT_PIDFILE "/run/barge/barged.pid"

static void usage(void)
{
        printf("usage: barged [OPTIONS]\n\nThe barge daemon: serves the Docker Engine API.\n\n"
               "Options:\n"
               "  --root DIR               data (images, containers) (default " DEFAULT_ROOT ")\n"
               "  --exec-root DIR          runtime state (default " DEFAULT_EXEC_ROOT ")\n"
               "  -H, --host unix://PATH   API socket (default " DEFAULT_HOST ")\n"
               "  --pidfile PATH           (default " DEFAULT_PIDFILE ")\n"
               "  --runtime PATH|NAME      OCI runtime (default barge-runtime; runc, crun)\n"
               "  -G, --group NAME         group of the API socket (default barge, if it exists)\n"
               "  --registry-mirror URL    mirror for docker.io (repeatable)\n"
               "  --insecure-registry HOST allow plain HTTP to HOST[:PORT] (repeatable)\n"
               "  --cgroup-parent PATH     parent cgroup of the containers' (default /barge)\n"
               "  --log-level LEVEL        debug, info, warn, error (default info)\n"
               "  --log-opt KEY=VALUE      default json-file options: max-size, max-file\n"
               "  --config-file PATH       (default " DEFAULT_CONFIG ")\n"
               "  -v, --version\n");
}

/* A helper binary next to barged's own (build/bin or PREFIX/bin). */
static char *beside_self(const char *name)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return xstrdup(name);
        self[n] = 0;
        char *slash = strrchr(self, '/');
        *slash = 0;
        return xasprintf("%s/%s", self, name);
}

/* --runtime: a path, "barge-runtime" (the one beside barged), or a name in PATH */
static int resolve_runtime(const char *name, char **out, struct err **e)
{
        if (!name || !strcmp(name, "barge-runtime")) {
                *out = beside_self("barge-runtime");
                if (access(*out, X_OK) == 0)
                        return 0;
                free(*out);
                name = "barge-runtime";
        }
        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return err_sys(e, "runtime %s", name);
                *out = realpath(name, NULL);
                return *out ? 0 : err_sys(e, "runtime %s", name);
        }
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir;
             dir = strtok_r(NULL, ":", &save)) {
                char *p = xasprintf("%s/%s", dir, name);
                if (access(p, X_OK) == 0) {
                        *out = p;
                        return 0;
                }
                free(p);
        }
        return err_new(e, ENOENT, "runtime %s not found in PATH", name);
}

/*
 * The API socket's group, from /etc/group itself: getgrnam would load the
 * NSS modules of nsswitch.conf (libnss_systemd and its dependencies, ~0.3
 * MiB that stay mapped for the daemon's lifetime) for one lookup at start.
 * dockerd parses /etc/group for its socket's group too.  Main thread,
 * before the server starts: fgetgrent's static buffer is safe here.
 */
static int group_gid(const char *name, gid_t *gid)
{
        FILE *f = fopen("/etc/group", "re");
        if (!f)
                return -1;
        int r = -1;
        for (struct group *gr; (gr = fgetgrent(f));)
                if (!strcmp(gr->gr_name, name)) {
                        *gid = gr->gr_gid;
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

/* The API socket: unix:///path only (TCP with TLS is a later issue). */
static int listen_unix(const char *host, const char *group, int *out, struct err **e)
{
        if (!str_has_prefix(host, "unix://"))
                return err_new(e, EINVAL, "host %s: only unix:// sockets are supported", host);
        const char *path = host + strlen("unix://");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (!*path || strlen(path) >= sizeof(sa.sun_path))
                return err_new(e, EINVAL, "host %s: bad socket path", host);
        strcpy(sa.sun_path, path);
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir_p(dir, 0755, e) < 0)
                        return -1;
        }
        /* the engine lock is ours, so a socket file left here is stale */
        if (unlink(path) < 0 && errno != ENOENT)
                return err_sys(e, "remove stale socket %s", path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_sys(e, "socket");
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_sys(e, "bind %s", path);
        gid_t gid = 0;
        if (group_gid(group ? group : "barge", &gid) < 0 && group)
                log_warn("group %s not found; %s stays root-only", group, path);
        if (chown(path, 0, gid) < 0 || chmod(path, 0660) < 0)
                return err_sys(e, "set owner and mode of %s", path);
        if (listen(fd, 512) < 0)
                return err_sys(e, "listen on %s", path);
        *out = TAKE_FD(fd);
        return 0;
}

static void engine_opts_from(const struct daemon_config *c, struct engine_opts *o)
{
        o->root = c->root;
        o->exec_root = c->exec_root;
        o->runtime = c->runtime;
        o->reg.mirror = c->n_mirrors ? c->mirrors[0] : NULL;
        o->reg.insecure = (const char *const *)c->insecure;
        o->log_max_size = c->log_max_size;
        o->log_max_file = c->log_max_file;
        o->cgroup_parent = c->cgroup_parent;
}

static int set_log_level(const char *lvl, struct err **e)
{
        static const struct {
                const char *name;
                enum log_level lvl;
        } levels[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN},
                      {"error", LOG_ERROR}, {"fatal", LOG_ERROR}};
        for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
                if (!strcmp(lvl, levels[i].name)) {
                        log_set_level(levels[i].lvl);
                        return 0;
                }
        return err_new(e, EINVAL, "invalid log level %s", lvl);
}

enum {
        O_ROOT = 256,
        O_EXEC_ROOT,
        O_PIDFILE,
        O_RUNTIME,
        O_MIRROR,
        O_INSECURE,
        O_LOG_LEVEL,
        O_LOG_OPT,
        O_CONFIG,
        O_CGROUP_PARENT,
};

static int parse_flags(int argc, char **argv, struct daemon_config *c, const char **config,
                       struct err **e)
{
        static const struct option opts[] = {
            {"root", required_argument, NULL, O_ROOT},
            {"data-root", required_argument, NULL, O_ROOT},
            {"exec-root", required_argument, NULL, O_EXEC_ROOT},
            {"host", required_argument, NULL, 'H'},
            {"pidfile", required_argument, NULL, O_PIDFILE},
            {"runtime", required_argument, NULL, O_RUNTIME},
            {"group", required_argument, NULL, 'G'},
            {"registry-mirror", required_argument, NULL, O_MIRROR},
            {"insecure-registry", required_argument, NULL, O_INSECURE},
            {"log-level", required_argument, NULL, O_LOG_LEVEL},
            {"log-opt", required_argument, NULL, O_LOG_OPT},
            {"config-file", required_argument, NULL, O_CONFIG},
            {"cgroup-parent", required_argument, NULL, O_CGROUP_PARENT},
            {"debug", no_argument, NULL, 'D'},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        opterr = 0;
        optind = 0; /* SIGHUP parses the flags again */
        int opt;
        while ((opt = getopt_long(argc, argv, ":H:G:Dvh", opts, NULL)) != -1) {
                char **dst = NULL;
                unsigned bit = 0;
                switch (opt) {
                case O_ROOT: dst = &c->root, bit = CF_ROOT; break;
                case O_EXEC_ROOT: dst = &c->exec_root, bit = CF_EXEC_ROOT; break;
                case 'H': dst = &c->host, bit = CF_HOST; break;
                case O_PIDFILE: dst = &c->pidfile, bit = CF_PIDFILE; break;
                case O_RUNTIME: dst = &c->runtime, bit = CF_RUNTIME; break;
                case 'G': dst = &c->group, bit = CF_GROUP; break;
                case O_LOG_LEVEL: dst = &c->log_level, bit = CF_LOG_LEVEL; break;
                case O_CGROUP_PARENT: dst = &c->cgroup_parent, bit = CF_CGROUP_PARENT; break;
                case 'D':
                        free(c->log_level);
                        c->log_level = xstrdup("debug");
                        c->from_flags |= CF_LOG_LEVEL;
                        break;
                case O_MIRROR:
                        if (c->n_mirrors >= MAX_LIST)
                                return err_new(e, EINVAL, "too many --registry-mirror flags");
                        c->mirrors[c->n_mirrors++] = xstrdup(optarg);
                        c->from_flags |= CF_MIRRORS;
                        break;
                case O_INSECURE:
                        if (c->n_insecure >= MAX_LIST)
                                return err_new(e, EINVAL, "too many --insecure-registry flags");
                        c->insecure[c->n_insecure++] = xstrdup(optarg);
                        c->from_flags |= CF_INSECURE;
                        break;
                case O_LOG_OPT: {
                        const char *eq = strchr(optarg, '=');
                        if (!eq)
                                return err_new(e, EINVAL, "--log-opt %s: want KEY=VALUE", optarg);
                        if (str_has_prefix(optarg, "max-size=")) {
                                if (config_parse_size(eq + 1, &c->log_max_size, e) < 0)
                                        return err_wrap(e, "--log-opt max-size");
                        } else if (str_has_prefix(optarg, "max-file=")) {
                                long long n;
                                if (parse_int64(eq + 1, &n) < 0 || n < 1 || n > 1000)
                                        return err_new(e, EINVAL, "--log-opt: invalid max-file %s",
                                                       eq + 1);
                                c->log_max_file = (int)n;
                        } else {
                                return err_new(e, EINVAL, "--log-opt: unknown option %s", optarg);
                        }
                        c->from_flags |= CF_LOG_OPTS;
                        break;
                }
                case O_CONFIG: *config = optarg; break;
                case 'v':
                        printf("barged version %s, API %s\n", BARGE_VERSION, API_VERSION);
                        exit(0);
                case 'h':
                        usage();
                        exit(0);
                case ':':
                        return err_new(e, EINVAL, "flag %s needs a value", argv[optind - 1]);
                default:
                        return err_new(e, EINVAL, "unknown flag %s (see 'barged --help')",
                                       argv[optind - 1]);
                }
                if (dst) {
                        free(*dst);
                        *dst = xstrdup(optarg);
                        c->from_flags |= bit;
                }
        }
        if (optind < argc)
                return err_new(e, EINVAL, "unexpected argument %s (see 'barged --help')",
                               argv[optind]);
        return 0;
}

/* Settings from flags, then the file, then defaults. */
static int load_config(int argc, char **argv, struct daemon_config *c, const char **config,
                       struct err **e)
{
        *config = NULL;
        if (parse_flags(argc, argv, c, config, e) < 0)
                return -1;
        int required = *config != NULL;
        if (!*config)
                *config = DEFAULT_CONFIG;
        if (config_load_file(c, *config, required, e) < 0)
                return -1;
        if (!c->root)
                c->root = xstrdup(DEFAULT_ROOT);
        if (!c->exec_root)
                c->exec_root = xstrdup(DEFAULT_EXEC_ROOT);
        if (!c->host)
                c->host = xstrdup(DEFAULT_HOST);
        if (!c->pidfile)
                c->pidfile = xstrdup(DEFAULT_PIDFILE);
        if (!c->cgroup_parent)
                c->cgroup_parent = xstrdup("/barge");
        if (c->cgroup_parent[0] != '/')
                return err_new(e, EINVAL, "cgroup-parent %s: must be an absolute path",
                               c->cgroup_parent);
        if (!c->log_max_file)
                c->log_max_file = 1;
        if (c->log_level && set_log_level(c->log_level, e) < 0)
                return -1;
        char *rt = NULL;
        if (resolve_runtime(c->runtime, &rt, e) < 0)
                return -1;
        free(c->runtime);
        c->runtime = rt;
        return 0;
}

/* SIGHUP: re-read the file over the flags; apply what can change live. */
static void reload(struct engine *eng, int argc, char **argv)
{
        struct daemon_config c = {0};
        const char *config;
        _cleanup_err_ struct err *e = NULL;
        if (load_config(argc, argv, &c, &config, &e) < 0) {
                log_error("reload: %s (keeping the current configuration)", e->msg);
        } else {
                struct engine_opts o = {0};
                engine_opts_from(&c, &o);
                if (engine_reload(eng, &o, &e) < 0)
                        log_error("reload: %s", e->msg);
                else
                        log_info("reloaded %s", config);
        }
        config_free(&c);
}

/*
 * Memory for a daemon that is idle most of the time (target: idle RSS
 * under 8 MiB, see the Makefile's barged rule).
 *
 * malloc: glibc gives each thread that allocates its own arena (up to 8 per
 * CPU), and every API connection runs on its own thread: after a load and
 * a few runs the idle daemon held ~2 MiB of freed memory spread over 6
 * arenas.  Two arenas are plenty for barged's load.  Fixed thresholds turn
 * off glibc's dynamic ones, which after one large free (a layer buffer)
 * raise the mmap threshold to that size and the trim threshold to twice
 * it, so later large buffers stay on the heaps and are never given back.
 * (The HTTP server also calls malloc_trim when the last request ends.)
 *
 * OpenSSL: barged uses libcrypto for digests and base64 only, fetched from
 * the default provider.  The system-wide openssl.cnf and the legacy
 * name tables of every cipher and digest have no bearing on them, and
 * building them keeps ~0.6 MiB of code resident; so barged's libcrypto
 * (static, see the Makefile) skips both.  EVP_get_digestbyname and
 * EVP_get_cipherbyname therefore find nothing in barged: fetch by name
 * (EVP_MD_fetch) or use EVP_sha256 and the like.  The registry's libcurl
 * loads the shared libcrypto, which reads the config as usual.
 */
static void memory_setup(void)
{
        mallopt(M_ARENA_MAX, 2);
        mallopt(M_MMAP_THRESHOLD, 128 << 10);
        mallopt(M_TRIM_THRESHOLD, 128 << 10);
        OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                                OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                            NULL);
}

int main(int argc, char **argv)
{
        memory_setup();
        log_init("barged");
        cli_common_init("barged", 1);
        struct daemon_config c = {0};
        const char *config;
        _cleanup_err_ struct err *e = NULL;
        if (load_config(argc, argv, &c, &config, &e) < 0)
                return cli_fail(&e);
        if (getuid() != 0)
                log_warn("barged runs as uid %u: containers need root", getuid());

        /* block them before any thread exists, so only sigwait sees them */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* barge-runtime keeps compiled seccomp programs there (see
         * src/runtime/seccomp.h); shims and runtimes inherit it */
        _cleanup_free_ char *sccache = xasprintf("%s/seccomp-cache", c.exec_root);
        setenv("BARGE_SECCOMP_CACHE", sccache, 1);

        struct engine_opts o = {0};
        engine_opts_from(&c, &o);
        _cleanup_free_ char *shim = beside_self("barge-shim");
        _cleanup_free_ char *init = beside_self("barge-init");
        o.shim_path = shim;
        o.init_path = init;
        struct engine *eng = NULL;
        if (engine_open(&o, &eng, &e) < 0)
                return cli_fail(&e);

        int lfd = -1;
        struct http_server *srv = NULL;
        if (listen_unix(c.host, c.group, &lfd, &e) < 0 || api_serve(eng, lfd, &srv, &e) < 0) {
                engine_close(eng);
                return cli_fail(&e);
        }
        _cleanup_free_ char *pid = xasprintf("%d\n", getpid());
        _cleanup_free_ char *piddir = xstrdup(c.pidfile);
        if (strrchr(piddir, '/'))
                *strrchr(piddir, '/') = 0;
        if (mkdir_p(piddir, 0755, &e) < 0 ||
            write_file_atomic(c.pidfile, pid, strlen(pid), 0644, &e) < 0) {
                log_error("%s", e->msg);
                err_free(&e);
        }
        log_info("barged %s listening on %s (root %s, runtime %s)", BARGE_VERSION, c.host, c.root,
                 c.runtime);

        for (;;) {
                int sig = 0;
                if (sigwait(&sigs, &sig) != 0)
                        continue;
                if (sig == SIGHUP) {
                        reload(eng, argc, argv);
                        continue;
                }
                log_info("signal %d: shutting down (containers keep running)", sig);
                break;
        }
        http_server_stop(srv);
        engine_close(eng);
        unlink(c.host + strlen("unix://"));
        unlink(c.pidfile);
        config_free(&c);
        return 0;
}

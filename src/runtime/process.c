/*
 * process: the last steps of a container process before execve, in an order
 * that keeps each step possible: limits and seccomp-without-nnp while still
 * root, the capability bounding set before giving up CAP_SETPCAP, ids with
 * PR_SET_KEEPCAPS so the wanted capabilities survive setuid, then the
 * capability sets, no_new_privs, seccomp, and execve.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/util.h"
#include "seccomp.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char **env, const char *key)
{
        size_t l = strlen(key);
        for (char **p = env; p && *p; p++)
                if (!strncmp(*p, key, l) && (*p)[l] == '=')
                        return *p + l + 1;
        return NULL;
}

static int is_executable(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* runc's wording, with Go's lower-case error text: the docker CLI picks
 * its exit code (127 not found, 126 not executable) from these words. */
static int exec_error(struct err **e, int code, const char *name, const char *what)
{
        char reason[128];
        snprintf(reason, sizeof(reason), "%s", strerror(code));
        reason[0] = (char)tolower((unsigned char)reason[0]);
        err_new(e, 0, "exec: \"%s\": %s%s", name, what, reason);
        if (*e)
                (*e)->code = code;
        return -1;
}

int process_resolve(struct exec_plan *plan, struct err **e)
{
        const char *name = plan->proc->args[0];
        if (strchr(name, '/')) {
                struct stat st;
                if (stat(name, &st) < 0) {
                        int code = errno;
                        _cleanup_free_ char *what = xasprintf("stat %s: ", name);
                        return exec_error(e, code, name, what);
                }
                if (S_ISDIR(st.st_mode))
                        return err_new(e, EACCES, "exec: \"%s\": is a directory", name);
                if (!(st.st_mode & 0111))
                        return exec_error(e, EACCES, name, "");
                plan->path = xstrdup(name);
                return 0;
        }
        const char *path = env_get(plan->proc->env, "PATH");
        _cleanup_free_ char *dirs = xstrdup(path ? path : DEFAULT_PATH);
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *cand = xasprintf("%s/%s", *d ? d : ".", name);
                if (is_executable(cand)) {
                        plan->path = TAKE_PTR(cand);
                        return 0;
                }
        }
        return err_new(e, 0, "exec: \"%s\": executable file not found in $PATH", name);
}

int process_rlimits(const struct spec_process *p, struct err **e)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct spec_rlimit *r = &p->rlimits[i];
                struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
                if (setrlimit(r->resource, &rl) == 0)
                        continue;
                int saved = errno;
                struct rlimit cur;
                getrlimit(r->resource, &cur);
                errno = saved;
                if (saved == EPERM && r->hard > cur.rlim_max)
                        return err_new(e, EPERM,
                                       "process.rlimits: %s hard limit %llu is above the allowed "
                                       "maximum %llu",
                                       r->name, r->hard, (unsigned long long)cur.rlim_max);
                return err_sys(e, "process.rlimits: set %s to soft %llu, hard %llu", r->name,
                               r->soft, r->hard);
        }
        return 0;
}

static int last_cap(void)
{
        static int last = -1;
        if (last < 0) {
                char buf[16] = "";
                int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        ssize_t n = read(fd, buf, sizeof(buf) - 1);
                        close(fd);
                        if (n > 0)
                                last = atoi(buf);
                }
                if (last <= 0)
                        last = CAP_LAST_CAP;
        }
        return last;
}

static int drop_bounding(const struct spec_process *p, struct err **e)
{
        for (int c = 0; c <= last_cap(); c++) {
                if (p->caps[CAPSET_BOUNDING] & (1ULL << c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return err_sys(e, "drop capability %d from the bounding set", c);
        }
        return 0;
}

static int set_caps(const struct spec_process *p, struct err **e)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2];
        const uint64_t *c = p->caps;
        for (int i = 0; i < 2; i++) {
                d[i].effective = (uint32_t)(c[CAPSET_EFFECTIVE] >> (32 * i));
                d[i].permitted = (uint32_t)(c[CAPSET_PERMITTED] >> (32 * i));
                d[i].inheritable = (uint32_t)(c[CAPSET_INHERITABLE] >> (32 * i));
        }
        if (capset(&h, d) < 0)
                return err_sys(e, "set capabilities");
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        /* The kernel raises an ambient capability only if it is also permitted
         * and inheritable; like runc, skip those it refuses rather than fail a
         * config such as `runc spec`'s, which lists ambient but not inheritable. */
        for (int i = 0; i <= last_cap(); i++)
                if ((c[CAPSET_AMBIENT] & (1ULL << i)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 && errno != EPERM)
                        return err_sys(e, "raise ambient capability %d", i);
        return 0;
}

static int set_ids(const struct spec_process *p, struct err **e)
{
        if (setgroups(p->n_additional_gids, p->additional_gids) < 0 && errno != EPERM)
                return err_sys(e, "setgroups");
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                return err_sys(e, "process.user: setgid %u", (unsigned)p->gid);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                return err_sys(e, "process.user: setuid %u", (unsigned)p->uid);
        return 0;
}

static int prepare_fds(int preserve, struct err **e)
{
        for (int fd = 3; fd < 3 + preserve; fd++)
                if (fcntl(fd, F_SETFD, 0) < 0 && errno != EBADF)
                        return err_sys(e, "preserve fd %d", fd);
        if (syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return err_sys(e, "mark fds close-on-exec");
        return 0;
}

int process_exec(struct exec_plan *plan, struct err **e)
{
        const struct spec_process *p = plan->proc;
        if (process_rlimits(p, e) < 0)
                return -1;
        umask(p->has_umask ? p->umask : 022);
        if (chdir(p->cwd) < 0)
                return err_sys(e, "process.cwd: chdir %s", p->cwd);
        if (plan->seccomp && !p->no_new_privileges &&
            seccomp_install(plan->seccomp, plan->seccomp_flags, e) < 0)
                return -1;
        if (p->has_caps && drop_bounding(p, e) < 0)
                return -1;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return err_sys(e, "prctl keepcaps");
        if (set_ids(p, e) < 0)
                return -1;
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        if (p->has_caps && set_caps(p, e) < 0)
                return -1;
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_sys(e, "set no_new_privs");
        if (prepare_fds(plan->preserve_fds, e) < 0)
                return -1;
        if (plan->seccomp && p->no_new_privileges &&
            seccomp_install(plan->seccomp, plan->seccomp_flags, e) < 0)
                return -1;
        execve(plan->path, p->args, p->env);
        return err_sys(e, "exec %s", plan->path);
}

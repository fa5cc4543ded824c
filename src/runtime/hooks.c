/*
 * hooks: OCI lifecycle hooks.  Each hook gets the container's state JSON on
 * stdin; its stdout and stderr are captured and shown only when it fails, so
 * a failing hook still yields one error line.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"

static const char *const hook_names[HOOK_KIND_COUNT] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Collect the hook's output until EOF or the deadline; returns 0, or -1 on timeout. */
static int collect(int fd, char *buf, size_t cap, long long deadline)
{
        size_t n = 0;
        for (;;) {
                int wait_ms = deadline ? (int)(deadline - now_ms()) : -1;
                if (deadline && wait_ms <= 0)
                        return -1;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int r = poll(&p, 1, wait_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0)
                        return -1;
                char tmp[512];
                ssize_t k = read(fd, tmp, sizeof(tmp));
                if (k <= 0)
                        return 0;
                size_t take = (size_t)k < cap - 1 - n ? (size_t)k : cap - 1 - n;
                memcpy(buf + n, tmp, take);
                n += take;
                buf[n] = '\0';
        }
}

static int run_one(const struct spec_hook *h, const char *kind, const char *state, struct err **e)
{
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return err_sys(e, "%s hook: pipe", kind);
        if (pipe2(out, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return err_sys(e, "%s hook: pipe", kind);
        }
        pid_t pid = fork();
        if (pid < 0) {
                close(in[0]), close(in[1]), close(out[0]), close(out[1]);
                return err_sys(e, "%s hook: fork", kind);
        }
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                dup2(out[1], 2);
                char *const dflt[] = {h->path, NULL};
                char *const noenv[] = {NULL};
                execve(h->path, h->args ? h->args : dflt, h->env ? h->env : noenv);
                dprintf(2, "exec %s: %s", h->path, strerror(errno));
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        /* The state is small; a hook that does not read stdin must not block us. */
        signal(SIGPIPE, SIG_IGN);
        write_all(in[1], state, strlen(state));
        close(in[1]);
        char output[1024] = "";
        long long deadline = h->timeout ? now_ms() + h->timeout * 1000LL : 0;
        int timed_out = collect(out[0], output, sizeof(output), deadline) < 0;
        close(out[0]);
        if (timed_out)
                kill(pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (timed_out)
                return err_new(e, 0, "%s hook %s: timed out after %d s", kind, h->path, h->timeout);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        /* one line: fold the hook's output */
        for (char *p = output; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        size_t l = strlen(output);
        while (l && output[l - 1] == ' ')
                output[--l] = '\0';
        if (WIFSIGNALED(status))
                return err_new(e, 0, "%s hook %s: killed by signal %d%s%s", kind, h->path,
                               WTERMSIG(status), l ? ": " : "", output);
        return err_new(e, 0, "%s hook %s: exit status %d%s%s", kind, h->path, WEXITSTATUS(status),
                       l ? ": " : "", output);
}

int hooks_run(const struct spec *s, enum hook_kind kind, json_t *state, struct err **e)
{
        if (s->hooks.count[kind] == 0)
                return 0;
        _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
        for (size_t i = 0; i < s->hooks.count[kind]; i++)
                if (run_one(&s->hooks.list[kind][i], hook_names[kind], text, e) < 0)
                        return -1;
        return 0;
}

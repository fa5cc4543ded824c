/*
 * barge-init: the tiny PID 1 of `docker run --init` (Docker runs it as
 * `/sbin/docker-init -- cmd args`).  It runs the command as its child,
 * forwards the signals a user or the engine sends to the container
 * (SIGTERM, SIGINT, SIGHUP, ...) to it, reaps every zombie that is
 * reparented to it, and exits with the command's status (128+N when a
 * signal N killed it), as tini does.  Static, no library besides libc.
 */
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* One line to stderr with write(2): no stdio, which would be most of this
 * static binary and of its RSS in every container. */
static void say(const char *a, const char *b, int err)
{
        const char *parts[] = {"barge-init: ",           a,   b ? b : "", err ? ": " : "",
                               err ? strerror(err) : "", "\n"};
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                ssize_t n = write(2, parts[i], strlen(parts[i]));
                (void)n;
        }
}

/* Drop our read-only file pages (code, constants) from the page table
 * once the child runs: page faults map whole windows of the cached static
 * binary, most of which the wait loop never uses again.  Those segments
 * are never written (RELRO, which is, is skipped), so whatever the loop
 * touches comes back from the page cache.  As barge-shim does. */
static int shed_segment(struct dl_phdr_info *info, size_t size, void *data)
{
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t relro_lo = 0, relro_hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_GNU_RELRO) {
                        relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
                        relro_hi =
                            (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + pg - 1) & ~(pg - 1);
                }
        }
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
                        continue;
                uintptr_t a = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
                uintptr_t b = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz) & ~(pg - 1);
                if (b > a && !(a < relro_hi && b > relro_lo))
                        madvise((void *)a, b - a, MADV_DONTNEED);
        }
        return 1; /* the executable only */
}

int main(int argc, char **argv)
{
        int first = 1;
        if (argc > 1 && strcmp(argv[1], "--") == 0)
                first = 2;
        if (first >= argc) {
                say("usage: barge-init [--] COMMAND [ARG...]", NULL, 0);
                return 2;
        }
        /* every signal is waited for synchronously; the child gets the
         * default mask back */
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        /* not PID 1 (e.g. a test): still be the reaper of our descendants */
        if (getpid() != 1)
                prctl(PR_SET_CHILD_SUBREAPER, 1);

        pid_t child = fork();
        if (child < 0) {
                say("fork", NULL, errno);
                return 1;
        }
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                execvp(argv[first], argv + first);
                int err = errno;
                say("exec ", argv[first], err);
                _exit(err == ENOENT ? 127 : 126);
        }

        dl_iterate_phdr(shed_segment, NULL);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        /* everything but SIGCHLD is the command's, job
                         * control signals included */
                        if (kill(child, sig) < 0 && errno != ESRCH)
                                say("kill", NULL, errno);
                        continue;
                }
                int st;
                pid_t p;
                while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                        if (p != child)
                                continue;
                        /* reap what is already dead, then go with the command */
                        while (waitpid(-1, NULL, WNOHANG) > 0)
                                ;
                        if (WIFEXITED(st))
                                return WEXITSTATUS(st);
                        return 128 + WTERMSIG(st);
                }
        }
}

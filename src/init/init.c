/*
 * barge-init: the tiny PID 1 of `docker run --init` (Docker runs it as
 * `/sbin/docker-init -- cmd args`).  It runs the command as its child,
 * forwards the signals a user or the engine sends to the container
 * (SIGTERM, SIGINT, SIGHUP, ...) to it, reaps every zombie that is
 * reparented to it, and exits with the command's status (128+N when a
 * signal N killed it), as tini does.  Static, no library besides libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        int first = 1;
        if (argc > 1 && strcmp(argv[1], "--") == 0)
                first = 2;
        if (first >= argc) {
                fprintf(stderr, "usage: barge-init [--] COMMAND [ARG...]\n");
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
                perror("barge-init: fork");
                return 1;
        }
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                execvp(argv[first], argv + first);
                int err = errno;
                fprintf(stderr, "barge-init: exec %s: %s\n", argv[first], strerror(err));
                _exit(err == ENOENT ? 127 : 126);
        }

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        /* everything but SIGCHLD is the command's, job
                         * control signals included */
                        if (kill(child, sig) < 0 && errno != ESRCH)
                                perror("barge-init: kill");
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

/*
 * seccomp.c: profiles are compiled here and installed in forked children,
 * which report what their syscalls returned through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/runtime/seccomp.h"
#include "harness.h"

/* What a child saw: the return value and errno of each probe. */
struct probe {
        long ret;
        int err;
};

typedef void (*child_body)(struct probe *out);

static json_t *parse(const char *text)
{
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        if (j == NULL)
                printf("# bad test JSON: %s\n", je.text);
        return j;
}

static int compile_text(const char *text, struct sock_fprog **prog, unsigned int *flags,
                        struct err **e)
{
        json_t *j = parse(text);
        int r = seccomp_compile(j, prog, flags, e);
        json_decref(j);
        return r;
}

/* Fork, install `prog`, run `body`, send its probes back.  Returns the wait
 * status, or -1 if the child could not report. */
static int run_child(const struct sock_fprog *prog, unsigned int flags, child_body body,
                     struct probe *probes, size_t n)
{
        int p[2];
        if (pipe(p) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                struct probe out[8] = {{0, 0}};
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    seccomp_install(prog, flags, NULL) < 0)
                        _exit(99);
                body(out);
                write_all(p[1], out, n * sizeof(*out));
                _exit(0);
        }
        close(p[1]);
        ssize_t got = read_full(p[0], probes, n * sizeof(*probes));
        close(p[0]);
        int status = -1;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got != (ssize_t)(n * sizeof(*probes)))
                return -1;
        return status;
}

#define PROBE(slot, call)                                                                          \
        do {                                                                                       \
                errno = 0;                                                                         \
                (slot).ret = (long)(call);                                                         \
                (slot).err = errno;                                                                \
        } while (0)

static void test_null_profile(void)
{
        struct sock_fprog *prog = (void *)1;
        unsigned int flags = 7;
        _cleanup_err_ struct err *e = NULL;
        CHECK(seccomp_compile(NULL, &prog, &flags, &e) == 0);
        CHECK(prog == NULL && flags == 0);
        CHECK(seccomp_install(NULL, 0, &e) == 0);
}

static void body_errno(struct probe *o)
{
        PROBE(o[0], mkdir("/tmp/barge-seccomp-test-never", 0700));
        PROBE(o[1], syscall(SYS_getpid));
        PROBE(o[2], syscall(SYS_getppid));
}

static void test_errno_rules(void)
{
        const char *text = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                           "\"architectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                           "\"syscalls\":["
                           "{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"},"
                           "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42},"
                           "{\"names\":[\"no_such_syscall\",\"socketcall\"],"
                           "\"action\":\"SCMP_ACT_ERRNO\"}]}";
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        int r = compile_text(text, &prog, &flags, &e);
        if (e)
                printf("# %s\n", e->msg);
        CHECK(r == 0 && prog != NULL && prog->len > 0 && flags == 0);
        struct probe p[3];
        CHECK(run_child(prog, flags, body_errno, p, 3) == 0);
        CHECK(p[0].ret == -1 && p[0].err == EPERM);
        CHECK(p[1].ret == -1 && p[1].err == 42);
        CHECK(p[2].ret > 0);
        CHECK(access("/tmp/barge-seccomp-test-never", F_OK) < 0);
}

static void body_args(struct probe *o)
{
        PROBE(o[0], dup(0));
        PROBE(o[1], dup(2));
        PROBE(o[2], dup(1));
        PROBE(o[3], dup3(1, 50, O_CLOEXEC));
        PROBE(o[4], dup3(1, 51, 0));
        PROBE(o[5], dup3(2, 52, O_CLOEXEC));
}

static void test_args(void)
{
        /* dup: two conditions on arg 0 are ORed; dup3: arg 0 AND arg 2 (masked). */
        const char *text = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                           "{\"names\":[\"dup\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":25,"
                           "\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
                           "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
                           "{\"names\":[\"dup3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18,"
                           "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                           "{\"index\":2,\"value\":524288,\"valueTwo\":524288,"
                           "\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        CHECK(compile_text(text, &prog, &flags, &e) == 0);
        struct probe p[6];
        CHECK(run_child(prog, flags, body_args, p, 6) == 0);
        CHECK(p[0].ret == -1 && p[0].err == ENOTTY);
        CHECK(p[1].ret == -1 && p[1].err == ENOTTY);
        CHECK(p[2].ret >= 0);
        CHECK(p[3].ret == -1 && p[3].err == EXDEV);
        CHECK(p[4].ret == 51);
        CHECK(p[5].ret == 52);
}

static void test_all_ops_compile(void)
{
        static const char *const ops[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                          "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                          "SCMP_CMP_MASKED_EQ"};
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
                _cleanup_free_ char *text = xasprintf(
                    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                    "[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,"
                    "\"value\":8,\"valueTwo\":8,\"op\":\"%s\"}]}]}",
                    ops[i]);
                _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
                _cleanup_err_ struct err *e = NULL;
                unsigned int flags;
                CHECK(compile_text(text, &prog, &flags, &e) == 0 && prog != NULL);
        }
}

static void test_all_actions_compile(void)
{
        static const char *const acts[] = {
            "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG"};
        for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
                _cleanup_free_ char *text =
                    xasprintf("{\"defaultAction\":\"%s\",\"syscalls\":[{\"names\":[\"getpid\"],"
                              "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5}]}",
                              acts[i]);
                _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
                _cleanup_err_ struct err *e = NULL;
                unsigned int flags;
                CHECK(compile_text(text, &prog, &flags, &e) == 0 && prog != NULL);
        }
}

static void body_default(struct probe *o)
{
        PROBE(o[0], syscall(SYS_getppid));
        PROBE(o[1], syscall(SYS_getpid));
}

static void test_default_errno(void)
{
        const char *text = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":6,"
                           "\"syscalls\":[{\"names\":[\"write\",\"exit\",\"exit_group\","
                           "\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                           "{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_ERRNO\","
                           "\"errnoRet\":6}]}";
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        /* The getuid rule equals the default action and is dropped, not refused. */
        CHECK(compile_text(text, &prog, &flags, &e) == 0);
        struct probe p[2];
        CHECK(run_child(prog, flags, body_default, p, 2) == 0);
        CHECK(p[0].ret == -1 && p[0].err == ENXIO);
        CHECK(p[1].ret > 0);
}

static void body_kill(struct probe *o)
{
        PROBE(o[0], syscall(SYS_getppid));
}

static void test_kill_process(void)
{
        const char *text = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                           "[\"getppid\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
                           "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        CHECK(compile_text(text, &prog, &flags, &e) == 0);
        struct probe p[1];
        int status = run_child(prog, flags, body_kill, p, 1);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
}

static void test_flags(void)
{
        const char *text = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":["
                           "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
                           "\"SECCOMP_FILTER_FLAG_TSYNC\"],\"syscalls\":[{\"names\":[\"getpid\"],"
                           "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}";
        _cleanup_seccomp_prog_ struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        int r = compile_text(text, &prog, &flags, &e);
        if (e)
                printf("# %s\n", e->msg);
        CHECK(r == 0);
        CHECK(flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                        SECCOMP_FILTER_FLAG_TSYNC));
        struct probe p[2];
        CHECK(run_child(prog, flags, body_default, p, 2) == 0);
        CHECK(p[1].ret == -1 && p[1].err == 42);
}

/* A bad profile fails and the message names the offending value. */
static int refused(const char *text, const char *needle)
{
        struct sock_fprog *prog = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned int flags;
        int r = compile_text(text, &prog, &flags, &e);
        seccomp_prog_free(prog);
        if (r == 0 || e == NULL || prog != NULL) {
                printf("# accepted: %s\n", text);
                return 0;
        }
        if (strstr(e->msg, needle) == NULL) {
                printf("# message \"%s\" lacks \"%s\"\n", e->msg, needle);
                return 0;
        }
        return 1;
}

#define ALLOW_WITH(rule) "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[" rule "]}"

static void test_errors(void)
{
        CHECK(refused("{}", "defaultAction"));
        CHECK(refused("[]", "linux.seccomp"));
        CHECK(refused("{\"defaultAction\":\"SCMP_ACT_BOGUS\"}", "SCMP_ACT_BOGUS"));
        CHECK(refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
                      "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_VAX\"]}",
                      "SCMP_ARCH_VAX"));
        CHECK(refused(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
            "SECCOMP_FILTER_FLAG_NOPE"));
        CHECK(refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\"}",
                      "listenerPath"));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_NOTIFY\"}"),
                      "SCMP_ACT_NOTIFY is not supported"));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_FROB\"}"),
                      "syscalls[0].action: unknown seccomp action \"SCMP_ACT_FROB\""));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                 "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}"),
                      "syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_ABOUT\""));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                 "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"),
                      "args[0].index"));
        CHECK(refused(ALLOW_WITH("{\"names\":\"getpid\",\"action\":\"SCMP_ACT_ERRNO\"}"),
                      "syscalls[0].names"));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                 "\"errnoRet\":-1}"),
                      "errnoRet"));
        CHECK(refused(ALLOW_WITH("{\"names\":[\"getpid\",7],\"action\":\"SCMP_ACT_ERRNO\"}"),
                      "names[1]"));
}

static int has_string(json_t *arr, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) if (json_is_string(v) &&
                                          strcmp(json_string_value(v), s) == 0) return 1;
        return 0;
}

static void test_features(void)
{
        json_t *f = seccomp_features();
        CHECK(f != NULL);
        int ok = json_is_true(json_object_get(f, "enabled")) &&
                 has_string(json_object_get(f, "actions"), "SCMP_ACT_ERRNO") &&
                 !has_string(json_object_get(f, "actions"), "SCMP_ACT_NOTIFY") &&
                 has_string(json_object_get(f, "operators"), "SCMP_CMP_MASKED_EQ") &&
                 has_string(json_object_get(f, "archs"), "SCMP_ARCH_X86_64") &&
                 has_string(json_object_get(f, "knownFlags"), "SECCOMP_FILTER_FLAG_LOG") &&
                 has_string(json_object_get(f, "supportedFlags"), "SECCOMP_FILTER_FLAG_LOG");
        json_decref(f);
        CHECK(ok);
}


/* The compiled-program cache: the second compile of a profile comes from
 * the cache dir and is the same program; another profile does not hit the
 * first one's file; a damaged file is compiled again. */
static void test_cache(void)
{
        char dir[] = "/tmp/barge-seccomp-cache.XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        const char *t1 = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                         "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
        const char *t2 = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                         "{\"names\":[\"rmdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
        json_t *j1 = json_loads(t1, 0, NULL), *j2 = json_loads(t2, 0, NULL);
        struct sock_fprog *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        unsigned int fa = 0, fb = 0, fc = 0, fd = 0;
        _cleanup_err_ struct err *e = NULL;
        int ok = seccomp_compile_cached(j1, dir, &a, &fa, &e) == 0 &&
                 seccomp_compile_cached(j1, dir, &b, &fb, &e) == 0 &&
                 seccomp_compile_cached(j2, dir, &c, &fc, &e) == 0;
        _cleanup_free_ char *cmd = xasprintf("ls %s | wc -l", dir);
        FILE *f = popen(cmd, "r");
        int files = -1;
        if (f) {
                if (fscanf(f, "%d", &files) != 1)
                        files = -1;
                pclose(f);
        }
        /* damage every cached file: the next compile must not trust it */
        _cleanup_free_ char *dmg =
                xasprintf("for f in %s/*.bpf; do "
                          "printf 'xxxxxxxx' | dd of=$f bs=1 seek=$(($(stat -c %%s $f) - 8)) "
                          "conv=notrunc status=none; done",
                          dir);
        int rc = system(dmg);
        int ok2 = rc == 0 && seccomp_compile_cached(j1, dir, &d, &fd, &e) == 0;
        int same = ok && a && b && c && a->len == b->len &&
                   memcmp(a->filter, b->filter, a->len * sizeof(*a->filter)) == 0 &&
                   (c->len != a->len ||
                    memcmp(a->filter, c->filter, a->len * sizeof(*a->filter)) != 0);
        int same2 = ok2 && d && d->len == a->len &&
                    memcmp(a->filter, d->filter, a->len * sizeof(*a->filter)) == 0;
        seccomp_prog_free(a);
        seccomp_prog_free(b);
        seccomp_prog_free(c);
        seccomp_prog_free(d);
        json_decref(j1);
        json_decref(j2);
        _cleanup_free_ char *rm = xasprintf("rm -rf %s", dir);
        rc = system(rm);
        CHECK(ok);
        CHECK(files == 2);
        CHECK(same);
        CHECK(same2);
}

int main(void)
{
        RUN(test_null_profile);
        RUN(test_errno_rules);
        RUN(test_args);
        RUN(test_all_ops_compile);
        RUN(test_all_actions_compile);
        if (UNDER_ASAN) /* its default-deny filter blocks ASan's own exit path */
                SKIP(test_default_errno, "under AddressSanitizer");
        else
                RUN(test_default_errno);
        RUN(test_kill_process);
        RUN(test_flags);
        RUN(test_errors);
        RUN(test_cache);
        RUN(test_features);
        return DONE();
}

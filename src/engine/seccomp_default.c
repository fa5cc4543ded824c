/*
 * engine/seccomp_default: Docker's default seccomp profile as a table, and
 * the conversion of a profile in Docker's format (the default one, or the
 * text of `--security-opt seccomp=FILE`) into the OCI linux.seccomp object
 * barge-runtime and runc compile.
 *
 * Docker's format adds conditions the OCI format lacks: a rule may apply
 * only with (includes.caps) or without (excludes.caps) a capability, only on
 * some architectures, or only from some kernel on; the architectures come
 * from an archMap keyed by the native one.  Those are resolved here, at spec
 * time, for the container's bounding set and this host, as Docker does.
 *
 * Default action: EPERM, as Docker's profile says (defaultErrnoRet 1).  runc
 * additionally makes syscalls newer than any the profile names fail with
 * ENOSYS through a stub of its own; a blanket ENOSYS default here would
 * instead make every refused call (mount, reboot, ...) report "not
 * implemented", which programs take for a missing feature rather than a
 * denial.  clone3 alone gets ENOSYS (without CAP_SYS_ADMIN), so that libc
 * falls back to clone(2), whose flags the profile can inspect.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "../common/util.h"
#include "ocispec_internal.h"

/* One rule of the table.  Names are space separated; conditions are in
 * Docker's terms (Go architecture names: amd64, arm64, ...). */
struct sc_rule {
        const char *names;
        int errno_ret; /* 0: SCMP_ACT_ALLOW, else SCMP_ACT_ERRNO with it */
        int arg;       /* -1: no argument condition */
        unsigned long long value;
        const char *op;
        const char *cap_in;   /* only with this capability */
        const char *cap_out;  /* only without it */
        const char *arch_in;  /* only on these */
        const char *arch_out; /* not on these */
        const char *min_kernel;
};

#define ALLOW(n)                                                                                   \
        {                                                                                          \
                n, 0, -1, 0, NULL, NULL, NULL, NULL, NULL, NULL                                    \
        }
#define WITH_CAP(n, cap)                                                                           \
        {                                                                                          \
                n, 0, -1, 0, NULL, cap, NULL, NULL, NULL, NULL                                     \
        }
#define ON_ARCH(n, arches)                                                                         \
        {                                                                                          \
                n, 0, -1, 0, NULL, NULL, NULL, arches, NULL, NULL                                  \
        }
#define PERSONALITY(v)                                                                             \
        {                                                                                          \
                "personality", 0, 0, v, "SCMP_CMP_EQ", NULL, NULL, NULL, NULL, NULL                \
        }

/* Namespace flags of clone(2): CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define AF_VSOCK_NR 40

static const struct sc_rule rules[] = {
    ALLOW("accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod "
          "chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 "
          "clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close "
          "close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 "
          "epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd "
          "eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 "
          "fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat "
          "fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat "
          "fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue "
          "futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents "
          "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
          "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
          "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid "
          "getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr "
          "inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl "
          "io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set "
          "io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset "
          "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr "
          "llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise "
          "map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod "
          "mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open "
          "mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink "
          "mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at "
          "nanosleep newfstatat _newselect open openat openat2 pause pidfd_open "
          "pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll "
          "ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
          "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv "
          "recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename "
          "renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending "
          "rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait "
          "rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr "
          "sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler "
          "sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr "
          "sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop "
          "semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto "
          "setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 "
          "setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid "
          "setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt "
          "set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget "
          "shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair "
          "splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range "
          "syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun "
          "timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create "
          "timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill "
          "truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat "
          "utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev"),
    /* ptrace is safe from 4.8 on, when seccomp started rechecking after a tracer's change */
    {"process_vm_readv process_vm_writev ptrace", 0, -1, 0, NULL, NULL, NULL, NULL, NULL, "4.8"},
    /* every socket family but vsock, which reaches the host's hypervisor */
    {"socket", 0, 0, AF_VSOCK_NR, "SCMP_CMP_NE", NULL, NULL, NULL, NULL, NULL},
    /* personality: only PER_LINUX, PER_LINUX32, UNAME26, both, and the query */
    PERSONALITY(0x0),
    PERSONALITY(0x8),
    PERSONALITY(0x20000),
    PERSONALITY(0x20008),
    PERSONALITY(0xffffffffULL),
    ON_ARCH("sync_file_range2 swapcontext", "ppc64le"),
    ON_ARCH("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
            "arm arm64"),
    ON_ARCH("arch_prctl", "amd64 x32"),
    ON_ARCH("modify_ldt", "amd64 x32 x86"),
    ON_ARCH("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", "s390 s390x"),
    ON_ARCH("riscv_flush_icache", "riscv64"),
    WITH_CAP("open_by_handle_at", "CAP_DAC_READ_SEARCH"),
    WITH_CAP("bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
             "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd "
             "setdomainname sethostname setns syslog umount umount2 unshare",
             "CAP_SYS_ADMIN"),
    /* without CAP_SYS_ADMIN: clone only without namespace flags (s390 swaps the arguments) */
    {"clone", 0, 0, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ", NULL, "CAP_SYS_ADMIN", NULL, "s390 s390x",
     NULL},
    {"clone", 0, 1, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ", NULL, "CAP_SYS_ADMIN", "s390 s390x", NULL,
     NULL},
    {"clone3", ENOSYS, -1, 0, NULL, NULL, "CAP_SYS_ADMIN", NULL, NULL, NULL},
    WITH_CAP("reboot", "CAP_SYS_BOOT"),
    WITH_CAP("chroot", "CAP_SYS_CHROOT"),
    WITH_CAP("delete_module init_module finit_module", "CAP_SYS_MODULE"),
    WITH_CAP("acct", "CAP_SYS_PACCT"),
    WITH_CAP("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
             "CAP_SYS_PTRACE"),
    WITH_CAP("iopl ioperm", "CAP_SYS_RAWIO"),
    WITH_CAP("settimeofday stime clock_settime clock_settime64", "CAP_SYS_TIME"),
    WITH_CAP("vhangup", "CAP_SYS_TTY_CONFIG"),
    WITH_CAP("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", "CAP_SYS_NICE"),
    WITH_CAP("syslog", "CAP_SYSLOG"),
    WITH_CAP("bpf", "CAP_BPF"),
    WITH_CAP("perf_event_open", "CAP_PERFMON"),
};

/* Native architecture: Docker's (Go's) name and libseccomp's, plus the
 * architectures a process on it may also use (32-bit compat). */
struct arch_info {
        const char *machine; /* uname -m */
        const char *go;
        const char *scmp;
        const char *sub[3];
};

static const struct arch_info arches[] = {
    {"x86_64", "amd64", "SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL}},
    {"aarch64", "arm64", "SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM", NULL, NULL}},
    {"i686", "386", "SCMP_ARCH_X86", {NULL, NULL, NULL}},
    {"armv7l", "arm", "SCMP_ARCH_ARM", {NULL, NULL, NULL}},
    {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE", {NULL, NULL, NULL}},
    {"s390x", "s390x", "SCMP_ARCH_S390X", {"SCMP_ARCH_S390", NULL, NULL}},
    {"riscv64", "riscv64", "SCMP_ARCH_RISCV64", {NULL, NULL, NULL}},
};

static const struct arch_info *native_arch(void)
{
        struct utsname u;
        if (uname(&u) == 0)
                for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
                        if (strcmp(u.machine, arches[i].machine) == 0)
                                return &arches[i];
        return &arches[0];
}

/* "5.10" against the running kernel: 1 when it is at least that. */
static int kernel_at_least(const char *version)
{
        struct utsname u;
        int want_maj = 0, want_min = 0, maj = 0, min = 0;
        if (sscanf(version, "%d.%d", &want_maj, &want_min) < 1)
                return 1;
        if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &maj, &min) < 1)
                return 1;
        return maj > want_maj || (maj == want_maj && min >= want_min);
}

static int json_list_has(json_t *list, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) &&
                                           strcmp(json_string_value(v), s) == 0) return 1;
        return 0;
}

/* A space separated word list as a JSON array. */
static json_t *words(const char *s)
{
        json_t *a = json_array();
        while (s && *s) {
                const char *end = strchr(s, ' ');
                size_t n = end ? (size_t)(end - s) : strlen(s);
                if (n > 0)
                        json_array_append_new(a, json_stringn(s, n));
                s = end ? end + 1 : NULL;
        }
        return a;
}

/* The table in Docker's profile format, so both profiles go through one filter. */
static json_t *default_docker_profile(void)
{
        json_t *syscalls = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                const struct sc_rule *r = &rules[i];
                json_t *o = json_pack("{s:o, s:s}", "names", words(r->names), "action",
                                      r->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW");
                if (r->errno_ret)
                        json_object_set_new(o, "errnoRet", json_integer(r->errno_ret));
                if (r->arg >= 0)
                        json_object_set_new(o, "args",
                                            json_pack("[{s:i, s:I, s:s}]", "index", r->arg, "value",
                                                      (json_int_t)r->value, "op", r->op));
                json_t *inc = json_object(), *exc = json_object();
                if (r->cap_in)
                        json_object_set_new(inc, "caps", words(r->cap_in));
                if (r->arch_in)
                        json_object_set_new(inc, "arches", words(r->arch_in));
                if (r->min_kernel)
                        json_object_set_new(inc, "minKernel", json_string(r->min_kernel));
                if (r->cap_out)
                        json_object_set_new(exc, "caps", words(r->cap_out));
                if (r->arch_out)
                        json_object_set_new(exc, "arches", words(r->arch_out));
                json_object_set_new(o, "includes", inc);
                json_object_set_new(o, "excludes", exc);
                json_array_append_new(syscalls, o);
        }
        json_t *archmap = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(arches); i++) {
                json_t *sub = json_array();
                for (size_t k = 0; k < 3 && arches[i].sub[k]; k++)
                        json_array_append_new(sub, json_string(arches[i].sub[k]));
                json_array_append_new(archmap, json_pack("{s:s, s:o}", "architecture",
                                                         arches[i].scmp, "subArchitectures", sub));
        }
        return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO",
                         "defaultErrnoRet", EPERM, "archMap", archmap, "syscalls", syscalls);
}

/* Does entry `sc` (Docker format) apply to this container on this host? */
static int rule_applies(json_t *sc, json_t *caps, const struct arch_info *a)
{
        json_t *inc = json_object_get(sc, "includes"), *exc = json_object_get(sc, "excludes");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(inc, "caps"), i, v)
        {
                if (!json_is_string(v) || !json_list_has(caps, json_string_value(v)))
                        return 0;
        }
        json_t *arch_in = json_object_get(inc, "arches");
        if (json_array_size(arch_in) > 0 && !json_list_has(arch_in, a->go))
                return 0;
        const char *mk = json_string_value(json_object_get(inc, "minKernel"));
        if (mk && !kernel_at_least(mk))
                return 0;
        json_array_foreach(json_object_get(exc, "caps"), i, v)
        {
                if (json_is_string(v) && json_list_has(caps, json_string_value(v)))
                        return 0;
        }
        if (json_list_has(json_object_get(exc, "arches"), a->go))
                return 0;
        return 1;
}

static int convert_syscall(json_t *sc, size_t idx, json_t **out, struct err **e)
{
        json_t *names = json_object_get(sc, "names");
        const char *name = json_string_value(json_object_get(sc, "name"));
        if (names != NULL && !json_is_array(names))
                return err_new(e, EINVAL, "seccomp profile: syscalls[%zu].names: not an array",
                               idx);
        if (names == NULL && name == NULL)
                return err_new(e, EINVAL, "seccomp profile: syscalls[%zu]: no names", idx);
        if (names != NULL && name != NULL)
                return err_new(e, EINVAL,
                               "seccomp profile: syscalls[%zu]: use either 'name' or 'names'", idx);
        const char *action = json_string_value(json_object_get(sc, "action"));
        if (action == NULL)
                return err_new(e, EINVAL, "seccomp profile: syscalls[%zu].action: missing", idx);
        json_t *list = names ? json_incref(names) : json_pack("[s]", name);
        json_t *o = json_pack("{s:o, s:s}", "names", list, "action", action);
        json_t *v = json_object_get(sc, "errnoRet");
        if (v != NULL && !json_is_null(v))
                json_object_set(o, "errnoRet", v);
        v = json_object_get(sc, "args");
        if (json_array_size(v) > 0)
                json_object_set(o, "args", v);
        *out = o;
        return 0;
}

/* Docker profile (parsed) -> OCI linux.seccomp. */
static int docker_to_oci(json_t *p, json_t *caps, json_t **out, struct err **e)
{
        if (!json_is_object(p))
                return err_new(e, EINVAL, "seccomp profile: not a JSON object");
        const char *def = json_string_value(json_object_get(p, "defaultAction"));
        if (def == NULL)
                return err_new(e, EINVAL, "seccomp profile: defaultAction: missing");
        const struct arch_info *a = native_arch();
        json_t *oci = json_pack("{s:s}", "defaultAction", def);
        json_t *v = json_object_get(p, "defaultErrnoRet");
        if (v != NULL && !json_is_null(v))
                json_object_set(oci, "defaultErrnoRet", v);

        json_t *archs = json_array();
        json_t *given = json_object_get(p, "architectures");
        json_t *archmap = json_object_get(p, "archMap");
        if (json_array_size(given) > 0 && json_array_size(archmap) > 0) {
                json_decref(archs);
                json_decref(oci);
                return err_new(e, EINVAL,
                               "seccomp profile: use either 'architectures' or 'archMap'");
        }
        size_t i;
        json_array_foreach(given, i, v) json_array_append(archs, v);
        json_array_foreach(archmap, i, v)
        {
                const char *arch = json_string_value(json_object_get(v, "architecture"));
                if (arch == NULL || strcmp(arch, a->scmp) != 0)
                        continue;
                json_array_append_new(archs, json_string(arch));
                size_t k;
                json_t *s;
                json_array_foreach(json_object_get(v, "subArchitectures"), k, s)
                    json_array_append(archs, s);
        }
        json_object_set_new(oci, "architectures", archs);
        v = json_object_get(p, "flags");
        if (json_array_size(v) > 0)
                json_object_set(oci, "flags", v);

        json_t *syscalls = json_array();
        json_object_set_new(oci, "syscalls", syscalls);
        json_array_foreach(json_object_get(p, "syscalls"), i, v)
        {
                if (!rule_applies(v, caps, a))
                        continue;
                json_t *o = NULL;
                if (convert_syscall(v, i, &o, e) < 0) {
                        json_decref(oci);
                        return -1;
                }
                json_array_append_new(syscalls, o);
        }
        *out = oci;
        return 0;
}

json_t *seccomp_default_profile(json_t *caps)
{
        json_t *p = default_docker_profile();
        json_t *out = NULL;
        struct err *e = NULL;
        if (docker_to_oci(p, caps, &out, &e) < 0)
                abort(); /* the table is ours: a failure is a bug */
        json_decref(p);
        return out;
}

int seccomp_docker_to_oci(const char *text, json_t *caps, json_t **out, struct err **e)
{
        json_error_t je;
        json_t *p = json_loads(text, 0, &je);
        if (p == NULL)
                return err_new(e, EINVAL, "decoding seccomp profile failed: %s", je.text);
        int r = docker_to_oci(p, caps, out, e);
        json_decref(p);
        return r;
}

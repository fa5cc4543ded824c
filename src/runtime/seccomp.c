/*
 * seccomp: config.json's linux.seccomp -> libseccomp filter -> BPF bytes.
 * See seccomp.h for what is owned here.  Every error names the field of
 * config.json it is about ("linux.seccomp.syscalls[3].args[0].op: ...").
 */
#include "seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

#define WHERE "linux.seccomp"
#define ARG_INDEX_MAX 5      /* syscalls take at most six arguments */
#define ERRNO_RET_MAX 0xffff /* SECCOMP_RET_DATA is 16 bits */

/* All tables are in the order `features` lists them (alphabetical, like runc). */
struct action_name {
        const char *name;
        uint32_t value;
        int takes_errno; /* ERRNO and TRACE carry errnoRet, EPERM when absent */
};

static const struct action_name actions[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), 1},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, 0},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, 0},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, 0},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), 1},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0},
};

struct op_name {
        const char *name;
        enum scmp_compare op;
};

static const struct op_name ops[] = {
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {"SCMP_CMP_NE", SCMP_CMP_NE},
};

/* Candidates for `features`; only those this libseccomp resolves are listed. */
static const char *const arch_names[] = {
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",       "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",
};

struct flag_name {
        const char *name;
        unsigned int bit;
};

/* TSYNC is harmless for the single-threaded init; LOG and SPEC_ALLOW are
 * passed to seccomp(2).  WAIT_KILLABLE_RECV only means something with a
 * notify listener, which is not implemented, so it is not known here. */
static const struct flag_name flags[] = {
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
};

static void ctx_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx != NULL)
                seccomp_release(*ctx);
}
#define _cleanup_scmp_ __attribute__((cleanup(ctx_releasep)))

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 if unknown. */
static uint32_t arch_token(const char *name)
{
        if (!str_has_prefix(name, "SCMP_ARCH_") || strlen(name) > 40)
                return 0;
        char lower[48];
        size_t i = 0;
        for (const char *p = name + strlen("SCMP_ARCH_"); *p; p++)
                lower[i++] = (char)tolower((unsigned char)*p);
        lower[i] = '\0';
        return seccomp_arch_resolve_name(lower);
}

/* The kernel checks the flags before it reads the program, so an unknown flag
 * fails with EINVAL and a known one with EFAULT on the NULL program. */
static int kernel_has_flag(unsigned int bit)
{
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bit, NULL);
        return r < 0 && errno == EFAULT;
}

/* A non-negative integer no larger than `max`, from an optional field. */
static int get_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out, int *present,
                    const char *where, struct err **e)
{
        json_t *v = json_object_get(obj, key);
        *present = v != NULL && !json_is_null(v);
        if (!*present)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > max)
                return err_new(e, 0, "%s.%s: must be an integer from 0 to %llu", where, key,
                               (unsigned long long)max);
        *out = (uint64_t)json_integer_value(v);
        return 0;
}

/* Resolve an action name plus its optional errnoRet field in `obj`. */
static int parse_action(json_t *obj, const char *act_key, const char *errno_key, const char *where,
                        uint32_t *out, struct err **e)
{
        const char *name = json_string_value(json_object_get(obj, act_key));
        if (name == NULL)
                return err_new(e, 0, "%s.%s: missing or not a string", where, act_key);
        const struct action_name *a = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                if (strcmp(actions[i].name, name) == 0)
                        a = &actions[i];
        if (a == NULL)
                return err_new(e, 0, "%s.%s: unknown seccomp action \"%s\"", where, act_key, name);
        if (a->value == SCMP_ACT_NOTIFY)
                return err_new(e, EOPNOTSUPP, "%s.%s: SCMP_ACT_NOTIFY is not supported", where,
                               act_key);
        uint64_t ret = EPERM;
        int present;
        if (get_uint(obj, errno_key, ERRNO_RET_MAX, &ret, &present, where, e) < 0)
                return -1;
        *out = a->takes_errno ? a->value | (uint32_t)ret : a->value;
        return 0;
}

static int add_archs(scmp_filter_ctx ctx, json_t *archs, struct err **e)
{
        if (archs == NULL || json_is_null(archs))
                return 0;
        if (!json_is_array(archs))
                return err_new(e, 0, WHERE ".architectures: must be an array");
        size_t i;
        json_t *v;
        json_array_foreach(archs, i, v)
        {
                const char *name = json_string_value(v);
                uint32_t token = name ? arch_token(name) : 0;
                if (token == 0)
                        return err_new(e, 0, WHERE ".architectures[%zu]: unknown architecture %s",
                                       i, name ? name : "(not a string)");
                int r = seccomp_arch_add(ctx, token);
                if (r < 0 && r != -EEXIST)
                        return err_new(e, -r, WHERE ".architectures[%zu]: adding %s", i, name);
        }
        return 0;
}

static int parse_flag(const char *name, size_t i, unsigned int *bit, struct err **e)
{
        for (size_t k = 0; k < ARRAY_SIZE(flags); k++) {
                if (strcmp(flags[k].name, name) != 0)
                        continue;
                if (!kernel_has_flag(flags[k].bit))
                        return err_new(e, EOPNOTSUPP, WHERE ".flags[%zu]: %s", i, name);
                *bit = flags[k].bit;
                return 0;
        }
        return err_new(e, 0, WHERE ".flags[%zu]: unknown or unsupported seccomp flag %s", i, name);
}

static int parse_flags(json_t *list, unsigned int *out, struct err **e)
{
        *out = 0;
        if (list == NULL || json_is_null(list))
                return 0;
        if (!json_is_array(list))
                return err_new(e, 0, WHERE ".flags: must be an array");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                unsigned int bit = 0;
                if (!json_is_string(v))
                        return err_new(e, 0, WHERE ".flags[%zu]: not a string", i);
                if (parse_flag(json_string_value(v), i, &bit, e) < 0)
                        return -1;
                *out |= bit;
        }
        return 0;
}

static int parse_arg(json_t *arg, const char *where, struct scmp_arg_cmp *c, struct err **e)
{
        if (!json_is_object(arg))
                return err_new(e, 0, "%s: must be an object", where);
        uint64_t index, a = 0, b = 0;
        int present;
        if (get_uint(arg, "index", ARG_INDEX_MAX, &index, &present, where, e) < 0)
                return -1;
        if (!present)
                return err_new(e, 0, "%s.index: missing", where);
        if (get_uint(arg, "value", UINT64_MAX, &a, &present, where, e) < 0 ||
            get_uint(arg, "valueTwo", UINT64_MAX, &b, &present, where, e) < 0)
                return -1;
        const char *op = json_string_value(json_object_get(arg, "op"));
        if (op == NULL)
                return err_new(e, 0, "%s.op: missing or not a string", where);
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
                if (strcmp(ops[i].name, op) != 0)
                        continue;
                /* For MASKED_EQ libseccomp takes (mask, value): the spec's value, valueTwo. */
                *c = (struct scmp_arg_cmp){(unsigned int)index, ops[i].op, a, b};
                return 0;
        }
        return err_new(e, 0, "%s.op: unknown seccomp operator \"%s\"", where, op);
}

/* Parse args[] into `conds`; *split is set when an index repeats, in which
 * case each condition becomes a rule of its own (libseccomp cannot AND two
 * comparisons of one argument, and runc ORs them). */
static int parse_args(json_t *args, const char *where, struct scmp_arg_cmp *conds, size_t *n,
                      int *split, struct err **e)
{
        unsigned int seen = 0;
        size_t i;
        json_t *v;
        *n = 0;
        *split = 0;
        json_array_foreach(args, i, v)
        {
                _cleanup_free_ char *w = xasprintf("%s.args[%zu]", where, i);
                if (parse_arg(v, w, &conds[i], e) < 0)
                        return -1;
                if (seen & (1u << conds[i].arg))
                        *split = 1;
                seen |= 1u << conds[i].arg;
                *n = i + 1;
        }
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct scmp_arg_cmp *conds,
                    size_t n, int split)
{
        if (!split)
                return seccomp_rule_add_array(ctx, act, nr, (unsigned int)n, conds);
        for (size_t i = 0; i < n; i++) {
                int r = seccomp_rule_add_array(ctx, act, nr, 1, &conds[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_names(scmp_filter_ctx ctx, json_t *names, const char *where, uint32_t act,
                     const struct scmp_arg_cmp *conds, size_t n, int split, struct err **e)
{
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
                const char *name = json_string_value(v);
                if (name == NULL)
                        return err_new(e, 0, "%s.names[%zu]: not a string", where, i);
                int nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR) {
                        log_debug("seccomp: skipping unknown syscall %s", name);
                        continue;
                }
                int r = add_rule(ctx, act, nr, conds, n, split);
                if (r < 0)
                        return err_new(e, -r, "%s: adding a rule for syscall %s", where, name);
        }
        return 0;
}

static int add_syscall(scmp_filter_ctx ctx, json_t *entry, const char *where, uint32_t def_act,
                       struct err **e)
{
        if (!json_is_object(entry))
                return err_new(e, 0, "%s: must be an object", where);
        json_t *names = json_object_get(entry, "names");
        if (!json_is_array(names))
                return err_new(e, 0, "%s.names: missing or not an array", where);
        uint32_t act;
        if (parse_action(entry, "action", "errnoRet", where, &act, e) < 0)
                return -1;
        json_t *args = json_object_get(entry, "args");
        if (args != NULL && !json_is_null(args) && !json_is_array(args))
                return err_new(e, 0, "%s.args: must be an array", where);
        size_t n_args = json_is_array(args) ? json_array_size(args) : 0;
        _cleanup_free_ struct scmp_arg_cmp *conds = xcalloc(n_args, sizeof(*conds));
        size_t n = 0;
        int split = 0;
        if (n_args > 0 && parse_args(args, where, conds, &n, &split, e) < 0)
                return -1;
        /* Checked after parsing so a bad entry is refused even when redundant;
         * libseccomp itself refuses a rule equal to the default action. */
        if (act == def_act)
                return 0;
        return add_names(ctx, names, where, act, conds, n, split, e);
}

static int add_syscalls(scmp_filter_ctx ctx, json_t *list, uint32_t def_act, struct err **e)
{
        if (list == NULL || json_is_null(list))
                return 0;
        if (!json_is_array(list))
                return err_new(e, 0, WHERE ".syscalls: must be an array");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                _cleanup_free_ char *where = xasprintf(WHERE ".syscalls[%zu]", i);
                if (add_syscall(ctx, v, where, def_act, e) < 0)
                        return -1;
        }
        return 0;
}

/* One allocation: the sock_fprog header followed by its instructions. */
static int prog_from_bytes(const void *buf, size_t len, struct sock_fprog **out, struct err **e)
{
        size_t n = len / sizeof(struct sock_filter);
        if (len % sizeof(struct sock_filter) != 0 || n == 0)
                return err_new(e, 0, "seccomp: libseccomp exported %zu bytes, not a BPF program",
                               len);
        if (n > BPF_MAXINSNS)
                return err_new(e, E2BIG,
                               "seccomp: the filter has %zu instructions, more than the "
                               "kernel's limit of %d",
                               n, BPF_MAXINSNS);
        struct sock_fprog *p = xmalloc(sizeof(*p) + len);
        p->len = (unsigned short)n;
        p->filter = (struct sock_filter *)(p + 1);
        memcpy(p->filter, buf, len);
        *out = p;
        return 0;
}

#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog **out, struct err **e)
{
        size_t len = 0;
        int r = seccomp_export_bpf_mem(ctx, NULL, &len);
        if (r < 0)
                return err_new(e, -r, "seccomp: exporting the BPF program");
        _cleanup_free_ void *buf = xmalloc(len);
        r = seccomp_export_bpf_mem(ctx, buf, &len);
        if (r < 0)
                return err_new(e, -r, "seccomp: exporting the BPF program");
        return prog_from_bytes(buf, len, out, e);
}
#else
/* libseccomp < 2.6 can only write the program to an fd. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog **out, struct err **e)
{
        _cleanup_close_ int fd = memfd_create("barge-seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "seccomp: memfd_create");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return err_new(e, -r, "seccomp: exporting the BPF program");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return err_sys(e, "seccomp: lseek on the exported program");
        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (read_fd_all(fd, 1 << 20, &buf, &len, e) < 0)
                return err_wrap(e, "seccomp: reading the exported program");
        return prog_from_bytes(buf, len, out, e);
}
#endif

static int new_filter(json_t *sc, scmp_filter_ctx *out, uint32_t *def_act, struct err **e)
{
        if (parse_action(sc, "defaultAction", "defaultErrnoRet", WHERE, def_act, e) < 0)
                return -1;
        scmp_filter_ctx ctx = seccomp_init(*def_act);
        if (ctx == NULL)
                return err_new(e, EINVAL, WHERE ".defaultAction: libseccomp refused %s",
                               json_string_value(json_object_get(sc, "defaultAction")));
        *out = ctx;
        /* no_new_privs is the init's decision (process.noNewPrivileges). */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return err_new(e, -r, "seccomp: clearing SCMP_FLTATR_CTL_NNP");
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
        /* A binary tree of syscall numbers rather than one long chain of
         * compares: the kernel runs the filter once per syscall number when
         * it is installed (its per-syscall action cache), which for Docker's
         * default profile as a chain (~1700 instructions) costs ~4 ms of
         * every start.  Same decisions either way; an older libseccomp that
         * refuses the attribute keeps the chain. */
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
        return 0;
}

int seccomp_compile(json_t *sc, struct sock_fprog **out, unsigned int *filter_flags, struct err **e)
{
        *out = NULL;
        *filter_flags = 0;
        if (sc == NULL || json_is_null(sc))
                return 0;
        if (!json_is_object(sc))
                return err_new(e, 0, WHERE ": must be an object");
        const char *listener = json_string_value(json_object_get(sc, "listenerPath"));
        if (listener != NULL && *listener != '\0')
                return err_new(e, EOPNOTSUPP,
                               WHERE ".listenerPath: seccomp notify is not supported");
        _cleanup_scmp_ scmp_filter_ctx ctx = NULL;
        uint32_t def_act;
        unsigned int fl;
        if (new_filter(sc, &ctx, &def_act, e) < 0 ||
            add_archs(ctx, json_object_get(sc, "architectures"), e) < 0 ||
            parse_flags(json_object_get(sc, "flags"), &fl, e) < 0 ||
            add_syscalls(ctx, json_object_get(sc, "syscalls"), def_act, e) < 0 ||
            export_prog(ctx, out, e) < 0)
                return -1;
        *filter_flags = fl;
        return 0;
}

/* ---- the compiled-program cache ----
 * Compiling a large profile (Docker's default: ~370 syscalls for three
 * architectures) takes libseccomp about 25 ms, more than the rest of a
 * container start.  The program depends only on the profile, libseccomp's
 * version and the kernel, so it is kept in <cache_dir>/<hash>.bpf
 * after the exact text it was compiled from, which a later start compares
 * byte for byte (the hash only picks the file):
 *   u32 filter flags, u32 key length, u64 hash of the program, key, program.
 * The directory is barged's (root-only, see seccomp.h); a missing or
 * unreadable cache just means compiling. */
static uint64_t fnv1a(const char *s, size_t n)
{
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
        return h;
}

static int cache_load(const char *path, const char *key, size_t klen, struct sock_fprog **out,
                      unsigned int *fflags)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_err_ struct err *ign = NULL;
        if (read_file(path, 1 << 22, &buf, &len, &ign) < 0 || len < 16 + klen)
                return -1;
        uint32_t hdr[2];
        uint64_t sum;
        memcpy(hdr, buf, sizeof(hdr));
        memcpy(&sum, buf + 8, sizeof(sum));
        const char *prog = buf + 16 + klen;
        size_t plen = len - 16 - klen;
        if (hdr[1] != klen || memcmp(buf + 16, key, klen) != 0 || fnv1a(prog, plen) != sum)
                return -1;
        if (prog_from_bytes(prog, plen, out, &ign) < 0)
                return -1;
        *fflags = hdr[0];
        return 0;
}

static void cache_store(const char *dir, const char *path, const char *key, size_t klen,
                        const struct sock_fprog *p, unsigned int fflags)
{
        size_t plen = p->len * sizeof(struct sock_filter);
        _cleanup_free_ char *buf = xmalloc(16 + klen + plen);
        uint32_t hdr[2] = {fflags, (uint32_t)klen};
        uint64_t sum = fnv1a((const char *)p->filter, plen);
        memcpy(buf, hdr, sizeof(hdr));
        memcpy(buf + 8, &sum, sizeof(sum));
        memcpy(buf + 16, key, klen);
        memcpy(buf + 16 + klen, p->filter, plen);
        _cleanup_err_ struct err *e = NULL;
        if (mkdir_p(dir, 0700, &e) < 0 ||
            write_file_atomic(path, buf, 16 + klen + plen, 0600, &e) < 0)
                log_debug("seccomp cache: %s", e->msg);
}

int seccomp_compile_cached(json_t *sc, const char *cache_dir, struct sock_fprog **out,
                           unsigned int *filter_flags, struct err **e)
{
        if (sc == NULL || json_is_null(sc) || cache_dir == NULL || !json_is_object(sc))
                return seccomp_compile(sc, out, filter_flags, e);
        _cleanup_free_ char *text = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
        struct utsname u;
        if (text == NULL || uname(&u) < 0)
                return seccomp_compile(sc, out, filter_flags, e);
        /* "tree": the programs' shape (new_filter); older caches hold chains */
        _cleanup_free_ char *key =
            xasprintf("libseccomp %d.%d.%d tree %s %s\n%s", SCMP_VER_MAJOR, SCMP_VER_MINOR,
                      SCMP_VER_MICRO, u.release, u.machine, text);
        size_t klen = strlen(key);
        _cleanup_free_ char *dir = xstrdup(cache_dir);
        _cleanup_free_ char *path =
            xasprintf("%s/%016llx.bpf", dir, (unsigned long long)fnv1a(key, klen));
        if (cache_load(path, key, klen, out, filter_flags) == 0)
                return 0;
        if (seccomp_compile(sc, out, filter_flags, e) < 0)
                return -1;
        if (*out)
                cache_store(dir, path, key, klen, *out, *filter_flags);
        return 0;
}

int seccomp_install(const struct sock_fprog *prog, unsigned int filter_flags, struct err **e)
{
        if (prog == NULL)
                return 0;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, prog) == 0)
                return 0;
        if (errno == ENOSYS && filter_flags == 0) {
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) == 0)
                        return 0;
        }
        if (errno == EACCES)
                return err_sys(e, "loading the seccomp filter (needs no_new_privs or "
                                  "CAP_SYS_ADMIN)");
        return err_sys(e, "loading the seccomp filter");
}

void seccomp_prog_free(struct sock_fprog *p)
{
        free(p);
}

static json_t *features_flags(int only_supported)
{
        json_t *a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (!only_supported || kernel_has_flag(flags[i].bit))
                        json_array_append_new(a, json_string(flags[i].name));
        return a;
}

json_t *seccomp_features(void)
{
        json_t *acts = json_array(), *cmps = json_array(), *archs = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                if (actions[i].value != SCMP_ACT_NOTIFY) /* refused, see parse_action */
                        json_array_append_new(acts, json_string(actions[i].name));
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
                json_array_append_new(cmps, json_string(ops[i].name));
        for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
                if (arch_token(arch_names[i]) != 0)
                        json_array_append_new(archs, json_string(arch_names[i]));
        return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1, "actions", acts,
                         "operators", cmps, "archs", archs, "knownFlags", features_flags(0),
                         "supportedFlags", features_flags(1));
}

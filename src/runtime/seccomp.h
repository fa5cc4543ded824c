/*
 * seccomp: turns config.json's `linux.seccomp` object into a classic BPF
 * program with libseccomp.  Compiling runs in the runtime's parent before
 * fork, where allocating and reporting errors are easy; the container's init
 * only hands the finished program to the kernel with seccomp_install() right
 * before execve, so no libseccomp state crosses the fork and the filter
 * covers as little of the runtime's own work as possible.
 *
 * Semantics follow runc: names libseccomp does not know are skipped, a rule
 * whose action equals the default action is dropped, ERRNO and TRACE without
 * errnoRet return EPERM, args on distinct indexes are ANDed in one rule and
 * args repeating an index become one rule each (ORed).
 *
 * Not owned here: no_new_privs (init sets it from process.noNewPrivileges;
 * the compiled filter never sets it), and SCMP_ACT_NOTIFY, which is refused
 * (listenerPath is not implemented).
 */
#ifndef BARGE_SECCOMP_H
#define BARGE_SECCOMP_H

#include <jansson.h>
#include <linux/filter.h>

#include "../common/err.h"

/* Compile `seccomp` (may be NULL: then *out is NULL and 0 is returned).
 * *filter_flags receives the SECCOMP_FILTER_FLAG_* bits for seccomp(2).
 * Free *out with seccomp_prog_free(). */
int seccomp_compile(json_t *seccomp, struct sock_fprog **out, unsigned int *filter_flags,
                    struct err **e);

/* seccomp_compile through a cache of compiled programs in cache_dir
 * (NULL: no cache).  barged names its cache in the environment variable
 * SECCOMP_CACHE_ENV of the runtimes it starts (runc and crun ignore it);
 * callers that do not set it (containerd, podman) get no cache, so that
 * their state roots hold nothing but containers. */
#define SECCOMP_CACHE_ENV "BARGE_SECCOMP_CACHE"
int seccomp_compile_cached(json_t *seccomp, const char *cache_dir, struct sock_fprog **out,
                           unsigned int *filter_flags, struct err **e);

/* Load `prog` for the calling thread: seccomp(SECCOMP_SET_MODE_FILTER, flags, prog),
 * or prctl(PR_SET_SECCOMP) where seccomp(2) is missing and flags == 0.  Needs
 * no_new_privs or CAP_SYS_ADMIN.  Allocates only to report an error. */
int seccomp_install(const struct sock_fprog *prog, unsigned int filter_flags, struct err **e);

/* Frees a program from seccomp_compile (one allocation); NULL is fine. */
void seccomp_prog_free(struct sock_fprog *p);

static inline void seccomp_prog_freep(struct sock_fprog **p)
{
        seccomp_prog_free(*p);
}
#define _cleanup_seccomp_prog_ __attribute__((cleanup(seccomp_prog_freep)))

/* The "seccomp" object of `barge-runtime features`:
 * {"enabled","actions","operators","archs","knownFlags","supportedFlags"}. */
json_t *seccomp_features(void);

#endif

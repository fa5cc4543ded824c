/*
 * util: small helpers used everywhere: cleanup attributes for locals that own
 * memory or file descriptors, and file/string helpers that report through
 * the err convention.
 */
#ifndef BARGE_UTIL_H
#define BARGE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "err.h"

static inline void freep(void *p)
{
        free(*(void **)p);
}
static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Return *p and set it to NULL/-1: hands ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _t = (p);                                                            \
                (p) = NULL;                                                                        \
                _t;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _t = (fd);                                                                     \
                (fd) = -1;                                                                         \
                _t;                                                                                \
        })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file (at most `max` bytes) into a NUL-terminated buffer. */
int read_file(const char *path, size_t max, char **out, size_t *len, struct err **e);
/* Read a whole fd to EOF. */
int read_fd_all(int fd, size_t max, char **out, size_t *len, struct err **e);
/* Write `data` to `path` (O_WRONLY|O_TRUNC, no create unless mode != 0). */
int write_file(const char *path, const char *data, size_t len, mode_t mode, struct err **e);
/* Write atomically (readers see the old or the new file, never a part): a
 * temp file beside `path`, then rename.  Not durable: no fsync. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct err **e);
int mkdir_p(const char *path, mode_t mode, struct err **e);
/* Remove a directory tree (does not cross mount points). */
int rm_rf(const char *path, struct err **e);

/* write(2)/read(2) that retry on EINTR and short counts. */
int write_all(int fd, const void *buf, size_t len);
ssize_t read_full(int fd, void *buf, size_t len);

int str_has_prefix(const char *s, const char *prefix);
/* Parse a decimal integer that must fill the whole string. */
int parse_int64(const char *s, long long *out);
/* Docker's sizes (RAMInBytes): "512m", "1.5g", "100k", "2tb", "1024";
 * binary units k m g t p, an optional b.  0, or -1 if malformed. */
int parse_size(const char *s, int64_t *out);

#endif

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (p == NULL)
                abort();
        return p;
}

void *xcalloc(size_t n, size_t m)
{
        void *p = calloc(n ? n : 1, m ? m : 1);
        if (p == NULL)
                abort();
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s ? s : "");
        if (p == NULL)
                abort();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s ? s : "", n);
        if (p == NULL)
                abort();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        char *s;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                abort();
        return s;
}

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, p + got, len - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

int read_fd_all(int fd, size_t max, char **out, size_t *len, struct err **e)
{
        size_t cap = 4096, n = 0;
        char *buf = xmalloc(cap + 1);
        for (;;) {
                if (n == cap) {
                        if (cap >= max) {
                                free(buf);
                                return err_new(e, EFBIG, "input larger than %zu bytes", max);
                        }
                        cap *= 2;
                        char *nb = realloc(buf, cap + 1);
                        if (nb == NULL)
                                abort();
                        buf = nb;
                }
                ssize_t r = read(fd, buf + n, cap - n);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        free(buf);
                        return err_sys(e, "read");
                }
                if (r == 0)
                        break;
                n += (size_t)r;
        }
        buf[n] = '\0';
        *out = buf;
        if (len)
                *len = n;
        return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len, struct err **e)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "open %s", path);
        if (read_fd_all(fd, max, out, len, e) < 0)
                return err_wrap(e, "%s", path);
        return 0;
}

int write_file(const char *path, const char *data, size_t len, mode_t mode, struct err **e)
{
        int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | (mode ? O_CREAT : 0);
        _cleanup_close_ int fd = open(path, flags, mode);
        if (fd < 0)
                return err_sys(e, "open %s", path);
        if (write_all(fd, data, len) < 0)
                return err_sys(e, "write %s", path);
        return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct err **e)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp%d", path, (int)getpid());
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return err_sys(e, "create %s", tmp);
        if (write_all(fd, data, len) < 0) {
                err_sys(e, "write %s", tmp);
                unlink(tmp);
                return -1;
        }
        if (rename(tmp, path) < 0) {
                err_sys(e, "rename %s", path);
                unlink(tmp);
                return -1;
        }
        return 0;
}

int mkdir_p(const char *path, mode_t mode, struct err **e)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return err_sys(e, "mkdir %s", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return err_sys(e, "mkdir %s", p);
        return 0;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev, struct err **e)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_sys(e, "stat %s", name);
        if (!S_ISDIR(st.st_mode) || st.st_dev != dev) {
                if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 &&
                    errno != ENOENT)
                        return err_sys(e, "remove %s", name);
                return 0;
        }
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_sys(e, "open %s", name);
        DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return err_sys(e, "opendir %s", name);
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (rm_rf_at(dirfd(d), de->d_name, dev, e) < 0) {
                        r = -1;
                        break;
                }
        }
        closedir(d);
        if (r < 0)
                return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return err_sys(e, "rmdir %s", name);
        return 0;
}

int rm_rf(const char *path, struct err **e)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : err_sys(e, "stat %s", path);
        return rm_rf_at(AT_FDCWD, path, st.st_dev, e);
}

int str_has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int parse_int64(const char *s, long long *out)
{
        if (s == NULL || *s == '\0')
                return -1;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -1;
        *out = v;
        return 0;
}

int parse_size(const char *s, int64_t *out)
{
        if (s == NULL || *s == '\0')
                return -1;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || !(v >= 0))
                return -1;
        double mul = 1;
        const char *units = "kmgtp";
        const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
        if (u) {
                for (const char *q = units; q <= u; q++)
                        mul *= 1024;
                end++;
        }
        if (tolower((unsigned char)*end) == 'b')
                end++;
        if (*end || v * mul >= 9.2e18)
                return -1;
        *out = (int64_t)(v * mul);
        return 0;
}

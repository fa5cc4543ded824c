/*
 * shim/jsonlog: the container's log in Docker's json-file format, one JSON
 * object per line, {"log":"...","stream":"stdout","time":"RFC3339Nano"},
 * escaped as Docker escapes it (HTML-safe, invalid UTF-8 as U+FFFD), and
 * rotated as Docker rotates it: once the file has reached max-size, the
 * next entry goes to a fresh file after renaming log -> log.1 -> log.2 ...
 * keeping max-file files in all.  Written by hand, not with jansson: the
 * shim stays static and small, and an entry is one string to escape.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"

struct jsonlog {
        char *path;
        int fd;
        int64_t max_size;
        int max_file;
        int64_t size;
};

/* the worst case of one entry: every byte of a 16 KiB line as \u00XX */
static char entry[16384 * 6 + 128];



static int open_log(struct jsonlog *l, int trunc, struct err **e)
{
        int fd =
            open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0640);
        if (fd < 0)
                return err_sys(e, "open %s", l->path);
        struct stat st;
        l->size = fstat(fd, &st) == 0 ? st.st_size : 0;
        if (l->fd >= 0)
                close(l->fd);
        l->fd = fd;
        return 0;
}

int jsonlog_open(const char *path, int64_t max_size, int max_file, struct jsonlog **out,
                 struct err **e)
{
        struct jsonlog *l = xcalloc(1, sizeof(*l));
        l->path = xstrdup(path);
        l->fd = -1;
        l->max_size = max_size;
        l->max_file = max_file < 1 ? 1 : max_file;
        if (open_log(l, 0, e) < 0) {
                free(l->path);
                free(l);
                return -1;
        }
        *out = l;
        return 0;
}

static void rotate(struct jsonlog *l)
{
        _cleanup_err_ struct err *e = NULL;
        if (l->max_file > 1) {
                size_t cap = strlen(l->path) + 16;
                char from[cap], to[cap];
                for (int i = l->max_file - 1; i > 1; i--) {
                        snprintf(from, cap, "%s.%d", l->path, i - 1);
                        snprintf(to, cap, "%s.%d", l->path, i);
                        if (rename(from, to) < 0 && errno != ENOENT)
                                shim_logf("rotate %s: %m", from);
                }
                snprintf(to, cap, "%s.1", l->path);
                if (rename(l->path, to) < 0)
                        shim_logf("rotate %s: %m", l->path);
        }
        /* max-file 1: start the one file over */
        if (open_log(l, 1, &e) < 0)
                shim_logf("%s", e->msg);
}

/* Escape as Docker's json-file does (moby jsonlog): quotes, backslash,
 * \n \r \t, other controls as \u00XX, <>& as \u003c.. (HTML-safe),
 * U+2028/9 escaped, invalid UTF-8 replaced by U+FFFD. */
static size_t escape(char *o, const unsigned char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        size_t k = 0;
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                if (c < 0x80) {
                        if (c == '"' || c == '\\') {
                                o[k++] = '\\';
                                o[k++] = (char)c;
                        } else if (c == '\n') {
                                o[k++] = '\\';
                                o[k++] = 'n';
                        } else if (c == '\r') {
                                o[k++] = '\\';
                                o[k++] = 'r';
                        } else if (c == '\t') {
                                o[k++] = '\\';
                                o[k++] = 't';
                        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                                memcpy(o + k, "\\u00", 4);
                                o[k + 4] = hex[c >> 4];
                                o[k + 5] = hex[c & 15];
                                k += 6;
                        } else {
                                o[k++] = (char)c;
                        }
                        i++;
                        continue;
                }
                /* a multi-byte sequence: length from the lead byte, then
                 * continuation bytes, no overlongs or surrogates */
                size_t len = c >= 0xf0 && c <= 0xf4  ? 4
                             : c >= 0xe0             ? 3
                             : c >= 0xc2 && c < 0xe0 ? 2
                                                     : 0;
                if (c > 0xf4)
                        len = 0;
                uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
                int ok = len > 0 && i + len <= n;
                for (size_t j = 1; ok && j < len; j++) {
                        if ((s[i + j] & 0xc0) != 0x80)
                                ok = 0;
                        else
                                cp = cp << 6 | (s[i + j] & 0x3f);
                }
                if (ok &&
                    ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                     (cp >= 0xd800 && cp <= 0xdfff)))
                        ok = 0;
                if (!ok) {
                        memcpy(o + k, "\\ufffd", 6);
                        k += 6;
                        i++;
                } else if (cp == 0x2028 || cp == 0x2029) {
                        memcpy(o + k, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                        k += 6;
                        i += len;
                } else {
                        memcpy(o + k, s + i, len);
                        k += len;
                        i += len;
                }
        }
        return k;
}

void jsonlog_write(struct jsonlog *l, int stream, const char *line, size_t n, int64_t ns)
{
        if (n > 16384)
                n = 16384;
        if (l->max_size > 0 && l->size >= l->max_size)
                rotate(l);
        if (l->fd < 0)
                return;
        size_t k = 0;
        memcpy(entry, "{\"log\":\"", 8);
        k = 8;
        k += escape(entry + k, (const unsigned char *)line, n);
        char ts[48];
        time_format_go(ns, ts);
        k += (size_t)snprintf(entry + k, sizeof(entry) - k,
                              "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                              stream == 2 ? "stderr" : "stdout", ts);
        if (write_all(l->fd, entry, k) < 0) {
                shim_logf("write %s: %m", l->path);
                return;
        }
        l->size += (int64_t)k;
}

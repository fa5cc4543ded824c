/*
 * engine/logs: GET /containers/{id}/logs, reading the json-file log that
 * barge-shim writes (<dir>/<id>-json.log, one {"log","stream","time"}
 * object per line) and its rotated files (<log>.1 is the most recent
 * rotated file, <log>.N the oldest, as Docker's json-file driver names
 * them).  --tail reads files backwards from the end so a big log costs
 * only the lines asked for; --follow keeps reading the live file,
 * reopening it when the shim rotates it, until the container stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/timefmt.h"
#include "../common/util.h"
#include "io.h"

#define MAX_ROTATED 100




/* One log line -> out(); returns out's result (<0 stops), 0 for lines
 * filtered away or malformed (a torn last line after a crash). */
static int emit_line(const struct engine_logs_opts *o, const char *line, size_t len,
                     engine_out_fn out, void *ctx, int *past_until)
{
        json_error_t jerr;
        json_t *j = json_loadb(line, len, 0, &jerr);
        if (j == NULL)
                return 0;
        const char *msg = json_string_value(json_object_get(j, "log"));
        size_t mlen = json_string_length(json_object_get(j, "log"));
        const char *stream = json_string_value(json_object_get(j, "stream"));
        const char *ts = json_string_value(json_object_get(j, "time"));
        int sn = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;
        int64_t t = 0;
        int r = 0;
        if (msg == NULL || ts == NULL || time_parse(ts, &t) < 0)
                goto done;
        if (o->until > 0 && t > o->until) {
                *past_until = 1;
                goto done;
        }
        if ((o->since > 0 && t < o->since) || (sn == 1 && !o->out) || (sn == 2 && !o->err))
                goto done;
        if (o->timestamps) {
                char tb[40];
                time_format_nano(t, tb);
                size_t tl = strlen(tb);
                _cleanup_free_ char *b = xmalloc(tl + 1 + mlen);
                memcpy(b, tb, tl);
                b[tl] = ' ';
                memcpy(b + tl + 1, msg, mlen);
                r = out(ctx, sn, b, tl + 1 + mlen);
        } else {
                r = out(ctx, sn, msg, mlen);
        }
done:
        json_decref(j);
        return r;
}

/* Lines of a file from `off`; keeps an incomplete last line's start in
 * *off (follow reads the rest later).  Returns <0 when out() did. */
struct reader {
        const struct engine_logs_opts *o;
        engine_out_fn out;
        void *ctx;
        int past_until;
        char *pend; /* a line read without its newline yet */
        size_t pend_len;
};

static int read_from(struct reader *rd, int fd, off_t *off)
{
        char buf[65536];
        for (;;) {
                ssize_t n = pread(fd, buf, sizeof(buf), *off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                *off += n;
                size_t start = 0;
                for (size_t i = 0; i < (size_t)n; i++) {
                        if (buf[i] != '\n')
                                continue;
                        int r;
                        if (rd->pend_len > 0) {
                                size_t l = rd->pend_len + (i - start);
                                char *line = xmalloc(l);
                                memcpy(line, rd->pend, rd->pend_len);
                                memcpy(line + rd->pend_len, buf + start, i - start);
                                rd->pend_len = 0;
                                r = emit_line(rd->o, line, l, rd->out, rd->ctx, &rd->past_until);
                                free(line);
                        } else {
                                r = emit_line(rd->o, buf + start, i - start, rd->out, rd->ctx,
                                              &rd->past_until);
                        }
                        if (r < 0)
                                return r;
                        if (rd->past_until)
                                return 0;
                        start = i + 1;
                }
                if (start < (size_t)n) {
                        size_t add = (size_t)n - start;
                        char *np = realloc(rd->pend, rd->pend_len + add);
                        if (np == NULL)
                                abort();
                        rd->pend = np;
                        memcpy(rd->pend + rd->pend_len, buf + start, add);
                        rd->pend_len += add;
                }
        }
}

/* Offset in fd (size `size`) where its last `*want` lines start; *want is
 * reduced by the lines found. */
static off_t tail_offset(int fd, off_t size, long *want)
{
        char buf[65536];
        off_t pos = size;
        int first = 1;
        while (pos > 0 && *want > 0) {
                size_t n = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
                pos -= (off_t)n;
                if (pread(fd, buf, n, pos) != (ssize_t)n)
                        return 0;
                for (size_t i = n; i-- > 0;) {
                        if (buf[i] != '\n')
                                continue;
                        /* the file's final newline ends the last line, it
                         * does not start one */
                        if (first && pos + (off_t)i == size - 1) {
                                first = 0;
                                continue;
                        }
                        first = 0;
                        if (--*want == 0)
                                return pos + (off_t)i + 1;
                }
                first = 0;
        }
        if (pos == 0 && size > 0 && *want > 0)
                (*want)--; /* the first line of the file */
        return 0;
}

static int container_live(struct engine *eng, struct container *c)
{
        pthread_mutex_lock(&eng->lock);
        int live = !c->removed && (c->status == ST_RUNNING || c->status == ST_PAUSED ||
                                   c->status == ST_RESTARTING);
        pthread_mutex_unlock(&eng->lock);
        return live;
}

static int follow(struct engine *eng, struct container *c, const char *path, struct reader *rd,
                  int fd, off_t off, struct err **e)
{
        _cleanup_close_ int cur = fd;
        _cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0)
                return err_sys(e, "inotify_init1");
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash != NULL)
                *slash = '\0';
        /* the directory: the shim creating or renaming the log shows up here */
        inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO | IN_MODIFY);

        for (;;) {
                int live = container_live(eng, c);
                if (cur < 0) {
                        cur = open(path, O_RDONLY | O_CLOEXEC);
                        off = 0;
                }
                if (cur >= 0) {
                        int r = read_from(rd, cur, &off);
                        if (r < 0 || rd->past_until)
                                return 0;
                        /* rotated away under us: finish the old file, then
                         * go on with the new one */
                        struct stat a, b;
                        if (fstat(cur, &a) == 0 &&
                            (stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
                                r = read_from(rd, cur, &off);
                                if (r < 0)
                                        return 0;
                                close(cur);
                                cur = -1;
                                rd->pend_len = 0;
                                /* rotated twice since we looked: the file
                                 * after ours is <log>.1 by now */
                                _cleanup_free_ char *p1 = xasprintf("%s.1", path);
                                struct stat c1;
                                if (stat(p1, &c1) == 0 && c1.st_ino != a.st_ino) {
                                        _cleanup_close_ int fd1 = open(p1, O_RDONLY | O_CLOEXEC);
                                        off_t o1 = 0;
                                        if (fd1 >= 0 && read_from(rd, fd1, &o1) < 0)
                                                return 0;
                                        rd->pend_len = 0;
                                }
                                continue;
                        }
                }
                if (!live)
                        return 0;
                struct pollfd p = {ino, POLLIN, 0};
                if (poll(&p, 1, 250) > 0) {
                        char ev[4096];
                        while (read(ino, ev, sizeof(ev)) > 0)
                                ;
                }
        }
}

int logs_read(struct engine *eng, struct container *c, const struct engine_logs_opts *o,
              engine_out_fn out, void *ctx, struct err **e)
{
        pthread_mutex_lock(&eng->lock);
        _cleanup_free_ char *path = c->log_path ? xstrdup(c->log_path) : NULL;
        pthread_mutex_unlock(&eng->lock);
        if (path == NULL)
                return 0;

        /* files oldest first: <log>.N ... <log>.1, <log> */
        int fds[MAX_ROTATED + 1];
        off_t sizes[MAX_ROTATED + 1], offs[MAX_ROTATED + 1];
        int n = 0;
        for (int i = MAX_ROTATED; i >= 1; i--) {
                _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        fds[n++] = fd;
        }
        int live_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (live_fd >= 0)
                fds[n++] = live_fd;
        for (int i = 0; i < n; i++) {
                struct stat st;
                sizes[i] = fstat(fds[i], &st) == 0 ? st.st_size : 0;
                offs[i] = 0;
        }
        int first = 0;
        if (o->tail >= 0) {
                long want = o->tail;
                first = n;
                if (want == 0) {
                        for (int i = 0; i < n; i++)
                                offs[i] = sizes[i];
                } else {
                        while (first > 0 && want > 0) {
                                first--;
                                offs[first] = tail_offset(fds[first], sizes[first], &want);
                        }
                }
        }

        struct reader rd = {.o = o, .out = out, .ctx = ctx};
        int stopped = 0;
        for (int i = first; i < n && !stopped; i++) {
                /* the live file may grow while we read: older files are
                 * complete, the live one is read up to its size now and
                 * then followed */
                if (i < n - 1 || fds[i] != live_fd) {
                        if (read_from(&rd, fds[i], &offs[i]) < 0 || rd.past_until)
                                stopped = 1;
                        rd.pend_len = 0;
                } else if (!o->follow) {
                        if (read_from(&rd, fds[i], &offs[i]) < 0)
                                stopped = 1;
                }
        }
        int r = 0;
        if (o->follow && !stopped && !rd.past_until) {
                off_t off = live_fd >= 0 ? offs[n - 1] : 0;
                r = follow(eng, c, path, &rd, live_fd, off, e);
                if (live_fd >= 0)
                        n--; /* follow closed it */
        }
        for (int i = 0; i < n; i++)
                close(fds[i]);
        free(rd.pend);
        return r;
}

int engine_container_logs(struct engine *eng, const char *ref, const struct engine_logs_opts *o,
                          engine_out_fn out, void *ctx, struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        int r = logs_read(eng, c, o, out, ctx, e);
        container_put(eng, c);
        return r;
}

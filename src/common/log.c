#include "log.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging configuration: set once by main before any thread
 * exists, read-only afterwards. */
static const char *log_prog = "barge";
static int log_fd = -1;
static int log_json;
static int log_to_stderr = 1;
static enum log_level log_max = LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_init(const char *prog)
{
        log_prog = prog;
}

int log_open_file(const char *path, int json)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return -1;
        if (log_fd >= 0)
                close(log_fd);
        log_fd = fd;
        log_json = json;
        return 0;
}

void log_set_level(enum log_level lvl)
{
        log_max = lvl;
}

void log_set_stderr(int enabled)
{
        log_to_stderr = enabled;
}

static void timestamp(char *buf, size_t n)
{
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + k, n - k, ".%06ldZ", (long)tv.tv_usec);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
        if (lvl > log_max)
                return;
        char msg[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_to_stderr || log_fd < 0) {
                if (lvl == LOG_ERROR)
                        dprintf(STDERR_FILENO, "%s: %s\n", log_prog, msg);
                else
                        dprintf(STDERR_FILENO, "%s: %s: %s\n", log_prog, level_names[lvl], msg);
        }
        if (log_fd < 0)
                return;
        char ts[64];
        timestamp(ts, sizeof(ts));
        if (log_json) {
                json_t *o =
                    json_pack("{s:s,s:s,s:s}", "level", level_names[lvl], "msg", msg, "time", ts);
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                if (s)
                        dprintf(log_fd, "%s\n", s);
                free(s);
                json_decref(o);
        } else {
                dprintf(log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level_names[lvl], msg);
        }
}

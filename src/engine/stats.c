/*
 * engine/stats: GET /containers/{id}/stats (one sample) and
 * GET /containers/{id}/top.  Both ask the OCI runtime rather than reading
 * cgroup files themselves: `events --stats` already knows v1, v2 and the
 * hybrid layout (and works the same with runc), `ps --format json` gives
 * the container's pids.  This file converts runc's stats shape to
 * Docker's, and filters the host's `ps` output to the container's rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/timefmt.h"
#include "../common/util.h"
#include "io.h"

static json_int_t jint(json_t *o, const char *path)
{
        /* "a.b.c" */
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", path);
        json_t *cur = o;
        for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
             tok = strtok_r(NULL, ".", &save))
                cur = json_object_get(cur, tok);
        return json_integer_value(cur);
}

/* Host cpu time in ns from /proc/stat's first line, as Docker computes
 * system_cpu_usage. */
static json_int_t system_cpu_ns(void)
{
        FILE *f = fopen("/proc/stat", "re");
        if (f == NULL)
                return 0;
        char line[512];
        json_int_t total = 0;
        if (fgets(line, sizeof(line), f) && strncmp(line, "cpu ", 4) == 0) {
                char *p = line + 4, *end;
                for (int i = 0; i < 7; i++) {
                        long long v = strtoll(p, &end, 10);
                        if (end == p)
                                break;
                        total += v;
                        p = end;
                }
        }
        fclose(f);
        long hz = sysconf(_SC_CLK_TCK);
        return hz > 0 ? total * (1000000000 / hz) : 0;
}

static json_int_t host_memory(void)
{
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        return pages > 0 && psize > 0 ? (json_int_t)pages * psize : 0;
}

/* a container that is not running: Docker leaves out the host's fields */
static json_t *zero_cpu(void)
{
        return json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "cpu_usage", "total_usage",
                         (json_int_t)0, "usage_in_kernelmode", (json_int_t)0, "usage_in_usermode",
                         (json_int_t)0, "throttling_data", "periods", (json_int_t)0,
                         "throttled_periods", (json_int_t)0, "throttled_time", (json_int_t)0);
}

static json_t *blkio_list(json_t *arr)
{
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
                const char *op = json_string_value(json_object_get(v, "op"));
                json_array_append_new(out,
                                      json_pack("{s:I, s:I, s:s, s:I}", "major", jint(v, "major"),
                                                "minor", jint(v, "minor"), "op", op ? op : "",
                                                "value", jint(v, "value")));
        }
        return out;
}

static json_t *convert(json_t *d, json_t *prev)
{
        json_t *cpu = json_pack("{s:{s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I, s:I}}", "cpu_usage",
                                "total_usage", jint(d, "cpu.usage.total"), "usage_in_kernelmode",
                                jint(d, "cpu.usage.kernel"), "usage_in_usermode",
                                jint(d, "cpu.usage.user"), "system_cpu_usage", system_cpu_ns(),
                                "online_cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
                                "throttling_data", "periods", jint(d, "cpu.throttling.periods"),
                                "throttled_periods", jint(d, "cpu.throttling.throttledPeriods"),
                                "throttled_time", jint(d, "cpu.throttling.throttledTime"));
        json_t *percpu =
            json_object_get(json_object_get(json_object_get(d, "cpu"), "usage"), "percpu");
        if (json_array_size(percpu) > 0)
                json_object_set(json_object_get(cpu, "cpu_usage"), "percpu_usage", percpu);

        json_int_t limit = jint(d, "memory.usage.limit"), host = host_memory();
        /* no limit: the host's memory, as Docker reports it */
        if (limit <= 0 || (host > 0 && limit > host))
                limit = host;
        json_t *raw = json_object_get(json_object_get(d, "memory"), "raw");
        json_t *mem = json_pack("{s:I, s:I, s:O}", "usage", jint(d, "memory.usage.usage"), "limit",
                                limit, "stats", raw ? raw : json_object());
        if (raw == NULL)
                json_decref(json_object_get(mem, "stats"));
        if (jint(d, "memory.usage.max") > 0)
                json_object_set_new(mem, "max_usage", json_integer(jint(d, "memory.usage.max")));
        if (jint(d, "memory.usage.failcnt") > 0) /* omitempty in Docker's types */
                json_object_set_new(mem, "failcnt", json_integer(jint(d, "memory.usage.failcnt")));

        json_t *blk = json_object_get(d, "blkio");
        json_t *blkio = json_pack(
            "{s:o, s:o, s:[], s:[], s:[], s:[], s:[], s:[]}", "io_service_bytes_recursive",
            blkio_list(json_object_get(blk, "ioServiceBytesRecursive")), "io_serviced_recursive",
            blkio_list(json_object_get(blk, "ioServicedRecursive")), "io_queue_recursive",
            "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
            "io_time_recursive", "sectors_recursive");

        json_t *pids = json_pack("{s:I}", "current", jint(d, "pids.current"));
        if (jint(d, "pids.limit") > 0)
                json_object_set_new(pids, "limit", json_integer(jint(d, "pids.limit")));

        json_t *pre = json_object_get(prev, "cpu_stats");
        json_t *out = json_pack("{s:o, s:o, s:O, s:o, s:o, s:i}", "pids_stats", pids, "cpu_stats",
                                cpu, "precpu_stats", pre ? pre : json_null(), "memory_stats", mem,
                                "blkio_stats", blkio, "num_procs", 0);
        if (pre == NULL) {
                json_decref(json_object_get(out, "precpu_stats"));
                json_object_set_new(out, "precpu_stats", zero_cpu());
        }
        return out;
}

int engine_container_stats(struct engine *eng, const char *ref, json_t *prev, json_t **out,
                           struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int running = c->status == ST_RUNNING || c->status == ST_PAUSED;
        _cleanup_free_ char *name = xstrdup(c->name ? c->name : "");
        char id[65];
        memcpy(id, c->id, sizeof(id));
        pthread_mutex_unlock(&eng->lock);
        container_put(eng, c);

        json_t *s = NULL;
        char now[40];
        if (running) {
                _cleanup_free_ char *text = NULL;
                _cleanup_err_ struct err *rerr = NULL;
                json_t *ev = NULL;
                if (engine_runtime(eng, &text, &rerr, "events", "--stats", id, NULL) == 0)
                        ev = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
                if (ev != NULL && json_is_object(json_object_get(ev, "data")))
                        s = convert(json_object_get(ev, "data"), prev);
                json_decref(ev);
                struct timespec t;
                clock_gettime(CLOCK_REALTIME, &t);
                time_format_nano((int64_t)t.tv_sec * 1000000000 + t.tv_nsec, now);
        }
        if (s == NULL) {
                /* not running (or gone meanwhile): Docker's zero sample */
                s = json_pack("{s:{}, s:o, s:o, s:{}, s:{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}, "
                              "s:i}",
                              "pids_stats", "cpu_stats", zero_cpu(), "precpu_stats", zero_cpu(),
                              "memory_stats", "blkio_stats", "io_service_bytes_recursive",
                              "io_serviced_recursive", "io_queue_recursive",
                              "io_service_time_recursive", "io_wait_time_recursive",
                              "io_merged_recursive", "io_time_recursive", "sectors_recursive",
                              "num_procs", 0);
                snprintf(now, sizeof(now), "0001-01-01T00:00:00Z");
        }
        const char *pre = json_string_value(json_object_get(prev, "read"));
        json_object_set_new(s, "read", json_string(now));
        json_object_set_new(s, "preread", json_string(pre ? pre : "0001-01-01T00:00:00Z"));
        json_object_set_new(s, "storage_stats", json_object());
        json_object_set_new(s, "name", json_string(name));
        json_object_set_new(s, "id", json_string(id));
        *out = s;
        return 0;
}

/* ---- top ---- */

/* Run argv, stdout into *out. */
static int run_capture(char *const argv[], char **out, struct err **e)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_sys(e, "pipe");
        int pe[2];
        if (pipe2(pe, O_CLOEXEC) < 0) {
                close(p[0]);
                close(p[1]);
                return err_sys(e, "pipe");
        }
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                close(pe[0]);
                close(pe[1]);
                return err_sys(e, "fork");
        }
        if (pid == 0) {
                dup2(p[1], 1);
                dup2(pe[1], 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        close(pe[1]);
        size_t len;
        int r = read_fd_all(p[0], 16 << 20, out, &len, e);
        _cleanup_free_ char *errtext = NULL;
        size_t elen;
        _cleanup_err_ struct err *rerr = NULL;
        read_fd_all(pe[0], 65536, &errtext, &elen, &rerr);
        close(p[0]);
        close(pe[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return -1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                free(*out);
                *out = NULL;
                return err_new(e, EINVAL, "Error running ps: %s",
                               errtext && *errtext ? errtext : "failed");
        }
        return 0;
}

static int pid_in(json_t *pids, long pid)
{
        size_t i;
        json_t *v;
        json_array_foreach(pids, i, v) if (json_integer_value(v) == pid) return 1;
        return 0;
}

int engine_container_top(struct engine *eng, const char *ref, const char *ps_args, json_t **out,
                         struct err **e)
{
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;
        pthread_mutex_lock(&eng->lock);
        int running = c->status == ST_RUNNING || c->status == ST_PAUSED;
        char id[65];
        memcpy(id, c->id, sizeof(id));
        pthread_mutex_unlock(&eng->lock);
        container_put(eng, c);
        if (!running)
                return err_new(e, EBUSY, "Container %s is not running", id);

        _cleanup_free_ char *ptext = NULL;
        if (engine_runtime(eng, &ptext, e, "ps", "--format", "json", id, NULL) < 0)
                return -1;
        json_t *pids = json_loads(ptext ? ptext : "[]", JSON_DISABLE_EOF_CHECK, NULL);
        if (!json_is_array(pids)) {
                json_decref(pids);
                return err_new(e, EIO, "runtime ps: unexpected output");
        }

        /* ps's options split at spaces, as Docker does (no shell) */
        _cleanup_free_ char *args = xstrdup(ps_args && *ps_args ? ps_args : "-ef");
        char *argv[64];
        int n = 0;
        argv[n++] = "ps";
        for (char *save = NULL, *t = strtok_r(args, " ", &save); t && n < 63;
             t = strtok_r(NULL, " ", &save))
                argv[n++] = t;
        argv[n] = NULL;
        _cleanup_free_ char *text = NULL;
        if (run_capture(argv, &text, e) < 0) {
                json_decref(pids);
                return -1;
        }

        json_t *titles = json_array(), *procs = json_array();
        char *save = NULL;
        char *line = strtok_r(text, "\n", &save);
        long pid_col = -1;
        if (line != NULL) {
                char *s2 = NULL;
                for (char *t = strtok_r(line, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2)) {
                        if (strcmp(t, "PID") == 0)
                                pid_col = (long)json_array_size(titles);
                        json_array_append_new(titles, json_string(t));
                }
        }
        if (pid_col < 0) {
                json_decref(titles);
                json_decref(procs);
                json_decref(pids);
                return err_new(e, EINVAL, "Couldn't find PID field in ps output");
        }
        size_t nt = json_array_size(titles);
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
                /* fields; the last column takes the rest of the line */
                json_t *row = json_array();
                char *p = line;
                for (size_t k = 0; k < nt; k++) {
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (*p == '\0')
                                break;
                        if (k == nt - 1) {
                                json_array_append_new(row, json_string(p));
                                break;
                        }
                        char *end = p + strcspn(p, " \t");
                        json_array_append_new(row, json_stringn(p, (size_t)(end - p)));
                        p = end;
                }
                long long pid;
                const char *ps = json_string_value(json_array_get(row, (size_t)pid_col));
                if (json_array_size(row) == nt && ps && parse_int64(ps, &pid) == 0 &&
                    pid_in(pids, (long)pid))
                        json_array_append_new(procs, row);
                else
                        json_decref(row);
        }
        json_decref(pids);
        *out = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
        return 0;
}

/*
 * engine/health: HEALTHCHECK.  One thread per running container with a
 * healthcheck runs the probe as an exec (exec_run_collect) every Interval,
 * keeps State.Health {Status, FailingStreak, Log (last 5 results)} in
 * c->health_json, persists it and emits "health_status: X" events when the
 * status changes, as Docker does.  health_stop only flags the thread (it
 * is called with eng->lock held and must not wait); the thread notices
 * within a fraction of a second, and frees its state and its container
 * reference itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../common/util.h"
#include "io.h"

#define DEFAULT_NS 30000000000LL
#define MAX_OUTPUT 4096
#define MAX_LOG 5

struct health {
        struct engine *eng;
        struct container *c;
        int stop;
        json_t *exec_config; /* the probe as an ExecConfig */
        int64_t interval, timeout, start_period;
        int retries;
};

static int64_t now_wall(void)
{
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t dur(json_t *hc, const char *k, int64_t def)
{
        json_int_t v = json_integer_value(json_object_get(hc, k));
        return v > 0 ? (int64_t)v : def;
}

/* eng->cond waits on CLOCK_MONOTONIC (see engine.c) */
static int64_t now_mono(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Sleep until `until` (monotonic ns) or a stop; eng->lock held. */
static void wait_until(struct health *h, int64_t until)
{
        while (!h->stop && !h->eng->closing) {
                int64_t n = now_mono();
                if (n >= until)
                        return;
                struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
                pthread_cond_timedwait(&h->eng->cond, &h->eng->lock, &ts);
        }
}

static void record(struct health *h, int64_t start, int64_t end, int code, const char *output,
                   int in_start_period)
{
        struct engine *eng = h->eng;
        struct container *c = h->c;
        if (c->health_json == NULL)
                c->health_json =
                    json_pack("{s:s, s:i, s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
        json_t *hj = c->health_json;
        const char *old = json_string_value(json_object_get(hj, "Status"));
        _cleanup_free_ char *old_status = xstrdup(old ? old : "starting");
        json_int_t streak = json_integer_value(json_object_get(hj, "FailingStreak"));
        const char *status = old_status;
        if (code == 0) {
                streak = 0;
                status = "healthy";
        } else if (!in_start_period || strcmp(old_status, "healthy") == 0) {
                streak++;
                if (streak >= h->retries)
                        status = "unhealthy";
        }
        char sb[48], eb[48];
        time_format_go(start, sb);
        time_format_go(end, eb);
        json_t *logv = json_object_get(hj, "Log");
        if (!json_is_array(logv)) {
                logv = json_array();
                json_object_set_new(hj, "Log", logv);
        }
        json_array_append_new(logv, json_pack("{s:s, s:s, s:i, s:s}", "Start", sb, "End", eb,
                                              "ExitCode", code, "Output", output));
        while (json_array_size(logv) > MAX_LOG)
                json_array_remove(logv, 0);
        json_object_set_new(hj, "FailingStreak", json_integer(streak));
        json_object_set_new(hj, "Status", json_string(status));
        _cleanup_err_ struct err *err = NULL;
        if (!c->removed && container_save(eng, c, &err) < 0)
                log_warn("health %.12s: %s", c->id, err->msg);
        if (strcmp(status, old_status) != 0) {
                _cleanup_free_ char *action = xasprintf("health_status: %s", status);
                char id[65];
                memcpy(id, c->id, sizeof(id));
                /* events take their own lock; do not hold eng->lock there */
                pthread_mutex_unlock(&eng->lock);
                engine_event(eng, "container", action, id, NULL);
                pthread_mutex_lock(&eng->lock);
        }
}

static void *health_main(void *arg)
{
        struct health *h = arg;
        struct engine *eng = h->eng;
        int64_t started = now_wall();
        pthread_mutex_lock(&eng->lock);
        for (;;) {
                wait_until(h, now_mono() + h->interval);
                if (h->stop || eng->closing)
                        break;
                pthread_mutex_unlock(&eng->lock);

                int64_t t0 = now_wall();
                int code = -1;
                _cleanup_free_ char *output = NULL;
                _cleanup_err_ struct err *err = NULL;
                int r = exec_run_collect(eng, h->c, h->exec_config, h->timeout, MAX_OUTPUT,
                                         &h->stop, &code, &output, &err);
                int64_t t1 = now_wall();
                if (r < 0) {
                        free(output);
                        output = xstrdup(err->msg);
                        if (code == 0)
                                code = -1;
                } else if (code == -1 && !h->stop) {
                        free(output);
                        char b[64];
                        snprintf(b, sizeof(b), "Health check exceeded timeout (%llds)",
                                 (long long)(h->timeout / 1000000000));
                        output = xstrdup(b);
                }

                pthread_mutex_lock(&eng->lock);
                if (h->stop || eng->closing)
                        break;
                /* a failed start (container no longer running) is not a
                 * probe result */
                if (r < 0 && err != NULL && err->code == EBUSY)
                        continue;
                record(h, t0, t1, code, output ? output : "", t0 - started < h->start_period);
        }
        if (h->c->health == h) /* engine_close: not stopped by anyone */
                h->c->health = NULL;
        pthread_mutex_unlock(&eng->lock);
        container_put(eng, h->c);
        json_decref(h->exec_config);
        free(h);
        /* engine_close waits for bg_threads before it frees anything */
        pthread_mutex_lock(&eng->lock);
        eng->bg_threads--;
        pthread_cond_broadcast(&eng->cond);
        pthread_mutex_unlock(&eng->lock);
        return NULL;
}

void health_start(struct engine *eng, struct container *c)
{
        if (c->health != NULL)
                return;
        json_t *hc = json_object_get(c->config, "Healthcheck");
        json_t *test = json_object_get(hc, "Test");
        const char *kind = json_string_value(json_array_get(test, 0));
        if (kind == NULL || strcmp(kind, "NONE") == 0 || json_array_size(test) < 2)
                return;
        json_t *cmd;
        if (strcmp(kind, "CMD-SHELL") == 0) {
                cmd = json_pack("[s, s, O]", "/bin/sh", "-c", json_array_get(test, 1));
        } else if (strcmp(kind, "CMD") == 0) {
                cmd = json_array();
                for (size_t i = 1; i < json_array_size(test); i++)
                        json_array_append(cmd, json_array_get(test, i));
        } else {
                return;
        }
        struct health *h = xcalloc(1, sizeof(*h));
        h->eng = eng;
        h->c = c;
        h->interval = dur(hc, "Interval", DEFAULT_NS);
        h->timeout = dur(hc, "Timeout", DEFAULT_NS);
        h->start_period = dur(hc, "StartPeriod", 0);
        json_int_t retries = json_integer_value(json_object_get(hc, "Retries"));
        h->retries = retries > 0 ? (int)retries : 3;
        h->exec_config =
            json_pack("{s:o, s:b, s:b}", "Cmd", cmd, "AttachStdout", 1, "AttachStderr", 1);
        /* Docker starts every run as "starting" */
        json_decref(c->health_json);
        c->health_json =
            json_pack("{s:s, s:i, s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
        if (eng->closing)
                return;
        c->refs++; /* released by the thread through container_put */
        eng->bg_threads++;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, health_main, h) != 0) {
                c->refs--;
                eng->bg_threads--;
                json_decref(h->exec_config);
                free(h);
                log_warn("health %.12s: cannot start its thread", c->id);
        } else {
                c->health = h;
        }
        pthread_attr_destroy(&at);
}

void health_stop(struct engine *eng, struct container *c)
{
        struct health *h = c->health;
        if (h == NULL)
                return;
        h->stop = 1;
        c->health = NULL;
        pthread_cond_broadcast(&eng->cond);
}

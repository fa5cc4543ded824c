/*
 * progress: the per-layer display of pull and push.  On a terminal, one
 * line per layer redrawn in place (at most every 100 ms, and on every
 * status change); otherwise one plain line per status change.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void progress_init(struct progress *p, int quiet)
{
        memset(p, 0, sizeof(*p));
        p->quiet = quiet;
        p->out = stdout;
        p->tty = isatty(STDOUT_FILENO);
}

static void format_line(const struct progress_item *it, long long now, char *buf, size_t n)
{
        if (it->total > 0 && it->current < it->total && strstr(it->status, "ing")) {
                char cur[16], tot[16], speed[16] = "";
                human_size(it->current, cur, sizeof(cur));
                human_size(it->total, tot, sizeof(tot));
                long long ms = now - it->started;
                if (ms > 200) {
                        human_size(it->current * 1000 / ms, speed, sizeof(speed));
                        strcat(speed, "/s");
                }
                int width = 30, done = (int)(width * it->current / it->total);
                char bar[40];
                for (int i = 0; i < width; i++)
                        bar[i] = i < done ? '=' : i == done ? '>' : ' ';
                bar[width] = '\0';
                snprintf(buf, n, "%s: %-12s [%s] %s/%s %s", it->id, it->status, bar, cur, tot,
                         speed);
        } else {
                snprintf(buf, n, "%s: %s", it->id, it->status);
        }
}

static void redraw(struct progress *p, long long now)
{
        if (p->drawn)
                fprintf(p->out, "\033[%zuA", p->drawn);
        for (size_t i = 0; i < p->n; i++) {
                char line[256];
                format_line(&p->items[i], now, line, sizeof(line));
                fprintf(p->out, "\033[2K%s\n", line);
        }
        p->drawn = p->n;
        p->last_draw = now;
        fflush(p->out);
}

void progress_update(void *ctx, const char *id, const char *status, int64_t current, int64_t total)
{
        struct progress *p = ctx;
        if (p->quiet)
                return;
        struct progress_item *it = NULL;
        for (size_t i = 0; i < p->n; i++)
                if (!strcmp(p->items[i].id, id))
                        it = &p->items[i];
        long long now = now_ms();
        if (it == NULL) {
                if (p->n == ARRAY_SIZE(p->items))
                        return;
                it = &p->items[p->n++];
                snprintf(it->id, sizeof(it->id), "%s", id);
                it->started = now;
        }
        int changed = strcmp(it->status, status) != 0;
        snprintf(it->status, sizeof(it->status), "%s", status);
        it->current = current;
        it->total = total;
        if (p->tty) {
                if (changed || now - p->last_draw >= 100)
                        redraw(p, now);
        } else if (changed) {
                fprintf(p->out, "%s: %s\n", it->id, it->status);
                fflush(p->out);
        }
}

void progress_done(struct progress *p)
{
        if (p->tty && !p->quiet && p->n)
                redraw(p, now_ms());
}

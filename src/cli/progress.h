/* progress: per-layer progress lines for pull and push (see progress.c). */
#ifndef BARGE_CLI_PROGRESS_H
#define BARGE_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

struct progress_item {
        char id[80];
        char status[40];
        int64_t current, total;
        long long started;
};

struct progress {
        struct progress_item items[128];
        size_t n, drawn;
        int tty, quiet;
        FILE *out; /* stdout; stderr when run pulls a missing image */
        long long last_draw;
};

void progress_init(struct progress *p, int quiet);
/* A registry_progress_fn: ctx is the struct progress. */
void progress_update(void *ctx, const char *id, const char *status, int64_t current, int64_t total);
void progress_done(struct progress *p);

#endif

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

static int set(struct err **e, int code, char *msg)
{
        if (e == NULL) {
                free(msg);
                return -1;
        }
        /* Keep the first error: it is the one closest to the cause. */
        if (*e != NULL) {
                free(msg);
                return -1;
        }
        struct err *n = calloc(1, sizeof(*n));
        if (n == NULL) {
                free(msg);
                return -1;
        }
        n->code = code;
        if (msg != NULL && code != 0) {
                char *full = NULL;
                if (asprintf(&full, "%s: %s", msg, strerror(code)) >= 0) {
                        free(msg);
                        msg = full;
                }
        }
        n->msg = msg ? msg : strdup("out of memory");
        *e = n;
        return -1;
}

int err_new(struct err **e, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *m = vformat(fmt, ap);
        va_end(ap);
        return set(e, code, m);
}

int err_sys(struct err **e, const char *fmt, ...)
{
        int code = errno;
        va_list ap;
        va_start(ap, fmt);
        char *m = vformat(fmt, ap);
        va_end(ap);
        return set(e, code, m);
}

int err_wrap(struct err **e, const char *fmt, ...)
{
        if (e == NULL || *e == NULL)
                return -1;
        va_list ap;
        va_start(ap, fmt);
        char *ctx = vformat(fmt, ap);
        va_end(ap);
        char *full = NULL;
        if (ctx != NULL && asprintf(&full, "%s: %s", ctx, (*e)->msg) >= 0) {
                free((*e)->msg);
                (*e)->msg = full;
        }
        free(ctx);
        return -1;
}

void err_free(struct err **e)
{
        if (e == NULL || *e == NULL)
                return;
        free((*e)->msg);
        free(*e);
        *e = NULL;
}

/*
 * err: the one error convention of barge.
 *
 * Every fallible function returns an int: >= 0 on success, a negative value
 * on failure, and fills a `struct err **` out-parameter with a message built
 * where the failure happened (plus the errno that caused it, if any).  The
 * top level prints that message as one line.  Callers that add context wrap
 * the error with err_wrap() instead of building a second message.
 */
#ifndef BARGE_ERR_H
#define BARGE_ERR_H

#include <stdarg.h>

struct err {
        int code;  /* errno value, 0 when the failure has none */
        char *msg; /* complete message, already includes strerror(code) */
};

/* Set *e to a new error with errno `code` (0 for none); returns -1. */
int err_new(struct err **e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_new with code = errno at the time of the call. */
int err_sys(struct err **e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing error with more context: "ctx: old message". Returns -1. */
int err_wrap(struct err **e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_free(struct err **e);

static inline void err_freep(struct err **e)
{
        err_free(e);
}
#define _cleanup_err_ __attribute__((cleanup(err_freep)))

#endif

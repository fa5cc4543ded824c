/*
 * sync: one message type over a SOCK_SEQPACKET socketpair between the
 * runtime and the processes it forks.  A child that fails sends its error
 * text, so the runtime prints one line naming the cause instead of "child
 * exited with status 1".
 */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send(int fd, int type, int code, const char *text)
{
        struct sync_msg m = {.type = type, .code = code};
        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        size_t len = offsetof(struct sync_msg, text) + strlen(m.text) + 1;
        ssize_t n;
        do
                n = send(fd, &m, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -1 : 0;
}

int sync_recv(int fd, int want, struct sync_msg *m, struct err **e)
{
        ssize_t n;
        memset(m, 0, sizeof(*m));
        do
                n = recv(fd, m, sizeof(*m) - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_sys(e, "sync with container process");
        if (n == 0)
                return err_new(e, 0, "container process exited during setup");
        if (m->type == SYNC_ERROR)
                return err_new(e, m->code, "%s", m->text);
        if (m->type != want)
                return err_new(e, 0, "sync: expected message %d, got %d", want, m->type);
        return 0;
}

void sync_fail(int fd, struct err **e)
{
        struct err *err = e ? *e : NULL;
        /* the text already carries strerror(code): don't let the parent append it twice */
        sync_send(fd, SYNC_ERROR, 0, err ? err->msg : "unknown error");
        _exit(1);
}

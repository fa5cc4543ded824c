/*
 * engine/attach: POST /containers/{id}/attach, and the stream pump it
 * shares with exec.  Output reaches an attach through an attacher: the
 * shim thread (attach_broadcast) appends frames to each attacher's bounded
 * buffer and pokes its eventfd; the attach call's own thread writes them
 * to the client with non-blocking sends, so a slow client only loses its
 * own output and never stalls the shim thread or other clients.  Input
 * goes the other way on the same thread, watching for the detach keys.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "io.h"

/* Output kept per attacher before dropping: enough for bursts, bounded so
 * a stuck client cannot make barged grow without limit. */
#define ATTACH_MAX_PENDING (4u << 20)

void io_frame_header(unsigned char hdr[8], int stream, uint32_t len)
{
        hdr[0] = (unsigned char)stream;
        hdr[1] = hdr[2] = hdr[3] = 0;
        hdr[4] = (unsigned char)(len >> 24);
        hdr[5] = (unsigned char)(len >> 16);
        hdr[6] = (unsigned char)(len >> 8);
        hdr[7] = (unsigned char)len;
}

/* One key of Docker's syntax: a single character, or ctrl-X for
 * X in a-z @ [ \ ] ^ _ */
static int parse_key(const char *k, size_t len, unsigned char *out)
{
        if (len == 1) {
                *out = (unsigned char)k[0];
                return 0;
        }
        if (len == 6 && strncmp(k, "ctrl-", 5) == 0) {
                char c = k[5];
                if (c >= 'a' && c <= 'z') {
                        *out = (unsigned char)(c - 'a' + 1);
                        return 0;
                }
                const char *sym = "@[\\]^_";
                const char *p = strchr(sym, c);
                if (p != NULL && c != '\0') {
                        *out = (unsigned char)(p - sym == 0 ? 0 : 27 + (p - sym) - 1);
                        return 0;
                }
        }
        return -1;
}

int io_parse_detach_keys(const char *spec, unsigned char keys[16], size_t *n, struct err **e)
{
        if (spec == NULL || *spec == '\0')
                spec = "ctrl-p,ctrl-q";
        *n = 0;
        const char *p = spec;
        for (;;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                if (*n >= 16 || parse_key(p, len, &keys[*n]) < 0)
                        return err_new(e, EINVAL, "Invalid detach keys (%s) provided", spec);
                (*n)++;
                if (end == NULL)
                        break;
                p = end + 1;
        }
        return 0;
}

struct attacher *attacher_new(int frame, int want_out, int want_err)
{
        struct attacher *a = xcalloc(1, sizeof(*a));
        pthread_mutex_init(&a->mu, NULL);
        pthread_cond_init(&a->cv, NULL);
        a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (a->efd < 0) {
                pthread_cond_destroy(&a->cv);
                pthread_mutex_destroy(&a->mu);
                free(a);
                return NULL;
        }
        a->frame = frame;
        a->want_out = want_out;
        a->want_err = want_err;
        return a;
}

void attacher_free(struct attacher *a)
{
        if (a == NULL)
                return;
        close(a->efd);
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a->buf);
        free(a);
}

static void poke(struct attacher *a)
{
        uint64_t one = 1;
        ssize_t r = write(a->efd, &one, sizeof(one));
        (void)r; /* a full counter already means "wake up" */
}

static void append(struct attacher *a, const void *p, size_t n)
{
        if (a->len + n > a->cap) {
                size_t cap = a->cap ? a->cap : 4096;
                while (cap < a->len + n)
                        cap *= 2;
                char *nb = realloc(a->buf, cap);
                if (nb == NULL)
                        abort();
                a->buf = nb;
                a->cap = cap;
        }
        memcpy(a->buf + a->len, p, n);
        a->len += n;
}

void attacher_push(struct attacher *a, int stream, const void *buf, size_t n)
{
        if (n == 0 || (stream == 1 && !a->want_out) || (stream == 2 && !a->want_err))
                return;
        pthread_mutex_lock(&a->mu);
        if (a->len + n + 8 > ATTACH_MAX_PENDING) {
                a->dropped += n;
        } else {
                if (a->frame) {
                        unsigned char hdr[8];
                        io_frame_header(hdr, stream, (uint32_t)n);
                        append(a, hdr, sizeof(hdr));
                }
                append(a, buf, n);
        }
        pthread_mutex_unlock(&a->mu);
        poke(a);
}

void attacher_end(struct attacher *a)
{
        pthread_mutex_lock(&a->mu);
        a->ended = 1;
        pthread_mutex_unlock(&a->mu);
        poke(a);
}

static ssize_t send_some(int fd, const void *buf, size_t n)
{
        ssize_t r = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == ENOTSOCK)
                r = write(fd, buf, n); /* a pipe in tests: poll said writable */
        return r;
}

/* Feed input bytes through the detach-key matcher; returns 1 on detach.
 * Bytes that start the sequence are held back until it is complete or
 * broken, as Docker's escape proxy does. */
struct keymatch {
        const unsigned char *keys;
        size_t n_keys, matched;
};

static int filter_input(struct keymatch *k, const unsigned char *in, size_t n, unsigned char *out,
                        size_t *n_out)
{
        *n_out = 0;
        for (size_t i = 0; i < n; i++) {
                if (k->n_keys > 0 && in[i] == k->keys[k->matched]) {
                        if (++k->matched == k->n_keys)
                                return 1;
                        continue;
                }
                if (k->matched > 0) {
                        memcpy(out + *n_out, k->keys, k->matched);
                        *n_out += k->matched;
                        k->matched = 0;
                        if (k->n_keys > 0 && in[i] == k->keys[0]) {
                                k->matched = 1;
                                if (k->n_keys == 1)
                                        return 1;
                                continue;
                        }
                }
                out[(*n_out)++] = in[i];
        }
        return 0;
}

/* Input the pump has read but not handed over yet: always the case for a
 * moment (bytes go through here so that they keep their order), and for
 * longer while in_fn says IO_IN_LATER (no process yet). */
struct held {
        char *buf;
        size_t off, len, cap;
        int eof;   /* the client's EOF waits behind the bytes */
        int later; /* in_fn's last answer was IO_IN_LATER */
};

/* Held input is offered in chunks of at most this: the same thread writes
 * the output, which should not wait for a whole backlog to be taken. */
#define HELD_CHUNK (64u << 10)

static int held_pending(const struct held *h)
{
        return h->off < h->len || h->eof;
}

static void held_append(struct held *h, const void *p, size_t n)
{
        if (h->off > 0 && h->off == h->len)
                h->off = h->len = 0;
        if (h->len + n > h->cap) {
                size_t cap = h->cap ? h->cap : 4096;
                while (cap < h->len + n)
                        cap *= 2;
                char *nb = realloc(h->buf, cap);
                if (nb == NULL)
                        abort();
                h->buf = nb;
                h->cap = cap;
        }
        memcpy(h->buf + h->len, p, n);
        h->len += n;
}

/* Offer held input to *in_fn: one chunk, or everything when `all` (or
 * until it answers IO_IN_LATER).  A refusal (<0) stops forwarding: the
 * rest is dropped and *in_fn becomes NULL. */
static void held_deliver(struct held *h, io_in_fn *in_fn, void *ctx, int all)
{
        h->later = 0;
        do {
                if (*in_fn == NULL) {
                        h->off = h->len = 0;
                        h->eof = 0;
                        return;
                }
                if (h->off < h->len) {
                        size_t n = h->len - h->off;
                        if (n > HELD_CHUNK)
                                n = HELD_CHUNK;
                        int r = (*in_fn)(ctx, h->buf + h->off, n);
                        if (r == IO_IN_LATER) {
                                h->later = 1;
                                return;
                        }
                        if (r < 0)
                                *in_fn = NULL;
                        else
                                h->off += n;
                        continue;
                }
                if (h->eof) {
                        if ((*in_fn)(ctx, NULL, 0) == IO_IN_LATER) {
                                h->later = 1;
                                return;
                        }
                        h->eof = 0;
                }
        } while (all && held_pending(h));
}

int io_pump(struct attacher *a, int fd, io_in_fn in_fn, void *in_ctx, int forward_eof,
            const unsigned char *keys, size_t n_keys)
{
        _cleanup_free_ char *wbuf = NULL;
        size_t wlen = 0, woff = 0;
        int in_open = 1, ended = 0;
        /* as dockerd: the detach keys apply to a tty only; without one
         * (a multiplexed stream) stdin is binary data passed as is */
        struct keymatch km = {keys, a->frame ? 0 : n_keys, 0};
        struct held h = {0};
        int ret;

        for (;;) {
                if (held_pending(&h) && !h.later)
                        held_deliver(&h, &in_fn, in_ctx, 0);
                if (woff == wlen) {
                        free(wbuf);
                        pthread_mutex_lock(&a->mu);
                        wbuf = a->buf;
                        wlen = a->len;
                        woff = 0;
                        a->buf = NULL;
                        a->len = a->cap = 0;
                        ended = a->ended;
                        pthread_mutex_unlock(&a->mu);
                        if (wlen == 0 && ended) {
                                ret = 0;
                                break;
                        }
                }
                /* past the bound, leave the client's input in the socket
                 * (back-pressure) until the process takes what is held */
                int want_in = in_open && h.len - h.off < IO_IN_MAX_HELD;
                struct pollfd p[2] = {
                    {fd, (short)((want_in ? POLLIN : 0) | (woff < wlen ? POLLOUT : 0)), 0},
                    {a->efd, POLLIN, 0},
                };
                /* held input: offer the next chunk at once, or retry a
                 * refused one on a timer should no wakeup come */
                int timeout = !held_pending(&h) ? 1000 : h.later ? 100 : 0;
                if (poll(p, 2, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        ret = 2;
                        break;
                }
                if (p[1].revents & POLLIN) {
                        uint64_t v;
                        ssize_t r = read(a->efd, &v, sizeof(v));
                        (void)r;
                }
                /* a wakeup (the process started) or the timer: offer again */
                h.later = 0;
                if (p[0].revents & POLLERR) {
                        ret = 2;
                        break;
                }
                if ((p[0].revents & POLLHUP) && !(p[0].revents & POLLIN) && !in_open) {
                        ret = 2;
                        break;
                }
                if (p[0].revents & POLLOUT) {
                        ssize_t r = send_some(fd, wbuf + woff, wlen - woff);
                        if (r < 0 && errno != EAGAIN && errno != EINTR) {
                                ret = 2;
                                break;
                        }
                        if (r > 0)
                                woff += (size_t)r;
                }
                if (p[0].revents & (POLLIN | POLLHUP) && want_in) {
                        unsigned char buf[4096], fwd[4096 + 16];
                        ssize_t r = read(fd, buf, sizeof(buf));
                        if (r < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (r <= 0) {
                                in_open = 0;
                                if (forward_eof && in_fn != NULL)
                                        h.eof = 1;
                                if (r < 0 || (p[0].revents & POLLHUP)) {
                                        /* what a live process can take
                                         * still reaches it */
                                        held_deliver(&h, &in_fn, in_ctx, 1);
                                        ret = 2;
                                        break;
                                }
                                continue;
                        }
                        size_t nf;
                        int detach = filter_input(&km, buf, (size_t)r, fwd, &nf);
                        if (nf > 0 && in_fn != NULL)
                                held_append(&h, fwd, nf);
                        if (detach) {
                                held_deliver(&h, &in_fn, in_ctx, 1);
                                ret = 1;
                                break;
                        }
                }
        }
        free(h.buf);
        return ret;
}

/* ---- container attach ---- */

void attach_broadcast(struct engine *eng, struct container *c, int stream, const void *buf,
                      size_t n)
{
        pthread_mutex_lock(&eng->lock);
        for (struct attacher *a = c->attachers; a != NULL; a = a->next)
                attacher_push(a, stream, buf, n);
        pthread_mutex_unlock(&eng->lock);
}

void attach_container_exited(struct engine *eng, struct container *c)
{
        (void)eng;
        for (struct attacher *a = c->attachers; a != NULL; a = a->next) {
                attacher_end(a);
                /* the lifecycle frees the exited shim after this returns: let
                 * a stdin write still using it finish (the shim drops input
                 * for an exited process, so this is short) */
                pthread_mutex_lock(&a->mu);
                while (a->writing)
                        pthread_cond_wait(&a->cv, &a->mu);
                pthread_mutex_unlock(&a->mu);
        }
}

void attach_container_started(struct engine *eng, struct container *c)
{
        (void)eng;
        for (struct attacher *a = c->attachers; a != NULL; a = a->next)
                poke(a);
}

struct fd_out {
        int fd;
        int frame;
};

/* Log replay straight to the client (blocking: nothing else is pending). */
static int write_fd_out(void *ctx, int stream, const void *buf, size_t n)
{
        struct fd_out *o = ctx;
        if (o->frame) {
                unsigned char hdr[8];
                io_frame_header(hdr, stream, (uint32_t)n);
                if (write_all(o->fd, hdr, sizeof(hdr)) < 0)
                        return -1;
        }
        return write_all(o->fd, buf, n) < 0 ? -1 : 0;
}

struct cin {
        struct engine *eng;
        struct container *c;
        struct attacher *a;
};

/* The container's shim changes across start/restart: look it up each
 * time.  The write itself runs without eng->lock: it blocks while the
 * process does not read its stdin, and the engine must not stall with it
 * (attach_container_exited keeps the shim alive until it is done). */
static int container_stdin(void *ctx, const void *buf, size_t n)
{
        struct cin *ci = ctx;
        _cleanup_err_ struct err *err = NULL;
        pthread_mutex_lock(&ci->eng->lock);
        struct shim *s = ci->c->shim;
        if (s != NULL) {
                pthread_mutex_lock(&ci->a->mu);
                ci->a->writing = 1;
                pthread_mutex_unlock(&ci->a->mu);
        }
        pthread_mutex_unlock(&ci->eng->lock);
        /* attached before the start (docker run -i sends its stdin, and
         * often its EOF, before POST /start): the pump keeps the input
         * until attach_container_started */
        if (s == NULL)
                return IO_IN_LATER;
        int r = n == 0 ? shim_close_stdin(s, &err) : shim_write_stdin(s, buf, n, &err);
        pthread_mutex_lock(&ci->a->mu);
        ci->a->writing = 0;
        pthread_cond_broadcast(&ci->a->cv);
        pthread_mutex_unlock(&ci->a->mu);
        if (r < 0)
                log_debug("attach %.12s: stdin: %s", ci->c->id, err->msg);
        return 0;
}

static int json_flag(json_t *o, const char *k)
{
        return json_is_true(json_object_get(o, k));
}

static int given_fd(void *ctx, int *fd, struct err **e)
{
        *fd = *(int *)ctx;
        return 0;
}

int engine_container_attach(struct engine *eng, const char *ref, const struct engine_attach_opts *o,
                            int fd, struct err **e)
{
        return engine_container_attach_hijack(eng, ref, o, given_fd, &fd, e);
}

int engine_container_attach_hijack(struct engine *eng, const char *ref,
                                   const struct engine_attach_opts *o,
                                   int (*hijack)(void *ctx, int *fd, struct err **e), void *hctx,
                                   struct err **e)
{
        unsigned char keys[16];
        size_t n_keys;
        if (io_parse_detach_keys(o->detach_keys, keys, &n_keys, e) < 0)
                return -1;
        struct container *c = container_get(eng, ref, e);
        if (c == NULL)
                return -1;

        pthread_mutex_lock(&eng->lock);
        if (c->status == ST_PAUSED || c->status == ST_RESTARTING) {
                err_new(e, EBUSY,
                        c->status == ST_PAUSED
                            ? "container %s is paused, unpause the container before attach"
                            : "container %s is restarting, wait until the container is running",
                        ref);
                pthread_mutex_unlock(&eng->lock);
                container_put(eng, c);
                return -1;
        }
        int tty = json_flag(c->config, "Tty");
        int open_stdin = json_flag(c->config, "OpenStdin");
        /* Docker closes the stdin of a StdinOnce container when the
         * attach's input ends, except with a tty */
        int stdin_once = json_flag(c->config, "StdinOnce") && !tty;
        pthread_mutex_unlock(&eng->lock);

        /* The attacher is in place before the client hears back (the 101):
         * a client that starts the container after that (docker run, barge
         * run) then cannot miss its first output or its exit. */
        struct attacher *a = NULL;
        int alive = 0;
        if (o->stream) {
                a = attacher_new(!tty, o->out, o->err);
                if (a == NULL) {
                        container_put(eng, c);
                        return err_sys(e, "eventfd");
                }
                pthread_mutex_lock(&eng->lock);
                alive = !c->removed && (c->status == ST_CREATED || c->status == ST_RUNNING ||
                                        c->status == ST_PAUSED || c->status == ST_RESTARTING);
                if (alive) {
                        a->next = c->attachers;
                        c->attachers = a;
                }
                pthread_mutex_unlock(&eng->lock);
        }
        int fd = -1, r = hijack(hctx, &fd, e);
        if (r == 0 && o->logs) {
                struct engine_logs_opts lo = {
                    .out = o->out, .err = o->err, .tail = -1, .follow = 0};
                struct fd_out fo = {fd, !tty};
                r = logs_read(eng, c, &lo, write_fd_out, &fo, e);
        }
        if (r == 0 && alive) {
                struct cin ci = {eng, c, a};
                int use_in = o->in && open_stdin;
                int pr =
                    io_pump(a, fd, use_in ? container_stdin : NULL, &ci, stdin_once, keys, n_keys);
                /* A StdinOnce container's stdin closes when its attach ends,
                 * whichever way it ends */
                if (use_in && stdin_once && pr != 0)
                        container_stdin(&ci, NULL, 0);
        }
        if (alive) {
                pthread_mutex_lock(&eng->lock);
                for (struct attacher **pp = &c->attachers; *pp != NULL; pp = &(*pp)->next) {
                        if (*pp == a) {
                                *pp = a->next;
                                break;
                        }
                }
                pthread_mutex_unlock(&eng->lock);
        }
        if (a)
                attacher_free(a);
        container_put(eng, c);
        return r;
}

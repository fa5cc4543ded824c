/*
 * engine/io: what the I/O side's files (logs.c attach.c exec.c health.c)
 * share: the stream pump between a process (its shim) and a client's
 * hijacked connection, Docker's multiplexed frame header, detach keys,
 * the json-file log reader, and running a process inside a container as
 * an exec (used by exec.c's API and by health.c's checks).
 */
#ifndef BARGE_ENGINE_IO_H
#define BARGE_ENGINE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---- attach.c ---- */

/* Docker's multiplexed stream: [stream, 0, 0, 0, len as big-endian u32]. */
void io_frame_header(unsigned char hdr[8], int stream, uint32_t len);

/* Parse Docker's detach key syntax ("ctrl-p,ctrl-q", "a,ctrl-x"); NULL or
 * "" gives the default ctrl-p,ctrl-q.  EINVAL "Invalid detach keys (x)
 * provided". */
int io_parse_detach_keys(const char *spec, unsigned char keys[16], size_t *n, struct err **e);

/* One consumer of a process's output with a bounded buffer (output is
 * dropped for this consumer when its client does not keep up, so the
 * shim thread never blocks), plus a wakeup eventfd for its pump. */
struct attacher {
        struct attacher *next; /* in c->attachers (under eng->lock) */
        pthread_mutex_t mu;
        int efd;   /* eventfd: new output or end */
        char *buf; /* framed (or raw) bytes waiting to be written */
        size_t len, cap;
        int frame; /* multiplex (no tty) */
        int want_out, want_err;
        int ended; /* the process exited (or was removed): drain then stop */
        size_t dropped;
        /* a write to the container's shim is under way without eng->lock
         * (it may block while the process does not read its stdin); the
         * exit waits for it before the lifecycle frees the shim */
        int writing;
        pthread_cond_t cv;
};

struct attacher *attacher_new(int frame, int want_out, int want_err);
void attacher_free(struct attacher *a);
/* Queue output for a (drops when over the bound). */
void attacher_push(struct attacher *a, int stream, const void *buf, size_t n);
/* Mark the end of output (safe from any thread). */
void attacher_end(struct attacher *a);

/* Where the pump sends the client's input: n == 0 means EOF (close the
 * process's stdin).  0: taken (all of it).  A negative return stops
 * forwarding (input is then read and dropped).  IO_IN_LATER: there is no
 * process yet (a container attached before its start): the pump keeps
 * the bytes (and the EOF), up to IO_IN_MAX_HELD, stops reading the client
 * beyond that, and offers them again, in order and before later input,
 * when a's eventfd is poked (attach_container_started) or on a timer. */
typedef int (*io_in_fn)(void *ctx, const void *buf, size_t n);
#define IO_IN_LATER 1
#define IO_IN_MAX_HELD (1u << 20)

/* The pump: copies a's output to fd and fd's input to in_fn (NULL: input
 * is read and dropped) until a ends (output drained), the client hangs up
 * or it sends the detach keys (with a tty only: not when a frames its
 * output, as dockerd).  forward_eof: pass the client's EOF on.
 * Returns 0 when a ended, 1 on detach, 2 on client hang-up (input still
 * held then is dropped). */
int io_pump(struct attacher *a, int fd, io_in_fn in_fn, void *in_ctx, int forward_eof,
            const unsigned char *keys, size_t n_keys);

/* ---- logs.c ---- */

/* Write the log of c to `out` per `o` (follow included); c is held. */
int logs_read(struct engine *eng, struct container *c, const struct engine_logs_opts *o,
              engine_out_fn out, void *ctx, struct err **e);

/* ---- exec.c ---- */

/* Run a process described by `exec_config` (ExecConfig shape) inside the
 * running container c (held by the caller), without a client, collecting
 * up to `max_out` bytes of stdout+stderr; kills it after timeout_ns (>0).
 * *exit_code is its exit code, -1 on timeout.  For healthchecks. */
int exec_run_collect(struct engine *eng, struct container *c, json_t *exec_config,
                     int64_t timeout_ns, size_t max_out, int *stop_flag, int *exit_code,
                     char **output, struct err **e);

/* The runtime's --root (where engine_runtime points it); malloc'd. */
char *io_runtime_root(struct engine *eng);

#endif

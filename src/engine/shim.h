/*
 * engine/shim: barged's side of barge-shim, the small supervisor that
 * holds one process (a container's init, or one exec) for as long as it
 * lives: it runs the OCI runtime to create and start it, holds its stdio
 * (pipes, or the pty master it receives over a console socket), writes the
 * container's json-file log, reaps it as a subreaper, records its exit
 * status, and deletes the runtime's container when the init exits.  It is
 * detached from barged (own session, reparented to init), so containers
 * keep running while barged is stopped or killed; a restarted barged
 * reconnects to it through its socket, or reads the exit file it left.
 *
 * Files in a shim's state directory (barged makes the directory):
 *   shim.sock   the shim's Unix socket (barged connects; one client at a time)
 *   shim.pid    the shim's pid
 *   pid         the process's pid (host pid namespace), once started
 *   exit        {"exit_code": N, "finished_at": "RFC3339Nano", "oom_killed": bool}
 *               written atomically when the process has exited (and, for a
 *               container, the runtime's container is deleted); the shim
 *               then tells its client and exits.
 *   error       one line: why the start failed (runtime's message), if it did
 *
 * The wire protocol between the two is private to shim.c and
 * src/shim/ (see src/shim/proto.h).
 */
#ifndef BARGE_ENGINE_SHIM_H
#define BARGE_ENGINE_SHIM_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

struct shim_spec {
        const char *shim_path;    /* the barge-shim binary */
        const char *runtime;      /* runtime binary (barge-runtime, runc, crun) */
        const char *runtime_root; /* the runtime's --root */
        const char *state_dir;    /* exists; the files above go here */
        const char *id;           /* container id; the runtime's container name */
        /* a container: the bundle (config.json + rootfs); NULL for an exec */
        const char *bundle;
        /* an exec: the process.json to pass to `runtime exec --process`;
         * NULL for a container */
        const char *process_json;
        /* json-file log of the container (NULL: none, as for execs), and its
         * rotation: max bytes per file (0: no limit), files kept (>= 1) */
        const char *log_path;
        int64_t log_max_size;
        int log_max_file;
        int tty;        /* process.terminal: the shim gets a pty master */
        int open_stdin; /* keep a stdin pipe (or the pty) open for input */
};

/* What the shim reports; called on the engine's shim thread (one thread
 * serves every shim), so callbacks must not block for long.  `output`:
 * stream 1 stdout, 2 stderr (with a tty everything is 1).  `exit`: the
 * process is gone: exit code (128+N for a signal), finish time in unix
 * nanoseconds, whether the OOM killer ended it; after it the shim handle
 * is dead (shim_free it; that may be done from inside a callback).  If the
 * shim itself dies (SIGKILL) without recording an exit, `exit` comes with
 * 255, as Docker reports a lost task; the process may still run then (the
 * runtime's `delete --force` ends it).  Once shim_free returns, no
 * callback for that handle runs any more. */
struct shim_callbacks {
        void (*output)(void *ctx, int stream, const void *buf, size_t n);
        void (*exit)(void *ctx, int exit_code, int64_t finished_ns, int oom_killed);
};

struct shim;

/* Start a barge-shim for `spec` and connect to it.  The process is not
 * started yet (attachers can be connected first): call shim_start. */
int shim_spawn(const struct shim_spec *spec, const struct shim_callbacks *cb, void *ctx,
               struct shim **out, struct err **e);
/* Reconnect to the shim in state_dir after a barged restart.  -1 with
 * ENOENT when no shim runs there any more (then read the exit file). */
int shim_connect(const char *state_dir, const struct shim_callbacks *cb, void *ctx,
                 struct shim **out, struct err **e);
/* Create and start the process; on success *pid is its pid.  Blocks until
 * the shim reports (any thread, but not from inside a callback: the
 * callbacks' thread delivers the answer).  On failure
 * the error carries the runtime's own message (e.g. `exec: "nope":
 * executable file not found`), errno ENOENT when the executable is
 * missing and EACCES when it is not executable (Docker's 127 / 126), and
 * the shim has exited. */
int shim_start(struct shim *s, pid_t *pid, struct err **e);
/* Input for the process's stdin; shim_close_stdin sends EOF. */
int shim_write_stdin(struct shim *s, const void *buf, size_t n, struct err **e);
int shim_close_stdin(struct shim *s, struct err **e);
/* The pty's size (tty only). */
int shim_resize(struct shim *s, unsigned width, unsigned height, struct err **e);
/* Disconnect and free the handle; the shim and its process keep running
 * (unless the process already exited). */
void shim_free(struct shim *s);

/* The exit file a shim left in state_dir: 0, or -1 with ENOENT if none. */
int shim_read_exit(const char *state_dir, int *exit_code, int64_t *finished_ns, int *oom_killed,
                   struct err **e);

#endif

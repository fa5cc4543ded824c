/*
 * shim/internal: what the files of barge-shim share.  main.c owns the
 * options, detaching, the client connection and the one poll loop;
 * process.c runs the OCI runtime (create/start, exec, delete) and turns
 * its failures into errno + one line; jsonlog.c writes Docker's json-file
 * log with its rotation.
 */
#ifndef BARGE_SHIM_INTERNAL_H
#define BARGE_SHIM_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"
#include "../common/timefmt.h"

struct shim_opts {
        const char *id;
        const char *bundle;  /* a container; NULL for an exec */
        const char *process; /* an exec's process.json; NULL for a container */
        const char *runtime;
        int runtime_fd; /* a sealed copy of the runtime to execute (barged's), or -1 */
        const char *runtime_root;
        const char *state_dir;
        const char *log_path; /* NULL: no json-file log */
        int64_t log_max_size; /* 0: unlimited */
        int log_max_file;
        int tty;
        int open_stdin;
};

/* The process's stdio as the shim holds it after a successful start. */
struct shim_stdio {
        int in;     /* write end of stdin (or a dup of the pty master); -1 if none */
        int out;    /* stdout pipe read end, or the pty master */
        int err;    /* stderr pipe read end; -1 with a tty */
        int master; /* the pty master (tty only), for resizes; -1 otherwise */
};

/* Create and start the process (container or exec); on success *pid and
 * *io are filled.  On failure the error carries the runtime's message and
 * ENOENT / EACCES / EIO, and nothing of the container is left behind. */
int proc_start(const struct shim_opts *o, pid_t *pid, struct shim_stdio *io, struct err **e);
/* `runtime delete --force id` (containers); failures are only logged. */
void proc_delete(const struct shim_opts *o);
/* The file whose oom_kill counter tells whether the OOM killer hit the
 * container of `pid` (NULL if none is found), and reading it. */
char *proc_oom_file(pid_t pid);
int proc_oom_killed(const char *oom_file);

struct jsonlog;
int jsonlog_open(const char *path, int64_t max_size, int max_file, struct jsonlog **out,
                 struct err **e);
/* One entry: `line` (at most one line, with its "\n" unless partial) of
 * stream 1 (stdout) or 2 (stderr), stamped `ns` (unix nanoseconds). */
void jsonlog_write(struct jsonlog *l, int stream, const char *line, size_t n, int64_t ns);

/* RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's RFC3339Nano
 * in UTC; `buf` holds at least 40 bytes. */

/* diagnostics of the shim itself go to state_dir/shim.log */
void shim_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * engine: what barged owns besides images: containers (create, start,
 * stop, remove, restart policies, recovery after a daemon restart), their
 * logs, attach, exec, healthchecks, stats, file copies, and the events
 * stream.  The API routes (src/api) translate HTTP to these calls; the
 * engine speaks the Engine API's JSON shapes (Config, HostConfig, the
 * inspect and list objects) so that the routes stay thin.
 *
 * Errors follow err.h; the errno in the error chooses the HTTP status
 * (api_status in src/api/http.h): ENOENT "No such container: x" (404),
 * EINVAL bad parameter (400), EEXIST/EBUSY conflict (409), EALREADY
 * nothing to do (304: start a running container, stop a stopped one).
 *
 * `ref` arguments name a container as Docker does: full id, name (with or
 * without the leading "/"), or a unique id prefix.
 *
 * Implemented by: engine.c container.c lifecycle.c container_list.c names.c
 * events.c (lifecycle, state, events),
 * logs.c attach.c exec.c health.c stats.c archive.c (I/O and inspection).
 */
#ifndef BARGE_ENGINE_H
#define BARGE_ENGINE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"
#include "../registry/registry.h"
#include "../store/store.h"

struct engine;

struct engine_opts {
        const char *root;      /* /var/lib/barge: the image store and containers/ */
        const char *exec_root; /* /run/barge: shim state dirs, the runtime's --root */
        const char *runtime;   /* the OCI runtime binary (path) */
        const char *shim_path; /* barge-shim */
        const char *init_path; /* barge-init (for --init) */
        const char *cgroup_parent; /* "/barge" */
        struct registry_opts reg;  /* mirror, insecure registries */
        /* defaults for --log-opt max-size / max-file (0 / 1: no rotation) */
        int64_t log_max_size;
        int log_max_file;
};

/* Open the engine: takes <root>/engine.lock exclusively (a second barged
 * on the same root gets EBUSY "another barged uses root R (pid N)"),
 * opens the store, loads every container, reconnects to running shims,
 * records exits that happened while barged was away and applies restart
 * policies to them (and to `always` / `unless-stopped` containers after a
 * host reboot). */
int engine_open(const struct engine_opts *o, struct engine **out, struct err **e);
/* Apply a reloaded configuration (registry mirror/insecure, log defaults). */
int engine_reload(struct engine *eng, const struct engine_opts *o, struct err **e);
/* Stop serving; running containers keep running (their shims hold them). */
void engine_close(struct engine *eng);

const char *engine_root(struct engine *eng);
const struct registry_opts *engine_registry_opts(struct engine *eng);
/* The engine's store handle, under a lock (quick metadata calls only;
 * long work such as a pull opens a store handle of its own). */
struct store *engine_store_lock(struct engine *eng);
void engine_store_unlock(struct engine *eng);

/* ---- containers: lifecycle [engine.c container.c lifecycle.c container_list.c] ---- */

/* POST /containers/create: `body` is the request (Config fields at the top
 * level plus HostConfig and NetworkingConfig).  Validates, resolves the
 * image (ENOENT "No such image: busybox:latest" when it is not there, so
 * that clients pull and retry), merges the image's config, allocates the
 * id and name ("/" + given name, or a generated adjective_name; EEXIST
 * "Conflict. The container name \"/x\" is already in use by container
 * \"<id>\". ..." when taken), persists it.  `warnings` gets strings. */
int engine_container_create(struct engine *eng, const char *name, json_t *body,
                            const char *platform, char id[65], json_t *warnings, struct err **e);
/* GET /containers/{id}/json: Docker's inspect object (Id, Created, Path,
 * Args, State{Status, Running, Paused, Restarting, OOMKilled, Dead, Pid,
 * ExitCode, Error, StartedAt, FinishedAt, Health}, Image, ResolvConfPath,
 * HostnamePath, HostsPath, LogPath, Name, RestartCount, Driver, Platform,
 * MountLabel, ProcessLabel, AppArmorProfile, ExecIDs, HostConfig,
 * GraphDriver, Mounts, Config, NetworkSettings); with size, SizeRw and
 * SizeRootFs. */
int engine_container_inspect(struct engine *eng, const char *ref, int size, json_t **out,
                             struct err **e);
/* GET /containers/json: `filters` is Docker's {"key": ["v", ...]} or
 * {"key": {"v": true}} (id, name, label, status, exited, ancestor, before,
 * since, health, is-task...); unknown keys -> EINVAL "invalid filter 'x'".
 * limit < 0: no limit. Newest first. */
int engine_container_list(struct engine *eng, int all, int limit, int size, json_t *filters,
                          json_t **out, struct err **e);
int engine_container_start(struct engine *eng, const char *ref, struct err **e);
/* timeout < 0: the container's StopTimeout or 10 s; signal NULL: its StopSignal */
int engine_container_stop(struct engine *eng, const char *ref, int timeout, const char *signal,
                          struct err **e);
int engine_container_restart(struct engine *eng, const char *ref, int timeout, struct err **e);
/* signal: "KILL", "SIGKILL", "9", NULL = KILL.  EBUSY-style 409 "Container
 * x is not running" when it is not. */
int engine_container_kill(struct engine *eng, const char *ref, const char *signal,
                          struct err **e);
/* Block until `condition` ("not-running" (default), "next-exit",
 * "removed") holds; *exit_code is the exit code, *error_msg (malloc'd or
 * NULL) the start error if any.  `registered` (may be NULL) is called once
 * the wait is in place (the state it waits from is taken), before any
 * waiting, without locks held: the API sends its status line there, so a
 * client that starts the container after seeing it cannot miss the exit; a
 * negative return ends the wait with -1 ECANCELED.  `gone` (may be NULL)
 * is polled about once a second; when it returns true the wait ends with
 * -1 ECANCELED.  Both get `ctx`. */
int engine_container_wait(struct engine *eng, const char *ref, const char *condition,
                          int (*registered)(void *ctx), int (*gone)(void *ctx), void *ctx,
                          int *exit_code, char **error_msg, struct err **e);
/* force: kill a running one first (else 409 "You cannot remove a running
 * container ..."); volumes: remove anonymous volumes (later issue). */
int engine_container_remove(struct engine *eng, const char *ref, int force, int volumes,
                            struct err **e);
int engine_container_rename(struct engine *eng, const char *ref, const char *new_name,
                            struct err **e);
int engine_container_pause(struct engine *eng, const char *ref, struct err **e);
int engine_container_unpause(struct engine *eng, const char *ref, struct err **e);
/* {"ContainersDeleted": [...], "SpaceReclaimed": N}; filters: until, label */
int engine_container_prune(struct engine *eng, json_t *filters, json_t **report, struct err **e);
/* POST /containers/{id}/update (restart policy, resources) -> {"Warnings": []} */
int engine_container_update(struct engine *eng, const char *ref, json_t *body, json_t **out,
                            struct err **e);
int engine_container_resize(struct engine *eng, const char *ref, unsigned height, unsigned width,
                            struct err **e);
/* Whether the container was created with a TTY (its streams are then raw,
 * not multiplexed). */
int engine_container_tty(struct engine *eng, const char *ref, int *tty, struct err **e);
/* {"Containers": N, "ContainersRunning": N, "ContainersPaused": N,
 * "ContainersStopped": N} for /info */
json_t *engine_container_counts(struct engine *eng);
/* The id of a container created from image_id (running ones first), or
 * NULL: rmi refuses images in use.  *running tells which. */
char *engine_image_user(struct engine *eng, const char *image_id, int *running);

/* ---- containers: I/O and inspection [logs.c attach.c stats.c archive.c] ---- */

/* Output of logs and attach: stream 1 stdout, 2 stderr.  A negative
 * return (the client went away) ends the call. */
typedef int (*engine_out_fn)(void *ctx, int stream, const void *buf, size_t n);

struct engine_logs_opts {
        int out, err;         /* which streams */
        int follow;           /* keep going until the container stops */
        int timestamps;       /* prefix each line with RFC3339Nano time and a space */
        int64_t since, until; /* unix nanoseconds; 0: unbounded */
        long tail;            /* last N lines; < 0: all */
};
/* GET /containers/{id}/logs from the json-file log (and its rotated files) */
int engine_container_logs(struct engine *eng, const char *ref, const struct engine_logs_opts *o,
                          engine_out_fn out, void *ctx, struct err **e);

struct engine_attach_opts {
        int in, out, err; /* stdin, stdout, stderr */
        int logs;         /* replay the log first */
        int stream;       /* then stream live output */
        const char *detach_keys; /* "ctrl-p,ctrl-q" (default when NULL) */
};
/* POST /containers/{id}/attach on a hijacked connection `fd`: forwards
 * what the client sends to the container's stdin (if opts->in and the
 * container has OpenStdin; StdinOnce closes it when this attach ends),
 * writes output to fd (multiplexed 8-byte-header frames unless the
 * container has a tty), until the container exits, the client hangs up,
 * or it sends the detach keys.  Blocks. */
int engine_container_attach(struct engine *eng, const char *ref,
                            const struct engine_attach_opts *o, int fd, struct err **e);
/* The same, with the connection taken over by hijack(ctx, &fd, e) only once
 * the attach is registered (the API sends its 101 there); an error before
 * that (no such container, paused) is returned without calling it. */
int engine_container_attach_hijack(struct engine *eng, const char *ref,
                                   const struct engine_attach_opts *o,
                                   int (*hijack)(void *ctx, int *fd, struct err **e), void *hctx,
                                   struct err **e);
/* GET /containers/{id}/top: {"Titles": [...], "Processes": [[...], ...]}
 * (ps_args: ps's options, default "-ef") */
int engine_container_top(struct engine *eng, const char *ref, const char *ps_args, json_t **out,
                         struct err **e);
/* One stats sample in Docker's shape (read, preread, pids_stats,
 * cpu_stats, precpu_stats (from `prev`, a previous sample, or zeros),
 * memory_stats, blkio_stats, networks omitted, name, id). */
int engine_container_stats(struct engine *eng, const char *ref, json_t *prev, json_t **out,
                           struct err **e);
/* GET /containers/{id}/changes: [{"Path": "/x", "Kind": 0|1|2}] */
int engine_container_changes(struct engine *eng, const char *ref, json_t **out,
                             struct err **e);
/* Writers and readers for archives */
typedef int (*engine_write_fn)(void *ctx, const void *buf, size_t n);
typedef ssize_t (*engine_read_fn)(void *ctx, void *buf, size_t n);
/* HEAD/GET /containers/{id}/archive: stat of `path` inside the container
 * ({"name", "size", "mode" (Go's FileMode bits), "mtime", "linkTarget"});
 * ENOENT "Could not find the file /x in container y" when missing. */
int engine_container_path_stat(struct engine *eng, const char *ref, const char *path,
                               json_t **stat, struct err **e);
/* GET: a tar of `path` (its base name at the top) */
int engine_container_archive_get(struct engine *eng, const char *ref, const char *path,
                                 engine_write_fn w, void *ctx, struct err **e);
/* PUT: extract a tar read from r into directory `path` (which must exist:
 * ENOENT otherwise; not a directory: EINVAL); safe extraction (no escape
 * through symlinks, ..). */
int engine_container_archive_put(struct engine *eng, const char *ref, const char *path,
                                 int no_overwrite_dir_non_dir, engine_read_fn r, void *ctx,
                                 struct err **e);
/* GET /containers/{id}/export: the whole filesystem as a tar */
int engine_container_export(struct engine *eng, const char *ref, engine_write_fn w, void *ctx,
                            struct err **e);

/* ---- exec [exec.c] ---- */

/* POST /containers/{id}/exec: body is ExecConfig (AttachStdin, AttachStdout,
 * AttachStderr, DetachKeys, Tty, Env, Cmd, Privileged, User, WorkingDir).
 * 409 when the container is not running. */
int engine_exec_create(struct engine *eng, const char *ref, json_t *body, char id[65],
                       struct err **e);
/* POST /exec/{id}/start: detach: start it and return; else run it with its
 * stdio on the hijacked `fd` (framed unless Tty) until it exits.  409 if
 * already started. */
int engine_exec_start(struct engine *eng, const char *exec_id, int detach, int fd,
                      struct err **e);
/* GET /exec/{id}/json: {ID, Running, ExitCode, ProcessConfig{tty,
 * entrypoint, arguments, privileged, user}, OpenStdin, OpenStderr,
 * OpenStdout, CanRemove, ContainerID, DetachKeys, Pid} */
int engine_exec_inspect(struct engine *eng, const char *exec_id, json_t **out, struct err **e);
int engine_exec_resize(struct engine *eng, const char *exec_id, unsigned height, unsigned width,
                       struct err **e);

/* ---- events [events.c] ---- */

/* Record an event: type "container" | "image" | "network" | "volume",
 * action ("create", "start", "die", "pull", "tag", ...), actor id, and
 * attributes (name, image, exitCode...; stolen, may be NULL).  Kept in a
 * ring of the last 1024 events and sent to subscribers. */
void engine_event(struct engine *eng, const char *type, const char *action, const char *id,
                  json_t *attrs);
/* GET /events: calls emit with each event in Docker's shape (Type, Action,
 * Actor{ID, Attributes}, scope, time, timeNano, and the old status/id/from
 * fields for containers and images) matching `filters` (type, event,
 * container, image, label), first those since `since` (unix ns; 0: none
 * from the past), then live ones until `until` (0: forever).  emit is also
 * called with NULL about once a second so the caller can notice a gone
 * client; a negative return from emit ends the call (returns 0). */
int engine_events(struct engine *eng, int64_t since, int64_t until, json_t *filters,
                  int (*emit)(void *ctx, json_t *ev), void *ctx, struct err **e);

#endif

/*
 * engine internals shared by its files.  Two groups of files meet here:
 * the lifecycle (engine.c container.c lifecycle.c container_list.c events.c,
 * private helpers in lifecycle.h) and the I/O side (logs.c
 * attach.c exec.c health.c stats.c archive.c).  Each function below says
 * which side implements it.
 *
 * Locking: eng->lock guards the container table and every field of every
 * container and exec.  It is never held across slow work (mounting,
 * spawning a shim, running the runtime, reading logs): take it, mark the
 * container busy (c->busy), drop it, work, take it, update, clear busy,
 * broadcast eng->cond.  Anything waiting for a state change waits on
 * eng->cond (pthread_cond_timedwait, so that it can also poll a "client
 * gone" callback).  Shim callbacks run on the shim thread and take
 * eng->lock themselves.
 */
#ifndef BARGE_ENGINE_INTERNAL_H
#define BARGE_ENGINE_INTERNAL_H

#include <pthread.h>

#include "engine.h"
#include "ocispec.h"
#include "shim.h"

enum container_status {
        ST_CREATED,
        ST_RUNNING,
        ST_PAUSED,
        ST_RESTARTING,
        ST_EXITED,
        ST_REMOVING,
        ST_DEAD,
};

struct attacher; /* attach.c */
struct health;   /* health.c */
struct container_paths; /* lifecycle side (lifecycle.h) */
struct shim_ctx;        /* lifecycle side (lifecycle.c) */

struct container {
        char id[65];
        char *name;           /* "/name" */
        char image_id[72];    /* "sha256:<hex>" */
        char *image_ref;      /* as the client gave it ("busybox") for Config.Image */
        json_t *config;       /* merged Config (Docker's shape) */
        json_t *host_config;  /* HostConfig */
        int64_t created_ns;

        /* state (persisted) */
        enum container_status status;
        pid_t pid;
        int exit_code;
        int oom_killed;
        char *error;          /* last start error, or NULL */
        int64_t started_ns, finished_ns;
        int restart_count;
        int stopped_by_user;  /* for unless-stopped and to not restart after stop */
        int has_been_started;

        /* paths */
        char *dir;            /* <root>/containers/<id>: container.json, log, hosts... */
        char *state_dir;      /* <exec_root>/containers/<id>: the shim's state dir */
        char *rootfs;         /* <dir>/rootfs/merged while mounted (snapshot dir <dir>/rootfs) */
        char *log_path;       /* <dir>/<id>-json.log */

        /* runtime (not persisted) */
        struct shim *shim;    /* connected shim while running */
        int busy;             /* a slow operation is under way (see Locking) */
        unsigned exit_gen;    /* bumped on every exit (for next-exit waits) */
        int removed;          /* gone from the table; the struct lives while refs > 0 */
        int refs;
        struct attacher *attachers; /* attach.c's list */
        struct health *health;      /* health.c's state, or NULL */
        json_t *health_json;        /* State.Health (persisted), or NULL */
        char **exec_ids;            /* ExecIDs */
        size_t n_exec_ids;
        pthread_t restart_thread;   /* pending delayed restart, if any */
        /* lifecycle side, not persisted */
        int restart_pending;        /* a policy restart waits on a background thread */
        int64_t restart_delay_ms;   /* the next policy restart's backoff */
        int auto_removing;          /* removal is under way: no restart, no start */
        struct container_paths *paths; /* lifecycle side: files derived from the id */
        struct shim_ctx *shim_ctx;  /* lifecycle side: the context of shim's callbacks */
};

struct exec; /* exec.c */

struct engine {
        struct engine_opts o;   /* strings owned (copied at open/reload) */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct container **containers;
        size_t n_containers;
        struct exec **execs;    /* exec.c's table, under lock */
        size_t n_execs;
        struct store *store;
        pthread_mutex_t store_lock;
        int lock_fd;            /* <root>/engine.lock */
        int closing;
        /* events (events.c) */
        pthread_mutex_t ev_lock;
        pthread_cond_t ev_cond;
        json_t **ev_ring;
        size_t ev_head, ev_count;
        uint64_t ev_seq;
        /* lifecycle side: background threads (policy restarts, AutoRemove)
         * running; engine_close waits for them (under lock) */
        int bg_threads;
        /* options replaced by engine_reload, kept until close: callers may
         * still hold pointers into them (engine_registry_opts) */
        struct engine_opts *retired_opts;
        size_t n_retired_opts;
};

/* ---- lifecycle side (engine.c, container.c, lifecycle.c) ---- */

/* Find a container by ref (see engine.h) and take a reference, under
 * eng->lock (taken and released inside).  ENOENT "No such container: ref". */
struct container *container_get(struct engine *eng, const char *ref, struct err **e);
/* Drop a reference (takes eng->lock). */
void container_put(struct engine *eng, struct container *c);
/* Persist c to <dir>/container.json atomically; call with eng->lock held. */
int container_save(struct engine *eng, struct container *c, struct err **e);
/* The ocispec input for c (paths, cgroup path, init, netns...), valid while
 * c is held; for exec processes. */
void container_spec_in(struct engine *eng, struct container *c, struct ocispec_in *in);
/* Run the runtime with its --root: argv after the global flags, NULL
 * terminated.  stdout (at most 1 MiB) returned in *out if out != NULL.
 * A failure carries the runtime's stderr as the message. */
int engine_runtime(struct engine *eng, char **out, struct err **e, ...) __attribute__((sentinel));
const char *container_status_name(enum container_status st); /* "running", ... */

/* ---- I/O side (attach.c, health.c) ---- */

/* The shim's output callback of a container lands here: fan out to the
 * live attachers.  Called without eng->lock held, on the shim thread. */
void attach_broadcast(struct engine *eng, struct container *c, int stream, const void *buf,
                      size_t n);
/* The container exited (or was removed): wake its attachers so their
 * attach calls return.  Called with eng->lock held. */
void attach_container_exited(struct engine *eng, struct container *c);
/* The container's shim is set (its process started): wake its attachers
 * so that stdin they received before the start reaches it.  Called with
 * eng->lock held, does not block. */
void attach_container_started(struct engine *eng, struct container *c);
/* Start / stop the healthcheck of a running container (HEALTHCHECK from
 * Config.Healthcheck); called with eng->lock held, must not block. */
void health_start(struct engine *eng, struct container *c);
void health_stop(struct engine *eng, struct container *c);
/* Free what exec.c keeps for c's execs when c is removed (eng->lock held). */
void exec_container_removed(struct engine *eng, struct container *c);

/* ---- events side ---- */
int events_init(struct engine *eng);
void events_free(struct engine *eng);

#endif

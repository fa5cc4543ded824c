/*
 * engine/lifecycle: helpers private to the lifecycle side (engine.c,
 * container.c, container_list.c, events.c); the I/O side uses internal.h
 * only.
 */
#ifndef BARGE_ENGINE_LIFECYCLE_H
#define BARGE_ENGINE_LIFECYCLE_H

#include <stdint.h>

#include "internal.h"

/* Wall clock in unix nanoseconds. */
int64_t now_ns(void);
/* RFC3339Nano in UTC as Go prints it; 0 -> "0001-01-01T00:00:00Z". */
void fmt_time(int64_t ns, char buf[40]);
/* Parse what fmt_time writes (and RFC3339 with offsets); 0 on success. */
int parse_time(const char *s, int64_t *ns);
/* Docker's filter values of `key` in {"k": ["v"]} or {"k": {"v": true}}:
 * a new JSON array of strings, or NULL when the key is absent. */
json_t *filter_values(json_t *filters, const char *key);
/* EINVAL "invalid filter 'x'" unless every key is in `allowed` (NULL
 * terminated).  Also rejects a filters value that is not an object. */
int filter_check(json_t *filters, const char *const *allowed, struct err **e);
/* label filter: "key" or "key=value" against a Labels object */
int filter_label_match(json_t *labels, const char *want);

/* ---- container.c ---- */
/* Files of a container besides those in struct container (owned by it). */
struct container_paths {
        char *hostname, *hosts, *resolv; /* <dir>/hostname, hosts, resolv.conf */
        char *bundle;                    /* <dir>/bundle (config.json) */
        char *cgroup;                    /* <cgroup_parent>/<id> */
        /* namespaces to join (NetworkMode/IpcMode/PidMode container:x),
         * resolved at start; "" when none */
        char netns[64], ipcns[64], pidns[64];
};
struct container_paths *container_paths(struct engine *eng, struct container *c);
void container_set_paths(struct engine *eng, struct container *c);
void container_new_id(struct engine *eng, char id[65]);
struct container *container_by_name_locked(struct engine *eng, const char *bare);
/* EEXIST with Docker's message when `bare` (no "/") is taken */
int name_conflict(struct engine *eng, const char *bare, struct err **e);
void table_add_locked(struct engine *eng, struct container *c);
void table_remove_locked(struct engine *eng, struct container *c);
void container_put_locked(struct engine *eng, struct container *c);

/* Load <dir>/container.json (engine_open). */
int container_load(struct engine *eng, const char *id, struct container **out, struct err **e);
void container_free(struct container *c);
/* Reconcile a loaded container with its shim: reconnect, or record the
 * exit it had while barged was away.  Sets *apply_policy when the
 * restart policy should now be applied.  Called before the engine serves. */
void container_recover(struct engine *eng, struct container *c, int *apply_policy);
/* Apply the restart policy / AutoRemove to a container that is not
 * running (after recovery). eng->lock held. */
void container_after_exit(struct engine *eng, struct container *c, int from_recovery);
/* The container table (eng->lock held): lookup without references. */
struct container *container_find_locked(struct engine *eng, const char *ref, int *ambiguous);
/* Background threads (restarts, auto-removal): engine_close waits for them. */
void engine_bg_begin(struct engine *eng);
void engine_bg_end(struct engine *eng);
/* The restart policy's name ("no", "always", "unless-stopped",
 * "on-failure") and MaximumRetryCount. */
const char *container_restart_policy(struct container *c, int *max_retries);
/* Human time like Docker's "3 seconds", "About a minute" */
void human_duration(int64_t ns, char *buf, size_t n);

#endif

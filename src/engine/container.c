/*
 * engine/container: the container table and what every container owns on
 * disk (<root>/containers/<id>/container.json, written atomically and
 * last at create so that a crash leaves either a whole container or a
 * directory engine_open sweeps), lookups by id, name or id prefix, and
 * references (container_get/put).  The state machine itself (start,
 * stop, exits, restart policies, removal) is in lifecycle.c; inspect and
 * list in container_list.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "../common/util.h"
#include "lifecycle.h"

static const char *const status_names[] = {
    [ST_CREATED] = "created", [ST_RUNNING] = "running",
    [ST_PAUSED] = "paused",   [ST_RESTARTING] = "restarting",
    [ST_EXITED] = "exited",   [ST_REMOVING] = "removing",
    [ST_DEAD] = "dead",
};

const char *container_status_name(enum container_status st)
{
        if ((size_t)st >= ARRAY_SIZE(status_names))
                return "unknown";
        return status_names[st];
}

static int status_parse(const char *s, enum container_status *st)
{
        for (size_t i = 0; s && i < ARRAY_SIZE(status_names); i++) {
                if (strcmp(status_names[i], s) == 0) {
                        *st = (enum container_status)i;
                        return 0;
                }
        }
        return -1;
}

void container_free(struct container *c)
{
        if (c == NULL)
                return;
        free(c->name);
        free(c->image_ref);
        json_decref(c->config);
        json_decref(c->host_config);
        free(c->error);
        free(c->dir);
        free(c->state_dir);
        free(c->rootfs);
        free(c->log_path);
        json_decref(c->health_json);
        if (c->paths) {
                free(c->paths->hostname);
                free(c->paths->hosts);
                free(c->paths->resolv);
                free(c->paths->bundle);
                free(c->paths->cgroup);
                free(c->paths);
        }
        for (size_t i = 0; i < c->n_exec_ids; i++)
                free(c->exec_ids[i]);
        free(c->exec_ids);
        free(c);
}

/* Paths derived from the id (set at create and at load). */
void container_set_paths(struct engine *eng, struct container *c)
{
        c->dir = xasprintf("%s/containers/%s", eng->o.root, c->id);
        c->state_dir = xasprintf("%s/containers/%s", eng->o.exec_root, c->id);
        c->rootfs = xasprintf("%s/rootfs/merged", c->dir);
        c->log_path = xasprintf("%s/%s-json.log", c->dir, c->id);
        struct container_paths *p = xcalloc(1, sizeof(*p));
        p->hostname = xasprintf("%s/hostname", c->dir);
        p->hosts = xasprintf("%s/hosts", c->dir);
        p->resolv = xasprintf("%s/resolv.conf", c->dir);
        p->bundle = xasprintf("%s/bundle", c->dir);
        const char *parent = eng->o.cgroup_parent ? eng->o.cgroup_parent : "/barge";
        p->cgroup = xasprintf("%s%s/%s", parent[0] == '/' ? "" : "/", parent, c->id);
        c->paths = p;
}

struct container_paths *container_paths(struct engine *eng, struct container *c)
{
        if (c->paths == NULL)
                container_set_paths(eng, c);
        return c->paths;
}

struct container *container_find_locked(struct engine *eng, const char *ref, int *ambiguous)
{
        if (ambiguous)
                *ambiguous = 0;
        if (ref == NULL || ref[0] == '\0')
                return NULL;
        for (size_t i = 0; i < eng->n_containers; i++)
                if (strcmp(eng->containers[i]->id, ref) == 0)
                        return eng->containers[i];
        const char *bare = ref[0] == '/' ? ref + 1 : ref;
        for (size_t i = 0; i < eng->n_containers; i++)
                if (strcmp(eng->containers[i]->name + 1, bare) == 0)
                        return eng->containers[i];
        struct container *found = NULL;
        for (size_t i = 0; i < eng->n_containers; i++) {
                if (str_has_prefix(eng->containers[i]->id, ref)) {
                        if (found) {
                                if (ambiguous)
                                        *ambiguous = 1;
                                return NULL;
                        }
                        found = eng->containers[i];
                }
        }
        return found;
}

struct container *container_get(struct engine *eng, const char *ref, struct err **e)
{
        int amb = 0;
        pthread_mutex_lock(&eng->lock);
        struct container *c = container_find_locked(eng, ref, &amb);
        if (c)
                c->refs++;
        pthread_mutex_unlock(&eng->lock);
        if (c == NULL) {
                if (amb)
                        err_new(e, EINVAL, "multiple IDs found with provided prefix: %s", ref);
                else
                        err_new(e, ENOENT, "No such container: %s", ref ? ref : "");
        }
        return c;
}

void container_put_locked(struct engine *eng, struct container *c)
{
        (void)eng;
        if (--c->refs <= 0 && c->removed)
                container_free(c);
}

void container_put(struct engine *eng, struct container *c)
{
        if (c == NULL)
                return;
        pthread_mutex_lock(&eng->lock);
        container_put_locked(eng, c);
        pthread_mutex_unlock(&eng->lock);
}

/* ---- persistence ---- */

static json_t *json_str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

int container_save(struct engine *eng, struct container *c, struct err **e)
{
        (void)eng;
        /* a removal unlinks the record first: never bring it back */
        if (c->removed || c->status == ST_REMOVING)
                return 0;
        json_t *state = json_pack(
            "{s:s, s:i, s:i, s:b, s:o, s:I, s:I, s:b, s:b}", "Status",
            container_status_name(c->status), "Pid", (int)c->pid, "ExitCode", c->exit_code,
            "OOMKilled", c->oom_killed, "Error", json_str_or_null(c->error), "StartedAt",
            (json_int_t)c->started_ns, "FinishedAt", (json_int_t)c->finished_ns, "StoppedByUser",
            c->stopped_by_user, "HasBeenStarted", c->has_been_started);
        if (c->health_json)
                json_object_set(state, "Health", c->health_json);
        json_t *root =
            json_pack("{s:i, s:s, s:s, s:s, s:s, s:O, s:O, s:I, s:o, s:i}", "Version", 1, "Id",
                      c->id, "Name", c->name, "ImageID", c->image_id, "Image", c->image_ref,
                      "Config", c->config, "HostConfig", c->host_config, "Created",
                      (json_int_t)c->created_ns, "State", state, "RestartCount", c->restart_count);
        if (root == NULL)
                return err_new(e, EINVAL, "container %s: cannot encode its state", c->id);
        char *data = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        _cleanup_free_ char *path = xasprintf("%s/container.json", c->dir);
        int r = write_file_atomic(path, data, strlen(data), 0600, e);
        free(data);
        return r;
}

int container_load(struct engine *eng, const char *id, struct container **out, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/containers/%s/container.json", eng->o.root, id);
        json_error_t je;
        json_t *root = json_load_file(path, 0, &je);
        if (root == NULL)
                return err_new(e, EINVAL, "%s: %s", path, je.text);
        const char *name = NULL, *image_id = NULL, *image = NULL, *status = NULL;
        json_t *config = NULL, *hc = NULL, *health = NULL, *error = NULL;
        json_int_t created = 0, started = 0, finished = 0;
        int pid = 0, code = 0, oom = 0, stopped = 0, started_before = 0, count = 0;
        if (json_unpack_ex(root, &je, 0,
                           "{s:s, s:s, s:s, s:o, s:o, s:I, s:{s:s, s?i, s?i, s?b, s?o, s?I, s?I, "
                           "s?b, s?b, s?o}, s?i}",
                           "Name", &name, "ImageID", &image_id, "Image", &image, "Config", &config,
                           "HostConfig", &hc, "Created", &created, "State", "Status", &status,
                           "Pid", &pid, "ExitCode", &code, "OOMKilled", &oom, "Error", &error,
                           "StartedAt", &started, "FinishedAt", &finished, "StoppedByUser",
                           &stopped, "HasBeenStarted", &started_before, "Health", &health,
                           "RestartCount", &count) < 0 ||
            !json_is_object(config) || !json_is_object(hc)) {
                json_decref(root);
                return err_new(e, EINVAL, "%s: bad container record: %s", path, je.text);
        }
        struct container *c = xcalloc(1, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", id);
        c->name = xstrdup(name);
        snprintf(c->image_id, sizeof(c->image_id), "%s", image_id);
        c->image_ref = xstrdup(image);
        c->config = json_incref(config);
        c->host_config = json_incref(hc);
        c->created_ns = created;
        if (status_parse(status, &c->status) < 0)
                c->status = ST_EXITED;
        c->pid = pid;
        c->exit_code = code;
        c->oom_killed = oom;
        c->error = json_is_string(error) ? xstrdup(json_string_value(error)) : NULL;
        c->started_ns = started;
        c->finished_ns = finished;
        c->stopped_by_user = stopped;
        c->has_been_started = started_before;
        c->restart_count = count;
        if (json_is_object(health))
                c->health_json = json_incref(health);
        container_set_paths(eng, c);
        json_decref(root);
        *out = c;
        return 0;
}

/* ---- spec input ---- */

void container_spec_in(struct engine *eng, struct container *c, struct ocispec_in *in)
{
        memset(in, 0, sizeof(*in));
        in->id = c->id;
        in->config = c->config;
        in->host_config = c->host_config;
        in->rootfs = c->rootfs;
        /* these live as long as c: kept in the container's own buffers */
        struct container_paths *p = container_paths(eng, c);
        in->hostname_path = p->hostname;
        in->hosts_path = p->hosts;
        in->resolv_path = p->resolv;
        in->init_path = eng->o.init_path;
        in->cgroup_path = p->cgroup;
        in->netns_path = p->netns[0] ? p->netns : NULL;
        in->ipcns_path = p->ipcns[0] ? p->ipcns : NULL;
        in->pidns_path = p->pidns[0] ? p->pidns : NULL;
}

/* ---- ids and names ---- */

void container_new_id(struct engine *eng, char id[65])
{
        for (;;) {
                unsigned char b[32];
                if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
                        for (size_t i = 0; i < sizeof(b); i++)
                                b[i] = (unsigned char)rand();
                }
                for (size_t i = 0; i < 32; i++)
                        snprintf(id + 2 * i, 3, "%02x", b[i]);
                /* Docker avoids short ids that read as numbers */
                if (strspn(id, "0123456789") >= 12)
                        continue;
                int dup = 0;
                for (size_t i = 0; i < eng->n_containers; i++)
                        if (strncmp(eng->containers[i]->id, id, 12) == 0)
                                dup = 1;
                if (!dup)
                        return;
        }
}

struct container *container_by_name_locked(struct engine *eng, const char *bare)
{
        for (size_t i = 0; i < eng->n_containers; i++)
                if (strcmp(eng->containers[i]->name + 1, bare) == 0)
                        return eng->containers[i];
        return NULL;
}

int name_conflict(struct engine *eng, const char *bare, struct err **e)
{
        struct container *o = container_by_name_locked(eng, bare);
        if (o == NULL)
                return 0;
        return err_new(e, EEXIST,
                       "Conflict. The container name \"/%s\" is already in use by container "
                       "\"%s\". You have to remove (or rename) that container to be able to "
                       "reuse that name.",
                       bare, o->id);
}

void table_remove_locked(struct engine *eng, struct container *c)
{
        for (size_t i = 0; i < eng->n_containers; i++) {
                if (eng->containers[i] == c) {
                        memmove(&eng->containers[i], &eng->containers[i + 1],
                                (eng->n_containers - i - 1) * sizeof(*eng->containers));
                        eng->n_containers--;
                        break;
                }
        }
        c->removed = 1;
}

void table_add_locked(struct engine *eng, struct container *c)
{
        struct container **v =
            realloc(eng->containers, (eng->n_containers + 1) * sizeof(*eng->containers));
        if (v == NULL)
                abort();
        eng->containers = v;
        eng->containers[eng->n_containers++] = c;
}

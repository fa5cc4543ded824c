/*
 * state: a container's on-disk state under <root>/<id>/.  state.json is
 * written once, atomically, when create succeeds; the status is never
 * stored but derived each time from the init process (alive, same start
 * time as recorded), the exec fifo (present until start) and the freezer.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "cgroup.h"

int state_check_id(const char *id, struct err **e)
{
        if (id == NULL || *id == '\0')
                return err_new(e, 0, "container id must not be empty");
        if (strlen(id) > 1024)
                return err_new(e, 0, "container id is too long");
        for (const char *p = id; *p; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
                      ('0' <= *p && *p <= '9') || strchr("_+-.", *p)))
                        return err_new(e, 0,
                                       "invalid container id %s: use letters, digits and _+-.", id);
        if (!strcmp(id, ".") || !strcmp(id, ".."))
                return err_new(e, 0, "invalid container id %s", id);
        return 0;
}

char *state_path(const struct rt_ctx *ctx, const char *id, const char *file)
{
        if (file)
                return xasprintf("%s/%s/%s", ctx->root, id, file);
        return xasprintf("%s/%s", ctx->root, id);
}

static char *jstr(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? xstrdup(s) : NULL;
}

int state_load(const struct rt_ctx *ctx, const char *id, struct cstate **out, struct err **e)
{
        if (state_check_id(id, e) < 0)
                return -1;
        _cleanup_free_ char *path = state_path(ctx, id, "state.json");
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        if (j == NULL) {
                if (access(path, F_OK) < 0)
                        return err_new(e, ENOENT, "container %s does not exist", id);
                return err_new(e, 0, "container %s: corrupt state %s: %s", id, path, je.text);
        }
        struct cstate *st = xcalloc(1, sizeof(*st));
        st->id = xstrdup(id);
        st->dir = state_path(ctx, id, NULL);
        st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
        st->start_time = (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
        st->bundle = jstr(j, "bundle");
        st->rootfs = jstr(j, "rootfs");
        st->created = jstr(j, "created");
        st->owner = (uid_t)json_integer_value(json_object_get(j, "owner"));
        st->annotations = json_incref(json_object_get(j, "annotations"));
        st->cgroup = json_incref(json_object_get(j, "cgroup"));
        st->creator = (pid_t)json_integer_value(json_object_get(j, "creator"));
        st->creator_start =
            (unsigned long long)json_integer_value(json_object_get(j, "creator_start"));
        json_decref(j);
        *out = st;
        return 0;
}

int state_save(const struct cstate *st, struct err **e)
{
        json_t *j =
            json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:I}", "id", st->id, "pid", (json_int_t)st->pid,
                      "start_time", (json_int_t)st->start_time, "bundle", st->bundle, "rootfs",
                      st->rootfs, "created", st->created, "owner", (json_int_t)st->owner);
        if (st->annotations)
                json_object_set(j, "annotations", st->annotations);
        if (st->cgroup)
                json_object_set(j, "cgroup", st->cgroup);
        if (st->creator > 0) {
                json_object_set_new(j, "creator", json_integer(st->creator));
                json_object_set_new(j, "creator_start",
                                    json_integer((json_int_t)st->creator_start));
        }
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        _cleanup_free_ char *path = xasprintf("%s/state.json", st->dir);
        return write_file_atomic(path, text, strlen(text), 0600, e);
}

void cstate_free(struct cstate *st)
{
        if (st == NULL)
                return;
        free(st->id);
        free(st->dir);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        json_decref(st->annotations);
        json_decref(st->cgroup);
        free(st);
}

int proc_start_time(pid_t pid, unsigned long long *start, char *state_char)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return -1;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* comm may contain spaces and parentheses: fields start after the last ')' */
        char *p = strrchr(buf, ')');
        if (p == NULL)
                return -1;
        char st;
        unsigned long long t;
        /* after ") ": state(3) ... starttime is field 22 */
        if (sscanf(p + 2,
                   "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                   "%*d %llu",
                   &st, &t) != 2)
                return -1;
        if (start)
                *start = t;
        if (state_char)
                *state_char = st;
        return 0;
}

enum cstatus state_status(const struct cstate *st)
{
        unsigned long long t;
        char c;
        if (st->pid <= 0)
                return st->creator > 0 && proc_start_time(st->creator, &t, &c) == 0 &&
                               t == st->creator_start && c != 'Z'
                           ? ST_CREATING
                           : ST_STOPPED;
        if (proc_start_time(st->pid, &t, &c) < 0 || t != st->start_time || c == 'Z' || c == 'X')
                return ST_STOPPED;
        _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
        if (access(fifo, F_OK) == 0)
                return ST_CREATED;
        if (st->cgroup) {
                struct cgroup *cg = NULL;
                struct err *e = NULL;
                int frozen = 0;
                if (cgroup_from_json(st->cgroup, &cg, &e) == 0)
                        frozen = cgroup_is_frozen(cg);
                cgroup_free(cg);
                err_free(&e);
                if (frozen)
                        return ST_PAUSED;
        }
        return ST_RUNNING;
}

const char *status_name(enum cstatus s)
{
        static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
        return names[s];
}

json_t *state_to_oci(const struct cstate *st)
{
        enum cstatus s = state_status(st);
        json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "ociVersion", "1.0.2", "id",
                              st->id, "status", status_name(s), "pid",
                              (json_int_t)(s == ST_STOPPED ? 0 : st->pid), "bundle", st->bundle,
                              "rootfs", st->rootfs, "created", st->created, "owner", "");
        json_object_set_new(j, "annotations",
                            st->annotations ? json_deep_copy(st->annotations) : json_object());
        return j;
}

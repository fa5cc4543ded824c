/*
 * engine/events: the events stream.  The last 1024 events live in a ring
 * (eng->ev_ring, guarded by eng->ev_lock, never by eng->lock so that an
 * event can be recorded with the container lock held); subscribers of GET
 * /events wait on eng->ev_cond and copy what is new under the lock, then
 * emit it without the lock (a slow client must not stall the engine).
 * Events are kept in Docker's shape so that the route only serializes.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../common/util.h"
#include "lifecycle.h"

#define EV_RING 1024

int events_init(struct engine *eng)
{
        pthread_mutex_init(&eng->ev_lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&eng->ev_cond, &ca);
        pthread_condattr_destroy(&ca);
        eng->ev_ring = xcalloc(EV_RING, sizeof(json_t *));
        eng->ev_head = eng->ev_count = 0;
        eng->ev_seq = 0;
        return 0;
}

void events_free(struct engine *eng)
{
        if (eng->ev_ring == NULL)
                return;
        for (size_t i = 0; i < EV_RING; i++)
                json_decref(eng->ev_ring[i]);
        free(eng->ev_ring);
        eng->ev_ring = NULL;
        pthread_cond_destroy(&eng->ev_cond);
        pthread_mutex_destroy(&eng->ev_lock);
}

void engine_event(struct engine *eng, const char *type, const char *action, const char *id,
                  json_t *attrs)
{
        if (attrs == NULL)
                attrs = json_object();
        int64_t ns = now_ns();
        json_t *ev = json_object();
        int old_style = strcmp(type, "container") == 0 || strcmp(type, "image") == 0;
        if (old_style) {
                json_object_set_new(ev, "status", json_string(action));
                json_object_set_new(ev, "id", json_string(id ? id : ""));
                json_t *img = json_object_get(attrs, "image");
                if (strcmp(type, "container") == 0 && json_is_string(img))
                        json_object_set(ev, "from", img);
        }
        json_object_set_new(ev, "Type", json_string(type));
        json_object_set_new(ev, "Action", json_string(action));
        json_object_set_new(ev, "Actor",
                            json_pack("{s:s, s:o}", "ID", id ? id : "", "Attributes", attrs));
        json_object_set_new(ev, "scope", json_string("local"));
        json_object_set_new(ev, "time", json_integer(ns / 1000000000));
        json_object_set_new(ev, "timeNano", json_integer(ns));

        pthread_mutex_lock(&eng->ev_lock);
        size_t slot = eng->ev_seq % EV_RING;
        json_decref(eng->ev_ring[slot]);
        eng->ev_ring[slot] = ev;
        eng->ev_seq++;
        if (eng->ev_count < EV_RING)
                eng->ev_count++;
        pthread_cond_broadcast(&eng->ev_cond);
        pthread_mutex_unlock(&eng->ev_lock);
}

static int any_match(json_t *vals, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
                if (s && strcmp(json_string_value(v), s) == 0)
                        return 1;
        }
        return 0;
}

struct ev_filters {
        json_t *type, *event, *container, *image, *label;
};

static int event_matches(const struct ev_filters *f, json_t *ev)
{
        const char *type = json_string_value(json_object_get(ev, "Type"));
        const char *action = json_string_value(json_object_get(ev, "Action"));
        json_t *actor = json_object_get(ev, "Actor");
        const char *id = json_string_value(json_object_get(actor, "ID"));
        json_t *attrs = json_object_get(actor, "Attributes");
        if (f->type && !any_match(f->type, type))
                return 0;
        if (f->event) {
                /* "exec_start: sh" matches the filter "exec_start" */
                char base[64];
                snprintf(base, sizeof(base), "%s", action ? action : "");
                char *colon = strchr(base, ':');
                if (colon)
                        *colon = '\0';
                if (!any_match(f->event, action) && !any_match(f->event, base))
                        return 0;
        }
        if (f->container) {
                if (!type || strcmp(type, "container") != 0)
                        return 0;
                const char *name = json_string_value(json_object_get(attrs, "name"));
                size_t i;
                json_t *v;
                int ok = 0;
                json_array_foreach(f->container, i, v)
                {
                        const char *w = json_string_value(v);
                        if ((id && str_has_prefix(id, w) && strlen(w) > 0) ||
                            (name && strcmp(name, w[0] == '/' ? w + 1 : w) == 0))
                                ok = 1;
                }
                if (!ok)
                        return 0;
        }
        if (f->image) {
                const char *img = json_string_value(json_object_get(attrs, "image"));
                if (type && strcmp(type, "image") == 0)
                        img = id;
                const char *aname = json_string_value(json_object_get(attrs, "name"));
                if (!any_match(f->image, img) &&
                    !(type && strcmp(type, "image") == 0 && any_match(f->image, aname)))
                        return 0;
        }
        if (f->label) {
                size_t i;
                json_t *v;
                json_array_foreach(f->label, i, v)
                {
                        if (!filter_label_match(attrs, json_string_value(v)))
                                return 0;
                }
        }
        return 1;
}

int engine_events(struct engine *eng, int64_t since, int64_t until, json_t *filters,
                  int (*emit)(void *ctx, json_t *ev), void *ctx, struct err **e)
{
        static const char *const allowed[] = {"type",    "event",  "container", "image",  "label",
                                              "network", "volume", "daemon",    "plugin", "node",
                                              "service", "config", "secret",    "scope",  NULL};
        if (filter_check(filters, allowed, e) < 0)
                return -1;
        struct ev_filters f = {
            filter_values(filters, "type"),      filter_values(filters, "event"),
            filter_values(filters, "container"), filter_values(filters, "image"),
            filter_values(filters, "label"),
        };
        int ret = 0;
        pthread_mutex_lock(&eng->ev_lock);
        /* a time bound asks for history too, as Docker does */
        uint64_t next = since > 0 || until > 0 ? eng->ev_seq - eng->ev_count : eng->ev_seq;
        int done = 0;
        while (!done) {
                /* copy what is new, emit it unlocked */
                size_t n = (size_t)(eng->ev_seq - next);
                json_t **batch = n ? xcalloc(n, sizeof(json_t *)) : NULL;
                for (size_t i = 0; i < n; i++)
                        batch[i] = json_incref(eng->ev_ring[(next + i) % EV_RING]);
                next = eng->ev_seq;
                int closing = eng->closing;
                pthread_mutex_unlock(&eng->ev_lock);

                int64_t now = now_ns();
                for (size_t i = 0; i < n; i++) {
                        json_t *ev = batch[i];
                        int64_t t = json_integer_value(json_object_get(ev, "timeNano"));
                        if (!done && (since <= 0 || t >= since) && (until <= 0 || t <= until) &&
                            event_matches(&f, ev) && emit(ctx, ev) < 0)
                                done = 1;
                        json_decref(ev);
                }
                free(batch);
                if (!done && ((until > 0 && now >= until) || closing))
                        done = 1;
                if (!done && emit(ctx, NULL) < 0)
                        done = 1;

                pthread_mutex_lock(&eng->ev_lock);
                if (done)
                        break;
                if (eng->ev_seq == next) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        ts.tv_sec += 1;
                        pthread_cond_timedwait(&eng->ev_cond, &eng->ev_lock, &ts);
                }
        }
        pthread_mutex_unlock(&eng->ev_lock);
        json_decref(f.type);
        json_decref(f.event);
        json_decref(f.container);
        json_decref(f.image);
        json_decref(f.label);
        (void)e;
        return ret;
}

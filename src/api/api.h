/*
 * api: the Docker Engine API (v1.41) over http.h and engine.h.  Each group
 * of routes is a file exporting its table: containers.c (containers, the
 * /containers/.../exec creation), exec.c (/exec/...), images.c (images,
 * /auth), system.c (/_ping, /version, /info, /events, /system/df).
 * api.c puts the tables together and serves them.
 */
#ifndef BARGE_API_H
#define BARGE_API_H

#include "../engine/engine.h"
#include "http.h"

extern const struct http_route api_container_routes[];
extern const struct http_route api_exec_routes[];
extern const struct http_route api_image_routes[];
extern const struct http_route api_system_routes[];

/* The engine behind a request (http_ctx). */
static inline struct engine *api_engine(struct http_req *r)
{
        return (struct engine *)http_ctx(r);
}

/* Docker's since/until timestamps: unix seconds with an optional fraction
 * ("1700000000.5") or RFC 3339; NULL or "" gives 0 (unbounded).  Bad ones
 * fail with EINVAL naming the parameter `name`.  [system.c] */
int api_parse_time(const char *name, const char *s, int64_t *ns, struct err **e);

/* Serve every route on listen_fd for `eng`. */
int api_serve(struct engine *eng, int listen_fd, struct http_server **out, struct err **e);

/* barge's version, for /version and the Server header */
#define BARGE_VERSION "0.2.0"

#endif

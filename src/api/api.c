/*
 * api: one route table out of the groups' tables (see api.h).
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

static size_t table_len(const struct http_route *t)
{
        size_t n = 0;
        while (t[n].method)
                n++;
        return n;
}

int api_serve(struct engine *eng, int listen_fd, struct http_server **out, struct err **e)
{
        /* built once, lives as long as the process (the server keeps a pointer) */
        static struct http_route *all;
        if (!all) {
                const struct http_route *groups[] = {api_system_routes, api_container_routes,
                                                     api_exec_routes, api_image_routes};
                size_t n = 0;
                for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
                        n += table_len(groups[i]);
                all = xcalloc(n + 1, sizeof(*all));
                n = 0;
                for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
                        size_t k = table_len(groups[i]);
                        memcpy(all + n, groups[i], k * sizeof(*all));
                        n += k;
                }
        }
        return http_server_start(listen_fd, all, eng, out, e);
}

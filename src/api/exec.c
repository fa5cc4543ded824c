/*
 * api/exec: the /exec/{id}/... routes (an exec is created by POST
 * /containers/{id}/exec in containers.c).  Start either runs the process
 * detached, or takes the connection over and runs it with its stdio on
 * the socket (framed unless the exec has a TTY) until it exits.
 */
#include <errno.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api.h"

static const char *id_of(struct http_req *r)
{
        return http_param(r, "id");
}

/* After the hijack there is no status line left to carry an error: Docker
 * writes it to the client's stdout followed by CRLF. */
static void write_error(int fd, int tty, const char *msg)
{
        _cleanup_free_ char *text = xasprintf("%s\r\n", msg);
        size_t n = strlen(text);
        if (!tty) {
                /* a stdout frame: stream 1, three zeros, big-endian length */
                unsigned char h[8] = {1};
                for (int i = 0; i < 4; i++)
                        h[4 + i] = (unsigned char)(n >> (24 - 8 * i));
                if (write_all(fd, h, sizeof(h)) < 0)
                        return;
        }
        (void)write_all(fd, text, n);
}

static void start(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        json_t *body = NULL, *info = NULL;
        if (http_body_json(r, &body, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return;
        }
        if (body && !json_is_object(body)) {
                json_decref(body);
                http_reply_error(r, 400, "invalid JSON body: expected an object");
                return;
        }
        int detach = json_is_true(json_object_get(body, "Detach"));
        json_decref(body);

        /* 404 and 409 while a status line can still say so */
        if (engine_exec_inspect(eng, id_of(r), &info, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        int running = json_is_true(json_object_get(info, "Running"));
        int tty = json_is_true(json_object_get(json_object_get(info, "ProcessConfig"), "tty"));
        json_decref(info);
        if (running) {
                http_reply_error(r, 409, "Error: Exec command %s is already running", id_of(r));
                return;
        }

        if (detach) {
                if (engine_exec_start(eng, id_of(r), 1, -1, &e) < 0)
                        http_reply_err(r, e);
                else
                        http_reply_empty(r, 200);
                return;
        }
        int fd;
        if (http_hijack(r,
                        tty ? "application/vnd.docker.raw-stream"
                            : "application/vnd.docker.multiplexed-stream",
                        &fd, &e) < 0) {
                log_warn("exec start %s: %s", id_of(r), e->msg);
                return;
        }
        if (engine_exec_start(eng, id_of(r), 0, fd, &e) < 0) {
                log_debug("exec start %s: %s", id_of(r), e->msg);
                write_error(fd, tty, e->msg);
        }
        http_hijack_done(r);
}

static void resize(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        long long h, w;
        if (http_query_int(r, "h", -1, &h, &e) < 0 || http_query_int(r, "w", -1, &w, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return;
        }
        if (h < 0 || w < 0 || h > UINT16_MAX || w > UINT16_MAX) {
                http_reply_error(r, 400, "invalid value for %s: need 0..65535",
                                 h < 0 || h > UINT16_MAX ? "h" : "w");
                return;
        }
        if (engine_exec_resize(api_engine(r), id_of(r), (unsigned)h, (unsigned)w, &e) < 0)
                http_reply_err(r, e);
        else
                http_reply_empty(r, 200);
}

static void inspect(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *out = NULL;
        if (engine_exec_inspect(api_engine(r), id_of(r), &out, &e) < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

const struct http_route api_exec_routes[] = {
    {"POST", "/exec/{id}/start", start, 0},
    {"POST", "/exec/{id}/resize", resize, 0},
    {"GET", "/exec/{id}/json", inspect, 0},
    {NULL, NULL, NULL, 0},
};

/*
 * api/http: the HTTP/1.1 server barged serves the Engine API with, over
 * libmicrohttpd (thread per connection).  It owns sockets, request parsing,
 * routing, the Engine API's version prefix and common headers, and the three
 * ways a handler answers: a whole body, a stream, or a hijacked connection.
 * It knows nothing about containers or images (routes live beside it).
 *
 * Handlers run on a thread of their own and may block (wait, logs -f,
 * events, attach).  A handler answers exactly once: one http_reply_*, or
 * http_stream_begin .. http_stream_end, or http_hijack; a handler that
 * returns without answering gets a 500.
 *
 * The process must ignore SIGPIPE (barged does): a handler writing to a
 * hijacked socket whose client left gets EPIPE, not a signal.
 */
#ifndef BARGE_API_HTTP_H
#define BARGE_API_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

/* The Engine API version barged speaks, and the oldest it accepts. */
#define API_VERSION "1.41"
#define API_MIN_VERSION "1.24"

struct http_server;
struct http_req;

typedef void (*http_handler_fn)(struct http_req *r);

/* HTTP_STREAM_BODY: the body is not buffered; the handler reads it with
 * http_body_read while it arrives (image load, PUT archive, import).
 * Otherwise the body is read whole (at most 16 MiB, else 413) before the
 * handler runs. */
enum { HTTP_STREAM_BODY = 1 };

/* A route: METHOD and a path pattern without the version prefix.  "{name}"
 * matches one path segment; "{name*}" matches one or more segments (image
 * names have slashes: "/images/{name*}/json"), the rest of the pattern must
 * then match the rest of the path.  Routes are tried in order. */
struct http_route {
        const char *method;
        const char *pattern;
        http_handler_fn fn;
        int flags;
};

/* Serve `routes` (terminated by an entry with method NULL) on listen_fd, a
 * listening socket (AF_UNIX or TCP) the server takes over.  `ctx` is handed
 * to handlers through http_ctx().  An unknown path, and a known path with
 * another method, get 404 {"message":"page not found"} as from dockerd; a
 * "/v1.NN" prefix outside [API_MIN_VERSION, API_VERSION] gets 400. */
int http_server_start(int listen_fd, const struct http_route *routes, void *ctx,
                      struct http_server **out, struct err **e);
/* Stop accepting, close connections (streams and hijacked ones end: their
 * writes fail), wait for handlers to return, free. */
void http_server_stop(struct http_server *s);

/* ---- the request ---- */
void *http_ctx(struct http_req *r);
const char *http_method(struct http_req *r);
/* the path without "/v1.xx" and without the query, percent-decoded */
const char *http_path(struct http_req *r);
/* the API version the client asked for in the prefix, as 100*major+minor
 * (141 for 1.41); requests without a prefix get API_VERSION's */
int http_api_version(struct http_req *r);
/* a path parameter of the route ("{id}"), decoded; NULL if the route has none */
const char *http_param(struct http_req *r, const char *name);
/* a query parameter, decoded; NULL if absent */
const char *http_query(struct http_req *r, const char *name);
/* every value of a repeated parameter (?names=a&names=b): fills up to max
 * of them into out, returns how many there are */
size_t http_query_all(struct http_req *r, const char *name, const char **out, size_t max);
/* Docker's booleans: absent -> dflt; "", "0", "false", "False" -> 0; else 1 */
int http_query_bool(struct http_req *r, const char *name, int dflt);
/* absent -> dflt; not an integer -> -1 with an error naming the parameter */
int http_query_int(struct http_req *r, const char *name, long long dflt, long long *out,
                   struct err **e);
/* a query parameter that holds JSON (filters, buildargs, labels): NULL if
 * absent; -1 with an error naming the parameter if it is not valid JSON */
int http_query_json(struct http_req *r, const char *name, json_t **out, struct err **e);
/* a request header (case-insensitive name); NULL if absent */
const char *http_header(struct http_req *r, const char *name);
/* Read the body (buffered or streamed alike): bytes read, 0 at its end,
 * -1 when the client went away.  A HTTP_STREAM_BODY handler may answer
 * without reading it all; the rest is then discarded. */
ssize_t http_body_read(struct http_req *r, void *buf, size_t n);
/* The whole body as JSON.  An empty body gives NULL and 0; invalid JSON
 * gives -1 with an error "invalid JSON body: <jansson's words> at line L". */
int http_body_json(struct http_req *r, json_t **out, struct err **e);
/* True once the client has closed its side (for long waits that write
 * nothing for a while: wait, events). */
int http_client_gone(struct http_req *r);

/* ---- answering ---- */
/* Every answer carries Api-Version, Docker-Experimental: false,
 * Ostype: linux and Server: barge/<version>. */

/* Extra response header for the next answer (before it is sent), e.g.
 * X-Docker-Container-Path-Stat.  May be called more than once. */
void http_add_header(struct http_req *r, const char *name, const char *value);
/* JSON body; steals `body`. */
void http_reply_json(struct http_req *r, int status, json_t *body);
/* Docker's error body {"message": "..."} */
void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* An engine error, status from its errno (api_status below).  For a status
 * other than 500 the ": <strerror>" err_new appended is left out: the
 * message is Docker's ("No such container: x"). */
void http_reply_err(struct http_req *r, const struct err *e);
/* Status only (204, 304, 201 with no body...). */
void http_reply_empty(struct http_req *r, int status);
void http_reply_data(struct http_req *r, int status, const char *content_type, const void *data,
                     size_t len);

/* A streamed body (chunked): the status line and headers go out at once
 * (so `wait` can tell the client it is registered before anything
 * happens), then each write goes out as it is made.  Writes return -1 once
 * the client is gone; the handler should then stop. */
int http_stream_begin(struct http_req *r, int status, const char *content_type);
/* Whether the handler has answered (replied, or begun a stream). */
int http_answered(struct http_req *r);
int http_stream_write(struct http_req *r, const void *buf, size_t n);
/* json_dumps(obj, JSON_COMPACT) + "\n" (does not steal obj) */
int http_stream_json(struct http_req *r, json_t *obj);
void http_stream_end(struct http_req *r);

/* Take the connection over (attach, exec start): answers "101 UPGRADED"
 * with Connection: Upgrade and Upgrade: tcp when the client asked for an
 * upgrade, else "200 OK" with no length, both with Content-Type
 * `content_type` (application/vnd.docker.raw-stream or
 * application/vnd.docker.multiplexed-stream); then hands the handler the
 * raw socket in *fd (blocking), already past the headers.  The handler
 * reads stdin from it (0 once the client did shutdown(SHUT_WR); it may
 * still write), writes output to it, and calls http_hijack_done when
 * finished (it must not close fd itself; a handler returning without it
 * gets it called).  http_client_gone does not apply: read/write errors
 * tell.  Bytes a client sends before it has read the 101 are lost (clients
 * wait for it). */
int http_hijack(struct http_req *r, const char *content_type, int *fd, struct err **e);
void http_hijack_done(struct http_req *r);

/* errno of an engine error -> HTTP status: ENOENT 404, EINVAL/ERANGE 400,
 * EEXIST/EBUSY 409, EALREADY 304, EACCES 403, ENOTSUP 501, anything
 * else 500. */
int api_status(const struct err *e);

#endif

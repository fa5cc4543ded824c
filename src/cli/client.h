/*
 * cli/client: barge's side of the Docker Engine API, over a small HTTP/1.1
 * client of its own (client.c says why not libcurl): plain requests share
 * one kept-alive connection (the Unix socket, or TCP); attach and exec
 * start need the connection itself after the response headers (Docker's
 * "hijack"), so client_hijack uses a socket of its own and hands it over
 * positioned right after the headers.
 *
 * The daemon: -H/--host, else $BARGE_HOST, else $DOCKER_HOST, else
 * unix:///run/barge/barge.sock.  Paths are given without the version
 * prefix; the client adds /v1.41.  Errors: a non-2xx answer becomes an
 * error whose message is the daemon's {"message"} (so the CLI prints
 * "Error response from daemon: <message>") with errno from the status
 * (404 ENOENT, 409 EEXIST, 400 EINVAL, 304 EALREADY, else EIO); a daemon
 * that cannot be reached gives "Cannot connect to the barge daemon at
 * unix:///run/barge/barge.sock. Is barged running?".
 */
#ifndef BARGE_CLI_CLIENT_H
#define BARGE_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/err.h"

struct client;

int client_open(const char *host, struct client **out, struct err **e);
void client_close(struct client *c);
const char *client_host(struct client *c);

/* printf-style path building with each %s argument percent-encoded as a
 * query value or path segment: client_path("/containers/%s/json", id).
 * Returns malloc'd. */
char *client_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A JSON request (body may be NULL; not stolen).  On 2xx: *status and
 * *resp (NULL when the answer has no body or resp is NULL).  Extra
 * headers: NULL-terminated "Name: value" strings, or NULL. */
int client_json(struct client *c, const char *method, const char *path, json_t *body,
                const char *const *headers, long *status, json_t **resp, struct err **e);

/* A streamed exchange: the request body (if `in` is not NULL) is read from
 * in(in_ctx, ...) until it returns 0 and sent chunked with `content_type`;
 * the response body is handed to on_data as it arrives (after a 2xx; an
 * error answer becomes *e).  on_data returning < 0 aborts. */
typedef ssize_t (*client_read_fn)(void *ctx, void *buf, size_t n);
typedef int (*client_data_fn)(void *ctx, const void *buf, size_t n);
int client_stream(struct client *c, const char *method, const char *path,
                  const char *const *headers, const char *content_type, client_read_fn in,
                  void *in_ctx, client_data_fn on_data, void *data_ctx, long *status,
                  struct err **e);
/* A response header of the last request on c (e.g. X-Docker-Container-
 * Path-Stat), or NULL. */
const char *client_last_header(struct client *c, const char *name);

/* A stream of JSON objects (pull/push/load progress, events, stats): each
 * complete object is handed to on_json (not stolen). */
typedef int (*client_json_fn)(void *ctx, json_t *obj);
int client_stream_json(struct client *c, const char *method, const char *path,
                       const char *const *headers, json_t *body, client_json_fn on_json, void *ctx,
                       struct err **e);

/* Both: a body streamed up from in() (load, import), JSON lines back. */
int client_upload_json(struct client *c, const char *method, const char *path,
                       const char *const *headers, const char *content_type, client_read_fn in,
                       void *in_ctx, client_json_fn on_json, void *ctx, struct err **e);

/* Hijack: send the request (body may be NULL) with Connection: Upgrade,
 * Upgrade: tcp; on 101 (or 200) return the connected socket in *fd, past
 * the headers.  The caller closes it. */
int client_hijack(struct client *c, const char *method, const char *path, json_t *body, int *fd,
                  struct err **e);

/* A plain request on a socket of its own, for an answer that comes later
 * while other requests go on (run: POST /wait before start, read after
 * the container exits).  begin returns once the status line and headers
 * are read (so the daemon has registered the request; an error status
 * becomes *e); end reads the body (de-chunked), parses it and closes. */
struct client_raw {
        int fd;
        int chunked;
};
int client_raw_begin(struct client *c, const char *method, const char *path, json_t *body,
                     struct client_raw *r, struct err **e);
int client_raw_end(struct client_raw *r, json_t **resp, struct err **e);

/* Docker's multiplexed stream framing: 8-byte header (stream, 0, 0, 0,
 * big-endian length) then the payload.  demux: feed raw bytes, get
 * (stream, payload) callbacks; keeps partial frames in `d`. */
struct demux {
        unsigned char hdr[8];
        size_t hdr_len;
        size_t left;
        int stream;
};
int demux_feed(struct demux *d, const void *buf, size_t n,
               int (*out)(void *ctx, int stream, const void *buf, size_t n), void *ctx);

/* X-Registry-Auth for a registry: base64url of {"username","password",
 * "serveraddress"} from the user's config.json, or of "{}" when none. */
char *client_registry_auth(const char *ref, struct err **e);

#endif

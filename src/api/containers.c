/*
 * api/containers: the /containers/... routes of the Engine API.  Each
 * handler reads its query and body, calls one engine function and shapes
 * the answer (status code, JSON, stream or hijacked connection); the
 * engine owns the semantics and speaks Docker's JSON shapes already.
 *
 * Output of logs and attach is framed as Docker does when the container
 * has no TTY: an 8-byte header (stream, 0, 0, 0, big-endian length) before
 * each chunk; with a TTY it is the raw bytes.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api.h"

#define RAW_STREAM "application/vnd.docker.raw-stream"
#define MUX_STREAM "application/vnd.docker.multiplexed-stream"

/* ---- shared parsing: each helper answers 400 itself and returns -1 ---- */

static const char *ref_of(struct http_req *r)
{
        return http_param(r, "id");
}

/* an integer query parameter within [lo, hi] */
static int query_int(struct http_req *r, const char *name, long long dflt, long long lo,
                     long long hi, long long *out)
{
        _cleanup_err_ struct err *e = NULL;
        if (http_query_int(r, name, dflt, out, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return -1;
        }
        if (*out != dflt && (*out < lo || *out > hi)) {
                http_reply_error(r, 400, "invalid value for %s: %lld is out of range", name, *out);
                return -1;
        }
        return 0;
}

/* a required string query parameter */
static const char *query_required(struct http_req *r, const char *name)
{
        const char *v = http_query(r, name);
        if (!v || !*v)
                http_reply_error(r, 400, "missing required parameter: %s", name);
        return v && *v ? v : NULL;
}

static int query_filters(struct http_req *r, json_t **out)
{
        _cleanup_err_ struct err *e = NULL;
        if (http_query_json(r, "filters", out, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return -1;
        }
        if (*out && !json_is_object(*out)) {
                json_decref(*out);
                *out = NULL;
                http_reply_error(r, 400, "invalid filters: not a JSON object");
                return -1;
        }
        return 0;
}

/* The body as a JSON object; an empty body gives an empty object unless
 * `empty_msg` says why it is required. */
static int body_object(struct http_req *r, const char *empty_msg, json_t **out)
{
        _cleanup_err_ struct err *e = NULL;
        *out = NULL;
        if (http_body_json(r, out, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return -1;
        }
        if (!*out) {
                if (empty_msg) {
                        http_reply_error(r, 400, "%s", empty_msg);
                        return -1;
                }
                *out = json_object();
        }
        if (!json_is_object(*out)) {
                json_decref(*out);
                *out = NULL;
                http_reply_error(r, 400, "invalid JSON body: expected an object");
                return -1;
        }
        return 0;
}

/* Answer an engine call that returns nothing: `status` on success, 304
 * without a body when there was nothing to do, else the error. */
static void reply_done(struct http_req *r, int rc, const struct err *e, int status)
{
        if (rc >= 0)
                http_reply_empty(r, status);
        else if (e && e->code == EALREADY)
                http_reply_empty(r, 304);
        else
                http_reply_err(r, e);
}

static int req_gone(void *ctx)
{
        return http_client_gone(ctx);
}

/* ---- streamed bodies ---- */

/* Output of logs: framed unless tty */
struct out_ctx {
        struct http_req *r;
        int tty;
};

static int frame_out(void *ctx, int stream, const void *buf, size_t n)
{
        struct out_ctx *o = ctx;
        if (o->tty)
                return http_stream_write(o->r, buf, n);
        /* header and payload in one write (one chunk on the wire); large
         * output goes out in frames of at most 1 MiB */
        const unsigned char *p = buf;
        do {
                size_t k = n < (1u << 20) ? n : (1u << 20);
                _cleanup_free_ unsigned char *f = xmalloc(k + 8);
                f[0] = (unsigned char)stream;
                f[1] = f[2] = f[3] = 0;
                for (int i = 0; i < 4; i++)
                        f[4 + i] = (unsigned char)(k >> (24 - 8 * i));
                memcpy(f + 8, p, k);
                if (http_stream_write(o->r, f, k + 8) < 0)
                        return -1;
                p += k;
                n -= k;
        } while (n > 0);
        return 0;
}

/* A tar body (export, archive GET) whose stream begins with the first
 * write, so that an error found before any byte can still get its status. */
struct tar_ctx {
        struct http_req *r;
        int begun;
};

static int tar_write(void *ctx, const void *buf, size_t n)
{
        struct tar_ctx *t = ctx;
        if (!t->begun) {
                if (http_stream_begin(t->r, 200, "application/x-tar") < 0)
                        return -1;
                t->begun = 1;
        }
        return http_stream_write(t->r, buf, n) < 0 ? -1 : 0;
}

static void tar_finish(struct tar_ctx *t, int rc, const struct err *e)
{
        if (t->begun) {
                if (rc < 0)
                        log_warn("%s %s: %s", http_method(t->r), http_path(t->r), e->msg);
                http_stream_end(t->r);
        } else if (rc < 0) {
                http_reply_err(t->r, e);
        } else {
                http_reply_data(t->r, 200, "application/x-tar", "", 0);
        }
}

static ssize_t body_read(void *ctx, void *buf, size_t n)
{
        return http_body_read(ctx, buf, n);
}

/* ---- lifecycle ---- */

static void create(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *body;
        if (body_object(r, "config cannot be empty in order to create a container", &body) < 0)
                return;
        const char *name = http_query(r, "name");
        const char *platform = http_query(r, "platform");
        char id[65] = "";
        json_t *warnings = json_array();
        int rc = engine_container_create(api_engine(r), name && *name ? name : NULL, body,
                                         platform && *platform ? platform : NULL, id, warnings, &e);
        json_decref(body);
        if (rc < 0) {
                json_decref(warnings);
                http_reply_err(r, e);
                return;
        }
        http_reply_json(r, 201, json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings));
}

static void list(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        long long limit;
        json_t *filters = NULL, *out = NULL;
        if (query_int(r, "limit", -1, INT_MIN, INT_MAX, &limit) < 0 ||
            query_filters(r, &filters) < 0)
                return;
        int rc = engine_container_list(api_engine(r), http_query_bool(r, "all", 0),
                                       limit > 0 ? (int)limit : -1, http_query_bool(r, "size", 0),
                                       filters, &out, &e);
        json_decref(filters);
        if (rc < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

static void inspect(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *out = NULL;
        if (engine_container_inspect(api_engine(r), ref_of(r), http_query_bool(r, "size", 0), &out,
                                     &e) < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

static void start(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int rc = engine_container_start(api_engine(r), ref_of(r), &e);
        reply_done(r, rc, e, 204);
}

static void stop(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        long long t;
        if (query_int(r, "t", -1, INT_MIN, INT_MAX, &t) < 0)
                return;
        const char *sig = http_query(r, "signal");
        int rc = engine_container_stop(api_engine(r), ref_of(r), t >= 0 ? (int)t : -1,
                                       sig && *sig ? sig : NULL, &e);
        reply_done(r, rc, e, 204);
}

static void restart(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        long long t;
        if (query_int(r, "t", -1, INT_MIN, INT_MAX, &t) < 0)
                return;
        int rc = engine_container_restart(api_engine(r), ref_of(r), t >= 0 ? (int)t : -1, &e);
        reply_done(r, rc, e, 204);
}

static void kill_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *sig = http_query(r, "signal");
        int rc = engine_container_kill(api_engine(r), ref_of(r), sig && *sig ? sig : NULL, &e);
        reply_done(r, rc, e, 204);
}

/* The status line goes out as soon as the engine has the wait in place, so
 * that a client that starts the container after reading it (docker run,
 * barge run) cannot miss the exit; the result follows when the condition
 * holds. */
static int wait_registered(void *ctx)
{
        return http_stream_begin(ctx, 200, "application/json");
}

static void wait_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        const char *cond = http_query(r, "condition");
        if (!cond || !*cond)
                cond = "not-running";
        if (strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
                http_reply_error(r, 400, "invalid condition: \"%s\"", cond);
                return;
        }
        int code = -1;
        _cleanup_free_ char *msg = NULL;
        if (engine_container_wait(eng, ref_of(r), cond, wait_registered, req_gone, r, &code, &msg,
                                  &e) < 0) {
                if (!http_answered(r)) {
                        http_reply_err(r, e); /* no such container, before the status line */
                        return;
                }
                if (e->code != ECANCELED) {
                        json_t *res = json_pack("{s:i, s:{s:s}}", "StatusCode", -1, "Error",
                                                "Message", e->msg);
                        http_stream_json(r, res);
                        json_decref(res);
                }
                http_stream_end(r);
                return;
        }
        json_t *res = msg ? json_pack("{s:i, s:{s:s}}", "StatusCode", code, "Error", "Message", msg)
                          : json_pack("{s:i, s:n}", "StatusCode", code, "Error");
        http_stream_json(r, res);
        json_decref(res);
        http_stream_end(r);
}

static void remove_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int rc = engine_container_remove(api_engine(r), ref_of(r), http_query_bool(r, "force", 0),
                                         http_query_bool(r, "v", 0), &e);
        reply_done(r, rc, e, 204);
}

static void rename_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *name = query_required(r, "name");
        if (!name)
                return;
        int rc = engine_container_rename(api_engine(r), ref_of(r), name, &e);
        reply_done(r, rc, e, 204);
}

static void pause_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int rc = engine_container_pause(api_engine(r), ref_of(r), &e);
        reply_done(r, rc, e, 204);
}

static void unpause(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int rc = engine_container_unpause(api_engine(r), ref_of(r), &e);
        reply_done(r, rc, e, 204);
}

static void prune(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *filters = NULL, *out = NULL;
        if (query_filters(r, &filters) < 0)
                return;
        int rc = engine_container_prune(api_engine(r), filters, &out, &e);
        json_decref(filters);
        if (rc < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

static void update(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *body, *out = NULL;
        if (body_object(r, NULL, &body) < 0)
                return;
        int rc = engine_container_update(api_engine(r), ref_of(r), body, &out, &e);
        json_decref(body);
        if (rc < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out ? out : json_pack("{s:[]}", "Warnings"));
}

static void resize(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        long long h, w;
        if (query_int(r, "h", -1, 0, UINT16_MAX, &h) < 0 ||
            query_int(r, "w", -1, 0, UINT16_MAX, &w) < 0)
                return;
        if (h < 0 || w < 0) {
                http_reply_error(r, 400, "missing required parameter: %s", h < 0 ? "h" : "w");
                return;
        }
        int rc = engine_container_resize(api_engine(r), ref_of(r), (unsigned)h, (unsigned)w, &e);
        reply_done(r, rc, e, 200);
}

/* ---- output ---- */

static void logs(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        struct engine_logs_opts o = {
            .out = http_query_bool(r, "stdout", 0),
            .err = http_query_bool(r, "stderr", 0),
            .follow = http_query_bool(r, "follow", 0),
            .timestamps = http_query_bool(r, "timestamps", 0),
            .tail = -1,
        };
        if (api_parse_time("since", http_query(r, "since"), &o.since, &e) < 0 ||
            api_parse_time("until", http_query(r, "until"), &o.until, &e) < 0) {
                http_reply_error(r, 400, "%s", e->msg);
                return;
        }
        const char *tail = http_query(r, "tail");
        if (tail && *tail && strcmp(tail, "all") != 0) {
                long long n;
                if (parse_int64(tail, &n) < 0) {
                        http_reply_error(r, 400, "invalid value for tail: %s", tail);
                        return;
                }
                o.tail = n < 0 ? -1 : (n > LONG_MAX ? LONG_MAX : (long)n);
        }
        if (!o.out && !o.err) {
                http_reply_error(r, 400, "Bad parameters: you must choose at least one stream");
                return;
        }
        struct out_ctx oc = {.r = r};
        if (engine_container_tty(eng, ref_of(r), &oc.tty, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        if (http_stream_begin(r, 200, oc.tty ? RAW_STREAM : MUX_STREAM) < 0)
                return;
        if (engine_container_logs(eng, ref_of(r), &o, frame_out, &oc, &e) < 0)
                log_debug("logs %s: %s", ref_of(r), e->msg);
        http_stream_end(r);
}

struct attach_ctx {
        struct http_req *r;
        int tty;
};

/* called by the engine once the attach is registered */
static int attach_hijack(void *ctx, int *fd, struct err **e)
{
        struct attach_ctx *ac = ctx;
        return http_hijack(ac->r, ac->tty ? RAW_STREAM : MUX_STREAM, fd, e);
}

static void attach(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        struct engine_attach_opts o = {
            .in = http_query_bool(r, "stdin", 0),
            .out = http_query_bool(r, "stdout", 0),
            .err = http_query_bool(r, "stderr", 0),
            .logs = http_query_bool(r, "logs", 0),
            .stream = http_query_bool(r, "stream", 0),
            .detach_keys = http_query(r, "detachKeys"),
        };
        if (o.detach_keys && !*o.detach_keys)
                o.detach_keys = NULL;
        struct attach_ctx ac = {r, 0};
        if (engine_container_tty(eng, ref_of(r), &ac.tty, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        if (engine_container_attach_hijack(eng, ref_of(r), &o, attach_hijack, &ac, &e) < 0) {
                if (!http_answered(r)) {
                        http_reply_err(r, e);
                        return;
                }
                log_debug("attach %s: %s", ref_of(r), e->msg);
        }
        if (http_answered(r))
                http_hijack_done(r);
}

static void attach_ws(struct http_req *r)
{
        http_reply_error(r, 501, "attach over websocket is not supported");
}

static void top(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *out = NULL;
        const char *ps_args = http_query(r, "ps_args");
        if (engine_container_top(api_engine(r), ref_of(r), ps_args && *ps_args ? ps_args : NULL,
                                 &out, &e) < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

/* Sleep about a second, in short steps so that a gone client is noticed. */
static int pause_second(struct http_req *r)
{
        for (int i = 0; i < 10; i++) {
                if (http_client_gone(r))
                        return -1;
                usleep(100 * 1000);
        }
        return 0;
}

/* One sample (stream=false; without one-shot a second later, so that
 * precpu is a real previous sample as Docker's), or a sample a second
 * until the client goes away. */
static void stats(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct engine *eng = api_engine(r);
        int stream = http_query_bool(r, "stream", 1);
        int one_shot = http_query_bool(r, "one-shot", 0);
        json_t *prev = NULL, *cur = NULL;
        if (one_shot && stream) {
                http_reply_error(r, 400, "cannot have stream=true and one-shot=true");
                return;
        }
        if (engine_container_stats(eng, ref_of(r), NULL, &prev, &e) < 0) {
                http_reply_err(r, e);
                return;
        }
        if (!stream) {
                if (!one_shot && pause_second(r) == 0 &&
                    engine_container_stats(eng, ref_of(r), prev, &cur, &e) == 0) {
                        json_decref(prev);
                        prev = cur;
                }
                http_reply_json(r, 200, prev);
                return;
        }
        if (http_stream_begin(r, 200, "application/json") < 0) {
                json_decref(prev);
                return;
        }
        while (http_stream_json(r, prev) >= 0 && pause_second(r) == 0) {
                err_free(&e);
                if (engine_container_stats(eng, ref_of(r), prev, &cur, &e) < 0)
                        break;
                json_decref(prev);
                prev = cur;
        }
        json_decref(prev);
        http_stream_end(r);
}

static void changes(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *out = NULL;
        if (engine_container_changes(api_engine(r), ref_of(r), &out, &e) < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 200, out);
}

static void export_(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct tar_ctx t = {.r = r};
        int rc = engine_container_export(api_engine(r), ref_of(r), tar_write, &t, &e);
        tar_finish(&t, rc, e);
}

/* ---- archive ---- */

/* X-Docker-Container-Path-Stat: base64 (standard, padded) of the stat JSON */
static int add_path_stat(struct http_req *r, const char *path)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *st = NULL;
        if (engine_container_path_stat(api_engine(r), ref_of(r), path, &st, &e) < 0) {
                http_reply_err(r, e);
                return -1;
        }
        _cleanup_free_ char *js = json_dumps(st, JSON_COMPACT);
        json_decref(st);
        if (!js) {
                http_reply_error(r, 500, "cannot encode the path stat");
                return -1;
        }
        size_t n = strlen(js);
        _cleanup_free_ unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock(b64, (const unsigned char *)js, (int)n);
        http_add_header(r, "X-Docker-Container-Path-Stat", (const char *)b64);
        return 0;
}

static void archive_head(struct http_req *r)
{
        const char *path = query_required(r, "path");
        if (path && add_path_stat(r, path) == 0)
                http_reply_empty(r, 200);
}

static void archive_get(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *path = query_required(r, "path");
        if (!path || add_path_stat(r, path) < 0)
                return;
        struct tar_ctx t = {.r = r};
        int rc = engine_container_archive_get(api_engine(r), ref_of(r), path, tar_write, &t, &e);
        tar_finish(&t, rc, e);
}

static void archive_put(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *path = query_required(r, "path");
        if (!path)
                return;
        int rc = engine_container_archive_put(api_engine(r), ref_of(r), path,
                                              http_query_bool(r, "noOverwriteDirNonDir", 0),
                                              body_read, r, &e);
        reply_done(r, rc, e, 200);
}

/* ---- exec creation ---- */

static void exec_create(struct http_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        json_t *body;
        if (body_object(r, "No exec command specified", &body) < 0)
                return;
        char id[65] = "";
        int rc = engine_exec_create(api_engine(r), ref_of(r), body, id, &e);
        json_decref(body);
        if (rc < 0)
                http_reply_err(r, e);
        else
                http_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

const struct http_route api_container_routes[] = {
    {"POST", "/containers/create", create, 0},
    {"GET", "/containers/json", list, 0},
    {"POST", "/containers/prune", prune, 0},
    {"GET", "/containers/{id}/json", inspect, 0},
    {"POST", "/containers/{id}/start", start, 0},
    {"POST", "/containers/{id}/stop", stop, 0},
    {"POST", "/containers/{id}/restart", restart, 0},
    {"POST", "/containers/{id}/kill", kill_, 0},
    {"POST", "/containers/{id}/wait", wait_, 0},
    {"DELETE", "/containers/{id}", remove_, 0},
    {"GET", "/containers/{id}/logs", logs, 0},
    {"POST", "/containers/{id}/attach", attach, 0},
    {"GET", "/containers/{id}/attach/ws", attach_ws, 0},
    {"POST", "/containers/{id}/resize", resize, 0},
    {"GET", "/containers/{id}/top", top, 0},
    {"GET", "/containers/{id}/stats", stats, 0},
    {"POST", "/containers/{id}/pause", pause_, 0},
    {"POST", "/containers/{id}/unpause", unpause, 0},
    {"POST", "/containers/{id}/rename", rename_, 0},
    {"GET", "/containers/{id}/changes", changes, 0},
    {"GET", "/containers/{id}/export", export_, 0},
    {"HEAD", "/containers/{id}/archive", archive_head, 0},
    {"GET", "/containers/{id}/archive", archive_get, 0},
    {"PUT", "/containers/{id}/archive", archive_put, HTTP_STREAM_BODY},
    {"POST", "/containers/{id}/update", update, 0},
    {"POST", "/containers/{id}/exec", exec_create, 0},
    {NULL, NULL, NULL, 0},
};

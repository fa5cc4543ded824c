/*
 * layers: download an image's layers and unpack them into the store, as
 * fast as the store's one rule allows: a layer can only be unpacked once
 * the layer below it is committed.
 *
 * Three threads share the work (measurements in docs/registry.md):
 *
 *   the calling thread   runs the transfers on one curl multi handle,
 *                        bottom layer first: one at a time while the link
 *                        is fast, up to MAX_PARALLEL when it is slow
 *                        (adapt_parallel).  Each chunk goes into the
 *                        layer's blob writer (the store hashes it) and onto
 *                        the layer's in-memory queue.
 *   the committer        commits each finished blob (the store checks its
 *                        digest and fsyncs it), off the download loop.
 *   the unpacker         walks the layers bottom up: begins a layer writer
 *                        once the parent is committed, feeds it the queued
 *                        chunks while the download still runs (or the blob
 *                        file, when the blob was in the store already or its
 *                        queue overflowed) and commits it when all bytes are
 *                        in.  The commit checks the diff id (the digest of
 *                        the uncompressed stream, from the verified config),
 *                        which covers the content on its own; so a streamed
 *                        layer does not wait for its blob's fsync.  When a
 *                        layer fails, the blob's verdict is awaited and
 *                        reported first: "blob digest mismatch" says more
 *                        than the broken gzip stream that follows from it.
 *
 * Memory is bounded: a queue that would pass LAYER_QUEUE_MAX (or all queues
 * TOTAL_QUEUE_MAX) is dropped and that layer is unpacked from its blob file
 * later, except for the layer being unpacked right now, whose transfer is
 * paused until the unpacker catches up.
 *
 * Failures: a transient one (connection refused or cut, 5xx, 429) retries
 * the transfer up to REG_RETRIES times with backoff, resuming with a Range
 * request (bytes a server resends anyway are skipped); anything else, or a
 * failure in either thread, stops everything: transfers are removed, the
 * threads joined, every open writer aborted.  Layers committed before that
 * stay (complete and verified; a retry does not fetch them again).
 *
 * Locking: `mu` guards every field marked (mu) below; the threads wait on
 * `cond`; the calling thread sleeps in curl_multi_poll and is woken with
 * curl_multi_wakeup.  Progress callbacks are serialized by `progress_mu`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"

#define MAX_PARALLEL 4
#define RECV_BUFFER (128 * 1024)
/* A link faster than this keeps one transfer at a time (see "parallelism") */
#define FAST_LINK (64 << 20)
#define RATE_WINDOW 0.25
/* Queue limits: constants but for tests (reg_layers_set_queue_limits),
 * which set them before a pull, from the pulling thread. */
static size_t layer_queue_max = 64u << 20, total_queue_max = 256u << 20;
#define LAYER_QUEUE_MAX layer_queue_max
#define TOTAL_QUEUE_MAX total_queue_max
#define FEED_CHUNK (1u << 20)
#define PROGRESS_STEP (1 << 20)

struct chunk {
        struct chunk *next;
        size_t len;
        char data[];
};

enum dl_state {
        DL_NONE,    /* layer present: nothing to do */
        DL_QUEUED,  /* waiting for a transfer slot */
        DL_RUNNING, /* transfer in flight */
        DL_RETRY,   /* failed transiently; starts again at retry_at */
        DL_DONE,    /* all bytes in; blob to commit (mu) */
        DL_BLOB_OK, /* blob verified and in the store (mu) */
};

struct job {
        size_t idx;
        const struct reg_desc *desc;
        const char *diff_id, *parent, *chain;
        char id[16];
        int present; /* the layer is in the store already */

        /* the calling thread's, while downloading */
        CURL *h;
        struct curl_slist *hdrs;
        int attempts, reauthed;
        double retry_at;
        long status;
        int64_t start_got; /* got when this transfer began (Range offset) */
        int64_t resp_off;  /* body bytes seen in this response */
        int64_t last_progress;
        char errbody[1024];
        size_t errlen;
        char curl_err[CURL_ERROR_SIZE];
        struct err *cb_err;
        struct blob_writer *bw; /* handed to the committer at DL_DONE */

        /* shared (mu) */
        enum dl_state dl;
        int64_t got; /* bytes accepted (blob written, queued) */
        struct chunk *qhead, *qtail;
        size_t qbytes;
        int file_mode; /* no queue: unpack from the blob file */
        int consuming; /* the unpacker is on this layer */
        int paused;    /* transfer paused until the queue drains */
};

struct layers {
        struct store *s;
        struct reg_client *c;
        const struct registry_opts *o;
        const char *repo;
        struct job *jobs;
        size_t n;
        CURLM *multi;
        int running;
        int parallel;    /* transfers allowed at once (adapt_parallel) */
        double rate_t0;  /* start of the rate window */
        int64_t rate_b0; /* bytes received at rate_t0 */

        pthread_mutex_t mu;
        pthread_cond_t cond;
        pthread_mutex_t progress_mu;
        size_t queued_total; /* (mu) */
        int stop;            /* (mu) everyone stops */
        int unpacked_all;    /* (mu) */
        struct err *err;     /* (mu) the first failure */
        pthread_t committer, unpacker;
        int threads;
};

void reg_layers_set_queue_limits(size_t per_layer, size_t total)
{
        layer_queue_max = per_layer ? per_layer : 64u << 20;
        total_queue_max = total ? total : 256u << 20;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(struct layers *L, struct job *j, const char *status, int64_t cur, int64_t tot)
{
        if (L->o == NULL || L->o->progress == NULL)
                return;
        pthread_mutex_lock(&L->progress_mu);
        L->o->progress(L->o->progress_ctx, j->id, status, cur, tot);
        pthread_mutex_unlock(&L->progress_mu);
}

/* Record the first failure and stop everyone.  Takes ownership of *e. */
static void fail_locked(struct layers *L, struct err **e)
{
        if (L->err == NULL && e && *e)
                L->err = TAKE_PTR(*e);
        err_free(e);
        if (L->err == NULL)
                err_new(&L->err, 0, "layer download stopped");
        L->stop = 1;
        pthread_cond_broadcast(&L->cond);
        curl_multi_wakeup(L->multi);
}

static void fail(struct layers *L, struct err **e)
{
        pthread_mutex_lock(&L->mu);
        fail_locked(L, e);
        pthread_mutex_unlock(&L->mu);
}

static void queue_free_locked(struct layers *L, struct job *j)
{
        for (struct chunk *c = j->qhead, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        L->queued_total -= j->qbytes;
        j->qhead = j->qtail = NULL;
        j->qbytes = 0;
}

/* ---- the committer: verify blobs as their downloads end ---- */

static void *committer_main(void *arg)
{
        struct layers *L = arg;
        pthread_mutex_lock(&L->mu);
        for (;;) {
                struct job *ready = NULL;
                int pending = 0;
                for (size_t i = 0; i < L->n; i++) {
                        struct job *j = &L->jobs[i];
                        if (j->dl == DL_DONE && ready == NULL)
                                ready = j;
                        if (j->dl != DL_NONE && j->dl != DL_BLOB_OK)
                                pending = 1;
                }
                if (L->stop || (!pending && ready == NULL))
                        break;
                if (ready == NULL) {
                        pthread_cond_wait(&L->cond, &L->mu);
                        continue;
                }
                struct blob_writer *bw = TAKE_PTR(ready->bw);
                pthread_mutex_unlock(&L->mu);
                struct err *e = NULL;
                int r = bw ? blob_commit(bw, NULL, &e) : 0;
                if (r < 0)
                        err_wrap(&e, "layer %s", ready->desc->digest);
                else
                        progress(L, ready, "Download complete", ready->desc->size,
                                 ready->desc->size);
                pthread_mutex_lock(&L->mu);
                if (r < 0) {
                        fail_locked(L, &e);
                        break;
                }
                ready->dl = DL_BLOB_OK;
                pthread_cond_broadcast(&L->cond);
        }
        pthread_mutex_unlock(&L->mu);
        return NULL;
}

/* ---- the unpacker: bottom up, one layer at a time ---- */

static int feed_from_file(struct layers *L, struct job *j, struct layer_writer *lw, struct err **e)
{
        _cleanup_close_ int fd = store_blob_open(L->s, j->desc->digest, e);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *buf = xmalloc(FEED_CHUNK);
        int64_t fed = 0, last = 0;
        for (;;) {
                ssize_t n = read_full(fd, buf, FEED_CHUNK);
                if (n < 0)
                        return err_sys(e, "read blob %s", j->desc->digest);
                if (n == 0)
                        return 0;
                if (layer_write(lw, buf, (size_t)n, e) < 0)
                        return -1;
                fed += n;
                if (fed - last >= PROGRESS_STEP) {
                        last = fed;
                        progress(L, j, "Extracting", fed, j->desc->size);
                }
                pthread_mutex_lock(&L->mu);
                int stop = L->stop;
                pthread_mutex_unlock(&L->mu);
                if (stop)
                        return err_new(e, ECANCELED, "stopped");
        }
}

/* The layer failed: when its blob is complete, the blob's digest check
 * says more (a corrupt download also breaks the unpacking), so wait for it;
 * a mismatch there becomes the pull's error. */
static int blob_verdict(struct layers *L, struct job *j, struct err **e)
{
        pthread_mutex_lock(&L->mu);
        while (j->dl == DL_DONE && !L->stop)
                pthread_cond_wait(&L->cond, &L->mu);
        pthread_mutex_unlock(&L->mu);
        return err_wrap(e, "layer %s", j->desc->digest);
}

/* Unpack job j; its parent is committed.  Returns <0 with *e set. */
static int unpack_one(struct layers *L, struct job *j, struct err **e)
{
        struct layer_writer *lw = NULL;
        if (store_layer_begin(L->s, j->parent, &lw, e) < 0)
                return -1;
        progress(L, j, "Extracting", 0, j->desc->size);
        int64_t fed = 0, last = 0;
        int r = 0;
        pthread_mutex_lock(&L->mu);
        j->consuming = 1;
        for (;;) {
                if (L->stop) {
                        r = err_new(e, ECANCELED, "stopped");
                        break;
                }
                if (j->qhead) {
                        struct chunk *c = j->qhead;
                        j->qhead = c->next;
                        if (j->qhead == NULL)
                                j->qtail = NULL;
                        j->qbytes -= c->len;
                        L->queued_total -= c->len;
                        int wake = j->paused && j->qbytes < LAYER_QUEUE_MAX / 2;
                        pthread_mutex_unlock(&L->mu);
                        if (wake)
                                curl_multi_wakeup(L->multi);
                        r = layer_write(lw, c->data, c->len, e);
                        fed += (int64_t)c->len;
                        free(c);
                        if (fed - last >= PROGRESS_STEP) {
                                last = fed;
                                progress(L, j, "Extracting", fed, j->desc->size);
                        }
                        pthread_mutex_lock(&L->mu);
                        if (r < 0)
                                break;
                        continue;
                }
                /* a streamed layer commits once all its bytes are in: its
                 * diff id check covers the content, the blob's own digest
                 * is checked (and fsynced) by the committer meanwhile */
                if (j->file_mode ? j->dl == DL_BLOB_OK : (j->dl >= DL_DONE && fed == j->desc->size))
                        break;
                pthread_cond_wait(&L->cond, &L->mu);
        }
        int from_file = r == 0 && j->file_mode;
        pthread_mutex_unlock(&L->mu);
        if (r == 0 && from_file)
                r = feed_from_file(L, j, lw, e);
        if (r < 0) {
                layer_abort(lw);
                return blob_verdict(L, j, e);
        }
        if (layer_commit(lw, j->diff_id, j->desc->digest, NULL, NULL, e) < 0)
                return blob_verdict(L, j, e);
        progress(L, j, "Pull complete", j->desc->size, j->desc->size);
        return 0;
}

static void *unpacker_main(void *arg)
{
        struct layers *L = arg;
        for (size_t i = 0; i < L->n; i++) {
                struct job *j = &L->jobs[i];
                if (j->present)
                        continue;
                struct err *e = NULL;
                if (unpack_one(L, j, &e) < 0) {
                        fail(L, &e);
                        return NULL;
                }
                pthread_mutex_lock(&L->mu);
                j->consuming = 0;
                pthread_mutex_unlock(&L->mu);
        }
        pthread_mutex_lock(&L->mu);
        L->unpacked_all = 1;
        pthread_mutex_unlock(&L->mu);
        curl_multi_wakeup(L->multi);
        return NULL;
}

/* ---- transfers (the calling thread) ---- */

struct xfer_ctx {
        struct layers *L;
        struct job *j;
};

static size_t on_layer_body(char *buf, size_t size, size_t nmemb, void *ud)
{
        struct xfer_ctx *x = ud;
        struct layers *L = x->L;
        struct job *j = x->j;
        size_t n = size * nmemb;
        if (j->status == 0)
                curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &j->status);
        if (j->status != 200 && j->status != 206) {
                size_t room = sizeof(j->errbody) - 1 - j->errlen;
                size_t k = n < room ? n : room;
                memcpy(j->errbody + j->errlen, buf, k);
                j->errlen += k;
                j->errbody[j->errlen] = '\0';
                return n;
        }
        size_t skip = 0;
        if (j->status == 200 && j->resp_off < j->start_got) {
                int64_t want = j->start_got - j->resp_off;
                skip = (int64_t)n < want ? n : (size_t)want;
        }
        const char *data = buf + skip;
        size_t len = n - skip;

        pthread_mutex_lock(&L->mu);
        if (L->stop) {
                pthread_mutex_unlock(&L->mu);
                return 0;
        }
        if (len > 0 && !j->file_mode && j->consuming && j->qbytes + len > LAYER_QUEUE_MAX) {
                /* the layer being unpacked: wait for the unpacker */
                j->paused = 1;
                pthread_mutex_unlock(&L->mu);
                return CURL_WRITEFUNC_PAUSE;
        }
        if (len > 0 && !j->file_mode && !j->consuming && j->qbytes + len > LAYER_QUEUE_MAX) {
                /* not its turn yet: unpack it from the blob file later */
                queue_free_locked(L, j);
                j->file_mode = 1;
        }
        /* over the total: the highest layers not being unpacked give up
         * their queues first (never the one being unpacked) */
        for (size_t i = L->n; i-- > 0 && L->queued_total + len > TOTAL_QUEUE_MAX;) {
                struct job *o = &L->jobs[i];
                if (!o->consuming && !o->file_mode && o->qbytes > 0) {
                        queue_free_locked(L, o);
                        o->file_mode = 1;
                }
        }
        if (len > 0 && !j->file_mode && !j->consuming && L->queued_total + len > TOTAL_QUEUE_MAX) {
                j->file_mode = 1;
        }
        int64_t got = j->got;
        int queue = !j->file_mode;
        pthread_mutex_unlock(&L->mu);

        j->resp_off += (int64_t)n;
        if (len == 0)
                return n;
        if (got + (int64_t)len > j->desc->size) {
                err_new(&j->cb_err, 0, "layer %s: more bytes than the %lld its descriptor says",
                        j->desc->digest, (long long)j->desc->size);
                return 0;
        }
        if (j->bw && blob_write(j->bw, data, len, &j->cb_err) < 0)
                return 0;
        struct chunk *c = NULL;
        if (queue) {
                c = xmalloc(sizeof(*c) + len);
                c->next = NULL;
                c->len = len;
                memcpy(c->data, data, len);
        }
        pthread_mutex_lock(&L->mu);
        j->got += (int64_t)len;
        if (c && !j->file_mode) {
                if (j->qtail)
                        j->qtail->next = c;
                else
                        j->qhead = c;
                j->qtail = c;
                j->qbytes += len;
                L->queued_total += len;
                c = NULL;
                if (j->consuming)
                        pthread_cond_broadcast(&L->cond);
        }
        pthread_mutex_unlock(&L->mu);
        free(c); /* switched to file mode meanwhile */
        return n;
}

static void drop_transfer(struct layers *L, struct job *j)
{
        if (j->h) {
                struct xfer_ctx *x = NULL;
                curl_easy_getinfo(j->h, CURLINFO_PRIVATE, (char **)&x);
                curl_multi_remove_handle(L->multi, j->h);
                curl_easy_cleanup(j->h);
                free(x);
                j->h = NULL;
                L->running--;
        }
        curl_slist_free_all(j->hdrs);
        j->hdrs = NULL;
}

static int start_transfer(struct layers *L, struct job *j, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", L->repo, j->desc->digest);
        if (j->attempts == 0 && !j->reauthed && j->bw == NULL &&
            store_blob_begin(L->s, j->desc->digest, &j->bw, e) < 0)
                return -1;
        j->h = curl_easy_init();
        if (j->h == NULL)
                return err_new(e, ENOMEM, "curl_easy_init failed");
        struct xfer_ctx *x = xcalloc(1, sizeof(*x));
        x->L = L;
        x->j = j;
        curl_easy_setopt(j->h, CURLOPT_PRIVATE, x);
        L->running++;
        if (reg_client_setup_easy(L->c, j->h, path, &j->hdrs, e) < 0)
                return -1;
        /* bigger reads: fewer callbacks, writes and queue chunks */
        curl_easy_setopt(j->h, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
        j->curl_err[0] = '\0';
        curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->curl_err);
        curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_layer_body);
        curl_easy_setopt(j->h, CURLOPT_WRITEDATA, x);
        pthread_mutex_lock(&L->mu);
        j->start_got = j->got;
        pthread_mutex_unlock(&L->mu);
        if (j->start_got > 0) {
                char range[64];
                snprintf(range, sizeof(range), "%lld-", (long long)j->start_got);
                curl_easy_setopt(j->h, CURLOPT_RANGE, range);
        }
        j->status = 0;
        j->resp_off = 0;
        j->errlen = 0;
        j->errbody[0] = '\0';
        CURLMcode mc = curl_multi_add_handle(L->multi, j->h);
        if (mc != CURLM_OK)
                return err_new(e, 0, "curl: %s", curl_multi_strerror(mc));
        pthread_mutex_lock(&L->mu);
        j->dl = DL_RUNNING;
        pthread_mutex_unlock(&L->mu);
        if (j->attempts == 0 && !j->reauthed)
                progress(L, j, "Downloading", j->start_got, j->desc->size);
        return 0;
}

/* A transfer ended: done, retry, or fail. */
static int transfer_done(struct layers *L, struct job *j, CURLcode rc, struct err **e)
{
        long status = j->status;
        if (status == 0)
                curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
        drop_transfer(L, j);
        if (j->cb_err) {
                *e = TAKE_PTR(j->cb_err);
                return -1;
        }
        pthread_mutex_lock(&L->mu);
        int64_t got = j->got;
        pthread_mutex_unlock(&L->mu);
        int ok_status = status == 200 || status == 206;
        /* all the bytes are in (even if the connection then failed): the
         * digest checks decide */
        if (got == j->desc->size && (rc != CURLE_OK || ok_status)) {
                pthread_mutex_lock(&L->mu);
                j->dl = DL_DONE;
                pthread_cond_broadcast(&L->cond);
                pthread_mutex_unlock(&L->mu);
                return 0;
        }
        if (rc == CURLE_OK && ok_status)
                rc = CURLE_PARTIAL_FILE; /* the connection ended early */
        if (rc == CURLE_OK && status == 401 && !j->reauthed) {
                /* e.g. a token that expired: authenticate again, once */
                j->reauthed = 1;
                struct reg_response r = {0};
                _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", L->repo, j->desc->digest);
                if (reg_request(L->c, "HEAD", path, NULL, NULL, 0, &r, e) < 0)
                        return -1;
                reg_response_clear(&r);
                pthread_mutex_lock(&L->mu);
                j->dl = DL_QUEUED;
                pthread_mutex_unlock(&L->mu);
                return 0;
        }
        int transient = rc != CURLE_OK ? reg_transient_curl(rc) : reg_transient_status(status);
        if (transient && j->attempts < REG_RETRIES) {
                j->attempts++;
                double delay = 0.25 * (1 << (j->attempts - 1));
                log_debug("layer %s: %s; retry %d in %.2f s", j->id,
                          rc != CURLE_OK ? curl_easy_strerror(rc) : "server error", j->attempts,
                          delay);
                j->retry_at = now_s() + delay;
                pthread_mutex_lock(&L->mu);
                j->dl = DL_RETRY;
                pthread_mutex_unlock(&L->mu);
                return 0;
        }
        if (rc != CURLE_OK) {
                if (j->attempts)
                        return err_new(e, 0, "layer %s: %s (after %d retries)", j->desc->digest,
                                       j->curl_err[0] ? j->curl_err : curl_easy_strerror(rc),
                                       j->attempts);
                return err_new(e, 0, "layer %s: %s", j->desc->digest,
                               j->curl_err[0] ? j->curl_err : curl_easy_strerror(rc));
        }
        struct reg_response r = {.status = status, .body = j->errbody, .len = j->errlen};
        reg_status_error(&r, e, NULL);
        return err_wrap(e, "layer %s", j->desc->digest);
}

/* Parallelism: one transfer at a time while the link is fast, so layers
 * arrive bottom first, as the unpacker needs them, and each layer commit
 * (which syncs the filesystem) finds less unrelated data to flush; up to
 * MAX_PARALLEL once the link turns out slower than FAST_LINK, where more
 * connections fill the pipe.  Measured over RATE_WINDOW; it only ramps up.
 * A transfer paused for the unpacker means the link is not the limit. */
static void adapt_parallel(struct layers *L, double now)
{
        if (L->rate_t0 == 0) {
                L->rate_t0 = now;
                return;
        }
        if (now - L->rate_t0 < RATE_WINDOW || L->parallel == MAX_PARALLEL)
                return;
        int64_t total = 0;
        int paused = 0;
        pthread_mutex_lock(&L->mu);
        for (size_t i = 0; i < L->n; i++) {
                total += L->jobs[i].got;
                paused |= L->jobs[i].paused;
        }
        pthread_mutex_unlock(&L->mu);
        double rate = (double)(total - L->rate_b0) / (now - L->rate_t0);
        if (L->running > 0 && !paused && rate < FAST_LINK) {
                log_debug("pull: %.1f MB/s: up to %d transfers", rate / 1e6, MAX_PARALLEL);
                L->parallel = MAX_PARALLEL;
        }
        L->rate_t0 = now;
        L->rate_b0 = total;
}

static enum dl_state job_dl(struct layers *L, struct job *j)
{
        pthread_mutex_lock(&L->mu);
        enum dl_state d = j->dl;
        pthread_mutex_unlock(&L->mu);
        return d;
}

static int download_loop(struct layers *L, struct err **e)
{
        for (;;) {
                pthread_mutex_lock(&L->mu);
                int stop = L->stop, done = L->unpacked_all;
                pthread_mutex_unlock(&L->mu);
                if (stop || done)
                        return 0;
                if (L->o && L->o->cancel && __atomic_load_n(L->o->cancel, __ATOMIC_RELAXED))
                        return err_new(e, ECANCELED, "stopped");

                double now = now_s();
                int timeout = (int)(RATE_WINDOW * 1000);
                adapt_parallel(L, now);
                for (size_t i = 0; i < L->n && L->running < L->parallel; i++) {
                        struct job *j = &L->jobs[i];
                        enum dl_state d = job_dl(L, j);
                        if (d == DL_QUEUED || (d == DL_RETRY && j->retry_at <= now)) {
                                if (start_transfer(L, j, e) < 0)
                                        return err_wrap(e, "layer %s", j->desc->digest);
                        }
                }
                for (size_t i = 0; i < L->n; i++) {
                        struct job *j = &L->jobs[i];
                        if (job_dl(L, j) == DL_RETRY) {
                                int ms = (int)((j->retry_at - now) * 1000) + 1;
                                timeout = ms < timeout ? (ms < 0 ? 0 : ms) : timeout;
                        }
                        /* resume transfers the unpacker has caught up with */
                        pthread_mutex_lock(&L->mu);
                        int resume = j->paused && j->qbytes < LAYER_QUEUE_MAX / 2;
                        if (resume)
                                j->paused = 0;
                        pthread_mutex_unlock(&L->mu);
                        if (resume && j->h)
                                curl_easy_pause(j->h, CURLPAUSE_CONT);
                }

                int still;
                CURLMcode mc = curl_multi_perform(L->multi, &still);
                if (mc != CURLM_OK)
                        return err_new(e, 0, "curl: %s", curl_multi_strerror(mc));
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(L->multi, &left))) {
                        if (m->msg != CURLMSG_DONE)
                                continue;
                        struct xfer_ctx *x = NULL;
                        CURLcode rc = m->data.result;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                        if (transfer_done(L, x->j, rc, e) < 0)
                                return -1;
                        timeout = 0; /* a slot is free: start the next one now */
                }
                for (size_t i = 0; i < L->n; i++) {
                        struct job *j = &L->jobs[i];
                        pthread_mutex_lock(&L->mu);
                        int64_t got = j->got;
                        int running = j->dl == DL_RUNNING;
                        pthread_mutex_unlock(&L->mu);
                        if (!running)
                                continue;
                        if (got - j->last_progress >= PROGRESS_STEP) {
                                j->last_progress = got;
                                progress(L, j, "Downloading", got, j->desc->size);
                        }
                }
                curl_multi_poll(L->multi, NULL, 0, timeout, NULL);
        }
}

int reg_pull_layers(struct store *s, struct reg_client *c, const struct registry_opts *o,
                    const char *repo, const struct reg_manifest *m, char *const *diff_ids,
                    char *const *chains, struct err **e)
{
        struct layers L = {.s = s, .c = c, .o = o, .repo = repo, .n = m->n_layers, .parallel = 1};
        int r = 0;
        L.jobs = xcalloc(L.n ? L.n : 1, sizeof(struct job));
        pthread_mutex_init(&L.mu, NULL);
        pthread_cond_init(&L.cond, NULL);
        pthread_mutex_init(&L.progress_mu, NULL);
        L.multi = curl_multi_init();
        if (L.multi == NULL) {
                r = err_new(e, ENOMEM, "curl_multi_init failed");
                goto out;
        }
        for (size_t i = 0; i < L.n; i++) {
                struct job *j = &L.jobs[i];
                j->idx = i;
                j->desc = &m->layers[i];
                j->diff_id = diff_ids[i];
                j->chain = chains[i];
                j->parent = i ? chains[i - 1] : NULL;
                snprintf(j->id, sizeof(j->id), "%.12s", digest_hex(j->desc->digest));
                if (store_layer_has(s, j->chain)) {
                        j->present = 1;
                        j->dl = DL_NONE;
                        progress(&L, j, "Already exists", 0, 0);
                } else if (store_blob_has(s, j->desc->digest)) {
                        j->dl = DL_BLOB_OK;
                        j->file_mode = 1;
                        progress(&L, j, "Download complete", j->desc->size, j->desc->size);
                } else {
                        j->dl = DL_QUEUED;
                        progress(&L, j, "Pulling fs layer", 0, j->desc->size);
                }
        }
        if (pthread_create(&L.committer, NULL, committer_main, &L) != 0) {
                r = err_new(e, errno, "start a thread");
                goto out;
        }
        if (pthread_create(&L.unpacker, NULL, unpacker_main, &L) != 0) {
                r = err_new(e, errno, "start a thread");
                pthread_mutex_lock(&L.mu);
                L.stop = 1;
                pthread_cond_broadcast(&L.cond);
                pthread_mutex_unlock(&L.mu);
                pthread_join(L.committer, NULL);
                goto out;
        }
        L.threads = 1;

        struct err *dl_err = NULL;
        if (download_loop(&L, &dl_err) < 0)
                fail(&L, &dl_err);
        /* wake the threads if they wait for something that will not come */
        for (size_t i = 0; i < L.n; i++)
                drop_transfer(&L, &L.jobs[i]);
        pthread_mutex_lock(&L.mu);
        if (!L.unpacked_all)
                L.stop = 1;
        pthread_cond_broadcast(&L.cond);
        pthread_mutex_unlock(&L.mu);
        pthread_join(L.unpacker, NULL);
        /* the committer ends by itself once every blob is in (or on stop) */
        pthread_join(L.committer, NULL);
        if (L.err) {
                if (e && *e == NULL)
                        *e = TAKE_PTR(L.err);
                r = -1;
        }
out:
        for (size_t i = 0; i < L.n; i++) {
                struct job *j = &L.jobs[i];
                drop_transfer(&L, j);
                blob_abort(TAKE_PTR(j->bw));
                pthread_mutex_lock(&L.mu);
                queue_free_locked(&L, j);
                pthread_mutex_unlock(&L.mu);
                err_free(&j->cb_err);
        }
        err_free(&L.err);
        if (L.multi)
                curl_multi_cleanup(L.multi);
        pthread_mutex_destroy(&L.mu);
        pthread_cond_destroy(&L.cond);
        pthread_mutex_destroy(&L.progress_mu);
        free(L.jobs);
        return r;
}

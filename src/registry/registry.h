/*
 * registry: a client of the OCI Distribution API over libcurl: pull and
 * push images between a registry and the store, with Docker's auth
 * (anonymous, Basic, Bearer tokens from the WWW-Authenticate challenge,
 * credentials from ~/.docker/config.json), manifest lists / OCI indexes
 * with platform selection, parallel layer downloads unpacked while they
 * stream, and every digest verified.  A failure leaves the store as it was
 * and names the image and the reason.
 */
#ifndef BARGE_REGISTRY_H
#define BARGE_REGISTRY_H

#include <stdint.h>

#include "../common/digest.h"
#include "../common/err.h"
#include "../store/store.h"

/* Progress of one item ("layer" ids are the short hex of the digest).
 * Pull statuses: "Already exists", "Pulling fs layer", "Downloading",
 * "Download complete", "Extracting", "Pull complete"; push: "Preparing",
 * "Pushing", "Pushed", "Layer already exists", "Mounted from <repo>".
 * During a pull the callback is also called from the pull's worker
 * threads, never two calls at once. */
typedef void (*registry_progress_fn)(void *ctx, const char *id, const char *status, int64_t current,
                                     int64_t total);

struct registry_opts {
        const char *mirror;          /* for docker.io, e.g. "http://127.0.0.1:5000" */
        const char *const *insecure; /* NULL-terminated "host[:port]" allowed over http */
        const char *auth_file;       /* NULL: $DOCKER_CONFIG/config.json or ~/.docker/config.json */
        const char *platform;        /* "os/arch[/variant]"; NULL: the host's */
        registry_progress_fn progress;
        void *progress_ctx;
        /* Credentials given with the request (barged's X-Registry-Auth):
         * when username is set they are used instead of the auth file's. */
        const char *username, *password;
        /* When *cancel becomes nonzero (another thread sets it: the client
         * went away), a pull stops with ECANCELED and adds nothing. */
        const int *cancel;
};

/* Pull `ref` into the store and tag it (name:tag, and name@digest of the
 * manifest or index it resolved to); *image_id gets the config digest. */
int registry_pull(struct store *s, const char *ref, const struct registry_opts *o,
                  char image_id[DIGEST_LEN + 1], struct err **e);
/* Push the image `ref` (name:tag) names in the store to its registry; the
 * pushed name@digest becomes one of the image's repo digests. */
int registry_push(struct store *s, const char *ref, const struct registry_opts *o, struct err **e);
/* Check credentials against `server` (NULL: docker.io; "host:port",
 * "https://index.docker.io/v1/" and URLs are accepted); on success store
 * them in the auth file (base64 "auth" under "auths", docker.io under
 * "https://index.docker.io/v1/").  Logout removes them (no error when
 * there were none). */
int registry_login(const char *server, const char *user, const char *password,
                   const struct registry_opts *o, struct err **e);
/* Only check the credentials, as registry_login does, writing nothing
 * (barged's POST /auth: the client keeps credentials itself). */
int registry_login_check(const char *server, const char *user, const char *password,
                         const struct registry_opts *o, struct err **e);
int registry_logout(const char *server, const struct registry_opts *o, struct err **e);

#endif

/*
 * registry internals shared by the files of src/registry/ and their unit
 * tests: auth (base64, the credentials file, WWW-Authenticate challenges),
 * manifests and platform selection (pure functions over JSON), and the HTTP
 * client (one struct reg_client per pull or push).
 */
#ifndef BARGE_REGISTRY_INTERNAL_H
#define BARGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/digest.h"
#include "../common/err.h"
#include "registry.h"

#define DOCKER_IO "docker.io"
#define DOCKER_HUB_URL "https://registry-1.docker.io"
#define DOCKER_AUTH_KEY "https://index.docker.io/v1/" /* docker's key in config.json */

/* Manifests and configs are small; anything bigger is refused. */
#define REG_MANIFEST_MAX (4u << 20)
#define REG_CONFIG_MAX (8u << 20)

#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/* ---- auth.c ---- */

char *reg_base64_encode(const void *data, size_t n);
/* NULL when `s` is not valid base64; *n gets the decoded length. */
char *reg_base64_decode(const char *s, size_t *n);

struct reg_challenge {
        char *scheme; /* "basic" or "bearer" (lowercased); NULL if none understood */
        char *realm, *service, *scope;
};
/* Parse a WWW-Authenticate value (one or more challenges, comma separated);
 * Bearer is preferred over Basic.  Returns <0 when no known scheme is there. */
int reg_challenge_parse(const char *value, struct reg_challenge *c);
void reg_challenge_clear(struct reg_challenge *c);

/* The registry domain a login server names: NULL, "docker.io",
 * "index.docker.io", "https://index.docker.io/v1/" -> "docker.io";
 * "http://host:5000/x" -> "host:5000". */
char *reg_server_domain(const char *server);
/* The key under "auths": DOCKER_AUTH_KEY for docker.io, else the domain. */
const char *reg_auth_key(const char *domain);
/* $DOCKER_CONFIG/config.json, ~/.docker/config.json, or o->auth_file. */
char *reg_auth_file(const struct registry_opts *o);
/* Credentials for `domain`: 1 found, 0 none, <0 unreadable file.  Keys are
 * matched as docker does: by host after stripping a scheme and a path. */
int reg_auth_lookup(const char *file, const char *domain, char **user, char **pass, struct err **e);
/* Add or replace (user != NULL) or remove (user == NULL) the entry, keeping
 * every other key; written atomically with mode 0600.  Removing returns 1
 * when there was nothing to remove. */
int reg_auth_update(const char *file, const char *domain, const char *user, const char *pass,
                    struct err **e);

/* ---- manifest.c ---- */

struct reg_platform {
        char os[32], arch[32], variant[16];
};

/* "linux/arm64", "linux/arm/v7", "arm64" (os linux); normalized. */
int reg_platform_parse(const char *s, struct reg_platform *p, struct err **e);
void reg_platform_host(struct reg_platform *p);
/* Aliases to canonical names (x86_64 -> amd64, aarch64 -> arm64, armhf ->
 * arm/v7, ...) and default variants as containerd has them (arm -> arm/v7;
 * arm64/v8 -> arm64, amd64/v1 -> amd64). */
void reg_platform_normalize(struct reg_platform *p);
/* "linux/arm64/v8" */
void reg_platform_format(const struct reg_platform *p, char *buf, size_t n);
/* 0: `have` cannot run where `want` is asked; higher: a better match. */
int reg_platform_score(const struct reg_platform *want, const struct reg_platform *have);

enum reg_manifest_kind { REG_KIND_IMAGE, REG_KIND_INDEX };
/* Decide from the Content-Type and the document's own mediaType. */
int reg_manifest_kind(const char *content_type, json_t *doc, enum reg_manifest_kind *kind,
                      struct err **e);
/* Pick the index entry for `want`; *digest gets its digest.  The error lists
 * the platforms the index has. */
int reg_index_select(json_t *index, const struct reg_platform *want, char digest[DIGEST_LEN + 1],
                     struct err **e);

struct reg_desc {
        char *media_type;
        char digest[DIGEST_LEN + 1];
        int64_t size;
};
struct reg_manifest {
        struct reg_desc config;
        struct reg_desc *layers;
        size_t n_layers;
};
int reg_manifest_parse(json_t *doc, struct reg_manifest *m, struct err **e);
void reg_manifest_clear(struct reg_manifest *m);
/* rootfs.diff_ids of an image config, checked. */
int reg_config_diff_ids(json_t *config, char ***ids, size_t *n, struct err **e);
void reg_strv_free(char **v, size_t n);

/* ---- http.c ---- */

struct reg_client;

struct reg_response {
        long status;
        char *body; /* NUL-terminated */
        size_t len;
        char *content_type, *digest, *location, *www_authenticate, *retry_after;
        int64_t content_length; /* -1 unknown */
};
void reg_response_clear(struct reg_response *r);

/* Whether plain http may be used for `domain`: listed in o->insecure
 * ("host:port", or "host" for any port) or a loopback host. */
int reg_host_may_use_http(const struct registry_opts *o, const char *domain);
/* A client for one operation on domain/repo; push asks for push scope. */
int reg_client_new(const char *domain, const char *repo, int push, const struct registry_opts *o,
                   struct reg_client **out, struct err **e);
void reg_client_free(struct reg_client *c);
/* Use these credentials instead of the auth file's (login). */
void reg_client_set_creds(struct reg_client *c, const char *user, const char *pass);
/* Ask tokens for one more scope too ("repository:other/repo:pull"); drops
 * the cached token. */
void reg_client_add_scope(struct reg_client *c, const char *scope);
/* The registry's base URL ("https://registry-1.docker.io"), decided on the
 * first request (https, or http for insecure and loopback hosts). */
const char *reg_client_base(struct reg_client *c);
const char *reg_client_repo(const struct reg_client *c);

/* A request body: memory, or `len` bytes of a file descriptor from offset 0. */
struct reg_body {
        const void *data;
        int fd; /* used when data is NULL and fd >= 0 */
        size_t len;
        const char *content_type;
};

/* One request with auth and retries: `path` is below base ("/v2/...") or an
 * absolute URL (upload locations).  Every HTTP status returns 0 (the caller
 * judges it, with reg_status_error); transport failures that outlast the
 * retries return <0.  5xx and 429 are retried too, then returned as they
 * are.  The body is kept up to `max_body` bytes (more is an error). */
int reg_request(struct reg_client *c, const char *method, const char *path,
                const char *const *headers, const struct reg_body *body, size_t max_body,
                struct reg_response *resp, struct err **e);
/* "manifest unknown (404)": the registry's error message when its JSON
 * error body has one, else a description of the status. */
int reg_status_error(const struct reg_response *r, struct err **e, const char *what);

/* For transfers driven elsewhere (curl multi): set the URL, TLS, timeouts
 * and the Authorization header (the list must outlive the transfer; free it
 * with curl_slist_free_all). */
int reg_client_setup_easy(struct reg_client *c, CURL *h, const char *path,
                          struct curl_slist **headers, struct err **e);
/* After a 401 on such a transfer: authenticate from its challenge. */
int reg_client_reauth(struct reg_client *c, const char *www_authenticate, struct err **e);
/* Transient curl and HTTP failures, worth another try. */
int reg_transient_curl(CURLcode rc);
int reg_transient_status(long status);
/* Sleep before retry `attempt` (1-based): 250 ms, 500 ms, 1 s, or the
 * server's Retry-After (at most 10 s). */
void reg_backoff(int attempt, const char *retry_after);
#define REG_RETRIES 3

/* ---- layers.c ---- */

/* Download and unpack the manifest's layers (chains[i] is layer i's chain
 * id); layers the store has are skipped, blobs it has are not downloaded. */
int reg_pull_layers(struct store *s, struct reg_client *c, const struct registry_opts *o,
                    const char *repo, const struct reg_manifest *m, char *const *diff_ids,
                    char *const *chains, struct err **e);
/* Tests: smaller queue limits (0: the defaults, 64 MiB per layer, 256 MiB
 * in all), to exercise pausing and unpacking from blob files. */
void reg_layers_set_queue_limits(size_t per_layer, size_t total);

#endif

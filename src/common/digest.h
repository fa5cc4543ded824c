/*
 * digest: sha256 content digests in OCI form ("sha256:<64 hex>"), over
 * OpenSSL's libcrypto.  Streaming, so blobs are verified while written.
 */
#ifndef BARGE_DIGEST_H
#define BARGE_DIGEST_H

#include <stddef.h>

#include "err.h"

#define DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct digester;

struct digester *digester_new(void);
void digester_update(struct digester *d, const void *buf, size_t n);
/* Writes "sha256:<hex>" into out (DIGEST_LEN + 1 bytes); the digester is reset. */
void digester_final(struct digester *d, char out[DIGEST_LEN + 1]);
void digester_free(struct digester *d);

/* One-shot digest of a buffer. */
void digest_buf(const void *buf, size_t n, char out[DIGEST_LEN + 1]);
/* "sha256:<64 lowercase hex>"; anything else (other algorithms included) is
 * refused with an error naming the string. */
int digest_check(const char *digest, struct err **e);
/* The hex part of a valid digest. */
const char *digest_hex(const char *digest);

#endif

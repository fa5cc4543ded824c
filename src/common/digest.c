#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct digester {
        EVP_MD_CTX *ctx;
};

struct digester *digester_new(void)
{
        struct digester *d = xcalloc(1, sizeof(*d));
        d->ctx = EVP_MD_CTX_new();
        if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
                abort();
        return d;
}

void digester_update(struct digester *d, const void *buf, size_t n)
{
        EVP_DigestUpdate(d->ctx, buf, n);
}

void digester_final(struct digester *d, char out[DIGEST_LEN + 1])
{
        unsigned char md[32];
        unsigned int len = 0;
        EVP_DigestFinal_ex(d->ctx, md, &len);
        memcpy(out, "sha256:", 7);
        for (unsigned i = 0; i < 32; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
        EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL);
}

void digester_free(struct digester *d)
{
        if (d == NULL)
                return;
        EVP_MD_CTX_free(d->ctx);
        free(d);
}

void digest_buf(const void *buf, size_t n, char out[DIGEST_LEN + 1])
{
        struct digester *d = digester_new();
        digester_update(d, buf, n);
        digester_final(d, out);
        digester_free(d);
}

int digest_check(const char *digest, struct err **e)
{
        if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != DIGEST_LEN)
                return err_new(e, 0, "invalid digest \"%s\": expected sha256:<64 hex digits>",
                               digest ? digest : "");
        for (const char *p = digest + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return err_new(e, 0, "invalid digest \"%s\": not lowercase hex", digest);
        return 0;
}

const char *digest_hex(const char *digest)
{
        return digest + 7;
}

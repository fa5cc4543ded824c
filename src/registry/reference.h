/*
 * reference: image references normalized as Docker does:
 *   busybox                    -> docker.io/library/busybox:latest
 *   user/app:1                 -> docker.io/user/app:1
 *   localhost:5000/app@sha256:<hex>, ghcr.io/org/app:v2 (kept as given)
 * A first component with '.' or ':' or equal to "localhost" is a registry
 * host; names are lowercase; tags match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 */
#ifndef BARGE_REFERENCE_H
#define BARGE_REFERENCE_H

#include "../common/err.h"

struct image_ref {
        char *domain; /* "docker.io", "localhost:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* "latest"; NULL when only a digest was given */
        char *digest; /* "sha256:..." or NULL */
};

int ref_parse(const char *s, struct image_ref **out, struct err **e);
void ref_free(struct image_ref *r);
/* "docker.io/library/busybox:latest" (tag form; name@digest when no tag) */
char *ref_string(const struct image_ref *r);
/* "docker.io/library/busybox" */
char *ref_name(const struct image_ref *r);
/* Docker's short display form: "busybox:latest", "user/app:1", "localhost:5000/app:1" */
char *ref_familiar(const char *normalized);

#endif

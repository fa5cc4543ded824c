/*
 * imageio: images in and out of the store as tar archives:
 *   save   docker-archive (manifest.json, <config>.json, <layer>/layer.tar,
 *          repositories), which `docker load` and `podman load` read;
 *   load   docker-archive and OCI image layouts (oci-layout, index.json,
 *          blobs/), as written by `docker save` and `skopeo copy ...
 *          oci-archive:`; the image id (config digest) is kept;
 *   import a root filesystem tar becomes a one-layer image.
 * Archives are read and written as streams (stdin/stdout work).  Formats,
 * name mapping and what is kept byte for byte: docs/imageio.md.
 */
#ifndef BARGE_IMAGEIO_H
#define BARGE_IMAGEIO_H

#include "store.h"

/* Write the images named by refs/ids to fd as one docker-archive.  Nothing
 * is written unless every image and layer is found and checks out.  A
 * caller writing to a pipe should ignore SIGPIPE (a reader going away is
 * then an error). */
int image_save(struct store *s, char *const *refs, size_t n, int fd, struct err **e);
/* Load every image in the archive read from fd (compressed or not); tags it
 * carries are applied.  Calls loaded(ctx, "Loaded image: name:tag" or
 * "Loaded image ID: sha256:...") per image, and Docker's "The image ...
 * already exists, renaming the old one ..." when a tag moves; loaded may be
 * NULL.  A bad archive fails with one error and adds nothing to the store. */
int image_load(struct store *s, int fd, void (*loaded)(void *ctx, const char *line), void *ctx,
               struct err **e);
/* A rootfs tar (plain, gzip, zstd, xz or bzip2) from fd becomes an image;
 * optional ref ("name[:tag]", normalized here) to tag it; *image_id gets its
 * id. */
int image_import(struct store *s, int fd, const char *ref, char image_id[DIGEST_LEN + 1],
                 struct err **e);

/* `docker import --change/--message`: Dockerfile instructions applied to
 * the new image's config, and the comment it carries (NULL: Docker's
 * "Imported from -"). */
struct import_opts {
        const char *const *changes;
        size_t n_changes;
        const char *message;
};
/* image_import with opts (may be NULL); the changes are checked before
 * anything is read from fd. */
int image_import_opts(struct store *s, int fd, const char *ref, const struct import_opts *opts,
                      char image_id[DIGEST_LEN + 1], struct err **e);
/* Apply one Dockerfile instruction to an image config's "config" object
 * (Docker's commit/import changes): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD.  Anything else, or bad
 * arguments, fails with EINVAL in dockerd's words.  A deliberately small
 * parser (one line, quotes and backslashes, no $variable expansion); the
 * builder brings a real Dockerfile parser. */
int image_config_change(json_t *config, const char *change, struct err **e);

#endif

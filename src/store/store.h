/*
 * store: the local image cache (default root /var/lib/barge).
 *
 *   <root>/blobs/sha256/<hex>   content-addressed blobs: manifests, indexes,
 *                               configs and compressed layer tars, each
 *                               verified against its digest while written
 *   <root>/layers/<chain hex>/  one unpacked layer per chain id, shared by
 *                               every image that uses it: diff/ holds its
 *                               files (an overlayfs lowerdir), link its
 *                               short id
 *   <root>/l/<short id>         symlink to ../layers/<hex>/diff: short
 *                               lowerdir names, so deep images fit in one
 *                               overlay mount option page
 *   <root>/tmp/                 in-progress writes; emptied by store_open
 *                               when no other process has the store open
 *   <root>/lock                 flock: shared while open, exclusive to sweep
 *   <root>/metadata.db          SQLite (WAL): images, references, layers
 *                               with reference counts
 *
 * Crash safety: nothing becomes visible under blobs/ or layers/ (or in the
 * database) until it is complete and verified: writes go to tmp/ and are
 * renamed into place, then recorded in one transaction.  A process killed
 * at any point leaves only tmp/ debris and layer directories without rows,
 * which the next store_open removes (see docs/store.md).
 *
 * Several processes may open one root at once.  A struct store may be
 * shared by threads (its database use is serialized inside); each writer
 * (blob_writer, layer_writer) is used by one thread at a time.  Do not use
 * a struct store in a child after fork: open another one there.
 *
 * Does not own: registries (registry/), containers' writable layers beyond
 * the snapshot helpers below, or any network access.  Errors for things
 * that are not there carry ENOENT.
 */
#ifndef BARGE_STORE_H
#define BARGE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/digest.h"
#include "../common/err.h"

#define STORE_DEFAULT_ROOT "/var/lib/barge"

struct store;

int store_open(const char *root, struct store **out, struct err **e);
void store_close(struct store *s);
const char *store_root(const struct store *s);

/* ---- blobs ---- */

struct blob_writer;
/* Start writing a blob; with `expected` (a digest) the commit fails unless
 * the bytes match it, and if the blob is already present *w is NULL and 0
 * is returned (nothing to download). */
int store_blob_begin(struct store *s, const char *expected, struct blob_writer **w, struct err **e);
int blob_write(struct blob_writer *w, const void *buf, size_t n, struct err **e);
/* Verify, fsync, rename into place; frees w.  digest_out may be NULL. */
int blob_commit(struct blob_writer *w, char digest_out[DIGEST_LEN + 1], struct err **e);
void blob_abort(struct blob_writer *w);
int store_blob_put(struct store *s, const void *data, size_t len, char digest_out[DIGEST_LEN + 1],
                   struct err **e);
int store_blob_has(struct store *s, const char *digest);
/* Whole blob in memory (manifests, configs): at most `max` bytes. */
int store_blob_read(struct store *s, const char *digest, size_t max, char **data, size_t *len,
                    struct err **e);
/* Open for reading (layers to push or save); returns an fd. */
int store_blob_open(struct store *s, const char *digest, struct err **e);
int64_t store_blob_size(struct store *s, const char *digest);

/* ---- layers ---- */

/* chain id of a layer: its diff id alone at the bottom, else
 * sha256(parent chain id + " " + diff id), as the OCI image spec says. */
void store_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1]);
int store_layer_has(struct store *s, const char *chain_id);
/* The unpacked directory of a layer (layers/<hex>/diff); NULL for an
 * invalid chain id.  The caller frees it. */
char *store_layer_dir(struct store *s, const char *chain_id);
/* The compressed blob a layer was recorded with ("" when it has none, as
 * for an import); ENOENT when the layer is not in the store. */
int store_layer_blob(struct store *s, const char *chain_id, char out[DIGEST_LEN + 1],
                     struct err **e);

struct layer_writer;
/* Unpack a layer tar stream (gzip, zstd, xz, bzip2 or none: detected) on top
 * of `parent_chain` (NULL for a bottom layer).  Bytes are fed as they
 * arrive, so a pull unpacks while it downloads. */
int store_layer_begin(struct store *s, const char *parent_chain, struct layer_writer **w,
                      struct err **e);
/* After a failure (a bad tar entry stops the unpacking early), call
 * layer_abort. */
int layer_write(struct layer_writer *w, const void *buf, size_t n, struct err **e);
/* Finish: the uncompressed stream's digest must equal expected_diff_id
 * (when not NULL).  Records the layer (refcount 0 until an image uses it)
 * with `blob` (its compressed blob digest, may be NULL).  Frees w. */
int layer_commit(struct layer_writer *w, const char *expected_diff_id, const char *blob,
                 char diff_id_out[DIGEST_LEN + 1], char chain_id_out[DIGEST_LEN + 1],
                 struct err **e);
void layer_abort(struct layer_writer *w);

/* ---- images ---- */

struct store_image {
        char id[DIGEST_LEN + 1];       /* the config blob's digest */
        char manifest[DIGEST_LEN + 1]; /* the manifest blob's digest ("" if none, e.g. import) */
        char **chain_ids;              /* bottom first */
        size_t n_layers;
        char **repo_tags; /* "docker.io/library/busybox:latest" */
        size_t n_tags;
        char **repo_digests; /* "docker.io/library/busybox@sha256:..." */
        size_t n_digests;
        int64_t size;    /* unpacked size of all layers */
        int64_t created; /* unix time from the config */
};

/* Record an image whose config, manifest and layers are in the store, and
 * take a reference on each layer.  Idempotent for an existing id.  The
 * chain ids must be those the config's rootfs.diff_ids give, and each layer
 * must have been committed on top of the one before. */
int store_image_put(struct store *s, const char *config_digest, const char *manifest_digest,
                    char *const *chain_ids, size_t n_layers, struct err **e);
/* Point `ref` (a normalized name:tag, or name@digest) at an image
 * (`image_id` is looked up as store_image_get does).  Moves an existing ref. */
int store_tag(struct store *s, const char *ref, const char *image_id, struct err **e);
int store_untag(struct store *s, const char *ref, struct err **e);
/* Find an image by reference (matched exactly), full id ("sha256:<hex>"),
 * bare hex id, or unique id prefix (>= 4 hex, "sha256:" optional). */
int store_image_get(struct store *s, const char *ref_or_id, struct store_image **out,
                    struct err **e);
int store_image_list(struct store *s, struct store_image ***out, size_t *n, struct err **e);
/* Remove an image with no references left (else an error naming them),
 * releasing its layers; layers whose count drops to zero are deleted
 * (directory and row), and so are the config, manifest and layer blobs
 * nothing else records.  The caller makes sure no container uses it. */
int store_image_remove(struct store *s, const char *image_id, struct err **e);
void store_image_free(struct store_image *img);
/* Collect what no image uses: layers with no reference left and blobs no
 * image or layer records (what a failed or abandoned pull leaves), only
 * those older than `before` (unix time) so that a pull still running in
 * another handle keeps its work.  *freed (may be NULL) gets the bytes. */
int store_gc(struct store *s, int64_t before, int64_t *freed, struct err **e);

/* ---- snapshots ---- */

/* A container's root filesystem: makes dir/upper, dir/work, dir/merged and
 * mounts overlayfs on dir/merged with the image's layers (top first) as
 * lowerdirs.  `image_id` is looked up as store_image_get does. */
int store_snapshot_mount(struct store *s, const char *image_id, const char *dir, struct err **e);
/* The same with overlayfs's "volatile" where the kernel has it: no syncs of
 * the upper layer (a fast unmount), but after a crash the snapshot can only
 * be removed, not mounted again.  For snapshots removed at their first
 * unmount (AutoRemove containers). */
int store_snapshot_mount_volatile(struct store *s, const char *image_id, const char *dir,
                                  struct err **e);
/* Unmount dir/merged (lazily if busy) and remove dir. */
int store_snapshot_unmount(const char *dir, struct err **e);

#endif

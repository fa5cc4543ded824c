/*
 * api/images_int: what images.c (metadata routes) and images_io.c (pull,
 * push, load, import, save) share.  Private to those two files.
 */
#ifndef BARGE_API_IMAGES_INT_H
#define BARGE_API_IMAGES_INT_H

#include <jansson.h>

#include "../store/store.h"
#include "http.h"

/* An error with Docker's plain words and an errno that only picks the HTTP
 * status (err_new would append strerror's text). */
int img_err(struct err **e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "busybox" -> "docker.io/library/busybox:latest"; NULL when not a name */
char *img_normalize(const char *name);
/* A user's name, id or short id -> the image (ENOENT "No such image: x");
 * *norm_out (may be NULL) gets the normalized name when it was found by name. */
int img_find(struct store *s, const char *key, struct store_image **img, char **norm_out,
             struct err **e);
/* The image's config blob as JSON */
json_t *img_config(struct store *s, const struct store_image *img, struct err **e);

/* Transfers that write to the store (pull, load, import) hold this shared;
 * prune's garbage collection takes it exclusively, or skips collecting when
 * one is running (its fresh blobs and layers have no image yet). */
void img_transfer_begin(void);
void img_transfer_end(void);
int img_gc_trylock(void);
void img_gc_unlock(void);

/* routes of images_io.c */
void img_create(struct http_req *r); /* POST /images/create: pull or import */
void img_push(struct http_req *r);   /* POST /images/{name}/push */
void img_load(struct http_req *r);   /* POST /images/load */
void img_save(struct http_req *r);   /* GET /images/get, /images/{name}/get */

#endif

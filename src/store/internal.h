/*
 * Private to src/store/: the struct behind the opaque `struct store`, the
 * SQLite helpers every part of the store uses, and the on-disk names.
 *
 * Locking: `mu` serializes every use of `db` inside this process (a SQLite
 * transaction is per connection, so two threads must not interleave
 * statements).  Between processes, SQLite's own write lock (BEGIN
 * IMMEDIATE) is the one lock that orders renames into and out of layers/
 * with the rows that describe them; see docs/store.md.
 */
#ifndef BARGE_STORE_INTERNAL_H
#define BARGE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 2
#define LINK_ID_LEN 12 /* short layer names in l/ (overlay lowerdir length) */

struct store {
        char boot[40];      /* this boot's id: marks layers not yet synced (layer.c) */
        char *root;         /* absolute */
        int rootfd;         /* O_DIRECTORY on root */
        int lockfd;         /* <root>/lock: flock shared while open */
        sqlite3 *db;        /* guarded by mu */
        pthread_mutex_t mu; /* owned by this struct, see above */
};

/* ---- db.c ---- */

static inline void stmt_finalizep(sqlite3_stmt **st)
{
        sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(stmt_finalizep)))

static inline void store_unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}
#define _cleanup_unlock_ __attribute__((cleanup(store_unlockp)))
/* Take s->mu; use as `_cleanup_unlock_ pthread_mutex_t *m = store_lock(s);` */
pthread_mutex_t *store_lock(struct store *s);

int db_open(struct store *s, struct err **e);
int db_exec(struct store *s, const char *sql, struct err **e);
/* Prepare `sql` and bind arguments described by `types`: 's' a string
 * (NULL binds NULL), 'i' an int64_t. */
int db_prepare(struct store *s, sqlite3_stmt **out, struct err **e, const char *sql,
               const char *types, ...);
/* 1: a row is ready, 0: done, <0: error. */
int db_step(struct store *s, sqlite3_stmt *st, struct err **e);
/* Run a statement that returns no rows. */
int db_run(struct store *s, struct err **e, const char *sql, const char *types, ...);
/* BEGIN IMMEDIATE: the write lock, waiting up to the busy timeout. */
int db_begin(struct store *s, struct err **e);
/* COMMIT if r >= 0, else ROLLBACK; returns r, or -1 if the COMMIT failed. */
int db_end(struct store *s, int r, struct err **e);
int db_error(struct store *s, struct err **e, const char *what);
/* Copy column `col` (text) of the current row into a new string. */
char *db_col_str(sqlite3_stmt *st, int col);
int db_layer_exists(struct store *s, const char *chain_id, struct err **e);

/* ---- paths and files (store.c) ---- */

char *store_blob_path(const struct store *s, const char *digest);
char *store_layer_path(const struct store *s, const char *chain_id);
/* fsync a directory so a rename or unlink in it is durable. */
int fsync_dir(const char *path, struct err **e);
/* Rename a directory into tmp/ (atomically out of sight); returns its new
 * path, or NULL if it could not be moved (absent included). */
char *store_set_aside(struct store *s, const char *path);
/* Set aside and delete a directory tree (in place if it cannot be moved). */
void store_discard_dir(struct store *s, const char *path);
/* The short id in layers/<hex>/link, NULL if missing. */
char *layer_link_id(const struct store *s, const char *chain_id);

/* ---- layer.c ---- */

/* Take a layer without a row out of layers/ and l/: with the write lock
 * held.  Returns the directory's new path in tmp/ for the caller to delete
 * after the commit (NULL if there was none). */
char *layer_set_aside_locked(struct store *s, const char *chain_id);

/* ---- sweep (store.c) ---- */
int store_sweep(struct store *s, struct err **e);

#endif

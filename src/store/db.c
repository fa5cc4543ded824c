/*
 * db: the store's SQLite database (metadata.db, WAL mode): the schema and
 * small helpers so callers read as one line per statement.
 *
 * The schema is versioned with PRAGMA user_version; a database newer than
 * this code is refused rather than misread.  synchronous=FULL: a commit
 * that returned must survive a power loss, because files are deleted right
 * after the commit that forgets them (a rolled-back deletion would leave
 * rows naming missing directories).
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"

#define BUSY_TIMEOUT_MS 60000

static const char schema_v1[] =
    "CREATE TABLE layers ("
    "  chain_id TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL,"
    "  parent TEXT," /* no foreign key: a child may outlive an unreferenced parent */
    "  blob TEXT,"
    "  size INTEGER NOT NULL,"
    "  refcount INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL);"
    "CREATE INDEX layers_blob ON layers(blob);"
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY,"
    "  manifest TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  added INTEGER NOT NULL);"
    "CREATE INDEX images_manifest ON images(manifest);"
    "CREATE TABLE image_layers ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
    "  PRIMARY KEY (image_id, idx));"
    "CREATE INDEX image_layers_chain ON image_layers(chain_id);"
    "CREATE TABLE refs ("
    "  ref TEXT PRIMARY KEY,"
    "  image_id TEXT NOT NULL REFERENCES images(id));"
    "CREATE INDEX refs_image ON refs(image_id);";

pthread_mutex_t *store_lock(struct store *s)
{
        pthread_mutex_lock(&s->mu);
        return &s->mu;
}

int db_error(struct store *s, struct err **e, const char *what)
{
        return err_new(e, 0, "%s/metadata.db: %s: %s", s->root, what, sqlite3_errmsg(s->db));
}

int db_exec(struct store *s, const char *sql, struct err **e)
{
        char *msg = NULL;
        if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
                return 0;
        err_new(e, 0, "%s/metadata.db: %.40s: %s", s->root, sql, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
}

static int bind_args(struct store *s, sqlite3_stmt *st, const char *types, va_list ap,
                     struct err **e)
{
        for (int i = 0; types && types[i]; i++) {
                int rc;
                if (types[i] == 's') {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT)
                               : sqlite3_bind_null(st, i + 1);
                } else {
                        rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
                }
                if (rc != SQLITE_OK)
                        return db_error(s, e, "bind");
        }
        return 0;
}

static int vprepare(struct store *s, sqlite3_stmt **out, struct err **e, const char *sql,
                    const char *types, va_list ap)
{
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
                return db_error(s, e, sql);
        if (bind_args(s, st, types, ap, e) < 0) {
                sqlite3_finalize(st);
                return -1;
        }
        *out = st;
        return 0;
}

int db_prepare(struct store *s, sqlite3_stmt **out, struct err **e, const char *sql,
               const char *types, ...)
{
        va_list ap;
        va_start(ap, types);
        int r = vprepare(s, out, e, sql, types, ap);
        va_end(ap);
        return r;
}

int db_step(struct store *s, sqlite3_stmt *st, struct err **e)
{
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return db_error(s, e, sqlite3_sql(st));
}

int db_run(struct store *s, struct err **e, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        va_start(ap, types);
        int r = vprepare(s, &st, e, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return -1;
        return db_step(s, st, e) < 0 ? -1 : 0;
}

int db_begin(struct store *s, struct err **e)
{
        return db_exec(s, "BEGIN IMMEDIATE", e);
}

int db_end(struct store *s, int r, struct err **e)
{
        if (r >= 0)
                return db_exec(s, "COMMIT", e) < 0 ? (db_exec(s, "ROLLBACK", NULL), -1) : r;
        db_exec(s, "ROLLBACK", NULL);
        return r;
}

char *db_col_str(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);
        return xstrdup(t ? (const char *)t : "");
}

int db_layer_exists(struct store *s, const char *chain_id, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        /* a layer left unsynced by an earlier boot may have lost data: absent */
        if (db_prepare(s, &st, e,
                       "SELECT 1 FROM layers WHERE chain_id = ? AND (boot = '' OR boot = ?)", "ss",
                       chain_id, s->boot) < 0)
                return -1;
        return db_step(s, st, e);
}

static int user_version(struct store *s, struct err **e)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(s, &st, e, "PRAGMA user_version", NULL) < 0 || db_step(s, st, e) != 1)
                return -1;
        return sqlite3_column_int(st, 0);
}

/* Create or check the schema; inside the write lock, so two processes
 * opening a new store at once create it once. */
static int migrate(struct store *s, struct err **e)
{
        int v = user_version(s, e);
        if (v < 0)
                return -1;
        if (v > STORE_SCHEMA_VERSION)
                return err_new(e, 0,
                               "%s/metadata.db has schema version %d; this barge knows up to %d",
                               s->root, v, STORE_SCHEMA_VERSION);
        if (v == STORE_SCHEMA_VERSION)
                return 0;
        if (v < 1 && db_exec(s, schema_v1, e) < 0)
                return -1;
        /* v2: layers.boot, the boot id while a layer is not yet synced ("" once it is) */
        if (v < 2 &&
            db_exec(s, "ALTER TABLE layers ADD COLUMN boot TEXT NOT NULL DEFAULT ''", e) < 0)
                return -1;
        return db_exec(s, "PRAGMA user_version = 2", e);
}

/* Switch to WAL once per database file.  The switch needs the file to
 * itself and SQLite reports "locked" at once instead of calling the busy
 * handler, so when several processes create a store together, retry. */
static int set_wal(struct store *s, struct err **e)
{
        for (int waited = 0;; waited += 10) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                if (db_prepare(s, &st, e, "PRAGMA journal_mode = WAL", NULL) < 0)
                        return -1;
                int rc = sqlite3_step(st);
                if (rc == SQLITE_ROW &&
                    strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0)
                        return 0;
                if (rc != SQLITE_BUSY || waited >= BUSY_TIMEOUT_MS)
                        return db_error(s, e, "PRAGMA journal_mode = WAL");
                usleep(10 * 1000);
        }
}

int db_open(struct store *s, struct err **e)
{
        _cleanup_free_ char *path = xasprintf("%s/metadata.db", s->root);
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
                return err_new(e, 0, "open %s: %s", path,
                               s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        /* cache_size: SQLite's own page cache, 2 MiB by default, stays
         * allocated in the long-running daemon; the metadata is small and
         * the kernel caches the file anyway, so 512 KiB is plenty. */
        if (set_wal(s, e) < 0 || db_exec(s, "PRAGMA synchronous = FULL", e) < 0 ||
            db_exec(s, "PRAGMA foreign_keys = ON", e) < 0 ||
            db_exec(s, "PRAGMA cache_size = -512", e) < 0)
                return -1;
        if (db_begin(s, e) < 0)
                return -1;
        return db_end(s, migrate(s, e), e);
}

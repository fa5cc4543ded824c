/*
 * store: opening and closing the image cache, the on-disk layout, and the
 * sweep that removes what crashed writers left behind.
 *
 * Several processes may have one store open at once (barge invocations
 * now, the daemon later).  Each holds a shared flock on <root>/lock for as
 * long as its store is open.  The sweep needs the store to itself: it only
 * runs when store_open gets the lock exclusively (nobody else has the store
 * open, so nothing in tmp/ is in progress and every layer directory without
 * a row is garbage), then the lock is turned into a shared one.  A store
 * that is always open (the daemon) is swept when it starts.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

char *store_blob_path(const struct store *s, const char *digest)
{
        return xasprintf("%s/blobs/sha256/%s", s->root, digest_hex(digest));
}

char *store_layer_path(const struct store *s, const char *chain_id)
{
        return xasprintf("%s/layers/%s", s->root, digest_hex(chain_id));
}

const char *store_root(const struct store *s)
{
        return s->root;
}

int fsync_dir(const char *path, struct err **e)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return err_sys(e, "fsync %s", path);
        return 0;
}

char *store_set_aside(struct store *s, const char *path)
{
        char *tmp = xasprintf("%s/tmp/gone-XXXXXX", s->root);
        /* rename onto a fresh empty directory: atomic; delete at leisure */
        if (mkdtemp(tmp) == NULL) {
                free(tmp);
                return NULL;
        }
        if (rename(path, tmp) < 0) {
                rmdir(tmp);
                free(tmp);
                return NULL;
        }
        return tmp;
}

void store_discard_dir(struct store *s, const char *path)
{
        _cleanup_free_ char *aside = store_set_aside(s, path);
        _cleanup_err_ struct err *e = NULL;
        if (rm_rf(aside ? aside : path, &e) < 0)
                log_warn("store: %s", e->msg);
}

char *layer_link_id(const struct store *s, const char *chain_id)
{
        _cleanup_free_ char *path = xasprintf("%s/layers/%s/link", s->root, digest_hex(chain_id));
        char *id = NULL;
        if (read_file(path, 64, &id, NULL, NULL) < 0)
                return NULL;
        return id;
}

static int make_layout(const char *root, struct err **e)
{
        static const char *const dirs[] = {"blobs/sha256", "layers", "l", "tmp"};
        if (mkdir_p(root, 0700, e) < 0)
                return -1;
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", root, dirs[i]);
                if (mkdir_p(p, 0700, e) < 0)
                        return -1;
        }
        return 0;
}

/* ---- the sweep ---- */

static int is_hex64(const char *s)
{
        if (strlen(s) != 64)
                return 0;
        return strspn(s, "0123456789abcdef") == 64;
}

static int sweep_tmp(struct store *s, struct err **e)
{
        _cleanup_free_ char *dir = xasprintf("%s/tmp", s->root);
        DIR *d = opendir(dir);
        if (d == NULL)
                return err_sys(e, "open %s", dir);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                r = rm_rf(p, e);
        }
        closedir(d);
        return r;
}

/* A layer directory is kept only if a row names it. */
static int sweep_layers(struct store *s, struct err **e)
{
        _cleanup_free_ char *dir = xasprintf("%s/layers", s->root);
        DIR *d = opendir(dir);
        if (d == NULL)
                return err_sys(e, "open %s", dir);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *chain = xasprintf("sha256:%s", de->d_name);
                int has = is_hex64(de->d_name) ? db_layer_exists(s, chain, e) : 0;
                if (has < 0) {
                        r = -1;
                } else if (has == 0) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                        log_debug("store: removing orphan layer directory %s", p);
                        r = rm_rf(p, e);
                }
        }
        closedir(d);
        return r;
}

/* A link l/<id> is kept only if its layer exists and names it back. */
static int link_is_live(struct store *s, int ldirfd, const char *name)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(ldirfd, name, target, sizeof(target) - 1);
        if (n < 0)
                return 0;
        target[n] = '\0';
        char hex[65];
        if (sscanf(target, "../layers/%64[0-9a-f]/diff", hex) != 1 || !is_hex64(hex))
                return 0;
        _cleanup_free_ char *chain = xasprintf("sha256:%s", hex);
        _cleanup_free_ char *id = layer_link_id(s, chain);
        return id != NULL && strcmp(id, name) == 0;
}

static int sweep_links(struct store *s, struct err **e)
{
        _cleanup_free_ char *dir = xasprintf("%s/l", s->root);
        DIR *d = opendir(dir);
        if (d == NULL)
                return err_sys(e, "open %s", dir);
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (link_is_live(s, dirfd(d), de->d_name))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = err_sys(e, "remove %s/%s", dir, de->d_name);
                        break;
                }
        }
        closedir(d);
        return r;
}

/* Rows of layers an earlier boot left unsynced (no image took them, see
 * layer.c): their files may be incomplete after a power loss.  Their
 * directories then go as orphans. */
static int sweep_unsynced(struct store *s, struct err **e)
{
        return db_run(s, e, "DELETE FROM layers WHERE boot != '' AND boot != ? AND refcount = 0",
                      "s", s->boot);
}

int store_sweep(struct store *s, struct err **e)
{
        _cleanup_unlock_ pthread_mutex_t *m = store_lock(s);
        if (sweep_tmp(s, e) < 0 || sweep_unsynced(s, e) < 0 || sweep_layers(s, e) < 0 ||
            sweep_links(s, e) < 0)
                return err_wrap(e, "cleaning store %s", s->root);
        return 0;
}

/* Shared lock for the life of the store; sweep first if nobody else has it. */
static int lock_and_sweep(struct store *s, struct err **e)
{
        if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return err_sys(e, "lock %s/lock", s->root);
                if (flock(s->lockfd, LOCK_SH) < 0)
                        return err_sys(e, "lock %s/lock", s->root);
                return 0;
        }
        if (store_sweep(s, e) < 0)
                return -1;
        if (flock(s->lockfd, LOCK_SH) < 0)
                return err_sys(e, "lock %s/lock", s->root);
        return 0;
}

static int open_fds(struct store *s, struct err **e)
{
        s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->rootfd < 0)
                return err_sys(e, "open %s", s->root);
        _cleanup_free_ char *lock = xasprintf("%s/lock", s->root);
        s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lockfd < 0)
                return err_sys(e, "open %s", lock);
        return 0;
}

static void read_boot_id(char *buf, size_t n)
{
        int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        ssize_t k = fd < 0 ? -1 : read(fd, buf, n - 1);
        if (fd >= 0)
                close(fd);
        if (k <= 0) {
                /* unknown boot: treat every unsynced layer as this boot's */
                snprintf(buf, n, "unknown");
                return;
        }
        buf[k] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

int store_open(const char *root, struct store **out, struct err **e)
{
        if (root == NULL || *root == '\0')
                root = STORE_DEFAULT_ROOT;
        if (make_layout(root, e) < 0)
                return err_wrap(e, "store %s", root);
        struct store *s = xcalloc(1, sizeof(*s));
        s->rootfd = s->lockfd = -1;
        pthread_mutex_init(&s->mu, NULL);
        read_boot_id(s->boot, sizeof(s->boot));
        s->root = realpath(root, NULL);
        if (s->root == NULL) {
                err_sys(e, "resolve %s", root);
                store_close(s);
                return -1;
        }
        if (open_fds(s, e) < 0 || db_open(s, e) < 0 || lock_and_sweep(s, e) < 0) {
                store_close(s);
                return -1;
        }
        *out = s;
        return 0;
}

void store_close(struct store *s)
{
        if (s == NULL)
                return;
        if (s->db)
                sqlite3_close(s->db);
        if (s->rootfd >= 0)
                close(s->rootfd);
        if (s->lockfd >= 0)
                close(s->lockfd); /* drops the flock */
        pthread_mutex_destroy(&s->mu);
        free(s->root);
        free(s);
}

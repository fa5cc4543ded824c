/*
 * snapshot: a container's root filesystem as an overlay mount over an
 * image's layers: <dir>/upper (the container's changes), <dir>/work
 * (overlayfs's scratch), <dir>/merged (the mount).
 *
 * The mount options travel in one page (4 KiB), so lowerdirs are named by
 * their short links, relative to the store root: "l/<12 chars>" costs 15
 * bytes a layer, about 250 layers whatever the store's path, against
 * overlayfs's limit of 500 and Docker's 128.  Relative names are resolved
 * against the caller's working directory, which is process-wide; the mount
 * is therefore made by a short-lived thread that first unshares its
 * filesystem attributes (unshare(CLONE_FS)) and changes into the store
 * root, leaving every other thread's working directory alone.
 *
 * A volatile snapshot (containers removed at their exit) is mounted with
 * overlayfs's "volatile": no syncs of the upper layer.  Without it the
 * unmount syncs the whole filesystem under the upper dir, tens of
 * milliseconds of `run --rm` on a busy disk.  After a crash such a
 * snapshot cannot be mounted again, only removed, which is all its owner
 * does with it.
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"

#define MOUNT_DATA_MAX 4095 /* one page, with its NUL */

struct mount_job {
        int rootfd;
        const char *target;
        const char *data;
        int err; /* errno of the failed step, 0 on success */
        const char *step;
};

static void *mount_thread(void *arg)
{
        struct mount_job *j = arg;
        j->step = "unshare";
        if (unshare(CLONE_FS) < 0)
                goto fail;
        j->step = "chdir";
        if (fchdir(j->rootfd) < 0)
                goto fail;
        j->step = "mount";
        if (mount("overlay", j->target, "overlay", 0, j->data) < 0)
                goto fail;
        return NULL;
fail:
        j->err = errno;
        return NULL;
}

static int mount_from_root(struct store *s, const char *target, const char *data, struct err **e)
{
        struct mount_job j = {.rootfd = s->rootfd, .target = target, .data = data};
        pthread_t t;
        int r = pthread_create(&t, NULL, mount_thread, &j);
        if (r != 0)
                return err_new(e, r, "start mount thread");
        pthread_join(t, NULL);
        if (j.err)
                return err_new(e, j.err, "%s overlay on %s (%s)", j.step, target, data);
        return 0;
}

/* Overlay splits its options at ',' and lowerdirs at ':'; '\' escapes. */
static char *escape_opt(const char *path)
{
        char *out = xmalloc(2 * strlen(path) + 1), *o = out;
        for (const char *p = path; *p; p++) {
                if (*p == ',' || *p == ':' || *p == '\\')
                        *o++ = '\\';
                *o++ = *p;
        }
        *o = '\0';
        return out;
}

/* "l/A:l/B:..." top layer first; an image without layers gets dir/empty. */
static char *lowerdirs(struct store *s, const struct store_image *img, const char *dir,
                       struct err **e)
{
        if (img->n_layers == 0) {
                _cleanup_free_ char *empty = xasprintf("%s/empty", dir);
                if (mkdir(empty, 0755) < 0 && errno != EEXIST)
                        return err_sys(e, "mkdir %s", empty), NULL;
                return escape_opt(empty);
        }
        char *out = xcalloc(1, img->n_layers * (LINK_ID_LEN + 3) + 1);
        for (size_t i = img->n_layers; i-- > 0;) {
                _cleanup_free_ char *id = layer_link_id(s, img->chain_ids[i]);
                if (id == NULL || strlen(id) != LINK_ID_LEN) {
                        free(out);
                        return err_new(e, ENOENT, "image %s: layer %s has no link in %s/l", img->id,
                                       img->chain_ids[i], s->root),
                               NULL;
                }
                strcat(out, i + 1 == img->n_layers ? "l/" : ":l/");
                strcat(out, id);
        }
        return out;
}

static int make_dirs(const char *dir, struct err **e)
{
        static const char *const sub[] = {"upper", "work", "merged"};
        if (mkdir_p(dir, 0700, e) < 0)
                return -1;
        for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, sub[i]);
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return err_sys(e, "mkdir %s", p);
        }
        return 0;
}

static int mount_image(struct store *s, const struct store_image *img, const char *dir,
                       int volatile_, struct err **e)
{
        _cleanup_free_ char *lower = lowerdirs(s, img, dir, e);
        if (lower == NULL)
                return -1;
        _cleanup_free_ char *edir = escape_opt(dir);
        _cleanup_free_ char *data =
            xasprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work,index=off", lower, edir, edir);
        if (strlen(data) > MOUNT_DATA_MAX)
                return err_new(e, E2BIG, "image %s: %zu layers do not fit in one overlay mount",
                               img->id, img->n_layers);
        _cleanup_free_ char *target = xasprintf("%s/merged", dir);
        if (volatile_) {
                _cleanup_free_ char *vdata = xasprintf("%s,volatile", data);
                if (strlen(vdata) <= MOUNT_DATA_MAX) {
                        _cleanup_err_ struct err *ve = NULL;
                        if (mount_from_root(s, target, vdata, &ve) == 0)
                                return 0;
                        /* kernels before 5.10 do not know the option */
                        if (ve->code != EINVAL)
                                return err_new(e, ve->code, "%s", ve->msg);
                }
        }
        return mount_from_root(s, target, data, e);
}

static int snapshot_mount(struct store *s, const char *image_id, const char *dir, int volatile_,
                          struct err **e)
{
        struct store_image *img = NULL;
        if (store_image_get(s, image_id, &img, e) < 0)
                return -1;
        int r = make_dirs(dir, e);
        _cleanup_free_ char *abs = r == 0 ? realpath(dir, NULL) : NULL;
        if (r == 0 && abs == NULL)
                r = err_sys(e, "resolve %s", dir);
        if (r == 0)
                r = mount_image(s, img, abs, volatile_, e);
        store_image_free(img);
        return r;
}

int store_snapshot_mount(struct store *s, const char *image_id, const char *dir, struct err **e)
{
        return snapshot_mount(s, image_id, dir, 0, e);
}

int store_snapshot_mount_volatile(struct store *s, const char *image_id, const char *dir,
                                  struct err **e)
{
        return snapshot_mount(s, image_id, dir, 1, e);
}

int store_snapshot_unmount(const char *dir, struct err **e)
{
        _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
        if (umount2(merged, 0) < 0 && errno != EINVAL && errno != ENOENT) {
                if (errno != EBUSY || umount2(merged, MNT_DETACH) < 0)
                        return err_sys(e, "unmount %s", merged);
        }
        return rm_rf(dir, e);
}

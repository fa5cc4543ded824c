/*
 * engine/ocispec_user: Config.User -> uid, gid and supplementary groups, read
 * from the image's /etc/passwd and /etc/group the way Docker (runc's
 * libcontainer/user) reads them.  The rootfs is untrusted: a file there may be
 * a symlink to "/etc/shadow" meant for the host's, so both files are opened
 * with openat2(RESOLVE_IN_ROOT), which resolves every symlink as if the
 * rootfs were "/", and only regular files are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/util.h"
#include "ocispec_internal.h"

#define ID_FILE_MAX (4 << 20) /* a passwd or group file larger than this is hostile */

/* One parsed line: fields split in place; only what lookup needs. */
struct pw_ent {
        const char *name;
        long long uid, gid;
        const char *home;
};

struct gr_ent {
        const char *name;
        long long gid;
        char *members; /* comma separated */
};

/* Read rootfs/<rel> without leaving the rootfs.  *out is NULL (and 0
 * returned) when the file does not exist: an image need not have one. */
static int read_in_root(const char *rootfs, const char *rel, char **out, struct err **e)
{
        *out = NULL;
        if (rootfs == NULL)
                return 0;
        _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_sys(e, "opening the container's root %s", rootfs);
        struct open_how how = {
            .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return err_sys(e, "opening /%s in the container", rel);
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return err_sys(e, "stat /%s in the container", rel);
        if (!S_ISREG(st.st_mode))
                return err_new(e, EINVAL, "/%s in the container is not a regular file", rel);
        size_t len;
        if (read_fd_all(fd, ID_FILE_MAX, out, &len, e) < 0)
                return err_wrap(e, "reading /%s in the container", rel);
        return 0;
}

static int parse_id(const char *s, long long *out)
{
        long long v;
        if (s == NULL || *s == '\0' || parse_int64(s, &v) < 0 || v < 0 || v > UINT32_MAX - 1)
                return -1;
        *out = v;
        return 0;
}

/* Split `line` at ':' into at most n fields (missing ones are ""). */
static void split_fields(char *line, char **f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                f[i] = line;
                char *c = line ? strchr(line, ':') : NULL;
                if (c) {
                        *c = '\0';
                        line = c + 1;
                } else {
                        line = NULL;
                }
                if (f[i] == NULL)
                        f[i] = "";
        }
}

/* Next non-empty, non-comment line of buf (modified in place). */
static char *next_line(char **cursor)
{
        while (*cursor && **cursor) {
                char *line = *cursor;
                char *nl = strchr(line, '\n');
                if (nl) {
                        *nl = '\0';
                        *cursor = nl + 1;
                } else {
                        *cursor = NULL;
                }
                while (*line == ' ' || *line == '\t')
                        line++;
                if (*line != '\0' && *line != '#')
                        return line;
        }
        return NULL;
}

/* The first passwd entry whose name is `name`, or (if name is numeric)
 * whose uid is it. */
static int find_passwd(char *buf, const char *want, struct pw_ent *out)
{
        long long want_id = -1;
        int numeric = parse_id(want, &want_id) == 0;
        char *cursor = buf, *line;
        while ((line = next_line(&cursor)) != NULL) {
                char *f[7];
                split_fields(line, f, 7);
                struct pw_ent p = {f[0], -1, -1, f[5]};
                if (parse_id(f[2], &p.uid) < 0 || parse_id(f[3], &p.gid) < 0)
                        continue;
                if (strcmp(p.name, want) == 0 || (numeric && p.uid == want_id)) {
                        *out = p;
                        return 1;
                }
        }
        return 0;
}

static int member_of(const char *members, const char *user)
{
        size_t n = strlen(user);
        for (const char *p = members; p && *p;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                if (len == n && strncmp(p, user, n) == 0)
                        return 1;
                p = end ? end + 1 : NULL;
        }
        return 0;
}

/* Group `want` (name, or a gid when numeric) -> gid; 0 found, -1 not. */
static int find_group(const char *group_text, const char *want, long long *gid)
{
        long long want_id = -1;
        int numeric = parse_id(want, &want_id) == 0;
        if (group_text == NULL)
                return -1;
        _cleanup_free_ char *buf = xstrdup(group_text);
        char *cursor = buf, *line;
        while ((line = next_line(&cursor)) != NULL) {
                char *f[4];
                split_fields(line, f, 4);
                long long g;
                if (parse_id(f[2], &g) < 0)
                        continue;
                if (strcmp(f[0], want) == 0 || (numeric && g == want_id)) {
                        *gid = g;
                        return 0;
                }
        }
        return -1;
}

static void add_gid(json_t *gids, long long gid)
{
        size_t i;
        json_t *v;
        json_array_foreach(gids, i, v) if (json_integer_value(v) == gid) return;
        json_array_append_new(gids, json_integer(gid));
}

/* The groups of group_text that list `user` as a member. */
static void member_groups(const char *group_text, const char *user, json_t *gids)
{
        if (group_text == NULL)
                return;
        _cleanup_free_ char *buf = xstrdup(group_text);
        char *cursor = buf, *line;
        while ((line = next_line(&cursor)) != NULL) {
                char *f[4];
                split_fields(line, f, 4);
                long long g;
                if (parse_id(f[2], &g) == 0 && member_of(f[3], user))
                        add_gid(gids, g);
        }
}

/* Resolve one group name or id; a numeric one need not exist. */
static int resolve_group(const char *group_text, const char *want, long long *gid, struct err **e)
{
        if (find_group(group_text, want, gid) == 0)
                return 0;
        if (parse_id(want, gid) == 0)
                return 0;
        return err_new(e, EINVAL, "unable to find group %s: no matching entries in group file",
                       want);
}

int ocispec_user(const char *rootfs, const char *user, json_t *group_add, json_t **out, char **home,
                 struct err **e)
{
        *out = NULL;
        if (home)
                *home = NULL;
        if (user == NULL)
                user = "";
        _cleanup_free_ char *spec = xstrdup(user);
        char *group = strchr(spec, ':');
        if (group)
                *group++ = '\0';
        const char *name = *spec ? spec : "0"; /* "" and ":grp" mean root */
        if (group && *group == '\0')
                group = NULL;

        _cleanup_free_ char *passwd = NULL, *groups = NULL;
        if (read_in_root(rootfs, "etc/passwd", &passwd, e) < 0 ||
            read_in_root(rootfs, "etc/group", &groups, e) < 0)
                return -1;

        struct pw_ent pw = {NULL, -1, 0, "/"};
        long long uid;
        const char *matched = NULL;
        if (passwd && find_passwd(passwd, name, &pw)) {
                uid = pw.uid;
                matched = pw.name;
        } else if (parse_id(name, &uid) == 0) {
                pw.gid = 0; /* a uid the image does not know: gid 0, as Docker */
        } else {
                return err_new(e, EINVAL,
                               "unable to find user %s: no matching entries in passwd file", name);
        }
        long long gid = pw.gid;
        if (group && resolve_group(groups, group, &gid, e) < 0)
                return -1;
        /* Docker lists the primary group first among the additional ones */
        json_t *gids = json_array();
        add_gid(gids, gid);
        if (!group && matched) {
                /* supplementary groups only in the implicit form, as runc */
                member_groups(groups, matched, gids);
        }
        size_t i;
        json_t *v;
        json_array_foreach(group_add, i, v)
        {
                long long g;
                const char *s = json_string_value(v);
                if (s == NULL || resolve_group(groups, s, &g, e) < 0) {
                        json_decref(gids);
                        return s ? -1 : err_new(e, EINVAL, "HostConfig.GroupAdd: not a string");
                }
                add_gid(gids, g);
        }
        json_t *u = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)uid, "gid", (json_int_t)gid,
                              "additionalGids", gids);
        if (home)
                *home = xstrdup(matched && pw.home && *pw.home ? pw.home : "/");
        *out = u;
        return 0;
}

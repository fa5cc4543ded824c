/*
 * cgroup.c against the real kernel (needs root and a mounted cgroup fs):
 * cgroups for forked sleeping children, their files, freezing, listing,
 * killing, removal, state round trip, refused values, path rules, the
 * device allow-list (v1 files and the v2 eBPF program), the mount inside a
 * container, and the v1 -> v2 conversions on a plain-file fixture.
 *
 * Everything is named barge-test-<pid>-*; every test cleans up after itself
 * (tracked children are killed, tracked cgroups destroyed) and a final sweep
 * removes any barge-test-<pid>* directory a failed test left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/runtime/cgroup.h"
#include "harness.h"

/* ---- tracking, so every test cleans up even when a CHECK fails ---------- */

static pid_t tracked_pids[16];
static size_t n_tracked_pids;
static struct cgroup *tracked_cgs[16];
static size_t n_tracked_cgs;
static char prefix[64]; /* barge-test-<pid> */

static pid_t track_pid(pid_t p)
{
        if (p > 0 && n_tracked_pids < ARRAY_SIZE(tracked_pids))
                tracked_pids[n_tracked_pids++] = p;
        return p;
}

static struct cgroup *track_cg(struct cgroup *cg)
{
        if (cg && n_tracked_cgs < ARRAY_SIZE(tracked_cgs))
                tracked_cgs[n_tracked_cgs++] = cg;
        return cg;
}

/* Kill and reap tracked children (and any reparented grandchildren), then
 * destroy tracked cgroups. */
static void cleanup(void)
{
        for (size_t i = 0; i < n_tracked_pids; i++) {
                kill(tracked_pids[i], SIGKILL);
                waitpid(tracked_pids[i], NULL, 0);
        }
        n_tracked_pids = 0;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        for (size_t i = 0; i < n_tracked_cgs; i++) {
                struct err *e = NULL;
                if (cgroup_destroy(tracked_cgs[i], &e) < 0)
                        printf("# cleanup: %s\n", e->msg);
                err_free(&e);
                cgroup_free(tracked_cgs[i]);
        }
        n_tracked_cgs = 0;
}

#define T(fn)                                                                                      \
        do {                                                                                       \
                RUN(fn);                                                                           \
                cleanup();                                                                         \
        } while (0)

/* rmdir `dir` and all cgroups below it. */
static void rmdir_tree(const char *dir)
{
        DIR *d = opendir(dir);
        if (d == NULL)
                return;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char sub[4096];
                snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
                rmdir_tree(sub);
        }
        closedir(d);
        rmdir(dir);
}

/* Find directories named `pfx`* up to `depth` levels below `dir`; remove
 * them, and count them in *found. */
static void sweep_dir(const char *dir, const char *pfx, int depth, int *found)
{
        DIR *d = opendir(dir);
        if (d == NULL)
                return;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char sub[4096];
                snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
                if (strncmp(de->d_name, pfx, strlen(pfx)) == 0) {
                        (*found)++;
                        rmdir_tree(sub);
                } else if (depth > 0) {
                        sweep_dir(sub, pfx, depth - 1, found);
                }
        }
        closedir(d);
}

/* Every cgroup/cgroup2 mount point, from /proc/self/mountinfo. */
static size_t cgroup_mounts(char mnts[][256], size_t max)
{
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[4096];
        size_t n = 0;
        while (f && n < max && fgets(line, sizeof(line), f)) {
                char mp[256], *dash = strstr(line, " - ");
                if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 &&
                    (strncmp(dash, " - cgroup ", 10) == 0 || strncmp(dash, " - cgroup2 ", 11) == 0))
                        snprintf(mnts[n++], 256, "%s", mp);
        }
        if (f)
                fclose(f);
        return n;
}

/* How many barge-test-<pid>* directories exist in any hierarchy (removed). */
static int sweep(const char *pfx)
{
        char mnts[32][256];
        size_t n = cgroup_mounts(mnts, 32);
        int found = 0;
        for (size_t i = 0; i < n; i++)
                sweep_dir(mnts[i], pfx, 3, &found);
        return found;
}

/* ---- helpers ------------------------------------------------------------ */

static pid_t sleeper(void)
{
        pid_t p = fork();
        if (p == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        return track_pid(p);
}

static char *path_of(const char *suffix)
{
        return xasprintf("/%s-%s", prefix, suffix);
}

/* The directory serving `ctrl` in cgroup_to_json(): a v1 hierarchy naming
 * it, else the v2 one; NULL if none. Sets *v2. */
static char *dir_for(const struct cgroup *cg, const char *ctrl, int *v2)
{
        json_t *j = cgroup_to_json(cg), *h;
        size_t i;
        char *out = NULL;
        json_array_foreach(json_object_get(j, "hierarchies"), i, h)
        {
                const char *type = json_string_value(json_object_get(h, "type"));
                const char *ctrls = json_string_value(json_object_get(h, "controllers"));
                char padded[256];
                snprintf(padded, sizeof(padded), ",%s,", ctrls);
                char tok[64];
                snprintf(tok, sizeof(tok), ",%s,", ctrl);
                int is_v2 = strcmp(type, "v2") == 0;
                if ((!is_v2 && strstr(padded, tok)) || (is_v2 && out == NULL)) {
                        free(out);
                        out = xstrdup(json_string_value(json_object_get(h, "dir")));
                        *v2 = is_v2;
                        if (!is_v2)
                                break;
                }
        }
        json_decref(j);
        return out;
}

static char *read_in(const char *dir, const char *file)
{
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        char *s = NULL;
        size_t len = 0;
        struct err *e = NULL;
        if (read_file(p, 1 << 20, &s, &len, &e) < 0) {
                printf("# %s\n", e->msg);
                err_free(&e);
                return xstrdup("(unreadable)");
        }
        while (len && s[len - 1] == '\n')
                s[--len] = '\0';
        return s;
}

/* Contents of `file` in the directory serving `ctrl`. */
static char *ctrl_file(const struct cgroup *cg, const char *ctrl, const char *file)
{
        int v2;
        _cleanup_free_ char *dir = dir_for(cg, ctrl, &v2);
        return dir ? read_in(dir, file) : xstrdup("(no hierarchy)");
}

static int has_line(const char *text, const char *line)
{
        size_t n = strlen(line);
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
                        return 1;
        return 0;
}

static int all_dirs_gone(const struct cgroup *cg)
{
        json_t *j = cgroup_to_json(cg), *h;
        size_t i;
        int gone = 1;
        json_array_foreach(json_object_get(j, "hierarchies"), i, h)
        {
                const char *dir = json_string_value(json_object_get(h, "dir"));
                if (access(dir, F_OK) == 0) {
                        printf("# still there: %s\n", dir);
                        gone = 0;
                }
        }
        json_decref(j);
        return gone;
}

static int mode_is(const char *m)
{
        return strcmp(cgroup_mode(), m) == 0;
}

static int apply_str(struct cgroup *cg, const char *text)
{
        struct err *e = NULL;
        json_t *res = json_loads(text, 0, NULL);
        int r = cgroup_apply_resources(cg, res, &e);
        if (r < 0)
                printf("# %s\n", e->msg);
        err_free(&e);
        json_decref(res);
        return r;
}

/* ---- tests -------------------------------------------------------------- */

static void test_mode(void)
{
        const char *m = cgroup_mode();
        printf("# cgroup mode: %s\n", m);
        CHECK(mode_is("v1") || mode_is("v2") || mode_is("hybrid"));
}

static const char *limits_json =
    "{\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 50},"
    " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000}}";

static struct cgroup *create_limited(const char *suffix, pid_t pid, struct err **e)
{
        _cleanup_free_ char *path = path_of(suffix);
        json_t *res = json_loads(limits_json, 0, NULL);
        struct cgroup *cg = NULL;
        int r = cgroup_create(path, NULL, res, pid, &cg, e);
        json_decref(res);
        return r == 0 ? track_cg(cg) : NULL;
}

static void test_create_limits(void)
{
        pid_t child = sleeper();
        struct err *e = NULL;
        struct cgroup *cg = create_limited("limits", child, &e);
        if (e)
                printf("# %s\n", e->msg);
        CHECK(cg != NULL);
        int v2;
        _cleanup_free_ char *mdir = dir_for(cg, "memory", &v2);
        CHECK(mdir != NULL);
        _cleanup_free_ char *mem = read_in(mdir, v2 ? "memory.max" : "memory.limit_in_bytes");
        CHECK_STR(mem, "67108864");
        _cleanup_free_ char *pids = ctrl_file(cg, "pids", "pids.max");
        CHECK_STR(pids, "50");
        _cleanup_free_ char *cdir = dir_for(cg, "cpu", &v2);
        if (v2) {
                _cleanup_free_ char *w = read_in(cdir, "cpu.weight");
                _cleanup_free_ char *max = read_in(cdir, "cpu.max");
                CHECK_STR(w, "59");
                CHECK_STR(max, "50000 100000");
        } else {
                _cleanup_free_ char *sh = read_in(cdir, "cpu.shares");
                _cleanup_free_ char *q = read_in(cdir, "cpu.cfs_quota_us");
                _cleanup_free_ char *p = read_in(cdir, "cpu.cfs_period_us");
                CHECK_STR(sh, "512");
                CHECK_STR(q, "50000");
                CHECK_STR(p, "100000");
        }
        char pidline[32];
        snprintf(pidline, sizeof(pidline), "%d", (int)child);
        json_t *j = cgroup_to_json(cg), *h;
        size_t i;
        int in_all = 1;
        json_array_foreach(json_object_get(j, "hierarchies"), i, h)
        {
                _cleanup_free_ char *procs =
                    read_in(json_string_value(json_object_get(h, "dir")), "cgroup.procs");
                in_all &= has_line(procs, pidline);
        }
        json_decref(j);
        CHECK(in_all);
        char self[64];
        snprintf(self, sizeof(self), "/proc/%d/cgroup", (int)child);
        _cleanup_free_ char *pc = read_in("/", self + 1);
        CHECK(strstr(pc, prefix) != NULL);
}

static void test_update_only_given_keys(void)
{
        struct err *e = NULL;
        struct cgroup *cg = create_limited("update", sleeper(), &e);
        CHECK(cg != NULL);
        json_t *res = json_loads("{\"pids\": {\"limit\": 7}, \"memory\": {}}", 0, NULL);
        int r = cgroup_apply_resources(cg, res, &e);
        json_decref(res);
        if (e)
                printf("# %s\n", e->msg);
        CHECK(r == 0);
        int v2;
        _cleanup_free_ char *mdir = dir_for(cg, "memory", &v2);
        _cleanup_free_ char *mem = read_in(mdir, v2 ? "memory.max" : "memory.limit_in_bytes");
        _cleanup_free_ char *pids = ctrl_file(cg, "pids", "pids.max");
        CHECK_STR(pids, "7");
        CHECK_STR(mem, "67108864");
        res = json_loads("{\"pids\": {\"limit\": -1}}", 0, NULL);
        r = cgroup_apply_resources(cg, res, &e);
        json_decref(res);
        CHECK(r == 0);
        _cleanup_free_ char *unl = ctrl_file(cg, "pids", "pids.max");
        CHECK_STR(unl, "max");
        /* swap limited, then memory unlimited: swap must be lifted first (v1) */
        CHECK(apply_str(cg, "{\"memory\": {\"limit\": 67108864, \"swap\": 134217728}}") == 0);
        CHECK(apply_str(cg, "{\"memory\": {\"limit\": -1}}") == 0);
        _cleanup_free_ char *mun = read_in(mdir, v2 ? "memory.max" : "memory.limit_in_bytes");
        CHECK(strcmp(mun, "max") == 0 || strtoull(mun, NULL, 10) > (1ULL << 60));
        /* and lowering both again: memory first */
        CHECK(apply_str(cg, "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}") == 0);
        _cleanup_free_ char *low = read_in(mdir, v2 ? "memory.max" : "memory.limit_in_bytes");
        CHECK_STR(low, "33554432");
}

static void test_freeze_thaw(void)
{
        struct err *e = NULL;
        pid_t child = sleeper();
        struct cgroup *cg = create_limited("freeze", child, &e);
        CHECK(cg != NULL);
        CHECK(cgroup_is_frozen(cg) == 0);
        CHECK(cgroup_freeze(cg, 1, &e) == 0);
        CHECK(cgroup_is_frozen(cg) == 1);
        if (!mode_is("v2")) {
                _cleanup_free_ char *st = ctrl_file(cg, "freezer", "freezer.state");
                CHECK_STR(st, "FROZEN");
        }
        CHECK(cgroup_freeze(cg, 0, &e) == 0);
        CHECK(cgroup_is_frozen(cg) == 0);
        if (e)
                printf("# %s\n", e->msg);
        err_free(&e);
}

/* A child that forks a grandchild once it is in the cgroup. */
static pid_t forking_child(int go[2], int ready[2])
{
        if (pipe(go) < 0 || pipe(ready) < 0)
                return -1;
        pid_t p = fork();
        if (p == 0) {
                char c;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (read(go[0], &c, 1) != 1)
                        _exit(1);
                if (fork() == 0)
                        for (;;)
                                pause();
                if (write(ready[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(go[0]);
        close(ready[1]);
        return track_pid(p);
}

static void test_pids_and_kill_all(void)
{
        int go[2], ready[2];
        char c;
        struct err *e = NULL;
        pid_t child = forking_child(go, ready);
        CHECK(child > 0);
        struct cgroup *cg = create_limited("kill", child, &e);
        int ok = cg && write(go[1], "g", 1) == 1 && read(ready[0], &c, 1) == 1;
        close(go[1]);
        close(ready[0]);
        CHECK(ok);
        pid_t *pids = NULL;
        size_t n = 0;
        CHECK(cgroup_pids(cg, &pids, &n, &e) == 0);
        int has_child = 0;
        for (size_t i = 0; i < n; i++)
                has_child |= pids[i] == child;
        free(pids);
        CHECK(n == 2);
        CHECK(has_child);
        CHECK(cgroup_kill_all(cg, SIGKILL, &e) == 0);
        int st = 0;
        CHECK(waitpid(child, &st, 0) == child);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        for (int i = 0; i < 200; i++) { /* the grandchild is ours (subreaper) */
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                CHECK(cgroup_pids(cg, &pids, &n, &e) == 0);
                free(pids);
                if (n == 0)
                        break;
                usleep(10000);
        }
        CHECK(n == 0);
}

static void test_destroy_removes_everything(void)
{
        struct err *e = NULL;
        pid_t child = sleeper();
        struct cgroup *cg = NULL;
        _cleanup_free_ char *path = path_of("destroy");
        CHECK(cgroup_create(path, NULL, NULL, child, &cg, &e) == 0);
        track_cg(cg);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        CHECK(cgroup_destroy(cg, &e) == 0); /* may retry while the child is exiting */
        CHECK(all_dirs_gone(cg));
        CHECK(cgroup_destroy(cg, &e) == 0); /* already gone is fine */
}

static void test_json_round_trip(void)
{
        struct err *e = NULL;
        struct cgroup *cg = create_limited("json", 0, &e), *back = NULL;
        CHECK(cg != NULL);
        json_t *j = cgroup_to_json(cg);
        char *text = json_dumps(j, JSON_COMPACT);
        json_t *parsed = json_loads(text, 0, NULL);
        int r = cgroup_from_json(parsed, &back, &e);
        json_t *again = r == 0 ? cgroup_to_json(back) : NULL;
        int same = again && json_equal(j, again);
        json_decref(j);
        json_decref(parsed);
        json_decref(again);
        free(text);
        cgroup_free(back);
        CHECK(r == 0);
        CHECK(same);
        json_t *bad = json_loads("{\"hierarchies\": [{\"type\": \"v1\"}]}", 0, NULL);
        CHECK(cgroup_from_json(bad, &back, &e) < 0);
        json_decref(bad);
        printf("# %s\n", e->msg);
        err_free(&e);
}

/* A refused value leaves nothing behind and the process where it was. */
static void expect_refused(const char *suffix, const char *resources, const char *msg_part)
{
        struct err *e = NULL;
        pid_t child = sleeper();
        _cleanup_free_ char *path = path_of(suffix);
        char self[64];
        snprintf(self, sizeof(self), "proc/%d/cgroup", (int)child);
        _cleanup_free_ char *before = read_in("/", self);
        json_t *res = json_loads(resources, 0, NULL);
        struct cgroup *cg = NULL;
        int r = cgroup_create(path, NULL, res, child, &cg, &e);
        json_decref(res);
        track_cg(cg);
        _cleanup_free_ char *after = read_in("/", self);
        _cleanup_free_ char *pfx = xasprintf("%s-%s", prefix, suffix);
        int left = sweep(pfx);
        printf("# %s\n", e ? e->msg : "(no error)");
        int msg_ok = e && strstr(e->msg, msg_part) != NULL;
        err_free(&e);
        CHECK(r < 0);
        CHECK(msg_ok);
        CHECK(left == 0);
        CHECK_STR(after, before);
}

static void test_bad_type_refused(void)
{
        expect_refused("badtype", "{\"memory\": {\"limit\": \"abc\"}}",
                       "linux.resources.memory.limit: expected an integer, got a string");
}

static void test_kernel_refusal_reported(void)
{
        expect_refused("badcpuset",
                       "{\"memory\": {\"limit\": 67108864}, \"cpu\": {\"cpus\": \"999\"}}",
                       "cgroup cpuset: write cpuset.cpus=999: ");
}

static void test_bad_device_rule_refused(void)
{
        expect_refused("baddev", "{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}",
                       "linux.resources.devices[0].type");
}

/* "a/b" is relative to our own cgroup ("..", cleaned, cannot climb above
 * it), NULL means "<id>" below it. */
static void test_relative_and_default_paths(void)
{
        struct err *e = NULL;
        struct cgroup *rel = NULL, *def = NULL;
        _cleanup_free_ char *relpath = xasprintf("x/../../.././%s-rel", prefix);
        _cleanup_free_ char *id = xasprintf("%s-id", prefix);
        CHECK(cgroup_create(relpath, NULL, NULL, 0, &rel, &e) == 0);
        track_cg(rel);
        CHECK(cgroup_create(NULL, id, NULL, 0, &def, &e) == 0);
        track_cg(def);
        _cleanup_free_ char *own = read_in("/", "proc/self/cgroup");
        json_t *j = cgroup_to_json(rel), *h;
        size_t i;
        int ok = 1;
        json_array_foreach(json_object_get(j, "hierarchies"), i, h)
        {
                const char *ctrls = json_string_value(json_object_get(h, "controllers"));
                const char *path = json_string_value(json_object_get(h, "path"));
                char want_tail[128];
                snprintf(want_tail, sizeof(want_tail), "/%s-rel", prefix);
                size_t pl = strlen(path), tl = strlen(want_tail);
                ok &= pl >= tl && strcmp(path + pl - tl, want_tail) == 0;
                if (strcmp(json_string_value(json_object_get(h, "type")), "v1") == 0) {
                        /* the v1 memory hierarchy: below /proc/self/cgroup's path */
                        char key[128];
                        snprintf(key, sizeof(key), ":%s:", ctrls);
                        const char *line = strstr(own, key);
                        if (line) {
                                const char *base = line + strlen(key);
                                size_t bl = strcspn(base, "\n");
                                int root = bl == 1;
                                ok &=
                                    root ? pl == tl : strncmp(path, base, bl) == 0 && pl == bl + tl;
                        }
                }
        }
        json_decref(j);
        CHECK(ok);
        int v2;
        _cleanup_free_ char *dd = dir_for(def, "memory", &v2);
        CHECK(dd && strstr(dd, id) && access(dd, F_OK) == 0);
        if (e)
                printf("# %s\n", e->msg);
        err_free(&e);
}

/* Run `fn` in a child with the child in the container's cgroup; 0 = passed. */
static int in_child(struct cgroup *cg, int (*fn)(void *), void *arg)
{
        int go[2];
        if (pipe(go) < 0)
                return -1;
        pid_t p = fork();
        if (p == 0) {
                char c;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(go[1]);
                _exit(read(go[0], &c, 1) == 1 ? fn(arg) : 99);
        }
        track_pid(p);
        close(go[0]);
        struct err *e = NULL;
        int r = cgroup_enter(cg, p, &e);
        if (r < 0)
                printf("# %s\n", e->msg);
        err_free(&e);
        if (r < 0 || write(go[1], "g", 1) != 1) {
                close(go[1]);
                return -1;
        }
        close(go[1]);
        int st;
        if (waitpid(p, &st, 0) != p)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Expect: /dev/null opens, /dev/kmsg for reading is as `arg` says
 * ("deny", "read"), and /dev/kmsg for writing is refused. */
static int probe_devices(void *arg)
{
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0)
                return 2;
        close(fd);
        int rd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
        int rd_errno = errno;
        if (rd >= 0)
                close(rd);
        int wr = open("/dev/kmsg", O_WRONLY | O_NONBLOCK);
        if (wr >= 0)
                return 3;
        if (strcmp(arg, "read") == 0)
                return rd >= 0 ? 0 : 4;
        return rd < 0 && rd_errno == EPERM ? 0 : 5;
}

static const char *deny_all = "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}";
/* rw allowed, then w taken away again: an exception is edited in place */
static const char *allow_kmsg_read =
    "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
    " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rw\"},"
    " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"w\"}]}";
/* allow-all with one deny exception */
static const char *deny_kmsg_only =
    "{\"devices\": [{\"allow\": true, \"access\": \"rwm\"},"
    " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 11}]}";

static void test_devices_host(void)
{
        if (access("/dev/kmsg", F_OK) < 0) {
                printf("# no /dev/kmsg\n");
                return;
        }
        struct err *e = NULL;
        _cleanup_free_ char *path = path_of("dev");
        json_t *res = json_loads(deny_all, 0, NULL);
        struct cgroup *cg = NULL;
        int r = cgroup_create(path, NULL, res, 0, &cg, &e);
        json_decref(res);
        track_cg(cg);
        CHECK(r == 0);
        if (!mode_is("v2")) {
                _cleanup_free_ char *list = ctrl_file(cg, "devices", "devices.list");
                CHECK(has_line(list, "c 1:3 rwm"));
                CHECK(has_line(list, "c 136:* rwm"));
                CHECK(!has_line(list, "a *:* rwm"));
        }
        CHECK(in_child(cg, probe_devices, "deny") == 0);
        CHECK(apply_str(cg, allow_kmsg_read) == 0);
        CHECK(in_child(cg, probe_devices, "read") == 0);
        CHECK(apply_str(cg, deny_kmsg_only) == 0);
        CHECK(in_child(cg, probe_devices, "deny") == 0);
}

/* The v2 eBPF filter, on the cgroup2 hierarchy even on a hybrid host (the
 * v1 devices cgroup of the test process allows everything). */
static void test_devices_ebpf(void)
{
        struct err *e = NULL;
        struct cgroup *real = NULL, *cg = NULL;
        _cleanup_free_ char *path = path_of("bpf");
        CHECK(cgroup_create(path, NULL, NULL, 0, &real, &e) == 0);
        track_cg(real);
        json_t *j = cgroup_to_json(real), *h, *v2 = NULL;
        size_t i;
        json_array_foreach(json_object_get(j, "hierarchies"), i, h)
        {
                if (strcmp(json_string_value(json_object_get(h, "type")), "v2") == 0)
                        v2 = h;
        }
        if (v2 == NULL) {
                json_decref(j);
                printf("# no cgroup2 hierarchy: eBPF filter not tested\n");
                return;
        }
        json_t *only = json_pack("{s:[O]}", "hierarchies", v2);
        int r = cgroup_from_json(only, &cg, &e);
        json_decref(only);
        json_decref(j);
        CHECK(r == 0);
        track_cg(cg);
        CHECK(apply_str(cg, deny_all) == 0);
        CHECK(in_child(cg, probe_devices, "deny") == 0);
        CHECK(apply_str(cg, allow_kmsg_read) == 0); /* replaces the program */
        CHECK(in_child(cg, probe_devices, "read") == 0);
        CHECK(apply_str(cg, deny_kmsg_only) == 0);
        CHECK(in_child(cg, probe_devices, "deny") == 0);
}

struct mount_case {
        struct cgroup *cg;
        int cgroupns;
};

/* In a new mount (and maybe cgroup) namespace: mount, then look around. */
static int probe_mount(void *arg)
{
        struct mount_case *mc = arg;
        struct err *e = NULL;
        char dir[] = "/tmp/barge-cgmnt-XXXXXX";
        if (unshare(CLONE_NEWNS | (mc->cgroupns ? CLONE_NEWCGROUP : 0)) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdtemp(dir) == NULL)
                return 10;
        int r = cgroup_mount(mc->cg, dir, mc->cgroupns,
                             MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, &e);
        if (r < 0) {
                printf("# %s\n", e->msg);
                rmdir(dir);
                return 11;
        }
        int v2 = mode_is("v2");
        char f[512], me[32];
        snprintf(f, sizeof(f), "%s/%s", dir, v2 ? "memory.max" : "memory/memory.limit_in_bytes");
        _cleanup_free_ char *lim = read_in("/", f + 1);
        snprintf(f, sizeof(f), "%s/%s", dir, v2 ? "cgroup.procs" : "memory/cgroup.procs");
        _cleanup_free_ char *procs = read_in("/", f + 1);
        snprintf(me, sizeof(me), "%d", (int)getpid());
        int rc = strcmp(lim, "67108864") != 0 ? 12 : !has_line(procs, me) ? 13 : 0;
        snprintf(f, sizeof(f), "%s/%s", dir, v2 ? "pids.max" : "pids/pids.max");
        if (rc == 0 && (open(f, O_WRONLY) >= 0 || errno != EROFS))
                rc = 14;               /* read-only */
        if (rc == 0 && mc->cgroupns) { /* the container sees itself at "/" */
                _cleanup_free_ char *self = read_in("/", "proc/self/cgroup");
                rc = strstr(self, prefix) ? 15 : 0;
        }
        umount2(dir, MNT_DETACH);
        rmdir(dir);
        return rc;
}

static void test_mount(void)
{
        struct err *e = NULL;
        struct cgroup *cg = create_limited("mount", 0, &e);
        CHECK(cg != NULL);
        struct mount_case bind = {cg, 0}, ns = {cg, 1};
        int r1 = in_child(cg, probe_mount, &bind);
        int r2 = in_child(cg, probe_mount, &ns);
        printf("# bind: %d, cgroupns: %d\n", r1, r2);
        CHECK(r1 == 0);
        CHECK(r2 == 0);
}

/* ---- the pure v2 code path, on a view of this host without v1 ---------- */

/* The cgroup2 mount point, or "" */
static void cgroup2_mount(char *out, size_t size)
{
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[4096];
        *out = '\0';
        while (f && fgets(line, sizeof(line), f)) {
                char mp[256], *dash = strstr(line, " - cgroup2 ");
                if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1) {
                        snprintf(out, size, "%s", mp);
                        break;
                }
        }
        if (f)
                fclose(f);
}

/* In a private mount namespace, detach every v1 cgroup mount. */
static int hide_v1(void)
{
        char mnts[32][256];
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        size_t n = cgroup_mounts(mnts, 32);
        char v2[256];
        cgroup2_mount(v2, sizeof(v2));
        for (size_t i = 0; i < n; i++)
                if (strcmp(mnts[i], v2) != 0 && umount2(mnts[i], MNT_DETACH) < 0)
                        return -1;
        return 0;
}

static int step_fail(int code, struct err **e)
{
        if (e && *e)
                printf("# v2 view: %s\n", (*e)->msg);
        err_free(e);
        return code;
}

/* The checks of the pure v2 view, in a child; returns the failed step. */
static int v2_view_steps(struct cgroup **cgp, pid_t sleeper_pid)
{
        struct err *e = NULL;
        _cleanup_free_ char *path = path_of("v2");
        _cleanup_free_ char *bad = path_of("v2bad");
        if (strcmp(cgroup_mode(), "v2") != 0)
                return step_fail(1, NULL);
        json_t *res = json_loads("{\"pids\": {\"limit\": 5}}", 0, NULL);
        int r = cgroup_create(bad, NULL, res, 0, cgp, &e);
        json_decref(res);
        if (r == 0 || !strstr(e->msg, "cgroup pids: controller not available"))
                return step_fail(2, &e);
        err_free(&e);
        if (cgroup_create(path, NULL, NULL, sleeper_pid, cgp, &e) < 0)
                return step_fail(3, &e);
        pid_t *pids = NULL;
        size_t n = 0;
        if (cgroup_pids(*cgp, &pids, &n, &e) < 0 || n != 1 || pids[0] != sleeper_pid)
                return free(pids), step_fail(4, &e);
        free(pids);
        if (cgroup_freeze(*cgp, 1, &e) < 0 || !cgroup_is_frozen(*cgp) ||
            cgroup_freeze(*cgp, 0, &e) < 0 || cgroup_is_frozen(*cgp))
                return step_fail(5, &e);
        if (in_child(*cgp, probe_devices, "deny") != 0) /* the default eBPF allow-list */
                return step_fail(6, NULL);
        char dir[] = "/tmp/barge-cgmnt-XXXXXX", procs[256];
        if (mkdtemp(dir) == NULL || cgroup_mount(*cgp, dir, 0, MS_RDONLY, &e) < 0)
                return rmdir(dir), step_fail(7, &e);
        snprintf(procs, sizeof(procs), "%s/cgroup.freeze", dir);
        int mounted = access(procs, F_OK) == 0;
        umount2(dir, MNT_DETACH);
        rmdir(dir);
        if (!mounted)
                return step_fail(8, NULL);
        if (cgroup_kill_all(*cgp, SIGKILL, &e) < 0 || waitpid(sleeper_pid, NULL, 0) != sleeper_pid)
                return step_fail(9, &e);
        if (cgroup_destroy(*cgp, &e) < 0 || !all_dirs_gone(*cgp))
                return step_fail(10, &e);
        return 0;
}

static int v2_view_child(void)
{
        struct cgroup *cg = NULL;
        pid_t s = fork(); /* our own child, so waitpid works after kill_all */
        if (s == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        int rc = hide_v1() < 0 ? 20 : v2_view_steps(&cg, s);
        kill(s, SIGKILL);
        waitpid(s, NULL, 0);
        if (cg) {
                struct err *e = NULL;
                cgroup_destroy(cg, &e);
                err_free(&e);
                cgroup_free(cg);
        }
        return rc;
}

/* Put cgroup.subtree_control of `root` back to `before`. */
static void restore_subtree(const char *root, const char *before)
{
        _cleanup_free_ char *now = read_in(root, "cgroup.subtree_control");
        char p[512];
        snprintf(p, sizeof(p), "%s/cgroup.subtree_control", root);
        _cleanup_free_ char *copy = xstrdup(now);
        for (char *sv, *t = strtok_r(copy, " ", &sv); t; t = strtok_r(NULL, " ", &sv)) {
                char word[80];
                snprintf(word, sizeof(word), " %s ", t);
                _cleanup_free_ char *padded = xasprintf(" %s ", before);
                if (strstr(padded, word))
                        continue;
                _cleanup_free_ char *minus = xasprintf("-%s", t);
                if (write_file(p, minus, strlen(minus), 0, NULL) < 0)
                        printf("# cannot restore %s: %s\n", p, minus);
        }
}

static void test_pure_v2_view(void)
{
        char root[256];
        cgroup2_mount(root, sizeof(root));
        if (!*root) {
                printf("# no cgroup2 mount: pure v2 path not tested\n");
                return;
        }
        _cleanup_free_ char *before = read_in(root, "cgroup.subtree_control");
        fflush(stdout);
        pid_t p = fork();
        if (p == 0)
                _exit(v2_view_child());
        track_pid(p);
        int st = 0;
        waitpid(p, &st, 0);
        restore_subtree(root, before);
        printf("# pure v2 view: step %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- v1 -> v2 conversions, on a plain-file imitation of a v2 cgroup ----- */

static char fake_root[128];

static void fake_file(const char *name, const char *content)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/c/%s", fake_root, name);
        FILE *f = fopen(p, "w");
        if (f) {
                fputs(content, f);
                fclose(f);
        }
}

static struct cgroup *fake_v2(void)
{
        snprintf(fake_root, sizeof(fake_root), "/tmp/%s-fake", prefix);
        char c[256];
        snprintf(c, sizeof(c), "%s/c", fake_root);
        mkdir(fake_root, 0755);
        mkdir(c, 0755);
        static const char *const files[][2] = {
            {"cgroup.controllers", "cpuset cpu io memory hugetlb pids\n"},
            {"cpu.max", "max 100000\n"},
            {"memory.max", "max\n"},
            {"memory.swap.max", "max\n"},
            {"io.weight", "default 100\n"},
            {"hugetlb.2MB.max", "max\n"},
            {"cpuset.cpus", "\n"},
            {"pids.max", "max\n"},
            {"io.max", "\n"},
            {"cpu.weight", "100\n"},
            {"memory.low", "0\n"},
            {"memory.high", "max\n"}};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                fake_file(files[i][0], files[i][1]);
        json_t *j = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "hierarchies", "type", "v2",
                              "controllers", "cpuset,cpu,io,memory,hugetlb,pids", "mountpoint",
                              fake_root, "path", "/c", "dir", c);
        struct cgroup *cg = NULL;
        struct err *e = NULL;
        if (cgroup_from_json(j, &cg, &e) < 0)
                printf("# %s\n", e->msg);
        err_free(&e);
        json_decref(j);
        return cg;
}

static char *fake_read(const char *name)
{
        char d[256];
        snprintf(d, sizeof(d), "%s/c", fake_root);
        return read_in(d, name);
}

static void test_v2_conversions(void)
{
        struct cgroup *cg = fake_v2();
        CHECK(cg != NULL);
        CHECK(apply_str(
                  cg,
                  "{\"cpu\": {\"shares\": 1024, \"quota\": 50000}, \"pids\": {\"limit\": -1},"
                  " \"memory\": {\"limit\": 104857600, \"swap\": 314572800, \"reservation\": 1000},"
                  " \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\":"
                  " [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}]},"
                  " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}],"
                  " \"unified\": {\"memory.high\": \"50M\"}}") == 0);
        const char *want[][2] = {{"cpu.weight", "100"},
                                 {"cpu.max", "50000 100000"},
                                 {"pids.max", "max"},
                                 {"memory.max", "104857600"},
                                 {"memory.swap.max", "209715200"},
                                 {"memory.low", "1000"},
                                 {"io.weight", "4950"},
                                 {"io.max", "8:0 rbps=1048576"},
                                 {"hugetlb.2MB.max", "4194304"},
                                 {"memory.high", "50M"}};
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                _cleanup_free_ char *got = fake_read(want[i][0]);
                if (strcmp(got, want[i][1]) != 0)
                        printf("# %s\n", want[i][0]);
                CHECK_STR(got, want[i][1]);
        }
        /* only the quota changes: the period stays; -1 is max everywhere */
        CHECK(apply_str(cg,
                        "{\"cpu\": {\"quota\": -1, \"shares\": 2}, \"memory\": {\"limit\": -1}}") ==
              0);
        _cleanup_free_ char *max = fake_read("cpu.max"), *w = fake_read("cpu.weight");
        _cleanup_free_ char *mm = fake_read("memory.max"), *sm = fake_read("memory.swap.max");
        CHECK_STR(max, "max 100000");
        CHECK_STR(w, "1");
        CHECK_STR(mm, "max");
        CHECK_STR(sm, "max");
        static const long long shares[][2] = {
            {512, 59}, {2048, 174}, {100000, 4340}, {262144, 10000}};
        for (size_t i = 0; i < ARRAY_SIZE(shares); i++) {
                char res[64], want_w[32];
                snprintf(res, sizeof(res), "{\"cpu\": {\"shares\": %lld}}", shares[i][0]);
                snprintf(want_w, sizeof(want_w), "%lld", shares[i][1]);
                CHECK(apply_str(cg, res) == 0);
                _cleanup_free_ char *got = fake_read("cpu.weight");
                CHECK_STR(got, want_w);
        }
        fake_file("io.bfq.weight", "100\n"); /* with BFQ the weight is taken as is */
        CHECK(apply_str(cg, "{\"blockIO\": {\"weight\": 500}}") == 0);
        _cleanup_free_ char *bfq = fake_read("io.bfq.weight");
        CHECK_STR(bfq, "500");
        struct err *e = NULL;
        json_t *bad = json_loads("{\"memory\": {\"limit\": 1000, \"swap\": 500}}", 0, NULL);
        CHECK(cgroup_apply_resources(cg, bad, &e) < 0);
        json_decref(bad);
        printf("# %s\n", e->msg);
        err_free(&e);
        CHECK(apply_str(cg, "{\"hugepageLimits\": [{\"pageSize\": \"3MB\", \"limit\": 1}]}") < 0);
        cgroup_free(cg);
}

static void test_stats(void)
{
        struct err *e = NULL;
        struct cgroup *cg = create_limited("stats", sleeper(), &e);
        CHECK(cg != NULL);
        json_t *st = NULL;
        CHECK(cgroup_stats(cg, &st, &e) == 0);
        json_t *mem = json_object_get(st, "memory"), *pids = json_object_get(st, "pids");
        json_t *lim = json_object_get(json_object_get(mem, "usage"), "limit");
        int ok = json_integer_value(lim) == 67108864 &&
                 json_integer_value(json_object_get(pids, "current")) == 1 &&
                 json_integer_value(json_object_get(pids, "limit")) == 50 &&
                 json_object_get(json_object_get(st, "cpu"), "usage") != NULL;
        if (!ok) {
                char *s = json_dumps(st, JSON_COMPACT);
                printf("# %s\n", s);
                free(s);
        }
        json_decref(st);
        CHECK(ok);
}

int main(void)
{
        if (geteuid() != 0 || access("/proc/self/mountinfo", R_OK) < 0) {
                printf("ok 1 - # SKIP needs root\n1..1\n");
                return 0;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        snprintf(prefix, sizeof(prefix), "barge-test-%d", (int)getpid());
        T(test_mode);
        T(test_create_limits);
        T(test_update_only_given_keys);
        T(test_freeze_thaw);
        T(test_pids_and_kill_all);
        T(test_destroy_removes_everything);
        T(test_json_round_trip);
        T(test_bad_type_refused);
        T(test_kernel_refusal_reported);
        T(test_bad_device_rule_refused);
        T(test_relative_and_default_paths);
        T(test_devices_host);
        T(test_devices_ebpf);
        T(test_mount);
        T(test_pure_v2_view);
        T(test_v2_conversions);
        T(test_stats);
        int left = sweep(prefix);
        rm_rf(fake_root[0] ? fake_root : "/nonexistent", NULL);
        h_n++;
        if (left)
                h_fail++;
        printf("%sok %d - nothing left behind (%d removed by the sweep)\n", left ? "not " : "", h_n,
               left);
        return DONE();
}

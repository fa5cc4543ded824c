/*
 * archive: save, load and import over the Engine API.  The archives pass
 * through as they are: save streams GET /images/get to a file or stdout,
 * load and import stream a file or stdin up chunked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../registry/reference.h"
#include "cli.h"

struct io_args {
        const char *file;
        int quiet;
        const char *message;
        json_t *changes;
};

static int io_opt(void *data, int opt, const char *arg)
{
        struct io_args *a = data;
        if (opt == 'o' || opt == 'i')
                a->file = arg;
        else if (opt == 'q')
                a->quiet = 1;
        else if (opt == 'm')
                a->message = arg;
        else if (opt == 'c')
                json_array_append_new(a->changes, json_string(arg));
        return 0;
}

static int write_out(void *ctx, const void *buf, size_t n)
{
        return write_all(*(int *)ctx, buf, n);
}

int cmd_save(struct cli *c)
{
        static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
        struct io_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "o:", opts, io_opt, &a);
        if (i < 0)
                return 125;
        if (i >= c->argc)
                return cli_usage("save", "at least one image is required");
        if (a.file == NULL && isatty(STDOUT_FILENO))
                return cli_usage("save", "refusing to write an archive to a terminal; use -o");
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        /* /images/get?names=a&names=b */
        _cleanup_free_ char *path = xstrdup("/images/get?");
        for (int k = i; k < c->argc; k++) {
                _cleanup_free_ char *q = client_path("names=%s", c->argv[k]);
                char *p = xasprintf("%s%s%s", path, k > i ? "&" : "", q);
                free(path);
                path = p;
        }
        int fd = STDOUT_FILENO, r;
        _cleanup_free_ char *tmp = a.file ? xasprintf("%s.tmp%d", a.file, (int)getpid()) : NULL;
        if (a.file && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return err_sys(&e, "save: create %s", a.file), cli_fail(&e);
        r = client_stream(cl, "GET", path, NULL, NULL, NULL, NULL, write_out, &fd, NULL, &e);
        if (a.file) {
                /* all or nothing: the archive appears only when complete */
                if (r == 0 && (fsync(fd) < 0 || rename(tmp, a.file) < 0))
                        r = err_sys(&e, "save: write %s", a.file);
                close(fd);
                if (r < 0)
                        unlink(tmp);
        }
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

static ssize_t read_in(void *ctx, void *buf, size_t n)
{
        for (;;) {
                ssize_t r = read(*(int *)ctx, buf, n);
                if (r < 0 && errno == EINTR)
                        continue;
                return r;
        }
}

static int open_input(const char *file, struct err **e)
{
        if (file == NULL || !strcmp(file, "-"))
                return STDIN_FILENO;
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? err_sys(e, "open %s", file) : fd;
}

/* The daemon's JSON lines: "stream" text and "status" lines, "error" fails. */
struct lines {
        int quiet;
        struct err *e;
};

static int print_message(void *ctx, json_t *o)
{
        struct lines *l = ctx;
        const char *error = json_string_value(json_object_get(o, "error"));
        if (error)
                return err_new(&l->e, 0, "%s", error);
        const char *s = json_string_value(json_object_get(o, "stream"));
        const char *st = json_string_value(json_object_get(o, "status"));
        if (s && !l->quiet)
                fputs(s, stdout);
        else if (st && !l->quiet)
                printf("%s\n", st);
        fflush(stdout);
        return 0;
}

/* Upload fd to path, printing the JSON lines of the answer. */
static int upload(struct client *cl, const char *path, int fd, int quiet, struct err **e)
{
        struct lines l = {.quiet = quiet};
        int r = client_upload_json(cl, "POST", path, NULL, "application/x-tar", read_in, &fd,
                                   print_message, &l, e);
        if (l.e) {
                err_free(e);
                *e = l.e;
                r = -1;
        }
        return r;
}

int cmd_load(struct cli *c)
{
        static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
        struct io_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "i:q", opts, io_opt, &a);
        if (i < 0)
                return 125;
        if (i < c->argc)
                return cli_usage("load", "unexpected argument %s", c->argv[i]);
        if (a.file == NULL && isatty(STDIN_FILENO))
                return cli_usage("load", "requested load from stdin, but stdin is a terminal");
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int fd = open_input(a.file, &e);
        if (fd < 0)
                return cli_fail(&e);
        int r =
            upload(cl, a.quiet ? "/images/load?quiet=1" : "/images/load?quiet=0", fd, a.quiet, &e);
        if (fd != STDIN_FILENO)
                close(fd);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

int cmd_import(struct cli *c)
{
        static const struct option opts[] = {{"change", required_argument, NULL, 'c'},
                                             {"message", required_argument, NULL, 'm'},
                                             {"platform", required_argument, NULL, 'P'},
                                             {NULL, 0, NULL, 0}};
        struct io_args a = {.changes = json_array()};
        struct err *e = NULL;
        int i = cli_parse(c, "c:m:", opts, io_opt, &a);
        if (i < 0 || i >= c->argc || i + 2 < c->argc) {
                json_decref(a.changes);
                return i < 0 ? 125
                             : cli_usage("import", "needs FILE|- and an optional REPOSITORY[:TAG]");
        }
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        if (i + 1 < c->argc) {
                struct image_ref *ref = NULL;
                if (ref_parse(c->argv[i + 1], &ref, &e) < 0) {
                        json_decref(a.changes);
                        return cli_fail(&e);
                }
                _cleanup_free_ char *name = ref_name(ref);
                repo = ref_familiar(name);
                tag = xstrdup(ref->tag ? ref->tag : "latest");
                ref_free(ref);
        }
        _cleanup_free_ char *path =
            repo ? client_path("/images/create?fromSrc=-&repo=%s&tag=%s", repo, tag)
                 : xstrdup("/images/create?fromSrc=-");
        if (a.message) {
                _cleanup_free_ char *q = client_path("&message=%s", a.message);
                char *p = xasprintf("%s%s", path, q);
                free(path);
                path = p;
        }
        size_t k;
        json_t *v;
        json_array_foreach(a.changes, k, v)
        {
                _cleanup_free_ char *q = client_path("&changes=%s", json_string_value(v));
                char *p = xasprintf("%s%s", path, q);
                free(path);
                path = p;
        }
        json_decref(a.changes);
        struct client *cl;
        if (cli_client(c, &cl, &e) < 0)
                return cli_fail_daemon(&e);
        int fd = open_input(c->argv[i], &e);
        if (fd < 0)
                return cli_fail(&e);
        int r = upload(cl, path, fd, 0, &e);
        if (fd != STDIN_FILENO)
                close(fd);
        return r < 0 ? cli_fail_daemon(&e) : 0;
}

/* save, load, import */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../registry/reference.h"
#include "../store/imageio.h"
#include "cli.h"

struct io_args {
        const char *file;
        int quiet;
};

static int io_opt(void *data, int opt, const char *arg)
{
        struct io_args *a = data;
        if (opt == 'o' || opt == 'i')
                a->file = arg;
        else if (opt == 'q')
                a->quiet = 1;
        return 0;
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
        struct store *s;
        if (cli_store(c, &s, &e) < 0)
                return cli_fail(&e);
        /* names are normalized; ids pass through as given */
        char **refs = xcalloc((size_t)(c->argc - i), sizeof(char *));
        size_t n = 0;
        for (; i < c->argc; i++) {
                struct image_ref *ref = NULL;
                if (ref_parse(c->argv[i], &ref, NULL) == 0) {
                        refs[n++] = ref_string(ref);
                        ref_free(ref);
                } else {
                        refs[n++] = xstrdup(c->argv[i]);
                }
        }
        int fd = STDOUT_FILENO, r;
        _cleanup_free_ char *tmp = a.file ? xasprintf("%s.tmp%d", a.file, (int)getpid()) : NULL;
        if (a.file && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
                r = err_sys(&e, "save: create %s", a.file);
        } else {
                r = image_save(s, refs, n, fd, &e);
                if (a.file) {
                        /* all or nothing: the archive appears only when complete */
                        if (r == 0 && (fsync(fd) < 0 || rename(tmp, a.file) < 0))
                                r = err_sys(&e, "save: write %s", a.file);
                        close(fd);
                        if (r < 0)
                                unlink(tmp);
                }
        }
        for (size_t k = 0; k < n; k++)
                free(refs[k]);
        free(refs);
        return r < 0 ? cli_fail(&e) : 0;
}

static void print_loaded(void *ctx, const char *line)
{
        if (!*(int *)ctx)
                printf("%s\n", line);
}

static int open_input(const char *file, struct err **e)
{
        if (file == NULL || !strcmp(file, "-"))
                return STDIN_FILENO;
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? err_sys(e, "open %s", file) : fd;
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
        struct store *s;
        int fd;
        if (cli_store(c, &s, &e) < 0 || (fd = open_input(a.file, &e)) < 0)
                return cli_fail(&e);
        int r = image_load(s, fd, print_loaded, &a.quiet, &e);
        if (fd != STDIN_FILENO)
                close(fd);
        return r < 0 ? cli_fail(&e) : 0;
}

int cmd_import(struct cli *c)
{
        /* --change and --message are not supported yet: refused, not ignored */
        static const struct option opts[] = {{NULL, 0, NULL, 0}};
        struct io_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "", opts, io_opt, &a);
        if (i < 0)
                return 125;
        if (i >= c->argc || i + 2 < c->argc)
                return cli_usage("import", "needs FILE|- and an optional REPOSITORY[:TAG]");
        struct store *s;
        _cleanup_free_ char *norm = NULL;
        if (i + 1 < c->argc) {
                struct image_ref *ref = NULL;
                if (ref_parse(c->argv[i + 1], &ref, &e) < 0)
                        return cli_fail(&e);
                norm = ref_string(ref);
                ref_free(ref);
        }
        int fd;
        if (cli_store(c, &s, &e) < 0 || (fd = open_input(c->argv[i], &e)) < 0)
                return cli_fail(&e);
        char id[DIGEST_LEN + 1];
        int r = image_import(s, fd, norm, id, &e);
        if (fd != STDIN_FILENO)
                close(fd);
        if (r < 0)
                return cli_fail(&e);
        printf("%s\n", id);
        return 0;
}

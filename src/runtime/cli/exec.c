/* exec: a process from --process JSON, or the container's own process
 * settings with argv and the flags laid over them, as runc does. */
#include <stdio.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "cli.h"

enum {
        X_CONSOLE = 256,
        X_CWD,
        X_PIDFILE,
        X_LABEL,
        X_APPARMOR,
        X_NNP,
        X_PRESERVE,
        X_CGROUP,
        X_IGNORE_PAUSED,
        X_ENV = 'e',
        X_TTY = 't',
        X_USER = 'u',
        X_GIDS = 'g',
        X_PROCESS = 'p',
        X_DETACH = 'd',
        X_CAP = 'c'
};

struct exec_args {
        struct rt_exec_opts o;
        const char *process, *cwd, *user;
        json_t *env, *gids, *caps;
        int tty, nnp;
};

static int exec_opt(void *data, int opt, const char *arg)
{
        struct exec_args *a = data;
        long long n;
        switch (opt) {
        case X_CONSOLE:
                a->o.console_socket = arg;
                break;
        case X_CWD:
                a->cwd = arg;
                break;
        case X_PIDFILE:
                a->o.pid_file = arg;
                break;
        case X_NNP:
                a->nnp = 1;
                break;
        case X_PRESERVE:
                if (parse_int64(arg, &n) < 0 || n < 0 || n > 65536)
                        return cli_usage("exec", "--preserve-fds: %s is not a count", arg), -1;
                a->o.preserve_fds = (int)n;
                break;
        case X_ENV:
                json_array_append_new(a->env, json_string(arg));
                break;
        case X_TTY:
                a->tty = 1;
                break;
        case X_USER:
                a->user = arg;
                break;
        case X_GIDS:
                if (parse_int64(arg, &n) < 0 || n < 0 || n > 0xfffffffe)
                        return cli_usage("exec", "--additional-gids: %s is not a gid", arg), -1;
                json_array_append_new(a->gids, json_integer(n));
                break;
        case X_PROCESS:
                a->process = arg;
                break;
        case X_DETACH:
                a->o.detach = 1;
                break;
        case X_CAP:
                json_array_append_new(a->caps, json_string(arg));
                break;
        default: /* labels, apparmor, cgroup, ignore-paused: accepted, no effect here */
                break;
        }
        return 0;
}

/* KEY=VALUE entries of `add` replace those of `env` with the same KEY. */
static void merge_env(json_t *env, json_t *add)
{
        size_t i, j;
        json_t *a, *b;
        json_array_foreach(add, i, a)
        {
                const char *s = json_string_value(a);
                size_t klen = strcspn(s, "=");
                int replaced = 0;
                json_array_foreach(env, j, b)
                {
                        const char *t = json_string_value(b);
                        if (t && !strncmp(s, t, klen) && (t[klen] == '=' || t[klen] == '\0')) {
                                json_array_set(env, j, a);
                                replaced = 1;
                                break;
                        }
                }
                if (!replaced)
                        json_array_append(env, a);
        }
}

static int overlay_flags(json_t *p, struct exec_args *a, char **args, int nargs, struct err **e)
{
        json_t *argv = json_array();
        for (int i = 0; i < nargs; i++)
                json_array_append_new(argv, json_string(args[i]));
        json_object_set_new(p, "args", argv);
        json_t *env = json_object_get(p, "env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(p, "env", env);
        }
        merge_env(env, a->env);
        if (a->cwd)
                json_object_set_new(p, "cwd", json_string(a->cwd));
        json_object_set_new(p, "terminal", json_boolean(a->tty));
        if (a->nnp)
                json_object_set_new(p, "noNewPrivileges", json_true());
        json_t *user = json_object_get(p, "user");
        if (!json_is_object(user)) {
                user = json_object();
                json_object_set_new(p, "user", user);
        }
        if (a->user) {
                unsigned uid, gid;
                char extra;
                int n = sscanf(a->user, "%u:%u%c", &uid, &gid, &extra);
                if (n < 1 || n > 2 || strspn(a->user, "0123456789:") != strlen(a->user))
                        return err_new(e, 0, "--user %s: expected uid[:gid]", a->user);
                json_object_set_new(user, "uid", json_integer(uid));
                json_object_set_new(user, "gid", json_integer(n == 2 ? gid : 0));
        }
        if (json_array_size(a->gids))
                json_object_set(user, "additionalGids", a->gids);
        json_t *caps = json_object_get(p, "capabilities");
        if (json_array_size(a->caps) && json_is_object(caps)) {
                static const char *const sets[] = {"bounding", "effective", "permitted",
                                                   "inheritable"};
                for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
                        json_t *s = json_object_get(caps, sets[k]);
                        if (!json_is_array(s)) {
                                s = json_array();
                                json_object_set_new(caps, sets[k], s);
                        }
                        json_array_extend(s, a->caps);
                }
        }
        return 0;
}

static int build_process(struct cli *c, const char *id, struct exec_args *a, char **args, int nargs,
                         struct spec_process **out, struct err **e)
{
        json_t *p = NULL;
        if (a->process) {
                json_error_t je;
                p = !strcmp(a->process, "-") ? json_loadf(stdin, 0, &je)
                                             : json_load_file(a->process, 0, &je);
                if (p == NULL)
                        return err_new(e, 0, "--process %s: invalid JSON at line %d: %s",
                                       a->process, je.line, je.text);
        } else {
                if (nargs == 0)
                        return err_new(e, 0, "exec: a command is required after the id");
                _cleanup_spec_ struct spec *spec = NULL;
                if (rt_load_spec(&c->ctx, id, &spec, e) < 0)
                        return -1;
                p = json_deep_copy(json_object_get(spec->doc, "process"));
                if (overlay_flags(p, a, args, nargs, e) < 0) {
                        json_decref(p);
                        return -1;
                }
        }
        int r = spec_parse_process(p, out, e);
        json_decref(p);
        if (r < 0 && a->process)
                err_wrap(e, "--process %s", a->process);
        return r;
}

int cmd_exec(struct cli *c)
{
        static const struct option opts[] = {
            {"console-socket", required_argument, NULL, X_CONSOLE},
            {"cwd", required_argument, NULL, X_CWD},
            {"env", required_argument, NULL, X_ENV},
            {"tty", no_argument, NULL, X_TTY},
            {"user", required_argument, NULL, X_USER},
            {"additional-gids", required_argument, NULL, X_GIDS},
            {"process", required_argument, NULL, X_PROCESS},
            {"detach", no_argument, NULL, X_DETACH},
            {"pid-file", required_argument, NULL, X_PIDFILE},
            {"process-label", required_argument, NULL, X_LABEL},
            {"apparmor", required_argument, NULL, X_APPARMOR},
            {"no-new-privs", no_argument, NULL, X_NNP},
            {"cap", required_argument, NULL, X_CAP},
            {"preserve-fds", required_argument, NULL, X_PRESERVE},
            {"cgroup", required_argument, NULL, X_CGROUP},
            {"ignore-paused", no_argument, NULL, X_IGNORE_PAUSED},
            {NULL, 0, NULL, 0},
        };
        struct exec_args a = {.env = json_array(), .gids = json_array(), .caps = json_array()};
        struct err *e = NULL;
        struct spec_process *proc = NULL;
        int status = 0, rc;
        int i = cli_parse(c, opts, exec_opt, &a);
        if (i < 0) {
                rc = 1;
        } else if (i >= c->argc) {
                rc = cli_usage("exec", "a container id is required");
        } else if (build_process(c, c->argv[i], &a, c->argv + i + 1, c->argc - i - 1, &proc, &e) <
                       0 ||
                   rt_exec(&c->ctx, c->argv[i], proc, &a.o, &status, &e) < 0) {
                rc = cli_fail(&e);
        } else {
                rc = status;
        }
        spec_process_free(proc);
        json_decref(a.env);
        json_decref(a.gids);
        json_decref(a.caps);
        return rc;
}

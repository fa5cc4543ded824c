/*
 * exec: run a command in a running container (POST /containers/{id}/exec,
 * then /exec/{id}/start hijacked, or detached with -d); barge exits with
 * the command's exit code (GET /exec/{id}/json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

struct exec_args {
        int interactive, tty, detach, privileged;
        const char *user, *workdir, *detach_keys;
        json_t *env;
};

static int exec_opt(void *data, int opt, const char *arg)
{
        struct exec_args *a = data;
        switch (opt) {
        case 'i':
                a->interactive = 1;
                break;
        case 't':
                a->tty = 1;
                break;
        case 'd':
                a->detach = 1;
                break;
        case 'P':
                a->privileged = 1;
                break;
        case 'u':
                a->user = arg;
                break;
        case 'w':
                a->workdir = arg;
                break;
        case 'K':
                a->detach_keys = arg;
                break;
        case 'e':
                if (strchr(arg, '=')) {
                        json_array_append_new(a->env, json_string(arg));
                } else if (getenv(arg)) {
                        char *kv = xasprintf("%s=%s", arg, getenv(arg));
                        json_array_append_new(a->env, json_string(kv));
                        free(kv);
                }
                break;
        }
        return 0;
}

int cmd_exec(struct cli *c)
{
        static const struct option opts[] = {{"interactive", no_argument, NULL, 'i'},
                                             {"tty", no_argument, NULL, 't'},
                                             {"detach", no_argument, NULL, 'd'},
                                             {"privileged", no_argument, NULL, 'P'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"workdir", required_argument, NULL, 'w'},
                                             {"env", required_argument, NULL, 'e'},
                                             {"detach-keys", required_argument, NULL, 'K'},
                                             {NULL, 0, NULL, 0}};
        struct exec_args a = {.env = json_array()};
        struct err *e = NULL;
        int i = cli_parse(c, "itdu:w:e:", opts, exec_opt, &a);
        if (i < 0 || i + 2 > c->argc) {
                json_decref(a.env);
                return i < 0 ? 125 : cli_usage("exec", "\"exec\" requires at least 2 arguments");
        }
        if (a.tty && a.interactive && !a.detach && !isatty(STDIN_FILENO)) {
                json_decref(a.env);
                fprintf(stderr, "the input device is not a TTY\n");
                return 1;
        }
        const char *ct = c->argv[i++];
        json_t *cmd = json_array();
        for (; i < c->argc; i++)
                json_array_append_new(cmd, json_string(c->argv[i]));
        int attach = !a.detach;
        json_t *body =
            json_pack("{s:b,s:b,s:b,s:b,s:b,s:o,s:o}", "AttachStdin", attach && a.interactive,
                      "AttachStdout", attach, "AttachStderr", attach, "Tty", a.tty, "Privileged",
                      a.privileged, "Cmd", cmd, "Env", a.env);
        if (a.user)
                json_object_set_new(body, "User", json_string(a.user));
        if (a.workdir)
                json_object_set_new(body, "WorkingDir", json_string(a.workdir));
        if (a.detach_keys)
                json_object_set_new(body, "DetachKeys", json_string(a.detach_keys));
        struct client *cl;
        json_t *res = NULL;
        _cleanup_free_ char *path = client_path("/containers/%s/exec", ct);
        int r = cli_client(c, &cl, &e) < 0
                    ? -1
                    : client_json(cl, "POST", path, body, NULL, NULL, &res, &e);
        json_decref(body);
        if (r < 0)
                return cli_fail_daemon(&e);
        _cleanup_free_ char *id = xstrdup(json_string_value(json_object_get(res, "Id")) ?: "");
        json_decref(res);
        _cleanup_free_ char *spath = client_path("/exec/%s/start", id);
        json_t *start = json_pack("{s:b,s:b}", "Detach", a.detach, "Tty", a.tty);
        if (a.detach) {
                r = client_json(cl, "POST", spath, start, NULL, NULL, NULL, &e);
                json_decref(start);
                return r < 0 ? cli_fail_daemon(&e) : 0;
        }
        int fd = -1;
        r = client_hijack(cl, "POST", spath, start, &fd, &e);
        json_decref(start);
        if (r < 0)
                return cli_fail_daemon(&e);
        _cleanup_free_ char *resize = client_path("/exec/%s/resize", id);
        if (a.tty && a.interactive)
                term_raw();
        if (a.tty)
                term_resize(cl, resize);
        struct pump_opts po = {.fd = fd,
                               .tty = a.tty,
                               .send_stdin = a.interactive,
                               .detach_keys = a.detach_keys,
                               .cl = cl,
                               .resize_path = resize};
        int detached = 0;
        r = pump_run(&po, &detached, &e);
        close(fd);
        term_restore();
        if (r < 0)
                return cli_fail(&e);
        if (detached) {
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        /* the output can end a moment before the daemon records the exit */
        _cleanup_free_ char *ipath = client_path("/exec/%s/json", id);
        for (int tries = 0;; tries++) {
                if (client_json(cl, "GET", ipath, NULL, NULL, NULL, &res, &e) < 0)
                        return cli_fail_daemon(&e);
                if (!json_is_true(json_object_get(res, "Running")) || tries >= 100)
                        break;
                json_decref(res);
                res = NULL;
                usleep(20000);
        }
        int code = (int)json_integer_value(json_object_get(res, "ExitCode"));
        json_decref(res);
        return code;
}

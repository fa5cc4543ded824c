/*
 * auth: login and logout.  Login asks the daemon to check the credentials
 * (POST /auth), then stores them client side in ~/.docker/config.json as
 * docker does; logout only edits that file.
 */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../registry/internal.h"
#include "../registry/registry.h"
#include "cli.h"

struct login_args {
        const char *user, *password;
        int password_stdin;
};

static int login_opt(void *data, int opt, const char *arg)
{
        struct login_args *a = data;
        if (opt == 'u')
                a->user = arg;
        else if (opt == 'p')
                a->password = arg;
        else if (opt == 'S')
                a->password_stdin = 1;
        return 0;
}

/* One line from stdin, without its newline; echo off when it is a terminal. */
static char *read_secret(const char *prompt)
{
        struct termios old, raw;
        int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
        if (prompt && tty) {
                fprintf(stderr, "%s", prompt);
                raw = old;
                raw.c_lflag &= ~(tcflag_t)ECHO;
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (prompt && tty) {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                fprintf(stderr, "\n");
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        return line;
}

int cmd_login(struct cli *c)
{
        static const struct option opts[] = {{"username", required_argument, NULL, 'u'},
                                             {"password", required_argument, NULL, 'p'},
                                             {"password-stdin", no_argument, NULL, 'S'},
                                             {NULL, 0, NULL, 0}};
        struct login_args a = {0};
        struct err *e = NULL;
        int i = cli_parse(c, "u:p:", opts, login_opt, &a);
        if (i < 0)
                return 125;
        if (i + 1 < c->argc)
                return cli_usage("login", "at most one server");
        if (a.password && a.password_stdin)
                return cli_usage("login", "--password and --password-stdin are exclusive");
        if (a.password_stdin && a.user == NULL)
                return cli_usage("login", "--password-stdin needs --username");
        const char *server = i < c->argc ? c->argv[i] : NULL;
        _cleanup_free_ char *user = NULL, *pass = NULL;
        if (a.user == NULL) {
                fprintf(stderr, "Username: ");
                user = read_secret(NULL);
        } else {
                user = xstrdup(a.user);
        }
        if (a.password)
                pass = xstrdup(a.password);
        else
                pass = read_secret(a.password_stdin ? NULL : "Password: ");
        if (user == NULL || *user == '\0' || pass == NULL || *pass == '\0') {
                log_error("login: username and password are required");
                return 1;
        }
        if (a.password)
                fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use "
                                "--password-stdin.\n");
        struct client *cl;
        _cleanup_free_ char *domain = reg_server_domain(server);
        const char *key = reg_auth_key(domain);
        json_t *body = json_pack("{s:s,s:s,s:s}", "username", user, "password", pass,
                                 "serveraddress", server ? server : key);
        json_t *res = NULL;
        int r = cli_client(c, &cl, &e) < 0
                    ? -1
                    : client_json(cl, "POST", "/auth", body, NULL, NULL, &res, &e);
        json_decref(body);
        json_decref(res);
        if (r < 0)
                return cli_fail_daemon(&e);
        struct registry_opts o = {0};
        _cleanup_free_ char *file = reg_auth_file(&o);
        if (reg_auth_update(file, domain, user, pass, &e) < 0)
                return cli_fail(&e);
        printf("Login Succeeded\n");
        return 0;
}

int cmd_logout(struct cli *c)
{
        struct err *e = NULL;
        if (c->argc > 2)
                return cli_usage("logout", "at most one server");
        const char *server = c->argc == 2 ? c->argv[1] : NULL;
        struct registry_opts o = {0};
        _cleanup_free_ char *domain = reg_server_domain(server);
        _cleanup_free_ char *file = reg_auth_file(&o);
        if (reg_auth_update(file, domain, NULL, NULL, &e) < 0)
                return err_wrap(&e, "logout %s", domain), cli_fail(&e);
        printf("Removing login credentials for %s\n",
               server ? server : "https://index.docker.io/v1/");
        return 0;
}

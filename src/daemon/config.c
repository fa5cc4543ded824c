/*
 * daemon/config: daemon.json (see config.h).
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

int config_parse_size(const char *s, int64_t *out, struct err **e)
{
        return parse_size(s, out) < 0 ? err_new(e, EINVAL, "invalid size %s", s) : 0;
}

static int conflict(struct daemon_config *c, unsigned bit, const char *key, struct err **e)
{
        if (c->from_flags & bit)
                return err_new(e, EINVAL,
                               "the following directives are specified both as a flag and in "
                               "the configuration file: %s",
                               key);
        return 0;
}

static int set_string(struct daemon_config *c, unsigned bit, const char *key, json_t *v,
                      char **dst, struct err **e)
{
        if (!json_is_string(v))
                return err_new(e, EINVAL, "%s must be a string", key);
        if (conflict(c, bit, key, e) < 0)
                return -1;
        free(*dst);
        *dst = xstrdup(json_string_value(v));
        return 0;
}

static int set_list(struct daemon_config *c, unsigned bit, const char *key, json_t *v,
                    char **dst, int *n, struct err **e)
{
        if (!json_is_array(v))
                return err_new(e, EINVAL, "%s must be a list of strings", key);
        if (conflict(c, bit, key, e) < 0)
                return -1;
        if (json_array_size(v) > MAX_LIST)
                return err_new(e, EINVAL, "%s: more than %d entries", key, MAX_LIST);
        for (int i = 0; i < *n; i++)
                free(dst[i]), dst[i] = NULL;
        *n = 0;
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
        {
                if (!json_is_string(s))
                        return err_new(e, EINVAL, "%s must be a list of strings", key);
                dst[(*n)++] = xstrdup(json_string_value(s));
        }
        return 0;
}

static int set_log_opts(struct daemon_config *c, json_t *v, struct err **e)
{
        if (!json_is_object(v))
                return err_new(e, EINVAL, "log-opts must be an object");
        if (conflict(c, CF_LOG_OPTS, "log-opts", e) < 0)
                return -1;
        const char *k;
        json_t *o;
        json_object_foreach(v, k, o)
        {
                if (!json_is_string(o))
                        return err_new(e, EINVAL, "log-opts: %s must be a string", k);
                const char *s = json_string_value(o);
                if (!strcmp(k, "max-size")) {
                        if (config_parse_size(s, &c->log_max_size, e) < 0)
                                return err_wrap(e, "log-opts max-size");
                } else if (!strcmp(k, "max-file")) {
                        long long n;
                        if (parse_int64(s, &n) < 0 || n < 1 || n > 1000)
                                return err_new(e, EINVAL, "log-opts: invalid max-file %s", s);
                        c->log_max_file = (int)n;
                } else {
                        return err_new(e, EINVAL, "log-opts: unknown option %s", k);
                }
        }
        return 0;
}

int config_load_file(struct daemon_config *c, const char *path, int required, struct err **e)
{
        json_error_t je;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!j) {
                if (!required && access(path, F_OK) < 0 && errno == ENOENT)
                        return 0;
                return err_new(e, EINVAL, "config file %s: %s (line %d)", path, je.text,
                               je.line);
        }
        int rc = 0;
        if (!json_is_object(j))
                rc = err_new(e, EINVAL, "config file %s: not a JSON object", path);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
                if (rc < 0)
                        break;
                if (!strcmp(k, "data-root"))
                        rc = set_string(c, CF_ROOT, k, v, &c->root, e);
                else if (!strcmp(k, "exec-root"))
                        rc = set_string(c, CF_EXEC_ROOT, k, v, &c->exec_root, e);
                else if (!strcmp(k, "pidfile"))
                        rc = set_string(c, CF_PIDFILE, k, v, &c->pidfile, e);
                else if (!strcmp(k, "default-runtime"))
                        rc = set_string(c, CF_RUNTIME, k, v, &c->runtime, e);
                else if (!strcmp(k, "group"))
                        rc = set_string(c, CF_GROUP, k, v, &c->group, e);
                else if (!strcmp(k, "cgroup-parent"))
                        rc = set_string(c, CF_CGROUP_PARENT, k, v, &c->cgroup_parent, e);
                else if (!strcmp(k, "log-level"))
                        rc = set_string(c, CF_LOG_LEVEL, k, v, &c->log_level, e);
                else if (!strcmp(k, "hosts")) {
                        char *hosts[MAX_LIST] = {0};
                        int n = 0;
                        rc = set_list(c, CF_HOST, k, v, hosts, &n, e);
                        if (rc == 0 && n > 1)
                                rc = err_new(e, EINVAL, "hosts: barged listens on one socket");
                        if (rc == 0 && n == 1) {
                                free(c->host);
                                c->host = TAKE_PTR(hosts[0]);
                        }
                        for (int i = 0; i < n; i++)
                                free(hosts[i]);
                } else if (!strcmp(k, "registry-mirrors"))
                        rc = set_list(c, CF_MIRRORS, k, v, c->mirrors, &c->n_mirrors, e);
                else if (!strcmp(k, "insecure-registries"))
                        rc = set_list(c, CF_INSECURE, k, v, c->insecure, &c->n_insecure, e);
                else if (!strcmp(k, "log-opts"))
                        rc = set_log_opts(c, v, e);
                else if (!strcmp(k, "log-driver")) {
                        if (!json_is_string(v) || strcmp(json_string_value(v), "json-file"))
                                rc = err_new(e, EINVAL, "log-driver: only json-file is supported");
                } else
                        rc = err_new(e, EINVAL,
                                     "config file %s: the following directives don't match any "
                                     "configuration option: %s",
                                     path, k);
        }
        json_decref(j);
        if (rc < 0 && strncmp((*e)->msg, "config file", 11))
                err_wrap(e, "config file %s", path);
        return rc;
}

void config_free(struct daemon_config *c)
{
        free(c->root);
        free(c->exec_root);
        free(c->host);
        free(c->pidfile);
        free(c->runtime);
        free(c->group);
        free(c->log_level);
        free(c->cgroup_parent);
        for (int i = 0; i < c->n_mirrors; i++)
                free(c->mirrors[i]);
        for (int i = 0; i < c->n_insecure; i++)
                free(c->insecure[i]);
        memset(c, 0, sizeof(*c));
}

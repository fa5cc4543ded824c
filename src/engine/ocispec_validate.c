/*
 * engine/ocispec_validate: the checks dockerd makes on a create request
 * before it stores anything (with Docker's messages, each naming the field),
 * and the merge of the image's config into the container's Config.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "ocispec.h"
#include "ocispec_internal.h"

#define MIN_MEMORY (6LL << 20)
#define MS 1000000LL /* one millisecond in nanoseconds */

static long long jint(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* A number field must be a number (or absent/null). */
static int check_int(json_t *o, const char *obj, const char *key, struct err **e)
{
        json_t *v = json_object_get(o, key);
        if (v == NULL || json_is_null(v) || json_is_integer(v))
                return 0;
        return err_new(e, EINVAL, "%s.%s: must be an integer", obj, key);
}

/* null, a string (Docker's StrSlice accepts one) or an array of strings */
static int check_strslice(json_t *o, const char *obj, const char *key, struct err **e)
{
        json_t *v = json_object_get(o, key);
        if (v == NULL || json_is_null(v) || json_is_string(v))
                return 0;
        if (!json_is_array(v))
                return err_new(e, EINVAL, "%s.%s: must be an array of strings", obj, key);
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s) if (!json_is_string(s)) return err_new(
            e, EINVAL, "%s.%s[%zu]: must be a string", obj, key, i);
        return 0;
}

static int validate_config(json_t *c, struct err **e)
{
        if (c == NULL || json_is_null(c))
                return 0;
        if (!json_is_object(c))
                return err_new(e, EINVAL, "Config: must be an object");
        if (check_strslice(c, "Config", "Cmd", e) < 0 ||
            check_strslice(c, "Config", "Entrypoint", e) < 0)
                return -1;
        json_t *env = json_object_get(c, "Env");
        if (env != NULL && !json_is_null(env) && !json_is_array(env))
                return err_new(e, EINVAL, "Config.Env: must be an array of strings");
        size_t i;
        json_t *v;
        json_array_foreach(env, i, v)
        {
                const char *s = json_string_value(v);
                if (s == NULL || *s == '\0' || *s == '=')
                        return err_new(e, EINVAL, "Config.Env: invalid environment variable: %s",
                                       s ? s : "(not a string)");
        }
        json_t *hc = json_object_get(c, "Healthcheck");
        if (hc == NULL || json_is_null(hc))
                return 0;
        static const char *const durations[] = {"Interval", "Timeout", "StartPeriod",
                                                "StartInterval"};
        for (size_t k = 0; k < ARRAY_SIZE(durations); k++) {
                if (check_int(hc, "Config.Healthcheck", durations[k], e) < 0)
                        return -1;
                long long d = jint(hc, durations[k]);
                if (d != 0 && d < MS)
                        return err_new(e, EINVAL,
                                       "Config.Healthcheck.%s: %s in Healthcheck cannot be less "
                                       "than 1ms",
                                       durations[k], durations[k]);
        }
        if (check_int(hc, "Config.Healthcheck", "Retries", e) < 0)
                return -1;
        if (jint(hc, "Retries") < 0)
                return err_new(e, EINVAL,
                               "Config.Healthcheck.Retries: Retries in Healthcheck cannot be "
                               "negative");
        return 0;
}

static int validate_restart(json_t *hc, struct err **e)
{
        json_t *rp = json_object_get(hc, "RestartPolicy");
        if (rp == NULL || json_is_null(rp))
                return 0;
        const char *name = json_string_value(json_object_get(rp, "Name"));
        if (name == NULL)
                name = "";
        static const char *const names[] = {"", "no", "always", "on-failure", "unless-stopped"};
        int known = 0;
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                known |= strcmp(name, names[i]) == 0;
        if (!known)
                return err_new(e, EINVAL,
                               "HostConfig.RestartPolicy.Name: invalid restart policy \"%s\"",
                               name);
        if (check_int(rp, "HostConfig.RestartPolicy", "MaximumRetryCount", e) < 0)
                return -1;
        long long max = jint(rp, "MaximumRetryCount");
        if (max < 0)
                return err_new(e, EINVAL,
                               "HostConfig.RestartPolicy.MaximumRetryCount: maximum retry count "
                               "cannot be negative");
        if (max > 0 && strcmp(name, "on-failure") != 0)
                return err_new(e, EINVAL,
                               "HostConfig.RestartPolicy.MaximumRetryCount: maximum retry count "
                               "cannot be used with restart policy '%s'",
                               name);
        return 0;
}

static int validate_memory(json_t *hc, struct err **e)
{
        long long mem = jint(hc, "Memory"), swap = jint(hc, "MemorySwap");
        long long resv = jint(hc, "MemoryReservation");
        if (mem < 0)
                return err_new(e, EINVAL, "HostConfig.Memory: invalid memory limit %lld", mem);
        if (mem > 0 && mem < MIN_MEMORY)
                return err_new(e, EINVAL, "HostConfig.Memory: Minimum memory limit allowed is 6MB");
        if (swap > 0 && mem == 0)
                return err_new(e, EINVAL,
                               "HostConfig.MemorySwap: You should always set the Memory limit "
                               "when using Memoryswap limit, see usage");
        if (swap > 0 && swap < mem)
                return err_new(e, EINVAL,
                               "HostConfig.MemorySwap: Minimum memoryswap limit should be larger "
                               "than memory limit, see usage");
        if (swap < -1)
                return err_new(e, EINVAL, "HostConfig.MemorySwap: invalid value %lld", swap);
        if (resv < 0 || (resv > 0 && resv < MIN_MEMORY))
                return err_new(e, EINVAL,
                               "HostConfig.MemoryReservation: Minimum memory reservation allowed "
                               "is 6MB");
        if (mem > 0 && resv > 0 && mem < resv)
                return err_new(e, EINVAL,
                               "HostConfig.Memory: Minimum memory limit can not be less than "
                               "memory reservation limit, see usage");
        json_t *sw = json_object_get(hc, "MemorySwappiness");
        if (json_is_integer(sw) && (json_integer_value(sw) < -1 || json_integer_value(sw) > 100))
                return err_new(e, EINVAL,
                               "HostConfig.MemorySwappiness: Invalid value: %lld, valid memory "
                               "swappiness range is 0-100",
                               (long long)json_integer_value(sw));
        return 0;
}

static int validate_cpu(json_t *hc, struct err **e)
{
        long long nano = jint(hc, "NanoCpus");
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (ncpu < 1)
                ncpu = 1;
        if (nano < 0 || nano > ncpu * 1000000000LL)
                return err_new(e, EINVAL,
                               "HostConfig.NanoCpus: Range of CPUs is from 0.01 to %ld.00, as "
                               "there are only %ld CPUs available",
                               ncpu, ncpu);
        if (nano > 0 && (jint(hc, "CpuQuota") > 0 || jint(hc, "CpuPeriod") > 0))
                return err_new(e, EINVAL,
                               "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU "
                               "Period/Quota cannot both be set");
        if (jint(hc, "CpuShares") < 0)
                return err_new(e, EINVAL, "HostConfig.CpuShares: invalid CPU shares %lld",
                               jint(hc, "CpuShares"));
        long long period = jint(hc, "CpuPeriod"), quota = jint(hc, "CpuQuota");
        if (period != 0 && (period < 1000 || period > 1000000))
                return err_new(e, EINVAL,
                               "HostConfig.CpuPeriod: CPU cfs period can not be less than 1ms "
                               "(i.e. 1000) or larger than 1s (i.e. 1000000)");
        if (quota > 0 && quota < 1000)
                return err_new(e, EINVAL,
                               "HostConfig.CpuQuota: CPU cfs quota can not be less than 1ms (i.e. "
                               "1000)");
        long long w = jint(hc, "BlkioWeight");
        if (w != 0 && (w < 10 || w > 1000))
                return err_new(e, EINVAL,
                               "HostConfig.BlkioWeight: Range of blkio weight is from 10 to 1000");
        long long oom = jint(hc, "OomScoreAdj");
        if (oom < -1000 || oom > 1000)
                return err_new(e, EINVAL,
                               "HostConfig.OomScoreAdj: Invalid value %lld, range for oom score "
                               "adj is [-1000, 1000]",
                               oom);
        return 0;
}

static int validate_ulimits(json_t *hc, struct err **e)
{
        json_t *list = json_object_get(hc, "Ulimits");
        if (list != NULL && !json_is_null(list) && !json_is_array(list))
                return err_new(e, EINVAL, "HostConfig.Ulimits: must be an array");
        size_t i;
        json_t *u;
        json_array_foreach(list, i, u)
        {
                const char *name = json_string_value(json_object_get(u, "Name"));
                if (!ocispec_check_rlimit(name))
                        return err_new(e, EINVAL,
                                       "HostConfig.Ulimits[%zu]: invalid ulimit type: %s", i,
                                       name ? name : "(none)");
                if (check_int(u, "HostConfig.Ulimits", "Soft", e) < 0 ||
                    check_int(u, "HostConfig.Ulimits", "Hard", e) < 0)
                        return -1;
                long long soft = jint(u, "Soft"), hard = jint(u, "Hard");
                if (soft < -1 || hard < -1)
                        return err_new(e, EINVAL,
                                       "HostConfig.Ulimits[%zu]: invalid ulimit value for %s", i,
                                       name);
                if (soft > hard)
                        return err_new(e, EINVAL,
                                       "HostConfig.Ulimits[%zu]: ulimit soft limit must be less "
                                       "than or equal to hard limit: %lld > %lld",
                                       i, soft, hard);
        }
        return 0;
}

static int validate_host_config(json_t *hc, struct err **e)
{
        if (hc == NULL || json_is_null(hc))
                return 0;
        if (!json_is_object(hc))
                return err_new(e, EINVAL, "HostConfig: must be an object");
        static const char *const ints[] = {
            "Memory",   "MemorySwap", "MemoryReservation", "NanoCpus",    "CpuShares", "CpuPeriod",
            "CpuQuota", "PidsLimit",  "BlkioWeight",       "OomScoreAdj", "ShmSize"};
        for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
                if (check_int(hc, "HostConfig", ints[i], e) < 0)
                        return -1;
        if (jint(hc, "ShmSize") < 0)
                return err_new(e, EINVAL, "HostConfig.ShmSize: SHM size can not be less than 0");
        json_t *caps = NULL;
        if (validate_restart(hc, e) < 0 || validate_memory(hc, e) < 0 || validate_cpu(hc, e) < 0 ||
            validate_ulimits(hc, e) < 0 || ocispec_caps(hc, 0, &caps, e) < 0)
                return -1;
        json_decref(caps);
        return ocispec_check_secopts(hc, e);
}

static void add_warning(json_t *warnings, const char *msg)
{
        if (json_is_array(warnings))
                json_array_append_new(warnings, json_string(msg));
}

int ocispec_validate(json_t *config, json_t *host_config, json_t *warnings, struct err **e)
{
        if (validate_config(config, e) < 0 || validate_host_config(host_config, e) < 0)
                return -1;
        const char *net = json_string_value(json_object_get(host_config, "NetworkMode"));
        if (net && strcmp(net, "host") == 0 &&
            json_object_size(json_object_get(host_config, "PortBindings")) > 0)
                add_warning(warnings, "Published ports are discarded when using host network mode");
        if (json_is_true(json_object_get(host_config, "OomKillDisable")) &&
            jint(host_config, "Memory") == 0)
                add_warning(warnings, "OOM killer is disabled for the container, but no memory "
                                      "limit is set, this can result in the system running out "
                                      "of resources.");
        return 0;
}

/* ---- merge ---- */

/* Docker's StrSlice: a string means a one-element list; null stays null. */
static void normalize_strslice(json_t *c, const char *key)
{
        json_t *v = json_object_get(c, key);
        if (json_is_string(v))
                json_object_set_new(c, key, json_pack("[O]", v));
}

static int empty_list(json_t *v)
{
        return v == NULL || json_is_null(v) || json_array_size(v) == 0;
}

static int empty_str(json_t *c, const char *key)
{
        const char *s = json_string_value(json_object_get(c, key));
        return s == NULL || *s == '\0';
}

static size_t key_len(const char *kv)
{
        return strcspn(kv, "=");
}

/* image env, then the container's with the same names replacing */
static json_t *merge_env(json_t *image_env, json_t *env)
{
        json_t *out = json_array();
        size_t i, k;
        json_t *v, *w;
        json_array_foreach(image_env, i, v) if (json_is_string(v)) json_array_append(out, v);
        json_array_foreach(env, i, v)
        {
                const char *s = json_string_value(v);
                if (s == NULL)
                        continue;
                int replaced = 0;
                json_array_foreach(out, k, w)
                {
                        const char *t = json_string_value(w);
                        if (key_len(t) == key_len(s) && strncmp(t, s, key_len(s)) == 0) {
                                json_array_set(out, k, v);
                                replaced = 1;
                                break;
                        }
                }
                if (!replaced)
                        json_array_append(out, v);
        }
        return out;
}

/* objects merged key by key, the container's winning */
static void merge_object(json_t *c, json_t *img, const char *key)
{
        json_t *from = json_object_get(img, key);
        if (!json_is_object(from))
                return;
        json_t *to = json_object_get(c, key);
        json_t *merged = json_deep_copy(from);
        if (json_is_object(to))
                json_object_update(merged, to);
        json_object_set_new(c, key, merged);
}

static void take_if_empty(json_t *c, json_t *img, const char *key)
{
        json_t *v = json_object_get(img, key);
        if (v == NULL || json_is_null(v))
                return;
        json_t *cur = json_object_get(c, key);
        int empty = cur == NULL || json_is_null(cur) ||
                    (json_is_string(cur) && empty_str(c, key)) ||
                    (json_is_array(cur) && json_array_size(cur) == 0);
        if (empty)
                json_object_set_new(c, key, json_deep_copy(v));
}

static void merge_healthcheck(json_t *c, json_t *img)
{
        json_t *ih = json_object_get(img, "Healthcheck");
        if (!json_is_object(ih))
                return;
        json_t *ch = json_object_get(c, "Healthcheck");
        if (!json_is_object(ch)) {
                json_object_set_new(c, "Healthcheck", json_deep_copy(ih));
                return;
        }
        if (empty_list(json_object_get(ch, "Test")) && json_object_get(ih, "Test"))
                json_object_set_new(ch, "Test", json_deep_copy(json_object_get(ih, "Test")));
        static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                           "Retries"};
        for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
                if (jint(ch, nums[i]) == 0 && json_object_get(ih, nums[i]))
                        json_object_set(ch, nums[i], json_object_get(ih, nums[i]));
}

int ocispec_merge_image(json_t *config, json_t *image_config, struct err **e)
{
        if (!json_is_object(config))
                return err_new(e, EINVAL, "Config: must be an object");
        normalize_strslice(config, "Cmd");
        normalize_strslice(config, "Entrypoint");
        /* --entrypoint "" arrives as [""]: an explicitly empty entrypoint */
        json_t *ep = json_object_get(config, "Entrypoint");
        if (json_array_size(ep) == 1 && json_is_string(json_array_get(ep, 0)) &&
            *json_string_value(json_array_get(ep, 0)) == '\0')
                json_object_set_new(config, "Entrypoint", json_array());
        json_t *img = json_is_object(image_config) ? image_config : NULL;
        if (img) {
                json_object_set_new(
                    config, "Env",
                    merge_env(json_object_get(img, "Env"), json_object_get(config, "Env")));
                ep = json_object_get(config, "Entrypoint");
                if (empty_list(ep)) {
                        if (empty_list(json_object_get(config, "Cmd")) &&
                            json_object_get(img, "Cmd"))
                                json_object_set_new(config, "Cmd",
                                                    json_deep_copy(json_object_get(img, "Cmd")));
                        if ((ep == NULL || json_is_null(ep)) && json_object_get(img, "Entrypoint"))
                                json_object_set_new(
                                    config, "Entrypoint",
                                    json_deep_copy(json_object_get(img, "Entrypoint")));
                }
                static const char *const scalars[] = {"WorkingDir", "User", "StopSignal", "Shell",
                                                      "OnBuild"};
                for (size_t i = 0; i < ARRAY_SIZE(scalars); i++)
                        take_if_empty(config, img, scalars[i]);
                merge_object(config, img, "Labels");
                merge_object(config, img, "ExposedPorts");
                merge_object(config, img, "Volumes");
                merge_healthcheck(config, img);
                normalize_strslice(config, "Cmd");
                normalize_strslice(config, "Entrypoint");
        }
        if (empty_list(json_object_get(config, "Entrypoint")) &&
            empty_list(json_object_get(config, "Cmd")))
                return err_new(e, EINVAL, "no command specified");
        return 0;
}

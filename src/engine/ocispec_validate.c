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

/* ---- types ----
 *
 * dockerd decodes the body into Go structs, so a field of the wrong type
 * is a 400 before anything else; the engine reads these fields with
 * jansson's lenient getters, which would quietly take a wrong type for
 * "unset".  Every field the engine reads (and those Docker's clients send)
 * is listed here with its type; null stands for unset anywhere, as in Go.
 */
enum jtype {
        J_STR,
        J_BOOL,
        J_INT,
        J_STRSLICE, /* Docker's StrSlice: a string or an array of strings */
        J_ARRAY,    /* of `elem` */
        J_MAP,      /* an object whose values are `elem` */
        J_OBJ,      /* an object with the fields `sub` (NULL: any) */
};

struct field {
        const char *key;
        enum jtype type;
        enum jtype elem;         /* J_ARRAY, J_MAP */
        const struct field *sub; /* J_OBJ, or elem == J_OBJ */
        enum jtype elem2;        /* elem == J_ARRAY (a map of arrays) */
};

static const struct field health_fields[] = {
    {"Test", J_ARRAY, J_STR, NULL, 0},
    {"Interval", J_INT, 0, NULL, 0},
    {"Timeout", J_INT, 0, NULL, 0},
    {"StartPeriod", J_INT, 0, NULL, 0},
    {"StartInterval", J_INT, 0, NULL, 0},
    {"Retries", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field ipam_fields[] = {
    {"IPv4Address", J_STR, 0, NULL, 0},
    {"IPv6Address", J_STR, 0, NULL, 0},
    {"LinkLocalIPs", J_ARRAY, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field endpoint_fields[] = {
    {"IPAMConfig", J_OBJ, 0, ipam_fields, 0},
    {"Links", J_ARRAY, J_STR, NULL, 0},
    {"Aliases", J_ARRAY, J_STR, NULL, 0},
    {"DNSNames", J_ARRAY, J_STR, NULL, 0},
    {"NetworkID", J_STR, 0, NULL, 0},
    {"EndpointID", J_STR, 0, NULL, 0},
    {"Gateway", J_STR, 0, NULL, 0},
    {"IPAddress", J_STR, 0, NULL, 0},
    {"IPPrefixLen", J_INT, 0, NULL, 0},
    {"IPv6Gateway", J_STR, 0, NULL, 0},
    {"GlobalIPv6Address", J_STR, 0, NULL, 0},
    {"GlobalIPv6PrefixLen", J_INT, 0, NULL, 0},
    {"MacAddress", J_STR, 0, NULL, 0},
    {"DriverOpts", J_MAP, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field netconfig_fields[] = {
    {"EndpointsConfig", J_MAP, J_OBJ, endpoint_fields, 0},
    {NULL, 0, 0, NULL, 0},
};

/* Config: the create body's top level (which also carries HostConfig and
 * NetworkingConfig, see validate_config) */
static const struct field config_fields[] = {
    {"Hostname", J_STR, 0, NULL, 0},
    {"Domainname", J_STR, 0, NULL, 0},
    {"User", J_STR, 0, NULL, 0},
    {"AttachStdin", J_BOOL, 0, NULL, 0},
    {"AttachStdout", J_BOOL, 0, NULL, 0},
    {"AttachStderr", J_BOOL, 0, NULL, 0},
    {"ExposedPorts", J_MAP, J_OBJ, NULL, 0},
    {"Tty", J_BOOL, 0, NULL, 0},
    {"OpenStdin", J_BOOL, 0, NULL, 0},
    {"StdinOnce", J_BOOL, 0, NULL, 0},
    {"Env", J_ARRAY, J_STR, NULL, 0},
    {"Cmd", J_STRSLICE, 0, NULL, 0},
    {"Healthcheck", J_OBJ, 0, health_fields, 0},
    {"ArgsEscaped", J_BOOL, 0, NULL, 0},
    {"Image", J_STR, 0, NULL, 0},
    {"Volumes", J_MAP, J_OBJ, NULL, 0},
    {"WorkingDir", J_STR, 0, NULL, 0},
    {"Entrypoint", J_STRSLICE, 0, NULL, 0},
    {"NetworkDisabled", J_BOOL, 0, NULL, 0},
    {"MacAddress", J_STR, 0, NULL, 0},
    {"OnBuild", J_ARRAY, J_STR, NULL, 0},
    {"Labels", J_MAP, J_STR, NULL, 0},
    {"StopSignal", J_STR, 0, NULL, 0},
    {"StopTimeout", J_INT, 0, NULL, 0},
    {"Shell", J_ARRAY, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field restart_fields[] = {
    {"Name", J_STR, 0, NULL, 0},
    {"MaximumRetryCount", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field logconfig_fields[] = {
    {"Type", J_STR, 0, NULL, 0},
    {"Config", J_MAP, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field binding_fields[] = {
    {"HostIp", J_STR, 0, NULL, 0},
    {"HostPort", J_STR, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field bindopt_fields[] = {
    {"Propagation", J_STR, 0, NULL, 0},
    {"NonRecursive", J_BOOL, 0, NULL, 0},
    {"CreateMountpoint", J_BOOL, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field driver_fields[] = {
    {"Name", J_STR, 0, NULL, 0},
    {"Options", J_MAP, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field volopt_fields[] = {
    {"NoCopy", J_BOOL, 0, NULL, 0},
    {"Labels", J_MAP, J_STR, NULL, 0},
    {"DriverConfig", J_OBJ, 0, driver_fields, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field tmpfsopt_fields[] = {
    {"SizeBytes", J_INT, 0, NULL, 0},
    {"Mode", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field mount_fields[] = {
    {"Type", J_STR, 0, NULL, 0},
    {"Source", J_STR, 0, NULL, 0},
    {"Target", J_STR, 0, NULL, 0},
    {"ReadOnly", J_BOOL, 0, NULL, 0},
    {"Consistency", J_STR, 0, NULL, 0},
    {"BindOptions", J_OBJ, 0, bindopt_fields, 0},
    {"VolumeOptions", J_OBJ, 0, volopt_fields, 0},
    {"TmpfsOptions", J_OBJ, 0, tmpfsopt_fields, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field ulimit_fields[] = {
    {"Name", J_STR, 0, NULL, 0},
    {"Soft", J_INT, 0, NULL, 0},
    {"Hard", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field device_fields[] = {
    {"PathOnHost", J_STR, 0, NULL, 0},
    {"PathInContainer", J_STR, 0, NULL, 0},
    {"CgroupPermissions", J_STR, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field weightdev_fields[] = {
    {"Path", J_STR, 0, NULL, 0},
    {"Weight", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field throttledev_fields[] = {
    {"Path", J_STR, 0, NULL, 0},
    {"Rate", J_INT, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field devreq_fields[] = {
    {"Driver", J_STR, 0, NULL, 0},
    {"Count", J_INT, 0, NULL, 0},
    {"DeviceIDs", J_ARRAY, J_STR, NULL, 0},
    {"Options", J_MAP, J_STR, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const struct field host_config_fields[] = {
    {"Binds", J_ARRAY, J_STR, NULL, 0},
    {"ContainerIDFile", J_STR, 0, NULL, 0},
    {"LogConfig", J_OBJ, 0, logconfig_fields, 0},
    {"NetworkMode", J_STR, 0, NULL, 0},
    {"PortBindings", J_MAP, J_ARRAY, binding_fields, J_OBJ},
    {"RestartPolicy", J_OBJ, 0, restart_fields, 0},
    {"AutoRemove", J_BOOL, 0, NULL, 0},
    {"VolumeDriver", J_STR, 0, NULL, 0},
    {"VolumesFrom", J_ARRAY, J_STR, NULL, 0},
    {"ConsoleSize", J_ARRAY, J_INT, NULL, 0},
    /* StrSlices in Docker, but every client sends arrays and the spec
     * builder (ocispec_caps) takes arrays only */
    {"CapAdd", J_ARRAY, J_STR, NULL, 0},
    {"CapDrop", J_ARRAY, J_STR, NULL, 0},
    {"CgroupnsMode", J_STR, 0, NULL, 0},
    {"Dns", J_ARRAY, J_STR, NULL, 0},
    {"DnsOptions", J_ARRAY, J_STR, NULL, 0},
    {"DnsSearch", J_ARRAY, J_STR, NULL, 0},
    {"ExtraHosts", J_ARRAY, J_STR, NULL, 0},
    {"GroupAdd", J_ARRAY, J_STR, NULL, 0},
    {"IpcMode", J_STR, 0, NULL, 0},
    {"Cgroup", J_STR, 0, NULL, 0},
    {"Links", J_ARRAY, J_STR, NULL, 0},
    {"OomScoreAdj", J_INT, 0, NULL, 0},
    {"PidMode", J_STR, 0, NULL, 0},
    {"Privileged", J_BOOL, 0, NULL, 0},
    {"PublishAllPorts", J_BOOL, 0, NULL, 0},
    {"ReadonlyRootfs", J_BOOL, 0, NULL, 0},
    {"SecurityOpt", J_ARRAY, J_STR, NULL, 0},
    {"StorageOpt", J_MAP, J_STR, NULL, 0},
    {"Tmpfs", J_MAP, J_STR, NULL, 0},
    {"UTSMode", J_STR, 0, NULL, 0},
    {"UsernsMode", J_STR, 0, NULL, 0},
    {"ShmSize", J_INT, 0, NULL, 0},
    {"Sysctls", J_MAP, J_STR, NULL, 0},
    {"Runtime", J_STR, 0, NULL, 0},
    {"Isolation", J_STR, 0, NULL, 0},
    {"CpuShares", J_INT, 0, NULL, 0},
    {"Memory", J_INT, 0, NULL, 0},
    {"NanoCpus", J_INT, 0, NULL, 0},
    {"CgroupParent", J_STR, 0, NULL, 0},
    {"BlkioWeight", J_INT, 0, NULL, 0},
    {"BlkioWeightDevice", J_ARRAY, J_OBJ, weightdev_fields, 0},
    {"BlkioDeviceReadBps", J_ARRAY, J_OBJ, throttledev_fields, 0},
    {"BlkioDeviceWriteBps", J_ARRAY, J_OBJ, throttledev_fields, 0},
    {"BlkioDeviceReadIOps", J_ARRAY, J_OBJ, throttledev_fields, 0},
    {"BlkioDeviceWriteIOps", J_ARRAY, J_OBJ, throttledev_fields, 0},
    {"CpuPeriod", J_INT, 0, NULL, 0},
    {"CpuQuota", J_INT, 0, NULL, 0},
    {"CpuRealtimePeriod", J_INT, 0, NULL, 0},
    {"CpuRealtimeRuntime", J_INT, 0, NULL, 0},
    {"CpusetCpus", J_STR, 0, NULL, 0},
    {"CpusetMems", J_STR, 0, NULL, 0},
    {"Devices", J_ARRAY, J_OBJ, device_fields, 0},
    {"DeviceCgroupRules", J_ARRAY, J_STR, NULL, 0},
    {"DeviceRequests", J_ARRAY, J_OBJ, devreq_fields, 0},
    {"KernelMemory", J_INT, 0, NULL, 0},
    {"KernelMemoryTCP", J_INT, 0, NULL, 0},
    {"MemoryReservation", J_INT, 0, NULL, 0},
    {"MemorySwap", J_INT, 0, NULL, 0},
    {"MemorySwappiness", J_INT, 0, NULL, 0},
    {"OomKillDisable", J_BOOL, 0, NULL, 0},
    {"PidsLimit", J_INT, 0, NULL, 0},
    {"Ulimits", J_ARRAY, J_OBJ, ulimit_fields, 0},
    {"CpuCount", J_INT, 0, NULL, 0},
    {"CpuPercent", J_INT, 0, NULL, 0},
    {"IOMaximumIOps", J_INT, 0, NULL, 0},
    {"IOMaximumBandwidth", J_INT, 0, NULL, 0},
    {"Mounts", J_ARRAY, J_OBJ, mount_fields, 0},
    {"MaskedPaths", J_ARRAY, J_STR, NULL, 0},
    {"ReadonlyPaths", J_ARRAY, J_STR, NULL, 0},
    {"Init", J_BOOL, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0},
};

static const char *type_name(enum jtype t, enum jtype elem)
{
        switch (t) {
        case J_STR:
                return "a string";
        case J_BOOL:
                return "a boolean";
        case J_INT:
                return "an integer";
        case J_STRSLICE:
                return "a string or an array of strings";
        case J_ARRAY:
                return elem == J_STR   ? "an array of strings"
                       : elem == J_INT ? "an array of integers"
                       : elem == J_OBJ ? "an array of objects"
                                       : "an array";
        case J_MAP:
                return elem == J_STR ? "an object of strings" : "an object";
        case J_OBJ:
                return "an object";
        }
        return "?";
}

static int check_fields(json_t *o, const char *path, const struct field *f, struct err **e);

/* v (not NULL) against type t; `path` names it in the message.  Elements
 * of arrays and maps of strings or integers may not be null (Go would
 * take null as "" or 0, no client sends it). */
static int check_value(json_t *v, const char *path, enum jtype t, enum jtype elem,
                       const struct field *sub, enum jtype elem2, int null_ok, struct err **e)
{
        if (json_is_null(v) && (null_ok || t == J_OBJ || t == J_ARRAY || t == J_MAP))
                return 0;
        int ok;
        switch (t) {
        case J_STR:
                ok = json_is_string(v);
                break;
        case J_BOOL:
                ok = json_is_boolean(v);
                break;
        case J_INT:
                ok = json_is_integer(v);
                break;
        case J_STRSLICE:
                if (json_is_string(v))
                        return 0;
                ok = json_is_array(v);
                elem = J_STR;
                break;
        case J_ARRAY:
                ok = json_is_array(v);
                break;
        case J_MAP:
        case J_OBJ:
                ok = json_is_object(v);
                break;
        default:
                ok = 0;
        }
        if (!ok)
                return err_new(e, EINVAL, "%s: must be %s", path, type_name(t, elem));
        if (t == J_STRSLICE || t == J_ARRAY) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x)
                {
                        char p[256];
                        snprintf(p, sizeof(p), "%s[%zu]", path, i);
                        if (check_value(x, p, elem, elem2, sub, 0, 0, e) < 0)
                                return -1;
                }
        } else if (t == J_MAP) {
                const char *k;
                json_t *x;
                json_object_foreach(v, k, x)
                {
                        char p[256];
                        snprintf(p, sizeof(p), "%s[\"%s\"]", path, k);
                        if (check_value(x, p, elem, elem2, sub, 0, 0, e) < 0)
                                return -1;
                }
        } else if (t == J_OBJ && sub != NULL) {
                return check_fields(v, path, sub, e);
        }
        return 0;
}

static int check_fields(json_t *o, const char *path, const struct field *f, struct err **e)
{
        for (; f->key != NULL; f++) {
                json_t *v = json_object_get(o, f->key);
                if (v == NULL)
                        continue;
                char p[256];
                snprintf(p, sizeof(p), "%s.%s", path, f->key);
                if (check_value(v, p, f->type, f->elem, f->sub, f->elem2, 1, e) < 0)
                        return -1;
        }
        return 0;
}

static int validate_config(json_t *c, struct err **e)
{
        if (c == NULL || json_is_null(c))
                return 0;
        if (!json_is_object(c))
                return err_new(e, EINVAL, "Config: must be an object");
        /* the create body as sent: its HostConfig is checked in full as
         * ocispec_validate's host_config, here only its type */
        json_t *hcv = json_object_get(c, "HostConfig"),
               *ncv = json_object_get(c, "NetworkingConfig");
        if ((hcv && check_value(hcv, "HostConfig", J_OBJ, 0, NULL, 0, 1, e) < 0) ||
            (ncv &&
             check_value(ncv, "NetworkingConfig", J_OBJ, 0, netconfig_fields, 0, 1, e) < 0) ||
            check_fields(c, "Config", config_fields, e) < 0)
                return -1;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(c, "Env"), i, v)
        {
                const char *s = json_string_value(v);
                if (*s == '\0' || *s == '=')
                        return err_new(e, EINVAL, "Config.Env: invalid environment variable: %s",
                                       s);
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
        if (check_fields(hc, "HostConfig", host_config_fields, e) < 0)
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

/*
 * barged's libcurl, loaded on first use.  The registry client (src/registry)
 * is the only user of libcurl, and only pull, push, login and search reach
 * it.  Linked normally, libcurl.so drags ~30 shared libraries into every
 * barged (libssl, nghttp2, ssh2, krb5, ldap, sasl, rtmp and through it
 * gnutls and p11-kit, whose constructors run at start-up): about 4 MiB of
 * the idle daemon's resident set for a feature many daemons never use.
 * barged is therefore linked without -lcurl and these definitions of the
 * curl_* functions the registry calls dlopen libcurl.so.4 the first time
 * one of them runs, then forward.  The unit tests and other binaries link
 * libcurl as usual; only barged links this file (src/daemon).
 *
 * Once loaded, libcurl stays loaded (no dlclose: OpenSSL and gnutls keep
 * process-wide state and atexit handlers).  If libcurl cannot be loaded,
 * the functions fail the way libcurl itself reports failure (NULL handles,
 * CURLE_FAILED_INIT) and the reason is logged once.
 */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#include "../common/log.h"

#define LIBCURL_SONAME "libcurl.so.4"

/* one pointer per forwarded function, filled once by load() */
#define CURL_FUNCS(X)                                                                              \
        X(curl_global_init)                                                                        \
        X(curl_easy_init)                                                                          \
        X(curl_easy_cleanup)                                                                       \
        X(curl_easy_reset)                                                                         \
        X(curl_easy_setopt)                                                                        \
        X(curl_easy_getinfo)                                                                       \
        X(curl_easy_perform)                                                                       \
        X(curl_easy_pause)                                                                         \
        X(curl_easy_escape)                                                                        \
        X(curl_easy_strerror)                                                                      \
        X(curl_free)                                                                               \
        X(curl_slist_append)                                                                       \
        X(curl_slist_free_all)                                                                     \
        X(curl_multi_init)                                                                         \
        X(curl_multi_cleanup)                                                                      \
        X(curl_multi_add_handle)                                                                   \
        X(curl_multi_remove_handle)                                                                \
        X(curl_multi_perform)                                                                      \
        X(curl_multi_poll)                                                                         \
        X(curl_multi_wakeup)                                                                       \
        X(curl_multi_info_read)                                                                    \
        X(curl_multi_strerror)

static struct {
#define FIELD(name) __typeof__(name) *name;
        CURL_FUNCS(FIELD)
#undef FIELD
} fn;
static int loaded; /* 1: all of fn is set */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
        void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("cannot load %s (registry access disabled): %s", LIBCURL_SONAME,
                          dlerror());
                return;
        }
#define RESOLVE(name)                                                                              \
        if (!(*(void **)&fn.name = dlsym(h, #name))) {                                             \
                log_error("%s: no symbol %s", LIBCURL_SONAME, #name);                              \
                return;                                                                            \
        }
        CURL_FUNCS(RESOLVE)
#undef RESOLVE
        loaded = 1;
}

static int ready(void)
{
        pthread_once(&load_once, load);
        return loaded;
}

CURLcode curl_global_init(long flags)
{
        return ready() ? fn.curl_global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
        return ready() ? fn.curl_easy_init() : NULL;
}

/* a handle only exists if libcurl was loaded; `loaded` guards against NULL ones */
void curl_easy_cleanup(CURL *h)
{
        if (h && loaded)
                fn.curl_easy_cleanup(h);
}

void curl_easy_reset(CURL *h)
{
        if (!loaded)
                return;
        fn.curl_easy_reset(h);
}

/*
 * The variadic argument's type follows from the option number, the way
 * libcurl reads it: long below CURLOPTTYPE_OBJECTPOINT, curl_off_t from
 * CURLOPTTYPE_OFF_T, a pointer (object, string, blob, function) otherwise.
 */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
        if (!loaded)
                return CURLE_FAILED_INIT;
        va_list ap;
        va_start(ap, opt);
        CURLcode r;
        if (opt < CURLOPTTYPE_OBJECTPOINT) {
                long v = va_arg(ap, long);
                r = fn.curl_easy_setopt(h, opt, v);
        } else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) {
                curl_off_t v = va_arg(ap, curl_off_t);
                r = fn.curl_easy_setopt(h, opt, v);
        } else {
                void *v = va_arg(ap, void *);
                r = fn.curl_easy_setopt(h, opt, v);
        }
        va_end(ap);
        return r;
}

/* every CURLINFO_* takes one pointer to where the value goes */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
        if (!loaded)
                return CURLE_FAILED_INIT;
        va_list ap;
        va_start(ap, info);
        void *p = va_arg(ap, void *);
        va_end(ap);
        return fn.curl_easy_getinfo(h, info, p);
}

CURLcode curl_easy_perform(CURL *h)
{
        if (!loaded)
                return CURLE_FAILED_INIT;
        return fn.curl_easy_perform(h);
}

CURLcode curl_easy_pause(CURL *h, int bitmask)
{
        if (!loaded)
                return CURLE_FAILED_INIT;
        return fn.curl_easy_pause(h, bitmask);
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
        return ready() ? fn.curl_easy_escape(h, s, len) : NULL;
}

const char *curl_easy_strerror(CURLcode c)
{
        return ready() ? fn.curl_easy_strerror(c) : "libcurl could not be loaded";
}

void curl_free(void *p)
{
        if (p && loaded)
                fn.curl_free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
        return ready() ? fn.curl_slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
        if (l && loaded)
                fn.curl_slist_free_all(l);
}

CURLM *curl_multi_init(void)
{
        return ready() ? fn.curl_multi_init() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
        return m && loaded ? fn.curl_multi_cleanup(m) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
        if (!loaded)
                return CURLM_BAD_HANDLE;
        return fn.curl_multi_add_handle(m, h);
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
        if (!loaded)
                return CURLM_BAD_HANDLE;
        return fn.curl_multi_remove_handle(m, h);
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
        if (!loaded)
                return CURLM_BAD_HANDLE;
        return fn.curl_multi_perform(m, running);
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned n, int timeout_ms,
                          int *numfds)
{
        if (!loaded)
                return CURLM_BAD_HANDLE;
        return fn.curl_multi_poll(m, extra, n, timeout_ms, numfds);
}

CURLMcode curl_multi_wakeup(CURLM *m)
{
        if (!loaded)
                return CURLM_BAD_HANDLE;
        return fn.curl_multi_wakeup(m);
}

CURLMsg *curl_multi_info_read(CURLM *m, int *msgs)
{
        if (!loaded)
                return NULL;
        return fn.curl_multi_info_read(m, msgs);
}

const char *curl_multi_strerror(CURLMcode c)
{
        return ready() ? fn.curl_multi_strerror(c) : "libcurl could not be loaded";
}

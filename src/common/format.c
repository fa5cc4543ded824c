#include "format.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct buf {
        char *p;
        size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
        if (b->n + n + 1 > b->cap) {
                b->cap = (b->n + n + 1) * 2;
                b->p = realloc(b->p, b->cap);
                if (b->p == NULL)
                        abort();
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
        put(b, s, strlen(s));
}

/* Go's %v of a decoded JSON value */
static void print_value(struct buf *b, json_t *v)
{
        char num[64];
        size_t i;
        const char *k;
        json_t *it;
        if (v == NULL) {
                puts_(b, "<no value>");
                return;
        }
        switch (json_typeof(v)) {
        case JSON_STRING:
                put(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
                puts_(b, num);
                break;
        case JSON_REAL:
                snprintf(num, sizeof(num), "%g", json_real_value(v));
                puts_(b, num);
                break;
        case JSON_TRUE:
                puts_(b, "true");
                break;
        case JSON_FALSE:
                puts_(b, "false");
                break;
        case JSON_ARRAY:
                puts_(b, "[");
                json_array_foreach(v, i, it)
                {
                        if (i)
                                puts_(b, " ");
                        print_value(b, it);
                }
                puts_(b, "]");
                break;
        case JSON_OBJECT:
                puts_(b, "map[");
                i = 0;
                json_object_foreach(v, k, it)
                {
                        if (i++)
                                puts_(b, " ");
                        puts_(b, k);
                        puts_(b, ":");
                        print_value(b, it);
                }
                puts_(b, "]");
                break;
        default:
                puts_(b, "<no value>");
        }
}

/* ".A.B" -> the value (NULL when a field is missing: Go prints <no value>) */
static int resolve(json_t *root, const char *path, json_t **out, struct err **e)
{
        if (path[0] != '.')
                return err_new(e, 0, "--format: expected a field like .Name, got \"%s\"", path);
        json_t *v = root;
        const char *p = path + 1;
        while (*p && v) {
                size_t len = strcspn(p, ".");
                char key[256];
                snprintf(key, sizeof(key), "%.*s", (int)len, p);
                v = json_is_object(v) ? json_object_get(v, key) : NULL;
                p += len;
                if (*p == '.')
                        p++;
        }
        *out = v;
        return 0;
}

static char *next_word(char **s)
{
        while (isspace((unsigned char)**s))
                (*s)++;
        if (**s == '\0')
                return NULL;
        char *w = *s;
        if (*w == '"') {
                char *end = strchr(w + 1, '"');
                if (end == NULL)
                        return NULL;
                *end = '\0';
                *s = end + 1;
                return w; /* keeps the leading quote as a marker */
        }
        while (**s && !isspace((unsigned char)**s))
                (*s)++;
        if (**s)
                *(*s)++ = '\0';
        return w;
}

static int action(struct buf *b, char *act, json_t *root, struct err **e)
{
        char *s = act, *w1 = next_word(&s), *w2 = next_word(&s), *w3 = next_word(&s);
        json_t *v = NULL;
        if (w1 == NULL)
                return err_new(e, 0, "--format: empty action {{}}");
        if (!strcmp(w1, "json") && w2 && !w3) {
                if (resolve(root, w2, &v, e) < 0)
                        return -1;
                char *j = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
                puts_(b, j);
                free(j);
                return 0;
        }
        if (!strcmp(w1, "index") && w2 && w3 && next_word(&s) == NULL) {
                if (resolve(root, w2, &v, e) < 0)
                        return -1;
                if (w3[0] == '"')
                        v = json_object_get(v, w3 + 1);
                else
                        v = json_array_get(v, (size_t)atoll(w3));
                print_value(b, v);
                return 0;
        }
        if (w1[0] == '.' && !w2) {
                if (resolve(root, w1, &v, e) < 0)
                        return -1;
                print_value(b, v);
                return 0;
        }
        return err_new(e, 0, "--format: unsupported action {{%s}}", act);
}

int format_render(const char *tmpl, json_t *v, char **out, struct err **e)
{
        struct buf b = {0};
        put(&b, "", 0);
        const char *p = tmpl;
        while (*p) {
                const char *open = strstr(p, "{{");
                if (open == NULL) {
                        puts_(&b, p);
                        break;
                }
                put(&b, p, (size_t)(open - p));
                const char *close = strstr(open + 2, "}}");
                if (close == NULL) {
                        free(b.p);
                        return err_new(e, 0, "--format: unclosed {{ in \"%s\"", tmpl);
                }
                _cleanup_free_ char *act = xstrndup(open + 2, (size_t)(close - open - 2));
                if (action(&b, act, v, e) < 0) {
                        free(b.p);
                        return -1;
                }
                p = close + 2;
        }
        *out = b.p;
        return 0;
}

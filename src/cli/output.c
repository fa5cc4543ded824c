/*
 * output: how barge prints what the daemon answers, as docker prints it:
 * tab-aligned tables (Go's tabwriter with docker's settings), --format
 * templates with docker's "table" prefix and escapes, the y/N prompt of
 * the prune commands, and docker's --since/--until time arguments.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/format.h"
#include "../common/util.h"
#include "cli.h"

void table_add(struct table *t, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *line = NULL;
        if (vasprintf(&line, fmt, ap) < 0)
                abort();
        va_end(ap);
        t->lines = realloc(t->lines, (t->n + 1) * sizeof(char *));
        if (t->lines == NULL)
                abort();
        t->lines[t->n++] = line;
}

/* display width of UTF-8 text: count the bytes that start a character */
static size_t text_width(const char *s, size_t n)
{
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        w++;
        return w;
}

void table_flush(struct table *t)
{
        enum { MINWIDTH = 10, PADDING = 3 };
        size_t widths[64] = {0};
        for (size_t i = 0; i < t->n; i++) {
                const char *p = t->lines[i];
                for (size_t col = 0; col < ARRAY_SIZE(widths); col++) {
                        const char *tab = strchr(p, '\t');
                        if (tab == NULL)
                                break;
                        size_t w = text_width(p, (size_t)(tab - p)) + PADDING;
                        if (w < MINWIDTH)
                                w = MINWIDTH;
                        if (w > widths[col])
                                widths[col] = w;
                        p = tab + 1;
                }
        }
        for (size_t i = 0; i < t->n; i++) {
                const char *p = t->lines[i];
                for (size_t col = 0;; col++) {
                        const char *tab = strchr(p, '\t');
                        if (tab == NULL || col >= ARRAY_SIZE(widths)) {
                                /* the last cell: no padding, no trailing blanks */
                                fputs(p, stdout);
                                break;
                        }
                        size_t len = (size_t)(tab - p);
                        fwrite(p, 1, len, stdout);
                        for (size_t k = text_width(p, len); k < widths[col]; k++)
                                putchar(' ');
                        p = tab + 1;
                }
                putchar('\n');
                free(t->lines[i]);
        }
        free(t->lines);
        t->lines = NULL;
        t->n = 0;
        fflush(stdout);
}

/* docker's escapes in --format, and {{.Label "k"}} as an index into the
 * row's LabelMap (the format helper knows index, not methods); for the
 * header row (header != 0) it becomes the column name LABEL. */
static char *prepare_template(const char *in, int header)
{
        size_t cap = strlen(in) * 2 + 64, n = 0;
        char *out = xmalloc(cap);
        for (const char *p = in; *p; p++) {
                if (n + 32 >= cap) {
                        cap *= 2;
                        out = realloc(out, cap);
                        if (out == NULL)
                                abort();
                }
                if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
                        out[n++] = p[1] == 't' ? '\t' : '\n';
                        p++;
                } else if (!strncmp(p, ".Label ", 7) && header) {
                        n += (size_t)sprintf(out + n, ".LabelHeader");
                        const char *q = strchr(p + 8, '"');
                        p = q ? q : p + 6;
                } else if (!strncmp(p, ".Label ", 7)) {
                        n += (size_t)sprintf(out + n, "index .LabelMap ");
                        p += 6;
                } else {
                        out[n++] = *p;
                }
        }
        out[n] = '\0';
        return out;
}

int fmt_begin(struct fmt *f, const char *format, const char *const *heads, struct err **e)
{
        memset(f, 0, sizeof(*f));
        const char *tmpl = format;
        if (!strncmp(format, "table", 5) &&
            (format[5] == '\0' || isspace((unsigned char)format[5]))) {
                f->table = 1;
                tmpl = format + 5;
                while (isspace((unsigned char)*tmpl))
                        tmpl++;
        }
        f->tmpl = prepare_template(tmpl, 0);
        if (!f->table)
                return 0;
        _cleanup_free_ char *htmpl = prepare_template(tmpl, 1);
        /* the header row: each {{.Field}} replaced by its column name */
        json_t *names = json_object();
        for (const char *const *h = heads; h && h[0]; h += 2)
                json_object_set_new(names, h[0], json_string(h[1]));
        json_object_set_new(names, "LabelHeader", json_string("LABEL"));
        char *hdr = NULL;
        int r = format_render(htmpl, names, &hdr, e);
        json_decref(names);
        if (r < 0)
                return -1;
        table_add(&f->t, "%s", hdr);
        free(hdr);
        return 0;
}

int fmt_row(struct fmt *f, json_t *obj, struct err **e)
{
        char *text = NULL;
        if (format_render(f->tmpl, obj, &text, e) < 0)
                return -1;
        if (f->table) {
                table_add(&f->t, "%s", text);
        } else {
                printf("%s\n", text);
        }
        free(text);
        return 0;
}

void fmt_end(struct fmt *f)
{
        table_flush(&f->t);
        free((char *)f->tmpl);
        f->tmpl = NULL;
}

int cli_confirm(const char *warning)
{
        fprintf(stdout, "%s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        char line[64];
        if (fgets(line, sizeof(line), stdin) == NULL)
                return 0;
        return line[0] == 'y' || line[0] == 'Y';
}

int cli_parse_time(const char *s, char *buf, size_t n, struct err **e)
{
        /* unix seconds (with optional fraction) pass through */
        char *end;
        errno = 0;
        double secs = strtod(s, &end);
        if (*s && *end == '\0' && errno == 0 && !strchr(s, 'e') && !strchr(s, 'E')) {
                snprintf(buf, n, "%s", s);
                return 0;
        }
        /* Go durations: 1h30m, 10m, 45s, 500ms */
        const char *p = s;
        double total = 0;
        int ok = *p != '\0';
        while (*p && ok) {
                double v = strtod(p, &end);
                if (end == p) {
                        ok = 0;
                        break;
                }
                p = end;
                if (!strncmp(p, "ms", 2))
                        total += v / 1000, p += 2;
                else if (*p == 'h')
                        total += v * 3600, p++;
                else if (*p == 'm')
                        total += v * 60, p++;
                else if (*p == 's')
                        total += v, p++;
                else
                        ok = 0;
        }
        if (ok) {
                /* with nanoseconds, as docker sends it: "now" must not drop
                 * what happened earlier in the current second */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                long long ns =
                    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - (long long)(total * 1e9);
                snprintf(buf, n, "%lld.%09lld", ns / 1000000000LL, ns % 1000000000LL);
                return 0;
        }
        /* RFC 3339 and its shorter forms */
        static const char *const layouts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                                              "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"};
        for (size_t i = 0; i < ARRAY_SIZE(layouts); i++) {
                struct tm tm = {0};
                const char *rest = strptime(s, layouts[i], &tm);
                if (rest == NULL)
                        continue;
                if (*rest == '.')
                        for (rest++; isdigit((unsigned char)*rest); rest++)
                                ;
                long off = 0;
                int utc = 0;
                if (*rest == 'Z') {
                        utc = 1;
                        rest++;
                } else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
                        utc = 1;
                        off =
                            (atol(rest + 1) * 3600 + atol(rest + 4) * 60) * (*rest == '-' ? -1 : 1);
                        rest += 6;
                }
                if (*rest)
                        continue;
                time_t t;
                if (utc) {
                        t = timegm(&tm) - off;
                } else {
                        tm.tm_isdst = -1;
                        t = mktime(&tm);
                }
                snprintf(buf, n, "%lld", (long long)t);
                return 0;
        }
        (void)secs;
        return err_new(e, EINVAL, "invalid time or duration \"%s\"", s);
}

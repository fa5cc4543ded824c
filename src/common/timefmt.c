/*
 * timefmt: RFC 3339 in unix nanoseconds (see timefmt.h).
 */
#include "timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* seconds and a non-negative fraction, also for times before 1970 */
static size_t format_secs(int64_t ns, char buf[TIME_BUF], long *frac)
{
        time_t s = (time_t)(ns / 1000000000);
        *frac = (long)(ns % 1000000000);
        if (*frac < 0) {
                *frac += 1000000000;
                s--;
        }
        struct tm tm;
        gmtime_r(&s, &tm);
        return strftime(buf, TIME_BUF, "%Y-%m-%dT%H:%M:%S", &tm);
}

void time_format_nano(int64_t ns, char buf[TIME_BUF])
{
        long frac;
        size_t n = format_secs(ns, buf, &frac);
        snprintf(buf + n, TIME_BUF - n, ".%09ldZ", frac);
}

void time_format_go(int64_t ns, char buf[TIME_BUF])
{
        long frac;
        size_t n = format_secs(ns, buf, &frac);
        if (frac == 0) {
                snprintf(buf + n, TIME_BUF - n, "Z");
                return;
        }
        char f[16];
        snprintf(f, sizeof(f), ".%09ld", frac);
        size_t l = strlen(f);
        while (f[l - 1] == '0')
                f[--l] = '\0';
        snprintf(buf + n, TIME_BUF - n, "%sZ", f);
}

int time_parse(const char *s, int64_t *ns)
{
        struct tm tm = {0};
        const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        if (p == NULL)
                return -1;
        int64_t frac = 0;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                        if (digits < 9)
                                frac = frac * 10 + (*p - '0');
                for (; digits < 9; digits++)
                        frac *= 10;
        }
        int64_t off = 0;
        if (*p == '+' || *p == '-') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -1;
                off = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
        } else if (*p != 'Z') {
                return -1;
        }
        *ns = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
        return 0;
}

int64_t time_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
